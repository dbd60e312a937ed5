/* stripe_work.c - the worker pool: workers run handle_stripe for stripes on
 * the handle list in batches, then the work it queued (stripe_io.c,
 * stripe_ops.c), and release the delayed list; I/O workers only read
 * members. */
#include <errno.h>
#include <stdlib.h>

#include "locks.h"
#include "raid5fs/util.h"
#include "stripe_internal.h"

/* How long delayed stripes may wait for the rest of their data while
 * requests are still being attached (md releases them at unplug). */
#define R5_DELAY_NS (2u * 1000 * 1000)
/* How long stripes holding only bounced (acknowledged) writes wait for the
 * rest of their row: far longer than a writer takes to send its next
 * request, short enough to keep the dirty data young. */
#define R5_LAZY_DELAY_NS (5ull * 1000 * 1000)


/* An I/O worker: member reads from read_queue, nothing else. */
static void *
r5_io_worker_main(void *arg)
{
	struct r5_cache *c = arg;

	r5_mutex_lock(&c->device_lock);
	for (;;) {
		if (r5_io_run_queued(c, &c->read_queue, &c->io_cond))
			continue;
		if (c->stopping)
			break;
		r5_cond_wait(&c->io_cond, &c->device_lock);
	}
	r5_mutex_unlock(&c->device_lock);
	return NULL;
}

static void *
r5_worker_main(void *arg)
{
	struct r5_cache *c = arg;
	struct r5_list *e;
	struct r5_plug plug_store, *plug = &plug_store; /* 4 KiB of stack */

	plug->n = 0;

	r5_mutex_lock(&c->device_lock);
	for (;;) {
		/* member I/O only: computes run in the worker's plug */
		if (r5_io_run_queued(c, &c->op_queue, &c->work_cond))
			continue;
		if (!r5_list_empty(&c->handle_list)) {
			struct stripe_head *batch[R5_HANDLE_BATCH];
			uint32_t nb = 0;

			while (nb < R5_HANDLE_BATCH && (e = r5_list_pop(&c->handle_list))) {
				struct stripe_head *sh = r5_container_of(e, struct stripe_head, lru);

				/* count 0 -> 1 under device_lock (stripe_internal.h) */
				sh->on_list = R5_LIST_NONE;
				atomic_fetch_add(&sh->count, 1);
				batch[nb++] = sh;
			}
			if (!r5_list_empty(&c->handle_list))
				r5_cond_signal(&c->work_cond); /* more left: the next worker */
			r5_mutex_unlock(&c->device_lock);
			for (uint32_t i = 0; i < nb; i++) {
				r5_handle_stripe(batch[i], plug);
				r5_stripe_put(batch[i]);
			}
			r5_plug_flush(c, plug);
			r5_mutex_lock(&c->device_lock);
			continue;
		}
		if (c->nr_delayed) {
			/* Release the delayed stripes (stripe_internal.h): a writer waits
			 * and nobody is attaching a request; someone waits for a
			 * free stripe; stopping; or the list is old enough. */
			uint64_t age = r5_now_ns() - c->delayed_since_ns;
			uint64_t limit = c->nr_delayed_urgent ? R5_DELAY_NS : R5_LAZY_DELAY_NS;

			if ((c->nr_delayed_urgent && atomic_load(&c->plugged) == 0) ||
			    atomic_load(&c->get_waiters) > 0 || c->stopping || age >= limit) {
				r5_cache_activate_delayed(c);
				continue;
			}
			r5_cond_timedwait(&c->work_cond, &c->device_lock, limit - age);
			continue;
		}
		if (c->stopping)
			break;
		r5_cond_wait(&c->work_cond, &c->device_lock);
	}
	r5_mutex_unlock(&c->device_lock);
	return NULL;
}

int
r5_workers_start(struct r5_cache *c, uint32_t nr_workers, uint32_t nr_io_workers)
{
	c->workers = calloc(nr_workers + nr_io_workers, sizeof(*c->workers));
	if (!c->workers)
		return -ENOMEM;
	c->nr_workers = nr_workers;
	c->nr_io_workers = nr_io_workers;
	for (uint32_t i = 0; i < nr_workers + nr_io_workers; i++) {
		int err = pthread_create(&c->workers[i], NULL,
					 i < nr_workers ? r5_worker_main : r5_io_worker_main, c);

		if (err) {
			r5_workers_stop(c);
			return -err;
		}
		c->workers_started++;
	}
	return 0;
}

void
r5_workers_stop(struct r5_cache *c)
{
	r5_mutex_lock(&c->device_lock);
	c->stopping = true;
	r5_cond_broadcast(&c->work_cond);
	r5_cond_broadcast(&c->io_cond);
	r5_mutex_unlock(&c->device_lock);
	for (uint32_t i = 0; i < c->workers_started; i++)
		pthread_join(c->workers[i], NULL);
	c->workers_started = 0;
	free(c->workers);
	c->workers = NULL;
}
