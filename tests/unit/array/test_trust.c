/* test_trust.c - which members assembly trusts (core/array/trust.c,
 * r5_assemble_trust) and what r5_array_assemble (core/array/assemble.c)
 * makes of it: members kicked as stale or marked faulty, a member
 * resuming its rebuild, and the refusals (another array's member, a slot
 * claimed twice, two members missing, dirty and degraded without force)
 * with their error texts. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "r5_test_array.h"
#include "raid5fs/superblock.h"
#include "raid5fs/util.h"

#define MB (1024ull * 1024)

/* ---- r5_assemble_trust on superblocks in memory ---- */

static const uint8_t array_uuid[16] = { 0x7a, 0x55, 0x01 };
static struct r5_superblock msb[R5_MAX_MEMBERS]; /* the members' superblocks */
static const struct r5_superblock *sbs[R5_MAX_MEMBERS]; /* as given to r5_assemble_trust */

/* n in-sync members of one array, events as given. */
static void
make_members(uint32_t n, const uint64_t *events)
{
	struct r5_geometry g = { .nr_members = n, .chunk_size = 64 * 1024,
				 .layout = R5_LAYOUT_LEFT_SYMMETRIC, .member_data_size = 16 * MB };

	for (uint32_t s = 0; s < n; s++) {
		r5_sb_init(&msb[s], array_uuid, &g, s);
		msb[s].events = events[s];
		sbs[s] = &msb[s];
	}
}

/* r5_assemble_trust names newest as the truth and trusts as in want. */
static void
expect_trust(uint32_t n, int newest, const enum r5_trust *want)
{
	enum r5_trust got[R5_MAX_MEMBERS];

	cr_assert_eq(r5_assemble_trust(sbs, n, got), newest);
	for (uint32_t s = 0; s < n; s++)
		cr_assert_eq(got[s], want[s], "slot %u: %s, expected %s", s, r5_trust_name(got[s]),
			     r5_trust_name(want[s]));
}

Test(trust, all_in_sync_and_the_lowest_slot_wins_a_tie)
{
	enum r5_trust out[4];
	const enum r5_trust want[4] = { R5_TRUST_IN_SYNC, R5_TRUST_IN_SYNC, R5_TRUST_IN_SYNC,
					R5_TRUST_IN_SYNC };

	make_members(4, (const uint64_t[]){ 9, 9, 9, 9 });
	expect_trust(4, 0, want);
	sbs[0] = NULL;
	cr_assert_eq(r5_assemble_trust(sbs, 4, out), 1);
}

Test(trust, most_events_is_the_truth)
{
	enum r5_trust out[4];

	make_members(4, (const uint64_t[]){ 9, 9, 10, 9 });
	cr_assert_eq(r5_assemble_trust(sbs, 4, out), 2);
}

/* One event behind: a crash between the superblock writes of one event. */
Test(trust, one_event_behind_is_trusted)
{
	const enum r5_trust want[3] = { R5_TRUST_IN_SYNC, R5_TRUST_IN_SYNC, R5_TRUST_IN_SYNC };

	make_members(3, (const uint64_t[]){ 41, 42, 42 });
	expect_trust(3, 1, want);
}

Test(trust, two_events_behind_is_stale)
{
	const enum r5_trust want[3] = { R5_TRUST_IN_SYNC, R5_TRUST_STALE, R5_TRUST_IN_SYNC };

	make_members(3, (const uint64_t[]){ 42, 40, 41 });
	expect_trust(3, 0, want);
	/* far behind is stale as well, whatever its own superblock claims */
	msb[1].events = 1;
	expect_trust(3, 0, want);
}

Test(trust, missing_members_are_not_given)
{
	const enum r5_trust want[4] = { R5_TRUST_NOT_GIVEN, R5_TRUST_IN_SYNC, R5_TRUST_NOT_GIVEN,
					R5_TRUST_IN_SYNC };

	make_members(4, (const uint64_t[]){ 5, 5, 5, 5 });
	sbs[0] = sbs[2] = NULL;
	expect_trust(4, 1, want);
}

