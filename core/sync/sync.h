/* sync.h - background sync actions (private to core/): recovery onto a
 * replacement member, resync after an unclean stop, check and repair.
 *
 * Layer: above the stripe engine, below the array. A sync thread walks the
 * stripes in order, a window of up to R5_SYNC_WINDOW stripes at a time (at
 * most a quarter of the stripe cache): it asks the engine for the action on
 * each stripe (r5_stripe_sync) and the engine does the work like any other
 * request (read what is missing, compute, write), reporting each stripe
 * through the hooks this layer registers (sync_done). The thread waits for
 * the whole window before it moves the checkpoint past it.
 *
 * Recovery and user I/O: the member being rebuilt counts as present for a
 * stripe below the checkpoint, or inside the current window once that
 * stripe is rebuilt (a bit per stripe, set when its rebuilt page is on the
 * new member: the `rebuilt` hook). Above that it counts as missing, so user
 * writes there go to parity only and the rebuild computes the page from the
 * survivors later. Because both the bit and user writes are looked at under
 * the stripe's lock, a write to a stripe is planned either before its
 * rebuild (and the rebuild then sees the new data in the survivors) or after
 * (and writes the new member too).
 *
 * Checkpoints: every R5_SYNC_PERSIST_NS the checkpoint is stored in the
 * superblocks, so a restart resumes there. The members are fdatasynced
 * first: a checkpoint must never be on disk ahead of the data it vouches
 * for (after a power loss the rebuilt pages below it must be there).
 *
 * Unused rows (core/metadata/usemap.h) are zeros on every member: resync,
 * check and repair skip them; a recovery gives the new member a whole
 * unused unit's zeros at once, under the in-use map's lock, so that no
 * write enters the unit until the checkpoint is past it (sync.c).
 *
 * When a run leaves parity consistent everywhere (a resync, or a recovery
 * that leaves no member missing: every page of the new member was computed
 * from the others), the bitmap's pending resync is dropped.
 */
#ifndef RAID5FS_CORE_SYNC_H
#define RAID5FS_CORE_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "stripe.h"

struct r5_members;
struct r5_bitmap;
struct r5_usemap;
struct r5_sync;

#define R5_SYNC_WINDOW 256
/* Member bytes announced (WILLNEED) ahead of a recover/check/repair: the
 * windows are worked one after the other, so without it each one waits
 * for its reads from the disk. */
#define R5_SYNC_READAHEAD (8ull << 20)
#define R5_SYNC_PERSIST_NS (2ull * 1000 * 1000 * 1000)
/* md's default minimum is 1000 KiB/s, which under steady user I/O stretches
 * a rebuild (the time the array has no redundancy) to hours per GiB. 16 MiB/s
 * keeps it moving while still giving way to the user above that rate. */
#define R5_DEFAULT_SPEED_MIN (16ull * 1024 * 1024)  /* bytes/s */
#define R5_DEFAULT_SPEED_MAX (2000ull * 1024 * 1024) /* bytes/s, effectively unlimited */

/* A copy of the sync state for status. Sizes in bytes of member data. */
struct r5_sync_status {
	int action;            /* enum r5_sync_action running, or IDLE */
	int target;            /* slot being rebuilt, or -1 */
	uint64_t checkpoint;   /* stripes below this are done (resume point) */
	uint64_t done, total;  /* progress of the running action */
	uint64_t rate;         /* bytes/s of the last full second (or the run's average) */
	uint64_t mismatch_sectors; /* of the last finished check/repair */
	int last_action, last_result; /* last finished run: action, 0 or -errno */
	uint64_t speed_min, speed_max;
};

/* Sync for the cache's stripes; registers the engine hooks. */
int r5_sync_create(struct r5_cache *c, struct r5_members *ms, struct r5_bitmap *bm,
		   struct r5_usemap *um, uint64_t member_data_size, struct r5_sync **out);
/* Stops a running action first. NULL is fine. */
void r5_sync_destroy(struct r5_sync *s);
/* Starts action (RECOVER of slot target, or RESYNC, from stripe `from`:
 * resumes) in the background. -EBUSY if one is running. */
int r5_sync_start(struct r5_sync *s, int action, int target, uint64_t from);
/* Asks the running action to stop at the next window and waits for it. */
void r5_sync_stop(struct r5_sync *s);
int r5_sync_action(struct r5_sync *s);
void r5_sync_get_status(struct r5_sync *s, struct r5_sync_status *out);
/* Speed limits in bytes/s; 0 leaves a limit as it is. */
void r5_sync_set_speed(struct r5_sync *s, uint64_t min, uint64_t max);
/* Notes user I/O, so the sync yields to it; when it last happened. */
void r5_sync_note_user_io(struct r5_sync *s);
uint64_t r5_sync_last_user_io_ns(struct r5_sync *s);
const char *r5_sync_action_name(int action);
/* A round of user write segments covering member bytes [start, end) is
 * about to be attached to the engine: waits while a direct recovery window
 * there is being rebuilt (sync_direct.c). Returns a ticket for
 * r5_sync_write_end, called once the segments are attached. */
unsigned r5_sync_write_begin(struct r5_sync *s, uint64_t start, uint64_t end);
void r5_sync_write_end(struct r5_sync *s, unsigned ticket);

#endif
