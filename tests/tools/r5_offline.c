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
 *   r5_offline verify-checksums [--key-file FILE] MEMBER...
 *                                             every 4 KiB data block of every member
 *                                             given against its entry in the
 *                                             member's checksum table (format
 *                                             version 2, include/raid5fs/checksum.h)
 *   r5_offline verify-usemap MEMBER...        every unit the in-use map (of the
 *                                             first member given) calls unused
 *                                             holds zeros on every member given
 *   r5_offline selftest                       the built-in self-checks, said aloud
 *
 * Global option (before the subcommand): --no-checksum skips the SHA-256
 * check of superblock copies (magic, version and fields are still checked).
 * By default the checksum IS verified, with the small SHA-256 of hash.c.
 *
 * The hashes (SHA-256 for the superblock and the sha256 entries,
 * HMAC-SHA-256, CRC-32C) are the plain textbook forms in r5_offline/hash.c:
 * a bitwise CRC, and an HMAC made of two calls of that small SHA-256.
 *
 * Exit status: 0 ok, 1 data problem (parity mismatch, bad or unverifiable
 * block), 2 usage or I/O or format error (also: a missing or wrong key).
 * Everything is read with pread, in chunks or 4 KiB blocks; the XOR is a
 * plain byte loop. Slow is fine; obviously correct is the point.
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

#include "r5_offline/hash.h"

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
#define SB_FLAG_USEMAP 4u /* the in-use map's fields are at 456, 464, 472 */

/* ---- constants copied from the documented format (checksum.h) ---- */
#define CS_BLOCK 4096u          /* data bytes per entry */
#define CS_PAGE 4096u           /* bytes per table page */
#define CS_PAYLOAD 4080u        /* entry bytes before the page trailer */
#define CS_PAGE_MAGIC 0x54433552u /* "R5CT" little-endian, at 4080 */
#define CS_KEY_MIN 16u
#define CS_KEY_MAX 4096u
enum { CS_NONE = 0, CS_CRC32C = 1, CS_SHA256 = 2, CS_HMAC_SHA256 = 3 };
static const char *const csum_names[4] = { "none", "crc32c", "sha256", "hmac-sha256" };

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
	/* version 2 (all zero in version 1) */
	uint32_t csum_alg;
	uint64_t csum_offset, csum_size;
	uint8_t key_check[32];
	uint64_t usemap_offset, usemap_size, usemap_unit; /* flag SB_FLAG_USEMAP */
};

struct member {
	const char *path;
	int fd;
	struct sb sb;
	int copy; /* which superblock copy (0 or 1) was chosen */
};

static uint32_t
entry_size(uint32_t alg)
{
	return alg == CS_CRC32C ? 4 : 32;
}

/* Pages of table for data_size bytes of data: one entry per 4 KiB block,
 * 4080 / entry size entries per page. */
static uint64_t
table_pages(uint32_t alg, uint64_t data_size)
{
	uint64_t blocks = (data_size + CS_BLOCK - 1) / CS_BLOCK;
	uint64_t per_page = CS_PAYLOAD / entry_size(alg);

	return (blocks + per_page - 1) / per_page;
}

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
	sb->csum_alg = 0;
	sb->csum_offset = sb->csum_size = 0;
	memset(sb->key_check, 0, 32);
	sb->usemap_offset = sb->usemap_size = sb->usemap_unit = 0;
	if (sb->version >= 2) {
		sb->csum_alg = get32(b + 264);
		sb->csum_offset = get64(b + 272);
		sb->csum_size = get64(b + 280);
		memcpy(sb->key_check, b + 288, 32);
		sb->usemap_offset = get64(b + 456);
		sb->usemap_size = get64(b + 464);
		sb->usemap_unit = get64(b + 472);
	}

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
	if (sb->csum_alg > CS_HMAC_SHA256)
		return "unknown checksum algorithm";
	if (sb->csum_alg == CS_NONE && (sb->csum_offset || sb->csum_size))
		return "checksum table without an algorithm";
	if (sb->csum_alg != CS_NONE &&
	    (sb->csum_offset < 2 * SB_SIZE || sb->csum_offset % CS_PAGE || sb->csum_size % CS_PAGE ||
	     sb->csum_offset > sb->data_offset || sb->csum_size > sb->data_offset - sb->csum_offset ||
	     sb->csum_size / CS_PAGE < table_pages(sb->csum_alg, sb->data_size)))
		return "bad checksum table offset or size";
	if ((sb->flags & SB_FLAG_USEMAP) &&
	    (sb->usemap_unit == 0 || sb->usemap_unit % sb->chunk_size ||
	     sb->usemap_offset < 2 * SB_SIZE || sb->usemap_offset > sb->data_offset ||
	     sb->usemap_size > sb->data_offset - sb->usemap_offset ||
	     (sb->data_size + sb->usemap_unit - 1) / sb->usemap_unit > sb->usemap_size * 8))
		return "bad in-use map fields";
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
		    m->sb.data_size != a->data_size || m->sb.csum_alg != ref->csum_alg ||
		    m->sb.csum_offset != ref->csum_offset || m->sb.csum_size != ref->csum_size)
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

