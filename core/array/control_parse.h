/* control_parse.h - a control command line (control.c) turned into a
 * struct: the command and its arguments, or a one-line reason why not.
 * Pure: no array access; the array's member count is the only thing it is
 * told, to check a slot number. control.c runs the parsed command. */
#ifndef RAID5FS_CORE_CONTROL_PARSE_H
#define RAID5FS_CORE_CONTROL_PARSE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define R5_KNOWN_COMMANDS \
	"flush, check, repair, idle, recover, fail SLOT, replace SLOT [FILE], " \
	"add FILE, remove FILE, sync_speed_min SIZE, sync_speed_max SIZE"

enum r5_control_kind {
	R5_CONTROL_FLUSH,
	R5_CONTROL_CHECK,
	R5_CONTROL_REPAIR,
	R5_CONTROL_IDLE,
	R5_CONTROL_RECOVER,
	R5_CONTROL_FAIL,           /* slot */
	R5_CONTROL_REPLACE,        /* slot, path ("" = the slot's own path) */
	R5_CONTROL_SYNC_SPEED_MIN, /* bytes_per_sec */
	R5_CONTROL_SYNC_SPEED_MAX, /* bytes_per_sec */
	R5_CONTROL_SPARE_ADD,      /* path */
	R5_CONTROL_SPARE_REMOVE,   /* path */
};

struct r5_control_cmd {
	enum r5_control_kind kind;
	uint32_t slot;          /* fail, replace: below the member count */
	uint64_t bytes_per_sec; /* sync_speed_min/max: > 0 */
	char path[PATH_MAX];    /* replace: the new member file, or ""; add, remove: the spare */
};

/* What r5_control_parse made of a line. The two refusals differ only in
 * when control.c reports them: a line with too many words is refused
 * whatever the array's state, any other bad command only once the array is
 * known to run (until then the reply is "the array is not running"). */
enum r5_control_parse_result {
	R5_CONTROL_PARSED = 0,
	R5_CONTROL_TOO_MANY_WORDS,
	R5_CONTROL_BAD_COMMAND,
};

/* Parses one command line (words separated by blanks; a newline ends a word
 * and is skipped after one) for an array of nr_members slots. Fills *cmd
 * when the result is R5_CONTROL_PARSED, else writes the one-line reason to
 * err. */
enum r5_control_parse_result r5_control_parse(const char *line, uint32_t nr_members,
					      struct r5_control_cmd *cmd, char *err,
					      size_t errlen);

#endif
