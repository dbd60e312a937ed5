/* stripe_request.c - user requests: completion counting and attaching the
 * pieces of a request to stripes. */
#include <string.h>

#include "locks.h"
#include "stripe_internal.h"

void
r5_req_init(struct r5_req *req, uint32_t pending)
{
	r5_mutex_init(&req->lock);
	r5_cond_init(&req->done);
	req->pending = pending;
	req->error = 0;
}

void
r5_req_complete(struct r5_req *req, int error)
{
	r5_mutex_lock(&req->lock);
	if (error && !req->error)
		req->error = error;
	if (--req->pending == 0)
		r5_cond_signal(&req->done);
	r5_mutex_unlock(&req->lock);
}

int
r5_req_wait(struct r5_req *req)
{
	int err;

	r5_mutex_lock(&req->lock);
	while (req->pending > 0)
		r5_cond_wait(&req->done, &req->lock);
	err = req->error;
	r5_mutex_unlock(&req->lock);
	return err;
}

void
r5_req_destroy(struct r5_req *req)
{
	r5_mutex_destroy(&req->lock);
	r5_cond_destroy(&req->done);
}

struct r5_seg *
r5_bounce_seg(struct r5_cache *c, const void *src, uint32_t len)
{
	struct r5_bounce *b;

	r5_mutex_lock(&c->bounce_lock);
	b = c->bounce_free;
	if (b)
		c->bounce_free = b->next_free;
	r5_mutex_unlock(&c->bounce_lock);
	if (!b)
		return NULL;
	/* a copy in the caller's thread, so that the writer goes on */
	memcpy(b->page, src, len);
	b->seg.buf = b->page;
	b->seg.req = NULL;
	b->seg.bounce = b;
	b->seg.len = len;
	atomic_fetch_add(&c->stats.bounced, 1);
	return &b->seg;
}

void
r5_seg_done(struct r5_cache *c, struct r5_seg *seg, int error)
{
	struct r5_bounce *b = seg->bounce;

	if (seg->req) {
		r5_req_complete(seg->req, error);
		return;
	}
	if (error)
		atomic_fetch_add(&c->lost_writes, 1); /* the next flush says so */
	r5_mutex_lock(&c->bounce_lock);
	b->next_free = c->bounce_free;
	c->bounce_free = b;
	r5_mutex_unlock(&c->bounce_lock);
}

void
r5_stripe_add_read(struct stripe_head *sh, int dev, struct r5_seg *seg)
{
	r5_mutex_lock(&sh->lock);
	seg->next = sh->dev[dev].toread;
	sh->dev[dev].toread = seg;
	r5_set_bit(&sh->state, STRIPE_HANDLE);
	r5_clear_bit(&sh->state, STRIPE_DELAYED); /* look again at once */
	r5_mutex_unlock(&sh->lock);
}

/* Marks the 512-byte sectors that [off, off+len) covers completely and
 * tells whether the whole page is now covered. sh->lock held. */
static bool
r5_cover_add(struct r5_cache *c, struct r5_dev *dev, uint32_t off, uint32_t len)
{
	uint32_t first = (off + R5_SECTOR - 1) / R5_SECTOR;
	uint32_t end = (off + len) / R5_SECTOR;
	uint32_t nsect = c->strip_size / R5_SECTOR;

	for (uint32_t s = first; s < end; s++)
		dev->cover[s / 64] |= 1ull << (s % 64);
	for (uint32_t w = 0; w < c->cover_words; w++) {
		uint32_t bits = nsect - w * 64 >= 64 ? 64 : nsect - w * 64;
		uint64_t full = bits == 64 ? ~0ull : (1ull << bits) - 1;

		if ((dev->cover[w] & full) != full)
			return false;
	}
	return true;
}

void
r5_stripe_add_write(struct stripe_head *sh, int dev, struct r5_seg *seg)
{
	struct r5_dev *d = &sh->dev[dev];

	r5_mutex_lock(&sh->lock);
	/* oldest first, so a later write to the same bytes lands last */
	seg->next = NULL;
	if (!seg->req)
		sh->nr_bounced++;
	*d->towrite_tail = seg;
	d->towrite_tail = &seg->next;
	if (r5_cover_add(sh->cache, d, seg->off, seg->len))
		d->flags |= R5_OVERWRITE;
	r5_set_bit(&sh->state, STRIPE_HANDLE);
	r5_clear_bit(&sh->state, STRIPE_DELAYED); /* may be complete now */
	r5_mutex_unlock(&sh->lock);
}

void
r5_stripe_attach(struct r5_cache *c, uint64_t sector, uint32_t dev, struct r5_seg *seg, bool write)
{
	struct stripe_head *sh = r5_stripe_get(c, sector);

	if (write)
		r5_stripe_add_write(sh, (int)dev, seg);
	else
		r5_stripe_add_read(sh, (int)dev, seg);
	r5_stripe_put(sh);
}

void
r5_stripe_sync(struct r5_cache *c, uint64_t sector, int action, int target)
{
	struct stripe_head *sh = r5_stripe_get(c, sector);

	r5_mutex_lock(&sh->lock);
	sh->sync_action = (uint8_t)action;
	sh->sync_target = (int8_t)target;
	sh->sync_phase = 0;
	sh->sync_mismatch = false;
	/* A scrub looks at what the members hold, not at what the cache
	 * remembers: clean pages are read again (dirty or busy ones are newer
	 * than the members and are written back first anyway). */
	if (action != R5_SYNC_RECOVER)
		for (uint32_t i = 0; i < c->nr_members; i++)
			if ((sh->dev[i].flags & (R5_UPTODATE | R5_DIRTY | R5_LOCKED)) == R5_UPTODATE)
				sh->dev[i].flags &= ~R5_UPTODATE;
	r5_set_bit(&sh->state, STRIPE_HANDLE);
	r5_clear_bit(&sh->state, STRIPE_DELAYED);
	r5_mutex_unlock(&sh->lock);
	r5_stripe_put(sh);
}
