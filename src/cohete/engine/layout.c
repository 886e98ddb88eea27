/*
 * layout.c - the engine directories under ROOT: spec files, the active,
 * previous and candidate links, and the list of models.
 *
 * Every change is a rename(2) of something complete over what was there
 * (a spec written and fsync'd under a temporary name, a symlink made
 * under a temporary name), so a deploy killed at any point, or a power
 * cut, leaves each link pointing at a whole spec. Promote and rollback
 * order their renames so that active is valid after each one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/engine.h>

#include "internal.h"
#include "engine_priv.h"

int coh__engine_path(char *buf, size_t size, const char *root, const char *model,
		     const char *leaf, struct pep_err *err)
{
	int n = snprintf(buf, size, "%s/engines%s%s%s%s", root, model ? "/" : "",
			 model ? model : "", leaf ? "/" : "", leaf ? leaf : "");

	if (n < 0 || (size_t)n >= size)
		return pep_err_set(err, -ENAMETOOLONG, "%s/engines/%s: path too long", root,
				   model ? model : "");
	return 0;
}

static int which_ok(const char *which)
{
	return which && (!strcmp(which, "active") || !strcmp(which, "previous") ||
			 !strcmp(which, "candidate"));
}

static int check_names(const char *root, const char *model, const char *which,
		       struct pep_err *err)
{
	if (!root || !*root)
		return pep_err_set(err, -EINVAL, "engines: no root directory");
	if (!coh_engine_name_ok(model, COH_ENGINE_NAME_MAX))
		return pep_err_set(err, -EINVAL, "engines: \"%.80s\" is not a model name",
				   model ? model : "(null)");
	if (which && !which_ok(which))
		return pep_err_set(err, -EINVAL, "engines: \"%.20s\" is not active, previous "
				   "or candidate", which);
	return 0;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int coh__engine_write_atomic(const char *dir, const char *name, const char *text,
			     size_t len, int durable, struct pep_err *err)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, ret;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp))
		return pep_err_set(err, -ENAMETOOLONG, "%s/%s: path too long", dir, name);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return pep_err_errno(err, "write %s", path);
	ret = pep_write_all(fd, text, len);
	if (ret == 0 && fchmod(fd, 0644) < 0)
		ret = -errno;
	if (ret == 0 && durable && fsync(fd) < 0)
		ret = -errno;
	if (close(fd) < 0 && ret == 0)
		ret = -errno;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
		return pep_err_set(err, ret, "write %s: %s", path, strerror(-ret));
	}
	ret = durable ? fsync_dir(dir) : 0;
	return ret < 0 ? pep_err_set(err, ret, "fsync %s: %s", dir, strerror(-ret)) : 0;
}

/* mkdir -p, 0755. */
static int make_dirs(const char *path, struct pep_err *err)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return pep_err_set(err, -ENAMETOOLONG, "%s: path too long", path);
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return pep_err_errno(err, "mkdir %s", buf);
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

int coh_engine_store(const char *root, const struct coh_engine_spec *s, char *version,
		     size_t size, struct pep_err *err)
{
	char dir[PATH_MAX], name[COH_ENGINE_VERSION_MAX + 8], *text;
	struct coh_engine_spec *check;
	int ret = check_names(root, s->model, NULL, err);

	if (ret < 0)
		return ret;
	ret = coh_engine_spec_version(s, version, size);
	if (ret < 0)
		return pep_err_set(err, ret, "engine %s: %s", s->model,
				   ret == -ENOSPC ? "no room for the version" : "out of memory");
	text = coh_engine_spec_json(s);
	if (!text)
		return pep_err_set(err, -ENOMEM, "engine %s: out of memory", s->model);
	/* What the supervisor will read must parse: refuse it here instead. */
	ret = coh_engine_spec_parse(text, strlen(text), &check, err);
	coh_engine_spec_free(check);
	if (ret == 0)
		ret = coh__engine_path(dir, sizeof(dir), root, s->model, NULL, err);
	if (ret == 0)
		ret = make_dirs(dir, err);
	snprintf(name, sizeof(name), "%s.json", version);
	if (ret == 0)
		ret = coh__engine_write_atomic(dir, name, text, strlen(text), 1, err);
	free(text);
	return ret;
}

