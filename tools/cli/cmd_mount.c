/* cmd_mount.c - raid5fs mount: assemble an array and serve it via FUSE. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "raid5fs/array.h"
#include "raid5fs/frontend.h"

/* Longest -o string we accept (all -o given, joined). */
#define MOUNT_OPTS_MAX 4096

static void
mount_help(void)
{
	printf("Usage: raid5fs mount [-f] [--force] [-k KEYFILE] [-o OPTIONS] MEMBER... MOUNTPOINT\n"
	       "Assemble the array from its member files (any order; hot spares among\n"
	       "them, see 'raid5fs add') and show it as MOUNTPOINT/image; status and\n"
	       "control live in MOUNTPOINT/.raid5fs/.\n"
	       "Returns once the mount is ready, unless -f.\n\n"
	       "  -f, --foreground    stay in the foreground, log to stderr\n"
	       "      --force         start an array that was not stopped cleanly AND is\n"
	       "                      degraded although its last run had no parity log\n"
	       "                      (consistency_policy=bitmap): the parity of the rows\n"
	       "                      being written may not match, so the missing member's\n"
	       "                      data there may be wrong. Check the data afterwards\n"
	       "  -k, --key-file FILE the key of an array made with --checksum hmac-sha256\n"
	       "  -o, --options OPTS  comma-separated, may be repeated:\n"
	       "        stripe_cache_size=N  stripe heads in the cache\n"
	       "        strip_size=SIZE      bytes per member per stripe head\n"
	       "        consistency_policy=ppl|bitmap  after a crash: ppl (default) keeps a\n"
	       "                             partial parity log, so a crashed array starts\n"
	       "                             even with a member missing; bitmap does not\n"
	       "                             (a little faster; md's write hole)\n"
	       "        workers=N            engine worker threads (default 4)\n"
	       "        io_workers=N         threads that only read/write members (default 12)\n"
	       "        direct_io=0|1        bypass the page cache for the image (default 1)\n"
	       "        fuse_threads=N       FUSE request threads\n"
	       "        events=PROGRAM       run PROGRAM EVENT MOUNTPOINT [SLOT [MEMBER]]\n"
	       "                             for each event (see 'raid5fs events'), with\n"
	       "                             RAID5FS_* variables; it never holds up I/O\n"
	       "        anything else is passed to FUSE (e.g. allow_other)\n"
	       "  -h, --help          this help\n\n"
	       "Example: raid5fs mount d/m0 d/m1 d/m2 d/m3 mnt\n");
}

/* Splits one -o argument; engine and frontend options are taken, the rest
 * is appended to fuse_opts. */
/* -o events=PROGRAM: an executable file, by path (made absolute: the daemon
 * leaves the current directory) or found in PATH; checked now so that a
 * typo is one line at mount, not a failure at the first event. */
static int
mount_events_program(const char *prog, struct r5_frontend_opts *fo)
{
	static char resolved[PATH_MAX];

	if (strchr(prog, '/')) {
		if (!realpath(prog, resolved))
			return cli_usage("mount", "events: %s: %s", prog, strerror(errno));
	} else {
		char *dirs = strdup(getenv("PATH") ? getenv("PATH") : ""), *save = NULL;
		bool found = false;

		if (!dirs)
			return cli_usage("mount", "out of memory");
		for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
			snprintf(resolved, sizeof(resolved), "%s/%s", d, prog);
			found = access(resolved, X_OK) == 0;
		}
		free(dirs);
		if (!found)
			return cli_usage("mount", "events: %s: not found in PATH", prog);
	}
	struct stat st;

	if (stat(resolved, &st) != 0 || !S_ISREG(st.st_mode) || access(resolved, X_OK) != 0)
		return cli_usage("mount", "events: %s: not an executable file", prog);
	fo->events_program = resolved;
	return 0;
}

static int
mount_parse_opts(char *s, struct r5_engine_opts *eo, struct r5_frontend_opts *fo,
		 char *fuse_opts, size_t fuse_len)
{
	char *save = NULL;
	char *opt;

	for (opt = strtok_r(s, ",", &save); opt != NULL; opt = strtok_r(NULL, ",", &save)) {
		char *val = strchr(opt, '=');
		uint64_t size;
		uint32_t n;

		if (val != NULL)
			*val++ = '\0';
		if (strcmp(opt, "stripe_cache_size") == 0 || strcmp(opt, "workers") == 0 ||
		    strcmp(opt, "io_workers") == 0 ||
		    strcmp(opt, "fuse_threads") == 0 || strcmp(opt, "direct_io") == 0) {
			if (val == NULL)
				return cli_usage("mount", "-o %s needs a value", opt);
			if (cli_parse_u32("mount", opt, val, &n) != 0)
				return CLI_USAGE;
			if (strcmp(opt, "stripe_cache_size") == 0) {
				eo->stripe_cache_size = n;
			} else if (strcmp(opt, "workers") == 0) {
				eo->nr_workers = n;
			} else if (strcmp(opt, "io_workers") == 0) {
				eo->nr_io_workers = n;
			} else if (strcmp(opt, "fuse_threads") == 0) {
				fo->max_threads = n;
			} else {
				if (n > 1)
					return cli_usage("mount", "direct_io: must be 0 or 1");
				fo->direct_io = n == 1;
			}
		} else if (strcmp(opt, "consistency_policy") == 0) {
			if (val == NULL)
				return cli_usage("mount", "-o consistency_policy needs a value (ppl or bitmap)");
			if (strcmp(val, "ppl") == 0)
				eo->consistency_policy = R5_CONSISTENCY_PPL;
			else if (strcmp(val, "bitmap") == 0)
				eo->consistency_policy = R5_CONSISTENCY_BITMAP;
			else
				return cli_usage("mount", "consistency_policy: '%s' is not ppl or bitmap", val);
		} else if (strcmp(opt, "events") == 0) {
			if (val == NULL || val[0] == '\0')
				return cli_usage("mount", "-o events needs a program");
			if (mount_events_program(val, fo) != 0)
				return CLI_USAGE;
		} else if (strcmp(opt, "strip_size") == 0) {
			if (val == NULL)
				return cli_usage("mount", "-o strip_size needs a value");
			if (cli_parse_size("mount", "strip_size", val, &size) != 0)
				return CLI_USAGE;
			if (size > UINT32_MAX)
				return cli_usage("mount", "strip_size: %s is too large", val);
			eo->strip_size = (uint32_t)size;
		} else if (opt[0] != '\0') {
			size_t len = strlen(fuse_opts);
			int w = snprintf(fuse_opts + len, fuse_len - len, "%s%s%s%s",
					 len ? "," : "", opt, val ? "=" : "", val ? val : "");

			if (w < 0 || (size_t)w >= fuse_len - len)
				return cli_usage("mount", "-o options too long");
		}
	}
	return 0;
}

