#!/usr/bin/env bash
# The seeded random differential tester (tests/diff), CI-sized: a fixed set of seeds as root
# (trusted.* markers, the kernel overlay mounted by root) and unprivileged (layers owned by a test
# user, user.* markers, the kernel overlay mounted by that user in `unshare -Urm`, the shim run
# by that user). One PASS/FAIL line per seed; a FAIL carries the first difference and a one-line
# command that reproduces it (tests/diff/difftest.py --mode M --seed S --ops N, from the repo).
# The set: OVL_DIFF_ROOT_SEEDS (default 1-50, 615 (N-FIFOFD) and 1034, a climb from a removed
# cwd once handed raw to the kernel), OVL_DIFF_USER_SEEDS (default 1-25, 80 (N-ORIGIN), 1546
# (N-LINKMODE's ESTALE), and 190, 211 and 1729: walks from a dirfd, the cwd and an fd below a
# directory the user may not search, and 2480: ftruncate of a read-only fd whose name is gone):
# the three named rules of tests/diff/INTENTIONAL.md each
# keep a seed that needs them, so a rule that stops matching fails here. OVL_DIFF_OPS
# (default 200). Failing seeds are not shrunk here (OVL_DIFF_SHRINK, default 0); run
# tests/diff/run.sh or difftest.py --seeds S --shrink 1 for a minimal reproduction.
source "$(dirname "$0")/../lib/lib.sh"

# Known differences not fixed yet: tests/diff/known-failing.txt lists, per mode and seed, the
# operation at which the first difference shows. Such a seed is reported as SKIP (with the
# difference) as long as it first differs at that operation; differing earlier is a FAIL (a
# regression), differing later or not at all is a PASS with a note to shorten the list. Any
# invariant failure (a lower changed, interop) is a FAIL whatever the list says.
known="$OVL_REPO/tests/diff/known-failing.txt"
if ! ovl_is_root; then
	ovl_skip "difftest" "needs root (kernel overlay mounts; the unprivileged mode drops privileges itself)"
	ovl_summary
	exit
fi
if ! ovl_can_mount; then
	ovl_skip "difftest" "kernel overlay mount refused: $OVL_MOUNT_ERR"
	ovl_summary
	exit
fi
if ! ovl_shim_available; then
	ovl_skip "difftest" "$OVL_SHIM_WHY"
	ovl_summary
	exit
fi

py=/usr/bin/python3
[ -x "$py" ] || py=python3
diffpy="$OVL_REPO/tests/diff/difftest.py"
ops=${OVL_DIFF_OPS:-200}

# run MODE SEEDS: feeds difftest's per-seed lines into the harness counters
run() {
	local mode=$1 seeds=$2 line name detail="" infail=0 start=$SECONDS
	flush() {
		if [ $infail = 1 ]; then judge "$mode" "$name" "$detail"; fi
		infail=0 detail=""
	}
	while IFS= read -r line; do
		case $line in
		"PASS "*)
			flush
			name=${line#PASS }
			name=${name%% (*}
			if [ -n "$(listed "$mode" "${name##* }")" ]; then
				ovl_pass "${line#PASS } (listed in known-failing.txt: remove it)"
			else
				ovl_pass "${line#PASS }"
			fi
			;;
		"FAIL "*)
			flush
			infail=1
			name=${line#FAIL }
			name=${name%%: *}
			detail=${line#FAIL "$name": }
			;;
		" "* | $'\t'*)
			if [ $infail = 1 ]; then detail+=$'\n'"${line#  }"; else echo "$line"; fi ;;
		*) flush; echo "# $line" ;;
		esac
	done < <(OVL_DIFF_TMP="$OVL_T" "$py" "$diffpy" --mode "$mode" --seeds "$seeds" --ops "$ops" \
		--jobs "${OVL_DIFF_JOBS:-2}" --shrink "${OVL_DIFF_SHRINK:-0}" --tap-like 2>&1)
	flush
	echo "# difftest/$mode: seeds $seeds x $ops ops in $((SECONDS - start))s"
}

# listed MODE SEED: the recorded first differing op of a known failure, or nothing
listed() {
	[ -f "$known" ] && awk -v m="$1" -v s="$2" '$1 == m && $2 == s { print $3 }' "$known"
}

# judge MODE NAME DETAIL: a failing seed against the list
judge() {
	local mode=$1 name=$2 detail=$3 seed op want
	seed=${name##* }
	op=$(sed -nE '1s/.*op #([0-9]+).*/\1/p' <<<"$detail")
	want=$(listed "$mode" "$seed")
	if [ -z "$want" ] || [ -z "$op" ] || grep -qE "changed a lower|changed the atime|interop|kernel refuses|harness" <<<"$detail"; then
		ovl_fail "$name" "$detail"
	elif [ "$op" -lt "$want" ]; then
		ovl_fail "$name" "now differs at op #$op, before the known difference at op #$want: $detail"
	elif [ "$op" -gt "$want" ]; then
		ovl_pass "$name (known difference at op #$want is gone; differs at op #$op now: update known-failing.txt)"
	else
		ovl_skip "$name: known difference at op #$op" "$(head -n 3 <<<"$detail" | tr '\n' ' ')"
	fi
}

run root "${OVL_DIFF_ROOT_SEEDS:-1-50,615,1034}"
run user "${OVL_DIFF_USER_SEEDS:-1-25,80,190,211,1546,1729,2480}"
ovl_summary
