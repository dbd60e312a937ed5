/* superblock.c - encode, decode, load and store the member superblock.
 *
 * The byte layout is documented in include/raid5fs/superblock.h; every field
 * is written explicitly in little-endian order (never a struct memcpy), so
 * the format does not depend on the compiler's padding or the host's byte
 * order.
 *
 * Decode order (as md's super_1_load): magic, then version, then checksum,
 * then the fields. The version comes before the checksum because a newer
 * format may checksum differently: "unsupported version" is the useful
 * answer there, not "corrupt".
 *
 * Bytes 320..4063 (264..4063 in version 1) are zero but are not checked:
 * they are covered by the checksum, and leaving them unchecked lets a
 * compatible extension use them. A version 1 superblock decodes with the
 * checksum fields zero (no table) and is written back as version 1, so an
 * old array's members never change format under it.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "le.h"
#include "raid5fs/checksum.h"
#include "raid5fs/superblock.h"
#include "raid5fs/util.h"

#define SB_CSUM_OFFSET 4064u
#define SB_CSUM_LEN 32u

/* field offsets, see superblock.h */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 4,
	OFF_ARRAY_UUID = 8,
	OFF_MEMBER_UUID = 24,
	OFF_GENERATION = 40,
	OFF_EVENTS = 48,
	OFF_CTIME = 56,
	OFF_UTIME = 64,
	OFF_ROLE = 72,
	OFF_NR_MEMBERS = 76,
	OFF_CHUNK_SIZE = 80,
	OFF_LAYOUT = 84,
	OFF_DATA_OFFSET = 88,
	OFF_DATA_SIZE = 96,
	OFF_STATE = 104,
	OFF_FLAGS = 108,
	OFF_RESYNC = 112,
	OFF_RECOVERY = 120,
	OFF_BITMAP_OFFSET = 128,
	OFF_BITMAP_SIZE = 136,
	OFF_BITMAP_REGION = 144,
	OFF_RESERVED_OFFSET = 152,
	OFF_RESERVED_SIZE = 160,
	OFF_ROLES = 168,
	OFF_NAME = 200,
	OFF_END_V1 = 264,
	OFF_CSUM_ALG = 264,
	OFF_CSUM_OFFSET = 272,
	OFF_CSUM_SIZE = 280,
	OFF_KEY_CHECK = 288,
	OFF_NR_SPARES = 320,
	OFF_SPARE_UUIDS = 328,
	OFF_USEMAP_OFFSET = 456,
	OFF_USEMAP_SIZE = 464,
	OFF_USEMAP_UNIT = 472,
	OFF_END = 480,
};

_Static_assert(OFF_ROLES + R5_MAX_MEMBERS == OFF_NAME, "roles table size");
_Static_assert(OFF_NAME + R5_NAME_LEN == OFF_END_V1, "name size");
_Static_assert(OFF_KEY_CHECK + 32 == OFF_NR_SPARES, "key check size");
_Static_assert(OFF_SPARE_UUIDS + 16 * R5_MAX_SPARES == OFF_USEMAP_OFFSET, "spare table size");

/* SHA-256 of bytes 0..4063 into out (32 bytes). 0 or -EIO. */
static int
sb_checksum(const uint8_t *buf, uint8_t *out)
{
	unsigned int len = 0;

	if (EVP_Digest(buf, SB_CSUM_OFFSET, out, &len, EVP_sha256(), NULL) != 1 ||
	    len != SB_CSUM_LEN)
		return -EIO;
	return 0;
}

static uint64_t
wall_seconds(void)
{
	return (uint64_t)time(NULL);
}

const char *
r5_sb_status_str(enum r5_sb_status st)
{
	switch (st) {
	case R5_SB_OK: return "ok";
	case R5_SB_BAD_MAGIC: return "not a raid5fs member (bad magic)";
	case R5_SB_BAD_VERSION: return "unsupported format version";
	case R5_SB_BAD_CHECKSUM: return "superblock checksum mismatch (corrupt)";
	case R5_SB_BAD_FIELD: return "superblock field out of range (corrupt)";
	case R5_SB_IO_ERROR: return "I/O error reading the superblock";
	}
	return "unknown superblock status";
}

