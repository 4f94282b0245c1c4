/* Whiteout and opaque markers in every format DESIGN.md reads. */
#ifndef OVL_MARKERS_H
#define OVL_MARKERS_H

#include "ovlshim.h"

#define OVL_P_ABSENT 0
#define OVL_P_WHITEOUT 1
#define OVL_P_FOUND 2
/* a directory with a `.wh.NAME` beside it in the same layer: deleted and
 * made anew there, so the layers below do not merge into it (OCI) */
#define OVL_P_FOUND_OPAQUE 3

/* Look at `rp` (relative to the layer root) in one layer: absent, hidden by a
 * whiteout (chardev 0/0, xattr whiteout, or a `.wh.NAME` beside it) or found
 * (st filled). Negative errno on a real failure. */
int ovl_marker_probe(struct ovl_layer *l, const char *rp, struct stat *st);
/* Is the directory `rp` in the layer with root fd `fd` opaque? 1 or 0. The
 * root ("" or ".") is never opaque (SEMANTICS.md rule 4). */
int ovl_marker_opaque(int fd, const char *rp);
/* Is a directory entry of this name a marker rather than a name? */
bool ovl_marker_name(const char *name, size_t n);
/* If the entry `name` is a `.wh.X` whiteout marker, the X it hides. */
const char *ovl_marker_whiteout_target(const char *name);
/* Is this real object (already lstat'ed) a whiteout? */
bool ovl_marker_is_whiteout(int fd, const char *rp, const struct stat *st);
/* Is this xattr name the overlay's own (hidden from the program)? */
bool ovl_xattr_private(const char *name);
/* Map a name stored on disk to what the program sees: "NS.overlay.overlay.X"
 * shows as "NS.overlay.X" (SEMANTICS.md rule 62); NULL when hidden. */
const char *ovl_xattr_shown(const char *name, char *buf, size_t cap);

#endif
