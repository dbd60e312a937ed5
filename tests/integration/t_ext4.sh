#!/bin/bash
# t_ext4: the way people use raid5fs. mkfs.ext4 on the image, loop-mount it,
# copy a tree of files with known SHA-256 sums, fsck, stop everything,
# reassemble with the members in another order and check every file.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 missing (package e2fsprogs)"
command -v losetup >/dev/null || skip "losetup missing"
[[ -e /dev/loop-control || -e /dev/loop0 ]] || skip "no loop devices"

# A tree of ~70 MB: random files of many sizes (empty, sub-4K, odd sizes,
# several MB), nested directories, a symlink and a hard link.
src=$W/src
mkdir -p "$src"
RANDOM=4242
total=0
for d in 0 1 2 3 4 5 6 7; do
	mkdir -p "$src/dir$d/sub$((d % 3))"
	for f in $(seq 0 24); do
		case $((RANDOM % 6)) in
		0) sz=0 ;;
		1) sz=$((RANDOM % 4096 + 1)) ;;
		2) sz=$((RANDOM * 7 % 200000 + 1)) ;;
		3) sz=$((RANDOM % 64 * 4096)) ;;
		4) sz=$(((RANDOM % 2 + 1) * 1048576 + RANDOM)) ;;
		*) sz=$((RANDOM * 13 % 1000000)) ;;
		esac
		((f)) || sz=$((2 * 1048576 + 123))
		p=$src/dir$d/file$f.bin
		((f % 2)) || p=$src/dir$d/sub$((d % 3))/file$f.bin
		head -c "$sz" /dev/urandom >"$p"
		total=$((total + sz))
	done
done
ln -s dir0/file1.bin "$src/link"
ln "$src/dir1/file1.bin" "$src/hardlink"
(cd "$src" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$W/sums"
log "generated $(wc -l <"$W/sums") files, $((total / 1048576)) MiB"

make_array 4 128M --chunk 64K --name ext4test
mnt=$W/mnt
data=$W/data
mount_array "$mnt"
to 120 mkfs.ext4 -q -F "$mnt/image" || fail "mkfs.ext4 on the image failed"
loop_attach "$mnt/image"
fs_mount "$LOOPDEV" "$data"
to 300 cp -a "$src/." "$data/" || fail "copying the tree failed"
to 120 sync
(cd "$data" && to 120 sha256sum --quiet -c "$W/sums") || fail "files differ right after copy"
[[ $(readlink "$data/link") == dir0/file1.bin ]] || fail "symlink lost"
fs_umount "$data"
to 300 e2fsck -fn "$LOOPDEV" >&2 || fail "e2fsck found problems after the copy"
loop_detach "$LOOPDEV"
sha_before=$(to 120 sha256sum <"$mnt/image" | cut -d' ' -f1)
umount_array "$mnt"

# The independent decoder agrees, and parity is right on every row.
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed"
r5_offline image "$W/offline.img" "${MEMBERS[@]}" 2>/dev/null || fail "offline decode failed"
[[ $(sha256sum <"$W/offline.img" | cut -d' ' -f1) == "$sha_before" ]] ||
	fail "offline image differs from what the mount showed"
to 300 e2fsck -fn "$W/offline.img" >&2 || fail "e2fsck of the offline image found problems"
rm -f "$W/offline.img"

# Reassemble, members in another order: the filesystem and every file intact.
reorder_members
mount_array "$mnt"
[[ $(to 120 sha256sum <"$mnt/image" | cut -d' ' -f1) == "$sha_before" ]] ||
	fail "image differs after remount"
loop_attach "$mnt/image"
to 300 e2fsck -fn "$LOOPDEV" >&2 || fail "e2fsck found problems after remount"
fs_mount "$LOOPDEV" "$data"
(cd "$data" && to 120 sha256sum --quiet -c "$W/sums") || fail "files differ after remount"
[[ $(stat -c %h "$data/hardlink") -eq 2 ]] || fail "hard link lost"

# Keep using it: more files, delete some, fsck again.
mkdir "$data/more"
for i in 1 2 3 4 5; do head -c $((i * 300000 + 17)) /dev/urandom >"$data/more/f$i"; done
(cd "$data" && sha256sum more/f*) >"$W/sums2"
rm -rf "$data/dir3"
fs_umount "$data"
to 300 e2fsck -fn "$LOOPDEV" >&2 || fail "e2fsck found problems after more changes"
fs_mount "$LOOPDEV" "$data" -o ro
(cd "$data" && to 60 sha256sum --quiet -c "$W/sums2") || fail "new files differ"
fs_umount "$data"
loop_detach "$LOOPDEV"
umount_array "$mnt"
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed at the end"
