/* Merged listings (shim/core/readdir.c: ovl_dir_list) against real layer
 * trees. Expected values follow SEMANTICS.md 1.D (rules 25-30) and
 * DESIGN.md: markers of every format hidden, "." and ".." first, d_off
 * 1..N, d_ino equal to the st_ino ovl_resolve + ovl_loc_stat report.
 *
 * Layout unless a test says otherwise: MERGED "m", upper "u", lowers "l1"
 * (top) "l2", work "w". */
#include "fixture.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct ovl_dirlist *dl;

static void rd_teardown(void)
{
        ovl_dir_free(dl);
        dl = NULL;
        fx_teardown();
}

TestSuite(readdir, .init = fx_setup, .fini = rd_teardown);

#define DOTDOT_INO 123456789

/* List m/rel (resolved through ovl_resolve) into dl. */
static void list(const char *rel)
{
        int r = fx_resolve(rel, 0);
        cr_assert_eq(r, OVL_IN, "resolve %s: %d", rel, r);
        cr_assert_geq(fx_loc->layer, 0, "%s does not exist", rel);
        ovl_dir_free(dl);
        dl = NULL;
        r = ovl_dir_list(fx_loc, DOTDOT_INO, &dl);
        cr_assert_eq(r, 0, "ovl_dir_list %s: %d", rel, r);
        cr_assert_not_null(dl);
}

static const struct dirent64 *find(const char *name)
{
        const struct dirent64 *hit = NULL;
        for (size_t i = 0; i < dl->n; i++) {
                if (strcmp(dl->ents[i]->d_name, name) == 0) {
                        cr_assert_null(hit, "'%s' listed twice", name);
                        hit = dl->ents[i];
                }
        }
        return hit;
}

static void dump(char *buf, size_t cap)
{
        size_t k = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < dl->n && k + 1 < cap; i++) {
                k += (size_t)snprintf(buf + k, cap - k, "%s ", dl->ents[i]->d_name);
        }
}

/* The listing is ".", "..", then exactly the names of `want` (NULL-ended),
 * each once, in some order; d_off is 1..N. */
static void expect_names(const char *const *want)
{
        char got[8192];
        dump(got, sizeof(got));
        size_t n = 0;
        while (want[n]) {
                n++;
        }
        cr_assert_geq(dl->n, 2, "listing: %s", got);
        cr_assert_str_eq(dl->ents[0]->d_name, ".", "listing: %s", got);
        cr_assert_str_eq(dl->ents[1]->d_name, "..", "listing: %s", got);
        cr_assert_eq(dl->ents[0]->d_type, DT_DIR);
        cr_assert_eq(dl->ents[1]->d_type, DT_DIR);
        for (size_t i = 0; i < n; i++) {
                cr_assert_not_null(find(want[i]), "'%s' missing from listing: %s", want[i], got);
        }
        cr_assert_eq(dl->n, n + 2, "listing has %zu names, expected %zu: %s", dl->n - 2, n, got);
        for (size_t i = 0; i < dl->n; i++) {
                cr_assert_eq(dl->ents[i]->d_off, (off_t)(i + 1), "d_off of '%s' is %lld",
                             dl->ents[i]->d_name, (long long)dl->ents[i]->d_off);
                cr_assert_geq(dl->ents[i]->d_reclen,
                              offsetof(struct dirent64, d_name) + strlen(dl->ents[i]->d_name) + 1);
        }
}

/* d_ino and d_type of every listed name agree with what ovl_resolve and
 * ovl_loc_stat say about m/dir/name (DESIGN.md: d_ino equals st_ino). */
static void expect_consistent(const char *dir)
{
        struct ovl_dirlist *keep = dl;
        for (size_t i = 2; i < keep->n; i++) {
                const struct dirent64 *d = keep->ents[i];
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/%s", dir, d->d_name);
                int r = fx_resolve(p, OVL_R_NOFOLLOW);
                cr_assert_eq(r, OVL_IN, "resolve %s: %d", p, r);
                cr_assert_geq(fx_loc->layer, 0, "%s is listed but does not resolve", p);
                struct stat st = fx_loc_stat();
                cr_assert_eq(d->d_ino, st.st_ino, "%s: d_ino %llu, st_ino %llu", p,
                             (unsigned long long)d->d_ino, (unsigned long long)st.st_ino);
                cr_assert_eq(d->d_type, IFTODT(st.st_mode), "%s: d_type %d, stat type %d", p,
                             d->d_type, IFTODT(st.st_mode));
        }
}

