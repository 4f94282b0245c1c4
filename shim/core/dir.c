/* Namespace operations in the merged view (SEMANTICS.md 1.B, 1.C, 1.H):
 * create, mkdir, mknod, symlink, link, unlink, rmdir and rename, with
 * whiteouts written exactly where the kernel writes them (rule 12: only for
 * lower-positive names), opaque dirs where it marks them (rule 20) and every
 * new object built so that it appears in one step. */
#include "lcache.h"
#include "markers.h"
#include "sys.h"
#include "write.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int upper_fd(struct ovl_mount *m)
{
        return ovl_layer_fd(&m->layers[0]);
}

static int resolve_rel(struct ovl_config *cfg, struct ovl_mount *m, const char *rel,
                       struct ovl_loc *loc)
{
        char p[PATH_MAX];
        int n = snprintf(p, sizeof(p), "%s%s%s", m->merged, rel[0] ? "/" : "", rel);
        if (n < 0 || n >= (int)sizeof(p)) {
                return -ENAMETOOLONG;
        }
        int r = ovl_resolve(cfg, NULL, p, OVL_R_NOFOLLOW, loc);
        return r == OVL_IN ? 0 : (r < 0 ? r : -ENOENT);
}

/* Does some lower directory of the parent still hold this name (rule 12)? */
static int lower_positive(struct ovl_config *cfg, struct ovl_mount *m, const char *rel)
{
        char parent[PATH_MAX];
        ovl_rel_parent(rel, parent);
        struct ovl_loc *p = ovl_sys_scratch(sizeof(*p));
        int r = p ? resolve_rel(cfg, m, parent, p) : -ENOMEM;
        int pos = 0;
        for (int k = 0; r == 0 && k < p->nstack && !pos; k++) {
                int i = p->stack[k];
                struct stat st;
                int pr = i > 0 ? ovl_lcache_probe(m, i, rel, &st) : OVL_P_ABSENT;
                if (pr == OVL_P_WHITEOUT) {
                        break;
                }
                pos = pr == OVL_P_FOUND || pr == OVL_P_FOUND_OPAQUE;
        }
        ovl_sys_scratch_free(p, sizeof(*p));
        return r < 0 ? r : pos;
}

/* In a sticky directory only the owner of an entry or of the directory (or
 * root) may remove or rename it (may_delete). */
static int sticky_ok(const struct stat *dir, const struct ovl_loc *victim)
{
        uid_t e = ovl_sys_geteuid();
        if (!victim || victim->layer < 0 || !(dir->st_mode & S_ISVTX) || e == 0) {
                return 0;
        }
        return e == dir->st_uid || e == victim->st.st_uid ? 0 : -EPERM;
}

/* The caller may change entries of the merged parent of loc; `victim` is
 * loc itself when an existing entry is removed or moved. */
static int may_change_parent(struct ovl_config *cfg, const struct ovl_loc *loc,
                             const struct ovl_loc *victim)
{
        char parent[PATH_MAX];
        ovl_rel_parent(loc->rel, parent);
        struct ovl_loc *p = ovl_sys_scratch(sizeof(*p));
        int r = p ? resolve_rel(cfg, loc->m, parent, p) : -ENOMEM;
        if (r == 0) {
                r = ovl_sys_faccessat(ovl_loc_fd(p), ovl_loc_relpath(p), W_OK | X_OK, AT_EACCESS);
                if (r == -EROFS && p->layer > 0) {
                        r = 0; /* a lower on a read-only fs: the upper decides */
                }
        }
        if (r == 0) {
                r = sticky_ok(&p->st, victim);
        }
        ovl_sys_scratch_free(p, sizeof(*p));
        return r;
}

static int read_only(const struct ovl_loc *loc)
{
        return loc->m->layers[0].path ? 0 : -EROFS;
}

/* May the caller change loc's entry? Checked before anything is copied up,
 * so that a refusal leaves no copy. */
static int check(struct ovl_config *cfg, struct ovl_loc *loc)
{
        if (!loc->rel[0]) {
                return -EBUSY;
        }
        int r = ovl_write_begin(loc->m);
        return r < 0 ? r : may_change_parent(cfg, loc, loc->layer >= 0 ? loc : NULL);
}

