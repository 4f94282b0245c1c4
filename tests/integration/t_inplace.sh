#!/usr/bin/env bash
# "Protect this directory in place" (DESIGN.md 1: MERGED may equal a lowerdir): the read
# scenario with MERGED = the top lower layer's own path, against a kernel overlay mounted over
# that same lower directory (the kernel allows it). Both sides use the same path, one after the
# other, on fresh copies.
source "$(dirname "$0")/../lib/lib.sh"
source "$(dirname "$0")/read_scenario.sh"
export OVL_INPLACE=1
for fmt in $(ovl_formats); do
	case $fmt in kernel | oci) ovl_diff_run "$fmt" scen_read inplace ;; esac
done
ovl_summary
