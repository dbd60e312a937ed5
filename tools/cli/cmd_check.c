/* cmd_check.c - raid5fs check and raid5fs repair: scrub the array. The two
 * differ only in the control command and in what a mismatch means, so they
 * share this file. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
check_help(const char *name)
{
	if (strcmp(name, "check") == 0)
		printf("Usage: raid5fs check [--wait] MOUNTPOINT\n"
		       "Start a scrub: read every stripe, verify every block's checksum and\n"
		       "the parity, counting mismatches (in 512-byte sectors, as md's\n"
		       "mismatch_cnt). Nothing is rewritten; 'raid5fs repair' rewrites the\n"
		       "blocks that fail their checksum and the parity that does not match.\n"
		       "Needs a non-degraded array; 'raid5fs idle' stops it.\n\n"
		       "  -w, --wait   wait until it ends, showing its progress, then print\n"
		       "               \"mismatch_count: N\" and the members whose blocks failed\n"
		       "               their checksum since the mount (a check counts them, it\n"
		       "               rewrites nothing). Exit 0 when the check ran to the\n"
		       "               end, also when it found mismatches (then a warning is\n"
		       "               printed on stderr); 1 when it failed or was interrupted\n"
		       "  -h, --help   this help\n");
	else
		printf("Usage: raid5fs repair [--wait] MOUNTPOINT\n"
		       "Like 'raid5fs check', but a block that fails its checksum is rebuilt\n"
		       "from the other members and rewritten, and parity that does not match\n"
		       "the data is rewritten from the data. Needs a non-degraded array;\n"
		       "'raid5fs idle' stops it.\n\n"
		       "  -w, --wait   wait until it ends, showing its progress, then print\n"
		       "               \"mismatch_count: N\" (the sectors rewritten) and the\n"
		       "               members whose blocks failed their checksum. Exit 0\n"
		       "               when the repair ran to the end, 1 when it failed or was\n"
		       "               interrupted\n"
		       "  -h, --help   this help\n");
}

/* The members whose blocks failed their checksum since the mount, one line
 * each (the blocks are in status --json, "bad_blocks"). */
static void
check_print_checksum_errors(const char *json)
{
	uint64_t n = 0, errors, healed, total = 0;
	char key[64], path[4096];

	if (!cli_json_u64(json, "nr_members", &n))
		return;
	for (uint64_t s = 0; s < n; s++) {
		snprintf(key, sizeof(key), "members.%llu.checksum_errors", (unsigned long long)s);
		if (!cli_json_u64(json, key, &errors) || errors == 0)
			continue;
		snprintf(key, sizeof(key), "members.%llu.checksum_healed", (unsigned long long)s);
		if (!cli_json_u64(json, key, &healed))
			healed = 0;
		snprintf(key, sizeof(key), "members.%llu.path", (unsigned long long)s);
		if (cli_json_get(json, key, path, sizeof(path)) != 1)
			path[0] = '\0';
		printf("checksum errors: member %llu (%s): %llu blocks, %llu healed\n",
		       (unsigned long long)s, path, (unsigned long long)errors,
		       (unsigned long long)healed);
		total += errors;
	}
	if (total == 0)
		printf("checksum errors: none\n");
}

/* The final status after the wait. */
static int
check_result(const char *name, const char *mnt, const char *json)
{
	char last_action[32], last_result[256];
	uint64_t mismatches = 0;

	if (cli_json_get(json, "sync.last_action", last_action, sizeof(last_action)) != 1)
		last_action[0] = '\0';
	if (cli_json_get(json, "sync.last_result", last_result, sizeof(last_result)) != 1)
		last_result[0] = '\0';
	if (!cli_json_u64(json, "mismatch_count", &mismatches))
		return cli_error(mnt, "status.json has no mismatch_count");
	printf("mismatch_count: %llu\n", (unsigned long long)mismatches);
	check_print_checksum_errors(json);
	if (fflush(stdout) != 0)
		return cli_error("stdout", "write error");
	if (strcmp(last_action, name) != 0)
		return cli_error(mnt, "the %s did not end by itself (last action: %s, %s)", name,
				 last_action, last_result);
	if (strcmp(last_result, "interrupted") == 0)
		return cli_error(mnt, "the %s was interrupted (the count covers only the part "
				      "it reached)", name);
	if (strcmp(last_result, "ok") != 0)
		return cli_error(mnt, "the %s failed: %s", name, last_result);
	if (mismatches > 0 && strcmp(name, "check") == 0)
		fprintf(stderr, "raid5fs: %s: warning: %llu sectors where the parity does not match "
				"the data ('raid5fs repair %s' rewrites it)\n",
			mnt, (unsigned long long)mismatches, mnt);
	return CLI_OK;
}

static int
check_main(const char *name, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char abs[PATH_MAX];
	const char *mnt;
	bool wait = false;
	char *json;
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":wh", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			wait = true;
			break;
		case 'h':
			check_help(name);
			return CLI_OK;
		default:
			return cli_bad_option(name, argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage(name, "need exactly one MOUNTPOINT");
	mnt = argv[optind];
	r = cli_require_raid5fs_mount(mnt, abs);
	if (r != 0)
		return r;
	r = cli_control(mnt, abs, name);
	if (r != CLI_OK)
		return r;
	if (!wait) {
		printf("%s started (follow it with 'raid5fs status %s'; 'raid5fs idle %s' stops it)\n",
		       name, mnt, mnt);
		return CLI_OK;
	}
	r = cli_sync_wait(mnt, abs, &json);
	if (r != CLI_OK)
		return r;
	r = check_result(name, mnt, json);
	free(json);
	return r;
}

int
cmd_check(int argc, char **argv)
{
	return check_main("check", argc, argv);
}

int
cmd_repair(int argc, char **argv)
{
	return check_main("repair", argc, argv);
}
