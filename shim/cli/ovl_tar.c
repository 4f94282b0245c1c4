/* ovl export / ovl import: a layer directory as an OCI image-spec layer tar
 * and back (SEMANTICS.md section 2, "Convert to OCI" / "Convert from OCI").
 *
 * Export: kernel (and xattr) whiteouts become `.wh.NAME`; an opaque
 * directory gets `DIR/.wh..wh..opq` as its first entry; overlay-private
 * xattrs are dropped; hard links become tar links, except whiteouts (the
 * kernel's share one inode, rule 13), which are never written as objects;
 * names are sorted, owners and mtimes may be fixed, so equal trees give equal
 * tars. Import: the reverse, into chardev whiteouts and user.overlay.opaque
 * (falling back to the OCI markers where the file system refuses them). */
#include "ovl.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <uthash.h>

#include "markers.h"

/* --- export ------------------------------------------------------------------- */

struct seen {
        struct {
                dev_t dev;
                ino_t ino;
        } key;
        char *path;
        UT_hash_handle hh;
};

struct exporter {
        struct archive *a;
        int lfd;
        const struct export_opts *o;
        struct seen *links;
};

struct item {
        char *out; /* name in the tar */
        char *src; /* name in the layer */
        int kind;
};

static int cmp_item(const void *a, const void *b)
{
        return strcmp(((const struct item *)a)->out, ((const struct item *)b)->out);
}

static void add_xattrs(struct exporter *e, const char *rel, struct archive_entry *ent)
{
        char *p = xasprintf("/proc/self/fd/%d/%s", e->lfd, *rel ? rel : ".");
        ssize_t n = llistxattr(p, NULL, 0);
        char *list = n > 0 ? xmalloc((size_t)n) : NULL;
        n = n > 0 ? llistxattr(p, list, (size_t)n) : 0;
        for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1) {
                if (ovl_xattr_private(list + i)) {
                        continue;
                }
                ssize_t vn = lgetxattr(p, list + i, NULL, 0);
                char *v = xmalloc(vn > 0 ? (size_t)vn : 1);
                vn = vn > 0 ? lgetxattr(p, list + i, v, (size_t)vn) : vn;
                if (vn >= 0) {
                        archive_entry_xattr_add_entry(ent, list + i, v, (size_t)vn);
                }
                free(v);
        }
        free(list);
        free(p);
}

