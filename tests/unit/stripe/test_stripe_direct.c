/* test_stripe_direct.c - whole rows written around the stripe cache
 * (core/stripe/stripe_direct.c), judged by what a user checks: the image
 * reads back as written, and the members hold exactly that data with
 * parity = XOR of it in every row, so that any member can be lost. The
 * members are decoded here from the files, independently of the engine.
 *
 * Geometry: 4 members of 8 MiB, 64 KiB chunks, 4 KiB strips. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "r5_test_array.h"
#include "raid5fs/layout.h"
#include "stripe.h"

#define KB 1024ull
#define MB (1024ull * 1024)
#define N 4
#define CHUNK (64 * KB)
#define ROW (CHUNK * (N - 1))
#define MSIZE (8 * MB)

static const struct r5_engine_opts eo = { .stripe_cache_size = 256, .strip_size = 4 * KB };
/* Without the partial parity log: every whole row found idle goes around
 * the cache without waiting for a record. */
static const struct r5_engine_opts eo_bitmap = { .stripe_cache_size = 256, .strip_size = 4 * KB,
						 .consistency_policy = R5_CONSISTENCY_BITMAP };

static void
fill_random(uint8_t *p, size_t len, uint64_t *seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = r5t_rand(seed);
		memcpy(p + i, &v, 8 < len - i ? 8 : len - i);
	}
}

static uint64_t
direct_rows(struct r5_array *a)
{
	struct r5_cache_info ci;

	r5_cache_get_info(a->cache, &ci);
	return ci.direct_rows;
}

/* The stopped array's members, decoded from the files: every data chunk
 * equals the model and every row's parity is the XOR of its data. */
