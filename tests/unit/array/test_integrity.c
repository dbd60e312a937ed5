/* test_integrity.c - per-block checksums through the whole engine: bytes
 * changed in a member file behind the array's back are never returned;
 * they are rebuilt from the other members, written back (self heal) and
 * counted on the member that held them; when the rest of the row cannot
 * rebuild them, that range fails with EIO and nothing else does. And, so
 * that these tests can be trusted: without checksums the same damage
 * comes back as wrong data. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>

#include "r5_test_array.h"
#include "member_faulty.h"

#define KB 1024u
#define MB (1024ull * 1024)
#define CHUNK (64 * KB)
#define MSIZE (4 * MB)
#define N 4
#define ISIZE ((uint64_t)(N - 1) * MSIZE)

struct fixture {
	struct r5_test_array t;
	uint8_t *shadow; /* what the image holds */
};

static void
fill_random(uint8_t *buf, uint64_t len, uint64_t seed)
{
	for (uint64_t i = 0; i < len; i++)
		buf[i] = (uint8_t)r5t_rand(&seed);
}

/* An array of N members with seeded data written and flushed, stopped. */
static void
setup(struct fixture *f, const char *checksum)
{
	struct r5_create_opts co = { .chunk_size = CHUNK, .layout = R5_LAYOUT_LEFT_SYMMETRIC,
				     .member_size = MSIZE, .checksum = checksum };
	char err[256] = "";

	memset(f, 0, sizeof(*f));
	snprintf(f->t.dir, sizeof(f->t.dir), "/tmp/r5integ.XXXXXX");
	cr_assert_not_null(mkdtemp(f->t.dir));
	f->t.n = N;
	for (int i = 0; i < N; i++) {
		snprintf(f->t.path[i], sizeof(f->t.path[i]), "%s/m%d", f->t.dir, i);
		f->t.paths[i] = f->t.path[i];
	}
	cr_assert_eq(r5_array_create(f->t.paths, N, &co, err, sizeof(err)), 0, "%s", err);
	f->shadow = malloc(ISIZE);
	fill_random(f->shadow, ISIZE, r5t_seed());
	r5t_start(&f->t, (1u << N) - 1, NULL);
	cr_assert_eq(r5_array_write(f->t.a, f->shadow, ISIZE, 0), (ssize_t)ISIZE);
	cr_assert_eq(r5_array_flush(f->t.a), 0);
	r5t_stop(&f->t);
}

static void
teardown(struct fixture *f)
{
	r5t_cleanup(&f->t);
	free(f->shadow);
}

/* Flips one byte of a member's data area in the file, as dd would. */
static void
damage(struct fixture *f, uint32_t slot, uint64_t member_off)
{
	int fd = open(f->t.path[slot], O_RDWR);
	uint64_t at = r5t_data_offset(f->t.path[slot]) + member_off;
	uint8_t b;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &b, 1, (off_t)at), 1);
	b ^= 0x04;
	cr_assert_eq(pwrite(fd, &b, 1, (off_t)at), 1);
	close(fd);
}

static uint8_t
member_byte(struct fixture *f, uint32_t slot, uint64_t member_off)
{
	int fd = open(f->t.path[slot], O_RDONLY);
	uint8_t b = 0;

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, &b, 1, (off_t)(r5t_data_offset(f->t.path[slot]) + member_off)), 1);
	close(fd);
	return b;
}

/* The member holding image byte off, and where. */
static struct r5_location
where(struct fixture *f, uint64_t off)
{
	struct r5_location loc;

	r5_layout_map(&f->t.a->geo, off, &loc);
	return loc;
}

/* The parity member of the row holding member offset member_off. */
static uint32_t
parity_slot(struct fixture *f, uint64_t member_off)
{
	return r5_layout_parity_member(&f->t.a->geo, member_off / CHUNK);
}

static uint64_t
csum_errors(struct fixture *f, uint32_t slot)
{
	struct r5_slot_info info;

	r5_members_slot_info(f->t.a->members, slot, &info);
	return info.csum_errors;
}

static uint64_t
csum_healed(struct fixture *f, uint32_t slot)
{
	struct r5_slot_info info;

	r5_members_slot_info(f->t.a->members, slot, &info);
	return info.csum_healed;
}

/* Reads the whole image in pieces of `piece` bytes (odd sizes cross block
 * and chunk edges) and compares it with the shadow. */
