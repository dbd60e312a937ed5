#!/bin/bash
# t_layers.sh - the layering rules of docs/architecture.md, checked on the
# source tree: a file of core/ may include only headers of its own layer or
# of the layers below it; fuse/ and tools/ only public headers; no source
# file in core/ or fuse/ is over 600 lines. (The build already refuses an
# include of a higher layer's folder; this also covers include/raid5fs/,
# which every layer sees.) Prints every violation; exit 1 if any.
set -euo pipefail
src=${R5_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$src"

layers=(util geometry backend metadata members log stripe sync array fuse)
rank() { # layer name -> its height
	local i
	for i in "${!layers[@]}"; do [[ ${layers[$i]} == "$1" ]] && { echo "$i"; return; }; done
	echo -1
}
# the layer a header belongs to: its folder, or for the public headers the
# layer that implements them
header_layer() {
	case $1 in
	raid5fs/util.h | raid5fs/log.h | raid5fs/events.h) echo util ;;
	raid5fs/layout.h | raid5fs/parity.h) echo geometry ;;
	raid5fs/member.h) echo backend ;;
	raid5fs/superblock.h | raid5fs/checksum.h | raid5fs/ppl.h) echo metadata ;;
	raid5fs/array.h) echo array ;;
	raid5fs/frontend.h) echo fuse ;;
	*)
		local f
		f=$(find core fuse -name "$(basename "$1")" -print -quit)
		[[ -n $f ]] || { echo none; return; }
		f=${f#core/}
		echo "${f%%/*}" | sed 's/^fuse.*/fuse/'
		;;
	esac
}

bad=0
while IFS= read -r file; do
	case $file in
	core/*) own=${file#core/}; own=${own%%/*} ;;
	fuse/*) own=fuse ;;
	esac
	mine=$(rank "$own")
	while IFS= read -r inc; do
		hl=$(header_layer "$inc")
		[[ $hl == none ]] && continue
		if (($(rank "$hl") > mine)); then
			echo "$file: includes $inc of layer '$hl', above '$own'"
			bad=1
		fi
	done < <(sed -n 's/^#include "\(.*\)".*/\1/p' "$file")
done < <(find core fuse -name '*.[ch]' | sort)

while read -r n file; do
	[[ $file == total ]] && continue
	if ((n > 600)); then
		echo "$file: $n lines (split it by concern: at most 600)"
		bad=1
	fi
done < <(find core fuse -name '*.c' -exec wc -l {} +)

if ((bad)); then
	echo "t_layers: FAILED"
	exit 1
fi
echo "t_layers: ok ($(find core fuse -name '*.[ch]' | wc -l) files)"
