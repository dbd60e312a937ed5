/* cmd_umount.c - raid5fs umount: unmount, then wait until the daemon has
 * flushed the array, marked it clean and exited. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define UMOUNT_WAIT_S 60   /* give up waiting for the daemon after this */
#define UMOUNT_QUIET_S 5   /* say that we wait only after this */

static void
umount_help(void)
{
	printf("Usage: raid5fs umount MOUNTPOINT\n"
	       "Unmount a raid5fs array and wait (up to %d s) until its daemon has\n"
	       "written back every cached write, marked the members clean and exited.\n"
	       "Fails, changing nothing, while the image is in use (e.g. loop-mounted).\n\n"
	       "  -h, --help   this help\n",
	       UMOUNT_WAIT_S);
}

/* The daemon's pid from status.json ("pid": N); 0 if unknown. */
static pid_t
umount_daemon_pid(const char *abs)
{
	char path[PATH_MAX + 32];
	char *buf;
	size_t len;
	uint64_t pid = 0;

	snprintf(path, sizeof(path), "%s/.raid5fs/status.json", abs);
	if (cli_read_file(path, &buf, &len) < 0)
		return 0;
	if (!cli_json_u64(buf, "pid", &pid))
		pid = 0;
	free(buf);
	return pid > 1 && pid <= INT_MAX ? (pid_t)pid : 0;
}

/* As root umount2() gives the real errno; otherwise fusermount3 -u. */
static int
umount_unmount(const char *mnt, const char *abs)
{
	pid_t child;
	int status;

	if (geteuid() == 0) {
		if (umount2(abs, UMOUNT_NOFOLLOW) < 0) {
			if (errno == EBUSY)
				return cli_error(mnt, "cannot unmount: busy (is the image "
						      "still open or loop-mounted?)");
			return cli_error(mnt, "cannot unmount: %s", strerror(errno));
		}
		return 0;
	}
	fflush(NULL);
	child = fork();
	if (child < 0)
		return cli_error(mnt, "fork: %s", strerror(errno));
	if (child == 0) {
		execlp("fusermount3", "fusermount3", "-u", "-q", "--", abs, (char *)NULL);
		_exit(127);
	}
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR)
			return cli_error(mnt, "waitpid: %s", strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return cli_error(mnt, "cannot run fusermount3");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return cli_error(mnt, "cannot unmount (busy? is the image still open "
				      "or loop-mounted?)");
	return 0;
}

/* Waits until pid is gone (kill(pid, 0) fails with ESRCH). */
static int
umount_wait(const char *mnt, pid_t pid)
{
	const struct timespec tick = { 0, 50 * 1000 * 1000 };
	unsigned ticks, told = 0;

	for (ticks = 0; ticks < UMOUNT_WAIT_S * 20; ticks++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return 0;
		if (ticks == UMOUNT_QUIET_S * 20 && !told) {
			fprintf(stderr, "raid5fs: %s: waiting for the daemon (pid %ld) to flush "
					"and exit...\n", mnt, (long)pid);
			told = 1;
		}
		nanosleep(&tick, NULL);
	}
	return cli_error(mnt, "unmounted, but the daemon (pid %ld) is still running after %d s",
			 (long)pid, UMOUNT_WAIT_S);
}

int
cmd_umount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char abs[PATH_MAX];
	const char *mnt;
	pid_t pid;
	int c, rc;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			umount_help();
			return CLI_OK;
		default:
			return cli_bad_option("umount", argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage("umount", "need exactly one MOUNTPOINT");
	mnt = argv[optind];
	rc = cli_require_raid5fs_mount(mnt, abs);
	if (rc != 0)
		return rc;
	pid = umount_daemon_pid(abs); /* 0 when the daemon is already gone */
	rc = umount_unmount(mnt, abs);
	if (rc != 0)
		return rc;
	if (pid != 0 && pid != getpid())
		return umount_wait(mnt, pid);
	return CLI_OK;
}
