/* fe_daemon.c - process life: r5_frontend_run mounts, forks, starts the
 * engine, serves until unmount or a signal, and stops the array.
 *
 * Process order (threads do not survive fork):
 *   caller: r5_array_assemble (validation, members opened, no threads)
 *   here:   fuse_new -> fuse_mount -> fork (unless foreground)
 *           -> r5_array_start -> tell the waiting parent "ready"
 *           -> fuse_loop_mt ... loop returns (unmount or signal)
 *           -> fuse_unmount -> r5_array_stop (flush, clean) -> fuse_destroy
 *
 * We fork ourselves instead of calling fuse_daemonize(): fuse_daemonize
 * lets the parent exit as soon as the child exists, so a failing
 * r5_array_start would still give "raid5fs mount" exit status 0. Here the
 * parent waits on a pipe for one status byte written after the engine has
 * started, so the command returns only once the mount is really usable, and
 * fails when it is not.
 */
#include "frontend_internal.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raid5fs/array.h"
#include "raid5fs/frontend.h"
#include "raid5fs/util.h"

/* FUSE workers (libfuse: 10). Each holds a 1 MiB request buffer, so this
 * bounds the daemon's memory beside the stripe cache: with 64, peak RSS was
 * 125 MiB (tools/bench.sh), with 16 it is 39 MiB under fio randrw at
 * iodepth 64; 4k random read IOPS on ext4 over a direct-io loop were the
 * same within noise (31-41K with 16, 37-44K with 64, 2 cores). */
#define R5_FE_DEFAULT_THREADS 16
#define R5_FE_BASE_OPTS "fsname=raid5fs,subtype=raid5fs"

/* Last max_read=N in the option string (libfuse refuses an init() value
 * different from the mount option, so both come from here). */
static unsigned
fe_opt_max_read(const char *opts)
{
	const char *p = opts;
	unsigned v = R5_FE_MAX_IO;

	while ((p = strstr(p, "max_read=")) != NULL) {
		if (p == opts || p[-1] == ',')
			v = (unsigned)strtoul(p + strlen("max_read="), NULL, 0);
		p++;
	}
	return v;
}

/* Forks; the parent waits for the child's status byte and _exit()s with it.
 * Returns (in the child) the write end of the status pipe, or -1. */
