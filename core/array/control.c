/* control.c - commands written to the mount's control file
 * (docs/architecture.md), one per line. control_parse.c turns the line into
 * a command; this file checks it against the array's state and runs it. A
 * bad command changes nothing and says why in one line. The raid5fs
 * subcommands are thin clients of these. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "array_internal.h"
#include "control_parse.h"
#include "raid5fs/util.h"

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
	struct r5_control_cmd c;
	enum r5_control_parse_result parsed;
	int ret;

	parsed = r5_control_parse(cmd, a->geo.nr_members, &c, err, errlen);
	if (parsed == R5_CONTROL_TOO_MANY_WORDS)
		return -EINVAL;
	if (!a->started) {
		r5_errf(err, errlen, "the array is not running");
		return -EIO;
	}
	if (parsed != R5_CONTROL_PARSED)
		return -EINVAL;

	switch (c.kind) {
	case R5_CONTROL_FLUSH:
		ret = r5_array_flush(a);
		if (ret < 0)
			r5_errf(err, errlen, "flush failed: %s", strerror(-ret));
		return ret;
	case R5_CONTROL_IDLE:
		r5_sync_stop(a->sync);
		return 0;
	case R5_CONTROL_CHECK:
		return r5_control_sync(a, R5_SYNC_CHECK, err, errlen);
	case R5_CONTROL_REPAIR:
		return r5_control_sync(a, R5_SYNC_REPAIR, err, errlen);
	case R5_CONTROL_RECOVER:
		return r5_control_sync(a, R5_SYNC_RECOVER, err, errlen);
	case R5_CONTROL_FAIL:
		if (!r5_members_present(a->members, c.slot)) {
			r5_errf(err, errlen, "slot %u is not in use", c.slot);
			return -EINVAL;
		}
		if (r5_members_nr_failed(a->members) > 0 && r5_members_ok(a->members, c.slot)) {
			r5_errf(err, errlen,
				 "slot %u is needed: the array is already degraded and would fail",
				 c.slot);
			return -EBUSY;
		}
		r5_members_fail(a->members, c.slot, "failed by hand (raid5fs fail)");
		return 0;
	case R5_CONTROL_REPLACE:
		return r5_array_replace(a, c.slot, c.path, err, errlen);
	case R5_CONTROL_SPARE_ADD:
		return r5_array_spare_add(a, c.path, err, errlen);
	case R5_CONTROL_SPARE_REMOVE:
		return r5_array_spare_remove(a, c.path, err, errlen);
	case R5_CONTROL_SYNC_SPEED_MIN:
		r5_sync_set_speed(a->sync, c.bytes_per_sec, 0);
		return 0;
	case R5_CONTROL_SYNC_SPEED_MAX:
		r5_sync_set_speed(a->sync, 0, c.bytes_per_sec);
		return 0;
	}
	r5_errf(err, errlen, "command not handled"); /* every kind is handled above */
	return -EINVAL;
}
