/* frontend.c - the FUSE adapter (libfuse3 high-level API).
 *
 * A thin layer in the spirit of libfuse's examples/single_file.c: every
 * decision about data lives in core/; this file maps paths to a handful of
 * fixed nodes, clamps offsets at the image boundary and turns the engine's
 * negative errnos into replies.
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
 *
 * FUSE_USE_VERSION 312 rather than 35: only the 3.12 loop configuration
 * (fuse_loop_cfg_*) lets us raise the worker thread limit above libfuse's
 * default of 10; everything else used here is the 3.5 API.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "raid5fs/array.h"
#include "raid5fs/frontend.h"
#include "raid5fs/util.h"

/* Largest request we ask the kernel for. libfuse 3.14's receive buffer holds
 * 256 pages + header, so 1 MiB is also the most it can take; large requests
 * let the engine see whole stripes instead of 128 KiB slices. */
#define R5_FE_MAX_IO (1024u * 1024)
#define R5_FE_STATUS_SIZE 4096          /* st_size shown for the control files */
#define R5_FE_STATUS_MAX (16u << 20)    /* biggest status snapshot we take */
#define R5_FE_CMD_MAX 4096              /* longest control write */
#define R5_FE_REPLY_MAX 1024            /* longest control reply kept */
/* FUSE workers (libfuse: 10). Each holds a 1 MiB request buffer, so this
 * bounds the daemon's memory beside the stripe cache: with 64, peak RSS was
 * 125 MiB (tools/bench.sh), with 16 it is 39 MiB under fio randrw at
 * iodepth 64; 4k random read IOPS on ext4 over a direct-io loop were the
 * same within noise (31-41K with 16, 37-44K with 64, 2 cores). */
#define R5_FE_DEFAULT_THREADS 16
#define R5_FE_BASE_OPTS "fsname=raid5fs,subtype=raid5fs"

/* The fixed nodes of the tree. */
enum r5_fe_node {
	R5_FE_NONE = 0,
	R5_FE_ROOT,        /* "/" */
	R5_FE_IMAGE,       /* "/image" */
	R5_FE_META,        /* "/.raid5fs" */
	R5_FE_STATUS,      /* "/.raid5fs/status" */
	R5_FE_STATUS_JSON, /* "/.raid5fs/status.json" */
	R5_FE_CONTROL,     /* "/.raid5fs/control" */
};

static const struct {
	const char *path;
	enum r5_fe_node node;
} fe_nodes[] = {
	{ "/", R5_FE_ROOT },
	{ "/image", R5_FE_IMAGE },
	{ "/.raid5fs", R5_FE_META },
	{ "/.raid5fs/status", R5_FE_STATUS },
	{ "/.raid5fs/status.json", R5_FE_STATUS_JSON },
	{ "/.raid5fs/control", R5_FE_CONTROL },
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
	char *reply;          /* control: reply to the last command written through
			       * this handle, "" until then (fe->reply_lock) */
};

/* Mount-wide state, fuse_get_context()->private_data. Immutable while the
 * loop runs except the control replies (protected by reply_lock). */
struct r5_fe {
	struct r5_array *a;           /* the started array */
	uint64_t size;                /* image size in bytes */
	uid_t uid;                    /* owner of every node: the mounting user */
	gid_t gid;
	struct timespec mount_time;   /* every node's atime/mtime/ctime */
	bool direct_io;               /* FOPEN_DIRECT_IO on /image */
	unsigned max_read;            /* must equal the max_read mount option */
	struct r5_fe_file image_ro;   /* handle of read-only opens of /image */
	struct r5_fe_file image_rw;   /* handle of writable opens: flushed on close */
	struct r5_fe_file root_dir;   /* handle of opendir("/") */
	struct r5_fe_file meta_dir;   /* handle of opendir("/.raid5fs") */
	pthread_mutex_t reply_lock;   /* protects reply and every handle's reply */
	char reply[R5_FE_REPLY_MAX];  /* last control reply of the mount, "ok\n" or "error: ...\n" */
};

/* ---- logging: stderr in the foreground, syslog once daemonized ---- */

static bool fe_syslog; /* set once, before any thread starts */