void
r5_sb_init(struct r5_superblock *sb, const uint8_t array_uuid[16],
	   const struct r5_geometry *g, uint32_t role)
{
	memset(sb, 0, sizeof(*sb));
	sb->version = R5_SB_VERSION;
	memcpy(sb->array_uuid, array_uuid, sizeof(sb->array_uuid));
	r5_random_bytes(sb->member_uuid, sizeof(sb->member_uuid));
	sb->generation = 0; /* the first store writes generation 1 */
	sb->events = 1;
	sb->ctime = sb->utime = wall_seconds();
	sb->role = role;
	sb->nr_members = g->nr_members;
	sb->chunk_size = g->chunk_size;
	sb->layout = g->layout;
	sb->data_size = g->member_data_size;
	sb->state = R5_STATE_CLEAN;
	sb->flags = 0;
	sb->resync_offset = R5_OFFSET_DONE;
	sb->recovery_offset = R5_OFFSET_DONE;
	sb->bitmap_offset = R5_BITMAP_OFFSET;
	sb->bitmap_size = R5_BITMAP_SIZE;
	sb->bitmap_region_size = R5_DEFAULT_BITMAP_REGION;
	sb->reserved_offset = R5_RESERVED_OFFSET;
	sb->reserved_size = r5_sb_reserved_size(g->member_data_size);
	sb->data_offset = R5_RESERVED_OFFSET + sb->reserved_size;
	for (uint32_t i = 0; i < R5_MAX_MEMBERS; i++)
		sb->roles[i] = i < g->nr_members ? R5_ROLE_IN_SYNC : R5_ROLE_EMPTY;
}

uint64_t
r5_sb_reserved_size(uint64_t member_data_size)
{
	const uint64_t mib = 1024 * 1024, size = member_data_size / 64 / mib * mib;

	return size < R5_RESERVED_SIZE ? R5_RESERVED_SIZE : size > R5_RESERVED_MAX ? R5_RESERVED_MAX : size;
}

uint64_t
r5_sb_data_offset(uint32_t csum_alg, uint64_t member_data_size)
{
	uint64_t table = r5_csum_table_bytes(csum_alg, member_data_size);

	return R5_RESERVED_OFFSET + r5_sb_reserved_size(member_data_size) +
	       (table + R5_CSUM_ALIGN - 1) / R5_CSUM_ALIGN * R5_CSUM_ALIGN;
}

void
r5_sb_set_checksum(struct r5_superblock *sb, uint32_t csum_alg)
{
	sb->csum_alg = csum_alg;
	sb->data_offset = r5_sb_data_offset(csum_alg, sb->data_size);
	sb->csum_offset = csum_alg ? sb->reserved_offset + sb->reserved_size : 0;
	sb->csum_size = csum_alg ? sb->data_offset - sb->csum_offset : 0;
}

void
r5_sb_set_usemap(struct r5_superblock *sb)
{
	uint64_t unit = R5_USEMAP_UNIT > sb->chunk_size ? R5_USEMAP_UNIT : sb->chunk_size;

	/* whole rows per bit, and few enough bits for the area */
	unit = (unit + sb->chunk_size - 1) / sb->chunk_size * sb->chunk_size;
	while ((sb->data_size / unit + 1 + 7) / 8 > R5_USEMAP_MAX)
		unit *= 2;
	sb->flags |= R5_SB_FLAG_USEMAP;
	sb->usemap_offset = R5_USEMAP_OFFSET;
	sb->usemap_unit = unit;
	sb->usemap_size = ((sb->data_size + unit - 1) / unit + 7) / 8;
	sb->usemap_size = (sb->usemap_size + 4095) / 4096 * 4096;
}

void
r5_sb_geometry(const struct r5_superblock *sb, struct r5_geometry *g)
{
	g->nr_members = sb->nr_members;
	g->chunk_size = sb->chunk_size;
	g->layout = sb->layout;
	g->member_data_size = sb->data_size;
}

