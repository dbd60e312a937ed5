/* crash_workloads.c - the runs up to the power loss (see r5_crashsim.c).
 *
 * Every run: 4 members, chunk 16 KiB, 1 MiB each; the image filled with
 * seeded data and flushed (fsynced), then the workload's writes, written
 * back to the members (r5_cache_flush) but not synced, then the power
 * goes out. Each operation of a workload has a chunk row of its own:
 *   rmw         1 KiB inside one block (read-modify-write: fewer reads)
 *   one         one 4 KiB block (reconstruct-write with 4 members)
 *   rcw         two blocks of one strip row (2 of its 3 data blocks)
 *   full        the whole row (full stripes: no record)
 *   twice       a block, write-back, another block of the same strip row
 *               (the record of the second is widened by the first)
 *   same        a block, write-back, the same block again
 *   partfull    a block, write-back, the whole row, flush (a full write of
 *               a row the log holds a record of: without a record of its
 *               own, the older one would be replayed over the row after
 *               the crash, fsynced as it is, and a missing member's block
 *               computed wrong)
 *   syncfull    a block, flush (fsynced), the whole row
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array_internal.h"
#include "crashsim.h"

static const char *const op_name[] = { "rmw", "one", "rcw", "full", "twice", "same", "partfull",
				       "", "syncfull" };

static const char *const wl_name[] = { "single", "mixed", "concurrent", "degraded", "resync",
				       "rebuild", "discard" };

const char *
cs_workload_name(enum workload w)
{
	return wl_name[w];
}

int
cs_workload_parse(const char *name, enum workload *out)
{
	for (unsigned i = 0; i < sizeof(wl_name) / sizeof(wl_name[0]); i++)
		if (!strcmp(name, wl_name[i])) {
			*out = (enum workload)i;
			return 0;
		}
	return -EINVAL;
}

void
cs_note(struct run *r, const char *fmt, ...)
{
	size_t len = strlen(r->notes);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->notes + len, sizeof(r->notes) - len, fmt, ap);
	va_end(ap);
}

/* ---- the array and the expectations ---- */

void
cs_set_paths(struct run *r, const char *prefix)
{
	for (int i = 0; i < N; i++) {
		snprintf(r->path[i], sizeof(r->path[i]), "%s/%s%d", r->dir, prefix, i);
		snprintf(r->durable[i], sizeof(r->durable[i]), "%s/durable%d", r->dir, i);
	}
}

/* Assembles the members of `use` (bit per slot) and starts them. */
struct r5_array *
cs_open(struct run *r, uint32_t use, const struct r5_engine_opts *eo)
{
	const char *paths[N];
	struct r5_array *a;
	char err[256] = "";
	int k = 0;

	for (int i = 0; i < N; i++)
		if (use & (1u << i))
			paths[k++] = r->path[i];
	if (r5_array_assemble(paths, k, eo, &a, err, sizeof(err)) < 0 || r5_array_start(a) < 0)
		cs_die("assemble", err);
	a->safe.idle_ns = 3600ull * 1000000000ull; /* never marked clean during the run */
	return a;
}

void
cs_wrap(struct run *r, struct r5_array *a, uint32_t slot)
{
	if (r5_member_wrap_crash(r5_members_member(a->members, slot), &r->log, slot, r->path[slot],
				 r->durable[slot]) < 0)
		cs_die("wrapping a member", NULL);
}

static void
add_version(struct expect *e, uint64_t b)
{
	if (e->nver[b] == e->cap[b]) {
		uint32_t cap = e->cap[b] ? 2 * e->cap[b] : 2;
		uint8_t *v = realloc(e->ver[b], (size_t)cap * BLK);

		if (!v)
			cs_die("out of memory", NULL);
		e->ver[b] = v;
		e->cap[b] = cap;
	}
	memcpy(e->ver[b] + (size_t)e->nver[b]++ * BLK, e->cur + b * BLK, BLK);
}

void
cs_expect_write(struct run *r, const uint8_t *buf, size_t len, uint64_t off)
{
	pthread_mutex_lock(&r->e.lock);
	memcpy(r->e.cur + off, buf, len);
	for (uint64_t b = off / BLK; b <= (off + len - 1) / BLK; b++)
		add_version(&r->e, b);
	pthread_mutex_unlock(&r->e.lock);
}

