/* fdclose MERGED closerange|closefrom|closeloop|dup2: programs that close or dup2 over
 * every fd must not break the shim (DESIGN.md "Work dir and concurrency": the shim's own
 * fds survive close, dup2/dup3, close_range and closefrom).
 *
 * First the shim is warmed up (lookups, a listing, a write, so that layer-root fds, work
 * dir fds and the lock fd exist), then:
 *   closerange  close_range(3, 1023, 0)      (returns 0)
 *   closefrom   closefrom(3)
 *   closeloop   close(fd) for fd 3..1023     (EBADF for each fd the program did not
 *               inherit: it never had one there; 0 for the inherited ones)
 *   dup2        dup2(pipe write end, n) for every n in 3..1023 (each returns n), a byte
 *               written through every one of them arrives in the pipe (each fd is the
 *               program's own), then close() of every one (each 0)
 *   fullstat    (run it under `ulimit -n 1024`) dup2 of /dev/null onto every free fd up to
 *               the limit, then lookups on merged paths, which need no new fd on a kernel
 *               overlay (stat, lstat, access, readlink); then close() of every one
 * and then the merged tree is used again: stat, read, readdir, realpath, getcwd, create,
 * append, rename, unlink, a copy-up and a whiteout; every result is checked. */
#include "stress.h"

#include <sys/resource.h>

static bool inherited[1024];

static const char *M;

static char *P(const char *rel)
{
        static char bufs[8][PATH_MAX];
        static int n;
        char *b = bufs[n++ % 8];
        snprintf(b, PATH_MAX, "%s/%s", M, rel);
        return b;
}

