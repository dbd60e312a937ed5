#!/bin/bash
# run-tests.sh - build raid5fs with warnings as errors and run every test.
#
#   sudo tools/run-tests.sh [--no-deps] [--sanitize] [--build-dir DIR] [-- CTEST-ARGS...]
#
# 1. installs missing packages (tools/deps.sh) unless --no-deps;
# 2. configures DIR (default build/) with -DR5_WERROR=ON, builds with -j2;
# 3. ctest --output-on-failure -j1: unit tests, then the integration tests
#    (these need root, /dev/fuse and loop devices; without them they are
#    reported as skipped);
# 4. with --sanitize, a second build in DIR-asan with
#    -DR5_SANITIZE=address,undefined that runs the unit tests (ctest -L unit),
#    a third in DIR-tsan (-DR5_SANITIZE=thread) that runs the engine
#    stress program, and a clang build in DIR-fuzz that fuzzes the
#    superblock parser for 30 s.
# Extra arguments after -- go to the first ctest (e.g. -- -L integration).
# Exit status: 0 if everything passed.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$src/build
deps=1
sanitize=0
jobs=${R5_JOBS:-2}
ctest_args=()
while (($#)); do
	case $1 in
	--no-deps) deps=0 ;;
	--sanitize) sanitize=1 ;;
	--build-dir) build=$(realpath -m -- "$2"); shift ;;
	--) shift; ctest_args=("$@"); break ;;
	-h | --help) sed -n '2,15p' "$0"; exit 0 ;;
	*) echo "run-tests.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

step() { printf '\n=== %s\n' "$*"; }

if [[ $deps -eq 1 ]]; then
	step "dependencies"
	if [[ $(id -u) -eq 0 ]]; then
		"$src/tools/deps.sh" --install
	else
		"$src/tools/deps.sh" --check || echo "(not root: continuing; the build may fail)"
	fi
fi
[[ $(id -u) -eq 0 ]] || echo "note: not root: the integration tests will be skipped"

rc=0
step "build ($build)"
cmake -S "$src" -B "$build" -DR5_WERROR=ON
cmake --build "$build" -j"$jobs"
step "tests"
ctest --test-dir "$build" --output-on-failure -j1 "${ctest_args[@]}" || rc=1

if [[ $sanitize -eq 1 ]]; then
	step "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer ($build-asan)"
	# Same build type as the main build (RelWithDebInfo: -O2 -g), so that the
	# same warnings apply and the tests run at a useful speed.
	cmake -S "$src" -B "$build-asan" -DR5_WERROR=ON -DR5_SANITIZE=address,undefined
	cmake --build "$build-asan" -j"$jobs"
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
		LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$src/tools/lsan.supp:print_suppressions=0} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
		ctest --test-dir "$build-asan" -L unit --output-on-failure -j1 || rc=1

	# Criterion cannot start under ThreadSanitizer (its shared arena), so the
	# engine's threads are checked with the stress program alone.
	step "engine stress under ThreadSanitizer ($build-tsan)"
	cmake -S "$src" -B "$build-tsan" -DR5_WERROR=ON -DR5_SANITIZE=thread
	cmake --build "$build-tsan" -j"$jobs" --target r5_stress
	TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
		"$build-tsan/tests/r5_stress" 1500 || rc=1
	# the same with one member returning damaged bytes: the heal paths
	TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
		"$build-tsan/tests/r5_stress" 1500 corrupt || rc=1
	# and with a member missing: reads rebuilt beside the cache, under writes
	TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
		"$build-tsan/tests/r5_stress" 1500 degraded || rc=1
	# and with whole rows written around the cache beside pieces through it
	TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1} \
		"$build-tsan/tests/r5_stress" 1500 rows || rc=1

	# The superblock parser under libFuzzer for 30 s, seeded with a real
	# superblock; a crash leaves its input in $build-fuzz/crash-*.
	step "superblock parser under libFuzzer ($build-fuzz)"
	cmake -S "$src" -B "$build-fuzz" -DR5_WERROR=ON -DR5_FUZZ=ON -DCMAKE_C_COMPILER=clang \
		-DR5_SANITIZE=address,undefined
	cmake --build "$build-fuzz" -j"$jobs" --target fuzz_superblock raid5fs
	corpus=$build-fuzz/corpus
	rm -rf "$corpus" "$build-fuzz/seed-members"
	mkdir -p "$corpus" "$build-fuzz/seed-members"
	"$build-fuzz/raid5fs" create --size 4M "$build-fuzz"/seed-members/m{0,1,2} >/dev/null
	head -c 4096 "$build-fuzz/seed-members/m0" >"$corpus/seed"
	(cd "$build-fuzz" && ASAN_OPTIONS=detect_leaks=0 ./tests/fuzz_superblock -max_total_time=30 \
		-max_len=4097 "$corpus") >"$build-fuzz/fuzz.log" 2>&1 || {
		tail -n 30 "$build-fuzz/fuzz.log"
		rc=1
	}
	tail -n 1 "$build-fuzz/fuzz.log"
fi

if [[ $rc -eq 0 ]]; then step "all tests passed"; else step "SOME TESTS FAILED"; fi
exit $rc
