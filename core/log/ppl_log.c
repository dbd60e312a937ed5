/* ppl_log.c - the partial parity log's writers: one thread per slot that
 * turns the records waiting at that moment into one group and one durable
 * write, and starts the ring afresh when it is full (ppl.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "member_set.h"
#include "ppl.h"
#include "raid5fs/checksum.h"
#include "raid5fs/log.h"
#include "raid5fs/parity.h"
#include "raid5fs/ppl.h"
#include "raid5fs/superblock.h"
#include "raid5fs/util.h"

/* Rows remembered per ring (r5_ppl_row_logged); a ring that has logged
 * this many since its fresh start is started afresh like a full one. */
#define R5_PPL_LOGGED_MAX 4096u
#define R5_PPL_HASH (2 * R5_PPL_LOGGED_MAX) /* open addressing, power of two */
/* Rows written back and not yet synced, remembered per slot (ppl.h, "not
 * yet durable"); beyond that, the writer syncs before its next record. */
#define R5_PPL_UNSYNCED_MAX 16384u
#define R5_PPL_UNSYNCED_HASH (2 * R5_PPL_UNSYNCED_MAX)

struct unsynced_row {
	uint64_t key;  /* stripe + 1; 0: empty */
	uint32_t mask; /* blocks written back */
	uint64_t gen;  /* sync count when last written back: durable once done > gen */
};

struct r5_ppl_slot {
	pthread_mutex_t lock;     /* pending, unwritten, logged, unsynced, stopping */
	pthread_cond_t cond;      /* the writer waits here for records / written rows */
	struct r5_list pending;   /* r5_ppl_io waiting for the writer */
	uint32_t unwritten;       /* rows logged in the ring, not yet written back */
	uint64_t *logged;         /* R5_PPL_HASH stripes + 1 (0 = empty) since the fresh start */
	uint32_t nr_logged;
	struct unsynced_row *unsynced, *spare; /* R5_PPL_UNSYNCED_HASH each */
	uint32_t nr_unsynced;
	uint64_t purged_at;       /* sync count done at the last purge */
	bool overflow;            /* a row could not be remembered ... */
	uint64_t overflow_gen;    /* ... when the sync count started was this */
	bool stopping;
	/* the writer's own (no lock): */
	pthread_t thread;
	bool running;
	bool started;             /* the ring has been started on this member */
	uint8_t member_uuid[16];  /* ... which is this one */
	uint64_t log_id, seq;
	uint64_t head;            /* member offset where the next group goes */
	uint64_t ring_start, ring_end;
	uint8_t *block;           /* 4 KiB: the header being written */
	struct r5_ppl_group group;
};

struct r5_ppl {
	struct r5_members *ms;
	struct r5_geometry geo;
	uint32_t strip_size;
	uint8_t uuid[16];
	uint32_t nr;
	atomic_ullong records, full_records, groups, bytes, restarts;
	struct r5_ppl_slot slot[];
};

static uint32_t
hash_stripe(uint64_t stripe)
{
	stripe *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(stripe >> 40) & (R5_PPL_HASH - 1);
}

/* slot lock held */
static bool
logged_find(const struct r5_ppl_slot *s, uint64_t stripe)
{
	for (uint32_t h = hash_stripe(stripe);; h = (h + 1) & (R5_PPL_HASH - 1)) {
		if (s->logged[h] == 0)
			return false;
		if (s->logged[h] == stripe + 1)
			return true;
	}
}

/* slot lock held; the caller keeps nr_logged below R5_PPL_LOGGED_MAX */
static void
logged_add(struct r5_ppl_slot *s, uint64_t stripe)
{
	uint32_t h = hash_stripe(stripe);

	while (s->logged[h] != 0) {
		if (s->logged[h] == stripe + 1)
			return;
		h = (h + 1) & (R5_PPL_HASH - 1);
	}
	s->logged[h] = stripe + 1;
	s->nr_logged++;
}

static uint32_t
hash_unsynced(uint64_t stripe)
{
	stripe *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(stripe >> 39) & (R5_PPL_UNSYNCED_HASH - 1);
}

