/* parity.h - XOR parity over caller-owned buffers (isa-l style: stateless).
 *
 * r5_parity_xor is the fast path (isa-l xor_gen); r5_parity_xor_ref is the
 * portable reference that the tests compare it against. Both compute
 *     dst = src[0] ^ src[1] ^ ... ^ src[nsrc-1]
 * dst MAY be one of the sources (the rmw "prexor" step, P ^= D, relies on
 * that). Buffers used on the fast path should be 64-byte aligned and len a
 * multiple of 64; anything else falls back to the reference code.
 */
#ifndef RAID5FS_PARITY_H
#define RAID5FS_PARITY_H

#include <stdbool.h>
#include <stddef.h>

#define R5_PARITY_MAX_SOURCES 64

/* @param nsrc 1..R5_PARITY_MAX_SOURCES; @param len any length. */
void r5_parity_xor_ref(int nsrc, size_t len, void *const *src, void *dst);
void r5_parity_xor(int nsrc, size_t len, void *const *src, void *dst);

/* true if v[0] ^ v[1] ^ ... ^ v[n-1] is all zero (a stripe whose parity
 * matches its data). @param n 2..R5_PARITY_MAX_SOURCES+1. */
bool r5_parity_check_ref(int n, size_t len, void *const *v);
bool r5_parity_check(int n, size_t len, void *const *v);

#endif
