#!/usr/bin/python3
"""ovlshim seeded random differential tester (issue 5, item 1 and 2).

For each seed: build a random layer stack (1-3 lowers + upper, or a read-only stack), generate a
random sequence of operations on merged paths, run it in one process (executor.py) on a kernel
overlay mount (the oracle) and under the shim, each on a fresh copy of the same layers at the
same MERGED path, and compare every operation's result, the final merged trees, and the
invariants: the lowers (and the inputs, and MERGED's own directory) unchanged by the shim, what
was written outside through symlinks the same on both sides, and a kernel mount of the shim's
upper showing the tree the shim showed. The first difference is printed with a one-line command
that reproduces it; the failing sequence is then shrunk (ops, then layer entries).

Modes:
  root  layers with trusted.* markers; the oracle is mounted by root with
        $OVL_PINNED_DEFAULT (redirect_dir=off,index=off,metacopy=off,xino=off); the shim runs
        as root.
  user  layers owned by a test user (uid/gid $OVL_DIFF_UID, default 4242) with user.*
        markers; the oracle is mounted by that user as root of `unshare -Urm` with
        $OVL_PINNED_USER (userxattr,index=off,metacopy=off,xino=off), and the workload runs
        as the user again (uid and gid mapped to themselves in a nested user namespace, so
        that programs that ask geteuid() -- cp, tar -- behave as under the shim) with no
        capabilities at all; the shim runs as that user.

Usage:
  difftest.py [--mode root|user] --seeds 1-50 [--ops 200] [--jobs 2] [--shrink N]
  difftest.py --mode root --seed 17 --ops 43                (reproduce: the first 43 ops)
  difftest.py --mode root --seed 17 --ops 43 --only-ops 3,17,42 --only-entries 0,5
  difftest.py --mode root --seed 17 --ops 43 --show        (print the layers and ops)
  difftest.py --mode user --seeds 1-400 --self-test       (harness self-test, see below)
Options: --keep (keep the scratch dirs), --tap-like (one PASS/FAIL line per seed),
  --no-interop, --max-fail N, --shrink-trials N, --lenient-errno (triage only: an op that failed
  on both sides with different errnos does not stop the comparison).
Environment: OVL_BUILD, OVL_DIFF_UID, OVL_DIFF_TMP (scratch root), OVL_DIFF_TIMEOUT (per run,
  s), OVL_DIFF_OP_TIMEOUT (per op, s: a hung call is recorded as TIMEOUT and the run goes on),
  OVL_DIFF_CHECKPOINT (a whole-tree dump every N ops, default 25, so that a divergence shows up
  near its cause), OVL_DIFF_ATIME=0 (skip the lower-atime invariant), OVL_PINNED_DEFAULT /
  OVL_PINNED_USER (the oracle's options, from tests/lib/lib.sh).

Reproducing: the layers and the op sequence are functions of (mode, seed) alone, and the ops of
`--ops N` are the first N of any longer run, so "--seed S --ops N" replays a failure exactly;
--only-ops / --only-entries keep a subset of the ops / layer entries (the indexes printed by
--show), which is what the shrinker prints.

Self-test (--self-test): a second kernel mount stands in for the shim, with every other step
unchanged, so every seed must pass; it checks the tester for false positives. Known kernel
quirks it still trips over, about 1 seed in 200: a name unlinked while an fd on it is open comes
back in the upper when the fd triggers a copy-up (fsetxattr), which a fresh mount shows and the
first mount (negative dentry) does not.

Ops whose paths lead (lexically) out of MERGED's parent are not run on either side (they could
rename the run's own directories): recorded as "skipped".

Intentional differences: INTENTIONAL.md and intentional.py (the only place that forgives one).
Exit status: 0 no difference, 1 differences, 2 harness error.
"""
import argparse
import contextlib
import io
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
import intentional  # noqa: E402
import ovltool  # noqa: E402  (the shared harness's lower-layer hashes)

PY = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
EXECUTOR = os.path.join(HERE, "executor.py")
BUILD = os.environ.get("OVL_BUILD", os.path.join(REPO, "build"))
LIBSO = os.path.join(BUILD, "libovlshim.so")
PINNED_ROOT = os.environ.get("OVL_PINNED_DEFAULT", "redirect_dir=off,index=off,metacopy=off,xino=off")
PINNED_USER = os.environ.get("OVL_PINNED_USER", "userxattr,index=off,metacopy=off,xino=off")
TEST_UID = int(os.environ.get("OVL_DIFF_UID", "4242"))
TIMEOUT = int(os.environ.get("OVL_DIFF_TIMEOUT", "120"))
SELF = "tests/diff/difftest.py"
CHECKPOINT = int(os.environ.get("OVL_DIFF_CHECKPOINT", "25"))  # a tree dump every N ops
CHECK_ATIME = os.environ.get("OVL_DIFF_ATIME", "1") != "0"  # lowers-atime invariant (rule 64)
SELFTEST = os.environ.get("OVL_DIFF_SELFTEST") == "1"  # --self-test
SSIDE = "kernel" if SELFTEST else "shim"  # how the second side's records are normalised
LENIENT_ERRNO = False  # --lenient-errno (triage only): both failed with different errnos
SOFT = []

NAMES = ["a", "b", "c", "d", "e", "f.txt", "x y", "sub"]
FRESH = ["n1", "n2", "n3", "new", "tmp", "z"]
T_LO, T_HI = 946684800, 1600000000  # explicit times live in 2000..2020


# ======================================================================== layer generation
def gen_mode(rng, kind, mode, layer):
    if kind == "d":
        m = rng.choice([0o755] * 8 + [0o700, 0o555, 0o1777, 0o2775, 0o711, 0o775, 0o3777, 0o750])
    else:
        m = rng.choice([0o644] * 8 + [0o600, 0o755, 0o444, 0o640, 0o4755, 0o2755, 0o6755, 0o2644,
                                       0o000, 0o200, 0o707, 0o4711, 0o1644])
    if mode == "user" and layer > 0:
        # N-UNREAD: lower objects the user can read (files) and search (dirs)
        m |= 0o500 if kind == "d" else 0o400
    return m


def gen_time(rng):
    return rng.randrange(T_LO, T_HI) * 10**9 + rng.randrange(10**9)


def gen_xattrs(rng, kind, mode):
    xa = {}
    if kind not in ("f", "d"):
        return xa
    if rng.random() < 0.3:
        for _ in range(rng.randint(1, 2)):
            xa[rng.choice(["user.a", "user.b", "user.tag"])] = rng.choice(["", "76", "00ff01", "6c6f6e67" * 20])
    if mode == "root" and rng.random() < 0.06:
        xa["trusted.t"] = "7476"
    if kind == "f" and rng.random() < 0.03:
        # v2 file capability: cap_net_raw+ep
        xa["security.capability"] = "0000000201200000000000000000000000000000"
    return xa


