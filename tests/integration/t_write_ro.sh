#!/usr/bin/env bash
# A read-only overlay (lowerdir only, no upperdir/workdir): every modifying call fails with
# EROFS ("Read-only file system") and nothing changes -- compared with a read-only kernel
# overlay of the same lowers (SEMANTICS rule 67; DESIGN.md 1: one lower is allowed under the
# shim, the fixture has three so the kernel accepts it too). Per format: the outputs, the
# merged tree through the view, the lowers unchanged, and the real MERGED dir still empty.
source "$(dirname "$0")/../lib/lib.sh"
source "$(dirname "$0")/../lib/write.sh"

wr_inputs "$OVL_T/inputs" || { ovl_fail "write-ro/inputs"; ovl_summary; exit; }

# shellcheck disable=SC2016
RO_CMD='cd "$M" || exit 9
for c in "touch only_l3" "touch newf" "touch -d @0 nest" "touch -c -d @0 l3only/x/y/z/file" \
	"sh -c \"echo x > only_l3\"" "sh -c \"echo x >> nest/f_3\"" "sh -c \"echo x > newf2\"" \
	"sh -c \": > l3only/x/y/z/file\"" "rm only_l3" "rm -f only_u" "rm -rf nest" "rmdir emptydir" \
	"mkdir nd" "mkdir -p l3only/x/new/deeper" "mv only_l1 moved" "mv l3only l3moved" \
	"ln only_l1 hl" "ln -s target sl" "mkfifo ff" "chmod 700 only_l3" "chmod -R 700 l3only" \
	"chown 1:1 only_l3" "chown -h 1:1 dirlink" "truncate -s 0 only_l3" \
	"setfattr -n user.a -v 1 only_l3" "setfattr -x user.foo xattr_file" \
	"setfattr -x user.nope xattr_file" "cp only_l1 copy" "cp -a \"$WR_SRC\" srccopy" \
	"sed -i s/l1/XX/ only_l1" "perl -pi -e s/l2/YY/ only_l2" "tar -xf \"$WR_TAR\"" \
	"cat only_l1 nest/f_3" "ls -d emptydir l3only/x"; do
	eval "$c"; echo "rc=$? ($c)"
done
python3 - <<"EOF"
import errno, os, tempfile
def t(what, f):
    try:
        r = f(); print(what, "ok")
        if isinstance(r, int): os.close(r)
    except OSError as e:
        print(what, errno.errorcode[e.errno])
t("O_RDONLY|O_TRUNC", lambda: os.open("only_l2", os.O_RDONLY | os.O_TRUNC))
t("O_RDONLY|O_APPEND", lambda: os.open("only_l2", os.O_RDONLY | os.O_APPEND))
t("O_RDONLY|O_CREAT existing", lambda: os.open("only_l2", os.O_RDONLY | os.O_CREAT))
t("O_RDWR", lambda: os.open("only_l2", os.O_RDWR))
t("O_WRONLY|O_CREAT new", lambda: os.open("newpy", os.O_WRONLY | os.O_CREAT, 0o644))
t("O_TMPFILE", lambda: os.open(".", os.O_TMPFILE | os.O_WRONLY, 0o600))
t("mkstemp", lambda: tempfile.mkstemp(dir=".")[0])
t("mkdtemp", lambda: tempfile.mkdtemp(dir="."))
t("rename file", lambda: os.rename("only_l2", "x"))
t("utime", lambda: os.utime("only_l2", (0, 0)))
t("removexattr missing", lambda: os.removexattr("only_l2", "user.nope"))
print("access W_OK", os.access("only_l2", os.W_OK), os.access(".", os.W_OK))
fd = os.open("only_l2", os.O_RDONLY)
for what, f in (("fchmod", lambda: os.fchmod(fd, 0o600)), ("fchown", lambda: os.fchown(fd, 1, 1)),
                ("futimens", lambda: os.utime(fd, (0, 0))), ("fsetxattr", lambda: os.setxattr(fd, "user.x", b"1")),
                ("ftruncate", lambda: os.ftruncate(fd, 0))):
    t(what, f)
os.close(fd)
EOF'

# As uid 65534: a fifo opened for writing needs no write access to the file system, so the
# caller's permission decides before EROFS could (root-owned 644 fifo: EACCES, not EROFS);
# other refusals keep their order too.
# shellcheck disable=SC2016
RO_NOBODY_CMD='cd "$M" || exit 9
python3 - <<"EOF"
import errno, os
def t(what, f):
    try:
        os.close(f()); print(what, "ok")
    except OSError as e:
        print(what, errno.errorcode[e.errno])
