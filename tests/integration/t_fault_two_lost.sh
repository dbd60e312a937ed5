#!/bin/bash
# t_fault_two_lost: a RAID-5 survives one lost member, not two. After the
# second member file is deleted the array must fail safe: reads and writes
# of the image fail with EIO (never wrong data, never a false success),
# status says "failed" and names both members, the daemon stays alive and
# answers, `raid5fs umount` still works, and a later mount refuses with ONE
# line that names both missing slots.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

seed=4200
make_array 4 64M --chunk 64K --name twolost
mnt=$W/mnt
mount_array "$mnt"
img=$mnt/image
pid=$(daemon_pid "$mnt") || fail "no daemon pid"
r5_pattern fill "$img" "$seed" 0 64M >&2 || fail "pattern fill failed"

# First loss: degraded, still fully usable.
rm -- "${MEMBERS[1]}"
wait_status "$mnt" 3 '.members[1].state == "faulty"' "slot 1 faulty after delete"
expect "$mnt" '.health == "degraded"' "degraded after one loss"
r5_pattern check "$img" "$seed" 0 64M >&2 || fail "degraded read wrong"

# Second loss, while a writer is busy: it must end with an error, not hang.
(to 60 dd if=/dev/urandom of="$img" bs=64K seek=1024 count=1024 conv=notrunc,fsync 2>"$W/bgdd.err") &
ddpid=$!
sleep 0.3
rm -- "${MEMBERS[3]}"
wait_status "$mnt" 3 '.health == "failed"' "health failed after the second loss"
expect "$mnt" '.members[1].state == "faulty" and .members[3].state == "faulty"
	and (.members[3].reason | test("delet"; "i"))
	and .members[0].state == "in_sync" and .members[2].state == "in_sync"' \
	"slots 1 and 3 faulty, 0 and 2 in_sync"
if wait "$ddpid"; then
	# Acceptable only if every block was written before the second loss.
	log "note: background dd finished before the array failed"
else
	rc=$?
	[[ $rc -ne 124 && $rc -ne 137 ]] || fail "background dd hung after the array failed"
	log "background dd failed as expected: $(tail -n1 "$W/bgdd.err")"
fi

# Reads and writes of the image: EIO, exit status non-zero.
if to 30 dd if="$img" of=/dev/null bs=64K count=16 2>"$W/dd.err"; then
	fail "reading the image of a failed array succeeded"
fi
cat "$W/dd.err" >&2
grep -q 'Input/output error' "$W/dd.err" || fail "read failed, but not with EIO: $(cat "$W/dd.err")"
if to 30 dd if=/dev/zero of="$img" bs=64K count=16 conv=notrunc,fsync 2>"$W/dd.err"; then
	fail "writing the image of a failed array succeeded"
fi
cat "$W/dd.err" >&2
grep -q 'Input/output error' "$W/dd.err" || fail "write failed, but not with EIO: $(cat "$W/dd.err")"
if r5_pattern check "$img" "$seed" 0 1M 2>"$W/pat.err"; then
	fail "r5_pattern read a failed array without error"
fi

# The daemon is alive and answers; status (text and JSON) works.
kill -0 "$pid" 2>/dev/null || fail "daemon $pid died when the array failed"
expect "$mnt" ".pid == $pid and .health == \"failed\"" "status.json after failure"
r5 status "$mnt" >"$W/status.txt" || fail "raid5fs status failed on a failed array"
grep -q 'failed' "$W/status.txt" || fail "text status does not say failed: $(cat "$W/status.txt")"
r5 status --json "$mnt" | jq -e '.health == "failed"' >/dev/null || fail "status --json"
# Nothing to rebuild from: replace must refuse, and change nothing.
if r5 replace "$mnt" 1 2>"$W/replace.err"; then
	fail "replace on a failed array succeeded"
fi
log "replace refused: $(cat "$W/replace.err")"
expect "$mnt" '.health == "failed" and .sync.action == "idle"' "still failed, no sync after refused replace"

umount_array "$mnt"

# Mounting with two members missing: refused in one line naming both slots.
surv=("${MEMBERS[0]}" "${MEMBERS[2]}")
mkdir -p "$mnt"
if r5 mount "${surv[@]}" "$mnt" 2>"$W/mount.err"; then
	adopt_mount "$mnt"
	fail "mount with slots 1 and 3 missing succeeded"
fi
cat "$W/mount.err" >&2
! mountpoint -q "$mnt" || { adopt_mount "$mnt"; fail "refused mount left $mnt mounted"; }
one_line "$W/mount.err" || fail "refusal is not one line: $(cat "$W/mount.err")"
{ grep -q 'slot 1' "$W/mount.err" && grep -q 'slot 3' "$W/mount.err"; } ||
	fail "refusal does not name slots 1 and 3: $(cat "$W/mount.err")"

# The same with the deleted paths given too: refused, one line, nothing mounted.
if r5 mount "${MEMBERS[@]}" "$mnt" 2>"$W/mount.err"; then
	adopt_mount "$mnt"
	fail "mount with two member files missing succeeded"
fi
cat "$W/mount.err" >&2
! mountpoint -q "$mnt" || { adopt_mount "$mnt"; fail "refused mount left $mnt mounted"; }
one_line "$W/mount.err" || fail "refusal is not one line: $(cat "$W/mount.err")"

# The survivors were not changed into something unusable by all this:
# their superblocks still decode and still name this array's 4 slots.
r5_offline info "${surv[@]}" >&2 || fail "surviving members no longer decode"
