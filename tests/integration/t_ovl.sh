#!/usr/bin/env bash
# The ovl layer tools (issue 6, SEED.md point 4): ovl diff after a scripted job equals the
# changes the script made (shim in both whiteout formats, and a kernel mount's upper);
# commit --reset round trip and its lock; squash; export/import round trip; image unpack/pack,
# judged by podman, buildah, skopeo and umoci where they are installed (SKIP lines otherwise).
source "$(dirname "$0")/../lib/lib.sh"

OVL=$OVL_BUILD/ovl
DUMP="python3 $(cd "$(dirname "$0")" && pwd)/helpers/layer_dump.py"
if [ ! -x "$OVL" ] || ! ovl_shim_available; then
	ovl_skip "ovl: all" "$OVL or the shim not built"
	ovl_summary
	exit
fi
d=$(ovl_mktemp_dir ovl)
run() { timeout 60 "$OVL_OVLRUN" "$@"; }
tree() { $OVL_TOOL tree --no-dirsize "$1" | grep -v $'^\\.\t'; } # the root's own mode aside
nonutf8=$(printf 'caf\351')

# ---------------------------------------------------------------- the fixture and the job
mkfix() { # DIR: two lowers, l1 on top of l2
	mkdir -p "$1"/l1/{etc,bin,docs} "$1"/l2/{etc,lib,data/old,docs,keep,opq/sub,mv}
	echo root >"$1/l2/etc/passwd"
	echo 127.0.0.1 >"$1/l2/etc/hosts"
	echo a >"$1/l2/lib/a.so"
	echo b >"$1/l2/lib/b.so"
	echo x >"$1/l2/data/old/x"
	echo y >"$1/l2/data/y"
	echo readme >"$1/l2/docs/readme"
	echo k >"$1/l2/keep/k"
	echo o1 >"$1/l2/opq/o1"
	echo o2 >"$1/l2/opq/o2"
	echo deep >"$1/l2/opq/sub/deep"
	echo src >"$1/l2/mv/src"
	echo conf >"$1/l1/etc/app.conf"
	printf '#!/bin/sh\necho tool\n' >"$1/l1/bin/tool"
	chmod 755 "$1/l1/bin/tool"
	echo extra >"$1/l1/docs/extra"
	mkdir -p "$1/u" "$1/w" "$1/m"
}
JOB='set -e
echo new >newfile
mkdir -p newdir/sub && echo f >newdir/sub/f
echo changed >>etc/hosts
rm lib/a.so
rm -r data/old
chmod 700 bin/tool
mv mv/src mv/dst
rm -r opq && mkdir opq && echo o1new >opq/o1 && echo o3 >opq/o3
mkdir docs/more && echo m >docs/more/m && rm docs/extra
ln -s ../etc/hosts newdir/link
ln newfile newlink
touch -d 2001-01-01 keep
echo u >"$(printf "caf\351")"'
expected() {
	LC_ALL=C sort -k2 <<EOF
C /bin
C /bin/tool
A /$nonutf8
C /data
D /data/old
C /docs
D /docs/extra
A /docs/more
A /docs/more/m
C /etc
C /etc/hosts
C /keep
C /lib
D /lib/a.so
C /mv
A /mv/dst
D /mv/src
A /newdir
A /newdir/link
A /newdir/sub
A /newdir/sub/f
A /newfile
A /newlink
C /opq
C /opq/o1
D /opq/o2
A /opq/o3
D /opq/sub
EOF
}
expected >"$d/expected"

# ---------------------------------------------------------------- ovl diff
for fmt in chardev oci; do
	f=$d/diff-$fmt
	mkfix "$f"
	run -o "lowerdir=$f/l1:$f/l2,upperdir=$f/u,workdir=$f/w,whiteout=$fmt" "$f/m" -- \
		sh -c "cd '$f/m' && $JOB" || ovl_fail "diff/$fmt: the job failed"
	"$OVL" diff "$f/u" "$f/l1" "$f/l2" >"$f/out" 2>&1
	ovl_diffout "diff/$fmt: the changes the job made" "$d/expected" "$f/out"
	"$OVL" diff "$f/u" "$f/l1:$f/l2" >"$f/out2" 2>&1
	ovl_diffout "diff/$fmt: LOWER as a colon list" "$f/out" "$f/out2"
