/* ovl diff: what an upper changes in the merged view, as `docker diff` says it.
 *
 * The old view is the stack of lowers, the new one the upper on top of it.
 * Only directories the upper holds can differ, so the walk follows the upper:
 *   A  a name visible now and not before (and everything below a new dir);
 *   D  a name visible before and not now (only the top of a deleted tree);
 *   C  a name the upper holds now that was there before: a copied-up file,
 *      a directory whose own mode, owner or mtime changed, that was made
 *      opaque, or that has any change below it (so every ancestor of a
 *      change is C, as docker reports them).
 * Lines are sorted bytewise by path. */
#include "ovl.h"

#include <openssl/evp.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct change {
        char kind;
        char *path; /* "/a/b" */
};

struct diff {
        struct ovl_stack s;
        struct change *v;
        size_t n, cap;
};

static void add(struct diff *d, char kind, const char *rel)
{
        if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 64;
                d->v = xrealloc(d->v, d->cap * sizeof(*d->v));
        }
        d->v[d->n++] = (struct change){kind, xasprintf("/%s", rel)};
}

/* Everything below a new directory is new. */
static void all_added(struct diff *d, const char *rel, const struct ovl_node *node)
{
        struct ovl_node *kids;
        int nk = stack_list(&d->s, node->stack, node->nstack, rel, &kids);
        for (int i = 0; i < nk; i++) {
                char *p = path_join(rel, kids[i].name);
                add(d, 'A', p);
                if (S_ISDIR(kids[i].st.st_mode)) {
                        all_added(d, p, &kids[i]);
                }
                free(p);
        }
        nodes_free(kids, nk);
}

static bool meta_differs(const struct stat *a, const struct stat *b)
{
        return a->st_mode != b->st_mode || a->st_uid != b->st_uid || a->st_gid != b->st_gid ||
               a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec;
}

/* Compare directory `rel` (held by the upper) in both views; the number of
 * changes found below it. */
static size_t diff_dir(struct diff *d, const char *rel, const struct ovl_node *now,
                       const struct ovl_node *before)
{
        size_t start = d->n;
        struct ovl_node *nv, *ov = NULL;
        int nn = stack_list(&d->s, now->stack, now->nstack, rel, &nv);
        int no = before ? stack_list(&d->s, before->stack, before->nstack, rel, &ov) : 0;
        int i = 0, k = 0;
        while (i < nn || k < no) {
                int c = i == nn ? 1 : k == no ? -1 : strcmp(nv[i].name, ov[k].name);
                char *p = path_join(rel, c <= 0 ? nv[i].name : ov[k].name);
                if (c < 0) {
                        add(d, 'A', p);
                        if (S_ISDIR(nv[i].st.st_mode)) {
                                all_added(d, p, &nv[i]);
                        }
                } else if (c > 0) {
                        add(d, 'D', p);
                } else if (nv[i].top == 0) { /* the upper holds it */
                        bool dn = S_ISDIR(nv[i].st.st_mode), db = S_ISDIR(ov[k].st.st_mode);
                        size_t at = d->n;
                        add(d, 'C', p);
                        if (dn && !db) {
                                all_added(d, p, &nv[i]);
                        } else if (dn && db && diff_dir(d, p, &nv[i], &ov[k]) == 0 &&
                                   !nv[i].opaque_upper && !meta_differs(&nv[i].st, &ov[k].st)) {
                                free(d->v[at].path); /* an untouched copied-up dir */
                                d->v[at] = d->v[--d->n];
                        }
                }
                free(p);
                i += c <= 0;
                k += c >= 0;
        }
        nodes_free(nv, nn);
        nodes_free(ov, no);
        return d->n - start;
}

static int cmp_change(const void *a, const void *b)
{
        return strcmp(((const struct change *)a)->path, ((const struct change *)b)->path);
}

/* Text lines: a backslash, a newline and other control bytes are written as
 * C escapes, so one line is one path. */
