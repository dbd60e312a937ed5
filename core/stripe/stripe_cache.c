/* stripe_cache.c - the stripe_head pool: allocation, hash, lists, counts.
 * The rules this file implements are in private/stripe_internal.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "raid5fs/util.h"
#include "stripe_internal.h"

static uint32_t
r5_hash_bucket(const struct r5_cache *c, uint64_t sector)
{
	/* bucket % R5_NR_PARTITIONS == sector % R5_NR_PARTITIONS, so a chain
	 * only holds stripes of one partition and one lock covers it. */
	uint32_t per_part = c->hash_size / R5_NR_PARTITIONS;
	uint64_t h = (sector / R5_NR_PARTITIONS) * 0x9E3779B97F4A7C15ull;

	return (uint32_t)((h >> 32) % per_part) * R5_NR_PARTITIONS +
	       (uint32_t)(sector % R5_NR_PARTITIONS);
}

/* part lock held */
static struct stripe_head *
r5_hash_find(struct r5_cache *c, uint64_t sector)
{
	struct stripe_head *sh = c->hash[r5_hash_bucket(c, sector)];

	while (sh && sh->sector != sector)
		sh = sh->hash_next;
	return sh;
}

/* part lock held */
static void
r5_hash_remove(struct r5_cache *c, struct stripe_head *sh)
{
	struct stripe_head **pp = &c->hash[r5_hash_bucket(c, sh->sector)];

	while (*pp && *pp != sh)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = sh->hash_next;
	sh->hash_next = NULL;
	sh->hashed = 0;
}

/* part lock held */
static void
r5_hash_insert(struct r5_cache *c, struct stripe_head *sh)
{
	struct stripe_head **head = &c->hash[r5_hash_bucket(c, sh->sector)];

	sh->hash_next = *head;
	*head = sh;
	sh->hashed = 1;
}

/* Gives a free stripe (count 0, off every list, clean) a new sector. part lock held. */
static void
r5_stripe_init(struct r5_cache *c, struct stripe_head *sh, uint64_t sector)
{
	const struct r5_geometry *g = &c->geo;

	if (sh->hashed)
		r5_hash_remove(c, sh);
	sh->sector = sector;
	atomic_store(&sh->state, 0);
	/* block state belongs to sh->lock even on a free stripe (flush reads it) */
	r5_mutex_lock(&sh->lock);
	sh->inflight = 0;
	sh->nr_bounced = 0;
	sh->sync_action = 0;
	sh->sync_phase = 0;
	sh->sync_mismatch = false;
	sh->sync_target = -1;
	sh->pd_idx = r5_layout_parity_member(g, sector / c->strips_per_chunk);
	memset(&sh->ops, 0, sizeof(sh->ops));
	for (uint32_t i = 0; i < c->nr_members; i++) {
		struct r5_dev *dev = &sh->dev[i];

		dev->flags = 0;
		dev->toread = NULL;
		dev->towrite = NULL;
		dev->towrite_tail = &dev->towrite;
		memset(dev->cover, 0, c->cover_words * sizeof(uint64_t));
	}
	r5_mutex_unlock(&sh->lock);
	r5_hash_insert(c, sh);
}

