/* r5_crashsim.c - the crash simulator: every state a power loss may leave
 * the members in after a run, assembled with each member missing in turn
 * (and none), checked for the bytes that had been fsynced.
 *
 * The crash model (docs/architecture.md): for each member independently,
 * any subset of its writes since its last completed fdatasync may be on
 * disk, at 4 KiB granularity, in any order. tests/backends/member_crash
 * records, under the engine, each member's durable copy and the 4 KiB
 * pieces written since; a crash state is one choice of pieces per member.
 *
 * The run: an array of 4 members; the whole image written with seeded data
 * and flushed (fsynced: every byte of it must come back); then K writes of
 * 4 KiB in distinct stripe rows, written back to the members but not
 * synced; then the power goes out. For each crash state (all of them when
 * there are at most --exhaustive pieces, else --states seeded samples) and
 * each choice of missing member (none, 0..3) the members are assembled
 * (without --force after a run with the partial parity log, --policy ppl,
 * the default; with --force after one without, --policy bitmap), resynced when
 * complete, and read: a block outside the K writes must be what was
 * fsynced, a block of the K writes the old or the new data; a complete
 * array's check must find no mismatch after its resync.
 *
 * With the log every assembly must pass; --policy bitmap --expect-hole
 * shows the hole the log closes.
 *
 * Prints how many states and assemblies it tried and the first failure as
 * a command line that repeats it. Exit 0 when nothing failed; with
 * --expect-hole, exit 0 when complete assemblies never fail and degraded
 * ones do (the RAID-5 write hole, with nothing to close it), which is what
 * shows that the simulator can see a failure at all. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array_internal.h"
#include "member_crash.h"
#include "raid5fs/array.h"
#include "raid5fs/log.h"

#define N 4
#define KB 1024u
#define MB (1024ull * 1024)
#define MSIZE (1 * MB)
#define CHUNK (16 * KB)
#define BLK 4096u

struct opts {
	uint64_t seed;
	unsigned writes;     /* K */
	unsigned exhaustive; /* enumerate all when the pieces are at most this many */
	unsigned states;     /* samples otherwise */
	bool expect_hole;
	bool keep;
	uint32_t policy;     /* enum r5_consistency of the run that crashes */
};

struct run {
	struct opts o;
	char dir[64];
	char path[N][128], durable[N][128], state[N][128];
	uint64_t isize;
	uint8_t *old, *new;  /* fsynced image; the K writes' data over it */
	bool *written;       /* per image block: one of the K writes */
	struct r5_crash_log log;
	size_t npieces[N], total;
};

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "r5_crashsim: %s%s%s\n", what, err && *err ? ": " : "", err ? err : "");
	exit(2);
}

/* The run up to the power loss: durable copies and pending pieces. */
static void
record(struct run *r)
{
	struct r5_create_opts co = { .chunk_size = CHUNK, .layout = R5_LAYOUT_LEFT_SYMMETRIC,
				     .member_size = MSIZE };
	const char *paths[N];
	struct r5_array *a;
	char err[256] = "";
	uint64_t s = r->o.seed;

	for (int i = 0; i < N; i++) {
		snprintf(r->path[i], sizeof(r->path[i]), "%s/m%d", r->dir, i);
		snprintf(r->durable[i], sizeof(r->durable[i]), "%s/durable%d", r->dir, i);
		snprintf(r->state[i], sizeof(r->state[i]), "%s/s%d", r->dir, i);
		paths[i] = r->path[i];
	}
	if (r5_array_create(paths, N, &co, err, sizeof(err)) < 0)
		die("create", err);
	struct r5_engine_opts ro = { .consistency_policy = r->o.policy };

	if (r5_array_assemble(paths, N, &ro, &a, err, sizeof(err)) < 0 || r5_array_start(a) < 0)
		die("assemble", err);
	a->safe.idle_ns = 3600ull * 1000000000ull; /* never marked clean during the run */
	r5_crash_init(&r->log, N);
	for (uint32_t i = 0; i < N; i++)
		if (r5_member_wrap_crash(r5_members_member(a->members, i), &r->log, i, r->path[i],
					 r->durable[i]) < 0)
			die("wrapping a member", NULL);

