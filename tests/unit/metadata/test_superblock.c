/* test_superblock.c - superblock encode/decode, torn and corrupt copies,
 * member I/O helpers, and r5_array_create. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "raid5fs/array.h"
#include "raid5fs/member.h"
#include "raid5fs/checksum.h"
#include "raid5fs/superblock.h"
#include "raid5fs/util.h"

/* ---------- helpers ---------- */

static char tmpdir[64];

static void
mk_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/r5sb-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void
rm_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(sb, .init = mk_tmpdir, .fini = rm_tmpdir);
TestSuite(create, .init = mk_tmpdir, .fini = rm_tmpdir);
TestSuite(member, .init = mk_tmpdir, .fini = rm_tmpdir);

static void
tpath(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void
wr32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
wr64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the checksum after a test edited the encoded bytes. */
static void
reseal(uint8_t *buf)
{
	unsigned int len = 0;

	cr_assert_eq(EVP_Digest(buf, 4064, buf + 4064, &len, EVP_sha256(), NULL), 1);
	cr_assert_eq(len, 32);
}

static struct r5_geometry
test_geom(void)
{
	struct r5_geometry g = { .nr_members = 5, .chunk_size = 65536,
				 .layout = R5_LAYOUT_RIGHT_SYMMETRIC,
				 .member_data_size = 1ull << 30 };
	return g;
}

/* A superblock with a distinctive value in every field. */
static void
full_sb(struct r5_superblock *sb)
{
	struct r5_geometry g = test_geom();
	uint8_t uuid[16];

	for (int i = 0; i < 16; i++)
		uuid[i] = (uint8_t)(0xa0 + i);
	r5_sb_init(sb, uuid, &g, 3);
	for (int i = 0; i < 16; i++)
		sb->member_uuid[i] = (uint8_t)(0x10 + i);
	sb->generation = 0x0102030405060708ull;
	sb->events = 0x1112131415161718ull;
	sb->ctime = 1700000000;
	sb->utime = 1700000123;
	sb->state = R5_STATE_ACTIVE;
	sb->resync_offset = 0x123456789ull;
	sb->recovery_offset = 0x987654321ull;
	sb->bitmap_region_size = 128ull << 20;
	sb->roles[1] = R5_ROLE_FAULTY;
	sb->roles[2] = R5_ROLE_REBUILDING;
	sb->roles[4] = R5_ROLE_SPARE;
	strcpy(sb->name, "my array");
}

/* ---------- encode / decode ---------- */

Test(sb, reserved_area_follows_the_data_size)
{
	const uint64_t mib = 1024 * 1024;

	cr_assert_eq(r5_sb_reserved_size(1 * mib), R5_RESERVED_SIZE);
	cr_assert_eq(r5_sb_reserved_size(192 * mib), R5_RESERVED_SIZE);  /* every array before */
	cr_assert_eq(r5_sb_reserved_size(256 * mib), 4 * mib);
	cr_assert_eq(r5_sb_reserved_size(300 * mib), 4 * mib);           /* whole MiB */
	cr_assert_eq(r5_sb_reserved_size(1024 * mib), R5_RESERVED_MAX);
	cr_assert_eq(r5_sb_reserved_size(1ull << 40), R5_RESERVED_MAX);
	cr_assert_eq(r5_sb_data_offset(R5_CSUM_NONE, 64 * mib), R5_DATA_OFFSET);
}

Test(sb, init_defaults)
{
	struct r5_geometry g = test_geom();
	struct r5_superblock sb, sb2;
	uint8_t uuid[16] = { 1, 2, 3 };

	r5_sb_init(&sb, uuid, &g, 2);
	r5_sb_init(&sb2, uuid, &g, 2);
	cr_assert_eq(sb.version, R5_SB_VERSION);
	cr_assert_eq(sb.events, 1);
	cr_assert_eq(sb.generation, 0);
	cr_assert_eq(sb.state, R5_STATE_CLEAN);
	cr_assert_eq(sb.flags, 0);
	cr_assert_eq(sb.role, 2);
	cr_assert_eq(sb.nr_members, 5);
	cr_assert_eq(sb.chunk_size, 65536);
	cr_assert_eq(sb.layout, R5_LAYOUT_RIGHT_SYMMETRIC);
	/* 1 GiB of data: the largest reserved area, the data right after it */
	cr_assert_eq(sb.data_offset, R5_RESERVED_OFFSET + R5_RESERVED_MAX);
	cr_assert_eq(sb.data_size, 1ull << 30);
	cr_assert_eq(sb.resync_offset, R5_OFFSET_DONE);
	cr_assert_eq(sb.recovery_offset, R5_OFFSET_DONE);
	cr_assert_eq(sb.bitmap_offset, 64 * 1024);
	cr_assert_eq(sb.bitmap_size, 960 * 1024);
	cr_assert_eq(sb.bitmap_region_size, R5_DEFAULT_BITMAP_REGION);
	cr_assert_eq(sb.reserved_offset, 1024 * 1024);
	cr_assert_eq(sb.reserved_size, 16 * 1024 * 1024);
	cr_assert_arr_eq(sb.array_uuid, uuid, 16);
	cr_assert(memcmp(sb.member_uuid, sb2.member_uuid, 16) != 0, "member uuid not random");
	cr_assert_gt(sb.ctime, 1600000000);
	cr_assert_eq(sb.ctime, sb.utime);
	for (int i = 0; i < R5_MAX_MEMBERS; i++)
		cr_assert_eq(sb.roles[i], i < 5 ? R5_ROLE_IN_SYNC : R5_ROLE_EMPTY);
	cr_assert_eq(sb.name[0], '\0');
}

Test(sb, round_trip_every_field)
{
	struct r5_superblock a, b;
	struct r5_geometry g;
	uint8_t buf[R5_SB_SIZE];

	full_sb(&a);
	r5_sb_encode(&a, buf);
	memset(&b, 0x77, sizeof(b));
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_OK);
	cr_assert_eq(b.version, a.version);
	cr_assert_arr_eq(b.array_uuid, a.array_uuid, 16);
	cr_assert_arr_eq(b.member_uuid, a.member_uuid, 16);
	cr_assert_eq(b.generation, a.generation);
	cr_assert_eq(b.events, a.events);
	cr_assert_eq(b.ctime, a.ctime);
	cr_assert_eq(b.utime, a.utime);
	cr_assert_eq(b.role, a.role);
	cr_assert_eq(b.nr_members, a.nr_members);
	cr_assert_eq(b.chunk_size, a.chunk_size);
	cr_assert_eq(b.layout, a.layout);
	cr_assert_eq(b.data_offset, a.data_offset);
	cr_assert_eq(b.data_size, a.data_size);
	cr_assert_eq(b.state, a.state);
	cr_assert_eq(b.flags, a.flags);
	cr_assert_eq(b.resync_offset, a.resync_offset);
	cr_assert_eq(b.recovery_offset, a.recovery_offset);
	cr_assert_eq(b.bitmap_offset, a.bitmap_offset);
	cr_assert_eq(b.bitmap_size, a.bitmap_size);
	cr_assert_eq(b.bitmap_region_size, a.bitmap_region_size);
	cr_assert_eq(b.reserved_offset, a.reserved_offset);
	cr_assert_eq(b.reserved_size, a.reserved_size);
	cr_assert_arr_eq(b.roles, a.roles, R5_MAX_MEMBERS);
	cr_assert_str_eq(b.name, "my array");
	cr_assert_arr_eq(b.name, a.name, R5_NAME_LEN);

	r5_sb_geometry(&b, &g);
	cr_assert_eq(g.nr_members, 5);
	cr_assert_eq(g.chunk_size, 65536);
	cr_assert_eq(g.layout, R5_LAYOUT_RIGHT_SYMMETRIC);
	cr_assert_eq(g.member_data_size, 1ull << 30);
}

