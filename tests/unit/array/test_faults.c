/* test_faults.c - the fault paths of the engine, without FUSE: degraded
 * reads for every layout and N, recovery onto a replacement, a recovery
 * checkpoint restart, the write-intent bitmap ordering, and a faulty
 * member at each operation point. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>

#include "r5_test_array.h"
#include "locks.h"
#include "member_faulty.h"
#include "member_recorder.h"

#define KB 1024u
#define MB (1024ull * 1024)

static void
fill_random(uint8_t *buf, uint64_t len, uint64_t *seed)
{
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)r5t_rand(seed);
}

/* Random writes of mixed sizes, mirrored into shadow. */
static void
random_writes(struct r5_array *a, uint8_t *shadow, uint64_t isize, int count, uint64_t *seed)
{
	uint8_t *buf = malloc(128 * KB);

	for (int w = 0; w < count; w++) {
		uint64_t len = r5t_rand(seed) % (128 * KB) + 1;
		uint64_t off = r5t_rand(seed) % (isize - len + 1);

		fill_random(buf, len, seed);
		cr_assert_eq(r5_array_write(a, buf, len, off), (ssize_t)len);
		memcpy(shadow + off, buf, len);
	}
	free(buf);
}

static int
sync_last_result(struct r5_array *a)
{
	struct r5_sync_status st;

	r5_sync_get_status(a->sync, &st);
	return st.last_result;
}

static void
wait_sync_idle(struct r5_array *a)
{
	for (int i = 0; i < 60000; i++) {
		if (r5_sync_action(a->sync) == R5_SYNC_IDLE)
			return;
		usleep(1000);
	}
	cr_assert_fail("sync did not finish");
}

/* ---- degraded read of every slot, every layout, N = 3..8 ---- */

struct dr_case {
	int n;
	uint32_t layout;
};

ParameterizedTestParameters(faults, degraded_read_every_slot)
{
	static struct dr_case cases[24];
	for (int n = 3; n <= 8; n++)
		for (uint32_t l = 0; l < 4; l++)
			cases[(n - 3) * 4 + (int)l] = (struct dr_case){ n, l };
	return cr_make_param_array(struct dr_case, cases, 24);
}

ParameterizedTest(struct dr_case *dc, faults, degraded_read_every_slot, .timeout = 120)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 64 };
	const uint64_t msize = 512 * KB, isize = (uint64_t)(dc->n - 1) * msize;
	uint8_t *shadow = malloc(isize), *buf = malloc(isize);
	uint64_t seed = r5t_seed() + (uint64_t)dc->n * 10 + dc->layout;

	r5t_create(&t, dc->n, 16 * KB, dc->layout, msize);
	r5t_start(&t, (1u << dc->n) - 1, &eo);
	fill_random(shadow, isize, &seed);
	cr_assert_eq(r5_array_write(t.a, shadow, isize, 0), (ssize_t)isize);
	r5t_stop(&t);
	for (int miss = 0; miss < dc->n; miss++) {
		r5t_start(&t, ((1u << dc->n) - 1) & ~(1u << miss), &eo);
		/* unaligned pieces too: every byte equals the healthy read */
		for (uint64_t off = 0; off < isize;) {
			uint64_t len = r5t_rand(&seed) % (40 * KB) + 1;

			if (len > isize - off)
				len = isize - off;
			cr_assert_eq(r5_array_read(t.a, buf + off, len, off), (ssize_t)len);
			off += len;
		}
		cr_assert(!memcmp(buf, shadow, isize), "n=%d layout=%u slot %d missing: differs",
			  dc->n, dc->layout, miss);
		r5t_stop(&t);
	}
	free(shadow);
	free(buf);
	r5t_cleanup(&t);
}

/* ---- degraded writes, then recovery: members equal a healthy run ---- */

