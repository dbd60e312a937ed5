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

/* Member I/O of one page, or of a run of pages of adjacent stripes on one
 * member gathered from the op queue (r5_io_gather): one preadv/pwritev
 * instead of a call per strip, like the block layer merging adjacent bios
 * under md. */
#define R5_IO_BATCH_MAX 64             /* pages per merged call */
#define R5_IO_BATCH_BYTES (1u << 20)   /* and bytes */
#define R5_IO_SCAN 256                 /* queue entries looked at per gather */

/* The end of one page's I/O: flags, a failed member, the stripe back to
 * handle. ret is the result of the I/O (0 or -errno). */
static void
r5_io_complete(struct stripe_head *sh, struct r5_work *w, int ret)
{
	struct r5_cache *c = sh->cache;
	struct r5_array *a = c->array;
	struct r5_dev *dev = &sh->dev[w->dev];

	/* A read error on a degraded array fails the requests that needed
	 * the page (R5_READERROR), not a second member; any other error fails
	 * the member. */
	bool read_error_only = ret < 0 && w->kind == R5_WORK_READ && r5_slot_ok(a, w->dev) &&
			       atomic_load(&a->nr_failed) > 0;
	if (ret < 0 && r5_slot_present(a, w->dev) && !read_error_only)
		/* takes sb_lock: no cache lock held here */
		r5_array_fail_slot(a, w->dev, "%s error at member offset %llu: %s",
				   w->kind == R5_WORK_READ ? "read" : "write",
				   (unsigned long long)(sh->sector * c->strip_size), strerror(-ret));

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
	r5_io_complete(sh, w, ret);
}

/* Pages in one merged member call. */
static int
r5_io_max_run(const struct r5_cache *c)
{
	const uint32_t by_bytes = R5_IO_BATCH_BYTES / c->strip_size;

	return by_bytes < R5_IO_BATCH_MAX ? (int)by_bytes : R5_IO_BATCH_MAX;
}

/* The pages of a run io[0..n) (one member, adjacent stripes) as an iovec;
 * returns the run's member offset. */
static uint64_t
r5_run_iov(const struct r5_cache *c, struct r5_work **io, int n, struct iovec *iov)
{
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = io[i]->sh->dev[io[i]->dev].page;
		iov[i].iov_len = c->strip_size;
	}
	return io[0]->sh->sector * c->strip_size;
}

/* Reads the run io[0..n) if the page cache has all of it, and completes
 * it. False: it needs the disk. */
static bool
r5_try_cached_read(struct r5_cache *c, struct r5_work **io, int n)
{
	struct r5_array *a = c->array;
	struct iovec iov[R5_IO_BATCH_MAX];
	const uint32_t slot = io[0]->dev;

	if (!r5_slot_present(a, slot))
		return false;
	uint64_t off = r5_run_iov(c, io, n, iov);
	if (r5_array_member_readv_cached(a, slot, iov, n, off) < 0)
		return false;
	for (int i = 0; i < n; i++)
		r5_io_complete(io[i]->sh, io[i], 0);
	return true;
}

/* device_lock held; first was just popped. Takes from the first
 * R5_IO_SCAN queued items those of the same kind and member whose stripes
 * follow or precede first's without a gap, and puts the run, in member
 * order, in batch. Returns its length (1: nothing to merge). */
static int
r5_io_gather(struct r5_cache *c, struct r5_list *queue, struct r5_work *first,
	     struct r5_work **batch)
{
	const int max = r5_io_max_run(c);
	/* window[max - 1 + d] holds the candidate d stripes from first */
	struct r5_work *window[2 * R5_IO_BATCH_MAX - 1] = { 0 };
	const uint64_t base = first->sh->sector;
	struct r5_list *e;
	int scanned = 0, lo = 0, hi = 0, n = 0;

	if (max <= 1)
		return batch[0] = first, 1;
	for (e = queue->next; e != queue && scanned < R5_IO_SCAN; e = e->next, scanned++) {
		struct r5_work *w = r5_container_of(e, struct r5_work, node);
		int64_t d;

		if (w->kind != first->kind || w->dev != first->dev)
			continue;
		d = (int64_t)(w->sh->sector - base);
		if (d > -max && d < max && d != 0)
			window[max - 1 + d] = w;
	}
	while (hi + 1 < max && window[max + hi])
		hi++;
	while (lo - 1 > -max && hi - (lo - 1) < max && window[max - 2 + lo])
		lo--;
	for (int d = lo; d <= hi; d++) {
		struct r5_work *w = d == 0 ? first : window[max - 1 + d];

		if (d != 0)
			r5_list_del(&w->node);
		batch[n++] = w;
	}
	return n;
}

