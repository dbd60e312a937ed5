#!/usr/bin/env bash
# tools/bench.sh - the raid5fs benchmark (not part of the test run).
#
#   sudo tools/bench.sh [--quick] [--out DIR] [OPTION]...
#
# In one invocation, on one machine, with member/backing files of the same
# sizes, it sets up every target with ext4 on a loop device over it:
#   raid5fs            healthy array, default options
#   raid5fs-degraded   the same array with one member deleted while mounted (reads only)
#   passthrough        tools/passthrough/r5_passthrough: one backing file through
#                      FUSE set up exactly like raid5fs (the ceiling of a FUSE image)
#   plain-loop         ext4 on a loop device over one plain file (no FUSE, no redundancy)
#   btrfs-raid5        mkfs.btrfs -d raid5 -m raid1 over 4 loop devices
#   btrfs-raid5-degraded  the same, mounted -o degraded with one member gone (reads only)
#   raid5fs-csum-MODE  with --checksums LIST (or "checksums" in --targets): one more
#                      healthy array per checksum mode in LIST, created with
#                      "raid5fs create --checksum MODE", sizes and mount options as
#                      raid5fs, each its own members, daemon and ext4 (dio loop only)
#   raid5fs-policy-P   with --policies LIST (or "policies" in --targets): the same,
#                      one array per consistency policy P in LIST (ppl, bitmap),
#                      mounted with "-o consistency_policy=P"
# FUSE targets are measured twice: behind a default loop device (what
# "mount -o loop" gives: buffered) and behind "losetup --direct-io=on" (dio);
# the others only behind dio loop devices. On each it runs the same fio jobs
# (libaio, O_DIRECT, caches dropped before every run, writes end with an
# fsync that is counted), repeats them and takes the median. All targets
# are set up first and measured round robin (repetition 1 of each, then
# repetition 2, ...), so a slow spell of a shared machine is spread over
# all of them. Every member/backing file is written with zeros first (no
# holes, no allocation during the tests). Then recovery:
# raid5fs rebuild of a deleted member (idle and under fio load) beside the
# raw parallel read rate of the surviving members and beside "btrfs replace"
# of a missing device. Daemon CPU seconds per GiB written and peak RSS are
# taken from /proc. The checksum-mode targets run the four fio jobs round
# robin with the other healthy targets, then each mode rebuilds a deleted
# member (idle) round robin with the other recoveries; their section of the
# table compares every mode with "none" of the same run (goals: crc32c
# >= 0.95 of none on every figure, sha256 >= 0.75 on sequential write).
# "--targets checksums --checksums none,crc32c,sha256" runs only those.
# The policy targets run only the two write jobs (seq write 1M, rand write
# 4k), round robin with the other healthy targets; their section compares
# ppl with bitmap of the same run (issue 10's goals: ppl >= 0.90 of bitmap
# on seq write, >= 0.85 on rand write) and shows the parity log's counters
# (status.json "ppl") of the ppl array per job and at the end.
# "--targets policies" runs only those.
# With --fills LIST (or "fill" in --targets; "--targets fill" runs only
# that), issue 11's rebuild at fill levels: for each level P of LIST
# (default 10,50,100) and each repetition, a new raid5fs array of 4 x
# member size gets ext4 with mkfs.ext4's defaults (it discards the whole
# image: every row stays unused), P% of the ext4's free space (at most 98%)
# written as file data (fio, 4 files), member 3 failed ("raid5fs fail")
# and rebuilt onto a new file ("raid5fs replace"), timed; beside it the
# same data (at most what fits) on a new btrfs raid5 of 4 loop devices,
# device 4 taken away and "btrfs replace"d onto a new one. Each array and
# filesystem is set up, measured and removed in turn, fill levels round
# robin. Its section of the table: rebuild seconds, btrfs/raid5fs (goal:
# > 1 at every level), the new member's allocated MiB, the MiB read from
# the survivors (raid5fs: status.json; btrfs: the loop devices' stat).
# It prints one table and writes DIR/bench.json,
# DIR/bench.txt and the raw fio/status output under DIR/raw/.
#
# Everything it creates (mounts, loop devices, daemons, the work directory)
# is removed on exit, also when interrupted. Needs root, /dev/fuse, loop
# devices, fio, python3; installs btrfs-progs with apt-get when missing.
set -Eeuo pipefail

PROG=bench.sh
ARGS="$*"
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
	cat <<EOF
Usage: $PROG [--quick] [--out DIR] [OPTION]...
Benchmark raid5fs against a FUSE passthrough, a plain loop device and
btrfs raid5 (ext4 on a loop device over each), print one table and write
DIR/bench.json. Needs root. Full run: ~10-15 min; --quick: ~3 min.

  --quick            small sizes, 1 repetition (for development)
  --out DIR          results directory (default /var/tmp/raid5fs-bench-out)
  --work DIR         scratch directory, removed at the end
                     (default /var/tmp/raid5fs-bench; put it on the disk to test)
  --build DIR        where raid5fs and r5_passthrough are (default: $REPO/build,
                     built there with cmake when missing)
  --targets LIST     comma-separated subset of: raid5fs,passthrough,plain-loop,btrfs-raid5,
                     checksums,policies,fill (default all but checksums, policies and fill;
                     the degraded and recovery runs go with their target); "checksums" alone:
                     only the checksum-mode targets (of --checksums, default
                     none,crc32c,sha256); "policies" alone: only the policy targets (of
                     --policies, default bitmap,ppl); "fill" alone: only the rebuild at fill
                     levels (of --fills, default 10,50,100)
  --checksums LIST   also set up one array per checksum mode in LIST (comma-separated:
                     none,crc32c,sha256,hmac-sha256), targets raid5fs-csum-MODE: the four
                     fio jobs behind a dio loop device and an idle rebuild, in a table
                     section with each mode against none (put none in LIST for the
                     ratios). Each mode adds ~1 min to --quick, ~3 min to a full run.
  --policies LIST    also set up one array per consistency policy in LIST (comma-separated:
                     bitmap,ppl), mounted with -o consistency_policy=P, targets
                     raid5fs-policy-P: seq write 1M and rand write 4k behind a dio loop
                     device, in a table section with ppl against bitmap (put both in LIST
                     for the ratios) and the parity log's counters. Each policy adds
                     ~40 s to --quick, ~2 min to a full run.
  --fills LIST       also time a rebuild at each fill level in LIST (comma-separated
                     percentages 1..100 of the ext4's free space written as file data;
                     100 means as much as fits, 98%), raid5fs (fail + replace of member 3
                     of a new array) beside btrfs raid5 (replace of a missing device 4),
                     the same data on each, --reps times, targets raid5fs-fill-P and
                     btrfs-fill-P, in a table section of their own. Each level adds
                     ~10 s to --quick, ~30 s a repetition to a full run.
  --reps N           repetitions of each fio job (default 3, --quick 1)
  --member-size SIZE data size of each of the 4 members (default 1G, --quick 256M);
                     the image and the single backing files are 3 x SIZE
  --file-size SIZE   fio test file inside each filesystem (default 1G, --quick 128M)
  --runtime SEC      seconds of each random job (default 8, --quick 3)
  --raid5fs-opts OPTS  mount options for raid5fs (-o, e.g. strip_size=64K) instead of
                     its defaults, to try a tuning
  -h, --help         this help
EOF
}

# ---- options ----
QUICK=0
OUT=/var/tmp/raid5fs-bench-out
WORK=/var/tmp/raid5fs-bench
BUILD=
TARGETS=raid5fs,passthrough,plain-loop,btrfs-raid5
CSUMS='' POLICIES='' FILLS=''
REPS='' MEMBER_SIZE='' FILE_SIZE='' RUNTIME='' R5_OPTS=''
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1 ;;
	--out) OUT=$2; shift ;;
	--work) WORK=$2; shift ;;
	--build) BUILD=$2; shift ;;
	--targets) TARGETS=$2; shift ;;
	--checksums) CSUMS=$2; shift ;;
	--policies) POLICIES=$2; shift ;;
	--fills) FILLS=$2; shift ;;
	--reps) REPS=$2; shift ;;
	--member-size) MEMBER_SIZE=$2; shift ;;
	--file-size) FILE_SIZE=$2; shift ;;
	--runtime) RUNTIME=$2; shift ;;
	--raid5fs-opts) R5_OPTS=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "$PROG: unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	: "${REPS:=1}" "${MEMBER_SIZE:=256M}" "${FILE_SIZE:=128M}" "${RUNTIME:=3}"
	SEQ_CAP=15 BUDGET=180
else
	: "${REPS:=3}" "${MEMBER_SIZE:=1G}" "${FILE_SIZE:=1G}" "${RUNTIME:=8}"
	SEQ_CAP=40 BUDGET=900
fi
NMEMBERS=4
NDATA=$((NMEMBERS - 1))
FAIL_SLOT=3 # the member deleted for the degraded and recovery runs

die() { echo "$PROG: $*" >&2; exit 1; }
log() { printf '[%4ds] %s\n' "$((SECONDS))" "$*" >&2; }

to_bytes() { # 1G, 256M, 4096 -> bytes (powers of 1024)
	local v=$1 n
	n=${v%[KkMmGgTt]}
	[[ "$n" =~ ^[0-9]+$ ]] || die "bad size: $v"
	case "$v" in
	*[Kk]) echo $((n << 10)) ;; *[Mm]) echo $((n << 20)) ;;
	*[Gg]) echo $((n << 30)) ;; *[Tt]) echo $((n << 40)) ;; *) echo "$n" ;;
	esac
}
MEMBER_BYTES=$(to_bytes "$MEMBER_SIZE")
FILE_BYTES=$(to_bytes "$FILE_SIZE")
IMAGE_BYTES=$((NDATA * MEMBER_BYTES))
[ "$MEMBER_BYTES" -ge $((64 << 20)) ] || die "--member-size must be at least 64M"
[ $((MEMBER_BYTES % (4 << 20))) -eq 0 ] || die "--member-size must be a multiple of 4M"
[ "$FILE_BYTES" -le $((IMAGE_BYTES / 3)) ] || die "--file-size must be at most a third of the image (3 x member size)"
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "bad --reps: $REPS"
[[ "$RUNTIME" =~ ^[1-9][0-9]*$ ]] || die "bad --runtime: $RUNTIME"
want() { [[ ",$TARGETS," == *",$1,"* ]]; }
for t in ${TARGETS//,/ }; do
	case "$t" in raid5fs | passthrough | plain-loop | btrfs-raid5 | checksums | policies | fill) ;; *) die "unknown target: $t" ;; esac
