/* The kernel's view of a name for namespace calls (see name.c). */
#ifndef OVL_NAME_H
#define OVL_NAME_H

#include "preload.h"

enum { OVL_LAST_NORM, OVL_LAST_DOT, OVL_LAST_DOTDOT, OVL_LAST_ROOT };

struct ovl_name {
        int last;             /* OVL_LAST_*: what the last component is */
        bool slash;           /* trailing slashes after it */
        bool toolong;         /* it is longer than NAME_MAX */
        bool dead;            /* in a removed directory: nothing is there, nothing
                               * can be made there (loc only names the overlay) */
        int where;            /* OVL_IN: loc is the object, not followed (its
                               * directory for "."/".." or a long name); else
                               * the object is outside every overlay */
        struct ovl_mount *pm; /* the overlay holding the directory part, or NULL */
        struct ovl_loc *loc;  /* the caller's */
};

/* Walk the directory part of (dirfd, path) and look up the last name
 * without following it. Returns 0 or the error of the directory part
 * (EBADF/ENOTDIR for a bad dirfd, ENOENT for "", ENOENT, ENOTDIR, EACCES,
 * ELOOP, ENAMETOOLONG on the way). */
int ovl_name_at(int dirfd, const char *path, struct ovl_name *nm);
/* For a call on one name: OVL_PASS or OVL_OUT (nm->loc->real) as ovl_at
 * says, OVL_IN with nm filled, or the error of the directory part. */
int ovl_name_kind(int dirfd, const char *path, struct ovl_name *nm);
/* Does the last name exist (in an overlay)? Is it a directory? */
bool ovl_name_exists(const struct ovl_name *nm);
bool ovl_name_dir(const struct ovl_name *nm);
/* Before the lookup of a name to change: EROFS, then ENAMETOOLONG. */
int ovl_name_lookup(const struct ovl_name *nm);
/* filename_create: EEXIST for "."/".." or an existing name, ENAMETOOLONG,
 * ENOENT for a trailing slash unless `dir`, then EROFS. */
int ovl_name_create(const struct ovl_name *nm, bool dir);

#endif
