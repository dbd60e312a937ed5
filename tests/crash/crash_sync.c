/* crash_sync.c - the workloads with a sync running at the crash (see
 * r5_crashsim.c and crash_workloads.c): a resync after a first crash, and
 * the recovery onto a replaced member. Both are slowed down with the speed
 * limits, so that the writes come while they run. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array_internal.h"
#include "crashsim.h"

/* The first crash's state: the data of its writes on the members, their
 * parity not (every parity piece left out, everything else taken). */
static void
torn_state(struct run *r)
{
	for (uint32_t i = 0; i < N; i++) {
		struct r5_crash_member *cm = &r->log.member[i];
		uint64_t *take = calloc(cm->n / 64 + 1, sizeof(uint64_t));
		char path[128];

		if (!take)
			cs_die("out of memory", NULL);
		for (size_t j = 0; j < cm->n; j++) {
			uint64_t img, off = cm->pieces[j].off;
			bool parity = off >= r->data_offset && off < r->data_offset + MSIZE &&
				      r5_layout_unmap(&r->geo, i, off - r->data_offset, &img) == 1;

			if (!parity)
				take[j / 64] |= 1ull << (j % 64);
		}
		snprintf(path, sizeof(path), "%s/c%u", r->dir, i);
		if (r5_crash_build(&r->log, i, take, path) < 0)
			cs_die("building the first crash's state", NULL);
		free(take);
	}
}

static void
wait_checkpoint(struct r5_array *a, uint64_t stripes)
{
	struct r5_sync_status st;

	for (int i = 0; i < 100000; i++) {
		r5_sync_get_status(a->sync, &st);
		if (st.checkpoint >= stripes || st.action == R5_SYNC_IDLE)
			return;
		usleep(100);
	}
}

/* With a 64-stripe cache the sync works 16 stripes (64 KiB a member) at a
 * time. Its throttle measures the speed over one second from the first
 * window on, and lets windows go during the first millisecond: at these
 * limits it does a few windows at once, then one a second. */
static void
slow_sync(struct r5_array *a)
{
	r5_sync_set_speed(a->sync, 4096, 65536);
}

static void
still_syncing(struct run *r, struct r5_array *a, int action)
{
	struct r5_sync_status st;

	r5_sync_get_status(a->sync, &st);
	if (st.action != action)
		cs_die("the sync was over before the crash: the workload cannot test it", NULL);
	cs_note(r, "; %s at stripe %" PRIu64 " of %" PRIu64 " at the crash",
		r5_sync_action_name(action), st.checkpoint, (uint64_t)(MSIZE / BLK));
}

/* The sync's checkpoint once its first burst is over (slow_sync), past
 * `above`: it then stays there for about a second. */
static uint64_t
settled_checkpoint(struct r5_array *a, uint64_t above)
{
	struct r5_sync_status st;

	wait_checkpoint(a, above + 1);
	usleep(20000);
	r5_sync_get_status(a->sync, &st);
	return st.checkpoint;
}

/* Adds the row range [lo, hi) to out[k] if it is not empty; the count. */
static unsigned
add_range(uint64_t (*out)[2], unsigned k, uint64_t lo, uint64_t hi)
{
	if (hi > NROWS)
		hi = NROWS;
	if (lo < hi) {
		out[k][0] = lo;
		out[k][1] = hi;
		k++;
	}
	return k;
}

#define STRIPES_PER_ROW (CHUNK / BLK)

/* A first crash tears some rows (data written, parity not); the dirty start
 * after it resyncs, slowly; writes during the resync, below and above its
 * checkpoint; the second crash is the one the states come from. */
