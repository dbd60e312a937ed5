/* layout.c - array geometry and the address mapping (docs/architecture.md).
 *
 * The four md RAID-5 layouts, with md's numbering (mdadm --layout). For a
 * logical chunk c, with D = N-1 data chunks per row:
 *
 *   row r        = c / D
 *   data index d = c mod D           (position of the chunk inside its row)
 *   parity p     = D - (r mod N)     left-*  (parity walks from the last member down)
 *                = r mod N           right-* (parity walks from the first member up)
 *   member       = d < p ? d : d+1   *-asymmetric (data fills the row left to right,
 *                                     skipping the parity member)
 *                = (p + 1 + d) mod N *-symmetric (data starts just after parity and
 *                                     wraps, so consecutive chunks hit every member)
 *
 * This is md's raid5_compute_sector() for ALGORITHM_LEFT_ASYMMETRIC (0),
 * RIGHT_ASYMMETRIC (1), LEFT_SYMMETRIC (2) and RIGHT_SYMMETRIC (3).
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "raid5fs/layout.h"

static void
why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static bool
is_symmetric(uint32_t layout)
{
	return layout == R5_LAYOUT_LEFT_SYMMETRIC || layout == R5_LAYOUT_RIGHT_SYMMETRIC;
}

static bool
is_left(uint32_t layout)
{
	return layout == R5_LAYOUT_LEFT_ASYMMETRIC || layout == R5_LAYOUT_LEFT_SYMMETRIC;
}

int
r5_geometry_validate(const struct r5_geometry *g, char *why, size_t whylen)
{
	if (g->nr_members < R5_MIN_MEMBERS || g->nr_members > R5_MAX_MEMBERS) {
		why_set(why, whylen, "member count %" PRIu32 " is out of range (%u..%u)",
			g->nr_members, R5_MIN_MEMBERS, R5_MAX_MEMBERS);
		return -EINVAL;
	}
	if (g->chunk_size < R5_MIN_CHUNK || g->chunk_size > R5_MAX_CHUNK ||
	    (g->chunk_size & (g->chunk_size - 1)) != 0) {
		why_set(why, whylen,
			"chunk size %" PRIu32 " is not a power of two between 4 KiB and 1 MiB",
			g->chunk_size);
		return -EINVAL;
	}
	if (g->layout > R5_LAYOUT_RIGHT_SYMMETRIC) {
		why_set(why, whylen, "unknown layout %" PRIu32 " (expected 0..3)", g->layout);
		return -EINVAL;
	}
	if (g->member_data_size == 0) {
		why_set(why, whylen, "member data size is zero");
		return -EINVAL;
	}
	if (g->member_data_size % g->chunk_size != 0) {
		why_set(why, whylen,
			"member data size %" PRIu64 " is not a multiple of the chunk size %" PRIu32,
			g->member_data_size, g->chunk_size);
		return -EINVAL;
	}
	/* Image offsets and member offsets (plus the metadata area in front of
	 * the data) must fit in off_t; 2^62 leaves ample room for both. */
	if (g->member_data_size > (UINT64_C(1) << 62) / (g->nr_members - 1)) {
		why_set(why, whylen, "member data size %" PRIu64 " is too large",
			g->member_data_size);
		return -EINVAL;
	}
	return 0;
}

uint64_t
r5_geometry_image_size(const struct r5_geometry *g)
{
	return (uint64_t)(g->nr_members - 1) * g->member_data_size;
}

uint32_t
r5_layout_parity_member(const struct r5_geometry *g, uint64_t row)
{
	uint32_t n = g->nr_members;
	uint32_t rmod = (uint32_t)(row % n);

	assert(n >= R5_MIN_MEMBERS && n <= R5_MAX_MEMBERS);
	if (is_left(g->layout))
		return (n - 1) - rmod;
	return rmod;
}

void
r5_layout_map(const struct r5_geometry *g, uint64_t image_offset, struct r5_location *loc)
{
	uint32_t n = g->nr_members;
	uint32_t data = n - 1;
	uint64_t chunk = image_offset / g->chunk_size;
	uint64_t in_chunk = image_offset % g->chunk_size;
	uint64_t row = chunk / data;
	uint32_t d = (uint32_t)(chunk % data);
	uint32_t p = r5_layout_parity_member(g, row);

	assert(image_offset < r5_geometry_image_size(g));
	loc->row = row;
	loc->parity_member = p;
	if (is_symmetric(g->layout))
		loc->member = (p + 1 + d) % n;
	else
		loc->member = d < p ? d : d + 1;
	loc->member_offset = row * g->chunk_size + in_chunk;
}

int
r5_layout_unmap(const struct r5_geometry *g, uint32_t member, uint64_t member_offset,
		uint64_t *image_offset)
{
	uint32_t n = g->nr_members;
	uint64_t row = member_offset / g->chunk_size;
	uint64_t in_chunk = member_offset % g->chunk_size;
	uint32_t p = r5_layout_parity_member(g, row);
	uint32_t d;

	assert(member < n);
	assert(member_offset < g->member_data_size);
	if (member == p)
		return 1;
	if (is_symmetric(g->layout))
		d = (member + n - p - 1) % n;
	else
		d = member < p ? member : member - 1;
	*image_offset = (row * (n - 1) + d) * g->chunk_size + in_chunk;
	return 0;
}

static const struct {
	const char *name;
	const char *short_name;
	uint32_t layout;
} layout_names[] = {
	{ "left-asymmetric", "la", R5_LAYOUT_LEFT_ASYMMETRIC },
	{ "right-asymmetric", "ra", R5_LAYOUT_RIGHT_ASYMMETRIC },
	{ "left-symmetric", "ls", R5_LAYOUT_LEFT_SYMMETRIC },
	{ "right-symmetric", "rs", R5_LAYOUT_RIGHT_SYMMETRIC },
};

const char *
r5_layout_name(uint32_t layout)
{
	for (size_t i = 0; i < sizeof(layout_names) / sizeof(layout_names[0]); i++)
		if (layout_names[i].layout == layout)
			return layout_names[i].name;
	return NULL;
}

int
r5_layout_parse(const char *name, uint32_t *layout)
{
	if (name == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(layout_names) / sizeof(layout_names[0]); i++) {
		if (strcasecmp(name, layout_names[i].name) == 0 ||
		    strcasecmp(name, layout_names[i].short_name) == 0) {
			*layout = layout_names[i].layout;
			return 0;
		}
	}
	return -EINVAL;
}
