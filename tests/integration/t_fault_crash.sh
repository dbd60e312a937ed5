#!/bin/bash
# t_fault_crash: unclean stop. Data is written and fsynced; the array must go
# clean on disk about a second after the last write (safe mode). Then writes
# start again (the superblocks must say "not clean" while they run) and the
# daemon is killed with SIGKILL in the middle of them; the dead mount is
# detached with fusermount3 -uz. The next mount (no --force: nothing is
# missing) must resync the array; that resync is slowed down and interrupted
# by a second kill -9, and must run again on the mount after. Then:
# needs_resync is false, every fsynced byte is intact, no block is reported
# as failing its checksum, check counts 0 mismatches and, offline, the
# parity of every row is right.
#
# To be sure the resync has real work, a torn write is simulated after the
# first kill (garbage in two members, in the region fio was writing).
#
# Image layout (192 MiB for 4 x 64 MiB):
#   [0, 64M)     r5_pattern seed S (fill ends with fsync)
#   [64M, 96M)   random bytes, dd conv=fsync, kept in $W/rand.bin
#   [96M, 192M)  fio randwrite, running when the daemon is killed
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

command -v fio >/dev/null || fail "fio missing"

seed=9300
make_array 4 64M --chunk 64K --name crash
mnt=$W/mnt
mount_array "$mnt"
img=$mnt/image

# 1. Durable data: written and fsynced.
r5_pattern fill "$img" "$seed" 0 64M >&2 || fail "pattern fill failed"
head -c $((32 * MB)) /dev/urandom >"$W/rand.bin"
to 60 dd if="$W/rand.bin" of="$img" bs=1M seek=64 conv=notrunc,fsync status=none ||
	fail "dd conv=fsync of the random region failed"

# 2. Safe mode: with no writes the array is marked clean, in status.json and
#    in every superblock on disk, within about a second.
t0=$(now_ms)
wait_status "$mnt" 3 '.dirty == false' "array clean (status.json) about 1 s after the last write"
wait_until 3 "every superblock on disk says clean" all_disk_clean "${MEMBERS[@]}"
log "idle array clean on disk $(($(now_ms) - t0)) ms after the last write: $(disk_states "${MEMBERS[@]}")"

# 3. Writes in flight, then SIGKILL.
timeout -k 5 60 fio --name=crashw --filename="$img" --ioengine=psync --rw=randwrite \
	--bsrange=4k-128k --offset=96M --size=96M --time_based --runtime=40 \
	--randseed=$seed >"$W/fio-crash.log" 2>&1 &
fpid=$!
sleep 2
kill -0 "$fpid" 2>/dev/null || { cat "$W/fio-crash.log" >&2; fail "fio ended too early"; }
expect "$mnt" '.dirty == true' "array dirty while being written"
states=$(disk_states "${MEMBERS[@]}")
[[ ! $states =~ clean ]] || fail "superblocks say clean while writes are in flight: $states"
log "superblocks while writing: $states"
log "kill -9 of the daemon during the writes"
kill_daemon "$mnt"
if wait "$fpid"; then log "note: fio exited 0"; else log "fio ended with status $? (expected: its device vanished)"; fi
states=$(disk_states "${MEMBERS[@]}")
[[ ! $states =~ clean ]] || fail "after kill -9 during writes the superblocks say clean: $states"
# For the record: did the crash leave rows whose parity does not match?
# (It may or may not; the resync below must make them right either way.)
pv=$(r5_offline verify-parity "${MEMBERS[@]}" 2>&1) || true
log "offline parity right after the crash: ${pv##*$'\n'}"
# Make sure there IS something for the resync to repair: a torn write, as a
# power loss can leave it. 64 KiB of garbage in members 0 and 2 at member
# offset 40M (image row 640, i.e. image offset 120M: inside the region fio
# was writing without fsync, so no acknowledged-durable data is touched;
# with 64 MiB bitmap regions this is in a region fio dirtied).
doff=$(r5_offline info "${MEMBERS[@]}" 2>/dev/null | grep -o 'data_offset=[0-9]*' | head -n1 | cut -d= -f2)
[[ $doff =~ ^[0-9]+$ ]] || fail "cannot read data_offset with r5_offline info"
for m in 0 2; do
	dd if=/dev/urandom of="${MEMBERS[m]}" bs=64K seek=$(((doff + 40 * MB) / (64 * 1024))) count=1 \
		conv=notrunc status=none || fail "corrupting member $m failed"
done
if r5_offline verify-parity "${MEMBERS[@]}" >"$W/vp.out" 2>&1; then
	fail "the torn write did not make any row's parity wrong (test setup problem)"
fi
log "after the simulated torn write: $(tail -n1 "$W/vp.out")"

# 4. Mount again: a resync must run. Slow it down at once (4 MiB/s) and
#    crash again in the middle of it: an interrupted resync must not leave
#    the array marked clean, and must run again on the next mount.
mount_paths "$mnt" "$W/mount.err" "${MEMBERS[@]}"
r5 speed "$mnt" --min 1M --max 4M >&2 || fail "raid5fs speed --min 1M --max 4M failed"
grep -qi 'clean' "$W/mount.err" || log "note: no warning about the unclean stop on mount"
show_status "$mnt"
expect "$mnt" '.sync.action == "resync" or .sync.last_action == "resync"' \
	"a resync runs (or already ran) after the unclean stop"
if st_true "$mnt" '.sync.action == "resync"'; then
	expect "$mnt" '.needs_resync == true' "needs_resync while the resync runs"
	wait_status "$mnt" 20 '.sync.action != "resync" or .sync.progress >= 0.1' "resync past 10%"
	if st_true "$mnt" '.sync.action == "resync"'; then
		log "kill -9 of the daemon during the resync (at $(st "$mnt" .sync.done_bytes) bytes)"
		kill_daemon "$mnt"
		states=$(disk_states "${MEMBERS[@]}")
		log "superblocks after the kill during resync: $states (resync_offset $(disk_field 0 resync_offset "${MEMBERS[@]}"))"
		[[ ! $states =~ clean ]] || fail "killed during the resync, yet the superblocks say clean: $states"
		mount_paths "$mnt" "$W/mount.err" "${MEMBERS[@]}"
		show_status "$mnt"
		expect "$mnt" '.sync.action == "resync" or .sync.last_action == "resync"' \
			"the interrupted resync runs again on the next mount"
	else
		log "note: the resync ended before we could interrupt it"
	fi
else
	log "note: the resync was over before it could be slowed down; not interrupting it"
fi
wait_sync_idle "$mnt" 120
expect "$mnt" '.needs_resync == false and .sync.last_action == "resync"
	and .sync.last_result == "ok" and .health == "optimal"' "resync finished well"
# Per-block checksums (on by default): blocks written without their table
# entry before the crash, and the torn write above, are in regions the
# bitmap marked, where the data wins: none of them is reported as damage.
expect "$mnt" '[.members[].checksum_errors] | add == 0' \
	"no checksum error reported after the crash and its resync"

r5_pattern check "$img" "$seed" 0 64M >&2 || fail "fsynced pattern region damaged by the crash"
to 60 cmp -n $((32 * MB)) -i 0:$((64 * MB)) -- "$W/rand.bin" "$img" ||
	fail "fsynced random region damaged by the crash"
check_clean "$mnt"
# Still a working array: new writes land and read back.
r5_pattern write "$img" $((seed + 1)) 200 256K >&2 || fail "writes after the crash recovery failed"
umount_array "$mnt"

all_disk_clean "${MEMBERS[@]}" || fail "not clean on disk after umount: $(disk_states "${MEMBERS[@]}")"
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed after the crash and resync"
