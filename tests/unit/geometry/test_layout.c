/* test_layout.c - the address mapping against a brute-force model of md's
 * four RAID-5 layouts, for every layout, N = 3..8 and several chunk sizes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "raid5fs/layout.h"

#define ROW_CYCLES 3 /* rows simulated = ROW_CYCLES * N: parity visits every member 3 times */

static const uint32_t layouts[] = {
	R5_LAYOUT_LEFT_ASYMMETRIC, R5_LAYOUT_RIGHT_ASYMMETRIC,
	R5_LAYOUT_LEFT_SYMMETRIC, R5_LAYOUT_RIGHT_SYMMETRIC,
};
static const uint32_t chunks[] = { 4096, 16384, 65536 };

/* The model: walk the rows one by one, moving the parity member one step
 * per row (left layouts start at the last member and step down, right
 * layouts start at member 0 and step up), and list explicitly which member
 * holds the row's 1st, 2nd, ... data chunk. Logical chunks are then dealt
 * out in order. Nothing here uses the implementation's formulas. */
struct model {
	uint32_t n;
	uint64_t rows;
	uint32_t *parity;  /* [row] */
	uint32_t *members; /* [row * (n-1) + d]: member of the d-th data chunk of the row */
};

static void
model_build(struct model *md, uint32_t layout, uint32_t n, uint64_t rows)
{
	bool left = layout == R5_LAYOUT_LEFT_ASYMMETRIC || layout == R5_LAYOUT_LEFT_SYMMETRIC;
	bool sym = layout == R5_LAYOUT_LEFT_SYMMETRIC || layout == R5_LAYOUT_RIGHT_SYMMETRIC;
	uint32_t p = left ? n - 1 : 0;

	md->n = n;
	md->rows = rows;
	md->parity = calloc(rows, sizeof(uint32_t));
	md->members = calloc(rows * (n - 1), sizeof(uint32_t));
	cr_assert_not_null(md->parity);
	cr_assert_not_null(md->members);
	for (uint64_t r = 0; r < rows; r++) {
		uint32_t *row = &md->members[r * (n - 1)];
		uint32_t k = 0;

		md->parity[r] = p;
		if (sym) {
			/* start right after the parity member, wrap around */
			uint32_t m = p;
			for (uint32_t i = 0; i < n - 1; i++) {
				m++;
				if (m == n)
					m = 0;
				row[k++] = m;
			}
		} else {
			/* left to right, skipping the parity member */
			for (uint32_t m = 0; m < n; m++)
				if (m != p)
					row[k++] = m;
		}
		cr_assert_eq(k, n - 1);
		/* next row's parity */
		if (left)
			p = p == 0 ? n - 1 : p - 1;
		else
			p = p == n - 1 ? 0 : p + 1;
	}
}

static void
model_free(struct model *md)
{
	free(md->parity);
	free(md->members);
}

static struct r5_geometry
geom(uint32_t layout, uint32_t n, uint32_t chunk, uint64_t rows)
{
	struct r5_geometry g = {
		.nr_members = n, .chunk_size = chunk, .layout = layout,
		.member_data_size = rows * chunk,
	};
	return g;
}

Test(layout, matches_model_every_geometry)
{
	for (size_t li = 0; li < 4; li++)
	for (uint32_t n = 3; n <= 8; n++)
	for (size_t ci = 0; ci < 3; ci++) {
		uint32_t layout = layouts[li], cs = chunks[ci];
		uint64_t rows = (uint64_t)ROW_CYCLES * n;
		struct r5_geometry g = geom(layout, n, cs, rows);
		struct model md;
		uint64_t c = 0;

		cr_assert_eq(r5_geometry_validate(&g, NULL, 0), 0);
		cr_assert_eq(r5_geometry_image_size(&g), (uint64_t)(n - 1) * rows * cs);
		model_build(&md, layout, n, rows);
		for (uint64_t r = 0; r < rows; r++) {
			cr_assert_eq(r5_layout_parity_member(&g, r), md.parity[r],
				     "layout %u N=%u row %lu", layout, n, (unsigned long)r);
			for (uint32_t d = 0; d < n - 1; d++, c++) {
				/* first, a middle and the last byte of the chunk */
				const uint64_t ins[3] = { 0, cs / 2 + 7, cs - 1 };

				for (int k = 0; k < 3; k++) {
					struct r5_location loc;

					r5_layout_map(&g, c * cs + ins[k], &loc);
					cr_assert_eq(loc.member, md.members[r * (n - 1) + d],
						     "layout %u N=%u chunk %u: chunk %lu on member %u, model says %u",
						     layout, n, cs, (unsigned long)c, loc.member,
						     md.members[r * (n - 1) + d]);
					cr_assert_eq(loc.row, r);
					cr_assert_eq(loc.parity_member, md.parity[r]);
					cr_assert_eq(loc.member_offset, r * cs + ins[k]);
				}
			}
		}
		cr_assert_eq(c * cs, r5_geometry_image_size(&g));
		model_free(&md);
	}
}