void
cs_wl_resync(struct run *r)
{
	struct r5_engine_opts eo = { .consistency_policy = r->o.policy, .stripe_cache_size = 64 };
	/* torn rows: one the resync has done before the writes, the others far
	 * above where it is at the crash */
	static const uint64_t first[2][2] = { { 0, 2 }, { 40, NROWS } };
	bool used[NROWS] = { false };
	uint64_t s = r->o.seed ^ 0x7265737963ull, ranges[3][2], cp;
	unsigned n;
	const char *paths[N];
	char err[256] = "";
	struct r5_array *a;
	uint8_t *img;

	cs_create(r);
	img = malloc(r->isize);
	a = cs_open(r, 0xf, &eo);
	for (uint32_t i = 0; i < N; i++)
		cs_wrap(r, a, i);
	cs_fill(r, a, &s);
	cs_note(r, "first crash:");
	for (unsigned k = 0; k < 4; k++) {
		uint64_t row = cs_pick_row(used, first[k > 0][0], first[k > 0][1], &s);

		cs_do_op(r, a, OP_ONE, row, &s);
		cs_note(r, " one@%" PRIu64, row);
	}
	cs_writeback(a);
	cs_crash(r, a);
	torn_state(r);
	r5_crash_destroy(&r->log);
	r5_crash_init(&r->log, N);

	/* the dirty start: wrapped before it starts, so its writes count */
	cs_set_paths(r, "c");
	for (int i = 0; i < N; i++)
		paths[i] = r->path[i];
	if (r5_array_assemble(paths, N, &eo, &a, err, sizeof(err)) < 0)
		cs_die("assembling the first crash's state", err);
	a->safe.idle_ns = 3600ull * 1000000000ull;
	for (uint32_t i = 0; i < N; i++)
		cs_wrap(r, a, i);
	if (r5_array_start(a) < 0)
		cs_die("starting after the first crash", NULL);
	slow_sync(a);
	cp = settled_checkpoint(a, 0);
	/* what the first crash left is what the members now hold for good */
	if (!img || r5_array_read(a, img, r->isize, 0) != (ssize_t)r->isize)
		cs_die("reading after the first crash", NULL);
	for (uint64_t b = 0; b < r->isize / BLK; b++) {
		bool ok = !memcmp(img + b * BLK, r->e.old + b * BLK, BLK);

		for (uint32_t v = 0; !ok && v < r->e.nver[b]; v++)
			ok = !memcmp(img + b * BLK, r->e.ver[b] + (size_t)v * BLK, BLK);
		if (!ok)
			cs_die("after the first crash, an image block is none of its versions", NULL);
	}
	memcpy(r->e.cur, img, r->isize);
	memcpy(r->e.old, img, r->isize);
	memset(r->e.nver, 0, r->isize / BLK * sizeof(*r->e.nver));
	free(img);
	cs_note(r, "; resync at stripe %" PRIu64 ", then ", cp);
	/* below the checkpoint, and two windows above it */
	n = add_range(ranges, 0, 0, cp / STRIPES_PER_ROW);
	n = add_range(ranges, n, cp / STRIPES_PER_ROW + 8, NROWS);
	cs_do_ops(r, a, r->o.writes, false, used, ranges, n, &s);
	cs_writeback(a);
	still_syncing(r, a, R5_SYNC_RESYNC);
	cs_crash(r, a);
}

/* A member replaced and rebuilt slowly; writes below the checkpoint stored
 * in the superblocks, between it and the rebuild's progress, and above. */
void
cs_wl_rebuild(struct run *r)
{
	struct r5_engine_opts eo = { .consistency_policy = r->o.policy, .stripe_cache_size = 64 };
	const uint32_t x = (uint32_t)(r->o.seed % N);
	bool used[NROWS] = { false };
	uint64_t s = r->o.seed ^ 0x7265626c64ull, ranges[3][2], cp;
	unsigned n;
	struct r5_superblock sb;
	struct r5_array *a;
	char cmd[160], err[256] = "";

	cs_create(r);
	a = cs_open(r, 0xf, &eo);
	cs_fill(r, a, &s);
	snprintf(cmd, sizeof(cmd), "fail %u", x);
	if (r5_array_control(a, cmd, err, sizeof(err)) < 0)
		cs_die("failing a member", err);
	slow_sync(a);
	snprintf(r->path[x], sizeof(r->path[x]), "%s/n%u", r->dir, x);
	if (r5_array_replace(a, x, r->path[x], err, sizeof(err)) < 0)
		cs_die("replacing a member", err);
	(void)settled_checkpoint(a, 0);
	r5_sync_stop(a->sync); /* syncs the members, stores the checkpoint */
	if (!r5_members_superblock(a->members, x, &sb))
		cs_die("no superblock for the new member", NULL);
	r->rebuilding = (int)x;
	r->rebuild_valid_below = sb.recovery_offset;
	for (uint32_t i = 0; i < N; i++)
		cs_wrap(r, a, i);
	if (r5_array_control(a, "recover", err, sizeof(err)) < 0)
		cs_die("resuming the recovery", err);
	cp = settled_checkpoint(a, sb.recovery_offset / BLK);
	cs_note(r, "slot %u rebuilt up to stripe %" PRIu64 " durably, %" PRIu64 " at the writes: ",
		x, sb.recovery_offset / BLK, cp);
	/* rebuilt durably; rebuilt; two windows above the rebuild */
	n = add_range(ranges, 0, 0, sb.recovery_offset / CHUNK);
	n = add_range(ranges, n, sb.recovery_offset / CHUNK, cp / STRIPES_PER_ROW);
	n = add_range(ranges, n, cp / STRIPES_PER_ROW + 8, NROWS);
	cs_do_ops(r, a, r->o.writes, false, used, ranges, n, &s);
	cs_writeback(a);
	still_syncing(r, a, R5_SYNC_RECOVER);
	cs_crash(r, a);
}
