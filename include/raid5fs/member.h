/* member.h - I/O on one member file, behind a table of operations.
 *
 * The engine never calls pread/pwrite on a member directly: it goes through
 * r5_member_ops, so tests can put a faulty member (errors on chosen calls,
 * tests/backends/member_faulty.h) under the engine.
 */
#ifndef RAID5FS_MEMBER_H
#define RAID5FS_MEMBER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

struct r5_member_ops {
	/* required: like pread/pwrite, return bytes done or -errno (never -1). */
	ssize_t (*pread)(void *ctx, void *buf, size_t len, uint64_t off);
	ssize_t (*pwrite)(void *ctx, const void *buf, size_t len, uint64_t off);
	/* required: make written data durable (fdatasync); 0 or -errno. */
	int (*sync)(void *ctx);
	/* required: release ctx. */
	void (*close)(void *ctx);
	/* optional: current size of the backing file in bytes, or -errno. */
	int64_t (*size)(void *ctx);
	/* optional: fstat of the open file (fault detection: link count,
	 * identity, size); 0 or -errno. */
	int (*stat)(void *ctx, struct stat *st);
	/* optional: set the backing file's size (a new member); 0 or -errno. */
	int (*truncate)(void *ctx, uint64_t size);
	/* optional: hint that [off, off+len) will be read soon (readahead). */
	void (*willneed)(void *ctx, uint64_t off, uint64_t len);
	/* optional: like preadv/pwritev (one call for adjacent pages); bytes
	 * done or -errno. Without them the vector helpers below call
	 * pread/pwrite once per buffer. */
	ssize_t (*preadv)(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off);
	ssize_t (*pwritev)(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off);
	/* optional: preadv that only copies what is already cached and never
	 * waits for the disk (RWF_NOWAIT): bytes done, or -EAGAIN. */
	ssize_t (*preadv_cached)(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off);
	/* optional: like pwritev, and durable when it returns (RWF_DSYNC):
	 * these bytes only, the rest of the file's writes stay unsynced.
	 * Without it r5_member_writev_durable writes, then syncs the file. */
	ssize_t (*pwritev_durable)(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off);
	/* optional: make [off, off+len) read as zeros and give its space back
	 * (a hole; the file keeps its size); 0 or -errno. */
	int (*punch)(void *ctx, uint64_t off, uint64_t len);
	/* optional: take (on) or drop an exclusive lock on the file, held
	 * until dropped or closed; another process, or another open in this
	 * one, is refused: 0, -EBUSY when someone else holds it, or 0 where
	 * the file system has no locks. */
	int (*lock)(void *ctx, bool on);
	/* optional: start writing [off, off+len)'s dirty pages to the disk
	 * now and return without waiting (a stream of writes: the sync that
	 * follows finds less to do, and the disk writes while the writer
	 * goes on). */
	void (*start_writeback)(void *ctx, uint64_t off, uint64_t len);
};

struct r5_member {
	const struct r5_member_ops *ops; /* NULL when the slot has no member */
	void *ctx;                       /* owned by ops */
	char path[PATH_MAX];             /* as given by the user */
};

/* Takes the member's exclusive lock (ops->lock): an array holds one on
 * each of its member files, so that a second array, or a second mount of
 * the same one, cannot write them at the same time. 0 or -EBUSY. */
int r5_member_lock(struct r5_member *m);
/* What the user is told when r5_member_lock says -EBUSY (after the path). */
#define R5_MEMBER_IN_USE "in use by another array (a running raid5fs holds it)"
/* Drops it: a failed member's file is free to be given again (replace). */
void r5_member_unlock(struct r5_member *m);
/* Opens a member file (O_RDWR, or O_RDWR|O_CREAT|O_EXCL when create). */
int r5_member_open_file(struct r5_member *m, const char *path, int create);
/* The file backend around an already-open descriptor (takes ownership). */
int r5_member_from_fd(struct r5_member *m, int fd, const char *path);

/* Starts the writeback of [off, off+len) (ops->start_writeback), if any. */
void r5_member_start_writeback(struct r5_member *m, uint64_t off, uint64_t len);

/* Whole-buffer I/O: loop over short transfers; a short read at end of
 * file or a zero-byte transfer is -EIO. Return 0 or -errno. */
int r5_member_read(struct r5_member *m, void *buf, size_t len, uint64_t off);
int r5_member_write(struct r5_member *m, const void *buf, size_t len, uint64_t off);
/* The same for iovcnt buffers that follow each other on the member
 * (iovcnt <= IOV_MAX). iov is scratch: it is advanced over short transfers. */
int r5_member_readv(struct r5_member *m, struct iovec *iov, int iovcnt, uint64_t off);
int r5_member_writev(struct r5_member *m, struct iovec *iov, int iovcnt, uint64_t off);
/* r5_member_writev, durable on return (the partial parity log's writes). */
int r5_member_writev_durable(struct r5_member *m, struct iovec *iov, int iovcnt, uint64_t off);
/* The whole vector from the page cache without waiting: 0, or -EAGAIN if
 * any of it would need the disk (or the backend cannot tell). Then nothing
 * is known about the buffers: read them the normal way. */
int r5_member_readv_cached(struct r5_member *m, const struct iovec *iov, int iovcnt, uint64_t off);
/* Total bytes of an iovec array. */
size_t r5_iov_length(const struct iovec *iov, int iovcnt);
/* Every byte of the vector is zero. */
bool r5_iov_is_zero(const struct iovec *iov, int iovcnt);
/* A hole at [off, off+len): -EOPNOTSUPP without ops->punch or where the
 * filesystem has none. */
int r5_member_punch(struct r5_member *m, uint64_t off, uint64_t len);
int r5_member_sync(struct r5_member *m);
int64_t r5_member_size(struct r5_member *m); /* -ENOTSUP without ops->size */
void r5_member_close(struct r5_member *m);   /* safe on a closed member */
int r5_member_stat(struct r5_member *m, struct stat *st); /* -ENOTSUP without ops->stat */
int r5_member_truncate(struct r5_member *m, uint64_t size); /* -ENOTSUP without ops->truncate */
void r5_member_willneed(struct r5_member *m, uint64_t off, uint64_t len); /* no-op without the op */

#endif
