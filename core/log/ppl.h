/* ppl.h - the partial parity log: what closes the RAID-5 write hole
 * (docs/write-hole.md; byte layout in include/raid5fs/ppl.h).
 *
 * Layer: above the member set, below the stripe engine. The engine asks,
 * before it writes back a row that an update changes only in part, for a
 * record of the row's partial parity (r5_ppl_submit) and writes the row
 * back only once the record is durable (io->done). Each member's log holds
 * the records of the rows whose parity it holds, written by one writer
 * thread per slot that puts every record waiting at that moment into one
 * group: one durable write (RWF_DSYNC, that range only) for many rows.
 *
 * A record is needed until the row it covers is written back and synced.
 * The log of a member is a ring in two halves, each with its own log id in
 * the log header. The writer fills one half; when a group no longer fits,
 * it moves to the other, which can be reused once every row logged there
 * has been written back (r5_ppl_written) and the members have been synced
 * since: the syncer thread starts that sync as soon as a full half's rows
 * are all written back, so the writer rarely waits. Reusing a half gives it
 * a new id: its older groups no longer count. A row written whole needs no
 * record, unless a record of it is in the ring (r5_ppl_row_logged):
 * replaying that older record after a crash would be wrong, so the full
 * write gets a record without a page.
 *
 * NOT YET DURABLE. A record says: the blocks it does not name hold, on
 * their members, what its partial parity was made of. A block written back
 * by an earlier update of the row is on its member only once the members
 * have been synced since (r5_members_sync_gen). So each slot remembers the
 * blocks of its rows written back and not yet synced, and the writer adds
 * them to a record of the same row (their pages are taken out of its
 * partial parity). Should that memory fill up, the writer syncs the members
 * before its next record instead.
 *
 * Recovery (r5_ppl_recover) runs at a dirty start before anything else
 * touches the members.
 */
#ifndef RAID5FS_CORE_PPL_H
#define RAID5FS_CORE_PPL_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "raid5fs/layout.h"

struct r5_members;
struct r5_ppl;

/* A record request, embedded in the stripe head that makes it. */
struct r5_ppl_io {
	struct r5_list node;   /* on the slot's pending list (slot lock) */
	uint64_t stripe;       /* member data offset / strip size */
	uint32_t changed;      /* slots whose block of the row the update writes */
	bool full;             /* every data block changes: no page */
	/* The row's pages (data and parity, one per slot, strip size bytes)
	 * as they will be written, and the partial parity of the update:
	 * owned by the log until done. The writer may widen the record (see
	 * "not yet durable" above) and then changes pp. */
	uint8_t *pp;
	uint8_t *const *pages;
	uint8_t half;          /* the half of the ring it went to (the writer's) */
	uint64_t wb_gen;       /* members' sync generation when its write-back ended */
	/* Called by the writer thread, no log lock held: 0 once the record is
	 * durable; -errno when the parity member could not take it (it has
	 * then been failed, and the row needs no record any more). */
	void (*done)(struct r5_ppl_io *io, int error);
};

struct r5_ppl_stats {
	uint64_t records;      /* records made durable */
	uint64_t full_records; /* of those, without a page */
	uint64_t groups;       /* durable writes */
	uint64_t bytes;
	uint64_t switches;     /* moves to the other half of a ring */
	uint64_t switch_syncs; /* ... that had to sync the members themselves */
	uint64_t syncs;        /* background syncs of the members */
};

/* A log for every slot of ms (started by r5_ppl_start). 0 or -ENOMEM. */
int r5_ppl_create(struct r5_members *ms, const struct r5_geometry *g, uint32_t strip_size,
		  const uint8_t array_uuid[16], struct r5_ppl **out);
/* Starts every present member's log afresh (durable), then the writer
 * threads. A member whose log cannot be written is failed. 0 or -errno. */
int r5_ppl_start(struct r5_ppl *l);
/* Stops the writers (nothing may be pending: flush the cache first) and
 * frees the log. NULL is fine. */
void r5_ppl_destroy(struct r5_ppl *l);

/* Queues a record on the log of slot (the row's parity member). */
void r5_ppl_submit(struct r5_ppl *l, uint32_t slot, struct r5_ppl_io *io);
/* Does slot's ring hold a record of this stripe since its last fresh start? */
bool r5_ppl_row_logged(struct r5_ppl *l, uint32_t slot, uint64_t stripe);
/* The blocks io->changed of row io->stripe, whose parity is on slot, have
 * been written back (after the record io, logged, or without one). Until the members are
 * synced they are remembered as not yet durable. */
void r5_ppl_written(struct r5_ppl *l, uint32_t slot, const struct r5_ppl_io *io, bool logged);
void r5_ppl_get_stats(struct r5_ppl *l, struct r5_ppl_stats *out);

/* ---- recovery (ppl_recover.c) ---- */
struct r5_ppl_recovery {
	uint64_t records;  /* valid records found */
	uint64_t replayed; /* rows whose parity was set from a record */
	uint64_t skipped;  /* rows left as they were: a block being written is missing */
};
/* Replays the records of every present member's log: each row's parity is
 * set from its newest record and the changed blocks as the members hold
 * them (in the strips of the run that wrote the log). valid_below[s]: member offset below which slot s holds valid data
 * (UINT64_MAX in sync, the recovery checkpoint when rebuilding, 0
 * missing). Syncs the members at the end. 0 or -errno (the array failed). */
int r5_ppl_recover(struct r5_members *ms, const struct r5_geometry *g, const uint8_t array_uuid[16],
		   const uint64_t *valid_below, struct r5_ppl_recovery *out);

#endif