done
a=$d/diff-chardev b=$d/diff-oci
"$OVL" commit "$a/u" "$a/l1:$a/l2" "$a/c" && "$OVL" commit "$b/u" "$b/l1:$b/l2" "$b/c"
ovl_diffout "commit: an OCI-format upper gives the same layer" <($DUMP "$a/c") <($DUMP "$b/c")
if cmp -s <("$OVL" export --mtime 0 --owner 0:0 "$a/u") <("$OVL" export --mtime 0 --owner 0:0 "$b/u"); then
	ovl_pass "export: chardev and OCI-format uppers give the same tar"
else
	ovl_fail "export: chardev and OCI-format uppers give the same tar"
fi
f=$d/diff-chardev
echo "$f/m lowerdir=l1:l2,upperdir=u,workdir=w" >"$f/ovl.conf"
"$OVL" diff -c "$f/ovl.conf" >"$f/out3" 2>&1
ovl_diffout "diff: -c CONF" "$d/expected" "$f/out3"
"$OVL" diff -c "$f/ovl.conf" "$f/m" >"$f/out3" 2>&1
ovl_diffout "diff: -c CONF MERGED" "$d/expected" "$f/out3"
"$OVL" diff --json "$f/u" "$f/l1:$f/l2" >"$f/json" 2>&1
if python3 - "$f/json" "$f/out" >"$f/json.err" 2>&1 <<'EOF'; then
import base64, json, sys
v = json.load(open(sys.argv[1]))
text = open(sys.argv[2], "rb").read().splitlines()
got = []
for o in v:
    p = base64.b64decode(o["path_base64"]) if "path_base64" in o else o["path"].encode()
    if "path_base64" in o:
        assert "\ufffd" in o["path"], o
    got.append(o["kind"].encode() + b" " + p)
assert got == text, (got, text)
assert any("path_base64" in o for o in v)
EOF
	ovl_pass "diff --json: same changes, non-UTF-8 name exact in path_base64"
else
	ovl_fail "diff --json" "$(cat "$f/json.err")"
fi

if ovl_is_root && ovl_can_mount; then
	f=$d/diff-kernel
	mkfix "$f"
	mount -t overlay ovltest -o "lowerdir=$f/l1:$f/l2,upperdir=$f/u,workdir=$f/w,$OVL_PINNED_DEFAULT" "$f/m" &&
		OVL_MOUNTS+=("$f/m") && (cd "$f/m" && sh -c "$JOB")
	ovl_umount "$f/m"
	"$OVL" diff "$f/u" "$f/l1" "$f/l2" >"$f/out" 2>&1
	ovl_diffout "diff/kernel: a kernel overlay's upper reads the same" "$d/expected" "$f/out"
else
	ovl_skip "diff/kernel" "no kernel overlay mount here"
fi

# ---------------------------------------------------------------- commit --reset, squash
f=$d/commit
mkfix "$f"
echo "$f/m lowerdir=l1:l2,upperdir=u,workdir=w" >"$f/ovl.conf"
run -c "$f/ovl.conf" -- sh -c "cd '$f/m' && $JOB"
run -c "$f/ovl.conf" -- $OVL_TOOL tree --no-dirsize "$f/m" | grep -v $'^\\.\t' >"$f/t1"

# a job holding the work dir's lock: --reset refuses, nothing written
mkdir -p "$f/busy"/{u,w,m}
echo "$f/busy/m lowerdir=$f/l1:$f/l2,upperdir=u,workdir=w" >"$f/busy/ovl.conf"
# (the shell itself writes, so it is the process holding the lock while it waits)
timeout 60 "$OVL_OVLRUN" -c "$f/busy/ovl.conf" -- \
	sh -c "echo x >'$f/busy/m/x'; touch '$f/busy/ready'; sleep 30; true" &
job=$!
for _ in $(seq 100); do [ -e "$f/busy/ready" ] && break; sleep 0.1; done
msg=$("$OVL" commit --reset -c "$f/busy/ovl.conf" "$f/busy/new" 2>&1)
rc=$?
if [ $rc = 1 ] && [[ $msg == *"ovlshim/lock is held"* ]] && [ ! -e "$f/busy/new" ] &&
	[ -e "$f/busy/u/x" ] && ! grep -q busy/new "$f/busy/ovl.conf"; then
	ovl_pass "commit --reset: refused while a job holds the lock"
