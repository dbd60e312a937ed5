/* assemble.c - r5_array_assemble: open the members named by the user,
 * check that they form one array, and decide which of them to trust
 * (trust.c). Nothing on disk changes here. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array_internal.h"
#include "raid5fs/checksum.h"
#include "raid5fs/util.h"

#define R5_DEFAULT_STRIPES 1024
#define R5_DEFAULT_STRIP (4u * 1024)
#define R5_DEFAULT_WORKERS 4
#define R5_MAX_WORKERS 64
/* Member I/O threads: a member read that misses the page cache blocks its
 * thread, so the number of threads that may block is the queue depth the
 * disk sees for pre-reads (4k random writes: 4 workers alone gave ~15K
 * IOPS, with 12 I/O threads more: see README, Benchmark). */
#define R5_DEFAULT_IO_WORKERS 12

struct r5_candidate {
	const char *path;
	struct r5_member member;
	struct r5_superblock sb;
	struct stat st;
	bool used;  /* moved into a slot */
	bool spare; /* a hot spare's file (role R5_SB_ROLE_SPARE) */
};

static int
r5_resolve_opts(const struct r5_engine_opts *in, const struct r5_geometry *g,
		struct r5_engine_opts *out, char *err, size_t errlen)
{
	*out = in ? *in : (struct r5_engine_opts){ 0 };
	if (!out->stripe_cache_size)
		out->stripe_cache_size = R5_DEFAULT_STRIPES;
	if (!out->strip_size)
		out->strip_size = R5_DEFAULT_STRIP < g->chunk_size ? R5_DEFAULT_STRIP : g->chunk_size;
	if (!out->nr_workers)
		out->nr_workers = R5_DEFAULT_WORKERS;
	if (!out->nr_io_workers)
		out->nr_io_workers = R5_DEFAULT_IO_WORKERS;
	if (out->stripe_cache_size < R5_MIN_STRIPES || out->stripe_cache_size > R5_MAX_STRIPES) {
		r5_errf(err, errlen, "stripe_cache_size %u is out of range (%u..%u)",
		       out->stripe_cache_size, R5_MIN_STRIPES, R5_MAX_STRIPES);
		return -EINVAL;
	}
	if (out->strip_size < R5_MIN_STRIP || out->strip_size > R5_MAX_STRIP ||
	    (out->strip_size & (out->strip_size - 1)) || out->strip_size > g->chunk_size) {
		r5_errf(err, errlen,
		       "strip_size %u must be a power of two from 4 KiB to 256 KiB and at most the chunk size (%u)",
		       out->strip_size, g->chunk_size);
		return -EINVAL;
	}
	if (out->consistency_policy == R5_CONSISTENCY_DEFAULT)
		out->consistency_policy = R5_CONSISTENCY_PPL;
	if (out->consistency_policy > R5_CONSISTENCY_BITMAP) {
		r5_errf(err, errlen, "unknown consistency policy %u", out->consistency_policy);
		return -EINVAL;
	}
	if (out->nr_workers > R5_MAX_WORKERS) {
		r5_errf(err, errlen, "workers %u is out of range (1..%u)", out->nr_workers,
		       R5_MAX_WORKERS);
		return -EINVAL;
	}
	if (out->nr_io_workers > R5_MAX_WORKERS) {
		r5_errf(err, errlen, "io_workers %u is out of range (1..%u)", out->nr_io_workers,
		       R5_MAX_WORKERS);
		return -EINVAL;
	}
	return 0;
}

static bool
r5_same_geometry(const struct r5_superblock *x, const struct r5_superblock *y)
{
	return x->nr_members == y->nr_members && x->chunk_size == y->chunk_size &&
	       x->layout == y->layout && x->data_offset == y->data_offset &&
	       x->data_size == y->data_size && x->csum_alg == y->csum_alg &&
	       x->csum_offset == y->csum_offset && x->csum_size == y->csum_size;
}

