/* bitmap.h - the write-intent bitmap (private to core/).
 *
 * One bit per region of member data (region_size bytes of every member at
 * the same offset). Before the first write into a region since the array
 * was last clean, its bit is written to every member that takes writes and
 * synced; only then does the data write proceed. Bits are cleared all at
 * once when the array goes clean (safe mode: idle and flushed), just before
 * the superblocks say "clean". After an unclean stop, the regions whose bit
 * is set are the only ones that can hold a stripe whose parity does not
 * match its data: they are "resync pending" until the resync has walked
 * them (or a recovery has rewritten a whole member from the others).
 *
 * Layer: on-disk metadata. It reads its initial copy from one member and
 * writes through the writer it is given (the member set's
 * r5_members_write_meta), never knowing the layers above.
 */
#ifndef RAID5FS_CORE_BITMAP_H
#define RAID5FS_CORE_BITMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raid5fs/member.h"
#include "raid5fs/superblock.h"

/* Writes len bytes at absolute member offset off on every member that
 * takes writes, durably; -errno only when too few members took it. */
typedef int (*r5_meta_write_fn)(void *ctx, uint64_t off, const void *buf, size_t len);

struct r5_bitmap;

/* A bitmap for member_data_size bytes per member, laid out as sb says.
 * needs_resync (an unclean stop): the dirty regions are read from `from`
 * and stay pending until r5_bitmap_resync_done; if they cannot be read,
 * every region is. 0, -EINVAL (the format has no room) or -ENOMEM. */
int r5_bitmap_create(uint64_t member_data_size, const struct r5_superblock *sb,
		     bool needs_resync, struct r5_member *from, r5_meta_write_fn write,
		     void *write_ctx, struct r5_bitmap **out);
void r5_bitmap_destroy(struct r5_bitmap *b);
/* Makes sure the bits for member bytes [start, end) are on disk. */
int r5_bitmap_mark(struct r5_bitmap *b, uint64_t start, uint64_t end);
/* Clears every bit on disk and in memory (the array is quiet). */
int r5_bitmap_clear_all(struct r5_bitmap *b);
/* Writes the whole in-memory bitmap to one (new) member at its offset. */
int r5_bitmap_write_member(struct r5_bitmap *b, struct r5_member *m, uint64_t bitmap_offset);

/* Unclean start not yet resynced: parity is suspect in pending regions. */
bool r5_bitmap_needs_resync(const struct r5_bitmap *b);
/* Is the region holding this member offset waiting for resync? */
bool r5_bitmap_resync_pending(const struct r5_bitmap *b, uint64_t member_off);
/* The same for any byte of [member_off, member_off+len); len > 0. */
bool r5_bitmap_resync_pending_range(const struct r5_bitmap *b, uint64_t member_off, uint64_t len);
/* Parity agrees with data everywhere now: nothing is pending any more. */
void r5_bitmap_resync_done(struct r5_bitmap *b);
uint64_t r5_bitmap_region_size(const struct r5_bitmap *b);

#endif
