#!/usr/bin/env bash
# Bad input (issue 5 item 3; DESIGN.md 1): each case gives the kernel overlay's errno, or one
# clear message, and loses nothing. Compared with a kernel overlay where the kernel defines the
# behaviour (same merged path, same layer path lengths, one fresh copy of the layers per side):
#   start-up     missing or unreadable layers: one line on stderr naming the layer, exit status
#                non-zero, the program not run (ovlrun -o and LD_PRELOAD+OVL_CONF; malformed
#                configs are t_conf.sh's)
#   lower-gone   a lower removed (rm -rf) while a job runs: later calls on its names give
#                ENOENT/ESTALE, no crash, the upper and the other lower intact (the kernel's
#                behaviour here is undefined: no oracle)
#   work-gone    the work dir removed while a job runs: writes that need it give an errno (the
#                kernel's, or ENOENT), nothing half-written in the upper, lowers intact, and the
#                upper still reads the same when the kernel mounts it
#   dotdot       `..` climbing out of MERGED reaches the real parent (reads, writes, EXDEV
#                across the boundary) and comes back in through the overlay
#   symout       symlinks in a lower pointing outside MERGED: followed to the real target; a
#                read-only target (a read-only bind mount) stays read-only
#   name255      names of 255 bytes work everywhere, 256 give ENAMETOOLONG
#   pathmax      merged paths of 4095 bytes work (with layer paths longer than MERGED, so the
#                real paths exceed PATH_MAX), 4096 give ENAMETOOLONG
#   nonutf8      non-UTF-8 names: listed, created, copied up, renamed, removed
#   enospc       upper and work on a 1 MiB tmpfs, a 4 MiB lower file appended: ENOSPC, the old
#                content kept, no partial file in the upper, WORK/work clean, space given back
#   eacces       uid 65534 on root-owned lowers it cannot read: EACCES, and no copy in the upper
#                (oracle: the kernel overlay mounted by that user in a user namespace, so that
#                copy-up runs with the user's rights as under the shim)
# Runs as root (kernel mounts, tmpfs, bind mounts, setpriv). ~40 s.
source "$(dirname "$0")/../lib/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
FSOPS="python3 $HERE/helpers/fsops.py"
export FSOPS
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --)

if ! ovl_shim_available; then
	ovl_skip "badinput: all" "$OVL_SHIM_WHY"
	ovl_summary
	exit
fi
case $(ovl_runner) in kernel | none)
	ovl_skip "badinput: all" "runner $(ovl_runner) is a harness self-test"
	ovl_summary
	exit ;;
esac
if ! ovl_is_root; then
	ovl_skip "badinput: all" "needs root (kernel overlay mounts, tmpfs, setpriv)"
	ovl_summary
	exit
fi
KERNEL=1
ovl_can_mount || KERNEL=0

# shim NAME-OF-OPTS-VAR: run a command under the shim: shim_run FX M CMD...
shim_run() {
	local fx=$1 m=$2
	shift 2
	"$OVL_OVLRUN" -o "lowerdir=$fx/l1:$fx/l2,upperdir=$fx/u,workdir=$fx/w${SHIM_EXTRA:+,$SHIM_EXTRA}" "$m" -- "$@"
}
kmount() { # FX M [OPTS]
	mount -t overlay ovltest -o "lowerdir=$1/l1:$1/l2,upperdir=$1/u,workdir=$1/w,${3:-$OVL_PINNED_DEFAULT}" "$2" &&
		OVL_MOUNTS+=("$2")
}

