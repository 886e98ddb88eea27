/*
 * Sysroot: reads of the target's /proc, /sys, /etc and /var, under a prefix.
 *
 * The live system is root "/" and uses the real paths. A fixture is any
 * directory laid out the same way, and nothing in it is trusted: every path
 * is resolved inside it (resolve.c: openat2's RESOLVE_IN_ROOT, or the same
 * rules component by component before Linux 5.6), so a symlink cannot lead
 * a read or a write out of the tree, while the links sysfs is full of still
 * resolve. Writes never go through a symlink, on any root: the last name
 * is opened O_NOFOLLOW. Files are read with one read() up to the buffer
 * size: sysfs and procfs produce a whole attribute per read, and this is
 * the hot path of every status sample.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/sysroot.h>

#include "internal.h"
#include "resolve.h"

extern char **environ;

struct coh_sysroot {
	int dirfd;
	int live;
	int walk;			/* resolve without openat2 (resolve.c) */
	coh_sysroot_read_fn on_read;
	void *on_read_arg;
	char root[PATH_MAX];
};

/*
 * Whether to resolve component by component: asked for (tests of kernels
 * before 5.6), or openat2 is missing (-ENOSYS) or filtered (-EPERM by a
 * seccomp profile that predates it).
 */
static int use_walk(int dirfd, const struct coh_sysroot_opts *opts)
{
	const char *env = getenv("COHETE_SYSROOT_RESOLVE");
	int fd;

	if ((opts && (opts->flags & COH_SYSROOT_NO_OPENAT2)) ||
	    (env && !strcmp(env, "walk")))
		return 1;
	fd = coh__openat2_in_root(dirfd, ".", O_PATH);
	if (fd < 0)
		return 1;
	close(fd);
	return 0;
}

int coh_sysroot_open(struct coh_sysroot **out,
		     const struct coh_sysroot_opts *opts, struct pep_err *err)
{
	const char *root = opts && opts->root && *opts->root ? opts->root : "/";
	struct coh_sysroot *sr;
	struct stat st;

	if (strlen(root) >= sizeof(sr->root))
		return pep_err_set(err, -ENAMETOOLONG, "sysroot %.64s...: path too long", root);
	if (stat(root, &st) < 0)
		return pep_err_errno(err, "sysroot %s", root);
	if (!S_ISDIR(st.st_mode))
		return pep_err_set(err, -ENOTDIR, "sysroot %s: not a directory", root);
	sr = calloc(1, sizeof(*sr));
	if (!sr)
		return pep_err_set(err, -ENOMEM, "sysroot: out of memory");
	sr->dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sr->dirfd < 0) {
		int ret = pep_err_errno(err, "sysroot %s", root);

		free(sr);
		return ret;
	}
	coh__strlcpy(sr->root, root, sizeof(sr->root));
	sr->live = strcmp(root, "/") == 0;
	sr->walk = !sr->live && use_walk(sr->dirfd, opts);
	if (opts) {
		sr->on_read = opts->on_read;
		sr->on_read_arg = opts->on_read_arg;
	}
	*out = sr;
	return 0;
}

void coh_sysroot_close(struct coh_sysroot *sr)
{
	if (!sr)
		return;
	close(sr->dirfd);
	free(sr);
}

const char *coh_sysroot_root(const struct coh_sysroot *sr)
{
	return sr->root;
}

int coh_sysroot_is_live(const struct coh_sysroot *sr)
{
	return sr->live;
}

