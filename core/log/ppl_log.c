/* ppl_log.c - the partial parity log's writers: one thread per slot that
 * turns the records waiting at that moment into one group and one durable
 * write, and moves on to the other half of its ring when one is full; and
 * the syncer, which makes a finished half's rows durable in the background
 * so that the half can be reused without waiting (ppl.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "member_set.h"
#include "ppl.h"
#include "ppl_internal.h"
#include "raid5fs/checksum.h"
#include "raid5fs/log.h"
#include "raid5fs/parity.h"
#include "raid5fs/ppl.h"
#include "raid5fs/superblock.h"
#include "raid5fs/util.h"

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
	r5_mutex_init(&l->sync_lock);
	r5_cond_init(&l->sync_cond);
	for (uint32_t i = 0; i < nr; i++) {
		struct r5_ppl_slot *s = &l->slot[i];

		r5_mutex_init(&s->lock);
		r5_cond_init(&s->cond);
		r5_list_init(&s->pending);
		s->half[0].logged = calloc(R5_PPL_HASH, sizeof(uint64_t));
		s->half[1].logged = calloc(R5_PPL_HASH, sizeof(uint64_t));
		s->unsynced = calloc(R5_PPL_UNSYNCED_HASH, sizeof(*s->unsynced));
		s->spare = calloc(R5_PPL_UNSYNCED_HASH, sizeof(*s->spare));
		if (!s->half[0].logged || !s->half[1].logged || !s->unsynced || !s->spare || posix_memalign((void **)&s->block, 4096, R5_PPL_BLOCK)) {
			r5_ppl_destroy(l);
			return -ENOMEM;
		}
	}
	*out = l;
	return 0;
}

/* A new log id for half h, different from its last one. */
static void
new_id(struct ppl_half *h)
{
	uint64_t id;

	do
		r5_random_bytes(&id, sizeof(id));
	while (id == h->id || id == 0);
	h->id = id;
}

/* Writes slot i's log header with the halves' ids, durably. Writer only. */
static int
write_header(struct r5_ppl *l, uint32_t i)
{
	struct r5_ppl_slot *s = &l->slot[i];
	struct r5_ppl_header h = { .strip_size = l->strip_size,
				   .log_id = { s->half[0].id, s->half[1].id } };
	struct iovec iov = { .iov_base = s->block, .iov_len = R5_PPL_BLOCK };

	memcpy(h.array_uuid, l->uuid, 16);
	r5_ppl_header_encode(&h, s->block);
	return r5_members_log_write(l->ms, i, &iov, 1, s->reserved_offset);
}

/* Starts slot i's log afresh on its current member: new ids for both
 * halves, made durable; every older group no longer counts. Writer only
 * (or before the writers run). */
static int
ring_restart(struct r5_ppl *l, uint32_t i)
{
	struct r5_ppl_slot *s = &l->slot[i];
	struct r5_superblock sb;
	int err;

	if (!r5_members_superblock(l->ms, i, &sb))
		return -ENODEV;
	s->reserved_offset = sb.reserved_offset;
	s->ring_start = sb.reserved_offset + R5_PPL_BLOCK;
	s->half_len = R5_PPL_HALF(sb.reserved_size);
	if (s->half_len < R5_PPL_BLOCK + l->strip_size)
		return -ENOSPC; /* cannot happen with the format's 3 MiB */
	new_id(&s->half[0]);
	new_id(&s->half[1]);
	err = write_header(l, i);
	if (err < 0)
		return err;
	r5_mutex_lock(&s->lock);
	for (int h = 0; h < 2; h++) {
		memset(s->half[h].logged, 0, R5_PPL_HASH * sizeof(uint64_t));
		s->half[h].nr_logged = 0;
		s->half[h].closed = false;
	}
	r5_mutex_unlock(&s->lock);
	s->cur = 0;
	s->head = s->ring_start;
	memcpy(s->member_uuid, sb.member_uuid, 16);
	s->started = true;
	return 0;
}

/* The current half is full: move to the other one. Its records are no
 * longer needed once every row they cover is written back and a sync of
 * the members has completed since; the syncer has usually seen to that
 * while this half filled (else it is done here). Then the other half gets
 * a new id, and its old groups no longer count. Writer only. */
static int
switch_half(struct r5_ppl *l, uint32_t i)
{
	struct r5_ppl_slot *s = &l->slot[i];
	const uint32_t other = 1 - s->cur;
	struct ppl_half *o = &s->half[other];
	uint64_t done;
	bool kick, need_sync;
	int err;

	r5_mutex_lock(&s->lock);
	s->half[s->cur].closed = true;
	kick = s->half[s->cur].unwritten == 0;
	while (o->unwritten > 0 && !s->stopping)
		r5_cond_wait(&s->cond, &s->lock);
	(void)r5_members_sync_gen(l->ms, &done);
	need_sync = done <= o->last_gen;
	r5_mutex_unlock(&s->lock);
	if (kick)
		r5_ppl_want_sync(l); /* the half just closed is written back already */
	if (need_sync) {
		atomic_fetch_add(&l->switch_syncs, 1);
		err = r5_members_sync(l->ms);
		if (err < 0)
			return err;
	}
	new_id(o);
	err = write_header(l, i);
	if (err < 0)
		return err;
	r5_mutex_lock(&s->lock);
	memset(o->logged, 0, R5_PPL_HASH * sizeof(uint64_t));
	o->nr_logged = 0;
	o->closed = false;
	o->last_gen = 0;
	r5_mutex_unlock(&s->lock);
	s->cur = other;
	s->head = s->ring_start + other * s->half_len;
	atomic_fetch_add(&l->switches, 1);
	return 0;
}

