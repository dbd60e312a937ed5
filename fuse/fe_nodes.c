/* fe_nodes.c - the fixed tree: path lookup, attributes, the two
 * directories, and the operations that would change the tree (all refused,
 * or accepted as no-ops where tools expect them to work). */
#include "frontend_internal.h"

#include <string.h>

#define R5_FE_STATUS_SIZE 4096 /* st_size shown for the control files */

static const struct {
	const char *path;
	enum r5_fe_node node;
} fe_nodes[] = {
	{ "/", R5_FE_ROOT },
	{ "/image", R5_FE_IMAGE },
	{ "/.raid5fs", R5_FE_META },
	{ "/.raid5fs/status", R5_FE_STATUS },
	{ "/.raid5fs/status.json", R5_FE_STATUS_JSON },
	{ "/.raid5fs/control", R5_FE_CONTROL },
	{ "/.raid5fs/events", R5_FE_EVENTS },
};

enum r5_fe_node
fe_lookup(const char *path)
{
	size_t i;

	if (path == NULL)
		return R5_FE_NONE;
	for (i = 0; i < sizeof(fe_nodes) / sizeof(fe_nodes[0]); i++)
		if (strcmp(path, fe_nodes[i].path) == 0)
			return fe_nodes[i].node;
	return R5_FE_NONE;
}

/* The node an operation is about: the open file when there is one (path may
 * be NULL with nullpath_ok), else the path. */
static enum r5_fe_node
fe_node(const char *path, struct fuse_file_info *fi)
{
	if (fi != NULL && fi->fh != 0)
		return fe_file(fi)->node;
	return fe_lookup(path);
}

static void
fe_fill_stat(const struct r5_fe *fe, enum r5_fe_node node, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_uid = fe->uid;
	st->st_gid = fe->gid;
	st->st_atim = fe->mount_time;
	st->st_mtim = fe->mount_time;
	st->st_ctim = fe->mount_time;
	st->st_blksize = R5_FE_MAX_IO; /* cp and friends size their buffers on it */
	switch (node) {
	case R5_FE_ROOT:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 3;
		break;
	case R5_FE_META:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		break;
	case R5_FE_IMAGE:
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = (off_t)fe->size;
		st->st_blocks = (blkcnt_t)(fe->size / 512);
		break;
	case R5_FE_STATUS:
	case R5_FE_STATUS_JSON:
	case R5_FE_EVENTS:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = R5_FE_STATUS_SIZE;
		break;
	case R5_FE_CONTROL:
		st->st_mode = S_IFREG | 0600;
		st->st_nlink = 1;
		st->st_size = R5_FE_STATUS_SIZE;
		break;
	case R5_FE_NONE:
		break;
	}
}

int
fe_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	enum r5_fe_node node = fe_node(path, fi);

	if (node == R5_FE_NONE)
		return -ENOENT;
	fe_fill_stat(fe_get(), node, st);
	return 0;
}

/* With nullpath_ok readdir() gets no path, so opendir() leaves the node in
 * fi->fh. */
int
fe_opendir(const char *path, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();

	switch (fe_lookup(path)) {
	case R5_FE_NONE:
		return -ENOENT;
	case R5_FE_ROOT:
		fi->fh = (uintptr_t)&fe->root_dir;
		return 0;
	case R5_FE_META:
		fi->fh = (uintptr_t)&fe->meta_dir;
		return 0;
	default:
		return -ENOTDIR;
	}
}

int
fe_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
	   struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	enum r5_fe_node node = fe_node(path, fi);

	(void)off;
	(void)flags;
	if (node == R5_FE_NONE)
		return -ENOENT;
	if (node != R5_FE_ROOT && node != R5_FE_META)
		return -ENOTDIR;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	if (node == R5_FE_ROOT) {
		filler(buf, "image", NULL, 0, 0);
		filler(buf, ".raid5fs", NULL, 0, 0);
	} else {
		filler(buf, "status", NULL, 0, 0);
		filler(buf, "status.json", NULL, 0, 0);
		filler(buf, "control", NULL, 0, 0);
		filler(buf, "events", NULL, 0, 0);
	}
	return 0;
}

/* Truncating /image to its own size is a no-op; any other size would need
 * a reshape. The control and status files ignore truncation so that shell
 * redirections (">") work on them even without atomic_o_trunc. */
int
fe_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct r5_fe *fe = fe_get();

	switch (fe_node(path, fi)) {
	case R5_FE_NONE:
		return -ENOENT;
	case R5_FE_ROOT:
	case R5_FE_META:
		return -EISDIR;
	case R5_FE_IMAGE:
		if (size >= 0 && (uint64_t)size == fe->size)
			return 0;
		return -EPERM;
	default:
		return 0;
	}
}

/* Times are fixed; accepting utimens keeps "touch" and "cp -p" quiet. */
int
fe_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	(void)tv;
	return fe_node(path, fi) == R5_FE_NONE ? -ENOENT : 0;
}

int
fe_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)mode;
	return fe_node(path, fi) == R5_FE_NONE ? -ENOENT : -EPERM;
}

int
fe_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)uid;
	(void)gid;
	return fe_node(path, fi) == R5_FE_NONE ? -ENOENT : -EPERM;
}

/* The tree is fixed: nothing can be created, removed or renamed. */
int
fe_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)path;
	(void)mode;
	(void)fi;
	return -EPERM;
}

int
fe_mkdir(const char *path, mode_t mode)
{
	(void)path;
	(void)mode;
	return -EPERM;
}

int
fe_unlink(const char *path)
{
	(void)path;
	return -EPERM;
}

int
fe_rename(const char *from, const char *to, unsigned int flags)
{
	(void)from;
	(void)to;
	(void)flags;
	return -EPERM;
}

/* df shows the image as the used blocks of a full filesystem. */
int
fe_statfs(const char *path, struct statvfs *sv)
{
	struct r5_fe *fe = fe_get();

	(void)path;
	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = 4096;
	sv->f_frsize = 4096;
	sv->f_blocks = (fsblkcnt_t)((fe->size + 4095) / 4096);
	sv->f_files = sizeof(fe_nodes) / sizeof(fe_nodes[0]);
	sv->f_namemax = 255;
	return 0;
}
