/* cli_util.c - helpers shared by the subcommands: error lines, option
 * values, mount point lookup. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "raid5fs/util.h"

int
cli_error(const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "raid5fs: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_ERR;
}

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "raid5fs: %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'raid5fs %s --help')\n", cmd);
	return CLI_USAGE;
}

int
cli_bad_option(const char *cmd, char **argv, int optc)
{
	if (optc == ':')
		return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
	if (optopt != 0)
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
}

int
cli_parse_size(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
	if (r5_parse_size(s, out) < 0)
		return cli_usage(cmd, "%s: invalid size '%s' (e.g. 4096, 64K, 1G)", opt, s);
	return 0;
}

int
cli_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		return cli_usage(cmd, "%s: invalid number '%s'", opt, s);
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return cli_usage(cmd, "%s: invalid number '%s'", opt, s);
	*out = (uint32_t)v;
	return 0;
}

int
cli_abspath(const char *path, char *out, size_t outlen)
{
	char copy[PATH_MAX];
	char dir[PATH_MAX];
	char *slash, *base;
	size_t n = strlen(path);

	if (n == 0)
		return -ENOENT;
	if (n >= sizeof(copy))
		return -ENAMETOOLONG;
	memcpy(copy, path, n + 1);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = '\0';
	if (realpath(copy, dir) != NULL) {
		if (strlen(dir) >= outlen)
			return -ENAMETOOLONG;
		strcpy(out, dir);
		return 0;
	}
	/* path itself is unreachable: resolve its directory instead. */
	slash = strrchr(copy, '/');
	if (slash == NULL) {
		base = copy;
		if (getcwd(dir, sizeof(dir)) == NULL)
			return -errno;
	} else {
		base = slash + 1;
		if (slash == copy) {
			strcpy(dir, "/");
		} else {
			*slash = '\0';
			if (realpath(copy, dir) == NULL)
				return -errno;
		}
	}
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -ENOTCONN; /* the unreachable thing is the directory itself */
	if ((size_t)snprintf(out, outlen, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", base) >=
	    outlen)
		return -ENAMETOOLONG;
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape_octal(char *s)
{
	char *w = s;

	while (*s != '\0') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

int
cli_mount_lookup(const char *abspath, char *fstype, size_t fslen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	if (f == NULL)
		return -errno;
	/* id parent maj:min root MOUNTPOINT opts [optional...] - FSTYPE source superopts */
	while (getline(&line, &cap, f) > 0) {
		char *save = NULL;
		char *tok = strtok_r(line, " \n", &save);
		char *mnt = NULL;
		int i;

		for (i = 0; tok != NULL && i < 4; i++)
			tok = strtok_r(NULL, " \n", &save);
		if (tok == NULL)
			continue;
		mnt = tok;
		unescape_octal(mnt);
		if (strcmp(mnt, abspath) != 0)
			continue;
		while ((tok = strtok_r(NULL, " \n", &save)) != NULL && strcmp(tok, "-") != 0)
			;
		tok = tok != NULL ? strtok_r(NULL, " \n", &save) : NULL;
		snprintf(fstype, fslen, "%s", tok != NULL ? tok : "");
		found = 1; /* keep going: the last entry is the mount on top */
	}
	free(line);
	fclose(f);
	return found;
}

int
cli_require_raid5fs_mount(const char *mnt, char *abs)
{
	char fstype[64];
	int r = cli_abspath(mnt, abs, PATH_MAX);

	if (r < 0)
		return cli_error(mnt, "%s", strerror(-r));
	r = cli_mount_lookup(abs, fstype, sizeof(fstype));
	if (r < 0)
		return cli_error("/proc/self/mountinfo", "%s", strerror(-r));
	if (r == 0 || strcmp(fstype, "fuse.raid5fs") != 0)
		return cli_error(mnt, "not a raid5fs mount");
	return 0;
}

int
cli_read_file(const char *path, char **buf, size_t *len)
{
	size_t cap = 16384, n = 0;
	char *b = malloc(cap);
	int fd;

	if (b == NULL)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		free(b);
		return -e;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 >= cap) {
			char *nb = realloc(b, cap * 2);

			if (nb == NULL) {
				free(b);
				close(fd);
				return -ENOMEM;
			}
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;

			free(b);
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}
