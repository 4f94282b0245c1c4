/* ovlshim core API: used by the preload library, the tools and the tests.
 *
 * Conventions (DESIGN.md principle 8): core functions return 0 (or a count)
 * on success and a negative errno on failure; they never read or write errno
 * and never call a symbol the preload library interposes (all kernel access
 * goes through sys.h). */
#ifndef OVLSHIM_H
#define OVLSHIM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define OVL_MAX_LOWER 500
#define OVL_MAXSYMLINKS 40

enum ovl_whiteout_mode { OVL_WH_AUTO = 0, OVL_WH_CHARDEV, OVL_WH_OCI };

/* One layer directory. layers[0] of a mount is the upper (path NULL when the
 * overlay is read-only), layers[1..nlayers-1] are the lowers, top first. */
struct ovl_layer {
        char *path; /* canonical absolute path, no trailing slash */
        size_t len; /* strlen(path) */
        int fd;     /* O_PATH fd on the root, opened lazily; -1 until then */
        dev_t dev;  /* of the root, filled by ovl_config_check */
        ino_t ino;
        int vfd; /* a vfork child's own fd on the root (layer.c), for pid vpid */
        pid_t vpid;
};

struct ovl_mount {
        char *merged; /* canonical absolute path of MERGED, no trailing slash */
        size_t merged_len;
        struct ovl_layer *layers; /* [0] upper, [1..] lowers */
        int nlayers;              /* 1 + number of lowers */
        char *workdir;            /* NULL when read-only */
        int whiteout;             /* enum ovl_whiteout_mode */
        bool is_volatile;
        bool userxattr;
        int line; /* line of the config file that defined it */
        /* runtime state of the write path, set up by the first write */
        int wready;            /* 0 not yet, 1 being set up, 2 ready */
        struct ovl_layer work; /* WORK/work: where objects are built */
        struct ovl_layer priv; /* WORK/ovlshim: lock and format record */
        int lockfd;            /* shared flock on WORK/ovlshim/lock */
        int wh_format;         /* OVL_WH_CHARDEV or OVL_WH_OCI, once probed */
        int above;             /* 1: the process may search every directory
                                * above MERGED (asked once, again after a chmod
                                * outside); 0 not known */
};

struct ovl_config {
        struct ovl_mount *mounts;
        int nmounts;
        char *file; /* absolute path of the config file, or NULL */
};

/* An error message "file:line: problem" (or "file: problem"), one line. */
struct ovl_error {
        char msg[1024];
};

/* --- config.c ------------------------------------------------------------ */

/* Parse the text of a config file. Syntax and option checks only; touches no
 * file system (so it can be fuzzed). `base_dir` is the directory relative
 * paths are taken from; `fname` names the file in messages. Fills `cfg`
 * (caller frees with ovl_config_free even on error). */
int ovl_config_parse(const char *text, size_t len, const char *base_dir, const char *fname,
                     struct ovl_config *cfg, struct ovl_error *err);
/* The file-system checks of DESIGN.md section 1: canonicalise every path,
 * existence, nesting and overlap rules, workdir on the upper's fs. */
int ovl_config_check(struct ovl_config *cfg, struct ovl_error *err);
/* Read `file`, parse it, check it. */
int ovl_config_load(const char *file, struct ovl_config *cfg, struct ovl_error *err);
void ovl_config_free(struct ovl_config *cfg);

/* --- path.c -------------------------------------------------------------- */

/* Is `path` (absolute, lexically clean) equal to or below `prefix`? Returns
 * the length of the remainder offset (index into path where the relative part
 * starts, skipping the slash), or -1. */
ssize_t ovl_path_under(const char *path, const char *prefix, size_t plen);
/* Does `path` (relative or absolute) contain a ".." component? */
bool ovl_path_has_dotdot(const char *path);
/* Join `path` onto the absolute `base` (ignored when `path` is absolute) and
 * clean it lexically ("//", ".", ".."). Returns 0, or -1 if it does not fit. */
int ovl_path_lexical(char *out, size_t cap, const char *base, const char *path);

/* --- namei.c ------------------------------------------------------------- */

/* Where a merged name really lives (DESIGN.md principle 9). */
struct ovl_loc {
        struct ovl_mount *m; /* NULL: outside every overlay (see `real`) */
        char rel[PATH_MAX];  /* merged-relative path, "" for MERGED itself */
        int layer;           /* layer holding the object; -1 if it does not exist */
        int top_lower;       /* for dirs: topmost lower layer holding it, or -1 */
        int nstack;          /* for dirs: how many layers merge into it */
        unsigned short stack[OVL_MAX_LOWER + 1]; /* those layers, top first */
        struct stat st;                          /* lstat of the real object */
        dev_t id_dev;                            /* identity (DESIGN.md "Identity") */
        ino_t id_ino;
        /* a removed lower-only directory reached by ".." from one below it (the
         * preload's dead-directory climb): it shows its top lower, lists
         * nothing, and a change to it reaches no layer */
        bool dead;
        /* outside: the absolute real path to hand to the kernel; a dead one
         * (above) whose removed upper copy WORK keeps as a record: the record's
         * absolute path (ovl_dead_record_attach), else "" */
        char real[PATH_MAX];
};

