/*
 * build.c - a plan's artifacts, each made once, in a cache on this
 * machine.
 *
 * An artifact's name comes from its source's digest, its level and the
 * quantizer's version, so CACHE/ARTIFACT, when there, is the file this
 * code would write: it is used as it is. Its sha256 and size are kept in
 * CACHE/ARTIFACT.sum with the inode and mtime they were taken from; while
 * those match, the file is not read again. Sources over http(s) are
 * downloaded to CACHE/sources/SHA256.gguf (resumed when cut, verified).
 * Each artifact and each download is made under its own lock file
 * (flock), so a second build on this machine waits for the first and
 * then finds the file made. Locks are taken artifact first, then its
 * download, never the other way: two builds cannot wait on each other.
 *
 * A failure (a source that 404s, a wrong sha256, a quantizer error) fails
 * the items of that artifact and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cohete/config.h>
#include <cohete/fleet.h>
#include <cohete/quant.h>
#include <pepita/core.h>

#include "fleet_priv.h"

#define MIB	(1ull << 20)

/* One source file, shared by the artifacts made from it. */
struct source {
	const char *url;		/* the model's resolved source */
	char want[COH_FLEET_SHA256_HEX];	/* the plan's digest; "" unknown */
	bool tried;
	bool checked;			/* hashed against digest, or downloaded so */
	int error;
	char *msg;
	char *path;			/* the local file or the download */
	char digest[COH_FLEET_SHA256_HEX];
};

struct build {
	const struct coh_config *cfg;
	struct coh_fleet_plan *plan;
	const struct coh_fleet_build_opts *o;
	char cache[PATH_MAX];
	char sources[PATH_MAX];
	struct source *src;		/* one per item at most */
	size_t nsrc;
	bool *done;			/* per item */
	int made;
};