/* len bytes of member m at file offset off, or die. */
static void
read_at(const struct member *m, uint8_t *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(m->fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("%s: read at %" PRIu64 ": %s", m->path, off + done, strerror(errno));
		if (n == 0)
			die("%s: unexpected end of file at %" PRIu64, m->path, off + done);
		done += (size_t)n;
	}
}

static void
read_chunk(const struct array *a, uint32_t s, uint64_t row, uint8_t *buf)
{
	read_at(a->slot[s], buf, a->chunk, a->data_offset + row * a->chunk);
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
		       " array_uuid=%s member_uuid=%s name=%s roles=%s"
		       " csum=%s csum_offset=%" PRIu64 " csum_size=%" PRIu64 " data_offset=%" PRIu64
		       " usemap_unit=%" PRIu64 " version=%u\n",
		       m->path, m->sb.role, m->copy, m->sb.generation, m->sb.events,
		       m->sb.state == 0 ? "clean" : m->sb.state == 1 ? "active" : "unknown",
		       m->sb.flags, rs, rc, au, mu, m->sb.name[0] ? m->sb.name : "-", roles,
		       csum_names[m->sb.csum_alg], m->sb.csum_offset, m->sb.csum_size,
		       m->sb.data_offset, m->sb.usemap_unit, m->sb.version);
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

/* ---- per-block checksums (checksum.h) ---- */

