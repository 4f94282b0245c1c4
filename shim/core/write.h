/* Internals shared by the write path: work dir, copy-up, markers. */
#ifndef OVL_WRITE_H
#define OVL_WRITE_H

#include "ovlshim.h"

/* Set up WORK (dirs, shared lock) on the first write; -EROFS without upper. */
int ovl_write_begin(struct ovl_mount *m);
/* After fork, in the child: forget a set-up another thread had under way. */
void ovl_write_fork_child(struct ovl_mount *m);
/* A name for a temporary object in WORK/work that no other process picks. */
void ovl_tmpname(char *buf, size_t n);
/* OVL_WH_CHARDEV or OVL_WH_OCI, probed once and recorded; -EIO if forced
 * and refused. */
int ovl_wh_format(struct ovl_mount *m);
/* A fresh chardev 0/0 whiteout in WORK/work; its name in `name`. */
int ovl_make_whiteout_tmp(struct ovl_mount *m, char *name, size_t n);
/* Mark a directory opaque: user.overlay.opaque=y (plus trusted.* if root),
 * or `.wh..wh..opq` inside it in the OCI format. */
int ovl_set_opaque(struct ovl_mount *m, int dirfd, const char *rel);
/* Make the directory `rel` (a visible merged dir) exist in the upper. */
int ovl_upper_dir(struct ovl_config *cfg, struct ovl_mount *m, const char *rel);
/* Remove a tree (an old upper dir holding only markers) under dirfd. */
int ovl_clean_tree(int dirfd, const char *name);
/* The parent part of a merged-relative path ("" for a top-level name). */
void ovl_rel_parent(const char *rel, char *out);

#endif
