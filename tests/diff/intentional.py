"""The intentional differences between ovlshim and the kernel overlay, as code.

This module is the one place where the differential tester (tests/diff) forgives a difference.
Every rule here has an id that is listed, with its reason, in tests/diff/INTENTIONAL.md; nothing
else in tests/diff normalises results. Some rules act at record time (the executor calls them,
or does not record a field at all: named in the docstrings below), the rest when the two sides'
records are compared (normalise_rec, normalise_dump, wh_refusal).

  N-INO       inode and device numbers: values never recorded; the dump compares st_ino
              equivalence classes of non-directories, and each side checks d_ino == st_ino and
              fstat == stat on its own (executor.py dump/listing/content)
  N-ORDER     readdir order: listings are sorted (executor.py listing)
  N-WH        `.wh.*` names are refused by the shim with EINVAL; the kernel creates them (also
              through a symlink: an O_CREAT open of a link to `.wh.x`). The kernel side removes
              what it created (after_op) so both go on from one state.
  N-LEAK      markers the kernel leaks into readdir (xattr whiteouts in an upper or a bottom
              layer or without the parent's "x" marker, whiteouts in non-merged or opaque
              directories): names listed by the kernel whose lstat gives ENOENT are dropped
              from the kernel's listings; the shim must list none. Behind EACCES (a directory
              without search permission) only names at the generator's marker paths are
              dropped (unsearchable_leaks)
  N-OVLNS     both overlay xattr namespaces are the shim's own: in root mode the kernel shows
              user.overlay.* as ordinary xattrs, the shim hides and escapes them; results of
              xattr calls naming user.overlay.* are not compared there and the names are
              dropped from listings and dumps (in user mode trusted.* is out of reach for both)
  N-RO1       a read-only overlay with one lower: the kernel needs two, so the oracle gets an
              extra empty lower (difftest.py kernel_lowers)
  N-XATTRDROP xattrs the user may not set are dropped at copy-up by the shim (user mode:
              security.capability): not compared on copied-up files in user mode
  N-DIRMETA   directory st_nlink and st_size: not recorded (executor.py strec)
  N-DIRTIME   timestamps of directories: not compared (normalise_st)
  N-LINKMODE  (user mode) the kernel checks permission on the mode its overlay inode cached
              for one name of a hard-linked upper file; a chmod through another name (another
              overlay inode for the same upper inode) leaves it stale, while the kernel's own
              stat shows the new mode. Where the kernel's answer contradicts the mode its stat
              shows and the shim's follows it, the op is forgiven and the states part
              (stale_link_mode); in dumps, such a data read is not compared (pair_dumps).
              The same split gives each name of a hard-linked fifo its own pipe: a
              non-blocking writer on one name meets no reader opened on the other (ENXIO),
              and a rename between its two names is ESTALE (rename_link_estale)
  N-ORIGIN    no origin records: an fd on a lower file whose name holds a new upper file of
              the same type takes it for its own copy-up (origin_unknown)
  N-FIFOFD    a lower fifo is copied up when opened: a change through its fd after its name
              is gone reaches the copy, where the kernel's copy-up fails (fifo_fd_copied)
  N-UNREAD    (user mode) copy-up of a lower object the user cannot read: the kernel copies
              with the mounter's capabilities inside its user namespace, the shim has only the
              user's rights; the generator gives lower objects owner read (files) and owner
              read+search (dirs) in user mode (difftest.py gen_mode)
"""
import os
import re
import stat

OVL_USER_NS = "user.overlay."


# ---------------------------------------------------------------- N-WH (runtime part)
WH_CREATORS = ("open", "mkdir", "symlink", "mkfifo", "mknod", "writefile", "link", "rename")


def wh_key(o):
    """Which of the op's names is the one it creates."""
    return "b" if o.get("op") in ("link", "rename") else "a"


def wh_target(o):
    """The `.wh.` name an op would create, or None."""
    if o.get("op") not in WH_CREATORS:
        return None
    if o["op"] == "open" and "CREAT" not in o.get("flags", []):
        return None
    base = os.path.basename(o[wh_key(o)].rstrip("/"))
    return base if base.startswith(".wh.") else None


