/* r5_stress.c - the engine under many threads, without Criterion (whose
 * arena cannot start under ThreadSanitizer), so the TSan build can run it.
 *
 * Writers own disjoint interleaved regions (so they share stripes and pages)
 * and keep a shadow of them; readers read everywhere at once; a flusher
 * flushes; the pool is tiny so gets wait. At the end every region is read
 * back and compared, and the members' parity is checked row by row.
 * With "corrupt", member 1 silently flips a byte of one read in 500
 * (tests/backends/member_faulty): every read must still be right, the
 * blocks rebuilt and written back while the writers run, and no member
 * failed. With "degraded", the array runs with member 2 left out: reads
 * rebuild its chunks from the survivors while the writers rewrite their
 * rows (core/array/degraded_read.c), and the image must read back right.
 * With "rows", each writer owns whole rows instead and rewrites them whole
 * (written around the cache: core/stripe/stripe_direct.c) or in small
 * pieces (through it), so the two paths meet on the same stripes.
 * Exit 0 = pass. Usage: r5_stress [rounds [corrupt|degraded|rows]] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array_internal.h"
#include "member_faulty.h"
#include "raid5fs/array.h"
#include "raid5fs/superblock.h"

#define MB (1024ull * 1024)
#define NWRITERS 6
#define NREADERS 2
#define PIECE 1536u /* interleave unit: writers share pages */

static struct r5_array *g_array;
static bool g_rows;        /* "rows": writers own whole rows */
static uint64_t g_row_bytes;
static uint64_t g_size;
static uint8_t *g_shadow;
static atomic_bool g_stop;
static atomic_int g_failures;

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

struct writer {
	int id;
	int rounds;
};

/* "rows": a writer's rows are id, id + NWRITERS, ...; each write is one
 * of them whole, or a piece of one. */
