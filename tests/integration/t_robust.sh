#!/usr/bin/env bash
# Robustness in any host process (issue 4 item 4; DESIGN.md principles 2, 8, 10): the C programs
# of tests/integration/stress/ (built here with gcc) run under the shim on a small overlay and,
# for comparison, on a kernel overlay of the same layers (as root):
#   threads     16 threads x OVL_ROBUST_ITERS iterations of lookups, reads, listings, realpath,
#               getcwd and writes (per-thread files, concurrent copy-up of shared lower files, a
#               copy-up race against fds being closed and reused); nothing lost at the end
#   forkload    fork and vfork+execve (merged programs, a #! script) while threads keep the shim
#               busy; vfork children that chdir must not move the parent's cwd
#   subproc     python3 subprocess (vfork) in a loop, with threads, env={} and cwd=
#   dash        dash `sh -c`, merged scripts, subshells with cd, in a loop
#   errnock     errno = 12345 before every successful call on a merged path: still 12345 after
#   sigstress   a SIGALRM handler (setitimer) calls stat, or stat and unlink, on merged paths
#               while the process is busy in overlay calls
#   fdclose     close_range / closefrom / close / dup2 over every fd 3..1023, then the merged tree
#               must still work (also under `ulimit -n 1024`)
# Every run has a watchdog: a hang is a deadlock, reported with gdb backtraces and killed.
# After each shim run the lowers must be unchanged and WORK/work free of leftovers.
#   OVL_ROBUST_ITERS   iterations per thread of `threads` (default 2000)
#   OVL_ROBUST_SECS    seconds of each sigstress run (default 2)
source "$(dirname "$0")/../lib/lib.sh"

SRC=$(cd "$(dirname "$0")/stress" && pwd)
ITERS=${OVL_ROBUST_ITERS:-2000}
SIGSECS=${OVL_ROBUST_SECS:-2}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

if ! ovl_shim_available; then
	ovl_skip "robust: all" "$OVL_SHIM_WHY"
	ovl_summary
	exit
fi
if ! command -v gcc >/dev/null; then
	ovl_skip "robust: all" "no gcc"
	ovl_summary
	exit
fi

# ---------------------------------------------------------------- build
BIN=$(ovl_mktemp_dir bin)
for p in mkfixture threads forkload errnock sigstress fdclose; do
	if ! gcc -std=gnu11 -O2 -g -Wall -Wextra -pthread -o "$BIN/$p" "$SRC/$p.c" 2>"$BIN/$p.err"; then
		ovl_fail "robust/build $p" "$(head -n 20 "$BIN/$p.err")"
	fi
done
if [ ! -x "$BIN/mkfixture" ]; then
	ovl_summary
	exit
fi

# ---------------------------------------------------------------- helpers
# rb_fixture NAME [shared] [cu] [pool] [many]: fresh layers in $OVL_T/NAME; sets FX and M
rb_fixture() {
	local name=$1
	shift
	FX=$(ovl_mktemp_dir "$name")
	M=$FX/mp/m
	mkdir -p "$FX"/{l1/bin,l2,l3,u,w} "$M"
	if ! "$BIN/mkfixture" "$FX/l1" "$FX/l2" "$FX/u" "$@" >"$FX/mkfixture.err" 2>&1 ||
		! cp /bin/true "$FX/l1/bin/true"; then
		ovl_fail "robust/fixture $name" "$(cat "$FX/mkfixture.err")"
	fi
}

# rb_desc PID: every descendant of PID
rb_desc() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		rb_desc "$c"
	done
}

# rb_ulimit N CMD...: CMD with the fd limit N (none if N is empty); rb_watch runs it in a
# background subshell, so the limit stays there
rb_ulimit() {
	if [ -n "$1" ]; then ulimit -n "$1" || return 125; fi
	shift
	"$@"
}

# rb_watch SECS OUT CMD...: run CMD (output to OUT) with a watchdog. Returns CMD's status, or
# 124 after SECS seconds: then the backtraces of the hung processes are in OUT.bt and the
# processes (CMD's own tree only, by pid) are killed.
rb_watch() {
	local secs=$1 out=$2 pid t=0 p n=0
	shift 2
	rm -f "$out.bt"
	"$@" >"$out" 2>&1 </dev/null &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$t" -ge $((secs * 10)) ]; then
			local tree
			tree=$(rb_desc "$pid")
			for p in $tree; do
				case $(cat "/proc/$p/comm" 2>/dev/null) in bash | ovlrun | timeout | sh | "") continue ;; esac
				[ $((n++)) -ge 3 ] && break
				echo "== pid $p ($(cat "/proc/$p/comm" 2>/dev/null))" >>"$out.bt"
				if command -v gdb >/dev/null; then
					timeout 30 gdb -p "$p" -batch -ex "thread apply all bt" 2>/dev/null |
						grep -E '^(#|Thread)' | head -n 40 >>"$out.bt"
				else
					cat "/proc/$p/stack" >>"$out.bt" 2>/dev/null
				fi
			done
			# shellcheck disable=SC2086
			kill -9 $tree "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.1
		t=$((t + 1))
	done
	wait "$pid"
}

