/* fe_ops.c - the fuse_operations table, the connection setup (init), and
 * open/read/write/release, which hand each open file to the code of its
 * node (fe_image.c, fe_status.c, fe_control.c). */
#include "frontend_internal.h"

#include <fcntl.h>
#include <stdlib.h>

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
		return fe_image_open(fe, fi, writable);
	case R5_FE_STATUS:
	case R5_FE_STATUS_JSON:
	case R5_FE_EVENTS:
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
	if (node == R5_FE_CONTROL)
		r = fe_control_open(f);
	else
		r = fe_status_snapshot(fe, f);
	if (r < 0) {
		free(f);
		return r;
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
	case R5_FE_EVENTS:
		return fe_status_read(f, buf, size, off);
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

const struct fuse_operations fe_ops = {
	.init = fe_init,
	.getattr = fe_getattr,
	.opendir = fe_opendir,
	.readdir = fe_readdir,
	.open = fe_open,
	.read = fe_read,
	.write = fe_write,
	.flush = fe_flush,
	.fsync = fe_fsync,
	.fallocate = fe_fallocate,
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
