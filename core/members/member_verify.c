/* member_verify.c - per-block checksums in the member set: each slot's
 * table, verifying reads, setting entries on writes, and the record of the
 * blocks that failed (member_set.h, "per-block checksums").
 *
 * Verification sits here, under every read path of the engine (cached
 * stripes, reads that bypass the cache, pre-reads, reconstruction, the
 * sync thread), so that none of them can skip it. What a mismatch means
 * (heal it, take the data as it is after a crash, fail the request) is the
 * caller's decision; this file only says "this block does not match".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "members_internal.h"
#include "raid5fs/log.h"

int
r5_members_set_checksums(struct r5_members *ms, uint32_t alg, const struct r5_csum_key *key)
{
	if (!r5_csum_alg_name(alg) || (alg == R5_CSUM_HMAC_SHA256) != (key != NULL))
		return -EINVAL;
	ms->csum.alg = alg;
	if (key) {
		ms->csum.key = malloc(sizeof(*key));
		if (!ms->csum.key)
			return -ENOMEM;
		*ms->csum.key = *key;
	}
	return 0;
}

uint32_t
r5_members_csum_alg(const struct r5_members *ms)
{
	return ms->csum.alg;
}

int
r5_slot_open_csum(struct r5_members *ms, struct r5_slot *s)
{
	struct r5_csum_table *t, *old;
	struct r5_csum *cs;
	int ret;

	if (ms->csum.alg == R5_CSUM_NONE)
		return 0;
	ret = r5_csum_create(ms->csum.alg, ms->csum.key, s->sb.member_uuid, &cs);
	if (ret == 0)
		ret = r5_csum_table_open(&s->member, &s->sb, cs, &t);
	if (ret < 0)
		return ret;
	old = atomic_exchange(&s->csum, t);
	if (old) {
		/* in-flight I/O of the old member may still use it */
		uint32_t i = (uint32_t)(s - ms->slot);

		r5_csum_table_close(ms->csum.retired[i]);
		ms->csum.retired[i] = old;
	}
	return 0;
}

int
r5_members_open_checksums(struct r5_members *ms)
{
	for (uint32_t i = 0; i < ms->nr; i++) {
		struct r5_slot *s = &ms->slot[i];

		if (!s->member.ops)
			continue;
		int ret = r5_slot_open_csum(ms, s);
		if (ret < 0)
			return ret;
	}
	return 0;
}

void
r5_members_csum_destroy(struct r5_members *ms)
{
	for (uint32_t i = 0; i < R5_MAX_MEMBERS; i++) {
		r5_csum_table_close(atomic_exchange(&ms->slot[i].csum, NULL));
		r5_csum_table_close(ms->csum.retired[i]);
		ms->csum.retired[i] = NULL;
	}
	if (ms->csum.key) {
		/* the key does not outlive the array in memory */
		memset(ms->csum.key, 0, sizeof(*ms->csum.key));
		free(ms->csum.key);
		ms->csum.key = NULL;
	}
}

int
r5_slot_verify(struct r5_members *ms, struct r5_slot *s, const struct iovec *iov, int iovcnt,
	       uint64_t off)
{
	struct r5_csum_table *t = atomic_load(&s->csum);
	int ret;

	(void)ms;
	if (!t)
		return 0;
	ret = r5_csum_table_verify(t, iov, iovcnt, off, NULL);
	/* A table page the member cannot give back is a read error of the
	 * member (-EIO); anything else that stops verification leaves the
	 * data unverified, which is what -EBADMSG says. */
	return ret == -EINVAL || ret == -ENOMEM ? -EBADMSG : ret;
}

int
r5_slot_csum_update(struct r5_slot *s, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct r5_csum_table *t = atomic_load(&s->csum);

	return t ? r5_csum_table_update(t, iov, iovcnt, off) : 0;
}

int
r5_members_csum_refresh(struct r5_members *ms, uint32_t slot, const struct iovec *iov,
			int iovcnt, uint64_t off)
{
	return r5_slot_csum_update(&ms->slot[slot], iov, iovcnt, off);
}

/* bad_lock held */
static void
unhealed_add(struct r5_members *ms, const struct r5_bad_block *b)
{
	uint32_t n = atomic_load(&ms->csum.nunhealed);

	for (uint32_t i = 0; i < n; i++)
		if (ms->csum.unhealed[i].slot == b->slot &&
		    ms->csum.unhealed[i].member_offset == b->member_offset)
			return;
	if (n == R5_UNHEALED_KEPT) {
		ms->csum.unhealed_dropped++;
		return;
	}
	ms->csum.unhealed[n] = *b;
	atomic_store(&ms->csum.nunhealed, n + 1);
}

/* Removes the entries of slot within [off, off+len); bad_lock held. */
static void
unhealed_remove(struct r5_members *ms, uint32_t slot, uint64_t off, uint64_t len)
{
	uint32_t n = atomic_load(&ms->csum.nunhealed);

	for (uint32_t i = 0; i < n;) {
		const struct r5_bad_block *b = &ms->csum.unhealed[i];

		if (b->slot == slot && b->member_offset >= off && b->member_offset - off < len)
			ms->csum.unhealed[i] = ms->csum.unhealed[--n];
		else
			i++;
	}
	atomic_store(&ms->csum.nunhealed, n);
}

