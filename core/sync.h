/* sync.h - background sync actions (private to core/): recovery onto a
 * replacement member, resync after an unclean stop, check and repair.
 *
 * A sync thread walks the stripes in order, a window of up to 64 stripes
 * at a time: it flags each stripe with the action (sh->sync_action) and
 * lets handle_stripe do the work like any other request (read what is
 * missing, compute, write), then waits for the whole window before it
 * moves the checkpoint past it.
 *
 * Recovery and user I/O: the member being rebuilt counts as present for a
 * stripe below the checkpoint, or inside the current window once that
 * stripe is rebuilt (a bit per stripe, set when its rebuilt page is on the
 * new member). Above that it counts as missing, so user writes there go to
 * parity only and the rebuild computes the page from the survivors later.
 * Because both the bit and user writes are looked at under sh->lock, a
 * write to a stripe is planned either before its rebuild (and the rebuild
 * then sees the new data in the survivors) or after (and writes the new
 * member too).
 *
 * The checkpoint is persisted in the superblocks every R5_SYNC_PERSIST_NS,
 * so a restart resumes there.
 */
#ifndef RAID5FS_CORE_SYNC_H
#define RAID5FS_CORE_SYNC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

enum r5_sync_action {
	R5_SYNC_IDLE = 0,
	R5_SYNC_RESYNC,  /* parity recomputed from data where the bitmap is dirty */
	R5_SYNC_RECOVER, /* rebuild one member from the others */
	R5_SYNC_CHECK,   /* count parity mismatches, change nothing */
	R5_SYNC_REPAIR,  /* count and rewrite mismatched parity */
};

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

struct r5_sync {
	pthread_mutex_t lock;       /* everything in this struct; a leaf lock */
	pthread_cond_t cond;        /* window progress, stop requests */
	pthread_t thread;
	bool thread_running;        /* thread started and not joined */
	bool stop_requested;        /* idle / unmount asked the thread to stop */
	int action;                 /* enum r5_sync_action in progress */
	int target;                 /* slot being rebuilt (RECOVER), else -1 */
	uint64_t cp;                /* stripes below this are done */
	uint64_t window_base;       /* first stripe of the window in flight */
	uint64_t window_done[R5_SYNC_WINDOW / 64]; /* bit i: stripe window_base + i rebuilt */
	uint32_t outstanding;       /* window stripes not finished */
	uint64_t total;             /* stripes to walk */
	uint64_t done_stripes;      /* walked so far in this run */
	uint64_t todo_stripes;      /* stripes this run will actually process */
	uint64_t mismatches;        /* this run: stripes whose parity did not match */
	uint64_t last_mismatch_sectors; /* result of the last finished check/repair */
	int last_result;            /* 0, or -errno of the last run */
	int last_action;            /* action of the last finished run */
	uint64_t start_ns, rate_ns; /* run start; start of the rate sample */
	uint64_t rate_stripes;      /* stripes at the start of the rate sample */
	uint64_t rate;              /* bytes of member data per second, last sample */
	uint64_t speed_min, speed_max; /* bytes/s (sync_speed_min/max) */
};

struct r5_array;
struct stripe_head;

void r5_sync_init(struct r5_sync *s);
void r5_sync_destroy(struct r5_sync *s);
/* Starts action (from stripe `from` for RECOVER/RESYNC resumes) in the
 * background. -EBUSY if one is running; err gets a one-line reason. */
int r5_sync_start(struct r5_array *a, int action, int target, uint64_t from);
/* Asks the running action to stop at the next window and waits for it. */
void r5_sync_stop(struct r5_array *a);
/* Is slot `target` (being rebuilt) valid in this stripe? sh->lock held. */
bool r5_sync_stripe_rebuilt(struct r5_array *a, uint64_t sector);
/* handle_stripe reports a stripe's sync work finished. */
void r5_sync_stripe_done(struct r5_array *a, uint64_t sector, bool mismatch, int error);
/* Is parity of this stripe trusted (not in a dirty, not yet resynced region)? */
bool r5_sync_parity_trusted(struct r5_array *a, uint64_t sector);
const char *r5_sync_action_name(int action);
/* Notes user I/O, so the sync yields to it. */
void r5_sync_note_user_io(struct r5_array *a);

#endif
