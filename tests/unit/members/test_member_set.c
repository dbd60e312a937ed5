/* test_member_set.c - the member set (core/members/member_set.c): failing
 * a slot is recorded once in the survivors' superblocks (events + 1) even
 * when it is failed again or from several threads at once; an I/O error
 * fails that slot only; r5_members_sync reaches the in-sync and rebuilding
 * members and no failed one; adding a rebuilding member; the per-slot
 * accounting. Members are files in a private directory, under the test
 * backends (tests/backends/) where a test needs to see or break their I/O. */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "member_faulty.h"
#include "member_recorder.h"
#include "member_set.h"
#include "raid5fs/superblock.h"

#define NR 4u
#define START_EVENTS 5u
#define DATA_SIZE (1024u * 1024)

static const uint8_t array_uuid[16] = { 0x3e, 0x77, 0x5e, 0x70 };
static char dir[64];
static char path[NR + 1][128]; /* path[NR]: a replacement */
static struct r5_members *ms;
static struct r5_recorder rec;

static void
new_member(struct r5_member *m, uint32_t slot, const char *file)
{
	struct r5_geometry g = { .nr_members = NR, .chunk_size = 64 * 1024,
				 .layout = R5_LAYOUT_LEFT_SYMMETRIC, .member_data_size = DATA_SIZE };
	struct r5_superblock sb;

	cr_assert_eq(r5_member_open_file(m, file, 1), 0, "%s", file);
	r5_sb_init(&sb, array_uuid, &g, slot);
	sb.events = START_EVENTS;
	cr_assert_eq(r5_sb_store(m, &sb), 0);
	cr_assert_eq(r5_member_wrap_recorder(m, &rec, slot), 0);
}

