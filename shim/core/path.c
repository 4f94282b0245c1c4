/* Lexical path helpers. Nothing here touches the file system. */
#include "ovlshim.h"

#include <string.h>

ssize_t ovl_path_under(const char *path, const char *prefix, size_t plen)
{
        if (plen == 1 && prefix[0] == '/') {
                return path[0] == '/' ? 1 : -1;
        }
        if (strncmp(path, prefix, plen) != 0) {
                return -1;
        }
        if (path[plen] == '\0') {
                return (ssize_t)plen;
        }
        if (path[plen] == '/') {
                return (ssize_t)plen + 1;
        }
        return -1;
}

bool ovl_path_has_dotdot(const char *path)
{
        const char *p = path;
        while ((p = strstr(p, "..")) != NULL) {
                bool start = p == path || p[-1] == '/';
                bool end = p[2] == '\0' || p[2] == '/';
                if (start && end) {
                        return true;
                }
                p += 2;
        }
        return false;
}

/* Append component [c, c+n) to the absolute lexical path `out` (length *len),
 * applying "." and "..". Returns 0 or -1 when out of room. */
static int push_comp(char *out, size_t *len, size_t cap, const char *c, size_t n)
{
        if (n == 0 || (n == 1 && c[0] == '.')) {
                return 0;
        }
        if (n == 2 && c[0] == '.' && c[1] == '.') {
                while (*len > 1 && out[*len - 1] != '/') {
                        (*len)--;
                }
                if (*len > 1) {
                        (*len)--;
                }
                out[*len] = '\0';
                return 0;
        }
        size_t need = *len + (*len > 1) + n + 1;
        if (need > cap) {
                return -1;
        }
        if (*len > 1) {
                out[(*len)++] = '/';
        }
        memcpy(out + *len, c, n);
        *len += n;
        out[*len] = '\0';
        return 0;
}

static int push_path(char *out, size_t *len, size_t cap, const char *p)
{
        while (*p) {
                while (*p == '/') {
                        p++;
                }
                const char *e = strchrnul(p, '/');
                if (push_comp(out, len, cap, p, (size_t)(e - p)) < 0) {
                        return -1;
                }
                p = e;
        }
        return 0;
}

int ovl_path_lexical(char *out, size_t cap, const char *base, const char *path)
{
        size_t len = 1;
        if (cap < 2) {
                return -1;
        }
        out[0] = '/';
        out[1] = '\0';
        if (path[0] != '/' && base && push_path(out, &len, cap, base) < 0) {
                return -1;
        }
        return push_path(out, &len, cap, path);
}
