/* crash_discard.c - the discard workload: the in-use map
 * (core/metadata/usemap.h) across a power loss.
 *
 * The array is made with units of 4 chunk rows (the default 4 MiB would
 * be one unit for these 1 MiB members), filled and fsynced, then:
 *   1. a unit discarded in two halves with a write into another unit
 *      between them: released by the second half;
 *   2. two units each discarded whole in one call (released: zeros
 *      flushed, bit cleared on disk) and then a block written into it;
 *   3. fsync: the last unit's bit must have been on disk before its
 *      block, or a state reads that fsynced block as zeros (no later map
 *      write carries the bit to disk by chance);
 *   4. 1 KiB written into the unit of step 1 (in use again);
 *   5. half a unit discarded (its zeros not synced, the unit kept in use);
 * written back, not synced, and the power goes out. Every block must read
 * as fsynced or as one of the versions written since, zeros included
 * (a discard is a write of zeros), with each member missing in turn. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "array_internal.h"
#include "crashsim.h"

#define UNIT_ROWS 4
#define UNIT_BYTES ((uint64_t)UNIT_ROWS * ROW_BYTES) /* image bytes per unit */
#define NUNITS (NROWS / UNIT_ROWS)

/* Gives the new members a map of UNIT_ROWS chunk rows per bit. */
static void
small_units(struct run *r)
{
	for (int i = 0; i < N; i++) {
		struct r5_member m;
		struct r5_superblock sb;

		if (r5_member_open_file(&m, r->path[i], 0) < 0 || r5_sb_load(&m, &sb) != R5_SB_OK)
			cs_die("reading a new superblock", r->path[i]);
		if (!(sb.flags & R5_SB_FLAG_USEMAP))
			cs_die("a new array without the in-use map", r->path[i]);
		sb.usemap_unit = (uint64_t)UNIT_ROWS * CHUNK;
		/* both copies */
		if (r5_sb_store(&m, &sb) < 0 || r5_sb_store(&m, &sb) < 0)
			cs_die("writing a superblock", r->path[i]);
		r5_member_close(&m);
	}
}

/* Discards [off, off+len): zeros from now on, as a write of them. */
static void
discard(struct run *r, struct r5_array *a, uint64_t off, uint64_t len)
{
	uint8_t *zeros = calloc(1, len);

	if (!zeros)
		cs_die("out of memory", NULL);
	cs_expect_write(r, zeros, len, off);
	free(zeros);
	if (r5_array_discard(a, off, len) < 0)
		cs_die("discarding", NULL);
}

/* A unit not used yet. */
static uint64_t
pick_unit(bool *used, uint64_t *s)
{
	return cs_pick_row(used, 0, NUNITS, s) * UNIT_BYTES;
}

void
cs_wl_discard(struct run *r)
{
	struct r5_engine_opts eo = { .consistency_policy = r->o.policy, .stripe_cache_size = 64 };
	bool used[NUNITS] = { false };
	uint64_t s = r->o.seed ^ 0x64697363ull, u1, u2, u3, u4, u5, released;
	struct r5_array *a;

	cs_create(r);
	small_units(r);
	a = cs_open(r, 0xf, &eo);
	for (uint32_t i = 0; i < N; i++)
		cs_wrap(r, a, i);
	cs_fill(r, a, &s);
	u1 = pick_unit(used, &s);
	u2 = pick_unit(used, &s);
	u3 = pick_unit(used, &s);
	u4 = pick_unit(used, &s);
	u5 = pick_unit(used, &s);
	/* 1 */
	discard(r, a, u2, UNIT_BYTES / 2 + 1000);
	cs_write(r, a, u3 + cs_rnd(&s) % (UNIT_BYTES / BLK) * BLK, BLK, &s);
	discard(r, a, u2 + UNIT_BYTES / 2 + 1000, UNIT_BYTES / 2 - 1000);
	/* 2 */
	discard(r, a, u4, UNIT_BYTES);
	cs_write(r, a, u4 + cs_rnd(&s) % (UNIT_BYTES / BLK) * BLK, BLK, &s);
	discard(r, a, u1, UNIT_BYTES);
	cs_write(r, a, u1 + cs_rnd(&s) % (UNIT_BYTES / BLK) * BLK, BLK, &s);
	/* 3 */
	cs_flush(r, a);
	/* 4 */
	cs_write(r, a, u2 + cs_rnd(&s) % (UNIT_BYTES / 1024) * 1024, 1024, &s);
	/* 5 */
	discard(r, a, u5 + UNIT_BYTES / 4, UNIT_BYTES / 2);
	released = atomic_load(&a->io.units_released);
	if (released != 3)
		cs_die("the workload released an unexpected number of units", NULL);
	cs_note(r, "units at %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64
		   "; %" PRIu64 " released", u1, u2, u3, u4, u5, released);
	cs_writeback(a);
	cs_crash(r, a);
}
