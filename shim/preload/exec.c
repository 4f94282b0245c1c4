/* exec and spawn. A program under MERGED runs from the layer that holds it;
 * a #! script there runs its interpreter with the merged path as its name,
 * as the kernel would with a mount; the environment of every child gets
 * LD_PRELOAD and OVL_CONF back even when the program cleared it; and a
 * program the shim cannot follow (static, set-id, another loader or
 * architecture) is refused or reported (OVL_EXEC_POLICY). LD_LIBRARY_PATH
 * entries in an overlay are handed to the child's loader as the layer
 * directories they merge, and put back at the child's start-up.
 *
 * These wrappers run in vfork children (posix_spawn, python's subprocess),
 * so they neither allocate nor lock nor change the parent's memory: new
 * argument and environment vectors live on the stack. */
#include "preload.h"
#include "sys.h"

#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

#define MAX_SCRIPT_DEPTH 4

enum policy { POLICY_REFUSE, POLICY_WARN, POLICY_QUIET };

/* Set once at start-up, read-only afterwards. */
static char lib_path[PATH_MAX];
static char conf_path[PATH_MAX];
static char preload_before[2 * PATH_MAX]; /* what LD_PRELOAD held before us */
static char protected_dir[PATH_MAX];      /* a MERGED that is also a lowerdir */
static int policy = POLICY_WARN;
static bool propagate = true;

static void find_protected(struct ovl_config *cfg)
{
        for (int i = 0; i < cfg->nmounts; i++) {
                struct ovl_mount *m = &cfg->mounts[i];
                for (int j = 1; j < m->nlayers; j++) {
                        if (!strcmp(m->layers[j].path, m->merged)) {
                                snprintf(protected_dir, sizeof(protected_dir), "%s", m->merged);
                                return;
                        }
                }
        }
}

static int policy_of(const char *v, int dflt)
{
        if (!v) {
                return dflt;
        }
        return !strcmp(v, "refuse")  ? POLICY_REFUSE
               : !strcmp(v, "warn")  ? POLICY_WARN
               : !strcmp(v, "quiet") ? POLICY_QUIET
                                     : dflt;
}

/* The libraries preloaded before ours (a sanitizer runtime must stay first),
 * to be put back in front when a program rebuilds LD_PRELOAD without them. */
static void save_preload_before(const char *ld)
{
        size_t n = 0;
        for (const char *p = ld ? ld : ""; *p;) {
                size_t l = strcspn(p, ": ");
                if (l && !(l == strlen(lib_path) && !strncmp(p, lib_path, l)) &&
                    !(l >= 14 && !strncmp(p + l - 14, "libovlshim.so", 13))) {
                        n += (size_t)snprintf(preload_before + n, sizeof(preload_before) - n,
                                              "%s%.*s", n ? ":" : "", (int)l, p);
                        if (n >= sizeof(preload_before)) {
                                preload_before[0] = '\0';
                                return;
                        }
                } else if (l) {
                        return; /* ours: what follows it stays where the program puts it */
                }
                p += l;
                p += strspn(p, ": ");
        }
}

void ovl_exec_init(struct ovl_config *cfg, const char *conf)
{
        Dl_info info;
        if (dladdr((void *)ovl_exec_init, &info) && info.dli_fname) {
                char cwd[PATH_MAX];
                if (info.dli_fname[0] == '/' || ovl_sys_getcwd(cwd, sizeof(cwd)) < 0 ||
                    ovl_path_lexical(lib_path, sizeof(lib_path), cwd, info.dli_fname) < 0) {
                        snprintf(lib_path, sizeof(lib_path), "%s", info.dli_fname);
                }
        }
        snprintf(conf_path, sizeof(conf_path), "%s", conf);
        save_preload_before(getenv("LD_PRELOAD"));
        find_protected(cfg);
        policy =
            policy_of(getenv("OVL_EXEC_POLICY"), protected_dir[0] ? POLICY_REFUSE : POLICY_WARN);
        const char *np = getenv("OVL_NO_PROPAGATE");
        propagate = !(np && *np && strcmp(np, "0"));
}

