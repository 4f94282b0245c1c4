/* ovlrun: run a command with overlays emulated by libovlshim.so, no mount.
 *
 *   ovlrun [-c CONF] [-o OPTIONS MERGED]... [--check] [--] COMMAND [ARG]...
 *
 * ovlrun itself is not preloaded and uses plain libc plus the core's config
 * functions. It validates the overlays, creates each MERGED that is missing,
 * writes one config with canonical absolute paths to a private temporary file,
 * sets OVL_CONF and LD_PRELOAD, and stays the parent of the command:
 * it forwards signals, waits, removes the file and exits with the command's
 * status (DESIGN.md section 1, "ovlrun").
 *
 * The command is not exec'd by ovlrun directly: the child re-executes the
 * ovlrun binary with the environment already set ("exec mode", below), so the
 * shim is loaded there first. Its PATH search, its check of the shim's exec
 * policy and its execve then all go through the shim: a command named by a
 * path inside MERGED is found, and a cwd inside a lower directory has been
 * moved off the lower by the shim's constructor before the command starts. */
#include "ovlshim.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define EXIT_OWN 125        /* ovlrun's own error (as env(1), timeout(1)) */
#define EXIT_CANNOT_RUN 126 /* found but not executable */
#define EXIT_NOT_FOUND 127

/* argv[1] of the re-executed ovlrun: ovlrun EXEC_MODE FLAGS LIB -- CMD ARGS */
#define EXEC_MODE "--ovlrun-exec"
#define LIB_NAME "libovlshim.so"
#define MAX_INTERP_DEPTH 4 /* the kernel's limit of #! nesting */

static char *tmp_conf; /* the temporary config, removed on every exit */

static void cleanup(void)
{
        if (tmp_conf) {
                unlink(tmp_conf);
                free(tmp_conf);
                tmp_conf = NULL;
        }
}

