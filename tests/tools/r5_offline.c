/* r5_offline.c - an independent, offline decoder of raid5fs member files.
 *
 * This program deliberately shares NO code with the engine: it includes no
 * project header and links nothing but libc. It re-implements, as plainly as
 * possible, the on-disk format documented in include/raid5fs/superblock.h
 * and the address mapping of include/raid5fs/layout.h / docs/architecture.md ("Address mapping")
 * (md's four raid5 layouts). The integration tests use it as a second
 * opinion: what the engine wrote must decode to the same image here.
 *
 *   r5_offline info MEMBER...                 superblock summary, one line each
 *   r5_offline verify-parity MEMBER...        XOR of every row must be zero
 *   r5_offline image [--missing SLOT] OUT MEMBER...
 *                                             write the array image to OUT; with
 *                                             --missing, SLOT is treated as absent
 *                                             (its chunks are computed from the
 *                                             others; it may be omitted or given)
 *
 * Global option (before the subcommand): --no-checksum skips the SHA-256
 * check of superblock copies (magic, version and fields are still checked).
 * By default the checksum IS verified, with the small SHA-256 below.
 *
 * Exit status: 0 ok, 1 data problem (parity mismatch), 2 usage or I/O or
 * format error. Everything is read in chunk-sized pieces with pread; the
 * XOR is a plain byte loop. Slow is fine; obviously correct is the point.
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

/* ---- constants copied from the documented format (superblock.h) ---- */
#define SB_SIZE 4096u
#define SB_MAGIC 0x53463552u /* "R5FS" little-endian */
#define SB_VERSION_MIN 1u /* before per-block checksums */
#define SB_VERSION 2u     /* with the checksum table fields */
#define SB_SUM_OFFSET 4064u /* SHA-256 of bytes 0..4063 stored here */
#define MAX_MEMBERS 32u
#define MIN_MEMBERS 3u
#define MIN_CHUNK 4096u
#define MAX_CHUNK (1024u * 1024u)

static const char *const layout_names[4] = {
	"left-asymmetric", "right-asymmetric", "left-symmetric", "right-symmetric",
};
static const char *const role_names[4] = { "in_sync", "faulty", "rebuilding", "spare" };

static int verify_checksum = 1;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("r5_offline: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---- SHA-256 (FIPS 180-4), straightforward, for the superblock sum ---- */
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

static void
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

/* ---- superblock ---- */
static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

struct sb {
	uint32_t version;
	uint8_t array_uuid[16], member_uuid[16];
	uint64_t generation, events, ctime, utime;
	uint32_t role, nr_members, chunk_size, layout;
	uint64_t data_offset, data_size;
	uint32_t state, flags;
	uint64_t resync_offset, recovery_offset;
	uint8_t roles[MAX_MEMBERS];
	char name[65];
};

struct member {
	const char *path;
	int fd;
	struct sb sb;
	int copy; /* which superblock copy (0 or 1) was chosen */
};

/* Decodes one 4 KiB copy. Returns NULL if valid, else a reason. */
static const char *
sb_decode(const uint8_t *b, struct sb *sb)
{
	uint8_t sum[32];

	if (get32(b) != SB_MAGIC)
		return "bad magic";
	sb->version = get32(b + 4);
	if (sb->version < SB_VERSION_MIN || sb->version > SB_VERSION)
		return "unknown version";
	if (verify_checksum) {
		sha256(b, SB_SUM_OFFSET, sum);
		if (memcmp(sum, b + SB_SUM_OFFSET, 32) != 0)
			return "bad checksum";
	}
	memcpy(sb->array_uuid, b + 8, 16);
	memcpy(sb->member_uuid, b + 24, 16);
	sb->generation = get64(b + 40);
	sb->events = get64(b + 48);
	sb->ctime = get64(b + 56);
	sb->utime = get64(b + 64);
	sb->role = get32(b + 72);
	sb->nr_members = get32(b + 76);
	sb->chunk_size = get32(b + 80);
	sb->layout = get32(b + 84);
	sb->data_offset = get64(b + 88);
	sb->data_size = get64(b + 96);
	sb->state = get32(b + 104);
	sb->flags = get32(b + 108);
	sb->resync_offset = get64(b + 112);
	sb->recovery_offset = get64(b + 120);
	memcpy(sb->roles, b + 168, MAX_MEMBERS);
	memcpy(sb->name, b + 200, 64);
	sb->name[64] = '\0';

	if (sb->nr_members < MIN_MEMBERS || sb->nr_members > MAX_MEMBERS)
		return "bad nr_members";
	if (sb->chunk_size < MIN_CHUNK || sb->chunk_size > MAX_CHUNK ||
	    (sb->chunk_size & (sb->chunk_size - 1)) != 0)
		return "bad chunk_size";
	if (sb->layout > 3)
		return "bad layout";
	if (sb->role >= sb->nr_members)
		return "bad role";
	if (sb->data_offset < 2 * SB_SIZE || sb->data_offset % SB_SIZE != 0)
		return "bad data_offset";
	if (sb->data_size == 0 || sb->data_size % sb->chunk_size != 0)
		return "bad data_size";
	return NULL;
}

static void
member_open(struct member *m, const char *path)
{
	uint8_t buf[2][SB_SIZE];
	struct sb cand[2];
	const char *why[2];
	int i;

	m->path = path;
	m->fd = open(path, O_RDONLY);
	if (m->fd < 0)
		die("%s: %s", path, strerror(errno));
	for (i = 0; i < 2; i++) {
		ssize_t n = pread(m->fd, buf[i], SB_SIZE, (off_t)i * SB_SIZE);
		why[i] = n == (ssize_t)SB_SIZE ? sb_decode(buf[i], &cand[i]) : "short read";
	}
	if (why[0] && why[1])
		die("%s: no valid superblock (copy 0: %s, copy 1: %s)", path, why[0], why[1]);
	if (why[0])
		m->copy = 1;
	else if (why[1])
		m->copy = 0;
	else
		m->copy = cand[1].generation > cand[0].generation ? 1 : 0;
	m->sb = cand[m->copy];
}

static void
uuid_str(const uint8_t u[16], char out[37])
{
	int i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		o += sprintf(out + o, "%02x", u[i]);
	}
}

