/* r5_engine_fill.c - makes a small array with any checksum algorithm and
 * writes seeded data into it through the engine's own interface
 * (include/raid5fs/array.h), for tests the raid5fs command cannot set up
 * yet (it has no --checksum/--key-file options).
 *
 *   r5_engine_fill --checksum ALG [--key-file FILE] SIZE_MIB SEED LEN_KIB MEMBER...
 *
 * Creates the members (3 or more, chunk 16K, member data SIZE_MIB MiB),
 * assembles and starts the array, writes LEN_KIB KiB of a byte stream that
 * is a function of (SEED, image offset) from offset 0, reads it back and
 * compares, and stops the array (which flushes data, parity and the
 * checksum tables). Exit 0 ok, 1 mismatch, 2 any error (one line).
 *
 * Unlike the other tools here it links the engine (tests/CMakeLists.txt:
 * tests/tools/r5_engine_*.c link r5core).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raid5fs/array.h"

#define PIECE (256u * 1024u)

static uint8_t
pattern_byte(uint64_t seed, uint64_t off)
{
	uint64_t x = (seed + 1) * 0x9e3779b97f4a7c15ull ^ (off / 8) * 0xbf58476d1ce4e5b9ull;

	x ^= x >> 31;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 29;
	return (uint8_t)(x >> (8 * (off % 8)));
}

static void
fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(seed, off + i);
}

int
main(int argc, char **argv)
{
	struct r5_create_opts copts = { .chunk_size = 16 * 1024 };
	struct r5_engine_opts eopts = { 0 };
	struct r5_array *a = NULL;
	static uint8_t want[PIECE], got[PIECE];
	char err[512];
	uint64_t seed, len, off;
	int i = 1, n, ret;

	if (i + 1 < argc && strcmp(argv[i], "--checksum") == 0) {
		copts.checksum = argv[i + 1];
		i += 2;
	}
	if (i + 1 < argc && strcmp(argv[i], "--key-file") == 0) {
		copts.key_file = eopts.key_file = argv[i + 1];
		i += 2;
	}
	if (argc - i < 6) {
		fprintf(stderr, "usage: r5_engine_fill --checksum ALG [--key-file FILE] SIZE_MIB SEED "
				"LEN_KIB MEMBER...\n");
		return 2;
	}
	copts.member_size = strtoull(argv[i], NULL, 10) * 1024 * 1024;
	seed = strtoull(argv[i + 1], NULL, 10);
	len = strtoull(argv[i + 2], NULL, 10) * 1024;
	i += 3;
	n = argc - i;
	if (r5_array_create((const char *const *)argv + i, n, &copts, err, sizeof(err)) < 0) {
		fprintf(stderr, "r5_engine_fill: create: %s\n", err);
		return 2;
	}
	if (r5_array_assemble((const char *const *)argv + i, n, &eopts, &a, err, sizeof(err)) < 0) {
		fprintf(stderr, "r5_engine_fill: assemble: %s\n", err);
		return 2;
	}
	if ((ret = r5_array_start(a)) < 0) {
		fprintf(stderr, "r5_engine_fill: start: %s\n", strerror(-ret));
		return 2;
	}
	if (len > r5_array_size(a))
		len = r5_array_size(a);
	for (off = 0; off < len; off += PIECE) {
		size_t piece = len - off < PIECE ? (size_t)(len - off) : PIECE;
		ssize_t w;

		fill(want, piece, seed, off);
		w = r5_array_write(a, want, piece, off);
		if (w != (ssize_t)piece) {
			fprintf(stderr, "r5_engine_fill: write at %" PRIu64 ": %s\n", off,
				w < 0 ? strerror((int)-w) : "short");
			return 2;
		}
	}
	if ((ret = r5_array_flush(a)) < 0) {
		fprintf(stderr, "r5_engine_fill: flush: %s\n", strerror(-ret));
		return 2;
	}
	for (off = 0; off < len; off += PIECE) {
		size_t piece = len - off < PIECE ? (size_t)(len - off) : PIECE;

		fill(want, piece, seed, off);
		if (r5_array_read(a, got, piece, off) != (ssize_t)piece ||
		    memcmp(got, want, piece) != 0) {
			fprintf(stderr, "r5_engine_fill: read back at %" PRIu64 " differs\n", off);
			return 1;
		}
	}
	if ((ret = r5_array_stop(a)) < 0) {
		fprintf(stderr, "r5_engine_fill: stop: %s\n", strerror(-ret));
		return 2;
	}
	printf("r5_engine_fill: %d members, %s, wrote %" PRIu64 " bytes\n", n,
	       copts.checksum ? copts.checksum : "default checksum", len);
	return 0;
}