else
	ovl_fail "commit --reset: refused while a job holds the lock" "rc=$rc: $msg"
fi
# a plain commit copies the upper: not while a job may be writing it either
msg=$("$OVL" commit -c "$f/busy/ovl.conf" "$f/busy/new2" 2>&1)
rc=$?
if [ $rc = 1 ] && [[ $msg == *"ovlshim/lock is held"*"not committing"* ]] && [ ! -e "$f/busy/new2" ]; then
	ovl_pass "commit: refused while a job holds the lock"
else
	ovl_fail "commit: refused while a job holds the lock" "rc=$rc: $msg"
fi
kill "$job" 2>/dev/null
wait "$job" 2>/dev/null

# a record of a removed directory (README "Design notes") outlives ovlrun's cleaning, not a reset
mkdir -p "$f/w/work/#ovlshim-dead-1-2"
"$OVL" commit --reset -c "$f/ovl.conf" "$f/new" >"$f/log" 2>&1
ovl_assert_eq "commit --reset: exit status" "0 " "$? $(cat "$f/log")"
ovl_assert_eq "commit --reset: the upper is empty" "" "$(ls -A "$f/u")"
ovl_assert_eq "commit --reset: records of removed directories go" "" "$(ls -A "$f/w/work")"
case $(grep -v '^#' "$f/ovl.conf") in
"$f/m lowerdir=new:l1:l2,upperdir=u,workdir=w") ovl_pass "commit --reset: config line rewritten" ;;
*) ovl_fail "commit --reset: config line rewritten" "$(cat "$f/ovl.conf")" ;;
esac
run -c "$f/ovl.conf" -- $OVL_TOOL tree --no-dirsize "$f/m" | grep -v $'^\\.\t' >"$f/t2"
ovl_diffout "commit --reset: the job sees the same tree" "$f/t1" "$f/t2"
ovl_assert_eq "commit --reset: nothing left to diff" "" "$("$OVL" diff -c "$f/ovl.conf" 2>&1)"
"$OVL" diff "$f/new" "$f/l1:$f/l2" >"$f/out" 2>&1
ovl_diffout "commit: NEWLAYER holds the job's changes" "$d/expected" "$f/out"
if ovl_is_root && ovl_can_mount; then
	# a userxattr mount reads (and hides) user.overlay.opaque; a default mount reads the
	# trusted.* marker written beside it as root, and lists the user.* one as a plain xattr
	mkdir -p "$f/km"
	for o in "$OVL_PINNED_USER" "$OVL_PINNED_DEFAULT"; do
		mount -t overlay ovltest -o "lowerdir=$f/new:$f/l1:$f/l2,$o" "$f/km" &&
			OVL_MOUNTS+=("$f/km") && tree "$f/km" | sed 's/\tuser\.overlay\.opaque=79$/\t-/' >"$f/t3"
		ovl_umount "$f/km"
		ovl_diffout "commit: a kernel mount of NEWLAYER shows the job's tree (${o%%,*})" "$f/t1" "$f/t3"
	done
else
	ovl_skip "commit: kernel mount of NEWLAYER" "no kernel overlay mount here"
fi
run -c "$f/ovl.conf" -- sh -c "echo more >'$f/m/more'"
ovl_assert_eq "commit --reset: the job goes on" "A /more" "$("$OVL" diff -c "$f/ovl.conf" 2>&1)"
"$OVL" commit "$f/u" "$f/new:$f/l1:$f/l2" "$f/u/inside" >/dev/null 2>&1
ovl_assert_eq "commit: NEWLAYER inside the upper refused, nothing made" "1 no" "$? $(ls "$f/u/inside" 2>/dev/null || echo no)"

"$OVL" squash "$f/sq" "$f/new:$f/l1:$f/l2" >"$f/log" 2>&1
tree "$f/sq" >"$f/t4"
ovl_diffout "squash: the merged tree, no markers" "$f/t1" "$f/t4"

# ---------------------------------------------------------------- export / import
"$OVL" export -o "$f/e1.tar" "$f/new"
"$OVL" export --mtime 0 --owner 0:0 "$f/new" >"$f/e2.tar"
cp -a "$f/new" "$f/newcopy"
"$OVL" export --mtime 0 --owner 0:0 "$f/newcopy" >"$f/e3.tar"
if cmp -s "$f/e2.tar" "$f/e3.tar"; then
	ovl_pass "export: reproducible (a copy of the tree gives the same bytes)"