static ino_t ino_of(const char *rel)
{
        return fx_lstat(rel).st_ino;
}

/* --- the union -------------------------------------------------------------- */

Test(readdir, each_name_once)
{
        fx_mount("m", "l1:l2", "u");
        fx_file("u/a", "");
        fx_file("u/b", "");
        fx_file("l1/a", "");
        fx_file("l1/c", "");
        fx_file("l2/a", "");
        fx_file("l2/b", "");
        fx_file("l2/d", "");
        fx_mkdir("u/sub");
        fx_mkdir("l1/sub");
        fx_mkdir("l2/sub");
        list("m");
        expect_names((const char *[]){"a", "b", "c", "d", "sub", NULL});
        expect_consistent("m");
}

Test(readdir, dot_and_dotdot_first_with_their_inodes)
{
        fx_mount("m", "l1:l2", "u");
        fx_file("l2/d/z", "");
        fx_file("l1/d/y", "");
        fx_file("u/d/x", "");
        list("m/d");
        expect_names((const char *[]){"x", "y", "z", NULL});
        cr_assert_eq(dl->ents[0]->d_ino, ino_of("l1/d"));
        cr_assert_eq(dl->ents[1]->d_ino, DOTDOT_INO);
        list("m");
        cr_assert_eq(dl->ents[0]->d_ino, ino_of("l1")); /* the root's identity */
        cr_assert_eq(dl->ents[1]->d_ino, DOTDOT_INO);
}

Test(readdir, empty_merged_directory)
{
        fx_mount("m", "l1:l2", "u");
        fx_mkdir("u/d");
        fx_mkdir("l2/d");
        list("m/d");
        expect_names((const char *[]){NULL});
}

Test(readdir, single_layer_directories)
{
        fx_mount("m", "l1:l2", "u");
        fx_file("u/ud/a", "");
        fx_mkdir("u/ud/b");
        fx_file("l2/ld/c", "");
        list("m/ud");
        expect_names((const char *[]){"a", "b", NULL});
        cr_assert_eq(dl->ents[0]->d_ino, ino_of("u/ud"));
        expect_consistent("m/ud");
        list("m/ld");
        expect_names((const char *[]){"c", NULL});
        cr_assert_eq(dl->ents[0]->d_ino, ino_of("l2/ld"));
        cr_assert_eq(find("c")->d_ino, ino_of("l2/ld/c"));
}

Test(readdir, read_only_overlay)
{
        fx_mount("m", "l1:l2", NULL);
        fx_file("l1/a", "");
        fx_file("l2/a", "");
        fx_file("l2/b", "");
        fx_whiteout("l1/c", FX_WH_CHARDEV);
        fx_file("l2/c", "");
        list("m");
        expect_names((const char *[]){"a", "b", NULL});
        cr_assert_eq(find("a")->d_ino, ino_of("l1/a"));
        expect_consistent("m");
}

/* --- whiteouts, in every format, and the names they hide --------------------------- */

static void whiteouts_in_upper(enum fx_wh kind)
{
        fx_mount("m", "l1:l2", "u");
        fx_file("l1/x", "");
        fx_file("l2/x", "");
        fx_mkdir("l2/xd/in");
        fx_file("l1/y", "");
        fx_whiteout("u/x", kind);
        fx_whiteout("u/xd", kind);
        fx_whiteout("u/ghost", kind); /* hides nothing: still not listed */
        /* the same one level down */
        fx_file("u/d/keep", "");
        fx_file("l1/d/x", "");
        fx_whiteout("u/d/x", kind);
        list("m");
        expect_names((const char *[]){"y", "d", NULL});
        list("m/d");
        expect_names((const char *[]){"keep", NULL});
        expect_consistent("m/d");
}

