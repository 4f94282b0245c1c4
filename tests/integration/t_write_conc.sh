#!/usr/bin/env bash
# Concurrency (issue 3: "several processes that modify the same lower files at once: nothing
# lost or torn"; DESIGN.md principle 5, "the loser of a race uses the winner's copy").
# OVL_CONC_WORKERS (default 8) jobs, each its own ovlrun on the same layers, released at once:
#   - append lines to the same lower files (each append's open copies up on first use),
#   - append one line each to the same large lower file (racing copy-ups of 16 MB),
#   - touch (utimes copy-up) and chmod the same lower files,
#   - create files in the same lower directory and in the same deep lower-only directory
#     (racing parent copy-ups), and remove lower files there (racing whiteouts),
# and, in a second round, the same from one ovlrun whose shell starts all workers as children.
# Then, read through a fresh ovlrun: every appended line present exactly once and whole, the
# original content first, every created file present, the removed ones gone, the big file
# the lower's bytes followed by each worker's line; no #ovlshim-* leftovers in WORK/work after
# the next ovlrun; lowers unchanged.
source "$(dirname "$0")/../lib/lib.sh"
source "$(dirname "$0")/../lib/write.sh"

N=${OVL_CONC_WORKERS:-8}
ITER=${OVL_CONC_ITER:-25}
FILES="app0 app1 app2 nest/app3"

if ! ovl_shim_available; then
	ovl_skip "write-conc: all" "$OVL_SHIM_WHY"
	ovl_summary
	exit
fi

# the work of worker W (run under the shim); $M, $GO set
# shellcheck disable=SC2016,SC2089
WORKER='w=$1 n=$2
while [ ! -e "$GO" ]; do sleep 0.005; done
echo "w$w big" >> "$M/big"
for ((j = 1; j <= n; j++)); do
	for f in app0 app1 app2 nest/app3; do
		echo "w$w j$j $f 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz" >> "$M/$f"
	done
	: > "$M/shared/w$w-$j"
	echo "w$w" > "$M/deep/a/b/c/w$w-$j"
	[ $j = 1 ] && { touch "$M/touched"; chmod 0640 "$M/chmodded"; rm -f "$M/shared/rm$((w % 2))" "$M/deep/a/b/c/rm$w"; }
done
echo "w$w done"'

setup() { # DIR
	local d=$1 f i
	rm -rf "$d" && mkdir -p "$d"/{l1,l2,u,w,mp/m}
	for f in $FILES; do
		mkdir -p "$(dirname "$d/l1/$f")"
		echo "orig $f" >"$d/l1/$f"
	done
	head -c $((16 * 1024 * 1024)) /dev/urandom >"$d/l2/big"
	echo touched >"$d/l2/touched"
	echo chmodded >"$d/l2/chmodded"
	mkdir -p "$d/l1/shared" "$d/l2/shared" "$d/l2/deep/a/b/c"
	echo keep >"$d/l1/shared/keep"
	for i in 0 1 2 3; do echo rm >"$d/l2/shared/rm$i"; done
	for ((i = 1; i <= N; i++)); do echo rm >"$d/l2/deep/a/b/c/rm$i"; done
	touch -d @1000000000 "$d/l2/touched" "$d/l2/chmodded"
}

