/* ppl.h - the partial parity log: its byte layout in each member's
 * metadata area (docs/write-hole.md tells why it exists and how it is used).
 *
 * Every member keeps its own log in the reserved area of its metadata
 * (superblock.h: reserved_offset, reserved_size). The log of a member
 * holds records only for the stripe rows whose parity that member holds.
 * All integers are little-endian; every block is 4 KiB.
 *
 *   reserved_offset           4 KiB   log header
 *   reserved_offset + 4 KiB   ...     the ring, in two halves of
 *                                     R5_PPL_HALF(reserved_size) bytes;
 *                                     groups follow each other in a half
 *                                     from its start and never cross its end
 *
 * Log header:
 *   0   u32 magic "R5PL" (0x4c503552 read as LE)   4  u32 version (1)
 *   8   u8[16] array uuid
 *   24  u64 log id of half 0    32 u64 log id of half 1: random numbers,
 *       a new one whenever a half is started afresh; only groups that carry
 *       their half's id belong to the log
 *   40  u32 strip size    44 u32 zero
 *   48 .. 4091 zero       4092 u32 crc32c of bytes 0..4091
 *
 * Group: one header block, then nr_pages pages of partial parity, strip
 * size bytes each, in the order of the entries that have one.
 *   0   u32 magic "R5PG" (0x47503552)   4  u32 nr_entries (1..R5_PPL_MAX_ENTRIES)
 *   8   u8[16] array uuid
 *   24  u64 log id (its half's)   32 u64 sequence number (grows through the log)
 *   40  u32 strip size    44 u32 nr_pages
 *   48  entries, 24 bytes each:
 *         0  u64 stripe (member data offset / strip size)
 *         8  u32 changed: bit s set when slot s's block of the row is being
 *            written by the update the entry covers
 *         12 u32 flags: R5_PPL_FULL (every data block changes: no page)
 *         16 u32 crc32c of the entry's page (0 with R5_PPL_FULL)
 *         20 u32 zero
 *   4092 u32 crc32c of bytes 0..4091
 *
 * Meaning of an entry: before the row was written, its partial parity PP
 * (the XOR of the row's data blocks that the update leaves unchanged) was
 * made durable here. After a crash, the row's parity is PP XOR the changed
 * blocks as they are on their members now (old or new), whatever reached
 * the parity member; a FULL entry says the parity is the XOR of all data
 * blocks. An entry whose page does not match its crc was never relied on
 * (the row is written only after the whole group is durable) and is
 * ignored.
 */
#ifndef RAID5FS_PPL_H
#define RAID5FS_PPL_H

#include <stdbool.h>
#include <stdint.h>

#define R5_PPL_MAGIC 0x4c503552u       /* "R5PL" */
#define R5_PPL_GROUP_MAGIC 0x47503552u /* "R5PG" */
#define R5_PPL_VERSION 1u
#define R5_PPL_BLOCK 4096u
#define R5_PPL_MAX_ENTRIES 128u
#define R5_PPL_MAX_STRIP (256u * 1024) /* the largest strip size a log may have */
#define R5_PPL_FULL 1u /* entry flag: no partial parity, every data block changes */

struct r5_ppl_header {
	uint8_t array_uuid[16];
	uint64_t log_id[2]; /* per half of the ring */
	uint32_t strip_size;
};

/* Bytes in each half of the ring of a reserved area of reserved_size. */
#define R5_PPL_HALF(reserved_size) \
	(((reserved_size) - R5_PPL_BLOCK) / 2 / R5_PPL_BLOCK * R5_PPL_BLOCK)

struct r5_ppl_entry_disk {
	uint64_t stripe;
	uint32_t changed;
	uint32_t flags;
	uint32_t pp_crc;
};

struct r5_ppl_group {
	uint8_t array_uuid[16];
	uint64_t log_id, seq;
	uint32_t strip_size;
	uint32_t nr_entries, nr_pages;
	struct r5_ppl_entry_disk entry[R5_PPL_MAX_ENTRIES];
};

/* Encode into one 4 KiB block, crc included. */
void r5_ppl_header_encode(const struct r5_ppl_header *h, uint8_t *block);
void r5_ppl_group_encode(const struct r5_ppl_group *g, uint8_t *block);
/* Decode one block; false if it is not a valid header / group (magic,
 * version, crc, counts). A group's nr_pages is checked against its
 * entries. */
bool r5_ppl_header_decode(const uint8_t *block, struct r5_ppl_header *h);
bool r5_ppl_group_decode(const uint8_t *block, struct r5_ppl_group *g);

#endif
