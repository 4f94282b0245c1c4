/* forkload MERGED [NFORK [NVFORK]]: fork and vfork while other threads keep the shim busy.
 *
 * Worker threads run overlay calls without pause: lookups of names never looked up before
 * (many/m<j>: each one fills the per-process lower cache, under its writer lock), reads,
 * listings, creates and unlinks in their own lower directory, and one thread that keeps
 * changing its cwd between two merged directories (the virtual cwd's writer side). Meanwhile
 * the main thread
 *   - forks NFORK children that at once do overlay calls (stat, read, readdir, create +
 *     unlink, a fresh lower lookup, getcwd, realpath) and exit 0 only if all gave the
 *     expected result;
 *   - vforks NVFORK children whose only action is execve of a program on a merged path
 *     (bin/true, from a lower layer, or the #! script bin/child.sh, which checks its $0);
 *   - posix_spawns a few of the same (glibc's CLONE_VFORK child).
 * First of all, a vfork child takes the process's first look at the overlay (300 stats): it
 * must keep its own fds for its calls, few of them, and the parent must work after it.
 * Before the workers start, 20 vfork children chdir into another merged directory and then
 * exec: the parent's cwd (getcwd, relative lookups, listing ".") must not move, since a vfork
 * child shares the parent's memory.
 * A child that does not finish within $STRESS_HANG_SECS (default 10) counts as a deadlock:
 * $STRESS_ON_HANG (with %d replaced by its pid) is run through system() for a backtrace,
 * then it is killed; after 3 hung children the loop gives up. */
#include "stress.h"

#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static const char *M;
static int stop;
static int many_next; /* next never-looked-up many/m<j> */

static void pth(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void pth(char *out, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(out, PATH_MAX, fmt, ap);
        va_end(ap);
}

static int fresh_many(void)
{
        int j = __atomic_fetch_add(&many_next, 1, __ATOMIC_RELAXED);
        return j % NMANY;
}

static void *worker(void *arg)
{
        int id = (int)(long)arg;
        char path[PATH_MAX], got[256], want[128], list[512];
        struct stat st;
        for (long i = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++) {
                pth(path, "%s/many/m%d", M, fresh_many());
                CHECK(stat(path, &st) == 0 && st.st_size == 0, "W%d stat %s: errno=%d", id, path,
                      errno);
                int k = (int)(i % NDATA);
                pth(path, "%s/data/f%d", M, k);
                if (data_expect(k, want, sizeof(want)) == 0) {
                        ssize_t n = slurp(path, got, sizeof(got));
                        CHECK(n >= 0 && !strcmp(got, want), "W%d read %s: %zd", id, path, n);
                } else {
                        CHECK(stat(path, &st) < 0 && errno == ENOENT, "W%d stat %s", id, path);
                }
                if (i % 8 == 0) {
                        pth(path, "%s/ro", M);
                        int r = list_dir(path, list, sizeof(list));
                        CHECK(r == 7 && !strcmp(list, ". .. a c d e sub"), "W%d readdir: '%s'", id,
                              list);
                }
                pth(path, "%s/tw/t%d/w%ld", M, 16 + id, i % 4);
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                CHECK(fd >= 0, "W%d create %s: errno=%d", id, path, errno);
                if (fd >= 0) {
                        close(fd);
                        CHECK(unlink(path) == 0, "W%d unlink %s: errno=%d", id, path, errno);
                }
                if (id == 0) { /* the cwd changer */
                        pth(path, i % 2 ? "%s/ro" : "%s/deep/a", M);
                        CHECK(chdir(path) == 0, "W%d chdir %s: errno=%d", id, path, errno);
                }
        }
        return NULL;
}

/* The body of a fork child: returns 0 or the number of the first failed check. */
static int child_checks(int n)
{
        char path[PATH_MAX], got[256], want[128], list[512];
        struct stat st;
        pth(path, "%s/data/f1", M);
        data_expect(1, want, sizeof(want));
        if (stat(path, &st) != 0 || st.st_size != (off_t)strlen(want)) {
                return 10;
        }
        if (slurp(path, got, sizeof(got)) < 0 || strcmp(got, want)) {
                return 11;
        }
        pth(path, "%s/data/f3", M);
        if (stat(path, &st) == 0 || errno != ENOENT) {
                return 12;
        }
        pth(path, "%s/ro", M);
        if (list_dir(path, list, sizeof(list)) != 7 || strcmp(list, ". .. a c d e sub")) {
                return 13;
        }
        pth(path, "%s/tw/t31/child%d", M, (int)getpid());
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, "x\n", 2) < 0) {
                return 14;
        }
        close(fd);
        if (unlink(path) != 0 || stat(path, &st) == 0) {
                return 15;
        }
        pth(path, "%s/many/m%d", M, fresh_many());
        if (stat(path, &st) != 0) {
                return 16;
        }
        char cwd[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
        pth(a, "%s/ro", M);
        pth(b, "%s/deep/a", M);
        if (!getcwd(cwd, sizeof(cwd)) || (strcmp(cwd, a) && strcmp(cwd, b))) {
                return 17;
        }
        pth(path, "%s/dirlink/c", M);
        pth(b, "%s/ro/c", M);
        if (!realpath(path, a) || strcmp(a, b)) {
                return 18;
        }
        (void)n;
        return 0;
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* vfork, and in the child only (chdir and) execve: the child never returns from here */
static pid_t __attribute__((noinline)) vfork_exec(const char *prog, char **av, const char *dir)
{
        pid_t pid = vfork();
        if (pid == 0) {
                if (!dir || chdir(dir) == 0) {
                        execve(prog, av, environ);
                }
                _exit(127);
        }
        return pid;
}

static int hangs;
static double hang_secs = 10; /* $STRESS_HANG_SECS */

/* Wait up to hang_secs; returns the wait status, or -1 after a hang (reported, killed). */
static int wait_child(pid_t pid, const char *what)
{
        double t0 = now();
        int status;
        for (;;) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid) {
                        return status;
                }
                if (r < 0 && errno != EINTR) {
                        failf("waitpid %s %d: %s", what, (int)pid, strerror(errno));
                        return -1;
                }
                if (now() - t0 > hang_secs) {
                        break;
                }
                usleep(r == 0 && now() - t0 > 0.05 ? 2000 : 50);
        }
        failf("%s child %d still running after %g s: deadlock", what, (int)pid, hang_secs);
        const char *hook = getenv("STRESS_ON_HANG");
        if (hangs++ < 2 && hook) {
                char cmd[1024];
                snprintf(cmd, sizeof(cmd), hook, (int)pid);
                if (system(cmd) < 0) {
                        failf("system(%s) failed", cmd);
                }
        }
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
}

