/* array_io.c - image reads and writes: split a request into per-strip
 * segments, attach them to stripe_heads, wait for completion. Reads of a
 * healthy array that no stripe is working on bypass the cache (md's
 * chunk-aligned read); so do the whole rows of a write on a healthy array
 * (core/stripe/stripe_direct.c), unless a stripe under them is busy. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "array_internal.h"

/* Segments attached per round; bounds the stack used by a request. */
#define R5_SEG_BATCH 256

struct r5_piece {
	uint64_t sector; /* stripe number */
	uint32_t dev;    /* member */
};

/* Splits [pos, end) at the next strip boundary. */
static uint32_t
r5_next_piece(struct r5_array *a, uint64_t pos, uint64_t end, struct r5_piece *p,
	      uint32_t *in_strip)
{
	const uint32_t strip = r5_cache_strip_size(a->cache);
	struct r5_location loc;
	uint64_t len;

	r5_layout_map(&a->geo, pos, &loc);
	p->sector = loc.member_offset / strip;
	p->dev = loc.member;
	*in_strip = (uint32_t)(loc.member_offset % strip);
	len = strip - *in_strip;
	return (uint32_t)(end - pos < len ? end - pos : len);
}

/* Is the stripe row holding image byte pos only partly covered by the
 * request [req_start, req_end)? Its stripes would need pre-reads. */
static bool
r5_partial_row(struct r5_array *a, uint64_t pos, uint64_t req_start, uint64_t req_end)
{
	uint64_t row_bytes = r5_row_bytes(a);
	uint64_t row_start = pos / row_bytes * row_bytes;

	return req_start > row_start || req_end < row_start + row_bytes;
}

/* Attaches up to R5_SEG_BATCH segments of [*pos, end) and waits for them.
 * Writes in rows the request covers only in part are bounced (stripe.h)
 * and not waited for. */
static int
r5_cached_round(struct r5_array *a, uint8_t *buf, uint64_t start, uint64_t *pos, uint64_t end,
		bool write)
{
	struct r5_cache *c = a->cache;
	struct r5_seg segs[R5_SEG_BATCH], *attach[R5_SEG_BATCH];
	struct r5_piece pieces[R5_SEG_BATCH];
	struct r5_req req;
	uint32_t nseg = 0, nwait = 0;
	const uint64_t round_start = *pos;
	int err;

	while (*pos < end && nseg < R5_SEG_BATCH) {
		uint32_t off, len = r5_next_piece(a, *pos, end, &pieces[nseg], &off);
		struct r5_seg *seg = NULL;

		if (write && r5_partial_row(a, *pos, start, end))
			seg = r5_bounce_seg(c, buf + (*pos - start), len); /* acknowledged now */
		if (!seg) {
			seg = &segs[nseg];
			seg->buf = buf + (*pos - start);
			seg->req = &req;
			seg->bounce = NULL;
			nwait++;
		}
		seg->off = off;
		seg->len = len;
		attach[nseg] = seg;
		*pos += len;
		nseg++;
	}
	r5_req_init(&req, nwait);
	const uint64_t span_start = r5_member_span_start(a, round_start);
	const uint64_t span_end = r5_member_span_end(a, *pos);
	/* a write round waits while a recovery window there is rebuilt
	 * straight from the members (core/sync/sync_direct.c), and is seen
	 * by degraded reads rebuilding a chunk there (degraded_read.c) */
	unsigned ticket = 0;

	if (write) {
		ticket = r5_sync_write_begin(a->sync, span_start, span_end);
		r5_write_seq_begin(a, span_start, span_end);
	}
	r5_cache_plug(c);
	for (uint32_t i = 0; i < nseg; i++)
		r5_stripe_attach(c, pieces[i].sector, pieces[i].dev, attach[i], write);
	r5_cache_unplug(c);
	if (write) {
		r5_write_seq_end(a, span_start, span_end);
		r5_sync_write_end(a->sync, ticket);
	}
	err = r5_req_wait(&req);
	r5_req_destroy(&req);
	return err;
}

