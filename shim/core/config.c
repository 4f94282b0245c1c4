/* OVL_CONF (DESIGN.md section 1): parsing, which touches no file system so
 * that it can be fuzzed, and the file-system checks, which go through sys.h
 * only because the preload library interposes libc's file functions. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ovlshim.h"
#include "sys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONF_MAX_SIZE (1 << 20)

/* A piece of the config text; not NUL-terminated. */
struct span {
        const char *s;
        size_t n;
};

/* What messages point at: "file:line: " (line 0: the file as a whole). */
struct where {
        const char *file;
        int line;
        struct ovl_error *err;
};

static int fail(const struct where *w, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(const struct where *w, int rc, const char *fmt, ...)
{
        if (!w->err) {
                return rc;
        }
        char *msg = w->err->msg;
        size_t cap = sizeof(w->err->msg);
        int k = w->line > 0 ? snprintf(msg, cap, "%s:%d: ", w->file, w->line)
                            : snprintf(msg, cap, "%s: ", w->file);
        if (k >= 0 && (size_t)k < cap) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(msg + k, cap - (size_t)k, fmt, ap);
                va_end(ap);
        }
        /* Paths are quoted as written: keep the message on one line. */
        for (char *c = msg; *c; c++) {
                if ((unsigned char)*c < 0x20 || *c == 0x7f) {
                        *c = '?';
                }
        }
        return rc;
}

static int no_memory(const struct where *w)
{
        return fail(w, -ENOMEM, "out of memory");
}

static bool span_is(struct span v, const char *s)
{
        return strlen(s) == v.n && (v.n == 0 || memcmp(v.s, s, v.n) == 0);
}

/* Is v one of the '|'-separated words of list? */
static bool in_list(const char *list, struct span v)
{
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, "|");
                if (n == v.n && memcmp(p, v.s, n) == 0) {
                        return true;
                }
                p += n + (p[n] == '|');
        }
        return false;
}

/* Index of the first unescaped character of seps in s[0..n), or n. */
static size_t scan_to(const char *s, size_t n, const char *seps)
{
        size_t i = 0;
        while (i < n && !memchr(seps, s[i], strlen(seps))) {
                i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
        }
        return i;
}

/* The next sep-separated piece of *rest, empty pieces included (they are
 * errors the caller names). False once the last piece has been taken. */
static bool next_piece(struct span *rest, char sep, struct span *piece)
{
        if (!rest->s) {
                return false;
        }
        char seps[2] = {sep, 0};
        size_t i = scan_to(rest->s, rest->n, seps);
        *piece = (struct span){rest->s, i};
        *rest =
            i < rest->n ? (struct span){rest->s + i + 1, rest->n - i - 1} : (struct span){NULL, 0};
        return true;
}

/* Blank-separated fields of a line; returns their count, at most max + 1 (so
 * that "too many" is visible) while filling at most max. */
static int split_fields(struct span line, struct span *f, int max)
{
        int nf = 0;
        size_t i = 0;
        while (nf <= max) {
                while (i < line.n && (line.s[i] == ' ' || line.s[i] == '\t')) {
                        i++;
                }
                if (i == line.n) {
                        break;
                }
                size_t k = scan_to(line.s + i, line.n - i, " \t");
                if (nf < max) {
                        f[nf] = (struct span){line.s + i, k};
                }
                nf++;
                i += k;
        }
        return nf;
}

/* One escape starting at the backslash v.s[*i]: \NNN is an octal byte as in
 * fstab (\040 a space); a backslash before anything else keeps that
 * character, as the kernel's \: \, \\ do. A lone digit is refused: "\0"
 * reads as a truncated octal escape, not as a zero. */
