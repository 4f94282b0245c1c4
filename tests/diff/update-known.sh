#!/usr/bin/env bash
# Rewrites tests/diff/known-failing.txt from a run of the CI-sized seed set (the one
# tests/integration/t_diff.sh runs): one line "MODE SEED OP" per seed that differs from the
# kernel, OP the operation at which the first difference shows, then the difference itself as
# a comment. Run it after fixing differences (the list may only shrink in review) or to record
# a difference that is understood and accepted for now. Needs root; OVL_BUILD as for the tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/known-failing.txt
tmp=$(mktemp)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
{
	echo "# Known differences from the kernel in the CI-sized differential test set"
	echo "# (tests/integration/t_diff.sh). MODE SEED OP: the first difference of the seed shows at"
	echo "# operation OP. Regenerate with tests/diff/update-known.sh; reproduce one with"
	echo "# tests/diff/difftest.py --mode MODE --seed SEED --ops OP+1 --show."
} >"$tmp"
for spec in "root ${OVL_DIFF_ROOT_SEEDS:-1-50,615,1034}" "user ${OVL_DIFF_USER_SEEDS:-1-25,80,190,211,1546,1729,2480}"; do
	set -- $spec
	"$py" "$here/difftest.py" --mode "$1" --seeds "$2" --ops "${OVL_DIFF_OPS:-200}" \
		--jobs "${OVL_DIFF_JOBS:-2}" --shrink 0 2>&1 |
		awk -v m="$1" '
			/^FAIL / { if (match($0, /op #[0-9]+/)) {
					seed = $0; sub(/^FAIL difftest\/[a-z]+\/seed /, "", seed); sub(/:.*/, "", seed)
					op = substr($0, RSTART + 4, RLENGTH - 4)
					line = $0; sub(/^FAIL [^:]*: /, "", line)
					printf "%s %s %s  # %s\n", m, seed, op, substr(line, 1, 150) } }' >>"$tmp" ||
		true # difftest.py exits 1 when a seed differs: that is what is being listed
done
mv "$tmp" "$out"
echo "wrote $out: $(grep -vc '^#' "$out") known differences"
