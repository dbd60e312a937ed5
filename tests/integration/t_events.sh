#!/bin/bash
# t_events: the array's events as a user and a monitoring program see them
# (issue 11, item 2).
#
#  1. -o events= with no program, a missing file, a file that is not
#     executable: one line each, nothing mounted.
#  2. A hook (-o events=HOOK) that logs its arguments and RAID5FS_*
#     variables; seeded data; a member file deleted (the array notices);
#     `raid5fs replace --wait` onto a new file; `raid5fs check --wait`.
#     MOUNTPOINT/.raid5fs/events and `raid5fs events` hold, as JSON lines
#     in order: fail (slot 1, its file), degraded, rebuild-start,
#     rebuild-progress up to 90%, rebuild-finished, check-finished; the
#     hook got the same events with the same sequence numbers and the
#     right arguments; the data reads back identical. `raid5fs events
#     --follow`, started before the check, prints check-finished as it
#     happens and ends when the array is unmounted.
#  3. A hook that sleeps 30 s: with it hanging, the member deleted, the
#     image still reads and writes at once, the events file has the fail
#     at once, and umount does not wait for the hook.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

command -v jq >/dev/null || fail "jq missing"
HOOKPIDS=$W/hook.pids
_ev_cleanup() {
	local rc=$? p
	# the sleeping hooks of part 3 are left running by design: end them
	if [[ -f $HOOKPIDS ]]; then
		while read -r p; do kill "$p" 2>/dev/null || true; done <"$HOOKPIDS"
	fi
	[[ -n ${FOLLOW_PID:-} ]] && kill "$FOLLOW_PID" 2>/dev/null
	(exit "$rc")
	_r5_cleanup
}
trap _ev_cleanup EXIT

# ---- 1. bad -o events= -------------------------------------------------------
make_array 4 32M --name events
mnt=$W/mnt
mkdir -p "$mnt"
printf '#!/bin/sh\nexit 0\n' >"$W/noexec.sh"
chmod 0644 "$W/noexec.sh"
for bad in "events=" "events=$W/missing.sh" "events=$W/noexec.sh" "events=no-such-program-r5"; do
	rc=0
	r5 mount -o "$bad" "${MEMBERS[@]}" "$mnt" 2>"$W/err" || rc=$?
	if mountpoint -q "$mnt"; then
		adopt_mount "$mnt"
		fail "-o $bad: mounted"
	fi
	[[ $rc -eq 2 ]] || fail "-o $bad: exit $rc, expected 2"
	one_line "$W/err" || { cat "$W/err" >&2; fail "-o $bad: not one line"; }
	grep -q "events" "$W/err" || fail "-o $bad: the error does not name the option: $(cat "$W/err")"
	log "-o $bad refused: $(cat "$W/err")"
done

# ---- 2. the events of a failure, a rebuild and a check ----------------------
cat >"$W/hook.sh" <<HOOK
#!/bin/sh
# one line per call: seq, arguments, the variables
printf '%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "\$RAID5FS_SEQ" "\$1" "\$2" "\${3-}" "\${4-}" \
	"\$RAID5FS_EVENT" "\$RAID5FS_SLOT" "\$RAID5FS_MEMBER" "\$RAID5FS_MOUNTPOINT" >>"$W/hook.log"
HOOK
chmod +x "$W/hook.sh"
mount_array "$mnt" -o "events=$W/hook.sh"
seed=9100
r5_pattern fill "$mnt/image" "$seed" >&2 || fail "fill failed"
rm -- "${MEMBERS[1]}"
wait_status "$mnt" 5 '.members[1].state == "faulty"' "slot 1 faulty after its file was deleted"
new=$W/disks/new1
r5 replace --wait "$mnt" 1 "$new" >&2 || fail "raid5fs replace --wait failed"
r5 events --follow "$mnt" >"$W/follow.out" 2>"$W/follow.err" &
FOLLOW_PID=$!
check_clean "$mnt"
r5_pattern check "$mnt/image" "$seed" >&2 || fail "data differs after the rebuild"
wait_until 10 "raid5fs events --follow prints check-finished" grep -q '"check-finished"' "$W/follow.out"
wait_until 10 "the hook ran for check-finished" grep -q '|check-finished|' "$W/hook.log"

