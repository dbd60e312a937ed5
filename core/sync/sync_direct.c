/* sync_direct.c - recovery windows rebuilt straight from the members, and
 * the gate that keeps user writes out of them.
 *
 * The stripe path (sync.c, sync_window) rebuilds a window stripe by stripe
 * through the engine: with 4 KiB strips that is 256 stripe handlings, 768
 * reads and 256 writes per MiB of member, and it ran at 90-140 MB/s while
 * the survivors read at GB/s. A direct window reads each survivor's range
 * in one call, XORs them and writes the new member's range in one call.
 *
 * It must not race a user write into those rows: the survivors it reads
 * must hold every write acknowledged before, and no write may change them
 * until the new member has its pages and the checkpoint is past them
 * (from then on, writes there write the new member too). So:
 *   1. the gate's barrier covers the window: a write round (array_io.c)
 *      that overlaps it waits at r5_sync_write_begin;
 *   2. the rounds that entered before are waited for (they attach their
 *      segments and leave: counted per epoch, the epoch flips here);
 *   3. any stripe of the window still busy in the cache (work pending or
 *      dirty pages: acknowledged data not on the members yet) sends the
 *      window back to the stripe path, as does anything unusual: a member
 *      not in sync, a region awaiting resync (its checksums may be stale),
 *      a read error or a block that fails its checksum (the stripe path
 *      rebuilds, heals and counts those);
 *   4. read, XOR, write (the member layer sets the checksums, and writes
 *      zero pages as holes), start that range's writeback; the checkpoint
 *      moves; the barrier drops.
 *
 * The survivors are read through the page cache, announced ahead
 * (sync_pace.c). Reading them around it (O_DIRECT), one after another or
 * all at once from helper threads, was slower on the machine we have: a
 * 1 GiB rebuild 6.5 -> 10.4-12.4 s; three member files read there at
 * 712 MB/s in all through the cache and 527 MB/s with O_DIRECT
 * (docs/benchmarks.md, session 8). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"
#include "locks.h"
#include "member_set.h"
#include "raid5fs/parity.h"
#include "sync_internal.h"

void
sync_gate_init(struct r5_sync_gate *g)
{
	memset(g, 0, sizeof(*g));
	r5_mutex_init(&g->lock);
	r5_cond_init(&g->cond);
}

void
sync_gate_destroy(struct r5_sync_gate *g)
{
	r5_mutex_destroy(&g->lock);
	r5_cond_destroy(&g->cond);
}

unsigned
r5_sync_write_begin(struct r5_sync *s, uint64_t start, uint64_t end)
{
	struct r5_sync_gate *g = &s->gate;
	unsigned epoch;

	r5_mutex_lock(&g->lock);
	while (start < g->hi && g->lo < end)
		r5_cond_wait(&g->cond, &g->lock);
	epoch = g->epoch;
	g->writers[epoch]++;
	r5_mutex_unlock(&g->lock);
	return epoch;
}

void
r5_sync_write_end(struct r5_sync *s, unsigned epoch)
{
	struct r5_sync_gate *g = &s->gate;

	r5_mutex_lock(&g->lock);
	if (--g->writers[epoch] == 0)
		r5_cond_broadcast(&g->cond);
	r5_mutex_unlock(&g->lock);
}

/* Closes [start, end) to new write rounds and waits for the rounds that
 * entered before. */
static void
gate_raise(struct r5_sync_gate *g, uint64_t start, uint64_t end)
{
	r5_mutex_lock(&g->lock);
	g->lo = start;
	g->hi = end;
	g->epoch ^= 1;
	while (g->writers[g->epoch ^ 1] > 0)
		r5_cond_wait(&g->cond, &g->lock);
	r5_mutex_unlock(&g->lock);
}

static void
gate_lower(struct r5_sync_gate *g)
{
	r5_mutex_lock(&g->lock);
	g->lo = g->hi = 0;
	r5_cond_broadcast(&g->cond);
	r5_mutex_unlock(&g->lock);
}

/* Reads every survivor's range and XORs them into the target's buffer.
 * 0, or 1 when the stripe path must do this window. */
static int
read_and_xor(struct r5_sync *s, int target, uint64_t off, size_t len)
{
	const uint32_t n = r5_members_count(s->members);
	void *src[R5_MAX_MEMBERS];
	int k = 0;

	for (uint32_t i = 0; i < n; i++) {
		if ((int)i == target)
			continue;
		src[k] = s->direct_buf + (size_t)(k + 1) * R5_SYNC_DIRECT_MAX;
		if (r5_members_read(s->members, i, src[k], len, off) < 0)
			return 1;
		k++;
	}
	r5_parity_xor(k, len, src, s->direct_buf);
	return 0;
}

int
sync_direct_window(struct r5_sync *s, int target, uint64_t base, uint32_t width)
{
	const uint32_t n = r5_members_count(s->members);
	const uint64_t off = base * s->strip;
	const size_t len = (size_t)width * s->strip;
	int err;

	if (!s->direct_buf || len > R5_SYNC_DIRECT_MAX)
		return 0;
	for (uint32_t i = 0; i < n; i++)
		if ((int)i != target && r5_members_state(s->members, i) != R5_SLOT_IN_SYNC)
			return 0;
	if (r5_bitmap_resync_pending_range(s->bitmap, off, len))
		return 0;
	gate_raise(&s->gate, off, off + len);
	if (r5_stripes_busy(s->cache, off, len)) {
		gate_lower(&s->gate);
		return 0;
	}
	if (read_and_xor(s, target, off, len)) {
		gate_lower(&s->gate);
		return 0;
	}
	err = r5_members_write(s->members, (uint32_t)target, s->direct_buf, len, off);
	if (err < 0) {
		gate_lower(&s->gate);
		r5_members_fail(s->members, (uint32_t)target, "write error at member offset %llu: %s",
				(unsigned long long)off, strerror(-err));
		return -EIO;
	}
	/* The new member's pages go to the disk now, while the next windows
	 * are read, instead of all at the next checkpoint's sync, which
	 * stalled the rebuild (1 GiB rebuilt: 6.68 -> 5.72 s, medians of 6). */
	r5_members_start_writeback(s->members, (uint32_t)target, off, len);
	r5_mutex_lock(&s->lock);
	s->cp = base + width;
	s->window_base = s->cp;
	memset(s->window_done, 0, sizeof(s->window_done));
	s->done_stripes += width;
	r5_mutex_unlock(&s->lock);
	gate_lower(&s->gate);
	return 1;
}
