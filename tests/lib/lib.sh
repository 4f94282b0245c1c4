# shellcheck shell=bash
# ovlshim test harness.  Every suite does:   source "$(dirname "$0")/../lib/lib.sh"
#
# Environment:
#   OVL_BUILD      where libovlshim.so and ovlrun live      (default: <repo>/build)
#   OVL_KEEP=1     keep the scratch dir (its path is printed at exit)
#   OVL_FORMATS    fixture formats the differential suites run (default: kernel user oci mixed;
#                  as non-root: user oci, since trusted.* markers need root)
#   OVL_RUNNER     how the shim side runs a command: ovlrun (default when ovlrun exists and
#                  keeps an existing LD_PRELOAD or none is needed) | preload (LD_PRELOAD +
#                  OVL_CONF written by the harness) | kernel (self-test: the "shim" side is a
#                  second kernel mount, so every comparison must pass) | none (negative
#                  self-test: the command runs with no overlay, so the comparisons must fail)
#   OVL_SANITIZE=1 the library was built with ASan/UBSan: libasan is preloaded first
#   OVL_SHIM_OPTS  extra options given to the shim's overlay line (default: the same pinned
#                  options the kernel mount gets)
#   OVL_TIMEOUT    seconds per command run on either side (default 60)
#   OVL_VERBOSE=1  print the command of every check
#   OVL_AS_NOBODY=1  (as root) checks run as uid/gid 65534 on both sides: the kernel side
#                  through the root-made mount, the shim side as `setpriv ... CMD` under the
#                  shim (ovlrun: ovlrun is started by root and the command drops privileges)
#
# Comparison model: the kernel overlay is mounted at $M (a path under the scratch dir), the
# scenario runs, the mount goes away, and the same scenario runs under the shim with MERGED set
# to the very same path string, on a fresh `cp -a` copy of the same fixture. Outputs can
# therefore be compared byte for byte, paths included, after the documented normalisations.

[ -n "${OVL_LIB_SH:-}" ] && return 0
OVL_LIB_SH=1

OVL_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OVL_REPO=$(cd "$OVL_LIB_DIR/../.." && pwd)
OVL_BUILD=${OVL_BUILD:-$OVL_REPO/build}
OVL_TOOL="python3 $OVL_LIB_DIR/ovltool.py"
if [ "$(id -u)" = 0 ]; then
	OVL_FORMATS=${OVL_FORMATS:-kernel user oci mixed}
else # trusted.* markers need root
	OVL_FORMATS=${OVL_FORMATS:-user oci}
fi
OVL_TIMEOUT=${OVL_TIMEOUT:-60}
OVL_PINNED_DEFAULT="redirect_dir=off,index=off,metacopy=off,xino=off"
OVL_PINNED_USER="userxattr,index=off,metacopy=off,xino=off"
export LC_ALL=C TZ=UTC

OVL_NPASS=0 OVL_NFAIL=0 OVL_NSKIP=0
OVL_MOUNTS=()
OVL_CLEANUPS=()
OVL_TEST_NAME=$(basename "${0%.sh}")

