/* test_stripe_handle.c - the decisions of handle_stripe, seen from the
 * members: which pages a write pre-reads (read-modify-write, reconstruct-
 * write, nothing for a full row, rcw where parity awaits resync, rcw with a
 * member missing), what a degraded read reads, and when a partial write
 * waits on the delayed list for the rest of its row. After each scenario
 * the data is read back through the engine and every member's chunks are
 * compared with a model of the image (data bit for bit, parity = XOR of the
 * model's data).
 *
 * The engine runs here without its worker threads: the test plays the
 * worker, running the handle list and the member I/O queue until both are
 * empty, and releases the delayed list only where a test says so. So what a
 * delayed stripe does before it is released does not depend on timing. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "locks.h"
#include "member_recorder.h"
#include "r5_test_array.h"
#include "raid5fs/parity.h"
#include "stripe_internal.h"

#define KB 1024u
#define CHUNK (4 * KB)  /* = the strip: one stripe_head per row */
#define ROWS 16u        /* rows the tests write and check */
#define MSIZE (1024 * KB)

struct eng {
	struct r5_test_array t;
	struct r5_recorder rec;   /* every member read and write */
	struct r5_cache *c;       /* our own cache over the assembled array */
	struct r5_plug *plug;
	uint64_t data_off;        /* member file offset of the data area */
	uint32_t n, d;            /* members, data chunks per row */
	uint32_t present;         /* slots assembled, one bit each */
	uint8_t *model;           /* what the first ROWS rows of the image hold */
	uint64_t image;           /* bytes in the model */
	uint64_t seed;
};

/* A request as array_io.c builds it: one segment per chunk piece. */
struct treq {
	struct r5_req req;
	struct r5_seg *segs;
	uint32_t nseg;
};

static void
eng_create(struct eng *e, uint32_t n)
{
	memset(e, 0, sizeof(*e));
	r5t_create(&e->t, (int)n, CHUNK, R5_LAYOUT_LEFT_SYMMETRIC, MSIZE);
	e->n = n;
	e->d = n - 1;
	e->image = (uint64_t)ROWS * e->d * CHUNK;
	e->model = calloc(1, e->image); /* a new array reads as zeros */
	cr_assert_not_null(e->model);
	e->seed = r5t_seed();
}

static void
eng_new_cache(struct eng *e)
{
	cr_assert_eq(r5_cache_create(e->t.a->members, e->t.a->bitmap, &e->t.a->geo, R5_MIN_STRIPES,
				     CHUNK, &e->c),
		     0);
}

/* Assembles the members in mask (not started: no worker, no sync thread,
 * no monitor) and puts a recorder under each and a cache over them. */
static void
eng_open(struct eng *e, uint32_t mask)
{
	struct r5_engine_opts eo = { .stripe_cache_size = R5_MIN_STRIPES, .strip_size = CHUNK };
	const char *p[R5_MAX_MEMBERS];
	char err[256] = "";
	int k = 0;

	for (uint32_t i = 0; i < e->n; i++)
		if (mask & (1u << i))
			p[k++] = e->t.paths[i];
	cr_assert_eq(r5_array_assemble(p, k, &eo, &e->t.a, err, sizeof(err)), 0, "assemble: %s", err);
	e->present = mask;
	r5_recorder_init(&e->rec);
	e->rec.record_reads = true;
	for (uint32_t i = 0; i < e->n; i++)
		if (mask & (1u << i))
			cr_assert_eq(r5_member_wrap_recorder(r5_members_member(e->t.a->members, i),
							     &e->rec, i),
				     0);
	e->data_off = r5_members_data_offset(e->t.a->members);
	e->plug = calloc(1, sizeof(*e->plug));
	cr_assert_not_null(e->plug);
	eng_new_cache(e);
}

/* Closes without marking anything clean: what is on the members stays,
 * with the checksum entries of what was written (as a flush leaves them;
 * the array was never started, so its stop flushes nothing). */
static void
eng_close(struct eng *e)
{
	cr_assert_eq(r5_members_sync(e->t.a->members), 0);
	r5_cache_destroy(e->c);
	e->c = NULL;
	cr_assert_eq(r5_array_stop(e->t.a), 0);
	e->t.a = NULL;
	r5_recorder_destroy(&e->rec);
	free(e->plug);
	e->plug = NULL;
}

