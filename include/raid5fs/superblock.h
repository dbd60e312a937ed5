/* superblock.h - the member file's metadata (docs/architecture.md; README, "On-disk format").
 *
 * On-disk layout of a member file (all integers little-endian):
 *
 *   offset      size      what
 *   0           4 KiB     superblock copy 0
 *   4 KiB       4 KiB     superblock copy 1
 *   8 KiB       56 KiB    the in-use map (usemap.h in core/metadata: one
 *                         bit per usemap_unit of member data, set when the
 *                         rows there may hold data); zero and unused in
 *                         arrays made before it (no R5_SB_FLAG_USEMAP)
 *   64 KiB      960 KiB   write-intent bitmap (one bit per region)
 *   1 MiB       R         reserved: the partial parity log (ppl.h);
 *                         R = reserved_size, see below
 *   1 MiB + R   csum_size checksum table (version 2 with checksums; see
 *                         include/raid5fs/checksum.h), 64 KiB aligned
 *   data_offset ...       data area (data_offset, data_size in the superblock):
 *                         1 MiB + R + csum_size
 *
 * The reserved area of a new member is data_size / 64 in whole MiB, at
 * least R5_RESERVED_SIZE (3 MiB: every member of up to 192 MiB of data,
 * and every array created before its size grew) and at most
 * R5_RESERVED_MAX (16 MiB: 1 GiB of data or more). The log moves to the
 * other half of its ring each time one is full, and must then wait for
 * that half's rows to be synced: with 3 MiB on a 1 GiB member under 4k
 * random writes that was 100 moves a second, most of them waiting
 * (docs/write-hole.md, "Cost"). The superblock records where each area
 * is; any size up to R5_RESERVED_MAX is read.
 *
 * Torn writes: the two copies are never written at the same time. A store
 * bumps the generation and writes copy (generation % 2), then syncs; the
 * other copy still holds the previous generation. A load reads both and
 * takes the valid one (magic, version, SHA-256) with the higher generation.
 *
 * Encoded superblock (one 4 KiB block):
 *   0    u32  magic "R5FS" (0x53463552 read as LE)   4   u32 version
 *   8    u8[16] array uuid                          24  u8[16] member uuid
 *   40   u64 generation     48  u64 events     56  u64 ctime (s)   64  u64 utime (s)
 *   72   u32 role (slot; R5_SB_ROLE_SPARE in a spare's own superblock)
 *                          76  u32 nr_members 80  u32 chunk_size  84  u32 layout
 *   88   u64 data_offset    96  u64 data_size (per member)
 *   104  u32 state          108 u32 flags (R5_SB_FLAG_*; others must be 0)
 *   112  u64 resync_offset  120 u64 recovery_offset
 *   128  u64 bitmap_offset  136 u64 bitmap_size   144 u64 bitmap_region_size
 *   152  u64 reserved_offset 160 u64 reserved_size
 *   168  u8[32] roles (enum r5_role per slot)
 *   200  u8[64] array name (NUL padded)
 *   version 2 only (zero in version 1, which has no checksums):
 *   264  u32 csum_alg (enum r5_csum_alg)  268 u32 zero
 *   272  u64 csum_offset    280 u64 csum_size
 *   288  u8[32] key check value (hmac-sha256; else zero)
 *   320  u32 nr_spares (0..R5_MAX_SPARES; flag R5_SB_FLAG_SPARES set
 *        exactly when it is not 0)   324 u32 zero
 *   328  u8[16] member uuid of each spare, R5_MAX_SPARES of them (unused: zero)
 *   456  u64 usemap_offset  464 u64 usemap_size  472 u64 usemap_unit
 *        (flag R5_SB_FLAG_USEMAP set exactly when usemap_size is not 0;
 *        all three zero without it)
 *   480 .. 4063 zero
 *   4064 u8[32] SHA-256 of bytes 0..4063
 *
 * Versions: 2 is written by create; 1 (before per-block checksums) is
 * still read, and such an array runs without checksums. A version above 2
 * is refused (R5_SB_BAD_VERSION).
 */
