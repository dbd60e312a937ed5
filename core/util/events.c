/* events.c - the array's events: a ring of the last ones and a listener
 * (include/raid5fs/events.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "raid5fs/events.h"
#include "raid5fs/util.h"

struct r5_events {
	pthread_mutex_t lock; /* protects everything below */
	struct r5_event ring[R5_EVENTS_KEEP];
	uint64_t next_seq;    /* seq of the next event; ring[(seq - 1) % KEEP] */
	r5_event_fn listener; /* set before events flow */
	void *listener_arg;
};

int
r5_events_create(struct r5_events **out)
{
	struct r5_events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return -ENOMEM;
	r5_mutex_init(&ev->lock);
	ev->next_seq = 1;
	*out = ev;
	return 0;
}

void
r5_events_destroy(struct r5_events *ev)
{
	if (!ev)
		return;
	r5_mutex_destroy(&ev->lock);
	free(ev);
}

void
r5_events_set_listener(struct r5_events *ev, r5_event_fn fn, void *arg)
{
	r5_mutex_lock(&ev->lock);
	ev->listener = fn;
	ev->listener_arg = arg;
	r5_mutex_unlock(&ev->lock);
}

void
r5_event(struct r5_events *ev, const char *name, int slot, const char *member, const char *fmt, ...)
{
	struct r5_event *e;
	va_list ap;

	if (!ev)
		return;
	r5_mutex_lock(&ev->lock);
	e = &ev->ring[(ev->next_seq - 1) % R5_EVENTS_KEEP];
	memset(e, 0, sizeof(*e));
	e->seq = ev->next_seq++;
	clock_gettime(CLOCK_REALTIME, &e->time);
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->slot = slot;
	snprintf(e->member, sizeof(e->member), "%s", member ? member : "");
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	if (ev->listener)
		ev->listener(ev->listener_arg, e);
	r5_mutex_unlock(&ev->lock);
}

size_t
r5_event_json(const struct r5_event *e, char *buf, size_t cap)
{
	struct tm tm;
	size_t n, k;
	int r;

	gmtime_r(&e->time.tv_sec, &tm);
	r = snprintf(buf, cap,
		     "{\"seq\":%llu,\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"event\":",
		     (unsigned long long)e->seq, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		     tm.tm_hour, tm.tm_min, tm.tm_sec, e->time.tv_nsec / 1000000);
	if (r < 0 || (size_t)r >= cap)
		return 0;
	n = (size_t)r;
	if (!(k = r5_json_str(e->name, buf + n, cap - n)))
		return 0;
	n += k;
	r = snprintf(buf + n, cap - n, ",\"slot\":%d,\"member\":", e->slot);
	if (r < 0 || (size_t)r >= cap - n)
		return 0;
	n += (size_t)r;
	if (!(k = r5_json_str(e->member, buf + n, cap - n)))
		return 0;
	n += k;
	r = snprintf(buf + n, cap - n, ",\"detail\":");
	if (r < 0 || (size_t)r >= cap - n)
		return 0;
	n += (size_t)r;
	if (!(k = r5_json_str(e->detail, buf + n, cap - n)))
		return 0;
	n += k;
	if (n + 2 >= cap)
		return 0;
	buf[n++] = '}';
	buf[n++] = '\n';
	buf[n] = '\0';
	return n;
}

size_t
r5_events_json(struct r5_events *ev, char *buf, size_t cap)
{
	char line[1024];
	size_t total = 0, pos = 0;

	if (cap)
		buf[0] = '\0';
	r5_mutex_lock(&ev->lock);
	const uint64_t end = ev->next_seq; /* one past the newest */
	const uint64_t oldest = end > R5_EVENTS_KEEP ? end - R5_EVENTS_KEEP : 1;
	uint64_t from = end;

	/* the newest lines that fit whole: counted from the newest back */
	while (from > oldest) {
		size_t l = r5_event_json(&ev->ring[(from - 2) % R5_EVENTS_KEEP], line, sizeof(line));

		if (total + l + 1 > cap)
			break;
		total += l;
		from--;
	}
	for (uint64_t s = from; s < end; s++)
		pos += r5_event_json(&ev->ring[(s - 1) % R5_EVENTS_KEEP], buf + pos, cap - pos);
	r5_mutex_unlock(&ev->lock);
	return pos;
}
