/* locks.h - pthread wrappers that abort on failure.
 *
 * A failing pthread_mutex_lock means memory corruption or a bug; going on
 * would risk the data, so every helper aborts with a message instead
 * (as nbdkit's locks do). All lock calls in core/ go through these.
 */
#ifndef RAID5FS_CORE_LOCKS_H
#define RAID5FS_CORE_LOCKS_H

#include <pthread.h>
#include <stdint.h>

void r5_mutex_init(pthread_mutex_t *m);
void r5_mutex_destroy(pthread_mutex_t *m);
void r5_mutex_lock(pthread_mutex_t *m);
void r5_mutex_unlock(pthread_mutex_t *m);
void r5_cond_init(pthread_cond_t *c);
void r5_cond_destroy(pthread_cond_t *c);
void r5_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
/* Waits at most timeout_ns; returns 0, or ETIMEDOUT. */
int r5_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, uint64_t timeout_ns);
void r5_cond_signal(pthread_cond_t *c);
void r5_cond_broadcast(pthread_cond_t *c);

#endif
