/* Shared pieces of the LD_PRELOAD face: the loaded config, the next
 * definition of each interposed symbol, the resolution of (dirfd, path) and
 * the virtual cwd. */
#ifndef OVL_PRELOAD_H
#define OVL_PRELOAD_H

#include "ovlshim.h"

#include <dirent.h>
#include <dlfcn.h>
#include <spawn.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

#define OVL_EXPORT __attribute__((visibility("default")))

/* Legacy and fortified entry points that glibc 2.36 headers do not declare. */
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);
int __xmknod(int ver, const char *path, mode_t mode, dev_t *dev);
int __xmknodat(int ver, int dirfd, const char *path, mode_t mode, dev_t *dev);
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);
ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen);
char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);
char *__getcwd_chk(char *buf, size_t size, size_t buflen);
int eaccess(const char *path, int mode);

/* The next definition of an interposed symbol, looked up once. */
enum ovl_sym_id {
#define OVL_SYM(name) OVL_ID_##name,
#include "symbols.def"
#undef OVL_SYM
        OVL_NSYMS
};
void *ovl_real(enum ovl_sym_id id);
#ifdef __CPPCHECK__ /* cppcheck does not follow __typeof__ */
#define REAL(name) name
#else
#define REAL(name) ((__typeof__(&name))ovl_real(OVL_ID_##name))
#endif

/* The config if an overlay is active (initialising on first use), else NULL.
 * NULL too while this thread is initialising (no recursion). */
struct ovl_config *ovl_active(void);

/* Resolve (dirfd, path) for a wrapper: OVL_PASS (use the caller's args),
 * OVL_OUT (use loc->real), OVL_IN, or a negative errno. */
int ovl_at(int dirfd, const char *path, int rflags, struct ovl_loc *loc);
/* ovl_at flag: look whether the cwd was removed before walking from it, not only
 * after the walk failed (chdir: a removed cwd's merged name may hold a new directory) */
#define OVL_AT_DEAD_FIRST 0x1000
/* Before a call that changes the attributes of what (dirfd, path) names (chmod, chown,
 * utimes, xattrs): 0 to go on, else the call's answer (1: success, -errno) when it
 * names a removed lower-only directory itself ("." of the cwd or a dirfd); OVL_IN when
 * that directory has a record (ovlshim.h): loc is then the dead directory, whose
 * change goes to the record. */
int ovl_dead_change(int dirfd, const char *path, const char *rmx, struct ovl_loc *loc);
/* The removed merged directory `merged`, by name, as a dead loc with its record
 * attached (ovl_dead_record_attach); false when it has no record. */
bool ovl_dead_record_loc(const char *merged, struct ovl_loc *loc);
/* The overlay of the directory removed meanwhile (the cwd or dirfd) that a
 * relative path starts at, or NULL; does the path begin by climbing out of
 * it with ".."? */
struct ovl_mount *ovl_base_dead(int dirfd, const char *path);
bool ovl_starts_dotdot(const char *path);
/* Is the relative path nothing but "." components ("", ".", "./.", "./")? */
bool ovl_dots_only(const char *path);
/* A dirfd on a lower or shadow directory whose merged directory is gone
 * (its fd outlives it): the overlay, else NULL. */
struct ovl_mount *ovl_dirfd_gone(int dirfd);
/* may_lookup in a removed directory (dirfd or AT_FDCWD) that is the real one
 * (not a shadow): -EACCES when the caller may not search it, else 0. */
int ovl_dead_search(int dirfd);
/* The merged path of an fd that stands for something in an overlay; the
 * layer index through `layer`. Returns the mount or NULL. */
struct ovl_mount *ovl_fd_merged(int fd, char *out, size_t cap, int *layer);
/* Is st_dev one on which overlay layers, MERGED or its ancestors live? */
bool ovl_dev_relevant(dev_t dev);
/* Map a real path (of the kernel cwd, an fd) into the merged namespace,
 * shadow cwd directories included; NULL when it is in no overlay. */
struct ovl_mount *ovl_unmap_real(const char *real, char *out, size_t cap, int *layer);
/* The overlay whose MERGED holds the merged path v, and v relative to it
 * ("" for MERGED itself) in *rel; NULL when v is in none. */
struct ovl_mount *ovl_mount_rel(const char *v, const char **rel);
/* The merged path `loc` stands for. */
int ovl_loc_path(const struct ovl_loc *loc, char *out, size_t cap);

/* The virtual cwd: absolute, merged when inside an overlay. Returns 1 when it
 * is inside, 2 when it is an ancestor of a MERGED, 0 otherwise, -1 unknown. */
int ovl_cwd_get(char *out, size_t cap);
void ovl_cwd_set(const char *path, int near);
/* A rename of a directory by this process may have moved the cwd (or an
 * ancestor): the kernel cwd moved with it, and the next look at the cwd
 * learns the new merged path from it. */
