/* member_crash.c - the durable copy and the pending pieces of each member
 * (see member_crash.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "locks.h"
#include "member_crash.h"

struct crash_ctx {
	const struct r5_member_ops *inner_ops;
	void *inner;
	struct r5_crash_log *log;
	uint32_t id;
};

void
r5_crash_init(struct r5_crash_log *log, uint32_t nr)
{
	memset(log, 0, sizeof(*log));
	r5_mutex_init(&log->lock);
	log->nr = nr;
	for (uint32_t i = 0; i < 32; i++)
		log->member[i].durable_fd = -1;
}

void
r5_crash_destroy(struct r5_crash_log *log)
{
	for (uint32_t i = 0; i < 32; i++) {
		if (log->member[i].durable_fd >= 0)
			close(log->member[i].durable_fd);
		free(log->member[i].pieces);
	}
	r5_mutex_destroy(&log->lock);
}

/* (On the heap: a thread-local buffer would be zeroed for every thread
 * the engine starts.) */
static int
copy_file(int in, int out)
{
	const size_t bufsize = 1 << 20;
	uint8_t *buf = malloc(bufsize);
	off_t off = 0;
	ssize_t n;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	if (ftruncate(out, 0) < 0) {
		free(buf);
		return -errno;
	}
	while ((n = pread(in, buf, bufsize, off)) > 0) {
		/* keep holes: members are mostly sparse */
		bool zero = buf[0] == 0 && memcmp(buf, buf + 1, (size_t)n - 1) == 0;

		if (!zero && pwrite(out, buf, (size_t)n, off) != n) {
			ret = -EIO;
			break;
		}
		off += n;
	}
	if (ret == 0 && n < 0)
		ret = -errno;
	free(buf);
	if (ret == 0 && ftruncate(out, off) < 0)
		ret = -errno;
	return ret;
}

/* Records the blocks [off, off+len) touch, as the member holds them after
 * the write. log->lock held. */
static void
record_blocks(struct crash_ctx *c, uint64_t off, size_t len)
{
	struct r5_crash_member *cm = &c->log->member[c->id];

	for (uint64_t b = off / R5_CRASH_BLOCK * R5_CRASH_BLOCK; b < off + len; b += R5_CRASH_BLOCK) {
		if (cm->n == cm->cap) {
			size_t cap = cm->cap ? 2 * cm->cap : 64;
			struct r5_crash_piece *p = realloc(cm->pieces, cap * sizeof(*p));

			if (!p)
				abort(); /* a test helper: out of memory ends the run */
			cm->pieces = p;
			cm->cap = cap;
		}
		struct r5_crash_piece *p = &cm->pieces[cm->n++];

		p->off = b;
		memset(p->data, 0, sizeof(p->data));
		/* past the end of the file reads short: the rest is zero */
		(void)c->inner_ops->pread(c->inner, p->data, sizeof(p->data), b);
	}
}

static ssize_t
crash_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct crash_ctx *c = ctx;

	return c->inner_ops->pread(c->inner, buf, len, off);
}

static ssize_t
crash_pwrite(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct crash_ctx *c = ctx;
	ssize_t r;

	/* under the lock, so that a block's piece is what this write left */
	r5_mutex_lock(&c->log->lock);
	r = c->inner_ops->pwrite(c->inner, buf, len, off);
	if (r > 0 && !c->log->frozen)
		record_blocks(c, off, (size_t)r);
	r5_mutex_unlock(&c->log->lock);
	return r;
}

static int
crash_sync(void *ctx)
{
	struct crash_ctx *c = ctx;
	struct r5_crash_member *cm = &c->log->member[c->id];
	uint64_t upto;
	size_t before;
	int r;

	/* only what was written before the sync started is covered by it
	 * (counted from the first piece ever: syncs may overlap) */
	r5_mutex_lock(&c->log->lock);
	upto = cm->dropped + cm->n;
	r5_mutex_unlock(&c->log->lock);
	r = c->inner_ops->sync(c->inner);
	r5_mutex_lock(&c->log->lock);
	before = upto > cm->dropped ? (size_t)(upto - cm->dropped) : 0;
	if (r == 0 && !c->log->frozen && before > 0) {
		for (size_t i = 0; i < before; i++)
			if (pwrite(cm->durable_fd, cm->pieces[i].data, R5_CRASH_BLOCK,
				   (off_t)cm->pieces[i].off) != R5_CRASH_BLOCK)
				abort();
		memmove(cm->pieces, cm->pieces + before, (cm->n - before) * sizeof(*cm->pieces));
		cm->n -= before;
		cm->dropped += before;
	}
	r5_mutex_unlock(&c->log->lock);
	return r;
}

