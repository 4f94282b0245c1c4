/* ovl image unpack: a saved image as layer directories plus an OVL_CONF.
 *
 * Inputs: a docker-archive (manifest.json; or only the legacy `<id>/json`
 * files, whose `parent` chains the layers, as SEEDs point 4 describes), an
 * OCI archive, or an OCI layout directory. An archive is first extracted to
 * DIR/.unpack (removed at the end); each layer is then imported (ovl_tar.c)
 * into DIR/layers/N, N = 1 for the bottom one, and its digest checked.
 * DIR/ovl.conf stacks them, top first, with a fresh upper and work dir, so
 * host programs run under ovlrun see the image's files at DIR/merged. */
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
#include <unistd.h>

struct layer_src {
        char *file;            /* the layer tar (any compression) */
        char *digest;          /* expected "sha256:..." of the file, or NULL */
        bool digest_is_diffid; /* docker: compare only when uncompressed */
};

struct image {
        const char *root; /* where the image's files are */
        const char *kind;
        json_t *config;           /* the image config (owned) */
        json_t *tags;             /* array of names */
        struct layer_src *layers; /* bottom first */
        int n;
};

static json_t *load_json(const char *root, const char *rel)
{
        char *p = xasprintf("%s/%s", root, rel);
        char *real = realpath(p, NULL);
        char *r = realpath(root, NULL);
        if (!real || !r || ovl_path_under(real, r, strlen(r)) < 0) {
                die("%s: missing or outside the image", rel);
        }
        json_error_t err;
        json_t *j = json_load_file(real, 0, &err);
        if (!j) {
                die("%s: %s (line %d)", rel, err.text, err.line);
        }
        free(p);
        free(real);
        free(r);
        return j;
}

/* A member path of the image, checked to stay inside it. */
static char *member(const char *root, const char *rel)
{
        char *p = xasprintf("%s/%s", root, rel);
        char *real = realpath(p, NULL), *r = realpath(root, NULL);
        if (!real || !r || ovl_path_under(real, r, strlen(r)) < 0) {
                die("%s: missing or outside the image", rel);
        }
        free(p);
        free(r);
        return real;
}

static void add_layer(struct image *im, char *file, const char *digest, bool diffid)
{
        im->layers = xrealloc(im->layers, (size_t)(im->n + 1) * sizeof(*im->layers));
        im->layers[im->n++] = (struct layer_src){file, digest ? xstrdup(digest) : NULL, diffid};
}

static const char *jstr(json_t *o, const char *key)
{
        return json_string_value(json_object_get(o, key));
}

static void read_docker(struct image *im)
{
        json_t *man = load_json(im->root, "manifest.json");
        json_t *first = json_array_get(man, 0);
        json_t *layers = json_object_get(first, "Layers");
        const char *cfg = jstr(first, "Config");
        if (!json_is_array(layers) || !cfg) {
                die("manifest.json: no Config or Layers");
        }
        if (json_array_size(man) > 1) {
                warn("manifest.json holds %zu images: unpacking the first", json_array_size(man));
        }
        im->config = load_json(im->root, cfg);
        im->tags = json_incref(json_object_get(first, "RepoTags"));
        json_t *diff_ids = json_object_get(json_object_get(im->config, "rootfs"), "diff_ids");
        size_t i;
        json_t *l;
        json_array_foreach(layers, i, l)
        {
                const char *d = json_string_value(json_array_get(diff_ids, i));
                add_layer(im, member(im->root, json_string_value(l)), d, true);
        }
        json_decref(man);
}

