/* member_sb.c - the member set's changes recorded in the members'
 * superblocks: a slot failing, the array's state and flags, the resync
 * and recovery checkpoints, a slot rebuilt, a rebuilding member added
 * (see member_set.h). Every change is stored in every present member
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
			r5_members_spares_to_sb(ms, &s->sb);
			err = r5_sb_store(&s->member, &s->sb);
			if (err < 0) {
				if (!first_err)
					first_err = err;
				atomic_store(&s->state, R5_SLOT_FAULTY);
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
r5_members_set_flags(struct r5_members *ms, uint32_t flags)
{
	bool changed = false;
	int err = 0;

	r5_mutex_lock(&ms->sb_lock);
	for (uint32_t i = 0; i < ms->nr; i++) {
		changed |= r5_members_present(ms, i) && ms->slot[i].sb.flags != flags;
		ms->slot[i].sb.flags = flags;
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

int
r5_members_add_rebuilding(struct r5_members *ms, uint32_t slot, struct r5_member *m,
			  int (*prepare)(void *ctx, struct r5_member *m,
					 const struct r5_superblock *sb),
			  void *ctx, char *err, size_t errlen)
{
	struct r5_slot *sl = &ms->slot[slot];
	struct r5_member old;
	int ret, survivor = -1, st;

	r5_mutex_lock(&ms->sb_lock);
	st = atomic_load(&sl->state);
	for (uint32_t s = 0; s < ms->nr && survivor < 0; s++)
		if (r5_members_ok(ms, s))
			survivor = (int)s;
	if ((st != R5_SLOT_FAULTY && st != R5_SLOT_MISSING) || survivor < 0) {
		r5_mutex_unlock(&ms->sb_lock);
		r5_member_close(m);
		r5_errf(err, errlen, "slot %u cannot take a new member now", slot);
		return -EBUSY;
	}
	/* the old member (if any) may still be under in-flight I/O: retire it;
	 * one retired by an earlier replace has long been idle */
	old = sl->member;
	sl->member = *m;
	sl->sb = ms->slot[survivor].sb;
	r5_random_bytes(sl->sb.member_uuid, sizeof(sl->sb.member_uuid));
	sl->sb.role = slot;
	sl->sb.recovery_offset = 0;
	sl->sb.generation = 0;
	sl->sb.roles[slot] = R5_ROLE_REBUILDING;
	/* both superblock copies and the bitmap before the member takes I/O */
	ret = r5_sb_store(&sl->member, &sl->sb);
	if (!ret)
		ret = r5_sb_store(&sl->member, &sl->sb);
	if (!ret && prepare)
		ret = prepare(ctx, &sl->member, &sl->sb);
	if (!ret)
		ret = r5_slot_open_csum(ms, sl); /* a new table: all its blocks are zero */
	if (ret < 0) {
		r5_errf(err, errlen, "%s: cannot write its metadata: %s", sl->member.path,
			strerror(-ret));
		r5_member_close(&sl->member);
		sl->member = old;
		r5_mutex_unlock(&ms->sb_lock);
		return ret;
	}
	if (old.ops) {
		r5_member_close(&ms->retired[slot]);
		ms->retired[slot] = old;
	}
	sl->fail_reason[0] = 0;
	ms->events++;
	atomic_store(&sl->state, R5_SLOT_REBUILDING); /* still counted in nr_failed */
	r5_members_store_locked(ms);
	r5_mutex_unlock(&ms->sb_lock);
	return 0;
}
