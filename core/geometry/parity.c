/* parity.c - XOR parity: isa-l fast path and a portable reference.
 *
 * Aliasing: dst may be exactly one of the sources (same pointer, e.g. the
 * rmw "prexor" step P ^= D). Both paths read every source at a position
 * before writing dst at that position, so an exact alias is safe; a
 * partial overlap (dst = src[i] + k, k != 0) is not supported.
 * tests/unit/test_parity.c checks the alias case against xor_gen for every
 * source index.
 */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <isa-l/raid.h>

#include "raid5fs/parity.h"

/* xor_gen takes an int length: feed it pieces no larger than this (a
 * multiple of 64 so every piece stays on the fast path). */
#define XOR_GEN_MAX_PIECE (1u << 30)

void
r5_parity_xor_ref(int nsrc, size_t len, void *const *src, void *dst)
{
	uint8_t *d = dst;
	size_t i = 0;

	assert(nsrc >= 1 && nsrc <= R5_PARITY_MAX_SOURCES);
	if (nsrc == 1) {
		if (dst != src[0])
			memmove(dst, src[0], len);
		return;
	}
	/* Word at a time; memcpy keeps the loads legal at any alignment and
	 * compiles to plain moves. */
	for (; i + sizeof(uint64_t) <= len; i += sizeof(uint64_t)) {
		uint64_t acc, w;

		memcpy(&acc, (const uint8_t *)src[0] + i, sizeof(acc));
		for (int s = 1; s < nsrc; s++) {
			memcpy(&w, (const uint8_t *)src[s] + i, sizeof(w));
			acc ^= w;
		}
		memcpy(d + i, &acc, sizeof(acc));
	}
	for (; i < len; i++) {
		uint8_t acc = ((const uint8_t *)src[0])[i];

		for (int s = 1; s < nsrc; s++)
			acc ^= ((const uint8_t *)src[s])[i];
		d[i] = acc;
	}
}

static int
aligned64(const void *p)
{
	return ((uintptr_t)p & 63) == 0;
}

void
r5_parity_xor(int nsrc, size_t len, void *const *src, void *dst)
{
	void *vec[R5_PARITY_MAX_SOURCES + 1];
	size_t done = 0;

	assert(nsrc >= 1 && nsrc <= R5_PARITY_MAX_SOURCES);
	if (nsrc < 2 || len % 64 != 0 || !aligned64(dst))
		goto reference;
	for (int s = 0; s < nsrc; s++)
		if (!aligned64(src[s]))
			goto reference;

	while (done < len) {
		size_t piece = len - done;

		if (piece > XOR_GEN_MAX_PIECE)
			piece = XOR_GEN_MAX_PIECE;
		for (int s = 0; s < nsrc; s++)
			vec[s] = (uint8_t *)src[s] + done;
		vec[nsrc] = (uint8_t *)dst + done;
		if (xor_gen(nsrc + 1, (int)piece, vec) != 0) {
			/* isa-l refused (should not happen with nsrc >= 2 and
			 * aligned buffers): compute this piece the slow way. */
			r5_parity_xor_ref(nsrc, piece, vec, vec[nsrc]);
		}
		done += piece;
	}
	return;

reference:
	r5_parity_xor_ref(nsrc, len, src, dst);
}

bool
r5_parity_check_ref(int n, size_t len, void *const *v)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t x = 0;

		for (int s = 0; s < n; s++)
			x ^= ((const uint8_t *)v[s])[i];
		if (x)
			return false;
	}
	return true;
}

bool
r5_parity_check(int n, size_t len, void *const *v)
{
	void *vec[R5_PARITY_MAX_SOURCES + 1];

	assert(n >= 2 && n <= R5_PARITY_MAX_SOURCES + 1);
	/* isa-l's xor_check wants 16-byte aligned vectors and an int length */
	if (len % 64 != 0 || len > XOR_GEN_MAX_PIECE)
		return r5_parity_check_ref(n, len, v);
	for (int s = 0; s < n; s++) {
		if (((uintptr_t)v[s] & 15) != 0)
			return r5_parity_check_ref(n, len, v);
		vec[s] = v[s];
	}
	return xor_check(n, (int)len, vec) == 0;
}
