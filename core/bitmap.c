/* bitmap.c - the write-intent bitmap (see bitmap.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_internal.h"
#include "bitmap.h"
#include "locks.h"

#define R5_BITMAP_PAGE 4096u

static bool
r5_bit_test(const uint8_t *bits, uint64_t i)
{
	return __atomic_load_n(&bits[i / 8], __ATOMIC_ACQUIRE) & (1u << (i % 8));
}

int
r5_bitmap_init(struct r5_array *a, bool was_dirty, int from_slot)
{
	struct r5_bitmap *b = &a->bitmap;
	const struct r5_superblock *sb = &a->slot[from_slot].sb;

	b->region_size = sb->bitmap_region_size ? sb->bitmap_region_size : R5_DEFAULT_BITMAP_REGION;
	b->nr_regions = (a->geo.member_data_size + b->region_size - 1) / b->region_size;
	b->bytes = ((b->nr_regions + 7) / 8 + R5_BITMAP_PAGE - 1) / R5_BITMAP_PAGE * R5_BITMAP_PAGE;
	if (b->bytes > sb->bitmap_size)
		return -EINVAL; /* the format reserves 960 KiB: 7.8 million regions */
	b->bits = calloc(1, b->bytes);
	b->resync = calloc(1, b->bytes);
	if (!b->bits || !b->resync) {
		free(b->bits);
		free(b->resync);
		return -ENOMEM;
	}
	r5_mutex_init(&b->lock);
	b->loaded = true;
	if (was_dirty) {
		int err = r5_member_read(&a->slot[from_slot].member, b->resync, b->bytes,
					 sb->bitmap_offset);
		if (err < 0) {
			/* cannot tell which regions are dirty: resync everything */
			memset(b->resync, 0xff, b->bytes);
		}
		for (uint64_t r = 0; r < b->nr_regions; r++)
			if (b->resync[r / 8] & (1u << (r % 8)))
				b->resync_regions++;
		/* still dirty until resynced: keep the bits on disk */
		memcpy(b->bits, b->resync, b->bytes);
	}
	return 0;
}

void
r5_bitmap_destroy(struct r5_array *a)
{
	struct r5_bitmap *b = &a->bitmap;

	if (!b->loaded)
		return;
	r5_mutex_destroy(&b->lock);
	free(b->bits);
	free(b->resync);
	b->loaded = false;
}

/* Writes one bitmap page (contents `buf`) to every present member and
 * syncs. b->lock held. */
static int
r5_bitmap_write_page(struct r5_array *a, uint64_t page, const uint8_t *buf)
{
	int first_err = 0;

	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		struct r5_slot *sl = &a->slot[s];
		int err;

		if (!r5_slot_present(a, s))
			continue;
		err = r5_member_write(&sl->member, buf, R5_BITMAP_PAGE,
				      sl->sb.bitmap_offset + page * R5_BITMAP_PAGE);
		if (!err)
			err = r5_member_sync(&sl->member);
		if (err < 0 && !first_err)
			first_err = err;
	}
	return first_err;
}

int
r5_bitmap_mark(struct r5_array *a, uint64_t start, uint64_t end)
{
	struct r5_bitmap *b = &a->bitmap;
	uint64_t first = start / b->region_size, last = (end - 1) / b->region_size;
	uint8_t page_buf[R5_BITMAP_PAGE];
	int err = 0;

	if (last >= b->nr_regions)
		last = b->nr_regions - 1;
	for (uint64_t r = first; r <= last; r++)
		if (!r5_bit_test(b->bits, r))
			goto slow;
	return 0; /* the common case: already on disk */
slow:
	r5_mutex_lock(&b->lock);
	/* Build each page in a scratch copy, write it, and only then publish
	 * the bits: writers test them without the lock and must not pass
	 * before the bit is on disk. */
	for (uint64_t page = (first / 8) / R5_BITMAP_PAGE; page <= (last / 8) / R5_BITMAP_PAGE; page++) {
		uint64_t lo = page * R5_BITMAP_PAGE * 8, hi = lo + R5_BITMAP_PAGE * 8 - 1;
		bool changed = false;

		if (lo < first)
			lo = first;
		if (hi > last)
			hi = last;
		memcpy(page_buf, b->bits + page * R5_BITMAP_PAGE, R5_BITMAP_PAGE);
		for (uint64_t r = lo; r <= hi; r++) {
			uint64_t byte = r / 8 - page * R5_BITMAP_PAGE;

			if (!(page_buf[byte] & (1u << (r % 8)))) {
				page_buf[byte] |= (uint8_t)(1u << (r % 8));
				changed = true;
			}
		}
		if (!changed)
			continue;
		err = r5_bitmap_write_page(a, page, page_buf);
		for (uint64_t i = 0; i < R5_BITMAP_PAGE; i++)
			__atomic_store_n(&b->bits[page * R5_BITMAP_PAGE + i], page_buf[i],
					 __ATOMIC_RELEASE);
	}
	r5_mutex_unlock(&b->lock);
	/* A member that cannot take its bitmap write fails on the data write
	 * too; the bitmap only has to be right on the members that stay. */
	return err < 0 && r5_array_is_failed(a) ? err : 0;
}

int
r5_bitmap_clear_all(struct r5_array *a)
{
	struct r5_bitmap *b = &a->bitmap;
	int err = 0;

	r5_mutex_lock(&b->lock);
	memset(b->bits, 0, b->bytes);
	for (uint64_t p = 0; p < b->bytes / R5_BITMAP_PAGE; p++) {
		int e = r5_bitmap_write_page(a, p, b->bits + p * R5_BITMAP_PAGE);
		if (e < 0 && !err)
			err = e;
	}
	r5_mutex_unlock(&b->lock);
	return err;
}

int
r5_bitmap_write_member(struct r5_array *a, uint32_t slot)
{
	struct r5_bitmap *b = &a->bitmap;
	struct r5_slot *sl = &a->slot[slot];
	int err;

	r5_mutex_lock(&b->lock);
	err = r5_member_write(&sl->member, b->bits, b->bytes, sl->sb.bitmap_offset);
	r5_mutex_unlock(&b->lock);
	return err;
}

bool
r5_bitmap_resync_pending(const struct r5_array *a, uint64_t member_off)
{
	const struct r5_bitmap *b = &a->bitmap;
	uint64_t r = member_off / b->region_size;

	return r < b->nr_regions && (b->resync[r / 8] & (1u << (r % 8)));
}
