#!/bin/bash
# t_spares: hot spares as a user sees them (issue 11, item 1).
#
#  1. `raid5fs add` refused, in one line and with no file changed, for: an
#     existing file too small, a member of this array, a member of another
#     array, a non-empty file that is not a member, the same spare twice, a
#     missing directory; `remove` of a file that is no spare.
#  2. Two spares added (one new: created sparse, 0600, at the members'
#     size); status lists them; their files say "spare"; after a remount
#     with the spares listed among the members they are spares again; a
#     member file deleted: the first spare
#     takes the slot with no command, the rebuild runs, the array is
#     optimal again with the spare in the slot; the data reads back
#     identical, check finds 0 mismatches, parity verifies offline; the
#     events say fail, degraded, spare-active, rebuild-start ...
#     rebuild-finished in that order, and the mount without the rebuilt
#     slot's neighbour reads identical. `remove` drops the other spare,
#     which a later mount then does not take as one.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

command -v jq >/dev/null || fail "jq missing"
make_array 4 32M --name spares
mnt=$W/mnt
mount_array "$mnt"
seed=9300
r5_pattern fill "$mnt/image" "$seed" >&2 || fail "fill failed"
need=$(($(jq -r .data_offset <"$mnt/.raid5fs/status.json") + 32 * MB))

# ---- 1. refusals --------------------------------------------------------------
truncate -s 1M "$W/small"
# another array's members, as big as ours (so that only the superblock can tell)
r5 create --size 32M --name other "$W/disks/o0" "$W/disks/o1" "$W/disks/o2" >&2 ||
	fail "create of the other array failed"
head -c $((need + 4096)) /dev/urandom >"$W/notempty"
refuse() { # refuse WHAT CMD FILE: one line, exit 1, no file changed (of those
	# not in use: the running members change by themselves)
	local what=$1 verb=$2 file=$3 rc=0 before after
	before=$(sha256sum -- "$W"/disks/o* "$W/small" "$W/notempty" 2>/dev/null)
	r5 "$verb" "$mnt" "$file" >"$W/out" 2>"$W/err" || rc=$?
	[[ $rc -eq 1 ]] || fail "$what: exit $rc, expected 1"
	one_line "$W/err" || { cat "$W/err" >&2; fail "$what: not one line"; }
	after=$(sha256sum -- "$W"/disks/o* "$W/small" "$W/notempty" 2>/dev/null)
	[[ $before == "$after" ]] || fail "$what: files changed"
	log "$what: $(cat "$W/err")"
}
refuse "too small" add "$W/small"
refuse "a member of this array" add "${MEMBERS[1]}"
refuse "a member of another array" add "$W/disks/o0"
refuse "not empty, not a member" add "$W/notempty"
refuse "a missing directory" add "$W/nodir/spare"
[[ ! -e $W/nodir ]] || fail "add created a directory"
refuse "remove of no spare" remove "$W/small"
expect "$mnt" '.spares == []' "no spares after the refusals"

# ---- 2. the spare takes over ---------------------------------------------------
spare0=$W/disks/spare0
spare1=$W/disks/spare1
: >"$spare1" # an empty file is fine too
r5 add "$mnt" "$spare0" >&2 || fail "add $spare0 failed"
r5 add "$mnt" "$spare1" >&2 || fail "add $spare1 failed"
refuse "the same spare twice" add "$spare0"
[[ $(stat -c %a "$spare0") == 600 ]] || fail "the new spare is mode $(stat -c %a "$spare0"), not 600"
[[ $(size_of "$spare0") -eq $need ]] || fail "the new spare is $(size_of "$spare0") bytes, not $need"
[[ $(du -k "$spare0" | cut -f1) -lt 1024 ]] || fail "the new spare is not sparse"
st_true "$mnt" ".spares == [\"$spare0\", \"$spare1\"]" || { show_status "$mnt"; fail "status does not list the spares"; }
r5 status "$mnt" | grep -q "spares: .*$spare0" || fail "status text does not list the spares"
r5 examine "$spare0" | grep -q "spare (in no slot)" || fail "the spare's superblock does not say spare"
[[ $(jq -r 'select(.event == "spare-added") | .member' "$mnt/.raid5fs/events" | tr '\n' ' ') == "$spare0 $spare1 " ]] ||
	fail "no spare-added events for the two spares: $(cat "$mnt/.raid5fs/events")"
