/* ovl: layer tools for ovlshim overlays, no LD_PRELOAD and no privilege.
 *
 *   ovl diff [--json] (-c CONF [MERGED] | UPPER LOWER...)
 *   ovl commit [--reset] (-c CONF [MERGED] | UPPER LOWER...) NEWLAYER
 *   ovl squash OUT L1:L2:...
 *   ovl export [-o FILE] [--owner UID:GID] [--mtime EPOCH] LAYERDIR
 *   ovl import FILE LAYERDIR
 *   ovl image unpack IMAGE DIR
 *   ovl image pack -o IMAGE.tar [--tag NAME] L1:L2:...
 *
 * Each command lives in its own file (ovl_diff.c, ovl_commit.c, ovl_tar.c,
 * ovl_image.c); this one dispatches and picks the layers out of the command
 * line or a config file (the OVL_CONF format, read by the core's parser). */
#include "ovl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
        fputs("Usage: ovl COMMAND [OPTION]... ARG...\n"
              "Layer tools for overlay directories (ovlshim, kernel overlayfs, OCI images).\n"
              "\n"
              "  diff [--json] (-c CONF [MERGED] | UPPER LOWER...)\n"
              "        what the upper changes in the merged view: A added, C changed,\n"
              "        D deleted, one path per line, sorted\n"
              "  commit [--reset] (-c CONF [MERGED] | UPPER LOWER...) NEWLAYER\n"
              "        write the upper as a new layer directory (kernel format); --reset\n"
              "        then empties the upper and puts NEWLAYER on top of the lowers\n"
              "  squash OUT L1:L2:...\n"
              "        flatten a stack of layers (L1 on top) into one directory\n"
              "  export [-o FILE] [--owner UID:GID] [--mtime EPOCH] LAYERDIR\n"
              "        an OCI layer tar of LAYERDIR (stdout by default)\n"
              "  import FILE LAYERDIR\n"
              "        an OCI layer tar (any compression; - for stdin) into a new layer\n"
              "  image unpack IMAGE DIR\n"
              "        a docker-archive, OCI archive or OCI layout into layer directories\n"
              "        and DIR/ovl.conf\n"
              "  image pack -o IMAGE.tar [--tag NAME] L1:L2:...\n"
              "        a docker-archive of a stack of layers (L1 on top)\n"
              "\n"
              "LOWER arguments may be colon lists (L1:L2, top first; \\: escapes a colon).\n"
              "Exit status: 0 on success, 1 on failure, 2 for a usage error.\n"
              "See ovl(1).\n",
              stdout);
}

static void target_from_conf(struct ovl_target *t, const char *conf, const char *merged)
{
        struct ovl_error err = {{0}};
        if (ovl_config_load(conf, &t->cfg, &err) < 0) {
                die("%s", err.msg);
        }
        t->conf = conf;
        if (merged) {
                char *want = abs_path(merged);
                for (int i = 0; i < t->cfg.nmounts; i++) {
                        if (!strcmp(t->cfg.mounts[i].merged, want)) {
                                t->m = &t->cfg.mounts[i];
                        }
                }
                if (!t->m) {
                        die("%s: no overlay with MERGED %s", conf, want);
                }
                free(want);
        } else if (t->cfg.nmounts == 1) {
                t->m = &t->cfg.mounts[0];
        } else {
                die("%s holds %d overlays: name the MERGED directory", conf, t->cfg.nmounts);
        }
        if (!t->m->layers[0].path) {
                die("%s:%d: the overlay at %s is read-only (no upperdir)", conf, t->m->line,
                    t->m->merged);
        }
        t->upper = xstrdup(t->m->layers[0].path);
        t->nlowers = t->m->nlayers - 1;
        t->lowers = xmalloc((size_t)t->nlowers * sizeof(char *));
        for (int i = 0; i < t->nlowers; i++) {
                t->lowers[i] = xstrdup(t->m->layers[i + 1].path);
        }
}

void target_parse(struct ovl_target *t, char **argv, int argc, int keep_last)
{
        *t = (struct ovl_target){0};
        int n = argc - keep_last;
        if (n >= 1 && !strcmp(argv[0], "-c")) {
                if (n < 2 || n > 3) {
                        usage_die("-c takes CONF and at most one MERGED");
                }
                target_from_conf(t, argv[1], n == 3 ? argv[2] : NULL);
                return;
        }
        if (n < 2) {
                usage_die("need UPPER and at least one LOWER (or -c CONF)");
        }
        t->upper = xstrdup(argv[0]);
        for (int i = 1; i < n; i++) {
                split_layers(argv[i], &t->lowers, &t->nlowers);
        }
        for (int i = 0; i < t->nlowers; i++) { /* canonical, as a config's are */
                char *real = realpath(t->lowers[i], NULL);
                if (!real) {
                        die("%s: %s", t->lowers[i], strerror(errno));
                }
                free(t->lowers[i]);
                t->lowers[i] = real;
        }
}

void target_stack(const struct ovl_target *t, bool with_upper, struct ovl_stack *s)
{
        int off = with_upper ? 1 : 0;
        s->n = t->nlowers + off;
        s->layers = xmalloc((size_t)s->n * sizeof(*s->layers));
        if (with_upper) {
                layer_init(&s->layers[0], t->upper);
        }
        for (int i = 0; i < t->nlowers; i++) {
                layer_init(&s->layers[i + off], t->lowers[i]);
        }
}

static const struct {
        const char *name;
        int (*fn)(int, char **);
} commands[] = {
    {"diff", cmd_diff},     {"commit", cmd_commit}, {"squash", cmd_squash},
    {"export", cmd_export}, {"import", cmd_import}, {"image", cmd_image},
};

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage_die("missing COMMAND");
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
                usage();
                return 0;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (!strcmp(argv[1], commands[i].name)) {
                        ovl_prog = xasprintf("ovl %s", commands[i].name);
                        return commands[i].fn(argc - 2, argv + 2);
                }
        }
        usage_die("unknown command '%s'", argv[1]);
}
