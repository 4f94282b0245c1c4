#!/bin/sh
# Build the config fuzzer: tests/fuzz/build.sh [OUT_DIR] (default build/fuzz).
# Prints the binary's path. Used by run.sh and regress.sh.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build/fuzz}
mkdir -p "$out"
clang -std=gnu11 -g -O1 -fno-omit-frame-pointer \
      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
      -D_GNU_SOURCE -I"$root/include" -I"$root/shim/core" \
      "$root/tests/fuzz/fuzz_config.c" "$root/shim/core/config.c" \
      "$root/shim/core/path.c" "$root/shim/core/sys.c" "$root/shim/core/detour.c" \
      "$root/shim/core/layer.c" -o "$out/fuzz_config" >&2
echo "$out/fuzz_config"
