/* errnock MERGED: every successful call on a merged path leaves errno as it found it
 * (DESIGN.md principle 8; INTERPOSITION.md 0.5: readdir's end with a changed errno breaks
 * ls, find and python). errno is set to 12345 before each call and checked after it.
 * Lookups are chosen to make the shim probe several layers first (names only in the
 * bottom lower, whiteouts above, symlinks, relative paths against a merged cwd), and the
 * write calls include first copy-ups. Prints one line per failed call; exit 0 if none. */
#include "stress.h"

#include <ftw.h>
#include <glob.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/xattr.h>

#define MAGIC 12345

static const char *M;
static int ncalls;

static char *P(const char *rel)
{
        static char bufs[8][PATH_MAX];
        static int n;
        char *b = bufs[n++ % 8];
        snprintf(b, PATH_MAX, "%s/%s", M, rel);
        return b;
}

/* Run EXPR (which must succeed, i.e. COND holds) with errno = MAGIC first. */
#define OK(what, expr, cond)                                                                       \
        do {                                                                                       \
                ncalls++;                                                                          \
                errno = MAGIC;                                                                     \
                __typeof__(expr) r_ = (expr);                                                      \
                int e_ = errno;                                                                    \
                if (!(cond)) {                                                                     \
                        failf("%s: call failed (errno %d), cannot check errno", what, e_);         \
                } else if (e_ != MAGIC) {                                                          \
                        failf("%s: succeeded but errno changed from %d to %d (%s)", what, MAGIC,   \
                              e_, strerror(e_));                                                   \
                }                                                                                  \
                (void)r_;                                                                          \
        } while (0)

static int ftw_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)p, (void)st, (void)flag, (void)f;
        return 0;
}