static void fe_vlog(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
fe_vlog(int prio, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (fe_syslog)
		syslog(prio, "%s", line);
	else
		fprintf(stderr, "raid5fs: %s\n", line);
}

static void fe_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void
fe_log(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fe_vlog(prio, fmt, ap);
	va_end(ap);
}

/* libfuse's own messages go the same way as ours, one line at a time (it
 * sometimes builds a line from several calls). While the mount is being set
 * up they are kept instead, so that a failure is reported as ONE line that
 * carries libfuse's reason. */
static bool fe_capture;              /* set only while single-threaded */
static char fe_fuse_msg[1024];       /* last line libfuse logged while capturing */
static __thread char fe_fuse_line[1024]; /* partial line of this thread */
static __thread size_t fe_fuse_len;

static void fe_fuse_log(enum fuse_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void
fe_fuse_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char *nl;
	int n;

	n = vsnprintf(fe_fuse_line + fe_fuse_len, sizeof(fe_fuse_line) - fe_fuse_len, fmt, ap);
	if (n < 0)
		return;
	fe_fuse_len += (size_t)n;
	if (fe_fuse_len >= sizeof(fe_fuse_line) - 1) {
		fe_fuse_len = sizeof(fe_fuse_line) - 2; /* overlong: cut it here */
		fe_fuse_line[fe_fuse_len++] = '\n';
		fe_fuse_line[fe_fuse_len] = '\0';
	}
	while ((nl = strchr(fe_fuse_line, '\n')) != NULL) {
		*nl = '\0';
		if (fe_fuse_line[0] != '\0') {
			if (fe_capture)
				snprintf(fe_fuse_msg, sizeof(fe_fuse_msg), "%s", fe_fuse_line);
			else
				fe_log((int)level, "%s", fe_fuse_line); /* syslog numbering */
		}
		fe_fuse_len -= (size_t)(nl + 1 - fe_fuse_line);
		memmove(fe_fuse_line, nl + 1, fe_fuse_len + 1);
	}
}

/* ": <libfuse's reason>" for an error line, or "". */
static const char *
fe_fuse_reason(char *buf, size_t len)
{
	if (fe_fuse_msg[0] == '\0')
		return "";
	snprintf(buf, len, ": %s", fe_fuse_msg);
	return buf;
}

/* Once daemonized, anything the engine (or a library) writes to stderr is
 * forwarded to syslog line by line, so no message is lost to /dev/null. */
static void *
fe_log_pump(void *arg)
{
	FILE *in = fdopen((int)(intptr_t)arg, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (in == NULL) {
		close((int)(intptr_t)arg);
		return NULL;
	}
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		syslog(LOG_NOTICE, "%s", line);
	}
	free(line);
	fclose(in);
	return NULL;
}

/* ---- helpers ---- */

static struct r5_fe *
fe_get(void)
{
	return fuse_get_context()->private_data;
}

/* Engine result -> reply: a plausible negative errno passes, anything else
 * becomes -EIO (as nbdkit's get_error does). */
static int
fe_errno(long r)
{
	if (r < 0 && r >= -4095)
		return (int)r;
	return -EIO;
}

static enum r5_fe_node
fe_lookup(const char *path)
{
	size_t i;

	if (path == NULL)
		return R5_FE_NONE;
	for (i = 0; i < sizeof(fe_nodes) / sizeof(fe_nodes[0]); i++)
		if (strcmp(path, fe_nodes[i].path) == 0)
			return fe_nodes[i].node;
	return R5_FE_NONE;
}

static struct r5_fe_file *
fe_file(struct fuse_file_info *fi)
{
	return (struct r5_fe_file *)(uintptr_t)fi->fh;
}

/* The node an operation is about: the open file when there is one (path may
 * be NULL with nullpath_ok), else the path. */
static enum r5_fe_node
fe_node(const char *path, struct fuse_file_info *fi)
{
	if (fi != NULL && fi->fh != 0)
		return fe_file(fi)->node;
	return fe_lookup(path);
}

/* The mounting user and root may write; everybody may read status (only
 * relevant with -o allow_other). */
static bool
fe_caller_is_owner(const struct r5_fe *fe)
{
	uid_t uid = fuse_get_context()->uid;

	return uid == 0 || uid == fe->uid;
}

/* The reply to a command written through f: kept in f for reads of that
 * handle, and as the mount's last reply for handles that never wrote. */
static void
fe_set_reply(struct r5_fe *fe, struct r5_fe_file *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
fe_set_reply(struct r5_fe *fe, struct r5_fe_file *f, const char *fmt, ...)
{
	char reply[R5_FE_REPLY_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reply, sizeof(reply), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&fe->reply_lock);
	memcpy(f->reply, reply, sizeof(reply));
	memcpy(fe->reply, reply, sizeof(reply));
	pthread_mutex_unlock(&fe->reply_lock);
}

/* ---- the image ---- */

static int
fe_image_read(struct r5_fe *fe, char *buf, size_t size, off_t off)
{
	size_t done = 0;

	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= fe->size)
		return 0;
	if (size > fe->size - (uint64_t)off)
		size = (size_t)(fe->size - (uint64_t)off);
	while (done < size) {
		ssize_t r = r5_array_read(fe->a, buf + done, size - done, (uint64_t)off + done);

		/* Never a short read on error: without direct_io the kernel
		 * would take it for end of file and zero-fill the page. */
		if (r <= 0)
			return r == 0 ? -EIO : fe_errno(r);
		done += (size_t)r;
	}
	return (int)done;
}

/* A write past the end fails with ENOSPC (the image is a fixed-size,
 * device-like file: dd to it ends with "No space left on device", like dd
 * to a disk); one that crosses the end stores the part before it. */
static int
fe_image_write(struct r5_fe *fe, const char *buf, size_t size, off_t off)
{
	size_t done = 0;

	if (off < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	if ((uint64_t)off >= fe->size)
		return -ENOSPC;
	if (size > fe->size - (uint64_t)off)
		size = (size_t)(fe->size - (uint64_t)off);
	while (done < size) {
		ssize_t r = r5_array_write(fe->a, buf + done, size - done, (uint64_t)off + done);

		if (r <= 0)
			return r == 0 ? -EIO : fe_errno(r);
		done += (size_t)r;
	}
	return (int)done;
}

static int
fe_image_flush(struct r5_fe *fe, const char *why)
{
	int r = r5_array_flush(fe->a);

	if (r < 0) {
		fe_log(LOG_ERR, "%s: flush failed: %s", why, strerror(-fe_errno(r)));
		return fe_errno(r);
	}
	return 0;
}

/* ---- control ---- */

/* Runs each non-empty line of buf as one command, stops at the first error.
 * The reply ("ok" or "error: reason") is kept for reads (fe_control_read). */
static int
fe_control_write(struct r5_fe *fe, struct r5_fe_file *f, const char *buf, size_t size)
{
	char cmds[R5_FE_CMD_MAX + 1];
	char err[512];
	char *save = NULL;
	char *line;

	if (!fe_caller_is_owner(fe))
		return -EACCES;
	if (size > R5_FE_CMD_MAX) {
		fe_set_reply(fe, f, "error: command longer than %u bytes\n", R5_FE_CMD_MAX);
		return -EINVAL;
	}
	memcpy(cmds, buf, size);
	cmds[size] = '\0'; /* an embedded NUL simply ends the input */
	for (line = strtok_r(cmds, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		size_t n;
		int r;

		while (*line == ' ' || *line == '\t')
			line++;
		n = strlen(line);
		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		err[0] = '\0';
		r = r5_array_control(fe->a, line, err, sizeof(err));
		if (r < 0) {
			r = fe_errno(r);
			if (err[0] == '\0')
				snprintf(err, sizeof(err), "%s", strerror(-r));
			fe_set_reply(fe, f, "error: %s\n", err);
			fe_log(LOG_WARNING, "control \"%s\": %s", line, err);
			return r;
		}
		fe_log(LOG_INFO, "control \"%s\": ok", line);
	}
	fe_set_reply(fe, f, "ok\n");
	return (int)size;
}

/* A handle that wrote a command reads the reply to it; one that never wrote
 * reads the mount's last reply, so that "echo cmd > control; cat control"
 * works at a shell. That second read can see another client's reply:
 * scripts and tools must read the reply from the fd they wrote to. */
static int
fe_control_read(struct r5_fe *fe, struct r5_fe_file *f, char *buf, size_t size, off_t off)
{
	const char *reply;
	size_t len, n = 0;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&fe->reply_lock);
	reply = f->reply[0] != '\0' ? f->reply : fe->reply;
	len = strlen(reply);
	if ((uint64_t)off < len) {
		n = len - (size_t)off;
		if (n > size)
			n = size;
		memcpy(buf, reply + off, n);
	}
	pthread_mutex_unlock(&fe->reply_lock);
	return (int)n;
}

/* ---- status ---- */

/* Takes the snapshot a status file shows for its whole open. The buffer
 * grows until the engine's text fits (it truncates to len-1). */
static int
fe_status_snapshot(struct r5_fe *fe, struct r5_fe_file *f)
{
	size_t cap = 16384;

	for (;;) {
		char *buf = malloc(cap);
		int r;

		if (buf == NULL)
			return -ENOMEM;
		if (f->node == R5_FE_STATUS_JSON)
			r = r5_array_status_json(fe->a, buf, cap);
		else
			r = r5_array_status_text(fe->a, buf, cap);
		if (r < 0) {
			free(buf);
			return fe_errno(r);
		}
		if ((size_t)r < cap - 1 || cap >= R5_FE_STATUS_MAX) {
			f->buf = buf;
			f->len = (size_t)r < cap ? (size_t)r : cap - 1;
			return 0;
		}
		free(buf);
		cap *= 2;
	}
}

/* ---- operations ---- */

static void *
fe_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct r5_fe *fe = fe_get();

	conn->max_write = R5_FE_MAX_IO;
	conn->max_read = fe->max_read; /* libfuse insists it match the mount option */
	/* The kernel never raises readahead above what it offered (the bdi's
	 * read_ahead_kb); only matters without direct_io. */
	if (conn->max_readahead > R5_FE_MAX_IO)
		conn->max_readahead = R5_FE_MAX_IO;
	/* Background requests = readahead and split async direct I/O (a loop
	 * device with direct I/O): let more of them reach the engine at once. */
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	/* O_TRUNC arrives in open() (where it is ignored) instead of as a
	 * truncate to 0, which we refuse. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* The engine has its own write-back cache; a second one in the kernel
	 * would delay writes and blur what fsync covers. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	/* No parallel direct writes: FOPEN_PARALLEL_DIRECT_WRITES has no field
	 * in libfuse 3.14's fuse_file_info (3.15+), so the kernel serializes
	 * writes to /image on its inode lock; reads run in parallel. */

	cfg->direct_io = 0;   /* decided per open in fe_open() */
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->entry_timeout = 1.0;
	cfg->negative_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->use_ino = 0;
	cfg->nullpath_ok = 1;   /* I/O on an open file needs no path lookup */
	cfg->no_rofd_flush = 1; /* close of a read-only fd costs nothing */
	cfg->hard_remove = 1;
	return fe;
}

static void
fe_fill_stat(const struct r5_fe *fe, enum r5_fe_node node, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = fe->uid;
	st->st_gid = fe->gid;
	st->st_atim = fe->mount_time;
	st->st_mtim = fe->mount_time;
	st->st_ctim = fe->mount_time;
	st->st_blksize = R5_FE_MAX_IO; /* cp and friends size their buffers on it */
	switch (node) {
	case R5_FE_ROOT:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 3;
		break;
	case R5_FE_META:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		break;
	case R5_FE_IMAGE:
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = (off_t)fe->size;
		st->st_blocks = (blkcnt_t)(fe->size / 512);
		break;
	case R5_FE_STATUS:
	case R5_FE_STATUS_JSON:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = R5_FE_STATUS_SIZE;
		break;
	case R5_FE_CONTROL:
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = R5_FE_STATUS_SIZE;
		break;
	case R5_FE_NONE:
		break;
	}
}

static int
fe_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	enum r5_fe_node node = fe_node(path, fi);

	if (node == R5_FE_NONE)
		return -ENOENT;
	fe_fill_stat(fe_get(), node, st);
	return 0;
}