static int unescape_one(const struct where *w, struct span v, size_t *i, char *c)
{
        size_t j = *i + 1;
        if (j == v.n) {
                return fail(w, -EINVAL, "trailing backslash in '%.*s'", (int)v.n, v.s);
        }
        if (v.s[j] < '0' || v.s[j] > '9') {
                *c = v.s[j];
                *i = j;
                return 0;
        }
        unsigned val = 0;
        for (size_t k = j; k < j + 3; k++) {
                if (k == v.n || v.s[k] < '0' || v.s[k] > '7') {
                        val = 0;
                        break;
                }
                val = val * 8 + (unsigned)(v.s[k] - '0');
        }
        if (val == 0 || val > 0377) {
                return fail(w, -EINVAL, "bad escape in '%.*s' (octal ones are \\001 to \\377)",
                            (int)v.n, v.s);
        }
        *c = (char)val;
        *i = j + 2;
        return 0;
}

static int unescape(const struct where *w, struct span v, char **out)
{
        char *o = malloc(v.n + 1);
        if (!o) {
                return no_memory(w);
        }
        size_t k = 0;
        for (size_t i = 0; i < v.n; i++) {
                char c = v.s[i];
                int r = c == '\\' ? unescape_one(w, v, &i, &c) : 0;
                if (r < 0) {
                        free(o);
                        return r;
                }
                o[k++] = c;
        }
        o[k] = '\0';
        *out = o;
        return 0;
}

/* Append the components of s to o (length k), dropping empty and "." ones. */
static size_t append_clean(char *o, size_t k, const char *s)
{
        while (*s) {
                size_t n = strcspn(s, "/");
                if (n && !(n == 1 && *s == '.')) {
                        if (k && o[k - 1] != '/') {
                                o[k++] = '/';
                        }
                        memcpy(o + k, s, n);
                        k += n;
                }
                s += n;
                s += *s == '/';
        }
        return k;
}

/* base/path, lexically tidied. ".." stays: past a symlink only the file
 * system knows where it leads, and ovl_config_check asks it. */
static char *join_path(const char *base, const char *path)
{
        size_t bl = base ? strlen(base) : 0;
        char *o = malloc(bl + strlen(path) + 3);
        if (!o) {
                return NULL;
        }
        size_t k = 0;
        if ((base ? base : path)[0] == '/') {
                o[k++] = '/';
        }
        if (base) {
                k = append_clean(o, k, base);
        }
        k = append_clean(o, k, path);
        if (k == 0) {
                o[k++] = '.';
        }
        o[k] = '\0';
        return o;
}

static int make_path(const struct where *w, const char *base, struct span raw, const char *what,
                     char **out)
{
        char *p = NULL;
        int r = unescape(w, raw, &p);
        if (r < 0) {
                return r;
        }
        char *j = p[0] ? join_path(p[0] == '/' ? NULL : base, p) : NULL;
        if (!p[0]) {
                r = fail(w, -EINVAL, "empty %s path", what);
        } else if (!j) {
                r = no_memory(w);
        } else if (j[0] != '/') {
                r = fail(w, -EINVAL, "%s '%s' is not an absolute path", what, j);
        } else if (strlen(j) >= PATH_MAX) {
                r = fail(w, -EINVAL, "%s path is too long", what);
        }
        free(p);
        if (r < 0) {
                free(j);
                return r;
        }
        *out = j;
        return 0;
}

enum {
        OPT_LOWER,
        OPT_UPPER,
        OPT_WORK,
        OPT_WHITEOUT,
        OPT_VOLATILE,
        OPT_USERXATTR,
        OPT_REDIRECT,
        OPT_INDEX,
        OPT_METACOPY,
        OPT_XINO,
        OPT_UUID,
        OPT_NFS_EXPORT,
        OPT_COUNT
};

/* The options ovlshim takes. `ok` lists the values (NULL: any) that describe
 * what ovlshim does anyway; `refused` those naming a kernel feature it lacks,
 * so that the message says "not supported" rather than "bad value". */