Test(trust, nothing_given)
{
	enum r5_trust out[3];

	cr_assert_eq(r5_assemble_trust(sbs, 3, out), -1); /* sbs: all NULL */
}

/* The newest superblock's role table decides: a member it calls faulty is
 * not used even if its own superblock is recent and says in sync. */
Test(trust, marked_faulty_by_the_newest)
{
	const enum r5_trust want[3] = { R5_TRUST_IN_SYNC, R5_TRUST_FAULTY, R5_TRUST_IN_SYNC };

	make_members(3, (const uint64_t[]){ 8, 7, 8 });
	msb[0].roles[1] = msb[2].roles[1] = R5_ROLE_FAULTY;
	expect_trust(3, 0, want);
	/* a spare or empty role is not in sync either */
	msb[0].roles[1] = R5_ROLE_SPARE;
	expect_trust(3, 0, want);
	msb[0].roles[1] = R5_ROLE_EMPTY;
	expect_trust(3, 0, want);
}

/* Only the newest superblock's roles count, not an older member's. */
Test(trust, an_older_role_table_does_not_count)
{
	const enum r5_trust want[3] = { R5_TRUST_IN_SYNC, R5_TRUST_IN_SYNC, R5_TRUST_IN_SYNC };

	make_members(3, (const uint64_t[]){ 7, 8, 8 });
	msb[0].roles[2] = R5_ROLE_FAULTY; /* slot 0 is one behind: not the truth */
	expect_trust(3, 1, want);
}

Test(trust, rebuilding_with_a_checkpoint_resumes)
{
	const enum r5_trust want[3] = { R5_TRUST_IN_SYNC, R5_TRUST_IN_SYNC, R5_TRUST_REBUILDING };

	make_members(3, (const uint64_t[]){ 12, 12, 12 });
	for (int s = 0; s < 3; s++)
		msb[s].roles[2] = R5_ROLE_REBUILDING;
	msb[2].recovery_offset = 3 * MB;
	expect_trust(3, 0, want);
	/* a checkpoint of 0 (nothing rebuilt yet) resumes too */
	msb[2].recovery_offset = 0;
	expect_trust(3, 0, want);
}

/* Its own superblock says the recovery is done but the newest does not
 * know: not trusted (md would rebuild it again). */
Test(trust, rebuilding_without_a_checkpoint_is_not_used)
{
	const enum r5_trust want[3] = { R5_TRUST_IN_SYNC, R5_TRUST_IN_SYNC, R5_TRUST_FAULTY };

	make_members(3, (const uint64_t[]){ 12, 12, 12 });
	for (int s = 0; s < 3; s++)
		msb[s].roles[2] = R5_ROLE_REBUILDING;
	msb[2].recovery_offset = R5_OFFSET_DONE;
	expect_trust(3, 0, want);
}

/* A checkpoint does not save a member that missed writes. */
Test(trust, stale_rebuilding_member_is_stale)
{
	const enum r5_trust want[3] = { R5_TRUST_IN_SYNC, R5_TRUST_IN_SYNC, R5_TRUST_STALE };

	make_members(3, (const uint64_t[]){ 12, 12, 10 });
	for (int s = 0; s < 3; s++)
		msb[s].roles[2] = R5_ROLE_REBUILDING;
	msb[2].recovery_offset = MB;
	expect_trust(3, 0, want);
}

/* The superblock given for a slot must itself be that slot's. */
Test(trust, rebuilding_role_of_another_slot_is_not_used)
{
	enum r5_trust out[3];

	make_members(3, (const uint64_t[]){ 12, 12, 12 });
	for (int s = 0; s < 3; s++)
		msb[s].roles[2] = R5_ROLE_REBUILDING;
	msb[2].recovery_offset = MB;
	msb[2].role = 1;
	r5_assemble_trust(sbs, 3, out);
	cr_assert_eq(out[2], R5_TRUST_FAULTY);
}

Test(trust, names)
{
	cr_assert_str_eq(r5_trust_name(R5_TRUST_IN_SYNC), "in sync");
	cr_assert_str_eq(r5_trust_name(R5_TRUST_REBUILDING), "rebuilding");
	cr_assert_str_eq(r5_trust_name(R5_TRUST_NOT_GIVEN), "not given");
	cr_assert_str_eq(r5_trust_name(R5_TRUST_STALE), "stale");
	cr_assert_str_eq(r5_trust_name(R5_TRUST_FAULTY), "marked faulty");
}

