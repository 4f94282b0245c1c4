#!/usr/bin/env bash
# The seeded random differential tester (tests/diff), CI-sized: a fixed set of seeds as root
# (trusted.* markers, the kernel overlay mounted by root) and unprivileged (layers owned by a test
# user, user.* markers, the kernel overlay mounted by that user in `unshare -Urm`, the shim run
# by that user). One PASS/FAIL line per seed; a FAIL carries the first difference and a one-line
# command that reproduces it (tests/diff/difftest.py --mode M --seed S --ops N, from the repo).
# The set: OVL_DIFF_ROOT_SEEDS (default 1-50), OVL_DIFF_USER_SEEDS (default 1-25), OVL_DIFF_OPS
# (default 200). Failing seeds are not shrunk here (OVL_DIFF_SHRINK, default 0); run
# tests/diff/run.sh or difftest.py --seeds S --shrink 1 for a minimal reproduction.
source "$(dirname "$0")/../lib/lib.sh"

# Not in the default run yet: the tester still finds errno-order differences from the
# kernel (which errno a call gives when several checks fail at once: trailing slashes on
# missing names, rename across an overlay's edge through "..", O_CREAT|O_DIRECTORY ...).
# Each is a real difference to fix, one by one (issue 5); until the CI-sized set is clean,
# `make difftest` (or OVL_DIFFTEST=1 here) runs it, and the default run says so.
if [ "${OVL_DIFFTEST:-0}" != 1 ]; then
	ovl_skip "difftest" "not in the default run until the known errno-order differences are fixed: make difftest runs it"
	ovl_summary
	exit
fi
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
		if [ $infail = 1 ]; then ovl_fail "$name" "$detail"; fi
		infail=0 detail=""
	}
	while IFS= read -r line; do
		case $line in
		"PASS "*) flush; ovl_pass "${line#PASS }" ;;
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

run root "${OVL_DIFF_ROOT_SEEDS:-1-50}"
run user "${OVL_DIFF_USER_SEEDS:-1-25}"
ovl_summary
