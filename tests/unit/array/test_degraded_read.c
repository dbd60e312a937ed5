/* test_degraded_read.c - reads of a degraded array that bypass the stripe
 * cache (core/array/degraded_read.c): chunks on the members that are there
 * are read from them, chunks of the missing member are rebuilt from the
 * survivors. Judged by what a user checks: every byte reads back as
 * written, also while other chunks of the same rows are being rewritten.
 *
 * Geometry: 4 members of 8 MiB, 64 KiB chunks, 4 KiB strips. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "member_faulty.h"
#include "r5_test_array.h"
#include "raid5fs/layout.h"

#define KB 1024ull
#define MB (1024ull * 1024)
#define N 4
#define CHUNK (64 * KB)
#define MSIZE (8 * MB)
#define MISSING 2

static const struct r5_engine_opts eo = { .stripe_cache_size = 256, .strip_size = 4 * KB };

static void
fill_random(uint8_t *p, size_t len, uint64_t *seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = r5t_rand(seed);
		memcpy(p + i, &v, 8);
	}
}

/* A clean array full of seeded data (its image in *shadow), stopped. */
static void
make_filled_array(struct r5_test_array *t, uint8_t **shadow, uint64_t *size)
{
	uint64_t seed = r5t_seed();

	r5t_create(t, N, CHUNK, R5_LAYOUT_LEFT_SYMMETRIC, MSIZE);
	r5t_start(t, (1u << N) - 1, &eo);
	*size = r5_array_size(t->a);
	*shadow = malloc(*size);
	cr_assert_not_null(*shadow);
	fill_random(*shadow, *size, &seed);
	cr_assert_eq(r5_array_write(t->a, *shadow, *size, 0), (ssize_t)*size);
	r5t_stop(t);
}

static uint32_t
member_of(struct r5_array *a, uint64_t off)
{
	struct r5_location loc;

	r5_layout_map(&a->geo, off, &loc);
	return loc.member;
}

Test(degraded_read, every_byte_reads_back_with_a_member_missing, .timeout = 60)
{
	struct r5_test_array t;
	uint8_t *shadow, *back;
	uint64_t size, seed = r5t_seed() + 1;

	make_filled_array(&t, &shadow, &size);
	r5t_start(&t, ((1u << N) - 1) & ~(1u << MISSING), &eo);
	back = malloc(size);
	cr_assert_not_null(back);
	/* the whole image in one read, then pieces at odd places and sizes */
	cr_assert_eq(r5_array_read(t.a, back, size, 0), (ssize_t)size);
	cr_assert_arr_eq(back, shadow, size, "the degraded image differs from what was written");
	for (int i = 0; i < 2000; i++) {
		size_t len = 1 + r5t_rand(&seed) % (3 * CHUNK);
		uint64_t off = r5t_rand(&seed) % (size - len);

		cr_assert_eq(r5_array_read(t.a, back, len, off), (ssize_t)len);
		cr_assert_arr_eq(back, shadow + off, len, "read of %zu at %llu differs", len,
				 (unsigned long long)off);
	}
	/* both ways without the cache were taken */
	cr_assert_gt(atomic_load(&t.a->io.degraded_reads), 0);
	cr_assert_gt(atomic_load(&t.a->io.bypass_reads), 0);
	r5t_stop(&t);
	free(back);
	free(shadow);
	r5t_cleanup(&t);
}

/* A few rows, rewritten on the members that are there while readers
 * rebuild the missing member's chunks of the same rows: a rebuild that
 * XORs a survivor read before a write with parity read after it returns
 * bytes nobody wrote. The last survivor a rebuild reads (slot 3) is slow
 * for the readers' 16 KiB reads (not for the writers' 4 KiB pre-reads),
 * so that writes land between a rebuild's reads: without the count of
 * write rounds (degraded_read.c) nearly every run returns wrong chunks. */
#define HOT_ROWS 8

struct worker {
	struct r5_array *a;
	const uint8_t *shadow; /* readers: what the missing member's chunks hold */
	uint64_t seed;
	atomic_bool *stop;
	uint64_t ops, wrong;
	uint64_t first_wrong;
};

static void *
writer_main(void *arg)
{
	struct worker *w = arg;
	uint8_t buf[16 * KB];

	while (!atomic_load(w->stop)) {
		uint64_t chunk = r5t_rand(&w->seed) % (HOT_ROWS * (N - 1));
		size_t len = (1 + r5t_rand(&w->seed) % 4) * 4 * KB;
		uint64_t off = chunk * CHUNK + r5t_rand(&w->seed) % ((CHUNK - len) / 4096 + 1) * 4096;

		if (member_of(w->a, off) == MISSING)
			continue; /* the readers' chunks stay as they were */
		fill_random(buf, len, &w->seed);
		cr_assert_eq(r5_array_write(w->a, buf, len, off), (ssize_t)len);
		w->ops++;
		usleep(200); /* room for rebuilds between the writes */
	}
	return NULL;
}

static void *
reader_main(void *arg)
{
	struct worker *w = arg;
	uint8_t buf[CHUNK];

	while (!atomic_load(w->stop)) {
		uint64_t chunk = r5t_rand(&w->seed) % (HOT_ROWS * (N - 1));
		const size_t len = 16 * KB;
		uint64_t off = chunk * CHUNK + r5t_rand(&w->seed) % (CHUNK / len) * len;

		if (member_of(w->a, off) != MISSING)
			continue;
		cr_assert_eq(r5_array_read(w->a, buf, len, off), (ssize_t)len);
		if (memcmp(buf, w->shadow + off, len) != 0 && w->wrong++ == 0)
			w->first_wrong = off;
		w->ops++;
	}
	return NULL;
}

Test(degraded_read, rebuilt_chunks_are_right_while_their_rows_are_written, .timeout = 120)
{
	struct r5_test_array t;
	struct worker w[4];
	pthread_t th[4];
	atomic_bool stop = false;
	uint8_t *shadow;
	uint64_t size, wrong = 0, reads = 0, writes = 0;
	const struct r5_fault_spec slow = { .seed = 1, .delay_us = 2000, .delay_min_len = 16 * KB };

	make_filled_array(&t, &shadow, &size);
	r5t_start(&t, ((1u << N) - 1) & ~(1u << MISSING), &eo);
	cr_assert_eq(r5_member_wrap_faulty(r5_members_member(t.a->members, 3), &slow), 0);
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .a = t.a, .shadow = shadow, .seed = r5t_seed() + 7 * (uint64_t)i,
					.stop = &stop };
		cr_assert_eq(pthread_create(&th[i], NULL, i < 2 ? writer_main : reader_main, &w[i]), 0);
	}
	usleep(3 * 1000 * 1000);
	atomic_store(&stop, true);
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		*(i < 2 ? &writes : &reads) += w[i].ops;
		wrong += w[i].wrong;
	}
	cr_assert_gt(writes, 100, "too few writes");
	cr_assert_gt(atomic_load(&t.a->io.degraded_reads), 20,
		     "too few reads rebuilt without the cache: %llu of %llu",
		     (unsigned long long)atomic_load(&t.a->io.degraded_reads),
		     (unsigned long long)reads);
	cr_assert_eq(wrong, 0, "%llu of %llu rebuilt chunks wrong (first at image offset %llu)",
		     (unsigned long long)wrong, (unsigned long long)reads,
		     (unsigned long long)(w[2].wrong ? w[2].first_wrong : w[3].first_wrong));
	r5t_stop(&t);
	free(shadow);
	r5t_cleanup(&t);
}