Test(layout, unmap_inverts_and_covers_every_location)
{
	for (size_t li = 0; li < 4; li++)
	for (uint32_t n = 3; n <= 8; n++)
	for (size_t ci = 0; ci < 3; ci++) {
		uint32_t layout = layouts[li], cs = chunks[ci];
		uint64_t rows = (uint64_t)ROW_CYCLES * n;
		struct r5_geometry g = geom(layout, n, cs, rows);
		uint64_t nchunks = rows * (n - 1);
		unsigned *seen = calloc(nchunks, sizeof(unsigned));

		cr_assert_not_null(seen);
		for (uint64_t r = 0; r < rows; r++) {
			unsigned parities = 0;

			for (uint32_t m = 0; m < n; m++) {
				uint64_t img = 0;
				int rc = r5_layout_unmap(&g, m, r * cs, &img);

				cr_assert(rc == 0 || rc == 1);
				if (rc == 1) {
					parities++;
					cr_assert_eq(m, r5_layout_parity_member(&g, r));
					/* every byte of a parity chunk is parity */
					cr_assert_eq(r5_layout_unmap(&g, m, r * cs + cs - 1, &img), 1);
					continue;
				}
				cr_assert_eq(img % cs, 0);
				cr_assert_lt(img / cs, nchunks);
				seen[img / cs]++;
				/* map back, at the chunk start and inside it */
				for (uint64_t in = 0; in < cs; in += cs / 4 + 3) {
					struct r5_location loc;
					uint64_t img2 = 0;

					cr_assert_eq(r5_layout_unmap(&g, m, r * cs + in, &img2), 0);
					cr_assert_eq(img2, img + in);
					r5_layout_map(&g, img2, &loc);
					cr_assert_eq(loc.member, m);
					cr_assert_eq(loc.member_offset, r * cs + in);
				}
			}
			cr_assert_eq(parities, 1, "layout %u N=%u row %lu has %u parity chunks",
				     layout, n, (unsigned long)r, parities);
		}
		for (uint64_t c = 0; c < nchunks; c++)
			cr_assert_eq(seen[c], 1, "layout %u N=%u: chunk %lu stored %u times",
				     layout, n, (unsigned long)c, seen[c]);
		free(seen);
	}
}

/* Per row: parity member, then the members of the row's data chunks in order. */
struct hand_row {
	uint32_t parity;
	uint32_t members[4];
};

static void
check_hand(uint32_t layout, uint32_t n, const struct hand_row *rows, int nrows)
{
	struct r5_geometry g = geom(layout, n, 4096, 16);
	uint64_t c = 0;

	for (int r = 0; r < nrows; r++) {
		cr_assert_eq(r5_layout_parity_member(&g, (uint64_t)r), rows[r].parity,
			     "layout %u row %d", layout, r);
		for (uint32_t d = 0; d < n - 1; d++, c++) {
			struct r5_location loc;

			r5_layout_map(&g, c * 4096, &loc);
			cr_assert_eq(loc.member, rows[r].members[d],
				     "layout %u: chunk %lu on member %u, expected %u", layout,
				     (unsigned long)c, loc.member, rows[r].members[d]);
		}
	}
}

