/* r5_pattern.c - seeded data for the integration tests: write it, check it.
 *
 * Content is a pure function of (seed, absolute file offset), so a region
 * can be verified without keeping anything but the seed, and data that lands
 * at the wrong offset is caught (the bytes differ per position).
 *
 *   r5_pattern fill  FILE SEED [OFF LEN [BLOCK STEP]]
 *   r5_pattern check FILE SEED [OFF LEN [BLOCK STEP]]
 *       fill writes / check verifies the seeded stream over [OFF, OFF+LEN)
 *       (default: the whole file), in pieces of at most 1 MiB. With BLOCK
 *       and STEP only the blocks [OFF + i*STEP, +BLOCK) are touched: that is
 *       how parallel writers share stripes without overlapping. fill ends
 *       with fsync; check first drops the file's clean cached pages
 *       (posix_fadvise DONTNEED) so reads reach the filesystem, and reports
 *       the first mismatching offset.
 *   r5_pattern random FILE SEED COUNT MAXLEN SHADOW
 *       COUNT writes of random length (1..MAXLEN, many below 4 KiB) at random,
 *       mostly unaligned offsets, applied with pwrite to FILE and to SHADOW
 *       (a plain copy; made from FILE first if absent); fsyncs both. Then
 *       `cmp FILE SHADOW` is the test.
 *   r5_pattern write FILE SEED COUNT MAXLEN
 *       the same random writes against an in-memory copy of FILE (read first),
 *       then fsync, read FILE back and compare with the model.
 *
 * Sizes accept K, M, G suffixes (powers of 1024). Exit 0 ok, 1 mismatch,
 * 2 usage or I/O error. Only libc; no project headers.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIECE (1024u * 1024u)

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("r5_pattern: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* splitmix64 finalizer: a good 64-bit mixing function. */
static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The seeded stream: byte at offset off is byte (off % 8) of
 * mix64(seed ^ mix64(off / 8)). */
static void
pattern_gen(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t o = off + i;
		uint64_t w = mix64(seed ^ mix64(o >> 3));
		unsigned b;

		for (b = (unsigned)(o & 7); b < 8 && i < len; b++, i++)
			buf[i] = (uint8_t)(w >> (8 * b));
	}
}

static uint64_t
parse_size(const char *s, const char *what)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		die("bad %s '%s'", what, s);
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	if (*end)
		die("bad %s '%s'", what, s);
	return v;
}

static int
open_file(const char *path, int flags, uint64_t *size)
{
	struct stat st;
	int fd = open(path, flags);
	off_t end;

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0)
		die("%s: %s", path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		end = lseek(fd, 0, SEEK_END);
		if (end < 0)
			die("%s: %s", path, strerror(errno));
		*size = (uint64_t)end;
	} else {
		*size = (uint64_t)st.st_size;
	}
	return fd;
}

static void
pwrite_all(int fd, const char *path, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: write of %zu bytes at %" PRIu64 ": %s", path, len, off, strerror(errno));
		if (n == 0)
			die("%s: write of %zu bytes at %" PRIu64 " made no progress", path, len, off);
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
}

static void
pread_all(int fd, const char *path, uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: read of %zu bytes at %" PRIu64 ": %s", path, len, off, strerror(errno));
		if (n == 0)
			die("%s: unexpected end of file at %" PRIu64, path, off);
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
}

static void
fsync_or_die(int fd, const char *path)
{
	if (fsync(fd) != 0)
		die("%s: fsync: %s", path, strerror(errno));
}

/* ---- fill / check over [off, off+len), optionally in BLOCK every STEP ---- */
struct region {
	uint64_t off, len, block, step;
};

static void
parse_region(struct region *r, int argc, char **argv, uint64_t size, const char *path)
{
	r->off = 0;
	r->len = size;
	r->block = 0;
	r->step = 0;
	if (argc == 2 || argc == 4) {
		r->off = parse_size(argv[0], "offset");
		r->len = parse_size(argv[1], "length");
		if (argc == 4) {
			r->block = parse_size(argv[2], "block");
			r->step = parse_size(argv[3], "step");
			if (r->block == 0 || r->step < r->block)
				die("need 0 < BLOCK <= STEP");
		}
	} else if (argc != 0) {
		die("expected [OFF LEN [BLOCK STEP]]");
	}
	if (r->off > size || r->len > size - r->off)
		die("%s: region %" PRIu64 "+%" PRIu64 " is beyond the file size %" PRIu64, path,
		    r->off, r->len, size);
	if (!r->block) {
		r->block = r->len ? r->len : 1;
		r->step = r->block;
	}
}

