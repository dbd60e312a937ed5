/* test_sync.c - the sync layer (core/sync/sync.h) judged by the member files:
 * a resync of a dirty array leaves every stripe's parity right, a check
 * counts exactly the stripes with bad parity and changes nothing, a repair
 * fixes them, a recovery rebuilds the new member bit for bit, the
 * checkpoint only moves forward and a stopped sync resumes from it, and the
 * last window of an array whose size is not a multiple of the window is
 * walked too.
 *
 * Geometry of every test: 4 members of 8 MiB + 192 KiB, 4 KiB strips
 * (2096 stripes), a stripe cache of 256 (windows of 64 stripes), so the
 * last window holds only 48 stripes. Parity is corrupted, and results are
 * read, on the member files while the array is stopped. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "r5_test_array.h"

#define KB 1024ull
#define MB (1024ull * 1024)
#define N 4
#define CHUNK (64 * KB)
#define STRIP (4 * KB)
#define MSIZE (8 * MB + 192 * KB)
#define TOTAL (MSIZE / STRIP) /* 2096 stripes */
#define WINDOW 64             /* stripe_cache_size / 4 (sync.c) */
#define SECTORS_PER_STRIPE (STRIP / 512)

static const struct r5_engine_opts eo = { .stripe_cache_size = 256, .strip_size = STRIP };

static const struct r5_geometry geo = {
	.nr_members = N, .chunk_size = CHUNK, .layout = R5_LAYOUT_LEFT_SYMMETRIC,
	.member_data_size = MSIZE,
};

/* ---------- helpers ---------- */

static void
wait_idle(struct r5_array *a)
{
	for (int i = 0; i < 20000 && r5_sync_action(a->sync) != R5_SYNC_IDLE; i++)
		usleep(1000);
	cr_assert_eq(r5_sync_action(a->sync), R5_SYNC_IDLE, "the sync did not finish");
}

/* A clean array full of seeded data, stopped. */
static void
make_filled_array(struct r5_test_array *t)
{
	uint64_t seed = r5t_seed();
	const size_t len = 1 * MB;
	uint8_t *buf = malloc(len);

	cr_assert_not_null(buf);
	/* without checksums: a parity block changed on the member is then a
	 * parity mismatch, which is what these tests count (with checksums it
	 * is a block that fails its checksum: tests/unit/array/test_integrity.c) */
	r5t_create_csum(t, N, CHUNK, R5_LAYOUT_LEFT_SYMMETRIC, MSIZE, "none");
	r5t_start(t, (1u << N) - 1, &eo);
	for (uint64_t off = 0; off < r5_array_size(t->a); off += len) {
		size_t n = r5_array_size(t->a) - off < len ? r5_array_size(t->a) - off : len;

		for (size_t i = 0; i < n; i += 8) {
			uint64_t v = r5t_rand(&seed);
			memcpy(buf + i, &v, 8);
		}
		cr_assert_eq(r5_array_write(t->a, buf, n, off), (ssize_t)n);
	}
	r5t_stop(t);
	free(buf);
}

static void
read_members(struct r5_test_array *t, uint8_t *m[N])
{
	for (int i = 0; i < N; i++)
		m[i] = r5t_read_member(t->path[i], R5_DATA_OFFSET, MSIZE);
}

static void
free_members(uint8_t *m[N])
{
	for (int i = 0; i < N; i++)
		free(m[i]);
}

/* Stripes whose members do not XOR to zero, read from the member files. */
static uint64_t
count_bad_stripes(struct r5_test_array *t, uint64_t *first_bad)
{
	uint8_t *m[N];
	uint64_t bad = 0;

	read_members(t, m);
	*first_bad = UINT64_MAX;
	for (uint64_t s = 0; s < TOTAL; s++) {
		bool ok = true;

		for (uint64_t b = s * STRIP; b < (s + 1) * STRIP && ok; b++) {
			uint8_t x = 0;

			for (int i = 0; i < N; i++)
				x ^= m[i][b];
			ok = x == 0;
		}
		if (!ok) {
			if (*first_bad == UINT64_MAX)
				*first_bad = s;
			bad++;
		}
	}
	free_members(m);
	return bad;
}

