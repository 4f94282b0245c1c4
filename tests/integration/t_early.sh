#!/usr/bin/env bash
# Initialisation order: a library preloaded next to the shim uses the file system from its
# constructor (before or after the shim's own constructor, both LD_PRELOAD orders). It must see
# the merged view (same as on a kernel overlay), and nothing may crash or recurse.
source "$(dirname "$0")/../lib/lib.sh"

if ! ovl_shim_available || [ "$(ovl_runner)" = kernel ] || [ "$(ovl_runner)" = none ]; then
	ovl_skip "early: all" "${OVL_SHIM_WHY:-needs the real shim}"
	ovl_summary
	exit
fi
d=$(ovl_mktemp_dir early)
if ! gcc -O1 -shared -fPIC -o "$d/early.so" "$(dirname "$0")/helpers/early.c" 2>"$d/cc.err"; then
	ovl_skip "early: all" "cannot build helpers/early.c: $(head -n 1 "$d/cc.err")"
	ovl_summary
	exit
fi
mkdir -p "$d"/{l1,l2,u,w,m}
echo "from l1" >"$d/l1/f"
echo "from l2 (hidden)" >"$d/l2/f"
echo "$d/m lowerdir=$d/l1:$d/l2,upperdir=$d/u,workdir=$d/w" >"$d/c.conf"
want=$(printf 'early mkdir: -1 File exists\nearly read: from l1\nearly stat: size 8')
LIB=$(ovl_preload_value)
# the real interpreter, not a wrapper script (pyenv) that would start several processes
PY=$(python3 -c 'import sys; print(sys.executable)')
for order in "early-first" "shim-first"; do
	if [ $order = early-first ]; then pre="$d/early.so $LIB"; else pre="$LIB $d/early.so"; fi
	# with libasan it must stay first
	if [ "${OVL_SANITIZE:-0}" = 1 ]; then pre="$(gcc -print-file-name=libasan.so) ${pre//$(gcc -print-file-name=libasan.so) /}"; fi
	# (timeout starts env, which sets the variables and execs the command: one process loads early.so)
	out=$(timeout 20 env EARLY_PATH="$d/m/f" EARLY_DIR=/tmp OVL_CONF="$d/c.conf" LD_PRELOAD="$pre" /bin/true 2>&1)
	ovl_assert_eq "early/$order/true" "$want" "$out"
	out=$(timeout 20 env EARLY_PATH="$d/m/f" EARLY_DIR=/tmp OVL_CONF="$d/c.conf" LD_PRELOAD="$pre" "$PY" -c 'print("main")' 2>&1)
	ovl_assert_eq "early/$order/python3" "$want"$'\nmain' "$out"
	out=$(timeout 20 env -u OVL_CONF EARLY_DIR=/tmp LD_PRELOAD="$pre" /bin/echo main 2>&1)
	ovl_assert_eq "early/$order/OVL_CONF-unset" $'early mkdir: -1 File exists\nmain' "$out"
done
# Not tested: ASAN_OPTIONS=log_path with the sanitizer build of the library. ASan's own
# start-up calls mkdir() for the log directory before ASan is initialised; the shim's
# instrumented wrapper then touches shadow memory that does not exist yet. A limit of that
# debugging build only (README "Limits"); run.sh does not set log_path for ASan.
ovl_summary
	exit
fi
d=$(ovl_mktemp_dir early)
if ! gcc -O1 -shared -fPIC -o "$d/early.so" "$(dirname "$0")/helpers/early.c" 2>"$d/cc.err"; then
	ovl_skip "early: all" "cannot build helpers/early.c: $(head -n 1 "$d/cc.err")"
	ovl_summary
	exit
fi
mkdir -p "$d"/{l1,l2,u,w,m}
echo "from l1" >"$d/l1/f"
echo "from l2 (hidden)" >"$d/l2/f"
echo "$d/m lowerdir=$d/l1:$d/l2,upperdir=$d/u,workdir=$d/w" >"$d/c.conf"
want=$(printf 'early mkdir: -1 File exists\nearly read: from l1\nearly stat: size 8')
LIB=$(ovl_preload_value)
# the real interpreter, not a wrapper script (pyenv) that would start several processes
PY=$(python3 -c 'import sys; print(sys.executable)')
for order in "early-first" "shim-first"; do
	if [ $order = early-first ]; then pre="$d/early.so $LIB"; else pre="$LIB $d/early.so"; fi
	# with libasan it must stay first
	if [ "${OVL_SANITIZE:-0}" = 1 ]; then pre="$(gcc -print-file-name=libasan.so) ${pre//$(gcc -print-file-name=libasan.so) /}"; fi
	# (timeout starts env, which sets the variables and execs the command: one process loads early.so)
	out=$(timeout 20 env EARLY_PATH="$d/m/f" EARLY_DIR=/tmp OVL_CONF="$d/c.conf" LD_PRELOAD="$pre" /bin/true 2>&1)
	ovl_assert_eq "early/$order/true" "$want" "$out"
	out=$(timeout 20 env EARLY_PATH="$d/m/f" EARLY_DIR=/tmp OVL_CONF="$d/c.conf" LD_PRELOAD="$pre" "$PY" -c 'print("main")' 2>&1)
	ovl_assert_eq "early/$order/python3" "$want"$'\nmain' "$out"
	out=$(timeout 20 env -u OVL_CONF EARLY_DIR=/tmp LD_PRELOAD="$pre" /bin/echo main 2>&1)
	ovl_assert_eq "early/$order/OVL_CONF-unset" $'early mkdir: -1 File exists\nmain' "$out"
done
# ASan's own start-up calls mkdir() for the directories of ASAN_OPTIONS=log_path, from inside
# the first interceptor, i.e. possibly before the (instrumented) shim or ASan are ready.
if [ "${OVL_SANITIZE:-0}" = 1 ]; then
	mkdir -p "$d/asanlog"
	out=$(timeout 20 env ASAN_OPTIONS="detect_leaks=0:log_path=$d/asanlog/asan" OVL_CONF="$d/c.conf" \
		LD_PRELOAD="$LIB" /bin/cat "$d/m/f" 2>&1)
	ovl_assert_eq "early/asan-log_path" "from l1" "$out"
fi
ovl_summary
