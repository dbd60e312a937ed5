/* member.c - member I/O through r5_member_ops, and the plain-file backend. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raid5fs/member.h"

/* ---- file backend ---- */

struct file_ctx {
	int fd; /* owned; closed by file_close */
};

static ssize_t
file_preadv(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct file_ctx *f = ctx;
	ssize_t r;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	r = preadv(f->fd, iov, iovcnt, (off_t)off);
	return r < 0 ? -errno : r;
}

static ssize_t
file_pwritev(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct file_ctx *f = ctx;
	ssize_t r;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	r = pwritev(f->fd, iov, iovcnt, (off_t)off);
	return r < 0 ? -errno : r;
}

/* RWF_DSYNC: the kernel syncs only this range (data and what is needed to
 * read it back), not every dirty page of the member as fdatasync would. */
static ssize_t
file_pwritev_durable(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct file_ctx *f = ctx;
	ssize_t r;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	r = pwritev2(f->fd, iov, iovcnt, (off_t)off, RWF_DSYNC);
	if (r < 0 && errno == EOPNOTSUPP) {
		/* a kernel or filesystem without it: write, then sync the file */
		r = pwritev(f->fd, iov, iovcnt, (off_t)off);
		if (r >= 0 && fdatasync(f->fd) < 0)
			r = -1;
	}
	return r < 0 ? -errno : r;
}

static ssize_t
file_preadv_cached(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct file_ctx *f = ctx;
	ssize_t r;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	r = preadv2(f->fd, iov, iovcnt, (off_t)off, RWF_NOWAIT);
	return r < 0 ? -errno : r;
}

static ssize_t
file_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return file_preadv(ctx, &iov, 1, off);
}

static ssize_t
file_pwrite(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };

	return file_pwritev(ctx, &iov, 1, off);
}

static int
file_sync(void *ctx)
{
	struct file_ctx *f = ctx;

	return fdatasync(f->fd) < 0 ? -errno : 0;
}

static void
file_close(void *ctx)
{
	struct file_ctx *f = ctx;

	close(f->fd);
	free(f);
}

static int64_t
file_size(void *ctx)
{
	struct file_ctx *f = ctx;
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	return (int64_t)st.st_size;
}

static int
file_stat(void *ctx, struct stat *st)
{
	struct file_ctx *f = ctx;

	return fstat(f->fd, st) < 0 ? -errno : 0;
}

static int
file_truncate(void *ctx, uint64_t size)
{
	struct file_ctx *f = ctx;

	return ftruncate(f->fd, (off_t)size) < 0 ? -errno : 0;
}

static int
file_punch(void *ctx, uint64_t off, uint64_t len)
{
	struct file_ctx *f = ctx;

	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return -EINVAL;
	if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0)
		return errno == ENOSYS ? -EOPNOTSUPP : -errno;
	return 0;
}

