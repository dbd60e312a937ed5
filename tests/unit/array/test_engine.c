/* test_engine.c - the engine end to end, without FUSE: seeded random
 * writes of every size and alignment against a shadow copy, over every
 * layout and several N and chunk sizes; the members are then decoded by
 * an independent model (written here from docs/architecture.md, "Address mapping", not from
 * layout.c), parity is checked row by row, and the array is read back
 * with each member missing in turn. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "r5_test_array.h"

#define KB 1024u
#define MB (1024ull * 1024)

/* Independent model of md's four layouts: the slot of data index d in row r. */
static uint32_t
model_parity(uint32_t layout, uint32_t n, uint64_t r)
{
	bool left = layout == R5_LAYOUT_LEFT_ASYMMETRIC || layout == R5_LAYOUT_LEFT_SYMMETRIC;

	return left ? (n - 1) - (uint32_t)(r % n) : (uint32_t)(r % n);
}

static uint32_t
model_data_slot(uint32_t layout, uint32_t n, uint64_t r, uint32_t d)
{
	uint32_t p = model_parity(layout, n, r);
	bool sym = layout == R5_LAYOUT_LEFT_SYMMETRIC || layout == R5_LAYOUT_RIGHT_SYMMETRIC;

	if (sym)
		return (p + 1 + d) % n;
	return d < p ? d : d + 1;
}

struct geo_case {
	int n;
	uint32_t chunk;
	uint32_t layout;
	uint32_t strip;
};

static void
run_case(const struct geo_case *gc)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 64, .strip_size = gc->strip };
	const uint64_t msize = 2 * MB;
	const uint64_t isize = (uint64_t)(gc->n - 1) * msize;
	uint8_t *shadow = calloc(1, isize), *buf = malloc(isize), *m[R5_MAX_MEMBERS];
	uint64_t seed = r5t_seed() ^ ((uint64_t)gc->n << 40 | gc->chunk | (uint64_t)gc->layout << 32);

	cr_log_info("case n=%d chunk=%u layout=%u strip=%u seed=%llu", gc->n, gc->chunk,
		    gc->layout, gc->strip, (unsigned long long)seed);
	r5t_create(&t, gc->n, gc->chunk, gc->layout, msize);
	r5t_start(&t, (1u << gc->n) - 1, &eo);
	cr_assert_eq(r5_array_size(t.a), isize);

	/* random writes: sub-page, unaligned, chunk-spanning, some large */
	for (int w = 0; w < 300; w++) {
		uint64_t r = r5t_rand(&seed);
		uint64_t len = (r & 3) == 0 ? r5t_rand(&seed) % (256 * KB) + 1
					    : r5t_rand(&seed) % (9 * KB) + 1;
		uint64_t off = r5t_rand(&seed) % (isize - len + 1);

		for (uint64_t i = 0; i < len; i++)
			buf[i] = (uint8_t)r5t_rand(&seed);
		cr_assert_eq(r5_array_write(t.a, buf, len, off), (ssize_t)len);
		memcpy(shadow + off, buf, len);
		if (w % 50 == 0) /* read back through the cache while dirty */
			cr_assert_eq(r5_array_read(t.a, buf, len, off), (ssize_t)len);
	}
	cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
	cr_assert(!memcmp(buf, shadow, isize), "read back differs before flush");
	cr_assert_eq(r5_array_flush(t.a), 0);
	r5t_stop(&t);

	/* independent decode of the members */
	for (int i = 0; i < gc->n; i++)
		m[i] = r5t_read_member(t.paths[i], r5t_data_offset(t.paths[i]), msize);
	uint64_t rows = msize / gc->chunk, c = 0;
	for (uint64_t r = 0; r < rows; r++)
		for (uint32_t d = 0; d < (uint32_t)gc->n - 1; d++, c++) {
			uint32_t slot = model_data_slot(gc->layout, (uint32_t)gc->n, r, d);

			cr_assert(!memcmp(m[slot] + r * gc->chunk, shadow + c * gc->chunk, gc->chunk),
				  "chunk %llu (row %llu, slot %u) differs", (unsigned long long)c,
				  (unsigned long long)r, slot);
		}
	for (uint64_t o = 0; o < msize; o++) {
		uint8_t x = 0;
		for (int i = 0; i < gc->n; i++)
			x ^= m[i][o];
		cr_assert_eq(x, 0, "parity mismatch at member offset %llu", (unsigned long long)o);
	}
	for (int i = 0; i < gc->n; i++)
		free(m[i]);

	/* degraded: every member missing in turn, every byte still readable;
	 * the first round also writes degraded and checks afterwards */
	for (int miss = 0; miss < gc->n; miss++) {
		r5t_start(&t, ((1u << gc->n) - 1) & ~(1u << miss), &eo);
		cr_assert_eq(r5_members_nr_failed(t.a->members), 1);
		memset(buf, 0, isize);
		cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
		cr_assert(!memcmp(buf, shadow, isize), "degraded read (slot %d missing) differs", miss);
		if (miss == 0) {
			for (int w = 0; w < 60; w++) {
				uint64_t len = r5t_rand(&seed) % (20 * KB) + 1;
				uint64_t off = r5t_rand(&seed) % (isize - len + 1);

				for (uint64_t i = 0; i < len; i++)
					buf[i] = (uint8_t)r5t_rand(&seed);
				cr_assert_eq(r5_array_write(t.a, buf, len, off), (ssize_t)len);
				memcpy(shadow + off, buf, len);
			}
			cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
			cr_assert(!memcmp(buf, shadow, isize), "degraded write read back differs");
			cr_assert_eq(r5_array_flush(t.a), 0);
		}
		r5t_stop(&t);
		if (miss == 0) {
			/* slot 0 missed the degraded writes: from now on it is stale,
			 * so check the survivors reconstruct slot 0's data */
			break;
		}
	}
	/* After degraded writes slot 0 is stale; assembling all members must
	 * not trust it: reads still equal the shadow. */
	r5t_start(&t, (1u << gc->n) - 1, &eo);
	cr_assert_eq(r5_members_nr_failed(t.a->members), 1, "stale member must not be trusted");
	cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
	cr_assert(!memcmp(buf, shadow, isize), "read with a stale member differs");
	r5t_stop(&t);

	free(shadow);
	free(buf);
	r5t_cleanup(&t);
}

