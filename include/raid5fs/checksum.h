/* checksum.h - per-block checksums of member data: the algorithms and the
 * on-disk checksum table (format version 2; superblock.h).
 *
 * Every 4 KiB block of every member's data area, data and parity alike,
 * has one checksum entry in a table kept in that member's metadata area.
 * The member set verifies every block it reads against it and updates it
 * for every block it writes (core/members/member_set.h); the table's
 * pages are written when the members are flushed.
 *
 * Entry of block b (the 4 KiB at member offset data_offset + b * 4096),
 * over the bytes named, in this order:
 *
 *   crc32c       4 bytes  CRC-32C (Castagnoli: reflected, initial value
 *                         and final XOR 0xffffffff; "123456789" gives
 *                         0xe3069283) of le64(b) || block, stored LE
 *   sha256      32 bytes  SHA-256 of le64(b) || block
 *   hmac-sha256 32 bytes  HMAC-SHA-256 with the user's key of
 *                         member_uuid || le64(b) || block
 *
 * The block number is in every entry so that a block written to the wrong
 * place (a misdirected write, a stale copy of another block) fails; the
 * member uuid in the keyed one so that blocks cannot be swapped between
 * members either without the key.
 *
 * Table (csum_offset, csum_size in the superblock; csum_offset is 4 KiB
 * aligned, csum_size a multiple of 4 KiB): page p (4 KiB at csum_offset +
 * p * 4096) holds the entries of blocks p * E .. p * E + E - 1, where
 * E = 4080 / entry size (crc32c 1020, sha256 and hmac-sha256 127):
 *
 *   offset        size     what
 *   0             E * sz   entries, block p * E + k at k * sz
 *   E * sz        ...      zero, up to 4080
 *   4080          4        magic "R5CT" (0x54433552 read as LE)
 *   4084          8        page index p
 *   4092          4        CRC-32C of bytes 0..4091
 *
 * A page whose 4096 bytes are all zero has never been written: every block
 * it covers holds zeros (a new array's members are sparse and all zero).
 * Any other page whose magic, index or CRC is wrong is damaged: the blocks
 * it covers cannot be verified by it (the member set reports them as
 * unverifiable, never as good).
 *
 * Key check (hmac-sha256 only, 32 bytes in the superblock): HMAC-SHA-256
 * with the key of "raid5fs key check" || array_uuid. The superblock never
 * holds the key; a key that gives another value is not this array's.
 */
#ifndef RAID5FS_CHECKSUM_H
#define RAID5FS_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define R5_CSUM_BLOCK 4096u        /* bytes of data per entry */
#define R5_CSUM_PAGE 4096u         /* bytes per table page */
#define R5_CSUM_PAGE_PAYLOAD 4080u /* entry bytes before the trailer */
#define R5_CSUM_PAGE_MAGIC 0x54433552u /* "R5CT" */
#define R5_CSUM_MAX_ENTRY 32u
#define R5_CSUM_KEY_MIN 16u   /* bytes of key file */
#define R5_CSUM_KEY_MAX 4096u

enum r5_csum_alg {
	R5_CSUM_NONE = 0,
	R5_CSUM_CRC32C = 1,
	R5_CSUM_SHA256 = 2,
	R5_CSUM_HMAC_SHA256 = 3,
};

/* "none", "crc32c", "sha256", "hmac-sha256"; NULL for an unknown value. */
const char *r5_csum_alg_name(uint32_t alg);
/* The inverse; -EINVAL for an unknown name. */
int r5_csum_alg_parse(const char *name, enum r5_csum_alg *out);
/* Bytes per entry (0 for none). */
uint32_t r5_csum_entry_size(uint32_t alg);
/* Entries per table page (0 for none). */
uint32_t r5_csum_per_page(uint32_t alg);
/* Bytes of table for member_data_size bytes of data, a multiple of 4 KiB
 * (0 for none). */
uint64_t r5_csum_table_bytes(uint32_t alg, uint64_t member_data_size);

/* A key read from a key file. */
struct r5_csum_key {
	uint8_t bytes[R5_CSUM_KEY_MAX];
	size_t len;
};

/* Reads a key file: a regular file of R5_CSUM_KEY_MIN to R5_CSUM_KEY_MAX
 * bytes, used as they are. 0, or -errno with one line in err. A file
 * other users can read is accepted; *world_readable says so, for a
 * warning. */
int r5_csum_key_load(const char *path, struct r5_csum_key *key, bool *world_readable,
		     char *err, size_t errlen);
/* The key check value of key for this array (32 bytes). 0 or -EIO. */
int r5_csum_key_check(const struct r5_csum_key *key, const uint8_t array_uuid[16],
		      uint8_t out[32]);

/* The checksum of one member: algorithm, key and member uuid. Immutable
 * once made; any number of threads may use it at once. */
struct r5_csum;

/* key only for hmac-sha256 (copied). 0, -EINVAL or -ENOMEM. */
int r5_csum_create(uint32_t alg, const struct r5_csum_key *key, const uint8_t member_uuid[16],
		   struct r5_csum **out);
void r5_csum_destroy(struct r5_csum *cs);
uint32_t r5_csum_alg(const struct r5_csum *cs);
/* The entry of block number `block` holding data (R5_CSUM_BLOCK bytes)
 * into out (entry size bytes). 0 or -EIO (libcrypto failed). */
int r5_csum_block(const struct r5_csum *cs, uint64_t block, const void *data, uint8_t *out);

/* CRC-32C of len bytes, continuing from crc (0 to start), as defined
 * above: r5_crc32c(0, "123456789", 9) == 0xe3069283. */
uint32_t r5_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