static void
file_willneed(void *ctx, uint64_t off, uint64_t len)
{
	struct file_ctx *f = ctx;

	/* starts the reads in the background and returns at once */
	(void)posix_fadvise(f->fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

static void
file_start_writeback(void *ctx, uint64_t off, uint64_t len)
{
	struct file_ctx *f = ctx;

	/* WRITE alone: queue the dirty pages, wait for none */
	(void)sync_file_range(f->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
}

/* An open file description lock (F_OFD_SETLK): it belongs to this open of
 * the file, not to the process, so two arrays in one process exclude each
 * other too, and it goes away with the last close, a crash included. */
static int
file_lock(void *ctx, bool on)
{
	struct file_ctx *f = ctx;
	struct flock fl = { .l_type = on ? F_WRLCK : F_UNLCK, .l_whence = SEEK_SET };

	if (fcntl(f->fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return -EBUSY;
	return 0; /* no locks here (ENOLCK, EINVAL on some file systems): go on */
}

static const struct r5_member_ops file_ops = {
	.pread = file_pread,
	.pwrite = file_pwrite,
	.sync = file_sync,
	.close = file_close,
	.size = file_size,
	.stat = file_stat,
	.truncate = file_truncate,
	.willneed = file_willneed,
	.preadv = file_preadv,
	.pwritev = file_pwritev,
	.preadv_cached = file_preadv_cached,
	.pwritev_durable = file_pwritev_durable,
	.punch = file_punch,
	.lock = file_lock,
	.start_writeback = file_start_writeback,
};

static int
set_path(struct r5_member *m, const char *path)
{
	size_t len = path ? strlen(path) : 0;

	if (len >= sizeof(m->path))
		return -ENAMETOOLONG;
	memcpy(m->path, path ? path : "", len + 1);
	return 0;
}

int
r5_member_from_fd(struct r5_member *m, int fd, const char *path)
{
	struct file_ctx *f;
	int ret;

	m->ops = NULL;
	m->ctx = NULL;
	ret = set_path(m, path);
	if (ret < 0)
		goto err;
	f = malloc(sizeof(*f));
	if (f == NULL) {
		ret = -ENOMEM;
		goto err;
	}
	f->fd = fd;
	m->ops = &file_ops;
	m->ctx = f;
	return 0;

err:
	close(fd); /* we own it even on failure */
	return ret;
}

int
r5_member_open_file(struct r5_member *m, const char *path, int create)
{
	int flags = O_RDWR | O_CLOEXEC;
	int fd;

	m->ops = NULL;
	m->ctx = NULL;
	if (set_path(m, path) < 0)
		return -ENAMETOOLONG;
	if (create)
		flags |= O_CREAT | O_EXCL;
	fd = open(path, flags, 0600); /* a member holds the array's data: owner only */
	if (fd < 0)
		return -errno;
	return r5_member_from_fd(m, fd, path);
}

int
r5_member_lock(struct r5_member *m)
{
	if (m->ops == NULL)
		return -ENODEV;
	return m->ops->lock ? m->ops->lock(m->ctx, true) : 0;
}

void
r5_member_unlock(struct r5_member *m)
{
	if (m->ops && m->ops->lock)
		(void)m->ops->lock(m->ctx, false);
}

/* ---- whole-buffer helpers ---- */

int
r5_member_read(struct r5_member *m, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	if (m->ops == NULL)
		return -ENODEV;
	while (len > 0) {
		ssize_t r = m->ops->pread(m->ctx, p, len, off);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0 || (size_t)r > len)
			return -EIO; /* end of file inside the range, or a broken backend */
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

int
r5_member_write(struct r5_member *m, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	if (m->ops == NULL)
		return -ENODEV;
	while (len > 0) {
		ssize_t r = m->ops->pwrite(m->ctx, p, len, off);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0 || (size_t)r > len)
			return -EIO;
		p += r;
		len -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/* Whole-vector I/O: one call per run of adjacent buffers where the backend
 * has preadv/pwritev, else one whole-buffer call per buffer. */
typedef ssize_t (*r5_vec_fn)(void *, const struct iovec *, int, uint64_t);

static int
member_rw_vec_with(struct r5_member *m, r5_vec_fn vec, struct iovec *iov, int iovcnt,
		   uint64_t off, bool write)
{
	if (vec == NULL) {
		for (int i = 0; i < iovcnt; i++) {
			int err = write ? r5_member_write(m, iov[i].iov_base, iov[i].iov_len, off)
					: r5_member_read(m, iov[i].iov_base, iov[i].iov_len, off);

			if (err < 0)
				return err;
			off += iov[i].iov_len;
		}
		return 0;
	}
	while (iovcnt > 0) {
		ssize_t r = vec(m->ctx, iov, iovcnt, off);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO; /* end of file inside the range */
		off += (uint64_t)r;
		while (iovcnt > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt == 0 && r > 0)
			return -EIO; /* more than asked: a broken backend */
		if (iovcnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int
member_rw_vec(struct r5_member *m, struct iovec *iov, int iovcnt, uint64_t off, bool write)
{
	if (m->ops == NULL)
		return -ENODEV;
	return member_rw_vec_with(m, write ? m->ops->pwritev : m->ops->preadv, iov, iovcnt, off,
				  write);
}

int
r5_member_readv(struct r5_member *m, struct iovec *iov, int iovcnt, uint64_t off)
{
	return member_rw_vec(m, iov, iovcnt, off, false);
}

int
r5_member_writev(struct r5_member *m, struct iovec *iov, int iovcnt, uint64_t off)
{
	return member_rw_vec(m, iov, iovcnt, off, true);
}

int
r5_member_writev_durable(struct r5_member *m, struct iovec *iov, int iovcnt, uint64_t off)
{
	int err;

	if (m->ops == NULL)
		return -ENODEV;
	if (m->ops->pwritev_durable)
		return member_rw_vec_with(m, m->ops->pwritev_durable, iov, iovcnt, off, true);
	/* no range sync: the whole file's */
	err = member_rw_vec(m, iov, iovcnt, off, true);
	return err < 0 ? err : r5_member_sync(m);
}

size_t
r5_iov_length(const struct iovec *iov, int iovcnt)
{
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	return len;
}

int
r5_member_readv_cached(struct r5_member *m, const struct iovec *iov, int iovcnt, uint64_t off)
{
	ssize_t r;

	if (m->ops == NULL || m->ops->preadv_cached == NULL)
		return -EAGAIN;
	r = m->ops->preadv_cached(m->ctx, iov, iovcnt, off);
	/* short (part cached), EAGAIN, or an error the normal read will meet */
	return r == (ssize_t)r5_iov_length(iov, iovcnt) ? 0 : -EAGAIN;
}

int
r5_member_sync(struct r5_member *m)
{
	int r;

	if (m->ops == NULL)
		return -ENODEV;
	do
		r = m->ops->sync(m->ctx);
	while (r == -EINTR);
	return r;
}

int64_t
r5_member_size(struct r5_member *m)
{
	if (m->ops == NULL || m->ops->size == NULL)
		return -ENOTSUP;
	return m->ops->size(m->ctx);
}

void
r5_member_close(struct r5_member *m)
{
	if (m->ops != NULL)
		m->ops->close(m->ctx);
	m->ops = NULL;
	m->ctx = NULL;
}

int
r5_member_stat(struct r5_member *m, struct stat *st)
{
	if (!m->ops)
		return -ENODEV;
	if (!m->ops->stat)
		return -ENOTSUP;
	return m->ops->stat(m->ctx, st);
}

int
r5_member_truncate(struct r5_member *m, uint64_t size)
{
	if (!m->ops)
		return -ENODEV;
	if (!m->ops->truncate)
		return -ENOTSUP;
	return m->ops->truncate(m->ctx, size);
}

int
r5_member_punch(struct r5_member *m, uint64_t off, uint64_t len)
{
	if (!m->ops)
		return -ENODEV;
	if (!m->ops->punch)
		return -EOPNOTSUPP;
	return m->ops->punch(m->ctx, off, len);
}

bool
r5_iov_is_zero(const struct iovec *iov, int iovcnt)
{
	static const uint8_t zeros[4096];

	for (int i = 0; i < iovcnt; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		/* the first bytes tell for almost any real data */
		while (left > 0) {
			size_t n = left < sizeof(zeros) ? left : sizeof(zeros);

			if (memcmp(p, zeros, n) != 0)
				return false;
			p += n;
			left -= n;
		}
	}
	return true;
}

void
r5_member_start_writeback(struct r5_member *m, uint64_t off, uint64_t len)
{
	if (m->ops && m->ops->start_writeback)
		m->ops->start_writeback(m->ctx, off, len);
}

void
r5_member_willneed(struct r5_member *m, uint64_t off, uint64_t len)
{
	if (m->ops && m->ops->willneed)
		m->ops->willneed(m->ctx, off, len);
}
