/* member_faulty.c - a member that fails chosen calls, for tests (see
 * member_faulty.h). It sits over another member's ops, like nbdkit's error
 * filter. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "locks.h"
#include "member_faulty.h"

struct faulty_ctx {
	const struct r5_member_ops *inner_ops;
	void *inner;
	pthread_mutex_t lock;     /* spec, calls, rng, failures */
	struct r5_fault_spec spec;
	uint64_t calls;           /* matching calls so far */
	uint64_t rng;
	uint64_t failures;
	uint64_t corrupted;       /* bytes flipped */
};

/* Decides whether this call of kind `op` fails. */
static bool
faulty_hit(struct faulty_ctx *f, uint32_t op)
{
	bool hit = false;

	r5_mutex_lock(&f->lock);
	if (f->spec.ops & op) {
		if (f->calls++ >= f->spec.after_calls) {
			f->rng ^= f->rng >> 12;
			f->rng ^= f->rng << 25;
			f->rng ^= f->rng >> 27;
			hit = (f->rng * 2685821657736338717ull) % 1000000u < f->spec.rate_ppm;
		}
		if (hit)
			f->failures++;
	}
	r5_mutex_unlock(&f->lock);
	return hit;
}

/* Where in a transfer of len bytes at off to flip a byte, or -1. */
static int64_t
faulty_corrupt_pos(struct faulty_ctx *f, uint32_t op, size_t len, uint64_t off)
{
	int64_t pos = -1;

	if (len == 0)
		return -1;
	r5_mutex_lock(&f->lock);
	if (f->spec.corrupt_ops & op) {
		const uint64_t at = f->spec.corrupt_at, span = f->spec.corrupt_span;

		if (span > 0) {
			if (off < at + span && at < off + len)
				pos = at > off ? (int64_t)(at - off) : 0;
		} else {
			f->rng ^= f->rng >> 12;
			f->rng ^= f->rng << 25;
			f->rng ^= f->rng >> 27;
			uint64_t r = f->rng * 2685821657736338717ull;

			if (r % 1000000u < f->spec.corrupt_ppm)
				pos = (int64_t)((r >> 20) % len);
		}
		if (pos >= 0)
			f->corrupted++;
	}
	r5_mutex_unlock(&f->lock);
	return pos;
}

static ssize_t
faulty_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct faulty_ctx *f = ctx;

	r5_mutex_lock(&f->lock);
	const uint32_t delay = f->spec.delay_min_len && len >= f->spec.delay_min_len
				       ? f->spec.delay_us : 0;
	r5_mutex_unlock(&f->lock);
	if (delay)
		usleep(delay);
	if (faulty_hit(f, R5_FAULT_READ)) {
		if (f->spec.error)
			return -f->spec.error;
		len /= 2; /* short read */
	}
	ssize_t n = f->inner_ops->pread(f->inner, buf, len, off);
	int64_t pos = n > 0 ? faulty_corrupt_pos(f, R5_FAULT_READ, (size_t)n, off) : -1;

	if (pos >= 0)
		((uint8_t *)buf)[pos] ^= 0x5a;
	return n;
}

static ssize_t
faulty_pwrite(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct faulty_ctx *f = ctx;

	if (faulty_hit(f, R5_FAULT_WRITE)) {
		if (f->spec.error)
			return -f->spec.error;
		len /= 2; /* short write */
	}
	int64_t pos = faulty_corrupt_pos(f, R5_FAULT_WRITE, len, off);

	if (pos < 0)
		return f->inner_ops->pwrite(f->inner, buf, len, off);
	/* the caller's buffer stays as it is: flip a copy */
	uint8_t *copy = malloc(len);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, buf, len);
	copy[pos] ^= 0x5a;
	ssize_t n = f->inner_ops->pwrite(f->inner, copy, len, off);

	free(copy);
	return n;
}

static int
faulty_sync(void *ctx)
{
	struct faulty_ctx *f = ctx;

	if (faulty_hit(f, R5_FAULT_SYNC))
		return -(f->spec.error ? f->spec.error : EIO);
	return f->inner_ops->sync(f->inner);
}

static void
faulty_close(void *ctx)
{
	struct faulty_ctx *f = ctx;

	f->inner_ops->close(f->inner);
	r5_mutex_destroy(&f->lock);
	free(f);
}

static int64_t
faulty_size(void *ctx)
{
	struct faulty_ctx *f = ctx;

	return f->inner_ops->size ? f->inner_ops->size(f->inner) : -ENOTSUP;
}

static int
faulty_stat(void *ctx, struct stat *st)
{
	struct faulty_ctx *f = ctx;

	return f->inner_ops->stat ? f->inner_ops->stat(f->inner, st) : -ENOTSUP;
}

static int
faulty_truncate(void *ctx, uint64_t size)
{
	struct faulty_ctx *f = ctx;

	return f->inner_ops->truncate ? f->inner_ops->truncate(f->inner, size) : -ENOTSUP;
}

static void
faulty_willneed(void *ctx, uint64_t off, uint64_t len)
{
	struct faulty_ctx *f = ctx;

	if (f->inner_ops->willneed)
		f->inner_ops->willneed(f->inner, off, len);
}

static const struct r5_member_ops faulty_ops = {
	.pread = faulty_pread,
	.pwrite = faulty_pwrite,
	.sync = faulty_sync,
	.close = faulty_close,
	.size = faulty_size,
	.stat = faulty_stat,
	.truncate = faulty_truncate,
	.willneed = faulty_willneed,
};

int
r5_member_wrap_faulty(struct r5_member *m, const struct r5_fault_spec *spec)
{
	struct faulty_ctx *f;

	if (!m->ops)
		return -ENODEV;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->inner_ops = m->ops;
	f->inner = m->ctx;
	r5_mutex_init(&f->lock);
	f->spec = *spec;
	f->rng = spec->seed ? spec->seed : 0x9e3779b97f4a7c15ull;
	m->ops = &faulty_ops;
	m->ctx = f;
	return 0;
}

int
r5_member_faulty_set(struct r5_member *m, const struct r5_fault_spec *spec)
{
	struct faulty_ctx *f = m->ctx;

	if (m->ops != &faulty_ops)
		return -EINVAL;
	r5_mutex_lock(&f->lock);
	f->spec = *spec;
	f->calls = 0;
	f->rng = spec->seed ? spec->seed : 0x9e3779b97f4a7c15ull;
	r5_mutex_unlock(&f->lock);
	return 0;
}

int64_t
r5_member_faulty_count(struct r5_member *m)
{
	struct faulty_ctx *f = m->ctx;
	int64_t n;

	if (m->ops != &faulty_ops)
		return -EINVAL;
	r5_mutex_lock(&f->lock);
	n = (int64_t)f->failures;
	r5_mutex_unlock(&f->lock);
	return n;
}

uint64_t
r5_member_faulty_calls(struct r5_member *m)
{
	struct faulty_ctx *f = m->ctx;
	uint64_t n;

	if (m->ops != &faulty_ops)
		return 0;
	r5_mutex_lock(&f->lock);
	n = f->calls;
	r5_mutex_unlock(&f->lock);
	return n;
}

uint64_t
r5_member_faulty_corrupted(struct r5_member *m)
{
	struct faulty_ctx *f = m->ctx;
	uint64_t n;

	if (m->ops != &faulty_ops)
		return 0;
	r5_mutex_lock(&f->lock);
	n = f->corrupted;
	r5_mutex_unlock(&f->lock);
	return n;
}