else
	ovl_fail "export: reproducible"
fi
if python3 - "$f/e1.tar" >"$f/tar.err" 2>&1 <<'EOF'; then
import sys, tarfile
t = tarfile.open(sys.argv[1])
m = t.getmembers()
names = [x.name.rstrip("/") for x in m]
for w in ("lib/.wh.a.so", "data/.wh.old", "docs/.wh.extra", "mv/.wh.src", "opq/.wh..wh..opq"):
    assert w in names, w
i = names.index("opq")
assert names[i + 1] == "opq/.wh..wh..opq", names[i:i + 3]
assert "opq/.wh.o2" not in names and "opq/.wh.sub" not in names, "whiteouts in an opaque dir"
assert len(names) == len(set(names)), "duplicate paths"
lk = [x for x in m if x.islnk()]
assert [(x.name, x.linkname) for x in lk] == [("newlink", "newfile")], lk
for x in m:
    assert not any("overlay." in k for k in x.pax_headers), (x.name, x.pax_headers)
    if ".wh." in x.name:
        assert x.isreg() and x.size == 0, x.name
EOF
	ovl_pass "export: OCI whiteouts, opaque marker first, hard link, no overlay xattrs"
else
	ovl_fail "export: OCI layer format" "$(cat "$f/tar.err")"
fi
"$OVL" import "$f/e1.tar" "$f/imp" >"$f/log" 2>&1
ovl_diffout "import: the same layer back" <($DUMP "$f/new") <($DUMP "$f/imp")
if [ -c "$f/imp/lib/a.so" ] && [ "$(getfattr --only-values -n user.overlay.opaque "$f/imp/opq" 2>/dev/null)" = y ]; then
	ovl_pass "import: kernel format (chardev whiteout, user.overlay.opaque)"
else
	ovl_fail "import: kernel format" "$(ls -la "$f/imp/lib" "$f/imp/opq")"
fi
mkdir -p "$f/m2"
run -o "lowerdir=$f/imp:$f/l1:$f/l2" "$f/m2" -- $OVL_TOOL tree --no-dirsize "$f/m2" |
	grep -v $'^\\.\t' >"$f/t5"
ovl_diffout "import: stacked on the lowers, the job's tree" "$f/t1" "$f/t5"
if [ -d "$d/diff-kernel/u" ]; then # the kernel's whiteouts share one inode (rule 13)
	"$OVL" export "$d/diff-kernel/u" >"$f/k.tar"
	lk=$(tar -tvf "$f/k.tar" 2>/dev/null | grep -c '^h')
	ovl_assert_eq "export: kernel whiteouts are not hard links" 1 "$lk"
fi

# ---------------------------------------------------------------- image pack / unpack
"$OVL" image pack -o "$f/img.tar" --tag ovltest/img "$f/new:$f/l1:$f/l2" >"$f/id" 2>"$f/log"
"$OVL" image unpack "$f/img.tar" "$f/img" 2>"$f/log"
run -c "$f/img/ovl.conf" -- $OVL_TOOL tree --no-dirsize "$f/img/merged" | grep -v $'^\\.\t' >"$f/t6"
ovl_diffout "image pack | unpack: the same tree" "$f/t1" "$f/t6"
"$OVL" image pack -o "$f/img2.tar" --tag ovltest/img "$f/new:$f/l1:$f/l2" >"$f/id2" 2>"$f/log"
if cmp -s "$f/img.tar" "$f/img2.tar" && cmp -s "$f/id" "$f/id2"; then
	ovl_pass "image pack: reproducible"
else
	ovl_fail "image pack: reproducible"
