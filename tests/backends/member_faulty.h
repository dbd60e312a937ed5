/* member_faulty.h - a test-only member backend (tests/backends/): it
 * wraps a member's ops so that chosen calls fail. Calls of the kinds in
 * `ops` are counted; the first `after_calls` of them pass; from then on
 * each fails with probability rate_ppm / 1e6 (seeded, repeatable).
 * A failure returns -error, or with error == 0 does half the transfer (a
 * short read/write; the whole-buffer helpers turn that into -EIO unless
 * the retry succeeds, so use it with rate 1e6).
 *
 * Silent corruption (what bit rot, a lost or misdirected write, or a
 * stale page served by a network mount look like): transfers of the kinds
 * in corrupt_ops report success, but one byte of them is flipped (XOR
 * 0x5a). With corrupt_span > 0, every transfer that covers a byte of
 * [corrupt_at, corrupt_at + corrupt_span) (absolute member offsets) has
 * the first such byte flipped: a spot that always reads back wrong. With
 * corrupt_span == 0, each transfer is hit with probability corrupt_ppm /
 * 1e6 at a seeded position. Corrupted writes store the flipped byte; the
 * caller's buffer is never changed.
 *
 * Slow reads: a read of at least delay_min_len bytes sleeps delay_us
 * before its transfer (a disk that takes its time over large requests;
 * tests use it to widen a race). */
#ifndef R5_TEST_MEMBER_FAULTY_H
#define R5_TEST_MEMBER_FAULTY_H

#include <stdint.h>

#include "raid5fs/member.h"

enum { R5_FAULT_READ = 1u << 0, R5_FAULT_WRITE = 1u << 1, R5_FAULT_SYNC = 1u << 2 };

struct r5_fault_spec {
	uint32_t ops;         /* R5_FAULT_* kinds that may fail */
	int error;            /* positive errno (EIO, ENOSPC), or 0 for a short transfer */
	uint64_t after_calls; /* matching calls that pass before failures start */
	uint32_t rate_ppm;    /* failure probability afterwards; 1000000 = every call */
	uint64_t seed;
	uint32_t corrupt_ops;   /* R5_FAULT_READ / R5_FAULT_WRITE: flip silently */
	uint32_t corrupt_ppm;   /* ... per transfer at random, when corrupt_span is 0 */
	uint64_t corrupt_at, corrupt_span; /* ... or always at this member spot */
	uint32_t delay_us;      /* slow reads: sleep this long ... */
	uint64_t delay_min_len; /* ... before reads of at least this many bytes (> 0) */
};

/* Puts the fault layer over m (m keeps working through it). 0 or -errno. */
int r5_member_wrap_faulty(struct r5_member *m, const struct r5_fault_spec *spec);
/* Changes the spec of a wrapped member (resets its call count). */
int r5_member_faulty_set(struct r5_member *m, const struct r5_fault_spec *spec);
/* Failures injected so far, or -EINVAL if m is not wrapped. */
int64_t r5_member_faulty_count(struct r5_member *m);

/* Bytes flipped so far (silent corruption). */
uint64_t r5_member_faulty_corrupted(struct r5_member *m);

/* Calls of the spec's kinds seen so far (since the last set). */
uint64_t r5_member_faulty_calls(struct r5_member *m);

#endif
