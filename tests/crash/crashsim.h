/* crashsim.h - what the parts of the crash simulator share (r5_crashsim.c:
 * options and the states; crash_workloads.c: the runs up to the power
 * loss; crash_state.c: the members of one state, assembled and checked). */
#ifndef R5_CRASHSIM_H
#define R5_CRASHSIM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "member_crash.h"
#include "raid5fs/array.h"
#include "raid5fs/layout.h"

#define N 4
#define KB 1024u
#define MB (1024ull * 1024)
#define MSIZE (1 * MB)
#define CHUNK (16 * KB)
#define BLK 4096u
#define ROW_BYTES ((uint64_t)(N - 1) * CHUNK) /* image bytes of one chunk row */
#define NROWS (MSIZE / CHUNK)

enum workload { WL_SINGLE, WL_MIXED, WL_CONCURRENT, WL_DEGRADED, WL_RESYNC, WL_REBUILD, WL_DISCARD };

struct opts {
	uint64_t seed;
	unsigned writes;     /* operations of the workload */
	unsigned exhaustive; /* enumerate all when the pieces are at most this many */
	unsigned states;     /* samples otherwise */
	int64_t only_state;  /* -1, or run just this state */
	int only_missing;    /* -2, or just this assembly (-1: all members) */
	bool expect_hole;
	bool keep;
	bool verbose;
	bool verify_restore; /* compare the whole state files after each restore */
	unsigned jobs;       /* assemblies at a time */
	uint32_t policy;     /* enum r5_consistency of the run that crashes */
	enum workload workload;
};

/* What each image block may read as after the crash: the data fsynced
 * (old), or any version written since (the run's writes were never
 * acknowledged as durable). */
struct expect {
	uint8_t *old;        /* the fsynced image */
	uint8_t *cur;        /* the image as last written */
	uint8_t **ver;       /* per block: nver[b] versions of BLK bytes */
	uint32_t *nver, *cap;
	pthread_mutex_t lock;
};

/* Sets of state files: while the array of one is being stopped (which
 * takes a while, most of it waiting) the next state is tried on another.
 * Each of the --jobs workers has SETS_PER_JOB of them. */
#define SETS_PER_JOB 3
#define MAX_JOBS 4
#define MAX_SETS (SETS_PER_JOB * MAX_JOBS)

/* A member file of the states, kept in step with the state being tried. */
struct state_file {
	char path[128];
	bool used;           /* some state uses this slot's file */
	uint8_t *durable;    /* the durable copy, in memory (shared by the sets) */
	uint64_t size;
	struct r5_crash_track track; /* what the last assembly wrote */
	bool built;          /* the file exists and matches `prev` */
	uint64_t *prev;      /* the piece choice it was built with */
};

struct run {
	struct opts o;
	char dir[64];
	char path[N][128], durable[N][128];
	struct r5_geometry geo;
	uint64_t data_offset; /* of the member files' data areas */
	uint64_t isize;
	struct expect e;
	struct r5_crash_log log;
	size_t npieces[N], total, deduped;
	int absent;          /* degraded: the slot left out of the run, else -1 */
	int rebuilding;      /* rebuild: the slot being rebuilt at the crash, else -1 */
	uint64_t rebuild_valid_below; /* ... valid below this member offset (durably) */
	struct state_file sf[MAX_SETS][N];
	unsigned nsets;
	char notes[512];     /* what the run did (printed with --verbose) */
	double t_record;
	/* from here on: stats_lock (the workers) */
	pthread_mutex_t stats_lock;
	double t_phase[7];   /* restore, start, sync, read, check, stop, waiting for a stop */
	unsigned long tolerated; /* blocks accepted as "neither" (the documented limit) */
	unsigned long unreadable; /* blocks that did not read where two members are missing */
};

/* r5_crashsim.c */
uint64_t cs_rnd(uint64_t *s);
void cs_die(const char *what, const char *err) __attribute__((noreturn));
double cs_now(void);

