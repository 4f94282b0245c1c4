#!/usr/bin/env bash
# The write path (issue 3), differentially: every scenario below runs with real tools on a
# kernel overlay and under the shim, each on a fresh copy of the same layers at the same merged
# path, for the fixture formats in OVL_WRITE_FORMATS (default: kernel user). Per scenario:
# output and exit code, the merged tree, the normalised upper trees, the shim's lowers
# unchanged, and the kernel mounting the shim's upper (see tests/lib/write.sh for the
# normalisations and why each is legitimate).
source "$(dirname "$0")/../lib/lib.sh"
source "$(dirname "$0")/../lib/write.sh"

wr_inputs "$OVL_T/inputs" || { ovl_fail "write/inputs"; ovl_summary; exit; }
# the kernel without the *xattrat calls (before 6.13) or a seccomp profile refusing them: the
# shim falls back to /proc/self/fd paths (scenarios xattr_old_kernel_*)
export WR_NOXAT=$OVL_T/noxattrat
gcc -O1 -o "$WR_NOXAT" "$(dirname "$0")/helpers/noxattrat.c" || { ovl_fail "write/noxattrat-cc"; ovl_summary; exit; }

# --- copying in and out
wr_scen cp_a_in 'cd "$M" && cp -a "$WR_SRC/." nest/ && cp -a "$WR_SRC" newtree && cp -a "$WR_SRC" l3only/x/ && cp -a "$WR_SRC/f" only_l3 && cp -a "$WR_SRC/sub" stack/ && cp -a "$WR_SRC/sub/." opq/ && echo done'
wr_scen cp_a_out 'd=$(mktemp -d) && cp -a "$M/nest" "$M/l3only" "$M/opq" "$M/opq_deep" "$M/xattr_file" "$M/hl_a" "$M/hl_b" "$M/suid" "$M/owned_dir" "$d/" && $OVL_TOOL tree --mtime --nlink "$d" | awk -F"\t" "\$1 != \".\""; rm -rf "$d"'
# --- mv
wr_scen mv_file 'cd "$M" && mv only_l3 moved && mv nest/f_3 l3only/x/ && mv same12 same23 && mv only_u nest/ && mv hl_a hl_moved && mv same samemoved && mv wh_re l3only/x/y/z/ && ls -a . nest l3only/x l3only/x/y/z'
wr_scen mv_dir_lower 'cd "$M" && mv l3only l3moved && mv emptydir stack/ && mv nest nest2 && mv empty_l3only notopq/ && mv opq opq2 && ls -aR l3moved nest2 stack notopq opq2'
wr_scen mv_dir_upper 'cd "$M" && mkdir newd && echo x > newd/f && mv newd nest/newd2 && mv uonly nest/ && mv stack_u stack_u2 && mv opq_u opq_u2 && ls -a nest/newd2 nest/uonly stack_u2 opq_u2'
# --- removing
wr_scen rm_rf 'cd "$M" && rm -rf nest opq l3only stack opq_u wh_dir_re notopq "dir with space" && ls -a'
wr_scen rm_files 'cd "$M" && rm only_l1 only_u same same23 hl_a nest/f_u nest/f_3 dangling dirlink fifo nest/fifo_u empty_u && rm -f nope; rm nest; echo rc=$?; rm opq/nope; echo rc=$?; ls -a . nest'
wr_scen rmdir_merged 'cd "$M" && rm notopq/n1 notopq/n2 && rmdir notopq && rmdir emptydir empty_l3only && rm opq/w opq/u && rmdir opq && rmdir nest; echo rc=$?; rmdir stack_f; echo rc=$?; rmdir wh_l1; echo rc=$?; ls -a'
# xw holds an xattr whiteout (gone) in l1 over l3's xw/gone, with the "x" marker on l1/xw.
# Not compared: rmdir of the then empty-looking xw. The kernel answers ENOTEMPTY (its emptiness
# check does not count xattr whiteouts as whiteouts); ovlshim treats every marker as a marker
# (DESIGN.md) and removes the directory. An intentional difference, listed in the README.
wr_scen rmdir_xwhiteout 'cd "$M" && ls -a xw && rm xw/keep && ls -a xw'
wr_scen mkdir_over_wh 'cd "$M" && mkdir wh_l1 wh_dir wh_fifo wh_u && ls -a wh_dir && rm -rf nest && mkdir nest && ls -a nest && touch nest/x && rm -rf opq && mkdir opq && rmdir wh_l1 && rm -r wh_dir && ls -a . nest opq'
wr_scen mkdir_p 'cd "$M" && mkdir -p nest/deep/a/b/new/x l3only/x/y/z/q newtop/a/b wh_dir/sub stack/n && mkdir nest; echo rc=$?; mkdir -p nest/deep; echo rc=$?; mkdir -m 0700 modedir && stat -c "%n %a" modedir wh_dir'
# --- links
wr_scen ln 'cd "$M" && ln only_l3 hl && ln nest/f_3 nest/f_3_hl && ln only_u only_u_hl && ln hl_a hl_c && ln only_l2 l3only/x/y/hl2 && stat -c "%n %h" only_l3 hl nest/f_3 nest/f_3_hl only_u only_u_hl hl_a hl_b hl_c l3only/x/y/hl2 && [ "$(stat -c %i only_l3)" = "$(stat -c %i hl)" ] && [ "$(stat -c %i hl_a)" = "$(stat -c %i hl_c)" ] && [ "$(stat -c %i hl_a)" != "$(stat -c %i hl_b)" ] && echo inodes-ok; ln only_l1 only_l2; echo rc=$?; ln nest nestlink; echo rc=$?'
wr_scen ln_s 'cd "$M" && ln -s only_l3 newlink && ln -s "$M/nest" nl && ln -sf only_u only_l3 && ln -s x l3only/x/y/z/s && ln -s target wh_l1 && readlink newlink nl only_l3 l3only/x/y/z/s wh_l1 && cat only_l3 && ln -s a only_l1; echo rc=$?'
# --- metadata
wr_scen touch_new 'cd "$M" && touch newf nest/newf l3only/x/y/z/newf wh_l1 opq/x && ls -a opq l3only/x/y/z'
wr_scen touch_existing 'cd "$M" && touch only_l3 nest/f_3 && touch -d @1000000000 only_l2 l3only && touch -h -d @1000000001 dirlink && touch -a only_l1 && touch -m same23 && touch -c nope && stat -c "%n %Y" only_l2 l3only dirlink'
wr_scen chmod_R 'cd "$M" && chmod -R go-rwx nest && chmod -R 700 l3only && chmod 4700 only_l3 && chmod 000 opq && chmod u+x dirlink && stat -c "%n %a" nest nest/f_3 nest/deep/a l3only/x only_l3 opq nest/f_1'
wr_scen chown 'cd "$M" && chown 1:2 only_l3 && chown -R 3:4 l3only && chown -h 5:6 dirlink && chown 7 owned_dir && chown :8 nest/f_3 && chown 0:0 owned && chown 9 suid && stat -c "%n %u %g %a" only_l3 l3only/x/y/z/file dirlink owned_dir nest/f_3 owned suid'
wr_scen xattr 'cd "$M" && setfattr -n user.new -v 1 only_l3 && setfattr -n user.foo -v changed xattr_file && setfattr -x user.bin xattr_file && setfattr -n user.d -v 2 xattr_dir && setfattr -n user.x -v 1 l3only/x && getfattr -d -m - --absolute-names only_l3 xattr_file xattr_dir l3only/x; getfattr -n user.nope only_l1; echo rc=$?; setfattr -x user.nope only_l1; echo rc=$?'
for e in ENOSYS EPERM; do
	wr_scen xattr_old_kernel_$e '"$WR_NOXAT" '$e' bash -c '\''cd "$M" && setfattr -n user.new -v 1 only_l3 && setfattr -x user.bin xattr_file && setfattr -n user.d -v 2 xattr_dir && getfattr -d -m - --absolute-names only_l3 xattr_file xattr_dir && rm -rf opq && mkdir opq && touch opq/x && mkdir wh_dir && ls -a . opq wh_dir nest'\'
