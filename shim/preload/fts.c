/* glibc's fts walks trees with internal openat/fstatat/fchdir the preload
 * cannot see, so for trees that start in an overlay fts_* are rebuilt here
 * on the shim's own stat and readdir. The walk never changes directory
 * (FTS_NOCHDIR is implied: fts_accpath is the full path, which is valid
 * either way); each entry owns its path. An FTS made by glibc's fts_open
 * (a tree outside every overlay) stays glibc's. */
#include "preload.h"

#include <fts.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef int (*fts_cmp)(const FTSENT **, const FTSENT **);

struct dirframe {
        FTSENT *dir;  /* the directory, returned again as FTS_DP */
        FTSENT *next; /* next child to return */
        struct dirframe *up;
};

/* An entry with the link that frees it (FTSENT ends in its name). */
struct oent {
        struct oent *gnext;
        FTSENT e;
};

struct ofts {
        FTS fts; /* what the caller holds a pointer to */
        fts_cmp cmp;
        FTSENT *roots; /* linked by fts_link */
        FTSENT *next_root;
        struct dirframe *stack;
        FTSENT *last;         /* the entry fts_read returned last */
        struct oent *garbage; /* every entry, freed at fts_close */
        struct ofts *reg_next;
};

static struct ofts *registry;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

static struct ofts *ours(FTS *f)
{
        pthread_mutex_lock(&reg_lock);
        struct ofts *o = registry;
        while (o && &o->fts != f) {
                o = o->reg_next;
        }
        pthread_mutex_unlock(&reg_lock);
        return o;
}

static void reg_add(struct ofts *o, bool add)
{
        pthread_mutex_lock(&reg_lock);
        struct ofts **p = &registry;
        while (*p && *p != o) {
                p = &(*p)->reg_next;
        }
        if (add && !*p) {
                o->reg_next = registry, registry = o;
        } else if (!add && *p) {
                *p = o->reg_next;
        }
        pthread_mutex_unlock(&reg_lock);
}

/* --- entries ------------------------------------------------------------------------- */

static FTSENT *new_ent(struct ofts *o, const char *path, const char *name, short level)
{
        size_t nl = strlen(name);
        struct oent *oe = calloc(1, sizeof(*oe) + nl + 1);
        char *p = oe ? strdup(path) : NULL;
        struct stat *st = p ? calloc(1, sizeof(*st)) : NULL;
        if (!st) {
                free(p);
                free(oe);
                return NULL;
        }
        FTSENT *e = &oe->e;
        memcpy(e->fts_name, name, nl + 1);
        e->fts_path = e->fts_accpath = p;
        e->fts_pathlen = (unsigned short)strlen(p);
        e->fts_namelen = (unsigned short)nl;
        e->fts_level = level;
        e->fts_statp = st;
        e->fts_symfd = -1;
        oe->gnext = o->garbage;
        o->garbage = oe;
        return e;
}

static unsigned short classify(FTSENT *e, bool follow)
{
        struct stat *st = e->fts_statp;
        int r = follow ? stat(e->fts_accpath, st) : lstat(e->fts_accpath, st);
        if (r < 0 && follow && lstat(e->fts_accpath, st) == 0) {
                return FTS_SLNONE;
        }
        if (r < 0) {
                e->fts_errno = errno;
                return FTS_NS;
        }
        e->fts_ino = st->st_ino, e->fts_dev = st->st_dev, e->fts_nlink = st->st_nlink;
        if (S_ISDIR(st->st_mode)) {
                const char *n = e->fts_name;
                return n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])) && e->fts_level > 0
                           ? FTS_DOT
                           : FTS_D;
        }
        return S_ISLNK(st->st_mode) ? FTS_SL : FTS_F;
}

static bool follows(const struct ofts *o, const FTSENT *e)
{
        int opt = o->fts.fts_options;
        return (opt & FTS_LOGICAL) || (e->fts_level == 0 && (opt & FTS_COMFOLLOW));
}

/* A directory that is its own ancestor is a cycle (FTS_DC), not descended. */
static unsigned short cycle_check(struct ofts *o, FTSENT *e)
{
        for (struct dirframe *f = o->stack; f; f = f->up) {
                if (f->dir->fts_dev == e->fts_dev && f->dir->fts_ino == e->fts_ino) {
                        e->fts_cycle = f->dir;
                        return FTS_DC;
                }
        }
        return FTS_D;
}

/* --- reading a directory --------------------------------------------------------------- */

static int cmp_adapter_fn(const void *a, const void *b, void *cmp)
{
        return ((fts_cmp)cmp)((const FTSENT **)a, (const FTSENT **)b);
}

