/* array_internal.h - struct r5_array and what core/ files share about it. */
#ifndef RAID5FS_CORE_ARRAY_INTERNAL_H
#define RAID5FS_CORE_ARRAY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "raid5fs/array.h"
#include "raid5fs/layout.h"
#include "raid5fs/log.h"
#include "raid5fs/member.h"
#include "raid5fs/superblock.h"
#include "bitmap.h"
#include "stripe.h"
#include "sync.h"

/* What the engine thinks of a slot (the superblock role table is the
 * persistent form of this). */
enum r5_slot_state {
	R5_SLOT_IN_SYNC = 0, /* member present and trusted */
	R5_SLOT_FAULTY,      /* failed while running; not used any more */
	R5_SLOT_MISSING,     /* no member at assembly */
	R5_SLOT_REBUILDING,  /* replacement: valid below the recovery checkpoint */
};

struct r5_slot_stats {
	atomic_ullong reads, writes;            /* member I/O calls */
	atomic_ullong read_bytes, write_bytes;
	atomic_ullong read_errors, write_errors;
};

struct r5_slot {
	struct r5_member member;      /* ops == NULL once closed or missing */
	struct r5_superblock sb;      /* this member's superblock; a->sb_lock */
	atomic_int state;             /* enum r5_slot_state; changes under a->sb_lock */
	char fail_reason[160];        /* why it failed; a->sb_lock */
	struct r5_slot_stats stats;
};

struct r5_io_stats {
	atomic_ullong reads, writes, flushes;   /* image requests */
	atomic_ullong read_bytes, write_bytes;
	atomic_ullong bypass_reads;             /* reads served straight from a member */
	atomic_ullong errors;                   /* requests that returned an error */
};

/* The last sequential read stream (readahead.c). */
struct r5_readahead_state {
	atomic_ullong next;  /* image offset where the last read ended */
	atomic_ullong ahead; /* image bytes announced to the members up to here */
};

struct r5_array {
	struct r5_geometry geo;
	uint8_t uuid[16];
	char name[R5_NAME_LEN];
	uint64_t data_offset;         /* start of the data area in every member */
	struct r5_engine_opts opts;   /* resolved: no zeros left */
	struct r5_slot slot[R5_MAX_MEMBERS];
	atomic_int nr_failed;         /* slots not in sync; changes under sb_lock */
	struct r5_member retired[R5_MAX_MEMBERS]; /* replaced members, closed at stop; sb_lock */

	pthread_mutex_t sb_lock;      /* superblocks, events, array state, slot state changes */
	uint64_t events;              /* sb_lock */
	uint32_t sb_state;            /* enum r5_array_state as on disk; sb_lock */
	atomic_bool marked_active;    /* fast-path copy of sb_state == ACTIVE */
	bool was_dirty;               /* assembled from an unclean stop */

	struct r5_cache *cache;       /* NULL until started */
	bool started;
	uint64_t start_ns;
	struct r5_io_stats io;
	struct r5_readahead_state ra;  /* readahead.c; atomics only */

	struct r5_bitmap bitmap;      /* write-intent bitmap */
	struct r5_sync sync;          /* background resync/recovery/check */
	atomic_uint writes_inflight;  /* image writes between entry and return */
	atomic_ullong write_seq;      /* bumped by every finished image write */
	atomic_ullong last_io_ns;     /* time of the last user request (safe mode, sync yield) */
	uint64_t safe_mode_ns;        /* idle time before the array is marked clean */

	pthread_t monitor;            /* fault detection + safe mode thread */
	bool monitor_running;
	int monitor_pipe[2];          /* written to stop the monitor */
};

/* Is this slot usable for I/O right now? */
static inline bool
r5_slot_ok(struct r5_array *a, uint32_t slot)
{
	return atomic_load(&a->slot[slot].state) == R5_SLOT_IN_SYNC;
}

/* Does this slot have an open member that receives writes? */
static inline bool
r5_slot_present(struct r5_array *a, uint32_t slot)
{
	int st = atomic_load(&a->slot[slot].state);

	return st == R5_SLOT_IN_SYNC || st == R5_SLOT_REBUILDING;
}

/* More than one member lost: the array can no longer serve. */
static inline bool
r5_array_is_failed(struct r5_array *a)
{
	return atomic_load(&a->nr_failed) > 1;
}

/* Member byte range touched by image bytes [off, end): whole stripe rows. */
static inline uint64_t
r5_member_span_start(struct r5_array *a, uint64_t off)
{
	uint64_t chunk = a->geo.chunk_size, d = a->geo.nr_members - 1;

	return (off / chunk) / d * chunk;
}

static inline uint64_t
r5_member_span_end(struct r5_array *a, uint64_t end)
{
	uint64_t chunk = a->geo.chunk_size, d = a->geo.nr_members - 1;

	return ((end - 1) / chunk / d + 1) * chunk;
}

/* readahead.c: tells the members which ranges a read, and a stream of
 * reads, will need, so the kernel fetches them in parallel and ahead. */
void r5_readahead(struct r5_array *a, uint64_t off, uint64_t end);

/* array_state.c */
/* Marks a slot faulty after an I/O error or a detected loss, records it in
 * the surviving superblocks (events + 1) and logs one line. */
void r5_array_fail_slot(struct r5_array *a, uint32_t slot, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Makes sure the superblocks say "active" before a write is accepted. */
int r5_array_mark_active(struct r5_array *a);
/* Marks the superblocks clean if the array is quiet (safe mode). */
int r5_array_try_mark_clean(struct r5_array *a);
/* Writes every present member's superblock with the current state. sb_lock held. */
int r5_array_store_superblocks_locked(struct r5_array *a);

/* monitor.c: fault detection (inotify + fstat) and safe mode */
int r5_monitor_start(struct r5_array *a);
void r5_monitor_stop(struct r5_array *a);

/* replace.c: a new member for a failed slot, and recovery onto it */
int r5_array_replace(struct r5_array *a, uint32_t slot, const char *path, char *err, size_t errlen);
/* Completes a recovery: the slot becomes in sync. */
void r5_array_recovery_done(struct r5_array *a, uint32_t slot);
/* Persists a sync checkpoint (bytes of member data) in the superblocks. */
void r5_array_persist_checkpoint(struct r5_array *a, int action, int target, uint64_t bytes);

/* member I/O with accounting; the engine's only way to touch member data. */
int r5_array_member_read(struct r5_array *a, uint32_t slot, void *buf, size_t len, uint64_t off);
int r5_array_member_write(struct r5_array *a, uint32_t slot, const void *buf, size_t len,
			  uint64_t off);
/* Adjacent buffers from off on, in one member call where possible (iov is
 * scratch, see r5_member_readv); counted as one read or write. */
int r5_array_member_readv(struct r5_array *a, uint32_t slot, struct iovec *iov, int iovcnt,
			  uint64_t off);
int r5_array_member_writev(struct r5_array *a, uint32_t slot, struct iovec *iov, int iovcnt,
			   uint64_t off);
/* From the page cache only (r5_member_readv_cached): 0 or -EAGAIN. */
int r5_array_member_readv_cached(struct r5_array *a, uint32_t slot, const struct iovec *iov,
				 int iovcnt, uint64_t off);

#endif