/* crash_workloads.c: the run up to the power loss; fills the expectations,
 * the crash log and the pieces' counts. */
void cs_record(struct run *r);
const char *cs_workload_name(enum workload w);
int cs_workload_parse(const char *name, enum workload *out);

/* crash_workloads.c: what the workloads are made of. The operations of a
 * workload, each in a chunk row of its own (crash_workloads.c tells what
 * each does); OP_NR: the kinds done in turn. */
enum cs_op { OP_RMW, OP_ONE, OP_RCW, OP_FULL, OP_TWICE, OP_SAME, OP_PARTFULL, OP_NR, OP_SYNCFULL };

/* Adds to what the run did (--verbose). */
void cs_note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The member files' paths: <dir>/<prefix><slot>. */
void cs_set_paths(struct run *r, const char *prefix);
/* Creates the array (4 members), sets the geometry and the expectations. */
void cs_create(struct run *r);
/* Assembles the members of `use` (bit per slot) and starts them. */
struct r5_array *cs_open(struct run *r, uint32_t use, const struct r5_engine_opts *eo);
/* Records the member in slot from now on (its file must be synced). */
void cs_wrap(struct run *r, struct r5_array *a, uint32_t slot);
/* The image, seeded from *s, written and flushed: what must come back. */
void cs_fill(struct run *r, struct r5_array *a, uint64_t *s);
/* The image bytes [off, off+len) may read as buf from now on (a write). */
void cs_expect_write(struct run *r, const uint8_t *buf, size_t len, uint64_t off);
/* Writes len seeded bytes at off (and expects them). */
void cs_write(struct run *r, struct r5_array *a, uint64_t off, size_t len, uint64_t *s);
/* fsync: everything written so far is what must come back. */
void cs_flush(struct run *r, struct r5_array *a);
/* Writes back the stripe cache to the members, without syncing them. */
void cs_writeback(struct r5_array *a);
/* The power goes out: the crash log frozen, the array stopped, the pieces
 * sorted and counted. */
void cs_crash(struct run *r, struct r5_array *a);
/* A chunk row in [lo, hi) not used yet. */
uint64_t cs_pick_row(bool *used, uint64_t lo, uint64_t hi, uint64_t *s);
void cs_do_op(struct run *r, struct r5_array *a, enum cs_op op, uint64_t row, uint64_t *s);
/* k operations of each kind in turn (the first a OP_SYNCFULL if asked),
 * each in an unused row of ranges[i % nranges]. */
void cs_do_ops(struct run *r, struct r5_array *a, unsigned k, bool syncfull_first, bool *used,
	       const uint64_t (*ranges)[2], unsigned nranges, uint64_t *s);

/* crash_sync.c: the workloads with a resync or a recovery at the crash */
void cs_wl_resync(struct run *r);
void cs_wl_rebuild(struct run *r);

/* crash_discard.c: discards and writes around the in-use map */
void cs_wl_discard(struct run *r);

/* crash_state.c */
void cs_expect_init(struct expect *e, uint64_t isize);
void cs_expect_free(struct expect *e, uint64_t isize);
/* The state files from the crash log (after the run): nsets sets. */
void cs_states_init(struct run *r, unsigned nsets);
/* Waits for the arrays still being stopped; frees the sets. */
void cs_states_free(struct run *r);
/* Puts the files of the state `bits` (bit j: piece j counting over the
 * members in order) in place in set `set` for the members of `use` (bit per
 * slot), once the array last assembled from that set has stopped. */
void cs_state_build(struct run *r, int set, const uint64_t *bits, uint32_t use);
/* Assembles the state from the files of `use` in `set`, checks it, and
 * leaves the array to be stopped in the background. 0; 1 with a reason in
 * why; 2 when the engine refused it as the workload allows. */
int cs_state_check(struct run *r, int set, uint32_t use, char *why, size_t whylen);

#endif
