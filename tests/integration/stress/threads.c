/* threads MERGED [NTHREADS [ITERS]]: many threads hammer the merged tree at once.
 *
 * Every thread, every iteration: stat/lstat/open+read/access of data files (content, and
 * ENOENT of whiteouts, checked); every other iteration relative lookups against the cwd
 * (MERGED/ro), getcwd, full listings of ro/ and ".", realpath through a symlink and "..";
 * every iteration writes in its own lower directory tw/t<id> (create, append, rename, read
 * back, unlink, ENOENT after; the first write copies tw/ up, from 16 threads at once),
 * appends to the shared lower files shared/s<k> (copied up by whichever thread comes first,
 * several at once) or reads them, and the copy-up race of cu/c<j>: writers copy cu files up
 * one after another while readers keep opening, closing and reopening fds on exactly those
 * files (a copy-up re-points this process's fds on the lower file; a reused fd number must
 * never be taken over).
 *
 * At the end the main thread checks that nothing was lost: every line appended to a shared
 * file is there exactly once, each seed and cu file holds exactly what was appended, and
 * every per-thread directory holds only its seed. Exit 0 when every check passed. */
#include "stress.h"

#include <pthread.h>

#define LINE_LEN 14 /* "T%02d I%09d\n" below is 14 bytes */

static const char *M;
static int NT = 16, ITERS = 2000;
static int cu_next;             /* next cu file to copy up */
static unsigned char *appended; /* [thread][iter]: appended to a shared file */
static int *seed_appends;       /* per thread */
static int cu_owner[NCU];       /* thread that appended to cu/c<j>, or -1 */
static pthread_barrier_t start;

static void p(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void p(char *out, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out, PATH_MAX, fmt, ap);
        va_end(ap);
}

static void check_data(int id, int k)
{
        char path[PATH_MAX], want[128], got[256];
        struct stat st;
        p(path, "%s/data/f%d", M, k);
        int exp = data_expect(k, want, sizeof(want));
        int r = stat(path, &st);
        if (exp == 0) {
                CHECK(r == 0 && S_ISREG(st.st_mode) && st.st_size == (off_t)strlen(want),
                      "T%d stat %s: r=%d errno=%d size=%ld", id, path, r, r ? errno : 0,
                      r ? -1L : (long)st.st_size);
                r = lstat(path, &st);
                CHECK(r == 0 && S_ISREG(st.st_mode), "T%d lstat %s: r=%d errno=%d", id, path, r,
                      errno);
                ssize_t n = slurp(path, got, sizeof(got));
                CHECK(n >= 0 && strcmp(got, want) == 0, "T%d read %s: n=%zd got '%s' want '%s'", id,
                      path, n, n >= 0 ? got : "", want);
                CHECK(access(path, R_OK) == 0, "T%d access %s: errno=%d", id, path, errno);
        } else {
                CHECK(r < 0 && errno == ENOENT, "T%d stat whiteout %s: r=%d errno=%d", id, path, r,
                      errno);
                r = open(path, O_RDONLY);
                CHECK(r < 0 && errno == ENOENT, "T%d open whiteout %s: r=%d errno=%d", id, path, r,
                      errno);
                if (r >= 0) {
                        close(r);
                }
        }
}