static void whiteouts_in_lower(enum fx_wh kind)
{
        fx_mount("m", "l1:l2", "u");
        fx_file("l2/x", "");
        fx_mkdir("l2/xd/in");
        fx_file("l2/y", "");
        fx_whiteout("l1/x", kind);
        fx_whiteout("l1/xd", kind);
        fx_file("u/z", "");
        /* a whiteout hides the layers below it, not the one above */
        fx_file("u/w", "");
        fx_whiteout("l1/w", kind);
        fx_file("l2/w", "");
        fx_mkdir("u/d");
        fx_file("l1/d/a", "");
        fx_whiteout("l1/d/b", kind);
        fx_file("l2/d/b", "");
        fx_file("l2/d/c", "");
        list("m");
        expect_names((const char *[]){"y", "z", "w", "d", NULL});
        cr_assert_eq(find("w")->d_ino, ino_of("u/w"));
        expect_consistent("m");
        list("m/d");
        expect_names((const char *[]){"a", "c", NULL});
        expect_consistent("m/d");
}

Test(readdir, whiteout_chardev_in_upper)
{
        whiteouts_in_upper(FX_WH_CHARDEV);
}
Test(readdir, whiteout_user_xattr_in_upper)
{
        whiteouts_in_upper(FX_WH_XATTR_USER);
}
Test(readdir, whiteout_trusted_xattr_in_upper)
{
        whiteouts_in_upper(FX_WH_XATTR_TRUSTED);
}
Test(readdir, whiteout_oci_in_upper)
{
        whiteouts_in_upper(FX_WH_OCI);
}
Test(readdir, whiteout_chardev_in_lower)
{
        whiteouts_in_lower(FX_WH_CHARDEV);
}
Test(readdir, whiteout_user_xattr_in_lower)
{
        whiteouts_in_lower(FX_WH_XATTR_USER);
}
Test(readdir, whiteout_trusted_xattr_in_lower)
{
        whiteouts_in_lower(FX_WH_XATTR_TRUSTED);
}
Test(readdir, whiteout_oci_in_lower)
{
        whiteouts_in_lower(FX_WH_OCI);
}

Test(readdir, non_whiteouts_are_listed)
{
        fx_mount("m", "l1:l2", "u");
        fx_mknod_chr("u/chr", 1, 3);
        fx_file("l1/chr", "");
        fx_file("u/full", "data");
        fx_xattr("u/full", "trusted.overlay.whiteout", "");
        fx_file("l1/full", "");
        fx_file("u/same", "");
        fx_file("u/.wh.same", ""); /* hides only lower layers */
        list("m");
        expect_names((const char *[]){"chr", "full", "same", NULL});
        cr_assert_eq(find("chr")->d_type, DT_CHR);
        cr_assert_eq(find("full")->d_type, DT_REG);
        expect_consistent("m");
}

/* Markers are hidden wherever they sit, in merged and single-layer dirs,
 * even where the kernel would list them (DESIGN.md, SEMANTICS.md rule 33). */
Test(readdir, markers_are_never_listed)
{
        fx_mount("m", "l1:l2", "u");
        static const char *const markers[] = {".wh..wh..opq", ".wh..wh.aufs", ".wh..wh.plnk",
                                              ".wh..wh.orph", ".wh.",         ".wh.gone",
                                              ".wh..wh.",     ".wh..opq"};
        static const char *const dirs[] = {"u/both", "l2/both", "u/uonly", "l2/lonly", "u", "l2"};
        for (size_t i = 0; i < sizeof(dirs) / sizeof(*dirs); i++) {
                for (size_t j = 0; j < sizeof(markers) / sizeof(*markers); j++) {
                        char p[128];
                        snprintf(p, sizeof(p), "%s/%s", dirs[i], markers[j]);
                        fx_file(p, "");
                }
                char p[128];
                snprintf(p, sizeof(p), "%s/keep", dirs[i]);
                fx_file(p, "");
                snprintf(p, sizeof(p), "%s/cw", dirs[i]);
                fx_whiteout(p, FX_WH_CHARDEV);
                snprintf(p, sizeof(p), "%s/xw", dirs[i]);
                fx_whiteout(p, FX_WH_XATTR_USER);
        }
        fx_file("l1/both/lower", ""); /* the opaque marker in u/both hides it */
        list("m/both");
        expect_names((const char *[]){"keep", NULL});
        list("m/uonly");
        expect_names((const char *[]){"keep", NULL});
        list("m/lonly");
        expect_names((const char *[]){"keep", NULL});
        list("m");
        expect_names((const char *[]){"keep", "both", "uonly", "lonly", NULL});
}

Test(readdir, wh_prefixed_directories_are_not_listed)
{
        fx_mount("m", "l1:l2", "u");
        fx_mkdir("l1/.wh.dir/sub");
        fx_mkdir("u/.wh.udir");
        fx_file("l2/a", "");
        list("m");
        expect_names((const char *[]){"a", NULL});
}

