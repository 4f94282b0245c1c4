/* ovl image pack: a stack of layer directories as a docker-archive, the
 * format `docker save` writes and `podman load` reads:
 *
 *   <config-sha256>.json                 image config, rootfs.diff_ids
 *   <id>/layer.tar, <id>/json, <id>/VERSION   one per layer; each json names
 *                                        its `parent` (the legacy chain)
 *   manifest.json, repositories
 *
 * Every layer tar comes from ovl export (OCI whiteouts, sorted names). The
 * archive's own entries and the config's dates take --mtime (default 0),
 * which also replaces the files' mtimes when given, so equal input gives an
 * equal archive. */
#include "ovl.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

struct packed {
        char *tar;       /* temporary file */
        char diffid[65]; /* sha256 of the tar */
        char id[65];     /* legacy layer id: sha256 of parent id and diff id */
};

static void add_entry(struct archive *a, const char *name, mode_t mode, long long mtime,
                      int64_t size, const char *symlink)
{
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, name);
        archive_entry_set_mode(e, mode);
        archive_entry_set_mtime(e, (time_t)mtime, 0);
        archive_entry_set_size(e, size);
        if (symlink) {
                archive_entry_set_symlink(e, symlink);
        }
        if (archive_write_header(a, e) < ARCHIVE_WARN) {
                die("%s: %s", name, archive_error_string(a));
        }
        archive_entry_free(e);
}

static void add_mem(struct archive *a, const char *name, const char *data, long long mtime)
{
        size_t n = strlen(data);
        add_entry(a, name, S_IFREG | 0644, mtime, (int64_t)n, NULL);
        if (archive_write_data(a, data, n) != (la_ssize_t)n) {
                die("%s: %s", name, archive_error_string(a));
        }
}

static void add_file(struct archive *a, const char *name, const char *path, long long mtime)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
                die("%s: %s", path, strerror(errno));
        }
        add_entry(a, name, S_IFREG | 0644, mtime, st.st_size, NULL);
        char buf[65536];
        ssize_t got;
        while ((got = read(fd, buf, sizeof(buf))) > 0) {
                if (archive_write_data(a, buf, (size_t)got) != got) {
                        die("%s: %s", name, archive_error_string(a));
                }
        }
        close(fd);
}

static void sha256_str(const char *s, char out[65])
{
        unsigned char md[32];
        EVP_Digest(s, strlen(s), md, NULL, EVP_sha256(), NULL);
        sha256_hex(md, out);
}

static char *dump(json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        if (!s) {
                die("out of memory");
        }
        return s;
}

static const char *go_arch(void)
{
        static struct utsname u;
        uname(&u);
        return !strcmp(u.machine, "x86_64")    ? "amd64"
               : !strcmp(u.machine, "aarch64") ? "arm64"
                                               : u.machine;
}

/* The image config: --config's "config" (Env, Cmd ...) kept, the rest new. */
static json_t *make_config(const char *from, struct packed *v, int n, const char *created)
{
        json_t *inner = json_object();
        if (from) {
                json_error_t err;
                json_t *old = json_load_file(from, 0, &err);
                if (!old) {
                        die("%s: %s", from, err.text);
                }
                json_t *c = json_object_get(old, "config");
                if (json_is_object(c)) {
                        json_object_update(inner, c);
                }
                json_decref(old);
        }
        json_t *ids = json_array(), *hist = json_array();
        for (int i = 0; i < n; i++) {
                json_array_append_new(ids, json_sprintf("sha256:%s", v[i].diffid));
                json_array_append_new(hist, json_pack("{s:s, s:s}", "created", created,
                                                      "created_by", "ovl image pack"));
        }
        return json_pack("{s:s, s:s, s:s, s:o, s:{s:s, s:o}, s:o}", "architecture", go_arch(), "os",
                         "linux", "created", created, "config", inner, "rootfs", "type", "layers",
                         "diff_ids", ids, "history", hist);
}

/* "name" -> "name:latest"; the repository and tag parts for `repositories`. */
static char *full_tag(const char *tag)
{
        const char *slash = strrchr(tag, '/');
        return strchr(slash ? slash : tag, ':') ? xstrdup(tag) : xasprintf("%s:latest", tag);
}