static struct unsynced_row *
unsynced_slot(struct unsynced_row *t, uint64_t stripe)
{
	uint32_t h = hash_unsynced(stripe);

	while (t[h].key != 0 && t[h].key != stripe + 1)
		h = (h + 1) & (R5_PPL_UNSYNCED_HASH - 1);
	return &t[h];
}

/* Drops the rows that are durable now. slot lock held. */
static void
unsynced_purge(struct r5_ppl_slot *s, uint64_t done)
{
	struct unsynced_row *old = s->unsynced;

	memset(s->spare, 0, R5_PPL_UNSYNCED_HASH * sizeof(*s->spare));
	s->nr_unsynced = 0;
	for (uint32_t h = 0; h < R5_PPL_UNSYNCED_HASH; h++)
		if (old[h].key != 0 && old[h].gen >= done) {
			*unsynced_slot(s->spare, old[h].key - 1) = old[h];
			s->nr_unsynced++;
		}
	s->unsynced = s->spare;
	s->spare = old;
	s->purged_at = done;
}

/* The blocks of a row not yet durable (0 if none). slot lock held. */
static uint32_t
unsynced_mask(struct r5_ppl_slot *s, uint64_t stripe, uint64_t done)
{
	const struct unsynced_row *r = unsynced_slot(s->unsynced, stripe);

	return r->key != 0 && r->gen >= done ? r->mask : 0;
}

int
r5_ppl_create(struct r5_members *ms, const struct r5_geometry *g, uint32_t strip_size,
	      const uint8_t array_uuid[16], struct r5_ppl **out)
{
	const uint32_t nr = r5_members_count(ms);
	struct r5_ppl *l = calloc(1, sizeof(*l) + nr * sizeof(l->slot[0]));

	if (!l)
		return -ENOMEM;
	l->ms = ms;
	l->geo = *g;
	l->strip_size = strip_size;
	memcpy(l->uuid, array_uuid, 16);
	l->nr = nr;
	for (uint32_t i = 0; i < nr; i++) {
		struct r5_ppl_slot *s = &l->slot[i];

		r5_mutex_init(&s->lock);
		r5_cond_init(&s->cond);
		r5_list_init(&s->pending);
		s->logged = calloc(R5_PPL_HASH, sizeof(uint64_t));
		s->unsynced = calloc(R5_PPL_UNSYNCED_HASH, sizeof(*s->unsynced));
		s->spare = calloc(R5_PPL_UNSYNCED_HASH, sizeof(*s->spare));
		if (!s->logged || !s->unsynced || !s->spare || posix_memalign((void **)&s->block, 4096, R5_PPL_BLOCK)) {
			r5_ppl_destroy(l);
			return -ENOMEM;
		}
	}
	*out = l;
	return 0;
}

/* Starts slot i's log afresh on its current member: a new log id in the
 * header, made durable; the ring is empty from now on. Writer only (or
 * before the writers run). */
static int
ring_restart(struct r5_ppl *l, uint32_t i)
{
	struct r5_ppl_slot *s = &l->slot[i];
	struct r5_superblock sb;
	struct r5_ppl_header h = { .strip_size = l->strip_size };
	struct iovec iov;
	int err;

	if (!r5_members_superblock(l->ms, i, &sb))
		return -ENODEV;
	if (sb.reserved_size < 2 * R5_PPL_BLOCK + l->strip_size)
		return -ENOSPC; /* cannot happen with the format's 3 MiB */
	memcpy(h.array_uuid, l->uuid, 16);
	do
		r5_random_bytes(&h.log_id, sizeof(h.log_id));
	while (h.log_id == s->log_id);
	r5_ppl_header_encode(&h, s->block);
	iov.iov_base = s->block;
	iov.iov_len = R5_PPL_BLOCK;
	err = r5_members_log_write(l->ms, i, &iov, 1, sb.reserved_offset);
	if (err < 0)
		return err;
	r5_mutex_lock(&s->lock);
	memset(s->logged, 0, R5_PPL_HASH * sizeof(uint64_t));
	s->nr_logged = 0;
	r5_mutex_unlock(&s->lock);
	s->log_id = h.log_id;
	s->seq = 0;
	s->ring_start = sb.reserved_offset + R5_PPL_BLOCK;
	s->ring_end = sb.reserved_offset + sb.reserved_size;
	s->head = s->ring_start;
	memcpy(s->member_uuid, sb.member_uuid, 16);
	s->started = true;
	return 0;
}

