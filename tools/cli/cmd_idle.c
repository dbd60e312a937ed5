/* cmd_idle.c - raid5fs idle: stop the running sync action ("idle" on the
 * control file). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
idle_help(void)
{
	printf("Usage: raid5fs idle MOUNTPOINT\n"
	       "Stop the running sync action (recover, resync, check or repair), as\n"
	       "md's \"echo idle > sync_action\". A stopped recovery or resync keeps its\n"
	       "checkpoint: 'raid5fs recover MOUNTPOINT' resumes a\n"
	       "recovery, and a resync resumes on the next mount. Doing nothing when\n"
	       "nothing runs is not an error.\n\n"
	       "  -h, --help   this help\n");
}

int
cmd_idle(int argc, char **argv)
{
	char abs[PATH_MAX], before[32], after[32], progress[32];
	const char *mnt;
	char *json;
	int r = cli_mount_only_status("idle", argc, argv, idle_help, &mnt, abs, &json);

	if (r >= 0)
		return r;
	if (cli_json_get(json, "sync.action", before, sizeof(before)) != 1)
		snprintf(before, sizeof(before), "idle");
	/* the progress before: an idle array shows none */
	if (cli_json_get(json, "sync.progress", progress, sizeof(progress)) != 1)
		snprintf(progress, sizeof(progress), "0");
	free(json);

	r = cli_control(mnt, abs, "idle");
	if (r != CLI_OK)
		return r;
	if (strcmp(before, "idle") == 0) {
		printf("nothing was running\n");
		return CLI_OK;
	}
	/* the engine has joined the sync thread when the write returns */
	r = cli_status_json(mnt, abs, &json);
	if (r != CLI_OK)
		return r;
	if (cli_json_get(json, "sync.action", after, sizeof(after)) != 1)
		after[0] = '\0';
	free(json);
	if (strcmp(after, "idle") != 0)
		return cli_error(mnt, "%s is still running after idle", after);
	if (strcmp(before, "recover") == 0)
		printf("recover stopped at about %.1f%% (resume it: raid5fs recover %s)\n",
		       strtod(progress, NULL) * 100, mnt);
	else
		printf("%s stopped at about %.1f%%\n", before, strtod(progress, NULL) * 100);
	return CLI_OK;
}