/* NR in-sync members, each under a recorder whose id is its slot. */
static void
set_up(void)
{
	snprintf(dir, sizeof(dir), "/tmp/r5ms.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	r5_recorder_init(&rec);
	cr_assert_eq(r5_members_create(NR, R5_DATA_OFFSET, START_EVENTS, R5_STATE_CLEAN, &ms), 0);
	for (uint32_t s = 0; s <= NR; s++)
		snprintf(path[s], sizeof(path[s]), "%s/m%u", dir, s);
	for (uint32_t s = 0; s < NR; s++) {
		struct r5_member m;
		struct r5_superblock sb;

		new_member(&m, s, path[s]);
		cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
		r5_members_attach(ms, s, &m, &sb, R5_SLOT_IN_SYNC);
	}
	rec.n = 0;
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void
tear_down(void)
{
	r5_members_destroy(ms);
	ms = NULL;
	r5_recorder_destroy(&rec);
	if (dir[0])
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(member_set, .init = set_up, .fini = tear_down, .timeout = 30);

static void
load_file_sb(const char *file, struct r5_superblock *sb)
{
	struct r5_member m;

	cr_assert_eq(r5_member_open_file(&m, file, 0), 0, "%s", file);
	cr_assert_eq(r5_sb_load(&m, sb), R5_SB_OK, "%s", file);
	r5_member_close(&m);
}

/* Recorded entries of one member since the log was last cleared. */
static int
count_entries(uint32_t member, enum r5_rec_kind kind, bool superblock_only)
{
	int n = 0;

	for (size_t i = 0; i < rec.n; i++) {
		const struct r5_rec_entry *e = &rec.log[i];

		if (e->member != member || e->kind != (uint32_t)kind)
			continue;
		if (superblock_only && e->off != R5_SB_COPY_OFFSET(0) && e->off != R5_SB_COPY_OFFSET(1))
			continue;
		n++;
	}
	return n;
}

/* Every present member's superblock, on disk, carries these events and
 * this role for slot of_slot. */
static void
expect_survivors_record(uint64_t events, uint32_t of_slot, uint8_t role)
{
	for (uint32_t s = 0; s < NR; s++) {
		struct r5_superblock sb;

		if (!r5_members_present(ms, s))
			continue;
		load_file_sb(r5_members_member(ms, s)->path, &sb);
		cr_assert_eq(sb.events, events, "slot %u: events %llu on disk, expected %llu", s,
			     (unsigned long long)sb.events, (unsigned long long)events);
		cr_assert_eq(sb.roles[of_slot], role, "slot %u records role %u for slot %u", s,
			     sb.roles[of_slot], of_slot);
	}
}

/* ---- failing a slot ---- */

Test(member_set, fail_is_recorded_by_the_survivors)
{
	struct r5_slot_info si;
	struct r5_superblock sb;

	r5_members_fail(ms, 1, "test reason %d", 42);
	cr_assert_eq(r5_members_state(ms, 1), R5_SLOT_FAULTY);
	cr_assert_not(r5_members_present(ms, 1));
	cr_assert_eq(r5_members_nr_failed(ms), 1);
	cr_assert_not(r5_members_failed(ms), "one member lost: degraded, not failed");
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 1);
	expect_survivors_record(START_EVENTS + 1, 1, R5_ROLE_FAULTY);
	for (uint32_t s = 0; s < NR; s++) {
		cr_assert_eq(count_entries(s, R5_REC_WRITE, true), s == 1 ? 0 : 1, "slot %u", s);
		cr_assert_geq(count_entries(s, R5_REC_SYNC, false), s == 1 ? 0 : 1, "slot %u", s);
	}
	/* the failed member's own superblock is left as it was */
	load_file_sb(path[1], &sb);
	cr_assert_eq(sb.events, START_EVENTS);
	cr_assert_eq(sb.roles[1], R5_ROLE_IN_SYNC);
	cr_assert_not(r5_members_superblock(ms, 1, &sb));
	r5_members_slot_info(ms, 1, &si);
	cr_assert_eq(si.state, R5_SLOT_FAULTY);
	cr_assert_str_eq(si.reason, "test reason 42");
}

Test(member_set, fail_twice_is_recorded_once)
{
	struct r5_slot_info si;

	r5_members_fail(ms, 2, "first");
	rec.n = 0;
	r5_members_fail(ms, 2, "second");
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 1);
	cr_assert_eq(r5_members_nr_failed(ms), 1);
	cr_assert_eq(rec.n, 0, "failing a failed slot wrote %zu times", rec.n);
	r5_members_slot_info(ms, 2, &si);
	cr_assert_str_eq(si.reason, "first");
	expect_survivors_record(START_EVENTS + 1, 2, R5_ROLE_FAULTY);
}

#define FAILERS 8

struct failer {
	pthread_barrier_t *go;
	uint32_t slot;
};

static void *
fail_slot_thread(void *arg)
{
	struct failer *f = arg;

	pthread_barrier_wait(f->go);
	r5_members_fail(ms, f->slot, "failed by a thread");
	return NULL;
}

Test(member_set, concurrent_fails_are_recorded_once)
{
	pthread_barrier_t go;
	pthread_t th[FAILERS];
	struct failer f = { .go = &go, .slot = 3 };

	cr_assert_eq(pthread_barrier_init(&go, NULL, FAILERS), 0);
	for (int i = 0; i < FAILERS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, fail_slot_thread, &f), 0);
	for (int i = 0; i < FAILERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	cr_assert_eq(r5_members_state(ms, 3), R5_SLOT_FAULTY);
	cr_assert_eq(r5_members_nr_failed(ms), 1);
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 1);
	for (uint32_t s = 0; s < 3; s++)
		cr_assert_eq(count_entries(s, R5_REC_WRITE, true), 1, "slot %u: %d superblock writes",
			     s, count_entries(s, R5_REC_WRITE, true));
	expect_survivors_record(START_EVENTS + 1, 3, R5_ROLE_FAULTY);
}

Test(member_set, second_slot_lost_fails_the_array)
{
	r5_members_fail(ms, 0, "one");
	r5_members_fail(ms, 3, "two");
	cr_assert_eq(r5_members_nr_failed(ms), 2);
	cr_assert(r5_members_failed(ms));
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 2);
	expect_survivors_record(START_EVENTS + 2, 0, R5_ROLE_FAULTY);
	expect_survivors_record(START_EVENTS + 2, 3, R5_ROLE_FAULTY);
}

Test(member_set, fail_of_a_missing_slot_changes_nothing)
{
	struct r5_members *three;

	cr_assert_eq(r5_members_create(3, R5_DATA_OFFSET, 9, R5_STATE_CLEAN, &three), 0);
	cr_assert_eq(r5_members_nr_failed(three), 3, "every slot starts missing");
	r5_members_fail(three, 1, "nothing there");
	cr_assert_eq(r5_members_state(three, 1), R5_SLOT_MISSING);
	cr_assert_eq(r5_members_events(three), 9);
	cr_assert_eq(r5_members_nr_failed(three), 3);
	r5_members_destroy(three);
}