static void
eng_destroy(struct eng *e)
{
	free(e->model);
	r5t_cleanup(&e->t);
}

/* What one worker does (stripe_work.c), without the delayed list's timers:
 * member I/O first, then stripes off the handle list, until both are empty.
 * An engine that never settles (a stripe handled again and again) fails
 * the test instead of hanging it. */
static void
eng_drain(struct eng *e)
{
	struct r5_cache *c = e->c;

	r5_mutex_lock(&c->device_lock);
	for (int steps = 0;; steps++) {
		if (steps > 100000) {
			r5_mutex_unlock(&c->device_lock);
			cr_assert_fail("the engine does not settle");
		}
		if (r5_io_run_queued(c, &c->op_queue, &c->work_cond))
			continue;
		struct r5_list *l = r5_list_pop(&c->handle_list);
		if (!l)
			break;
		struct stripe_head *sh = r5_container_of(l, struct stripe_head, lru);

		sh->on_list = R5_LIST_NONE;
		atomic_fetch_add(&sh->count, 1);
		r5_mutex_unlock(&c->device_lock);
		r5_handle_stripe(sh, e->plug);
		r5_stripe_put(sh);
		r5_plug_flush(c, e->plug);
		r5_mutex_lock(&c->device_lock);
	}
	r5_mutex_unlock(&c->device_lock);
	cr_assert(r5_list_empty(&c->read_queue));
}

/* Releases the delayed list, as a worker does at unplug when a writer
 * waits, when the list is old enough, or on flush. */
static void
eng_release(struct eng *e)
{
	r5_cache_kick_delayed(e->c);
	eng_drain(e);
}

/* Drops every cached page (the cache is idle and clean): the next decision
 * sees nothing up to date and must read what it needs. */
static void
eng_cold(struct eng *e)
{
	for (uint32_t s = 0; s < e->c->nr_stripes; s++)
		for (uint32_t i = 0; i < e->n; i++)
			cr_assert_eq(e->c->pool[s]->dev[i].flags & (R5_DIRTY | R5_LOCKED), 0);
	r5_cache_destroy(e->c);
	eng_new_cache(e);
}

/* Attaches [off, off+len) of the image as array_io.c does (plugged, one
 * segment per chunk piece, each waited for by req); a write also goes into
 * the model. Nothing runs until eng_drain. */
static void
submit(struct eng *e, struct treq *r, uint64_t off, uint32_t len, uint8_t *buf, bool write)
{
	uint32_t nseg = 0;

	for (uint64_t pos = off; pos < off + len; pos = (pos / CHUNK + 1) * CHUNK)
		nseg++;
	r->segs = calloc(nseg, sizeof(*r->segs));
	cr_assert_not_null(r->segs);
	r->nseg = nseg;
	r5_req_init(&r->req, nseg);
	if (write)
		memcpy(e->model + off, buf, len);
	r5_cache_plug(e->c);
	uint64_t pos = off;
	for (uint32_t k = 0; k < nseg; k++) {
		uint64_t end = (pos / CHUNK + 1) * CHUNK;
		struct r5_location loc;
		struct r5_seg *s = &r->segs[k];

		if (end > off + len)
			end = off + len;
		r5_layout_map(&e->t.a->geo, pos, &loc);
		s->req = &r->req;
		s->buf = buf + (pos - off);
		s->off = (uint32_t)(loc.member_offset % CHUNK);
		s->len = (uint32_t)(end - pos);
		r5_stripe_attach(e->c, loc.member_offset / CHUNK, loc.member, s, write);
		pos = end;
	}
	r5_cache_unplug(e->c);
}

static bool
req_done(struct treq *r)
{
	r5_mutex_lock(&r->req.lock);
	bool done = r->req.pending == 0;
	r5_mutex_unlock(&r->req.lock);
	return done;
}

