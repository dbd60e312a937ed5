# lib.sh - sourced by every integration test (tests/integration/t_*.sh).
#
# Gives each test: strict mode, a private work directory ($W), an overall
# timeout, and a cleanup trap that undoes exactly what the test set up, in
# order: filesystems mounted on loop devices, loop devices, raid5fs mounts,
# raid5fs daemons the test started, then the work directory. Nothing else is
# touched: no process is killed unless this test started it (and its
# /proc/PID/cmdline still names our mount point).
#
# Environment (set by ctest, see tests/CMakeLists.txt):
#   R5_BIN       the raid5fs command
#   R5_TOOLS     directory with r5_offline and r5_pattern
#   R5_SRC       source tree
# Optional:
#   R5_TEST_DIR      parent of the work directory (default /tmp)
#   R5_KEEP=1        keep the work directory (and say where it is)
#   R5_TEST_TIMEOUT  overall seconds (default 540, below ctest's 600)
#
# Exit codes: 0 pass, 1 fail, 77 skip (ctest SKIP_RETURN_CODE).

set -euo pipefail

T_NAME=$(basename "$0" .sh)

log() { printf '[%s %s] %s\n' "$T_NAME" "$(date +%T)" "$*" >&2; }
fail() { printf '[%s] FAIL: %s\n' "$T_NAME" "$*" >&2; exit 1; }
skip() { printf '[%s] SKIP: %s\n' "$T_NAME" "$*" >&2; exit 77; }

# ---- prerequisites (skip, not fail, when the machine cannot run us) -------
[[ $(id -u) -eq 0 ]] || skip "needs root (FUSE allow_other, loop devices)"
[[ -c /dev/fuse ]] || skip "/dev/fuse missing"
command -v fusermount3 >/dev/null || skip "fusermount3 missing (package fuse3)"
command -v mountpoint >/dev/null || skip "mountpoint missing (package util-linux)"
: "${R5_BIN:?R5_BIN must name the raid5fs binary}"
: "${R5_TOOLS:=$(dirname "$R5_BIN")/tests}"
: "${R5_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
[[ -x $R5_BIN ]] || fail "R5_BIN=$R5_BIN is not executable (build the raid5fs target)"
R5_OFFLINE=$R5_TOOLS/r5_offline
R5_PATTERN=$R5_TOOLS/r5_pattern
[[ -x $R5_OFFLINE && -x $R5_PATTERN ]] || fail "test tools missing in $R5_TOOLS"
export R5_BIN R5_TOOLS R5_SRC

# ---- overall timeout: re-run this script under timeout(1) -----------------
# ctest kills a test that overruns with no chance to clean up; our own,
# shorter timeout sends TERM to the whole process group, the trap below
# unmounts and removes what the test made, and the test fails with 124.
if [[ -z ${R5_UNDER_TIMEOUT:-} ]]; then
	export R5_UNDER_TIMEOUT=1
	exec timeout -k 45 "${R5_TEST_TIMEOUT:-540}" bash "$0" "$@"
fi

# ---- work directory and what we made (undone in reverse) ------------------
if [[ -n ${R5_TEST_DIR:-} ]]; then
	mkdir -p "$R5_TEST_DIR"
	W=$(mktemp -d "$R5_TEST_DIR/$T_NAME.XXXXXX")
else
	W=$(mktemp -d "/tmp/r5test.$T_NAME.XXXXXX")
fi
_R5_FSMOUNTS=()   # directories with a filesystem mounted from a loop device
_R5_LOOPS=()      # loop devices we attached ("dev|backing file")
_R5_MOUNTS=()     # raid5fs mount points
_R5_PIDS=()       # raid5fs daemons we started ("pid|mountpoint")
_R5_CLEANING=0

