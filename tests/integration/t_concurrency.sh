#!/bin/bash
# t_concurrency: 8 writers and 2 readers at once on interleaved blocks
# smaller than a stripe (so they share stripes and pages), every block
# verified after, after a remount and offline; then durability: data that was
# fsynced before the daemon is killed with SIGKILL is intact after remount.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

MB=$((1024 * 1024))
make_array 4 64M --chunk 64K --name conc
mnt=$W/mnt
mount_array "$mnt"
img=$mnt/image
size=$(size_of "$img")
[[ $size -eq $((192 * MB)) ]] || fail "image size $size"

# Image map (192 MiB):
#   round 1  [0, 64M)     blocks of 12 KiB, 10 slots interleaved
#   round 2  [64M, 128M)  blocks of 5000 bytes (unaligned), 10 slots
#   fsync    [128M, 160M) data fsynced before the crash
#   unsynced [160M, 192M) written while the daemon is killed
BASE_SEED=1000
r5_pattern fill "$img" $BASE_SEED >&2 || fail "initial fill failed"

# slot_args ROUND SLOT: OFF LEN BLOCK STEP of one slot's blocks
slot_args() {
	local round=$1 slot=$2 base block
	if [[ $round -eq 1 ]]; then base=0 block=12288; else base=$((64 * MB)) block=5000; fi
	echo "$((base + slot * block)) $((64 * MB - slot * block)) $block $((10 * block))"
}
writer_seed() { echo $((2000 + 100 * $1 + $2)); }

run_round() {
	local round=$1 w s p failed=0
	local -a writers=() readers=()
	rm -f "$W/writers_done"
	for w in 0 1 2 3 4 5 6 7; do
		# shellcheck disable=SC2046
		r5_pattern fill "$img" "$(writer_seed "$round" "$w")" $(slot_args "$round" "$w") >/dev/null &
		writers+=($!)
	done
	for s in 8 9; do
		(
			# Blocks nobody writes, in the stripes everybody writes: they must
			# read back unchanged the whole time (a read-modify-write that
			# used stale data would show here).
			n=0
			while :; do
				# shellcheck disable=SC2046
				r5_pattern check "$img" $BASE_SEED $(slot_args "$round" "$s") >/dev/null || exit 1
				n=$((n + 1))
				[[ -e $W/writers_done ]] && break
			done
			echo "reader slot $s: $n passes" >&2
		) &
		readers+=($!)
	done
	( while [[ ! -e $W/writers_done ]]; do cat "$mnt/.raid5fs/status" >/dev/null || exit 1; sleep 0.2; done ) &
	readers+=($!)
	for p in "${writers[@]}"; do wait "$p" || failed=1; done
	touch "$W/writers_done"
	for p in "${readers[@]}"; do wait "$p" || failed=2; done
	[[ $failed -ne 1 ]] || fail "round $round: a writer failed"
	[[ $failed -ne 2 ]] || fail "round $round: a reader saw wrong data (or status failed)"
}

verify_rounds() {
	local round w
	for round in 1 2; do
		for w in 0 1 2 3 4 5 6 7; do
			# shellcheck disable=SC2046
			r5_pattern check "$img" "$(writer_seed "$round" "$w")" $(slot_args "$round" "$w") >/dev/null ||
				fail "$1: round $round writer $w's blocks are wrong"
		done
		for w in 8 9; do
			# shellcheck disable=SC2046
			r5_pattern check "$img" $BASE_SEED $(slot_args "$round" "$w") >/dev/null ||
				fail "$1: round $round untouched slot $w changed"
		done
	done
	if [[ ${2:-all} == all ]]; then
		r5_pattern check "$img" $BASE_SEED $((128 * MB)) $((64 * MB)) >/dev/null ||
			fail "$1: data outside the rounds changed"
	fi
	log "$1: all blocks verified"
}

log "round 1: 8 writers x 12 KiB blocks + 2 readers"
run_round 1
log "round 2: 8 writers x 5000-byte blocks + 2 readers"
run_round 2
verify_rounds "after the rounds"
sha_img=$(sha256sum <"$img" | cut -d' ' -f1)
umount_array "$mnt"
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed"
r5_offline image "$W/offline.img" "${MEMBERS[@]}" 2>/dev/null || fail "offline decode failed"
[[ $(sha256sum <"$W/offline.img" | cut -d' ' -f1) == "$sha_img" ]] || fail "offline image differs"
rm -f "$W/offline.img"
reorder_members
mount_array "$mnt"
verify_rounds "after remount"

# ---- durability across SIGKILL ------------------------------------------------
log "fsync, then kill -9 the daemon during further writes"
truncate -s $((2 * MB)) "$W/fsync.bin"
r5_pattern fill "$W/fsync.bin" 7000 >/dev/null
X=$((130 * MB + 12345))
to 60 dd if="$W/fsync.bin" of="$img" bs=64K seek=$X oflag=seek_bytes conv=fsync,notrunc status=none ||
	fail "dd conv=fsync into the image failed"
r5_pattern fill "$img" 7001 $((140 * MB + 777)) $((3 * MB - 1)) >/dev/null || fail "fill+fsync failed"
# Unsynced writes in flight when the daemon dies (their fate is not checked,
# only that they do not damage anything else).
( to 60 dd if=/dev/urandom of="$img" bs=48K seek=$((160 * MB)) count=600 oflag=seek_bytes \
	conv=notrunc status=none 2>/dev/null || true ) &
dd_pid=$!
sleep 0.5
kill_daemon "$mnt"
wait "$dd_pid" || true
mount_array "$mnt"
log "status after the unclean stop:"
r5 status "$mnt" >&2 || fail "raid5fs status failed after remount"
to 60 cmp -n $((2 * MB)) -i 0:$X "$W/fsync.bin" "$img" || fail "dd conv=fsync data lost after kill -9"
r5_pattern check "$img" 7001 $((140 * MB + 777)) $((3 * MB - 1)) >&2 || fail "fsynced data lost after kill -9"
verify_rounds "after kill -9 and remount" rounds-only
# Beyond the fsynced and the in-flight writes, the rest of [128M, 192M) was
# never written after the initial fill.
r5_pattern check "$img" $BASE_SEED $((128 * MB)) $((X - 128 * MB)) >/dev/null ||
	fail "data before the fsynced region changed"
r5_pattern check "$img" $BASE_SEED $((X + 2 * MB)) $((140 * MB + 777 - X - 2 * MB)) >/dev/null ||
	fail "data between the fsynced regions changed"
r5_pattern check "$img" $BASE_SEED $((143 * MB + 776)) $((17 * MB - 776)) >/dev/null ||
	fail "data between the fsynced and in-flight regions changed"
# The array is fully usable again (also while it resyncs).
r5_pattern write "$img" 4242 300 200K >&2 || fail "writes after the unclean stop failed verification"

# Once the resync after the crash is over, every row's parity is right and
# a clean stop says so in the superblocks.
wait_sync_idle "$mnt" 180
r5 status "$mnt" >&2
umount_array "$mnt"
info=$(r5_offline info "${MEMBERS[@]}")
echo "$info" >&2
if echo "$info" | grep '^member' | grep -qv 'state=clean .*resync_offset=done'; then
	fail "after the resync and a clean umount the superblocks are not clean/in sync"
fi
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "parity wrong after the crash and resync"