__attribute__((format(printf, 2, 3), noreturn)) static void die(int status, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("ovlrun: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        cleanup();
        exit(status);
}

__attribute__((format(printf, 1, 2), noreturn)) static void usage_error(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("ovlrun: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputs("\nTry 'ovlrun --help'.\n", stderr);
        va_end(ap);
        exit(EXIT_OWN);
}

static void usage(void)
{
        fputs("Usage: ovlrun [-c CONF] [-o OPTIONS MERGED]... [--check] [--] COMMAND [ARG]...\n"
              "Run COMMAND with overlay directories emulated by libovlshim.so (LD_PRELOAD):\n"
              "no mount, no privilege.\n"
              "\n"
              "  -o OPTIONS MERGED  an overlay at MERGED, with mount(8) overlay options, e.g.\n"
              "                     -o lowerdir=./low,upperdir=./upper,workdir=./work ./merged\n"
              "                     relative paths are taken from the current directory;\n"
              "                     MERGED is created if missing; repeatable\n"
              "  -c, --config CONF  the overlays of config file CONF (OVL_CONF format);\n"
              "                     may be combined with -o\n"
              "      --check        validate the overlays (and look up COMMAND, if given),\n"
              "                     print the generated config and exit; nothing is created\n"
              "                     and nothing is run\n"
              "  -h, --help         show this help and exit\n"
              "\n"
              "Exit status: that of COMMAND, or 128+N if it was killed by signal N;\n"
              "125 if ovlrun itself fails, 126 if COMMAND cannot be run, 127 if it is not\n"
              "found. See ovlrun(1) and libovlshim(7).\n",
              stdout);
}

/* --- growing strings ------------------------------------------------------ */

struct sbuf {
        char *p;
        size_t len, cap;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (b->len + n + 1 > cap) {
                        cap *= 2;
                }
                char *p = realloc(b->p, cap);
                if (!p) {
                        die(EXIT_OWN, "out of memory");
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
        sb_putn(b, s, strlen(s));
}

static void sb_putc(struct sbuf *b, char c)
{
        sb_putn(b, &c, 1);
}

static char *xstrdup(const char *s)
{
        char *p = strdup(s);
        if (!p) {
                die(EXIT_OWN, "out of memory");
        }
        return p;
}

/* --- command line ----------------------------------------------------------- */

struct overlay_arg {
        const char *options;
        const char *merged;
        char *label; /* "-o OPTIONS MERGED", for messages */
};

struct args {
        const char *conf; /* -c */
        struct overlay_arg *ov;
        int nov;
        bool check;
        char **cmd; /* NULL-terminated; NULL or empty when no command */
};

static void add_overlay(struct args *a, const char *options, const char *merged)
{
        if (!*options) {
                usage_error("option -o: OPTIONS is empty");
        }
        if (!merged || !strcmp(merged, "--")) {
                usage_error("option -o needs two arguments: OPTIONS and MERGED");
        }
        if (!*merged) {
                usage_error("option -o: MERGED is empty");
        }
        struct overlay_arg *ov = realloc(a->ov, (size_t)(a->nov + 1) * sizeof(*ov));
        if (!ov) {
                die(EXIT_OWN, "out of memory");
        }
        a->ov = ov;
        struct sbuf label = {0};
        sb_puts(&label, "-o ");
        sb_puts(&label, options);
        sb_putc(&label, ' ');
        sb_puts(&label, merged);
        ov[a->nov++] = (struct overlay_arg){options, merged, label.p};
}

static void set_conf(struct args *a, const char *conf)
{
        if (!conf) {
                usage_error("option -c needs an argument: CONF");
        }
        if (a->conf) {
                usage_error("option -c given twice (a config file may hold several overlays)");
        }
        if (!*conf) {
                usage_error("option -c: CONF is empty");
        }
        a->conf = conf;
}

static void parse_args(int argc, char **argv, struct args *a)
{
        int i = 1;
        for (; i < argc; i++) {
                const char *s = argv[i];
                if (!strcmp(s, "--")) {
                        i++;
                        break;
                }
                if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
                        usage();
                        exit(0);
                }
                if (!strcmp(s, "--check")) {
                        a->check = true;
                } else if (!strcmp(s, "-o")) {
                        if (i + 1 >= argc) {
                                usage_error("option -o needs two arguments: OPTIONS and MERGED");
                        }
                        add_overlay(a, argv[i + 1], i + 2 < argc ? argv[i + 2] : NULL);
                        i += 2;
                } else if (!strncmp(s, "-o", 2)) { /* -oOPTIONS MERGED, as mount(8) */
                        add_overlay(a, s + 2, i + 1 < argc ? argv[i + 1] : NULL);
                        i += 1;
                } else if (!strcmp(s, "-c") || !strcmp(s, "--config")) {
                        set_conf(a, i + 1 < argc ? argv[i + 1] : NULL);
                        i += 1;
                } else if (!strncmp(s, "--config=", 9)) {
                        set_conf(a, s + 9);
                } else if (!strncmp(s, "-c", 2)) {
                        set_conf(a, s + 2);
                } else if (s[0] == '-' && s[1] != '\0') {
                        usage_error("unknown option '%s'", s);
                } else {
                        break; /* the command */
                }
        }
        a->cmd = i < argc ? argv + i : NULL;
        if (!a->conf && a->nov == 0) {
                usage_error("no overlay given: use -o OPTIONS MERGED or -c CONF");
        }
        if (!a->cmd && !a->check) {
                usage_error("no command given");
        }
}

/* --- config --------------------------------------------------------------- */

/* The label of line `s` (digits) of the generated config, or NULL. */
static const char *label_of(const char *s, char **end, char *const *labels, int nlabels)
{
        if (*s < '0' || *s > '9') {
                return NULL;
        }
        long line = strtol(s, end, 10);
        return line >= 1 && line <= nlabels ? labels[line - 1] : NULL;
}

/* Print a config error in terms of what the user gave: the "FNAME:LINE:" the
 * core puts in front of it, and any " of line LINE" naming another overlay,
 * become the source of that line (labels[LINE-1]). */
__attribute__((noreturn)) static void config_error(const struct ovl_error *err, const char *fname,
                                                   char *const *labels, int nlabels)
{
        const char *msg = err->msg;
        size_t flen = strlen(fname);
        if (strncmp(msg, fname, flen) != 0 || msg[flen] != ':') {
                die(EXIT_OWN, "%s", msg);
        }
        const char *p = msg + flen + 1;
        char *end;
        const char *label = label_of(p, &end, labels, nlabels);
        struct sbuf b = {0};
        sb_puts(&b, label ? label : nlabels == 1 ? labels[0] : "generated config");
        sb_putc(&b, ':');
        p = label ? end + 1 : p;
        for (const char *q; (q = strstr(p, " of line ")) != NULL;) {
                sb_putn(&b, p, (size_t)(q - p));
                label = label_of(q + 9, &end, labels, nlabels);
                sb_puts(&b, label ? " of " : " of line ");
                sb_puts(&b, label ? label : "");
                p = label ? end : q + 9;
        }
        sb_puts(&b, p);
        die(EXIT_OWN, "%s", b.p);
}

/* Append `s` as one value of an option list: the escapes of DESIGN.md
 * "OVL_CONF" for the separators, \040 for a space (fstab style). */
static void put_escaped(struct sbuf *b, const char *s, bool option_value)
{
        for (; *s; s++) {
                switch (*s) {
                case ' ':
                        sb_puts(b, "\\040");
                        break;
                case '\t':
                        sb_puts(b, "\\011");
                        break;
                case '\n':
                        die(EXIT_OWN, "cannot pass a path with a newline to the shim");
                case '\\':
                        sb_puts(b, "\\\\");
                        break;
                case ':':
                case ',':
                        if (option_value) {
                                sb_putc(b, '\\');
                        }
                        sb_putc(b, *s);
                        break;
                default:
                        sb_putc(b, *s);
                }
        }
}

/* One config line for mount `m`, whose paths are canonical and absolute. */
static void put_mount(struct sbuf *b, const struct ovl_mount *m)
{
        put_escaped(b, m->merged, false);
        sb_puts(b, " lowerdir=");
        for (int i = 1; i < m->nlayers; i++) {
                if (i > 1) {
                        sb_putc(b, ':');
                }
                put_escaped(b, m->layers[i].path, true);
        }
        if (m->layers[0].path) {
                sb_puts(b, ",upperdir=");
                put_escaped(b, m->layers[0].path, true);
                sb_puts(b, ",workdir=");
                put_escaped(b, m->workdir, true);
        }
        if (m->whiteout == OVL_WH_CHARDEV) {
                sb_puts(b, ",whiteout=chardev");
        } else if (m->whiteout == OVL_WH_OCI) {
                sb_puts(b, ",whiteout=oci");
        }
        if (m->is_volatile) {
                sb_puts(b, ",volatile");
        }
        if (m->userxattr) {
                sb_puts(b, ",userxattr");
        }
        sb_putc(b, '\n');
}

/* The config line for one -o: MERGED made absolute, OPTIONS kept as given
 * except for blanks, which would end the field. Relative layer paths are
 * resolved by the parser against `cwd`. */
static void put_o_line(struct sbuf *b, const struct overlay_arg *ov, const char *cwd)
{
        if (ov->merged[0] != '/') {
                put_escaped(b, cwd, false);
                if (strcmp(cwd, "/") != 0) {
                        sb_putc(b, '/');
                }
        }
        put_escaped(b, ov->merged, false);
        sb_putc(b, ' ');
        for (const char *s = ov->options; *s; s++) {
                if (*s == ' ') {
                        sb_puts(b, "\\040");
                } else if (*s == '\t') {
                        sb_puts(b, "\\011");
                } else if (*s == '\n') {
                        die(EXIT_OWN, "%s: OPTIONS contain a newline", ov->label);
                } else {
                        sb_putc(b, *s);
                }
        }
        sb_putc(b, '\n');
}

struct plan {
        struct sbuf text; /* the generated config */
        char **labels;    /* source of each line (owned) */
        int nlines;
        struct ovl_config cfg; /* the generated config, checked */
};

static void plan_add(struct plan *p, const struct ovl_mount *m, char *label)
{
        char **l = realloc(p->labels, (size_t)(p->nlines + 1) * sizeof(*l));
        if (!l) {
                die(EXIT_OWN, "out of memory");
        }
        p->labels = l;
        l[p->nlines++] = label;
        put_mount(&p->text, m);
}

static void free_plan(struct plan *p)
{
        for (int i = 0; i < p->nlines; i++) {
                free(p->labels[i]);
        }
        free(p->labels);
        free(p->text.p);
}

static void build_plan(const struct args *a, struct plan *p)
{
        struct ovl_error err;
        if (a->conf) {
                struct ovl_config c = {0};
                if (ovl_config_load(a->conf, &c, &err) < 0) {
                        die(EXIT_OWN, "%s", err.msg);
                }
                for (int i = 0; i < c.nmounts; i++) {
                        char line[32];
                        snprintf(line, sizeof(line), ":%d", c.mounts[i].line);
                        struct sbuf label = {0};
                        sb_puts(&label, a->conf);
                        sb_puts(&label, line);
                        plan_add(p, &c.mounts[i], label.p);
                }
                ovl_config_free(&c);
        }
        char cwd[PATH_MAX];
        if (a->nov > 0 && !getcwd(cwd, sizeof(cwd))) {
                die(EXIT_OWN, "cannot get the current directory: %s", strerror(errno));
        }
        for (int i = 0; i < a->nov; i++) {
                const struct overlay_arg *ov = &a->ov[i];
                struct sbuf line = {0};
                put_o_line(&line, ov, cwd);
                struct ovl_config c = {0};
                if (ovl_config_parse(line.p, line.len, cwd, ov->label, &c, &err) < 0 ||
                    ovl_config_check(&c, &err) < 0) {
                        config_error(&err, ov->label, &ov->label, 1);
                }
                if (c.nmounts != 1) {
                        die(EXIT_OWN, "%s: expected one overlay", ov->label);
                }
                plan_add(p, &c.mounts[0], xstrdup(ov->label));
                ovl_config_free(&c);
                free(line.p);
        }
        /* The rules between overlays (overlapping MERGED, shared layers). */
        if (ovl_config_parse(p->text.p, p->text.len, "/", "ovlrun", &p->cfg, &err) < 0 ||
            ovl_config_check(&p->cfg, &err) < 0) {
                config_error(&err, "ovlrun", p->labels, p->nlines);
        }
}

static bool path_within(const char *path, const char *prefix)
{
        return prefix && ovl_path_under(path, prefix, strlen(prefix)) >= 0;
}

/* Is `dir` inside something of an overlay that ovlrun must not write into? */
static bool inside_overlay(const struct ovl_config *cfg, const char *dir)
{
        for (int i = 0; i < cfg->nmounts; i++) {
                const struct ovl_mount *m = &cfg->mounts[i];
                if (path_within(dir, m->merged) || path_within(dir, m->workdir)) {
                        return true;
                }
                for (int j = 0; j < m->nlayers; j++) {
                        if (path_within(dir, m->layers[j].path)) {
                                return true;
                        }
                }
        }
        return false;
}

/* Does some overlay protect a lower directory in place (MERGED == lowerdir)? */
static bool protects_in_place(const struct ovl_config *cfg)
{
        for (int i = 0; i < cfg->nmounts; i++) {
                const struct ovl_mount *m = &cfg->mounts[i];
                for (int j = 1; j < m->nlayers; j++) {
                        if (!strcmp(m->merged, m->layers[j].path)) {
                                return true;
                        }
                }
        }
        return false;
}

static void mkdir_p(const char *path)
{
        struct stat st;
        if (stat(path, &st) == 0) {
                if (!S_ISDIR(st.st_mode)) {
                        die(EXIT_OWN, "%s: MERGED exists and is not a directory", path);
                }
                return;
        }
        char *p = xstrdup(path);
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0') {
                        continue;
                }
                char c = *s;
                *s = '\0';
                if (mkdir(p, 0777) < 0 && errno != EEXIST) {
                        die(EXIT_OWN, "cannot create MERGED %s: %s", p, strerror(errno));
                }
                *s = c;
                if (!c) {
                        break;
                }
        }
        free(p);
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
                die(EXIT_OWN, "cannot create MERGED %s: not a directory", path);
        }
}

