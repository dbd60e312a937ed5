/* create.c - r5_array_create: make the member files of a new array.
 *
 * Two phases, so that a mistake changes nothing on disk:
 *   1. check: arguments, geometry, every path (parent directory usable, not
 *      listed twice, an existing file is a regular file that is empty, or
 *      --force), and open every existing file. Nothing is written.
 *   2. write: create the new files, size every file, zero the metadata
 *      area, store each superblock twice (generation 1 lands in copy 1,
 *      generation 2 in copy 0, so both copies are valid), fsync. On failure
 *      the files this call created are removed again.
 *
 * The data area is never written: a file extended by ftruncate reads as
 * zeros and zeros are parity-consistent (0 ^ 0 ^ ... = 0), so the array is
 * clean at once. An existing file reused with --force is first truncated to
 * zero length for the same reason: stale data there would not match the
 * parity. (That also drops any preallocation the user made; correctness
 * first.)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raid5fs/array.h"
#include "raid5fs/member.h"
#include "raid5fs/superblock.h"
#include "raid5fs/checksum.h"
#include "raid5fs/log.h"
#include "raid5fs/util.h"

/* What phase 1 learned about one path. */
struct create_target {
	const char *path;    /* as given by the user */
	bool exists;         /* the file exists now */
	dev_t dev;           /* st_dev / st_ino when it exists */
	ino_t ino;
	uint64_t size;       /* current size when it exists */
	char canon[PATH_MAX + NAME_MAX + 2]; /* realpath(parent)/basename when it does not */
	char parent[PATH_MAX]; /* directory to fsync after creating the file */
	int fd;              /* open descriptor (-1 until opened) */
	bool created;        /* this call created the file: unlink on failure */
	struct r5_member m;  /* owns fd once wrapped (phase 2) */
	bool wrapped;        /* m owns fd */
	bool loose;          /* it exists and other users can read it */
};

/* Splits path into its directory (made absolute by realpath) and basename. */
static int
resolve_parent(struct create_target *t, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	const char *base;
	size_t len = strlen(t->path);
	char *slash;

	if (len == 0 || len >= sizeof(dir)) {
		r5_errf(err, errlen, "%s: invalid path", t->path);
		return -EINVAL;
	}
	memcpy(dir, t->path, len + 1);
	if (dir[len - 1] == '/') {
		r5_errf(err, errlen, "%s: is a directory name, expected a file", t->path);
		return -EISDIR;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL) {
		base = t->path;
		strcpy(dir, ".");
	} else {
		base = t->path + (slash - dir) + 1;
		if (slash == dir)
			slash[1] = '\0'; /* "/file" -> "/" */
		else
			*slash = '\0';
	}
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		r5_errf(err, errlen, "%s: is a directory name, expected a file", t->path);
		return -EISDIR;
	}
	if (realpath(dir, t->parent) == NULL) {
		int e = errno;

		r5_errf(err, errlen, "%s: directory %s: %s", t->path, dir, strerror(e));
		return -e;
	}
	if (snprintf(t->canon, sizeof(t->canon), "%s/%s", t->parent, base) >=
	    (int)sizeof(t->canon)) {
		r5_errf(err, errlen, "%s: path too long", t->path);
		return -ENAMETOOLONG;
	}
	return 0;
}

/* Phase 1 for one path: stat, open if it exists, decide whether it may be
 * overwritten. */