void
r5_sb_encode(const struct r5_superblock *sb, uint8_t *buf)
{
	memset(buf, 0, R5_SB_SIZE);
	r5_put_le32(buf + OFF_MAGIC, R5_SB_MAGIC);
	r5_put_le32(buf + OFF_VERSION, sb->version);
	memcpy(buf + OFF_ARRAY_UUID, sb->array_uuid, 16);
	memcpy(buf + OFF_MEMBER_UUID, sb->member_uuid, 16);
	r5_put_le64(buf + OFF_GENERATION, sb->generation);
	r5_put_le64(buf + OFF_EVENTS, sb->events);
	r5_put_le64(buf + OFF_CTIME, sb->ctime);
	r5_put_le64(buf + OFF_UTIME, sb->utime);
	r5_put_le32(buf + OFF_ROLE, sb->role);
	r5_put_le32(buf + OFF_NR_MEMBERS, sb->nr_members);
	r5_put_le32(buf + OFF_CHUNK_SIZE, sb->chunk_size);
	r5_put_le32(buf + OFF_LAYOUT, sb->layout);
	r5_put_le64(buf + OFF_DATA_OFFSET, sb->data_offset);
	r5_put_le64(buf + OFF_DATA_SIZE, sb->data_size);
	r5_put_le32(buf + OFF_STATE, sb->state);
	r5_put_le32(buf + OFF_FLAGS, sb->flags);
	r5_put_le64(buf + OFF_RESYNC, sb->resync_offset);
	r5_put_le64(buf + OFF_RECOVERY, sb->recovery_offset);
	r5_put_le64(buf + OFF_BITMAP_OFFSET, sb->bitmap_offset);
	r5_put_le64(buf + OFF_BITMAP_SIZE, sb->bitmap_size);
	r5_put_le64(buf + OFF_BITMAP_REGION, sb->bitmap_region_size);
	r5_put_le64(buf + OFF_RESERVED_OFFSET, sb->reserved_offset);
	r5_put_le64(buf + OFF_RESERVED_SIZE, sb->reserved_size);
	memcpy(buf + OFF_ROLES, sb->roles, R5_MAX_MEMBERS);
	memcpy(buf + OFF_NAME, sb->name, R5_NAME_LEN);
	/* A name that fills all 64 bytes would not decode: keep the NUL. */
	buf[OFF_NAME + R5_NAME_LEN - 1] = 0;
	if (sb->version >= 2) {
		r5_put_le32(buf + OFF_CSUM_ALG, sb->csum_alg);
		r5_put_le64(buf + OFF_CSUM_OFFSET, sb->csum_offset);
		r5_put_le64(buf + OFF_CSUM_SIZE, sb->csum_size);
		memcpy(buf + OFF_KEY_CHECK, sb->key_check, 32);
		r5_put_le32(buf + OFF_NR_SPARES, sb->nr_spares);
		memcpy(buf + OFF_SPARE_UUIDS, sb->spare_uuid, sizeof(sb->spare_uuid));
		r5_put_le64(buf + OFF_USEMAP_OFFSET, sb->usemap_offset);
		r5_put_le64(buf + OFF_USEMAP_SIZE, sb->usemap_size);
		r5_put_le64(buf + OFF_USEMAP_UNIT, sb->usemap_unit);
	}
	if (sb_checksum(buf, buf + SB_CSUM_OFFSET) < 0) {
		/* Cannot happen with a working libcrypto; leave a checksum that
		 * will never verify rather than a plausible one. */
		memset(buf + SB_CSUM_OFFSET, 0xff, SB_CSUM_LEN);
	}
}

static int
known_role(uint8_t r)
{
	return r == R5_ROLE_IN_SYNC || r == R5_ROLE_FAULTY || r == R5_ROLE_REBUILDING ||
	       r == R5_ROLE_SPARE || r == R5_ROLE_EMPTY;
}

/* [off, off+size) lies inside the metadata area in front of the data. */
static int
area_ok(uint64_t off, uint64_t size, uint64_t data_offset)
{
	return off <= data_offset && size <= data_offset - off;
}