def gen_layers(seed, mode):
    rng = random.Random("%d-layers-%s" % (seed, mode))
    nlow = rng.choice([1, 2, 2, 3, 3, 3])
    ro = rng.random() < 0.08
    layers = list(range(nlow, -1 if not ro else 0, -1))  # bottom .. top; 0 is the upper
    have = {L: {"": "d"} for L in layers}
    entries = []
    ns = "trusted" if mode == "root" else "user"

    def below(L, path):
        """(kind of path in the layers below L (topmost first), names under dir path below)."""
        kinds = []
        names = set()
        for B in range(L + 1, nlow + 1):
            k = have[B].get(path)
            if k:
                kinds.append(k)
            for p in have[B]:
                if p and os.path.dirname(p) == path:
                    names.add(os.path.basename(p))
        return kinds, names

    def add(e):
        entries.append(e)
        have[e["L"]][e["p"]] = e["k"]

    def owner():
        if mode == "user":
            return TEST_UID, TEST_UID
        return rng.choice([0, 0, 0, 1000, 1234]), rng.choice([0, 0, 0, 1000, 5678])

    def gen_dir(L, d, depth):
        _, names_below = below(L, d)
        cands = [n for n in sorted(names_below) if rng.random() < 0.6]
        cands += rng.sample(NAMES, rng.randint(0, 3 if depth else 5))
        seen = set()
        for name in cands:
            if name in seen:
                continue
            seen.add(name)
            p = name if not d else d + "/" + name
            bk, _ = below(L, p)
            top_below = bk[0] if bk else None
            r = rng.random()
            lower_nonbottom = 0 < L < nlow
            if top_below == "d":
                k = "d" if r < 0.45 else "f" if r < 0.55 else "l" if r < 0.6 else "w" if r < 0.78 else \
                    "xw" if r < 0.84 and lower_nonbottom else None
            elif top_below in ("w", "xw"):
                k = "d" if r < 0.35 else "f" if r < 0.6 else "w" if r < 0.65 else None
            elif top_below:
                k = "f" if r < 0.3 else "d" if r < 0.4 else "l" if r < 0.5 else "w" if r < 0.7 else \
                    "xw" if r < 0.76 and lower_nonbottom else "p" if r < 0.79 else None
            else:
                k = "d" if r < 0.25 and depth < 3 else "f" if r < 0.68 else "l" if r < 0.83 else \
                    "p" if r < 0.86 else "h" if r < 0.93 else "w" if r < 0.95 else \
                    "xw" if r < 0.97 and L == 0 else None
            if k == "d" and depth >= 3:
                k = "f"
            if k is None:
                continue
            gen_entry(L, p, k, depth, top_below)

    def gen_entry(L, p, k, depth, top_below):
        e = {"L": L, "p": p, "k": k}
        if k in ("f", "d", "l", "p"):
            e["uid"], e["gid"] = owner()
            e["mt"], e["at"] = gen_time(rng), gen_time(rng)
        if k in ("f", "d", "p"):
            e["mode"] = gen_mode(rng, k, mode, L)
            e["xa"] = gen_xattrs(rng, k, mode)
        if k == "f":
            r = rng.random()
            if r < 0.15:
                e["data"] = ["text", 0, 0]
            elif r < 0.6:
                e["data"] = ["text", rng.randint(1, 200), rng.randrange(1000)]
            elif r < 0.8:
                e["data"] = ["bin", rng.randint(1000, 20000), rng.randrange(256)]
            elif r < 0.85:
                e["data"] = ["bin", rng.randint(100000, 300000), rng.randrange(256)]
            else:
                size = rng.randint(1, 3) << 20
                e["sparse"] = [size, sorted(rng.randrange(0, size - 4096) for _ in range(rng.randint(1, 3))),
                               rng.randrange(256)]
        elif k == "l":
            e["target"] = gen_target(p)
        elif k == "h":
            files = [q for q, kk in have[L].items() if kk == "f" and q != p]
            if not files:
                e["k"] = k = "f"
                e["uid"], e["gid"] = owner()
                e["mt"], e["at"] = gen_time(rng), gen_time(rng)
                e["mode"] = gen_mode(rng, "f", mode, L)
                e["xa"] = {}
                e["data"] = ["text", 10, 1]
            else:
                e["to"] = rng.choice(sorted(files))
        elif k == "d":
            if top_below == "d" and rng.random() < 0.22:
                e["opq"] = rng.choice(["y"] * 6 + ["yes", "x"])
            elif top_below is None and rng.random() < 0.03:
                e["opq"] = "y"
        elif k == "xw":
            e["ns"] = ns
            if L > 0 and parent_opq(L, os.path.dirname(p)) not in (None, "x"):
                # an opaque parent cannot carry the "x" marker: a plain whiteout instead
                e = {"L": L, "p": p, "k": "w"}
                k = "w"
        add(e)
        if k == "xw":
            parent = os.path.dirname(p)
            mark(L, parent)
        if k == "d":
            gen_dir(L, p, depth + 1)
        if k == "l" and rng.random() < 0.05:
            # a loop partner: p -> q -> p
            q = os.path.join(os.path.dirname(p), "loop_" + os.path.basename(p).replace(" ", "_"))
            if q not in have[L]:
                add({"L": L, "p": q, "k": "l", "target": os.path.basename(p), "uid": e["uid"], "gid": e["gid"],
                     "mt": gen_time(rng), "at": gen_time(rng)})
                e["target"] = os.path.basename(q)

    def parent_opq(L, parent):
        if parent == "":
            return roots.get(L, {}).get("opq")
        for e in entries:
            if e["L"] == L and e["p"] == parent and e["k"] == "d":
                return e.get("opq")
        return None

    def mark(L, parent):
        """The "x" marker on the parent of a lower xattr whiteout (rule 16); an upper one
        stays unmarked: the kernel lists it (N-LEAK)."""
        if L == 0:
            return
        for e in entries:
            if e["L"] == L and e["p"] == parent and e["k"] == "d":
                if "opq" not in e:
                    e["opq"] = "x"
                return
        if parent == "":
            roots.setdefault(L, {}).setdefault("opq", "x")

    def gen_target(p):
        d = os.path.dirname(p)
        allp = sorted({q for L in have for q in have[L] if q})
        r = rng.random()
        if r < 0.4 and allp:
            t = rng.choice(allp)
            return os.path.relpath(t, d or ".")
        if r < 0.6 and allp:
            return "@M/" + rng.choice(allp)
        if r < 0.7:
            return rng.choice(["nonexistent", "../nope/x", "@M/nope"])
        if r < 0.75:
            return os.path.basename(p)  # a self loop
        if r < 0.82:
            return rng.choice(["@O/f", "@O/d", "@O/d/g", "@O"])
        if r < 0.87:
            return "/".join([".."] * (p.count("/") + 1)) + "/out/f"  # climbs out of MERGED
        return rng.choice(NAMES + FRESH)

    roots = {}
    for L in layers:
        gen_dir(L, "", 0)
        if L == 0 and rng.random() < 0.5:
            roots.setdefault(0, {})["mode"] = rng.choice([0o755, 0o777, 0o700, 0o1777])
        if L > 0 and rng.random() < 0.04:
            roots.setdefault(L, {}).setdefault("opq", "y")  # an opaque lower root: ignored (rule 4)
    for L, a in roots.items():
        entries.append(dict({"L": L, "p": "", "k": "root"}, **a))
    spec = {"seed": seed, "mode": mode, "nlow": nlow, "ro": ro, "entries": entries,
            "umask": rng.choice([0o022, 0o022, 0o002, 0o077, 0o000]),
            "inputs": gen_inputs(rng, mode)}
    return spec


def gen_inputs(rng, mode):
    """A small source tree (cp -a from outside) and a tar archive (tar x), both outside."""
    src = []
    for n in rng.sample(NAMES, 3):
        src.append({"p": n, "k": rng.choice("ffdl"), "mt": gen_time(rng), "mode": rng.choice([0o644, 0o755, 0o600])})
    tar = []
    for n in rng.sample(NAMES + ["sub/" + x for x in NAMES[:3]] + ["a/b", "a/c/d"], 5):
        tar.append({"p": n, "k": rng.choice("fffdlh"), "mt": gen_time(rng),
                    "mode": rng.choice([0o644, 0o755, 0o600, 0o4755]),
                    "uid": 0 if mode == "user" else rng.choice([0, 1000]),
                    "salt": rng.randrange(1000)})
        if mode == "user" and tar[-1]["k"] == "d":
            # GNU tar gives the directories it makes owner rwx unless it runs as uid 0, which
            # the oracle's workload was inside its namespace; it runs as the user now (run_exec),
            # but the seeds' inputs stay as they were
            tar[-1]["mode"] |= 0o700
    return {"src": src, "tar": tar}