/* ---- r5_array_assemble on member files ---- */

static struct r5_test_array t;

static void
make_array(void)
{
	r5t_create(&t, 4, 64 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, 2 * MB);
}

static void
drop_array(void)
{
	r5t_cleanup(&t);
}

TestSuite(assemble, .init = make_array, .fini = drop_array, .timeout = 30);

static void
load_sb(const char *path, struct r5_superblock *sb)
{
	struct r5_member m;

	cr_assert_eq(r5_member_open_file(&m, path, 0), 0, "%s", path);
	cr_assert_eq(r5_sb_load(&m, sb), R5_SB_OK, "%s", path);
	r5_member_close(&m);
}

static void
store_sb(const char *path, struct r5_superblock *sb)
{
	struct r5_member m;

	cr_assert_eq(r5_member_open_file(&m, path, 0), 0, "%s", path);
	cr_assert_eq(r5_sb_store(&m, sb), 0, "%s", path);
	r5_member_close(&m);
}

static void
set_events(int slot, uint64_t events)
{
	struct r5_superblock sb;

	load_sb(t.path[slot], &sb);
	sb.events = events;
	store_sb(t.path[slot], &sb);
}

static void
set_state(int slot, uint32_t state)
{
	struct r5_superblock sb;

	load_sb(t.path[slot], &sb);
	sb.state = state;
	store_sb(t.path[slot], &sb);
}

static void
set_role_everywhere(int of_slot, uint8_t role)
{
	for (int s = 0; s < t.n; s++) {
		struct r5_superblock sb;

		load_sb(t.path[s], &sb);
		sb.roles[of_slot] = role;
		store_sb(t.path[s], &sb);
	}
}

/* Slot 2 is a replacement part-way through its recovery (1 MiB done). */
static void
slot2_mid_rebuild(void)
{
	struct r5_superblock sb;

	set_role_everywhere(2, R5_ROLE_REBUILDING);
	load_sb(t.path[2], &sb);
	sb.recovery_offset = 1 * MB;
	store_sb(t.path[2], &sb);
}

/* Assembles from the members in use_mask; returns the result, err filled. */
static int
assemble(uint32_t use_mask, bool force, char *err, size_t errlen)
{
	const char *p[R5_MAX_MEMBERS];
	struct r5_engine_opts eo = { .force = force };
	int k = 0;

	for (int i = 0; i < t.n; i++)
		if (use_mask & (1u << i))
			p[k++] = t.paths[i];
	err[0] = 0;
	return r5_array_assemble(p, k, &eo, &t.a, err, errlen);
}

static void
expect_slot(int slot, enum r5_slot_state state, const char *reason)
{
	struct r5_slot_info si;

	r5_members_slot_info(t.a->members, (uint32_t)slot, &si);
	cr_assert_eq(si.state, state, "slot %d: state %d, expected %d", slot, si.state, state);
	cr_assert_str_eq(si.reason, reason, "slot %d", slot);
}

Test(assemble, all_members_clean)
{
	char err[512];

	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), 0, "%s", err);
	for (int s = 0; s < 4; s++)
		expect_slot(s, R5_SLOT_IN_SYNC, "");
	cr_assert_eq(r5_members_nr_failed(t.a->members), 0);
	cr_assert_eq(t.a->resume_target, -1);
}

Test(assemble, order_of_the_files_does_not_matter)
{
	const char *p[4] = { t.paths[3], t.paths[1], t.paths[0], t.paths[2] };
	char err[512];

	cr_assert_eq(r5_array_assemble(p, 4, NULL, &t.a, err, sizeof(err)), 0, "%s", err);
	for (uint32_t s = 0; s < 4; s++)
		cr_assert_str_eq(r5_members_member(t.a->members, s)->path, t.paths[s]);
}