/* A run from r5_io_gather: one vector call; if it fails, each page again
 * on its own, so an error lands on exactly the pages it belongs to. */
static void
r5_run_io_batch(struct r5_cache *c, struct r5_work **batch, int n)
{
	struct r5_array *a = c->array;
	struct iovec iov[R5_IO_BATCH_MAX];
	const uint32_t slot = batch[0]->dev;
	int ret;

	if (!r5_slot_present(a, slot)) {
		ret = -EIO;
	} else {
		uint64_t off = r5_run_iov(c, batch, n, iov);

		ret = batch[0]->kind == R5_WORK_READ ? r5_array_member_readv(a, slot, iov, n, off)
						     : r5_array_member_writev(a, slot, iov, n, off);
	}
	for (int i = 0; i < n; i++) {
		if (ret == 0)
			r5_io_complete(batch[i]->sh, batch[i], 0);
		else
			r5_run_io(batch[i]->sh, batch[i]);
	}
}

/* Which queue a member I/O item goes to. Reads that miss the page cache
 * block for a disk access: with I/O workers they wait there, and the
 * workers keep handling stripes. Writes stay with the workers: they only
 * fill the page cache, and more threads writing one member file would
 * queue on its inode lock (sequential write 550 -> 360-400 MB/s when the
 * I/O workers took them too). */
static struct r5_list *
r5_io_queue(struct r5_cache *c, const struct r5_work *w)
{
	return w->kind == R5_WORK_READ && c->nr_io_workers ? &c->read_queue : &c->op_queue;
}

/* Member I/O order in a plug: reads, then writes; by member; by stripe. */
static int
r5_work_cmp(const void *pa, const void *pb)
{
	const struct r5_work *a = *(struct r5_work *const *)pa, *b = *(struct r5_work *const *)pb;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->sh->sector != b->sh->sector)
		return a->sh->sector < b->sh->sector ? -1 : 1;
	return 0;
}

