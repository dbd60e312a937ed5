/* spares.c - hot spares (issue 11, item 1): files standing by to take a
 * failed slot. `add FILE` on the control file checks the file, writes a
 * superblock with the spare role into it and lists its member uuid in
 * every member's superblock, so that the spare is one again when it is
 * given at mount (md's way). When a slot fails and the array can still be
 * rebuilt, the monitor thread hands the first spare to replace
 * (replace.c) at once, with no command: recovery starts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array_internal.h"
#include "locks.h"
#include "raid5fs/events.h"
#include "raid5fs/util.h"

/* The members' superblocks list the spares kept now. spares lock held. */
static int
record(struct r5_array *a)
{
	return r5_members_set_spares(a->members, (const uint8_t(*)[16])a->spares.uuid, a->spares.n);
}

/* Drops spare i from the list (not from the superblocks). spares lock held. */
static void
drop(struct r5_spares *sp, unsigned i)
{
	memmove(sp->path[i], sp->path[i + 1], (sp->n - i - 1) * sizeof(sp->path[0]));
	memmove(sp->uuid[i], sp->uuid[i + 1], (sp->n - i - 1) * sizeof(sp->uuid[0]));
	sp->n--;
}

int
r5_spares_adopt(struct r5_array *a, const char *path, const uint8_t uuid[16])
{
	int ret = -ENOSPC;

	r5_mutex_lock(&a->spares.lock);
	if (a->spares.n < R5_MAX_SPARES) {
		snprintf(a->spares.path[a->spares.n], sizeof(a->spares.path[0]), "%s", path);
		memcpy(a->spares.uuid[a->spares.n++], uuid, 16);
		ret = 0;
	}
	r5_mutex_unlock(&a->spares.lock);
	return ret;
}

void
r5_spares_start(struct r5_array *a)
{
	r5_mutex_lock(&a->spares.lock);
	/* every spare adopted is listed (assembly checked it): the counts
	 * tell whether one listed was not given */
	if (r5_members_nr_spares(a->members) != a->spares.n && record(a) == 0)
		r5_log("spares: %u given at mount; the superblocks now list those", a->spares.n);
	r5_mutex_unlock(&a->spares.lock);
}

void
r5_spares_init(struct r5_spares *sp)
{
	r5_mutex_init(&sp->lock);
	sp->n = 0;
}

void
r5_spares_destroy(struct r5_spares *sp)
{
	r5_mutex_destroy(&sp->lock);
}

/* Is the file at path (st when it exists) a member or a spare already?
 * The reason in err, 0 when it is neither. spares lock held. */
static int
already_used(struct r5_array *a, const char *path, const struct stat *st, bool exists, char *err,
	     size_t errlen)
{
	const int slot = exists ? r5_array_slot_of_file(a, st) : -1;

	if (slot >= 0) {
		r5_errf(err, errlen, "%s: is the member in slot %d", path, slot);
		return -EBUSY;
	}
	for (unsigned i = 0; i < a->spares.n; i++) {
		struct stat other;

		if (strcmp(a->spares.path[i], path) == 0 ||
		    (exists && stat(a->spares.path[i], &other) == 0 && other.st_dev == st->st_dev &&
		     other.st_ino == st->st_ino)) {
			r5_errf(err, errlen, "%s: is a spare already", path);
			return -EEXIST;
		}
	}
	return 0;
}

/* Gives the spare's file its superblock: the members' own, with the spare
 * role and a member uuid of its own (out); a new file is created sparse,
 * owner only, at the members' size (removed again on failure). */
static int
write_spare(struct r5_array *a, const char *path, bool exists, uint64_t need, uint8_t uuid[16],
	    char *err, size_t errlen)
{
	struct r5_superblock sb;
	struct r5_member m = { 0 };
	bool have = false;
	int ret;

	for (uint32_t s = 0; s < a->geo.nr_members && !have; s++)
		have = r5_members_superblock(a->members, s, &sb);
	if (!have) {
		r5_errf(err, errlen, "%s: no member to copy the superblock from", path);
		return -EIO;
	}
	ret = r5_member_open_file(&m, path, !exists);
	if (ret < 0) {
		r5_errf(err, errlen, "%s: cannot %s it: %s", path, exists ? "open" : "create",
			strerror(-ret));
		return ret;
	}
	int64_t size = r5_member_size(&m);

	if (size >= 0 && (uint64_t)size < need)
		ret = r5_member_truncate(&m, need);
	r5_random_bytes(uuid, 16);
	memcpy(sb.member_uuid, uuid, 16);
	sb.role = R5_SB_ROLE_SPARE;
	sb.recovery_offset = R5_OFFSET_DONE;
	sb.flags &= ~R5_SB_FLAG_PPL; /* its own log is empty */
	if (ret == 0)
		ret = r5_sb_store(&m, &sb);
	r5_member_close(&m);
	if (ret < 0) {
		r5_errf(err, errlen, "%s: cannot write its superblock: %s", path, strerror(-ret));
		if (!exists)
			unlink(path);
	}
	return ret;
}

