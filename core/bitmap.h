/* bitmap.h - the write-intent bitmap (DESIGN.md section 2; private).
 *
 * One bit per region of member data (bitmap_region_size bytes of every
 * member at the same offset). Before the first write into a region since
 * the array was last clean, its bit is written to every present member's
 * bitmap area and synced; only then does the data write proceed. Bits are
 * cleared all at once when the array goes clean (safe mode: idle and
 * flushed), just before the superblocks say "clean". After an unclean
 * stop, the regions whose bit is set are the only ones that can hold a
 * stripe whose parity does not match its data: resync walks those.
 */
#ifndef RAID5FS_CORE_BITMAP_H
#define RAID5FS_CORE_BITMAP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct r5_array;

struct r5_bitmap {
	pthread_mutex_t lock;   /* bits and their on-disk copies; taken after sb_lock */
	uint64_t region_size;   /* member bytes per bit */
	uint64_t nr_regions;
	uint64_t bytes;         /* size of the on-disk bitmap, rounded up to 4 KiB */
	uint8_t *bits;          /* regions written since the last clean point */
	uint8_t *resync;        /* regions dirty at assembly, to be resynced */
	uint64_t resync_regions;/* bits set in resync */
	bool loaded;
};

/* Sets up the bitmap for the array; if was_dirty, reads the dirty regions
 * from `from_slot`'s member. 0 or -errno. */
int r5_bitmap_init(struct r5_array *a, bool was_dirty, int from_slot);
void r5_bitmap_destroy(struct r5_array *a);
/* Makes sure the bits for member bytes [start, end) are on disk. */
int r5_bitmap_mark(struct r5_array *a, uint64_t start, uint64_t end);
/* Clears every bit on disk and in memory (sb_lock held, array quiet). */
int r5_bitmap_clear_all(struct r5_array *a);
/* Writes the whole in-memory bitmap to one member (a new member). */
int r5_bitmap_write_member(struct r5_array *a, uint32_t slot);
/* Is the region holding this member offset waiting for resync? */
bool r5_bitmap_resync_pending(const struct r5_array *a, uint64_t member_off);

#endif