/* No manifest.json: the legacy layout, `<id>/json` naming its `parent`. */
static void read_legacy(struct image *im)
{
        char **names;
        int n = list_names(AT_FDCWD, im->root, &names);
        char *top = NULL;
        char *rp = xasprintf("%s/repositories", im->root);
        json_t *repos = json_load_file(rp, 0, NULL);
        free(rp);
        const char *repo;
        json_t *tags;
        json_object_foreach(repos, repo, tags)
        {
                const char *tag;
                json_t *id;
                json_object_foreach(tags, tag, id)
                {
                        if (!top) {
                                top = xstrdup(json_string_value(id));
                                im->tags = json_pack("[s++]", repo, ":", tag);
                        }
                }
        }
        json_decref(repos);
        if (!top) { /* the one layer nobody names as parent */
                for (int i = 0; i < n && !top; i++) {
                        bool parent = false;
                        for (int k = 0; k < n && !parent; k++) {
                                char *p = xasprintf("%s/%s/json", im->root, names[k]);
                                json_t *j = json_load_file(p, 0, NULL);
                                parent =
                                    j && jstr(j, "parent") && !strcmp(jstr(j, "parent"), names[i]);
                                json_decref(j);
                                free(p);
                        }
                        char *p = xasprintf("%s/%s/json", im->root, names[i]);
                        if (!parent && access(p, F_OK) == 0) {
                                top = xstrdup(names[i]);
                        }
                        free(p);
                }
        }
        free_names(names, n);
        if (!top) {
                die("%s: no manifest.json, index.json or layer json: not an image", im->root);
        }
        struct image rev = {0};
        for (char *id = top; id;) { /* top to bottom, by parent */
                char *rel = xasprintf("%s/json", id);
                json_t *j = load_json(im->root, rel);
                free(rel);
                rel = xasprintf("%s/layer.tar", id);
                add_layer(&rev, member(im->root, rel), NULL, false);
                free(rel);
                if (!im->config) {
                        im->config = json_incref(j); /* the top json holds the config */
                }
                free(id);
                id = jstr(j, "parent") ? xstrdup(jstr(j, "parent")) : NULL;
                json_decref(j);
                if (rev.n > OVL_MAX_LOWER) {
                        die("the parent chain is longer than %d layers (a loop?)", OVL_MAX_LOWER);
                }
        }
        for (int i = rev.n - 1; i >= 0; i--) {
                add_layer(im, rev.layers[i].file, NULL, false);
        }
        free(rev.layers);
}

static char *blob_path(const char *root, const char *digest)
{
        if (!digest || strncmp(digest, "sha256:", 7) || strlen(digest) != 71 ||
            strspn(digest + 7, "0123456789abcdef") != 64) {
                die("unsupported or malformed digest '%s'", digest ? digest : "(none)");
        }
        char *rel = xasprintf("blobs/sha256/%s", digest + 7);
        char *p = member(root, rel);
        free(rel);
        return p;
}

/* The manifest for this machine out of an index (or the only one). */
static json_t *pick_manifest(const char *root, json_t *index)
{
        struct utsname u;
        uname(&u);
        const char *arch = !strcmp(u.machine, "x86_64")    ? "amd64"
                           : !strcmp(u.machine, "aarch64") ? "arm64"
                                                           : u.machine;
        json_t *ms = json_object_get(index, "manifests"), *pick = NULL, *m;
        size_t i;
        json_array_foreach(ms, i, m)
        {
                const char *a = jstr(json_object_get(m, "platform"), "architecture");
                if (!pick || (a && !strcmp(a, arch))) {
                        pick = m;
                }
        }
        if (!pick) {
                die("index.json: no manifests");
        }
        char *rel = blob_path(root, jstr(pick, "digest"));
        json_error_t err;
        json_t *j = json_load_file(rel, 0, &err);
        if (!j) {
                die("%s: %s", rel, err.text);
        }
        free(rel);
        if (json_object_get(j, "manifests")) { /* a nested index */
                json_t *inner = pick_manifest(root, j);
                json_decref(j);
                return inner;
        }
        return j;
}

