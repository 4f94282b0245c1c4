#!/usr/bin/env bash
# The examples of the ovl tool run as they are shipped: a sandboxed build (make in a pristine
# tree through ovlrun, then ovl diff and ovl commit), disposable per-test fixtures, and work on
# a saved image's files. Each must end with its "ok" line and status 0.
source "$(dirname "$0")/../lib/lib.sh"

if [ ! -x "$OVL_BUILD/ovl" ] || ! ovl_shim_available; then
	ovl_skip "ovl examples: all" "ovl or the shim not built"
	ovl_summary
	exit
fi
ex=$OVL_REPO/examples
d=$(ovl_mktemp_dir examples)
for e in sandboxed-build test-fixtures image-files; do
	if ! command -v cc >/dev/null && [ $e = sandboxed-build ]; then
		ovl_skip "examples/$e.sh" "no C compiler"
		continue
	fi
	TMPDIR=$d OVL_BUILD=$OVL_BUILD timeout 120 bash "$ex/$e.sh" >"$d/$e.log" 2>&1
	rc=$?
	if [ $rc = 0 ] && tail -n 1 "$d/$e.log" | grep -qx "$e: ok"; then
		ovl_pass "examples/$e.sh"
	else
		ovl_fail "examples/$e.sh (status $rc)" "$(tail -n 15 "$d/$e.log")"
	fi
done
ovl_summary
