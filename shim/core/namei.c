/* Path resolution through the merged namespace (SEMANTICS.md 1.A-1.B).
 *
 * A path is walked one component at a time. Outside every overlay the walk
 * is lexical except where a symlink or ".." could lead into one; inside an
 * overlay each name is looked up in the layers of its parent directory, top
 * first, and symlinks are followed in the merged namespace (rule 5). */
#include "ovlshim.h"
#include "lcache.h"
#include "markers.h"
#include "sys.h"
#include "write.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

struct walk {
        struct ovl_config *cfg;
        struct ovl_loc *loc; /* the current directory while walking */
        int flags;
        int links;
        bool in;             /* inside loc->m; else at loc->real */
        bool must_dir;       /* a trailing slash: the end must be a dir */
        int free;            /* components of the base still to walk: the kernel holds them */
        bool held;           /* this step is one of them (or a replay after "..") */
        bool lent;           /* ... and the upper answered it with search lent */
        const char *base;    /* the base, relative to MERGED; NULL for an absolute path */
        char todo[PATH_MAX]; /* what is left to walk */
        char tmp[PATH_MAX];  /* scratch for symlink targets */
        unsigned short cstack[OVL_MAX_LOWER + 1];
};

/* --- the merged side ---------------------------------------------------- */

static int join_rel(char *out, const char *dir, const char *name, size_t n)
{
        size_t dl = strlen(dir);
        if (dl + 1 + n + 1 > PATH_MAX) {
                return -ENAMETOOLONG;
        }
        if (dl) {
                memmove(out, dir, dl);
                out[dl++] = '/';
        }
        memcpy(out + dl, name, n);
        out[dl + n] = '\0';
        return 0;
}

static void enter_root(struct walk *w, struct ovl_mount *m)
{
        struct ovl_loc *loc = w->loc;
        w->in = true;
        loc->m = m;
        loc->rel[0] = '\0';
        loc->nstack = 0;
        for (int i = m->layers[0].path ? 0 : 1; i < m->nlayers; i++) {
                loc->stack[loc->nstack++] = (unsigned short)i;
        }
        loc->layer = loc->stack[0];
        loc->top_lower = 1;
}

/* Stat the root of layer loc->layer; identity from the top lower root. */
static int stat_root(struct ovl_loc *loc)
{
        int fd = ovl_layer_fd(&loc->m->layers[loc->layer]);
        if (fd < 0) {
                return fd;
        }
        int r = ovl_sys_lstatat(fd, "", &loc->st);
        loc->id_dev = loc->m->layers[1].dev;
        loc->id_ino = loc->m->layers[1].ino;
        return r;
}

struct child {
        int layer;
        int nstack;
        int top_lower;
        struct stat st;
        dev_t id_dev;
        ino_t id_ino;
};

/* Is the upper directory `rp` opaque? On a step the kernel does not walk
 * (w->held) the caller may have lost the search bit of a directory above it
 * (probe_upper lent it) or the read and search bits of `rp` itself since it
 * opened it; the kernel reads the markers with the mounter's rights: the
 * owner's bits are lent for the look, as for the probe. */
static int upper_opaque(struct walk *w, const char *rp, const struct stat *st)
{
        int fd = ovl_layer_fd(&w->loc->m->layers[0]);
        bool own = st->st_uid == ovl_sys_geteuid();
        if (fd < 0 || !rp[0] || !w->held || !(w->lent || (own && (st->st_mode & 0500) != 0500))) {
                return ovl_marker_opaque(fd, rp);
        }
        struct ovl_detour_lend l;
        struct ovl_lend r = {.lent = false};
        ovl_lend_search(fd, rp, strlen(rp), &l);
        if (own) {
                ovl_lend(fd, rp, 0400, &r);
        }
        int o = ovl_marker_opaque(fd, rp);
        ovl_unlend(&r);
        ovl_detour_end(&l);
        return o;
}

/* Add layer i to the child's stack; false when the merge ends there. */
static bool stack_dir(struct walk *w, struct child *c, int i, const struct stat *st, const char *rp)
{
        w->cstack[c->nstack++] = (unsigned short)i;
        if (i > 0 && c->top_lower < 0) {
                c->top_lower = i;
                c->id_dev = st->st_dev;
                c->id_ino = st->st_ino;
        }
        struct ovl_mount *m = w->loc->m;
        if (i > 0) {
                return ovl_lcache_opaque(m, i, rp) == 0;
        }
        return upper_opaque(w, rp, st) == 0;
}