/* The request must be complete (nothing else will complete it): its result. */
static int
req_finish(struct treq *r)
{
	cr_assert(req_done(r), "request still pending");
	int err = r5_req_wait(&r->req);
	r5_req_destroy(&r->req);
	free(r->segs);
	return err;
}

/* A write that completes: attached, handled, released if it waits. */
static void
eng_write(struct eng *e, uint64_t off, uint32_t len, uint8_t *buf)
{
	struct treq r;

	submit(e, &r, off, len, buf, true);
	eng_drain(e);
	eng_release(e);
	cr_assert_eq(req_finish(&r), 0);
}

static void
eng_write_random(struct eng *e, uint64_t off, uint32_t len)
{
	uint8_t *buf = malloc(len);

	cr_assert_not_null(buf);
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (uint8_t)r5t_rand(&e->seed);
	eng_write(e, off, len, buf);
	free(buf);
}

/* Reads [off, off+len) through the engine and compares it with the model. */
static void
eng_read_check(struct eng *e, uint64_t off, uint32_t len)
{
	uint8_t *buf = malloc(len);
	struct treq r;

	cr_assert_not_null(buf);
	submit(e, &r, off, len, buf, false);
	eng_drain(e); /* reads never wait on the delayed list */
	cr_assert_eq(req_finish(&r), 0);
	for (uint32_t i = 0; i < len; i++)
		cr_assert_eq(buf[i], e->model[off + i], "image byte %llu: %u, written %u",
			     (unsigned long long)(off + i), buf[i], e->model[off + i]);
	free(buf);
}

/* Image offset of data chunk k of row r. */
static uint64_t
chunk_off(struct eng *e, uint64_t row, uint32_t k)
{
	return (row * e->d + k) * CHUNK;
}

static uint32_t
member_of(struct eng *e, uint64_t row, uint32_t k)
{
	struct r5_location loc;

	r5_layout_map(&e->t.a->geo, chunk_off(e, row, k), &loc);
	return loc.member;
}

static uint32_t
parity_of(struct eng *e, uint64_t row)
{
	return r5_layout_parity_member(&e->t.a->geo, row);
}

/* Data-area I/O of one kind (R5_REC_READ or R5_REC_WRITE) recorded since
 * log entry `from`: how many, and in *mask the members it touched in row
 * `row`. */
static uint32_t
io_since(struct eng *e, uint32_t kind, size_t from, uint64_t row, uint32_t *mask)
{
	uint32_t nr = 0;

	*mask = 0;
	r5_mutex_lock(&e->rec.lock);
	for (size_t k = from; k < e->rec.n; k++) {
		const struct r5_rec_entry *x = &e->rec.log[k];

		if (x->kind != kind || x->off < e->data_off)
			continue;
		nr++;
		if ((x->off - e->data_off) / CHUNK == row)
			*mask |= 1u << x->member;
	}
	r5_mutex_unlock(&e->rec.lock);
	return nr;
}

static uint32_t
reads_since(struct eng *e, size_t from, uint64_t row, uint32_t *mask)
{
	return io_since(e, R5_REC_READ, from, row, mask);
}

static uint32_t
writes_since(struct eng *e, size_t from, uint64_t row, uint32_t *mask)
{
	return io_since(e, R5_REC_WRITE, from, row, mask);
}

static size_t
log_mark(struct eng *e)
{
	r5_mutex_lock(&e->rec.lock);
	size_t n = e->rec.n;
	r5_mutex_unlock(&e->rec.lock);
	return n;
}

/* Every present member's chunk of the first ROWS rows, as the member file
 * holds it, equals the model: the data bit for bit, the parity the XOR of
 * the row's data. With a member missing this is what makes its chunks
 * readable: they are the XOR of the others. */
