/* member_set.c - the set made and attached, member I/O with accounting
 * and checksums, syncs, a rebuilding member added (see member_set.h).
 * The top of the members layer: queries are in member_state.c, failing a
 * slot and the superblock updates in member_sb.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"
#include "member_set.h"
#include "members_internal.h"
#include "raid5fs/log.h"
#include "raid5fs/util.h"

int
r5_members_create(uint32_t nr, uint64_t data_offset, uint64_t events, uint32_t array_state,
		  struct r5_members **out)
{
	struct r5_members *ms = calloc(1, sizeof(*ms));

	if (!ms)
		return -ENOMEM;
	ms->nr = nr;
	ms->data_offset = data_offset;
	ms->events = events;
	ms->array_state = array_state;
	for (uint32_t s = 0; s < R5_MAX_MEMBERS; s++)
		atomic_store(&ms->slot[s].state, R5_SLOT_MISSING);
	atomic_store(&ms->nr_failed, (int)nr);
	if (r5_events_create(&ms->notices) < 0) {
		free(ms);
		return -ENOMEM;
	}
	r5_mutex_init(&ms->sb_lock);
	r5_mutex_init(&ms->csum.bad_lock);
	*out = ms;
	return 0;
}

void
r5_members_destroy(struct r5_members *ms)
{
	if (!ms)
		return;
	for (uint32_t i = 0; i < R5_MAX_MEMBERS; i++) {
		r5_member_close(&ms->slot[i].member);
		r5_member_close(&ms->retired[i]);
	}
	r5_members_csum_destroy(ms);
	r5_mutex_destroy(&ms->csum.bad_lock);
	r5_mutex_destroy(&ms->sb_lock);
	r5_events_destroy(ms->notices);
	free(ms);
}

void
r5_members_attach(struct r5_members *ms, uint32_t slot, const struct r5_member *m,
		  const struct r5_superblock *sb, enum r5_slot_state state)
{
	struct r5_slot *s = &ms->slot[slot];

	r5_mutex_lock(&ms->sb_lock);
	s->member = *m;
	s->sb = *sb;
	s->fail_reason[0] = 0;
	atomic_store(&s->state, (int)state);
	if (state == R5_SLOT_IN_SYNC)
		atomic_fetch_sub(&ms->nr_failed, 1);
	r5_mutex_unlock(&ms->sb_lock);
}

void
r5_members_set_missing(struct r5_members *ms, uint32_t slot, const char *path, const char *reason)
{
	struct r5_slot *s = &ms->slot[slot];

	r5_mutex_lock(&ms->sb_lock);
	snprintf(s->member.path, sizeof(s->member.path), "%s", path ? path : "");
	snprintf(s->fail_reason, sizeof(s->fail_reason), "%s", reason);
	r5_mutex_unlock(&ms->sb_lock);
}

/* ---- data I/O ---- */

/* Every member data access goes through here: one call, counted; with
 * checksums, a read is verified and a write sets its entries. */
static int
member_io(struct r5_members *ms, uint32_t slot, struct iovec *iov, int iovcnt, uint64_t off,
	  bool write)
{
	struct r5_slot *s = &ms->slot[slot];
	size_t len = r5_iov_length(iov, iovcnt); /* before iov is used up */
	struct iovec saved[64], *orig = NULL;
	int err;

	if (atomic_load(&s->csum)) {
		/* the member calls advance iov: keep the vector as it was */
		orig = iovcnt <= 64 ? saved : malloc(sizeof(*iov) * (size_t)iovcnt);
		if (!orig)
			return -ENOMEM;
		memcpy(orig, iov, sizeof(*iov) * (size_t)iovcnt);
	}
	/* Zeros are written as a hole: the member gives the space back (a
	 * discard of the image, fe_image.c) and reads the same. Where no hole
	 * can be punched (no support, any refusal), they are written. */
	err = -EOPNOTSUPP;
	if (write && len >= R5_CSUM_BLOCK && r5_iov_is_zero(iov, iovcnt))
		err = r5_member_punch(&s->member, ms->data_offset + off, len);
	if (err < 0)
		err = write ? r5_member_writev(&s->member, iov, iovcnt, ms->data_offset + off)
			    : r5_member_readv(&s->member, iov, iovcnt, ms->data_offset + off);
	atomic_fetch_add(write ? &s->stats.writes : &s->stats.reads, 1);
	if (err < 0)
		atomic_fetch_add(write ? &s->stats.write_errors : &s->stats.read_errors, 1);
	else
		atomic_fetch_add(write ? &s->stats.write_bytes : &s->stats.read_bytes, len);
	if (err == 0 && orig)
		err = write ? r5_slot_csum_update(s, orig, iovcnt, off)
			    : r5_slot_verify(ms, s, orig, iovcnt, off);
	if (err == 0 && write)
		r5_members_csum_written(ms, slot, off, len);
	if (orig != saved)
		free(orig);
	return err;
}

