#!/bin/bash
# t_power_loss: a real power loss of the member files (issue 10), and kill -9
# under load on a degraded array.
#
# Each of the 4 members lives on its own small filesystem (XFS when mkfs.xfs
# is there, else ext4; R5_POWER_FS=xfs|ext4 chooses), on its own loop device.
# The array is filled with seeded data and fsynced; then a writer rewrites
# one 4 KiB block in every 9th stripe row, never fsynced, while the daemon
# writes them back to the member files. Two member filesystems are synced at
# different moments (so that some members hold the new blocks and others do
# not: the RAID-5 write hole), then the power of all four is cut at once:
# the daemon is frozen (SIGSTOP), the four filesystems are shut down with
# the ioctl flag NOLOGFLUSH (tests/tools/r5_shutdown), which drops their
# page cache and log tail as a power loss would, and the daemon is killed
# (SIGKILL). The member filesystems are unmounted and mounted again (log
# recovery): the member files are what the power loss left.
#
# For each member left out in turn, and with all four, the crash state is
# copied to scratch files and assembled. "Fsynced" blocks are every block
# of the image but the ones the writer touched (those may read back old or
# new). What must hold depends on the consistency policy
# (`raid5fs mount -o consistency_policy=ppl|bitmap`, docs/write-hole.md):
#
#  (a) crash under bitmap (the log off): every degraded assembly without
#      --force is refused, in one line naming the write hole and --force, the
#      mount point stays empty and no byte of any member changes (tried with
#      the default policy and with -o consistency_policy=bitmap). The
#      complete assembly resyncs, reads back every fsynced byte, and
#      `raid5fs check --wait` counts 0 mismatches.
#  (b) crash under the default policy (ppl): every degraded assembly WITHOUT
#      --force starts, and every fsynced byte reads back exactly (the
#      partial-parity log rebuilds the missing member's blocks of the rows
#      being written); the complete assembly resyncs, reads back every
#      fsynced byte, and check counts 0 mismatches.
#  (c) kill -9 under load on a degraded array (a member file deleted while
#      mounted, the writer running): with ppl, the degraded remount WITHOUT
#      --force starts and every fsynced byte reads back.
#  (d) power loss on a degraded array (a member deleted before the writer
#      starts): the three members left start WITHOUT --force and every
#      fsynced byte reads back (every row lacks one block, computed from
#      the others: a torn update of the row would make it wrong without
#      the log).
#
# For the record, each crash state is also decoded by r5_offline (which
# knows nothing of a log) with each member missing: the number of fsynced
# blocks a plain RAID-5 decode gets wrong is logged, i.e. the size of the
# hole that (b) must close (it depends on what the kernel wrote back before
# the cut, so it is reported, not asserted).
#
# Geometry: 4 members x 32 MiB data, chunk 64 KiB: image 96 MiB, 512 rows of
# 192 KiB (48 blocks of 4 KiB). Unsynced block of row r (r % 9 == 1, 57
# rows): image block 48 r + (7 r) % 48, so that every (parity member,
# changed member) pair occurs, 3 to 8 times (left-symmetric: parity of row
# r on member 3 - r % 4).
# shellcheck source=tests/integration/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/lib_faults.sh
source "$(dirname "$0")/lib_faults.sh"

R5_SHUTDOWN=$R5_TOOLS/r5_shutdown
[[ -x $R5_SHUTDOWN ]] || fail "$R5_SHUTDOWN missing (build the tests: tests/tools/r5_shutdown.c)"
command -v perl >/dev/null || skip "perl missing (package perl-base): the unsynced writer uses it"

NM=4
CHUNK=64K
MSIZE=32M
IMG_BYTES=$((96 * MB))
BS=4096
ROW_BLOCKS=48
ROWS=512

# ---- which filesystem holds the members ------------------------------------
have_fs() { grep -qw "$1" /proc/filesystems || { modprobe -q "$1" 2>/dev/null && grep -qw "$1" /proc/filesystems; }; }
PL_FS=${R5_POWER_FS:-}
if [[ -z $PL_FS ]]; then
	if command -v mkfs.xfs >/dev/null && have_fs xfs; then PL_FS=xfs; else PL_FS=ext4; fi