/* Opens every path and reads its superblock. */
static int
r5_load_candidates(const char *const *paths, int n, struct r5_candidate *cand, char *err,
		   size_t errlen)
{
	for (int i = 0; i < n; i++) {
		struct r5_candidate *c = &cand[i];
		enum r5_sb_status st;
		int ret;

		c->path = paths[i];
		ret = r5_member_open_file(&c->member, paths[i], 0);
		if (ret < 0) {
			r5_errf(err, errlen, "%s: cannot open: %s", paths[i], strerror(-ret));
			return ret;
		}
		if (stat(paths[i], &c->st) < 0) {
			ret = -errno;
			r5_errf(err, errlen, "%s: cannot stat: %s", paths[i], strerror(errno));
			return ret;
		}
		for (int j = 0; j < i; j++)
			if (cand[j].st.st_dev == c->st.st_dev && cand[j].st.st_ino == c->st.st_ino) {
				r5_errf(err, errlen, "%s: listed twice (same file as %s)", paths[i],
				       cand[j].path);
				return -EINVAL;
			}
		if (r5_member_lock(&c->member) == -EBUSY) {
			r5_errf(err, errlen, "%s: " R5_MEMBER_IN_USE, paths[i]);
			return -EBUSY;
		}
		st = r5_sb_load(&c->member, &c->sb);
		if (st != R5_SB_OK) {
			r5_errf(err, errlen, "%s: %s", paths[i], r5_sb_status_str(st));
			return st == R5_SB_IO_ERROR ? -EIO : -EINVAL;
		}
		if (c->st.st_mode & (S_IRGRP | S_IROTH))
			r5_log("warning: %s can be read by other users, and the array's data with it (chmod 600 it)",
			       paths[i]);
	}
	return 0;
}

/* The array uuid that most candidates carry (ties: the first seen). */
static const struct r5_candidate *
r5_majority(const struct r5_candidate *cand, int n)
{
	int best = 0, best_count = 0;

	for (int i = 0; i < n; i++) {
		int count = 0;

		for (int j = 0; j < n; j++)
			count += !memcmp(cand[i].sb.array_uuid, cand[j].sb.array_uuid, 16);
		if (count > best_count) {
			best = i;
			best_count = count;
		}
	}
	return &cand[best];
}

/* Checksums of the array being assembled (sb: the newest superblock):
 * the key an hmac-sha256 array needs, checked against its key check
 * value; a key given to any other array is refused, not ignored. */
static int
r5_assemble_checksums(struct r5_members *ms, const struct r5_superblock *sb,
		      const char *key_file, char *err, size_t errlen)
{
	struct r5_csum_key *key = NULL;
	uint8_t check[32];
	bool loose;
	int ret;

	if (sb->csum_alg != R5_CSUM_HMAC_SHA256) {
		if (key_file) {
			r5_errf(err, errlen, "--key-file given, but this array's checksums are %s, not keyed",
				r5_csum_alg_name(sb->csum_alg));
			return -EINVAL;
		}
		return r5_members_set_checksums(ms, sb->csum_alg, NULL);
	}
	if (!key_file) {
		r5_errf(err, errlen, "this array's checksums are hmac-sha256: give its key with --key-file");
		return -EINVAL;
	}
	key = malloc(sizeof(*key));
	if (!key)
		return -ENOMEM;
	ret = r5_csum_key_load(key_file, key, &loose, err, errlen);
	if (ret == 0 && (ret = r5_csum_key_check(key, sb->array_uuid, check)) == 0 &&
	    memcmp(check, sb->key_check, sizeof(check)) != 0) {
		r5_errf(err, errlen, "key file %s: not this array's key (key check failed)", key_file);
		ret = -EKEYREJECTED;
	}
	if (ret == 0) {
		if (loose)
			r5_log("warning: key file %s can be read by other users (chmod 600 it)",
			       key_file);
		ret = r5_members_set_checksums(ms, sb->csum_alg, key);
	}
	memset(key, 0, sizeof(*key));
	free(key);
	return ret;
}

int
r5_array_assemble(const char *const *paths, int n, const struct r5_engine_opts *opts,
		  struct r5_array **out, char *err, size_t errlen)
{
	struct r5_candidate *cand = NULL, *by_slot[R5_MAX_MEMBERS] = { NULL };
	const struct r5_candidate *ref;
	struct r5_array *a = NULL;
	uint64_t max_events = 0;
	char uuid[40], other[40];
	uint32_t nmembers, missing = 0, nspares = 0;
	int ret;

	if (n < 1 || n > R5_MAX_MEMBERS + R5_MAX_SPARES) {
		r5_errf(err, errlen, "%d member files given; an array has %d to %d and up to %d spares",
			n, R5_MIN_MEMBERS, R5_MAX_MEMBERS, R5_MAX_SPARES);
		return -EINVAL;
	}
	cand = calloc((size_t)n, sizeof(*cand));
	if (!cand)
		return -ENOMEM;
	ret = r5_load_candidates(paths, n, cand, err, errlen);
	if (ret < 0)
		goto out;