# the spares are recorded: given at mount, md's way, they are spares again
umount_array "$mnt"
# with an events program this time (what mdadm --monitor --program does)
printf '#!/bin/sh\necho "$RAID5FS_SEQ $1 ${3-} ${4-}" >>"%s"\n' "$W/hook.log" >"$W/hook.sh"
chmod +x "$W/hook.sh"
mount_array "$mnt" -o "events=$W/hook.sh" "$spare0" "$spare1"
st_true "$mnt" ".spares == [\"$spare0\", \"$spare1\"]" || { show_status "$mnt"; fail "the spares are not spares after a remount"; }

rm -- "${MEMBERS[2]}"
wait_status "$mnt" 60 ".health == \"optimal\" and .members[2].path == \"$spare0\" and .members[2].state == \"in_sync\"" \
	"the spare took slot 2 and was rebuilt"
expect "$mnt" ".spares == [\"$spare1\"]" "the other spare still waits"
r5_pattern check "$mnt/image" "$seed" >&2 || fail "data differs after the takeover"
check_clean "$mnt"
names=$(jq -r '.event' "$mnt/.raid5fs/events" | uniq | tr '\n' ' ')
log "events: $names"
[[ $names == "fail degraded spare-active rebuild-start rebuild-progress rebuild-finished check-finished " ]] ||
	fail "events: $names"
jq -e -s --arg s "$spare0" '[.[] | select(.event == "spare-active")] | length == 1 and .[0].slot == 2 and .[0].member == $s' \
	"$mnt/.raid5fs/events" >/dev/null || fail "spare-active does not name slot 2 and the spare"
# the program got fail, spare-active, rebuild-finished, in that order, as the file says
wait_until 10 "the events program ran for check-finished" grep -q ' check-finished' "$W/hook.log"
diff <(jq -r '"\(.seq) \(.event)"' "$mnt/.raid5fs/events") <(sort -n "$W/hook.log" | cut -d' ' -f1,2) >&2 ||
	fail "the events program did not get what the events file holds"
order=$(sort -n "$W/hook.log" | awk '$2 == "fail" || $2 == "spare-active" || $2 == "rebuild-finished" { printf "%s:%s:%s ", $2, $3, $4 }')
[[ $order == "fail:2:${MEMBERS[2]} spare-active:2:$spare0 rebuild-finished:2:$spare0 " ]] ||
	fail "the events program got: $order"
r5 remove "$mnt" "$spare1" >&2 || fail "remove $spare1 failed"
expect "$mnt" '.spares == []' "no spares after remove"
umount_array "$mnt"
# a removed spare given at mount is not a spare any more
MEMBERS[2]=$spare0
mount_paths "$mnt" "$W/mount.err" "${MEMBERS[@]}" "$spare1"
grep -q "no longer a spare" "$W/mount.err" || fail "mount did not say $spare1 is no longer a spare"
expect "$mnt" '.spares == [] and .health == "optimal"' "no spares, optimal, after the remount"
umount_array "$mnt"
truncate -s $((3 * 32 * MB)) "$W/expect.img"
r5_pattern fill "$W/expect.img" "$seed" >&2 || fail "cannot write the expected image"
offline_verify "$W/expect.img"
# the rebuilt slot serves a degraded mount on its own
members_except 3
mount_paths "$W/mnt2" "$W/mount.err" "${SUBSET[@]}"
r5_pattern check "$W/mnt2/image" "$seed" >&2 || fail "data differs without slot 3 after the takeover"
umount_array "$W/mnt2"
log "ok"
