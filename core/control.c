/* control.c - commands written to the mount's control file (DESIGN.md
 * section 6), one per line. A bad command changes nothing and says why in
 * one line. The raid5fs subcommands are thin clients of these. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_internal.h"
#include "locks.h"
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
		snprintf(err, errlen, "'%s' is not a slot of this array (0..%u)", w,
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
		if (atomic_load(&a->nr_failed) > 0) {
			snprintf(err, errlen, "the array is degraded: there is no redundancy to check");
			return -EINVAL;
		}
	}
	if (action == R5_SYNC_RECOVER) {
		int target = -1;

		for (uint32_t s = 0; s < a->geo.nr_members; s++)
			if (atomic_load(&a->slot[s].state) == R5_SLOT_REBUILDING)
				target = (int)s;
		if (target < 0) {
			snprintf(err, errlen, "no member is waiting to be rebuilt (use replace)");
			return -EINVAL;
		}
		r5_mutex_lock(&a->sync.lock);
		uint64_t from = a->sync.cp;
		r5_mutex_unlock(&a->sync.lock);
		ret = r5_sync_start(a, action, target, from);
	} else {
		ret = r5_sync_start(a, action, -1, 0);
	}
	if (ret == -EBUSY) {
		r5_mutex_lock(&a->sync.lock);
		int running = a->sync.action;
		r5_mutex_unlock(&a->sync.lock);
		snprintf(err, errlen, "a %s is already running (idle stops it)",
			 r5_sync_action_name(running));
	} else if (ret < 0) {
		snprintf(err, errlen, "cannot start %s: %s", r5_sync_action_name(action),
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
		snprintf(err, errlen, "too many arguments for '%s'", word);
		return -EINVAL;
	}
	if (!a->started) {
		snprintf(err, errlen, "the array is not running");
		return -EIO;
	}

	if (!strcmp(word, "flush") || !strcmp(word, "check") || !strcmp(word, "repair") ||
	    !strcmp(word, "idle") || !strcmp(word, "recover")) {
		if (arg[0]) {
			snprintf(err, errlen, "%s takes no argument", word);
			return -EINVAL;
		}
		if (!strcmp(word, "flush")) {
			ret = r5_array_flush(a);
			if (ret < 0)
				snprintf(err, errlen, "flush failed: %s", strerror(-ret));
			return ret;
		}
		if (!strcmp(word, "idle")) {
			r5_sync_stop(a);
			return 0;
		}
		return r5_control_sync(a, !strcmp(word, "check")    ? R5_SYNC_CHECK
					  : !strcmp(word, "repair") ? R5_SYNC_REPAIR
								    : R5_SYNC_RECOVER,
				       err, errlen);
	}
	if (!strcmp(word, "fail")) {
		if (!arg[0] || arg2[0]) {
			snprintf(err, errlen, "usage: fail SLOT");
			return -EINVAL;
		}
		if ((ret = r5_parse_slot(a, arg, &slot, err, errlen)) < 0)
			return ret;
		if (!r5_slot_present(a, slot)) {
			snprintf(err, errlen, "slot %u is not in use", slot);
			return -EINVAL;
		}
		if (atomic_load(&a->nr_failed) > 0 && r5_slot_ok(a, slot)) {
			snprintf(err, errlen,
				 "slot %u is needed: the array is already degraded and would fail", slot);
			return -EBUSY;
		}
		r5_array_fail_slot(a, slot, "failed by hand (raid5fs fail)");
		return 0;
	}
	if (!strcmp(word, "replace")) {
		if (!arg[0]) {
			snprintf(err, errlen, "usage: replace SLOT [FILE]");
			return -EINVAL;
		}
		if ((ret = r5_parse_slot(a, arg, &slot, err, errlen)) < 0)
			return ret;
		return r5_array_replace(a, slot, arg2, err, errlen);
	}
	if (!strcmp(word, "sync_speed_min") || !strcmp(word, "sync_speed_max")) {
		uint64_t v;

		if (!arg[0] || arg2[0] || r5_parse_size(arg, &v) < 0 || v == 0) {
			snprintf(err, errlen, "usage: %s BYTES_PER_SECOND (e.g. 50M)", word);
			return -EINVAL;
		}
		r5_mutex_lock(&a->sync.lock);
		if (!strcmp(word, "sync_speed_min"))
			a->sync.speed_min = v;
		else
			a->sync.speed_max = v;
		r5_mutex_unlock(&a->sync.lock);
		return 0;
	}
	if (!word[0])
		snprintf(err, errlen, "empty command (known: %s)", R5_KNOWN_COMMANDS);
	else
		snprintf(err, errlen, "unknown command '%s' (known: %s)", word, R5_KNOWN_COMMANDS);
	return -EINVAL;
}