static void read_oci(struct image *im)
{
        json_t *index = load_json(im->root, "index.json");
        json_t *man = pick_manifest(im->root, index);
        json_t *m0 = json_array_get(json_object_get(index, "manifests"), 0);
        const char *ref =
            jstr(json_object_get(m0, "annotations"), "org.opencontainers.image.ref.name");
        im->tags = ref ? json_pack("[s]", ref) : NULL;
        char *cfg = blob_path(im->root, jstr(json_object_get(man, "config"), "digest"));
        json_error_t err;
        im->config = json_load_file(cfg, 0, &err);
        if (!im->config) {
                die("image config: %s", err.text);
        }
        free(cfg);
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(man, "layers"), i, l)
        {
                add_layer(im, blob_path(im->root, jstr(l, "digest")), jstr(l, "digest"), false);
        }
        json_decref(man);
        json_decref(index);
}

/* --- reading a layer while hashing it ----------------------------------------- */

struct hashed {
        int fd;
        EVP_MD_CTX *md;
        char buf[65536];
};

static la_ssize_t hashed_read(struct archive *a, void *data, const void **out)
{
        struct hashed *h = data;
        ssize_t got = read(h->fd, h->buf, sizeof(h->buf));
        if (got < 0) {
                archive_set_error(a, errno, "read: %s", strerror(errno));
                return -1;
        }
        EVP_DigestUpdate(h->md, h->buf, (size_t)got);
        *out = h->buf;
        return got;
}

static void unpack_layer(const struct layer_src *src, const char *dir, struct import_report *rep)
{
        struct hashed h = {.fd = open(src->file, O_RDONLY | O_CLOEXEC), .md = EVP_MD_CTX_new()};
        if (h.fd < 0) {
                die("%s: %s", src->file, strerror(errno));
        }
        EVP_DigestInit_ex(h.md, EVP_sha256(), NULL);
        struct archive *in = archive_read_new();
        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        if (archive_read_open(in, &h, NULL, hashed_read, NULL) != ARCHIVE_OK) {
                die("%s: %s", src->file, archive_error_string(in));
        }
        prepare_out_dir(dir);
        import_archive(in, src->file, dir, rep);
        bool compressed = archive_filter_count(in) > 1;
        archive_read_free(in);
        ssize_t got; /* the padding after the tar's end counts too */
        while ((got = read(h.fd, h.buf, sizeof(h.buf))) > 0) {
                EVP_DigestUpdate(h.md, h.buf, (size_t)got);
        }
        close(h.fd);
        unsigned char md[32];
        char hex[65];
        EVP_DigestFinal_ex(h.md, md, NULL);
        EVP_MD_CTX_free(h.md);
        sha256_hex(md, hex);
        if (src->digest && (!src->digest_is_diffid || !compressed) &&
            strcmp(src->digest + 7, hex)) {
                die("%s: digest sha256:%s, but the image says %s", src->file, hex, src->digest);
        }
}

/* --- the command ------------------------------------------------------------- */

