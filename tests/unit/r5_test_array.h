/* r5_test_array.h - helpers for tests that run the engine on member files
 * in a private temporary directory. Header-only, static. */
#ifndef R5_TEST_ARRAY_H
#define R5_TEST_ARRAY_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array_internal.h"
#include "raid5fs/array.h"

struct r5_test_array {
	char dir[64];
	char path[R5_MAX_MEMBERS][96];
	const char *paths[R5_MAX_MEMBERS];
	int n;
	struct r5_array *a;
};

static inline uint64_t
r5t_seed(void)
{
	const char *s = getenv("R5_TEST_SEED");
	return s ? strtoull(s, NULL, 0) : 0x5eed1234ull;
}

/* xorshift64*: the tests' deterministic generator */
static inline uint64_t
r5t_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* checksum: as create's option ("none", "sha256", ...; NULL: the default) */
static inline void
r5t_create_csum(struct r5_test_array *t, int n, uint32_t chunk, uint32_t layout,
		uint64_t member_size, const char *checksum)
{
	struct r5_create_opts co = { .chunk_size = chunk, .layout = layout, .member_size = member_size,
				     .checksum = checksum };
	char err[256] = "";

	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "/tmp/r5test.XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir));
	t->n = n;
	for (int i = 0; i < n; i++) {
		snprintf(t->path[i], sizeof(t->path[i]), "%s/m%d", t->dir, i);
		t->paths[i] = t->path[i];
	}
	cr_assert_eq(r5_array_create(t->paths, n, &co, err, sizeof(err)), 0, "create: %s", err);
}

static inline void
r5t_create(struct r5_test_array *t, int n, uint32_t chunk, uint32_t layout, uint64_t member_size)
{
	r5t_create_csum(t, n, chunk, layout, member_size, NULL);
}

/* Assembles from the members whose bit is set in use_mask and starts. */
static inline void
r5t_start(struct r5_test_array *t, uint32_t use_mask, const struct r5_engine_opts *eo)
{
	const char *p[R5_MAX_MEMBERS];
	char err[256] = "";
	int k = 0;

	for (int i = 0; i < t->n; i++)
		if (use_mask & (1u << i))
			p[k++] = t->paths[i];
	cr_assert_eq(r5_array_assemble(p, k, eo, &t->a, err, sizeof(err)), 0, "assemble: %s", err);
	cr_assert_eq(r5_array_start(t->a), 0);
}

static inline void
r5t_stop(struct r5_test_array *t)
{
	cr_assert_eq(r5_array_stop(t->a), 0);
	t->a = NULL;
}

static inline void
r5t_cleanup(struct r5_test_array *t)
{
	if (t->a)
		r5_array_stop(t->a);
	for (int i = 0; i < t->n; i++)
		unlink(t->path[i]);
	rmdir(t->dir);
}

/* Where a member file's data area starts, from its superblock. */
static inline uint64_t
r5t_data_offset(const char *path)
{
	struct r5_member m;
	struct r5_superblock sb;

	cr_assert_eq(r5_member_open_file(&m, path, 0), 0, "%s", path);
	cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK, "%s", path);
	r5_member_close(&m);
	return sb.data_offset;
}

/* Reads a member file's data area (for the independent decoder). */
static inline uint8_t *
r5t_read_member(const char *path, uint64_t data_offset, uint64_t size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(size);

	cr_assert_not_null(f);
	cr_assert_not_null(buf);
	cr_assert_eq(fseeko(f, (off_t)data_offset, SEEK_SET), 0);
	cr_assert_eq(fread(buf, 1, size, f), size);
	fclose(f);
	return buf;
}

#endif
