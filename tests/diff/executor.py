#!/usr/bin/python3
"""ovlshim differential tester: the executor.

One process per run. It reads a job (JSON: config + operations), performs every operation as
real system calls from this one process (python's os module and, where python has no spelling,
libc through ctypes), and writes one JSON line per operation to the result file, then one line
with the dump of the final merged tree. The same executor runs on the kernel overlay mount (the
oracle) and under the shim (LD_PRELOAD + OVL_CONF); it never knows which, except for the
runtime part of the intentional differences (intentional.py: `.wh.` names the kernel created
are removed again so both sides go on from the same state).

    executor.py JOB.json RESULT.jsonl

Job keys: merged (MERGED), ops (list), dump (bool), t0 (0: now), self_uid/self_gid (the value of
"self" in chown ops), map_uid/map_gid ({"0": 4242}: ids reported by stat are mapped, for the
user-namespace oracle), side ("kernel" | "shim" | "interop"), umask, cmd_env, ovlxattr_ns.
"""
import ctypes
import errno
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import intentional  # noqa: E402
from ovltool import ftype  # noqa: E402  (the harness's own type letters)

libc = ctypes.CDLL(None, use_errno=True)

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_SYMLINK_FOLLOW = 0x400
AT_EMPTY_PATH = 0x1000
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
RENAME_FLAGS = {"NOREPLACE": 1, "EXCHANGE": 2, "WHITEOUT": 4}
OFLAGS = {
    "RDONLY": os.O_RDONLY, "WRONLY": os.O_WRONLY, "RDWR": os.O_RDWR, "CREAT": os.O_CREAT,
    "EXCL": os.O_EXCL, "TRUNC": os.O_TRUNC, "APPEND": os.O_APPEND, "NOFOLLOW": os.O_NOFOLLOW,
    "DIRECTORY": os.O_DIRECTORY, "PATH": getattr(os, "O_PATH", 0o10000000),
    "NONBLOCK": os.O_NONBLOCK, "TMPFILE": getattr(os, "O_TMPFILE", 0o20200000),
}
XATTR_FLAGS = {"CREATE": 1, "REPLACE": 2}
BADFD = -2  # the dirfd used when a slot holds nothing: EBADF on both sides


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def errname(e):
    return errno.errorcode.get(e, str(e))


def cerr():
    e = ctypes.get_errno()
    raise OSError(e, os.strerror(e))


def bpath(p):
    return os.fsencode(p)


