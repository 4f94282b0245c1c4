/* Merged directory listings (SEMANTICS.md 1.D): the union of the layers of
 * a directory's stack, each name once with the type and inode of its topmost
 * occurrence, whiteouts and the names they hide left out, markers of every
 * format hidden. Order as the kernel's: the bottom layer's entries first,
 * then names first seen in the upper, then in the intermediate lowers. */
#include "lcache.h"
#include "markers.h"
#include "sys.h"
#include "write.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct ent {
        UT_hash_handle hh;
        ino_t ino;
        ino_t lower_ino; /* for an upper dir: its topmost lower dir's ino */
        unsigned char type;
        bool hidden; /* whited out */
        bool has_lower;
        bool merge_ended; /* a non-directory below ends a dir's merge */
        bool in_bottom;
        int k; /* index in the stack of its topmost layer */
        long seq;
        long bottom_seq;
        char name[];
};

struct merge {
        struct ent *head;
        const struct ovl_loc *loc;
        int k; /* layer being read, as an index in loc->stack */
        long seq;
        int fd;                       /* root fd of that layer */
        char **wh;                    /* `.wh.X` targets seen in this layer */
        struct ovl_lend lend;         /* search permission lent to an upper dir */
        struct ovl_detour_lend above; /* ... and to those above it, if `lent_above` */
        bool lent_above;
        size_t nwh, capwh;
        int held; /* the program's fd on the directory, or -1 */
};

static struct ent *ent_new(struct merge *mg, const char *name, size_t len)
{
        struct ent *e = calloc(1, sizeof(*e) + len + 1);
        if (!e) {
                return NULL;
        }
        memcpy(e->name, name, len + 1);
        e->k = mg->k;
        e->seq = mg->seq;
        HASH_ADD_KEYPTR(hh, mg->head, e->name, len, e);
        return e;
}

static int child_path(const struct ovl_loc *loc, const char *name, char *out)
{
        size_t rl = strlen(loc->rel), nl = strlen(name);
        if (rl + nl + 2 > PATH_MAX) {
                return -ENAMETOOLONG;
        }
        if (rl) {
                memcpy(out, loc->rel, rl);
                out[rl++] = '/';
        }
        memcpy(out + rl, name, nl + 1);
        return 0;
}

/* A name seen for the first time: a whiteout hides it, else it is listed. */
static int first_sight(struct merge *mg, const struct dirent64 *d, size_t len)
{
        unsigned char type = d->d_type;
        ino_t ino = d->d_ino;
        bool wh = false;
        if (type == DT_CHR || type == DT_REG || type == DT_UNKNOWN) {
                char rp[PATH_MAX];
                struct stat st;
                int r = child_path(mg->loc, d->d_name, rp);
                r = r < 0 ? r : ovl_sys_lstatat(mg->fd, rp, &st);
                /* a caller with read but no search permission on an upper dir of
                 * its own, or on one above it (a held fd), still gets the markers
                 * hidden, as the kernel reads the upper with the mounter's rights */
                if (r == -EACCES && mg->loc->stack[mg->k] == 0 && !mg->lent_above) {
                        const char *rel = ovl_layer_relpath(mg->loc->m, 0, mg->loc->rel);
                        mg->lent_above = true;
                        if (ovl_lend_search(mg->fd, rel, strlen(rel), &mg->above)) {
                                r = ovl_sys_lstatat(mg->fd, rp, &st);
                        }
                }
                if (r == 0) {
                        wh = ovl_marker_is_whiteout(mg->fd, rp, &st);
                        type = (unsigned char)IFTODT(st.st_mode);
                }
        }
        struct ent *e = ent_new(mg, d->d_name, len);
        if (!e) {
                return -ENOMEM;
        }
        e->hidden = wh;
        e->type = type;
        e->ino = ino;
        return 0;
}

/* A name an upper layer already had: only the identity of a directory and
 * the bottom-layer order can still change. */
static void seen_again(struct merge *mg, struct ent *e, const struct dirent64 *d)
{
        if (e->hidden || e->type != DT_DIR || e->has_lower || e->merge_ended) {
                return;
        }
        if (d->d_type == DT_DIR) {
                e->has_lower = mg->loc->stack[mg->k] > 0;
                e->lower_ino = d->d_ino;
        } else {
                e->merge_ended = true;
        }
}