/* The ring is full: once every row it logged is written back, sync the
 * members (the records are then no longer needed) and start afresh. */
static int
ring_full(struct r5_ppl *l, uint32_t i)
{
	struct r5_ppl_slot *s = &l->slot[i];
	int err;

	r5_mutex_lock(&s->lock);
	while (s->unwritten > 0 && !s->stopping)
		r5_cond_wait(&s->cond, &s->lock);
	r5_mutex_unlock(&s->lock);
	err = r5_members_sync(l->ms);
	if (err < 0)
		return err;
	uint64_t done;

	(void)r5_members_sync_gen(l->ms, &done);
	r5_mutex_lock(&s->lock);
	unsynced_purge(s, done);
	r5_mutex_unlock(&s->lock);
	atomic_fetch_add(&l->restarts, 1);
	return ring_restart(l, i);
}

/* Takes the records to put in one group off the pending list: as many as
 * one group holds and the ring can take. slot lock held. */
static uint32_t
take_batch(struct r5_ppl *l, struct r5_ppl_slot *s, struct r5_ppl_io **batch)
{
	const uint64_t ring = s->ring_end - s->ring_start;
	uint64_t bytes = R5_PPL_BLOCK;
	uint32_t n = 0;

	while (n < R5_PPL_MAX_ENTRIES && !r5_list_empty(&s->pending) &&
	       s->nr_logged + n < R5_PPL_LOGGED_MAX) {
		struct r5_ppl_io *io = r5_container_of(s->pending.next, struct r5_ppl_io, node);
		uint64_t need = io->full ? 0 : l->strip_size;

		if (bytes + need > ring)
			break;
		bytes += need;
		r5_list_del(&io->node);
		batch[n++] = io;
	}
	return n;
}

static uint64_t
batch_bytes(struct r5_ppl *l, struct r5_ppl_io **batch, uint32_t n)
{
	uint64_t bytes = R5_PPL_BLOCK;

	for (uint32_t k = 0; k < n; k++)
		if (!batch[k]->full)
			bytes += l->strip_size;
	return bytes;
}

/* Writes one group; 0 or -errno. Writer only. */
static int
write_group(struct r5_ppl *l, uint32_t i, struct r5_ppl_io **batch, uint32_t n)
{
	struct r5_ppl_slot *s = &l->slot[i];
	struct r5_ppl_group *g = &s->group;
	struct iovec iov[R5_PPL_MAX_ENTRIES + 1];
	int cnt = 1;

	memcpy(g->array_uuid, l->uuid, 16);
	g->log_id = s->log_id;
	g->seq = s->seq++;
	g->strip_size = l->strip_size;
	g->nr_entries = n;
	g->nr_pages = 0;
	for (uint32_t k = 0; k < n; k++) {
		struct r5_ppl_entry_disk *e = &g->entry[k];

		e->stripe = batch[k]->stripe;
		e->changed = batch[k]->changed;
		e->flags = batch[k]->full ? R5_PPL_FULL : 0;
		e->pp_crc = 0;
		if (!batch[k]->full) {
			e->pp_crc = r5_crc32c(0, batch[k]->pp, l->strip_size);
			iov[cnt].iov_base = batch[k]->pp;
			iov[cnt++].iov_len = l->strip_size;
			g->nr_pages++;
		}
	}
	r5_ppl_group_encode(g, s->block);
	iov[0].iov_base = s->block;
	iov[0].iov_len = R5_PPL_BLOCK;
	return r5_members_log_write(l->ms, i, iov, cnt, s->head);
}

/* Adds to each record the blocks of its row written back by earlier
 * updates and not yet durable (ppl.h, "not yet durable"): their pages come
 * out of the partial parity. When rows could not be remembered, syncs the
 * members first instead. Writer only; 0 or -errno. */