static int upper_parent(struct ovl_config *cfg, struct ovl_loc *loc)
{
        char parent[PATH_MAX];
        ovl_rel_parent(loc->rel, parent);
        return ovl_upper_dir(cfg, loc->m, parent);
}

/* Parent in the upper, permission checked first. */
static int prepare(struct ovl_config *cfg, struct ovl_loc *loc)
{
        int r = check(cfg, loc);
        return r < 0 ? r : upper_parent(cfg, loc);
}

/* Is there a whiteout (of any format) at `rel` in the upper? */
static bool upper_whiteout(struct ovl_mount *m, const char *rel)
{
        struct stat st;
        int ufd = upper_fd(m);
        return ovl_sys_lstatat(ufd, rel, &st) == 0 && ovl_marker_is_whiteout(ufd, rel, &st);
}

/* `.wh.NAME` beside rel in the upper, for the OCI format. */
static int oci_marker(const char *rel, char *out)
{
        const char *s = strrchr(rel, '/');
        size_t dl = s ? (size_t)(s - rel) + 1 : 0;
        int n = snprintf(out, PATH_MAX, "%.*s.wh.%s", (int)dl, rel, rel + dl);
        return n < 0 || n >= PATH_MAX || strlen(rel + dl) + 4 > NAME_MAX ? -ENAMETOOLONG : 0;
}

static void drop_oci_marker(struct ovl_mount *m, const char *rel)
{
        char wh[PATH_MAX];
        if (oci_marker(rel, wh) == 0) {
                ovl_sys_unlinkat(upper_fd(m), wh, 0);
        }
}

/* Put the object built at WORK/work/tmp in place of a whiteout at rel. */
static int replace_whiteout(struct ovl_mount *m, const char *tmp, const char *rel, bool dir)
{
        int wfd = ovl_layer_fd(&m->work);
        if (!dir) {
                return ovl_rename_lent(wfd, tmp, upper_fd(m), rel, 0);
        }
        int r = ovl_rename_lent(wfd, tmp, upper_fd(m), rel, RENAME_EXCHANGE);
        if (r == 0) {
                ovl_sys_unlinkat(wfd, tmp, 0); /* the whiteout, now in work */
        }
        return r;
}

/* --- creating ----------------------------------------------------------------------- */

enum kind { K_FILE, K_DIR, K_NODE, K_LINK, K_HARD };

struct newobj {
        enum kind kind;
        int flags; /* K_FILE */
        mode_t mode;
        dev_t dev;          /* K_NODE */
        const char *target; /* K_LINK: the link text; K_HARD: the upper source */
};

/* Make the object at (dirfd, name); for a file returns the open fd. */
static int make_obj(const struct newobj *o, int dirfd, const char *name, int ufd)
{
        switch (o->kind) {
        case K_FILE:
                return ovl_sys_openat(dirfd, name, o->flags | O_CREAT, o->mode);
        case K_DIR:
                return ovl_sys_mkdirat(dirfd, name, o->mode);
        case K_NODE:
                return ovl_sys_mknodat(dirfd, name, o->mode, o->dev);
        case K_LINK:
                return ovl_sys_symlinkat(o->target, dirfd, name);
        default:
                return ovl_sys_linkat(ufd, o->target, dirfd, name, 0);
        }
}

/* A directory with S_ISGID hands its group down, and to a new directory the
 * bit itself (inode_init_owner); the kernel builds an object over a whiteout
 * in its work dir with that group and sets the mode again after. One built in
 * WORK/work has neither: give them (a chown clears set-id bits of a file: the
 * mode goes back on after it). Without a right to that group the object keeps
 * the user's. */
