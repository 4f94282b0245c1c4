#!/usr/bin/env bash
# A large merged directory (~5600 visible entries with long names, ~900 whiteouts interleaved,
# spread over four layers): listings span many getdents buffers, so the merged listing's
# buffering, telldir/seekdir cookies and whiteout filtering are exercised across buffer
# boundaries. Compared with the kernel overlay, per fixture format.
source "$(dirname "$0")/../lib/lib.sh"
DIRAPI=$OVL_T/dirapi
gcc -O1 -o "$DIRAPI" "$(dirname "$0")/helpers/dirapi.c" 2>/dev/null || DIRAPI=""
export DIRAPI

scen_bigdir() {
	ovl_check count 'ls -1a "$M/big" | wc -l; find "$M/big" | wc -l; python3 -c "import os, sys; print(len(os.listdir(sys.argv[1])))" "$M/big"'
	ovl_check ls_sorted 'ls -1a "$M/big"'
	ovl_check ls_U --sort 'ls -1aU "$M/big"'
	ovl_check stat_all --sort 'cd "$M/big" && find . -type f -print0 | xargs -0 stat -c "%n %F %s %h"'
	ovl_check python_scandir --sort 'python3 -c "
import os, sys
with os.scandir(sys.argv[1]) as it:
    for e in it: print(e.name, e.is_file(follow_symlinks=False), e.inode() == os.lstat(e.path).st_ino)" "$M/big"'
	[ -n "$DIRAPI" ] && ovl_check dirapi '"$DIRAPI" "$M/big" | grep -v " type=8$"'
	ovl_check gone 'cd "$M/big" && ls -d f0000_* f0499_* g0299_* h0099_* 2>&1; ls -d f0500_* g0300_* h0100_* 2>&1 | cut -c1-10'
}
for fmt in $(ovl_formats); do
	OVL_FIXTURE_FN=ovl_fixture_bigdir ovl_diff_run "$fmt" scen_bigdir bigdir
done
ovl_summary