/* ---- I/O errors ---- */

static void
make_faulty(uint32_t slot, uint32_t ops)
{
	struct r5_fault_spec spec = { .ops = ops, .error = EIO, .rate_ppm = 1000000 };

	cr_assert_eq(r5_member_wrap_faulty(r5_members_member(ms, slot), &spec), 0);
}

Test(member_set, sync_error_fails_that_slot_only)
{
	struct r5_slot_info si;

	make_faulty(1, R5_FAULT_SYNC);
	cr_assert_eq(r5_members_sync(ms), 0, "one member lost is not an array failure");
	for (uint32_t s = 0; s < NR; s++)
		cr_assert_eq(r5_members_state(ms, s), s == 1 ? R5_SLOT_FAULTY : R5_SLOT_IN_SYNC,
			     "slot %u", s);
	r5_members_slot_info(ms, 1, &si);
	cr_assert_str_eq(si.reason, "fdatasync failed: Input/output error");
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 1);
	expect_survivors_record(START_EVENTS + 1, 1, R5_ROLE_FAULTY);
}

Test(member_set, sync_errors_on_two_slots_fail_the_array)
{
	make_faulty(0, R5_FAULT_SYNC);
	make_faulty(2, R5_FAULT_SYNC);
	cr_assert_eq(r5_members_sync(ms), -EIO);
	cr_assert(r5_members_failed(ms));
	cr_assert(r5_members_ok(ms, 1));
	cr_assert(r5_members_ok(ms, 3));
}

/* A superblock that cannot be written fails its member; the others record
 * that too (a second event). */
Test(member_set, superblock_write_error_fails_that_slot_only)
{
	struct r5_slot_info si;
	uint64_t off = R5_STATE_CLEAN;

	make_faulty(2, R5_FAULT_WRITE);
	cr_assert_eq(r5_members_set_array_state(ms, R5_STATE_ACTIVE, &off), 0);
	for (uint32_t s = 0; s < NR; s++)
		cr_assert_eq(r5_members_state(ms, s), s == 2 ? R5_SLOT_FAULTY : R5_SLOT_IN_SYNC,
			     "slot %u", s);
	r5_members_slot_info(ms, 2, &si);
	cr_assert_str_eq(si.reason, "superblock write failed: Input/output error");
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 2);
	expect_survivors_record(START_EVENTS + 2, 2, R5_ROLE_FAULTY);
	for (uint32_t s = 0; s < NR; s++) {
		struct r5_superblock sb;

		if (s == 2)
			continue;
		load_file_sb(path[s], &sb);
		cr_assert_eq(sb.state, R5_STATE_ACTIVE);
	}
}

/* Data I/O errors are counted and returned; failing the slot is the
 * caller's decision (the stripe engine's), so the slot stays in sync. */
Test(member_set, data_io_error_is_counted_and_returned)
{
	struct r5_slot_info si;
	uint8_t buf[4096] = { 0 };

	make_faulty(3, R5_FAULT_WRITE | R5_FAULT_READ);
	cr_assert_eq(r5_members_write(ms, 3, buf, sizeof(buf), 0), -EIO);
	cr_assert_eq(r5_members_read(ms, 3, buf, sizeof(buf), 0), -EIO);
	cr_assert_eq(r5_members_write(ms, 2, buf, sizeof(buf), 0), 0);
	r5_members_slot_info(ms, 3, &si);
	cr_assert_eq(si.writes, 1);
	cr_assert_eq(si.write_errors, 1);
	cr_assert_eq(si.write_bytes, 0);
	cr_assert_eq(si.reads, 1);
	cr_assert_eq(si.read_errors, 1);
	cr_assert_eq(si.read_bytes, 0);
	cr_assert_eq(r5_members_state(ms, 3), R5_SLOT_IN_SYNC);
	cr_assert_eq(r5_members_events(ms), START_EVENTS);
	r5_members_slot_info(ms, 2, &si);
	cr_assert_eq(si.write_errors, 0);
}

