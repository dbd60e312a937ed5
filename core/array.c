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
	err = r5_workers_start(a->cache, a->opts.nr_workers);
	if (err < 0) {
		r5_cache_destroy(a->cache);
		a->cache = NULL;
		return err;
	}
	a->start_ns = r5_now_ns();
	a->started = true;
	return 0;
}

int
r5_array_stop(struct r5_array *a)
{
	int err = 0;

	if (!a)
		return 0;
	if (a->started) {
		err = r5_array_flush(a);
		r5_workers_stop(a->cache);
		r5_cache_destroy(a->cache);
		a->cache = NULL;
		a->started = false;
		/* Clean only if everything reached the members and parity is
		 * known good everywhere (an unclean start stays dirty until a
		 * resync has run). */
		r5_mutex_lock(&a->sb_lock);
		if (err == 0 && atomic_load(&a->marked_active) && !a->was_dirty) {
			a->sb_state = R5_STATE_CLEAN;
			a->events++;
			err = r5_array_store_superblocks_locked(a);
		}
		r5_mutex_unlock(&a->sb_lock);
	}
	for (uint32_t i = 0; i < R5_MAX_MEMBERS; i++)
		r5_member_close(&a->slot[i].member);
	if (a->geo.nr_members)
		r5_mutex_destroy(&a->sb_lock);
	free(a);
	return err;
}
