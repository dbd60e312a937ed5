/* sync_pace.c - what a sync run visits, how fast it goes (md's speed
 * limits, yielding to user I/O, readahead), and the status it shows. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "bitmap.h"
#include "locks.h"
#include "member_set.h"
#include "raid5fs/util.h"
#include "sync_internal.h"
#include "usemap.h"

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
r5_sync_note_user_io(struct r5_sync *s)
{
	atomic_store(&s->last_user_io_ns, r5_now_ns());
}

uint64_t
r5_sync_last_user_io_ns(struct r5_sync *s)
{
	return atomic_load(&s->last_user_io_ns);
}

static void
sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);
}

/* Speed limits, md style: never faster than speed_max; slower than
 * speed_min only never; in between, step aside while user I/O is recent. */
void
sync_throttle(struct r5_sync *s)
{
	for (;;) {
		uint64_t now = r5_now_ns(), elapsed, done, speed;

		r5_mutex_lock(&s->lock);
		if (now - s->rate_ns >= 1000000000ull) {
			/* new sample every second; keep the last one for status */
			if (s->rate_ns)
				s->rate = (s->done_stripes - s->rate_stripes) * s->strip *
					  1000000000ull / (now - s->rate_ns);
			s->rate_ns = now;
			s->rate_stripes = s->done_stripes;
		}
		elapsed = now - s->rate_ns;
		done = (s->done_stripes - s->rate_stripes) * s->strip;
		bool stop = s->stop_requested;
		uint64_t min = s->speed_min, max = s->speed_max;
		r5_mutex_unlock(&s->lock);
		if (stop)
			return;
		/* at least 1 ms: a fast window at the start of a sample must
		 * count, or a short run finishes before any limit applies */
		speed = done * 1000000000ull / (elapsed < 1000000ull ? 1000000ull : elapsed);
		if (speed > max) {
			sleep_ns(10 * 1000 * 1000);
			continue;
		}
		if (speed > min && now - atomic_load(&s->last_user_io_ns) < 50ull * 1000 * 1000) {
			sleep_ns(5 * 1000 * 1000); /* user I/O is running: yield */
			continue;
		}
		return;
	}
}

/* Announces member stripes [from, to) to the members the action reads:
 * each run of stripes in units in use. A resync reads only the bitmap's
 * dirty regions: it is left to the kernel. */
void
sync_readahead(struct r5_sync *s, int action, int target, uint64_t from, uint64_t to)
{
	if (action == R5_SYNC_RESYNC)
		return;
	for (uint64_t run = from, st = from; st <= to; st++) {
		if (st < to && r5_usemap_in_use(s->usemap, st * s->strip))
			continue;
		for (uint32_t i = 0; i < r5_members_count(s->members) && st > run; i++)
			if ((int)i != target && r5_members_present(s->members, i))
				r5_members_willneed(s->members, i, run * s->strip,
						    (st - run) * s->strip);
		run = st + 1;
	}
}

/* Does the action visit this stripe? A resync only the bitmap's dirty
 * regions; resync, check and repair no unused unit (zeros everywhere,
 * usemap.h). A recovery visits all: the engine writes an unused row's
 * zeros to the new member without reading (stripe_handle.c). */
bool
sync_visits(struct r5_sync *s, int action, uint64_t stripe)
{
	if (action == R5_SYNC_RECOVER)
		return true;
	if (action == R5_SYNC_RESYNC && !r5_bitmap_resync_pending(s->bitmap, stripe * s->strip))
		return false;
	return r5_usemap_in_use(s->usemap, stripe * s->strip);
}

/* Counts the stripes a resync from `from` will visit. */
uint64_t
resync_todo(struct r5_sync *s, uint64_t from)
{
	uint64_t n = 0;

	for (uint64_t st = from; st < s->total; st++)
		n += sync_visits(s, R5_SYNC_RESYNC, st);
	return n;
}

void
r5_sync_set_speed(struct r5_sync *s, uint64_t min, uint64_t max)
{
	r5_mutex_lock(&s->lock);
	if (min)
		s->speed_min = min;
	if (max)
		s->speed_max = max;
	r5_mutex_unlock(&s->lock);
}

void
r5_sync_get_status(struct r5_sync *s, struct r5_sync_status *out)
{
	uint64_t now = r5_now_ns();

	r5_mutex_lock(&s->lock);
	out->action = s->action;
	out->target = s->target;
	out->checkpoint = s->cp;
	if (s->action == R5_SYNC_RESYNC) {
		out->done = s->done_stripes * s->strip;
		out->total = s->todo_stripes * s->strip;
	} else if (s->action != R5_SYNC_IDLE) {
		out->done = s->cp * s->strip;
		out->total = s->total * s->strip;
	} else {
		out->done = out->total = 0;
	}
	/* the rate of the last full second, or the run's average before that */
	out->rate = s->rate;
	if (!out->rate && s->action != R5_SYNC_IDLE && now > s->start_ns)
		out->rate = s->done_stripes * s->strip * 1000000000ull / (now - s->start_ns);
	out->mismatch_sectors = s->last_mismatch_sectors;
	out->last_action = s->last_action;
	out->last_result = s->last_result;
	out->speed_min = s->speed_min;
	out->speed_max = s->speed_max;
	r5_mutex_unlock(&s->lock);
}