static void inherit_sgid(struct ovl_mount *m, const struct newobj *o, const char *rel, int wfd,
                         const char *tmp)
{
        char parent[PATH_MAX];
        ovl_rel_parent(rel, parent);
        struct stat pst, st;
        if (o->kind == K_HARD ||
            ovl_sys_lstatat(upper_fd(m), ovl_layer_relpath(m, 0, parent), &pst) < 0 ||
            !(pst.st_mode & S_ISGID) || ovl_sys_lstatat(wfd, tmp, &st) < 0) {
                return;
        }
        if (st.st_gid != pst.st_gid) {
                ovl_sys_fchownat(wfd, tmp, (uid_t)-1, pst.st_gid, AT_SYMLINK_NOFOLLOW);
        }
        if (!S_ISLNK(st.st_mode)) {
                ovl_sys_fchmodat(wfd, tmp,
                                 (st.st_mode & 07777) | (S_ISDIR(st.st_mode) ? S_ISGID : 0));
        }
}

/* Build the object in WORK/work and put it in place: over a whiteout at rel
 * (a directory by exchange), or where nothing is (a directory made opaque
 * first, because an OCI marker beside it hid a lower one). */
static int create_via_work(struct ovl_mount *m, const struct newobj *o, const char *rel, bool over)
{
        char tmp[64];
        ovl_tmpname(tmp, sizeof(tmp));
        struct newobj w = *o;
        w.flags = (o->flags | O_EXCL) & ~O_TRUNC;
        int wfd = ovl_layer_fd(&m->work);
        int fd = make_obj(&w, wfd, tmp, upper_fd(m));
        if (fd < 0) {
                return fd;
        }
        inherit_sgid(m, o, rel, wfd, tmp);
        int r = o->kind == K_DIR ? ovl_set_opaque(m, wfd, tmp) : 0; /* rule 20a */
        if (r == 0) {
                r = over ? replace_whiteout(m, tmp, rel, o->kind == K_DIR)
                         : ovl_rename_lent(wfd, tmp, upper_fd(m), rel, RENAME_NOREPLACE);
        }
        if (r < 0) {
                ovl_sys_unlinkat(wfd, tmp, o->kind == K_DIR ? AT_REMOVEDIR : 0);
                if (o->kind == K_FILE) {
                        ovl_sys_close(fd);
                }
                return r;
        }
        return fd;
}

/* Is a `.wh.NAME` marker beside rel in the upper? */
static bool upper_oci_marker(struct ovl_mount *m, const char *rel)
{
        char wh[PATH_MAX];
        struct stat st;
        return oci_marker(rel, wh) == 0 && ovl_sys_lstatat(upper_fd(m), wh, &st) == 0;
}

static int create_obj(struct ovl_config *cfg, struct ovl_loc *loc, const struct newobj *o)
{
        if (loc->layer >= 0) {
                return -EEXIST;
        }
        const char *base = strrchr(loc->rel, '/');
        base = base ? base + 1 : loc->rel;
        if (ovl_marker_name(base, strlen(base))) {
                return -EINVAL; /* it would read as a marker */
        }
        int r = prepare(cfg, loc);
        if (r < 0) {
                return r;
        }
        struct ovl_mount *m = loc->m;
        if (upper_whiteout(m, loc->rel)) {
                return create_via_work(m, o, loc->rel, true);
        }
        bool oci = upper_oci_marker(m, loc->rel);
        int fd = oci && o->kind == K_DIR ? create_via_work(m, o, loc->rel, false)
                                         : make_obj(o, upper_fd(m), loc->rel, upper_fd(m));
        if (fd >= 0 && oci) {
                drop_oci_marker(m, loc->rel); /* the new object hides the lower one now */
        }
        return fd;
}

int ovl_prepare_create(struct ovl_config *cfg, struct ovl_loc *loc)
{
        if (loc->layer >= 0) {
                return -EEXIST;
        }
        int r = prepare(cfg, loc);
        if (r == 0 && upper_whiteout(loc->m, loc->rel)) {
                r = ovl_sys_unlinkat(upper_fd(loc->m), loc->rel, 0);
        }
        return r;
}

int ovl_create(struct ovl_config *cfg, struct ovl_loc *loc, int flags, mode_t mode)
{
        struct newobj o = {.kind = K_FILE, .flags = flags, .mode = mode};
        return create_obj(cfg, loc, &o);
}