Test(sb, encoding_is_the_documented_byte_layout)
{
	struct r5_superblock a;
	uint8_t buf[R5_SB_SIZE];

	full_sb(&a);
	r5_sb_encode(&a, buf);
	cr_assert_arr_eq(buf, "R5FS", 4);
	cr_assert_eq(rd32(buf + 0), R5_SB_MAGIC);
	cr_assert_eq(rd32(buf + 4), R5_SB_VERSION);
	cr_assert_eq(buf[8], 0xa0);
	cr_assert_eq(buf[23], 0xaf);
	cr_assert_eq(buf[24], 0x10);
	cr_assert_eq(buf[39], 0x1f);
	cr_assert_eq(buf[40], 0x08); /* generation, little-endian */
	cr_assert_eq(buf[47], 0x01);
	cr_assert_eq(rd64(buf + 48), 0x1112131415161718ull);
	cr_assert_eq(rd64(buf + 56), 1700000000);
	cr_assert_eq(rd64(buf + 64), 1700000123);
	cr_assert_eq(rd32(buf + 72), 3);
	cr_assert_eq(rd32(buf + 76), 5);
	cr_assert_eq(rd32(buf + 80), 65536);
	cr_assert_eq(rd32(buf + 84), R5_LAYOUT_RIGHT_SYMMETRIC);
	cr_assert_eq(rd64(buf + 88), R5_RESERVED_OFFSET + R5_RESERVED_MAX);
	cr_assert_eq(rd64(buf + 96), 1ull << 30);
	cr_assert_eq(rd32(buf + 104), R5_STATE_ACTIVE);
	cr_assert_eq(rd32(buf + 108), 0);
	cr_assert_eq(rd64(buf + 112), 0x123456789ull);
	cr_assert_eq(rd64(buf + 120), 0x987654321ull);
	cr_assert_eq(rd64(buf + 128), R5_BITMAP_OFFSET);
	cr_assert_eq(rd64(buf + 136), R5_BITMAP_SIZE);
	cr_assert_eq(rd64(buf + 144), 128ull << 20);
	cr_assert_eq(rd64(buf + 152), R5_RESERVED_OFFSET);
	cr_assert_eq(rd64(buf + 160), R5_RESERVED_MAX);
	cr_assert_eq(buf[168 + 0], R5_ROLE_IN_SYNC);
	cr_assert_eq(buf[168 + 1], R5_ROLE_FAULTY);
	cr_assert_eq(buf[168 + 2], R5_ROLE_REBUILDING);
	cr_assert_eq(buf[168 + 4], R5_ROLE_SPARE);
	cr_assert_eq(buf[168 + 5], R5_ROLE_EMPTY);
	cr_assert_eq(buf[168 + 31], R5_ROLE_EMPTY);
	cr_assert_str_eq((const char *)buf + 200, "my array");
	for (int i = 264; i < 4064; i++)
		cr_assert_eq(buf[i], 0, "byte %d not zero", i);
	/* checksum is SHA-256 of 0..4063 */
	{
		uint8_t copy[R5_SB_SIZE];

		memcpy(copy, buf, sizeof(copy));
		memset(copy + 4064, 0, 32);
		reseal(copy);
		cr_assert_arr_eq(copy + 4064, buf + 4064, 32);
	}
}

Test(sb, corrupt_byte_is_bad_checksum)
{
	struct r5_superblock a, b;
	uint8_t buf[R5_SB_SIZE];
	const int spots[] = { 8, 40, 50, 77, 170, 210, 300, 4063, 4064, 4095 };

	full_sb(&a);
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		r5_sb_encode(&a, buf);
		buf[spots[i]] ^= 0x04;
		cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_BAD_CHECKSUM,
			     "flip at byte %d", spots[i]);
	}
}

Test(sb, wrong_magic_and_version)
{
	struct r5_superblock a, b;
	uint8_t buf[R5_SB_SIZE];

	full_sb(&a);
	r5_sb_encode(&a, buf);
	buf[0] = 'X';
	reseal(buf);
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_BAD_MAGIC);

	memset(buf, 0, sizeof(buf));
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_BAD_MAGIC);

	r5_sb_encode(&a, buf);
	wr32(buf + 4, R5_SB_VERSION + 1);
	reseal(buf);
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_BAD_VERSION);
	wr32(buf + 4, 0);
	reseal(buf);
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_BAD_VERSION);

	r5_sb_encode(&a, buf);
	cr_assert_eq(r5_sb_decode(buf, R5_SB_SIZE - 1, &b), R5_SB_BAD_FIELD, "short buffer");
}

