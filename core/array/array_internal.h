/* array_internal.h - struct r5_array and what the files of core/array/
 * share about it.
 *
 * The array is the top layer of the engine (docs/architecture.md): it holds
 * its parts and wires them together; each part is owned and changed by its
 * own file or layer:
 *   geo, uuid, name, opts   fixed at assembly (assemble.c)
 *   members                 core/members: slots, member I/O, superblocks
 *   bitmap                  core/metadata: write intent, pending resync
 *   usemap                  core/metadata: units that may hold data (NULL: all)
 *   cache                   core/stripe: the stripe engine (array.c starts it)
 *   ppl                     core/log: the partial parity log (array.c starts it)
 *   sync                    core/sync: recovery, resync, check, repair
 *   safe                    safe_mode.c: clean <-> active
 *   monitor                 monitor.c: the fault-detection thread
 *   io, ra                  array_io.c and readahead.c (atomics)
 *
 * Locks, in the order they are taken: safe.lock -> the member set's sb_lock
 * -> the bitmap's lock and the usemap's (a replacement's copies are written
 * under sb_lock); safe.lock -> the bitmap's lock. None of them is held while waiting for
 * the stripe cache.
 */
#ifndef RAID5FS_CORE_ARRAY_INTERNAL_H
#define RAID5FS_CORE_ARRAY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bitmap.h"
#include "member_set.h"
#include "ppl.h"
#include "raid5fs/array.h"
#include "raid5fs/layout.h"
#include "raid5fs/log.h"
#include "raid5fs/superblock.h"
#include "stripe.h"
#include "sync.h"
#include "usemap.h"

struct r5_io_stats {
	atomic_ullong reads, writes, flushes;   /* image requests */
	atomic_ullong read_bytes, write_bytes;
	atomic_ullong bypass_reads;             /* reads served straight from a member */
	atomic_ullong degraded_reads;           /* pieces rebuilt straight from the survivors */
	atomic_ullong errors;                   /* requests that returned an error */
	atomic_ullong discards;                 /* r5_array_discard calls */
	atomic_ullong units_released;           /* units the in-use map gave up */
};

/* The last sequential read stream (readahead.c). */
struct r5_readahead_state {
	atomic_ullong next;  /* image offset where the last read ended */
	atomic_ullong ahead; /* image bytes announced to the members up to here */
};

/* Safe mode (md's): the superblocks say "active" while writes may be in
 * flight and go back to "clean" once the array has been idle and flushed. */
struct r5_safe_mode {
	pthread_mutex_t lock;          /* the clean <-> active transition */
	atomic_bool marked_active;     /* fast-path copy of "the superblocks say active" */
	atomic_uint writes_inflight;   /* image writes between entry and return */
	atomic_ullong write_seq;       /* bumped by every finished image write */
	uint64_t idle_ns;              /* idle time before the array is marked clean */
};

/* The monitor thread (monitor.c). */
struct r5_monitor {
	pthread_t thread;
	bool running;                  /* started and not joined */
	int pipe[2];                   /* written to stop the thread */
};

/* Hot spares (spares.c): files standing by for a failed slot. Each holds
 * a superblock with the spare role; the members' superblocks list their
 * member uuids (member_spares.c). */
struct r5_spares {
	pthread_mutex_t lock; /* protects everything below; taken before the
			       * member set's locks (a takeover replaces under it) */
	char path[R5_MAX_SPARES][PATH_MAX]; /* absolute, first in line first */
	uint8_t uuid[R5_MAX_SPARES][16];    /* the member uuid in each one's superblock */
	unsigned n;
};

/* Units of the in-use map being zeroed by discards that each cover only
 * part of them (discard.c): a loop device cuts fstrim's ranges into
 * requests that rarely match a unit. */
