/* cmd_damage.c - raid5fs damage: the image ranges that could not be healed,
 * and the files of an ext2/3/4 filesystem on the image that own them.
 *
 * The engine lists the blocks that failed their checksum and have been
 * neither rebuilt nor rewritten since (status.json "unhealed_blocks"). The
 * names come from e2fsprogs' debugfs, run read-only on the image: icheck
 * turns filesystem blocks into inode numbers, ncheck inode numbers into
 * paths. Nothing here writes anything. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

#define DAMAGE_BLOCK 4096u /* the engine's checksum unit */

static void
damage_help(void)
{
	printf("Usage: raid5fs damage MOUNTPOINT\n"
	       "List the image byte ranges whose blocks failed their checksum and could\n"
	       "not be rebuilt from the other members (a second bad or missing block in\n"
	       "the same stripe row): reads there fail with EIO. Blocks that were healed\n"
	       "or rewritten since are not listed; the list covers what was read since\n"
	       "the mount (run 'raid5fs check --wait' first to read everything). When the\n"
	       "image holds an ext2/3/4 filesystem, the files that own those ranges are\n"
	       "named (debugfs from e2fsprogs, read-only).\n\n"
	       "Exit status: 0 nothing damaged, 1 damage listed (or an error, said on\n"
	       "stderr), 2 usage.\n\n"
	       "  -h, --help   this help\n");
}

struct damaged {
	uint32_t slot;
	uint64_t member_offset;
	int64_t image_offset; /* -1: a parity block */
};

static int
by_image_offset(const void *pa, const void *pb)
{
	const struct damaged *a = pa, *b = pb;

	if (a->image_offset != b->image_offset)
		return a->image_offset < b->image_offset ? -1 : 1;
	return a->slot < b->slot ? -1 : a->slot > b->slot;
}

/* Runs debugfs -R "request" image and returns its stdout (malloc'd), or
 * NULL if it cannot be run. */
static char *
debugfs_run(const char *image, const char *request)
{
	int pfd[2];
	pid_t pid;
	char *out = NULL;
	size_t len = 0, cap = 0;
	int status;

	if (pipe(pfd) < 0)
		return NULL;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return NULL;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		dup2(pfd[1], STDOUT_FILENO);
		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		close(pfd[0]);
		close(pfd[1]);
		execlp("debugfs", "debugfs", "-R", request, image, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *p = realloc(out, cap = cap ? 2 * cap : 16384);

			if (!p)
				break;
			out = p;
		}
		ssize_t n = read(pfd[0], out + len, cap - len - 1);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(pfd[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !out) {
		free(out);
		return NULL;
	}
	out[len] = '\0';
	return out;
}

/* The filesystem block size if the image starts with an ext2/3/4
 * superblock, else 0. */
static uint32_t
ext_block_size(const char *image)
{
	uint8_t sb[1024];
	int fd = open(image, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = pread(fd, sb, sizeof(sb), 1024);
	close(fd);
	if (n != (ssize_t)sizeof(sb) || sb[56] != 0x53 || sb[57] != 0xef) /* s_magic */
		return 0;
	uint32_t log = sb[24] | sb[25] << 8 | sb[26] << 16 | (uint32_t)sb[27] << 24;

	return log <= 6 ? 1024u << log : 0;
}

/* Prints the files that own the damaged data ranges of an ext2/3/4 image. */
static void
damage_files(const char *image, const struct damaged *d, uint64_t n, uint32_t bs)
{
	size_t cap = 64 + n * (DAMAGE_BLOCK / bs + 1) * 24, len;
	char *req = malloc(cap), *out, *line, *save = NULL;
	uint64_t inodes[256];
	unsigned ninodes = 0;
	bool unowned = false;

	if (!req)
		return;
	len = (size_t)snprintf(req, cap, "icheck");
	for (uint64_t i = 0; i < n; i++) {
		if (d[i].image_offset < 0)
			continue;
		for (uint64_t b = (uint64_t)d[i].image_offset / bs;
		     b < ((uint64_t)d[i].image_offset + DAMAGE_BLOCK + bs - 1) / bs; b++)
			len += (size_t)snprintf(req + len, cap - len, " %" PRIu64, b);
	}
	out = debugfs_run(image, req);
	free(req);
	if (!out) {
		printf("ext2/3/4 filesystem on the image, but 'debugfs' (e2fsprogs) could not be run to name its files\n");
		return;
	}
	/* "Block\tInode number" then "B\tI" or "B\t<block not found>" */
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t blk, ino;

		if (sscanf(line, "%" SCNu64 "\t%" SCNu64, &blk, &ino) == 2) {
			bool seen = false;

			for (unsigned k = 0; k < ninodes; k++)
				seen |= inodes[k] == ino;
			if (!seen && ninodes < sizeof(inodes) / sizeof(inodes[0]))
				inodes[ninodes++] = ino;
		} else if (sscanf(line, "%" SCNu64, &blk) == 1 && strstr(line, "not found")) {
			unowned = true;
		}
	}
	free(out);
	if (ninodes == 0) {
		printf("files: none (the damaged blocks hold free space or filesystem metadata)\n");
		return;
	}
	req = malloc(16 + ninodes * 24);
	if (!req)
		return;
	len = (size_t)sprintf(req, "ncheck");
	for (unsigned k = 0; k < ninodes; k++)
		len += (size_t)sprintf(req + len, " %" PRIu64, inodes[k]);
	out = debugfs_run(image, req);
	free(req);
	printf("files that own damaged blocks:\n");
	if (!out) {
		for (unsigned k = 0; k < ninodes; k++)
			printf("  inode %" PRIu64 " (no name: debugfs ncheck failed)\n", inodes[k]);
		return;
	}
	/* "Inode\tPathname" then "I\t/path" */
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t ino;
		char *tab = strchr(line, '\t');

		if (tab && sscanf(line, "%" SCNu64, &ino) == 1)
			printf("  %s (inode %" PRIu64 ")\n", tab + 1, ino);
	}
	if (unowned)
		printf("  (and blocks of free space or filesystem metadata)\n");
	free(out);
}