struct stripe_head *
r5_stripe_get(struct r5_cache *c, uint64_t sector)
{
	struct r5_partition *p = &c->part[sector % R5_NR_PARTITIONS];
	struct stripe_head *sh;

	r5_mutex_lock(&p->lock);
	for (;;) {
		sh = r5_hash_find(c, sector);
		if (sh) {
			unsigned old = atomic_load(&sh->count);

			while (old > 0 && !atomic_compare_exchange_weak(&sh->count, &old, old + 1))
				;
			if (old == 0) {
				/* count 0: it sits on a list; take it off */
				if (sh->on_list == R5_LIST_INACTIVE) {
					r5_list_del(&sh->lru);
					sh->on_list = R5_LIST_NONE;
					p->active++;
				} else {
					r5_mutex_lock(&c->device_lock);
					if (sh->on_list == R5_LIST_DELAYED) {
						c->nr_delayed--;
						if (r5_test_bit(&sh->state, STRIPE_DELAY_URGENT))
							c->nr_delayed_urgent--;
					}
					if (sh->on_list != R5_LIST_NONE) {
						r5_list_del(&sh->lru);
						sh->on_list = R5_LIST_NONE;
					}
					r5_mutex_unlock(&c->device_lock);
				}
				atomic_fetch_add(&sh->count, 1);
			}
			atomic_fetch_add(&c->stats.hits, 1);
			break;
		}
		if (!r5_list_empty(&p->inactive) &&
		    (!p->blocked || p->active < p->size * 3 / 4)) {
			sh = r5_container_of(r5_list_pop(&p->inactive), struct stripe_head, lru);
			sh->on_list = R5_LIST_NONE;
			p->active++;
			r5_stripe_init(c, sh, sector);
			atomic_store(&sh->count, 1);
			atomic_fetch_add(&c->stats.misses, 1);
			break;
		}
		/* Out of stripes: wait for the 3/4 hysteresis (stripe_internal.h). */
		if (r5_list_empty(&p->inactive))
			p->blocked = true;
		p->waiters++;
		atomic_fetch_add(&c->stats.waits, 1);
		/* delayed stripes hold pool entries: let the workers release them */
		atomic_fetch_add(&c->get_waiters, 1);
		r5_cache_poke_delayed(c);
		r5_cond_wait(&p->wait_for_stripe, &p->lock);
		atomic_fetch_sub(&c->get_waiters, 1);
		p->waiters--;
	}
	r5_mutex_unlock(&p->lock);
	return sh;
}

struct stripe_head *
r5_stripe_try_claim(struct r5_cache *c, uint64_t sector)
{
	struct r5_partition *p = &c->part[sector % R5_NR_PARTITIONS];
	struct stripe_head *sh;

	r5_mutex_lock(&p->lock);
	sh = r5_hash_find(c, sector);
	if (sh) {
		/* in use, or holding work or dirty pages: the cache's */
		if (atomic_load(&sh->count) > 0 || sh->on_list != R5_LIST_INACTIVE) {
			r5_mutex_unlock(&p->lock);
			return NULL;
		}
		r5_list_del(&sh->lru);
		atomic_fetch_add(&c->stats.hits, 1);
	} else {
		/* Never wait and never take what a get would wait for: the
		 * caller falls back to the cache instead. */
		if (r5_list_empty(&p->inactive) || p->blocked || p->waiters ||
		    p->active >= p->size * 3 / 4) {
			r5_mutex_unlock(&p->lock);
			return NULL;
		}
		sh = r5_container_of(r5_list_pop(&p->inactive), struct stripe_head, lru);
		r5_stripe_init(c, sh, sector);
		atomic_fetch_add(&c->stats.misses, 1);
	}
	sh->on_list = R5_LIST_NONE;
	p->active++;
	atomic_store(&sh->count, 1);
	/* The members are about to change under every page: what the stripe
	 * remembers of them is stale from now on (a clean stripe has no other
	 * flag worth keeping). */
	r5_mutex_lock(&sh->lock);
	for (uint32_t i = 0; i < c->nr_members; i++)
		sh->dev[i].flags = 0;
	r5_mutex_unlock(&sh->lock);
	r5_mutex_unlock(&p->lock);
	return sh;
}

