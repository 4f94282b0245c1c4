#!/usr/bin/env bash
# Faults (issue 5 item 4; DESIGN.md "Work dir and concurrency"): SIGKILL at random moments
# during copy-up, rename and rmdir, from several processes at once, many rounds.
# Each of OVL_FAULT_PROCS processes (one ovlrun each, all on the same layers) runs
# helpers/faultops.c on its own names: per step j, append to a lower file (copy-up), rename it,
# rmdir a lower dir, rmdir a dir that is in upper and lower, rename a lower file, rename an
# upper dir, unlink an upper file over a lower one — 7 one-call operations whose every prefix
# leaves a recognisable view. The first calls of all processes race to copy up the shared
# parent directory. Every process is killed (SIGKILL) at a random moment of the run. Then:
#   - the merged view (read by the next ovlrun, helpers/fault_judge.py) is, for every process,
#     exactly the state that some prefix of its operations gives: nothing torn, no partial
#     file, no leaked temporary or marker;
#   - the real upper holds no partial file;
#   - that next ovlrun has cleaned WORK/work (no #ovlshim-* left but records of removed directories, README "Design notes");
#   - the lower is unchanged.
# The upper is seeded afresh for each round; the work dir is kept, so each round's check also
# proves the previous round's leftovers were cleaned.
# Then, every kill point: one process runs the 7 operations once and is killed before its k-th
# call of each syscall that writes (strace --inject), for every k, with both whiteout formats;
# every intermediate state is judged the same way.
#   OVL_FAULT_PROCS (4)  OVL_FAULT_STEPS (6, operations = 7 x steps)  OVL_FAULT_SIZE (bytes of
#   each lower file, 1 MiB)  OVL_FAULT_ROUNDS (15)  OVL_FAULT_FORMAT (chardev | oci: the
#   whiteout format of the random rounds, default chardev)  OVL_FAULT_EXHAUSTIVE_FORMATS
#   ("chardev oci")
source "$(dirname "$0")/../lib/lib.sh"

HERE=$(cd "$(dirname "$0")" && pwd)
NPROC=${OVL_FAULT_PROCS:-4}
N=${OVL_FAULT_STEPS:-6}
SIZE=${OVL_FAULT_SIZE:-1048576}
ROUNDS=${OVL_FAULT_ROUNDS:-15}
FMT=${OVL_FAULT_FORMAT:-chardev}
JUDGE=(python3 "$HERE/helpers/fault_judge.py")

if ! ovl_shim_available; then
	ovl_skip "faults: all" "$OVL_SHIM_WHY"
	ovl_summary
	exit
fi
case $(ovl_runner) in ovlrun) ;; *)
	ovl_skip "faults: all" "needs ovlrun (runner $(ovl_runner))"
	ovl_summary
	exit ;;
esac
if ! command -v gcc >/dev/null; then
	ovl_skip "faults: all" "no gcc"
	ovl_summary
	exit
fi
if [ "$FMT" = chardev ] && ! ovl_is_root && ! mknod "$OVL_T/.probe" c 0 0 2>/dev/null; then
	ovl_skip "faults: all" "cannot seed chardev whiteouts as this user (OVL_FAULT_FORMAT=oci works)"
	ovl_summary
	exit
fi
rm -f "$OVL_T/.probe"

d=$(ovl_mktemp_dir faults)
FX=$d/fx
M=$d/mp/m
mkdir -p "$FX"/{l1,u,w} "$M"
if ! gcc -O1 -o "$d/faultops" "$HERE/helpers/faultops.c" 2>"$d/cc.err" ||
	! gcc -O1 -o "$d/noxattrat" "$HERE/helpers/noxattrat.c" 2>>"$d/cc.err"; then
	ovl_fail "faults/build" "$(cat "$d/cc.err")"
	ovl_summary
	exit
fi
oci=""
[ "$FMT" = oci ] && oci=oci
OPTS="lowerdir=$FX/l1,upperdir=$FX/u,workdir=$FX/w,whiteout=$FMT"
seed() { "${JUDGE[@]}" setup "$FX" "$NPROC" "$N" "$SIZE" $oci; }
seed || { ovl_fail "faults/setup"; ovl_summary; exit; }
ovl_hash_layers "$FX/l1" >"$d/lower.before"
leftovers() { find "$FX/w/work" -mindepth 1 -maxdepth 1 -name '#ovlshim-*' ! -name '#ovlshim-dead-*' 2>/dev/null | wc -l; }
judge_view() { "$OVL_OVLRUN" -o "$OPTS" "$M" -- "${JUDGE[@]}" view "$M" "$NPROC" "$N" "$SIZE"; }
TOTAL=$((7 * N))

# start_all: one ovlrun per process, in the background; pids in PIDS
start_all() {
	PIDS=()
	local p
	for ((p = 0; p < NPROC; p++)); do
		"$OVL_OVLRUN" -o "$OPTS" "$M" -- "$d/faultops" "$M" "$p" "$N" 2>>"$d/worker.err" &
		PIDS+=($!)
	done
}