static void
assert_members_hold_model(struct eng *e)
{
	uint8_t *m[R5_MAX_MEMBERS] = { 0 };
	uint8_t want[R5_MAX_MEMBERS][CHUNK];

	for (uint32_t i = 0; i < e->n; i++)
		m[i] = r5t_read_member(e->t.paths[i], e->data_off, (uint64_t)ROWS * CHUNK);
	for (uint64_t row = 0; row < ROWS; row++) {
		uint32_t p = parity_of(e, row);

		memset(want[p], 0, CHUNK);
		for (uint32_t k = 0; k < e->d; k++) {
			const uint8_t *data = e->model + chunk_off(e, row, k);

			memcpy(want[member_of(e, row, k)], data, CHUNK);
			for (uint32_t b = 0; b < CHUNK; b++)
				want[p][b] ^= data[b];
		}
		for (uint32_t i = 0; i < e->n; i++) {
			if (!(e->present & (1u << i)))
				continue; /* stale on disk: never read */
			const uint8_t *got = m[i] + row * CHUNK;

			for (uint32_t b = 0; b < CHUNK; b++)
				cr_assert_eq(got[b], want[i][b],
					     "member %u row %llu byte %u: %u, expected %u (%s)", i,
					     (unsigned long long)row, b, got[b], want[i][b],
					     i == p ? "parity" : "data");
		}
		if (e->present == (1u << e->n) - 1) {
			void *v[R5_MAX_MEMBERS];

			for (uint32_t i = 0; i < e->n; i++)
				v[i] = m[i] + row * CHUNK;
			cr_assert(r5_parity_check((int)e->n, CHUNK, v), "row %llu: parity mismatch",
				  (unsigned long long)row);
		}
	}
	for (uint32_t i = 0; i < e->n; i++)
		free(m[i]);
}

/* Random data in every row, written as full rows, then a cold cache. */
static void
eng_fill(struct eng *e)
{
	eng_write_random(e, 0, (uint32_t)e->image);
	eng_cold(e);
}

static uint64_t
stat_rmw(struct eng *e)
{
	return atomic_load(&e->c->stats.rmw);
}

static uint64_t
stat_rcw(struct eng *e)
{
	return atomic_load(&e->c->stats.rcw);
}

/* ---- healthy array: rmw, rcw, full rows ---- */

Test(stripe_handle, small_write_to_one_chunk_pre_reads_old_data_and_parity_only, .timeout = 60)
{
	struct eng e;
	const uint64_t row = 5;
	uint32_t mask;

	eng_create(&e, 4);
	eng_open(&e, 0xf);
	eng_fill(&e);

	/* 1000 bytes inside data chunk 1: rmw reads 2 pages, rcw would read 3 */
	size_t mark = log_mark(&e);
	eng_write_random(&e, chunk_off(&e, row, 1) + 300, 1000);
	cr_assert_eq(reads_since(&e, mark, row, &mask), 2);
	cr_assert_eq(mask, (1u << member_of(&e, row, 1)) | (1u << parity_of(&e, row)),
		     "read members 0x%x: want the written chunk's and the parity's", mask);
	cr_assert_eq(stat_rmw(&e), 1);
	cr_assert_eq(stat_rcw(&e), 0);
	/* and only the two changed pages are written back */
	cr_assert_eq(writes_since(&e, mark, row, &mask), 2);
	cr_assert_eq(mask, (1u << member_of(&e, row, 1)) | (1u << parity_of(&e, row)));

	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}

Test(stripe_handle, write_covering_most_of_a_row_pre_reads_only_what_it_does_not_cover, .timeout = 60)
{
	struct eng e;
	uint32_t mask;

	eng_create(&e, 5); /* 4 data chunks a row */
	eng_open(&e, 0x1f);
	eng_fill(&e);

	/* chunks 0-2 of 4 whole: rcw reads chunk 3 only, rmw would read 3 + parity */
	size_t mark = log_mark(&e);
	eng_write_random(&e, chunk_off(&e, 6, 0), 3 * CHUNK);
	cr_assert_eq(reads_since(&e, mark, 6, &mask), 1);
	cr_assert_eq(mask, 1u << member_of(&e, 6, 3), "read members 0x%x", mask);
	cr_assert_eq(stat_rcw(&e), 1);
	cr_assert_eq(stat_rmw(&e), 0);

	/* chunk 0 from byte 512, chunks 1-2 whole: rcw reads the chunk it
	 * covers in part and the one it leaves out (2), rmw would read 4 */
	eng_cold(&e);
	mark = log_mark(&e);
	eng_write_random(&e, chunk_off(&e, 9, 0) + 512, 3 * CHUNK - 512);
	cr_assert_eq(reads_since(&e, mark, 9, &mask), 2);
	cr_assert_eq(mask, (1u << member_of(&e, 9, 0)) | (1u << member_of(&e, 9, 3)),
		     "read members 0x%x", mask);
	cr_assert_eq(stat_rcw(&e), 1);
	cr_assert_eq(stat_rmw(&e), 0);

	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}