# ======================================================================== op generation
class OpGen:
    def __init__(self, spec):
        self.spec = spec
        self.mode = spec["mode"]
        self.rng = random.Random("%d-ops-%s" % (spec["seed"], spec["mode"]))
        paths = set()
        dirs = {""}
        links = {}
        for e in spec["entries"]:
            if e["k"] == "root":
                continue
            paths.add(e["p"])
            if e["k"] == "d":
                dirs.add(e["p"])
            if e["k"] == "l":
                links[e["p"]] = e["target"]
        # paths through symlinks to directories
        for lp, t in links.items():
            if t.startswith("@M/"):
                tgt = t[3:]
            elif not t.startswith("@") and not t.startswith("/"):
                tgt = os.path.normpath(os.path.join(os.path.dirname(lp), t))
            else:
                continue
            if tgt in dirs:
                for q in list(paths):
                    if q.startswith(tgt + "/") and q.count("/") == tgt.count("/") + 1:
                        paths.add(lp + "/" + os.path.basename(q))
        self.paths = sorted(paths)
        self.dirs = sorted(dirs)
        self.created = []
        self.cwd = ""
        self.slots = {}  # slot -> (kind, rel)

    # --------------------------------------------------------------- paths
    def new_name(self):
        r = self.rng.random()
        if r < 0.03:
            return ".wh." + self.rng.choice(["a", "zz"])  # N-WH
        if r < 0.04:
            return "L" * self.rng.choice([255, 256])
        return self.rng.choice(FRESH + NAMES)

    def pick(self, want="any"):
        rng = self.rng
        r = rng.random()
        if want == "dir":
            if r < 0.8:
                return rng.choice(self.dirs + [c for c in self.created if rng.random() < 0.5] or [""])
            return rng.choice(self.paths or [""])
        if want == "new":
            parent = rng.choice(self.dirs + self.created[-5:])
            return (parent + "/" if parent else "") + self.new_name()
        if r < 0.6 and self.paths:
            return rng.choice(self.paths)
        if r < 0.78 and self.created:
            return rng.choice(self.created[-12:])
        parent = rng.choice(self.dirs)
        return (parent + "/" if parent else "") + self.new_name()

    def render(self, rel, fd_ok=True, key="a"):
        """A merged-relative path -> (path string, dirfd slot or None)."""
        rng = self.rng
        r = rng.random()
        dslots = [s for s, (k, _) in self.slots.items() if k == "d"]
        slot = None
        absolute = False
        if r < 0.45:
            s, absolute = rel or ".", True
        elif r < 0.8 or not (fd_ok and dslots):
            s = os.path.relpath(rel or ".", self.cwd or ".")
        else:
            slot = rng.choice(dslots)
            base = self.slots[slot][1]
            s = os.path.relpath(rel or ".", base or ".")
        m = rng.random()
        if m < 0.05:
            s = "./" + s
        elif m < 0.08 and "/" in s:
            s = s.replace("/", "//", 1)
        elif m < 0.11:
            s = s + "/"
        elif m < 0.14:
            s = rng.choice(NAMES) + "/../" + s
        if absolute:
            s = "@M" if s == "." else "@M/" + s
        return s, slot

    def P(self, o, rel, key="a", fd_ok=True):
        s, slot = self.render(rel, fd_ok)
        o[key] = s
        if slot is not None:
            o[key + "d"] = slot
        return o

    def note_created(self, rel):
        if rel not in self.created:
            self.created.append(rel)

    # --------------------------------------------------------------- ops
    def data(self):
        r = self.rng.random()
        if r < 0.5:
            return self.rng.choice(["x", "hello\n", "alpha beta\n", "", "0123456789" * 3])
        if r < 0.8:
            return ["text", self.rng.randint(1, 3000), self.rng.randrange(1000)]
        return ["bin", self.rng.randint(1, 70000), self.rng.randrange(256)]

    def times(self):
        def one():
            r = self.rng.random()
            return "now" if r < 0.15 else "omit" if r < 0.3 else gen_time(self.rng)
        return [one(), one()]

    def owner(self):
        if self.mode == "user":
            return self.rng.choice(["self", -1]), self.rng.choice(["self", -1])
        return self.rng.choice([0, 1000, 1234, -1]), self.rng.choice([0, 1000, 5678, -1])

    def xname(self):
        names = ["user.a", "user.b", "user.new", "user.overlay.opaque", "user.overlay.q",
                 "trusted.overlay.opaque", "trusted.overlay.q", "trusted.t", "security.capability"]
        return self.rng.choice(names[:3] * 4 + names[3:])

    def fileslot(self):
        return self.rng.randrange(4)

    def gen_one(self):
        rng = self.rng
        table = [
            ("open", 12), ("read", 5), ("pread", 2), ("write", 5), ("pwrite", 3), ("lseek", 1),
            ("ftruncate", 2), ("fstat", 2), ("fchmod", 1), ("fchown", 1), ("futimens", 1),
            ("fsetxattr", 1), ("close", 4), ("stat", 6), ("access", 2), ("readlink", 2),
            ("readfile", 5), ("writefile", 4), ("unlink", 5), ("rmdir", 4), ("mkdir", 5),
            ("rename", 9), ("link", 3), ("symlink", 3), ("chmod", 3), ("chown", 2),
            ("utimensat", 3), ("truncate", 2), ("setxattr", 3), ("getxattr", 2), ("listxattr", 2),
            ("removexattr", 2), ("mkfifo", 1), ("mknod", 1), ("chdir", 2), ("fchdir", 1),
            ("getcwd", 1), ("opendir", 2), ("listdir", 5), ("cmd", 3),
            ("T_fd_copyup", 3), ("T_dirfd", 1), ("T_empty_dir", 1), ("T_recreate", 1),
        ]
        tot = sum(w for _, w in table)
        x = rng.uniform(0, tot)
        for name, w in table:
            x -= w
            if x <= 0:
                break
        return getattr(self, "g_" + name)()

    def g_open(self, rel=None, slot=None, flags=None):
        rng = self.rng
        rel = rel if rel is not None else self.pick()
        if flags is None:
            acc = rng.choice(["RDONLY", "RDONLY", "WRONLY", "RDWR", "RDWR"])
            flags = [acc]
            for f, p in (("CREAT", 0.35), ("EXCL", 0.1), ("TRUNC", 0.15), ("APPEND", 0.15),
                         ("NOFOLLOW", 0.05), ("DIRECTORY", 0.03), ("PATH", 0.03)):
                if rng.random() < p:
                    flags.append(f)
            if rng.random() < 0.01:
                flags = ["RDWR", "TMPFILE"]
                rel = self.pick("dir")
        s = slot if slot is not None else self.fileslot()
        o = self.P({"op": "open", "flags": flags, "mode": gen_mode(rng, "f", "root", 0), "s": s}, rel)
        self.slots[s] = ("f", rel)
        if "CREAT" in flags:
            self.note_created(rel)
        return [o]

    def g_opendir(self):
        rel = self.pick("dir")
        s = self.rng.choice([4, 5])
        flags = ["RDONLY", "DIRECTORY"] if self.rng.random() < 0.7 else ["PATH", "DIRECTORY"]
        o = self.P({"op": "open", "flags": flags, "s": s}, rel)
        self.slots[s] = ("d", rel)
        return [o]

    def anyslot(self):
        return self.rng.choice(list(self.slots) or [0])

    def g_read(self):
        return [{"op": "read", "s": self.anyslot(), "n": self.rng.choice([1, 10, 100, 4096, 1 << 20])}]

    def g_pread(self):
        return [{"op": "pread", "s": self.anyslot(), "n": self.rng.choice([10, 4096, 1 << 20]),
                 "off": self.rng.choice([0, 0, 5, 4096, 1 << 20])}]

    def g_write(self):
        return [{"op": "write", "s": self.anyslot(), "data": self.data()}]

    def g_pwrite(self):
        return [{"op": "pwrite", "s": self.anyslot(), "data": self.data(),
                 "off": self.rng.choice([0, 3, 100, 70000, 3 << 20])}]

    def g_lseek(self):
        return [{"op": "lseek", "s": self.anyslot(), "off": self.rng.choice([0, 1, 10, 1 << 16]),
                 "whence": self.rng.choice(["SET", "CUR", "END", "DATA", "HOLE"])}]

    def g_ftruncate(self):
        return [{"op": "ftruncate", "s": self.anyslot(), "len": self.rng.choice([0, 1, 50, 5000, 1 << 21])}]

    def g_fstat(self):
        return [{"op": "fstat", "s": self.anyslot()}]

    def g_fchmod(self):
        return [{"op": "fchmod", "s": self.anyslot(), "mode": gen_mode(self.rng, "f", "root", 0)}]

    def g_fchown(self):
        u, g = self.owner()
        return [{"op": "fchown", "s": self.anyslot(), "uid": u, "gid": g}]

    def g_futimens(self):
        return [{"op": "futimens", "s": self.anyslot(), "times": self.times()}]

    def xvalue(self, name, choices):
        if name == "security.capability":  # a valid v2 value: a malformed one cannot be copied
            return ["hex", "0000000201200000000000000000000000000000"]
        return self.rng.choice(choices)

    def g_fsetxattr(self):
        n = self.xname()
        return [{"op": "fsetxattr", "s": self.anyslot(), "name": n, "value": self.xvalue(n, ["v", "", "zz"])}]

    def g_close(self):
        s = self.anyslot()
        self.slots.pop(s, None)
        return [{"op": "close", "s": s}]

    def g_stat(self):
        return [self.P({"op": "stat", "follow": self.rng.random() < 0.6}, self.pick())]

    def g_access(self):
        return [self.P({"op": "access", "mode": self.rng.choice(["F", "R", "W", "X", "RW"])}, self.pick())]

    def g_readlink(self):
        return [self.P({"op": "readlink"}, self.pick())]

    def g_readfile(self):
        return [self.P({"op": "readfile"}, self.pick())]

    def g_writefile(self):
        rel = self.pick()
        self.note_created(rel)
        return [self.P({"op": "writefile", "data": self.data(), "append": self.rng.random() < 0.5}, rel)]

    def g_unlink(self):
        return [self.P({"op": "unlink"}, self.pick())]

    def g_rmdir(self):
        return [self.P({"op": "rmdir"}, self.pick("dir" if self.rng.random() < 0.7 else "any"))]

    def g_mkdir(self):
        rel = self.pick("new" if self.rng.random() < 0.6 else "any")
        self.note_created(rel)
        if not os.path.basename(rel).startswith(".wh."):
            self.dirs.append(rel)
        return [self.P({"op": "mkdir", "mode": gen_mode(self.rng, "d", "root", 0)}, rel)]

    def g_rename(self):
        rng = self.rng
        a = self.pick()
        b = self.pick("new" if rng.random() < 0.4 else "dir" if rng.random() < 0.3 else "any")
        if os.path.basename(b).startswith(".wh."):
            b = b[:-len(os.path.basename(b))] + "n1"
        r = rng.random()
        flags = [] if r < 0.6 else ["NOREPLACE"] if r < 0.8 else ["EXCHANGE"] if r < 0.97 else ["WHITEOUT"]
        self.note_created(b)
        o = {"op": "rename", "flags": flags}
        if not flags and rng.random() < 0.2:
            o["force2"] = True  # renameat2 with flags 0
        self.P(o, a, "a")
        self.P(o, b, "b")
        return [o]

    def g_link(self):
        a = self.pick()
        b = self.pick("new" if self.rng.random() < 0.7 else "any")
        if os.path.basename(b).startswith(".wh."):
            b = b[:-len(os.path.basename(b))] + "n2"
        self.note_created(b)
        o = {"op": "link", "follow": self.rng.random() < 0.3}
        self.P(o, a, "a")
        self.P(o, b, "b")
        return [o]

    def g_symlink(self):
        rel = self.pick("new" if self.rng.random() < 0.7 else "any")
        self.note_created(rel)
        t = self.rng.choice(self.paths + ["nonexistent", "@M/a", "../a", "@O/f"]) if self.rng.random() < 0.5 \
            else os.path.relpath(self.pick() or ".", os.path.dirname(rel) or ".")
        return [self.P({"op": "symlink", "target": t}, rel)]

    def g_chmod(self):
        k = "d" if self.rng.random() < 0.3 else "f"
        return [self.P({"op": "chmod", "mode": gen_mode(self.rng, k, "root", 0)}, self.pick())]

    def g_chown(self):
        u, g = self.owner()
        return [self.P({"op": "chown", "uid": u, "gid": g, "follow": self.rng.random() < 0.7}, self.pick())]

    def g_utimensat(self):
        return [self.P({"op": "utimensat", "times": self.times(), "follow": self.rng.random() < 0.7}, self.pick())]

    def g_truncate(self):
        return [self.P({"op": "truncate", "len": self.rng.choice([0, 1, 50, 5000, 1 << 21])}, self.pick(), fd_ok=False)]

    def g_setxattr(self):
        r = self.rng.random()
        flags = [] if r < 0.7 else ["CREATE"] if r < 0.85 else ["REPLACE"]
        n = self.xname()
        return [self.P({"op": "setxattr", "name": n, "value": self.xvalue(n, ["v", "", "y", "zz" * 40]),
                        "flags": flags, "follow": self.rng.random() < 0.8}, self.pick(), fd_ok=False)]

    def g_getxattr(self):
        return [self.P({"op": "getxattr", "name": self.xname(), "follow": self.rng.random() < 0.8}, self.pick(), fd_ok=False)]

    def g_listxattr(self):
        return [self.P({"op": "listxattr", "follow": self.rng.random() < 0.8}, self.pick(), fd_ok=False)]

    def g_removexattr(self):
        return [self.P({"op": "removexattr", "name": self.xname(), "follow": self.rng.random() < 0.8}, self.pick(), fd_ok=False)]

    def g_mkfifo(self):
        rel = self.pick("new")
        self.note_created(rel)
        return [self.P({"op": "mkfifo", "mode": 0o644}, rel)]

    def g_mknod(self):
        rel = self.pick("new")
        self.note_created(rel)
        kind = self.rng.choice(["chr", "reg", "fifo"])
        if self.mode == "user" and kind == "chr":
            kind = "reg"
        return [self.P({"op": "mknod", "kind": kind, "mode": 0o640}, rel)]

    def g_chdir(self):
        rel = self.pick("dir")
        o = {"op": "chdir"}
        s, _ = self.render(rel, fd_ok=False)
        o["a"] = s
        self.cwd = rel
        return [o]

    def g_fchdir(self):
        ds = [s for s, (k, _) in self.slots.items() if k == "d"]
        if not ds:
            return self.g_chdir()
        s = self.rng.choice(ds)
        self.cwd = self.slots[s][1]
        return [{"op": "fchdir", "s": s}]

    def g_getcwd(self):
        return [{"op": "getcwd"}]

    def g_listdir(self):
        ds = [s for s, (k, _) in self.slots.items() if k == "d"]
        if ds and self.rng.random() < 0.25:
            return [{"op": "listdir", "s": self.rng.choice(ds)}]
        return [self.P({"op": "listdir"}, self.pick("dir"))]

    def g_cmd(self):
        pick0 = self.pick

        def pick(want="any"):
            rel = pick0(want)
            base = os.path.basename(rel)
            return rel[:-len(base)] + "n3" if base.startswith(".wh.") else rel
        self.pick = pick
        try:
            return self.g_cmd2()
        finally:
            self.pick = pick0

    def g_cmd2(self):
        rng = self.rng
        k = rng.choice(["cp", "cp", "mv", "rm", "tar", "sed"])
        M = lambda rel: "@M/" + rel if rel else "@M"  # noqa: E731
        if k == "cp":
            src = M(self.pick()) if rng.random() < 0.6 else "@I/src/" + rng.choice(
                [e["p"] for e in self.spec["inputs"]["src"]])
            dst = self.pick("new" if rng.random() < 0.6 else "dir")
            if src.startswith("@M"):
                srel = src[3:]
                if not srel:
                    src = "@I/src/" + self.spec["inputs"]["src"][0]["p"]
                elif dst == srel or dst.startswith(srel + "/"):
                    # into its own subtree: what cp copies depends on whether readdir gives a
                    # name before or after cp made the copy, an order not compared (N-ORDER)
                    dst = srel + "_copy"
            self.note_created(dst)
            argv = ["cp", "-a", src, M(dst)]
            tgt = dst
        elif k == "mv":
            a, b = self.pick(), self.pick("new" if rng.random() < 0.5 else "any")
            self.note_created(b)
            if not a:
                # MERGED itself: its rename leaves the mount (EXDEV), so mv copies MERGED into
                # its own subtree, and what it copies before it notices depends on the order it
                # reads names in (cp sorts them by d_ino): N-ORDER, N-INO. Another move instead,
                # drawn without touching the random stream.
                a = b or "a"
                b = a + "_mv"
                self.note_created(b)
            argv = ["mv", M(a), M(b)]
            tgt = b
        elif k == "rm":
            tgt = self.pick("dir" if rng.random() < 0.7 else "any")
            argv = ["rm", "-rf", M(tgt)]
        elif k == "tar":
            tgt = self.pick("dir")
            argv = ["tar", "-xf", "@I/t.tar", "-C", M(tgt), "--no-same-permissions"]
            if self.mode == "user":
                argv.append("--no-same-owner")
            for e in self.spec["inputs"]["tar"]:
                self.note_created((tgt + "/" if tgt else "") + e["p"])
        else:
            tgt = self.pick()
            argv = ["sed", "-i", rng.choice(["s/alpha/ZZ/", "s/a/b/g", "1d", "$a\\\\tail"]), M(tgt)]
        return [{"op": "cmd", "argv": argv, "a": M(tgt)}]

    # --------------------------------------------------------------- templates
    def g_T_fd_copyup(self):
        """An fd opened before a copy-up, used after it (SEMANTICS rule 63)."""
        rng = self.rng
        rel = rng.choice(self.paths) if self.paths else self.pick()
        s = self.fileslot()
        ops = self.g_open(rel, s, [rng.choice(["RDONLY", "RDONLY", "RDWR"])])
        trig = rng.choice(["chmod", "utimensat", "setxattr", "truncate", "append", "rename", "chown", "link"])
        if trig == "chmod":
            ops.append(self.P({"op": "chmod", "mode": 0o640}, rel))
        elif trig == "utimensat":
            ops.append(self.P({"op": "utimensat", "times": ["omit", gen_time(rng)]}, rel))
        elif trig == "setxattr":
            ops.append(self.P({"op": "setxattr", "name": "user.new", "value": "v"}, rel, fd_ok=False))
        elif trig == "truncate":
            ops.append(self.P({"op": "truncate", "len": rng.choice([0, 7])}, rel, fd_ok=False))
        elif trig == "append":
            s2 = (s + 1) % 4
            ops += self.g_open(rel, s2, ["WRONLY", "APPEND"])
            ops.append({"op": "write", "s": s2, "data": "appended\n"})
        elif trig == "rename":
            b = self.pick("new")
            self.note_created(b)
            o = {"op": "rename", "flags": []}
            self.P(o, rel, "a")
            self.P(o, b, "b")
            ops.append(o)
        elif trig == "link":
            b = self.pick("new")
            self.note_created(b)
            o = {"op": "link"}
            self.P(o, rel, "a")
            self.P(o, b, "b")
            ops.append(o)
        else:
            u, g = self.owner()
            ops.append(self.P({"op": "chown", "uid": u, "gid": g}, rel))
        ops.append({"op": "pread", "s": s, "n": 4096, "off": 0})
        ops.append({"op": "fstat", "s": s})
        if rng.random() < 0.5:
            ops.append({"op": "write", "s": s, "data": "via old fd\n"})
            ops.append(self.P({"op": "readfile"}, rel))
        return ops

    def g_T_dirfd(self):
        ops = self.g_opendir()
        for _ in range(self.rng.randint(2, 5)):
            ops += self.rng.choice([self.g_stat, self.g_unlink, self.g_mkdir, self.g_rename, self.g_open,
                                    self.g_listdir, self.g_symlink])()
        return ops

    def g_T_empty_dir(self):
        """Empty a merged directory name by name, then rmdir and recreate it (rules 46, 20a)."""
        d = self.rng.choice(self.dirs)
        kids = [p for p in self.paths + self.created if os.path.dirname(p) == d]
        ops = []
        for k in kids:
            ops.append(self.P({"op": "unlink"}, k))
            ops.append(self.P({"op": "rmdir"}, k))
        ops.append(self.P({"op": "listdir"}, d))
        ops.append(self.P({"op": "rmdir"}, d))
        if self.rng.random() < 0.7:
            ops.append(self.P({"op": "mkdir", "mode": 0o755}, d))
            ops.append(self.P({"op": "listdir"}, d))
        return ops

    def g_T_recreate(self):
        """Remove a name, recreate it as another type, look at it (rules 12, 17, 45)."""
        rel = self.rng.choice(self.paths) if self.paths else self.pick()
        ops = [self.P({"op": "unlink"}, rel), self.P({"op": "rmdir"}, rel), self.P({"op": "stat"}, rel)]
        ops += self.rng.choice([self.g_mkfifo_at, self.g_mkdir_at, self.g_writefile_at, self.g_symlink_at])(rel)
        ops.append(self.P({"op": "listdir"}, os.path.dirname(rel)))
        return ops

    def g_mkfifo_at(self, rel):
        return [self.P({"op": "mkfifo", "mode": 0o600}, rel)]

    def g_mkdir_at(self, rel):
        return [self.P({"op": "mkdir", "mode": 0o700}, rel), self.P({"op": "listdir"}, rel)]

    def g_writefile_at(self, rel):
        return [self.P({"op": "writefile", "data": "reborn\n"}, rel)]

    def g_symlink_at(self, rel):
        return [self.P({"op": "symlink", "target": "nonexistent"}, rel)]