static void check_ro(int id)
{
        char cwd[PATH_MAX], want[PATH_MAX], got[PATH_MAX], list[1024];
        struct stat st;
        p(want, "%s/ro", M);
        CHECK(getcwd(cwd, sizeof(cwd)) && strcmp(cwd, want) == 0, "T%d getcwd: '%s' want '%s'", id,
              cwd, want);
        CHECK(stat("a", &st) == 0 && st.st_size == 2, "T%d stat relative a: errno=%d", id, errno);
        int r = stat("b", &st);
        CHECK(r < 0 && errno == ENOENT, "T%d stat relative b (whiteout): r=%d errno=%d", id, r,
              errno);
        r = list_dir(want, list, sizeof(list));
        CHECK(r == 7 && strcmp(list, ". .. a c d e sub") == 0, "T%d readdir %s: r=%d '%s'", id,
              want, r, list);
        r = list_dir(".", list, sizeof(list));
        CHECK(r == 7 && strcmp(list, ". .. a c d e sub") == 0, "T%d readdir .: r=%d '%s'", id, r,
              list);
        p(cwd, "%s/dirlink/a", M);
        p(want, "%s/ro/a", M);
        CHECK(realpath(cwd, got) && strcmp(got, want) == 0, "T%d realpath %s: '%s' errno=%d", id,
              cwd, got, errno);
        p(want, "%s/ro/d", M);
        CHECK(realpath("sub/../d", got) && strcmp(got, want) == 0,
              "T%d realpath sub/../d: '%s' errno=%d", id, got, errno);
        p(cwd, "%s/dirlink", M);
        CHECK(lstat(cwd, &st) == 0 && S_ISLNK(st.st_mode), "T%d lstat dirlink errno=%d", id, errno);
        CHECK(stat(cwd, &st) == 0 && S_ISDIR(st.st_mode), "T%d stat dirlink errno=%d", id, errno);
        p(cwd, "%s/deep/a/../a/b/c/file", M);
        p(want, "%s/deep/a/b/c/file", M);
        CHECK(realpath(cwd, got) && strcmp(got, want) == 0, "T%d realpath %s: '%s' errno=%d", id,
              cwd, got, errno);
}

static void own_files(int id, int i)
{
        char f[PATH_MAX], g[PATH_MAX], want[128], got[256];
        struct stat st;
        p(f, "%s/tw/t%d/f%d", M, id, i % 4);
        p(g, "%s/tw/t%d/g%d", M, id, i % 4);
        int fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        CHECK(fd >= 0, "T%d create %s: errno=%d", id, f, errno);
        if (fd < 0) {
                return;
        }
        snprintf(want, sizeof(want), "T%d I%d\n", id, i);
        CHECK(write_all(fd, want, strlen(want)) == 0, "T%d write %s", id, f);
        close(fd);
        fd = open(f, O_WRONLY | O_APPEND | O_CLOEXEC);
        CHECK(fd >= 0 && write_all(fd, "more\n", 5) == 0, "T%d append %s: errno=%d", id, f, errno);
        if (fd >= 0) {
                close(fd);
        }
        strcat(want, "more\n");
        CHECK(rename(f, g) == 0, "T%d rename %s: errno=%d", id, f, errno);
        ssize_t n = slurp(g, got, sizeof(got));
        CHECK(n >= 0 && strcmp(got, want) == 0, "T%d read %s: n=%zd '%s'", id, g, n,
              n >= 0 ? got : "");
        CHECK(stat(f, &st) < 0 && errno == ENOENT, "T%d stat %s after rename: errno=%d", id, f,
              errno);
        CHECK(unlink(g) == 0, "T%d unlink %s: errno=%d", id, g, errno);
        int r = stat(g, &st);
        CHECK(r < 0 && errno == ENOENT, "T%d stat %s after unlink: r=%d errno=%d", id, g, r, errno);
        if (i % 16 == 0) {
                char dir[PATH_MAX], list[256];
                p(dir, "%s/tw/t%d", M, id);
                r = list_dir(dir, list, sizeof(list));
                CHECK(r == 3 && strcmp(list, ". .. seed") == 0, "T%d readdir %s: r=%d '%s'", id,
                      dir, r, list);
                p(f, "%s/tw/t%d/seed", M, id);
                fd = open(f, O_WRONLY | O_APPEND | O_CLOEXEC);
                snprintf(want, sizeof(want), "I%d\n", i);
                CHECK(fd >= 0 && write_all(fd, want, strlen(want)) == 0, "T%d append %s: errno=%d",
                      id, f, errno);
                if (fd >= 0) {
                        close(fd);
                        seed_appends[id]++;
                }
        }
}