Test(stripe_handle, one_whole_chunk_of_three_is_a_tie_and_takes_rcw, .timeout = 60)
{
	struct eng e;
	uint32_t mask;

	eng_create(&e, 4);
	eng_open(&e, 0xf);
	eng_fill(&e);

	/* rmw: old data + parity = 2 reads; rcw: the other two chunks = 2 */
	size_t mark = log_mark(&e);
	eng_write_random(&e, chunk_off(&e, 3, 1), CHUNK);
	cr_assert_eq(reads_since(&e, mark, 3, &mask), 2);
	cr_assert_eq(mask, (1u << member_of(&e, 3, 0)) | (1u << member_of(&e, 3, 2)),
		     "read members 0x%x: a tie must read the other data chunks", mask);
	cr_assert_eq(stat_rcw(&e), 1);
	cr_assert_eq(stat_rmw(&e), 0);

	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}

Test(stripe_handle, full_row_writes_do_no_pre_reads, .timeout = 60)
{
	struct eng e;
	uint32_t mask;

	eng_create(&e, 4);
	eng_open(&e, 0xf);
	eng_fill(&e);

	/* rows 2-4 whole: no read at all, each member written once a row */
	size_t mark = log_mark(&e);
	eng_write_random(&e, chunk_off(&e, 2, 0), 3 * e.d * CHUNK);
	cr_assert_eq(reads_since(&e, mark, 2, &mask), 0);
	cr_assert_eq(writes_since(&e, mark, 2, &mask), 3 * e.n);
	for (uint64_t row = 2; row <= 4; row++) {
		writes_since(&e, mark, row, &mask);
		cr_assert_eq(mask, 0xf, "row %llu: members written 0x%x",
			     (unsigned long long)row, mask);
	}
	cr_assert_eq(stat_rcw(&e), 3);
	cr_assert_eq(stat_rmw(&e), 0);

	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}

/* ---- parity awaiting resync ---- */

/* Overwrites a member's chunk on disk behind the engine's back. */
static void
scribble_chunk(struct eng *e, uint32_t member, uint64_t row)
{
	uint8_t junk[CHUNK];
	int fd = open(e->t.paths[member], O_WRONLY);

	cr_assert_geq(fd, 0);
	for (uint32_t b = 0; b < CHUNK; b++)
		junk[b] = (uint8_t)r5t_rand(&e->seed);
	cr_assert_eq(pwrite(fd, junk, CHUNK, (off_t)(e->data_off + row * CHUNK)), (ssize_t)CHUNK);
	close(fd);
}