/* With nullpath_ok readdir() gets no path, so opendir() leaves the node in
 * fi->fh. */
static int
fe_opendir(const char *path, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();

	switch (fe_lookup(path)) {
	case R5_FE_NONE:
		return -ENOENT;
	case R5_FE_ROOT:
		fi->fh = (uintptr_t)&fe->root_dir;
		return 0;
	case R5_FE_META:
		fi->fh = (uintptr_t)&fe->meta_dir;
		return 0;
	default:
		return -ENOTDIR;
	}
}

static int
fe_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
	   struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	enum r5_fe_node node = fe_node(path, fi);

	(void)off;
	(void)flags;
	if (node == R5_FE_NONE)
		return -ENOENT;
	if (node != R5_FE_ROOT && node != R5_FE_META)
		return -ENOTDIR;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	if (node == R5_FE_ROOT) {
		filler(buf, "image", NULL, 0, 0);
		filler(buf, ".raid5fs", NULL, 0, 0);
	} else {
		filler(buf, "status", NULL, 0, 0);
		filler(buf, "status.json", NULL, 0, 0);
		filler(buf, "control", NULL, 0, 0);
	}
	return 0;
}

static int
fe_open(const char *path, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();
	enum r5_fe_node node = fe_lookup(path);
	bool writable = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct r5_fe_file *f;
	int r;

	/* O_TRUNC (atomic_o_trunc) is ignored: the image has a fixed size. */
	switch (node) {
	case R5_FE_NONE:
		return -ENOENT;
	case R5_FE_ROOT:
	case R5_FE_META:
		return -EISDIR;
	case R5_FE_IMAGE:
		if (!fe_caller_is_owner(fe))
			return -EACCES;
		fi->fh = (uintptr_t)(writable ? &fe->image_rw : &fe->image_ro);
		fi->direct_io = fe->direct_io;
		fi->keep_cache = 0;
		return 0;
	case R5_FE_STATUS:
	case R5_FE_STATUS_JSON:
		if (writable)
			return -EACCES;
		break;
	case R5_FE_CONTROL:
		if (writable && !fe_caller_is_owner(fe))
			return -EACCES;
		break;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	f->node = node;
	f->writable = writable;
	f->allocated = true;
	if (node == R5_FE_CONTROL) {
		f->reply = calloc(1, R5_FE_REPLY_MAX); /* "": nothing written yet */
		if (f->reply == NULL) {
			free(f);
			return -ENOMEM;
		}
	} else {
		r = fe_status_snapshot(fe, f);
		if (r < 0) {
			free(f);
			return r;
		}
	}
	fi->fh = (uintptr_t)f;
	/* The reported size (4096) must not cut reads short. */
	fi->direct_io = 1;
	return 0;
}

static int
fe_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();
	struct r5_fe_file *f = fe_file(fi);

	(void)path;
	switch (f->node) {
	case R5_FE_IMAGE:
		return fe_image_read(fe, buf, size, off);
	case R5_FE_STATUS:
	case R5_FE_STATUS_JSON:
		if (off < 0)
			return -EINVAL;
		if ((uint64_t)off >= f->len)
			return 0;
		if (size > f->len - (size_t)off)
			size = f->len - (size_t)off;
		memcpy(buf, f->buf + off, size);
		return (int)size;
	case R5_FE_CONTROL:
		return fe_control_read(fe, f, buf, size, off);
	default:
		return -EISDIR;
	}
}

