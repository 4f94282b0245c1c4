/* Lexical path helpers of shim/core/path.c: ovl_path_under,
 * ovl_path_has_dotdot, ovl_path_lexical. Nothing here touches a file system. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ovlshim.h"

#include <criterion/criterion.h>
#include <string.h>

/* --- ovl_path_under -------------------------------------------------------- */

static ssize_t under(const char *path, const char *prefix)
{
        return ovl_path_under(path, prefix, strlen(prefix));
}

Test(path_under, below_prefix_skips_the_slash)
{
        cr_assert_eq(under("/a/b/c", "/a/b"), 5);
        cr_assert_str_eq("/a/b/c" + under("/a/b/c", "/a/b"), "c");
        cr_assert_eq(under("/a/b/c/d", "/a"), 3);
        cr_assert_str_eq("/a/b/c/d" + 3, "b/c/d");
}

Test(path_under, exact_match_gives_an_empty_rest)
{
        cr_assert_eq(under("/a/b", "/a/b"), 4);
        cr_assert_str_eq("/a/b" + 4, "");
        cr_assert_eq(under("/a", "/a"), 2);
}

Test(path_under, sibling_with_common_prefix_is_not_under)
{
        cr_assert_eq(under("/a/bc", "/a/b"), -1);
        cr_assert_eq(under("/a/bc/d", "/a/b"), -1);
        cr_assert_eq(under("/a/b-", "/a/b"), -1);
        cr_assert_eq(under("/ab", "/a"), -1);
}

Test(path_under, shorter_or_unrelated_path_is_not_under)
{
        cr_assert_eq(under("/a", "/a/b"), -1);
        cr_assert_eq(under("/x/y", "/a/b"), -1);
        cr_assert_eq(under("/", "/a"), -1);
}

Test(path_under, root_prefix_holds_every_absolute_path)
{
        cr_assert_eq(under("/", "/"), 1);
        cr_assert_eq(under("/a", "/"), 1);
        cr_assert_str_eq("/a/b" + under("/a/b", "/"), "a/b");
        cr_assert_eq(under("a", "/"), -1);
}

Test(path_under, only_plen_bytes_of_the_prefix_count)
{
        /* the prefix need not be NUL-terminated at plen */
        cr_assert_eq(ovl_path_under("/a/b/c", "/a/bXYZ", 4), 5);
        cr_assert_eq(ovl_path_under("/a/bc", "/a/bXYZ", 4), -1);
}

/* --- ovl_path_has_dotdot --------------------------------------------------- */

Test(path_dotdot, dotdot_components)
{
        cr_assert(ovl_path_has_dotdot(".."));
        cr_assert(ovl_path_has_dotdot("a/.."));
        cr_assert(ovl_path_has_dotdot("../a"));
        cr_assert(ovl_path_has_dotdot("a/../b"));
        cr_assert(ovl_path_has_dotdot("/.."));
        cr_assert(ovl_path_has_dotdot("/a/../"));
        cr_assert(ovl_path_has_dotdot("a//..//b"));
        cr_assert(ovl_path_has_dotdot("a../.."));
        cr_assert(ovl_path_has_dotdot(".../.."));
}

Test(path_dotdot, names_containing_two_dots)
{
        cr_assert_not(ovl_path_has_dotdot("..a"));
        cr_assert_not(ovl_path_has_dotdot("a.."));
        cr_assert_not(ovl_path_has_dotdot("a..b"));
        cr_assert_not(ovl_path_has_dotdot("..."));
        cr_assert_not(ovl_path_has_dotdot("x/.../y"));
        cr_assert_not(ovl_path_has_dotdot("/a/..b/c.."));
        cr_assert_not(ovl_path_has_dotdot("./."));
        cr_assert_not(ovl_path_has_dotdot(""));
        cr_assert_not(ovl_path_has_dotdot("/"));
}

/* --- ovl_path_lexical ------------------------------------------------------ */

static const char *lex(const char *base, const char *path)
{
        static char out[PATH_MAX];
        int r = ovl_path_lexical(out, sizeof(out), base, path);
        cr_assert_eq(r, 0, "ovl_path_lexical(%s, %s) = %d", base ? base : "NULL", path, r);
        return out;
}

Test(path_lexical, doubled_slashes)
{
        cr_assert_str_eq(lex(NULL, "//a//b///"), "/a/b");
        cr_assert_str_eq(lex(NULL, "/"), "/");
        cr_assert_str_eq(lex(NULL, "///"), "/");
}

