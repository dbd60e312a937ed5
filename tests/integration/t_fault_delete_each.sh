#!/bin/bash
# t_fault_delete_each: for every slot of a 4-member array, delete that member
# file while fio writes (with verification) to the image. The member must be
# marked faulty within about a second, fio must not see a single error or
# bad block, the seeded data must still read back, and writes go on while
# degraded. Then `raid5fs replace --wait` rebuilds the slot (at its old path)
# under another fio load, check finds no mismatch, parity verifies offline,
# and the array is mounted without another member: what is computed from the
# rebuilt member (and parity) must equal the full image.
#
# Image layout (192 MiB for 4 x 64 MiB):
#   [0, 64M)     r5_pattern seed S    written before the fault, never rewritten
#   [64M, 128M)  fio (randwrite + crc32c verify), before and during the rebuild
#   [128M, 192M) r5_pattern seed S+1  written while degraded
#
# Slot 0 is mounted without each of the other three members in turn; the
# other slots without one other member each (slot + 2), to save time.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

command -v fio >/dev/null || fail "fio missing"

N=4
for slot in 0 1 2 3; do
	seed=$((7100 + 10 * slot))
	log "=== slot $slot: delete while fio writes"
	R5_PREFIX="s${slot}m" make_array "$N" 64M --chunk 64K --name "del$slot"
	mnt=$W/mnt$slot
	mount_array "$mnt"
	img=$mnt/image
	[[ $(size_of "$img") -eq $((3 * 64 * MB)) ]] || fail "image size $(size_of "$img")"
	expect_optimal "$mnt"

	r5_pattern fill "$img" "$seed" 0 64M >&2 || fail "pattern fill failed"

	fio_verify "w$slot" 90 --filename="$img" --rw=randwrite --bsrange=4k-64k \
		--size=64M --offset=64M --time_based --runtime=8 --randseed=$seed &
	fpid=$!
	sleep 2
	kill -0 "$fpid" 2>/dev/null || { wait "$fpid" || true; fail "fio ended before the fault"; }
	t0=$(now_ms)
	rm -- "${MEMBERS[slot]}"
	wait_status "$mnt" 3 ".members[$slot].state == \"faulty\"" "slot $slot faulty after its file was deleted"
	log "slot $slot marked faulty $(($(now_ms) - t0)) ms after rm"
	expect "$mnt" ".health == \"degraded\" and (.members[$slot].reason | test(\"delet\"; \"i\"))
		and ([.members[] | select(.slot != $slot) | .state] | all(. == \"in_sync\"))" \
		"degraded, slot $slot faulty (reason: deleted), the others in_sync"
	# The survivors' superblocks record the failure (r5_offline reads them
	# while the array runs; the deleted member is not given to it).
	members_except "$slot"
	wait_until 5 "survivors' superblocks mark slot $slot faulty" disk_role_is "$slot" faulty "${SUBSET[@]}"
	wait "$fpid" || fail "fio (running across the deletion of member $slot) failed"
	expect "$mnt" '.health == "degraded" and .io.errors == 0' "still degraded, no I/O errors"

	# Degraded: old data reads back, new data writes and reads back.
	r5_pattern check "$img" "$seed" 0 64M >&2 || fail "pattern region wrong after deleting member $slot"
	r5_pattern fill "$img" $((seed + 1)) 128M 64M >&2 || fail "degraded write failed"
	r5_pattern check "$img" $((seed + 1)) 128M 64M >&2 || fail "degraded write reads back wrong"

	# Rebuild at the slot's old path while fio keeps writing and verifying.
	# The rebuild steps aside for user I/O down to speed_min (default 16 MiB/s,
	# a bit slow for this short test): 32 MiB/s keeps it going under load.
	r5 speed "$mnt" --min 32M >&2 || fail "raid5fs speed --min 32M failed"
	fio_verify "r$slot" 90 --filename="$img" --rw=randwrite --bsrange=4k-64k \
		--size=64M --offset=64M --time_based --runtime=6 --randseed=$((seed + 2)) &
	fpid=$!
	sleep 0.5
	t0=$(now_ms)
	r5 replace --wait "$mnt" "$slot" >&2 || { show_status "$mnt"; fail "replace --wait $slot failed"; }
	if kill -0 "$fpid" 2>/dev/null; then
		log "slot $slot rebuilt in $(($(now_ms) - t0)) ms, under fio load"
	else
		log "slot $slot rebuilt in $(($(now_ms) - t0)) ms (fio ended before the rebuild did)"
	fi
	wait "$fpid" || fail "fio (running during the rebuild of slot $slot) failed"
	[[ -f ${MEMBERS[slot]} ]] || fail "replace did not recreate ${MEMBERS[slot]}"
	[[ $(stat -c %a "${MEMBERS[slot]}") == 600 ]] ||
		fail "the replacement ${MEMBERS[slot]} is not 0600 (it holds the array's data)"
	expect_optimal "$mnt"
	expect "$mnt" '.sync.last_action == "recover" and .sync.last_result == "ok"' "last sync was a successful recover"
	expect "$mnt" ".members[$slot].path == \"${MEMBERS[slot]}\"" "slot $slot is at its old path"

	r5_pattern check "$img" "$seed" 0 64M >&2 || fail "pattern region wrong after rebuilding slot $slot"
	r5_pattern check "$img" $((seed + 1)) 128M 64M >&2 || fail "degraded-written region wrong after rebuild"
	check_clean "$mnt"
	umount_array "$mnt"

	# Offline: parity right on every row; the decoded image is the reference.
	r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed after rebuilding slot $slot"
	r5_offline image "$W/full.img" "${MEMBERS[@]}" 2>/dev/null || fail "offline decode failed"
	r5_pattern check "$W/full.img" "$seed" 0 64M >&2 || fail "offline image: pattern region wrong"

	# Other members left out in turn: the rebuilt one must stand in for them.
	# Every other member for slot 0; one (slot + 2) for the others, to keep
	# the test near a minute and a half.
	others=("$(((slot + 2) % N))")
	[[ $slot -ne 0 ]] || others=(1 2 3)
	for m in "${others[@]}"; do
		members_except "$m"
		log "slot $slot: mount without member $m"
		mount_paths "$mnt" "$W/mount.err" "${SUBSET[@]}"
		{ grep -qi 'degraded' "$W/mount.err" && grep -q "slot $m" "$W/mount.err"; } ||
			fail "mount without member $m: no warning naming slot $m (stderr: $(cat "$W/mount.err"))"
		expect "$mnt" ".health == \"degraded\" and .members[$m].state != \"in_sync\"
			and .members[$slot].state == \"in_sync\"" "mounted without member $m"
		r5_pattern check "$mnt/image" "$seed" 0 64M >&2 || fail "without member $m: pattern region wrong"
		r5_pattern check "$mnt/image" $((seed + 1)) 128M 64M >&2 || fail "without member $m: second region wrong"
		to 120 cmp -- "$mnt/image" "$W/full.img" || fail "without member $m: image differs from the full one"
		umount_array "$mnt"
	done
	rm -f -- "${MEMBERS[@]}" "$W/full.img"
done