ParameterizedTestParameters(engine, geometries)
{
	static struct geo_case cases[] = {
		{ 3, 4 * KB, R5_LAYOUT_LEFT_ASYMMETRIC, 4 * KB },
		{ 3, 64 * KB, R5_LAYOUT_LEFT_SYMMETRIC, 4 * KB },
		{ 4, 16 * KB, R5_LAYOUT_RIGHT_SYMMETRIC, 4 * KB },
		{ 4, 64 * KB, R5_LAYOUT_LEFT_SYMMETRIC, 16 * KB },
		{ 5, 32 * KB, R5_LAYOUT_RIGHT_ASYMMETRIC, 4 * KB },
		{ 6, 8 * KB, R5_LAYOUT_LEFT_ASYMMETRIC, 8 * KB },
		{ 7, 128 * KB, R5_LAYOUT_RIGHT_SYMMETRIC, 4 * KB },
		{ 8, 4 * KB, R5_LAYOUT_LEFT_SYMMETRIC, 4 * KB },
	};
	return cr_make_param_array(struct geo_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct geo_case *gc, engine, geometries, .timeout = 240)
{
	run_case(gc);
}

/* Adjacent stripes' member I/O is merged (r5_plug_flush, r5_io_gather): a
 * streamed write reaches the members in fewer calls than pages, and every
 * byte and every parity row is still right. */
Test(engine, sequential_writes_merge_member_io, .timeout = 120)
{
	struct r5_test_array t;
	struct r5_engine_opts eo = { .stripe_cache_size = 256 };
	const uint64_t msize = 8 * MB, isize = 3 * msize, req = 1 * MB;
	uint8_t *shadow = malloc(isize), *buf = malloc(isize), *m[4];
	uint64_t seed = r5t_seed(), calls = 0, bytes = 0;

	r5t_create(&t, 4, 64 * KB, R5_LAYOUT_LEFT_SYMMETRIC, msize);
	r5t_start(&t, 0xf, &eo);
	for (uint64_t i = 0; i < isize; i++)
		shadow[i] = (uint8_t)r5t_rand(&seed);
	for (uint64_t off = 0; off < isize; off += req)
		cr_assert_eq(r5_array_write(t.a, shadow + off, req, off), (ssize_t)req);
	cr_assert_eq(r5_array_flush(t.a), 0);
	for (int i = 0; i < 4; i++) {
		struct r5_slot_info si;

		r5_members_slot_info(t.a->members, (uint32_t)i, &si);
		calls += si.writes;
		bytes += si.write_bytes;
	}
	cr_log_info("member writes: %llu calls for %llu pages", (unsigned long long)calls,
		    (unsigned long long)(bytes / (4 * KB)));
	cr_assert_geq(bytes, 4 * msize, "every member page written");
	cr_assert_lt(calls * 2, bytes / (4 * KB), "member writes not merged: %llu calls for %llu pages",
		     (unsigned long long)calls, (unsigned long long)(bytes / (4 * KB)));
	cr_assert_eq(r5_array_read(t.a, buf, isize, 0), (ssize_t)isize);
	cr_assert(!memcmp(buf, shadow, isize), "read back differs");
	r5t_stop(&t);

	for (int i = 0; i < 4; i++)
		m[i] = r5t_read_member(t.paths[i], r5t_data_offset(t.paths[i]), msize);
	for (uint64_t o = 0; o < msize; o++)
		cr_assert_eq(m[0][o] ^ m[1][o] ^ m[2][o] ^ m[3][o], 0, "parity mismatch at %llu",
			     (unsigned long long)o);
	for (int i = 0; i < 4; i++)
		free(m[i]);
	free(shadow);
	free(buf);
	r5t_cleanup(&t);
}