done
# --- editing content
wr_scen sed_i 'cd "$M" && sed -i s/l3/XX/ only_l3 nest/f_3 && sed -i.bak s/l1/YY/ only_l1 && sed -i s/deep/DEEP/ l3only/x/y/z/file && cat only_l3 nest/f_3 only_l1 only_l1.bak l3only/x/y/z/file && ls l3only/x/y/z'
wr_scen perl_pi 'cd "$M" && perl -pi -e s/l2/YY/ only_l2 nest/f_2 && perl -pi.orig -e s/deep/DEEP/ nest/deep/from_2 && cat only_l2 nest/f_2 nest/deep/from_2 nest/deep/from_2.orig && ls nest/deep'
wr_scen echo_append 'cd "$M" && echo more >> only_l3 && echo more >> nest/f_3 && echo more >> hl_a && echo more >> l3only/x/y/z/file && echo new >> newfile && cat only_l3 hl_a hl_b l3only/x/y/z/file'
wr_scen truncate 'cd "$M" && truncate -s 5 only_l3 && truncate -s 0 big && truncate -s 1M nest/f_1 && truncate -s +10 only_l2 && truncate -s 3 l3only/x/y/z/file && wc -c only_l3 big nest/f_1 only_l2 l3only/x/y/z/file && du -k nest/f_1'
wr_scen tar_x 'tar -C "$M" -xf "$WR_TAR" && tar -C "$M" -xf "$WR_TAR" && echo done'
# --- python: renames, moves, open flags, xattrs, fds
wr_scen py_rename 'cd "$M" && python3 - <<"EOF"
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def t(a, b, flags=None):
    try:
        if flags is None:
            os.rename(a, b)
        elif libc.renameat2(-100, a.encode(), -100, b.encode(), flags) != 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        print("ok", a, b, flags)
    except OSError as e:
        print("err", a, b, flags, errno.errorcode[e.errno])
