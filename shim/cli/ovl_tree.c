/* A stack of layer directories seen the way the kernel merges them
 * (SEMANTICS.md rule 2), and the raw entries of one layer. Whiteouts and
 * opaque markers are recognised by the core's markers.c in every format. */
#include "markers.h"
#include "ovl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int stack_lookup(struct ovl_stack *s, const int *dstack, int nd, const char *dir, const char *name,
                 struct ovl_node *node)
{
        char *rp = path_join(dir, name);
        *node = (struct ovl_node){.top = -1};
        int r = 0;
        for (int i = 0; i < nd; i++) {
                struct ovl_layer *l = &s->layers[dstack[i]];
                struct stat st;
                int p = ovl_marker_probe(l, rp, &st);
                if (p < 0) {
                        r = p;
                        break;
                }
                if (p == OVL_P_ABSENT) {
                        continue;
                }
                if (p == OVL_P_WHITEOUT) {
                        break;
                }
                bool dir_here = S_ISDIR(st.st_mode);
                if (node->top < 0) {
                        node->top = dstack[i];
                        node->st = st;
                        if (dir_here) {
                                node->stack = xmalloc((size_t)nd * sizeof(int));
                        }
                }
                if (!dir_here || !S_ISDIR(node->st.st_mode)) {
                        break; /* a non-directory ends the lookup */
                }
                node->stack[node->nstack++] = dstack[i];
                bool opq = p == OVL_P_FOUND_OPAQUE || ovl_marker_opaque(layer_fd(l), rp) == 1;
                if (opq) {
                        node->opaque_upper = node->nstack == 1;
                        break;
                }
        }
        free(rp);
        if (r < 0 || node->top < 0) {
                free(node->stack);
                node->stack = NULL;
                return r;
        }
        node->name = xstrdup(name);
        return 1;
}

void node_free(struct ovl_node *n)
{
        free(n->name);
        free(n->stack);
}

void nodes_free(struct ovl_node *v, int n)
{
        for (int i = 0; i < n; i++) {
                node_free(&v[i]);
        }
        free(v);
}

int *stack_root(struct ovl_stack *s, int *nd)
{
        int *v = xmalloc((size_t)s->n * sizeof(int));
        for (int i = 0; i < s->n; i++) {
                v[i] = i;
        }
        *nd = s->n;
        return v;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int stack_list(struct ovl_stack *s, const int *dstack, int nd, const char *dir,
               struct ovl_node **out)
{
        char **cand = NULL;
        int nc = 0;
        for (int i = 0; i < nd; i++) {
                char **names;
                int n = list_names(layer_fd(&s->layers[dstack[i]]), dir, &names);
                if (n < 0) {
                        die("%s/%s: %s", s->layers[dstack[i]].path, dir, strerror(-n));
                }
                cand = xrealloc(cand, (size_t)(nc + n) * sizeof(*cand));
                for (int k = 0; k < n; k++) {
                        if (ovl_marker_name(names[k], strlen(names[k]))) {
                                free(names[k]);
                        } else {
                                cand[nc++] = names[k];
                        }
                }
                free(names);
        }
        if (nc) {
                qsort(cand, (size_t)nc, sizeof(*cand), cmp_str);
        }
        struct ovl_node *v = xmalloc((size_t)nc * sizeof(*v));
        int nv = 0;
        for (int i = 0; i < nc; i++) {
                if (i > 0 && !strcmp(cand[i], cand[i - 1])) {
                        continue;
                }
                int r = stack_lookup(s, dstack, nd, dir, cand[i], &v[nv]);
                if (r < 0) {
                        die("%s/%s: %s", dir, cand[i], strerror(-r));
                }
                nv += r;
        }
        free_names(cand, nc);
        *out = v;
        return nv;
}

int raw_classify(int lfd, const char *dir, const char *name, struct stat *st, const char **target)
{
        char *rp = path_join(dir, name);
        int r = fstatat(lfd, rp, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : RAW_DATA;
        *target = name;
        if (r == 0 && !strncmp(name, ".wh.", 4)) {
                if (!strcmp(name, ".wh..wh..opq")) {
                        r = RAW_OPQ;
                } else if (!strncmp(name, ".wh..wh.", 8) || !strcmp(name, ".wh..opq") || !name[4]) {
                        r = RAW_AUFS_META; /* AUFS or fuse-overlayfs bookkeeping */
                } else {
                        r = RAW_WHITEOUT;
                        *target = name + 4;
                }
        } else if (r == 0 && ovl_marker_is_whiteout(lfd, rp, st)) {
                r = RAW_WHITEOUT;
        }
        free(rp);
        return r;
}

bool raw_opaque(int lfd, const char *rel)
{
        return ovl_marker_opaque(lfd, rel) == 1;
}
