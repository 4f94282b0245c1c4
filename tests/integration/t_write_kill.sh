#!/usr/bin/env bash
# SIGKILL during copy-up (issue 3: "a SIGKILL at any moment never leaves a partial file
# visible", DESIGN.md "Work dir and concurrency"). A large lower file is copied up by
#     ovlrun ... -- sh -c 'echo x >> MERGED/big'
# and the sh doing the copy-up is killed with SIGKILL at a random moment, many times. After
# each kill:
#   - the upper holds no big at all, or a complete one (old, or old + "x\n");
#   - the merged view (read by the next ovlrun) shows the old file or the complete new one;
#   - that next ovlrun leaves WORK/work without #ovlshim-* leftovers (records of removed directories aside, README "Design notes");
#   - ovlrun (which stays the parent and is not killed) still removes its temporary config.
# Then the upper copy is removed (offline, no job running) and the next round starts.
#   OVL_KILL_MB (default 200) size of the file, OVL_KILL_ROUNDS (default 30)
source "$(dirname "$0")/../lib/lib.sh"
source "$(dirname "$0")/../lib/write.sh"

MB=${OVL_KILL_MB:-200}
ROUNDS=${OVL_KILL_ROUNDS:-30}

if ! ovl_shim_available; then
	ovl_skip "write-kill: all" "$OVL_SHIM_WHY"
	ovl_summary
	exit
fi
case $(ovl_runner) in ovlrun) ;; *)
	ovl_skip "write-kill: all" "needs ovlrun (runner $(ovl_runner))"
	ovl_summary
	exit ;;
esac

d=$(ovl_mktemp_dir kill)
mkdir -p "$d"/{l1,l2,u,w,mp/m}
M=$d/mp/m
export M
head -c $((MB * 1024 * 1024)) /dev/urandom >"$d/l1/big"
echo "small" >"$d/l2/small"
REF=$d/ref
cp "$d/l1/big" "$REF"
S=$(stat -c %s "$REF")
export REF S
ovl_hash_layers "$d/l1" "$d/l2" >"$d/lowers.before"
OPTS="lowerdir=$d/l1:$d/l2,upperdir=$d/u,workdir=$d/w"
# ovlrun's temporary configs go here, so that the test can see that none is left behind
mkdir -p "$d/tmp"
export TMPDIR=$d/tmp

run() { "$OVL_OVLRUN" -o "$OPTS" "$M" -- "$@"; }

# classify FILE: old | new | torn (size, or content, is neither)
# shellcheck disable=SC2016
CLASSIFY='f=$1; s=$(stat -c %s "$f") || { echo missing; exit; }
if [ "$s" = "$S" ] && cmp -s "$REF" "$f"; then echo old
elif [ "$s" = $((S + 2)) ] && cmp -s -n "$S" "$REF" "$f" && [ "$(tail -c 2 "$f" | od -An -c | tr -d " ")" = "x\n" ]; then echo new
else echo "torn(size $s)"; fi'
classify_real() { bash -c "$CLASSIFY" _ "$1"; }
classify_merged() { run bash -c "$CLASSIFY" _ "$M/big"; }
leftovers() { find "$d/w/work" -mindepth 1 -maxdepth 1 -name '#ovlshim-*' ! -name '#ovlshim-dead-*' 2>/dev/null | wc -l; }

# one uncontended round: how long a copy-up takes, and that it works at all
t0=$(date +%s%N)
run sh -c 'echo x >> "$M/big"'
rc=$?
t1=$(date +%s%N)
T=$(((t1 - t0) / 1000000)) # ms
got=$(classify_merged)
if [ $rc = 0 ] && [ "$got" = new ] && [ "$(classify_real "$d/u/big")" = new ]; then
	ovl_pass "write-kill/uncontended-append (${T} ms for ${MB} MB)"
else
	ovl_fail "write-kill/uncontended-append" "rc=$rc merged=$got upper=$(classify_real "$d/u/big")"
fi
rm -f "$d/u/big"
[ "$T" -lt 20 ] && T=20

bad_view="" bad_upper="" bad_left="" hits=0 news=0 olds=0 log=$d/log
for ((r = 1; r <= ROUNDS; r++)); do
	# a random moment within 1.3 times the uncontended duration
	ms=$((RANDOM % (T * 13 / 10 + 1)))
	# started directly, so that $! is ovlrun itself and its child the sh doing the copy-up
	"$OVL_OVLRUN" -o "$OPTS" "$M" -- sh -c 'echo x >> "$M/big"' &
	pid=$!
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	victims=$(pgrep -P "$pid")
	# shellcheck disable=SC2086 # one pid per word
	[ -n "$victims" ] && kill -KILL $victims 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	n=$(leftovers)
	[ "$n" -gt 0 ] && hits=$((hits + 1))
	up=absent
	[ -e "$d/u/big" ] && up=$(classify_real "$d/u/big")
	view=$(classify_merged)
	left=$(leftovers)
	echo "round $r: sleep ${ms}ms rc=$rc leftovers-after-kill=$n upper=$up view=$view leftovers-after-next-run=$left" >>"$log"
	case $view in old) olds=$((olds + 1)) ;; new) news=$((news + 1)) ;; *) bad_view+="round $r: view=$view"$'\n' ;; esac
	case $up in absent | old | new) ;; *) bad_upper+="round $r: upper=$up"$'\n' ;; esac
	[ "$left" = 0 ] || bad_left+="round $r: $left leftovers: $(find "$d/w/work" -mindepth 1 -maxdepth 1 -printf '%f ')"$'\n'
	rm -f "$d/u/big"
done

if [ -z "$bad_view" ]; then
	ovl_pass "write-kill/merged-view-old-or-new ($olds old, $news new in $ROUNDS rounds)"
else
	ovl_fail "write-kill/merged-view-old-or-new" "$bad_view$(tail -n 5 "$log")"
fi
if [ -z "$bad_upper" ]; then ovl_pass "write-kill/upper-never-partial"; else
	ovl_fail "write-kill/upper-never-partial" "$bad_upper"
fi
if [ -z "$bad_left" ]; then ovl_pass "write-kill/next-ovlrun-starts-clean"; else
	ovl_fail "write-kill/next-ovlrun-starts-clean" "$bad_left"
fi
if [ "$hits" -gt 0 ]; then
	ovl_pass "write-kill/kills-landed-mid-copy-up ($hits of $ROUNDS left a temporary behind)"
else
	ovl_skip "write-kill/kills-landed-mid-copy-up" "no kill left a temporary behind; the rounds proved little"
fi
left=$(find "$d/tmp" -mindepth 1 -printf '%f ')
ovl_assert_eq "write-kill/ovlrun-removed-its-configs" "" "$left"
ovl_hash_layers "$d/l1" "$d/l2" >"$d/lowers.after"
ovl_diffout "write-kill/lowers-unchanged" "$d/lowers.before" "$d/lowers.after" "lowers before" "lowers after"
[ "${OVL_VERBOSE:-0}" = 1 ] && cat "$log"
ovl_summary