static void
read_all_equal(struct fixture *f, uint64_t piece)
{
	uint8_t *buf = malloc(ISIZE);

	for (uint64_t off = 0; off < ISIZE; off += piece) {
		uint64_t len = ISIZE - off < piece ? ISIZE - off : piece;

		cr_assert_eq(r5_array_read(f->t.a, buf + off, len, off), (ssize_t)len,
			     "read at %llu", (unsigned long long)off);
	}
	for (uint64_t i = 0; i < ISIZE; i++)
		if (buf[i] != f->shadow[i])
			cr_assert_fail("image byte %llu differs", (unsigned long long)i);
	free(buf);
}

/* Reads the image 4 KiB at a time: the blocks at image offsets eio_a and
 * eio_b (UINT64_MAX: none) must fail with EIO, every other one must be the
 * shadow's. */
static void
read_blocks_eio_only_at(struct fixture *f, uint64_t eio_a, uint64_t eio_b)
{
	uint8_t buf[4 * KB];

	for (uint64_t off = 0; off < ISIZE; off += sizeof(buf)) {
		ssize_t r = r5_array_read(f->t.a, buf, sizeof(buf), off);

		if (off == eio_a || off == eio_b) {
			cr_assert_eq(r, -EIO, "at %llu: %zd", (unsigned long long)off, r);
		} else {
			cr_assert_eq(r, (ssize_t)sizeof(buf), "at %llu: %zd", (unsigned long long)off, r);
			cr_assert(!memcmp(buf, f->shadow + off, sizeof(buf)), "differs at %llu",
				  (unsigned long long)off);
		}
	}
}

/* Every row's blocks XOR to zero on the member files, and each data byte
 * is the shadow's. */
static void
members_consistent(struct fixture *f)
{
	uint8_t *m[N];
	struct r5_geometry g = { .nr_members = N, .chunk_size = CHUNK,
				 .layout = R5_LAYOUT_LEFT_SYMMETRIC, .member_data_size = MSIZE };

	for (int i = 0; i < N; i++)
		m[i] = r5t_read_member(f->t.path[i], r5t_data_offset(f->t.path[i]), MSIZE);
	for (uint64_t o = 0; o < MSIZE; o++) {
		uint8_t x = 0;

		for (int i = 0; i < N; i++)
			x ^= m[i][o];
		cr_assert_eq(x, 0, "parity mismatch at member offset %llu", (unsigned long long)o);
	}
	for (uint64_t off = 0; off < ISIZE; off += 4 * KB) {
		struct r5_location loc;

		r5_layout_map(&g, off, &loc);
		cr_assert(!memcmp(m[loc.member] + loc.member_offset, f->shadow + off, 4 * KB),
			  "member %u differs at %llu", loc.member, (unsigned long long)loc.member_offset);
	}
	for (int i = 0; i < N; i++)
		free(m[i]);
}

Test(integrity, damaged_bytes_are_never_returned_and_heal_from_the_others)
{
	struct fixture f;
	const uint64_t a_off = 5 * CHUNK + 100, b_off = 16 * CHUNK + 4000; /* rows 1 and 5 */

	setup(&f, NULL);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	struct r5_location la = where(&f, a_off), lb = where(&f, b_off);
	r5t_stop(&f.t);
	cr_assert_neq(la.member, lb.member);
	const uint8_t good_a = member_byte(&f, la.member, la.member_offset);

	damage(&f, la.member, la.member_offset);
	damage(&f, lb.member, lb.member_offset);

	r5t_start(&f.t, (1u << N) - 1, NULL);
	read_all_equal(&f, 1000); /* through the bypass, unaligned */
	cr_assert_eq(r5_array_flush(f.t.a), 0); /* the heal writes are done */
	for (uint32_t s = 0; s < N; s++) {
		uint64_t want = s == la.member || s == lb.member;

		cr_assert_eq(csum_errors(&f, s), want, "member %u: %llu checksum errors", s,
			     (unsigned long long)csum_errors(&f, s));
		cr_assert_eq(csum_healed(&f, s), want, "member %u healed", s);
	}
	struct r5_bad_block bad[8];
	uint32_t got;
	cr_assert_eq(r5_members_bad_blocks(f.t.a->members, bad, 8, &got), 2);
	cr_assert_eq(got, 2);
	for (uint32_t i = 0; i < got; i++) {
		const struct r5_location *l = bad[i].slot == la.member ? &la : &lb;
		const uint64_t img = bad[i].slot == la.member ? a_off : b_off;

		cr_assert_eq(bad[i].member_offset, l->member_offset / 4096 * 4096);
		cr_assert_eq(bad[i].image_offset, img / 4096 * 4096);
		cr_assert(bad[i].healed);
	}
	r5t_stop(&f.t);
	/* the member files hold the right bytes again, and a new mount finds
	 * nothing wrong */
	cr_assert_eq(member_byte(&f, la.member, la.member_offset), good_a);
	members_consistent(&f);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	read_all_equal(&f, 256 * KB);
	for (uint32_t s = 0; s < N; s++)
		cr_assert_eq(csum_errors(&f, s), 0);
	r5t_stop(&f.t);
	teardown(&f);
}