def gen_ops(spec, n):
    g = OpGen(spec)
    ops = []
    while len(ops) < n:
        ops.extend(g.gen_one())
    return ops[:n]


# ======================================================================== building layers
def subst(s, ctx):
    if not isinstance(s, str):
        return s
    for k, v in (("@M", ctx["M"]), ("@O", ctx["O"]), ("@I", ctx["I"])):
        s = s.replace(k, v)
    return s


def mkdata(spec):
    sys.path.insert(0, HERE)
    import executor
    return executor.mkdata(spec)


def build_layers(spec, top, ctx, only_entries=None):
    """Builds TOP/l1..ln and TOP/u, TOP/w (TOP/u absent for a read-only stack)."""
    nlow = spec["nlow"]
    os.makedirs(top)
    dirs = {L: os.path.join(top, "u" if L == 0 else "l%d" % L) for L in range(0, nlow + 1)}
    for L, d in dirs.items():
        if L == 0 and spec["ro"]:
            continue
        os.mkdir(d)
    if not spec["ro"]:
        os.mkdir(os.path.join(top, "w"))
    timed = []
    for idx, e in enumerate(spec["entries"]):
        if only_entries is not None and idx not in only_entries:
            continue
        L = e["L"]
        if L == 0 and spec["ro"]:
            continue
        base = dirs[L]
        p = os.path.join(base, e["p"]) if e["p"] else base
        if e["p"]:
            os.makedirs(os.path.dirname(p), exist_ok=True)
        k = e["k"]
        try:
            if k == "root":
                pass
            elif k == "d":
                os.makedirs(p, exist_ok=True)
            elif k == "f":
                with open(p, "wb") as f:
                    if "sparse" in e:
                        size, offs, salt = e["sparse"]
                        for off in offs:
                            f.seek(off)
                            f.write(mkdata(["bin", 4096, salt]))
                        f.truncate(size)
                    else:
                        f.write(mkdata(e["data"]))
            elif k == "l":
                os.symlink(subst(e["target"], ctx), p)
            elif k == "h":
                src = os.path.join(base, e["to"])
                if not os.path.lexists(src) or not stat.S_ISREG(os.lstat(src).st_mode):
                    continue
                os.link(src, p)
                continue
            elif k == "p":
                os.mkfifo(p, 0o600)
            elif k == "w":
                os.mknod(p, stat.S_IFCHR | 0, os.makedev(0, 0))
            elif k == "xw":
                open(p, "wb").close()
                os.setxattr(p, e["ns"] + ".overlay.whiteout", b"")
        except FileExistsError:
            continue
        except OSError as ex:
            raise RuntimeError("building %s: %s" % (p, ex))
        ns = "user" if spec["mode"] == "user" else "trusted"
        for name, val in (e.get("xa") or {}).items():
            os.setxattr(p, name, bytes.fromhex(val), follow_symlinks=False)
        if "opq" in e:
            os.setxattr(p, ns + ".overlay.opaque", e["opq"].encode())
        if spec["mode"] == "user":
            os.chown(p, TEST_UID, TEST_UID, follow_symlinks=False)
        elif "uid" in e:
            os.chown(p, e["uid"], e["gid"], follow_symlinks=False)
        if "mode" in e:
            os.chmod(p, e["mode"])
        if "security.capability" in (e.get("xa") or {}):
            # chown clears file capabilities: set them again after the owner
            os.setxattr(p, "security.capability", bytes.fromhex(e["xa"]["security.capability"]))
        if "mt" in e:
            timed.append((p, e))
    if spec["mode"] == "user":
        # every object of the layers belongs to the user, parents made implicitly included
        for d in list(dirs.values()) + [os.path.join(top, "w")]:
            if not os.path.isdir(d):
                continue
            for root, ds, fs in os.walk(d):
                for n in ds + fs:
                    q = os.path.join(root, n)
                    if os.lstat(q).st_uid != TEST_UID:
                        os.chown(q, TEST_UID, TEST_UID, follow_symlinks=False)
            os.chown(d, TEST_UID, TEST_UID)
        os.chown(top, TEST_UID, TEST_UID)
    for p, e in reversed(timed):  # deepest and latest first; dirs after their content
        os.utime(p, ns=(e["at"], e["mt"]), follow_symlinks=False)
    for L, d in dirs.items():
        if os.path.isdir(d):
            os.utime(d, ns=(1000000000 * 10**9, 1000000000 * 10**9))

    return dirs


