/*
 * Resolving paths inside a sysroot (resolve.c). Not installed.
 */
#ifndef COHETE_SYSROOT_RESOLVE_H
#define COHETE_SYSROOT_RESOLVE_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/sysroot.h> instead"
#endif

#include <stddef.h>

#define COH__RESOLVE_NOFOLLOW	0x1	/* the last name must not be a link */
#define COH__RESOLVE_STRICT	0x2	/* ".." above the root: -EXDEV */

/*
 * openat2(rootfd, rel, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS).
 * Returns the fd or -errno; -ENOSYS before Linux 5.6.
 */
int coh__openat2_in_root(int rootfd, const char *rel, int flags);

/*
 * The same resolution, one component at a time, for kernels without
 * openat2: links are followed inside the root (an absolute target starts at
 * the root), ".." stops at the root. how: COH__RESOLVE_*. resolved (NULL,
 * or size bytes) gets the path reached, relative to the root: "/sys/x".
 * Returns the fd or -errno (-ELOOP for a link with NOFOLLOW, or too many).
 */
int coh__walk_in_root(int rootfd, const char *rel, int flags, unsigned int how,
		      char *resolved, size_t size);

#endif /* COHETE_SYSROOT_RESOLVE_H */
