#!/usr/bin/env bash
# Runs every tests/integration/t_*.sh (or the ones named on the command line), shows their
# output, and ends with one line "N passed, N failed[, N skipped]" summing all of them.
# Exit status: 0 when nothing failed, 1 otherwise.
#
#   OVL_BUILD=/path/to/build tests/integration/run.sh            (default: <repo>/build)
#   OVL_SANITIZE=1 OVL_BUILD=build-san tests/integration/run.sh  library built with ASan/UBSan:
#       the ASan runtime is preloaded first, leaks are not checked, and a representative
#       subset runs; any sanitizer report fails the run.
#   OVL_RUNNER=kernel tests/integration/run.sh                   harness self-test (no shim)
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here" || exit 125
export OVL_BUILD=${OVL_BUILD:-$(cd "$here/../.." && pwd)/build}

declare -A FORMATS=()
if [ "${OVL_SANITIZE:-0}" = 1 ]; then
	libasan=$(gcc -print-file-name=libasan.so)
	if [ ! -e "$libasan" ]; then
		echo "SKIP: sanitizer run (no libasan.so from gcc)"
		echo "0 passed, 0 failed, 1 skipped"
		exit 0
	fi
	sandir=$(mktemp -d "${TMPDIR:-/tmp}/ovl-sanitize.XXXXXX")
	# ASan reports go to the stderr of the process (captured by the checks, and flagged by
	# ovl_check); ASan's log_path is not used: setting it makes ASan call mkdir() during its
	# own start-up, which lands in the (instrumented) shim before ASan is ready.
	export ASAN_OPTIONS="detect_leaks=0"
	export UBSAN_OPTIONS="print_stacktrace=1:log_path=$sandir/ubsan"
	# the representative subset
	tests=(t_conf.sh t_early.sh t_fixture.sh t_read.sh t_lower_ro.sh)
	FORMATS[t_read.sh]="kernel oci"
	FORMATS[t_lower_ro.sh]="kernel"
	FORMATS[t_fixture.sh]="kernel user"
else
	tests=()
	for t in t_*.sh; do tests+=("$t"); done
fi
[ $# -gt 0 ] && tests=("$@")

P=0 F=0 S=0
for t in "${tests[@]}"; do
	t=${t##*/}
	echo "### $t"
	log=$(mktemp)
	if [ -n "${FORMATS[$t]:-}" ] && [ -z "${OVL_FORMATS:-}" ]; then
		OVL_FORMATS=${FORMATS[$t]} bash "./$t" 2>&1 | tee "$log"
	else
		bash "./$t" 2>&1 | tee "$log"
	fi
	rc=${PIPESTATUS[0]}
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?$' "$log" | tail -n 1)
	rm -f "$log"
	if [ -z "$line" ]; then
		echo "FAIL $t: exited with status $rc without a summary line"
		F=$((F + 1))
		continue
	fi
	read -r p _ f _ s _ <<<"${line//,/}"
	P=$((P + p)) F=$((F + f)) S=$((S + ${s:-0}))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $t: exited with status $rc"
		F=$((F + 1))
	fi
done

if [ "${OVL_SANITIZE:-0}" = 1 ]; then
	if compgen -G "$sandir/*" >/dev/null; then
		echo "FAIL sanitizer reports:"
		head -n 60 "$sandir"/* | sed 's/^/    /'
		F=$((F + 1))
	else
		echo "PASS no sanitizer reports"
		P=$((P + 1))
	fi
	rm -rf "$sandir"
fi

if [ "$S" -gt 0 ]; then
	echo "$P passed, $F failed, $S skipped"
else
	echo "$P passed, $F failed"
fi
[ "$F" -eq 0 ]