/* The upper's answer for `rp` on a step the kernel does not walk (w->held):
 * a directory above may have lost its search bit since the caller entered. */
static int probe_upper(struct walk *w, const char *rp, struct stat *st)
{
        struct ovl_mount *m = w->loc->m;
        int p = ovl_marker_probe(&m->layers[0], rp, st);
        int fd = ovl_layer_fd(&m->layers[0]);
        w->lent = false;
        if (p != -EACCES || !w->held || fd < 0) {
                return p;
        }
        /* the directories from the root down to the one the name is in */
        struct ovl_detour_lend l;
        if (ovl_lend_search(fd, w->loc->rel, strlen(w->loc->rel), &l)) {
                p = ovl_marker_probe(&m->layers[0], rp, st);
                w->lent = true;
        }
        ovl_detour_end(&l);
        return p;
}

/* Look `rp` up in the layers of the current directory (rule 2). */
static int lookup(struct walk *w, const char *rp, struct child *c)
{
        struct ovl_loc *loc = w->loc;
        memset(c, 0, sizeof(*c));
        c->layer = -1;
        c->top_lower = -1;
        for (int k = 0; k < loc->nstack; k++) {
                int i = loc->stack[k];
                struct stat st;
                /* the upper may change under us and is always asked */
                int p = i > 0 ? ovl_lcache_probe(loc->m, i, rp, &st) : probe_upper(w, rp, &st);
                if (p < 0) {
                        return p;
                }
                if (p == OVL_P_WHITEOUT) {
                        break;
                }
                if (p == OVL_P_ABSENT) {
                        continue;
                }
                bool dir = S_ISDIR(st.st_mode);
                bool replaced = p == OVL_P_FOUND_OPAQUE; /* `.wh.X` beside dir X */
                if (c->layer < 0) {
                        c->layer = i;
                        c->st = st;
                        c->id_dev = st.st_dev;
                        c->id_ino = st.st_ino;
                } else if (!dir) {
                        break; /* a non-directory below a directory ends the merge */
                }
                if (!dir || !stack_dir(w, c, i, &st, rp) || replaced) {
                        break;
                }
        }
        return 0;
}

static void take_child(struct walk *w, const struct child *c)
{
        struct ovl_loc *loc = w->loc;
        loc->layer = c->layer;
        loc->st = c->st;
        loc->id_dev = c->id_dev;
        loc->id_ino = c->id_ino;
        loc->top_lower = c->top_lower;
        loc->nstack = c->nstack;
        memcpy(loc->stack, w->cstack, sizeof(w->cstack[0]) * (size_t)c->nstack);
}

/* Push `target` + "/" + what is left onto the todo list. */
static int push_link(struct walk *w, const char *target, const char *rest)
{
        size_t tl = strlen(target), rl = strlen(rest);
        if (tl + 1 + rl + 1 > PATH_MAX) {
                return -ENAMETOOLONG;
        }
        if (++w->links > OVL_MAXSYMLINKS) {
                return -ELOOP;
        }
        if (!rl && tl && target[tl - 1] == '/') {
                w->must_dir = true; /* the link's own trailing slash */
        }
        memmove(w->todo + tl + 1, rest, rl + 1);
        memcpy(w->todo, target, tl);
        w->todo[tl] = rl ? '/' : '\0';
        return 0;
}

static int read_link_in(struct walk *w, int layer, const char *rp)
{
        struct ovl_loc *loc = w->loc;
        int fd = ovl_layer_fd(&loc->m->layers[layer]);
        if (fd < 0) {
                return fd;
        }
        ssize_t n = ovl_sys_readlinkat(fd, rp, w->tmp, sizeof(w->tmp) - 1);
        if (n < 0) {
                return (int)n;
        }
        w->tmp[n] = '\0';
        return n == 0 ? -ENOENT : 0;
}

static void leave_overlay(struct walk *w)
{
        struct ovl_mount *m = w->loc->m;
        size_t l = m->merged_len;
        while (l > 1 && m->merged[l - 1] != '/') {
                l--;
        }
        if (l > 1) {
                l--;
        }
        memcpy(w->loc->real, m->merged, l);
        w->loc->real[l] = '\0';
        w->in = false;
        w->loc->m = NULL;
}

static int reenter_parent(struct walk *w);

