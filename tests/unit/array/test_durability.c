/* test_durability.c - what an fsync and a checkpoint promise under power
 * loss (docs/architecture.md, "Crash model"): an fsync of the image makes a
 * member being rebuilt durable too, and a recovery checkpoint reaches the
 * member only after the rebuilt data below it has been fdatasynced. */
#include <criterion/criterion.h>
#include <errno.h>
#include <time.h>

#include "member_faulty.h"
#include "member_recorder.h"
#include "r5_test_array.h"

#define MB (1024ull * 1024)

static void
wait_sync_idle(struct r5_array *a)
{
	for (int i = 0; i < 60000 && r5_sync_action(a->sync) != R5_SYNC_IDLE; i++)
		usleep(1000);
	cr_assert_eq(r5_sync_action(a->sync), R5_SYNC_IDLE, "sync did not finish");
}

/* A 4-member array whose slot 2 is being rebuilt, interrupted early: the
 * members are assembled again (not started) so that a test can put a
 * backend under slot 2 before any thread touches it. */
static void
setup_interrupted_rebuild(struct r5_test_array *t, uint64_t member_size)
{
	struct r5_engine_opts eo = { .stripe_cache_size = 256 };
	char err[256] = "";
	uint8_t buf[64 * 1024];

	r5t_create(t, 4, 64 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, member_size);
	r5t_start(t, 0xb, &eo); /* slot 2 left out: degraded */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 1);
	for (uint64_t off = 0; off < 3 * member_size; off += 4 * sizeof(buf))
		cr_assert_eq(r5_array_write(t->a, buf, sizeof(buf), off), (ssize_t)sizeof(buf));
	r5_sync_set_speed(t->a->sync, 0, 1 * MB); /* slow, so that it is interrupted */
	cr_assert_eq(r5_array_replace(t->a, 2, t->path[2], err, sizeof(err)), 0, "%s", err);
	usleep(100 * 1000);
	r5t_stop(t); /* stops the recovery at a checkpoint below the end */
	cr_assert_eq(r5_array_assemble(t->paths, 4, &eo, &t->a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_members_state(t->a->members, 2), R5_SLOT_REBUILDING);
}

Test(durability, flush_syncs_rebuilding_member, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_fault_spec count_syncs = { .ops = R5_FAULT_SYNC, .rate_ppm = 0 };
	uint8_t buf[4096] = { 1 };

	setup_interrupted_rebuild(&t, 8 * MB);
	cr_assert_eq(r5_member_wrap_faulty(r5_members_member(t.a->members, 2), &count_syncs), 0);
	cr_assert_eq(r5_array_start(t.a), 0);
	r5_sync_stop(t.a->sync); /* no rebuild thread: only the flush syncs now */
	cr_assert_eq(r5_members_state(t.a->members, 2), R5_SLOT_REBUILDING);

	/* the write marks the array active and its bitmap region: those sync
	 * every member themselves, so count from after it */
	cr_assert_eq(r5_array_write(t.a, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	uint64_t before = r5_member_faulty_calls(r5_members_member(t.a->members, 2));
	cr_assert_eq(r5_array_flush(t.a), 0);
	cr_assert_gt(r5_member_faulty_calls(r5_members_member(t.a->members, 2)), before,
		     "an fsync of the image did not fdatasync the member being rebuilt");
	r5t_stop(&t);
	r5t_cleanup(&t);
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

Test(durability, recovery_checkpoint_after_its_data, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_recorder rec;
	uint64_t data_offset, lowest_unsynced = UINT64_MAX;
	int checkpoints = 0, mid_run = 0;

	setup_interrupted_rebuild(&t, 8 * MB);
	data_offset = r5_members_data_offset(t.a->members);
	r5_recorder_init(&rec);
	cr_assert_eq(r5_member_wrap_recorder(r5_members_member(t.a->members, 2), &rec, 2), 0);
	cr_assert_eq(r5_array_start(t.a), 0);
	/* about 3 s: at least one checkpoint is stored on the way (every 2 s) */
	r5_sync_set_speed(t.a->sync, 0, 2 * MB);
	wait_sync_idle(t.a);
	cr_assert_eq(r5_members_state(t.a->members, 2), R5_SLOT_IN_SYNC);
	r5t_stop(&t);

	/* Replay the rebuilt member's log: when a superblock copy carrying a
	 * recovery checkpoint R is written, no data write below R may still
	 * be waiting for an fdatasync. */
	for (size_t i = 0; i < rec.n; i++) {
		const struct r5_rec_entry *e = &rec.log[i];

		if (e->kind == R5_REC_SYNC) {
			lowest_unsynced = UINT64_MAX;
		} else if (e->off >= data_offset) {
			if (e->off - data_offset < lowest_unsynced)
				lowest_unsynced = e->off - data_offset;
		} else if ((e->off == R5_SB_COPY_OFFSET(0) || e->off == R5_SB_COPY_OFFSET(1)) &&
			   e->len == R5_SB_SIZE) {
			uint64_t cp = le64(e->head + 120); /* recovery_offset (superblock.h) */

			if (cp == 0)
				continue;
			checkpoints++;
			mid_run += cp != R5_OFFSET_DONE;
			cr_assert(lowest_unsynced >= cp,
				  "checkpoint %llu stored while data at %llu was not yet synced",
				  (unsigned long long)cp, (unsigned long long)lowest_unsynced);
		}
	}
	cr_assert_geq(mid_run, 1, "no checkpoint was stored during the rebuild (%d in all)",
		      checkpoints);
	r5_recorder_destroy(&rec);
	r5t_cleanup(&t);
}
