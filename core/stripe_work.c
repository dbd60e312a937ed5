/* stripe_work.c - the worker pool: runs handle_stripe for stripes on the
 * handle list and executes the work items it queues (parity, copies,
 * member I/O), so FUSE threads never compute parity (DESIGN.md section 4). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_internal.h"
#include "locks.h"
#include "raid5fs/parity.h"
#include "raid5fs/util.h"
#include "stripe.h"

/* How long delayed stripes may wait for the rest of their data while
 * requests are still being attached (md releases them at unplug). */
#define R5_DELAY_NS (2u * 1000 * 1000)
/* How long stripes holding only bounced (acknowledged) writes wait for the
 * rest of their row: far longer than a writer takes to send its next
 * request, short enough to keep the dirty data young. */
#define R5_LAZY_DELAY_NS (5ull * 1000 * 1000)

void
r5_work_queue(struct r5_cache *c, struct r5_work *w)
{
	r5_mutex_lock(&c->device_lock);
	r5_list_add_tail(&c->op_queue, &w->node);
	r5_cond_signal(&c->work_cond);
	r5_mutex_unlock(&c->device_lock);
}

static void r5_activate_delayed(struct r5_cache *c);

void
r5_cache_kick_delayed(struct r5_cache *c)
{
	r5_mutex_lock(&c->device_lock);
	r5_activate_delayed(c);
	r5_cond_broadcast(&c->work_cond);
	r5_mutex_unlock(&c->device_lock);
}

void
r5_cache_unplug(struct r5_cache *c)
{
	r5_mutex_lock(&c->device_lock);
	if (c->nr_delayed)
		r5_cond_signal(&c->work_cond);
	r5_mutex_unlock(&c->device_lock);
}

static void
r5_complete_segs(struct r5_cache *c, struct r5_seg *s, int error)
{
	while (s) {
		struct r5_seg *next = s->next;

		r5_seg_done(c, s, error);
		s = next;
	}
}

/* The compute item: COMPUTE, PREXOR, BIODRAIN, BIOFILL, RECONSTRUCT, in
 * that order (stripe.h), on pages that handle_stripe locked for it. */
