#!/usr/bin/env python3
"""fsops: run file operations and print one line per operation, so that two runs (a kernel
overlay and the shim) can be compared line by line.

Usage: fsops.py LABEL OP ARG... [';' LABEL OP ARG...]...
Prints "LABEL: RESULT" per operation, RESULT being "ok", what was read, or the errno's name
(ENOENT, ...). Names are printed with non-printable and non-ASCII bytes escaped as \\xNN.
OPs:
  cat P           content of P (escaped)         stat P        type, size and mode of P (lstat)
  statf P         as stat, following symlinks    ls P          sorted names in directory P
  append P TEXT   open O_WRONLY|O_APPEND, write  write P TEXT  open O_WRONLY|O_CREAT|O_TRUNC
  create P        open O_WRONLY|O_CREAT|O_EXCL   openr P / openw P / openrw P   open, close
  trunc P N       truncate(2)                    mkdir P / rmdir P / unlink P
  rename A B      rename(2)                      link A B      link(2)      symlink T P
  readlink P      chmod P OCTAL                  cd P          chdir(2), then prints nothing
  hold P          open P O_RDONLY and keep it (the last held fd)
  readheld        read the held fd from offset 0
  await F         wait (up to 60 s) until the real file F exists (test synchronisation)
  touch F         create the real file F
  exit N          exit with status N at once
"""
import errno
import os
import stat
import sys
import time

held = None


def esc(b):
    if isinstance(b, str):
        b = os.fsencode(b)
    out = []
    for c in b:
        if 0x20 <= c < 0x7f and c != 0x5c:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def kind(m):
    for t, n in ((stat.S_ISREG, "file"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "symlink"),
                 (stat.S_ISFIFO, "fifo"), (stat.S_ISCHR, "chardev"), (stat.S_ISBLK, "blockdev"),
                 (stat.S_ISSOCK, "socket")):
        if t(m):
            return n
    return "?"


def fopen(p, flags, mode=0o644):
    return os.open(os.fsencode(p), flags | os.O_CLOEXEC, mode)


def run(op, a):
    global held
    b = [os.fsencode(x) for x in a]
    if op == "cat":
        fd = fopen(a[0], os.O_RDONLY)
        try:
            data = b""
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(fd)
        return esc(data) if len(data) <= 200 else "%d bytes" % len(data)
    if op in ("stat", "statf"):
        st = os.lstat(b[0]) if op == "stat" else os.stat(b[0])
        return "%s size=%d mode=%o" % (kind(st.st_mode), st.st_size, stat.S_IMODE(st.st_mode))
    if op == "ls":
        return " ".join(sorted(esc(n) for n in os.listdir(b[0])))
    if op in ("append", "write", "create"):
        fl = {"append": os.O_WRONLY | os.O_APPEND,
              "write": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
              "create": os.O_WRONLY | os.O_CREAT | os.O_EXCL}[op]
        fd = fopen(a[0], fl)
        try:
            if len(a) > 1:
                os.write(fd, os.fsencode(a[1]))
        finally:
            os.close(fd)
        return "ok"
    if op in ("openr", "openw", "openrw"):
        fl = {"openr": os.O_RDONLY, "openw": os.O_WRONLY, "openrw": os.O_RDWR}[op]
        os.close(fopen(a[0], fl))
        return "ok"
    if op == "trunc":
        os.truncate(b[0], int(a[1]))
        return "ok"
    if op == "mkdir":
        os.mkdir(b[0], 0o755)
        return "ok"
    if op == "rmdir":
        os.rmdir(b[0])
        return "ok"
    if op == "unlink":
        os.unlink(b[0])
        return "ok"
    if op == "rename":
        os.rename(b[0], b[1])
        return "ok"
    if op == "link":
        os.link(b[0], b[1])
        return "ok"
    if op == "symlink":
        os.symlink(b[0], b[1])
        return "ok"
    if op == "readlink":
        return esc(os.readlink(b[0]))
    if op == "chmod":
        os.chmod(b[0], int(a[1], 8))
        return "ok"
    if op == "cd":
        os.chdir(b[0])
        return "ok"
    if op == "hold":
        held = fopen(a[0], os.O_RDONLY)
        return "ok"
    if op == "readheld":
        return esc(os.pread(held, 1 << 16, 0))
    if op == "await":
        for _ in range(6000):
            if os.path.exists(b[0]):
                return "ok"
            time.sleep(0.01)
        return "timeout"
    if op == "touch":
        open(b[0], "a").close()
        return "ok"
    if op == "exit":
        sys.stdout.flush()
        os._exit(int(a[0]))
    return "unknown op " + op


def main():
    args = sys.argv[1:]
    groups, cur = [], []
    for x in args:
        if x == ";":
            groups.append(cur)
            cur = []
        else:
            cur.append(x)
    if cur:
        groups.append(cur)
    for g in groups:
        label, op, a = g[0], g[1], g[2:]
        try:
            res = run(op, a)
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
        print("%s: %s" % (label, res), flush=True)


main()
