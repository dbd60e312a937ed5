/* sync.c - the sync thread: recovery, resync, check, repair (see sync.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "array_internal.h"
#include "locks.h"
#include "raid5fs/util.h"
#include "sync.h"

const char *
r5_sync_action_name(int action)
{
	switch (action) {
	case R5_SYNC_RESYNC:
		return "resync";
	case R5_SYNC_RECOVER:
		return "recover";
	case R5_SYNC_CHECK:
		return "check";
	case R5_SYNC_REPAIR:
		return "repair";
	default:
		return "idle";
	}
}

void
r5_sync_init(struct r5_sync *s)
{
	memset(s, 0, sizeof(*s));
	r5_mutex_init(&s->lock);
	r5_cond_init(&s->cond);
	s->target = -1;
	s->speed_min = R5_DEFAULT_SPEED_MIN;
	s->speed_max = R5_DEFAULT_SPEED_MAX;
}

void
r5_sync_destroy(struct r5_sync *s)
{
	r5_mutex_destroy(&s->lock);
	r5_cond_destroy(&s->cond);
}

static bool
r5_window_bit(const struct r5_sync *s, uint64_t i)
{
	return s->window_done[i / 64] & (1ull << (i % 64));
}

bool
r5_sync_stripe_rebuilt(struct r5_array *a, uint64_t sector)
{
	struct r5_sync *s = &a->sync;
	bool ok;

	r5_mutex_lock(&s->lock);
	ok = sector < s->cp ||
	     (sector >= s->window_base && sector - s->window_base < R5_SYNC_WINDOW &&
	      r5_window_bit(s, sector - s->window_base));
	r5_mutex_unlock(&s->lock);
	return ok;
}

bool
r5_sync_parity_trusted(struct r5_array *a, uint64_t member_off)
{
	/* resync_regions drops to 0 when the resync finishes */
	if (__atomic_load_n(&a->bitmap.resync_regions, __ATOMIC_ACQUIRE) == 0)
		return true;
	return !r5_bitmap_resync_pending(a, member_off);
}

