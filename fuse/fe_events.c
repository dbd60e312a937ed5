/* fe_events.c - the events program (raid5fs mount -o events=PROGRAM, as
 * mdadm --monitor --program): for each event of the array
 *
 *     PROGRAM EVENT MOUNTPOINT [SLOT [MEMBER]]
 *
 * with RAID5FS_EVENT, RAID5FS_SEQ, RAID5FS_TIME, RAID5FS_MOUNTPOINT,
 * RAID5FS_SLOT, RAID5FS_MEMBER and RAID5FS_DETAIL in its environment, and
 * /dev/null as its standard input and output (it logs on its own: logger).
 *
 * The engine's listener only copies the event into a queue; one runner
 * thread starts the programs in the order of the events and does not wait
 * for them: a slow or hanging program holds up nothing but itself. At most
 * R5_FE_HOOK_RUNNING run at once (the rest wait in the queue, in order);
 * when even the queue is full, events are dropped for the program (counted
 * and logged; the events file still has them). Each program's exit status
 * is logged once the runner sees it end. At the stop, queued events still
 * get their programs; programs still running are left to finish on their
 * own. */
#include "frontend_internal.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "raid5fs/array.h"
#include "raid5fs/events.h"
#include "raid5fs/log.h"

#define R5_FE_HOOK_QUEUE 256
#define R5_FE_HOOK_RUNNING 16

extern char **environ;

struct r5_fe_hook {
	char program[PATH_MAX];
	char mountpoint[PATH_MAX];
	pthread_t thread;
	pthread_mutex_t lock; /* protects everything below */
	pthread_cond_t cond;  /* an event queued, or stopping */
	struct r5_event queue[R5_FE_HOOK_QUEUE];
	unsigned head, count; /* queue[head] is the oldest */
	uint64_t dropped;     /* events the queue had no room for */
	bool stopping;
	pid_t running[R5_FE_HOOK_RUNNING]; /* children not yet reaped; 0 = free */
	char running_event[R5_FE_HOOK_RUNNING][24];
};

/* The listener (events.h): a copy into the queue, nothing more. */
static void
hook_listen(void *arg, const struct r5_event *e)
{
	struct r5_fe_hook *h = arg;

	pthread_mutex_lock(&h->lock);
	if (h->count == R5_FE_HOOK_QUEUE) {
		h->dropped++;
	} else {
		h->queue[(h->head + h->count++) % R5_FE_HOOK_QUEUE] = *e;
		pthread_cond_signal(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
}

/* Reaps the programs that have ended and logs how. lock held. */
static unsigned
hook_reap(struct r5_fe_hook *h)
{
	unsigned busy = 0;

	for (unsigned i = 0; i < R5_FE_HOOK_RUNNING; i++) {
		int st;

		if (!h->running[i])
			continue;
		pid_t r = waitpid(h->running[i], &st, WNOHANG);

		if (r == 0) {
			busy++;
			continue;
		}
		if (r < 0)
			r5_logp(R5_LOG_WARNING, "events program for '%s': lost track of pid %ld",
				h->running_event[i], (long)h->running[i]);
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			r5_logp(R5_LOG_INFO, "events program for '%s' exited 0", h->running_event[i]);
		else if (WIFEXITED(st))
			r5_logp(R5_LOG_WARNING, "events program for '%s' exited %d",
				h->running_event[i], WEXITSTATUS(st));
		else
			r5_logp(R5_LOG_WARNING, "events program for '%s' killed by signal %d",
				h->running_event[i], WTERMSIG(st));
		h->running[i] = 0;
	}
	return busy;
}

/* Starts the program for e; its pid, or -errno. */
static pid_t
hook_spawn(struct r5_fe_hook *h, const struct r5_event *e)
{
	char slot[16], seq[24], when[32], *env_add[8];
	char *argv[] = { h->program, (char *)e->name, h->mountpoint, slot, (char *)e->member, NULL };
	posix_spawn_file_actions_t fa;
	size_t nenv = 0, k = 0;
	struct tm tm;
	pid_t pid;
	int err;

	snprintf(slot, sizeof(slot), "%d", e->slot);
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)e->seq);
	gmtime_r(&e->time.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (e->slot < 0)
		argv[3] = NULL; /* PROGRAM EVENT MOUNTPOINT */
	else if (e->member[0] == '\0')
		argv[4] = NULL; /* ... SLOT */
	while (environ[nenv])
		nenv++;
	char **envp = calloc(nenv + 8, sizeof(*envp));

	if (!envp)
		return -ENOMEM;
	if (asprintf(&env_add[0], "RAID5FS_EVENT=%s", e->name) < 0 ||
	    asprintf(&env_add[1], "RAID5FS_SEQ=%s", seq) < 0 ||
	    asprintf(&env_add[2], "RAID5FS_TIME=%s", when) < 0 ||
	    asprintf(&env_add[3], "RAID5FS_MOUNTPOINT=%s", h->mountpoint) < 0 ||
	    asprintf(&env_add[4], "RAID5FS_SLOT=%s", e->slot < 0 ? "" : slot) < 0 ||
	    asprintf(&env_add[5], "RAID5FS_MEMBER=%s", e->member) < 0 ||
	    asprintf(&env_add[6], "RAID5FS_DETAIL=%s", e->detail) < 0) {
		free(envp);
		return -ENOMEM; /* a few bytes lost: out of memory already */
	}
	env_add[7] = NULL;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "RAID5FS_", 8) != 0)
			envp[k++] = environ[i];
	for (size_t i = 0; env_add[i]; i++)
		envp[k++] = env_add[i];
	envp[k] = NULL;
	/* stdin, stdout and stderr on /dev/null: the daemon's stderr is the
	 * pipe of its log pump, which a program still running at the stop
	 * would keep open, and the daemon would wait for it; nothing else of
	 * the daemon's (the FUSE device, the member files) is inherited */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	err = posix_spawnp(&pid, h->program, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	for (size_t i = 0; env_add[i]; i++)
		free(env_add[i]);
	free(envp);
	return err ? -err : pid;
}

