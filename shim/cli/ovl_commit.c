/* ovl commit: the upper as a new layer directory in kernel format (chardev
 * whiteouts, user.overlay.opaque), what `docker commit` adds on top of an
 * image; --reset then empties the upper under the work dir's exclusive lock
 * and stacks the new layer on the lowers. ovl squash: a stack flattened. */
#include "ovl.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* --- copying the upper --------------------------------------------------------- */

static void commit_dir(struct copy_ctx *c, int ufd, const char *rel)
{
        char **names;
        int n = list_names(ufd, rel, &names);
        if (n < 0) {
                die("upper %s: %s", *rel ? rel : ".", strerror(-n));
        }
        bool opaque = *rel && raw_opaque(ufd, rel);
        for (int i = 0; i < n; i++) {
                struct stat st;
                const char *target;
                int k = raw_classify(ufd, rel, names[i], &st, &target);
                char *p = path_join(rel, names[i]);
                if (k < 0) {
                        die("upper %s: %s", p, strerror(-k));
                }
                if (k == RAW_WHITEOUT && !opaque) { /* rule 21: none inside opaque dirs */
                        int r = write_whiteout(c->droot, rel, target);
                        if (r < 0 && r != -EEXIST) {
                                die("whiteout %s: %s", p, strerror(-r));
                        }
                } else if (k == RAW_DATA) {
                        int r = copy_object(c, ufd, p, &st, p);
                        if (r < 0) {
                                die("copying %s: %s", p, strerror(-r));
                        }
                        if (S_ISDIR(st.st_mode)) {
                                if (raw_opaque(ufd, p) && write_opaque(c->droot, p) < 0) {
                                        die("%s: cannot mark opaque: %s", p, strerror(errno));
                                }
                                commit_dir(c, ufd, p);
                                copy_dir_finish(c, p, &st);
                        }
                }
                free(p);
        }
        free_names(names, n);
}

/* Copy the layer tree at `src` (markers in any format) to the new directory
 * `dst` in kernel format. */
static void copy_layer(const char *src, const char *dst)
{
        struct ovl_layer l;
        layer_init(&l, src);
        int ufd = layer_fd(&l);
        struct copy_ctx c = {.droot = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
        if (c.droot < 0) {
                die("%s: %s", dst, strerror(errno));
        }
        commit_dir(&c, ufd, "");
        struct stat st;
        if (fstat(ufd, &st) == 0) {
                copy_dir_finish(&c, "", &st);
        }
        copy_report(&c);
        copy_ctx_free(&c);
        close(c.droot);
        free(l.path);
}

/* --- the lock and the config -------------------------------------------------- */

/* The work dir's lock, exclusively, or a clear refusal (DESIGN.md "Work dir
 * and concurrency"): a job writing meanwhile would leave a half-written file
 * in the new layer. `what` the refused step. Returns the fd holding it. */
static int lock_work(const char *workdir, const char *what)
{
        char *dir = xasprintf("%s/ovlshim", workdir), *p = xasprintf("%s/lock", dir);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                die("%s: %s", dir, strerror(errno));
        }
        int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
                die("%s: %s", p, strerror(errno));
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                die("a job is using this overlay (%s is held): not %s its upper; "
                    "try again when the job has ended",
                    p, what);
        }
        free(p);
        free(dir);
        return fd;
}

/* Index of the first unescaped character of seps in s, or strlen(s). */
static size_t scan_to(const char *s, const char *seps)
{
        size_t i = 0;
        while (s[i] && !strchr(seps, s[i])) {
                i += (s[i] == '\\' && s[i + 1]) ? 2 : 1;
        }
        return i;
}