static void
assert_members_equal(struct r5_test_array *t, uint8_t *want[N], const char *what)
{
	uint8_t *m[N];

	read_members(t, m);
	for (int i = 0; i < N; i++)
		for (uint64_t b = 0; b < MSIZE; b++)
			if (m[i][b] != want[i][b])
				cr_assert_fail("%s: member %d differs at data byte %llu (stripe %llu)", what, i,
					       (unsigned long long)b, (unsigned long long)(b / STRIP));
	free_members(m);
}

/* Flips bytes of the parity page of one stripe, through the member backend. */
static void
corrupt_parity(struct r5_test_array *t, uint64_t stripe)
{
	uint32_t p = r5_layout_parity_member(&geo, stripe * STRIP / CHUNK);
	struct r5_member m;
	uint8_t b[16];
	uint64_t off = R5_DATA_OFFSET + stripe * STRIP + (stripe * 37) % (STRIP - sizeof(b));

	cr_assert_eq(r5_member_open_file(&m, t->path[p], 0), 0);
	cr_assert_eq(r5_member_read(&m, b, sizeof(b), off), 0);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] ^= (uint8_t)(0x5a + i);
	cr_assert_eq(r5_member_write(&m, b, sizeof(b), off), 0);
	cr_assert_eq(r5_member_sync(&m), 0);
	r5_member_close(&m);
}

/* What an unclean stop leaves: every superblock "active" and, with a bitmap
 * of region_size bytes per bit, the given bitmap bytes on every member. */
static void
make_dirty(struct r5_test_array *t, uint64_t region_size, const uint8_t *bits, size_t len)
{
	for (int i = 0; i < N; i++) {
		struct r5_member m;
		struct r5_superblock sb;

		cr_assert_eq(r5_member_open_file(&m, t->path[i], 0), 0);
		cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
		sb.state = R5_STATE_ACTIVE;
		sb.resync_offset = 0;
		sb.bitmap_region_size = region_size;
		cr_assert_eq(r5_member_write(&m, bits, len, sb.bitmap_offset), 0);
		cr_assert_eq(r5_sb_store(&m, &sb), 0);
		r5_member_close(&m);
	}
}

static void
assert_clean_on_disk(struct r5_test_array *t)
{
	for (int i = 0; i < N; i++) {
		struct r5_member m;
		struct r5_superblock sb;

		cr_assert_eq(r5_member_open_file(&m, t->path[i], 0), 0);
		cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
		cr_assert_eq(sb.state, R5_STATE_CLEAN, "member %d still says active", i);
		r5_member_close(&m);
	}
}

/* Runs a sync action over the whole array and waits for it: it must succeed. */
static void
run_to_end(struct r5_test_array *t, int action, struct r5_sync_status *st)
{
	cr_assert_eq(r5_sync_start(t->a->sync, action, -1, 0), 0);
	wait_idle(t->a);
	r5_sync_get_status(t->a->sync, st);
	cr_assert_eq(st->last_action, action);
	cr_assert_eq(st->last_result, 0, "%s failed: %d", r5_sync_action_name(action),
		     st->last_result);
}

/* Several stripes in the first window, the middle, across a chunk, and in
 * the last (partial) window, its very last stripe included. */
static const uint64_t bad_stripes[] = { 0, 17, 63, 64, 1000, 2047, 2048, 2095 };
#define NR_BAD (sizeof(bad_stripes) / sizeof(bad_stripes[0]))

/* ---------- resync ---------- */

