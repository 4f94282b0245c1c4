/* dirapi: the DIR* level of the read surface (issue 2 item 6) on one directory, printed in an
 * order-independent form so that a kernel overlay and the shim can be compared:
 * readdir (d_type and d_ino checked against lstat), readdir_r, errno untouched at the end,
 * telldir/seekdir round trips, rewinddir, fdopendir + dirfd, scandir(alphasort), glob, nftw.
 * Usage: dirapi DIR...   |   dirapi --nftw DIR */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAXE 20000

struct ent {
        char name[256];
        unsigned char type;
        ino_t ino;
        long pos;
};

static int cmp(const void *a, const void *b)
{
        return strcmp(((const struct ent *)a)->name, ((const struct ent *)b)->name);
}

static unsigned char mode_dt(mode_t m)
{
        return S_ISREG(m)    ? DT_REG
               : S_ISDIR(m)  ? DT_DIR
               : S_ISLNK(m)  ? DT_LNK
               : S_ISFIFO(m) ? DT_FIFO
               : S_ISCHR(m)  ? DT_CHR
               : S_ISBLK(m)  ? DT_BLK
               : S_ISSOCK(m) ? DT_SOCK
                             : DT_UNKNOWN;
}

static int read_all(DIR *d, struct ent *e, int with_pos)
{
        int n = 0;
        for (;;) {
                long pos = with_pos ? telldir(d) : 0;
                errno = 4242;
                struct dirent *de = readdir(d);
                if (!de) {
                        if (errno != 4242)
                                printf("  readdir end: errno changed to %d\n", errno);
                        break;
                }
                if (n < MAXE) {
                        snprintf(e[n].name, sizeof e[n].name, "%s", de->d_name);
                        e[n].type = de->d_type;
                        e[n].ino = de->d_ino;
                        e[n].pos = pos;
                        n++;
                }
        }
        return n;
}

static void same_set(const char *what, struct ent *a, int na, struct ent *b, int nb)
{
        qsort(b, nb, sizeof *b, cmp);
        int ok = na == nb;
        for (int i = 0; ok && i < na; i++)
                ok = !strcmp(a[i].name, b[i].name) && a[i].type == b[i].type;
        printf("  %s: %s (%d entries)\n", what, ok ? "same" : "DIFFERENT", nb);
}

static int walk_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)f;
        printf("  nftw %d %s %o\n", flag, p, st ? (unsigned)(st->st_mode & 07777) : 0);
        return 0;
}

static void one(const char *dir)
{
        static struct ent a[MAXE], b[MAXE];
        printf("== %s\n", dir);
        DIR *d = opendir(dir);
        if (!d) {
                printf("  opendir: %s\n", strerror(errno));
                return;
        }
        int n = read_all(d, a, 1);
        /* seekdir to every recorded position gives that entry back */
        int bad = 0;
        for (int i = n - 1; i >= 0; i--) {
                seekdir(d, a[i].pos);
                struct dirent *de = readdir(d);
                if (!de || strcmp(de->d_name, a[i].name))
                        bad++;
        }
        printf("  seekdir/telldir round trips: %d of %d wrong\n", bad, n);
        rewinddir(d);
        int nb = read_all(d, b, 0);
        qsort(a, n, sizeof *a, cmp);
        same_set("rewinddir", a, n, b, nb);
        /* d_type and d_ino against lstat */
        int fd = dirfd(d);
        struct stat st, st2;
        if (fstat(fd, &st) == 0 && stat(dir, &st2) == 0)
                printf("  fstat(dirfd)==stat: %s\n",
                       st.st_ino == st2.st_ino && st.st_dev == st2.st_dev ? "yes" : "NO");
        for (int i = 0; i < n; i++) {
                struct stat ls;
                const char *nm = a[i].name;
                if (fstatat(fd, nm, &ls, AT_SYMLINK_NOFOLLOW) != 0) {
                        printf("  %s: listed but lstat: %s\n", nm, strerror(errno));
                        continue;
                }
                int dotdot = !strcmp(nm, "..");
                printf("  %s type=%d%s%s\n", nm, a[i].type,
                       a[i].type == mode_dt(ls.st_mode) ? "" : " TYPE!=LSTAT",
                       dotdot || a[i].ino == ls.st_ino ? "" : " D_INO!=ST_INO");
        }
        closedir(d);
        /* readdir_r */
        d = opendir(dir);
        nb = 0;
        struct dirent buf, *res;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        while (d && readdir_r(d, &buf, &res) == 0 && res && nb < MAXE) {
#pragma GCC diagnostic pop
                snprintf(b[nb].name, sizeof b[nb].name, "%s", res->d_name);
                b[nb].type = res->d_type;
                nb++;
        }
        if (d)
                closedir(d);
        same_set("readdir_r", a, n, b, nb);
        /* fdopendir */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        d = dfd >= 0 ? fdopendir(dfd) : NULL;
        nb = d ? read_all(d, b, 0) : 0;
        if (d)
                closedir(d);
        same_set("fdopendir", a, n, b, nb);
        /* scandir */
        struct dirent **list;
        int ns = scandir(dir, &list, NULL, alphasort);
        printf("  scandir:");
        for (int i = 0; i < ns; i++) {
                printf(" %s", list[i]->d_name);
                free(list[i]);
        }
        printf("\n");
        if (ns >= 0)
                free(list);
        /* glob */
        char pat[4200];
        glob_t g;
        snprintf(pat, sizeof pat, "%s/*", dir);
        int gr = glob(pat, GLOB_PERIOD | GLOB_MARK, NULL, &g);
        printf("  glob rc=%d:", gr);
        for (size_t i = 0; gr == 0 && i < g.gl_pathc; i++)
                printf(" %s", g.gl_pathv[i] + strlen(dir) + 1);
        printf("\n");
        if (gr == 0)
                globfree(&g);
}

int main(int argc, char **argv)
{
        /* dirapi --nftw DIR: a physical nftw walk, in readdir order (the caller sorts) */
        if (argc == 3 && !strcmp(argv[1], "--nftw"))
                return nftw(argv[2], walk_cb, 16, FTW_PHYS) ? 1 : 0;
        for (int i = 1; i < argc; i++)
                one(argv[i]);
        return 0;
}