void
r5_stripe_put(struct stripe_head *sh)
{
	struct r5_cache *c = sh->cache;
	struct r5_partition *p = &c->part[sh->hash_idx];
	unsigned old = atomic_load(&sh->count);

	/* Not the last reference: no list changes, no lock. */
	while (old > 1)
		if (atomic_compare_exchange_weak(&sh->count, &old, old - 1))
			return;

	r5_mutex_lock(&p->lock);
	if (atomic_fetch_sub(&sh->count, 1) != 1) {
		r5_mutex_unlock(&p->lock);
		return;
	}
	if (r5_test_bit(&sh->state, STRIPE_HANDLE)) {
		r5_mutex_lock(&c->device_lock);
		/* Wake a worker only when a list stops being empty: workers
		 * look at every list before they sleep, and one that takes
		 * work while more is left wakes the next (r5_worker_main).
		 * A wakeup per stripe put made idle workers fight over
		 * device_lock (recovery with 16 workers: 4x slower). */
		bool wake;

		if (r5_test_bit(&sh->state, STRIPE_DELAYED) &&
		    !r5_test_bit(&sh->state, STRIPE_PREREAD_ACTIVE)) {
			wake = c->nr_delayed == 0 ||
			       (r5_test_bit(&sh->state, STRIPE_DELAY_URGENT) && !c->nr_delayed_urgent);
			if (!c->nr_delayed)
				c->delayed_since_ns = r5_now_ns();
			r5_list_add_tail(&c->delayed_list, &sh->lru);
			sh->on_list = R5_LIST_DELAYED;
			c->nr_delayed++;
			if (r5_test_bit(&sh->state, STRIPE_DELAY_URGENT))
				c->nr_delayed_urgent++;
		} else {
			wake = r5_list_empty(&c->handle_list);
			r5_clear_bit(&sh->state, STRIPE_DELAYED);
			r5_list_add_tail(&c->handle_list, &sh->lru);
			sh->on_list = R5_LIST_HANDLE;
		}
		if (wake)
			r5_cond_signal(&c->work_cond);
		r5_mutex_unlock(&c->device_lock);
	} else {
		r5_clear_bit(&sh->state, STRIPE_PREREAD_ACTIVE);
		r5_list_add_tail(&p->inactive, &sh->lru);
		sh->on_list = R5_LIST_INACTIVE;
		p->active--;
		if (p->blocked && p->active < p->size * 3 / 4)
			p->blocked = false;
		if (p->waiters && !p->blocked)
			r5_cond_broadcast(&p->wait_for_stripe);
	}
	r5_mutex_unlock(&p->lock);
}

static bool
stripe_busy(struct r5_cache *c, uint64_t sector)
{
	struct r5_partition *p = &c->part[sector % R5_NR_PARTITIONS];
	struct stripe_head *sh;
	bool busy;

	r5_mutex_lock(&p->lock);
	sh = r5_hash_find(c, sector);
	/* A stripe on the inactive list is clean (its pages equal the members). */
	busy = sh && (atomic_load(&sh->count) > 0 || sh->on_list != R5_LIST_INACTIVE);
	r5_mutex_unlock(&p->lock);
	return busy;
}

bool
r5_stripes_busy(struct r5_cache *c, uint64_t off, uint64_t len)
{
	for (uint64_t s = off / c->strip_size; s <= (off + len - 1) / c->strip_size; s++)
		if (stripe_busy(c, s))
			return true;
	return false;
}

void
r5_cache_counts(struct r5_cache *c, uint32_t *active, uint32_t *inactive, uint32_t *handle,
		uint32_t *delayed)
{
	uint32_t act = 0, free_ = 0, hnd = 0;
	struct r5_list *e;

	for (int h = 0; h < R5_NR_PARTITIONS; h++) {
		r5_mutex_lock(&c->part[h].lock);
		act += c->part[h].active;
		free_ += c->part[h].size - c->part[h].active;
		r5_mutex_unlock(&c->part[h].lock);
	}
	r5_mutex_lock(&c->device_lock);
	for (e = c->handle_list.next; e != &c->handle_list; e = e->next)
		hnd++;
	if (delayed)
		*delayed = c->nr_delayed;
	r5_mutex_unlock(&c->device_lock);
	if (active)
		*active = act;
	if (inactive)
		*inactive = free_;
	if (handle)
		*handle = hnd;
}