static void set_meta(struct exporter *e, struct archive_entry *ent, const struct stat *st)
{
        archive_entry_set_uid(ent, e->o->set_owner ? e->o->uid : st->st_uid);
        archive_entry_set_gid(ent, e->o->set_owner ? e->o->gid : st->st_gid);
        if (e->o->set_mtime) {
                archive_entry_set_mtime(ent, (time_t)e->o->mtime, 0);
        } else {
                archive_entry_set_mtime(ent, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
        }
}

static void write_entry(struct exporter *e, struct archive_entry *ent, const char *what)
{
        if (archive_write_header(e->a, ent) < ARCHIVE_WARN) {
                die("%s: %s", what, archive_error_string(e->a));
        }
}

/* An empty regular file: a whiteout or the opaque marker. */
static void write_marker(struct exporter *e, const char *name, const struct stat *st, mode_t perm)
{
        struct archive_entry *ent = archive_entry_new();
        archive_entry_set_pathname(ent, name);
        archive_entry_set_filetype(ent, AE_IFREG);
        archive_entry_set_perm(ent, perm);
        archive_entry_set_size(ent, 0);
        set_meta(e, ent, st);
        write_entry(e, ent, name);
        archive_entry_free(ent);
}

static void write_data(struct exporter *e, const char *rel)
{
        int fd = openat(e->lfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                die("%s: %s", rel, strerror(errno));
        }
        char buf[65536];
        ssize_t got;
        while ((got = read(fd, buf, sizeof(buf))) > 0) {
                if (archive_write_data(e->a, buf, (size_t)got) < 0) {
                        die("%s: %s", rel, archive_error_string(e->a));
                }
        }
        if (got < 0) {
                die("%s: %s", rel, strerror(errno));
        }
        close(fd);
}

static void export_dir(struct exporter *e, const char *rel);

static void export_object(struct exporter *e, const char *rel, const struct stat *st)
{
        if (S_ISSOCK(st->st_mode)) {
                warn("%s: a socket has no tar form; left out", rel);
                return;
        }
        struct archive_entry *ent = archive_entry_new();
        char *name = S_ISDIR(st->st_mode) ? xasprintf("%s/", rel) : xstrdup(rel);
        archive_entry_set_pathname(ent, name);
        archive_entry_set_mode(ent, st->st_mode);
        set_meta(e, ent, st);
        struct seen *s = NULL;
        if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
                struct seen k = {.key = {st->st_dev, st->st_ino}};
                HASH_FIND(hh, e->links, &k.key, sizeof(k.key), s);
                if (s) {
                        archive_entry_set_hardlink(ent, s->path);
                        archive_entry_set_size(ent, 0);
                } else {
                        s = xmalloc(sizeof(*s));
                        *s = (struct seen){.key = {st->st_dev, st->st_ino}, .path = xstrdup(rel)};
                        HASH_ADD(hh, e->links, key, sizeof(s->key), s);
                        s = NULL;
                }
        }
        if (!s) {
                if (S_ISREG(st->st_mode)) {
                        archive_entry_set_size(ent, st->st_size);
                } else if (S_ISLNK(st->st_mode)) {
                        char t[PATH_MAX + 1];
                        ssize_t n = readlinkat(e->lfd, rel, t, PATH_MAX);
                        if (n < 0) {
                                die("%s: %s", rel, strerror(errno));
                        }
                        t[n] = '\0';
                        archive_entry_set_symlink(ent, t);
                } else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
                        archive_entry_set_rdev(ent, st->st_rdev);
                }
                add_xattrs(e, rel, ent);
        }
        write_entry(e, ent, rel);
        if (!s && S_ISREG(st->st_mode)) {
                write_data(e, rel);
        }
        archive_entry_free(ent);
        free(name);
        if (S_ISDIR(st->st_mode)) {
                export_dir(e, rel);
        }
}

static void export_dir(struct exporter *e, const char *rel)
{
        char **names;
        int n = list_names(e->lfd, rel, &names);
        if (n < 0) {
                die("%s: %s", *rel ? rel : ".", strerror(-n));
        }
        bool opaque = *rel && raw_opaque(e->lfd, rel);
        if (opaque) { /* before its siblings (OCI), as moby writes it */
                struct stat st;
                fstatat(e->lfd, rel, &st, AT_SYMLINK_NOFOLLOW);
                char *m = path_join(rel, ".wh..wh..opq");
                write_marker(e, m, &st, st.st_mode & 0777);
                free(m);
        }
        struct item *v = xmalloc((size_t)n * sizeof(*v));
        int nv = 0;
        for (int i = 0; i < n; i++) {
                struct stat st;
                const char *target;
                int k = raw_classify(e->lfd, rel, names[i], &st, &target);
                if (k < 0) {
                        die("%s/%s: %s", rel, names[i], strerror(-k));
                }
                if (k == RAW_AUFS_META) {
                        warn("%s/%s: AUFS/fuse-overlayfs bookkeeping left out", rel, names[i]);
                }
                if (k == RAW_DATA || (k == RAW_WHITEOUT && !opaque)) {
                        char *o = k == RAW_DATA ? xstrdup(names[i]) : xasprintf(".wh.%s", target);
                        v[nv++] = (struct item){path_join(rel, o), path_join(rel, names[i]), k};
                        free(o);
                }
        }
        if (nv) {
                qsort(v, (size_t)nv, sizeof(*v), cmp_item);
        }
        for (int i = 0; i < nv; i++) {
                bool dup = i > 0 && !strcmp(v[i].out, v[i - 1].out); /* chardev and .wh. */
                struct stat st;
                fstatat(e->lfd, v[i].src, &st, AT_SYMLINK_NOFOLLOW);
                if (dup) {
                } else if (v[i].kind == RAW_WHITEOUT) {
                        write_marker(e, v[i].out, &st, 0600);
                } else {
                        export_object(e, v[i].src, &st);
                }
        }
        for (int i = 0; i < nv; i++) {
                free(v[i].out);
                free(v[i].src);
        }
        free(v);
        free_names(names, n);
}