static const struct opt_def {
        const char *name;
        bool value;
        const char *ok;
        const char *refused;
} opt_defs[OPT_COUNT] = {
    [OPT_LOWER] = {"lowerdir", true, NULL, NULL},
    [OPT_UPPER] = {"upperdir", true, NULL, NULL},
    [OPT_WORK] = {"workdir", true, NULL, NULL},
    [OPT_WHITEOUT] = {"whiteout", true, "auto|chardev|oci", NULL},
    [OPT_VOLATILE] = {"volatile", false, NULL, NULL},
    [OPT_USERXATTR] = {"userxattr", false, NULL, NULL},
    [OPT_REDIRECT] = {"redirect_dir", true, "off|nofollow", "on|follow"},
    [OPT_INDEX] = {"index", true, "off", "on"},
    [OPT_METACOPY] = {"metacopy", true, "off", "on"},
    [OPT_XINO] = {"xino", true, "off", "on|auto"},
    [OPT_UUID] = {"uuid", true, NULL, NULL},
    [OPT_NFS_EXPORT] = {"nfs_export", true, "off", "on"},
};

/* Kernel options for features ovlshim lacks, whatever their value. */
static const char *const unsupported = "verity|lowerdir+|datadir+";

struct opts {
        bool seen[OPT_COUNT];
        struct span val[OPT_COUNT];
};

static int find_opt(struct span key)
{
        for (int i = 0; i < OPT_COUNT; i++) {
                if (span_is(key, opt_defs[i].name)) {
                        return i;
                }
        }
        return -1;
}

static int check_value(const struct where *w, const struct opt_def *d, struct span opt,
                       bool has_val, struct span val)
{
        if (d->value != has_val) {
                return fail(w, -EINVAL, "option '%s' %s", d->name,
                            d->value ? "needs a value" : "takes no value");
        }
        if (d->refused && in_list(d->refused, val)) {
                return fail(w, -EINVAL, "option '%.*s' is not supported by ovlshim", (int)opt.n,
                            opt.s);
        }
        if (d->ok && !in_list(d->ok, val)) {
                return fail(w, -EINVAL, "bad value '%.*s' for option '%s' (expected %s)",
                            (int)val.n, val.s, d->name, d->ok);
        }
        return 0;
}

static int add_option(const struct where *w, struct span opt, struct opts *o)
{
        if (opt.n == 0) {
                return fail(w, -EINVAL, "empty option");
        }
        const char *eq = memchr(opt.s, '=', opt.n);
        struct span key = {opt.s, eq ? (size_t)(eq - opt.s) : opt.n};
        struct span val = {eq ? eq + 1 : opt.s + opt.n, eq ? opt.n - key.n - 1 : 0};
        if (in_list(unsupported, key)) {
                return fail(w, -EINVAL, "option '%.*s' is not supported by ovlshim", (int)opt.n,
                            opt.s);
        }
        int id = find_opt(key);
        if (id < 0) {
                return fail(w, -EINVAL, "unknown option '%.*s'", (int)key.n, key.s);
        }
        if (o->seen[id]) {
                return fail(w, -EINVAL, "option '%s' given twice", opt_defs[id].name);
        }
        int r = check_value(w, &opt_defs[id], opt, eq != NULL, val);
        o->seen[id] = true;
        o->val[id] = val;
        return r;
}

static int parse_options(const struct where *w, struct span text, struct opts *o)
{
        struct span opt;
        while (next_piece(&text, ',', &opt)) {
                int r = add_option(w, opt, o);
                if (r < 0) {
                        return r;
                }
        }
        if (!o->seen[OPT_LOWER]) {
                return fail(w, -EINVAL, "missing lowerdir");
        }
        if (o->seen[OPT_UPPER] != o->seen[OPT_WORK]) {
                return fail(w, -EINVAL, "%s",
                            o->seen[OPT_UPPER] ? "upperdir needs a workdir"
                                               : "workdir needs an upperdir");
        }
        return 0;
}

static int count_pieces(struct span v, char sep)
{
        struct span piece;
        int n = 0;
        while (n <= OVL_MAX_LOWER && next_piece(&v, sep, &piece)) {
                n++;
        }
        return n;
}

