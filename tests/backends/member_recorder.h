/* member_recorder.h - a test-only member backend (tests/backends/) that
 * passes every call to the member under it and records, in one log shared
 * by all the members of a run, each write and each sync in the order they
 * happened: what a test needs to check the order of writes and flushes
 * (a checkpoint must not reach the disk before the data it vouches for).
 * Reads are recorded too when record_reads is set (which member offsets an
 * engine decision pre-read); off by default, so a log holds writes and
 * syncs only unless a test asks. */
#ifndef R5_TEST_MEMBER_RECORDER_H
#define R5_TEST_MEMBER_RECORDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raid5fs/member.h"

enum r5_rec_kind { R5_REC_WRITE, R5_REC_SYNC, R5_REC_READ };

struct r5_rec_entry {
	uint32_t member;   /* the id given at wrap time */
	uint32_t kind;     /* enum r5_rec_kind */
	uint64_t off, len; /* of a write or a read */
	uint8_t head[128]; /* its first bytes (a superblock's fields up to recovery_offset) */
};

struct r5_recorder {
	pthread_mutex_t lock;      /* log, n, cap */
	struct r5_rec_entry *log;  /* in the order the calls completed */
	size_t n, cap;
	bool record_reads;         /* set before I/O starts; false after init */
};

void r5_recorder_init(struct r5_recorder *r);
void r5_recorder_destroy(struct r5_recorder *r);
/* Puts the recorder over m (m keeps working through it); its entries carry
 * id. Call before the member takes I/O from threads. 0 or -errno. */
int r5_member_wrap_recorder(struct r5_member *m, struct r5_recorder *r, uint32_t id);

#endif
