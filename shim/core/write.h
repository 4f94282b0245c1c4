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
/* A merged directory moved into WORK/work on its way out keeps its merged path
 * in this xattr (best effort), so that an fd still open on it, in any process,
 * knows where its ".." leads once it is gone. */
#define OVL_XATTR_GONE "user.overlay.ovlshim-gone" /* private: hidden, never set by a user */
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
/* The kernel writes the upper with the mounter's credentials, which override
 * the missing owner write/search bits of the user's own directories (a 555
 * dir); the caller's permission is checked on the merged view, apart. The
 * shim has only the user's credentials: for a write it does on its own behalf
 * (copy-up, whiteout, opaque marker, the temporary it renames in) it lends
 * the owner w+x to such a directory and puts the mode back right after. A
 * lower is never lent anything: callers pass upper and work dirs only. */
struct ovl_lend {
        int fd;
        const char *rel;
        mode_t mode;
        bool lent;
};
/* Lend the owner `bits` (0300: w+x, 0500: r+x) on the directory (fd, rel) if
 * the user owns it and lacks some of them. */
bool ovl_lend(int fd, const char *rel, mode_t bits, struct ovl_lend *l);
void ovl_unlend(struct ovl_lend *l);
/* renameat2 that, refused with EACCES, lends w+x to both parents and to a
 * directory that changes parent, and tries once more. */
int ovl_rename_lent(int od, const char *o, int nd, const char *n, unsigned flags);
/* Owner, xattrs (the overlay's own aside), mode and times of the object
 * (sfd, srel), whose lstat is st, onto (dfd, drel), as a copy-up sets them. */
int ovl_copy_meta(int sfd, const char *srel, const struct stat *st, int dfd, const char *drel);
/* Remove a tree in WORK (an old upper dir holding only markers) under dirfd. */
int ovl_clean_tree(int dirfd, const char *name);
/* The parent part of a merged-relative path ("" for a top-level name). */
void ovl_rel_parent(const char *rel, char *out);

#endif