static int add_lower(const struct where *w, const char *base, struct span raw, bool more,
                     struct ovl_layer *l)
{
        if (raw.n == 0) {
                return fail(w, -EINVAL, "empty path in lowerdir%s",
                            more ? " (data-only layers '::' are not supported)" : "");
        }
        int r = make_path(w, base, raw, "lowerdir", &l->path);
        l->len = r < 0 ? 0 : strlen(l->path);
        return r;
}

/* layers[0] is the upper (path NULL: read-only), then the lowers top first. */
static int set_layers(const struct where *w, const char *base, struct ovl_mount *m,
                      const struct opts *o)
{
        int n = count_pieces(o->val[OPT_LOWER], ':');
        if (n > OVL_MAX_LOWER) {
                return fail(w, -EINVAL, "more than %d lowerdirs", OVL_MAX_LOWER);
        }
        m->layers = calloc((size_t)n + 1, sizeof(*m->layers));
        if (!m->layers) {
                return no_memory(w);
        }
        m->nlayers = n + 1;
        for (int i = 0; i <= n; i++) {
                m->layers[i].fd = -1;
        }
        struct span rest = o->val[OPT_LOWER], piece;
        for (int i = 1; next_piece(&rest, ':', &piece); i++) {
                int r = add_lower(w, base, piece, i > 1 && rest.s, &m->layers[i]);
                if (r < 0) {
                        return r;
                }
        }
        if (!o->seen[OPT_UPPER]) {
                return 0;
        }
        int r = make_path(w, base, o->val[OPT_UPPER], "upperdir", &m->layers[0].path);
        m->layers[0].len = r < 0 ? 0 : strlen(m->layers[0].path);
        return r < 0 ? r : make_path(w, base, o->val[OPT_WORK], "workdir", &m->workdir);
}

/* Append a zeroed mount, the array growing in powers of two. */
static struct ovl_mount *new_mount(struct ovl_config *cfg)
{
        int n = cfg->nmounts;
        if ((n & (n - 1)) == 0) {
                struct ovl_mount *p = realloc(cfg->mounts, (n ? 2 * (size_t)n : 1) * sizeof(*p));
                if (!p) {
                        return NULL;
                }
                cfg->mounts = p;
        }
        struct ovl_mount *m = &cfg->mounts[cfg->nmounts++];
        memset(m, 0, sizeof(*m));
        return m;
}

static int add_mount(const struct where *w, const char *base, struct ovl_config *cfg,
                     struct span merged, struct span options)
{
        struct ovl_mount *m = new_mount(cfg);
        if (!m) {
                return no_memory(w);
        }
        m->line = w->line;
        int r = make_path(w, base, merged, "merged", &m->merged);
        if (r < 0) {
                return r;
        }
        m->merged_len = strlen(m->merged);
        struct opts o;
        memset(&o, 0, sizeof(o));
        r = parse_options(w, options, &o);
        if (r < 0) {
                return r;
        }
        struct span wh = o.val[OPT_WHITEOUT];
        m->whiteout = span_is(wh, "chardev") ? OVL_WH_CHARDEV
                      : span_is(wh, "oci")   ? OVL_WH_OCI
                                             : OVL_WH_AUTO;
        m->is_volatile = o.seen[OPT_VOLATILE];
        m->userxattr = o.seen[OPT_USERXATTR];
        return set_layers(w, base, m, &o);
}

static bool all_digits(struct span v)
{
        for (size_t i = 0; i < v.n; i++) {
                if (v.s[i] < '0' || v.s[i] > '9') {
                        return false;
                }
        }
        return true;
}