static int
fe_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();
	struct r5_fe_file *f = fe_file(fi);

	(void)path;
	if (!f->writable)
		return -EBADF;
	switch (f->node) {
	case R5_FE_IMAGE:
		return fe_image_write(fe, buf, size, off);
	case R5_FE_CONTROL:
		return fe_control_write(fe, f, buf, size); /* offset has no meaning */
	default:
		return -EACCES;
	}
}

/* close(2) of a writable /image fd makes its data durable, so that dd or
 * cp finish with their data stored (and report a failure at close). */
static int
fe_flush(const char *path, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();

	(void)path;
	if (fe_file(fi) == &fe->image_rw)
		return fe_image_flush(fe, "close");
	return 0;
}

static int
fe_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();

	(void)path;
	(void)datasync; /* metadata of the image never changes */
	if (fe_file(fi)->node == R5_FE_IMAGE)
		return fe_image_flush(fe, "fsync");
	return 0;
}

static int
fe_release(const char *path, struct fuse_file_info *fi)
{
	struct r5_fe_file *f = fe_file(fi);

	(void)path;
	if (f->allocated) {
		free(f->buf);
		free(f->reply);
		free(f);
	}
	return 0;
}

/* Truncating /image to its own size is a no-op; any other size would need
 * a reshape. The control and status files ignore truncation so that shell
 * redirections (">") work on them even without atomic_o_trunc. */