/* ---- the array ---- */
struct array {
	uint32_t n, chunk, layout;
	uint64_t data_offset, data_size, rows;
	struct member *slot[MAX_MEMBERS]; /* by role; NULL if not given */
	struct member *members;
	int nr_given;
};

/* Opens all members, checks they belong together, orders them by role. */
static void
array_assemble(struct array *a, char **paths, int count)
{
	const struct sb *ref;
	uint64_t max_events = 0;
	int i, j;

	if (count < 1)
		die("no member given");
	memset(a, 0, sizeof(*a));
	a->members = calloc((size_t)count, sizeof(*a->members));
	if (!a->members)
		die("out of memory");
	a->nr_given = count;
	for (i = 0; i < count; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(paths[i], paths[j]) == 0)
				die("%s: listed twice", paths[i]);
		member_open(&a->members[i], paths[i]);
	}
	ref = &a->members[0].sb;
	a->n = ref->nr_members;
	a->chunk = ref->chunk_size;
	a->layout = ref->layout;
	a->data_offset = ref->data_offset;
	a->data_size = ref->data_size;
	a->rows = a->data_size / a->chunk;
	for (i = 0; i < count; i++) {
		struct member *m = &a->members[i];
		struct stat st;

		if (memcmp(m->sb.array_uuid, ref->array_uuid, 16) != 0)
			die("%s: member of another array than %s", m->path, a->members[0].path);
		if (m->sb.nr_members != a->n || m->sb.chunk_size != a->chunk ||
		    m->sb.layout != a->layout || m->sb.data_offset != a->data_offset ||
		    m->sb.data_size != a->data_size)
			die("%s: geometry differs from %s", m->path, a->members[0].path);
		if (a->slot[m->sb.role])
			die("%s and %s both claim slot %u", a->slot[m->sb.role]->path, m->path,
			    m->sb.role);
		if (fstat(m->fd, &st) != 0)
			die("%s: %s", m->path, strerror(errno));
		if ((uint64_t)st.st_size < a->data_offset + a->data_size)
			die("%s: too small (%jd bytes, need %" PRIu64 ")", m->path,
			    (intmax_t)st.st_size, a->data_offset + a->data_size);
		a->slot[m->sb.role] = m;
		if (m->sb.events > max_events)
			max_events = m->sb.events;
	}
	for (i = 0; i < count; i++)
		if (a->members[i].sb.events < max_events)
			fprintf(stderr, "r5_offline: warning: %s has events %" PRIu64 " < %" PRIu64 "\n",
				a->members[i].path, a->members[i].sb.events, max_events);
}

/* md's raid5 mapping: data slot and parity slot of logical chunk c.
 * left-asymmetric:  p = D - r%N,  data slots in order, skipping p
 * right-asymmetric: p = r%N,      data slots in order, skipping p
 * left-symmetric:   p = D - r%N,  data slot = (p + 1 + k) % N
 * right-symmetric:  p = r%N,      data slot = (p + 1 + k) % N
 * with D = N-1, r = c / D (the row), k = c % D. */