static void
r5_run_compute(struct stripe_head *sh)
{
	struct r5_cache *c = sh->cache;
	struct r5_ops *ops = &sh->ops;
	const uint32_t n = c->nr_members, pd = sh->pd_idx, strip = c->strip_size;
	void *src[R5_MAX_MEMBERS + 1];
	int k;

	if (ops->request & R5_OP_CHECK) {
		for (uint32_t i = 0; i < n; i++)
			src[i] = sh->dev[i].page;
		ops->check_zero = r5_parity_check((int)n, strip, src);
	}
	if (ops->request & R5_OP_COMPUTE) {
		k = 0;
		for (uint32_t i = 0; i < n; i++)
			if ((int)i != ops->target)
				src[k++] = sh->dev[i].page;
		r5_parity_xor(k, strip, src, sh->dev[ops->target].page);
		atomic_fetch_add(&c->stats.computes, 1);
	}
	if (ops->request & R5_OP_PREXOR) {
		/* P ^= old data of every block about to be overwritten */
		k = 0;
		src[k++] = sh->dev[pd].page;
		for (uint32_t i = 0; i < n; i++)
			if (ops->drain[i])
				src[k++] = sh->dev[i].page;
		r5_parity_xor(k, strip, src, sh->dev[pd].page);
	}
	if (ops->request & R5_OP_BIODRAIN)
		for (uint32_t i = 0; i < n; i++)
			for (struct r5_seg *s = ops->drain[i]; s; s = s->next)
				memcpy(sh->dev[i].page + s->off, s->buf, s->len);
	if (ops->request & R5_OP_BIOFILL)
		for (uint32_t i = 0; i < n; i++)
			for (struct r5_seg *s = ops->fill[i]; s; s = s->next)
				memcpy(s->buf, sh->dev[i].page + s->off, s->len);
	if (ops->request & R5_OP_RECONSTRUCT) {
		k = 0;
		if (ops->rmw) {
			src[k++] = sh->dev[pd].page; /* P ^= new data */
			for (uint32_t i = 0; i < n; i++)
				if (ops->drain[i])
					src[k++] = sh->dev[i].page;
		} else {
			for (uint32_t i = 0; i < n; i++)
				if (i != pd)
					src[k++] = sh->dev[i].page;
		}
		r5_parity_xor(k, strip, src, sh->dev[pd].page);
	}

	/* Publish the result, then acknowledge: once a writer is told its
	 * data is stored, the stripe is already marked dirty. */
	struct r5_seg *fill_done = NULL, *drain_done = NULL;

	r5_mutex_lock(&sh->lock);
	if (ops->request & R5_OP_COMPUTE)
		sh->dev[ops->target].flags |= R5_UPTODATE;
	if (ops->request & R5_OP_BIODRAIN) {
		for (uint32_t i = 0; i < n; i++)
			if (ops->drain[i])
				sh->dev[i].flags |= R5_UPTODATE | R5_DIRTY;
		r5_clear_bit(&sh->state, STRIPE_PREREAD_ACTIVE);
	}
	if (ops->request & R5_OP_RECONSTRUCT)
		sh->dev[pd].flags |= R5_UPTODATE | R5_DIRTY;
	if (ops->request & R5_OP_CHECK) {
		sh->sync_phase = 1;
		sh->sync_mismatch = !ops->check_zero;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct r5_seg *s;

		sh->dev[i].flags &= ~R5_LOCKED;
		while ((s = ops->fill[i])) {
			ops->fill[i] = s->next;
			s->next = fill_done;
			fill_done = s;
		}
		while ((s = ops->drain[i])) {
			ops->drain[i] = s->next;
			if (!s->req)
				sh->nr_bounced--;
			s->next = drain_done;
			drain_done = s;
		}
	}
	ops->request = 0;
	sh->inflight--;
	r5_set_bit(&sh->state, STRIPE_HANDLE);
	r5_mutex_unlock(&sh->lock);

	r5_complete_segs(c, fill_done, 0);
	r5_complete_segs(c, drain_done, 0);
	r5_stripe_put(sh);
}

/* One member read or write of one page. */
static void
r5_run_io(struct stripe_head *sh, struct r5_work *w)
{
	struct r5_cache *c = sh->cache;
	struct r5_array *a = c->array;
	struct r5_dev *dev = &sh->dev[w->dev];
	uint64_t off = sh->sector * c->strip_size;
	int ret;

	if (!r5_slot_present(a, w->dev))
		ret = -EIO; /* failed since handle_stripe looked */
	else if (w->kind == R5_WORK_READ)
		ret = r5_array_member_read(a, w->dev, dev->page, c->strip_size, off);
	else
		ret = r5_array_member_write(a, w->dev, dev->page, c->strip_size, off);

	/* A read error on a degraded array fails the requests that needed
	 * the page (R5_READERROR), not a second member; any other error fails
	 * the member. */
	bool read_error_only = ret < 0 && w->kind == R5_WORK_READ && r5_slot_ok(a, w->dev) &&
			       atomic_load(&a->nr_failed) > 0;
	if (ret < 0 && r5_slot_present(a, w->dev) && !read_error_only)
		/* takes sb_lock: no cache lock held here */
		r5_array_fail_slot(a, w->dev, "%s error at member offset %llu: %s",
				   w->kind == R5_WORK_READ ? "read" : "write",
				   (unsigned long long)off, strerror(-ret));

	r5_mutex_lock(&sh->lock);
	if (w->kind == R5_WORK_READ) {
		if (ret == 0)
			dev->flags |= R5_UPTODATE;
		else if (read_error_only)
			dev->flags |= R5_READERROR;
	} else {
		/* Written, or its member is now faulty and parity carries it. */
		dev->flags &= ~R5_DIRTY;
		r5_stripe_check_clean(sh);
	}
	dev->flags &= ~R5_LOCKED;
	sh->inflight--;
	r5_set_bit(&sh->state, STRIPE_HANDLE);
	r5_mutex_unlock(&sh->lock);
	r5_stripe_put(sh);
}

