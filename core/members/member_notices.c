/* member_notices.c - what the member set tells a person or a program
 * (include/raid5fs/events.h): a member failing, the array degraded or
 * failed. Checksum errors are emitted where they are found
 * (member_verify.c), the sync's events by the sync thread. */
#include "members_internal.h"

struct r5_events *
r5_members_notices(struct r5_members *ms)
{
	return ms->notices;
}

void
r5_members_notify_failed(struct r5_members *ms, uint32_t slot)
{
	struct r5_slot *s = &ms->slot[slot];
	const int failed = atomic_load(&ms->nr_failed);

	r5_event(ms->notices, "fail", (int)slot, s->member.path, "%s", s->fail_reason);
	if (failed == 1)
		r5_event(ms->notices, "degraded", (int)slot, s->member.path, "the array runs without it");
	else
		r5_event(ms->notices, "array-failed", -1, NULL, "%d slots are missing", failed);
}
