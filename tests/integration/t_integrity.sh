#!/bin/bash
# t_integrity: bytes changed in member files behind the array's back, as a
# user would do it with dd, are never returned. With the array unmounted:
# two members damaged in different stripe rows, the image reads back
# identical, status names exactly those two members, repair leaves the
# members consistent, and every assembly with one member missing reads
# identical too. With the array mounted: damage under the running daemon is
# found by check and healed by repair. hmac-sha256: a member edited by hand
# is detected, a wrong key is refused in one line and nothing changes. And
# the same damage with --checksum none comes back wrong (what the checks
# are for). Member files are created 0600; create and mount warn about
# existing ones that other users can read.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

seed=5150
CHUNK=$((64 * 1024))

# data_offset of a member, from its superblock (raid5fs examine)
data_offset() {
	r5 examine "$1" | sed -n 's/^ *Data offset : \([0-9]*\) .*/\1/p'
}

# flip MEMBER MEMBER_OFFSET: changes one byte of a member's data area in
# place (never to the value it had).
flip() {
	local file=$1 at old new
	at=$(($(data_offset "$file") + $2))
	old=$(dd if="$file" bs=1 skip="$at" count=1 status=none | od -An -tu1 | tr -d ' ')
	new=$(((old ^ 0x5a) & 0xff))
	# shellcheck disable=SC2059
	printf "\\x$(printf %02x "$new")" | dd of="$file" bs=1 seek="$at" conv=notrunc status=none
}

# ---- 1. damage while unmounted, in two members, two rows -------------------
make_array 4 32M --chunk 64K --name integ
[[ $(r5 examine "${MEMBERS[0]}" | sed -n 's/^ *Checksums : \([a-z0-9-]*\).*/\1/p') == crc32c ]] ||
	fail "crc32c is not the default"
[[ $(stat -c %a "${MEMBERS[0]}") == 600 ]] || fail "a new member is not 0600"
mnt=$W/mnt
mount_array "$mnt"
img=$mnt/image
r5_pattern fill "$img" "$seed" 0 96M >&2 || fail "pattern fill failed"
umount_array "$mnt"

flip "${MEMBERS[1]}" $((3 * CHUNK + 100))
flip "${MEMBERS[2]}" $((10 * CHUNK + 5000))
mount_array "$mnt"
r5_pattern check "$img" "$seed" 0 96M >&2 || fail "damaged members: the image does not read back identical"
expect "$mnt" '.members[1].checksum_errors >= 1 and .members[2].checksum_errors >= 1
	and .members[0].checksum_errors == 0 and .members[3].checksum_errors == 0' \
	"checksum errors on exactly members 1 and 2"
expect "$mnt" '[.bad_blocks[].slot] | unique == [1, 2]' "bad_blocks names slots 1 and 2"
expect "$mnt" '.health == "optimal" and .members[1].state == "in_sync"' \
	"no member failed for a checksum error"
out=$(r5 repair --wait "$mnt" 2>&1) || fail "repair failed: $out"
grep -q 'member 1 .*healed' <<<"$out" || fail "repair --wait does not name member 1: $out"
umount_array "$mnt"
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "parity wrong after the heal"
r5_offline verify-checksums "${MEMBERS[@]}" >&2 || fail "the independent decoder finds bad blocks after the heal"
all=("${MEMBERS[@]}")
for ((m = 0; m < 4; m++)); do
	MEMBERS=()
	for ((i = 0; i < 4; i++)); do ((i == m)) || MEMBERS+=("${all[i]}"); done
	mount_array "$mnt"
	r5_pattern check "$img" "$seed" 0 96M >&2 || fail "assembly without member $m reads wrong"
	expect "$mnt" '[.members[].checksum_errors] | add == 0' "no checksum error without member $m"
	umount_array "$mnt"
done
MEMBERS=("${all[@]}")