/* Is `rp` the base or above it? */
static bool above_base(const struct walk *w, const char *rp)
{
        size_t l = strlen(rp);
        return w->base &&
               (!l || (strncmp(w->base, rp, l) == 0 && (!w->base[l] || w->base[l] == '/')));
}

/* A name looked up in a directory the caller does not hold: the detour
 * (detour.c) reaches the base's own ancestors by climbing from it, which
 * asks no search permission of the directory a name is looked up in when
 * the caller's path climbs past it and comes down again ("../../b/c"). */
static int search_on_way_down(struct walk *w, const char *rp)
{
        w->held = w->free > 0;
        if (w->held) {
                w->free--; /* the base itself: the kernel walks none of it */
                return 0;
        }
        return above_base(w, rp) && ovl_detour_on() ? ovl_may_search(w->loc) : 0;
}

/* Is gid the caller's effective or a supplementary group? (more than 256
 * supplementary groups: only those) */
static bool in_group(gid_t gid)
{
        gid_t g[256];
        if (gid == ovl_sys_getegid()) {
                return true;
        }
        long n = ovl_sys6(SYS_getgroups, 256, (long)g, 0, 0, 0, 0);
        for (long i = 0; i < n; i++) {
                if (g[i] == gid) {
                        return true;
                }
        }
        return false;
}

int ovl_mode_may_search(mode_t m, uid_t uid, gid_t gid)
{
        uid_t me = ovl_sys_geteuid();
        if (me == 0) {
                return 0;
        }
        mode_t bits = me == uid ? m >> 6 : in_group(gid) ? m >> 3 : m;
        return (bits & 1) ? 0 : -EACCES;
}

/* "." and ".." are lookups in the current directory too: they need search
 * permission there (the walk to its parent again from the root does not ask). */
int ovl_may_search(const struct ovl_loc *loc)
{
        if (ovl_sys_geteuid() == 0 || loc->layer < 0) {
                return 0;
        }
        int fd = ovl_layer_fd(&loc->m->layers[loc->layer]);
        int r = fd < 0 ? fd : ovl_sys_faccessat(fd, ovl_loc_relpath(loc), X_OK, AT_EACCESS);
        /* the path from the layer root asks the directories above too, which a
         * walk that reached this one has passed (or, from a base the caller
         * holds, never looked at) */
        return r == -EACCES ? ovl_mode_may_search(loc->st.st_mode, loc->st.st_uid, loc->st.st_gid)
                            : r;
}

/* One component inside an overlay. `rest` is what follows it. */
static int step_in(struct walk *w, const char *name, size_t n, const char *rest, bool follow)
{
        struct ovl_loc *loc = w->loc;
        if (n == 2 && name[0] == '.' && name[1] == '.') {
                int r = ovl_may_search(loc);
                if (r < 0) {
                        return r;
                }
                if (!loc->rel[0]) {
                        leave_overlay(w);
                        return 0;
                }
                return reenter_parent(w);
        }
        if (n > NAME_MAX) {
                return -ENAMETOOLONG;
        }
        char rp[PATH_MAX];
        int r = join_rel(rp, loc->rel, name, n);
        if (r < 0) {
                return r;
        }
        struct child c = {.layer = -1};
        if (ovl_marker_name(name, n)) {
                r = ovl_may_search(loc); /* markers are never visible names */
                if (r < 0) {
                        return r;
                }
        } else if ((r = search_on_way_down(w, rp)) < 0 || (r = lookup(w, rp, &c)) < 0) {
                return r;
        }
        bool last = !*rest;
        if (c.layer < 0) {
                if (!last) {
                        return -ENOENT;
                }
                memcpy(loc->rel, rp, strlen(rp) + 1);
                loc->layer = -1;
                loc->nstack = 0;
                return 0;
        }
        if (S_ISLNK(c.st.st_mode) && (!last || follow)) {
                if ((r = read_link_in(w, c.layer, rp)) < 0) {
                        return r;
                }
                if (w->tmp[0] == '/') {
                        w->in = false;
                        loc->m = NULL;
                        strcpy(loc->real, "/");
                }
                return push_link(w, w->tmp, rest);
        }
        if (!last && !S_ISDIR(c.st.st_mode)) {
                return -ENOTDIR;
        }
        memcpy(loc->rel, rp, strlen(rp) + 1);
        take_child(w, &c);
        return 0;
}

