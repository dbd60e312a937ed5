#!/bin/bash
# t_control: the control file's replies belong to the open file that wrote
# the command. Two fds open at once, a bad command on one and a good one on
# the other: each reads its own reply (tests/tools/r5_control_pair.c). A
# shell's "echo cmd > control; cat control" still shows the last reply, and
# `raid5fs` commands refused by the engine print the engine's reason even
# while other commands run on the same mount.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

PAIR=$R5_TOOLS/r5_control_pair
[[ -x $PAIR ]] || fail "$PAIR missing (build the tests)"

make_array 3 16M --chunk 64K --name ctl
mnt=$W/mnt
mount_array "$mnt"
ctl=$mnt/.raid5fs/control

# ---- two fds, two commands, two replies -------------------------------------
out=$(to 30 "$PAIR" "$ctl") || { echo "$out" >&2; fail "r5_control_pair: a fd read another fd's reply"; }
log "ok: $(tr '\n' ' ' <<<"$out")"
out=$(to 30 "$PAIR" "$ctl" "fail 9" "sync_speed_max 1G") ||
	{ echo "$out" >&2; fail "r5_control_pair (fail 9 / sync_speed_max): wrong replies"; }

# ---- at a shell: a fresh open reads the mount's last reply ------------------
rc=0
(echo no_such_command >"$ctl") 2>/dev/null || rc=$?
[[ $rc -ne 0 ]] || fail "writing an unknown command succeeded"
reply=$(to 10 cat "$ctl")
[[ $reply == "error: "* ]] || fail "cat after a refused command read '$reply', expected 'error: ...'"
echo flush >"$ctl" || fail "writing 'flush' failed"
reply=$(to 10 cat "$ctl")
[[ $reply == ok ]] || fail "cat after 'flush' read '$reply', expected 'ok'"

# ---- the command line, while others write commands --------------------------
# Another client keeps writing "flush" (its reply "ok"); every refused
# `raid5fs fail` must still print the engine's own reason, read from the fd
# it wrote to.
# expect_reason CMD...: CMD (a `raid5fs fail $mnt 7`) fails with one line
# that is the engine's reason.
expect_reason() {
	local rc=0
	"$@" >/dev/null 2>"$W/err" || rc=$?
	[[ $rc -eq 1 ]] || { cat "$W/err" >&2; fail "$*: exit $rc, expected 1"; }
	[[ $(grep -c -v '^strace: ' "$W/err") -eq 1 ]] || { cat "$W/err" >&2; fail "$*: expected one line"; }
	grep -q "raid5fs: .*not a slot" "$W/err" || fail "$*: $(cat "$W/err")"
}
(
	while :; do echo flush >"$ctl" || exit 1; done
) 2>/dev/null &
flusher=$!
# Deterministic: strace delays each of the command's calls on the control
# file by 0.2 s, so the flusher always writes between our write and our
# read (a client that reopened the file to read would get "ok").
if command -v strace >/dev/null; then
	for i in 1 2 3; do
		expect_reason to 60 strace -qq -o "$W/trace" -P "$ctl" \
			-e trace=openat,write,read,pread64,close \
			-e inject=openat,write,read,pread64,close:delay_enter=200000 \
			"$R5_BIN" fail "$mnt" 7
	done
	log "ok: raid5fs fail 7 with delayed calls -> $(cat "$W/err")"
else
	log "strace missing: only the undelayed runs"
fi
# Without delays the window is short; many runs still catch it sometimes.
for i in $(seq 1 200); do
	expect_reason r5 fail "$mnt" 7
done
kill "$flusher" 2>/dev/null || true
wait "$flusher" 2>/dev/null || true
log "ok: raid5fs fail 7 -> $(cat "$W/err")"

# Nothing was failed by the refused commands.
grep -q '"health": "optimal"' "$mnt/.raid5fs/status.json" ||
	fail "array not optimal after refused commands: $(cat "$mnt/.raid5fs/status.json")"
umount_array "$mnt"