static void
assert_members_hold(struct r5_test_array *t, const uint8_t *model, uint64_t size)
{
	struct r5_geometry g = { .nr_members = N, .chunk_size = CHUNK,
				 .layout = R5_LAYOUT_LEFT_SYMMETRIC, .member_data_size = MSIZE };
	uint8_t *m[N], par[CHUNK];

	for (int i = 0; i < N; i++)
		m[i] = r5t_read_member(t->path[i], r5t_data_offset(t->path[i]), MSIZE);
	for (uint64_t off = 0; off < size; off += CHUNK) {
		struct r5_location loc;

		r5_layout_map(&g, off, &loc);
		cr_assert_arr_eq(m[loc.member] + loc.member_offset, model + off, CHUNK,
				 "image chunk at %llu differs on member %u", (unsigned long long)off,
				 loc.member);
	}
	for (uint64_t row = 0; row < MSIZE / CHUNK; row++) {
		const uint32_t pd = r5_layout_parity_member(&g, row);

		memset(par, 0, sizeof(par));
		for (int i = 0; i < N; i++)
			if ((uint32_t)i != pd)
				for (uint64_t b = 0; b < CHUNK; b++)
					par[b] ^= m[i][row * CHUNK + b];
		cr_assert_arr_eq(m[pd] + row * CHUNK, par, CHUNK, "row %llu: parity is not the XOR of its data",
				 (unsigned long long)row);
	}
	for (int i = 0; i < N; i++)
		free(m[i]);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	cr_assert_not_null(f);
	cr_assert_eq(fseeko(f, 0, SEEK_END), 0);
	*len = (size_t)ftello(f);
	buf = malloc(*len);
	cr_assert_not_null(buf);
	rewind(f);
	cr_assert_eq(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void
spill(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Every one-missing assembly reads the model back; the member files are
 * put back as they were after each (a degraded start records the missing
 * member as faulty in the others). */
static void
assert_each_missing_reads(struct r5_test_array *t, const uint8_t *model, uint64_t size)
{
	uint8_t *back = malloc(size), *saved[N];
	size_t len[N];

	cr_assert_not_null(back);
	for (int i = 0; i < N; i++)
		saved[i] = slurp(t->path[i], &len[i]);
	for (int miss = 0; miss < N; miss++) {
		r5t_start(t, ((1u << N) - 1) & ~(1u << miss), &eo);
		cr_assert_eq(r5_array_read(t->a, back, size, 0), (ssize_t)size);
		cr_assert_arr_eq(back, model, size, "image differs with member %d missing", miss);
		r5t_stop(t);
		for (int i = 0; i < N; i++)
			spill(t->path[i], saved[i], len[i]);
	}
	for (int i = 0; i < N; i++)
		free(saved[i]);
	free(back);
}

Test(stripe_direct, whole_rows_are_written_around_the_cache, .timeout = 60)
{
	struct r5_test_array t;
	uint64_t seed = r5t_seed(), size;
	uint8_t *model, *back;

	r5t_create(&t, N, CHUNK, R5_LAYOUT_LEFT_SYMMETRIC, MSIZE);
	r5t_start(&t, (1u << N) - 1, &eo);
	size = r5_array_size(t.a);
	model = malloc(size);
	back = malloc(size);
	cr_assert(model && back);
	fill_random(model, size, &seed);
	/* the image in 1 MiB writes at a row's start, then writes that begin
	 * and end inside rows (a partial first and last row each) */
	for (uint64_t off = 0; off < size; off += MB)
		cr_assert_eq(r5_array_write(t.a, model + off, MB, off), (ssize_t)MB);
	const uint64_t rows_first = direct_rows(t.a);

	cr_assert_geq(rows_first, size / ROW / 2, "only %llu of %llu rows went around the cache",
		      (unsigned long long)rows_first, (unsigned long long)(size / ROW));
	for (int i = 0; i < 40; i++) {
		uint64_t len = ROW + r5t_rand(&seed) % (4 * ROW);
		uint64_t off = r5t_rand(&seed) % (size - len);

		fill_random(model + off, len, &seed);
		cr_assert_eq(r5_array_write(t.a, model + off, len, off), (ssize_t)len);
	}
	cr_assert_gt(direct_rows(t.a), rows_first);
	cr_assert_eq(r5_array_read(t.a, back, size, 0), (ssize_t)size);
	cr_assert_arr_eq(back, model, size, "the image differs from what was written");
	r5t_stop(&t);
	assert_members_hold(&t, model, size);
	/* the checksums went with the data: a restart reads all without a
	 * checksum error */
	r5t_start(&t, (1u << N) - 1, &eo);
	cr_assert_eq(r5_array_read(t.a, back, size, 0), (ssize_t)size);
	for (uint32_t s = 0; s < N; s++) {
		struct r5_slot_info si;

		r5_members_slot_info(t.a->members, s, &si);
		cr_assert_eq(si.csum_errors, 0, "slot %u: %llu checksum errors", s,
			     (unsigned long long)si.csum_errors);
	}
	r5t_stop(&t);
	assert_each_missing_reads(&t, model, size);
	free(model);
	free(back);
	r5t_cleanup(&t);
}

/* A stripe that is clean in the cache remembers what the members held. A
 * whole-row write around the cache changes the members under it, so a
 * later small write of the same row must not use those pages as the old
 * data: its parity would be computed from data that is no longer there,
 * and a lost member would then read back wrong. */
Test(stripe_direct, cached_pages_of_rewritten_rows_are_not_used, .timeout = 60)
{
	struct r5_test_array t;
	uint64_t seed = r5t_seed() + 1, size;
	uint8_t *model, blk[4 * KB];

	r5t_create(&t, N, CHUNK, R5_LAYOUT_LEFT_SYMMETRIC, MSIZE);
	r5t_start(&t, (1u << N) - 1, &eo_bitmap);
	size = r5_array_size(t.a);
	model = calloc(1, size);
	cr_assert_not_null(model);
	for (uint64_t row = 0; row < 8; row++) {
		const uint64_t base = row * ROW;

		/* a block of chunk 0 through the cache, written back: its
		 * stripe stays cached with every page read or written */
		fill_random(blk, sizeof(blk), &seed);
		memcpy(model + base + 8 * KB, blk, sizeof(blk));
		cr_assert_eq(r5_array_write(t.a, blk, sizeof(blk), base + 8 * KB), (ssize_t)sizeof(blk));
		cr_assert_eq(r5_array_flush(t.a), 0);
		/* the whole row around the cache */
		const uint64_t before = direct_rows(t.a);

		fill_random(model + base, ROW, &seed);
		cr_assert_eq(r5_array_write(t.a, model + base, ROW, base), (ssize_t)ROW);
		cr_assert_eq(direct_rows(t.a), before + 1, "row %llu did not go around the cache",
			     (unsigned long long)row);
		/* the same strip of chunk 1: a small write over the cached stripe */
		fill_random(blk, sizeof(blk), &seed);
		memcpy(model + base + CHUNK + 8 * KB, blk, sizeof(blk));
		cr_assert_eq(r5_array_write(t.a, blk, sizeof(blk), base + CHUNK + 8 * KB),
			     (ssize_t)sizeof(blk));
		cr_assert_eq(r5_array_flush(t.a), 0);
	}
	r5t_stop(&t);
	assert_members_hold(&t, model, size);
	assert_each_missing_reads(&t, model, size);
	free(model);
	r5t_cleanup(&t);
}

/* Writers that each own a few rows rewrite them whole (around the cache)
 * and in small pieces (through it, acknowledged before they are stored)
 * in random order, while readers read those rows: a whole row must never
 * overtake a piece acknowledged before it, nor race a piece's pre-reads.
 * Each writer keeps a model of its rows; at the end the image and the
 * members must hold exactly the models, parity included. */
#define HOT_WRITERS 3
#define HOT_ROWS_EACH 4

struct hot_writer {
	struct r5_array *a;
	uint8_t *model;
	int id;
	uint64_t seed;
	atomic_int *failures;
};

static void *
hot_writer_main(void *arg)
{
	struct hot_writer *w = arg;
	uint8_t buf[ROW];

	for (int op = 0; op < 600; op++) {
		/* rows id, id + HOT_WRITERS, ... belong to this writer */
		const uint64_t row = (uint64_t)w->id + HOT_WRITERS * (r5t_rand(&w->seed) % HOT_ROWS_EACH);
		uint64_t off = row * ROW, len = ROW;

		if (r5t_rand(&w->seed) % 2) {
			len = 512 * (1 + r5t_rand(&w->seed) % 16);
			off += r5t_rand(&w->seed) % (ROW - len);
		}
		fill_random(buf, len, &w->seed);
		if (r5_array_write(w->a, buf, len, off) != (ssize_t)len) {
			atomic_fetch_add(w->failures, 1);
			return NULL;
		}
		memcpy(w->model + off, buf, len);
		if (op % 97 == 0 && r5_array_flush(w->a) != 0)
			atomic_fetch_add(w->failures, 1);
	}
	return NULL;
}

struct hot_reader {
	struct r5_array *a;
	atomic_bool *stop;
	atomic_int *failures;
	uint64_t seed;
};

static void *
hot_reader_main(void *arg)
{
	struct hot_reader *r = arg;
	uint8_t buf[2 * ROW];

	while (!atomic_load(r->stop)) {
		uint64_t len = 1 + r5t_rand(&r->seed) % sizeof(buf);
		uint64_t off = r5t_rand(&r->seed) % (HOT_WRITERS * HOT_ROWS_EACH * ROW);

		if (r5_array_read(r->a, buf, len, off) != (ssize_t)len)
			atomic_fetch_add(r->failures, 1);
	}
	return NULL;
}

static void
race(uint32_t policy)
{
	const struct r5_engine_opts opts = { .stripe_cache_size = 256, .strip_size = 4 * KB,
					     .consistency_policy = policy };
	struct r5_test_array t;
	struct hot_writer w[HOT_WRITERS];
	struct hot_reader rd[2];
	pthread_t wt[HOT_WRITERS], rt[2];
	atomic_int failures = 0;
	atomic_bool stop = false;
	uint64_t size;
	uint8_t *model, *back;

	r5t_create(&t, N, CHUNK, R5_LAYOUT_LEFT_SYMMETRIC, MSIZE);
	r5t_start(&t, (1u << N) - 1, &opts);
	size = r5_array_size(t.a);
	model = calloc(1, size);
	back = malloc(size);
	cr_assert(model && back);
	for (int i = 0; i < HOT_WRITERS; i++) {
		w[i] = (struct hot_writer){ t.a, model, i, r5t_seed() + 100 + (uint64_t)i, &failures };
		cr_assert_eq(pthread_create(&wt[i], NULL, hot_writer_main, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		rd[i] = (struct hot_reader){ t.a, &stop, &failures, r5t_seed() + 200 + (uint64_t)i };
		cr_assert_eq(pthread_create(&rt[i], NULL, hot_reader_main, &rd[i]), 0);
	}
	for (int i = 0; i < HOT_WRITERS; i++)
		pthread_join(wt[i], NULL);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);
	cr_assert_eq(atomic_load(&failures), 0);
	cr_assert_gt(direct_rows(t.a), 0, "no row went around the cache");
	cr_log_info("%llu whole rows went around the cache", (unsigned long long)direct_rows(t.a));
	cr_assert_eq(r5_array_read(t.a, back, size, 0), (ssize_t)size);
	cr_assert_arr_eq(back, model, size, "the image differs from the writers' models");
	r5t_stop(&t);
	assert_members_hold(&t, model, size);
	free(model);
	free(back);
	r5t_cleanup(&t);
}

/* Without the log, and with it: a row the log holds a record of (every
 * row a piece went to) gets a page-less record before it is written
 * around the cache (stripe_direct.c). */
Test(stripe_direct, whole_rows_and_pieces_of_them_race_safely, .timeout = 120)
{
	race(R5_CONSISTENCY_BITMAP);
}

Test(stripe_direct, whole_rows_and_pieces_of_them_race_safely_with_the_log, .timeout = 120)
{
	race(R5_CONSISTENCY_PPL);
}