# rb_result NAME RC OUT: one PASS/FAIL line from a run's status and output
rb_result() {
	local name=$1 rc=$2 out=$3
	if [ "$rc" -eq 0 ]; then
		ovl_pass "$name: $(tail -n 1 "$out")"
	elif [ "$rc" -eq 124 ]; then
		ovl_fail "$name: deadlock (still running at the watchdog's limit; killed)" \
			"$(tail -n 15 "$out"; echo "--- backtraces:"; head -n 60 "$out.bt" 2>/dev/null)"
	else
		ovl_fail "$name: exit status $rc" "$(tail -n 25 "$out")"
	fi
}

# rb_shim NAME SECS CMD...: CMD under the shim on $FX/$M (fd limit $RB_ULIMIT if set), watchdog,
# result, then the lowers must be unchanged and WORK/work must hold no leftovers
rb_shim() {
	local name=$1 secs=$2 out rc left
	shift 2
	out=$FX/out.shim
	ovl_lowers_snapshot "$FX" "$FX/lowers.before"
	rb_watch "$secs" "$out" rb_ulimit "${RB_ULIMIT:-}" ovl_shim_run kernel "$FX" "$M" "$@"
	rc=$?
	[ "$(ovl_runner)" = kernel ] && mountpoint -q "$M" && ovl_umount "$M"
	rb_result "$name" "$rc" "$out"
	ovl_assert_lowers_unchanged "$name: lowers unchanged" "$FX" "$FX/lowers.before"
	left=$(find "$FX/w/work" -mindepth 1 -maxdepth 1 -name '#ovlshim-*' ! -name '#ovlshim-dead-*' 2>/dev/null | head -n 5)
	if [ -z "$left" ]; then
		ovl_pass "$name: no leftovers in WORK/work"
	elif [ "$rc" -ne 124 ]; then # a process killed by the watchdog may leave some
		ovl_fail "$name: leftovers in WORK/work" "$left"
	fi
}

# rb_kernel NAME SECS CMD...: CMD on a kernel overlay mount of $FX at $M (the comparison)
rb_kernel() {
	local name=$1 secs=$2 out rc
	shift 2
	if ! ovl_can_mount; then
		ovl_skip "$name" "kernel overlay mount refused: $OVL_MOUNT_ERR"
		return
	fi
	if ! ovl_mount kernel "$FX" "$M"; then
		ovl_skip "$name" "kernel overlay mount refused: $OVL_MOUNT_ERR"
		return
	fi
	out=$FX/out.kernel
	rb_watch "$secs" "$out" "$@"
	rc=$?
	ovl_umount "$M"
	rb_result "$name" "$rc" "$out"
}


# a hung fork child: its backtrace, taken by forkload itself, then killed
export STRESS_HANG_SECS=5
export STRESS_ON_HANG='OVL_NO_PROPAGATE=1 env -u LD_PRELOAD -u OVL_CONF timeout 30 gdb -p %d -batch -ex "thread apply all bt" 2>/dev/null | grep -E "^(#|Thread)" | head -n 30 >&2'

# ---------------------------------------------------------------- threads
rb_fixture threads shared cu
rb_shim "threads/shim: 16 threads x $ITERS" 150 "$BIN/threads" "$M" 16 "$ITERS"
rb_fixture threads-k shared cu
rb_kernel "threads/kernel: 16 threads x $((ITERS / 4))" 90 "$BIN/threads" "$M" 16 $((ITERS / 4))

# ---------------------------------------------------------------- fork and vfork
rb_fixture forkload many
rb_shim "forkload/shim: 200 forks, 200 vforks under load" 120 "$BIN/forkload" "$M" 200 200
rb_fixture forkload-k many
rb_kernel "forkload/kernel: 200 forks, 200 vforks under load" 60 "$BIN/forkload" "$M" 200 200

if [ -x "$PY" ]; then
	rb_fixture subproc
	rb_shim "subproc/shim: python3 subprocess x 100 with threads" 90 "$PY" "$SRC/subproc.py" "$M" 100
	rb_fixture subproc-k
	rb_kernel "subproc/kernel: python3 subprocess x 100 with threads" 60 "$PY" "$SRC/subproc.py" "$M" 100
else
	ovl_skip "subproc" "no python3"
fi