Test(faults, degraded_write_then_recovery_equals_healthy, .timeout = 180)
{
	struct r5_test_array h, d;
	struct r5_engine_opts eo = { .stripe_cache_size = 128 };
	const uint64_t msize = 2 * MB, isize = 3 * msize;
	uint8_t *sh_h = calloc(1, isize), *sh_d = calloc(1, isize), *buf = malloc(isize);
	uint64_t s1 = r5t_seed(), s2 = r5t_seed();
	char err[256] = "";

	r5t_create(&h, 4, 64 * KB, R5_LAYOUT_LEFT_SYMMETRIC, msize);
	r5t_create(&d, 4, 64 * KB, R5_LAYOUT_LEFT_SYMMETRIC, msize);
	r5t_start(&h, 0xf, &eo);
	random_writes(h.a, sh_h, isize, 200, &s1);
	r5t_stop(&h);

	/* same writes on an array whose slot 2 was deleted, then rebuilt */
	cr_assert_eq(unlink(d.path[2]), 0);
	r5t_start(&d, 0xb, &eo);
	random_writes(d.a, sh_d, isize, 200, &s2);
	cr_assert_eq(r5_array_replace(d.a, 2, d.path[2], err, sizeof(err)), 0, "%s", err);
	wait_sync_idle(d.a);
	cr_assert_eq(sync_last_result(d.a), 0);
	cr_assert_eq(r5_members_nr_failed(d.a->members), 0);
	cr_assert(r5_members_ok(d.a->members, 2));
	r5t_stop(&d);

	/* bit-identical data areas, member by member */
	for (int i = 0; i < 4; i++) {
		uint8_t *mh = r5t_read_member(h.path[i], r5t_data_offset(h.path[i]), msize);
		uint8_t *md = r5t_read_member(d.path[i], r5t_data_offset(d.path[i]), msize);

		cr_assert(!memcmp(mh, md, msize), "member %d differs after recovery", i);
		free(mh);
		free(md);
	}
	free(sh_h);
	free(sh_d);
	free(buf);
	r5t_cleanup(&h);
	r5t_cleanup(&d);
}

/* ---- recovery interrupted at a checkpoint resumes there ---- */