/* "/proc/meminfo" -> "proc/meminfo", relative to the root's fd. */
static const char *relative(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

/* fd or -errno; how: COH__RESOLVE_*. */
static int resolve(const struct coh_sysroot *sr, const char *path, int flags,
		   unsigned int how)
{
	int nofollow = how & COH__RESOLVE_NOFOLLOW ? O_NOFOLLOW : 0;
	int fd;

	if (sr->live) {
		fd = openat(sr->dirfd, relative(path), flags | nofollow | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if (!sr->walk) {
		fd = coh__openat2_in_root(sr->dirfd, relative(path), flags | nofollow);
		if (fd != -ENOSYS)
			return fd;
	}
	return coh__walk_in_root(sr->dirfd, relative(path), flags, how, NULL, 0);
}

static int open_in_root(const struct coh_sysroot *sr, const char *path,
			int flags, unsigned int how, struct pep_err *err)
{
	int fd = resolve(sr, path, flags, how);

	if (fd == -ELOOP && (how & COH__RESOLVE_NOFOLLOW))
		return pep_err_set(err, fd, "%s: a symlink; not writing through it", path);
	if (fd < 0)
		return pep_err_set(err, fd, "%s: %s", path, strerror(-fd));
	return fd;
}

int coh_sysroot_read(const struct coh_sysroot *sr, const char *path,
		     char *buf, size_t size, struct pep_err *err)
{
	int sysfs = !strncmp(path, "/sys/", 5);
	size_t len = 0;
	ssize_t n;
	int fd;

	if (size == 0)
		return pep_err_set(err, -EINVAL, "%s: empty buffer", path);
	if (sr->on_read)
		sr->on_read(path, sr->on_read_arg);
	fd = open_in_root(sr, path, O_RDONLY, 0, err);
	if (fd < 0)
		return fd;
	/*
	 * A sysfs attribute arrives whole in one read, so a short read there
	 * is the end; procfs and regular files may need more reads.
	 */
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int ret = pep_err_errno(err, "read %s", path);

			close(fd);
			return ret;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (sysfs && len < size - 1)
			break;
	}
	close(fd);
	buf[len] = '\0';
	return (int)len;
}

/* Grow *buf to hold more than *cap bytes, up to max + 1; -ENOMEM. */
static int grow(char **buf, size_t *cap, size_t max)
{
	size_t ncap = *cap < 4096 ? 4096 : *cap * 2;
	char *nbuf;

	if (ncap > max + 1)
		ncap = max + 1;
	nbuf = realloc(*buf, ncap + 1);
	if (!nbuf)
		return -ENOMEM;
	*buf = nbuf;
	*cap = ncap;
	return 0;
}

/* Read fd to the end into *buf, at most max bytes (max + 1: too big). */
static ssize_t read_to_end(int fd, char **buf, size_t max)
{
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (len == cap && (cap == max + 1 || grow(buf, &cap, max) < 0))
			return cap == max + 1 ? (ssize_t)len : -ENOMEM;
		n = read(fd, *buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)len;
		len += (size_t)n;
	}
}

int coh_sysroot_read_all(const struct coh_sysroot *sr, const char *path,
			 size_t max_bytes, char **text, size_t *len,
			 struct pep_err *err)
{
	char *buf = NULL;
	ssize_t n;
	int fd;

	*text = NULL;
	if (sr->on_read)
		sr->on_read(path, sr->on_read_arg);
	fd = open_in_root(sr, path, O_RDONLY, 0, err);
	if (fd < 0)
		return fd;
	n = read_to_end(fd, &buf, max_bytes);
	close(fd);
	if (n < 0 || (size_t)n > max_bytes) {
		free(buf);
		if (n == -ENOMEM)
			return pep_err_set(err, -ENOMEM, "%s: out of memory", path);
		if (n < 0)
			return pep_err_set(err, (int)n, "read %s: %s", path, strerror((int)-n));
		return pep_err_set(err, -EFBIG, "%s: larger than %zu bytes, the most read "
				   "from it: not the file it should be?", path, max_bytes);
	}
	if (!buf && !(buf = malloc(1)))
		return pep_err_set(err, -ENOMEM, "%s: out of memory", path);
	buf[n] = '\0';
	*text = buf;
	if (len)
		*len = (size_t)n;
	return 0;
}

int coh_sysroot_read_str(const struct coh_sysroot *sr, const char *path,
			 char *buf, size_t size, struct pep_err *err)
{
	int len = coh_sysroot_read(sr, path, buf, size, err);

	if (len < 0)
		return len;
	/* Device-tree strings end in NUL, sysfs values in a newline. */
	len = (int)strlen(buf);
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	return len;
}

int coh_sysroot_read_s64(const struct coh_sysroot *sr, const char *path,
			 int64_t *out, struct pep_err *err)
{
	char buf[64];
	int ret = coh_sysroot_read_str(sr, path, buf, sizeof(buf), err);

	if (ret < 0)
		return ret;
	if (coh__parse_s64(buf, out) < 0)
		return pep_err_set(err, -EINVAL, "%s: not a number: '%.32s'",
				   path, buf);
	return 0;
}

int coh_sysroot_write(const struct coh_sysroot *sr, const char *path,
		      const char *text, struct pep_err *err)
{
	size_t len = strlen(text);
	ssize_t n;
	int fd = open_in_root(sr, path, O_WRONLY | O_TRUNC,
			      COH__RESOLVE_NOFOLLOW, err);

	if (fd < 0)
		return fd;
	n = write(fd, text, len);
	if (n < 0 || (size_t)n != len) {
		int ret = n < 0 ? pep_err_errno(err, "write %s", path)
				: pep_err_set(err, -EIO, "write %s: short write", path);

		close(fd);
		return ret;
	}
	if (close(fd) < 0)
		return pep_err_errno(err, "write %s", path);
	return 0;
}

int coh_sysroot_exists(const struct coh_sysroot *sr, const char *path)
{
	int fd;

	if (sr->live)
		return faccessat(sr->dirfd, relative(path), F_OK, 0) == 0;
	fd = resolve(sr, path, O_PATH, 0);
	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

static int names_cmp(const void *a, const void *b)
{
	return coh__natural_cmp(*(char *const *)a, *(char *const *)b);
}

static int names_push(struct coh_names *names, size_t *cap, const char *name)
{
	if (names->count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		char **v = realloc(names->names, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		names->names = v;
		*cap = ncap;
	}
	names->names[names->count] = strdup(name);
	if (!names->names[names->count])
		return -ENOMEM;
	names->count++;
	return 0;
}

int coh_sysroot_list(const struct coh_sysroot *sr, const char *path,
		     struct coh_names *out, struct pep_err *err)
{
	struct dirent *de;
	size_t cap = 0;
	DIR *dir;
	int fd;

	out->names = NULL;
	out->count = 0;
	if (sr->on_read)
		sr->on_read(path, sr->on_read_arg);
	fd = open_in_root(sr, path, O_RDONLY | O_DIRECTORY, 0, err);
	if (fd < 0)
		return fd;
	dir = fdopendir(fd);
	if (!dir) {
		int ret = pep_err_errno(err, "%s", path);

		close(fd);
		return ret;
	}
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (names_push(out, &cap, de->d_name) < 0) {
			closedir(dir);
			coh_names_free(out);
			return pep_err_set(err, -ENOMEM, "%s: out of memory", path);
		}
	}
	closedir(dir);
	if (out->count)
		qsort(out->names, out->count, sizeof(*out->names), names_cmp);
	return 0;
}

void coh_names_free(struct coh_names *names)
{
	if (!names)
		return;
	for (size_t i = 0; i < names->count; i++)
		free(names->names[i]);
	free(names->names);
	names->names = NULL;
	names->count = 0;
}

static int live_realpath(const char *path, char *out, size_t size,
			 struct pep_err *err)
{
	char full[PATH_MAX], resolved[PATH_MAX];

	snprintf(full, sizeof(full), "/%s", relative(path));
	if (!realpath(full, resolved))
		return pep_err_errno(err, "%s", path);
	if (strlen(resolved) >= size)
		return pep_err_set(err, -ENAMETOOLONG, "%s: path too long", path);
	coh__strlcpy(out, resolved, size);
	return 0;
}

int coh_sysroot_realpath(const struct coh_sysroot *sr, const char *path,
			 char *out, size_t size, struct pep_err *err)
{
	int fd;

	if (sr->live)
		return live_realpath(path, out, size, err);
	/* Links resolve inside the tree; a ".." above its root is refused. */
	fd = coh__walk_in_root(sr->dirfd, relative(path), O_PATH,
			       COH__RESOLVE_STRICT, out, size);
	if (fd == -EXDEV)
		return pep_err_set(err, fd, "%s: resolves outside the sysroot", path);
	if (fd < 0)
		return pep_err_set(err, fd, "%s: %s", path, strerror(-fd));
	close(fd);
	return 0;
}

/*
 * The caller's environment for a Jetson program (nvpmodel, jetson_clocks)
 * run against sr: COHETE_SYSROOT=<root> for a captured tree (the
 * simulators in tests/sim read it), and no stale COHETE_SYSROOT for the
 * live machine.
 */
char **coh__child_env(const struct coh_sysroot *sr, char *sysroot_var,
		      size_t size)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "COHETE_SYSROOT=", 15))
			env[k++] = environ[i];
	if (!coh_sysroot_is_live(sr)) {
		snprintf(sysroot_var, size, "COHETE_SYSROOT=%s", coh_sysroot_root(sr));
		env[k] = sysroot_var;
	}
	return env;
}
