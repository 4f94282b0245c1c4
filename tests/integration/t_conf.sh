#!/usr/bin/env bash
# OVL_CONF at the process boundary (DESIGN.md 1 "OVL_CONF"):
#  - a malformed config never lets the program run: nothing on stdout, non-zero exit, and
#    stderr names the file and the line (file:LINE or "line LINE");
#  - valid forms (both line forms, comments, blank lines, escapes, relative paths) work;
#  - OVL_CONF unset: pure pass-through (outputs identical to a run without the library,
#    inode numbers and trusted.* xattrs included).
source "$(dirname "$0")/../lib/lib.sh"

if ! ovl_shim_available || [ "$(ovl_runner)" = kernel ] || [ "$(ovl_runner)" = none ]; then
	ovl_skip "conf: all" "${OVL_SHIM_WHY:-needs the real shim}"
	ovl_summary
	exit
fi
PRELOAD=$(ovl_preload_value)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

d=$(ovl_mktemp_dir conf)
mkdir -p "$d"/{l1,l2,u,w,m,other} "$d/l1/sub" "$d/dir with space"
echo "from l1" >"$d/l1/f"
echo "from l2" >"$d/l2/g"
echo "spacey" >"$d/dir with space/s"
L=$d/l1 U=$d/u W=$d/w M=$d/m

# run_bad NAME LINE BODY... : BODY lines are written after two header lines, so a problem on
# the first body line is on line 3
run_bad() {
	local name=$1 line=$2 conf=$d/bad.conf out err rc prog
	shift 2
	{
		echo "# ovlshim test config"
		echo ""
		printf '%s\n' "$@"
	} >"$conf"
	for prog in "/bin/echo hi" "python3 -c \"print('hi')\"" "bash -c 'echo hi'"; do
		out=$(cd "$d" && eval "OVL_CONF=\$conf LD_PRELOAD=\$PRELOAD timeout 20 $prog" 2>"$d/err")
		rc=$?
		err=$(cat "$d/err")
		local tag="conf/bad/$name/${prog%% *}"
		if [ -n "$out" ]; then
			ovl_fail "$tag: program ran" "stdout: $out"$'\n'"stderr: $err"
		elif [ $rc -eq 0 ]; then
			ovl_fail "$tag: exit status 0" "stderr: $err"
		elif ! grep -q "bad\.conf" <<<"$err"; then
			ovl_fail "$tag: stderr does not name the file" "stderr: $err"
		elif [ -n "$line" ] && ! grep -Eq "bad\.conf:$line([^0-9]|$)|line $line([^0-9]|$)" <<<"$err"; then
			ovl_fail "$tag: stderr does not name line $line" "stderr: $err"
		else
			ovl_pass "$tag"
		fi
	done
	# exactly one line on stderr (DESIGN: "prints one line naming the file, the line and the problem")
	OVL_CONF=$conf LD_PRELOAD=$PRELOAD /bin/true 2>"$d/err"
	if [ "$(grep -c . "$d/err")" = 1 ]; then ovl_pass "conf/bad/$name/one-line"; else
		ovl_fail "conf/bad/$name/one-line" "$(cat "$d/err")"
	fi
	# ovlrun -c refuses it too (125, nothing run)
	out=$(timeout 20 "$OVL_OVLRUN" -c "$conf" -- /bin/echo hi 2>"$d/err")
	rc=$?
	if [ -z "$out" ] && [ $rc -ne 0 ]; then ovl_pass "conf/bad/$name/ovlrun-c (rc=$rc)"; else
		ovl_fail "conf/bad/$name/ovlrun-c" "rc=$rc stdout=$out stderr=$(cat "$d/err")"
	fi
}

run_bad unknown-option 3 "$M lowerdir=$L,upperdir=$U,workdir=$W,bogus=1"
run_bad no-lowerdir 3 "$M upperdir=$U,workdir=$W"
run_bad empty-lowerdir 3 "$M lowerdir=,upperdir=$U,workdir=$W"
run_bad missing-lower 3 "$M lowerdir=$d/nonexistent"
run_bad lower-is-file 3 "$M lowerdir=$d/l1/f"
run_bad upper-without-work 3 "$M lowerdir=$L,upperdir=$U"
run_bad work-without-upper 3 "$M lowerdir=$L,workdir=$W"
run_bad upper-inside-lower 3 "$M lowerdir=$L,upperdir=$L/sub,workdir=$W"
run_bad work-inside-upper 3 "$M lowerdir=$L,upperdir=$U,workdir=$U/w"
run_bad upper-inside-merged 3 "$M lowerdir=$L,upperdir=$M/u,workdir=$W"
run_bad lower-inside-merged 3 "$d lowerdir=$L"
run_bad redirect-on 3 "$M lowerdir=$L,upperdir=$U,workdir=$W,redirect_dir=on"
run_bad index-on 3 "$M lowerdir=$L,upperdir=$U,workdir=$W,index=on"
run_bad metacopy-on 3 "$M lowerdir=$L,upperdir=$U,workdir=$W,metacopy=on"
run_bad one-field 3 "$M"
run_bad garbage 3 "this is not a config line at all"
run_bad second-line 4 "$M lowerdir=$L" "$d/other lowerdir=$d/nonexistent"
run_bad overlapping-merged 4 "$M lowerdir=$L" "$M/inner lowerdir=$d/l2"
run_bad shared-layer 4 "$M lowerdir=$L" "$d/other lowerdir=$L"
run_bad fstab-bad-option 3 "overlay $M overlay lowerdir=$L,nonsense 0 0"
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ "$(stat -c %d /dev/shm)" != "$(stat -c %d "$d")" ]; then
	wshm=$(mktemp -d /dev/shm/ovltest-work.XXXXXX)
	ovl_at_exit "rm -rf '$wshm'"
	run_bad work-other-fs 3 "$M lowerdir=$L,upperdir=$U,workdir=$wshm"