/* ".." inside an overlay: walk the parent's components again from the root,
 * since the layer stack of every ancestor is not kept. They are plain
 * directories, so this cannot meet a symlink. */
static int reenter_parent(struct walk *w)
{
        struct ovl_loc *loc = w->loc;
        char parent[PATH_MAX];
        char *slash = strrchr(loc->rel, '/');
        size_t pl = slash ? (size_t)(slash - loc->rel) : 0;
        memcpy(parent, loc->rel, pl);
        parent[pl] = '\0';
        enter_root(w, loc->m);
        const char *p = parent;
        int free = w->free;
        w->free = INT_MAX; /* a replay of directories already walked */
        while (*p) {
                const char *e = strchrnul(p, '/');
                int r = step_in(w, p, (size_t)(e - p), *e ? e + 1 : "x", true);
                if (r < 0) {
                        return r;
                }
                if (!w->in || loc->layer < 0 || !S_ISDIR(loc->st.st_mode)) {
                        return -ENOENT; /* changed under us */
                }
                p = *e ? e + 1 : e;
        }
        w->free = free;
        if (!parent[0]) {
                return stat_root(loc);
        }
        return 0;
}

/* --- the real side -------------------------------------------------------- */

static struct ovl_mount *merged_at(struct ovl_config *cfg, const char *real)
{
        for (int i = 0; i < cfg->nmounts; i++) {
                if (strcmp(cfg->mounts[i].merged, real) == 0) {
                        return &cfg->mounts[i];
                }
        }
        return NULL;
}

static int append_real(struct ovl_loc *loc, const char *name, size_t n)
{
        size_t l = strlen(loc->real);
        if (l + 1 + n + 1 > PATH_MAX) {
                return -ENAMETOOLONG;
        }
        if (l > 1) {
                loc->real[l++] = '/';
        }
        memcpy(loc->real + l, name, n);
        loc->real[l + n] = '\0';
        return 0;
}

static void parent_real(struct ovl_loc *loc)
{
        char *s = strrchr(loc->real, '/');
        if (s == loc->real) {
                s[1] = '\0';
        } else if (s) {
                *s = '\0';
        }
}

/* A real symlink on the way could point into an overlay: follow it. */
static int follow_real(struct walk *w, const char *rest, bool last, bool follow)
{
        struct stat st;
        int r = ovl_sys_lstatat(AT_FDCWD, w->loc->real, &st);
        if (r < 0 || !S_ISLNK(st.st_mode) || (last && !follow)) {
                return 0; /* the kernel will say what is wrong, if anything */
        }
        ssize_t n = ovl_sys_readlinkat(AT_FDCWD, w->loc->real, w->tmp, sizeof(w->tmp) - 1);
        if (n <= 0) {
                return 0;
        }
        w->tmp[n] = '\0';
        if (w->tmp[0] == '/') {
                strcpy(w->loc->real, "/");
        } else {
                parent_real(w->loc);
        }
        return push_link(w, w->tmp, rest);
}

/* ".." after a name the kernel walks into it first: it must be a directory,
 * one the caller may search (may_lookup). */
static int real_dir(const struct ovl_loc *loc)
{
        struct stat st;
        int r = ovl_sys_fstatat(AT_FDCWD, loc->real, &st, 0);
        r = r < 0 ? r : (S_ISDIR(st.st_mode) ? 0 : -ENOTDIR);
        if (r == 0 && ovl_sys_faccessat(AT_FDCWD, loc->real, X_OK, AT_EACCESS) == -EACCES) {
                return -EACCES;
        }
        return r;
}

static int step_real(struct walk *w, const char *name, size_t n, const char *rest, bool follow)
{
        struct ovl_loc *loc = w->loc;
        if (n == 2 && name[0] == '.' && name[1] == '.') {
                int r = real_dir(loc);
                if (r < 0) {
                        return r;
                }
                parent_real(loc);
        } else {
                int r = append_real(loc, name, n);
                if (r < 0) {
                        return r;
                }
        }
        struct ovl_mount *m = merged_at(w->cfg, loc->real);
        if (m) {
                enter_root(w, m);
                return stat_root(loc);
        }
        if (ovl_path_near(w->cfg, loc->real) == 2) {
                return 0; /* on the canonical way to a MERGED: no symlink here */
        }
        return follow_real(w, rest, !*rest, follow);
}

/* Nothing left can reach an overlay: hand the rest to the kernel as is.
 * Once a symlink was followed, a later component may be one that leads back
 * in, so every component is looked at. */
