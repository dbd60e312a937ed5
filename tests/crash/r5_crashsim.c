/* r5_crashsim.c - the crash simulator: every state a power loss may leave
 * the members in after a run, assembled with each member missing in turn
 * (and none), checked for the bytes that had been fsynced.
 *
 * The crash model (docs/architecture.md): for each member independently,
 * any subset of its writes since its last completed fdatasync may be on
 * disk, at 4 KiB granularity, in any order. tests/backends/member_crash
 * records, under the engine, each member's durable copy and the 4 KiB
 * pieces written since; a crash state is one choice of pieces per member.
 * Pieces that change nothing (a block written again with what it held)
 * are dropped first: the states stay the same.
 *
 * The run (--workload; crash_workloads.c, crash_sync.c): an array of 4
 * members, the whole image written with seeded data and flushed (fsynced:
 * every byte of it must come back), then
 *   single      K one-block writes in distinct rows (the default)
 *   mixed       rmw, rcw, full-row writes, a row written twice before any
 *               sync, a full write of a row written in part before
 *   concurrent  the same kinds from 3 threads at once, with write-back
 *               running beside them
 *   degraded    mixed, on the array started without one member
 *   resync      a first crash tears rows; the dirty start after it resyncs
 *               slowly, and the writes come while it runs
 *   rebuild     a member replaced and rebuilt slowly; writes below the
 *               rebuild's stored checkpoint, between it and its progress,
 *               and above
 *   discard     units of the in-use map discarded whole and in parts
 *               (released), written into again, discarded in part
 *               (crash_discard.c)
 * all written back to the members but not synced; then the power goes out.
 * The runs with threads or a sync are not exactly repeatable: the pieces,
 * and so what a state number means, may differ from run to run.
 *
 * For each crash state (all of them when there are at most --exhaustive
 * pieces, else --states samples: none landed, all landed, then seeded
 * random ones) and each choice of missing member (none, 0..3; a degraded
 * run's states lack its member, or have it as it was when left out) the
 * members are assembled (without --force after a run with the partial
 * parity log, --policy ppl, the default; with --force after one without,
 * --policy bitmap), resynced or rebuilt when the superblocks ask for it,
 * and read: a block not written since the fsync must be what was fsynced,
 * a block written since one of the versions written (or what was fsynced);
 * a complete array's check must find no mismatch; no member may count a
 * checksum error (per-block checksums are on: crc32c, the default; a torn
 * write is the recovery's to settle, not corruption); a rebuild must resume
 * and finish. The one exception is the limit docs/write-hole.md states: a
 * block being written, on a member that does not take part, in a stripe
 * row where another block was being written too, may read as neither: it
 * must then be what parity and the others give for some versions of them
 * (counted as "torn as allowed"). A rebuild's states may not assemble with
 * a member missing besides the one being rebuilt, or may read EIO where
 * two are missing: counted as "refused" and "unreadable as allowed".
 *
 * --jobs assemblies are tried at a time (crash_state.c tells how they are
 * kept cheap). Prints how many states and assemblies it tried, where the
 * time went, and the first failure as a command line that repeats it.
 * Exit 0 when nothing failed; with --expect-hole, exit 0 when complete
 * assemblies never fail and degraded ones do (the RAID-5 write hole, with
 * nothing to close it), which is what shows that the simulator can see a
 * failure at all. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crashsim.h"
#include "raid5fs/log.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

uint64_t
cs_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static char dir_to_remove[64]; /* the run's directory, unless --keep */