/* Writes len seeded bytes at off; every block it touches may now read as
 * its new content too (as any other version written since the fsync). */
void
cs_write(struct run *r, struct r5_array *a, uint64_t off, size_t len, uint64_t *s)
{
	uint8_t *buf = malloc(len);

	if (!buf)
		cs_die("out of memory", NULL);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)cs_rnd(s);
	cs_expect_write(r, buf, len, off);
	if (r5_array_write(a, buf, len, off) != (ssize_t)len)
		cs_die("writing", NULL);
	free(buf);
}

/* fsync: everything written so far is what must come back. */
void
cs_flush(struct run *r, struct r5_array *a)
{
	if (r5_array_flush(a) < 0)
		cs_die("flushing", NULL);
	memcpy(r->e.old, r->e.cur, r->isize);
	memset(r->e.nver, 0, r->isize / BLK * sizeof(*r->e.nver));
}

/* On the members, not synced. */
void
cs_writeback(struct r5_array *a)
{
	if (r5_cache_flush(a->cache) < 0)
		cs_die("writing back the stripe cache", NULL);
}

/* The image, seeded from *s, written and flushed. */
void
cs_fill(struct run *r, struct r5_array *a, uint64_t *s)
{
	for (uint64_t i = 0; i < r->isize; i++)
		r->e.cur[i] = (uint8_t)cs_rnd(s);
	if (r5_array_write(a, r->e.cur, r->isize, 0) != (ssize_t)r->isize)
		cs_die("writing the fsynced data", NULL);
	cs_flush(r, a);
}

void
cs_create(struct run *r)
{
	struct r5_create_opts co = { .chunk_size = CHUNK, .layout = R5_LAYOUT_LEFT_SYMMETRIC,
				     .member_size = MSIZE };
	const char *paths[N];
	char err[256] = "";

	cs_set_paths(r, "m");
	for (int i = 0; i < N; i++)
		paths[i] = r->path[i];
	if (r5_array_create(paths, N, &co, err, sizeof(err)) < 0)
		cs_die("create", err);
	r->geo = (struct r5_geometry){ .nr_members = N, .chunk_size = CHUNK,
				       .layout = R5_LAYOUT_LEFT_SYMMETRIC, .member_data_size = MSIZE };
	r->isize = r5_geometry_image_size(&r->geo);
	cs_expect_init(&r->e, r->isize);
}

/* The power goes out: what the array does from now on does not count. */
void
cs_crash(struct run *r, struct r5_array *a)
{
	struct r5_cache_info ci;

	r5_cache_get_info(a->cache, &ci);
	cs_note(r, "; engine: %" PRIu64 " rmw, %" PRIu64 " rcw", ci.rmw, ci.rcw);
	r->data_offset = r5_members_data_offset(a->members);
	r5_crash_freeze(&r->log);
	r5_array_stop(a);
	r5_crash_sort(&r->log);
	r->deduped = r5_crash_dedupe(&r->log);
	r->total = 0;
	for (int i = 0; i < N; i++) {
		r->npieces[i] = r->log.member[i].n;
		r->total += r->npieces[i];
	}
}

/* ---- operations ---- */

/* A chunk row in [lo, hi) not used yet. */
uint64_t
cs_pick_row(bool *used, uint64_t lo, uint64_t hi, uint64_t *s)
{
	uint64_t row, tries = 0;

	do {
		row = lo + cs_rnd(s) % (hi - lo);
		if (++tries > 100000)
			cs_die("no chunk row left for the writes (fewer --writes)", NULL);
	} while (used[row]);
	used[row] = true;
	return row;
}