t("fifo write", lambda: os.open("fifo", os.O_WRONLY | os.O_NONBLOCK))
t("fifo read", lambda: os.open("fifo", os.O_RDONLY | os.O_NONBLOCK))
t("fifo rdwr", lambda: os.open("fifo", os.O_RDWR | os.O_NONBLOCK))
t("mode000 write", lambda: os.open("mode000", os.O_WRONLY))
t("only_l2 write", lambda: os.open("only_l2", os.O_WRONLY))
t("create", lambda: os.open("nobody_new", os.O_WRONLY | os.O_CREAT, 0o644))
EOF'

run_fmt() {
	local fmt=$1 base out sx
	base=$(ovl_mktemp_dir "ro.$fmt")
	WR_M=$base/mp/m
	export WR_M
	mkdir -p "$WR_M"
	if ! wr__fixtures "$fmt" "$base"; then
		ovl_fail "write-ro/$fmt/fixture" "fixture build failed"
		return
	fi
	out=$base/out
	mkdir -p "$out"
	if ! ovl_can_mount; then
		ovl_skip "write-ro/$fmt" "kernel overlay mount refused: $OVL_MOUNT_ERR"
		return
	fi
	# kernel: read-only mount of the (kernel-format) lowers
	if ! wr_kernel_mount "$WR_KFMT" "$(ovl_lowers "$base/kfx")" "" ""; then
		ovl_skip "write-ro/$fmt" "read-only kernel mount refused: $OVL_MOUNT_ERR"
		return
	fi
	wr_exec kernel "$WR_KFMT" "$base/kfx" "$out/k.out" "$RO_CMD"
	WR_AS_NOBODY=1 wr_exec kernel "$WR_KFMT" "$base/kfx" "$out/k.nob" "$RO_NOBODY_CMD"
	# shellcheck disable=SC2016
	wr_exec kernel "$WR_KFMT" "$base/kfx" "$out/k.tree" '$OVL_TOOL tree $WR_TREE_OPTS "$M"'
	ovl_umount "$WR_M"
	if ! ovl_shim_available; then
		ovl_skip "write-ro/$fmt" "$OVL_SHIM_WHY; kernel side ran"
		return
	fi
	sx=$base/s
	ovl_copy_fixture "$base/fx" "$sx"
	rm -rf "$sx/u" "$sx/w"
	ovl_lowers_snapshot "$sx" "$out/lowers.before"
	wr_exec shim-ro "$fmt" "$sx" "$out/s.out" "$RO_CMD"
	WR_AS_NOBODY=1 wr_exec shim-ro "$fmt" "$sx" "$out/s.nob" "$RO_NOBODY_CMD"
	# shellcheck disable=SC2016
	wr_exec shim-ro "$fmt" "$sx" "$out/s.tree" '$OVL_TOOL tree $WR_TREE_OPTS "$M"'
	[ "$(ovl_runner)" = kernel ] && mountpoint -q "$WR_M" && ovl_umount "$WR_M"
	for f in k.tree s.tree; do wr_norm merged "$WR_T0" <"$out/$f" >"$out/$f.n"; done
	# sed -i's temporary name is random
	for f in k.out s.out; do sed -i 's|/sed[A-Za-z0-9]\{6\}:|/sedXXXXXX:|' "$out/$f"; done
	ovl_diffout "write-ro/$fmt/erofs" "$out/k.out" "$out/s.out" kernel shim
	ovl_diffout "write-ro/$fmt/tree" "$out/k.tree.n" "$out/s.tree.n" kernel shim
	ovl_diffout "write-ro/$fmt/nobody" "$out/k.nob" "$out/s.nob" kernel shim
	ovl_assert_lowers_unchanged "write-ro/$fmt/lowers" "$sx" "$out/lowers.before"
	if [ -z "$(ls -A "$WR_M")" ] && [ ! -e "$sx/u" ] && [ ! -e "$sx/w" ]; then
		ovl_pass "write-ro/$fmt/nothing-written-elsewhere"
	else
		ovl_fail "write-ro/$fmt/nothing-written-elsewhere" "$(ls -lA "$WR_M" "$sx" 2>&1)"
	fi
}

for fmt in $OVL_WRITE_FORMATS; do
	run_fmt "$fmt"
done
ovl_summary