int coh_engine_read_link(const char *root, const char *model, const char *which,
			 char *version, size_t size)
{
	char path[PATH_MAX], target[COH_ENGINE_VERSION_MAX + 16];
	ssize_t n;
	size_t len;

	if (check_names(root, model, which, NULL) < 0 || !which)
		return -EINVAL;
	if (coh__engine_path(path, sizeof(path), root, model, which, NULL) < 0)
		return -ENAMETOOLONG;
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == EINVAL ? -EINVAL : -errno;
	target[n] = '\0';
	len = (size_t)n;
	if (len <= 5 || strcmp(target + len - 5, ".json"))
		return -EINVAL;
	target[len - 5] = '\0';
	if (!coh_engine_name_ok(target, COH_ENGINE_VERSION_MAX))
		return -EINVAL;
	if (len - 5 >= size)
		return -ENOSPC;
	memcpy(version, target, len - 4);
	return 0;
}

/* A symlink at a temporary name, renamed over path. */
static int replace_link(const char *dir, const char *which, const char *target,
			struct pep_err *err)
{
	char tmp[PATH_MAX], path[PATH_MAX];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, which) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, which,
			     (long)getpid()) >= sizeof(tmp))
		return pep_err_set(err, -ENAMETOOLONG, "%s/%s: path too long", dir, which);
	unlink(tmp);			/* a leftover of a process killed here */
	if (symlink(target, tmp) < 0)
		return pep_err_errno(err, "symlink %s", tmp);
	if (rename(tmp, path) < 0) {
		int ret = pep_err_errno(err, "rename %s to %s", tmp, path);

		unlink(tmp);
		return ret;
	}
	return 0;
}

int coh_engine_link(const char *root, const char *model, const char *which,
		    const char *version, struct pep_err *err)
{
	char dir[PATH_MAX], target[COH_ENGINE_VERSION_MAX + 8], path[PATH_MAX];
	struct stat st;
	int ret = check_names(root, model, which, err);

	if (ret == 0 && !which)
		ret = pep_err_set(err, -EINVAL, "engines: no link name");
	if (ret == 0)
		ret = coh__engine_path(dir, sizeof(dir), root, model, NULL, err);
	if (ret < 0)
		return ret;
	if (!version) {
		snprintf(path, sizeof(path), "%s/%s", dir, which);
		if (unlink(path) < 0 && errno != ENOENT)
			return pep_err_errno(err, "remove %s", path);
		ret = fsync_dir(dir);
		return ret < 0 && ret != -ENOENT ? pep_err_set(err, ret, "fsync %s", dir) : 0;
	}
	if (!coh_engine_name_ok(version, COH_ENGINE_VERSION_MAX))
		return pep_err_set(err, -EINVAL, "engine %s: \"%.80s\" is not a version", model,
				   version);
	snprintf(target, sizeof(target), "%s.json", version);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, target) >= sizeof(path))
		return pep_err_set(err, -ENAMETOOLONG, "%s/%s: path too long", dir, target);
	if (stat(path, &st) < 0)
		return pep_err_errno(err, "engine %s: version %s", model, version);
	ret = replace_link(dir, which, target, err);
	if (ret == 0 && (ret = fsync_dir(dir)) < 0)
		ret = pep_err_set(err, ret, "fsync %s: %s", dir, strerror(-ret));
	return ret;
}

int coh__engine_load_version(const char *root, const char *model, const char *version,
			     struct coh_engine_spec **out, struct stat *st,
			     struct pep_err *err)
{
	char dir[PATH_MAX], path[PATH_MAX], *text;
	struct stat sb;
	ssize_t n;
	int fd, ret = coh__engine_path(dir, sizeof(dir), root, model, NULL, err);

	if (ret < 0)
		return ret;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.json", dir, version) >= sizeof(path))
		return pep_err_set(err, -ENAMETOOLONG, "%s/%s.json: path too long", dir, version);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return pep_err_errno(err, "%s", path);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return pep_err_set(err, -EINVAL, "%s: not a regular file", path);
	}
	if (sb.st_size > COH_ENGINE_SPEC_MAX) {
		close(fd);
		return pep_err_set(err, -EFBIG, "%s: %lld bytes, at most %d", path,
				   (long long)sb.st_size, COH_ENGINE_SPEC_MAX);
	}
	text = malloc((size_t)sb.st_size + 1);
	n = text ? read(fd, text, (size_t)sb.st_size + 1) : -1;
	close(fd);
	if (n < 0) {
		free(text);
		return text ? pep_err_errno(err, "read %s", path) :
		       pep_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	ret = coh_engine_spec_parse(text, (size_t)n, out, err);
	free(text);
	if (ret < 0) {
		char why[PEP_ERR_MSG_MAX];

		coh__strlcpy(why, err ? err->msg : "", sizeof(why));
		return pep_err_set(err, ret, "%s: %s", path, why);
	}
	if (strcmp((*out)->model, model)) {
		pep_err_set(err, -EINVAL, "%s: the spec is model \"%s\", in the directory of "
			    "\"%s\"", path, (*out)->model, model);
		coh_engine_spec_free(*out);
		*out = NULL;
		return -EINVAL;
	}
	if (st)
		*st = sb;
	return 0;
}