# verify DIR LABEL: the merged view through a fresh ovlrun, then leftovers and lowers
verify() {
	local d=$1 label=$2
	local M=$d/mp/m opts out f want
	opts="lowerdir=$d/l1:$d/l2,upperdir=$d/u,workdir=$d/w"
	out=$d/view
	mkdir -p "$out"
	# shellcheck disable=SC2016
	"$OVL_OVLRUN" -o "$opts" "$M" -- bash -c '
		o=$1; M=$2
		for f in app0 app1 app2 nest/app3; do cat "$M/$f" > "$o/${f//\//_}"; done
		cat "$M/big" > "$o/big"
		ls -A "$M/shared" > "$o/shared.ls"
		ls -A "$M/deep/a/b/c" > "$o/deep.ls"
		cat "$M"/deep/a/b/c/w* > "$o/deep.cat" 2>&1
		stat -c "%a %Y %s" "$M/touched" "$M/chmodded" > "$o/meta"
	' _ "$out" "$M" >"$d/verify.err" 2>&1
	local problems=""
	for f in $FILES; do
		local got=$out/${f//\//_} exp=$d/exp.$$
		{
			echo "orig $f"
			for ((w = 1; w <= N; w++)); do for ((j = 1; j <= ITER; j++)); do
				echo "w$w j$j $f 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"
			done; done
		} | sort >"$exp"
		if [ "$(head -n 1 "$got")" != "orig $f" ]; then problems+="$f: first line is $(head -n 1 "$got" | head -c 80)"$'\n'; fi
		if ! sort "$got" | cmp -s - "$exp"; then
			problems+="$f: $(wc -l <"$got") lines, $((N * ITER + 1)) expected; diff (sorted):"$'\n'
			problems+="$(sort "$got" | diff "$exp" - | head -n 8)"$'\n'
		fi
		rm -f "$exp"
	done
	ovl_assert_eq "write-conc/$label/appends-all-there-once" "" "$problems"
	# the big file: the lower's bytes, then one line per worker
	local S
	S=$(stat -c %s "$d/l2/big")
	want=$(for ((w = 1; w <= N; w++)); do echo "w$w big"; done | sort | tr '\n' ' ')
	if cmp -s -n "$S" "$d/l2/big" "$out/big" &&
		[ "$(tail -c +$((S + 1)) "$out/big" | sort | tr '\n' ' ')" = "$want" ]; then
		ovl_pass "write-conc/$label/big-one-complete-copy"
	else
		ovl_fail "write-conc/$label/big-one-complete-copy" "size $(stat -c %s "$out/big") (lower $S); tail: $(tail -c +$((S + 1)) "$out/big" | head -c 300 | tr '\n' ' ')"
	fi
	# created files present, removed ones gone
	want=$({ echo keep; echo rm2; echo rm3; for ((w = 1; w <= N; w++)); do for ((j = 1; j <= ITER; j++)); do echo "w$w-$j"; done; done; } | sort)
	ovl_assert_eq "write-conc/$label/shared-dir-entries" "$want" "$(sort "$out/shared.ls")"
	want=$(for ((w = 1; w <= N; w++)); do for ((j = 1; j <= ITER; j++)); do echo "w$w-$j"; done; done | sort)
	ovl_assert_eq "write-conc/$label/deep-dir-entries" "$want" "$(sort "$out/deep.ls")"
	# touched: utimes copied it up (mtime now); chmodded: copy-up kept the mtime
	ovl_assert_eq "write-conc/$label/touch-chmod-same-file" "644 new 8"$'\n'"640 1000000000 9" \
		"$(awk '{ if ($2 > 1000000000) $2 = "new"; print }' "$out/meta")"
	local n
	n=$(find "$d/w/work" -mindepth 1 -maxdepth 1 -name '#ovlshim-*' ! -name '#ovlshim-dead-*' | wc -l)
	ovl_assert_eq "write-conc/$label/no-leftovers" 0 "$n"
	# whiteouts: each removed lower name has one, nothing else is a whiteout
	local wh
	wh=$(find "$d/u" -type c | sed "s|^$d/u/||" | sort | tr '\n' ' ')
	want=$({ for i in 0 1; do echo "shared/rm$i"; done; for ((w = 1; w <= N; w++)); do echo "deep/a/b/c/rm$w"; done; } | sort | tr '\n' ' ')
	ovl_assert_eq "write-conc/$label/whiteouts" "$want" "$wh"
	ovl_hash_layers "$d/l1" "$d/l2" >"$d/lowers.after"
	ovl_diffout "write-conc/$label/lowers-unchanged" "$d/lowers.before" "$d/lowers.after" before after
}

# --- round 1: N separate ovlrun jobs
d=$(ovl_mktemp_dir conc.jobs)
setup "$d"
ovl_hash_layers "$d/l1" "$d/l2" >"$d/lowers.before"
export GO=$d/go M=$d/mp/m
pids=()
for ((w = 1; w <= N; w++)); do
	"$OVL_OVLRUN" -o "lowerdir=$d/l1:$d/l2,upperdir=$d/u,workdir=$d/w" "$M" -- \
		bash -c "$WORKER" _ "$w" "$ITER" >"$d/worker$w.out" 2>&1 &
	pids+=($!)
done
sleep 0.3
touch "$GO"
rcs=""
for p in "${pids[@]}"; do wait "$p"; rcs+="$? "; done
ovl_assert_eq "write-conc/jobs/workers-exit-0" "$(printf '0 %.0s' $(seq "$N"))" "$rcs"
errs=$(cat "$d"/worker*.out | grep -v '^w[0-9]* done$')
ovl_assert_eq "write-conc/jobs/workers-no-errors" "" "$errs"
verify "$d" jobs

# --- round 2: one ovlrun, N children of its shell
d=$(ovl_mktemp_dir conc.children)
setup "$d"
ovl_hash_layers "$d/l1" "$d/l2" >"$d/lowers.before"
# shellcheck disable=SC2090
export GO=$d/go M=$d/mp/m WORKER
# shellcheck disable=SC2016
"$OVL_OVLRUN" -o "lowerdir=$d/l1:$d/l2,upperdir=$d/u,workdir=$d/w" "$M" -- bash -c '
	n=$1 it=$2
	pids=()
	for ((w = 1; w <= n; w++)); do bash -c "$WORKER" _ "$w" "$it" & pids+=($!); done
	sleep 0.3; touch "$GO"
	rc=0; for p in "${pids[@]}"; do wait "$p" || rc=1; done; exit $rc' _ "$N" "$ITER" >"$d/workers.out" 2>&1
rc=$?
ovl_assert_eq "write-conc/children/workers-exit-0" 0 "$rc"
errs=$(grep -v '^w[0-9]* done$' "$d/workers.out")
ovl_assert_eq "write-conc/children/workers-no-errors" "" "$errs"
verify "$d" children
ovl_summary