/* --- the environment of a child --------------------------------------------------- */

static size_t env_count(char *const envp[])
{
        size_t n = 0;
        while (envp && envp[n]) {
                n++;
        }
        return n;
}

static bool has_token(const char *list, const char *tok)
{
        size_t tl = strlen(tok);
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, ": ");
                if (n == tl && !strncmp(p, tok, n)) {
                        return true;
                }
                p += n;
                p += strspn(p, ": ");
        }
        return false;
}

/* LD_LIBRARY_PATH: the dynamic loader reads it once, before any code of the
 * shim runs, and opens libraries with its own system calls, which LD_PRELOAD
 * cannot reach. A child gets it translated (each entry in an overlay becomes
 * the real directories that merge into it, top first) and its own value in
 * LLP_SAVE, which the shim's start-up in the child puts back. */
#define LLP "LD_LIBRARY_PATH="
#define LLP_LEN (sizeof(LLP) - 1)
#define LLP_SAVE "OVL_" LLP
#define LLP_SAVE_LEN (sizeof(LLP_SAVE) - 1)
#define LLP_MAX 8192

struct envbuf {
        char ld[2 * PATH_MAX + 16];
        char conf[PATH_MAX + 16];
        char llp[LLP_MAX];      /* LD_LIBRARY_PATH= as the child's loader reads it */
        char llp_save[LLP_MAX]; /* LLP_SAVE + the program's own value */
        char origin[4096];      /* LLP + the directories $ORIGIN stands for, or "" */
};

/* Append `s` (`len` bytes) and a separator before it when `*n` is not 0. */
static bool llp_add(char *out, size_t cap, size_t *n, const char *s, size_t len)
{
        size_t sep = *n > LLP_LEN;
        if (*n + sep + len + 1 > cap) {
                return false;
        }
        if (sep) {
                out[(*n)++] = ':';
        }
        memcpy(out + *n, s, len);
        *n += len;
        out[*n] = '\0';
        return true;
}

/* The entry (merged directory `loc`) as the layer directories it merges, top
 * first; nothing for one the loader could not search (missing, not a dir). */
static bool llp_layers(char *out, size_t cap, size_t *n, const struct ovl_loc *loc)
{
        if (loc->layer < 0 || !S_ISDIR(loc->st.st_mode)) {
                return true;
        }
        for (int k = 0; k < loc->nstack; k++) {
                char d[PATH_MAX];
                int l = snprintf(d, sizeof(d), "%s%s%s", loc->m->layers[loc->stack[k]].path,
                                 loc->rel[0] ? "/" : "", loc->rel);
                if (l >= (int)sizeof(d) || strpbrk(d, ":;")) {
                        continue; /* a name the list cannot hold */
                }
                if (!llp_add(out, cap, n, d, (size_t)l)) {
                        return false;
                }
        }
        return true;
}

/* "LD_LIBRARY_PATH=" + v translated into out; false when nothing in v names
 * an overlay (or the result does not fit): the child gets v as it is. Entries
 * are separated by ':' or ';' (ld.so takes both); an empty one is the cwd; one
 * with a '$' (ld.so's $ORIGIN, $LIB, $PLATFORM) is kept as it is. */
static bool llp_translate(const char *v, char *out, size_t cap)
{
        size_t n = (size_t)snprintf(out, cap, "%s", LLP);
        bool changed = false;
        for (const char *p = v;; p++) {
                size_t l = strcspn(p, ":;");
                char ent[PATH_MAX];
                struct ovl_loc loc;
                int k = OVL_PASS;
                if (l < sizeof(ent) && !memchr(p, '$', l)) {
                        memcpy(ent, l ? p : ".", l ? l : 1);
                        ent[l ? l : 1] = '\0';
                        k = ovl_at(AT_FDCWD, ent, 0, &loc);
                }
                bool ok;
                if (k == OVL_PASS) {
                        ok = llp_add(out, cap, &n, l ? p : ".", l ? l : 1);
                } else {
                        changed = true;
                        if (k == OVL_OUT) {
                                ok = llp_add(out, cap, &n, loc.real, strlen(loc.real));
                        } else {
                                /* an error (ENOENT ...): the loader finds nothing there either */
                                ok = k < 0 || llp_layers(out, cap, &n, &loc);
                        }
                }
                if (!ok) {
                        return false;
                }
                p += l;
                if (!*p) {
                        break;
                }
        }
        return changed;
}

