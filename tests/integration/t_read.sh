#!/usr/bin/env bash
# The read path, differentially: every command of issue 2's "Done when" run through the shim
# and on a kernel overlay of the same layers, for every fixture format (OVL_FORMATS).
# Outputs are compared byte for byte (paths included: both sides use the same merged path),
# sorted where the output follows readdir order; inode numbers are dropped where printed.
source "$(dirname "$0")/../lib/lib.sh"

source "$(dirname "$0")/read_scenario.sh"

for fmt in $(ovl_formats); do
	ovl_diff_run "$fmt" scen_read read
done
ovl_summary
