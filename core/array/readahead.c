/* readahead.c - member readahead for image reads.
 *
 * An image read becomes reads of chunks on several members, issued one
 * after the other; the kernel's readahead sees each member file on its own
 * and cannot tell that the image is being streamed. So the engine says
 * what it will need with posix_fadvise(WILLNEED), which starts the member
 * reads in the background and returns:
 *   - a read of two chunks or more announces its own range on every member,
 *     so the members are read in parallel instead of chunk after chunk;
 *   - a read that starts near where the previous one ended is a stream: the
 *     next R5_RA_FACTOR reads' worth (at most R5_RA_MAX) is announced too,
 *     in steps of a quarter of that, as the kernel does for one file.
 * Parity chunks are left out while the array is healthy (a third more
 * page cache filled for nothing with 4 members).
 * One stream is tracked per array (the loop device in front of the image
 * sends one). Everything is a hint: a wrong guess costs page cache, never
 * data. */
#include "array_internal.h"

/* Reads in flight from a direct-io loop device: up to 8, out of order. */
#define R5_RA_FACTOR 8u
#define R5_RA_MAX (16ull << 20)

/* Tells every member the member ranges under image bytes [from, to) (whole
 * rows). A healthy array needs only the data chunks: each member's run of
 * data chunks between two of its parity chunks is one hint. A degraded one
 * reads parity too, so there the whole span is announced. */
static void
r5_announce(struct r5_array *a, uint64_t from, uint64_t to)
{
	const uint64_t chunk = a->geo.chunk_size;
	const uint64_t first = r5_member_span_start(a, from) / chunk;
	const uint64_t last = r5_member_span_end(a, to) / chunk; /* rows [first, last) */
	const bool healthy = r5_members_nr_failed(a->members) == 0;

	for (uint32_t s = 0; s < a->geo.nr_members; s++) {
		uint64_t run = first;

		if (!r5_members_present(a->members, s))
			continue;
		for (uint64_t row = first; row <= last; row++) {
			if (row < last && !(healthy && r5_layout_parity_member(&a->geo, row) == s))
				continue;
			if (row > run)
				r5_members_willneed(a->members, s, run * chunk, (row - run) * chunk);
			run = row + 1;
		}
	}
}

void
r5_readahead(struct r5_array *a, uint64_t off, uint64_t end)
{
	const uint64_t len = end - off, size = r5_geometry_image_size(&a->geo);
	const uint64_t window = len * R5_RA_FACTOR < R5_RA_MAX ? len * R5_RA_FACTOR : R5_RA_MAX;
	uint64_t prev = atomic_exchange(&a->ra.next, end);
	uint64_t target;
	/* near the end of the previous read: the requests of one stream
	 * arrive a few at a time and slightly out of order */
	bool stream = prev != 0 && off + window >= prev && off <= prev + window;

	if (!stream) {
		atomic_store(&a->ra.ahead, end);
		if (len >= 2ull * a->geo.chunk_size)
			r5_announce(a, off, end);
		return;
	}
	target = end + window < size ? end + window : size;
	unsigned long long seen = atomic_load(&a->ra.ahead); /* the atomic's own type */
	uint64_t ahead = seen < off ? off : seen; /* behind the stream: from here */

	if (target <= ahead || (ahead >= end && target < ahead + window / 4))
		return; /* announced recently enough */
	/* one thread announces each step */
	if (!atomic_compare_exchange_strong(&a->ra.ahead, &seen, target))
		return;
	r5_announce(a, ahead, target);
}