	/* One array, one geometry. */
	ref = r5_majority(cand, n);
	r5_uuid_format(ref->sb.array_uuid, uuid);
	nmembers = ref->sb.nr_members;
	for (int i = 0; i < n; i++) {
		struct r5_candidate *c = &cand[i];

		if (memcmp(c->sb.array_uuid, ref->sb.array_uuid, 16)) {
			r5_uuid_format(c->sb.array_uuid, other);
			r5_errf(err, errlen, "%s: member of another array (%s, the others are %s)",
			       c->path, other, uuid);
			ret = -EINVAL;
			goto out;
		}
		if (!r5_same_geometry(&c->sb, &ref->sb)) {
			r5_errf(err, errlen, "%s: geometry differs from %s (members, chunk, layout or size)",
			       c->path, ref->path);
			ret = -EINVAL;
			goto out;
		}
		if (c->sb.role == R5_SB_ROLE_SPARE) {
			/* a hot spare: in no slot; given to the array below */
			c->spare = true;
			nspares++;
			continue;
		}
		if (c->sb.role >= nmembers) {
			r5_errf(err, errlen, "%s: slot %u out of range", c->path, c->sb.role);
			ret = -EINVAL;
			goto out;
		}
		if (by_slot[c->sb.role]) {
			r5_errf(err, errlen, "%s: claims slot %u, which %s already holds", c->path,
			       c->sb.role, by_slot[c->sb.role]->path);
			ret = -EINVAL;
			goto out;
		}
		by_slot[c->sb.role] = c;
		int64_t size = r5_member_size(&c->member);
		if (size >= 0 && (uint64_t)size < c->sb.data_offset + c->sb.data_size) {
			r5_errf(err, errlen, "%s: too small (%lld bytes, the array needs %llu)",
			       c->path, (long long)size,
			       (unsigned long long)(c->sb.data_offset + c->sb.data_size));
			ret = -EINVAL;
			goto out;
		}
		if (c->sb.events > max_events)
			max_events = c->sb.events;
	}
	if ((uint32_t)n - nspares > nmembers) {
		r5_errf(err, errlen, "%u member files given, but the array has %u members",
			(uint32_t)n - nspares, nmembers);
		ret = -EINVAL;
		goto out;
	}

	/* Which members to trust (trust.c). */
	const struct r5_superblock *sbs[R5_MAX_MEMBERS] = { NULL };
	enum r5_trust trust[R5_MAX_MEMBERS];
	for (uint32_t s = 0; s < nmembers; s++)
		sbs[s] = by_slot[s] ? &by_slot[s]->sb : NULL;
	const struct r5_candidate *newest = by_slot[r5_assemble_trust(sbs, nmembers, trust)];
	char missing_desc[256] = "", rebuilding_desc[256] = "";
	size_t mlen = 0;
	uint32_t rebuilding = 0;
	for (uint32_t s = 0; s < nmembers; s++) {
		struct r5_candidate *c = by_slot[s];

		if (trust[s] == R5_TRUST_REBUILDING) {
			rebuilding++;
			snprintf(rebuilding_desc, sizeof(rebuilding_desc), "slot %u (%s: %s)", s,
				 c->path, r5_trust_name(trust[s]));
		}
		if (trust[s] == R5_TRUST_IN_SYNC || trust[s] == R5_TRUST_REBUILDING)
			continue;
		missing++;
		mlen += (size_t)snprintf(missing_desc + mlen, sizeof(missing_desc) - mlen,
					 "%sslot %u (%s%s%s)", mlen ? ", " : "", s,
					 c ? c->path : "", c ? ": " : "", r5_trust_name(trust[s]));
		if (mlen >= sizeof(missing_desc))
			mlen = sizeof(missing_desc) - 1;
		if (trust[s] == R5_TRUST_STALE)
			r5_log("warning: %s is stale (events %llu, newest %llu): not used", c->path,
			       (unsigned long long)c->sb.events, (unsigned long long)max_events);
		by_slot[s] = NULL;
	}
	if (missing + rebuilding > 1) {
		if (rebuilding)
			mlen += (size_t)snprintf(missing_desc + mlen, sizeof(missing_desc) - mlen,
						 "%sand a member still being rebuilt",
						 mlen ? " " : "");
		missing += rebuilding;
	}
	if (missing > 1) {
		r5_errf(err, errlen, "%u members missing, a RAID-5 survives only one: %s", missing,
		       missing_desc);
		ret = -EINVAL;
		goto out;
	}

