/* cmd_spare.c - raid5fs add / remove: hot spares of a mounted array ("add
 * FILE" and "remove FILE" on the control file). */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void
add_help(void)
{
	printf("Usage: raid5fs add MOUNTPOINT FILE\n"
	       "Make FILE a hot spare of the mounted array: when a member fails, the\n"
	       "spare takes its slot and the rebuild starts at once, with no command.\n"
	       "A FILE that does not exist is created sparse, 0600, at the members'\n"
	       "size; an existing one must be empty or at least that size, and not a\n"
	       "member of any array. The spare's file gets a superblock with the spare\n"
	       "role and the members list it: give it among the members at the next\n"
	       "mount ('raid5fs mount m0 m1 m2 m3 spare0 MNT') and it is a spare again.\n\n"
	       "  -h, --help   this help\n");
}

static void
remove_help(void)
{
	printf("Usage: raid5fs remove MOUNTPOINT FILE\n"
	       "Stop keeping FILE as a hot spare of the mounted array (the file stays).\n\n"
	       "  -h, --help   this help\n");
}

/* add and remove: MOUNTPOINT FILE -> "<verb> /abs/file" on the control file */
static int
spare_cmd(const char *verb, void (*help)(void), int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char abs[PATH_MAX], file[PATH_MAX], cmd[PATH_MAX + 16];
	int c, r;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option(verb, argv, c);
		help();
		return CLI_OK;
	}
	if (argc - optind != 2)
		return cli_usage(verb, "need MOUNTPOINT FILE");
	/* the daemon runs in "/": give it an absolute path */
	r = cli_abspath(argv[optind + 1], file, sizeof(file));
	if (r < 0)
		return cli_error(argv[optind + 1], "%s", strerror(-r));
	if (strpbrk(file, " \t\n\r") != NULL)
		return cli_error(argv[optind + 1], "a path with blanks or newlines cannot be passed "
						   "to the daemon; use a path without them");
	r = cli_require_raid5fs_mount(argv[optind], abs);
	if (r != 0)
		return r;
	snprintf(cmd, sizeof(cmd), "%s %s", verb, file);
	r = cli_control(argv[optind], abs, cmd);
	if (r == CLI_OK)
		printf("%s: %s\n", file, strcmp(verb, "add") == 0 ? "spare added" : "spare removed");
	return r;
}

int
cmd_add(int argc, char **argv)
{
	return spare_cmd("add", add_help, argc, argv);
}

int
cmd_remove(int argc, char **argv)
{
	return spare_cmd("remove", remove_help, argc, argv);
}
