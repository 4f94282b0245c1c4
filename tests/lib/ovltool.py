#!/usr/bin/env python3
"""ovlshim test helpers (dependency-free, python3 >= 3.7).

Subcommands (all paths are taken as bytes, so non-UTF-8 names work):

  tree [--mtime] [--nlink] [--all-xattrs] [--no-dirsize] [--no-xattrs] DIR
      Canonical dump of the tree under DIR as seen by this process (run it
      under the shim to dump a merged view *through* the view).  One line per
      entry, sorted by path (bytes):
        path  type  mode  uid  gid  size  extra  xattrs [mtime=..] [nlink=..]
      type: f d l p c b s ?; mode: permission bits in octal (incl. suid/sgid/
      sticky); extra: sha256 of the content for files, the link target for
      symlinks, MAJ:MIN for devices, '-' otherwise; xattrs: user.* names
      (all names with --all-xattrs) as name=hexvalue joined by ','.  No inode
      numbers, no times unless --mtime.  An entry that is listed but cannot be
      lstat'ed prints 'path  ERROR errno-name' (e.g. a leaked whiteout).

  hash [--atime] [--no-ctime] DIR...
      Manifest of real layer directories for before/after comparison: every
      entry with type, mode, uid, gid, size, nlink, rdev, mtime_ns, ctime_ns
      (atime_ns with --atime), content sha256 (read with O_NOATIME where
      allowed), link target and ALL xattrs (trusted.* included when readable).

  convert [--from-user] LAYERDIR...
      Rewrite layer directories in place into kernel (default-mount) format:
      '.wh.NAME' -> char device 0:0 NAME; '.wh..wh..opq' -> trusted.overlay.
      opaque=y on its directory; every user.overlay.X xattr -> trusted.
      overlay.X.  Used to build the kernel-side copy of OCI / mixed fixtures.

  walk DIR        python views of a tree, one block per API, each sorted:
                  os.walk, os.walk(followlinks=True), os.scandir (recursive,
                  with d_type answers), pathlib.rglob, glob(recursive).

  identity DIR    identity invariants through the view: st_ino equality
                  classes (paths sharing one (st_dev, st_ino)), number of
                  distinct st_dev, d_ino == st_ino for every entry, fstat ==
                  stat, st_nlink of directories.
"""
import errno
import glob as globmod
import hashlib
import os
import pathlib
import stat
import sys

O_NOATIME = getattr(os, "O_NOATIME", 0)


def esc(b):
    """Escape a bytes path into one printable ASCII token."""
    if isinstance(b, str):
        b = os.fsencode(b)
    out = []
    for c in b:
        if c == 0x5C:
            out.append("\\\\")
        elif 0x21 <= c < 0x7F:
            out.append(chr(c))
        elif c == 0x20:
            out.append("\\x20")
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def ftype(m):
    if stat.S_ISREG(m):
        return "f"
    if stat.S_ISDIR(m):
        return "d"
    if stat.S_ISLNK(m):
        return "l"
    if stat.S_ISFIFO(m):
        return "p"
    if stat.S_ISCHR(m):
        return "c"
    if stat.S_ISBLK(m):
        return "b"
    if stat.S_ISSOCK(m):
        return "s"
    return "?"


def errname(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__


def sha256_file(path, noatime=False):
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = None
    if noatime and O_NOATIME:
        try:
            fd = os.open(path, flags | O_NOATIME)
        except OSError:
            fd = None
    if fd is None:
        try:
            fd = os.open(path, flags)
        except OSError as e:
            return "ERR:" + errname(e)
    h = hashlib.sha256()
    try:
        while True:
            b = os.read(fd, 1 << 20)
            if not b:
                break
            h.update(b)
    except OSError as e:
        return "ERR:" + errname(e)
    finally:
        os.close(fd)
    return h.hexdigest()


def xattrs(path, allnames=False):
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EPERM):
            return ""
        return "ERR:" + errname(e)
    out = []
    for n in sorted(names):
        if not allnames and not n.startswith("user."):
            continue
        try:
            v = os.getxattr(path, n, follow_symlinks=False).hex()
        except OSError as e:
            v = "ERR:" + errname(e)
        out.append("%s=%s" % (n, v))
    return ",".join(out)


def listdir_sorted(path):
    return sorted(os.listdir(path))