# ---------------------------------------------------------------- the comparison runner
# cmp_run NAME SETUP 'CMD' [nobody]
#   Two copies of the layers, $B/k$PAD and $B/s$PAD (same path length; PAD from the caller's
#   environment), each built by `SETUP FX OUT M` (l1 l2 u w under FX; OUT a real dir outside
#   the overlay, rebuilt for each side; M the merged path, the same for both sides). CMD runs
#   with bash -c from / with M, OUT and FSOPS set, on a kernel overlay of the k copy and under
#   the shim on the s copy. Compared: CMD's output, the merged tree afterwards, OUT's tree
#   afterwards; and the shim's lowers must not change. Sets CMP_B (the base dir) and CMP_S
#   (the shim's copy) for extra checks.
cmp_run() {
	local name=$1 setup=$2 cmd=$3 who=${4:-root} B M OUT fx side pre=()
	B=$(ovl_mktemp_dir "$name")
	M=$B/mp/m OUT=$B/mp/out
	export M OUT # for CMD (the export ends with this function)
	CMP_B=$B CMP_S=$B/s${PAD:-}
	[ "$who" = nobody ] && pre=("${NOBODY[@]}")
	if [ "$KERNEL" != 1 ]; then
		ovl_skip "$name: all" "kernel overlay mount refused: $OVL_MOUNT_ERR"
		return 1
	fi
	for side in k s; do
		fx=$B/$side${PAD:-}
		rm -rf "$OUT" "$M"
		mkdir -p "$fx"/{l1,l2,u,w} "$OUT" "$M"
		"$setup" "$fx" "$OUT" "$M" || { ovl_fail "$name/setup"; return 1; }
		if [ $side = k ]; then
			if [ "$who" = userns ]; then
				# the kernel overlay mounted by uid 65534 in its own user namespace
				"${NOBODY[@]}" unshare -Urm bash -c 'mount -t overlay ovltest -o "lowerdir=$1/l1:$1/l2,upperdir=$1/u,workdir=$1/w,$2" "$3" || exit 99
					cd / && bash -c "$4"' _ "$fx" "$OVL_PINNED_USER" "$M" "$cmd" >"$B/k.out" 2>&1
				if [ $? = 99 ]; then
					ovl_skip "$name: all" "user-namespace overlay mount refused: $(head -n 1 "$B/k.out")"
					return 1
				fi
				# the tree as root (inside the namespace the owners would read differently)
				kmount "$fx" "$M" "$OVL_PINNED_USER" || { ovl_skip "$name: all" "kernel mount refused"; return 1; }
				ovl_tree "$M" >"$B/k.tree" 2>&1
				ovl_umount "$M"
			else
				kmount "$fx" "$M" || { ovl_skip "$name: all" "kernel mount refused"; return 1; }
				(cd / && "${pre[@]}" bash -c "$cmd") >"$B/k.out" 2>&1
				ovl_tree "$M" >"$B/k.tree" 2>&1
				ovl_umount "$M"
			fi
		else
			ovl_hash_layers "$fx/l1" "$fx/l2" >"$B/lowers.before"
			if [ "$who" = userns ]; then pre=("${NOBODY[@]}"); fi
			(cd / && shim_run "$fx" "$M" "${pre[@]}" bash -c "$cmd") >"$B/s.out" 2>&1
			# shellcheck disable=SC2086 # OVL_TOOL is a command line
			shim_run "$fx" "$M" $OVL_TOOL tree "$M" >"$B/s.tree" 2>&1
		fi
		ovl_tree "$OUT" >"$B/$side.outtree" 2>&1
	done
	ovl_diffout "$name/results" "$B/k.out" "$B/s.out" kernel shim
	ovl_diffout "$name/merged-tree" "$B/k.tree" "$B/s.tree" kernel shim
	ovl_diffout "$name/outside-tree" "$B/k.outtree" "$B/s.outtree" kernel shim
	ovl_hash_layers "$CMP_S/l1" "$CMP_S/l2" >"$B/lowers.after"
	ovl_diffout "$name/lowers-unchanged" "$B/lowers.before" "$B/lowers.after" before after
}

# no_tmp NAME WORKDIR: WORK/work holds no #ovlshim-* leftovers (records of removed directories aside)
no_tmp() {
	local left
	left=$(find "$2/work" -mindepth 1 -maxdepth 1 -name '#ovlshim-*' ! -name '#ovlshim-dead-*' -printf '%f\n' 2>/dev/null)
	ovl_assert_eq "$1" "" "$left"
}

# ================================================================ start-up
# startup NAME WHO OPTS : ovlrun -o OPTS refuses: non-zero, one line naming the layer, no run
d=$(ovl_mktemp_dir startup)
mkdir -p "$d"/{l1,l2,u,w,m,locked/l,l000}
echo one >"$d/l1/f"
chmod 000 "$d/l000"
chmod 700 "$d/locked"
ln -s "$d/nowhere" "$d/dangling"
: >"$d/afile"
chown 65534:65534 "$d/u" "$d/w"
chmod 755 "$d"
startup() { # NAME WHO LAYER-NAMED OPTS
	local name=$1 who=$2 what=$3 opts=$4 pre=() rc err
	[ "$who" = nobody ] && pre=("${NOBODY[@]}")
	rm -f "$d/ran"
	(cd "$d" && "${pre[@]}" "$OVL_OVLRUN" -o "$opts" "$d/m" -- /bin/sh -c ': >"$1"; echo ran' _ "$d/ran") >"$d/out" 2>"$d/err"
	rc=$?
	err=$(cat "$d/err")
	if [ -e "$d/ran" ] || [ -s "$d/out" ]; then
		ovl_fail "startup/ovlrun/$name: the program ran" "rc=$rc stderr: $err"
	elif [ $rc = 0 ]; then
		ovl_fail "startup/ovlrun/$name: exit status 0" "stderr: $err"
	elif [ "$(grep -c . "$d/err")" != 1 ]; then
		ovl_fail "startup/ovlrun/$name: not one line on stderr" "$err"
	elif ! grep -qF "$what" "$d/err"; then
		ovl_fail "startup/ovlrun/$name: the message does not name $what" "$err"
	else
		ovl_pass "startup/ovlrun/$name (rc=$rc)"
	fi
}
startup missing-2nd-lower root "$d/gone" "lowerdir=$d/l1:$d/gone,upperdir=$d/u,workdir=$d/w"
startup dangling-lower root "$d/dangling" "lowerdir=$d/dangling:$d/l1,upperdir=$d/u,workdir=$d/w"
startup missing-upper root "$d/gone" "lowerdir=$d/l1,upperdir=$d/gone,workdir=$d/w"
startup missing-work root "$d/gone" "lowerdir=$d/l1,upperdir=$d/u,workdir=$d/gone"
startup upper-is-file root "$d/afile" "lowerdir=$d/l1,upperdir=$d/afile,workdir=$d/w"
startup lower-mode-000 nobody "$d/l000" "lowerdir=$d/l1:$d/l000,upperdir=$d/u,workdir=$d/w"
startup lower-in-unsearchable-dir nobody "$d/locked/l" "lowerdir=$d/locked/l:$d/l1,upperdir=$d/u,workdir=$d/w"
chown root:root "$d/w" && chmod 700 "$d/w"
startup work-unreadable nobody "$d/w" "lowerdir=$d/l1,upperdir=$d/u,workdir=$d/w"
chown 65534:65534 "$d/w" && chown root:root "$d/u" && chmod 700 "$d/u"
startup upper-unreadable nobody "$d/u" "lowerdir=$d/l1,upperdir=$d/u,workdir=$d/w"
chown 65534:65534 "$d/u" && chmod 755 "$d/u"

