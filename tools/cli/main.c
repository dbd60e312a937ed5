/* main.c - the raid5fs command: dispatch to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "raid5fs/superblock.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "create", cmd_create, "make member files of a new array" },
	{ "mount", cmd_mount, "assemble an array and show it as MOUNTPOINT/image" },
	{ "umount", cmd_umount, "unmount, flush and stop an array" },
	{ "status", cmd_status, "show the state of a mounted array" },
	{ "examine", cmd_examine, "print the superblock of a member file" },
	{ "replace", cmd_replace, "put a new member in a failed slot and rebuild it" },
	{ "fail", cmd_fail, "mark a member faulty (the array goes on degraded)" },
	{ "add", cmd_add, "add a hot spare: it takes a failed slot at once" },
	{ "remove", cmd_remove, "drop a hot spare" },
	{ "check", cmd_check, "verify the parity of every stripe, count mismatches" },
	{ "repair", cmd_repair, "like check, and rewrite the parity that does not match" },
	{ "damage", cmd_damage, "list the image ranges (and files) that could not be healed" },
	{ "events", cmd_events, "print the array's last events (--follow: and new ones)" },
	{ "idle", cmd_idle, "stop the running recover, resync, check or repair" },
	{ "recover", cmd_recover, "resume a rebuild stopped by idle" },
	{ "speed", cmd_speed, "show or set the sync speed limits" },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: raid5fs COMMAND [OPTION]... [ARG]...\n"
		     "RAID-5 over member files, shown through FUSE as one image file.\n\n"
		     "Commands:\n");
	for (i = 0; i < NR_COMMANDS; i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "  %-9s %s\n", "help", "this list, or 'help COMMAND' for one command");
	fprintf(out, "\nRun 'raid5fs COMMAND --help' for the options of a command,\n"
		     "'raid5fs --version' for the version; 'man raid5fs' has it all.\n");
}

int
main(int argc, char **argv)
{
	const char *name;
	size_t i;

	if (argc < 2) {
		fprintf(stderr, "raid5fs: missing command (see 'raid5fs --help')\n");
		return CLI_USAGE;
	}
	name = argv[1];
	if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
		/* the program and the newest on-disk format it writes */
		printf("raid5fs %s (on-disk format %u)\n", R5_VERSION, R5_SB_VERSION);
		return CLI_OK;
	}
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
		if (strcmp(name, "help") == 0 && argc > 2) {
			/* "raid5fs help mount" == "raid5fs mount --help" */
			for (i = 0; i < NR_COMMANDS; i++) {
				if (strcmp(argv[2], commands[i].name) == 0) {
					char *args[] = { argv[2], (char *)"--help", NULL };

					return commands[i].fn(2, args);
				}
			}
			fprintf(stderr, "raid5fs: %s: unknown command (see 'raid5fs --help')\n", argv[2]);
			return CLI_USAGE;
		}
		usage(stdout);
		return CLI_OK;
	}
	for (i = 0; i < NR_COMMANDS; i++)
		if (strcmp(name, commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "raid5fs: %s: unknown command (see 'raid5fs --help')\n", name);
	return CLI_USAGE;
}
