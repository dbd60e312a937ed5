/* frontend_internal.h - what the fuse/ files share (private to fuse/).
 *
 * The FUSE adapter (libfuse3 high-level API) is a thin layer in the spirit
 * of libfuse's examples/single_file.c: every decision about data lives in
 * core/; fuse/ maps paths to a handful of fixed nodes and turns the
 * engine's negative errnos into replies. One file per concern:
 *   fe_log.c     the log sink (stderr, then syslog), libfuse's messages,
 *                the daemon's stderr pumped into the log
 *   fe_nodes.c   the fixed tree: lookup, attributes, directories, and the
 *                operations that refuse to change it
 *   fe_image.c   /image: open, read, write, flush, fsync
 *   fe_control.c /.raid5fs/control: commands and their replies
 *   fe_status.c  /.raid5fs/status and status.json: snapshots
 *   fe_ops.c     the fuse_operations table, init, open/read/write/release
 *   fe_daemon.c  r5_frontend_run: mount, fork, serve, stop
 *
 * FUSE_USE_VERSION 312 rather than 35: only the 3.12 loop configuration
 * (fuse_loop_cfg_*) lets us raise the worker thread limit above libfuse's
 * default of 10; everything else used here is the 3.5 API. Include this
 * header before any other that could include <fuse.h>.
 */
#ifndef RAID5FS_FRONTEND_INTERNAL_H
#define RAID5FS_FRONTEND_INTERNAL_H

#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fuse.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>

#include "raid5fs/log.h"

struct r5_array;

/* Largest request we ask the kernel for. libfuse 3.14's receive buffer holds
 * 256 pages + header, so 1 MiB is also the most it can take; large requests
 * let the engine see whole stripes instead of 128 KiB slices. */
#define R5_FE_MAX_IO (1024u * 1024)
#define R5_FE_REPLY_MAX 1024 /* longest control reply kept */

/* The fixed nodes of the tree. */
enum r5_fe_node {
	R5_FE_NONE = 0,    /* no such path */
	R5_FE_ROOT,        /* "/" */
	R5_FE_IMAGE,       /* "/image" */
	R5_FE_META,        /* "/.raid5fs" */
	R5_FE_STATUS,      /* "/.raid5fs/status" */
	R5_FE_STATUS_JSON, /* "/.raid5fs/status.json" */
	R5_FE_CONTROL,     /* "/.raid5fs/control" */
	R5_FE_EVENTS,      /* "/.raid5fs/events": the last events, JSON lines */
};

/* One open file (fi->fh). /image uses the two shared handles in struct
 * r5_fe (no allocation on the I/O path); the status and control files get
 * their own. */
struct r5_fe_file {
	enum r5_fe_node node; /* which node was opened */
	bool writable;        /* opened O_WRONLY or O_RDWR */
	bool allocated;       /* freed in release() */
	char *buf;            /* status snapshot taken at open(), else NULL */
	size_t len;           /* bytes in buf */
	char *reply;          /* control: reply to this handle's last command, "" if none */
};

/* Mount-wide state, fuse_get_context()->private_data. Immutable while the
 * loop runs except the control replies (protected by reply_lock). */
struct r5_fe {
	struct r5_array *a;           /* the started array */
	uint64_t size;                /* image size in bytes */
	uid_t uid;                    /* owner of every node: the mounting user */
	gid_t gid;                    /* group of every node: the mounting user's */
	struct timespec mount_time;   /* every node's atime/mtime/ctime */
	bool direct_io;               /* FOPEN_DIRECT_IO on /image */
	unsigned max_read;            /* must equal the max_read mount option */
	struct r5_fe_file image_ro;   /* handle of read-only opens of /image */
	struct r5_fe_file image_rw;   /* handle of writable opens: flushed on close */
	struct r5_fe_file root_dir;   /* handle of opendir("/") */
	struct r5_fe_file meta_dir;   /* handle of opendir("/.raid5fs") */
	pthread_mutex_t reply_lock;   /* protects reply and every control handle's reply */
	char reply[R5_FE_REPLY_MAX];  /* last control reply of the mount, "ok\n" or "error: ...\n" */
};