int
cmd_damage(int argc, char **argv)
{
	char abs[PATH_MAX], image[PATH_MAX + 8], key[96], v[32];
	struct damaged *d = NULL;
	uint64_t total = 0, n = 0;
	const char *mnt;
	char *json;
	int r = cli_mount_only_status("damage", argc, argv, damage_help, &mnt, abs, &json);

	if (r >= 0)
		return r;
	if (!cli_json_u64(json, "unhealed_blocks_total", &total)) {
		free(json);
		return cli_error(mnt, "status.json has no unhealed_blocks_total (a raid5fs without checksums?)");
	}
	if (total > 0)
		d = calloc(total, sizeof(*d));
	for (uint64_t i = 0; d && i < total; i++) {
		uint64_t slot, moff, ioff;

		snprintf(key, sizeof(key), "unhealed_blocks.%" PRIu64 ".slot", i);
		if (!cli_json_u64(json, key, &slot))
			break; /* more than the engine lists one by one */
		snprintf(key, sizeof(key), "unhealed_blocks.%" PRIu64 ".member_offset", i);
		if (!cli_json_u64(json, key, &moff))
			break;
		snprintf(key, sizeof(key), "unhealed_blocks.%" PRIu64 ".image_offset", i);
		d[n].slot = (uint32_t)slot;
		d[n].member_offset = moff;
		d[n].image_offset = cli_json_u64(json, key, &ioff) ? (int64_t)ioff : -1;
		n++;
	}
	if (cli_json_get(json, "checksum", v, sizeof(v)) != 1)
		v[0] = '\0';
	free(json);
	if (total == 0) {
		printf("no damaged blocks (checksums: %s)\n", v[0] ? v : "?");
		return CLI_OK;
	}
	qsort(d, n, sizeof(*d), by_image_offset);
	printf("%" PRIu64 " damaged block%s that could not be rebuilt:\n", total, total == 1 ? "" : "s");
	for (uint64_t i = 0; i < n; i++) {
		if (d[i].image_offset < 0)
			printf("  parity block: member %u at member offset %" PRIu64
			       " (holds no file data; the row's other blocks read directly)\n",
			       d[i].slot, d[i].member_offset);
		else
			printf("  image bytes %" PRId64 "-%" PRId64 ": member %u at member offset %" PRIu64
			       "\n",
			       d[i].image_offset, d[i].image_offset + DAMAGE_BLOCK - 1, d[i].slot,
			       d[i].member_offset);
	}
	if (n < total)
		printf("  ... and %" PRIu64 " more\n", total - n);
	snprintf(image, sizeof(image), "%s/image", abs);
	uint32_t bs = ext_block_size(image);

	if (bs)
		damage_files(image, d, n, bs);
	free(d);
	if (fflush(stdout) != 0)
		return cli_error("stdout", "write error");
	return CLI_ERR;
}
