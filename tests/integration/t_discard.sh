#!/bin/bash
# t_discard: discards of the image give member space back (issue 11, item
# 3, first step: zeros written as holes; no map of unused rows yet).
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
for op in "-p -o 1M -l 3M" "-p -o 1000 -l 70000" "-z -o 40M -l 17M" "-z -o 12345 -l 1" "-p -o $((size - 8192)) -l 1M"; do
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
# a rebuild of a mostly empty member writes the rows in use, holes elsewhere
r5 fail "$mnt" 1 >&2 || fail "raid5fs fail 1 failed"
r5 replace --wait "$mnt" 1 "$W/disks/new1" >&2 || fail "replace --wait failed"
MEMBERS[1]=$W/disks/new1
others=$(du -k "${MEMBERS[0]}" | cut -f1)
new=$(du -k "$W/disks/new1" | cut -f1)
log "rebuilt member: $new KiB on disk (member 0: $others KiB; each is $((128 * 1024)) KiB of data)"
((new < others + 8 * 1024)) || fail "the rebuilt member takes $new KiB, member 0 $others KiB"
[[ $(sha256sum "$img" | cut -d' ' -f1) == "$(cat "$W/image.sum")" ]] || fail "the image differs after the rebuild"
check_clean "$mnt"
umount_array "$mnt"
for ((s = 0; s < 4; s++)); do
	members_except "$s"
	mount_paths "$W/mnt$s" "$W/mount.err" "${SUBSET[@]}"
	[[ $(sha256sum "$W/mnt$s/image" | cut -d' ' -f1) == "$(cat "$W/image.sum")" ]] ||
		fail "the image without slot $s differs"
	umount_array "$W/mnt$s"
done
log "ok: every one-missing assembly reads the same image"
