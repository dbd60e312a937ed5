/* test_stripe_cache.c - the stripe_head cache under many threads: counts
 * return to zero, every stripe goes back to inactive, the 3/4 rule holds,
 * and concurrent writers to one stripe lose no update. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "r5_test_array.h"
#include "stripe_internal.h"

#define MB (1024ull * 1024)

/* Every stripe idle: count 0, on the inactive list, nothing pending. */
static void
assert_cache_idle(struct r5_cache *c)
{
	uint32_t active, inactive, handle, delayed;

	/* workers may still be putting the last references: wait for them */
	for (int tries = 0; tries < 2000; tries++) {
		r5_cache_counts(c, &active, &inactive, &handle, &delayed);
		if (active == 0)
			break;
		usleep(1000);
	}
	cr_assert_eq(active, 0, "%u stripes still active", active);
	cr_assert_eq(inactive, c->nr_stripes);
	cr_assert_eq(handle, 0);
	cr_assert_eq(delayed, 0);
	for (uint32_t s = 0; s < c->nr_stripes; s++) {
		struct stripe_head *sh = c->pool[s];

		cr_assert_eq(atomic_load(&sh->count), 0, "stripe %u count %u", s,
			     atomic_load(&sh->count));
		cr_assert_eq(sh->on_list, R5_LIST_INACTIVE);
		cr_assert_eq(sh->inflight, 0);
		for (uint32_t i = 0; i < c->nr_members; i++) {
			cr_assert_null(sh->dev[i].toread);
			cr_assert_null(sh->dev[i].towrite);
			cr_assert_eq(sh->dev[i].flags & (R5_DIRTY | R5_LOCKED), 0);
		}
	}
}

struct getput_arg {
	struct r5_cache *c;
	uint64_t seed;
	uint64_t nsectors;
	int rounds;
};

static void *
getput_thread(void *p)
{
	struct getput_arg *arg = p;
	uint64_t s = arg->seed;

	for (int r = 0; r < arg->rounds; r++) {
		struct stripe_head *held[2];
		int k = (int)(r5t_rand(&s) % 2) + 1;

		for (int i = 0; i < k; i++) {
			/* 8 threads x 2 = 16 held at most, below 3/4 of a 32-stripe
			 * partition: the test cannot deadlock by design */
			held[i] = r5_stripe_get(arg->c, r5t_rand(&s) % arg->nsectors);
			cr_assert_geq(atomic_load(&held[i]->count), 1);
		}
		for (int i = 0; i < k; i++)
			r5_stripe_put(held[i]);
	}
	return NULL;
}