else
	ovl_skip "conf/bad/work-other-fs" "/dev/shm is not a separate tmpfs"
fi

# unreadable / missing config files: the error names the file
for what in missing unreadable; do
	conf=$d/$what.conf
	rm -f "$conf"
	if [ $what = unreadable ]; then
		echo "$M lowerdir=$L" >"$conf"
		chmod 000 "$conf"
		run=(ovl_as_nobody env)
		ovl_is_root || { ovl_skip "conf/$what" "needs root to drop to nobody"; continue; }
	else
		run=(env)
	fi
	out=$("${run[@]}" OVL_CONF="$conf" LD_PRELOAD="$PRELOAD" /bin/echo hi 2>"$d/err")
	rc=$?
	if [ -z "$out" ] && [ $rc -ne 0 ] && grep -q "$what\.conf" "$d/err"; then ovl_pass "conf/$what-file"; else
		ovl_fail "conf/$what-file" "rc=$rc stdout=$out stderr=$(cat "$d/err")"
	fi
done

# --- valid configs: the program runs and sees the merged view
good() { # NAME CONF_TEXT EXPECTED_OUTPUT CMD...
	local name=$1 text=$2 exp=$3 out
	shift 3
	printf '%s\n' "$text" >"$d/good.conf"
	out=$(cd "$d" && OVL_CONF=good.conf LD_PRELOAD=$PRELOAD timeout 20 "$@" 2>&1)
	ovl_assert_eq "conf/good/$name" "$exp" "$out"
}
good plain "$M lowerdir=$d/l1:$d/l2" "$(printf 'from l1\nfrom l2')" cat "$M/f" "$M/g"
good with-upper "$M lowerdir=$d/l1:$d/l2,upperdir=$U,workdir=$W" "from l1" cat "$M/f"
good comments $'# comment\n   # indented comment\n\n'"$M lowerdir=$d/l1"$'\n\n' "from l1" cat "$M/f"
good fstab "overlay $M overlay lowerdir=$d/l1:$d/l2,upperdir=$U,workdir=$W 0 0" "from l2" cat "$M/g"
good relative-paths "$M lowerdir=l1:l2,upperdir=u,workdir=w" "from l2" cat "$M/g"
good escaped-space "$M lowerdir=$d/dir\\040with\\040space" "spacey" cat "$M/s"
good pinned-options "$M lowerdir=$d/l1,upperdir=$U,workdir=$W,$OVL_PINNED_DEFAULT" "from l1" cat "$M/f"
good userxattr-options "$M lowerdir=$d/l1,upperdir=$U,workdir=$W,$OVL_PINNED_USER" "from l1" cat "$M/f"
good relative-OVL_CONF "$M lowerdir=$d/l1" "from l1" bash -c "cd / && cat $M/f"

# --- OVL_CONF unset: pure pass-through (identical output, inode numbers and all)
fx=$d/fx
if ovl_is_root; then fmt=kernel; else fmt=user; fi
ovl_fixture "$fmt" "$fx" "$M" >/dev/null
passthru() { # NAME CMD (shell)
	local name=$1 cmd=$2
	(cd "$fx" && bash -c "$cmd") >"$d/pt.plain" 2>&1
	echo "[exit $?]" >>"$d/pt.plain"
	(cd "$fx" && env -u OVL_CONF LD_PRELOAD="$PRELOAD" bash -c "$cmd") >"$d/pt.shim" 2>&1
	echo "[exit $?]" >>"$d/pt.shim"
	ovl_diffout "conf/unset/$name" "$d/pt.plain" "$d/pt.shim" "no preload" "preload, OVL_CONF unset"
}
passthru tree "$OVL_TOOL tree --all-xattrs --mtime --nlink ."
passthru ls_laiR 'ls -laiR --full-time .'
passthru find_ls 'find . -ls | sort'
passthru stat 'find . -print0 | sort -z | xargs -0 stat -c "%n %i %d %F %a %h %s %Y %t %T"'
passthru getfattr 'getfattr -R -h -d -m - -e hex . 2>&1 | sort'
passthru python 'python3 -c "import os; print(sorted((r, sorted(d), sorted(f)) for r, d, f in os.walk(b\".\")))"'
passthru errors 'cat nonexistent; ls -d l1/wh_l1 l1/.nope; cd l1/only_l1; readlink l2/loop_a; echo rc=$?'
passthru writes 'mkdir -p t/a && echo x > t/a/f && ln -s f t/a/l && mv t/a/f t/a/g && cat t/a/l t/a/g; rm -r t; ls t'
out=$(env -u OVL_CONF LD_PRELOAD="$PRELOAD" /bin/echo hi 2>&1)
ovl_assert_eq "conf/unset/quiet" "hi" "$out"

ovl_summary
