/* Small helpers of the ovl tool: messages, memory, strings, directories. */
#include "ovl.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *ovl_prog = "ovl";

static void vmsg(const char *fmt, va_list ap)
{
        fprintf(stderr, "%s: ", ovl_prog);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
}

void die(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vmsg(fmt, ap);
        va_end(ap);
        exit(OVL_EXIT_FAIL);
}

void usage_die(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vmsg(fmt, ap);
        va_end(ap);
        fprintf(stderr, "Try 'ovl --help'.\n");
        exit(OVL_EXIT_USAGE);
}

void warn(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vmsg(fmt, ap);
        va_end(ap);
}

void *xmalloc(size_t n)
{
        void *p = malloc(n ? n : 1);
        if (!p) {
                die("out of memory");
        }
        return p;
}

void *xrealloc(void *p, size_t n)
{
        p = realloc(p, n ? n : 1);
        if (!p) {
                die("out of memory");
        }
        return p;
}

char *xstrdup(const char *s)
{
        char *p = strdup(s);
        if (!p) {
                die("out of memory");
        }
        return p;
}

char *xasprintf(const char *fmt, ...)
{
        va_list ap;
        char *p;
        va_start(ap, fmt);
        int r = vasprintf(&p, fmt, ap);
        va_end(ap);
        if (r < 0) {
                die("out of memory");
        }
        return p;
}

void sb_putn(struct sbuf *b, const void *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                while (b->len + n + 1 > cap) {
                        cap *= 2;
                }
                b->p = xrealloc(b->p, cap);
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
        sb_putn(b, s, strlen(s));
}

void sb_putc(struct sbuf *b, char c)
{
        sb_putn(b, &c, 1);
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
        va_list ap;
        char *p;
        va_start(ap, fmt);
        int r = vasprintf(&p, fmt, ap);
        va_end(ap);
        if (r < 0) {
                die("out of memory");
        }
        sb_putn(b, p, (size_t)r);
        free(p);
}

char *path_join(const char *dir, const char *name)
{
        return *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int list_names(int fd, const char *rel, char ***out)
{
        int dfd = openat(fd, *rel ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                return -errno;
        }
        DIR *d = fdopendir(dfd);
        if (!d) {
                int e = errno;
                close(dfd);
                return -e;
        }
        char **v = NULL;
        int n = 0, cap = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
                        continue;
                }
                if (n == cap) {
                        cap = cap ? cap * 2 : 16;
                        v = xrealloc(v, (size_t)cap * sizeof(*v));
                }
                v[n++] = xstrdup(de->d_name);
        }
        closedir(d);
        if (n) {
                qsort(v, (size_t)n, sizeof(*v), cmp_str);
        }
        *out = v;
        return n;
}

void free_names(char **names, int n)
{
        for (int i = 0; i < n; i++) {
                free(names[i]);
        }
        free(names);
}

void split_layers(const char *list, char ***v, int *n)
{
        struct sbuf cur = {0};
        for (const char *p = list;; p++) {
                if (*p == '\\' && (p[1] == ':' || p[1] == '\\')) {
                        sb_putc(&cur, *++p);
                        continue;
                }
                if (*p && *p != ':') {
                        sb_putc(&cur, *p);
                        continue;
                }
                if (!cur.len) {
                        usage_die("empty layer in '%s'", list);
                }
                *v = xrealloc(*v, (size_t)(*n + 1) * sizeof(**v));
                (*v)[(*n)++] = cur.p;
                cur = (struct sbuf){0};
                if (!*p) {
                        break;
                }
        }
}

char *escape_path(const char *p)
{
        struct sbuf b = {0};
        sb_puts(&b, "");
        for (; *p; p++) {
                if (*p == ':' || *p == ',' || *p == '\\') {
                        sb_putc(&b, '\\');
                        sb_putc(&b, *p);
                } else if (*p == ' ' || *p == '\t' || *p == '\n') {
                        sb_printf(&b, "\\%03o", (unsigned char)*p);
                } else {
                        sb_putc(&b, *p);
                }
        }
        return b.p;
}