int export_layer(const char *layerdir, FILE *out, const struct export_opts *o)
{
        struct ovl_layer l;
        layer_init(&l, layerdir);
        struct exporter e = {.a = archive_write_new(), .lfd = layer_fd(&l), .o = o};
        archive_write_set_format_pax_restricted(e.a);
        archive_write_set_bytes_in_last_block(e.a, 1);
        if (archive_write_open_FILE(e.a, out) != ARCHIVE_OK) {
                die("%s", archive_error_string(e.a));
        }
        export_dir(&e, "");
        if (archive_write_close(e.a) != ARCHIVE_OK) {
                die("%s", archive_error_string(e.a));
        }
        archive_write_free(e.a);
        struct seen *s, *tmp;
        HASH_ITER(hh, e.links, s, tmp)
        {
                HASH_DEL(e.links, s);
                free(s->path);
                free(s);
        }
        close(e.lfd);
        free(l.path);
        return 0;
}

int cmd_export(int argc, char **argv)
{
        struct export_opts o = {0};
        const char *file = NULL, *dir = NULL;
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!strcmp(a, "-o") && v) {
                        file = v;
                        i++;
                } else if (!strcmp(a, "--owner") && v) {
                        if (sscanf(v, "%lu:%lu", &o.uid, &o.gid) != 2) {
                                usage_die("--owner takes UID:GID (numbers)");
                        }
                        o.set_owner = true;
                        i++;
                } else if (!strcmp(a, "--mtime") && v) {
                        char *end;
                        o.mtime = strtoll(v, &end, 10);
                        if (*end || !*v) {
                                usage_die("--mtime takes seconds since the epoch");
                        }
                        o.set_mtime = true;
                        i++;
                } else if (a[0] == '-' && a[1]) {
                        usage_die("unknown option or missing value '%s'", a);
                } else if (!dir) {
                        dir = a;
                } else {
                        usage_die("one LAYERDIR only");
                }
        }
        if (!dir) {
                usage_die("missing LAYERDIR");
        }
        if (!file && isatty(STDOUT_FILENO)) {
                die("refusing to write a tar to a terminal (use -o FILE)");
        }
        char *tmp = file ? xasprintf("%s.tmp-%d", file, (int)getpid()) : NULL;
        FILE *out = file ? fopen(tmp, "we") : stdout;
        if (!out) {
                die("%s: %s", tmp, strerror(errno));
        }
        export_layer(dir, out, &o);
        if (fflush(out) != 0 || (file && (fclose(out) != 0 || rename(tmp, file) < 0))) {
                die("writing %s: %s", file ? file : "stdout", strerror(errno));
        }
        free(tmp);
        return 0;
}

/* --- import ------------------------------------------------------------------- */

struct importer {
        struct archive *w;
        int root_fd; /* the layer, also the cwd while extracting */
        bool root, oci_whiteouts;
        struct import_report *rep;
        char **opaque; /* dirs marked by `.wh..wh..opq` */
        int nopaque;
        char **wh; /* whiteouts made */
        int nwh;
};

static void push(char ***v, int *n, const char *s)
{
        *v = xrealloc(*v, (size_t)(*n + 1) * sizeof(**v));
        (*v)[(*n)++] = xstrdup(s);
}

/* Drop the overlay-private xattrs, and file capabilities where they cannot
 * be set. */
static void filter_xattrs(struct importer *im, struct archive_entry *ent)
{
        struct kv {
                char *name;
                void *val;
                size_t n;
        } *keep = NULL;
        int nk = 0;
        const char *name;
        const void *val;
        size_t n;
        archive_entry_xattr_reset(ent);
        while (archive_entry_xattr_next(ent, &name, &val, &n) == ARCHIVE_OK) {
                if (ovl_xattr_private(name)) {
                        continue;
                }
                if (!im->root && !strcmp(name, "security.capability")) {
                        im->rep->caps++;
                        continue;
                }
                if (!im->root && !strncmp(name, "trusted.", 8)) {
                        im->rep->xattrs++;
                        continue;
                }
                keep = xrealloc(keep, (size_t)(nk + 1) * sizeof(*keep));
                keep[nk].name = xstrdup(name);
                keep[nk].val = xmalloc(n);
                memcpy(keep[nk].val, val, n);
                keep[nk++].n = n;
        }
        archive_entry_xattr_clear(ent);
        for (int i = 0; i < nk; i++) {
                archive_entry_xattr_add_entry(ent, keep[i].name, keep[i].val, keep[i].n);
                free(keep[i].name);
                free(keep[i].val);
        }
        free(keep);
}