/* Do [a, a+as) and [b, b+bs) share a byte? (Both inside the metadata
 * area already, so the sums cannot overflow.) */
static int
overlaps(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return as && bs && a < b + bs && b < a + as;
}

/* The in-use map: the flag says there is one; whole rows per bit, a bit
 * for every unit of data, in the metadata area clear of the other areas. */
static bool
usemap_ok(const struct r5_superblock *sb)
{
	if (!(sb->flags & R5_SB_FLAG_USEMAP))
		return !sb->usemap_offset && !sb->usemap_size && !sb->usemap_unit;
	if (sb->usemap_size == 0 || sb->usemap_size % 4096 || sb->usemap_offset < 2 * R5_SB_SIZE ||
	    sb->usemap_offset % 4096 || !area_ok(sb->usemap_offset, sb->usemap_size, sb->data_offset) ||
	    sb->usemap_unit == 0 || sb->usemap_unit > (1ull << 50) ||
	    sb->usemap_unit % sb->chunk_size || sb->usemap_unit % 4096)
		return false;
	if ((sb->data_size + sb->usemap_unit - 1) / sb->usemap_unit > sb->usemap_size * 8)
		return false;
	return !overlaps(sb->usemap_offset, sb->usemap_size, sb->bitmap_offset, sb->bitmap_size) &&
	       !overlaps(sb->usemap_offset, sb->usemap_size, sb->reserved_offset, sb->reserved_size) &&
	       !overlaps(sb->usemap_offset, sb->usemap_size, sb->csum_offset, sb->csum_size);
}

static enum r5_sb_status
sb_validate(const struct r5_superblock *sb)
{
	struct r5_geometry g;

	r5_sb_geometry(sb, &g);
	if (r5_geometry_validate(&g, NULL, 0) < 0)
		return R5_SB_BAD_FIELD; /* N, chunk, layout, data_size */
	if (sb->role >= sb->nr_members && sb->role != R5_SB_ROLE_SPARE)
		return R5_SB_BAD_FIELD;
	/* the spare table: the flag says there is one; unused entries zero */
	if (sb->nr_spares > R5_MAX_SPARES || !sb->nr_spares != !(sb->flags & R5_SB_FLAG_SPARES))
		return R5_SB_BAD_FIELD;
	for (uint32_t i = sb->nr_spares; i < R5_MAX_SPARES; i++)
		for (int k = 0; k < 16; k++)
			if (sb->spare_uuid[i][k])
				return R5_SB_BAD_FIELD;
	if (sb->data_offset < 2 * R5_SB_SIZE || sb->data_offset % 4096 != 0 ||
	    sb->data_offset > (uint64_t)INT64_MAX - sb->data_size)
		return R5_SB_BAD_FIELD;
	if (sb->state != R5_STATE_CLEAN && sb->state != R5_STATE_ACTIVE)
		return R5_SB_BAD_FIELD;
	if (sb->flags & ~R5_SB_FLAGS_KNOWN)
		return R5_SB_BAD_FIELD;
	/* The bitmap and reserved areas must sit between the superblocks and
	 * the data, or the code that uses them would write over either. */
	if (sb->bitmap_size != 0 &&
	    (sb->bitmap_offset < 2 * R5_SB_SIZE ||
	     !area_ok(sb->bitmap_offset, sb->bitmap_size, sb->data_offset) ||
	     sb->bitmap_region_size == 0))
		return R5_SB_BAD_FIELD;
	if (sb->reserved_size != 0 &&
	    (sb->reserved_offset < 2 * R5_SB_SIZE || sb->reserved_size > R5_RESERVED_MAX ||
	     !area_ok(sb->reserved_offset, sb->reserved_size, sb->data_offset)))
		return R5_SB_BAD_FIELD;
	/* The checksum table: a known algorithm, big enough for the data,
	 * between the superblocks and the data; nothing of it without one. */
	if (sb->csum_alg == R5_CSUM_NONE) {
		if (sb->csum_offset || sb->csum_size)
			return R5_SB_BAD_FIELD;
	} else if (!r5_csum_alg_name(sb->csum_alg) || sb->csum_offset < 2 * R5_SB_SIZE ||
		   sb->csum_offset % R5_CSUM_PAGE || sb->csum_size % R5_CSUM_PAGE ||
		   !area_ok(sb->csum_offset, sb->csum_size, sb->data_offset) ||
		   sb->csum_size < r5_csum_table_bytes(sb->csum_alg, sb->data_size) ||
		   overlaps(sb->csum_offset, sb->csum_size, sb->bitmap_offset, sb->bitmap_size) ||
		   overlaps(sb->csum_offset, sb->csum_size, sb->reserved_offset, sb->reserved_size)) {
		return R5_SB_BAD_FIELD;
	}
	if (!usemap_ok(sb))
		return R5_SB_BAD_FIELD;
	for (uint32_t i = 0; i < R5_MAX_MEMBERS; i++) {
		if (i >= sb->nr_members ? sb->roles[i] != R5_ROLE_EMPTY : !known_role(sb->roles[i]))
			return R5_SB_BAD_FIELD;
	}
	/* NUL-terminated and NUL-padded: nothing after the terminator (found
	 * by fuzzing: bytes there would not survive a re-encode) */
	const char *nul = memchr(sb->name, '\0', R5_NAME_LEN);
	if (nul == NULL)
		return R5_SB_BAD_FIELD;
	for (const char *p = nul; p < sb->name + R5_NAME_LEN; p++)
		if (*p)
			return R5_SB_BAD_FIELD;
	return R5_SB_OK;
}