Test(stripe_cache, many_threads_counts_return_to_zero, .timeout = 120)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 256 };
	pthread_t th[8];
	struct getput_arg args[8];

	r5t_create(&t, 4, 64 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, 16 * MB);
	r5t_start(&t, 0xf, &eo);
	struct r5_cache *c = t.a->cache;
	for (int i = 0; i < 8; i++) {
		args[i] = (struct getput_arg){ c, r5t_seed() + (uint64_t)i * 7919, 4096, 20000 };
		cr_assert_eq(pthread_create(&th[i], NULL, getput_thread, &args[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	assert_cache_idle(c);
	cr_assert_gt(atomic_load(&c->stats.hits), 0);
	cr_assert_gt(atomic_load(&c->stats.misses), 0);
	r5t_stop(&t);
	r5t_cleanup(&t);
}

struct waiter_arg {
	struct r5_cache *c;
	uint64_t sector;
	atomic_int got;
	struct stripe_head *sh;
};

static void *
waiter_thread(void *p)
{
	struct waiter_arg *w = p;

	w->sh = r5_stripe_get(w->c, w->sector);
	atomic_store(&w->got, 1);
	return NULL;
}

Test(stripe_cache, three_quarter_hysteresis, .timeout = 60)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 64 }; /* 8 per partition */
	struct stripe_head *held[8];
	struct waiter_arg w = { 0 };
	pthread_t th;

	r5t_create(&t, 4, 64 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, 16 * MB);
	r5t_start(&t, 0xf, &eo);
	struct r5_cache *c = t.a->cache;
	struct r5_partition *p = &c->part[0];
	cr_assert_eq(p->size, 8);

	/* take every stripe of partition 0 (sectors = 0 mod 8) */
	for (int i = 0; i < 8; i++)
		held[i] = r5_stripe_get(c, (uint64_t)i * R5_NR_PARTITIONS);
	cr_assert_eq(p->active, 8);

	w.c = c;
	w.sector = 8 * R5_NR_PARTITIONS;
	cr_assert_eq(pthread_create(&th, NULL, waiter_thread, &w), 0);
	for (int i = 0; i < 5000 && !p->waiters; i++)
		usleep(1000);
	cr_assert_eq(p->waiters, 1, "the getter should be waiting");
	cr_assert(p->blocked);

	/* Free two: 6 active is not below 3/4 of 8, so the waiter keeps waiting. */
	r5_stripe_put(held[0]);
	r5_stripe_put(held[1]);
	usleep(100 * 1000);
	cr_assert_eq(atomic_load(&w.got), 0, "woke before the pool fell below 3/4");
	cr_assert(p->blocked);

	/* A third: 5 < 6, the partition unblocks and the waiter gets one. */
	r5_stripe_put(held[2]);
	pthread_join(th, NULL);
	cr_assert_eq(atomic_load(&w.got), 1);
	cr_assert_eq(w.sh->sector, 8 * R5_NR_PARTITIONS);
	cr_assert_not(p->blocked);
	r5_stripe_put(w.sh);
	for (int i = 3; i < 8; i++)
		r5_stripe_put(held[i]);
	assert_cache_idle(c);
	/* other partitions were never affected */
	cr_assert_not(c->part[1].blocked);
	r5t_stop(&t);
	r5t_cleanup(&t);
}

/* Writers hammer disjoint bytes of the same few stripes. */
struct writer_arg {
	struct r5_array *a;
	int id;
	int rounds;
	uint32_t piece;
	uint8_t last;
};

static void *
writer_thread(void *p)
{
	struct writer_arg *w = p;
	uint8_t buf[4096];

	for (int r = 0; r < w->rounds; r++) {
		w->last = (uint8_t)(w->id * 31 + r);
		memset(buf, w->last, w->piece);
		/* thread id picks a disjoint piece of the first 64 KiB (all in
		 * stripe 0 and neighbours with a 4 KiB strip and 16 KiB chunks) */
		cr_assert_eq(r5_array_write(w->a, buf, w->piece, (uint64_t)w->id * w->piece),
			     (ssize_t)w->piece);
	}
	return NULL;
}

Test(stripe_cache, concurrent_writers_to_one_stripe_lose_nothing, .timeout = 120)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 64, .nr_workers = 4 };
	enum { NW = 16 };
	pthread_t th[NW];
	struct writer_arg args[NW];
	uint8_t buf[4096];

	/* piece 1536: writers share pages (partial, unaligned overlaps of a page) */
	r5t_create(&t, 4, 16 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, 4 * MB);
	r5t_start(&t, 0xf, &eo);
	for (int i = 0; i < NW; i++) {
		args[i] = (struct writer_arg){ t.a, i, 400, 1536, 0 };
		cr_assert_eq(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
	}
	for (int i = 0; i < NW; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(r5_array_flush(t.a), 0);
	for (int i = 0; i < NW; i++) {
		cr_assert_eq(r5_array_read(t.a, buf, args[i].piece, (uint64_t)i * args[i].piece),
			     (ssize_t)args[i].piece);
		for (uint32_t b = 0; b < args[i].piece; b++)
			cr_assert_eq(buf[b], args[i].last, "writer %d byte %u: %u != %u", i, b,
				     buf[b], args[i].last);
	}
	assert_cache_idle(t.a->cache);
	r5t_stop(&t);

	/* and the parity on disk matches: every row XORs to zero */
	uint64_t msize = 4 * MB;
	uint8_t *m[4];
	for (int i = 0; i < 4; i++)
		m[i] = r5t_read_member(t.paths[i], r5t_data_offset(t.paths[i]), msize);
	for (uint64_t o = 0; o < msize; o++)
		cr_assert_eq(m[0][o] ^ m[1][o] ^ m[2][o] ^ m[3][o], 0, "parity mismatch at %llu",
			     (unsigned long long)o);
	for (int i = 0; i < 4; i++)
		free(m[i]);
	r5t_cleanup(&t);
}