/* OCI: a layer holding both `.wh.sub` and `sub/` replaces the sub of the
 * layers below (see namei::oci_whiteout_beside_a_dir_ends_its_merge).
 * CORE BUG, left failing. */
Test(readdir, oci_whiteout_beside_a_dir_ends_its_merge,
     .description = "CORE BUG (left failing): .wh.X beside a dir X does not end its merge")
{
        fx_mount("m", "l1:l2", "u");
        fx_file("u/sub/a", "");
        fx_file("u/.wh.sub", "");
        fx_file("l1/sub/c", "");
        list("m");
        expect_names((const char *[]){"sub", NULL});
        cr_assert_eq(find("sub")->d_ino, ino_of("u/sub"));
        list("m/sub");
        expect_names((const char *[]){"a", NULL});
}

/* --- opaque directories --------------------------------------------------------- */

static void opaque_lower(enum fx_opq kind)
{
        fx_mount("m", "l1:l2", "u");
        fx_file("l2/d/a", "");
        fx_opaque("l1/d", kind);
        fx_file("l1/d/b", "");
        fx_file("u/d/u", "");
        list("m/d");
        expect_names((const char *[]){"b", "u", NULL});
        expect_consistent("m/d");
}

static void opaque_upper(enum fx_opq kind)
{
        fx_mount("m", "l1:l2", "u");
        fx_file("l2/d/a", "");
        fx_file("l1/d/b", "");
        fx_opaque("u/d", kind);
        fx_file("u/d/u", "");
        list("m/d");
        expect_names((const char *[]){"u", NULL});
        cr_assert_eq(dl->ents[0]->d_ino, ino_of("u/d"));
        expect_consistent("m/d");
}

Test(readdir, opaque_trusted_in_lower)
{
        opaque_lower(FX_OPQ_TRUSTED);
}
Test(readdir, opaque_user_in_lower)
{
        opaque_lower(FX_OPQ_USER);
}
Test(readdir, opaque_fuseoverlayfs_in_lower)
{
        opaque_lower(FX_OPQ_FUSE);
}
Test(readdir, opaque_oci_in_lower)
{
        opaque_lower(FX_OPQ_OCI);
}
Test(readdir, opaque_trusted_in_upper)
{
        opaque_upper(FX_OPQ_TRUSTED);
}
Test(readdir, opaque_user_in_upper)
{
        opaque_upper(FX_OPQ_USER);
}
Test(readdir, opaque_fuseoverlayfs_in_upper)
{
        opaque_upper(FX_OPQ_FUSE);
}
Test(readdir, opaque_oci_in_upper)
{
        opaque_upper(FX_OPQ_OCI);
}

Test(readdir, opaque_values_other_than_y_do_not_hide)
{
        fx_mount("m", "l1:l2", "u");
        fx_file("l2/d/a", "");
        fx_file("l1/d/b", "");
        fx_xattr("l1/d", "trusted.overlay.opaque", "yes");
        fx_xattr("l1/d", "user.overlay.opaque", "x");
        fx_xattr("l1/d", "user.fuseoverlayfs.opaque", "x");
        list("m/d");
        expect_names((const char *[]){"a", "b", NULL});
}

/* Rule 4: the root is merged whatever its markers say. */
Test(readdir, root_is_always_merged)
{
        fx_mount("m", "l1:l2", "u");
        fx_opaque("u", FX_OPQ_TRUSTED);
        fx_opaque("u", FX_OPQ_USER);
        fx_opaque("l1", FX_OPQ_OCI);
        fx_file("u/a", "");
        fx_file("l1/b", "");
        fx_file("l2/c", "");
        list("m");
        expect_names((const char *[]){"a", "b", "c", NULL});
}

/* Rule 2 [E10]: dir in L1, file in L2, dir in L3: only L1's entries. */
Test(readdir, non_directory_ends_the_merge)
{
        fx_mount("m", "l1:l2:l3", "u");
        fx_file("l1/d/x1", "");
        fx_file("l2/d", "file");
        fx_file("l3/d/x3", "");
        list("m/d");
        expect_names((const char *[]){"x1", NULL});
}

/* --- d_type and d_ino (rules 29, 30) ------------------------------------------ */

