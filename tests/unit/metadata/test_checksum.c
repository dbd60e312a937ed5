/* test_checksum.c - the per-block checksum algorithms, key files and the
 * checksum table (include/raid5fs/checksum.h, core/metadata/csum_table.h):
 * entries are what the header defines (checked against OpenSSL directly),
 * table pages land where the superblock says with the documented trailer,
 * what is flushed comes back after a reopen, and a page that is damaged or
 * in the wrong place never vouches for a block. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "csum_table.h"
#include "raid5fs/checksum.h"
#include "raid5fs/superblock.h"

#define KB 1024u
#define MB (1024ull * 1024)

static char dir[64];

static void
mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/r5csum.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
rm_tmp(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static void
le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

Test(checksum, crc32c_is_castagnoli)
{
	cr_assert_eq(r5_crc32c(0, "123456789", 9), 0xe3069283u);
	/* continuing a crc gives the crc of the concatenation */
	cr_assert_eq(r5_crc32c(r5_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	cr_assert_eq(r5_crc32c(0, "", 0), 0);
}

Test(checksum, entries_are_what_the_header_defines)
{
	static uint8_t block[R5_CSUM_BLOCK];
	uint8_t uuid[16], got[32], want[32], msg[16 + 8 + R5_CSUM_BLOCK];
	struct r5_csum *cs;
	struct r5_csum_key key = { .len = 20 };
	unsigned int len = 0;

	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (uint8_t)(i * 7 + 3);
	for (int i = 0; i < 16; i++)
		uuid[i] = (uint8_t)(0xa0 + i);
	memset(key.bytes, 0x42, key.len);

	/* crc32c of le64(b) || block, stored little-endian */
	cr_assert_eq(r5_csum_create(R5_CSUM_CRC32C, NULL, uuid, &cs), 0);
	cr_assert_eq(r5_csum_block(cs, 77, block, got), 0);
	le64(msg, 77);
	memcpy(msg + 8, block, sizeof(block));
	uint32_t crc = r5_crc32c(0, msg, 8 + sizeof(block));
	cr_assert_eq(got[0] | got[1] << 8 | got[2] << 16 | (uint32_t)got[3] << 24, crc);
	r5_csum_destroy(cs);

	/* sha256 of le64(b) || block */
	cr_assert_eq(r5_csum_create(R5_CSUM_SHA256, NULL, uuid, &cs), 0);
	cr_assert_eq(r5_csum_block(cs, 77, block, got), 0);
	cr_assert_eq(EVP_Digest(msg, 8 + sizeof(block), want, &len, EVP_sha256(), NULL), 1);
	cr_assert_arr_eq(got, want, 32);
	r5_csum_destroy(cs);

	/* hmac-sha256 with the key of member_uuid || le64(b) || block */
	cr_assert_eq(r5_csum_create(R5_CSUM_HMAC_SHA256, &key, uuid, &cs), 0);
	cr_assert_eq(r5_csum_block(cs, 77, block, got), 0);
	memcpy(msg, uuid, 16);
	le64(msg + 16, 77);
	memcpy(msg + 24, block, sizeof(block));
	cr_assert_not_null(HMAC(EVP_sha256(), key.bytes, (int)key.len, msg, sizeof(msg), want, &len));
	cr_assert_arr_eq(got, want, 32);
	/* the same block elsewhere, or under another member, is another entry */
	cr_assert_eq(r5_csum_block(cs, 78, block, want), 0);
	cr_assert(memcmp(got, want, 32) != 0);
	r5_csum_destroy(cs);
	uuid[0] ^= 1;
	cr_assert_eq(r5_csum_create(R5_CSUM_HMAC_SHA256, &key, uuid, &cs), 0);
	cr_assert_eq(r5_csum_block(cs, 77, block, want), 0);
	cr_assert(memcmp(got, want, 32) != 0);
	r5_csum_destroy(cs);

	/* hmac without a key, and unknown algorithms, are refused */
	cr_assert_eq(r5_csum_create(R5_CSUM_HMAC_SHA256, NULL, uuid, &cs), -EINVAL);
	cr_assert_eq(r5_csum_create(9, NULL, uuid, &cs), -EINVAL);
	cr_assert_eq(r5_csum_create(R5_CSUM_NONE, NULL, uuid, &cs), -EINVAL);
}

Test(checksum, names_and_sizes)
{
	enum r5_csum_alg a;

	cr_assert_eq(r5_csum_alg_parse("crc32c", &a), 0);
	cr_assert_eq(a, R5_CSUM_CRC32C);
	cr_assert_eq(r5_csum_alg_parse("hmac-sha256", &a), 0);
	cr_assert_eq(a, R5_CSUM_HMAC_SHA256);
	cr_assert_eq(r5_csum_alg_parse("CRC32C", &a), -EINVAL);
	cr_assert_eq(r5_csum_alg_parse("", &a), -EINVAL);
	cr_assert_str_eq(r5_csum_alg_name(R5_CSUM_SHA256), "sha256");
	cr_assert_null(r5_csum_alg_name(4));
	cr_assert_eq(r5_csum_per_page(R5_CSUM_CRC32C), 1020);
	cr_assert_eq(r5_csum_per_page(R5_CSUM_SHA256), 127);
	cr_assert_eq(r5_csum_table_bytes(R5_CSUM_NONE, 1ull << 30), 0);
	/* 1 GiB = 262144 blocks: 258 pages of 1020 entries, 2065 of 127 */
	cr_assert_eq(r5_csum_table_bytes(R5_CSUM_CRC32C, 1ull << 30), 258 * 4096);
	cr_assert_eq(r5_csum_table_bytes(R5_CSUM_SHA256, 1ull << 30), 2065 * 4096);
	/* the data area starts after the table, 64 KiB aligned, which starts
	 * after the parity log (16 MiB for 1 GiB of data, 3 MiB for 64 MiB) */
	cr_assert_eq(r5_sb_data_offset(R5_CSUM_NONE, 1ull << 30), R5_RESERVED_OFFSET + R5_RESERVED_MAX);
	cr_assert_eq(r5_sb_data_offset(R5_CSUM_CRC32C, 1ull << 30),
		     R5_RESERVED_OFFSET + R5_RESERVED_MAX + 17 * 64 * KB);
	cr_assert_eq(r5_sb_data_offset(R5_CSUM_CRC32C, 64ull << 20), R5_CSUM_OFFSET + 2 * 64 * KB);
}

static void
write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
	cr_assert_eq(chmod(path, mode), 0);
}

