#!/usr/bin/env bash
# The user's own layers, written by that user (uid 65534 on both sides; the kernel overlay is
# mounted by root, so its copy-up runs with the mounter's credentials, as an unprivileged
# mount's does over the user's own files). The kernel checks the caller's permission on the
# merged view, then writes the upper on the mounter's credentials, which override the owner's
# missing w/x bits: copy-up into a 555 upper dir, a 555 dir copied up, mkdir -m 500 over a
# whiteout, a 555 dir made opaque or removed with whiteouts inside all work; writing into the
# 555 merged dir itself is still refused.
source "$(dirname "$0")/../lib/lib.sh"

if ! ovl_is_root; then
	ovl_skip "cred" "needs root to set up, then drops to uid 65534"
	ovl_summary
	exit
fi

# ovl_fixture_cred FORMAT FX MERGED: a small stack owned by 65534 with read-only dirs
ovl_fixture_cred() {
	local fmt=$1 fx=$2 U L1 L2
	rm -rf "$fx"
	mkdir -p "$fx"/{l1,l2,l3,u,w,meta}
	U=$fx/u L1=$fx/l1 L2=$fx/l2
	(
		set -e
		umask 022
		# a 555 dir present in the upper over a lower one with a lower-only subdir
		mkdir -p "$L1/ro/sub" "$U/ro"
		ovl__w "$L1" ro/sub/f "ro sub f"
		ovl__w "$L1" ro/g "ro g"
		# a lower-only 555 dir with a file and a subdir
		mkdir -p "$L2/lro/y"
		ovl__w "$L2" lro/x "lro x"
		ovl__w "$L2" lro/y/z "lro y z"
		# a merged dir to empty, then remove once 555
		mkdir -p "$L1/rmme"
		ovl__w "$L1" rmme/f "rmme f"
		# a name whited out in the upper
		ovl__w "$L2" wh "wh"
		ovl_mk_whiteout "$(ovl__layer_fmt "$fmt" u)" "$U" wh
		# the owner's read-only lower file
		ovl__w "$L2" f400 "f400 data"
		# a lower-only 500 dir
		mkdir -p "$L2/d500"
		ovl__w "$L2" d500/f "d500 f"
		# merged dirs to take search permission away from
		mkdir -p "$L1/ns/s" "$L1/ns2" "$L1/ns3"
		ovl__w "$L1" ns/s/g "ns s g"
		ovl__w "$L1" ns2/t "ns2 t"
		ovl__w "$L1" ns3/t "ns3 t"
		ovl__w "$L1" ns3/k "ns3 k"
		# a tree to stand in while the directories above it lose their search bit
		mkdir -p "$L1/sb/mid/lo2"
		ovl__w "$L1" sb/mid/lo2/g "sb g"
		ovl__w "$L1" sb/mid/lo2/h "sb h"
		# a tree to hold directories open in while they and the one above lose their bits
		mkdir -p "$L1/hb/sub/od"
		ovl__w "$L1" hb/sub/lf "hb lf"
		ovl__w "$L1" hb/sub/wf "hb wf"
		ovl__w "$L1" hb/sub/od/x "hb od x"
		# a setgid dir in the upper with names whited out in it (created over them
		# through the work dir)
		mkdir -p "$L1/sg" "$U/sg"
		for f in d d2 f l p; do
			ovl__w "$L1" "sg/$f" "sg $f"
			ovl_mk_whiteout "$(ovl__layer_fmt "$fmt" u)" "$U/sg" "$f"
		done
		chmod 2775 "$U/sg"
		# a lower dir to replace by an opaque one; a lower dir to stand in, then remove
		mkdir -p "$L1/xo/b" "$L1/dl/c"
		ovl__w "$L1" xo/b/f "xo b f"
		ovl__w "$L1" dl/c/f "dl c f"
		# read-only lower files: one for security.* calls, one to hold an fd on while its
		# name goes
		ovl__w "$L2" g444 "g444"
		ovl__w "$L2" h444 "h444"
		chmod 444 "$L2/g444" "$L2/h444"
		chmod 555 "$L1/ro" "$U/ro" "$L2/lro"
		chmod 500 "$L2/d500"
		chmod 400 "$L2/f400"
		echo "$fmt" >"$fx/meta/format"
		: >"$fx/meta/gone"
		: >"$fx/meta/symlinks"
		find "$fx" -exec touch -h -d @1234567890 {} +
		chown -R -h 65534:65534 "$fx"
		# file capabilities (after the chown, which clears them)
		ovl__w "$L2" capf "capf"
		cp /bin/true "$L2/capx"
		chown 65534:65534 "$L2/capf" "$L2/capx"
		chmod 4755 "$L2/capx"
		setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "$L2/capf"
		setfattr -n security.capability -v 0x0100000200040000000000000000000000000000 "$L2/capx"
		touch -h -d @1234567890 "$L2/capf" "$L2/capx" "$L2"
	)
}

