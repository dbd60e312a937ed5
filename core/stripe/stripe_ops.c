/* stripe_ops.c - the compute work item: parity and copies on the pages
 * handle_stripe locked for it (COMPUTE, PREXOR, BIODRAIN, BIOFILL,
 * RECONSTRUCT, CHECK; stripe_internal.h), run by a worker so FUSE threads
 * never compute parity. */
#include <string.h>

#include "locks.h"
#include "raid5fs/parity.h"
#include "stripe_internal.h"

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
 * that order (stripe_internal.h), on pages that handle_stripe locked for it. */
void
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
	uint32_t log_changed = 0;
	if (c->ppl && (ops->request & R5_OP_BIODRAIN))
		log_changed = r5_log_partial_parity(sh);

	/* Publish the result, then acknowledge: once a writer is told its
	 * data is stored, the stripe is already marked dirty. */
	struct r5_seg *fill_done = NULL, *drain_done = NULL;

	r5_mutex_lock(&sh->lock);
	if (ops->request & R5_OP_COMPUTE) {
		struct r5_dev *t = &sh->dev[ops->target];

		t->flags |= R5_UPTODATE;
		/* A page that failed its checksum is right now: usable again
		 * (handle_stripe writes it back) */
		if (t->flags & R5_BADCSUM)
			t->flags &= ~R5_READERROR;
	}
	if (ops->request & R5_OP_BIODRAIN) {
		for (uint32_t i = 0; i < n; i++)
			if (ops->drain[i])
				sh->dev[i].flags |= R5_UPTODATE | R5_DIRTY;
		r5_clear_bit(&sh->state, STRIPE_PREREAD_ACTIVE);
	}
	if (ops->request & R5_OP_RECONSTRUCT)
		sh->dev[pd].flags |= R5_UPTODATE | R5_DIRTY;
	if (log_changed) {
		sh->log_state = R5_LOG_NEEDED;
		sh->log_changed = log_changed;
	}
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