/* The same damage without checksums comes back as wrong data: the test
 * above would fail without them. */
Test(integrity, without_checksums_the_damage_is_returned)
{
	struct fixture f;
	uint8_t got;

	setup(&f, "none");
	r5t_start(&f.t, (1u << N) - 1, NULL);
	struct r5_location l = where(&f, 12345);
	r5t_stop(&f.t);
	damage(&f, l.member, l.member_offset);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	cr_assert_eq(r5_array_read(f.t.a, &got, 1, 12345), 1);
	cr_assert_neq(got, f.shadow[12345], "the damaged byte was not returned");
	r5t_stop(&f.t);
	teardown(&f);
}

/* Two bad blocks in one row: each of them needs the other to be rebuilt,
 * so exactly their two 4 KiB ranges fail; everything else reads right. */
Test(integrity, two_bad_blocks_in_a_row_fail_only_their_range)
{
	struct fixture f;
	const uint64_t row_off = 9 * CHUNK + 8 * KB; /* member offset in row 9 */
	uint64_t bad_img[2];
	int nbad = 0;

	setup(&f, NULL);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	const uint32_t p = parity_slot(&f, row_off);
	r5t_stop(&f.t);
	for (uint32_t s = 0; s < N && nbad < 2; s++) {
		if (s == p)
			continue;
		damage(&f, s, row_off + 17);
		nbad++;
	}
	r5t_start(&f.t, (1u << N) - 1, NULL);
	nbad = 0;
	for (uint32_t s = 0; s < N && nbad < 2; s++)
		if (s != p)
			cr_assert_eq(r5_layout_unmap(&f.t.a->geo, s, row_off, &bad_img[nbad++]), 0);

	read_blocks_eio_only_at(&f, bad_img[0], bad_img[1]);
	cr_assert(!r5_members_failed(f.t.a->members));
	cr_assert_eq(r5_members_nr_failed(f.t.a->members), 0, "no member was failed");

	/* both are listed as still damaged, once each however often read */
	struct r5_bad_block un[8];
	uint32_t got;
	cr_assert_eq(r5_members_unhealed(f.t.a->members, un, 8, &got), 2);
	cr_assert_eq(got, 2);
	for (uint32_t i = 0; i < got; i++)
		cr_assert(un[i].image_offset == bad_img[0] || un[i].image_offset == bad_img[1]);
	r5t_stop(&f.t);
	teardown(&f);
}

/* Writes over a row with a damaged block: the write is stored (never
 * refused because of a sibling) and the damaged block is healed, for the
 * block a partial write pre-reads, for the parity a read-modify-write
 * pre-reads, and for a sibling a reconstruct-write pre-reads. */
