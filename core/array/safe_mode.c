/* safe_mode.c - clean <-> active (md's safe mode).
 *
 * Before the first write the superblocks are marked "active" (a crash from
 * then on needs a resync of the bitmap's regions); once the array has been
 * idle for safe.idle_ns and everything is flushed, the monitor marks them
 * "clean" again and clears the bitmap. safe.lock makes each transition one
 * step: a writer that finds the array clean waits until a concurrent
 * clean-marking has finished, then marks it active again. */
#include <errno.h>

#include "array_internal.h"
#include "locks.h"
#include "raid5fs/util.h"

#define R5_DEFAULT_SAFE_MODE_NS (1000ull * 1000 * 1000)

void
r5_safe_mode_init(struct r5_array *a, bool active)
{
	r5_mutex_init(&a->safe.lock);
	atomic_store(&a->safe.marked_active, active);
	if (!a->safe.idle_ns)
		a->safe.idle_ns = R5_DEFAULT_SAFE_MODE_NS;
}

void
r5_safe_mode_destroy(struct r5_array *a)
{
	r5_mutex_destroy(&a->safe.lock);
}

static int
mark_active(struct r5_array *a)
{
	static const uint64_t from_start = 0;
	int err = 0;

	r5_mutex_lock(&a->safe.lock);
	if (!atomic_load(&a->safe.marked_active)) {
		/* a crash from now on needs a resync of the bitmap's regions; a
		 * start that still owes one keeps its resync offset */
		err = r5_members_set_array_state(a->members, R5_STATE_ACTIVE,
						 r5_bitmap_needs_resync(a->bitmap) ? NULL : &from_start);
		if (err == 0)
			atomic_store(&a->safe.marked_active, true);
	}
	r5_mutex_unlock(&a->safe.lock);
	return err;
}

int
r5_safe_mode_write_begin(struct r5_array *a)
{
	/* counted before looking at marked_active: see r5_safe_mode_try_clean */
	atomic_fetch_add(&a->safe.writes_inflight, 1);
	if (atomic_load(&a->safe.marked_active))
		return 0;
	return mark_active(a);
}

void
r5_safe_mode_write_end(struct r5_array *a)
{
	atomic_fetch_add(&a->safe.write_seq, 1);
	atomic_fetch_sub(&a->safe.writes_inflight, 1);
}

/* The one mark-clean sequence: bitmap cleared, then the superblocks say
 * clean with parity trusted everywhere. safe.lock held. */
static int
mark_clean_locked(struct r5_array *a)
{
	static const uint64_t done = R5_OFFSET_DONE;
	int err = r5_bitmap_clear_all(a->bitmap);

	if (err == 0)
		err = r5_members_set_array_state(a->members, R5_STATE_CLEAN, &done);
	if (err == 0)
		atomic_store(&a->safe.marked_active, false);
	return err;
}

int
r5_safe_mode_try_clean(struct r5_array *a)
{
	uint64_t seq;
	int err;

	if (!atomic_load(&a->safe.marked_active) || r5_members_failed(a->members) ||
	    r5_bitmap_needs_resync(a->bitmap))
		return 0; /* nothing to do, or parity not yet resynced */
	seq = atomic_load(&a->safe.write_seq);
	err = r5_array_flush(a);
	if (err < 0)
		return err;
	r5_mutex_lock(&a->safe.lock);
	/* Dekker with r5_safe_mode_write_begin: it counts itself in
	 * writes_inflight and then tests marked_active; we clear marked_active
	 * and then test writes_inflight (both seq_cst). One of us sees the
	 * other: the writer waits for safe.lock and marks active again. */
	atomic_store(&a->safe.marked_active, false);
	if (atomic_load(&a->safe.writes_inflight) > 0 || atomic_load(&a->safe.write_seq) != seq) {
		atomic_store(&a->safe.marked_active, true);
		r5_mutex_unlock(&a->safe.lock);
		return 0; /* busy again */
	}
	err = mark_clean_locked(a);
	if (err < 0)
		atomic_store(&a->safe.marked_active, true);
	r5_mutex_unlock(&a->safe.lock);
	return err;
}

int
r5_safe_mode_stop(struct r5_array *a)
{
	int err = 0;

	/* Clean only if everything reached the members and parity is known
	 * good everywhere (an unclean start stays dirty until a resync has
	 * run). */
	r5_mutex_lock(&a->safe.lock);
	if (atomic_load(&a->safe.marked_active) && !r5_bitmap_needs_resync(a->bitmap))
		err = mark_clean_locked(a);
	r5_mutex_unlock(&a->safe.lock);
	return err;
}
