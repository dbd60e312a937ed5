# shellcheck shell=bash
# lib_faults.sh - helpers shared by the fault-injection tests
# (tests/integration/t_fault_*.sh). Source it AFTER lib.sh:
#
#   source "$(dirname "$0")/lib.sh"
#   source "$(dirname "$0")/lib_faults.sh"
#
# It only adds functions on top of lib.sh (whose work dir $W, cleanup trap and
# helpers it relies on) and never changes lib.sh's state by itself. Every
# wait loop here has a deadline; every assertion prints the array's status
# before failing.

command -v jq >/dev/null || fail "jq missing (the fault tests read status.json with it)"

# shellcheck disable=SC2034 # used by the tests that source this file
MB=$((1024 * 1024))

# now_ms: wall clock in milliseconds
now_ms() { date +%s%3N; }

# status_json MNT: the raw status.json (bounded: a hung daemon must not hang us)
status_json() { timeout 10 cat -- "$1/.raid5fs/status.json"; }

# st MNT FILTER: jq -r FILTER applied to MNT's status.json
st() {
	local json
	json=$(status_json "$1") || return 1
	jq -r "$2" <<<"$json"
}

# st_true MNT EXPR: true when the jq expression EXPR is true for status.json
st_true() {
	local json
	json=$(status_json "$1" 2>/dev/null) || return 1
	jq -e "$2" <<<"$json" >/dev/null 2>&1
}

# show_status MNT: the interesting parts of status.json, on stderr
show_status() {
	local json
	json=$(status_json "$1" 2>/dev/null) || { log "(no status.json under $1)"; return 0; }
	jq -c '{pid, health, dirty, needs_resync, events, mismatch_count, sync,
		members: [.members[] | {slot, state, reason, path, writes, write_bytes,
		read_errors, write_errors}]}' <<<"$json" >&2 || printf '%s\n' "$json" >&2
}

# expect MNT EXPR DESC: assert now that jq EXPR holds for MNT's status.json
expect() {
	st_true "$1" "$2" && return 0
	show_status "$1"
	fail "$3 (status.json: '$2' does not hold)"
}

# wait_until SECS DESC CMD...: run CMD every 0.1 s until it succeeds; fail
# after SECS seconds.
wait_until() {
	local secs=$1 desc=$2 end
	shift 2
	end=$(($(now_ms) + secs * 1000))
	until "$@"; do
		(($(now_ms) < end)) || fail "timed out after ${secs}s waiting for: $desc"
		sleep 0.1
	done
}

# wait_status MNT SECS EXPR DESC: until jq EXPR holds for MNT's status.json
wait_status() {
	local mnt=$1 secs=$2 expr=$3 desc=$4 end
	end=$(($(now_ms) + secs * 1000))
	until st_true "$mnt" "$expr"; do
		if (($(now_ms) >= end)); then
			show_status "$mnt"
			fail "timed out after ${secs}s waiting for: $desc ($expr)"
		fi
		sleep 0.1
	done
}

# wait_sync_idle MNT SECS: until no sync action (recover/resync/check) runs
wait_sync_idle() {
	wait_status "$1" "$2" '.sync.action == "idle"' "sync action idle on $1"
}

# expect_optimal MNT: health optimal, every member in_sync, nothing running
expect_optimal() {
	expect "$1" '.health == "optimal" and ([.members[].state] | all(. == "in_sync"))
		and .sync.action == "idle"' "array $1 is not optimal with all members in_sync"
}

# check_clean MNT: `raid5fs check --wait` must end well, print
# "mismatch_count: 0", and status.json must agree.
check_clean() {
	local mnt=$1 out
	out=$(r5 check --wait "$mnt" 2>"$W/check.err") || {
		cat "$W/check.err" >&2
		show_status "$mnt"
		fail "raid5fs check --wait $mnt failed"
	}
	log "check: $out"
	grep -qx 'mismatch_count: 0' <<<"$out" || {
		cat "$W/check.err" >&2
		show_status "$mnt"
		fail "check did not print 'mismatch_count: 0' (printed: $out)"
	}
	expect "$mnt" '.mismatch_count == 0 and .sync.last_action == "check"
		and .sync.last_result == "ok" and .sync.action == "idle"' \
		"status after check"
}