void
cs_do_op(struct run *r, struct r5_array *a, enum cs_op op, uint64_t row, uint64_t *s)
{
	const uint64_t base = row * ROW_BYTES, o = cs_rnd(s) % (CHUNK / BLK);
	const uint64_t c1 = cs_rnd(s) % (N - 1), c2 = (c1 + 1 + cs_rnd(s) % (N - 2)) % (N - 1);
	const uint64_t b1 = base + c1 * CHUNK + o * BLK, b2 = base + c2 * CHUNK + o * BLK;

	switch (op) {
	case OP_RMW:
		cs_write(r, a, b1 + cs_rnd(s) % (BLK / KB) * KB, KB, s);
		break;
	case OP_ONE:
		cs_write(r, a, b1, BLK, s);
		break;
	case OP_RCW:
		cs_write(r, a, b1, BLK, s);
		cs_write(r, a, b2, BLK, s);
		break;
	case OP_FULL:
		cs_write(r, a, base, ROW_BYTES, s);
		break;
	case OP_TWICE:
	case OP_SAME:
	case OP_PARTFULL:
		cs_write(r, a, b1, BLK, s);
		cs_writeback(a);
		if (op == OP_PARTFULL) {
			cs_write(r, a, base, ROW_BYTES, s);
			cs_flush(r, a);
		} else
			cs_write(r, a, op == OP_TWICE ? b2 : b1, BLK, s);
		break;
	case OP_SYNCFULL:
		cs_write(r, a, b1, BLK, s);
		cs_flush(r, a);
		cs_write(r, a, base, ROW_BYTES, s);
		break;
	case OP_NR:
		break;
	}
}

void
cs_do_ops(struct run *r, struct r5_array *a, unsigned k, bool syncfull_first, bool *used,
	  const uint64_t (*ranges)[2], unsigned nranges, uint64_t *s)
{
	/* The partfull operations end with a flush, which makes everything
	 * before them durable: they go first, so the crash still finds the
	 * others' writes pending. */
	unsigned noted = 0;

	for (int pass = 0; pass < 2; pass++) {
		for (unsigned i = 0; i < k; i++) {
			const uint64_t *rg = ranges[i % nranges];
			enum cs_op op = syncfull_first
						? (i == 0 ? OP_SYNCFULL : (enum cs_op)((i - 1) % OP_NR))
						: (enum cs_op)(i % OP_NR);

			if ((op == OP_PARTFULL) != (pass == 0))
				continue;
			uint64_t row = cs_pick_row(used, rg[0], rg[1], s);

			cs_do_op(r, a, op, row, s);
			cs_note(r, "%s%s@%" PRIu64, noted++ ? " " : "", op_name[op], row);
		}
	}
}

/* ---- the workloads ---- */

static const uint64_t all_rows[1][2] = { { 0, NROWS } };

/* The first workload: K one-block writes in distinct rows. */
static void
wl_single(struct run *r)
{
	struct r5_engine_opts eo = { .consistency_policy = r->o.policy };
	struct r5_array *a;
	bool used[NROWS] = { false };
	uint64_t s = r->o.seed;

	cs_create(r);
	a = cs_open(r, 0xf, &eo);
	for (uint32_t i = 0; i < N; i++)
		cs_wrap(r, a, i);
	cs_fill(r, a, &s);
	for (unsigned k = 0; k < r->o.writes && k < NROWS; k++) {
		uint64_t row = cs_pick_row(used, 0, NROWS, &s);

		cs_write(r, a, row * ROW_BYTES + cs_rnd(&s) % (ROW_BYTES / BLK) * BLK, BLK, &s);
	}
	cs_writeback(a);
	cs_crash(r, a);
}

/* Every kind of write, one after the other; `absent`: a degraded run. */
static void
wl_mixed(struct run *r, int absent)
{
	struct r5_engine_opts eo = { .consistency_policy = r->o.policy, .stripe_cache_size = 64 };
	struct r5_array *a;
	bool used[NROWS] = { false };
	uint64_t s = r->o.seed ^ 0x6d69786564ull;

	cs_create(r);
	a = cs_open(r, 0xf, &eo);
	if (absent >= 0) {
		/* filled and stopped clean, then started without that member */
		cs_fill(r, a, &s);
		r5_array_stop(a);
		a = cs_open(r, 0xf & ~(1u << absent), &eo);
		cs_note(r, "slot %d left out; ", absent);
	}
	for (uint32_t i = 0; i < N; i++)
		if ((int)i != absent)
			cs_wrap(r, a, i);
	if (absent < 0)
		cs_fill(r, a, &s);
	cs_do_ops(r, a, r->o.writes, true, used, all_rows, 1, &s);
	cs_writeback(a);
	cs_crash(r, a);
	if (absent >= 0) {
		/* the member left out, as it was: its states are that file */
		r->log.member[absent].durable_fd = open(r->path[absent], O_RDONLY | O_CLOEXEC);
		if (r->log.member[absent].durable_fd < 0)
			cs_die("opening the member left out", strerror(errno));
	}
}

