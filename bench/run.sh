#!/usr/bin/env bash
# Side-by-side benchmark of ovlshim (see bench/README.md).
#
#   OVL_BUILD=/abs/build bench/run.sh       (what `make bench` runs)
#
# Builds a 3-layer tree of about 20,000 entries, then measures in one run
#   find MERGED -ls   bench/walk (lstat + open/close)   true x1000
# on (1) the merged content copied to one ordinary directory (native),
# (2) a kernel overlay mount of the layers (root only), and (3) the layers
# under the shim, inside ovlrun. Medians of OVL_BENCH_RUNS runs (default 5).
# Prints a table; makes no pass/fail judgement on the times.
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=$(cd "${OVL_BUILD:-$here/../build}" && pwd)
RUNS=${OVL_BENCH_RUNS:-5}
SPAWNS=${OVL_BENCH_SPAWNS:-1000}
export OVL_BENCH_SPAWNS=$SPAWNS
CC=${CC:-cc}

work=$(mktemp -d "${TMPDIR:-/tmp}/ovlshim-bench.XXXXXX")
kmerged=$work/kernel-merged
cleanup() {
	if mountpoint -q "$kmerged" 2>/dev/null; then umount "$kmerged" || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

# --- the programs ------------------------------------------------------------------
mkdir "$work/bin"
for p in walk spawn; do
	$CC -O2 -std=gnu11 -Wall -Wextra -Werror -o "$work/bin/$p" "$here/$p.c"
done

# --- the tree ----------------------------------------------------------------------
# bottom: d00..d19/s0..s9/f000..f049                      10,000 files
# middle: overrides f000..f009, adds g000..g019 in each s*;
#         adds m00..m04/s0..s9/f000..f039                  8,000 files (2,000 override)
# upper:  overrides f010..f014, adds h000..h019 in each s*  5,000 files (1,000 override)
#         whiteouts: f020..f029 in d00/s0..s4 (50 files) and the directory m04
# native: the merged result, built by copying the layers bottom-up and
#         deleting what the whiteouts hide.
echo "bench: building the layers in $work ..."
bottom=$work/bottom mid=$work/middle upper=$work/upper native=$work/native

files() { # files ROOT DIRPATTERN PREFIX FROM TO TAG
	local root=$1 tag=$6 d f
	for d in $2; do
		mkdir -p "$root/$d"
		for ((f = $4; f <= $5; f++)); do
			printf -v name '%s%03d' "$3" "$f"
			printf '%s %s/%s\n' "$tag" "$d" "$name" >"$root/$d/$name"
		done
	done
}
dirs=$(echo d{00..19}/s{0..9})
files "$bottom" "$dirs" f 0 49 bottom
files "$mid" "$dirs" f 0 9 middle
files "$mid" "$dirs" g 0 19 middle
files "$mid" "$(echo m{00..04}/s{0..9})" f 0 39 middle
files "$upper" "$dirs" f 10 14 upper
files "$upper" "$dirs" h 0 19 upper

mkdir "$native"
for l in "$bottom" "$mid" "$upper"; do cp -a "$l/." "$native/"; done

whiteout_kind=chardev
whiteout() { # whiteout PATH-in-the-merged-tree
	if [ "$whiteout_kind" = chardev ] && mknod "$upper/$1" c 0 0 2>/dev/null; then
		:
	else # an OCI whiteout; the kernel cannot read those
		whiteout_kind=oci
		touch "$upper/$(dirname "$1")/.wh.$(basename "$1")"
	fi
	rm -rf "${native:?}/$1"
}
nwh=0
for d in d00/s{0..4}; do
	for f in f02{0..9}; do
		whiteout "$d/$f"
		nwh=$((nwh + 1))
	done
done
whiteout m04
mkdir -p "$work/work-kernel" "$work/work-shim" "$work/shim-merged" "$kmerged"

nentries=$(find "$native" -mindepth 1 | wc -l)
nbottom=$(find "$bottom" -type f | wc -l)
nmid=$(find "$mid" -type f | wc -l)
nupper=$(find "$upper" -type f | wc -l)

# --- the setups ----------------------------------------------------------------------
declare -A R    # R[setup.key] = value
notes=()

collect() { # collect SETUP COMMAND...: run measure.sh through COMMAND
	local setup=$1 out rc=0
	shift
	echo "bench: measuring $setup ..."
	out=$("$@" 2>"$work/$setup.err") || rc=$?
	while read -r k v; do
		[ -n "$k" ] && R[$setup.$k]=$v
	done <<<"$out"
	if [ "$rc" != 0 ]; then
		notes+=("$setup: exited with status $rc: $(head -c 300 "$work/$setup.err" | tr '\n' ' ')")
	fi
}

setups=(native)
collect native bash "$here/measure.sh" "$native" "$work/bin" "$RUNS"

if [ "$(id -u)" != 0 ]; then
	notes+=("kernel overlay: skipped (mounting needs root)")
elif [ "$whiteout_kind" != chardev ]; then
	notes+=("kernel overlay: skipped (could not make char-device whiteouts)")
elif ! err=$(mount -t overlay overlay \
	-o "lowerdir=$mid:$bottom,upperdir=$upper,workdir=$work/work-kernel" "$kmerged" 2>&1); then
	notes+=("kernel overlay: skipped (mount failed: $err)")
else
	setups+=(kernel)
	collect kernel bash "$here/measure.sh" "$kmerged" "$work/bin" "$RUNS"
	umount "$kmerged"
fi

setups+=(shim)
if [ -x "$BUILD/ovlrun" ] && [ -r "$BUILD/libovlshim.so" ]; then
	collect shim "$BUILD/ovlrun" \
		-o "lowerdir=$mid:$bottom,upperdir=$upper,workdir=$work/work-shim" "$work/shim-merged" \
		-- bash "$here/measure.sh" "$work/shim-merged" "$work/bin" "$RUNS"
else
	notes+=("shim: skipped (no ovlrun and libovlshim.so in $BUILD; run make)")
fi

# --- the table -------------------------------------------------------------------------
declare -A title=([native]="native" [kernel]="kernel overlay" [shim]="shim (ovlrun)")
declare -A what=([find]="find MERGED -ls" [walk]="walk: lstat+open" [spawn]="true x$SPAWNS")

if [ "${OVL_BENCH_HYPERFINE:-1}" != 0 ] && command -v hyperfine >/dev/null; then
	timer="$(hyperfine --version), median of $RUNS runs after 1 warm-up"
else
	timer="bash \$EPOCHREALTIME around fork+exec, median of $RUNS runs after 1 warm-up"
fi

cell() { # cell SETUP KEY: "12.3 ms (1.52x)"
	local v=${R[$1.$2]:-} n=${R[native.$2]:-}
	case $v in
	'') printf 'n/a' ;;
	fail*) printf 'failed (%s)' "${v#fail }" ;;
	*) awk -v v="$v" -v n="$n" -v native="$([ "$1" = native ] && echo 1)" 'BEGIN {
		printf "%.1f ms", v * 1000
		if (!native && n + 0 > 0) printf " (%.2fx)", v / n }' ;;
	esac
}