def build_outside(ctx, spec):
    O = ctx["O"]
    if os.path.lexists(O):
        force_rmtree(O)
    os.makedirs(os.path.join(O, "d"))
    with open(os.path.join(O, "f"), "w") as f:
        f.write("outside file\n")
    with open(os.path.join(O, "d", "g"), "w") as f:
        f.write("outside g\n")
    for p in (os.path.join(O, "d", "g"), os.path.join(O, "f"), os.path.join(O, "d"), O):
        if spec["mode"] == "user":
            os.chown(p, TEST_UID, TEST_UID)
        os.utime(p, ns=(1100000000 * 10**9, 1100000000 * 10**9))


def build_inputs(ctx, spec):
    I = ctx["I"]
    os.makedirs(os.path.join(I, "src"))
    ents = spec["inputs"]
    for e in ents["src"]:
        p = os.path.join(I, "src", e["p"])
        if e["k"] == "d":
            os.mkdir(p)
            with open(os.path.join(p, "inner"), "w") as f:
                f.write("inner\n")
        elif e["k"] == "l":
            os.symlink("inner_target", p)
        else:
            with open(p, "w") as f:
                f.write("src %s alpha\n" % e["p"])
        if e["k"] != "l":
            os.chmod(p, e["mode"])
    # the archive, written with fixed metadata
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        made = set()
        files = []
        for e in ents["tar"]:
            parts = e["p"].split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in made:
                    made.add(d)
                    ti = tarfile.TarInfo(d)
                    ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 1200000000
                    tf.addfile(ti)
            if e["p"] in made:
                continue
            made.add(e["p"])
            ti = tarfile.TarInfo(e["p"])
            ti.mtime, ti.mode, ti.uid, ti.gid = e["mt"] // 10**9, e["mode"], e["uid"], e["uid"]
            k = e["k"]
            if k == "h" and not files:
                k = "f"
            if k == "f":
                data = ("tar %s %d alpha\n" % (e["p"], e["salt"])).encode()
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
                files.append(e["p"])
            elif k == "d":
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            elif k == "l":
                ti.type, ti.linkname = tarfile.SYMTYPE, "a"
                tf.addfile(ti)
            else:
                ti.type, ti.linkname = tarfile.LNKTYPE, files[0]
                tf.addfile(ti)
    with open(os.path.join(I, "t.tar"), "wb") as f:
        f.write(buf.getvalue())
    for root, ds, fs in os.walk(I):
        for n in ds + fs + [""]:
            p = os.path.join(root, n) if n else root
            if spec["mode"] == "user":
                os.chown(p, TEST_UID, TEST_UID, follow_symlinks=False)
            os.utime(p, ns=(1150000000 * 10**9, 1150000000 * 10**9), follow_symlinks=False)


