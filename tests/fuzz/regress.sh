#!/bin/sh
# Replay every input of tests/fuzz/corpus/ once, without fuzzing; exits
# non-zero if any of them crashes or trips a sanitizer.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$("$here/build.sh")
"$bin" -runs=0 -artifact_prefix="$(dirname "$bin")/" "$here/corpus"
echo "fuzz regress: $(find "$here/corpus" -type f | wc -l) inputs replayed, no crash"