def mkdata(spec):
    """Deterministic bytes from an op's data spec: a string, or [kind, length, salt]."""
    if isinstance(spec, str):
        return spec.encode()
    if spec[0] == "hex":
        return bytes.fromhex(spec[1])
    kind, n, salt = spec
    if kind == "text":
        words = [b"alpha", b"beta", b"gamma", b"delta", b"a", b"b", b"x"]
        out = bytearray()
        i = salt
        while len(out) < n:
            out += words[i % len(words)] + (b"\n" if i % 5 == 0 else b" ")
            i = i * 1103515245 + 12345 & 0x7FFFFFFF
        return bytes(out[:n])
    # "bin": a cheap repeating pattern
    pat = bytes((salt + i * 31) & 0xFF for i in range(251))
    return (pat * (n // 251 + 1))[:n]


def digest(b):
    if len(b) <= 48:
        return "x" + b.hex()
    return "n%d:%s" % (len(b), hashlib.sha1(b).hexdigest()[:16])


class Executor:
    def __init__(self, job):
        self.job = job
        self.M = job["merged"]
        self.t0 = job.get("t0") or time.time_ns() - 2 * 10**9
        self.slots = {}
        self.slot_names = {}  # slot -> the absolute name it was opened under, when known
        self.side = job.get("side", "shim")
        self.umap = {int(k): v for k, v in job.get("map_uid", {}).items()}
        self.gmap = {int(k): v for k, v in job.get("map_gid", {}).items()}
        self.self_uid = job.get("self_uid", 0)
        self.self_gid = job.get("self_gid", 0)
        self.cmd_env = dict(os.environ)
        self.cmd_env.update({"LC_ALL": "C", "TZ": "UTC", "PATH": "/usr/bin:/bin"})

    # ------------------------------------------------------------------ helpers
    def root_id(self):
        try:
            st = os.stat(self.M)
            return (st.st_dev, st.st_ino)
        except OSError:
            return None

    def dfd(self, slot):
        if slot is None:
            return None
        fd = self.slots.get(slot)
        return BADFD if fd is None else fd

    def cdfd(self, slot):
        d = self.dfd(slot)
        return AT_FDCWD if d is None else d

    def uid(self, v):
        if v == "self":
            return self.self_uid
        return v

    def gid(self, v):
        if v == "self":
            return self.self_gid
        return v

    def mtime_class(self, ns):
        return ns if ns < self.t0 else "new"

    def strec(self, st):
        """The stat fields defined to match (DESIGN/SEMANTICS; intentional.py N-DIRMETA)."""
        t = ftype(st.st_mode)
        rec = [t, "%o" % stat.S_IMODE(st.st_mode), self.umap.get(st.st_uid, st.st_uid),
               self.gmap.get(st.st_gid, st.st_gid)]
        if t == "d":
            rec += [None, None]
        else:
            rec += [st.st_size, st.st_nlink]
        rec.append(self.mtime_class(st.st_mtime_ns))
        if t in "cb":
            rec.append("%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
        return rec

    def lst(self, path, slot):
        try:
            return self.strec(os.stat(path, dir_fd=self.dfd(slot), follow_symlinks=False))
        except OSError as e:
            return "E:" + errname(e.errno)
        except ValueError as e:  # embedded NUL etc.
            return "V:" + str(e)

    def fst(self, slot):
        fd = self.slots.get(slot)
        if fd is None:
            return "noslot"
        try:
            return self.strec(os.fstat(fd))
        except OSError as e:
            return "E:" + errname(e.errno)

    def needfd(self, slot):
        fd = self.slots.get(slot)
        if fd is None:
            raise NoSlot()
        return fd

    # ------------------------------------------------------------------ operations
    def op_open(self, o):
        fl = os.O_NONBLOCK  # a fifo never blocks the run
        for f in o["flags"]:
            fl |= OFLAGS[f]
        self.close_slot(o["s"])
        fd = os.open(o["a"], fl, o.get("mode", 0o644), dir_fd=self.dfd(o.get("ad")))
        self.slots[o["s"]] = fd
        self.slot_names[o["s"]] = self.abs_name(o["a"], o.get("ad"))
        return {"fst": self.fst(o["s"])}

    def abs_name(self, path, slot):
        """The absolute name a path had when an fd was opened through it (None when it was
        relative to a dirfd, or the cwd was gone)."""
        if path.startswith("/"):
            return path
        if slot is not None:
            return None
        try:
            return os.path.join(os.getcwd(), path)
        except OSError:
            return None

    def same_object(self, st, path, slot=None):
        try:
            other = os.stat(path, dir_fd=self.dfd(slot), follow_symlinks=False)
        except (OSError, ValueError):
            return False
        return (st.st_dev, st.st_ino) == (other.st_dev, other.st_ino)

    def identities(self, o):
        """Identity facts some intentional rules need (N-INO: the numbers themselves are never
        recorded), looked at before the op. fd_named: does the name the fd was opened under
        still name the fd's own object (N-ORIGIN, N-FIFOFD)? same_ab: do a rename's two
        names name one object (N-LINKMODE)?"""
        rec = {}
        if o["op"] in intentional.FD_CHANGES and o.get("s") in self.slots:
            name = self.slot_names.get(o["s"])
            try:
                st = os.fstat(self.slots[o["s"]])
                rec["fd_named"] = None if name is None else self.same_object(st, name)
            except OSError:
                pass
        elif o["op"] == "rename":
            try:
                st = os.stat(o["a"], dir_fd=self.dfd(o.get("ad")), follow_symlinks=False)
                rec["same_ab"] = self.same_object(st, o["b"], o.get("bd"))
            except (OSError, ValueError):
                pass
        return rec

    def close_slot(self, s):
        self.slot_names.pop(s, None)
        fd = self.slots.pop(s, None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def op_close(self, o):
        fd = self.needfd(o["s"])
        del self.slots[o["s"]]
        self.slot_names.pop(o["s"], None)
        os.close(fd)

    def op_read(self, o):
        return {"data": digest(os.read(self.needfd(o["s"]), o["n"]))}

    def op_pread(self, o):
        return {"data": digest(os.pread(self.needfd(o["s"]), o["n"], o["off"]))}

    def op_write(self, o):
        n = os.write(self.needfd(o["s"]), mkdata(o["data"]))
        return {"n": n, "fst": self.fst(o["s"])}

    def op_pwrite(self, o):
        n = os.pwrite(self.needfd(o["s"]), mkdata(o["data"]), o["off"])
        return {"n": n, "fst": self.fst(o["s"])}

    def op_lseek(self, o):
        wh = {"SET": os.SEEK_SET, "CUR": os.SEEK_CUR, "END": os.SEEK_END,
              "DATA": getattr(os, "SEEK_DATA", 3), "HOLE": getattr(os, "SEEK_HOLE", 4)}[o["whence"]]
        return {"pos": os.lseek(self.needfd(o["s"]), o["off"], wh)}

    def op_ftruncate(self, o):
        os.ftruncate(self.needfd(o["s"]), o["len"])
        return {"fst": self.fst(o["s"])}

    def op_fstat(self, o):
        return {"fst": self.strec(os.fstat(self.needfd(o["s"])))}

    def op_fchmod(self, o):
        os.fchmod(self.needfd(o["s"]), o["mode"])
        return {"fst": self.fst(o["s"])}

    def op_fchown(self, o):
        os.fchown(self.needfd(o["s"]), self.uid(o["uid"]), self.gid(o["gid"]))
        return {"fst": self.fst(o["s"])}

    def op_futimens(self, o):
        ts = (Timespec * 2)(*(self.tspec(x) for x in o["times"]))
        if libc.futimens(self.needfd(o["s"]), ts) != 0:
            cerr()
        return {"fst": self.fst(o["s"])}

    def op_fsetxattr(self, o):
        fl = 0
        for f in o.get("flags", []):
            fl |= XATTR_FLAGS[f]
        os.setxattr(self.needfd(o["s"]), o["name"], mkdata(o["value"]), fl)
        return {"fst": self.fst(o["s"])}

    def op_fgetxattr(self, o):
        return {"data": digest(os.getxattr(self.needfd(o["s"]), o["name"]))}

    def op_stat(self, o):
        st = os.stat(o["a"], dir_fd=self.dfd(o.get("ad")), follow_symlinks=o.get("follow", True))
        return {"st": self.strec(st)}

    def op_access(self, o):
        m = 0
        for c in o["mode"]:
            m |= {"R": os.R_OK, "W": os.W_OK, "X": os.X_OK, "F": os.F_OK}[c]
        r = os.access(o["a"], m, dir_fd=self.dfd(o.get("ad")))
        return {"ok": r}

    def op_readlink(self, o):
        return {"target": os.fsdecode(os.readlink(bpath(o["a"]), dir_fd=self.dfd(o.get("ad"))))}

    def op_readfile(self, o):
        fd = os.open(o["a"], os.O_RDONLY | os.O_NONBLOCK, dir_fd=self.dfd(o.get("ad")))
        try:
            chunks = []
            while True:
                b = os.read(fd, 1 << 20)
                if not b:
                    break
                chunks.append(b)
        finally:
            os.close(fd)
        return {"data": digest(b"".join(chunks))}

    def op_writefile(self, o):
        fl = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | (os.O_APPEND if o.get("append") else os.O_TRUNC)
        fd = os.open(o["a"], fl, 0o644, dir_fd=self.dfd(o.get("ad")))
        try:
            n = os.write(fd, mkdata(o["data"]))
        finally:
            os.close(fd)
        return {"n": n}

    def op_unlink(self, o):
        os.unlink(o["a"], dir_fd=self.dfd(o.get("ad")))

    def op_rmdir(self, o):
        os.rmdir(o["a"], dir_fd=self.dfd(o.get("ad")))

    def op_mkdir(self, o):
        os.mkdir(o["a"], o["mode"], dir_fd=self.dfd(o.get("ad")))

    def op_rename(self, o):
        fl = 0
        for f in o.get("flags", []):
            fl |= RENAME_FLAGS[f]
        if fl == 0 and not o.get("force2"):
            os.rename(o["a"], o["b"], src_dir_fd=self.dfd(o.get("ad")), dst_dir_fd=self.dfd(o.get("bd")))
            return
        if libc.renameat2(self.cdfd(o.get("ad")), bpath(o["a"]), self.cdfd(o.get("bd")), bpath(o["b"]), fl) != 0:
            cerr()

    def op_link(self, o):
        os.link(o["a"], o["b"], src_dir_fd=self.dfd(o.get("ad")), dst_dir_fd=self.dfd(o.get("bd")),
                follow_symlinks=o.get("follow", False))

    def op_symlink(self, o):
        os.symlink(o["target"], o["a"], dir_fd=self.dfd(o.get("ad")))

    def op_chmod(self, o):
        os.chmod(o["a"], o["mode"], dir_fd=self.dfd(o.get("ad")))

    def op_chown(self, o):
        os.chown(o["a"], self.uid(o["uid"]), self.gid(o["gid"]), dir_fd=self.dfd(o.get("ad")),
                 follow_symlinks=o.get("follow", True))

    def tspec(self, x):
        if x == "now":
            return Timespec(0, UTIME_NOW)
        if x == "omit":
            return Timespec(0, UTIME_OMIT)
        return Timespec(x // 10**9, x % 10**9)

    def op_utimensat(self, o):
        ts = (Timespec * 2)(*(self.tspec(x) for x in o["times"]))
        fl = 0 if o.get("follow", True) else AT_SYMLINK_NOFOLLOW
        if libc.utimensat(self.cdfd(o.get("ad")), bpath(o["a"]), ts, fl) != 0:
            cerr()

    def op_truncate(self, o):
        os.truncate(o["a"], o["len"])

    def op_setxattr(self, o):
        fl = 0
        for f in o.get("flags", []):
            fl |= XATTR_FLAGS[f]
        os.setxattr(o["a"], o["name"], mkdata(o["value"]), fl, follow_symlinks=o.get("follow", True))

    def op_getxattr(self, o):
        return {"data": digest(os.getxattr(o["a"], o["name"], follow_symlinks=o.get("follow", True)))}

    def op_listxattr(self, o):
        names = os.listxattr(o["a"], follow_symlinks=o.get("follow", True))
        return {"names": sorted(names)}

    def op_removexattr(self, o):
        os.removexattr(o["a"], o["name"], follow_symlinks=o.get("follow", True))

    def op_mkfifo(self, o):
        os.mkfifo(o["a"], o["mode"], dir_fd=self.dfd(o.get("ad")))

    def op_mknod(self, o):
        kind = {"chr": stat.S_IFCHR, "reg": stat.S_IFREG, "fifo": stat.S_IFIFO}[o["kind"]]
        os.mknod(o["a"], kind | o["mode"], os.makedev(*o.get("dev", (0, 0))), dir_fd=self.dfd(o.get("ad")))

    def op_chdir(self, o):
        os.chdir(o["a"])
        return {"cwd": os.getcwd()}

    def op_fchdir(self, o):
        os.fchdir(self.needfd(o["s"]))
        return {"cwd": os.getcwd()}

    def op_getcwd(self, o):
        return {"cwd": os.getcwd()}

    def op_listdir(self, o):
        if "s" in o:
            target = self.needfd(o["s"])
            base = None
        else:
            target = o["a"]
            base = o["a"]
        return self.listing(target, base, self.dfd(o.get("ad")) if base is not None else None)

    def listing(self, target, base, dirfd):
        """Sorted entries (intentional.py N-ORDER) with the d_type answer, and the names that
        are listed but cannot be looked up (leaked markers, N-LEAK)."""
        if dirfd is not None and isinstance(target, str):
            fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY, dir_fd=dirfd)
            try:
                return self.listing(fd, None, None)
            finally:
                os.close(fd)
        ents = []
        leaks = []
        dino_bad = []
        it = os.scandir(target)
        with it:
            for de in it:
                try:
                    st = de.stat(follow_symlinks=False)
                except OSError as e:
                    if e.errno == errno.ENOENT:
                        leaks.append(de.name)
                        continue
                    ents.append([de.name, "E:" + errname(e.errno)])
                    continue
                dt = "d" if de.is_dir(follow_symlinks=False) else \
                    "l" if de.is_symlink() else "f" if de.is_file(follow_symlinks=False) else "o"
                ents.append([de.name, dt])
                if de.inode() != st.st_ino and (st.st_dev, st.st_ino) != self.root_id():
                    # (MERGED's own entry in its parent is a mount point's: N-INO)
                    dino_bad.append(de.name)
        r = {"ents": sorted(ents), "leaks": sorted(leaks)}
        if dino_bad:
            r["dino_ne_ino"] = sorted(dino_bad)
        return r

    def op_cmd(self, o):
        try:
            p = subprocess.run(o["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, cwd=o.get("cwd"), env=self.cmd_env, timeout=60)
            return {"rc": p.returncode, "out": p.stdout.decode("utf-8", "replace")[-2000:]}
        except subprocess.TimeoutExpired:
            return {"rc": "timeout"}

    # ------------------------------------------------------------------ the run
    def escapes(self, o):
        """True when a path of the op leads (lexically) out of MERGED's parent: such an op
        could rename or remove the directories the run itself lives in, so it is not run
        (on either side). Both sides see the same cwd and dirfd paths (merged paths)."""
        guard = self.job.get("guard")
        if not guard:
            return False
        for k in ("a", "b"):
            if k not in o or o["op"] == "cmd":
                continue
            p = o[k]
            slot = o.get(k + "d")
            if p.startswith("/"):
                base = "/"
            elif slot is not None:
                fd = self.slots.get(slot)
                try:
                    base = os.readlink("/proc/self/fd/%d" % fd) if fd is not None else None
                except OSError:
                    base = None
                if not base or not base.startswith("/") or base.endswith(" (deleted)"):
                    continue  # a removed directory: its ".." is its old parent, inside
            else:
                try:
                    base = os.getcwd()
                except OSError as e:
                    self.seen_cwd = "E:" + errname(e.errno)
                    continue  # the cwd was removed: as above
                self.seen_cwd = base
            if not os.path.normpath(os.path.join(base, p)).startswith(guard + "/"):
                return True
        return False

    def unsearchable_base(self, o):
        """Triage of a known limitation (README "Limits", INTENTIONAL.md N-SEARCH): does a
        relative path of the op, or the fd it works on, start from a directory inside MERGED
        that its absolute path cannot reach (an ancestor without search permission)? The
        kernel walks from the cwd or fd it holds; the shim walks from MERGED's root with the
        user's rights."""
        bases = [o.get(k + "d") for k in ("a", "b")
                 if k in o and o["op"] != "cmd" and not o[k].startswith("/")]
        if "s" in o:
            bases.append(o["s"])
        for slot in bases:
            try:
                p = os.getcwd() if slot is None else os.readlink("/proc/self/fd/%d" % self.slots[slot])
                os.stat(p)
            except KeyError:
                continue
            except OSError as e:
                if e.errno == errno.EACCES:
                    return True
        return False

    def run_op(self, i, o):
        rec = {"i": i}
        blocked = self.unsearchable_base(o)
        self.seen_cwd = None
        skip = self.escapes(o)
        if self.seen_cwd is not None and (skip or self.seen_cwd.startswith("E:")):
            # the guard looked at the cwd: show it, so that a cwd that differs between the
            # sides (e.g. getcwd after the cwd was removed) is reported as such
            rec["cwd"] = self.seen_cwd
        if skip:
            rec["r"] = "skipped: leaves MERGED's parent"
            return rec
        fn = getattr(self, "op_" + o["op"])
        rec.update(self.identities(o))
        signal.alarm(OP_TIMEOUT)
        try:
            extra = fn(o)
            rec["r"] = "ok"
            if extra:
                rec.update(extra)
        except NoSlot:
            rec["r"] = "noslot"
        except OSError as e:
            rec["r"] = "E:" + errname(e.errno)
        except (ValueError, TypeError, OverflowError) as e:
            rec["r"] = "V:" + type(e).__name__
        except OpTimeout:
            rec["r"] = "TIMEOUT"
        finally:
            signal.alarm(0)
        if blocked or self.unsearchable_base(o):
            rec["unsearchable"] = True
        # runtime part of the intentional differences (kernel side only)
        intentional.after_op(self, o, rec)
        # the state of every path the op named, looked at without following the last link
        for k in ("a", "b"):
            if k in o and o["op"] not in ("chdir",):
                rec["st_" + k] = self.lst(o[k], o.get(k + "d"))
        return rec

    def dump(self):
        """The final merged tree: one record per path, sorted, with content digests, link
        targets, xattrs (all listable names), d_type, and the st_ino equivalence class of
        non-directories (DESIGN.md "Identity": values never compared, classes are)."""
        out = {}
        leaks = []
        inos = {}
        stack = [""]
        badfst = []
        while stack:
            rel = stack.pop()
            full = self.M + ("/" + rel if rel else "")
            try:
                lst = self.listing(full, None, None)
            except OSError as e:
                out[rel + "/"] = "E:" + errname(e.errno)
                continue
            leaks += [(rel + "/" if rel else "") + n for n in lst["leaks"]]
            if "dino_ne_ino" in lst:
                out.setdefault("!dino_ne_ino", []).extend((rel + "/" if rel else "") + n for n in lst["dino_ne_ino"])
            for name, dt in lst["ents"]:
                r = (rel + "/" if rel else "") + name
                f = self.M + "/" + r
                try:
                    st = os.lstat(f)
                except OSError as e:
                    out[r] = "E:" + errname(e.errno)
                    continue
                e = {"st": self.strec(st), "dt": dt}
                t = e["st"][0]
                if t == "f":
                    e["data"] = self.content(f, st)
                elif t == "l":
                    e["target"] = os.fsdecode(os.readlink(f))
                if t == "d":
                    stack.append(r)
                else:
                    key = (st.st_dev, st.st_ino)
                    e["ino"] = inos.setdefault(key, r)
                xa = self.xattrs(f)
                if xa:
                    e["xattrs"] = xa
                out[r] = e
        try:
            root = os.lstat(self.M)
            out[""] = {"st": self.strec(root), "xattrs": self.xattrs(self.M)}
        except OSError as e:
            out[""] = "E:" + errname(e.errno)
        # ino classes: name each class by its smallest member so both sides agree
        classes = {}
        for r, e in out.items():
            if isinstance(e, dict) and "ino" in e:
                classes.setdefault(e["ino"], []).append(r)
        for members in classes.values():
            rep = min(members)
            for r in members:
                out[r]["ino"] = rep
        if badfst:
            out["!fstat_ne_stat"] = badfst
        return {"tree": out, "leaks": sorted(leaks)}

    def content(self, f, st):
        try:
            fd = os.open(f, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError as e:
            return "E:" + errname(e.errno)
        try:
            fst = os.fstat(fd)
            if (fst.st_dev, fst.st_ino) != (st.st_dev, st.st_ino):
                return "fstat!=stat"
            h = hashlib.sha1()
            n = 0
            while True:
                b = os.read(fd, 1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
            return "n%d:%s" % (n, h.hexdigest()[:16])
        except OSError as e:
            return "E:" + errname(e.errno)
        finally:
            os.close(fd)

    def xattrs(self, f):
        try:
            names = os.listxattr(f, follow_symlinks=False)
        except OSError as e:
            return "E:" + errname(e.errno)
        xa = {}
        for n in sorted(names):
            try:
                xa[n] = os.getxattr(f, n, follow_symlinks=False).hex()
            except OSError as e:
                xa[n] = "E:" + errname(e.errno)
        return xa


class NoSlot(Exception):
    pass


class OpTimeout(Exception):
    pass


def on_alarm(signum, frame):
    raise OpTimeout()


OP_TIMEOUT = int(os.environ.get("OVL_DIFF_OP_TIMEOUT", "10"))


def main():
    job = json.load(open(sys.argv[1]))
    res = open(sys.argv[2], "w")
    os.umask(job.get("umask", 0o022))
    signal.signal(signal.SIGALRM, on_alarm)
    ex = Executor(job)
    res.write(json.dumps({"start": True, "t0": ex.t0}) + "\n")
    res.flush()
    try:
        if job.get("ops"):
            os.chdir(job["merged"])
    except OSError as e:
        res.write(json.dumps({"fatal": "chdir MERGED: " + errname(e.errno)}) + "\n")
        return 2
    cp = job.get("checkpoint", 0)
    last = 0
    for k, o in enumerate(job.get("ops", [])):
        i = o.get("_i", k)
        rec = ex.run_op(i, o)
        if cp and (i + 1) // cp > last:
            # a checkpoint: the whole merged tree, so a divergence shows up near its cause
            last = (i + 1) // cp
            rec["tree"] = ex.dump()
        res.write(json.dumps(rec) + "\n")
        res.flush()
    for s in list(ex.slots):
        ex.close_slot(s)
    os.chdir("/")
    if job.get("dump", True):
        res.write(json.dumps({"dump": ex.dump()}) + "\n")
    res.write(json.dumps({"end": True}) + "\n")
    res.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