/* Write the config to a private file in $TMPDIR or /tmp, never into a layer
 * or a MERGED. Sets tmp_conf. */
static void write_config(const struct plan *p)
{
        const char *cand[2] = {getenv("TMPDIR"), "/tmp"};
        int last_err = 0;
        for (int i = 0; i < 2; i++) {
                char dir[PATH_MAX];
                if (!cand[i] || !*cand[i] || !realpath(cand[i], dir)) {
                        continue;
                }
                if (inside_overlay(&p->cfg, dir)) {
                        continue;
                }
                struct sbuf path = {0};
                sb_puts(&path, dir);
                sb_puts(&path, strcmp(dir, "/") ? "/ovlrun-XXXXXX.conf" : "ovlrun-XXXXXX.conf");
                int fd = mkstemps(path.p, 5);
                if (fd < 0) {
                        last_err = errno;
                        free(path.p);
                        continue;
                }
                tmp_conf = path.p;
                /* a job may drop privileges (setpriv, su): its processes
                 * must still read the config, which holds only paths */
                fchmod(fd, 0644);
                const char *s = p->text.p;
                size_t left = p->text.len;
                while (left > 0) {
                        ssize_t n = write(fd, s, left);
                        if (n < 0 && errno == EINTR) {
                                continue;
                        }
                        if (n <= 0) {
                                die(EXIT_OWN, "cannot write %s: %s", tmp_conf,
                                    strerror(n < 0 ? errno : EIO));
                        }
                        s += n;
                        left -= (size_t)n;
                }
                if (close(fd) < 0) {
                        die(EXIT_OWN, "cannot write %s: %s", tmp_conf, strerror(errno));
                }
                return;
        }
        die(EXIT_OWN, "no usable directory for the temporary config ($TMPDIR, /tmp)%s%s",
            last_err ? ": " : "", last_err ? strerror(last_err) : "");
}