/* ---- concurrent writers ---- */

/* Three threads, started together, do the operations dealt out to them in
 * rows of their own, while a fourth writes the cache back every 200 us. */
#define WRITERS 3

struct writer {
	struct run *r;
	struct r5_array *a;
	pthread_barrier_t *go;
	unsigned nops;
	enum cs_op op[NROWS];
	uint64_t row[NROWS];
	uint64_t seed;
};

static atomic_int writers_left;

static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_barrier_wait(w->go);
	for (unsigned i = 0; i < w->nops; i++)
		cs_do_op(w->r, w->a, w->op[i], w->row[i], &w->seed);
	atomic_fetch_sub(&writers_left, 1);
	return NULL;
}

/* Write-back while the writers write. */
static void *
flusher_main(void *arg)
{
	struct writer *w = arg;

	pthread_barrier_wait(w->go);
	while (atomic_load(&writers_left) > 0) {
		cs_writeback(w->a);
		usleep(200);
	}
	return NULL;
}

static void
wl_concurrent(struct run *r)
{
	struct r5_engine_opts eo = { .consistency_policy = r->o.policy, .stripe_cache_size = 64 };
	struct writer w[WRITERS + 1];
	pthread_t th[WRITERS + 1];
	pthread_barrier_t go;
	bool used[NROWS] = { false };
	uint64_t s = r->o.seed ^ 0x636f6e63ull;
	struct r5_array *a;

	cs_create(r);
	a = cs_open(r, 0xf, &eo);
	for (uint32_t i = 0; i < N; i++)
		cs_wrap(r, a, i);
	cs_fill(r, a, &s);
	pthread_barrier_init(&go, NULL, WRITERS + 1);
	for (unsigned t = 0; t <= WRITERS; t++)
		w[t] = (struct writer){ .r = r, .a = a, .go = &go, .seed = cs_rnd(&s) | 1 };
	/* operations dealt out in turn; rows chosen here, distinct. A
	 * partfull ends with a flush, which would make the others' writes
	 * durable: those run here first (cs_do_ops). */
	for (unsigned i = 0; i < r->o.writes; i++) {
		struct writer *x = &w[i % WRITERS];

		if ((enum cs_op)(i % OP_NR) == OP_PARTFULL) {
			uint64_t row = cs_pick_row(used, 0, NROWS, &s);

			cs_do_op(r, a, OP_PARTFULL, row, &s);
			cs_note(r, "%s%s@%" PRIu64 "/-", i ? " " : "", op_name[OP_PARTFULL], row);
			continue;
		}
		x->op[x->nops] = (enum cs_op)(i % OP_NR);
		x->row[x->nops] = cs_pick_row(used, 0, NROWS, &s);
		cs_note(r, "%s%s@%" PRIu64 "/%u", i ? " " : "", op_name[x->op[x->nops]],
			x->row[x->nops], i % WRITERS);
		x->nops++;
	}
	atomic_store(&writers_left, WRITERS);
	for (unsigned t = 0; t <= WRITERS; t++)
		if (pthread_create(&th[t], NULL, t < WRITERS ? writer_main : flusher_main, &w[t]))
			cs_die("pthread_create", NULL);
	for (unsigned t = 0; t <= WRITERS; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&go);
	cs_writeback(a);
	cs_crash(r, a);
}

void
cs_record(struct run *r)
{
	const double t0 = cs_now();

	r->absent = -1;
	r->rebuilding = -1;
	r5_crash_init(&r->log, N);
	switch (r->o.workload) {
	case WL_SINGLE:
		wl_single(r);
		break;
	case WL_MIXED:
		wl_mixed(r, -1);
		break;
	case WL_DEGRADED:
		r->absent = (int)(r->o.seed % N);
		wl_mixed(r, r->absent);
		break;
	case WL_CONCURRENT:
		wl_concurrent(r);
		break;
	case WL_RESYNC:
		cs_wl_resync(r);
		break;
	case WL_REBUILD:
		cs_wl_rebuild(r);
		break;
	case WL_DISCARD:
		cs_wl_discard(r);
		break;
	}
	r->t_record = cs_now() - t0;
}
