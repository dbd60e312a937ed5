/* trust.c - which of the given members assembly may trust (md's rules).
 *
 * The superblock with the most events is the truth (on a tie, the lowest
 * slot's). A member more than one event behind it missed writes: it is
 * stale and must be rebuilt, never trusted. One event behind is accepted:
 * a crash can interrupt the superblock writes of one event between
 * members. A member the newest superblock calls anything but in sync is
 * not used, except a replacement part-way through its recovery (its role
 * is "rebuilding" and its own superblock still has a recovery checkpoint):
 * it is used as rebuilding and the recovery resumes. */
#include "array_internal.h"

const char *
r5_trust_name(enum r5_trust t)
{
	switch (t) {
	case R5_TRUST_IN_SYNC:
		return "in sync";
	case R5_TRUST_REBUILDING:
		return "rebuilding";
	case R5_TRUST_NOT_GIVEN:
		return "not given";
	case R5_TRUST_STALE:
		return "stale";
	default:
		return "marked faulty";
	}
}

int
r5_assemble_trust(const struct r5_superblock *const sbs[], uint32_t nmembers,
		  enum r5_trust out[])
{
	const struct r5_superblock *newest = NULL;
	int newest_slot = -1;

	for (uint32_t s = 0; s < nmembers; s++)
		if (sbs[s] && (!newest || sbs[s]->events > newest->events)) {
			newest = sbs[s];
			newest_slot = (int)s;
		}
	if (!newest)
		return -1;
	const uint64_t max_events = newest->events;
	for (uint32_t s = 0; s < nmembers; s++) {
		const struct r5_superblock *sb = sbs[s];

		if (!sb)
			out[s] = R5_TRUST_NOT_GIVEN;
		else if (sb->events + 1 < max_events)
			out[s] = R5_TRUST_STALE;
		else if (newest->roles[s] == R5_ROLE_REBUILDING && sb->role == s &&
			 sb->recovery_offset != R5_OFFSET_DONE)
			out[s] = R5_TRUST_REBUILDING;
		else if (newest->roles[s] != R5_ROLE_IN_SYNC)
			out[s] = R5_TRUST_FAULTY;
		else
			out[s] = R5_TRUST_IN_SYNC;
	}
	return newest_slot;
}