/* --- environment ------------------------------------------------------------ */

/* The library next to the binary, or in ../lib/ovlshim/ relative to it. */
static char *find_library(void)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n < 0) {
                die(EXIT_OWN, "cannot read /proc/self/exe: %s", strerror(errno));
        }
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
                *slash = '\0';
        }
        static const char *const rel[] = {"/" LIB_NAME, "/../lib/ovlshim/" LIB_NAME};
        for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
                struct sbuf c = {0};
                sb_puts(&c, exe);
                sb_puts(&c, rel[i]);
                char real[PATH_MAX];
                bool ok = realpath(c.p, real) && access(real, R_OK) == 0;
                free(c.p);
                if (ok) {
                        if (strpbrk(real, " :")) {
                                die(EXIT_OWN,
                                    "%s: the library path contains a space or a "
                                    "colon, which LD_PRELOAD cannot hold",
                                    real);
                        }
                        return xstrdup(real);
                }
        }
        die(EXIT_OWN, "cannot find %s in %s or %s/../lib/ovlshim", LIB_NAME, exe, exe);
}

static bool is_our_library(const char *entry, size_t n)
{
        size_t ln = strlen(LIB_NAME);
        return n >= ln && !strncmp(entry + n - ln, LIB_NAME, ln) &&
               (n == ln || entry[n - ln - 1] == '/');
}

