/* ppl_internal.h - the partial parity log's state, shared by its writers
 * (ppl_log.c) and the memory of rows it keeps (ppl_rows.c). The design is
 * in ppl.h. */
#ifndef RAID5FS_CORE_PPL_INTERNAL_H
#define RAID5FS_CORE_PPL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "ppl.h"
#include "raid5fs/layout.h"
#include "raid5fs/ppl.h"

/* Rows remembered per ring (r5_ppl_row_logged); a ring that has logged
 * this many since its fresh start is started afresh like a full one. */
#define R5_PPL_LOGGED_MAX 4096u
#define R5_PPL_HASH (2 * R5_PPL_LOGGED_MAX) /* open addressing, power of two */
/* Rows written back and not yet synced, remembered per slot (ppl.h, "not
 * yet durable"); beyond that, the writer syncs before its next record. */
#define R5_PPL_UNSYNCED_MAX 16384u
#define R5_PPL_UNSYNCED_HASH (2 * R5_PPL_UNSYNCED_MAX)

struct unsynced_row {
	uint64_t key;  /* stripe + 1; 0: empty */
	uint32_t mask; /* blocks written back */
	uint64_t gen;  /* sync count when last written back: durable once done > gen */
};

/* One half of a slot's ring. */
struct ppl_half {
	uint64_t id;              /* its log id (writer; in the header) */
	uint32_t unwritten;       /* rows logged here, not yet written back; slot lock */
	uint64_t last_gen;        /* sync count started at the last such write-back; slot lock */
	bool closed;              /* the writer has moved on to the other half; slot lock */
	uint64_t *logged;         /* R5_PPL_HASH stripes + 1 (0 = empty) logged here; slot lock */
	uint32_t nr_logged;
};

struct r5_ppl_slot {
	pthread_mutex_t lock;     /* pending, the halves' counts and sets, unsynced, stopping */
	pthread_cond_t cond;      /* the writer waits here for records / written rows */
	struct r5_list pending;   /* r5_ppl_io waiting for the writer */
	struct ppl_half half[2];
	struct unsynced_row *unsynced, *spare; /* R5_PPL_UNSYNCED_HASH each */
	uint32_t nr_unsynced;
	uint64_t purged_at;       /* sync count done at the last purge */
	bool overflow;            /* a row could not be remembered ... */
	uint64_t overflow_gen;    /* ... when the sync count started was this */
	bool stopping;
	/* the writer's own (no lock): */
	pthread_t thread;
	bool running;
	bool started;             /* the log has been started on this member */
	uint8_t member_uuid[16];  /* ... which is this one */
	uint32_t cur;             /* the half being written */
	uint64_t seq;
	uint64_t head;            /* member offset where the next group goes */
	uint64_t reserved_offset, ring_start, half_len;
	uint8_t *block;           /* 4 KiB: the header being written */
	struct r5_ppl_group group;
};

struct r5_ppl {
	struct r5_members *ms;
	struct r5_geometry geo;
	uint32_t strip_size;
	uint8_t uuid[16];
	uint32_t nr;
	pthread_mutex_t sync_lock;    /* sync_wanted, sync_stopping */
	pthread_cond_t sync_cond;     /* the syncer waits here */
	bool sync_wanted, sync_stopping;
	pthread_t syncer;
	bool syncer_running;
	atomic_ullong records, full_records, groups, bytes, switches, switch_syncs, syncs;
	struct r5_ppl_slot slot[];
};

/* ppl_rows.c, slot lock held */
/* Is the stripe logged in this half? */
bool r5_ppl_half_logged(const struct ppl_half *h, uint64_t stripe);
/* Remembers that the stripe is logged in this half (the caller keeps
 * nr_logged below R5_PPL_LOGGED_MAX). */
void r5_ppl_half_add(struct ppl_half *h, uint64_t stripe);
/* Drops the rows the slot remembers as not yet durable that are durable
 * now (done: the sync count completed). */
void r5_ppl_unsynced_purge(struct r5_ppl_slot *s, uint64_t done);
/* The blocks of a row not yet durable (0 if none). */
uint32_t r5_ppl_unsynced_mask(struct r5_ppl_slot *s, uint64_t stripe, uint64_t done);
/* ppl_rows.c: asks the syncer (ppl_log.c) for a sync of the members. */
void r5_ppl_want_sync(struct r5_ppl *l);

#endif
