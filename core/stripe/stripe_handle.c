/* stripe_handle.c - handle_stripe: look at a stripe, pick its next step,
 * flag it, queue the work, return. Never waits (private/stripe_internal.h). */
#include <errno.h>
#include <string.h>

#include "bitmap.h"
#include "locks.h"
#include "stripe_internal.h"

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

static void
r5_detach_towrite(struct r5_cache *c, struct r5_dev *dev, struct r5_seg **out)
{
	*out = dev->towrite;
	dev->towrite = NULL;
	dev->towrite_tail = &dev->towrite;
	dev->flags &= ~R5_OVERWRITE;
	memset(dev->cover, 0, c->cover_words * sizeof(uint64_t));
}

/* Does member i take this stripe's pages, as far as its slot goes?
 * sh->lock held. */
static bool
r5_slot_usable(struct r5_cache *c, struct stripe_head *sh, uint32_t i)
{
	switch (r5_members_state(c->members, i)) {
	case R5_SLOT_IN_SYNC:
		return true;
	case R5_SLOT_REBUILDING:
		return (sh->dev[i].flags & R5_INSYNC) ||
		       (c->hooks.rebuilt && c->hooks.rebuilt(c->hooks.ctx, sh->sector));
	default:
		return false;
	}
}

/* Can member i's page in this stripe be read from / written to its member,
 * and trusted? sh->lock held. */
static bool
r5_dev_usable(struct r5_cache *c, struct stripe_head *sh, uint32_t i)
{
	return !(sh->dev[i].flags & R5_READERROR) && r5_slot_usable(c, sh, i);
}

/* Is member i's page one that failed its checksum on a member that is
 * otherwise in use (to be rebuilt and written back)? sh->lock held. */
static bool
r5_dev_healable(struct r5_cache *c, struct stripe_head *sh, uint32_t i)
{
	return (sh->dev[i].flags & R5_BADCSUM) && r5_slot_usable(c, sh, i);
}

/* Recovery onto a new member meets a row it cannot rebuild: the only
 * other unusable pages are blocks that failed their checksum on members
 * in use (a missing member instead means the array is failing). The reads
 * of the row are done (nothing in flight). sh->lock held. */
static bool
r5_recover_row_lost(struct r5_cache *c, struct stripe_head *sh, uint32_t usable)
{
	const uint32_t all = (1u << c->nr_members) - 1;

	if (sh->sync_action != R5_SYNC_RECOVER || sh->sync_phase != 0 || sh->sync_target < 0)
		return false;
	for (uint32_t i = 0; i < c->nr_members; i++)
		if ((all & ~usable & (1u << i)) && (int)i != sh->sync_target &&
		    !r5_dev_healable(c, sh, i))
			return false;
	return true;
}

/* Finishes this stripe's part of a sync action. sh->lock held. */
static void
r5_sync_finish(struct stripe_head *sh, int error)
{
	struct r5_cache *c = sh->cache;

	if (c->hooks.sync_done)
		c->hooks.sync_done(c->hooks.ctx, sh->sector, sh->sync_mismatch, error);
	sh->sync_action = R5_SYNC_IDLE;
	sh->sync_phase = 0;
	sh->sync_mismatch = false;
}

/* Reads every page in `need` that is not up to date; true if any. */
static bool
r5_want_reads(struct stripe_head *sh, uint32_t need)
{
	bool any = false;

	for (uint32_t i = 0; i < sh->cache->nr_members; i++)
		if ((need & (1u << i)) && !(sh->dev[i].flags & R5_UPTODATE)) {
			sh->dev[i].flags |= R5_WANTREAD | R5_LOCKED;
			atomic_fetch_add(&sh->cache->stats.prereads, 1);
			any = true;
		}
	return any;
}

/* Step 3 (stripe_internal.h): the sync action on this stripe. Returns the compute
 * steps to run (0 if it only flagged I/O or finished). sh->lock held. */