# the same through LD_PRELOAD + OVL_CONF (t_conf.sh has the missing-dir cases): one line naming
# the file and the line, non-zero, the program never reaches main
preload_startup() { # NAME WHO CONF-BODY
	local name=$1 who=$2 rc err pre=()
	[ "$who" = nobody ] && pre=("${NOBODY[@]}")
	printf '# test\n%s\n' "$3" >"$d/c.conf"
	chmod 644 "$d/c.conf"
	rm -f "$d/ran"
	"${pre[@]}" env OVL_CONF="$d/c.conf" LD_PRELOAD="$(ovl_preload_value)" /bin/sh -c ': >"$1"; echo ran' _ "$d/ran" >"$d/out" 2>"$d/err"
	rc=$?
	err=$(cat "$d/err")
	if [ -e "$d/ran" ] || [ -s "$d/out" ]; then
		ovl_fail "startup/preload/$name: the program ran" "rc=$rc stderr: $err"
	elif [ $rc = 0 ]; then
		ovl_fail "startup/preload/$name: exit status 0" "stderr: $err"
	elif [ "$(grep -c . "$d/err")" != 1 ] || ! grep -q "c\.conf:2" "$d/err"; then
		ovl_fail "startup/preload/$name: not one line naming c.conf:2" "$err"
	else
		ovl_pass "startup/preload/$name (rc=$rc)"
	fi
}
preload_startup lower-mode-000 nobody "$d/m lowerdir=$d/l1:$d/l000,upperdir=$d/u,workdir=$d/w"
preload_startup lower-in-unsearchable-dir nobody "$d/m lowerdir=$d/locked/l,upperdir=$d/u,workdir=$d/w"
preload_startup dangling-lower root "$d/m lowerdir=$d/l1:$d/dangling"