static int
fe_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();

	switch (fe_node(path, fi)) {
	case R5_FE_NONE:
		return -ENOENT;
	case R5_FE_ROOT:
	case R5_FE_META:
		return -EISDIR;
	case R5_FE_IMAGE:
		if (size >= 0 && (uint64_t)size == fe->size)
			return 0;
		return -EPERM;
	default:
		return 0;
	}
}

/* Times are fixed; accepting utimens keeps "touch" and "cp -p" quiet. */
static int
fe_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)tv;
	return fe_node(path, fi) == R5_FE_NONE ? -ENOENT : 0;
}

static int
fe_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	return fe_node(path, fi) == R5_FE_NONE ? -ENOENT : -EPERM;
}

static int
fe_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)uid;
	(void)gid;
	return fe_node(path, fi) == R5_FE_NONE ? -ENOENT : -EPERM;
}

/* The tree is fixed: nothing can be created, removed or renamed. */
static int
fe_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)path;
	(void)mode;
	(void)fi;
	return -EPERM;
}

static int
fe_mkdir(const char *path, mode_t mode)
{
	(void)path;
	(void)mode;
	return -EPERM;
}

static int
fe_unlink(const char *path)
{
	(void)path;
	return -EPERM;
}

static int
fe_rename(const char *from, const char *to, unsigned int flags)
{
	(void)from;
	(void)to;
	(void)flags;
	return -EPERM;
}

