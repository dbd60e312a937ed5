#!/bin/bash
# t_discard: discards of the image give member space back, and the in-use
# map (core/metadata/usemap.h) lets reads and a rebuild skip what is unused
# (issue 11, item 3).
#
#  1. fallocate on the image: --punch-hole and --zero-range, aligned and
#     not, read back as zeros exactly there and leave every other byte as
#     it was (compared with a copy that had the same done to it); growing
#     the image is refused; parity and checksums stay right (check 0).
#  2. ext4 on a loop device over the image: mkfs (which discards the whole
#     device) leaves the members sparse; a big file written, then removed
#     and `fstrim`: every member gives most of that space back (du), the
#     file kept reads back identical, check 0; a member rebuilt onto a new
#     file takes no more disk than the others (holes where the rows hold
#     zeros); every assembly with one member missing reads the same image.
#  3. the in-use map: whole units discarded are released (status in_use),
#     reading them touches no member, and the rebuild above read from the
#     survivors only the units in use (without the map it reads them whole).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

command -v fallocate >/dev/null || skip "fallocate missing (util-linux)"
command -v fstrim >/dev/null || skip "fstrim missing (util-linux)"
command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 missing (e2fsprogs)"

make_array 4 128M --name discard
mnt=$W/mnt
mount_array "$mnt"
img=$mnt/image
size=$(size_of "$img")

# ---- 1. fallocate on the image ------------------------------------------------
r5_pattern fill "$img" 9500 >&2 || fail "fill failed"
to 120 cp --sparse=never "$img" "$W/ref.img" || fail "copy of the image failed"
for op in "-p -o 72M -l 30M" "-p -o 1M -l 3M" "-p -o 1000 -l 70000" "-z -o 40M -l 17M" "-z -o 12345 -l 1" "-p -o $((size - 8192)) -l 1M"; do
	# shellcheck disable=SC2086 # the options are words
	to 60 fallocate $op "$img" || fail "fallocate $op on the image failed"
	# shellcheck disable=SC2086
	fallocate $op "$W/ref.img" 2>/dev/null || fail "fallocate $op on the reference failed"
done
to 120 cmp "$img" "$W/ref.img" || fail "the image differs from the reference after the fallocates"
rc=0
fallocate -o 0 -l $((size + MB)) "$img" 2>"$W/err" || rc=$?
[[ $rc -ne 0 && $(size_of "$img") -eq $size ]] || fail "growing the image was not refused (exit $rc)"
check_clean "$mnt"
log "fallocate: punch and zero ranges read as zeros, the rest unchanged; growing refused"
# [72M, 102M) covers units [72M, 84M) and [84M, 96M) whole (12 MiB of image each)
released=$(jq '.in_use.units_released' "$mnt/.raid5fs/status.json")
((released >= 2)) || fail "the discards released $released units of the in-use map (2 expected)"
member_reads() { jq '[.members[].read_bytes] | add' "$mnt/.raid5fs/status.json"; }
before=$(member_reads)
cmp <(to 60 dd if="$img" bs=1M skip=72 count=24 iflag=direct status=none) <(head -c 24M /dev/zero) ||
	fail "released units do not read as zeros"
after=$(member_reads)
((after == before)) || fail "reading released units read $((after - before)) bytes from the members"

