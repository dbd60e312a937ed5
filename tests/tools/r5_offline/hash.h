/* hash.h - the three textbook hashes of r5_offline (tests/tools/r5_offline.c):
 * SHA-256 (FIPS 180-4), HMAC-SHA-256 (RFC 2104) and CRC-32C (Castagnoli).
 * Plain, slow, and checked against published test vectors; libc only, no
 * project header. */
#ifndef R5_OFFLINE_HASH_H
#define R5_OFFLINE_HASH_H

#include <stddef.h>
#include <stdint.h>

void sha256(const uint8_t *data, size_t len, uint8_t out[32]);
void hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *msg, size_t mlen,
		 uint8_t out[32]);
/* reflected polynomial 0x82f63b78, initial value and final XOR 0xffffffff:
 * crc32c("123456789") == 0xe3069283 */
uint32_t crc32c(const uint8_t *p, size_t len);

/* NULL if all three give their test vectors' values, else what is wrong. */
const char *hash_self_test(void);

#endif