# ---------------------------------------------------------------- results
# ovl_pass NAME            one PASS line, counted
# ovl_fail NAME [DETAIL]   one FAIL line (DETAIL, e.g. a diff, indented below), counted
# ovl_skip NAME REASON     one SKIP line, counted
ovl_pass() { OVL_NPASS=$((OVL_NPASS + 1)); echo "PASS $*"; }
ovl_fail() {
	OVL_NFAIL=$((OVL_NFAIL + 1))
	echo "FAIL $1"
	if [ $# -gt 1 ] && [ -n "$2" ]; then printf '%s\n' "$2" | sed 's/^/    /'; fi
	return 0
}
ovl_skip() { OVL_NSKIP=$((OVL_NSKIP + 1)); echo "SKIP: $1${2:+ ($2)}"; }

# ovl_summary: prints "N passed, N failed[, N skipped]" alone on a line; returns 1 if any failed
ovl_summary() {
	if [ "$OVL_NSKIP" -gt 0 ]; then
		echo "$OVL_NPASS passed, $OVL_NFAIL failed, $OVL_NSKIP skipped"
	else
		echo "$OVL_NPASS passed, $OVL_NFAIL failed"
	fi
	[ "$OVL_NFAIL" -eq 0 ]
}

# ovl_diffout NAME EXPECTED ACTUAL [LABEL_A LABEL_B]: PASS if the files are equal, else FAIL
# with the first 40 lines of a unified diff.
ovl_diffout() {
	local name=$1 a=$2 b=$3 la=${4:-expected} lb=${5:-actual} d
	if cmp -s "$a" "$b"; then
		ovl_pass "$name"
	else
		d=$(diff -u --label "$la" --label "$lb" "$a" "$b" | head -n 40)
		ovl_fail "$name" "$d"
	fi
}

# ovl_assert_eq NAME EXPECTED ACTUAL: string comparison
ovl_assert_eq() {
	if [ "$2" == "$3" ]; then ovl_pass "$1"; else
		ovl_fail "$1" "expected: $(printf %q "$2")"$'\n'"actual:   $(printf %q "$3")"
	fi
}

# ---------------------------------------------------------------- scratch + cleanup
# ovl_at_exit 'CMD'   run CMD at exit (LIFO), before the scratch dir is removed
ovl_at_exit() { OVL_CLEANUPS+=("$1"); }

ovl__exit() {
	local rc=$? i
	for ((i = ${#OVL_MOUNTS[@]} - 1; i >= 0; i--)); do
		mountpoint -q "${OVL_MOUNTS[i]}" 2>/dev/null && umount -l "${OVL_MOUNTS[i]}" 2>/dev/null
	done
	for ((i = ${#OVL_CLEANUPS[@]} - 1; i >= 0; i--)); do eval "${OVL_CLEANUPS[i]}" || true; done
	if [ -n "${OVL_T:-}" ] && [ -d "$OVL_T" ]; then
		if [ "${OVL_KEEP:-0}" = 1 ]; then
			echo "# kept scratch dir: $OVL_T" >&2
		else
			# a shim-side mode-000 dir or an immutable bit never stops the cleanup
			chmod -R u+rwx "$OVL_T" 2>/dev/null
			rm -rf "$OVL_T"
		fi
	fi
	exit "$rc"
}

# ovl_scratch: creates $OVL_T (once per test process) and sets the exit trap
ovl_scratch() {
	[ -n "${OVL_T:-}" ] && return 0
	OVL_T=$(mktemp -d "${TMPDIR:-/tmp}/ovltest.${OVL_TEST_NAME}.XXXXXX") || exit 125
	chmod 755 "$OVL_T"
	trap ovl__exit EXIT
	trap 'exit 130' INT TERM
}
ovl_scratch

# ovl_mktemp_dir NAME: a fresh dir $OVL_T/NAME (removed first if present), printed
ovl_mktemp_dir() {
	local d="$OVL_T/$1"
	rm -rf "$d" && mkdir -p "$d" && echo "$d"
}

ovl_is_root() { [ "$(id -u)" = 0 ]; }

# ovl_as_nobody CMD...: run CMD as uid/gid 65534 with no supplementary groups (root only;
# otherwise runs CMD as the current user)
ovl_as_nobody() {
	if ovl_is_root; then
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- "$@"
	else
		"$@"
	fi
}

# ---------------------------------------------------------------- fixtures
# Layer layout of a fixture dir FX:  FX/l1 FX/l2 FX/l3 (lowers, l1 on top), FX/u (upper),
# FX/w (work, empty), FX/meta/* (lists the tests use: whiteouts, symlinks, ...).
ovl_lowers() { echo "$1/l1:$1/l2:$1/l3"; }
ovl_layer_dirs() { echo "$1/l1 $1/l2 $1/l3"; }

# Per-layer marker format of a fixture: kernel | user | oci
ovl__layer_fmt() { # FORMAT LAYER
	case $1 in
	mixed) case $2 in u) echo oci ;; l1) echo user ;; *) echo kernel ;; esac ;;
	*) echo "$1" ;;
	esac
}

# markers, written in layer dir LD of format FMT
ovl_mk_whiteout() { # FMT DIR NAME
	case $1 in
	oci) : >"$2/.wh.$3" ;;
	*) mknod "$2/$3" c 0 0 ;;
	esac
}
ovl_mk_opaque() { # FMT DIR [VALUE]
	local v=${3:-y}
	case $1 in
	oci) [ "$v" = y ] && : >"$2/.wh..wh..opq" ;;
	user) setfattr -n user.overlay.opaque -v "$v" "$2" ;;
	kernel) setfattr -n trusted.overlay.opaque -v "$v" "$2" ;;
	esac
	return 0
}
ovl_mk_xwhiteout() { # FMT DIR NAME : xattr whiteout + x marker on DIR (oci: .wh.NAME)
	case $1 in
	oci) : >"$2/.wh.$3" ;;
	user | kernel)
		local ns=trusted
		[ "$1" = user ] && ns=user
		: >"$2/$3"
		setfattr -n "$ns.overlay.whiteout" -v "" "$2/$3"
		setfattr -n "$ns.overlay.opaque" -v x "$2"
		;;
	esac
}

ovl__w() { # LAYERDIR RELPATH CONTENT : write a file, creating parents
	mkdir -p "$(dirname "$1/$2")"
	printf '%s\n' "$3" >"$1/$2"
}

