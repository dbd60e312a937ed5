/* stripe_internal.h - the stripe_head cache, inside the stripe engine
 * (core/stripe/; the layers above see only stripe.h).
 *
 * This is raid5fs's version of md's raid5 stripe cache (docs/architecture.md
 * tells where it came from). Read this comment before touching stripe_*.c.
 *
 * WHAT A STRIPE_HEAD IS
 * A stripe_head ("sh") covers one strip of every member at the same member
 * offset: strip_size bytes per member, sh->sector = member offset / strip.
 * It owns one page (strip_size bytes, 64-byte aligned) per member. The pool
 * is allocated once at start; nothing on the I/O path allocates memory.
 *
 * BLOCK STATE (sh->dev[i].flags, protected by sh->lock)
 *   R5_UPTODATE  the page holds the block's current content (what is on the
 *                member, or newer).
 *   R5_DIRTY     the page is newer than the member and must be written.
 *                A FUSE write is acknowledged once its data is in a page and
 *                the parity page is recomputed: from then on the stripe is
 *                dirty until the write-back completes (write-back cache).
 *   R5_LOCKED    an operation (member I/O or a compute item) owns the page.
 *   R5_WANTREAD/R5_WANTWRITE  chosen by handle_stripe, issued at its end.
 *   R5_OVERWRITE pending writes cover the whole strip: no pre-read needed.
 *   R5_INSYNC    a rebuilding member's page that recovery has written in
 *                this stripe: the member counts as present here from now on.
 *   R5_READERROR a read failed on a degraded array (where failing the
 *                member would fail the array), or the page failed its
 *                checksum (with R5_BADCSUM): the page is unusable for this
 *                pass. If the rest of the row can rebuild it, it is
 *                computed from them like a missing member's; if not, the
 *                requests that needed it fail, and the flag is dropped so
 *                the next request reads again.
 *   R5_BADCSUM   the page failed its checksum on a member that is present:
 *                once rebuilt from the others it is written back (self
 *                heal; a check only counts it), which clears both flags.
 *   R5_POISON    a recovery could not rebuild this page of the new member
 *                (another page of the row failed its checksum): it is
 *                written with an entry that never verifies, so its reads
 *                fail with EIO rather than return the zeros written.
 * Allowed transitions: !UPTODATE -> (read | compute) -> UPTODATE;
 *   UPTODATE -> (drain | reconstruct) -> UPTODATE|DIRTY -> (write) -> UPTODATE.
 * A page is only changed while LOCKED by the one operation that locked it.
 *
 * STRIPE STATE (sh->state, atomic bits) and WORK IN FLIGHT
 *   STRIPE_HANDLE          wants handle_stripe (put puts it on handle/delayed)
 *   STRIPE_DELAYED         a partial write waits for the rest of its row
 *   STRIPE_DELAY_URGENT    ... and a writer waits for it (not only bounced data)
 *   STRIPE_PREREAD_ACTIVE  released from delayed: pre-read now, no more delay
 *   STRIPE_ACTIVE          handle_stripe runs on it (one worker at a time)
 *   STRIPE_FLUSH           a flush waits for its dirty pages (stripe_flush.c)
 * The state is per stripe, not per block (docs/architecture.md, "The stripe_head cache"):
 * handle_stripe looks at the stripe only when nothing is in flight on it
 * (sh->inflight == 0), picks the next step, flags it and returns. It never
 * waits. Steps, in the order stripe_handle.c takes them:
 *   1. two members unusable here: fail every pending request with -EIO;
 *   2. dirty pages: write them back (one I/O work item per member);
 *   3. a sync action flagged by the sync thread (core/sync/sync.h), once no
 *      user request is pending on the stripe: rebuild a page onto a new
 *      member, or check parity (R5_OP_CHECK) and rewrite it for
 *      repair/resync;
 *   4. pending reads/writes whose pages are missing: pre-read them (writes
 *      may be parked on the delayed list first, see below);
 *   5. everything needed is up to date: one compute work item runs, in
 *      order, COMPUTE (rebuild a missing member's page from the others),
 *      PREXOR (P ^= old data, rmw), BIODRAIN (copy writers' data into
 *      pages), BIOFILL (copy pages to readers: after the drain, so a read
 *      never returns data older than a write acknowledged before it),
 *      RECONSTRUCT (rmw: P ^= new data; rcw: P = XOR of all data pages);
 *      a sync check runs CHECK (does the stripe XOR to zero?) alone.
 * Every work item holds one count on the stripe; its completion updates the
 * block flags under sh->lock, sets STRIPE_HANDLE and puts the count, so the
 * stripe comes back to handle_stripe when the last one finishes.
 *
 * RMW OR RCW
 * Per stripe, count the pages each needs that are not up to date: rmw needs
 * the old data of every written block and the old parity; rcw needs every
 * data block that is not completely overwritten. The cheaper wins (rcw on a
 * tie); a full-stripe write needs no read at all. A stripe with a missing
 * member always uses rcw after computing the missing page, so every page is
 * up to date before parity is rebuilt.
 *
 * LISTS
 *   inactive[h]  free stripes of hash partition h, count 0. They stay in the
 *                hash with their pages, so a later access is a cache hit,
 *                until get_active_stripe reuses them (LRU order).
 *   handle       count 0, STRIPE_HANDLE set: a worker will run handle_stripe.
 *   delayed      count 0, wants pre-reads for a partial write: held back so
 *                a following write can complete the stripe (md's delayed
 *                list). Workers move them to handle (setting
 *                STRIPE_PREREAD_ACTIVE) when a writer waits on one of them
 *                and no request is being attached (md's unplug), when
 *                someone waits for a free stripe, on flush, or when the
 *                list has waited R5_LAZY_DELAY_NS (stripes that hold only
 *                bounced, already acknowledged writes).
 *   op_queue     member I/O work items waiting for a worker.
 *   read_queue   member reads waiting for an I/O worker (threads that only
 *                read members, so a read that waits for the disk does not
 *                hold up a worker; writes stay on op_queue).
 * A stripe with count > 0 is on no list.
 *
 * WORKERS, BATCHES AND MERGED MEMBER I/O
 * A worker takes up to R5_HANDLE_BATCH stripes off the handle list at once
 * and runs handle_stripe on each; their work items collect in the worker's
 * plug (md's MAX_STRIPE_BATCH and blk_plug). At the end of the batch the
 * member I/O goes to op_queue sorted by kind, member and sector, and the
 * batch's compute items run in that worker. A worker that pops a member
 * I/O item takes the queued items of the same kind and member whose
 * stripes continue it without a gap (r5_io_gather: the first R5_IO_SCAN
 * entries, at most R5_IO_BATCH_MAX pages or 1 MiB) and does one
 * preadv/pwritev for the run; if that fails, each page is redone alone, so
 * an error lands on the pages it belongs to. With 4 KiB strips this is
 * what turns a stream into 16-64 KiB member calls (sequential write
 * 1 GiB: 115K member writes of 4 KiB before, 38-45K after).
 *
 * REFERENCE COUNT (sh->count, atomic)
 * Whoever uses a stripe holds a count: a FUSE thread while it attaches a
 * request, a worker while it runs handle_stripe, each work item in flight.
 * r5_stripe_put at count 0 puts the stripe on handle, delayed or inactive
 * as its bits say. A writer of whole rows around the cache holds a count
 * on every stripe under them while it writes the members (a claim,
 * r5_stripe_try_claim; stripe_direct.c): what attaches meanwhile waits
 * for its put. 0 -> 1 and 1 -> 0 transitions happen under the stripe's
 * partition lock, or under device_lock for stripes on handle/delayed; other
 * increments and decrements are lock-free.
 *
 * RUNNING OUT OF STRIPES (docs/architecture.md)
 * A get that finds its partition's inactive list empty marks the partition
 * blocked and sleeps until the list is non-empty AND fewer than 3/4 of the
 * partition is active (or it was never blocked). Without this hysteresis
 * each freed stripe wakes one waiter and the cache thrashes. The rule is
 * applied per partition so that all its state lives under one lock.
 *
 * THE PARTIAL PARITY LOG (core/log/ppl.h, docs/write-hole.md)
 * With the log on, a compute item that drains writes also computes the
 * row's partial parity into sh->pp (the XOR of the data pages it leaves
 * unchanged) and sets sh->log_state NEEDED. Step 2 then asks the log for a
 * record before the first write-back (QUEUED, one count and one inflight
 * held), and writes the row back once the record is durable (DONE ->
 * WRITING). A row written whole needs no record (UNLOGGED) unless the log
 * holds an older one of it. When the write-back is over, the log is told
 * which blocks went out (r5_ppl_written), and the state is NONE again.
 * stripe_log.c holds these steps.
 *
 * LOCKS, in the order they are taken:
 *   cache->flush_serial    one flush at a time
 *   part[h].lock           hash chains and inactive list of partition h,
 *                          part[h] counters; stripe sectors with
 *                          sector % R5_NR_PARTITIONS == h live here
 *   cache->device_lock     handle, delayed, op_queue, read_queue, worker wakeups
 *   sh->lock               block flags, pending segments, sh->ops, inflight
 *   cache->flush_lock      flush_pending
 *   req->lock              a request's pending count and error
 *   cache->bounce_lock     the bounce pool's free list (leaf)
 *   a log slot's lock      leaf (core/log): taken under sh->lock by the
 *                          log steps; the log calls back with none held
 *   sync lock              leaf: sync window and checkpoint, taken by the
 *                          hooks under sh->lock (core/sync/sync.c)
 * The member set's sb_lock and the bitmap's lock are never taken with a
 * cache lock held: a worker that fails a member does it with no lock held.
 * Eight partitions: with two cores, a FUSE thread and a worker rarely want
 * the same one, and eight keeps each partition's pool large enough for the
 * 3/4 rule to mean something with the smallest cache (64 stripes).
 */