# ---------------------------------------------------------------- one uncontended run
t0=$(date +%s%N)
start_all
rcs=""
for pid in "${PIDS[@]}"; do
	wait "$pid"
	rcs+="$? "
done
T=$((($(date +%s%N) - t0) / 1000000))
view=$(judge_view 2>&1)
want=$(for ((p = 0; p < NPROC; p++)); do echo "p$p prefix $TOTAL"; done)
if [ "$rcs" = "$(printf '0 %.0s' $(seq "$NPROC"))" ] && [ "$view" = "$want" ]; then
	ovl_pass "faults/uncontended-run ($NPROC x $TOTAL operations in ${T} ms)"
else
	ovl_fail "faults/uncontended-run" "exit statuses: $rcs"$'\n'"$view"$'\n'"$(cat "$d/worker.err")"
fi
[ "$T" -lt 50 ] && T=50

# ---------------------------------------------------------------- the kill rounds
log=$d/log
: >"$log"
bad_view="" bad_upper="" bad_left="" bad_rc="" hits=0 partial=0
for ((r = 1; r <= ROUNDS; r++)); do
	seed
	: >"$d/worker.err"
	start_all
	KILLERS=()
	for pid in "${PIDS[@]}"; do
		# a random moment within 1.2 times the uncontended duration
		ms=$((RANDOM * 32768 + RANDOM))
		ms=$((ms % (T * 12 / 10 + 1)))
		(
			sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
			victims=$(pgrep -P "$pid")
			# shellcheck disable=SC2086 # one pid per word
			[ -n "$victims" ] && kill -KILL $victims 2>/dev/null
		) &
		KILLERS+=($!)
	done
	rcs=""
	for pid in "${PIDS[@]}"; do
		wait "$pid"
		rc=$?
		rcs+="$rc "
		case $rc in 0 | 137) ;; *) bad_rc+="round $r: a process exited $rc: $(cat "$d/worker.err")"$'\n' ;; esac
	done
	for k in "${KILLERS[@]}"; do wait "$k" 2>/dev/null; done
	n=$(leftovers)
	[ "$n" -gt 0 ] && hits=$((hits + 1))
	view=$(judge_view 2>&1)
	left=$(leftovers)
	up=$("${JUDGE[@]}" upper "$FX" "$NPROC" "$N" "$SIZE" 2>&1)
	echo "round $r: exit $rcs| leftovers after the kills $n, after the next ovlrun $left | $(tr '\n' ' ' <<<"$view")| $up" >>"$log"
	if grep -q TORN <<<"$view" || [ "$(grep -c ' prefix ' <<<"$view")" != "$NPROC" ]; then
		bad_view+="round $r: $view"$'\n'
	fi
	grep -Eq " prefix ([1-9]|[1-9][0-9]+)$" <<<"$(grep -v " prefix $TOTAL$" <<<"$view")" && partial=$((partial + 1))
	[ "$up" = "upper ok" ] || bad_upper+="round $r: $up"$'\n'
	[ "$left" = 0 ] || bad_left+="round $r: $left left: $(find "$FX/w/work" -mindepth 1 -maxdepth 1 -printf '%f ')"$'\n'
done

if [ -z "$bad_view" ]; then
	ovl_pass "faults/view-is-a-prefix-state ($ROUNDS rounds x $NPROC processes)"
else
	ovl_fail "faults/view-is-a-prefix-state" "$(head -c 3000 <<<"$bad_view")"
fi
if [ -z "$bad_upper" ]; then ovl_pass "faults/no-partial-file-in-upper"; else
	ovl_fail "faults/no-partial-file-in-upper" "$(head -c 2000 <<<"$bad_upper")"
fi
if [ -z "$bad_left" ]; then ovl_pass "faults/next-ovlrun-cleans-work"; else
	ovl_fail "faults/next-ovlrun-cleans-work" "$(head -c 2000 <<<"$bad_left")"
fi
if [ -z "$bad_rc" ]; then ovl_pass "faults/no-unexpected-errors"; else
	ovl_fail "faults/no-unexpected-errors" "$(head -c 2000 <<<"$bad_rc")"
fi
# the rounds must have hit something, or they proved little
if [ "$hits" -gt 0 ] && [ "$partial" -gt 0 ]; then
	ovl_pass "faults/kills-landed-mid-run ($partial rounds stopped a process mid-sequence, $hits left temporaries behind)"
else
	ovl_skip "faults/kills-landed-mid-run" "$partial rounds stopped a process mid-sequence, $hits left temporaries: the rounds proved little"
fi
ovl_hash_layers "$FX/l1" >"$d/lower.after"
ovl_diffout "faults/lower-unchanged" "$d/lower.before" "$d/lower.after" before after
[ "${OVL_VERBOSE:-0}" = 1 ] && cat "$log"