int image_pack(int argc, char **argv)
{
        const char *out = NULL, *tag = NULL, *from = NULL, *list = NULL;
        struct export_opts o = {0}; /* files keep their mtimes unless --mtime */
        for (int i = 0; i < argc; i++) {
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!strcmp(argv[i], "-o") && v) {
                        out = argv[++i];
                } else if (!strcmp(argv[i], "--tag") && v) {
                        tag = argv[++i];
                } else if (!strcmp(argv[i], "--config") && v) {
                        from = argv[++i];
                } else if (!strcmp(argv[i], "--mtime") && v) {
                        o.mtime = strtoll(argv[++i], NULL, 10);
                        o.set_mtime = true;
                } else if (argv[i][0] == '-') {
                        usage_die("unknown option or missing value '%s'", argv[i]);
                } else if (!list) {
                        list = argv[i];
                } else {
                        usage_die("one layer list only (L1:L2:..., top first)");
                }
        }
        if (!out || !list) {
                usage_die("usage: ovl image pack -o IMAGE.tar [--tag NAME] [--config FILE] "
                          "[--mtime EPOCH] L1:L2:...");
        }
        char **layers = NULL;
        int n = 0;
        split_layers(list, &layers, &n);
        char *tmpdir = xasprintf("%s.tmp-%d", out, (int)getpid());
        if (mkdir(tmpdir, 0700) < 0) {
                die("%s: %s", tmpdir, strerror(errno));
        }
        struct packed *v = xmalloc((size_t)n * sizeof(*v));
        for (int i = 0; i < n; i++) { /* v[0] is the bottom layer */
                v[i].tar = xasprintf("%s/%d.tar", tmpdir, i);
                FILE *f = fopen(v[i].tar, "we");
                if (!f) {
                        die("%s: %s", v[i].tar, strerror(errno));
                }
                export_layer(layers[n - 1 - i], f, &o);
                if (fclose(f) != 0 || sha256_file(v[i].tar, v[i].diffid) < 0) {
                        die("%s: %s", v[i].tar, strerror(errno));
                }
                char *seed = xasprintf("%s sha256:%s", i ? v[i - 1].id : "", v[i].diffid);
                sha256_str(seed, v[i].id);
                free(seed);
        }
        char created[32];
        time_t mt = (time_t)o.mtime;
        strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", gmtime(&mt));
        json_t *config = make_config(from, v, n, created);
        char *cfg = dump(config), cfg_id[65];
        sha256_str(cfg, cfg_id);

        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        char *tmpout = xasprintf("%s/image.tar", tmpdir);
        if (archive_write_open_filename(a, tmpout) != ARCHIVE_OK) {
                die("%s: %s", tmpout, archive_error_string(a));
        }
        char *name = xasprintf("%s.json", cfg_id);
        add_mem(a, name, cfg, o.mtime);
        free(name);
        json_t *mlayers = json_array();
        for (int i = 0; i < n; i++) {
                name = xasprintf("%s/", v[i].id);
                add_entry(a, name, S_IFDIR | 0755, o.mtime, 0, NULL);
                free(name);
                name = xasprintf("%s/layer.tar", v[i].id);
                add_file(a, name, v[i].tar, o.mtime);
                json_array_append_new(mlayers, json_string(name));
                free(name);
                json_t *lj = i ? json_pack("{s:s, s:s, s:s}", "id", v[i].id, "parent", v[i - 1].id,
                                           "created", created)
                               : json_pack("{s:s, s:s}", "id", v[i].id, "created", created);
                char *ljs = dump(lj);
                name = xasprintf("%s/json", v[i].id);
                add_mem(a, name, ljs, o.mtime);
                free(name);
                name = xasprintf("%s/VERSION", v[i].id);
                add_mem(a, name, "1.0", o.mtime);
                free(name);
                free(ljs);
                json_decref(lj);
        }
        char *ft = tag ? full_tag(tag) : NULL;
        json_t *manifest = json_pack("[{s:s+, s:o, s:o}]", "Config", cfg_id, ".json", "RepoTags",
                                     ft ? json_pack("[s]", ft) : json_null(), "Layers", mlayers);
        char *ms = dump(manifest);
        add_mem(a, "manifest.json", ms, o.mtime);
        if (ft) {
                char *colon = strrchr(ft, ':');
                *colon = '\0';
                json_t *repos = json_pack("{s:{s:s}}", ft, colon + 1, v[n - 1].id);
                char *rs = dump(repos);
                add_mem(a, "repositories", rs, o.mtime);
                free(rs);
                json_decref(repos);
        }
        if (archive_write_close(a) != ARCHIVE_OK) {
                die("%s: %s", tmpout, archive_error_string(a));
        }
        archive_write_free(a);
        if (rename(tmpout, out) < 0) {
                die("%s: %s", out, strerror(errno));
        }
        remove_tree(tmpdir);
        printf("sha256:%s\n", cfg_id);
        for (int i = 0; i < n; i++) {
                free(v[i].tar);
        }
        free(v);
        free(ft);
        free(ms);
        free(cfg);
        free(tmpout);
        free(tmpdir);
        json_decref(manifest);
        json_decref(config);
        free_names(layers, n);
        return 0;
}