static void *
hook_main(void *arg)
{
	struct r5_fe_hook *h = arg;
	uint64_t dropped_told = 0;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		unsigned busy = hook_reap(h);

		if (h->dropped != dropped_told) {
			r5_logp(R5_LOG_WARNING, "events program: %llu events dropped (too many at once)",
				(unsigned long long)(h->dropped - dropped_told));
			dropped_told = h->dropped;
		}
		/* at the stop, what is queued still runs, unless every place
		 * is taken (by programs that may never end) */
		if (h->stopping && (h->count == 0 || busy == R5_FE_HOOK_RUNNING)) {
			if (h->count)
				r5_logp(R5_LOG_WARNING, "events program: %u events not run at the stop",
					h->count);
			break;
		}
		if (h->count == 0 || busy == R5_FE_HOOK_RUNNING) {
			/* wake for the next event, or every 200 ms to reap */
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 200 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&h->cond, &h->lock, &until);
			continue;
		}
		struct r5_event e = h->queue[h->head];

		h->head = (h->head + 1) % R5_FE_HOOK_QUEUE;
		h->count--;
		pthread_mutex_unlock(&h->lock);
		pid_t pid = hook_spawn(h, &e);

		pthread_mutex_lock(&h->lock);
		if (pid < 0) {
			r5_logp(R5_LOG_WARNING, "events program %s for '%s' did not start: %s", h->program,
				e.name, strerror((int)-pid));
			continue;
		}
		for (unsigned i = 0; i < R5_FE_HOOK_RUNNING; i++)
			if (!h->running[i]) {
				h->running[i] = pid;
				snprintf(h->running_event[i], sizeof(h->running_event[i]), "%s", e.name);
				break;
			}
	}
	unsigned left = 0;

	for (unsigned i = 0; i < R5_FE_HOOK_RUNNING; i++)
		left += h->running[i] != 0;
	pthread_mutex_unlock(&h->lock);
	if (left)
		r5_logp(R5_LOG_INFO, "events program: %u still running, left to finish", left);
	return NULL;
}

struct r5_fe_hook *
fe_hook_start(struct r5_array *a, const char *program, const char *mountpoint)
{
	struct r5_fe_hook *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	snprintf(h->program, sizeof(h->program), "%s", program);
	snprintf(h->mountpoint, sizeof(h->mountpoint), "%s", mountpoint);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	if (pthread_create(&h->thread, NULL, hook_main, h) != 0) {
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return NULL;
	}
	r5_events_set_listener(r5_array_events(a), hook_listen, h);
	return h;
}

void
fe_hook_stop(struct r5_array *a, struct r5_fe_hook *h)
{
	if (!h)
		return;
	r5_events_set_listener(r5_array_events(a), NULL, NULL);
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
