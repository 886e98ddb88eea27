/*
 * Path resolution inside a captured tree: every symlink, absolute or
 * relative, is resolved as if the tree were "/", so a link cannot lead a
 * read or a write out of it (a device-tree/model linked to /etc/shadow, a
 * pwm1 linked to a file elsewhere).
 *
 * openat2(RESOLVE_IN_ROOT) does this in the kernel from Linux 5.6. Older
 * kernels (JetPack 4 and 5 run 4.9, 4.14 and 5.10) get the same rules here,
 * one component at a time: each name is opened O_PATH|O_NOFOLLOW beside the
 * directory before it, a symlink is read with readlinkat() and its target
 * spliced in front of what is left, an absolute target starts again at the
 * root, and ".." stops at the root, as the kernel's own IN_ROOT does.
 * Directories are held open on a stack, so nothing is looked up twice by
 * name and a rename under our feet cannot move us outside.
 *
 * Real sysfs trees are full of symlinks inside the tree (class/hwmon/hwmonN
 * -> ../../devices/...): those resolve as before.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2_H 1
#endif
#endif

#include <cohete/sysroot.h>

#include "internal.h"
#include "resolve.h"

#ifndef HAVE_OPENAT2_H
/* Headers older than Linux 5.6: the ABI is fixed, so spell it out. */
struct open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};
#define RESOLVE_NO_MAGICLINKS	0x02
#define RESOLVE_IN_ROOT		0x10
#endif

#ifndef __NR_openat2
#define __NR_openat2 437		/* the same on every architecture */
#endif

#define WALK_DEPTH_MAX	64
#define WALK_LINKS_MAX	40		/* the kernel's MAXSYMLINKS */
#define OPENAT2_TRIES	8		/* -EAGAIN: a rename raced a ".." */