Test(readdir, d_type_of_the_topmost_occurrence)
{
        fx_mount("m", "l1:l2", "u");
        fx_mkdir("l2/clash");     /* a dir in L2 ... */
        fx_file("l1/clash", "f"); /* ... and a file in L1: DT_REG [E9] */
        fx_file("l2/updir", "");  /* a file below ... */
        fx_mkdir("u/updir");      /* ... a dir in the upper: DT_DIR */
        fx_symlink("x", "l1/sl"); /* DT_LNK over a dir */
        fx_mkdir("l2/sl");
        fx_fifo("l2/fifo");
        fx_mknod_chr("l2/chr", 1, 3);
        list("m");
        expect_names((const char *[]){"clash", "updir", "sl", "fifo", "chr", NULL});
        cr_assert_eq(find("clash")->d_type, DT_REG);
        cr_assert_eq(find("clash")->d_ino, ino_of("l1/clash"));
        cr_assert_eq(find("updir")->d_type, DT_DIR);
        cr_assert_eq(find("updir")->d_ino, ino_of("u/updir"));
        cr_assert_eq(find("sl")->d_type, DT_LNK);
        cr_assert_eq(find("fifo")->d_type, DT_FIFO);
        cr_assert_eq(find("chr")->d_type, DT_CHR);
        expect_consistent("m");
}

Test(readdir, d_ino_of_a_dir_in_upper_and_lower_is_the_lowers)
{
        fx_mount("m", "l1:l2", "u");
        fx_mkdir("u/both");
        fx_mkdir("l1/both");
        fx_mkdir("l2/both");
        fx_mkdir("u/gap");
        fx_mkdir("l2/gap"); /* the topmost lower holding it is l2 */
        fx_mkdir("l1/lows");
        fx_mkdir("l2/lows");
        fx_mkdir("u/uonly");
        fx_file("u/f", "");
        fx_file("l1/f", ""); /* a file reports the real (upper) file */
        fx_file("l2/lf", "");
        list("m");
        cr_assert_eq(find("both")->d_ino, ino_of("l1/both"));
        cr_assert_eq(find("gap")->d_ino, ino_of("l2/gap"));
        cr_assert_eq(find("lows")->d_ino, ino_of("l1/lows"));
        cr_assert_eq(find("uonly")->d_ino, ino_of("u/uonly"));
        cr_assert_eq(find("f")->d_ino, ino_of("u/f"));
        cr_assert_eq(find("lf")->d_ino, ino_of("l2/lf"));
        expect_consistent("m");
}

static void opaque_upper_dir_ino(enum fx_opq kind)
{
        fx_mount("m", "l1:l2", "u");
        fx_mkdir("l1/sub");
        fx_opaque("u/sub", kind);
        list("m");
        cr_assert_eq(find("sub")->d_ino, ino_of("u/sub"), "%s", fx_opq_names[kind]);
        expect_consistent("m");
}

Test(readdir, d_ino_of_an_opaque_upper_dir_trusted)
{
        opaque_upper_dir_ino(FX_OPQ_TRUSTED);
}
Test(readdir, d_ino_of_an_opaque_upper_dir_user)
{
        opaque_upper_dir_ino(FX_OPQ_USER);
}
Test(readdir, d_ino_of_an_opaque_upper_dir_fuseoverlayfs)
{
        opaque_upper_dir_ino(FX_OPQ_FUSE);
}
Test(readdir, d_ino_of_an_opaque_upper_dir_oci)
{
        opaque_upper_dir_ino(FX_OPQ_OCI);
}

Test(readdir, d_ino_when_an_opaque_lower_ends_the_merge)
{
        fx_mount("m", "l1:l2", "u");
        fx_mkdir("u/sub");
        fx_opaque("l1/sub", FX_OPQ_TRUSTED);
        fx_mkdir("l2/sub");
        list("m");
        cr_assert_eq(find("sub")->d_ino, ino_of("l1/sub"));
        expect_consistent("m");
}

/* U dir, then something in L1 that ends the merge, then a dir in L2: the
 * upper dir is not merged with L2's (rule 2), so it keeps its own inode,
 * as ovl_resolve + ovl_loc_stat say. */