Test(stripe_handle, rows_awaiting_resync_take_rcw_and_their_stale_parity_is_not_used, .timeout = 60)
{
	struct eng e;
	const uint64_t row = 5;
	uint32_t mask;

	eng_create(&e, 4);
	eng_open(&e, 0xf);
	eng_fill(&e);
	eng_close(&e);

	/* An interrupted write, as array_io.c starts one: superblocks
	 * "active", the rows' bitmap bits on disk; then only the parity of
	 * the row reached its member, and the array stopped uncleanly. */
	eng_open(&e, 0xf);
	cr_assert_eq(r5_safe_mode_write_begin(e.t.a), 0);
	cr_assert_eq(r5_bitmap_mark(e.t.a->bitmap, 0, MSIZE), 0);
	r5_safe_mode_write_end(e.t.a);
	scribble_chunk(&e, parity_of(&e, row), row);
	eng_close(&e);

	eng_open(&e, 0xf);
	struct r5_bitmap *bm = e.t.a->bitmap;
	cr_assert(r5_bitmap_needs_resync(bm), "an unclean stop must leave a resync pending");
	cr_assert(r5_bitmap_resync_pending(bm, row * CHUNK));

	/* the write of the rmw test: here rcw, reading every data chunk and
	 * not the parity, which it recomputes from the data */
	size_t mark = log_mark(&e);
	eng_write_random(&e, chunk_off(&e, row, 1) + 300, 1000);
	cr_assert_eq(reads_since(&e, mark, row, &mask), 3);
	cr_assert_eq(mask, ((1u << e.n) - 1) & ~(1u << parity_of(&e, row)),
		     "read members 0x%x: want every data chunk, not the parity", mask);
	cr_assert_eq(stat_rcw(&e), 1);
	cr_assert_eq(stat_rmw(&e), 0);
	assert_members_hold_model(&e); /* the scribbled parity is right again */

	/* Once the resync is done, the same write takes rmw again. */
	r5_bitmap_resync_done(bm);
	eng_cold(&e);
	mark = log_mark(&e);
	eng_write_random(&e, chunk_off(&e, row, 1) + 300, 1000);
	cr_assert_eq(reads_since(&e, mark, row, &mask), 2);
	cr_assert_eq(mask, (1u << member_of(&e, row, 1)) | (1u << parity_of(&e, row)),
		     "read members 0x%x", mask);
	cr_assert_eq(stat_rmw(&e), 1);

	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}

/* ---- degraded ---- */

/* The data chunk member m holds in row, or -1 if it holds the parity. */
static int
chunk_on(struct eng *e, uint64_t row, uint32_t m)
{
	for (uint32_t k = 0; k < e->d; k++)
		if (member_of(e, row, k) == m)
			return (int)k;
	return -1;
}

/* A row whose chunk on member m is data (want_data) or parity, from row `from` on. */
static uint64_t
row_where(struct eng *e, uint32_t m, bool want_data, uint64_t from)
{
	for (uint64_t row = from; row < ROWS; row++)
		if ((chunk_on(e, row, m) >= 0) == want_data)
			return row;
	cr_assert_fail("no such row");
	return 0;
}

Test(stripe_handle, degraded_read_of_the_missing_member_is_rebuilt_from_the_others, .timeout = 60)
{
	struct eng e;
	const uint32_t gone = 2, survivors = 0xf & ~(1u << gone);
	uint32_t mask;
	int rebuilt = 0;

	eng_create(&e, 4);
	eng_open(&e, 0xf);
	eng_fill(&e);
	eng_close(&e);

	eng_open(&e, survivors);
	cr_assert_eq(r5_members_state(e.t.a->members, gone), R5_SLOT_MISSING);
	for (uint64_t row = 0; row < ROWS; row++) {
		int k = chunk_on(&e, row, gone);

		if (k < 0)
			continue;
		/* the chunk on the missing member: every survivor of the row is read */
		size_t mark = log_mark(&e);
		eng_read_check(&e, chunk_off(&e, row, (uint32_t)k) + 100, CHUNK - 200);
		cr_assert_eq(reads_since(&e, mark, row, &mask), e.n - 1);
		cr_assert_eq(mask, survivors, "row %llu: read members 0x%x",
			     (unsigned long long)row, mask);
		rebuilt++;
	}
	cr_assert_gt(rebuilt, 0);
	cr_assert_eq(atomic_load(&e.c->stats.computes), (unsigned long long)rebuilt);

	/* a chunk on a survivor: that chunk only, even with a member missing */
	for (uint64_t row = 0; row < ROWS; row++) {
		uint32_t k = chunk_on(&e, row, gone) == 0 ? 1 : 0;

		eng_cold(&e);
		size_t mark = log_mark(&e);
		eng_read_check(&e, chunk_off(&e, row, k), CHUNK);
		cr_assert_eq(reads_since(&e, mark, row, &mask), 1);
		cr_assert_eq(mask, 1u << member_of(&e, row, k), "row %llu: read members 0x%x",
			     (unsigned long long)row, mask);
	}

	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}