/* A write that is durable when it returns (RWF_DSYNC: that range only).
 * Its blocks go straight into the durable copy, and the pending pieces of
 * the same blocks (written before it) take its content: whichever of them
 * a crash keeps, the block is what this write left. */
static ssize_t
crash_pwritev_durable(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct crash_ctx *c = ctx;
	struct r5_crash_member *cm = &c->log->member[c->id];
	uint8_t block[R5_CRASH_BLOCK];
	ssize_t r = 0;

	r5_mutex_lock(&c->log->lock);
	for (int i = 0; i < iovcnt; i++) {
		ssize_t w = c->inner_ops->pwrite(c->inner, iov[i].iov_base, iov[i].iov_len,
						 off + (uint64_t)r);
		if (w < 0) {
			r = r ? r : w;
			break;
		}
		r += w;
		if ((size_t)w < iov[i].iov_len)
			break;
	}
	if (r > 0 && !c->log->frozen) {
		for (uint64_t b = off / R5_CRASH_BLOCK * R5_CRASH_BLOCK; b < off + (uint64_t)r;
		     b += R5_CRASH_BLOCK) {
			memset(block, 0, sizeof(block));
			(void)c->inner_ops->pread(c->inner, block, sizeof(block), b);
			if (pwrite(cm->durable_fd, block, R5_CRASH_BLOCK, (off_t)b) != R5_CRASH_BLOCK)
				abort();
			for (size_t i = 0; i < cm->n; i++)
				if (cm->pieces[i].off == b)
					memcpy(cm->pieces[i].data, block, sizeof(block));
		}
	}
	r5_mutex_unlock(&c->log->lock);
	return r;
}

static void
crash_close(void *ctx)
{
	struct crash_ctx *c = ctx;

	c->inner_ops->close(c->inner);
	free(c);
}

static int64_t
crash_size(void *ctx)
{
	struct crash_ctx *c = ctx;

	return c->inner_ops->size ? c->inner_ops->size(c->inner) : -ENOTSUP;
}

static int
crash_stat(void *ctx, struct stat *st)
{
	struct crash_ctx *c = ctx;

	return c->inner_ops->stat ? c->inner_ops->stat(c->inner, st) : -ENOTSUP;
}

static int
crash_truncate(void *ctx, uint64_t size)
{
	struct crash_ctx *c = ctx;

	return c->inner_ops->truncate ? c->inner_ops->truncate(c->inner, size) : -ENOTSUP;
}

static const struct r5_member_ops crash_ops = {
	.pread = crash_pread,
	.pwrite = crash_pwrite,
	.sync = crash_sync,
	.close = crash_close,
	.size = crash_size,
	.stat = crash_stat,
	.truncate = crash_truncate,
	.pwritev_durable = crash_pwritev_durable,
};

