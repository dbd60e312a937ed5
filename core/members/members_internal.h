/* members_internal.h - the member set's state, shared by its files
 * (member_state.c: queries; member_sb.c: failing, superblock updates;
 * member_spares.c, member_notices.c; member_verify.c: the per-block
 * checksums; member_set.c: creating the set, attaching members, I/O,
 * adding a rebuilding member). They call one way, in that order. Nothing outside core/members/ includes it.
 */
#ifndef RAID5FS_CORE_MEMBERS_INTERNAL_H
#define RAID5FS_CORE_MEMBERS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "csum_table.h"
#include "member_set.h"
#include "raid5fs/events.h"

struct r5_slot_stats {
	atomic_ullong reads, writes;            /* member I/O calls */
	atomic_ullong read_bytes, write_bytes;
	atomic_ullong read_errors, write_errors;
	atomic_ullong csum_errors;              /* blocks that failed their checksum */
	atomic_ullong csum_healed;              /* of those, rewritten from the others */
};

struct r5_slot {
	struct r5_member member;      /* ops == NULL once closed or missing; replaced
				       * under sb_lock only while the slot is not present */
	struct r5_superblock sb;      /* this member's superblock; sb_lock */
	atomic_int state;             /* enum r5_slot_state; changes under sb_lock */
	char fail_reason[160];        /* why it is not present; sb_lock */
	struct r5_slot_stats stats;   /* atomics */
	/* this member's checksum table, NULL without checksums; replaced
	 * with the member (under sb_lock, while the slot is not present) */
	struct r5_csum_table *_Atomic csum;
};

#define R5_BAD_BLOCKS_KEPT 64

struct r5_members_csum {
	uint32_t alg;                 /* enum r5_csum_alg of the array */
	struct r5_csum_key *key;      /* hmac-sha256's key, else NULL */
	struct r5_csum_table *retired[R5_MAX_MEMBERS]; /* closed at destroy; sb_lock */
	pthread_mutex_t bad_lock;     /* protects the ring of bad blocks */
	struct r5_bad_block bad[R5_BAD_BLOCKS_KEPT];
	uint64_t nbad;                /* found since mount; ring slot nbad % KEPT */
	/* blocks that failed and have been neither healed nor rewritten
	 * since, each once (bad_lock); more than fit are only counted */
	struct r5_bad_block unhealed[R5_UNHEALED_KEPT];
	atomic_uint nunhealed;        /* written under bad_lock; read without it */
	uint64_t unhealed_dropped;
};

struct r5_members {
	uint32_t nr;                  /* slots in use: the array's N */
	uint64_t data_offset;         /* start of the data area in every member */
	struct r5_slot slot[R5_MAX_MEMBERS];
	struct r5_member retired[R5_MAX_MEMBERS]; /* replaced members, closed at destroy; sb_lock */
	atomic_int nr_failed;         /* slots not IN_SYNC; changes under sb_lock */
	pthread_mutex_t sb_lock;      /* see member_set.h */
	uint64_t events;              /* sb_lock */
	uint32_t array_state;         /* enum r5_array_state as on disk; sb_lock */
	struct r5_members_csum csum;  /* member_verify.c */
	/* syncs of the whole set (r5_members_sync): started, and the highest
	 * number of one that completed (see r5_members_sync_gen) */
	atomic_ullong sync_started, sync_done;
	/* what a person or a program should hear about (events.h); its lock
	 * is taken last, under sb_lock or bad_lock */
	struct r5_events *notices;
	/* the hot spares' member uuids, as every superblock records them
	 * (member_spares.c); sb_lock */
	uint32_t nr_spares;
	uint8_t spare_uuid[R5_MAX_SPARES][16];
};

/* member_verify.c, called by member_io for every data read and write of a
 * slot with a checksum table: checks what was read (0 or -EBADMSG, the
 * buffers filled either way) / sets the entries of what was written.
 * iov is the caller's vector as it was before the I/O. */
int r5_slot_verify(struct r5_members *ms, struct r5_slot *s, const struct iovec *iov, int iovcnt,
		   uint64_t off);
int r5_slot_csum_update(struct r5_slot *s, const struct iovec *iov, int iovcnt, uint64_t off);
/* A successful data write of [off, off+len) on a slot: its blocks are no
 * longer damaged. Cheap when nothing is. */
void r5_members_csum_written(struct r5_members *ms, uint32_t slot, uint64_t off, uint64_t len);
/* Opens the table of a slot's (new) member; the old one is retired. */
int r5_slot_open_csum(struct r5_members *ms, struct r5_slot *s);
/* Writes every present member's superblock with the current state (a
 * member that cannot take it is failed). sb_lock held. */
int r5_members_store_locked(struct r5_members *ms);
/* member_notices.c: the events of a slot that has just failed (sb_lock held). */
void r5_members_notify_failed(struct r5_members *ms, uint32_t slot);
/* Frees the checksum state of the set (destroy). */
void r5_members_csum_destroy(struct r5_members *ms);

#endif
