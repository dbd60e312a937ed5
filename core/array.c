/* array.c - array lifecycle: start, stop, size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array_internal.h"
#include "locks.h"
#include "raid5fs/util.h"

uint64_t
r5_array_size(const struct r5_array *a)
{
	return r5_geometry_image_size(&a->geo);
}

int
r5_array_start(struct r5_array *a)
{
	int err;

	if (a->started)
		return -EBUSY;
	err = r5_cache_create(a, a->opts.stripe_cache_size, a->opts.strip_size, &a->cache);
	if (err < 0)
		return err;
	err = r5_workers_start(a->cache, a->opts.nr_workers, a->opts.nr_io_workers);
	if (err < 0) {
		r5_cache_destroy(a->cache);
		a->cache = NULL;
		return err;
	}
	a->start_ns = r5_now_ns();
	atomic_store(&a->last_io_ns, a->start_ns);
	a->started = true;
	err = r5_monitor_start(a);
	if (err < 0) {
		r5_log("cannot start the monitor thread: %s", strerror(-err));
		return err;
	}
	/* Background work the superblocks ask for: resume a recovery from its
	 * checkpoint, or resync the dirty regions after an unclean stop. */
	if (a->sync.target >= 0) {
		uint64_t from = a->sync.cp;

		a->sync.cp = 0;
		err = r5_sync_start(a, R5_SYNC_RECOVER, a->sync.target, from);
	} else if (a->was_dirty && atomic_load(&a->nr_failed) == 0) {
		err = r5_sync_start(a, R5_SYNC_RESYNC, -1, 0);
	}
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
		r5_sync_stop(a);    /* persists its checkpoint */
		r5_monitor_stop(a);
		err = r5_array_flush(a);
		r5_workers_stop(a->cache);
		r5_cache_destroy(a->cache);
		a->cache = NULL;
		a->started = false;
		/* Clean only if everything reached the members and parity is
		 * known good everywhere (an unclean start stays dirty until a
		 * resync has run). */
		r5_mutex_lock(&a->sb_lock);
		if (err == 0 && atomic_load(&a->marked_active) && !a->was_dirty &&
		    r5_bitmap_clear_all(a) == 0) {
			a->sb_state = R5_STATE_CLEAN;
			a->events++;
			for (uint32_t i = 0; i < a->geo.nr_members; i++)
				a->slot[i].sb.resync_offset = R5_OFFSET_DONE;
			err = r5_array_store_superblocks_locked(a);
		}
		r5_mutex_unlock(&a->sb_lock);
	}
	for (uint32_t i = 0; i < R5_MAX_MEMBERS; i++) {
		r5_member_close(&a->slot[i].member);
		r5_member_close(&a->retired[i]);
	}
	r5_bitmap_destroy(a);
	if (a->geo.nr_members) {
		r5_mutex_destroy(&a->sb_lock);
		r5_sync_destroy(&a->sync);
	}
	free(a);
	return err;
}