void
r5_members_csum_written(struct r5_members *ms, uint32_t slot, uint64_t off, uint64_t len)
{
	/* the common case, nothing damaged, takes no lock */
	if (atomic_load(&ms->csum.nunhealed) == 0)
		return;
	r5_mutex_lock(&ms->csum.bad_lock);
	unhealed_remove(ms, slot, off, len);
	r5_mutex_unlock(&ms->csum.bad_lock);
}

void
r5_members_csum_error(struct r5_members *ms, uint32_t slot, uint64_t member_off,
		      uint64_t image_off)
{
	struct r5_slot *s = &ms->slot[slot];
	struct r5_bad_block *b;

	atomic_fetch_add(&s->stats.csum_errors, 1);
	r5_mutex_lock(&ms->csum.bad_lock);
	b = &ms->csum.bad[ms->csum.nbad++ % R5_BAD_BLOCKS_KEPT];
	*b = (struct r5_bad_block){ .slot = slot, .member_offset = member_off,
				    .image_offset = image_off };
	unhealed_add(ms, b);
	r5_mutex_unlock(&ms->csum.bad_lock);
	if (image_off == UINT64_MAX) {
		r5_logp(R5_LOG_ERR, "checksum error: member %u (%s), member offset %llu (parity)",
			slot, s->member.path, (unsigned long long)member_off);
		r5_event(ms->notices, "checksum-error", (int)slot, s->member.path,
			 "member offset %llu (parity)", (unsigned long long)member_off);
	} else {
		r5_logp(R5_LOG_ERR,
			"checksum error: member %u (%s), member offset %llu, image offset %llu", slot,
			s->member.path, (unsigned long long)member_off, (unsigned long long)image_off);
		r5_event(ms->notices, "checksum-error", (int)slot, s->member.path,
			 "member offset %llu, image offset %llu", (unsigned long long)member_off,
			 (unsigned long long)image_off);
	}
}

void
r5_members_csum_lost(struct r5_members *ms, uint32_t slot, uint64_t off, uint64_t len,
		     uint64_t image_off)
{
	struct r5_slot *s = &ms->slot[slot];
	struct r5_csum_table *t = atomic_load(&s->csum);
	struct r5_bad_block b = { .slot = slot, .member_offset = off, .image_offset = image_off };

	/* without checksums nothing would stop the zeros from being read */
	if (!t || r5_csum_table_poison(t, off, len) < 0)
		r5_members_fail(ms, slot, "recovery could not rebuild member offset %llu",
				(unsigned long long)off);
	r5_mutex_lock(&ms->csum.bad_lock);
	unhealed_add(ms, &b);
	r5_mutex_unlock(&ms->csum.bad_lock);
	r5_logp(R5_LOG_ERR,
		"recovery: member %u (%s), member offset %llu cannot be rebuilt (another block of its row failed its checksum); reads there fail with EIO",
		slot, s->member.path, (unsigned long long)off);
}

void
r5_members_csum_healed(struct r5_members *ms, uint32_t slot, uint64_t member_off)
{
	atomic_fetch_add(&ms->slot[slot].stats.csum_healed, 1);
	r5_mutex_lock(&ms->csum.bad_lock);
	for (uint32_t i = 0; i < R5_BAD_BLOCKS_KEPT && i < ms->csum.nbad; i++) {
		struct r5_bad_block *b = &ms->csum.bad[i];

		if (b->slot == slot && b->member_offset == member_off)
			b->healed = true;
	}
	unhealed_remove(ms, slot, member_off, 1);
	r5_mutex_unlock(&ms->csum.bad_lock);
}

uint64_t
r5_members_bad_blocks(struct r5_members *ms, struct r5_bad_block *out, uint32_t max,
		      uint32_t *copied)
{
	uint64_t n, first;
	uint32_t k = 0;

	r5_mutex_lock(&ms->csum.bad_lock);
	n = ms->csum.nbad;
	first = n > R5_BAD_BLOCKS_KEPT ? n - R5_BAD_BLOCKS_KEPT : 0;
	if (n - first > max)
		first = n - max;
	for (uint64_t i = first; i < n; i++)
		out[k++] = ms->csum.bad[i % R5_BAD_BLOCKS_KEPT];
	r5_mutex_unlock(&ms->csum.bad_lock);
	*copied = k;
	return n;
}

uint64_t
r5_members_unhealed(struct r5_members *ms, struct r5_bad_block *out, uint32_t max,
		    uint32_t *copied)
{
	uint32_t n, k;
	uint64_t total;

	r5_mutex_lock(&ms->csum.bad_lock);
	n = atomic_load(&ms->csum.nunhealed);
	k = n < max ? n : max;
	memcpy(out, ms->csum.unhealed, k * sizeof(*out));
	total = n + ms->csum.unhealed_dropped;
	r5_mutex_unlock(&ms->csum.bad_lock);
	*copied = k;
	return total;
}