Test(sync, resync_of_a_dirty_array_makes_every_parity_right, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_sync_status st;
	uint8_t *good[N], all_dirty[4096];
	uint64_t first;

	make_filled_array(&t);
	read_members(&t, good);
	cr_assert_eq(count_bad_stripes(&t, &first), 0);
	for (size_t i = 0; i < NR_BAD; i++)
		corrupt_parity(&t, bad_stripes[i]);
	cr_assert_eq(count_bad_stripes(&t, &first), NR_BAD);
	memset(all_dirty, 0xff, sizeof(all_dirty));
	make_dirty(&t, R5_DEFAULT_BITMAP_REGION, all_dirty, sizeof(all_dirty));

	r5t_start(&t, (1u << N) - 1, &eo); /* a dirty start resyncs by itself */
	cr_assert(r5_bitmap_needs_resync(t.a->bitmap));
	wait_idle(t.a);
	r5_sync_get_status(t.a->sync, &st);
	cr_assert_eq(st.last_action, R5_SYNC_RESYNC);
	cr_assert_eq(st.last_result, 0);
	cr_expect_eq(st.checkpoint, TOTAL); /* go on: the member files say more */
	cr_expect_not(r5_bitmap_needs_resync(t.a->bitmap));
	r5t_stop(&t);

	cr_assert_eq(count_bad_stripes(&t, &first), 0, "%llu stripes still bad after the resync, first %llu",
		     (unsigned long long)count_bad_stripes(&t, &first), (unsigned long long)first);
	assert_members_equal(&t, good, "after resync");
	assert_clean_on_disk(&t);
	free_members(good);
	r5t_cleanup(&t);
}

Test(sync, resync_visits_only_the_regions_the_bitmap_marks, .timeout = 60)
{
	struct r5_test_array t;
	uint8_t bits[4096] = { 0 };
	uint64_t first;
	const uint64_t per_region = MB / STRIP; /* 256 stripes */

	make_filled_array(&t);
	corrupt_parity(&t, 3);                   /* region 0: dirty */
	corrupt_parity(&t, 3 * per_region + 5);  /* region 3: clean */
	corrupt_parity(&t, TOTAL - 1);           /* region 8, the partial one: dirty */
	bits[0] = 0x01;
	bits[1] = 0x01;
	make_dirty(&t, MB, bits, sizeof(bits));

	r5t_start(&t, (1u << N) - 1, &eo);
	wait_idle(t.a);
	r5t_stop(&t);
	/* parity in a region the bitmap calls clean is trusted, not read */
	cr_assert_eq(count_bad_stripes(&t, &first), 1);
	cr_assert_eq(first, 3 * per_region + 5, "the resync left stripe %llu bad",
		     (unsigned long long)first);
	r5t_cleanup(&t);
}

/* ---------- check and repair ---------- */

Test(sync, check_counts_each_bad_stripe_and_changes_nothing, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_sync_status st;
	uint8_t *before[N];
	uint64_t first;

	make_filled_array(&t);
	for (size_t i = 0; i < NR_BAD; i++)
		corrupt_parity(&t, bad_stripes[i]);
	read_members(&t, before);

	r5t_start(&t, (1u << N) - 1, &eo);
	run_to_end(&t, R5_SYNC_CHECK, &st);
	cr_assert_eq(st.mismatch_sectors, NR_BAD * SECTORS_PER_STRIPE,
		     "check reported %llu mismatched sectors, %zu bad stripes of %llu sectors made",
		     (unsigned long long)st.mismatch_sectors, NR_BAD,
		     (unsigned long long)SECTORS_PER_STRIPE);
	cr_assert_eq(st.checkpoint, TOTAL);
	/* twice: the count is of this run, not accumulated */
	run_to_end(&t, R5_SYNC_CHECK, &st);
	cr_assert_eq(st.mismatch_sectors, NR_BAD * SECTORS_PER_STRIPE);
	r5t_stop(&t);

	assert_members_equal(&t, before, "after check");
	cr_assert_eq(count_bad_stripes(&t, &first), NR_BAD);
	free_members(before);
	r5t_cleanup(&t);
}

Test(sync, check_of_a_consistent_array_reports_zero, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_sync_status st;

	make_filled_array(&t);
	r5t_start(&t, (1u << N) - 1, &eo);
	run_to_end(&t, R5_SYNC_CHECK, &st);
	cr_assert_eq(st.mismatch_sectors, 0);
	r5t_stop(&t);
	r5t_cleanup(&t);
}

