/* stripe_handle.c - handle_stripe: look at a stripe, pick its next step,
 * flag it, queue the work, return. Never waits (seed 000; stripe.h). */
#include <errno.h>
#include <string.h>

#include "array_internal.h"
#include "locks.h"
#include "stripe.h"

/* Segments failed by handle_stripe, completed after sh->lock is dropped. */
struct r5_failed_segs {
	struct r5_seg *head;
};

static void
r5_fail_list(struct r5_failed_segs *f, struct r5_seg *list)
{
	while (list) {
		struct r5_seg *next = list->next;

		list->next = f->head;
		f->head = list;
		list = next;
	}
}

/* Drops a page's dirty state that can never be written (its member is
 * gone) and tells a waiting flush when the stripe is clean. sh->lock held. */
void
r5_stripe_check_clean(struct stripe_head *sh)
{
	for (uint32_t i = 0; i < sh->cache->nr_members; i++)
		if (sh->dev[i].flags & R5_DIRTY)
			return;
	if (r5_test_and_clear_bit(&sh->state, STRIPE_FLUSH))
		r5_flush_stripe_clean(sh);
}

/* Parity of this stripe can be trusted for read-modify-write. */
static bool
r5_parity_trusted(struct stripe_head *sh)
{
	/* After an unclean stop, parity is suspect until resynced; use rcw. */
	return !sh->cache->array->was_dirty;
}

static void
r5_detach_towrite(struct r5_cache *c, struct r5_dev *dev, struct r5_seg **out)
{
	*out = dev->towrite;
	dev->towrite = NULL;
	dev->towrite_tail = &dev->towrite;
	dev->flags &= ~R5_OVERWRITE;
	memset(dev->cover, 0, c->cover_words * sizeof(uint64_t));
}

