/* OVL_CONF parsing (ovl_config_parse), file-system checks (ovl_config_check)
 * and loading (ovl_config_load). The check tests build real directory trees
 * under a fresh mkdtemp directory; "@" in a config text stands for it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ovlshim.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[PATH_MAX];
static bool dropped; /* as_nobody() ran: the teardown takes root back */
static struct ovl_config cfg;
static struct ovl_error err;

static int open_up(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)f;
        if (flag != FTW_SL && S_ISDIR(st->st_mode)) {
                chmod(p, 0700);
        }
        return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
        (void)st;
        (void)flag;
        (void)f;
        return remove(p);
}

static void setup(void)
{
        char t[] = "/tmp/ovlcfg-XXXXXX";
        cr_assert_not_null(mkdtemp(t));
        cr_assert_not_null(realpath(t, tmp));
        memset(&cfg, 0, sizeof(cfg));
        memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
        ovl_config_free(&cfg);
        if (dropped) {
                cr_assert_eq(setresuid(0, 0, 0), 0);
        }
        /* directories a test made unreadable are opened up first */
        nftw(tmp, open_up, 16, FTW_PHYS);
        nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = setup, .fini = teardown);

/* --- helpers ------------------------------------------------------------- */

/* fmt with every "@" replaced by the temporary directory. */
static const char *at(const char *fmt)
{
        static char bufs[4][1 << 16];
        static int next;
        char *o = bufs[next++ % 4];
        size_t k = 0;
        for (const char *s = fmt; *s; s++) {
                if (*s == '@') {
                        k += (size_t)snprintf(o + k, sizeof(bufs[0]) - k, "%s", tmp);
                } else {
                        o[k++] = *s;
                }
        }
        o[k] = '\0';
        return o;
}

