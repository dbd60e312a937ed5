/* fuzz_superblock.c - libFuzzer target for the superblock decoder: any
 * input either decodes to a superblock whose fields pass validation and
 * re-encodes to the same bytes, or is rejected; it never crashes or reads
 * out of bounds. Build: cmake -DR5_FUZZ=ON with clang (see tests/CMakeLists.txt).
 *
 * A random input never matches the SHA-256, so inputs whose last byte is
 * odd get a correct checksum first: that way the fuzzer reaches the field
 * checks. Seed it with a real superblock (tools/run-tests.sh does). */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raid5fs/superblock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct r5_superblock sb;
	uint8_t again[R5_SB_SIZE];
	struct r5_geometry g;

	uint8_t fixed[R5_SB_SIZE];

	if (size >= R5_SB_SIZE && (data[size - 1] & 1)) {
		unsigned int len = 32;

		memcpy(fixed, data, R5_SB_SIZE);
		EVP_Digest(fixed, R5_SB_SIZE - 32, fixed + R5_SB_SIZE - 32, &len, EVP_sha256(), NULL);
		data = fixed;
		size = R5_SB_SIZE;
	}
	if (r5_sb_decode(data, size, &sb) != R5_SB_OK)
		return 0;
	/* accepted: the geometry must be valid and the encoding stable */
	r5_sb_geometry(&sb, &g);
	if (r5_geometry_validate(&g, NULL, 0) != 0 ||
	    (sb.role >= sb.nr_members && sb.role != R5_SB_ROLE_SPARE) || sb.nr_spares > R5_MAX_SPARES)
		abort();
	/* the defined fields (bytes 0..263) round-trip; the rest of the block
	 * is reserved and ignored by design, and encode -> decode -> encode is
	 * stable */
	struct r5_superblock sb2;
	uint8_t again2[R5_SB_SIZE];

	r5_sb_encode(&sb, again);
	if (memcmp(again, data, 264) != 0)
		abort();
	if (r5_sb_decode(again, sizeof(again), &sb2) != R5_SB_OK)
		abort();
	r5_sb_encode(&sb2, again2);
	if (memcmp(again, again2, R5_SB_SIZE) != 0)
		abort();
	return 0;
}
