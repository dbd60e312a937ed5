/* cli.h - the raid5fs command: one cmd_*.c per subcommand, shared helpers
 * in cli_util.c.
 *
 * Conventions (docs/architecture.md, "Control and status"): an error is ONE line on stderr,
 * "raid5fs: <file or subcommand>: <reason>", and changes nothing. Exit
 * status 0 = success, 1 = error, 2 = usage error.
 */
#ifndef RAID5FS_CLI_H
#define RAID5FS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CLI_OK 0
#define CLI_ERR 1
#define CLI_USAGE 2

/* Subcommands: argv[0] is the subcommand name. Return the exit status. */
int cmd_create(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_examine(int argc, char **argv);
int cmd_replace(int argc, char **argv);
int cmd_check(int argc, char **argv);  /* cmd_check.c */
int cmd_repair(int argc, char **argv); /* cmd_check.c */
int cmd_idle(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_fail(int argc, char **argv);
int cmd_speed(int argc, char **argv);
int cmd_damage(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_add(int argc, char **argv);
int cmd_remove(int argc, char **argv);

/* "raid5fs: <what>: <reason>\n" on stderr; returns CLI_ERR. */
int cli_error(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "raid5fs: <cmd>: <reason> (see 'raid5fs <cmd> --help')\n"; returns CLI_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The message for an option getopt_long() did not accept (opterr must be
 * 0); returns CLI_USAGE. */
int cli_bad_option(const char *cmd, char **argv, int optc);

/* Option values; on error print a usage error naming opt and return
 * CLI_USAGE, else 0. */
int cli_parse_size(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_parse_u32(const char *cmd, const char *opt, const char *s, uint32_t *out);

/* An absolute path for path that does not need path itself to be
 * reachable (a stale FUSE mount point fails stat with ENOTCONN): realpath
 * of the parent directory + the last component. 0 or -errno. */
int cli_abspath(const char *path, char *out, size_t outlen);

/* Looks up abspath in /proc/self/mountinfo (the last, i.e. top, mount
 * there). 1 and its type in fstype ("fuse.raid5fs"), 0 if nothing is
 * mounted there, -errno if mountinfo cannot be read. */
int cli_mount_lookup(const char *abspath, char *fstype, size_t fslen);

/* Checks that mnt is a raid5fs mount; on failure prints the error and
 * returns CLI_ERR. abs receives the absolute mount point (PATH_MAX). */
int cli_require_raid5fs_mount(const char *mnt, char *abs);
/* The arguments of a command that takes only -h and one MOUNTPOINT, then
 * its status.json: -1 and *json (malloc'd), *mnt, abs set when the command
 * goes on, else the exit status to return (help printed, or an error). */
int cli_mount_only_status(const char *cmd, int argc, char **argv, void (*help)(void),
			  const char **mnt, char *abs, char **json);

/* Reads a whole (small, procfs-like) file into a NUL-terminated malloc'd
 * buffer. 0 or -errno. */
int cli_read_file(const char *path, char **buf, size_t *len);

/* The one JSON value extractor (status.json; no JSON library). path is a
 * dot-separated list of object keys and array indexes: "pid",
 * "sync.action", "members.2.state". A string value is unescaped into out,
 * any other value is copied as its JSON text ("12", "null", "0.5000",
 * "{...}"). 1 when found, 0 when not, -EINVAL for malformed JSON or path,
 * -ERANGE when the value does not fit in outlen. */
int cli_json_get(const char *json, const char *path, char *out, size_t outlen);
/* The number at path; false when it is missing, null or not a number. */
bool cli_json_u64(const char *json, const char *path, uint64_t *out);

/* Reads MOUNTPOINT/.raid5fs/status.json (abs = absolute mount point) into
 * a malloc'd buffer. On failure prints the error naming mnt and returns
 * CLI_ERR. */
int cli_status_json(const char *mnt, const char *abs, char **json);
/* Reads MOUNTPOINT/.raid5fs/NAME (abs: the absolute mount point) into a
 * malloc'd buffer: CLI_OK, else CLI_ERR with the error printed (a stale
 * mount named as such) unless quiet. */
int cli_meta_read(const char *mnt, const char *abs, const char *name, char **buf, size_t *len,
		  bool quiet);

/* Writes one command line to MOUNTPOINT/.raid5fs/control. When the engine
 * refuses it (the write fails), the reason printed is the engine's own
 * one-line message, read back from the same open file (each open of the
 * control file keeps the reply to its own commands). CLI_OK or CLI_ERR
 * (error printed). */
int cli_control(const char *mnt, const char *abs, const char *cmd);

/* Polls status.json every 0.5 s until sync.action is "idle", showing the
 * progress on stderr (one line rewritten in place on a terminal, else a
 * line every 10 s). On CLI_OK *json is the last status.json (caller frees);
 * on CLI_ERR the error has been printed. */
int cli_sync_wait(const char *mnt, const char *abs, char **json);

/* A slot number argument (usage error, exit 2, when it is not a number;
 * the engine checks that the slot exists). */
int cli_parse_slot(const char *cmd, const char *s, uint32_t *slot);

#endif
