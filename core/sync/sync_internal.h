/* sync_internal.h - what the files of core/sync/ share: the sync thread's
 * state (sync.c runs the thread, the hooks and the windows; sync_pace.c
 * decides what a run visits, how fast it goes, and what status shows). */
#ifndef RAID5FS_CORE_SYNC_INTERNAL_H
#define RAID5FS_CORE_SYNC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "sync.h"

/* The gate between user write rounds and a direct recovery window
 * (sync_direct.c). */
struct r5_sync_gate {
	pthread_mutex_t lock; /* everything below; a leaf */
	pthread_cond_t cond;  /* the barrier dropped, or an epoch drained */
	uint64_t lo, hi;      /* member bytes closed to new write rounds (lo == hi: none) */
	unsigned epoch;       /* flipped by each barrier */
	uint64_t writers[2];  /* write rounds inside the gate, by the epoch they entered in */
};

/* Member bytes of one direct window at most (its buffers: one per member). */
#define R5_SYNC_DIRECT_MAX (1u << 20)

struct r5_sync {
	struct r5_cache *cache;     /* the engine that does the work */
	struct r5_members *members; /* checkpoints, recovery done, durability */
	struct r5_bitmap *bitmap;   /* which stripes a resync visits */
	struct r5_usemap *usemap;   /* units no action visits (unused), or NULL */
	uint64_t total;             /* stripes per member */
	uint32_t strip;             /* bytes per member per stripe */

	pthread_mutex_t start_lock; /* serialises start and stop: one thread at a time */
	pthread_mutex_t lock;       /* everything below; a leaf (taken under sh->lock
				     * and under the in-use map's lock) */
	pthread_cond_t cond;        /* window progress, stop requests */
	pthread_t thread;
	bool thread_running;        /* thread started and not joined; start_lock and lock */
	bool stop_requested;        /* idle / unmount asked the thread to stop */
	int action;                 /* enum r5_sync_action in progress */
	int target;                 /* slot being rebuilt (RECOVER), else -1 */
	uint64_t cp;                /* stripes below this are done */
	uint64_t window_base;       /* first stripe of the window in flight */
	uint64_t window_done[R5_SYNC_WINDOW / 64]; /* bit i: stripe window_base + i rebuilt */
	uint32_t outstanding;       /* window stripes not finished */
	uint64_t done_stripes;      /* worked on so far in this run (rate, speed limits) */
	uint64_t todo_stripes;      /* stripes this run will actually process */
	uint64_t mismatches;        /* this run: stripes whose parity did not match */
	uint64_t last_mismatch_sectors; /* result of the last finished check/repair */
	int last_result;            /* 0, or -errno of the last run */
	int last_action;            /* action of the last finished run */
	uint64_t start_ns, rate_ns; /* run start; start of the rate sample */
	uint64_t rate_stripes;      /* stripes at the start of the rate sample */
	uint64_t rate;              /* bytes of member data per second, last sample */
	uint64_t speed_min, speed_max; /* bytes/s (sync_speed_min/max) */
	atomic_ullong last_user_io_ns; /* the sync yields while user I/O is recent */
	struct r5_sync_gate gate;   /* sync_direct.c */
	uint8_t *direct_buf;        /* the target's, then each survivor's: owned by the thread */
};

/* sync_pace.c */
/* Sleeps while the run is above its speed limits (md's rules). */
void sync_throttle(struct r5_sync *s);
/* Announces member stripes [from, to) to the members the action reads. */
void sync_readahead(struct r5_sync *s, int action, int target, uint64_t from, uint64_t to);
/* Does the action visit this stripe? */
bool sync_visits(struct r5_sync *s, int action, uint64_t stripe);
/* Counts the stripes a resync from `from` will visit. */
uint64_t resync_todo(struct r5_sync *s, uint64_t from);

/* sync_direct.c */
void sync_gate_init(struct r5_sync_gate *g);
void sync_gate_destroy(struct r5_sync_gate *g);
/* Rebuilds stripes [base, base+width) of slot target straight from the
 * members. 1 done (checkpoint moved), 0 the stripe path must do it, or
 * -EIO (the new member was failed). */
int sync_direct_window(struct r5_sync *s, int target, uint64_t base, uint32_t width);

#endif