int ovl_mkdir(struct ovl_config *cfg, struct ovl_loc *loc, mode_t mode)
{
        struct newobj o = {.kind = K_DIR, .mode = mode};
        return create_obj(cfg, loc, &o);
}

int ovl_mknod(struct ovl_config *cfg, struct ovl_loc *loc, mode_t mode, dev_t dev)
{
        if (S_ISCHR(mode) && dev == 0 && loc->layer < 0) {
                return -EPERM; /* a whiteout through the overlay (rule 14) */
        }
        struct newobj o = {.kind = K_NODE, .mode = mode, .dev = dev};
        return create_obj(cfg, loc, &o);
}

int ovl_symlink(struct ovl_config *cfg, const char *target, struct ovl_loc *loc)
{
        struct newobj o = {.kind = K_LINK, .target = target};
        return create_obj(cfg, loc, &o);
}

int ovl_link(struct ovl_config *cfg, struct ovl_loc *from, struct ovl_loc *to)
{
        if (from->layer < 0) {
                return -ENOENT;
        }
        if (from->m != to->m) {
                return -EXDEV;
        }
        if (to->layer >= 0) {
                return -EEXIST;
        }
        int r = check(cfg, to); /* vfs_link: may_create, then the type */
        if (r == 0 && S_ISDIR(from->st.st_mode)) {
                r = -EPERM;
        }
        r = r < 0 ? r : ovl_copy_up(cfg, from, true); /* never EXDEV (rule 52) */
        if (r < 0) {
                return r;
        }
        struct newobj o = {.kind = K_HARD, .target = from->rel};
        return create_obj(cfg, to, &o);
}

int ovl_link_removed_dir(struct ovl_config *cfg, struct ovl_loc *to)
{
        int r = to->layer >= 0 ? -EEXIST : check(cfg, to);
        return r < 0 ? r : -EPERM;
}

/* --- removing ------------------------------------------------------------------------- */

/* Put a fresh whiteout at rel, atomically replacing whatever the upper has
 * there (a file, or a directory by exchange). */
static int whiteout_at(struct ovl_mount *m, const char *rel, bool upper_dir)
{
        int fmt = ovl_wh_format(m);
        if (fmt < 0) {
                return fmt;
        }
        if (fmt == OVL_WH_OCI) {
                char wh[PATH_MAX];
                int r = oci_marker(rel, wh);
                int fd =
                    r < 0 ? r
                          : ovl_sys_openat(upper_fd(m), wh, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
                return fd < 0 ? fd : ovl_sys_close(fd);
        }
        char tmp[64];
        int r = ovl_make_whiteout_tmp(m, tmp, sizeof(tmp));
        if (r == 0) {
                r = ovl_rename_lent(ovl_layer_fd(&m->work), tmp, upper_fd(m), rel,
                                    upper_dir ? RENAME_EXCHANGE : 0);
        }
        return r;
}

/* Remove one pass of entries of an open directory; returns how many. */
static int clean_pass(int fd)
{
        char buf[8192];
        ssize_t n;
        int removed = 0;
        ovl_sys_lseek(fd, 0, SEEK_SET);
        while ((n = ovl_sys_getdents64(fd, buf, sizeof(buf))) > 0) {
                for (ssize_t off = 0; off < n;) {
                        struct dirent64 *d = (struct dirent64 *)(buf + off);
                        off += d->d_reclen;
                        if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, "..")) {
                                continue;
                        }
                        int r = ovl_sys_unlinkat(fd, d->d_name, 0);
                        if (r == -EISDIR) {
                                r = ovl_clean_tree(fd, d->d_name);
                        }
                        removed += r == 0;
                }
        }
        return removed;
}