int
r5_member_wrap_crash(struct r5_member *m, struct r5_crash_log *log, uint32_t id, const char *path,
		     const char *durable_path)
{
	struct r5_crash_member *cm = &log->member[id];
	struct crash_ctx *c;
	int in, ret;

	if (!m->ops || id >= log->nr)
		return -EINVAL;
	snprintf(cm->durable_path, sizeof(cm->durable_path), "%s", durable_path);
	cm->durable_fd = open(durable_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (cm->durable_fd < 0 || in < 0) {
		ret = -errno;
		if (in >= 0)
			close(in);
		return ret;
	}
	ret = copy_file(in, cm->durable_fd);
	close(in);
	if (ret < 0)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->inner_ops = m->ops;
	c->inner = m->ctx;
	c->log = log;
	c->id = id;
	m->ops = &crash_ops;
	m->ctx = c;
	return 0;
}

void
r5_crash_freeze(struct r5_crash_log *log)
{
	r5_mutex_lock(&log->lock);
	log->frozen = true;
	r5_mutex_unlock(&log->lock);
}

void
r5_crash_sort(struct r5_crash_log *log)
{
	struct r5_crash_piece *tmp = malloc(sizeof(*tmp));

	if (!tmp)
		abort();
	for (uint32_t m = 0; m < log->nr; m++) {
		struct r5_crash_member *cm = &log->member[m];

		/* insertion sort: stable, and the pending lists are short */
		for (size_t i = 1; i < cm->n; i++) {
			size_t j = i;

			memcpy(tmp, &cm->pieces[i], sizeof(*tmp));
			while (j > 0 && cm->pieces[j - 1].off > tmp->off) {
				memcpy(&cm->pieces[j], &cm->pieces[j - 1], sizeof(*tmp));
				j--;
			}
			memcpy(&cm->pieces[j], tmp, sizeof(*tmp));
		}
	}
	free(tmp);
}

int
r5_crash_build(struct r5_crash_log *log, uint32_t id, const uint64_t *take, const char *out_path)
{
	struct r5_crash_member *cm = &log->member[id];
	int out = open(out_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret;

	if (out < 0)
		return -errno;
	ret = copy_file(cm->durable_fd, out);
	for (size_t i = 0; ret == 0 && i < cm->n; i++)
		if ((take[i / 64] >> (i % 64)) & 1)
			if (pwrite(out, cm->pieces[i].data, R5_CRASH_BLOCK, (off_t)cm->pieces[i].off) !=
			    R5_CRASH_BLOCK)
				ret = -EIO;
	close(out);
	return ret;
}

size_t
r5_crash_dedupe(struct r5_crash_log *log)
{
	uint8_t durable[R5_CRASH_BLOCK];
	size_t dropped = 0;

	for (uint32_t m = 0; m < log->nr; m++) {
		struct r5_crash_member *cm = &log->member[m];
		size_t out = 0;

		for (size_t i = 0, j; i < cm->n; i = j) {
			const size_t first = out;

			for (j = i; j < cm->n && cm->pieces[j].off == cm->pieces[i].off; j++)
				;
			memset(durable, 0, sizeof(durable));
			if (cm->durable_fd >= 0)
				(void)pread(cm->durable_fd, durable, sizeof(durable),
					    (off_t)cm->pieces[i].off);
			for (size_t k = i; k < j; k++) {
				bool same = !memcmp(cm->pieces[k].data, durable, sizeof(durable));

				for (size_t e = first; e < out && !same; e++)
					same = !memcmp(cm->pieces[k].data, cm->pieces[e].data,
						       sizeof(durable));
				if (same) {
					dropped++;
					continue;
				}
				if (out != k)
					memcpy(&cm->pieces[out], &cm->pieces[k], sizeof(cm->pieces[k]));
				out++;
			}
		}
		cm->n = out;
	}
	return dropped;
}

/* ---- the write tracker ---- */

struct track_ctx {
	const struct r5_member_ops *inner_ops;
	void *inner;
	struct r5_crash_track *t;
};

int
r5_crash_track_init(struct r5_crash_track *t, uint64_t size)
{
	memset(t, 0, sizeof(*t));
	t->nblocks = (size + R5_CRASH_BLOCK - 1) / R5_CRASH_BLOCK;
	t->bits = calloc((size_t)(t->nblocks + 63) / 64, sizeof(uint64_t));
	if (!t->bits)
		return -ENOMEM;
	r5_mutex_init(&t->lock);
	return 0;
}

void
r5_crash_track_destroy(struct r5_crash_track *t)
{
	if (!t->bits)
		return;
	r5_mutex_destroy(&t->lock);
	free(t->bits);
	t->bits = NULL;
}

void
r5_crash_track_reset(struct r5_crash_track *t)
{
	r5_mutex_lock(&t->lock);
	memset(t->bits, 0, (size_t)(t->nblocks + 63) / 64 * sizeof(uint64_t));
	t->all = false;
	r5_mutex_unlock(&t->lock);
}

bool
r5_crash_track_written(struct r5_crash_track *t, uint64_t i)
{
	bool w;

	r5_mutex_lock(&t->lock);
	w = t->all || (i < t->nblocks && ((t->bits[i / 64] >> (i % 64)) & 1));
	r5_mutex_unlock(&t->lock);
	return w;
}

static void
track_mark(struct r5_crash_track *t, uint64_t off, uint64_t len)
{
	if (len == 0)
		return;
	r5_mutex_lock(&t->lock);
	for (uint64_t b = off / R5_CRASH_BLOCK; b <= (off + len - 1) / R5_CRASH_BLOCK; b++) {
		if (b >= t->nblocks) {
			t->all = true;
			break;
		}
		t->bits[b / 64] |= 1ull << (b % 64);
	}
	r5_mutex_unlock(&t->lock);
}

static uint64_t
iov_len(const struct iovec *iov, int iovcnt)
{
	uint64_t n = 0;

	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return n;
}

static ssize_t
track_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct track_ctx *c = ctx;

	return c->inner_ops->pread(c->inner, buf, len, off);
}

static ssize_t
track_pwrite(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct track_ctx *c = ctx;

	track_mark(c->t, off, len);
	return c->inner_ops->pwrite(c->inner, buf, len, off);
}

static ssize_t
track_preadv(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct track_ctx *c = ctx;

	return c->inner_ops->preadv(c->inner, iov, iovcnt, off);
}

static ssize_t
track_pwritev(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct track_ctx *c = ctx;

	track_mark(c->t, off, iov_len(iov, iovcnt));
	return c->inner_ops->pwritev(c->inner, iov, iovcnt, off);
}

static ssize_t
track_preadv_cached(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct track_ctx *c = ctx;

	return c->inner_ops->preadv_cached(c->inner, iov, iovcnt, off);
}

static ssize_t
track_pwritev_durable(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct track_ctx *c = ctx;

	track_mark(c->t, off, iov_len(iov, iovcnt));
	return c->inner_ops->pwritev_durable(c->inner, iov, iovcnt, off);
}

static int
track_sync(void *ctx)
{
	struct track_ctx *c = ctx;

	return c->inner_ops->sync(c->inner);
}

static void
track_close(void *ctx)
{
	struct track_ctx *c = ctx;

	c->inner_ops->close(c->inner);
	free(c);
}

static int64_t
track_size(void *ctx)
{
	struct track_ctx *c = ctx;

	return c->inner_ops->size(c->inner);
}

static int
track_stat(void *ctx, struct stat *st)
{
	struct track_ctx *c = ctx;

	return c->inner_ops->stat(c->inner, st);
}

static int
track_truncate(void *ctx, uint64_t size)
{
	struct track_ctx *c = ctx;

	r5_mutex_lock(&c->t->lock);
	c->t->all = true;
	r5_mutex_unlock(&c->t->lock);
	return c->inner_ops->truncate(c->inner, size);
}

static void
track_willneed(void *ctx, uint64_t off, uint64_t len)
{
	struct track_ctx *c = ctx;

	c->inner_ops->willneed(c->inner, off, len);
}

static const struct r5_member_ops track_ops = {
	.pread = track_pread,
	.pwrite = track_pwrite,
	.sync = track_sync,
	.close = track_close,
	.size = track_size,
	.stat = track_stat,
	.truncate = track_truncate,
	.willneed = track_willneed,
	.preadv = track_preadv,
	.pwritev = track_pwritev,
	.preadv_cached = track_preadv_cached,
	.pwritev_durable = track_pwritev_durable,
};

int
r5_member_wrap_track(struct r5_member *m, struct r5_crash_track *t)
{
	struct track_ctx *c;

	/* the file backend's operations, all of them */
	if (!m->ops || !t->bits || !m->ops->size || !m->ops->stat || !m->ops->truncate ||
	    !m->ops->willneed || !m->ops->preadv || !m->ops->pwritev || !m->ops->preadv_cached ||
	    !m->ops->pwritev_durable)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->inner_ops = m->ops;
	c->inner = m->ctx;
	c->t = t;
	m->ops = &track_ops;
	m->ctx = c;
	return 0;
}