static void
remove_dir(void)
{
	char cmd[128];

	if (!dir_to_remove[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir_to_remove);
	if (system(cmd) != 0)
		fprintf(stderr, "r5_crashsim: could not remove %s\n", dir_to_remove);
}

/* A sanitizer's abort (or a crash) of the simulator itself: the run's
 * directory (tens of MiB, in memory) goes too. fork and execve are safe in
 * a signal handler; then the signal's default action. */
static void
on_fatal_signal(int sig)
{
	if (dir_to_remove[0]) {
		pid_t pid = fork();

		if (pid == 0) {
			execl("/bin/rm", "rm", "-rf", dir_to_remove, (char *)NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Without exit handlers: engine threads may still be running. */
void
cs_die(const char *what, const char *err)
{
	fprintf(stderr, "r5_crashsim: %s%s%s\n", what, err && *err ? ": " : "", err ? err : "");
	remove_dir();
	fflush(NULL);
	_exit(2);
}

double
cs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The engine's log lines (thousands of assemblies) only with --verbose. */
static void
log_drop(int prio, const char *line)
{
	(void)prio;
	(void)line;
}

/* What each pending piece is: parity or data of which block, or metadata. */
static void
describe_pieces(const struct run *r)
{
	size_t j = 0;

	for (uint32_t i = 0; i < N; i++)
		for (size_t k = 0; k < r->npieces[i]; k++, j++) {
			const uint64_t off = r->log.member[i].pieces[k].off;
			uint64_t img;

			printf("  piece %zu: member %u offset %" PRIu64 ": ", j, i, off);
			if (off < r->data_offset || off >= r->data_offset + MSIZE)
				printf("metadata\n");
			else if (r5_layout_unmap(&r->geo, i, off - r->data_offset, &img) == 1)
				printf("parity of stripe %" PRIu64 "\n", (off - r->data_offset) / BLK);
			else
				printf("data, image block %" PRIu64 " (stripe %" PRIu64 ")\n", img,
				       (off - r->data_offset) / BLK);
		}
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: r5_crashsim [--workload single|mixed|concurrent|degraded|resync|rebuild|discard]\n"
		"         [--seed S] [--writes K] [--exhaustive BITS] [--states M]\n"
		"         [--policy ppl|bitmap] [--expect-hole] [--state I] [--missing -1|SLOT]\n"
		"         [--jobs J] [--keep] [--verbose] [--verify-restore]\n");
	exit(2);
}

/* Operations per workload when --writes is not given. */
static unsigned
default_writes(enum workload w)
{
	switch (w) {
	case WL_SINGLE:
		return 3;
	case WL_MIXED:
	case WL_DEGRADED:
		return 8;
	case WL_CONCURRENT:
		return 9;
	default:
		return 6;
	}
}

static void
parse(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--seed") && v)
			o->seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--writes") && v)
			o->writes = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--exhaustive") && v)
			o->exhaustive = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--states") && v)
			o->states = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--state") && v)
			o->only_state = strtoll(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--missing") && v)
			o->only_missing = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--workload") && v && cs_workload_parse(v, &o->workload) == 0)
			i++;
		else if (!strcmp(argv[i], "--expect-hole"))
			o->expect_hole = true;
		else if (!strcmp(argv[i], "--policy") && v && !strcmp(v, "ppl"))
			o->policy = R5_CONSISTENCY_PPL, i++;
		else if (!strcmp(argv[i], "--policy") && v && !strcmp(v, "bitmap"))
			o->policy = R5_CONSISTENCY_BITMAP, i++;
		else if (!strcmp(argv[i], "--keep"))
			o->keep = true;
		else if (!strcmp(argv[i], "--verbose"))
			o->verbose = true;
		else if (!strcmp(argv[i], "--verify-restore"))
			o->verify_restore = true;
		else if (!strcmp(argv[i], "--jobs") && v)
			o->jobs = (unsigned)atoi(argv[++i]);
		else
			usage();
	}
	if (o->seed == 0 || o->exhaustive > 20 || o->only_missing < -2 || o->only_missing >= N ||
	    o->jobs < 1 || o->jobs > MAX_JOBS)
		usage();
	if (!o->writes)
		o->writes = default_writes(o->workload);
}

/* The assemblies to try, handed out to the workers in order: for each
 * state (every one, or seeded samples), each choice of missing member. */
struct jobs {
	pthread_mutex_t lock;
	struct run *r;
	bool all;
	uint64_t nstates, st, rng;
	int missing;            /* of the current state; N: go to the next */
	size_t words;
	uint64_t *bits;         /* the current state */
	/* results */
	unsigned long tried, assemblies, refused, fail_healthy, fail_degraded;
	uint64_t first_at;      /* the first failure's place in the order */
	char first[768];
};

/* The next assembly: its state (copied to bits), missing member and place
 * in the order. false when there is none left. */
static bool
next_job(struct jobs *j, uint64_t *bits, uint64_t *st, int *missing, uint64_t *at)
{
	const struct run *r = j->r;
	bool found = false;

	pthread_mutex_lock(&j->lock);
	while (!found && j->st < j->nstates) {
		if (j->missing >= N) {
			/* the next state: the RNG moves on for every state */
			if (++j->st >= j->nstates)
				break;
			j->missing = -2;
		}
		if (j->missing == -2) {
			/* sampled: nothing landed, everything landed, then at random */
			memset(j->bits, 0, j->words * sizeof(uint64_t));
			for (size_t b = 0; b < r->total; b++)
				if (j->all ? (j->st >> b) & 1
					   : j->st < 2 ? j->st == 1 : cs_rnd(&j->rng) & 1)
					j->bits[b / 64] |= 1ull << (b % 64);
			j->missing = -1;
			if (r->o.only_state >= 0 && j->st != (uint64_t)r->o.only_state) {
				j->missing = N;
				continue;
			}
			j->tried++;
		}
		const int m = j->missing++;

		/* a degraded run's states lack its member, or have it as it
		 * was when it was left out (stale) */
		if (r->absent >= 0 && m >= 0 && m != r->absent)
			continue;
		if (r->o.only_missing > -2 && m != r->o.only_missing)
			continue;
		memcpy(bits, j->bits, j->words * sizeof(uint64_t));
		*st = j->st;
		*missing = m;
		*at = j->st * (N + 1) + (uint64_t)(m + 1);
		found = true;
	}
	pthread_mutex_unlock(&j->lock);
	return found;
}

static void
note_result(struct jobs *j, int rc, uint64_t st, int missing, uint64_t at, const uint64_t *bits,
	    const char *why)
{
	const struct run *r = j->r;

	pthread_mutex_lock(&j->lock);
	j->assemblies++;
	j->refused += rc == 2;
	if (rc == 1) {
		char what[32] = "all members";

		if (missing < 0)
			j->fail_healthy++;
		else
			j->fail_degraded++;
		if (missing >= 0)
			snprintf(what, sizeof(what), "member %d missing", missing);
		if (at < j->first_at) {
			j->first_at = at;
			snprintf(j->first, sizeof(j->first),
				 "state %" PRIu64 " (pieces 0x%" PRIx64 "...), %s: %s; repeat with "
				 "r5_crashsim --workload %s --seed %" PRIu64 " --writes %u"
				 " --exhaustive %u --states %u --policy %s --state %" PRIu64
				 " --missing %d",
				 st, bits[0], what, why, cs_workload_name(r->o.workload), r->o.seed,
				 r->o.writes, r->o.exhaustive, r->o.states,
				 r->o.policy == R5_CONSISTENCY_BITMAP ? "bitmap" : "ppl", st, missing);
		}
	}
	pthread_mutex_unlock(&j->lock);
}

struct worker {
	struct jobs *j;
	unsigned id;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct jobs *j = w->j;
	uint64_t *bits = calloc(j->words, sizeof(uint64_t)), st, at;
	unsigned n = 0;
	int missing;

	if (!bits)
		cs_die("out of memory", NULL);
	while (next_job(j, bits, &st, &missing, &at)) {
		const uint32_t use = 0xfu & ~(missing >= 0 ? 1u << missing : 0);
		const int set = (int)(w->id * SETS_PER_JOB + n++ % SETS_PER_JOB);
		char why[256] = "";
		int rc;

		cs_state_build(j->r, set, bits, use);
		rc = cs_state_check(j->r, set, use, why, sizeof(why));
		note_result(j, rc, st, missing, at, bits, why);
	}
	free(bits);
	return NULL;
}

int
main(int argc, char **argv)
{
	static struct run r = { .o = { .seed = 1, .exhaustive = 10, .states = 64, .only_state = -1,
				       .only_missing = -2, .policy = R5_CONSISTENCY_PPL, .jobs = 3 },
				.stats_lock = PTHREAD_MUTEX_INITIALIZER };
	static struct jobs j = { .lock = PTHREAD_MUTEX_INITIALIZER, .missing = -2,
				 .first_at = UINT64_MAX };
	struct worker w[MAX_JOBS];
	pthread_t th[MAX_JOBS];

	parse(argc, argv, &r.o);
	if (!r.o.verbose)
		r5_log_set_sink(log_drop); /* before any engine thread starts */
	/* thousands of assemblies of small files: in memory when there is a tmpfs */
	snprintf(r.dir, sizeof(r.dir), "%s/r5crash.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(r.dir))
		cs_die("mkdtemp", strerror(errno));
	if (!r.o.keep) {
		snprintf(dir_to_remove, sizeof(dir_to_remove), "%s", r.dir);
		signal(SIGABRT, on_fatal_signal);
		signal(SIGSEGV, on_fatal_signal);
		signal(SIGBUS, on_fatal_signal);
#ifdef __SANITIZE_ADDRESS__
		__sanitizer_set_death_callback(remove_dir); /* its reports end without a signal */
#endif
	}
	cs_record(&r);
	cs_states_init(&r, r.o.jobs * SETS_PER_JOB);
	if (r.o.verbose) {
		printf("r5_crashsim: run: %s\n", r.notes);
		printf("r5_crashsim: pieces per member:");
		for (int i = 0; i < N; i++)
			printf(" %zu", r.npieces[i]);
		printf(" (%zu that changed nothing dropped)\n", r.deduped);
		describe_pieces(&r);
	}

	j.r = &r;
	j.all = r.total <= r.o.exhaustive;
	j.nstates = j.all ? 1ull << r.total : r.o.states;
	j.rng = r.o.seed ^ 0x5eedull;
	j.words = r.total / 64 + 1;
	j.bits = calloc(j.words, sizeof(uint64_t));
	if (!j.bits)
		cs_die("out of memory", NULL);
	const double t0 = cs_now();

	for (unsigned k = 0; k < r.o.jobs; k++) {
		w[k] = (struct worker){ .j = &j, .id = k };
		if (pthread_create(&th[k], NULL, worker_main, &w[k]))
			cs_die("pthread_create", NULL);
	}
	for (unsigned k = 0; k < r.o.jobs; k++)
		pthread_join(th[k], NULL);
	cs_states_free(&r); /* waits for the last stops */
	const double secs = cs_now() - t0;
	const double per = 1000.0 / (double)(j.assemblies ? j.assemblies : 1);

	printf("r5_crashsim: %s: %zu pending pieces (%s), %lu crash states, %lu assemblies "
	       "(%lu refused as allowed): %lu failed with all members, %lu failed with one missing; "
	       "%lu blocks torn, %lu unreadable as allowed\n",
	       cs_workload_name(r.o.workload), r.total, j.all ? "every state" : "sampled", j.tried,
	       j.assemblies, j.refused, j.fail_healthy, j.fail_degraded, r.tolerated, r.unreadable);
	printf("r5_crashsim: run %.2f s, assemblies %.2f s, %u at a time (%.1f ms each; per "
	       "assembly: files %.1f, start %.1f, sync %.1f, read %.1f, check %.1f; stop %.1f in "
	       "the background, %.1f waited for)\n",
	       r.t_record, secs, r.o.jobs, per * secs, per * r.t_phase[0], per * r.t_phase[1],
	       per * r.t_phase[2], per * r.t_phase[3], per * r.t_phase[4], per * r.t_phase[5],
	       per * r.t_phase[6]);
	if (j.first[0])
		printf("first failure: %s\n", j.first);
	if (r.o.keep)
		printf("r5_crashsim: files kept in %s\n", r.dir);
	remove_dir();
	r5_crash_destroy(&r.log);
	cs_expect_free(&r.e, r.isize);
	free(j.bits);
	if (r.o.expect_hole)
		return j.fail_healthy == 0 && j.fail_degraded > 0 ? 0 : 1;
	return j.fail_healthy + j.fail_degraded == 0 ? 0 : 1;
}
