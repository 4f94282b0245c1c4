#!/usr/bin/env bash
# Lower layers are never written (DESIGN.md principle 4): for every fixture format, each write
# attempt below runs under the shim on a fresh copy of the layers, and afterwards every lower
# (content, mode, owner, mtime/ctime, xattrs incl. trusted.*) must be exactly as before. The
# attempts' own results are not judged here (writes may fail with EROFS until the write path
# lands; the differential write suites judge them): they are kept in the scratch dir's log
# (OVL_KEEP=1) and printed with a failure.
# Includes what the shim cannot see: raw syscall(2)s from a dynamic binary, a static binary,
# and `env -i` children, each started with its cwd in a merged directory (the kernel's cwd of a
# process in a merged dir must never be a lower directory, issue 2 item 5).
source "$(dirname "$0")/../lib/lib.sh"

if ! ovl_shim_available; then
	ovl_skip "lower-ro: all" "$OVL_SHIM_WHY"
	ovl_summary
	exit
fi
case $(ovl_runner) in kernel | none)
	ovl_skip "lower-ro: all" "runner $(ovl_runner) is a harness self-test"
	ovl_summary
	exit ;;
esac

helpers=$(ovl_mktemp_dir helpers)
src=$(dirname "$0")/helpers/rawops.c
RAW_STATIC="" RAW_DYN=""
if gcc -O1 -static -o "$helpers/rawops-static" "$src" 2>"$helpers/cc.err"; then
	RAW_STATIC=$helpers/rawops-static
fi
if gcc -O1 -o "$helpers/rawops" "$src" 2>>"$helpers/cc.err"; then RAW_DYN=$helpers/rawops; fi
export RAW_STATIC RAW_DYN
# an archive to extract over the merged tree (made outside the overlay)
mkdir -p "$helpers/tarsrc/nest" "$helpers/tarsrc/l3only/x"
echo "from tar" >"$helpers/tarsrc/only_l3"
echo "from tar" >"$helpers/tarsrc/nest/f_3"
echo "from tar" >"$helpers/tarsrc/l3only/x/tarfile"
tar -C "$helpers/tarsrc" -cf "$helpers/over.tar" .
export TARBALL=$helpers/over.tar

