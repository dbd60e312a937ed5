#!/bin/bash
# demo.sh - raid5fs in one command: a 4-member array with ext4 on it.
#
#   sudo tools/demo.sh [DIR]          set up under DIR (default /tmp/raid5fs-demo)
#   sudo tools/demo.sh --down [DIR]   tear it down and remove DIR
#
# Setup: installs missing packages (tools/deps.sh), builds raid5fs (in
# build/, or $R5_BUILD_DIR), creates 4 sparse member files of 256 MiB in
# DIR/disks, mounts the array on DIR/mnt (DIR/mnt/image, 768 MiB), makes an
# ext4 filesystem on the image, loop-mounts it on DIR/data, copies a few
# files there and prints `raid5fs status`.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${R5_BUILD_DIR:-$src/build}
r5=$build/raid5fs
down=0
if [[ ${1:-} == --down ]]; then down=1; shift; fi
if [[ ${1:-} == -h || ${1:-} == --help ]]; then sed -n '2,12p' "$0"; exit 0; fi
dir=$(realpath -m -- "${1:-/tmp/raid5fs-demo}")
marker=$dir/.raid5fs-demo

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "demo.sh: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "needs root (FUSE mount, loop device, mount): sudo $0 $*"

teardown() {
	[[ -d $dir ]] || { echo "nothing to tear down at $dir"; return 0; }
	[[ -e $marker ]] || die "$dir was not made by demo.sh (no $marker); not touching it"
	if mountpoint -q "$dir/data"; then
		say "umount $dir/data"
		umount "$dir/data"
	fi
	if [[ -e $dir/mnt/image ]]; then
		local dev
		for dev in $(losetup -j "$dir/mnt/image" -O NAME -n 2>/dev/null); do
			say "losetup -d $dev"
			losetup -d "$dev"
		done
	fi
	if mountpoint -q "$dir/mnt"; then
		say "raid5fs umount $dir/mnt"
		if [[ -x $r5 ]]; then "$r5" umount "$dir/mnt"; else fusermount3 -u "$dir/mnt"; fi
	fi
	say "rm -rf $dir"
	rm -rf --one-file-system "$dir"
}

if [[ $down -eq 1 ]]; then
	teardown
	exit 0
fi

if mountpoint -q "$dir/data" 2>/dev/null; then
	say "already set up at $dir"
	"$r5" status "$dir/mnt"
	echo "tear down with: sudo $0 --down $dir"
	exit 0
fi
if [[ -e $dir && ! -e $marker ]]; then
	die "$dir exists and was not made by demo.sh; give another directory"
fi

say "dependencies"
"$src/tools/deps.sh" --install
command -v modprobe >/dev/null && { modprobe fuse 2>/dev/null || true; modprobe loop 2>/dev/null || true; }
[[ -c /dev/fuse ]] || die "/dev/fuse is missing (modprobe fuse; in a container, pass --device /dev/fuse)"

say "build ($build)"
[[ -f $build/CMakeCache.txt ]] || cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j2 --target raid5fs

mkdir -p "$dir/disks" "$dir/mnt" "$dir/data"
touch "$marker"
members=("$dir/disks/m0" "$dir/disks/m1" "$dir/disks/m2" "$dir/disks/m3")
if [[ ! -e ${members[0]} ]]; then
	say "raid5fs create --chunk 64K --size 256M --name demo (4 members)"
	"$r5" create --chunk 64K --size 256M --name demo "${members[@]}"
fi
if ! mountpoint -q "$dir/mnt"; then
	say "raid5fs mount ... $dir/mnt"
	"$r5" mount "${members[@]}" "$dir/mnt"
fi
if ! dumpe2fs -h "$dir/mnt/image" >/dev/null 2>&1; then
	say "mkfs.ext4 $dir/mnt/image"
	mkfs.ext4 -q -L raid5fs-demo "$dir/mnt/image"
fi
say "loop-mount the image on $dir/data"
loop=$(losetup -j "$dir/mnt/image" -O NAME -n 2>/dev/null | head -n1)
[[ -n $loop ]] || loop=$(losetup --find --show "$dir/mnt/image")
mount "$loop" "$dir/data"

say "copy a few files"
cp -rL "$src/README.md" "$src/include" /etc/os-release "$dir/data/"
sync
df -h "$dir/data"
ls -l "$dir/data"

say "raid5fs status $dir/mnt"
"$r5" status "$dir/mnt"

cat <<EOF

The array is up:
  members     $dir/disks/m0 .. m3  (sparse files: metadata and checksum table, then 256 MiB of data each)
  image       $dir/mnt/image        (3 x 256 MiB, on $loop)
  filesystem  $dir/data             (ext4)
  status      $r5 status $dir/mnt   (or cat $dir/mnt/.raid5fs/status)

Tear it down with:
  sudo $0 --down $dir
(by hand: umount $dir/data; losetup -d $loop; $r5 umount $dir/mnt; rm -rf $dir)
EOF