timeout 10 cat "$mnt/.raid5fs/events" >"$W/events.json" || fail "cannot read the events file"
jq -e . "$W/events.json" >/dev/null || fail "the events file is not JSON lines: $(cat "$W/events.json")"
r5 events "$mnt" >"$W/events.cli" || fail "raid5fs events failed"
cmp -s "$W/events.json" "$W/events.cli" || fail "raid5fs events differs from the events file"
names=$(jq -r '.event' "$W/events.json" | uniq | tr '\n' ' ')
log "events: $names"
[[ $names == "fail degraded rebuild-start rebuild-progress rebuild-finished check-finished " ]] ||
	fail "events in the wrong order or missing: $names"
jq -e -s --arg m "${MEMBERS[1]}" --arg n "$new" '
	(.[0] | .event == "fail" and .slot == 1 and .member == $m and (.detail | test("delet"; "i")))
	and ([.[] | select(.event | startswith("rebuild"))] | all(.slot == 1 and .member == $n))
	and ([.[] | select(.event == "rebuild-progress") | .detail] == ["10%","20%","30%","40%","50%","60%","70%","80%","90%"])
	and ([.[].seq] == [range(1; length + 1)])
	and (.[-1].detail | test("mismatched stripes 0"))' "$W/events.json" >/dev/null ||
	fail "events not as expected: $(cat "$W/events.json")"
# the hook: the same events, the same numbers, its arguments
sort -n -t'|' -k1,1 "$W/hook.log" >"$W/hook.sorted"
diff <(jq -r '"\(.seq)|\(.event)"' "$W/events.json") <(cut -d'|' -f1,2 "$W/hook.sorted") >&2 ||
	fail "the hook did not get the same events"
awk -F'|' -v mnt="$mnt" -v m1="${MEMBERS[1]}" '
	$2 != $6 || $3 != mnt || $9 != mnt { bad = "argument or RAID5FS_EVENT/MOUNTPOINT: " $0 }
	$2 == "fail" && ($4 != "1" || $5 != m1 || $7 != "1" || $8 != m1) { bad = "fail: " $0 }
	$2 == "check-finished" && ($4 != "" || $7 != "") { bad = "check-finished has a slot: " $0 }
	END { if (bad) { print bad; exit 1 } }' "$W/hook.sorted" >&2 || fail "the hook's arguments are wrong"
umount_array "$mnt"
wait_until 10 "raid5fs events --follow ends at the unmount" bash -c "! kill -0 $FOLLOW_PID 2>/dev/null"
wait "$FOLLOW_PID" || fail "raid5fs events --follow exited $? at the unmount: $(cat "$W/follow.err")"
FOLLOW_PID=
log "hook and events file agree on $(wc -l <"$W/events.json") events"

# ---- 3. a hook that hangs holds up nothing ----------------------------------
cat >"$W/slow.sh" <<HOOK
#!/bin/sh
echo \$\$ >>"$HOOKPIDS"
sleep 30
HOOK
chmod +x "$W/slow.sh"
R5_PREFIX=s make_array 4 32M --name slowhook
mount_array "$mnt" -o "events=$W/slow.sh"
r5_pattern fill "$mnt/image" $((seed + 1)) >&2 || fail "fill failed"
t0=$(now_ms)
rm -- "${MEMBERS[2]}"
wait_status "$mnt" 5 '.members[2].state == "faulty"' "slot 2 faulty after its file was deleted"
wait_until 5 "the events file has the fail" grep -q '"fail"' "$mnt/.raid5fs/events"
wait_until 5 "the slow hook runs" test -s "$HOOKPIDS"
# with the hook hanging: I/O goes on (a timeout far below the hook's 30 s)
to 15 dd if=/dev/urandom of="$W/chunk" bs=1M count=8 status=none
to 15 dd if="$W/chunk" of="$mnt/image" bs=1M seek=16 conv=notrunc,fsync status=none ||
	fail "a write with the events program hanging did not finish in 15 s"
to 15 cmp -n $((8 * MB)) -i 0:$((16 * MB)) "$W/chunk" "$mnt/image" ||
	fail "the write reads back wrong (or not within 15 s)"
R5_IO_TIMEOUT=15 r5_pattern check "$mnt/image" $((seed + 1)) 0 16M >&2 || fail "degraded read failed (or not within 15 s)"
to 20 "$R5_BIN" umount "$mnt" >&2 || fail "umount did not return within 20 s with the hook hanging"
log "hanging hook: fail to unmount in $(($(now_ms) - t0)) ms"
log "ok"
