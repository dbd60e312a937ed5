/* member_set.h - the member set: which member file sits in which slot, what
 * the engine thinks of it, I/O on its data area with accounting, failing a
 * slot, and every change that is recorded in the superblocks (events, the
 * array state, checkpoints). md's rdev layer.
 *
 * Layer: above the backend (r5_member) and the on-disk metadata
 * (superblock), below the stripe engine. Nothing here calls upwards.
 *
 * Slot states and who changes them (always under sb_lock, recorded in the
 * superblocks with events + 1):
 *   IN_SYNC -> FAULTY       r5_members_fail (I/O error, deleted file, "fail")
 *   MISSING                 at assembly, never changes while running
 *   FAULTY|MISSING -> REBUILDING   r5_members_add_rebuilding (replace)
 *   REBUILDING -> IN_SYNC   r5_members_rebuilt (recovery finished)
 *   REBUILDING -> FAULTY    r5_members_fail
 * nr_failed counts slots not IN_SYNC; more than one means the array failed.
 *
 * Locks: sb_lock protects the superblocks, events, the array state, slot
 * state changes, fail reasons and retired members. It is a leaf towards the
 * stripe cache (never taken with a cache lock held) and is taken after the
 * safe-mode lock (core/array/array_internal.h). Slot state is atomic so that
 * the I/O paths read it without the lock.
 */
#ifndef RAID5FS_CORE_MEMBER_SET_H
#define RAID5FS_CORE_MEMBER_SET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "raid5fs/checksum.h"
#include "raid5fs/member.h"
#include "raid5fs/superblock.h"

enum r5_slot_state {
	R5_SLOT_IN_SYNC = 0, /* member present and trusted */
	R5_SLOT_FAULTY,      /* failed while running; not used any more */
	R5_SLOT_MISSING,     /* no member at assembly */
	R5_SLOT_REBUILDING,  /* replacement: valid below the recovery checkpoint */
};

/* A copy of one slot for status and tests. */
struct r5_slot_info {
	enum r5_slot_state state;
	char path[PATH_MAX];
	char reason[160];                   /* why it is not present; "" if it is */
	uint64_t reads, writes;             /* member I/O calls */
	uint64_t read_bytes, write_bytes;
	uint64_t read_errors, write_errors;
	uint64_t csum_errors, csum_healed;  /* blocks that failed their checksum, healed */
};

/* A block that failed its checksum (status keeps the last few). */
struct r5_bad_block {
	uint32_t slot;
	uint64_t member_offset; /* in the data area */
	uint64_t image_offset;  /* UINT64_MAX: a parity block */
	bool healed;            /* rewritten from the other members */
};

struct r5_members;

/* An empty set of nr slots (all MISSING until attached) whose data areas
 * start at data_offset; events and array_state as the newest superblock
 * says. 0 or -ENOMEM. */
int r5_members_create(uint32_t nr, uint64_t data_offset, uint64_t events, uint32_t array_state,
		      struct r5_members **out);
/* Closes every member (retired ones too) and frees the set. NULL is fine. */
void r5_members_destroy(struct r5_members *ms);
/* The array's events (events.h): the set emits member failures, degraded,
 * array-failed and checksum errors; the sync thread the rest. */
struct r5_events *r5_members_notices(struct r5_members *ms);

/* The hot spares' member uuids that every superblock records
 * (member_spares.c): taken from the newest superblock at assembly; set
 * (stored in every member, events + 1) when the array's spares change.
 * -EOPNOTSUPP for an array with version 1 superblocks. */
void r5_members_load_spares(struct r5_members *ms, const struct r5_superblock *sb);
int r5_members_set_spares(struct r5_members *ms, const uint8_t (*uuid)[16], uint32_t n);
bool r5_members_is_spare(struct r5_members *ms, const uint8_t uuid[16]);
uint32_t r5_members_nr_spares(struct r5_members *ms);

/* Assembly: puts an open member in a slot (the set owns it from now on). */
void r5_members_attach(struct r5_members *ms, uint32_t slot, const struct r5_member *m,
		       const struct r5_superblock *sb, enum r5_slot_state state);
/* Assembly: a slot without a usable member; path (may be "") and reason
 * are kept for status. */
void r5_members_set_missing(struct r5_members *ms, uint32_t slot, const char *path,
			    const char *reason);

