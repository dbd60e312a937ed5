/* test_ppl.c - the partial parity log's block format and its replay after
 * a crash (core/log/ppl_recover.c), on logs written by hand.
 *
 * The replay tests build the state a crash leaves: an array with known,
 * durable data; then one data block of a row changed on its member and the
 * row's parity NOT updated (the write hole), and the superblocks marked
 * active after a run with the log. Assembled without another member of
 * that row, that member's block is computed from parity: right only if the
 * log's record was replayed. The same state without a usable record shows
 * the wrong block, so the tests can fail. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "r5_test_array.h"
#include "raid5fs/checksum.h"
#include "raid5fs/ppl.h"
#include "raid5fs/superblock.h"

#define KB 1024u
#define MB (1024ull * 1024)
#define N 4
#define CHUNK (16 * KB)
#define STRIP 4096u

/* ---- the block format ---- */

Test(ppl_format, header_and_group_round_trip)
{
	uint8_t block[R5_PPL_BLOCK];
	struct r5_ppl_header h = { .log_id = { 0x1122334455667788ull, 42 }, .strip_size = 16384 }, h2;
	struct r5_ppl_group g = { .log_id = 7, .seq = 99, .strip_size = 4096, .nr_entries = 3,
				  .nr_pages = 2 }, g2;

	memset(h.array_uuid, 0xab, 16);
	r5_ppl_header_encode(&h, block);
	cr_assert(r5_ppl_header_decode(block, &h2));
	cr_assert_eq(h2.log_id[0], h.log_id[0]);
	cr_assert_eq(h2.log_id[1], 42);
	cr_assert_eq(h2.strip_size, 16384);
	cr_assert_arr_eq(h2.array_uuid, h.array_uuid, 16);
	cr_assert(!r5_ppl_group_decode(block, &g2), "a header is not a group");

	memset(g.array_uuid, 0xcd, 16);
	g.entry[0] = (struct r5_ppl_entry_disk){ .stripe = 5, .changed = 1, .pp_crc = 0xdead };
	g.entry[1] = (struct r5_ppl_entry_disk){ .stripe = 9, .changed = 7, .flags = R5_PPL_FULL };
	g.entry[2] = (struct r5_ppl_entry_disk){ .stripe = (1ull << 40) + 3, .changed = 2,
						 .pp_crc = 0xbeef };
	r5_ppl_group_encode(&g, block);
	cr_assert(r5_ppl_group_decode(block, &g2));
	cr_assert_eq(g2.seq, 99);
	cr_assert_eq(g2.log_id, 7);
	cr_assert_eq(g2.nr_entries, 3);
	cr_assert_eq(g2.entry[2].stripe, (1ull << 40) + 3);
	cr_assert_eq(g2.entry[1].flags, R5_PPL_FULL);
	cr_assert_eq(g2.entry[0].pp_crc, 0xdead);
	cr_assert(!r5_ppl_header_decode(block, &h2), "a group is not a header");
}

Test(ppl_format, damaged_blocks_are_refused)
{
	uint8_t block[R5_PPL_BLOCK];
	struct r5_ppl_group g = { .seq = 1, .strip_size = 4096, .nr_entries = 1, .nr_pages = 1 },
			    g2;

	g.entry[0].stripe = 3;
	r5_ppl_group_encode(&g, block);
	cr_assert(r5_ppl_group_decode(block, &g2));
	block[100] ^= 1; /* any byte: the crc */
	cr_assert(!r5_ppl_group_decode(block, &g2));
	/* pages that do not match the entries, sealed with a right crc */
	g.nr_pages = 2;
	r5_ppl_group_encode(&g, block);
	cr_assert(!r5_ppl_group_decode(block, &g2));
	/* an unknown entry flag */
	g.nr_pages = 0;
	g.entry[0].flags = R5_PPL_FULL | 4;
	r5_ppl_group_encode(&g, block);
	cr_assert(!r5_ppl_group_decode(block, &g2));
	/* no entries */
	g.nr_entries = 0;
	g.entry[0].flags = 0;
	r5_ppl_group_encode(&g, block);
	cr_assert(!r5_ppl_group_decode(block, &g2));
}

/* ---- replay ---- */