static void reads(const char *tag)
{
        struct stat st;
        struct stat64 st64;
        char buf[PATH_MAX], what[128];
#define W(s) (snprintf(what, sizeof(what), "%s %s", tag, s), what)
        OK(W("stat bottom-lower file"), stat(P("data/f1"), &st), r_ == 0);
        OK(W("stat upper file"), stat(P("data/f2"), &st), r_ == 0);
        OK(W("stat l1 file"), stat(P("data/f0"), &st), r_ == 0);
        OK(W("lstat"), lstat(P("data/f5"), &st), r_ == 0);
        OK(W("stat64"), stat64(P("data/f9"), &st64), r_ == 0);
        OK(W("lstat symlink"), lstat(P("dirlink"), &st), r_ == 0);
        OK(W("stat through symlink"), stat(P("dirlink/a"), &st), r_ == 0);
        OK(W("stat deep"), stat(P("deep/a/b/c/file"), &st), r_ == 0);
        OK(W("stat MERGED"), stat(M, &st), r_ == 0);
        OK(W("stat relative"), stat("a", &st), r_ == 0);
        OK(W("stat relative ../data/f1"), stat("../data/f1", &st), r_ == 0);
        OK(W("fstatat AT_FDCWD"), fstatat(AT_FDCWD, "c", &st, 0), r_ == 0);
        OK(W("fstatat NOFOLLOW"), fstatat(AT_FDCWD, P("dirlink"), &st, AT_SYMLINK_NOFOLLOW),
           r_ == 0);
        struct statx stx;
        OK(W("statx"), statx(AT_FDCWD, P("data/f1"), 0, STATX_BASIC_STATS, &stx), r_ == 0);
        OK(W("access F_OK"), access(P("data/f1"), F_OK), r_ == 0);
        OK(W("access R_OK"), access(P("ro/a"), R_OK), r_ == 0);
        OK(W("access W_OK lower file"), access(P("data/f5"), W_OK), r_ == 0);
        OK(W("faccessat"), faccessat(AT_FDCWD, "d", R_OK, 0), r_ == 0);
        OK(W("faccessat AT_EACCESS"), faccessat(AT_FDCWD, P("ro/c"), R_OK, AT_EACCESS), r_ == 0);
        OK(W("euidaccess"), euidaccess(P("data/f1"), R_OK), r_ == 0);

        int fd;
        OK(W("open"), fd = open(P("data/f1"), O_RDONLY), r_ >= 0);
        if (fd >= 0) {
                OK(W("fstat on merged fd"), fstat(fd, &st), r_ == 0);
                OK(W("read"), read(fd, buf, sizeof(buf)), r_ > 0);
                OK(W("close"), close(fd), r_ == 0);
        }
        OK(W("open relative"), fd = open("e", O_RDONLY), r_ >= 0);
        if (fd >= 0) {
                close(fd);
        }
        OK(W("open O_DIRECTORY"), fd = open(P("ro"), O_RDONLY | O_DIRECTORY), r_ >= 0);
        if (fd >= 0) {
                OK(W("openat dirfd"), openat(fd, "sub/x", O_RDONLY), r_ >= 0);
                OK(W("fstatat dirfd"), fstatat(fd, "a", &st, 0), r_ == 0);
                OK(W("fdopendir"), fdopendir(fd), r_ != NULL);
                /* fdopendir's DIR is leaked on purpose: closedir would close fd mid-test */
        }
        OK(W("openat64"), fd = openat64(AT_FDCWD, P("data/f4"), O_RDONLY), r_ >= 0);
        if (fd >= 0) {
                close(fd);
        }
        FILE *f;
        OK(W("fopen"), f = fopen(P("data/f1"), "r"), r_ != NULL);
        if (f) {
                OK(W("fclose"), fclose(f), r_ == 0);
        }

        DIR *d;
        OK(W("opendir"), d = opendir(P("ro")), r_ != NULL);
        if (d) {
                int n = 0;
                struct dirent *e;
                errno = MAGIC;
                while ((e = readdir(d)) != NULL) {
                        n++;
                        CHECK(errno == MAGIC, "%s readdir entry %d: errno changed to %d", what, n,
                              errno);
                        errno = MAGIC;
                }
                CHECK(errno == MAGIC, "%s readdir to the end (%d entries): errno %d, not %d", tag,
                      n, errno, MAGIC);
                CHECK(n == 7, "%s readdir: %d entries, want 7", tag, n);
                ncalls++;
                OK(W("rewinddir"), (rewinddir(d), 0), 1);
                OK(W("telldir"), telldir(d), r_ >= 0);
                OK(W("closedir"), closedir(d), r_ == 0);
        }
        OK(W("opendir relative"), d = opendir("."), r_ != NULL);
        if (d) {
                struct dirent64 *e;
                errno = MAGIC;
                while ((e = readdir64(d)) != NULL) {
                }
                CHECK(errno == MAGIC, "%s readdir64 to the end: errno %d", tag, errno);
                closedir(d);
        }
        struct dirent **nl;
        OK(W("scandir"), scandir(P("data"), &nl, NULL, alphasort), r_ > 0);
        glob_t g;
        OK(W("glob"), glob(P("ro/*"), 0, NULL, &g), r_ == 0);
        if (g.gl_pathc) {
                globfree(&g);
        }

        OK(W("getcwd"), getcwd(buf, sizeof(buf)), r_ != NULL);
        char *cw;
        OK(W("getcwd(NULL,0)"), cw = getcwd(NULL, 0), r_ != NULL);
        free(cw);
        OK(W("get_current_dir_name"), cw = get_current_dir_name(), r_ != NULL);
        free(cw);
        OK(W("realpath through symlink"), realpath(P("dirlink/a"), buf), r_ != NULL);
        OK(W("realpath relative"), realpath("sub/../d", buf), r_ != NULL);
        OK(W("realpath bottom-lower"), realpath(P("deep/a/b/c/file"), buf), r_ != NULL);
        OK(W("realpath(NULL)"), cw = realpath(P("data/f1"), NULL), r_ != NULL);
        free(cw);
        OK(W("canonicalize_file_name"), cw = canonicalize_file_name(P("dirlink")), r_ != NULL);
        free(cw);
        OK(W("readlink"), readlink(P("dirlink"), buf, sizeof(buf)), r_ == 2);
        OK(W("readlink /proc/self/cwd"), readlink("/proc/self/cwd", buf, sizeof(buf)), r_ > 0);
        char xl[4096];
        OK(W("listxattr"), listxattr(P("data/f1"), xl, sizeof(xl)), r_ >= 0);
        OK(W("llistxattr"), llistxattr(P("dirlink"), xl, sizeof(xl)), r_ >= 0);
        struct statvfs sv;
        OK(W("statvfs"), statvfs(P("data"), &sv), r_ == 0);
        OK(W("nftw"), nftw(P("deep"), ftw_cb, 8, FTW_PHYS), r_ == 0);
#undef W
}