/* The AddressSanitizer runtime this ovlrun was linked with, if any: an ovlrun
 * built with `make sanitize` goes with a library that needs it, and ASan
 * insists on coming first in the list of loaded objects. */
static int find_asan(struct dl_phdr_info *info, size_t size, void *data)
{
        (void)size;
        const char *name = info->dlpi_name;
        const char *base = name ? strrchr(name, '/') : NULL;
        if (base && !strncmp(base + 1, "libasan.so", 10)) {
                *(const char **)data = name;
                return 1;
        }
        return 0;
}

/* LD_PRELOAD: what was there (a sanitizer runtime must stay first), less any
 * other copy of libovlshim.so, then ours. */
static void set_environment(const char *lib)
{
        const char *old = getenv("LD_PRELOAD");
        const char *conf = getenv("OVL_CONF");
        struct sbuf b = {0};
        const char *asan = NULL;
        if (dl_iterate_phdr(find_asan, &asan) && !(old && strstr(old, "libasan.so"))) {
                sb_puts(&b, asan);
                sb_putc(&b, ':');
        }
        for (const char *s = old ? old : ""; *s;) {
                size_t n = strcspn(s, " :");
                if (n > 0) {
                        if (is_our_library(s, n)) {
                                if (conf && *conf) {
                                        die(EXIT_OWN,
                                            "already running under ovlshim "
                                            "(OVL_CONF=%s): nesting is not "
                                            "supported",
                                            conf);
                                }
                        } else {
                                sb_putn(&b, s, n);
                                sb_putc(&b, ':');
                        }
                }
                s += n;
                s += strspn(s, " :");
        }
        sb_puts(&b, lib);
        if (setenv("LD_PRELOAD", b.p, 1) < 0 || setenv("OVL_CONF", tmp_conf, 1) < 0) {
                die(EXIT_OWN, "cannot set the environment: %s", strerror(errno));
        }
        free(b.p);
}