/* "MERGED OPTIONS" or the fstab line "SOURCE MERGED overlay OPTIONS [0 [0]]". */
static int pick_fields(const struct where *w, const struct span *f, int nf, struct span *merged,
                       struct span *options)
{
        if (nf == 2) {
                *merged = f[0];
                *options = f[1];
                return 0;
        }
        if (nf < 4 || nf > 6) {
                return fail(w, -EINVAL,
                            "expected 'MERGED OPTIONS' or 'overlay MERGED overlay OPTIONS 0 0'");
        }
        if (!span_is(f[2], "overlay")) {
                return fail(w, -EINVAL, "file system type '%.*s' is not 'overlay'", (int)f[2].n,
                            f[2].s);
        }
        for (int i = 4; i < nf; i++) {
                if (!all_digits(f[i])) {
                        return fail(w, -EINVAL, "fstab field '%.*s' is not a number", (int)f[i].n,
                                    f[i].s);
                }
        }
        *merged = f[1];
        *options = f[3];
        return 0;
}

static int parse_line(const struct where *w, const char *base, struct span line,
                      struct ovl_config *cfg)
{
        if (line.n && line.s[line.n - 1] == '\r') {
                line.n--; /* CRLF */
        }
        struct span f[6];
        int nf = split_fields(line, f, 6);
        if (nf == 0 || f[0].s[0] == '#') {
                return 0;
        }
        if (memchr(line.s, '\0', line.n)) {
                return fail(w, -EINVAL, "NUL byte in line");
        }
        struct span merged = {NULL, 0}, options = {NULL, 0};
        int r = pick_fields(w, f, nf, &merged, &options);
        return r < 0 ? r : add_mount(w, base, cfg, merged, options);
}

int ovl_config_parse(const char *text, size_t len, const char *base_dir, const char *fname,
                     struct ovl_config *cfg, struct ovl_error *err)
{
        memset(cfg, 0, sizeof(*cfg));
        struct where w = {fname ? fname : "(config)", 0, err};
        if (err) {
                err->msg[0] = '\0';
        }
        if (fname && !(cfg->file = strdup(fname))) {
                return no_memory(&w);
        }
        const char *s = text, *end = text ? text + len : NULL;
        while (s && s < end) {
                const char *nl = memchr(s, '\n', (size_t)(end - s));
                struct span line = {s, nl ? (size_t)(nl - s) : (size_t)(end - s)};
                w.line++;
                int r = parse_line(&w, base_dir, line, cfg);
                if (r < 0) {
                        return r;
                }
                s = nl ? nl + 1 : end;
        }
        return 0;
}

/* --- checks -------------------------------------------------------------- */

enum kind { K_UPPER, K_WORK, K_LOWER, K_MERGED };
static const char *const kind_names[] = {"upperdir", "workdir", "lowerdir", "merged"};

/* A directory a mount uses; line is set when it belongs to another mount. */
struct dir {
        enum kind kind;
        const char *path;
        int line;
};

static int ndirs(const struct ovl_mount *m)
{
        return m->nlayers + 2;
}

/* Directory i of a mount: the lowers, upper, work, MERGED (path NULL if
 * absent). The order makes the later one the subject of a message: "upperdir
 * X is the same directory as lowerdir X". */
static struct dir dir_at(const struct ovl_mount *m, int i, int line)
{
        if (i < m->nlayers - 1) {
                return (struct dir){K_LOWER, m->layers[i + 1].path, line};
        }
        if (i == m->nlayers - 1) {
                return (struct dir){K_UPPER, m->layers[0].path, line};
        }
        if (i == m->nlayers) {
                return (struct dir){K_WORK, m->workdir, line};
        }
        return (struct dir){K_MERGED, m->merged, line};
}

enum rel { REL_NONE, REL_SAME, REL_A_IN_B, REL_B_IN_A };

static enum rel relation(const char *a, const char *b)
{
        if (strcmp(a, b) == 0) {
                return REL_SAME;
        }
        if (ovl_path_under(a, b, strlen(b)) >= 0) {
                return REL_A_IN_B;
        }
        return ovl_path_under(b, a, strlen(a)) >= 0 ? REL_B_IN_A : REL_NONE;
}

/* Lowers are only read, so within a mount they may nest or repeat, and one
 * may be MERGED itself ("protect in place"). Across mounts no directory may
 * serve twice (a real path must map back to one merged path), and nothing
 * may nest with a directory that is written or with a MERGED. */