Test(integrity, writes_over_a_damaged_row_are_stored_and_heal_it)
{
	struct fixture f;
	uint8_t data[48 * KB];

	setup(&f, NULL);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	/* row 2: a partial write into the damaged block itself */
	const uint64_t img1 = 2 * 3 * CHUNK + 4 * KB; /* first data chunk of row 2 */
	struct r5_location l1 = where(&f, img1);
	/* row 3: the parity is damaged, a small write elsewhere in the row */
	const uint64_t img2 = 3 * 3 * CHUNK;
	struct r5_location l2 = where(&f, img2);
	const uint32_t p2 = parity_slot(&f, l2.member_offset);
	/* row 4: most of the row is rewritten, the block left is damaged */
	const uint64_t img3 = 4 * 3 * CHUNK;
	struct r5_location l3 = where(&f, img3 + 2 * CHUNK);
	r5t_stop(&f.t);

	damage(&f, l1.member, l1.member_offset + 10);
	damage(&f, p2, l2.member_offset + 20);
	damage(&f, l3.member, l3.member_offset + 30);
	r5t_start(&f.t, (1u << N) - 1, NULL);

	fill_random(data, sizeof(data), 99);
	cr_assert_eq(r5_array_write(f.t.a, data, 100, img1 + 1000), 100);
	memcpy(f.shadow + img1 + 1000, data, 100);
	cr_assert_eq(r5_array_write(f.t.a, data, 512, img2 + 512), 512);
	memcpy(f.shadow + img2 + 512, data, 512);
	/* two whole chunks of row 4's three: the third is read for parity */
	for (uint64_t o = 0; o < 2 * CHUNK; o += sizeof(data) / 3) {
		cr_assert_eq(r5_array_write(f.t.a, data, sizeof(data) / 3, img3 + o),
			     (ssize_t)sizeof(data) / 3);
		memcpy(f.shadow + img3 + o, data, sizeof(data) / 3);
	}
	cr_assert_eq(r5_array_flush(f.t.a), 0);
	read_all_equal(&f, 128 * KB);
	cr_assert_eq(r5_array_flush(f.t.a), 0);
	cr_assert_eq(r5_members_nr_failed(f.t.a->members), 0);
	uint64_t errors = 0, healed = 0;
	for (uint32_t s = 0; s < N; s++) {
		errors += csum_errors(&f, s);
		healed += csum_healed(&f, s);
	}
	cr_assert_eq(errors, 3);
	cr_assert_eq(healed, 3);
	struct r5_bad_block un[4];
	uint32_t got;
	cr_assert_eq(r5_members_unhealed(f.t.a->members, un, 4, &got), 0, "nothing left damaged");
	r5t_stop(&f.t);
	members_consistent(&f);
	teardown(&f);
}

/* check counts the damaged blocks and changes nothing on the members;
 * repair rewrites them from the others. */
static void
run_sync(struct r5_array *a, int action)
{
	cr_assert_eq(r5_sync_start(a->sync, action, -1, 0), 0);
	for (int i = 0; i < 60000 && r5_sync_action(a->sync) != R5_SYNC_IDLE; i++)
		usleep(1000);
	cr_assert_eq(r5_sync_action(a->sync), R5_SYNC_IDLE, "sync did not finish");
}

Test(integrity, check_counts_and_repair_heals)
{
	struct fixture f;
	const uint64_t offs[3] = { 0, 7 * CHUNK + 5, 30 * CHUNK + 9000 };
	struct r5_location l[3];
	uint8_t good[3];
	struct r5_sync_status st;

	setup(&f, NULL);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	for (int i = 0; i < 3; i++)
		l[i] = where(&f, offs[i]);
	r5t_stop(&f.t);
	for (int i = 0; i < 3; i++) {
		good[i] = member_byte(&f, l[i].member, l[i].member_offset);
		damage(&f, l[i].member, l[i].member_offset);
	}

	r5t_start(&f.t, (1u << N) - 1, NULL);
	run_sync(f.t.a, R5_SYNC_CHECK);
	r5_sync_get_status(f.t.a->sync, &st);
	cr_assert_eq(st.last_result, 0);
	cr_assert_eq(st.mismatch_sectors, 0, "a rebuilt block is not a parity mismatch");
	uint64_t errors = 0;
	for (uint32_t s = 0; s < N; s++)
		errors += csum_errors(&f, s);
	cr_assert_eq(errors, 3);
	r5t_stop(&f.t);
	for (int i = 0; i < 3; i++)
		cr_assert_neq(member_byte(&f, l[i].member, l[i].member_offset), good[i],
			      "check wrote to a member");

	r5t_start(&f.t, (1u << N) - 1, NULL);
	run_sync(f.t.a, R5_SYNC_REPAIR);
	r5_sync_get_status(f.t.a->sync, &st);
	cr_assert_eq(st.last_result, 0);
	uint64_t healed = 0;
	for (uint32_t s = 0; s < N; s++)
		healed += csum_healed(&f, s);
	cr_assert_eq(healed, 3);
	r5t_stop(&f.t);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(member_byte(&f, l[i].member, l[i].member_offset), good[i]);
	members_consistent(&f);
	teardown(&f);
}

