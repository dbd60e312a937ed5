/* discard.c - zeroing a range of the image: what a loop device sends for
 * discards (fstrim, mkfs) and for zeroing.
 *
 * The zeros are written through the engine like any write, so parity,
 * checksums, the bitmap and the parity log stay right, and the members
 * store zero blocks as holes (member_set.c), which gives their space back.
 * With the in-use map (core/metadata/usemap.h):
 *   - a unit the map already calls unused holds zeros: nothing is written;
 *   - a unit whose every byte has been zeroed by discards since its write
 *     count was taken is released: its zeros are made durable (a flush)
 *     and the map marks it unused, unless a user write entered it since.
 *     From then on its rows read as zeros without touching the members,
 *     and recovery, resync and check skip them.
 * A discard's own zeros do not count as writes into the unit (they would
 * stop its release). Which parts of a unit have been zeroed is kept per
 * unit as a few byte ranges: a loop device cuts fstrim's free ranges into
 * requests that rarely match a unit. A unit's coverage
 * starts over when its write count moved (a user write came in), and the
 * R5_DISCARD_SLOTS units followed at once are reused oldest first (their
 * coverage lost: that unit just stays in use). */
#include <errno.h>
#include <string.h>

#include "array_internal.h"
#include "locks.h"

#define R5_DISCARD_BATCH 64u /* units released per flush */
#define R5_ZERO_STEP (1024u * 1024)

void
r5_discards_init(struct r5_discards *d)
{
	memset(d, 0, sizeof(*d));
	r5_mutex_init(&d->lock);
	for (unsigned i = 0; i < R5_DISCARD_SLOTS; i++)
		d->slot[i].unit = UINT64_MAX;
}

void
r5_discards_destroy(struct r5_discards *d)
{
	r5_mutex_destroy(&d->lock);
}

static int
write_zeros(struct r5_array *a, uint64_t start, uint64_t end, bool count_in)
{
	static const uint8_t zeros[R5_ZERO_STEP];

	while (start < end) {
		size_t n = end - start < sizeof(zeros) ? (size_t)(end - start) : sizeof(zeros);
		ssize_t r = r5_image_write(a, zeros, n, start, count_in);

		if (r < 0)
			return (int)r;
		if ((size_t)r != n)
			return -EIO;
		start += n;
	}
	return 0;
}

/* Image bytes per unit of the in-use map: its rows, whole. */
static uint64_t
unit_image_bytes(struct r5_array *a)
{
	return r5_usemap_unit_size(a->usemap) * (a->geo.nr_members - 1);
}

/* The image bytes of unit u: [*ustart, *uend) (the last one may be short). */
static void
unit_span(struct r5_array *a, uint64_t u, uint64_t *ustart, uint64_t *uend)
{
	const uint64_t unit_image = unit_image_bytes(a);
	const uint64_t size = r5_array_size(a);

	*ustart = u * unit_image;
	*uend = *ustart + unit_image < size ? *ustart + unit_image : size;
}

/* Adds [start, end) to e's ranges, merging what touches it. false when
 * it would need more ranges than there are. */
static bool
add_range(struct r5_discard_unit *e, uint64_t start, uint64_t end)
{
	uint64_t out[R5_DISCARD_RANGES + 1][2];
	uint32_t n = 0, i = 0;

	for (; i < e->n && e->range[i][1] < start; i++) { /* wholly before */
		out[n][0] = e->range[i][0];
		out[n++][1] = e->range[i][1];
	}
	for (; i < e->n && e->range[i][0] <= end; i++) { /* touching: merged */
		start = e->range[i][0] < start ? e->range[i][0] : start;
		end = e->range[i][1] > end ? e->range[i][1] : end;
	}
	out[n][0] = start;
	out[n++][1] = end;
	for (; i < e->n; i++) {
		if (n == R5_DISCARD_RANGES)
			return false;
		out[n][0] = e->range[i][0];
		out[n++][1] = e->range[i][1];
	}
	memcpy(e->range, out, sizeof(e->range));
	e->n = n;
	return true;
}

