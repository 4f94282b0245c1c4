#!/usr/bin/env bash
# measure.sh DIR BINDIR RUNS: the measurements of one setup of bench/run.sh,
# run inside that setup (under ovlshim: inside ovlrun, so that this shell and
# every process it starts are shimmed). Prints "key value" lines:
#   find|walk|spawn SECONDS   median wall time of RUNS runs (or "fail STATUS")
#   walk_counts TEXT          what bench/walk saw
#   tree HASH                 names, types and contents of the tree
# Each command runs once as a warm-up first. The timer is hyperfine when it
# is installed (and OVL_BENCH_HYPERFINE is not 0), else bash's EPOCHREALTIME
# around the same fork+exec: the method is the same in every setup.
set -u
export LC_ALL=C
dir=$1 bin=$2 runs=$3
SPAWNS=${OVL_BENCH_SPAWNS:-1000}
cd "$dir" || {
	echo "error cannot enter $dir"
	exit 1
}
true_bin=$(type -P true)

use_hyperfine() {
	[ "${OVL_BENCH_HYPERFINE:-1}" != 0 ] && command -v hyperfine >/dev/null
}

# median of the numbers on stdin
median() {
	sort -n | awk '{ v[NR] = $1 }
		END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure KEY CMD...: print "KEY SECONDS" or "KEY fail STATUS"
measure() {
	local key=$1 rc=0
	shift
	"$@" >/dev/null 2>&1 || rc=$?
	if [ "$rc" != 0 ]; then
		echo "$key fail $rc"
		return
	fi
	if use_hyperfine; then
		local json
		json=$(mktemp "${TMPDIR:-/tmp}/ovlbench.XXXXXX")
		if hyperfine -N --style none --runs "$runs" --export-json "$json" -- "$*" \
			>/dev/null 2>&1; then
			echo "$key $(grep -o '"median": *[0-9.e+-]*' "$json" | head -n 1 |
				awk -F: '{ printf "%.6f", $2 }')"
		else
			echo "$key fail hyperfine"
		fi
		rm -f "$json"
		return
	fi
	local i t0 t1
	for ((i = 0; i < runs; i++)); do
		t0=${EPOCHREALTIME/[.,]/}
		"$@" >/dev/null 2>&1
		t1=${EPOCHREALTIME/[.,]/}
		echo $((t1 - t0))
	done | median | awk -v k="$key" '{ printf "%s %.6f\n", k, $1 / 1e6 }'
}

measure find find "$dir" -ls
measure walk "$bin/walk" "$dir"
measure spawn "$bin/spawn" "$SPAWNS" "$true_bin"

echo "walk_counts $("$bin/walk" "$dir" 2>&1)"
# Relative names, so that the setups compare; contents in name order.
tree=$({
	find . -mindepth 1 -printf '%P %y\n' | sort
	find . -type f -print0 | sort -z | xargs -0 -r cat
} | md5sum)
echo "tree ${tree%% *}"
