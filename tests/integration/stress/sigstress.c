/* sigstress MERGED SECONDS [NTHREADS [stat|unlink]]: a SIGALRM handler (setitimer, every 700 us)
 * calls unlink and stat on merged paths while the main thread (and NTHREADS-1 more) is busy in
 * overlay calls of every kind: reads, listings, creates, renames, unlinks, copy-ups,
 * realpath. DESIGN.md principle 10: a wrapper may run inside a signal handler; no lock or
 * allocation that such a re-entry could deadlock on. A deadlock shows as a hang (the test
 * script's watchdog), anything else as a failed check. Each handler run unlinks the next
 * pool/p<j> (a lower file: the unlink writes a whiteout) and checks that it is gone, and
 * stats data/f1; in "stat" mode the handler only stats (lookups, no write path). */
#include "stress.h"

#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

static const char *M;
static char pool_paths[NPOOL][PATH_MAX / 16];
static char f1_path[PATH_MAX];
static volatile sig_atomic_t in_handler;
static int h_runs, h_unlinked, h_fail_unlink, h_fail_gone, h_fail_stat, h_last_errno;
static int stop;
static int handler_unlinks = 1;

static void on_alarm(int sig)
{
        (void)sig;
        int saved = errno;
        in_handler = 1;
        struct stat st;
        int n = __atomic_fetch_add(&h_runs, 1, __ATOMIC_RELAXED);
        if (stat(f1_path, &st) != 0 || st.st_size != (off_t)strlen("data 1 from l2\n")) {
                __atomic_fetch_add(&h_fail_stat, 1, __ATOMIC_RELAXED);
                h_last_errno = errno;
        }
        if (!handler_unlinks && n < NPOOL && stat(pool_paths[n], &st) != 0) {
                __atomic_fetch_add(&h_fail_stat, 1, __ATOMIC_RELAXED);
                h_last_errno = errno;
        }
        if (handler_unlinks && n < NPOOL) {
                if (unlink(pool_paths[n]) != 0) {
                        __atomic_fetch_add(&h_fail_unlink, 1, __ATOMIC_RELAXED);
                        h_last_errno = errno;
                } else {
                        __atomic_fetch_add(&h_unlinked, 1, __ATOMIC_RELAXED);
                        if (stat(pool_paths[n], &st) == 0 || errno != ENOENT) {
                                __atomic_fetch_add(&h_fail_gone, 1, __ATOMIC_RELAXED);
                        }
                }
        }
        in_handler = 0;
        errno = saved;
}

static void busy(int id, long i)
{
        char path[PATH_MAX], path2[PATH_MAX], got[256], want[128], list[512];
        struct stat st;
        int k = (int)(i % NDATA);
        snprintf(path, sizeof(path), "%s/data/f%d", M, k);
        if (data_expect(k, want, sizeof(want)) == 0) {
                ssize_t n = slurp(path, got, sizeof(got));
                CHECK(n >= 0 && !strcmp(got, want), "T%d read %s: %zd errno=%d", id, path, n,
                      errno);
        } else {
                CHECK(stat(path, &st) < 0 && errno == ENOENT, "T%d stat %s", id, path);
        }
        snprintf(path, sizeof(path), "%s/ro", M);
        int r = list_dir(path, list, sizeof(list));
        CHECK(r == 7 && !strcmp(list, ". .. a c d e sub"), "T%d readdir ro: r=%d '%s'", id, r,
              list);
        snprintf(path, sizeof(path), "%s/tw/t%d/f%ld", M, id, i % 3);
        snprintf(path2, sizeof(path2), "%s/tw/t%d/g%ld", M, id, i % 3);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        CHECK(fd >= 0, "T%d create %s: errno=%d", id, path, errno);
        if (fd >= 0) {
                CHECK(write_all(fd, "abc\n", 4) == 0, "T%d write", id);
                close(fd);
                CHECK(rename(path, path2) == 0, "T%d rename: errno=%d", id, errno);
                CHECK(unlink(path2) == 0, "T%d unlink %s: errno=%d", id, path2, errno);
        }
        if (i < NCU / 4) { /* copy-ups, split between the threads */
                int j = (int)i * 4 + id % 4;
                snprintf(path, sizeof(path), "%s/cu/c%d", M, j);
                fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
                CHECK(fd >= 0 && write_all(fd, "+\n", 2) == 0, "T%d append %s: errno=%d", id, path,
                      errno);
                if (fd >= 0) {
                        close(fd);
                }
        }
        snprintf(path, sizeof(path), "%s/dirlink/a", M);
        snprintf(path2, sizeof(path2), "%s/ro/a", M);
        CHECK(realpath(path, got) && !strcmp(got, path2), "T%d realpath: errno=%d", id, errno);
        char *p = malloc(1000 + (size_t)(i % 5000)); /* keep malloc busy too */
        free(p);
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double seconds;
static long iters[NTW];

static void *loop(void *arg)
{
        int id = (int)(long)arg;
        double end = now() + seconds;
        long i = 0;
        while (now() < end && !__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
                busy(id, i++);
        }
        iters[id] = i;
        return NULL;
}

int main(int argc, char **argv)
{
        if (argc < 3) {
                fprintf(stderr, "usage: sigstress MERGED SECONDS [NTHREADS]\n");
                return 2;
        }
        M = argv[1];
        seconds = atof(argv[2]);
        int nt = argc > 3 ? atoi(argv[3]) : 1;
        if (nt < 1 || nt > 4) {
                nt = 1;
        }
        handler_unlinks = !(argc > 4 && !strcmp(argv[4], "stat"));
        for (int j = 0; j < NPOOL; j++) {
                snprintf(pool_paths[j], sizeof(pool_paths[j]), "%s/pool/p%d", M, j);
        }
        snprintf(f1_path, sizeof(f1_path), "%s/data/f1", M);
        struct sigaction sa = {0};
        sa.sa_handler = on_alarm;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        pthread_t th[4];
        for (int t = 1; t < nt; t++) {
                pthread_create(&th[t], NULL, loop, (void *)(long)t);
        }
        struct itimerval it = {{0, 700}, {0, 700}};
        setitimer(ITIMER_REAL, &it, NULL);
        loop((void *)0L);
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
        for (int t = 1; t < nt; t++) {
                pthread_join(th[t], NULL);
        }
        CHECK(h_fail_stat == 0, "handler: stat %s failed %d times (last errno %d)", f1_path,
              h_fail_stat, h_last_errno);
        CHECK(h_fail_unlink == 0, "handler: unlink failed %d times (last errno %d)", h_fail_unlink,
              h_last_errno);
        CHECK(h_fail_gone == 0, "handler: %d unlinked names still there", h_fail_gone);
        CHECK(h_runs > 100, "handler ran only %d times", h_runs);
        /* every name the handler unlinked is gone; the others are still there */
        int gone = 0;
        for (int j = 0; j < NPOOL; j++) {
                struct stat st;
                if (stat(pool_paths[j], &st) != 0) {
                        gone++;
                }
        }
        CHECK(gone == h_unlinked, "pool: %d names gone, the handler unlinked %d", gone, h_unlinked);
        long total = 0;
        for (int t = 0; t < nt; t++) {
                total += iters[t];
        }
        printf("sigstress: %d thread(s), %ld busy iterations, %d signals handled, %d unlinks in "
               "the handler, %d failures\n",
               nt, total, h_runs, h_unlinked, stress_nfail);
        return stress_nfail ? 1 : 0;
}