static void env_remove(char **e)
{
        for (; *e; e++) {
                e[0] = e[1];
        }
}

/* The child's start-up: LD_LIBRARY_PATH as its parent's program set it.
 * Neither getenv nor setenv: a program may define its own (bash does, for
 * its shell variables, not yet set up while constructors run). The saved
 * entry, past "OVL_", is the original "LD_LIBRARY_PATH=..." string; without
 * its '=' it says that the program had none. */
void ovl_exec_env_restore(void)
{
        char **save = NULL, **llp = NULL;
        for (char **e = environ; e && *e; e++) {
                if (!save && !strncmp(*e, LLP_SAVE, LLP_SAVE_LEN - 1) &&
                    (!(*e)[LLP_SAVE_LEN - 1] || (*e)[LLP_SAVE_LEN - 1] == '=')) {
                        save = e;
                } else if (!llp && !strncmp(*e, LLP, LLP_LEN)) {
                        llp = e;
                }
        }
        if (!save) {
                return;
        }
        if (!(*save)[LLP_SAVE_LEN - 1]) {
                env_remove(save);
                if (llp) {
                        env_remove(llp > save ? llp - 1 : llp);
                }
                return;
        }
        char *orig = *save + (LLP_SAVE_LEN - LLP_LEN);
        if (!llp) {
                *save = orig;
                return;
        }
        *llp = orig;
        env_remove(save);
}

/* The child's LD_LIBRARY_PATH for the program's value v: b->llp (translated,
 * then b->origin's directories) and b->llp_save; false to pass v as it is. */
static bool llp_child(struct envbuf *b, const char *v)
{
        size_t vl = strlen(v);
        if (vl + LLP_SAVE_LEN >= sizeof(b->llp_save)) {
                return false;
        }
        bool t = vl && llp_translate(v, b->llp, sizeof(b->llp));
        if (b->origin[0]) {
                size_t n = LLP_LEN;
                if (!t) {
                        memcpy(b->llp, LLP, LLP_LEN);
                        b->llp[LLP_LEN] = '\0';
                        t = llp_add(b->llp, sizeof(b->llp), &n, v, vl);
                } else {
                        n = strlen(b->llp);
                }
                const char *o = b->origin + LLP_LEN;
                t = t && llp_add(b->llp, sizeof(b->llp), &n, o, strlen(o));
        }
        if (t) {
                memcpy(b->llp_save, LLP_SAVE, LLP_SAVE_LEN);
                memcpy(b->llp_save + LLP_SAVE_LEN, v, vl + 1);
        }
        return t;
}

/* LD_PRELOAD for a child whose own value `v` lacks us: the libraries that
 * came before us and are missing from v, then v, then us. */
static void preload_value(struct envbuf *b, const char *v)
{
        size_t n = (size_t)snprintf(b->ld, sizeof(b->ld), "LD_PRELOAD=");
        for (const char *p = preload_before; *p && n < sizeof(b->ld);) {
                size_t l = strcspn(p, ":");
                char tok[PATH_MAX];
                snprintf(tok, sizeof(tok), "%.*s", (int)l, p);
                if (!has_token(v, tok)) {
                        n += (size_t)snprintf(b->ld + n, sizeof(b->ld) - n, "%s:", tok);
                }
                p += l + (p[l] == ':');
        }
        if (n < sizeof(b->ld) && *v) {
                n += (size_t)snprintf(b->ld + n, sizeof(b->ld) - n, "%s:", v);
        }
        if (n < sizeof(b->ld)) {
                snprintf(b->ld + n, sizeof(b->ld) - n, "%s", lib_path);
        }
}