static int remember_wh(struct merge *mg, const char *target)
{
        if (mg->nwh == mg->capwh) {
                size_t cap = mg->capwh ? mg->capwh * 2 : 16;
                char **n = realloc(mg->wh, cap * sizeof(*n));
                if (!n) {
                        return -ENOMEM;
                }
                mg->wh = n, mg->capwh = cap;
        }
        mg->wh[mg->nwh] = strdup(target);
        return mg->wh[mg->nwh++] ? 0 : -ENOMEM;
}

static int take_entry(struct merge *mg, const struct dirent64 *d, bool bottom)
{
        const char *n = d->d_name;
        size_t len = strlen(n);
        if ((n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))) {
                return 0;
        }
        mg->seq++;
        if (ovl_marker_name(n, len)) {
                const char *t = ovl_marker_whiteout_target(n);
                return t ? remember_wh(mg, t) : 0;
        }
        struct ent *e;
        HASH_FIND(hh, mg->head, n, len, e);
        int r = 0;
        if (!e) {
                r = first_sight(mg, d, len);
                HASH_FIND(hh, mg->head, n, len, e);
        } else {
                seen_again(mg, e, d);
        }
        if (e && bottom) {
                e->in_bottom = true;
                e->bottom_seq = mg->seq;
        }
        return r;
}

/* `.wh.X` hides X in the layers below, not an X of its own layer. */
static int apply_wh(struct merge *mg)
{
        int r = 0;
        for (size_t i = 0; i < mg->nwh; i++) {
                struct ent *e;
                size_t len = strlen(mg->wh[i]);
                HASH_FIND(hh, mg->head, mg->wh[i], len, e);
                if (e && !e->has_lower) {
                        e->merge_ended = true; /* no lower dir merges into it */
                }
                if (!e && r == 0) {
                        e = ent_new(mg, mg->wh[i], len);
                        if (!e) {
                                r = -ENOMEM;
                        } else {
                                e->hidden = true;
                        }
                }
                free(mg->wh[i]);
        }
        mg->nwh = 0;
        return r;
}

/* This layer's directory `rel`, open for reading. A directory the program
 * holds open stays readable to it after a chmod of it or of a directory above
 * (the kernel reads the layers of an open directory with the mounter's
 * rights): an EACCES is met with the held fd itself when it is this very
 * directory (read from offset 0, its
 * position saved in *held_pos), else, for the user's own upper directory,
 * with read+search lent until the layer is read. */