int
r5_array_spare_add(struct r5_array *a, const char *path, char *err, size_t errlen)
{
	const uint64_t need = r5_members_data_offset(a->members) + a->geo.member_data_size;
	struct r5_superblock sb;
	struct r5_member m = { 0 };
	uint8_t uuid[16];
	struct stat st;
	int ret;

	if (path[0] != '/') {
		r5_errf(err, errlen, "%s: give an absolute path", path);
		return -EINVAL;
	}
	r5_mutex_lock(&a->spares.lock);
	const bool exists = stat(path, &st) == 0;

	ret = already_used(a, path, &st, exists, err, errlen);
	if (!ret && a->spares.n == R5_MAX_SPARES) {
		r5_errf(err, errlen, "%s: the array has %u spares already", path, R5_MAX_SPARES);
		ret = -ENOSPC;
	}
	if (!ret && exists) {
		/* an existing file must be free to overwrite and big enough */
		if (!S_ISREG(st.st_mode)) {
			r5_errf(err, errlen, "%s: not a regular file", path);
			ret = -EINVAL;
		} else if ((uint64_t)st.st_size < need && st.st_size > 0) {
			r5_errf(err, errlen, "%s: too small (%lld bytes, a member needs %llu)", path,
				(long long)st.st_size, (unsigned long long)need);
			ret = -ENOSPC;
		} else if (st.st_size > 0 && (ret = r5_member_open_file(&m, path, 0)) == 0) {
			const bool is_sb = r5_sb_load(&m, &sb) == R5_SB_OK;

			if (is_sb && sb.role == R5_SB_ROLE_SPARE && !memcmp(sb.array_uuid, a->uuid, 16)) {
				ret = 0; /* a spare of this array removed before: again */
			} else if (is_sb) {
				char other[40];

				r5_uuid_format(sb.array_uuid, other);
				r5_errf(err, errlen, "%s: is a %s of array %s%s", path,
					sb.role == R5_SB_ROLE_SPARE ? "spare" : "member", other,
					memcmp(sb.array_uuid, a->uuid, 16) ? "" : " (this one)");
				ret = -EBUSY;
			} else {
				r5_errf(err, errlen, "%s: exists and is not empty; give a new or empty file",
					path);
				ret = -EEXIST;
			}
			r5_member_close(&m);
		} else if (ret < 0) {
			r5_errf(err, errlen, "%s: cannot open: %s", path, strerror(-ret));
		}
	}
	if (!ret)
		ret = write_spare(a, path, exists, need, uuid, err, errlen);
	if (!ret) {
		snprintf(a->spares.path[a->spares.n], sizeof(a->spares.path[0]), "%s", path);
		memcpy(a->spares.uuid[a->spares.n++], uuid, 16);
		ret = record(a);
		if (ret < 0) {
			a->spares.n--;
			r5_errf(err, errlen, "%s: cannot record it in the members' superblocks: %s",
				path, ret == -EOPNOTSUPP ? "their format (version 1) has no room for spares"
							 : strerror(-ret));
		}
	}
	if (!ret) {
		r5_log("%s: spare added", path);
		r5_event(r5_members_notices(a->members), "spare-added", -1, path, "%u spare%s",
			 a->spares.n, a->spares.n == 1 ? "" : "s");
	}
	r5_mutex_unlock(&a->spares.lock);
	return ret;
}

int
r5_array_spare_remove(struct r5_array *a, const char *path, char *err, size_t errlen)
{
	int ret = -ENOENT;

	r5_mutex_lock(&a->spares.lock);
	for (unsigned i = 0; i < a->spares.n; i++) {
		if (strcmp(a->spares.path[i], path) != 0)
			continue;
		drop(&a->spares, i);
		if (record(a) < 0)
			r5_log("warning: %s: the members' superblocks still list it", path);
		r5_log("%s: spare removed", path);
		r5_event(r5_members_notices(a->members), "spare-removed", -1, path, "%u left",
			 a->spares.n);
		ret = 0;
		break;
	}
	if (ret)
		r5_errf(err, errlen, "%s: not a spare of this array", path);
	r5_mutex_unlock(&a->spares.lock);
	return ret;
}

void
r5_spares_list(struct r5_array *a, char (*out)[PATH_MAX], unsigned *n)
{
	r5_mutex_lock(&a->spares.lock);
	memcpy(out, a->spares.path, a->spares.n * sizeof(a->spares.path[0]));
	*n = a->spares.n;
	r5_mutex_unlock(&a->spares.lock);
}

void
r5_spares_take_over(struct r5_array *a)
{
	char err[512];

	if (r5_members_failed(a->members) || r5_members_nr_failed(a->members) == 0)
		return;
	const int busy = r5_sync_action(a->sync);

	if (busy == R5_SYNC_RECOVER || busy == R5_SYNC_RESYNC)
		return; /* a rebuild is on its way, or a resync about to stop: later */
	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		enum r5_slot_state st = r5_members_state(a->members, s);

		if (st != R5_SLOT_FAULTY && st != R5_SLOT_MISSING)
			continue;
		r5_mutex_lock(&a->spares.lock);
		while (a->spares.n > 0) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s", a->spares.path[0]);
			drop(&a->spares, 0);
			if (r5_array_replace_spare(a, s, path, err, sizeof(err)) == 0) {
				r5_log("slot %u: spare %s took over", s, path);
				(void)record(a); /* a member now: no longer listed */
				break; /* replace told of it (spare-active) */
			}
			/* that one cannot serve (gone, too small now): the next */
			r5_log("slot %u: spare %s cannot take over: %s", s, path, err);
			r5_event(r5_members_notices(a->members), "spare-removed", -1, path,
				 "cannot take over: %s", err);
		}
		r5_mutex_unlock(&a->spares.lock);
		return; /* one slot at a time: with two failed there is nothing to rebuild from */
	}
}