_r5_cleanup() {
	local rc=$? e d dev back p pid mnt i busy=0
	[[ $_R5_CLEANING -eq 0 ]] || return 0
	_R5_CLEANING=1
	trap - EXIT INT TERM
	set +e
	if [[ $rc -ne 0 && $rc -ne 77 ]]; then
		log "exit status $rc; state at failure:"
		for mnt in "${_R5_MOUNTS[@]}"; do
			if mountpoint -q "$mnt"; then
				timeout 10 cat "$mnt/.raid5fs/status" >&2 2>/dev/null
			fi
		done
	fi
	# 0. background jobs of this shell (writers, readers) and everything they
	#    started: all ours. Bounded wait: never hang the cleanup.
	for pid in $(jobs -pr); do _r5_kill_tree "$pid"; done
	# 1. filesystems on loop devices (newest first)
	for ((i = ${#_R5_FSMOUNTS[@]} - 1; i >= 0; i--)); do
		d=${_R5_FSMOUNTS[i]}
		mountpoint -q "$d" || continue
		timeout 60 umount "$d" || { sleep 1; timeout 60 umount "$d"; } ||
			umount -l "$d" || { log "cannot unmount $d"; busy=1; }
	done
	# 2. loop devices, only if still bound to the file we gave them
	for e in "${_R5_LOOPS[@]}"; do
		dev=${e%%|*} back=${e#*|}
		if [[ $(losetup -n -O BACK-FILE "$dev" 2>/dev/null | sed 's/ *$//') == "$back"* ]]; then
			losetup -d "$dev" || log "cannot detach $dev"
		fi
	done
	# 3. raid5fs mounts: the proper way, then the lazy way
	for ((i = ${#_R5_MOUNTS[@]} - 1; i >= 0; i--)); do
		mnt=${_R5_MOUNTS[i]}
		mountpoint -q "$mnt" || continue
		timeout 60 "$R5_BIN" umount "$mnt" >&2 ||
			log "raid5fs umount $mnt failed; fusermount3 -uz"
		if mountpoint -q "$mnt"; then
			fusermount3 -uz "$mnt" || umount -l "$mnt" || { log "cannot unmount $mnt"; busy=1; }
		fi
	done
	# 3b. anything else still mounted under our private work directory is
	#     ours too (e.g. a mount that was expected to fail but did not)
	while read -r mnt; do
		log "unmounting leftover $mnt"
		if [[ -f $mnt/.raid5fs/status.json ]]; then
			pid=$(daemon_pid "$mnt") && _R5_PIDS+=("$pid|$mnt")
			timeout 60 "$R5_BIN" umount "$mnt" >&2
		fi
		if mountpoint -q "$mnt"; then
			umount "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null ||
				umount -l "$mnt" || busy=1
		fi
	done < <(awk -v w="$W/" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | tac)
	# 4. daemons we started that are still alive: give them time, then TERM, KILL
	for e in "${_R5_PIDS[@]}"; do
		pid=${e%%|*} mnt=${e#*|}
		for p in 1 2 3 4 5 6 7 8 9 10; do
			_r5_is_our_daemon "$pid" "$mnt" || break
			sleep 0.5
		done
		if _r5_is_our_daemon "$pid" "$mnt"; then
			log "daemon $pid ($mnt) still running: SIGTERM"
			kill -TERM "$pid"
			sleep 2
			_r5_is_our_daemon "$pid" "$mnt" && { log "SIGKILL $pid"; kill -KILL "$pid"; }
		fi
	done
	# 5. the work directory (never across a mount point left behind)
	if [[ ${R5_KEEP:-0} == 1 ]]; then
		log "keeping work directory $W"
	elif [[ $busy -eq 0 ]] && ! grep -qF " $W/" /proc/self/mounts; then
		rm -rf --one-file-system "$W"
	else
		log "something is still mounted under $W; leaving it"
	fi
	[[ $rc -eq 0 ]] && log "PASS"
	exit "$rc"
}
trap _r5_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# _r5_kill_tree PID: SIGTERM PID and all its descendants (found through
# /proc/*/stat), wait up to 5 s, then SIGKILL what is left. Only used on
# this shell's own background jobs.
_r5_kill_tree() {
	local -a todo=("$1") all=()
	local p f ppid i
	while ((${#todo[@]})); do
		p=${todo[0]}
		todo=("${todo[@]:1}")
		all+=("$p")
		for f in /proc/[0-9]*/stat; do
			ppid=$(sed 's/^.*) [A-Za-z] \([0-9]*\) .*/\1/' "$f" 2>/dev/null) || continue
			[[ $ppid == "$p" ]] && { f=${f#/proc/}; todo+=("${f%/stat}"); }
		done
	done
	kill -TERM "${all[@]}" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		_r5_any_alive "${all[@]}" || break
		sleep 0.1
	done
	_r5_any_alive "${all[@]}" && kill -KILL "${all[@]}" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# _r5_any_alive PID...: true if one of them is running (zombies don't count)
_r5_any_alive() {
	local p st
	for p; do
		st=$(sed 's/^.*) \([A-Za-z]\) .*/\1/' "/proc/$p/stat" 2>/dev/null) || continue
		[[ -n $st && $st != Z ]] && return 0
	done
	return 1
}

# True if pid is alive and is a raid5fs process: its executable is $R5_BIN
# or its command line names mount point mnt. The pid itself comes from that
# mount's status.json, so a recycled pid is never mistaken for our daemon.
_R5_BIN_REAL=$(realpath -- "$R5_BIN")
_r5_is_our_daemon() {
	local pid=$1 mnt=$2 exe
	[[ -r /proc/$pid/cmdline ]] || return 1
	[[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
	exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=
	[[ ${exe% (deleted)} == "$_R5_BIN_REAL" ]] && return 0
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -e "$mnt" -e "$(realpath -m -- "$mnt")"
}

# ---- helpers ---------------------------------------------------------------

# r5 ARGS...: the raid5fs command, with a generous timeout.
r5() { timeout --foreground -k 10 "${R5_CMD_TIMEOUT:-120}" "$R5_BIN" "$@"; }
r5_offline() { "$R5_OFFLINE" "$@"; }
r5_pattern() { timeout --foreground -k 10 "${R5_IO_TIMEOUT:-300}" "$R5_PATTERN" "$@"; }

# to SECS CMD...: run a command that might hang (dd, fio, cp) with a timeout.
to() { local s=$1; shift; timeout --foreground -k 10 "$s" "$@"; }

# size_of FILE: bytes
size_of() { stat -c %s -- "$1"; }

# make_array N SIZE [create options...]: creates members $W/disks/<prefix>0..N-1
# (prefix from $R5_PREFIX, default m) and sets MEMBERS=(paths).
make_array() {
	local n=$1 size=$2 i prefix=${R5_PREFIX:-m}
	shift 2
	mkdir -p "$W/disks"
	MEMBERS=()
	for ((i = 0; i < n; i++)); do MEMBERS+=("$W/disks/$prefix$i"); done
	r5 create "$@" --size "$size" "${MEMBERS[@]}" >&2 ||
		fail "raid5fs create $* --size $size (${n} members) failed"
}

# mount_array MNT [mount options...]: mounts "${MEMBERS[@]}" on MNT, waits
# until the image is there, records the daemon pid (status.json "pid").
mount_array() {
	local mnt=$1
	shift
	mkdir -p "$mnt"
	_r5_remember_mount "$mnt"
	r5 mount "$@" "${MEMBERS[@]}" "$mnt" >&2 || fail "raid5fs mount $* ${MEMBERS[*]} $mnt failed"
	wait_mounted "$mnt"
	local pid
	pid=$(daemon_pid "$mnt") || true
	if [[ -n $pid ]]; then
		_r5_is_our_daemon "$pid" "$mnt" ||
			fail "status.json of $mnt says pid $pid, which is not a raid5fs process"
		_R5_PIDS+=("$pid|$mnt")
	else
		log "warning: no daemon pid in $mnt/.raid5fs/status.json"
	fi
}

_r5_remember_mount() {
	local m
	for m in "${_R5_MOUNTS[@]}"; do [[ $m == "$1" ]] && return 0; done
	_R5_MOUNTS+=("$1")
}

# adopt_mount MNT: a raid5fs mount made outside mount_array (say, by a
# command that was expected to fail): record it so it is cleaned up.
adopt_mount() {
	local mnt=$1 pid
	_r5_remember_mount "$mnt"
	pid=$(daemon_pid "$mnt") && _R5_PIDS+=("$pid|$mnt")
	return 0
}

# wait_mounted MNT [SECS]: until MNT is a mount point with an image file.
wait_mounted() {
	local mnt=$1 secs=${2:-30} i
	for ((i = 0; i < secs * 10; i++)); do
		if mountpoint -q "$mnt" && [[ -f $mnt/image ]]; then return 0; fi
		sleep 0.1
	done
	fail "$mnt: not mounted (or no image) after ${secs}s"
}

# daemon_pid MNT: the daemon's pid from status.json
daemon_pid() {
	local pid
	pid=$(timeout 10 cat "$1/.raid5fs/status.json" |
		grep -o '"pid"[[:space:]]*:[[:space:]]*[0-9]*' | head -n1 | grep -o '[0-9]*$') || return 1
	[[ -n $pid ]] && echo "$pid"
}

# sync_action MNT: the running sync action from status.json ("idle",
# "resync", "recover", "check", "repair").
sync_action() {
	timeout 10 cat "$1/.raid5fs/status.json" |
		grep -o '"action"[[:space:]]*:[[:space:]]*"[a-z_]*"' | head -n1 | sed 's/.*"\([a-z_]*\)"$/\1/'
}

# wait_sync_idle MNT [SECS]: until no resync/recovery/check runs.
wait_sync_idle() {
	local mnt=$1 secs=${2:-120} i a=
	for ((i = 0; i < secs * 5; i++)); do
		a=$(sync_action "$mnt") || a=
		[[ $a == idle ]] && return 0
		sleep 0.2
	done
	fail "$mnt: sync action still '$a' after ${secs}s"
}

# umount_array MNT: raid5fs umount, and check that it is really gone and that
# the daemon has exited.
umount_array() {
	local mnt=$1 e pid i
	r5 umount "$mnt" >&2 || fail "raid5fs umount $mnt failed"
	! mountpoint -q "$mnt" || fail "$mnt still mounted after raid5fs umount"
	for e in "${_R5_PIDS[@]}"; do
		[[ ${e#*|} == "$mnt" ]] || continue
		pid=${e%%|*}
		for ((i = 0; i < 50; i++)); do
			_r5_is_our_daemon "$pid" "$mnt" || break
			sleep 0.1
		done
		_r5_is_our_daemon "$pid" "$mnt" && fail "daemon $pid still running after umount of $mnt"
	done
	return 0
}

# kill_daemon MNT: SIGKILL the daemon we started for MNT (simulated crash),
# then detach the dead mount with fusermount3 -uz.
kill_daemon() {
	local mnt=$1 e pid found=0 i
	for e in "${_R5_PIDS[@]}"; do
		[[ ${e#*|} == "$mnt" ]] || continue
		pid=${e%%|*}
		if _r5_is_our_daemon "$pid" "$mnt"; then
			kill -KILL "$pid"
			found=1
			for ((i = 0; i < 50; i++)); do
				[[ -e /proc/$pid ]] || break
				sleep 0.1
			done
		fi
	done
	[[ $found -eq 1 ]] || fail "no daemon of ours to kill for $mnt"
	fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	! mountpoint -q "$mnt" || fail "$mnt still mounted after killing its daemon"
}

# loop_attach FILE [LOSETUP-OPTION...]: sets LOOPDEV
loop_attach() {
	LOOPDEV=$(losetup --find --show "${@:2}" -- "$1") || fail "losetup --find --show ${*:2} $1 failed"
	_R5_LOOPS+=("$LOOPDEV|$(realpath -- "$1")")
}

loop_detach() { losetup -d "$1" || fail "losetup -d $1 failed"; }

# fs_mount DEV DIR [mount options...]
fs_mount() {
	local dev=$1 dir=$2
	shift 2
	mkdir -p "$dir"
	_R5_FSMOUNTS+=("$dir")
	to 120 mount "$@" "$dev" "$dir" || fail "mount $dev $dir failed"
}

fs_umount() { to 120 umount "$1" || fail "umount $1 failed"; }

# member_sums FILE...: sha256 of each file, one "hash  path" line each
member_sums() { sha256sum -- "$@"; }

# reorder_members: a fixed non-identity permutation of MEMBERS (reversed,
# then rotated by one), to show that the command-line order does not matter.
reorder_members() {
	local -a rev=() perm=()
	local i n=${#MEMBERS[@]}
	for ((i = n - 1; i >= 0; i--)); do rev+=("${MEMBERS[i]}"); done
	for ((i = 0; i < n; i++)); do perm+=("${rev[(i + 1) % n]}"); done
	MEMBERS=("${perm[@]}")
}

# offline_verify IMAGE_EXPECTED: with the array stopped, parity of every row
# must be right and the independently decoded image must equal the file.
offline_verify() {
	local expect=$1
	r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed"
	r5_offline image "$W/offline.img" "${MEMBERS[@]}" 2>/dev/null ||
		fail "offline decode failed"
	cmp -- "$W/offline.img" "$expect" || fail "offline image differs from $expect"
	rm -f -- "$W/offline.img"
}

log "work dir $W"
