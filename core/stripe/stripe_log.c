/* stripe_log.c - the stripe engine's side of the partial parity log: the
 * partial parity of an update, the record before the write-back, the news
 * after it (private/stripe_internal.h, THE PARTIAL PARITY LOG). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "raid5fs/parity.h"
#include "stripe_internal.h"

static void
r5_log_done(struct r5_ppl_io *io, int error)
{
	struct stripe_head *sh = r5_container_of(io, struct stripe_head, log_io);

	r5_mutex_lock(&sh->lock);
	/* on error the parity member has been failed: no record is needed */
	sh->log_state = error ? R5_LOG_NONE : R5_LOG_DONE;
	sh->inflight--;
	r5_set_bit(&sh->state, STRIPE_HANDLE);
	r5_mutex_unlock(&sh->lock);
	r5_stripe_put(sh);
}

int
r5_cache_set_ppl(struct r5_cache *c, struct r5_ppl *ppl)
{
	if (posix_memalign((void **)&c->pp_pages, 4096, (size_t)c->nr_stripes * c->strip_size))
		return -ENOMEM;
	for (uint32_t s = 0; s < c->nr_stripes; s++) {
		struct stripe_head *sh = c->pool[s];

		sh->pp = c->pp_pages + (size_t)s * c->strip_size;
		for (uint32_t i = 0; i < c->nr_members; i++)
			sh->log_pages[i] = sh->dev[i].page;
		sh->log_io.pp = sh->pp;
		sh->log_io.pages = sh->log_pages;
		sh->log_io.done = r5_log_done;
	}
	c->ppl = ppl; /* before the workers start: read by them after */
	return 0;
}

void
r5_cache_set_usemap(struct r5_cache *c, struct r5_usemap *u)
{
	c->usemap = u; /* before the workers start: read by them after */
}

uint32_t
r5_log_partial_parity(struct stripe_head *sh)
{
	struct r5_cache *c = sh->cache;
	const uint32_t n = c->nr_members, pd = sh->pd_idx;
	const uint32_t data = r5_data_slots(c, pd);
	uint32_t changed = 0;
	void *src[R5_MAX_MEMBERS + 1];
	int k = 0;

	for (uint32_t i = 0; i < n; i++)
		if (i != pd && sh->ops.drain[i])
			changed |= 1u << i;
	if (changed == data)
		return changed; /* a full row: no partial parity */
	/* parity is the XOR of every data page: without the changed ones it
	 * is the XOR of those left as they were */
	src[k++] = sh->dev[pd].page;
	for (uint32_t i = 0; i < n; i++)
		if (changed & (1u << i))
			src[k++] = sh->dev[i].page;
	r5_parity_xor(k, c->strip_size, src, sh->pp);
	return changed;
}

bool
r5_log_before_writeback(struct stripe_head *sh)
{
	struct r5_cache *c = sh->cache;
	const uint32_t pd = sh->pd_idx;
	const uint32_t data = r5_data_slots(c, pd);

	if (sh->log_state == R5_LOG_DONE) {
		sh->log_state = R5_LOG_WRITING;
		return false;
	}
	if (sh->log_state != R5_LOG_NEEDED)
		return false;
	sh->log_io.stripe = sh->sector;
	sh->log_io.changed = sh->log_changed;
	/* Parity that will not be written needs no record: its member is
	 * gone, or not rebuilt this far. */
	switch (r5_members_state(c->members, pd)) {
	case R5_SLOT_IN_SYNC:
		break;
	case R5_SLOT_REBUILDING:
		if ((sh->dev[pd].flags & R5_INSYNC) ||
		    (c->hooks.rebuilt && c->hooks.rebuilt(c->hooks.ctx, sh->sector)))
			break;
		/* fall through */
	default:
		sh->log_state = R5_LOG_NONE;
		return false;
	}
	const bool full = (sh->log_changed & data) == data;

	if (full && !r5_ppl_row_logged(c->ppl, pd, sh->sector)) {
		sh->log_state = R5_LOG_UNLOGGED;
		return false;
	}
	sh->log_io.full = full;
	sh->log_state = R5_LOG_QUEUED;
	sh->inflight++;
	atomic_fetch_add(&sh->count, 1);
	return true;
}

void
r5_log_submit(struct stripe_head *sh)
{
	r5_ppl_submit(sh->cache->ppl, sh->pd_idx, &sh->log_io);
}

void
r5_log_after_writeback(struct stripe_head *sh)
{
	if (sh->log_state == R5_LOG_WRITING || sh->log_state == R5_LOG_UNLOGGED)
		r5_ppl_written(sh->cache->ppl, sh->pd_idx, &sh->log_io,
			       sh->log_state == R5_LOG_WRITING);
	if (sh->log_state != R5_LOG_QUEUED)
		sh->log_state = R5_LOG_NONE;
}

void
r5_log_abandon(struct stripe_head *sh)
{
	if (sh->log_state == R5_LOG_DONE)
		sh->log_state = R5_LOG_WRITING; /* counted by the log: give it back */
	r5_log_after_writeback(sh);
}
