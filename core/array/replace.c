/* replace.c - a new member for a failed slot: check it, give it a
 * superblock, put it in the slot as "rebuilding" and start recovery. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array_internal.h"
#include "raid5fs/events.h"
#include "raid5fs/util.h"

int
r5_array_slot_of_file(struct r5_array *a, const struct stat *st)
{
	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		struct stat other;

		if (r5_members_present(a->members, s) &&
		    stat(r5_members_member(a->members, s)->path, &other) == 0 &&
		    other.st_dev == st->st_dev && other.st_ino == st->st_ino)
			return (int)s;
	}
	return -1;
}

/* Opens (or creates) the replacement file and sizes it. The file must be
 * new, empty, or a raid5fs member that is not in use in this array; or a
 * spare (checked when it was added: zeros at the members' size). */
static int
r5_open_replacement(struct r5_array *a, const char *path, bool spare, struct r5_member *m,
		    char *err, size_t errlen)
{
	uint64_t need = r5_members_data_offset(a->members) + a->geo.member_data_size;
	struct r5_superblock old;
	struct stat st = { 0 };
	int ret;

	const int in_use = stat(path, &st) == 0 ? r5_array_slot_of_file(a, &st) : -1;

	if (in_use >= 0) {
		r5_errf(err, errlen, "%s: is the member in slot %d", path, in_use);
		return -EBUSY;
	}
	ret = r5_member_open_file(m, path, 0);
	if (ret == -ENOENT)
		ret = r5_member_open_file(m, path, 1);
	if (ret < 0) {
		r5_errf(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (r5_member_lock(m) == -EBUSY) {
		r5_errf(err, errlen, "%s: " R5_MEMBER_IN_USE, path);
		ret = -EBUSY;
		goto fail;
	}
	if (r5_member_stat(m, &st) == 0 && !S_ISREG(st.st_mode)) {
		r5_errf(err, errlen, "%s: not a regular file", path);
		ret = -EINVAL;
		goto fail;
	}
	if (!spare && st.st_size > 0 && r5_sb_load(m, &old) != R5_SB_OK) {
		r5_errf(err, errlen, "%s: exists and is not empty (not a raid5fs member)", path);
		ret = -EEXIST;
		goto fail;
	}
	/* a raid5fs member (of this or another array) that is not in use:
	 * it will be rebuilt from scratch */
	ret = r5_member_truncate(m, need);
	if (ret < 0) {
		r5_errf(err, errlen, "%s: cannot size it to %llu bytes: %s", path,
			 (unsigned long long)need, strerror(-ret));
		goto fail;
	}
	return 0;
fail:
	r5_member_close(m);
	return ret;
}

/* The new member's bitmap and in-use map, written before it takes I/O
 * (the member set calls this with its superblock lock held). */
static int
write_bitmap(void *ctx, struct r5_member *m, const struct r5_superblock *sb)
{
	struct r5_array *a = ctx;
	int err = r5_bitmap_write_member(a->bitmap, m, sb->bitmap_offset);

	return err ? err : r5_usemap_write_member(a->usemap, m, sb->usemap_offset);
}

static int
replace_with(struct r5_array *a, uint32_t slot, const char *path, bool spare, char *err,
	     size_t errlen)
{
	struct r5_member m = { 0 };
	int ret;

	if (slot >= a->geo.nr_members) {
		r5_errf(err, errlen, "slot %u does not exist (the array has %u)", slot,
			a->geo.nr_members);
		return -EINVAL;
	}
	enum r5_slot_state st = r5_members_state(a->members, slot);
	if (st == R5_SLOT_IN_SYNC) {
		r5_errf(err, errlen, "slot %u is in sync; fail it first (raid5fs fail)", slot);
		return -EBUSY;
	}
	if (st == R5_SLOT_REBUILDING) {
		r5_errf(err, errlen,
			"slot %u is already being rebuilt; wait for it (or resume it: raid5fs recover)",
			slot);
		return -EBUSY;
	}
	if (r5_members_failed(a->members)) {
		r5_errf(err, errlen, "the array has failed (two members lost): nothing to rebuild from");
		return -EIO;
	}
	int busy = r5_sync_action(a->sync);
	if (busy) {
		/* a check or repair gives way to recovery, as in md */
		if (busy == R5_SYNC_CHECK || busy == R5_SYNC_REPAIR) {
			r5_sync_stop(a->sync);
		} else {
			r5_errf(err, errlen, "a %s is running; wait for it or run idle",
				r5_sync_action_name(busy));
			return -EBUSY;
		}
	}
	if (!path || !*path)
		path = r5_members_member(a->members, slot)->path;
	if (!*path) {
		r5_errf(err, errlen, "slot %u has no known path: give the new member file", slot);
		return -EINVAL;
	}
	ret = r5_open_replacement(a, path, spare, &m, err, errlen);
	if (ret < 0)
		return ret;
	snprintf(m.path, sizeof(m.path), "%s", path);
	ret = r5_members_add_rebuilding(a->members, slot, &m, write_bitmap, a, err, errlen);
	if (ret < 0)
		return ret;
	r5_log("slot %u: rebuilding onto %s", slot, path);
	if (spare) /* before the rebuild's own events */
		r5_event(r5_members_notices(a->members), "spare-active", (int)slot, path,
			 "took over from the failed member");

	ret = r5_sync_start(a->sync, R5_SYNC_RECOVER, (int)slot, 0);
	if (ret < 0)
		r5_errf(err, errlen, "cannot start recovery: %s", strerror(-ret));
	return ret;
}

int
r5_array_replace(struct r5_array *a, uint32_t slot, const char *path, char *err, size_t errlen)
{
	return replace_with(a, slot, path, false, err, errlen);
}

int
r5_array_replace_spare(struct r5_array *a, uint32_t slot, const char *path, char *err,
		       size_t errlen)
{
	return replace_with(a, slot, path, true, err, errlen);
}
