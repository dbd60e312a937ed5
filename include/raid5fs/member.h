/* member.h - I/O on one member file, behind a table of operations.
 *
 * The engine never calls pread/pwrite on a member directly: it goes through
 * r5_member_ops, so tests can put a faulty member (errors on chosen calls)
 * under the engine (DESIGN.md section 7).
 */
#ifndef RAID5FS_MEMBER_H
#define RAID5FS_MEMBER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
};

struct r5_member {
	const struct r5_member_ops *ops; /* NULL when the slot has no member */
	void *ctx;                       /* owned by ops */
	char path[PATH_MAX];             /* as given by the user */
};

/* Opens a member file (O_RDWR, or O_RDWR|O_CREAT|O_EXCL when create). */
int r5_member_open_file(struct r5_member *m, const char *path, int create);
/* The file backend around an already-open descriptor (takes ownership). */
int r5_member_from_fd(struct r5_member *m, int fd, const char *path);

/* Whole-buffer I/O: loop over short transfers; a short read at end of
 * file or a zero-byte transfer is -EIO. Return 0 or -errno. */
int r5_member_read(struct r5_member *m, void *buf, size_t len, uint64_t off);
int r5_member_write(struct r5_member *m, const void *buf, size_t len, uint64_t off);
int r5_member_sync(struct r5_member *m);
int64_t r5_member_size(struct r5_member *m); /* -ENOTSUP without ops->size */
void r5_member_close(struct r5_member *m);   /* safe on a closed member */

#endif