/* [start, end) of unit u has been zeroed (it had write count `writes`
 * before): records it; true (and *writes_out) when the whole unit now is.
 * Byte exact: a loop device over a file system with 1 KiB blocks sends
 * ranges that meet at odd offsets. */
static bool
cover(struct r5_array *a, uint64_t u, uint64_t writes, uint64_t start, uint64_t end,
      uint64_t *writes_out)
{
	struct r5_discards *d = &a->discards;
	struct r5_discard_unit *e = NULL, *oldest = &d->slot[0];
	uint64_t ustart, uend;
	bool whole;

	unit_span(a, u, &ustart, &uend);
	r5_mutex_lock(&d->lock);
	for (unsigned i = 0; i < R5_DISCARD_SLOTS && !e; i++) {
		if (d->slot[i].unit == u)
			e = &d->slot[i];
		else if (d->slot[i].last_used < oldest->last_used)
			oldest = &d->slot[i];
	}
	if (e && e->writes != writes)
		e->unit = UINT64_MAX; /* a user write came in: start over */
	if (!e || e->unit == UINT64_MAX) {
		e = e ? e : oldest;
		memset(e, 0, sizeof(*e));
		e->unit = u;
		e->writes = writes;
	}
	e->last_used = ++d->clock;
	if (!add_range(e, start, end))
		e->unit = UINT64_MAX; /* too scattered to follow: the unit stays in use */
	whole = e->unit == u && e->n == 1 && e->range[0][0] == ustart && e->range[0][1] == uend;
	if (whole) {
		*writes_out = e->writes;
		e->unit = UINT64_MAX;
	}
	r5_mutex_unlock(&d->lock);
	return whole;
}

/* The zeros of the batch's units are written: make them durable, then
 * release the units. */
static int
release_batch(struct r5_array *a, const uint64_t *unit, const uint64_t *writes, uint32_t n)
{
	int err;

	if (n == 0)
		return 0;
	err = r5_array_flush(a);
	for (uint32_t i = 0; i < n && err == 0; i++) {
		int r = r5_usemap_release(a->usemap, unit[i], writes[i]);

		if (r < 0)
			err = r;
		else
			atomic_fetch_add(&a->io.units_released, (unsigned)r);
	}
	return err;
}

int
r5_array_discard(struct r5_array *a, uint64_t off, uint64_t len)
{
	const uint64_t size = r5_array_size(a);
	uint64_t unit_idx[R5_DISCARD_BATCH], writes[R5_DISCARD_BATCH], pos, end;
	uint32_t n = 0;
	int err = 0;

	if (!a->started)
		return -EIO;
	if (off >= size || len == 0)
		return 0;
	end = len > size - off ? size : off + len;
	atomic_fetch_add(&a->io.discards, 1);
	if (!a->usemap)
		return write_zeros(a, off, end, true);
	for (pos = off; pos < end && err == 0;) {
		uint64_t u = pos / unit_image_bytes(a), ustart, uend, seg_end, count;

		unit_span(a, u, &ustart, &uend);
		seg_end = end < uend ? end : uend;
		if (!r5_usemap_in_use(a->usemap, u * r5_usemap_unit_size(a->usemap))) {
			pos = seg_end; /* zeros already (usemap.h) */
			continue;
		}
		/* the count before the zeros go in: a user write after it keeps
		 * the unit */
		count = r5_usemap_writes(a->usemap, u);
		err = write_zeros(a, pos, seg_end, false);
		if (err == 0 && cover(a, u, count, pos, seg_end, &writes[n])) {
			unit_idx[n] = u;
			if (++n == R5_DISCARD_BATCH) {
				err = release_batch(a, unit_idx, writes, n);
				n = 0;
			}
		}
		pos = seg_end;
	}
	if (err == 0)
		err = release_batch(a, unit_idx, writes, n);
	if (err < 0)
		atomic_fetch_add(&a->io.errors, 1);
	return err;
}