/* The entries child_env may add to a program's environment: LD_PRELOAD,
 * OVL_CONF, LD_LIBRARY_PATH, its saved value, and the terminating NULL. */
#define ENV_EXTRA 5

/* envp with LD_PRELOAD (ours appended, others kept first) and OVL_CONF put
 * back, and with `dyn` (a program the shim will be loaded into)
 * LD_LIBRARY_PATH translated, b->origin's directories (if any) after it;
 * `out` has room for env_count(envp) + ENV_EXTRA entries. */
static char *const *child_env(char *const envp[], char **out, struct envbuf *b, bool dyn)
{
        if (!propagate || !lib_path[0]) {
                return envp;
        }
        size_t n = 0;
        bool ld = false, conf = false, llp = !dyn, save = false;
        if (!dyn) {
                b->origin[0] = '\0';
        }
        snprintf(b->conf, sizeof(b->conf), "OVL_CONF=%s", conf_path);
        for (size_t i = 0; envp && envp[i]; i++) {
                const char *e = envp[i];
                if (!strncmp(e, LLP_SAVE, LLP_SAVE_LEN - 1) &&
                    (!e[LLP_SAVE_LEN - 1] || e[LLP_SAVE_LEN - 1] == '=')) {
                        continue; /* ours alone to set (the value, or the bare "unset" note) */
                }
                if (!llp && !strncmp(e, LLP, LLP_LEN)) {
                        llp = true;
                        if (llp_child(b, e + LLP_LEN)) {
                                save = true;
                                e = b->llp;
                        }
                } else if (!strncmp(e, "LD_PRELOAD=", 11)) {
                        ld = true;
                        if (!has_token(e + 11, lib_path)) {
                                preload_value(b, e + 11);
                                e = b->ld;
                        }
                } else if (!strncmp(e, "OVL_CONF=", 9)) {
                        conf = true;
                        e = b->conf;
                }
                out[n++] = (char *)e;
        }
        if (!ld) {
                preload_value(b, "");
                out[n++] = b->ld;
        }
        if (!conf) {
                out[n++] = b->conf;
        }
        if (!llp && b->origin[0]) {
                /* none of its own: the $ORIGIN directories alone, and a note to unset it */
                memcpy(b->llp, b->origin, strlen(b->origin) + 1);
                memcpy(b->llp_save, LLP_SAVE, LLP_SAVE_LEN - 1);
                b->llp_save[LLP_SAVE_LEN - 1] = '\0';
                out[n++] = b->llp;
                save = true;
        }
        if (save) {
                out[n++] = b->llp_save;
        }
        out[n] = NULL;
        return out;
}

/* --- what to run --------------------------------------------------------------------- */

/* The real path of (dirfd, path): the layer's copy of a merged program. */
static int real_path(int dirfd, const char *path, char *out, bool *in)
{
        struct ovl_loc loc;
        int k = ovl_at(dirfd, path, 0, &loc);
        *in = k == OVL_IN;
        if (k < 0) {
                return k;
        }
        if (k == OVL_PASS) {
                return snprintf(out, PATH_MAX, "%s", path) < PATH_MAX ? 0 : -ENAMETOOLONG;
        }
        if (k == OVL_OUT) {
                return snprintf(out, PATH_MAX, "%s", loc.real) < PATH_MAX ? 0 : -ENAMETOOLONG;
        }
        if (loc.layer < 0) {
                return -ENOENT;
        }
        const char *root = loc.m->layers[loc.layer].path;
        int n = snprintf(out, PATH_MAX, "%s%s%s", root, loc.rel[0] ? "/" : "", loc.rel);
        return n < PATH_MAX ? 0 : -ENAMETOOLONG;
}

