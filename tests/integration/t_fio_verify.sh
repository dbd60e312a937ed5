#!/bin/bash
# t_fio_verify: fio (written by others) writes the image with verification
# headers and checks every block: random variable-size writes, sequential 1M
# writes, and four jobs at once on disjoint quarters with unaligned sizes.
# The last run is verified again after a remount (fio --verify_only replays
# the same seeded sequence), and the member files are decoded offline.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v fio >/dev/null || skip "fio missing"

make_array 4 64M --chunk 64K --name fiotest
mnt=$W/mnt
mount_array "$mnt"
img=$mnt/image
size=$(size_of "$img")
quarter=$((size / 4))

# run_fio NAME ARGS...: fio must exit 0 and report no error or bad verify.
run_fio() {
	local name=$1 flog=$W/fio-$1.log
	shift
	log "fio $name: $*"
	if ! to 240 fio --name="$name" --filename="$img" --ioengine=psync --iodepth=1 \
		--direct=0 --invalidate=1 --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--randseed=4711 --end_fsync=1 "$@" >"$flog" 2>&1; then
		tail -n 40 "$flog" >&2
		fail "fio $name failed"
	fi
	if grep -Eiq 'verify failed|verify: bad|bad magic|err= *[1-9]' "$flog"; then
		grep -Ei 'verify|err=' "$flog" >&2
		fail "fio $name reported errors"
	fi
	grep -E 'WRITE:|READ:' "$flog" >&2 || true
}

run_fio rand --rw=randwrite --bsrange=4k-256k --size=$((size * 2 / 3)) --numjobs=1
run_fio seq --rw=write --bs=1M --size="$size" --numjobs=1
# Four writers on disjoint quarters; sizes 1k..60k not aligned to anything,
# so neighbouring jobs' writes share stripes (and pages).
MULTI=(--rw=randwrite --bsrange=1k-60k --bs_unaligned=1 --size="$quarter"
	--offset_increment="$quarter" --numjobs=4 --group_reporting=1)
run_fio multi "${MULTI[@]}"

sha_before=$(to 120 sha256sum <"$img" | cut -d' ' -f1)
umount_array "$mnt"
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed"
r5_offline image "$W/offline.img" "${MEMBERS[@]}" 2>/dev/null || fail "offline decode failed"
[[ $(sha256sum <"$W/offline.img" | cut -d' ' -f1) == "$sha_before" ]] ||
	fail "offline image differs from what the mount showed"
rm -f "$W/offline.img"

reorder_members
mount_array "$mnt"
run_fio multi "${MULTI[@]}" --verify_only=1
[[ $(to 120 sha256sum <"$img" | cut -d' ' -f1) == "$sha_before" ]] || fail "image changed across remount"

# Both ways of serving the image: through the kernel page cache
# (direct_io=0) and straight to the daemon with O_DIRECT from fio.
umount_array "$mnt"
mount_array "$mnt" -o direct_io=0
run_fio cached --rw=randwrite --bsrange=4k-128k --size=$((size / 2)) --offset=$((size / 4)) \
	--numjobs=1 --verify_backlog=64
umount_array "$mnt"
mount_array "$mnt" -o direct_io=1
run_fio odirect --rw=randwrite --bsrange=4k-128k --offset=$((size / 8)) \
	--numjobs=2 --offset_increment=$((size / 4)) --direct=1 --size=$((size / 4))
umount_array "$mnt"
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed at the end"
