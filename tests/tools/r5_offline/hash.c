/* hash.c - SHA-256, HMAC-SHA-256 and CRC-32C for r5_offline (hash.h).
 * Written from the specifications, not from the engine: the engine uses
 * OpenSSL and isa-l, and this is the independent second opinion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

/* ---- SHA-256 (FIPS 180-4), straightforward ---- */
static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t
ror32(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static void
sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh;
	unsigned i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (i = 0; i < 64; i++) {
		uint32_t s1 = ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = hh + s1 + ch + sha_k[i] + w[i];
		uint32_t s0 = ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = s0 + maj;
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d;
	h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void
sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	uint8_t tail[128];
	size_t full = len / 64 * 64, rest = len - full, tlen;
	uint64_t bits = (uint64_t)len * 8;
	size_t i;

	for (i = 0; i < full; i += 64)
		sha256_block(h, data + i);
	memset(tail, 0, sizeof(tail));
	memcpy(tail, data + full, rest);
	tail[rest] = 0x80;
	tlen = rest + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	for (i = 0; i < tlen; i += 64)
		sha256_block(h, tail + i);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

/* ---- HMAC-SHA-256 (RFC 2104): H((K ^ opad) || H((K ^ ipad) || msg)) ---- */
void
hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen, uint8_t out[32])
{
	uint8_t k0[64], outer[64 + 32];
	uint8_t *inner = malloc(64 + mlen);
	size_t i;

	if (!inner) {
		fputs("r5_offline: out of memory\n", stderr);
		exit(2);
	}
	memset(k0, 0, sizeof(k0));
	if (klen > 64)
		sha256(key, klen, k0); /* a key longer than a block is hashed first */
	else
		memcpy(k0, key, klen);
	for (i = 0; i < 64; i++) {
		inner[i] = k0[i] ^ 0x36;
		outer[i] = k0[i] ^ 0x5c;
	}
	memcpy(inner + 64, msg, mlen);
	sha256(inner, 64 + mlen, outer + 64);
	sha256(outer, sizeof(outer), out);
	free(inner);
}

/* ---- CRC-32C (Castagnoli), bit by bit: reflected polynomial 0x82f63b78,
 * initial value and final XOR 0xffffffff ---- */
uint32_t
crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	size_t i;
	int bit;

	for (i = 0; i < len; i++) {
		crc ^= p[i];
		for (bit = 0; bit < 8; bit++)
			crc = (crc & 1) ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
	}
	return crc ^ 0xffffffffu;
}

/* SHA-256: FIPS 180-2 examples; CRC-32C: its check value; HMAC-SHA-256:
 * RFC 4231 test cases 1, 2 and 6 (6: a key longer than a block is hashed
 * first). */
const char *
hash_self_test(void)
{
	static const uint8_t abc_sum[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	static const uint8_t long_sum[32] = { /* "abcdbcde...nopq" (56 bytes, 2 blocks) */
		0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26, 0x93, 0x0c, 0x3e, 0x60, 0x39,
		0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff, 0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1,
	};
	static const uint8_t hmac_sums[3][32] = {
		{ 0xb0, 0x34, 0x4c, 0x61, 0xd8, 0xdb, 0x38, 0x53, 0x5c, 0xa8, 0xaf, 0xce, 0xaf, 0x0b, 0xf1, 0x2b,
		  0x88, 0x1d, 0xc2, 0x00, 0xc9, 0x83, 0x3d, 0xa7, 0x26, 0xe9, 0x37, 0x6c, 0x2e, 0x32, 0xcf, 0xf7 },
		{ 0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
		  0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43 },
		{ 0x60, 0xe4, 0x31, 0x59, 0x1e, 0xe0, 0xb6, 0x7f, 0x0d, 0x8a, 0x26, 0xaa, 0xcb, 0xf5, 0xb7, 0x7f,
		  0x8e, 0x0b, 0xc6, 0x21, 0x37, 0x28, 0xc5, 0x14, 0x05, 0x46, 0x04, 0x0f, 0x0e, 0xe3, 0x7f, 0x54 },
	};
	const char *hmac_msgs[3] = { "Hi There", "what do ya want for nothing?",
				     "Test Using Larger Than Block-Size Key - Hash Key First" };
	const char *lmsg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t sum[32], hkey[131];
	size_t hklen[3] = { 20, 4, 131 };
	int t;

	sha256((const uint8_t *)"abc", 3, sum);
	if (memcmp(sum, abc_sum, 32) != 0)
		return "sha256(\"abc\") wrong";
	sha256((const uint8_t *)lmsg, strlen(lmsg), sum);
	if (memcmp(sum, long_sum, 32) != 0)
		return "sha256(56 bytes) wrong";
	if (crc32c((const uint8_t *)"123456789", 9) != 0xe3069283u)
		return "crc32c(\"123456789\") is not 0xe3069283";
	for (t = 0; t < 3; t++) {
		if (t == 1)
			memcpy(hkey, "Jefe", 4);
		else
			memset(hkey, t == 0 ? 0x0b : 0xaa, sizeof(hkey));
		hmac_sha256(hkey, hklen[t], (const uint8_t *)hmac_msgs[t], strlen(hmac_msgs[t]), sum);
		if (memcmp(sum, hmac_sums[t], 32) != 0)
			return t == 0 ? "hmac-sha256 (RFC 4231 case 1) wrong" :
			       t == 1 ? "hmac-sha256 (RFC 4231 case 2) wrong" :
					"hmac-sha256 (RFC 4231 case 6, long key) wrong";
	}
	return NULL;
}