static void shared(int id, int i)
{
        int k = (id + i) % NSHARED;
        char path[PATH_MAX];
        p(path, "%s/shared/s%d", M, k);
        if (i % 2 == 0) {
                int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                char line[32];
                snprintf(line, sizeof(line), "T%02d I%09d\n", id, i);
                int r = fd < 0 ? -errno : write_all(fd, line, LINE_LEN);
                CHECK(r == 0, "T%d append %s: %d", id, path, r);
                if (fd >= 0) {
                        close(fd);
                }
                if (r == 0) {
                        appended[(size_t)id * (size_t)ITERS + (size_t)i] = 1;
                }
                return;
        }
        char buf[4096];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -errno : read(fd, buf, sizeof(buf));
        CHECK(n == (ssize_t)sizeof(buf), "T%d read %s: %zd", id, path, n);
        for (ssize_t o = 0; o < n; o++) {
                if (buf[o] != shared_byte(k, (size_t)o)) {
                        failf("T%d read %s: wrong byte at %zd", id, path, o);
                        break;
                }
        }
        if (fd >= 0) {
                close(fd);
        }
}

static void copy_up_race(int id, int i)
{
        char path[PATH_MAX], want[128], got[256];
        if (id % 2 == 0 && i % 2 == 0) { /* writer: copy the next cu file up */
                int j = __atomic_fetch_add(&cu_next, 1, __ATOMIC_RELAXED);
                if (j >= NCU) {
                        return;
                }
                p(path, "%s/cu/c%d", M, j);
                int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                snprintf(want, sizeof(want), "appended by T%d\n", id);
                int r = fd < 0 ? -errno : write_all(fd, want, strlen(want));
                CHECK(r == 0, "T%d append %s: %d", id, path, r);
                if (fd >= 0) {
                        close(fd);
                }
                if (r == 0) {
                        cu_owner[j] = id;
                }
                return;
        }
        /* reader: fds on the very file being copied up, closed and the number reused */
        int j = __atomic_load_n(&cu_next, __ATOMIC_RELAXED);
        if (j >= NCU) {
                return;
        }
        cu_expect(j, want, sizeof(want));
        p(path, "%s/cu/c%d", M, j);
        for (int rep = 0; rep < 2; rep++) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                ssize_t n = fd < 0 ? -errno : read(fd, got, sizeof(got) - 1);
                CHECK(n >= (ssize_t)strlen(want) && !memcmp(got, want, strlen(want)),
                      "T%d read %s: n=%zd", id, path, n);
                if (fd >= 0) {
                        close(fd);
                }
                /* the same fd number, now on another file: must read that file */
                char d[PATH_MAX], dwant[128];
                p(d, "%s/data/f1", M);
                data_expect(1, dwant, sizeof(dwant));
                fd = open(d, O_RDONLY | O_CLOEXEC);
                n = fd < 0 ? -errno : read(fd, got, sizeof(got) - 1);
                if (n >= 0) {
                        got[n] = '\0';
                }
                CHECK(n == (ssize_t)strlen(dwant) && !memcmp(got, dwant, (size_t)n),
                      "T%d fd %d reopened on %s read '%.40s' (n=%zd), want '%s'", id, fd, d,
                      n >= 0 ? got : "", n, dwant);
                if (fd >= 0) {
                        close(fd);
                }
        }
}

static void *worker(void *arg)
{
        int id = (int)(long)arg;
        pthread_barrier_wait(&start);
        for (int i = 0; i < ITERS; i++) {
                check_data(id, (id * 7 + i) % NDATA);
                check_data(id, (id * 7 + i) % NDATA | 3);
                if (i % 2 == id % 2) {
                        check_ro(id);
                }
                own_files(id, i);
                shared(id, i);
                copy_up_race(id, i);
        }
        return NULL;
}