def force_rmtree(p):
    if not os.path.lexists(p):
        return
    if os.path.islink(p) or not os.path.isdir(p):
        os.unlink(p)
        return
    subprocess.run(["chattr", "-R", "-i", p], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    for root, ds, fs in os.walk(p):
        for d in ds:
            q = os.path.join(root, d)
            try:
                if not os.path.islink(q):
                    os.chmod(q, 0o755)
            except OSError:
                pass
    shutil.rmtree(p, ignore_errors=True)


# ======================================================================== running
def snapshot(paths, atime=False, ctime=True):
    """Manifest of real directories (the harness's ovltool hash), plus regular-file atimes."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        ovltool.cmd_hash(([] if ctime else ["--no-ctime"]) + [p for p in paths if os.path.exists(p)])
    out = buf.getvalue()
    if atime:
        lines = []
        for p in paths:
            for root, ds, fs in os.walk(p):
                for n in fs:
                    f = os.path.join(root, n)
                    st = os.lstat(f)
                    if stat.S_ISREG(st.st_mode):
                        lines.append("%s a%d" % (f, st.st_atime_ns))
        return out, "\n".join(sorted(lines))
    return out


def user_cmd(argv):
    return ["setpriv", "--reuid=%d" % TEST_UID, "--regid=%d" % TEST_UID, "--clear-groups",
            "--inh-caps=-all", "--"] + argv


class Case:
    """One seed in one mode: its spec, ops, scratch dir and the two runs."""

    def __init__(self, seed, mode, nops, root, only_ops=None, only_entries=None, keep=False, interop=True):
        self.seed, self.mode, self.nops = seed, mode, nops
        self.spec = gen_layers(seed, mode)
        self.all_ops = gen_ops(self.spec, nops)
        self.only_ops = only_ops
        self.only_entries = only_entries
        self.root = root
        self.keep = keep
        self.interop = interop
        self.dir = None
        self.stopped = None

    def ops(self):
        out = []
        for i, o in enumerate(self.all_ops):
            if self.only_ops is not None and i not in self.only_ops:
                continue
            o = dict(o)
            o["_i"] = i
            out.append(o)
        return out

    def setup(self):
        """Scratch layout, the same names during both runs (so that a path that climbs out of
        MERGED sees the same things on both sides):
            CASE/L/{l1..ln,u,w}  the layers of the run in progress (the kernel's are moved to
                                 CASE.k afterwards)
            CASE/p/q/r/s/m       MERGED;  CASE/p/q/r/s/out  symlink targets outside MERGED
            CASE/p/q/r/s/in      inputs (cp -a source, the tar archive)
        CASE is WRAP/c, inside a directory of its own (WRAP) under the run's scratch root.
            CASE/job.json CASE/res.jsonl CASE/ovl.conf"""
        self.wrap = tempfile.mkdtemp(prefix="%s-%d." % (self.mode, self.seed), dir=self.root)
        os.chmod(self.wrap, 0o755)
        self.dir = os.path.join(self.wrap, "c")
        os.mkdir(self.dir, 0o755)
        if self.mode == "user":
            os.chown(self.wrap, TEST_UID, TEST_UID)
        q = os.path.join(self.dir, "p", "q", "r", "s")
        self.ctx = {"M": os.path.join(q, "m"), "O": os.path.join(q, "out"), "I": os.path.join(q, "in")}

    def fresh_surroundings(self):
        """Before each run: CASE holds only what the run needs, and CASE/p (MERGED's ancestors,
        the inputs and the outside targets) is rebuilt, so what one run wrote outside MERGED
        cannot be seen by the next."""
        for d in (self.wrap, self.dir):  # an op may have changed them from inside MERGED
            os.chmod(d, 0o755)
            os.chown(d, *((TEST_UID, TEST_UID) if self.mode == "user" else (0, 0)))
            for n in os.listxattr(d):
                if n.startswith("user."):
                    os.removexattr(d, n)
        for n in os.listdir(self.wrap):
            if n != "c":
                force_rmtree(os.path.join(self.wrap, n))
        for n in os.listdir(self.dir):
            if n not in ("L",):
                force_rmtree(os.path.join(self.dir, n))
        q = os.path.dirname(self.ctx["M"])
        os.makedirs(self.ctx["M"])
        build_inputs(self.ctx, self.spec)
        build_outside(self.ctx, self.spec)
        p = q
        while True:
            os.utime(p, ns=(1180000000 * 10**9, 1180000000 * 10**9))
            if self.mode == "user":
                os.chown(p, TEST_UID, TEST_UID)
            if p == self.dir:
                break
            p = os.path.dirname(p)
        os.utime(self.ctx["M"], ns=(1180000000 * 10**9, 1180000000 * 10**9))
        if self.mode == "user":
            os.chown(self.ctx["M"], TEST_UID, TEST_UID)

    def outside_state(self):
        """What a run left outside MERGED: the outside targets in full, and the names around."""
        names = []
        d = os.path.dirname(self.ctx["M"])
        dirs = []
        while d != os.path.dirname(self.wrap):
            dirs.append(d)
            d = os.path.dirname(d)
        for d in dirs:
            try:
                names.append("%s: %s" % (os.path.relpath(d, self.dir), sorted(os.listdir(d))))
            except OSError as e:
                names.append("%s: %s" % (d, e))
        snap = snapshot([self.ctx["O"]], ctime=False).replace(self.dir, "CASE")
        t0 = self.run_start
        snap = re.sub(r" m(\d+) ", lambda m: " m%s " % (m.group(1) if int(m.group(1)) < t0 else "new"), snap)
        return "\n".join(names) + "\n" + snap

    def cleanup(self):
        if self.dir and not self.keep:
            subprocess.run(["umount", "-l", self.ctx["M"]], stderr=subprocess.DEVNULL)
            for p in (self.wrap, self.wrap + ".k", self.wrap + ".i"):
                force_rmtree(p)

    def job(self, side, ops, dump=True, t0=None):
        j = {"merged": self.ctx["M"], "side": side, "dump": dump, "umask": self.spec["umask"],
             "ops": [self.subst_op(o) for o in ops], "checkpoint": CHECKPOINT,
             "guard": os.path.dirname(self.ctx["M"])}
        if t0:
            j["t0"] = t0  # the interop dump classifies mtimes against the shim run's start
        if self.mode == "user":
            if side == "shim":
                j.update(self_uid=TEST_UID, self_gid=TEST_UID)
            else:
                # the oracle's workload runs as the user in its nested namespace (run_exec)
                j.update(self_uid=TEST_UID, self_gid=TEST_UID)
        name = os.path.join(self.dir, "job.json")
        with open(name, "w") as f:
            json.dump(j, f)
        if self.mode == "user":
            os.chown(name, TEST_UID, TEST_UID)
        return name

    def subst_op(self, o):
        o = dict(o)
        for k in ("a", "b", "target"):
            if k in o:
                o[k] = subst(o[k], self.ctx)
        if "argv" in o:
            o["argv"] = [subst(x, self.ctx) for x in o["argv"]]
        return o

    def env(self, shim_conf=None):
        e = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "LC_ALL": "C", "TZ": "UTC", "HOME": self.dir}
        if shim_conf:
            e["LD_PRELOAD"] = LIBSO
            e["OVL_CONF"] = shim_conf
        return e

    def run_exec(self, side, job, res, mount_opts=None, shim_conf=None):
        """Runs the executor; returns (records, stderr tail, returncode)."""
        if self.mode == "root":
            if mount_opts:
                r = subprocess.run(["mount", "-t", "overlay", "ovldiff", "-o", mount_opts, self.ctx["M"]],
                                   capture_output=True, text=True)
                if r.returncode:
                    raise RuntimeError("oracle mount refused: %s (%s)" % (r.stderr.strip(), mount_opts))
            argv = [PY, EXECUTOR, job, res]
        else:
            if mount_opts:
                # The mounter is the root of the user's namespace (its copy-ups may set a
                # security.capability, which needs the namespace's root mapped); the workload
                # runs in a nested namespace that maps the user to itself, so its euid is the
                # user's on both sides (as the namespace's root without capabilities, cp
                # skipped its u+rw step before copying xattrs into a read-only copy, and tar
                # chowned what it extracted). --keep-caps carries the nested namespace's
                # capabilities into setpriv, which drops them all, the bounding set too.
                sh = ('mount -t overlay ovldiff -o "$1" "$2" || exit 97; '
                      'exec unshare --map-user="$7" --map-group="$7" --keep-caps -- '
                      'setpriv --bounding-set=-all --inh-caps=-all --ambient-caps=-all -- '
                      '"$3" "$4" "$5" "$6"')
                argv = user_cmd(["unshare", "-Urm", "/bin/sh", "-c", sh, "sh", mount_opts, self.ctx["M"],
                                 PY, EXECUTOR, job, res, str(TEST_UID)])
            else:
                argv = user_cmd([PY, EXECUTOR, job, res])
        open(res, "w").close()
        if self.mode == "user":
            os.chown(res, TEST_UID, TEST_UID)
        try:
            p = subprocess.run(argv, env=self.env(shim_conf), capture_output=True, timeout=TIMEOUT, cwd="/")
            rc, err = p.returncode, p.stderr.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as e:
            rc, err = "timeout", (e.stderr or b"").decode("utf-8", "replace")
        finally:
            if self.mode == "root" and mount_opts:
                r = subprocess.run(["umount", self.ctx["M"]], capture_output=True)
                if r.returncode:
                    subprocess.run(["umount", "-l", self.ctx["M"]], capture_output=True)
        if self.mode == "user" and mount_opts and rc == 97:
            raise RuntimeError("oracle mount refused in the user namespace: %s (%s)" % (err.strip(), mount_opts))
        recs = []
        with open(res) as f:
            for line in f:
                try:
                    recs.append(json.loads(line))
                except ValueError:
                    break
        return recs, err[-3000:], rc

    def lowers(self, top):
        return ":".join(os.path.join(top, "l%d" % L) for L in range(1, self.spec["nlow"] + 1))

    def kernel_lowers(self, top):
        lw = self.lowers(top)
        if self.spec["ro"] and self.spec["nlow"] == 1:
            # N-RO1: the kernel needs two lowers without an upper; an empty one changes nothing
            extra = os.path.join(top, "l_empty")
            os.mkdir(extra)
            if self.mode == "user":
                os.chown(extra, TEST_UID, TEST_UID)
            lw += ":" + extra
        return lw

    def opts(self):
        return PINNED_USER if self.mode == "user" else PINNED_ROOT

    def shim_lowers(self, top):
        """The lowers as the shim's config names them: sometimes by another name (a symlink to
        the layer, or a path through `..`), so that "lowers unchanged" also covers a lower
        reached under another name (issue 5 item 2). The kernel gets the plain paths."""
        rng = random.Random("%d-names-%s" % (self.seed, self.mode))
        out = []
        for L in range(1, self.spec["nlow"] + 1):
            p = os.path.join(top, "l%d" % L)
            r = rng.random()
            if r < 0.2:
                alias = os.path.join(self.dir, "alias%d" % L)
                if not os.path.lexists(alias):
                    os.symlink(p, alias)
                p = alias
            elif r < 0.4:
                p = os.path.join(top, "w" if not self.spec["ro"] else "l%d" % L, "..", "l%d" % L)
            out.append(p)
        return ":".join(out)

    def write_conf(self, top):
        conf = os.path.join(self.dir, "ovl.conf")
        line = "%s lowerdir=%s" % (self.ctx["M"], self.shim_lowers(top))
        if not self.spec["ro"]:
            line += ",upperdir=%s/u,workdir=%s/w" % (top, top)
        line += "," + self.opts()
        with open(conf, "w") as f:
            f.write(line + "\n")
        return conf

    def run(self, want_interop=None):
        """Runs both sides; returns a Diff or None."""
        interop = self.interop if want_interop is None else want_interop
        ops = self.ops()
        ctx = self.ctx
        top = os.path.join(self.dir, "L")
        res = os.path.join(self.dir, "res.jsonl")
        # ---- kernel (oracle)
        self.fresh_surroundings()
        build_layers(self.spec, top, ctx, self.only_entries)
        self.write_conf(top)
        mo = "lowerdir=" + self.kernel_lowers(top)
        if not self.spec["ro"]:
            mo += ",upperdir=%s/u,workdir=%s/w" % (top, top)
        mo += "," + self.opts()
        self.run_start = time.time_ns() - 10**9
        krecs, kerr, krc = self.run_exec("kernel", self.job("kernel", ops), res, mount_opts=mo)
        kout = self.outside_state()
        if not krecs or "end" not in krecs[-1]:
            raise RuntimeError("the oracle run did not finish (rc %s): %s" % (krc, kerr.strip()[-800:]))
        os.rename(top, self.wrap + ".k")
        # ---- shim
        self.fresh_surroundings()
        build_layers(self.spec, top, ctx, self.only_entries)
        conf = self.write_conf(top)
        lowers = [os.path.join(top, "l%d" % L) for L in range(1, self.spec["nlow"] + 1)]
        guarded = lowers + [ctx["I"], ctx["M"]]
        before, abefore = snapshot(guarded), snapshot(lowers, atime=True)[1]
        self.run_start = time.time_ns() - 10**9
        if SELFTEST:
            # the harness's self-test: a second kernel mount stands in for the shim, so every
            # comparison must pass (the shim's own layers, upper and work dir are used)
            mo = "lowerdir=" + self.kernel_lowers(top)
            if not self.spec["ro"]:
                mo += ",upperdir=%s/u,workdir=%s/w" % (top, top)
            mo += "," + self.opts()
            srecs, serr, src = self.run_exec("kernel", self.job("kernel", ops), res, mount_opts=mo)
        else:
            srecs, serr, src = self.run_exec("shim", self.job("shim", ops), res, shim_conf=conf)
        after, aafter = snapshot(guarded), snapshot(lowers, atime=True)[1]
        sout = self.outside_state()
        self.stopped = None
        d = compare(self, ops, krecs, srecs, serr, src)
        if d:
            return d
        if before != after:
            return Diff("lowers", None, ("lowers",), "the shim changed a lower layer, the inputs or MERGED's own "
                        "directory (DESIGN.md principle 4: lower layers are never written):\n" +
                        udiff(before, after, "before", "after"))
        if abefore != aafter and CHECK_ATIME:
            return Diff("lowers-atime", None, ("lowers-atime",), "the shim changed the atime of lower files "
                        "(SEMANTICS rule 64: lower atime is never updated):\n" +
                        udiff(abefore, aafter, "before", "after"))
        if kout != sout and not self.stopped:
            return Diff("outside", None, ("outside",), "what the runs left outside MERGED differs:\n" +
                        udiff(kout, sout, "kernel", "shim"))
        # ---- the kernel mounts (a copy of) the shim's upper
        if interop and not self.spec["ro"]:
            it = self.wrap + ".i"
            os.mkdir(it)
            subprocess.run(["cp", "-a", os.path.join(top, "u"), os.path.join(it, "u")], check=True)
            os.mkdir(os.path.join(it, "w"))
            if self.mode == "user":
                os.chown(it, TEST_UID, TEST_UID)
                os.chown(os.path.join(it, "w"), TEST_UID, TEST_UID)
            mo = "lowerdir=%s,upperdir=%s/u,workdir=%s/w,%s" % (self.lowers(top), it, it, self.opts())
            try:
                irecs, ierr, irc = self.run_exec("interop", self.job("interop", [], True, t0=srecs[0].get("t0")),
                                                 res, mount_opts=mo)
            except RuntimeError as e:
                return Diff("interop", None, ("interop", "mount"), "the kernel refuses the shim's upper: %s" % e)
            sd = dump_of(srecs)
            idump = dump_of(irecs)
            if idump is None:
                return Diff("interop", None, ("interop", "run"), "dump of the kernel mount failed (exit %s): %s"
                            % (irc, ierr.strip()[-1500:]))
            a = intentional.normalise_dump(sd, self.mode, SSIDE)
            b = intentional.normalise_dump(idump, self.mode, "kernel")
            for t in (a, b):  # identity is compared between the runs, not here (N-INO)
                for e in t.values():
                    if isinstance(e, dict):
                        e.pop("ino", None)
            b, a = intentional.unsearchable_leaks(b, a, intentional.marker_paths(self.spec))
            dd = dict_diff(a, b)
            if dd:
                return Diff("interop", None, ("interop", dd[0][1]),
                            "the kernel's mount of the shim's upper shows another tree than the shim showed "
                            "(DESIGN.md: interoperability):\n" + fmt_dict_diff(dd, "shim view", "kernel on shim's upper"))
        return None


def dump_of(recs):
    for r in recs:
        if "dump" in r:
            return r["dump"]
    return None


def udiff(a, b, la, lb):
    import difflib
    return "".join(list(difflib.unified_diff(a.splitlines(True), b.splitlines(True), la, lb))[:40])


class Diff:
    def __init__(self, kind, idx, sig, text):
        self.kind, self.idx, self.sig, self.text = kind, idx, sig, text


def dict_diff(a, b):
    """[(path, field, a, b)] for every path whose entries differ."""
    out = []
    for p in sorted(set(a) | set(b)):
        x, y = a.get(p, "<absent>"), b.get(p, "<absent>")
        if x == y:
            continue
        field = "presence"
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                if x.get(k) != y.get(k):
                    field = k
                    if k == "st" and isinstance(x.get(k), list) and isinstance(y.get(k), list):
                        names = ["type", "mode", "uid", "gid", "size", "nlink", "mtime", "rdev"]
                        for j, (u, v) in enumerate(zip(x[k], y[k])):
                            if u != v:
                                field = "st." + names[j]
                                break
                    break
        elif p == "!leaks":
            field = "leaks"
        out.append((p, field, x, y))
    return out


def fmt_dict_diff(dd, la, lb, limit=8):
    lines = []
    for p, field, x, y in dd[:limit]:
        lines.append("  path %r (%s):\n    %-8s %s\n    %-8s %s" % (p, field, la + ":", json.dumps(x), lb + ":", json.dumps(y)))
    if len(dd) > limit:
        lines.append("  ... %d more paths differ" % (len(dd) - limit))
    return "\n".join(lines)


def describe(o):
    """A readable one-line form of an op."""
    args = []
    for k in ("a", "b"):
        if k in o:
            s = o[k]
            if o.get(k + "d") is not None:
                s = "fd%d:%s" % (o[k + "d"], s)
            args.append(repr(s).replace("'", '"'))
    rest = {k: v for k, v in o.items() if k not in ("op", "a", "b", "ad", "bd", "_i")}
    return "%s(%s)%s" % (o["op"], ", ".join(args), (" " + json.dumps(rest, separators=(",", ":"))) if rest else "")


def compare(case, ops, krecs, srecs, serr, src):
    byk = {r["i"]: r for r in krecs if "i" in r}
    bys = {r["i"]: r for r in srecs if "i" in r}
    for o in ops:
        i = o["_i"]
        k = byk.get(i)
        s = bys.get(i)
        if k is None:
            raise RuntimeError("the oracle has no record of op %d" % i)
        if s is None:
            return Diff("crash", i, ("crash", o["op"]),
                        "the shim run stopped before op #%d %s (exit %s):\n%s" % (i, describe(o), src, serr.strip()[-1500:]))
        k.setdefault("wh_inside", False)
        if intentional.wh_refusal(o, k, s) or intentional.rofifo_refusal(k, s) or \
                (SELFTEST and s.get("wh_undone")):
            kn, sn = intentional.normalise_rec({kk: v for kk, v in k.items() if kk.startswith("st_")}, o, case.mode, "kernel")[0], \
                intentional.normalise_rec({kk: v for kk, v in s.items() if kk.startswith("st_")}, o, case.mode, SSIDE)[0]
        else:
            if k.get("wh_undone"):
                return Diff("op", i, ("op", o["op"], "wh"), "op #%d %s: the kernel created the `.wh.` name, the shim "
                            "did not refuse it with EINVAL (DESIGN.md: a name beginning with .wh. cannot be created "
                            "through MERGED): shim %s" % (i, describe(o), json.dumps(s)))
            kn, _ = intentional.normalise_rec(k, o, case.mode, "kernel")
            sn, _ = intentional.normalise_rec(s, o, case.mode, SSIDE)
            if isinstance(kn.get("out"), str) and isinstance(sn.get("out"), str) and \
                    intentional.leak_lines(kn, sn, case.ctx["M"], intentional.marker_paths(case.spec)) and \
                    kn == sn and intentional.leak_left_undone(o):
                case.stopped = "op #%d %s: N-LEAK (the kernel's tool failed on leaked names and left " \
                               "its work undone)" % (i, describe(o))
                return None
        if kn != sn and LENIENT_ERRNO and str(kn.get("r", "")).startswith("E:") and \
                str(sn.get("r", "")).startswith("E:") and kn.get("r") != sn.get("r"):
            k2, s2 = dict(kn), dict(sn)
            k2.pop("r")
            s2.pop("r")
            if k2 == s2:
                SOFT.append("op #%d %s: kernel %s, shim %s" % (i, describe(o), kn["r"], sn["r"]))
                continue
        if kn == sn and ("tree" in k or "tree" in s):
            a = intentional.normalise_dump(k["tree"], case.mode, "kernel") if "tree" in k else {}
            b = intentional.normalise_dump(s["tree"], case.mode, SSIDE) if "tree" in s else {}
            dd = dict_diff(*intentional.pair_dumps(a, b, case.mode, intentional.marker_paths(case.spec), TEST_UID))
            if dd:
                return Diff("tree", i, ("tree", dd[0][1]), "the merged trees differ after op #%d %s:\n%s"
                            % (i, describe(o), fmt_dict_diff(dd, "kernel", "shim")))
        if intentional.stale_link_mode(o, k, s, case.mode, TEST_UID):
            case.stopped = "op #%d %s: N-LINKMODE (the kernel checked a stale mode of a hard-linked " \
                           "name: its stat shows %s)" % (i, describe(o), k["st_a"][1])
            return None
        if intentional.rename_link_estale(o, k, s, case.mode):
            continue
        if intentional.origin_unknown(o, k, s) or intentional.fifo_fd_copied(o, k, s):
            case.stopped = "op #%d %s: %s (the fd's name no longer names its object)" % (
                i, describe(o), "N-ORIGIN" if s["fst"][0] == "f" else "N-FIFOFD")
            return None
        if intentional.leak_divergence(k, s):
            case.stopped = "op #%d %s: N-LEAK (the kernel's ENOTEMPTY comes from leaked names %s)" % (
                i, describe(o), k["leak_notempty"])
            return None
        if kn != sn:
            field = next((f for f in sorted(set(kn) | set(sn)) if kn.get(f) != sn.get(f)), "?")
            detail = ""
            if field == "r":
                detail = str(kn.get(field))[:40]
            elif isinstance(kn.get(field), list) and isinstance(sn.get(field), list) and field.startswith(("st", "fst")):
                names = ["type", "mode", "uid", "gid", "size", "nlink", "mtime", "rdev"]
                detail = next((names[j] for j, (u, v) in enumerate(zip(kn[field], sn[field])) if u != v), "")
            sig = ("op", o["op"], field, detail)
            text = "op #%d %s\n    kernel: %s\n    shim:   %s" % (i, describe(o), json.dumps(kn, sort_keys=True),
                                                               json.dumps(sn, sort_keys=True))
            if k.get("unsearchable") or s.get("unsearchable"):
                # still a failure, but one of a known kind (README "Limits"): named so for triage
                sig = ("N-SEARCH",) + sig
                text += "\n    (known limitation N-SEARCH: the op starts below a directory without search " \
                        "permission)"
            return Diff("op", i, sig, text)
    if case.stopped:
        return None
    kd, sd = dump_of(krecs), dump_of(srecs)
    if sd is None:
        return Diff("crash", None, ("crash", "dump"), "the shim run did not dump the final tree (exit %s):\n%s"
                    % (src, serr.strip()[-1500:]))
    a = intentional.normalise_dump(kd, case.mode, "kernel")
    b = intentional.normalise_dump(sd, case.mode, SSIDE)
    dd = dict_diff(*intentional.pair_dumps(a, b, case.mode, intentional.marker_paths(case.spec), TEST_UID))
    if dd:
        return Diff("tree", None, ("tree", dd[0][1]), "the final merged trees differ:\n" + fmt_dict_diff(dd, "kernel", "shim"))
    if src != 0:
        return Diff("crash", None, ("crash", "exit"), "the shim run exited with %s:\n%s" % (src, serr.strip()[-1500:]))
    return None


# ======================================================================== shrinking
def try_case(seed, mode, nops, root, only_ops, only_entries, sig, interop):
    c = Case(seed, mode, nops, root, only_ops, only_entries, interop=interop)
    try:
        c.setup()
        d = c.run()
        return d is not None and d.sig == sig, d
    except Exception:
        return False, None
    finally:
        c.cleanup()


def ddmin(items, test, budget):
    """Zeller's ddmin over a list; test(subset) -> True if it still fails the same way."""
    n = 2
    while len(items) >= 2 and budget[0] > 0:
        chunk = max(1, len(items) // n)
        subsets = [items[i:i + chunk] for i in range(0, len(items), chunk)]
        reduced = False
        for sub in subsets:
            comp = [x for x in items if x not in sub]
            if not comp:
                continue
            budget[0] -= 1
            if test(comp):
                items = comp
                n = max(n - 1, 2)
                reduced = True
                break
            if budget[0] <= 0:
                break
        if not reduced:
            if n >= len(items):
                break
            n = min(len(items), n * 2)
    # final pass: try removing single items
    i = 0
    while i < len(items) and budget[0] > 0 and len(items) > 1:
        comp = items[:i] + items[i + 1:]
        budget[0] -= 1
        if test(comp):
            items = comp
        else:
            i += 1
    return items


def shrink(case, diff, root, log, max_trials=400):
    nops = (diff.idx + 1) if diff.idx is not None else case.nops
    ops = list(range(nops))
    if case.only_ops is not None:
        ops = [i for i in ops if i in case.only_ops]
    entries = list(range(len(case.spec["entries"])))
    sig = diff.sig
    interop = diff.kind == "interop"
    budget = [max_trials]
    t0 = time.time()

    def t_ops(sub):
        ok, _ = try_case(case.seed, case.mode, nops, root, set(sub), None, sig, interop)
        return ok

    ops = ddmin(ops, t_ops, budget)
    log("  shrink: %d ops left after %.0fs" % (len(ops), time.time() - t0))

    def t_ents(sub):
        ok, _ = try_case(case.seed, case.mode, nops, root, set(ops), set(sub), sig, interop)
        return ok

    entries = ddmin(entries, t_ents, budget)
    log("  shrink: %d layer entries left after %.0fs" % (len(entries), time.time() - t0))
    ok, d = try_case(case.seed, case.mode, nops, root, set(ops), set(entries), sig, interop)
    return ops, entries, (d if ok else diff)


def repro_cmd(mode, seed, nops, only_ops=None, only_entries=None):
    s = "%s --mode %s --seed %d --ops %d" % (SELF, mode, seed, nops)
    if only_ops is not None:
        s += " --only-ops " + ",".join(map(str, sorted(only_ops)))
    if only_entries is not None:
        s += " --only-entries " + (",".join(map(str, sorted(only_entries))) or "none")
    return s


def show_case(case, only_ops=None, only_entries=None, out=sys.stdout):
    spec = case.spec
    out.write("  stack: %d lower(s)%s, umask %03o, MERGED=$M\n" % (spec["nlow"], " read-only" if spec["ro"] else " + upper",
                                                               spec["umask"]))
    for idx, e in enumerate(spec["entries"]):
        if only_entries is not None and idx not in only_entries:
            continue
        L = "u " if e["L"] == 0 else "l%d" % e["L"]
        attrs = {k: v for k, v in e.items() if k not in ("L", "p", "k", "at")}
        if "mode" in attrs:
            attrs["mode"] = "%o" % attrs["mode"]
        out.write("  [%d] %s %-14r %s %s\n" % (idx, L, e["p"], e["k"], json.dumps(attrs, separators=(",", ":"))))
    for i, o in enumerate(case.all_ops):
        if only_ops is not None and i not in only_ops:
            continue
        out.write("  #%d %s\n" % (i, describe(o)))


# ======================================================================== driver
def run_seed(args_tuple):
    seed, mode, nops, root, keep, interop = args_tuple
    t0 = time.time()
    c = None
    try:
        c = Case(seed, mode, nops, root, keep=keep, interop=interop)
        c.setup()
        d = c.run()
        res = (seed, mode, None if d is None else (d.kind, d.idx, d.sig, d.text), None, time.time() - t0,
               c.stopped)
    except Exception as e:  # harness errors are reported, never hidden
        import traceback
        res = (seed, mode, None, "%s\n%s" % (e, traceback.format_exc()[-1500:]), time.time() - t0, None)
    finally:
        if c:
            c.cleanup()
    return res


def parse_seeds(s):
    out = []
    for part in s.split(","):
        if "-" in part:
            a, b = part.split("-")
            out += list(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["root", "user"], default="root")
    ap.add_argument("--seeds", help="e.g. 1-50 or 3,7,9")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--ops", type=int, default=200)
    ap.add_argument("--only-ops")
    ap.add_argument("--only-entries")
    ap.add_argument("--jobs", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    ap.add_argument("--shrink", type=int, default=3, help="shrink the first N failing seeds (0: none)")
    ap.add_argument("--shrink-trials", type=int, default=300)
    ap.add_argument("--no-interop", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--show", action="store_true", help="print the layers and the ops, then run")
    ap.add_argument("--tap-like", action="store_true", help="one PASS/FAIL line per seed")
    ap.add_argument("--self-test", action="store_true",
                    help="harness self-test: a second kernel mount stands in for the shim; all must pass")
    ap.add_argument("--lenient-errno", action="store_true",
                    help="triage only: do not stop at an op that failed on both sides with different errnos")
    ap.add_argument("--max-fail", type=int, default=0, help="stop after N failing seeds (0: never)")
    args = ap.parse_args()

    global LENIENT_ERRNO, SELFTEST, SSIDE
    LENIENT_ERRNO = args.lenient_errno
    if args.self_test:
        os.environ["OVL_DIFF_SELFTEST"] = "1"  # for the worker processes too
        SELFTEST, SSIDE = True, "kernel"
    if os.geteuid() != 0:
        print("difftest: needs root (kernel overlay mounts; the user mode drops to uid %d itself)" % TEST_UID)
        return 2
    if not os.path.exists(LIBSO):
        print("difftest: %s not built" % LIBSO)
        return 2
    base = os.environ.get("OVL_DIFF_TMP") or tempfile.gettempdir()
    root = tempfile.mkdtemp(prefix="ovldiff.", dir=base)
    os.chmod(root, 0o755)
    log = lambda s: (print(s), sys.stdout.flush())  # noqa: E731
    try:
        if args.seed is not None:
            return single(args, root, log)
        seeds = parse_seeds(args.seeds or "1-10")
        return many(args, seeds, root, log)
    finally:
        # a worker killed mid-run (^C, a harness error) may leave its oracle mounted
        try:
            with open("/proc/self/mounts") as f:
                for line in f:
                    mp = line.split()[1].replace("\\040", " ")
                    if mp.startswith(root + "/"):
                        subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)
        except OSError:
            pass
        if not args.keep:
            force_rmtree(root)
        else:
            print("# kept scratch dir: %s" % root)


def single(args, root, log):
    only_ops = set(map(int, args.only_ops.split(","))) if args.only_ops else None
    only_entries = None
    if args.only_entries:
        only_entries = set() if args.only_entries == "none" else set(map(int, args.only_entries.split(",")))
    c = Case(args.seed, args.mode, args.ops, root, only_ops, only_entries, keep=args.keep,
             interop=not args.no_interop)
    if args.show:
        show_case(c, only_ops, only_entries)
    try:
        c.setup()
        d = c.run()
    finally:
        c.cleanup()
    if d is None:
        log("PASS difftest/%s/seed %d (%d ops)" % (args.mode, args.seed, args.ops))
        return 0
    log("FAIL difftest/%s/seed %d: %s" % (args.mode, args.seed, d.text))
    if args.keep:
        log("  scratch: %s" % c.dir)
    return 1


def many(args, seeds, root, log):
    t0 = time.time()
    work = [(s, args.mode, args.ops, root, args.keep, not args.no_interop) for s in seeds]
    fails, errors, npass, parted = [], [], 0, {}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    pool = multiprocessing.Pool(args.jobs) if args.jobs > 1 else None
    it = pool.imap(run_seed, work) if pool else map(run_seed, work)
    try:
        for seed, mode, d, err, dt, stopped in it:
            if err:
                errors.append(seed)
                log("FAIL difftest/%s/seed %d: harness error: %s" % (mode, seed, err.rstrip().replace("\n", "\n  ")))
            elif d is None:
                npass += 1
                if stopped:  # passed up to a documented parting (INTENTIONAL.md): counted, named
                    parted.setdefault(re.search(r"N-[A-Z]+", stopped).group(0), []).append(seed)
                if args.tap_like:
                    log("PASS difftest/%s/seed %d (%.1fs)%s" % (mode, seed, dt, ": stopped at " + stopped if stopped else ""))
            else:
                kind, idx, sig, text = d
                nops = idx + 1 if idx is not None else args.ops
                fails.append((seed, d))
                log("FAIL difftest/%s/seed %d: %s\n  reproduce: %s" % (mode, seed, text.replace("\n", "\n  "),
                                                                      repro_cmd(mode, seed, nops)))
            if args.max_fail and len(fails) >= args.max_fail:
                break
    finally:
        if pool:
            pool.terminate()
            pool.join()
    elapsed = time.time() - t0
    # shrink the first failures, one per distinct signature
    done_sigs = set()
    shrunk = 0
    for seed, (kind, idx, sig, text) in fails:
        if shrunk >= args.shrink or sig in done_sigs:
            continue
        done_sigs.add(sig)
        shrunk += 1
        c = Case(seed, args.mode, args.ops, root)
        log("shrinking difftest/%s/seed %d (%s) ..." % (args.mode, seed, " ".join(map(str, sig))))
        ops, ents, d2 = shrink(c, Diff(kind, idx, sig, text), root, log, args.shrink_trials)
        nops = idx + 1 if idx is not None else args.ops
        log("  minimal: %s" % repro_cmd(args.mode, seed, nops, ops, ents))
        buf = io.StringIO()
        show_case(c, set(ops), set(ents), buf)
        log(buf.getvalue().rstrip("\n"))
        log("  difference: " + d2.text.replace("\n", "\n  "))
    sigs = {}
    for seed, d in fails:
        sigs.setdefault(d[2], []).append(seed)
    nsearch = sum(1 for _, d in fails if d[2][0] == "N-SEARCH")
    log("difftest/%s: %d seeds x %d ops: %d passed, %d failed (%d of them N-SEARCH), %d harness errors in %.0fs"
        % (args.mode, len(seeds), args.ops, npass, len(fails), nsearch, len(errors), elapsed))
    for rule, ss in sorted(parted.items()):
        log("  passed up to a parting, %-10s %4d seeds: %s" % (rule, len(ss), ",".join(map(str, ss[:12])) + (" ..." if len(ss) > 12 else "")))
    for sig, ss in sorted(sigs.items(), key=lambda x: -len(x[1])):
        log("  %-60s seeds %s" % (" ".join(map(str, sig))[:60], ",".join(map(str, ss[:12])) + (" ..." if len(ss) > 12 else "")))
    return 1 if fails or errors else 0


if __name__ == "__main__":
    sys.exit(main())
