# shellcheck shell=bash
# Write-path additions to the ovlshim test harness (tests/lib/lib.sh stays as it is).
# Every write suite does:
#     source "$(dirname "$0")/../lib/lib.sh"
#     source "$(dirname "$0")/../lib/write.sh"
#
# Environment (besides lib.sh's):
#   OVL_WRITE_FORMATS  fixture formats the differential write suites run (default: kernel user;
#                      oci and mixed work too: their kernel side and their upper/interop
#                      comparisons use kernel-format conversions, see wr_run)
#   OVL_WRITE_ONLY     an extended regex: run only the scenarios whose name matches it
#   OVL_WRITE_JOBS=1   run the formats one after the other (default: in parallel)
#
# Model: a write scenario is one shell command. wr_run runs each scenario twice, each time with
# a fresh copy of the fixture's upper and an empty work dir over the fixture's lowers -- once
# on a kernel overlay mounted at $M, once under the shim with MERGED = the same path string --
# and compares, per scenario:
#   NAME            the command's output and exit code ("[exit N]")
#   NAME/tree       the final merged tree, dumped through the view (ovltool tree)
#   NAME/upper      the upper trees after normalisation (wr_norm upper)
#   NAME/lowers     the lowers unchanged (content, mode, owner, times, xattrs); they are shared
#                   by the scenarios and restored from a pristine copy after a failure
#   NAME/interop    the shim's upper (a copy of it) mounted by the kernel shows the merged tree
#                   the shim showed (oci/mixed: a kernel-format conversion of it)
# plus, only on failure, "wrote into the real MERGED dir" and "format-record" (WORK/ovlshim/
# format must exist once a marker was written, and read whiteout=chardev/opaque=xattr), and
# one FORMAT/format-record PASS per format.
#
# Normalisations (wr_norm), all of them either kernel-internal or documented in DESIGN.md:
#   - overlay-private xattrs origin, impure, uuid (trusted.overlay.* and user.overlay.*) dropped;
#   - trusted.overlay.opaque and user.overlay.opaque both read as one "overlay.opaque" (ovlshim
#     writes user.* plus trusted.* when root, the kernel writes one namespace; DESIGN.md 1);
#   - the link count and mtime of chardev 0:0 whiteouts in an upper (kernel whiteouts share one
#     inode, SEMANTICS.md rule 13, so theirs are the shared inode's);
#   - directory timestamps in an upper (the kernel restores parent times differently), and
#     directory sizes everywhere (an ext4 artefact of the directory's history);
#   - the work dir (never dumped);
#   - mtimes of non-directories: a value written by the scenario (after the fixture was built,
#     so necessarily different on the two sides) reads "new"; an older value is kept as is, so
#     copy-up that loses an mtime is still seen;
#   - in merged dumps, user.overlay.* xattrs are dropped: a default kernel mount shows the
#     user.overlay.opaque the shim writes as an ordinary xattr, while ovlshim treats both
#     namespaces as its own and hides them (DESIGN.md 1, "Overlay-private xattrs").

[ -n "${OVL_WRITE_SH:-}" ] && return 0
OVL_WRITE_SH=1

OVL_WRITE_FORMATS=${OVL_WRITE_FORMATS:-kernel user}

# A python3 that starts fast and that uid 65534 can run: a `python3` found first in PATH may be
# a version manager's shell-script shim (pyenv: ~0.3 s per start, under /root). Scenario
# commands that say `python3` get this one too (a symlink first in PATH, on both sides).
WR_PYTHON=$(command -v python3)
for p in /usr/bin/python3 /usr/local/bin/python3; do
	if [ -x "$p" ] && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 7))' 2>/dev/null; then
		WR_PYTHON=$p
		break
	fi
done
mkdir -p "$OVL_T/bin"
ln -sf "$WR_PYTHON" "$OVL_T/bin/python3"
PATH=$OVL_T/bin:$PATH
OVL_TOOL="$WR_PYTHON $OVL_LIB_DIR/ovltool.py"
export PATH OVL_TOOL WR_PYTHON