int ovl_clean_tree(int dirfd, const char *name)
{
        /* in WORK on its way out: a 555 dir must let its entries go */
        struct stat st;
        bool opened_up = ovl_sys_lstatat(dirfd, name, &st) == 0 && S_ISDIR(st.st_mode) &&
                         (st.st_mode & 0700) != 0700 && st.st_uid == ovl_sys_geteuid() &&
                         ovl_sys_fchmodat(dirfd, name, 0700) == 0;
        int fd = ovl_sys_openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        if (fd < 0) {
                /* not a directory, or one we may not open: empty (a record), it goes too */
                int r = ovl_sys_unlinkat(dirfd, name, 0);
                return r == -EISDIR ? ovl_sys_unlinkat(dirfd, name, AT_REMOVEDIR) : r;
        }
        while (clean_pass(fd) > 0) {
        }
        if (opened_up) {
                /* a cwd or an fd may still hold the removed directory: its mode
                 * stays the one the kernel's overlay would still show */
                ovl_sys_fchmod(fd, st.st_mode & 07777);
        }
        ovl_sys_close(fd);
        return ovl_sys_unlinkat(dirfd, name, AT_REMOVEDIR);
}

int ovl_unlink(struct ovl_config *cfg, struct ovl_loc *loc)
{
        if (loc->layer < 0) {
                return -ENOENT;
        }
        if (read_only(loc) < 0) {
                return -EROFS;
        }
        int r = check(cfg, loc); /* may_delete: permission, then the type */
        if (r == 0 && S_ISDIR(loc->st.st_mode)) {
                r = -EISDIR;
        }
        r = r < 0 ? r : upper_parent(cfg, loc);
        int lp = r < 0 ? r : lower_positive(cfg, loc->m, loc->rel);
        if (lp < 0) {
                return lp;
        }
        struct ovl_mount *m = loc->m;
        if (!lp) {
                return ovl_sys_unlinkat(upper_fd(m), loc->rel, 0);
        }
        r = whiteout_at(m, loc->rel, false);
        if (r == 0 && loc->layer == 0 && ovl_wh_format(m) == OVL_WH_OCI) {
                /* the marker first: until the entry goes, the entry wins over it */
                r = ovl_sys_unlinkat(upper_fd(m), loc->rel, 0);
        }
        return r;
}

/* The directory now at WORK/work/tmp was the merged rel (OVL_XATTR_GONE). */
static void mark_gone(struct ovl_mount *m, int wfd, const char *tmp, const char *rel)
{
        char v[PATH_MAX];
        int n = snprintf(v, sizeof(v), "%s/%s", m->merged, rel);
        if (n > 0 && n < (int)sizeof(v)) {
                ovl_sys_setxattrat(wfd, tmp, OVL_XATTR_GONE, v, (size_t)n);
        }
}

/* A record of a removed directory (ovlshim.h) in the making: built while the
 * upper copy is there, published only once the directory is gone, so that a
 * failed removal leaves no record of a live directory. */
struct record {
        char tmp[64]; /* its WORK/work name until published; "" if none was made */
        bool lower;   /* the directory has a lower: it has an identity to record */
};

/* Before the merged directory loc goes: with an upper copy and a lower, an empty
 * directory with the copy's attributes. Best effort (record_finish). */
static void record_prepare(struct ovl_mount *m, const struct ovl_loc *loc, struct record *rec)
{
        rec->tmp[0] = '\0';
        rec->lower = loc->top_lower > 0;
        struct stat st;
        int wfd = ovl_layer_fd(&m->work), ufd = upper_fd(m);
        if (!rec->lower || loc->nstack == 0 || loc->stack[0] != 0 || wfd < 0 ||
            ovl_sys_lstatat(ufd, loc->rel, &st) < 0 || !S_ISDIR(st.st_mode)) {
                return;
        }
        ovl_tmpname(rec->tmp, sizeof(rec->tmp));
        if (ovl_sys_mkdirat(wfd, rec->tmp, 0700) < 0) {
                rec->tmp[0] = '\0';
        } else if (ovl_copy_meta(ufd, loc->rel, &st, wfd, rec->tmp) < 0) {
                ovl_clean_tree(wfd, rec->tmp);
                rec->tmp[0] = '\0';
        }
}

/* After the removal (r: its result). Gone: the new record takes the identity's
 * name, replacing an older one; without a new one an older one goes too (a
 * stale record would show older attributes; a holder sees the lower's). Not
 * gone: nothing changes. */