static void merge_ended_by(enum fx_wh kind)
{
        fx_mount("m", "l1:l2", "u");
        fx_mkdir("u/sub");
        fx_whiteout("l1/sub", kind);
        fx_mkdir("l2/sub");
        list("m");
        cr_assert_not_null(find("sub"));
        cr_assert_eq(find("sub")->d_ino, ino_of("u/sub"), "%s in l1: d_ino %llu, upper %llu",
                     fx_wh_names[kind], (unsigned long long)find("sub")->d_ino,
                     (unsigned long long)ino_of("u/sub"));
        expect_consistent("m");
}

Test(readdir, d_ino_merge_ended_by_chardev_whiteout)
{
        merge_ended_by(FX_WH_CHARDEV);
}
Test(readdir, d_ino_merge_ended_by_user_xattr_whiteout)
{
        merge_ended_by(FX_WH_XATTR_USER);
}
Test(readdir, d_ino_merge_ended_by_trusted_xattr_whiteout)
{
        merge_ended_by(FX_WH_XATTR_TRUSTED);
}
/* CORE BUG, left failing: the `.wh.sub` marker in l1 does not end the
 * merge in the listing (seen_again sets merge_ended only for a non-dir
 * entry of the same name; apply_wh ignores names already seen), so d_ino is
 * l2/sub's while ovl_resolve + ovl_loc_stat say u/sub's. */
Test(readdir, d_ino_merge_ended_by_oci_whiteout,
     .description =
         "CORE BUG (left failing): .wh.X in a middle layer does not end the merge for d_ino")
{
        merge_ended_by(FX_WH_OCI);
}

Test(readdir, d_ino_merge_ended_by_a_file)
{
        fx_mount("m", "l1:l2", "u");
        fx_mkdir("u/sub");
        fx_file("l1/sub", "");
        fx_mkdir("l2/sub");
        list("m");
        cr_assert_eq(find("sub")->d_ino, ino_of("u/sub"));
        expect_consistent("m");
}

/* --- order (rule 26) ------------------------------------------------------------- */

#define MAXN 4096
static char raw[MAXN][NAME_MAX + 1];
static char order[MAXN][NAME_MAX + 1];

static bool in_list(char (*v)[NAME_MAX + 1], size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++) {
                if (strcmp(v[i], name) == 0) {
                        return true;
                }
        }
        return false;
}

/* The kernel's order for a merged dir whose stack is dirs[0..n-1], top
 * first, from the raw getdents64 order of each real dir: the bottom layer's
 * names, then names first seen in the upper, then in the intermediate
 * lowers, top to bottom. */
static size_t kernel_order(const char *const *dirs, int n)
{
        size_t k = fx_raw_names(dirs[n - 1], order, MAXN);
        for (int l = 0; l < n - 1; l++) {
                size_t nr = fx_raw_names(dirs[l], raw, MAXN);
                for (size_t i = 0; i < nr; i++) {
                        if (!in_list(order, k, raw[i])) {
                                cr_assert_lt(k, MAXN);
                                memcpy(order[k++], raw[i], NAME_MAX + 1);
                        }
                }
        }
        return k;
}

/* The listing's names after "." and ".." are `order` restricted to the
 * names listed (the set itself is checked by expect_names). */
static void expect_kernel_order(const char *const *dirs, int n)
{
        size_t k = kernel_order(dirs, n), j = 2;
        for (size_t i = 0; i < k; i++) {
                if (!find(order[i])) {
                        continue;
                }
                cr_assert_lt(j, dl->n);
                cr_assert_str_eq(dl->ents[j]->d_name, order[i],
                                 "position %zu: '%s', the kernel's order has '%s'", j,
                                 dl->ents[j]->d_name, order[i]);
                j++;
        }
        cr_assert_eq(j, dl->n);
}

static void many(const char *layer, const char *prefix, int n)
{
        for (int i = 0; i < n; i++) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/%s%02d", layer, prefix, i);
                fx_file(p, "");
        }
}