#ifndef RAID5FS_SUPERBLOCK_H
#define RAID5FS_SUPERBLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "raid5fs/layout.h"
#include "raid5fs/member.h"

#define R5_SB_MAGIC 0x53463552u /* "R5FS" */
#define R5_SB_VERSION 2u     /* written by create */
#define R5_SB_VERSION_MIN 1u /* oldest still read */
#define R5_SB_SIZE 4096u
#define R5_SB_COPY_OFFSET(i) ((uint64_t)(i) * R5_SB_SIZE)
#define R5_BITMAP_OFFSET (64u * 1024)
#define R5_BITMAP_SIZE (960u * 1024)
#define R5_RESERVED_OFFSET (1024u * 1024)
#define R5_RESERVED_SIZE (3u * 1024 * 1024) /* the smallest reserved area */
#define R5_RESERVED_MAX (16u * 1024 * 1024)  /* the largest one */
/* where the data (or the checksum table) of a member with the smallest
 * reserved area starts */
#define R5_DATA_OFFSET (R5_RESERVED_OFFSET + R5_RESERVED_SIZE)
#define R5_CSUM_OFFSET R5_DATA_OFFSET
#define R5_CSUM_ALIGN (64u * 1024)
#define R5_DEFAULT_BITMAP_REGION (64ull * 1024 * 1024)
#define R5_USEMAP_OFFSET (8u * 1024)
#define R5_USEMAP_MAX (56u * 1024)
/* Member bytes per bit of the in-use map: a write into a unit the map
 * calls unused first stores its bit on every member (one synced write),
 * so a small unit costs a fresh array's first fill; a large one makes a
 * rebuild copy more of what was never written. */
#define R5_USEMAP_UNIT (4ull * 1024 * 1024)
#define R5_NAME_LEN 64

/* "all done" value of resync_offset / recovery_offset */
#define R5_OFFSET_DONE UINT64_MAX

/* superblock flags */
/* The run that last marked the array active kept the partial parity log
 * (include/raid5fs/ppl.h): after a crash, the log makes parity right again,
 * so a dirty array may start degraded. */
#define R5_SB_FLAG_PPL 1u
/* The array has hot spares: their member uuids are listed (nr_spares).
 * A build without spares refuses such a superblock (unknown flag) rather
 * than lose them. */
#define R5_SB_FLAG_SPARES 2u
/* The array keeps the in-use map (usemap_*): rows it calls unused read
 * as zeros and are skipped by recovery, resync and check. A build without
 * the map refuses such a superblock (unknown flag): writing rows without
 * marking them would make their data read as zeros later. */
#define R5_SB_FLAG_USEMAP 4u
#define R5_SB_FLAGS_KNOWN (R5_SB_FLAG_PPL | R5_SB_FLAG_SPARES | R5_SB_FLAG_USEMAP)
#define R5_MAX_SPARES 8
/* role of a spare's own superblock: it stands by, in no slot */
#define R5_SB_ROLE_SPARE 0xffffffffu

enum r5_array_state {
	R5_STATE_CLEAN = 0,  /* every write flushed, parity consistent */
	R5_STATE_ACTIVE = 1, /* writes may be in flight: resync after a crash */
};

enum r5_role {
	R5_ROLE_IN_SYNC = 0,    /* active member, data valid */
	R5_ROLE_FAULTY = 1,     /* failed; must not be trusted */
	R5_ROLE_REBUILDING = 2, /* valid below its recovery_offset */
	R5_ROLE_SPARE = 3,
	R5_ROLE_EMPTY = 0xff, /* slot has no member */
};