static void record_finish(struct ovl_mount *m, const struct ovl_loc *loc, struct record *rec, int r)
{
        int wfd = ovl_layer_fd(&m->work);
        char name[64];
        bool named = r == 0 && rec->lower &&
                     ovl_dead_record_name(loc->id_dev, loc->id_ino, name, sizeof(name)) == 0;
        if (named && rec->tmp[0] && ovl_sys_renameat2(wfd, rec->tmp, wfd, name, 0) == 0) {
                return;
        }
        if (rec->tmp[0]) {
                ovl_clean_tree(wfd, rec->tmp);
        }
        if (named) {
                ovl_sys_unlinkat(wfd, name, AT_REMOVEDIR);
        }
}

/* Take the upper directory at rel out of the way, markers and all. */
static int remove_upper_dir(struct ovl_mount *m, const char *rel)
{
        int r = ovl_sys_unlinkat(upper_fd(m), rel, AT_REMOVEDIR);
        if (r != -ENOTEMPTY && r != -EEXIST) {
                return r;
        }
        char tmp[64];
        ovl_tmpname(tmp, sizeof(tmp));
        int wfd = ovl_layer_fd(&m->work);
        r = ovl_rename_lent(upper_fd(m), rel, wfd, tmp, RENAME_NOREPLACE);
        if (r == 0) {
                mark_gone(m, wfd, tmp, rel);
        }
        return r < 0 ? r : ovl_clean_tree(wfd, tmp);
}

/* The checked removal of the merged directory loc; lp: a lower holds its name. */
static int remove_dir(struct ovl_mount *m, const struct ovl_loc *loc, int lp)
{
        bool in_upper = loc->stack[0] == 0;
        if (!lp) {
                return remove_upper_dir(m, loc->rel);
        }
        if (!in_upper || ovl_wh_format(m) == OVL_WH_OCI) {
                int r = whiteout_at(m, loc->rel, false); /* marker first, as in unlink */
                return r == 0 && in_upper ? remove_upper_dir(m, loc->rel) : r;
        }
        /* rule 46: one step from the directory to a single whiteout */
        char tmp[64];
        int r = ovl_make_whiteout_tmp(m, tmp, sizeof(tmp));
        int wfd = ovl_layer_fd(&m->work);
        if (r == 0) {
                r = ovl_rename_lent(wfd, tmp, upper_fd(m), loc->rel, RENAME_EXCHANGE);
        }
        if (r == 0) {
                mark_gone(m, wfd, tmp, loc->rel);
                ovl_clean_tree(wfd, tmp);
        }
        return r;
}

int ovl_rmdir(struct ovl_config *cfg, struct ovl_loc *loc)
{
        if (loc->layer < 0) {
                return -ENOENT;
        }
        if (read_only(loc) < 0) {
                return -EROFS;
        }
        int r = check(cfg, loc); /* EBUSY for MERGED itself, a mount point */
        if (r == 0 && !S_ISDIR(loc->st.st_mode)) {
                r = -ENOTDIR;
        }
        if (r == 0) {
                r = ovl_dir_empty(loc);
        }
        r = r < 0 ? r : upper_parent(cfg, loc);
        int lp = r < 0 ? r : lower_positive(cfg, loc->m, loc->rel);
        if (lp < 0) {
                return lp;
        }
        struct record rec;
        record_prepare(loc->m, loc, &rec);
        r = remove_dir(loc->m, loc, lp);
        record_finish(loc->m, loc, &rec, r);
        return r;
}

/* --- rename ----------------------------------------------------------------------------- */

/* A directory with a lower part cannot move (rule 48). */
static bool has_lower(const struct ovl_loc *loc)
{
        return S_ISDIR(loc->st.st_mode) && loc->top_lower > 0;
}

/* ovl_rename: only directories without a lower part move (rule 48) */
static int rename_moves(const struct ovl_loc *a, const struct ovl_loc *b, unsigned flags)
{
        return has_lower(a) || ((flags & RENAME_EXCHANGE) && has_lower(b)) ? -EXDEV : 0;
}

