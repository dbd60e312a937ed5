/* cmd_replace.c - raid5fs replace: put a new member file in a failed slot
 * and start its recovery ("replace SLOT [FILE]" on the control file). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void
replace_help(void)
{
	printf("Usage: raid5fs replace [--wait] MOUNTPOINT SLOT [NEWFILE]\n"
	       "Put a new member file in slot SLOT (a member that is missing or has\n"
	       "failed; see 'raid5fs fail' for a working one) and start rebuilding it\n"
	       "from the other members while the image stays in use. NEWFILE may be new,\n"
	       "empty or an unused raid5fs member; it is created and sized as needed.\n"
	       "Without NEWFILE the slot's old path is used again. A running check or\n"
	       "repair gives way to the recovery.\n\n"
	       "  -w, --wait   wait until the recovery ends, showing its progress;\n"
	       "               exit 0 only when the slot is in sync\n"
	       "  -h, --help   this help\n\n"
	       "Example: rm d/m2; raid5fs replace --wait mnt 2 d/m2new\n");
}

/* The final status after the wait: did the recovery of slot make it? */
static int
replace_result(const char *mnt, uint32_t slot, const char *json)
{
	char last_action[32], last_result[256], state[32], reason[512], health[32], key[64];

	if (cli_json_get(json, "sync.last_action", last_action, sizeof(last_action)) != 1)
		last_action[0] = '\0';
	if (cli_json_get(json, "sync.last_result", last_result, sizeof(last_result)) != 1)
		last_result[0] = '\0';
	snprintf(key, sizeof(key), "members.%u.state", slot);
	if (cli_json_get(json, key, state, sizeof(state)) != 1)
		state[0] = '\0';
	snprintf(key, sizeof(key), "members.%u.reason", slot);
	if (cli_json_get(json, key, reason, sizeof(reason)) != 1)
		reason[0] = '\0';
	if (cli_json_get(json, "health", health, sizeof(health)) != 1)
		snprintf(health, sizeof(health), "?");

	if (strcmp(last_action, "recover") == 0 && strcmp(last_result, "ok") == 0 &&
	    strcmp(state, "in_sync") == 0) {
		printf("slot %u rebuilt: the array is %s\n", slot, health);
		return CLI_OK;
	}
	if (strcmp(state, "faulty") == 0 || strcmp(state, "missing") == 0)
		return cli_error(mnt, "recovery of slot %u failed: the new member is %s%s%s", slot,
				 state, reason[0] ? ": " : "", reason);
	if (strcmp(last_action, "recover") == 0 && strcmp(last_result, "interrupted") == 0)
		return cli_error(mnt, "recovery of slot %u was interrupted (the slot is %s; "
				      "'raid5fs recover %s' resumes it)",
				 slot, state, mnt);
	if (strcmp(last_action, "recover") == 0 && strcmp(last_result, "ok") != 0)
		return cli_error(mnt, "recovery of slot %u failed: %s (the slot is %s)", slot,
				 last_result, state);
	return cli_error(mnt, "slot %u is %s after the recovery ended (last action: %s, %s)", slot,
			 state[0] ? state : "unknown", last_action, last_result);
}

int
cmd_replace(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char abs[PATH_MAX], file[PATH_MAX], key[64], path[PATH_MAX];
	char cmd[PATH_MAX + 64];
	const char *mnt;
	bool wait = false;
	uint32_t slot;
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
			replace_help();
			return CLI_OK;
		default:
			return cli_bad_option("replace", argv, c);
		}
	}
	if (argc - optind < 2 || argc - optind > 3)
		return cli_usage("replace", "need MOUNTPOINT SLOT [NEWFILE]");
	mnt = argv[optind];
	if (cli_parse_slot("replace", argv[optind + 1], &slot) != 0)
		return CLI_USAGE;
	file[0] = '\0';
	if (argc - optind == 3) {
		const char *nf = argv[optind + 2];

		/* the daemon runs in "/": give it an absolute path */
		r = cli_abspath(nf, file, sizeof(file));
		if (r < 0)
			return cli_error(nf, "%s", strerror(-r));
		/* the control file splits a command at blanks */
		if (strpbrk(file, " \t\n\r") != NULL)
			return cli_error(nf, "a member path with blanks or newlines cannot be "
					     "passed to the daemon; use a path without them");
	}
	r = cli_require_raid5fs_mount(mnt, abs);
	if (r != 0)
		return r;
	snprintf(cmd, sizeof(cmd), "replace %u%s%s", slot, file[0] ? " " : "", file);
	r = cli_control(mnt, abs, cmd);
	if (r != CLI_OK)
		return r;

	/* say what started, with the path the daemon took */
	if (file[0] == '\0') {
		snprintf(file, sizeof(file), "?");
		if (cli_status_json(mnt, abs, &json) == CLI_OK) {
			snprintf(key, sizeof(key), "members.%u.path", slot);
			if (cli_json_get(json, key, path, sizeof(path)) == 1)
				snprintf(file, sizeof(file), "%s", path);
			free(json);
		}
	}
	if (!wait) {
		printf("slot %u: rebuilding onto %s (follow it with 'raid5fs status %s')\n", slot,
		       file, mnt);
		return CLI_OK;
	}
	printf("slot %u: rebuilding onto %s\n", slot, file);
	fflush(stdout);
	r = cli_sync_wait(mnt, abs, &json);
	if (r != CLI_OK)
		return r;
	r = replace_result(mnt, slot, json);
	free(json);
	return r;
}

static void
recover_help(void)
{
	printf("Usage: raid5fs recover [--wait] MOUNTPOINT\n"
	       "Resume a recovery that was stopped (raid5fs idle) from its checkpoint, as\n"
	       "md's \"echo recover > sync_action\". A recovery interrupted by an unmount\n"
	       "or a crash resumes by itself on the next mount.\n\n"
	       "  -w, --wait   wait until the rebuild ends; exit 1 if it did not finish\n"
	       "  -h, --help   this help\n");
}

int
cmd_recover(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char abs[PATH_MAX], key[64], state[32];
	const char *mnt;
	char *json;
	int c, r, wait = 0, slot = -1;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":wh", longopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			wait = 1;
			break;
		case 'h':
			recover_help();
			return CLI_OK;
		default:
			return cli_bad_option("recover", argv, c);
		}
	}
	if (argc - optind != 1)
		return cli_usage("recover", "need exactly one MOUNTPOINT");
	mnt = argv[optind];
	r = cli_require_raid5fs_mount(mnt, abs);
	if (r != 0)
		return r;
	r = cli_control(mnt, abs, "recover");
	if (r != CLI_OK)
		return r;
	r = cli_status_json(mnt, abs, &json);
	if (r != CLI_OK)
		return r;
	for (int s = 0; s < 32 && slot < 0; s++) {
		snprintf(key, sizeof(key), "members.%d.state", s);
		if (cli_json_get(json, key, state, sizeof(state)) == 1 && !strcmp(state, "rebuilding"))
			slot = s;
	}
	free(json);
	printf("recovery of slot %d resumed\n", slot);
	if (!wait || slot < 0)
		return CLI_OK;
	fflush(stdout);
	r = cli_sync_wait(mnt, abs, &json);
	if (r != CLI_OK)
		return r;
	r = replace_result(mnt, (uint32_t)slot, json);
	free(json);
	return r;
}