/* The bitmap's writer: an error on one member is not the array's. */
Test(member_set, write_meta_error_on_one_member)
{
	uint8_t page[4096];

	memset(page, 0xb1, sizeof(page));
	make_faulty(0, R5_FAULT_WRITE);
	cr_assert_eq(r5_members_write_meta(ms, R5_BITMAP_OFFSET, page, sizeof(page)), 0);
	for (uint32_t s = 1; s < NR; s++) {
		cr_assert_eq(count_entries(s, R5_REC_WRITE, false), 1, "slot %u", s);
		cr_assert_eq(count_entries(s, R5_REC_SYNC, false), 1, "slot %u", s);
	}
	make_faulty(1, R5_FAULT_WRITE);
	r5_members_fail(ms, 2, "gone");
	cr_assert_eq(r5_members_write_meta(ms, R5_BITMAP_OFFSET, page, sizeof(page)), 0,
		     "write_meta fails only once the array has failed");
}

/* ---- r5_members_sync ---- */

Test(member_set, sync_reaches_in_sync_and_rebuilding_not_failed)
{
	struct r5_member m;
	char err[256];

	r5_members_fail(ms, 3, "lost");
	r5_members_fail(ms, 2, "lost too");
	cr_assert(r5_members_failed(ms));
	/* slot 2 comes back as rebuilding (the array is only degraded again) */
	new_member(&m, NR, path[NR]);
	cr_assert_eq(r5_members_add_rebuilding(ms, 2, &m, NULL, NULL, err, sizeof(err)), 0, "%s",
		     err);
	rec.n = 0;
	cr_assert_eq(r5_members_sync(ms), -EIO, "two slots not in sync");
	cr_assert_eq(count_entries(0, R5_REC_SYNC, false), 1);
	cr_assert_eq(count_entries(1, R5_REC_SYNC, false), 1);
	cr_assert_eq(count_entries(NR, R5_REC_SYNC, false), 1, "the rebuilding member was not synced");
	cr_assert_eq(count_entries(3, R5_REC_SYNC, false), 0, "the failed member was synced");
	cr_assert_eq(count_entries(2, R5_REC_SYNC, false), 0, "the retired member was synced");
	cr_assert_eq(rec.n, 3);
}

Test(member_set, sync_on_a_healthy_set)
{
	cr_assert_eq(r5_members_sync(ms), 0);
	for (uint32_t s = 0; s < NR; s++)
		cr_assert_eq(count_entries(s, R5_REC_SYNC, false), 1, "slot %u", s);
	cr_assert_eq(rec.n, NR, "a sync writes nothing");
	cr_assert_eq(r5_members_events(ms), START_EVENTS);
}

/* ---- adding a rebuilding member ---- */

struct prepare_seen {
	int calls;
	struct r5_superblock sb;      /* as given to prepare */
	struct r5_superblock on_disk; /* the new member's, when prepare ran */
	struct r5_superblock survivor; /* slot 0's on disk, when prepare ran */
};

static int
prepare_record(void *ctx, struct r5_member *m, const struct r5_superblock *sb)
{
	struct prepare_seen *seen = ctx;

	seen->calls++;
	seen->sb = *sb;
	cr_assert_eq(r5_sb_load(m, &seen->on_disk), R5_SB_OK);
	load_file_sb(path[0], &seen->survivor);
	return 0;
}

static int
prepare_fails(void *ctx, struct r5_member *m, const struct r5_superblock *sb)
{
	(void)ctx, (void)m, (void)sb;
	return -ENOSPC;
}

