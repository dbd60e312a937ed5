/* cli_util.c - helpers shared by the subcommands: error lines, option
 * values, mount point lookup, status.json values, control commands and
 * waiting for a sync action. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

/* ---- status.json: one small JSON value extractor ----
 *
 * Enough JSON for the engine's status.json (and any well-formed JSON):
 * objects, arrays, strings with escapes, numbers and literals. It walks the
 * text, so a key only matches at the place the path names (the "reads" of
 * a member is not the "reads" of "io"). */

#define JSON_MAX_DEPTH 32

static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static int
json_hex4(const char *p, unsigned *cp)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*cp = v;
	return 0;
}

/* p is on the opening quote. Unescapes the string into out (when out is not
 * NULL; *fits says whether all of it fit) and returns the character after
 * the closing quote, or NULL when the string is malformed. */
static const char *
json_string(const char *p, char *out, size_t outlen, bool *fits)
{
	size_t n = 0;
	char enc[4];

	if (fits != NULL)
		*fits = true;
	p++;
	while (*p != '"') {
		size_t elen = 1;

		if (*p == '\0' || (unsigned char)*p < 0x20)
			return NULL;
		if (*p != '\\') {
			enc[0] = *p++;
		} else {
			unsigned cp;

			switch (p[1]) {
			case '"': case '\\': case '/':
				enc[0] = p[1];
				break;
			case 'b': enc[0] = '\b'; break;
			case 'f': enc[0] = '\f'; break;
			case 'n': enc[0] = '\n'; break;
			case 'r': enc[0] = '\r'; break;
			case 't': enc[0] = '\t'; break;
			case 'u':
				if (json_hex4(p + 2, &cp) < 0)
					return NULL;
				p += 4;
				/* UTF-8; a surrogate half is kept as is */
				if (cp < 0x80) {
					enc[0] = (char)cp;
				} else if (cp < 0x800) {
					enc[0] = (char)(0xc0 | (cp >> 6));
					enc[1] = (char)(0x80 | (cp & 0x3f));
					elen = 2;
				} else {
					enc[0] = (char)(0xe0 | (cp >> 12));
					enc[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
					enc[2] = (char)(0x80 | (cp & 0x3f));
					elen = 3;
				}
				break;
			default:
				return NULL;
			}
			p += 2;
		}
		if (out != NULL) {
			if (n + elen < outlen) {
				memcpy(out + n, enc, elen);
				n += elen;
			} else {
				*fits = false;
			}
		}
	}
	if (out != NULL && outlen > 0)
		out[n] = '\0';
	return p + 1;
}

/* Skips the value at p; returns the character after it, or NULL. */
static const char *
json_skip(const char *p, int depth)
{
	const char *start;

	p = json_ws(p);
	if (depth > JSON_MAX_DEPTH)
		return NULL;
	if (*p == '"')
		return json_string(p, NULL, 0, NULL);
	if (*p == '{' || *p == '[') {
		bool obj = *p == '{';
		char close = obj ? '}' : ']';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				if (*p != '"' || (p = json_string(p, NULL, 0, NULL)) == NULL)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			if ((p = json_skip(p, depth + 1)) == NULL)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
			p = json_ws(p);
		}
	}
	/* a number, true, false or null */
	start = p;
	while (*p != '\0' && strchr("+-.0123456789eEtrufalsn", *p) != NULL)
		p++;
	return p == start ? NULL : p;
}

/* Copies the value at p into out. */
static int
json_value(const char *p, char *out, size_t outlen)
{
	const char *end;
	bool fits;

	p = json_ws(p);
	if (*p == '"') {
		if (json_string(p, out, outlen, &fits) == NULL)
			return -EINVAL;
		return fits ? 1 : -ERANGE;
	}
	end = json_skip(p, 0);
	if (end == NULL)
		return -EINVAL;
	if ((size_t)(end - p) >= outlen)
		return -ERANGE;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 1;
}

