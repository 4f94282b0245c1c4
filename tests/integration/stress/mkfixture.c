/* mkfixture L1 L2 U [shared] [cu] [pool] [many]: builds the layers stress.h describes (run
 * natively, never under the shim): always data/, ro/, dirlink, deep/, tw/ and bin/child.sh;
 * the bigger parts only when named, so that each program gets only what it uses. Whiteouts
 * are kernel char devices 0/0 when mknod allows it, else `.wh.NAME`. bin/true is left to the
 * caller (a copy of /bin/true). */
#include "stress.h"

#include <sys/sysmacros.h>

static const char *L1, *L2, *U;

static void die(const char *what, const char *p)
{
        fprintf(stderr, "mkfixture: %s %s: %s\n", what, p, strerror(errno));
        exit(1);
}

static void mkdirs(const char *layer, const char *rel)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", layer, rel);
        for (char *s = p + strlen(layer) + 1;; s++) {
                if (*s == '/' || !*s) {
                        char c = *s;
                        *s = '\0';
                        if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                                die("mkdir", p);
                        }
                        *s = c;
                        if (!c) {
                                break;
                        }
                }
        }
}

static void put(const char *layer, const char *rel, const char *content, size_t len, mode_t mode)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", layer, rel);
        char *s = strrchr(p, '/');
        if (s > p + strlen(layer)) {
                *s = '\0';
                mkdirs(layer, p + strlen(layer) + 1);
                *s = '/';
        }
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
        if (fd < 0 || write_all(fd, content, len) < 0) {
                die("write", p);
        }
        close(fd);
        chmod(p, mode);
}

static void puts_(const char *layer, const char *rel, const char *content)
{
        put(layer, rel, content, strlen(content), 0644);
}

static void whiteout(const char *layer, const char *rel)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", layer, rel);
        if (mknod(p, S_IFCHR | 0000, makedev(0, 0)) == 0) {
                return;
        }
        const char *s = strrchr(rel, '/');
        snprintf(p, sizeof(p), "%s/%.*s.wh.%s", layer, s ? (int)(s - rel) + 1 : 0, rel,
                 s ? s + 1 : rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) {
                die("whiteout", p);
        }
        close(fd);
}

int main(int argc, char **argv)
{
        if (argc < 4) {
                fprintf(stderr, "usage: mkfixture L1 L2 U [shared] [cu] [pool] [many]\n");
                return 2;
        }
        bool want_shared = false, want_cu = false, want_pool = false, want_many = false;
        for (int a = 4; a < argc; a++) {
                want_shared |= !strcmp(argv[a], "shared");
                want_cu |= !strcmp(argv[a], "cu");
                want_pool |= !strcmp(argv[a], "pool");
                want_many |= !strcmp(argv[a], "many");
        }
        L1 = argv[1], L2 = argv[2], U = argv[3];
        char rel[256], buf[256];
        umask(022);
        mkdirs(L1, "data");
        mkdirs(U, "data");
        for (int i = 0; i < NDATA; i++) {
                snprintf(rel, sizeof(rel), "data/f%d", i);
                snprintf(buf, sizeof(buf), "data %d from l2\n", i);
                puts_(L2, rel, buf);
                if (i % 4 == 0) {
                        snprintf(buf, sizeof(buf), "data %d from l1\n", i);
                        puts_(L1, rel, buf);
                } else if (i % 4 == 2) {
                        snprintf(buf, sizeof(buf), "data %d from upper\n", i);
                        puts_(U, rel, buf);
                } else if (i % 4 == 3) {
                        whiteout(L1, rel);
                }
        }
        puts_(L2, "ro/a", "a\n");
        puts_(L2, "ro/b", "b\n");
        puts_(L2, "ro/c", "c\n");
        puts_(L2, "ro/sub/x", "x\n");
        puts_(L1, "ro/d", "d\n");
        whiteout(L1, "ro/b");
        puts_(U, "ro/e", "e\n");
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/dirlink", L1);
        if (symlink("ro", p) < 0) {
                die("symlink", p);
        }
        puts_(L2, "deep/a/b/c/file", "deep\n");
        static char big[SHARED_SIZE];
        for (int k = 0; want_shared && k < NSHARED; k++) {
                for (size_t o = 0; o < SHARED_SIZE; o++) {
                        big[o] = shared_byte(k, o);
                }
                snprintf(rel, sizeof(rel), "shared/s%d", k);
                put(L2, rel, big, SHARED_SIZE, 0644);
        }
        for (int j = 0; want_cu && j < NCU; j++) {
                snprintf(rel, sizeof(rel), "cu/c%d", j);
                cu_expect(j, buf, sizeof(buf));
                puts_(L2, rel, buf);
        }
        for (int t = 0; t < NTW; t++) {
                snprintf(rel, sizeof(rel), "tw/t%d/seed", t);
                snprintf(buf, sizeof(buf), "seed %d\n", t);
                puts_(L2, rel, buf);
        }
        for (int j = 0; want_pool && j < NPOOL; j++) {
                snprintf(rel, sizeof(rel), "pool/p%d", j);
                puts_(L2, rel, "");
        }
        for (int j = 0; want_many && j < NMANY; j++) {
                snprintf(rel, sizeof(rel), "many/m%d", j);
                puts_(L2, rel, "");
        }
        put(L2, "bin/child.sh",
            "#!/bin/sh\n"
            "# $0 must be the merged path the caller ran, $1 a regular file\n"
            "[ \"$0\" = \"$2\" ] || exit 3\n"
            "[ -f \"$1\" ] || exit 4\n"
            "exit 0\n",
            strlen("#!/bin/sh\n"
                   "# $0 must be the merged path the caller ran, $1 a regular file\n"
                   "[ \"$0\" = \"$2\" ] || exit 3\n"
                   "[ -f \"$1\" ] || exit 4\n"
                   "exit 0\n"),
            0755);
        return 0;
}