/* df shows the image as the used blocks of a full filesystem. */
static int
fe_statfs(const char *path, struct statvfs *sv)
{
	struct r5_fe *fe = fe_get();

	(void)path;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_blocks = (fsblkcnt_t)((fe->size + 4095) / 4096);
	sv->f_files = sizeof(fe_nodes) / sizeof(fe_nodes[0]);
	sv->f_namemax = 255;
	return 0;
}

static const struct fuse_operations fe_ops = {
	.init = fe_init,
	.getattr = fe_getattr,
	.opendir = fe_opendir,
	.readdir = fe_readdir,
	.open = fe_open,
	.read = fe_read,
	.write = fe_write,
	.flush = fe_flush,
	.fsync = fe_fsync,
	.release = fe_release,
	.truncate = fe_truncate,
	.utimens = fe_utimens,
	.chmod = fe_chmod,
	.chown = fe_chown,
	.create = fe_create,
	.mkdir = fe_mkdir,
	.unlink = fe_unlink,
	.rmdir = fe_unlink,
	.rename = fe_rename,
	.statfs = fe_statfs,
};

/* ---- process life ---- */

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
		fe_log(LOG_ERR, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fe_log(LOG_ERR, "fork: %s", strerror(errno));
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
		fe_log(LOG_WARNING, "setsid: %s", strerror(errno));
	if (chdir("/") < 0)
		fe_log(LOG_WARNING, "chdir /: %s", strerror(errno));
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

/* Daemon only: stdin/stdout to /dev/null, stderr to a pipe pumped into
 * syslog. Returns the pump thread's state in *pump_started. */
static void
fe_detach_stdio(pthread_t *pump, bool *pump_started)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int p[2];

	*pump_started = false;
	fe_syslog = true;
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
	}
	if (pipe2(p, O_CLOEXEC) == 0) {
		if (pthread_create(pump, NULL, fe_log_pump, (void *)(intptr_t)p[0]) == 0) {
			*pump_started = true;
			dup2(p[1], STDERR_FILENO);
		} else {
			close(p[0]);
		}
		close(p[1]);
	}
	if (!*pump_started && null >= 0)
		dup2(null, STDERR_FILENO);
	if (null >= 0)
		close(null);
}