static int
widen_records(struct r5_ppl *l, uint32_t i, struct r5_ppl_io **batch, uint32_t n)
{
	struct r5_ppl_slot *s = &l->slot[i];
	const uint32_t data = ((1u << l->nr) - 1) & ~(1u << i);
	uint64_t done;
	int err;

	(void)r5_members_sync_gen(l->ms, &done);
	r5_mutex_lock(&s->lock);
	bool overflow = s->overflow && done <= s->overflow_gen;
	r5_mutex_unlock(&s->lock);
	if (overflow) {
		err = r5_members_sync(l->ms);
		if (err < 0)
			return err;
		(void)r5_members_sync_gen(l->ms, &done);
		r5_mutex_lock(&s->lock);
		if (done > s->overflow_gen)
			s->overflow = false;
		unsynced_purge(s, done);
		r5_mutex_unlock(&s->lock);
	}
	for (uint32_t k = 0; k < n; k++) {
		struct r5_ppl_io *io = batch[k];

		if (io->full)
			continue;
		r5_mutex_lock(&s->lock);
		uint32_t extra = unsynced_mask(s, io->stripe, done) & data & ~io->changed;
		r5_mutex_unlock(&s->lock);
		if (!extra)
			continue;
		io->changed |= extra;
		if ((io->changed & data) == data) {
			io->full = true;
			continue;
		}
		void *src[R5_MAX_MEMBERS + 1];
		int cnt = 0;

		src[cnt++] = io->pp;
		for (uint32_t b = 0; b < l->nr; b++)
			if (extra & (1u << b))
				src[cnt++] = io->pages[b];
		r5_parity_xor(cnt, l->strip_size, src, io->pp);
	}
	return 0;
}

/* One group of records onto slot i's log: 0 or -errno. */
static int
log_batch(struct r5_ppl *l, uint32_t i, struct r5_ppl_io **batch, uint32_t n)
{
	struct r5_ppl_slot *s = &l->slot[i];
	struct r5_superblock sb;
	uint64_t bytes = batch_bytes(l, batch, n);
	int err = 0;

	if (!r5_members_superblock(l->ms, i, &sb))
		return -ENODEV; /* the member is gone: its rows need no record */
	/* a new member in the slot (replace) starts its own log */
	if (!s->started || memcmp(sb.member_uuid, s->member_uuid, 16) != 0)
		err = ring_restart(l, i);
	if (!err && (s->head + bytes > s->ring_end || s->nr_logged + n > R5_PPL_LOGGED_MAX))
		err = ring_full(l, i);
	if (!err)
		err = widen_records(l, i, batch, n);
	bytes = batch_bytes(l, batch, n); /* a widened record may need no page */
	if (!err)
		err = write_group(l, i, batch, n);
	if (err < 0)
		return err;
	s->head += bytes;
	r5_mutex_lock(&s->lock);
	s->unwritten += n;
	for (uint32_t k = 0; k < n; k++)
		logged_add(s, batch[k]->stripe);
	r5_mutex_unlock(&s->lock);
	atomic_fetch_add(&l->groups, 1);
	atomic_fetch_add(&l->bytes, bytes);
	atomic_fetch_add(&l->records, n);
	for (uint32_t k = 0; k < n; k++)
		if (batch[k]->full)
			atomic_fetch_add(&l->full_records, 1);
	return 0;
}

struct writer_arg {
	struct r5_ppl *l;
	uint32_t i;
};

static void *
writer_main(void *arg)
{
	struct r5_ppl *l = ((struct writer_arg *)arg)->l;
	const uint32_t i = ((struct writer_arg *)arg)->i;
	struct r5_ppl_slot *s = &l->slot[i];
	struct r5_ppl_io *batch[R5_PPL_MAX_ENTRIES];

	free(arg);
	for (;;) {
		uint32_t n;
		int err;

		r5_mutex_lock(&s->lock);
		while (r5_list_empty(&s->pending) && !s->stopping)
			r5_cond_wait(&s->cond, &s->lock);
		if (r5_list_empty(&s->pending)) {
			r5_mutex_unlock(&s->lock);
			break;
		}
		n = take_batch(l, s, batch);
		if (n == 0) {
			/* the ring has remembered as many rows as it can: start
			 * afresh first (one record always fits an empty ring) */
			r5_mutex_unlock(&s->lock);
			err = ring_full(l, i);
			if (err < 0)
				r5_members_fail(l->ms, i, "cannot restart its parity log: %s",
						strerror(-err));
			continue;
		}
		r5_mutex_unlock(&s->lock);
		err = log_batch(l, i, batch, n);
		if (err < 0 && err != -ENODEV)
			/* takes sb_lock: no log lock held */
			r5_members_fail(l->ms, i, "cannot write its parity log: %s", strerror(-err));
		for (uint32_t k = 0; k < n; k++)
			batch[k]->done(batch[k], err < 0 ? err : 0);
	}
	return NULL;
}