def iter_tree(top):
    """Yield (relpath_bytes, fullpath_bytes) for top and everything below it,
    without following symlinks."""
    top = os.fsencode(top)
    yield b".", top
    stack = [b""]
    while stack:
        rel = stack.pop()
        full = os.path.join(top, rel) if rel else top
        try:
            names = os.listdir(full)
        except OSError:
            continue
        for n in names:
            r = os.path.join(rel, n) if rel else n
            f = os.path.join(top, r)
            yield r, f
            try:
                if stat.S_ISDIR(os.lstat(f).st_mode):
                    stack.append(r)
            except OSError:
                pass


def cmd_tree(args):
    opts = {a for a in args if a.startswith("--")}
    paths = [a for a in args if not a.startswith("--")]
    if len(paths) != 1:
        sys.exit("usage: ovltool.py tree [opts] DIR")
    top = paths[0]
    lines = []
    for rel, full in iter_tree(top):
        try:
            st = os.lstat(full)
        except OSError as e:
            lines.append((rel, "%s\tERROR %s" % (esc(rel), errname(e))))
            continue
        t = ftype(st.st_mode)
        if t == "f":
            extra = sha256_file(full)
        elif t == "l":
            try:
                extra = esc(os.readlink(full))
            except OSError as e:
                extra = "ERR:" + errname(e)
        elif t in "cb":
            extra = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
        else:
            extra = "-"
        size = st.st_size
        if t == "d" and "--no-dirsize" in opts:
            size = "-"
        xa = "" if "--no-xattrs" in opts else xattrs(full, "--all-xattrs" in opts)
        fields = [esc(rel), t, "%04o" % stat.S_IMODE(st.st_mode), str(st.st_uid),
                  str(st.st_gid), str(size), extra, xa or "-"]
        if "--mtime" in opts:
            fields.append("mtime=%d" % st.st_mtime_ns)
        if "--nlink" in opts:
            fields.append("nlink=%d" % st.st_nlink)
        lines.append((rel, "\t".join(fields)))
    lines.sort()
    sys.stdout.write("".join(l + "\n" for _, l in lines))


def cmd_hash(args):
    opts = {a for a in args if a.startswith("--")}
    dirs = [a for a in args if not a.startswith("--")]
    for d in dirs:
        out = []
        for rel, full in iter_tree(d):
            try:
                st = os.lstat(full)
            except OSError as e:
                out.append((rel, "%s ERROR %s" % (esc(rel), errname(e))))
                continue
            t = ftype(st.st_mode)
            f = [esc(rel), t, "%o" % st.st_mode, "u%d" % st.st_uid, "g%d" % st.st_gid,
                 "s%d" % st.st_size, "n%d" % st.st_nlink, "r%d" % st.st_rdev,
                 "m%d" % st.st_mtime_ns]
            if "--no-ctime" not in opts:
                f.append("c%d" % st.st_ctime_ns)
            if "--atime" in opts:
                f.append("a%d" % st.st_atime_ns)
            if t == "f":
                f.append(sha256_file(full, noatime=True))
            elif t == "l":
                f.append("->" + esc(os.readlink(full)))
            f.append("x[" + xattrs(full, allnames=True) + "]")
            out.append((rel, " ".join(f)))
        out.sort()
        sys.stdout.write("## layer %s\n" % esc(os.fsencode(d)))
        sys.stdout.write("".join(l + "\n" for _, l in out))


def cmd_convert(args):
    dirs = [os.fsencode(a) for a in args if not a.startswith("--")]
    for d in dirs:
        entries = list(iter_tree(d))
        # directory times are restored afterwards: the converted copy must show the
        # same mtimes as the unconverted one
        times = {}
        for rel, full in entries:
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode):
                times[full] = (st.st_atime_ns, st.st_mtime_ns)
        # deepest first so renames inside dirs don't disturb the walk
        for rel, full in sorted(entries, key=lambda e: -e[0].count(b"/")):
            try:
                st = os.lstat(full)
            except OSError:
                continue
            base = os.path.basename(full)
            parent = os.path.dirname(full)
            if base == b".wh..wh..opq":
                os.unlink(full)
                os.setxattr(parent, "trusted.overlay.opaque", b"y", follow_symlinks=False)
                continue
            if base.startswith(b".wh.") and rel != b".":
                name = base[4:]
                target = os.path.join(parent, name)
                if os.path.lexists(target):
                    sys.exit("convert: %s and its whiteout both exist" % esc(target))
                os.unlink(full)
                os.mknod(target, stat.S_IFCHR | 0, os.makedev(0, 0))
                continue
            if stat.S_ISLNK(st.st_mode):
                continue
            try:
                names = os.listxattr(full, follow_symlinks=False)
            except OSError:
                continue
            for n in names:
                if n.startswith("user.overlay."):
                    v = os.getxattr(full, n, follow_symlinks=False)
                    os.setxattr(full, "trusted.overlay." + n[len("user.overlay."):], v,
                                follow_symlinks=False)
                    os.removexattr(full, n, follow_symlinks=False)
        for full, ns in times.items():
            os.utime(full, ns=ns, follow_symlinks=False)