Test(faults, recovery_checkpoint_restart, .timeout = 180)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 128 };
	const uint64_t msize = 16 * MB, isize = 3 * msize;
	uint8_t *shadow = malloc(isize), *buf = malloc(isize);
	uint64_t seed = r5t_seed();
	char err[256] = "";

	r5t_create(&t, 4, 64 * KB, R5_LAYOUT_LEFT_SYMMETRIC, msize);
	r5t_start(&t, 0xf, &eo);
	fill_random(shadow, isize, &seed);
	cr_assert_eq(r5_array_write(t.a, shadow, isize, 0), (ssize_t)isize);
	cr_assert_eq(r5_array_control(t.a, "fail 1", err, sizeof(err)), 0, "%s", err);
	/* slow recovery: 4 MiB/s, so it is part-way after a few seconds */
	cr_assert_eq(r5_array_control(t.a, "sync_speed_max 4M", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_array_control(t.a, "sync_speed_min 1M", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(unlink(t.path[1]), 0);
	cr_assert_eq(r5_array_replace(t.a, 1, t.path[1], err, sizeof(err)), 0, "%s", err);
	sleep(3);
	r5t_stop(&t); /* persists the checkpoint */

	struct r5_member m = { 0 };
	struct r5_superblock sb;
	cr_assert_eq(r5_member_open_file(&m, t.path[1], 0), 0);
	cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
	r5_member_close(&m);
	cr_assert_neq(sb.recovery_offset, R5_OFFSET_DONE);
	cr_assert_gt(sb.recovery_offset, 0, "no checkpoint was persisted");
	cr_assert_lt(sb.recovery_offset, msize);
	cr_assert_eq(sb.roles[1], R5_ROLE_REBUILDING);

	/* assemble again: the rebuild resumes at the checkpoint, not at 0 */
	r5t_start(&t, 0xf, &eo);
	cr_assert_eq(r5_members_state(t.a->members, 1), R5_SLOT_REBUILDING);
	struct r5_sync_status st;
	r5_sync_get_status(t.a->sync, &st);
	uint64_t resumed_at = st.checkpoint * r5_cache_strip_size(t.a->cache);
	cr_assert_geq(resumed_at, sb.recovery_offset);
	/* reads while rebuilding are right on both sides of the checkpoint */
	cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
	cr_assert(!memcmp(buf, shadow, isize));
	wait_sync_idle(t.a);
	cr_assert_eq(sync_last_result(t.a), 0);
	cr_assert(r5_members_ok(t.a->members, 1));
	r5t_stop(&t);

	/* slot 1 is now trusted: read the image without slot 0 */
	r5t_start(&t, 0xe, &eo);
	cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
	cr_assert(!memcmp(buf, shadow, isize), "rebuilt member is wrong");
	r5t_stop(&t);
	free(shadow);
	free(buf);
	r5t_cleanup(&t);
}

/* ---- write-intent bitmap: the bit is on disk before the data ---- */

Test(faults, bitmap_bit_on_disk_before_data_and_cleared_when_clean, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 64 };
	struct r5_recorder rec;
	uint64_t bitmap_offset = 0, data_offset;
	uint8_t buf[8192], bm[16];
	uint64_t seed = r5t_seed();
	char err[256];

	r5t_create(&t, 4, 64 * KB, R5_LAYOUT_LEFT_SYMMETRIC, 8 * MB);
	cr_assert_eq(r5_array_assemble(t.paths, 4, &eo, &t.a, err, sizeof(err)), 0, "%s", err);
	r5_recorder_init(&rec);
	data_offset = r5_members_data_offset(t.a->members);
	for (uint32_t i = 0; i < 4; i++) {
		struct r5_superblock sb;

		cr_assert(r5_members_superblock(t.a->members, i, &sb));
		bitmap_offset = sb.bitmap_offset;
		cr_assert_eq(r5_member_wrap_recorder(r5_members_member(t.a->members, i), &rec, i), 0);
	}
	cr_assert_eq(r5_array_start(t.a), 0);
	fill_random(buf, sizeof(buf), &seed);
	cr_assert_eq(r5_array_write(t.a, buf, sizeof(buf), 5 * MB), (ssize_t)sizeof(buf));
	cr_assert_eq(r5_array_flush(t.a), 0);
	/* replay each member's log: a data write only after a bitmap write
	 * with the bit set AND an fdatasync of that member after it */
	int total = 0;
	for (uint32_t i = 0; i < 4; i++) {
		bool bit_written = false, bit_durable = false;

		for (size_t k = 0; k < rec.n; k++) {
			const struct r5_rec_entry *e = &rec.log[k];

			if (e->member != i)
				continue;
			if (e->kind == R5_REC_SYNC) {
				bit_durable |= bit_written;
			} else if (e->off >= bitmap_offset && e->off < data_offset) {
				for (size_t b = 0; b < sizeof(e->head); b++)
					bit_written |= e->head[b] != 0;
			} else if (e->off >= data_offset) {
				cr_assert(bit_durable, "member %u: data written before its bitmap bit was synced", i);
				total++;
			}
		}
	}
	cr_assert_gt(total, 0);
	/* while active the bit is on every member */
	cr_assert(atomic_load(&t.a->safe.marked_active));
	for (int i = 0; i < 4; i++) {
		int fd = open(t.path[i], O_RDONLY);
		cr_assert_eq(pread(fd, bm, sizeof(bm), R5_BITMAP_OFFSET), (ssize_t)sizeof(bm));
		close(fd);
		cr_assert_neq(bm[0], 0, "member %d: bitmap bit not on disk", i);
	}
	/* safe mode: idle for a while -> clean, bits cleared */
	for (int i = 0; i < 100 && atomic_load(&t.a->safe.marked_active); i++)
		usleep(50 * 1000);
	cr_assert_not(atomic_load(&t.a->safe.marked_active), "array not marked clean when idle");
	/* marked_active drops first; the bitmap is cleared and the superblocks
	 * say clean under the safe-mode lock right after: wait for that */
	r5_mutex_lock(&t.a->safe.lock);
	uint32_t state = r5_members_array_state(t.a->members);
	r5_mutex_unlock(&t.a->safe.lock);
	cr_assert_eq(state, R5_STATE_CLEAN, "superblocks not clean when idle");
	for (int i = 0; i < 4; i++) {
		int fd = open(t.path[i], O_RDONLY);
		cr_assert_eq(pread(fd, bm, sizeof(bm), R5_BITMAP_OFFSET), (ssize_t)sizeof(bm));
		close(fd);
		cr_assert_eq(bm[0], 0, "member %d: bitmap not cleared when clean", i);
	}
	r5t_stop(&t);
	r5_recorder_destroy(&rec);
	r5t_cleanup(&t);
}

/* ---- a faulty member at each operation point ---- */

struct fault_case {
	uint32_t ops;
	int error;
	uint64_t after;
	char name[32]; /* an array: parameters are copied to the test's process */
};

ParameterizedTestParameters(faults, one_faulty_member)
{
	static struct fault_case cases[] = {
		{ R5_FAULT_WRITE, EIO, 0, "write EIO at once" },
		{ R5_FAULT_WRITE, EIO, 50, "write EIO after 50" },
		{ R5_FAULT_WRITE, ENOSPC, 20, "write ENOSPC" },
		{ R5_FAULT_WRITE, 0, 30, "short write" },
		{ R5_FAULT_READ, EIO, 0, "read EIO" },
		{ R5_FAULT_READ, 0, 10, "short read" },
		{ R5_FAULT_SYNC, EIO, 0, "fdatasync EIO" },
	};
	return cr_make_param_array(struct fault_case, cases, sizeof(cases) / sizeof(cases[0]));
}

/* One member fails: every write still succeeds (parity carries it), every
 * acknowledged byte reads back, the member ends faulty, nothing hangs. */
ParameterizedTest(struct fault_case *fc, faults, one_faulty_member, .timeout = 120)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 64 };
	const uint64_t msize = 2 * MB, isize = 3 * msize;
	uint8_t *shadow = malloc(isize), *buf = malloc(isize);
	uint64_t seed = r5t_seed();
	struct r5_fault_spec spec = { .ops = fc->ops, .error = fc->error, .after_calls = fc->after, .rate_ppm = 1000000, .seed = 1 };
	char err[256];

	cr_log_info("case: %s", fc->name);
	r5t_create(&t, 4, 16 * KB, R5_LAYOUT_LEFT_SYMMETRIC, msize);
	cr_assert_eq(r5_array_assemble(t.paths, 4, &eo, &t.a, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_array_start(t.a), 0);
	fill_random(shadow, isize, &seed);
	cr_assert_eq(r5_array_write(t.a, shadow, isize, 0), (ssize_t)isize);
	cr_assert_eq(r5_array_flush(t.a), 0);
	/* arm the fault on member 1 while running (tests own the seam) */
	cr_assert_eq(r5_member_wrap_faulty(r5_members_member(t.a->members, 1), &spec), 0);
	random_writes(t.a, shadow, isize, 150, &seed);
	int fl = r5_array_flush(t.a);
	cr_assert_eq(fl, 0, "flush with one failed member must succeed (got %d)", fl);
	/* reads that miss the cache: drop it by reading everything */
	cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
	cr_assert(!memcmp(buf, shadow, isize), "%s: acknowledged data lost", fc->name);
	if (r5_member_faulty_count(r5_members_member(t.a->members, 1)) > 0)
		cr_assert_eq(r5_members_state(t.a->members, 1), R5_SLOT_FAULTY,
			     "%s: member failed I/O but is not faulty", fc->name);
	cr_assert_leq(r5_members_nr_failed(t.a->members), 1);
	r5t_stop(&t);

	/* after restart without the failed member the data is all there */
	r5t_start(&t, 0xd, &eo);
	cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
	cr_assert(!memcmp(buf, shadow, isize), "%s: data wrong after restart", fc->name);
	r5t_stop(&t);
	free(shadow);
	free(buf);
	r5t_cleanup(&t);
}