/* Whole rows [pos, end) of a write, straight to the members where the
 * stripe engine can (r5_cache_write_rows), R5_DIRECT_MAX_STRIPES stripes
 * at a time; a row it cannot take goes through the cache. The sync gate
 * and the degraded readers' row counts are held across each batch's
 * member writes, as a cached round holds them across its attach. */
static int
r5_whole_rows_write(struct r5_array *a, uint8_t *buf, uint64_t start, uint64_t *pos, uint64_t end)
{
	const uint64_t row_bytes = r5_row_bytes(a);
	const uint64_t batch_rows =
		R5_DIRECT_MAX_STRIPES / (a->geo.chunk_size / r5_cache_strip_size(a->cache));
	int err = 0;

	while (*pos < end && !err) {
		const uint64_t rows = (end - *pos) / row_bytes;
		const uint64_t n = rows < batch_rows ? rows : batch_rows;
		int r = 0;

		if (n > 0 && r5_members_nr_failed(a->members) == 0) {
			const uint64_t span_start = r5_member_span_start(a, *pos);
			const uint64_t span_end = r5_member_span_end(a, *pos + n * row_bytes);
			const unsigned ticket = r5_sync_write_begin(a->sync, span_start, span_end);

			r5_write_seq_begin(a, span_start, span_end);
			r = r5_cache_write_rows(a->cache, buf + (*pos - start), *pos / row_bytes,
						(uint32_t)n);
			r5_write_seq_end(a, span_start, span_end);
			r5_sync_write_end(a->sync, ticket);
		}
		if (r < 0)
			return r;
		if (r > 0) {
			*pos += (uint64_t)r * row_bytes;
			continue;
		}
		/* the cache's way: this row, or everything if no row fits a batch */
		const uint64_t to = n > 0 ? *pos + row_bytes : end;

		while (*pos < to && !err)
			err = r5_cached_round(a, buf, start, pos, to, true);
	}
	return err;
}

/* Reads len bytes of one chunk, at loc (where the image offset maps),
 * straight from its member if no stripe there has work or dirty pages;
 * on a degraded array, a chunk of the missing member is rebuilt from the
 * survivors (degraded_read.c). Returns 1 if it did, 0 if the cache must
 * serve it, or -errno. A write acknowledged before this read started is
 * either still in a busy stripe or already on the member. */
static int
r5_bypass_read(struct r5_array *a, uint8_t *buf, const struct r5_location *loc, uint64_t len)
{
	const bool degraded = r5_members_nr_failed(a->members) > 0;

	if (degraded && !r5_members_ok(a->members, loc->member))
		return r5_degraded_read(a, buf, loc, len);
	if (r5_stripes_busy(a->cache, loc->member_offset, len))
		return 0;
	int err = r5_members_read(a->members, loc->member, buf, len, loc->member_offset);
	/* A block that does not verify goes the cache's way, which rebuilds
	 * and heals it (or finds it was being rewritten while read here). */
	if (err == -EBADMSG)
		return 0;
	if (err < 0 && degraded)
		return 0; /* the cache decides what a second failure means */
	if (err < 0) {
		/* let the cache path deal with it (it will use parity) */
		r5_members_fail(a->members, loc->member, "read error at member offset %llu: %s",
				   (unsigned long long)loc->member_offset, strerror(-err));
		return 0;
	}
	atomic_fetch_add(&a->io.bypass_reads, 1);
	return 1;
}

uint64_t
r5_array_size(const struct r5_array *a)
{
	return r5_geometry_image_size(&a->geo);
}