done
# variant_list TARGET OPTION LIST DEFAULT BASE WHAT VALUE...: the variants of
# the checksum-mode or policy targets. OPTION's LIST adds TARGET to --targets,
# TARGET there without LIST takes DEFAULT; each must be one of VALUE...
# (WHAT: for the messages); BASE is what the others are compared with
# -> $VARIANT_LIST (empty when TARGET is not wanted)
variant_list() {
	local target=$1 opt=$2 list=$3 def=$4 base=$5 what=$6 v
	shift 6
	if [ -n "$list" ] && ! want "$target"; then TARGETS=$TARGETS,$target; fi
	if want "$target" && [ -z "$list" ]; then list=$def; fi
	VARIANT_LIST=()
	for v in ${list//,/ }; do
		[[ " $* " == *" $v "* ]] || die "unknown $what: $v"
		[[ " ${VARIANT_LIST[*]} " == *" $v "* ]] && die "$what given twice: $v"
		VARIANT_LIST+=("$v")
	done
	if want "$target"; then
		[ "${#VARIANT_LIST[@]}" -gt 0 ] || die "$opt: empty list"
		[[ " ${VARIANT_LIST[*]} " == *" $base "* ]] || echo "$PROG: note: no '$base' in $opt: no ratios against it" >&2
	fi
}
variant_list checksums --checksums "$CSUMS" none,crc32c,sha256 none "checksum mode" none crc32c sha256 hmac-sha256
CS_MODES=("${VARIANT_LIST[@]}")
variant_list policies --policies "$POLICIES" bitmap,ppl bitmap "consistency policy" ppl bitmap
POLS=("${VARIANT_LIST[@]}")
# the fill levels of the rebuild at fill levels (like variant_list: --fills
# adds "fill" to --targets, "fill" there without --fills takes the default)
if [ -n "$FILLS" ] && ! want fill; then TARGETS=$TARGETS,fill; fi
FILL_LEVELS=()
if want fill; then
	FILLS=${FILLS:-10,50,100}
	for v in ${FILLS//,/ }; do
		[[ "$v" =~ ^[1-9][0-9]?$|^100$ ]] || die "bad fill level (a percentage 1..100): $v"
		[[ " ${FILL_LEVELS[*]} " == *" $v "* ]] && die "fill level given twice: $v"
		FILL_LEVELS+=("$v")
	done
	[ "${#FILL_LEVELS[@]}" -gt 0 ] || die "--fills: empty list"
fi
BUDGET=$((BUDGET + ${#CS_MODES[@]} * (QUICK ? 60 : 180) + ${#POLS[@]} * (QUICK ? 40 : 120)
	+ ${#FILL_LEVELS[@]} * REPS * (QUICK ? 15 : 45)))

# ---- prerequisites ----
[ "$(id -u)" = 0 ] || die "must run as root (loop devices, mounts, drop_caches)"
[ -c /dev/fuse ] || die "/dev/fuse is missing"
for c in fio losetup mkfs.ext4 python3 fusermount3 dd; do
	command -v "$c" >/dev/null || die "$c is missing"
done
if want btrfs-raid5 || want fill; then
	if ! command -v mkfs.btrfs >/dev/null; then
		log "installing btrfs-progs"
		apt-get install -y btrfs-progs >/dev/null 2>&1 ||
			{ apt-get update >/dev/null 2>&1 && apt-get install -y btrfs-progs >/dev/null 2>&1; } ||
			die "cannot install btrfs-progs"
	fi
	grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null || die "no btrfs in this kernel"
fi
if [ -z "$BUILD" ]; then
	BUILD=$REPO/build
fi
RAID5FS=$BUILD/raid5fs
PASSTHROUGH=$BUILD/r5_passthrough
if [ ! -x "$RAID5FS" ] || [ ! -x "$PASSTHROUGH" ]; then
	log "building raid5fs and r5_passthrough in $BUILD"
	# shellcheck disable=SC2015 # either step failing is fatal
	cmake -S "$REPO" -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j"$(nproc)" --target raid5fs r5_passthrough >/dev/null ||
		die "build failed"
fi
CLK_TCK=$(getconf CLK_TCK)

# ---- resources we own, released by cleanup() in reverse order ----
KMOUNTS=()  # ext4/btrfs mount points
LOOPS=()    # loop devices
R5MNTS=()   # raid5fs mount points
PTMNTS=()   # passthrough mount points
DAEMONS=()  # pids of the FUSE daemons we started
BGPIDS=()   # background jobs (fio load, dd)

drop() { # drop NAME VALUE: removes VALUE from array NAME
	local -n arr=$1
	local out=() x
	for x in "${arr[@]}"; do [ "$x" = "$2" ] || out+=("$x"); done
	arr=("${out[@]}")
}

CLEANED=0
cleanup() {
	local rc=$? i
	[ "$CLEANED" = 1 ] && return
	CLEANED=1
	set +e
	trap - ERR
	[ "$rc" = 0 ] || log "cleaning up (exit status $rc)"
	for i in "${BGPIDS[@]}"; do kill -INT "$i" 2>/dev/null; done
	for i in "${BGPIDS[@]}"; do wait "$i" 2>/dev/null; done
	for ((i = ${#KMOUNTS[@]} - 1; i >= 0; i--)); do
		umount "${KMOUNTS[i]}" 2>/dev/null || umount -l "${KMOUNTS[i]}" 2>/dev/null
	done
	for ((i = ${#LOOPS[@]} - 1; i >= 0; i--)); do losetup -d "${LOOPS[i]}" 2>/dev/null; done
	for i in "${R5MNTS[@]}"; do
		"$RAID5FS" umount "$i" >/dev/null 2>&1 || fusermount3 -u -z "$i" 2>/dev/null
	done
	for i in "${PTMNTS[@]}"; do fusermount3 -u "$i" 2>/dev/null || fusermount3 -u -z "$i" 2>/dev/null; done
	for i in "${DAEMONS[@]}"; do # they exit after the unmount; give them time to flush
		for _ in $(seq 100); do kill -0 "$i" 2>/dev/null || break; sleep 0.2; done
		kill -TERM "$i" 2>/dev/null
	done
	if want btrfs-raid5 || want fill; then btrfs device scan --forget >/dev/null 2>&1; fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR

# ---- helpers ----
[ -e "$WORK" ] && die "$WORK exists (a previous run still mounted or crashed?); remove it first"
mkdir -p "$WORK" "$OUT/raw"
rm -f "$OUT"/raw/* "$OUT/results.tsv"
RESULTS=$OUT/results.tsv
INFO=$OUT/raw/info.tsv # key <TAB> value for the report
: >"$RESULTS"
: >"$INFO"
info() { printf '%s\t%s\n' "$1" "$2" >>"$INFO"; }
record() { # target loop metric rep value
	printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RESULTS"
}

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
elapsed() { python3 -c "print(f'{$(now) - $1:.3f}')"; }

fill() { # fill FILE BYTES [SEEK_BYTES]: write real zeros (no holes), keep the rest
	local seek=${3:-0}
	# the data offset follows the parity log and the checksum table: 4 KiB aligned, not 4 MiB
	[ $((seek % 4096)) -eq 0 ] || die "fill: unaligned seek"
	dd if=/dev/zero of="$1" bs=4M seek="$seek" count=$(($2 >> 22)) \
		oflag=direct,seek_bytes conv=notrunc status=none
}

LOOP_DEV=
loop_attach() { # loop_attach FILE dio|buffered -> $LOOP_DEV
	if [ "$2" = dio ]; then
		LOOP_DEV=$(losetup -f --show --direct-io=on "$1")
	else
		LOOP_DEV=$(losetup -f --show "$1")
	fi
	LOOPS+=("$LOOP_DEV")
	local real
	real=$(cat "/sys/block/${LOOP_DEV#/dev/}/loop/dio" 2>/dev/null || echo "?")
	if [ "$2" = dio ] && [ "$real" != 1 ]; then
		log "warning: $LOOP_DEV over $1 did not get direct I/O"
	fi
	info "loop_dio:$1:$2" "$real"
}
loop_detach() { losetup -d "$1"; drop LOOPS "$1"; }

kmount() { # kmount [OPTS] DEV DIR
	mkdir -p "${*: -1}"
	mount "$@"
	KMOUNTS+=("${*: -1}")
}
kumount() { umount "$1"; drop KMOUNTS "$1"; }

mkext4() { mkfs.ext4 -q -F -E nodiscard,lazy_itable_init=0,lazy_journal_init=0 "$1"; }

cpu_ticks() { # utime+stime of a process (all its threads)
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}
vm_hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

r5_status() { cat "$1/.raid5fs/status.json"; }
r5_json() { # r5_json MNT PYEXPR (j = status.json)
	r5_status "$1" | python3 -c "import json,sys; j=json.load(sys.stdin); print($2)"
}
r5_mnt_of() { # r5_mnt_of TARGET -> the raid5fs mount point of TARGET, empty if not raid5fs
	case "$1" in
	raid5fs | raid5fs-degraded) echo "$R5_MNT" ;;
	raid5fs-csum-* | raid5fs-policy-*) echo "$(va_d "$1")/mnt" ;;
	esac
}
R5_CONFIG='" ".join("%s=%s" % (k, j["stripe_cache"][k]) for k in ("size", "strip_size", "workers", "io_workers")) + " chunk=%d checksum=%s" % (j["chunk_size"], j.get("checksum", "-"))'
r5_wait_health() { # r5_wait_health MNT HEALTH
	local i
	for i in $(seq 150); do
		[ "$(r5_json "$1" 'j["health"]')" = "$2" ] && return 0
		sleep 0.1
	done
	die "$1: array did not become $2"
}

# r5_replace MNT SLOT FILE: starts the rebuild, polls status.json every
# 20 ms until the sync is over (replace --wait polls every 500 ms: too coarse
# for a few seconds of rebuild), prints the seconds it took
r5_replace() {
	local t0
	t0=$(now)
	"$RAID5FS" replace "$1" "$2" "$3" >>"$OUT/raw/replace.log" 2>&1 || die "raid5fs replace $2 failed"
	python3 - "$1/.raid5fs/status.json" "$t0" "$2" <<'PYEOF' || die "raid5fs recovery of slot $2 failed"
import json, sys, time
path, t0, slot = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
deadline = time.time() + 600
seen_busy = False
while time.time() < deadline:
    j = json.load(open(path))
    if j["sync"]["action"] == "idle":
        t1 = time.time()
        m = [x for x in j["members"] if x["slot"] == slot][0]
        if m["state"] == "in_sync" and j["health"] == "optimal":
            print("%.3f" % (t1 - t0))
            sys.exit(0)
        if seen_busy or t1 - t0 > 5:  # not started within 5 s, or ended badly
            sys.exit("slot %d is %s, array %s, last result %s"
                     % (slot, m["state"], j["health"], j["sync"].get("last_result")))
    else:
        seen_busy = True
    time.sleep(0.02)
sys.exit("timeout")
PYEOF
}

# fio_json FILE KEY -> number from a fio JSON output (group_reporting: one job)
fio_value() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
j = json.loads(text[text.index("{"):])  # fio may print notes before the JSON
job = j["jobs"][0]
kind, what = sys.argv[2].split(".")
if kind == "rw":  # total of read and write
    print(job["read"][what] + job["write"][what])
else:
    print(job[kind][what])
EOF
}

# run_fio TARGET LOOP TEST REP DIR [PID]: one measured fio job on DIR/bench.dat
run_fio() {
	local target=$1 loop=$2 test=$3 rep=$4 dir=$5 pid=${6:-} out args t0 t1 v r5mnt
	out=$OUT/raw/fio.$target.$loop.$test.$rep.json
	args=(--name="$test" --filename="$dir/bench.dat" --size="$FILE_BYTES" --ioengine=libaio
		--direct=1 --group_reporting --output-format=json --output="$out" --randrepeat=0)
	case "$test" in
	seq_write) args+=(--rw=write --bs=1M --iodepth=8 --numjobs=1 --runtime="$SEQ_CAP" --end_fsync=1) ;;
	seq_read) args+=(--rw=read --bs=1M --iodepth=8 --numjobs=1 --runtime="$SEQ_CAP") ;;
	rand_write) args+=(--rw=randwrite --bs=4k --iodepth=16 --numjobs=2 --time_based
		--runtime="$RUNTIME" --norandommap --end_fsync=1) ;;
	rand_read) args+=(--rw=randread --bs=4k --iodepth=16 --numjobs=2 --time_based
		--runtime="$RUNTIME" --norandommap) ;;
	prepare) args+=(--rw=write --bs=1M --iodepth=8 --numjobs=1 --end_fsync=1) ;;
	*) die "unknown test $test" ;;
	esac
	drop_caches
	r5mnt=$(r5_mnt_of "$target")
	[ -n "$r5mnt" ] && r5_status "$r5mnt" >"$OUT/raw/status.before.json"
	[ -n "$pid" ] && t0=$(cpu_ticks "$pid")
	timeout 300 fio "${args[@]}" >/dev/null || die "fio $test on $target/$loop failed (see $out)"
	[ -n "$pid" ] && t1=$(cpu_ticks "$pid")
	[ "$test" = prepare ] && return 0
	if [ -n "$r5mnt" ]; then # the engine's counters during this job
		r5_status "$r5mnt" >"$OUT/raw/status.after.json"
		python3 - "$OUT/raw/status.before.json" "$OUT/raw/status.after.json" "$out" \
			"$target" "$loop" "$test" "$rep" >>"$OUT/raw/counters.tsv" <<'PYEOF'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
text = open(sys.argv[3]).read()
job = json.loads(text[text.index("{"):])["jobs"][0]
d = {"fio_mib": (job["read"]["io_bytes"] + job["write"]["io_bytes"]) / 2**20}
for sec in ("stripe_cache", "io"):
    for k, v in b[sec].items():
        if k in ("size", "strip_size", "memory_bytes", "workers", "io_workers", "active", "inactive", "handle", "delayed"):
            continue
        d[("img_" if sec == "io" else "") + k] = v - a[sec].get(k, 0)
for k in ("read_bytes", "write_bytes"):  # all members together
    d["members_" + k.replace("_bytes", "_mib")] = (sum(m[k] for m in b["members"])
                                                   - sum(m[k] for m in a["members"])) / 2**20
if sys.argv[4].startswith("raid5fs-policy-"):  # the parity log's counters
    for k, v in (b.get("ppl") or {}).items():
        d["ppl_" + k] = v - (a.get("ppl") or {}).get(k, 0)
print("\t".join(sys.argv[4:8]) + "\t" + json.dumps(d))
PYEOF
	fi
	case "$test" in
	seq_write) v=$(fio_value "$out" write.bw_bytes) ;;
	seq_read) v=$(fio_value "$out" read.bw_bytes) ;;
	rand_write) v=$(fio_value "$out" write.iops) ;;
	rand_read) v=$(fio_value "$out" read.iops) ;;
	esac
	case "$test" in seq_*) v=$(python3 -c "print(round($v / 1e6, 1))") ;; *) v=$(python3 -c "print(round($v))") ;; esac
	record "$target" "$loop" "$test" "$rep" "$v"
	if [ -n "$pid" ] && [ "$test" = seq_write ]; then
		local bytes
		bytes=$(fio_value "$out" write.io_bytes)
		record "$target" "$loop" cpu_s_per_gib "$rep" \
			"$(python3 -c "print(round(($t1 - $t0) / $CLK_TCK / ($bytes / 2**30), 3))")"
	fi
	log "  $target/$loop $test #$rep: $v"
}

record_rss() { # record_rss TARGET PID: peak RSS, and the threads (libfuse keeps one 1 MiB buffer per thread)
	record "$1" - peak_rss_mib 1 "$(python3 -c "print(round($(vm_hwm_kib "$2") / 1024, 1))")"
	record "$1" - threads 1 "$(awk '/^Threads:/ { print $2 }' "/proc/$2/status")"
}

# ---- the machine ----
others() { pgrep -af 'ctest|run-tests|fio' 2>/dev/null | grep -v -e "$PROG" -e pgrep | cut -c1-120 | tr '\n' ';' || true; }
checkpoint() { # load and other jobs at a phase boundary, for the report
	info "load_$1" "$(cut -d' ' -f1-3 /proc/loadavg)"
	info "others_$1" "$(others)"
}
info cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1)"
info cores "$(nproc)"
info mem_gib "$(awk '/MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)"
info kernel "$(uname -r)"
info disk "$(df --output=source,fstype "$WORK" | tail -1 | tr -s ' ') rotational=$(cat /sys/block/"$(basename "$(df --output=source "$WORK" | tail -1)")"/queue/rotational 2>/dev/null || echo '?')"
info fio "$(fio --version)"
info command "$0 $ARGS"
info config "members=$NMEMBERS member_size=$MEMBER_BYTES file_size=$FILE_BYTES reps=$REPS runtime=$RUNTIME quick=$QUICK raid5fs_opts=${R5_OPTS:-default}"
if want checksums; then info checksums "$(IFS=,; echo "${CS_MODES[*]}")"; fi
if want policies; then info policies "$(IFS=,; echo "${POLS[*]}")"; fi
if want fill; then info fills "$(IFS=,; echo "${FILL_LEVELS[*]}")"; info fill_member_size "$MEMBER_SIZE"; fi
checkpoint start
log "work dir $WORK, results in $OUT; targets $TARGETS${CS_MODES[*]:+ (checksums ${CS_MODES[*]})}${POLS[*]:+ (policies ${POLS[*]})}${FILL_LEVELS[*]:+ (fill levels ${FILL_LEVELS[*]})}; $REPS rep(s), member ${MEMBER_SIZE}, test file ${FILE_SIZE}"
[ -z "$(others)" ] || log "note: other jobs are running: $(others)"

# ---- targets ----
# Every target is set up first and stays set up; the measurements then go
# round robin (repetition 1 of every target, then repetition 2, ...) so
# that a slow minute of the shared machine does not fall on one target.
# FUSE targets keep their daemon and ext4; only the loop device in front of
# the image changes (dio or buffered) and ext4 is mounted through it for
# each turn. plain-loop and btrfs stay mounted.
R5_D=$WORK/r5 R5_MNT=$WORK/r5/mnt R5_DATA=$WORK/r5/data R5_PID='' R5_MEMBERS=()
PT_D=$WORK/pt PT_MNT=$WORK/pt/mnt PT_DATA=$WORK/pt/data PT_PID=''
PL_D=$WORK/plain PL_DATA=$WORK/plain/data
# shellcheck disable=SC2034 # BT_DEVS: used by name (btrfs_make DIR MNT BT_DEVS ...)
BT_D=$WORK/btrfs BT_DATA=$WORK/btrfs/data BT_DEVS=() BT_USED=''
BT_DEVID=1 # the btrfs device taken away (devid 1 holds data only; the raid1 metadata went elsewhere)
# variant arrays: one more raid5fs array per checksum mode (raid5fs-csum-MODE)
# and per consistency policy (raid5fs-policy-P), each set up like raid5fs
# with its own members, daemon and ext4 in $WORK/csum-MODE, $WORK/policy-P:
# {m/m0..,mnt,data}
declare -A VA_PID=()
VA_TARGETS=()   # in setup order
R5_CONFIG_SET=0 # raid5fs_config taken (from the first array set up)
va_d() { echo "$WORK/${1#raid5fs-}"; }    # va_d TARGET
va_member() { echo "$(va_d "$1")/m/m$2"; } # va_member TARGET SLOT
va_members() {                             # va_members TARGET -> $VA_MEMBERS
	local i
	VA_MEMBERS=()
	for i in $(seq 0 $((NMEMBERS - 1))); do VA_MEMBERS+=("$(va_member "$1" "$i")"); done
}
cs_key_args() { # cs_key_args MODE -> $CS_KEY (--key-file FILE for hmac-sha256)
	CS_KEY=()
	if [ "$1" = hmac-sha256 ]; then CS_KEY=(--key-file "$WORK/cs-hmac.key"); fi
}

# r5_new_array MNT MEMBER...: a new array of MEMBER_SIZE members, their data
# areas written with zeros (no holes), mounted with R5_OPTS -> $R5_NEW_PID
r5_new_array() {
	local mnt=$1 m off
	shift
	"$RAID5FS" create --size "$MEMBER_SIZE" "$@" >/dev/null
	off=$(($(stat -c %s "$1") - MEMBER_BYTES)) # data offset
	for m in "$@"; do fill "$m" "$MEMBER_BYTES" "$off"; done
	"$RAID5FS" mount ${R5_OPTS:+-o "$R5_OPTS"} "$@" "$mnt" 2>/dev/null
	R5MNTS+=("$mnt")
	R5_NEW_PID=$(r5_json "$mnt" 'j["pid"]')
	DAEMONS+=("$R5_NEW_PID")
}

setup_raid5fs() {
	local i
	mkdir -p "$R5_D/m" "$R5_MNT"
	for i in $(seq 0 $((NMEMBERS - 1))); do R5_MEMBERS+=("$R5_D/m/m$i"); done
	log "raid5fs: create, fill the members' data areas with zeros, mount, mkfs.ext4, write the test file"
	r5_new_array "$R5_MNT" "${R5_MEMBERS[@]}"
	R5_PID=$R5_NEW_PID
	r5_status "$R5_MNT" >"$OUT/raw/status.raid5fs.start.json"
	info raid5fs_stripe_cache_bytes "$(r5_json "$R5_MNT" 'j["stripe_cache"]["memory_bytes"]')"
	info raid5fs_config "$(r5_json "$R5_MNT" "$R5_CONFIG")"
	R5_CONFIG_SET=1
	loop_attach "$R5_MNT/image" dio
	mkext4 "$LOOP_DEV"
	kmount "$LOOP_DEV" "$R5_DATA"
	run_fio raid5fs dio prepare 0 "$R5_DATA"
	kumount "$R5_DATA"
	loop_detach "$LOOP_DEV"
}

# setup_variant TARGET WHAT PYEXPR VALUE: like setup_raid5fs, created with
# the options in $VA_CREATE and mounted with those in $VA_MOUNT (arrays);
# status.json must then say PYEXPR = VALUE (WHAT: for the log)
setup_variant() {
	local target=$1 d mnt m off got
	d=$(va_d "$target") mnt=$(va_d "$target")/mnt
	mkdir -p "$d/m" "$mnt"
	va_members "$target"
	log "$target: $2, fill, mount, mkfs.ext4, write the test file"
	"$RAID5FS" create "${VA_CREATE[@]}" --size "$MEMBER_SIZE" "${VA_MEMBERS[@]}" >/dev/null
	off=$(($(stat -c %s "${VA_MEMBERS[0]}") - MEMBER_BYTES)) # data offset (the table's size depends on the mode)
	for m in "${VA_MEMBERS[@]}"; do fill "$m" "$MEMBER_BYTES" "$off"; done
	"$RAID5FS" mount "${VA_MOUNT[@]}" "${VA_MEMBERS[@]}" "$mnt" 2>/dev/null
	R5MNTS+=("$mnt")
	VA_PID[$target]=$(r5_json "$mnt" 'j["pid"]')
	DAEMONS+=("${VA_PID[$target]}")
	VA_TARGETS+=("$target")
	got=$(r5_json "$mnt" "$3")
	[ "$got" = "$4" ] || die "$target: status.json says $3 = $got, not $4"
	r5_status "$mnt" >"$OUT/raw/status.$target.start.json"
	info "${target}_data_offset" "$off"
	if [ "$R5_CONFIG_SET" = 0 ]; then
		info raid5fs_config "$(r5_json "$mnt" "$R5_CONFIG")"
		R5_CONFIG_SET=1
	fi
	loop_attach "$mnt/image" dio
	mkext4 "$LOOP_DEV"
	kmount "$LOOP_DEV" "$d/data"
	run_fio "$target" dio prepare 0 "$d/data"
	kumount "$d/data"
	loop_detach "$LOOP_DEV"
}

setup_csum() { # setup_csum MODE: created with --checksum MODE
	cs_key_args "$1"
	if [ "$1" = hmac-sha256 ] && [ ! -e "$WORK/cs-hmac.key" ]; then
		(umask 077 && head -c 32 /dev/urandom >"$WORK/cs-hmac.key")
	fi
	VA_CREATE=(--checksum "$1" "${CS_KEY[@]}")
	# shellcheck disable=SC2206 # "-o OPTS" or nothing: split on purpose
	VA_MOUNT=("${CS_KEY[@]}" ${R5_OPTS:+-o "$R5_OPTS"})
	setup_variant "raid5fs-csum-$1" "create --checksum $1" 'j.get("checksum")' "$1"
}

setup_policy() { # setup_policy P: mounted with -o consistency_policy=P (after --raid5fs-opts: it wins)
	VA_CREATE=()
	# shellcheck disable=SC2206 # "-o OPTS" or nothing: split on purpose
	VA_MOUNT=(${R5_OPTS:+-o "$R5_OPTS"} -o "consistency_policy=$1")
	setup_variant "raid5fs-policy-$1" "mount -o consistency_policy=$1" 'j.get("consistency_policy")' "$1"
}

setup_passthrough() {
	mkdir -p "$PT_MNT"
	log "passthrough: fill the backing file, mount, mkfs.ext4, write the test file"
	fill "$PT_D/backing" "$IMAGE_BYTES"
	"$PASSTHROUGH" -p "$PT_D/pid" "$PT_D/backing" "$PT_MNT"
	PTMNTS+=("$PT_MNT")
	PT_PID=$(cat "$PT_D/pid")
	DAEMONS+=("$PT_PID")
	loop_attach "$PT_MNT/image" dio
	mkext4 "$LOOP_DEV"
	kmount "$LOOP_DEV" "$PT_DATA"
	run_fio passthrough dio prepare 0 "$PT_DATA"
	kumount "$PT_DATA"
	loop_detach "$LOOP_DEV"
}

setup_plain() {
	mkdir -p "$PL_D"
	log "plain-loop: fill the backing file, mkfs.ext4, write the test file"
	fill "$PL_D/backing" "$IMAGE_BYTES"
	loop_attach "$PL_D/backing" dio
	mkext4 "$LOOP_DEV"
	kmount "$LOOP_DEV" "$PL_DATA"
	run_fio plain-loop dio prepare 0 "$PL_DATA"
}

# btrfs_make DIR MNT DEVS: DIR/d1..dN (N = 4) written with zeros, each behind
# a dio loop device (DEVS: the name of the array that gets them, devid i at
# index i-1), mkfs.btrfs -d raid5 -m raid1 over them, mounted at MNT
btrfs_make() {
	local dir=$1 mnt=$2 i
	local -n devs=$3
	mkdir -p "$dir"
	devs=()
	for i in $(seq 1 "$NMEMBERS"); do
		fill "$dir/d$i" "$MEMBER_BYTES"
		loop_attach "$dir/d$i" dio
		devs+=("$LOOP_DEV")
	done
	mkfs.btrfs -q -f -K -d raid5 -m raid1 "${devs[@]}" >/dev/null 2>&1
	# nodiscard: like the ext4 mounts (btrfs turns on async discard by default)
	kmount -o nodiscard "${devs[0]}" "$mnt"
}

setup_btrfs() {
	log "btrfs-raid5: fill the members, mkfs.btrfs -d raid5 -m raid1, write the test file"
	btrfs_make "$BT_D" "$BT_DATA" BT_DEVS
	run_fio btrfs-raid5 dio prepare 0 "$BT_DATA"
}

# with_target TARGET LOOP FUNC ARGS...: runs FUNC ARGS... DATA_DIR with the
# target's ext4 (or btrfs) mounted at DATA_DIR behind the right loop device
with_target() {
	local target=$1 loop=$2 fn=$3 image='' data
	shift 3
	case "$target" in
	raid5fs | raid5fs-degraded) image=$R5_MNT/image data=$R5_DATA ;;
	passthrough) image=$PT_MNT/image data=$PT_DATA ;;
	plain-loop) data=$PL_DATA ;;
	btrfs-raid5 | btrfs-raid5-degraded) data=$BT_DATA ;;
	raid5fs-csum-* | raid5fs-policy-*) image=$(r5_mnt_of "$target")/image data=$(va_d "$target")/data ;;
	esac
	if [ -n "$image" ]; then
		loop_attach "$image" "$loop"
		kmount "$LOOP_DEV" "$data"
	fi
	"$fn" "$@" "$data"
	if [ -n "$image" ]; then
		kumount "$data"
		loop_detach "$LOOP_DEV"
	fi
}
tests_of() { # tests_of TARGET -> the fio jobs of the healthy suite on TARGET
	case "$1" in
	raid5fs-policy-*) echo seq_write rand_write ;; # the log only acts on writes
	*) echo seq_write seq_read rand_write rand_read ;;
	esac
}
suite_once() { # suite_once TARGET LOOP REP PID DATA
	local test
	for test in $(tests_of "$1"); do
		run_fio "$1" "$2" "$test" "$3" "$5" "$4"
	done
}
reads_once() { # reads_once TARGET LOOP REP DATA
	local test
	for test in seq_read rand_read; do
		run_fio "$1" "$2" "$test" "$3" "$4"
	done
}

degrade_raid5fs() { # the member file disappears while the array is mounted
	rm -f "${R5_MEMBERS[FAIL_SLOT]}"
	r5_wait_health "$R5_MNT" degraded
}

# btrfs_degrade DIR MNT DEVS DEVID: take device DEVID of the btrfs made by
# btrfs_make DIR MNT DEVS away: unmount, detach, delete DIR/dDEVID, mount
# -o degraded (DEVS gets '' at DEVID's index)
btrfs_degrade() {
	local dir=$1 mnt=$2 devid=$4 i rest=()
	local -n gone_devs=$3
	kumount "$mnt"
	loop_detach "${gone_devs[devid - 1]}"
	gone_devs[devid - 1]=''
	rm -f "$dir/d$devid"
	for i in "${!gone_devs[@]}"; do [ "$i" = $((devid - 1)) ] || rest+=("${gone_devs[i]}"); done
	btrfs device scan --forget >/dev/null 2>&1 || true
	btrfs device scan "${rest[@]}" >/dev/null
	kmount -o degraded,nodiscard "${rest[0]}" "$mnt"
}
degrade_btrfs() { # take device BT_DEVID away
	BT_USED=$(btrfs_dev_used "$BT_DATA" "$BT_DEVID")
	btrfs_degrade "$BT_D" "$BT_DATA" BT_DEVS "$BT_DEVID"
}
btrfs_dev_used() { # btrfs_dev_used MNT DEVID -> bytes allocated on that device
	btrfs filesystem show --raw "$1" | awk -v id="$2" '$1 == "devid" && $2 == id { print $6 }'
}

# raw rate of the survivors: the remaining raid5fs member files read in parallel
survivors_read() { # survivors_read REP
	local m pids=() total=0 secs t0
	drop_caches
	t0=$(now)
	for m in "${R5_MEMBERS[@]}"; do
		[ -e "$m" ] || continue
		dd if="$m" of=/dev/null bs=1M status=none &
		pids+=($!)
		total=$((total + $(stat -c %s "$m")))
	done
	BGPIDS+=("${pids[@]}")
	wait "${pids[@]}"
	for m in "${pids[@]}"; do drop BGPIDS "$m"; done
	secs=$(elapsed "$t0")
	record survivors-raw - member_read_MBps "$1" "$(python3 -c "print(round($total / ${#pids[@]} / $secs / 1e6, 1))")"
	record survivors-raw - parallel_read_MBps "$1" "$(python3 -c "print(round($total / $secs / 1e6, 1))")"
	log "  survivors raw read #$1: $total bytes in ${secs}s"
}

recover_raid5fs_idle() { # recover_raid5fs_idle REP (ext4 not mounted: no I/O at all)
	local secs inuse
	drop_caches
	secs=$(r5_replace "$R5_MNT" "$FAIL_SLOT" "${R5_MEMBERS[FAIL_SLOT]}")
	record raid5fs - recovery_idle_MBps "$1" "$(python3 -c "print(round($MEMBER_BYTES / $secs / 1e6, 1))")"
	# per byte the member holds (the in-use map's units; unused ones cost
	# next to nothing), as btrfs replace is counted per byte allocated
	inuse=$(r5_json "$R5_MNT" 'j["in_use"]["bytes_in_use"]')
	record raid5fs - recovery_inuse_MBps "$1" "$(python3 -c "print(round($inuse / $secs / 1e6, 1))")"
	log "  raid5fs recovery idle #$1: ${secs}s for $MEMBER_SIZE ($inuse bytes in use)"
}

recover_variant_idle() { # recover_variant_idle TARGET REP: as recover_raid5fs_idle, a member deleted first
	local target=$1 mnt member secs
	mnt=$(r5_mnt_of "$target")
	member=$(va_member "$target" "$FAIL_SLOT")
	rm -f "$member"
	r5_wait_health "$mnt" degraded
	drop_caches
	secs=$(r5_replace "$mnt" "$FAIL_SLOT" "$member")
	record "$target" - recovery_idle_MBps "$2" "$(python3 -c "print(round($MEMBER_BYTES / $secs / 1e6, 1))")"
	log "  $target recovery idle #$2: ${secs}s for $MEMBER_SIZE"
}

# btrfs_replace DIR MNT DEVS DEVID: "btrfs replace" of the missing device
# DEVID (btrfs_degrade) onto a new dio loop device over a new sparse
# DIR/dDEVID (in DEVS at DEVID's index), caches dropped first, idle
# -> $BT_SECS, the seconds it took; returns 1 when the replace fails
BT_SECS=
btrfs_replace() {
	local dir=$1 mnt=$2 devid=$4 t0
	local -n new_devs=$3
	truncate -s "$MEMBER_BYTES" "$dir/d$devid"
	loop_attach "$dir/d$devid" dio
	# shellcheck disable=SC2034 # a nameref: sets the caller's array
	new_devs[devid - 1]=$LOOP_DEV
	drop_caches
	t0=$(now)
	timeout 600 btrfs replace start -B -K "$devid" "$LOOP_DEV" "$mnt" >>"$OUT/raw/replace.log" 2>&1 || return 1
	BT_SECS=$(elapsed "$t0")
}

recover_btrfs() { # recover_btrfs REP: btrfs replace of the missing device (idle)
	local secs
	if ! btrfs_replace "$BT_D" "$BT_DATA" BT_DEVS "$BT_DEVID"; then
		log "  btrfs replace #$1 failed (see $OUT/raw/replace.log and dmesg)"
		return 1
	fi
	secs=$BT_SECS
	record btrfs-raid5 - replace_MBps "$1" "$(python3 -c "print(round($BT_USED / $secs / 1e6, 1))")"
	record btrfs-raid5 - replace_written_MBps "$1" \
		"$(python3 -c "print(round($(stat -c %b "$BT_D/d$BT_DEVID") * 512 / $secs / 1e6, 1))")"
	log "  btrfs replace #$1: ${secs}s for $BT_USED bytes allocated on device $BT_DEVID"
}

recover_raid5fs_load() { # recover_raid5fs_load REP DATA: rebuild while fio randrw runs on the ext4
	local out fiopid secs
	drop_caches
	out=$OUT/raw/fio.raid5fs.dio.recovery_load.$1.json
	fio --name=load --filename="$2/bench.dat" --size="$FILE_BYTES" --ioengine=libaio --direct=1 \
		--rw=randrw --rwmixread=70 --bs=4k --iodepth=16 --numjobs=2 --group_reporting \
		--time_based --runtime=600 --norandommap --output-format=json --output="$out" >/dev/null &
	fiopid=$!
	BGPIDS+=("$fiopid")
	sleep 1
	secs=$(r5_replace "$R5_MNT" "$FAIL_SLOT" "${R5_MEMBERS[FAIL_SLOT]}")
	kill -INT "$fiopid"
	wait "$fiopid" || true
	drop BGPIDS "$fiopid"
	record raid5fs - recovery_load_MBps "$1" "$(python3 -c "print(round($MEMBER_BYTES / $secs / 1e6, 1))")"
	record raid5fs - recovery_load_fio_iops "$1" "$(python3 -c "print(round($(fio_value "$out" rw.iops)))")"
	log "  raid5fs recovery under load #$1: ${secs}s for $MEMBER_SIZE"
}

# ---- rebuild at fill levels (--fills) ----
# Each array or filesystem is made for one measurement and removed after it
# (on failure: by cleanup(), it is in KMOUNTS, LOOPS, R5MNTS, DAEMONS).
FILL_FILES=4          # the data goes into this many files
FILL_BT_DEVID=$NMEMBERS # btrfs: device 4 goes (raid5fs: slot FAIL_SLOT = 3, the 4th member)
FILL_BT_DEVS=() FILL_BT_FAILED=0
fill_bytes() { # fill_bytes DIR PERCENT -> PERCENT (at most 98) of DIR's free space (df), in bytes, a multiple of 4 MiB
	local avail
	avail=$(df -B1 --output=avail "$1" | tail -1 | tr -d ' ')
	python3 -c "print(int($avail * min($2, 98) / 100) >> 22 << 22)"
}
fill_write() { # fill_write DIR BYTES NAME: BYTES of incompressible data in FILL_FILES files in DIR
	local out=$OUT/raw/fio.$3.json
	timeout 900 fio --name=fill --directory="$1" --filename_format="fill.\$filenum" --nrfiles="$FILL_FILES" \
		--file_service_type=sequential --size="$2" --rw=write --bs=1M --ioengine=libaio --iodepth=8 \
		--direct=1 --end_fsync=1 --fallocate=none --output-format=json --output="$out" >/dev/null ||
		die "fio writing $2 bytes for $3 failed (see $out)"
	sync
}
mib_of() { python3 -c "print(round($1 / 2**20, 1))"; } # mib_of BYTES -> MiB, 1 decimal
alloc_bytes() { echo $(($(stat -c %b "$1") * 512)); } # alloc_bytes FILE -> bytes allocated on disk
loops_read_bytes() { # loops_read_bytes DEV...: bytes read from these block devices since attached ('' skipped)
	local d total=0
	for d in "$@"; do
		[ -n "$d" ] && total=$((total + $(awk '{ print $3 }' "/sys/block/${d#/dev/}/stat") * 512))
	done
	echo "$total"
}
r5_stop() { # r5_stop MNT PID: unmount an array mounted here, wait until its daemon exits
	local i
	"$RAID5FS" umount "$1" >/dev/null
	drop R5MNTS "$1"
	for i in $(seq 150); do kill -0 "$2" 2>/dev/null || break; sleep 0.2; done
	if kill -0 "$2" 2>/dev/null; then die "raid5fs daemon $2 still runs after umount $1"; fi
	drop DAEMONS "$2"
}

# fill_raid5fs P REP: a new array, mkfs.ext4 (defaults: it discards), P% of
# its free space written, member FAIL_SLOT failed and rebuilt onto a new
# file -> $FILL_BYTES (the data written)
fill_raid5fs() {
	local p=$1 rep=$2 t=raid5fs-fill-$1 d=$WORK/fill-r5 mnt data members=() i pid secs new v
	mnt=$d/mnt data=$d/data new=$d/m/m$FAIL_SLOT.new
	mkdir -p "$d/m" "$mnt"
	for i in $(seq 0 $((NMEMBERS - 1))); do members+=("$d/m/m$i"); done
	r5_new_array "$mnt" "${members[@]}"
	pid=$R5_NEW_PID
	if [ "$R5_CONFIG_SET" = 0 ]; then
		info raid5fs_config "$(r5_json "$mnt" "$R5_CONFIG")"
		R5_CONFIG_SET=1
	fi
	"$RAID5FS" speed "$mnt" --max 2000M >/dev/null
	loop_attach "$mnt/image" dio
	mkfs.ext4 -q -F "$LOOP_DEV" # its defaults: discards the whole image first
	kmount "$LOOP_DEV" "$data"
	FILL_BYTES=$(fill_bytes "$data" "$p")
	fill_write "$data" "$FILL_BYTES" "$t.$rep"
	kumount "$data"
	loop_detach "$LOOP_DEV"
	"$RAID5FS" fail "$mnt" "$FAIL_SLOT" >/dev/null
	r5_wait_health "$mnt" degraded
	drop_caches
	r5_status "$mnt" >"$OUT/raw/status.$t.$rep.before.json"
	secs=$(r5_replace "$mnt" "$FAIL_SLOT" "$new")
	r5_status "$mnt" >"$OUT/raw/status.$t.$rep.after.json"
	# survivors' reads during the rebuild (all slots but the new one), units in use (per member)
	v=$(python3 - "$OUT/raw/status.$t.$rep.before.json" "$OUT/raw/status.$t.$rep.after.json" "$FAIL_SLOT" <<'PYEOF'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
before = {m["slot"]: m["read_bytes"] for m in a["members"]}
rd = sum(m["read_bytes"] - before[m["slot"]] for m in b["members"] if m["slot"] != int(sys.argv[3]))
print(round(rd / 2**20, 1), round(a["in_use"]["bytes_in_use"] / 2**20, 1))
PYEOF
	)
	record "$t" - rebuild_s "$rep" "$secs"
	record "$t" - data_mib "$rep" "$(mib_of "$FILL_BYTES")"
	record "$t" - in_use_mib "$rep" "${v#* }"
	record "$t" - new_member_mib "$rep" "$(mib_of "$(alloc_bytes "$new")")"
	record "$t" - survivor_read_mib "$rep" "${v% *}"
	log "  $t #$rep: ${secs}s, $(mib_of "$FILL_BYTES") MiB written, in use ${v#* } MiB/member, read ${v% *} MiB"
	r5_stop "$mnt" "$pid"
	rm -rf "$d"
}

# fill_btrfs P REP BYTES: a new btrfs raid5, BYTES written (at most 98% of
# its free space), device FILL_BT_DEVID taken away and replaced
fill_btrfs() {
	local p=$1 rep=$2 t=btrfs-fill-$1 d=$WORK/fill-btrfs mnt bytes alloc surv rd0 i log0
	mnt=$d/data
	btrfs_make "$d" "$mnt" FILL_BT_DEVS
	bytes=$(fill_bytes "$mnt" 100)
	[ "$bytes" -le "$3" ] || bytes=$3
	fill_write "$mnt" "$bytes" "$t.$rep"
	alloc=$(btrfs_dev_used "$mnt" "$FILL_BT_DEVID")
	btrfs_degrade "$d" "$mnt" FILL_BT_DEVS "$FILL_BT_DEVID"
	surv=("${FILL_BT_DEVS[@]}")
	rd0=$(loops_read_bytes "${surv[@]}")
	record "$t" - data_mib "$rep" "$(mib_of "$bytes")"
	record "$t" - alloc_mib "$rep" "$(mib_of "$alloc")"
	log0=0 # the replace's lines of replace.log come after these
	if [ -e "$OUT/raw/replace.log" ]; then log0=$(wc -l <"$OUT/raw/replace.log"); fi
	if btrfs_replace "$d" "$mnt" FILL_BT_DEVS "$FILL_BT_DEVID"; then
		record "$t" - rebuild_s "$rep" "$BT_SECS"
		record "$t" - new_member_mib "$rep" "$(mib_of "$(alloc_bytes "$d/d$FILL_BT_DEVID")")"
		record "$t" - survivor_read_mib "$rep" "$(mib_of $(($(loops_read_bytes "${surv[@]}") - rd0)))"
		log "  $t #$rep: ${BT_SECS}s, $(mib_of "$bytes") MiB written, $(mib_of "$alloc") MiB allocated on device $FILL_BT_DEVID"
	else
		# e.g. ENOSPC when every device is fully allocated: the scrub under
		# the replace cannot make a block group read-only
		FILL_BT_FAILED=$((FILL_BT_FAILED + 1))
		record "$t" - replace_failed "$rep" 1
		info "fill_btrfs_error:$p:$rep" "$(tail -n +$((log0 + 1)) "$OUT/raw/replace.log" | grep ERROR | tail -1 || true)"
		log "  $t #$rep: btrfs replace failed after writing $(mib_of "$bytes") MiB (see $OUT/raw/replace.log and dmesg)"
		btrfs replace cancel "$mnt" >/dev/null 2>&1 || true
	fi
	kumount "$mnt"
	for i in "${FILL_BT_DEVS[@]}"; do [ -z "$i" ] || loop_detach "$i"; done
	FILL_BT_DEVS=()
	btrfs device scan --forget >/dev/null 2>&1 || true
	rm -rf "$d"
}

START=$SECONDS
HEALTHY=() DEGRADED=()
if want raid5fs; then
	setup_raid5fs
	HEALTHY+=("raid5fs dio" "raid5fs buffered")
	DEGRADED+=("raid5fs-degraded dio" "raid5fs-degraded buffered")
fi
if want passthrough; then
	setup_passthrough
	HEALTHY+=("passthrough dio" "passthrough buffered")
fi
if want plain-loop; then
	setup_plain
	HEALTHY+=("plain-loop dio")
fi
if want btrfs-raid5; then
	setup_btrfs
	HEALTHY+=("btrfs-raid5 dio")
	DEGRADED+=("btrfs-raid5-degraded dio")
fi
if want checksums; then
	for mode in "${CS_MODES[@]}"; do
		setup_csum "$mode"
		HEALTHY+=("raid5fs-csum-$mode dio")
	done
fi
if want policies; then
	for p in "${POLS[@]}"; do
		setup_policy "$p"
		HEALTHY+=("raid5fs-policy-$p dio")
	done
fi
checkpoint setup

# healthy: the four jobs on every target, round robin
for rep in $(seq "$REPS"); do
	[ "${#HEALTHY[@]}" -gt 0 ] || break # "--targets fill": nothing here
	log "healthy, repetition $rep of $REPS"
	for tl in "${HEALTHY[@]}"; do
		# shellcheck disable=SC2086 # "TARGET LOOP": split on purpose
		set -- $tl
		pid=
		[ "$1" = raid5fs ] && pid=$R5_PID
		[ "$1" = passthrough ] && pid=$PT_PID
		pid=${VA_PID[$1]:-$pid}
		with_target "$1" "$2" suite_once "$1" "$2" "$rep" "$pid"
	done
done
if want raid5fs; then r5_status "$R5_MNT" >"$OUT/raw/status.raid5fs.healthy.json"; fi
checkpoint healthy

# degraded: one member file deleted (raid5fs: while mounted), the read jobs
if want raid5fs; then degrade_raid5fs; fi
if want btrfs-raid5; then degrade_btrfs; fi
for rep in $(seq "$REPS"); do
	[ "${#DEGRADED[@]}" -gt 0 ] || break
	log "degraded, repetition $rep of $REPS"
	for tl in "${DEGRADED[@]}"; do
		# shellcheck disable=SC2086 # "TARGET LOOP": split on purpose
		set -- $tl
		with_target "$1" "$2" reads_once "$1" "$2" "$rep"
	done
done
if want raid5fs; then r5_status "$R5_MNT" >"$OUT/raw/status.raid5fs.degraded.json"; fi
checkpoint degraded

# recovery, idle: survivors' raw read, raid5fs rebuild, btrfs replace, round robin
if want raid5fs; then "$RAID5FS" speed "$R5_MNT" --max 2000M >/dev/null; fi
if want checksums; then
	for mode in "${CS_MODES[@]}"; do
		"$RAID5FS" speed "$(r5_mnt_of "raid5fs-csum-$mode")" --max 2000M >/dev/null
	done
fi
BT_OK=1
for rep in $(seq "$REPS"); do
	want raid5fs || want btrfs-raid5 || want checksums || break
	log "recovery, repetition $rep of $REPS"
	if want raid5fs; then
		[ "$rep" = 1 ] || degrade_raid5fs
		survivors_read "$rep"
		recover_raid5fs_idle "$rep"
	fi
	if want btrfs-raid5 && [ "$BT_OK" = 1 ]; then
		[ "$rep" = 1 ] || degrade_btrfs
		recover_btrfs "$rep" || BT_OK=0
	fi
	if want checksums; then
		for mode in "${CS_MODES[@]}"; do recover_variant_idle "raid5fs-csum-$mode" "$rep"; done
	fi
done
if want raid5fs; then r5_status "$R5_MNT" >"$OUT/raw/status.raid5fs.recovery.json"; fi

# recovery under load. Speed min = max = 2000M: with md's default minimum
# (1000K/s) the rebuild would step aside and take the whole run.
if want raid5fs; then
	"$RAID5FS" speed "$R5_MNT" --min 2000M --max 2000M >/dev/null
	load_reps=$(((REPS + 1) / 2))
	for rep in $(seq "$load_reps"); do
		log "recovery under load, repetition $rep of $load_reps"
		degrade_raid5fs
		with_target raid5fs dio recover_raid5fs_load "$rep"
	done
	r5_status "$R5_MNT" >"$OUT/raw/status.raid5fs.end.json"
	record_rss raid5fs "$R5_PID"
fi
if want passthrough; then record_rss passthrough "$PT_PID"; fi
for t in "${VA_TARGETS[@]}"; do
	r5_status "$(r5_mnt_of "$t")" >"$OUT/raw/status.$t.end.json"
	record_rss "$t" "${VA_PID[$t]}"
done

# rebuild at fill levels: every level (raid5fs, then btrfs with the same
# data) in repetition 1, then in repetition 2, ...
if want fill; then
	for rep in $(seq "$REPS"); do
		log "rebuild at fill levels, repetition $rep of $REPS"
		for p in "${FILL_LEVELS[@]}"; do
			fill_raid5fs "$p" "$rep"
			fill_btrfs "$p" "$rep" "$FILL_BYTES"
		done
	done
	info fill_btrfs_failed "$FILL_BT_FAILED"
fi
checkpoint end
info elapsed_s "$((SECONDS - START))"
[ "$((SECONDS - START))" -le "$BUDGET" ] || log "warning: took $((SECONDS - START)) s, over the ${BUDGET} s budget"

# ---- the table and bench.json ----
python3 - "$RESULTS" "$INFO" "$OUT" <<'EOF'
import json, statistics, sys, os
from collections import defaultdict

results, infofile, out = sys.argv[1:4]
info = {}
for line in open(infofile):
    k, _, v = line.rstrip("\n").partition("\t")
    info[k] = v
vals = defaultdict(list)
for line in open(results):
    target, loop, metric, rep, v = line.rstrip("\n").split("\t")
    vals[(metric, target, loop)].append(float(v))

def med(metric, target, loop):
    v = vals.get((metric, target, loop))
    return statistics.median(v) if v else None

UNITS = {"seq_write": "MB/s", "seq_read": "MB/s", "rand_write": "IOPS", "rand_read": "IOPS",
         "recovery_idle_MBps": "MB/s", "recovery_inuse_MBps": "MB/s", "recovery_load_MBps": "MB/s", "recovery_load_fio_iops": "IOPS",
         "member_read_MBps": "MB/s", "parallel_read_MBps": "MB/s", "replace_MBps": "MB/s",
         "replace_written_MBps": "MB/s", "cpu_s_per_gib": "s/GiB", "peak_rss_mib": "MiB", "threads": "",
         "rebuild_s": "s", "data_mib": "MiB", "in_use_mib": "MiB", "alloc_mib": "MiB", "new_member_mib": "MiB",
         "survivor_read_mib": "MiB", "replace_failed": ""}
LABEL = {"seq_write": "seq write 1M", "seq_read": "seq read 1M", "rand_write": "rand write 4k",
         "rand_read": "rand read 4k", "recovery_idle_MBps": "recovery idle",
         "recovery_inuse_MBps": "recovery idle, in use",
         "recovery_load_MBps": "recovery + fio load", "recovery_load_fio_iops": "fio randrw during recovery",
         "member_read_MBps": "raw read / member", "parallel_read_MBps": "raw read, 3 in parallel",
         "replace_MBps": "btrfs replace (alloc.)", "replace_written_MBps": "btrfs replace (written)",
         "cpu_s_per_gib": "daemon CPU / GiB written", "peak_rss_mib": "daemon peak RSS",
         "threads": "daemon threads at the end", "rebuild_s": "rebuild at fill level",
         "data_mib": "data written (fill)", "in_use_mib": "in use per member (fill)",
         "alloc_mib": "allocated on device (fill)", "new_member_mib": "new member on disk (fill)",
         "survivor_read_mib": "read from survivors (fill)", "replace_failed": "btrfs replace failed (fill)"}
CS_MODES = [m for m in info.get("checksums", "").split(",") if m]
CS = ["raid5fs-csum-" + m for m in CS_MODES]
POLS = [p for p in info.get("policies", "").split(",") if p]
PO = ["raid5fs-policy-" + p for p in POLS]
FILLS = [int(p) for p in info.get("fills", "").split(",") if p]
FT = [f"{k}-fill-{p}" for p in FILLS for k in ("raid5fs", "btrfs")]
TORDER = ["raid5fs", "passthrough", "plain-loop", "btrfs-raid5", "raid5fs-degraded",
          "btrfs-raid5-degraded", "survivors-raw"] + CS + PO + FT
MORDER = list(UNITS)
LORDER = ["dio", "buffered", "-"]

ratios = []  # (name, num, den, goal, kind) kind: ">=", ">" or "<="
def ratio(name, num, den, goal=None, op=">=", section=None):
    a, b = med(*num), med(*den)
    if a is None or b is None or b == 0:
        return
    r = a / b
    met = None if goal is None else (r >= goal if op == ">=" else r > goal if op == ">" else r <= goal)
    ratios.append({"name": name, "value": round(r, 3), "goal": goal, "op": op, "met": met,
                   "num": "/".join(num), "den": "/".join(den)})
    if section:
        ratios[-1]["section"] = section

# issue 12's goals: streaming writes >= 0.85 of the passthrough; degraded
# reads >= 0.70 (dio) / 0.60 (buffered) of healthy sequentially, >= 0.60 of
# healthy and >= 1.0 of btrfs degraded at random
for loop in ("dio", "buffered"):
    for t, g in (("seq_write", 0.85), ("seq_read", 0.9), ("rand_write", 0.5), ("rand_read", 0.85)):
        ratio(f"{t} raid5fs/passthrough ({loop} loop)", (t, "raid5fs", loop), (t, "passthrough", loop), g)
for t, g in (("seq_write", 3.0), ("seq_read", 1.0), ("rand_write", 2.0), ("rand_read", 1.2)):
    ratio(f"{t} raid5fs/btrfs-raid5 (dio loop)", (t, "raid5fs", "dio"), (t, "btrfs-raid5", "dio"), g)
    ratio(f"{t} raid5fs/btrfs-raid5 (raid5fs buffered loop)", (t, "raid5fs", "buffered"), (t, "btrfs-raid5", "dio"))
for t in ("seq_write", "seq_read", "rand_write", "rand_read"):
    ratio(f"{t} raid5fs/plain-loop (dio loop)", (t, "raid5fs", "dio"), (t, "plain-loop", "dio"))
    ratio(f"{t} passthrough/plain-loop (dio loop)", (t, "passthrough", "dio"), (t, "plain-loop", "dio"))
for loop in ("dio", "buffered"):
    ratio(f"seq_read degraded/healthy raid5fs ({loop} loop)", ("seq_read", "raid5fs-degraded", loop),
          ("seq_read", "raid5fs", loop), 0.7 if loop == "dio" else 0.6)
    ratio(f"rand_read degraded/healthy raid5fs ({loop} loop)", ("rand_read", "raid5fs-degraded", loop),
          ("rand_read", "raid5fs", loop), 0.6 if loop == "dio" else None)
ratio("seq_read raid5fs-degraded/btrfs-raid5-degraded (dio loop)", ("seq_read", "raid5fs-degraded", "dio"),
      ("seq_read", "btrfs-raid5-degraded", "dio"), 1.5)
ratio("rand_read raid5fs-degraded/btrfs-raid5-degraded (dio loop)", ("rand_read", "raid5fs-degraded", "dio"),
      ("rand_read", "btrfs-raid5-degraded", "dio"), 1.0)
ratio("recovery idle / raw read per member", ("recovery_idle_MBps", "raid5fs", "-"),
      ("member_read_MBps", "survivors-raw", "-"), 0.7)
ratio("recovery under load / raw read per member", ("recovery_load_MBps", "raid5fs", "-"),
      ("member_read_MBps", "survivors-raw", "-"))
ratio("recovery idle raid5fs / btrfs replace", ("recovery_idle_MBps", "raid5fs", "-"),
      ("replace_MBps", "btrfs-raid5", "-"))
# issue 12's goal: per byte rebuilt (raid5fs: bytes in use; btrfs: allocated)
ratio("recovery idle per byte in use raid5fs / btrfs replace per byte alloc.",
      ("recovery_inuse_MBps", "raid5fs", "-"), ("replace_MBps", "btrfs-raid5", "-"), 1.25)
for loop in ("dio", "buffered"):
    ratio(f"daemon CPU s/GiB written raid5fs/passthrough ({loop} loop)", ("cpu_s_per_gib", "raid5fs", loop),
          ("cpu_s_per_gib", "passthrough", loop), 1.5, "<=")
# variant arrays (one array per checksum mode, per consistency policy), each
# variant against a base variant of the same run, in a section of its own
VARIANTS = []
# checksum modes against none. Goals: crc32c >= 0.95 of none on every figure
# (the four jobs and the rebuild), sha256 >= 0.75 on seq write
if CS_MODES:
    VARIANTS.append({
        "section": "checksums", "doc": "checksum_modes", "names_key": "modes", "option": "--checksums",
        "prefix": "raid5fs-csum-", "names": CS_MODES, "base": "none",
        "figs": [("seq_write", "dio"), ("seq_read", "dio"), ("rand_write", "dio"), ("rand_read", "dio"),
                 ("recovery_idle_MBps", "-"), ("cpu_s_per_gib", "dio"), ("peak_rss_mib", "-")],
        "goals": {("crc32c", "seq_write"): 0.95, ("crc32c", "seq_read"): 0.95, ("crc32c", "rand_write"): 0.95,
                  ("crc32c", "rand_read"): 0.95, ("crc32c", "recovery_idle_MBps"): 0.95,
                  ("sha256", "seq_write"): 0.75},
        "goals_doc": "crc32c >= 0.95 of none on every figure (seq write, seq read, rand write,"
                     " rand read, recovery idle), sha256 >= 0.75 of none on seq write",
        "goals_line": "crc32c >= 0.95 of none on every figure (the four jobs and the recovery),"
                      " sha256 >= 0.75 of none on seq write",
        "title": "Checksum modes (raid5fs-csum-MODE: create --checksum MODE, dio loop; medians,"
                 " in brackets MODE/none of this run):"})
# consistency policies: ppl against bitmap. Goals (issue 10): at most 10% slower
# on seq write, 15% on rand write 4k (md's PPL: 30-40%)
if POLS:
    VARIANTS.append({
        "section": "policies", "doc": "consistency_policies", "names_key": "policies", "option": "--policies",
        "prefix": "raid5fs-policy-", "names": POLS, "base": "bitmap",
        "figs": [("seq_write", "dio"), ("rand_write", "dio"), ("cpu_s_per_gib", "dio"), ("peak_rss_mib", "-")],
        "goals": {("ppl", "seq_write"): 0.90, ("ppl", "rand_write"): 0.85},
        "goals_doc": "ppl >= 0.90 of bitmap on seq write, >= 0.85 on rand write 4k (issue 10; md's PPL: 0.60-0.70)",
        "goals_line": "ppl >= 0.90 of bitmap on seq write, >= 0.85 on rand write 4k (issue 10;"
                      " md's PPL costs 30-40%)",
        "title": "Consistency policies (raid5fs-policy-P: mount -o consistency_policy=P, dio loop;"
                 " medians, in brackets P/bitmap of this run):"})
for va in VARIANTS:
    base, pre = va["base"], va["prefix"]
    if base not in va["names"]:
        continue
    for m in va["names"]:
        if m == base:
            continue
        for metric, loop in va["figs"]:
            ratio(f"{LABEL[metric]} {m}/{base}" + (f" ({loop} loop)" if loop != "-" else ""),
                  (metric, pre + m, loop), (metric, pre + base, loop), va["goals"].get((m, metric)),
                  section=va["section"])
# rebuild at fill levels: btrfs replace seconds / raid5fs rebuild seconds.
# Goal (issue 11): raid5fs faster at every level
for p in FILLS:
    ratio(f"rebuild at {p}% btrfs replace s / raid5fs s", ("rebuild_s", f"btrfs-fill-{p}", "-"),
          ("rebuild_s", f"raid5fs-fill-{p}", "-"), 1.0, ">", section="fill")
pt_rss = med("peak_rss_mib", "passthrough", "-")
if pt_rss is not None and med("peak_rss_mib", "raid5fs", "-") is not None:
    ratios.append({"name": "peak RSS raid5fs - passthrough (MiB; libfuse's buffers are in both)",
                   "value": round(med("peak_rss_mib", "raid5fs", "-") - pt_rss, 1), "goal": None,
                   "op": None, "met": None, "num": "peak_rss_mib/raid5fs", "den": "peak_rss_mib/passthrough"})
cache_mib = int(info.get("raid5fs_stripe_cache_bytes", "0") or 0) / 2**20
rss = med("peak_rss_mib", "raid5fs", "-")
rss_row = None
if rss is not None:
    budget = cache_mib + 64
    rss_row = {"name": f"raid5fs peak RSS (MiB) vs stripe cache {cache_mib:g} MiB + 64 MiB",
               "value": rss, "goal": budget, "op": "<=", "met": rss <= budget}

# main table rows
def fmt(x):
    if x is None:
        return "-"
    return f"{x:.0f}" if abs(x) >= 100 else (f"{x:.1f}" if abs(x) >= 10 else f"{x:.3g}")

rows = []
keys = sorted(vals, key=lambda k: (MORDER.index(k[0].replace("_MBps", "_MBps")) if k[0] in MORDER else 99,
                                   TORDER.index(k[1]) if k[1] in TORDER else 99,
                                   LORDER.index(k[2]) if k[2] in LORDER else 9))
def rel(metric, target, loop):
    """ratio notes for the last column"""
    notes = []
    if target == "raid5fs" and metric in ("seq_write", "seq_read", "rand_write", "rand_read"):
        for den, dl in (("passthrough", loop), ("btrfs-raid5", "dio")):
            b = med(metric, den, dl)
            if b:
                notes.append(f"/{'pt' if den == 'passthrough' else 'btrfs'} {med(metric, target, loop) / b:.2f}")
    if target == "raid5fs-degraded":
        for den, dl, lab in (("raid5fs", loop, "healthy"), ("btrfs-raid5-degraded", "dio", "btrfs-deg")):
            b = med(metric, den, dl)
            if b:
                notes.append(f"/{lab} {med(metric, target, loop) / b:.2f}")
    for va in VARIANTS:
        if target in [va["prefix"] + m for m in va["names"]] and target != va["prefix"] + va["base"]:
            b = med(metric, va["prefix"] + va["base"], loop)
            if b:
                notes.append(f"/{va['base']} {med(metric, target, loop) / b:.2f}")
    if target == "raid5fs" and metric == "cpu_s_per_gib":
        b = med(metric, "passthrough", loop)
        if b:
            notes.append(f"/pt {med(metric, target, loop) / b:.2f}")
    if target == "raid5fs" and metric.startswith("recovery_") and metric.endswith("MBps"):
        b = med("member_read_MBps", "survivors-raw", "-")
        c = med("replace_MBps", "btrfs-raid5", "-")
        if b:
            notes.append(f"/raw-member {med(metric, target, loop) / b:.2f}")
        if c:
            notes.append(f"/btrfs {med(metric, target, loop) / c:.2f}")
    return ", ".join(notes)

for k in keys:
    metric, target, loop = k
    v = vals[k]
    rows.append({"test": LABEL.get(metric, metric), "metric": metric, "unit": UNITS.get(metric, ""),
                 "target": target, "loop": loop, "median": statistics.median(v), "min": min(v),
                 "max": max(v), "n": len(v), "values": v, "ratios": rel(metric, target, loop)})

lines = []
hdr = f"{'test':<27} {'unit':<5} {'target':<24} {'loop':<8} {'median':>8} {'min..max':>17} {'n':>2}  ratios"
lines.append(hdr)
lines.append("-" * len(hdr) + "-" * 30)
prev = None
for r in rows:
    if prev is not None and r["metric"] != prev:
        lines.append("")
    prev = r["metric"]
    lines.append(f"{r['test']:<27} {r['unit']:<5} {r['target']:<24} {r['loop']:<8} {fmt(r['median']):>8} "
                 f"{fmt(r['min']) + '..' + fmt(r['max']):>17} {r['n']:>2}  {r['ratios']}")
lines.append("")
goal_rows = [r for r in ratios if r["goal"] is not None and "section" not in r] + ([rss_row] if rss_row else [])
if goal_rows:
    lines.append("Goals (ratios of medians):")
for r in goal_rows:
    mark = "ok" if r["met"] else "MISS"
    lines.append(f"  {r['name']:<66} {fmt(r['value']):>7}  (goal {r['op']} {r['goal']:g})  {mark}")
others = [r for r in ratios if r["goal"] is None and "section" not in r]
if others:
    lines.append("Other ratios:")
    for r in others:
        lines.append(f"  {r['name']:<66} {fmt(r['value']):>7}")
# the fio jobs' engine counters (raw/counters.tsv): (test, target, loop) -> one dict a repetition
ctr = defaultdict(list)
cpath = os.path.join(out, "raw", "counters.tsv")
if os.path.exists(cpath):
    for line in open(cpath):
        t, l, test, rep, js = line.rstrip("\n").split("\t", 4)
        ctr[(test, t, l)].append(json.loads(js))

def load_status(target, when):
    p = os.path.join(out, "raw", f"status.{target}.{when}.json")
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return None

# variant arrays: each one's medians and its ratio to the base of this run
va_docs = {}
for va in VARIANTS:
    names, base, pre = va["names"], va["base"], va["prefix"]
    vdoc = {va["names_key"]: names, "medians": {}, "vs_" + base: {}, "goals": va["goals_doc"],
            "ratios": [r for r in ratios if r.get("section") == va["section"]]}
    va_docs[va["doc"]] = vdoc
    lines.append("")
    lines.append(va["title"])
    lines.append(f"  {'test':<27} {'unit':<5}" + "".join(f"{m:>17}" for m in names))
    for metric, loop in va["figs"]:
        b = med(metric, pre + base, loop)
        cells = []
        for m in names:
            v = med(metric, pre + m, loop)
            vdoc["medians"].setdefault(m, {})[metric] = v
            if v is not None and b and m != base:
                vdoc["vs_" + base].setdefault(m, {})[metric] = round(v / b, 3)
                cells.append(f"{fmt(v)} ({v / b:.2f})")
            else:
                cells.append(fmt(v))
        if any(c != "-" for c in cells):
            lines.append(f"  {LABEL[metric]:<27} {UNITS[metric]:<5}" + "".join(f"{c:>17}" for c in cells))
    lines.append("  goals: " + va["goals_line"])
    for r in vdoc["ratios"]:
        if r["goal"] is not None:
            mark = "ok" if r["met"] else "MISS"
            lines.append(f"  {r['name']:<66} {fmt(r['value']):>7}  (goal {r['op']} {r['goal']:g})  {mark}")
    if base not in names:
        lines.append(f"  (no '{base}' in {va['option']}: no ratios)")
    if va["section"] != "policies":
        continue
    # the parity log of the ppl array: per fio job (differences of status.json
    # "ppl" around the job, median over repetitions) and its totals at the end
    PK = ["records", "full_records", "groups", "bytes", "half_switches", "switch_syncs", "background_syncs"]
    plog = {}
    for m in names:
        t = pre + m
        jobs = {}
        for test in ("seq_write", "rand_write"):
            reps = ctr.get((test, t, "dio"), [])
            if not reps:
                continue
            per = [{k: x.get("ppl_" + k, 0) for k in PK} for x in reps]
            for x, y in zip(per, reps):
                x["fio_mib"] = y.get("fio_mib", 0)
                x["records_per_group"] = x["records"] / x["groups"] if x["groups"] else None
            jobs[test] = {"median": {k: (statistics.median([x[k] for x in per if x[k] is not None])
                                         if any(x[k] is not None for x in per) else None)
                                     for k in per[0]},
                          "values": per}
        end = load_status(t, "end")
        plog[m] = {"per_job": jobs, "end": (end or {}).get("ppl"),
                   "consistency_policy": (end or {}).get("consistency_policy")}
    vdoc["log"] = plog
    for m in names:
        if m != "ppl":
            e = plog[m]["end"] or {}
            if e.get("records") or e.get("groups"):
                lines.append(f"  (odd: raid5fs-policy-{m} logged {e.get('records')} records)")
            continue
        lines.append(f"  parity log of raid5fs-policy-ppl (status.json \"ppl\"): per job the differences around"
                     " it (median over repetitions), then the totals since mount:")
        cols = [("fio_mib", "fio MiB"), ("records", "records"), ("full_records", "full rec."),
                ("groups", "groups"), ("records_per_group", "rec/group"), ("bytes", "log MiB"),
                ("half_switches", "switches"), ("switch_syncs", "sw.syncs"), ("background_syncs", "bg.syncs")]
        lines.append(f"    {'':<26}" + "".join(f"{c[1]:>10}" for c in cols))
        def cell(k, x):
            if x is None:
                return "-"
            if k == "bytes":
                x = x / 2**20
            if k == "records_per_group":
                return f"{x:.2f}"
            return str(int(x)) if x == int(x) else fmt(x)  # counts: whole unless a median of two
        for test, j in plog[m]["per_job"].items():
            lines.append(f"    {LABEL[test]:<26}" + "".join(f"{cell(k, j['median'].get(k)):>10}" for k, _ in cols))
        e = plog[m]["end"]
        if e:
            e = dict(e, records_per_group=e["records"] / e["groups"] if e.get("groups") else None)
            lines.append(f"    {'total (mkfs, file, jobs)':<26}" + "".join(f"{cell(k, e.get(k)):>10}" for k, _ in cols))
# rebuild at fill levels: medians per level, raid5fs beside btrfs
fill_doc = None
if FILLS:
    fill_doc = {"fills": FILLS, "member_size": info.get("fill_member_size"), "medians": {},
                "goal": "raid5fs rebuild faster than btrfs replace at every fill level (btrfs/raid5fs > 1)",
                "btrfs_failed": int(info.get("fill_btrfs_failed", "0") or 0),
                "ratios": [r for r in ratios if r.get("section") == "fill"]}
    FM = ["rebuild_s", "data_mib", "in_use_mib", "alloc_mib", "new_member_mib", "survivor_read_mib"]
    nreps = max([len(vals.get(("rebuild_s", t, "-"), [])) for t in FT] or [0])
    fill_fails = []
    lines.append("")
    lines.append(f"Rebuild at fill levels (4 x {info.get('fill_member_size')}; medians of {nreps}; fill ="
                 " % of the ext4's free space written as file data, 100 = 98%;")
    lines.append("  raid5fs: fail member 3 + replace onto a new file; btrfs raid5: the same data (at most what"
                 " fits), replace of a missing device 4):")
    lines.append(f"  {'':<23}{'rebuild / replace s':^36}  {'raid5fs MiB':^30}  {'btrfs MiB':^30}")
    lines.append(f"  {'fill %':>6} {'data GiB':>15} {'raid5fs':>11} {'btrfs':>11} {'btrfs/r5fs':>12}  "
                 f"{'in use':>8} {'new memb.':>10} {'read':>10}  {'alloc.':>8} {'new memb.':>10} {'read':>10}")
    for p in FILLS:
        r5, bt = f"raid5fs-fill-{p}", f"btrfs-fill-{p}"
        m = {k: {t: med(k, t, "-") for t in (r5, bt)} for k in FM}
        fill_doc["medians"][str(p)] = {"raid5fs": {k: m[k][r5] for k in FM if m[k][r5] is not None},
                                       "btrfs": {k: m[k][bt] for k in FM if m[k][bt] is not None}}
        d5, db = m["data_mib"][r5], m["data_mib"][bt]
        data = "-" if d5 is None else f"{d5 / 1024:.2f}"
        if db is not None and (d5 is None or abs(db - d5) > 0.005 * d5):
            data += f" ({'btrfs ' if d5 is None else 'bt '}{db / 1024:.2f})"
        rs, bs = m["rebuild_s"][r5], m["rebuild_s"][bt]
        ratio_s = fmt(round(bs / rs, 3)) if rs and bs is not None else "-"  # as in the goal lines
        nfail = len(vals.get(("replace_failed", bt, "-"), []))
        errs = sorted({v for k, v in info.items() if k.startswith(f"fill_btrfs_error:{p}:")})
        if nfail:
            fill_doc["medians"][str(p)]["btrfs"]["replace_failed"] = nfail
            fill_doc["medians"][str(p)]["btrfs"]["errors"] = errs
            why = "ENOSPC" if any("No space left" in e for e in errs) else "failed"
            bs_cell = f"{why} {nfail}/{nfail + len(vals.get(('rebuild_s', bt, '-'), []))}"
            if bs is not None:
                bs_cell = f"{fmt(bs)} ({bs_cell})"
            fill_fails.append(f"  {p}%: btrfs replace failed in {nfail} of"
                              f" {nfail + len(vals.get(('rebuild_s', bt, '-'), []))} repetition(s): " + "; ".join(errs))
        else:
            bs_cell = fmt(bs)
        lines.append(f"  {p:>6} {data:>15} {fmt(rs):>11} {bs_cell:>11} {ratio_s:>12}  "
                     f"{fmt(m['in_use_mib'][r5]):>8} {fmt(m['new_member_mib'][r5]):>10} "
                     f"{fmt(m['survivor_read_mib'][r5]):>10}  {fmt(m['alloc_mib'][bt]):>8} "
                     f"{fmt(m['new_member_mib'][bt]):>10} {fmt(m['survivor_read_mib'][bt]):>10}")
    lines.append("  in use: the array's in-use map (status.json, per member); alloc.: btrfs chunks on device 4"
                 " before it went; new memb.: the new member file's allocated size; read: from the 3 survivors"
                 " during the rebuild")
    lines.append("  goal (issue 11): raid5fs rebuild faster than btrfs replace at every fill level (btrfs/r5fs > 1)")
    for p in FILLS:
        name = f"rebuild at {p}% btrfs replace s / raid5fs s"
        r = [x for x in fill_doc["ratios"] if x["name"] == name]
        if r:
            r = r[0]
            lines.append(f"  {name:<66} {fmt(r['value']):>7}  (goal {r['op']} {r['goal']:g})  {'ok' if r['met'] else 'MISS'}")
        else:
            why = "btrfs replace failed" if vals.get(("replace_failed", f"btrfs-fill-{p}", "-")) else "no time of both"
            lines.append(f"  {name:<66} {'-':>7}  ({why})")
    lines.extend(fill_fails)
lines.append("")
lines.append("loop: dio = losetup --direct-io=on, buffered = default loop device (mount -o loop); "
             "pt = passthrough")
lines.append(f"machine: {info.get('cpu')}, {info.get('cores')} cores, {info.get('mem_gib')} GiB, "
             f"kernel {info.get('kernel')}, disk {info.get('disk')}")
lines.append(f"raid5fs: {info.get('raid5fs_config', '?')}; {info.get('config')}; elapsed {info.get('elapsed_s')} s")
cps = [c for c in ("start", "setup", "healthy", "degraded", "end") if "load_" + c in info]
lines.append("load average at start, after setup, healthy, degraded, end: "
             + " | ".join(info["load_" + c] for c in cps))
seen = [f"{c}: {info['others_' + c]}" for c in cps if info.get("others_" + c)]
lines.append("other jobs (ctest/run-tests/fio) seen: " + ("; ".join(seen) if seen else "none"))
# raid5fs counters per phase: differences between the status.json snapshots
# taken at the phase boundaries
counters = {}
PHASES = [("start", None), ("healthy", "healthy suites"), ("degraded", "degraded reads"),
          ("recovery", "recovery idle"), ("end", "recovery + load")]
snaps = {}
for name, _ in PHASES:
    p = os.path.join(out, "raw", f"status.raid5fs.{name}.json")
    if os.path.exists(p):
        try:
            snaps[name] = json.load(open(p))
        except ValueError:
            pass
prev = None
for name, label in PHASES:
    if name not in snaps:
        continue
    cur = snaps[name]
    if prev is not None:
        d = {"phase": label}
        for sec in ("stripe_cache", "io"):
            a, b = prev.get(sec) or {}, cur.get(sec) or {}
            d[sec] = {k: b[k] - a.get(k, 0) for k in b
                      if isinstance(b[k], (int, float)) and k not in
                      ("size", "strip_size", "memory_bytes", "workers", "io_workers", "active", "inactive",
                       "handle", "delayed")}
        counters[name] = d
    prev = cur
if counters:
    lines.append("")
    lines.append("raid5fs counters per phase (differences of status.json; healthy includes mkfs and the"
                 " first write of the test file):")
    keys_sc = ["hits", "misses", "waits", "rmw", "rcw", "delayed_total", "prereads", "writebacks", "computes"]
    keys_io = ["reads", "writes", "flushes", "bypass_reads"]
    lines.append(f"  {'phase':<17}" + "".join(f"{k[:9]:>10}" for k in keys_sc + keys_io))
    for name, d in counters.items():
        lines.append(f"  {d['phase']:<17}" +
                     "".join(f"{d['stripe_cache'].get(k, 0):>10}" for k in keys_sc) +
                     "".join(f"{d['io'].get(k, 0):>10}" for k in keys_io))
per_job = []
if ctr:
    ck = ["fio_mib", "members_read_mib", "members_write_mib", "hits", "misses", "waits", "rmw", "rcw",
          "delayed_total", "prereads", "writebacks", "computes", "img_reads", "img_writes", "img_flushes",
          "img_bypass_reads"]
    short = {"members_read_mib": "memb.rdMiB", "members_write_mib": "memb.wrMiB", "delayed_total": "delayed",
             "img_bypass_reads": "img.bypass"}
    lines.append("")
    lines.append("raid5fs engine counters per fio job (status.json differences, median over repetitions;"
                 " memb. = all members, img. = the 'io' counters):")
    lines.append(f"  {'job':<41}" + "".join(f"{short.get(k, k.replace('img_', 'img.'))[:10]:>11}" for k in ck))
    order = ["seq_write", "seq_read", "rand_write", "rand_read"]
    for key in sorted(ctr, key=lambda k: (order.index(k[0]) if k[0] in order else 9,
                                          TORDER.index(k[1]) if k[1] in TORDER else 99, k[1], k[2])):
        test, t, l = key
        m = {k: statistics.median([x.get(k, 0) for x in ctr[key]]) for k in ck}
        per_job.append({"test": test, "target": t, "loop": l, "median": m, "values": ctr[key]})
        lines.append(f"  {test + ' ' + t + ' ' + l:<41}" + "".join(f"{m[k]:>11.0f}" for k in ck))
text = "\n".join(lines)
print(text)
open(os.path.join(out, "bench.txt"), "w").write(text + "\n")
loops = {k.split(":", 1)[1]: v for k, v in info.items() if k.startswith("loop_dio:")}
doc = {"info": {k: v for k, v in info.items() if not k.startswith("loop_dio:")},
       "loop_dio_actual": loops, "results": rows, "ratios": ratios, "rss": rss_row,
       "raid5fs_counters": counters, "raid5fs_counters_per_job": per_job}
doc.update(va_docs)
if fill_doc:
    doc["fill_levels"] = fill_doc
json.dump(doc, open(os.path.join(out, "bench.json"), "w"), indent=1)
print(f"\nwritten: {os.path.join(out, 'bench.json')}, {os.path.join(out, 'bench.txt')}")
EOF
