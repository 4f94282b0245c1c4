#!/usr/bin/env bash
# ovlrun as the harness relies on it (DESIGN.md "ovlrun"): the command's exit status (128+N
# when killed by signal N), 125 for its own errors, its temporary config removed afterwards,
# an LD_PRELOAD already set kept in front of the library (sanitizer runtimes), -o paths
# relative to the cwd, several -o pairs, -c CONF.
source "$(dirname "$0")/../lib/lib.sh"

if [ ! -x "$OVL_OVLRUN" ] || [ ! -f "$OVL_LIBSO" ]; then
	ovl_skip "ovlrun: all" "$OVL_OVLRUN or $OVL_LIBSO not built"
	ovl_summary
	exit
fi
d=$(ovl_mktemp_dir ovlrun)
mkdir -p "$d"/{l,l2,u,w,u2,w2,m,m2,tmp}
echo low >"$d/l/f"
echo low2 >"$d/l2/g"
O="lowerdir=$d/l,upperdir=$d/u,workdir=$d/w"
export TMPDIR=$d/tmp
ovlrun() { timeout 30 "$OVL_OVLRUN" "$@"; }

ovlrun -o "$O" "$d/m" -- sh -c 'exit 3'
ovl_assert_eq "ovlrun/exit-status" 3 $?
ovlrun -o "$O" "$d/m" -- sh -c 'kill -TERM $$'
ovl_assert_eq "ovlrun/killed-by-signal" 143 $?
ovlrun -o "$O" "$d/m" -- /nonexistent/command 2>/dev/null
ovl_assert_eq "ovlrun/command-not-found" 127 $?
ovlrun -o "$O" 2>/dev/null
ovl_assert_eq "ovlrun/usage-error" 125 $?
ovlrun -o "lowerdir=$d/nope" "$d/m" -- true 2>/dev/null
ovl_assert_eq "ovlrun/bad-options" 125 $?
ovlrun --help >/dev/null 2>&1
ovl_assert_eq "ovlrun/help" 0 $?
ovl_assert_eq "ovlrun/temp-config-removed" "" "$(ls -A "$d/tmp")"

out=$(ovlrun -o "$O" "$d/m" -- cat "$d/m/f" 2>&1)
ovl_assert_eq "ovlrun/reads-merged" low "$out"
out=$(cd "$d" && ovlrun -o lowerdir=l,upperdir=u,workdir=w m -- cat "$d/m/f" 2>&1)
ovl_assert_eq "ovlrun/relative-paths" low "$out"
out=$(ovlrun -o "$O" "$d/m" -o "lowerdir=$d/l2,upperdir=$d/u2,workdir=$d/w2" "$d/m2" -- cat "$d/m/f" "$d/m2/g" 2>&1)
ovl_assert_eq "ovlrun/two-overlays" "$(printf 'low\nlow2')" "$out"
echo "$d/m $O" >"$d/c.conf"
out=$(ovlrun -c "$d/c.conf" -- cat "$d/m/f" 2>&1)
ovl_assert_eq "ovlrun/-c" low "$out"
out=$(LD_PRELOAD=/nonexistent-ovltest.so ovlrun -o "$O" "$d/m" -- sh -c 'echo "$LD_PRELOAD"' 2>/dev/null)
case $out in
/nonexistent-ovltest.so*libovlshim.so) ovl_pass "ovlrun/keeps-LD_PRELOAD-first" ;;
*) ovl_fail "ovlrun/keeps-LD_PRELOAD-first" "LD_PRELOAD in the command: $out" ;;
esac
# the command itself started with LD_LIBRARY_PATH into MERGED: ovlrun execs it through the
# shim, which hands its loader the layer directories (the library is only in the lower)
if command -v gcc >/dev/null; then
	mkdir -p "$d/l/lib" "$d/l/bin"
	echo 'int v(void) { return 7; }' >"$d/tmp/v.c"
	printf '#include <stdio.h>\nint v(void);\nint main(void) { printf("v=%%d\\n", v()); return 0; }\n' >"$d/tmp/p.c"
	gcc -shared -fPIC -o "$d/l/lib/libv.so" "$d/tmp/v.c" &&
		gcc -o "$d/l/bin/p" "$d/tmp/p.c" -L"$d/l/lib" -lv
	rm -f "$d/tmp/v.c" "$d/tmp/p.c"
	out=$(LD_LIBRARY_PATH=$d/m/lib ovlrun -o "$O" "$d/m" -- "$d/m/bin/p" 2>&1)
	ovl_assert_eq "ovlrun/LD_LIBRARY_PATH-into-merged" "v=7" "$out"
	out=$(LD_LIBRARY_PATH=$d/m/lib ovlrun -o "$O" "$d/m" -- printenv LD_LIBRARY_PATH 2>&1)
	ovl_assert_eq "ovlrun/LD_LIBRARY_PATH-shown-as-set" "$d/m/lib" "$out"
else
	ovl_skip "ovlrun/LD_LIBRARY_PATH-into-merged" "gcc is not installed"
fi
ovl_assert_eq "ovlrun/temp-config-removed-after-all" "" "$(ls -A "$d/tmp")"
# the record of a removed directory (copied up, with a lower) outlives the job, and the next
# ovlrun's cleaning: a process that only reads (and takes no lock) may still hold the lower;
# the other leftovers go
mkdir "$d/l/dr"
records() { find "$d/w/work" -mindepth 1 -maxdepth 1 -name '#ovlshim-dead-*' | wc -l; }
ovlrun -o "$O" "$d/m" -- sh -c "chmod 700 '$d/m/dr' && rmdir '$d/m/dr'"
ovl_assert_eq "ovlrun/dead-record-kept" 1 "$(records)"
mkdir "$d/w/work/#ovlshim-999999-1"
ovlrun -o "$O" "$d/m" -- true
ovl_assert_eq "ovlrun/dead-record-kept-by-cleaning" 1 "$(records)"
ovl_assert_eq "ovlrun/other-leftover-cleaned" "" "$(ls -A "$d/w/work" | grep -v '^#ovlshim-dead-')"
ovl_summary