static int
cmd_fill_check(int check, const char *path, uint64_t seed, int argc, char **argv)
{
	uint64_t size, pos, bytes = 0, bad = 0, first_bad = 0;
	uint8_t *want = malloc(PIECE), *got = malloc(PIECE);
	struct region r;
	int fd;

	if (!want || !got)
		die("out of memory");
	fd = open_file(path, check ? O_RDONLY : O_RDWR, &size);
	parse_region(&r, argc, argv, size, path);
	if (check)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	for (pos = r.off; pos < r.off + r.len; pos += r.step) {
		uint64_t end = pos + r.block < r.off + r.len ? pos + r.block : r.off + r.len;
		uint64_t p;

		for (p = pos; p < end; p += PIECE) {
			size_t n = end - p < PIECE ? (size_t)(end - p) : PIECE;
			size_t i;

			pattern_gen(seed, p, want, n);
			bytes += n;
			if (!check) {
				pwrite_all(fd, path, want, n, p);
				continue;
			}
			pread_all(fd, path, got, n, p);
			if (memcmp(want, got, n) == 0)
				continue;
			for (i = 0; i < n; i++) {
				if (want[i] == got[i])
					continue;
				if (!bad) {
					first_bad = p + i;
					fprintf(stderr,
						"r5_pattern: %s: MISMATCH at offset %" PRIu64
						" (0x%" PRIx64 "): expected 0x%02x got 0x%02x (seed %" PRIu64 ")\n",
						path, first_bad, first_bad, want[i], got[i], seed);
				}
				bad++;
			}
		}
	}
	if (!check)
		fsync_or_die(fd, path);
	if (close(fd) != 0)
		die("%s: close: %s", path, strerror(errno));
	if (bad) {
		fprintf(stderr, "r5_pattern: %s: %" PRIu64 " of %" PRIu64
			" bytes differ, first at %" PRIu64 "\n", path, bad, bytes, first_bad);
		return 1;
	}
	printf("%s %" PRIu64 " bytes ok (seed %" PRIu64 ")\n", check ? "checked" : "wrote", bytes,
	       seed);
	return 0;
}

/* ---- random writes ---- */
struct rng {
	uint64_t s;
};

static uint64_t
rng_next(struct rng *g)
{
	g->s += 0x9e3779b97f4a7c15ull;
	return mix64(g->s);
}

static uint64_t
rng_below(struct rng *g, uint64_t n)
{
	return n ? rng_next(g) % n : 0;
}

/* Picks one write: a mix of tiny, sector-sized, boundary-straddling and
 * large writes, mostly at unaligned offsets. */
static void
pick_write(struct rng *g, uint64_t size, uint64_t maxlen, uint64_t *off, uint64_t *len)
{
	uint64_t kind = rng_below(g, 10), l, o, split;

	if (maxlen > size)
		maxlen = size;
	switch (kind) {
	case 0: case 1: case 2: /* sub-4K, anywhere */
		l = 1 + rng_below(g, 4096);
		o = rng_below(g, size);
		break;
	case 3: case 4: /* 512-byte sectors, 512-aligned */
		l = 512 * (1 + rng_below(g, 128));
		o = rng_below(g, size) & ~(uint64_t)511;
		break;
	case 5: case 6: /* straddle a 4K..1M power-of-two boundary */
		l = 2 + rng_below(g, maxlen);
		o = rng_below(g, size) & ~(((uint64_t)4096 << rng_below(g, 9)) - 1);
		split = 1 + rng_below(g, l - 1); /* bytes before the boundary */
		o = o > split ? o - split : 0;
		break;
	case 7: /* 4K-aligned, 4K multiple */
		l = 4096 * (1 + rng_below(g, maxlen / 4096 + 1));
		o = rng_below(g, size) & ~(uint64_t)4095;
		break;
	default: /* anything */
		l = 1 + rng_below(g, maxlen);
		o = rng_below(g, size);
		break;
	}
	if (l > maxlen)
		l = maxlen;
	if (l == 0)
		l = 1;
	if (o + l > size)
		o = size - l;
	*off = o;
	*len = l;
}

static void
copy_file(const char *from, const char *to, uint64_t size)
{
	uint8_t *buf = malloc(PIECE);
	uint64_t pos;
	int in, out;

	if (!buf)
		die("out of memory");
	in = open(from, O_RDONLY);
	if (in < 0)
		die("%s: %s", from, strerror(errno));
	out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (out < 0)
		die("%s: %s", to, strerror(errno));
	for (pos = 0; pos < size; pos += PIECE) {
		size_t n = size - pos < PIECE ? (size_t)(size - pos) : PIECE;
		pread_all(in, from, buf, n, pos);
		pwrite_all(out, to, buf, n, pos);
	}
	fsync_or_die(out, to);
	close(in);
	close(out);
	free(buf);
}