/* Encodes a valid sb, applies one edit to the raw bytes, reseals, decodes. */
static enum r5_sb_status
decode_edited(void (*edit)(uint8_t *buf, uint64_t arg), uint64_t arg)
{
	struct r5_superblock a, b;
	uint8_t buf[R5_SB_SIZE];

	full_sb(&a);
	r5_sb_encode(&a, buf);
	edit(buf, arg);
	reseal(buf);
	return r5_sb_decode(buf, sizeof(buf), &b);
}

static void ed_role(uint8_t *b, uint64_t v) { wr32(b + 72, (uint32_t)v); }
static void ed_nr(uint8_t *b, uint64_t v) { wr32(b + 76, (uint32_t)v); }
static void ed_chunk(uint8_t *b, uint64_t v) { wr32(b + 80, (uint32_t)v); }
static void ed_layout(uint8_t *b, uint64_t v) { wr32(b + 84, (uint32_t)v); }
static void ed_doff(uint8_t *b, uint64_t v) { wr64(b + 88, v); }
static void ed_dsize(uint8_t *b, uint64_t v) { wr64(b + 96, v); }
static void ed_state(uint8_t *b, uint64_t v) { wr32(b + 104, (uint32_t)v); }
static void ed_flags(uint8_t *b, uint64_t v) { wr32(b + 108, (uint32_t)v); }
static void ed_roles(uint8_t *b, uint64_t v) { b[168 + (v >> 8)] = (uint8_t)v; }
static void ed_name_full(uint8_t *b, uint64_t v) { memset(b + 200, (int)v, 64); }
static void ed_bitmap_off(uint8_t *b, uint64_t v) { wr64(b + 128, v); }
/* the reserved area's size, the data moved up behind it */
static void
ed_reserved(uint8_t *b, uint64_t v)
{
	wr64(b + 160, v);
	wr64(b + 88, R5_RESERVED_OFFSET + v);
}
/* data right after the superblocks, no bitmap or reserved area */
/* a byte after the name's terminator (the name field is NUL-padded) */
static void
ed_name_tail(uint8_t *b, uint64_t v)
{
	(void)v;
	b[200 + R5_NAME_LEN - 1] = 2;
}

static void
ed_minimal_meta(uint8_t *b, uint64_t v)
{
	wr64(b + 88, v);
	wr64(b + 136, 0);
	wr64(b + 160, 0);
}

Test(sb, bad_fields_with_valid_checksum)
{
	/* sanity: an edit to a legal value still decodes */
	cr_assert_eq(decode_edited(ed_role, 4), R5_SB_OK);
	cr_assert_eq(decode_edited(ed_minimal_meta, 8192), R5_SB_OK);
	cr_assert_eq(decode_edited(ed_doff, 8192), R5_SB_BAD_FIELD); /* bitmap would overlap data */
	cr_assert_eq(decode_edited(ed_state, R5_STATE_CLEAN), R5_SB_OK);

	cr_assert_eq(decode_edited(ed_role, 5), R5_SB_BAD_FIELD);        /* role >= N */
	cr_assert_eq(decode_edited(ed_name_tail, 0), R5_SB_BAD_FIELD);   /* bytes after the NUL */
	cr_assert_eq(decode_edited(ed_nr, 2), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_nr, 33), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_chunk, 3000), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_chunk, 2048), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_chunk, 2u << 20), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_layout, 4), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_minimal_meta, 4096), R5_SB_BAD_FIELD); /* overlaps copy 1 */
	cr_assert_eq(decode_edited(ed_minimal_meta, 8192 + 512), R5_SB_BAD_FIELD); /* unaligned */
	cr_assert_eq(decode_edited(ed_minimal_meta, 0), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_doff, R5_RESERVED_OFFSET + R5_RESERVED_MAX + 4096), R5_SB_OK);
	cr_assert_eq(decode_edited(ed_doff, R5_DATA_OFFSET), R5_SB_BAD_FIELD); /* inside the log */
	cr_assert_eq(decode_edited(ed_doff, UINT64_MAX - 4095), R5_SB_BAD_FIELD); /* overflows */
	cr_assert_eq(decode_edited(ed_dsize, 0), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_dsize, (1ull << 30) + 4096), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_state, 2), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_flags, 2), R5_SB_BAD_FIELD); /* not a flag we know */
	cr_assert_eq(decode_edited(ed_flags, 8), R5_SB_BAD_FIELD); /* the next flag: unknown */
	cr_assert_eq(decode_edited(ed_flags, R5_SB_FLAG_PPL), R5_SB_OK);
	cr_assert_eq(decode_edited(ed_roles, (5u << 8) | R5_ROLE_IN_SYNC), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_roles, (31u << 8) | R5_ROLE_SPARE), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_roles, (0u << 8) | 7), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_name_full, 'x'), R5_SB_BAD_FIELD);
	cr_assert_eq(decode_edited(ed_bitmap_off, R5_RESERVED_OFFSET + R5_RESERVED_MAX),
		     R5_SB_BAD_FIELD); /* runs into data */
	/* a log larger than any create makes: refused, never half read */
	cr_assert_eq(decode_edited(ed_reserved, R5_RESERVED_MAX - 1024 * 1024), R5_SB_OK);
	cr_assert_eq(decode_edited(ed_reserved, R5_RESERVED_MAX + 1024 * 1024), R5_SB_BAD_FIELD);
}

Test(sb, status_strings)
{
	cr_assert(strstr(r5_sb_status_str(R5_SB_BAD_MAGIC), "not a raid5fs member"));
	cr_assert(strstr(r5_sb_status_str(R5_SB_BAD_VERSION), "version"));
	cr_assert(strstr(r5_sb_status_str(R5_SB_BAD_CHECKSUM), "checksum"));
	cr_assert(strstr(r5_sb_status_str(R5_SB_BAD_FIELD), "field"));
	cr_assert(strstr(r5_sb_status_str(R5_SB_IO_ERROR), "I/O"));
	cr_assert_not_null(r5_sb_status_str((enum r5_sb_status)99));
}

