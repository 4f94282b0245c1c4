#!/usr/bin/env python3
"""fault_judge: layers and judgement for t_faults.sh (see helpers/faultops.c for the operations).

  fault_judge.py setup FX NPROC N SIZE [oci]
      builds FX/l1 (lower) and FX/u (upper, pre-seeded), FX/w must exist. Idempotent for u:
      FX/u is emptied and seeded again (the lower is written only if missing).
  fault_judge.py view MERGED NPROC N SIZE
      (run through the overlay) prints, per process, "pP prefix K" where K (0..7N) is the
      number of operations whose effects the view shows, if the view is exactly the state
      that the first K operations give (K = 0..7N); otherwise "pP TORN: reason". Also flags any name
      that no prefix state has (leaked temporaries or markers).
  fault_judge.py upper FX NPROC N SIZE
      (real upper) every regular file of the process trees is complete: the original
      content of its lower file, or that plus "x\\n"; prints "upper ok" or what is partial.
"""
import hashlib
import os
import stat
import sys

OPS = "ABCDEFG"


def content(p, j, kind, size):
    head = ("%s p%d j%d\n" % (kind, p, j)).encode()
    body = (b"0123456789abcdef" * (size // 16 + 1))[: max(0, size - len(head))]
    return head + body


def sha(b):
    return hashlib.sha256(b).hexdigest()


def mkwhiteout(path, oci):
    if oci:
        d, n = os.path.split(path)
        open(os.path.join(d, ".wh." + n), "w").close()
    else:
        os.mknod(path, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def setup(fx, nproc, n, size, oci):
    l1, u = os.path.join(fx, "l1"), os.path.join(fx, "u")
    if not os.path.isdir(os.path.join(l1, "job")):
        for p in range(nproc):
            jd = os.path.join(l1, "job", "p%d" % p)
            pd = os.path.join(l1, "pre", "p%d" % p)
            os.makedirs(jd)
            os.makedirs(pd)
            for j in range(n):
                with open(os.path.join(jd, "f%d" % j), "wb") as f:
                    f.write(content(p, j, "f", size))
                with open(os.path.join(jd, "h%d" % j), "wb") as f:
                    f.write(content(p, j, "h", size))
                os.mkdir(os.path.join(jd, "d%d" % j))
                os.mkdir(os.path.join(pd, "e%d" % j))
                with open(os.path.join(pd, "e%d" % j, "x"), "w") as f:
                    f.write("hidden by the upper's whiteout\n")
                with open(os.path.join(pd, "c%d" % j), "wb") as f:
                    f.write(content(p, j, "c", 64))
    os.system("rm -rf '%s'/* '%s'/.[!.]* 2>/dev/null" % (u, u))
    for p in range(nproc):
        pd = os.path.join(u, "pre", "p%d" % p)
        os.makedirs(pd)
        for j in range(n):
            e = os.path.join(pd, "e%d" % j)
            os.mkdir(e)
            mkwhiteout(os.path.join(e, "x"), oci)
            ud = os.path.join(pd, "u%d" % j)
            os.mkdir(ud)
            with open(os.path.join(ud, "in"), "w") as f:
                f.write("u%d\n" % j)
            with open(os.path.join(pd, "c%d" % j), "wb") as f:
                f.write(content(p, j, "c", 64) + b"upper\n")


def lsdir(d):
    try:
        return set(os.listdir(d))
    except OSError as e:
        return e


def view(m, nproc, n, size):
    bad = False
    for p in range(nproc):
        jd = os.path.join(m, "job", "p%d" % p)
        pd = os.path.join(m, "pre", "p%d" % p)
        jl, pl = lsdir(jd), lsdir(pd)
        if isinstance(jl, OSError) or isinstance(pl, OSError):
            print("p%d TORN: cannot list: %s %s" % (p, jl, pl))
            bad = True
            continue
        done, why = [], []
        known_j, known_p = set(), set()

        for j in range(n):
            f, g, d, h, k = ("%s%d" % (c, j) for c in "fgdhk")
            e, u, v, c = ("%s%d" % (x, j) for x in "euvc")
            known_j.update((f, g, d, h, k))
            known_p.update((e, u, v, c))
            # A and B: f<j> -> g<j>, content orig or orig+x
            hf, hg = f in jl, g in jl
            orig = content(p, j, "f", size)
            if hf == hg:
                why.append("%s and %s both %s" % (f, g, "present" if hf else "absent"))
                a_done = b_done = False
            else:
                cur = os.path.join(jd, f if hf else g)
                try:
                    with open(cur, "rb") as fh:
                        data = fh.read()
                except OSError as ex:
                    data = None
                    why.append("%s: %s" % (cur, ex))
                if data == orig:
                    a_done = False
                elif data == orig + b"x\n":
                    a_done = True
                else:
                    a_done = False
                    if data is not None:
                        why.append("%s: partial content (%d bytes)" % (f if hf else g, len(data)))
                b_done = hg
            # C: d<j> gone
            c_done = d not in jl
            if not c_done and not os.path.isdir(os.path.join(jd, d)):
                why.append("%s is not a directory" % d)
            # D: e<j> gone; while present it must be empty (its x stays hidden)
            d_done = e not in pl
            if not d_done:
                inner = lsdir(os.path.join(pd, e))
                if inner != set():
                    why.append("%s shows %s" % (e, inner))
            # E: h<j> -> k<j>, content orig
            hh, hk = h in jl, k in jl
            if hh == hk:
                why.append("%s and %s both %s" % (h, k, "present" if hh else "absent"))
            else:
                try:
                    with open(os.path.join(jd, h if hh else k), "rb") as fh:
                        if fh.read() != content(p, j, "h", size):
                            why.append("%s: wrong content" % (h if hh else k))
                except OSError as ex:
                    why.append("%s: %s" % (h if hh else k, ex))
            e_done = hk
            # F: u<j> -> v<j>, with its file
            hu, hv = u in pl, v in pl
            if hu == hv:
                why.append("%s and %s both %s" % (u, v, "present" if hu else "absent"))
            else:
                inner = lsdir(os.path.join(pd, u if hu else v))
                if inner != {"in"}:
                    why.append("%s holds %s" % (u if hu else v, inner))
            f_done = hv
            # G: c<j> (the upper's copy over a lower one) gone; while present, the upper's
            g_done = c not in pl
            if not g_done:
                try:
                    with open(os.path.join(pd, c), "rb") as fh:
                        if fh.read() != content(p, j, "c", 64) + b"upper\n":
                            why.append("%s: not the upper's content" % c)
                except OSError as ex:
                    why.append("%s: %s" % (c, ex))
            done += [a_done, b_done, c_done, d_done, e_done, f_done, g_done]
        extra = sorted((jl - known_j)) + sorted(("pre/" + x) for x in (pl - known_p))
        if extra:
            why.append("unexpected names: %s" % " ".join(extra))
        k = 0
        while k < len(done) and done[k]:
            k += 1
        if any(done[k:]):
            later = [("%s%d" % (OPS[i % 7], i // 7)) for i in range(k, len(done)) if done[i]]
            why.append("not a prefix: first %d done, then also %s" % (k, " ".join(later)))
        if why:
            bad = True
            print("p%d TORN: %s" % (p, "; ".join(why)))
        else:
            print("p%d prefix %d" % (p, k))
    return 1 if bad else 0


def upper(fx, nproc, n, size):
    u = os.path.join(fx, "u")
    good = set()
    for p in range(nproc):
        for j in range(n):
            for kind in "fh":
                c = content(p, j, kind, size)
                good.add(sha(c))
                good.add(sha(c + b"x\n"))
            good.add(sha(("u%d\n" % j).encode()))
            good.add(sha(content(p, j, "c", 64) + b"upper\n"))
    bad = []
    for root, dirs, files in os.walk(os.path.join(u)):
        for fn in files:
            fp = os.path.join(root, fn)
            st = os.lstat(fp)
            if not stat.S_ISREG(st.st_mode) or (st.st_size == 0 and fn.startswith(".wh.")):
                continue  # whiteouts (chardev or empty .wh. files)
            with open(fp, "rb") as fh:
                if sha(fh.read()) not in good:
                    bad.append("%s (%d bytes)" % (os.path.relpath(fp, u), st.st_size))
    if bad:
        print("upper partial: " + ", ".join(sorted(bad)))
        return 1
    print("upper ok")
    return 0


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    if cmd == "setup":
        setup(a[0], int(a[1]), int(a[2]), int(a[3]), len(a) > 4 and a[4] == "oci")
        return 0
    if cmd == "view":
        return view(a[0], int(a[1]), int(a[2]), int(a[3]))
    if cmd == "upper":
        return upper(a[0], int(a[1]), int(a[2]), int(a[3]))
    print("unknown command", cmd)
    return 2


sys.exit(main())