fi
mkdir -p "$f/legacy"
tar -xf "$f/img.tar" -C "$f/legacy" && rm "$f/legacy/manifest.json" && rm "$f/legacy"/*.json &&
	tar -cf "$f/legacy.tar" -C "$f/legacy" .
"$OVL" image unpack "$f/legacy.tar" "$f/imgl" 2>"$f/log"
run -c "$f/imgl/ovl.conf" -- $OVL_TOOL tree --no-dirsize "$f/imgl/merged" | grep -v $'^\\.\t' >"$f/t7"
ovl_diffout "image unpack: legacy <id>/json parent chain" "$f/t1" "$f/t7"
if ovl_is_root && command -v setpriv >/dev/null; then
	p=$d/priv
	mkdir -p "$p/l" "$p/out" && echo s >"$p/l/other" && chown 1234:1234 "$p/l/other" &&
		mknod "$p/l/null" c 1 3
	"$OVL" image pack -o "$p/p.tar" "$p/l" >/dev/null 2>&1
	chown -R 65534:65534 "$p/out" && chmod 755 "$p" && chmod 644 "$p/p.tar"
	msg=$(setpriv --reuid 65534 --regid 65534 --clear-groups "$OVL" image unpack "$p/p.tar" "$p/out/u" 2>&1)
	if [[ $msg == *"owned by another user"* && $msg == *"1 device nodes not made"* ]]; then
		ovl_pass "image unpack as a user: what it cannot restore is reported"
	else
		ovl_fail "image unpack as a user: report" "$msg"
	fi
else
	ovl_skip "image unpack as a user" "needs root and setpriv"
fi

# ---------------------------------------------------------------- real tools as judges
missing=""
for t in podman buildah skopeo umoci; do command -v $t >/dev/null || missing+=" $t"; done
if [ -n "$missing" ] || ! ovl_is_root; then
	ovl_skip "image: podman/buildah/skopeo/umoci judges" "${missing:+missing:$missing}${missing:+; }$(ovl_is_root || echo "needs root")"
	ovl_summary
	exit
fi
i=$d/img
mkdir -p "$i"
S=(--root "$i/st" --runroot "$i/run" --storage-driver overlay)
S2=(--root "$i/st2" --runroot "$i/run2" --storage-driver overlay)
S3=(--root "$i/st3" --runroot "$i/run3" --storage-driver overlay)
ovl_at_exit "podman ${S[*]} image unmount -a >/dev/null 2>&1; podman ${S2[*]} image unmount -a >/dev/null 2>&1; podman ${S3[*]} image unmount -a >/dev/null 2>&1"
mkdir -p "$i"/src1/{etc,opt/app,bin,var/empty} "$i"/src2/{etc,opt/app}
echo hello >"$i/src1/etc/hello"
ln "$i/src1/etc/hello" "$i/src1/etc/hardhello"
ln -s hello "$i/src1/etc/link"
echo one >"$i/src1/opt/app/one"
echo two >"$i/src1/opt/app/two"
printf '#!/bin/sh\n' >"$i/src1/bin/run" && chmod 755 "$i/src1/bin/run"
echo extra >"$i/src2/etc/extra"
echo three >"$i/src2/opt/app/three"
if ! (
	set -e
	c=$(buildah "${S[@]}" from scratch)
	buildah "${S[@]}" copy "$c" "$i/src1" / >/dev/null
	buildah "${S[@]}" commit -q "$c" ovltest/s1 >/dev/null
	c=$(buildah "${S[@]}" from ovltest/s1)
	buildah "${S[@]}" copy "$c" "$i/src2" / >/dev/null
	buildah "${S[@]}" commit -q "$c" ovltest/s2 >/dev/null
	c=$(buildah "${S[@]}" from ovltest/s2)
	mp=$(buildah "${S[@]}" mount "$c")
	rm "$mp/etc/hello" && rm -r "$mp/opt/app" && mkdir "$mp/opt/app" && echo new >"$mp/opt/app/new"
	buildah "${S[@]}" umount "$c" >/dev/null
	buildah "${S[@]}" commit -q "$c" ovltest/three >/dev/null
	podman "${S[@]}" save -q --format docker-archive -o "$i/d.tar" ovltest/three
	podman "${S[@]}" save -q --format oci-archive -o "$i/o.tar" ovltest/three
) >"$i/build.log" 2>&1; then
	ovl_fail "image: buildah could not build the 3-layer image" "$(tail -5 "$i/build.log")"
	ovl_summary
	exit
fi
mp=$(podman "${S[@]}" image mount ovltest/three) && tree "$mp" >"$i/podman.tree"
gd=$(podman "${S[@]}" image inspect ovltest/three --format '{{.GraphDriver.Data.UpperDir}}:{{.GraphDriver.Data.LowerDir}}')
IFS=: read -r -a store <<<"$gd" # top first
ovl_assert_eq "image: the test image has 3 layers" 3 "${#store[@]}"
for a in d o; do
	"$OVL" image unpack "$i/$a.tar" "$i/u$a" 2>"$i/log" || ovl_fail "image unpack $a" "$(cat "$i/log")"
	bad=""
	for n in 1 2 3; do
		if ! diff <($DUMP "${store[3 - n]}") <($DUMP "$i/u$a/layers/$n") >"$i/ldiff"; then
			bad+="layer $n: $(head -20 "$i/ldiff")"$'\n'
		fi
	done
	[ -z "$bad" ] && ovl_pass "image unpack ($a): layers equal podman's overlay store" ||
		ovl_fail "image unpack ($a): layers equal podman's overlay store" "$bad"
	run -c "$i/u$a/ovl.conf" -- $OVL_TOOL tree --no-dirsize "$i/u$a/merged" | grep -v $'^\\.\t' >"$i/u$a.tree"
	ovl_diffout "image unpack ($a): merged tree equals podman image mount" "$i/podman.tree" "$i/u$a.tree"
done
mkdir -p "$i/lay"
tar -xf "$i/o.tar" -C "$i/lay"
"$OVL" image unpack "$i/lay" "$i/ul" 2>"$i/log"
run -c "$i/ul/ovl.conf" -- $OVL_TOOL tree --no-dirsize "$i/ul/merged" | grep -v $'^\\.\t' >"$i/ul.tree"
ovl_diffout "image unpack (OCI layout dir): merged tree equals podman image mount" "$i/podman.tree" "$i/ul.tree"

ud=$i/ud
"$OVL" image pack -o "$i/p.tar" --tag localhost/ovlpacked --config "$ud/config.json" \
	"$ud/layers/3:$ud/layers/2:$ud/layers/1" >/dev/null 2>"$i/log"
if podman "${S2[@]}" load -q -i "$i/p.tar" >"$i/log" 2>&1 &&
	mp2=$(podman "${S2[@]}" image mount localhost/ovlpacked); then
	tree "$mp2" >"$i/p.tree"
	ovl_diffout "image pack: podman load into a fresh store, same tree" "$i/podman.tree" "$i/p.tree"
else
	ovl_fail "image pack: podman load" "$(cat "$i/log")"
fi
if skopeo copy -q "docker-archive:$i/p.tar" "oci:$i/oci:t" >"$i/log" 2>&1 &&
	umoci unpack --image "$i/oci:t" "$i/bundle" >>"$i/log" 2>&1; then
	tree "$i/bundle/rootfs" >"$i/umoci.tree"
	ovl_diffout "image pack: umoci unpack shows the same tree" "$i/podman.tree" "$i/umoci.tree"
else
	ovl_fail "image pack: skopeo copy + umoci unpack" "$(cat "$i/log")"
fi

# the round trip: unpack, change files with host tools under the shim, commit, pack, load
r=$i/rt
"$OVL" image unpack "$i/d.tar" "$r" 2>"$i/log"
run -c "$r/ovl.conf" -- sh -c "cd '$r/merged' && sed -i s/extra/EXTRA/ etc/extra && rm opt/app/new &&
	mkdir -p var/log && echo entry >var/log/app.log && python3 -c 'open(\"bin/py\", \"w\").write(\"x\")' &&
	rm -r var/empty"
run -c "$r/ovl.conf" -- $OVL_TOOL tree --no-dirsize "$r/merged" | grep -v $'^\\.\t' >"$i/job.tree"
"$OVL" commit --reset -c "$r/ovl.conf" "$r/layers/4" >"$i/log" 2>&1 || ovl_fail "round trip: commit" "$(cat "$i/log")"
"$OVL" image pack -o "$i/rt.tar" --tag localhost/ovlrt --config "$r/config.json" \
	"$r/layers/4:$r/layers/3:$r/layers/2:$r/layers/1" >/dev/null 2>"$i/log"
if podman "${S3[@]}" load -q -i "$i/rt.tar" >"$i/log" 2>&1 &&
	mp3=$(podman "${S3[@]}" image mount localhost/ovlrt); then
	tree "$mp3" >"$i/rt.tree"
	ovl_diffout "round trip: unpack, change, commit, pack, podman load: the job's tree" "$i/job.tree" "$i/rt.tree"
else
	ovl_fail "round trip: podman load" "$(cat "$i/log")"
fi
ovl_summary