/* ---------- load / store on a real file ---------- */

static void
open_new(struct r5_member *m, const char *name, uint64_t size)
{
	char p[128];

	tpath(p, sizeof(p), name);
	cr_assert_eq(r5_member_open_file(m, p, 1), 0);
	if (size) {
		int fd = open(p, O_RDWR);
		cr_assert_eq(ftruncate(fd, (off_t)size), 0);
		close(fd);
	}
}

static uint64_t
copy_generation(struct r5_member *m, int copy, enum r5_sb_status *st)
{
	uint8_t buf[R5_SB_SIZE];
	struct r5_superblock sb;

	cr_assert_eq(r5_member_read(m, buf, sizeof(buf), R5_SB_COPY_OFFSET(copy)), 0);
	*st = r5_sb_decode(buf, sizeof(buf), &sb);
	return *st == R5_SB_OK ? sb.generation : 0;
}

static void
flip_byte(struct r5_member *m, uint64_t off)
{
	uint8_t b;

	cr_assert_eq(r5_member_read(m, &b, 1, off), 0);
	b ^= 0x80;
	cr_assert_eq(r5_member_write(m, &b, 1, off), 0);
}

Test(sb, store_alternates_copies)
{
	struct r5_member m;
	struct r5_superblock sb, got;
	struct r5_geometry g = test_geom();
	uint8_t uuid[16] = { 9 };
	enum r5_sb_status st0, st1;

	open_new(&m, "m", 1 << 20);
	r5_sb_init(&sb, uuid, &g, 0);
	for (uint64_t gen = 1; gen <= 5; gen++) {
		uint64_t g0, g1;

		sb.events = 100 + gen;
		cr_assert_eq(r5_sb_store(&m, &sb), 0);
		cr_assert_eq(sb.generation, gen);
		g0 = copy_generation(&m, 0, &st0);
		g1 = copy_generation(&m, 1, &st1);
		/* the new generation went to copy gen % 2; the other copy still
		 * holds the previous one (or nothing yet after the first store) */
		if (gen % 2) {
			cr_assert_eq(st1, R5_SB_OK);
			cr_assert_eq(g1, gen);
			if (gen > 1)
				cr_assert_eq(g0, gen - 1);
			else
				cr_assert_eq(st0, R5_SB_BAD_MAGIC);
		} else {
			cr_assert_eq(g0, gen);
			cr_assert_eq(g1, gen - 1);
		}
		cr_assert_eq(r5_sb_load(&m, &got), R5_SB_OK);
		cr_assert_eq(got.generation, gen);
		cr_assert_eq(got.events, 100 + gen);
	}
	r5_member_close(&m);
}

Test(sb, torn_newest_copy_falls_back_to_older)
{
	struct r5_member m;
	struct r5_superblock sb, got;
	struct r5_geometry g = test_geom();
	uint8_t uuid[16] = { 7 };

	open_new(&m, "m", 1 << 20);
	r5_sb_init(&sb, uuid, &g, 1);
	sb.events = 10;
	cr_assert_eq(r5_sb_store(&m, &sb), 0); /* gen 1 -> copy 1 */
	sb.events = 11;
	cr_assert_eq(r5_sb_store(&m, &sb), 0); /* gen 2 -> copy 0 */
	sb.events = 12;
	cr_assert_eq(r5_sb_store(&m, &sb), 0); /* gen 3 -> copy 1 */

	flip_byte(&m, R5_SB_COPY_OFFSET(1) + 100); /* tear the newest */
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_OK);
	cr_assert_eq(got.generation, 2);
	cr_assert_eq(got.events, 11);

	/* the next store from the loaded sb goes to copy 1 again (gen 3) and
	 * leaves gen 2 alone */
	cr_assert_eq(r5_sb_store(&m, &got), 0);
	cr_assert_eq(got.generation, 3);
	cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
	cr_assert_eq(sb.generation, 3);
	cr_assert_eq(sb.events, 11);

	/* tear the older one instead: newest still wins */
	flip_byte(&m, R5_SB_COPY_OFFSET(0) + 3000);
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_OK);
	cr_assert_eq(got.generation, 3);

	/* both torn */
	flip_byte(&m, R5_SB_COPY_OFFSET(1) + 4070);
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_BAD_CHECKSUM);
	r5_member_close(&m);
}

Test(sb, load_reports_the_most_informative_failure)
{
	struct r5_member m;
	struct r5_superblock sb, got;
	struct r5_geometry g = test_geom();
	uint8_t uuid[16] = { 7 };
	uint8_t buf[R5_SB_SIZE];

	/* empty file: not a member (not an I/O error) */
	open_new(&m, "empty", 0);
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_BAD_MAGIC);
	r5_member_close(&m);

	/* zeros */
	open_new(&m, "zeros", 1 << 20);
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_BAD_MAGIC);

	/* copy 0 zero, copy 1 corrupt -> checksum */
	r5_sb_init(&sb, uuid, &g, 0);
	cr_assert_eq(r5_sb_store(&m, &sb), 0); /* copy 1 */
	flip_byte(&m, R5_SB_COPY_OFFSET(1) + 50);
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_BAD_CHECKSUM);

	/* copy 0 with a newer version -> version beats checksum */
	sb.generation = 1;
	r5_sb_encode(&sb, buf);
	wr32(buf + 4, 7);
	reseal(buf);
	cr_assert_eq(r5_member_write(&m, buf, sizeof(buf), 0), 0);
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_BAD_VERSION);

	/* copy 0 with a bad field (a flag nobody knows) */
	r5_sb_encode(&sb, buf);
	wr32(buf + 108, 2);
	reseal(buf);
	cr_assert_eq(r5_member_write(&m, buf, sizeof(buf), 0), 0);
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_BAD_FIELD);
	r5_member_close(&m);

	/* file holding only copy 0 (4 KiB long): copy 0 still loads */
	open_new(&m, "short", 0);
	r5_sb_init(&sb, uuid, &g, 0);
	sb.generation = 6;
	r5_sb_encode(&sb, buf);
	cr_assert_eq(r5_member_write(&m, buf, sizeof(buf), 0), 0);
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_OK);
	cr_assert_eq(got.generation, 6);
	r5_member_close(&m);
}

