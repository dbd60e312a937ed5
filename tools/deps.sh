#!/bin/bash
# deps.sh - the Debian/Ubuntu packages raid5fs needs to build, test and demo.
# One list, used by .ci/run, tools/run-tests.sh and tools/demo.sh.
#
#   tools/deps.sh --list      print the package names, one line
#   tools/deps.sh --check     print the missing ones; exit 1 if any
#   tools/deps.sh --install   apt-get install the missing ones (needs root)
set -euo pipefail

R5_DEPS=(
	build-essential cmake pkg-config # toolchain
	libfuse3-dev fuse3               # FUSE library, fusermount3
	libisal-dev                      # isa-l: xor_gen
	libssl-dev                       # OpenSSL EVP: superblock SHA-256
	libcriterion-dev                 # unit tests
	clang libclang-rt-14-dev         # libFuzzer build of the superblock fuzz target
	fio e2fsprogs jq                 # integration tests: fio verify, mkfs.ext4, e2fsck; status.json
	man-db                           # structure.install renders raid5fs(8) (man -l)
	kmod util-linux mount            # modprobe; mountpoint; losetup, mount
	coreutils diffutils findutils    # timeout, sha256sum, cmp, xargs
)

r5_deps_missing() {
	local p
	if ! command -v dpkg-query >/dev/null; then
		echo "deps.sh: not a Debian-like system; install the equivalents of: ${R5_DEPS[*]}" >&2
		return 0
	fi
	for p in "${R5_DEPS[@]}"; do
		dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' || echo "$p"
	done
}

case ${1:---list} in
--list)
	echo "${R5_DEPS[*]}"
	;;
--check)
	missing=$(r5_deps_missing)
	if [[ -n $missing ]]; then
		# shellcheck disable=SC2086 # one line, words split on purpose
		echo "missing packages:" $missing
		exit 1
	fi
	;;
--install)
	missing=$(r5_deps_missing)
	[[ -z $missing ]] && exit 0
	if [[ $(id -u) -ne 0 ]]; then
		# shellcheck disable=SC2086
		echo "deps.sh: missing packages:" $missing "- run as root (sudo) to install them" >&2
		exit 1
	fi
	# shellcheck disable=SC2086
	echo "deps.sh: installing:" $missing >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	# shellcheck disable=SC2086
	apt-get install -y --no-install-recommends $missing
	;;
*)
	echo "usage: tools/deps.sh [--list|--check|--install]" >&2
	exit 2
	;;
esac