	a = calloc(1, sizeof(*a));
	if (!a) {
		ret = -ENOMEM;
		goto out;
	}
	r5_spares_init(&a->spares);
	r5_discards_init(&a->discards);
	r5_sb_geometry(&newest->sb, &a->geo);
	ret = r5_resolve_opts(opts, &a->geo, &a->opts, err, errlen);
	if (ret < 0)
		goto out;
	/* A dirty, degraded start is safe when the run that crashed kept the
	 * partial parity log: it makes parity right before anything is read. */
	const bool logged = newest->sb.flags & R5_SB_FLAG_PPL;
	if (missing + rebuilding == 1 && newest->sb.state == R5_STATE_ACTIVE && !logged &&
	    !a->opts.force) {
		r5_errf(err, errlen,
		       "array was not stopped cleanly and is degraded (%s), and it ran without the "
		       "parity log (consistency_policy=bitmap): parity may not match the data "
		       "(the RAID-5 write hole); use --force to start it anyway",
		       missing_desc[0] ? missing_desc : rebuilding_desc);
		ret = -EINVAL;
		goto out;
	}
	memcpy(a->uuid, newest->sb.array_uuid, 16);
	memcpy(a->name, newest->sb.name, sizeof(a->name));
	const bool dirty = newest->sb.state == R5_STATE_ACTIVE;
	a->ppl_replay = dirty && logged;
	ret = r5_members_create(nmembers, newest->sb.data_offset, max_events, newest->sb.state,
				&a->members);
	if (ret < 0)
		goto out;
	ret = r5_assemble_checksums(a->members, &newest->sb, opts ? opts->key_file : NULL, err,
				    errlen);
	if (ret < 0) {
		r5_members_destroy(a->members);
		goto out;
	}
	/* mirrors the on-disk state: safe mode cleans a dirty start once the
	 * resync is done */
	r5_safe_mode_init(a, dirty);
	a->resume_target = -1;
	for (uint32_t s = 0; s < nmembers; s++) {
		if (by_slot[s]) {
			by_slot[s]->used = true;
			if (trust[s] == R5_TRUST_REBUILDING) {
				a->resume_from = by_slot[s]->sb.recovery_offset / a->opts.strip_size;
				a->resume_target = (int)s;
			}
			r5_members_attach(a->members, s, &by_slot[s]->member, &by_slot[s]->sb,
					  trust[s] == R5_TRUST_REBUILDING ? R5_SLOT_REBUILDING
									  : R5_SLOT_IN_SYNC);
		} else {
			const char *path = "";

			/* keep the path the user gave for this slot, if any */
			for (int i = 0; i < n; i++)
				if (cand[i].sb.role == s)
					path = cand[i].path;
			r5_members_set_missing(a->members, s, path, missing_desc);
		}
	}
	/* the spares given that the members still list; the others were
	 * removed since (or took a slot elsewhere) */
	r5_members_load_spares(a->members, &newest->sb);
	for (int i = 0; i < n; i++) {
		if (!cand[i].spare)
			continue;
		if (!r5_members_is_spare(a->members, cand[i].sb.member_uuid))
			r5_log("warning: %s: no longer a spare of this array: not used", cand[i].path);
		else if (r5_spares_adopt(a, cand[i].path, cand[i].sb.member_uuid) < 0)
			r5_log("warning: %s: cannot keep it as a spare: not used", cand[i].path);
	}
	ret = r5_members_open_checksums(a->members);
	if (ret < 0) {
		r5_errf(err, errlen, "cannot set up the checksum tables: %s", strerror(-ret));
		r5_array_stop(a); /* never started: closes and frees */
		a = NULL;
		goto out;
	}
	/* The write-intent bitmap of the first in-sync member: every member
	 * that takes writes gets each bitmap page (synced) before the data it
	 * covers, so any in-sync member's copy holds every dirty region. */
	for (uint32_t s = 0; s < nmembers; s++)
		if (by_slot[s] && r5_members_ok(a->members, s)) {
			ret = r5_bitmap_create(a->geo.member_data_size, &by_slot[s]->sb, dirty,
					       &by_slot[s]->member, r5_members_write_meta, a->members,
					       &a->bitmap);
			if (ret == 0) /* the in-use map: the same holds (usemap.h) */
				ret = r5_usemap_create(&by_slot[s]->sb, &by_slot[s]->member,
						       r5_members_write_meta, a->members, &a->usemap);
			if (ret < 0) {
				r5_errf(err, errlen, "%s: cannot set up the bitmap or the in-use map: %s",
				       by_slot[s]->path, strerror(-ret));
				r5_array_stop(a); /* never started: closes and frees */
				a = NULL;
				goto out;
			}
			break;
		}
	/* A dirty start resyncs every region its bitmap marks, from the start:
	 * writes made after a previous interrupted resync may have marked
	 * regions below its checkpoint. */
	if (missing)
		r5_log("warning: starting degraded: %s", missing_desc);
	if (dirty)
		r5_log("warning: array was not stopped cleanly; parity is suspect until resynced");
	*out = a;
	a = NULL;
	ret = 0;
out:
	for (int i = 0; i < n && cand; i++)
		if (!cand[i].used)
			r5_member_close(&cand[i].member);
	free(cand);
	free(a);
	return ret;
}
