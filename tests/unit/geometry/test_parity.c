/* test_parity.c - r5_parity_xor (isa-l) against r5_parity_xor_ref, as
 * isa-l's xor_gen_test does: every length class, source count and
 * alignment, seeded (R5_TEST_SEED overrides; the seed is printed on
 * failure). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "raid5fs/parity.h"

#define MAX_LEN (256u * 1024)
#define MAX_SRC 33
#define SLACK 128 /* room for misaligning pointers */

static uint64_t seed;
static uint64_t rng;

static uint64_t
next_rand(void)
{
	/* splitmix64 */
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void
fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)next_rand();
}

static void
seed_init(void)
{
	const char *env = getenv("R5_TEST_SEED");

	seed = env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ (uint64_t)clock();
	rng = seed;
}

static uint8_t *srcbuf[MAX_SRC + 1]; /* one extra for dst */
static uint8_t *refbuf;

static void
setup(void)
{
	seed_init();
	for (int i = 0; i <= MAX_SRC; i++) {
		srcbuf[i] = aligned_alloc(64, MAX_LEN + SLACK);
		cr_assert_not_null(srcbuf[i]);
		fill(srcbuf[i], MAX_LEN + SLACK);
	}
	refbuf = aligned_alloc(64, MAX_LEN + SLACK);
	cr_assert_not_null(refbuf);
}

static void
teardown(void)
{
	for (int i = 0; i <= MAX_SRC; i++)
		free(srcbuf[i]);
	free(refbuf);
}

/* Byte-by-byte oracle, independent of both implementations. */
static void
xor_bytes(int nsrc, size_t len, void *const *src, uint8_t *out)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t v = 0;

		for (int s = 0; s < nsrc; s++)
			v ^= ((const uint8_t *)src[s])[i];
		out[i] = v;
	}
}

/* Runs fast and ref on the same inputs (dst at offset dmis, sources at
 * offset smis each, or per-source random offsets when smis < 0) and
 * compares both with the oracle. */
static void
check_case(int nsrc, size_t len, int smis, int dmis)
{
	void *src[MAX_SRC];
	uint8_t *dst = srcbuf[MAX_SRC] + dmis;
	uint8_t *oracle = refbuf + dmis;

	for (int s = 0; s < nsrc; s++) {
		int off = smis >= 0 ? smis : (int)(next_rand() % 64);
		src[s] = srcbuf[s] + off;
	}
	xor_bytes(nsrc, len, src, oracle);

	memset(dst, 0xa5, len);
	r5_parity_xor(nsrc, len, src, dst);
	cr_assert(memcmp(dst, oracle, len) == 0,
		  "fast: nsrc=%d len=%zu smis=%d dmis=%d (R5_TEST_SEED=%llu)", nsrc, len, smis,
		  dmis, (unsigned long long)seed);

	memset(dst, 0x5a, len);
	r5_parity_xor_ref(nsrc, len, src, dst);
	cr_assert(memcmp(dst, oracle, len) == 0,
		  "ref: nsrc=%d len=%zu smis=%d dmis=%d (R5_TEST_SEED=%llu)", nsrc, len, smis,
		  dmis, (unsigned long long)seed);
}

TestSuite(parity, .init = setup, .fini = teardown);

Test(parity, known_answer)
{
	uint8_t a[64] __attribute__((aligned(64)));
	uint8_t b[64] __attribute__((aligned(64)));
	uint8_t c[64] __attribute__((aligned(64)));
	uint8_t d[64] __attribute__((aligned(64)));
	void *src[3] = { a, b, c };

	for (int i = 0; i < 64; i++) {
		a[i] = (uint8_t)i;
		b[i] = 0xf0;
		c[i] = (uint8_t)(0x55 + i * 3);
	}
	r5_parity_xor(3, 64, src, d);
	/* a few bytes by hand: i ^ 0xf0 ^ (0x55 + 3i) */
	cr_assert_eq(d[0], 0x00 ^ 0xf0 ^ 0x55);  /* 0xa5 */
	cr_assert_eq(d[0], 0xa5);
	cr_assert_eq(d[1], 0x01 ^ 0xf0 ^ 0x58);  /* 0xa9 */
	cr_assert_eq(d[1], 0xa9);
	cr_assert_eq(d[63], 0x3f ^ 0xf0 ^ 0x12); /* 0x55 + 189 = 0x112 -> 0x12; = 0xdd */
	cr_assert_eq(d[63], 0xdd);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(d[i], (uint8_t)(a[i] ^ b[i] ^ c[i]));
	memset(d, 0, sizeof(d));
	r5_parity_xor_ref(3, 64, src, d);
	cr_assert_eq(d[0], 0xa5);
	cr_assert_eq(d[63], 0xdd);
	/* x ^ x = 0 */
	src[1] = a;
	r5_parity_xor(2, 64, src, d);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(d[i], 0);
}