struct r5_superblock {
	uint32_t version;
	uint8_t array_uuid[16];
	uint8_t member_uuid[16];
	uint64_t generation; /* bumped by every store; picks the newer copy */
	uint64_t events;     /* bumped by every array-level change (md's events) */
	uint64_t ctime, utime;
	uint32_t role; /* this member's slot, 0..nr_members-1 */
	uint32_t nr_members, chunk_size, layout;
	uint64_t data_offset, data_size;
	uint32_t state; /* enum r5_array_state */
	uint32_t flags; /* R5_SB_FLAG_* */
	uint64_t resync_offset;   /* member offset below which parity is trusted */
	uint64_t recovery_offset; /* this member's rebuild checkpoint */
	uint64_t bitmap_offset, bitmap_size, bitmap_region_size;
	uint64_t reserved_offset, reserved_size;
	uint8_t roles[R5_MAX_MEMBERS]; /* enum r5_role; slots >= nr_members EMPTY */
	char name[R5_NAME_LEN];        /* NUL-terminated, may be empty */
	uint32_t csum_alg;             /* enum r5_csum_alg; 0 in version 1 */
	uint64_t csum_offset, csum_size; /* the checksum table; 0 without */
	uint8_t key_check[32];         /* hmac-sha256's key check value */
	uint32_t nr_spares;            /* hot spares of the array (version 2) */
	uint8_t spare_uuid[R5_MAX_SPARES][16]; /* their member uuids */
	uint64_t usemap_offset, usemap_size, usemap_unit; /* the in-use map; 0 without */
};

enum r5_sb_status {
	R5_SB_OK = 0,
	R5_SB_BAD_MAGIC,    /* not a raid5fs member */
	R5_SB_BAD_VERSION,  /* written by a newer format */
	R5_SB_BAD_CHECKSUM, /* corrupt or torn */
	R5_SB_BAD_FIELD,    /* checksum fine but a field is out of range */
	R5_SB_IO_ERROR,
};
const char *r5_sb_status_str(enum r5_sb_status st);

/* Fills a superblock with the defaults for a new array member (layout of
 * the metadata area as above, clean, events 1, fresh member uuid), without
 * checksums. */
void r5_sb_init(struct r5_superblock *sb, const uint8_t array_uuid[16],
		const struct r5_geometry *g, uint32_t role);
/* Gives a new member's superblock a checksum table for csum_alg sized for
 * its data (csum_offset, csum_size, data_offset). */
void r5_sb_set_checksum(struct r5_superblock *sb, uint32_t csum_alg);

/* Gives a new member's superblock the in-use map (everything unused: a
 * new member's data area reads as zeros). */
void r5_sb_set_usemap(struct r5_superblock *sb);

/* The reserved area (the parity log) of a new member with
 * member_data_size bytes of data (see the layout above). */
uint64_t r5_sb_reserved_size(uint64_t member_data_size);
/* Where the data area starts for member_data_size bytes of data with a
 * checksum table for csum_alg. */
uint64_t r5_sb_data_offset(uint32_t csum_alg, uint64_t member_data_size);

/* Geometry described by a superblock. */
void r5_sb_geometry(const struct r5_superblock *sb, struct r5_geometry *g);

/* Encodes into buf (R5_SB_SIZE bytes), checksum included. */
void r5_sb_encode(const struct r5_superblock *sb, uint8_t *buf);
/* Decodes and validates one copy (len must be >= R5_SB_SIZE). */
enum r5_sb_status r5_sb_decode(const uint8_t *buf, size_t len, struct r5_superblock *sb);

/* Reads both copies, returns the newest valid one. On failure returns the
 * status of the "best" failure (BAD_VERSION/BAD_FIELD over BAD_CHECKSUM over
 * BAD_MAGIC), so the caller can say why. */
enum r5_sb_status r5_sb_load(struct r5_member *m, struct r5_superblock *sb);

/* sb->generation++, sb->utime = now, writes copy (generation % 2) and
 * syncs the member. 0 or -errno. */
int r5_sb_store(struct r5_member *m, struct r5_superblock *sb);

#endif