static void print_text(const struct change *c)
{
        printf("%c ", c->kind);
        for (const unsigned char *p = (const unsigned char *)c->path; *p; p++) {
                if (*p == '\\') {
                        fputs("\\\\", stdout);
                } else if (*p == '\n') {
                        fputs("\\n", stdout);
                } else if (*p < 0x20 || *p == 0x7f) {
                        printf("\\%03o", *p);
                } else {
                        putchar(*p);
                }
        }
        putchar('\n');
}

/* Length of a valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
        size_t len = *p < 0x80             ? 1
                     : (*p & 0xe0) == 0xc0 ? 2
                     : (*p & 0xf0) == 0xe0 ? 3
                     : (*p & 0xf8) == 0xf0 ? 4
                                           : 0;
        if (!len || len > n || (len == 2 && *p < 0xc2) || (len == 4 && *p > 0xf4)) {
                return 0;
        }
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80) {
                        return 0;
                }
        }
        unsigned cp = len == 1 ? *p : *p & (0x7f >> len);
        for (size_t i = 1; i < len; i++) {
                cp = cp << 6 | (p[i] & 0x3f);
        }
        bool overlong = (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
        return overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0 : len;
}

/* JSON: {"kind":"A","path":"/x"}; a path that is not valid UTF-8 has each
 * invalid byte replaced by U+FFFD in "path" and its exact bytes, base64, in
 * "path_base64". */
static json_t *json_change(const struct change *c)
{
        const unsigned char *s = (const unsigned char *)c->path;
        size_t n = strlen(c->path);
        struct sbuf fixed = {0};
        bool valid = true;
        for (size_t i = 0; i < n;) {
                size_t l = utf8_len(s + i, n - i);
                if (l) {
                        sb_putn(&fixed, s + i, l);
                        i += l;
                } else {
                        sb_puts(&fixed, "\xef\xbf\xbd");
                        valid = false;
                        i++;
                }
        }
        char kind[2] = {c->kind, 0};
        json_t *o = json_pack("{s:s, s:s}", "kind", kind, "path", fixed.p);
        if (!valid) {
                char *b64 = xmalloc(4 * ((n + 2) / 3) + 1);
                EVP_EncodeBlock((unsigned char *)b64, s, (int)n);
                json_object_set_new(o, "path_base64", json_string(b64));
                free(b64);
        }
        free(fixed.p);
        return o;
}

int cmd_diff(int argc, char **argv)
{
        bool json = false;
        int i = 0;
        for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "-c"); i++) {
                if (!strcmp(argv[i], "--json")) {
                        json = true;
                } else if (!strcmp(argv[i], "--")) {
                        i++;
                        break;
                } else {
                        usage_die("unknown option '%s'", argv[i]);
                }
        }
        struct ovl_target t;
        target_parse(&t, argv + i, argc - i, 0);
        struct diff d = {0};
        target_stack(&t, true, &d.s);
        struct ovl_node now = {.name = xstrdup("")}, before = {.name = xstrdup("")};
        now.stack = stack_root(&d.s, &now.nstack);
        before.stack = xmalloc((size_t)d.s.n * sizeof(int));
        for (int k = 1; k < d.s.n; k++) {
                before.stack[before.nstack++] = k;
        }
        diff_dir(&d, "", &now, &before);
        if (d.n) {
                qsort(d.v, d.n, sizeof(*d.v), cmp_change);
        }
        if (json) { /* an array, one change a line */
                fputs("[", stdout);
        }
        for (size_t k = 0; k < d.n; k++) {
                if (json) {
                        json_t *o = json_change(&d.v[k]);
                        fputs(k ? ",\n " : "\n ", stdout);
                        json_dumpf(o, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);
                        json_decref(o);
                } else {
                        print_text(&d.v[k]);
                }
                free(d.v[k].path);
        }
        if (json) {
                fputs(d.n ? "\n]\n" : "]\n", stdout);
        }
        free(d.v);
        node_free(&now);
        node_free(&before);
        if (fflush(stdout) != 0) {
                die("write error");
        }
        return 0;
}