static uint32_t
r5_handle_sync(struct stripe_head *sh, uint32_t usable)
{
	struct r5_cache *c = sh->cache;
	const uint32_t n = c->nr_members, all = (1u << n) - 1;

	if (sh->sync_action == R5_SYNC_RECOVER) {
		int t = sh->sync_target;
		uint32_t others = all & ~(1u << t);

		if (sh->sync_phase == 1) {
			/* rebuilt page written (write-back runs before this step) */
			r5_sync_finish(sh, 0);
			return 0;
		}
		/* A row the in-use map calls unused is zeros on every member
		 * (usemap.h), so is the new member's page: nothing to read.
		 * Looked at under sh->lock: a user write marks the map before
		 * it attaches here, so one planned after this step finds the
		 * page rebuilt and writes the new member too. */
		const bool unused = !r5_usemap_in_use(c->usemap, sh->sector * c->strip_size);

		if (unused && !(sh->dev[t].flags & R5_LOCKED)) {
			memset(sh->dev[t].page, 0, c->strip_size);
			sh->dev[t].flags |= R5_UPTODATE;
		}
		if (!unused && (usable & others) != others) {
			r5_sync_finish(sh, -EIO); /* a second member is gone */
			return 0;
		}
		if (!unused && r5_want_reads(sh, others))
			return 0;
		if (!(sh->dev[t].flags & R5_UPTODATE)) {
			sh->ops.target = t;
			sh->dev[t].flags |= R5_LOCKED;
			return R5_OP_COMPUTE;
		}
		/* The page is current (computed or cached): write it to the new
		 * member; from now on this stripe counts the member as present. */
		sh->dev[t].flags |= R5_DIRTY | R5_INSYNC | R5_WANTWRITE | R5_LOCKED;
		sh->sync_phase = 1;
		return 0;
	}

	/* resync, check, repair: need every member. One page that failed its
	 * checksum is rebuilt from the others first (and written back, but
	 * for a check); the row is then checked as usual. */
	if (usable != all) {
		int bad = __builtin_ctz(all & ~usable);

		if ((all & ~usable) != (1u << bad) || !r5_dev_healable(c, sh, (uint32_t)bad)) {
			r5_sync_finish(sh, -EIO);
			return 0;
		}
		if (r5_want_reads(sh, usable))
			return 0;
		sh->ops.target = bad;
		sh->dev[bad].flags |= R5_LOCKED;
		return R5_OP_COMPUTE;
	}
	switch (sh->sync_phase) {
	case 0:
		if (r5_want_reads(sh, all))
			return 0;
		return R5_OP_CHECK; /* completion sets phase 1 and sync_mismatch */
	case 1:
		if (sh->sync_mismatch && sh->sync_action != R5_SYNC_CHECK) {
			sh->ops.rmw = false;
			sh->dev[sh->pd_idx].flags |= R5_LOCKED;
			sh->sync_phase = 2; /* parity rewritten by the write-back */
			return R5_OP_RECONSTRUCT;
		}
		r5_sync_finish(sh, 0);
		return 0;
	default:
		r5_sync_finish(sh, 0);
		return 0;
	}
}

