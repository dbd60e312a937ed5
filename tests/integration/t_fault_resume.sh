#!/bin/bash
# t_fault_resume: a rebuild interrupted by kill -9 resumes from its
# checkpoint. A member is deleted, `raid5fs replace` is started with the sync
# speed capped at 4 MiB/s so it takes ~16 s, and the daemon is killed with
# SIGKILL once the rebuild is well under way. No user write is in flight (the
# array went clean a second after the last one), so the next mount needs no
# --force. It must go on with "recover" from the persisted checkpoint, not
# from 0: right after the mount done_bytes is already >= the checkpoint, and
# in the end the rebuilt member has received only the bytes above the
# checkpoint. Then every byte of the image verifies, check finds 0
# mismatches, and parity verifies offline.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

seed=5150
slot=2
msize=$((64 * MB))
make_array 4 64M --chunk 64K --name resume
mnt=$W/mnt
mount_array "$mnt"
img=$mnt/image
r5_pattern fill "$img" "$seed" >&2 || fail "pattern fill failed"

rm -- "${MEMBERS[slot]}"
wait_status "$mnt" 3 ".members[$slot].state == \"faulty\"" "slot $slot faulty after delete"
expect "$mnt" '.health == "degraded"' "degraded"

r5 speed "$mnt" --min 1M --max 4M >&2 || fail "raid5fs speed --min 1M --max 4M failed"
expect "$mnt" ".sync.speed_max == $((4 * MB))" "speed_max set to 4 MiB/s"
r5 replace "$mnt" "$slot" >&2 || fail "raid5fs replace $slot failed"
wait_status "$mnt" 10 '.sync.action == "recover" and .sync.done_bytes > 0' "recovery under way"
expect "$mnt" ".members[$slot].state == \"rebuilding\" and .health != \"optimal\"" \
	"slot $slot rebuilding, array not optimal yet"
# Reads during the rebuild (no writes: the array must stay clean): below the
# checkpoint they come from the new member, above it they are computed.
r5_pattern check "$img" "$seed" >&2 || fail "image wrong while slot $slot is being rebuilt"
# Well under way, but not finished (at 4 MiB/s: 25% is ~4 s in, 75% is ~12 s).
wait_status "$mnt" 30 '.sync.action == "recover" and .sync.progress >= 0.25' "recovery past 25%"
expect "$mnt" '.sync.action == "recover" and .sync.progress < 0.75' "recovery still running when we kill it"
expect "$mnt" ".members[$slot].state == \"rebuilding\"" "slot $slot is rebuilding"
expect "$mnt" '.dirty == false' "no user writes: the array is clean"
before=$(st "$mnt" '.sync.done_bytes')
log "kill -9 at done_bytes=$before of $msize"
kill_daemon "$mnt"

# The checkpoint is on disk, in the rebuilding member's superblock.
ckpt=$(disk_field "$slot" recovery_offset "${MEMBERS[@]}")
log "superblocks after the kill: $(disk_states "${MEMBERS[@]}"); slot $slot recovery_offset=$ckpt"
[[ $ckpt =~ ^[0-9]+$ ]] || fail "no numeric recovery checkpoint on slot $slot after the kill (got '$ckpt')"
((ckpt > 0 && ckpt < msize)) || fail "checkpoint $ckpt not inside (0, $msize)"
all_disk_clean "${MEMBERS[@]}" || fail "array not clean on disk after an idle kill: $(disk_states "${MEMBERS[@]}")"

# Mount again (no --force) and slow the rebuild down at once so we can watch it.
mount_paths "$mnt" "$W/mount.err" "${MEMBERS[@]}"
r5 speed "$mnt" --min 1M --max 4M >&2 || fail "raid5fs speed --min 1M --max 4M failed (after remount)"
show_status "$mnt"
expect "$mnt" ".sync.action == \"recover\" and .sync.done_bytes >= $ckpt and .sync.done_bytes > 0" \
	"right after the mount the recovery runs from the checkpoint ($ckpt), not from 0"
expect "$mnt" '.needs_resync == false' "a clean stop needs no resync"
d1=$(st "$mnt" '.sync.done_bytes')
wait_status "$mnt" 10 ".sync.action != \"recover\" or .sync.done_bytes > $d1" "recovery makes progress"
r5 speed "$mnt" --max 2000M >&2 || fail "raid5fs speed --max 2000M failed"
wait_sync_idle "$mnt" 120
expect_optimal "$mnt"
expect "$mnt" '.sync.last_action == "recover" and .sync.last_result == "ok"' "recovery finished well"
# Since this mount, only the part above the checkpoint was written to the new
# member (plus superblock updates: allow 1 MiB).
wb=$(st "$mnt" ".members[$slot].write_bytes")
log "slot $slot: $wb bytes written since the mount (member $msize, checkpoint $ckpt)"
((wb <= msize - ckpt + MB)) || fail "rebuild restarted instead of resuming: $wb bytes written, expected <= $((msize - ckpt + MB))"
((wb >= msize - ckpt - MB)) || fail "only $wb bytes written to slot $slot after resuming at $ckpt: the rest was not rebuilt?"

r5_pattern check "$img" "$seed" >&2 || fail "image wrong after the resumed rebuild"
check_clean "$mnt"
umount_array "$mnt"
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed after the resumed rebuild"
# And the rebuilt member really holds its strips: decode without another slot.
r5_offline image --missing 0 "$W/dec.img" "${MEMBERS[@]}" 2>/dev/null || fail "offline decode without slot 0 failed"
r5_pattern check "$W/dec.img" "$seed" >&2 || fail "image decoded without slot 0 is wrong"