	r->isize = r5_array_size(a);
	r->old = malloc(r->isize);
	r->new = malloc(r->isize);
	r->written = calloc(r->isize / BLK, sizeof(bool));
	for (uint64_t i = 0; i < r->isize; i++)
		r->old[i] = (uint8_t)rnd(&s);
	if (r5_array_write(a, r->old, r->isize, 0) != (ssize_t)r->isize || r5_array_flush(a) < 0)
		die("writing the fsynced data", NULL);
	memcpy(r->new, r->old, r->isize);

	/* K writes of one block, each in a row of its own */
	const uint64_t rows = MSIZE / CHUNK, per_row = (N - 1) * CHUNK;
	bool *row_used = calloc(rows, sizeof(bool));

	for (unsigned k = 0; k < r->o.writes && k < rows; k++) {
		uint64_t row, off;

		do
			row = rnd(&s) % rows;
		while (row_used[row]);
		row_used[row] = true;
		off = row * per_row + rnd(&s) % (per_row / BLK) * BLK;
		for (unsigned i = 0; i < BLK; i++)
			r->new[off + i] = (uint8_t)rnd(&s);
		r->written[off / BLK] = true;
		if (r5_array_write(a, r->new + off, BLK, off) != BLK)
			die("writing a block", NULL);
	}
	free(row_used);
	/* on the members, not synced */
	if (r5_cache_flush(a->cache) < 0)
		die("writing back the stripe cache", NULL);
	r5_crash_freeze(&r->log);
	r5_array_stop(a); /* what it writes now is after the power loss */
	r5_crash_sort(&r->log);
	for (int i = 0; i < N; i++) {
		r->npieces[i] = r->log.member[i].n;
		r->total += r->npieces[i];
	}
}

/* The state's files from a choice of pieces (bit j of the state: piece j
 * counting over the members in order). */
static void
build_state(struct run *r, const uint64_t *bits)
{
	size_t base = 0;

	for (uint32_t i = 0; i < N; i++) {
		uint64_t take[64] = { 0 };

		for (size_t j = 0; j < r->npieces[i]; j++)
			if ((bits[(base + j) / 64] >> ((base + j) % 64)) & 1)
				take[j / 64] |= 1ull << (j % 64);
		if (r5_crash_build(&r->log, i, take, r->state[i]) < 0)
			die("building a crash state", NULL);
		base += r->npieces[i];
	}
}

/* Assembles the state without member `missing` (-1: all), checks it.
 * Returns 0, or 1 with a reason in why. */
static int
check_state(struct run *r, int missing, char *why, size_t whylen)
{
	/* after a run with the log, a dirty degraded array must start as it
	 * is; without it only --force starts one */
	struct r5_engine_opts eo = { .force = r->o.policy == R5_CONSISTENCY_BITMAP };
	const char *paths[N];
	struct r5_array *a;
	char err[256] = "";
	int k = 0, bad = 0;
	uint8_t *img = malloc(r->isize);

	for (int i = 0; i < N; i++)
		if (i != missing)
			paths[k++] = r->state[i];
	if (r5_array_assemble(paths, k, &eo, &a, err, sizeof(err)) < 0 || r5_array_start(a) < 0) {
		snprintf(why, whylen, "assembly failed: %s", err);
		free(img);
		return 1;
	}
	for (int i = 0; i < 60000 && r5_sync_action(a->sync) != R5_SYNC_IDLE; i++)
		usleep(1000);
	if (r5_array_read(a, img, r->isize, 0) != (ssize_t)r->isize) {
		snprintf(why, whylen, "the image does not read");
		bad = 1;
	}
	for (uint64_t b = 0; !bad && b < r->isize / BLK; b++) {
		const uint8_t *got = img + b * BLK;
		bool ok = !memcmp(got, r->old + b * BLK, BLK) ||
			  (r->written[b] && !memcmp(got, r->new + b * BLK, BLK));

		if (!ok) {
			snprintf(why, whylen, "image block at %" PRIu64 " %s", b * BLK,
				 r->written[b] ? "(being written) is neither the old nor the new data"
					       : "(fsynced, not written since) is not what was fsynced");
			bad = 1;
		}
	}
	if (!bad && missing < 0) {
		struct r5_sync_status st;

		if (r5_sync_start(a->sync, R5_SYNC_CHECK, -1, 0) == 0) {
			for (int i = 0; i < 60000 && r5_sync_action(a->sync) != R5_SYNC_IDLE; i++)
				usleep(1000);
			r5_sync_get_status(a->sync, &st);
			if (st.mismatch_sectors || st.last_result) {
				snprintf(why, whylen, "check after the resync: %" PRIu64 " mismatched sectors",
					 st.mismatch_sectors);
				bad = 1;
			}
		}
	}
	r5_array_stop(a);
	free(img);
	return bad;
}

