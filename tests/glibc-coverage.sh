#!/usr/bin/env bash
# Every path-taking function glibc exports is either interposed (shim/preload/symbols.def) or
# listed as deliberately not covered, with a reason, in tests/glibc-path-functions.txt
# (issue 4 item 5).
#
#   tests/glibc-coverage.sh [-v] [LIBC [SYMBOLS_DEF [LIST]]]
#
# The path-taking functions are the libc.so.6 exports (`nm -D --defined-only`, functions only)
# whose names match PATTERNS below, minus the EXCLUDE families, which only share a name pattern
# and take no path. Checks, one per symbol:
#   - a matched symbol is in the list;
#   - `covered` in the list  <=>  in symbols.def (so the list follows the wrappers);
#   - a `not-covered` line gives a reason;
#   - every line of the list names a symbol this libc exports and the patterns match (no stale
#     or stray lines), once; no EXCLUDEd symbol is interposed.
# Prints a FAIL line per problem, a PASS line per documented not-covered symbol (with -v also
# per covered and per excluded one) and "N passed, N failed" (one check per symbol).
set -u
here=$(cd "$(dirname "$0")" && pwd)
verbose=0
if [ "${1:-}" = -v ]; then
	verbose=1
	shift
fi
libc=${1:-}
if [ -z "$libc" ]; then
	for c in /lib/x86_64-linux-gnu/libc.so.6 /usr/lib/x86_64-linux-gnu/libc.so.6 \
		"$(gcc -print-file-name=libc.so.6 2>/dev/null)"; do
		if [ -f "$c" ]; then libc=$c && break; fi
	done
fi
def=${2:-$here/../shim/preload/symbols.def}
list=${3:-$here/glibc-path-functions.txt}
for f in "$libc" "$def" "$list"; do
	if [ ! -f "$f" ]; then
		echo "FAIL glibc-coverage: missing input '$f'"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

# Name patterns (shell globs) of functions that take a path, or act on a merged object
# through a DIR*, an fd or a spawn/exec (INTERPOSITION.md section 2).
PATTERNS=(
	'open*' '__open*' 'creat*' 'fopen*' 'freopen*' 'name_to_handle_at'
	'*stat*' '*access*' '*xattr*' '*dir*' 'scandir*'
	'link*' 'unlink*' 'rename*' 'symlink*' 'remove' 'rmdir'
	'mk*' 'mknod*' '__xmknod*' 'mkfifo*'
	'*chmod*' '*chown*' 'utime*' 'lutime*' 'futime*' 'truncate*'
	'exec*' 'fexecve' 'posix_spawn*' 'system' 'popen'
	'realpath' '__realpath_chk' 'canonicalize*' 'readlink*' '__readlink*'
	'*getcwd*' '*getwd*' 'get_current_dir_name' '*chdir*'
	'tmp*' 'temp*' 'glob*' 'fts*' '*ftw*' 'statvfs*' 'statfs*' 'pathconf' 'chroot'
	'bind' 'connect' 'dlopen' 'dlmopen'
	'inotify_add_watch' 'fanotify_mark' 'mount' 'umount*' 'swapon' 'swapoff' 'acct'
)

# Families the patterns catch that take no path: GLOB<TAB>REASON
EXCLUDE=(
	$'pthread_*\tthreads API ("stat", "dir" only inside the name: pthread_attr_setdetachstate)'
	$'__pthread_*\tthreads API'
	$'posix_spawnattr_*\tspawn attributes: flags, signals, scheduling; no path'
	$'posix_spawn_file_actions_init\tinitialises a file-actions object; no path'
	$'posix_spawn_file_actions_destroy\tfrees a file-actions object; no path'
	$'posix_spawn_file_actions_addclose\tfd only'
	$'posix_spawn_file_actions_addclosefrom_np\tfd only'
	$'posix_spawn_file_actions_adddup2\tfd only'
	$'posix_spawn_file_actions_addfchdir_np\tfd only: the fd already stands for the merged directory'
	$'posix_spawn_file_actions_addtcsetpgrp_np\tterminal process group; no path'
	$'_IO_*\tstdio internals ("stat" in _IO_file_stat works on an open FILE)'
	$'xdr_*\tSun RPC encoding'
	$'svcauth*\tSun RPC authentication'
	$'argp_*\targument parsing ("stat" in argp_state_help)'
	$'*initstate*\trandom(3) state'
	$'setstate*\trandom(3) state'
	$'mktime\ttime conversion'
	$'malloc_stats\tallocator statistics'
	$'__res_state\tresolver state'
	$'_nl_default_dirname\tdata symbol of gettext'
	$'__file_change_detection_for_stat\tGLIBC_PRIVATE helper that compares two struct stat'
	$'create_module\tobsolete kernel module call (always ENOSYS)'
	$'open_memstream\tin-memory stream; no file'
	$'open_wmemstream\tin-memory stream; no file'
	$'fopencookie\tcustom stream over callbacks; no file'
	$'openlog\tsyslog; the path is fixed inside libc (/dev/log)'
	$'openpty\tpseudo-terminal pair; no path argument'
	$'dirname\tstring operation on a path; touches no file'
	$'glob_pattern_p\tstring test; touches no file'
	$'globfree*\tfrees a glob_t'
	$'ustat\tobsolete; takes a dev_t'
)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
P=0 F=0
pass() { # [-p] MSG: counted; printed with -p or -v
	local show=$verbose
	if [ "$1" = -p ]; then
		show=1
		shift
	fi
	P=$((P + 1))
	if [ "$show" = 1 ]; then echo "PASS $*"; fi
}
fail() {
	F=$((F + 1))
	echo "FAIL $*"
}