void
r5_plug_flush(struct r5_cache *c, struct r5_plug *plug)
{
	struct r5_work **io = plug->items;
	uint32_t nio = 0;

	/* computes to the end, member I/O to the front */
	for (uint32_t i = 0; i < plug->n; i++)
		if (plug->items[i]->kind != R5_WORK_COMPUTE) {
			struct r5_work *w = plug->items[i];

			plug->items[i] = plug->items[nio];
			plug->items[nio++] = w;
		}
	if (nio > 0) {
		bool reads = false, writes = false;

		qsort(io, nio, sizeof(*io), r5_work_cmp);
		/* Reads the page cache already holds are done here, at once;
		 * only those that need the disk go to the I/O workers (handing
		 * cached streams to them too halved degraded sequential reads). */
		const uint32_t max_run = (uint32_t)r5_io_max_run(c);

		for (uint32_t i = 0; c->nr_io_workers && i < nio && io[i]->kind == R5_WORK_READ;) {
			uint32_t n = 1;

			while (i + n < nio && n < max_run &&
			       io[i + n]->kind == R5_WORK_READ && io[i + n]->dev == io[i]->dev &&
			       io[i + n]->sh->sector == io[i]->sh->sector + n)
				n++;
			if (r5_try_cached_read(c, io + i, (int)n))
				for (uint32_t k = i; k < i + n; k++)
					io[k] = NULL;
			i += n;
		}
		r5_mutex_lock(&c->device_lock);
		for (uint32_t i = 0; i < nio; i++) {
			if (!io[i])
				continue;
			struct r5_list *q = r5_io_queue(c, io[i]);

			r5_list_add_tail(q, &io[i]->node);
			reads |= q == &c->read_queue;
			writes |= q == &c->op_queue;
		}
		/* one thread each; it wakes the next if more than its run is left */
		if (reads)
			r5_cond_signal(&c->io_cond);
		if (writes)
			r5_cond_signal(&c->work_cond);
		r5_mutex_unlock(&c->device_lock);
	}
	/* The batch's parity work runs in this worker while the others
	 * start its I/O: with as many workers as cores or more, handing it
	 * to another thread would only add a wakeup. */
	for (uint32_t i = nio; i < plug->n; i++)
		r5_run_compute(plug->items[i]->sh);
	plug->n = 0;
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

/* device_lock held (dropped while the I/O runs): runs the first item of
 * queue with the run r5_io_gather finds for it, after waking the next
 * thread sleeping on cond if work is left. False if queue is empty. */
static bool
r5_run_queued_io(struct r5_cache *c, struct r5_list *queue, pthread_cond_t *cond)
{
	struct r5_work *batch[R5_IO_BATCH_MAX], *w;
	struct r5_list *e = r5_list_pop(queue);
	int n;

	if (!e)
		return false;
	w = r5_container_of(e, struct r5_work, node);
	n = r5_io_gather(c, queue, w, batch);
	if (!r5_list_empty(queue) || (cond == &c->work_cond && !r5_list_empty(&c->handle_list)))
		r5_cond_signal(cond); /* more left: the next thread */
	r5_mutex_unlock(&c->device_lock);
	if (n > 1)
		r5_run_io_batch(c, batch, n);
	else
		r5_run_io(w->sh, w);
	r5_mutex_lock(&c->device_lock);
	return true;
}

/* An I/O worker: member reads from read_queue, nothing else. */
static void *
r5_io_worker_main(void *arg)
{
	struct r5_cache *c = arg;

	r5_mutex_lock(&c->device_lock);
	for (;;) {
		if (r5_run_queued_io(c, &c->read_queue, &c->io_cond))
			continue;
		if (c->stopping)
			break;
		r5_cond_wait(&c->io_cond, &c->device_lock);
	}
	r5_mutex_unlock(&c->device_lock);
	return NULL;
}

static void *
r5_worker_main(void *arg)
{
	struct r5_cache *c = arg;
	struct r5_list *e;
	struct r5_plug plug_store, *plug = &plug_store; /* 4 KiB of stack */

	plug->n = 0;

	r5_mutex_lock(&c->device_lock);
	for (;;) {
		/* member I/O only: computes run in the worker's plug */
		if (r5_run_queued_io(c, &c->op_queue, &c->work_cond))
			continue;
		if (!r5_list_empty(&c->handle_list)) {
			struct stripe_head *batch[R5_HANDLE_BATCH];
			uint32_t nb = 0;

			while (nb < R5_HANDLE_BATCH && (e = r5_list_pop(&c->handle_list))) {
				struct stripe_head *sh = r5_container_of(e, struct stripe_head, lru);

				/* count 0 -> 1 under device_lock (stripe.h) */
				sh->on_list = R5_LIST_NONE;
				atomic_fetch_add(&sh->count, 1);
				batch[nb++] = sh;
			}
			if (!r5_list_empty(&c->handle_list))
				r5_cond_signal(&c->work_cond); /* more left: the next worker */
			r5_mutex_unlock(&c->device_lock);
			for (uint32_t i = 0; i < nb; i++) {
				r5_handle_stripe(batch[i], plug);
				r5_stripe_put(batch[i]);
			}
			r5_plug_flush(c, plug);
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
r5_workers_start(struct r5_cache *c, uint32_t nr_workers, uint32_t nr_io_workers)
{
	c->workers = calloc(nr_workers + nr_io_workers, sizeof(*c->workers));
	if (!c->workers)
		return -ENOMEM;
	c->nr_workers = nr_workers;
	c->nr_io_workers = nr_io_workers;
	for (uint32_t i = 0; i < nr_workers + nr_io_workers; i++) {
		int err = pthread_create(&c->workers[i], NULL,
					 i < nr_workers ? r5_worker_main : r5_io_worker_main, c);

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
	r5_cond_broadcast(&c->io_cond);
	r5_mutex_unlock(&c->device_lock);
	for (uint32_t i = 0; i < c->workers_started; i++)
		pthread_join(c->workers[i], NULL);
	c->workers_started = 0;
	free(c->workers);
	c->workers = NULL;
}