scen_cred() {
	# copy-up into the 555 upper dir ro (the merged ro/sub itself is writable)
	ovl_check mkdir_in_copied 'cd "$M" && mkdir ro/sub/n && echo x > ro/sub/nf && echo rc=$?'
	# write-open of a file whose merged parent is 555: the file itself is copied up
	ovl_check write_in_555 'cd "$M" && echo more >> lro/x; echo rc=$?; cat lro/x; echo new > lro/y/z2; echo rc=$?'
	# the caller's own permission on the merged dir still counts
	ovl_check denied_555 'cd "$M"; mkdir lro/n; echo rc=$?; rm lro/x; echo rc=$?; : > ro/new; echo rc=$?'
	# O_RDONLY|O_TRUNC needs write permission: refused, and the data is still there
	ovl_check trunc_400 'cd "$M" && python3 -c "
import os
try: os.open(\"f400\", os.O_RDONLY | os.O_TRUNC)
except OSError as e: print(e.strerror)
" && cat f400'
	# the directory of a name outside the overlay must be searchable: may_lookup, then EXDEV
	ovl_check outside_nosearch 'cd "$M" && d=$(mktemp -d) && chmod 444 "$d" && ln -s "$d" nsl && python3 -c "
import errno, os
for a, b in ((\"nsl/x\", \"ro/g\"), (\"ro/g\", \"nsl/x\")):
    for f in (os.rename, os.link):
        try: f(a, b)
        except OSError as e: print(f.__name__, a, errno.errorcode[e.errno])
"; rm nsl; rmdir "$d"'
	# a 555 and a 500 dir copied up by a timestamp change, and through a held fd
	ovl_check touch_555 'cd "$M" && touch -d @1000000000 ro/sub lro && python3 -c "
import os
fd = os.open(\"d500\", os.O_RDONLY)
os.utime(fd, ns=(1500000000 * 10**9, 1500000000 * 10**9)); print(\"futimens ok\")"; echo rc=$?'
	# mkdir with mode 500 over a whiteout: made opaque and renamed in with the mounter's rights
	ovl_check mkdir_500_over_wh 'cd "$M" && mkdir -m 500 wh && ls -la wh | grep -c "^[-dl]"; echo rc=$?'
	# an empty merged dir made 555 and removed: its whiteouts go with it
	ovl_check rmdir_555 'cd "$M" && rm rmme/f && chmod 555 rmme && rmdir rmme; echo rc=$?; ls rmme; echo rc=$?'
	# a new 555 dir renamed in a merged parent is marked opaque
	ovl_check rename_555 'cd "$M" && mkdir nd && chmod 555 nd && mv nd nd2; echo rc=$?'
	# no search permission: "d/." is a lookup in d; emptiness is the mounter's to see
	ovl_check nosearch 'cd "$M" && chmod 644 ns && { stat -c "%n %a" ns ns/ ns/. ns/s; rmdir ns; ls ns; ls -a ns2; rm ns2/t ns3/t && chmod 600 ns2 && chmod 644 ns3 && rmdir ns2; echo rc=$?; ls -a ns3; }'
	# the merged root itself: a new process starts, the root can be stat-ed, listed, changed
	ovl_check root_644 'chmod 644 "$M" && stat -c "%n %a" "$M" "$M/."; echo rc=$?'
	ovl_check root_644_next 'stat -c "%n %a" "$M"; ls -a "$M"; setfattr -n user.r -v 1 "$M"; getfattr -d "$M"; touch -d @1400000000 "$M"; stat -c "%n %a %Y" "$M"; cat "$M/ro/g"; chmod 755 "$M"; cat "$M/ro/g"; chmod 755 "$M/ns" "$M/ns3"'
	# a new dir in a setgid dir inherits the bit, also over a whiteout
	ovl_check sgid_dir 'cd "$M" && mkdir -m 700 sg/d2 sg/n && stat -c "%n %a %U %G" sg/d2 sg/n'
	# security.* is refused before anything is looked at or copied up (cap_inode_removexattr,
	# cap_inode_setxattr, cap_convert_nscap: a malformed capability is EINVAL first)
	ovl_check security_xattrs 'cd "$M" && for a in "-x security.capability" "-x security.foo" \
		"-n security.foo -v 1" "-n security.capability -v 0x0000000201200000000000000000000000000000" \
		"-n security.capability -v 0x01"; do setfattr $a g444 capf; echo rc=$?; done'
	# may_lookup in the last name's directory comes before that name: too long, or "."
	ovl_check name_in_nosearch 'cd "$M" && mkdir nsn && chmod 644 nsn && L=$(printf "L%.0s" $(seq 300)) &&
		{ mkdir "nsn/$L"; rmdir "nsn/$L"; ln -s x "nsn/$L"; mkdir nsn/./; rmdir nsn/.; echo rc=$?; chmod 755 nsn; }'
	# the last name of mkdir is not followed, not even with a slash, outside the overlay too
	ovl_check mkdir_link_slash 'cd "$M" && d=$(mktemp -d) && ln -s "$d" out && ln -s t "$d/l" &&
		{ mkdir out/l/; echo rc=$?; ls "$d"; rm out "$d/l"; rmdir "$d"; }'
	# a directory exchanged into a merged parent is made opaque: the lower there stays hidden
	ovl_check exchange_opaque 'cd "$M" && rm -r xo && mkdir xo && mkdir -p pu/n && touch pu/n/new && python3 -c "
import ctypes
print(ctypes.CDLL(None, use_errno=True).renameat2(-100, b\"xo\", -100, b\"pu/n\", 2))
" && ls -A xo pu/n'
	# a removed cwd whose parent was removed and made again: ".." leads to the removed one
	ovl_check dead_cwd_parent 'cd "$M" && mkdir -p up/c && python3 -c "
import os
for d in (\"up\", \"dl\"):
    os.chdir(\"$M/\" + d + \"/c\")
    for f in os.listdir(\".\"): os.unlink(f)
    os.rmdir(\"../c\"); os.rmdir(\"$M/\" + d); os.mkdir(\"$M/\" + d)
    try: os.close(os.open(\"../n1\", os.O_RDONLY | os.O_CREAT, 0o644)); print(d, \"created\")
    except OSError as e: print(d, e.strerror)
" && ls -A up dl'
	# an fd whose name is gone: the object's own permission check first
	ovl_check fd_name_gone 'cd "$M" && python3 -c "
import os
fd = os.open(\"h444\", os.O_RDONLY); os.unlink(\"h444\")
try: os.setxattr(fd, \"user.a\", b\"1\")
except OSError as e: print(e.strerror)
"'
	# a directory held open stays readable after a chmod takes the user's read and search
	# away (the kernel reads the open directory's layers with the mounter's rights): a merged
	# dir copied up by the fchmod, a dir only in the upper read through the fd itself; a seek to
	# the end of a directory the kernel does not merge is its real directory's position
	ovl_check held_dir_chmod 'cd "$M" && mkdir hd && echo x > hd/f && python3 -c "
import errno, os
def ls(fd):
    try: return sorted(os.listdir(fd))
    except OSError as e: return errno.errorcode[e.errno]
a = os.open(\"lro/y\", os.O_RDONLY); b = os.open(\"hd\", os.O_RDONLY)
os.fchmod(a, 0); os.fchmod(b, 0o200)
print(ls(a), ls(b))
os.lseek(b, 0, os.SEEK_END); print(ls(b))
os.fchmod(a, 0o755); os.fchmod(b, 0o755)
"'
	# N-SEARCH: the kernel walks a relative path from the directory the process holds (its
	# cwd, a dirfd, an fd) and asks search permission only where it looks names up; the
	# directories above, which lost their search bit, are never asked. The cwd is an upper
	# dir, the dirfd a lower-only one; a climb that comes down again is asked at each step.
	ovl_check search_from_base 'mkdir -p "$M/sb/mid/up" && cd "$M/sb/mid/up" && python3 -c "
import errno, os
def t(name, f):
    try: r = f()
    except OSError as e: r = errno.errorcode[e.errno]
    print(name, r)
def mode(p, **k): return oct(os.stat(p, **k).st_mode)
lo = os.open(\"../lo2\", os.O_RDONLY); g = os.open(\"../lo2/g\", os.O_RDONLY)
os.chmod(\"../..\", 0o644)
t(\"stat\", lambda: (mode(\".\"), mode(\"..\"), mode(\"../..\")))
t(\"lookup in sb\", lambda: mode(\"../../mid\"))
t(\"mkdir in sb\", lambda: os.mkdir(\"../../z\"))
t(\"create\", lambda: os.close(os.open(\"x\", os.O_CREAT | os.O_WRONLY, 0o644)))
t(\"chmod\", lambda: (os.chmod(\"x\", 0o600), mode(\"x\")))
t(\"xattr\", lambda: (os.setxattr(\".\", \"user.t\", b\"1\"), os.getxattr(\".\", \"user.t\")))
t(\"rename\", lambda: (os.rename(\"x\", \"y\"), sorted(os.listdir(\".\"))))
t(\"mkdir rmdir\", lambda: (os.mkdir(\"d\"), os.rmdir(\"d\")))
t(\"rename cwd\", lambda: (os.rename(\"../up\", \"../up2\"), os.rename(\"../up2\", \"../up\")))
t(\"dirfd\", lambda: (mode(\"g\", dir_fd=lo), sorted(os.listdir(lo))))
t(\"dirfd chmod\", lambda: (os.chmod(\"h\", 0o600, dir_fd=lo), mode(\"h\", dir_fd=lo)))
t(\"fd fchmod\", lambda: (os.fchmod(g, 0o640), oct(os.fstat(g).st_mode)))
t(\"cwd\", lambda: os.getcwd().endswith(\"sb/mid/up\"))
os.chmod(\"..\", 0o644)
t(\"down again\", lambda: mode(\"../up\"))
t(\"up only\", lambda: mode(\"..\"))
t(\"fchdir\", lambda: (os.fchdir(lo), os.getcwd().endswith(\"sb/mid/lo2\"), mode(\"g\")))
os.chmod(\"..\", 0o755); os.chmod(\"../..\", 0o755)
"'
	# N-SEARCH: a directory held open is listed below one that lost its search bit, and after
	# it lost its own read and search bits too (the kernel reads the layers of an open
	# directory with the mounter's rights): the held upper directory is read through the fd,
	# a whiteout in it still hides its name, an opaque one still hides the lower below
	ovl_check held_below_nosearch 'cd "$M" && setfattr -n user.a -v 1 hb/sub && rm hb/sub/wf &&
		rm -r hb/sub/od && mkdir hb/sub/od && touch hb/sub/od/new && python3 -c "
import errno, os
def ls(fd):
    try: return sorted(os.listdir(fd))
    except OSError as e: return errno.errorcode[e.errno]
s = os.open(\"hb/sub\", os.O_RDONLY); o = os.open(\"hb/sub/od\", os.O_RDONLY)
os.chmod(\"hb\", 0o600)
for m in (0o755, 0o644, 0o300, 0):
    os.fchmod(o, m); os.fchmod(s, m); print(oct(m), ls(s), ls(o))
os.fchmod(s, 0o755); os.fchmod(o, 0o755); os.chmod(\"hb\", 0o755)
"'
	# times set by the run itself read NEW
	ovl_check tree --filter 'sed -E "s/ 1[7-9][0-9]{8} / NEW /"' 'ls -laR --time-style=+%s "$M" | grep -v "^total"'
}

# As root. Creating in the user's setgid dir: the new objects get its group (root is not
# nobody's: the work dir alone would give them group root). Copy-up of the user's files keeps
# security.capability (the shim's chown of the copy must come before it).
scen_root() {
	ovl_check caps_copied 'cd "$M" && touch -d @1300000000 capf && chmod 4711 capx && getfattr -e hex -n security.capability capf capx && stat -c "%n %a %U %G %Y" capf capx'
	# a name in the overlay namespace set through an fd on an upper file is escaped on disk
	# as one set by path: it reads back, and a marker name does not act as one
	ovl_check fd_xattr 'cd "$M" && echo x > fdx && mkdir fdd && python3 -c "
import os
for p in (\"fdx\", \"fdd\", \"capf\"):
    fd = os.open(p, os.O_RDONLY)
    os.setxattr(fd, \"user.overlay.x\", b\"1\"); os.setxattr(fd, \"user.overlay.opaque\", b\"y\")
    os.setxattr(fd, \"user.overlay.gone\", b\"2\"); os.removexattr(fd, \"user.overlay.gone\")
    print(p, sorted(os.listxattr(fd)), os.getxattr(fd, \"user.overlay.x\"), os.getxattr(p, \"user.overlay.opaque\"))
    os.close(fd)
" && getfattr -d -m "^user\." fdx fdd capf'
	ovl_check sgid_root 'cd "$M" && mkdir sg/d && echo x > sg/f && ln -s t sg/l && mkfifo -m 755 sg/p && mkdir sg/n && stat -c "%n %F %a %U %G" sg/d sg/f sg/l sg/p sg/n'
}

for fmt in $(ovl_formats); do
	case $fmt in user | oci)
		OVL_AS_NOBODY=1 OVL_FIXTURE_FN=ovl_fixture_cred ovl_diff_run "$fmt" scen_cred cred
		OVL_AS_NOBODY=0 OVL_FIXTURE_FN=ovl_fixture_cred ovl_diff_run "$fmt" scen_root cred-root ;;
	esac
done
ovl_summary
