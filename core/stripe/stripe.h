/* stripe.h - the stripe engine's interface for the layers above it (sync,
 * array). How the engine works is in private/stripe_internal.h.
 *
 * The engine turns image requests, cut into per-strip segments, into member
 * I/O and parity work, with a write-back cache of stripe_heads. It reaches
 * the members through the member set (below it) and reports sync progress
 * upwards only through the hooks it is given (r5_cache_set_sync_hooks).
 */
#ifndef RAID5FS_CORE_STRIPE_H
#define RAID5FS_CORE_STRIPE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "raid5fs/layout.h"

struct r5_members;
struct r5_bitmap;
struct r5_cache;

#define R5_MIN_STRIPES 64
#define R5_MAX_STRIPES 65536
#define R5_MIN_STRIP (4u * 1024)
#define R5_MAX_STRIP (256u * 1024)

/* Per-stripe sync work that the sync thread asks for (r5_stripe_sync). */
enum r5_sync_action {
	R5_SYNC_IDLE = 0,
	R5_SYNC_RESYNC,  /* parity recomputed from data where the bitmap is dirty */
	R5_SYNC_RECOVER, /* rebuild one member from the others */
	R5_SYNC_CHECK,   /* count parity mismatches, change nothing */
	R5_SYNC_REPAIR,  /* count and rewrite mismatched parity */
};

/* One user request (an image read or write), split over stripes. */
struct r5_req {
	pthread_mutex_t lock; /* protects pending and error */
	pthread_cond_t done;  /* signalled when pending reaches 0 */
	uint32_t pending;     /* segments not completed yet */
	int error;            /* first error (negative errno), 0 if none */
};

/* The part of a request that falls in one page of one stripe. */
struct r5_seg {
	struct r5_seg *next;      /* on the stripe's pending lists; sh->lock */
	struct r5_req *req;       /* NULL for a bounced write (acknowledged already) */
	uint8_t *buf;             /* the user's bytes (read into / written from) */
	uint32_t off, len;        /* inside the page */
	struct r5_bounce *bounce; /* the bounce buffer that holds buf, or NULL */
};

/* What the engine asks of the sync layer above it. Called with the
 * stripe's lock held: they must not take any engine lock. */
struct r5_stripe_hooks {
	void *ctx;
	/* Is the rebuilding member's page of stripe `sector` valid? */
	bool (*rebuilt)(void *ctx, uint64_t sector);
	/* The sync work flagged on a stripe is finished. */
	void (*sync_done)(void *ctx, uint64_t sector, bool mismatch, int error);
};

/* Counters and sizes for status. */
struct r5_cache_info {
	uint32_t nr_stripes, strip_size, nr_members, nr_workers, nr_io_workers;
	uint32_t active, inactive, handle, delayed;     /* stripes by list now */
	uint64_t hits, misses, waits, rmw, rcw, delayed_total, prereads, writebacks,
		computes, bounced, csum_refreshed, lost, direct_rows;
};

/* A cache of nr_stripes stripes of strip_size bytes per member over the
 * member set, with the geometry g; parity in regions the bitmap calls
 * pending resync is never trusted for read-modify-write. */
int r5_cache_create(struct r5_members *ms, struct r5_bitmap *bm, const struct r5_geometry *g,
		    uint32_t nr_stripes, uint32_t strip_size, struct r5_cache **out);
void r5_cache_destroy(struct r5_cache *c);
void r5_cache_set_sync_hooks(struct r5_cache *c, const struct r5_stripe_hooks *hooks);
/* Turns the partial parity log on (before the workers start): partial row
 * updates are written back only after their record (stripe_internal.h).
 * 0 or -ENOMEM. */
struct r5_ppl;
int r5_cache_set_ppl(struct r5_cache *c, struct r5_ppl *ppl);
/* Gives the engine the in-use map (before the workers start; NULL: none):
 * recovery writes zeros for a row in an unused unit instead of reading the
 * others (core/metadata/usemap.h). */
struct r5_usemap;
void r5_cache_set_usemap(struct r5_cache *c, struct r5_usemap *u);
/* nr_workers run everything; nr_io_workers only member reads (they block
 * in reads so the workers do not have to). */
int r5_workers_start(struct r5_cache *c, uint32_t nr_workers, uint32_t nr_io_workers);
void r5_workers_stop(struct r5_cache *c);
uint32_t r5_cache_strip_size(const struct r5_cache *c);
uint32_t r5_cache_nr_stripes(const struct r5_cache *c);
void r5_cache_get_info(struct r5_cache *c, struct r5_cache_info *out);

/* Requests. A thread attaching the segments of one request brackets them
 * with plug/unplug (md's plug): delayed stripes are not released while
 * requests are being attached. */
void r5_cache_plug(struct r5_cache *c);
void r5_cache_unplug(struct r5_cache *c);
/* Attaches a segment for member `dev` of stripe `sector`. */
void r5_stripe_attach(struct r5_cache *c, uint64_t sector, uint32_t dev, struct r5_seg *seg,
		      bool write);
/* true if a stripe over member bytes [off, off+len) has work pending or
 * dirty pages: those bytes must go through the cache rather than bypass
 * it. len > 0. */
bool r5_stripes_busy(struct r5_cache *c, uint64_t off, uint64_t len);
/* Whole rows written around the cache (stripe_direct.c): the image bytes
 * of rows [row, row + nrows), in image order at buf, go straight to the
 * members with the parity computed here, for as many leading rows as it
 * can claim every stripe of (none busy: see r5_stripe_try_claim); strips
 * the log holds an older record of get a page-less record first. Returns
 * how many leading rows it stored (0 when the first must go through the
 * cache: a member not in sync, a stripe busy, the pool short, more than
 * R5_DIRECT_MAX_STRIPES stripes asked for), or -EIO when the array failed
 * meanwhile. */
#define R5_DIRECT_MAX_STRIPES 128
int r5_cache_write_rows(struct r5_cache *c, const uint8_t *buf, uint64_t row, uint32_t nrows);
void r5_req_init(struct r5_req *req, uint32_t pending);
int r5_req_wait(struct r5_req *req);
void r5_req_destroy(struct r5_req *req);
/* A segment holding a copy of len bytes of src in a bounce buffer, already
 * acknowledged (see BOUNCED WRITES), or NULL when the pool is empty. */
struct r5_seg *r5_bounce_seg(struct r5_cache *c, const void *src, uint32_t len);

/* Writes back every stripe dirty when called; -EIO if an acknowledged
 * (bounced) write was lost since the last flush. */
int r5_cache_flush(struct r5_cache *c);

/* Asks for sync work on one stripe; the stripe's completion is reported
 * through hooks->sync_done. target is the slot for RECOVER, else -1. */
void r5_stripe_sync(struct r5_cache *c, uint64_t sector, int action, int target);

#endif