/* Two members fail: the array stops accepting writes (no false success),
 * flush reports the loss, reads that need the lost members fail, nothing
 * hangs; the array can still be stopped. */
Test(faults, second_failure_fails_safe, .timeout = 120)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 64 };
	const uint64_t msize = 2 * MB, isize = 3 * msize;
	uint8_t *shadow = malloc(isize), *buf = malloc(isize);
	uint64_t seed = r5t_seed();
	/* writes fail on a second member: that member fails, and the array */
	struct r5_fault_spec spec = { .ops = R5_FAULT_WRITE, .error = EIO, .rate_ppm = 1000000, .seed = 1 };
	char err[256];

	r5t_create(&t, 4, 16 * KB, R5_LAYOUT_LEFT_SYMMETRIC, msize);
	r5t_start(&t, 0xf, &eo);
	fill_random(shadow, isize, &seed);
	cr_assert_eq(r5_array_write(t.a, shadow, isize, 0), (ssize_t)isize);
	cr_assert_eq(r5_array_flush(t.a), 0);
	cr_assert_eq(r5_array_control(t.a, "fail 0", err, sizeof(err)), 0, "%s", err);
	/* a second manual fail is refused: it would fail the array */
	cr_assert_eq(r5_array_control(t.a, "fail 2", err, sizeof(err)), -EBUSY);
	cr_assert_eq(r5_member_wrap_faulty(r5_members_member(t.a->members, 2), &spec), 0);
	int failed_writes = 0;
	for (int w = 0; w < 50; w++) {
		fill_random(buf, 64 * KB, &seed);
		ssize_t r = r5_array_write(t.a, buf, 64 * KB, (uint64_t)w * 64 * KB);
		if (r < 0)
			failed_writes++;
		else
			cr_assert_eq(r, 64 * KB);
	}
	cr_assert_gt(failed_writes, 0, "writes kept succeeding with two members gone");
	cr_assert(r5_members_failed(t.a->members));
	cr_assert_eq(r5_array_flush(t.a), -EIO);
	cr_assert_eq(r5_array_write(t.a, buf, 4096, 0), -EIO);
	cr_assert_lt(r5_array_read(t.a, buf, isize, 0), 0);
	char status[8192];
	cr_assert_gt(r5_array_status_json(t.a, status, sizeof(status)), 0);
	cr_assert_not_null(strstr(status, "\"health\": \"failed\""));
	r5_array_stop(t.a);
	t.a = NULL;
	free(shadow);
	free(buf);
	r5t_cleanup(&t);
}

