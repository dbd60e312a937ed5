/* monitor.c - the monitor thread: notices a member file that is deleted,
 * renamed away, replaced by another file or truncated, without waiting for
 * I/O to hit it (inotify wakes it at once; a 250 ms poll catches the rest),
 * and runs safe mode's timer: the array is marked clean when it has been
 * idle (safe_mode.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array_internal.h"
#include "raid5fs/util.h"

#define R5_MONITOR_POLL_MS 250

/* Why this member file can no longer be trusted, or NULL (also when the
 * slot has no member now). */
static const char *
r5_member_gone(struct r5_array *a, uint32_t slot, char *why, size_t len)
{
	struct stat open_st, path_st;
	uint64_t need = r5_members_data_offset(a->members) + a->geo.member_data_size;
	char path[PATH_MAX];
	const void *id;
	int err;

	if (!r5_members_file_info(a->members, slot, &id, path, sizeof(path), &open_st, &err) || err < 0)
		return NULL; /* no stat op: only I/O errors can tell */
	if (open_st.st_nlink == 0) {
		snprintf(why, len, "member file deleted");
		return why;
	}
	if ((uint64_t)open_st.st_size < need) {
		snprintf(why, len, "member file truncated to %lld bytes (needs %llu)",
			 (long long)open_st.st_size, (unsigned long long)need);
		return why;
	}
	if (stat(path, &path_st) < 0) {
		snprintf(why, len, "member file renamed or removed (%s: %s)", path, strerror(errno));
		return why;
	}
	if (path_st.st_dev != open_st.st_dev || path_st.st_ino != open_st.st_ino) {
		snprintf(why, len, "another file now stands at %s", path);
		return why;
	}
	return NULL;
}

/* Checks every present member file once; fails the ones that are gone. */
static void
r5_monitor_check_members(struct r5_array *a)
{
	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		char why[PATH_MAX + 200];

		if (r5_member_gone(a, s, why, sizeof(why)))
			r5_members_fail(a->members, s, "%s", why);
	}
}

/* (Re)watches every present member's path; wd[s] is -1 when unwatched. */
static void
r5_monitor_watch(struct r5_array *a, int ifd, int *wd, const void **watched)
{
	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		char path[PATH_MAX];
		const void *ctx = NULL;
		int err;

		if (!r5_members_file_info(a->members, s, &ctx, path, sizeof(path), NULL, &err))
			ctx = NULL;
		if (ctx == watched[s])
			continue;
		if (wd[s] >= 0)
			inotify_rm_watch(ifd, wd[s]);
		wd[s] = -1;
		watched[s] = ctx;
		if (ctx)
			wd[s] = inotify_add_watch(ifd, path,
						  IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB |
							  IN_DONT_FOLLOW);
	}
}

static void *
r5_monitor_main(void *arg)
{
	struct r5_array *a = arg;
	int wd[R5_MAX_MEMBERS];
	const void *watched[R5_MAX_MEMBERS] = { NULL };
	int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	char evbuf[4096];

	for (int i = 0; i < R5_MAX_MEMBERS; i++)
		wd[i] = -1;
	for (;;) {
		struct pollfd pfd[2] = { { a->monitor.pipe[0], POLLIN, 0 }, { ifd, POLLIN, 0 } };

		if (ifd >= 0)
			r5_monitor_watch(a, ifd, wd, watched);
		if (poll(pfd, ifd >= 0 ? 2 : 1, R5_MONITOR_POLL_MS) > 0 && (pfd[0].revents & POLLIN))
			break;
		if (ifd >= 0)
			while (read(ifd, evbuf, sizeof(evbuf)) > 0)
				; /* the events only wake us; the checks below decide */
		r5_monitor_check_members(a);
		r5_spares_take_over(a);
		if (atomic_load(&a->safe.marked_active) &&
		    r5_now_ns() - r5_sync_last_user_io_ns(a->sync) >= a->safe.idle_ns)
			r5_safe_mode_try_clean(a);
	}
	if (ifd >= 0)
		close(ifd);
	return NULL;
}

int
r5_monitor_start(struct r5_array *a)
{
	int err;

	if (pipe2(a->monitor.pipe, O_CLOEXEC) < 0)
		return -errno;
	err = pthread_create(&a->monitor.thread, NULL, r5_monitor_main, a);
	if (err) {
		close(a->monitor.pipe[0]);
		close(a->monitor.pipe[1]);
		return -err;
	}
	a->monitor.running = true;
	return 0;
}

void
r5_monitor_stop(struct r5_array *a)
{
	if (!a->monitor.running)
		return;
	if (write(a->monitor.pipe[1], "x", 1) < 0)
		r5_log("warning: cannot wake the monitor thread: %s", strerror(errno));
	pthread_join(a->monitor.thread, NULL);
	close(a->monitor.pipe[0]);
	close(a->monitor.pipe[1]);
	a->monitor.running = false;
}