static void say(const char *a, const char *b, const char *c, const char *d, const char *e)
{
        char line[3 * PATH_MAX];
        int n = snprintf(line, sizeof(line), "ovlshim: %s%s%s%s%s\n", a, b, c, d, e);
        ovl_sys_write(2, line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* The policy in force for an exec: the child's environment may set it. */
static int policy_for(char *const envp[])
{
        for (size_t i = 0; envp && envp[i]; i++) {
                if (!strncmp(envp[i], "OVL_EXEC_POLICY=", 16)) {
                        return policy_of(envp[i] + 16, policy);
                }
        }
        return policy;
}

/* Refuse, report or let pass a program the shim cannot follow. */
static int apply_policy(const char *path, int kind, int pol)
{
        if (kind == OVL_EXEC_OK || kind == OVL_EXEC_SCRIPT || pol == POLICY_QUIET) {
                return 0;
        }
        if (pol == POLICY_REFUSE) {
                say("refusing to run ", path, ": ", ovl_exec_why(kind),
                    protected_dir[0] ? ": it would write straight into the protected directory "
                                       "(OVL_EXEC_POLICY=warn runs it)"
                                     : " (OVL_EXEC_POLICY=warn runs it)");
                return -EPERM;
        }
        say(path, ": ", ovl_exec_why(kind), ": it runs without the overlay", "");
        return 0;
}

struct plan {
        char path[PATH_MAX]; /* what to hand to the kernel */
        char interp[MAX_SCRIPT_DEPTH][256];
        char arg[MAX_SCRIPT_DEPTH][256];
        char script[MAX_SCRIPT_DEPTH][PATH_MAX];
        int depth; /* interpreters put in front of argv */
        int policy;
        int kind; /* of the program that runs in the end (enum ovl_exec_kind) */
        bool in;  /* ... it is in an overlay, named (fdirfd, fpath) */
        int fdirfd;
        const char *fpath;
        bool has_arg[MAX_SCRIPT_DEPTH];
};

/* Follow #! lines ourselves wherever the script or its interpreter lies in
 * an overlay, so that the interpreter gets the merged path. */
static int plan_exec(int dirfd, const char *path, struct plan *p)
{
        p->depth = 0;
        p->kind = OVL_EXEC_OK;
        p->in = false;
        for (;;) {
                bool in;
                int r = real_path(dirfd, path, p->path, &in);
                struct ovl_exec_info info;
                if (r == 0) {
                        r = ovl_exec_probe(AT_FDCWD, p->path, &info);
                }
                if (r < 0) {
                        return r;
                }
                if (info.kind != OVL_EXEC_SCRIPT) {
                        p->kind = info.kind;
                        p->in = in;
                        p->fdirfd = dirfd;
                        p->fpath = path;
                        return apply_policy(path, info.kind, p->policy);
                }
                bool interp_in = ovl_at(AT_FDCWD, info.interp, 0, &(struct ovl_loc){0}) != OVL_PASS;
                if (!in && !interp_in) {
                        struct plan sub;
                        sub.policy = p->policy;
                        r = plan_exec(AT_FDCWD, info.interp, &sub); /* policy of the interpreter */
                        p->kind = sub.kind;
                        return r < 0 ? r : 0;
                }
                if (p->depth == MAX_SCRIPT_DEPTH) {
                        return -ELOOP;
                }
                int d = p->depth++;
                memcpy(p->interp[d], info.interp, sizeof(info.interp));
                memcpy(p->arg[d], info.arg, sizeof(info.arg));
                p->has_arg[d] = info.has_arg;
                if (dirfd != AT_FDCWD && path[0] != '/') {
                        /* the kernel would say /dev/fd/N/path; we know better */
                        char base[PATH_MAX];
                        struct ovl_mount *m = ovl_fd_merged(dirfd, base, sizeof(base), NULL);
                        if (snprintf(p->script[d], PATH_MAX, "%s/%s", m ? base : ".", path) >=
                            PATH_MAX) {
                                return -ENAMETOOLONG;
                        }
                } else {
                        snprintf(p->script[d], PATH_MAX, "%s", path);
                }
                path = p->interp[d];
                dirfd = AT_FDCWD;
        }
}

static size_t argv_count(char *const argv[])
{
        size_t n = 0;
        while (argv && argv[n]) {
                n++;
        }
        return n;
}

/* argv with the interpreters in front: out has room for argc + 3 * depth + 1 */
static char *const *plan_argv(struct plan *p, char *const argv[], char **out)
{
        if (!p->depth) {
                return argv;
        }
        size_t n = 0;
        for (int d = p->depth - 1; d >= 0; d--) {
                out[n++] = p->interp[d];
                if (p->has_arg[d]) {
                        out[n++] = p->arg[d];
                }
                if (d == 0) {
                        break;
                }
                out[n++] = p->script[d];
        }
        out[n++] = p->script[0];
        for (size_t i = 1; argv && argv[0] && argv[i]; i++) {
                out[n++] = argv[i];
        }
        out[n] = NULL;
        return out;
}

/* --- exec ---------------------------------------------------------------------------- */

/* $ORIGIN in the RUNPATH (or RPATH) of a program in an overlay: the loader
 * expands it to the directory of the layer's file and finds only what that
 * layer holds. Each such entry whose merged directory has other layers (a
 * program relinked into the upper, its library still in a lower) goes into
 * b->origin as those layers' directories, for the end of the child's
 * LD_LIBRARY_PATH; b->origin is "" when there is none. */
static void origin_dirs(const struct plan *p, struct envbuf *b)
{
        b->origin[0] = '\0';
        char rp[PATH_MAX];
        if (!p->in || p->kind != OVL_EXEC_OK ||
            ovl_elf_origin_path(AT_FDCWD, p->path, rp, sizeof(rp)) != 1) {
                return;
        }
        struct ovl_loc loc;
        char origin[PATH_MAX];
        if (ovl_at(p->fdirfd, p->fpath, 0, &loc) != OVL_IN || loc.layer < 0 ||
            ovl_loc_path(&loc, origin, sizeof(origin)) < 0) {
                return;
        }
        *strrchr(origin, '/') = '\0'; /* a merged path below MERGED: it has one */
        int layer = loc.layer;
        size_t n = (size_t)snprintf(b->origin, sizeof(b->origin), "%s", LLP);
        for (const char *e = rp; *e;) {
                size_t l = strcspn(e, ":");
                char dir[PATH_MAX];
                size_t d = 0;
                bool fits = true;
                for (size_t i = 0; i < l && fits;) {
                        size_t vl = !strncmp(e + i, "$ORIGIN", 7)     ? 7
                                    : !strncmp(e + i, "${ORIGIN}", 9) ? 9
                                                                      : 0;
                        const char *add = vl ? origin : e + i;
                        size_t al = vl ? strlen(origin) : 1;
                        fits = d + al < sizeof(dir);
                        if (fits) {
                                memcpy(dir + d, add, al);
                                d += al;
                        }
                        i += vl ? vl : 1;
                }
                dir[fits ? d : 0] = '\0';
                struct ovl_loc dl;
                if (fits && memchr(e, '$', l) && ovl_at(AT_FDCWD, dir, 0, &dl) == OVL_IN &&
                    !(dl.nstack <= 1 && dl.layer == layer) &&
                    !llp_layers(b->origin, sizeof(b->origin), &n, &dl)) {
                        break;
                }
                e += l;
                e += *e == ':';
        }
        if (n == LLP_LEN) {
                b->origin[0] = '\0';
        }
}

static int exec_at(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
        struct plan p;
        p.policy = policy_for(envp);
        int r = plan_exec(dirfd, path, &p);
        if (r < 0) {
                return r;
        }
        char *env[env_count(envp) + ENV_EXTRA];
        struct envbuf eb;
        origin_dirs(&p, &eb);
        char *const *e = child_env(envp, env, &eb, p.kind == OVL_EXEC_OK);
        char *args[argv_count(argv) + 3 * MAX_SCRIPT_DEPTH + 2];
        char *const *a = plan_argv(&p, argv, args);
        if (!p.depth && dirfd != AT_FDCWD && !strcmp(p.path, path)) {
                REAL(execveat)(dirfd, path, a, e, flags);
        } else {
                REAL(execve)(p.path, a, e);
        }
        return -errno;
}

OVL_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
        if (!ovl_active()) {
                return REAL(execve)(path, argv, envp);
        }
        return (int)ovl_ret(exec_at(AT_FDCWD, path, argv, envp, 0));
}

OVL_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                        int flags)
{
        if (!ovl_active() || (flags & AT_EMPTY_PATH && !*path)) {
                char *env[env_count(envp) + ENV_EXTRA];
                struct envbuf eb;
                return REAL(execveat)(dirfd, path, argv, child_env(envp, env, &eb, false), flags);
        }
        return (int)ovl_ret(exec_at(dirfd, path, argv, envp, flags));
}