/* Is `rel` strictly below the directory `anc`? */
static bool below(const char *anc, const char *rel)
{
        size_t l = strlen(anc);
        return !strncmp(rel, anc, l) && rel[l] == '/';
}

/* vfs_rename: a directory that changes parent gets a new "..", which needs
 * write permission on the directory itself. */
static int dotdot_writable(const struct ovl_loc *a, const struct ovl_loc *b)
{
        char pa[PATH_MAX], pb[PATH_MAX];
        ovl_rel_parent(a->rel, pa);
        ovl_rel_parent(b->rel, pb);
        if (!S_ISDIR(a->st.st_mode) || !strcmp(pa, pb) || ovl_sys_geteuid() == 0) {
                return 0;
        }
        int fd = ovl_layer_fd(&a->m->layers[a->layer]);
        int r = fd < 0 ? fd : ovl_sys_faccessat(fd, ovl_loc_relpath(a), W_OK, AT_EACCESS);
        return r == -EROFS && a->layer > 0 ? 0 : r;
}

/* vfs_rename's order once both names are looked up: may_delete/may_create
 * (permission, then the types), then the overlay's own refusals. */
static int rename_checks(struct ovl_config *cfg, const struct ovl_loc *a, const struct ovl_loc *b,
                         unsigned flags)
{
        bool x = flags & RENAME_EXCHANGE, bx = b->layer >= 0;
        if (a->layer < 0 || (x && !bx)) {
                return -ENOENT;
        }
        if (!a->rel[0] || !b->rel[0]) {
                return -EBUSY;
        }
        if (a->m != b->m) {
                return -EXDEV;
        }
        if (read_only(a) < 0) {
                return -EROFS;
        }
        if (below(a->rel, b->rel)) {
                return -EINVAL; /* into itself */
        }
        int r = may_change_parent(cfg, a, a);
        r = r < 0 ? r : may_change_parent(cfg, b, bx ? b : NULL);
        if (r == 0 && (!bx || x)) {
                r = dotdot_writable(a, b);
                r = r < 0 || !(x && bx && S_ISDIR(b->st.st_mode)) ? r : dotdot_writable(b, a);
        }
        if (r < 0 || !bx || x) {
                return r < 0 ? r : (flags & RENAME_WHITEOUT) ? -EINVAL : rename_moves(a, b, flags);
        }
        bool ad = S_ISDIR(a->st.st_mode), bd = S_ISDIR(b->st.st_mode);
        if (flags & RENAME_NOREPLACE) {
                return -EEXIST;
        }
        if (ad != bd) {
                return ad ? -ENOTDIR : -EISDIR;
        }
        r = dotdot_writable(a, b);
        r = r < 0 ? r : (flags & RENAME_WHITEOUT) ? -EINVAL : rename_moves(a, b, flags);
        return r < 0 || !bd ? r : ovl_dir_empty(b);
}

/* The target name in the upper must be free for the rename (or hold what a
 * plain rename may replace). */
static int clear_target(struct ovl_loc *b, bool dir)
{
        struct ovl_mount *m = b->m;
        if (b->layer == 0 && S_ISDIR(b->st.st_mode)) {
                return remove_upper_dir(m, b->rel);
        }
        if (b->layer < 0 && dir && upper_whiteout(m, b->rel)) {
                return ovl_sys_unlinkat(upper_fd(m), b->rel, 0);
        }
        return 0;
}

/* Is the parent of `loc` a merged directory (with a lower part)? */
static bool parent_merged(struct ovl_config *cfg, const struct ovl_loc *loc)
{
        char parent[PATH_MAX];
        ovl_rel_parent(loc->rel, parent);
        struct ovl_loc *p = ovl_sys_scratch(sizeof(*p));
        bool merged = p && resolve_rel(cfg, loc->m, parent, p) == 0 && p->top_lower > 0;
        ovl_sys_scratch_free(p, sizeof(*p));
        return merged;
}

