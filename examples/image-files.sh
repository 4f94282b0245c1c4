#!/usr/bin/env bash
# Working on a saved image's files without root or a daemon (SEED.md point 4: an image is a
# chain of layer directories, each layer naming its parent).
#
#   OVL_BUILD=/abs/build examples/image-files.sh [IMAGE.tar]
#
# IMAGE.tar is a docker-archive (docker save, podman save) or an OCI archive; without one, a
# small image is made first with `ovl image pack`. The image is unpacked into layer directories
# and an ovl.conf; host tools (find, grep, sed, python3) then read and change its files through
# ovlrun (the image's own programs are not run: there is no chroot); ovl diff shows the change,
# ovl commit --reset keeps it as a new top layer, and ovl image pack writes a new image that
# `podman load` accepts.
set -euo pipefail
export LC_ALL=C
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${OVL_BUILD:-$here/../build}
OVLRUN=$BUILD/ovlrun OVL=$BUILD/ovl
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { echo "image-files: FAILED: $*" >&2; exit 1; }

image=${1:-}
if [ -z "$image" ]; then
	step "no image given: making one with two layers"
	mkdir -p "$t/base/etc" "$t/base/usr/share/app" "$t/top/etc"
	echo 'NAME="demo"' >"$t/base/etc/os-release"
	echo 'port=80' >"$t/base/etc/app.conf"
	echo 'v1' >"$t/base/usr/share/app/VERSION"
	echo 'port=8080' >"$t/top/etc/app.conf"
	"$OVL" image pack -o "$t/image.tar" --tag localhost/demo:1 "$t/top:$t/base"
	image=$t/image.tar
fi

step "ovl image unpack: one directory per layer, and an ovl.conf chaining them"
"$OVL" image unpack "$image" "$t/img"
cat "$t/img/ovl.conf"
ls "$t/img/layers"

step "host tools read and change the image's files through ovlrun"
"$OVLRUN" -c "$t/img/ovl.conf" -- sh -c "cd '$t/img/merged' && find . -type f | sort | head -20"
if "$OVLRUN" -c "$t/img/ovl.conf" -- test -f "$t/img/merged/etc/app.conf"; then
	"$OVLRUN" -c "$t/img/ovl.conf" -- sed -i 's/port=.*/port=9090/' "$t/img/merged/etc/app.conf"
fi
"$OVLRUN" -c "$t/img/ovl.conf" -- python3 -c "
import pathlib
p = pathlib.Path('$t/img/merged/etc/edited-by')
p.write_text('ovl image-files example\n')"

step "ovl diff: what changed"
"$OVL" diff -c "$t/img/ovl.conf" | tee "$t/changes"
grep -qx 'A /etc/edited-by' "$t/changes" || fail "the change is not in ovl diff"

step "ovl commit --reset: the change becomes the top layer"
n=$(( $(ls "$t/img/layers" | wc -l) + 1 ))
"$OVL" commit --reset -c "$t/img/ovl.conf" "$t/img/layers/$n"
grep -v '^#' "$t/img/ovl.conf"

step "ovl image pack: a new image"
layers=$(for ((i = n; i >= 1; i--)); do printf '%s%s' "$t/img/layers/$i" "$([ $i -gt 1 ] && echo :)"; done)
"$OVL" image pack -o "$t/edited.tar" --tag localhost/edited --config "$t/img/config.json" "$layers"
"$OVL" image unpack "$t/edited.tar" "$t/check" 2>/dev/null
out=$("$OVLRUN" -c "$t/check/ovl.conf" -- cat "$t/check/merged/etc/edited-by")
[ "$out" = "ovl image-files example" ] || fail "the new image lacks the change"
echo "the new image holds the change; load it with: podman load -i edited.tar"
echo "image-files: ok"
