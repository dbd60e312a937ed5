/* control.c - commands written to the mount's control file
 * (docs/architecture.md), one per line. A bad command changes nothing and says why in
 * one line. The raid5fs subcommands are thin clients of these. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_internal.h"
#include "raid5fs/util.h"

#define R5_KNOWN_COMMANDS \
	"flush, check, repair, idle, recover, fail SLOT, replace SLOT [FILE], " \
	"sync_speed_min SIZE, sync_speed_max SIZE"

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

static int
r5_parse_slot(struct r5_array *a, const char *w, uint32_t *slot, char *err, size_t errlen)
{
	char *end;
	unsigned long v = strtoul(w, &end, 10);

	if (!*w || *end || v >= a->geo.nr_members) {
		r5_errf(err, errlen, "'%s' is not a slot of this array (0..%u)", w,
			 a->geo.nr_members - 1);
		return -EINVAL;
	}
	*slot = (uint32_t)v;
	return 0;
}

static int
r5_control_sync(struct r5_array *a, int action, char *err, size_t errlen)
{
	int ret;

	if (action == R5_SYNC_CHECK || action == R5_SYNC_REPAIR) {
		if (r5_members_nr_failed(a->members) > 0) {
			r5_errf(err, errlen, "the array is degraded: there is no redundancy to check");
			return -EINVAL;
		}
	}
	if (action == R5_SYNC_RECOVER) {
		int target = -1;

		for (uint32_t s = 0; s < a->geo.nr_members; s++)
			if (r5_members_state(a->members, s) == R5_SLOT_REBUILDING)
				target = (int)s;
		if (target < 0) {
			r5_errf(err, errlen, "no member is waiting to be rebuilt (use replace)");
			return -EINVAL;
		}
		struct r5_sync_status st;

		r5_sync_get_status(a->sync, &st);
		ret = r5_sync_start(a->sync, action, target, st.checkpoint);
	} else {
		ret = r5_sync_start(a->sync, action, -1, 0);
	}
	if (ret == -EBUSY) {
		int running = r5_sync_action(a->sync);

		r5_errf(err, errlen, "a %s is already running (idle stops it)",
			 r5_sync_action_name(running));
	} else if (ret < 0) {
		r5_errf(err, errlen, "cannot start %s: %s", r5_sync_action_name(action),
			 strerror(-ret));
	}
	return ret;
}

int
r5_array_control(struct r5_array *a, const char *cmd, char *err, size_t errlen)
{
	char word[32], arg[PATH_MAX], arg2[PATH_MAX];
	const char *p = cmd;
	uint32_t slot;
	int ret;

	r5_next_word(&p, word, sizeof(word));
	r5_next_word(&p, arg, sizeof(arg));
	r5_next_word(&p, arg2, sizeof(arg2));
	if (*p) {
		r5_errf(err, errlen, "too many arguments for '%s'", word);
		return -EINVAL;
	}
	if (!a->started) {
		r5_errf(err, errlen, "the array is not running");
		return -EIO;
	}

	if (!strcmp(word, "flush") || !strcmp(word, "check") || !strcmp(word, "repair") ||
	    !strcmp(word, "idle") || !strcmp(word, "recover")) {
		if (arg[0]) {
			r5_errf(err, errlen, "%s takes no argument", word);
			return -EINVAL;
		}
		if (!strcmp(word, "flush")) {
			ret = r5_array_flush(a);
			if (ret < 0)
				r5_errf(err, errlen, "flush failed: %s", strerror(-ret));
			return ret;
		}
		if (!strcmp(word, "idle")) {
			r5_sync_stop(a->sync);
			return 0;
		}
		return r5_control_sync(a, !strcmp(word, "check")    ? R5_SYNC_CHECK
					  : !strcmp(word, "repair") ? R5_SYNC_REPAIR
								    : R5_SYNC_RECOVER,
				       err, errlen);
	}
	if (!strcmp(word, "fail")) {
		if (!arg[0] || arg2[0]) {
			r5_errf(err, errlen, "usage: fail SLOT");
			return -EINVAL;
		}
		if ((ret = r5_parse_slot(a, arg, &slot, err, errlen)) < 0)
			return ret;
		if (!r5_members_present(a->members, slot)) {
			r5_errf(err, errlen, "slot %u is not in use", slot);
			return -EINVAL;
		}
		if (r5_members_nr_failed(a->members) > 0 && r5_members_ok(a->members, slot)) {
			r5_errf(err, errlen,
				 "slot %u is needed: the array is already degraded and would fail", slot);
			return -EBUSY;
		}
		r5_members_fail(a->members, slot, "failed by hand (raid5fs fail)");
		return 0;
	}
	if (!strcmp(word, "replace")) {
		if (!arg[0]) {
			r5_errf(err, errlen, "usage: replace SLOT [FILE]");
			return -EINVAL;
		}
		if ((ret = r5_parse_slot(a, arg, &slot, err, errlen)) < 0)
			return ret;
		return r5_array_replace(a, slot, arg2, err, errlen);
	}
	if (!strcmp(word, "sync_speed_min") || !strcmp(word, "sync_speed_max")) {
		uint64_t v;

		if (!arg[0] || arg2[0] || r5_parse_size(arg, &v) < 0 || v == 0) {
			r5_errf(err, errlen, "usage: %s BYTES_PER_SECOND (e.g. 50M)", word);
			return -EINVAL;
		}
		if (!strcmp(word, "sync_speed_min"))
			r5_sync_set_speed(a->sync, v, 0);
		else
			r5_sync_set_speed(a->sync, 0, v);
		return 0;
	}
	if (!word[0])
		r5_errf(err, errlen, "empty command (known: %s)", R5_KNOWN_COMMANDS);
	else
		r5_errf(err, errlen, "unknown command '%s' (known: %s)", word, R5_KNOWN_COMMANDS);
	return -EINVAL;
}
