/* cmd_status.c - raid5fs status: print MOUNTPOINT/.raid5fs/status(.json). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
status_help(void)
{
	printf("Usage: raid5fs status [--json] MOUNTPOINT\n"
	       "Show the state of a mounted array: members, health, sync progress and\n"
	       "ETA, cache and I/O counters.\n\n"
	       "  -j, --json   machine-readable JSON instead of text\n"
	       "  -h, --help   this help\n");
}

int
cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char abs[PATH_MAX];
	char path[PATH_MAX + 32];
	const char *mnt;
	bool json = false;
	char *buf;
	size_t len;
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			status_help();
			return CLI_OK;
		default:
			return cli_bad_option("status", argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage("status", "need exactly one MOUNTPOINT");
	mnt = argv[optind];
	r = cli_require_raid5fs_mount(mnt, abs);
	if (r != 0)
		return r;
	snprintf(path, sizeof(path), "%s/.raid5fs/%s", abs, json ? "status.json" : "status");
	r = cli_read_file(path, &buf, &len);
	if (r == -ENOTCONN)
		return cli_error(mnt, "the raid5fs daemon is gone (stale mount: run 'raid5fs umount %s')",
				 mnt);
	if (r < 0)
		return cli_error(path, "%s", strerror(-r));
	fwrite(buf, 1, len, stdout);
	if (len > 0 && buf[len - 1] != '\n')
		putchar('\n');
	free(buf);
	if (fflush(stdout) != 0)
		return cli_error("stdout", "write error");
	return CLI_OK;
}
