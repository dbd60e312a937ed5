/* stripe_direct.c - whole rows written around the cache.
 *
 * A write that covers whole rows needs no pre-read: its parity is the XOR
 * of its own data. Through the cache such a row still costs, with 4 KiB
 * strips, 16 stripe heads per 64 KiB chunk, a copy of every byte into
 * their pages, and a handoff to a worker and to the I/O workers for each
 * step. Here the writer's thread computes the parity of each strip into
 * the parity page of its stripe and writes every member's part of the
 * rows in one call, from the writer's buffer.
 *
 * What keeps it right beside the cache:
 *   - the stripes under the rows are claimed first (r5_stripe_try_claim):
 *     only a stripe that nobody uses and that holds no work and no dirty
 *     page can be claimed, so an acknowledged write that is still in the
 *     cache is never overtaken (a row with a busy stripe goes back to the
 *     cache, which orders it). While the writer holds them,
 *     whatever attaches to those stripes (a read, a write, a sync action)
 *     waits: a stripe is handled only when its count drops to 0, and it
 *     then reads the members, which hold the new rows;
 *   - the claim forgets the stripes' pages: a clean stripe's pages equal
 *     what the members held, and they are about to change; a later
 *     read-modify-write must not use them as the old data;
 *   - every member must be in sync: a missing or rebuilding member would
 *     need the rebuilt-below-the-checkpoint rules of the stripe path;
 *   - with the partial parity log, a full row needs no record of its own,
 *     but a strip the log still holds a record of would have that older
 *     record replayed over the new data after a crash: such strips get a
 *     record without a page (parity = XOR of the data, as the stripe path
 *     writes), durable before any member write (checked with the stripes
 *     held: only their handling makes records). The rows written are then
 *     reported to the log as written back (r5_ppl_written), as the stripe
 *     path does for a full row, so that a later partial update of them
 *     widens its record until they are synced (docs/write-hole.md);
 *   - a member write that fails fails that member: the rows are then
 *     stored on the others, parity included, as on a degraded array; the
 *     array failing meanwhile is -EIO.
 * The layers above keep their own rules around the call: the write-intent
 * bitmap and the in-use map are marked before, and the sync gate and the
 * degraded readers' row counts are held across it (core/array/array_io.c).
 * Checksums are set by the member set's write, as for every write. */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "locks.h"
#include "raid5fs/parity.h"
#include "stripe_internal.h"

/* The page-less records of one batch, waited for together. */
struct direct_log {
	pthread_mutex_t lock; /* pending */
	pthread_cond_t cond;
	uint32_t pending;
};

struct direct_record {
	struct r5_ppl_io io;
	struct direct_log *log;
	bool logged; /* submitted and made durable */
};

static void
release_all(struct stripe_head **sh, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		r5_stripe_put(sh[i]);
}

/* The parity of every claimed strip, into its stripe's parity page. */
static void
compute_parity(struct r5_cache *c, const uint8_t *buf, struct stripe_head **sh, uint32_t nsh)
{
	const uint32_t d = c->nr_members - 1;
	const uint64_t row_bytes = (uint64_t)c->geo.chunk_size * d;
	void *src[R5_MAX_MEMBERS];

	for (uint32_t i = 0; i < nsh; i++) {
		const uint8_t *row = buf + (uint64_t)(i / c->strips_per_chunk) * row_bytes;
		const uint32_t in_chunk = (i % c->strips_per_chunk) * c->strip_size;

		for (uint32_t k = 0; k < d; k++)
			src[k] = (void *)(uintptr_t)(row + (uint64_t)k * c->geo.chunk_size + in_chunk);
		r5_parity_xor((int)d, c->strip_size, src, sh[i]->dev[sh[i]->pd_idx].page);
	}
}

/* Member m's part of the rows, as an iovec: its data chunk of each row
 * from buf, or the parity pages of the row's stripes. Returns the count. */
static int
member_iov(struct r5_cache *c, const uint8_t *buf, uint64_t row, uint32_t nrows,
	   struct stripe_head **sh, uint32_t m, struct iovec *iov)
{
	const uint32_t d = c->nr_members - 1, spc = c->strips_per_chunk;
	const uint64_t row_bytes = (uint64_t)c->geo.chunk_size * d;
	int k = 0;

	for (uint32_t r = 0; r < nrows; r++) {
		struct stripe_head *first = sh[r * spc];
		uint64_t image_off;

		if (first->pd_idx == m) {
			for (uint32_t j = 0; j < spc; j++) {
				iov[k].iov_base = sh[r * spc + j]->dev[m].page;
				iov[k++].iov_len = c->strip_size;
			}
			continue;
		}
		r5_layout_unmap(&c->geo, m, (row + r) * c->geo.chunk_size, &image_off);
		iov[k].iov_base = (void *)(uintptr_t)(buf + (image_off - row * row_bytes));
		iov[k++].iov_len = c->geo.chunk_size;
	}
	return k;
}

/* Claims the stripes of rows [row, row + nrows) in order and returns how
 * many leading rows it holds whole: it stops at the first row with a
 * stripe it cannot claim. */