def wh_link_target(ex, o):
    """The `.wh.` name an O_CREAT open or a writefile would create through a symlink (its last
    component a link whose target, resolved, ends in a `.wh.` name), as an absolute path of the
    kernel side, or None. The shim refuses it with EINVAL like a `.wh.` name given directly."""
    if o.get("op") == "open":
        fl = o.get("flags", [])
        if "CREAT" not in fl or "EXCL" in fl or "NOFOLLOW" in fl or "DIRECTORY" in fl:
            return None
    elif o.get("op") != "writefile":
        return None
    if wh_target(o):
        return None
    d = ex.dfd(o.get(wh_key(o) + "d"))
    p = o[wh_key(o)]
    try:
        if p.endswith("/") or not stat.S_ISLNK(os.lstat(p, dir_fd=d).st_mode):
            return None
        base = "/proc/self/fd/%d" % d if d is not None else os.getcwd()
    except OSError:
        return None
    real = os.path.realpath(os.path.join(base, p))
    return real if os.path.basename(real).startswith(".wh.") else None


def after_op(ex, o, rec):
    """Called by the executor after every op. On the kernel side, an object the kernel created
    under a `.wh.` name is removed again (N-WH), so both sides continue from the same state;
    an ENOTEMPTY the kernel gives only because of names it leaks is marked (N-LEAK)."""
    if ex.side != "kernel":
        return
    if o["op"] == "cmd" and rec.get("rc") and isinstance(rec.get("out"), str):
        # `rm -rf` meets the same refusal, in its own words
        for dpath in re.findall(r"cannot remove '([^']+)': Directory not empty", rec["out"]):
            try:
                lst = ex.listing(dpath, dpath, None)
                if not lst["ents"]:
                    rec["leak_notempty"] = lst["leaks"] or ["(unlisted)"]
            except OSError:
                pass
    if rofifo_open(ex, o, rec):
        ex.close_slot(o["s"])  # N-ROFIFO: the shim refuses it; both go on without the fd
        rec["rofifo_undone"] = True
    if rofifo_write(ex, o, rec):
        rec["rofifo_undone"] = True
    if rec.get("r") == "E:ENOTEMPTY" and o["op"] in ("rmdir", "rename"):
        k = "a" if o["op"] == "rmdir" else "b"
        try:
            lst = ex.listing(o[k], o[k], ex.dfd(o.get(k + "d")))
            if not lst["ents"]:
                # empty to the eye: what makes it "not empty" is a marker the kernel leaks
                # (listed and ENOENT, or counted by its emptiness check and not listed)
                rec["leak_notempty"] = lst["leaks"] or ["(unlisted)"]
        except OSError:
            pass
        return
    link = wh_link_target(ex, o)
    if link:
        rec["wh_link"] = True
        try:
            rec["wh_inside"] = os.stat(os.path.dirname(link)).st_dev == os.stat(ex.M).st_dev
        except OSError:
            rec["wh_inside"] = False
        if rec.get("r") == "ok" and rec["wh_inside"]:
            try:
                if o["op"] == "open":
                    ex.close_slot(o["s"])
                os.unlink(link)
                rec["wh_undone"] = True
            except OSError as e:
                rec["wh_undo_failed"] = e.errno
        return
    if not wh_target(o):
        return
    k = wh_key(o)
    d = ex.dfd(o.get(k + "d"))
    # only a name inside the overlay (its parent on the overlay's device) is a marker's name
    try:
        parent = os.path.dirname(o[k].rstrip("/")) or "."
        rec["wh_inside"] = os.stat(parent, dir_fd=d).st_dev == os.stat(ex.M).st_dev
    except OSError:
        rec["wh_inside"] = False
    if rec.get("r") != "ok" or not rec["wh_inside"]:
        return
    try:
        if o["op"] == "open":
            ex.close_slot(o["s"])
        if o["op"] == "mkdir":
            os.rmdir(o["a"], dir_fd=d)
        elif o["op"] == "rename":  # put the object back where it was
            os.rename(o["b"], o["a"], src_dir_fd=d, dst_dir_fd=ex.dfd(o.get("ad")))
        else:
            os.unlink(o[k], dir_fd=d)
        rec["wh_undone"] = True
    except OSError as e:
        rec["wh_undo_failed"] = e.errno


# ---------------------------------------------------------------- comparison
INTERNAL_KEYS = {"i", "unsearchable", "wh_undone", "wh_link", "wh_undo_failed", "tree", "leak_notempty", "wh_inside",
                 "rofifo_undone", "fd_named", "same_ab"}