Test(stripe_handle, degraded_writes_keep_parity_so_every_chunk_reads_back, .timeout = 60)
{
	struct eng e;
	const uint32_t gone = 1, survivors = 0xf & ~(1u << gone);
	uint32_t mask;

	eng_create(&e, 4);
	eng_open(&e, 0xf);
	eng_fill(&e);
	eng_close(&e);

	eng_open(&e, survivors);
	/* a partial write to a survivor's chunk in a row where the missing
	 * member holds data: no rmw (the old data of the missing chunk is
	 * not there), every survivor pre-read, the missing page computed */
	uint64_t r1 = row_where(&e, gone, true, 0);
	int k1 = chunk_on(&e, r1, gone) == 0 ? 1 : 0;
	size_t mark = log_mark(&e);
	eng_write_random(&e, chunk_off(&e, r1, (uint32_t)k1) + 700, 1500);
	cr_assert_eq(reads_since(&e, mark, r1, &mask), e.n - 1);
	cr_assert_eq(mask, survivors, "read members 0x%x", mask);
	cr_assert_eq(stat_rmw(&e), 0);
	cr_assert_eq(stat_rcw(&e), 1);

	/* a write to the chunk on the missing member: only parity keeps it */
	uint64_t r2 = row_where(&e, gone, true, r1 + 1);
	eng_write_random(&e, chunk_off(&e, r2, (uint32_t)chunk_on(&e, r2, gone)) + 100, 2000);
	/* a write in a row whose parity was on the missing member */
	uint64_t r3 = row_where(&e, gone, false, 0);
	eng_write_random(&e, chunk_off(&e, r3, 2) + 10, 3000);
	/* a row and a half from inside a chunk: two rows, neither whole */
	eng_write_random(&e, chunk_off(&e, r1 + 1, 0) + 500, e.d * CHUNK + CHUNK / 2);
	cr_assert_eq(stat_rmw(&e), 0, "rmw with a member missing");

	/* every chunk, the missing member's ones rebuilt from disk */
	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}

/* ---- the delayed list ---- */

Test(stripe_handle, partial_write_waits_for_the_rest_of_its_row_and_then_needs_no_pre_read, .timeout = 60)
{
	struct eng e;
	const uint64_t row = 3;
	uint8_t a[CHUNK + CHUNK / 2], b[CHUNK + CHUNK / 2];
	struct treq ra, rb;
	uint32_t mask;

	eng_create(&e, 4);
	eng_open(&e, 0xf);
	eng_fill(&e);
	for (uint32_t i = 0; i < sizeof(a); i++) {
		a[i] = (uint8_t)r5t_rand(&e.seed);
		b[i] = (uint8_t)r5t_rand(&e.seed);
	}

	/* one request covers the first half of the row: the stripe is
	 * parked, nothing read or written, its writer waits (urgent) */
	size_t mark = log_mark(&e);
	r5_cache_plug(e.c); /* requests still being attached: no release */
	submit(&e, &ra, chunk_off(&e, row, 0), sizeof(a), a, true);
	eng_drain(&e);
	cr_assert_eq(reads_since(&e, mark, row, &mask), 0);
	cr_assert_eq(writes_since(&e, mark, row, &mask), 0);
	cr_assert_not(req_done(&ra));
	cr_assert_eq(e.c->nr_delayed, 1);
	cr_assert_eq(e.c->nr_delayed_urgent, 1);

	/* the next one brings the other half: a full row, no pre-read */
	submit(&e, &rb, chunk_off(&e, row, 0) + sizeof(a), sizeof(b), b, true);
	r5_cache_unplug(e.c);
	eng_drain(&e);
	cr_assert_eq(e.c->nr_delayed, 0);
	cr_assert_eq(req_finish(&ra), 0);
	cr_assert_eq(req_finish(&rb), 0);
	cr_assert_eq(reads_since(&e, mark, row, &mask), 0);
	cr_assert_eq(writes_since(&e, mark, row, &mask), e.n);
	cr_assert_eq(mask, 0xf);
	cr_assert_eq(stat_rcw(&e), 1);
	cr_assert_eq(stat_rmw(&e), 0);

	/* Released before the rest arrives, the same first half pre-reads
	 * what it does not cover (chunk 1's second half, chunk 2: rcw). */
	eng_cold(&e);
	mark = log_mark(&e);
	submit(&e, &ra, chunk_off(&e, row + 1, 0), sizeof(a), a, true);
	eng_drain(&e);
	cr_assert_eq(reads_since(&e, mark, row + 1, &mask), 0);
	eng_release(&e);
	cr_assert_eq(req_finish(&ra), 0);
	cr_assert_eq(reads_since(&e, mark, row + 1, &mask), 2);
	cr_assert_eq(mask, (1u << member_of(&e, row + 1, 1)) | (1u << member_of(&e, row + 1, 2)),
		     "read members 0x%x", mask);

	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}

