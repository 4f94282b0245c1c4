/* libFuzzer target: ovl_config_parse on arbitrary text. Beyond the
 * sanitizers it checks what callers rely on: a one-line message on failure,
 * and on success absolute paths with their lengths and every fd at -1. */
#include "ovlshim.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_path(const char *p, size_t len)
{
        if (!p || p[0] != '/' || strlen(p) != len || len >= PATH_MAX) {
                abort();
        }
}

static void check_mount(const struct ovl_mount *m)
{
        check_path(m->merged, m->merged_len);
        if (m->nlayers < 2 || m->nlayers > OVL_MAX_LOWER + 1 || m->line < 1) {
                abort();
        }
        if ((m->layers[0].path == NULL) != (m->workdir == NULL)) {
                abort();
        }
        for (int i = 0; i < m->nlayers; i++) {
                if (m->layers[i].fd != -1) {
                        abort();
                }
                if (i > 0 || m->layers[0].path) {
                        check_path(m->layers[i].path, m->layers[i].len);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct ovl_config cfg;
        struct ovl_error err;
        int r = ovl_config_parse((const char *)data, size, "/base", "fuzz.conf", &cfg, &err);
        if (r < 0 && (r != -EINVAL && r != -ENOMEM)) {
                abort();
        }
        if (r < 0 && (strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg) ||
                      strncmp(err.msg, "fuzz.conf:", 10) != 0 || strchr(err.msg, '\n'))) {
                abort();
        }
        for (int i = 0; r == 0 && i < cfg.nmounts; i++) {
                check_mount(&cfg.mounts[i]);
        }
        ovl_config_free(&cfg);
        return 0;
}