static void *
row_writer_main(void *p)
{
	struct writer *w = p;
	uint64_t s = 0x7654321ull + (uint64_t)w->id * 991;
	const uint64_t nrows = g_size / g_row_bytes / NWRITERS;
	uint8_t *buf = malloc(g_row_bytes);

	for (int r = 0; buf && r < w->rounds; r++) {
		uint64_t off = ((rnd(&s) % nrows) * NWRITERS + (uint64_t)w->id) * g_row_bytes;
		uint64_t len = g_row_bytes;

		if (rnd(&s) % 2) {
			len = rnd(&s) % 8192 + 1;
			off += rnd(&s) % (g_row_bytes - len);
		}
		for (uint64_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rnd(&s);
		if (r5_array_write(g_array, buf, len, off) != (ssize_t)len) {
			fprintf(stderr, "write failed at %llu\n", (unsigned long long)off);
			atomic_fetch_add(&g_failures, 1);
			break;
		}
		memcpy(g_shadow + off, buf, len); /* only this writer touches it */
	}
	free(buf);
	return NULL;
}

/* A writer's region: pieces id, id + NWRITERS, id + 2*NWRITERS, ... */
static void *
writer_main(void *p)
{
	struct writer *w = p;
	uint64_t s = 0x1234567ull + (uint64_t)w->id * 977;
	uint8_t buf[PIECE * 8];
	uint64_t npieces = g_size / PIECE / NWRITERS;

	for (int r = 0; r < w->rounds; r++) {
		uint64_t k = rnd(&s) % npieces;
		uint32_t count = 1;
		uint64_t off = (k * NWRITERS + (uint64_t)w->id) * PIECE;

		/* sometimes a run of this writer's pieces: separate writes */
		if (rnd(&s) % 4 == 0)
			count = (uint32_t)(rnd(&s) % 8) + 1;
		for (uint32_t c = 0; c < count && k + c < npieces; c++) {
			uint64_t o = off + (uint64_t)c * NWRITERS * PIECE;

			for (uint32_t i = 0; i < PIECE; i++)
				buf[i] = (uint8_t)rnd(&s);
			if (r5_array_write(g_array, buf, PIECE, o) != (ssize_t)PIECE) {
				fprintf(stderr, "write failed at %llu\n", (unsigned long long)o);
				atomic_fetch_add(&g_failures, 1);
				return NULL;
			}
			memcpy(g_shadow + o, buf, PIECE); /* only this writer touches it */
		}
	}
	return NULL;
}

static void *
reader_main(void *p)
{
	uint64_t s = (uint64_t)(uintptr_t)p * 31 + 7;
	uint8_t *buf = malloc(256 * 1024);

	while (!atomic_load(&g_stop)) {
		uint64_t len = rnd(&s) % (256 * 1024) + 1;
		uint64_t off = rnd(&s) % (g_size - len);

		if (r5_array_read(g_array, buf, len, off) != (ssize_t)len) {
			fprintf(stderr, "read failed at %llu\n", (unsigned long long)off);
			atomic_fetch_add(&g_failures, 1);
			break;
		}
	}
	free(buf);
	return NULL;
}

static void *
flusher_main(void *p)
{
	(void)p;
	while (!atomic_load(&g_stop)) {
		if (r5_array_flush(g_array) != 0) {
			fprintf(stderr, "flush failed\n");
			atomic_fetch_add(&g_failures, 1);
		}
		usleep(20000);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3000;
	char dir[] = "/tmp/r5stress.XXXXXX", path[4][64], err[256];
	const char *paths[4];
	const uint64_t msize = 4 * MB;
	struct r5_create_opts co = { .chunk_size = 16 * 1024, .member_size = msize };
	struct r5_engine_opts eo = { .stripe_cache_size = 64, .nr_workers = 3 };
	pthread_t wt[NWRITERS], rt[NREADERS], ft;
	struct writer w[NWRITERS];
	int ret = 1;

	if (!mkdtemp(dir))
		return 2;
	for (int i = 0; i < 4; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/m%d", dir, i);
		paths[i] = path[i];
	}
	const bool corrupt = argc > 2 && strcmp(argv[2], "corrupt") == 0;
	const bool degraded = argc > 2 && strcmp(argv[2], "degraded") == 0;

	g_rows = argc > 2 && strcmp(argv[2], "rows") == 0;
	g_row_bytes = (uint64_t)co.chunk_size * 3;
	const char *given[4] = { paths[0], paths[1], paths[3], paths[2] }; /* degraded: 3 */

	if (r5_array_create(paths, 4, &co, err, sizeof(err)) ||
	    r5_array_assemble(given, degraded ? 3 : 4, &eo, &g_array, err, sizeof(err))) {
		fprintf(stderr, "setup: %s\n", err);
		goto out;
	}
	if (corrupt) {
		/* before the engine's threads start: they read the member's ops */
		struct r5_fault_spec spec = { .corrupt_ops = R5_FAULT_READ, .corrupt_ppm = 2000,
					      .seed = 42 };

		if (r5_member_wrap_faulty(r5_members_member(g_array->members, 1), &spec) < 0) {
			fprintf(stderr, "setup: cannot wrap member 1\n");
			goto out;
		}
	}
	if (r5_array_start(g_array)) {
		fprintf(stderr, "setup: start failed\n");
		goto out;
	}
	g_size = r5_array_size(g_array);
	g_shadow = calloc(1, g_size);

	for (int i = 0; i < NWRITERS; i++) {
		w[i] = (struct writer){ i, rounds };
		pthread_create(&wt[i], NULL, g_rows ? row_writer_main : writer_main, &w[i]);
	}
	for (long i = 0; i < NREADERS; i++)
		pthread_create(&rt[i], NULL, reader_main, (void *)i);
	pthread_create(&ft, NULL, flusher_main, NULL);
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(wt[i], NULL);
	atomic_store(&g_stop, true);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(rt[i], NULL);
	pthread_join(ft, NULL);

	uint8_t *back = malloc(g_size);
	if (r5_array_read(g_array, back, g_size, 0) != (ssize_t)g_size ||
	    memcmp(back, g_shadow, g_size)) {
		fprintf(stderr, "FAIL: image differs from what the writers wrote\n");
		goto out;
	}
	free(back);
	if (corrupt) {
		struct r5_slot_info si;

		r5_members_slot_info(g_array->members, 1, &si);
		printf("r5_stress: %llu corrupted reads caught, %llu blocks healed\n",
		       (unsigned long long)si.csum_errors, (unsigned long long)si.csum_healed);
		if (r5_members_nr_failed(g_array->members) != 0 || si.csum_errors == 0) {
			fprintf(stderr, "FAIL: a member failed, or no corruption was caught\n");
			goto out;
		}
	}
	if (g_rows) {
		struct r5_cache_info ci;

		r5_cache_get_info(g_array->cache, &ci);
		printf("r5_stress: %llu whole rows written around the cache\n",
		       (unsigned long long)ci.direct_rows);
		if (ci.direct_rows == 0) {
			fprintf(stderr, "FAIL: no row was written around the cache\n");
			goto out;
		}
	}
	if (degraded) {
		printf("r5_stress: %llu reads rebuilt beside the cache\n",
		       (unsigned long long)atomic_load(&g_array->io.degraded_reads));
		if (atomic_load(&g_array->io.degraded_reads) == 0) {
			fprintf(stderr, "FAIL: no read was rebuilt beside the cache\n");
			goto out;
		}
	}
	if (r5_array_stop(g_array)) {
		fprintf(stderr, "FAIL: stop\n");
		g_array = NULL;
		goto out;
	}
	g_array = NULL;
	if (degraded)
		goto passed; /* member 2 was never written: no parity to check */

	/* parity of every byte row on the members */
	uint8_t *m[4] = { NULL };
	for (int i = 0; i < 4; i++) {
		struct r5_member mem;
		struct r5_superblock sb;
		FILE *f;

		/* the data area starts where the superblock says (after the
		 * checksum table) */
		if (r5_member_open_file(&mem, paths[i], 0) || r5_sb_load(&mem, &sb) != R5_SB_OK) {
			fprintf(stderr, "FAIL: superblock of %s\n", paths[i]);
			goto out;
		}
		r5_member_close(&mem);
		f = fopen(paths[i], "rb");
		m[i] = malloc(msize);
		if (!f || fseeko(f, (off_t)sb.data_offset, SEEK_SET) || fread(m[i], 1, msize, f) != msize) {
			fprintf(stderr, "FAIL: reading %s\n", paths[i]);
			goto out;
		}
		fclose(f);
	}
	for (uint64_t o = 0; o < msize; o++)
		if (m[0][o] ^ m[1][o] ^ m[2][o] ^ m[3][o]) {
			fprintf(stderr, "FAIL: parity mismatch at member offset %llu\n",
				(unsigned long long)o);
			for (int i = 0; i < 4; i++)
				free(m[i]);
			goto out;
		}
	for (int i = 0; i < 4; i++)
		free(m[i]);
passed:
	if (atomic_load(&g_failures) == 0) {
		printf("r5_stress: %d writers x %d rounds, %d readers: 1 passed, 0 failed\n",
		       NWRITERS, rounds, NREADERS);
		ret = 0;
	}
out:
	if (g_array)
		r5_array_stop(g_array);
	for (int i = 0; i < 4; i++)
		unlink(paths[i]);
	rmdir(dir);
	return ret;
}