static int
json_find(const char *p, const char *path, char *out, size_t outlen, int depth)
{
	const char *dot = strchr(path, '.');
	size_t n = dot != NULL ? (size_t)(dot - path) : strlen(path);
	char comp[64], key[64];
	bool fits;

	if (n == 0 || n >= sizeof(comp) || depth > JSON_MAX_DEPTH)
		return -EINVAL;
	memcpy(comp, path, n);
	comp[n] = '\0';
	p = json_ws(p);
	if (*p == '{') {
		p = json_ws(p + 1);
		if (*p == '}')
			return 0;
		for (;;) {
			if (*p != '"' || (p = json_string(p, key, sizeof(key), &fits)) == NULL)
				return -EINVAL;
			p = json_ws(p);
			if (*p++ != ':')
				return -EINVAL;
			if (fits && strcmp(key, comp) == 0)
				return dot != NULL ? json_find(p, dot + 1, out, outlen, depth + 1)
						   : json_value(p, out, outlen);
			if ((p = json_skip(p, depth + 1)) == NULL)
				return -EINVAL;
			p = json_ws(p);
			if (*p == '}')
				return 0;
			if (*p++ != ',')
				return -EINVAL;
			p = json_ws(p);
		}
	}
	if (*p == '[') {
		unsigned long idx, i;
		char *end;

		if (comp[0] < '0' || comp[0] > '9')
			return 0; /* a key is never found in an array */
		idx = strtoul(comp, &end, 10);
		if (*end != '\0')
			return 0;
		p = json_ws(p + 1);
		if (*p == ']')
			return 0;
		for (i = 0;; i++) {
			if (i == idx)
				return dot != NULL ? json_find(p, dot + 1, out, outlen, depth + 1)
						   : json_value(p, out, outlen);
			if ((p = json_skip(p, depth + 1)) == NULL)
				return -EINVAL;
			p = json_ws(p);
			if (*p == ']')
				return 0;
			if (*p++ != ',')
				return -EINVAL;
		}
	}
	return 0; /* a string, number or literal has no members */
}

int
cli_json_get(const char *json, const char *path, char *out, size_t outlen)
{
	if (outlen == 0)
		return -ERANGE;
	out[0] = '\0';
	return json_find(json, path, out, outlen, 0);
}

bool
cli_json_u64(const char *json, const char *path, uint64_t *out)
{
	char v[32];
	char *end;

	if (cli_json_get(json, path, v, sizeof(v)) != 1 || v[0] < '0' || v[0] > '9')
		return false;
	errno = 0;
	*out = strtoull(v, &end, 10);
	/* "0.5000" reads as 0: only callers of integer keys use this */
	return errno == 0 && (*end == '\0' || *end == '.' || *end == 'e' || *end == 'E');
}

/* ---- the control folder ---- */

static int
cli_meta_error(const char *mnt, const char *path, int err)
{
	if (err == ENOTCONN)
		return cli_error(mnt, "the raid5fs daemon is gone (stale mount: run 'raid5fs umount %s')",
				 mnt);
	if (err == ENOENT)
		return cli_error(path, "%s (is this a raid5fs mount?)", strerror(err));
	return cli_error(path, "%s", strerror(err));
}

int
cli_meta_read(const char *mnt, const char *abs, const char *name, char **buf, size_t *len, bool quiet)
{
	char path[PATH_MAX + 32];
	int r;

	snprintf(path, sizeof(path), "%s/.raid5fs/%s", abs, name);
	r = cli_read_file(path, buf, len);
	if (r < 0)
		return quiet ? CLI_ERR : cli_meta_error(mnt, path, -r);
	return CLI_OK;
}

int
cli_status_json(const char *mnt, const char *abs, char **json)
{
	size_t len;

	return cli_meta_read(mnt, abs, "status.json", json, &len, false);
}

/* The engine's reason for a refused command: the reply read back from
 * offset 0 of the fd the command was written to (a fresh open could read
 * another client's reply). 1 and the reason printed, or 0. */
static int
cli_control_reason(int fd, const char *mnt)
{
	char reply[1024];
	ssize_t r;

	do
		r = pread(fd, reply, sizeof(reply) - 1, 0);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0;
	reply[r] = '\0';
	if (strncmp(reply, "error: ", 7) != 0)
		return 0;
	reply[7 + strcspn(reply + 7, "\n")] = '\0';
	cli_error(mnt, "%s", reply + 7);
	return 1;
}

int
cli_control(const char *mnt, const char *abs, const char *cmd)
{
	char path[PATH_MAX + 32];
	char line[PATH_MAX + 64];
	bool reported = false;
	size_t n;
	ssize_t w;
	int fd, err;

	snprintf(path, sizeof(path), "%s/.raid5fs/control", abs);
	n = (size_t)snprintf(line, sizeof(line), "%s\n", cmd);
	if (n >= sizeof(line))
		return cli_error(mnt, "command too long");
	/* O_RDWR: the reply to our command is read back from this same fd. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == EACCES)
			return cli_error(path, "permission denied (only the user who mounted the "
					       "array may control it)");
		return cli_meta_error(mnt, path, err);
	}
	/* One write: the engine runs each write's lines as one request. */
	do
		w = write(fd, line, n);
	while (w < 0 && errno == EINTR);
	err = w < 0 ? errno : (size_t)w != n ? EIO : 0;
	/* A refused command: the handle keeps "error: <reason>". */
	if (err != 0 && err != ENOTCONN)
		reported = cli_control_reason(fd, mnt) == 1;
	if (close(fd) < 0 && err == 0 && errno != EINTR)
		err = errno;
	if (err == 0)
		return CLI_OK;
	if (reported)
		return CLI_ERR;
	if (err == ENOTCONN)
		return cli_meta_error(mnt, path, err);
	return cli_error(mnt, "%s: %s", cmd, strerror(err));
}