/* --- running the command ----------------------------------------------------- */

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define NFORWARDED ((int)(sizeof(forwarded) / sizeof(forwarded[0])))
static struct sigaction saved[NFORWARDED];
static bool installed[NFORWARDED];
static volatile sig_atomic_t child;

static void forward(int sig, siginfo_t *si, void *uc)
{
        (void)uc;
        int e = errno;
        pid_t pid = child;
        /* What the kernel sends on its own (a terminal's ^C, hangup) goes to
         * the whole foreground process group, the command included: sending
         * it again would deliver it twice. */
        if (pid > 0 && si->si_code != SI_KERNEL) {
                kill(pid, sig);
        }
        errno = e;
}

static void install_forwarding(sigset_t *set)
{
        sigemptyset(set);
        for (int i = 0; i < NFORWARDED; i++) {
                sigaddset(set, forwarded[i]);
        }
        for (int i = 0; i < NFORWARDED; i++) {
                if (sigaction(forwarded[i], NULL, &saved[i]) < 0 ||
                    saved[i].sa_handler == SIG_IGN) {
                        continue; /* ignored signals stay ignored, for both of us */
                }
                struct sigaction sa = {0};
                sa.sa_sigaction = forward;
                sa.sa_flags = SA_SIGINFO | SA_RESTART;
                sa.sa_mask = *set;
                installed[i] = sigaction(forwarded[i], &sa, NULL) == 0;
        }
}