#ifndef RAID5FS_CORE_STRIPE_INTERNAL_H
#define RAID5FS_CORE_STRIPE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "member_set.h"
#include "ppl.h"
#include "raid5fs/layout.h"
#include "stripe.h"
#include "usemap.h"

#define R5_NR_PARTITIONS 8
#define R5_SECTOR 512u /* granularity of overwrite tracking */

/* block flags: sh->dev[i].flags */
enum {
	R5_UPTODATE = 1u << 0,
	R5_DIRTY = 1u << 1,
	R5_LOCKED = 1u << 2,
	R5_WANTREAD = 1u << 3,
	R5_WANTWRITE = 1u << 4,
	R5_OVERWRITE = 1u << 5,
	R5_INSYNC = 1u << 6,    /* a rebuilding member's page rebuilt in this stripe */
	R5_READERROR = 1u << 7, /* read failed on a degraded array: unusable this pass */
	R5_BADCSUM = 1u << 8,   /* failed its checksum: rebuild, then write back */
	R5_POISON = 1u << 9,    /* recovery could not rebuild it: written so it never verifies */
};

/* stripe bits: sh->state */
enum {
	STRIPE_HANDLE = 1u << 0,
	STRIPE_DELAYED = 1u << 1,
	STRIPE_PREREAD_ACTIVE = 1u << 2,
	STRIPE_ACTIVE = 1u << 3,
	STRIPE_FLUSH = 1u << 4,
	STRIPE_DELAY_URGENT = 1u << 5, /* delayed, and a writer waits for it */
};