Test(stripe_handle, bounced_partial_write_waits_without_urgency_until_released, .timeout = 60)
{
	struct eng e;
	const uint64_t row = 7;
	uint8_t data[1024];
	uint32_t mask;

	eng_create(&e, 4);
	eng_open(&e, 0xf);
	eng_fill(&e);
	for (uint32_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)r5t_rand(&e.seed);

	/* acknowledged at once from a bounce buffer (no writer waits) */
	struct r5_location loc;
	uint64_t off = chunk_off(&e, row, 2) + 2048;
	r5_layout_map(&e.t.a->geo, off, &loc);
	struct r5_seg *s = r5_bounce_seg(e.c, data, sizeof(data));
	cr_assert_not_null(s);
	s->off = (uint32_t)(loc.member_offset % CHUNK);
	memcpy(e.model + off, data, sizeof(data));
	memset(data, 0, sizeof(data)); /* the engine holds its own copy */
	size_t mark = log_mark(&e);
	r5_cache_plug(e.c);
	r5_stripe_attach(e.c, loc.member_offset / CHUNK, loc.member, s, true);
	r5_cache_unplug(e.c);
	eng_drain(&e);
	cr_assert_eq(e.c->nr_delayed, 1);
	cr_assert_eq(e.c->nr_delayed_urgent, 0, "a bounced write has no writer waiting");
	cr_assert_eq(reads_since(&e, mark, row, &mask), 0);

	/* released (the lazy timer, or a flush): an rmw like any small write */
	eng_release(&e);
	cr_assert_eq(reads_since(&e, mark, row, &mask), 2);
	cr_assert_eq(mask, (1u << member_of(&e, row, 2)) | (1u << parity_of(&e, row)));
	cr_assert_eq(stat_rmw(&e), 1);
	cr_assert_eq(atomic_load(&e.c->lost_writes), 0);

	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}

Test(stripe_handle, a_reader_on_a_delayed_stripe_ends_the_wait_of_its_partial_write, .timeout = 60)
{
	struct eng e;
	const uint64_t row = 4;
	uint8_t data[512], got[CHUNK];
	struct treq rw, rr;
	uint32_t mask;

	eng_create(&e, 4);
	eng_open(&e, 0xf);
	eng_fill(&e);
	for (uint32_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)r5t_rand(&e.seed);

	size_t mark = log_mark(&e);
	r5_cache_plug(e.c);
	submit(&e, &rw, chunk_off(&e, row, 0) + 1024, sizeof(data), data, true);
	eng_drain(&e);
	cr_assert_eq(e.c->nr_delayed, 1);
	/* the reader needs a member read anyway: the write goes with it */
	submit(&e, &rr, chunk_off(&e, row, 2), CHUNK, got, false);
	eng_drain(&e);
	r5_cache_unplug(e.c);
	cr_assert_eq(e.c->nr_delayed, 0);
	cr_assert_eq(req_finish(&rr), 0);
	cr_assert_eq(req_finish(&rw), 0);
	cr_assert_eq(memcmp(got, e.model + chunk_off(&e, row, 2), CHUNK), 0);
	/* the reader's chunk, and the rmw pages of the write */
	cr_assert_eq(reads_since(&e, mark, row, &mask), 3);
	cr_assert_eq(mask, (1u << member_of(&e, row, 0)) | (1u << member_of(&e, row, 2)) |
				   (1u << parity_of(&e, row)),
		     "read members 0x%x", mask);

	eng_cold(&e);
	eng_read_check(&e, 0, (uint32_t)e.image);
	assert_members_hold_model(&e);
	eng_close(&e);
	eng_destroy(&e);
}
