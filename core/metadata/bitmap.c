/* bitmap.c - the write-intent bitmap (see bitmap.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bitmap.h"
#include "locks.h"

#define R5_BITMAP_PAGE 4096u

struct r5_bitmap {
	pthread_mutex_t lock;   /* bits and their on-disk copies (one writer at a time) */
	uint64_t region_size;   /* member bytes per bit */
	uint64_t nr_regions;
	uint64_t bytes;         /* size of the on-disk bitmap, rounded up to 4 KiB */
	uint64_t offset;        /* where it sits in every member */
	uint8_t *bits;          /* regions written since the last clean point; read
				 * lock-free (atomics), published after the disk write */
	uint8_t *resync;        /* regions dirty at assembly; fixed after create */
	atomic_bool needs_resync; /* resync bits still meaningful; only goes false */
	r5_meta_write_fn write;
	void *write_ctx;
};

static bool
bit_test(const uint8_t *bits, uint64_t i)
{
	return __atomic_load_n(&bits[i / 8], __ATOMIC_ACQUIRE) & (1u << (i % 8));
}

int
r5_bitmap_create(uint64_t member_data_size, const struct r5_superblock *sb, bool needs_resync,
		 struct r5_member *from, r5_meta_write_fn write, void *write_ctx,
		 struct r5_bitmap **out)
{
	struct r5_bitmap *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	b->region_size = sb->bitmap_region_size ? sb->bitmap_region_size : R5_DEFAULT_BITMAP_REGION;
	b->nr_regions = (member_data_size + b->region_size - 1) / b->region_size;
	b->bytes = ((b->nr_regions + 7) / 8 + R5_BITMAP_PAGE - 1) / R5_BITMAP_PAGE * R5_BITMAP_PAGE;
	b->offset = sb->bitmap_offset;
	b->write = write;
	b->write_ctx = write_ctx;
	if (b->bytes > sb->bitmap_size) {
		free(b);
		return -EINVAL; /* the format reserves 960 KiB: 7.8 million regions */
	}
	b->bits = calloc(1, b->bytes);
	b->resync = calloc(1, b->bytes);
	if (!b->bits || !b->resync) {
		free(b->bits);
		free(b->resync);
		free(b);
		return -ENOMEM;
	}
	r5_mutex_init(&b->lock);
	if (needs_resync) {
		if (r5_member_read(from, b->resync, b->bytes, b->offset) < 0)
			memset(b->resync, 0xff, b->bytes); /* cannot tell: resync everything */
		/* still dirty until resynced: keep the bits on disk */
		memcpy(b->bits, b->resync, b->bytes);
	}
	atomic_store(&b->needs_resync, needs_resync);
	*out = b;
	return 0;
}

void
r5_bitmap_destroy(struct r5_bitmap *b)
{
	if (!b)
		return;
	r5_mutex_destroy(&b->lock);
	free(b->bits);
	free(b->resync);
	free(b);
}

int
r5_bitmap_mark(struct r5_bitmap *b, uint64_t start, uint64_t end)
{
	uint64_t first = start / b->region_size, last = (end - 1) / b->region_size;
	uint8_t page_buf[R5_BITMAP_PAGE];
	int err = 0;

	if (last >= b->nr_regions)
		last = b->nr_regions - 1;
	for (uint64_t r = first; r <= last; r++)
		if (!bit_test(b->bits, r))
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
		int e = b->write(b->write_ctx, b->offset + page * R5_BITMAP_PAGE, page_buf,
				 R5_BITMAP_PAGE);
		if (e < 0 && !err)
			err = e;
		for (uint64_t i = 0; i < R5_BITMAP_PAGE; i++)
			__atomic_store_n(&b->bits[page * R5_BITMAP_PAGE + i], page_buf[i],
					 __ATOMIC_RELEASE);
	}
	r5_mutex_unlock(&b->lock);
	return err;
}

int
r5_bitmap_clear_all(struct r5_bitmap *b)
{
	int err = 0;

	r5_mutex_lock(&b->lock);
	memset(b->bits, 0, b->bytes);
	for (uint64_t p = 0; p < b->bytes / R5_BITMAP_PAGE; p++) {
		int e = b->write(b->write_ctx, b->offset + p * R5_BITMAP_PAGE,
				 b->bits + p * R5_BITMAP_PAGE, R5_BITMAP_PAGE);
		if (e < 0 && !err)
			err = e;
	}
	r5_mutex_unlock(&b->lock);
	return err;
}

int
r5_bitmap_write_member(struct r5_bitmap *b, struct r5_member *m, uint64_t bitmap_offset)
{
	int err;

	r5_mutex_lock(&b->lock);
	err = r5_member_write(m, b->bits, b->bytes, bitmap_offset);
	r5_mutex_unlock(&b->lock);
	return err;
}

bool
r5_bitmap_needs_resync(const struct r5_bitmap *b)
{
	return atomic_load(&b->needs_resync);
}

bool
r5_bitmap_resync_pending(const struct r5_bitmap *b, uint64_t member_off)
{
	uint64_t r = member_off / b->region_size;

	return atomic_load(&b->needs_resync) && r < b->nr_regions &&
	       (b->resync[r / 8] & (1u << (r % 8)));
}

bool
r5_bitmap_resync_pending_range(const struct r5_bitmap *b, uint64_t member_off, uint64_t len)
{
	for (uint64_t r = member_off / b->region_size; r <= (member_off + len - 1) / b->region_size;
	     r++)
		if (r5_bitmap_resync_pending(b, r * b->region_size))
			return true;
	return false;
}

void
r5_bitmap_resync_done(struct r5_bitmap *b)
{
	atomic_store(&b->needs_resync, false);
}

uint64_t
r5_bitmap_region_size(const struct r5_bitmap *b)
{
	return b->region_size;
}
