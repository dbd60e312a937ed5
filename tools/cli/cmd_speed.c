/* cmd_speed.c - raid5fs speed: the sync speed limits, md's
 * sync_speed_min/sync_speed_max ("sync_speed_min SIZE" and
 * "sync_speed_max SIZE" on the control file). */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "raid5fs/util.h"

static void
speed_help(void)
{
	printf("Usage: raid5fs speed MOUNTPOINT [--min SIZE] [--max SIZE]\n"
	       "Set the speed limits of recovery, resync, check and repair, in bytes\n"
	       "per second per member (K, M, G suffixes), as md's sync_speed_min and\n"
	       "sync_speed_max: never faster than the maximum; above the minimum, the\n"
	       "sync steps aside while the image is in use. Without options, print\n"
	       "the current limits. The minimum may not be above the maximum.\n\n"
	       "      --min SIZE   the speed kept even under user I/O\n"
	       "      --max SIZE   the speed never exceeded\n"
	       "  -h, --help       this help\n\n"
	       "Example: raid5fs speed mnt --min 10M --max 200M\n");
}

int
cmd_speed(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "min", required_argument, NULL, 'm' },
		{ "max", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char abs[PATH_MAX], cmd[128], a[32], b[32];
	uint64_t min = 0, max = 0, cur_min, cur_max;
	bool set_min = false, set_max = false;
	const char *mnt;
	char *json;
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
		case 'M':
			if (cli_parse_size("speed", c == 'm' ? "--min" : "--max", optarg,
					   c == 'm' ? &min : &max) != 0)
				return CLI_USAGE;
			if ((c == 'm' ? min : max) == 0)
				return cli_usage("speed", "%s: must be above 0",
						 c == 'm' ? "--min" : "--max");
			*(c == 'm' ? &set_min : &set_max) = true;
			break;
		case 'h':
			speed_help();
			return CLI_OK;
		default:
			return cli_bad_option("speed", argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage("speed", "need exactly one MOUNTPOINT");
	if (set_min && set_max && min > max)
		return cli_usage("speed", "--min %s is above --max %s", r5_format_size(min, a, sizeof(a)),
				 r5_format_size(max, b, sizeof(b)));
	mnt = argv[optind];
	r = cli_require_raid5fs_mount(mnt, abs);
	if (r != 0)
		return r;
	r = cli_status_json(mnt, abs, &json);
	if (r != CLI_OK)
		return r;
	if (!cli_json_u64(json, "sync.speed_min", &cur_min) ||
	    !cli_json_u64(json, "sync.speed_max", &cur_max)) {
		free(json);
		return cli_error(mnt, "status.json has no sync.speed_min/speed_max");
	}
	free(json);
	if (!set_min && !set_max) {
		printf("speed_min: %s/s\nspeed_max: %s/s\n", r5_format_size(cur_min, a, sizeof(a)),
		       r5_format_size(cur_max, b, sizeof(b)));
		return CLI_OK;
	}
	if (!set_min)
		min = cur_min;
	if (!set_max)
		max = cur_max;
	if (min > max)
		return cli_error(mnt, "the minimum (%s/s) would be above the maximum (%s/s)",
				 r5_format_size(min, a, sizeof(a)), r5_format_size(max, b, sizeof(b)));
	/* One command per write, so that a refused one is reported alone; both
	 * values have been checked above, so the second is not refused after
	 * the first took effect. */
	if (set_min) {
		snprintf(cmd, sizeof(cmd), "sync_speed_min %" PRIu64, min);
		r = cli_control(mnt, abs, cmd);
		if (r != CLI_OK)
			return r;
	}
	if (set_max) {
		snprintf(cmd, sizeof(cmd), "sync_speed_max %" PRIu64, max);
		r = cli_control(mnt, abs, cmd);
		if (r != CLI_OK)
			return r;
	}
	printf("speed_min: %s/s\nspeed_max: %s/s\n", r5_format_size(min, a, sizeof(a)),
	       r5_format_size(max, b, sizeof(b)));
	return CLI_OK;
}