#define R5_DISCARD_SLOTS 64
#define R5_DISCARD_RANGES 16 /* separate zeroed ranges kept per unit */
struct r5_discard_unit {
	uint64_t unit;       /* index in the in-use map; UINT64_MAX: slot free */
	uint64_t writes;     /* the unit's write count when the coverage began */
	uint64_t last_used;  /* for reuse of the oldest slot */
	uint32_t n;          /* ranges below */
	uint64_t range[R5_DISCARD_RANGES][2]; /* image bytes zeroed since: sorted,
					       * neither touching nor overlapping */
};
struct r5_discards {
	pthread_mutex_t lock; /* protects the slots and clock */
	uint64_t clock;
	struct r5_discard_unit slot[R5_DISCARD_SLOTS];
};

/* Write rounds counted in and out per bucket of member rows, around the
 * attach of their segments (degraded_read.c says why). */
#define R5_WSEQ_BUCKETS 1024
struct r5_write_seq_bucket {
	atomic_ullong begun, ended;
};

struct r5_array {
	struct r5_geometry geo;
	uint8_t uuid[16];
	char name[R5_NAME_LEN];
	struct r5_engine_opts opts;    /* resolved: no zeros left */

	struct r5_members *members;
	struct r5_bitmap *bitmap;
	struct r5_usemap *usemap;      /* NULL: an array made before the map */
	struct r5_cache *cache;        /* NULL until started */
	struct r5_sync *sync;          /* NULL until started */
	struct r5_ppl *ppl;            /* the partial parity log; NULL until started or off */
	bool ppl_replay;               /* assembly -> start: replay the logs (dirty, logged) */
	struct r5_ppl_recovery ppl_recovered; /* what the replay did; fixed after start */
	int resume_target;             /* assembly -> start: slot whose recovery resumes, or -1 */
	uint64_t resume_from;          /* ... from this stripe */

	struct r5_safe_mode safe;
	struct r5_monitor monitor;
	struct r5_spares spares;
	struct r5_discards discards;   /* discard.c */
	struct r5_io_stats io;
	struct r5_readahead_state ra;  /* readahead.c; atomics only */
	struct r5_write_seq_bucket wseq[R5_WSEQ_BUCKETS]; /* degraded_read.c; atomics only */
	bool started;
	uint64_t start_ns;
};

/* Image bytes in one stripe row: a chunk of every data member. */
static inline uint64_t
r5_row_bytes(const struct r5_array *a)
{
	return (uint64_t)a->geo.chunk_size * (a->geo.nr_members - 1);
}

/* Member byte range touched by image bytes [off, end): whole stripe rows. */
static inline uint64_t
r5_member_span_start(const struct r5_array *a, uint64_t off)
{
	uint64_t chunk = a->geo.chunk_size, d = a->geo.nr_members - 1;

	return (off / chunk) / d * chunk;
}

static inline uint64_t
r5_member_span_end(const struct r5_array *a, uint64_t end)
{
	uint64_t chunk = a->geo.chunk_size, d = a->geo.nr_members - 1;

	return ((end - 1) / chunk / d + 1) * chunk;
}

/* trust.c: what assembly makes of each slot's member (md's rules). */
enum r5_trust {
	R5_TRUST_IN_SYNC,    /* used, trusted */
	R5_TRUST_REBUILDING, /* used; its recovery resumes at its checkpoint */
	R5_TRUST_NOT_GIVEN,  /* no member file for the slot */
	R5_TRUST_STALE,      /* more than one event behind: missed writes */
	R5_TRUST_FAULTY,     /* the newest superblock says it is not in sync */
};
/* sbs[s]: the superblock of the member given for slot s, or NULL. Fills
 * out[s] for every slot; returns the slot of the newest superblock (the
 * truth), or -1 if none was given. */
int r5_assemble_trust(const struct r5_superblock *const sbs[], uint32_t nmembers,
		      enum r5_trust out[]);
const char *r5_trust_name(enum r5_trust t);

