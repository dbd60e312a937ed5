/* ppl_recover.c - replaying the partial parity log after a crash (ppl.h;
 * docs/write-hole.md, "Recovery").
 *
 * For every present member, the groups of its current log (its header's
 * log id) are read in sequence order, and each row they name gets the
 * parity its newest record implies:
 *   P = PP ^ (each changed block as its member holds it now)
 * or, for a record without a page, the XOR of all data blocks. The changed
 * blocks may be old or new, or one of each: they were being written and
 * never reported durable; what matters is that every block the update did
 * not change reads back right, also through parity when its member is
 * missing. When a changed block's member is missing the row is left as it
 * is (that block was being written; nothing can say what it held). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "member_set.h"
#include "ppl.h"
#include "raid5fs/checksum.h"
#include "raid5fs/log.h"
#include "raid5fs/parity.h"
#include "raid5fs/ppl.h"
#include "raid5fs/superblock.h"

/* A valid record found in a log. */
struct found {
	uint64_t stripe, seq;
	uint32_t k;     /* its index in its group */
	uint64_t at;    /* offset of its group's header in the ring buffer */
	const uint8_t *pp;
};

/* by row, newest first */
static int
by_row_newest(const void *a, const void *b)
{
	const struct found *x = a, *y = b;

	if (x->stripe != y->stripe)
		return x->stripe < y->stripe ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq > y->seq ? -1 : 1;
	return x->k > y->k ? -1 : x->k < y->k;
}

struct replay {
	struct r5_members *ms;
	const struct r5_geometry *g;
	uint32_t strip, n;
	const uint64_t *valid_below;
	uint8_t *pages;  /* n + 1 strips: the blocks read, then the parity */
	struct r5_ppl_recovery *out;
};

static bool
valid_at(const struct replay *r, uint32_t slot, uint64_t off)
{
	return off + r->strip <= r->valid_below[slot];
}

/* Sets the parity of one row from one record. 0, or -errno if the parity
 * could not be written. */
static int
replay_row(struct replay *r, uint32_t pd, const struct r5_ppl_entry_disk *e, const uint8_t *pp)
{
	const uint64_t off = e->stripe * r->strip;
	uint8_t *parity = r->pages + (size_t)r->n * r->strip;
	void *src[R5_MAX_MEMBERS + 1];
	int k = 0;

	if (!valid_at(r, pd, off)) {
		r->out->skipped++; /* its parity member is not valid there yet */
		return 0;
	}
	if (!(e->flags & R5_PPL_FULL))
		src[k++] = (void *)(uintptr_t)pp;
	for (uint32_t s = 0; s < r->n; s++) {
		uint8_t *page = r->pages + (size_t)s * r->strip;

		if (s == pd || (!(e->flags & R5_PPL_FULL) && !(e->changed & (1u << s))))
			continue;
		if (!valid_at(r, s, off)) {
			r->out->skipped++;
			return 0;
		}
		/* a block that fails its checksum is taken as it is: it was
		 * being written, and the resync of its region sets its entry */
		int err = r5_members_read(r->ms, s, page, r->strip, off);
		if (err < 0 && err != -EBADMSG) {
			r->out->skipped++;
			return 0;
		}
		src[k++] = page;
	}
	if (k == 1) {
		memcpy(parity, src[0], r->strip);
	} else {
		r5_parity_xor(k, r->strip, src, parity);
	}
	int err = r5_members_write(r->ms, pd, parity, r->strip, off);
	if (err < 0) {
		r5_members_fail(r->ms, pd, "cannot write parity while replaying its log: %s",
				strerror(-err));
		return err;
	}
	r->out->replayed++;
	return 0;
}