static int put(struct importer *im, struct archive *in, struct archive_entry *ent)
{
        int r = archive_write_header(im->w, ent);
        if (r < ARCHIVE_WARN) {
                return r;
        }
        if (r == ARCHIVE_WARN) {
                warn("%s: %s", archive_entry_pathname(ent), archive_error_string(im->w));
        }
        const void *buf;
        size_t len;
        int64_t off;
        int rr;
        while ((rr = archive_read_data_block(in, &buf, &len, &off)) == ARCHIVE_OK) {
                if (archive_write_data_block(im->w, buf, len, off) < ARCHIVE_WARN) {
                        die("%s: %s", archive_entry_pathname(ent), archive_error_string(im->w));
                }
        }
        if (rr != ARCHIVE_EOF) {
                die("%s: %s", archive_entry_pathname(ent), archive_error_string(in));
        }
        return archive_write_finish_entry(im->w);
}

/* `.wh.NAME`: a chardev 0/0 at NAME, or the OCI file kept where the file
 * system refuses whiteout devices. */
static void put_whiteout(struct importer *im, struct archive *in, struct archive_entry *ent,
                         const char *path)
{
        if (!im->oci_whiteouts) {
                struct archive_entry *w = archive_entry_clone(ent);
                archive_entry_set_pathname(w, path);
                archive_entry_set_filetype(w, AE_IFCHR);
                archive_entry_set_perm(w, 0);
                archive_entry_set_rdev(w, 0);
                archive_entry_set_size(w, 0);
                archive_entry_set_uid(w, geteuid());
                archive_entry_set_gid(w, getegid());
                archive_entry_xattr_clear(w);
                int r = put(im, in, w);
                archive_entry_free(w);
                if (r >= ARCHIVE_WARN) {
                        push(&im->wh, &im->nwh, path);
                        return;
                }
                warn("whiteout devices refused here (%s): writing .wh. files",
                     archive_error_string(im->w));
                im->oci_whiteouts = true;
        }
        if (put(im, in, ent) < ARCHIVE_WARN) {
                die("%s: %s", archive_entry_pathname(ent), archive_error_string(im->w));
        }
}

static void import_entry(struct importer *im, struct archive *in, struct archive_entry *ent)
{
        char *path = xstrdup(archive_entry_pathname(ent));
        size_t len = strlen(path);
        while (len > 1 && path[len - 1] == '/') {
                path[--len] = '\0';
        }
        char *slash = strrchr(path, '/');
        const char *base = slash ? slash + 1 : path;
        char *parent = slash ? strndup(path, (size_t)(slash - path)) : xstrdup(".");
        if (!strcmp(base, ".wh..wh..opq")) {
                mkdir_p(parent, 0755);
                push(&im->opaque, &im->nopaque, parent);
        } else if (!strncmp(base, ".wh..wh.", 8)) {
                warn("%s: AUFS bookkeeping left out", path);
        } else if (!strncmp(base, ".wh.", 4) && base[4]) {
                char *target = slash ? xasprintf("%s/%s", parent, base + 4) : xstrdup(base + 4);
                put_whiteout(im, in, ent, target);
                free(target);
        } else {
                mode_t t = archive_entry_filetype(ent);
                bool dev = t == AE_IFCHR || t == AE_IFBLK;
                if (!im->root &&
                    (archive_entry_uid(ent) != geteuid() || archive_entry_gid(ent) != getegid())) {
                        im->rep->owners++;
                }
                filter_xattrs(im, ent);
                if (dev && !im->root) {
                        im->rep->devices++;
                        warn("%s: device node not made (needs privilege)", path);
                } else if (t == AE_IFSOCK) {
                        im->rep->sockets++;
                } else if (put(im, in, ent) < ARCHIVE_WARN) {
                        die("%s: %s", path, archive_error_string(im->w));
                }
        }
        free(parent);
        free(path);
}