static int layer_dir(struct merge *mg, const char *rel, off_t *held_pos)
{
        int dfd = ovl_sys_openat_noatime(mg->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (dfd != -EACCES || mg->held < 0) {
                return dfd;
        }
        /* the walk found this layer's directory (loc->st) even where a directory
         * above has lost its search bit since (namei.c probe_upper), which a
         * path from the layer root no longer reaches */
        struct stat h, d;
        bool found = mg->loc->stack[mg->k] == mg->loc->layer;
        if (found) {
                d = mg->loc->st;
        }
        if (ovl_sys_fstat(mg->held, &h) == 0 && (found || ovl_sys_lstatat(mg->fd, rel, &d) == 0) &&
            h.st_dev == d.st_dev && h.st_ino == d.st_ino) {
                off_t pos = ovl_sys_lseek(mg->held, 0, SEEK_CUR);
                if (pos >= 0 && ovl_sys_lseek(mg->held, 0, SEEK_SET) == 0) {
                        *held_pos = pos;
                        return mg->held;
                }
        }
        if (mg->loc->stack[mg->k] == 0 && !mg->lend.lent &&
            ovl_lend(mg->fd, rel, 0500, &mg->lend)) {
                dfd = ovl_sys_openat_noatime(mg->fd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        }
        return dfd;
}

/* Give back what the read of a layer was lent (layer_dir, first_sight). */
static void unlend_all(struct merge *mg)
{
        ovl_unlend(&mg->lend); /* by path: while the directories above are still lent */
        if (mg->lent_above) {
                ovl_detour_end(&mg->above);
                mg->lent_above = false;
        }
}

static int read_layer(struct merge *mg, bool bottom)
{
        struct ovl_layer *l = &mg->loc->m->layers[mg->loc->stack[mg->k]];
        mg->fd = ovl_layer_fd(l);
        if (mg->fd < 0) {
                return mg->fd;
        }
        off_t held_pos = -1;
        int dfd = layer_dir(mg, ovl_layer_relpath(mg->loc->m, mg->loc->stack[mg->k], mg->loc->rel),
                            &held_pos);
        if (dfd < 0) {
                unlend_all(mg);
                return dfd;
        }
        char *buf = malloc(32768);
        int r = buf ? 0 : -ENOMEM;
        ssize_t n;
        while (r == 0 && (n = ovl_sys_getdents64(dfd, buf, 32768)) > 0) {
                for (ssize_t off = 0; off < n && r == 0;) {
                        struct dirent64 *d = (struct dirent64 *)(buf + off);
                        r = take_entry(mg, d, bottom);
                        off += d->d_reclen;
                }
        }
        if (r == 0 && n < 0) {
                r = (int)n;
        }
        free(buf);
        if (held_pos >= 0) {
                ovl_sys_lseek(dfd, held_pos, SEEK_SET); /* the program's position */
        } else {
                ovl_sys_close(dfd);
        }
        unlend_all(mg);
        return r ? r : apply_wh(mg);
}

/* An upper dir that is opaque has no lower identity after all. */
static void fix_upper_dirs(struct merge *mg)
{
        const struct ovl_loc *loc = mg->loc;
        if (loc->nstack < 2 || loc->stack[0] != 0) {
                return;
        }
        int ufd = ovl_layer_fd(&loc->m->layers[0]);
        struct ent *e, *tmp;
        HASH_ITER(hh, mg->head, e, tmp)
        {
                char rp[PATH_MAX];
                /* cppcheck-suppress uninitvar ; set by HASH_ITER */
                if (e->k == 0 && e->has_lower && child_path(loc, e->name, rp) == 0 &&
                    ovl_marker_opaque(ufd, rp) == 0) {
                        e->ino = e->lower_ino;
                }
        }
}

static int cmp_order(const void *a, const void *b)
{
        const struct ent *x = *(struct ent *const *)a, *y = *(struct ent *const *)b;
        if (x->in_bottom != y->in_bottom) {
                return x->in_bottom ? -1 : 1;
        }
        if (x->in_bottom) {
                return x->bottom_seq < y->bottom_seq ? -1 : x->bottom_seq > y->bottom_seq;
        }
        if (x->k != y->k) {
                return x->k < y->k ? -1 : 1;
        }
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static size_t rec_size(size_t namelen)
{
        return (offsetof(struct dirent64, d_name) + namelen + 1 + 7) & ~(size_t)7;
}

static void put_rec(struct ovl_dirlist *dl, size_t *off, const char *name, ino_t ino,
                    unsigned char type)
{
        struct dirent64 *d = (struct dirent64 *)(dl->buf + *off);
        size_t len = strlen(name);
        d->d_ino = ino;
        d->d_off = (off_t)(dl->n + 1);
        d->d_reclen = (unsigned short)rec_size(len);
        d->d_type = type;
        memcpy(d->d_name, name, len + 1);
        dl->ents[dl->n++] = d;
        *off += d->d_reclen;
}

static int build(struct merge *mg, ino_t dot, ino_t dotdot, struct ovl_dirlist **out)
{
        size_t n = HASH_COUNT(mg->head), k = 0, bytes = rec_size(1) + rec_size(2);
        struct ent **v = malloc((n + 1) * sizeof(*v));
        struct ovl_dirlist *dl = calloc(1, sizeof(*dl));
        struct ent *e, *tmp;
        HASH_ITER(hh, mg->head, e, tmp)
        {
                /* cppcheck-suppress uninitvar ; set by HASH_ITER */
                if (!e->hidden && v) {
                        v[k++] = e;
                        bytes += rec_size(strlen(e->name));
                }
        }
        if (dl) {
                dl->buf = malloc(bytes);
                dl->ents = malloc((k + 2) * sizeof(*dl->ents));
        }
        if (!v || !dl || !dl->buf || !dl->ents) {
                free(v);
                ovl_dir_free(dl);
                return -ENOMEM;
        }
        qsort(v, k, sizeof(*v), cmp_order);
        size_t off = 0;
        put_rec(dl, &off, ".", dot, DT_DIR);
        put_rec(dl, &off, "..", dotdot, DT_DIR);
        for (size_t i = 0; i < k; i++) {
                put_rec(dl, &off, v[i]->name, v[i]->ino, v[i]->type);
        }
        free(v);
        *out = dl;
        return 0;
}

static void merge_free(struct merge *mg)
{
        struct ent *e, *tmp;
        HASH_ITER(hh, mg->head, e, tmp)
        {
                HASH_DEL(mg->head, e);
                free(e);
        }
        for (size_t i = 0; i < mg->nwh; i++) {
                free(mg->wh[i]);
        }
        free(mg->wh);
}

int ovl_dir_list(const struct ovl_loc *loc, ino_t dotdot, struct ovl_dirlist **out)
{
        return ovl_dir_list_held(loc, dotdot, -1, out);
}

int ovl_dir_list_held(const struct ovl_loc *loc, ino_t dotdot, int held, struct ovl_dirlist **out)
{
        struct merge mg;
        memset(&mg, 0, sizeof(mg));
        mg.loc = loc;
        mg.held = held;
        int r = 0;
        for (mg.k = 0; mg.k < loc->nstack && r == 0; mg.k++) {
                r = read_layer(&mg, mg.k == loc->nstack - 1 && loc->nstack > 1);
        }
        if (r == 0) {
                fix_upper_dirs(&mg);
                struct stat st;
                ovl_loc_stat(loc, &st);
                r = build(&mg, st.st_ino, dotdot, out);
        }
        merge_free(&mg);
        return r;
}

void ovl_dir_free(struct ovl_dirlist *dl)
{
        if (dl) {
                free(dl->buf);
                free(dl->ents);
                free(dl);
        }
}

/* Does any visible name remain in the merged directory? For rmdir, and
 * allocation-free, since rmdir may run in a signal handler: each name a layer
 * lists is looked up through the stack, where a whiteout may hide it. */
static int name_visible(const struct ovl_loc *loc, const char *rp)
{
        for (int k = 0; k < loc->nstack; k++) {
                int i = loc->stack[k];
                struct stat st;
                int p = i > 0 ? ovl_lcache_probe(loc->m, i, rp, &st)
                              : ovl_marker_probe(&loc->m->layers[i], rp, &st);
                if (p == OVL_P_WHITEOUT) {
                        return 0;
                }
                /* a name in a lower we may not look at (no search permission,
                 * nothing to lend) is one the kernel, looking with the
                 * mounter's rights, would count unless it is a whiteout; an
                 * upper we may not search is lent rights (ovl_dir_empty) */
                if (p == -EACCES && i > 0) {
                        return 1;
                }
                if (p != OVL_P_ABSENT) {
                        return p < 0 ? p : 1;
                }
        }
        return 0;
}

static int layer_empty(const struct ovl_loc *loc, int i)
{
        int fd = ovl_layer_fd(&loc->m->layers[i]);
        int dfd = fd < 0 ? fd
                         : ovl_sys_openat_noatime(fd, ovl_layer_relpath(loc->m, i, loc->rel),
                                                  O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (dfd < 0) {
                return dfd;
        }
        char buf[4096], rp[PATH_MAX];
        ssize_t n;
        int r = 0;
        while (r == 0 && (n = ovl_sys_getdents64(dfd, buf, sizeof(buf))) > 0) {
                for (ssize_t off = 0; off < n && r == 0;) {
                        struct dirent64 *d = (struct dirent64 *)(buf + off);
                        off += d->d_reclen;
                        const char *nm = d->d_name;
                        if ((nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2]))) ||
                            ovl_marker_name(nm, strlen(nm)) || child_path(loc, nm, rp) < 0) {
                                continue;
                        }
                        int v = name_visible(loc, rp);
                        r = v > 0 ? -ENOTEMPTY : v;
                }
        }
        ovl_sys_close(dfd);
        return r;
}

static int dir_empty(const struct ovl_loc *loc)
{
        for (int k = 0; k < loc->nstack; k++) {
                int r = layer_empty(loc, loc->stack[k]);
                if (r < 0) {
                        return r;
                }
        }
        return 0;
}

/* The kernel looks with the mounter's rights: an upper dir of the user's own
 * without read or search permission (a 600 or 311 dir) is lent them. */
int ovl_dir_empty(const struct ovl_loc *loc)
{
        int r = dir_empty(loc);
        struct ovl_lend l;
        if (r == -EACCES && loc->nstack > 0 && loc->stack[0] == 0 &&
            ovl_lend(ovl_layer_fd(&loc->m->layers[0]), ovl_layer_relpath(loc->m, 0, loc->rel), 0500,
                     &l)) {
                r = dir_empty(loc);
                ovl_unlend(&l);
        }
        return r;
}
