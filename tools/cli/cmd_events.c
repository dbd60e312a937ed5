/* cmd_events.c - raid5fs events: print MOUNTPOINT/.raid5fs/events, the
 * array's last events as JSON lines; --follow keeps printing new ones. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static void
events_help(void)
{
	printf("Usage: raid5fs events [--follow] MOUNTPOINT\n"
	       "Print the array's last events, one JSON line each (time, event, slot,\n"
	       "member, detail): fail, degraded, array-failed, rebuild-start,\n"
	       "rebuild-progress, rebuild-finished, resync-finished, check-finished,\n"
	       "checksum-error, spare-added, spare-removed, spare-active.\n"
	       "'raid5fs mount -o events=PROGRAM' runs a program for each.\n\n"
	       "  -f, --follow  go on printing new events until the array is unmounted\n"
	       "  -h, --help    this help\n");
}

/* The "seq" of a JSON line, 0 if it has none. */
static uint64_t
line_seq(const char *line)
{
	const char *p = strstr(line, "\"seq\":");

	return p ? strtoull(p + 6, NULL, 10) : 0;
}

/* Prints the lines of buf newer than *last; *last becomes the newest. */
static void
print_new(char *buf, uint64_t *last)
{
	for (char *line = buf, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		uint64_t seq = line_seq(line);

		if (seq > *last) {
			puts(line);
			*last = seq;
		}
	}
	fflush(stdout);
}

int
cmd_events(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char abs[PATH_MAX];
	const char *mnt;
	bool follow = false;
	uint64_t last = 0;
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:fh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'h':
			events_help();
			return CLI_OK;
		default:
			return cli_bad_option("events", argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage("events", "need exactly one MOUNTPOINT");
	mnt = argv[optind];
	r = cli_require_raid5fs_mount(mnt, abs);
	if (r != 0)
		return r;
	for (;;) {
		char *buf;
		size_t len;

		/* unmounted while following: the end, not an error */
		r = cli_meta_read(mnt, abs, "events", &buf, &len, follow && last > 0);
		if (r != CLI_OK)
			return follow && last > 0 ? CLI_OK : r;
		print_new(buf, &last);
		free(buf);
		if (ferror(stdout))
			return cli_error("stdout", "write error");
		if (!follow)
			return CLI_OK;
		/* a file of the mount, not a pipe: look again twice a second */
		nanosleep(&(struct timespec){ .tv_nsec = 500 * 1000 * 1000 }, NULL);
		char fstype[64];

		if (cli_mount_lookup(abs, fstype, sizeof(fstype)) != 1)
			return CLI_OK;
	}
}