/* ---------- member helpers under a scripted fake backend ---------- */

struct fake {
	uint8_t data[8192];
	int calls;
	int fail_write;  /* pwrite returns this (negative) when non-zero */
	int short_max;   /* at most this many bytes per call */
	int eintr_every; /* every n-th call returns -EINTR */
	int syncs;
	int closed;
};

static ssize_t
fake_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct fake *f = ctx;

	if (f->eintr_every && ++f->calls % f->eintr_every == 0)
		return -EINTR;
	if (off >= sizeof(f->data))
		return 0;
	if (len > sizeof(f->data) - off)
		len = sizeof(f->data) - off;
	if (f->short_max && len > (size_t)f->short_max)
		len = (size_t)f->short_max;
	memcpy(buf, f->data + off, len);
	return (ssize_t)len;
}

static ssize_t
fake_pwrite(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct fake *f = ctx;

	if (f->fail_write)
		return f->fail_write;
	if (f->eintr_every && ++f->calls % f->eintr_every == 0)
		return -EINTR;
	if (off >= sizeof(f->data))
		return -ENOSPC;
	if (len > sizeof(f->data) - off)
		len = sizeof(f->data) - off;
	if (f->short_max && len > (size_t)f->short_max)
		len = (size_t)f->short_max;
	memcpy(f->data + off, buf, len);
	return (ssize_t)len;
}

static int fake_sync(void *ctx) { ((struct fake *)ctx)->syncs++; return 0; }
static void fake_close(void *ctx) { ((struct fake *)ctx)->closed++; }

static const struct r5_member_ops fake_ops = {
	.pread = fake_pread, .pwrite = fake_pwrite, .sync = fake_sync, .close = fake_close,
};

Test(member, short_transfers_and_eintr)
{
	static struct fake f;
	struct r5_member m = { .ops = &fake_ops, .ctx = &f };
	uint8_t in[5000], out[5000];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7);
	f.short_max = 333;
	f.eintr_every = 3;
	cr_assert_eq(r5_member_write(&m, in, sizeof(in), 100), 0);
	cr_assert_arr_eq(f.data + 100, in, sizeof(in));
	cr_assert_eq(r5_member_read(&m, out, sizeof(out), 100), 0);
	cr_assert_arr_eq(out, in, sizeof(in));
	/* read across the end: short read at EOF is -EIO */
	cr_assert_eq(r5_member_read(&m, out, 200, 8100), -EIO);
	/* write beyond the end */
	cr_assert_eq(r5_member_write(&m, in, 200, 8100), -ENOSPC);
	cr_assert_eq(r5_member_size(&m), -ENOTSUP);
	cr_assert_eq(r5_member_sync(&m), 0);
	cr_assert_eq(f.syncs, 1);
	r5_member_close(&m);
	cr_assert_eq(f.closed, 1);
	r5_member_close(&m); /* safe twice */
	cr_assert_eq(f.closed, 1);
	cr_assert_eq(r5_member_read(&m, out, 1, 0), -ENODEV);
}

Test(member, store_failure_keeps_generation)
{
	static struct fake f;
	struct r5_member m = { .ops = &fake_ops, .ctx = &f };
	struct r5_superblock sb, got;
	struct r5_geometry g = test_geom();
	uint8_t uuid[16] = { 1 };

	r5_sb_init(&sb, uuid, &g, 0);
	cr_assert_eq(r5_sb_store(&m, &sb), 0);
	cr_assert_eq(r5_sb_store(&m, &sb), 0);
	cr_assert_eq(sb.generation, 2);
	f.fail_write = -EIO;
	cr_assert_eq(r5_sb_store(&m, &sb), -EIO);
	cr_assert_eq(sb.generation, 2, "a failed store must not advance the generation");
	f.fail_write = 0;
	cr_assert_eq(r5_sb_store(&m, &sb), 0);
	cr_assert_eq(sb.generation, 3);
	cr_assert_eq(r5_sb_load(&m, &got), R5_SB_OK);
	cr_assert_eq(got.generation, 3);
	cr_assert_eq(f.syncs, 3);
}

Test(member, file_backend)
{
	struct r5_member m;
	char p[128];
	uint8_t buf[100];

	tpath(p, sizeof(p), "f");
	cr_assert_eq(r5_member_open_file(&m, p, 0), -ENOENT);
	cr_assert_eq(r5_member_open_file(&m, p, 1), 0);
	cr_assert_str_eq(m.path, p);
	cr_assert_eq(r5_member_size(&m), 0);
	memset(buf, 0x3c, sizeof(buf));
	cr_assert_eq(r5_member_write(&m, buf, sizeof(buf), 1000), 0);
	cr_assert_eq(r5_member_size(&m), 1100);
	cr_assert_eq(r5_member_sync(&m), 0);
	cr_assert_eq(r5_member_read(&m, buf, 50, 1050), 0);
	cr_assert_eq(buf[0], 0x3c);
	cr_assert_eq(r5_member_read(&m, buf, 100, 1050), -EIO); /* past EOF */
	r5_member_close(&m);
	{
		struct stat st;

		cr_assert_eq(stat(p, &st), 0);
		/* a member file holds the array's data: its owner only */
		cr_assert_eq(st.st_mode & 0777, 0600 & ~umask(022));
	}
	cr_assert_eq(r5_member_open_file(&m, p, 1), -EEXIST);
	cr_assert_eq(r5_member_open_file(&m, p, 0), 0);
	cr_assert_eq(r5_member_size(&m), 1100);
	r5_member_close(&m);
}

/* ---------- r5_array_create ---------- */

#define MiB (1024ull * 1024)

static void
paths_for(char names[][128], const char **paths, int n, const char *prefix)
{
	for (int i = 0; i < n; i++) {
		snprintf(names[i], 128, "%s/%s%d", tmpdir, prefix, i);
		paths[i] = names[i];
	}
}