static void mkdirs(const char *rel)
{
        char p[2 * PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", tmp, rel);
        for (char *s = p + strlen(tmp) + 1; *s; s++) {
                if (*s == '/') {
                        *s = '\0';
                        mkdir(p, 0755);
                        *s = '/';
                }
        }
        cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", p, strerror(errno));
}

static void mkfile(const char *rel)
{
        int fd = open(at(rel), O_CREAT | O_WRONLY, 0644);
        cr_assert_geq(fd, 0, "create %s: %s", rel, strerror(errno));
        close(fd);
}

/* A symlink tmp/rel pointing to target ("@" expanded). */
static void mklink(const char *target, const char *rel)
{
        char p[2 * PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", tmp, rel);
        cr_assert_eq(symlink(at(target), p), 0, "symlink %s: %s", p, strerror(errno));
}

static int parse_base(const char *text, const char *base)
{
        return ovl_config_parse(text, strlen(text), base, "t.conf", &cfg, &err);
}

static int parse(const char *text)
{
        return parse_base(text, "/base");
}

/* Parse (relative paths under the temporary directory) and check. */
static int check(const char *text)
{
        const char *t = at(text);
        int r = ovl_config_parse(t, strlen(t), tmp, "t.conf", &cfg, &err);
        cr_assert_eq(r, 0, "parse failed: %s", err.msg);
        return ovl_config_check(&cfg, &err);
}

/* The usual tree: lowers l1 l2, upper u, work w. */
static void layers(void)
{
        mkdirs("l1");
        mkdirs("l2");
        mkdirs("u");
        mkdirs("w");
}

static void expect_ok(int rc)
{
        cr_assert_eq(rc, 0, "expected success, got %d: %s", rc, err.msg);
}

/* A failure whose one-line message starts "t.conf:LINE: " and contains what. */
static void expect_err(int rc, int line, const char *what)
{
        char prefix[64];
        snprintf(prefix, sizeof(prefix), "t.conf:%d: ", line);
        cr_assert_lt(rc, 0, "expected failure '%s', got %d", what, rc);
        cr_assert(strncmp(err.msg, prefix, strlen(prefix)) == 0, "message '%s' should start '%s'",
                  err.msg, prefix);
        cr_assert_not_null(strstr(err.msg, what), "message '%s' should contain '%s'", err.msg,
                           what);
        cr_assert_null(strchr(err.msg, '\n'), "message '%s' has a newline", err.msg);
}

#define PARSE_ERR(text, what)                                                                      \
        do {                                                                                       \
                int rc_ = parse(text);                                                             \
                expect_err(rc_, 1, what);                                                          \
                cr_assert_eq(rc_, -EINVAL);                                                        \
        } while (0)

static const struct ovl_mount *only_mount(void)
{
        cr_assert_eq(cfg.nmounts, 1, "expected one overlay, got %d", cfg.nmounts);
        return &cfg.mounts[0];
}

static void expect_layer(const struct ovl_mount *m, int i, const char *path)
{
        cr_assert_lt(i, m->nlayers);
        cr_assert_str_eq(m->layers[i].path, path);
        cr_assert_eq(m->layers[i].len, strlen(path));
        cr_assert_eq(m->layers[i].fd, -1);
}

/* --- parse: line forms ---------------------------------------------------- */

Test(config, merged_form_full)
{
        expect_ok(parse("/m lowerdir=/l1:/l2,upperdir=/u,workdir=/w\n"));
        const struct ovl_mount *m = only_mount();
        cr_assert_str_eq(m->merged, "/m");
        cr_assert_eq(m->merged_len, 2);
        cr_assert_eq(m->nlayers, 3);
        expect_layer(m, 0, "/u");
        expect_layer(m, 1, "/l1");
        expect_layer(m, 2, "/l2");
        cr_assert_str_eq(m->workdir, "/w");
        cr_assert_eq(m->line, 1);
        cr_assert_eq(m->whiteout, OVL_WH_AUTO);
        cr_assert(!m->is_volatile);
        cr_assert(!m->userxattr);
        cr_assert_str_eq(cfg.file, "t.conf");
}

Test(config, read_only_one_lower)
{
        expect_ok(parse("/m lowerdir=/l"));
        const struct ovl_mount *m = only_mount();
        cr_assert_eq(m->nlayers, 2);
        cr_assert_null(m->layers[0].path);
        cr_assert_eq(m->layers[0].fd, -1);
        cr_assert_null(m->workdir);
        expect_layer(m, 1, "/l");
}

Test(config, options_in_any_order)
{
        expect_ok(parse("/m workdir=/w,volatile,upperdir=/u,lowerdir=/a:/b:/c"));
        const struct ovl_mount *m = only_mount();
        cr_assert_eq(m->nlayers, 4);
        expect_layer(m, 0, "/u");
        expect_layer(m, 1, "/a");
        expect_layer(m, 3, "/c");
        cr_assert_str_eq(m->workdir, "/w");
        cr_assert(m->is_volatile);
}

Test(config, fstab_form)
{
        expect_ok(parse("overlay /m overlay lowerdir=/l,upperdir=/u,workdir=/w 0 0"));
        const struct ovl_mount *m = only_mount();
        cr_assert_str_eq(m->merged, "/m");
        expect_layer(m, 0, "/u");
        expect_layer(m, 1, "/l");
        cr_assert_str_eq(m->workdir, "/w");
}

Test(config, fstab_form_optional_dump_pass)
{
        expect_ok(parse("overlay /a overlay lowerdir=/l1\n"
                        "none /b overlay lowerdir=/l2 0\n"
                        "overlay\t/c\toverlay\tlowerdir=/l3\t0\t2\n"));
        cr_assert_eq(cfg.nmounts, 3);
        cr_assert_str_eq(cfg.mounts[0].merged, "/a");
        cr_assert_str_eq(cfg.mounts[1].merged, "/b");
        cr_assert_str_eq(cfg.mounts[2].merged, "/c");
        cr_assert_str_eq(cfg.mounts[2].layers[1].path, "/l3");
}

Test(config, fstab_wrong_type)
{
        PARSE_ERR("overlay /m ext4 lowerdir=/l 0 0", "file system type 'ext4' is not 'overlay'");
}

Test(config, fstab_dump_not_a_number)
{
        PARSE_ERR("overlay /m overlay lowerdir=/l 0 x", "fstab field 'x' is not a number");
        ovl_config_free(&cfg);
        PARSE_ERR("overlay /m overlay lowerdir=/l zero", "fstab field 'zero' is not a number");
}

Test(config, wrong_field_counts)
{
        static const char *const bad[] = {
            "/m",
            "/m lowerdir=/l extra",
            "overlay /m overlay lowerdir=/l 0 0 0",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                PARSE_ERR(bad[i], "expected 'MERGED OPTIONS' or 'overlay MERGED overlay OPTIONS");
                ovl_config_free(&cfg);
        }
}

Test(config, blanks_separate_fields)
{
        expect_ok(parse("  \t /m \t  lowerdir=/l  \t "));
        cr_assert_str_eq(only_mount()->merged, "/m");
        expect_layer(only_mount(), 1, "/l");
}

Test(config, comments_and_blank_lines)
{
        expect_ok(parse("# a comment\n"
                        "\n"
                        "   # indented comment\n"
                        "\t \n"
                        "#/x lowerdir=/y\n"
                        "/m lowerdir=/l\n"
                        "\n"));
        cr_assert_eq(only_mount()->line, 6);
}

Test(config, hash_inside_path_is_ordinary)
{
        expect_ok(parse("/m#1 lowerdir=/l#2"));
        cr_assert_str_eq(only_mount()->merged, "/m#1");
        expect_layer(only_mount(), 1, "/l#2");
        ovl_config_free(&cfg);
        /* not a comment after the fields either: a third field */
        PARSE_ERR("/m lowerdir=/l #x", "expected 'MERGED OPTIONS'");
}

Test(config, crlf_line_ends)
{
        expect_ok(parse("/a lowerdir=/l,whiteout=oci\r\n/b lowerdir=/l2,volatile\r\n"));
        cr_assert_eq(cfg.nmounts, 2);
        cr_assert_eq(cfg.mounts[0].whiteout, OVL_WH_OCI);
        cr_assert(cfg.mounts[1].is_volatile);
}

Test(config, several_overlays_record_lines)
{
        expect_ok(parse("/a lowerdir=/la\n"
                        "# gap\n"
                        "/b lowerdir=/lb,upperdir=/ub,workdir=/wb\n"
                        "\n"
                        "overlay /c overlay lowerdir=/lc 0 0\n"));
        cr_assert_eq(cfg.nmounts, 3);
        cr_assert_eq(cfg.mounts[0].line, 1);
        cr_assert_eq(cfg.mounts[1].line, 3);
        cr_assert_eq(cfg.mounts[2].line, 5);
        cr_assert_str_eq(cfg.mounts[1].layers[0].path, "/ub");
        cr_assert_null(cfg.mounts[2].layers[0].path);
}

Test(config, many_overlays_grow_the_array)
{
        char text[64 * 40] = "";
        for (int i = 0; i < 40; i++) {
                char line[64];
                snprintf(line, sizeof(line), "/m%d lowerdir=/l%d\n", i, i);
                strcat(text, line);
        }
        expect_ok(parse(text));
        cr_assert_eq(cfg.nmounts, 40);
        cr_assert_str_eq(cfg.mounts[39].merged, "/m39");
        cr_assert_str_eq(cfg.mounts[39].layers[1].path, "/l39");
        cr_assert_eq(cfg.mounts[39].line, 40);
}

Test(config, empty_text)
{
        expect_ok(parse(""));
        cr_assert_eq(cfg.nmounts, 0);
        ovl_config_free(&cfg);
        expect_ok(ovl_config_parse(NULL, 0, "/base", "t.conf", &cfg, &err));
        cr_assert_eq(cfg.nmounts, 0);
        ovl_config_free(&cfg);
        expect_ok(parse("# only\n\n  # comments\n"));
        cr_assert_eq(cfg.nmounts, 0);
}

Test(config, no_final_newline_and_length_bound)
{
        const char *text = "/m lowerdir=/l\n/n lowerdir=/other";
        expect_ok(ovl_config_parse(text, 15, "/base", "t.conf", &cfg, &err));
        cr_assert_eq(cfg.nmounts, 1);
        ovl_config_free(&cfg);
        /* len cuts the second line to "/n lo" */
        expect_err(ovl_config_parse(text, 20, "/base", "t.conf", &cfg, &err), 2,
                   "unknown option 'lo'");
        ovl_config_free(&cfg);
        expect_ok(ovl_config_parse(text, strlen(text), "/base", "t.conf", &cfg, &err));
        cr_assert_eq(cfg.nmounts, 2);
        expect_layer(&cfg.mounts[1], 1, "/other");
}

Test(config, nul_byte_refused)
{
        const char text[] = "/m lowerdir=/l\0x\n";
        expect_err(ovl_config_parse(text, sizeof(text) - 1, "/base", "t.conf", &cfg, &err), 1,
                   "NUL byte in line");
}

Test(config, error_names_its_line)
{
        expect_err(parse("/a lowerdir=/l\n# c\n/b lowerdir=/l,frob\n/c lowerdir=/l\n"), 3,
                   "unknown option 'frob'");
}

Test(config, error_without_file_name)
{
        int r = ovl_config_parse("/m frob", 7, "/base", NULL, &cfg, &err);
        cr_assert_eq(r, -EINVAL);
        cr_assert_str_eq(err.msg, "(config):1: unknown option 'frob'");
        cr_assert_null(cfg.file);
}

Test(config, error_message_exact)
{
        int r = ovl_config_parse("\n\n/m lowerdir=/l,frob=1", 21, "/x", "/x/ovl.conf", &cfg, &err);
        cr_assert_eq(r, -EINVAL);
        cr_assert_str_eq(err.msg, "/x/ovl.conf:3: unknown option 'frob'");
}

Test(config, error_without_err_struct)
{
        cr_assert_eq(ovl_config_parse("/m frob", 7, "/base", "t.conf", &cfg, NULL), -EINVAL);
}

Test(config, message_stays_one_line)
{
        const char text[] = "/m lowerdir=/l,fr\rob\x01\x1b[31m\n";
        expect_err(parse(text), 1, "unknown option 'fr?ob??[31m'");
        for (const char *c = err.msg; *c; c++) {
                cr_assert_geq((unsigned char)*c, 0x20, "control char in '%s'", err.msg);
        }
}

Test(config, long_message_truncated)
{
        static char text[8192];
        memset(text, 'x', sizeof(text) - 1);
        memcpy(text, "/m lowerdir=/l,", 15);
        expect_err(parse(text), 1, "unknown option 'xxxx");
        cr_assert_lt(strlen(err.msg), sizeof(err.msg));
}

Test(config, config_stays_freeable_after_error)
{
        cr_assert_lt(parse("/a lowerdir=/l1:/l2,upperdir=/u,workdir=/w\n/b lowerdir=/x:,volatile"),
                     0);
        cr_assert_eq(cfg.nmounts, 2);
        ovl_config_free(&cfg);
        cr_assert_eq(cfg.nmounts, 0);
        cr_assert_null(cfg.mounts);
        ovl_config_free(&cfg); /* twice is harmless */
}

/* --- parse: escapes -------------------------------------------------------- */

Test(config, escaped_colon_comma_backslash)
{
        expect_ok(parse("/m lowerdir=/a\\:b:/c\\,d:/e\\\\f,upperdir=/u\\,v,workdir=/w\\:x"));
        const struct ovl_mount *m = only_mount();
        cr_assert_eq(m->nlayers, 4);
        expect_layer(m, 1, "/a:b");
        expect_layer(m, 2, "/c,d");
        expect_layer(m, 3, "/e\\f");
        expect_layer(m, 0, "/u,v");
        cr_assert_str_eq(m->workdir, "/w:x");
}

Test(config, octal_escapes)
{
        expect_ok(parse("/my\\040merged lowerdir=/a\\040b:/tab\\011x:/c\\072d:/bs\\134:/e\\377"));
        const struct ovl_mount *m = only_mount();
        cr_assert_str_eq(m->merged, "/my merged");
        cr_assert_eq(m->nlayers, 6);
        expect_layer(m, 1, "/a b");
        expect_layer(m, 2, "/tab\tx");
        expect_layer(m, 3, "/c:d"); /* an escaped separator is a character */
        expect_layer(m, 4, "/bs\\");
        expect_layer(m, 5, "/e\377");
}

Test(config, escaped_blank_and_hash)
{
        expect_ok(parse("/a\\ b lowerdir=/c\\\td\n\\#m lowerdir=/l"));
        cr_assert_eq(cfg.nmounts, 2);
        cr_assert_str_eq(cfg.mounts[0].merged, "/a b");
        cr_assert_str_eq(cfg.mounts[0].layers[1].path, "/c\td");
        cr_assert_str_eq(cfg.mounts[1].merged, "/base/#m");
}

Test(config, escapes_in_fstab_merged)
{
        expect_ok(parse("overlay /mnt/my\\040dir overlay lowerdir=/l 0 0"));
        cr_assert_str_eq(only_mount()->merged, "/mnt/my dir");
}

Test(config, bad_escapes)
{
        static const char *const bad[][2] = {
            {"/m lowerdir=/l\\", "trailing backslash in '/l\\'"},
            {"/m\\ lowerdir=/l", "expected 'MERGED OPTIONS'"},
            {"/m lowerdir=/a\\0", "bad escape in '/a\\0'"},
            {"/m lowerdir=/a\\08", "bad escape"},
            {"/m lowerdir=/a\\400", "bad escape"},
            {"/m lowerdir=/a\\000", "bad escape"},
            {"/m lowerdir=/a\\9bc", "bad escape"},
            {"/m lowerdir=/a\\018", "bad escape"},
            {"/m\\12 lowerdir=/l", "bad escape in '/m\\12'"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                PARSE_ERR(bad[i][0], bad[i][1]);
                ovl_config_free(&cfg);
        }
}

/* --- parse: paths ---------------------------------------------------------- */

Test(config, relative_paths_join_base_dir)
{
        expect_ok(parse("m lowerdir=l1:./l2:a/../b,upperdir=u/,workdir=.//w//"));
        const struct ovl_mount *m = only_mount();
        cr_assert_str_eq(m->merged, "/base/m");
        cr_assert_eq(m->merged_len, strlen("/base/m"));
        expect_layer(m, 1, "/base/l1");
        expect_layer(m, 2, "/base/l2");
        expect_layer(m, 3, "/base/a/../b"); /* ".." is for check to resolve */
        expect_layer(m, 0, "/base/u");
        cr_assert_str_eq(m->workdir, "/base/w");
}

Test(config, absolute_paths_tidied)
{
        expect_ok(parse("//m/./n/ lowerdir=/x//y/.,upperdir=/,workdir=/w"));
        const struct ovl_mount *m = only_mount();
        cr_assert_str_eq(m->merged, "/m/n");
        expect_layer(m, 1, "/x/y");
        expect_layer(m, 0, "/");
}

Test(config, base_dir_root_and_untidy)
{
        expect_ok(parse_base("m lowerdir=l", "/"));
        cr_assert_str_eq(only_mount()->merged, "/m");
        ovl_config_free(&cfg);
        expect_ok(parse_base("m lowerdir=l", "/a//b/"));
        cr_assert_str_eq(only_mount()->merged, "/a/b/m");
        ovl_config_free(&cfg);
        expect_ok(parse_base(". lowerdir=.", "/a"));
        cr_assert_str_eq(only_mount()->merged, "/a");
        expect_layer(only_mount(), 1, "/a");
}

Test(config, relative_without_absolute_base)
{
        expect_err(parse_base("m lowerdir=/l", NULL), 1, "merged 'm' is not an absolute path");
        ovl_config_free(&cfg);
        expect_err(parse_base("/m lowerdir=l", "rel"), 1,
                   "lowerdir 'rel/l' is not an absolute path");
        ovl_config_free(&cfg);
        expect_err(parse_base("/m lowerdir=/l,upperdir=u,workdir=/w", NULL), 1,
                   "upperdir 'u' is not an absolute path");
        ovl_config_free(&cfg);
        expect_ok(parse_base("/m lowerdir=/l", NULL));
}

Test(config, path_too_long)
{
        static char text[PATH_MAX + 64];
        strcpy(text, "/m lowerdir=/");
        memset(text + strlen(text), 'a', PATH_MAX);
        PARSE_ERR(text, "lowerdir path is too long");
        ovl_config_free(&cfg);
        /* the joined length counts */
        static char base[PATH_MAX];
        memset(base, 'b', PATH_MAX - 3);
        base[0] = '/';
        expect_err(parse_base("merged lowerdir=/l", base), 1, "merged path is too long");
}

/* --- parse: options -------------------------------------------------------- */

Test(config, whiteout_modes)
{
        expect_ok(parse("/a lowerdir=/l,whiteout=auto\n"
                        "/b lowerdir=/l,whiteout=chardev\n"
                        "/c lowerdir=/l,whiteout=oci\n"));
        cr_assert_eq(cfg.mounts[0].whiteout, OVL_WH_AUTO);
        cr_assert_eq(cfg.mounts[1].whiteout, OVL_WH_CHARDEV);
        cr_assert_eq(cfg.mounts[2].whiteout, OVL_WH_OCI);
}

Test(config, flags_volatile_userxattr)
{
        expect_ok(parse("/m lowerdir=/l,upperdir=/u,workdir=/w,volatile,userxattr"));
        cr_assert(only_mount()->is_volatile);
        cr_assert(only_mount()->userxattr);
}

Test(config, accepted_kernel_options)
{
        static const char *const ok[] = {
            "redirect_dir=off", "redirect_dir=nofollow",
            "index=off",        "metacopy=off",
            "xino=off",         "uuid=null",
            "uuid=on",          "uuid=",
            "uuid=a=b",         "nfs_export=off",
            "userxattr",
        };
        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                char text[128];
                snprintf(text, sizeof(text), "/m lowerdir=/l,%s", ok[i]);
                expect_ok(parse(text));
                cr_assert_eq(cfg.nmounts, 1, "%s", ok[i]);
                ovl_config_free(&cfg);
        }
        expect_ok(parse("/m redirect_dir=nofollow,index=off,metacopy=off,xino=off,uuid=off,"
                        "userxattr,lowerdir=/l,upperdir=/u,workdir=/w,whiteout=chardev,volatile"));
}

Test(config, refused_features_by_name)
{
        static const char *const refused[] = {
            "redirect_dir=on", "redirect_dir=follow", "index=on",    "metacopy=on",    "xino=on",
            "xino=auto",       "nfs_export=on",       "verity=on",   "verity=require", "verity=off",
            "verity",          "lowerdir+=/x",        "datadir+=/x",
        };
        for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
                char text[128], want[128];
                snprintf(text, sizeof(text), "/m lowerdir=/l,%s", refused[i]);
                snprintf(want, sizeof(want), "option '%s' is not supported by ovlshim", refused[i]);
                PARSE_ERR(text, want);
                ovl_config_free(&cfg);
        }
}

Test(config, unknown_options)
{
        static const char *const unknown[][2] = {
            {"frob", "frob"},
            {"frob=1", "frob"},
            {"ro", "ro"},
            {"defaults", "defaults"},
            {"LOWERDIR=/x", "LOWERDIR"},
            {"=x", ""},
            {"lowerdirx=/a", "lowerdirx"},
            {"upperdir+=/x", "upperdir+"},
        };
        for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
                char text[128], want[128];
                snprintf(text, sizeof(text), "/m lowerdir=/l,%s", unknown[i][0]);
                snprintf(want, sizeof(want), "unknown option '%s'", unknown[i][1]);
                PARSE_ERR(text, want);
                ovl_config_free(&cfg);
        }
}

