/* usemap.c - the in-use map (see usemap.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "usemap.h"

#define R5_USEMAP_PAGE 4096u

struct r5_usemap {
	pthread_mutex_t lock; /* changes to bits and their on-disk copies */
	uint64_t unit;        /* member bytes per bit */
	uint64_t nr_units;
	uint64_t bytes;       /* on-disk size (whole pages) */
	uint64_t offset;      /* where it sits in every member */
	_Atomic uint8_t *bits; /* as on disk; read without the lock */
	atomic_uint_fast64_t *writes; /* writes counted into each unit */
	r5_meta_write_fn write;
	void *write_ctx;
};

static bool
unit_in_use(const struct r5_usemap *u, uint64_t i)
{
	return atomic_load(&u->bits[i / 8]) & (1u << (i % 8));
}

int
r5_usemap_create(const struct r5_superblock *sb, struct r5_member *from, r5_meta_write_fn write,
		 void *write_ctx, struct r5_usemap **out)
{
	struct r5_usemap *u;
	uint8_t *disk;

	*out = NULL;
	if (!(sb->flags & R5_SB_FLAG_USEMAP))
		return 0;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	r5_mutex_init(&u->lock);
	u->unit = sb->usemap_unit;
	u->nr_units = (sb->data_size + u->unit - 1) / u->unit;
	u->bytes = sb->usemap_size;
	u->offset = sb->usemap_offset;
	u->write = write;
	u->write_ctx = write_ctx;
	u->bits = calloc(1, u->bytes);
	u->writes = calloc(u->nr_units, sizeof(*u->writes));
	disk = malloc(u->bytes);
	if (!u->bits || !u->writes || !disk) {
		free(disk);
		r5_usemap_destroy(u);
		return -ENOMEM;
	}
	/* Unreadable: call every unit in use, the direction that is always
	 * safe (usemap.h). */
	if (r5_member_read(from, disk, u->bytes, u->offset) < 0)
		memset(disk, 0xff, u->bytes);
	for (uint64_t i = 0; i < u->bytes; i++)
		atomic_init(&u->bits[i], disk[i]);
	free(disk);
	*out = u;
	return 0;
}

void
r5_usemap_destroy(struct r5_usemap *u)
{
	if (!u)
		return;
	r5_mutex_destroy(&u->lock);
	free((void *)u->bits);
	free(u->writes);
	free(u);
}

bool
r5_usemap_in_use(const struct r5_usemap *u, uint64_t member_off)
{
	uint64_t i;

	if (!u)
		return true;
	i = member_off / u->unit;
	return i >= u->nr_units || unit_in_use(u, i);
}

/* Copies page p of the bits (lock held). */
static void
page_copy(const struct r5_usemap *u, uint64_t p, uint8_t *buf)
{
	for (uint64_t i = 0; i < R5_USEMAP_PAGE; i++)
		buf[i] = atomic_load(&u->bits[p * R5_USEMAP_PAGE + i]);
}

int
r5_usemap_mark(struct r5_usemap *u, uint64_t start, uint64_t end)
{
	uint64_t first, last;
	uint8_t page[R5_USEMAP_PAGE];
	bool all_set = true;
	int err = 0;

	if (!u || end <= start)
		return 0;
	first = start / u->unit;
	last = (end - 1) / u->unit;
	if (last >= u->nr_units)
		last = u->nr_units - 1;
	/* count in first, then look (usemap.h, concurrency) */
	for (uint64_t i = first; i <= last; i++) {
		atomic_fetch_add(&u->writes[i], 1);
		all_set = all_set && unit_in_use(u, i);
	}
	if (all_set)
		return 0; /* the common case */
	r5_mutex_lock(&u->lock);
	/* Each page is built in a copy and written before its bits are
	 * published: writers that find a bit set do not wait for the disk. */
	for (uint64_t p = first / 8 / R5_USEMAP_PAGE; p <= last / 8 / R5_USEMAP_PAGE; p++) {
		uint64_t lo = p * R5_USEMAP_PAGE * 8, hi = lo + R5_USEMAP_PAGE * 8 - 1;
		bool changed = false;

		lo = lo < first ? first : lo;
		hi = hi > last ? last : hi;
		page_copy(u, p, page);
		for (uint64_t i = lo; i <= hi; i++) {
			uint8_t *byte = &page[i / 8 - p * R5_USEMAP_PAGE];

			changed |= !(*byte & (1u << (i % 8)));
			*byte |= (uint8_t)(1u << (i % 8));
		}
		if (!changed)
			continue;
		int e = u->write(u->write_ctx, u->offset + p * R5_USEMAP_PAGE, page, R5_USEMAP_PAGE);
		if (e < 0) {
			err = err ? err : e;
			continue; /* not on disk: the bits stay clear, the write fails */
		}
		for (uint64_t i = 0; i < R5_USEMAP_PAGE; i++)
			atomic_store(&u->bits[p * R5_USEMAP_PAGE + i], page[i]);
	}
	r5_mutex_unlock(&u->lock);
	return err;
}