int
r5_cache_create(struct r5_members *ms, struct r5_bitmap *bm, const struct r5_geometry *g,
		uint32_t nr_stripes, uint32_t strip_size, struct r5_cache **out)
{
	uint32_t n = g->nr_members;
	size_t sh_size = sizeof(struct stripe_head) + n * sizeof(struct r5_dev);
	struct r5_cache *c;
	uint8_t *pages;
	uint64_t *cover;

	if (nr_stripes < R5_MIN_STRIPES || nr_stripes > R5_MAX_STRIPES ||
	    strip_size < R5_MIN_STRIP || strip_size > R5_MAX_STRIP ||
	    (strip_size & (strip_size - 1)) || strip_size > g->chunk_size)
		return -EINVAL;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->members = ms;
	c->bitmap = bm;
	c->geo = *g;
	c->nr_members = n;
	c->strip_size = strip_size;
	c->nr_stripes = nr_stripes;
	c->strips_per_chunk = g->chunk_size / strip_size;
	c->cover_words = (strip_size / R5_SECTOR + 63) / 64;
	c->hash_size = R5_NR_PARTITIONS;
	while (c->hash_size < nr_stripes)
		c->hash_size <<= 1;

	c->pool = calloc(nr_stripes, sizeof(*c->pool));
	c->hash = calloc(c->hash_size, sizeof(*c->hash));
	if (!c->pool || !c->hash)
		goto err;
	/* page-aligned so member I/O could use O_DIRECT */
	if (posix_memalign((void **)&c->pages, 4096, (size_t)nr_stripes * n * strip_size))
		goto err;
	c->cover = calloc((size_t)nr_stripes * n * c->cover_words, sizeof(uint64_t));
	if (!c->cover)
		goto err;
	pages = c->pages;
	cover = c->cover;
	for (int h = 0; h < R5_NR_PARTITIONS; h++) {
		r5_mutex_init(&c->part[h].lock);
		r5_cond_init(&c->part[h].wait_for_stripe);
		r5_list_init(&c->part[h].inactive);
	}
	r5_mutex_init(&c->device_lock);
	r5_cond_init(&c->work_cond);
	r5_cond_init(&c->io_cond);
	r5_list_init(&c->handle_list);
	r5_list_init(&c->delayed_list);
	r5_list_init(&c->op_queue);
	r5_list_init(&c->read_queue);
	r5_mutex_init(&c->flush_serial);
	r5_mutex_init(&c->flush_lock);
	r5_cond_init(&c->flush_cond);
	r5_mutex_init(&c->bounce_lock);

	/* a quarter of the pool's stripes' worth of single pages: enough for
	 * the edges of many requests, small next to the cache itself */
	c->nr_bounce = nr_stripes / 4;
	c->bounces = calloc(c->nr_bounce, sizeof(*c->bounces));
	if (!c->bounces || posix_memalign((void **)&c->bounce_pages, 4096,
					  (size_t)c->nr_bounce * strip_size))
		goto err_pool;
	for (uint32_t b = 0; b < c->nr_bounce; b++) {
		c->bounces[b].page = c->bounce_pages + (size_t)b * strip_size;
		c->bounces[b].next_free = c->bounce_free;
		c->bounce_free = &c->bounces[b];
	}

	for (uint32_t s = 0; s < nr_stripes; s++) {
		struct stripe_head *sh = calloc(1, sh_size);

		if (!sh)
			goto err_pool;
		c->pool[s] = sh;
		sh->cache = c;
		sh->hash_idx = (uint8_t)(s % R5_NR_PARTITIONS);
		r5_mutex_init(&sh->lock);
		sh->compute.sh = sh;
		sh->compute.kind = R5_WORK_COMPUTE;
		r5_list_init(&sh->compute.node);
		for (uint32_t i = 0; i < n; i++) {
			struct r5_dev *dev = &sh->dev[i];
			size_t idx = (size_t)s * n + i;

			dev->page = pages + idx * strip_size;
			dev->cover = cover + idx * c->cover_words;
			dev->towrite_tail = &dev->towrite;
			dev->io.sh = sh;
			dev->io.dev = (uint8_t)i;
			r5_list_init(&dev->io.node);
		}
		r5_list_add_tail(&c->part[sh->hash_idx].inactive, &sh->lru);
		sh->on_list = R5_LIST_INACTIVE;
		c->part[sh->hash_idx].size++;
	}
	*out = c;
	return 0;

err_pool:
	r5_cache_destroy(c);
	return -ENOMEM;
err:
	free(c->pages);
	free(c->cover);
	free(c->pool);
	free(c->hash);
	free(c);
	return -ENOMEM;
}