static int empty_at(int fd)
{
        char **names;
        int n = list_names(fd, "", &names);
        if (n < 0) {
                return n;
        }
        int r = 0;
        for (int i = 0; i < n && r == 0; i++) {
                if (unlinkat(fd, names[i], 0) == 0) {
                        continue;
                }
                if (errno != EISDIR && errno != EPERM) {
                        r = -errno;
                        break;
                }
                fchmodat(fd, names[i], 0700, 0);
                int sub = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        r = -errno;
                        break;
                }
                r = empty_at(sub);
                close(sub);
                if (r == 0 && unlinkat(fd, names[i], AT_REMOVEDIR) < 0) {
                        r = -errno;
                }
        }
        free_names(names, n);
        return r;
}

int empty_dir(const char *path)
{
        int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                return -errno;
        }
        int r = empty_at(fd);
        close(fd);
        return r;
}

int remove_tree(const char *path)
{
        if (unlink(path) == 0 || errno == ENOENT) {
                return 0;
        }
        chmod(path, 0700);
        int r = empty_dir(path);
        if (r == 0 && rmdir(path) < 0) {
                r = -errno;
        }
        return r;
}

int mkdir_p(const char *path, mode_t mode)
{
        char *p = xstrdup(path);
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s) {
                        continue;
                }
                char c = *s;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST) {
                        int e = errno;
                        free(p);
                        return -e;
                }
                *s = c;
                if (!c) {
                        break;
                }
        }
        free(p);
        return 0;
}

char *abs_path(const char *p)
{
        char *r = realpath(p, NULL);
        if (r) {
                return r;
        }
        char cwd[PATH_MAX], out[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd)) || ovl_path_lexical(out, sizeof(out), cwd, p) < 0) {
                die("%s: path too long", p);
        }
        return xstrdup(out);
}

void prepare_out_dir(const char *path)
{
        struct stat st;
        if (lstat(path, &st) == 0) {
                char **names;
                int n = S_ISDIR(st.st_mode) ? list_names(AT_FDCWD, path, &names) : -ENOTDIR;
                if (n < 0) {
                        die("%s: %s", path, strerror(-n));
                }
                free_names(names, n);
                if (n > 0) {
                        die("%s: exists and is not empty (refusing to write a layer into it)",
                            path);
                }
                return;
        }
        int r = mkdir_p(path, 0755);
        if (r < 0) {
                die("cannot create %s: %s", path, strerror(-r));
        }
}

void layer_init(struct ovl_layer *l, const char *path)
{
        char *real = realpath(path, NULL);
        if (!real) {
                die("%s: %s", path, strerror(errno));
        }
        struct stat st;
        if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
                die("%s: not a directory", path);
        }
        *l = (struct ovl_layer){.path = real, .len = strlen(real), .fd = -1};
        l->dev = st.st_dev;
        l->ino = st.st_ino;
}

int layer_fd(struct ovl_layer *l)
{
        int fd = ovl_layer_fd(l);
        if (fd < 0) {
                die("%s: %s", l->path, strerror(-fd));
        }
        return fd;
}

void sha256_hex(const unsigned char md[32], char out[65])
{
        for (int i = 0; i < 32; i++) {
                snprintf(out + 2 * i, 3, "%02x", md[i]);
        }
}

int sha256_file(const char *path, char out[65])
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                return -errno;
        }
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        char buf[65536];
        ssize_t got;
        while ((got = read(fd, buf, sizeof(buf))) > 0) {
                EVP_DigestUpdate(ctx, buf, (size_t)got);
        }
        int r = got < 0 ? -errno : 0;
        close(fd);
        unsigned char md[32];
        EVP_DigestFinal_ex(ctx, md, NULL);
        EVP_MD_CTX_free(ctx);
        sha256_hex(md, out);
        return r;
}