void
r5_handle_stripe(struct stripe_head *sh)
{
	struct r5_cache *c = sh->cache;
	struct r5_array *a = c->array;
	const uint32_t n = c->nr_members, pd = sh->pd_idx;
	struct r5_work *queue[R5_MAX_MEMBERS + 1];
	struct r5_failed_segs failed_segs = { NULL };
	uint32_t nqueue = 0, want_read = 0, ops = 0;
	int nfailed = 0, f = -1;
	bool any_read = false, any_write = false, any_dirty = false, reads_for_readers = false;

	r5_mutex_lock(&sh->lock);
	if (sh->inflight > 0 || r5_test_and_set_bit(&sh->state, STRIPE_ACTIVE)) {
		/* work in flight: its completion brings the stripe back */
		r5_mutex_unlock(&sh->lock);
		return;
	}
	r5_clear_bit(&sh->state, STRIPE_HANDLE);
	r5_clear_bit(&sh->state, STRIPE_DELAYED);

	for (uint32_t i = 0; i < n; i++) {
		struct r5_dev *dev = &sh->dev[i];

		if (!r5_slot_ok(a, i)) {
			nfailed++;
			f = (int)i;
		}
		any_read |= dev->toread != NULL;
		any_write |= dev->towrite != NULL;
		any_dirty |= (dev->flags & R5_DIRTY) != 0;
	}

	/* 1. Two members lost: nothing here can be served or stored. */
	if (nfailed > 1) {
		for (uint32_t i = 0; i < n; i++) {
			struct r5_seg *w;

			r5_fail_list(&failed_segs, sh->dev[i].toread);
			sh->dev[i].toread = NULL;
			r5_detach_towrite(c, &sh->dev[i], &w);
			r5_fail_list(&failed_segs, w);
			sh->dev[i].flags &= ~(R5_DIRTY | R5_UPTODATE);
		}
		r5_stripe_check_clean(sh);
		goto out;
	}

	/* 2. Write back dirty pages before anything else changes them. */
	if (any_dirty) {
		for (uint32_t i = 0; i < n; i++) {
			struct r5_dev *dev = &sh->dev[i];

			if (!(dev->flags & R5_DIRTY))
				continue;
			if ((int)i == f) {
				/* member gone: parity carries this data now */
				dev->flags &= ~R5_DIRTY;
				continue;
			}
			dev->flags |= R5_WANTWRITE | R5_LOCKED;
		}
		r5_stripe_check_clean(sh);
		goto issue;
	}

	/* 3. Which pages are missing? Reads first. */
	for (uint32_t i = 0; i < n; i++) {
		struct r5_dev *dev = &sh->dev[i];

		if (!dev->toread || (dev->flags & R5_UPTODATE))
			continue;
		if ((int)i == f) {
			for (uint32_t j = 0; j < n; j++)
				if ((int)j != f && !(sh->dev[j].flags & R5_UPTODATE))
					want_read |= 1u << j;
		} else {
			want_read |= 1u << i;
		}
	}
	reads_for_readers = want_read != 0;

	bool rmw = false;
	if (any_write) {
		if (f >= 0) {
			/* Degraded: make every surviving page current, rebuild the
			 * missing one from them, then reconstruct-write. */
			for (uint32_t j = 0; j < n; j++)
				if ((int)j != f && !(sh->dev[j].flags & R5_UPTODATE))
					want_read |= 1u << j;
		} else {
			uint32_t rmw_reads = 0, rcw_reads = 0, rmw_mask = 0, rcw_mask = 0;

			for (uint32_t i = 0; i < n; i++) {
				struct r5_dev *dev = &sh->dev[i];
				bool uptodate = dev->flags & R5_UPTODATE;

				if (i == pd) {
					if (!uptodate) {
						rmw_reads++;
						rmw_mask |= 1u << i;
					}
					continue;
				}
				if (dev->towrite && !uptodate) {
					rmw_reads++;
					rmw_mask |= 1u << i;
				}
				if (!(dev->towrite && (dev->flags & R5_OVERWRITE)) && !uptodate) {
					rcw_reads++;
					rcw_mask |= 1u << i;
				}
			}
			rmw = rmw_reads < rcw_reads && r5_parity_trusted(sh);
			want_read |= rmw ? rmw_mask : rcw_mask;
		}
		/* A partial write waits on the delayed list for the rest of
		 * its stripe, unless readers need pages anyway. */
		if (want_read && !reads_for_readers &&
		    !r5_test_bit(&sh->state, STRIPE_PREREAD_ACTIVE)) {
			r5_set_bit(&sh->state, STRIPE_DELAYED);
			r5_set_bit(&sh->state, STRIPE_HANDLE);
			atomic_fetch_add(&c->stats.delayed, 1);
			goto out;
		}
	}

	if (want_read) {
		for (uint32_t i = 0; i < n; i++)
			if (want_read & (1u << i)) {
				sh->dev[i].flags |= R5_WANTREAD | R5_LOCKED;
				atomic_fetch_add(&c->stats.prereads, 1);
			}
		goto issue;
	}

	/* 4. Everything needed is up to date: one compute item. */
	memset(&sh->ops, 0, sizeof(sh->ops));
	if (f >= 0 && (int)pd != f && !(sh->dev[f].flags & R5_UPTODATE) &&
	    (sh->dev[f].toread ||
	     (any_write && !(sh->dev[f].towrite && (sh->dev[f].flags & R5_OVERWRITE))))) {
		ops |= R5_OP_COMPUTE;
		sh->ops.target = f;
		sh->dev[f].flags |= R5_LOCKED;
	} else if (f >= 0 && (int)pd == f && !(sh->dev[f].flags & R5_UPTODATE) && sh->dev[f].toread) {
		/* nobody reads a parity page; cannot happen, but be safe */
		ops |= R5_OP_COMPUTE;
		sh->ops.target = f;
		sh->dev[f].flags |= R5_LOCKED;
	}
	if (any_read) {
		for (uint32_t i = 0; i < n; i++) {
			struct r5_dev *dev = &sh->dev[i];

			if (dev->toread) {
				sh->ops.fill[i] = dev->toread;
				dev->toread = NULL;
				ops |= R5_OP_BIOFILL;
			}
		}
	}
	if (any_write) {
		for (uint32_t i = 0; i < n; i++)
			if (sh->dev[i].towrite) {
				r5_detach_towrite(c, &sh->dev[i], &sh->ops.drain[i]);
				sh->dev[i].flags |= R5_LOCKED;
			}
		sh->dev[pd].flags |= R5_LOCKED;
		ops |= R5_OP_BIODRAIN | R5_OP_RECONSTRUCT;
		if (rmw)
			ops |= R5_OP_PREXOR;
		sh->ops.rmw = rmw;
		atomic_fetch_add(rmw ? &c->stats.rmw : &c->stats.rcw, 1);
	}
	if (ops) {
		sh->ops.request = ops;
		sh->inflight++;
		atomic_fetch_add(&sh->count, 1);
		queue[nqueue++] = &sh->compute;
	}

issue:
	for (uint32_t i = 0; i < n; i++) {
		struct r5_dev *dev = &sh->dev[i];

		if (!(dev->flags & (R5_WANTREAD | R5_WANTWRITE)))
			continue;
		dev->io.kind = (dev->flags & R5_WANTWRITE) ? R5_WORK_WRITE : R5_WORK_READ;
		dev->flags &= ~(R5_WANTREAD | R5_WANTWRITE);
		if (dev->io.kind == R5_WORK_WRITE)
			atomic_fetch_add(&c->stats.writebacks, 1);
		sh->inflight++;
		atomic_fetch_add(&sh->count, 1);
		queue[nqueue++] = &dev->io;
	}
out:
	r5_clear_bit(&sh->state, STRIPE_ACTIVE);
	r5_mutex_unlock(&sh->lock);

	/* device_lock comes before sh->lock: queue only after dropping it */
	for (uint32_t q = 0; q < nqueue; q++)
		r5_work_queue(c, queue[q]);
	while (failed_segs.head) {
		struct r5_seg *s = failed_segs.head;

		failed_segs.head = s->next;
		r5_req_complete(s->req, -EIO);
	}
}