static void
cli_format_eta(const char *eta, char *buf, size_t len)
{
	char *end;
	long long s;

	errno = 0;
	s = strtoll(eta, &end, 10);
	if (eta[0] == '\0' || *end != '\0' || errno != 0 || s < 0) {
		snprintf(buf, len, "?");
		return;
	}
	if (s >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%lld:%02lld", s / 60, s % 60);
}

/* "recover  42.1%  108 MiB of 256 MiB  35.2 MiB/s  ETA 0:04" */
static void
cli_progress_line(const char *json, const char *action, char *buf, size_t len)
{
	char progress[32], eta[32], etabuf[32], done[32], total[32], rate[32];
	uint64_t d = 0, t = 0, r = 0;

	if (cli_json_get(json, "sync.progress", progress, sizeof(progress)) != 1)
		snprintf(progress, sizeof(progress), "0");
	if (cli_json_get(json, "sync.eta_s", eta, sizeof(eta)) != 1)
		eta[0] = '\0';
	cli_json_u64(json, "sync.done_bytes", &d);
	cli_json_u64(json, "sync.total_bytes", &t);
	cli_json_u64(json, "sync.rate_bytes_per_s", &r);
	cli_format_eta(eta, etabuf, sizeof(etabuf));
	snprintf(buf, len, "%s %5.1f%%  %s of %s  %s/s  ETA %s", action, strtod(progress, NULL) * 100,
		 r5_format_size(d, done, sizeof(done)), r5_format_size(t, total, sizeof(total)),
		 r5_format_size(r, rate, sizeof(rate)), etabuf);
}

int
cli_sync_wait(const char *mnt, const char *abs, char **json)
{
	const struct timespec tick = { 0, 500 * 1000 * 1000 };
	const bool tty = isatty(STDERR_FILENO) == 1;
	uint64_t last_line = r5_now_ns();
	size_t shown = 0; /* width of the line on the terminal */
	char action[32], line[256];

	for (;;) {
		char *buf;
		int r = cli_status_json(mnt, abs, &buf);

		if (r != CLI_OK) {
			if (shown > 0)
				fputc('\n', stderr);
			return r;
		}
		if (cli_json_get(buf, "sync.action", action, sizeof(action)) != 1) {
			free(buf);
			if (shown > 0)
				fputc('\n', stderr);
			return cli_error(mnt, "status.json has no sync.action");
		}
		if (strcmp(action, "idle") == 0) {
			if (shown > 0) /* clear the progress line */
				fprintf(stderr, "\r%*s\r", (int)shown, "");
			*json = buf;
			return CLI_OK;
		}
		cli_progress_line(buf, action, line, sizeof(line));
		free(buf);
		if (tty) {
			size_t n = strlen(line);

			fprintf(stderr, "\r%s%*s", line, n < shown ? (int)(shown - n) : 0, "");
			if (n > shown)
				shown = n;
			fflush(stderr);
		} else if (r5_now_ns() - last_line >= 10ull * 1000 * 1000 * 1000) {
			fprintf(stderr, "%s\n", line);
			last_line = r5_now_ns();
		}
		nanosleep(&tick, NULL);
	}
}

int
cli_parse_slot(const char *cmd, const char *s, uint32_t *slot)
{
	if (cli_parse_u32(cmd, "SLOT", s, slot) != 0)
		return CLI_USAGE;
	return 0;
}

int
cli_mount_only_status(const char *cmd, int argc, char **argv, void (*help)(void),
		      const char **mnt, char *abs, char **json)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option(cmd, argv, c);
		help();
		return CLI_OK;
	}
	if (argc - optind != 1)
		return cli_usage(cmd, "need exactly one MOUNTPOINT");
	*mnt = argv[optind];
	r = cli_require_raid5fs_mount(*mnt, abs);
	if (r != 0)
		return r;
	r = cli_status_json(*mnt, abs, json);
	return r != CLI_OK ? r : -1;
}