# members_except SLOT: sets SUBSET to MEMBERS without MEMBERS[SLOT] (in these
# tests MEMBERS[i] is the member created for slot i).
members_except() {
	local i
	SUBSET=()
	for i in "${!MEMBERS[@]}"; do
		[[ $i -eq $1 ]] || SUBSET+=("${MEMBERS[i]}")
	done
}

# mount_paths MNT ERRFILE PATH...: `raid5fs mount PATH... MNT` (what mount_array
# does for "${MEMBERS[@]}", but for any list of paths), keeping its stderr in
# ERRFILE (also copied to our stderr); the mount is recorded for cleanup.
mount_paths() {
	local mnt=$1 err=$2 rc=0
	shift 2
	mkdir -p "$mnt"
	r5 mount "$@" "$mnt" 2>"$err" || rc=$?
	cat "$err" >&2
	if [[ $rc -ne 0 ]]; then
		mountpoint -q "$mnt" && adopt_mount "$mnt"
		fail "raid5fs mount $* $mnt failed (exit $rc)"
	fi
	adopt_mount "$mnt"
	wait_mounted "$mnt"
}

# disk_field SLOT FIELD MEMBER...: a field of slot SLOT's own superblock as the
# independent decoder reads it (r5_offline info), e.g. state, recovery_offset.
disk_field() {
	local slot=$1 field=$2
	shift 2
	r5_offline info "$@" 2>/dev/null |
		awk -v s="slot=$slot" -v f="$field=" '
			/^member / { hit = 0; for (i = 1; i <= NF; i++) if ($i == s) hit = 1
				if (hit) for (i = 1; i <= NF; i++) if (index($i, f) == 1) { print substr($i, length(f) + 1); exit } }'
}

# disk_states MEMBER...: the "state=" of every member's superblock, space separated
disk_states() {
	r5_offline info "$@" 2>/dev/null | grep -o ' state=[^ ]*' | sed 's/ state=//' | tr '\n' ' ' | sed 's/ $//'
}

# disk_role_is SLOT ROLE MEMBER...: every given member's superblock lists
# ROLE (in_sync, faulty, rebuilding, spare) for slot SLOT in its roles table.
disk_role_is() {
	local slot=$1 role=$2 roles n=0
	local -a r
	shift 2
	while read -r roles; do
		IFS=, read -r -a r <<<"$roles"
		[[ ${r[slot]:-} == "$role" ]] || return 1
		n=$((n + 1))
	done < <(r5_offline info "$@" 2>/dev/null | grep -o ' roles=[^ ]*' | sed 's/ roles=//')
	[[ $n -eq $# ]]
}

# all_disk_clean MEMBER...: every superblock says state=clean
all_disk_clean() {
	local s
	s=$(disk_states "$@") && [[ -n $s ]] || return 1
	[[ $s =~ ^(clean ?)+$ ]]
}

# fio_verify NAME SECS FIO-ARGS...: fio with crc32c verification (psync);
# returns non-zero (with the log's tail on stderr) if fio fails or reports a
# bad verify or an I/O error. Meant to run in the background too (it does
# not call fail, which would only end the subshell).
fio_verify() {
	local name=$1 secs=$2 flog=$W/fio-$1.log
	shift 2
	log "fio $name: $*"
	if ! timeout -k 10 "$secs" fio --name="$name" --ioengine=psync --iodepth=1 \
		--verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 "$@" >"$flog" 2>&1; then
		tail -n 30 "$flog" >&2
		log "fio $name FAILED (log $flog)"
		return 1
	fi
	if grep -Eiq 'verify failed|verify: bad|bad magic|err= *[1-9]' "$flog"; then
		grep -Ei 'verify|err=' "$flog" >&2
		log "fio $name reported errors"
		return 1
	fi
	grep -E 'WRITE:|READ:' "$flog" >&2 || true
	return 0
}

# one_line FILE: FILE has exactly one non-empty line
one_line() { [[ $(grep -c . "$1") -eq 1 ]]; }