static bool real_done(struct walk *w, const char *p)
{
        if (w->in || w->links || ovl_path_near(w->cfg, w->loc->real) == 2 ||
            ovl_path_has_dotdot(p)) {
                return false;
        }
        return true;
}

static int finish_real(struct walk *w, const char *p, bool slash)
{
        struct ovl_loc *loc = w->loc;
        if (*p && append_real(loc, p, strlen(p)) < 0) {
                return -ENAMETOOLONG;
        }
        if (slash && append_real(loc, "", 0) < 0) {
                return -ENAMETOOLONG;
        }
        return OVL_OUT;
}

/* --- the walk ------------------------------------------------------------- */

static int count_dirs(const char *p, size_t n)
{
        int k = 0;
        for (size_t i = 0; i < n; i++) {
                k += p[i] != '/' && (i == 0 || p[i - 1] == '/');
        }
        return k;
}

static int start(struct walk *w, const char *base, const char *path)
{
        size_t bl = (path[0] != '/' && base) ? strlen(base) : 0;
        size_t pl = strlen(path);
        if (pl >= PATH_MAX || (bl ? bl + 1 : 0) + pl + 1 > PATH_MAX) {
                return -ENAMETOOLONG;
        }
        if (bl) {
                memcpy(w->todo, base, bl);
                if (pl) {
                        w->todo[bl++] = '/';
                }
        }
        memcpy(w->todo + bl, path, pl + 1);
        size_t base_end = bl ? bl - (pl ? 1 : 0) : 0;
        w->in = false;
        w->loc->m = NULL;
        strcpy(w->loc->real, "/");
        for (int i = 0; i < w->cfg->nmounts; i++) {
                struct ovl_mount *m = &w->cfg->mounts[i];
                ssize_t off = ovl_path_under(w->todo, m->merged, m->merged_len);
                if (off >= 0) {
                        if ((size_t)off <= base_end) {
                                w->base = base + off;
                                w->free = count_dirs(w->todo + off, base_end - (size_t)off);
                        }
                        memmove(w->todo, w->todo + off, strlen(w->todo + off) + 1);
                        enter_root(w, m);
                        return stat_root(w->loc);
                }
        }
        return 0;
}

/* A trailing slash demands a directory and follows a final symlink. */
static bool ends_with_slash(const char *p)
{
        size_t l = strlen(p);
        return l > 0 && p[l - 1] == '/' && strspn(p, "/") != l;
}

static int walk(struct walk *w)
{
        w->must_dir = ends_with_slash(w->todo);
        for (;;) {
                char *p = w->todo;
                while (*p == '/') {
                        p++;
                }
                if (!w->in && real_done(w, p)) {
                        return finish_real(w, p, w->must_dir);
                }
                if (!*p) {
                        break;
                }
                char *e = strchrnul(p, '/');
                size_t n = (size_t)(e - p);
                char name[NAME_MAX + 2];
                const char *rest = e;
                while (*rest == '/') {
                        rest++;
                }
                if (n > NAME_MAX) {
                        if (!w->in) { /* the kernel fails at or before it: ENOTDIR, EACCES... */
                                return finish_real(w, p, w->must_dir);
                        }
                        int r = ovl_may_search(w->loc); /* may_lookup comes first */
                        return r < 0 ? r : -ENAMETOOLONG;
                }
                memcpy(name, p, n);
                name[n] = '\0';
                /* keep `rest` stable: move it to the front of todo first */
                memmove(w->todo, rest, strlen(rest) + 1);
                bool follow =
                    !(w->flags & OVL_R_NOFOLLOW) || (w->must_dir && !(w->flags & OVL_R_NAME));
                int r = 0;
                if (n == 1 && name[0] == '.') {
                        r = w->in ? ovl_may_search(w->loc) : 0; /* may_lookup, as for any name */
                } else if (w->in) {
                        r = step_in(w, name, n, w->todo, follow);
                } else {
                        r = step_real(w, name, n, w->todo, follow);
                }
                if (r < 0) {
                        return r;
                }
        }
        if (!w->in) {
                return finish_real(w, "", w->must_dir);
        }
        struct ovl_loc *loc = w->loc;
        if (w->must_dir && loc->layer >= 0 && !S_ISDIR(loc->st.st_mode) &&
            !(w->flags & OVL_R_NAME)) {
                return -ENOTDIR;
        }
        return OVL_IN;
}

