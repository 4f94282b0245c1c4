#!/bin/sh
# The library must export exactly the symbols of symbols.def, so every
# interposed entry point is declared in one place and none is forgotten.
set -eu
lib=$1 def=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n 's/^OVL_SYM(\([A-Za-z0-9_]*\))$/\1/p' "$def" | sort >"$tmp/want"
nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "W" || $2 == "i" {print $3}' |
        sed 's/@.*//' | sort -u >"$tmp/have"
if cmp -s "$tmp/want" "$tmp/have"; then
        echo "symbols-check: $(wc -l <"$tmp/want") symbols match symbols.def"
        echo "1 passed, 0 failed"
        exit 0
fi
echo "symbols-check: exported symbols differ from symbols.def (< def only, > library only):"
diff "$tmp/want" "$tmp/have" || true
echo "0 passed, 1 failed"
exit 1
