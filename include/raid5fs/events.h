/* events.h - what happened to an array that a person or a program should
 * hear about (md's monitor events, ZFS's zed): a member failing, the array
 * going degraded or failing, rebuilds starting, progressing and finishing,
 * a resync or check finishing, a block failing its checksum.
 *
 * The layers that see a change (the member set, the sync thread) emit an
 * event into the array's r5_events; it keeps the last R5_EVENTS_KEEP of
 * them for MOUNTPOINT/.raid5fs/events (one JSON line each:
 *   {"seq":7,"time":"2026-11-29T08:10:00.123Z","event":"fail","slot":1,
 *    "member":"/data/m1","detail":"deleted"}
 * slot -1 and member "" when the event is about the whole array) and hands
 * each to a listener, the frontend's hook runner (-o events=PROGRAM).
 *
 * Names: fail, degraded, array-failed, rebuild-start, rebuild-progress
 * (every 10%), rebuild-finished, resync-finished, check-finished,
 * checksum-error, spare-added, spare-removed, spare-active.
 */
#ifndef RAID5FS_EVENTS_H
#define RAID5FS_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define R5_EVENTS_KEEP 256

struct r5_event {
	uint64_t seq;         /* 1, 2, ... in the order they happened, per mount */
	struct timespec time; /* CLOCK_REALTIME */
	char name[24];
	int slot;             /* -1: about the whole array */
	char member[256];     /* the slot's member file; "" when none */
	char detail[200];
};

/* Called for each event in order, with the events' lock held: it must
 * only take note (queue it) and return, never block or emit. */
typedef void (*r5_event_fn)(void *arg, const struct r5_event *e);

struct r5_events;

int r5_events_create(struct r5_events **out);
void r5_events_destroy(struct r5_events *ev);
/* Installs the listener; before events can be emitted (at mount). */
void r5_events_set_listener(struct r5_events *ev, r5_event_fn fn, void *arg);

/* Emits one event; ev NULL: nothing (arrays run without events in tests). */
void r5_event(struct r5_events *ev, const char *name, int slot, const char *member,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* One event as a JSON line with its newline; returns the length, or 0 if
 * cap is too small. */
size_t r5_event_json(const struct r5_event *e, char *buf, size_t cap);
/* The kept events, oldest first, as JSON lines; whole lines only (the
 * oldest are left out when cap is short). Returns the bytes written. */
size_t r5_events_json(struct r5_events *ev, char *buf, size_t cap);

#endif