static FTSENT *sort_list(FTSENT *head, fts_cmp cmp)
{
        size_t n = 0;
        for (FTSENT *e = head; e; e = e->fts_link) {
                n++;
        }
        FTSENT **v = cmp && n > 1 ? malloc(n * sizeof(*v)) : NULL;
        if (!v) {
                return head;
        }
        size_t i = 0;
        for (FTSENT *e = head; e; e = e->fts_link) {
                v[i++] = e;
        }
        qsort_r(v, n, sizeof(*v), cmp_adapter_fn, (void *)cmp);
        for (i = 0; i + 1 < n; i++) {
                v[i]->fts_link = v[i + 1];
        }
        v[n - 1]->fts_link = NULL;
        head = v[0];
        free(v);
        return head;
}

static FTSENT *read_children(struct ofts *o, FTSENT *dir)
{
        DIR *d = opendir(dir->fts_accpath);
        if (!d) {
                dir->fts_errno = errno;
                dir->fts_info = FTS_DNR;
                return NULL;
        }
        FTSENT *head = NULL, **tail = &head;
        struct dirent *de;
        bool dots = o->fts.fts_options & FTS_SEEDOT;
        while ((de = readdir(d)) != NULL) {
                const char *n = de->d_name;
                if (!dots && n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2]))) {
                        continue;
                }
                char path[2 * PATH_MAX];
                size_t dl = strlen(dir->fts_path);
                snprintf(path, sizeof(path), "%s%s%s", dir->fts_path,
                         dl && dir->fts_path[dl - 1] == '/' ? "" : "/", n);
                FTSENT *e = new_ent(o, path, n, (short)(dir->fts_level + 1));
                if (!e) {
                        break;
                }
                e->fts_parent = dir;
                e->fts_info = classify(e, follows(o, e));
                *tail = e, tail = &e->fts_link;
        }
        closedir(d);
        return sort_list(head, o->cmp);
}

/* --- the walk ----------------------------------------------------------------------------- */

static bool descend(struct ofts *o, FTSENT *e)
{
        if (e->fts_instr == FTS_SKIP) {
                return false;
        }
        if ((o->fts.fts_options & FTS_XDEV) && e->fts_dev != o->fts.fts_dev) {
                return false;
        }
        struct dirframe *f = calloc(1, sizeof(*f));
        if (!f) {
                return false;
        }
        f->dir = e;
        f->up = o->stack;
        f->next = o->fts.fts_child && o->fts.fts_cur == e ? o->fts.fts_child : read_children(o, e);
        o->fts.fts_child = NULL;
        o->stack = f;
        return true;
}

/* The entry after `o->last` in pre-order, with directories again as FTS_DP. */
static FTSENT *step(struct ofts *o)
{
        FTSENT *e = o->last;
        if (e && e->fts_instr == FTS_AGAIN) {
                e->fts_instr = FTS_NOINSTR;
                e->fts_info = classify(e, follows(o, e));
                return e;
        }
        if (e && e->fts_instr == FTS_FOLLOW &&
            (e->fts_info == FTS_SL || e->fts_info == FTS_SLNONE)) {
                e->fts_instr = FTS_NOINSTR;
                e->fts_info = classify(e, true);
                if (e->fts_info == FTS_D) {
                        e->fts_info = cycle_check(o, e);
                }
                return e;
        }
        if (e && e->fts_info == FTS_D && !descend(o, e)) {
                /* skipped (FTS_SKIP, FTS_XDEV): returned again as done, as glibc does */
                e->fts_instr = FTS_NOINSTR;
                e->fts_info = FTS_DP;
                return e;
        }
        while (o->stack) {
                struct dirframe *f = o->stack;
                FTSENT *c = f->next;
                if (c) {
                        f->next = c->fts_link;
                        if (c->fts_info == FTS_D) {
                                c->fts_info = cycle_check(o, c);
                        }
                        return c;
                }
                o->stack = f->up;
                FTSENT *dir = f->dir;
                free(f);
                if (dir->fts_info == FTS_DNR) {
                        return dir;
                }
                dir->fts_info = FTS_DP;
                return dir;
        }
        FTSENT *r = o->next_root;
        if (r) {
                o->next_root = r->fts_link;
                if (r->fts_info == FTS_D) {
                        o->fts.fts_dev = r->fts_dev;
                }
        }
        return r;
}