# ovl_fixture FORMAT FX MERGED
#   Builds the standard layer set in FX. FORMAT: kernel (trusted.* markers + chardev
#   whiteouts; compare with a default mount), user (user.* markers + chardev; userxattr mount),
#   oci (.wh.NAME / .wh..wh..opq; compare with a kernel-format copy, see ovl_convert_to_kernel),
#   mixed (upper oci, l1 user.*, l2/l3 kernel; compared like oci). MERGED is the merged path the
#   absolute symlinks point into. All four formats describe the same merged tree.
ovl_fixture() {
	local fmt=$1 fx=$2 M=$3 U L1 L2 L3 f
	rm -rf "$fx"
	mkdir -p "$fx"/{l1,l2,l3,u,w,meta}
	U=$fx/u L1=$fx/l1 L2=$fx/l2 L3=$fx/l3
	local fu fl1 fl2
	fu=$(ovl__layer_fmt "$fmt" u) fl1=$(ovl__layer_fmt "$fmt" l1) fl2=$(ovl__layer_fmt "$fmt" l2)
	(
		set -e
		umask 022
		# --- one layer only, and the same name in several (top wins)
		ovl__w "$U" only_u "only in upper"
		ovl__w "$L1" only_l1 "only in l1"
		ovl__w "$L2" only_l2 "only in l2"
		ovl__w "$L3" only_l3 "only in l3"
		for f in u l1 l2 l3; do ovl__w "$fx/$f" same "same from $f"; done
		for f in l1 l2 l3; do ovl__w "$fx/$f" same12 "same12 from $f"; done
		for f in l2 l3; do ovl__w "$fx/$f" same23 "same23 from $f"; done
		setfattr -n user.layer -v U "$U/same"
		setfattr -n user.layer -v L1 "$L1/same"
		: >"$L2/empty_l2"
		: >"$U/empty_u"
		yes 'big file line 0123456789abcdef' | head -c 300000 >"$L3/big"
		# --- SEMANTICS rule 2: dir in L1, file in L2, dir in L3 -> only L1's entries
		ovl__w "$L1" stack/a "stack a from l1"
		ovl__w "$L1" stack/b "stack b from l1"
		ovl__w "$L2" stack "stack is a file in l2"
		ovl__w "$L3" stack/c "stack c from l3 (hidden)"
		ovl__w "$L1" stack_f "stack_f is a file in l1"
		ovl__w "$L2" stack_f/x "stack_f/x hidden"
		ovl__w "$U" stack_u/u1 "stack_u/u1 from upper"
		ovl__w "$L1" stack_u "stack_u file in l1"
		ovl__w "$L2" stack_u/l2x "stack_u/l2x hidden"
		# --- nested dirs merging across all layers; metadata from the topmost
		ovl__w "$U" nest/f_u "nest f_u"
		ovl__w "$U" nest/deep/a/b/from_u "deep from upper"
		ovl__w "$U" nest/onlyupper_target "target only in upper"
		ovl__w "$L1" nest/f_1 "nest f_1"
		ovl__w "$L1" nest/deep/a/from_1 "deep from l1"
		ovl__w "$L2" nest/f_2 "nest f_2"
		ovl__w "$L2" nest/deep/from_2 "deep from l2"
		ovl__w "$L3" nest/f_3 "nest f_3"
		ovl__w "$L3" nest/deep/a/b/c/from_3 "deep from l3"
		ovl__w "$L3" nest/f_u "nest f_u from l3 (hidden)"
		chmod 0750 "$U/nest"
		chmod 0700 "$L1/nest"
		chmod 0755 "$L3/nest"
		chmod 0711 "$L2/nest/deep"
		setfattr -n user.tag -v U "$U/nest"
		setfattr -n user.tag -v L1 "$L1/nest"
		# --- symlinks across layers
		ln -s onlyupper_target "$L1/nest/rel_to_upper"   # relative, lower -> upper-only name
		ln -s nest/deep/a/b/from_u "$L3/rel_up"
		ln -s ../only_u "$L2/nest/rel_parent"
		ln -s "$M/nest/f_3" "$L2/abs_file"                # absolute into MERGED
		ln -s "$M/nest/deep" "$L1/abs_dir"
		ln -s "$M/dirlink/f_2" "$U/abs_via_link"
		ln -s nest "$L2/dirlink"
		ln -s does_not_exist "$L1/dangling"
		ln -s "$M/nope/x" "$L3/dangling_abs"
		ln -s loop_b "$L2/loop_a"
		ln -s loop_a "$L2/loop_b"
		ln -s self_loop "$L1/self_loop"
		ln -s wh_l1 "$L1/to_whiteout"
		ln -s /dev/null "$L2/abs_out"
		ln -s chain2 "$L3/chain1"
		ln -s nest/f_1 "$L2/chain2"
		ln -s only_l3 "$L3/link_over"
		ovl__w "$L1" link_over "file over a symlink"
		ln -s only_l1 "$U/sym_over"
		ovl__w "$L2" sym_over "file under a symlink (hidden)"
		ln -s ../../only_u "$L3/nest/deep/up2"
		# --- whiteouts (only in directories that are merged, as the kernel expects)
		ovl__w "$L2" wh_l1 "wh_l1 from l2 (hidden)"
		ovl__w "$L3" wh_l1 "wh_l1 from l3 (hidden)"
		ovl_mk_whiteout "$fl1" "$L1" wh_l1
		ovl__w "$L1" wh_u "wh_u from l1 (hidden)"
		ovl_mk_whiteout "$fu" "$U" wh_u
		ovl__w "$L3" wh_dir/x "wh_dir/x (hidden)"
		ovl_mk_whiteout "$fl2" "$L2" wh_dir
		ovl_mk_whiteout "$fl1" "$L1" wh_none
		ovl__w "$L3" wh_re "wh_re from l3 (hidden)"
		ovl_mk_whiteout "$fl2" "$L2" wh_re
		ovl__w "$L1" wh_re "wh_re reborn in l1"
		ovl__w "$L3" nest/wh_nested "nested (hidden)"
		ovl_mk_whiteout "$fu" "$U/nest" wh_nested
		ln -s only_l2 "$L2/wh_sym"
		ovl_mk_whiteout "$fl1" "$L1" wh_sym
		mkfifo "$L3/wh_fifo"
		ovl_mk_whiteout "$fu" "$U" wh_fifo
		ovl__w "$L3" wh_dir_re/old "old content (hidden)"
		ovl_mk_whiteout "$fl2" "$L2" wh_dir_re
		ovl__w "$L1" wh_dir_re/new "new content"
		# --- opaque directories
		ovl__w "$L3" opq/x "opq/x (hidden)"
		ovl__w "$L3" opq/y "opq/y (hidden)"
		ovl__w "$L2" opq/z "opq/z (hidden)"
		ovl__w "$L1" opq/w "opq/w from l1"
		ovl_mk_opaque "$fl1" "$L1/opq"
		ovl__w "$U" opq/u "opq/u from upper"
		ovl__w "$L1" opq_u/a "opq_u/a (hidden)"
		ovl__w "$U" opq_u/b "opq_u/b from upper"
		ovl_mk_opaque "$fu" "$U/opq_u"
		ovl__w "$L2" opq_deep/sub/keep "opq_deep/sub/keep"
		ovl_mk_opaque "$fl2" "$L2/opq_deep"
		ovl__w "$L3" opq_deep/sub/hidden "hidden"
		ovl__w "$L3" opq_deep/gone "hidden"
		ovl__w "$L1" notopq/n1 "notopq n1"     # opaque value other than "y": not opaque
		ovl__w "$L2" notopq/n2 "notopq n2"
		[ "$fl1" = oci ] || ovl_mk_opaque "$fl1" "$L1/notopq" yes
		# --- xattr whiteouts (x marker on the lower parent; never in the bottom layer)
		ovl__w "$L3" xw/keep "xw keep"
		ovl__w "$L3" xw/gone "xw gone (hidden)"
		mkdir -p "$L1/xw"
		ovl_mk_xwhiteout "$fl1" "$L1/xw" gone
		ovl__w "$L2" xw_root "xw_root (hidden)"
		ovl_mk_xwhiteout "$fl1" "$L1" xw_root
		# --- special files, xattrs, modes, owners, names
		mkfifo "$L2/fifo"
		mkfifo "$U/nest/fifo_u"
		mkdir "$L2/emptydir" "$L1/emptydir" "$L3/empty_l3only"
		ovl__w "$L2" xattr_file "has xattrs"
		setfattr -n user.foo -v bar "$L2/xattr_file"
		setfattr -n user.bin -v 0x00ff01 "$L2/xattr_file"
		setfattr -n user.empty "$L2/xattr_file"
		mkdir "$L1/xattr_dir"
		setfattr -n user.d -v 1 "$L1/xattr_dir"
		ovl__w "$L3" suid "setuid file"
		chmod 4755 "$L3/suid"
		ovl__w "$L3" sgid "setgid file"
		chmod 2711 "$L3/sgid"
		ovl__w "$L2" sticky/f "in sticky dir"
		chmod 1777 "$L2/sticky"
		ovl__w "$L1" mode000 "mode 000"
		chmod 000 "$L1/mode000"
		ovl__w "$L2" ro_dir/f "in read-only dir"
		chmod 0555 "$L2/ro_dir"
		ovl__w "$U" exec_u '#!/bin/sh'
		chmod 0700 "$U/exec_u"
		ovl__w "$L2" owned "owned by 1000:1000"
		mkdir "$L3/owned_dir"
		ovl__w "$L3" owned_dir/f "owned dir file"
		if [ "$(id -u)" = 0 ]; then
			chown 1000:1000 "$L2/owned"
			chown -R 1234:5678 "$L3/owned_dir"
		fi
		ovl__w "$L1" "with space" "name with a space"
		ovl__w "$L2" "dir with space/file name" "file in dir with space"
		ovl__w "$L1" $'caf\xe9' "latin-1 name"
		ovl__w "$L3" $'bad\xff\xfe' "non-utf8 name"
		ovl__w "$L2" -dash "leading dash"
		ovl__w "$L2" name:colon "colon"
		ovl__w "$L3" .hidden "dot file l3"
		ovl__w "$U" .hidden_u "dot file upper"
		ovl__w "$L2" "$(printf 'n%.0s' {1..255})" "255-byte name"
		ovl__w "$L2" hl_a "hard linked"
		ln "$L2/hl_a" "$L2/hl_b"
		ovl__w "$L3" l3only/x/y/z/file "deep, one layer"
		ovl__w "$U" uonly/sub/file "upper-only dir"
		# search-only directories: one layer (l3), and merged (the upper's 0711 decides)
		ovl__w "$L3" xonly/f "in an exec-only dir"
		chmod 0711 "$L3/xonly"
		ovl__w "$U" xmerged/fu "xmerged upper"
		ovl__w "$L2" xmerged/f2 "xmerged l2"
		chmod 0711 "$U/xmerged"
		# `..` from MERGED leaves the overlay; this link comes back in through the real parent
		ln -s "../$(basename "$M")/nest/f_2" "$L2/back_in"
		# symlink chains alternating between l2 and l3: 40 links resolve, 41 give ELOOP
		mkdir -p "$L2/chains" "$L3/chains"
		for f in $(seq 0 40); do
			if [ $((f % 2)) = 0 ]; then f_dir=$L2/chains; else f_dir=$L3/chains; fi
			if [ "$f" -lt 40 ]; then ln -s "c$((f + 1))" "$f_dir/c$f"; else ln -s ../only_l2 "$f_dir/c$f"; fi
		done
		# c1 -> ... -> c40 -> ../only_l2 is 40 links; c0 adds one more
		# a make project spread over the layers (make 4.3 uses the legacy __xstat ABI and glob)
		mkdir -p "$L2/mk" "$L3/mk" "$U/mk"
		printf '%s\n' 'SRCS := $(sort $(wildcard *.c))' 'show: ; @echo srcs: $(SRCS); echo exists: $(wildcard gone.c hidden.c)' \
			'prog: $(SRCS) ; @echo would build $@ from $^' 'include inc.mk' >"$L2/mk/Makefile"
		printf '%s\n' 'INC := from l3' 'show2: ; @echo inc: $(INC)' >"$L3/mk/inc.mk"
		printf 'int main(void) { return 0; }\n' >"$L3/mk/main.c"
		printf 'int util;\n' >"$L2/mk/util.c"
		printf 'int extra;\n' >"$U/mk/extra.c"
		printf 'int gone;\n' >"$L3/mk/gone.c"
		ovl_mk_whiteout "$fl2" "$L2/mk" gone.c
		: >"$L3/mk/prog"
		touch -d @1000000000 "$L3/mk/prog"
	) || { echo "ovl_fixture: building $fmt fixture failed" >&2; return 1; }
	# names the tests use
	printf '%s\n' wh_l1 wh_u wh_dir wh_none nest/wh_nested wh_sym wh_fifo xw/gone xw_root \
		wh_dir/x wh_dir_re/old opq/x opq/z opq_u/a opq_deep/gone opq_deep/sub/hidden stack/c \
		stack_f/x stack_u/l2x >"$fx/meta/gone"
	printf '%s\n' nest/rel_to_upper rel_up nest/rel_parent abs_file abs_dir abs_via_link \
		dirlink dangling dangling_abs loop_a loop_b self_loop to_whiteout abs_out chain1 chain2 \
		sym_over nest/deep/up2 back_in chains/c0 chains/c1 chains/c40 >"$fx/meta/symlinks"
	echo "$fmt" >"$fx/meta/format"
}