/* A key file: a regular file of 16 to 4096 bytes, used as they are. */
static size_t
key_load(const char *path, uint8_t key[CS_KEY_MAX])
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		die("key file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		die("key file %s: not a regular file", path);
	if (st.st_size < (off_t)CS_KEY_MIN || st.st_size > (off_t)CS_KEY_MAX)
		die("key file %s: %jd bytes; a key is %u to %u bytes", path, (intmax_t)st.st_size,
		    CS_KEY_MIN, CS_KEY_MAX);
	n = pread(fd, key, (size_t)st.st_size, 0);
	if (n != st.st_size)
		die("key file %s: short read", path);
	close(fd);
	return (size_t)n;
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The entry of block number b holding data (4 KiB), into out:
 *   crc32c       CRC-32C of le64(b) || data, stored little-endian
 *   sha256       SHA-256 of le64(b) || data
 *   hmac-sha256  HMAC-SHA-256(key, member_uuid || le64(b) || data) */
static void
block_entry(uint32_t alg, const uint8_t *key, size_t klen, const uint8_t member_uuid[16],
	    uint64_t b, const uint8_t *data, uint8_t out[32])
{
	static uint8_t msg[16 + 8 + CS_BLOCK];

	if (alg == CS_HMAC_SHA256) {
		memcpy(msg, member_uuid, 16);
		put64(msg + 16, b);
		memcpy(msg + 24, data, CS_BLOCK);
		hmac_sha256(key, klen, msg, 24 + CS_BLOCK, out);
		return;
	}
	put64(msg, b);
	memcpy(msg + 8, data, CS_BLOCK);
	if (alg == CS_SHA256) {
		sha256(msg, 8 + CS_BLOCK, out);
	} else {
		uint32_t crc = crc32c(msg, 8 + CS_BLOCK);

		for (int i = 0; i < 4; i++)
			out[i] = (uint8_t)(crc >> (8 * i));
	}
}

static int
all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* What table page p is: NULL if sealed (magic, index, CRC of 0..4091 all
 * right), "zero" if never written, else why it is damaged. */
static const char *
page_check(const uint8_t *page, uint64_t p)
{
	if (all_zero(page, CS_PAGE))
		return "zero";
	if (get32(page + 4080) != CS_PAGE_MAGIC)
		return "bad-magic";
	if (get64(page + 4084) != p)
		return "bad-index";
	if (get32(page + 4092) != crc32c(page, 4092))
		return "bad-crc";
	return NULL;
}

/* Checks every data block of one member; prints a line per bad block, one
 * per damaged table page, and the member's summary. 1 if anything was bad
 * or unverifiable. */
static int
verify_member_checksums(const struct array *a, const struct member *m, const uint8_t *key,
			size_t klen)
{
	const uint32_t alg = m->sb.csum_alg, esize = entry_size(alg), per_page = CS_PAYLOAD / esize;
	const uint64_t nblocks = a->data_size / CS_BLOCK, npages = table_pages(alg, a->data_size);
	uint8_t page[CS_PAGE], block[CS_BLOCK], want[32];
	uint64_t p, b, bad = 0, unverifiable = 0;

	for (p = 0; p < npages; p++) {
		uint64_t first = p * per_page, last = first + per_page;
		const char *state;

		if (last > nblocks)
			last = nblocks;
		read_at(m, page, CS_PAGE, m->sb.csum_offset + p * CS_PAGE);
		state = page_check(page, p);
		if (state && strcmp(state, "zero") != 0) {
			printf("damaged-page slot=%u page=%" PRIu64 " blocks=%" PRIu64 "..%" PRIu64
			       " reason=%s path=%s\n",
			       m->sb.role, p, first, last - 1, state, m->path);
			unverifiable += last - first;
			continue;
		}
		for (b = first; b < last; b++) {
			int ok;

			read_at(m, block, CS_BLOCK, a->data_offset + b * CS_BLOCK);
			if (state) { /* a never-written page: its blocks are all zero */
				ok = all_zero(block, CS_BLOCK);
			} else {
				block_entry(alg, key, klen, m->sb.member_uuid, b, block, want);
				ok = memcmp(want, page + (b - first) * esize, esize) == 0;
			}
			if (!ok) {
				printf("bad slot=%u member_offset=%" PRIu64 " block=%" PRIu64
				       " path=%s\n",
				       m->sb.role, b * CS_BLOCK, b, m->path);
				bad++;
			}
		}
	}
	printf("member path=%s slot=%u blocks=%" PRIu64 " bad=%" PRIu64 " unverifiable=%" PRIu64
	       "\n", m->path, m->sb.role, nblocks, bad, unverifiable);
	return bad || unverifiable;
}

static int
cmd_verify_checksums(struct array *a, const char *key_file)
{
	const struct sb *ref = &a->members[0].sb;
	static uint8_t key[CS_KEY_MAX];
	static const char label[] = "raid5fs key check";
	uint8_t msg[sizeof(label) - 1 + 16], check[32];
	size_t klen = 0;
	int i, any = 0;

	if (ref->version < 2 || ref->csum_alg == CS_NONE) {
		printf("no checksums: %s\n", ref->version < 2 ?
		       "format version 1 (before per-block checksums)" : "checksum none");
		return 0;
	}
	if (ref->csum_alg != CS_HMAC_SHA256 && key_file)
		die("--key-file given, but this array's checksums are %s, not keyed",
		    csum_names[ref->csum_alg]);
	if (ref->csum_alg == CS_HMAC_SHA256) {
		if (!key_file)
			die("this array's checksums are hmac-sha256: give its key with --key-file");
		klen = key_load(key_file, key);
		/* key check: HMAC-SHA-256(key, "raid5fs key check" || array_uuid) */
		memcpy(msg, label, sizeof(label) - 1);
		memcpy(msg + sizeof(label) - 1, ref->array_uuid, 16);
		hmac_sha256(key, klen, msg, sizeof(msg), check);
		for (i = 0; i < a->nr_given; i++)
			if (memcmp(check, a->members[i].sb.key_check, 32) != 0)
				die("key file %s: not this array's key (key check of %s failed)",
				    key_file, a->members[i].path);
	}
	for (i = 0; i < a->nr_given; i++)
		any |= verify_member_checksums(a, &a->members[i], key, klen);
	return any;
}

/* Self-checks of the things everything rests on: the hashes against their
 * published test vectors (r5_offline/hash.c), and the mapping being, on
 * every row, a bijection from the D data indexes onto the N-1 slots other
 * than the row's parity. */
static void
self_test(void)
{
	const char *why = hash_self_test();
	uint32_t n, layout, k, p, p0;
	uint64_t r;

	if (why)
		die("self-test: %s", why);
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

/* verify-usemap: superblock.h's rule for the in-use map, checked from
 * the bytes: a unit whose bit is clear holds zeros in the data area of
 * every member given. Returns 1 when one does not. */
static int
cmd_verify_usemap(struct array *a)
{
	const struct member *first = &a->members[0];
	const struct sb *sb = &first->sb;
	uint64_t units, unused = 0, bad = 0;
	uint8_t *map, *buf;

	if (!(sb->flags & SB_FLAG_USEMAP)) {
		printf("no in-use map (an array made before it)\n");
		return 0;
	}
	units = (sb->data_size + sb->usemap_unit - 1) / sb->usemap_unit;
	map = malloc(sb->usemap_size);
	buf = malloc(65536);
	if (!map || !buf)
		die("out of memory");
	if (pread(first->fd, map, sb->usemap_size, (off_t)sb->usemap_offset) != (ssize_t)sb->usemap_size)
		die("%s: cannot read the in-use map", first->path);
	for (uint64_t u = 0; u < units; u++) {
		uint64_t start = u * sb->usemap_unit, end = start + sb->usemap_unit;

		if (map[u / 8] & (1u << (u % 8)))
			continue;
		unused++;
		if (end > sb->data_size)
			end = sb->data_size;
		for (int k = 0; k < a->nr_given; k++) {
			const struct member *m = &a->members[k];
			int nonzero = 0;

			for (uint64_t off = start; off < end && !nonzero; off += 65536) {
				size_t len = end - off < 65536 ? (size_t)(end - off) : 65536;

				if (pread(m->fd, buf, len, (off_t)(m->sb.data_offset + off)) != (ssize_t)len)
					die("%s: short read at data offset %" PRIu64, m->path, off);
				for (size_t i = 0; i < len && !nonzero; i++)
					nonzero = buf[i] != 0;
			}
			if (nonzero) {
				if (!bad)
					printf("unit %" PRIu64 " (data offset %" PRIu64 ") is unused but "
					       "%s holds data there\n", u, start, m->path);
				bad++;
			}
		}
	}
	printf("in-use map: %" PRIu64 " of %" PRIu64 " units unused, %" PRIu64
	       " member units there not zero\n", unused, units, bad);
	free(map);
	free(buf);
	return bad ? 1 : 0;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: r5_offline [--no-checksum] info MEMBER...\n"
		"       r5_offline [--no-checksum] verify-parity MEMBER...\n"
		"       r5_offline [--no-checksum] image [--missing SLOT] OUT MEMBER...\n"
		"       r5_offline [--no-checksum] verify-checksums [--key-file FILE] MEMBER...\n"
		"       r5_offline [--no-checksum] verify-usemap MEMBER...\n");
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
	if (strcmp(cmd, "verify-usemap") == 0) {
		array_assemble(&a, argv + i, argc - i);
		return cmd_verify_usemap(&a);
	}
	if (strcmp(cmd, "verify-checksums") == 0) {
		const char *key_file = NULL;

		if (i + 1 < argc && strcmp(argv[i], "--key-file") == 0) {
			key_file = argv[i + 1];
			i += 2;
		}
		array_assemble(&a, argv + i, argc - i);
		return cmd_verify_checksums(&a, key_file);
	}
	if (strcmp(cmd, "selftest") == 0) { /* self_test() above has passed */
		printf("selftest ok: sha256 abc=ba7816bf... crc32c(\"123456789\")=0x%08x"
		       " hmac-sha256 rfc4231 1,2,6 mapping\n",
		       crc32c((const uint8_t *)"123456789", 9));
		return 0;
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
