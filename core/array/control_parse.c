/* control_parse.c - a control command line turned into a struct
 * r5_control_cmd, or a one-line reason (control_parse.h). No array access:
 * control.c checks the array's state and runs the command. */
#include <stdlib.h>
#include <string.h>

#include "control_parse.h"
#include "raid5fs/util.h"

/* Splits off the next word of *p into word (NUL-terminated). */
static void
r5_next_word(const char **p, char *word, size_t len)
{
	const char *s = *p;
	size_t n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
		if (n + 1 < len)
			word[n++] = *s;
		s++;
	}
	word[n] = 0;
	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	*p = s;
}

static enum r5_control_parse_result
r5_parse_slot(const char *w, uint32_t nr_members, uint32_t *slot, char *err, size_t errlen)
{
	char *end;
	unsigned long v = strtoul(w, &end, 10);

	if (!*w || *end || v >= nr_members) {
		r5_errf(err, errlen, "'%s' is not a slot of this array (0..%u)", w, nr_members - 1);
		return R5_CONTROL_BAD_COMMAND;
	}
	*slot = (uint32_t)v;
	return R5_CONTROL_PARSED;
}

/* The commands without an argument. */
static const struct {
	const char *word;
	enum r5_control_kind kind;
} r5_plain_commands[] = {
	{ "flush", R5_CONTROL_FLUSH },   { "check", R5_CONTROL_CHECK },
	{ "repair", R5_CONTROL_REPAIR }, { "idle", R5_CONTROL_IDLE },
	{ "recover", R5_CONTROL_RECOVER },
};

enum r5_control_parse_result
r5_control_parse(const char *line, uint32_t nr_members, struct r5_control_cmd *cmd, char *err,
		 size_t errlen)
{
	char word[32], arg[PATH_MAX], arg2[PATH_MAX];
	const char *p = line;

	memset(cmd, 0, sizeof(*cmd));
	r5_next_word(&p, word, sizeof(word));
	r5_next_word(&p, arg, sizeof(arg));
	r5_next_word(&p, arg2, sizeof(arg2));
	if (*p) {
		r5_errf(err, errlen, "too many arguments for '%s'", word);
		return R5_CONTROL_TOO_MANY_WORDS;
	}

	for (size_t i = 0; i < sizeof(r5_plain_commands) / sizeof(r5_plain_commands[0]); i++) {
		if (strcmp(word, r5_plain_commands[i].word))
			continue;
		if (arg[0]) {
			r5_errf(err, errlen, "%s takes no argument", word);
			return R5_CONTROL_BAD_COMMAND;
		}
		cmd->kind = r5_plain_commands[i].kind;
		return R5_CONTROL_PARSED;
	}
	if (!strcmp(word, "fail")) {
		if (!arg[0] || arg2[0]) {
			r5_errf(err, errlen, "usage: fail SLOT");
			return R5_CONTROL_BAD_COMMAND;
		}
		cmd->kind = R5_CONTROL_FAIL;
		return r5_parse_slot(arg, nr_members, &cmd->slot, err, errlen);
	}
	if (!strcmp(word, "replace")) {
		if (!arg[0]) {
			r5_errf(err, errlen, "usage: replace SLOT [FILE]");
			return R5_CONTROL_BAD_COMMAND;
		}
		cmd->kind = R5_CONTROL_REPLACE;
		memcpy(cmd->path, arg2, sizeof(cmd->path));
		return r5_parse_slot(arg, nr_members, &cmd->slot, err, errlen);
	}
	if (!strcmp(word, "add") || !strcmp(word, "remove")) {
		if (!arg[0] || arg2[0]) {
			r5_errf(err, errlen, "usage: %s FILE", word);
			return R5_CONTROL_BAD_COMMAND;
		}
		cmd->kind = !strcmp(word, "add") ? R5_CONTROL_SPARE_ADD : R5_CONTROL_SPARE_REMOVE;
		memcpy(cmd->path, arg, sizeof(cmd->path));
		return R5_CONTROL_PARSED;
	}
	if (!strcmp(word, "sync_speed_min") || !strcmp(word, "sync_speed_max")) {
		if (!arg[0] || arg2[0] || r5_parse_size(arg, &cmd->bytes_per_sec) < 0 ||
		    cmd->bytes_per_sec == 0) {
			r5_errf(err, errlen, "usage: %s BYTES_PER_SECOND (e.g. 50M)", word);
			return R5_CONTROL_BAD_COMMAND;
		}
		cmd->kind = !strcmp(word, "sync_speed_min") ? R5_CONTROL_SYNC_SPEED_MIN
							     : R5_CONTROL_SYNC_SPEED_MAX;
		return R5_CONTROL_PARSED;
	}
	if (!word[0])
		r5_errf(err, errlen, "empty command (known: %s)", R5_KNOWN_COMMANDS);
	else
		r5_errf(err, errlen, "unknown command '%s' (known: %s)", word, R5_KNOWN_COMMANDS);
	return R5_CONTROL_BAD_COMMAND;
}