# ovl_fixture_bigdir FORMAT FX MERGED: one merged directory "big" of ~5600 visible entries with
# long names (many getdents buffers), spread over all layers, with ~900 whiteouts of FORMAT
# interleaved: f: l3 3000, l2 overrides 2000 and whites out 500; g: l2 1000, l1 whites out
# 300; h: l1 1500, upper whites out 100; u: upper 1000.
ovl_fixture_bigdir() {
	local fmt=$1 fx=$2 pad i
	rm -rf "$fx"
	mkdir -p "$fx"/{l1,l2,l3,u,w,meta} "$fx"/{l1,l2,l3,u}/big
	pad=$(printf 'x%.0s' {1..90})
	(
		set -e
		cd "$fx"
		printf "l3/big/f%04d_$pad\0" $(seq 0 2999) | xargs -0 touch
		printf "l2/big/f%04d_$pad\0" $(seq 1000 2999) | xargs -0 touch
		printf "l2/big/g%04d_$pad\0" $(seq 0 999) | xargs -0 touch
		printf "l1/big/h%04d_$pad\0" $(seq 0 1499) | xargs -0 touch
		printf "u/big/u%04d_$pad\0" $(seq 0 999) | xargs -0 touch
		for i in $(seq 0 499); do ovl_mk_whiteout "$(ovl__layer_fmt "$fmt" l2)" l2/big "$(printf "f%04d_$pad" "$i")"; done
		for i in $(seq 0 299); do ovl_mk_whiteout "$(ovl__layer_fmt "$fmt" l1)" l1/big "$(printf "g%04d_$pad" "$i")"; done
		for i in $(seq 0 99); do ovl_mk_whiteout "$(ovl__layer_fmt "$fmt" u)" u/big "$(printf "h%04d_$pad" "$i")"; done
		echo "$fmt" >meta/format
		: >meta/gone
		: >meta/symlinks
	)
}