static bool allowed(enum kind a, enum kind b, enum rel r, bool same_mount)
{
        if (r == REL_NONE) {
                return true;
        }
        if (a == K_LOWER && b == K_LOWER) {
                return same_mount || r != REL_SAME;
        }
        bool lower_merged = (a == K_LOWER && b == K_MERGED) || (a == K_MERGED && b == K_LOWER);
        return same_mount && r == REL_SAME && lower_merged;
}

static int overlap(const struct where *w, struct dir a, struct dir b, enum rel r)
{
        if (r == REL_B_IN_A) {
                struct dir t = a;
                a = b;
                b = t;
        }
        char la[32] = "", lb[32] = "";
        if (a.line) {
                snprintf(la, sizeof(la), " of line %d", a.line);
        }
        if (b.line) {
                snprintf(lb, sizeof(lb), " of line %d", b.line);
        }
        return fail(w, -EINVAL, "%s '%s'%s %s %s '%s'%s", kind_names[a.kind], a.path, la,
                    r == REL_SAME ? "is the same directory as" : "is inside", kind_names[b.kind],
                    b.path, lb);
}

/* The nesting rules between the directories of m and of p (p == m: within m). */
static int check_dirs(const struct where *w, const struct ovl_mount *m, const struct ovl_mount *p)
{
        bool same = m == p;
        for (int i = 0; i < ndirs(m); i++) {
                struct dir a = dir_at(m, i, 0);
                for (int j = 0; a.path && j < (same ? i : ndirs(p)); j++) {
                        struct dir b = dir_at(p, j, same ? 0 : p->line);
                        enum rel r = b.path ? relation(a.path, b.path) : REL_NONE;
                        if (!allowed(a.kind, b.kind, r, same)) {
                                return overlap(w, a, b, r);
                        }
                }
        }
        return 0;
}

static int open_error(const struct where *w, const char *what, const char *path, int r)
{
        struct stat st;
        if (r == -ENOENT || (r == -ENOTDIR && ovl_sys_fstatat(AT_FDCWD, path, &st, 0) < 0)) {
                return fail(w, r, "%s '%s' does not exist", what, path);
        }
        if (r == -ENOTDIR) {
                return fail(w, r, "%s '%s' is not a directory", what, path);
        }
        return fail(w, r, "%s '%s' cannot be read: %s", what, path, strerror(-r));
}

/* Read access as the job will need it; ENOSYS: a kernel without faccessat2.
 * An upper the process may not write is no error: a job that dropped
 * privileges under a root ovlrun still reads the merged view, and each of
 * its writes fails with EACCES without reaching a lower. */
static int check_access(const struct where *w, const char *what, const char *path)
{
        int r = ovl_sys_faccessat(AT_FDCWD, path, R_OK | X_OK, AT_EACCESS);
        if (r < 0 && r != -ENOSYS) {
                return fail(w, r, "%s '%s' cannot be read: %s", what, path, strerror(-r));
        }
        return 0;
}

/* realpath() without libc: the kernel's name for an open fd. */
static int canon_dir(const struct where *w, const char *what, char **path, struct stat *st)
{
        int fd = ovl_sys_openat(AT_FDCWD, *path, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0) {
                return open_error(w, what, *path, fd);
        }
        char real[PATH_MAX];
        ssize_t n = ovl_sys_fdpath(fd, real, sizeof(real));
        int r = n < 0 ? (int)n : ovl_sys_fstat(fd, st);
        ovl_sys_close(fd);
        if (r < 0) {
                return fail(w, r, "%s '%s' cannot be read: %s", what, *path, strerror(-r));
        }
        /* the upper root's mode is the merged root's, which the job may take
         * away from itself (chmod 644 MERGED) and give back the same way: the
         * kernel mount goes on, each call refused as the caller's rights say,
         * and so does the shim. An upper of another owner stays an error. */
        bool own_upper = !strcmp(what, "upperdir") && st->st_uid == ovl_sys_geteuid();
        r = own_upper ? 0 : check_access(w, what, real);
        char *dup = r < 0 ? NULL : strdup(real);
        if (r == 0 && !dup) {
                return no_memory(w);
        }
        if (dup) {
                free(*path);
                *path = dup;
        }
        return r;
}