int
r5_ppl_start(struct r5_ppl *l)
{
	for (uint32_t i = 0; i < l->nr; i++) {
		if (!r5_members_present(l->ms, i))
			continue;
		int err = ring_restart(l, i);

		if (err < 0)
			r5_members_fail(l->ms, i, "cannot start its parity log: %s", strerror(-err));
	}
	if (r5_members_failed(l->ms))
		return -EIO;
	for (uint32_t i = 0; i < l->nr; i++) {
		struct writer_arg *arg = malloc(sizeof(*arg));
		int err;

		if (!arg)
			return -ENOMEM;
		arg->l = l;
		arg->i = i;
		err = pthread_create(&l->slot[i].thread, NULL, writer_main, arg);
		if (err) {
			free(arg);
			return -err;
		}
		l->slot[i].running = true;
	}
	return 0;
}

void
r5_ppl_destroy(struct r5_ppl *l)
{
	if (!l)
		return;
	for (uint32_t i = 0; i < l->nr; i++) {
		struct r5_ppl_slot *s = &l->slot[i];

		r5_mutex_lock(&s->lock);
		s->stopping = true;
		r5_cond_broadcast(&s->cond);
		r5_mutex_unlock(&s->lock);
		if (s->running)
			pthread_join(s->thread, NULL);
	}
	for (uint32_t i = 0; i < l->nr; i++) {
		free(l->slot[i].logged);
		free(l->slot[i].unsynced);
		free(l->slot[i].spare);
		free(l->slot[i].block);
		r5_cond_destroy(&l->slot[i].cond);
		r5_mutex_destroy(&l->slot[i].lock);
	}
	free(l);
}

void
r5_ppl_submit(struct r5_ppl *l, uint32_t slot, struct r5_ppl_io *io)
{
	struct r5_ppl_slot *s = &l->slot[slot];

	r5_mutex_lock(&s->lock);
	r5_list_add_tail(&s->pending, &io->node);
	r5_cond_broadcast(&s->cond);
	r5_mutex_unlock(&s->lock);
}

bool
r5_ppl_row_logged(struct r5_ppl *l, uint32_t slot, uint64_t stripe)
{
	struct r5_ppl_slot *s = &l->slot[slot];
	bool found;

	r5_mutex_lock(&s->lock);
	found = logged_find(s, stripe);
	r5_mutex_unlock(&s->lock);
	return found;
}

void
r5_ppl_written(struct r5_ppl *l, uint32_t slot, uint64_t stripe, uint32_t changed, bool logged)
{
	struct r5_ppl_slot *s = &l->slot[slot];
	uint64_t done, started = r5_members_sync_gen(l->ms, &done);

	r5_mutex_lock(&s->lock);
	if (logged && s->unwritten > 0 && --s->unwritten == 0)
		r5_cond_broadcast(&s->cond);
	if (s->nr_unsynced >= R5_PPL_UNSYNCED_MAX && done != s->purged_at)
		unsynced_purge(s, done);
	struct unsynced_row *r = unsynced_slot(s->unsynced, stripe);

	if (r->key == 0 && s->nr_unsynced >= R5_PPL_UNSYNCED_MAX) {
		/* cannot remember it: the writer syncs before its next record */
		s->overflow = true;
		s->overflow_gen = started;
	} else {
		if (r->key == 0) {
			r->key = stripe + 1;
			r->mask = 0;
			s->nr_unsynced++;
		} else if (r->gen < done) {
			r->mask = 0; /* what it remembered is durable */
		}
		r->mask |= changed;
		r->gen = started;
	}
	r5_mutex_unlock(&s->lock);
}

void
r5_ppl_get_stats(struct r5_ppl *l, struct r5_ppl_stats *out)
{
	out->records = atomic_load(&l->records);
	out->full_records = atomic_load(&l->full_records);
	out->groups = atomic_load(&l->groups);
	out->bytes = atomic_load(&l->bytes);
	out->restarts = atomic_load(&l->restarts);
}