OVL_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
        char *env[env_count(envp) + ENV_EXTRA];
        struct envbuf eb;
        return REAL(fexecve)(fd, argv, ovl_active() ? child_env(envp, env, &eb, false) : envp);
}

OVL_EXPORT int execv(const char *path, char *const argv[])
{
        return execve(path, argv, environ);
}

/* ENOEXEC: a file without #! runs under /bin/sh, as glibc's execvp does. */
static int exec_sh(const char *file, char *const argv[], char *const envp[])
{
        size_t n = argv_count(argv);
        char *sh[n + 3];
        sh[0] = "/bin/sh";
        sh[1] = (char *)file;
        for (size_t i = 1; i <= n; i++) {
                sh[i + 1] = argv[i];
        }
        sh[n + 1 > 1 ? n + 1 : 2] = NULL;
        return exec_at(AT_FDCWD, "/bin/sh", sh, envp, 0);
}

/* The PATH search of execvp, over the merged view. */
OVL_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
        if (!ovl_active() || !*file) {
                return REAL(execvpe)(file, argv, envp);
        }
        if (strchr(file, '/')) {
                int r = exec_at(AT_FDCWD, file, argv, envp, 0);
                return (int)ovl_ret(r == -ENOEXEC ? exec_sh(file, argv, envp) : r);
        }
        const char *path = getenv("PATH");
        if (!path) {
                path = "/bin:/usr/bin";
        }
        int err = -ENOENT;
        for (const char *p = path;; p++) {
                size_t n = strcspn(p, ":");
                char cand[PATH_MAX];
                snprintf(cand, sizeof(cand), "%.*s%s%s", (int)n, p, n ? "/" : "", file);
                int r = exec_at(AT_FDCWD, cand, argv, envp, 0);
                if (r == -ENOEXEC) {
                        r = exec_sh(cand, argv, envp);
                }
                if (r == -EACCES) {
                        err = r;
                } else if (r != -ENOENT && r != -ENOTDIR && r != -ESTALE && r != -ENODEV &&
                           r != -ETIMEDOUT) {
                        return (int)ovl_ret(r);
                }
                p += n;
                if (!*p) {
                        break;
                }
        }
        return (int)ovl_ret(err);
}