/* Resolution flags */
#define OVL_R_NOFOLLOW 0x1 /* do not follow a final symlink */
#define OVL_R_EMPTY 0x4    /* "" means the dirfd itself (AT_EMPTY_PATH) */
/* with OVL_R_NOFOLLOW: not even a trailing slash follows the final symlink (the
 * namespace calls' last name, which the kernel never follows); the slash is kept */
#define OVL_R_NAME 0x8
/* the path names what the caller holds (an fd, the cwd, a dirfd): the kernel
 * walks none of it, so no directory on it is asked for search permission */
#define OVL_R_HELD 0x10

/* Outcome of ovl_resolve */
#define OVL_PASS 0 /* nothing to do with any overlay: use the caller's args */
#define OVL_OUT 1  /* outside, but only after a walk: use loc->real */
#define OVL_IN 2   /* inside an overlay: loc describes it */

/* Resolve `path` (relative to the absolute `base` unless it is absolute; base
 * may be NULL for absolute paths) through the overlays of `cfg`. Returns
 * OVL_OUT or OVL_IN, or a negative errno (ENOENT for a missing directory on
 * the way, ENOTDIR, ELOOP, ENAMETOOLONG, EACCES ...). A missing final name is
 * OVL_IN with loc->layer == -1. */
int ovl_resolve(struct ovl_config *cfg, const char *base, const char *path, int flags,
                struct ovl_loc *loc);
/* may_lookup(): search permission in the directory `loc` (inside an
 * overlay), asked before any name in it is looked up. 0 or -EACCES. */
int ovl_may_search(const struct ovl_loc *loc);
/* may_lookup (MAY_EXEC) on a directory of this mode and owner, ACLs aside:
 * 0 or -EACCES. */
int ovl_mode_may_search(mode_t m, uid_t uid, gid_t gid);
/* A program's absolute path into MERGED: the kernel looks MERGED up in its
 * parent, which needs search permission on every directory above it. 0 or
 * -EACCES; one faccessat, whose positive answer is kept until this process
 * changes a mode outside (or `again`). */
int ovl_above(struct ovl_mount *m, bool again);
/* A mode outside every overlay changed: ask again whether the directories
 * above each MERGED can be searched. */
void ovl_above_changed(struct ovl_config *cfg);
/* The stat of the merged object `loc` describes (identity applied). */
void ovl_loc_stat(const struct ovl_loc *loc, struct stat *out);
/* Path of `loc` relative to its layer's root fd; for the root, the layer's
 * own absolute path: "." would be a lookup inside the root, which needs
 * search permission on it, and the kernel stats (chmods, lists...) a merged
 * root its caller may not search. */
const char *ovl_loc_relpath(const struct ovl_loc *loc);
/* The same for `rel` in layer `layer` of m. */
const char *ovl_layer_relpath(const struct ovl_mount *m, int layer, const char *rel);
/* Map a real absolute path (of an open fd, of the cwd) back into the merged
 * namespace: a path under a layer root or under MERGED. Writes the merged path
 * to `out` and returns the mount, or NULL when it is in no overlay. If
 * `layer` is not NULL it receives the layer index (-1 for MERGED itself). */
struct ovl_mount *ovl_unmap(struct ovl_config *cfg, const char *real, char *out, size_t cap,
                            int *layer);
/* Is the absolute lexically clean `path` inside some MERGED (1), an ancestor
 * of one (2), or neither (0)? */
int ovl_path_near(const struct ovl_config *cfg, const char *path);

/* --- readdir.c ----------------------------------------------------------- */

struct dirent64;
/* A merged listing: "." and "..", then each visible name once. */
struct ovl_dirlist {
        size_t n;
        struct dirent64 **ents; /* d_off of ents[i] is i + 1 */
        char *buf;
};
/* List the directory `loc` describes; `dotdot` is the d_ino for "..". */
int ovl_dir_list(const struct ovl_loc *loc, ino_t dotdot, struct ovl_dirlist **out);
/* The same for a stream on `held`, an fd the program holds on that directory
 * (a layer's directory, opened with the user's rights when it was readable):
 * a layer directory the user may no longer read (chmod after the open) is read
 * through `held` when it is that directory, else, if it is the user's own
 * upper directory, with read+search lent for the listing. */