t("l3only", "l3x"); t("nest", "nest2"); t("empty_l3only", "e2"); t("emptydir", "e3")
t("nest/deep", "deep2"); t("uonly", "uonly2"); t("only_l3", "f2"); t("stack_u", "stack_u2")
os.mkdir("newd"); t("newd", "nest/newd")
t("only_l1", "only_l2", 2); t("only_u", "same", 2); t("nest", "uonly2", 2)
t("same12", "same23", 1); t("same12", "new12", 1); t("only_l2", "x", 4)
t("nest/f_1", "nest/f_1b"); t("opq_u", "l3only/opq_u")
print(sorted(os.listdir(".")))
EOF'
wr_scen shutil_move 'cd "$M" && python3 -c "
import shutil
print(shutil.move(\"l3only\", \"l3moved\"))
print(shutil.move(\"notopq\", \"emptydir/\"))
print(shutil.move(\"only_l3\", \"l3moved/x\"))
print(shutil.move(\"opq\", \"uonly/sub\"))
" && ls -a . emptydir emptydir/notopq l3moved/x uonly/sub'
wr_scen open_flags 'cd "$M" && python3 - <<"EOF"
import errno, os
def show(p):
    st = os.stat(p); print(p, st.st_size, oct(st.st_mode))
for p in ("only_l3", "l3only/x/y/z/file"):
    fd = os.open(p, os.O_RDONLY | os.O_TRUNC)
    print("trunc", p, os.fstat(fd).st_size, os.read(fd, 10)); os.close(fd); show(p)
fd = os.open("only_l2", os.O_RDONLY | os.O_APPEND)
print("append", os.read(fd, 100))
try: os.write(fd, b"x")
except OSError as e: print("write", errno.errorcode[e.errno])
os.close(fd)
fd = os.open("nest/f_3", os.O_RDONLY | os.O_CREAT, 0o600); print(os.read(fd, 100)); os.close(fd)
fd = os.open("nest/fifo_u", os.O_RDWR); os.close(fd); print("fifo ok")
try: os.open("nest/f_2", os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o600)
except OSError as e: print("excl", errno.errorcode[e.errno])
fd = os.open("nest/newf", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640); os.write(fd, b"new\n"); os.close(fd)
show("nest/newf"); show("only_l2"); show("nest/f_3")
EOF'
wr_scen removexattr_missing 'cd "$M" && python3 -c "
import errno, os
for p in (\"only_l3\", \"l3only\", \"l3only/x/y/z/file\", \"nest/f_3\"):
    try: os.removexattr(p, \"user.nope\")
    except OSError as e: print(p, errno.errorcode[e.errno])
" && setfattr -x user.nope only_l1; echo rc=$?'
wr_scen fd_ops 'cd "$M" && python3 - <<"EOF"
import errno, os
old = os.open("only_l3", os.O_RDONLY)
for name, call in (("fchmod", lambda fd: os.fchmod(fd, 0o600)), ("fchown", lambda fd: os.fchown(fd, 11, 12)),
                   ("futimens", lambda fd: os.utime(fd, ns=(1000000000 * 10**9, 1000000000 * 10**9))),
                   ("fsetxattr", lambda fd: os.setxattr(fd, "user.fd", b"1")),
                   ("fremovexattr", lambda fd: os.removexattr(fd, "user.foo")),
                   ("ftruncate", lambda fd: os.ftruncate(fd, 0))):
    for p in ("xattr_file", "nest/f_3", "l3only/x/y/z/file"):
        fd = os.open(p, os.O_RDONLY)
        try: call(fd); print(name, p, "ok")
        except OSError as e: print(name, p, errno.errorcode[e.errno])
        finally: os.close(fd)
with open("only_l3", "a") as f: f.write("appended\n")
print(os.pread(old, 100, 0)); os.close(old)
for p in ("xattr_file", "nest/f_3"):
    st = os.stat(p); print(p, oct(st.st_mode), st.st_uid, st.st_gid, st.st_mtime, os.listxattr(p))
EOF'
# An fd on a lower file whose name was since taken from it (unlinked: a whiteout; replaced): the
# kernel copies the fd's inode up to that name and meets whatever holds it with EEXIST (ENOENT
# when its directory went away, even if made again); never does a change through the old fd
# reach the object that holds the name now. A missing xattr is ENODATA first.
wr_scen fd_name_gone 'cd "$M" && python3 - <<"EOF"
import errno, os
def t(name, f):
    try: f(); print(name, "ok")
    except OSError as e: print(name, errno.errorcode[e.errno])
a = os.open("only_l3", os.O_RDONLY); b = os.open("nest/f_3", os.O_RDONLY)
os.unlink("only_l3"); os.unlink("nest/f_3"); os.mkdir("nest/f_3")
t("fchmod-unlinked", lambda: os.fchmod(a, 0o600))
t("fremovexattr-missing", lambda: os.removexattr(a, "user.nope"))
t("fchmod-replaced", lambda: os.fchmod(b, 0o700))
t("fsetxattr-replaced", lambda: os.setxattr(b, "user.x", b"1"))
print(oct(os.stat("nest/f_3").st_mode), os.listxattr("nest/f_3"))
c = os.open("l3only/x/y/z/file", os.O_RDONLY); os.system("rm -r l3only/x/y/z")
t("fchmod-parent-removed", lambda: os.fchmod(c, 0o600))
os.mkdir("l3only/x/y/z"); t("fchmod-parent-made-again", lambda: os.fchmod(c, 0o600))
EOF'
# RENAME_EXCHANGE moves both directories: each that lands in a merged parent is made opaque, as
# a plain rename does (a new dir exchanged with an opaque one over a lower dir must not show the
# lower's names)
wr_scen exchange_opaque 'cd "$M" && rm -r l3only/x/y && mkdir l3only/x/y newd && touch newd/n && python3 -c "
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
print(libc.renameat2(-100, b\"newd\", -100, b\"l3only/x/y\", 2), sorted(os.listdir(\"l3only/x/y\")), os.listdir(\"newd\"))
"'
# --- errno order of namespace calls: the directory part first, then what each call makes of
# the last name (trailing slash, ".", a long name), the mount (EXDEV) only after both names
wr_scen py_errno_order 'cd "$M" && ln -s nowhere dangl && ln -s nest dlink && mkfifo ff && python3 - <<"EOF"
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
M = os.getcwd(); L = "L" * 256
def t(name, f):
    try:
        r = f(); print(name, "ok" if r in (None, 0) or isinstance(r, int) and r > 0 else r)
    except OSError as e: print(name, errno.errorcode[e.errno])
def c(r):
    if r < 0:
        e = ctypes.get_errno(); raise OSError(e, os.strerror(e))
def rn2(a, b, fl, afd=-100, bfd=-100): c(libc.renameat2(afd, a.encode(), bfd, b.encode(), fl))
t("creat-slash", lambda: os.close(os.open("newf/", os.O_WRONLY | os.O_CREAT, 0o644)))
t("creat-slash-existing", lambda: os.close(os.open("only_l3/", os.O_WRONLY | os.O_CREAT, 0o644)))
t("creat-dir-flag", lambda: os.open("newd2", os.O_RDWR | os.O_CREAT | os.O_DIRECTORY, 0o644))
t("path-creat", lambda: os.close(os.open("nest", os.O_PATH | os.O_CREAT | os.O_DIRECTORY)))
t("mkfifo-slash", lambda: os.mkfifo("newfifo/"))
t("symlink-slash", lambda: os.symlink("x", "newlink/"))
t("mkdir-slash-file", lambda: os.mkdir("only_l3/"))
t("mkdir-slash-new", lambda: os.mkdir("newdir/"))
t("unlink-dangling-slash", lambda: os.unlink("dangl/"))
t("unlink-missing-slash", lambda: os.unlink("nope/"))
t("rmdir-link-slash", lambda: os.rmdir("dlink/"))
t("mknod-existing", lambda: os.mknod("ff", 0o600 | 0o20000, os.makedev(1, 3)))
t("link-dir-existing", lambda: os.link("nest", "only_l3"))
t("link-missing-old", lambda: os.link("nope", "only_l3/x"))
t("rename-badfd", lambda: rn2("only_l3", "x", 0, bfd=999))
t("rename-out-missing", lambda: os.rename("only_l3", "../no-such-dir/x"))
t("rename-out-notdir", lambda: os.rename("only_l3", "only_l3/../x"))
t("rename-merged", lambda: os.rename(M, M + "/x"))
t("rename-into-merged", lambda: os.rename("nope", M))
t("rename-ancestor", lambda: os.rename("nest/f_3", "nest"))
t("rename-whiteout-missing", lambda: rn2("nope", "x", 4))
t("rename-self", lambda: os.rename("l3only", M + "/./l3only"))
t("utimens-omit-missing", lambda: c(libc.utimensat(-100, b"nope/x", (ctypes.c_long * 4)(0, (1 << 30) - 2, 0, (1 << 30) - 2), 0)))
t("long-in-missing", lambda: os.symlink("x", "nope/" + L))
t("long-in-dir", lambda: os.unlink("nest/" + L))
t("file-dotdot", lambda: os.stat("only_l3/../nest"))
# a link out of the overlay to a file: that file is not a directory before the long name is long
open("../outfile", "w").close(); os.symlink("../outfile", "outl")
t("long-after-out-file", lambda: os.lstat("outl/" + L))
t("long-after-out-file2", lambda: os.unlink("outl/x/" + L))
os.unlink("outl"); os.unlink("../outfile")
print(sorted(os.listdir(".")))
EOF'
# a removed cwd or dirfd is the kernel's dead directory: nothing in it, ".." still climbs
wr_scen py_dead_dir 'cd "$M" && python3 - <<"EOF"
import errno, os
def t(name, f):
    try: r = f(); print(name, "ok", r if isinstance(r, (str, list)) else "")
    except OSError as e: print(name, errno.errorcode[e.errno])
M = os.getcwd()
os.mkdir("mv1"); os.chdir("mv1"); os.rename("../mv1", "../mv2")
t("cwd-renamed", lambda: os.path.basename(os.getcwd()))
t("creat-in-renamed", lambda: os.close(os.open("x", os.O_WRONLY | os.O_CREAT, 0o644)))
os.chdir(M); t("renamed-list", lambda: sorted(os.listdir("mv2")))
os.mkdir("dd"); fdd = os.open("dd", os.O_RDONLY | os.O_DIRECTORY); os.rmdir("dd")
t("fchdir-dead", lambda: os.fchdir(fdd)); t("getcwd-dead", os.getcwd)
t("dead-up", lambda: os.stat("../only_l3").st_size); os.chdir(M)
os.mkdir("gone"); os.mkdir("gone2"); os.mkdir("nest/sub_gone")
fd = os.open("gone2", os.O_RDONLY | os.O_DIRECTORY)
fd3 = os.open("nest/sub_gone", os.O_RDONLY | os.O_DIRECTORY)
os.chdir("gone"); os.rmdir("../gone"); os.rmdir("../gone2"); os.rmdir("../nest/sub_gone")
t("getcwd", os.getcwd)
t("creat", lambda: os.close(os.open("x", os.O_WRONLY | os.O_CREAT, 0o644)))
t("mkdir", lambda: os.mkdir("d"))
t("stat-dot", lambda: os.stat(".").st_nlink)
t("stat-up", lambda: sorted(os.listdir("..")))
t("stat-dot-up", lambda: os.stat("./../only_l3").st_size)
t("rename-in", lambda: os.rename("../only_l3", "moved"))
t("fd-mkdir", lambda: os.mkdir("d", dir_fd=fd))
t("fd-up", lambda: os.stat("../only_l2", dir_fd=fd).st_size)
t("fd-list", lambda: os.listdir(fd))
t("fd3-up", lambda: sorted(os.listdir(os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd3))))
# another process removes the cwd (an upper one, a lower-only one) and puts a new dir or a
# file in its place: the kernel keeps this process in the dead directory
import subprocess
os.chdir(M); os.mkdir("other")
for d, again in (("other", "mkdir"), ("l3only/x/y/z", "mkdir"), ("nest/deep/a", "touch"),
                 ("ro_dir", "true")):
    os.chdir(M + "/" + d)
    subprocess.run(["sh", "-c", "cd \"$0\" && rm -rf \"$1\" && %s \"$1\"" % again, M, d])
    t(d + " chdir-dot", lambda: os.chdir("."))
    t(d + " getcwd", os.getcwd)
    t(d + " stat-missing", lambda: os.stat("nothing"))
    t(d + " creat", lambda: os.close(os.open("x", os.O_WRONLY | os.O_CREAT, 0o644)))
    t(d + " up", lambda: os.stat("../" + os.path.basename(d)).st_mode >> 12)
    t(d + " stat-dot", lambda: oct(os.lstat(".").st_mode))
# "." of a removed opaque upper cwd: its own xattrs still read, its marker is never shown
os.chdir(M); os.rmdir("emptydir"); os.mkdir("emptydir"); os.chdir("emptydir")
os.setxattr(".", "user.t", b"1")
t("opq-live-list", lambda: sorted(os.listxattr(".")))
t("opq-live-get", lambda: os.getxattr(".", "user.overlay.opaque"))
os.rmdir(M + "/emptydir")
t("opq-dead-list", lambda: sorted(os.listxattr(".")))
t("opq-dead-get", lambda: os.getxattr(".", "user.overlay.opaque"))
t("opq-dead-get-own", lambda: os.getxattr(".", "user.t"))
# directory fds (O_PATH too) on merged directories another process removes: their ".." still
# climbs to where they were, also when the shim moved them through WORK on the way out
os.chdir(M)
fy = os.open("l3only/x/y", os.O_PATH | os.O_DIRECTORY); fz = os.open("l3only/x/y/z", os.O_RDONLY)
subprocess.run(["rm", "-rf", M + "/l3only/x"])
t("gone-fd-up", lambda: os.stat("../../../only_l2", dir_fd=fy).st_size)
t("gone-fd-up2", lambda: os.stat("../../../../only_l2", dir_fd=fz).st_size)
t("gone-fd-name", lambda: os.stat("z", dir_fd=fy))
t("gone-fd-xattrs", lambda: sorted(os.listxattr(fz)))
# a directory fd on a lower-only cwd this process removed: the lower directory it stood for
os.chdir(M + "/xonly"); os.unlink("f"); os.rmdir("../xonly"); fx = os.open(".", os.O_RDONLY)
t("own-lower-fd-stat", lambda: oct(os.stat(".", dir_fd=fx, follow_symlinks=False).st_mode))
t("own-lower-fstat", lambda: oct(os.fstat(fx).st_mode))
t("own-lower-fd-up", lambda: os.stat("../only_l2", dir_fd=fx).st_size)
t("own-lower-fd-name", lambda: os.stat("f", dir_fd=fx))
EOF'
# an fd on a lower-only directory removed meanwhile: fchdir into it and change "." (no call may
# reach the lower directory the fd was opened on, which the lowers check verifies)
wr_scen dead_lower_fchdir 'cd "$M" && python3 - <<"EOF"
import os
fd = os.open("l3only/x/y/z", os.O_RDONLY | os.O_DIRECTORY); fp = os.open("empty_l3only", os.O_PATH)
os.unlink("l3only/x/y/z/file"); os.rmdir("l3only/x/y/z"); os.rmdir("empty_l3only")
for f in (fd, fp):
    os.fchdir(f)
    for call in (lambda: os.chmod(".", 0o700), lambda: os.utime(".", (5, 5)),
                 lambda: os.setxattr(".", "user.dead", b"1"), lambda: os.chown(".", 1, 1),
                 lambda: os.removexattr(".", "user.foo"), lambda: os.mkdir("./new"),
                 lambda: os.close(os.open(".", os.O_RDONLY | os.O_TRUNC))):
        try: call(); print("ok")
        except OSError as e: print(e.strerror)
os.chdir(os.environ["M"])
for f in (fd, fp):
    for call in (lambda: os.chmod(".", 0o700, dir_fd=f), lambda: os.utime(".", (5, 5), dir_fd=f),
                 lambda: os.chown(".", 1, 1, dir_fd=f), lambda: os.mkdir(".", dir_fd=f),
                 lambda: os.rmdir(".", dir_fd=f), lambda: os.close(os.open(".", os.O_RDWR, dir_fd=f)),
                 lambda: os.close(os.open("./", os.O_RDONLY | os.O_TRUNC, dir_fd=f))):
        try: call(); print("ok")
        except OSError as e: print(e.strerror)
print(sorted(os.listdir("l3only/x/y")))
EOF'
# a removed directory itself ("." of a cwd or dirfd, an fd on it): the removed upper directory,
# with its own mode even when the shim emptied it in WORK or its name was made again; a
# lower-only one shows its lower and refuses changes, as the kernel cannot copy it up (the
# copy-up ends by renaming onto the old name, which holds the whiteout: cwd.c
# ovl_dead_dir_change); a lower file unlinked under an fd refuses them too (the copy-up links
# onto the name: EEXIST)
wr_scen py_dead_self 'cd "$M" && python3 - <<"EOF"
import errno, os
def t(name, f):
    try: r = f(); print(name, "ok", r if isinstance(r, (str, list)) else "")
    except OSError as e: print(name, errno.errorcode[e.errno])
def mode(p=".", **kw): return oct(os.stat(p, follow_symlinks=False, **kw).st_mode)
M = os.getcwd()
os.mkdir("up"); os.chmod("up", 0o555); os.chdir("up"); os.rmdir("../up"); os.mkdir("../up")
t("up-dot", mode); t("up-mkdir", lambda: os.mkdir("n")); t("up-list", lambda: os.listdir("."))
t("up-list-dot", lambda: os.listdir("./."))
os.chdir(M); os.chmod("emptydir", 0o555); os.chdir("emptydir"); os.rmdir("../emptydir")
os.mkdir("../emptydir")
t("merged-dot", mode); t("merged-chmod", lambda: os.chmod(".", 0o750)); t("merged-dot2", mode)
os.chdir(M); fl = os.open("empty_l3only", os.O_RDONLY | os.O_DIRECTORY)
os.chdir("empty_l3only"); os.rmdir("../empty_l3only")
t("lower-dot", mode); t("lower-chmod", lambda: os.chmod(".", 0o700))
t("lower-utime", lambda: os.utime(".", (1, 1))); t("lower-chown", lambda: os.chown(".", -1, -1))
t("lower-setxattr", lambda: os.setxattr(".", "user.q", b"1"))
t("lower-rmdir", lambda: os.rmdir(".")); t("lower-dot2", mode)
t("fd-fstat", lambda: oct(os.fstat(fl).st_mode)); t("fd-dot", lambda: mode(dir_fd=fl))
t("fd-fchmod", lambda: os.fchmod(fl, 0o700)); t("fd-futimens", lambda: os.utime(fl, (1, 1)))
t("fd-fsetxattr", lambda: os.setxattr(fl, "user.q", b"1"))
t("fd-utime-dot", lambda: os.utime(".", (1, 1), dir_fd=fl))
t("fd-rmdir-dot", lambda: os.rmdir(".", dir_fd=fl))
t("fd-write-dot", lambda: os.open(".", os.O_WRONLY | os.O_CREAT, dir_fd=fl))
t("fd-fstat2", lambda: oct(os.fstat(fl).st_mode))
os.chdir(M); os.close(os.open("empty_l3only", os.O_WRONLY | os.O_CREAT, 0o644))
t("fd-fchdir", lambda: os.fchdir(fl)); t("fd-getcwd", os.getcwd); os.chdir(M)
ff = os.open("only_l3", os.O_RDONLY); os.unlink("only_l3")
t("file-futimens", lambda: os.utime(ff, (1, 1))); t("file-fchmod", lambda: os.fchmod(ff, 0o600))
t("file-fstat", lambda: oct(os.fstat(ff).st_mode))
# one whose lowers hold entries was copied up before it could be removed: the change goes to
# that removed copy (the shim keeps none: it only answers as the kernel does)
fz = os.open("l3only/x/y/z", os.O_RDONLY | os.O_DIRECTORY); os.unlink("l3only/x/y/z/file")
os.rmdir("l3only/x/y/z")
t("copied-futimens", lambda: os.utime(fz, (1, 1)))
t("copied-fsetxattr", lambda: os.setxattr(fz, "user.q", b"1"))
t("copied-utime-dot", lambda: os.utime(".", (1, 1), dir_fd=fz))
os.chdir("xonly"); os.unlink("f"); os.rmdir("../xonly")
t("copied-cwd-utime", lambda: os.utime(".", (1, 1))); t("copied-cwd-dot", lambda: oct(os.stat(".").st_mode))
EOF'
# ... and its name made again: a non-empty directory there refuses the copy-up (an empty one
# is replaced by it, as in the upper here, but the kernel's merged view then keeps showing the
# replaced directory until remounted: not compared)
wr_scen py_dead_self_again 'cd "$M" && python3 - <<"EOF"
import errno, os
def t(name, f):
    try: r = f(); print(name, "ok", r if isinstance(r, (str, list)) else "")
    except OSError as e: print(name, errno.errorcode[e.errno])
fb = os.open("emptydir", os.O_RDONLY | os.O_DIRECTORY); os.rmdir("emptydir")
os.mkdir("emptydir"); os.mkdir("emptydir/in")
t("full-futimens", lambda: os.utime(fb, (1, 1))); t("full-fchmod", lambda: os.fchmod(fb, 0o700))
t("full-fstat", lambda: oct(os.fstat(fb).st_mode)); t("full-list", lambda: os.listdir("emptydir"))
os.chdir("emptydir"); os.rmdir("in"); os.chdir(".."); os.rmdir("emptydir")
os.close(os.open("emptydir", os.O_WRONLY | os.O_CREAT, 0o644))
t("file-futimens", lambda: os.utime(fb, (1, 1))); t("file-stat", lambda: oct(os.stat("emptydir").st_mode))
EOF'
# ".." from a removed cwd whose removed parent's own parent lives: the walk goes on there (the
# kernel follows the old parents); the shim must never hand such a climb to the kernel, which
# would walk the real layers
wr_scen dead_climb 'cd "$M" && mkdir -p dc/b/c && echo x > dc/x && python3 - <<"EOF"
import errno, os
def t(name, f):
    try: r = f(); print(name, "ok", r if isinstance(r, (str, list)) else "")
    except OSError as e: print(name, errno.errorcode[e.errno])
os.chdir("dc/b/c"); os.rmdir("../c"); os.rmdir("../../b")
t("stat-up2", lambda: os.stat("../../x").st_size)
os.chdir(os.environ["M"]); os.makedirs("dc/p/q/r/s"); os.chdir("dc/p/q/r/s")
for d in ("../s", "../../r", "../../../q"): os.rmdir(d)
t("deep-stat", lambda: os.stat("../../../x").st_size)
t("deep-name", lambda: os.stat("../../y"))
t("deep-rename", lambda: os.rename("../../../x", "../../../x2"))
t("deep-exchange", lambda: os.rename("../../d", "../d"))
t("deep-back", lambda: os.rename("../../../x2", "../../../x"))
t("creat-up1", lambda: os.close(os.open("../n1", os.O_WRONLY | os.O_CREAT, 0o644)))
t("rename-up2", lambda: os.rename("../../x", "../../y"))
t("exchange-up", lambda: os.rename("../../y", "../x"))
t("mkdir-up2", lambda: os.mkdir("../../m"))
t("stat-up3", lambda: sorted(os.listdir("../../..")))
os.chdir(os.environ["M"]); print(sorted(os.listdir("dc")))
EOF'
# A removed directory keeps the mode its overlay inode had: after a copy-up (chmod 600) and
# rmdir, a lookup from it (the cwd on a shadow, a dirfd on the lower) is EACCES for anyone but
# root, "." too, and fchdir to it; its fd reports the copy's mode, and a change of it succeeds.
# ".." as the last name from a removed cwd or dirfd needs no search of the parent it reaches.
wr_scen dead_dir_perm 'cd "$M" && mkdir -p dp/q dp/r && python3 - <<"EOF"
import errno, os, sys
def t(name, f):
    try: r = f(); print(name, "ok", r if isinstance(r, (str, list)) else "")
    except OSError as e: print(name, errno.errorcode[e.errno])
def as_nobody(f):
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
        try: f()
        finally: sys.stdout.flush(); os._exit(0)
    os.waitpid(pid, 0)
M = os.environ["M"]
os.chdir(M + "/empty_l3only")
fd = os.open(M + "/empty_l3only", os.O_RDONLY | os.O_DIRECTORY)
os.chmod(M + "/empty_l3only", 0o600); os.rmdir(M + "/empty_l3only")
def denied():
    t("cwd-name", lambda: os.stat("x")); t("cwd-dot", lambda: os.stat("."))
    t("cwd-rmdir-dot", lambda: os.rmdir(".")); t("cwd-up", lambda: os.stat("../only_l3").st_size)
    t("fd-name", lambda: os.stat("x", dir_fd=fd)); t("fd-dot", lambda: os.stat(".", dir_fd=fd))
    t("fd-up", lambda: os.mkdir("../only_l3", dir_fd=fd)); t("fchdir", lambda: os.fchdir(fd))
as_nobody(denied)
t("fstat", lambda: oct(os.fstat(fd).st_mode)); t("fchown", lambda: os.fchown(fd, -1, 0))
t("fd-dot-stat", lambda: oct(os.stat(".", dir_fd=fd).st_mode)); t("cwd-dot-stat", lambda: oct(os.stat(".").st_mode))
t("root-up", lambda: os.stat("../only_l3").st_size)
os.chdir(M + "/dp/q"); os.rmdir("../q"); os.chmod("..", 0o640)
r = os.open(M + "/dp/r", os.O_RDONLY | os.O_DIRECTORY); os.rmdir(M + "/dp/r")
def up():
    t("cwd-dotdot", lambda: oct(os.stat("..").st_mode)); t("cwd-dotdot-slash", lambda: oct(os.stat("../").st_mode))
    t("cwd-dotdot-dot", lambda: os.stat("../.")); t("fd-dotdot", lambda: oct(os.stat("..", dir_fd=r).st_mode))
as_nobody(up)
os.chmod("..", 0o755)
t("link-cwd-dot", lambda: os.link(".", "../l"))
t("link-fd-dot", lambda: os.link(".", "../l", src_dir_fd=r, dst_dir_fd=r))
os.chdir(M); print(sorted(os.listdir("dp")))
EOF'
# The kernel's overlay inode is shared: a process holding a lower directory (an fd, its cwd)
# while another process copies it up (chmod, setfattr) and removes it still sees the removed
# copy, and changes it: fstat, fchmod, f*xattr on the fd, stat and chmod of ".." from the cwd
wr_scen dead_held_record 'cd "$M" && python3 - <<"EOF"
import errno, os, subprocess
def t(name, f):
    try: r = f(); print(name, "ok", r if isinstance(r, (str, list, int)) else "")
    except OSError as e: print(name, errno.errorcode[e.errno])
def ux(l): return sorted(n for n in l if n.startswith("user."))
M = os.getcwd()
fd = os.open("l3only/x/y", os.O_RDONLY | os.O_DIRECTORY)
os.chdir("l3only/x/y/z")
subprocess.run(["sh", "-c", "chmod 710 \"$0/l3only/x/y\" && setfattr -n user.r -v 1 \"$0/l3only/x/y\" && rm -rf \"$0/l3only/x\"", M])
t("fstat", lambda: oct(os.fstat(fd).st_mode))
t("flistxattr", lambda: ux(os.listxattr(fd)))
t("fgetxattr", lambda: os.getxattr(fd, "user.r").decode())
t("fchmod", lambda: os.fchmod(fd, 0o750)); t("fstat2", lambda: oct(os.fstat(fd).st_mode))
t("fsetxattr", lambda: os.setxattr(fd, "user.h", b"2")); t("flist2", lambda: ux(os.listxattr(fd)))
t("fremovexattr", lambda: os.removexattr(fd, "user.r")); t("flist3", lambda: ux(os.listxattr(fd)))
t("fremove-missing", lambda: os.removexattr(fd, "user.r"))
t("dotdot-stat", lambda: oct(os.stat("..").st_mode)); t("dotdot-list", lambda: ux(os.listxattr("..")))
t("dotdot-chmod", lambda: os.chmod("..", 0o701)); t("fstat3", lambda: oct(os.fstat(fd).st_mode))
t("dotdot-setx", lambda: os.setxattr("..", "user.p", b"3")); t("flist4", lambda: ux(os.listxattr(fd)))
t("dotdot-get", lambda: os.getxattr("..", "user.h").decode())
t("up2-stat", lambda: oct(os.stat("../..").st_mode))
t("dotdot-chmod0", lambda: os.chmod("..", 0)); t("dotdot-access", lambda: os.access("..", os.R_OK | os.W_OK | os.X_OK))
t("dotdot-open", lambda: os.close(os.open("..", os.O_RDONLY | os.O_DIRECTORY))); t("dotdot-wr", lambda: os.open("..", os.O_WRONLY))
os.chdir(M); print(sorted(os.listdir("l3only")))
os.chdir("nest/deep")
subprocess.run(["sh", "-c", "chmod 700 \"$0/nest/deep\" && setfattr -n user.c -v 4 \"$0/nest/deep\" && rm -rf \"$0/nest/deep\"", M])
t("cwd-stat", lambda: oct(os.stat(".").st_mode)); t("cwd-list", lambda: ux(os.listxattr(".")))
t("cwd-chmod", lambda: os.chmod(".", 0o750)); t("cwd-stat2", lambda: oct(os.stat(".").st_mode))
t("cwd-setx", lambda: os.setxattr(".", "user.d", b"5")); t("cwd-get", lambda: os.getxattr(".", "user.d").decode())
t("cwd-list2", lambda: ux(os.listxattr(".")))
EOF'
# lseek on the fd of a removed directory: SEEK_DATA, SEEK_END and SEEK_HOLE are EINVAL when the
# kernel read it as a merged one (ovl_dir_llseek: an upper over a lower, several lowers, or a
# lower-only one copied up before its removal, which emptying it needed), else the real one's
wr_scen dead_dir_seek 'cd "$M" && mkdir newd && python3 - <<"EOF"
import errno, os
def err(f):
    try: f(); return "ok"
    except OSError as e: return errno.errorcode[e.errno]
fds = {p: os.open(p, os.O_RDONLY | os.O_DIRECTORY) for p in ("l3only/x/y/z", "emptydir", "nest/deep", "newd")}
for p in ("l3only/x/y/z/file",): os.unlink(p)
for p in ("l3only/x/y/z", "emptydir", "newd"): os.rmdir(p)
os.system("rm -rf nest/deep")
for p, fd in sorted(fds.items()):
    print(p, [err(lambda: os.lseek(fd, 0, w)) for w in (os.SEEK_SET, os.SEEK_CUR, os.SEEK_DATA, os.SEEK_HOLE)])
EOF'
# fds keep the kernel's meaning across a copy-up: an O_PATH fd stays unreadable, a directory fd
# sees its directory's copy, a merged directory seeks only to a position, a failed open copies
# nothing. A lower fifo is opened on its upper copy (a write to a fifo changes its times and the
# lower never changes): the fchmod below copies it up on the kernel too, and the explicit utime
# sets the mtime a write changes under the shim only (the kernel never updates it; README).
wr_scen fd_kinds 'cd "$M" && python3 - <<"EOF"
import errno, os
def err(f):
    try: f(); return "ok"
    except OSError as e: return errno.errorcode[e.errno]
p = os.open("only_l3", os.O_PATH)
d = os.open("l3only/x", os.O_PATH | os.O_DIRECTORY)
os.chmod("only_l3", 0o640); os.chmod("l3only/x", 0o750)
print("opath", err(lambda: os.read(p, 10)), err(lambda: os.fchown(p, 0, 0)),
      err(lambda: os.fchmod(d, 0o700)), err(lambda: os.listdir(d)))
print("opath fstat", oct(os.fstat(p).st_mode), oct(os.fstat(d).st_mode))
y = os.open("l3only/x/y", os.O_RDONLY | os.O_DIRECTORY)
z = os.open("l3only/x/y/z", os.O_RDONLY | os.O_DIRECTORY)
os.chmod("l3only/x/y", 0o711); os.fchmod(z, 0o701)
print("dirfd", oct(os.fstat(y).st_mode), oct(os.fstat(z).st_mode), os.listdir(z))
r = os.open(".", os.O_RDONLY)
for fd in (r, z):
    print("seek", [err(lambda: os.lseek(fd, 0, w)) for w in (os.SEEK_SET, os.SEEK_CUR, os.SEEK_END, os.SEEK_DATA, os.SEEK_HOLE)])
os.lseek(r, 1000, os.SEEK_SET)  # a merged directory lists from the fd position, a count of entries
print("listdir past the end", os.listdir(r), len(os.listdir(r)) > 0)
print("odir", err(lambda: os.open("hl_a", os.O_RDWR | os.O_DIRECTORY)), os.stat("hl_a").st_nlink)
f = os.open("fifo", os.O_RDWR | os.O_NONBLOCK)
os.write(f, b"through the fifo"); print(os.read(f, 100))
os.fchmod(f, 0o600); print("fifo", oct(os.fstat(f).st_mode)); os.close(f)
os.utime("fifo", ns=(10**18, 10**18))
EOF'
# ".." of a removed cwd or dirfd is the parent it had when removed (the kernel's d_parent):
# removed too, or removed and made again by name, it is a dead directory where nothing is
# found, itself still a directory; a cwd renamed by another process took its ".." along
wr_scen py_dead_dotdot 'cd "$M" && python3 - <<"EOF"
import ctypes, errno, os, subprocess
def t(name, f):
    try: r = f(); print(name, "ok", r if isinstance(r, (str, list, int)) else "")
    except OSError as e: print(name, errno.errorcode[e.errno])
def sh(c): subprocess.run(["sh", "-c", c, M])
M = os.getcwd()
D, W = os.O_RDONLY | os.O_DIRECTORY, os.O_WRONLY | os.O_CREAT
# an upper cwd and its upper parent, both removed
os.makedirs("up1/a/b"); os.chdir("up1/a/b"); sh("rm -rf \"$0/up1\"")
t("up-open", lambda: os.close(os.open("..", D)))
t("up-list", lambda: os.listdir(".."))
t("up-creat", lambda: os.open("..", W, 0o644))
t("up-read", lambda: os.read(os.open("..", os.O_RDONLY), 1))
t("up-stat", lambda: os.stat("..").st_mode >> 12)
t("up-name", lambda: os.stat("../b"))
t("up-mkdir", lambda: os.mkdir("../n"))
t("up-rmdir", lambda: os.rmdir(".."))
t("up-unlink", lambda: os.unlink(".."))
t("up-up-name", lambda: os.stat("../../a"))
t("up-out", lambda: os.stat("../../../only_l3").st_size)
t("up-xattrs", lambda: os.listxattr(".."))
t("up-chdir", lambda: os.chdir(".."))
t("up-chdir-up", lambda: os.stat("../../only_l3").st_size)
os.chdir(M)
# the parent removed and made again by name, a file where a directory was
os.makedirs("up2/a"); os.chdir("up2/a")
sh("rm -rf \"$0/up2\" && mkdir \"$0/up2\" && echo x > \"$0/up2/f\"")
t("again-name", lambda: os.stat("../f"))
t("again-list", lambda: os.listdir(".."))
t("again-up", lambda: os.stat("../../up2/f").st_size)
os.chdir(M); os.makedirs("up3/a"); os.chdir("up3/a")
sh("rm -rf \"$0/up3\" && echo x > \"$0/up3\"")
t("file-name", lambda: os.stat("../up3/a"))
t("file-chown", lambda: os.chown("../f", 0, 0, follow_symlinks=False))
os.chdir(M)
# lower-only directories by fd, their parent removed (then made again)
fs = os.open("opq_deep/sub", D); fp = os.open("opq_deep/sub", os.O_PATH | os.O_DIRECTORY)
sh("rm -rf \"$0/opq_deep\"")
t("low-stat", lambda: oct(os.stat("..", dir_fd=fs).st_mode))
t("low-open", lambda: os.listdir(os.open("..", D, dir_fd=fs)))
t("low-creat", lambda: os.open("..", W, 0o644, dir_fd=fs))
t("low-name", lambda: os.stat("../sub", dir_fd=fp))
t("low-rmdir", lambda: os.rmdir("..", dir_fd=fp))
t("low-unlink", lambda: os.unlink("..", dir_fd=fp))
t("low-mkdir", lambda: os.mkdir("../n", dir_fd=fp))
t("low-out", lambda: os.stat("../../only_l2", dir_fd=fp).st_size)
t("low-chmod", lambda: os.chmod("..", 0o700, dir_fd=fs))
os.mkdir("opq_deep"); os.mkdir("opq_deep/sub")
t("low-again-name", lambda: os.stat("../sub", dir_fd=fs))
t("low-again-list", lambda: os.listdir(os.open("..", D, dir_fd=fs)))
t("low-again-out", lambda: sorted(os.listdir(os.open("../../opq_deep", D, dir_fd=fs))))
# a dirfd on an upper directory inside a merged one removed through WORK
os.mkdir("nest/usub"); fu = os.open("nest/usub", os.O_PATH | os.O_DIRECTORY)
sh("rm -rf \"$0/nest\"")
t("work-out", lambda: os.stat("..//../only_l3", dir_fd=fu).st_size)
t("work-name", lambda: os.stat("../f_3", dir_fd=fu))
# a cwd another process renamed: its ".." moved along
os.mkdir("mv1"); os.chdir("mv1"); sh("mkdir \"$0/mvto\" && mv \"$0/mv1\" \"$0/mvto/\"")
gcdn = ctypes.CDLL(None).get_current_dir_name; gcdn.restype = ctypes.c_char_p
t("moved-gcdn", lambda: os.path.relpath(gcdn().decode(), M))
t("moved-getcwd", lambda: os.path.relpath(os.getcwd(), M))
t("moved-up", lambda: sorted(os.listdir("..")))
t("moved-mkdir", lambda: os.mkdir("../n"))
os.chdir(M)
# a trailing slash on a name outside every overlay: a symlink is not followed
os.symlink("nowhere", "../dl")
t("out-unlink-slash", lambda: os.unlink("../dl/"))
t("out-rmdir-slash", lambda: os.rmdir("../dl/"))
os.unlink("../dl")
print(sorted(os.listdir(".")))
EOF'
# --- permission failures leave no copy behind (run as uid 65534 on both sides)
# each attempt on its own file, so one that wrongly succeeds cannot make the next one pass
wr_scen nobody_denied --nobody 'cd "$M"; for c in "chmod 777 only_l3" "chmod 700 l3only/x" "touch -d @0 nest/f_3" "touch only_l2" "touch -d @0 l3only" "chown 65534 same12" "truncate -s 0 nest/f_1" "setfattr -n user.a -v 1 only_l1" "setfattr -x user.foo xattr_file" "setfattr -n user.a -v 1 opq_deep" "sh -c \"echo x >> nest/f_2\"" "sh -c \": > link_over\"" "touch nest/newf" "rm l3only/x/y/z/file" "rm sticky/f" "mv sticky/f sticky/g" "mkdir l3only/nd" "mv stack_f nest/" "ln wh_re nest/hl" "cat mode000" "chmod 644 mode000" "rmdir ro_dir" "rm ro_dir/f"; do eval "$c"; echo "$c: rc=$?"; done'
wr_scen nobody_create --nobody 'cd "$M" && echo x > nf && mkdir nd && mv nf nd/ && ln -s nd sl && mkdir -p nd/a/b && rm -r nd && ls -la --time-style=+ sl && echo x >> only_l3; echo rc=$?'
# the job drops privileges itself under a root ovlrun (as `su`, `setpriv`, `sudo -u` do)
# A child that drops privileges reads the merged view and is refused what its
# credentials forbid. Not compared: its writes into the root-owned upper. The
# kernel writes with the mounter's credentials and lets nobody create files in
# a 0777 merged dir; ovlshim writes with the caller's own, so they get EACCES
# (a documented difference, README "Limits").
wr_scen setpriv_child 'setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all -- sh -c "chmod 777 \"\$M/only_l3\"; echo rc=\$?; id -u; cat \"\$M/only_l2\""'

# shellcheck disable=SC2086 # a list of formats
wr_run_formats write $OVL_WRITE_FORMATS
ovl_summary