int
r5_members_read(struct r5_members *ms, uint32_t slot, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	const uint64_t start = off / R5_CSUM_BLOCK * R5_CSUM_BLOCK;
	const uint64_t end = (off + len + R5_CSUM_BLOCK - 1) / R5_CSUM_BLOCK * R5_CSUM_BLOCK;
	uint8_t *bounce;
	int err;

	if (!atomic_load(&ms->slot[slot].csum) || (start == off && end == off + len))
		return member_io(ms, slot, &iov, 1, off, false);
	/* Only whole blocks can be verified: read those around the range. */
	bounce = aligned_alloc(64, end - start);
	if (!bounce)
		return -ENOMEM;
	iov = (struct iovec){ .iov_base = bounce, .iov_len = end - start };
	err = member_io(ms, slot, &iov, 1, start, false);
	if (err == 0 || err == -EBADMSG)
		memcpy(buf, bounce + (off - start), len);
	free(bounce);
	return err;
}

int
r5_members_write(struct r5_members *ms, uint32_t slot, const void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { .iov_base = (void *)(uintptr_t)buf, .iov_len = len };

	return member_io(ms, slot, &iov, 1, off, true);
}

int
r5_members_readv(struct r5_members *ms, uint32_t slot, struct iovec *iov, int iovcnt, uint64_t off)
{
	return member_io(ms, slot, iov, iovcnt, off, false);
}

int
r5_members_writev(struct r5_members *ms, uint32_t slot, struct iovec *iov, int iovcnt,
		  uint64_t off)
{
	return member_io(ms, slot, iov, iovcnt, off, true);
}

int
r5_members_readv_cached(struct r5_members *ms, uint32_t slot, const struct iovec *iov, int iovcnt,
			uint64_t off)
{
	struct r5_slot *s = &ms->slot[slot];
	int err = r5_member_readv_cached(&s->member, iov, iovcnt, ms->data_offset + off);

	/* a block that does not verify is read again the normal way, where
	 * the caller sees -EBADMSG */
	if (err == 0 && r5_slot_verify(ms, s, iov, iovcnt, off) < 0)
		err = -EAGAIN;
	if (err == 0) {
		atomic_fetch_add(&s->stats.reads, 1);
		atomic_fetch_add(&s->stats.read_bytes, r5_iov_length(iov, iovcnt));
	}
	return err;
}

void
r5_members_willneed(struct r5_members *ms, uint32_t slot, uint64_t off, uint64_t len)
{
	r5_member_willneed(&ms->slot[slot].member, ms->data_offset + off, len);
}

void
r5_members_start_writeback(struct r5_members *ms, uint32_t slot, uint64_t off, uint64_t len)
{
	r5_member_start_writeback(&ms->slot[slot].member, ms->data_offset + off, len);
}

/* ---- metadata I/O and durability ---- */

int
r5_members_write_meta(void *arg, uint64_t off, const void *buf, size_t len)
{
	struct r5_members *ms = arg;
	int first_err = 0;

	for (uint32_t s = 0; s < ms->nr; s++) {
		struct r5_slot *sl = &ms->slot[s];
		int err;

		struct iovec iov = { (void *)(uintptr_t)buf, len };

		if (!r5_members_present(ms, s))
			continue;
		/* durable by itself (RWF_DSYNC: that range only), not an
		 * fdatasync that would also wait for the member's dirty data:
		 * a fresh array's first fill stores a map bit every few MiB */
		err = r5_member_writev_durable(&sl->member, &iov, 1, off);
		if (err < 0 && !first_err)
			first_err = err;
	}
	return first_err < 0 && r5_members_failed(ms) ? first_err : 0;
}

uint64_t
r5_members_sync_gen(struct r5_members *ms, uint64_t *done)
{
	*done = atomic_load(&ms->sync_done);
	return atomic_load(&ms->sync_started);
}

