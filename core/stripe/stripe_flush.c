/* stripe_flush.c - flush: wait until every page that was dirty when the
 * flush began has reached its member. */
#include <errno.h>

#include "locks.h"
#include "stripe_internal.h"

/* The stripe a flush marked has no dirty page left. */
static void
flush_stripe_clean(struct stripe_head *sh)
{
	struct r5_cache *c = sh->cache;

	r5_mutex_lock(&c->flush_lock);
	if (--c->flush_pending == 0)
		r5_cond_broadcast(&c->flush_cond);
	r5_mutex_unlock(&c->flush_lock);
}

void
r5_stripe_check_clean(struct stripe_head *sh)
{
	if (sh->nr_bounced)
		return; /* acknowledged data still waiting to be drained */
	for (uint32_t i = 0; i < sh->cache->nr_members; i++)
		if (sh->dev[i].flags & R5_DIRTY)
			return;
	if (r5_test_and_clear_bit(&sh->state, STRIPE_FLUSH))
		flush_stripe_clean(sh);
}



int
r5_cache_flush(struct r5_cache *c)
{
	r5_mutex_lock(&c->flush_serial);
	/* Mark. A stripe is dirty from the moment its writers are acknowledged
	 * until its write-back completes, and dirty stripes are always on their
	 * way to the members (handle_stripe writes them back first), so
	 * waiting for the marked ones cannot stall. */
	for (uint32_t s = 0; s < c->nr_stripes; s++) {
		struct stripe_head *sh = c->pool[s];
		bool dirty = false;

		r5_mutex_lock(&sh->lock);
		dirty = sh->nr_bounced > 0;
		for (uint32_t i = 0; i < c->nr_members; i++)
			dirty |= (sh->dev[i].flags & R5_DIRTY) != 0;
		if (dirty) {
			r5_set_bit(&sh->state, STRIPE_FLUSH);
			r5_mutex_lock(&c->flush_lock);
			c->flush_pending++;
			r5_mutex_unlock(&c->flush_lock);
		}
		r5_mutex_unlock(&sh->lock);
	}
	/* bounced writes may sit on the delayed list: stop waiting for more */
	r5_cache_kick_delayed(c);
	r5_mutex_lock(&c->flush_lock);
	while (c->flush_pending > 0)
		r5_cond_wait(&c->flush_cond, &c->flush_lock);
	r5_mutex_unlock(&c->flush_lock);
	/* report a lost acknowledged write once, as the kernel's errseq does */
	uint64_t lost = atomic_load(&c->lost_writes);
	int ret = lost != c->lost_reported ? -EIO : 0;
	c->lost_reported = lost;
	r5_mutex_unlock(&c->flush_serial);
	return ret;
}