Test(config, bad_option_values)
{
        PARSE_ERR("/m lowerdir=/l,whiteout=kernel",
                  "bad value 'kernel' for option 'whiteout' (expected auto|chardev|oci)");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,whiteout=", "bad value '' for option 'whiteout'");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,index=yes", "bad value 'yes' for option 'index' (expected off)");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,redirect_dir=ON", "bad value 'ON' for option 'redirect_dir'");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,xino=of", "bad value 'of' for option 'xino'");
}

Test(config, option_value_presence)
{
        PARSE_ERR("/m lowerdir", "option 'lowerdir' needs a value");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,uuid", "option 'uuid' needs a value");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,whiteout", "option 'whiteout' needs a value");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,volatile=1", "option 'volatile' takes no value");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,userxattr=", "option 'userxattr' takes no value");
}

Test(config, duplicate_options)
{
        static const char *const dup[][2] = {
            {"lowerdir=/a,lowerdir=/b", "lowerdir"},
            {"lowerdir=/a,upperdir=/u,workdir=/w,upperdir=/u", "upperdir"},
            {"lowerdir=/a,upperdir=/u,workdir=/w,workdir=/w", "workdir"},
            {"lowerdir=/a,volatile,volatile", "volatile"},
            {"lowerdir=/a,whiteout=oci,whiteout=chardev", "whiteout"},
            {"lowerdir=/a,index=off,index=off", "index"},
            {"lowerdir=/a,userxattr,userxattr", "userxattr"},
        };
        for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
                char text[128], want[128];
                snprintf(text, sizeof(text), "/m %s", dup[i][0]);
                snprintf(want, sizeof(want), "option '%s' given twice", dup[i][1]);
                PARSE_ERR(text, want);
                ovl_config_free(&cfg);
        }
}

