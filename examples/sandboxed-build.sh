#!/usr/bin/env bash
# A sandboxed build: `make` runs in a pristine source tree through ovlrun, with the tree itself
# as the lower layer ("protect this directory in place"). The build sees its usual paths, every
# file it writes lands in an upper directory, and the source tree stays untouched. Then
# `ovl diff` says what the build changed and `ovl commit` keeps it as a layer directory, which a
# later job stacks on the sources.
#
#   OVL_BUILD=/abs/build examples/sandboxed-build.sh [WORKDIR]    (WORKDIR: kept, else a temp dir)
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${OVL_BUILD:-$here/../build}
OVLRUN=$BUILD/ovlrun OVL=$BUILD/ovl
if [ $# -gt 0 ]; then w=$1 && mkdir -p "$w"; else
	w=$(mktemp -d) && trap 'rm -rf "$w"' EXIT
fi
w=$(cd "$w" && pwd)
step() { printf '\n== %s\n' "$*"; }
fail() { echo "sandboxed-build: FAILED: $*" >&2; exit 1; }

step "a pristine source tree"
mkdir -p "$w/src" "$w/upper" "$w/work"
cat >"$w/src/hello.c" <<'C'
#include <stdio.h>
int main(void) { puts("hello from the sandbox"); return 0; }
C
printf 'hello: hello.o\n\t$(CC) -o $@ $^\nhello.o: hello.c\n\t$(CC) -c -o $@ $<\n' >"$w/src/Makefile"
ls -l "$w/src"
before=$(cd "$w/src" && find . -printf '%p %s %T@\n' | sort | sha256sum)

step "make, through ovlrun: the build writes into the upper, not into src"
"$OVLRUN" -o "lowerdir=$w/src,upperdir=$w/upper,workdir=$w/work" "$w/src" -- \
	sh -c "cd '$w/src' && make -s && ./hello"
after=$(cd "$w/src" && find . -printf '%p %s %T@\n' | sort | sha256sum)
[ "$before" = "$after" ] || fail "the source tree changed"
echo "the source tree is unchanged: $(ls "$w/src" | tr '\n' ' ')"

step "ovl diff: what the build changed"
"$OVL" diff "$w/upper" "$w/src" | tee "$w/changes"
[ "$(cat "$w/changes")" = "$(printf 'A /hello\nA /hello.o')" ] || fail "unexpected changes"

step "ovl commit: the build's output as a layer directory"
"$OVL" commit "$w/upper" "$w/src" "$w/build-layer"
ls -l "$w/build-layer"

step "a later job runs on the build layer stacked on the sources (read-only)"
mkdir -p "$w/view"
out=$("$OVLRUN" -o "lowerdir=$w/build-layer:$w/src" "$w/view" -- "$w/view/hello")
echo "$out"
[ "$out" = "hello from the sandbox" ] || fail "the committed build does not run"
echo
echo "sandboxed-build: ok"