# ---------------------------------------------------------------- the normaliser
WR_NORM_PY=$OVL_T/wr_norm.py
cat >"$WR_NORM_PY" <<'PY'
"""wr_norm MODE T0: normalise `ovltool tree --mtime --nlink [--all-xattrs] --no-dirsize` output.
MODE: merged | upper. T0: ns timestamp; later mtimes read "new"."""
import sys
mode, t0 = sys.argv[1], int(sys.argv[2])
PRIV = {"origin", "impure", "uuid"}
for line in sys.stdin:
    line = line.rstrip("\n")
    f = line.split("\t")
    if len(f) < 8:
        print(line)
        continue
    path, typ, perm, uid, gid, size, extra, xa = f[:8]
    rest = f[8:]
    xs = []
    if xa != "-":
        for kv in xa.split(","):
            name, _, val = kv.partition("=")
            ns, _, sub = name.partition(".overlay.")
            if sub and ns in ("trusted", "user"):
                if mode == "merged" and ns == "user":
                    continue
                if mode == "upper":
                    if sub in PRIV:
                        continue
                    if sub == "opaque":
                        name = "overlay.opaque"
            kv = "%s=%s" % (name, val)
            if kv not in xs:
                xs.append(kv)
    xa = ",".join(sorted(xs)) or "-"
    out = [path, typ, perm, uid, gid, size, extra, xa]
    for r in rest:
        k, _, v = r.partition("=")
        if k == "mtime":
            if typ == "d" and mode == "upper":
                continue
            r = "mtime=new" if int(v) > t0 else r
        if k in ("nlink", "mtime") and mode == "upper" and typ == "c" and extra == "0:0":
            continue
        out.append(r)
    print("\t".join(out))
PY
# wr_norm MODE T0 < dump
wr_norm() { "$WR_PYTHON" "$WR_NORM_PY" "$@"; }
WR_TREE_OPTS="--mtime --nlink --no-dirsize"
export WR_NORM_PY WR_TREE_OPTS

# ---------------------------------------------------------------- running one side
# wr_exec SIDE FMT FX OUT 'COMMAND'
#   SIDE: kernel (a mount must be at $WR_M) | shim (ovl_shim_run on FX) | shim-ro (read-only
#   shim overlay: lowerdir only). Runs `bash -c COMMAND` from / with M=$WR_M, stdin
#   /dev/null, stdout+stderr into OUT, then "[exit N]". WR_AS_NOBODY=1: the command runs as
#   uid/gid 65534 (kernel side: under the root-made mount; shim side: ovlrun itself is started
#   as 65534, as lib.sh's OVL_AS_NOBODY does).
wr_exec() {
	local side=$1 fmt=$2 fx=$3 out=$4 cmd=$5 nob=()
	[ "${OVL_VERBOSE:-0}" = 1 ] && echo "# [$side] $cmd" >&2
	[ "${WR_AS_NOBODY:-0}" = 1 ] && nob=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)
	case $side in
	kernel)
		(cd / && M=$WR_M timeout -k 5 "$OVL_TIMEOUT" "${nob[@]}" bash -c "$cmd") >"$out" 2>&1 </dev/null ;;
	shim)
		(cd / && M=$WR_M OVL_AS_NOBODY=${WR_AS_NOBODY:-0} timeout -k 5 "$OVL_TIMEOUT" \
			bash -c 'ovl_shim_run "$1" "$2" "$3" bash -c "$4"' _ "$fmt" "$fx" "$WR_M" "$cmd") \
			>"$out" 2>&1 </dev/null ;;
	shim-ro)
		(cd / && M=$WR_M WR_AS_NOBODY=${WR_AS_NOBODY:-0} timeout -k 5 "$OVL_TIMEOUT" \
			bash -c 'wr_shim_run_ro "$1" "$2" "$3" bash -c "$4"' _ "$fmt" "$fx" "$WR_M" "$cmd") \
			>"$out" 2>&1 </dev/null ;;
	esac
	echo "[exit $?]" >>"$out"
}

