/* member_crash.h - a test-only member backend (tests/backends/) that keeps
 * what a power loss could leave of a member file.
 *
 * The crash model (docs/architecture.md, "Crash model"): for each member
 * independently, any subset of the writes since its last completed
 * fdatasync may be on disk, at 4 KiB granularity, in any order. So this
 * backend keeps, per member:
 *   - the durable copy: the file as of the last completed sync, in a file
 *     of its own beside the member;
 *   - the pending pieces: every 4 KiB block written since, as it was after
 *     each write, in order (a block written twice is two pieces).
 * A sync writes the pending pieces into the durable copy and forgets them.
 * Every call also goes to the member under it, so the engine runs as
 * usual. r5_crash_freeze stops the bookkeeping (what happens after the
 * "power loss" does not count); the durable copies and pieces then describe
 * every state the crash may have left, which r5_crash_build writes out.
 */
#ifndef R5_TEST_MEMBER_CRASH_H
#define R5_TEST_MEMBER_CRASH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raid5fs/member.h"

#define R5_CRASH_BLOCK 4096u

struct r5_crash_piece {
	uint64_t off;                  /* member offset, 4 KiB aligned */
	uint8_t data[R5_CRASH_BLOCK];  /* the block after the write */
};

struct r5_crash_member {
	char durable_path[4200];       /* the durable copy */
	int durable_fd;
	struct r5_crash_piece *pieces; /* pending, in write order */
	size_t n, cap;
	uint64_t dropped;              /* pieces made durable so far */
};

struct r5_crash_log {
	pthread_mutex_t lock;          /* everything below, and the durable files */
	bool frozen;                   /* the crash happened: record nothing more */
	uint32_t nr;
	struct r5_crash_member member[32];
};

/* An empty log for nr members. */
void r5_crash_init(struct r5_crash_log *log, uint32_t nr);
void r5_crash_destroy(struct r5_crash_log *log);
/* Puts the backend over member `id` (m keeps working through it): the
 * durable copy starts as a copy of path's file now (call it when the
 * member is synced, e.g. right after assembly). 0 or -errno. */
int r5_member_wrap_crash(struct r5_member *m, struct r5_crash_log *log, uint32_t id,
			 const char *path, const char *durable_path);
/* The power goes out: from now on nothing is recorded. */
void r5_crash_freeze(struct r5_crash_log *log);
/* Orders each member's pending pieces by offset, keeping the write order
 * of pieces at the same offset (the states stay the same; their numbering
 * no longer depends on which thread wrote first). After the freeze. */
void r5_crash_sort(struct r5_crash_log *log);
/* Drops the pieces that change nothing: a piece holding what the durable
 * copy holds, or what an earlier piece of the same block holds. The states
 * stay the same (a block can be the durable copy or any of its pieces);
 * there are fewer ways to reach them. After r5_crash_sort. Returns how
 * many pieces were dropped. */
size_t r5_crash_dedupe(struct r5_crash_log *log);
/* Writes member id's file as the crash left it into out_path: the durable
 * copy, then the pending pieces whose bit is set in `take` (piece i: bit
 * i), in write order. 0 or -errno. */
int r5_crash_build(struct r5_crash_log *log, uint32_t id, const uint64_t *take,
		   const char *out_path);

/* A second, lighter wrapper, for the assemblies of crash states: it only
 * notes which 4 KiB blocks of a member file the engine writes, so that the
 * file can be put back by rewriting just those. */
struct r5_crash_track {
	pthread_mutex_t lock;
	uint64_t nblocks;              /* blocks tracked: the file's size */
	uint64_t *bits;                /* block i written: bit i */
	bool all;                      /* truncated or written past the end */
};

/* For a file of size bytes. 0 or -ENOMEM. */
int r5_crash_track_init(struct r5_crash_track *t, uint64_t size);
void r5_crash_track_destroy(struct r5_crash_track *t);
/* Forgets what was written. */
void r5_crash_track_reset(struct r5_crash_track *t);
/* Was block i (offset i * R5_CRASH_BLOCK) written since the reset? */
bool r5_crash_track_written(struct r5_crash_track *t, uint64_t i);
/* Puts the tracker over m, a member file (r5_member_open_file: every
 * operation is there), which keeps working through it. 0, -EINVAL or
 * -ENOMEM. */
int r5_member_wrap_track(struct r5_member *m, struct r5_crash_track *t);

#endif