Test(sync, repair_rewrites_exactly_the_bad_parity, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_sync_status st;
	uint8_t *good[N];
	uint64_t first;

	make_filled_array(&t);
	read_members(&t, good);
	for (size_t i = 0; i < NR_BAD; i++)
		corrupt_parity(&t, bad_stripes[i]);

	r5t_start(&t, (1u << N) - 1, &eo);
	run_to_end(&t, R5_SYNC_REPAIR, &st);
	cr_assert_eq(st.mismatch_sectors, NR_BAD * SECTORS_PER_STRIPE);
	run_to_end(&t, R5_SYNC_CHECK, &st);
	cr_assert_eq(st.mismatch_sectors, 0, "a check after the repair still found %llu sectors",
		     (unsigned long long)st.mismatch_sectors);
	r5t_stop(&t);

	cr_assert_eq(count_bad_stripes(&t, &first), 0, "stripe %llu still bad after the repair",
		     (unsigned long long)first);
	assert_members_equal(&t, good, "after repair");
	free_members(good);
	r5t_cleanup(&t);
}

Test(sync, only_the_last_partial_window_bad_is_found_and_repaired, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_sync_status st;
	uint64_t first;

	cr_assert_neq(TOTAL % WINDOW, 0, "the geometry must leave a partial last window");
	make_filled_array(&t);
	corrupt_parity(&t, TOTAL - TOTAL % WINDOW); /* first stripe of the last window */
	corrupt_parity(&t, TOTAL - 1);              /* last stripe of the array */

	r5t_start(&t, (1u << N) - 1, &eo);
	run_to_end(&t, R5_SYNC_CHECK, &st);
	cr_assert_eq(st.mismatch_sectors, 2 * SECTORS_PER_STRIPE,
		     "the check of the last, partial window found %llu sectors",
		     (unsigned long long)st.mismatch_sectors);
	cr_assert_eq(st.checkpoint, TOTAL, "checkpoint %llu at the end of %llu stripes",
		     (unsigned long long)st.checkpoint, (unsigned long long)TOTAL);
	run_to_end(&t, R5_SYNC_REPAIR, &st);
	cr_assert_eq(st.mismatch_sectors, 2 * SECTORS_PER_STRIPE);
	cr_assert_eq(st.checkpoint, TOTAL);
	r5t_stop(&t);
	cr_assert_eq(count_bad_stripes(&t, &first), 0);
	r5t_cleanup(&t);
}

/* ---------- checkpoints ---------- */

/* Polls the status until the checkpoint reaches `until` (or the action
 * ends), checking that it never goes back and always sits on a window
 * boundary or at the end. Returns the last checkpoint seen. */
static uint64_t
follow_checkpoint(struct r5_array *a, uint64_t from, uint64_t until)
{
	uint64_t last = from;

	for (int i = 0; i < 20000; i++) {
		struct r5_sync_status st;

		r5_sync_get_status(a->sync, &st);
		cr_assert_geq(st.checkpoint, last, "checkpoint went back from %llu to %llu",
			      (unsigned long long)last, (unsigned long long)st.checkpoint);
		cr_assert(st.checkpoint == TOTAL || (st.checkpoint - from) % WINDOW == 0,
			  "checkpoint %llu is not on a window boundary",
			  (unsigned long long)st.checkpoint);
		last = st.checkpoint;
		if (last >= until || st.action == R5_SYNC_IDLE)
			break;
		usleep(1000);
	}
	return last;
}