/* Degraded: a damaged block in a row whose other member is missing cannot
 * be rebuilt; that block and the missing member's block of the row fail,
 * nothing else does, and no member is failed for it. */
Test(integrity, degraded_row_with_a_damaged_block_fails_only_that_row_part)
{
	struct fixture f;
	const uint32_t missing = 3;
	const uint64_t moff = 6 * CHUNK + 12 * KB;

	setup(&f, NULL);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	uint32_t p = parity_slot(&f, moff), victim = 0;
	while (victim == p || victim == missing)
		victim++;
	uint64_t img_victim, img_missing = UINT64_MAX;
	cr_assert_eq(r5_layout_unmap(&f.t.a->geo, victim, moff, &img_victim), 0);
	if (p != missing)
		cr_assert_eq(r5_layout_unmap(&f.t.a->geo, missing, moff, &img_missing), 0);
	r5t_stop(&f.t);
	damage(&f, victim, moff + 1);

	r5t_start(&f.t, ((1u << N) - 1) & ~(1u << missing), NULL);
	read_blocks_eio_only_at(&f, img_victim, img_missing);
	cr_assert_eq(r5_members_nr_failed(f.t.a->members), 1, "only the missing member");
	/* counted on every read that met it, as ZFS counts */
	cr_assert_geq(csum_errors(&f, victim), 1);
	r5t_stop(&f.t);
	teardown(&f);
}

/* Silent corruption on the way from the member (the faulty backend flips
 * a byte of every read of one spot): every read path still returns the
 * written data, the heal cannot fix a spot that always reads wrong, and
 * the member is never failed for it. */
Test(integrity, a_member_that_returns_wrong_bytes_is_outvoted_on_every_read)
{
	struct fixture f;

	setup(&f, NULL);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	struct r5_location l = where(&f, 40 * KB);
	struct r5_fault_spec spec = {
		.corrupt_ops = R5_FAULT_READ, .seed = 1,
		.corrupt_at = r5t_data_offset(f.t.path[l.member]) + l.member_offset,
		.corrupt_span = 1,
	};
	cr_assert_eq(r5_member_wrap_faulty(r5_members_member(f.t.a->members, l.member), &spec), 0);
	for (int round = 0; round < 3; round++)
		read_all_equal(&f, round == 0 ? 4 * KB : 333 * KB);
	cr_assert_geq(r5_member_faulty_corrupted(r5_members_member(f.t.a->members, l.member)), 1);
	cr_assert_geq(csum_errors(&f, l.member), 1);
	cr_assert_eq(r5_members_nr_failed(f.t.a->members), 0);
	r5t_stop(&f.t);
	teardown(&f);
}

/* Copies a file (a member as a crash would leave it). */
static void
copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	static uint8_t buf[1 << 20];
	ssize_t n;
	off_t off = 0;

	cr_assert(in >= 0 && out >= 0);
	while ((n = pread(in, buf, sizeof(buf), off)) > 0) {
		cr_assert_eq(pwrite(out, buf, (size_t)n, off), n);
		off += n;
	}
	cr_assert_eq(n, 0);
	close(in);
	close(out);
}

/* After an unclean stop, a block whose data reached its member without
 * its table entry (or the other way round) is a write that was never
 * acknowledged as durable, not damage: inside the regions the write-intent
 * bitmap marks, the data wins and nothing is reported. Outside them every
 * mismatch is still damage (docs/integrity.md, "after a crash"). */