static int canon_layer(const struct where *w, const char *what, struct ovl_layer *l)
{
        struct stat st;
        int r = canon_dir(w, what, &l->path, &st);
        if (r == 0) {
                l->len = strlen(l->path);
                l->dev = st.st_dev;
                l->ino = st.st_ino;
        }
        return r;
}

/* out (length *len, "" for the root) gained a component that may exist:
 * if it does, take its real path, as realpath() would. */
static int merged_resolve(const struct where *w, const char *merged, char *out, size_t *len,
                          int *missing)
{
        int fd = ovl_sys_openat(AT_FDCWD, out, O_PATH | O_CLOEXEC, 0);
        struct stat st;
        if (fd == -ENOENT && ovl_sys_lstatat(AT_FDCWD, out, &st) == 0) {
                return fail(w, fd, "merged '%s': '%s' is a dangling symlink", merged, out);
        }
        if (fd == -ENOENT || fd == -EACCES) {
                /* (behind a directory the process may not search, as the kernel's
                 * lookups will be: taken as written too) */
                *missing = 1;
                return 0;
        }
        if (fd < 0) {
                return fail(w, fd, "merged '%s' cannot be resolved: %s", merged, strerror(-fd));
        }
        ssize_t n = ovl_sys_fdpath(fd, out, PATH_MAX);
        ovl_sys_close(fd);
        if (n < 0) {
                return fail(w, (int)n, "merged '%s' cannot be resolved: %s", merged,
                            strerror((int)-n));
        }
        *len = n == 1 ? 0 : (size_t)n;
        out[*len] = '\0';
        return 0;
}

/* One component of MERGED; *missing counts those past the last existing one,
 * which are taken as written. */
static int merged_step(const struct where *w, const char *merged, char *out, size_t *len,
                       struct span c, int *missing)
{
        if (c.n == 0 || span_is(c, ".")) {
                return 0;
        }
        if (span_is(c, "..")) {
                while (*len && out[--*len] != '/') {
                }
                out[*len] = '\0';
                *missing -= *missing > 0;
                return 0;
        }
        if (*len + 1 + c.n >= PATH_MAX) {
                return fail(w, -ENAMETOOLONG, "merged '%s' is too long", merged);
        }
        out[(*len)++] = '/';
        memcpy(out + *len, c.s, c.n);
        *len += c.n;
        out[*len] = '\0';
        if (*missing) {
                ++*missing;
                return 0;
        }
        return merged_resolve(w, merged, out, len, missing);
}

/* MERGED need not exist: its longest existing ancestor (that the process
 * can reach) is resolved like realpath() and the rest appended as written. */
static int canon_merged(const struct where *w, struct ovl_mount *m)
{
        char out[PATH_MAX] = "";
        size_t len = 0;
        int missing = 0;
        for (const char *s = m->merged; *s; s += *s == '/') {
                size_t n = strcspn(s, "/");
                int r = merged_step(w, m->merged, out, &len, (struct span){s, n}, &missing);
                if (r < 0) {
                        return r;
                }
                s += n;
        }
        struct stat st;
        if (!missing && len &&
            (ovl_sys_fstatat(AT_FDCWD, out, &st, 0) < 0 || !S_ISDIR(st.st_mode))) {
                return fail(w, -ENOTDIR, "merged '%s' is not a directory", m->merged);
        }
        char *dup = strdup(len ? out : "/");
        if (!dup) {
                return no_memory(w);
        }
        free(m->merged);
        m->merged = dup;
        m->merged_len = strlen(dup);
        return 0;
}