def leak_divergence(krec, srec):
    """N-LEAK: the kernel refused to remove or replace a directory that holds nothing but
    names it leaks, the shim (which hides them) did it. The two states part here: the
    comparison of later results stops (the run still counts as passed up to this op)."""
    return bool(krec.get("leak_notempty")) and srec.get("r") == "ok"


def normalise_st(st, mode):
    """A stat record [type, mode, uid, gid, size, nlink, mtime, (rdev)] -> comparable."""
    if not isinstance(st, list):
        return st
    st = list(st)
    if st[0] == "d":
        st[6] = "-"  # N-DIRTIME
    elif st[0] == "p" and len(st) > 6:
        st[6] = "-"  # N-FIFOTIME
    return st


def _xattr_name_hidden(name, mode):
    return mode == "root" and name.startswith(OVL_USER_NS)  # N-OVLNS


def normalise_rec(rec, o, mode, side):
    """One op's record -> the dict that is compared. Returns (dict, note)."""
    r = {k: v for k, v in rec.items() if k not in INTERNAL_KEYS}
    note = None
    for k in list(r):
        if k.startswith("st_") or k in ("st", "fst"):
            r[k] = normalise_st(r[k], mode)
        if k == "fst" and isinstance(r[k], list) and r[k][0] == "p" and len(r[k]) > 5:
            r[k][5] = "-"  # N-FIFOTIME: the fd is on the upper copy, the kernel's on the lower
    if "leaks" in r:
        if side == "kernel":
            r["leaks"] = []  # N-LEAK: the kernel's leaked markers are not part of the view
    if side == "kernel":
        r.pop("dino_ne_ino", None)  # N-INO: the kernel's d_ino may differ from st_ino
    if "out" in r:
        # N-ORDER: a tool reports the names of a directory in the order readdir gives them
        r["out"] = "".join(sorted(noise(r["out"]).splitlines(True)))
    if "names" in r:
        r["names"] = [n for n in r["names"] if not _xattr_name_hidden(n, mode)
                      and not (mode == "user" and n == "security.capability")]  # N-XATTRDROP
    if mode == "user" and o.get("name") == "security.capability" and o["op"] in ("getxattr", "fgetxattr"):
        for k in list(r):  # N-XATTRDROP: whether it survived a copy-up is not compared
            if not k.startswith("st_"):
                del r[k]
    if o.get("name") and _xattr_name_hidden(o["name"], mode):
        # N-OVLNS: the call's own result is not compared, its effect on the path's stat is
        for k in list(r):
            if not k.startswith("st_"):
                del r[k]
        note = "N-OVLNS"
    return r, note


def noise(text):
    """Not a difference: the random names of temporary files in command output (sed -i)."""
    import re
    return re.sub(r"/sed[A-Za-z0-9]{6}\b", "/sedXXXXXX", text)