OVL_EXPORT int execvp(const char *file, char *const argv[])
{
        return execvpe(file, argv, environ);
}

#define VARARGS_ARGV(first, ap, args, extra)                                                       \
        size_t na = 1;                                                                             \
        va_list ap;                                                                                \
        va_start(ap, first);                                                                       \
        while (va_arg(ap, char *)) {                                                               \
                na++;                                                                              \
        }                                                                                          \
        va_end(ap);                                                                                \
        char *args[na + 1];                                                                        \
        va_start(ap, first);                                                                       \
        args[0] = (char *)(first);                                                                 \
        for (size_t i = 1; i <= na; i++) {                                                         \
                args[i] = va_arg(ap, char *);                                                      \
        }                                                                                          \
        extra;                                                                                     \
        va_end(ap)

OVL_EXPORT int execl(const char *path, const char *arg, ...)
{
        VARARGS_ARGV(arg, ap, args, (void)0);
        return execve(path, args, environ);
}

OVL_EXPORT int execlp(const char *file, const char *arg, ...)
{
        VARARGS_ARGV(arg, ap, args, (void)0);
        return execvpe(file, args, environ);
}

OVL_EXPORT int execle(const char *path, const char *arg, ...)
{
        char **envp;
        VARARGS_ARGV(arg, ap, args, envp = va_arg(ap, char **));
        return execve(path, args, envp);
}

