/* consistency.c - what makes parity right again after a crash: the
 * replay of the partial parity logs at a dirty start, and the log of this
 * run (core/log/ppl.h; docs/write-hole.md). The bitmap's resync follows,
 * as before (array.c). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "array_internal.h"

/* A dirty start after a run that kept the log: every row it covers gets
 * the parity its newest record implies, before anything reads parity. */
static int
r5_replay_ppl(struct r5_array *a)
{
	uint64_t valid_below[R5_MAX_MEMBERS] = { 0 };
	struct r5_ppl_recovery *rec = &a->ppl_recovered;
	int err;

	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		struct r5_superblock sb;

		switch (r5_members_state(a->members, s)) {
		case R5_SLOT_IN_SYNC:
			valid_below[s] = UINT64_MAX;
			break;
		case R5_SLOT_REBUILDING:
			if (r5_members_superblock(a->members, s, &sb))
				valid_below[s] = sb.recovery_offset;
			break;
		default:
			break;
		}
	}
	err = r5_ppl_recover(a->members, &a->geo, a->uuid, valid_below, rec);
	if (err < 0) {
		r5_log("cannot replay the parity log: %s", strerror(-err));
		return err;
	}
	r5_log("parity log replayed: %llu records, parity set in %llu rows, %llu rows left as they "
	       "were (a block being written is on a missing member)",
	       (unsigned long long)rec->records, (unsigned long long)rec->replayed,
	       (unsigned long long)rec->skipped);
	return 0;
}

int
r5_consistency_start(struct r5_array *a)
{
	const bool ppl = a->opts.consistency_policy == R5_CONSISTENCY_PPL;
	int err;

	if (a->ppl_replay) {
		err = r5_replay_ppl(a);
		if (err < 0)
			return err;
	}
	/* The superblocks say whether this run keeps the log before it writes
	 * anything: a crash of a run without it must not trust old records. */
	err = r5_members_set_flags(a->members, R5_SB_FLAG_PPL, ppl ? R5_SB_FLAG_PPL : 0);
	if (err < 0 || !ppl)
		return err;
	err = r5_ppl_create(a->members, &a->geo, a->opts.strip_size, a->uuid, &a->ppl);
	if (err == 0)
		err = r5_ppl_start(a->ppl); /* every log afresh: old records no longer count */
	if (err < 0) {
		r5_ppl_destroy(a->ppl);
		a->ppl = NULL;
	}
	return err;
}
