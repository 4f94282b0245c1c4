#!/usr/bin/env python3
"""Canonical dump of a raw layer directory, by meaning rather than format.

    layer_dump.py DIR

One line per entry below DIR (the root itself is left out), sorted by path:
    path  type  mode  size  extra  [opaque]  [link=FIRST]
type f d l p c b s; mode in octal; size for files ('-' otherwise); extra the
content's sha256, a link target or MAJ:MIN; 'opaque' for a directory marked
opaque in any format (trusted./user.overlay.opaque = y, .wh..wh..opq);
link=FIRST for a file sharing its inode with an earlier path. A whiteout in
any format (char device 0:0, xattr whiteout, .wh.NAME) is one line
    path  WHITEOUT
so two layers that mean the same thing dump the same, whatever their marker
format, xattr namespace or timestamps.
"""
import hashlib
import os
import stat
import sys

WH = b".wh."
OPQ = b".wh..wh..opq"


def esc(b):
    return "".join(chr(c) if 0x21 <= c < 0x7F and c != 0x5C else "\\x%02x" % c for c in b)


def xattr(path, name):
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError:
        return None


def is_opaque(path):
    if any(xattr(path, n) == b"y" for n in ("trusted.overlay.opaque", "user.overlay.opaque")):
        return True
    return os.path.lexists(os.path.join(path, OPQ))


def is_whiteout(path, st):
    if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
        return True
    if stat.S_ISREG(st.st_mode) and st.st_size == 0:
        return any(xattr(path, n) is not None
                   for n in ("trusted.overlay.whiteout", "user.overlay.whiteout"))
    return False


def ftype(m):
    for t, c in ((stat.S_ISREG, "f"), (stat.S_ISDIR, "d"), (stat.S_ISLNK, "l"),
                 (stat.S_ISFIFO, "p"), (stat.S_ISCHR, "c"), (stat.S_ISBLK, "b"),
                 (stat.S_ISSOCK, "s")):
        if t(m):
            return c
    return "?"


def dump(top):
    lines, inodes = [], {}

    def walk(rel):
        d = os.path.join(top, rel) if rel else top
        for name in sorted(os.listdir(d)):
            p = os.path.join(d, name)
            r = os.path.join(rel, name) if rel else name
            if name == OPQ or name.startswith(b".wh..wh."):
                continue
            st = os.lstat(p)
            if name.startswith(WH):
                lines.append((os.path.join(rel, name[4:]) if rel else name[4:], "WHITEOUT"))
                continue
            if is_whiteout(p, st):
                lines.append((r, "WHITEOUT"))
                continue
            t = ftype(st.st_mode)
            size, extra, more = "-", "-", []
            if t == "f":
                size = str(st.st_size)
                with open(p, "rb") as f:
                    extra = hashlib.sha256(f.read()).hexdigest()
                if st.st_nlink > 1:
                    first = inodes.setdefault((st.st_dev, st.st_ino), r)
                    if first != r:
                        more.append("link=" + esc(first))
            elif t == "l":
                extra = esc(os.readlink(p))
            elif t in "cb":
                extra = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
            if t == "d" and is_opaque(p):
                more.append("opaque")
            lines.append((r, " ".join([t, "%o" % stat.S_IMODE(st.st_mode), size, extra] + more)))
            if t == "d":
                walk(r)

    walk(b"")
    for path, rest in sorted(lines):
        print(esc(path), rest)


if __name__ == "__main__":
    dump(os.fsencode(sys.argv[1]))
