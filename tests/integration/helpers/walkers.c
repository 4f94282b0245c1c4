#define _GNU_SOURCE
/* walkers TREE fts OPTIONS | nftw FLAGS: print every entry glibc's walker (or
 * the shim's rebuilt one) reports, in the order it reports them. */
#include <fts.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int by_name(const FTSENT **a, const FTSENT **b)
{
        return strcmp((*a)->fts_name, (*b)->fts_name);
}

static int walk_fts(char *root, int opts)
{
        char *roots[] = {root, NULL};
        FTS *f = fts_open(roots, opts, by_name);
        if (!f) {
                perror("fts_open");
                return 1;
        }
        FTSENT *e;
        while ((e = fts_read(f)) != NULL) {
                long size = e->fts_info == FTS_F ? (long)e->fts_statp->st_size : 0;
                printf("%d %d %s %s %ld\n", e->fts_info, e->fts_level, e->fts_path, e->fts_name,
                       size);
                if (e->fts_info == FTS_D && !strcmp(e->fts_name, "skipme")) {
                        fts_set(f, e, FTS_SKIP);
                }
        }
        return fts_close(f);
}

static int show(const char *p, const struct stat *st, int type, struct FTW *w)
{
        printf("%d %d %d %s %ld\n", type, w->level, w->base, p,
               type == FTW_F ? (long)st->st_size : 0);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc != 4) {
                fprintf(stderr, "usage: walkers TREE fts|nftw N\n");
                return 2;
        }
        if (!strcmp(argv[2], "fts")) {
                return walk_fts(argv[1], atoi(argv[3]));
        }
        /* nftw reports in readdir order, which may differ: sorted by the caller */
        return nftw(argv[1], show, 8, atoi(argv[3]));
}