/* Open fds from 10 to 4095 (the shim's own sit high), without allocating: a vfork child. */
static int open_fds(void)
{
        int n = 0;
        for (int fd = 10; fd < 4096; fd++) {
                n += fcntl(fd, F_GETFD) >= 0;
        }
        return n;
}

/* The process's first look at the overlay in a vfork child: the fds it opens are its own (its
 * parent's table has none of them), kept for its later calls rather than opened anew by each,
 * and never taken for its parent's, whose own calls must then work. */
static void first_look_in_vfork(const char *f1)
{
        int before = open_fds();
        pid_t pid = vfork();
        if (pid == 0) {
                struct stat sb;
                int ok = 0;
                for (int i = 0; i < 300; i++) {
                        ok += stat(f1, &sb) == 0;
                }
                _exit(ok == 300 && open_fds() < before + 20 ? 0 : 1);
        }
        int st = pid < 0 ? -1 : wait_child(pid, "vfork first look");
        CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
              "a vfork child's first look at the overlay (300 stats, few new fds): status %d", st);
        struct stat sb;
        CHECK(stat(f1, &sb) == 0, "the parent after its vfork child's first look: stat %s: %s", f1,
              strerror(errno));
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: forkload MERGED [NFORK [NVFORK]]\n");
                return 2;
        }
        M = argv[1];
        int nfork = argc > 2 ? atoi(argv[2]) : 200;
        int nvfork = argc > 3 ? atoi(argv[3]) : 200;
        if (getenv("STRESS_HANG_SECS")) {
                hang_secs = atof(getenv("STRESS_HANG_SECS"));
        }
        char truep[PATH_MAX], script[PATH_MAX], f1[PATH_MAX];
        pth(truep, "%s/bin/true", M);
        pth(script, "%s/bin/child.sh", M);
        pth(f1, "%s/data/f1", M);
        first_look_in_vfork(f1);

        char cwd[PATH_MAX];
        pth(cwd, "%s/ro", M);
        if (chdir(cwd) < 0) {
                fprintf(stderr, "forkload: chdir %s: %s\n", cwd, strerror(errno));
                return 1;
        }
        /* vfork children that chdir before exec (what python's subprocess does for cwd=):
         * the child shares the parent's memory, so it must not move the parent's cwd */
        for (int n = 0; n < 20; n++) {
                char sub[PATH_MAX], got[PATH_MAX], list[512];
                pth(sub, "%s/deep/a", M);
                char *av[] = {script, f1, script, NULL};
                pid_t pid = vfork_exec(script, av, sub);
                int st = pid < 0 ? -1 : wait_child(pid, "vfork+chdir");
                if (st >= 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
                        failf("vfork+chdir+execve child: status %d", st);
                }
                struct stat sb;
                if (!getcwd(got, sizeof(got)) || strcmp(got, cwd) || stat("a", &sb) != 0 ||
                    list_dir(".", list, sizeof(list)) != 7) {
                        failf("after a vfork child's chdir(%s): the parent's getcwd is '%s' "
                              "(want '%s'), stat(\"a\") %s, readdir(\".\") '%s'",
                              sub, got, cwd, stat("a", &sb) ? strerror(errno) : "ok", list);
                        chdir(cwd); /* put it back for the rest of the test */
                        break;
                }
        }
        enum { NW = 4 };
        pthread_t th[NW];
        for (int t = 0; t < NW; t++) {
                pthread_create(&th[t], NULL, worker, (void *)(long)t);
        }
        int bad[4] = {0};
        for (int n = 0; n < nfork; n++) {
                pid_t pid = fork();
                if (pid == 0) {
                        int r = child_checks(n);
                        if (r) { /* which call failed, and how */
                                dprintf(2, "fork child %d: check %d failed: %s\n", n, r,
                                        strerror(errno));
                        }
                        _exit(r);
                }
                if (pid < 0) {
                        failf("fork: %s", strerror(errno));
                        continue;
                }
                int st = wait_child(pid, "fork");
                if (hangs >= 3) {
                        failf("giving up on fork after %d hung children", hangs);
                        break;
                }
                if (st >= 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
                        if (bad[0]++ < 5) {
                                failf("fork child %d: %s %d", n, WIFEXITED(st) ? "exit" : "signal",
                                      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
                        }
                }
        }
        for (int n = 0; n < nvfork; n++) {
                bool sh = n % 2;
                char *av_true[] = {truep, NULL};
                char *av_sh[] = {script, f1, script, NULL};
                char **av = sh ? av_sh : av_true;
                const char *prog = sh ? script : truep;
                pid_t pid = vfork_exec(prog, av, NULL);
                if (pid < 0) {
                        failf("vfork: %s", strerror(errno));
                        continue;
                }
                int st = wait_child(pid, "vfork");
                if (hangs >= 3) {
                        failf("giving up on vfork after %d hung children", hangs);
                        break;
                }
                if (st >= 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
                        if (bad[1]++ < 5) {
                                failf("vfork+execve %s (%d): %s %d", prog, n,
                                      WIFEXITED(st) ? "exit" : "signal",
                                      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
                        }
                }
                if (n % 10 == 0) { /* posix_spawn: glibc's own CLONE_VFORK child */
                        pid_t sp;
                        int r = posix_spawn(&sp, prog, NULL, NULL, av, environ);
                        if (r) {
                                failf("posix_spawn %s: %s", prog, strerror(r));
                                continue;
                        }
                        st = wait_child(sp, "posix_spawn");
                        if (st >= 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0) && bad[2]++ < 5) {
                                failf("posix_spawn %s: %s %d", prog,
                                      WIFEXITED(st) ? "exit" : "signal",
                                      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
                        }
                }
        }
        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
        for (int t = 0; t < NW; t++) {
                pthread_join(th[t], NULL);
        }
        printf("forkload: %d forks (%d failed), %d vforks (%d failed), %d hung, %d failures\n",
               nfork, bad[0], nvfork, bad[1], hangs, stress_nfail);
        return stress_nfail ? 1 : 0;
}
