#!/usr/bin/env bash
# The seeded random differential tester in both modes (issue 5, item 1).
#
#   tests/diff/run.sh SEEDS [OPS]
#
# SEEDS: a count N (seeds 1..N), a range A-B, or a list 3,7,9. OPS: operations per seed
# (default 200). Runs the root mode (trusted.* markers, the oracle mounted by root) and the
# unprivileged mode (layers owned by uid $OVL_DIFF_UID, default 4242, user.* markers, the
# oracle mounted by that user in `unshare -Urm`, the shim run by that user), one after the
# other, and ends with one line "N passed, N failed" over both. The first failing seeds of
# each kind are shrunk to a minimal reproduction (OVL_DIFF_SHRINK, default 3 per mode).
#
# Environment: OVL_BUILD (the library's build dir), OVL_DIFF_JOBS (default 2),
# OVL_DIFF_MODES (default "root user"), OVL_DIFF_TMP (scratch root, default $TMPDIR or /tmp),
# OVL_DIFF_ATIME=0 (skip the lower-atime invariant), OVL_DIFF_CHECKPOINT (tree dump every N
# ops, default 25). Needs root. See tests/diff/difftest.py --help and INTENTIONAL.md.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
	echo "usage: $0 SEEDS [OPS]" >&2
	exit 2
fi
seeds=$1
ops=${2:-200}
case $seeds in
*-* | *,*) ;;
*) seeds="1-$seeds" ;;
esac
py=/usr/bin/python3
[ -x "$py" ] || py=python3
P=0 F=0 rc=0
t0=$(date +%s)
for mode in ${OVL_DIFF_MODES:-root user}; do
	log=$(mktemp)
	"$py" "$here/difftest.py" --mode "$mode" --seeds "$seeds" --ops "$ops" \
		--jobs "${OVL_DIFF_JOBS:-2}" --shrink "${OVL_DIFF_SHRINK:-3}" 2>&1 | tee "$log"
	r=${PIPESTATUS[0]}
	[ "$r" -ne 0 ] && rc=1
	line=$(grep -E "^difftest/$mode: " "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "FAIL difftest/$mode: no summary (exit $r)"
		F=$((F + 1))
		continue
	fi
	p=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed [^,]*, ([0-9]+) harness errors.*/\1/' <<<"$line")
	f=$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed [^,]*, ([0-9]+) harness errors.*/\2 \3/' <<<"$line")
	P=$((P + p)) F=$((F + ${f% *} + ${f#* }))
done
echo "# difftest: $seeds x $ops ops, modes ${OVL_DIFF_MODES:-root user}, $(($(date +%s) - t0))s"
echo "$P passed, $F failed"
exit $rc
