/* test_bitmap.c - the write-intent bitmap (core/metadata/bitmap.h) through a
 * recording writer: a region's bit reaches the disk before r5_bitmap_mark
 * says the region may be written (also for a second writer racing the
 * first), bits are only cleared all at once, byte offsets map to the right
 * regions and bitmap pages, a failed bitmap write is reported, and a dirty
 * bitmap read back at assembly (or one that cannot be read) says which
 * regions await resync. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bitmap.h"
#include "member_faulty.h"
#include "raid5fs/member.h"
#include "raid5fs/superblock.h"

#define PAGE 4096u
#define MB (1024ull * 1024)
#define REGION (1 * MB)
#define MAX_WRITES 64

/* ---------- the recording writer ---------- */

struct rec_write {
	uint64_t off;
	size_t len;
	uint8_t page[PAGE];
};

struct rec_writer {
	pthread_mutex_t lock;
	int fail;                 /* -errno returned by every call (after recording), or 0 */
	size_t n;                 /* calls so far */
	struct rec_write w[MAX_WRITES];
	/* the race test: on the first call, start a second mark of the same
	 * range and give it a chance to return while this write is "in flight" */
	struct r5_bitmap *race_b;
	uint64_t race_start, race_end;
	pthread_t racer;
	bool racer_started;
	atomic_bool racer_returned;
	int racer_result;
	bool racer_returned_before_write_done;
};

static void *
racer_main(void *arg)
{
	struct rec_writer *r = arg;

	r->racer_result = r5_bitmap_mark(r->race_b, r->race_start, r->race_end);
	atomic_store(&r->racer_returned, true);
	return NULL;
}

static int
rec_write_fn(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct rec_writer *r = ctx;
	size_t i;

	pthread_mutex_lock(&r->lock);
	i = r->n++;
	cr_assert_lt(i, MAX_WRITES, "too many bitmap writes");
	r->w[i].off = off;
	r->w[i].len = len;
	memcpy(r->w[i].page, buf, len < PAGE ? len : PAGE);
	pthread_mutex_unlock(&r->lock);

	if (i == 0 && r->race_b) {
		/* The bit is not on disk until this call returns: a mark of the
		 * same region from another thread must not return before. */
		r->racer_started = pthread_create(&r->racer, NULL, racer_main, r) == 0;
		cr_assert(r->racer_started);
		for (int k = 0; k < 300 && !atomic_load(&r->racer_returned); k++)
			usleep(1000);
		r->racer_returned_before_write_done = atomic_load(&r->racer_returned);
	}
	return r->fail;
}

static void
rec_init(struct rec_writer *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
}

static bool
page_bit(const uint8_t *page, uint64_t r_in_page)
{
	return page[r_in_page / 8] & (1u << (r_in_page % 8));
}

/* The regions whose bit is set in a written page, as a list. */
static size_t
page_bits(const uint8_t *page, uint64_t *out, size_t max)
{
	size_t k = 0;

	for (uint64_t r = 0; r < PAGE * 8; r++)
		if (page_bit(page, r)) {
			cr_assert_lt(k, max);
			out[k++] = r;
		}
	return k;
}

static void
assert_page_bits(const struct rec_write *w, const uint64_t *want, size_t nwant)
{
	uint64_t got[64];
	size_t n = page_bits(w->page, got, 64);

	cr_assert_eq(n, nwant, "page at %llu holds %zu bits, %zu expected",
		     (unsigned long long)w->off, n, nwant);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "bit %zu of the page is region %llu, not %llu", i,
			     (unsigned long long)got[i], (unsigned long long)want[i]);
}

static struct r5_superblock
sb_with(uint64_t region, uint64_t bitmap_size)
{
	struct r5_superblock sb;

	memset(&sb, 0, sizeof(sb));
	sb.bitmap_offset = R5_BITMAP_OFFSET;
	sb.bitmap_size = bitmap_size;
	sb.bitmap_region_size = region;
	return sb;
}