echo
echo "ovlshim bench: $nentries entries in the merged view; layers: bottom $nbottom files,"
echo "  middle $nmid, upper $nupper; $nwh file whiteouts and 1 directory whiteout ($whiteout_kind)"
echo "timer: $timer"
echo
row() { # row FIRST CELL...: fixed-width columns, no trailing blanks
	local line
	line=$(printf '%-20s' "$1")
	shift
	for c in "$@"; do line+=$(printf '%-24s' "$c"); done
	echo "${line%"${line##*[! ]}"}"
}
heads=()
for s in "${setups[@]}"; do heads+=("${title[$s]}"); done
row "" "${heads[@]}"
for k in find walk spawn; do
	cells=()
	for s in "${setups[@]}"; do cells+=("$(cell "$s" "$k")"); done
	row "${what[$k]}" "${cells[@]}"
done
echo "(ratios are to native)"
echo
for s in "${setups[@]}"; do
	[ -n "${R[$s.walk_counts]:-}" ] && printf '%-16s walk saw %s\n' "${title[$s]}:" "${R[$s.walk_counts]}"
done
for s in "${setups[@]}"; do
	[ "$s" = native ] && continue
	if [ -z "${R[$s.tree]:-}" ]; then
		continue
	elif [ "${R[$s.tree]}" = "${R[native.tree]:-}" ]; then
		echo "${title[$s]}: tree (names, types, contents) matches native"
	else
		echo "WARNING: ${title[$s]}: the tree differs from native; its times are not comparable"
	fi
done
for n in "${notes[@]}"; do echo "note: $n"; done
