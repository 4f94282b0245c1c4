/* ovl: layer tools on top of the core (diff, commit, squash, export, import,
 * image). Shared declarations of the shim/cli/ovl*.c files. The tool is not
 * preloaded: it reads layer directories directly, with the core's marker
 * helpers deciding what is a whiteout and what is opaque. */
#ifndef OVL_CLI_H
#define OVL_CLI_H

#include "ovlshim.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#define OVL_EXIT_USAGE 2
#define OVL_EXIT_FAIL 1

/* --- ovl_util.c: messages, memory, strings, directories ------------------------ */

extern const char *ovl_prog; /* "ovl diff" ..., for messages */

__attribute__((format(printf, 1, 2), noreturn)) void die(const char *fmt, ...);
__attribute__((format(printf, 1, 2), noreturn)) void usage_die(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void warn(const char *fmt, ...);

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...);

struct sbuf {
        char *p;
        size_t len, cap;
};
void sb_putn(struct sbuf *b, const void *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_putc(struct sbuf *b, char c);
__attribute__((format(printf, 2, 3))) void sb_printf(struct sbuf *b, const char *fmt, ...);

/* "dir/name", or just "name" when dir is "" */
char *path_join(const char *dir, const char *name);

/* The names in directory `fd`/`rel` ("." itself excluded), sorted bytewise.
 * Returns the count (names in *out, free with free_names) or -errno. */
int list_names(int fd, const char *rel, char ***out);
void free_names(char **names, int n);

/* A colon-separated layer list ("L1:L2", `\:` escapes a colon) as an array;
 * appended to *v (count *n). */
void split_layers(const char *list, char ***v, int *n);
/* A path escaped for a config line or a lowerdir list (\: \, \\ \040). */
char *escape_path(const char *p);

/* Remove everything inside directory `path` (not the directory itself),
 * making read-only directories writable on the way. 0 or -errno. */
int empty_dir(const char *path);
/* rm -rf `path`; 0 or -errno (ENOENT is success). */
int remove_tree(const char *path);
/* mkdir -p; 0 or -errno */
int mkdir_p(const char *path, mode_t mode);
/* The canonical path of p, or (p missing) its lexically clean absolute form. */
char *abs_path(const char *p);
/* Refuse to write a layer into something that is not a missing or empty
 * directory; creates it. */
void prepare_out_dir(const char *path);

/* SHA-256 in lower-case hex (libcrypto). */
void sha256_hex(const unsigned char md[32], char out[65]);
int sha256_file(const char *path, char out[65]);

/* Set up a struct ovl_layer for a directory (canonical path). */
void layer_init(struct ovl_layer *l, const char *path);
int layer_fd(struct ovl_layer *l);

/* --- ovl_tree.c: the layer stack ------------------------------------------------ */

/* One visible name in a directory of a stack of layers. */
struct ovl_node {
        char *name;
        struct stat st;    /* of the topmost object */
        int top;           /* index of the layer holding it */
        int nstack;        /* for directories: layers merging into it, top first */
        int *stack;        /* (indexes into the stack's layers) */
        bool opaque_upper; /* the top directory is opaque */
};

struct ovl_stack {
        struct ovl_layer *layers; /* top first */
        int n;
};

/* Look `name` up in directory `dir` (relative path, "" for the root) of the
 * layers dstack[0..nd) (a directory's merge stack, top first). Returns 1 when
 * visible (node filled), 0 when absent or whited out, -errno on failure. */
int stack_lookup(struct ovl_stack *s, const int *dstack, int nd, const char *dir, const char *name,
                 struct ovl_node *node);
/* The visible entries of a directory, sorted by name. Returns the count. */
int stack_list(struct ovl_stack *s, const int *dstack, int nd, const char *dir,
               struct ovl_node **out);
void node_free(struct ovl_node *n);
void nodes_free(struct ovl_node *v, int n);
/* The stack of the root: every layer. */
int *stack_root(struct ovl_stack *s, int *nd);

/* Kinds of entry a raw layer directory holds (export, commit). */
enum raw_kind {
        RAW_DATA,      /* an ordinary object */
        RAW_WHITEOUT,  /* hides `target` below (chardev, xattr or .wh.NAME) */
        RAW_OPQ,       /* the `.wh..wh..opq` marker */
        RAW_AUFS_META, /* `.wh..wh.*` AUFS bookkeeping: dropped */
};
/* Classify entry `name` of the directory `dir` in the layer fd; fills *st
 * (lstat) and, for whiteouts, *target (the hidden name, inside `name` or
 * pointing to it). */
int raw_classify(int lfd, const char *dir, const char *name, struct stat *st, const char **target);
/* Is the directory `rel` of a layer opaque (any format)? */
bool raw_opaque(int lfd, const char *rel);

/* --- the layer stack from the command line ---------------------------------- */

struct ovl_target {
        struct ovl_config cfg; /* with -c */
        struct ovl_mount *m;   /* with -c */
        const char *conf;
        char *upper;
        char **lowers; /* top first */
        int nlowers;
};
/* Parse "(-c CONF [MERGED] | UPPER LOWER...)" out of argv[0..argc), leaving
 * `keep_last` trailing arguments for the command (NEWLAYER). */
void target_parse(struct ovl_target *t, char **argv, int argc, int keep_last);
/* A stack: the upper (when `with_upper`) on the lowers. */
void target_stack(const struct ovl_target *t, bool with_upper, struct ovl_stack *s);

/* --- the commands ------------------------------------------------------------- */

int cmd_diff(int argc, char **argv);
int cmd_commit(int argc, char **argv);
int cmd_squash(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_image(int argc, char **argv);
int image_pack(int argc, char **argv); /* ovl_pack.c */

/* --- ovl_copy.c: copying objects with their metadata ------------------------ */

struct hlink;
struct copy_ctx {
        int droot;           /* root fd of the tree written */
        struct hlink *links; /* hard links seen: (dev, ino) -> first copy */
        unsigned long owners_lost, devices_lost, xattrs_lost;
};
/* Copy the object `srel` of the tree sroot to `drel` of c->droot, data and
 * metadata (mode, owner where allowed, times, xattrs other than the
 * overlay's own). Directories are created (mode 0700 until
 * copy_dir_finish), not filled. Hard links among the copies follow those
 * among the sources. 0 or -errno. */
int copy_object(struct copy_ctx *c, int sroot, const char *srel, const struct stat *st,
                const char *drel);
/* Mode and times of a directory, once its content is in place. */
void copy_dir_finish(struct copy_ctx *c, const char *drel, const struct stat *st);
void copy_ctx_free(struct copy_ctx *c);
/* One warning per kind of metadata that could not be kept. */
void copy_report(const struct copy_ctx *c);
/* Mark the directory `rel` of root opaque in the format DESIGN.md writes:
 * user.overlay.opaque=y (+ trusted.* as root), else `.wh..wh..opq`. */
int write_opaque(int root, const char *rel);
/* A whiteout for `name` in `dir`: chardev 0/0, else `.wh.NAME`. */
int write_whiteout(int root, const char *dir, const char *name);

/* --- ovl_tar.c, shared with ovl_image.c --------------------------------------- */

struct export_opts {
        bool set_owner; /* --owner */
        unsigned long uid, gid;
        bool set_mtime; /* --mtime */
        long long mtime;
};
/* Write the OCI layer tar of `layerdir` to an open FILE. 0 or -1 */
int export_layer(const char *layerdir, FILE *out, const struct export_opts *o);
struct import_report {
        unsigned long owners, devices, caps, sockets, xattrs;
};
struct archive;
/* Unpack an OCI layer tar being read from `in` into the new directory
 * `layerdir` (kernel-format markers). What could not be restored is counted
 * in *rep. Dies on errors. */
int import_archive(struct archive *in, const char *label, const char *layerdir,
                   struct import_report *rep);
void import_report_print(const struct import_report *rep, const char *what);

#endif
