/* What was learned about lower layers, kept for the life of the process
 * (DESIGN.md principle 6): lower layers do not change while in use, so a
 * lower directory is read once and every later lookup in it is answered from
 * memory, absent names included.
 *
 * Lookups may run in signal handlers and vfork children, so readers take no
 * lock and nothing here calls malloc: memory comes from an mmap'd arena that
 * is never freed (the cache only grows), tables are published with release
 * stores and are immutable afterwards, and writers serialise on a spinlock
 * with signals blocked. uthash cannot be read concurrently with inserts,
 * which is why this small table is written here. */
#include "lcache.h"
#include "markers.h"
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#define ARENA_CHUNK (1 << 20)
#define NBUCKETS 8192

struct lstat {
        struct stat st;
        bool whiteout;
};

struct lent {
        const char *name;
        struct lstat *st; /* filled on first need, published atomically */
        unsigned char type;
        bool oci_wh; /* a `.wh.NAME` stands beside it */
        bool real;   /* the name itself exists in the layer */
};

struct ldir {
        struct ldir *next;
        const struct ovl_mount *m;
        int layer;
        const char *rel;
        bool opaque;
        bool unreadable; /* could not be listed: ask the kernel each time */
        size_t cap;      /* power of two */
        size_t count;
        struct lent *tab;
};

static struct ldir *buckets[NBUCKETS];
static char *arena;
static size_t arena_left;
static int writer;
static char scratch[32768]; /* getdents buffer, used under the writer lock */

/* Bump allocation under the writer lock. */
static void *arena_alloc(size_t n)
{
        n = (n + 15) & ~(size_t)15;
        if (n > arena_left) {
                size_t sz = n > ARENA_CHUNK ? n : ARENA_CHUNK;
                void *p = (void *)ovl_sys6(SYS_mmap, 0, (long)sz, PROT_READ | PROT_WRITE,
                                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
                if ((unsigned long)p > -4096UL) {
                        return NULL;
                }
                arena = p;
                arena_left = sz;
        }
        void *r = arena;
        arena += n;
        arena_left -= n;
        return r;
}

static char *arena_strdup(const char *s, size_t n)
{
        char *p = arena_alloc(n + 1);
        if (p) {
                memcpy(p, s, n);
                p[n] = '\0';
        }
        return p;
}

static unsigned long hash(const char *s, size_t n, unsigned long h)
{
        for (size_t i = 0; i < n; i++) {
                h = (h ^ (unsigned char)s[i]) * 1099511628211UL;
        }
        return h;
}

static void lock(sigset_t *old)
{
        sigset_t all;
        sigfillset(&all);
        ovl_sys_sigprocmask(SIG_SETMASK, &all, old);
        while (__atomic_exchange_n(&writer, 1, __ATOMIC_ACQUIRE)) {
                ovl_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
        }
}

static void unlock(sigset_t *old)
{
        __atomic_store_n(&writer, 0, __ATOMIC_RELEASE);
        ovl_sys_sigprocmask(SIG_SETMASK, old, NULL);
}

/* fork: no thread may hold the writer lock in the child */
static sigset_t fork_mask;

void ovl_lcache_fork_lock(void)
{
        lock(&fork_mask);
}

void ovl_lcache_fork_unlock(void)
{
        unlock(&fork_mask);
}

/* --- one directory's names ---------------------------------------------------- */

static struct lent *slot(const struct ldir *d, const char *name, size_t n)
{
        size_t i = hash(name, n, 14695981039346656037UL) & (d->cap - 1);
        while (d->tab[i].name && (strncmp(d->tab[i].name, name, n) || d->tab[i].name[n])) {
                i = (i + 1) & (d->cap - 1);
        }
        return &d->tab[i];
}

static int add_name(struct ldir *d, const char *name, unsigned char type)
{
        const char *t = ovl_marker_whiteout_target(name);
        if (t || strcmp(name, ".wh..wh..opq") == 0) {
                if (!t) {
                        d->opaque = true;
                        return 0;
                }
                name = t;
        }
        size_t n = strlen(name);
        struct lent *e = slot(d, name, n);
        if (!e->name) {
                if (++d->count >= d->cap / 2 || !(e->name = arena_strdup(name, n))) {
                        return -ENOMEM; /* grew between the two reads: stop */
                }
        }
        if (t) {
                e->oci_wh = true;
        } else {
                e->real = true;
                e->type = type;
        }
        return 0;
}

static size_t count_and_fill(struct ldir *d, int dfd, char *buf, size_t bufsz, bool fill)
{
        size_t n = 0;
        ovl_sys_lseek(dfd, 0, SEEK_SET);
        ssize_t got;
        while ((got = ovl_sys_getdents64(dfd, buf, bufsz)) > 0) {
                for (ssize_t off = 0; off < got;) {
                        struct dirent64 *e = (struct dirent64 *)(buf + off);
                        off += e->d_reclen;
                        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
                                continue;
                        }
                        n++;
                        if (fill && add_name(d, e->d_name, e->d_type) < 0) {
                                return 0;
                        }
                }
        }
        return n;
}

