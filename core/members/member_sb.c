/* member_sb.c - the member set's changes recorded in the members'
 * superblocks: a slot failing, the array's state and flags, the resync
 * and recovery checkpoints, a slot rebuilt, the spare table (see
 * member_set.h). Every change is stored in every present member
 * under sb_lock. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "member_set.h"
#include "members_internal.h"
#include "raid5fs/log.h"
#include "raid5fs/util.h"

static uint8_t
slot_role(struct r5_members *ms, uint32_t slot)
{
	switch (r5_members_state(ms, slot)) {
	case R5_SLOT_IN_SYNC:
		return R5_ROLE_IN_SYNC;
	case R5_SLOT_REBUILDING:
		return R5_ROLE_REBUILDING;
	default:
		return R5_ROLE_FAULTY;
	}
}

/* The spare table (member_spares.c) into a superblock about to be stored. */
static void
spares_to_sb(const struct r5_members *ms, struct r5_superblock *sb)
{
	if (sb->version < 2)
		return; /* no room: r5_members_set_spares refuses such arrays */
	sb->nr_spares = ms->nr_spares;
	memset(sb->spare_uuid, 0, sizeof(sb->spare_uuid));
	memcpy(sb->spare_uuid, ms->spare_uuid, (size_t)ms->nr_spares * 16);
	if (ms->nr_spares)
		sb->flags |= R5_SB_FLAG_SPARES;
	else
		sb->flags &= ~R5_SB_FLAG_SPARES;
}

/* Writes every present member's superblock with the current state. A
 * member whose superblock cannot be written is failed; that changes the
 * role table, so go round again (at most N times). sb_lock held. */
int
r5_members_store_locked(struct r5_members *ms)
{
	int first_err = 0;

	for (uint32_t round = 0; round <= ms->nr; round++) {
		bool changed = false;

		for (uint32_t i = 0; i < ms->nr; i++) {
			struct r5_slot *s = &ms->slot[i];
			int err;

			if (!r5_members_present(ms, i) || !s->member.ops)
				continue;
			s->sb.events = ms->events;
			s->sb.state = ms->array_state;
			for (uint32_t j = 0; j < ms->nr; j++)
				s->sb.roles[j] = slot_role(ms, j);
			spares_to_sb(ms, &s->sb);
			err = r5_sb_store(&s->member, &s->sb);
			if (err < 0) {
				if (!first_err)
					first_err = err;
				atomic_store(&s->state, R5_SLOT_FAULTY);
				r5_member_unlock(&s->member); /* free to be given again */
				atomic_fetch_add(&ms->nr_failed, 1);
				snprintf(s->fail_reason, sizeof(s->fail_reason),
					 "superblock write failed: %s", strerror(-err));
				r5_log("member %u (%s) failed: %s", i, s->member.path, s->fail_reason);
				r5_members_notify_failed(ms, i);
				ms->events++;
				changed = true;
			}
		}
		if (!changed)
			break;
	}
	return r5_members_failed(ms) ? (first_err ? first_err : -EIO) : 0;
}

void
r5_members_fail(struct r5_members *ms, uint32_t slot, const char *fmt, ...)
{
	struct r5_slot *s = &ms->slot[slot];
	va_list ap;
	int old;

	r5_mutex_lock(&ms->sb_lock);
	old = atomic_load(&s->state);
	if (old != R5_SLOT_IN_SYNC && old != R5_SLOT_REBUILDING) {
		r5_mutex_unlock(&ms->sb_lock);
		return;
	}
	atomic_store(&s->state, R5_SLOT_FAULTY);
	r5_member_unlock(&s->member); /* free to be given again (replace) */
	if (old == R5_SLOT_IN_SYNC) /* a rebuilding slot was counted already */
		atomic_fetch_add(&ms->nr_failed, 1);
	va_start(ap, fmt);
	vsnprintf(s->fail_reason, sizeof(s->fail_reason), fmt, ap);
	va_end(ap);
	r5_log("member %u (%s) failed: %s; array is now %s", slot, s->member.path, s->fail_reason,
	       r5_members_failed(ms) ? "FAILED" : "degraded");
	r5_members_notify_failed(ms, slot);
	/* the survivors record it before anything that depends on it is acknowledged */
	ms->events++;
	r5_members_store_locked(ms);
	r5_mutex_unlock(&ms->sb_lock);
}

int
r5_members_set_array_state(struct r5_members *ms, uint32_t state, const uint64_t *resync_offset)
{
	int err;

	r5_mutex_lock(&ms->sb_lock);
	ms->array_state = state;
	ms->events++;
	if (resync_offset)
		for (uint32_t i = 0; i < ms->nr; i++)
			ms->slot[i].sb.resync_offset = *resync_offset;
	err = r5_members_store_locked(ms);
	r5_mutex_unlock(&ms->sb_lock);
	return err;
}

int
r5_members_set_flags(struct r5_members *ms, uint32_t mask, uint32_t flags)
{
	bool changed = false;
	int err = 0;

	r5_mutex_lock(&ms->sb_lock);
	for (uint32_t i = 0; i < ms->nr; i++) {
		uint32_t now = (ms->slot[i].sb.flags & ~mask) | (flags & mask);

		changed |= r5_members_present(ms, i) && ms->slot[i].sb.flags != now;
		ms->slot[i].sb.flags = now;
	}
	if (changed)
		err = r5_members_store_locked(ms);
	r5_mutex_unlock(&ms->sb_lock);
	return err;
}

void
r5_members_set_resync_offset(struct r5_members *ms, uint64_t bytes)
{
	r5_mutex_lock(&ms->sb_lock);
	for (uint32_t i = 0; i < ms->nr; i++)
		ms->slot[i].sb.resync_offset = bytes;
	r5_members_store_locked(ms);
	r5_mutex_unlock(&ms->sb_lock);
}

void
r5_members_set_recovery_offset(struct r5_members *ms, uint32_t slot, uint64_t bytes)
{
	r5_mutex_lock(&ms->sb_lock);
	ms->slot[slot].sb.recovery_offset = bytes;
	r5_members_store_locked(ms);
	r5_mutex_unlock(&ms->sb_lock);
}

void
r5_members_rebuilt(struct r5_members *ms, uint32_t slot)
{
	r5_mutex_lock(&ms->sb_lock);
	if (r5_members_state(ms, slot) == R5_SLOT_REBUILDING) {
		atomic_store(&ms->slot[slot].state, R5_SLOT_IN_SYNC);
		atomic_fetch_sub(&ms->nr_failed, 1);
		ms->slot[slot].sb.recovery_offset = R5_OFFSET_DONE;
		ms->events++;
		r5_members_store_locked(ms);
		r5_log("slot %u (%s) rebuilt: array is %s", slot, ms->slot[slot].member.path,
		       atomic_load(&ms->nr_failed) == 0 ? "optimal" : "still degraded");
	}
	r5_mutex_unlock(&ms->sb_lock);
}
