/* degraded_read.c - reads of a degraded array without the stripe cache.
 *
 * With a member missing, every read used to go through the stripe cache:
 * 4 KiB stripe by stripe, each handled by a worker, even for the chunks
 * whose member is there. Now, per chunk piece:
 *   - on a member in sync, the piece is read straight from it, as on a
 *     healthy array (array_io.c, r5_bypass_read);
 *   - on the missing member, the same range is read from every survivor
 *     (64 KiB at a time, verified by the member layer) and XORed here.
 * Anything unusual (a stripe busy in the cache, a second member not in
 * sync, a region awaiting resync, a read error or a block that fails its
 * checksum) sends the piece to the stripe cache, which rebuilds, heals,
 * counts and fails members as before.
 *
 * The reconstruction must not race a write into its rows: a survivor read
 * before the write and parity read after it XOR to bytes that were never
 * written, in a chunk nobody was writing. Stripes busy in the cache are
 * seen by r5_stripes_busy; what it cannot see is a write round that has
 * decided on those rows but not yet attached its segments. So every write
 * round counts itself in and out, per row bucket, around its attach
 * (r5_write_seq_begin/end, array_io.c), and a reconstruction
 *   1. takes the bucket's "begun" count and requires every round that
 *      began to have ended (attached, so busy or finished);
 *   2. requires no stripe of the piece to be busy;
 *   3. reads and XORs;
 *   4. requires "begun" unchanged: no round began meanwhile.
 * A round that began before 1 had attached before 2 looked, and one that
 * began after 1 changes the count seen in 4. Readers never wait, writers
 * pay two atomic adds per row bucket. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array_internal.h"
#include "raid5fs/parity.h"

/* Counts a write round in (ended false) or out over member rows
 * [start, end): each row's bucket once. */
static void
count_rows(struct r5_array *a, uint64_t start, uint64_t end, bool ended)
{
	uint64_t first = start / a->geo.chunk_size, last = (end - 1) / a->geo.chunk_size;

	if (last - first >= R5_WSEQ_BUCKETS)
		last = first + R5_WSEQ_BUCKETS - 1;
	for (uint64_t row = first; row <= last; row++) {
		struct r5_write_seq_bucket *b = &a->wseq[row % R5_WSEQ_BUCKETS];

		atomic_fetch_add(ended ? &b->ended : &b->begun, 1);
	}
}

void
r5_write_seq_begin(struct r5_array *a, uint64_t start, uint64_t end)
{
	count_rows(a, start, end, false);
}

void
r5_write_seq_end(struct r5_array *a, uint64_t start, uint64_t end)
{
	count_rows(a, start, end, true);
}

/* Bytes rebuilt per step. The scratch buffer of a step lives on the
 * stack: a heap buffer per read, in every FUSE thread, kept 30 MiB more
 * of freed memory in malloc's per-thread arenas during a degraded stream. */
#define R5_DEGRADED_STEP (64u * 1024)

/* Reads every survivor's range [off, off+len) and XORs them into buf, a
 * step at a time. 0, or 1 when the stripe cache must serve the piece. */
static int
xor_survivors(struct r5_array *a, uint32_t missing, uint8_t *buf, uint64_t off, uint64_t len)
{
	_Alignas(64) uint8_t tmp[R5_DEGRADED_STEP]; /* isa-l's fast XOR wants 64-byte alignment */

	for (uint64_t done = 0; done < len;) {
		/* steps end on R5_DEGRADED_STEP boundaries of the member: whole
		 * checksum blocks wherever the piece itself has them */
		const uint64_t pos = off + done;
		uint64_t step = R5_DEGRADED_STEP - pos % R5_DEGRADED_STEP;
		uint8_t *dst = buf + done;
		bool first = true;

		if (step > len - done)
			step = len - done;
		for (uint32_t i = 0; i < a->geo.nr_members; i++) {
			if (i == missing)
				continue;
			if (r5_members_read(a->members, i, first ? dst : tmp, step, pos) < 0)
				return 1;
			if (!first) {
				void *src[2] = { dst, tmp };

				r5_parity_xor(2, step, src, dst);
			}
			first = false;
		}
		done += step;
	}
	return 0;
}

int
r5_degraded_read(struct r5_array *a, uint8_t *buf, const struct r5_location *loc, uint64_t len)
{
	const uint64_t off = loc->member_offset, row = off / a->geo.chunk_size;
	struct r5_write_seq_bucket *b = &a->wseq[row % R5_WSEQ_BUCKETS];
	unsigned long long begun;

	for (uint32_t i = 0; i < a->geo.nr_members; i++)
		if (i != loc->member && !r5_members_ok(a->members, i))
			return 0;
	/* parity there may not match yet: the cache takes the data as it is */
	if (r5_bitmap_resync_pending_range(a->bitmap, off, len))
		return 0;
	/* ended before begun: a round counted in begun has then ended */
	unsigned long long ended = atomic_load(&b->ended);

	begun = atomic_load(&b->begun);
	if (begun != ended)
		return 0;
	if (r5_stripes_busy(a->cache, off, len))
		return 0;
	if (xor_survivors(a, loc->member, buf, off, len))
		return 0;
	if (atomic_load(&b->begun) != begun)
		return 0;
	atomic_fetch_add(&a->io.degraded_reads, 1);
	return 1;
}