int coh__openat2_in_root(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(unsigned int)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = -1;

	for (int i = 0; i < OPENAT2_TRIES; i++) {
		fd = syscall(__NR_openat2, rootfd, rel, &how, sizeof(how));
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	return fd >= 0 ? (int)fd : -errno;
}

struct walk {
	int fd[WALK_DEPTH_MAX + 1];	/* fd[0]: the root (not ours) */
	unsigned int depth;
	unsigned int links;
	unsigned int how;		/* COH__RESOLVE_* */
	char todo[PATH_MAX];		/* what is left to resolve */
	char where[PATH_MAX];		/* resolved so far, "/sys/devices" */
};

static void walk_pop(struct walk *w)
{
	char *slash = strrchr(w->where, '/');

	close(w->fd[w->depth--]);
	if (slash)
		*slash = '\0';
}

static void walk_unwind(struct walk *w)
{
	while (w->depth > 0)
		walk_pop(w);
}

/* Record a name in where: the path reached, for coh_sysroot_realpath(). */
static int walk_name(struct walk *w, const char *name)
{
	size_t len = strlen(w->where);

	if (len + 1 + strlen(name) >= sizeof(w->where))
		return -ENAMETOOLONG;
	w->where[len] = '/';
	strcpy(w->where + len + 1, name);
	return 0;
}

static int walk_push(struct walk *w, int fd, const char *name)
{
	if (w->depth == WALK_DEPTH_MAX || walk_name(w, name) < 0) {
		close(fd);
		return -ENAMETOOLONG;
	}
	w->fd[++w->depth] = fd;
	return 0;
}

/* Take the first name off todo into name; 0 when there is none left. */
static int next_name(struct walk *w, char *name, size_t size, int *last)
{
	const char *p = w->todo;
	size_t n;

	while (*p == '/')
		p++;
	n = strcspn(p, "/");
	if (n == 0)
		return 0;
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(name, p, n);
	name[n] = '\0';
	p += n;
	while (*p == '/')
		p++;
	*last = *p == '\0';
	memmove(w->todo, p, strlen(p) + 1);
	return 1;
}

/* Put a link's target in front of what is left to resolve. */
static int splice_link(struct walk *w, int dirfd, const char *name)
{
	char target[PATH_MAX], rest[PATH_MAX];
	ssize_t n;

	if (++w->links > WALK_LINKS_MAX)
		return -ELOOP;
	n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (n == 0)
		return -ENOENT;
	strcpy(rest, w->todo);
	if ((size_t)n + 1 + strlen(rest) >= sizeof(w->todo))
		return -ENAMETOOLONG;
	snprintf(w->todo, sizeof(w->todo), "%s%s%s", target, *rest ? "/" : "", rest);
	/* An absolute target starts again at the root of the tree. */
	if (target[0] == '/')
		walk_unwind(w);
	return 0;
}

static int walk_dotdot(struct walk *w)
{
	if (w->depth > 0) {
		walk_pop(w);
		return 0;
	}
	/* At the root ".." is the root, as for the kernel's IN_ROOT. */
	return w->how & COH__RESOLVE_STRICT ? -EXDEV : 0;
}

/* An inner name: a directory to descend into, or a link to follow. */
static int walk_inner(struct walk *w, const char *name)
{
	int cur = w->fd[w->depth];
	int fd = openat(cur, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	if (S_ISLNK(st.st_mode)) {
		close(fd);
		return splice_link(w, cur, name);
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		return -ENOTDIR;
	}
	return walk_push(w, fd, name);
}

/*
 * The last name: opened with the caller's flags and O_NOFOLLOW, so a link
 * swapped in after the check fails with -ELOOP instead of being followed.
 * Returns 1 with *fd set, 0 when it was a link now spliced in, or -errno.
 */
static int walk_last(struct walk *w, const char *name, int flags, int *fd)
{
	int cur = w->fd[w->depth];
	int saved;
	struct stat st;
	char probe[1];

	*fd = openat(cur, name, flags | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	if (*fd >= 0 && (flags & O_PATH) && fstat(*fd, &st) == 0 &&
	    S_ISLNK(st.st_mode)) {
		close(*fd);
		*fd = -1;
		saved = ELOOP;
	}
	if (*fd >= 0)
		return 1;
	/* ELOOP, or ENOTDIR with O_DIRECTORY: is it a link? */
	if ((saved != ELOOP && saved != ENOTDIR) ||
	    readlinkat(cur, name, probe, sizeof(probe)) < 0)
		return -saved;
	if (w->how & COH__RESOLVE_NOFOLLOW)
		return -ELOOP;
	return splice_link(w, cur, name);
}

/* The directory the walk stands in, opened with the caller's flags. */
static int walk_here(struct walk *w, int flags, int *fd)
{
	*fd = openat(w->fd[w->depth], ".", flags | O_CLOEXEC);
	return *fd < 0 ? -errno : 1;
}

/* One name: -errno, 0 to go on, 1 when *fd is the result. */
static int walk_step(struct walk *w, const char *name, int last, int flags,
		     int *fd)
{
	int ret;

	if (!strcmp(name, "."))
		return last ? walk_here(w, flags, fd) : 0;
	if (!strcmp(name, "..")) {
		ret = walk_dotdot(w);
		return ret < 0 || !last ? ret : walk_here(w, flags, fd);
	}
	if (!last)
		return walk_inner(w, name);
	ret = walk_last(w, name, flags, fd);
	if (ret == 1 && walk_name(w, name) < 0) {
		close(*fd);
		return -ENAMETOOLONG;
	}
	return ret;
}

int coh__walk_in_root(int rootfd, const char *rel, int flags, unsigned int how,
		      char *resolved, size_t size)
{
	struct walk w = { .how = how };
	char name[NAME_MAX + 1];
	int last = 0, ret = 0, fd = -1, n;

	w.fd[0] = rootfd;
	if (strlen(rel) >= sizeof(w.todo))
		return -ENAMETOOLONG;
	strcpy(w.todo, rel);
	while (ret == 0 && (n = next_name(&w, name, sizeof(name), &last)) != 0)
		ret = n < 0 ? n : walk_step(&w, name, last, flags, &fd);
	/* Nothing left ("", "/", or a link to "/"): the directory we are in. */
	if (ret == 0)
		ret = walk_here(&w, flags, &fd);
	if (ret > 0 && resolved) {
		if (strlen(w.where) + 1 > size) {
			close(fd);
			ret = -ENAMETOOLONG;
		} else {
			strcpy(resolved, w.where[0] ? w.where : "/");
		}
	}
	walk_unwind(&w);
	return ret < 0 ? ret : fd;
}