int ovl_resolve(struct ovl_config *cfg, const char *base, const char *path, int flags,
                struct ovl_loc *loc)
{
        struct walk w;
        w.cfg = cfg;
        w.loc = loc;
        w.flags = flags;
        w.links = 0;
        w.free = (flags & OVL_R_HELD) ? INT_MAX : 0;
        w.held = false;
        w.base = NULL;
        loc->dead = false;
        if (!*path && !(flags & OVL_R_EMPTY)) {
                return -ENOENT;
        }
        int r = start(&w, base, path);
        if (r < 0) {
                return r;
        }
        return walk(&w);
}

int ovl_above(struct ovl_mount *m, bool again)
{
        if (!again && __atomic_load_n(&m->above, __ATOMIC_RELAXED) == 1) {
                return 0;
        }
        int r = ovl_sys_faccessat(AT_FDCWD, m->merged, F_OK, AT_EACCESS);
        if (r == -EACCES) {
                __atomic_store_n(&m->above, 0, __ATOMIC_RELAXED);
                return r;
        }
        __atomic_store_n(&m->above, 1, __ATOMIC_RELAXED);
        return 0;
}

void ovl_above_changed(struct ovl_config *cfg)
{
        for (int i = 0; cfg && i < cfg->nmounts; i++) {
                __atomic_store_n(&cfg->mounts[i].above, 0, __ATOMIC_RELAXED);
        }
}

void ovl_loc_stat(const struct ovl_loc *loc, struct stat *out)
{
        *out = loc->st;
        if (S_ISDIR(loc->st.st_mode)) {
                out->st_dev = loc->id_dev;
                out->st_ino = loc->id_ino;
                if (loc->nstack > 1 || !loc->rel[0]) {
                        out->st_nlink = 1;
                }
        }
}

const char *ovl_layer_relpath(const struct ovl_mount *m, int layer, const char *rel)
{
        const char *root = layer >= 0 ? m->layers[layer].path : NULL;
        return rel[0] ? rel : (root ? root : ".");
}

const char *ovl_loc_relpath(const struct ovl_loc *loc)
{
        return ovl_layer_relpath(loc->m, loc->layer, loc->rel);
}

/* --- mapping real paths back ------------------------------------------------ */

static int put_merged(const struct ovl_mount *m, const char *rest, char *out, size_t cap)
{
        size_t rl = strlen(rest);
        if (m->merged_len + 1 + rl + 1 > cap) {
                return -1;
        }
        memcpy(out, m->merged, m->merged_len);
        size_t l = m->merged_len;
        if (rl) {
                out[l++] = '/';
                memcpy(out + l, rest, rl);
                l += rl;
        }
        out[l] = '\0';
        return 0;
}

struct ovl_mount *ovl_unmap(struct ovl_config *cfg, const char *real, char *out, size_t cap,
                            int *layer)
{
        struct ovl_mount *best = NULL;
        ssize_t best_off = -1;
        size_t best_len = 0;
        int best_layer = -1;
        for (int i = 0; i < cfg->nmounts; i++) {
                struct ovl_mount *m = &cfg->mounts[i];
                for (int j = 0; j < m->nlayers; j++) {
                        struct ovl_layer *l = &m->layers[j];
                        ssize_t off = l->path ? ovl_path_under(real, l->path, l->len) : -1;
                        if (off >= 0 && l->len > best_len) {
                                best = m, best_off = off, best_len = l->len, best_layer = j;
                        }
                }
                ssize_t off = ovl_path_under(real, m->merged, m->merged_len);
                if (off >= 0 && m->merged_len > best_len) {
                        best = m, best_off = off, best_len = m->merged_len, best_layer = -1;
                }
        }
        if (!best || put_merged(best, real + best_off, out, cap) < 0) {
                return NULL;
        }
        if (layer) {
                *layer = best_layer;
        }
        return best;
}

int ovl_path_near(const struct ovl_config *cfg, const char *path)
{
        size_t pl = strlen(path);
        for (int i = 0; i < cfg->nmounts; i++) {
                const struct ovl_mount *m = &cfg->mounts[i];
                if (ovl_path_under(path, m->merged, m->merged_len) >= 0) {
                        return 1;
                }
                if (ovl_path_under(m->merged, path, pl) >= 0) {
                        return 2;
                }
        }
        return 0;
}