/* compute steps of one compute work item: sh->ops.request */
enum {
	R5_OP_BIOFILL = 1u << 0,
	R5_OP_COMPUTE = 1u << 1,
	R5_OP_PREXOR = 1u << 2,
	R5_OP_BIODRAIN = 1u << 3,
	R5_OP_RECONSTRUCT = 1u << 4,
	R5_OP_CHECK = 1u << 5, /* sync: does the stripe XOR to zero? */
};

/* the partial parity log's steps for a stripe: sh->log_state */
enum r5_log_state {
	R5_LOG_NONE = 0,
	R5_LOG_NEEDED,   /* a drain changed blocks: decide on a record before write-back */
	R5_LOG_QUEUED,   /* the record is being made durable */
	R5_LOG_DONE,     /* it is: write back */
	R5_LOG_WRITING,  /* write-back after a record */
	R5_LOG_UNLOGGED, /* write-back without a record */
};

/* which list a stripe with count 0 is on */
enum r5_stripe_list { R5_LIST_NONE, R5_LIST_INACTIVE, R5_LIST_HANDLE, R5_LIST_DELAYED };

/* BOUNCED WRITES
 * FUSE sends the writes of one file one at a time, and a writer waits for
 * its request to be in the cache. A request that covers only part of a
 * stripe row at its edges would wait for pre-reads there, although the
 * next request usually completes the row. So a write segment in a row the
 * request does not cover completely is copied into a bounce buffer from a
 * fixed pool and acknowledged at once; the stripe then waits on the delayed
 * list like any partial write, and usually gets the rest of its data
 * before any pre-read. Bounced data counts as dirty for flush (sh->nr_bounced),
 * and a bounced write that can no longer be stored is reported by the next
 * flush (-EIO), like the kernel's writeback errors. When the pool is empty
 * the writer simply waits, as without bouncing. */