# wr_shim_run_ro FMT FX MERGED CMD...: CMD under a read-only shim overlay of FX's lowers (as
# uid/gid 65534 with WR_AS_NOBODY=1: the overlay is set up as root, CMD drops to nobody)
wr_shim_run_ro() {
	local fmt=$1 fx=$2 m=$3 o conf nob=()
	shift 3
	[ "${WR_AS_NOBODY:-0}" = 1 ] && nob=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)
	set -- "${nob[@]}" "$@"
	o=$(ovl_shim_opts "$fmt")
	case $(ovl_runner) in
	ovlrun) "$OVL_OVLRUN" -o "lowerdir=$(ovl_lowers "$fx")${o:+,$o}" "$m" -- "$@" ;;
	preload)
		conf=$fx/ovl-ro.conf
		echo "$m lowerdir=$(ovl_lowers "$fx")${o:+,$o}" >"$conf"
		ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0} OVL_CONF=$conf \
			LD_PRELOAD="$(ovl_preload_value)${LD_PRELOAD:+ $LD_PRELOAD}" "$@" ;;
	none) "$@" ;;
	kernel)
		if ! mountpoint -q "$m"; then
			mount -t overlay ovltest -o "lowerdir=$(ovl_lowers "$fx"),$(ovl_kernel_opts "$fmt")" "$m" ||
				return 125
		fi
		"$@" ;;
	esac
}
export -f wr_shim_run_ro

# wr_kernel_mount FMT LOWERS UPPER WORK: kernel mount at $WR_M (UPPER empty: read-only)
wr_kernel_mount() {
	local opts="lowerdir=$2"
	[ -n "$3" ] && opts+=",upperdir=$3,workdir=$4"
	opts+=",$(ovl_kernel_opts "$1")"
	mkdir -p "$WR_M"
	if ! OVL_MOUNT_ERR=$(mount -t overlay ovltest -o "$opts" "$WR_M" 2>&1); then
		return 1
	fi
	OVL_MOUNTS+=("$WR_M")
}

# ---------------------------------------------------------------- scenarios
# wr_scen NAME [--sort] [--filter 'SHELL FILTER'] [--nobody] 'COMMAND'
#   Declares one scenario. COMMAND runs with M (the merged path) and the exported WR_* inputs
#   (WR_SRC: a tree to copy in; WR_TAR: an archive to extract) in its environment, from /.
#   The filter (then sort) runs outside the overlay on the captured output. --nobody: the
#   command runs as uid/gid 65534 and both sides' upper and work dirs belong to 65534 (the
#   merged root then shows that owner on both sides); the dumps still run as root.
WR_NAMES=() WR_CMDS=() WR_SORTS=() WR_FILTERS=() WR_NOBODY=()
wr_scen() {
	local name=$1 sort=0 filter="" nobody=0
	shift
	while [ $# -gt 1 ]; do
		case $1 in
		--sort) sort=1; shift ;;
		--nobody) nobody=1; shift ;;
		--filter) filter=$2; shift 2 ;;
		*) echo "wr_scen $name: bad option $1" >&2; exit 125 ;;
		esac
	done
	WR_NAMES+=("$name") WR_CMDS+=("$1") WR_SORTS+=("$sort") WR_FILTERS+=("$filter")
	WR_NOBODY+=("$nobody")
}

wr__post() { # FILTER SORT FILE : filter and sort FILE in place
	local f=$1 s=$2 file=$3
	if [ -n "$f" ]; then bash -c "$f" <"$file" >"$file.f" 2>&1; mv "$file.f" "$file"; fi
	if [ "$s" = 1 ]; then sort -o "$file" "$file"; fi
	return 0
}

