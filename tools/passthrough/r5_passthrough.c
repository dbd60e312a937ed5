/* r5_passthrough.c - the benchmark baseline: one backing file shown through
 * FUSE as MOUNTPOINT/image, with pread/pwrite/fdatasync and nothing else.
 *
 *   r5_passthrough [-f] [-p PIDFILE] [-o OPTS] BACKING_FILE MOUNTPOINT
 *
 *   -f          stay in the foreground (log to stderr)
 *   -p PIDFILE  write the serving process's pid there once the mount is ready
 *   -o OPTS     comma-separated: direct_io=0|1 (default 1),
 *               fuse_threads=N (default 64); anything else goes to FUSE
 *
 * tools/bench.sh uses it as the ceiling any FUSE image can reach on this
 * machine, so the FUSE side is set up EXACTLY as fuse/frontend.c does it:
 * FUSE_USE_VERSION 312, max_read/max_write 1 MiB, max_background 64 and
 * congestion_threshold 48, async direct I/O, no writeback cache, the same
 * fuse_config (1 s timeouts, nullpath_ok, no_rofd_flush, hard_remove),
 * FOPEN_DIRECT_IO per open (default on), fuse_loop_mt with 16 threads and
 * clone_fd, and the same durability points (fsync and the close of a
 * writable handle fdatasync the backing file). The backing file is opened
 * like a raid5fs member: O_RDWR, buffered (no O_DIRECT).
 *
 * Like raid5fs, it forks only once the mount exists and the parent exits
 * with the child's status once the child is ready to serve. Unmount with
 * fusermount3 -u MOUNTPOINT (or umount); the daemon then exits.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define PT_MAX_IO (1024u * 1024)  /* as R5_FE_MAX_IO */
#define PT_DEFAULT_THREADS 16     /* as R5_FE_DEFAULT_THREADS */

struct pt {
	int fd;                 /* the backing file */
	uint64_t size;          /* its size at mount time: the image size */
	bool direct_io;         /* FOPEN_DIRECT_IO on /image */
	uid_t uid;
	gid_t gid;
	struct timespec mount_time;
};

/* fi->fh values: which handle an open file is. */
enum { PT_FH_RO = 1, PT_FH_RW = 2, PT_FH_DIR = 3 };

static struct pt *
pt_get(void)
{
	return fuse_get_context()->private_data;
}

static void *
pt_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	conn->max_write = PT_MAX_IO;
	conn->max_read = PT_MAX_IO;
	if (conn->max_readahead > PT_MAX_IO)
		conn->max_readahead = PT_MAX_IO;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;

	cfg->direct_io = 0; /* per open, in pt_open() */
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->entry_timeout = 1.0;
	cfg->negative_timeout = 1.0;
	cfg->attr_timeout = 1.0;
	cfg->use_ino = 0;
	cfg->nullpath_ok = 1;
	cfg->no_rofd_flush = 1;
	cfg->hard_remove = 1;
	return pt_get();
}

static int
pt_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct pt *pt = pt_get();
	bool root;

	if (fi != NULL && fi->fh != 0)
		root = fi->fh == PT_FH_DIR;
	else if (path != NULL && strcmp(path, "/") == 0)
		root = true;
	else if (path != NULL && strcmp(path, "/image") == 0)
		root = false;
	else
		return -ENOENT;
	memset(st, 0, sizeof(*st));
	st->st_uid = pt->uid;
	st->st_gid = pt->gid;
	st->st_atim = st->st_mtim = st->st_ctim = pt->mount_time;
	st->st_blksize = PT_MAX_IO;
	if (root) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = (off_t)pt->size;
		st->st_blocks = (blkcnt_t)(pt->size / 512);
	}
	return 0;
}

static int
pt_opendir(const char *path, struct fuse_file_info *fi)
{
	if (path == NULL || strcmp(path, "/") != 0)
		return strcmp(path ? path : "", "/image") == 0 ? -ENOTDIR : -ENOENT;
	fi->fh = PT_FH_DIR;
	return 0;
}

static int
pt_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
	   struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)path;
	(void)off;
	(void)flags;
	if (fi == NULL || fi->fh != PT_FH_DIR)
		return -ENOTDIR;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	filler(buf, "image", NULL, 0, 0);
	return 0;
}

