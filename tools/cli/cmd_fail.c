/* cmd_fail.c - raid5fs fail: mark a working member faulty ("fail SLOT" on
 * the control file), as mdadm --fail. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
fail_help(void)
{
	printf("Usage: raid5fs fail MOUNTPOINT SLOT\n"
	       "Mark the member in slot SLOT faulty, as if it had failed: the array\n"
	       "goes on degraded, computing that member's data from the others. Its\n"
	       "file is left as it is. Refused when the array is already degraded\n"
	       "(it would fail). Then 'raid5fs replace MOUNTPOINT SLOT [NEWFILE]'.\n\n"
	       "  -h, --help   this help\n");
}

int
cmd_fail(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char abs[PATH_MAX], cmd[64], health[32];
	const char *mnt;
	uint32_t slot;
	char *json;
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fail_help();
			return CLI_OK;
		default:
			return cli_bad_option("fail", argv, c);
		}
	}
	if (argc - optind != 2)
		return cli_usage("fail", "need MOUNTPOINT SLOT");
	mnt = argv[optind];
	if (cli_parse_slot("fail", argv[optind + 1], &slot) != 0)
		return CLI_USAGE;
	r = cli_require_raid5fs_mount(mnt, abs);
	if (r != 0)
		return r;
	snprintf(cmd, sizeof(cmd), "fail %u", slot);
	r = cli_control(mnt, abs, cmd);
	if (r != CLI_OK)
		return r;
	snprintf(health, sizeof(health), "degraded");
	if (cli_status_json(mnt, abs, &json) == CLI_OK) {
		if (cli_json_get(json, "health", health, sizeof(health)) != 1)
			snprintf(health, sizeof(health), "?");
		free(json);
	}
	printf("slot %u failed: the array is %s (replace it with 'raid5fs replace %s %u [NEWFILE]')\n",
	       slot, health, mnt, slot);
	return CLI_OK;
}