Test(assemble, one_missing_clean_starts_degraded)
{
	char err[512];

	cr_assert_eq(assemble(0xb, false, err, sizeof(err)), 0, "%s", err);
	expect_slot(2, R5_SLOT_MISSING, "slot 2 (not given)");
	expect_slot(0, R5_SLOT_IN_SYNC, "");
	cr_assert_eq(r5_members_nr_failed(t.a->members), 1);
}

Test(assemble, two_missing_refused)
{
	char err[512];

	cr_assert_eq(assemble(0x9, false, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "2 members missing, a RAID-5 survives only one: slot 1 (not given), "
			      "slot 2 (not given)");
	cr_assert_null(t.a);
	/* force does not help */
	cr_assert_eq(assemble(0x9, true, err, sizeof(err)), -EINVAL);
}

Test(assemble, stale_member_is_kicked)
{
	char err[512], reason[256];

	for (int s = 0; s < 4; s++)
		set_events(s, s == 1 ? 5 : 7);
	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), 0, "%s", err);
	snprintf(reason, sizeof(reason), "slot 1 (%s: stale)", t.path[1]);
	expect_slot(1, R5_SLOT_MISSING, reason);
	cr_assert_str_eq(r5_members_member(t.a->members, 1)->path, t.path[1],
			 "the path given for the kicked slot is kept");
	cr_assert_eq(r5_members_nr_failed(t.a->members), 1);
	cr_assert_eq(r5_members_events(t.a->members), 7);
}

Test(assemble, one_event_behind_is_used)
{
	char err[512];

	for (int s = 0; s < 4; s++)
		set_events(s, s == 3 ? 6 : 7);
	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_members_nr_failed(t.a->members), 0);
	cr_assert_eq(r5_members_events(t.a->members), 7);
}

Test(assemble, stale_and_missing_refused)
{
	char err[512], want[512];

	for (int s = 0; s < 4; s++)
		set_events(s, s == 2 ? 3 : 9);
	cr_assert_eq(assemble(0xe, false, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "2 members missing, a RAID-5 survives only one: slot 0 (not given), slot 2 (%s: stale)",
		 t.path[2]);
	cr_assert_str_eq(err, want);
}

Test(assemble, marked_faulty_is_kicked)
{
	char err[512], reason[256];

	set_role_everywhere(3, R5_ROLE_FAULTY);
	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), 0, "%s", err);
	snprintf(reason, sizeof(reason), "slot 3 (%s: marked faulty)", t.path[3]);
	expect_slot(3, R5_SLOT_MISSING, reason);
}

static const char write_hole[] =
	"and it ran without the parity log (consistency_policy=bitmap): "
	"parity may not match the data (the RAID-5 write hole); use --force to start it anyway";

Test(assemble, dirty_and_degraded_refused_without_force)
{
	char err[512], want[512];

	for (int s = 0; s < 4; s++)
		set_state(s, R5_STATE_ACTIVE);
	cr_assert_eq(assemble(0x7, false, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want),
		 "array was not stopped cleanly and is degraded (slot 3 (not given)), %s", write_hole);
	cr_assert_str_eq(err, want);
	cr_assert_null(t.a);
}

/* The run that crashed kept the partial parity log: its replay makes
 * parity right, so no --force is needed (and without the flag, the same
 * superblocks are refused: the test above). */
Test(assemble, dirty_and_degraded_after_a_logged_run)
{
	char err[512];

	for (int s = 0; s < 4; s++) {
		struct r5_superblock sb;

		load_sb(t.path[s], &sb);
		sb.state = R5_STATE_ACTIVE;
		sb.flags |= R5_SB_FLAG_PPL;
		store_sb(t.path[s], &sb);
	}
	cr_assert_eq(assemble(0x7, false, err, sizeof(err)), 0, "%s", err);
	expect_slot(3, R5_SLOT_MISSING, "slot 3 (not given)");
	cr_assert(t.a->ppl_replay);
}

Test(assemble, dirty_and_degraded_with_force)
{
	char err[512];

	for (int s = 0; s < 4; s++)
		set_state(s, R5_STATE_ACTIVE);
	cr_assert_eq(assemble(0x7, true, err, sizeof(err)), 0, "%s", err);
	expect_slot(3, R5_SLOT_MISSING, "slot 3 (not given)");
	cr_assert_eq(r5_members_array_state(t.a->members), R5_STATE_ACTIVE);
}

