#!/bin/bash
# t_install.sh BUILD-DIR VERSION: what `cmake --install` puts in place, as a
# user would find it: `raid5fs --version`, the man page raid5fs(8) holding
# every line of the command's own help (overview and each command), and the
# bash completion. Installs into a temporary prefix, removed at exit.
set -euo pipefail
build=$1
version=$2
tmp=$(mktemp -d /tmp/r5_install.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
fail() { echo "t_install: FAIL: $*" >&2; exit 1; }

timeout 120 cmake --install "$build" --prefix "$tmp" >/dev/null || fail "cmake --install failed"
bin=$tmp/bin/raid5fs
page=$tmp/share/man/man8/raid5fs.8
comp=$tmp/share/bash-completion/completions/raid5fs
for f in "$bin" "$page" "$comp"; do [[ -e $f ]] || fail "$f not installed"; done

# --version: the project's version and the on-disk format, one line
out=$("$bin" --version)
[[ $out =~ ^raid5fs\ $version\ \(on-disk\ format\ [0-9]+\)$ ]] || fail "--version printed '$out'"
[[ $("$bin" -V) == "$out" ]] || fail "-V differs from --version"
rc=0
"$bin" --versions >/dev/null 2>"$tmp/err" || rc=$?
[[ $rc -eq 2 && $(wc -l <"$tmp/err") -eq 1 ]] || fail "--versions: exit $rc, $(cat "$tmp/err")"

# the man page renders without warnings and holds every help line
if command -v man >/dev/null; then
	MANWIDTH=200 LC_ALL=C.UTF-8 man --warnings -l "$page" >"$tmp/page.txt" 2>"$tmp/man.err" ||
		fail "man -l failed: $(cat "$tmp/man.err")"
	[[ ! -s $tmp/man.err ]] || fail "man warns: $(head -3 "$tmp/man.err")"
else
	echo "t_install: man missing (package man-db): reading the page's source instead" >&2
	sed -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/^\\&//' "$page" >"$tmp/page.txt"
fi
squeeze() { tr -s ' \t' ' ' | sed -e 's/^ //' -e 's/ $//'; }
squeeze <"$tmp/page.txt" >"$tmp/page.sq"
check_help() { # check_help WHAT ARGS...: every line of `raid5fs ARGS` is in the page
	local what=$1 line n=0
	shift
	while IFS= read -r line; do
		line=$(squeeze <<<"$line")
		[[ -z $line ]] && continue
		grep -qF -- "$line" "$tmp/page.sq" || fail "$what: '$line' is not in raid5fs(8)"
		n=$((n + 1))
	done < <("$bin" "$@")
	[[ $n -gt 2 ]] || fail "$what: no help text"
}
check_help "raid5fs --help" --help
cmds=$("$bin" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p' | grep -v '^help$')
[[ $(wc -w <<<"$cmds") -ge 10 ]] || fail "too few commands found in --help: $cmds"
for c in $cmds; do
	check_help "raid5fs $c --help" "$c" --help
	grep -q "^\.SS $c\$" "$page" || fail "no section for $c in raid5fs(8)"
done

# the completion offers commands and a command's long options
PATH=$tmp/bin:$PATH
# shellcheck source=/dev/null
source "$comp"
COMP_WORDS=(raid5fs mo) COMP_CWORD=1
_raid5fs
[[ " ${COMPREPLY[*]} " == *" mount "* ]] || fail "completion of 'mo': ${COMPREPLY[*]}"
COMP_WORDS=(raid5fs mount --fo) COMP_CWORD=2
_raid5fs
[[ " ${COMPREPLY[*]} " == *" --force "* && " ${COMPREPLY[*]} " == *" --foreground "* ]] ||
	fail "completion of 'mount --fo': ${COMPREPLY[*]}"
echo "t_install: ok: raid5fs $version, $(wc -w <<<"$cmds") commands in raid5fs(8), completion"