/* --- spawn ------------------------------------------------------------------------------ */

static int spawn_at(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                    const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
        struct plan p;
        p.policy = policy_for(envp);
        int r = plan_exec(AT_FDCWD, path, &p);
        if (r < 0) {
                return -r;
        }
        char *env[env_count(envp) + ENV_EXTRA];
        struct envbuf eb;
        origin_dirs(&p, &eb);
        char *args[argv_count(argv) + 3 * MAX_SCRIPT_DEPTH + 2];
        return REAL(posix_spawn)(pid, p.path, fa, attr, plan_argv(&p, argv, args),
                                 child_env(envp, env, &eb, p.kind == OVL_EXEC_OK));
}

OVL_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                           const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
        if (!ovl_active()) {
                return REAL(posix_spawn)(pid, path, fa, attr, argv, envp);
        }
        if (ovl_spawn_needs_shim(fa)) {
                return ovl_spawn_shimmed(pid, path, fa, attr, argv, envp, false);
        }
        return spawn_at(pid, path, fa, attr, argv, envp);
}

/* Is cand an executable regular file in the merged view? */
static bool executable(const char *cand)
{
        struct stat st;
        return stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0;
}

OVL_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                            const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
        if (ovl_active() && ovl_spawn_needs_shim(fa)) {
                return ovl_spawn_shimmed(pid, file, fa, attr, argv, envp, true);
        }
        if (!ovl_active() || !*file || strchr(file, '/')) {
                return ovl_active() ? spawn_at(pid, file, fa, attr, argv, envp)
                                    : REAL(posix_spawnp)(pid, file, fa, attr, argv, envp);
        }
        const char *path = getenv("PATH");
        if (!path) {
                path = "/bin:/usr/bin";
        }
        for (const char *p = path;; p++) {
                size_t n = strcspn(p, ":");
                char cand[PATH_MAX];
                snprintf(cand, sizeof(cand), "%.*s%s%s", (int)n, p, n ? "/" : "", file);
                if (executable(cand)) {
                        return spawn_at(pid, cand, fa, attr, argv, envp);
                }
                p += n;
                if (!*p) {
                        break;
                }
        }
        return ENOENT;
}

/* system and popen start /bin/sh with the program's own environment: put
 * our variables back into it first if the program removed them. */
static void restore_env(void)
{
        if (!propagate || !lib_path[0]) {
                return;
        }
        const char *c = getenv("OVL_CONF");
        if (!c || strcmp(c, conf_path)) {
                setenv("OVL_CONF", conf_path, 1);
        }
        const char *l = getenv("LD_PRELOAD");
        if (!l || !has_token(l, lib_path)) {
                struct envbuf b;
                memset(&b, 0, sizeof(b));
                preload_value(&b, l ? l : "");
                setenv("LD_PRELOAD", b.ld + 11, 1);
        }
}

OVL_EXPORT int system(const char *cmd)
{
        if (ovl_active()) {
                restore_env();
        }
        return REAL(system)(cmd);
}

OVL_EXPORT FILE *popen(const char *cmd, const char *mode)
{
        if (ovl_active()) {
                restore_env();
        }
        return REAL(popen)(cmd, mode);
}