/* Replays slot pd's log: the newest record of each row. */
static int
replay_slot(struct replay *r, uint32_t pd, const uint8_t uuid[16], uint8_t *ring)
{
	struct r5_superblock sb;
	struct r5_ppl_header h;
	struct r5_ppl_group grp;
	struct found *found = NULL;
	size_t nfound = 0, cap = 0;
	int err;

	if (!r5_members_superblock(r->ms, pd, &sb))
		return 0;
	err = r5_members_log_read(r->ms, pd, ring, sb.reserved_size, sb.reserved_offset);
	if (err < 0) {
		r5_log("%s: cannot read its parity log: %s", r5_members_member(r->ms, pd)->path,
		       strerror(-err));
		return 0; /* its rows stay as they are; the resync still sees them */
	}
	if (!r5_ppl_header_decode(ring, &h) || memcmp(h.array_uuid, uuid, 16) != 0)
		return 0; /* no log: never started, or by another array */
	/* the records are in strips of the run that wrote them */
	if (h.strip_size < R5_PPL_BLOCK || h.strip_size > R5_PPL_MAX_STRIP ||
	    (h.strip_size & (h.strip_size - 1)) || h.strip_size > r->g->chunk_size) {
		r5_log("%s: parity log with a strip size of %u bytes: not used",
		       r5_members_member(r->ms, pd)->path, h.strip_size);
		return 0;
	}
	r->strip = h.strip_size;
	const uint64_t half_len = R5_PPL_HALF(sb.reserved_size);
	const uint64_t nstripes = r->g->member_data_size / r->strip;
	for (uint64_t at = R5_PPL_BLOCK; at + R5_PPL_BLOCK <= R5_PPL_BLOCK + 2 * half_len;) {
		/* a group belongs to the half it starts in, and ends there */
		const uint32_t half = at < R5_PPL_BLOCK + half_len ? 0 : 1;
		const uint64_t half_end = R5_PPL_BLOCK + (half + 1) * half_len;

		if (!r5_ppl_group_decode(ring + at, &grp) || grp.log_id != h.log_id[half] ||
		    memcmp(grp.array_uuid, uuid, 16) != 0 || grp.strip_size != r->strip ||
		    at + R5_PPL_BLOCK + (uint64_t)grp.nr_pages * r->strip > half_end) {
			at += R5_PPL_BLOCK;
			continue;
		}
		const uint8_t *page = ring + at + R5_PPL_BLOCK;

		for (uint32_t k = 0; k < grp.nr_entries; k++) {
			const struct r5_ppl_entry_disk *e = &grp.entry[k];
			const uint8_t *pp = NULL;

			if (!(e->flags & R5_PPL_FULL)) {
				pp = page;
				page += r->strip;
				/* torn: the row was never written after it */
				if (r5_crc32c(0, pp, r->strip) != e->pp_crc)
					continue;
			}
			/* a record must name a row of this member's parity */
			if (e->stripe >= nstripes ||
			    r5_layout_parity_member(r->g, e->stripe * r->strip / r->g->chunk_size) != pd)
				continue;
			if (nfound == cap) {
				cap = cap ? 2 * cap : 256;
				struct found *f = realloc(found, cap * sizeof(*f));
				if (!f) {
					free(found);
					return -ENOMEM;
				}
				found = f;
			}
			found[nfound++] = (struct found){ .stripe = e->stripe, .seq = grp.seq,
							  .k = k, .at = at, .pp = pp };
		}
		at += R5_PPL_BLOCK + (uint64_t)grp.nr_pages * r->strip;
	}
	r->out->records += nfound;
	if (nfound > 1)
		qsort(found, nfound, sizeof(*found), by_row_newest);
	err = 0;
	for (size_t i = 0; i < nfound && !err; i++) {
		if (i > 0 && found[i].stripe == found[i - 1].stripe)
			continue; /* an older record of the same row */
		(void)r5_ppl_group_decode(ring + found[i].at, &grp);
		err = replay_row(r, pd, &grp.entry[found[i].k], found[i].pp);
	}
	free(found);
	return err;
}

int
r5_ppl_recover(struct r5_members *ms, const struct r5_geometry *g, const uint8_t array_uuid[16],
	       const uint64_t *valid_below, struct r5_ppl_recovery *out)
{
	const uint32_t n = r5_members_count(ms);
	struct replay r = { .ms = ms, .g = g, .n = n, .valid_below = valid_below, .out = out };
	uint8_t *ring = NULL;
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (posix_memalign((void **)&r.pages, 4096, (size_t)(n + 1) * R5_PPL_MAX_STRIP) ||
	    posix_memalign((void **)&ring, 4096, R5_RESERVED_MAX)) {
		free(r.pages);
		return -ENOMEM;
	}
	for (uint32_t s = 0; s < n && !err; s++) {
		struct r5_superblock sb;

		if (!r5_members_present(ms, s) || !r5_members_superblock(ms, s, &sb))
			continue;
		if (sb.reserved_size < 2 * R5_PPL_BLOCK)
			continue; /* no room for a log (the superblock caps the size) */
		err = replay_slot(&r, s, array_uuid, ring);
	}
	if (!err && out->replayed > 0)
		err = r5_members_sync(ms);
	free(ring);
	free(r.pages);
	return err;
}