Test(layout, md_examples_n4)
{
	/* left-symmetric, md's default:  row 0: D0 D1 D2 P ; row 1: D4 D5 P D3 ;
	 * row 2: D7 P D5.. etc. */
	const struct hand_row ls[] = {
		{ 3, { 0, 1, 2 } }, { 2, { 3, 0, 1 } }, { 1, { 2, 3, 0 } }, { 0, { 1, 2, 3 } },
		{ 3, { 0, 1, 2 } },
	};
	/* left-asymmetric: row 1: D3 D4 P D5 */
	const struct hand_row la[] = {
		{ 3, { 0, 1, 2 } }, { 2, { 0, 1, 3 } }, { 1, { 0, 2, 3 } }, { 0, { 1, 2, 3 } },
	};
	/* right-asymmetric: row 0: P D0 D1 D2 ; row 1: D3 P D4 D5 */
	const struct hand_row ra[] = {
		{ 0, { 1, 2, 3 } }, { 1, { 0, 2, 3 } }, { 2, { 0, 1, 3 } }, { 3, { 0, 1, 2 } },
	};
	/* right-symmetric: row 1: D5 P D3 D4 */
	const struct hand_row rs[] = {
		{ 0, { 1, 2, 3 } }, { 1, { 2, 3, 0 } }, { 2, { 3, 0, 1 } }, { 3, { 0, 1, 2 } },
	};

	check_hand(R5_LAYOUT_LEFT_SYMMETRIC, 4, ls, 5);
	check_hand(R5_LAYOUT_LEFT_ASYMMETRIC, 4, la, 4);
	check_hand(R5_LAYOUT_RIGHT_ASYMMETRIC, 4, ra, 4);
	check_hand(R5_LAYOUT_RIGHT_SYMMETRIC, 4, rs, 4);
}

Test(layout, md_example_left_symmetric_n5)
{
	/* the picture in md's raid5 documentation:
	 *   D0  D1  D2  D3  P
	 *   D5  D6  D7  P   D4
	 *   D10 D11 P   D8  D9 */
	const struct hand_row ls[] = {
		{ 4, { 0, 1, 2, 3 } }, { 3, { 4, 0, 1, 2 } }, { 2, { 3, 4, 0, 1 } },
	};
	check_hand(R5_LAYOUT_LEFT_SYMMETRIC, 5, ls, 3);
}

Test(layout, byte_offsets_inside_chunk)
{
	struct r5_geometry g = geom(R5_LAYOUT_LEFT_SYMMETRIC, 4, 65536, 100);
	struct r5_location loc;

	/* chunk 4 = row 1, data index 1 -> member (2+1+1)%4 = 0 */
	r5_layout_map(&g, 4 * 65536 + 12345, &loc);
	cr_assert_eq(loc.member, 0);
	cr_assert_eq(loc.parity_member, 2);
	cr_assert_eq(loc.row, 1);
	cr_assert_eq(loc.member_offset, 65536 + 12345);
	/* last byte of the image */
	r5_layout_map(&g, r5_geometry_image_size(&g) - 1, &loc);
	cr_assert_eq(loc.row, 99);
	cr_assert_eq(loc.member_offset, 100 * 65536 - 1);
	cr_assert_eq(loc.parity_member, 3 - 99 % 4);
}

Test(layout, large_offsets)
{
	/* 1 TiB members, N = 32: row numbers far beyond 32 bits */
	struct r5_geometry g = geom(R5_LAYOUT_RIGHT_SYMMETRIC, 32, 4096, (1ull << 40) / 4096);
	uint64_t img = r5_geometry_image_size(&g) - 4096 + 5, back = 0;
	struct r5_location loc;

	cr_assert_eq(r5_geometry_validate(&g, NULL, 0), 0);
	cr_assert_eq(r5_geometry_image_size(&g), 31ull << 40);
	r5_layout_map(&g, img, &loc);
	cr_assert_eq(loc.row, (1ull << 40) / 4096 - 1);
	cr_assert_eq(r5_layout_unmap(&g, loc.member, loc.member_offset, &back), 0);
	cr_assert_eq(back, img);
}

static void
expect_invalid(struct r5_geometry g, const char *needle)
{
	char why[128] = "";

	cr_assert_eq(r5_geometry_validate(&g, why, sizeof(why)), -EINVAL,
		     "expected -EINVAL for \"%s\"", needle);
	cr_assert(strstr(why, needle) != NULL, "reason \"%s\" lacks \"%s\"", why, needle);
}