def rofifo_open(ex, o, rec):
    """N-ROFIFO: the kernel opened a fifo for writing in a read-only overlay."""
    if o.get("op") != "open" or rec.get("r") != "ok" or "PATH" in o.get("flags", []):
        return False
    if not ("WRONLY" in o.get("flags", []) or "RDWR" in o.get("flags", [])):
        return False
    fst = rec.get("fst")
    if not (isinstance(fst, list) and fst and fst[0] == "p"):
        return False
    try:
        return bool(os.statvfs(ex.M).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def rofifo_write(ex, o, rec):
    """N-ROFIFO: the kernel wrote into a lower fifo (one with a reader) in a read-only overlay.
    What it wrote is read back out of the pipe, so both sides go on with an empty pipe."""
    if o.get("op") != "writefile" or rec.get("r") != "ok":
        return False
    try:
        d = ex.dfd(o.get("ad"))
        if not (stat.S_ISFIFO(os.stat(o["a"], dir_fd=d).st_mode) and os.statvfs(ex.M).f_flag & os.ST_RDONLY):
            return False
        fd = os.open(o["a"], os.O_RDONLY | os.O_NONBLOCK, dir_fd=d)
    except OSError:
        return False
    try:
        while os.read(fd, 65536):
            pass
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    return True


def rofifo_refusal(krec, srec):
    """N-ROFIFO: what the kernel opened (and after_op closed), the shim refused."""
    return bool(krec.get("rofifo_undone")) and srec.get("r") == "E:EROFS"


def wh_refusal(o, krec, srec):
    """N-WH: True when the shim refused a `.wh.` name with EINVAL (whatever the kernel did,
    which after_op undid). A shim that created the name is reported by the caller."""
    return bool(wh_target(o) or krec.get("wh_link")) and krec.get("wh_inside") and srec.get("r") == "E:EINVAL"


def normalise_dump(dump, mode, side, copied_up=None):
    """The final tree -> comparable dict {path: entry}."""
    tree = dict(dump["tree"])
    out = {}
    for p, e in tree.items():
        if not isinstance(e, dict):
            out[p] = e
            continue
        e = dict(e)
        if "st" in e:
            e["st"] = normalise_st(e["st"], mode)
        xa = e.get("xattrs")
        if isinstance(xa, dict):
            xa = {k: v for k, v in xa.items() if not _xattr_name_hidden(k, mode)}
            if mode == "user":
                xa.pop("security.capability", None)  # N-XATTRDROP
            if xa:
                e["xattrs"] = xa
            else:
                e.pop("xattrs", None)
        out[p] = e
    # N-LEAK: the shim must show no leaked names; the kernel's are dropped
    out["!leaks"] = [] if side == "kernel" else dump.get("leaks", [])
    if side == "kernel":
        out.pop("!dino_ne_ino", None)  # N-INO
    return out


def marker_paths(spec):
    """The paths where the generator put a marker (N-LEAK behind EACCES)."""
    return {e["p"] for e in spec["entries"] if e["k"] in ("w", "xw")}


def unsearchable_leaks(a, b, markers):
    """N-LEAK: in a directory without search permission the kernel's lstat of a leaked marker
    is EACCES, not ENOENT, so it cannot be told from a real name by looking. A name the kernel
    lists but cannot look up (EACCES), which the shim does not list, is dropped when the
    generator put a marker at exactly that path."""
    for p in [p for p, e in a.items() if e == "E:EACCES" and p not in b and p in markers]:
        del a[p]
    return a, b


def leak_lines(kn, sn, M, markers):
    """N-LEAK in a command's output: a line of the kernel's only that a tool printed for a
    name it listed but could not look up ("cannot stat 'M/p': No such file or directory", or
    "Permission denied" in a directory without search permission), where the generator put a
    marker at p, is dropped; when nothing else differs, the tool's failure status that came
    from those names only is the shim's. Returns True when it forgave that status."""
    keep, dropped = [], False
    shim_lines = set(sn["out"].splitlines())
    for line in kn["out"].splitlines(True):
        p = re.search(r"'%s/([^']*)': (Permission denied|No such file or directory)" % re.escape(M), line)
        if p and p.group(1) in markers and line.rstrip("\n") not in shim_lines:
            dropped = True
            continue
        keep.append(line)
    kn["out"] = "".join(keep)
    if dropped and kn["out"] == sn["out"] and kn.get("rc") == 1 and sn.get("rc") == 0:
        kn["rc"] = 0
        return True
    return False


def leak_left_undone(o):
    """N-LEAK: a tool whose failure on leaked names (leak_lines forgave it) made it skip part
    of its work: `mv` across directories copies, and keeps its source when the copy failed.
    The two states part there: the comparison of later results stops, as for
    leak_divergence."""
    return o.get("op") == "cmd" and os.path.basename((o.get("argv") or [""])[0]) == "mv"


# ---------------------------------------------------------------- N-LINKMODE
def _owner_grants(st, want, uid):
    """Does the mode a stat record shows grant `want` ("r", "w", "rw") to its owner `uid`?
    None when the record is not the owner's regular file or fifo."""
    if not isinstance(st, list) or len(st) < 6 or st[0] not in ("f", "p") or st[2] != uid:
        return None
    m = int(st[1], 8)
    return all(m & {"r": 0o400, "w": 0o200}[c] for c in want)


def _op_wants(o):
    op = o.get("op")
    if op in ("readfile", "writefile"):
        return "r" if op == "readfile" else "w"
    flags = o.get("flags") or []
    if op != "open" or "PATH" in flags:
        return None
    return "rw" if "RDWR" in flags else ("w" if "WRONLY" in flags else "r")


def stale_link_mode(o, krec, srec, mode, uid):
    """N-LINKMODE: the kernel refused (EACCES) an open its own stat of the name allows, or
    allowed one it denies, on a name with two or more links, and the shim followed the mode
    (both sides stat the same mode). The two states part here, as for leak_divergence."""
    st, sst = krec.get("st_a"), srec.get("st_a")
    want = _op_wants(o)
    if mode != "user" or not want or not isinstance(st, list) or not isinstance(sst, list) or \
            (st[5] or 0) < 2 or st[1] != sst[1]:
        return False
    kr, sr = krec.get("r"), srec.get("r")
    if st[0] == "p" and "w" in want and kr == "E:ENXIO" and sr == "ok":
        return True  # the pipe is the overlay inode's: a writer on the other name meets no reader
    g = _owner_grants(st, want, uid)
    return g is not None and ((kr == "E:EACCES" and sr == "ok" and g) or
                              (kr == "ok" and sr == "E:EACCES" and not g))


def rename_link_estale(o, krec, srec, mode):
    """N-LINKMODE: the kernel (user mode) refused with ESTALE a rename between two names of one
    upper file, which it holds as two overlay inodes; rename(2) of a name onto another name of
    the same file does nothing and succeeds, as the shim's did. Both names show the same after
    the op on both sides, so nothing parts."""
    if mode != "user" or o.get("op") != "rename" or krec.get("r") != "E:ESTALE" or srec.get("r") != "ok":
        return False
    st = srec.get("st_a")
    return srec.get("same_ab") is True and isinstance(st, list) and st[0] != "d" and (st[5] or 0) >= 2 \
        and krec.get("st_a") == st and krec.get("st_b") == srec.get("st_b")


# ---------------------------------------------------------------- N-ORIGIN, N-FIFOFD
FD_CHANGES = ("fchmod", "fchown", "futimens", "fsetxattr")


def _fd_change_lost_name(o, krec, srec, errs):
    """A change through an fd whose name (the one it was opened under) names another object
    now, or nothing, on the kernel's side (fd_named is False there), which the kernel refused
    with one of `errs` and the shim made."""
    return o.get("op") in FD_CHANGES and krec.get("fd_named") is False and krec.get("r") in errs \
        and srec.get("r") == "ok" and isinstance(srec.get("fst"), list)


def origin_unknown(o, krec, srec):
    """N-ORIGIN: the fd is on a lower regular file whose name now holds a new upper file of the
    same type; the kernel's copy-up of the fd's inode meets it (EEXIST), the shim, keeping no
    origin records, takes that file for the fd's own copy-up by another process and changes
    it. The two states part here (the shim changed a file the kernel did not)."""
    return _fd_change_lost_name(o, krec, srec, ("E:EEXIST",)) and srec["fst"][0] == "f"


def fifo_fd_copied(o, krec, srec):
    """N-FIFOFD: the fd is on a fifo opened through the overlay, whose name is gone or taken
    since. The shim copied the fifo up when it was opened (README "Fifos"), so its fd is on the
    upper copy, which the change reaches; the kernel's fd is on the lower fifo, whose copy-up
    at the change finds no name or directory to go to (EIO, ENOENT, EEXIST). The states part
    here (the fd's own attributes differ from now on)."""
    return _fd_change_lost_name(o, krec, srec, ("E:EIO", "E:ENOENT", "E:EEXIST")) and srec["fst"][0] == "p"


def pair_dumps(a, b, mode, markers=(), uid=None):
    """Rules that need both sides' dumps. N-INO (user mode): a kernel mounted with userxattr in
    a user namespace may report two names of one upper inode (a lower file hard-linked through
    the overlay) with different st_ino, one through origin and one not; the shim reports the
    upper inode for both (DESIGN.md "Identity"). The st_ino class of a non-directory whose
    st_nlink is 2 or more on both sides is therefore not compared in user mode."""
    a, b = unsearchable_leaks(a, b, markers)
    if mode != "user":
        return a, b
    for p in set(a) & set(b):
        x, y = a[p], b[p]
        if isinstance(x, dict) and isinstance(y, dict) and isinstance(x.get("st"), list) \
                and isinstance(y.get("st"), list) and x["st"][0] != "d" \
                and (x["st"][5] or 0) >= 2 and (y["st"][5] or 0) >= 2:
            x.pop("ino", None)
            y.pop("ino", None)
            # N-LINKMODE: the kernel read data its own stat's mode does not let the owner read
            if uid is not None and x["st"] == y["st"] and _owner_grants(x["st"], "r", uid) is False \
                    and y.get("data") == "E:EACCES" and x.get("data") != "E:EACCES":
                x.pop("data", None)
                y.pop("data", None)
    return a, b