# wr_inputs DIR: the inputs scenarios use, made outside every overlay, with fixed old times
wr_inputs() {
	local d=$1
	rm -rf "$d" && mkdir -p "$d"
	(
		set -e
		umask 022
		mkdir -p "$d/src/sub/deeper" "$d/src/emptysub"
		echo "src file" >"$d/src/f"
		echo "src sub file" >"$d/src/sub/g"
		echo "deeper" >"$d/src/sub/deeper/h"
		ln -s sub/g "$d/src/link"
		ln "$d/src/f" "$d/src/f_hardlink"
		mkfifo "$d/src/fifo"
		chmod 0640 "$d/src/f"
		chmod 0700 "$d/src/sub"
		setfattr -n user.src -v s1 "$d/src/f"
		setfattr -n user.srcdir -v s2 "$d/src/sub"
		chown -h 12:34 "$d/src/sub/g" "$d/src/link" 2>/dev/null || true
		find "$d/src" -exec touch -h -d @1111111111 {} +
		# the archive: new files, files over lower ones, into merged and lower-only dirs, a
		# dir over a whiteout (wh_dir) and over a lower file (stack_f)
		mkdir -p "$d/tar/nest/deep/newdir" "$d/tar/l3only/x/y" "$d/tar/wh_dir" "$d/tar/newtop"
		echo "tar only_l3" >"$d/tar/only_l3"
		echo "tar nest/f_3" >"$d/tar/nest/f_3"
		echo "tar new" >"$d/tar/nest/deep/newdir/new"
		echo "tar in lower-only dir" >"$d/tar/l3only/x/y/tarfile"
		echo "tar over whiteout" >"$d/tar/wh_dir/x"
		echo "tar new top" >"$d/tar/newtop/f"
		ln -s ../only_l1 "$d/tar/newtop/sl"
		ln "$d/tar/newtop/f" "$d/tar/newtop/hl"
		chmod 0751 "$d/tar/nest/deep/newdir"
		chmod 0600 "$d/tar/only_l3"
		find "$d/tar" -exec touch -h -d @1222222222 {} +
		tar -C "$d/tar" --sort=name --numeric-owner -cf "$d/in.tar" only_l3 nest l3only wh_dir newtop
	) || { echo "wr_inputs: failed" >&2; return 1; }
	WR_SRC=$d/src WR_TAR=$d/in.tar
	export WR_SRC WR_TAR
}

# wr__fixtures FMT BASE: builds BASE/fx (the fixture as the shim gets it) and BASE/kfx (what the
# kernel gets: the same, converted to kernel format for oci/mixed); sets WR_T0 and WR_KFMT
wr__fixtures() {
	local fmt=$1 base=$2
	ovl_fixture "$fmt" "$base/fx" "$WR_M" || return 1
	case $fmt in
	oci | mixed)
		ovl_copy_fixture "$base/fx" "$base/kfx" &&
			ovl_convert_to_kernel "$base/kfx/l1" "$base/kfx/l2" "$base/kfx/l3" "$base/kfx/u" || return 1
		WR_KFMT=kernel ;;
	*)
		WR_KFMT=$fmt
		ln -s fx "$base/kfx" ;;
	esac
	sleep 0.01
	WR_T0=$(date +%s%N)
	touch -d "@${WR_T0:0:10}.${WR_T0:10}" "$base/t0ref"
	sleep 0.01
}

# wr__upper_dump FMT UPPERDIR OUT: normalised upper dump (oci/mixed: of a kernel-format copy)
wr__upper_dump() {
	local fmt=$1 u=$2 out=$3 c
	case $fmt in
	oci | mixed)
		c=$u.conv
		rm -rf "$c" && cp -a "$u" "$c" && ovl_convert_to_kernel "$c" >"$out.err" 2>&1
		u=$c ;;
	esac
	# shellcheck disable=SC2086
	$OVL_TOOL tree --all-xattrs $WR_TREE_OPTS "$u" | wr_norm upper "$WR_T0" >"$out"
}

# wr__side_dir SRC DEST NOBODY: DEST gets SRC's upper (a fresh copy), an empty work dir and
# symlinks to SRC's lower layers (the lowers are shared by all scenarios: they are never
# written, which every scenario checks, and restored from a pristine copy if one was)
wr__side_dir() {
	local src=$1 dest=$2 l
	rm -rf "$dest" && mkdir -p "$dest/w" || return 1
	for l in l1 l2 l3; do ln -s "$src/$l" "$dest/$l"; done
	cp -a "$src/u" "$dest/u"
	[ "$3" = 1 ] && chown 65534:65534 "$dest/u" "$dest/w"
	return 0
}