# ovl_convert_to_kernel LAYERDIR...: rewrite layers in place into default-mount kernel format
# (.wh.NAME -> chardev 0:0, .wh..wh..opq -> trusted.overlay.opaque=y, user.overlay.* ->
# trusted.overlay.*). Needs root (trusted.* xattrs).
ovl_convert_to_kernel() { $OVL_TOOL convert "$@"; }

# ovl_copy_fixture FX DEST: fresh `cp -a` copy with an empty work dir
ovl_copy_fixture() {
	rm -rf "$2" && cp -a "$1" "$2" && rm -rf "$2/w" && mkdir "$2/w"
}

# ---------------------------------------------------------------- kernel mounts
# ovl_kernel_opts FORMAT: the pinned mount options for a fixture format
ovl_kernel_opts() {
	case $1 in user) echo "$OVL_PINNED_USER" ;; *) echo "$OVL_PINNED_DEFAULT" ;; esac
}

# ovl_mount FORMAT FX MERGED: mount a kernel overlay of fixture dir FX at MERGED with the
# pinned options for FORMAT (oci/mixed: FX must already be converted). Unmounted at exit.
# Returns 1 (and prints nothing) if the mount is refused; the error is in $OVL_MOUNT_ERR.
ovl_mount() {
	local fmt=$1 fx=$2 m=$3 opts
	opts="lowerdir=$(ovl_lowers "$fx"),upperdir=$fx/u,workdir=$fx/w,$(ovl_kernel_opts "$fmt")"
	mkdir -p "$m"
	if ! OVL_MOUNT_ERR=$(mount -t overlay ovltest -o "$opts" "$m" 2>&1 | tr "\n" " "; exit "${PIPESTATUS[0]}"); then
		[ -n "$OVL_MOUNT_ERR" ] || OVL_MOUNT_ERR="mount -t overlay failed"
		return 1
	fi
	OVL_MOUNTS+=("$m")
}
ovl_umount() { umount "$1" 2>/dev/null || umount -l "$1"; }

