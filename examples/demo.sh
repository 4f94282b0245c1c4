#!/usr/bin/env bash
# The walkthrough of the kernel overlay filesystem (SEED.md), replayed with
# ovlrun as an ordinary user: no mount, no privilege.
#
#   OVL_BUILD=/abs/build examples/demo.sh        (what `make demo` runs)
#
# Run as root, the overlay part runs as an unprivileged user (OVL_DEMO_USER,
# default nobody): the demo, ovlrun and libovlshim.so are copied into a
# temporary directory owned by that user, since the repository may sit where
# that user cannot go (/root).
#
# Each step is a function step_NAME listed in STEPS; a step narrates, runs
# commands with `show`, and checks their output with the expect_* helpers.
# Any mismatch with what the walkthrough says ends the demo with status 1.
set -euo pipefail
export LC_ALL=C

STEPS=(setup union upper_wins plain_view copy_up whiteout unwhiteout finish)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${OVL_BUILD:-$here/../build}

# --- helpers -------------------------------------------------------------------

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' N=$'\e[0m'; else B='' G='' R='' N=''; fi

say() { printf '\n%s== %s%s\n' "$B" "$*" "$N"; }
note() { printf '   %s\n' "$*"; }
fail() {
	printf '%sdemo: FAILED: %s%s\n' "$R" "$*" "$N" >&2
	exit 1
}
ok() { printf '   %sok%s: %s\n' "$G" "$N" "$*"; }

# show CMD...: print the command as typed, run it (through `bash -c`, so that
# the line shown is the line run), print its output indented and keep it in
# $OUT. A non-zero exit fails the demo.
OUT=
show() {
	printf '   $ %s\n' "$*"
	local rc=0
	OUT=$(bash -c "$*" 2>&1) || rc=$?
	if [ -n "$OUT" ]; then printf '%s\n' "$OUT" | sed 's/^/     /'; fi
	[ "$rc" = 0 ] || fail "'$*' exited with status $rc"
}
expect_out() { # expect_out TEXT WHAT: $OUT must be exactly TEXT
	[ "$OUT" = "$1" ] || fail "$2: expected \"$1\", got \"$OUT\""
	ok "$2"
}
expect_names() { # expect_names "a b" WHAT: the names listed by `ls -l` in $OUT
	local names
	names=$(printf '%s\n' "$OUT" | awk '$1 != "total" { print $NF }' | sort | tr '\n' ' ')
	[ "$names" = "$1 " ] || fail "$2: expected names \"$1\", got \"${names% }\""
	ok "$2"
}
expect_file() { # expect_file PATH CONTENT WHAT: a real file, read without the shim
	if ! [ -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then fail "$3: $1 should hold \"$2\""; fi
	ok "$3"
}

# show_fails CMD...: as show, but CMD must fail (exit non-zero).
show_fails() {
	printf '   $ %s\n' "$*"
	local rc=0
	OUT=$(bash -c "$*" 2>&1) || rc=$?
	if [ -n "$OUT" ]; then printf '%s\n' "$OUT" | sed 's/^/     /'; fi
	[ "$rc" != 0 ] || fail "'$*' should have failed"
}
expect_match() { # expect_match ERE WHAT: $OUT must match the extended regexp
	printf '%s\n' "$OUT" | grep -Eq -- "$1" || fail "$2: expected a match of /$1/, got \"$OUT\""
	ok "$2"
}
inode() { # inode NAME: the inode number `ls -i` gave NAME in $OUT
	printf '%s\n' "$OUT" | awk -v n="$1" '$2 == n { print $1 }'
}

OVLRUN="ovlrun -o lowerdir=./low,upperdir=./upper,workdir=./work ./merged --"

# --- steps -----------------------------------------------------------------------

step_setup() {
	say "Two layers in an ordinary directory, as $(id -un) (uid $(id -u))"
	note "in $PWD"
	mkdir low upper work
	printf '111111111\n' >low/11.txt
	printf '222222222\n' >upper/22.txt
	show "ls -l low upper"
	LOW_SUM=$(find low -type f -exec md5sum {} + | sort)
}

step_union() {
	say "The merged view: the union of the layers"
	note "The kernel needs root for: mount -t overlay overlay -olowerdir=./low,upperdir=./upper,workdir=./work ./merged"
	note "ovlrun takes the same options and runs a command that sees the overlay:"
	show "$OVLRUN ls -l merged"
	expect_names "11.txt 22.txt" "merged/ shows low/11.txt and upper/22.txt"
	show "$OVLRUN cat merged/11.txt merged/22.txt"
	expect_out $'111111111\n222222222' "both files read through merged/"
	show "$OVLRUN find merged"
	OUT=$(printf '%s\n' "$OUT" | sort)
	expect_out $'merged\nmerged/11.txt\nmerged/22.txt' "find walks the merged tree"
}

step_upper_wins() {
	say "Where a name is in both layers, the upper one wins"
	printf 'from low\n' >low/33.txt
	printf 'from upper\n' >upper/33.txt
	show "cat low/33.txt upper/33.txt"
	show "$OVLRUN cat merged/33.txt"
	expect_out "from upper" "merged/33.txt is the upper file"
	rm low/33.txt upper/33.txt # back to the walkthrough's two files
	LOW_SUM=$(find low -type f -exec md5sum {} + | sort)
}

step_plain_view() {
	say "Nothing is mounted: without ovlrun, merged/ is an empty directory"
	show "ls -A merged"
	expect_out "" "merged/ itself is empty on disk"
	if command -v mountpoint >/dev/null; then
		if mountpoint -q merged; then fail "merged/ is a mount point"; fi
		ok "merged/ is not a mount point"
	fi
}

step_copy_up() {
	say "Copy-up: editing a lower file through merged/ copies it to upper/"
	[ ! -e upper/11.txt ] || fail "upper/11.txt exists before the edit"
	ok "before the edit, 11.txt is only in low/"
	show "$OVLRUN sh -c 'echo 333333333 > merged/11.txt'"
	show "cat low/11.txt"
	expect_out 111111111 "low/11.txt is unchanged"
	show "cat upper/11.txt"
	expect_out 333333333 "upper/11.txt was created with the new content"
	expect_file upper/11.txt 333333333 "upper/11.txt is a regular file"
	show "$OVLRUN cat merged/11.txt"
	expect_out 333333333 "merged/11.txt reads the new content"
	note "The merged file now is the upper file: same inode number, the lower one has another"
	note "(as the kernels of the walkthrough did; since Linux 4.12 the kernel keeps the lower one)"
	show "$OVLRUN ls -i merged/11.txt"
	local m u l
	m=$(inode merged/11.txt)
	show "ls -i upper/11.txt low/11.txt"
	u=$(inode upper/11.txt) l=$(inode low/11.txt)
	[ -n "$m" ] && [ -n "$u" ] && [ -n "$l" ] || fail "no inode number in the ls -i output"
	[ "$m" = "$u" ] || fail "merged/11.txt has inode $m, upper/11.txt has $u: they should be the same"
	ok "merged/11.txt and upper/11.txt have the same inode number ($m)"
	[ "$l" != "$m" ] || fail "low/11.txt has the merged inode number $m too"
	ok "low/11.txt has another one ($l)"
}

step_whiteout() {
	say "Whiteout: removing a file through merged/ hides the lower file"
	show "$OVLRUN rm merged/11.txt"
	expect_file low/11.txt 111111111 "low/11.txt is untouched"
	if [ -e upper/.wh.11.txt ]; then
		fail "ovlshim wrote an OCI whiteout, upper/.wh.11.txt, not a character device 0/0: the file system of $PWD probably refuses those to $(id -un)"
	fi
	show "ls -l upper/11.txt"
	expect_match '^c--------- .* 0, 0 .*upper/11\.txt$' "upper/11.txt shows as c--------- with device 0, 0"
	show "stat -c '%F %t %T' upper/11.txt"
	expect_out "character special file 0 0" "upper/11.txt is a character device 0,0: the whiteout"
	show "$OVLRUN ls -l merged"
	expect_names "22.txt" "11.txt is gone from the merged listing"
	show_fails "$OVLRUN cat merged/11.txt"
	expect_match 'No such file or directory' "merged/11.txt cannot be opened"
}

step_unwhiteout() {
	say "Removing the whiteout by hand brings the lower file back"
	note "(the walkthrough advises against editing upper/ behind the overlay's back)"
	note "(-f: rm would ask before removing the write-protected device on a terminal)"
	show "rm -f upper/11.txt"
	show "ls -l upper"
	expect_names "22.txt" "upper/ holds 22.txt only"
	show "$OVLRUN ls -l merged"
	expect_names "11.txt 22.txt" "11.txt shows up again in merged/"
	show "$OVLRUN cat merged/11.txt"
	expect_out 111111111 "with the old lower content"
}

step_finish() {
	say "The lower layer was never written"
	[ "$(find low -type f -exec md5sum {} + | sort)" = "$LOW_SUM" ] ||
		fail "low/ changed during the demo"
	expect_file low/11.txt 111111111 "low/11.txt is unchanged"
	printf '\n%sdemo: all steps behaved as the walkthrough says%s\n' "$B" "$N"
}

# --- running -------------------------------------------------------------------------

run_steps() {
	if ! [ -x "$BUILD/ovlrun" ] || ! [ -r "$BUILD/libovlshim.so" ]; then
		fail "no ovlrun and libovlshim.so in $BUILD (run make first)"
	fi
	export PATH="$BUILD:$PATH"
	cd "$1"
	for s in "${STEPS[@]}"; do "step_$s"; done
}

if [ "${1:-}" = --as-user ]; then # the re-executed copy, unprivileged
	BUILD=$2
	run_steps "$3"
	exit 0
fi

BUILD=$(cd "$BUILD" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ovlshim-demo.XXXXXX")
if [ "$(id -u)" != 0 ]; then
	trap 'rm -rf "$tmp"' EXIT
	run_steps "$tmp"
	exit 0
fi

# root: copy what the user needs where the user can reach it, then drop
user=${OVL_DEMO_USER:-nobody}
uid=$(id -u "$user") || fail "no user $user (set OVL_DEMO_USER)"
gid=$(id -g "$user")
command -v setpriv >/dev/null || fail "setpriv (util-linux) is needed to drop privileges"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir "$tmp/bin" "$tmp/demo"
cp "$BUILD/ovlrun" "$BUILD/libovlshim.so" "${BASH_SOURCE[0]}" "$tmp/bin/"
chown -R "$uid:$gid" "$tmp/bin" "$tmp/demo"
echo "demo: running as root; the overlay part runs as $user (uid $uid) through setpriv"
setpriv --reuid="$uid" --regid="$gid" --clear-groups \
	env HOME="$tmp/demo" bash "$tmp/bin/$(basename "${BASH_SOURCE[0]}")" \
	--as-user "$tmp/bin" "$tmp/demo"