# ---------------------------------------------------------------- every kill point, one process
# Random moments rarely hit the short windows between two steps of one operation. Here one
# process runs the 7 operations once and is killed (strace --inject signal=KILL, on entry)
# before its k-th call of each syscall that changes something on disk, for every k: every
# intermediate state the shim can leave behind is judged, for both whiteout formats.
MUTATORS=renameat2,renameat,rename,mkdirat,mkdir,unlinkat,unlink,rmdir,mknodat,openat,write,pwrite64,copy_file_range,fsync,fdatasync,ftruncate,fchmodat,fchmod,fchownat,fchown,utimensat,lsetxattr,setxattr,fsetxattr,ioctl,linkat,symlinkat
exhaustive() { # FORMAT
	local fmt=$1 x xo="" opts mx=$d/mp/mx pts s i rc view left up bad="" runs=0 kills=0
	x=$d/ex-$fmt
	[ "$fmt" = oci ] && xo=oci
	mkdir -p "$x"/{l1,u,w} "$mx"
	opts="lowerdir=$x/l1,upperdir=$x/u,workdir=$x/w,whiteout=$fmt"
	# every run starts from the same state (fresh upper and work), so that the k-th call of a
	# syscall is the same call in every run
	reset() {
		"${JUDGE[@]}" setup "$x" 1 1 65536 $xo
		rm -rf "$x/w" && mkdir "$x/w"
	}
	reset
	ovl_hash_layers "$x/l1" >"$d/ex.before"
	# the calls of an undisturbed run: the kill points are the calls that write (opens only
	# when they create or open for writing), each as SYSCALL:K (its K-th call of that syscall).
	# The shim runs without the *xattrat calls (noxattrat): Debian 12's strace cannot inject
	# into calls it has no name for, and their /proc-path fallbacks write the same things
	# at the same moments.
	"$OVL_OVLRUN" -o "$opts" "$mx" -- strace -f -qq -o "$d/ex.trace" -e trace="$MUTATORS" "$d/noxattrat" ENOSYS "$d/faultops" "$mx" 0 1
	pts=$(sed -E -n 's/^[0-9]+ +([a-z0-9_]+)\(/\1 /p' "$d/ex.trace" |
		awk '$1 ~ /^syscall_/ { next } { n[$1]++ } $1 != "openat" || /O_CREAT|O_WRONLY|O_RDWR|O_TRUNC/ { print $1 ":" n[$1] }')
	view=$("$OVL_OVLRUN" -o "$opts" "$mx" -- "${JUDGE[@]}" view "$mx" 1 1 65536 2>&1)
	if [ -z "$pts" ] || [ "$view" != "p0 prefix 7" ]; then
		ovl_fail "faults/every-kill-point/$fmt: the undisturbed run" "$view"$'\n'"$(head -n 5 "$d/ex.trace")"
		return
	fi
	for s in $pts; do
		i=${s#*:} s=${s%:*}
		reset
		"$OVL_OVLRUN" -o "$opts" "$mx" -- strace -f -qq -o /dev/null -e trace="$s" \
			-e inject="$s:signal=KILL:when=$i" "$d/noxattrat" ENOSYS "$d/faultops" "$mx" 0 1 2>"$d/ex.err"
		rc=$?
		runs=$((runs + 1))
		[ $rc = 137 ] && kills=$((kills + 1))
		view=$("$OVL_OVLRUN" -o "$opts" "$mx" -- "${JUDGE[@]}" view "$mx" 1 1 65536 2>&1)
		left=$(find "$x/w/work" -mindepth 1 -maxdepth 1 -name '#ovlshim-*' ! -name '#ovlshim-dead-*' 2>/dev/null | wc -l)
		up=$("${JUDGE[@]}" upper "$x" 1 1 65536 2>&1)
		if [ "$rc" != 137 ]; then
			bad+="killed before $s #$i: exit $rc (not killed): $(head -c 300 "$d/ex.err")"$'\n'
		fi
		if ! [[ $view =~ ^p0\ prefix\ [0-7]$ ]] || [ "$left" != 0 ] || [ "$up" != "upper ok" ]; then
			bad+="killed before $s #$i: $view | $left leftovers after the next ovlrun | $up"$'\n'
		fi
	done
	if [ -z "$bad" ]; then
		ovl_pass "faults/every-kill-point/$fmt ($kills of $runs kill points hit: each a prefix state, work cleaned)"
	else
		ovl_fail "faults/every-kill-point/$fmt" "$(head -c 3000 <<<"$bad")"
	fi
	ovl_hash_layers "$x/l1" >"$d/ex.after"
	ovl_diffout "faults/every-kill-point/$fmt/lower-unchanged" "$d/ex.before" "$d/ex.after" before after
}
if ! command -v strace >/dev/null; then
	ovl_skip "faults/every-kill-point" "no strace"
elif ! strace -f -qq -o /dev/null -e trace=getpid true 2>/dev/null; then
	ovl_skip "faults/every-kill-point" "strace cannot trace here"
else
	for f in ${OVL_FAULT_EXHAUSTIVE_FORMATS:-chardev oci}; do
		if [ "$f" = chardev ] && ! ovl_is_root && ! mknod "$OVL_T/.probe" c 0 0 2>/dev/null; then
			ovl_skip "faults/every-kill-point/chardev" "cannot seed chardev whiteouts as this user"
			continue
		fi
		rm -f "$OVL_T/.probe"
		exhaustive "$f"
	done
fi
ovl_summary