static void battery(const char *tag, int round)
{
        char got[256], want[128], list[512], rp[PATH_MAX];
        struct stat st;
        for (int k = 0; k < 8; k++) {
                char rel[32];
                snprintf(rel, sizeof(rel), "data/f%d", k);
                int e = data_expect(k, want, sizeof(want));
                ssize_t n = slurp(P(rel), got, sizeof(got));
                if (e == 0) {
                        CHECK(n >= 0 && !strcmp(got, want), "%s: read %s: %zd (%s)", tag, rel, n,
                              n < 0 ? strerror((int)-n) : got);
                } else {
                        CHECK(n == -ENOENT, "%s: read whiteout %s: %zd", tag, rel, n);
                }
        }
        CHECK(stat(P("deep/a/b/c/file"), &st) == 0 && st.st_size == 5, "%s: stat deep: %s", tag,
              strerror(errno));
        int r = list_dir(P("ro"), list, sizeof(list));
        CHECK(r == 7 && !strcmp(list, ". .. a c d e sub"), "%s: readdir ro: %d '%s'", tag, r, list);
        CHECK(realpath(P("dirlink/sub/x"), rp) && !strcmp(rp, P("ro/sub/x")), "%s: realpath: %s",
              tag, strerror(errno));
        CHECK(getcwd(rp, sizeof(rp)) && !strcmp(rp, P("ro")), "%s: getcwd '%s'", tag, rp);
        CHECK(stat("c", &st) == 0, "%s: relative stat: %s", tag, strerror(errno));
        char f[64], g[64];
        snprintf(f, sizeof(f), "tw/t0/%s-%d", tag, round);
        snprintf(g, sizeof(g), "tw/t0/%s-%d.moved", tag, round);
        int fd = open(P(f), O_WRONLY | O_CREAT | O_EXCL, 0644);
        CHECK(fd >= 0 && write_all(fd, "1\n", 2) == 0, "%s: create %s: %s", tag, f,
              strerror(errno));
        if (fd >= 0) {
                close(fd);
        }
        fd = open(P(f), O_WRONLY | O_APPEND);
        CHECK(fd >= 0 && write_all(fd, "2\n", 2) == 0, "%s: append %s: %s", tag, f,
              strerror(errno));
        if (fd >= 0) {
                close(fd);
        }
        CHECK(rename(P(f), P(g)) == 0, "%s: rename: %s", tag, strerror(errno));
        CHECK(slurp(P(g), got, sizeof(got)) == 4 && !strcmp(got, "1\n2\n"), "%s: read back %s", tag,
              g);
        CHECK(unlink(P(g)) == 0 && stat(P(g), &st) < 0 && errno == ENOENT, "%s: unlink %s: %s", tag,
              g, strerror(errno));
        /* a copy-up of a lower file, and a whiteout (data files only in the bottom lower) */
        char cu[32], pool[32];
        snprintf(cu, sizeof(cu), "data/f%d", 33 + 4 * round);
        snprintf(pool, sizeof(pool), "data/f%d", 49 + 4 * round);
        fd = open(P(cu), O_WRONLY | O_APPEND);
        CHECK(fd >= 0 && write_all(fd, "+\n", 2) == 0, "%s: copy-up %s: %s", tag, cu,
              strerror(errno));
        if (fd >= 0) {
                close(fd);
        }
        data_expect(33 + 4 * round, want, sizeof(want));
        strcat(want, "+\n");
        ssize_t n = slurp(P(cu), got, sizeof(got));
        CHECK(n >= 0 && !strcmp(got, want), "%s: read %s after copy-up: '%s'", tag, cu,
              n >= 0 ? got : strerror((int)-n));
        CHECK(unlink(P(pool)) == 0, "%s: unlink lower %s: %s", tag, pool, strerror(errno));
        CHECK(stat(P(pool), &st) < 0 && errno == ENOENT, "%s: %s still there", tag, pool);
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr,
                        "usage: fdclose MERGED closerange|closefrom|closeloop|dup2|fullstat\n");
                return 2;
        }
        M = argv[1];
        const char *mode = argv[2];
        for (int fd = 3; fd < 1024; fd++) { /* before the shim opens anything of its own */
                inherited[fd] = fcntl(fd, F_GETFD) >= 0;
        }
        if (chdir(P("ro")) < 0) {
                fprintf(stderr, "fdclose: chdir: %s\n", strerror(errno));
                return 1;
        }
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        int hi = rl.rlim_cur > 1024 ? 1023 : (int)rl.rlim_cur - 1;
        battery("warmup", 0);
        if (!strcmp(mode, "closerange")) {
                int r = close_range(3, (unsigned)hi, 0);
                CHECK(r == 0, "close_range(3, %d): %d (%s)", hi, r, strerror(errno));
        } else if (!strcmp(mode, "closefrom")) {
                closefrom(3);
        } else if (!strcmp(mode, "closeloop")) {
                int bad = 0;
                for (int fd = 3; fd <= hi; fd++) {
                        errno = 0;
                        int r = close(fd);
                        if (inherited[fd] && r != 0 && bad++ < 5) {
                                failf("close(%d) = %d errno %d: an inherited fd", fd, r, errno);
                        } else if (!inherited[fd] && !(r < 0 && errno == EBADF) && bad++ < 5) {
                                failf("close(%d) = %d errno %d: the program never opened it", fd, r,
                                      errno);
                        }
                }
        } else if (!strcmp(mode, "dup2")) {
                int p[2];
                if (pipe(p) < 0) {
                        perror("pipe");
                        return 1;
                }
                int nfd = 0, bad = 0;
                for (int fd = 3; fd <= hi; fd++) {
                        if (fd == p[0]) {
                                continue;
                        }
                        int r = dup2(p[1], fd);
                        if (r != fd && bad++ < 5) {
                                failf("dup2(%d, %d) = %d (%s)", p[1], fd, r, strerror(errno));
                        }
                }
                for (int fd = 3; fd <= hi; fd++) {
                        if (fd == p[0]) {
                                continue;
                        }
                        if (write(fd, "x", 1) == 1) {
                                nfd++;
                        } else if (bad++ < 5) {
                                failf("write to dup'd fd %d: %s", fd, strerror(errno));
                        }
                }
                static char buf[4096];
                int got = 0;
                while (got < nfd) {
                        ssize_t r = read(p[0], buf, sizeof(buf));
                        if (r <= 0) {
                                break;
                        }
                        got += (int)r;
                }
                CHECK(got == hi - 3 && nfd == got, "dup2: %d bytes through %d fds, want %d", got,
                      nfd, hi - 3);
                for (int fd = 3; fd <= hi; fd++) {
                        if (fd == p[0]) {
                                continue;
                        }
                        if (close(fd) != 0 && bad++ < 5) {
                                failf("close(%d) after dup2: %s", fd, strerror(errno));
                        }
                }
                close(p[0]);
        } else if (!strcmp(mode, "fullstat")) {
                int nul = open("/dev/null", O_RDONLY);
                int last = (int)rl.rlim_cur - 1, bad = 0;
                for (int fd = 3; fd <= last; fd++) {
                        if (fd != nul && fcntl(fd, F_GETFD) < 0 && dup2(nul, fd) != fd &&
                            bad++ < 5) {
                                failf("dup2(%d, %d): %s", nul, fd, strerror(errno));
                        }
                }
                int extra = open("/dev/null", O_RDONLY);
                CHECK(extra < 0 && errno == EMFILE, "the fd table is not full (open gave %d)",
                      extra);
                /* every fd number is taken: lookups need no new fd on a kernel overlay */
                struct stat st;
                char buf[64];
                CHECK(stat(P("data/f1"), &st) == 0, "stat (bottom lower) with a full fd table: %s",
                      strerror(errno));
                CHECK(stat(P("data/f0"), &st) == 0, "stat (l1) with a full fd table: %s",
                      strerror(errno));
                CHECK(lstat(P("dirlink"), &st) == 0, "lstat with a full fd table: %s",
                      strerror(errno));
                CHECK(access(P("ro/a"), R_OK) == 0, "access with a full fd table: %s",
                      strerror(errno));
                CHECK(readlink(P("dirlink"), buf, sizeof(buf)) == 2,
                      "readlink with a full fd table: %s", strerror(errno));
                for (int fd = 3; fd <= last; fd++) {
                        if (fd < 1024 && inherited[fd]) {
                                continue;
                        }
                        close(fd);
                }
        } else {
                fprintf(stderr, "fdclose: unknown mode %s\n", mode);
                return 2;
        }
        for (int round = 1; round <= 3; round++) {
                battery(mode, round);
        }
        printf("fdclose %s (fds 3..%d): %d failures\n", mode, hi, stress_nfail);
        return stress_nfail ? 1 : 0;
}