static void extract_all(const char *file, const char *dest)
{
        struct archive *in = archive_read_new(), *out = archive_write_disk_new();
        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        archive_write_disk_set_options(out, ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
        if (archive_read_open_filename(in, file, 65536) != ARCHIVE_OK) {
                die("%s: %s", file, archive_error_string(in));
        }
        int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0 || chdir(dest) < 0) {
                die("%s: %s", dest, strerror(errno));
        }
        struct archive_entry *e;
        int r;
        while ((r = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
                archive_entry_set_perm(e, S_ISDIR(archive_entry_mode(e)) ? 0700 : 0600);
                if (archive_write_header(out, e) < ARCHIVE_WARN) {
                        die("%s: %s", archive_entry_pathname(e), archive_error_string(out));
                }
                const void *buf;
                size_t len;
                int64_t off;
                while ((r = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
                        if (archive_write_data_block(out, buf, len, off) < ARCHIVE_WARN) {
                                die("%s: %s", archive_entry_pathname(e), archive_error_string(out));
                        }
                }
                if (r != ARCHIVE_EOF || archive_write_finish_entry(out) < ARCHIVE_WARN) {
                        die("%s: %s", file, archive_error_string(r != ARCHIVE_EOF ? in : out));
                }
        }
        if (r != ARCHIVE_EOF) {
                die("%s: %s", file, archive_error_string(in));
        }
        if (archive_write_close(out) != ARCHIVE_OK) {
                die("%s: %s", dest, archive_error_string(out));
        }
        archive_read_free(in);
        archive_write_free(out);
        if (fchdir(cwd) < 0) {
                die("cannot return to the working directory");
        }
        close(cwd);
}

static int image_unpack(int argc, char **argv)
{
        if (argc != 2) {
                usage_die("usage: ovl image unpack IMAGE DIR");
        }
        const char *src = argv[0], *dir = argv[1];
        struct stat st;
        if (stat(src, &st) < 0) {
                die("%s: %s", src, strerror(errno));
        }
        prepare_out_dir(dir);
        char *staging = NULL;
        struct image im = {.root = src};
        if (!S_ISDIR(st.st_mode)) {
                staging = xasprintf("%s/.unpack", dir);
                mkdir_p(staging, 0700);
                extract_all(src, staging);
                im.root = staging;
        }
        char *p = xasprintf("%s/manifest.json", im.root), *q = xasprintf("%s/index.json", im.root);
        if (access(p, F_OK) == 0) {
                im.kind = "docker-archive";
                read_docker(&im);
        } else if (access(q, F_OK) == 0) {
                im.kind = S_ISDIR(st.st_mode) ? "oci-layout" : "oci-archive";
                read_oci(&im);
        } else {
                im.kind = "docker-archive (legacy)";
                read_legacy(&im);
        }
        free(p);
        free(q);
        struct import_report rep = {0};
        struct sbuf lower = {0};
        sb_puts(&lower, "");
        for (int i = 0; i < im.n; i++) {
                char *ld = xasprintf("%s/layers/%d", dir, i + 1);
                unpack_layer(&im.layers[i], ld, &rep);
                sb_printf(&lower, "%slayers/%d", i ? ":" : "", im.n - i);
                free(ld);
        }
        if (staging) {
                remove_tree(staging);
        }
        for (const char *const *d = (const char *const[]){"upper", "work", "merged", NULL}; *d;
             d++) {
                char *sub = xasprintf("%s/%s", dir, *d);
                mkdir_p(sub, 0755);
                free(sub);
        }
        char *conf = xasprintf("%s/ovl.conf", dir);
        FILE *f = fopen(conf, "we");
        if (!f) {
                die("%s: %s", conf, strerror(errno));
        }
        fprintf(f,
                "# %s, unpacked by ovl image unpack; paths are relative to this file.\n"
                "# The image's files: ovlrun -c %s -- ls %s/merged\n"
                "merged lowerdir=%s,upperdir=upper,workdir=work\n",
                im.kind, conf, dir, lower.p);
        if (fclose(f) != 0) {
                die("%s: %s", conf, strerror(errno));
        }
        char *cfgp = xasprintf("%s/config.json", dir);
        json_dump_file(im.config, cfgp, JSON_INDENT(2) | JSON_SORT_KEYS);
        fprintf(stderr, "%s: %s, %d layers -> %s\n", ovl_prog, im.kind, im.n, conf);
        import_report_print(&rep, dir);
        free(cfgp);
        free(conf);
        free(lower.p);
        return 0;
}

int cmd_image(int argc, char **argv)
{
        if (argc >= 1 && !strcmp(argv[0], "unpack")) {
                ovl_prog = "ovl image unpack";
                return image_unpack(argc - 1, argv + 1);
        }
        if (argc >= 1 && !strcmp(argv[0], "pack")) {
                ovl_prog = "ovl image pack";
                return image_pack(argc - 1, argv + 1);
        }
        usage_die("usage: ovl image (unpack IMAGE DIR | pack -o IMAGE.tar [--tag NAME] L1:L2:...)");
}