Test(readdir, large_directories)
{
        fx_mount("m", "l1:l2", "u");
        many("l2/big", "f", 100);
        for (int i = 0; i < 30; i++) {
                char p[64];
                snprintf(p, sizeof(p), "l2/big/x%04d", i);
                fx_file(p, "");
        }
        for (int i = 0; i < 3000; i++) {
                char p[64];
                snprintf(p, sizeof(p), "l1/big/name-%05d-padding-padding-padding", i);
                fx_file(p, "");
                if (i % 3 == 0) {
                        snprintf(p, sizeof(p), "u/big/name-%05d-padding-padding-padding", i);
                        fx_file(p, "");
                }
                if (i % 7 == 0) {
                        snprintf(p, sizeof(p), "u/big/w%05d", i);
                        fx_file(p, "");
                }
        }
        for (int i = 0; i < 30; i += 2) {
                char p[64];
                snprintf(p, sizeof(p), "u/big/x%04d", i);
                fx_whiteout(p, FX_WH_CHARDEV);
        }
        list("m/big");
        cr_assert_eq(dl->n, 2 + 100 + 15 + 3000 + 429);
        expect_kernel_order((const char *[]){"u/big", "l1/big", "l2/big"}, 3);
        expect_consistent("m/big");
}

Test(readdir, kernel_order_three_layers)
{
        fx_mount("m", "l1:l2", "u");
        fx_mkdir("u/d");
        fx_mkdir("l1/d");
        fx_mkdir("l2/d");
        many("u/d", "u", 20);  /* upper only */
        many("l1/d", "m", 20); /* intermediate only */
        many("l2/d", "b", 20); /* bottom only */
        many("u/d", "s", 10);  /* in all three: the bottom's position */
        many("l1/d", "s", 10);
        many("l2/d", "s", 10);
        many("u/d", "t", 10); /* upper and intermediate: the upper's */
        many("l1/d", "t", 10);
        fx_whiteout("u/d/b03", FX_WH_CHARDEV);
        fx_whiteout("l1/d/b04", FX_WH_CHARDEV);
        fx_whiteout("u/d/m05", FX_WH_CHARDEV);
        fx_mkdir("u/d/sub");
        fx_mkdir("l2/d/sub");
        list("m/d");
        static char names[100][16];
        const char *want[100];
        size_t k = 0;
        static const struct {
                char prefix;
                int n;
        } groups[] = {{'u', 20}, {'m', 20}, {'b', 20}, {'s', 10}, {'t', 10}};
        for (size_t g = 0; g < sizeof(groups) / sizeof(*groups); g++) {
                for (int i = 0; i < groups[g].n; i++) {
                        snprintf(names[k], sizeof(names[k]), "%c%02d", groups[g].prefix, i);
                        if (strcmp(names[k], "b03") && strcmp(names[k], "b04") &&
                            strcmp(names[k], "m05")) {
                                want[k] = names[k];
                                k++;
                        }
                }
        }
        want[k++] = "sub";
        want[k] = NULL;
        cr_assert_eq(k, 20 + 19 + 18 + 10 + 10 + 1);
        expect_names(want);
        expect_kernel_order((const char *[]){"u/d", "l1/d", "l2/d"}, 3);
        cr_assert_null(find("b03"));
        cr_assert_null(find("b04"));
        cr_assert_null(find("m05"));
        expect_consistent("m/d");
}

Test(readdir, kernel_order_root_and_four_layers)
{
        fx_mount("m", "l1:l2:l3", "u");
        many("u", "a", 15);
        many("l1", "a", 5);
        many("l1", "c", 15);
        many("l2", "c", 8);
        many("l2", "e", 15);
        many("l3", "e", 4);
        many("l3", "g", 15);
        many("l3", "a", 3);
        list("m");
        cr_assert_eq(dl->n, 2 + 15 + 15 + 15 + 15);
        expect_kernel_order((const char *[]){"u", "l1", "l2", "l3"}, 4);
        expect_consistent("m");
}

/* The bottom is the last layer of the directory's stack: below an opaque
 * lower, the opaque one. */
Test(readdir, kernel_order_bottom_is_the_last_of_the_stack)
{
        fx_mount("m", "l1:l2", "u");
        many("u/d", "u", 12);
        many("l1/d", "o", 12);
        many("l1/d", "u", 6);
        fx_opaque("l1/d", FX_OPQ_TRUSTED);
        many("l2/d", "x", 12);
        list("m/d");
        cr_assert_eq(dl->n, 2 + 12 + 12);
        expect_kernel_order((const char *[]){"u/d", "l1/d"}, 2);
}

Test(readdir, single_layer_keeps_its_raw_order)
{
        fx_mount("m", "l1:l2", "u");
        many("u/d", "u", 30);
        many("l2/e", "l", 30);
        list("m/d");
        expect_kernel_order((const char *[]){"u/d"}, 1);
        list("m/e");
        expect_kernel_order((const char *[]){"l2/e"}, 1);
}