int ovl_dir_list_held(const struct ovl_loc *loc, ino_t dotdot, int held, struct ovl_dirlist **out);
void ovl_dir_free(struct ovl_dirlist *dl);
/* 0 if the merged directory shows no name, -ENOTEMPTY if it does. */
int ovl_dir_empty(const struct ovl_loc *loc);

/* --- ops.c --------------------------------------------------------------- */

/* open(2) of a resolved merged object: copy-up or creation as needed. */
int ovl_open(struct ovl_config *cfg, struct ovl_loc *loc, int flags, mode_t mode);
/* The root fd of the layer holding `loc` (retrying once if it was lost). */
int ovl_loc_fd(struct ovl_loc *loc);
/* Where loc's attributes (mode, owner, times, xattrs) are read and changed:
 * the record of a dead loc that has one (AT_FDCWD and its absolute path),
 * else loc's layer (ovl_loc_fd, ovl_loc_relpath). */
int ovl_loc_attr_fd(struct ovl_loc *loc);
/* Is loc a dead one with a record (ovl_dead_record_attach)? Its changes go to
 * the record, which stands for the removed upper copy the kernel would change. */
bool ovl_loc_has_record(const struct ovl_loc *loc);
const char *ovl_loc_attr_rel(const struct ovl_loc *loc);

/* --- work.c: records of removed directories -------------------------------- */

/* The kernel's overlay inode of a directory is shared by every process: one
 * that holds the lower directory (an fd, its cwd) while another removes the
 * merged one after copying it up still sees (and changes) the removed upper
 * copy. So rmdir of a merged directory with both an upper copy and a lower
 * one leaves in WORK/work an empty directory with the copy's mode, owner,
 * times and xattrs (the overlay's own markers aside), named by the merged
 * directory's identity (its topmost lower directory, DESIGN.md "Identity"):
 * a leftover of WORK, removed by ovl_work_clean only when the upper is reset
 * (ovl commit --reset): readers hold no lock, so nothing tells when nobody
 * holds the lower any more. */
#define OVL_DEAD_PREFIX "#ovlshim-dead-"
/* The record's name in WORK/work for the identity (dev, ino). */
int ovl_dead_record_name(dev_t dev, ino_t ino, char *out, size_t cap);
/* Its absolute path (-ENOENT without a workdir). */
int ovl_dead_record_path(const struct ovl_mount *m, dev_t dev, ino_t ino, char *out, size_t cap);
/* lstat of the record; -ENOENT when there is none. */
int ovl_dead_record_stat(const struct ovl_mount *m, dev_t dev, ino_t ino, struct stat *st);
/* The record's mode, owner and times on st (identity and the rest kept). */
void ovl_dead_record_apply(const struct stat *rec, struct stat *st);
/* A dead loc (ovl_loc.dead) whose identity has a record: its path in
 * loc->real and its attributes on loc->st; false (loc untouched) if none. */
bool ovl_dead_record_attach(struct ovl_loc *loc);

/* --- copy_up.c, dir.c, inode.c: the write path ----------------------------- */

/* Bring the object `loc` describes into the upper (with its parents); with
 * `data`, a regular file's content too. loc is updated to the upper copy. */
int ovl_copy_up(struct ovl_config *cfg, struct ovl_loc *loc, bool data);

int ovl_open_write(struct ovl_config *cfg, struct ovl_loc *loc, int flags);
int ovl_create(struct ovl_config *cfg, struct ovl_loc *loc, int flags, mode_t mode);
/* Make the missing name loc->rel creatable by another call in the upper: its
 * parent copied up, a whiteout there removed (for sockets bound by path). */
int ovl_prepare_create(struct ovl_config *cfg, struct ovl_loc *loc);
int ovl_mkdir(struct ovl_config *cfg, struct ovl_loc *loc, mode_t mode);
int ovl_mknod(struct ovl_config *cfg, struct ovl_loc *loc, mode_t mode, dev_t dev);
int ovl_symlink(struct ovl_config *cfg, const char *target, struct ovl_loc *loc);
int ovl_link(struct ovl_config *cfg, struct ovl_loc *from, struct ovl_loc *to);
/* link(2) of a removed directory of the overlay (the real one the kernel
 * holds, not resolvable by name) to `to`: vfs_link's may_create, then EPERM. */