static void
r5_run_work(struct r5_work *w)
{
	if (w->kind == R5_WORK_COMPUTE)
		r5_run_compute(w->sh);
	else
		r5_run_io(w->sh, w);
}

/* device_lock held: move every delayed stripe to the handle list. */
static void
r5_activate_delayed(struct r5_cache *c)
{
	struct r5_list *e;

	while ((e = r5_list_pop(&c->delayed_list))) {
		struct stripe_head *sh = r5_container_of(e, struct stripe_head, lru);

		r5_set_bit(&sh->state, STRIPE_PREREAD_ACTIVE);
		r5_list_add_tail(&c->handle_list, &sh->lru);
		sh->on_list = R5_LIST_HANDLE;
	}
	c->nr_delayed = 0;
	c->nr_delayed_urgent = 0;
}

static void *
r5_worker_main(void *arg)
{
	struct r5_cache *c = arg;
	struct r5_list *e;

	r5_mutex_lock(&c->device_lock);
	for (;;) {
		if ((e = r5_list_pop(&c->op_queue))) {
			r5_mutex_unlock(&c->device_lock);
			r5_run_work(r5_container_of(e, struct r5_work, node));
			r5_mutex_lock(&c->device_lock);
			continue;
		}
		if ((e = r5_list_pop(&c->handle_list))) {
			struct stripe_head *sh = r5_container_of(e, struct stripe_head, lru);

			/* count 0 -> 1 under device_lock (stripe.h) */
			sh->on_list = R5_LIST_NONE;
			atomic_fetch_add(&sh->count, 1);
			r5_mutex_unlock(&c->device_lock);
			r5_handle_stripe(sh);
			r5_stripe_put(sh);
			r5_mutex_lock(&c->device_lock);
			continue;
		}
		if (c->nr_delayed) {
			/* Release the delayed stripes (stripe.h): a writer waits
			 * and nobody is attaching a request; someone waits for a
			 * free stripe; stopping; or the list is old enough. */
			uint64_t age = r5_now_ns() - c->delayed_since_ns;
			uint64_t limit = c->nr_delayed_urgent ? R5_DELAY_NS : R5_LAZY_DELAY_NS;

			if ((c->nr_delayed_urgent && atomic_load(&c->plugged) == 0) ||
			    atomic_load(&c->get_waiters) > 0 || c->stopping || age >= limit) {
				r5_activate_delayed(c);
				continue;
			}
			r5_cond_timedwait(&c->work_cond, &c->device_lock, limit - age);
			continue;
		}
		if (c->stopping)
			break;
		r5_cond_wait(&c->work_cond, &c->device_lock);
	}
	r5_mutex_unlock(&c->device_lock);
	return NULL;
}

int
r5_workers_start(struct r5_cache *c, uint32_t nr_workers)
{
	c->workers = calloc(nr_workers, sizeof(*c->workers));
	if (!c->workers)
		return -ENOMEM;
	c->nr_workers = nr_workers;
	for (uint32_t i = 0; i < nr_workers; i++) {
		int err = pthread_create(&c->workers[i], NULL, r5_worker_main, c);

		if (err) {
			r5_workers_stop(c);
			return -err;
		}
		c->workers_started++;
	}
	return 0;
}

void
r5_workers_stop(struct r5_cache *c)
{
	r5_mutex_lock(&c->device_lock);
	c->stopping = true;
	r5_cond_broadcast(&c->work_cond);
	r5_mutex_unlock(&c->device_lock);
	for (uint32_t i = 0; i < c->workers_started; i++)
		pthread_join(c->workers[i], NULL);
	c->workers_started = 0;
	free(c->workers);
	c->workers = NULL;
}