static struct r5_bitmap *
clean_bitmap(uint64_t member_size, uint64_t region, struct rec_writer *r)
{
	struct r5_superblock sb = sb_with(region, R5_BITMAP_SIZE);
	struct r5_bitmap *b = NULL;

	cr_assert_eq(r5_bitmap_create(member_size, &sb, false, NULL, rec_write_fn, r, &b), 0);
	cr_assert_not_null(b);
	return b;
}

/* A member file holding `bitmap` (len bytes) at the bitmap offset. */
static void
member_with_bitmap(struct r5_member *m, char *path, const uint8_t *bitmap, size_t len,
		   uint64_t file_size)
{
	int fd;

	strcpy(path, "/tmp/r5bm.XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)file_size), 0);
	cr_assert_eq(r5_member_from_fd(m, fd, path), 0);
	if (len)
		cr_assert_eq(r5_member_write(m, bitmap, len, R5_BITMAP_OFFSET), 0);
}

/* ---------- mark: the bit on disk first ---------- */

Test(bitmap, mark_writes_the_region_bit_before_returning)
{
	struct rec_writer r;
	struct r5_bitmap *b;
	const uint64_t want[] = { 3 };

	rec_init(&r);
	b = clean_bitmap(64 * REGION, REGION, &r);
	cr_assert_eq(r.n, 0, "a clean bitmap was written at create");
	cr_assert_eq(r5_bitmap_mark(b, 3 * REGION + 100, 3 * REGION + 4196), 0);
	cr_assert_eq(r.n, 1, "mark returned after %zu bitmap writes (1 expected)", r.n);
	cr_assert_eq(r.w[0].off, R5_BITMAP_OFFSET);
	cr_assert_eq(r.w[0].len, PAGE);
	assert_page_bits(&r.w[0], want, 1);
	r5_bitmap_destroy(b);
}

Test(bitmap, marked_region_is_not_written_again)
{
	struct rec_writer r;
	struct r5_bitmap *b;

	rec_init(&r);
	b = clean_bitmap(64 * REGION, REGION, &r);
	cr_assert_eq(r5_bitmap_mark(b, 0, 4096), 0);
	cr_assert_eq(r5_bitmap_mark(b, 0, 4096), 0);
	cr_assert_eq(r5_bitmap_mark(b, REGION - 4096, REGION), 0);
	cr_assert_eq(r.n, 1, "the bit of an already marked region was written %zu times", r.n);
	r5_bitmap_destroy(b);
}

Test(bitmap, second_writer_waits_until_the_bit_is_on_disk, .timeout = 30)
{
	struct rec_writer r;
	struct r5_bitmap *b;
	const uint64_t want[] = { 5 };

	rec_init(&r);
	b = clean_bitmap(64 * REGION, REGION, &r);
	r.race_b = b;
	r.race_start = 5 * REGION;
	r.race_end = 5 * REGION + 4096;
	cr_assert_eq(r5_bitmap_mark(b, 5 * REGION + 8192, 5 * REGION + 12288), 0);
	cr_assert(r.racer_started);
	pthread_join(r.racer, NULL);
	cr_assert_not(r.racer_returned_before_write_done,
		      "a concurrent mark said region 5 was safe while its bit was still being written");
	cr_assert_eq(r.racer_result, 0);
	cr_assert_eq(r.n, 1, "the bit was written %zu times (once expected)", r.n);
	assert_page_bits(&r.w[0], want, 1);
	r5_bitmap_destroy(b);
}

/* ---------- region mapping ---------- */

Test(bitmap, first_and_last_byte_of_a_region_map_to_it)
{
	struct rec_writer r;
	struct r5_bitmap *b;

	rec_init(&r);
	b = clean_bitmap(64 * REGION, REGION, &r);
	cr_assert_eq(r5_bitmap_region_size(b), REGION);
	/* last byte of region 0 */
	cr_assert_eq(r5_bitmap_mark(b, REGION - 1, REGION), 0);
	assert_page_bits(&r.w[0], (const uint64_t[]){ 0 }, 1);
	/* first byte of region 1: its page keeps region 0's bit */
	cr_assert_eq(r5_bitmap_mark(b, REGION, REGION + 1), 0);
	cr_assert_eq(r.n, 2);
	assert_page_bits(&r.w[1], (const uint64_t[]){ 0, 1 }, 2);
	/* a whole region [4R, 5R): end is exclusive, region 5 untouched */
	cr_assert_eq(r5_bitmap_mark(b, 4 * REGION, 5 * REGION), 0);
	cr_assert_eq(r.n, 3);
	assert_page_bits(&r.w[2], (const uint64_t[]){ 0, 1, 4 }, 3);
	cr_assert_eq(r5_bitmap_mark(b, 5 * REGION, 5 * REGION + 1), 0);
	cr_assert_eq(r.n, 4, "region 5 was already marked by a range ending at its first byte");
	r5_bitmap_destroy(b);
}

Test(bitmap, range_spanning_regions_marks_each_in_one_write)
{
	struct rec_writer r;
	struct r5_bitmap *b;

	rec_init(&r);
	b = clean_bitmap(64 * REGION, REGION, &r);
	/* from the last byte of region 6 to the first byte of region 9 */
	cr_assert_eq(r5_bitmap_mark(b, 7 * REGION - 1, 9 * REGION + 1), 0);
	cr_assert_eq(r.n, 1);
	assert_page_bits(&r.w[0], (const uint64_t[]){ 6, 7, 8, 9 }, 4);
	r5_bitmap_destroy(b);
}

Test(bitmap, range_spanning_bitmap_pages_writes_each_page)
{
	struct rec_writer r;
	struct r5_bitmap *b;
	const uint64_t per_page = PAGE * 8, region = 4096;

	rec_init(&r);
	/* 32768 regions per bitmap page: 40000 regions take two pages */
	b = clean_bitmap(40000 * region, region, &r);
	cr_assert_eq(r5_bitmap_mark(b, (per_page - 1) * region, (per_page + 1) * region), 0);
	cr_assert_eq(r.n, 2, "%zu writes for a range over two bitmap pages", r.n);
	cr_assert_eq(r.w[0].off, R5_BITMAP_OFFSET);
	cr_assert_eq(r.w[1].off, R5_BITMAP_OFFSET + PAGE);
	assert_page_bits(&r.w[0], (const uint64_t[]){ per_page - 1 }, 1);
	assert_page_bits(&r.w[1], (const uint64_t[]){ 0 }, 1);
	/* a region of the second page alone writes only that page */
	cr_assert_eq(r5_bitmap_mark(b, 39999 * region, 40000 * region), 0);
	cr_assert_eq(r.n, 3);
	cr_assert_eq(r.w[2].off, R5_BITMAP_OFFSET + PAGE);
	assert_page_bits(&r.w[2], (const uint64_t[]){ 0, 39999 - per_page }, 2);
	r5_bitmap_destroy(b);
}

Test(bitmap, range_past_the_end_marks_up_to_the_last_region)
{
	struct rec_writer r;
	struct r5_bitmap *b;

	rec_init(&r);
	/* 9.5 regions: the last one is partial */
	b = clean_bitmap(9 * REGION + REGION / 2, REGION, &r);
	cr_assert_eq(r5_bitmap_mark(b, 9 * REGION, 100 * REGION), 0);
	cr_assert_eq(r.n, 1);
	assert_page_bits(&r.w[0], (const uint64_t[]){ 9 }, 1);
	r5_bitmap_destroy(b);
}

Test(bitmap, zero_region_size_means_the_default)
{
	struct rec_writer r;
	struct r5_bitmap *b;

	rec_init(&r);
	b = clean_bitmap(1024 * MB, 0, &r);
	cr_assert_eq(r5_bitmap_region_size(b), R5_DEFAULT_BITMAP_REGION);
	cr_assert_eq(r5_bitmap_mark(b, R5_DEFAULT_BITMAP_REGION, R5_DEFAULT_BITMAP_REGION + 1), 0);
	assert_page_bits(&r.w[0], (const uint64_t[]){ 1 }, 1);
	r5_bitmap_destroy(b);
}

/* ---------- clearing ---------- */

Test(bitmap, clear_all_writes_every_page_zero_and_marks_start_again)
{
	struct rec_writer r;
	struct r5_bitmap *b;
	const uint64_t region = 4096;
	static const uint8_t zero[PAGE];

	rec_init(&r);
	b = clean_bitmap(40000 * region, region, &r); /* two bitmap pages */
	cr_assert_eq(r5_bitmap_mark(b, 0, 1), 0);
	cr_assert_eq(r5_bitmap_mark(b, 39999 * region, 39999 * region + 1), 0);
	cr_assert_eq(r.n, 2);
	cr_assert_eq(r5_bitmap_clear_all(b), 0);
	cr_assert_eq(r.n, 4, "clear_all wrote %zu pages (2 expected)", r.n - 2);
	cr_assert_eq(r.w[2].off, R5_BITMAP_OFFSET);
	cr_assert_eq(r.w[3].off, R5_BITMAP_OFFSET + PAGE);
	cr_assert_arr_eq(r.w[2].page, zero, PAGE);
	cr_assert_arr_eq(r.w[3].page, zero, PAGE);
	/* the bit is gone in memory too: the next write into region 0 has to
	 * put it on disk again */
	cr_assert_eq(r5_bitmap_mark(b, 0, 1), 0);
	cr_assert_eq(r.n, 5, "a region cleared by clear_all was not marked on disk again");
	assert_page_bits(&r.w[4], (const uint64_t[]){ 0 }, 1);
	r5_bitmap_destroy(b);
}

Test(bitmap, marking_other_regions_never_clears_a_bit)
{
	struct rec_writer r;
	struct r5_bitmap *b;
	uint64_t want[64];
	size_t nwant = 0;

	rec_init(&r);
	b = clean_bitmap(64 * REGION, REGION, &r);
	/* every page written after region k was marked still holds bit k */
	for (uint64_t k = 0; k < 64; k += 7) {
		cr_assert_eq(r5_bitmap_mark(b, k * REGION, k * REGION + 512), 0);
		want[nwant++] = k;
		assert_page_bits(&r.w[r.n - 1], want, nwant);
	}
	r5_bitmap_destroy(b);
}

/* ---------- a failed bitmap write ---------- */

Test(bitmap, failed_bitmap_write_is_returned_by_mark)
{
	struct rec_writer r;
	struct r5_bitmap *b;

	rec_init(&r);
	b = clean_bitmap(64 * REGION, REGION, &r);
	r.fail = -EIO;
	cr_assert_eq(r5_bitmap_mark(b, 2 * REGION, 2 * REGION + 1), -EIO,
		     "mark said the region was safe although its bit could not be written");
	cr_assert_eq(r.n, 1);
	assert_page_bits(&r.w[0], (const uint64_t[]){ 2 }, 1);
	/* a region of a page not yet written is tried (and reported) too */
	cr_assert_eq(r5_bitmap_mark(b, 3 * REGION, 3 * REGION + 1), -EIO);
	cr_assert_eq(r.n, 2);
	r5_bitmap_destroy(b);
}

Test(bitmap, failed_clear_is_returned_and_every_page_is_still_tried)
{
	struct rec_writer r;
	struct r5_bitmap *b;

	rec_init(&r);
	b = clean_bitmap(40000 * 4096ull, 4096, &r); /* two bitmap pages */
	cr_assert_eq(r5_bitmap_mark(b, 0, 1), 0);
	r.fail = -ENOSPC;
	cr_assert_eq(r5_bitmap_clear_all(b), -ENOSPC);
	cr_assert_eq(r.n, 3, "clear_all stopped after the first failed page");
	r5_bitmap_destroy(b);
}

/* ---------- the stored bitmap at assembly ---------- */

Test(bitmap, dirty_bitmap_loaded_needs_resync_of_exactly_its_regions)
{
	struct rec_writer r;
	struct r5_superblock sb = sb_with(REGION, R5_BITMAP_SIZE);
	struct r5_member m;
	struct r5_bitmap *b = NULL;
	uint8_t disk[PAGE] = { 0 };
	char path[32];

	rec_init(&r);
	disk[0] = 0x02; /* region 1 */
	disk[1] = 0x02; /* region 9 */
	member_with_bitmap(&m, path, disk, sizeof(disk), R5_DATA_OFFSET);
	cr_assert_eq(r5_bitmap_create(16 * REGION, &sb, true, &m, rec_write_fn, &r, &b), 0);
	cr_assert_eq(r.n, 0, "loading a bitmap wrote it");
	cr_assert(r5_bitmap_needs_resync(b));
	cr_assert_not(r5_bitmap_resync_pending(b, 0));
	cr_assert_not(r5_bitmap_resync_pending(b, REGION - 1));
	cr_assert(r5_bitmap_resync_pending(b, REGION));
	cr_assert(r5_bitmap_resync_pending(b, 2 * REGION - 1));
	cr_assert_not(r5_bitmap_resync_pending(b, 2 * REGION));
	cr_assert(r5_bitmap_resync_pending(b, 9 * REGION + 12345));
	cr_assert_not(r5_bitmap_resync_pending(b, 10 * REGION));
	cr_assert_not(r5_bitmap_resync_pending(b, 15 * REGION));

	/* still dirty until resynced: the loaded bits are kept on disk, and a
	 * new mark of a loaded region needs no write */
	cr_assert_eq(r5_bitmap_mark(b, REGION, REGION + 1), 0);
	cr_assert_eq(r.n, 0);
	cr_assert_eq(r5_bitmap_mark(b, 0, 1), 0);
	cr_assert_eq(r.n, 1);
	assert_page_bits(&r.w[0], (const uint64_t[]){ 0, 1, 9 }, 3);

	r5_bitmap_resync_done(b);
	cr_assert_not(r5_bitmap_needs_resync(b));
	cr_assert_not(r5_bitmap_resync_pending(b, REGION));
	cr_assert_not(r5_bitmap_resync_pending(b, 9 * REGION));
	r5_bitmap_destroy(b);
	r5_member_close(&m);
	unlink(path);
}

Test(bitmap, clean_start_has_nothing_pending_whatever_the_disk_says)
{
	struct rec_writer r;
	struct r5_superblock sb = sb_with(REGION, R5_BITMAP_SIZE);
	struct r5_member m;
	struct r5_bitmap *b = NULL;
	uint8_t disk[PAGE];
	char path[32];

	rec_init(&r);
	memset(disk, 0xff, sizeof(disk));
	member_with_bitmap(&m, path, disk, sizeof(disk), R5_DATA_OFFSET);
	cr_assert_eq(r5_bitmap_create(16 * REGION, &sb, false, &m, rec_write_fn, &r, &b), 0);
	cr_assert_not(r5_bitmap_needs_resync(b));
	for (uint64_t k = 0; k < 16; k++)
		cr_assert_not(r5_bitmap_resync_pending(b, k * REGION));
	/* and nothing of the disk's bits is carried over into new writes */
	cr_assert_eq(r5_bitmap_mark(b, 0, 1), 0);
	assert_page_bits(&r.w[0], (const uint64_t[]){ 0 }, 1);
	r5_bitmap_destroy(b);
	r5_member_close(&m);
	unlink(path);
}

Test(bitmap, unreadable_bitmap_makes_every_region_pending)
{
	struct rec_writer r;
	struct r5_superblock sb = sb_with(REGION, R5_BITMAP_SIZE);
	struct r5_fault_spec eio = { .ops = R5_FAULT_READ, .error = EIO, .rate_ppm = 1000000 };
	struct r5_member m;
	struct r5_bitmap *b = NULL;
	uint8_t disk[PAGE] = { 0x01 };
	char path[32];

	rec_init(&r);
	member_with_bitmap(&m, path, disk, sizeof(disk), R5_DATA_OFFSET);
	cr_assert_eq(r5_member_wrap_faulty(&m, &eio), 0);
	cr_assert_eq(r5_bitmap_create(16 * REGION, &sb, true, &m, rec_write_fn, &r, &b), 0);
	cr_assert_gt(r5_member_faulty_count(&m), 0, "the bitmap was not read");
	cr_assert(r5_bitmap_needs_resync(b));
	for (uint64_t k = 0; k < 16; k++)
		cr_assert(r5_bitmap_resync_pending(b, k * REGION), "region %llu not pending",
			  (unsigned long long)k);
	cr_assert_not(r5_bitmap_resync_pending(b, 16 * REGION), "a region past the end is pending");
	r5_bitmap_destroy(b);
	r5_member_close(&m);
	unlink(path);
}

Test(bitmap, bitmap_cut_short_on_disk_makes_every_region_pending)
{
	struct rec_writer r;
	struct r5_superblock sb = sb_with(REGION, R5_BITMAP_SIZE);
	struct r5_member m;
	struct r5_bitmap *b = NULL;
	char path[32];

	rec_init(&r);
	/* the file ends in the middle of the bitmap page */
	member_with_bitmap(&m, path, NULL, 0, R5_BITMAP_OFFSET + 100);
	cr_assert_eq(r5_bitmap_create(16 * REGION, &sb, true, &m, rec_write_fn, &r, &b), 0);
	for (uint64_t k = 0; k < 16; k++)
		cr_assert(r5_bitmap_resync_pending(b, k * REGION));
	r5_bitmap_destroy(b);
	r5_member_close(&m);
	unlink(path);
}

Test(bitmap, garbage_bits_past_the_last_region_are_ignored)
{
	struct rec_writer r;
	struct r5_superblock sb = sb_with(REGION, R5_BITMAP_SIZE);
	struct r5_member m;
	struct r5_bitmap *b = NULL;
	uint8_t disk[PAGE];
	char path[32];

	rec_init(&r);
	memset(disk, 0xff, sizeof(disk));
	member_with_bitmap(&m, path, disk, sizeof(disk), R5_DATA_OFFSET);
	cr_assert_eq(r5_bitmap_create(10 * REGION, &sb, true, &m, rec_write_fn, &r, &b), 0);
	cr_assert(r5_bitmap_resync_pending(b, 9 * REGION));
	cr_assert_not(r5_bitmap_resync_pending(b, 10 * REGION));
	cr_assert_not(r5_bitmap_resync_pending(b, PAGE * 8 * REGION - 1));
	cr_assert_not(r5_bitmap_resync_pending(b, UINT64_MAX));
	r5_bitmap_destroy(b);
	r5_member_close(&m);
	unlink(path);
}

Test(bitmap, format_without_room_for_the_bits_is_refused)
{
	struct rec_writer r;
	struct r5_superblock sb = sb_with(4096, PAGE); /* one page: 32768 regions */
	struct r5_bitmap *b = NULL;

	rec_init(&r);
	cr_assert_eq(r5_bitmap_create(32769ull * 4096, &sb, false, NULL, rec_write_fn, &r, &b),
		     -EINVAL);
	cr_assert_null(b);
	sb.bitmap_size = 0;
	cr_assert_eq(r5_bitmap_create(4096, &sb, false, NULL, rec_write_fn, &r, &b), -EINVAL);
	cr_assert_null(b);
	sb.bitmap_size = PAGE;
	cr_assert_eq(r5_bitmap_create(32768ull * 4096, &sb, false, NULL, rec_write_fn, &r, &b), 0);
	cr_assert_not_null(b);
	cr_assert_eq(r.n, 0);
	r5_bitmap_destroy(b);
}

/* ---------- a new member's copy ---------- */

Test(bitmap, write_member_stores_the_bits_in_memory)
{
	struct rec_writer r;
	struct r5_member m;
	struct r5_bitmap *b;
	uint8_t got[PAGE];
	char path[32];

	rec_init(&r);
	b = clean_bitmap(64 * REGION, REGION, &r);
	cr_assert_eq(r5_bitmap_mark(b, 2 * REGION, 2 * REGION + 1), 0);
	cr_assert_eq(r5_bitmap_mark(b, 63 * REGION, 64 * REGION), 0);
	member_with_bitmap(&m, path, NULL, 0, R5_DATA_OFFSET);
	cr_assert_eq(r5_bitmap_write_member(b, &m, R5_BITMAP_OFFSET), 0);
	cr_assert_eq(r5_member_read(&m, got, sizeof(got), R5_BITMAP_OFFSET), 0);
	cr_assert_arr_eq(got, r.w[r.n - 1].page, PAGE,
			 "the new member's bitmap differs from the one on the others");
	r5_bitmap_destroy(b);
	r5_member_close(&m);
	unlink(path);
}