Test(config, empty_options)
{
        PARSE_ERR("/m lowerdir=/l,,volatile", "empty option");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,", "empty option");
        ovl_config_free(&cfg);
        PARSE_ERR("/m ,lowerdir=/l", "empty option");
}

Test(config, lowerdir_required)
{
        PARSE_ERR("/m upperdir=/u,workdir=/w", "missing lowerdir");
        ovl_config_free(&cfg);
        PARSE_ERR("/m volatile", "missing lowerdir");
}

Test(config, upper_and_work_together)
{
        PARSE_ERR("/m lowerdir=/l,upperdir=/u", "upperdir needs a workdir");
        ovl_config_free(&cfg);
        PARSE_ERR("/m lowerdir=/l,workdir=/w", "workdir needs an upperdir");
}

Test(config, empty_layer_paths)
{
        static const char *const bad[][2] = {
            {"lowerdir=", "empty path in lowerdir"},
            {"lowerdir=:/a", "empty path in lowerdir"},
            {"lowerdir=/a:", "empty path in lowerdir"},
            {"lowerdir=/a::/b", "empty path in lowerdir (data-only layers '::' are not"},
            {"lowerdir=/a,upperdir=,workdir=/w", "empty upperdir path"},
            {"lowerdir=/a,upperdir=/u,workdir=", "empty workdir path"},
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char text[128];
                snprintf(text, sizeof(text), "/m %s", bad[i][0]);
                PARSE_ERR(text, bad[i][1]);
                ovl_config_free(&cfg);
        }
}