static void writes(void)
{
        struct stat st;
        int fd;
        OK("open O_CREAT new", fd = open(P("tw/t0/new"), O_WRONLY | O_CREAT | O_EXCL, 0644),
           r_ >= 0);
        if (fd >= 0) {
                OK("write", write(fd, "x\n", 2), r_ == 2);
                close(fd);
        }
        OK("open O_WRONLY|O_APPEND lower (copy-up)", fd = open(P("data/f5"), O_WRONLY | O_APPEND),
           r_ >= 0);
        if (fd >= 0) {
                close(fd);
        }
        OK("open O_RDWR lower (copy-up)", fd = open(P("data/f9"), O_RDWR), r_ >= 0);
        if (fd >= 0) {
                close(fd);
        }
        OK("fopen a (copy-up)", fopen(P("data/f13"), "a"), r_ != NULL);
        OK("creat", fd = creat(P("tw/t0/creat"), 0644), r_ >= 0);
        if (fd >= 0) {
                close(fd);
        }
        OK("mkdir in lower dir", mkdir(P("tw/t1/dir"), 0755), r_ == 0);
        OK("mkdir in copied-up dir", mkdir(P("tw/t1/dir/sub"), 0755), r_ == 0);
        OK("rmdir", rmdir(P("tw/t1/dir/sub")), r_ == 0);
        OK("rename new", rename(P("tw/t0/new"), P("tw/t0/renamed")), r_ == 0);
        OK("rename lower file", rename(P("tw/t2/seed"), P("tw/t2/moved")), r_ == 0);
        OK("unlink upper-only", unlink(P("tw/t0/renamed")), r_ == 0);
        OK("unlink lower (whiteout)", unlink(P("data/f17")), r_ == 0);
        OK("unlink upper over lower", unlink(P("data/f6")), r_ == 0);
        OK("unlinkat", unlinkat(AT_FDCWD, P("tw/t0/creat"), 0), r_ == 0);
        OK("remove", remove(P("data/f21")), r_ == 0);
        OK("symlink", symlink("target", P("tw/t3/link")), r_ == 0);
        OK("link lower file", link(P("tw/t3/seed"), P("tw/t3/hard")), r_ == 0);
        OK("chmod lower (copy-up)", chmod(P("data/f25"), 0600), r_ == 0);
        OK("chown lower (copy-up) to self", chown(P("data/f29"), getuid(), getgid()), r_ == 0);
        OK("truncate lower (copy-up)", truncate(P("data/f33"), 3), r_ == 0);
        OK("utimensat lower (copy-up)", utimensat(AT_FDCWD, P("data/f37"), NULL, 0), r_ == 0);
        OK("utimes", utimes(P("data/f41"), NULL), r_ == 0);
        OK("setxattr lower (copy-up)", setxattr(P("data/f45"), "user.t", "v", 1, 0), r_ == 0);
        OK("getxattr", getxattr(P("data/f45"), "user.t", (char[8]){0}, 8), r_ == 1);
        OK("removexattr", removexattr(P("data/f45"), "user.t"), r_ == 0);
        OK("mkfifo", mkfifo(P("tw/t4/fifo"), 0644), r_ == 0);
        char tmpl[PATH_MAX];
        snprintf(tmpl, sizeof(tmpl), "%s/tw/t4/tmpXXXXXX", M);
        OK("mkstemp", fd = mkstemp(tmpl), r_ >= 0);
        if (fd >= 0) {
                close(fd);
                OK("unlink mkstemp file", unlink(tmpl), r_ == 0);
        }
        snprintf(tmpl, sizeof(tmpl), "%s/tw/t4/dXXXXXX", M);
        OK("mkdtemp", mkdtemp(tmpl), r_ != NULL);
        OK("chdir merged lower-only dir", chdir(P("deep/a/b")), r_ == 0);
        OK("chdir merged ro", chdir(P("ro")), r_ == 0);
        OK("stat after writes", stat(P("data/f5"), &st), r_ == 0);
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: errnock MERGED\n");
                return 2;
        }
        M = argv[1];
        stress_verbose_limit = 1000;
        OK("chdir MERGED/ro", chdir(P("ro")), r_ == 0);
        reads("cold:"); /* first lookups: the lower cache is filled on the way */
        reads("warm:");
        writes();
        reads("after writes:");
        printf("errnock: %d calls checked, %d failures\n", ncalls, stress_nfail);
        return stress_nfail ? 1 : 0;
}