static struct ofts *open_ours(char *const *argv, int options, fts_cmp cmp)
{
        struct ofts *o = calloc(1, sizeof(*o));
        if (!o) {
                return NULL;
        }
        o->fts.fts_options = options | FTS_NOCHDIR;
        o->cmp = cmp;
        FTSENT *head = NULL, **tail = &head;
        for (char *const *a = argv; *a; a++) {
                const char *base = strrchr(*a, '/');
                base = base && base[1] ? base + 1 : *a;
                FTSENT *e = new_ent(o, *a, base, FTS_ROOTLEVEL);
                if (!e) {
                        break;
                }
                e->fts_info = classify(e, follows(o, e));
                *tail = e, tail = &e->fts_link;
        }
        o->roots = o->next_root = sort_list(head, cmp);
        reg_add(o, true);
        return o;
}

static bool any_in_overlay(char *const *argv)
{
        for (char *const *a = argv; argv && *a; a++) {
                struct ovl_loc loc;
                if (ovl_at(AT_FDCWD, *a, 0, &loc) != OVL_PASS) {
                        return true;
                }
        }
        return false;
}

OVL_EXPORT FTS *fts_open(char *const *argv, int options, fts_cmp cmp)
{
        if (!ovl_active() || !any_in_overlay(argv) || (options & ~FTS_OPTIONMASK)) {
                return REAL(fts_open)(argv, options, cmp);
        }
        struct ofts *o = open_ours(argv, options, cmp);
        if (!o) {
                errno = ENOMEM;
        }
        return o ? &o->fts : NULL;
}

OVL_EXPORT FTSENT *fts_read(FTS *f)
{
        struct ofts *o = ours(f);
        if (!o) {
                return REAL(fts_read)(f);
        }
        int saved = errno;
        FTSENT *e = step(o);
        o->last = e;
        f->fts_cur = e;
        errno = saved; /* NULL with errno untouched: the end */
        return e;
}

OVL_EXPORT FTSENT *fts_children(FTS *f, int instr)
{
        struct ofts *o = ours(f);
        if (!o) {
                return REAL(fts_children)(f, instr);
        }
        FTSENT *cur = o->last;
        if (!cur) {
                return o->next_root; /* before the first read: the roots */
        }
        if (cur->fts_info != FTS_D) {
                errno = 0;
                return NULL;
        }
        if (!f->fts_child) {
                f->fts_child = read_children(o, cur);
        }
        return f->fts_child;
}

OVL_EXPORT int fts_set(FTS *f, FTSENT *e, int instr)
{
        if (!ours(f)) {
                return REAL(fts_set)(f, e, instr);
        }
        if (instr != FTS_AGAIN && instr != FTS_FOLLOW && instr != FTS_NOINSTR &&
            instr != FTS_SKIP) {
                errno = EINVAL;
                return -1;
        }
        e->fts_instr = (unsigned short)instr;
        return 0;
}

OVL_EXPORT int fts_close(FTS *f)
{
        struct ofts *o = ours(f);
        if (!o) {
                return REAL(fts_close)(f);
        }
        reg_add(o, false);
        while (o->stack) {
                struct dirframe *up = o->stack->up;
                free(o->stack);
                o->stack = up;
        }
        for (struct oent *oe = o->garbage, *n; oe; oe = n) {
                n = oe->gnext;
                free(oe->e.fts_path);
                free(oe->e.fts_statp);
                free(oe);
        }
        free(o);
        return 0;
}

/* The 64-bit names (one ABI with the above on 64-bit targets). */
_Static_assert(sizeof(FTSENT) == sizeof(FTSENT64), "FTSENT layout");

OVL_EXPORT FTS64 *fts64_open(char *const *argv, int options,
                             int (*cmp)(const FTSENT64 **, const FTSENT64 **))
{
        if (!ovl_active() || !any_in_overlay(argv) || (options & ~FTS_OPTIONMASK)) {
                return REAL(fts64_open)(argv, options, cmp);
        }
        return (FTS64 *)fts_open(argv, options, (fts_cmp)cmp);
}

OVL_EXPORT FTSENT64 *fts64_read(FTS64 *f)
{
        return ours((FTS *)f) ? (FTSENT64 *)fts_read((FTS *)f) : REAL(fts64_read)(f);
}

OVL_EXPORT FTSENT64 *fts64_children(FTS64 *f, int instr)
{
        return ours((FTS *)f) ? (FTSENT64 *)fts_children((FTS *)f, instr)
                              : REAL(fts64_children)(f, instr);
}

OVL_EXPORT int fts64_set(FTS64 *f, FTSENT64 *e, int instr)
{
        return ours((FTS *)f) ? fts_set((FTS *)f, (FTSENT *)e, instr)
                              : REAL(fts64_set)(f, e, instr);
}

OVL_EXPORT int fts64_close(FTS64 *f)
{
        return ours((FTS *)f) ? fts_close((FTS *)f) : REAL(fts64_close)(f);
}