/* ---- queries: lock-free, for the I/O paths ---- */
uint32_t r5_members_count(const struct r5_members *ms);
enum r5_slot_state r5_members_state(struct r5_members *ms, uint32_t slot);
/* IN_SYNC: read from and trusted. */
bool r5_members_ok(struct r5_members *ms, uint32_t slot);
/* IN_SYNC or REBUILDING: has an open member that takes writes. */
bool r5_members_present(struct r5_members *ms, uint32_t slot);
/* Slots that are not IN_SYNC. */
int r5_members_nr_failed(struct r5_members *ms);
/* More than one member lost: the array can no longer serve. */
bool r5_members_failed(struct r5_members *ms);
uint64_t r5_members_data_offset(const struct r5_members *ms);

/* ---- queries under sb_lock ---- */
uint64_t r5_members_events(struct r5_members *ms);
uint32_t r5_members_array_state(struct r5_members *ms);
void r5_members_slot_info(struct r5_members *ms, uint32_t slot, struct r5_slot_info *out);
/* A copy of a present slot's superblock (false if the slot has none). */
bool r5_members_superblock(struct r5_members *ms, uint32_t slot, struct r5_superblock *out);
/* The member in a slot: its path for messages, and a seam for tests. Its
 * ops may be NULL. A thread other than the one replacing members must not
 * use it while a replace may swap it: see r5_members_file_info. */
struct r5_member *r5_members_member(struct r5_members *ms, uint32_t slot);
/* What the monitor needs of a present member's file, taken under sb_lock
 * so that a replace cannot swap the member meanwhile: a token that changes
 * when the slot gets another member, its path, and its fstat unless st is
 * NULL (*stat_err 0, or the backend's -errno: -ENOTSUP without a stat op).
 * false (nothing set) when the slot has no present member. */
bool r5_members_file_info(struct r5_members *ms, uint32_t slot, const void **id, char *path,
			  size_t pathlen, struct stat *st, int *stat_err);

/* ---- data I/O: offsets inside the data area; counted per slot ---- */
int r5_members_read(struct r5_members *ms, uint32_t slot, void *buf, size_t len, uint64_t off);
int r5_members_write(struct r5_members *ms, uint32_t slot, const void *buf, size_t len,
		     uint64_t off);
/* Adjacent buffers in one member call where possible (iov is scratch, see
 * r5_member_readv); counted as one read or write. */
int r5_members_readv(struct r5_members *ms, uint32_t slot, struct iovec *iov, int iovcnt,
		     uint64_t off);
int r5_members_writev(struct r5_members *ms, uint32_t slot, struct iovec *iov, int iovcnt,
		      uint64_t off);
/* From the page cache only (r5_member_readv_cached): 0 or -EAGAIN. */
int r5_members_readv_cached(struct r5_members *ms, uint32_t slot, const struct iovec *iov,
			    int iovcnt, uint64_t off);
/* Starts writing [off, off+len) of a slot's data area back, not waiting. */
void r5_members_start_writeback(struct r5_members *ms, uint32_t slot, uint64_t off, uint64_t len);
/* Readahead hint for [off, off+len) of a slot's data area. */
void r5_members_willneed(struct r5_members *ms, uint32_t slot, uint64_t off, uint64_t len);

/* ---- per-block checksums (member_verify.c; include/raid5fs/checksum.h) ----
 * With checksums every data read is verified: r5_members_read, _readv
 * return -EBADMSG (the buffers filled with what the member holds) when a
 * block does not match its entry, and _readv_cached -EAGAIN. Reads and
 * writes then need offsets and lengths in whole 4 KiB blocks, except
 * r5_members_read, which widens any other range itself. Every write sets
 * the entries of what it wrote; r5_members_sync writes the tables before
 * it syncs the members. The member set never decides what a mismatch
 * means: its callers do, and report it with r5_members_csum_error. */

/* Turns checksums on for the set, before r5_members_open_checksums opens
 * the attached members' tables: alg of the array, key for hmac-sha256
 * (copied). 0, -EINVAL or -ENOMEM. */
int r5_members_set_checksums(struct r5_members *ms, uint32_t alg, const struct r5_csum_key *key);
/* Opens the checksum table of every attached member. 0 or -errno. */
int r5_members_open_checksums(struct r5_members *ms);
uint32_t r5_members_csum_alg(const struct r5_members *ms);
/* Sets the entries of [off, off+len) of a slot from what it holds now,
 * without writing the data (a block taken as it is, after an unclean
 * stop). Whole blocks. 0 or -errno. */
int r5_members_csum_refresh(struct r5_members *ms, uint32_t slot, const struct iovec *iov,
			    int iovcnt, uint64_t off);
/* Records a block that failed its checksum: counts it on the slot, keeps
 * it in the list and logs one line (member, member offset, image offset). */
void r5_members_csum_error(struct r5_members *ms, uint32_t slot, uint64_t member_off,
			   uint64_t image_off);