struct r5_bounce {
	struct r5_seg seg;
	uint8_t *page;                 /* strip_size bytes */
	struct r5_bounce *next_free;   /* cache->bounce_lock */
};

enum r5_work_kind { R5_WORK_COMPUTE, R5_WORK_READ, R5_WORK_WRITE };

/* A unit of work for the worker pool, embedded in the stripe (one compute
 * item per stripe, one I/O item per member), so queueing never allocates. */
struct r5_work {
	struct r5_list node;     /* on cache->op_queue, protected by device_lock */
	struct stripe_head *sh;
	uint8_t kind;            /* enum r5_work_kind */
	uint8_t dev;             /* member index for I/O */
	bool poison;             /* a write of an R5_POISON page (set when issued) */
};

struct r5_dev {
	uint8_t *page;           /* strip_size bytes, 64-byte aligned */
	uint32_t flags;          /* R5_* block flags; sh->lock */
	struct r5_seg *toread;   /* pending reads; sh->lock */
	struct r5_seg *towrite;  /* pending writes, oldest first; sh->lock */
	struct r5_seg **towrite_tail;
	uint64_t *cover;         /* 512-byte sectors covered by towrite; sh->lock */
	int io_result;           /* result of the last I/O item (worker -> completion) */
	struct r5_work io;       /* this member's I/O work item */
};

/* What the running compute item does; set by handle_stripe under sh->lock,
 * then owned by the work item until it completes. */
struct r5_ops {
	uint32_t request;          /* R5_OP_* bits */
	bool rmw;                  /* RECONSTRUCT as rmw (else rcw) */
	int target;                /* member computed by R5_OP_COMPUTE */
	struct r5_seg *fill[R5_MAX_MEMBERS];   /* reads served by BIOFILL, per member */
	struct r5_seg *drain[R5_MAX_MEMBERS];  /* writes drained by BIODRAIN, per member */
	bool check_zero;           /* result of R5_OP_CHECK */
};

struct stripe_head {
	struct stripe_head *hash_next; /* hash chain; part[hash_idx].lock */
	struct r5_list lru;            /* inactive/handle/delayed node */
	atomic_uchar on_list;          /* enum r5_stripe_list; changed under the lock of
	                                * the list it leaves or joins; "is it INACTIVE"
	                                * is stable under the partition lock */
	uint8_t hashed;                /* in the hash; part lock */
	uint8_t hash_idx;              /* partition, fixed at allocation */
	uint64_t sector;               /* stripe number; part lock */
	atomic_uint count;             /* reference count, see above */
	atomic_uint state;             /* STRIPE_* bits */
	pthread_mutex_t lock;          /* see LOCKS above */
	uint32_t inflight;             /* work items in flight; sh->lock */
	uint32_t nr_bounced;           /* bounced writes not yet drained; sh->lock */
	uint32_t pd_idx;               /* parity member of this stripe; set at init */
	struct r5_ops ops;             /* sh->lock, then the compute item */
	uint8_t sync_action;           /* enum r5_sync_action flagged by the sync thread; sh->lock */
	uint8_t sync_phase;            /* progress of that action on this stripe; sh->lock */
	bool sync_mismatch;            /* parity did not match (check/repair/resync); sh->lock */
	int8_t sync_target;            /* slot rebuilt by R5_SYNC_RECOVER; sh->lock */
	struct r5_work compute;        /* the compute work item */
	uint8_t log_state;             /* enum r5_log_state; sh->lock */
	uint32_t log_changed;          /* blocks the last drain changed; sh->lock */
	uint8_t *pp;                   /* partial parity page (log on), else NULL */
	struct r5_ppl_io log_io;       /* the record request; the log's while QUEUED */
	uint8_t *log_pages[R5_MAX_MEMBERS]; /* dev[i].page, for log_io */
	struct r5_cache *cache;
	struct r5_dev dev[];           /* nr_members entries */
};

/* One hash partition. */
struct r5_partition {
	pthread_mutex_t lock;          /* everything in this struct + its hash chains */
	pthread_cond_t wait_for_stripe;
	struct r5_list inactive;       /* free stripes, LRU first */
	uint32_t size;                 /* stripes in this partition */
	uint32_t active;               /* stripes not on inactive */
	uint32_t waiters;              /* threads sleeping in get */
	bool blocked;                  /* ran dry: hysteresis in force */
};