# dash: sh -c, a merged #! script, a merged ELF, subshells that cd, writes; cwd never moves
# shellcheck disable=SC2016
DASH_LOOP='M=$1; i=0
cd "$M/deep/a" || exit 10
while [ $i -lt 150 ]; do
	sh -c "read l < \"$M/data/f0\" && [ \"\$l\" = \"data 0 from l1\" ]" || { echo "round $i: sh -c failed"; exit 1; }
	"$M/bin/child.sh" "$M/data/f1" "$M/bin/child.sh" || { echo "round $i: child.sh: $?"; exit 2; }
	"$M/bin/true" || { echo "round $i: bin/true: $?"; exit 3; }
	(cd "$M/ro" && [ -f a ] && [ ! -e b ]) || { echo "round $i: subshell cd"; exit 4; }
	[ "$(/bin/pwd)" = "$M/deep/a" ] || { echo "round $i: pwd is $(/bin/pwd)"; exit 5; }
	[ -d b ] || { echo "round $i: ./b missing"; exit 6; }
	echo x >"$M/tw/t20/d$i" && rm "$M/tw/t20/d$i" || { echo "round $i: write"; exit 7; }
	[ ! -e "$M/data/f3" ] || { echo "round $i: whiteout visible"; exit 8; }
	i=$((i + 1))
done
echo "dash: $i rounds"'
if command -v dash >/dev/null; then
	rb_fixture dash
	rb_shim "dash/shim: sh -c and merged scripts x 150" 90 dash -c "$DASH_LOOP" dash "$M"
else
	ovl_skip "dash" "no dash"
fi

# ---------------------------------------------------------------- errno
rb_fixture errnock
rb_shim "errnock/shim: errno unchanged by successful calls" 30 "$BIN/errnock" "$M"
# On the kernel overlay glibc itself changes errno in a few successful calls (realpath and
# canonicalize_file_name probe with readlink): this shows that the checker sees a change.
rb_fixture errnock-k
if ovl_can_mount && ovl_mount kernel "$FX" "$M"; then
	rb_watch 30 "$FX/out.kernel" "$BIN/errnock" "$M"
	rc=$?
	ovl_umount "$M"
	other=$(grep -E 'errno changed|call failed' "$FX/out.kernel" | grep -vE ': (realpath|canonicalize_file_name)')
	seen=$(grep -cE 'errno changed' "$FX/out.kernel")
	if [ "$rc" -eq 124 ] || [ -n "$other" ]; then
		ovl_fail "errnock/kernel: only glibc's own realpath/canonicalize_file_name change errno" \
			"$(tail -n 20 "$FX/out.kernel")"
	else
		ovl_pass "errnock/kernel: checker sees glibc's own errno changes ($seen, all in realpath/canonicalize_file_name)"
	fi
else
	ovl_skip "errnock/kernel" "kernel overlay mount refused: ${OVL_MOUNT_ERR:-}"
fi

# ---------------------------------------------------------------- signals
W=$((SIGSECS + 10))
rb_fixture sig-stat cu pool
rb_shim "sigstress/shim: handler stats, 1 thread" "$W" "$BIN/sigstress" "$M" "$SIGSECS" 1 stat
rb_fixture sig-stat2 cu pool
rb_shim "sigstress/shim: handler stats, 2 threads" "$W" "$BIN/sigstress" "$M" "$SIGSECS" 2 stat
rb_fixture sig-unlink cu pool
rb_shim "sigstress/shim: handler unlinks + stats, 1 thread" "$W" "$BIN/sigstress" "$M" "$SIGSECS" 1 unlink
rb_fixture sig-unlink2 cu pool
rb_shim "sigstress/shim: handler unlinks + stats, 2 threads" "$W" "$BIN/sigstress" "$M" "$SIGSECS" 2 unlink
rb_fixture sig-k cu pool
rb_kernel "sigstress/kernel: handler unlinks + stats, 2 threads" "$W" "$BIN/sigstress" "$M" "$SIGSECS" 2 unlink

# ---------------------------------------------------------------- close / dup2 over every fd
for mode in closerange closefrom closeloop dup2; do
	rb_fixture "fd-$mode"
	rb_shim "fdclose/shim: $mode" 30 "$BIN/fdclose" "$M" "$mode"
done
for mode in closerange dup2 fullstat; do
	rb_fixture "fd1024-$mode"
	RB_ULIMIT=1024 rb_shim "fdclose/shim (ulimit -n 1024): $mode" 30 "$BIN/fdclose" "$M" "$mode"
done
for mode in closerange closeloop dup2; do
	rb_fixture "fd-k-$mode"
	rb_kernel "fdclose/kernel: $mode" 30 "$BIN/fdclose" "$M" "$mode"
done

ovl_summary