/* Takes the records to put in one group off the pending list: as many as
 * one group holds and the ring can take. slot lock held. */
static uint32_t
take_batch(struct r5_ppl *l, struct r5_ppl_slot *s, struct r5_ppl_io **batch)
{
	const uint64_t ring = s->half_len;
	uint64_t bytes = R5_PPL_BLOCK;
	uint32_t n = 0;

	while (n < R5_PPL_MAX_ENTRIES && !r5_list_empty(&s->pending) &&
	       s->half[s->cur].nr_logged + n < R5_PPL_LOGGED_MAX) {
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
	g->log_id = s->half[s->cur].id;
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
		r5_ppl_unsynced_purge(s, done);
		r5_mutex_unlock(&s->lock);
	}
	for (uint32_t k = 0; k < n; k++) {
		struct r5_ppl_io *io = batch[k];

		if (io->full)
			continue;
		r5_mutex_lock(&s->lock);
		uint32_t extra = r5_ppl_unsynced_mask(s, io->stripe, done) & data & ~io->changed;
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
	if (!err && (s->head + bytes > s->ring_start + (s->cur + 1) * s->half_len ||
		     s->half[s->cur].nr_logged + n > R5_PPL_LOGGED_MAX))
		err = switch_half(l, i);
	if (!err)
		err = widen_records(l, i, batch, n);
	bytes = batch_bytes(l, batch, n); /* a widened record may need no page */
	if (!err)
		err = write_group(l, i, batch, n);
	if (err < 0)
		return err;
	s->head += bytes;
	r5_mutex_lock(&s->lock);
	s->half[s->cur].unwritten += n;
	for (uint32_t k = 0; k < n; k++) {
		r5_ppl_half_add(&s->half[s->cur], batch[k]->stripe);
		batch[k]->half = (uint8_t)s->cur;
	}
	r5_mutex_unlock(&s->lock);
	atomic_fetch_add(&l->groups, 1);
	atomic_fetch_add(&l->bytes, bytes);
	atomic_fetch_add(&l->records, n);
	for (uint32_t k = 0; k < n; k++)
		if (batch[k]->full)
			atomic_fetch_add(&l->full_records, 1);
	return 0;
}

/* Completes every pending record with err (the slot cannot log). */
static void
fail_pending(struct r5_ppl_slot *s, int err)
{
	struct r5_list list;

	r5_list_init(&list);
	r5_mutex_lock(&s->lock);
	r5_list_splice_tail(&list, &s->pending);
	r5_mutex_unlock(&s->lock);
	while (!r5_list_empty(&list)) {
		struct r5_ppl_io *io = r5_container_of(r5_list_pop(&list), struct r5_ppl_io, node);

		io->done(io, err);
	}
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
			/* this half has remembered as many rows as it can: move
			 * on (one record always fits an empty half) */
			r5_mutex_unlock(&s->lock);
			err = s->started ? switch_half(l, i) : ring_restart(l, i);
			if (err < 0 && err != -ENODEV) {
				r5_members_fail(l->ms, i, "cannot write its parity log: %s",
						strerror(-err));
				fail_pending(s, err);
			} else if (err == -ENODEV) {
				fail_pending(s, err);
			}
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

/* Syncs the members whenever a closed half's rows have all been written
 * back, so that the half is ready for reuse before the writer needs it. */
static void *
syncer_main(void *arg)
{
	struct r5_ppl *l = arg;

	for (;;) {
		r5_mutex_lock(&l->sync_lock);
		while (!l->sync_wanted && !l->sync_stopping)
			r5_cond_wait(&l->sync_cond, &l->sync_lock);
		if (l->sync_stopping) {
			r5_mutex_unlock(&l->sync_lock);
			break;
		}
		l->sync_wanted = false;
		r5_mutex_unlock(&l->sync_lock);
		(void)r5_members_sync(l->ms); /* a member that fails it is failed */
		atomic_fetch_add(&l->syncs, 1);
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
	int e = pthread_create(&l->syncer, NULL, syncer_main, l);
	if (e)
		return -e;
	l->syncer_running = true;
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
	r5_mutex_lock(&l->sync_lock);
	l->sync_stopping = true;
	r5_cond_broadcast(&l->sync_cond);
	r5_mutex_unlock(&l->sync_lock);
	if (l->syncer_running)
		pthread_join(l->syncer, NULL);
	r5_cond_destroy(&l->sync_cond);
	r5_mutex_destroy(&l->sync_lock);
	for (uint32_t i = 0; i < l->nr; i++) {
		free(l->slot[i].half[0].logged);
		free(l->slot[i].half[1].logged);
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

void
r5_ppl_get_stats(struct r5_ppl *l, struct r5_ppl_stats *out)
{
	out->records = atomic_load(&l->records);
	out->full_records = atomic_load(&l->full_records);
	out->groups = atomic_load(&l->groups);
	out->bytes = atomic_load(&l->bytes);
	out->switches = atomic_load(&l->switches);
	out->switch_syncs = atomic_load(&l->switch_syncs);
	out->syncs = atomic_load(&l->syncs);
}
