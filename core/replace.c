/* replace.c - a new member for a failed slot: check it, give it a
 * superblock, put it in the slot as "rebuilding" and start recovery. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array_internal.h"
#include "locks.h"
#include "raid5fs/util.h"

/* Opens (or creates) the replacement file and sizes it. The file must be
 * new, empty, or a raid5fs member that is not in use in this array. */
static int
r5_open_replacement(struct r5_array *a, const char *path, struct r5_member *m, char *err,
		    size_t errlen)
{
	uint64_t need = a->data_offset + a->geo.member_data_size;
	struct r5_superblock old;
	struct stat st = { 0 };
	int ret;

	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		struct stat other;

		if (r5_slot_present(a, s) && stat(a->slot[s].member.path, &other) == 0 &&
		    stat(path, &st) == 0 && other.st_dev == st.st_dev && other.st_ino == st.st_ino) {
			snprintf(err, errlen, "%s: is the member in slot %u", path, s);
			return -EBUSY;
		}
	}
	ret = r5_member_open_file(m, path, 0);
	if (ret == -ENOENT)
		ret = r5_member_open_file(m, path, 1);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (r5_member_stat(m, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		ret = -EINVAL;
		goto fail;
	}
	if (st.st_size > 0 && r5_sb_load(m, &old) != R5_SB_OK) {
		snprintf(err, errlen, "%s: exists and is not empty (not a raid5fs member)", path);
		ret = -EEXIST;
		goto fail;
	}
	/* a raid5fs member (of this or another array) that is not in use:
	 * it will be rebuilt from scratch */
	ret = r5_member_truncate(m, need);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot size it to %llu bytes: %s", path,
			 (unsigned long long)need, strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	r5_member_close(m);
	return ret;
}

int
r5_array_replace(struct r5_array *a, uint32_t slot, const char *path, char *err, size_t errlen)
{
	struct r5_member m = { 0 };
	struct r5_superblock sb;
	int ret, survivor = -1;

	if (slot >= a->geo.nr_members) {
		snprintf(err, errlen, "slot %u does not exist (the array has %u)", slot,
			 a->geo.nr_members);
		return -EINVAL;
	}
	int st = atomic_load(&a->slot[slot].state);
	if (st == R5_SLOT_IN_SYNC || st == R5_SLOT_REBUILDING) {
		if (st == R5_SLOT_IN_SYNC)
			snprintf(err, errlen, "slot %u is in sync; fail it first (raid5fs fail)", slot);
		else
			snprintf(err, errlen,
				 "slot %u is already being rebuilt; wait for it (or resume it: raid5fs recover)",
				 slot);
		return -EBUSY;
	}
	if (r5_array_is_failed(a)) {
		snprintf(err, errlen, "the array has failed (two members lost): nothing to rebuild from");
		return -EIO;
	}
	r5_mutex_lock(&a->sync.lock);
	int busy = a->sync.action;
	r5_mutex_unlock(&a->sync.lock);
	if (busy) {
		/* a check or repair gives way to recovery, as in md */
		if (busy == R5_SYNC_CHECK || busy == R5_SYNC_REPAIR) {
			r5_sync_stop(a);
		} else {
			snprintf(err, errlen, "a %s is running; wait for it or run idle",
				 r5_sync_action_name(busy));
			return -EBUSY;
		}
	}
	if (!path || !*path)
		path = a->slot[slot].member.path;
	if (!*path) {
		snprintf(err, errlen, "slot %u has no known path: give the new member file", slot);
		return -EINVAL;
	}
	ret = r5_open_replacement(a, path, &m, err, errlen);
	if (ret < 0)
		return ret;

	r5_mutex_lock(&a->sb_lock);
	for (uint32_t s = 0; s < a->geo.nr_members; s++)
		if (r5_slot_ok(a, s)) {
			survivor = (int)s;
			break;
		}
	sb = a->slot[survivor].sb;
	r5_random_bytes(sb.member_uuid, sizeof(sb.member_uuid));
	sb.role = slot;
	sb.recovery_offset = 0;
	sb.generation = 0;
	sb.roles[slot] = R5_ROLE_REBUILDING;
	/* the old member (if any) may still be under in-flight I/O: retire it */
	struct r5_slot *sl = &a->slot[slot];
	if (sl->member.ops) {
		/* a member retired by an earlier replace has long been idle */
		r5_member_close(&a->retired[slot]);
		a->retired[slot] = sl->member;
	}
	snprintf(m.path, sizeof(m.path), "%s", path);
	sl->member = m;
	sl->sb = sb;
	sl->fail_reason[0] = 0;
	/* write the new member's superblocks and bitmap before it takes I/O */
	ret = r5_sb_store(&sl->member, &sl->sb);
	if (!ret)
		ret = r5_sb_store(&sl->member, &sl->sb);
	if (!ret)
		ret = r5_bitmap_write_member(a, slot);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot write its superblock: %s", path, strerror(-ret));
		r5_member_close(&sl->member);
		sl->member = a->retired[slot];
		memset(&a->retired[slot], 0, sizeof(a->retired[slot]));
		r5_mutex_unlock(&a->sb_lock);
		return ret;
	}
	a->events++;
	atomic_store(&sl->state, R5_SLOT_REBUILDING); /* still counted in nr_failed */
	r5_array_store_superblocks_locked(a);
	r5_mutex_unlock(&a->sb_lock);
	r5_log("slot %u: rebuilding onto %s", slot, path);

	ret = r5_sync_start(a, R5_SYNC_RECOVER, (int)slot, 0);
	if (ret < 0)
		snprintf(err, errlen, "cannot start recovery: %s", strerror(-ret));
	return ret;
}

void
r5_array_recovery_done(struct r5_array *a, uint32_t slot)
{
	r5_mutex_lock(&a->sb_lock);
	if (atomic_load(&a->slot[slot].state) == R5_SLOT_REBUILDING) {
		atomic_store(&a->slot[slot].state, R5_SLOT_IN_SYNC);
		atomic_fetch_sub(&a->nr_failed, 1);
		a->slot[slot].sb.recovery_offset = R5_OFFSET_DONE;
		/* Every stripe now XORs to zero (the new member was computed from
		 * the others), so a pending resync has nothing left to do. */
		if (atomic_load(&a->nr_failed) == 0 && a->was_dirty) {
			a->was_dirty = false;
			__atomic_store_n(&a->bitmap.resync_regions, 0, __ATOMIC_RELEASE);
		}
		a->events++;
		r5_array_store_superblocks_locked(a);
		r5_log("slot %u (%s) rebuilt: array is %s", slot, a->slot[slot].member.path,
		       atomic_load(&a->nr_failed) == 0 ? "optimal" : "still degraded");
	}
	r5_mutex_unlock(&a->sb_lock);
}