static void final_checks(void)
{
        char path[PATH_MAX], list[8192];
        static char buf[SHARED_SIZE + 16 * 5000 * LINE_LEN];
        unsigned char *seen = calloc((size_t)NT * (size_t)ITERS, 1);
        for (int k = 0; k < NSHARED; k++) {
                p(path, "%s/shared/s%d", M, k);
                ssize_t n = slurp(path, buf, sizeof(buf));
                if (n < SHARED_SIZE) {
                        failf("final: %s: %zd bytes", path, n);
                        continue;
                }
                for (size_t o = 0; o < SHARED_SIZE; o++) {
                        if (buf[o] != shared_byte(k, o)) {
                                failf("final: %s: original content damaged at %zu", path, o);
                                break;
                        }
                }
                if ((n - SHARED_SIZE) % LINE_LEN) {
                        failf("final: %s: appended part is %zd bytes, not whole lines", path,
                              n - SHARED_SIZE);
                }
                for (ssize_t o = SHARED_SIZE; o + LINE_LEN <= n; o += LINE_LEN) {
                        int t, it;
                        if (sscanf(buf + o, "T%02d I%09d\n", &t, &it) != 2 || t < 0 || t >= NT ||
                            it < 0 || it >= ITERS || (t + it) % NSHARED != k) {
                                failf("final: %s: bad line at %zd: '%.13s'", path, o, buf + o);
                                continue;
                        }
                        size_t ix = (size_t)t * (size_t)ITERS + (size_t)it;
                        if (seen[ix]++) {
                                failf("final: %s: line T%d I%d twice", path, t, it);
                        }
                }
        }
        long lost = 0;
        for (size_t ix = 0; ix < (size_t)NT * (size_t)ITERS; ix++) {
                if (appended[ix] && !seen[ix]) {
                        if (lost++ < 5) {
                                failf("final: the line T%zu I%zu was appended but is lost",
                                      ix / (size_t)ITERS, ix % (size_t)ITERS);
                        }
                }
        }
        CHECK(lost == 0, "final: %ld appended lines lost", lost);
        free(seen);
        for (int t = 0; t < NTW; t++) {
                char want[8192], got[8192];
                p(path, "%s/tw/t%d", M, t);
                int r = list_dir(path, list, sizeof(list));
                CHECK(r == 3 && strcmp(list, ". .. seed") == 0, "final: readdir %s: '%s'", path,
                      list);
                int o = snprintf(want, sizeof(want), "seed %d\n", t);
                for (int i = 0; t < NT && i < ITERS; i += 16) {
                        o += snprintf(want + o, sizeof(want) - (size_t)o, "I%d\n", i);
                }
                p(path, "%s/tw/t%d/seed", M, t);
                ssize_t n = slurp(path, got, sizeof(got));
                CHECK(n >= 0 && strcmp(got, want) == 0, "final: %s: %zd bytes, want %zu", path, n,
                      strlen(want));
        }
        for (int j = 0; j < NCU; j++) {
                char want[256], got[256];
                cu_expect(j, want, sizeof(want));
                if (j < cu_next && cu_owner[j] >= 0) {
                        snprintf(want + strlen(want), sizeof(want) - strlen(want),
                                 "appended by T%d\n", cu_owner[j]);
                }
                p(path, "%s/cu/c%d", M, j);
                ssize_t n = slurp(path, got, sizeof(got));
                CHECK(n >= 0 && strcmp(got, want) == 0, "final: %s: '%s' want '%s'", path,
                      n >= 0 ? got : "", want);
        }
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: threads MERGED [NTHREADS [ITERS]]\n");
                return 2;
        }
        M = argv[1];
        if (argc > 2) {
                NT = atoi(argv[2]);
        }
        if (argc > 3) {
                ITERS = atoi(argv[3]);
        }
        if (NT < 1 || NT > NTW || ITERS < 1 || ITERS > 5000) {
                fprintf(stderr, "threads: 1..%d threads, 1..5000 iterations\n", NTW);
                return 2;
        }
        for (int j = 0; j < NCU; j++) {
                cu_owner[j] = -1;
        }
        appended = calloc((size_t)NT * (size_t)ITERS, 1);
        seed_appends = calloc((size_t)NT, sizeof(int));
        char cwd[PATH_MAX];
        p(cwd, "%s/ro", M);
        if (chdir(cwd) < 0) {
                fprintf(stderr, "threads: chdir %s: %s\n", cwd, strerror(errno));
                return 1;
        }
        pthread_barrier_init(&start, NULL, (unsigned)NT);
        pthread_t th[NTW];
        for (int t = 0; t < NT; t++) {
                if (pthread_create(&th[t], NULL, worker, (void *)(long)t)) {
                        fprintf(stderr, "threads: pthread_create failed\n");
                        return 1;
                }
        }
        for (int t = 0; t < NT; t++) {
                pthread_join(th[t], NULL);
        }
        final_checks();
        printf("threads: %d threads x %d iterations, %d copy-ups raced, %d failures\n", NT, ITERS,
               cu_next < NCU ? cu_next : NCU, stress_nfail);
        return stress_nfail ? 1 : 0;
}