/* A recovery wrote [off, off+len) of a slot without being able to rebuild
 * it: its entries are made never to verify (reads there fail with EIO until
 * it is written again), it is listed as still damaged, and one line is
 * logged. */
void r5_members_csum_lost(struct r5_members *ms, uint32_t slot, uint64_t off, uint64_t len,
			  uint64_t image_off);
/* The block recorded above was rewritten from the other members. */
void r5_members_csum_healed(struct r5_members *ms, uint32_t slot, uint64_t member_off);
/* The last blocks recorded (at most max, oldest first); returns how many
 * were found since mount (may be more than copied). */
uint64_t r5_members_bad_blocks(struct r5_members *ms, struct r5_bad_block *out, uint32_t max,
			       uint32_t *copied);
#define R5_UNHEALED_KEPT 1024 /* damaged blocks listed one by one */
/* The blocks recorded that are still damaged: neither healed nor written
 * since (at most max); returns how many there are, those that did not fit
 * in the member set's list included. */
uint64_t r5_members_unhealed(struct r5_members *ms, struct r5_bad_block *out, uint32_t max,
			     uint32_t *copied);

/* ---- metadata I/O and durability ---- */
/* Writes buf at member offset off (absolute: the metadata area) on every
 * member that takes writes, durably (that range: r5_member_writev_durable).
 * A member that cannot take it fails on its next data write anyway; the
 * result is -errno only when the array has failed. (The writer of the
 * write-intent bitmap and of the in-use map.) */
int r5_members_write_meta(void *ms, uint64_t off, const void *buf, size_t len);
/* The partial parity log's I/O (core/log) at member offset off (absolute:
 * the metadata area) of one slot. A write is durable when it returns
 * (r5_member_writev_durable); it counts as one write of the slot. 0 or
 * -errno (-ENODEV when the slot takes no writes); the caller decides. */
int r5_members_log_write(struct r5_members *ms, uint32_t slot, struct iovec *iov, int iovcnt,
			 uint64_t off);
int r5_members_log_read(struct r5_members *ms, uint32_t slot, void *buf, size_t len,
			uint64_t off);
/* fdatasyncs every member that takes writes, a member being rebuilt
 * included (its rebuilt part takes user writes). A member whose sync fails
 * is failed. -EIO if the array has failed, else 0. */
int r5_members_sync(struct r5_members *ms);

/* Sync numbers: returns how many r5_members_sync calls have started, and
 * sets *done to the number of the highest one that completed on every
 * member that takes writes. A write that completed when the started count
 * was g is durable once *done > g. */
uint64_t r5_members_sync_gen(struct r5_members *ms, uint64_t *done);

/* ---- changes recorded in the superblocks (events + 1) ---- */
/* Marks a slot faulty after an I/O error or a detected loss, records it in
 * the surviving superblocks and logs one line. No-op if not present. */
void r5_members_fail(struct r5_members *ms, uint32_t slot, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sets the array state (clean/active) and, if resync_offset is not NULL,
 * every member's resync offset. 0, or -errno if the array failed. */
int r5_members_set_array_state(struct r5_members *ms, uint32_t state,
			       const uint64_t *resync_offset);
/* Sets the superblock flags (R5_SB_FLAG_*) in mask to those of flags on
 * every member and, if they changed, stores the superblocks now. 0 or
 * -errno if the array failed. */
int r5_members_set_flags(struct r5_members *ms, uint32_t mask, uint32_t flags);
/* Sync checkpoints (bytes of member data): every member's resync offset,
 * or the recovery offset of a rebuilding slot. The data they cover must be
 * durable first (r5_members_sync). */
void r5_members_set_resync_offset(struct r5_members *ms, uint64_t bytes);
void r5_members_set_recovery_offset(struct r5_members *ms, uint32_t slot, uint64_t bytes);
/* Recovery finished: a REBUILDING slot becomes IN_SYNC. */
void r5_members_rebuilt(struct r5_members *ms, uint32_t slot);
/* Puts a new, open member (the set takes it) into a FAULTY or MISSING slot
 * as REBUILDING from 0: writes its superblock (from a survivor's, with a
 * new member uuid) in both copies, then prepare(ctx, member, sb) (the
 * bitmap), then records the role in every superblock. The old member of the
 * slot is retired (closed at destroy: in-flight I/O may still use it).
 * On error nothing changed, m is closed, err says why. */
int r5_members_add_rebuilding(struct r5_members *ms, uint32_t slot, struct r5_member *m,
			      int (*prepare)(void *ctx, struct r5_member *m,
					     const struct r5_superblock *sb),
			      void *ctx, char *err, size_t errlen);

#endif