static int
cmd_random(const char *path, uint64_t seed, uint64_t count, uint64_t maxlen, const char *shadow)
{
	struct rng g = { mix64(seed) };
	uint64_t size, ssize, i, bytes = 0, small = 0;
	uint8_t *buf;
	int fd, sfd;

	if (maxlen == 0)
		die("MAXLEN must be > 0");
	fd = open_file(path, O_RDWR, &size);
	if (size == 0)
		die("%s: empty", path);
	if (access(shadow, F_OK) != 0)
		copy_file(path, shadow, size);
	sfd = open_file(shadow, O_RDWR, &ssize);
	if (ssize != size)
		die("%s: size %" PRIu64 " differs from %s (%" PRIu64 ")", shadow, ssize, path, size);
	buf = malloc(maxlen < size ? maxlen : size);
	if (!buf)
		die("out of memory");
	for (i = 0; i < count; i++) {
		uint64_t off, len;

		pick_write(&g, size, maxlen, &off, &len);
		pattern_gen(mix64(seed + i + 1), off, buf, (size_t)len);
		pwrite_all(fd, path, buf, (size_t)len, off);
		pwrite_all(sfd, shadow, buf, (size_t)len, off);
		bytes += len;
		small += len < 4096;
	}
	fsync_or_die(fd, path);
	fsync_or_die(sfd, shadow);
	if (close(fd) != 0 || close(sfd) != 0)
		die("close: %s", strerror(errno));
	printf("random: %" PRIu64 " writes (%" PRIu64 " below 4 KiB), %" PRIu64 " bytes (seed %" PRIu64 ")\n",
	       count, small, bytes, seed);
	return 0;
}

static int
cmd_write(const char *path, uint64_t seed, uint64_t count, uint64_t maxlen)
{
	struct rng g = { mix64(seed) };
	uint64_t size, i, pos;
	uint8_t *model, *buf;
	int fd;

	if (maxlen == 0)
		die("MAXLEN must be > 0");
	fd = open_file(path, O_RDWR, &size);
	if (size == 0 || size > ((uint64_t)1 << 30))
		die("%s: size %" PRIu64 " not in 1..1 GiB", path, size);
	model = malloc(size);
	buf = malloc(PIECE);
	if (!model || !buf)
		die("out of memory");
	pread_all(fd, path, model, size, 0);
	for (i = 0; i < count; i++) {
		uint64_t off, len;

		pick_write(&g, size, maxlen, &off, &len);
		pattern_gen(mix64(seed + i + 1), off, model + off, (size_t)len);
		pwrite_all(fd, path, model + off, (size_t)len, off);
	}
	fsync_or_die(fd, path);
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	for (pos = 0; pos < size; pos += PIECE) {
		size_t n = size - pos < PIECE ? (size_t)(size - pos) : PIECE, j;

		pread_all(fd, path, buf, n, pos);
		if (memcmp(buf, model + pos, n) == 0)
			continue;
		for (j = 0; buf[j] == model[pos + j]; j++)
			;
		fprintf(stderr, "r5_pattern: %s: MISMATCH at offset %" PRIu64
			": expected 0x%02x got 0x%02x (seed %" PRIu64 ")\n",
			path, pos + j, model[pos + j], buf[j], seed);
		return 1;
	}
	close(fd);
	printf("write: %" PRIu64 " writes verified (seed %" PRIu64 ")\n", count, seed);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: r5_pattern fill  FILE SEED [OFF LEN [BLOCK STEP]]\n"
		"       r5_pattern check FILE SEED [OFF LEN [BLOCK STEP]]\n"
		"       r5_pattern random FILE SEED COUNT MAXLEN SHADOW\n"
		"       r5_pattern write FILE SEED COUNT MAXLEN\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char *cmd;
	uint64_t seed;

	if (argc < 4)
		usage();
	cmd = argv[1];
	seed = parse_size(argv[3], "seed");
	if (strcmp(cmd, "fill") == 0 || strcmp(cmd, "check") == 0)
		return cmd_fill_check(cmd[0] == 'c', argv[2], seed, argc - 4, argv + 4);
	if (strcmp(cmd, "random") == 0 && argc == 7)
		return cmd_random(argv[2], seed, parse_size(argv[4], "count"),
				  parse_size(argv[5], "maxlen"), argv[6]);
	if (strcmp(cmd, "write") == 0 && argc == 6)
		return cmd_write(argv[2], seed, parse_size(argv[4], "count"),
				 parse_size(argv[5], "maxlen"));
	usage();
	return 2;
}
