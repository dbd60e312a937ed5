/* array.c - array lifecycle: start, stop, size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array_internal.h"
#include "raid5fs/events.h"
#include "raid5fs/util.h"

int
r5_array_start(struct r5_array *a)
{
	int err;

	if (a->started)
		return -EBUSY;
	err = r5_consistency_start(a);
	if (err < 0)
		return err;
	err = r5_cache_create(a->members, a->bitmap, &a->geo, a->opts.stripe_cache_size,
			      a->opts.strip_size, &a->cache);
	if (err == 0 && a->ppl)
		err = r5_cache_set_ppl(a->cache, a->ppl);
	if (err == 0)
		r5_cache_set_usemap(a->cache, a->usemap);
	if (err < 0) {
		r5_cache_destroy(a->cache);
		a->cache = NULL;
		r5_ppl_destroy(a->ppl);
		a->ppl = NULL;
		return err;
	}
	err = r5_sync_create(a->cache, a->members, a->bitmap, a->usemap, a->geo.member_data_size,
			     &a->sync);
	if (err == 0)
		err = r5_workers_start(a->cache, a->opts.nr_workers, a->opts.nr_io_workers);
	if (err < 0) {
		r5_sync_destroy(a->sync);
		a->sync = NULL;
		r5_cache_destroy(a->cache);
		a->cache = NULL;
		r5_ppl_destroy(a->ppl);
		a->ppl = NULL;
		return err;
	}
	a->start_ns = r5_now_ns();
	a->started = true;
	r5_spares_start(a);
	err = r5_monitor_start(a);
	if (err < 0) {
		r5_log("cannot start the monitor thread: %s", strerror(-err));
		return err;
	}
	/* an array that starts without a member is news too (md's monitor:
	 * DegradedArray at its start) */
	for (uint32_t i = 0; i < a->geo.nr_members && r5_members_nr_failed(a->members) > 0; i++) {
		struct r5_slot_info si;

		r5_members_slot_info(a->members, i, &si);
		if (si.state != R5_SLOT_IN_SYNC)
			r5_event(r5_members_notices(a->members), "degraded", (int)i, si.path,
				 "started without it: %s", si.reason[0] ? si.reason : si.path);
	}
	/* Background work the superblocks ask for: resume a recovery from its
	 * checkpoint, or resync the dirty regions after an unclean stop. */
	if (a->resume_target >= 0)
		err = r5_sync_start(a->sync, R5_SYNC_RECOVER, a->resume_target, a->resume_from);
	else if (r5_bitmap_needs_resync(a->bitmap) && r5_members_nr_failed(a->members) == 0)
		err = r5_sync_start(a->sync, R5_SYNC_RESYNC, -1, 0);
	if (err < 0)
		r5_log("cannot start the background sync: %s", strerror(-err));
	return 0;
}

int
r5_array_stop(struct r5_array *a)
{
	int err = 0;

	if (!a)
		return 0;
	if (a->started) {
		r5_sync_stop(a->sync); /* persists its checkpoint */
		r5_monitor_stop(a);
		err = r5_array_flush(a);
		r5_workers_stop(a->cache);
		r5_sync_destroy(a->sync);
		a->sync = NULL;
		r5_cache_destroy(a->cache);
		a->cache = NULL;
		r5_ppl_destroy(a->ppl); /* nothing pending: the cache is flushed */
		a->ppl = NULL;
		a->started = false;
		if (err == 0)
			err = r5_safe_mode_stop(a);
	}
	r5_members_destroy(a->members);
	r5_bitmap_destroy(a->bitmap);
	r5_usemap_destroy(a->usemap);
	if (a->geo.nr_members)
		r5_safe_mode_destroy(a);
	r5_spares_destroy(&a->spares);
	r5_discards_destroy(&a->discards);
	free(a);
	return err;
}