static void lowers_text(char *text, size_t cap, int n)
{
        size_t k = (size_t)snprintf(text, cap, "/m lowerdir=");
        for (int i = 0; i < n; i++) {
                k += (size_t)snprintf(text + k, cap - k, "%s/l%d", i ? ":" : "", i);
        }
}

Test(config, lower_count_limit)
{
        static char text[16 * (OVL_MAX_LOWER + 2)];
        lowers_text(text, sizeof(text), OVL_MAX_LOWER);
        expect_ok(parse(text));
        cr_assert_eq(only_mount()->nlayers, OVL_MAX_LOWER + 1);
        expect_layer(only_mount(), OVL_MAX_LOWER, "/l499");
        ovl_config_free(&cfg);
        lowers_text(text, sizeof(text), OVL_MAX_LOWER + 1);
        PARSE_ERR(text, "more than 500 lowerdirs");
}

Test(config, merged_problems)
{
        expect_ok(parse("/m\\040 lowerdir=/l"));
        cr_assert_str_eq(only_mount()->merged, "/m ");
        ovl_config_free(&cfg);
        expect_err(parse_base("m lowerdir=/l", ""), 1, "merged 'm' is not an absolute path");
        ovl_config_free(&cfg);
        expect_err(parse("/m\\ lowerdir=/l"), 1, "expected 'MERGED OPTIONS'");
}

/* --- check: canonical paths ------------------------------------------------ */

Test(config, check_valid_overlay)
{
        layers();
        expect_ok(check("@/m lowerdir=@/l1:@/l2,upperdir=@/u,workdir=@/w"));
        const struct ovl_mount *m = only_mount();
        cr_assert_str_eq(m->merged, at("@/m"));
        cr_assert_eq(m->merged_len, strlen(at("@/m")));
        expect_layer(m, 0, at("@/u"));
        expect_layer(m, 1, at("@/l1"));
        expect_layer(m, 2, at("@/l2"));
        cr_assert_str_eq(m->workdir, at("@/w"));
        struct stat st;
        cr_assert_eq(stat(at("@/l2"), &st), 0);
        cr_assert_eq(m->layers[2].dev, st.st_dev);
        cr_assert_eq(m->layers[2].ino, st.st_ino);
        cr_assert_eq(stat(at("@/u"), &st), 0);
        cr_assert_eq(m->layers[0].ino, st.st_ino);
}

Test(config, check_relative_paths_and_symlinks)
{
        layers();
        mkdirs("real/m");
        mklink("@/l1", "link1");
        mklink("real", "r");
        expect_ok(check("r/m/ lowerdir=link1:./l2/../l2,upperdir=u,workdir=w/."));
        const struct ovl_mount *m = only_mount();
        cr_assert_str_eq(m->merged, at("@/real/m"));
        expect_layer(m, 1, at("@/l1"));
        expect_layer(m, 2, at("@/l2"));
        expect_layer(m, 0, at("@/u"));
        cr_assert_str_eq(m->workdir, at("@/w"));
}

Test(config, check_dotdot_after_symlink_follows_the_target)
{
        layers();
        mkdirs("deep/x/y");
        mkdirs("deep/x/l");
        mklink("@/deep/x/y", "sy");
        /* sy/../l is deep/x/l, as the kernel resolves it, not @/l */
        expect_ok(check("@/m lowerdir=@/sy/../l"));
        expect_layer(only_mount(), 1, at("@/deep/x/l"));
}

Test(config, check_merged_need_not_exist)
{
        layers();
        mkdirs("real");
        mklink("@/real", "r");
        expect_ok(check("@/r/new/deeper lowerdir=@/l1\n"
                        "@/missing/../r/./other lowerdir=@/l2\n"
                        "@/r/a/b/../../c lowerdir=@/u\n"));
        cr_assert_str_eq(cfg.mounts[0].merged, at("@/real/new/deeper"));
        cr_assert_str_eq(cfg.mounts[1].merged, at("@/real/other"));
        cr_assert_str_eq(cfg.mounts[2].merged, at("@/real/c"));
        cr_assert_eq(cfg.mounts[2].merged_len, strlen(at("@/real/c")));
}

Test(config, check_merged_existing_symlink)
{
        layers();
        mkdirs("target");
        mklink("@/target", "m");
        expect_ok(check("@/m lowerdir=@/l1"));
        cr_assert_str_eq(only_mount()->merged, at("@/target"));
}

Test(config, check_merged_root_and_dotdot_past_root)
{
        layers();
        expect_err(check("/../.. lowerdir=@/l1"), 1, at("lowerdir '@/l1' is inside merged '/'"));
}

Test(config, check_merged_not_a_directory)
{
        layers();
        mkfile("@/file");
        expect_err(check("@/file lowerdir=@/l1"), 1, at("merged '@/file' is not a directory"));
        ovl_config_free(&cfg);
        expect_err(check("@/file/sub lowerdir=@/l1"), 1,
                   at("merged '@/file/sub' cannot be resolved: Not a directory"));
}

Test(config, check_merged_dangling_symlink)
{
        layers();
        mklink("@/nowhere", "dangling");
        expect_err(check("@/dangling/m lowerdir=@/l1"), 1,
                   at("merged '@/dangling/m': '@/dangling' is a dangling symlink"));
}