uint64_t
r5_usemap_unit_of(const struct r5_usemap *u, uint64_t member_off)
{
	return u ? member_off / u->unit : 0;
}

uint64_t
r5_usemap_unit_size(const struct r5_usemap *u)
{
	return u ? u->unit : 0;
}

uint64_t
r5_usemap_writes(const struct r5_usemap *u, uint64_t unit)
{
	return u && unit < u->nr_units ? atomic_load(&u->writes[unit]) : 0;
}

int
r5_usemap_release(struct r5_usemap *u, uint64_t unit, uint64_t writes)
{
	const uint8_t mask = (uint8_t)(1u << (unit % 8));
	uint8_t page[R5_USEMAP_PAGE];
	int err;

	if (!u || unit >= u->nr_units)
		return 0;
	r5_mutex_lock(&u->lock);
	if (!unit_in_use(u, unit)) {
		r5_mutex_unlock(&u->lock);
		return 1;
	}
	/* clear first, then look (usemap.h, concurrency) */
	atomic_fetch_and(&u->bits[unit / 8], (uint8_t)~mask);
	if (atomic_load(&u->writes[unit]) != writes) {
		atomic_fetch_or(&u->bits[unit / 8], mask);
		r5_mutex_unlock(&u->lock);
		return 0;
	}
	page_copy(u, unit / 8 / R5_USEMAP_PAGE, page);
	err = u->write(u->write_ctx, u->offset + unit / 8 / R5_USEMAP_PAGE * R5_USEMAP_PAGE, page,
		       R5_USEMAP_PAGE);
	if (err < 0) /* some members may say unused now: true, the zeros are durable */
		atomic_fetch_or(&u->bits[unit / 8], mask);
	r5_mutex_unlock(&u->lock);
	return err < 0 ? err : 1;
}

int
r5_usemap_while_unused(struct r5_usemap *u, uint64_t start, uint64_t end, int (*fn)(void *ctx),
		       void *ctx)
{
	int ret = 1;

	if (!u || end <= start)
		return 0;
	r5_mutex_lock(&u->lock);
	for (uint64_t i = start / u->unit; i <= (end - 1) / u->unit && ret == 1; i++)
		ret = i < u->nr_units && !unit_in_use(u, i);
	if (ret == 1) {
		int err = fn(ctx);

		ret = err < 0 ? err : 1;
	}
	r5_mutex_unlock(&u->lock);
	return ret;
}

int
r5_usemap_write_member(struct r5_usemap *u, struct r5_member *m, uint64_t off)
{
	uint8_t *buf;
	int err;

	if (!u)
		return 0;
	buf = malloc(u->bytes);
	if (!buf)
		return -ENOMEM;
	r5_mutex_lock(&u->lock);
	for (uint64_t p = 0; p < u->bytes / R5_USEMAP_PAGE; p++)
		page_copy(u, p, buf + p * R5_USEMAP_PAGE);
	err = r5_member_write(m, buf, u->bytes, off);
	r5_mutex_unlock(&u->lock);
	free(buf);
	return err;
}

void
r5_usemap_count(const struct r5_usemap *u, uint64_t *in_use, uint64_t *units)
{
	*in_use = *units = 0;
	if (!u)
		return;
	*units = u->nr_units;
	for (uint64_t i = 0; i < u->nr_units; i++)
		*in_use += unit_in_use(u, i);
}
