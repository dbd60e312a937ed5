/* array_state.c - array-level state changes that reach the superblocks:
 * clean -> active before the first write, a member failing, the log. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "array_internal.h"
#include "raid5fs/log.h"
#include "locks.h"

static uint8_t
r5_slot_role(struct r5_array *a, uint32_t slot)
{
	switch (atomic_load(&a->slot[slot].state)) {
	case R5_SLOT_IN_SYNC:
		return R5_ROLE_IN_SYNC;
	case R5_SLOT_REBUILDING:
		return R5_ROLE_REBUILDING;
	default:
		return R5_ROLE_FAULTY;
	}
}

int
r5_array_store_superblocks_locked(struct r5_array *a)
{
	int first_err = 0;

	/* A member whose superblock cannot be written is failed; that changes
	 * the role table, so go round again (at most N times). */
	for (uint32_t round = 0; round <= a->geo.nr_members; round++) {
		bool changed = false;

		for (uint32_t i = 0; i < a->geo.nr_members; i++) {
			struct r5_slot *s = &a->slot[i];
			int err;

			if (!r5_slot_present(a, i) || !s->member.ops)
				continue;
			s->sb.events = a->events;
			s->sb.state = a->sb_state;
			for (uint32_t j = 0; j < a->geo.nr_members; j++)
				s->sb.roles[j] = r5_slot_role(a, j);
			err = r5_sb_store(&s->member, &s->sb);
			if (err < 0) {
				if (!first_err)
					first_err = err;
				atomic_store(&s->state, R5_SLOT_FAULTY);
				atomic_fetch_add(&a->nr_failed, 1);
				snprintf(s->fail_reason, sizeof(s->fail_reason),
					 "superblock write failed: %s", strerror(-err));
				r5_log("member %u (%s) failed: %s", i, s->member.path, s->fail_reason);
				a->events++;
				changed = true;
			}
		}
		if (!changed)
			break;
	}
	return r5_array_is_failed(a) ? (first_err ? first_err : -EIO) : 0;
}

void
r5_array_fail_slot(struct r5_array *a, uint32_t slot, const char *fmt, ...)
{
	struct r5_slot *s = &a->slot[slot];
	va_list ap;
	int old;

	r5_mutex_lock(&a->sb_lock);
	old = atomic_load(&s->state);
	if (old != R5_SLOT_IN_SYNC && old != R5_SLOT_REBUILDING) {
		r5_mutex_unlock(&a->sb_lock);
		return;
	}
	atomic_store(&s->state, R5_SLOT_FAULTY);
	if (old == R5_SLOT_IN_SYNC) /* a rebuilding slot was counted already */
		atomic_fetch_add(&a->nr_failed, 1);
	va_start(ap, fmt);
	vsnprintf(s->fail_reason, sizeof(s->fail_reason), fmt, ap);
	va_end(ap);
	r5_log("member %u (%s) failed: %s; array is now %s", slot, s->member.path, s->fail_reason,
	       r5_array_is_failed(a) ? "FAILED" : "degraded");
	/* the survivors record it before anything that depends on it is acknowledged */
	a->events++;
	r5_array_store_superblocks_locked(a);
	r5_mutex_unlock(&a->sb_lock);
}

int
r5_array_mark_active(struct r5_array *a)
{
	int err = 0;

	if (atomic_load(&a->marked_active))
		return 0;
	r5_mutex_lock(&a->sb_lock);
	if (!atomic_load(&a->marked_active)) {
		a->sb_state = R5_STATE_ACTIVE;
		a->events++;
		/* a crash from now on needs a resync (of the bitmap's regions) */
		if (!a->was_dirty)
			for (uint32_t i = 0; i < a->geo.nr_members; i++)
				a->slot[i].sb.resync_offset = 0;
		err = r5_array_store_superblocks_locked(a);
		if (err == 0)
			atomic_store(&a->marked_active, true);
	}
	r5_mutex_unlock(&a->sb_lock);
	return err;
}

