/* Shared pieces of the robustness programs (tests/integration/t_robust.sh): the layout of
 * the small overlay they run on, the expected content of every file in it, and a failure
 * counter that is safe to bump from any thread.
 *
 * Layout (L1 = top lower, L2 = bottom lower, U = upper; M = MERGED):
 *   data/f<i>, i < NDATA      i%4==0: L1 and L2 (L1 wins)   i%4==1: L2 only
 *                             i%4==2: U over L2 (U wins)    i%4==3: L2, whiteout in L1 -> ENOENT
 *   ro/ a b c (L2), d (L1), whiteout of b (L1), e (U), sub/x (L2)  -> . .. a c d e sub
 *   dirlink -> ro             (symlink in L1)
 *   deep/a/b/c/file           (L2)
 *   shared/s<k>, k < NSHARED  (L2) SHARED_SIZE bytes each, appended to by many threads
 *   cu/c<j>, j < NCU          (L2) one line each; copied up one by one by writers
 *   tw/t<id>/seed, id < 32    (L2) per-thread dirs; the threads create files next to seed
 *   pool/p<j>, j < NPOOL      (L2) unlinked by a signal handler
 *   many/m<j>, j < NMANY      (L2) empty; looked up once each (fills the lower cache)
 *   bin/child.sh              (L2) #!/bin/sh: checks $0 and that "$1" is a regular file
 *   bin/true                  (L1) a copy of /bin/true (the test script puts it there)
 */
#ifndef OVL_STRESS_H
#define OVL_STRESS_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define NDATA 64
#define NSHARED 8
#define SHARED_SIZE 32768
#define NCU 1500
#define NTW 32
#define NPOOL 3000
#define NMANY 4000

/* --- expected content ------------------------------------------------------------- */

/* data/f<i>: 0 and the content, or -ENOENT */
static inline int data_expect(int i, char *out, size_t cap)
{
        switch (i % 4) {
        case 0:
                snprintf(out, cap, "data %d from l1\n", i);
                return 0;
        case 1:
                snprintf(out, cap, "data %d from l2\n", i);
                return 0;
        case 2:
                snprintf(out, cap, "data %d from upper\n", i);
                return 0;
        default:
                out[0] = '\0';
                return -ENOENT;
        }
}

/* byte `off` of shared/s<k> before any append */
static inline char shared_byte(int k, size_t off)
{
        static const char line[] = "shared file line ........................................\n";
        size_t l = sizeof(line) - 1;
        return (off % l == 13) ? (char)('A' + k) : line[off % l];
}

static inline void cu_expect(int j, char *out, size_t cap)
{
        snprintf(out, cap, "copy-up candidate %d\n", j);
}

/* --- failures ----------------------------------------------------------------------- */

static int stress_nfail;
static int stress_verbose_limit = 20;

/* Report a failed check (the first few in full), counted atomically. */
__attribute__((format(printf, 1, 2), unused)) static void failf(const char *fmt, ...)
{
        int n = __atomic_add_fetch(&stress_nfail, 1, __ATOMIC_RELAXED);
        if (n > stress_verbose_limit) {
                return;
        }
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        int len = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
        va_end(ap);
        if (len < 0) {
                return;
        }
        if (len > (int)sizeof(buf) - 2) {
                len = (int)sizeof(buf) - 2;
        }
        buf[len++] = '\n';
        (void)!write(2, buf, (size_t)len);
}

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        failf(__VA_ARGS__);                                                        \
                }                                                                                  \
        } while (0)

/* Read a whole small file into buf (NUL-terminated); returns length or -errno. */
static inline ssize_t slurp(const char *path, char *buf, size_t cap)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                return -errno;
        }
        size_t n = 0;
        ssize_t r;
        while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0) {
                n += (size_t)r;
        }
        int e = errno;
        close(fd);
        buf[n] = '\0';
        return r < 0 ? -e : (ssize_t)n;
}

static inline int write_all(int fd, const void *p, size_t n)
{
        const char *c = p;
        while (n) {
                ssize_t r = write(fd, c, n);
                if (r < 0) {
                        if (errno == EINTR) {
                                continue;
                        }
                        return -errno;
                }
                c += r, n -= (size_t)r;
        }
        return 0;
}

/* Names of a directory, sorted, joined by ' ' into out; -errno on failure. */
static inline int list_dir(const char *path, char *out, size_t cap)
{
        DIR *d = opendir(path);
        if (!d) {
                return -errno;
        }
        char *names[512];
        int n = 0;
        struct dirent *e;
        errno = 0;
        while ((e = readdir(d)) != NULL) {
                if (n < 512) {
                        names[n++] = strdup(e->d_name);
                }
        }
        int err = errno;
        closedir(d);
        for (int i = 1; i < n; i++) { /* insertion sort: small lists */
                for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
                        char *t = names[j];
                        names[j] = names[j - 1];
                        names[j - 1] = t;
                }
        }
        size_t o = 0;
        out[0] = '\0';
        for (int i = 0; i < n; i++) {
                int w = snprintf(out + o, cap - o, "%s%s", i ? " " : "", names[i]);
                if (w > 0 && (size_t)w < cap - o) {
                        o += (size_t)w;
                }
                free(names[i]);
        }
        return err ? -err : n;
}

#endif