Test(config, check_merged_symlink_loop)
{
        layers();
        mklink("@/loop", "loop");
        expect_err(check("@/loop/m lowerdir=@/l1"), 1,
                   at("merged '@/loop/m' cannot be resolved: Too many levels of symbolic links"));
}

/* --- check: layer directories ----------------------------------------------- */

Test(config, check_missing_dirs)
{
        layers();
        expect_err(check("@/m lowerdir=@/l1:@/nope"), 1, at("lowerdir '@/nope' does not exist"));
        cr_assert_eq(ovl_config_check(&cfg, &err), -ENOENT);
        ovl_config_free(&cfg);
        expect_err(check("@/m lowerdir=@/l1,upperdir=@/nu,workdir=@/w"), 1,
                   at("upperdir '@/nu' does not exist"));
        ovl_config_free(&cfg);
        expect_err(check("@/m lowerdir=@/l1,upperdir=@/u,workdir=@/nw"), 1,
                   at("workdir '@/nw' does not exist"));
}

Test(config, check_not_a_directory)
{
        layers();
        mkfile("@/f");
        mklink("@/f", "flink");
        expect_err(check("@/m lowerdir=@/f"), 1, at("lowerdir '@/f' is not a directory"));
        ovl_config_free(&cfg);
        expect_err(check("@/m lowerdir=@/l1,upperdir=@/flink,workdir=@/w"), 1,
                   at("upperdir '@/flink' is not a directory"));
        ovl_config_free(&cfg);
        /* a file on the way: the directory does not exist */
        expect_err(check("@/m lowerdir=@/f/sub"), 1, at("lowerdir '@/f/sub' does not exist"));
}

Test(config, check_dangling_layer_symlink)
{
        layers();
        mklink("@/nowhere", "dl");
        expect_err(check("@/m lowerdir=@/dl"), 1, at("lowerdir '@/dl' does not exist"));
}

/* Drop to an unprivileged effective uid (the saved uid stays root, so the
 * teardown can clean up); skipped when not started as root. */
static void as_nobody(void)
{
        if (geteuid() != 0) {
                return;
        }
        cr_assert_eq(chmod(tmp, 0755), 0);
        cr_assert_eq(setresuid(65534, 65534, 0), 0);
        dropped = true;
}

Test(config, check_unreadable_dirs)
{
        layers();
        mkdirs("closed/l");
        mkdirs("noread");
        mkdirs("ro");
        mkdirs("lower");
        chmod(at("@/closed"), 0);
        chmod(at("@/noread"), 0111);
        chmod(at("@/ro"), 0555);
        as_nobody();
        expect_err(check("@/m lowerdir=@/closed/l"), 1,
                   at("lowerdir '@/closed/l' cannot be read: Permission denied"));
        ovl_config_free(&cfg);
        expect_err(check("@/m lowerdir=@/noread"), 1,
                   at("lowerdir '@/noread' cannot be read: Permission denied"));
        ovl_config_free(&cfg);
        /* an upper the job may not write is accepted: its writes get EACCES */
        expect_ok(check("@/m lowerdir=@/lower,upperdir=@/ro,workdir=@/w"));
        ovl_config_free(&cfg);
        expect_ok(check("@/m lowerdir=@/ro"));
}

Test(config, check_workdir_on_another_file_system)
{
        layers();
        struct stat a, b;
        cr_assert_eq(stat(tmp, &a), 0);
        if (stat("/dev/shm", &b) != 0 || a.st_dev == b.st_dev) {
                cr_skip_test("no second file system at /dev/shm");
        }
        char shm[] = "/dev/shm/ovlcfg-XXXXXX";
        cr_assert_not_null(mkdtemp(shm));
        char text[PATH_MAX * 2];
        snprintf(text, sizeof(text), "@/m lowerdir=@/l1,upperdir=@/u,workdir=%s", shm);
        int r = check(text);
        rmdir(shm);
        char want[PATH_MAX * 2];
        snprintf(want, sizeof(want), "workdir '%s' is not on the same file system as upperdir '%s'",
                 shm, at("@/u"));
        expect_err(r, 1, want);
}

/* --- check: nesting within one overlay --------------------------------------- */

static void expect_check_err(const char *text, int line, const char *what)
{
        expect_err(check(text), line, at(what));
        cr_assert_eq(ovl_config_check(&cfg, &err), -EINVAL);
        ovl_config_free(&cfg);
}

Test(config, check_upper_or_work_inside_lower)
{
        layers();
        mkdirs("l1/u");
        mkdirs("l1/w");
        expect_check_err("@/m lowerdir=@/l1,upperdir=@/l1/u,workdir=@/w", 1,
                         "upperdir '@/l1/u' is inside lowerdir '@/l1'");
        expect_check_err("@/m lowerdir=@/l2:@/l1,upperdir=@/u,workdir=@/l1/w", 1,
                         "workdir '@/l1/w' is inside lowerdir '@/l1'");
        expect_check_err("@/m lowerdir=@/l1,upperdir=@/l1,workdir=@/w", 1,
                         "upperdir '@/l1' is the same directory as lowerdir '@/l1'");
        expect_check_err("@/m lowerdir=@/w,upperdir=@/u,workdir=@/w", 1,
                         "workdir '@/w' is the same directory as lowerdir '@/w'");
}

Test(config, check_lower_inside_upper_or_work)
{
        layers();
        mkdirs("u/l");
        mkdirs("w/l");
        expect_check_err("@/m lowerdir=@/u/l,upperdir=@/u,workdir=@/w", 1,
                         "lowerdir '@/u/l' is inside upperdir '@/u'");
        expect_check_err("@/m lowerdir=@/w/l,upperdir=@/u,workdir=@/w", 1,
                         "lowerdir '@/w/l' is inside workdir '@/w'");
}

Test(config, check_upper_and_work_nested)
{
        layers();
        mkdirs("u/w");
        mkdirs("w/u");
        expect_check_err("@/m lowerdir=@/l1,upperdir=@/u,workdir=@/u/w", 1,
                         "workdir '@/u/w' is inside upperdir '@/u'");
        expect_check_err("@/m lowerdir=@/l1,upperdir=@/w/u,workdir=@/w", 1,
                         "upperdir '@/w/u' is inside workdir '@/w'");
        expect_check_err("@/m lowerdir=@/l1,upperdir=@/u,workdir=@/u", 1,
                         "workdir '@/u' is the same directory as upperdir '@/u'");
        /* the same directory under two spellings */
        mklink("@/u", "ulink");
        expect_check_err("@/m lowerdir=@/l1,upperdir=@/u,workdir=@/ulink", 1,
                         "workdir '@/u' is the same directory as upperdir '@/u'");
}