/* The mount point must be an existing directory that nothing is mounted
 * on yet. */
static int
mount_check_mountpoint(const char *mnt, char *abs)
{
	char parent[PATH_MAX + 4];
	char fstype[64];
	struct stat st, pst;
	int r;

	if (stat(mnt, &st) < 0) {
		if (errno == ENOTCONN)
			return cli_error(mnt, "mount point in use (stale mount: "
					      "run 'raid5fs umount %s')", mnt);
		return cli_error(mnt, "%s", strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return cli_error(mnt, "not a directory");
	r = cli_abspath(mnt, abs, PATH_MAX);
	if (r < 0)
		return cli_error(mnt, "%s", strerror(-r));
	snprintf(parent, sizeof(parent), "%s/..", abs);
	if (stat(parent, &pst) == 0 && strcmp(abs, "/") != 0 &&
	    (pst.st_dev != st.st_dev || pst.st_ino == st.st_ino))
		return cli_error(mnt, "mount point in use");
	r = cli_mount_lookup(abs, fstype, sizeof(fstype));
	if (r > 0 || strcmp(abs, "/") == 0)
		return cli_error(mnt, "mount point in use");
	return 0;
}

int
cmd_mount(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "options", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'F' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct r5_engine_opts eo;
	struct r5_frontend_opts fo;
	struct r5_array *a = NULL;
	char fuse_opts[MOUNT_OPTS_MAX] = "";
	char mnt_abs[PATH_MAX];
	char err[512];
	char **paths = NULL;
	int nr_members, c, i, r, rc;

	memset(&eo, 0, sizeof(eo));
	r5_frontend_opts_init(&fo);
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:fo:k:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			fo.foreground = true;
			break;
		case 'F':
			eo.force = true;
			break;
		case 'k':
			eo.key_file = optarg; /* read by assembly, before the daemon starts */
			break;
		case 'o':
			if (strlen(optarg) >= MOUNT_OPTS_MAX)
				return cli_usage("mount", "-o options too long");
			r = mount_parse_opts(optarg, &eo, &fo, fuse_opts, sizeof(fuse_opts));
			if (r != 0)
				return r;
			break;
		case 'h':
			mount_help();
			return CLI_OK;
		default:
			return cli_bad_option("mount", argv, c);
		}
	}
	if (argc - optind < 2)
		return cli_usage("mount", "need MEMBER files and a MOUNTPOINT");
	nr_members = argc - optind - 1;
	fo.fuse_opts = fuse_opts[0] ? fuse_opts : NULL;

	rc = mount_check_mountpoint(argv[argc - 1], mnt_abs);
	if (rc != 0)
		return rc;

	/* Absolute member paths: the daemon runs in "/", and status shows
	 * paths that mean something from anywhere. */
	paths = calloc((size_t)nr_members, sizeof(*paths));
	if (paths == NULL)
		return cli_error("mount", "out of memory");
	for (i = 0; i < nr_members; i++) {
		const char *p = argv[optind + i];

		paths[i] = malloc(PATH_MAX);
		if (paths[i] == NULL) {
			rc = cli_error("mount", "out of memory");
			goto out;
		}
		if (cli_abspath(p, paths[i], PATH_MAX) < 0)
			snprintf(paths[i], PATH_MAX, "%s", p); /* let assembly say why */
	}

	err[0] = '\0';
	r = r5_array_assemble((const char *const *)paths, nr_members, &eo, &a, err, sizeof(err));
	if (r < 0) {
		if (err[0] != '\0')
			fprintf(stderr, "raid5fs: %s\n", err);
		else
			fprintf(stderr, "raid5fs: %s: cannot assemble: %s\n", argv[argc - 1],
				strerror(-r));
		rc = CLI_ERR;
		goto out;
	}
	/* Owns a from here; without -f only the daemon comes back. */
	rc = r5_frontend_run(a, mnt_abs, &fo) == 0 ? CLI_OK : CLI_ERR;
out:
	for (i = 0; i < nr_members; i++)
		free(paths[i]);
	free(paths);
	return rc;
}