static int
pt_open(const char *path, struct fuse_file_info *fi)
{
	struct pt *pt = pt_get();

	if (path == NULL || strcmp(path, "/image") != 0)
		return strcmp(path ? path : "", "/") == 0 ? -EISDIR : -ENOENT;
	fi->fh = (fi->flags & O_ACCMODE) == O_RDONLY ? PT_FH_RO : PT_FH_RW;
	fi->direct_io = pt->direct_io;
	fi->keep_cache = 0;
	return 0;
}

/* All of [off, off+size) of the backing file, like the engine's member I/O. */
static int
pt_full_io(int fd, char *buf, size_t size, off_t off, bool write)
{
	size_t done = 0;

	while (done < size) {
		ssize_t r = write ? pwrite(fd, buf + done, size - done, off + (off_t)done)
				  : pread(fd, buf + done, size - done, off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -EIO : -errno;
		done += (size_t)r;
	}
	return (int)done;
}

static int
pt_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct pt *pt = pt_get();

	(void)path;
	(void)fi;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= pt->size)
		return 0;
	if (size > pt->size - (uint64_t)off)
		size = (size_t)(pt->size - (uint64_t)off);
	return pt_full_io(pt->fd, buf, size, off, false);
}

static int
pt_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct pt *pt = pt_get();

	(void)path;
	if (fi->fh != PT_FH_RW)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	if ((uint64_t)off >= pt->size)
		return -ENOSPC;
	if (size > pt->size - (uint64_t)off)
		size = (size_t)(pt->size - (uint64_t)off);
	return pt_full_io(pt->fd, (char *)(uintptr_t)buf, size, off, true);
}

static int
pt_sync(void)
{
	return fdatasync(pt_get()->fd) < 0 ? -errno : 0;
}

/* As raid5fs: close of a writable handle makes its data durable. */
static int
pt_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return fi->fh == PT_FH_RW ? pt_sync() : 0;
}

static int
pt_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)path;
	(void)datasync;
	(void)fi;
	return pt_sync();
}

static int
pt_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	(void)path;
	(void)fi;
	return size >= 0 && (uint64_t)size == pt_get()->size ? 0 : -EPERM;
}

static int
pt_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_blocks = (fsblkcnt_t)((pt_get()->size + 4095) / 4096);
	sv->f_files = 2;
	sv->f_namemax = 255;
	return 0;
}

static const struct fuse_operations pt_ops = {
	.init = pt_init,
	.getattr = pt_getattr,
	.opendir = pt_opendir,
	.readdir = pt_readdir,
	.open = pt_open,
	.read = pt_read,
	.write = pt_write,
	.flush = pt_flush,
	.fsync = pt_fsync,
	.truncate = pt_truncate,
	.statfs = pt_statfs,
};

static void
usage(FILE *out)
{
	fprintf(out, "Usage: r5_passthrough [-f] [-p PIDFILE] [-o direct_io=0|1,fuse_threads=N,...] "
		     "BACKING_FILE MOUNTPOINT\n"
		     "Show BACKING_FILE as MOUNTPOINT/image through FUSE, set up as raid5fs does.\n");
}