Test(path_lexical, dot_components)
{
        cr_assert_str_eq(lex(NULL, "/a/./b/."), "/a/b");
        cr_assert_str_eq(lex(NULL, "/./."), "/");
        cr_assert_str_eq(lex(NULL, "/.a/b."), "/.a/b.");
}

Test(path_lexical, dotdot_components)
{
        cr_assert_str_eq(lex(NULL, "/a/b/../c"), "/a/c");
        cr_assert_str_eq(lex(NULL, "/a/b/.."), "/a");
        cr_assert_str_eq(lex(NULL, "/a/b/../.."), "/");
        cr_assert_str_eq(lex(NULL, "/a/../b/../c/d/.."), "/c");
        cr_assert_str_eq(lex(NULL, "/a/..b/c.."), "/a/..b/c..");
        cr_assert_str_eq(lex(NULL, "/a/.../b"), "/a/.../b");
}

Test(path_lexical, dotdot_above_the_root_stays_at_the_root)
{
        cr_assert_str_eq(lex(NULL, "/.."), "/");
        cr_assert_str_eq(lex(NULL, "/../../.."), "/");
        cr_assert_str_eq(lex(NULL, "/../a/../../b"), "/b");
        cr_assert_str_eq(lex("/x", "../../../y"), "/y");
}

Test(path_lexical, relative_path_joins_the_base)
{
        cr_assert_str_eq(lex("/x/y", "c"), "/x/y/c");
        cr_assert_str_eq(lex("/x/y", "c/../d"), "/x/y/d");
        cr_assert_str_eq(lex("/x/y", "../z"), "/x/z");
        cr_assert_str_eq(lex("/x/y", "."), "/x/y");
        cr_assert_str_eq(lex("/x/y", ""), "/x/y");
        cr_assert_str_eq(lex("/x//./y/", "c"), "/x/y/c"); /* the base is cleaned too */
        cr_assert_str_eq(lex("/", "c"), "/c");
}

Test(path_lexical, absolute_path_ignores_the_base)
{
        cr_assert_str_eq(lex("/x/y", "/c"), "/c");
        cr_assert_str_eq(lex("/x/y", "/"), "/");
}

Test(path_lexical, relative_path_without_base_starts_at_root)
{
        cr_assert_str_eq(lex(NULL, "a/b"), "/a/b");
        cr_assert_str_eq(lex(NULL, ""), "/");
}

Test(path_lexical, exact_fit_and_overflow)
{
        char out[8];
        memset(out, 'X', sizeof(out));
        /* "/abc" needs 5 bytes with its NUL */
        cr_assert_eq(ovl_path_lexical(out, 5, NULL, "/abc"), 0);
        cr_assert_str_eq(out, "/abc");
        cr_assert_eq(ovl_path_lexical(out, 4, NULL, "/abc"), -1);
        cr_assert_eq(ovl_path_lexical(out, 8, NULL, "/abc/def"), -1);
        cr_assert_eq(ovl_path_lexical(out, 8, "/abc", "def"), -1);
        cr_assert_eq(ovl_path_lexical(out, 8, "/abcdefgh", "x"), -1);
        /* something that shrinks back under the limit still fits */
        cr_assert_eq(ovl_path_lexical(out, 8, NULL, "/abc/../de"), 0);
        cr_assert_str_eq(out, "/de");
        cr_assert_eq(ovl_path_lexical(out, 1, NULL, "/"), -1);
        cr_assert_eq(ovl_path_lexical(out, 2, NULL, "/"), 0);
        cr_assert_str_eq(out, "/");
}

Test(path_lexical, path_max_boundary)
{
        static char in[PATH_MAX + 16], out[PATH_MAX];
        /* "/" + 4094 bytes of name components = 4095 chars + NUL = PATH_MAX */
        size_t k = 0;
        in[k++] = '/';
        while (k < PATH_MAX - 1) {
                size_t n = PATH_MAX - 1 - k < 200 ? PATH_MAX - 1 - k : 200;
                memset(in + k, 'a', n);
                k += n;
                if (k < PATH_MAX - 1) {
                        in[k - 1] = '/';
                }
        }
        in[k] = '\0';
        cr_assert_eq(strlen(in), PATH_MAX - 1);
        cr_assert_eq(ovl_path_lexical(out, sizeof(out), NULL, in), 0);
        cr_assert_str_eq(out, in);
        in[k++] = 'b';
        in[k] = '\0';
        cr_assert_eq(ovl_path_lexical(out, sizeof(out), NULL, in), -1);
}
