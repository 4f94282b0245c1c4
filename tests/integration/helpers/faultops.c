/* faultops: the operation sequence of t_faults.sh, run by one process on its own names.
 * Usage: faultops MERGED P N
 * For j = 0 .. N-1, in this order (7 operations per j, each one call that the overlay
 * must make atomic):
 *   A  append "x\n" to job/pP/f<j>          (copy-up of a lower file, then the write)
 *   B  rename job/pP/f<j> -> job/pP/g<j>     (an upper file over a lower one: whiteout left)
 *   C  rmdir  job/pP/d<j>                    (an empty lower-only dir: whiteout)
 *   D  rmdir  pre/pP/e<j>                    (a dir in upper and lower, empty only through
 *                                            the upper's whiteout of e<j>/x)
 *   E  rename job/pP/h<j> -> job/pP/k<j>     (a lower file: copy-up and rename in one call)
 *   F  rename pre/pP/u<j> -> pre/pP/v<j>     (an upper-only dir with a file in it)
 *   G  unlink pre/pP/c<j>                    (an upper file over a lower one: whiteout)
 * The first call copies up job/ and job/pP, racing with the other processes.
 * Exits 0 when all succeeded; on the first failure prints the call and errno, exits 2. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *M;
static int P;

static void die(const char *what, const char *path)
{
        fprintf(stderr, "faultops p%d: %s %s: %s\n", P, what, path, strerror(errno));
        exit(2);
}

static void path(char *buf, const char *sub, const char *name, int j)
{
        snprintf(buf, 4096, "%s/%s/p%d/%s%d", M, sub, P, name, j);
}

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: faultops MERGED P N\n");
                return 2;
        }
        M = argv[1];
        P = atoi(argv[2]);
        int n = atoi(argv[3]);
        char a[4096], b[4096];
        for (int j = 0; j < n; j++) {
                path(a, "job", "f", j);
                int fd = open(a, O_WRONLY | O_APPEND | O_CLOEXEC);
                if (fd < 0) {
                        die("open", a);
                }
                if (write(fd, "x\n", 2) != 2) {
                        die("write", a);
                }
                close(fd);
                path(b, "job", "g", j);
                if (rename(a, b) < 0) {
                        die("rename", a);
                }
                path(a, "job", "d", j);
                if (rmdir(a) < 0) {
                        die("rmdir", a);
                }
                path(a, "pre", "e", j);
                if (rmdir(a) < 0) {
                        die("rmdir", a);
                }
                path(a, "job", "h", j);
                path(b, "job", "k", j);
                if (rename(a, b) < 0) {
                        die("rename", a);
                }
                path(a, "pre", "u", j);
                path(b, "pre", "v", j);
                if (rename(a, b) < 0) {
                        die("rename", a);
                }
                path(a, "pre", "c", j);
                if (unlink(a) < 0) {
                        die("unlink", a);
                }
        }
        return 0;
}