Test(sync, stopped_check_resumes_from_its_checkpoint, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_sync_status st;
	static const uint64_t low[] = { 0, 5, 40 }, high[] = { 1500, 1800, TOTAL - 1 };
	uint64_t cp;

	make_filled_array(&t);
	for (int i = 0; i < 3; i++) {
		corrupt_parity(&t, low[i]);
		corrupt_parity(&t, high[i]);
	}
	r5t_start(&t, (1u << N) - 1, &eo);
	/* 1 MiB/s: four windows a second, so the stop lands in the middle */
	r5_sync_set_speed(t.a->sync, 0, 1 * MB);
	cr_assert_eq(r5_sync_start(t.a->sync, R5_SYNC_CHECK, -1, 0), 0);
	follow_checkpoint(t.a, 0, 2 * WINDOW);
	r5_sync_stop(t.a->sync);
	r5_sync_get_status(t.a->sync, &st);
	cp = st.checkpoint;
	cr_assert_eq(st.action, R5_SYNC_IDLE);
	cr_assert_eq(st.last_result, -EINTR);
	cr_assert(cp >= 2 * WINDOW && cp < 1500 && cp % WINDOW == 0,
		  "stopped at checkpoint %llu", (unsigned long long)cp);

	/* resumed from cp: the bad stripes below it are not seen again */
	cr_assert_eq(r5_sync_start(t.a->sync, R5_SYNC_CHECK, -1, cp), 0);
	r5_sync_get_status(t.a->sync, &st);
	cr_assert_geq(st.done, cp * STRIP, "resumed run reports %llu bytes done",
		      (unsigned long long)st.done);
	follow_checkpoint(t.a, cp, TOTAL);
	wait_idle(t.a);
	r5_sync_get_status(t.a->sync, &st);
	cr_assert_eq(st.last_result, 0);
	cr_assert_eq(st.checkpoint, TOTAL);
	cr_assert_eq(st.mismatch_sectors, 3 * SECTORS_PER_STRIPE,
		     "resumed check found %llu sectors: it did not start at its checkpoint %llu",
		     (unsigned long long)st.mismatch_sectors, (unsigned long long)cp);
	r5t_stop(&t);
	r5t_cleanup(&t);
}

/* ---------- recovery ---------- */

/* Overwrites len bytes of a slot's data area (from `from`) with a marker
 * pattern, 0xa5 ^ (offset in the write), that parity would never give. */
static void
scribble_member(struct r5_test_array *t, int slot, uint64_t from, uint64_t len)
{
	struct r5_member m;
	uint8_t *buf = malloc(len);

	cr_assert_not_null(buf);
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(0xa5 ^ i);
	cr_assert_eq(r5_member_open_file(&m, t->path[slot], 0), 0);
	cr_assert_eq(r5_member_write(&m, buf, len, R5_DATA_OFFSET + from), 0);
	cr_assert_eq(r5_member_sync(&m), 0);
	r5_member_close(&m);
	free(buf);
}

Test(sync, recovery_rebuilds_the_new_member_bit_for_bit, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_sync_status st;
	char err[256] = "";
	uint8_t *good[N];
	uint64_t first;

	make_filled_array(&t);
	read_members(&t, good);
	scribble_member(&t, 2, 0, MSIZE);

	r5t_start(&t, 0xb, &eo); /* slot 2 left out */
	cr_assert_eq(r5_members_state(t.a->members, 2), R5_SLOT_MISSING);
	cr_assert_eq(r5_array_replace(t.a, 2, t.path[2], err, sizeof(err)), 0, "%s", err);
	wait_idle(t.a);
	r5_sync_get_status(t.a->sync, &st);
	cr_assert_eq(st.last_action, R5_SYNC_RECOVER);
	cr_assert_eq(st.last_result, 0);
	cr_assert_eq(st.checkpoint, TOTAL);
	cr_assert_eq(r5_members_state(t.a->members, 2), R5_SLOT_IN_SYNC);
	r5t_stop(&t);

	assert_members_equal(&t, good, "after recovery");
	cr_assert_eq(count_bad_stripes(&t, &first), 0);
	free_members(good);
	r5t_cleanup(&t);
}