/* The config text with `add` put in front of the lowerdir of line `lineno`. */
static char *conf_with_lower(const char *text, int lineno, const char *add, const char *conf)
{
        const char *line = text;
        for (int i = 1; i < lineno && line; i++) {
                line = strchr(line, '\n');
                line = line ? line + 1 : NULL;
        }
        size_t len = line ? strcspn(line, "\n") : 0;
        char *l = line ? strndup(line, len) : NULL;
        const char *field[6];
        int nf = 0;
        for (size_t i = 0; l && l[i] && nf < 6;) {
                i += strspn(l + i, " \t");
                if (l[i]) {
                        field[nf++] = l + i;
                        i += scan_to(l + i, " \t");
                }
        }
        const char *opts = nf == 2 ? field[1] : nf >= 4 ? field[3] : NULL;
        const char *at = NULL;
        for (const char *o = opts; o && *o && *o != ' ' && *o != '\t';) {
                if (!strncmp(o, "lowerdir=", 9)) {
                        at = o + 9;
                        break;
                }
                o += scan_to(o, ", \t");
                o += *o == ',';
        }
        if (!at) {
                die("%s:%d: no lowerdir option found to rewrite", conf, lineno);
        }
        size_t off = (size_t)(line - text) + (size_t)(at - l);
        char *out = xasprintf("%.*s%s:%s", (int)off, text, add, text + off);
        free(l);
        return out;
}

static char *read_text(const char *path)
{
        FILE *f = fopen(path, "re");
        if (!f) {
                die("%s: %s", path, strerror(errno));
        }
        struct sbuf b = {0};
        char buf[4096];
        size_t got;
        sb_puts(&b, "");
        while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
                sb_putn(&b, buf, got);
        }
        fclose(f);
        return b.p;
}

/* Put `newlayer` on top of the lowerdir of the overlay in its config file,
 * checked by the core's parser first, replaced atomically. */
static void rewrite_conf(const struct ovl_target *t, const char *newlayer)
{
        char *conf = realpath(t->conf, NULL);
        if (!conf) {
                die("%s: %s", t->conf, strerror(errno));
        }
        char *text = read_text(conf);
        char *dir = xstrdup(conf);
        const char *base = dirname(dir);
        ssize_t rel = ovl_path_under(newlayer, base, strlen(base));
        /* relative to the config's directory when below it, so it stays movable */
        char *esc = escape_path(rel > 0 && newlayer[rel] ? newlayer + rel : newlayer);
        char *next = conf_with_lower(text, t->m->line, esc, conf);
        struct ovl_config cfg = {0};
        struct ovl_error err = {{0}};
        if (ovl_config_parse(next, strlen(next), base, conf, &cfg, &err) < 0 ||
            ovl_config_check(&cfg, &err) < 0) {
                die("the new config would be invalid: %s", err.msg);
        }
        ovl_config_free(&cfg);
        char *tmp = xasprintf("%s.ovl-%d", conf, (int)getpid());
        struct stat st;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        size_t n = strlen(next);
        if (fd < 0 || write(fd, next, n) != (ssize_t)n || fsync(fd) < 0 ||
            (stat(conf, &st) == 0 && fchmod(fd, st.st_mode & 07777) < 0) || close(fd) < 0 ||
            rename(tmp, conf) < 0) {
                int e = errno;
                unlink(tmp);
                die("cannot rewrite %s: %s", conf, strerror(e));
        }
        free(tmp);
        free(dir);
        free(next);
        free(esc);
        free(text);
        free(conf);
}

/* --- the commands ------------------------------------------------------------ */

static void check_outside(const char *out, const char *dir, const char *what)
{
        if (dir && ovl_path_under(out, dir, strlen(dir)) >= 0) {
                die("NEWLAYER %s lies inside the %s %s", out, what, dir);
        }
        if (dir && ovl_path_under(dir, out, strlen(out)) >= 0) {
                die("NEWLAYER %s contains the %s %s", out, what, dir);
        }
}