static int run(char **cmd, const char *lib, bool protect, bool check_only)
{
        int n = 0;
        while (cmd[n]) {
                n++;
        }
        char **argv = calloc((size_t)n + 6, sizeof(*argv));
        if (!argv) {
                die(EXIT_OWN, "out of memory");
        }
        char flags[4] = "-";
        int f = 0;
        if (protect) {
                flags[f++] = 'p';
        }
        if (check_only) {
                flags[f++] = 'n';
        }
        argv[0] = "ovlrun";
        argv[1] = EXEC_MODE;
        argv[2] = flags;
        argv[3] = (char *)lib;
        argv[4] = "--";
        memcpy(argv + 5, cmd, (size_t)n * sizeof(*argv));

        sigset_t set, oldmask;
        install_forwarding(&set);
        sigprocmask(SIG_BLOCK, &set, &oldmask);
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                die(EXIT_OWN, "cannot fork: %s", strerror(errno));
        }
        if (pid == 0) {
                for (int i = 0; i < NFORWARDED; i++) {
                        if (installed[i]) {
                                sigaction(forwarded[i], &saved[i], NULL);
                        }
                }
                sigprocmask(SIG_SETMASK, &oldmask, NULL);
                execv("/proc/self/exe", argv);
                fprintf(stderr, "ovlrun: cannot re-execute itself: %s\n", strerror(errno));
                _exit(EXIT_OWN);
        }
        child = pid;
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
        free(argv);

        /* Wait without reaping, so that no signal is ever forwarded to a
         * recycled pid; then reap with the forwarding blocked. */
        siginfo_t si;
        while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0) {
                if (errno != EINTR) {
                        die(EXIT_OWN, "waitid: %s", strerror(errno));
                }
        }
        sigprocmask(SIG_BLOCK, &set, NULL);
        child = 0;
        int status;
        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR) {
                        die(EXIT_OWN, "waitpid: %s", strerror(errno));
                }
        }
        if (WIFEXITED(status)) {
                return WEXITSTATUS(status);
        }
        if (WIFSIGNALED(status)) {
                return 128 + WTERMSIG(status);
        }
        return EXIT_OWN;
}

/* --- exec mode: the child, with the shim loaded ------------------------------- */

static int found_lib(struct dl_phdr_info *info, size_t size, void *data)
{
        (void)size;
        return info->dlpi_name && !strcmp(info->dlpi_name, (const char *)data);
}

__attribute__((format(printf, 2, 3), noreturn)) static void child_fail(int status, const char *fmt,
                                                                       ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("ovlrun: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        _exit(status);
}

static int exec_status(int err)
{
        return err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG || err == ELOOP
                   ? EXIT_NOT_FOUND
                   : EXIT_CANNOT_RUN;
}

/* As execvp(3) looks the command up, but with stat and access, which the
 * shim answers from the merged view. Returns a malloc'd path or NULL with
 * *err set. */
static char *lookup(const char *cmd, int *err)
{
        struct stat st;
        if (strchr(cmd, '/')) {
                if (stat(cmd, &st) < 0) {
                        *err = errno;
                        return NULL;
                }
                return xstrdup(cmd);
        }
        const char *path = getenv("PATH");
        char def[256];
        if (!path) {
                size_t n = confstr(_CS_PATH, def, sizeof(def));
                path = n > 0 && n <= sizeof(def) ? def : "/bin:/usr/bin";
        }
        *err = ENOENT;
        for (const char *s = path;; s++) {
                size_t n = strcspn(s, ":");
                struct sbuf c = {0};
                sb_putn(&c, n ? s : ".", n ? n : 1);
                sb_putc(&c, '/');
                sb_puts(&c, cmd);
                if (stat(c.p, &st) == 0 && S_ISREG(st.st_mode)) {
                        if (access(c.p, X_OK) == 0) {
                                return c.p;
                        }
                        *err = EACCES;
                }
                free(c.p);
                s += n;
                if (!*s) {
                        return NULL;
                }
        }
}

/* Would `path` run without the shim (statically linked, set-id, another
 * loader)? NULL if not, else why. The file is opened through the shim, which
 * this process has loaded, so a program under MERGED is looked at where it
 * really lives; the ELF and #! reading is the core's, as the shim's own exec
 * policy uses it. */
static const char *bypasses_shim(const char *path, int depth)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                return NULL; /* execve will say why */
        }
        struct ovl_exec_info info;
        int r = ovl_exec_probe_fd(fd, &info);
        close(fd);
        if (r < 0 || info.kind == OVL_EXEC_OK) {
                return NULL;
        }
        if (info.kind != OVL_EXEC_SCRIPT) {
                return ovl_exec_why(info.kind);
        }
        if (depth >= MAX_INTERP_DEPTH) {
                return "too many levels of #! interpreters";
        }
        const char *why = bypasses_shim(info.interp, depth + 1);
        if (!why) {
                return NULL;
        }
        static char msg[PATH_MAX + 512];
        char inner[256];
        snprintf(inner, sizeof(inner), "%s", why); /* why may be msg itself */
        snprintf(msg, sizeof(msg), "its interpreter %.255s: %s", info.interp, inner);
        return msg;
}