Test(sync, recovery_resumes_from_its_checkpoint_not_from_zero, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_sync_status st;
	struct r5_superblock sb;
	char err[256] = "";
	uint8_t *good[N], *m[N];
	uint64_t cp1, cp2;

	make_filled_array(&t);
	read_members(&t, good);
	scribble_member(&t, 2, 0, MSIZE);
	r5t_start(&t, 0xb, &eo);
	r5_sync_set_speed(t.a->sync, 0, 1 * MB);
	cr_assert_eq(r5_array_replace(t.a, 2, t.path[2], err, sizeof(err)), 0, "%s", err);

	/* 1. stopped through the sync layer and started again from its status */
	follow_checkpoint(t.a, 0, 2 * WINDOW);
	r5_sync_stop(t.a->sync);
	r5_sync_get_status(t.a->sync, &st);
	cp1 = st.checkpoint;
	cr_assert_eq(st.last_result, -EINTR);
	cr_assert(cp1 >= 2 * WINDOW && cp1 < TOTAL - 4 * WINDOW, "stopped at %llu",
		  (unsigned long long)cp1);
	cr_assert(r5_members_superblock(t.a->members, 2, &sb));
	cr_assert_eq(sb.recovery_offset, cp1 * STRIP, "the stop stored checkpoint %llu, status says %llu",
		     (unsigned long long)sb.recovery_offset, (unsigned long long)(cp1 * STRIP));
	/* a marker below the checkpoint: a run that starts again at zero
	 * would rebuild (overwrite) it */
	scribble_member(&t, 2, 0, STRIP);
	cr_assert_eq(r5_sync_start(t.a->sync, R5_SYNC_RECOVER, 2, cp1), 0);
	follow_checkpoint(t.a, cp1, cp1 + 2 * WINDOW);

	/* 2. the array stopped in the middle; assembly resumes where the
	 * superblock says */
	r5t_stop(&t);
	cr_assert_eq(r5_array_assemble(t.paths, N, &eo, &t.a, err, sizeof(err)), 0, "%s", err);
	cr_assert(r5_members_superblock(t.a->members, 2, &sb));
	cr_assert_eq(r5_members_state(t.a->members, 2), R5_SLOT_REBUILDING);
	cp2 = sb.recovery_offset / STRIP;
	cr_assert(cp2 >= cp1 + 2 * WINDOW && cp2 < TOTAL, "array stopped at %llu (first stop %llu)",
		  (unsigned long long)cp2, (unsigned long long)cp1);
	scribble_member(&t, 2, (cp2 - 1) * STRIP, STRIP); /* a marker just below it */
	cr_assert_eq(r5_array_start(t.a), 0);
	r5_sync_get_status(t.a->sync, &st);
	cr_assert_geq(st.checkpoint, cp2, "the resumed recovery starts at %llu, below %llu",
		      (unsigned long long)st.checkpoint, (unsigned long long)cp2);
	follow_checkpoint(t.a, cp2, TOTAL);
	wait_idle(t.a);
	r5_sync_get_status(t.a->sync, &st);
	cr_assert_eq(st.last_action, R5_SYNC_RECOVER);
	cr_assert_eq(st.last_result, 0);
	cr_assert_eq(r5_members_state(t.a->members, 2), R5_SLOT_IN_SYNC);
	r5t_stop(&t);

	/* everything equal to the truth but the two markers, which no run
	 * walked again */
	read_members(&t, m);
	for (uint64_t b = 0; b < MSIZE; b++) {
		bool marker = b < STRIP || (b >= (cp2 - 1) * STRIP && b < cp2 * STRIP);
		uint8_t want = marker ? (uint8_t)(0xa5 ^ (b % STRIP)) : good[2][b];

		if (m[2][b] != want)
			cr_assert_fail("member 2 byte %llu (stripe %llu) is %#x, expected %#x%s",
				       (unsigned long long)b, (unsigned long long)(b / STRIP), m[2][b],
				       want, marker ? " (marker: rebuilt again below a checkpoint)" : "");
	}
	for (int i = 0; i < N; i++)
		if (i != 2)
			cr_assert_arr_eq(m[i], good[i], MSIZE, "member %d changed", i);
	free_members(m);
	free_members(good);
	r5t_cleanup(&t);
}