Test(member_set, add_rebuilding_into_a_failed_slot)
{
	struct prepare_seen seen = { 0 };
	struct r5_superblock sb, survivor;
	struct r5_member m;
	char err[256] = "";

	r5_members_fail(ms, 1, "lost");
	load_file_sb(path[0], &survivor);
	new_member(&m, 7, path[NR]);
	cr_assert_eq(r5_members_add_rebuilding(ms, 1, &m, prepare_record, &seen, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_eq(r5_members_state(ms, 1), R5_SLOT_REBUILDING);
	cr_assert(r5_members_present(ms, 1));
	cr_assert_not(r5_members_ok(ms, 1));
	cr_assert_eq(r5_members_nr_failed(ms), 1, "a rebuilding member still counts as failed");
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 2);
	cr_assert_str_eq(r5_members_member(ms, 1)->path, path[NR]);

	/* prepare ran once, after both copies of the new superblock and
	 * before the survivors recorded the new role */
	cr_assert_eq(seen.calls, 1);
	cr_assert_eq(seen.sb.role, 1);
	cr_assert_eq(seen.sb.recovery_offset, 0);
	cr_assert_eq(seen.on_disk.generation, 2, "both copies written before prepare");
	cr_assert_eq(seen.survivor.roles[1], R5_ROLE_FAULTY);

	load_file_sb(path[NR], &sb);
	cr_assert_eq(sb.role, 1);
	cr_assert_eq(sb.recovery_offset, 0);
	cr_assert_eq(sb.events, START_EVENTS + 2);
	cr_assert_eq(sb.roles[1], R5_ROLE_REBUILDING);
	cr_assert_eq(memcmp(sb.array_uuid, array_uuid, 16), 0);
	cr_assert_neq(memcmp(sb.member_uuid, survivor.member_uuid, 16), 0, "a new member uuid");
	expect_survivors_record(START_EVENTS + 2, 1, R5_ROLE_REBUILDING);

	/* recovery done */
	r5_members_rebuilt(ms, 1);
	cr_assert_eq(r5_members_state(ms, 1), R5_SLOT_IN_SYNC);
	cr_assert_eq(r5_members_nr_failed(ms), 0);
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 3);
	expect_survivors_record(START_EVENTS + 3, 1, R5_ROLE_IN_SYNC);
	load_file_sb(path[NR], &sb);
	cr_assert_eq(sb.recovery_offset, R5_OFFSET_DONE);
}

Test(member_set, add_rebuilding_into_a_missing_slot)
{
	struct r5_members *three;
	struct r5_member m;
	struct r5_superblock sb;
	char err[256] = "", file[160];

	cr_assert_eq(r5_members_create(3, R5_DATA_OFFSET, START_EVENTS, R5_STATE_CLEAN, &three), 0);
	for (uint32_t s = 0; s < 2; s++) {
		snprintf(file, sizeof(file), "%s/three%u", dir, s);
		new_member(&m, s, file);
		cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
		r5_members_attach(three, s, &m, &sb, R5_SLOT_IN_SYNC);
	}
	r5_members_set_missing(three, 2, "", "slot 2 (not given)");
	new_member(&m, 2, path[NR]);
	cr_assert_eq(r5_members_add_rebuilding(three, 2, &m, NULL, NULL, err, sizeof(err)), 0, "%s",
		     err);
	cr_assert_eq(r5_members_state(three, 2), R5_SLOT_REBUILDING);
	cr_assert_eq(r5_members_nr_failed(three), 1);
	r5_members_destroy(three);
}

Test(member_set, add_rebuilding_refused_for_a_present_slot)
{
	struct r5_member m;
	char err[256] = "";

	new_member(&m, 2, path[NR]);
	cr_assert_eq(r5_members_add_rebuilding(ms, 2, &m, NULL, NULL, err, sizeof(err)), -EBUSY);
	cr_assert_str_eq(err, "slot 2 cannot take a new member now");
	cr_assert_null(m.ops, "the refused member is closed");
	cr_assert_eq(r5_members_state(ms, 2), R5_SLOT_IN_SYNC);
	cr_assert_eq(r5_members_events(ms), START_EVENTS);
	cr_assert_str_eq(r5_members_member(ms, 2)->path, path[2]);
}

Test(member_set, add_rebuilding_when_prepare_fails)
{
	struct r5_member m;
	char err[256] = "", want[512];

	r5_members_fail(ms, 0, "lost");
	new_member(&m, 0, path[NR]);
	cr_assert_eq(r5_members_add_rebuilding(ms, 0, &m, prepare_fails, NULL, err, sizeof(err)),
		     -ENOSPC);
	snprintf(want, sizeof(want), "%s: cannot write its metadata: %s", path[NR], strerror(ENOSPC));
	cr_assert_str_eq(err, want);
	cr_assert_eq(r5_members_state(ms, 0), R5_SLOT_FAULTY, "nothing changed");
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 1);
	cr_assert_str_eq(r5_members_member(ms, 0)->path, path[0], "the old member is back");
	expect_survivors_record(START_EVENTS + 1, 0, R5_ROLE_FAULTY);
}

/* A rebuilding member that fails goes to FAULTY without being counted
 * twice. */
