#!/bin/bash
# t_damage: ext4 on the image, the same stripe row damaged on two members
# (so neither block can be rebuilt): reads of those ranges fail with EIO
# (never wrong data), the rest of the file system reads back, and
# `raid5fs damage` lists the ranges and names the file that owns them.
# With nothing damaged it says so and exits 0.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

command -v mkfs.ext4 >/dev/null || fail "mkfs.ext4 missing (e2fsprogs)"
command -v debugfs >/dev/null || fail "debugfs missing (e2fsprogs)"

N=4
CHUNK=$((64 * 1024))
make_array $N 64M --chunk 64K --name damage
mnt=$W/mnt
mount_array "$mnt"
img=$mnt/image
out=$(r5 damage "$mnt") || fail "damage on a healthy array: exit $?: $out"
[[ $out == "no damaged blocks"* ]] || fail "healthy array: '$out'"

loop_attach "$img"
to 120 mkfs.ext4 -q -F -b 4096 "$LOOPDEV" >&2 || fail "mkfs.ext4 failed"
fs=$W/fs
fs_mount "$LOOPDEV" "$fs"
head -c $((2 * MB)) /dev/urandom >"$W/victim"
head -c $((2 * MB)) /dev/urandom >"$W/other"
mkdir "$fs/dir"
cp "$W/victim" "$fs/dir/victim"
cp "$W/other" "$fs/other"
sync
fs_umount "$fs"
loop_detach "$LOOPDEV"

# where the victim's first block lives: image offset, then member and
# member offset (left-symmetric, md's default: parity of row r on member
# N-1 - r%N, data chunk d of the row on member (parity + 1 + d) % N)
blk=$(debugfs -R "bmap /dir/victim 0" "$img" 2>/dev/null | tail -n1)
[[ $blk =~ ^[0-9]+$ && $blk -gt 0 ]] || fail "cannot find the victim's block: '$blk'"
off=$((blk * 4096))
c=$((off / CHUNK))
row=$((c / (N - 1)))
d=$((c % (N - 1)))
p=$(((N - 1) - row % N))
m1=$(((p + 1 + d) % N))
m2=$(((p + 1 + (d + 1) % (N - 1)) % N))
moff=$((row * CHUNK + off % CHUNK))
log "victim block $blk: image offset $off, members $m1 and $m2 at member offset $moff"
umount_array "$mnt"

doff=$(r5 examine "${MEMBERS[0]}" | sed -n 's/^ *Data offset : \([0-9]*\) .*/\1/p')
for m in $m1 $m2; do
	printf '\x01\x02\x03\x04' | dd of="${MEMBERS[m]}" bs=1 seek=$((doff + moff + 10)) conv=notrunc status=none
done

mount_array "$mnt"
if to 60 dd if="$img" of=/dev/null bs=4096 skip="$blk" count=1 iflag=direct status=none 2>/dev/null; then
	fail "a block that cannot be rebuilt was read without an error"
fi
# the rest of the image reads (everything but that block's 4 KiB)
to 120 dd if="$img" of=/dev/null bs=4096 count="$blk" iflag=direct status=none ||
	fail "the image before the damaged block does not read"
expect "$mnt" '.health == "optimal" and ([.members[].checksum_errors] | add) >= 1' \
	"damage counted, no member failed"
set +e
out=$(r5 damage "$mnt")
rc=$?
set -e
log "raid5fs damage said:"$'\n'"$out"
[[ $rc -eq 1 ]] || fail "damage: exit $rc, want 1"
grep -q "image bytes $off-$((off + 4095)): member $m1 at member offset $moff" <<<"$out" ||
	fail "damage does not list the victim's range on member $m1"
grep -q '/dir/victim (inode' <<<"$out" || fail "damage does not name /dir/victim"
! grep -q '/other' <<<"$out" || fail "damage names a file that is intact"
umount_array "$mnt"
log "ok"
