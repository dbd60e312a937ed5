/* test_sync_start.c - two control commands starting a sync at once (two
 * `raid5fs check` run together) must start one sync thread, not two. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "r5_test_array.h"

#define MB (1024ull * 1024)

struct racer {
	struct r5_sync *sync;
	pthread_barrier_t *go;
	int result;
};

static void *
racer_main(void *arg)
{
	struct racer *r = arg;

	pthread_barrier_wait(r->go);
	r->result = r5_sync_start(r->sync, R5_SYNC_CHECK, -1, 0);
	return NULL;
}

Test(sync_start, concurrent_starts_start_one, .timeout = 120)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 256 };
	pthread_barrier_t go;

	r5t_create(&t, 3, 64 * 1024, R5_LAYOUT_LEFT_SYMMETRIC, 8 * MB);
	r5t_start(&t, 0x7, &eo);
	/* data everywhere: a check skips what the in-use map calls unused */
	uint8_t *fill = malloc(r5_array_size(t.a));
	cr_assert_not_null(fill);
	memset(fill, 0x5a, r5_array_size(t.a));
	cr_assert_eq(r5_array_write(t.a, fill, r5_array_size(t.a), 0), (ssize_t)r5_array_size(t.a));
	free(fill);
	pthread_barrier_init(&go, NULL, 2);
	for (int round = 0; round < 300; round++) {
		struct racer r[2] = { { t.a->sync, &go, 1 }, { t.a->sync, &go, 1 } };
		pthread_t th[2];

		/* a finished run whose thread is not reaped yet: the next start
		 * has to join it, which is where two starts used to overlap */
		r5_sync_set_speed(t.a->sync, 0, 4000 * MB);
		cr_assert_eq(r5_sync_start(t.a->sync, R5_SYNC_CHECK, -1, 0), 0);
		for (int i = 0; i < 10000 && r5_sync_action(t.a->sync) != R5_SYNC_IDLE; i++)
			usleep(1000);
		cr_assert_eq(r5_sync_action(t.a->sync), R5_SYNC_IDLE);
		/* slow, so that the winner is still running when the loser looks */
		r5_sync_set_speed(t.a->sync, 0, 1 * MB);
		for (int i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, racer_main, &r[i]);
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		cr_assert((r[0].result == 0 && r[1].result == -EBUSY) ||
				  (r[1].result == 0 && r[0].result == -EBUSY),
			  "round %d: starts returned %d and %d (one sync thread expected)", round,
			  r[0].result, r[1].result);
		r5_sync_stop(t.a->sync);
	}
	pthread_barrier_destroy(&go);
	r5t_stop(&t);
	r5t_cleanup(&t);
}