enum r5_sb_status
r5_sb_decode(const uint8_t *buf, size_t len, struct r5_superblock *sb)
{
	uint8_t csum[SB_CSUM_LEN];

	if (len < R5_SB_SIZE)
		return R5_SB_BAD_FIELD;
	if (r5_get_le32(buf + OFF_MAGIC) != R5_SB_MAGIC)
		return R5_SB_BAD_MAGIC;
	if (r5_get_le32(buf + OFF_VERSION) < R5_SB_VERSION_MIN || r5_get_le32(buf + OFF_VERSION) > R5_SB_VERSION)
		return R5_SB_BAD_VERSION;
	if (sb_checksum(buf, csum) < 0)
		return R5_SB_IO_ERROR;
	if (memcmp(csum, buf + SB_CSUM_OFFSET, SB_CSUM_LEN) != 0)
		return R5_SB_BAD_CHECKSUM;

	memset(sb, 0, sizeof(*sb));
	sb->version = r5_get_le32(buf + OFF_VERSION);
	memcpy(sb->array_uuid, buf + OFF_ARRAY_UUID, 16);
	memcpy(sb->member_uuid, buf + OFF_MEMBER_UUID, 16);
	sb->generation = r5_get_le64(buf + OFF_GENERATION);
	sb->events = r5_get_le64(buf + OFF_EVENTS);
	sb->ctime = r5_get_le64(buf + OFF_CTIME);
	sb->utime = r5_get_le64(buf + OFF_UTIME);
	sb->role = r5_get_le32(buf + OFF_ROLE);
	sb->nr_members = r5_get_le32(buf + OFF_NR_MEMBERS);
	sb->chunk_size = r5_get_le32(buf + OFF_CHUNK_SIZE);
	sb->layout = r5_get_le32(buf + OFF_LAYOUT);
	sb->data_offset = r5_get_le64(buf + OFF_DATA_OFFSET);
	sb->data_size = r5_get_le64(buf + OFF_DATA_SIZE);
	sb->state = r5_get_le32(buf + OFF_STATE);
	sb->flags = r5_get_le32(buf + OFF_FLAGS);
	sb->resync_offset = r5_get_le64(buf + OFF_RESYNC);
	sb->recovery_offset = r5_get_le64(buf + OFF_RECOVERY);
	sb->bitmap_offset = r5_get_le64(buf + OFF_BITMAP_OFFSET);
	sb->bitmap_size = r5_get_le64(buf + OFF_BITMAP_SIZE);
	sb->bitmap_region_size = r5_get_le64(buf + OFF_BITMAP_REGION);
	sb->reserved_offset = r5_get_le64(buf + OFF_RESERVED_OFFSET);
	sb->reserved_size = r5_get_le64(buf + OFF_RESERVED_SIZE);
	memcpy(sb->roles, buf + OFF_ROLES, R5_MAX_MEMBERS);
	memcpy(sb->name, buf + OFF_NAME, R5_NAME_LEN);
	if (sb->version >= 2) {
		sb->csum_alg = r5_get_le32(buf + OFF_CSUM_ALG);
		sb->csum_offset = r5_get_le64(buf + OFF_CSUM_OFFSET);
		sb->csum_size = r5_get_le64(buf + OFF_CSUM_SIZE);
		memcpy(sb->key_check, buf + OFF_KEY_CHECK, 32);
		sb->nr_spares = r5_get_le32(buf + OFF_NR_SPARES);
		memcpy(sb->spare_uuid, buf + OFF_SPARE_UUIDS, sizeof(sb->spare_uuid));
		sb->usemap_offset = r5_get_le64(buf + OFF_USEMAP_OFFSET);
		sb->usemap_size = r5_get_le64(buf + OFF_USEMAP_SIZE);
		sb->usemap_unit = r5_get_le64(buf + OFF_USEMAP_UNIT);
	}
	return sb_validate(sb);
}

