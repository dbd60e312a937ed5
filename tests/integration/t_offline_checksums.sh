#!/bin/bash
# t_offline_checksums: the per-block checksum tables the engine writes
# (format version 2, include/raid5fs/checksum.h) checked by the independent
# decoder (tests/tools/r5_offline.c, verify-checksums), for crc32c, sha256
# and hmac-sha256, each array made with `raid5fs create --checksum` and
# written through the mounted image. For each:
# a clean array verifies; one flipped data byte is named (slot, 4 KiB
# offset), in a written block and in a block under a never-written table
# page; a damaged table page makes its blocks unverifiable; keys are
# demanded, checked and refused where they do not belong.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"

MB=$((1024 * 1024))
MSIZE_MIB=16   # member data size
WRITE_KIB=8192 # written from image offset 0: member blocks 0..1023 of 4096

# The decoder's own arithmetic first: CRC-32C's check value (and its other
# self-checks, which every run does before anything else).
out=$(r5_offline selftest) || fail "r5_offline selftest failed: $out"
grep -qF 'crc32c("123456789")=0xe3069283' <<<"$out" || fail "selftest: $out"

# flip FILE OFFSET: inverts one byte in place (twice restores it)
flip() {
	local f=$1 off=$2 b
	b=$(od -An -tu1 -j "$off" -N1 -- "$f" | tr -d ' ')
	[[ -n $b ]] || fail "cannot read byte $off of $f"
	# shellcheck disable=SC2059
	printf "$(printf '\\%03o' $((b ^ 0xff)))" |
		to 30 dd of="$f" bs=1 seek="$off" count=1 conv=notrunc status=none ||
		fail "dd into $f at $off failed"
}

# vc ARGS...: r5_offline verify-checksums; sets OUT, ERR, RC
vc() {
	RC=0
	OUT=$(r5_offline verify-checksums "$@" 2>"$W/vc.err") || RC=$?
	ERR=$(cat "$W/vc.err")
}