ssize_t
r5_array_read(struct r5_array *a, void *buf, size_t len, uint64_t off)
{
	uint64_t size = r5_array_size(a), pos, end;
	uint8_t *p = buf;
	int err = 0;

	if (!a->started)
		return -EIO;
	if (off >= size || len == 0)
		return 0;
	if (len > size - off)
		len = (size_t)(size - off);
	end = off + len;
	atomic_fetch_add(&a->io.reads, 1);
	r5_sync_note_user_io(a->sync);
	r5_readahead(a, off, end);
	pos = off;
	while (pos < end && !err) {
		/* one chunk at a time: contiguous on one member */
		uint64_t chunk_end = (pos / a->geo.chunk_size + 1) * a->geo.chunk_size;
		uint64_t piece_end = chunk_end < end ? chunk_end : end;
		struct r5_location loc;

		/* a unit the in-use map calls unused is zeros on every member
		 * (usemap.h): nothing to read, whoever is missing */
		r5_layout_map(&a->geo, pos, &loc);
		if (!r5_usemap_in_use(a->usemap, loc.member_offset)) {
			memset(p + (pos - off), 0, piece_end - pos);
			pos = piece_end;
			continue;
		}
		int r = r5_bypass_read(a, p + (pos - off), &loc, piece_end - pos);

		if (r < 0) {
			err = r;
		} else if (r == 1) {
			pos = piece_end;
		} else {
			while (pos < piece_end && !err)
				err = r5_cached_round(a, p, off, &pos, piece_end, false);
		}
	}
	if (err) {
		atomic_fetch_add(&a->io.errors, 1);
		return err;
	}
	atomic_fetch_add(&a->io.read_bytes, len);
	return (ssize_t)len;
}

/* An image write. count_in: it counts in the in-use map as a write into
 * its units (every write but a discard's zeros over whole units, which
 * must not stop those units from being released: discard.c). */
ssize_t
r5_image_write(struct r5_array *a, const void *buf, size_t len, uint64_t off, bool count_in)
{
	uint64_t size = r5_array_size(a), pos;
	int err;

	if (!a->started)
		return -EIO;
	if (len == 0)
		return 0;
	/* The image is a fixed-size, device-like file (array.h): nothing is
	 * stored at or past the end, and a write that crosses it stores the
	 * part before it, as a write to a block device does. */
	if (off >= size)
		return -ENOSPC;
	if (len > size - off)
		len = (size_t)(size - off);
	if (r5_members_failed(a->members))
		return -EIO;
	r5_sync_note_user_io(a->sync);
	err = r5_safe_mode_write_begin(a);
	if (!err)
		err = r5_bitmap_mark(a->bitmap, r5_member_span_start(a, off),
				     r5_member_span_end(a, off + len));
	if (!err && count_in)
		err = r5_usemap_mark(a->usemap, r5_member_span_start(a, off),
				     r5_member_span_end(a, off + len));
	if (!err) {
		atomic_fetch_add(&a->io.writes, 1);
		/* the engine only reads from buf on a write */
		uint8_t *src = (uint8_t *)(uintptr_t)buf;
		const uint64_t row_bytes = r5_row_bytes(a);
		const uint64_t rows_start = (off + row_bytes - 1) / row_bytes * row_bytes;
		const uint64_t rows_end = (off + len) / row_bytes * row_bytes;
		const bool whole_rows = rows_start < rows_end;

		/* The partial first and last rows go to the cache first: a
		 * stream's neighbouring requests complete them there while
		 * they wait on the delayed list, which they would not if they
		 * came after this request's whole rows (a partial row written
		 * back costs pre-reads and a record of the log). Then the
		 * whole rows. */
		pos = off;
		if (whole_rows) {
			while (pos < rows_start && !err)
				err = r5_cached_round(a, src, off, &pos, rows_start, true);
			pos = rows_end;
		}
		while (pos < off + len && !err)
			err = r5_cached_round(a, src, off, &pos, off + len, true);
		if (whole_rows && !err) {
			pos = rows_start;
			err = r5_whole_rows_write(a, src, off, &pos, rows_end);
		}
	}
	r5_safe_mode_write_end(a);
	if (err) {
		atomic_fetch_add(&a->io.errors, 1);
		return err;
	}
	atomic_fetch_add(&a->io.write_bytes, len);
	return (ssize_t)len;
}

ssize_t
r5_array_write(struct r5_array *a, const void *buf, size_t len, uint64_t off)
{
	return r5_image_write(a, buf, len, off, true);
}