void
r5_cache_destroy(struct r5_cache *c)
{
	if (!c)
		return;
	free(c->pages);
	free(c->pp_pages);
	free(c->cover);
	free(c->bounces);
	free(c->bounce_pages);
	for (uint32_t s = 0; s < c->nr_stripes; s++) {
		if (!c->pool[s])
			continue;
		r5_mutex_destroy(&c->pool[s]->lock);
		free(c->pool[s]);
	}
	for (int h = 0; h < R5_NR_PARTITIONS; h++) {
		r5_mutex_destroy(&c->part[h].lock);
		r5_cond_destroy(&c->part[h].wait_for_stripe);
	}
	r5_mutex_destroy(&c->device_lock);
	r5_cond_destroy(&c->work_cond);
	r5_cond_destroy(&c->io_cond);
	r5_mutex_destroy(&c->flush_serial);
	r5_mutex_destroy(&c->flush_lock);
	r5_cond_destroy(&c->flush_cond);
	r5_mutex_destroy(&c->bounce_lock);
	free(c->pool);
	free(c->hash);
	free(c);
}

void
r5_cache_set_sync_hooks(struct r5_cache *c, const struct r5_stripe_hooks *hooks)
{
	c->hooks = *hooks; /* before the first sync request: read by workers after */
}

uint32_t
r5_cache_strip_size(const struct r5_cache *c)
{
	return c->strip_size;
}

uint32_t
r5_cache_nr_stripes(const struct r5_cache *c)
{
	return c->nr_stripes;
}

void
r5_cache_get_info(struct r5_cache *c, struct r5_cache_info *out)
{
	memset(out, 0, sizeof(*out));
	out->nr_stripes = c->nr_stripes;
	out->strip_size = c->strip_size;
	out->nr_members = c->nr_members;
	out->nr_workers = c->nr_workers;
	out->nr_io_workers = c->nr_io_workers;
	r5_cache_counts(c, &out->active, &out->inactive, &out->handle, &out->delayed);
	out->hits = atomic_load(&c->stats.hits);
	out->misses = atomic_load(&c->stats.misses);
	out->waits = atomic_load(&c->stats.waits);
	out->rmw = atomic_load(&c->stats.rmw);
	out->rcw = atomic_load(&c->stats.rcw);
	out->delayed_total = atomic_load(&c->stats.delayed);
	out->prereads = atomic_load(&c->stats.prereads);
	out->writebacks = atomic_load(&c->stats.writebacks);
	out->computes = atomic_load(&c->stats.computes);
	out->bounced = atomic_load(&c->stats.bounced);
	out->direct_rows = atomic_load(&c->stats.direct_rows);
	out->csum_refreshed = atomic_load(&c->stats.csum_refreshed);
	out->lost = atomic_load(&c->stats.lost);
}

/* ---- the delayed list (stripe_internal.h, LISTS) ---- */

/* device_lock held: move every delayed stripe to the handle list. */
void
r5_cache_activate_delayed(struct r5_cache *c)
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



void
r5_cache_kick_delayed(struct r5_cache *c)
{
	r5_mutex_lock(&c->device_lock);
	r5_cache_activate_delayed(c);
	r5_cond_broadcast(&c->work_cond);
	r5_mutex_unlock(&c->device_lock);
}

void
r5_cache_plug(struct r5_cache *c)
{
	atomic_fetch_add(&c->plugged, 1);
}

void
r5_cache_unplug(struct r5_cache *c)
{
	atomic_fetch_sub(&c->plugged, 1);
	r5_cache_poke_delayed(c);
}

void
r5_cache_poke_delayed(struct r5_cache *c)
{
	r5_mutex_lock(&c->device_lock);
	if (c->nr_delayed)
		r5_cond_signal(&c->work_cond);
	r5_mutex_unlock(&c->device_lock);
}