fi
case $PL_FS in
xfs)
	command -v mkfs.xfs >/dev/null || skip "mkfs.xfs missing (package xfsprogs)"
	have_fs xfs || skip "the kernel has no XFS"
	# mkfs.xfs >= 5.19 refuses filesystems below 300 MiB (and logs below
	# 64 MiB); the image file is sparse, about 65 MiB is really used
	FS_SIZE=320M
	MKFS=(mkfs.xfs -q -f)
	;;
ext4)
	command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 missing (package e2fsprogs)"
	have_fs ext4 || skip "the kernel has no ext4"
	FS_SIZE=80M
	MKFS=(mkfs.ext4 -q -F)
	;;
*) fail "R5_POWER_FS=$PL_FS: use xfs or ext4" ;;
esac
avail_kb=$(df -Pk -- "$W" | awk 'NR == 2 { print $4 }')
((avail_kb > 1200 * 1024)) || skip "less than 1.2 GiB free under $W"
log "member filesystems: $PL_FS ($FS_SIZE each, on loop devices)"

# ---- the blocks the unsynced writer touches ---------------------------------
UNSYNC=()
for ((r = 1; r < ROWS; r += 9)); do UNSYNC+=($((r * ROW_BLOCKS + (7 * r) % ROW_BLOCKS))); done
printf '%s\n' "${UNSYNC[@]}" >"$W/unsynced.blocks"
head -c $BS /dev/urandom >"$W/u0.blk"
head -c $BS /dev/urandom >"$W/u1.blk"
WRITER_PAUSE=0.3

# make_expect SEED: $W/expect.img is the seeded image r5_pattern fill writes
make_expect() {
	rm -f -- "$W/expect.img"
	truncate -s "$IMG_BYTES" "$W/expect.img"
	r5_pattern fill "$W/expect.img" "$1" >&2 || fail "r5_pattern fill of the expected image failed"
}

# count_bad FILE: the number of 4 KiB blocks of FILE, outside the unsynced
# ones, that differ from $W/expect.img, then the first differing offsets.
# (At most 4M differing bytes are looked at: a count above ~1000 is "at least".)
count_bad() {
	local f=$1
	[[ $(size_of "$f") -eq $IMG_BYTES ]] || { echo "$IMG_BYTES (size $(size_of "$f"))"; return 0; }
	if cmp -s -- "$f" "$W/expect.img"; then echo 0; return 0; fi
	{ cmp -l -- "$f" "$W/expect.img" 2>/dev/null || true; } | head -n $((4 * MB)) |
		awk -v bs=$BS 'NR == FNR { skip[$1] = 1; next }
			{ b = int(($1 - 1) / bs)
			  if (!(b in skip) && !(b in seen)) { seen[b] = 1; n++; if (n <= 4) first = first " " ($1 - 1) } }
			END { printf "%d%s\n", n, (n ? " (first at byte" first ")" : "") }' "$W/unsynced.blocks" -
}

# check_fsynced MNT WHAT: read the whole image of MNT; every fsynced block
# must equal the expected image. Reads that fail (EIO) count as wrong.
check_fsynced() {
	local mnt=$1 what=$2 got=$W/got.img bad
	rm -f -- "$got"
	if ! to 120 dd if="$mnt/image" of="$got" bs=1M status=none 2>"$W/dd.err"; then
		log "$what: reading the image in 1 MiB pieces failed ($(head -n1 "$W/dd.err")); again by 4 KiB, errors as zeros"
		rm -f -- "$got"
		to 300 dd if="$mnt/image" of="$got" bs=$BS conv=noerror,sync status=none 2>"$W/dd.err" || true
		log "$what: $(grep -c 'Input/output error' "$W/dd.err") blocks failed to read"
	fi
	bad=$(count_bad "$got")
	rm -f -- "$got"
	if [[ ${bad%% *} != 0 ]]; then
		show_status "$mnt"
		fail "$what: ${bad%% *} fsynced 4 KiB blocks read back wrong${bad#"${bad%% *}"}"
	fi
	log "$what: every fsynced block reads back exactly (${#UNSYNC[@]} unsynced blocks not compared)"
}