Test(checksum, key_files, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct r5_csum_key key;
	char path[128], err[256];
	uint8_t uuid[16] = { 1, 2, 3 }, c1[32], c2[32];
	bool loose;
	static uint8_t big[R5_CSUM_KEY_MAX + 1];

	snprintf(path, sizeof(path), "%s/key", dir);
	write_file(path, "0123456789abcdef0123456789abcdef", 32, 0600);
	cr_assert_eq(r5_csum_key_load(path, &key, &loose, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(key.len, 32);
	cr_assert(!loose);
	cr_assert_eq(r5_csum_key_check(&key, uuid, c1), 0);
	cr_assert_eq(r5_csum_key_check(&key, uuid, c2), 0);
	cr_assert_arr_eq(c1, c2, 32);
	uuid[0] ^= 1; /* another array: another check value */
	cr_assert_eq(r5_csum_key_check(&key, uuid, c2), 0);
	cr_assert(memcmp(c1, c2, 32) != 0);

	chmod(path, 0644);
	cr_assert_eq(r5_csum_key_load(path, &key, &loose, err, sizeof(err)), 0);
	cr_assert(loose, "a key others can read is flagged");

	/* bad key files: one line naming the file, nothing loaded */
	write_file(path, "short", 5, 0600);
	cr_assert_eq(r5_csum_key_load(path, &key, &loose, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, path) && strstr(err, "5 bytes") && !strchr(err, '\n'), "%s", err);
	cr_assert_eq(key.len, 0);
	write_file(path, "", 0, 0600);
	cr_assert_eq(r5_csum_key_load(path, &key, &loose, err, sizeof(err)), -EINVAL);
	write_file(path, big, sizeof(big), 0600);
	cr_assert_eq(r5_csum_key_load(path, &key, &loose, err, sizeof(err)), -EINVAL);
	snprintf(path, sizeof(path), "%s/none", dir);
	cr_assert_eq(r5_csum_key_load(path, &key, &loose, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, path), "%s", err);
	cr_assert_eq(r5_csum_key_load(dir, &key, &loose, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a regular file"), "%s", err);
}

/* A member file with a checksum table for 8 MiB of data. */
struct table_fixture {
	char path[128];
	struct r5_member m;
	struct r5_superblock sb;
};

static void
table_setup(struct table_fixture *f, uint32_t alg)
{
	struct r5_geometry g = { .nr_members = 3, .chunk_size = 64 * KB, .layout = 2,
				 .member_data_size = 8 * MB };
	uint8_t uuid[16] = { 9 };

	snprintf(f->path, sizeof(f->path), "%s/m%u", dir, alg);
	cr_assert_eq(r5_member_open_file(&f->m, f->path, 1), 0);
	r5_sb_init(&f->sb, uuid, &g, 0);
	r5_sb_set_checksum(&f->sb, alg);
	cr_assert_eq(r5_member_truncate(&f->m, f->sb.data_offset + f->sb.data_size), 0);
}

static struct r5_csum_table *
table_open(struct table_fixture *f)
{
	struct r5_csum *cs;
	struct r5_csum_table *t;

	cr_assert_eq(r5_csum_create(f->sb.csum_alg, NULL, f->sb.member_uuid, &cs), 0);
	cr_assert_eq(r5_csum_table_open(&f->m, &f->sb, cs, &t), 0);
	return t;
}

static int
verify(struct r5_csum_table *t, void *buf, size_t len, uint64_t off, uint64_t *bad)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return r5_csum_table_verify(t, &iov, 1, off, bad);
}

static int
update(struct r5_csum_table *t, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	return r5_csum_table_update(t, &iov, 1, off);
}

Test(checksum, table_round_trip_and_page_format, .init = mkdir_tmp, .fini = rm_tmp)
{
	const uint32_t algs[] = { R5_CSUM_CRC32C, R5_CSUM_SHA256 };

	for (int a = 0; a < 2; a++) {
		struct table_fixture f;
		struct r5_csum_table *t;
		static uint8_t zeros[16 * KB], data[16 * KB], page[4096];
		uint64_t bad = 0;
		const uint32_t per_page = r5_csum_per_page(algs[a]);
		const uint64_t off = (uint64_t)per_page * 4096 - 8 * KB; /* spans pages 0 and 1 */

		table_setup(&f, algs[a]);
		t = table_open(&f);
		/* a new table vouches for zero blocks, and only for them */
		cr_assert_eq(verify(t, zeros, sizeof(zeros), 0, NULL), 0);
		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)(i ^ (i >> 8) ^ a);
		cr_assert_eq(verify(t, data, sizeof(data), 4096, &bad), -EBADMSG);
		cr_assert_eq(bad, 4096);
		/* whole blocks only */
		cr_assert_eq(verify(t, data, 100, 0, NULL), -EINVAL);
		cr_assert_eq(verify(t, data, 4096, 100, NULL), -EINVAL);

		cr_assert_eq(update(t, data, sizeof(data), off), 0);
		cr_assert_eq(verify(t, data, sizeof(data), off, NULL), 0);
		cr_assert_eq(r5_csum_table_dirty_pages(t), 2);
		cr_assert_eq(r5_csum_table_flush(t), 0);
		cr_assert_eq(r5_csum_table_dirty_pages(t), 0);
		r5_csum_table_close(t);

		/* page 1 on the member: entries, then the trailer */
		cr_assert_eq(r5_member_read(&f.m, page, sizeof(page), f.sb.csum_offset + 4096), 0);
		cr_assert_eq(page[4080] | page[4081] << 8 | page[4082] << 16 | (uint32_t)page[4083] << 24,
			     R5_CSUM_PAGE_MAGIC);
		cr_assert_eq(page[4084], 1);
		uint32_t crc = page[4092] | page[4093] << 8 | page[4094] << 16 | (uint32_t)page[4095] << 24;
		cr_assert_eq(crc, r5_crc32c(0, page, 4092));
		/* pages past the ones written stay as they were: zero (sparse) */
		cr_assert_eq(r5_member_read(&f.m, page, sizeof(page), f.sb.csum_offset + 2 * 4096), 0);
		for (int i = 0; i < 4096; i++)
			cr_assert_eq(page[i], 0);

		/* reopened: the entries came back from the member */
		t = table_open(&f);
		cr_assert_eq(verify(t, data, sizeof(data), off, NULL), 0);
		cr_assert_eq(verify(t, zeros, sizeof(zeros), 0, NULL), 0);
		data[5000] ^= 1;
		cr_assert_eq(verify(t, data, sizeof(data), off, &bad), -EBADMSG);
		cr_assert_eq(bad, off + 4096);
		r5_csum_table_close(t);
		r5_member_close(&f.m);
	}
}

Test(checksum, a_damaged_or_misplaced_page_vouches_for_nothing, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct table_fixture f;
	struct r5_csum_table *t;
	static uint8_t data[8 * KB], page[4096];
	const uint64_t per_page_bytes = 1020ull * 4096;

	table_setup(&f, R5_CSUM_CRC32C);
	t = table_open(&f);
	memset(data, 0x33, sizeof(data));
	cr_assert_eq(update(t, data, sizeof(data), 0), 0);
	cr_assert_eq(update(t, data, sizeof(data), per_page_bytes), 0);
	cr_assert_eq(r5_csum_table_flush(t), 0);
	r5_csum_table_close(t);

	/* a flipped bit in page 0's entries area */
	cr_assert_eq(r5_member_read(&f.m, page, 4096, f.sb.csum_offset), 0);
	page[2000] ^= 0x10;
	cr_assert_eq(r5_member_write(&f.m, page, 4096, f.sb.csum_offset), 0);
	t = table_open(&f);
	cr_assert_eq(verify(t, data, sizeof(data), 0, NULL), -EBADMSG,
		     "entries of a damaged page are not trusted");
	/* once every entry of the page is set again it is whole (the last
	 * page of this small table covers fewer blocks) */
	cr_assert_eq(verify(t, data, sizeof(data), per_page_bytes, NULL), 0);
	r5_csum_table_close(t);

	/* page 1's bytes copied over page 0: right CRC, wrong index */
	cr_assert_eq(r5_member_read(&f.m, page, 4096, f.sb.csum_offset + 4096), 0);
	cr_assert_eq(r5_member_write(&f.m, page, 4096, f.sb.csum_offset), 0);
	t = table_open(&f);
	cr_assert_eq(verify(t, data, sizeof(data), 0, NULL), -EBADMSG, "a misplaced page is damage");
	r5_csum_table_close(t);
	r5_member_close(&f.m);
}

Test(checksum, superblock_v2_fields_and_v1_compat)
{
	struct r5_geometry g = { .nr_members = 4, .chunk_size = 64 * KB, .layout = 2,
				 .member_data_size = 1ull << 30 };
	uint8_t uuid[16] = { 1 }, buf[R5_SB_SIZE];
	struct r5_superblock a, b;

	r5_sb_init(&a, uuid, &g, 1);
	r5_sb_set_checksum(&a, R5_CSUM_HMAC_SHA256);
	memset(a.key_check, 0x5c, sizeof(a.key_check));
	r5_sb_encode(&a, buf);
	cr_assert_eq(buf[264], R5_CSUM_HMAC_SHA256);
	const uint64_t table_at = R5_RESERVED_OFFSET + R5_RESERVED_MAX; /* after the log */
	cr_assert_eq(buf[272 + 2], (table_at >> 16) & 0xff);
	cr_assert_eq(buf[288], 0x5c);
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_OK);
	cr_assert_eq(b.csum_alg, R5_CSUM_HMAC_SHA256);
	cr_assert_eq(b.csum_offset, table_at);
	cr_assert_eq(b.csum_size, a.csum_size);
	cr_assert_eq(b.data_offset, table_at + a.csum_size);
	cr_assert_arr_eq(b.key_check, a.key_check, 32);

	/* a table too small for the data, or over the bitmap, is corrupt */
	b = a;
	b.csum_size = r5_csum_table_bytes(R5_CSUM_HMAC_SHA256, b.data_size) - 4096;
	r5_sb_encode(&b, buf);
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_BAD_FIELD);
	b = a;
	b.csum_offset = R5_BITMAP_OFFSET;
	r5_sb_encode(&b, buf);
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_BAD_FIELD);

	/* version 1 (before checksums) still decodes, without a table, and is
	 * written back as version 1 */
	r5_sb_init(&a, uuid, &g, 1);
	a.version = 1;
	r5_sb_encode(&a, buf);
	cr_assert_eq(buf[4], 1);
	cr_assert_eq(r5_sb_decode(buf, sizeof(buf), &b), R5_SB_OK);
	cr_assert_eq(b.version, 1);
	cr_assert_eq(b.csum_alg, R5_CSUM_NONE);
	cr_assert_eq(b.data_offset, R5_RESERVED_OFFSET + R5_RESERVED_MAX);
}

