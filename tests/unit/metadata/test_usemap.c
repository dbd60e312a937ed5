/* test_usemap.c - the in-use map (core/metadata/usemap.h) through a writer
 * that keeps "the disk" in memory: a new array's map calls everything
 * unused; a unit's bit is on disk before r5_usemap_mark returns, and only
 * the first write into a unit writes it; a release clears the bit on disk,
 * but not when a write came into the unit after its count was taken (a
 * user write racing a discard); a failed map write leaves the safe answer
 * (in use) behind; the map read back at assembly is the one written, and
 * an unreadable one calls everything in use; without the map (an array
 * made before it) every unit is in use. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raid5fs/member.h"
#include "raid5fs/superblock.h"
#include "usemap.h"

#define MB (1024ull * 1024)
#define UNIT (4 * MB)
#define DATA (256 * MB) /* 64 units */

struct disk {
	uint8_t area[R5_USEMAP_MAX]; /* the map area as the members hold it */
	int writes;                  /* calls of the writer */
	int fail;                    /* -errno for every call, or 0 */
};

static int
disk_write(void *ctx, uint64_t off, const void *buf, size_t len)
{
	struct disk *d = ctx;

	d->writes++;
	if (d->fail)
		return d->fail;
	cr_assert_geq(off, R5_USEMAP_OFFSET);
	cr_assert_leq(off - R5_USEMAP_OFFSET + len, sizeof(d->area));
	memcpy(d->area + (off - R5_USEMAP_OFFSET), buf, len);
	return 0;
}

static bool
disk_bit(const struct disk *d, uint64_t unit)
{
	return d->area[unit / 8] & (1u << (unit % 8));
}

static struct r5_superblock
sb_with_map(void)
{
	struct r5_superblock sb;
	struct r5_geometry g = { .nr_members = 4, .chunk_size = 65536,
				 .layout = R5_LAYOUT_LEFT_SYMMETRIC, .member_data_size = DATA };
	uint8_t uuid[16] = { 1 };

	r5_sb_init(&sb, uuid, &g, 0);
	r5_sb_set_usemap(&sb);
	return sb;
}

/* A member file whose map area holds d's bytes (file_size may cut it). */
static void
member_with(struct r5_member *m, char *path, const struct disk *d, uint64_t file_size)
{
	int fd;

	strcpy(path, "/tmp/r5um.XXXXXX");
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)file_size), 0);
	cr_assert_eq(r5_member_from_fd(m, fd, path), 0);
	if (file_size >= R5_USEMAP_OFFSET + 4096)
		cr_assert_eq(r5_member_write(m, d->area, 4096, R5_USEMAP_OFFSET), 0);
}

static struct r5_usemap *
open_map(struct disk *d, uint64_t file_size)
{
	struct r5_superblock sb = sb_with_map();
	struct r5_member m;
	struct r5_usemap *u;
	char path[64];

	member_with(&m, path, d, file_size);
	cr_assert_eq(r5_usemap_create(&sb, &m, disk_write, d, &u), 0);
	cr_assert_not_null(u);
	r5_member_close(&m);
	unlink(path);
	d->writes = 0;
	return u;
}

Test(usemap, a_new_map_calls_everything_unused)
{
	struct disk d = { 0 };
	struct r5_usemap *u = open_map(&d, 64 * 1024);
	uint64_t used, units;

	r5_usemap_count(u, &used, &units);
	cr_assert_eq(units, DATA / UNIT);
	cr_assert_eq(used, 0);
	for (uint64_t off = 0; off < DATA; off += UNIT / 2)
		cr_assert_not(r5_usemap_in_use(u, off));
	cr_assert_eq(r5_usemap_unit_size(u), UNIT);
	cr_assert_eq(r5_usemap_unit_of(u, 3 * UNIT + 5), 3);
	r5_usemap_destroy(u);
}

Test(usemap, the_first_write_into_a_unit_stores_its_bit)
{
	struct disk d = { 0 };
	struct r5_usemap *u = open_map(&d, 64 * 1024);
	uint64_t used, units;

	cr_assert_eq(r5_usemap_mark(u, UNIT - 4096, 2 * UNIT + 4096), 0); /* units 0, 1, 2 */
	cr_assert_eq(d.writes, 1, "one page write for three bits");
	for (uint64_t i = 0; i < 4; i++) {
		cr_assert_eq(disk_bit(&d, i), i < 3, "unit %llu on disk", (unsigned long long)i);
		cr_assert_eq(r5_usemap_in_use(u, i * UNIT), i < 3);
	}
	cr_assert_eq(r5_usemap_mark(u, UNIT, UNIT + 4096), 0);
	cr_assert_eq(d.writes, 1, "a unit in use costs no map write");
	r5_usemap_count(u, &used, &units);
	cr_assert_eq(used, 3);
	r5_usemap_destroy(u);
}