/* The events program (fe_events.c): started before the array, so that it
 * hears every event; stopped after the loop, before the array stops.
 * NULL from start when out of memory. */
struct r5_fe_hook;
struct r5_fe_hook *fe_hook_start(struct r5_array *a, const char *program, const char *mountpoint);
void fe_hook_stop(struct r5_array *a, struct r5_fe_hook *h);

/* The thread that forwards the daemon's stderr into the log (fe_log.c). */
struct r5_fe_pump {
	pthread_t thread; /* reads the pipe that is now fd 2 */
	bool started;     /* thread runs and must be joined */
};

/* ---- small helpers every operation uses ---- */

static inline struct r5_fe *
fe_get(void)
{
	return fuse_get_context()->private_data;
}

static inline struct r5_fe_file *
fe_file(const struct fuse_file_info *fi)
{
	return (struct r5_fe_file *)(uintptr_t)fi->fh;
}

/* Engine result -> reply: a plausible negative errno passes, anything else
 * becomes -EIO (as nbdkit's get_error does). */
static inline int
fe_errno(long r)
{
	if (r < 0 && r >= -4095)
		return (int)r;
	return -EIO;
}

/* The mounting user and root may write; everybody may read status (only
 * relevant with -o allow_other). */
static inline bool
fe_caller_is_owner(const struct r5_fe *fe)
{
	uid_t uid = fuse_get_context()->uid;

	return uid == 0 || uid == fe->uid;
}

/* ---- fe_log.c ---- */

/* Before the mount, single-threaded: installs the log sink (stderr until
 * fe_log_detach), keeps libfuse's messages (capture). */
void fe_log_start(void);
/* Mounted: libfuse's messages are logged as they come. */
void fe_log_capture_end(void);
/* ": <libfuse's last message>" for an error line, or "". */
const char *fe_fuse_reason(char *buf, size_t len);
/* Daemon only: log to syslog from now on; stdin/stdout to /dev/null,
 * stderr into the log through pump. */
void fe_log_detach(struct r5_fe_pump *pump);
/* Joins the pump (if started) after pointing stderr at /dev/null. */
void fe_log_stop_pump(const struct r5_fe_pump *pump);

/* ---- fe_nodes.c ---- */

enum r5_fe_node fe_lookup(const char *path);
int fe_getattr(const char *path, struct stat *st, struct fuse_file_info *fi);
int fe_opendir(const char *path, struct fuse_file_info *fi);
int fe_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
	       struct fuse_file_info *fi, enum fuse_readdir_flags flags);
int fe_truncate(const char *path, off_t size, struct fuse_file_info *fi);
int fe_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi);
int fe_chmod(const char *path, mode_t mode, struct fuse_file_info *fi);
int fe_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi);
int fe_create(const char *path, mode_t mode, struct fuse_file_info *fi);
int fe_mkdir(const char *path, mode_t mode);
int fe_unlink(const char *path);
int fe_rename(const char *from, const char *to, unsigned int flags);
int fe_statfs(const char *path, struct statvfs *sv);

/* ---- fe_image.c ---- */

int fe_image_open(struct r5_fe *fe, struct fuse_file_info *fi, bool writable);
int fe_image_read(struct r5_fe *fe, char *buf, size_t size, off_t off);
int fe_image_write(struct r5_fe *fe, const char *buf, size_t size, off_t off);
int fe_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi);
int fe_flush(const char *path, struct fuse_file_info *fi);
int fe_fsync(const char *path, int datasync, struct fuse_file_info *fi);

/* ---- fe_control.c ---- */

int fe_control_open(struct r5_fe_file *f);
int fe_control_write(struct r5_fe *fe, struct r5_fe_file *f, const char *buf, size_t size);
int fe_control_read(struct r5_fe *fe, struct r5_fe_file *f, char *buf, size_t size, off_t off);

/* ---- fe_status.c ---- */

int fe_status_snapshot(struct r5_fe *fe, struct r5_fe_file *f);
int fe_status_read(const struct r5_fe_file *f, char *buf, size_t size, off_t off);

/* ---- fe_ops.c ---- */

extern const struct fuse_operations fe_ops;

#endif