/* Splits -o: our options are taken out, the rest is appended to fuse_opts. */
static int
parse_opts(char *opts, bool *direct_io, unsigned *threads, char *fuse_opts, size_t len)
{
	char *save = NULL;
	char *o;

	for (o = strtok_r(opts, ",", &save); o != NULL; o = strtok_r(NULL, ",", &save)) {
		if (strncmp(o, "direct_io=", 10) == 0) {
			*direct_io = strtoul(o + 10, NULL, 10) != 0;
		} else if (strncmp(o, "fuse_threads=", 13) == 0) {
			*threads = (unsigned)strtoul(o + 13, NULL, 10);
		} else if (strncmp(o, "max_read=", 9) == 0) {
			fprintf(stderr, "r5_passthrough: max_read is fixed at %u\n", PT_MAX_IO);
			return -1;
		} else {
			size_t n = strlen(fuse_opts);

			if (snprintf(fuse_opts + n, len - n, ",%s", o) >= (int)(len - n))
				return -1;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct pt pt = { .fd = -1, .direct_io = true };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *loop_cfg = NULL;
	struct fuse *f = NULL;
	struct stat st;
	char fuse_opts[1024];
	const char *pidfile = NULL;
	unsigned threads = PT_DEFAULT_THREADS;
	bool foreground = false, mounted = false;
	int ready[2] = { -1, -1 };
	int pidfd = -1;
	unsigned char status = 1;
	int c, rc = 1;

	snprintf(fuse_opts, sizeof(fuse_opts), "fsname=r5_passthrough,subtype=r5_passthrough,max_read=%u",
		 PT_MAX_IO);
	while ((c = getopt(argc, argv, "fp:o:h")) != -1) {
		switch (c) {
		case 'f':
			foreground = true;
			break;
		case 'p':
			pidfile = optarg;
			break;
		case 'o':
			if (parse_opts(optarg, &pt.direct_io, &threads, fuse_opts, sizeof(fuse_opts)) < 0)
				return 2;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	/* Opened now: the daemon changes to / before it writes its pid. */
	if (pidfile != NULL) {
		pidfd = open(pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (pidfd < 0) {
			fprintf(stderr, "r5_passthrough: %s: %s\n", pidfile, strerror(errno));
			return 1;
		}
	}
	pt.fd = open(argv[optind], O_RDWR | O_CLOEXEC);
	if (pt.fd < 0 || fstat(pt.fd, &st) < 0) {
		fprintf(stderr, "r5_passthrough: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	pt.size = (uint64_t)st.st_size;
	pt.uid = getuid();
	pt.gid = getgid();
	clock_gettime(CLOCK_REALTIME, &pt.mount_time);

	if (fuse_opt_add_arg(&args, "r5_passthrough") != 0 || fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, fuse_opts) != 0)
		goto out;
	f = fuse_new(&args, &pt_ops, sizeof(pt_ops), &pt);
	if (f == NULL)
		goto out;
	if (fuse_mount(f, argv[optind + 1]) != 0)
		goto out;
	mounted = true;

	if (!foreground) {
		pid_t pid;

		if (pipe2(ready, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
			perror("r5_passthrough: fork");
			goto out;
		}
		if (pid > 0) { /* parent: the child's status byte is our exit code */
			close(ready[1]);
			if (read(ready[0], &status, 1) != 1)
				status = 1;
			_exit(status);
		}
		close(ready[0]);
		ready[0] = -1;
		setsid();
		if (chdir("/") < 0)
			perror("r5_passthrough: chdir /");
	}
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0)
		goto out;
	loop_cfg = fuse_loop_cfg_create();
	if (loop_cfg == NULL)
		goto out_signals;
	fuse_loop_cfg_set_max_threads(loop_cfg, threads ? threads : PT_DEFAULT_THREADS);
	fuse_loop_cfg_set_clone_fd(loop_cfg, 1);
	if (pidfd >= 0) {
		if (dprintf(pidfd, "%ld\n", (long)getpid()) < 0 || close(pidfd) != 0) {
			pidfd = -1;
			fprintf(stderr, "r5_passthrough: %s: cannot write the pid\n", pidfile);
			goto out_signals;
		}
		pidfd = -1;
	}
	if (!foreground) {
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
	}
	status = 0;
	if (ready[1] >= 0) {
		if (write(ready[1], &status, 1) != 1)
			status = 1; /* the parent is gone; serve anyway */
		close(ready[1]);
		ready[1] = -1;
	}
	rc = fuse_loop_mt(f, loop_cfg) < 0 ? 1 : 0;

out_signals:
	fuse_remove_signal_handlers(fuse_get_session(f));
out:
	if (rc != 0 && status != 0)
		fprintf(stderr, "r5_passthrough: %s: cannot serve the mount\n", argv[optind + 1]);
	if (mounted)
		fuse_unmount(f);
	if (f != NULL)
		fuse_destroy(f);
	if (loop_cfg != NULL)
		fuse_loop_cfg_destroy(loop_cfg);
	fuse_opt_free_args(&args);
	if (pidfd >= 0)
		close(pidfd);
	if (fdatasync(pt.fd) < 0)
		rc = 1;
	close(pt.fd);
	if (ready[1] >= 0) {
		status = 1;
		if (write(ready[1], &status, 1) < 0)
			rc = 1;
		close(ready[1]);
	}
	return rc;
}