Test(config, check_upper_or_work_and_merged)
{
        layers();
        mkdirs("m/u");
        mkdirs("m/w");
        mkdirs("u/m");
        expect_check_err("@/m lowerdir=@/l1,upperdir=@/m/u,workdir=@/w", 1,
                         "upperdir '@/m/u' is inside merged '@/m'");
        expect_check_err("@/m lowerdir=@/l1,upperdir=@/u,workdir=@/m/w", 1,
                         "workdir '@/m/w' is inside merged '@/m'");
        expect_check_err("@/u/m lowerdir=@/l1,upperdir=@/u,workdir=@/w", 1,
                         "merged '@/u/m' is inside upperdir '@/u'");
        expect_check_err("@/w/m lowerdir=@/l1,upperdir=@/u,workdir=@/w", 1,
                         "merged '@/w/m' is inside workdir '@/w'");
        expect_check_err("@/u lowerdir=@/l1,upperdir=@/u,workdir=@/w", 1,
                         "merged '@/u' is the same directory as upperdir '@/u'");
        /* MERGED need not exist to be inside a layer */
        expect_check_err("@/u/not/yet lowerdir=@/l1,upperdir=@/u,workdir=@/w", 1,
                         "merged '@/u/not/yet' is inside upperdir '@/u'");
}

Test(config, check_lower_and_merged)
{
        layers();
        mkdirs("m/l");
        mkdirs("l1/m");
        expect_check_err("@/m lowerdir=@/l1:@/m/l", 1, "lowerdir '@/m/l' is inside merged '@/m'");
        expect_check_err("@/l1/m lowerdir=@/l1", 1, "merged '@/l1/m' is inside lowerdir '@/l1'");
        /* equal to one lower but inside another */
        expect_check_err("@/l1/m lowerdir=@/l1/m:@/l1", 1,
                         "merged '@/l1/m' is inside lowerdir '@/l1'");
}

Test(config, check_protect_in_place)
{
        layers();
        expect_ok(check("@/l1 lowerdir=@/l1,upperdir=@/u,workdir=@/w\n"
                        "@/l2 lowerdir=@/l2\n"));
        cr_assert_str_eq(cfg.mounts[0].merged, cfg.mounts[0].layers[1].path);
        cr_assert_str_eq(cfg.mounts[1].merged, cfg.mounts[1].layers[1].path);
        ovl_config_free(&cfg);
        /* MERGED equal to a lower other than the top one */
        mkdirs("m");
        expect_ok(check("@/m lowerdir=@/l1:@/m"));
}

Test(config, check_lowers_may_nest_or_repeat_within_one_overlay)
{
        layers();
        mkdirs("l1/sub");
        expect_ok(check("@/m lowerdir=@/l1/sub:@/l1:@/l1,upperdir=@/u,workdir=@/w"));
        cr_assert_eq(only_mount()->nlayers, 4);
}

Test(config, check_siblings_with_common_prefix_do_not_nest)
{
        layers();
        mkdirs("u2");
        mkdirs("l1x");
        expect_ok(check("@/l lowerdir=@/l1,upperdir=@/u,workdir=@/u2\n"
                        "@/l1xm lowerdir=@/l1x\n"));
}

/* --- check: several overlays ----------------------------------------------- */

Test(config, check_overlapping_merged)
{
        layers();
        mkdirs("l3");
        expect_check_err("@/m lowerdir=@/l1\n@/m lowerdir=@/l2", 2,
                         "merged '@/m' is the same directory as merged '@/m' of line 1");
        expect_check_err("@/m lowerdir=@/l1\n\n@/m/sub lowerdir=@/l2", 3,
                         "merged '@/m/sub' is inside merged '@/m' of line 1");
        expect_check_err("@/m/sub lowerdir=@/l1\n@/l3 lowerdir=@/l3\n@/m lowerdir=@/l2", 3,
                         "merged '@/m/sub' of line 1 is inside merged '@/m'");
}

Test(config, check_shared_layer_between_overlays)
{
        layers();
        mkdirs("l3");
        mkdirs("u2");
        mkdirs("w2");
        mklink("@/l1", "l1link");
        expect_check_err("@/a lowerdir=@/l1\n@/b lowerdir=@/l2:@/l1", 2,
                         "lowerdir '@/l1' is the same directory as lowerdir '@/l1' of line 1");
        expect_check_err("@/a lowerdir=@/l1\n@/b lowerdir=@/l1link", 2,
                         "lowerdir '@/l1' is the same directory as lowerdir '@/l1' of line 1");
        expect_check_err("@/a lowerdir=@/l1,upperdir=@/u,workdir=@/w\n"
                         "@/b lowerdir=@/l2,upperdir=@/u,workdir=@/w2",
                         2, "upperdir '@/u' is the same directory as upperdir '@/u' of line 1");
        expect_check_err("@/a lowerdir=@/l1,upperdir=@/u,workdir=@/w\n"
                         "@/b lowerdir=@/u",
                         2, "lowerdir '@/u' is the same directory as upperdir '@/u' of line 1");
        expect_check_err("@/a lowerdir=@/l1,upperdir=@/u,workdir=@/w\n"
                         "@/b lowerdir=@/l2,upperdir=@/u2,workdir=@/w",
                         2, "workdir '@/w' is the same directory as workdir '@/w' of line 1");
}

Test(config, check_written_dirs_nest_across_overlays)
{
        layers();
        mkdirs("l1/u2");
        mkdirs("u/l");
        mkdirs("w2");
        expect_check_err("@/a lowerdir=@/l1\n@/b lowerdir=@/l2,upperdir=@/l1/u2,workdir=@/w2", 2,
                         "upperdir '@/l1/u2' is inside lowerdir '@/l1' of line 1");
        expect_check_err("@/a lowerdir=@/l1,upperdir=@/u,workdir=@/w\n@/b lowerdir=@/u/l", 2,
                         "lowerdir '@/u/l' is inside upperdir '@/u' of line 1");
}

