#!/bin/sh
# Fuzz ovl_config_parse for SECONDS (default 60): tests/fuzz/run.sh [SECONDS]
# The seed corpus tests/fuzz/corpus/ is only read; what the fuzzer learns goes
# to build/fuzz/corpus. A crash leaves tests/fuzz/crash-*: once fixed, move it
# into tests/fuzz/corpus/ so that regress.sh keeps replaying it.
set -eu
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
bin=$("$here/build.sh")
work=$(dirname "$bin")/corpus
mkdir -p "$work"
exec "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
     -dict="$here/config.dict" -artifact_prefix="$here/" -print_final_stats=1 \
     "$work" "$here/corpus"