int
r5_members_log_write(struct r5_members *ms, uint32_t slot, struct iovec *iov, int iovcnt,
		     uint64_t off)
{
	struct r5_slot *sl = &ms->slot[slot];
	const size_t len = r5_iov_length(iov, iovcnt);
	int err;

	if (!r5_members_present(ms, slot))
		return -ENODEV;
	err = r5_member_writev_durable(&sl->member, iov, iovcnt, off);
	atomic_fetch_add(&sl->stats.writes, 1);
	if (err < 0)
		atomic_fetch_add(&sl->stats.write_errors, 1);
	else
		atomic_fetch_add(&sl->stats.write_bytes, len);
	return err;
}

int
r5_members_log_read(struct r5_members *ms, uint32_t slot, void *buf, size_t len, uint64_t off)
{
	if (!r5_members_present(ms, slot))
		return -ENODEV;
	return r5_member_read(&ms->slot[slot].member, buf, len, off);
}

int
r5_members_sync(struct r5_members *ms)
{
	const uint64_t gen = atomic_fetch_add(&ms->sync_started, 1) + 1;
	bool all_synced = true;

	/* A member being rebuilt takes user writes below its checkpoint: an
	 * fsync of the image must make those durable too. */
	for (uint32_t s = 0; s < ms->nr; s++) {
		if (!r5_members_present(ms, s))
			continue;
		/* the checksums of what is synced go with it */
		struct r5_csum_table *t = atomic_load(&ms->slot[s].csum);
		int err = t ? r5_csum_table_flush(t) : 0;

		if (err < 0) {
			r5_members_fail(ms, s, "cannot write its checksum table: %s", strerror(-err));
			continue;
		}
		err = r5_member_sync(&ms->slot[s].member);
		if (err < 0) {
			r5_members_fail(ms, s, "fdatasync failed: %s", strerror(-err));
			all_synced = false;
		}
	}
	if (all_synced) {
		unsigned long long done = atomic_load(&ms->sync_done);

		while (done < gen && !atomic_compare_exchange_weak(&ms->sync_done, &done, gen))
			;
	}
	return r5_members_failed(ms) ? -EIO : 0;
}

/* ---- a rebuilding member ---- */

int
r5_members_add_rebuilding(struct r5_members *ms, uint32_t slot, struct r5_member *m,
			  int (*prepare)(void *ctx, struct r5_member *m,
					 const struct r5_superblock *sb),
			  void *ctx, char *err, size_t errlen)
{
	struct r5_slot *sl = &ms->slot[slot];
	struct r5_member old;
	int ret, survivor = -1, st;

	r5_mutex_lock(&ms->sb_lock);
	st = atomic_load(&sl->state);
	for (uint32_t s = 0; s < ms->nr && survivor < 0; s++)
		if (r5_members_ok(ms, s))
			survivor = (int)s;
	if ((st != R5_SLOT_FAULTY && st != R5_SLOT_MISSING) || survivor < 0) {
		r5_mutex_unlock(&ms->sb_lock);
		r5_member_close(m);
		r5_errf(err, errlen, "slot %u cannot take a new member now", slot);
		return -EBUSY;
	}
	/* the old member (if any) may still be under in-flight I/O: retire it;
	 * one retired by an earlier replace has long been idle */
	old = sl->member;
	sl->member = *m;
	sl->sb = ms->slot[survivor].sb;
	r5_random_bytes(sl->sb.member_uuid, sizeof(sl->sb.member_uuid));
	sl->sb.role = slot;
	sl->sb.recovery_offset = 0;
	sl->sb.generation = 0;
	sl->sb.roles[slot] = R5_ROLE_REBUILDING;
	/* both superblock copies and the bitmap before the member takes I/O */
	ret = r5_sb_store(&sl->member, &sl->sb);
	if (!ret)
		ret = r5_sb_store(&sl->member, &sl->sb);
	if (!ret && prepare)
		ret = prepare(ctx, &sl->member, &sl->sb);
	if (!ret)
		ret = r5_slot_open_csum(ms, sl); /* a new table: all its blocks are zero */
	if (ret < 0) {
		r5_errf(err, errlen, "%s: cannot write its metadata: %s", sl->member.path,
			strerror(-ret));
		r5_member_close(&sl->member);
		sl->member = old;
		r5_mutex_unlock(&ms->sb_lock);
		return ret;
	}
	if (old.ops) {
		r5_member_close(&ms->retired[slot]);
		ms->retired[slot] = old;
	}
	sl->fail_reason[0] = 0;
	ms->events++;
	atomic_store(&sl->state, R5_SLOT_REBUILDING); /* still counted in nr_failed */
	r5_members_store_locked(ms);
	r5_mutex_unlock(&ms->sb_lock);
	return 0;
}