# ovl_can_mount: 0 if this process may mount overlays (sets OVL_MOUNT_ERR otherwise)
ovl_can_mount() {
	[ -n "${OVL__CAN_MOUNT:-}" ] && return "$OVL__CAN_MOUNT"
	local d
	d=$(ovl_mktemp_dir .mountprobe)
	mkdir -p "$d"/{l1,l2,l3,u,w,m}
	if ovl_mount kernel "$d" "$d/m"; then
		ovl_umount "$d/m"
		OVL__CAN_MOUNT=0
	else
		OVL__CAN_MOUNT=1
	fi
	rm -rf "$d"
	return $OVL__CAN_MOUNT
}

# ---------------------------------------------------------------- the shim
OVL_LIBSO=$OVL_BUILD/libovlshim.so
OVL_OVLRUN=$OVL_BUILD/ovlrun

# ovl_shim_available: library and ovlrun built (sets OVL_SHIM_WHY otherwise)
ovl_shim_available() {
	case ${OVL_RUNNER:-} in kernel | none) return 0 ;; esac
	if [ ! -f "$OVL_LIBSO" ]; then
		OVL_SHIM_WHY="$OVL_LIBSO not built"
		return 1
	fi
	if [ ! -x "$OVL_OVLRUN" ] && [ "${OVL_RUNNER:-}" != preload ]; then
		OVL_SHIM_WHY="$OVL_OVLRUN not built"
		return 1
	fi
	return 0
}

# ovl_preload_value: the LD_PRELOAD a shim run needs (libasan first when OVL_SANITIZE=1)
ovl_preload_value() {
	if [ "${OVL_SANITIZE:-0}" = 1 ]; then
		echo "$(gcc -print-file-name=libasan.so) $OVL_LIBSO"
	else
		echo "$OVL_LIBSO"
	fi
}

# ovl_shim_opts FORMAT: the options the shim's line gets (the kernel's pinned ones by default)
ovl_shim_opts() { echo "${OVL_SHIM_OPTS-$(ovl_kernel_opts "$1")}"; }

# ovl_conf_line FORMAT FX MERGED: the OVL_CONF line for fixture dir FX (first line form)
ovl_conf_line() {
	local o
	o=$(ovl_shim_opts "$1")
	echo "$3 lowerdir=$(ovl_lowers "$2"),upperdir=$2/u,workdir=$2/w${o:+,$o}"
}

# ovl_ovlrun_keeps_preload: 0 if ovlrun keeps an LD_PRELOAD already in the environment
ovl_ovlrun_keeps_preload() {
	[ -n "${OVL__KEEPS:-}" ] && return "$OVL__KEEPS"
	local d out
	d=$(ovl_mktemp_dir .keepprobe)
	mkdir -p "$d"/{l,u,w,m}
	out=$(LD_PRELOAD=/nonexistent-ovltest.so timeout 10 "$OVL_OVLRUN" \
		-o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" -- /bin/sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
	case $out in *nonexistent-ovltest.so*) OVL__KEEPS=0 ;; *) OVL__KEEPS=1 ;; esac
	rm -rf "$d"
	return $OVL__KEEPS
}

# ovl_runner: which way the shim side runs commands (ovlrun | preload | kernel)
ovl_runner() {
	if [ -n "${OVL_RUNNER:-}" ]; then echo "$OVL_RUNNER"; return; fi
	if [ ! -x "$OVL_OVLRUN" ]; then echo preload; return; fi
	if [ "${OVL_SANITIZE:-0}" = 1 ] && ! ovl_ovlrun_keeps_preload; then echo preload; return; fi
	echo ovlrun
}

# ovl_shim_run FORMAT FX MERGED CMD...: run CMD under the shim on fixture dir FX with MERGED
# (ovlrun -o ... MERGED -- CMD, or LD_PRELOAD + an OVL_CONF the harness writes)
ovl_shim_run() {
	local fmt=$1 fx=$2 m=$3 conf o
	shift 3
	local nob=()
	if [ "${OVL_AS_NOBODY:-0}" = 1 ] && [ "$(id -u)" = 0 ]; then
		nob=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)
	fi
	case $(ovl_runner) in
	ovlrun)
		o=$(ovl_shim_opts "$fmt")
		if [ "${OVL_SANITIZE:-0}" = 1 ]; then
			ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} \
				LD_PRELOAD="$(gcc -print-file-name=libasan.so)${LD_PRELOAD:+ $LD_PRELOAD}" \
				"${nob[@]}" "$OVL_OVLRUN" -o "lowerdir=$(ovl_lowers "$fx"),upperdir=$fx/u,workdir=$fx/w${o:+,$o}" "$m" -- "$@"
		else
			"${nob[@]}" "$OVL_OVLRUN" -o "lowerdir=$(ovl_lowers "$fx"),upperdir=$fx/u,workdir=$fx/w${o:+,$o}" "$m" -- "$@"
		fi
		;;
	preload)
		conf=$fx/ovl.conf
		ovl_conf_line "$fmt" "$fx" "$m" >"$conf"
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} OVL_CONF=$conf \
			LD_PRELOAD="$(ovl_preload_value)${LD_PRELOAD:+ $LD_PRELOAD}" "${nob[@]}" "$@"
		;;
	none) # negative self-test: no overlay at all, the comparisons must fail
		"${nob[@]}" "$@"
		;;
	kernel) # self-test: a kernel mount stands in for the shim
		if ! mountpoint -q "$m"; then
			ovl_mount "$fmt" "$fx" "$m" || { echo "self-test mount failed: $OVL_MOUNT_ERR" >&2; return 125; }
		fi
		"${nob[@]}" "$@"
		;;
	esac
}