# info_field FIELD [PATH]: a field of the array line, or of PATH's member line
info_field() {
	local line
	if [[ $# -eq 1 ]]; then
		line=$(r5_offline info "${MEMBERS[@]}" | grep '^array ')
	else
		line=$(r5_offline info "${MEMBERS[@]}" | grep -F "member path=$2 ")
	fi
	grep -o " $1=[^ ]*" <<<" $line" | head -n1 | cut -d= -f2
}

expect_clean() { # what
	vc "${KEY[@]}" "${MEMBERS[@]}"
	[[ $RC -eq 0 ]] || fail "$1: verify-checksums exit $RC: $OUT $ERR"
	[[ $(grep -c '^member .* bad=0 unverifiable=0$' <<<"$OUT") -eq ${#MEMBERS[@]} ]] ||
		fail "$1: not every member clean: $OUT"
	! grep -q '^bad \|^damaged-page ' <<<"$OUT" || fail "$1: $OUT"
}

# check_array ALG: all the checks on the array in MEMBERS (stopped), key in KEY
check_array() {
	local alg=$1 m data_off csum_off slot1 slot2 per_page nblocks off
	for m in "${MEMBERS[@]}"; do
		[[ $(info_field csum "$m") == "$alg" ]] || fail "$m: info does not say csum=$alg"
		[[ $(info_field version "$m") == 2 ]] || fail "$m: not format version 2"
	done
	data_off=$(info_field data_offset)
	csum_off=$(info_field csum_offset "${MEMBERS[0]}")
	slot1=$(info_field slot "${MEMBERS[1]}")
	slot2=$(info_field slot "${MEMBERS[2]}")
	nblocks=$((MSIZE_MIB * MB / 4096))
	[[ $alg == crc32c ]] && per_page=1020 || per_page=127
	log "$alg: data_offset=$data_off csum_offset=$csum_off"
	r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "$alg: parity check failed"
	expect_clean "$alg, as written"

	# One byte in a written block (member block 5), then in a block whose
	# table page was never written (the last block: must read as zero).
	for off in $((5 * 4096)) $(((nblocks - 1) * 4096)); do
		flip "${MEMBERS[1]}" $((data_off + off + 1234))
		vc "${KEY[@]}" "${MEMBERS[@]}"
		[[ $RC -eq 1 ]] || fail "$alg: flipped byte at $off: exit $RC, not 1: $OUT $ERR"
		[[ $(grep -c '^bad ' <<<"$OUT") -eq 1 ]] || fail "$alg: want one bad block: $OUT"
		grep -q "^bad slot=$slot1 member_offset=$off " <<<"$OUT" ||
			fail "$alg: bad line does not name slot $slot1 offset $off: $OUT"
		grep -q "^member path=${MEMBERS[1]} slot=$slot1 blocks=$nblocks bad=1 unverifiable=0$" <<<"$OUT" ||
			fail "$alg: summary of ${MEMBERS[1]}: $OUT"
		flip "${MEMBERS[1]}" $((data_off + off + 1234))
		expect_clean "$alg, byte at $off restored"
	done

	# A damaged table page (one byte of its entries): its blocks unverifiable.
	flip "${MEMBERS[2]}" $((csum_off + 10))
	vc "${KEY[@]}" "${MEMBERS[@]}"
	[[ $RC -eq 1 ]] || fail "$alg: damaged table page: exit $RC, not 1: $OUT $ERR"
	grep -q "^damaged-page slot=$slot2 page=0 blocks=0\.\.$((per_page - 1)) reason=bad-crc " <<<"$OUT" ||
		fail "$alg: no damaged-page line for slot $slot2 page 0: $OUT"
	grep -q "^member path=${MEMBERS[2]} slot=$slot2 blocks=$nblocks bad=0 unverifiable=$per_page$" <<<"$OUT" ||
		fail "$alg: summary with a damaged page: $OUT"
	flip "${MEMBERS[2]}" $((csum_off + 10))
	expect_clean "$alg, table page restored"

	# Keys: only hmac-sha256 takes one, and only the right one.
	if [[ $alg == hmac-sha256 ]]; then
		vc "${MEMBERS[@]}"
		[[ $RC -eq 2 && $(wc -l <<<"$ERR") -eq 1 && $ERR == *key-file* ]] ||
			fail "hmac-sha256 without a key: exit $RC: $ERR"
		head -c 32 /dev/urandom >"$W/wrong.key"
		vc --key-file "$W/wrong.key" "${MEMBERS[@]}"
		[[ $RC -eq 2 && $(wc -l <<<"$ERR") -eq 1 && $ERR == *"key check"* ]] ||
			fail "hmac-sha256 with a wrong key: exit $RC: $ERR"
		[[ -z $OUT ]] || fail "wrong key, yet output: $OUT"
	else
		vc --key-file "$W/array.key" "${MEMBERS[@]}"
		[[ $RC -eq 2 ]] || fail "$alg with a key file: exit $RC, not 2: $ERR"
	fi
}

head -c 32 /dev/urandom >"$W/array.key"
chmod 600 "$W/array.key"

# Each kind made by the raid5fs command (crc32c is its default), written
# through the mounted image.
mnt=$W/mnt
for alg in crc32c sha256 hmac-sha256; do
	log "=== $alg"
	KEY=()
	[[ $alg == hmac-sha256 ]] && KEY=(--key-file "$W/array.key")
	R5_PREFIX=$alg. make_array 3 "${MSIZE_MIB}M" --chunk 16K --checksum "$alg" "${KEY[@]}"
	mount_array "$mnt" "${KEY[@]}"
	r5_pattern fill "$mnt/image" 41 0 "${WRITE_KIB}K" >&2 || fail "$alg: fill failed"
	umount_array "$mnt"
	check_array "$alg"
	rm -f -- "${MEMBERS[@]}"
done

# No checksums: one line, exit 0.
log "=== none"
R5_PREFIX=none. make_array 3 "${MSIZE_MIB}M" --chunk 16K --checksum none
vc "${MEMBERS[@]}"
[[ $RC -eq 0 && $OUT == "no checksums: checksum none" ]] || fail "csum none: exit $RC: $OUT $ERR"
[[ $(info_field csum "${MEMBERS[0]}") == none ]] || fail "csum none: info does not say so"