Test(config, check_layer_and_merged_across_overlays)
{
        layers();
        mkdirs("a/x");
        expect_check_err("@/a lowerdir=@/l1\n@/b lowerdir=@/a/x", 2,
                         "lowerdir '@/a/x' is inside merged '@/a' of line 1");
        expect_check_err("@/l2/b lowerdir=@/l1\n@/b lowerdir=@/l2", 2,
                         "merged '@/l2/b' of line 1 is inside lowerdir '@/l2'");
        /* a lower may be its own overlay's MERGED, not another's */
        expect_check_err("@/a lowerdir=@/l1\n@/b lowerdir=@/a", 2,
                         "lowerdir '@/a' is the same directory as merged '@/a' of line 1");
        expect_check_err("@/l2 lowerdir=@/l1\n@/b lowerdir=@/l2", 2,
                         "lowerdir '@/l2' is the same directory as merged '@/l2' of line 1");
        expect_check_err("@/a lowerdir=@/l1\n@/l1 lowerdir=@/l2", 2,
                         "merged '@/l1' is the same directory as lowerdir '@/l1' of line 1");
}

Test(config, check_lowers_may_nest_across_overlays)
{
        layers();
        mkdirs("l1/sub");
        expect_ok(check("@/a lowerdir=@/l1\n@/b lowerdir=@/l1/sub,upperdir=@/u,workdir=@/w"));
        cr_assert_eq(cfg.nmounts, 2);
}

Test(config, check_error_names_the_offending_line)
{
        layers();
        mkdirs("l3");
        int r = check("# header\n@/a lowerdir=@/l1\n\n@/b lowerdir=@/l2\n@/c lowerdir=@/nope");
        expect_err(r, 5, at("lowerdir '@/nope' does not exist"));
        cr_assert_eq(r, -ENOENT);
}

Test(config, check_without_file_name)
{
        layers();
        const char *t = at("@/m lowerdir=@/nope");
        expect_ok(ovl_config_parse(t, strlen(t), tmp, NULL, &cfg, &err));
        cr_assert_lt(ovl_config_check(&cfg, &err), 0);
        cr_assert_str_eq(err.msg, at("(config):1: lowerdir '@/nope' does not exist"));
}

Test(config, check_leaves_fds_closed)
{
        layers();
        int before = open("/dev/null", O_RDONLY);
        close(before);
        expect_ok(check("@/m lowerdir=@/l1:@/l2,upperdir=@/u,workdir=@/w"));
        for (int i = 0; i < only_mount()->nlayers; i++) {
                cr_assert_eq(only_mount()->layers[i].fd, -1);
        }
        int after = open("/dev/null", O_RDONLY);
        close(after);
        cr_assert_eq(before, after, "check leaked a file descriptor");
}

/* --- load ------------------------------------------------------------------- */

static void write_file(const char *rel, const char *text)
{
        FILE *f = fopen(at(rel), "w");
        cr_assert_not_null(f);
        fputs(at(text), f);
        fclose(f);
}

Test(config, load_relative_to_the_file)
{
        layers();
        mkdirs("etc");
        write_file("@/etc/ovl.conf",
                   "# test\n../m lowerdir=../l1:@/l2,upperdir=../u,workdir=../w\n");
        expect_ok(ovl_config_load(at("@/etc/ovl.conf"), &cfg, &err));
        const struct ovl_mount *m = only_mount();
        cr_assert_str_eq(cfg.file, at("@/etc/ovl.conf"));
        cr_assert_str_eq(m->merged, at("@/m"));
        expect_layer(m, 1, at("@/l1"));
        expect_layer(m, 2, at("@/l2"));
        expect_layer(m, 0, at("@/u"));
        cr_assert_eq(m->line, 2);
}

Test(config, load_relative_file_name)
{
        layers();
        write_file("@/ovl.conf", "m lowerdir=l1");
        cr_assert_eq(chdir(tmp), 0);
        expect_ok(ovl_config_load("./ovl.conf", &cfg, &err));
        cr_assert_str_eq(cfg.file, at("@/ovl.conf"));
        cr_assert_str_eq(only_mount()->merged, at("@/m"));
}

Test(config, load_missing_or_unreadable)
{
        int r = ovl_config_load(at("@/nope.conf"), &cfg, &err);
        cr_assert_eq(r, -ENOENT);
        cr_assert_str_eq(err.msg, at("@/nope.conf: cannot read: No such file or directory"));
        ovl_config_free(&cfg);
        r = ovl_config_load(tmp, &cfg, &err);
        cr_assert_eq(r, -EISDIR);
        cr_assert_str_eq(err.msg, at("@: cannot read: Is a directory"));
}

Test(config, load_size_limit)
{
        layers();
        static char big[(1 << 20) + 1];
        const char *line = at("@/m lowerdir=@/l1\n");
        memset(big, '#', sizeof(big) - 1);
        size_t n = strlen(line);
        memcpy(big + (1 << 20) - n, line, n); /* exactly 1 MiB, the line last */
        big[(1 << 20) - n - 1] = '\n';
        FILE *f = fopen(at("@/big.conf"), "w");
        cr_assert_eq(fwrite(big, 1, 1 << 20, f), (size_t)1 << 20);
        fclose(f);
        expect_ok(ovl_config_load(at("@/big.conf"), &cfg, &err));
        cr_assert_eq(only_mount()->line, 2);
        ovl_config_free(&cfg);
        f = fopen(at("@/big.conf"), "a");
        fputc('\n', f);
        fclose(f);
        cr_assert_eq(ovl_config_load(at("@/big.conf"), &cfg, &err), -EFBIG);
        cr_assert_str_eq(err.msg, at("@/big.conf: cannot read: larger than 1 MiB"));
}

Test(config, load_empty_config_refused)
{
        write_file("@/empty.conf", "# nothing here\n\n");
        cr_assert_eq(ovl_config_load(at("@/empty.conf"), &cfg, &err), -EINVAL);
        cr_assert_str_eq(err.msg, at("@/empty.conf: no overlay defined"));
}

Test(config, load_reports_parse_and_check_errors)
{
        layers();
        write_file("@/a.conf", "@/m lowerdir=@/l1\n@/n lowerdir=@/l2,index=on\n");
        cr_assert_eq(ovl_config_load(at("@/a.conf"), &cfg, &err), -EINVAL);
        cr_assert_str_eq(err.msg, at("@/a.conf:2: option 'index=on' is not supported by ovlshim"));
        ovl_config_free(&cfg);
        write_file("@/b.conf", "\n\nm lowerdir=missing\n");
        cr_assert_eq(ovl_config_load(at("@/b.conf"), &cfg, &err), -ENOENT);
        cr_assert_str_eq(err.msg, at("@/b.conf:3: lowerdir '@/missing' does not exist"));
}