struct crash_row {
	struct r5_test_array t;
	struct r5_geometry geo;
	struct r5_superblock sb;  /* slot 0's, for the offsets */
	uint64_t member_off;      /* the strip row's member offset */
	uint32_t pd;              /* its parity slot */
	uint32_t data[N - 1];     /* its data slots */
	uint8_t old[N][STRIP];    /* every slot's block before the "crash" */
	uint8_t newblk[STRIP];    /* what the torn write put on data[0] */
	uint8_t *image;           /* the image as written (fsynced) */
	uint64_t isize;
};

static void
pwrite_at(const char *path, const void *buf, size_t len, uint64_t off)
{
	int fd = open(path, O_WRONLY);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void
pread_at(const char *path, void *buf, size_t len, uint64_t off)
{
	int fd = open(path, O_RDONLY);

	cr_assert_geq(fd, 0, "%s", path);
	cr_assert_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void
load_sb_path(const char *path, struct r5_superblock *sb)
{
	struct r5_member m;

	cr_assert_eq(r5_member_open_file(&m, path, 0), 0);
	cr_assert_eq(r5_sb_load(&m, sb), R5_SB_OK);
	r5_member_close(&m);
}

/* A clean array full of seeded data, stopped; row `row`'s strip 0 chosen. */
static void
setup(struct crash_row *c, uint64_t row)
{
	uint64_t seed = r5t_seed();
	struct r5_location loc;

	memset(c, 0, sizeof(*c));
	r5t_create_csum(&c->t, N, CHUNK, R5_LAYOUT_LEFT_SYMMETRIC, 1 * MB, "none");
	r5t_start(&c->t, (1u << N) - 1, NULL);
	c->isize = r5_array_size(c->t.a);
	c->image = malloc(c->isize);
	for (uint64_t i = 0; i < c->isize; i++)
		c->image[i] = (uint8_t)r5t_rand(&seed);
	cr_assert_eq(r5_array_write(c->t.a, c->image, c->isize, 0), (ssize_t)c->isize);
	r5t_stop(&c->t);

	load_sb_path(c->t.path[0], &c->sb);
	r5_sb_geometry(&c->sb, &c->geo);
	r5_layout_map(&c->geo, row * (N - 1) * CHUNK, &loc);
	c->member_off = loc.member_offset;
	c->pd = loc.parity_member;
	for (uint32_t s = 0, k = 0; s < N; s++) {
		static const uint8_t zero[R5_PPL_BLOCK];

		/* the setup run's own logs: only the records a test writes count */
		pwrite_at(c->t.path[s], zero, sizeof(zero), c->sb.reserved_offset);
		if (s != c->pd)
			c->data[k++] = s;
		pread_at(c->t.path[s], c->old[s], STRIP, c->sb.data_offset + c->member_off);
	}
	for (uint32_t i = 0; i < STRIP; i++)
		c->newblk[i] = (uint8_t)r5t_rand(&seed);
}

/* The superblocks as after a crash of a run (with the log if logged). */
static void
mark_crashed(struct crash_row *c, bool logged)
{
	for (int s = 0; s < N; s++) {
		struct r5_superblock sb;
		struct r5_member m;

		cr_assert_eq(r5_member_open_file(&m, c->t.path[s], 0), 0);
		cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
		sb.state = R5_STATE_ACTIVE;
		sb.flags = (sb.flags & ~R5_SB_FLAG_PPL) | (logged ? R5_SB_FLAG_PPL : 0);
		cr_assert_eq(r5_sb_store(&m, &sb), 0);
		r5_member_close(&m);
	}
}

/* The torn write: data[0]'s new block is on its member, parity is old. */
static void
tear(struct crash_row *c)
{
	pwrite_at(c->t.path[c->data[0]], c->newblk, STRIP, c->sb.data_offset + c->member_off);
}

struct rec {
	uint32_t changed;
	bool full;
	const uint8_t *pp;  /* STRIP bytes unless full */
	bool bad_crc;
	uint64_t stripe;    /* 0: the crash row's */
};

/* Writes a log on the parity member: a header, then groups of records in
 * half 0 (one group per record, sequence numbers in order). */
static void
write_log(struct crash_row *c, const struct rec *recs, int nrec)
{
	uint8_t block[R5_PPL_BLOCK];
	struct r5_ppl_header h = { .log_id = { 1111, 2222 }, .strip_size = STRIP };
	uint64_t at = c->sb.reserved_offset + R5_PPL_BLOCK;

	memcpy(h.array_uuid, c->sb.array_uuid, 16);
	r5_ppl_header_encode(&h, block);
	pwrite_at(c->t.path[c->pd], block, sizeof(block), c->sb.reserved_offset);
	for (int i = 0; i < nrec; i++) {
		struct r5_ppl_group g = { .log_id = 1111, .seq = 10 + (uint64_t)i, .strip_size = STRIP,
					  .nr_entries = 1, .nr_pages = recs[i].full ? 0 : 1 };

		memcpy(g.array_uuid, c->sb.array_uuid, 16);
		g.entry[0].stripe = recs[i].stripe ? recs[i].stripe : c->member_off / STRIP;
		g.entry[0].changed = recs[i].changed;
		g.entry[0].flags = recs[i].full ? R5_PPL_FULL : 0;
		if (!recs[i].full)
			g.entry[0].pp_crc = r5_crc32c(0, recs[i].pp, STRIP) ^ (recs[i].bad_crc ? 1 : 0);
		r5_ppl_group_encode(&g, block);
		pwrite_at(c->t.path[c->pd], block, sizeof(block), at);
		at += R5_PPL_BLOCK;
		if (!recs[i].full) {
			pwrite_at(c->t.path[c->pd], recs[i].pp, STRIP, at);
			at += STRIP;
		}
	}
}

/* XOR of the old blocks of data slots in mask. */
static void
xor_old(const struct crash_row *c, uint32_t mask, uint8_t *out)
{
	memset(out, 0, STRIP);
	for (uint32_t s = 0; s < N; s++)
		if (mask & (1u << s))
			for (uint32_t i = 0; i < STRIP; i++)
				out[i] ^= c->old[s][i];
}

/* Assembles without slot `missing` (no --force; N: with every member) and
 * reads that slot's block of the row through the image; returns the
 * assembly's result. */
static int
read_missing(struct crash_row *c, uint32_t missing, uint8_t *got)
{
	const char *p[N];
	char err[256] = "";
	int k = 0, ret;
	uint64_t image_off;

	for (uint32_t s = 0; s < N; s++)
		if (s != missing)
			p[k++] = c->t.paths[s];
	ret = r5_array_assemble(p, k, NULL, &c->t.a, err, sizeof(err));
	if (ret < 0)
		return ret;
	cr_assert_eq(r5_array_start(c->t.a), 0);
	if (missing < N) {
		cr_assert_eq(r5_layout_unmap(&c->geo, missing, c->member_off, &image_off), 0);
		cr_assert_eq(r5_array_read(c->t.a, got, STRIP, image_off), STRIP);
	}
	return 0;
}

static void
teardown(struct crash_row *c)
{
	if (c->t.a)
		r5t_stop(&c->t);
	free(c->image);
	r5t_cleanup(&c->t);
}

Test(ppl_replay, a_record_makes_a_missing_unchanged_block_right)
{
	struct crash_row c;
	uint8_t pp[STRIP], got[STRIP];
	const uint32_t unchanged = (1u << N) - 1;

	setup(&c, 5);
	const uint32_t changed = 1u << c.data[0];
	xor_old(&c, unchanged & ~changed & ~(1u << c.pd), pp); /* D_u: data[1], data[2] */
	tear(&c);
	write_log(&c, &(struct rec){ .changed = changed, .pp = pp }, 1);
	mark_crashed(&c, true);
	cr_assert_eq(read_missing(&c, c.data[2], got), 0, "a logged run starts degraded");
	cr_assert_arr_eq(got, c.old[c.data[2]], STRIP, "the unchanged block came back wrong");
	cr_assert_eq(c.t.a->ppl_recovered.replayed, 1);
	teardown(&c);
}

/* The same state with the record's page torn: the record is ignored, and
 * the missing block is computed from stale parity (wrong): the check above
 * is one that can fail. */
Test(ppl_replay, a_torn_record_is_ignored)
{
	struct crash_row c;
	uint8_t pp[STRIP], got[STRIP];

	setup(&c, 6);
	const uint32_t changed = 1u << c.data[0];
	xor_old(&c, (1u << c.data[1]) | (1u << c.data[2]), pp);
	tear(&c);
	write_log(&c, &(struct rec){ .changed = changed, .pp = pp, .bad_crc = true }, 1);
	mark_crashed(&c, true);
	cr_assert_eq(read_missing(&c, c.data[2], got), 0);
	cr_assert_eq(c.t.a->ppl_recovered.replayed, 0);
	cr_assert(memcmp(got, c.old[c.data[2]], STRIP) != 0,
		  "stale parity happened to give the right block");
	teardown(&c);
}

/* Without the flag the same crash is the write hole: refused. */
Test(ppl_replay, a_run_without_the_log_needs_force)
{
	struct crash_row c;
	uint8_t got[STRIP];

	setup(&c, 7);
	tear(&c);
	mark_crashed(&c, false);
	cr_assert_eq(read_missing(&c, c.data[2], got), -EINVAL);
	teardown(&c);
}

/* The newest record of a row decides; an older, different one does not. */
Test(ppl_replay, the_newest_record_wins)
{
	struct crash_row c;
	uint8_t pp_old[STRIP], pp[STRIP], got[STRIP];

	setup(&c, 9);
	const uint32_t changed = 1u << c.data[0];
	memset(pp_old, 0x5a, sizeof(pp_old)); /* nonsense from an earlier update */
	xor_old(&c, (1u << c.data[1]) | (1u << c.data[2]), pp);
	tear(&c);
	write_log(&c, (struct rec[]){ { .changed = 1u << c.data[1], .pp = pp_old },
				      { .changed = changed, .pp = pp } }, 2);
	mark_crashed(&c, true);
	cr_assert_eq(read_missing(&c, c.data[1], got), 0);
	cr_assert_arr_eq(got, c.old[c.data[1]], STRIP);
	teardown(&c);
}

/* The member of the changed block is missing: the row is left as it is
 * (that block was being written) and counted. */
Test(ppl_replay, a_missing_changed_block_leaves_the_row)
{
	struct crash_row c;
	uint8_t pp[STRIP], got[STRIP];

	setup(&c, 11);
	xor_old(&c, (1u << c.data[1]) | (1u << c.data[2]), pp);
	tear(&c);
	write_log(&c, &(struct rec){ .changed = 1u << c.data[0], .pp = pp }, 1);
	mark_crashed(&c, true);
	cr_assert_eq(read_missing(&c, c.data[0], got), 0);
	cr_assert_eq(c.t.a->ppl_recovered.skipped, 1);
	cr_assert_eq(c.t.a->ppl_recovered.replayed, 0);
	/* parity untouched: the block reads as its old content */
	cr_assert_arr_eq(got, c.old[c.data[0]], STRIP);
	teardown(&c);
}

/* A full-row record: parity is the XOR of the data as found. */
Test(ppl_replay, a_full_record_sets_parity_from_the_data)
{
	struct crash_row c;
	uint8_t got[STRIP];

	setup(&c, 13);
	tear(&c);
	write_log(&c, &(struct rec){ .changed = ((1u << N) - 1) & ~(1u << c.pd), .full = true }, 1);
	mark_crashed(&c, true);
	/* all members: the replayed parity matches the torn data */
	cr_assert_eq(read_missing(&c, N, got), 0);
	cr_assert_eq(c.t.a->ppl_recovered.replayed, 1);
	uint8_t p[STRIP];
	pread_at(c.t.path[c.pd], p, STRIP, c.sb.data_offset + c.member_off);
	for (uint32_t i = 0; i < STRIP; i++)
		cr_assert_eq(p[i], c.newblk[i] ^ c.old[c.data[1]][i] ^ c.old[c.data[2]][i]);
	teardown(&c);
}

/* A record naming a row whose parity is on another member is not this
 * member's: ignored. */
Test(ppl_replay, a_record_of_another_members_row_is_ignored)
{
	struct crash_row c;
	uint8_t pp[STRIP], got[STRIP];

	setup(&c, 5);
	memset(pp, 0x77, sizeof(pp));
	/* the next strip row of the next chunk row has its parity elsewhere */
	write_log(&c, &(struct rec){ .changed = 1u << c.data[0], .pp = pp,
				     .stripe = (c.member_off + CHUNK) / STRIP }, 1);
	mark_crashed(&c, true);
	cr_assert_eq(read_missing(&c, c.data[2], got), 0);
	cr_assert_eq(c.t.a->ppl_recovered.records, 0);
	cr_assert_arr_eq(got, c.old[c.data[2]], STRIP);
	teardown(&c);
}
