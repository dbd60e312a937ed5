/* member_recorder.c - records writes and syncs (and reads, if asked) of
 * wrapped members in one shared log (see member_recorder.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "member_recorder.h"

struct recorder_ctx {
	const struct r5_member_ops *inner_ops;
	void *inner;
	struct r5_recorder *rec;
	uint32_t id;
};

static void
record(struct recorder_ctx *c, uint32_t kind, uint64_t off, const void *buf, size_t len)
{
	struct r5_recorder *r = c->rec;

	r5_mutex_lock(&r->lock);
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct r5_rec_entry *log = realloc(r->log, cap * sizeof(*log));

		if (!log)
			abort(); /* a test helper: out of memory ends the test */
		r->log = log;
		r->cap = cap;
	}
	struct r5_rec_entry *e = &r->log[r->n++];
	memset(e, 0, sizeof(*e));
	e->member = c->id;
	e->kind = kind;
	e->off = off;
	e->len = len;
	if (buf)
		memcpy(e->head, buf, len < sizeof(e->head) ? len : sizeof(e->head));
	r5_mutex_unlock(&r->lock);
}

static ssize_t
rec_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct recorder_ctx *c = ctx;
	ssize_t r = c->inner_ops->pread(c->inner, buf, len, off);

	if (r > 0 && c->rec->record_reads)
		record(c, R5_REC_READ, off, buf, (size_t)r);
	return r;
}

static ssize_t
rec_pwrite(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct recorder_ctx *c = ctx;
	ssize_t r = c->inner_ops->pwrite(c->inner, buf, len, off);

	if (r > 0)
		record(c, R5_REC_WRITE, off, buf, (size_t)r);
	return r;
}

static int
rec_sync(void *ctx)
{
	struct recorder_ctx *c = ctx;
	int r = c->inner_ops->sync(c->inner);

	if (r == 0)
		record(c, R5_REC_SYNC, 0, NULL, 0);
	return r;
}

static void
rec_close(void *ctx)
{
	struct recorder_ctx *c = ctx;

	c->inner_ops->close(c->inner);
	free(c);
}

static int64_t
rec_size(void *ctx)
{
	struct recorder_ctx *c = ctx;

	return c->inner_ops->size ? c->inner_ops->size(c->inner) : -ENOTSUP;
}

static int
rec_stat(void *ctx, struct stat *st)
{
	struct recorder_ctx *c = ctx;

	return c->inner_ops->stat ? c->inner_ops->stat(c->inner, st) : -ENOTSUP;
}

static void
rec_willneed(void *ctx, uint64_t off, uint64_t len)
{
	struct recorder_ctx *c = ctx;

	if (c->inner_ops->willneed)
		c->inner_ops->willneed(c->inner, off, len);
}

/* No preadv/pwritev/preadv_cached: the member helpers then read and write
 * buffer by buffer, so every call is recorded with its own offset. */
static const struct r5_member_ops recorder_ops = {
	.pread = rec_pread,
	.pwrite = rec_pwrite,
	.sync = rec_sync,
	.close = rec_close,
	.size = rec_size,
	.stat = rec_stat,
	.willneed = rec_willneed,
};

void
r5_recorder_init(struct r5_recorder *r)
{
	memset(r, 0, sizeof(*r));
	r5_mutex_init(&r->lock);
}

void
r5_recorder_destroy(struct r5_recorder *r)
{
	r5_mutex_destroy(&r->lock);
	free(r->log);
	r->log = NULL;
}

int
r5_member_wrap_recorder(struct r5_member *m, struct r5_recorder *r, uint32_t id)
{
	struct recorder_ctx *c;

	if (!m->ops)
		return -ENODEV;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->inner_ops = m->ops;
	c->inner = m->ctx;
	c->rec = r;
	c->id = id;
	m->ops = &recorder_ops;
	m->ctx = c;
	return 0;
}