# ---------------------------------------------------------------- dumps and hashes
# ovl_tree DIR [--mtime] [--nlink] ...: canonical tree dump (see ovltool.py). For a merged view
# run it under the shim:  ovl_shim_run FMT FX M $OVL_TOOL tree M
ovl_tree() {
	local d=$1
	shift
	$OVL_TOOL tree "$@" "$d"
}

# ovl_hash_layers DIR... : manifest of real layer dirs (content, mode, owner, mtime/ctime,
# xattrs incl. trusted.*)
ovl_hash_layers() { $OVL_TOOL hash "$@"; }

# ovl_lowers_snapshot FX OUTFILE / ovl_assert_lowers_unchanged NAME FX SNAPSHOT
ovl_lowers_snapshot() { ovl_hash_layers "$1/l1" "$1/l2" "$1/l3" >"$2"; }
ovl_assert_lowers_unchanged() {
	local now=$OVL_T/.lowers.$$.$RANDOM
	ovl_lowers_snapshot "$2" "$now"
	ovl_diffout "$1" "$3" "$now" "lowers before" "lowers after"
	rm -f "$now"
}

# ---------------------------------------------------------------- differential scenarios
# A scenario is a bash function that calls ovl_check once per check. ovl_diff_run runs it on
# the kernel overlay and then under the shim, and compares the outputs check by check.
#
# ovl_check NAME [--sort] [--filter 'SHELL FILTER'] 'SHELL COMMAND'
#   Runs `bash -c COMMAND` on the current side (stdout, then "--- stderr:" and stderr, then
#   "[exit N]"), with M (the merged path), FX (the side's layer copy; do not use it in
#   commands), OVL_TOOL and LC_ALL=C TZ=UTC in the environment. The filter (and then sort)
#   runs outside the shim on the captured output.
ovl_check() {
	local sort=0 filter="" name=$1 cmd out
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		--sort) sort=1; shift ;;
		--filter) filter=$2; shift 2 ;;
		*) break ;;
		esac
	done
	if [ $# -ne 1 ] || [ -z "$name" ] || [[ $name == -* ]]; then
		echo "ovl_check: usage: ovl_check NAME [--sort] [--filter F] 'COMMAND' (got name '$name', $# args)" >&2
		exit 125
	fi
	cmd=$1
	out=$OVL_DIFF_OUT/$OVL_SIDE/$name
	echo "$name" >>"$OVL_DIFF_OUT/$OVL_SIDE.names"
	[ "${OVL_VERBOSE:-0}" = 1 ] && echo "# [$OVL_SIDE] $name: $cmd" >&2
	if [ "$OVL_SIDE" = kernel ]; then
		local nob=()
		[ "${OVL_AS_NOBODY:-0}" = 1 ] && ovl_is_root &&
			nob=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)
		(cd / && M=$OVL_M timeout -k 5 "$OVL_TIMEOUT" "${nob[@]}" bash -c "$cmd") >"$out.raw" 2>"$out.err" </dev/null
	else
		(cd / && M=$OVL_M timeout -k 5 "$OVL_TIMEOUT" \
			bash -c 'f=$1 x=$2 m=$3; shift 3; ovl_shim_run "$f" "$x" "$m" bash -c "$@"' \
			_ "$OVL_FMT" "$OVL_SFX" "$OVL_M" "$cmd") >"$out.raw" 2>"$out.err" </dev/null
	fi
	local rc=$?
	# stdout, then stderr: captured apart, since two processes of a pipeline may interleave
	# them differently from run to run
	if [ -s "$out.err" ]; then
		{ echo "--- stderr:"; cat "$out.err"; } >>"$out.raw"
	fi
	rm -f "$out.err"
	echo "[exit $rc]" >>"$out.raw"
	if [ "$OVL_SIDE" = shim ] && grep -Eq "ERROR: (Address|Leak|Undefined)Sanitizer|runtime error: " "$out.raw"; then
		ovl_fail "sanitizer report in $OVL_FMT/$name" "$(grep -E -A12 "ERROR: .*Sanitizer|runtime error: " "$out.raw" | head -n 20)"
	fi
	if [ -n "$filter" ]; then
		bash -c "$filter" <"$out.raw" >"$out.f" 2>&1
	else
		cp "$out.raw" "$out.f"
	fi
	if [ $sort = 1 ]; then sort "$out.f" >"$out"; else mv "$out.f" "$out"; fi
	rm -f "$out.f"
}

# With OVL_AS_NOBODY=1 the upper root and the work dir of both copies belong to 65534 (ovlrun
# refuses an upper its user cannot write); the merged root therefore shows owner 65534 on both.
ovl__nobody_owns_upper() {
	if [ "${OVL_AS_NOBODY:-0}" = 1 ] && ovl_is_root; then chown 65534:65534 "$1/u" "$1/w"; fi
}