# wr_run FMT LABEL: runs every declared scenario for fixture format FMT (see the header)
wr_run() {
	local fmt=$1 label=$2 base i name cmd kx sx ix out kl
	base=$(ovl_mktemp_dir "wr.$label.$fmt")
	WR_M=$base/mp/m
	export WR_M
	mkdir -p "$WR_M"
	if ! wr__fixtures "$fmt" "$base"; then
		ovl_fail "$label/$fmt/fixture" "fixture build failed"
		return
	fi
	if ! ovl_can_mount; then
		ovl_skip "$label/$fmt: kernel overlay mount refused" "$OVL_MOUNT_ERR"
		return
	fi
	local shim=1 rec selftest=0
	ovl_shim_available || shim=0
	case $(ovl_runner) in kernel | none) selftest=1 ;; esac
	WR_FORMAT_OK=0
	kl=$(ovl_lowers "$base/kfx")
	cp -a "$base/fx" "$base/fx.pristine"
	ovl_lowers_snapshot "$base/fx" "$base/lowers.before"
	for i in "${!WR_NAMES[@]}"; do
		name=${WR_NAMES[i]} cmd=${WR_CMDS[i]}
		[ -n "${OVL_WRITE_ONLY:-}" ] && ! [[ $name =~ $OVL_WRITE_ONLY ]] && continue
		out=$base/out/$name
		mkdir -p "$out"
		# --- kernel
		kx=$base/k
		wr__side_dir "$base/kfx" "$kx" "${WR_NOBODY[i]}"
		if ! wr_kernel_mount "$WR_KFMT" "$kl" "$kx/u" "$kx/w"; then
			ovl_skip "$label/$fmt/$name" "kernel mount refused: $OVL_MOUNT_ERR"
			continue
		fi
		WR_AS_NOBODY=${WR_NOBODY[i]} wr_exec kernel "$WR_KFMT" "$kx" "$out/k.out" "$cmd"
		wr__post "${WR_FILTERS[i]}" "${WR_SORTS[i]}" "$out/k.out"
		# shellcheck disable=SC2016
		wr_exec kernel "$WR_KFMT" "$kx" "$out/k.tree" '$OVL_TOOL tree $WR_TREE_OPTS "$M"'
		ovl_umount "$WR_M"
		wr__upper_dump kernel "$kx/u" "$out/k.upper"
		if [ $shim = 0 ]; then
			ovl_skip "$label/$fmt/$name" "$OVL_SHIM_WHY; kernel side ran"
			continue
		fi
		# --- shim
		sx=$base/s
		wr__side_dir "$base/fx" "$sx" "${WR_NOBODY[i]}"
		WR_AS_NOBODY=${WR_NOBODY[i]} wr_exec shim "$fmt" "$sx" "$out/s.out" "$cmd"
		wr__post "${WR_FILTERS[i]}" "${WR_SORTS[i]}" "$out/s.out"
		# shellcheck disable=SC2016
		wr_exec shim "$fmt" "$sx" "$out/s.tree" '$OVL_TOOL tree $WR_TREE_OPTS "$M"'
		[ "$(ovl_runner)" = kernel ] && mountpoint -q "$WR_M" && ovl_umount "$WR_M"
		wr__upper_dump "$fmt" "$sx/u" "$out/s.upper"
		for f in k.tree s.tree; do wr_norm merged "$WR_T0" <"$out/$f" >"$out/$f.n"; done
		ovl_diffout "$label/$fmt/$name" "$out/k.out" "$out/s.out" kernel shim
		ovl_diffout "$label/$fmt/$name/tree" "$out/k.tree.n" "$out/s.tree.n" kernel shim
		ovl_diffout "$label/$fmt/$name/upper" "$out/k.upper" "$out/s.upper" "kernel upper" "shim upper"
		ovl_lowers_snapshot "$base/fx" "$out/lowers.after"
		if cmp -s "$base/lowers.before" "$out/lowers.after"; then
			ovl_pass "$label/$fmt/$name/lowers"
		else
			ovl_fail "$label/$fmt/$name/lowers" "$(diff -u --label "lowers before" --label "lowers after" \
				"$base/lowers.before" "$out/lowers.after" | head -n 40)"
			# restore them, so that the next scenarios start from the fixture again
			rm -rf "$base/fx/l1" "$base/fx/l2" "$base/fx/l3"
			cp -a "$base/fx.pristine/l1" "$base/fx.pristine/l2" "$base/fx.pristine/l3" "$base/fx/"
			ovl_lowers_snapshot "$base/fx" "$base/lowers.before"
		fi
		# writes that escaped the overlay land in the real (hidden) MERGED dir
		if [ -n "$(ls -A "$WR_M")" ]; then
			ovl_fail "$label/$fmt/$name: wrote into the real MERGED dir" "$(ls -lA "$WR_M")"
			find "$WR_M" -mindepth 1 -delete
		fi
		# the format record (DESIGN.md 1): present once a marker was written, and the pair
		# chardev/xattr (this machine's file systems take both)
		# (not for the harness self-tests: a kernel writes no such record)
		if [ "$selftest" = 0 ] && {
			[ -n "$(find "$sx/u" -newer "$base/t0ref" \( -type c -o -name '.wh.*' \) -print -quit)" ] ||
				[ -e "$sx/w/ovlshim/format" ]
		}; then
			rec=$(cat "$sx/w/ovlshim/format" 2>&1)
			if [ "$rec" = $'whiteout=chardev\nopaque=xattr' ]; then
				WR_FORMAT_OK=$((WR_FORMAT_OK + 1))
			else
				ovl_fail "$label/$fmt/$name/format-record" "WORK/ovlshim/format: $rec"
			fi
		fi
		# --- the kernel mounts (a copy of) the shim's upper over the kernel-format lowers
		ix=$base/i
		rm -rf "$ix" && mkdir -p "$ix/w"
		cp -a "$sx/u" "$ix/u"
		case $fmt in oci | mixed) ovl_convert_to_kernel "$ix/u" ;; esac
		if wr_kernel_mount "$WR_KFMT" "$kl" "$ix/u" "$ix/w"; then
			# shellcheck disable=SC2016
			wr_exec kernel "$WR_KFMT" "$ix" "$out/i.tree" '$OVL_TOOL tree $WR_TREE_OPTS "$M"'
			ovl_umount "$WR_M"
			wr_norm merged "$WR_T0" <"$out/i.tree" >"$out/i.tree.n"
			ovl_diffout "$label/$fmt/$name/interop" "$out/s.tree.n" "$out/i.tree.n" \
				"shim view" "kernel mount of the shim's upper"
		else
			ovl_fail "$label/$fmt/$name/interop" "the kernel refuses the shim's upper: $OVL_MOUNT_ERR"
		fi
		if [ "${OVL_KEEP:-0}" = 1 ]; then # the uppers and work dirs of both sides
			mv "$kx" "$out/k" && mv "$sx" "$out/s"
		fi
		rm -rf "$kx" "$sx" "$ix"
	done
	if [ $shim = 1 ] && [ $selftest = 0 ]; then
		if [ "$WR_FORMAT_OK" -gt 0 ]; then
			ovl_pass "$label/$fmt/format-record ($WR_FORMAT_OK scenarios wrote markers)"
		else
			ovl_fail "$label/$fmt/format-record" "no scenario recorded WORK/ovlshim/format"
		fi
	fi
}