static uint32_t
claim_rows(struct r5_cache *c, uint64_t row, uint32_t nrows, struct stripe_head **sh)
{
	const uint32_t spc = c->strips_per_chunk;

	for (uint32_t r = 0; r < nrows; r++) {
		struct stripe_head **rsh = sh + (size_t)r * spc;
		uint32_t held = 0;

		while (held < spc && (rsh[held] = r5_stripe_try_claim(c, (row + r) * spc + held)))
			held++;
		if (held == spc)
			continue;
		/* this row goes to the cache: give back what it took */
		release_all(rsh, held);
		return r;
	}
	return nrows;
}

static void
record_done(struct r5_ppl_io *io, int error)
{
	struct direct_record *rec = r5_container_of(io, struct direct_record, io);
	struct direct_log *log = rec->log;

	/* on error the parity member has been failed: no record is needed */
	rec->logged = error == 0;
	r5_mutex_lock(&log->lock);
	if (--log->pending == 0)
		r5_cond_signal(&log->cond);
	r5_mutex_unlock(&log->lock);
}

/* A page-less record for every claimed strip the log holds an older record
 * of, durable when this returns. */
static void
log_overwritten(struct r5_cache *c, struct stripe_head **sh, uint32_t nsh,
		struct direct_record *rec)
{
	struct direct_log log = { .pending = 1 };

	r5_mutex_init(&log.lock);
	r5_cond_init(&log.cond);
	for (uint32_t i = 0; i < nsh; i++) {
		const uint32_t pd = sh[i]->pd_idx;

		rec[i].logged = false;
		if (!r5_ppl_row_logged(c->ppl, pd, sh[i]->sector))
			continue;
		rec[i].io = (struct r5_ppl_io){ .stripe = sh[i]->sector, .full = true,
						.changed = r5_data_slots(c, pd),
						.done = record_done };
		rec[i].log = &log;
		r5_mutex_lock(&log.lock);
		log.pending++;
		r5_mutex_unlock(&log.lock);
		r5_ppl_submit(c->ppl, pd, &rec[i].io);
	}
	r5_mutex_lock(&log.lock);
	log.pending--;
	while (log.pending > 0)
		r5_cond_wait(&log.cond, &log.lock);
	r5_mutex_unlock(&log.lock);
	r5_cond_destroy(&log.cond);
	r5_mutex_destroy(&log.lock);
}

int
r5_cache_write_rows(struct r5_cache *c, const uint8_t *buf, uint64_t row, uint32_t nrows)
{
	struct r5_members *ms = c->members;
	const uint32_t spc = c->strips_per_chunk;
	const uint64_t first = row * spc, off = row * c->geo.chunk_size;
	struct stripe_head *sh[R5_DIRECT_MAX_STRIPES];
	struct iovec iov[R5_DIRECT_MAX_STRIPES];
	struct direct_record rec[R5_DIRECT_MAX_STRIPES];

	if (nrows == 0 || (uint64_t)nrows * spc > R5_DIRECT_MAX_STRIPES ||
	    r5_members_nr_failed(ms) > 0)
		return 0;
	nrows = claim_rows(c, row, nrows, sh);
	if (nrows == 0)
		return 0;
	const uint32_t nsh = nrows * spc;

	if (c->ppl)
		log_overwritten(c, sh, nsh, rec);
	compute_parity(c, buf, sh, nsh);
	/* Writers of neighbouring rows start at different members: each
	 * member write holds that file's inode lock, and eight writers all
	 * starting at member 0 queued on it. */
	for (uint32_t k = 0; k < c->nr_members; k++) {
		const uint32_t m = (uint32_t)((row + k) % c->nr_members);
		const int n = member_iov(c, buf, row, nrows, sh, m, iov);

		if (!r5_members_present(ms, m))
			continue; /* failed since: the others carry its part */
		int err = r5_members_writev(ms, m, iov, n, off);
		if (err < 0)
			r5_members_fail(ms, m, "write error at member offset %llu: %s",
					(unsigned long long)off, strerror(-err));
	}
	if (c->ppl) {
		uint64_t done;
		struct r5_ppl_io io = { .wb_gen = r5_members_sync_gen(ms, &done) };

		for (uint32_t i = 0; i < nsh; i++) {
			const uint32_t pd = sh[i]->pd_idx;

			if (rec[i].logged) {
				/* the log counts it until told, whatever became of pd */
				rec[i].io.wb_gen = io.wb_gen;
				r5_ppl_written(c->ppl, pd, &rec[i].io, true);
				continue;
			}
			if (!r5_members_ok(ms, pd))
				continue; /* no parity written: nothing to remember */
			io.stripe = first + i;
			io.changed = r5_data_slots(c, pd);
			r5_ppl_written(c->ppl, pd, &io, false);
		}
	}
	atomic_fetch_add(&c->stats.direct_rows, nrows);
	release_all(sh, nsh);
	return r5_members_failed(ms) ? -EIO : (int)nrows;
}