/* ---------- recovery while the user writes ---------- */

struct writer {
	struct r5_array *a;
	uint8_t *shadow;     /* the image as written */
	uint64_t lo, hi;     /* this writer's part of the image */
	uint64_t seed;
	atomic_bool *stop;
	unsigned writes;
	bool follow;         /* writes where the rebuild is, anywhere in the image */
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	uint8_t buf[64 * KB];

	while (!atomic_load(w->stop)) {
		size_t len = (1 + r5t_rand(&w->seed) % 16) * 4 * KB;
		uint64_t off = w->lo + r5t_rand(&w->seed) % ((w->hi - w->lo - len) / 512) * 512;

		if (w->follow) {
			/* at the rebuild's front: the rows of its window and the next */
			struct r5_sync_status st;
			const uint64_t row_bytes = (N - 1) * CHUNK;
			uint64_t row;

			r5_sync_get_status(w->a->sync, &st);
			row = st.checkpoint * STRIP / CHUNK + r5t_rand(&w->seed) % 4;
			off = row * row_bytes + r5t_rand(&w->seed) % ((row_bytes - len) / 512) * 512;
			if (off + len > w->hi) {
				usleep(1000);
				continue;
			}
		}

		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)r5t_rand(&w->seed);
		cr_assert_eq(r5_array_write(w->a, buf, len, off), (ssize_t)len);
		memcpy(w->shadow + off, buf, len);
		w->writes++;
	}
	return NULL;
}

/* Writes land everywhere while the new member is rebuilt, window by
 * window, straight from the members (sync_direct.c) or through the
 * engine: every write must reach the new member or be rebuilt into it.
 * Without the gate that keeps writes out of a window being rebuilt, the
 * new member misses some (parity no longer matches: count_bad_stripes). */
Test(sync, recovery_under_writes_leaves_every_stripe_right, .timeout = 120)
{
	struct r5_test_array t;
	struct writer w[2];
	pthread_t th[2];
	atomic_bool stop = false;
	char err[256] = "";
	uint64_t first, size, seed = r5t_seed();
	uint8_t *shadow, *back;

	make_filled_array(&t);
	scribble_member(&t, 2, 0, MSIZE);
	r5t_start(&t, 0xb, &eo); /* slot 2 left out */
	size = r5_array_size(t.a);
	shadow = malloc(size);
	back = malloc(size);
	cr_assert(shadow && back);
	cr_assert_eq(r5_array_read(t.a, shadow, size, 0), (ssize_t)size);
	/* 3 to 4 MB/s whatever the writers do: 2-3 s, many windows under writes */
	r5_sync_set_speed(t.a->sync, 3 * MB, 4 * MB);
	for (int i = 0; i < 2; i++) {
		/* one writes anywhere in the second half, one where the
		 * rebuild is while it is in the first half */
		w[i] = (struct writer){ t.a, shadow, i ? 0 : size / 2, i ? size / 2 : size,
					seed + (uint64_t)i, &stop, 0, i == 1 };
		cr_assert_eq(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	cr_assert_eq(r5_array_replace(t.a, 2, t.path[2], err, sizeof(err)), 0, "%s", err);
	wait_idle(t.a);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(r5_members_state(t.a->members, 2), R5_SLOT_IN_SYNC);
	cr_assert_gt(w[0].writes + w[1].writes, 100, "too few writes during the recovery");
	r5t_stop(&t);
	cr_assert_eq(count_bad_stripes(&t, &first), 0, "stripe %llu (and maybe more) wrong",
		     (unsigned long long)first);
	/* and the image, from the members with slot 0 left out: the new one counts */
	r5t_start(&t, 0xe, &eo);
	cr_assert_eq(r5_array_read(t.a, back, size, 0), (ssize_t)size);
	cr_assert_arr_eq(back, shadow, size, "the image differs from what was written");
	r5t_stop(&t);
	free(shadow);
	free(back);
	r5t_cleanup(&t);
}
