/* locks.c - pthread wrappers that abort on failure (see locks.h). */
#include "locks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
r5_lock_fatal(const char *what, int err)
{
	fprintf(stderr, "raid5fs: fatal: %s failed: %s\n", what, strerror(err));
	abort();
}

#define R5_CHECK(call, what)                  \
	do {                                  \
		int r5_err_ = (call);         \
		if (r5_err_ != 0)             \
			r5_lock_fatal(what, r5_err_); \
	} while (0)

void
r5_mutex_init(pthread_mutex_t *m)
{
	R5_CHECK(pthread_mutex_init(m, NULL), "pthread_mutex_init");
}

void
r5_mutex_destroy(pthread_mutex_t *m)
{
	R5_CHECK(pthread_mutex_destroy(m), "pthread_mutex_destroy");
}

void
r5_mutex_lock(pthread_mutex_t *m)
{
	R5_CHECK(pthread_mutex_lock(m), "pthread_mutex_lock");
}

void
r5_mutex_unlock(pthread_mutex_t *m)
{
	R5_CHECK(pthread_mutex_unlock(m), "pthread_mutex_unlock");
}

void
r5_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t attr;

	R5_CHECK(pthread_condattr_init(&attr), "pthread_condattr_init");
	/* timed waits use CLOCK_MONOTONIC so a clock change cannot stall them */
	R5_CHECK(pthread_condattr_setclock(&attr, CLOCK_MONOTONIC), "pthread_condattr_setclock");
	R5_CHECK(pthread_cond_init(c, &attr), "pthread_cond_init");
	pthread_condattr_destroy(&attr);
}

void
r5_cond_destroy(pthread_cond_t *c)
{
	R5_CHECK(pthread_cond_destroy(c), "pthread_cond_destroy");
}

void
r5_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	R5_CHECK(pthread_cond_wait(c, m), "pthread_cond_wait");
}

int
r5_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, uint64_t timeout_ns)
{
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(timeout_ns / 1000000000u);
	ts.tv_nsec += (long)(timeout_ns % 1000000000u);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	err = pthread_cond_timedwait(c, m, &ts);
	if (err != 0 && err != ETIMEDOUT)
		r5_lock_fatal("pthread_cond_timedwait", err);
	return err;
}

void
r5_cond_signal(pthread_cond_t *c)
{
	R5_CHECK(pthread_cond_signal(c), "pthread_cond_signal");
}

void
r5_cond_broadcast(pthread_cond_t *c)
{
	R5_CHECK(pthread_cond_broadcast(c), "pthread_cond_broadcast");
}