/* Dirty but every member there: the resync repairs parity; no force. */
Test(assemble, dirty_with_every_member)
{
	char err[512];

	for (int s = 0; s < 4; s++)
		set_state(s, R5_STATE_ACTIVE);
	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_members_array_state(t.a->members), R5_STATE_ACTIVE);
}

/* The newest superblock's state counts: a member one event behind that
 * still says "active" (it missed the clean mark) makes nothing dirty. */
Test(assemble, dirty_only_in_an_older_superblock)
{
	char err[512];

	for (int s = 0; s < 4; s++)
		set_events(s, 10);
	set_events(1, 9);
	set_state(1, R5_STATE_ACTIVE);
	cr_assert_eq(assemble(0xb, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_members_array_state(t.a->members), R5_STATE_CLEAN);
}

/* The dirty newest superblock decides even when it is not the first given. */
Test(assemble, dirty_newest_degraded_refused)
{
	char err[512];

	for (int s = 0; s < 4; s++)
		set_events(s, 10);
	set_events(2, 11);
	set_state(2, R5_STATE_ACTIVE);
	cr_assert_eq(assemble(0x7, false, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "array was not stopped cleanly and is degraded") == err, "%s", err);
}

/* A replacement part-way through its recovery: used as rebuilding, and the
 * recovery resumes at its checkpoint (in stripes of strip_size bytes). */
Test(assemble, rebuilding_member_resumes_at_its_checkpoint)
{
	char err[512];

	slot2_mid_rebuild();
	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), 0, "%s", err);
	expect_slot(2, R5_SLOT_REBUILDING, "");
	cr_assert_eq(r5_members_nr_failed(t.a->members), 1, "a rebuilding member is not redundancy");
	cr_assert_eq(t.a->resume_target, 2);
	cr_assert_eq(t.a->resume_from, 1 * MB / t.a->opts.strip_size);
}

/* Rebuilding and another member missing: two without redundancy. */
Test(assemble, rebuilding_and_missing_refused)
{
	char err[512];

	slot2_mid_rebuild();
	cr_assert_eq(assemble(0xe, false, err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "2 members missing, a RAID-5 survives only one: slot 0 (not given) "
			      "and a member still being rebuilt");
}

/* Rebuilding counts as degraded for the write hole. */
Test(assemble, rebuilding_and_dirty_refused_without_force)
{
	char err[512], want[512];

	slot2_mid_rebuild();
	for (int s = 0; s < 4; s++)
		set_state(s, R5_STATE_ACTIVE);
	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), -EINVAL);
	/* the reason names the member being rebuilt (it used to read "()") */
	snprintf(want, sizeof(want),
		 "array was not stopped cleanly and is degraded (slot 2 (%s: rebuilding)), %s",
		 t.path[2], write_hole);
	cr_assert_str_eq(err, want);
	cr_assert_eq(assemble(0xf, true, err, sizeof(err)), 0, "%s", err);
	expect_slot(2, R5_SLOT_REBUILDING, "");
}