int ovl_link_removed_dir(struct ovl_config *cfg, struct ovl_loc *to);
int ovl_unlink(struct ovl_config *cfg, struct ovl_loc *loc);
int ovl_rmdir(struct ovl_config *cfg, struct ovl_loc *loc);
int ovl_rename(struct ovl_config *cfg, struct ovl_loc *a, struct ovl_loc *b, unsigned flags);
int ovl_chmod(struct ovl_config *cfg, struct ovl_loc *loc, mode_t mode);
int ovl_chown(struct ovl_config *cfg, struct ovl_loc *loc, uid_t u, gid_t g);
int ovl_utimens(struct ovl_config *cfg, struct ovl_loc *loc, const struct timespec *ts);
int ovl_truncate(struct ovl_config *cfg, struct ovl_loc *loc, off_t len);
int ovl_setxattr(struct ovl_config *cfg, struct ovl_loc *loc, const char *name, const void *val,
                 size_t size, int flags);
int ovl_removexattr(struct ovl_config *cfg, struct ovl_loc *loc, const char *name);
/* The checks the changes above meet on an existing object before any copy-up
 * (for an fd whose merged name is gone: the kernel checks the object first):
 * 0 or the error; ovl_utimens_check 1 for a call that does nothing. For
 * ovl_xattr_check, val NULL means a removal. */
int ovl_chmod_check(const struct ovl_loc *loc);
int ovl_chown_check(const struct ovl_loc *loc, uid_t u, gid_t g);
int ovl_utimens_check(const struct ovl_loc *loc, const struct timespec *ts);
int ovl_xattr_check(const struct ovl_loc *loc, const char *name, const void *val, size_t size);
/* Remove leftovers of killed processes from WORK/work when no job holds the
 * work dir's lock; the number removed, 0 if the lock is held, or -errno.
 * records: the records of removed directories too (once the upper is reset:
 * a process that only reads may still need them otherwise). */
int ovl_work_clean(struct ovl_mount *m, bool records);
/* The xattr name stored on disk for one the program names (escaping). */
int ovl_xattr_disk_name(const char *name, char *buf, size_t cap);

/* --- elf.c: what an exec would run -------------------------------------- */

enum ovl_exec_kind {
        OVL_EXEC_OK = 0, /* dynamically linked for this loader, or not a binary */
        OVL_EXEC_SCRIPT, /* #!: interp (and arg) filled */
        OVL_EXEC_STATIC,
        OVL_EXEC_SECURE, /* set-id or file capabilities: LD_PRELOAD dropped */
        OVL_EXEC_LOADER, /* another dynamic loader (musl ...) */
        OVL_EXEC_ARCH,   /* another architecture or ELF class */
};

struct ovl_exec_info {
        int kind;
        bool has_arg;
        char interp[256];
        char arg[256];
};

/* Look at the file an exec of (dirfd, path) would run. 0 or -errno. */
int ovl_exec_probe(int dirfd, const char *path, struct ovl_exec_info *info);
/* The same for a file already open for reading. */
int ovl_exec_probe_fd(int fd, struct ovl_exec_info *info);
/* Why a kind of program escapes the shim, for messages. */
const char *ovl_exec_why(int kind);
/* The RUNPATH (else RPATH) of the 64-bit ELF file (dirfd, path) into out when
 * it names $ORIGIN: 1; 0 when it has none or does not name it, or -errno. */
int ovl_elf_origin_path(int dirfd, const char *path, char *out, size_t cap);

/* --- layer.c ------------------------------------------------------------- */

/* The O_PATH fd of a layer root, opened on first use at a high number,
 * close-on-exec. Returns the fd or a negative errno. */
int ovl_layer_fd(struct ovl_layer *l);
/* The preload library's process (its pid after each fork); 0 in the tools. */
void ovl_set_owner_pid(pid_t pid);
/* Is this a vfork child of that process (its memory, its own fd table)? The
 * core publishes no fd there (ovl_layer_fd, the work dir's lock). */
bool ovl_vfork_child(void);
/* Forget a layer fd that turned out to be closed behind our back. */
void ovl_layer_fd_lost(struct ovl_layer *l, int fd);
/* Lowest fd number the core uses for its own fds. */
int ovl_private_floor(void);
/* Open `fd` again at a free high number (close-on-exec); returns it. */
int ovl_private_dup(int fd);
/* Is `fd` one of the core's own fds (a layer root)? */
bool ovl_is_private_fd(const struct ovl_config *cfg, int fd);
/* Move our fd away from number `fd` (the program wants it). */
void ovl_private_move(struct ovl_config *cfg, int fd);
/* Held while an fd of the program is checked and replaced by its copy-up
 * (copy_up.c), and by the close/dup wrappers: a number closed and reused by
 * another thread meanwhile is never replaced. Taken around fork. */
void ovl_fdmove_lock(void);
void ovl_fdmove_unlock(void);

#endif