# wr_run_formats LABEL FMT...: wr_run for each format, the formats in parallel (they share
# nothing: own fixture, own merged path) unless OVL_WRITE_JOBS=1; the outputs are printed in
# format order and counted into the harness totals.
wr_run_formats() {
	local label=$1 fmt pids=() logs=() i line
	shift
	ovl_can_mount || true # probe once, before the children, which inherit the answer
	ovl_shim_available || true
	if [ "${OVL_WRITE_JOBS:-2}" = 1 ] || [ $# -lt 2 ]; then
		for fmt in "$@"; do wr_run "$fmt" "$label"; done
		return
	fi
	for fmt in "$@"; do
		logs+=("$OVL_T/wr.$label.$fmt.log")
		# a mount a killed child leaves behind goes at exit
		ovl_at_exit "mountpoint -q '$OVL_T/wr.$label.$fmt/mp/m' && umount -l '$OVL_T/wr.$label.$fmt/mp/m'"
		# shellcheck disable=SC2030,SC2031 # the child counts its own; the parent counts its lines
		(
			trap - EXIT
			OVL_NPASS=0 OVL_NFAIL=0 OVL_NSKIP=0 OVL_MOUNTS=()
			wr_run "$fmt" "$label"
			for ((i = ${#OVL_MOUNTS[@]} - 1; i >= 0; i--)); do
				mountpoint -q "${OVL_MOUNTS[i]}" && umount -l "${OVL_MOUNTS[i]}"
			done
		) >"${logs[-1]}" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[i]}"
		# shellcheck disable=SC2031
		while IFS= read -r line; do
			case $line in
			"PASS "*) OVL_NPASS=$((OVL_NPASS + 1)) ;;
			"FAIL "*) OVL_NFAIL=$((OVL_NFAIL + 1)) ;;
			"SKIP: "*) OVL_NSKIP=$((OVL_NSKIP + 1)) ;;
			esac
			printf '%s\n' "$line"
		done <"${logs[i]}"
	done
}