int cmd_commit(int argc, char **argv)
{
        bool reset = false;
        const char *workdir = NULL;
        char **rest = xmalloc((size_t)(argc + 1) * sizeof(char *));
        int nr = 0;
        for (int i = 0; i < argc; i++) {
                if (!strcmp(argv[i], "--reset")) {
                        reset = true;
                } else if (!strcmp(argv[i], "--workdir") && i + 1 < argc) {
                        workdir = argv[++i];
                } else if (argv[i][0] == '-' && argv[i][1] == '-') {
                        usage_die("unknown option '%s'", argv[i]);
                } else {
                        rest[nr++] = argv[i];
                }
        }
        if (nr < 1) {
                usage_die("missing NEWLAYER");
        }
        struct ovl_target t;
        target_parse(&t, rest, nr, 1);
        if (t.m) {
                workdir = t.m->workdir;
        }
        if (reset && !workdir) {
                usage_die("--reset needs the work dir, to take its lock: use -c CONF or "
                          "--workdir WORK");
        }
        const char *newlayer = rest[nr - 1];
        /* without a work dir (plain directories) there is no lock to take */
        int lock = workdir ? lock_work(workdir, reset ? "resetting" : "committing") : -1;
        char *out = abs_path(newlayer);
        char *up = realpath(t.upper, NULL);
        if (!up) {
                die("%s: %s", t.upper, strerror(errno));
        }
        check_outside(out, up, "upper");
        check_outside(out, workdir, "work dir");
        check_outside(out, t.m ? t.m->merged : NULL, "MERGED");
        for (int i = 0; i < t.nlowers; i++) {
                check_outside(out, t.lowers[i], "lower");
        }
        prepare_out_dir(out);
        copy_layer(up, out);
        if (reset) {
                if (t.m) {
                        rewrite_conf(&t, out);
                } else {
                        struct sbuf b = {0};
                        sb_printf(&b, "lowerdir=");
                        char *e = escape_path(out);
                        sb_puts(&b, e);
                        free(e);
                        for (int i = 0; i < t.nlowers; i++) {
                                e = escape_path(t.lowers[i]);
                                sb_printf(&b, ":%s", e);
                                free(e);
                        }
                        printf("%s\n", b.p);
                        free(b.p);
                }
                int r = empty_dir(up);
                if (r < 0) {
                        die("emptying the upper %s: %s", up, strerror(-r));
                }
                close(lock); /* then leftovers of killed jobs go too */
                lock = -1;
                if (t.m) {
                        ovl_work_clean(t.m, true);
                }
        }
        if (lock >= 0) {
                close(lock);
        }
        free(out);
        free(up);
        free(rest);
        return 0;
}

static void squash_dir(struct copy_ctx *c, struct ovl_stack *s, const struct ovl_node *dir,
                       const char *rel)
{
        struct ovl_node *v;
        int n = stack_list(s, dir->stack, dir->nstack, rel, &v);
        for (int i = 0; i < n; i++) {
                char *p = path_join(rel, v[i].name);
                int r = copy_object(c, layer_fd(&s->layers[v[i].top]), p, &v[i].st, p);
                if (r < 0) {
                        die("copying %s: %s", p, strerror(-r));
                }
                if (S_ISDIR(v[i].st.st_mode)) {
                        squash_dir(c, s, &v[i], p);
                        copy_dir_finish(c, p, &v[i].st);
                }
                free(p);
        }
        nodes_free(v, n);
}

int cmd_squash(int argc, char **argv)
{
        if (argc != 2) {
                usage_die("usage: ovl squash OUT L1:L2:...");
        }
        struct ovl_target t = {0};
        split_layers(argv[1], &t.lowers, &t.nlowers);
        struct ovl_stack s;
        target_stack(&t, false, &s);
        prepare_out_dir(argv[0]);
        struct copy_ctx c = {.droot = open(argv[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
        if (c.droot < 0) {
                die("%s: %s", argv[0], strerror(errno));
        }
        struct ovl_node root = {0};
        root.stack = stack_root(&s, &root.nstack);
        squash_dir(&c, &s, &root, "");
        struct stat st;
        if (fstat(layer_fd(&s.layers[0]), &st) == 0) {
                copy_dir_finish(&c, "", &st);
        }
        copy_report(&c);
        copy_ctx_free(&c);
        node_free(&root);
        close(c.droot);
        return 0;
}
