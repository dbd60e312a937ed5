#!/bin/bash
# t_basic_io: seeded data through the image for several geometries, checked
# three ways: read back through the mount, decoded offline from the member
# files by an independent decoder (tests/tools/r5_offline.c) with parity
# verified row by row, and read back after a remount with the members given
# in another order.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

# geometry: N chunk layout member-size random-writes mount-options
# (direct_io=0 lets the kernel page cache sit in front of the image; the
# default, direct_io=1, sends every read and write to the daemon.)
GEOMETRIES=(
	"4 64K left-symmetric 64M 2500 -"
	"3 4K left-asymmetric 32M 1000 direct_io=0"
	"5 16K right-symmetric 32M 1000 direct_io=1,stripe_cache_size=64"
	"4 64K left-symmetric 32M 1000 direct_io=0,workers=1"
	"6 128K right-asymmetric 32M 1000 -"
)

MB=$((1024 * 1024))
g_index=0
for geo in "${GEOMETRIES[@]}"; do
	read -r n chunk layout msize count opts <<<"$geo"
	g_index=$((g_index + 1))
	seed=$((1000 * g_index))
	mopt=()
	[[ $opts == - ]] || mopt=(-o "$opts")
	log "=== geometry $g_index: N=$n chunk=$chunk layout=$layout member=$msize ${mopt[*]}"
	R5_PREFIX="g${g_index}m" make_array "$n" "$msize" --chunk "$chunk" --layout "$layout" --name "basic$g_index"
	mnt=$W/mnt$g_index
	shadow=$W/shadow$g_index

	# A new array is consistent at once (parity of all-zero rows is zero).
	r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "fresh array: parity check failed"

	mount_array "$mnt" "${mopt[@]}"
	img=$mnt/image
	msz=$((${msize%M} * MB))
	want=$(((n - 1) * msz))
	[[ $(size_of "$img") -eq $want ]] || fail "image size $(size_of "$img"), expected $want"
	[[ -f $mnt/.raid5fs/status && -f $mnt/.raid5fs/status.json ]] ||
		fail "status files missing under $mnt/.raid5fs"
	to 60 cmp -n "$want" "$img" /dev/zero || fail "fresh image does not read as zeros"

	# Whole image, sequential, then read back.
	r5_pattern fill "$img" "$seed" >&2 || fail "fill failed"
	r5_pattern check "$img" "$seed" >&2 || fail "check after fill failed"

	# Many small unaligned writes, mirrored into a plain shadow file.
	r5_pattern random "$img" $((seed + 1)) "$count" 300K "$shadow" >&2 || fail "random writes failed"
	to 120 cmp "$img" "$shadow" || fail "image differs from shadow after random writes"
	# The same again in the self-checking in-memory mode, then refresh the
	# shadow from the image it verified (so later compares are meaningful).
	r5_pattern write "$img" $((seed + 2)) 300 64K >&2 || fail "write+verify failed"
	rm -f -- "$shadow"
	to 120 cp --sparse=never -- "$img" "$shadow"
	r5_pattern random "$img" $((seed + 3)) 300 300K "$shadow" >&2 || fail "random writes (2) failed"
	to 120 cmp "$img" "$shadow" || fail "image differs from shadow after the second random writes"
	# The engine's own scrub agrees with the offline check below.
	chk=$(r5 check --wait "$mnt" 2>&1) || fail "raid5fs check --wait failed: $chk"
	grep -qx 'mismatch_count: 0' <<<"$chk" || fail "raid5fs check found parity mismatches: $chk"

	umount_array "$mnt"
	offline_verify "$shadow"
	# The decoder can rebuild any one member from the others: that proves the
	# parity on disk is right for every slot, not just XOR-zero in total.
	slot=$((g_index % n))
	r5_offline image --missing "$slot" "$W/degraded.img" "${MEMBERS[@]}" 2>/dev/null ||
		fail "offline decode without slot $slot failed"
	cmp -- "$W/degraded.img" "$shadow" || fail "offline image without slot $slot differs"
	rm -f -- "$W/degraded.img"

	# Remount with the members in another order: same content, and writes go on.
	reorder_members
	log "remount with members in order: ${MEMBERS[*]##*/}"
	mount_array "$mnt" "${mopt[@]}"
	to 120 cmp "$mnt/image" "$shadow" || fail "image differs from shadow after remount"
	r5_pattern random "$mnt/image" $((seed + 4)) 500 300K "$shadow" >&2 || fail "random writes after remount failed"
	to 120 cmp "$mnt/image" "$shadow" || fail "image differs from shadow (after remount writes)"
	umount_array "$mnt"
	offline_verify "$shadow"

	rm -f -- "${MEMBERS[@]}" "$shadow"
done