static bool
exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static uint8_t *
slurp(const char *p, size_t *len)
{
	int fd = open(p, O_RDONLY);
	struct stat st;
	uint8_t *buf;

	cr_assert_geq(fd, 0);
	cr_assert_eq(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len + 1);
	cr_assert_not_null(buf);
	cr_assert_eq(pread(fd, buf, *len, 0), (ssize_t)*len);
	close(fd);
	return buf;
}

static void
load_file(const char *p, struct r5_superblock copies[2])
{
	struct r5_member m;
	uint8_t buf[R5_SB_SIZE];

	cr_assert_eq(r5_member_open_file(&m, p, 0), 0);
	for (int c = 0; c < 2; c++) {
		cr_assert_eq(r5_member_read(&m, buf, sizeof(buf), R5_SB_COPY_OFFSET(c)), 0);
		cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &copies[c]), R5_SB_OK,
			     "%s copy %d", p, c);
	}
	r5_member_close(&m);
}

Test(create, happy_path)
{
	char names[4][128];
	const char *paths[4];
	struct r5_create_opts o = { .chunk_size = 16384, .layout = R5_LAYOUT_LEFT_ASYMMETRIC,
				    .member_size = 2 * MiB, .name = "test" };
	struct r5_superblock sb[4][2];
	char err[256] = "untouched";

	paths_for(names, paths, 4, "m");
	cr_assert_eq(r5_array_create(paths, 4, &o, err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 4; i++) {
		struct stat st;
		size_t len;
		uint8_t *bytes;

		cr_assert_eq(stat(paths[i], &st), 0);
		/* crc32c by default: 2 MiB of data need 512 entries, one
		 * table page, in a 64 KiB aligned table after the reserved area */
		cr_assert_eq((uint64_t)st.st_size, R5_DATA_OFFSET + 64 * 1024 + 2 * MiB);
		load_file(paths[i], sb[i]);
		cr_assert_eq(sb[i][0].generation, 2);
		cr_assert_eq(sb[i][1].generation, 1);
		for (int c = 0; c < 2; c++) {
			struct r5_superblock *s = &sb[i][c];

			cr_assert_eq(s->role, (uint32_t)i);
			cr_assert_eq(s->nr_members, 4);
			cr_assert_eq(s->chunk_size, 16384);
			cr_assert_eq(s->layout, R5_LAYOUT_LEFT_ASYMMETRIC);
			cr_assert_eq(s->data_offset, R5_DATA_OFFSET + 64 * 1024);
			cr_assert_eq(s->data_size, 2 * MiB);
			cr_assert_eq(s->version, R5_SB_VERSION);
			cr_assert_eq(s->csum_alg, R5_CSUM_CRC32C);
			cr_assert_eq(s->csum_offset, R5_CSUM_OFFSET);
			cr_assert_eq(s->csum_size, 64 * 1024);
			cr_assert_eq(s->events, 1);
			cr_assert_eq(s->state, R5_STATE_CLEAN);
			cr_assert_eq(s->resync_offset, R5_OFFSET_DONE);
			cr_assert_str_eq(s->name, "test");
			for (int r = 0; r < R5_MAX_MEMBERS; r++)
				cr_assert_eq(s->roles[r], r < 4 ? R5_ROLE_IN_SYNC : R5_ROLE_EMPTY);
			cr_assert_arr_eq(s->array_uuid, sb[0][0].array_uuid, 16);
			cr_assert_arr_eq(s->member_uuid, sb[i][0].member_uuid, 16);
		}
		for (int j = 0; j < i; j++)
			cr_assert(memcmp(sb[i][0].member_uuid, sb[j][0].member_uuid, 16) != 0,
				  "members %d and %d share a uuid", i, j);
		/* everything between the superblocks and the end is zero */
		bytes = slurp(paths[i], &len);
		for (size_t b = 2 * R5_SB_SIZE; b < len; b++)
			if (bytes[b] != 0)
				cr_assert_fail("%s: byte %zu is %u, not zero", paths[i], b, bytes[b]);
		free(bytes);
	}
}

Test(create, defaults_and_size_from_existing_files)
{
	char names[3][128];
	const char *paths[3];
	struct r5_create_opts o = { .member_size = 0, .force = true,
				    .layout = R5_DEFAULT_LAYOUT };
	struct r5_superblock sb[2];
	char err[256];

	paths_for(names, paths, 3, "e");
	for (int i = 0; i < 3; i++) {
		int fd = open(paths[i], O_RDWR | O_CREAT, 0644);

		cr_assert_geq(fd, 0);
		cr_assert_eq(write(fd, "junk", 4), 4);
		/* sizes 4M + 64K (the smallest crc32c table) + 300K, +200K,
		 * +999K: smallest data area 200K -> 192K */
		cr_assert_eq(ftruncate(fd, (off_t)(R5_DATA_OFFSET + 64 * 1024 +
						   (i == 1 ? 200 : i ? 999 : 300) * 1024)), 0);
		close(fd);
	}
	o.chunk_size = 65536;
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), 0, "%s", err);
	load_file(paths[1], sb);
	cr_assert_eq(sb[0].data_size, 192 * 1024);
	cr_assert_eq(sb[0].layout, R5_LAYOUT_LEFT_SYMMETRIC);
	{
		size_t len;
		uint8_t *bytes = slurp(paths[2], &len);

		cr_assert_eq(len, R5_DATA_OFFSET + 64 * 1024 + 192 * 1024, "forced file resized");
		for (size_t b = 2 * R5_SB_SIZE; b < len; b++)
			if (bytes[b] != 0)
				cr_assert_fail("stale byte at %zu", b);
		free(bytes);
	}

	/* the default chunk */
	paths_for(names, paths, 3, "d");
	o = (struct r5_create_opts){ .member_size = MiB };
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), 0, "%s", err);
	load_file(paths[0], sb);
	cr_assert_eq(sb[0].chunk_size, R5_DEFAULT_CHUNK);

	/* size from files, but one does not exist */
	paths_for(names, paths, 3, "z");
	close(open(paths[0], O_RDWR | O_CREAT, 0644));
	o = (struct r5_create_opts){ .member_size = 0 };
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, paths[1]) != NULL, "%s", err);
	cr_assert(!exists(paths[1]) && !exists(paths[2]));
}

