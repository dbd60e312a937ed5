/* fe_image.c - /image: the array as a fixed-size regular file. Opens share
 * two handles in struct r5_fe (no allocation on the I/O path); closing a
 * writable one, or fsync, makes the data durable. */
#include "frontend_internal.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>

#include "raid5fs/array.h"

int
fe_image_open(struct r5_fe *fe, struct fuse_file_info *fi, bool writable)
{
	if (!fe_caller_is_owner(fe))
		return -EACCES;
	fi->fh = (uintptr_t)(writable ? &fe->image_rw : &fe->image_ro);
	fi->direct_io = fe->direct_io;
	fi->keep_cache = 0;
	return 0;
}

/* The engine applies the image's bounds (array.h): 0 at or after the end,
 * the bytes before it otherwise. One call; a short count only when the
 * engine returned one. */
int
fe_image_read(struct r5_fe *fe, char *buf, size_t size, off_t off)
{
	ssize_t r;

	if (off < 0)
		return -EINVAL;
	r = r5_array_read(fe->a, buf, size, (uint64_t)off);
	/* Never a short read on error: without direct_io the kernel would take
	 * it for end of file and zero-fill the page. An engine error is returned
	 * as an error, and so is a 0 before the end (fe_errno(0) = -EIO). */
	if (r < 0 || (r == 0 && size > 0 && (uint64_t)off < fe->size))
		return fe_errno(r);
	return (int)r;
}

/* A write at or past the end fails with ENOSPC (the image is a fixed-size,
 * device-like file: dd to it ends with "No space left on device", like dd
 * to a disk); one that crosses the end stores the part before it. Both are
 * the engine's doing (array.h). */
int
fe_image_write(struct r5_fe *fe, const char *buf, size_t size, off_t off)
{
	ssize_t r;

	if (off < 0)
		return -EINVAL;
	r = r5_array_write(fe->a, buf, size, (uint64_t)off);
	/* 0 for a non-empty write would make the writer retry forever. */
	if (r < 0 || (r == 0 && size > 0))
		return fe_errno(r);
	return (int)r;
}

static int
fe_image_flush(struct r5_fe *fe, const char *why)
{
	int r = r5_array_flush(fe->a);

	if (r < 0) {
		r5_logp(R5_LOG_ERR, "%s: flush failed: %s", why, strerror(-fe_errno(r)));
		return fe_errno(r);
	}
	return 0;
}

/* close(2) of a writable /image fd makes its data durable, so that dd or
 * cp finish with their data stored (and report a failure at close). */
int
fe_flush(const char *path, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();

	(void)path;
	if (fe_file(fi) == &fe->image_rw)
		return fe_image_flush(fe, "close");
	return 0;
}

int
fe_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();

	(void)path;
	(void)datasync; /* metadata of the image never changes */
	if (fe_file(fi)->node == R5_FE_IMAGE)
		return fe_image_flush(fe, "fsync");
	return 0;
}

/* fallocate on /image: what a loop device sends for discards (fstrim,
 * mkfs -E discard: PUNCH_HOLE|KEEP_SIZE) and for zeroing (ZERO_RANGE).
 * Both become r5_array_discard: zeros written through the engine (parity,
 * checksums, the bitmap and the parity log stay right; the members store
 * zero blocks as holes), and whole rows released from the in-use map. Plain
 * preallocation inside the image changes nothing and succeeds; growing
 * the image or any other mode is refused. */
int
fe_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();
	const int zeroing = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;

	(void)path;
	if (fi == NULL || fe_file(fi)->node != R5_FE_IMAGE)
		return -EOPNOTSUPP;
	if (!fe_file(fi)->writable)
		return -EBADF;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if ((mode & ~(zeroing | FALLOC_FL_KEEP_SIZE)) || (mode & zeroing) == zeroing ||
	    ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE)))
		return -EOPNOTSUPP;
	uint64_t start = (uint64_t)off, end;

	if (start >= fe->size || (uint64_t)len > fe->size - start) {
		if (!(mode & FALLOC_FL_KEEP_SIZE))
			return -EFBIG; /* the image has a fixed size */
		if (start >= fe->size)
			return 0;
		end = fe->size; /* past the end there is nothing to zero */
	} else {
		end = start + (uint64_t)len;
	}
	if (!(mode & zeroing))
		return 0; /* preallocation: every byte of the image is there */
	int err = r5_array_discard(fe->a, start, end - start);

	return err < 0 ? fe_errno(err) : 0;
}