Test(integrity, after_an_unclean_stop_the_data_wins_in_dirty_regions_only)
{
	struct fixture f;
	struct r5_test_array crash;
	const uint64_t region = 1 * MB;
	uint8_t buf[4 * KB];

	setup(&f, NULL);
	/* 1 MiB bitmap regions, so that the array has clean ones to compare */
	for (int i = 0; i < N; i++) {
		struct r5_member m;
		struct r5_superblock sb;

		cr_assert_eq(r5_member_open_file(&m, f.t.path[i], 0), 0);
		cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
		sb.bitmap_region_size = region;
		cr_assert_eq(r5_sb_store(&m, &sb), 0);
		cr_assert_eq(r5_sb_store(&m, &sb), 0);
		r5_member_close(&m);
	}
	/* writes into region 0 only; then the members as they are while the
	 * array is active (never marked clean: a long safe-mode delay) */
	r5t_start(&f.t, (1u << N) - 1, NULL);
	f.t.a->safe.idle_ns = 3600ull * 1000000000ull;
	fill_random(buf, sizeof(buf), 7);
	cr_assert_eq(r5_array_write(f.t.a, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	memcpy(f.shadow, buf, sizeof(buf));
	cr_assert_eq(r5_array_flush(f.t.a), 0);
	memset(&crash, 0, sizeof(crash));
	snprintf(crash.dir, sizeof(crash.dir), "/tmp/r5crash.XXXXXX");
	cr_assert_not_null(mkdtemp(crash.dir));
	crash.n = N;
	for (int i = 0; i < N; i++) {
		snprintf(crash.path[i], sizeof(crash.path[i]), "%s/m%d", crash.dir, i);
		crash.paths[i] = crash.path[i];
		copy_file(f.t.path[i], crash.path[i]);
	}
	/* a block of region 0 (dirty) and one of region 2 (clean) */
	const uint64_t torn_img = 3 * CHUNK + 8 * KB, rot_img = 3 * (2 * MB / CHUNK) * CHUNK + 4 * KB;
	struct r5_location torn = where(&f, torn_img), rot = where(&f, rot_img);
	r5t_stop(&f.t);
	cr_assert_lt(torn.member_offset, region);
	cr_assert_geq(rot.member_offset, 2 * region);

	struct fixture c = { .t = crash, .shadow = f.shadow };
	damage(&c, torn.member, torn.member_offset + 3); /* new data, old entry */
	damage(&c, rot.member, rot.member_offset + 3);   /* damage */
	f.shadow[torn_img + 3] ^= 0x04; /* the same byte seen through the image */

	r5t_start(&c.t, (1u << N) - 1, NULL); /* dirty: resyncs region 0 */
	for (int i = 0; i < 60000 && r5_sync_action(c.t.a->sync) != R5_SYNC_IDLE; i++)
		usleep(1000);
	cr_assert_eq(r5_sync_action(c.t.a->sync), R5_SYNC_IDLE);
	read_all_equal(&c, 64 * KB);
	cr_assert_eq(csum_errors(&c, torn.member) + csum_errors(&c, rot.member), 1,
		     "only the block outside the dirty region is reported");
	cr_assert_eq(csum_errors(&c, rot.member), 1);
	struct r5_cache_info ci;
	r5_cache_get_info(c.t.a->cache, &ci);
	cr_assert_geq(ci.csum_refreshed, 1);
	run_sync(c.t.a, R5_SYNC_CHECK);
	struct r5_sync_status st;
	r5_sync_get_status(c.t.a->sync, &st);
	cr_assert_eq(st.mismatch_sectors, 0);
	cr_assert_eq(csum_errors(&c, torn.member) + csum_errors(&c, rot.member), 1);
	r5t_stop(&c.t);
	members_consistent(&c);
	r5t_cleanup(&c.t);
	teardown(&f);
}

/* A scrub reads what the members hold, not what the stripe cache
 * remembers: damage made after the row was read (and cached) is found. */
Test(integrity, check_reads_the_members_not_the_cache)
{
	struct fixture f;

	setup(&f, NULL);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	read_all_equal(&f, 64 * KB);
	cr_assert_eq(r5_array_write(f.t.a, f.shadow, 64 * KB, 0), (ssize_t)(64 * KB)); /* cache row 0 */
	cr_assert_eq(r5_array_flush(f.t.a), 0);
	struct r5_location l = where(&f, 100);
	damage(&f, l.member, l.member_offset);
	run_sync(f.t.a, R5_SYNC_CHECK);
	cr_assert_eq(csum_errors(&f, l.member), 1);
	run_sync(f.t.a, R5_SYNC_REPAIR);
	cr_assert_eq(csum_healed(&f, l.member), 1);
	r5t_stop(&f.t);
	members_consistent(&f);
	teardown(&f);
}

/* An array made before per-block checksums (superblock version 1) still
 * assembles and runs, without checksums, and stays version 1. */
Test(integrity, a_version_1_array_runs_without_checksums)
{
	struct fixture f;

	setup(&f, "none"); /* the version 1 layout: no table, data at 4 MiB */
	for (int i = 0; i < N; i++) {
		struct r5_member m;
		struct r5_superblock sb;

		cr_assert_eq(r5_member_open_file(&m, f.t.path[i], 0), 0);
		cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
		cr_assert_eq(sb.data_offset, R5_DATA_OFFSET);
		sb.version = 1; /* which had no in-use map either */
		sb.flags &= ~R5_SB_FLAG_USEMAP;
		sb.usemap_offset = sb.usemap_size = sb.usemap_unit = 0;
		cr_assert_eq(r5_sb_store(&m, &sb), 0);
		cr_assert_eq(r5_sb_store(&m, &sb), 0);
		r5_member_close(&m);
	}
	r5t_start(&f.t, (1u << N) - 1, NULL);
	cr_assert_eq(r5_members_csum_alg(f.t.a->members), R5_CSUM_NONE);
	read_all_equal(&f, 512 * KB);
	fill_random(f.shadow, 64 * KB, 5);
	cr_assert_eq(r5_array_write(f.t.a, f.shadow, 64 * KB, 0), (ssize_t)(64 * KB));
	r5t_stop(&f.t);
	members_consistent(&f);
	for (int i = 0; i < N; i++) {
		struct r5_member m;
		struct r5_superblock sb;

		cr_assert_eq(r5_member_open_file(&m, f.t.path[i], 0), 0);
		cr_assert_eq(r5_sb_load(&m, &sb), R5_SB_OK);
		cr_assert_eq(sb.version, 1, "member %d was rewritten as version %u", i, sb.version);
		r5_member_close(&m);
	}
	teardown(&f);
}

/* A recovery onto a new member that meets a damaged block on a survivor
 * cannot rebuild that row of the new member: it writes it so that it never
 * verifies, lists it, and goes on; the rebuild ends, every other byte is
 * right, and that row's two blocks read as EIO (never the zeros written). */
Test(integrity, recovery_goes_past_a_row_it_cannot_rebuild)
{
	struct fixture f;
	const uint32_t gone = 3;
	const uint64_t moff = 11 * CHUNK + 4 * KB;
	char err[256] = "";

	setup(&f, NULL);
	r5t_start(&f.t, (1u << N) - 1, NULL);
	uint32_t p = parity_slot(&f, moff), victim = 0;
	while (victim == p || victim == gone)
		victim++;
	uint64_t img_victim, img_gone = UINT64_MAX;
	cr_assert_eq(r5_layout_unmap(&f.t.a->geo, victim, moff, &img_victim), 0);
	if (p != gone)
		cr_assert_eq(r5_layout_unmap(&f.t.a->geo, gone, moff, &img_gone), 0);
	r5t_stop(&f.t);
	damage(&f, victim, moff + 5);
	unlink(f.t.path[gone]);

	r5t_start(&f.t, ((1u << N) - 1) & ~(1u << gone), NULL);
	cr_assert_eq(r5_array_replace(f.t.a, gone, f.t.path[gone], err, sizeof(err)), 0, "%s", err);
	for (int i = 0; i < 60000 && r5_sync_action(f.t.a->sync) != R5_SYNC_IDLE; i++)
		usleep(1000);
	struct r5_sync_status st;
	r5_sync_get_status(f.t.a->sync, &st);
	cr_assert_eq(st.last_action, R5_SYNC_RECOVER);
	cr_assert_eq(st.last_result, 0, "the rebuild stopped: %d", st.last_result);
	cr_assert_eq(r5_members_state(f.t.a->members, gone), R5_SLOT_IN_SYNC);
	struct r5_cache_info ci;
	r5_cache_get_info(f.t.a->cache, &ci);
	cr_assert_eq(ci.lost, 1);

	uint8_t buf[4 * KB];
	read_blocks_eio_only_at(&f, img_victim, img_gone);
	struct r5_bad_block un[8];
	uint32_t got;
	cr_assert_eq(r5_members_unhealed(f.t.a->members, un, 8, &got), 2);
	cr_assert_eq(r5_members_nr_failed(f.t.a->members), 0);
	r5t_stop(&f.t);

	/* still so after a remount: the entry written says "never verifies" */
	r5t_start(&f.t, (1u << N) - 1, NULL);
	cr_assert_eq(r5_array_read(f.t.a, buf, sizeof(buf), img_victim), -EIO);
	if (img_gone != UINT64_MAX)
		cr_assert_eq(r5_array_read(f.t.a, buf, sizeof(buf), img_gone), -EIO);
	r5t_stop(&f.t);
	teardown(&f);
}