/* A read error on a survivor of a degraded array fails that request, not
 * the array. */
Test(faults, read_error_while_degraded_fails_request_only, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 64 };
	const uint64_t msize = 2 * MB, isize = 3 * msize;
	uint8_t *shadow = malloc(isize), *buf = malloc(isize);
	uint64_t seed = r5t_seed();
	struct r5_fault_spec spec = { .ops = R5_FAULT_READ, .error = EIO, .rate_ppm = 1000000, .seed = 1 };

	r5t_create(&t, 4, 16 * KB, R5_LAYOUT_LEFT_SYMMETRIC, msize);
	r5t_start(&t, 0xf, &eo);
	fill_random(shadow, isize, &seed);
	cr_assert_eq(r5_array_write(t.a, shadow, isize, 0), (ssize_t)isize);
	r5t_stop(&t);
	r5t_start(&t, 0xe, &eo); /* slot 0 missing */
	cr_assert_eq(r5_member_wrap_faulty(r5_members_member(t.a->members, 3), &spec), 0);
	cr_assert_lt(r5_array_read(t.a, buf, isize, 0), 0, "read needing a failing survivor succeeded");
	cr_assert_eq(r5_members_nr_failed(t.a->members), 1, "a read error failed the array");
	cr_assert(r5_members_ok(t.a->members, 3));
	/* the member recovers: reads work again */
	struct r5_fault_spec none = { .seed = 1 };
	cr_assert_eq(r5_member_faulty_set(r5_members_member(t.a->members, 3), &none), 0);
	cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
	cr_assert(!memcmp(buf, shadow, isize));
	r5t_stop(&t);
	free(shadow);
	free(buf);
	r5t_cleanup(&t);
}