static uint32_t
map_chunk(uint32_t n, uint32_t layout, uint64_t c, uint32_t *parity)
{
	uint32_t d = n - 1;
	uint64_t r = c / d;
	uint32_t k = (uint32_t)(c % d);
	uint32_t p, slot;

	if (layout == 0 || layout == 2)
		p = d - (uint32_t)(r % n);
	else
		p = (uint32_t)(r % n);
	if (layout == 0 || layout == 1)
		slot = k >= p ? k + 1 : k;
	else
		slot = (p + 1 + k) % n;
	*parity = p;
	return slot;
}

static void
read_chunk(const struct array *a, uint32_t s, uint64_t row, uint8_t *buf)
{
	const struct member *m = a->slot[s];
	uint64_t off = a->data_offset + row * a->chunk;
	size_t done = 0;

	while (done < a->chunk) {
		ssize_t n = pread(m->fd, buf + done, a->chunk - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: read at %" PRIu64 ": %s", m->path, off + done, strerror(errno));
		if (n == 0)
			die("%s: unexpected end of file at %" PRIu64, m->path, off + done);
		done += (size_t)n;
	}
}

/* Reads every slot's chunk of a row into bufs[slot]; a missing slot is
 * computed as the XOR of all the others. */
static void
read_row(const struct array *a, uint64_t row, uint8_t **bufs, int missing)
{
	uint32_t s;
	size_t i;

	for (s = 0; s < a->n; s++)
		if ((int)s != missing)
			read_chunk(a, s, row, bufs[s]);
	if (missing < 0)
		return;
	memset(bufs[missing], 0, a->chunk);
	for (s = 0; s < a->n; s++) {
		if ((int)s == missing)
			continue;
		for (i = 0; i < a->chunk; i++)
			bufs[missing][i] ^= bufs[s][i];
	}
}

static uint8_t **
alloc_bufs(const struct array *a)
{
	uint8_t **bufs = calloc(a->n, sizeof(*bufs));
	uint32_t s;

	if (!bufs)
		die("out of memory");
	for (s = 0; s < a->n; s++) {
		bufs[s] = malloc(a->chunk);
		if (!bufs[s])
			die("out of memory");
	}
	return bufs;
}

static int
cmd_info(struct array *a)
{
	int i;

	printf("array n=%u chunk=%u layout=%s data_offset=%" PRIu64 " data_size=%" PRIu64
	       " image_size=%" PRIu64 "\n",
	       a->n, a->chunk, layout_names[a->layout], a->data_offset, a->data_size,
	       (uint64_t)(a->n - 1) * a->data_size);
	for (i = 0; i < a->nr_given; i++) {
		const struct member *m = &a->members[i];
		char au[37], mu[37], roles[MAX_MEMBERS * 12 + 1];
		uint32_t s;
		int o = 0;

		uuid_str(m->sb.array_uuid, au);
		uuid_str(m->sb.member_uuid, mu);
		roles[0] = '\0';
		for (s = 0; s < m->sb.nr_members; s++)
			o += sprintf(roles + o, "%s%s", s ? "," : "",
				     m->sb.roles[s] < 4 ? role_names[m->sb.roles[s]] : "empty");
		char rs[24], rc[24];

		if (m->sb.resync_offset == UINT64_MAX)
			strcpy(rs, "done");
		else
			sprintf(rs, "%" PRIu64, m->sb.resync_offset);
		if (m->sb.recovery_offset == UINT64_MAX)
			strcpy(rc, "done");
		else
			sprintf(rc, "%" PRIu64, m->sb.recovery_offset);
		printf("member path=%s slot=%u copy=%d generation=%" PRIu64 " events=%" PRIu64
		       " state=%s flags=%u resync_offset=%s recovery_offset=%s"
		       " array_uuid=%s member_uuid=%s name=%s roles=%s\n",
		       m->path, m->sb.role, m->copy, m->sb.generation, m->sb.events,
		       m->sb.state == 0 ? "clean" : m->sb.state == 1 ? "active" : "unknown",
		       m->sb.flags, rs, rc, au, mu, m->sb.name[0] ? m->sb.name : "-", roles);
	}
	return 0;
}

static void
require_slots(const struct array *a, int missing)
{
	uint32_t s;

	for (s = 0; s < a->n; s++)
		if ((int)s != missing && !a->slot[s])
			die("slot %u: no member given (array has %u members)", s, a->n);
}

static int
cmd_verify_parity(struct array *a)
{
	uint8_t **bufs = alloc_bufs(a);
	uint64_t row, bad = 0;
	uint32_t s;
	size_t i;

	require_slots(a, -1);
	for (row = 0; row < a->rows; row++) {
		int mismatch = 0;

		read_row(a, row, bufs, -1);
		for (i = 0; i < a->chunk && !mismatch; i++) {
			uint8_t x = 0;
			for (s = 0; s < a->n; s++)
				x ^= bufs[s][i];
			mismatch = x != 0;
		}
		if (mismatch) {
			if (bad < 10)
				fprintf(stderr, "r5_offline: parity mismatch in row %" PRIu64
					" (member offset %" PRIu64 ", first bad byte %zu)\n",
					row, row * a->chunk, i - 1);
			bad++;
		}
	}
	printf("rows=%" PRIu64 " mismatches=%" PRIu64 "\n", a->rows, bad);
	return bad ? 1 : 0;
}

static int
cmd_image(struct array *a, const char *out, int missing)
{
	uint8_t **bufs = alloc_bufs(a);
	uint32_t d = a->n - 1;
	uint64_t row;
	int fd;

	if (missing >= (int)a->n)
		die("--missing %d: array has only %u slots", missing, a->n);
	require_slots(a, missing);
	for (int i = 0; i < a->nr_given; i++)
		if (strcmp(a->members[i].path, out) == 0)
			die("%s: output is also a member", out);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		die("%s: %s", out, strerror(errno));
	for (row = 0; row < a->rows; row++) {
		uint32_t k;

		read_row(a, row, bufs, missing);
		for (k = 0; k < d; k++) {
			uint64_t c = row * d + k;
			uint32_t parity, s = map_chunk(a->n, a->layout, c, &parity);
			const uint8_t *p = bufs[s];
			size_t left = a->chunk;

			if (s == parity || s >= a->n)
				die("internal error: mapping of chunk %" PRIu64, c);
			while (left) {
				ssize_t n = write(fd, p, left);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0)
					die("%s: write: %s", out, strerror(errno));
				p += n;
				left -= (size_t)n;
			}
		}
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		die("%s: %s", out, strerror(errno));
	fprintf(stderr, "r5_offline: wrote %" PRIu64 " bytes to %s\n",
		a->rows * d * a->chunk, out);
	return 0;
}

/* Self-checks of the two things everything rests on: SHA-256 against the
 * FIPS 180-2 test vectors, and the mapping being, on every row, a bijection
 * from the D data indexes onto the N-1 slots other than the row's parity. */
static void
self_test(void)
{
	static const uint8_t abc_sum[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
	};
	static const uint8_t long_sum[32] = { /* "abcdbcde...nopq" (56 bytes, 2 blocks) */
		0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26, 0x93, 0x0c, 0x3e, 0x60, 0x39,
		0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff, 0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1,
	};
	const char *lmsg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t sum[32];
	uint32_t n, layout, k, p, p0;
	uint64_t r;

	sha256((const uint8_t *)"abc", 3, sum);
	if (memcmp(sum, abc_sum, 32) != 0)
		die("self-test: sha256(\"abc\") wrong");
	sha256((const uint8_t *)lmsg, strlen(lmsg), sum);
	if (memcmp(sum, long_sum, 32) != 0)
		die("self-test: sha256(56 bytes) wrong");
	for (n = MIN_MEMBERS; n <= 8; n++)
		for (layout = 0; layout < 4; layout++)
			for (r = 0; r < 3 * n; r++) {
				uint64_t seen = 0;

				map_chunk(n, layout, r * (n - 1), &p0);
				for (k = 0; k < n - 1; k++) {
					uint32_t s = map_chunk(n, layout, r * (n - 1) + k, &p);
					if (p != p0 || s == p || s >= n || (seen >> s & 1))
						die("self-test: mapping n=%u layout=%u row=%" PRIu64, n,
						    layout, r);
					seen |= 1ull << s;
				}
			}
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: r5_offline [--no-checksum] info MEMBER...\n"
		"       r5_offline [--no-checksum] verify-parity MEMBER...\n"
		"       r5_offline [--no-checksum] image [--missing SLOT] OUT MEMBER...\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct array a;
	const char *cmd;
	int i = 1, missing = -1;

	self_test();
	if (i < argc && strcmp(argv[i], "--no-checksum") == 0) {
		verify_checksum = 0;
		i++;
	}
	if (i >= argc)
		usage();
	cmd = argv[i++];
	if (strcmp(cmd, "info") == 0) {
		array_assemble(&a, argv + i, argc - i);
		return cmd_info(&a);
	}
	if (strcmp(cmd, "verify-parity") == 0) {
		array_assemble(&a, argv + i, argc - i);
		return cmd_verify_parity(&a);
	}
	if (strcmp(cmd, "image") == 0) {
		const char *out;
		char *end;

		if (i + 1 < argc && strcmp(argv[i], "--missing") == 0) {
			long v = strtol(argv[i + 1], &end, 10);
			if (*argv[i + 1] == '\0' || *end || v < 0 || v >= (long)MAX_MEMBERS)
				die("--missing: bad slot '%s'", argv[i + 1]);
			missing = (int)v;
			i += 2;
		}
		if (i >= argc)
			usage();
		out = argv[i++];
		array_assemble(&a, argv + i, argc - i);
		return cmd_image(&a, out, missing);
	}
	usage();
	return 2;
}