int coh_engine_load(const char *root, const char *model, const char *which,
		    struct coh_engine_spec **out, struct pep_err *err)
{
	char version[COH_ENGINE_VERSION_MAX];
	int ret = check_names(root, model, which, err);

	*out = NULL;
	if (ret == 0 && !which)
		ret = pep_err_set(err, -EINVAL, "engines: no link name");
	if (ret < 0)
		return ret;
	ret = coh_engine_read_link(root, model, which, version, sizeof(version));
	if (ret < 0)
		return pep_err_set(err, ret, "engine %s: %s: %s", model, which,
				   ret == -ENOENT ? "no such link" :
				   ret == -EINVAL ? "not a link to <version>.json" :
				   strerror(-ret));
	return coh__engine_load_version(root, model, version, out, NULL, err);
}

int coh_engine_promote(const char *root, const char *model, struct pep_err *err)
{
	char cand[COH_ENGINE_VERSION_MAX], active[COH_ENGINE_VERSION_MAX];
	int ret = check_names(root, model, NULL, err), has_active;

	if (ret < 0)
		return ret;
	ret = coh_engine_read_link(root, model, "candidate", cand, sizeof(cand));
	if (ret < 0)
		return pep_err_set(err, ret, "engine %s: %s", model,
				   ret == -ENOENT ? "no candidate to promote" :
				   "the candidate link is not a version");
	has_active = coh_engine_read_link(root, model, "active", active, sizeof(active)) == 0;
	/* Again after a crash past the next step: previous is right already. */
	if (has_active && strcmp(active, cand) &&
	    (ret = coh_engine_link(root, model, "previous", active, err)) < 0)
		return ret;
	ret = coh_engine_link(root, model, "active", cand, err);
	if (ret == 0)
		ret = coh_engine_link(root, model, "candidate", NULL, err);
	return ret;
}

int coh_engine_rollback(const char *root, const char *model, struct pep_err *err)
{
	char prev[COH_ENGINE_VERSION_MAX], active[COH_ENGINE_VERSION_MAX];
	int ret = check_names(root, model, NULL, err);

	if (ret < 0)
		return ret;
	if (coh_engine_read_link(root, model, "previous", prev, sizeof(prev)) < 0)
		return pep_err_set(err, -ENOENT, "engine %s: no previous version to roll back to",
				   model);
	if (coh_engine_read_link(root, model, "active", active, sizeof(active)) < 0)
		return pep_err_set(err, -ENOENT, "engine %s: no active version", model);
	ret = coh_engine_link(root, model, "active", prev, err);
	if (ret == 0)
		ret = coh_engine_link(root, model, "previous", active, err);
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void coh_engine_models_free(char **names, size_t count)
{
	for (size_t i = 0; names && i < count; i++)
		free(names[i]);
	free(names);
}

static int is_dir_at(DIR *d, const char *name)
{
	struct stat st;

	return fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

int coh_engine_models(const char *root, char ***names, size_t *count)
{
	char path[PATH_MAX], **v = NULL, **grown;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;

	*names = NULL;
	*count = 0;
	if (!root || coh__engine_path(path, sizeof(path), root, NULL, NULL, NULL) < 0)
		return -EINVAL;
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (!coh_engine_name_ok(e->d_name, COH_ENGINE_NAME_MAX) || e->d_name[0] == '.' ||
		    !is_dir_at(d, e->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = realloc(v, cap * sizeof(*v));
			if (!grown)
				goto nomem;
			v = grown;
		}
		if (!(v[n] = strdup(e->d_name)))
			goto nomem;
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*names = v;
	*count = n;
	return 0;
nomem:
	closedir(d);
	coh_engine_models_free(v, n);
	return -ENOMEM;
}