struct r5_cache_stats {
	atomic_ullong hits, misses;    /* get_active_stripe found / took a stripe */
	atomic_ullong waits;           /* gets that had to sleep for a free stripe */
	atomic_ullong rmw, rcw;        /* parity updates by method */
	atomic_ullong full_stripe;     /* rcw with no pre-read */
	atomic_ullong delayed;         /* stripes parked on the delayed list */
	atomic_ullong prereads;        /* member reads issued by handle_stripe */
	atomic_ullong writebacks;      /* member writes issued */
	atomic_ullong computes;        /* pages rebuilt from parity */
	atomic_ullong bounced;         /* write segments acknowledged from a bounce buffer */
	atomic_ullong csum_refreshed;  /* entries set from the data after an unclean stop */
	atomic_ullong lost;            /* pages a recovery could not rebuild (R5_POISON) */
	atomic_ullong direct_rows;     /* rows written around the cache (stripe_direct.c) */
};

struct r5_cache {
	struct r5_members *members;    /* the member set (below): I/O, slot states, failing */
	struct r5_bitmap *bitmap;      /* regions whose parity awaits resync */
	struct r5_ppl *ppl;            /* the partial parity log, or NULL; set before workers */
	struct r5_usemap *usemap;      /* units that may hold data, or NULL; set before workers */
	uint8_t *pp_pages;             /* every stripe's sh->pp, one allocation */
	struct r5_geometry geo;        /* copy of the array's geometry */
	struct r5_stripe_hooks hooks;  /* sync layer above; set before workers start */
	uint32_t nr_members;
	uint32_t strip_size;
	uint32_t nr_stripes;
	uint32_t strips_per_chunk;
	uint32_t cover_words;          /* uint64_t words per dev->cover */
	struct stripe_head **pool;     /* nr_stripes stripes */
	uint8_t *pages;                /* every stripe's pages, one allocation */
	uint64_t *cover;               /* every dev's cover words, one allocation */
	struct stripe_head **hash;     /* hash_size buckets, partitioned by bucket % R5_NR_PARTITIONS */
	uint32_t hash_size;
	struct r5_partition part[R5_NR_PARTITIONS];

	pthread_mutex_t device_lock;   /* handle, delayed, op_queue, stopping, idle workers */
	pthread_cond_t work_cond;      /* workers sleep here */
	pthread_cond_t io_cond;        /* I/O workers sleep here (read_queue only) */
	struct r5_list handle_list;
	struct r5_list delayed_list;
	struct r5_list op_queue;       /* member I/O for the workers */
	struct r5_list read_queue;     /* member reads for the I/O workers */
	uint32_t nr_delayed;
	uint32_t nr_delayed_urgent;    /* of those, with STRIPE_DELAY_URGENT */
	uint64_t delayed_since_ns;     /* when the delayed list last became non-empty */
	bool stopping;
	atomic_uint plugged;           /* requests being attached right now (md's plug) */
	atomic_uint get_waiters;       /* threads waiting for a free stripe */

	pthread_t *workers;            /* nr_workers, then nr_io_workers */
	uint32_t nr_workers;
	uint32_t nr_io_workers;
	uint32_t workers_started;

	pthread_mutex_t flush_serial;  /* one flush at a time */
	pthread_mutex_t flush_lock;    /* flush_pending */
	pthread_cond_t flush_cond;
	uint32_t flush_pending;        /* STRIPE_FLUSH stripes still dirty */

	pthread_mutex_t bounce_lock;   /* bounce_free */
	struct r5_bounce *bounce_free;
	struct r5_bounce *bounces;     /* nr_bounce entries */
	uint8_t *bounce_pages;
	uint32_t nr_bounce;
	atomic_ullong lost_writes;     /* bounced writes that could not be stored */
	uint64_t lost_reported;        /* lost_writes at the last flush; flush_serial */

	struct r5_cache_stats stats;
};

/* The slots holding data in a stripe whose parity is on slot pd. */
static inline uint32_t
r5_data_slots(const struct r5_cache *c, uint32_t pd)
{
	return ((1u << c->nr_members) - 1) & ~(1u << pd);
}

/* Inside the engine; the functions the layers above call are in stripe.h. */

/* stripe_cache.c: pool, hash, lists, reference counts */
struct stripe_head *r5_stripe_get(struct r5_cache *c, uint64_t sector);
void r5_stripe_put(struct stripe_head *sh);
/* The stripe of `sector` for a writer that overwrites every member under
 * it (stripe_direct.c): taken with count 1 only if no one uses it and it
 * holds no work or dirty page, its pages forgotten; NULL, without waiting,
 * if it is busy or a free stripe is not at hand (3/4 of the partition
 * in use, the partition blocked, or someone waiting). r5_stripe_put gives it back. */