def cmd_walk(args):
    top = args[0]
    topb = os.fsencode(top)

    def r(p):
        p = os.fsencode(p)
        return esc(os.path.relpath(p, topb)) if p != topb else "."

    def walk_block(title, follow):
        print("## " + title)
        lines = []
        errs = []
        for root, dirs, files in os.walk(top, followlinks=follow,
                                         onerror=lambda e: errs.append(e)):
            lines.append("%s D[%s] F[%s]" % (r(root), " ".join(esc(d) for d in sorted(dirs)),
                                            " ".join(esc(f) for f in sorted(files))))
        for e in errs:
            lines.append("onerror %s %s" % (r(e.filename), errname(e)))
        print("\n".join(sorted(lines)))

    walk_block("os.walk", False)
    walk_block("os.walk followlinks", True)

    print("## os.scandir")
    lines = []

    def scan(p):
        try:
            it = os.scandir(p)
        except OSError as e:
            lines.append("scandir %s %s" % (r(p), errname(e)))
            return
        with it:
            for e in it:
                def q(fn):
                    try:
                        return "1" if fn() else "0"
                    except OSError as x:
                        return errname(x)
                lines.append("%s dir=%s dirL=%s file=%s fileL=%s link=%s" % (
                    r(e.path), q(lambda: e.is_dir(follow_symlinks=False)),
                    q(lambda: e.is_dir()), q(lambda: e.is_file(follow_symlinks=False)),
                    q(lambda: e.is_file()), q(e.is_symlink)))
                try:
                    if e.is_dir(follow_symlinks=False):
                        scan(e.path)
                except OSError:
                    pass
    scan(top)
    print("\n".join(sorted(lines)))

    print("## pathlib.rglob")
    try:
        print("\n".join(sorted(r(str(p)) for p in pathlib.Path(top).rglob("*"))))
    except OSError as e:
        print("rglob error", errname(e))
    print("## glob recursive")
    g = globmod.glob(os.path.join(glob_escape(top), "**"), recursive=True)
    g += globmod.glob(os.path.join(glob_escape(top), "**", ".*"), recursive=True)
    print("\n".join(sorted(set(r(p) for p in g))))


def glob_escape(p):
    return globmod.escape(p)


def cmd_identity(args):
    top = args[0]
    topb = os.fsencode(top)
    classes = {}
    devs = set()
    problems = []
    for rel, full in iter_tree(top):
        try:
            st = os.lstat(full)
        except OSError as e:
            problems.append("lstat %s %s" % (esc(rel), errname(e)))
            continue
        devs.add(st.st_dev)
        classes.setdefault((st.st_dev, st.st_ino), []).append(esc(rel))
        if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
            try:
                fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                fd = os.open(full, os.O_PATH | os.O_NOFOLLOW)
            try:
                fst = os.fstat(fd)
                if (fst.st_dev, fst.st_ino, fst.st_mode, fst.st_size) != \
                        (st.st_dev, st.st_ino, st.st_mode, st.st_size):
                    problems.append("fstat!=stat %s" % esc(rel))
            finally:
                os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            try:
                with os.scandir(full) as it:
                    for e in it:
                        try:
                            li = os.lstat(e.path).st_ino
                        except OSError as x:
                            problems.append("d_ino lstat %s %s" % (esc(e.path), errname(x)))
                            continue
                        if e.inode() != li:
                            problems.append("d_ino!=st_ino %s" %
                                            esc(os.path.relpath(os.fsencode(e.path), topb)))
            except OSError as x:
                problems.append("scandir %s %s" % (esc(rel), errname(x)))
    print("distinct st_dev: %d" % len(devs))
    print("## st_ino classes with more than one name")
    for k, v in sorted(classes.items(), key=lambda kv: sorted(kv[1])):
        if len(v) > 1:
            print(" ".join(sorted(v)))
    print("## problems")
    for p in sorted(problems):
        print(p)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"tree": cmd_tree, "hash": cmd_hash, "convert": cmd_convert,
          "walk": cmd_walk, "identity": cmd_identity}.get(cmd)
    if not fn:
        sys.exit(__doc__)
    fn(args)


if __name__ == "__main__":
    main()