# ---- 2. damage under the running daemon ------------------------------------
mount_array "$mnt"
r5_pattern check "$img" "$seed" 0 96M >&2 || fail "read before live damage"
flip "${MEMBERS[0]}" $((20 * CHUNK + 7))
sync
echo 3 >/proc/sys/vm/drop_caches
out=$(r5 check --wait "$mnt" 2>&1) || fail "check failed: $out"
grep -q 'checksum errors: member 0 ' <<<"$out" || fail "check --wait does not name member 0: $out"
expect "$mnt" '.mismatch_count == 0' "a damaged block is not a parity mismatch"
r5 repair --wait "$mnt" >&2 || fail "repair after live damage failed"
r5_pattern check "$img" "$seed" 0 96M >&2 || fail "read after live damage"
umount_array "$mnt"
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "parity wrong after the live heal"

# ---- 3. hmac-sha256: a hand edit is detected, a wrong key refused ----------
head -c 32 /dev/urandom >"$W/key"
head -c 32 /dev/urandom >"$W/wrong"
chmod 600 "$W/key" "$W/wrong"
R5_PREFIX=h make_array 3 16M --chunk 64K --checksum hmac-sha256 --key-file "$W/key"
mnt2=$W/mnt2
mkdir -p "$mnt2"
sums=$(member_sums "${MEMBERS[@]}")
err=$(r5 mount --key-file "$W/wrong" "${MEMBERS[@]}" "$mnt2" 2>&1) && fail "a wrong key was accepted"
[[ $(grep -c . <<<"$err") -eq 1 && $err == *"key check failed"* ]] || fail "wrong key: '$err'"
err=$(r5 mount "${MEMBERS[@]}" "$mnt2" 2>&1) && fail "an hmac array mounted without its key"
[[ $err == *"--key-file"* ]] || fail "no key: '$err'"
[[ $(member_sums "${MEMBERS[@]}") == "$sums" ]] || fail "a refused mount changed a member"
mount_array "$mnt2" --key-file "$W/key"
r5_pattern fill "$mnt2/image" $((seed + 1)) 0 32M >&2 || fail "hmac fill failed"
umount_array "$mnt2"
flip "${MEMBERS[1]}" $((2 * CHUNK + 1))
mount_array "$mnt2" --key-file "$W/key"
r5_pattern check "$mnt2/image" $((seed + 1)) 0 32M >&2 || fail "hmac: the image does not read back identical"
expect "$mnt2" '.checksum == "hmac-sha256" and .members[1].checksum_errors >= 1' \
	"hmac: the edited member is counted"
umount_array "$mnt2"
r5_offline verify-checksums --key-file "$W/key" "${MEMBERS[@]}" >&2 ||
	fail "hmac: the independent decoder finds bad blocks after the heal"

# ---- 4. without checksums the same damage comes back wrong ------------------
R5_PREFIX=n make_array 3 16M --chunk 64K --checksum none
mount_array "$mnt2"
r5_pattern fill "$mnt2/image" $((seed + 2)) 0 32M >&2 || fail "none: fill failed"
umount_array "$mnt2"
flip "${MEMBERS[0]}" 4096
mount_array "$mnt2"
if r5_pattern check "$mnt2/image" $((seed + 2)) 0 32M 2>/dev/null; then
	fail "with --checksum none the damage was not returned: this test could not fail"
fi
umount_array "$mnt2"

# ---- 5. member files are private -------------------------------------------
MEMBERS=()
for i in 0 1 2; do
	truncate -s 24M "$W/p$i"
	chmod 644 "$W/p$i"
	MEMBERS+=("$W/p$i")
done
err=$(r5 create --force "${MEMBERS[@]}" 2>&1 >/dev/null) || fail "create over 0644 files failed: $err"
[[ $(grep -c 'can be read by other users' <<<"$err") -eq 3 ]] || fail "create does not warn about 0644 members: $err"
mnt3=$W/mnt3
mkdir -p "$mnt3"
r5 mount "${MEMBERS[@]}" "$mnt3" 2>"$W/mount3.err" || fail "mount of 0644 members failed"
adopt_mount "$mnt3"
wait_mounted "$mnt3"
[[ $(grep -c 'can be read by other users' "$W/mount3.err") -eq 3 ]] ||
	fail "mount does not warn about 0644 members: $(cat "$W/mount3.err")"
umount_array "$mnt3"
log "ok"
