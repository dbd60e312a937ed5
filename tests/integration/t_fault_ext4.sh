#!/bin/bash
# t_fault_ext4: the user's view of a member failure. ext4 on the image,
# loop-mounted; a tree of ~40 MB is being copied (every file fsynced) when
# member 1 is deleted; the copy must go on without an error. Then member 1 is
# replaced (--wait) while a second tree is being copied. After sync and
# umount, e2fsck -fn must find the filesystem clean, and after a remount every
# file of both trees must have its SHA-256 sum.
#
# To make sure the fault and the rebuild really happen in the middle of a
# copy, each copier signals when a third of its files are written and waits,
# before its last third, for a go-ahead the test gives right after the
# member was deleted / right after the rebuild was seen running.
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

for c in mkfs.ext4 e2fsck losetup sha256sum; do
	command -v "$c" >/dev/null || fail "$c missing"
done

# gen_tree DIR SEED SUMS: ~40 MB of random files (mostly 1 KiB..2 MiB, some
# tiny), in nested directories; SHA-256 list (relative paths) in SUMS.
gen_tree() {
	local dir=$1 sums=$3 d f sz total=0
	RANDOM=$2
	for d in 0 1 2 3; do
		mkdir -p "$dir/d$d/sub"
		for f in $(seq 0 11); do
			if ((f % 6 == 5)); then
				sz=$((RANDOM % 4096))
			else
				sz=$(((RANDOM % 2000 + 1) * 1024 + RANDOM % 1024))
			fi
			p=$dir/d$d/f$f.bin
			((f % 2)) && p=$dir/d$d/sub/f$f.bin
			head -c "$sz" /dev/urandom >"$p"
			total=$((total + sz))
		done
	done
	(cd "$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$sums"
	log "tree $dir: $(wc -l <"$sums") files, $((total / MB)) MiB"
}

# copy_tree SRC DST FLAG: copy every file of SRC to DST, fsyncing each one.
# Touches FLAG.third after a third of the files, and before the last third
# waits (up to 120 s) for FLAG.go. Runs in the background.
copy_tree() {
	local src=$1 dst=$2 flag=$3 i=0 n f end
	local -a files
	mapfile -t files < <(cd "$src" && find . -type f | sort)
	n=${#files[@]}
	for f in "${files[@]}"; do
		if ((i == n / 3)); then touch "$flag.third"; fi
		if ((i == 2 * n / 3)); then
			end=$(($(now_ms) + 120000))
			until [[ -e $flag.go ]]; do
				(($(now_ms) < end)) || { log "copy $dst: no go-ahead"; return 1; }
				sleep 0.05
			done
		fi
		mkdir -p "$dst/$(dirname "$f")"
		cp -- "$src/$f" "$dst/$f" || { log "copy $dst: cp $f failed"; return 1; }
		sync -- "$dst/$f" || { log "copy $dst: fsync $f failed"; return 1; }
		i=$((i + 1))
	done
	touch "$flag.done"
}

gen_tree "$W/src1" 111 "$W/sums1"
gen_tree "$W/src2" 222 "$W/sums2"

make_array 4 128M --chunk 64K --name faultext4
mnt=$W/mnt
data=$W/data
mount_array "$mnt"
img=$mnt/image
to 120 mkfs.ext4 -q -F "$img" || fail "mkfs.ext4 on the image failed"
loop_attach "$img"
fs_mount "$LOOPDEV" "$data"

# 1. Delete member 1 in the middle of the first copy.
copy_tree "$W/src1" "$data/t1" "$W/c1" &
cpid=$!
wait_until 120 "a third of tree 1 copied" test -e "$W/c1.third"
kill -0 "$cpid" 2>/dev/null || fail "copy 1 is not running when the member is deleted"
log "deleting member 1 during the copy"
t0=$(now_ms)
rm -- "${MEMBERS[1]}"
touch "$W/c1.go"
wait_status "$mnt" 3 '.members[1].state == "faulty"' "slot 1 faulty after delete"
log "slot 1 faulty $(($(now_ms) - t0)) ms after rm"
expect "$mnt" '.health == "degraded" and (.members[1].reason | test("delet"; "i"))' "degraded, member 1 deleted"
wait "$cpid" || fail "copy of tree 1 failed across the deletion of member 1"
[[ -e $W/c1.done ]] || fail "copy 1 did not finish"
expect "$mnt" '.health == "degraded" and .io.errors == 0' "still degraded, no I/O errors"
(cd "$data/t1" && to 120 sha256sum --quiet -c "$W/sums1") || fail "tree 1 wrong while degraded"

# 2. Replace member 1 while the second tree is being copied. The rebuild is
#    capped at 16 MiB/s (128 MiB: ~8 s) so that it surely overlaps the copy,
#    and kept at 8 MiB/s or more while the copy runs (by default it would
#    step aside down to ~1 MB/s and hardly move until the copy is over).
r5 speed "$mnt" --min 8M --max 16M >&2 || fail "raid5fs speed failed"
copy_tree "$W/src2" "$data/t2" "$W/c2" &
cpid=$!
wait_until 120 "a third of tree 2 copied" test -e "$W/c2.third"
r5 replace --wait "$mnt" 1 >"$W/replace.out" 2>&1 &
rpid=$!
wait_status "$mnt" 20 '.sync.action == "recover" or .sync.last_action == "recover"' "recovery of slot 1 started"
touch "$W/c2.go"
wait "$cpid" || fail "copy of tree 2 failed during the rebuild of member 1"
log "copy 2 done; sync action now: $(st "$mnt" .sync.action) (progress $(st "$mnt" .sync.progress))"
wait "$rpid" || { cat "$W/replace.out" >&2; fail "replace --wait 1 failed"; }
cat "$W/replace.out" >&2
expect_optimal "$mnt"
expect "$mnt" '.sync.last_action == "recover" and .sync.last_result == "ok" and .io.errors == 0' \
	"recovery finished well, no I/O errors"
[[ -f ${MEMBERS[1]} ]] || fail "replace did not recreate ${MEMBERS[1]}"

# 3. Flush, fsck, remount, every file.
to 120 sync || fail "sync failed"
fs_umount "$data"
to 300 e2fsck -fn "$LOOPDEV" >&2 || fail "e2fsck found problems after the fault and the rebuild"
fs_mount "$LOOPDEV" "$data"
(cd "$data/t1" && to 120 sha256sum --quiet -c "$W/sums1") || fail "tree 1 wrong after rebuild and remount"
(cd "$data/t2" && to 120 sha256sum --quiet -c "$W/sums2") || fail "tree 2 wrong after rebuild and remount"
fs_umount "$data"
loop_detach "$LOOPDEV"

check_clean "$mnt"
umount_array "$mnt"
r5_offline verify-parity "${MEMBERS[@]}" >&2 || fail "offline parity check failed"
# The rebuilt member can itself stand in for another: decode without slot 0.
r5_offline image --missing 0 "$W/dec.img" "${MEMBERS[@]}" 2>/dev/null || fail "offline decode without slot 0 failed"
to 300 e2fsck -fn "$W/dec.img" >&2 || fail "e2fsck of the image decoded without slot 0 found problems"