static void say(const struct build *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void say(const struct build *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!b->o->log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	b->o->log(line, b->o->arg);
}

static bool is_remote(const char *url)
{
	return !strncmp(url, "http://", 7) || !strncmp(url, "https://", 8);
}

static int join(char *buf, const char *dir, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* DIR/NAME into a PATH_MAX buffer. */
static int join(char *buf, const char *dir, const char *fmt, ...)
{
	char name[PATH_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(name))
		return -ENAMETOOLONG;
	n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* ---- the cache directory ---------------------------------------------------- */

COH_API int coh_fleet_cache_dir(char *buf, size_t size)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	struct passwd pw, *found = NULL;
	char pwbuf[4096];

	/* The XDG spec: a relative path in the variable is to be ignored. */
	if (xdg && xdg[0] == '/')
		return snprintf(buf, size, "%s/cohete/artifacts", xdg);
	if ((!home || home[0] != '/') &&
	    !getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found) && found)
		home = found->pw_dir;
	if (!home || home[0] != '/')
		return -ENOENT;
	return snprintf(buf, size, "%s/.cache/cohete/artifacts", home);
}

static int mkdir_p(const char *path, struct pep_err *err)
{
	char p[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(p))
		return pep_err_set(err, -ENAMETOOLONG, "%s: name too long", path);
	memcpy(p, path, n + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return pep_err_errno(err, "mkdir %s", p);
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		return pep_err_errno(err, "mkdir %s", p);
	return 0;
}

/* ---- locks and sums ------------------------------------------------------------ */

/* Wait for the lock file's lock; it is dropped by closing *fd. */
static int lock_take(const char *path, int *fd, struct pep_err *err)
{
	int rc;

	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0)
		return pep_err_errno(err, "open %s", path);
	while (flock(*fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		rc = pep_err_errno(err, "lock %s", path);
		close(*fd);
		*fd = -1;
		return rc;
	}
	return 0;
}

static void lock_drop(int fd)
{
	if (fd >= 0)
		close(fd);
}

static uint64_t mtime_ns(const struct stat *st)
{
	return (uint64_t)st->st_mtim.tv_sec * 1000000000u +
	       (uint64_t)st->st_mtim.tv_nsec;
}

/*
 * The sum file: "SHA256 SIZE INODE MTIME_NS\n", true when it is of the
 * file as it is now.
 */
static bool sum_read(const char *sum, const struct stat *st,
		     char hex[COH_FLEET_SHA256_HEX])
{
	uint64_t size, ino, mt;
	char line[256], nl = 0;
	FILE *f = fopen(sum, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(line, sizeof(line), f) &&
	     sscanf(line, "%64[0-9a-f] %" SCNu64 " %" SCNu64 " %" SCNu64 "%c",
		    hex, &size, &ino, &mt, &nl) == 5 && nl == '\n' &&
	     strlen(hex) == 64 && size == (uint64_t)st->st_size &&
	     ino == (uint64_t)st->st_ino && mt == mtime_ns(st);
	fclose(f);
	return ok;
}

/* Written beside, then renamed: a reader sees the old sum or the new. */
static int sum_write(const char *sum, const struct stat *st, const char *hex,
		     struct pep_err *err)
{
	char tmp[PATH_MAX + 16];
	FILE *f;
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", sum, (int)getpid());
	f = fopen(tmp, "we");
	if (!f)
		return pep_err_errno(err, "create %s", tmp);
	fprintf(f, "%s %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", hex,
		(uint64_t)st->st_size, (uint64_t)st->st_ino, mtime_ns(st));
	if (fflush(f) || fsync(fileno(f)))
		rc = pep_err_errno(err, "write %s", tmp);
	if (fclose(f) && !rc)
		rc = pep_err_errno(err, "write %s", tmp);
	if (!rc && rename(tmp, sum) < 0)
		rc = pep_err_errno(err, "rename %s", tmp);
	if (rc)
		unlink(tmp);
	return rc;
}

/* The artifact's size and sha256, from its sum file while it is current. */
static int artifact_sum(const char *path, uint64_t *size,
			char hex[COH_FLEET_SHA256_HEX], struct pep_err *err)
{
	char sum[PATH_MAX + 8];
	struct stat st;
	int rc;

	if (stat(path, &st) < 0)
		return pep_err_errno(err, "stat %s", path);
	*size = (uint64_t)st.st_size;
	snprintf(sum, sizeof(sum), "%s.sum", path);
	if (sum_read(sum, &st, hex))
		return 0;
	rc = pep_sha256_file(path, hex, err);
	return rc ? rc : sum_write(sum, &st, hex, err);
}

/* ---- sources -------------------------------------------------------------------- */

/*
 * The source of url expected to have digest ("": any). A URL fetched
 * already in this build is that file; one expected with another digest
 * is fetched (and fails) on its own.
 */
static struct source *source_of(struct build *b, const char *url,
				const char *digest)
{
	for (size_t i = 0; i < b->nsrc; i++) {
		struct source *s = &b->src[i];

		if (strcmp(s->url, url))
			continue;
		if (!strcmp(s->want, digest) ||
		    (!digest[0] && s->tried && !s->error))
			return s;
	}
	b->src[b->nsrc].url = url;
	memcpy(b->src[b->nsrc].want, digest, sizeof(b->src[0].want));
	return &b->src[b->nsrc++];
}

/*
 * CACHE/sources/NAME.gguf: NAME is the sha256 when known; before the
 * download has told it, "url-" and the start of the URL's.
 */
static int download_name(struct build *b, const struct source *s,
			 const char *digest, char dest[PATH_MAX],
			 char lock[PATH_MAX])
{
	char name[COH_FLEET_SHA256_HEX + 8], hex[COH_FLEET_SHA256_HEX];

	if (digest[0]) {
		snprintf(name, sizeof(name), "%s", digest);
	} else {
		pep_sha256_hex(s->url, strlen(s->url), hex);
		snprintf(name, sizeof(name), "url-%.16s", hex);
	}
	if (join(dest, b->sources, "%s.gguf", name) ||
	    join(lock, b->sources, ".%s.lock", name))
		return -ENAMETOOLONG;
	return 0;
}

static int download(struct build *b, struct source *s, const char *digest,
		    const char *dest, char sha256[COH_FLEET_SHA256_HEX],
		    struct pep_err *e)
{
	struct coh_fleet_fetch_opts fo = { 0 };
	struct coh_fleet_fetch_result res;
	int rc;

	if (digest[0] && access(dest, F_OK) == 0) {
		say(b, "%s: downloaded before (%s)", s->url, dest);
		memcpy(sha256, digest, COH_FLEET_SHA256_HEX);
		return 0;
	}
	if (b->o->fetch)
		fo = *b->o->fetch;
	fo.sha256 = digest[0] ? digest : NULL;
	say(b, "%s: downloading", s->url);
	rc = coh_fleet_fetch(s->url, dest, &fo, &res, e);
	if (rc)
		return rc;
	say(b, "%s: %.1f MiB, sha256 %s%s", s->url, (double)res.size_bytes / MIB,
	    res.sha256, res.resumed_bytes ? " (resumed)" : "");
	memcpy(sha256, res.sha256, COH_FLEET_SHA256_HEX);
	return 0;
}

/* Downloaded into CACHE/sources under its sha256, known or learnt. */
static int source_download(struct build *b, struct source *s,
			   const char *digest, struct pep_err *e)
{
	char dest[PATH_MAX], lock[PATH_MAX], final[PATH_MAX];
	int fd, rc;

	if (download_name(b, s, digest, dest, lock))
		return pep_err_set(e, -ENAMETOOLONG, "%s: cache path too long",
				   b->sources);
	rc = lock_take(lock, &fd, e);
	if (rc)
		return rc;
	rc = download(b, s, digest, dest, s->digest, e);
	if (!rc && join(final, b->sources, "%s.gguf", s->digest))
		rc = pep_err_set(e, -ENAMETOOLONG, "%s: cache path too long",
				 b->sources);
	if (!rc && !digest[0] && rename(dest, final) < 0)
		rc = pep_err_errno(e, "rename %s to %s", dest, final);
	lock_drop(fd);
	if (rc)
		return rc;
	s->checked = true;		/* verified, or hashed, as it came */
	s->path = strdup(final);
	return s->path ? 0 : pep_err_set(e, -ENOMEM, "out of memory");
}

/* The item's source, found (and downloaded) once per build. */
static int source_get(struct build *b, const struct coh_fleet_plan_item *it,
		      struct source **out, struct pep_err *e)
{
	const char *url = b->cfg->models[it->model].resolved_url;
	struct source *s;

	if (!url)
		return pep_err_set(e, -ENOENT, "%s: no source", it->model_name);
	s = *out = source_of(b, url, it->digest);
	if (s->tried)
		return s->error ? pep_err_set(e, s->error, "%s", s->msg ? s->msg : "") : 0;
	s->tried = true;
	if (is_remote(url)) {
		s->error = source_download(b, s, it->digest, e);
	} else {
		memcpy(s->digest, it->digest, sizeof(s->digest));
		s->path = strdup(url);
		if (!s->path)
			s->error = pep_err_set(e, -ENOMEM, "out of memory");
	}
	if (s->error)
		s->msg = strdup(e->msg);
	return s->error;
}

/*
 * A local file is hashed before it is quantized: a file changed since the
 * plan would otherwise be built under another file's name.
 */
static int source_check(struct source *s, struct pep_err *e)
{
	char hex[COH_FLEET_SHA256_HEX];
	int rc;

	if (s->checked)
		return 0;
	s->checked = true;
	rc = pep_sha256_file(s->path, hex, e);
	if (!rc && strcmp(hex, s->digest))
		rc = pep_err_set(e, -EILSEQ,
				 "%s changed since it was planned: its sha256 is %s, the plan's %s",
				 s->path, hex, s->digest);
	if (rc) {
		s->error = rc;
		s->msg = strdup(e->msg);
	}
	return rc;
}

/* ---- artifacts ----------------------------------------------------------------- */

static int artifact_quantize(struct build *b, const struct coh_fleet_plan_item *it,
			     const char *out, struct pep_err *e)
{
	struct coh_quantize_opts qo = {
		.ftype = it->ftype, .threads = b->o->threads,
	};
	struct source *s;
	uint64_t t0;
	int rc;

	rc = source_get(b, it, &s, e);
	if (!rc)
		rc = source_check(s, e);
	if (rc)
		return rc;
	t0 = pep_time_ns();
	rc = coh_quantize_file(s->path, out, &qo, e);
	if (rc)
		return rc;
	b->made++;
	say(b, "%s: quantized to %s from %s in %.1f s", it->artifact, it->level,
	    s->path, (double)(pep_time_ns() - t0) / 1e9);
	return 0;
}

/* Name an item whose source's digest the download told. */
static int name_item(struct build *b, struct coh_fleet_plan_item *it,
		     const char *digest, struct pep_err *e)
{
	int rc;

	if (it->artifact)
		return 0;
	rc = coh__fleet_place(it, b->cfg, digest);
	if (rc)
		return pep_err_set(e, rc, "out of memory");
	if (it->error)
		return pep_err_set(e, it->error, "%s", it->error_msg);
	return 0;
}

static int artifact_make(struct build *b, struct coh_fleet_plan_item *it,
			 struct pep_err *e)
{
	char out[PATH_MAX], lock[PATH_MAX];
	struct source *s;
	int fd, rc;

	if (!it->artifact) {
		rc = source_get(b, it, &s, e);
		if (!rc)
			rc = name_item(b, it, s->digest, e);
		if (rc)
			return rc;
	}
	if (join(out, b->cache, "%s", it->artifact) ||
	    join(lock, b->cache, ".%s.lock", it->artifact))
		return pep_err_set(e, -ENAMETOOLONG, "%s: cache path too long", b->cache);
	rc = lock_take(lock, &fd, e);
	if (rc)
		return rc;
	it->built_cached = access(out, F_OK) == 0;
	if (it->built_cached)
		say(b, "%s: in the cache", it->artifact);
	else
		rc = artifact_quantize(b, it, out, e);
	if (!rc)
		rc = artifact_sum(out, &it->built_size, it->built_sha256, e);
	if (!rc && !(it->built_path = strdup(out)))
		rc = pep_err_set(e, -ENOMEM, "out of memory");
	lock_drop(fd);
	return rc;
}

/* ---- items --------------------------------------------------------------------- */

static bool wanted(const struct coh_fleet_plan_item *it)
{
	return !it->error && it->fits;
}

/* Items of one artifact: by name, or, before it has one, by model and level. */
static bool same_artifact(const struct coh_fleet_plan_item *a,
			  const struct coh_fleet_plan_item *b)
{
	if (a->digest_at_build || b->digest_at_build)
		return a->digest_at_build && b->digest_at_build &&
		       a->model == b->model && a->ftype == b->ftype;
	return !strcmp(a->artifact, b->artifact);
}

static void item_reset(struct coh_fleet_plan_item *it)
{
	free(it->built_path);
	free(it->build_error_msg);
	it->built_path = it->build_error_msg = NULL;
	it->built_size = 0;
	it->built_sha256[0] = '\0';
	it->built_cached = false;
	it->build_error = 0;
}

/* What the leader's artifact came to, for each item of it. */
static void item_finish(struct build *b, struct coh_fleet_plan_item *it,
			const struct coh_fleet_plan_item *lead, int rc,
			const struct pep_err *e)
{
	struct pep_err ne;

	pep_err_clear(&ne);
	if (it != lead && lead->artifact && !it->artifact && !rc) {
		rc = name_item(b, it, lead->digest, &ne);
		e = &ne;
	}
	if (!rc && it != lead) {
		it->built_path = strdup(lead->built_path);
		it->built_size = lead->built_size;
		memcpy(it->built_sha256, lead->built_sha256, sizeof(it->built_sha256));
		it->built_cached = lead->built_cached;
		if (!it->built_path)
			rc = pep_err_set(&ne, -ENOMEM, "out of memory");
		e = &ne;
	}
	if (!rc)
		return;
	it->build_error = rc;
	it->build_error_msg = strdup(e->msg);
	b->plan->build_errors++;
}

static void build_artifact(struct build *b, size_t i)
{
	struct coh_fleet_plan *plan = b->plan;
	struct coh_fleet_plan_item *lead = &plan->items[i];
	struct pep_err e;
	int rc;

	pep_err_clear(&e);
	rc = artifact_make(b, lead, &e);
	if (rc)
		say(b, "%s: %s", lead->artifact ? lead->artifact : lead->model_name,
		    e.msg);
	for (size_t j = i; j < plan->count; j++) {
		struct coh_fleet_plan_item *it = &plan->items[j];

		if (b->done[j] || !wanted(it) || (j != i && !same_artifact(lead, it)))
			continue;
		b->done[j] = true;
		item_finish(b, it, lead, rc, &e);
	}
}

static int build_init(struct build *b, const struct coh_fleet_build_opts *opts,
		      struct pep_err *err)
{
	static const struct coh_fleet_build_opts none;
	int n;

	b->o = opts ? opts : &none;
	if (b->o->cache_dir)
		n = snprintf(b->cache, sizeof(b->cache), "%s", b->o->cache_dir);
	else
		n = coh_fleet_cache_dir(b->cache, sizeof(b->cache));
	if (n == -ENOENT)
		return pep_err_set(err, -ENOENT,
				   "no build cache: set XDG_CACHE_HOME or HOME");
	if (n <= 0 || (size_t)n >= sizeof(b->cache) - 64)
		return pep_err_set(err, -ENAMETOOLONG, "build cache: bad path");
	snprintf(b->sources, sizeof(b->sources), "%s/sources", b->cache);
	b->src = calloc(b->plan->count + 1, sizeof(*b->src));
	b->done = calloc(b->plan->count + 1, sizeof(*b->done));
	if (!b->src || !b->done)
		return pep_err_set(err, -ENOMEM, "out of memory");
	return mkdir_p(b->sources, err);
}

static void build_free(struct build *b)
{
	for (size_t i = 0; b->src && i < b->nsrc; i++) {
		free(b->src[i].path);
		free(b->src[i].msg);
	}
	free(b->src);
	free(b->done);
}

COH_API int coh_fleet_build(const struct coh_config *cfg,
			    struct coh_fleet_plan *plan,
			    const struct coh_fleet_build_opts *opts,
			    struct pep_err *err)
{
	struct build b = { .cfg = cfg, .plan = plan };
	int rc;

	if (!cfg || !plan)
		return pep_err_set(err, -EINVAL, "no configuration or no plan to build");
	rc = build_init(&b, opts, err);
	if (rc) {
		build_free(&b);
		return rc;
	}
	plan->build_errors = 0;
	for (size_t i = 0; i < plan->count; i++)
		item_reset(&plan->items[i]);
	for (size_t i = 0; i < plan->count; i++)
		if (!b.done[i] && wanted(&plan->items[i]))
			build_artifact(&b, i);
	build_free(&b);
	return b.made;
}