# The attempts: attempt NAME 'SHELL COMMAND' (run under the shim, cwd = $M). Names ending in
# "-unseen" run code the shim cannot follow; writes from them may land in the real (hidden)
# MERGED dir, which is reported only for the others.
A_NAMES=() A_CMDS=()
attempt() { A_NAMES+=("$1"); A_CMDS+=("$2"); }
attempt touch 'touch only_l1 only_l3 same same12 same23 nest/f_3 l3only/x/y/z/file'
attempt touch-new 'touch newfile nest/newfile l3only/x/y/newfile'
attempt echo-trunc 'echo new > same12; echo new > only_l3; echo new > l3only/x/y/z/file'
attempt echo-append 'echo more >> only_l3; echo more >> nest/f_3; echo more >> hl_a'
attempt trunc-empty ': > big; : > xattr_file'
attempt truncate 'truncate -s 0 only_l2; truncate -s 1M nest/f_1'
attempt rm 'rm only_l2 same nest/f_3 hl_a l3only/x/y/z/file dangling dirlink'
attempt rm-rf 'rm -rf nest l3only opq stack'
attempt rm-rf-all 'rm -rf ./* ./.[!.]*'
attempt rmdir 'rmdir emptydir empty_l3only l3only/x/y/z'
attempt mkdir 'mkdir newdir nest/newdir l3only/x/newdir wh_l1 opq/x'
attempt mv-file 'mv only_l1 moved; mv nest/f_3 nest/f_3b; mv only_l3 l3only/x/'
attempt mv-dir 'mv l3only l3moved; mv nest nestmoved; mv emptydir stack/'
attempt ln 'ln -s target newlink; ln only_l2 hardlink; ln nest/f_3 l3only/x/hl; ln -sf only_u only_l3'
attempt chmod 'chmod 777 only_l3 l3only; chmod -R 700 nest; chmod u+s only_l2'
attempt chown 'chown 1:1 only_l3 l3only; chown -h 1:1 dirlink; chown -R 2:2 nest'
attempt xattr 'setfattr -n user.x -v 1 only_l1; setfattr -x user.foo xattr_file; setfattr -n user.d -v 2 xattr_dir; setfattr -n user.x -v 1 l3only'
attempt xattr-overlay 'setfattr -n trusted.overlay.opaque -v y nest; setfattr -n user.overlay.opaque -v y l3only; setfattr -x trusted.overlay.opaque opq; setfattr -x user.overlay.opaque opq'
attempt utimes 'touch -d @0 only_l3 l3only nest; touch -h -d @0 dangling dirlink; touch -a only_l2'
attempt sed-i 'sed -i s/l3/XX/ only_l3 nest/f_3; perl -pi -e s/l2/YY/ only_l2'
attempt cp 'cp -a nest nestcopy; cp only_l3 nest/; cp -f only_u only_l3; cp -a l3only l3only/x/y/'
attempt tar-x 'tar -xf "$TARBALL"; tar --overwrite -xf "$TARBALL"'
attempt mkfifo-mknod 'mkfifo newfifo l3only/fifo2; mknod l3only/dev c 1 3; mknod wh_c c 0 0'
attempt via-symlinks 'echo x > dirlink/f_2; echo x > abs_file; echo x > nest/rel_to_upper; echo x > chain1; echo x > rel_up; chmod 700 abs_dir; touch dirlink/new'
attempt via-dotdot 'echo x > nest/../only_l3; echo x > "$M/l3only/x/../../only_l2"; echo x > "$M/../m/same23"; mkdir nest/deep/../../newd'
attempt cwd-lower-only 'cd l3only/x/y/z && echo x > file && touch new && rm -f file && mkdir d && cd .. && rm -rf z'
attempt python-fd 'python3 - <<"PY"
import os
for name in ("only_l3", "nest/f_3", "l3only/x/y/z/file", "xattr_file"):
    for call in (lambda fd: os.fchmod(fd, 0o777), lambda fd: os.fchown(fd, 1, 1),
                 lambda fd: os.utime(fd, (0, 0)), lambda fd: os.setxattr(fd, "user.p", b"1"),
                 lambda fd: os.removexattr(fd, "user.foo"), lambda fd: os.ftruncate(fd, 0),
                 lambda fd: os.write(fd, b"x"), lambda fd: os.fsync(fd)):
        fd = os.open(name, os.O_RDONLY)
        try: call(fd)
        except OSError as e: print(name, e.errno)
        finally: os.close(fd)
    for fl in (os.O_RDWR, os.O_WRONLY, os.O_RDONLY | os.O_TRUNC, os.O_RDONLY | os.O_APPEND, os.O_RDWR | os.O_CREAT):
        try: os.close(os.open(name, fl))
        except OSError as e: print(name, fl, e.errno)
for d in ("l3only/x", "nest", "."):
    fd = os.open(d, os.O_RDONLY)
    for call in (lambda: os.fchmod(fd, 0o700), lambda: os.fchown(fd, 3, 3), lambda: os.setxattr(fd, "user.q", b"1")):
        try: call()
        except OSError as e: print("dir", d, e.errno)
    os.close(fd)
fd = os.open("only_l3", os.O_PATH)
try: os.chmod("/proc/self/fd/%d" % fd, 0o777)
except OSError as e: print("O_PATH chmod", e.errno)
os.close(fd)
PY'
attempt python-mmap 'python3 - <<"PY"
import mmap, os
for name in ("big", "l3only/x/y/z/file"):
    try:
        fd = os.open(name, os.O_RDWR)
        m = mmap.mmap(fd, 0)
        m[0:4] = b"MMAP"
        m.flush()
        m.close()
    except (OSError, ValueError) as e:
        print(name, e)
PY'
attempt python-dirfd 'python3 - <<"PY"
import os
for d in ("nest", "l3only/x", "."):
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    for call in (lambda: os.mkdir("pd", dir_fd=fd),
                 lambda: os.close(os.open("pf", os.O_CREAT | os.O_WRONLY, dir_fd=fd)),
                 lambda: os.close(os.open("f_1", os.O_WRONLY | os.O_TRUNC, dir_fd=fd)),
                 lambda: os.unlink("f_3", dir_fd=fd), lambda: os.unlink("y", dir_fd=fd),
                 lambda: os.rmdir("y", dir_fd=fd),
                 lambda: os.rename("f_2", "f_2b", src_dir_fd=fd, dst_dir_fd=fd),
                 lambda: os.rename("y", "y2", src_dir_fd=fd, dst_dir_fd=fd),
                 lambda: os.chmod("f_1", 0o600, dir_fd=fd), lambda: os.chmod("y", 0o600, dir_fd=fd),
                 lambda: os.symlink("t", "ps", dir_fd=fd), lambda: os.utime("y", (1, 1), dir_fd=fd),
                 lambda: os.link("f_1", "hl", src_dir_fd=fd, dst_dir_fd=fd)):
        try: call()
        except OSError as e: print(d, e.errno)
    os.close(fd)