static int
check_target(struct create_target *t, bool force, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	ret = resolve_parent(t, err, errlen);
	if (ret < 0)
		return ret;
	if (stat(t->path, &st) < 0) {
		int e = errno;

		if (e != ENOENT) {
			r5_errf(err, errlen, "%s: %s", t->path, strerror(e));
			return -e;
		}
		if (faccessat(AT_FDCWD, t->parent, W_OK | X_OK, AT_EACCESS) < 0) {
			e = errno;
			r5_errf(err, errlen, "%s: cannot create in %s: %s", t->path, t->parent,
				strerror(e));
			return -e;
		}
		t->exists = false;
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		r5_errf(err, errlen, "%s: not a regular file", t->path);
		return -EINVAL;
	}
	t->exists = true;
	t->dev = st.st_dev;
	t->ino = st.st_ino;
	t->size = (uint64_t)st.st_size;
	t->loose = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
	t->fd = open(t->path, O_RDWR | O_CLOEXEC);
	if (t->fd < 0) {
		int e = errno;

		r5_errf(err, errlen, "%s: cannot open: %s", t->path, strerror(e));
		return -e;
	}
	if (fstat(t->fd, &st) == 0 && (st.st_dev != t->dev || st.st_ino != t->ino)) {
		r5_errf(err, errlen, "%s: changed while being checked", t->path);
		return -EAGAIN;
	}
	if (t->size > 0 && !force) {
		struct r5_member probe;
		struct r5_superblock sb;
		int dupfd = fcntl(t->fd, F_DUPFD_CLOEXEC, 0);
		enum r5_sb_status st_sb;

		if (dupfd < 0 || r5_member_from_fd(&probe, dupfd, t->path) < 0) {
			r5_errf(err, errlen, "%s: cannot read: out of resources", t->path);
			return -ENOMEM;
		}
		st_sb = r5_sb_load(&probe, &sb);
		r5_member_close(&probe);
		if (st_sb == R5_SB_OK) {
			char uuid[37];

			r5_uuid_format(sb.array_uuid, uuid);
			r5_errf(err, errlen,
				"%s: already a member of array %s (use --force to overwrite)",
				t->path, uuid);
			return -EEXIST;
		}
		r5_errf(err, errlen, "%s: exists and is not empty (use --force to overwrite)",
			t->path);
		return -EEXIST;
	}
	return 0;
}

static bool
same_file(const struct create_target *a, const struct create_target *b)
{
	if (a->exists != b->exists)
		return false;
	if (a->exists)
		return a->dev == b->dev && a->ino == b->ino;
	return strcmp(a->canon, b->canon) == 0;
}

static int
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Zeros [0, end of bitmap): both superblock copies, the in-use map and the
 * bitmap. Written (not just left sparse) so that they are allocated now
 * and a later bitmap update cannot fail for want of space. */
