/*
 * Sysroot: reads of the target's /proc, /sys, /etc and /var, under a prefix.
 *
 * The live system is root "/"; a fixture is any directory laid out the same
 * way. Paths are opened relative to a directory fd of the root, so relative
 * symlinks inside a captured tree (sysfs is full of them) resolve inside the
 * tree. Files are read with one read() up to the buffer size: sysfs and
 * procfs produce a whole attribute per read, and this is the hot path of
 * every status sample.
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

extern char **environ;

struct coh_sysroot {
	int dirfd;
	int live;
	coh_sysroot_read_fn on_read;
	void *on_read_arg;
	char root[PATH_MAX];
};

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

static int open_in_root(const struct coh_sysroot *sr, const char *path,
			int flags, struct pep_err *err)
{
	int fd = openat(sr->dirfd, relative(path), flags | O_CLOEXEC);

	if (fd < 0)
		return pep_err_errno(err, "%s", path);
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
	fd = open_in_root(sr, path, O_RDONLY, err);
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
	int fd = open_in_root(sr, path, O_WRONLY | O_TRUNC, err);

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
	return faccessat(sr->dirfd, relative(path), F_OK, 0) == 0;
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
	fd = open_in_root(sr, path, O_RDONLY | O_DIRECTORY, err);
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

int coh_sysroot_realpath(const struct coh_sysroot *sr, const char *path,
			 char *out, size_t size, struct pep_err *err)
{
	char full[PATH_MAX], resolved[PATH_MAX];
	size_t rootlen = sr->live ? 0 : strlen(sr->root);
	const char *rest;

	if (snprintf(full, sizeof(full), "%s/%s", sr->live ? "" : sr->root,
		     relative(path)) >= (int)sizeof(full))
		return pep_err_set(err, -ENAMETOOLONG, "%s: path too long", path);
	if (!realpath(full, resolved))
		return pep_err_errno(err, "%s", path);
	if (!sr->live) {
		char rootreal[PATH_MAX];

		if (!realpath(sr->root, rootreal))
			return pep_err_errno(err, "sysroot %s", sr->root);
		rootlen = strlen(rootreal);
		/* A link out of a captured tree is not part of the target. */
		if (strncmp(resolved, rootreal, rootlen) != 0 ||
		    (resolved[rootlen] != '/' && resolved[rootlen] != '\0'))
			return pep_err_set(err, -EXDEV,
					   "%s: resolves outside the sysroot", path);
	}
	rest = resolved + rootlen;
	if (!*rest)
		rest = "/";
	if (strlen(rest) >= size)
		return pep_err_set(err, -ENAMETOOLONG, "%s: path too long", path);
	coh__strlcpy(out, rest, size);
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