Test(parity, aligned_lengths_and_counts)
{
	static const size_t lens[] = { 64, 128, 192, 4096, 4160, 65536, 65536 + 64, MAX_LEN };

	for (int nsrc = 1; nsrc <= MAX_SRC; nsrc++)
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
			check_case(nsrc, lens[li], 0, 0);
}

Test(parity, odd_lengths)
{
	static const size_t lens[] = { 0, 1, 7, 8, 9, 31, 32, 33, 63, 65, 127, 4095, 4097 };

	for (int nsrc = 1; nsrc <= MAX_SRC; nsrc += (nsrc < 5 ? 1 : 7))
		for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
			check_case(nsrc, lens[li], 0, 0);
	for (int i = 0; i < 200; i++)
		check_case(1 + (int)(next_rand() % MAX_SRC), (size_t)(next_rand() % 20000), 0, 0);
}

Test(parity, misaligned)
{
	static const int mis[] = { 1, 3, 8, 16, 32, 63 };

	for (size_t mi = 0; mi < sizeof(mis) / sizeof(mis[0]); mi++) {
		for (int nsrc = 2; nsrc <= MAX_SRC; nsrc += 5) {
			check_case(nsrc, 4096, mis[mi], 0);     /* sources off */
			check_case(nsrc, 4096, 0, mis[mi]);     /* dst off */
			check_case(nsrc, 4096 + 13, mis[mi], mis[mi]);
		}
	}
	for (int i = 0; i < 100; i++)
		check_case(2 + (int)(next_rand() % (MAX_SRC - 1)), 64 * (1 + next_rand() % 64), -1,
			   (int)(next_rand() % 2) * 32);
}

/* dst == src[k] (P ^= D and friends), for every source index k. */
static void
check_alias(int nsrc, size_t len, int k, int mis, bool fast)
{
	void *src[MAX_SRC];
	uint8_t *oracle = refbuf;

	for (int s = 0; s < nsrc; s++)
		src[s] = srcbuf[s] + mis;
	fill(srcbuf[k] + mis, len);
	xor_bytes(nsrc, len, src, oracle);
	if (fast)
		r5_parity_xor(nsrc, len, src, src[k]);
	else
		r5_parity_xor_ref(nsrc, len, src, src[k]);
	cr_assert(memcmp(src[k], oracle, len) == 0,
		  "%s alias dst==src[%d]: nsrc=%d len=%zu mis=%d (R5_TEST_SEED=%llu)",
		  fast ? "fast" : "ref", k, nsrc, len, mis, (unsigned long long)seed);
}

Test(parity, alias_dst_is_a_source)
{
	static const size_t lens[] = { 64, 4096, 65536, MAX_LEN, 100 };

	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		for (int nsrc = 1; nsrc <= MAX_SRC; nsrc += (nsrc < 4 ? 1 : 9)) {
			for (int k = 0; k < nsrc; k++) {
				check_alias(nsrc, lens[li], k, 0, true);
				check_alias(nsrc, lens[li], k, 0, false);
			}
			check_alias(nsrc, lens[li], 0, 5, true); /* misaligned: reference path */
		}
	}
}

Test(parity, prexor_round_trip)
{
	/* P = D0^D1^D2; P ^= D1 (in place); P ^= D1' ; equals D0^D1'^D2 */
	size_t len = 65536;
	void *src3[3] = { srcbuf[0], srcbuf[1], srcbuf[2] };
	uint8_t *p = srcbuf[3];
	void *pd[2] = { p, srcbuf[1] };
	void *pn[2] = { p, srcbuf[4] };
	void *want[3] = { srcbuf[0], srcbuf[4], srcbuf[2] };

	r5_parity_xor(3, len, src3, p);
	r5_parity_xor(2, len, pd, p);
	r5_parity_xor(2, len, pn, p);
	xor_bytes(3, len, want, refbuf);
	cr_assert(memcmp(p, refbuf, len) == 0, "R5_TEST_SEED=%llu", (unsigned long long)seed);
}

Test(parity, max_sources)
{
	/* R5_PARITY_MAX_SOURCES sources, reusing the buffers */
	void *src[R5_PARITY_MAX_SOURCES];
	uint8_t *dst = srcbuf[MAX_SRC];

	for (int s = 0; s < R5_PARITY_MAX_SOURCES; s++)
		src[s] = srcbuf[s % MAX_SRC];
	xor_bytes(R5_PARITY_MAX_SOURCES, 8192, src, refbuf);
	r5_parity_xor(R5_PARITY_MAX_SOURCES, 8192, src, dst);
	cr_assert(memcmp(dst, refbuf, 8192) == 0);
	r5_parity_xor_ref(R5_PARITY_MAX_SOURCES, 8192, src, dst);
	cr_assert(memcmp(dst, refbuf, 8192) == 0);
}