/* The engine's log lines (hundreds of assemblies) only with --verbose. */
static void
log_drop(int prio, const char *line)
{
	(void)prio;
	(void)line;
}

static void
usage(void)
{
	fprintf(stderr, "usage: r5_crashsim [--seed S] [--writes K] [--exhaustive BITS] [--states M]"
			" [--policy ppl|bitmap] [--expect-hole] [--keep] [--verbose]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct run r = { .o = { .seed = 1, .writes = 3, .exhaustive = 10, .states = 64,
				.policy = R5_CONSISTENCY_PPL } };
	unsigned long tried = 0, assemblies = 0, fail_healthy = 0, fail_degraded = 0;
	char first[512] = "";
	bool verbose = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			r.o.seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--writes") && i + 1 < argc)
			r.o.writes = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--exhaustive") && i + 1 < argc)
			r.o.exhaustive = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--states") && i + 1 < argc)
			r.o.states = (unsigned)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--expect-hole"))
			r.o.expect_hole = true;
		else if (!strcmp(argv[i], "--policy") && i + 1 < argc && !strcmp(argv[i + 1], "ppl"))
			r.o.policy = R5_CONSISTENCY_PPL, i++;
		else if (!strcmp(argv[i], "--policy") && i + 1 < argc && !strcmp(argv[i + 1], "bitmap"))
			r.o.policy = R5_CONSISTENCY_BITMAP, i++;
		else if (!strcmp(argv[i], "--keep"))
			r.o.keep = true;
		else if (!strcmp(argv[i], "--verbose"))
			verbose = true;
		else
			usage();
	}
	if (r.o.seed == 0 || r.o.exhaustive > 20)
		usage();
	if (!verbose)
		r5_log_set_sink(log_drop); /* before any engine thread starts */
	/* hundreds of assemblies of small files: in memory when there is a tmpfs */
	snprintf(r.dir, sizeof(r.dir), "%s/r5crash.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(r.dir))
		die("mkdtemp", strerror(errno));
	record(&r);

	const bool all = r.total <= r.o.exhaustive;
	const uint64_t nstates = all ? 1ull << r.total : r.o.states;
	uint64_t s = r.o.seed ^ 0x5eedull;

	for (uint64_t st = 0; st < nstates; st++) {
		uint64_t bits[64] = { 0 };

		for (size_t j = 0; j < r.total && j < 64 * 64; j++)
			if (all ? (st >> j) & 1 : rnd(&s) & 1)
				bits[j / 64] |= 1ull << (j % 64);
		tried++;
		for (int missing = -1; missing < N; missing++) {
			char why[256];

			/* afresh for each assembly: the last one's resync and
			 * superblock updates changed the files */
			build_state(&r, bits);
			assemblies++;
			if (!check_state(&r, missing, why, sizeof(why)))
				continue;
			if (missing < 0)
				fail_healthy++;
			else
				fail_degraded++;
			if (!first[0])
				snprintf(first, sizeof(first),
					 "state %" PRIu64 " (pieces 0x%" PRIx64 "), %s%d%s: %s; repeat with "
					 "r5_crashsim --seed %" PRIu64 " --writes %u --exhaustive %u --states %u --policy %s",
					 st, bits[0], missing < 0 ? "all members" : "member ",
					 missing < 0 ? 0 : missing, missing < 0 ? "" : " missing", why,
					 r.o.seed, r.o.writes, r.o.exhaustive, r.o.states,
					 r.o.policy == R5_CONSISTENCY_BITMAP ? "bitmap" : "ppl");
		}
	}
	printf("r5_crashsim: %zu pending pieces (%s), %lu crash states, %lu assemblies: "
	       "%lu failed with all members, %lu failed with one missing\n",
	       r.total, all ? "every state" : "sampled", tried, assemblies, fail_healthy,
	       fail_degraded);
	if (first[0])
		printf("first failure: %s\n", first);
	if (!r.o.keep) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", r.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "r5_crashsim: could not remove %s\n", r.dir);
	}
	r5_crash_destroy(&r.log);
	free(r.old);
	free(r.new);
	free(r.written);
	if (r.o.expect_hole)
		return fail_healthy == 0 && fail_degraded > 0 ? 0 : 1;
	return fail_healthy + fail_degraded == 0 ? 0 : 1;
}
