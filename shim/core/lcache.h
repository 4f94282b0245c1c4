/* The per-process cache of lower layers (DESIGN.md principle 6). */
#ifndef OVL_LCACHE_H
#define OVL_LCACHE_H

#include "ovlshim.h"

/* ovl_marker_probe for a lower layer, answered from the cache. */
int ovl_lcache_probe(struct ovl_mount *m, int layer, const char *rp, struct stat *st);
/* ovl_marker_opaque for a directory of a lower layer. */
int ovl_lcache_opaque(struct ovl_mount *m, int layer, const char *rel);

/* Around fork (pthread_atfork): hold the cache's writer lock. */
void ovl_lcache_fork_lock(void);
void ovl_lcache_fork_unlock(void);

#endif
