/* member_state.c - questions about the member set: its slots' states,
 * counts, copies of a slot's counters and superblock (see member_set.h).
 * The bottom of the members layer: it calls nothing else of it. */
#include <stdio.h>
#include <string.h>

#include "locks.h"
#include "member_set.h"
#include "members_internal.h"

uint32_t
r5_members_count(const struct r5_members *ms)
{
	return ms->nr;
}

enum r5_slot_state
r5_members_state(struct r5_members *ms, uint32_t slot)
{
	return (enum r5_slot_state)atomic_load(&ms->slot[slot].state);
}

bool
r5_members_ok(struct r5_members *ms, uint32_t slot)
{
	return r5_members_state(ms, slot) == R5_SLOT_IN_SYNC;
}

bool
r5_members_present(struct r5_members *ms, uint32_t slot)
{
	enum r5_slot_state st = r5_members_state(ms, slot);

	return st == R5_SLOT_IN_SYNC || st == R5_SLOT_REBUILDING;
}

int
r5_members_nr_failed(struct r5_members *ms)
{
	return atomic_load(&ms->nr_failed);
}

bool
r5_members_failed(struct r5_members *ms)
{
	return atomic_load(&ms->nr_failed) > 1;
}

uint64_t
r5_members_data_offset(const struct r5_members *ms)
{
	return ms->data_offset;
}

uint64_t
r5_members_events(struct r5_members *ms)
{
	r5_mutex_lock(&ms->sb_lock);
	uint64_t e = ms->events;
	r5_mutex_unlock(&ms->sb_lock);
	return e;
}

uint32_t
r5_members_array_state(struct r5_members *ms)
{
	r5_mutex_lock(&ms->sb_lock);
	uint32_t st = ms->array_state;
	r5_mutex_unlock(&ms->sb_lock);
	return st;
}

void
r5_members_slot_info(struct r5_members *ms, uint32_t slot, struct r5_slot_info *out)
{
	struct r5_slot *s = &ms->slot[slot];

	r5_mutex_lock(&ms->sb_lock);
	out->state = r5_members_state(ms, slot);
	snprintf(out->path, sizeof(out->path), "%s", s->member.path);
	snprintf(out->reason, sizeof(out->reason), "%s",
		 r5_members_present(ms, slot) ? "" : s->fail_reason);
	r5_mutex_unlock(&ms->sb_lock);
	out->reads = atomic_load(&s->stats.reads);
	out->writes = atomic_load(&s->stats.writes);
	out->read_bytes = atomic_load(&s->stats.read_bytes);
	out->write_bytes = atomic_load(&s->stats.write_bytes);
	out->read_errors = atomic_load(&s->stats.read_errors);
	out->write_errors = atomic_load(&s->stats.write_errors);
	out->csum_errors = atomic_load(&s->stats.csum_errors);
	out->csum_healed = atomic_load(&s->stats.csum_healed);
}

bool
r5_members_superblock(struct r5_members *ms, uint32_t slot, struct r5_superblock *out)
{
	bool ok;

	r5_mutex_lock(&ms->sb_lock);
	ok = r5_members_present(ms, slot);
	if (ok)
		*out = ms->slot[slot].sb;
	r5_mutex_unlock(&ms->sb_lock);
	return ok;
}

struct r5_member *
r5_members_member(struct r5_members *ms, uint32_t slot)
{
	return &ms->slot[slot].member;
}

bool
r5_members_file_info(struct r5_members *ms, uint32_t slot, const void **id, char *path,
		     size_t pathlen, struct stat *st, int *stat_err)
{
	struct r5_member *m = &ms->slot[slot].member;
	bool present;

	r5_mutex_lock(&ms->sb_lock);
	present = r5_members_present(ms, slot);
	if (present) {
		*id = m->ctx;
		snprintf(path, pathlen, "%s", m->path);
		*stat_err = st ? r5_member_stat(m, st) : 0;
	}
	r5_mutex_unlock(&ms->sb_lock);
	return present;
}