Test(create, refuses_a_path_listed_twice)
{
	char a[128], b[128], c[128], dotted[160];
	const char *paths[4];
	struct r5_create_opts o = { .member_size = MiB };
	char err[256] = "";

	tpath(a, sizeof(a), "a");
	tpath(b, sizeof(b), "b");
	tpath(c, sizeof(c), "c");
	paths[0] = a; paths[1] = b; paths[2] = a;
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, a) && strstr(err, "listed twice"), "%s", err);
	cr_assert(!exists(a) && !exists(b), "nothing may be created");

	/* the same file under another spelling */
	snprintf(dotted, sizeof(dotted), "%s/./../%s/b", tmpdir, strrchr(tmpdir, '/') + 1);
	paths[0] = a; paths[1] = b; paths[2] = c; paths[3] = dotted;
	cr_assert_eq(r5_array_create(paths, 4, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "listed twice"), "%s", err);
	cr_assert(!exists(a) && !exists(b) && !exists(c));

	/* existing file via a hard link */
	close(open(b, O_RDWR | O_CREAT, 0644));
	cr_assert_eq(link(b, c), 0);
	paths[0] = a; paths[1] = b; paths[2] = c;
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "listed twice"), "%s", err);
	cr_assert(!exists(a));
}

Test(create, refuses_an_existing_member_and_changes_nothing)
{
	char names[3][128], others[3][128];
	const char *paths[3], *paths2[3];
	struct r5_create_opts o = { .member_size = MiB, .chunk_size = 4096 };
	struct r5_superblock sb[2], sb2[2];
	char err[256] = "", uuid[37];
	uint8_t *before, *after;
	size_t lb, la;

	paths_for(names, paths, 3, "m");
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), 0, "%s", err);
	load_file(paths[1], sb);
	r5_uuid_format(sb[0].array_uuid, uuid);
	before = slurp(paths[1], &lb);

	paths_for(others, paths2, 3, "n");
	paths2[2] = paths[1];
	cr_assert_eq(r5_array_create(paths2, 3, &o, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, paths[1]) && strstr(err, "already a member of array") &&
		  strstr(err, uuid) && strstr(err, "--force"), "%s", err);
	cr_assert(!exists(paths2[0]) && !exists(paths2[1]), "nothing may be created");
	after = slurp(paths[1], &la);
	cr_assert_eq(la, lb);
	cr_assert(memcmp(before, after, lb) == 0, "member bytes changed");
	free(after);

	/* one valid copy is enough to count as a member */
	{
		int fd = open(paths[1], O_RDWR);
		uint8_t z = 0x55;

		cr_assert_eq(pwrite(fd, &z, 1, 100), 1); /* corrupt copy 0 */
		close(fd);
	}
	cr_assert_eq(r5_array_create(paths2, 3, &o, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, "already a member"), "%s", err);

	/* with force: overwritten, new array uuid */
	o.force = true;
	cr_assert_eq(r5_array_create(paths2, 3, &o, err, sizeof(err)), 0, "%s", err);
	load_file(paths[1], sb2);
	cr_assert(memcmp(sb2[0].array_uuid, sb[0].array_uuid, 16) != 0);
	cr_assert_eq(sb2[0].role, 2);
	cr_assert(exists(paths2[0]) && exists(paths2[1]));
	free(before);
}

Test(create, refuses_a_non_empty_foreign_file)
{
	char names[3][128];
	const char *paths[3];
	struct r5_create_opts o = { .member_size = MiB };
	char err[256] = "";
	int fd;

	paths_for(names, paths, 3, "f");
	fd = open(paths[2], O_RDWR | O_CREAT, 0644);
	cr_assert_eq(write(fd, "precious", 8), 8);
	close(fd);
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), -EEXIST);
	cr_assert(strstr(err, paths[2]) && strstr(err, "exists and is not empty"), "%s", err);
	cr_assert(!exists(paths[0]) && !exists(paths[1]));
	{
		size_t len;
		uint8_t *b = slurp(paths[2], &len);

		cr_assert_eq(len, 8);
		cr_assert_arr_eq(b, "precious", 8);
		free(b);
	}
	/* an empty existing file is fine */
	cr_assert_eq(truncate(paths[2], 0), 0);
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), 0, "%s", err);

	/* a directory is not a member file */
	paths_for(names, paths, 3, "g");
	cr_assert_eq(mkdir(paths[0], 0755), 0);
	cr_assert_lt(r5_array_create(paths, 3, &o, err, sizeof(err)), 0);
	cr_assert(strstr(err, paths[0]), "%s", err);
	cr_assert(!exists(paths[1]));
}

Test(create, bad_arguments)
{
	char names[4][128];
	const char *paths[4];
	struct r5_create_opts o = { .member_size = MiB, .chunk_size = 3000 };
	char err[256] = "";

	paths_for(names, paths, 4, "x");
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "chunk size 3000"), "%s", err);

	o.chunk_size = 65536;
	cr_assert_eq(r5_array_create(paths, 2, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "got 2"), "%s", err);

	o.layout = 7;
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "layout"), "%s", err);

	o.layout = 0;
	o.member_size = MiB + 4096; /* not a multiple of the chunk */
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "multiple"), "%s", err);

	o.member_size = MiB;
	o.name = "a name that is far too long to fit in the sixty-four byte name field";
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "name"), "%s", err);

	/* parent directory missing: named, nothing created */
	o.name = NULL;
	snprintf(names[3], 128, "%s/nodir/m", tmpdir);
	paths[2] = names[3];
	cr_assert_eq(r5_array_create(paths, 3, &o, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, names[3]), "%s", err);

	for (int i = 0; i < 3; i++)
		cr_assert(!exists(names[i]), "%s created", names[i]);
	/* NULL err is allowed */
	cr_assert_eq(r5_array_create(paths, 2, &o, NULL, 0), -EINVAL);
}

