/* Shared fixture of the core unit tests (test_path.c, test_namei.c,
 * test_readdir.c): a fresh mkdtemp tree per test, helpers that build layer
 * contents in every marker format (the tests run as root, so trusted.*
 * xattrs and mknod work), and an overlay configuration made through
 * ovl_config_parse + ovl_config_check, as the library itself does.
 *
 * Paths given to the helpers are relative to the temporary root; "@" in a
 * config text stands for it.
 *
 * Lower layers are cached per process once looked at (DESIGN.md principle
 * 6, shim/core/lcache.c, keyed by the mount's address): a test builds all
 * lower content before its first lookup and configures one overlay set per
 * test. The upper is always asked, so it may change between lookups. */
#ifndef OVL_TEST_FIXTURE_H
#define OVL_TEST_FIXTURE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "ovlshim.h"

#include <stdbool.h>
#include <sys/stat.h>

extern char fx_root[PATH_MAX];
extern struct ovl_config fx_cfg;
extern struct ovl_loc *fx_loc; /* filled by fx_resolve */

/* Criterion .init / .fini of every suite that uses the fixture. */
void fx_setup(void);
void fx_teardown(void);

/* fx_root + "/" + rel (rel "" gives fx_root); a rotating static buffer. */
const char *fx_path(const char *rel);
/* fmt with every "@" replaced by fx_root; a rotating static buffer. */
const char *fx_at(const char *fmt);

void fx_mkdir(const char *rel);                       /* mkdir -p */
void fx_file(const char *rel, const char *content);   /* parents made too */
void fx_symlink(const char *target, const char *rel); /* target as written */
void fx_mknod_chr(const char *rel, unsigned maj, unsigned min);
void fx_fifo(const char *rel);
void fx_xattr(const char *rel, const char *name, const char *value);
struct stat fx_lstat(const char *rel);

/* Whiteout formats (SEMANTICS.md section 2, W1-W3). fx_whiteout makes the
 * marker that hides the name `rel` (e.g. "u/d/x"). */
enum fx_wh { FX_WH_CHARDEV, FX_WH_XATTR_USER, FX_WH_XATTR_TRUSTED, FX_WH_OCI, FX_WH_COUNT };
extern const char *const fx_wh_names[FX_WH_COUNT];
void fx_whiteout(const char *rel, enum fx_wh kind);

/* Opaque formats (O1, O2, O5, O4). fx_opaque marks the directory `rel`
 * (made if missing) opaque. */
enum fx_opq { FX_OPQ_TRUSTED, FX_OPQ_USER, FX_OPQ_FUSE, FX_OPQ_OCI, FX_OPQ_COUNT };
extern const char *const fx_opq_names[FX_OPQ_COUNT];
void fx_opaque(const char *rel, enum fx_opq kind);

/* One overlay: MERGED fx_root/merged (created), lowers a ":"-list of layer
 * dirs relative to fx_root (made if missing), upper NULL for a read-only
 * overlay (else work dir "w" is used). Parsed and checked; asserts success. */
void fx_mount(const char *merged, const char *lowers, const char *upper);
/* Any config text ("@" expanded); asserts that parse and check succeed. */
void fx_config(const char *text);

/* ovl_resolve of the absolute path fx_root/rel into fx_loc. */
int fx_resolve(const char *rel, int flags);
/* The merged stat of fx_loc (ovl_loc_stat). */
struct stat fx_loc_stat(void);

/* Raw getdents64 order of a real directory, without "." and "..": fills up
 * to max names (each NAME_MAX+1) and returns the count. */
size_t fx_raw_names(const char *rel, char (*names)[NAME_MAX + 1], size_t max);

#endif
