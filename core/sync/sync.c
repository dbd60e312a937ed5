/* sync.c - the sync thread: recovery, resync, check, repair (see sync.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bitmap.h"
#include "locks.h"
#include "member_set.h"
#include "raid5fs/events.h"
#include "raid5fs/log.h"
#include "raid5fs/util.h"
#include "sync_internal.h"
#include "usemap.h"

/* ---- the engine's hooks (called under sh->lock) ---- */

static bool
window_bit(const struct r5_sync *s, uint64_t i)
{
	return s->window_done[i / 64] & (1ull << (i % 64));
}

static bool
sync_stripe_rebuilt(void *ctx, uint64_t sector)
{
	struct r5_sync *s = ctx;
	bool ok;

	r5_mutex_lock(&s->lock);
	ok = sector < s->cp ||
	     (sector >= s->window_base && sector - s->window_base < R5_SYNC_WINDOW &&
	      window_bit(s, sector - s->window_base));
	r5_mutex_unlock(&s->lock);
	return ok;
}

static void
sync_stripe_done(void *ctx, uint64_t sector, bool mismatch, int error)
{
	struct r5_sync *s = ctx;

	r5_mutex_lock(&s->lock);
	if (sector >= s->window_base && sector - s->window_base < R5_SYNC_WINDOW)
		s->window_done[(sector - s->window_base) / 64] |= 1ull << ((sector - s->window_base) % 64);
	if (mismatch)
		s->mismatches++;
	if (error && !s->last_result)
		s->last_result = error;
	if (s->outstanding > 0 && --s->outstanding == 0)
		r5_cond_broadcast(&s->cond);
	r5_mutex_unlock(&s->lock);
}

int
r5_sync_create(struct r5_cache *c, struct r5_members *ms, struct r5_bitmap *bm,
	       struct r5_usemap *um, uint64_t member_data_size, struct r5_sync **out)
{
	struct r5_sync *s = calloc(1, sizeof(*s));
	struct r5_stripe_hooks hooks = { .rebuilt = sync_stripe_rebuilt,
					 .sync_done = sync_stripe_done };

	if (!s)
		return -ENOMEM;
	s->cache = c;
	s->members = ms;
	s->bitmap = bm;
	s->usemap = um;
	s->strip = r5_cache_strip_size(c);
	s->total = member_data_size / s->strip;
	r5_mutex_init(&s->start_lock);
	r5_mutex_init(&s->lock);
	r5_cond_init(&s->cond);
	sync_gate_init(&s->gate);
	/* without it, recovery takes the stripe path only */
	s->direct_buf = aligned_alloc(64, (size_t)R5_SYNC_DIRECT_MAX * r5_members_count(ms));
	s->target = -1;
	s->speed_min = R5_DEFAULT_SPEED_MIN;
	s->speed_max = R5_DEFAULT_SPEED_MAX;
	atomic_store(&s->last_user_io_ns, r5_now_ns());
	hooks.ctx = s;
	r5_cache_set_sync_hooks(c, &hooks);
	*out = s;
	return 0;
}

void
r5_sync_destroy(struct r5_sync *s)
{
	if (!s)
		return;
	r5_sync_stop(s);
	r5_mutex_destroy(&s->start_lock);
	r5_mutex_destroy(&s->lock);
	r5_cond_destroy(&s->cond);
	sync_gate_destroy(&s->gate);
	free(s->direct_buf);
	free(s);
}

/* Stores a recovery or resync checkpoint (bytes of member data), after
 * making the data below it durable (sync.h). */
static void
sync_persist(struct r5_sync *s, int action, int target, uint64_t bytes)
{
	r5_members_sync(s->members);
	if (action == R5_SYNC_RESYNC)
		r5_members_set_resync_offset(s->members, bytes);
	else if (action == R5_SYNC_RECOVER)
		r5_members_set_recovery_offset(s->members, (uint32_t)target, bytes);
}

/* A run finished with parity matching data in every stripe: a pending
 * resync has nothing left to do. */
static void
sync_parity_consistent(struct r5_sync *s)
{
	r5_bitmap_resync_done(s->bitmap);
	r5_members_set_resync_offset(s->members, R5_OFFSET_DONE);
}