Test(usemap, release_clears_the_bit_unless_a_write_came_in)
{
	struct disk d = { 0 };
	struct r5_usemap *u = open_map(&d, 64 * 1024);
	uint64_t count;

	cr_assert_eq(r5_usemap_mark(u, 0, 3 * UNIT), 0);
	/* a discard of unit 1: nothing else wrote there */
	count = r5_usemap_writes(u, 1);
	cr_assert_eq(r5_usemap_release(u, 1, count), 1);
	cr_assert_not(disk_bit(&d, 1));
	cr_assert_not(r5_usemap_in_use(u, UNIT));
	cr_assert(disk_bit(&d, 0) && disk_bit(&d, 2), "its neighbours stay");
	/* a discard of unit 2 while a user write enters it: kept in use */
	count = r5_usemap_writes(u, 2);
	cr_assert_eq(r5_usemap_mark(u, 2 * UNIT + 8192, 2 * UNIT + 12288), 0);
	int before = d.writes;
	cr_assert_eq(r5_usemap_release(u, 2, count), 0);
	cr_assert(disk_bit(&d, 2));
	cr_assert(r5_usemap_in_use(u, 2 * UNIT));
	cr_assert_eq(d.writes, before, "nothing written for a unit kept");
	/* a unit released again is no news */
	cr_assert_eq(r5_usemap_release(u, 1, r5_usemap_writes(u, 1)), 1);
	r5_usemap_destroy(u);
}

Test(usemap, a_failed_map_write_leaves_the_unit_in_use)
{
	struct disk d = { 0 };
	struct r5_usemap *u = open_map(&d, 64 * 1024);

	d.fail = -EIO;
	cr_assert_eq(r5_usemap_mark(u, 0, 4096), -EIO, "the write must fail too");
	cr_assert_not(r5_usemap_in_use(u, 0), "not on disk: not published");
	d.fail = 0;
	cr_assert_eq(r5_usemap_mark(u, 0, 4096), 0);
	cr_assert(disk_bit(&d, 0));
	d.fail = -EIO;
	cr_assert_eq(r5_usemap_release(u, 0, r5_usemap_writes(u, 0)), -EIO);
	cr_assert(r5_usemap_in_use(u, 0), "a release that failed keeps the unit");
	r5_usemap_destroy(u);
}

Test(usemap, assembly_reads_the_map_back)
{
	struct disk d = { 0 };
	struct r5_usemap *u = open_map(&d, 64 * 1024);
	struct r5_superblock sb = sb_with_map();
	struct r5_member m;
	char path[64];

	cr_assert_eq(r5_usemap_mark(u, 5 * UNIT, 5 * UNIT + 1), 0);
	cr_assert_eq(r5_usemap_mark(u, 63 * UNIT, 64 * UNIT), 0);
	/* a member joining the array gets the whole map */
	member_with(&m, path, &(struct disk){ 0 }, 64 * 1024);
	cr_assert_eq(r5_usemap_write_member(u, &m, R5_USEMAP_OFFSET), 0);
	r5_usemap_destroy(u);
	struct r5_usemap *back;
	cr_assert_eq(r5_usemap_create(&sb, &m, disk_write, &d, &back), 0);
	for (uint64_t i = 0; i < DATA / UNIT; i++)
		cr_assert_eq(r5_usemap_in_use(back, i * UNIT), i == 5 || i == 63, "unit %llu",
			     (unsigned long long)i);
	r5_usemap_destroy(back);
	r5_member_close(&m);
	unlink(path);
}

Test(usemap, an_unreadable_map_calls_everything_in_use)
{
	struct disk d = { 0 };
	struct r5_usemap *u = open_map(&d, 4096); /* the file ends before the map */
	uint64_t used, units;

	r5_usemap_count(u, &used, &units);
	cr_assert_eq(used, units);
	r5_usemap_destroy(u);
}

Test(usemap, no_map_means_every_unit_in_use)
{
	struct r5_superblock sb = sb_with_map();
	struct r5_member m;
	struct r5_usemap *u = (struct r5_usemap *)&sb; /* must be overwritten */
	struct disk d = { 0 };
	char path[64];

	sb.flags &= ~R5_SB_FLAG_USEMAP;
	member_with(&m, path, &d, 64 * 1024);
	cr_assert_eq(r5_usemap_create(&sb, &m, disk_write, &d, &u), 0);
	cr_assert_null(u);
	cr_assert(r5_usemap_in_use(u, 0));
	cr_assert_eq(r5_usemap_mark(u, 0, UNIT), 0);
	cr_assert_eq(d.writes, 0);
	r5_member_close(&m);
	unlink(path);
}