Test(layout, geometry_validation)
{
	struct r5_geometry ok = geom(R5_LAYOUT_LEFT_SYMMETRIC, 4, 65536, 16);
	struct r5_geometry g;
	char why[128];

	cr_assert_eq(r5_geometry_validate(&ok, why, sizeof(why)), 0);
	g = ok; g.nr_members = 2;  expect_invalid(g, "member count 2");
	g = ok; g.nr_members = 33; expect_invalid(g, "member count 33");
	g = ok; g.nr_members = 0;  expect_invalid(g, "member count 0");
	g = ok; g.nr_members = 32; cr_assert_eq(r5_geometry_validate(&g, NULL, 0), 0);
	g = ok; g.nr_members = 3;  cr_assert_eq(r5_geometry_validate(&g, NULL, 0), 0);
	g = ok; g.chunk_size = 3000;
	expect_invalid(g, "chunk size 3000 is not a power of two between 4 KiB and 1 MiB");
	g = ok; g.chunk_size = 2048;    expect_invalid(g, "chunk size 2048");
	g = ok; g.chunk_size = 2u << 20; expect_invalid(g, "chunk size 2097152");
	g = ok; g.chunk_size = 0;       expect_invalid(g, "chunk size 0");
	g = ok; g.chunk_size = 4096;    g.member_data_size = 4096;
	cr_assert_eq(r5_geometry_validate(&g, NULL, 0), 0);
	g = ok; g.chunk_size = 1u << 20; g.member_data_size = 1u << 20;
	cr_assert_eq(r5_geometry_validate(&g, NULL, 0), 0);
	g = ok; g.layout = 4;           expect_invalid(g, "layout 4");
	g = ok; g.member_data_size = 0; expect_invalid(g, "size is zero");
	g = ok; g.member_data_size = 65536 * 3 + 4096;
	expect_invalid(g, "not a multiple of the chunk size 65536");
	g = ok; g.member_data_size = 1ull << 63; expect_invalid(g, "too large");
	/* why may be NULL */
	g = ok; g.layout = 9;
	cr_assert_eq(r5_geometry_validate(&g, NULL, 0), -EINVAL);
}

Test(layout, names)
{
	uint32_t l = 99;

	cr_assert_str_eq(r5_layout_name(R5_LAYOUT_LEFT_SYMMETRIC), "left-symmetric");
	cr_assert_str_eq(r5_layout_name(R5_LAYOUT_LEFT_ASYMMETRIC), "left-asymmetric");
	cr_assert_str_eq(r5_layout_name(R5_LAYOUT_RIGHT_SYMMETRIC), "right-symmetric");
	cr_assert_str_eq(r5_layout_name(R5_LAYOUT_RIGHT_ASYMMETRIC), "right-asymmetric");
	cr_assert_null(r5_layout_name(4));
	cr_assert_eq(R5_DEFAULT_LAYOUT, 2);

	cr_assert_eq(r5_layout_parse("left-symmetric", &l), 0);  cr_assert_eq(l, 2);
	cr_assert_eq(r5_layout_parse("left-asymmetric", &l), 0); cr_assert_eq(l, 0);
	cr_assert_eq(r5_layout_parse("right-asymmetric", &l), 0); cr_assert_eq(l, 1);
	cr_assert_eq(r5_layout_parse("right-symmetric", &l), 0); cr_assert_eq(l, 3);
	cr_assert_eq(r5_layout_parse("ls", &l), 0); cr_assert_eq(l, 2);
	cr_assert_eq(r5_layout_parse("la", &l), 0); cr_assert_eq(l, 0);
	cr_assert_eq(r5_layout_parse("ra", &l), 0); cr_assert_eq(l, 1);
	cr_assert_eq(r5_layout_parse("rs", &l), 0); cr_assert_eq(l, 3);
	l = 99;
	cr_assert_eq(r5_layout_parse("left", &l), -EINVAL);
	cr_assert_eq(r5_layout_parse("", &l), -EINVAL);
	cr_assert_eq(r5_layout_parse("left-symmetricx", &l), -EINVAL);
	cr_assert_eq(r5_layout_parse(NULL, &l), -EINVAL);
	cr_assert_eq(l, 99, "a failed parse must not change the output");
	for (uint32_t i = 0; i < 4; i++) {
		cr_assert_eq(r5_layout_parse(r5_layout_name(i), &l), 0);
		cr_assert_eq(l, i);
	}
}