/* Opaque dirs: the marker, and no whiteouts inside (SEMANTICS.md rule 21). */
static void finish_opaque(struct importer *im)
{
        for (int i = 0; i < im->nopaque; i++) {
                size_t dl = strlen(im->opaque[i]);
                for (int k = 0; k < im->nwh; k++) {
                        const char *w = im->wh[k];
                        bool inside = !strcmp(im->opaque[i], ".")
                                          ? !strchr(w, '/')
                                          : !strncmp(w, im->opaque[i], dl) && w[dl] == '/' &&
                                                !strchr(w + dl + 1, '/');
                        if (inside) {
                                unlink(w);
                        }
                }
                if (!strcmp(im->opaque[i], ".")) {
                        warn("an opaque marker at the layer root has no meaning; ignored");
                } else if (write_opaque(im->root_fd, im->opaque[i]) < 0) {
                        die("%s: cannot mark opaque: %s", im->opaque[i], strerror(errno));
                }
        }
}

int import_archive(struct archive *in, const char *label, const char *layerdir,
                   struct import_report *rep)
{
        int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cwd < 0 || chdir(layerdir) < 0) {
                die("%s: %s", layerdir, strerror(errno));
        }
        struct importer im = {.w = archive_write_disk_new(), .root = geteuid() == 0, .rep = rep};
        im.root_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (im.root_fd < 0) {
                die("%s: %s", layerdir, strerror(errno));
        }
        int flags = ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
                    ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                    ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;
        if (im.root) {
                flags |= ARCHIVE_EXTRACT_OWNER;
        }
        archive_write_disk_set_options(im.w, flags);
        archive_write_disk_set_standard_lookup(im.w);
        struct archive_entry *ent;
        int r;
        while ((r = archive_read_next_header(in, &ent)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
                import_entry(&im, in, ent);
        }
        if (r != ARCHIVE_EOF) {
                die("%s: %s", label, archive_error_string(in));
        }
        finish_opaque(&im);
        if (archive_write_close(im.w) != ARCHIVE_OK) {
                die("%s: %s", layerdir, archive_error_string(im.w));
        }
        archive_write_free(im.w);
        free_names(im.opaque, im.nopaque);
        free_names(im.wh, im.nwh);
        close(im.root_fd);
        if (fchdir(cwd) < 0) {
                die("cannot return to the working directory: %s", strerror(errno));
        }
        close(cwd);
        return 0;
}

void import_report_print(const struct import_report *rep, const char *what)
{
        if (rep->owners) {
                warn("%s: %lu entries owned by another user or group now belong to you "
                     "(owners need root)",
                     what, rep->owners);
        }
        if (rep->devices) {
                warn("%s: %lu device nodes not made (need root)", what, rep->devices);
        }
        if (rep->caps) {
                warn("%s: %lu file capabilities (security.capability) not set (need root)", what,
                     rep->caps);
        }
        if (rep->xattrs) {
                warn("%s: %lu trusted.* xattrs not set (need root)", what, rep->xattrs);
        }
        if (rep->sockets) {
                warn("%s: %lu sockets left out", what, rep->sockets);
        }
}

int cmd_import(int argc, char **argv)
{
        if (argc != 2) {
                usage_die("usage: ovl import FILE LAYERDIR");
        }
        struct archive *in = archive_read_new();
        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        int r = !strcmp(argv[0], "-") ? archive_read_open_fd(in, STDIN_FILENO, 65536)
                                      : archive_read_open_filename(in, argv[0], 65536);
        if (r != ARCHIVE_OK) {
                die("%s: %s", argv[0], archive_error_string(in));
        }
        prepare_out_dir(argv[1]);
        struct import_report rep = {0};
        import_archive(in, argv[0], argv[1], &rep);
        archive_read_free(in);
        import_report_print(&rep, argv[1]);
        return 0;
}