static int exec_mode(int argc, char **argv)
{
        if (argc < 6 || strcmp(argv[4], "--") != 0) {
                child_fail(EXIT_OWN, "internal: bad exec-mode arguments");
        }
        const char *flags = argv[2];
        const char *lib = argv[3];
        char **cmd = argv + 5;
        /* Fail closed: the loader only warns about a library it cannot load. */
        if (!dl_iterate_phdr(found_lib, (void *)lib)) {
                child_fail(EXIT_OWN, "%s was not loaded; not running '%s' unprotected", lib,
                           cmd[0]);
        }
        int err;
        char *path = lookup(cmd[0], &err);
        if (!path) {
                child_fail(exec_status(err), "'%s': %s", cmd[0], strerror(err));
        }
        if (strchr(flags, 'p')) {
                const char *why = bypasses_shim(path, 0);
                if (why) {
                        child_fail(EXIT_CANNOT_RUN,
                                   "'%s': refused because a MERGED equals a lowerdir: %s", cmd[0],
                                   why);
                }
        }
        if (strchr(flags, 'n')) {
                _exit(0);
        }
        execv(path, cmd);
        err = errno;
        if (err == ENOEXEC) { /* no #!: a shell script, as execvp(3) runs it */
                int n = 0;
                while (cmd[n]) {
                        n++;
                }
                char **sh = calloc((size_t)n + 2, sizeof(*sh));
                if (sh) {
                        sh[0] = "sh";
                        sh[1] = path;
                        memcpy(sh + 2, cmd + 1, (size_t)n * sizeof(*sh));
                        execv("/bin/sh", sh);
                        err = errno;
                }
        }
        child_fail(exec_status(err), "'%s': %s", cmd[0], strerror(err));
}

/* --- main ----------------------------------------------------------------------- */

int main(int argc, char **argv)
{
        if (argc > 1 && !strcmp(argv[1], EXEC_MODE)) {
                return exec_mode(argc, argv);
        }
        struct args a = {0};
        parse_args(argc, argv, &a);

        struct plan p = {0};
        build_plan(&a, &p);
        if (!a.check) {
                for (int i = 0; i < p.cfg.nmounts; i++) {
                        mkdir_p(p.cfg.mounts[i].merged);
                }
        }
        char *lib = find_library();
        write_config(&p);
        /* What the shim will read, read the way it will read it. */
        struct ovl_config final = {0};
        struct ovl_error err;
        if (ovl_config_load(tmp_conf, &final, &err) < 0) {
                config_error(&err, tmp_conf, p.labels, p.nlines);
        }
        bool protect = protects_in_place(&final);
        if (!a.check) {
                /* leftovers of killed jobs go, unless a job still runs there */
                for (int i = 0; i < final.nmounts; i++) {
                        ovl_work_clean(&final.mounts[i], false);
                }
        }
        ovl_config_free(&final);
        ovl_config_free(&p.cfg);
        set_environment(lib);

        int status = 0;
        if (a.check) {
                fputs(p.text.p, stdout);
                if (fflush(stdout) != 0) {
                        die(EXIT_OWN, "cannot write to standard output: %s", strerror(errno));
                }
        }
        if (a.cmd) {
                status = run(a.cmd, lib, protect, a.check);
        }
        cleanup();
        free(lib);
        free_plan(&p);
        for (int i = 0; i < a.nov; i++) {
                free(a.ov[i].label);
        }
        free(a.ov);
        return status;
}
