/*
 * jetson_clocks' store file: --store into cohete's state directory and
 * --restore from it, every restored file read back. jetson_clocks
 * --restore writes, as root, whatever paths its store file names, so on,
 * off and restore hand it only the store file in cohete's state
 * directory, after checking who may have written it (this user, nobody
 * else may write it, not a link) and that it names only files under /sys.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pepita/proc.h>
#include <cohete/power.h>

#include "internal.h"
#include "clocks_priv.h"

#define STORE_FILE_MAX (1024 * 1024)
#define STORE_NAME "l4t_dfs.conf"

static const char *state_dir(const struct coh_clocks_opts *o)
{
	return o->state_dir && *o->state_dir ? o->state_dir : COH_CLOCKS_STATE_DIR;
}

int coh_clocks_store_path(const struct coh_clocks_opts *opts, const char *file,
			  char *out, size_t size, struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	int n = file && *file ? snprintf(out, size, "%s", file) :
		snprintf(out, size, "%s/" STORE_NAME, state_dir(o));

	if (n < 0 || (size_t)n >= size)
		return pep_err_set(err, -ENAMETOOLONG, "store file path too long: %.64s...",
				   file && *file ? file : state_dir(o));
	return 0;
}

/* Like ssh with its keys: ours, and nobody else may change it. */
static int check_owner(const char *what, const char *path, const struct stat *st,
		       struct pep_err *err)
{
	if (st->st_uid != geteuid())
		return pep_err_set(err, -EPERM, "%s %s: owned by uid %u, not by this user "
				   "(uid %u); not trusting it", what, path,
				   (unsigned int)st->st_uid, (unsigned int)geteuid());
	if (st->st_mode & 022)
		return pep_err_set(err, -EPERM, "%s %s: permissions %04o let others change it; "
				   "not trusting it (chmod go-w %s)", what, path,
				   (unsigned int)(st->st_mode & 07777), path);
	return 0;
}

/* The state directory: made (0700) when asked and absent, then checked. */
int coh__clocks_state_dir_ready(const struct coh_clocks_opts *o, int create,
				struct pep_err *err)
{
	const char *dir = state_dir(o);
	struct stat st;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return pep_err_errno(err, "state directory %s", dir);
	if (lstat(dir, &st) < 0)
		return pep_err_errno(err, "state directory %s", dir);
	if (!S_ISDIR(st.st_mode))
		return pep_err_set(err, -ENOTDIR, "state directory %s: not a directory", dir);
	return check_owner("state directory", dir, &st, err);
}

static int same_path(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];

	return !strcmp(a, b) || (realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb));
}

/*
 * on, off and restore use only the store file under the state directory:
 * jetson_clocks --restore writes, as root, every path a store file names,
 * so a file someone else could have written is never handed to it.
 */
int coh__clocks_own_store_file(const struct coh_clocks_opts *o, const char *file,
			       char *path, size_t size, struct pep_err *err)
{
	int ret = coh_clocks_store_path(o, NULL, path, size, err);

	if (ret < 0 || !file || !*file || same_path(file, path))
		return ret;
	return pep_err_set(err, -EPERM, "%s: cohete restores only the store file it writes "
			   "itself, %s (jetson_clocks --restore writes, as root, every path a "
			   "store file names); check that file and run jetson_clocks "
			   "--restore yourself", file, path);
}