# ovl_diff_run FORMAT SCENARIO [LABEL]
#   Builds the FORMAT fixture, runs SCENARIO on a kernel mount of a copy (oci/mixed: converted
#   to kernel format first) and under the shim on another copy, same merged path, then prints
#   one PASS/FAIL line per check ("LABEL/FORMAT/NAME") and checks the shim's lowers did not
#   change. Kernel mount refused -> SKIP; shim not built -> SKIP per check (kernel side still
#   runs, which validates the fixture and the scenario). OVL_FIXTURE_FN names another fixture
#   builder with ovl_fixture's arguments (FORMAT FX MERGED), e.g. ovl_fixture_bigdir.
ovl_diff_run() {
	local fmt=$1 scen=$2 label=${3:-$2} base name kfx
	base=$(ovl_mktemp_dir "diff.$label.$fmt")
	# MERGED's parent holds nothing else, so `ls -la MERGED` shows the same `..` on both sides.
	# OVL_INPLACE=1: MERGED is the top lowerdir itself ("protect a directory in place"); both
	# sides then use one copy path ($base/side), one after the other.
	OVL_FMT=$fmt OVL_M=$base/mp/m OVL_DIFF_OUT=$base/out
	[ "${OVL_INPLACE:-0}" = 1 ] && OVL_M=$base/side/l1
	mkdir -p "$OVL_DIFF_OUT/kernel" "$OVL_DIFF_OUT/shim"
	[ "${OVL_INPLACE:-0}" = 1 ] || mkdir -p "$OVL_M"
	: >"$OVL_DIFF_OUT/kernel.names"
	: >"$OVL_DIFF_OUT/shim.names"
	export OVL_FMT OVL_M
	"${OVL_FIXTURE_FN:-ovl_fixture}" "$fmt" "$base/fx" "$OVL_M" ||
		{ ovl_fail "$label/$fmt/fixture" "fixture build failed"; return; }
	OVL_FX=$base/fx
	if ! ovl_can_mount; then
		ovl_skip "$label/$fmt: kernel overlay mount refused" "$OVL_MOUNT_ERR"
		return
	fi
	# kernel side
	kfx=$base/kfx
	[ "${OVL_INPLACE:-0}" = 1 ] && kfx=$base/side
	ovl_copy_fixture "$OVL_FX" "$kfx"
	ovl__nobody_owns_upper "$kfx"
	local kfmt=$fmt
	case $fmt in oci | mixed)
		ovl_convert_to_kernel "$kfx/l1" "$kfx/l2" "$kfx/l3" "$kfx/u" || { ovl_fail "$label/$fmt/convert"; return; }
		kfmt=kernel ;;
	esac
	if ! ovl_mount "$kfmt" "$kfx" "$OVL_M"; then
		ovl_skip "$label/$fmt: kernel overlay mount refused" "$OVL_MOUNT_ERR"
		return
	fi
	OVL_SIDE=kernel
	"$scen"
	ovl_umount "$OVL_M"
	# shim side
	if ! ovl_shim_available; then
		while read -r name; do
			ovl_skip "$label/$fmt/$name" "$OVL_SHIM_WHY; kernel side ran"
		done <"$OVL_DIFF_OUT/kernel.names"
		return
	fi
	OVL_SFX=$base/sfx
	[ "${OVL_INPLACE:-0}" = 1 ] && OVL_SFX=$base/side
	ovl_copy_fixture "$OVL_FX" "$OVL_SFX"
	ovl__nobody_owns_upper "$OVL_SFX"
	if [ "$(ovl_runner)" = kernel ]; then
		case $fmt in oci | mixed) ovl_convert_to_kernel "$OVL_SFX/l1" "$OVL_SFX/l2" "$OVL_SFX/l3" "$OVL_SFX/u"
			OVL_FMT=kernel ;;
		esac
	fi
	ovl_lowers_snapshot "$OVL_SFX" "$base/lowers.before"
	OVL_SIDE=shim
	"$scen"
	[ "$(ovl_runner)" = kernel ] && mountpoint -q "$OVL_M" && ovl_umount "$OVL_M"
	OVL_FMT=$fmt
	while read -r name; do
		ovl_diffout "$label/$fmt/$name" "$OVL_DIFF_OUT/kernel/$name" "$OVL_DIFF_OUT/shim/$name" \
			"kernel" "shim"
	done <"$OVL_DIFF_OUT/kernel.names"
	ovl_assert_lowers_unchanged "$label/$fmt/lowers-unchanged" "$OVL_SFX" "$base/lowers.before"
}

# ovl_formats: the fixture formats to run (OVL_FORMATS, default "kernel user oci mixed")
ovl_formats() { echo "$OVL_FORMATS"; }

# the runner functions are used from `timeout bash -c '...'` wrappers: export them
export -f ovl_shim_run ovl_runner ovl_shim_opts ovl_kernel_opts ovl_lowers ovl_preload_value \
	ovl_conf_line ovl_ovlrun_keeps_preload ovl_mktemp_dir ovl_mount ovl_is_root
export OVL_BUILD OVL_LIBSO OVL_OVLRUN OVL_PINNED_DEFAULT OVL_PINNED_USER OVL_T OVL_TOOL
