/* fe_image.c - /image: the array as a fixed-size regular file. Opens share
 * two handles in struct r5_fe (no allocation on the I/O path); closing a
 * writable one, or fsync, makes the data durable. */
#include "frontend_internal.h"

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

int
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
int
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
