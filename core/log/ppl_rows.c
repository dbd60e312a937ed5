/* ppl_rows.c - what the partial parity log remembers about rows: which
 * ones each half of a ring holds a record of (so that a full-row write of
 * such a row gets a record too), and which blocks were written back and
 * are not yet durable (so that a later record of the row names them: ppl.h,
 * "not yet durable"). */
#include <string.h>

#include "locks.h"
#include "member_set.h"
#include "ppl.h"
#include "ppl_internal.h"

/* Asks the syncer (ppl_log.c) for a sync of the members: only its flag
 * and condition, so that this file, below the writers, need not call them. */
void
r5_ppl_want_sync(struct r5_ppl *l)
{
	r5_mutex_lock(&l->sync_lock);
	l->sync_wanted = true;
	r5_cond_signal(&l->sync_cond);
	r5_mutex_unlock(&l->sync_lock);
}

static uint32_t
hash_stripe(uint64_t stripe)
{
	stripe *= 0x9e3779b97f4a7c15ull;
	return (uint32_t)(stripe >> 40) & (R5_PPL_HASH - 1);
}

/* slot lock held */
bool
r5_ppl_half_logged(const struct ppl_half *s, uint64_t stripe)
{
	for (uint32_t h = hash_stripe(stripe);; h = (h + 1) & (R5_PPL_HASH - 1)) {
		if (s->logged[h] == 0)
			return false;
		if (s->logged[h] == stripe + 1)
			return true;
	}
}

/* slot lock held; the caller keeps nr_logged below R5_PPL_LOGGED_MAX */
void
r5_ppl_half_add(struct ppl_half *s, uint64_t stripe)
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
void
r5_ppl_unsynced_purge(struct r5_ppl_slot *s, uint64_t done)
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
uint32_t
r5_ppl_unsynced_mask(struct r5_ppl_slot *s, uint64_t stripe, uint64_t done)
{
	const struct unsynced_row *r = unsynced_slot(s->unsynced, stripe);

	return r->key != 0 && r->gen >= done ? r->mask : 0;
}

bool
r5_ppl_row_logged(struct r5_ppl *l, uint32_t slot, uint64_t stripe)
{
	struct r5_ppl_slot *s = &l->slot[slot];
	bool found;

	r5_mutex_lock(&s->lock);
	found = r5_ppl_half_logged(&s->half[0], stripe) || r5_ppl_half_logged(&s->half[1], stripe);
	r5_mutex_unlock(&s->lock);
	return found;
}

void
r5_ppl_written(struct r5_ppl *l, uint32_t slot, const struct r5_ppl_io *io, bool logged)
{
	struct r5_ppl_slot *s = &l->slot[slot];
	uint64_t done;
	(void)r5_members_sync_gen(l->ms, &done);
	const uint64_t started = io->wb_gen; /* when the write-back ended */
	bool kick = false;

	r5_mutex_lock(&s->lock);
	if (logged) {
		struct ppl_half *h = &s->half[io->half & 1];

		if (h->last_gen < started)
			h->last_gen = started;
		if (h->unwritten > 0 && --h->unwritten == 0) {
			r5_cond_broadcast(&s->cond);
			kick = h->closed; /* a full half is ready for its sync */
		}
	}
	if (s->nr_unsynced >= R5_PPL_UNSYNCED_MAX && done != s->purged_at)
		r5_ppl_unsynced_purge(s, done);
	struct unsynced_row *r = unsynced_slot(s->unsynced, io->stripe);

	if (r->key == 0 && s->nr_unsynced >= R5_PPL_UNSYNCED_MAX) {
		/* cannot remember it: the writer syncs before its next record */
		s->overflow = true;
		s->overflow_gen = started;
	} else {
		if (r->key == 0) {
			r->key = io->stripe + 1;
			r->mask = 0;
			s->nr_unsynced++;
		} else if (r->gen < done) {
			r->mask = 0; /* what it remembered is durable */
		}
		r->mask |= io->changed;
		r->gen = started;
	}
	r5_mutex_unlock(&s->lock);
	if (kick)
		r5_ppl_want_sync(l);
}