void
r5_handle_stripe(struct stripe_head *sh, struct r5_plug *plug)
{
	struct r5_cache *c = sh->cache;
	const uint32_t n = c->nr_members, pd = sh->pd_idx;
	struct r5_work **queue = plug->items + plug->n;
	struct r5_failed_segs failed_segs = { NULL };
	uint32_t nqueue = 0, want_read = 0, ops = 0, usable = 0;
	int nfailed = 0, f = -1;
	bool any_read = false, any_write = false, any_dirty = false, reads_for_readers;
	bool log_submit = false;

	r5_mutex_lock(&sh->lock);
	if (sh->inflight > 0 || r5_test_and_set_bit(&sh->state, STRIPE_ACTIVE)) {
		/* work in flight: its completion brings the stripe back */
		r5_mutex_unlock(&sh->lock);
		return;
	}
	r5_clear_bit(&sh->state, STRIPE_HANDLE);
	r5_clear_bit(&sh->state, STRIPE_DELAYED);
	memset(&sh->ops, 0, sizeof(sh->ops));

	for (uint32_t i = 0; i < n; i++) {
		struct r5_dev *dev = &sh->dev[i];

		/* Self heal: a page that failed its checksum and has been
		 * rebuilt goes back to its member (a check only counts it). */
		if ((dev->flags & (R5_BADCSUM | R5_UPTODATE | R5_READERROR | R5_LOCKED)) ==
			    (R5_BADCSUM | R5_UPTODATE) &&
		    sh->sync_action != R5_SYNC_CHECK && r5_slot_usable(c, sh, i))
			dev->flags |= R5_DIRTY;
		if (r5_dev_usable(c, sh, i)) {
			usable |= 1u << i;
		} else {
			nfailed++;
			f = (int)i;
		}
		any_read |= dev->toread != NULL;
		any_write |= dev->towrite != NULL;
		any_dirty |= (dev->flags & R5_DIRTY) != 0;
	}

	/* The last write-back is over: the log hears which blocks went out. */
	if (c->ppl && !any_dirty)
		r5_log_after_writeback(sh);

	/* 1. Two members unusable here: nothing can be served or stored. */
	if (nfailed > 1) {
		bool array_failed = r5_members_failed(c->members);
		const bool lost_row = !array_failed && r5_recover_row_lost(c, sh, usable);

		for (uint32_t i = 0; i < n; i++) {
			struct r5_seg *w;

			r5_fail_list(&failed_segs, sh->dev[i].toread);
			sh->dev[i].toread = NULL;
			r5_detach_towrite(c, &sh->dev[i], &w);
			for (struct r5_seg *x = w; x; x = x->next)
				if (!x->req)
					sh->nr_bounced--;
			r5_fail_list(&failed_segs, w);
			/* a read error on a degraded array fails the requests that
			 * needed it, not the array: the next request reads again */
			sh->dev[i].flags &= ~(R5_READERROR | R5_BADCSUM);
			if (array_failed)
				sh->dev[i].flags &= ~(R5_DIRTY | R5_UPTODATE);
		}
		if (lost_row) {
			/* The new member's page of this row cannot be rebuilt: write
			 * it with an entry that will never verify (R5_POISON), so
			 * that its reads fail instead of returning these zeros, and
			 * let the recovery go on (md's bad block log would record
			 * the row). */
			struct r5_dev *t = &sh->dev[sh->sync_target];

			memset(t->page, 0, c->strip_size);
			t->flags &= ~R5_UPTODATE;
			t->flags |= R5_DIRTY | R5_INSYNC | R5_WANTWRITE | R5_LOCKED | R5_POISON;
			sh->sync_phase = 1;
			atomic_fetch_add(&c->stats.lost, 1);
			goto issue;
		}
		if (sh->sync_action)
			r5_sync_finish(sh, -EIO);
		if (c->ppl && array_failed)
			r5_log_abandon(sh);
		r5_stripe_check_clean(sh);
		goto out;
	}

	/* 2. Write back dirty pages before anything else changes them. */
	if (any_dirty) {
		/* a partial row is written only once its record is durable */
		if (c->ppl && r5_log_before_writeback(sh)) {
			log_submit = true;
			goto out;
		}
		for (uint32_t i = 0; i < n; i++) {
			struct r5_dev *dev = &sh->dev[i];

			if (!(dev->flags & R5_DIRTY))
				continue;
			if (!(usable & (1u << i)) && !r5_dev_healable(c, sh, i)) {
				/* member gone: parity carries this data now */
				dev->flags &= ~R5_DIRTY;
				continue;
			}
			dev->flags |= R5_WANTWRITE | R5_LOCKED;
		}
		r5_stripe_check_clean(sh);
		goto issue;
	}

	/* 3. A sync action, once user requests here are served. */
	if (sh->sync_action && !any_read && !any_write) {
		ops = r5_handle_sync(sh, usable);
		goto compute;
	}

	/* 4. Which pages are missing? Reads first. */
	for (uint32_t i = 0; i < n; i++) {
		struct r5_dev *dev = &sh->dev[i];

		if (!dev->toread || (dev->flags & R5_UPTODATE))
			continue;
		if ((int)i == f)
			want_read |= usable; /* rebuild it from all the others */
		else
			want_read |= 1u << i;
	}
	reads_for_readers = want_read != 0;

	bool rmw = false;
	if (any_write) {
		if (f >= 0) {
			/* Degraded: make every surviving page current, rebuild the
			 * missing one from them, then reconstruct-write. */
			want_read |= usable;
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
			/* rmw trusts the old parity: not in a region awaiting resync */
			rmw = rmw_reads < rcw_reads &&
			      !r5_bitmap_resync_pending(c->bitmap, sh->sector * c->strip_size);
			want_read |= rmw ? rmw_mask : rcw_mask;
		}
		for (uint32_t i = 0; i < n; i++)
			if (sh->dev[i].flags & R5_UPTODATE)
				want_read &= ~(1u << i);
		/* A partial write waits on the delayed list for the rest of
		 * its stripe, unless readers need pages anyway. */
		if (want_read && !reads_for_readers &&
		    !r5_test_bit(&sh->state, STRIPE_PREREAD_ACTIVE)) {
			bool urgent = false;

			for (uint32_t i = 0; i < n && !urgent; i++)
				for (struct r5_seg *x = sh->dev[i].towrite; x && !urgent; x = x->next)
					urgent = x->req != NULL;
			if (urgent)
				r5_set_bit(&sh->state, STRIPE_DELAY_URGENT);
			else
				r5_clear_bit(&sh->state, STRIPE_DELAY_URGENT);
			r5_set_bit(&sh->state, STRIPE_DELAYED);
			r5_set_bit(&sh->state, STRIPE_HANDLE);
			atomic_fetch_add(&c->stats.delayed, 1);
			goto out;
		}
	}

	if (r5_want_reads(sh, want_read))
		goto issue;

	/* 5. Everything needed is up to date: one compute item. */
	if (f >= 0 && (int)pd != f && !(sh->dev[f].flags & R5_UPTODATE) &&
	    (sh->dev[f].toread ||
	     (any_write && !(sh->dev[f].towrite && (sh->dev[f].flags & R5_OVERWRITE))))) {
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
compute:
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
		dev->io.poison = dev->io.kind == R5_WORK_WRITE && (dev->flags & R5_POISON);
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

	if (log_submit)
		r5_log_submit(sh);
	/* device_lock comes before sh->lock: queue only after dropping it */
	plug->n += nqueue; /* queued by the caller's r5_plug_flush */
	while (failed_segs.head) {
		struct r5_seg *s = failed_segs.head;

		failed_segs.head = s->next;
		r5_seg_done(c, s, -EIO);
	}
}
