/* frontend.h - the FUSE adapter: serves one array as a mounted tree.
 *
 * Tree shown at the mount point:
 *
 *   /image                 the array, a fixed-size regular file (0600)
 *   /.raid5fs/status       text status, snapshot taken at open()
 *   /.raid5fs/status.json  JSON status, snapshot taken at open()
 *   /.raid5fs/control      write a command line, read its reply back from
 *                          the same open file (each open keeps its own
 *                          reply; one that never wrote reads the mount's
 *                          last reply)
 *
 * This is the only code that knows libfuse; the command (tools/cli) only
 * sees this header.
 */
#ifndef RAID5FS_FRONTEND_H
#define RAID5FS_FRONTEND_H

#include <stdbool.h>

struct r5_array;

struct r5_frontend_opts {
	bool foreground;       /* stay attached to the terminal, log to stderr */
	bool direct_io;        /* open /image with FOPEN_DIRECT_IO (no page cache) */
	unsigned max_threads;  /* FUSE worker threads; 0 = default */
	const char *fuse_opts; /* extra comma-separated libfuse -o options, or NULL */
	const char *events_program; /* run for each event (fe_events.c), or NULL */
};

/* Defaults: background, direct_io on, default thread count, no extra
 * options. */
void r5_frontend_opts_init(struct r5_frontend_opts *o);

/* Mounts the array at mountpoint and serves it until it is unmounted or the
 * daemon gets SIGINT/SIGTERM/SIGHUP.
 *
 * Takes ownership of a, which must be assembled but not started: the daemon
 * forks (unless foreground) BEFORE r5_array_start, because threads do not
 * survive fork. On every path out of the serving process r5_array_stop(a) is
 * called (flush, members marked clean), after the loop has stopped.
 *
 * Without foreground, once mounted, the process forks: the calling process
 * waits until the daemon has started the engine and then calls _exit()
 * with 0 (mount ready) or 1 (failed, nothing left mounted); from then on
 * only the daemon returns from here. A failure before the fork (bad FUSE
 * option, mount refused) returns 1 in the caller.
 *
 * Returns 0 after a clean stop, 1 on any failure (already logged as one
 * line naming the mount point). */
int r5_frontend_run(struct r5_array *a, const char *mountpoint,
		    const struct r5_frontend_opts *o);

#endif