Test(create, cleans_up_created_files_on_failure)
{
	char names[3][128];
	const char *paths[3];
	struct r5_create_opts o = { .member_size = 1ull << 50 }; /* 1 PiB: ftruncate fails on tmpfs/ext4 */
	char err[256] = "";
	int ret;

	paths_for(names, paths, 3, "big");
	ret = r5_array_create(paths, 3, &o, err, sizeof(err));
	if (ret == 0)
		cr_skip_test("filesystem accepted a 1 PiB sparse file");
	cr_assert_lt(ret, 0);
	cr_assert(strstr(err, paths[0]), "%s", err);
	for (int i = 0; i < 3; i++)
		cr_assert(!exists(paths[i]), "%s left behind", paths[i]);
}

/* The hot spares: a spare's own superblock (role R5_SB_ROLE_SPARE) and the
 * members' table of spare uuids, at its documented place; a table that
 * does not match its flag, is too long, or has bytes past its end is
 * refused. */
static void ed_role_spare(uint8_t *b, uint64_t v) { (void)v; wr32(b + 72, R5_SB_ROLE_SPARE); }
static void ed_nr_spares(uint8_t *b, uint64_t v) { wr32(b + 320, (uint32_t)v); }
static void ed_flags_spares(uint8_t *b, uint64_t v) { wr32(b + 108, (uint32_t)v); }
static void
ed_spare_tail(uint8_t *b, uint64_t v)
{
	wr32(b + 108, R5_SB_FLAG_SPARES);
	wr32(b + 320, 1);
	b[328 + 16 * v] = 0x77; /* entry v: inside the table for v 0, past it else */
}

Test(sb, spares_table_and_spare_role)
{
	struct r5_superblock a, b;
	uint8_t buf[R5_SB_SIZE];

	full_sb(&a);
	a.flags |= R5_SB_FLAG_SPARES;
	a.nr_spares = 2;
	memset(a.spare_uuid[0], 0x31, 16);
	memset(a.spare_uuid[1], 0x32, 16);
	r5_sb_encode(&a, buf);
	cr_assert_eq(rd32(buf + 320), 2);
	cr_assert_eq(buf[328], 0x31);
	cr_assert_eq(buf[328 + 16], 0x32);
	cr_assert_eq(buf[328 + 32], 0);
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_OK);
	cr_assert_eq(b.nr_spares, 2);
	cr_assert_arr_eq(b.spare_uuid, a.spare_uuid, sizeof(a.spare_uuid));

	cr_assert_eq(decode_edited(ed_role_spare, 0), R5_SB_OK);
	cr_assert_eq(decode_edited(ed_nr_spares, 1), R5_SB_BAD_FIELD);     /* no flag */
	cr_assert_eq(decode_edited(ed_flags_spares, R5_SB_FLAG_SPARES), R5_SB_BAD_FIELD); /* no table */
	cr_assert_eq(decode_edited(ed_spare_tail, 0), R5_SB_OK);
	cr_assert_eq(decode_edited(ed_spare_tail, 1), R5_SB_BAD_FIELD);    /* past the end */
	cr_assert_eq(decode_edited(ed_spare_tail, R5_MAX_SPARES - 1), R5_SB_BAD_FIELD);
}

/* The in-use map (core/metadata/usemap.h): a new member's is sized from
 * its data, sits at 8 KiB and round-trips at bytes 456..479; its fields
 * go with its flag, and one that is out of place or not whole rows is
 * refused. */
static void
ed_usemap(uint8_t *b, uint64_t v)
{
	uint64_t off = R5_USEMAP_OFFSET, size = 4096, unit = 4ull << 20;
	uint32_t flags = rd32(b + 108) | R5_SB_FLAG_USEMAP;

	switch (v) {
	case 1: flags &= ~R5_SB_FLAG_USEMAP; break; /* fields without the flag */
	case 2: size = 0; break;                    /* the flag without a map */
	case 3: unit = 65536 + 4096; break;         /* not whole rows (64 KiB chunks) */
	case 4: unit = 0; break;
	case 5: off = 4096; break;                  /* over superblock copy 1 */
	case 6: size = 60 * 1024; break;            /* runs into the bitmap at 64 KiB */
	case 7: off = 8192 + 512; break;            /* not page aligned */
	case 8: unit = 1ull << 51; break;           /* absurd */
	default: break;
	}
	wr32(b + 108, flags);
	wr64(b + 456, off);
	wr64(b + 464, size);
	wr64(b + 472, unit);
}

Test(sb, usemap_fields)
{
	struct r5_superblock a, b;
	uint8_t buf[R5_SB_SIZE];

	full_sb(&a);
	cr_assert_eq(a.flags & R5_SB_FLAG_USEMAP, 0, "r5_sb_init gives no map");
	r5_sb_set_usemap(&a);
	cr_assert(a.flags & R5_SB_FLAG_USEMAP);
	cr_assert_eq(a.usemap_offset, R5_USEMAP_OFFSET);
	cr_assert_eq(a.usemap_unit, R5_USEMAP_UNIT);
	cr_assert_eq(a.usemap_size, 4096); /* 256 bits, one page */
	r5_sb_encode(&a, buf);
	cr_assert_eq(rd64(buf + 456), R5_USEMAP_OFFSET);
	cr_assert_eq(rd64(buf + 464), 4096);
	cr_assert_eq(rd64(buf + 472), R5_USEMAP_UNIT);
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_OK);
	cr_assert_eq(b.usemap_offset, a.usemap_offset);
	cr_assert_eq(b.usemap_size, a.usemap_size);
	cr_assert_eq(b.usemap_unit, a.usemap_unit);

	/* a huge member: bigger units, so the bits fit the 56 KiB area */
	a.data_size = 1ull << 50;
	r5_sb_set_usemap(&a);
	cr_assert_leq(a.usemap_size, R5_USEMAP_MAX);
	cr_assert_geq(a.usemap_size * 8 * a.usemap_unit, a.data_size);
	cr_assert_eq(a.usemap_unit % a.chunk_size, 0);

	cr_assert_eq(decode_edited(ed_usemap, 0), R5_SB_OK);
	for (uint64_t v = 1; v <= 8; v++)
		cr_assert_eq(decode_edited(ed_usemap, v), R5_SB_BAD_FIELD, "edit %llu",
			     (unsigned long long)v);
}