static void
fe_stop_pump(const pthread_t *pump, bool started)
{
	int null;

	if (!started)
		return;
	fflush(stderr);
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDERR_FILENO); /* drops the last write end: pump sees EOF */
		close(null);
		pthread_join(*pump, NULL);
	}
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
	pthread_t pump;
	bool pump_started = false;
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

	fe_syslog = false;
	openlog("raid5fs", LOG_PID, LOG_DAEMON);
	fe_fuse_msg[0] = '\0';
	fe_capture = true;
	fuse_set_log_func(fe_fuse_log);

	if (asprintf(&optstr, R5_FE_BASE_OPTS ",max_read=%u%s%s", R5_FE_MAX_IO,
		     o->fuse_opts != NULL && o->fuse_opts[0] != '\0' ? "," : "",
		     o->fuse_opts != NULL ? o->fuse_opts : "") < 0) {
		optstr = NULL;
		fe_log(LOG_ERR, "%s: out of memory", mountpoint);
		goto out;
	}
	fe.max_read = fe_opt_max_read(optstr);
	if (fuse_opt_add_arg(&args, "raid5fs") != 0 || fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, optstr) != 0) {
		fe_log(LOG_ERR, "%s: out of memory", mountpoint);
		goto out;
	}
	f = fuse_new(&args, &fe_ops, sizeof(fe_ops), &fe);
	if (f == NULL) {
		fe_log(LOG_ERR, "%s: cannot set up FUSE%s", mountpoint,
		       fe_fuse_reason(reason, sizeof(reason)));
		goto out;
	}
	if (fuse_mount(f, mountpoint) != 0) {
		fe_log(LOG_ERR, "%s: FUSE mount failed%s", mountpoint,
		       fe_fuse_reason(reason, sizeof(reason)));
		goto out;
	}
	mounted = true;
	se = fuse_get_session(f);
	fe_capture = false;

	if (!o->foreground) {
		ready_fd = fe_daemonize();
		if (ready_fd < 0)
			goto out;
	}
	/* From here on we are the serving process: threads may start. */
	r = r5_array_start(a);
	if (r < 0) {
		fe_log(LOG_ERR, "%s: cannot start the array: %s", mountpoint,
		       strerror(-fe_errno(r)));
		goto out;
	}
	if (fuse_set_signal_handlers(se) != 0) {
		fe_log(LOG_ERR, "%s: cannot install signal handlers", mountpoint);
		goto out;
	}
	loop_cfg = fuse_loop_cfg_create();
	if (loop_cfg == NULL) {
		fe_log(LOG_ERR, "%s: out of memory", mountpoint);
		goto out_signals;
	}
	fuse_loop_cfg_set_max_threads(loop_cfg, o->max_threads ? o->max_threads : R5_FE_DEFAULT_THREADS);
	fuse_loop_cfg_set_clone_fd(loop_cfg, 1); /* one /dev/fuse fd per worker: less contention */

	fe_log(LOG_INFO, "%s: serving image of %s (%s), pid %ld", mountpoint,
	       r5_format_size(fe.size, size_str, sizeof(size_str)),
	       fe.direct_io ? "direct_io" : "page cache", (long)getpid());
	if (!o->foreground)
		fe_detach_stdio(&pump, &pump_started);
	fe_notify_parent(ready_fd, 0);
	ready_fd = -1;

	/* 0 after an unmount, the signal number after SIGTERM etc., or -1. */
	r = fuse_loop_mt(f, loop_cfg);
	if (r > 0)
		fe_log(LOG_NOTICE, "%s: %s, stopping", mountpoint, strsignal(r));
	else if (r < 0)
		fe_log(LOG_ERR, "%s: FUSE loop failed (%d), stopping", mountpoint, r);
	else
		fe_log(LOG_INFO, "%s: unmounted, stopping", mountpoint);
	rc = 0;

out_signals:
	fuse_remove_signal_handlers(se);
out:
	/* Unmount first (no request can arrive any more: the loop is over),
	 * then flush and close the array, then free libfuse's state. */
	if (mounted)
		fuse_unmount(f);
	r = r5_array_stop(a);
	if (r < 0) {
		fe_log(LOG_ERR, "%s: stopping the array failed: %s; members may need a resync",
		       mountpoint, strerror(-fe_errno(r)));
		rc = 1;
	} else if (rc == 0) {
		fe_log(LOG_INFO, "%s: array stopped", mountpoint);
	}
	if (f != NULL)
		fuse_destroy(f);
	if (loop_cfg != NULL)
		fuse_loop_cfg_destroy(loop_cfg);
	fuse_opt_free_args(&args);
	free(optstr);
	fe_notify_parent(ready_fd, 1); /* only if we failed before "ready" */
	fe_capture = false;
	fe_stop_pump(&pump, pump_started);
	pthread_mutex_destroy(&fe.reply_lock);
	return rc;
}