# ---- the writer that is running when the power goes -------------------------
# writer_start IMG: one process that keeps IMG open and rewrites every
# unsynced block, over and over (u0 and u1 in turn, WRITER_PAUSE seconds
# between passes), with no fsync, until $W/writer.stop exists; it appends
# the number of each pass in which every write succeeded to
# $W/writer.passes. Few rows and a pause keep the load small: flat out,
# the log of the ppl policy fills a half of its ring many times a second
# and each switch syncs every member, so that almost nothing would be
# unsynced when the power goes (no hole to close). Not dd: raid5fs makes
# the image durable at every close of a writable fd (a dd per block would
# be a synced writer). perl-base is essential on Debian; only its builtins
# are used (sysseek, syswrite).
writer_start() {
	local img=$1
	rm -f -- "$W/writer.stop" "$W/writer.passes"
	perl -e '
		my ($img, $stop, $passes, $pause, $u0, $u1, @blocks) = @ARGV;
		open(my $f, "+<", $img) or die "writer: $img: $!\n";
		binmode $f;
		my @buf;
		for my $u ($u0, $u1) {
			open(my $h, "<", $u) or die "writer: $u: $!\n";
			binmode $h;
			local $/;
			push @buf, scalar <$h>;
		}
		my $pass = 0;
		until (-e $stop) {
			my $ok = 0;
			for my $b (@blocks) {
				last if -e $stop;
				# errors (the mount is gone) are expected at the end
				$ok++ if sysseek($f, $b * 4096, 0) and (syswrite($f, $buf[$pass % 2]) // 0) == 4096;
			}
			$pass++;
			if ($ok == @blocks) {
				open(my $c, ">>", $passes) or die;
				print $c "$pass\n";
				close $c;
			}
			select(undef, undef, undef, $pause);
		}
		close $f;
	' "$img" "$W/writer.stop" "$W/writer.passes" "$WRITER_PAUSE" "$W/u0.blk" "$W/u1.blk" "${UNSYNC[@]}" &
	WRITER_PID=$!
}

writer_passes() { [[ -s $W/writer.passes ]] && wc -l <"$W/writer.passes" || echo 0; }

writer_stop() {
	local i
	touch "$W/writer.stop"
	for ((i = 0; i < 300; i++)); do
		kill -0 "$WRITER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$WRITER_PID" 2>/dev/null && fail "the writer did not stop within 30 s"
	wait "$WRITER_PID" 2>/dev/null || true
}

# daemon_of MNT: the pid of the daemon we started for MNT
daemon_of() {
	local e
	for e in "${_R5_PIDS[@]}"; do
		[[ ${e#*|} == "$1" ]] && _r5_is_our_daemon "${e%%|*}" "$1" && { echo "${e%%|*}"; return 0; }
	done
	return 1
}

# all_stopped PID: every thread of PID is stopped (state T), i.e. no system
# call of it is still running
all_stopped() {
	local t st
	for t in /proc/"$1"/task/*/stat; do
		st=$(sed 's/^.*) \([A-Za-z]\) .*/\1/' "$t" 2>/dev/null) || return 1
		[[ $st == [Tt] ]] || return 1
	done
}

# ---- cleanup: raid5fs mounts whose members are on our filesystems go first --
# lib.sh's cleanup unmounts filesystems on loop devices before the raid5fs
# mounts (a daemon holding member files would keep them busy), and it knows
# a mount by `mountpoint -q`, which fails both on a FUSE mount whose daemon
# is dead and on a filesystem that was shut down: both are left here to a
# cleanup that asks /proc/self/mounts.
FSDIRS=() LOOPDEVS=()
is_mounted() { awk -v d="$1" '$2 == d { f = 1 } END { exit !f }' /proc/self/mounts; }
_pl_cleanup() {
	local rc=$? mnt e pid i d
	set +e
	touch "$W/writer.stop" 2>/dev/null
	# a daemon frozen for the power cut will never answer an umount
	for e in "${_R5_PIDS[@]}"; do
		pid=${e%%|*} mnt=${e#*|}
		_r5_is_our_daemon "$pid" "$mnt" && all_stopped "$pid" && kill -KILL "$pid"
	done
	if [[ $rc -ne 0 && $rc -ne 77 ]]; then
		for mnt in "${_R5_MOUNTS[@]}"; do
			mountpoint -q "$mnt" && { log "status of $mnt:"; show_status "$mnt"; }
		done
	fi
	for mnt in "${_R5_MOUNTS[@]}"; do
		is_mounted "$mnt" || continue
		if mountpoint -q "$mnt"; then
			timeout 30 "$R5_BIN" umount "$mnt" >&2 && continue
		fi
		fusermount3 -uz "$mnt" 2>/dev/null || umount -l "$mnt"
	done
	for e in "${_R5_PIDS[@]}"; do
		pid=${e%%|*} mnt=${e#*|}
		for ((i = 0; i < 50; i++)); do
			_r5_is_our_daemon "$pid" "$mnt" || break
			sleep 0.1
		done
		_r5_is_our_daemon "$pid" "$mnt" && { log "SIGKILL daemon $pid ($mnt)"; kill -KILL "$pid"; }
	done
	for d in "${FSDIRS[@]}"; do
		is_mounted "$d" && ! mountpoint -q "$d" &&
			{ timeout 60 umount "$d" || umount -l "$d"; }
	done
	(exit "$rc")
	_r5_cleanup
}
trap _pl_cleanup EXIT

# ---- the member filesystems ---------------------------------------------------
for ((i = 0; i < NM; i++)); do
	truncate -s "$FS_SIZE" "$W/fs$i.img"
	"${MKFS[@]}" "$W/fs$i.img" >/dev/null 2>"$W/mkfs.err" || { cat "$W/mkfs.err" >&2; fail "${MKFS[*]} failed"; }
	loop_attach "$W/fs$i.img"
	LOOPDEVS+=("$LOOPDEV")
	FSDIRS+=("$W/d$i")
	fs_mount "$LOOPDEV" "$W/d$i"
done
log "member filesystems on ${LOOPDEVS[*]}"

# cut_power MNT: the power of the four members goes at the same instant.
# The shutdown ioctls run one after the other and a member filesystem
# refuses I/O from its own shutdown on; a daemon still running in between
# would see the first member fail and record that (fdatasynced) on the
# members not yet shut down, i.e. disks dying one by one, not a power loss.
# So the daemon is frozen first (SIGSTOP: its threads stop once their system
# calls return; nothing it wrote is made more durable by that), then the
# four filesystems are shut down, then the daemon is killed. The member
# filesystems are unmounted and mounted again (log recovery).
cut_power() {
	local mnt=$1 i pid
	pid=$(daemon_of "$mnt") || fail "no daemon of ours for $mnt"
	kill -STOP "$pid"
	for ((i = 0; i < 100; i++)); do
		all_stopped "$pid" && break
		sleep 0.1
	done
	all_stopped "$pid" || fail "the daemon $pid did not stop within 10 s of SIGSTOP"
	"$R5_SHUTDOWN" "${FSDIRS[@]}" || fail "r5_shutdown ${FSDIRS[*]} failed"
	log "power cut: ${FSDIRS[*]} shut down (NOLOGFLUSH) after $(writer_passes) writer passes"
	touch "$W/writer.stop"
	kill_daemon "$mnt"
	writer_stop
	for i in "${!FSDIRS[@]}"; do fs_umount "${FSDIRS[i]}"; done
	for i in "${!FSDIRS[@]}"; do
		to 120 mount "${LOOPDEVS[i]}" "${FSDIRS[i]}" || fail "mount ${LOOPDEVS[i]} ${FSDIRS[i]} after the power cut failed"
	done
	log "member filesystems mounted again (log recovery done)"
}

# ---- one run that ends in a power loss ----------------------------------------
# crash_run SEED MOUNT-OPTION...: a new array on the member filesystems,
# filled with SEED and fsynced, the unsynced writer, the power cut; with
# DEGRADE=SLOT that member's file is deleted before the writer starts (the
# array runs degraded). CRASH = the member files left.
crash_run() {
	local seed=$1 mnt=$W/mnt i
	shift
	MEMBERS=()
	for ((i = 0; i < NM; i++)); do
		rm -f -- "${FSDIRS[i]}/m$i"
		MEMBERS+=("${FSDIRS[i]}/m$i")
	done
	r5 create --chunk $CHUNK --size $MSIZE --name power "${MEMBERS[@]}" >&2 || fail "raid5fs create failed"
	make_expect "$seed"
	mount_array "$mnt" "$@"
	[[ $(size_of "$mnt/image") -eq $IMG_BYTES ]] || fail "image size $(size_of "$mnt/image")"
	r5_pattern fill "$mnt/image" "$seed" >&2 || fail "fill of the image failed"
	log "image filled with seed $seed and fsynced"
	if [[ -n ${DEGRADE:-} ]]; then
		rm -f -- "${MEMBERS[DEGRADE]}"
		wait_status "$mnt" 15 '.health == "degraded"' "degraded after deleting member $DEGRADE"
	fi
	writer_start "$mnt/image"
	sleep 1.5
	expect "$mnt" '.dirty == true' "the array is dirty while the writer runs"
	# some members hold newer blocks than others: written back at different
	# moments, as a disk's cache may do
	to 60 sync -f "${FSDIRS[0]}" || fail "sync -f ${FSDIRS[0]} failed"
	sleep 0.4
	to 60 sync -f "${FSDIRS[2]}" || fail "sync -f ${FSDIRS[2]} failed"
	sleep 0.3
	[[ $(writer_passes) -ge 1 ]] || fail "the writer did not complete one pass before the power cut"
	cut_power "$mnt"
	CRASH=()
	for ((i = 0; i < NM; i++)); do
		[[ $i == "${DEGRADE:-}" ]] || CRASH+=("${MEMBERS[i]}")
	done
	local states
	states=$(disk_states "${CRASH[@]}")
	log "superblocks after the power loss: $states"
	[[ -n $states && ! $states =~ clean ]] ||
		fail "setup: the crash state is not dirty ($states): the array went clean before the cut"
}

# crash_report: how big the hole is that a plain RAID-5 decode would fall in
crash_report() {
	local s out bad holes=0
	out=$(r5_offline verify-parity "${CRASH[@]}" 2>/dev/null | tail -n1) || true
	log "crash state: parity of the rows: ${out:-(r5_offline verify-parity gave nothing)}"
	for ((s = 0; s < NM; s++)); do
		if r5_offline image --missing "$s" "$W/plain.img" "${CRASH[@]}" >/dev/null 2>&1; then
			bad=$(count_bad "$W/plain.img")
			log "crash state: a plain degraded decode without slot $s gets ${bad%% *} fsynced blocks wrong${bad#"${bad%% *}"}"
			holes=$((holes + ${bad%% *}))
		else
			log "crash state: r5_offline cannot decode it without slot $s (format changed?)"
		fi
		rm -f -- "$W/plain.img"
	done
	[[ $holes -gt 0 ]] ||
		log "note: no write hole in this crash state (everything was written back, or nothing): the degraded assemblies below show less than they could"
}

# scratch_copy: SCRATCH = fresh copies of the crash state (same for every
# assembly)
scratch_copy() {
	local i
	rm -rf -- "$W/scratch"
	mkdir -p "$W/scratch"
	SCRATCH=()
	for i in "${!CRASH[@]}"; do
		to 120 cp --sparse=always -- "${CRASH[i]}" "$W/scratch/m$i" || fail "copying ${CRASH[i]} failed"
		SCRATCH+=("$W/scratch/m$i")
	done
}

# expect_refused WHAT MEMBER... : `raid5fs mount [opts] MEMBER... MNT`
# (options first in the list) must fail in one line that names the write hole
# and --force, leave nothing mounted and change no member file.
expect_refused() {
	local what=$1 mnt=$W/mnt2 rc=0 before after
	shift
	local -a files=()
	local a
	for a; do [[ -f $a ]] && files+=("$a"); done
	mkdir -p "$mnt"
	before=$(sha256sum -- "${files[@]}")
	r5 mount "$@" "$mnt" 2>"$W/refused.err" || rc=$?
	if mountpoint -q "$mnt"; then
		adopt_mount "$mnt"
		cat "$W/refused.err" >&2
		fail "$what: mounted without --force (exit $rc), expected a refusal"
	fi
	[[ $rc -ne 0 ]] || fail "$what: exit 0 without a mount"
	one_line "$W/refused.err" || { cat "$W/refused.err" >&2; fail "$what: the refusal is not one line"; }
	if ! grep -qi 'write hole' "$W/refused.err" || ! grep -q -- '--force' "$W/refused.err"; then
		cat "$W/refused.err" >&2
		fail "$what: the refusal does not name the write hole and --force"
	fi
	after=$(sha256sum -- "${files[@]}")
	[[ $before == "$after" ]] || fail "$what: the refused mount changed member files"
	log "$what: refused: $(cat "$W/refused.err")"
}

# assemble_complete WHAT MOUNT-OPTION...: all four scratch members, resync,
# every fsynced byte, check = 0 mismatches.
assemble_complete() {
	local what=$1 mnt=$W/mnt2
	shift
	scratch_copy
	mount_paths "$mnt" "$W/mount.err" "$@" "${SCRATCH[@]}"
	wait_sync_idle "$mnt" 120
	expect "$mnt" '.health == "optimal" and .needs_resync == false' "$what: optimal after the resync"
	check_fsynced "$mnt" "$what"
	check_clean "$mnt"
	umount_array "$mnt"
}

# ---- (a) power loss under the bitmap policy -----------------------------------
log "(a) power loss under the bitmap policy"
A_OPTS=(-o consistency_policy=bitmap)
crash_run 7100 "${A_OPTS[@]}"
crash_report
for ((s = 0; s < NM; s++)); do
	scratch_copy
	MEMBERS=("${SCRATCH[@]}")
	members_except "$s"
	expect_refused "(a) without slot $s, default policy, no --force" "${SUBSET[@]}"
	expect_refused "(a) without slot $s, -o consistency_policy=bitmap, no --force" \
		-o consistency_policy=bitmap "${SUBSET[@]}"
done
assemble_complete "(a) complete assembly" "${A_OPTS[@]}"

# ---- (c) kill -9 under load on a degraded array --------------------------------
# kill_degraded_run SEED: members on plain files, one deleted while mounted,
# the writer running, kill -9; leaves the survivors in SUBSET.
kill_degraded_run() {
	local seed=$1 mnt=$W/mntk
	shift
	R5_PREFIX=k make_array $NM $MSIZE --chunk $CHUNK --name killdeg
	make_expect "$seed"
	mount_array "$mnt" "$@"
	r5_pattern fill "$mnt/image" "$seed" >&2 || fail "fill of the image failed"
	rm -f -- "${MEMBERS[1]}"
	wait_status "$mnt" 15 '.health == "degraded"' "degraded after deleting member 1"
	writer_start "$mnt/image"
	sleep 2
	[[ $(writer_passes) -ge 1 ]] || fail "the writer did not complete one pass"
	expect "$mnt" '.dirty == true' "the array is dirty while the writer runs"
	log "(c) kill -9 of the daemon under load, degraded, after $(writer_passes) writer passes"
	touch "$W/writer.stop"
	kill_daemon "$mnt"
	writer_stop
	members_except 1
}

log "(c) kill -9 under load on a degraded array, default policy (ppl)"
kill_degraded_run 7300
mount_paths "$W/mntk" "$W/mount.err" "${SUBSET[@]}"
expect "$W/mntk" '.health == "degraded"' "(c) degraded after the remount"
check_fsynced "$W/mntk" "(c) degraded remount after kill -9 (ppl)"
umount_array "$W/mntk"
rm -f -- "$W"/disks/k*

# ---- (b) power loss under the default policy (ppl) -----------------------------
log "(b) power loss under the default policy (ppl)"
crash_run 7200
crash_report
for ((s = 0; s < NM; s++)); do
	scratch_copy
	MEMBERS=("${SCRATCH[@]}")
	members_except "$s"
	mount_paths "$W/mnt2" "$W/mount.err" "${SUBSET[@]}"
	expect "$W/mnt2" '.health == "degraded"' "(b) without slot $s: degraded"
	check_fsynced "$W/mnt2" "(b) without slot $s, no --force"
	umount_array "$W/mnt2"
done
assemble_complete "(b) complete assembly"

# ---- (d) power loss on a degraded array (ppl) ----------------------------------
# The writes go to three members; after the cut the three are all there is.
log "(d) power loss on a degraded array, default policy (ppl)"
DEGRADE=2 crash_run 7400
scratch_copy
mount_paths "$W/mnt2" "$W/mount.err" "${SCRATCH[@]}"
expect "$W/mnt2" '.health == "degraded"' "(d) degraded after the power loss"
check_fsynced "$W/mnt2" "(d) degraded array after a power loss, no --force"
umount_array "$W/mnt2"