/* Read fd whole, NUL-terminated, malloc'd; -EFBIG over STORE_FILE_MAX. */
static int read_fd(int fd, const char *path, char **text, struct pep_err *err)
{
	size_t len = 0;
	ssize_t n = 1;
	char *buf = malloc(STORE_FILE_MAX + 1);

	if (!buf)
		return pep_err_set(err, -ENOMEM, "%s: out of memory", path);
	while (len <= STORE_FILE_MAX &&
	       (n = read(fd, buf + len, STORE_FILE_MAX + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len > STORE_FILE_MAX) {
		int ret = n < 0 ? pep_err_errno(err, "read %s", path) :
			  pep_err_set(err, -EFBIG, "%s: larger than %d bytes: not a store file",
				      path, STORE_FILE_MAX);

		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

/* A file of this machine (not the sysroot's), NUL-terminated, malloc'd. */
static int read_host_file(const char *path, char **text, struct pep_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return pep_err_errno(err, "open %s", path);
	ret = read_fd(fd, path, text, err);
	close(fd);
	return ret;
}

/* The store file: not a link, a regular file that only we may change. */
static int read_store(const char *path, char **text, struct pep_err *err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), ret;
	struct stat st;

	if (fd < 0 && errno == ENOENT)
		return pep_err_set(err, -ENODATA,
				   "%s does not exist: nothing was stored to restore", path);
	if (fd < 0 && errno == ELOOP)
		return pep_err_set(err, -EPERM, "store file %s: a symlink; not trusting it",
				   path);
	if (fd < 0)
		return pep_err_errno(err, "open %s", path);
	ret = fstat(fd, &st) < 0 ? pep_err_errno(err, "%s", path) : 0;
	if (ret == 0 && !S_ISREG(st.st_mode))
		ret = pep_err_set(err, -EINVAL, "store file %s: not a regular file", path);
	if (ret == 0)
		ret = check_owner("store file", path, &st, err);
	if (ret == 0)
		ret = read_fd(fd, path, text, err);
	close(fd);
	return ret;
}

/*
 * A file jetson_clocks stores: clocks, idle states, devfreq, the EMC and
 * the fan, all under /sys. Written as it is: no "..", ".", "//" or
 * control characters, which no stored path has.
 */
static int stored_path_ok(const char *p)
{
	size_t n = strlen(p);

	if (strncmp(p, "/sys/", 5) || strstr(p, "//") || strstr(p, "/./") ||
	    strstr(p, "/../") || p[n - 1] == '/' || !strcmp(p + n - 2, "/.") ||
	    !strcmp(p + n - 3, "/.."))
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

static int stored_value_ok(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < ' ' || *v == 0x7f)
			return 0;
	return 1;
}

typedef int (*store_line_fn)(const char *path, const char *value, void *arg);

/*
 * Walk "path:value" lines (as `jetson_clocks --store` writes them; the
 * value is the first line of the file, so it has no ':' of its own).
 * Returns the number of settings, or -EINVAL naming the first bad line.
 */
static int walk_store(char *text, const char *file, store_line_fn fn,
		      void *arg, struct pep_err *err)
{
	unsigned int no = 0;
	int count = 0, ret;

	for (char *line = text, *next; line && *line; line = next) {
		char *colon;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		no++;
		line[strcspn(line, "\r")] = '\0';
		if (!*line)
			continue;
		colon = strchr(line, ':');
		if (line[0] != '/' || !colon)
			return pep_err_set(err, -EINVAL, "%s:%u: not \"path:value\": '%.48s'",
					   file, no, line);
		*colon = '\0';
		if (!stored_path_ok(line) || !stored_value_ok(colon + 1))
			return pep_err_set(err, -EINVAL, "%s:%u: '%.64s' is not a file under /sys "
					   "as jetson_clocks stores them (or its value holds a "
					   "control character)", file, no, line);
		if (fn && (ret = fn(line, colon + 1, arg)) < 0)
			return ret;
		count++;
	}
	return count;
}

/* Sync and rename the file jetson_clocks wrote; the caller removes tmpdir. */
static int check_and_rename(const char *tmp, const char *path, struct pep_err *err)
{
	struct pep_err perr;
	char *text;
	int fd, ret = read_host_file(tmp, &text, err);

	if (ret == -ENOENT)
		return pep_err_set(err, -EIO, "jetson_clocks --store wrote no file");
	if (ret < 0)
		return ret;
	ret = walk_store(text, path, NULL, NULL, &perr);
	free(text);
	if (ret <= 0)
		return pep_err_set(err, -EIO, "jetson_clocks --store: %s",
				   ret ? perr.msg : "it stored no settings");
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		ret = pep_err_errno(err, "sync %s", tmp);
		if (fd >= 0)
			close(fd);
		return ret;
	}
	close(fd);
	if (rename(tmp, path) < 0)
		return pep_err_errno(err, "rename %s to %s", tmp, path);
	return ret;
}

int coh_clocks_store(const struct coh_sysroot *sr,
		     const struct coh_clocks_opts *opts, const char *file,
		     struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	char path[PATH_MAX], tmpdir[PATH_MAX + 32], tmp[PATH_MAX + 48];
	const char *args[] = { "--store", tmp, NULL };
	struct pep_proc_result r;
	char *slash;
	int ret = coh_clocks_store_path(o, file, path, sizeof(path), err);

	/* The state directory's own file: made for it, only ours. */
	if (ret == 0 && !(file && *file))
		ret = coh__clocks_state_dir_ready(o, 1, err);
	if (ret < 0)
		return ret;
	/* A fresh directory beside the file: same filesystem for rename(). */
	slash = strrchr(path, '/');
	if (slash)
		snprintf(tmpdir, sizeof(tmpdir), "%.*s/.l4t_dfs.XXXXXX",
			 (int)(slash - path), path);
	else
		snprintf(tmpdir, sizeof(tmpdir), ".l4t_dfs.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		ret = pep_err_errno(err, "store %s: temporary directory %s", path, tmpdir);
		/* -ENOENT would read as "no jetson_clocks". */
		return ret == -ENOENT ? pep_err_set(err, -ENOTDIR, "store %s: no such directory",
						     path) : ret;
	}
	snprintf(tmp, sizeof(tmp), "%s/" STORE_NAME, tmpdir);
	ret = coh__clocks_run(sr, o, args, &r, err);
	if (ret == 0) {
		pep_proc_result_free(&r);
		ret = check_and_rename(tmp, path, err);
	}
	unlink(tmp);
	rmdir(tmpdir);
	return ret;
}

struct verify {
	const struct coh_sysroot *sr;
	struct pep_err *err;
	int verified;
};

/* A restored file must hold the stored value. */
static int verify_line(const char *path, const char *value, void *arg)
{
	struct verify *v = arg;
	char now[256], want[256];
	size_t n;

	if (coh_sysroot_read_str(v->sr, path, now, sizeof(now), NULL) < 0)
		return 0;
	coh__strlcpy(want, value, sizeof(want));
	n = strlen(want);
	while (n && isspace((unsigned char)want[n - 1]))
		want[--n] = '\0';
	if (strcmp(now, want))
		return pep_err_set(v->err, -EIO, "restore did not take: %s is %.32s, stored %.32s",
				   path, now, want);
	v->verified++;
	return 0;
}

/* The store file, checked: its settings are counted, or refused. */
static int load_store(const struct coh_clocks_opts *o, const char *path,
		      char **text, struct pep_err *err)
{
	int ret = coh__clocks_state_dir_ready(o, 0, err);

	if (ret == -ENOENT)
		return pep_err_set(err, -ENODATA, "%s does not exist: nothing was stored to "
				   "restore", path);
	if (ret == 0)
		ret = read_store(path, text, err);
	if (ret < 0)
		return ret;
	/* walk_store() cuts the text up; the caller reads it again. */
	ret = walk_store(*text, path, NULL, NULL, err);
	free(*text);
	*text = NULL;
	if (ret == 0)
		ret = pep_err_set(err, -EINVAL, "%s holds no settings", path);
	return ret;
}

int coh_clocks_restore(const struct coh_sysroot *sr,
		       const struct coh_clocks_opts *opts, const char *file,
		       struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	char path[PATH_MAX];
	const char *args[] = { "--restore", path, NULL };
	struct verify v = { .sr = sr, .err = err };
	struct pep_proc_result r;
	char *text = NULL;
	int ret = coh__clocks_own_store_file(o, file, path, sizeof(path), err);

	if (ret == 0)
		ret = load_store(o, path, &text, err);
	if (ret > 0)
		ret = coh__clocks_run(sr, o, args, &r, err);
	if (ret == 0) {
		pep_proc_result_free(&r);
		ret = read_store(path, &text, err);
	}
	if (ret == 0)
		ret = walk_store(text, path, verify_line, &v, err);
	free(text);
	return ret < 0 ? ret : v.verified;
}