static int canon_mount(const struct where *w, struct ovl_mount *m)
{
        for (int i = 1; i < m->nlayers; i++) {
                int r = canon_layer(w, "lowerdir", &m->layers[i]);
                if (r < 0) {
                        return r;
                }
        }
        if (m->layers[0].path) {
                struct stat st;
                int r = canon_layer(w, "upperdir", &m->layers[0]);
                r = r < 0 ? r : canon_dir(w, "workdir", &m->workdir, &st);
                if (r < 0) {
                        return r;
                }
                if (st.st_dev != m->layers[0].dev) {
                        return fail(w, -EXDEV,
                                    "workdir '%s' is not on the same file system as upperdir '%s'",
                                    m->workdir, m->layers[0].path);
                }
        }
        return canon_merged(w, m);
}

int ovl_config_check(struct ovl_config *cfg, struct ovl_error *err)
{
        struct where w = {cfg->file ? cfg->file : "(config)", 0, err};
        for (int i = 0; i < cfg->nmounts; i++) {
                struct ovl_mount *m = &cfg->mounts[i];
                w.line = m->line;
                int r = canon_mount(&w, m);
                for (int j = i; r == 0 && j >= 0; j--) {
                        r = check_dirs(&w, m, &cfg->mounts[j]);
                }
                if (r < 0) {
                        return r;
                }
        }
        return 0;
}

/* --- loading ------------------------------------------------------------- */

/* Messages and relative layer paths want the file's absolute name. */
static int absolute(const char *file, char **out)
{
        char cwd[PATH_MAX];
        if (file[0] != '/') {
                int r = ovl_sys_getcwd(cwd, sizeof(cwd));
                if (r < 0) {
                        return r;
                }
        }
        *out = join_path(file[0] == '/' ? NULL : cwd, file);
        return *out ? 0 : -ENOMEM;
}

static int load_text(const char *path, struct ovl_config *cfg, struct ovl_error *err)
{
        struct where w = {path, 0, err};
        /* +2: room for the NUL, and read_file's EFBIG means "more than 1 MiB" */
        char *buf = malloc(CONF_MAX_SIZE + 2);
        ssize_t n = buf ? ovl_sys_read_file(path, buf, CONF_MAX_SIZE + 2) : -ENOMEM;
        const char *slash = strrchr(path, '/');
        char *base = strndup(path, !slash ? 0 : slash == path ? 1 : (size_t)(slash - path));
        int r = (int)n;
        if (n < 0) {
                r = fail(&w, r, "cannot read: %s",
                         n == -EFBIG ? "larger than 1 MiB" : strerror((int)-n));
        } else if (!base) {
                r = no_memory(&w);
        } else {
                r = ovl_config_parse(buf, (size_t)n, base, path, cfg, err);
        }
        free(buf);
        free(base);
        return r;
}

int ovl_config_load(const char *file, struct ovl_config *cfg, struct ovl_error *err)
{
        memset(cfg, 0, sizeof(*cfg));
        char *path;
        int r = absolute(file, &path);
        if (r < 0) {
                struct where w = {file, 0, err};
                return fail(&w, r, "cannot read: %s", strerror(-r));
        }
        r = load_text(path, cfg, err);
        r = r < 0 ? r : ovl_config_check(cfg, err);
        if (r == 0 && cfg->nmounts == 0) {
                struct where w = {path, 0, err};
                r = fail(&w, -EINVAL, "no overlay defined");
        }
        free(path);
        return r;
}

static void free_mount(struct ovl_mount *m)
{
        for (int i = 0; i < m->nlayers; i++) {
                if (m->layers[i].fd >= 0) {
                        ovl_sys_close(m->layers[i].fd);
                }
                free(m->layers[i].path);
        }
        free(m->layers);
        free(m->merged);
        free(m->workdir);
}

void ovl_config_free(struct ovl_config *cfg)
{
        for (int i = 0; i < cfg->nmounts; i++) {
                free_mount(&cfg->mounts[i]);
        }
        free(cfg->mounts);
        free(cfg->file);
        memset(cfg, 0, sizeof(*cfg));
}