# exported functions (T, W, i), unversioned names
nm -D --defined-only "$libc" | awk '$2 ~ /^[TWi]$/ {print $3}' | sed 's/@.*//' | sort -u >"$tmp/exported"
sed -n 's/^OVL_SYM(\([A-Za-z0-9_]*\))$/\1/p' "$def" | sort -u >"$tmp/def"

# glob -> anchored ERE
glob_re() { printf '%s' "$1" | sed 's/[.[\^$+?(){}|]/\\&/g; s/\*/.*/g; s/^/^/; s/$/$/'; }
: >"$tmp/pat.re"
for p in "${PATTERNS[@]}"; do glob_re "$p" >>"$tmp/pat.re" && echo >>"$tmp/pat.re"; done
: >"$tmp/excl.re"
for e in "${EXCLUDE[@]}"; do glob_re "${e%%$'\t'*}" >>"$tmp/excl.re" && echo >>"$tmp/excl.re"; done
grep -E -f "$tmp/pat.re" "$tmp/exported" >"$tmp/matched"
grep -E -f "$tmp/excl.re" "$tmp/matched" >"$tmp/excluded"
grep -v -x -F -f "$tmp/excluded" "$tmp/matched" >"$tmp/path"

echo "# $(ldd --version 2>/dev/null | head -n 1); $libc"
echo "# $(wc -l <"$tmp/exported") exported functions, $(wc -l <"$tmp/matched") match the patterns," \
	"$(wc -l <"$tmp/excluded") excluded (no path), $(wc -l <"$tmp/path") path-taking"

# the list: SYMBOL STATUS REASON
lname=$(basename "$list")
declare -A status=() reason=()
lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	case $line in '' | '#'*) continue ;; esac
	read -r sym st rest <<<"$line"
	if [ -n "${status[$sym]:-}" ]; then
		fail "$sym: listed twice (line $lineno of $lname)"
		continue
	fi
	case $st in
	covered | not-covered) ;;
	*)
		fail "$sym: line $lineno: status '$st' is neither covered nor not-covered"
		continue
		;;
	esac
	status[$sym]=$st
	reason[$sym]=$rest
done <"$list"

indef() { grep -q -x -F "$1" "$tmp/def"; }

while read -r sym; do
	st=${status[$sym]:-}
	if [ -z "$st" ]; then
		if indef "$sym"; then
			fail "$sym: interposed (symbols.def) but missing from $lname: add it as covered"
		else
			fail "$sym: path-taking and neither interposed nor listed: wrap it, or list it as not-covered with a reason"
		fi
	elif [ "$st" = covered ] && ! indef "$sym"; then
		fail "$sym: listed as covered but not in symbols.def"
	elif [ "$st" = not-covered ] && indef "$sym"; then
		fail "$sym: interposed now (symbols.def) but listed as not-covered: update the list"
	elif [ "$st" = not-covered ] && [ -z "${reason[$sym]}" ]; then
		fail "$sym: not-covered without a reason"
	else
		if [ "$st" = not-covered ]; then
			pass -p "$sym not-covered: ${reason[$sym]}"
		else
			pass "$sym covered: ${reason[$sym]}"
		fi
	fi
done <"$tmp/path"

# stray lines and excluded symbols
for sym in "${!status[@]}"; do
	if ! grep -q -x -F "$sym" "$tmp/exported"; then
		fail "$sym: listed, but $(basename "$libc") does not export it (stale line?)"
	elif ! grep -q -x -F "$sym" "$tmp/path"; then
		fail "$sym: listed, but the patterns do not select it (add a pattern, or drop the line)"
	fi
done
while read -r sym; do
	if indef "$sym"; then
		fail "$sym: excluded as taking no path, but interposed (symbols.def): fix EXCLUDE"
	else
		pass "$sym excluded (no path)"
	fi
done <"$tmp/excluded"

nc=$(grep -c -x -F -f <(for s in "${!status[@]}"; do [ "${status[$s]}" = not-covered ] && echo "$s"; done) "$tmp/path")
cv=$(grep -c -x -F -f "$tmp/def" "$tmp/path")
echo "# $(wc -l <"$tmp/path") path-taking functions: $cv interposed, $nc documented as not covered"
echo "$P passed, $F failed"
[ "$F" -eq 0 ]