static int do_rename(struct ovl_config *cfg, struct ovl_loc *a, struct ovl_loc *b, unsigned flags)
{
        struct ovl_mount *m = a->m;
        bool dir = S_ISDIR(a->st.st_mode);
        int lpa = lower_positive(cfg, m, a->rel);
        int lpb = lower_positive(cfg, m, b->rel);
        int r = lpa < 0 ? lpa : (lpb < 0 ? lpb : 0);
        if (r == 0 && !(flags & RENAME_EXCHANGE)) {
                /* a directory replaced goes as by rmdir */
                bool gone_dir = b->layer >= 0 && S_ISDIR(b->st.st_mode);
                struct record rec;
                if (gone_dir) {
                        record_prepare(m, b, &rec);
                }
                r = clear_target(b, dir);
                if (gone_dir) {
                        record_finish(m, b, &rec, r);
                }
        }
        if (r == 0 && dir && !(flags & RENAME_EXCHANGE) && (lpb || parent_merged(cfg, b))) {
                r = ovl_set_opaque(m, upper_fd(m), a->rel); /* rule 20b */
        }
        if (r == 0 && (flags & RENAME_EXCHANGE)) {
                /* ovl_rename: each directory that lands in a merged parent is made
                 * opaque (unless it is), or a lower there would show through it */
                bool bdir = S_ISDIR(b->st.st_mode);
                if (dir && !ovl_marker_opaque(upper_fd(m), a->rel) && parent_merged(cfg, b)) {
                        r = ovl_set_opaque(m, upper_fd(m), a->rel);
                }
                if (r == 0 && bdir && !ovl_marker_opaque(upper_fd(m), b->rel) &&
                    parent_merged(cfg, a)) {
                        r = ovl_set_opaque(m, upper_fd(m), b->rel);
                }
        }
        bool wh = lpa && !(flags & RENAME_EXCHANGE);
        bool oci = wh && ovl_wh_format(m) == OVL_WH_OCI;
        unsigned f = flags | (wh && !oci ? RENAME_WHITEOUT : 0);
        if ((f & RENAME_NOREPLACE) && upper_whiteout(m, b->rel)) {
                f &= ~RENAME_NOREPLACE; /* checked on the merged names */
        }
        if (r == 0 && oci) {
                r = whiteout_at(m, a->rel, false); /* the marker first: a still wins */
        }
        if (r == 0) {
                r = ovl_sys_renameat2(upper_fd(m), a->rel, upper_fd(m), b->rel, f);
                if (r < 0 && oci) {
                        drop_oci_marker(m, a->rel);
                }
        }
        if (r == -EINVAL && (f & RENAME_WHITEOUT)) { /* no RENAME_WHITEOUT here */
                r = ovl_sys_renameat2(upper_fd(m), a->rel, upper_fd(m), b->rel, flags);
                if (r == 0) {
                        r = whiteout_at(m, a->rel, false);
                }
        }
        if (r == 0 && ovl_wh_format(m) == OVL_WH_OCI) {
                drop_oci_marker(m, b->rel);
        }
        return r;
}

int ovl_rename(struct ovl_config *cfg, struct ovl_loc *a, struct ovl_loc *b, unsigned flags)
{
        if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) ||
            (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE)) {
                return -EINVAL;
        }
        if (!strcmp(a->rel, b->rel) && a->m == b->m) {
                return a->layer < 0 ? -ENOENT : 0;
        }
        const char *base = strrchr(b->rel, '/');
        base = base ? base + 1 : b->rel;
        if (ovl_marker_name(base, strlen(base))) {
                return -EINVAL; /* it would read as a marker, as in create_obj */
        }
        int r = rename_checks(cfg, a, b, flags);
        if (r < 0) {
                return r;
        }
        r = prepare(cfg, a);
        if (r == 0) {
                r = prepare(cfg, b);
        }
        if (r == 0) {
                r = ovl_copy_up(cfg, a, true);
        }
        if (r == 0 && (flags & RENAME_EXCHANGE)) {
                r = ovl_copy_up(cfg, b, true);
        }
        return r < 0 ? r : do_rename(cfg, a, b, flags);
}