void
r5_sync_stripe_done(struct r5_array *a, uint64_t sector, bool mismatch, int error)
{
	struct r5_sync *s = &a->sync;

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

void
r5_sync_note_user_io(struct r5_array *a)
{
	atomic_store(&a->last_io_ns, r5_now_ns());
}

static void
r5_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

/* Speed limits, md style: never faster than speed_max; slower than
 * speed_min only never; in between, step aside while user I/O is recent. */
static void
r5_sync_throttle(struct r5_array *a, struct r5_sync *s, uint64_t bytes_per_stripe)
{
	for (;;) {
		uint64_t now = r5_now_ns(), elapsed, done, speed;

		r5_mutex_lock(&s->lock);
		if (now - s->rate_ns >= 1000000000ull) {
			/* new sample every second; keep the last one for status */
			if (s->rate_ns)
				s->rate = (s->done_stripes - s->rate_stripes) * bytes_per_stripe *
					  1000000000ull / (now - s->rate_ns);
			s->rate_ns = now;
			s->rate_stripes = s->done_stripes;
		}
		elapsed = now - s->rate_ns;
		done = (s->done_stripes - s->rate_stripes) * bytes_per_stripe;
		bool stop = s->stop_requested;
		uint64_t min = s->speed_min, max = s->speed_max;
		r5_mutex_unlock(&s->lock);
		if (stop || elapsed < 1000000ull)
			return;
		speed = done * 1000000000ull / elapsed;
		if (speed > max) {
			r5_sleep_ns(10 * 1000 * 1000);
			continue;
		}
		if (speed > min && now - atomic_load(&a->last_io_ns) < 50ull * 1000 * 1000) {
			r5_sleep_ns(5 * 1000 * 1000); /* user I/O is running: yield */
			continue;
		}
		return;
	}
}

/* Flags one stripe for the action; handle_stripe does the rest. */
static void
r5_sync_flag(struct r5_array *a, uint64_t sector, int action, int target)
{
	struct stripe_head *sh = r5_stripe_get(a->cache, sector);

	r5_mutex_lock(&sh->lock);
	sh->sync_action = (uint8_t)action;
	sh->sync_target = (int8_t)target;
	sh->sync_phase = 0;
	sh->sync_mismatch = false;
	r5_set_bit(&sh->state, STRIPE_HANDLE);
	r5_clear_bit(&sh->state, STRIPE_DELAYED);
	r5_mutex_unlock(&sh->lock);
	r5_stripe_put(sh);
}

/* Announces member stripes [from, to) to the members the action reads. A
 * resync reads only the bitmap's dirty regions: it is left to the kernel. */
static void
r5_sync_readahead(struct r5_array *a, int action, int target, uint64_t from, uint64_t to)
{
	const uint64_t strip = a->cache->strip_size;

	if (action == R5_SYNC_RESYNC)
		return;
	for (uint32_t i = 0; i < a->geo.nr_members; i++)
		if ((int)i != target && r5_slot_present(a, i))
			r5_member_willneed(&a->slot[i].member, a->data_offset + from * strip,
					   (to - from) * strip);
}

static void *
r5_sync_main(void *arg)
{
	struct r5_array *a = arg;
	struct r5_sync *s = &a->sync;
	const uint64_t strip = a->cache->strip_size;
	const uint64_t ra_stripes = R5_SYNC_READAHEAD / strip;
	/* at most a quarter of the stripe cache, so user I/O keeps going */
	const uint64_t max_width = a->cache->nr_stripes / 4 < R5_SYNC_WINDOW ? a->cache->nr_stripes / 4
									      : R5_SYNC_WINDOW;
	uint64_t last_persist = r5_now_ns(), base, ra_until;
	int action, target, result = 0;

	r5_mutex_lock(&s->lock);
	action = s->action;
	target = s->target;
	base = s->cp;
	uint64_t total = s->total;
	r5_mutex_unlock(&s->lock);
	ra_until = base;
	r5_log("%s started%s at %llu of %llu MiB per member", r5_sync_action_name(action),
	       base ? " (resumed)" : "", (unsigned long long)(base * strip >> 20),
	       (unsigned long long)(total * strip >> 20));

	while (base < total) {
		uint64_t sectors[R5_SYNC_WINDOW];
		uint32_t nflag = 0, width = (uint32_t)(total - base < max_width ? total - base : max_width);

		if (action == R5_SYNC_RECOVER &&
		    atomic_load(&a->slot[target].state) != R5_SLOT_REBUILDING) {
			result = -EIO;
			break;
		}
		r5_sync_throttle(a, s, strip);
		if (ra_until < base + ra_stripes / 2 && ra_until < total) {
			uint64_t from = ra_until > base ? ra_until : base;

			ra_until = base + ra_stripes < total ? base + ra_stripes : total;
			r5_sync_readahead(a, action, target, from, ra_until);
		}
		for (uint32_t i = 0; i < width; i++)
			if (action != R5_SYNC_RESYNC || r5_bitmap_resync_pending(a, (base + i) * strip))
				sectors[nflag++] = base + i;
		r5_mutex_lock(&s->lock);
		if (s->stop_requested) {
			r5_mutex_unlock(&s->lock);
			result = -EINTR;
			break;
		}
		s->window_base = base;
		memset(s->window_done, 0, sizeof(s->window_done));
		s->outstanding = nflag;
		r5_mutex_unlock(&s->lock);

		for (uint32_t i = 0; i < nflag; i++)
			r5_sync_flag(a, sectors[i], action, target);

		r5_mutex_lock(&s->lock);
		while (s->outstanding > 0)
			r5_cond_wait(&s->cond, &s->lock);
		result = s->last_result;
		if (!result) {
			s->cp = base + width;
			s->window_base = s->cp;
			memset(s->window_done, 0, sizeof(s->window_done));
		}
		s->done_stripes += action == R5_SYNC_RESYNC ? nflag : width;
		r5_mutex_unlock(&s->lock);
		if (result)
			break;
		base += width;
		if ((action == R5_SYNC_RECOVER || action == R5_SYNC_RESYNC) &&
		    r5_now_ns() - last_persist >= R5_SYNC_PERSIST_NS) {
			r5_array_persist_checkpoint(a, action, target, base * strip);
			last_persist = r5_now_ns();
		}
	}

	if (result == 0) {
		if (action == R5_SYNC_RECOVER) {
			r5_array_recovery_done(a, (uint32_t)target);
		} else if (action == R5_SYNC_RESYNC) {
			__atomic_store_n(&a->bitmap.resync_regions, 0, __ATOMIC_RELEASE);
			r5_mutex_lock(&a->sb_lock);
			a->was_dirty = false;
			r5_mutex_unlock(&a->sb_lock);
			r5_array_persist_checkpoint(a, action, target, R5_OFFSET_DONE);
		}
	} else if (action == R5_SYNC_RECOVER || action == R5_SYNC_RESYNC) {
		r5_array_persist_checkpoint(a, action, target, base * strip);
	}

	r5_mutex_lock(&s->lock);
	if (action == R5_SYNC_CHECK || action == R5_SYNC_REPAIR)
		s->last_mismatch_sectors = s->mismatches * (strip / 512);
	s->last_action = action;
	s->last_result = result;
	s->action = R5_SYNC_IDLE;
	s->target = -1;
	uint64_t mism = s->mismatches;
	r5_cond_broadcast(&s->cond);
	r5_mutex_unlock(&s->lock);
	if (result == 0)
		r5_log("%s finished%s%llu", r5_sync_action_name(action),
		       action == R5_SYNC_CHECK || action == R5_SYNC_REPAIR ? ": mismatched stripes " : "",
		       action == R5_SYNC_CHECK || action == R5_SYNC_REPAIR ? (unsigned long long)mism : 0ull);
	else
		r5_log("%s stopped at %llu MiB: %s", r5_sync_action_name(action),
		       (unsigned long long)(base * strip >> 20),
		       result == -EINTR ? "interrupted" : strerror(-result));
	return NULL;
}

int
r5_sync_start(struct r5_array *a, int action, int target, uint64_t from)
{
	struct r5_sync *s = &a->sync;
	uint64_t total = a->geo.member_data_size / a->cache->strip_size;
	int err;

	r5_mutex_lock(&s->lock);
	if (s->action != R5_SYNC_IDLE) {
		r5_mutex_unlock(&s->lock);
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
	s->cp = from > total ? total : from;
	s->window_base = s->cp;
	memset(s->window_done, 0, sizeof(s->window_done));
	s->total = total;
	s->done_stripes = 0;
	s->mismatches = 0;
	s->last_result = 0;
	s->start_ns = r5_now_ns();
	s->rate_ns = 0;
	s->rate = 0;
	if (action == R5_SYNC_RESYNC) {
		s->todo_stripes = 0;
		for (uint64_t st = s->cp; st < total; st++)
			s->todo_stripes += r5_bitmap_resync_pending(a, st * a->cache->strip_size);
	} else {
		s->todo_stripes = total - s->cp;
	}
	err = pthread_create(&s->thread, NULL, r5_sync_main, a);
	if (err) {
		s->action = R5_SYNC_IDLE;
		r5_mutex_unlock(&s->lock);
		return -err;
	}
	s->thread_running = true;
	r5_mutex_unlock(&s->lock);
	return 0;
}

void
r5_sync_stop(struct r5_array *a)
{
	struct r5_sync *s = &a->sync;
	bool join;

	r5_mutex_lock(&s->lock);
	s->stop_requested = true;
	r5_cond_broadcast(&s->cond);
	join = s->thread_running;
	s->thread_running = false;
	r5_mutex_unlock(&s->lock);
	if (join)
		pthread_join(s->thread, NULL);
}