# ---- 2. ext4, fstrim ---------------------------------------------------------------
member_kib() { du -k "${MEMBERS[@]}" | awk '{ s += $1 } END { print s }'; }
loop_attach "$img" --direct-io=on
loop=$LOOPDEV
to 120 mkfs.ext4 -q "$loop" || fail "mkfs.ext4 failed"
after_mkfs=$(member_kib)
log "members after mkfs (which discards the device): $after_mkfs KiB in all"
((after_mkfs < 64 * 1024)) || fail "mkfs's discard left $after_mkfs KiB in the members (more than 64 MiB)"
fs_mount "$loop" "$W/fs"
to 120 dd if=/dev/urandom of="$W/fs/big" bs=1M count=160 status=none || fail "write of big failed"
to 120 dd if=/dev/urandom of="$W/fs/keep" bs=1M count=40 status=none || fail "write of keep failed"
sync
sha256sum "$W/fs/keep" | cut -d' ' -f1 >"$W/keep.sum"
full=$(member_kib)
rm -- "$W/fs/big"
sync
to 120 fstrim -v "$W/fs" >&2 || fail "fstrim failed"
trimmed=$(member_kib)
log "members: $full KiB with both files, $trimmed KiB after rm and fstrim"
# 160 MiB of file data and its parity is 213 MiB over the members
(((full - trimmed) > 160 * 1024)) || fail "fstrim gave back only $((full - trimmed)) KiB"
[[ $(sha256sum "$W/fs/keep" | cut -d' ' -f1) == "$(cat "$W/keep.sum")" ]] || fail "keep differs after fstrim"
fs_umount "$W/fs"
loop_detach "$loop"
check_clean "$mnt"
sha256sum "$img" | cut -d' ' -f1 >"$W/image.sum"
in_use=$(jq '.in_use.bytes_in_use' "$mnt/.raid5fs/status.json")
log "in use: $in_use bytes of $((128 * MB)) per member"
# keep (40 MiB of image) and ext4's metadata, spread over its block groups
((in_use <= 96 * MB)) || fail "$in_use bytes per member in use after rm and fstrim"
# a rebuild of a mostly empty member writes the rows in use, holes elsewhere,
# and reads from the survivors only the rows in use
r5 fail "$mnt" 1 >&2 || fail "raid5fs fail 1 failed"
before=$(member_reads)
r5 replace --wait "$mnt" 1 "$W/disks/new1" >&2 || fail "replace --wait failed"
read_bytes=$(($(member_reads) - before))
log "the rebuild read $read_bytes bytes from the 3 survivors ($in_use in use on each)"
((read_bytes <= 3 * in_use + 3 * MB)) || fail "the rebuild read $read_bytes bytes from the survivors"
MEMBERS[1]=$W/disks/new1
others=$(du -k "${MEMBERS[0]}" | cut -f1)
new=$(du -k "$W/disks/new1" | cut -f1)
log "rebuilt member: $new KiB on disk (member 0: $others KiB; each is $((128 * 1024)) KiB of data)"
((new < others + 8 * 1024)) || fail "the rebuilt member takes $new KiB, member 0 $others KiB"
[[ $(sha256sum "$img" | cut -d' ' -f1) == "$(cat "$W/image.sum")" ]] || fail "the image differs after the rebuild"
check_clean "$mnt"
umount_array "$mnt"
# the rule, from the bytes (tests/tools/r5_offline): unused units are zeros
r5_offline verify-usemap "${MEMBERS[@]}" >&2 || fail "an unused unit holds data (r5_offline verify-usemap)"
# ... which the offline check can see fail: a byte put into an unused unit
# (the last one: ext4 keeps nothing there after fstrim)
last_unit=$((128 * MB - 4 * MB))
data_off=$(r5_offline info "${MEMBERS[0]}" | sed -n 's/^member .* data_offset=\([0-9]*\) .*/\1/p')
[[ -n $data_off ]] || fail "r5_offline info shows no data_offset"
cp "${MEMBERS[2]}" "$W/m2.saved"
printf 'x' | dd of="${MEMBERS[2]}" bs=1 seek=$((data_off + last_unit + 12345)) conv=notrunc status=none
if r5_offline verify-usemap "${MEMBERS[@]}" >"$W/vu.out" 2>&1; then
	cat "$W/vu.out" >&2
	fail "verify-usemap did not see a byte in an unused unit (is the last unit in use?)"
fi
mv "$W/m2.saved" "${MEMBERS[2]}"
for ((s = 0; s < 4; s++)); do
	members_except "$s"
	mount_paths "$W/mnt$s" "$W/mount.err" "${SUBSET[@]}"
	[[ $(sha256sum "$W/mnt$s/image" | cut -d' ' -f1) == "$(cat "$W/image.sum")" ]] ||
		fail "the image without slot $s differs"
	umount_array "$W/mnt$s"
done
log "ok: every one-missing assembly reads the same image"
