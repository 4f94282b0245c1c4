#!/usr/bin/env bash
# Disposable per-test fixtures: one fixture directory is shared by every test, read-only; each
# test runs through ovlrun with a fresh upper of its own, so whatever it writes, deletes or
# renames is seen by that test only. `ovl diff` shows what a test did to the fixture, and the
# upper is thrown away afterwards: no copying of the fixture, no cleanup code in the tests.
#
#   OVL_BUILD=/abs/build examples/test-fixtures.sh
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${OVL_BUILD:-$here/../build}
OVLRUN=$BUILD/ovlrun OVL=$BUILD/ovl
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "test-fixtures: FAILED: $*" >&2; exit 1; }

# the fixture: a small "application state"
mkdir -p "$t/fixture/data" "$t/fixture/conf"
printf 'alice\nbob\n' >"$t/fixture/data/users"
echo "level=info" >"$t/fixture/conf/app.conf"
snapshot() { (cd "$t/fixture" && find . -type f -exec sha256sum {} + | sort); }
before=$(snapshot)

# Each test gets MERGED=$t/app backed by the fixture and a fresh upper.
run_test() { # NAME SCRIPT
	local name=$1 up
	up=$(mktemp -d "$t/upper.XXXXXX")
	mkdir "$up/u" "$up/w"
	if "$OVLRUN" -o "lowerdir=$t/fixture,upperdir=$up/u,workdir=$up/w" "$t/app" -- \
		sh -c "cd '$t/app' && $2"; then
		echo "PASS $name; it changed:"
	else
		echo "FAIL $name; it changed:"
		failed=1
	fi
	"$OVL" diff "$up/u" "$t/fixture" | sed 's/^/    /'
	rm -rf "$up" # the fixture is back as it was for the next test
}

failed=0
run_test "add a user" 'echo carol >>data/users && [ "$(wc -l <data/users)" = 3 ]'
run_test "users start from the fixture again" '[ "$(wc -l <data/users)" = 2 ]'
run_test "wipe the data" 'rm -r data && [ ! -e data ]'
run_test "the data is back" '[ -f data/users ]'
run_test "rewrite the config" 'sed -i s/info/debug/ conf/app.conf && grep -q debug conf/app.conf'
[ "$failed" = 0 ] || fail "a test failed"
[ "$(snapshot)" = "$before" ] || fail "the fixture changed"
echo "the fixture is unchanged"
echo "test-fixtures: ok"
