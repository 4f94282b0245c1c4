#!/usr/bin/env bash
# The read scenario as an unprivileged user (uid/gid 65534) on both sides: the kernel overlay
# mounted by root and read by nobody, and the shim run by nobody. Only the formats an
# unprivileged reader can see are used: user.* markers and OCI .wh. files (trusted.* markers are
# invisible to unprivileged processes, DESIGN.md "On-disk formats"). Permission errors
# (mode 000 file, the 0750 root-owned dir) must match too.
source "$(dirname "$0")/../lib/lib.sh"
source "$(dirname "$0")/read_scenario.sh"

if ! ovl_is_root; then
	ovl_skip "read-nobody" "needs root to set up, then drops to uid 65534"
	ovl_summary
	exit
fi
export OVL_AS_NOBODY=1
for fmt in $(ovl_formats); do
	case $fmt in user | oci) ovl_diff_run "$fmt" scen_read read-nobody ;; esac
done
ovl_summary