# ================================================================ a lower removed during a job
# The job reads through both lowers, holds an fd on a file of l2, signals, and waits; the test
# removes l2 (rm -rf); the job goes on. The kernel's answer is undefined here (its dentry
# cache keeps serving removed files), so the judge is the contract: names of the removed
# layer give ENOENT/ESTALE, the rest works, and nothing else on disk changes.
lower_gone() {
	local d fx M out line bad=""
	d=$(ovl_mktemp_dir lowergone)
	fx=$d/fx M=$d/mp/m
	mkdir -p "$fx"/{l1,l2,u,w} "$M" "$d/sync"
	echo a >"$fx/l1/a"
	echo b >"$fx/l2/b"
	mkdir -p "$fx/l1/d" "$fx/l2/d" "$fx/l2/only2/sub"
	echo ad >"$fx/l1/d/ad"
	echo bd >"$fx/l2/d/bd"
	echo o >"$fx/l2/only2/o"
	echo up >"$fx/u/up"
	ovl_hash_layers "$fx/l1" >"$d/l1.before"
	# shellcheck disable=SC2016
	(cd / && export M S=$d/sync && shim_run "$fx" "$M" bash -c '
		$FSOPS pre-b cat "$M/b" \; hold hold "$M/b" \; ready touch "$S/ready" \; wait await "$S/go" \
			\; b cat "$M/b" \; b-append append "$M/b" X \; bd cat "$M/d/bd" \; only2 stat "$M/only2/o" \
			\; only2-ls ls "$M/only2" \; only2-create write "$M/only2/new" N \; only2-mkdir mkdir "$M/only2/sub/x" \
			\; held-fd readheld \; a cat "$M/a" \; ad cat "$M/d/ad" \; up cat "$M/up" \
			\; a-append append "$M/a" X \; a-after cat "$M/a" \; new write "$M/new" N \; up-append append "$M/up" U \
			\; d-ls ls "$M/d" \; root-ls ls "$M"
		echo "job-rc=$?"
		# a process started after the removal: it runs and sees errnos, or refuses with one line
		# (only shell builtins here: a new program might be refused)
		$FSOPS child-b cat "$M/b" \; child-a cat "$M/a" \; child-d ls "$M/d" 2>"$S/child.err"
		echo "child-rc=$?"
	') >"$d/out" 2>&1 &
	local job=$!
	local i
	for i in $(seq 600); do [ -e "$d/sync/ready" ] && break; sleep 0.05; done
	rm -rf "$fx/l2"
	touch "$d/sync/go"
	wait $job
	local rc=$?
	out=$(cat "$d/out")
	# the expectations, one line each: NAME: ACCEPTED-REGEX
	while IFS='|' read -r key re; do
		line=$(grep -m1 "^$key: " <<<"$out" | sed "s/^$key: //")
		if ! grep -Eqx "$re" <<<"$line"; then
			bad+="$key: got '$line', want /$re/"$'\n'
		fi
	done <<'EOF'
pre-b|b\\x0a
b|ENOENT|ESTALE
b-append|ENOENT|ESTALE
bd|ENOENT|ESTALE
only2|ENOENT|ESTALE
only2-ls|ENOENT|ESTALE
only2-create|ENOENT|ESTALE
only2-mkdir|ENOENT|ESTALE
held-fd|b\\x0a
a|a\\x0a
ad|ad\\x0a
up|up\\x0a
a-append|ok
a-after|a\\x0aX
new|ok
up-append|ok
d-ls|ad
root-ls|ENOENT|ESTALE|a d new up
EOF
	if [ $rc != 0 ] || ! grep -q "^job-rc=0$" <<<"$out"; then
		bad+="job exit status $rc; $(grep job-rc <<<"$out")"$'\n'
	fi
	if [ -z "$bad" ]; then ovl_pass "lower-gone/job-sees-errnos-and-goes-on"; else
		ovl_fail "lower-gone/job-sees-errnos-and-goes-on" "$bad$out"
	fi
	# the child: either works (with errnos for l2's names) or refuses with one clear line
	local cl
	cl=$(grep '^child-rc=' <<<"$out")$(grep -c . "$d/sync/child.err")
	if grep -q '^child-b: \(ENOENT\|ESTALE\)$' <<<"$out" && grep -q '^child-a: a\\x0aX$' <<<"$out" &&
		grep -q '^child-d: ad$' <<<"$out" && [ "$cl" = "child-rc=00" ]; then
		ovl_pass "lower-gone/new-process-in-the-job (works, ENOENT for the removed layer)"
	elif [[ $cl =~ ^child-rc=([0-9]+)1$ ]] && [ "${BASH_REMATCH[1]}" != 0 ] &&
		[ "${BASH_REMATCH[1]}" -lt 128 ] && ! grep -q '^child-' <<<"$(grep -v child-rc <<<"$out")" &&
		grep -q "$fx/l2" "$d/sync/child.err"; then
		ovl_pass "lower-gone/new-process-in-the-job (refused with one line: $(cat "$d/sync/child.err"))"
	else
		ovl_fail "lower-gone/new-process-in-the-job" "$(grep '^child' <<<"$out"; cat "$d/sync/child.err")"
	fi
	ovl_hash_layers "$fx/l1" >"$d/l1.after"
	ovl_diffout "lower-gone/other-lower-unchanged" "$d/l1.before" "$d/l1.after" before after
	# the upper: what the job wrote, and nothing else (no whiteouts, no copies of l2's files)
	local u
	u=$(cd "$fx/u" && find . -printf '%y %p\n' | LC_ALL=C sort | tr '\n' ' ')
	ovl_assert_eq "lower-gone/upper-intact" "d . f ./a f ./new f ./up " "$u"
	ovl_assert_eq "lower-gone/upper-content" "$(printf 'aXNupU')" "$(cat "$fx/u/a" "$fx/u/new" "$fx/u/up" | tr -d '\n')"
	no_tmp "lower-gone/no-leftovers-in-work" "$fx/w"
}
lower_gone

# ================================================================ the work dir removed during a job
# The job makes one write first (so its write path is set up), signals, and waits; the test
# removes WORK (rm -rf); then writes that need the work dir. Oracle: the kernel overlay, whose
# work dir is removed the same way. Accepted: the kernel's errno, or ENOENT/ESTALE; then the
# upper must hold no copy, no temporary and no whiteout of the names, and (work dir
# recreated) the next ovlrun and a kernel mount of the upper show the same tree.
work_gone() { # LABEL PRE-OPS
	local label=$1 preops=$2 d side fx M
	d=$(ovl_mktemp_dir "workgone-$label")
	M=$d/mp/m
	for side in k s; do
		fx=$d/$side
		mkdir -p "$fx"/{l1,l2,u,w,sync} "$M"
		echo a >"$fx/l1/a"
		head -c 3000000 /dev/urandom >"$fx/l1/big"
		echo b >"$fx/l2/b"
		echo c >"$fx/l2/c"
		mkdir -p "$fx/l1/e" "$fx/l2/d"
		echo bd >"$fx/l2/d/bd"
		echo up >"$fx/u/up"
		[ $side = s ] && ovl_hash_layers "$fx/l1" "$fx/l2" >"$d/lowers.before"
		# shellcheck disable=SC2016
		local cmd='$FSOPS first write "$M/first" 1 '"$preops"' \; ready touch "$S/ready" \; wait await "$S/go" \
			\; append-lower append "$M/a" X \; append-big append "$M/big" X \; trunc-lower trunc "$M/a" 0 \
			\; unlink-lower unlink "$M/b" \; rmdir-lower rmdir "$M/e" \; rename-lower rename "$M/d/bd" "$M/d/bd2" \
			\; after-a cat "$M/a" \; after-ls ls "$M" \; after-d ls "$M/d"'
		if [ $side = k ]; then
			kmount "$fx" "$M" || { ovl_skip "work-gone/$label: all" "kernel mount refused"; return; }
			(cd / && export M S=$fx/sync && bash -c "$cmd") >"$d/$side.out" 2>&1 &
		else
			(cd / && export M S=$fx/sync && shim_run "$fx" "$M" bash -c "$cmd") >"$d/$side.out" 2>&1 &
		fi
		local job=$! i
		for i in $(seq 600); do [ -e "$fx/sync/ready" ] && break; sleep 0.05; done
		rm -rf "$fx/w"
		touch "$fx/sync/go"
		wait $job
		[ $side = k ] && ovl_umount "$M"
		mkdir "$fx/w"
	done
	# compare line by line: equal, or the kernel failed and the shim gave ENOENT/ESTALE
	local bad="" key kv sv
	while IFS= read -r kv; do
		key=${kv%%: *}
		sv=$(grep -m1 "^$key: " "$d/s.out")
		if [ "$kv" != "$sv" ] && ! { [[ ${kv#*: } == E* ]] && [[ ${sv#*: } =~ ^(ENOENT|ESTALE)$ ]]; }; then
			bad+="kernel '$kv'  shim '$sv'"$'\n'
		fi
	done <"$d/k.out"
	if [ -z "$bad" ] && [ -s "$d/s.out" ]; then ovl_pass "work-gone/$label/errnos"; else
		ovl_fail "work-gone/$label/errnos" "$bad"
	fi
	# nothing half-written: the upper holds only what the kernel's holds
	local ku su
	ku=$(cd "$d/k/u" && find . -printf '%y %m %s %p\n' | LC_ALL=C sort)
	su=$(cd "$d/s/u" && find . -printf '%y %m %s %p\n' | LC_ALL=C sort)
	ovl_assert_eq "work-gone/$label/upper-like-kernel" "$ku" "$su"
	ovl_hash_layers "$d/s/l1" "$d/s/l2" >"$d/lowers.after"
	ovl_diffout "work-gone/$label/lowers-unchanged" "$d/lowers.before" "$d/lowers.after" before after
	# the next job (work dir recreated) and a kernel mount of the shim's upper agree
	# shellcheck disable=SC2086 # OVL_TOOL is a command line
	shim_run "$d/s" "$M" $OVL_TOOL tree "$M" >"$d/s.tree" 2>&1
	if kmount "$d/s" "$M"; then
		ovl_tree "$M" >"$d/sk.tree" 2>&1
		ovl_umount "$M"
		ovl_diffout "work-gone/$label/kernel-reads-the-shims-upper" "$d/sk.tree" "$d/s.tree" kernel shim
	fi
}
work_gone fresh ""
# the same after a whiteout has been made (the whiteout format recorded, the work fds open)
# shellcheck disable=SC2016 # expanded by the job's shell
work_gone after-whiteout '\; pre-unlink unlink "$M/c"'

# ================================================================ `..` out of MERGED
setup_dotdot() { # FX OUT M
	echo l1 >"$1/l1/only_l1"
	mkdir -p "$1/l1/dir/sub"
	echo f >"$1/l1/dir/f"
	ln -s dir/sub "$1/l1/dl"
	echo l2 >"$1/l2/x"
	echo u >"$1/u/up"
	echo outside >"$2/o"
	mkdir "$2/od"
}
# shellcheck disable=SC2016
cmp_run dotdot setup_dotdot '
$FSOPS \
	read-out cat "$M/../out/o" \; read-deep cat "$M/dir/sub/../../../out/o" \
	\; parent-stat stat "$M/.." \; parent-ls ls "$M/.." \
	\; write-out write "$M/../out/new" N \; mkdir-out mkdir "$M/../out/nd" \; rmdir-out rmdir "$M/../out/od" \
	\; back-in-append append "$M/../m/only_l1" X \; back-in-deep append "$M/dir/../../m/x" Y \
	\; back-in-twice cat "$M/../../mp/m/dir/../only_l1" \; root-dotdot cat "/../../$M/x" \
	\; via-link append "$M/dl/../f" Z \
	\; rename-out rename "$M/up" "$M/../out/up2" \; rename-in rename "$M/../out/o" "$M/o2" \
	\; link-out link "$M/only_l1" "$M/../out/hl" \; link-in link "$M/../out/o" "$M/hl" \
	\; symlink-in-m symlink ../out/o "$M/s" \; via-symlink cat "$M/s" \; append-symlink append "$M/s" S \
	\; unlink-out unlink "$M/../out/new"
cd "$M/dir" && $FSOPS rel-out cat ../../out/o \; rel-write write ../../out/rel R \; rel-in append ../../m/dir/f W
cd "$M" && cd .. && $FSOPS from-parent cat m/only_l1 \; from-parent-write append m/x Q \; from-parent-new write m/pnew P
'

# ================================================================ symlinks in a lower pointing outside
RO=$(ovl_mktemp_dir ro-src)
RO_MNT=$(ovl_mktemp_dir ro)
echo "read-only" >"$RO/rofile"
mkdir "$RO/rodir"
if mount --bind "$RO" "$RO_MNT" && mount -o remount,bind,ro "$RO_MNT"; then
	OVL_MOUNTS+=("$RO_MNT")
	RO_OK=1
else
	RO_OK=0
fi
export RO_MNT
setup_symout() { # FX OUT M
	echo target >"$2/target"
	mkdir "$2/od"
	echo x >"$2/od/x"
	ln -s "$2/target" "$1/l1/abs"
	ln -s "$2/od" "$1/l1/absdir"
	ln -s ../out/target "$1/l1/rel"
	mkdir -p "$1/l2/deeper"
	ln -s ../../out/od/x "$1/l2/deeper/rel2"
	ln -s "$RO_MNT/rofile" "$1/l1/rolink"
	ln -s "$RO_MNT/rodir" "$1/l2/rodirlink"
	ln -s "$RO_MNT" "$1/l2/romnt"
}
if [ $RO_OK = 1 ]; then
	# shellcheck disable=SC2016
	cmp_run symout setup_symout '
$FSOPS \
	abs cat "$M/abs" \; rel cat "$M/rel" \; rel2 cat "$M/deeper/rel2" \; absdir ls "$M/absdir" \
	\; lstat stat "$M/abs" \; statf statf "$M/abs" \; readlink readlink "$M/rel" \
	\; ro-read cat "$M/rolink" \; ro-openw openw "$M/rolink" \; ro-openrw openrw "$M/rolink" \
	\; ro-append append "$M/rolink" X \; ro-trunc trunc "$M/rolink" 0 \; ro-chmod chmod "$M/rolink" 600 \
	\; ro-create write "$M/rodirlink/new" N \; ro-mkdir mkdir "$M/romnt/nd" \; ro-unlink unlink "$M/romnt/rofile" \
	\; ro-rmdir rmdir "$M/romnt/rodir" \; ro-after cat "$M/romnt/rofile" \
	\; rw-append append "$M/abs" A \; rw-create write "$M/absdir/new" N \; rw-rel-append append "$M/deeper/rel2" R \
	\; rw-chmod chmod "$M/rel" 600 \; after-target cat "$M/../out/target" \
	\; rename-link rename "$M/rel" "$M/rel-moved" \; moved-read cat "$M/rel-moved" \
	\; unlink-link unlink "$M/abs" \; target-kept cat "$M/../out/target"
'
	ovl_assert_eq "symout/read-only-target-unchanged" "read-only" "$(cat "$RO/rofile"; ls "$RO/rodir")"
else
	ovl_skip "symout: all" "cannot make a read-only bind mount"
fi

# ================================================================ names of 255 and 256 bytes
N255=$(printf 'n%.0s' {1..255})
N256=$(printf 'n%.0s' {1..256})
F255=$(printf 'f%.0s' {1..255})
G255=$(printf 'g%.0s' {1..255})
D255=$(printf 'd%.0s' {1..255})
R255=$(printf 'r%.0s' {1..255})
export N255 N256 F255 G255 D255 R255
setup_names() {
	echo f255 >"$1/l1/$F255"
	echo g255 >"$1/l2/$G255"
	mkdir "$1/l1/$D255"
	echo x >"$1/l1/$D255/x"
}
# shellcheck disable=SC2016
cmp_run name255 setup_names '
$FSOPS \
	read cat "$M/$F255" \; copy-up append "$M/$F255" X \; create write "$M/$N255" N \
	\; mkdir-257 mkdir "$M/$N255.d" \; mkdir mkdir "$M/${N255:4}.d" \; nested write "$M/${N255:4}.d/$N255" Z \
	\; rename rename "$M/$F255" "$M/$R255" \; link link "$M/$R255" "$M/$F255" \; symlink symlink "$N255" "$M/${N255:1}s" \
	\; whiteout unlink "$M/$G255" \; rmdir-full rmdir "$M/$D255" \; unlink-in unlink "$M/$D255/x" \; rmdir rmdir "$M/$D255" \
	\; create-256 write "$M/$N256" N \; open-256 cat "$M/$N256" \; stat-256 stat "$M/$N256/x" \; mkdir-256 mkdir "$M/$N256" \
	\; rename-to-256 rename "$M/$R255" "$M/$N256" \; rename-from-256 rename "$M/$N256" "$M/q" \; link-256 link "$M/$R255" "$M/$N256" \
	\; symlink-256 symlink x "$M/$N256" \; unlink-256 unlink "$M/$N256" \; rmdir-256 rmdir "$M/$N256" \
	\; ls ls "$M"
'
# the OCI whiteout format cannot whiteout a 255-byte name (".wh." + 255 > NAME_MAX): ENAMETOOLONG
# and nothing changes (DESIGN.md "On-disk formats")
d=$(ovl_mktemp_dir name255-oci)
mkdir -p "$d"/{l1,l2,u,w,mp/m}
setup_names "$d" "$d/out" "$d/mp/m"
# shellcheck disable=SC2086 # FSOPS is a command line
out=$(SHIM_EXTRA=whiteout=oci shim_run "$d" "$d/mp/m" $FSOPS unlink unlink "$d/mp/m/$G255" \; after stat "$d/mp/m/$G255" 2>&1)
ovl_assert_eq "name255/oci-whiteout-too-long" "$(printf 'unlink: ENAMETOOLONG\nafter: file size=5 mode=644')" "$out"
ovl_assert_eq "name255/oci-whiteout-too-long/upper-empty" "" "$(ls -A "$d/u")"

# ================================================================ paths near PATH_MAX
# MERGED is short, the layer dirs are long (PAD), so a merged path of 4095 bytes is a real
# path of more than 4200 bytes in every layer.
PAD=_$(printf 'p%.0s' {1..150})
export PAD
# merged paths of exactly 4095 and 4096 bytes: D (dirs in l1) + a last component
pm_names() { # M -> sets DEEP (rel dir), LEAF (so that len(M/DEEP/LEAF) == 4095)
	local m=$1 comp i
	comp=$(printf 'c%.0s' {1..200})
	DEEP=""
	for i in $(seq 19); do DEEP+="$comp$i/"; done
	DEEP=${DEEP%/}
	local used=$((${#m} + 1 + ${#DEEP} + 1))
	LEAF=$(printf 'z%.0s' $(seq $((4095 - used))))
	export DEEP LEAF
}
setup_pathmax() { # FX OUT M
	pm_names "$3"
	(cd "$1/l1" && mkdir -p "$DEEP" && cd "$DEEP" && echo leaf >"$LEAF" && echo short >s)
	(cd "$1/l2" && mkdir -p "${DEEP%/*}" && cd "${DEEP%/*}" && echo two >two)
}
pm_names "$(ovl_mktemp_dir pathmax)/mp/m"
if [ ${#LEAF} -lt 20 ] || [ ${#LEAF} -gt 250 ]; then
	ovl_fail "pathmax/setup" "scratch path too long for the test (leaf ${#LEAF} bytes)"
else
	# shellcheck disable=SC2016
	cmp_run pathmax setup_pathmax '
P="$M/$DEEP/$LEAF"; Q="$M/$DEEP/${LEAF%z}y"; L="$P"x; echo "len ${#P} ${#Q} ${#L}"
$FSOPS \
	stat-4095 stat "$P" \; read-4095 cat "$P" \; copy-up-4095 append "$P" X \; after cat "$P" \
	\; create-4095 write "$Q" N \; unlink-4095 unlink "$Q" \; mkdir-4095 mkdir "$Q" \; rmdir-4095 rmdir "$Q" \
	\; rename-4095 rename "$P" "$Q" \; rename-back rename "$Q" "$P" \; symlink-4095 symlink s "$Q" \; via-link cat "$Q" \
	\; readlink-4095 readlink "$Q" \; unlink-link unlink "$Q" \; link-4095 link "$P" "$Q" \
	\; stat-4096 stat "$L" \; read-4096 cat "$L" \; create-4096 write "$L" N \; mkdir-4096 mkdir "$L" \
	\; unlink-4096 unlink "$L" \; rename-to-4096 rename "$P" "$L" \; symlink-4096 symlink s "$L" \
	\; copy-up-short append "$M/$DEEP/s" S \; merged-ls ls "$M/${DEEP%/*}" \; two cat "$M/${DEEP%/*}/two"
# (a relative path whose cwd+path exceeds PATH_MAX is a documented difference: README "Paths")
cd "$M/${DEEP%/*}" && $FSOPS rel-4095 cat "${DEEP##*/}/$LEAF" \; rel-create write "${DEEP##*/}/${LEAF%z}w" W
'
fi
unset PAD

# ================================================================ non-UTF-8 names
setup_nonutf8() {
	echo latin1 >"$1/l1/caf"$'\xe9'
	mkdir "$1/l1/d"$'\xff'
	echo inner >"$1/l1/d"$'\xff/\x80x'
	echo bad >"$1/l2/bad"$'\xfe\xff'
	echo half >"$1/l2/"$'\xc3\x28'
	mkdir -p "$1/l2/m"$'\xe9'"x/sub"
	echo deep >"$1/l2/m"$'\xe9'"x/sub/f"$'\xa0'
}
export NU_E=$'\xe9' NU_FF=$'\xff' NU_FE=$'\xfe' NU_81=$'\x81' NU_C3=$'\xc3' NU_A0=$'\xa0'
# shellcheck disable=SC2016
cmp_run nonutf8 setup_nonutf8 '
$FSOPS \
	ls ls "$M" \; ls-dir ls "$M/d$NU_FF" \; read cat "$M/caf$NU_E" \; copy-up append "$M/caf$NU_E" X \
	\; create write "$M/new$NU_FF$NU_FE" N \; mkdir mkdir "$M/nd$NU_81" \
	\; rename rename "$M/caf$NU_E" "$M/ren$NU_E" \; whiteout unlink "$M/bad$NU_FE$NU_FF" \
	\; half cat "$M/$NU_C3(" \; half-rename rename "$M/$NU_C3(" "$M/h$NU_C3" \
	\; symlink symlink "t$NU_FF" "$M/s$NU_E" \; readlink readlink "$M/s$NU_E" \
	\; deep-copy-up append "$M/m${NU_E}x/sub/f$NU_A0" D \; after-ls ls "$M"
ls -b "$M" "$M/d$NU_FF"
rm -r "$M/d$NU_FF" && echo rm-r ok
cp "$M/ren$NU_E" "$M/cp$NU_FF" && cat "$M/cp$NU_FF"
ls -b "$M"
'

# ================================================================ ENOSPC in the upper during copy-up
setup_enospc() { # FX OUT M: u and w on a fresh 1 MiB tmpfs at FX/small
	mkdir -p "$1/small"
	mount -t tmpfs -o size=1m ovltest-small "$1/small" || return 1
	OVL_MOUNTS+=("$1/small")
	rmdir "$1/u" "$1/w"
	mkdir "$1/small/u" "$1/small/w"
	ln -s small/u "$1/u"
	ln -s small/w "$1/w"
	seq 1 1000000 | head -c $((4 * 1024 * 1024)) >"$1/l1/big" # the same content on both sides
	echo small >"$1/l2/small"
	sha256sum <"$1/l1/big" | cut -d' ' -f1 >"$2/big.sha"
}
# shellcheck disable=SC2016
cmp_run enospc setup_enospc '
$FSOPS append append "$M/big" X \; stat stat "$M/big" \; rdwr openrw "$M/big" \; trunc trunc "$M/big" 100 \
	\; rename rename "$M/big" "$M/big2" \; chmod chmod "$M/big" 600 \; small-append append "$M/small" S \; small cat "$M/small"
[ "$(sha256sum <"$M/big" | cut -d" " -f1)" = "$(cat "$OUT/big.sha")" ] && echo "big: old content"
'
if [ -n "${CMP_S:-}" ] && [ -d "$CMP_S/small" ]; then
	ovl_assert_eq "enospc/no-partial-in-upper" "small" "$(ls -A "$CMP_S/small/u")"
	no_tmp "enospc/no-leftovers-after-the-job" "$CMP_S/small/w"
	# a leftover from a killed copy-up is cleaned by the next ovlrun and its space given back
	head -c 524288 /dev/zero >"$CMP_S/small/w/work/#ovlshim-999999-1"
	shim_run "$CMP_S" "$CMP_B/mp/m" true
	no_tmp "enospc/next-ovlrun-cleans-work" "$CMP_S/small/w"
	used=$(df -k --output=used "$CMP_S/small" | tail -n 1 | tr -d ' ')
	if [ "$used" -lt 100 ]; then ovl_pass "enospc/space-given-back (${used} KiB used)"; else
		ovl_fail "enospc/space-given-back" "$used KiB still used on the 1 MiB tmpfs: $(du -a "$CMP_S/small")"
	fi
fi

# ================================================================ EACCES on lowers nobody cannot read
setup_eacces() { # lowers owned by root; upper and work by nobody
	echo secret >"$1/l1/secret"
	chmod 600 "$1/l1/secret"
	echo wo >"$1/l1/writeonly"
	chmod 222 "$1/l1/writeonly"
	echo pub >"$1/l1/pub"
	chmod 644 "$1/l1/pub"
	mkdir "$1/l2/locked"
	echo inner >"$1/l2/locked/f"
	chmod 700 "$1/l2/locked"
	mkdir -p "$1/l2/open"
	echo s2 >"$1/l2/open/s2"
	chmod 600 "$1/l2/open/s2"
	chown 65534:65534 "$1/u" "$1/w"
	chmod 755 "$1" "$1/l1" "$1/l2"
}
# shellcheck disable=SC2016
cmp_run eacces setup_eacces '
$FSOPS \
	read cat "$M/secret" \; openw openw "$M/secret" \; openrw openrw "$M/secret" \; append append "$M/secret" X \
	\; trunc trunc "$M/secret" 0 \; chmod chmod "$M/secret" 644 \
	\; wo-read cat "$M/writeonly" \; wo-openw openw "$M/writeonly" \; wo-append append "$M/writeonly" X \
	\; pub-read cat "$M/pub" \; pub-openw openw "$M/pub" \; pub-trunc trunc "$M/pub" 0 \
	\; locked-stat stat "$M/locked/f" \; locked-read cat "$M/locked/f" \; locked-openw openw "$M/locked/f" \
	\; locked-ls ls "$M/locked" \; locked-create write "$M/locked/new" N \
	\; nested-read cat "$M/open/s2" \; nested-openw openw "$M/open/s2" \; nested-append append "$M/open/s2" X
' userns
if [ -n "${CMP_S:-}" ] && [ -d "$CMP_S/u" ]; then
	ovl_assert_eq "eacces/no-copy-in-upper" "" "$(cd "$CMP_S/u" && find . -mindepth 1 -printf '%p ')"
	no_tmp "eacces/no-leftovers-in-work" "$CMP_S/w"
fi

# ---------------------------------------------------------------- marker names
# No call may make an object under a `.wh.` name in MERGED: it would read as a whiteout and
# hide a lower name (N-WH). Every creating call, link and rename's new name included, is EINVAL;
# the lower `x` stays visible and the lowers unchanged.
B=$(ovl_mktemp_dir whnames)
mkdir -p "$B"/{l1,l2,u,w,m}
echo x >"$B/l1/x"
echo f >"$B/l1/f"
ovl_hash_layers "$B/l1" "$B/l2" >"$B/before"
out=$(shim_run "$B" "$B/m" python3 -c '
import errno, os, sys
os.chdir(sys.argv[1])
for name, f in (("rename", lambda: os.rename("f", ".wh.x")), ("link", lambda: os.link("f", ".wh.x")),
                ("mkdir", lambda: os.mkdir(".wh.x")), ("symlink", lambda: os.symlink("f", ".wh.x")),
                ("mkfifo", lambda: os.mkfifo(".wh.x")), ("creat", lambda: os.close(os.open(".wh.x", os.O_CREAT | os.O_WRONLY)))):
    try: f(); print(name, "ok")
    except OSError as e: print(name, errno.errorcode[e.errno])
print(sorted(os.listdir(".")))
' "$B/m" 2>&1)
ovl_assert_eq "whnames/refused" "rename EINVAL
link EINVAL
mkdir EINVAL
symlink EINVAL
mkfifo EINVAL
creat EINVAL
['f', 'x']" "$out"
ovl_assert_eq "whnames/lowers-unchanged" "$(cat "$B/before")" "$(ovl_hash_layers "$B/l1" "$B/l2")"

# ---------------------------------------------------------------- a fifo in a read-only overlay
# A write to a fifo changes the times of the inode it was opened on: without an upper, a lower
# fifo opens for reading only (EROFS for writing; the kernel allows it), and the lower stays.
B=$(ovl_mktemp_dir rofifo)
mkdir -p "$B"/{l1,l2,m}
mkfifo "$B/l1/ff"
touch -d @1000000000 "$B/l1/ff"
ovl_hash_layers "$B/l1" "$B/l2" >"$B/before"
out=$("$OVL_OVLRUN" -o "lowerdir=$B/l1:$B/l2" "$B/m" -- python3 -c '
import errno, os, sys
p = sys.argv[1] + "/ff"
def t(name, fl):
    try: os.close(os.open(p, fl)); print(name, "ok")
    except OSError as e: print(name, errno.errorcode[e.errno])
t("write-no-reader", os.O_WRONLY | os.O_NONBLOCK)
fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK); print("read", len(os.read(fd, 10)))
t("write", os.O_WRONLY | os.O_NONBLOCK); t("rdwr", os.O_RDWR); os.close(fd)
' "$B/m" 2>&1)
# without a reader a non-blocking write-open is ENXIO, as on the kernel; with one, EROFS
ovl_assert_eq "rofifo/refused" "write-no-reader ENXIO
read 0
write EROFS
rdwr EROFS" "$out"
ovl_assert_eq "rofifo/lowers-unchanged" "$(cat "$B/before")" "$(ovl_hash_layers "$B/l1" "$B/l2")"

ovl_summary