static int
zero_metadata(struct r5_member *m)
{
	enum { STEP = 64 * 1024 };
	static const uint8_t zeros[STEP];
	const uint64_t end = (uint64_t)R5_BITMAP_OFFSET + R5_BITMAP_SIZE;

	for (uint64_t off = 0; off < end; off += STEP) {
		size_t n = end - off < STEP ? (size_t)(end - off) : STEP;
		int ret = r5_member_write(m, zeros, n, off);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Phase 2 for one target, up to (not including) the superblock. */
static int
prepare_target(struct create_target *t, uint64_t file_size, char *err, size_t errlen)
{
	int ret;

	if (!t->exists) {
		t->fd = open(t->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (t->fd < 0) {
			ret = -errno;
			r5_errf(err, errlen, "%s: cannot create: %s", t->path, strerror(-ret));
			return ret;
		}
		t->created = true;
	} else if (t->size > 0 && ftruncate(t->fd, 0) < 0) {
		ret = -errno;
		r5_errf(err, errlen, "%s: cannot truncate: %s", t->path, strerror(-ret));
		return ret;
	}
	if (ftruncate(t->fd, (off_t)file_size) < 0) {
		ret = -errno;
		r5_errf(err, errlen, "%s: cannot set size to %" PRIu64 ": %s", t->path, file_size,
			strerror(-ret));
		return ret;
	}
	t->wrapped = true; /* from_fd owns the fd from here on, even on failure */
	ret = r5_member_from_fd(&t->m, t->fd, t->path);
	if (ret < 0) {
		r5_errf(err, errlen, "%s: %s", t->path, strerror(-ret));
		return ret;
	}
	ret = zero_metadata(&t->m);
	if (ret < 0) {
		r5_errf(err, errlen, "%s: cannot write metadata area: %s", t->path, strerror(-ret));
		return ret;
	}
	return 0;
}

/* What the members' checksums are made of (create's options, checked). */
struct create_csum {
	enum r5_csum_alg alg;
	uint8_t key_check[32]; /* hmac-sha256 */
};

static int
write_superblock(struct create_target *t, const uint8_t uuid[16],
		 const struct r5_geometry *g, uint32_t role, const char *name,
		 const struct create_csum *cc, char *err, size_t errlen)
{
	struct r5_superblock sb;
	int ret;

	r5_sb_init(&sb, uuid, g, role);
	r5_sb_set_checksum(&sb, cc->alg);
	r5_sb_set_usemap(&sb); /* all unused: the data areas read as zeros */
	memcpy(sb.key_check, cc->key_check, sizeof(sb.key_check));
	if (name != NULL)
		snprintf(sb.name, sizeof(sb.name), "%s", name);
	/* Two stores: generation 1 -> copy 1, generation 2 -> copy 0. */
	ret = r5_sb_store(&t->m, &sb);
	if (ret == 0)
		ret = r5_sb_store(&t->m, &sb);
	if (ret == 0 && fsync(t->fd) < 0) /* the file size too, not just data */
		ret = -errno;
	if (ret == 0 && t->created)
		ret = fsync_dir(t->parent);
	if (ret < 0)
		r5_errf(err, errlen, "%s: cannot write superblock: %s", t->path, strerror(-ret));
	return ret;
}

static void
release_targets(struct create_target *t, int n, bool failed)
{
	for (int i = 0; i < n; i++) {
		if (t[i].wrapped)
			r5_member_close(&t[i].m);
		else if (t[i].fd >= 0)
			close(t[i].fd);
		t[i].fd = -1;
		t[i].wrapped = false;
		if (failed && t[i].created)
			unlink(t[i].path);
	}
}

static void
free_key(struct r5_csum_key *key)
{
	if (key)
		memset(key, 0, sizeof(*key));
	free(key);
}

/* --checksum and --key-file: a known algorithm; a key file exactly when
 * the algorithm is keyed. The key itself is only used for the key check
 * value; *key is NULL unless hmac-sha256. */
static int
create_checksum_opts(const struct r5_create_opts *opts, struct create_csum *cc,
		     struct r5_csum_key **key, char *err, size_t errlen)
{
	bool loose;
	int ret;

	memset(cc, 0, sizeof(*cc));
	*key = NULL;
	cc->alg = R5_CSUM_CRC32C;
	if (opts->checksum && r5_csum_alg_parse(opts->checksum, &cc->alg) < 0) {
		r5_errf(err, errlen, "unknown checksum '%s' (crc32c, sha256, hmac-sha256 or none)",
			opts->checksum);
		return -EINVAL;
	}
	if (cc->alg != R5_CSUM_HMAC_SHA256) {
		if (opts->key_file) {
			r5_errf(err, errlen, "--key-file is only for --checksum hmac-sha256");
			return -EINVAL;
		}
		return 0;
	}
	if (!opts->key_file) {
		r5_errf(err, errlen, "--checksum hmac-sha256 needs --key-file FILE");
		return -EINVAL;
	}
	*key = malloc(sizeof(**key));
	if (!*key)
		return -ENOMEM;
	ret = r5_csum_key_load(opts->key_file, *key, &loose, err, errlen);
	if (ret < 0) {
		free_key(*key);
		*key = NULL;
		return ret;
	}
	if (loose)
		r5_log("warning: key file %s can be read by other users (chmod 600 it)",
		       opts->key_file);
	return 0;
}

int
r5_array_create(const char *const *paths, int n, const struct r5_create_opts *opts,
		char *err, size_t errlen)
{
	static const struct r5_create_opts defaults = { .layout = R5_DEFAULT_LAYOUT };
	struct create_target *t = NULL;
	struct r5_geometry g;
	struct create_csum cc;
	struct r5_csum_key *key = NULL;
	uint8_t uuid[16];
	char why[160];
	int ret;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (opts == NULL)
		opts = &defaults;
	if (paths == NULL || n < R5_MIN_MEMBERS || n > R5_MAX_MEMBERS) {
		r5_errf(err, errlen, "need %u to %u member files, got %d", R5_MIN_MEMBERS,
			R5_MAX_MEMBERS, n);
		return -EINVAL;
	}
	if (opts->name != NULL) {
		if (strlen(opts->name) >= R5_NAME_LEN) {
			r5_errf(err, errlen, "array name too long (at most %u bytes)",
				R5_NAME_LEN - 1);
			return -EINVAL;
		}
		for (const char *c = opts->name; *c; c++) {
			if ((unsigned char)*c < 0x20 || *c == 0x7f) {
				r5_errf(err, errlen, "array name contains a control character");
				return -EINVAL;
			}
		}
	}
	ret = create_checksum_opts(opts, &cc, &key, err, errlen);
	if (ret < 0)
		return ret;
	g.nr_members = (uint32_t)n;
	g.chunk_size = opts->chunk_size ? opts->chunk_size : R5_DEFAULT_CHUNK;
	g.layout = opts->layout;
	g.member_data_size = opts->member_size;
	/* Check what can be checked before the size is known. */
	{
		struct r5_geometry probe = g;

		probe.member_data_size = probe.chunk_size;
		if (r5_geometry_validate(&probe, why, sizeof(why)) < 0) {
			r5_errf(err, errlen, "%s", why);
			return -EINVAL;
		}
	}

	t = calloc((size_t)n, sizeof(*t));
	if (t == NULL) {
		r5_errf(err, errlen, "out of memory");
		free_key(key);
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		t[i].path = paths[i];
		t[i].fd = -1;
		if (paths[i] == NULL) {
			r5_errf(err, errlen, "member %d: no path given", i);
			ret = -EINVAL;
			goto err;
		}
	}

	/* ---- phase 1: check everything ---- */
	for (int i = 0; i < n; i++) {
		ret = check_target(&t[i], opts->force, err, errlen);
		if (ret < 0)
			goto err;
		for (int j = 0; j < i; j++) {
			if (same_file(&t[j], &t[i])) {
				if (strcmp(t[i].path, t[j].path) == 0)
					r5_errf(err, errlen, "%s: listed twice", t[i].path);
				else
					r5_errf(err, errlen, "%s: listed twice (same file as %s)",
						t[i].path, t[j].path);
				ret = -EINVAL;
				goto err;
			}
		}
	}
	if (g.member_data_size == 0) {
		uint64_t smallest = UINT64_MAX;
		int which = 0;

		for (int i = 0; i < n; i++) {
			if (!t[i].exists) {
				r5_errf(err, errlen,
					"%s: does not exist; give the member size when creating files",
					t[i].path);
				ret = -EINVAL;
				goto err;
			}
			if (t[i].size < smallest) {
				smallest = t[i].size;
				which = i;
			}
		}
		/* the table for the whole file is at least that for the data
		 * that fits beside it */
		const uint64_t meta = r5_sb_data_offset(cc.alg, smallest);
		const uint64_t need = r5_sb_data_offset(cc.alg, g.chunk_size) + g.chunk_size;

		if (smallest < need || (smallest - meta) / g.chunk_size == 0) {
			r5_errf(err, errlen, "%s: too small (%" PRIu64 " bytes; need at least %" PRIu64 ")",
				t[which].path, smallest, need);
			ret = -EINVAL;
			goto err;
		}
		g.member_data_size = (smallest - meta) / g.chunk_size * g.chunk_size;
	}
	if (r5_geometry_validate(&g, why, sizeof(why)) < 0) {
		r5_errf(err, errlen, "%s", why);
		ret = -EINVAL;
		goto err;
	}

	/* ---- phase 2: write ---- */
	r5_random_bytes(uuid, sizeof(uuid));
	if (key && r5_csum_key_check(key, uuid, cc.key_check) < 0) {
		r5_errf(err, errlen, "cannot compute the key check value");
		ret = -EIO;
		goto err;
	}
	for (int i = 0; i < n; i++)
		if (t[i].loose)
			r5_log("warning: %s can be read by other users, and the array's data with it (chmod 600 it)",
			       t[i].path);
	for (int i = 0; i < n; i++) {
		ret = prepare_target(&t[i], r5_sb_data_offset(cc.alg, g.member_data_size) +
						    g.member_data_size,
				     err, errlen);
		if (ret < 0)
			goto err;
	}
	for (int i = 0; i < n; i++) {
		ret = write_superblock(&t[i], uuid, &g, (uint32_t)i, opts->name, &cc, err, errlen);
		if (ret < 0)
			goto err;
	}
	release_targets(t, n, false);
	free(t);
	free_key(key);
	return 0;

err:
	release_targets(t, n, true);
	free(t);
	free_key(key);
	return ret;
}