PY'
attempt python-pathlib 'python3 - <<"PY"
import pathlib, shutil
p = pathlib.Path("l3only")
for f in (lambda: (p / "x" / "pl").write_text("x"), lambda: shutil.rmtree("nest"),
          lambda: pathlib.Path("only_l3").write_bytes(b"x"), lambda: shutil.move("only_l2", "l3only/x/moved"),
          lambda: shutil.copytree("l3only", "nest/copy"), lambda: p.chmod(0o700)):
    try: f()
    except OSError as e: print(e)
PY'
attempt child-shell 'sh -c "echo x > only_l3; cd l3only/x && echo x > y/z/file && touch new"'
attempt env-i-child-unseen 'cd l3only/x/y/z && env -i /bin/sh -c "echo x > file; echo x >> file; touch new; rm -f file; mkdir d; chmod 777 ."'
attempt env-i-child-root-unseen 'env -i /bin/sh -c "echo x > only_l3; touch new; rm -f only_l2; chmod 777 nest; rmdir emptydir"'
attempt raw-syscalls-unseen '[ -n "$RAW_DYN" ] && cd l3only/x/y/z && "$RAW_DYN" append file creat new unlink file mkdir d chmod . rename file:file2 symlink s append ../../../../only_l3 trunc ../../../../big'
attempt static-binary-unseen '[ -n "$RAW_STATIC" ] && cd l3only/x/y/z && "$RAW_STATIC" append file creat new unlink file mkdir d chmod . rename file:file2 symlink s append ../../../../only_l3 trunc ../../../../big'
attempt static-binary-root-unseen '[ -n "$RAW_STATIC" ] && "$RAW_STATIC" append only_l3 creat new unlink only_l2 mkdir d chmod nest trunc big append nest/f_3 rmdir emptydir'

log=$OVL_T/attempts.log
for fmt in $(ovl_formats); do
	base=$(ovl_mktemp_dir "ro.$fmt")
	M=$base/mp/m
	mkdir -p "$M"
	ovl_fixture "$fmt" "$base/fx" "$M" || { ovl_fail "lower-ro/$fmt/fixture"; continue; }
	for i in "${!A_NAMES[@]}"; do
		name=${A_NAMES[i]} cmd=${A_CMDS[i]}
		s=$base/s
		ovl_copy_fixture "$base/fx" "$s"
		ovl_lowers_snapshot "$s" "$base/before"
		{
			echo "=== [$fmt] $name: $cmd"
			(cd / && export M && timeout -k 5 "$OVL_TIMEOUT" bash -c \
				'f=$1 x=$2 m=$3 c=$4; ovl_shim_run "$f" "$x" "$m" bash -c "cd \"\$M\" && $c"' \
				_ "$fmt" "$s" "$M" "$cmd") </dev/null 2>&1
			echo "[exit $?]"
		} >"$base/out" 2>&1
		cat "$base/out" >>"$log"
		ovl_lowers_snapshot "$s" "$base/after"
		if cmp -s "$base/before" "$base/after"; then
			ovl_pass "lower-ro/$fmt/$name"
		else
			ovl_fail "lower-ro/$fmt/$name" "$(diff -u --label before --label after "$base/before" "$base/after" | head -n 30)
--- output of the attempt:
$(tail -n 15 "$base/out")"
		fi
		# writes that escaped the overlay land in the real (hidden) MERGED dir
		if [ -n "$(ls -A "$M")" ]; then
			if [[ $name == *-unseen ]]; then
				echo "    note: $name left entries in the real MERGED dir: $(ls -A "$M" | tr '\n' ' ')"
			else
				ovl_fail "lower-ro/$fmt/$name: wrote into the real MERGED dir" "$(ls -lA "$M")"
			fi
			find "$M" -mindepth 1 -delete
		fi
	done
done
ovl_summary