/* Every member data access goes through here: one call, counted. */
static int
member_io(struct r5_array *a, uint32_t slot, struct iovec *iov, int iovcnt, uint64_t off,
	  bool write)
{
	struct r5_slot *s = &a->slot[slot];
	size_t len = r5_iov_length(iov, iovcnt); /* before iov is used up */
	int err = write ? r5_member_writev(&s->member, iov, iovcnt, a->data_offset + off)
			: r5_member_readv(&s->member, iov, iovcnt, a->data_offset + off);

	atomic_fetch_add(write ? &s->stats.writes : &s->stats.reads, 1);
	if (err < 0)
		atomic_fetch_add(write ? &s->stats.write_errors : &s->stats.read_errors, 1);
	else
		atomic_fetch_add(write ? &s->stats.write_bytes : &s->stats.read_bytes, len);
	return err;
}

int
r5_array_member_read(struct r5_array *a, uint32_t slot, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return member_io(a, slot, &iov, 1, off, false);
}

int
r5_array_member_write(struct r5_array *a, uint32_t slot, const void *buf, size_t len,
		      uint64_t off)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };

	return member_io(a, slot, &iov, 1, off, true);
}

int
r5_array_member_readv_cached(struct r5_array *a, uint32_t slot, const struct iovec *iov,
			     int iovcnt, uint64_t off)
{
	struct r5_slot *s = &a->slot[slot];
	int err = r5_member_readv_cached(&s->member, iov, iovcnt, a->data_offset + off);

	if (err == 0) {
		atomic_fetch_add(&s->stats.reads, 1);
		atomic_fetch_add(&s->stats.read_bytes, r5_iov_length(iov, iovcnt));
	}
	return err;
}

int
r5_array_member_readv(struct r5_array *a, uint32_t slot, struct iovec *iov, int iovcnt,
		      uint64_t off)
{
	return member_io(a, slot, iov, iovcnt, off, false);
}

int
r5_array_member_writev(struct r5_array *a, uint32_t slot, struct iovec *iov, int iovcnt,
		       uint64_t off)
{
	return member_io(a, slot, iov, iovcnt, off, true);
}

int
r5_array_try_mark_clean(struct r5_array *a)
{
	uint64_t seq;
	int err;

	if (!atomic_load(&a->marked_active) || r5_array_is_failed(a))
		return 0;
	seq = atomic_load(&a->write_seq);
	err = r5_array_flush(a);
	if (err < 0)
		return err;
	r5_mutex_lock(&a->sb_lock);
	/* Dekker with r5_array_write: it counts itself in writes_inflight and
	 * then tests marked_active; we clear marked_active and then test
	 * writes_inflight (both seq_cst). One of us sees the other. */
	atomic_store(&a->marked_active, false);
	if (atomic_load(&a->writes_inflight) > 0 || atomic_load(&a->write_seq) != seq ||
	    a->was_dirty) {
		atomic_store(&a->marked_active, true);
		r5_mutex_unlock(&a->sb_lock);
		return 0; /* busy again, or parity not yet resynced */
	}
	err = r5_bitmap_clear_all(a);
	if (err == 0) {
		a->sb_state = R5_STATE_CLEAN;
		a->events++;
		for (uint32_t i = 0; i < a->geo.nr_members; i++)
			a->slot[i].sb.resync_offset = R5_OFFSET_DONE;
		err = r5_array_store_superblocks_locked(a);
	}
	if (err < 0)
		atomic_store(&a->marked_active, true);
	r5_mutex_unlock(&a->sb_lock);
	return err;
}

void
r5_array_persist_checkpoint(struct r5_array *a, int action, int target, uint64_t bytes)
{
	r5_mutex_lock(&a->sb_lock);
	for (uint32_t i = 0; i < a->geo.nr_members; i++) {
		if (action == R5_SYNC_RESYNC)
			a->slot[i].sb.resync_offset = bytes;
		else if ((int)i == target)
			a->slot[i].sb.recovery_offset = bytes;
	}
	r5_array_store_superblocks_locked(a);
	r5_mutex_unlock(&a->sb_lock);
}