static int
fe_daemonize(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		r5_logp(R5_LOG_ERR, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		r5_logp(R5_LOG_ERR, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid > 0) {
		unsigned char status = 1;
		ssize_t n;

		close(p[1]);
		do {
			n = read(p[0], &status, 1);
		} while (n < 0 && errno == EINTR);
		/* EOF without a byte: the daemon died before it was ready. */
		_exit(n == 1 ? status : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		r5_logp(R5_LOG_WARNING, "setsid: %s", strerror(errno));
	if (chdir("/") < 0)
		r5_logp(R5_LOG_WARNING, "chdir /: %s", strerror(errno));
	return p[1];
}

static void
fe_notify_parent(int fd, unsigned char status)
{
	ssize_t n;

	if (fd < 0)
		return;
	do {
		n = write(fd, &status, 1);
	} while (n < 0 && errno == EINTR);
	close(fd);
}

void
r5_frontend_opts_init(struct r5_frontend_opts *o)
{
	memset(o, 0, sizeof(*o));
	/* direct_io on by default: raid5fs caches in its stripe cache, a second
	 * copy in the page cache only costs memory and copies. To be confirmed
	 * by the benchmark (tools/bench) against direct_io=0. */
	o->direct_io = true;
}

int
r5_frontend_run(struct r5_array *a, const char *mountpoint, const struct r5_frontend_opts *o)
{
	struct r5_fe fe;
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop_cfg = NULL;
	struct fuse *f = NULL;
	struct fuse_session *se;
	char *optstr = NULL;
	char size_str[32];
	char reason[1040];
	struct r5_fe_pump pump = { .started = false };
	struct r5_fe_hook *hook = NULL;
	bool mounted = false;
	int ready_fd = -1;
	int rc = 1;
	int r;

	memset(&fe, 0, sizeof(fe));
	fe.a = a;
	fe.size = r5_array_size(a);
	fe.uid = getuid();
	fe.gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fe.mount_time);
	fe.direct_io = o->direct_io;
	fe.image_ro.node = R5_FE_IMAGE;
	fe.image_rw.node = R5_FE_IMAGE;
	fe.image_rw.writable = true;
	fe.root_dir.node = R5_FE_ROOT;
	fe.meta_dir.node = R5_FE_META;
	pthread_mutex_init(&fe.reply_lock, NULL);
	snprintf(fe.reply, sizeof(fe.reply), "ok\n");

	fe_log_start();

	if (asprintf(&optstr, R5_FE_BASE_OPTS ",max_read=%u%s%s", R5_FE_MAX_IO,
		     o->fuse_opts != NULL && o->fuse_opts[0] != '\0' ? "," : "",
		     o->fuse_opts != NULL ? o->fuse_opts : "") < 0) {
		optstr = NULL;
		r5_logp(R5_LOG_ERR, "%s: out of memory", mountpoint);
		goto out;
	}
	fe.max_read = fe_opt_max_read(optstr);
	if (fuse_opt_add_arg(&args, "raid5fs") != 0 || fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, optstr) != 0) {
		r5_logp(R5_LOG_ERR, "%s: out of memory", mountpoint);
		goto out;
	}
	f = fuse_new(&args, &fe_ops, sizeof(fe_ops), &fe);
	if (f == NULL) {
		r5_logp(R5_LOG_ERR, "%s: cannot set up FUSE%s", mountpoint,
		        fe_fuse_reason(reason, sizeof(reason)));
		goto out;
	}
	if (fuse_mount(f, mountpoint) != 0) {
		r5_logp(R5_LOG_ERR, "%s: FUSE mount failed%s", mountpoint,
		        fe_fuse_reason(reason, sizeof(reason)));
		goto out;
	}
	mounted = true;
	se = fuse_get_session(f);
	fe_log_capture_end();

	if (!o->foreground) {
		ready_fd = fe_daemonize();
		if (ready_fd < 0)
			goto out;
	}
	/* From here on we are the serving process: threads may start. */
	if (o->events_program && !(hook = fe_hook_start(a, o->events_program, mountpoint))) {
		r5_logp(R5_LOG_ERR, "%s: cannot start the events program's thread", mountpoint);
		goto out;
	}
	r = r5_array_start(a);
	if (r < 0) {
		r5_logp(R5_LOG_ERR, "%s: cannot start the array: %s", mountpoint,
		        strerror(-fe_errno(r)));
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		r5_logp(R5_LOG_ERR, "%s: cannot install signal handlers", mountpoint);
		goto out;
	}
	loop_cfg = fuse_loop_cfg_create();
	if (loop_cfg == NULL) {
		r5_logp(R5_LOG_ERR, "%s: out of memory", mountpoint);
		goto out_signals;
	}
	fuse_loop_cfg_set_max_threads(loop_cfg, o->max_threads ? o->max_threads : R5_FE_DEFAULT_THREADS);
	fuse_loop_cfg_set_clone_fd(loop_cfg, 1); /* one /dev/fuse fd per worker: less contention */

	r5_logp(R5_LOG_INFO, "%s: serving image of %s (%s), pid %ld", mountpoint,
	        r5_format_size(fe.size, size_str, sizeof(size_str)),
	        fe.direct_io ? "direct_io" : "page cache", (long)getpid());
	if (!o->foreground)
		fe_log_detach(&pump);
	fe_notify_parent(ready_fd, 0);
	ready_fd = -1;

	/* 0 after an unmount, the signal number after SIGTERM etc., or -1. */
	r = fuse_loop_mt(f, loop_cfg);
	if (r > 0)
		r5_logp(R5_LOG_NOTICE, "%s: %s, stopping", mountpoint, strsignal(r));
	else if (r < 0)
		r5_logp(R5_LOG_ERR, "%s: FUSE loop failed (%d), stopping", mountpoint, r);
	else
		r5_logp(R5_LOG_INFO, "%s: unmounted, stopping", mountpoint);
	rc = 0;

out_signals:
	fuse_remove_signal_handlers(se);
out:
	/* Unmount first (no request can arrive any more: the loop is over),
	 * then flush and close the array, then free libfuse's state. */
	if (mounted)
		fuse_unmount(f);
	fe_hook_stop(a, hook);
	r = r5_array_stop(a);
	if (r < 0) {
		r5_logp(R5_LOG_ERR, "%s: stopping the array failed: %s; members may need a resync",
		        mountpoint, strerror(-fe_errno(r)));
		rc = 1;
	} else if (rc == 0) {
		r5_logp(R5_LOG_INFO, "%s: array stopped", mountpoint);
	}
	if (f != NULL)
		fuse_destroy(f);
	if (loop_cfg != NULL)
		fuse_loop_cfg_destroy(loop_cfg);
	fuse_opt_free_args(&args);
	free(optstr);
	fe_notify_parent(ready_fd, 1); /* only if we failed before "ready" */
	fe_log_capture_end();
	fe_log_stop_pump(&pump);
	pthread_mutex_destroy(&fe.reply_lock);
	return rc;
}