struct stripe_head *r5_stripe_try_claim(struct r5_cache *c, uint64_t sector);
/* Counts for status and tests: stripes active, on inactive, handle, delayed. */
void r5_cache_counts(struct r5_cache *c, uint32_t *active, uint32_t *inactive,
		     uint32_t *handle, uint32_t *delayed);

/* stripe_request.c: attach request segments to a stripe */
void r5_stripe_add_read(struct stripe_head *sh, int dev, struct r5_seg *seg);
void r5_stripe_add_write(struct stripe_head *sh, int dev, struct r5_seg *seg);
void r5_req_complete(struct r5_req *req, int error);
/* Completes one segment: its request, or its bounce buffer. */
void r5_seg_done(struct r5_cache *c, struct r5_seg *seg, int error);

/* Stripes a worker handles in one go (md's MAX_STRIPE_BATCH), and the work
 * they produce, held back until the batch is done (md's blk_plug): the
 * member I/O then reaches the queue sorted, so that adjacent pages of
 * adjacent stripes become one preadv/pwritev. */
#define R5_HANDLE_BATCH 16
struct r5_plug {
	uint32_t n;
	struct r5_work *items[R5_HANDLE_BATCH * (R5_MAX_MEMBERS + 1)];
};

/* stripe_handle.c: the state machine; its work items go to plug */
void r5_handle_stripe(struct stripe_head *sh, struct r5_plug *plug);

/* stripe_cache.c: the delayed list */
/* Moves every delayed stripe to the handle list now (flush). */
void r5_cache_kick_delayed(struct r5_cache *c);
/* The same with device_lock held (workers releasing the list). */
void r5_cache_activate_delayed(struct r5_cache *c);
/* Wakes a worker to look at the delayed list (after unplug, or when a
 * thread waits for a free stripe). */
void r5_cache_poke_delayed(struct r5_cache *c);

/* stripe_log.c: the partial parity log's steps (see above) */
/* Compute item, after RECONSTRUCT of a drain: the blocks it changed, and
 * their partial parity in sh->pp unless every data block changed. */
uint32_t r5_log_partial_parity(struct stripe_head *sh);
/* Step 2, sh->lock held: true when the stripe must first wait for a record
 * (then call r5_log_submit once sh->lock is dropped). */
bool r5_log_before_writeback(struct stripe_head *sh);
void r5_log_submit(struct stripe_head *sh);
/* sh->lock held, no page dirty: a write-back is over; tells the log. */
void r5_log_after_writeback(struct stripe_head *sh);
/* sh->lock held: the array failed under the stripe, forget the step. */
void r5_log_abandon(struct stripe_head *sh);

/* stripe_ops.c: runs a stripe's compute item (sh->ops) and completes it. */
void r5_run_compute(struct stripe_head *sh);

/* stripe_io.c: member I/O items */
/* Runs a plug's compute items here and queues its member I/O, sorted. */
void r5_plug_flush(struct r5_cache *c, struct r5_plug *plug);
/* device_lock held (dropped while the I/O runs): runs the first item of
 * queue with the run of adjacent items merged into it, after waking the
 * next thread sleeping on cond if work is left. False if queue is empty. */
bool r5_io_run_queued(struct r5_cache *c, struct r5_list *queue, pthread_cond_t *cond);

/* stripe_flush.c */
/* Tells a waiting flush when the stripe has no dirty page left. sh->lock held. */
void r5_stripe_check_clean(struct stripe_head *sh);

static inline bool
r5_test_bit(atomic_uint *v, unsigned bit)
{
	return (atomic_load(v) & bit) != 0;
}
static inline void
r5_set_bit(atomic_uint *v, unsigned bit)
{
	atomic_fetch_or(v, bit);
}
static inline void
r5_clear_bit(atomic_uint *v, unsigned bit)
{
	atomic_fetch_and(v, ~bit);
}
static inline bool
r5_test_and_clear_bit(atomic_uint *v, unsigned bit)
{
	return (atomic_fetch_and(v, ~bit) & bit) != 0;
}
static inline bool
r5_test_and_set_bit(atomic_uint *v, unsigned bit)
{
	return (atomic_fetch_or(v, bit) & bit) != 0;
}

#endif