/* An event (events.h) about the sync; slot -1 when it is not a rebuild. */
static void
sync_notify(struct r5_sync *s, const char *name, int slot, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
sync_notify(struct r5_sync *s, const char *name, int slot, const char *fmt, ...)
{
	struct r5_slot_info si = { .path = "" };
	char detail[160];
	va_list ap;

	if (slot >= 0)
		r5_members_slot_info(s->members, (uint32_t)slot, &si);
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	r5_event(r5_members_notices(s->members), name, slot, si.path, "%s", detail);
}

/* One window: the action on the stripes of [base, base+width) it visits,
 * waited for; the checkpoint moves past them. 0, -EINTR (stopped), or the
 * first stripe's error. */
static int
sync_window(struct r5_sync *s, int action, int target, uint64_t base, uint32_t width)
{
	uint64_t sectors[R5_SYNC_WINDOW];
	uint32_t nflag = 0;
	int result;

	for (uint32_t i = 0; i < width; i++)
		if (sync_visits(s, action, base + i))
			sectors[nflag++] = base + i;
	r5_mutex_lock(&s->lock);
	if (s->stop_requested) {
		r5_mutex_unlock(&s->lock);
		return -EINTR;
	}
	s->window_base = base;
	memset(s->window_done, 0, sizeof(s->window_done));
	s->outstanding = nflag;
	r5_mutex_unlock(&s->lock);

	for (uint32_t i = 0; i < nflag; i++)
		r5_stripe_sync(s->cache, sectors[i], action, target);

	r5_mutex_lock(&s->lock);
	while (s->outstanding > 0)
		r5_cond_wait(&s->cond, &s->lock);
	result = s->last_result;
	if (!result) {
		s->cp = base + width;
		s->window_base = s->cp;
		memset(s->window_done, 0, sizeof(s->window_done));
	}
	s->done_stripes += nflag; /* the speed limits count the work done */
	r5_mutex_unlock(&s->lock);
	return result;
}

struct unused_span {
	struct r5_sync *s;
	int target;
	uint64_t from, to; /* stripes */
	uint64_t bad_off;  /* where the new member refused a write */
};

/* Under the in-use map's lock (r5_usemap_while_unused): the new member
 * gets the zeros of stripes [from, to) (written as holes, with their
 * checksum entries) and the checkpoint moves past them. No write can
 * enter those units meanwhile; one after finds them below the checkpoint
 * and writes the new member too. */
static int
recover_unused(void *arg)
{
	static const uint8_t zeros[1u << 20];
	struct unused_span *z = arg;
	struct r5_sync *s = z->s;
	const uint64_t end = z->to * s->strip;

	for (uint64_t off = z->from * s->strip; off < end; off += sizeof(zeros)) {
		size_t n = end - off < sizeof(zeros) ? (size_t)(end - off) : sizeof(zeros);
		int err = r5_members_write(s->members, (uint32_t)z->target, zeros, n, off);

		if (err < 0) {
			z->bad_off = off; /* failed by the caller, outside the map's lock */
			return err;
		}
	}
	r5_mutex_lock(&s->lock);
	s->cp = z->to;
	s->window_base = s->cp;
	memset(s->window_done, 0, sizeof(s->window_done));
	/* not counted in done_stripes: nothing was read, and the speed
	 * limits must not make an empty unit wait (progress is the checkpoint) */
	r5_mutex_unlock(&s->lock);
	return 0;
}

/* A recovery at `base`, in a unit the in-use map calls unused: rebuilds
 * the rest of that unit without reading the others (zeros everywhere,
 * usemap.h). 1 and *next past it, 0 when the unit is in use (or came into
 * use), or -errno. */
static int
recover_unused_unit(struct r5_sync *s, int target, uint64_t base, uint64_t *next)
{
	const uint64_t per_unit = r5_usemap_unit_size(s->usemap) / s->strip;
	struct unused_span z = { s, target, base, 0, 0 };
	int r;

	if (!per_unit || r5_usemap_in_use(s->usemap, base * s->strip))
		return 0;
	z.to = (base / per_unit + 1) * per_unit < s->total ? (base / per_unit + 1) * per_unit : s->total;
	r = r5_usemap_while_unused(s->usemap, z.from * s->strip, z.to * s->strip, recover_unused, &z);
	if (r == 1)
		*next = z.to;
	if (r < 0) {
		r5_members_fail(s->members, (uint32_t)target, "write error at member offset %llu: %s",
				(unsigned long long)z.bad_off, strerror(-r));
		r = -EIO;
	}
	return r;
}

/* One walk of `action` from stripe *basep to the end, window by window;
 * *basep is left where it stopped. Returns 0, -EINTR when stopped, or the
 * first stripe's error. */
static int
sync_pass(struct r5_sync *s, int action, int target, uint64_t *basep)
{
	const uint64_t ra_stripes = R5_SYNC_READAHEAD / s->strip;
	const uint32_t nr_stripes = r5_cache_nr_stripes(s->cache);
	/* at most a quarter of the stripe cache, so user I/O keeps going */
	const uint64_t max_width = nr_stripes / 4 < R5_SYNC_WINDOW ? nr_stripes / 4 : R5_SYNC_WINDOW;
	const uint64_t total = s->total;
	uint64_t last_persist = r5_now_ns(), base = *basep, ra_until = base;
	unsigned decile = (unsigned)(base * 10 / (total ? total : 1)); /* tenths done */
	int result = 0;

	r5_log("%s started%s at %llu of %llu MiB per member", r5_sync_action_name(action),
	       base ? " (resumed)" : "", (unsigned long long)(base * s->strip >> 20),
	       (unsigned long long)(total * s->strip >> 20));
	while (base < total) {
		uint32_t width = (uint32_t)(total - base < max_width ? total - base : max_width);
		uint64_t next = base + width;
		int r = 0;

		if (action == R5_SYNC_RECOVER &&
		    r5_members_state(s->members, (uint32_t)target) != R5_SLOT_REBUILDING) {
			result = -EIO;
			break;
		}
		sync_throttle(s);
		if (action == R5_SYNC_RECOVER) {
			r5_mutex_lock(&s->lock);
			r = s->stop_requested ? -EINTR : 0;
			r5_mutex_unlock(&s->lock);
			if (r == 0) /* takes the map's lock, then s->lock */
				r = recover_unused_unit(s, target, base, &next);
		}
		if (r == 0) {
			if (ra_until < base + ra_stripes / 2 && ra_until < total) {
				uint64_t from = ra_until > base ? ra_until : base;

				ra_until = base + ra_stripes < total ? base + ra_stripes : total;
				sync_readahead(s, action, target, from, ra_until);
			}
			if (action == R5_SYNC_RECOVER) {
				/* the window's width, within the direct buffers */
				uint64_t w = R5_SYNC_DIRECT_MAX / s->strip;

				w = width < w ? width : w;
				r = sync_direct_window(s, target, base, (uint32_t)w);
				if (r == 1)
					next = base + w;
			}
			if (r == 0)
				r = sync_window(s, action, target, base, width);
		}
		if (r < 0) {
			result = r;
			break;
		}
		base = next;
		if (action == R5_SYNC_RECOVER && base < total && base * 10 / total > decile) {
			decile = (unsigned)(base * 10 / total);
			sync_notify(s, "rebuild-progress", target, "%u%%", decile * 10);
		}
		if ((action == R5_SYNC_RECOVER || action == R5_SYNC_RESYNC) &&
		    r5_now_ns() - last_persist >= R5_SYNC_PERSIST_NS) {
			sync_persist(s, action, target, base * s->strip);
			last_persist = r5_now_ns();
		}
	}

	*basep = base;
	return result;
}

/* Switches a finished recovery's thread to a resync from stripe 0. */
static void
sync_become_resync(struct r5_sync *s)
{
	r5_mutex_lock(&s->lock);
	s->action = R5_SYNC_RESYNC;
	s->target = -1;
	s->cp = s->window_base = 0;
	memset(s->window_done, 0, sizeof(s->window_done));
	s->done_stripes = 0;
	s->todo_stripes = resync_todo(s, 0);
	r5_mutex_unlock(&s->lock);
}

static void *
sync_main(void *arg)
{
	struct r5_sync *s = arg;
	uint64_t base;
	int action, target, result;

	r5_mutex_lock(&s->lock);
	action = s->action;
	target = s->target;
	base = s->cp;
	r5_mutex_unlock(&s->lock);
	const uint64_t first_base = base;

	if (action == R5_SYNC_RECOVER)
		sync_notify(s, "rebuild-start", target, "%s at %llu MiB of %llu",
			    base ? "resumed" : "started", (unsigned long long)(base * s->strip >> 20),
			    (unsigned long long)(s->total * s->strip >> 20));
	result = sync_pass(s, action, target, &base);
	if (result == 0 && action == R5_SYNC_RECOVER)
		sync_notify(s, "rebuild-finished", target, "%llu MiB rebuilt",
			    (unsigned long long)((s->total - first_base) * s->strip >> 20));
	if (result == 0 && action == R5_SYNC_RECOVER) {
		r5_members_sync(s->members); /* the rebuilt member is durable first */
		r5_members_rebuilt(s->members, (uint32_t)target);
		if (r5_members_nr_failed(s->members) == 0 && r5_bitmap_needs_resync(s->bitmap)) {
			/* The stripes this run rebuilt XOR to zero (the new member was
			 * computed from the others). When it resumed an earlier run,
			 * the stripes below first_base were rebuilt before the unclean
			 * stop that left them dirty: they still need the resync. */
			if (first_base == 0) {
				sync_parity_consistent(s);
			} else {
				sync_become_resync(s);
				action = R5_SYNC_RESYNC;
				target = -1;
				base = 0;
				result = sync_pass(s, action, target, &base);
			}
		}
	}
	if (result == 0 && action == R5_SYNC_RESYNC)
		sync_parity_consistent(s);
	else if (result != 0 && (action == R5_SYNC_RECOVER || action == R5_SYNC_RESYNC))
		sync_persist(s, action, target, base * s->strip);

	r5_mutex_lock(&s->lock);
	if (action == R5_SYNC_CHECK || action == R5_SYNC_REPAIR)
		s->last_mismatch_sectors = s->mismatches * (s->strip / 512);
	s->last_action = action;
	s->last_result = result;
	s->action = R5_SYNC_IDLE;
	s->target = -1;
	uint64_t mism = s->mismatches;
	r5_cond_broadcast(&s->cond);
	r5_mutex_unlock(&s->lock);
	if (result == 0 && (action == R5_SYNC_CHECK || action == R5_SYNC_REPAIR)) {
		r5_log("%s finished: mismatched stripes %llu", r5_sync_action_name(action),
		       (unsigned long long)mism);
		sync_notify(s, "check-finished", -1, "%s: mismatched stripes %llu",
			    r5_sync_action_name(action), (unsigned long long)mism);
	} else if (result == 0) {
		r5_log("%s finished", r5_sync_action_name(action));
		if (action == R5_SYNC_RESYNC)
			sync_notify(s, "resync-finished", -1, "parity matches the data");
	} else
		r5_log("%s stopped at %llu MiB: %s", r5_sync_action_name(action),
		       (unsigned long long)(base * s->strip >> 20),
		       result == -EINTR ? "interrupted" : strerror(-result));
	return NULL;
}

int
r5_sync_start(struct r5_sync *s, int action, int target, uint64_t from)
{
	int err;

	/* One start (or stop) at a time: the check for idle, the join of the
	 * previous thread and the new start are one step for concurrent
	 * control commands. */
	r5_mutex_lock(&s->start_lock);
	r5_mutex_lock(&s->lock);
	if (s->action != R5_SYNC_IDLE) {
		r5_mutex_unlock(&s->lock);
		r5_mutex_unlock(&s->start_lock);
		return -EBUSY;
	}
	bool join = s->thread_running;
	r5_mutex_unlock(&s->lock);
	if (join) /* the previous run has finished: reap it */
		pthread_join(s->thread, NULL);

	r5_mutex_lock(&s->lock);
	s->thread_running = false;
	s->stop_requested = false;
	s->action = action;
	s->target = target;
	s->cp = from > s->total ? s->total : from;
	s->window_base = s->cp;
	memset(s->window_done, 0, sizeof(s->window_done));
	s->done_stripes = 0;
	s->mismatches = 0;
	s->last_result = 0;
	s->start_ns = r5_now_ns();
	s->rate_ns = 0;
	s->rate = 0;
	s->todo_stripes = action == R5_SYNC_RESYNC ? resync_todo(s, s->cp) : s->total - s->cp;
	err = pthread_create(&s->thread, NULL, sync_main, s);
	if (err)
		s->action = R5_SYNC_IDLE;
	else
		s->thread_running = true;
	r5_mutex_unlock(&s->lock);
	r5_mutex_unlock(&s->start_lock);
	return -err;
}

void
r5_sync_stop(struct r5_sync *s)
{
	bool join;

	r5_mutex_lock(&s->start_lock);
	r5_mutex_lock(&s->lock);
	s->stop_requested = true;
	r5_cond_broadcast(&s->cond);
	join = s->thread_running;
	s->thread_running = false;
	r5_mutex_unlock(&s->lock);
	if (join)
		pthread_join(s->thread, NULL);
	r5_mutex_unlock(&s->start_lock);
}

int
r5_sync_action(struct r5_sync *s)
{
	r5_mutex_lock(&s->lock);
	int action = s->action;
	r5_mutex_unlock(&s->lock);
	return action;
}