Test(member_set, fail_a_rebuilding_slot)
{
	struct r5_member m;
	char err[256] = "";

	r5_members_fail(ms, 3, "lost");
	new_member(&m, 3, path[NR]);
	cr_assert_eq(r5_members_add_rebuilding(ms, 3, &m, NULL, NULL, err, sizeof(err)), 0, "%s",
		     err);
	r5_members_fail(ms, 3, "the replacement failed too");
	cr_assert_eq(r5_members_state(ms, 3), R5_SLOT_FAULTY);
	cr_assert_eq(r5_members_nr_failed(ms), 1);
	cr_assert_not(r5_members_failed(ms));
	cr_assert_eq(r5_members_events(ms), START_EVENTS + 3);
	expect_survivors_record(START_EVENTS + 3, 3, R5_ROLE_FAULTY);
}

/* ---- accounting ---- */

Test(member_set, io_is_counted_per_slot)
{
	uint8_t a[4096], b[8192], c[512];
	struct iovec iov[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct r5_slot_info si;

	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	memset(c, 3, sizeof(c));
	cr_assert_eq(r5_members_write(ms, 1, a, sizeof(a), 0), 0);
	cr_assert_eq(r5_members_writev(ms, 1, iov, 3, 65536), 0);
	iov[0] = (struct iovec){ a, sizeof(a) };
	iov[1] = (struct iovec){ b, sizeof(b) };
	iov[2] = (struct iovec){ c, sizeof(c) };
	cr_assert_eq(r5_members_readv(ms, 1, iov, 3, 65536), 0);
	cr_assert_eq(r5_members_read(ms, 1, b, 100, 7), 0);

	r5_members_slot_info(ms, 1, &si);
	cr_assert_eq(si.writes, 2);
	cr_assert_eq(si.write_bytes, sizeof(a) + sizeof(a) + sizeof(b) + sizeof(c));
	cr_assert_eq(si.reads, 2);
	cr_assert_eq(si.read_bytes, sizeof(a) + sizeof(b) + sizeof(c) + 100);
	cr_assert_eq(si.read_errors + si.write_errors, 0);
	cr_assert_str_eq(si.path, path[1]);
	cr_assert_str_eq(si.reason, "");
	for (uint32_t s = 0; s < NR; s++) {
		if (s == 1)
			continue;
		r5_members_slot_info(ms, s, &si);
		cr_assert_eq(si.reads + si.writes + si.read_bytes + si.write_bytes, 0, "slot %u", s);
	}
	/* offsets are inside the data area */
	cr_assert_eq(rec.log[0].off, R5_DATA_OFFSET);
	cr_assert_eq(rec.log[1].off, R5_DATA_OFFSET + 65536);
}

/* A read from the page cache counts; one that would have to wait does not. */
Test(member_set, cached_reads_are_counted_when_served)
{
	uint8_t buf[4096];
	struct iovec iov = { buf, sizeof(buf) };
	struct r5_slot_info si;
	int ret;

	memset(buf, 9, sizeof(buf));
	cr_assert_eq(r5_members_write(ms, 0, buf, sizeof(buf), 0), 0);
	ret = r5_members_readv_cached(ms, 0, &iov, 1, 0);
	cr_assert(ret == 0 || ret == -EAGAIN, "%d", ret);
	r5_members_slot_info(ms, 0, &si);
	cr_assert_eq(si.reads, ret == 0 ? 1 : 0);
	cr_assert_eq(si.read_bytes, ret == 0 ? sizeof(buf) : 0);
}

Test(member_set, queries)
{
	struct r5_superblock sb;

	cr_assert_eq(r5_members_count(ms), NR);
	cr_assert_eq(r5_members_data_offset(ms), R5_DATA_OFFSET);
	cr_assert_eq(r5_members_array_state(ms), R5_STATE_CLEAN);
	cr_assert(r5_members_superblock(ms, 2, &sb));
	cr_assert_eq(sb.role, 2);
	cr_assert_eq(r5_members_nr_failed(ms), 0);
}

/* Checkpoints are stored without a new event. */
Test(member_set, checkpoints_do_not_bump_events)
{
	struct r5_superblock sb;

	r5_members_set_resync_offset(ms, 3 * 65536);
	cr_assert_eq(r5_members_events(ms), START_EVENTS);
	for (uint32_t s = 0; s < NR; s++) {
		load_file_sb(path[s], &sb);
		cr_assert_eq(sb.resync_offset, 3 * 65536);
		cr_assert_eq(sb.events, START_EVENTS);
	}
}