Test(assemble, member_of_another_array_refused)
{
	struct r5_test_array other;
	struct r5_superblock ours, theirs;
	char err[512], want[1024], u_ours[40], u_theirs[40];
	const char *p[4];

	r5t_create(&other, 4, 64 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, 2 * MB);
	load_sb(t.path[0], &ours);
	load_sb(other.path[3], &theirs);
	r5_uuid_format(ours.array_uuid, u_ours);
	r5_uuid_format(theirs.array_uuid, u_theirs);
	p[0] = t.paths[0];
	p[1] = t.paths[1];
	p[2] = other.paths[3];
	p[3] = t.paths[2];
	cr_assert_eq(r5_array_assemble(p, 4, NULL, &t.a, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: member of another array (%s, the others are %s)",
		 other.path[3], u_theirs, u_ours);
	cr_assert_str_eq(err, want);
	cr_assert_null(t.a);
	r5t_cleanup(&other);
}

/* The majority decides which array is "the" array; a tie goes to the
 * first file given. */
Test(assemble, another_array_majority_and_tie)
{
	struct r5_test_array other;
	char err[512];
	const char *p[4];

	r5t_create(&other, 4, 64 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, 2 * MB);
	p[0] = t.paths[0];
	p[1] = other.paths[1];
	p[2] = other.paths[2];
	p[3] = other.paths[3];
	cr_assert_eq(r5_array_assemble(p, 4, NULL, &t.a, err, sizeof(err)), -EINVAL);
	cr_assert(strncmp(err, t.path[0], strlen(t.path[0])) == 0, "%s", err);
	p[0] = other.paths[0];
	p[1] = t.paths[1];
	p[2] = t.paths[2];
	p[3] = other.paths[3];
	cr_assert_eq(r5_array_assemble(p, 4, NULL, &t.a, err, sizeof(err)), -EINVAL);
	cr_assert(strncmp(err, t.path[1], strlen(t.path[1])) == 0, "%s", err);
	r5t_cleanup(&other);
}

Test(assemble, same_slot_twice_refused)
{
	char copy[128], cmd[512], err[512], want[512];
	const char *p[4];

	snprintf(copy, sizeof(copy), "%s/copy-of-m1", t.dir);
	snprintf(cmd, sizeof(cmd), "cp --sparse=always %s %s", t.path[1], copy);
	cr_assert_eq(system(cmd), 0);
	p[0] = t.paths[0];
	p[1] = t.paths[1];
	p[2] = copy;
	p[3] = t.paths[3];
	cr_assert_eq(r5_array_assemble(p, 4, NULL, &t.a, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: claims slot 1, which %s already holds", copy, t.path[1]);
	cr_assert_str_eq(err, want);
	unlink(copy);
}

Test(assemble, same_file_twice_refused)
{
	char err[512], want[512];
	const char *p[3] = { t.paths[0], t.paths[1], t.paths[0] };

	cr_assert_eq(r5_array_assemble(p, 3, NULL, &t.a, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: listed twice (same file as %s)", t.path[0], t.path[0]);
	cr_assert_str_eq(err, want);
}

/* Members of a running array are locked: a second assembly of them (here
 * in the same process, as two mounts would be in two) is refused with one
 * line and touches nothing; a failed member's file is free again. */
Test(assemble, members_in_use_refused)
{
	struct r5_superblock before[4], after[4];
	struct r5_array *second = NULL;
	char err[512], want[512];

	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_array_start(t.a), 0);
	for (int s = 0; s < 4; s++)
		load_sb(t.path[s], &before[s]);
	cr_assert_eq(r5_array_assemble(t.paths, 4, NULL, &second, err, sizeof(err)), -EBUSY);
	cr_assert_null(second);
	snprintf(want, sizeof(want), "%s: in use by another array (a running raid5fs holds it)",
		 t.path[0]);
	cr_assert_str_eq(err, want);
	for (int s = 0; s < 4; s++) {
		load_sb(t.path[s], &after[s]);
		cr_assert_eq(memcmp(&before[s], &after[s], sizeof(before[s])), 0,
			     "slot %d's superblock changed", s);
	}
	/* slot 2 fails: its file may be given back (the same file re-added) */
	cr_assert_eq(r5_array_control(t.a, "fail 2", err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_array_replace(t.a, 2, t.path[2], err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_array_stop(t.a), 0);
	t.a = NULL;
	/* stopped: free for the next assembly */
	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), 0, "%s", err);
}

Test(assemble, nothing_on_disk_changes)
{
	struct r5_superblock before[4], after[4];
	char err[512];

	set_events(1, 1); /* stale once the others move on */
	for (int s = 0; s < 4; s++)
		if (s != 1)
			set_events(s, 5);
	for (int s = 0; s < 4; s++)
		load_sb(t.path[s], &before[s]);
	cr_assert_eq(assemble(0xf, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r5_array_stop(t.a), 0);
	t.a = NULL;
	for (int s = 0; s < 4; s++) {
		load_sb(t.path[s], &after[s]);
		cr_assert_eq(memcmp(&before[s], &after[s], sizeof(before[s])), 0,
			     "slot %d's superblock changed", s);
	}
}