/* array_io.c: r5_array_write, but a discard's zeros over whole units of
 * the in-use map do not count as writes into them (count_in false). */
ssize_t r5_image_write(struct r5_array *a, const void *buf, size_t len, uint64_t off,
		       bool count_in);

/* discard.c */
void r5_discards_init(struct r5_discards *d);
void r5_discards_destroy(struct r5_discards *d);

/* readahead.c: tells the members which ranges a read, and a stream of
 * reads, will need, so the kernel fetches them in parallel and ahead. */
void r5_readahead(struct r5_array *a, uint64_t off, uint64_t end);

/* degraded_read.c: a write round counts itself in before it attaches its
 * segments and out after (member rows [start, end)); a chunk piece on a
 * member not in sync is rebuilt from the survivors without the cache:
 * 1 if it was, 0 if the cache must serve it. */
void r5_write_seq_begin(struct r5_array *a, uint64_t start, uint64_t end);
void r5_write_seq_end(struct r5_array *a, uint64_t start, uint64_t end);
int r5_degraded_read(struct r5_array *a, uint8_t *buf, const struct r5_location *loc,
		     uint64_t len);

/* safe_mode.c */
void r5_safe_mode_init(struct r5_array *a, bool active);
void r5_safe_mode_destroy(struct r5_array *a);
/* An image write begins: counted, and the superblocks say "active" before
 * it is accepted. 0 or -errno (then r5_safe_mode_write_end all the same). */
int r5_safe_mode_write_begin(struct r5_array *a);
void r5_safe_mode_write_end(struct r5_array *a);
/* Marks the superblocks clean if the array has been quiet (monitor). */
int r5_safe_mode_try_clean(struct r5_array *a);
/* At stop, with every thread stopped and the cache flushed without error:
 * clean unless a resync is still owed. */
int r5_safe_mode_stop(struct r5_array *a);

/* monitor.c: fault detection (inotify + fstat) and the safe-mode timer */
int r5_monitor_start(struct r5_array *a);
void r5_monitor_stop(struct r5_array *a);

/* consistency.c: at start, before the cache: replays the partial parity
 * logs after a crash of a run that kept them, records this run's policy in
 * the superblocks and starts its log (a->ppl). 0 or -errno. */
int r5_consistency_start(struct r5_array *a);

/* replace.c: a new member for a failed slot, and recovery onto it */
int r5_array_replace(struct r5_array *a, uint32_t slot, const char *path, char *err, size_t errlen);
/* The slot whose member is the file st describes (same device and inode),
 * or -1. */
int r5_array_slot_of_file(struct r5_array *a, const struct stat *st);
/* The same with a spare's file (spares.c), which holds zeros, not a superblock. */
int r5_array_replace_spare(struct r5_array *a, uint32_t slot, const char *path, char *err,
			   size_t errlen);

/* spares.c */
void r5_spares_init(struct r5_spares *sp);
void r5_spares_destroy(struct r5_spares *sp);
/* Checks the file (absolute path; a new one is created sparse, 0600, at
 * the members' size) and keeps it as a spare; nothing changes when it is
 * refused (reason in err). */
int r5_array_spare_add(struct r5_array *a, const char *path, char *err, size_t errlen);
int r5_array_spare_remove(struct r5_array *a, const char *path, char *err, size_t errlen);
/* Assembly: a spare given at mount that the members list. */
int r5_spares_adopt(struct r5_array *a, const char *path, const uint8_t uuid[16]);
/* Start: the members' list becomes the spares given (a spare not given at
 * this mount is no longer one). */
void r5_spares_start(struct r5_array *a);
/* A copy of the spares' paths (R5_MAX_SPARES at most). */
void r5_spares_list(struct r5_array *a, char (*out)[PATH_MAX], unsigned *n);
/* The monitor's turn: a failed slot and a spare: the spare takes it over. */
void r5_spares_take_over(struct r5_array *a);

#endif