/* With a limit of two pages in memory, a table used all over keeps at most
 * two clean pages, and everything still verifies (pages come back from the
 * member); dirty pages are never dropped before they are flushed. */
Test(checksum, clean_pages_are_dropped_over_the_limit, .init = mkdir_tmp, .fini = rm_tmp)
{
	struct table_fixture f;
	struct r5_csum_table *t;
	static uint8_t data[4096];
	const uint64_t per_page_bytes = 1020ull * 4096;

	table_setup(&f, R5_CSUM_CRC32C);
	t = table_open(&f);
	r5_csum_table_set_max_pages(t, 2);
	memset(data, 0x77, sizeof(data));
	/* the table of 8 MiB has 3 pages: all three dirty, over the limit */
	for (uint64_t p = 0; p < 3; p++)
		cr_assert_eq(update(t, data, sizeof(data), p * per_page_bytes), 0);
	cr_assert_eq(r5_csum_table_dirty_pages(t), 3, "dirty pages are kept");
	cr_assert_eq(r5_csum_table_flush(t), 0);
	for (int round = 0; round < 3; round++)
		for (uint64_t p = 0; p < 3; p++) {
			cr_assert_eq(verify(t, data, sizeof(data), p * per_page_bytes, NULL), 0);
			cr_assert_leq(r5_csum_table_memory(t), 2 * 4096 + 3 * 17, "round %d page %llu",
				      round, (unsigned long long)p);
		}
	r5_csum_table_close(t);
	r5_member_close(&f.m);
}