void ovl_cwd_dir_moved(void);
/* This process removed the merged directory `loc`: its mode is kept for
 * ovl_removed_dir_search; if it was the cwd, the identity of its parent and its
 * mode are kept (ovl_cwd_parent_replaced, ovl_cwd_dead_search). */
void ovl_cwd_dir_removed(const struct ovl_loc *loc);
/* Is the merged directory at `parent` (the removed cwd's parent by its path)
 * not the one the cwd had when it was removed (itself removed, maybe made
 * again)? false when that is not known. */
bool ovl_cwd_parent_replaced(const char *parent);
/* may_lookup in the removed cwd when it stands on a shadow: the removed merged
 * directory's mode as this process saw it when it removed it; -EACCES or 0. */
int ovl_cwd_dead_search(void);
/* ... and in a removed merged directory with a lower layer, through an fd on its
 * topmost lower directory (st: that fd's fstat): 0 when this process did not remove
 * it. */
int ovl_removed_dir_search(const struct ovl_mount *m, const struct stat *st);
/* The mode and owner of that removed directory when it had been copied up (the
 * kernel's fd reports the removed copy's): st is the topmost lower directory's
 * stat, changed when it is known. */
bool ovl_removed_dir_attrs(const struct ovl_mount *m, struct stat *st);
void ovl_cwd_follow_moves(void);
/* The cwd's merged path failed a walk: another process may have moved its
 * upper directory. true when the kernel's cwd maps to another merged path
 * now (and the cwd was set to it). */
bool ovl_cwd_refresh(void);
/* Was the directory the kernel cwd stands on removed (through the overlay)? */
bool ovl_cwd_dead(void);
/* ... known without a syscall (this process saw it removed) */
bool ovl_cwd_known_dead(void);
/* Does the cwd stand on a shadow (a lower-only directory)? */
bool ovl_cwd_on_shadow(void);
/* stat of "." (or "./.") in a removed lower-only cwd or dirfd (AT_FDCWD or
 * an fd): the lower directory it stood for, not the shadow the process stands
 * in. true when answered. */
bool ovl_dead_shadow_stat(int dirfd, const char *path, struct stat *st);
/* The fd (AT_FDCWD: the cwd) holds a lower directory, or a shadow, of a removed
 * merged directory that has a record (ovlshim.h): its path in rec (PATH_MAX),
 * where its attributes are read. */
bool ovl_dead_record_held(int fd, char *rec);
/* A shadow stands for a merged directory that had a lower layer: is the
 * merged directory `merged` gone? */
bool ovl_shadow_gone(const char *merged);
/* The removed directory that stood at `merged`, an upper one (not opaque) or a
 * lower-only one: did the kernel read it as a merged one (ovl_dir_is_real false:
 * an upper over a lower, several lowers, or copied up before it was removed)? */
bool ovl_removed_dir_merged(const char *merged, bool upper);
/* An attribute change of a removed lower-only directory whose merged path was
 * `merged`: 1 (success, nothing to change) or -errno (cwd.c). */
int ovl_dead_dir_change(const char *merged, const char *rmx);
/* The merged path (v, PATH_MAX) a removed real directory (an fd on an upper
 * or shadow directory, or one moved into WORK on its way out) had: 1; 0 when
 * it is an overlay's under a name no longer known (v: its MERGED); -1 when it
 * is no overlay's. */
int ovl_removed_dir_path(int fd, char *v);
/* What the kernel appends to the link of a removed directory */
#define OVL_DELETED " (deleted)"
/* Strip OVL_DELETED off a real path; was it there? */
bool ovl_strip_deleted(char *real);
void ovl_cwd_init(void);
/* Put the kernel cwd on the directory that stands for merged `loc`. */
int ovl_cwd_enter(struct ovl_loc *loc, bool remember);
void ovl_cwd_fork_lock(void);
void ovl_cwd_fork_unlock(void);
/* Are we a vfork child, sharing the parent's memory? */
bool ovl_in_vfork_child(void);

/* A wrapper's return: -errno sets errno and gives -1; success leaves errno. */
static inline long ovl_ret(long r)
{
        if (r < 0) {
                errno = (int)-r;
                return -1;
        }
        return r;
}

/* spawn.c: posix_spawn whose file actions name paths in an overlay */
bool ovl_spawn_needs_shim(const posix_spawn_file_actions_t *fa);
int ovl_spawn_shimmed(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
                      const posix_spawnattr_t *attr, char *const argv[], char *const envp[],
                      bool search);

/* exec.c: what children need, learned at start-up */
void ovl_exec_init(struct ovl_config *cfg, const char *conf);
/* Start-up: LD_LIBRARY_PATH back to the value the parent's program gave it
 * (its loader read the translated one). */
void ovl_exec_env_restore(void);

/* OVL_DEBUG tracing: one line per rewritten call. */
void ovl_log(const char *call, const char *path, const struct ovl_loc *loc, long result);

#endif
