#!/usr/bin/env bash
# glibc's fts and nftw walk with internal calls the preload cannot see; the shim rebuilds
# them for trees in an overlay. Their reports (type, level, path, size; fts in a fixed
# order, nftw sorted since it follows readdir order) must equal glibc's own walk of a
# kernel overlay of the same layers: whiteouts, a merged dir, a symlink, FTS_SKIP.
source "$(dirname "$0")/../lib/lib.sh"
ovl_scratch
if ! ovl_shim_available; then
	ovl_skip walkers "library not built"
	ovl_summary
	exit
fi
T=$OVL_T
gcc -O1 -o "$T/walkers" "$(dirname "$0")/helpers/walkers.c" || {
	ovl_fail walkers/build
	ovl_summary
	exit 1
}
layers() {
	rm -rf "$T/l"
	mkdir -p "$T/l"/{l1,l2,u,w} "$T/l/l1/a/b" "$T/l/l2/a/c" "$T/l/l2/skipme/x" "$T/l/u/a"
	echo 1 >"$T/l/l1/a/b/f"
	echo 22 >"$T/l/l2/a/c/g"
	echo 333 >"$T/l/u/a/h"
	echo x >"$T/l/l2/gone"
	mknod "$T/l/u/gone" c 0 0
	ln -s a "$T/l/l2/sl"
	ln -s nowhere "$T/l/l1/dangling"
}
M=$T/m
mkdir -p "$M"
runs=("fts 16" "fts 20" "fts 17" "fts 18" "nftw 1" "nftw 0" "nftw 8")
layers
if ovl_is_root && mount -t overlay overlay -o "lowerdir=$T/l/l1:$T/l/l2,upperdir=$T/l/u,workdir=$T/l/w" "$M" 2>/dev/null; then
	for r in "${runs[@]}"; do
		set -- $r
		"$T/walkers" "$M" "$1" "$2" >"$T/k.$1.$2" 2>&1
	done
	umount "$M"
	layers
	for r in "${runs[@]}"; do
		set -- $r
		"$OVL_OVLRUN" -o "lowerdir=$T/l/l1:$T/l/l2,upperdir=$T/l/u,workdir=$T/l/w" "$M" -- \
			"$T/walkers" "$M" "$1" "$2" >"$T/s.$1.$2" 2>&1
		if [ "$1" = nftw ]; then
			sort -o "$T/k.$1.$2" "$T/k.$1.$2"
			sort -o "$T/s.$1.$2" "$T/s.$1.$2"
		fi
		ovl_diffout "walkers/$1/$2" "$T/k.$1.$2" "$T/s.$1.$2" kernel shim
	done
else
	ovl_skip walkers "no kernel overlay mount to compare with"
fi
ovl_summary