/* How informative a failure is: load reports the best one it saw. An I/O
 * error ranks above "bad magic" because the unreadable copy may well have
 * been a valid superblock. */
static int
failure_rank(enum r5_sb_status st)
{
	switch (st) {
	case R5_SB_BAD_VERSION:
	case R5_SB_BAD_FIELD: return 4;
	case R5_SB_BAD_CHECKSUM: return 3;
	case R5_SB_IO_ERROR: return 2;
	case R5_SB_BAD_MAGIC: return 1;
	case R5_SB_OK: break;
	}
	return 0;
}

static enum r5_sb_status
load_copy(struct r5_member *m, int copy, int64_t size, struct r5_superblock *sb)
{
	uint8_t buf[R5_SB_SIZE];
	uint64_t off = R5_SB_COPY_OFFSET(copy);

	/* A file too short to hold this copy is simply not a member (an
	 * empty file, say), not an I/O error. */
	if (size >= 0 && (uint64_t)size < off + R5_SB_SIZE)
		return R5_SB_BAD_MAGIC;
	if (r5_member_read(m, buf, sizeof(buf), off) < 0)
		return R5_SB_IO_ERROR;
	return r5_sb_decode(buf, sizeof(buf), sb);
}

enum r5_sb_status
r5_sb_load(struct r5_member *m, struct r5_superblock *sb)
{
	struct r5_superblock copy[2];
	enum r5_sb_status st[2];
	int64_t size = r5_member_size(m); /* < 0: unknown, just try reading */

	for (int i = 0; i < 2; i++)
		st[i] = load_copy(m, i, size, &copy[i]);

	if (st[0] == R5_SB_OK && st[1] == R5_SB_OK) {
		*sb = copy[1].generation > copy[0].generation ? copy[1] : copy[0];
		return R5_SB_OK;
	}
	if (st[0] == R5_SB_OK || st[1] == R5_SB_OK) {
		*sb = st[0] == R5_SB_OK ? copy[0] : copy[1];
		return R5_SB_OK;
	}
	return failure_rank(st[1]) > failure_rank(st[0]) ? st[1] : st[0];
}

int
r5_sb_store(struct r5_member *m, struct r5_superblock *sb)
{
	uint8_t buf[R5_SB_SIZE];
	uint64_t old_utime = sb->utime;
	int ret;

	sb->generation++;
	sb->utime = wall_seconds();
	r5_sb_encode(sb, buf);
	ret = r5_member_write(m, buf, sizeof(buf), R5_SB_COPY_OFFSET(sb->generation % 2));
	if (ret == 0)
		ret = r5_member_sync(m);
	if (ret < 0) {
		/* Roll back: a retry must target the same (possibly torn)
		 * copy again, never the other one that still holds the last
		 * good generation. */
		sb->generation--;
		sb->utime = old_utime;
	}
	return ret;
}