/* Read the directory twice: once to size the table, once to fill it. */
static void fill(struct ldir *d, int lfd)
{
        int dfd = ovl_sys_openat_noatime(lfd, d->rel[0] ? d->rel : ".",
                                         O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (dfd < 0) {
                d->unreadable = true;
                return;
        }
        size_t n = count_and_fill(d, dfd, scratch, sizeof(scratch), false);
        d->cap = 16;
        while (d->cap < 2 * n + 2) {
                d->cap *= 2;
        }
        d->tab = arena_alloc(d->cap * sizeof(*d->tab));
        if (!d->tab) {
                d->unreadable = true;
        } else {
                memset(d->tab, 0, d->cap * sizeof(*d->tab));
                d->count = 0;
                count_and_fill(d, dfd, scratch, sizeof(scratch), true);
        }
        ovl_sys_close(dfd);
        if (d->rel[0] && !d->opaque) {
                d->opaque = ovl_marker_opaque(lfd, d->rel) == 1;
        }
}

/* --- the index of directories ---------------------------------------------------- */

static struct ldir *find(struct ldir *b, const struct ovl_mount *m, int layer, const char *rel,
                         size_t n)
{
        for (; b; b = __atomic_load_n(&b->next, __ATOMIC_ACQUIRE)) {
                if (b->m == m && b->layer == layer && !strncmp(b->rel, rel, n) && !b->rel[n]) {
                        return b;
                }
        }
        return NULL;
}

static struct ldir *build(struct ldir **bucket, struct ovl_mount *m, int layer, const char *rel,
                          size_t n)
{
        int lfd = ovl_layer_fd(&m->layers[layer]);
        if (lfd < 0) {
                return NULL;
        }
        struct ldir *d = arena_alloc(sizeof(*d));
        char *r = d ? arena_strdup(rel, n) : NULL;
        if (!r) {
                return NULL;
        }
        memset(d, 0, sizeof(*d));
        d->m = m, d->layer = layer, d->rel = r;
        fill(d, lfd);
        d->next = *bucket;
        __atomic_store_n(bucket, d, __ATOMIC_RELEASE);
        return d;
}

static struct ldir *get_dir(struct ovl_mount *m, int layer, const char *rel, size_t n)
{
        unsigned long h = hash(rel, n, 14695981039346656037UL + (unsigned long)layer);
        h = hash((const char *)&m, sizeof(m), h);
        struct ldir **bucket = &buckets[h % NBUCKETS];
        struct ldir *d = find(__atomic_load_n(bucket, __ATOMIC_ACQUIRE), m, layer, rel, n);
        if (d) {
                return d;
        }
        sigset_t old;
        lock(&old);
        d = find(*bucket, m, layer, rel, n);
        if (!d) {
                d = build(bucket, m, layer, rel, n);
        }
        unlock(&old);
        return d;
}

/* --- lookups ------------------------------------------------------------------------ */

static struct lstat *entry_stat(struct ldir *d, struct lent *e, const char *rp)
{
        struct lstat *ls = __atomic_load_n(&e->st, __ATOMIC_ACQUIRE);
        if (ls) {
                return ls;
        }
        struct lstat tmp;
        int lfd = ovl_layer_fd(&d->m->layers[d->layer]);
        if (lfd < 0 || ovl_sys_lstatat(lfd, rp, &tmp.st) < 0) {
                return NULL;
        }
        tmp.whiteout = ovl_marker_is_whiteout(lfd, rp, &tmp.st);
        sigset_t old;
        lock(&old);
        ls = e->st;
        if (!ls && (ls = arena_alloc(sizeof(*ls))) != NULL) {
                *ls = tmp;
                __atomic_store_n(&e->st, ls, __ATOMIC_RELEASE);
        }
        unlock(&old);
        return ls;
}

int ovl_lcache_probe(struct ovl_mount *m, int layer, const char *rp, struct stat *st)
{
        const char *slash = strrchr(rp, '/');
        size_t dl = slash ? (size_t)(slash - rp) : 0;
        const char *name = slash ? slash + 1 : rp;
        struct ldir *d = get_dir(m, layer, rp, dl);
        if (!d || d->unreadable) {
                return ovl_marker_probe(&m->layers[layer], rp, st);
        }
        struct lent *e = slot(d, name, strlen(name));
        if (!e->name) {
                return OVL_P_ABSENT;
        }
        if (!e->real) {
                return OVL_P_WHITEOUT;
        }
        struct lstat *ls = entry_stat(d, e, rp);
        if (!ls) {
                return ovl_marker_probe(&m->layers[layer], rp, st);
        }
        *st = ls->st;
        if (ls->whiteout) {
                return OVL_P_WHITEOUT;
        }
        return e->oci_wh && S_ISDIR(st->st_mode) ? OVL_P_FOUND_OPAQUE : OVL_P_FOUND;
}

int ovl_lcache_opaque(struct ovl_mount *m, int layer, const char *rel)
{
        if (!rel[0]) {
                return 0; /* the root is never opaque (SEMANTICS.md rule 4) */
        }
        struct ldir *d = get_dir(m, layer, rel, strlen(rel));
        if (!d || d->unreadable) {
                return ovl_marker_opaque(ovl_layer_fd(&m->layers[layer]), rel);
        }
        return d->opaque;
}
