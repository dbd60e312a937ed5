/* stripe_io.c - member I/O work items: queued sorted from a worker's
 * plug, merged with their neighbours into one preadv/pwritev, completed
 * onto the stripe (stripe_internal.h, WORKERS, BATCHES AND MERGED MEMBER
 * I/O). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"
#include "locks.h"
#include "stripe_internal.h"

/* Member I/O of one page, or of a run of pages of adjacent stripes on one
 * member gathered from the op queue (r5_io_gather): one preadv/pwritev
 * instead of a call per strip, like the block layer merging adjacent bios
 * under md. */
#define R5_IO_BATCH_MAX 64             /* pages per merged call */
#define R5_IO_BATCH_BYTES (1u << 20)   /* and bytes */
#define R5_IO_SCAN 256                 /* queue entries looked at per gather */

/* A page read that failed its checksum (ret -EBADMSG, the page holds what
 * the member has). In a region awaiting resync after an unclean stop, the
 * data and its entry may simply not have both reached the member: the data
 * is taken as it is and its entry set from it, as the resync will do for
 * the whole row (docs/integrity.md, "after a crash"). Anywhere else it is
 * corruption: recorded, and the page rebuilt from the others. Returns the
 * read's result as the stripe sees it (0: take the page). */
static int
r5_io_checksum_failed(struct stripe_head *sh, struct r5_work *w)
{
	struct r5_cache *c = sh->cache;
	const uint64_t off = sh->sector * c->strip_size;
	struct iovec iov = { .iov_base = sh->dev[w->dev].page, .iov_len = c->strip_size };
	uint64_t image_off = UINT64_MAX;

	if (r5_bitmap_resync_pending(c->bitmap, off) &&
	    r5_members_csum_refresh(c->members, w->dev, &iov, 1, off) == 0) {
		atomic_fetch_add(&c->stats.csum_refreshed, 1);
		return 0;
	}
	if (w->dev != sh->pd_idx)
		r5_layout_unmap(&c->geo, w->dev, off, &image_off);
	r5_members_csum_error(c->members, w->dev, off, image_off);
	return -EBADMSG;
}

/* The end of one page's I/O: flags, a failed member, the stripe back to
 * handle. ret is the result of the I/O (0 or -errno). */
static void
r5_io_complete(struct stripe_head *sh, struct r5_work *w, int ret)
{
	struct r5_cache *c = sh->cache;
	struct r5_members *ms = c->members;
	struct r5_dev *dev = &sh->dev[w->dev];

	if (ret == -EBADMSG && w->kind == R5_WORK_READ)
		ret = r5_io_checksum_failed(sh, w);
	const bool bad_csum = ret == -EBADMSG && w->kind == R5_WORK_READ;
	/* A read error on a degraded array fails the requests that needed
	 * the page (R5_READERROR), not a second member; a block that failed
	 * its checksum is the block's fault, not the member's; any other
	 * error fails the member. */
	bool read_error_only = ret < 0 && w->kind == R5_WORK_READ && r5_members_ok(ms, w->dev) &&
			       r5_members_nr_failed(ms) > 0;
	if (ret < 0 && r5_members_present(ms, w->dev) && !read_error_only && !bad_csum)
		/* takes sb_lock: no cache lock held here */
		r5_members_fail(ms, w->dev, "%s error at member offset %llu: %s",
				   w->kind == R5_WORK_READ ? "read" : "write",
				   (unsigned long long)(sh->sector * c->strip_size), strerror(-ret));
	/* A page recovery could not rebuild, now on the member: its entry is
	 * made never to verify (may fail the member: no cache lock held). The
	 * flag was taken when the write was issued, under sh->lock: the flags
	 * word's other bits change under that lock meanwhile. */
	const bool poison = w->poison;

	if (poison && ret == 0) {
		uint64_t image_off = UINT64_MAX;
		const uint64_t off = sh->sector * c->strip_size;

		if (w->dev != sh->pd_idx)
			r5_layout_unmap(&c->geo, w->dev, off, &image_off);
		r5_members_csum_lost(ms, w->dev, off, c->strip_size, image_off);
	}

	r5_mutex_lock(&sh->lock);
	if (w->kind == R5_WORK_READ) {
		if (ret == 0)
			dev->flags |= R5_UPTODATE;
		else if (bad_csum)
			dev->flags |= R5_READERROR | R5_BADCSUM;
		else if (read_error_only)
			dev->flags |= R5_READERROR;
	} else {
		/* Written, or its member is now faulty and parity carries it. */
		if (poison)
			dev->flags &= ~(R5_POISON | R5_UPTODATE);
		if (ret == 0 && (dev->flags & R5_BADCSUM)) {
			dev->flags &= ~(R5_BADCSUM | R5_READERROR);
			r5_members_csum_healed(ms, w->dev, sh->sector * c->strip_size);
		}
		dev->flags &= ~R5_DIRTY;
		if (c->ppl) {
			uint64_t done_gen;

			sh->log_io.wb_gen = r5_members_sync_gen(ms, &done_gen);
		}
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
	struct r5_dev *dev = &sh->dev[w->dev];
	uint64_t off = sh->sector * c->strip_size;
	int ret;

	if (!r5_members_present(c->members, w->dev))
		ret = -EIO; /* failed since handle_stripe looked */
	else if (w->kind == R5_WORK_READ)
		ret = r5_members_read(c->members, w->dev, dev->page, c->strip_size, off);
	else
		ret = r5_members_write(c->members, w->dev, dev->page, c->strip_size, off);
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
	struct iovec iov[R5_IO_BATCH_MAX];
	const uint32_t slot = io[0]->dev;

	if (!r5_members_present(c->members, slot))
		return false;
	uint64_t off = r5_run_iov(c, io, n, iov);
	if (r5_members_readv_cached(c->members, slot, iov, n, off) < 0)
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
	struct iovec iov[R5_IO_BATCH_MAX];
	const uint32_t slot = batch[0]->dev;
	int ret;

	if (!r5_members_present(c->members, slot)) {
		ret = -EIO;
	} else {
		uint64_t off = r5_run_iov(c, batch, n, iov);

		ret = batch[0]->kind == R5_WORK_READ
			      ? r5_members_readv(c->members, slot, iov, n, off)
			      : r5_members_writev(c->members, slot, iov, n, off);
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


/* device_lock held (dropped while the I/O runs): runs the first item of
 * queue with the run r5_io_gather finds for it, after waking the next
 * thread sleeping on cond if work is left. False if queue is empty. */
bool
r5_io_run_queued(struct r5_cache *c, struct r5_list *queue, pthread_cond_t *cond)
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

