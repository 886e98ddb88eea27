/*
 * node.c - the device's half of a deploy: what `cohete engine` runs there,
 * over the deployer's ssh session.
 *
 * Receive: a model file arrives on stdin into ROOT/.incoming/NAME.part,
 * resumed from what an earlier, cut transfer left; it is hashed as it is
 * written and renamed into ROOT only when its sha256 is the one the
 * deployer computed, so a file under its final name is always whole.
 * Before a byte is written the free space is checked: a deploy never
 * fills the device's disk (1% of it stays free).
 *
 * Activate: the engine's new spec becomes the model's candidate, with a
 * deadline; the engine supervisor (the agent) stops the running engine,
 * starts the candidate and probes it. Ready: the candidate is promoted
 * (the active link flips) and the old version becomes the previous one.
 * Not ready by the deadline, or failed: the candidate link is removed,
 * the supervisor goes back to the active version, and we wait for it to
 * answer again. If this process dies halfway (the deploy was killed, the
 * ssh session cut), the deadline does the same without us: the device
 * always ends on a version that answered.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include <cohete/engine.h>
#include <cohete/fleet.h>
#include <pepita/core.h>
#include <pepita/proc.h>

#include "internal.h"
#include "fleet_priv.h"

#define MIB			(1ull << 20)
#define INCOMING		".incoming"
#define COPY_CHUNK		(256u * 1024)
#define POLL_MS			25
/* How long a supervisor may take to notice a new candidate (its tick). */
#define PICKUP_S		15

/* A name that is a plain file name under ROOT: no '/', not . or .. */
static bool name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 200 || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == n && name[0] != '.';
}

static bool hex64_ok(const char *s)
{
	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	fsync(fd);
	close(fd);
	return 0;
}

/* ==== space ==================================================================== */

COH_API int coh_fleet_node_space(const char *root, uint64_t *free_bytes,
				 uint64_t *total_bytes, struct pep_err *err)
{
	struct statvfs sv;

	if (statvfs(root, &sv) < 0)
		return pep_err_errno(err, "%s", root);
	*free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	*total_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
	return 0;
}

/* Room for need more bytes, leaving 1% of the file system free. */
static int check_space(const char *root, uint64_t need, struct pep_err *err)
{
	uint64_t avail, total, keep;
	int rc = coh_fleet_node_space(root, &avail, &total, err);

	if (rc)
		return rc;
	keep = total / 100;
	if (need + keep > avail)
		return pep_err_set(err, -ENOSPC,
				   "%s: not enough space: the model needs %llu MiB more, %llu MiB free (%llu MiB kept free)",
				   root, (unsigned long long)((need + MIB - 1) / MIB),
				   (unsigned long long)(avail / MIB),
				   (unsigned long long)(keep / MIB));
	return 0;
}

/* ==== receive ================================================================== */

/* One answer line of the receive protocol: "WORD N". */
static int say(int fd, const char *word, unsigned long long v)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %llu\n", word, v);

	return pep_write_all(fd, line, (size_t)n);
}

/* Hash the bytes a cut transfer left, so the whole file is checked. */
static int hash_prefix(int fd, uint64_t len, struct pep_sha256 *h, char *buf)
{
	uint64_t off = 0;

	while (off < len) {
		size_t want = len - off < COPY_CHUNK ? (size_t)(len - off) : COPY_CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		pep_sha256_update(h, buf, (size_t)n);
		off += (uint64_t)n;
	}
	return 0;
}

/* Copy the rest from in_fd, hashing it. */
static int take_rest(int in_fd, int fd, uint64_t off, uint64_t size,
		     struct pep_sha256 *h, char *buf, uint64_t *got)
{
	*got = off;
	while (*got < size) {
		size_t want = size - *got < COPY_CHUNK ? (size_t)(size - *got) : COPY_CHUNK;
		ssize_t n = read(in_fd, buf, want);
		int rc;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		rc = (int)pwrite(fd, buf, (size_t)n, (off_t)*got);
		if (rc != n)
			return rc < 0 ? -errno : -EIO;
		pep_sha256_update(h, buf, (size_t)n);
		*got += (uint64_t)n;
	}
	return 0;
}

static int artifact_present(const char *root, const char *name, uint64_t size)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       (uint64_t)st.st_size == size;
}

/* Rename a verified .part into place. */
static int finish_part(const char *root, const char *name, const char *part,
		       struct pep_err *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (rename(part, path) < 0)
		return pep_err_errno(err, "rename %s", part);
	fsync_dir(root);
	return 0;
}

static int open_part(const char *root, const char *name, char *part,
		     size_t size, struct pep_err *err)
{
	char dir[4096];
	int fd;

	snprintf(dir, sizeof(dir), "%s/" INCOMING, root);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return pep_err_errno(err, "%s", dir);
	snprintf(part, size, "%s/%s.part", dir, name);
	fd = open(part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return pep_err_errno(err, "%s", part);
	return fd;
}

static int receive_into(const char *root, const char *name, uint64_t size,
			const char *sha256, int fd, const char *part,
			int in_fd, int out_fd, struct pep_err *err)
{
	struct pep_sha256 h;
	char hex[COH_FLEET_SHA256_HEX], *buf;
	struct stat st;
	uint64_t off, got = 0;
	int rc;

	if (fstat(fd, &st) < 0)
		return pep_err_errno(err, "%s", part);
	off = (uint64_t)st.st_size <= size ? (uint64_t)st.st_size : 0;
	if (off == 0 && st.st_size && ftruncate(fd, 0) < 0)
		return pep_err_errno(err, "%s", part);
	rc = check_space(root, size - off, err);
	if (rc)
		return rc;
	buf = malloc(COPY_CHUNK);
	if (!buf)
		return pep_err_set(err, -ENOMEM, "out of memory");
	pep_sha256_init(&h);
	rc = hash_prefix(fd, off, &h, buf);
	if (rc) {
		free(buf);
		return pep_err_set(err, rc, "%s: %s", part, strerror(-rc));
	}
	rc = say(out_fd, "offset", (unsigned long long)off);
	if (!rc)
		rc = take_rest(in_fd, fd, off, size, &h, buf, &got);
	free(buf);
	if (rc == -EPIPE)
		return pep_err_set(err, -EPIPE,
				   "%s: the transfer was cut at %llu of %llu bytes (kept; a new deploy resumes it)",
				   name, (unsigned long long)got, (unsigned long long)size);
	if (rc)
		return pep_err_set(err, rc, "%s: %s", part, strerror(-rc));
	if (fsync(fd) < 0)
		return pep_err_errno(err, "fsync %s", part);
	pep_sha256_final(&h, hex);
	if (strcmp(hex, sha256)) {
		unlink(part);
		return pep_err_set(err, -EILSEQ, "%s: sha256 %s after the copy, expected %s (the copy was dropped)",
				   name, hex, sha256);
	}
	return finish_part(root, name, part, err);
}

COH_API int coh_fleet_node_receive(const char *root, const char *name,
				   uint64_t size, const char *sha256,
				   int in_fd, int out_fd, struct pep_err *err)
{
	char part[4096];
	int fd, rc;

	if (!name_ok(name))
		return pep_err_set(err, -EINVAL, "'%s' is not a model file name", name);
	if (!hex64_ok(sha256))
		return pep_err_set(err, -EINVAL, "--sha256: 64 lower-case hex digits");
	if (artifact_present(root, name, size))
		return say(out_fd, "have", (unsigned long long)size);
	fd = open_part(root, name, part, sizeof(part), err);
	if (fd < 0)
		return fd;
	rc = receive_into(root, name, size, sha256, fd, part, in_fd, out_fd, err);
	close(fd);
	if (!rc)
		rc = say(out_fd, "ok", (unsigned long long)size);
	return rc;
}

/* After a copy by rsync into .incoming/NAME.part: hash it, then rename. */
COH_API int coh_fleet_node_verify(const char *root, const char *name,
				  const char *sha256, struct pep_err *err)
{
	char part[4096], hex[COH_FLEET_SHA256_HEX];
	int rc;

	if (!name_ok(name))
		return pep_err_set(err, -EINVAL, "'%s' is not a model file name", name);
	if (!hex64_ok(sha256))
		return pep_err_set(err, -EINVAL, "--sha256: 64 lower-case hex digits");
	snprintf(part, sizeof(part), "%s/" INCOMING "/%s.part", root, name);
	rc = pep_sha256_file(part, hex, err);
	if (rc)
		return rc;
	if (strcmp(hex, sha256)) {
		unlink(part);
		return pep_err_set(err, -EILSEQ, "%s: sha256 %s after the copy, expected %s (the copy was dropped)",
				   name, hex, sha256);
	}
	return finish_part(root, name, part, err);
}

/* ==== state ==================================================================== */

static json_t *jstr_or_null(const char *s)
{
	return s && *s ? json_string(s) : json_null();
}

/*
 * The regular files of dir whose names end in suffix, as {name,
 * size_bytes}: with strip, the name without the suffix (a part is listed
 * under its artifact's name).
 */
static json_t *files_json(const char *dir, const char *suffix, bool strip)
{
	json_t *arr = json_array();
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t slen = suffix ? strlen(suffix) : 0;

	while (arr && d && (e = readdir(d))) {
		char path[4096];
		struct stat st;
		size_t n = strlen(e->d_name);

		if (e->d_name[0] == '.' || (slen && (n <= slen ||
		    strcmp(e->d_name + n - slen, suffix))))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		json_array_append_new(arr, json_pack("{s:s%,s:I}", "name", e->d_name,
						      strip ? n - slen : n, "size_bytes",
						      (json_int_t)st.st_size));
	}
	if (d)
		closedir(d);
	return arr;
}

static json_t *engine_state_json(const char *root, const char *model)
{
	struct coh_engine_state st;
	struct pep_err e;

	if (coh_engine_state_read(root, model, &st, &e) < 0)
		return json_null();
	return json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:I,s:s}",
			 "version", st.version, "which", st.which,
			 "state", coh_engine_run_name(st.run), "pid", st.pid,
			 "port", (int)st.port, "restart_count", (json_int_t)st.restarts,
			 "rss_bytes", (json_int_t)st.rss_bytes, "reason", st.reason);
}

static json_t *spec_json(const char *root, const char *model, const char *which)
{
	struct coh_engine_spec *s;
	struct pep_err e;
	json_t *j;
	char *text;

	if (coh_engine_load(root, model, which, &s, &e) < 0)
		return json_null();
	text = coh_engine_spec_json(s);
	coh_engine_spec_free(s);
	j = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	/* A deadline is a candidate's; the active spec keeps it from then. */
	json_object_del(j, "deadline");
	return j ? j : json_null();
}

static json_t *model_json(const char *root, const char *model)
{
	char active[256] = "", previous[256] = "", candidate[256] = "";

	coh_engine_read_link(root, model, "active", active, sizeof(active));
	coh_engine_read_link(root, model, "previous", previous, sizeof(previous));
	coh_engine_read_link(root, model, "candidate", candidate, sizeof(candidate));
	return json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "model", model,
			 "active", jstr_or_null(active),
			 "previous", jstr_or_null(previous),
			 "candidate", jstr_or_null(candidate),
			 "spec", spec_json(root, model, "active"),
			 "engine", engine_state_json(root, model));
}

static json_t *models_json(const char *root)
{
	json_t *arr = json_array();
	char **names = NULL;
	size_t n = 0;

	if (coh_engine_models(root, &names, &n) < 0)
		return arr;
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, model_json(root, names[i]));
	coh_engine_models_free(names, n);
	return arr;
}

/* ---- what the device's agent and engines say over loopback HTTP ---- */

#define LOCAL_BODY_MAX	(1u << 20)

struct body {
	char *buf;
	size_t len;
};

static size_t body_take(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;
	char *grown;

	if (b->len + len > LOCAL_BODY_MAX)
		return 0;		/* too much: the transfer fails */
	grown = realloc(b->buf, b->len + len + 1);
	if (!grown)
		return 0;
	memcpy(grown + b->len, p, len);
	b->buf = grown;
	b->len += len;
	b->buf[b->len] = '\0';
	return len;
}

/* GET http://127.0.0.1:port/path: the body (malloc'd) on a 200; NULL and why. */
static char *local_get(unsigned int port, const char *path, unsigned int timeout_ms,
		       char *why, size_t size)
{
	CURL *c = curl_easy_init();
	struct body b = { 0 };
	char url[128];
	long status = 0;
	CURLcode rc;

	if (!c) {
		snprintf(why, size, "out of memory");
		return NULL;
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500	/* 7.85: the string form */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
#else					/* Ubuntu 22.04's 7.81, on JetPack 6 */
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTP);
#endif
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || status != 200) {
		if (rc != CURLE_OK)
			snprintf(why, size, "%s: %s", url, curl_easy_strerror(rc));
		else
			snprintf(why, size, "%s: HTTP %ld", url, status);
		free(b.buf);
		return NULL;
	}
	return b.buf ? b.buf : strdup("");
}

/* The breaker and the budget of the agent's /v1/status, or why not. */
static void add_agent(json_t *doc, unsigned int port, unsigned int timeout_ms)
{
	char why[512];
	char *text = local_get(port, "/v1/status", timeout_ms, why, sizeof(why));
	json_t *st = text ? json_loads(text, 0, NULL) : NULL;

	free(text);
	if (!json_is_object(st)) {
		json_object_set_new(doc, "agent", json_null());
		json_object_set_new(doc, "agent_error", json_string(text || st ? "the agent's status is not JSON" : why));
		json_decref(st);
		return;
	}
	json_object_set_new(doc, "agent", json_pack("{s:O?,s:O?}",
		"breaker", json_object_get(st, "breaker"),
		"budget", json_object_get(st, "budget")));
	json_decref(st);
}

/* The value of the Prometheus sample named key (a line "KEY VALUE"); < 0. */
static double sample_value(const char *text, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = text; p && (p = strstr(p, key)); p += n) {
		char *end;
		double v;

		if ((p != text && p[-1] != '\n') || p[n] != ' ')
			continue;
		v = strtod(p + n + 1, &end);
		return end != p + n + 1 && v >= 0 && v < 1e15 ? v : -1;
	}
	return -1;
}

/*
 * llama-server's generation speed since it started (its /metrics with
 * --metrics: tokens predicted over the seconds spent predicting them;
 * not llamacpp:predicted_tokens_seconds, which every read resets); < 0
 * when it does not say or has generated nothing yet.
 */
static double engine_tokens_per_s(unsigned int port, unsigned int timeout_ms)
{
	char why[256];
	char *text = local_get(port, "/metrics", timeout_ms, why, sizeof(why));
	double tokens = text ? sample_value(text, "llamacpp:tokens_predicted_total") : -1;
	double secs = text ? sample_value(text, "llamacpp:tokens_predicted_seconds_total") : -1;

	free(text);
	return tokens >= 0 && secs > 0 ? tokens / secs : -1;
}

/* Each ready engine's tokens/s, into its model's "engine". */
static void add_speeds(json_t *doc, unsigned int timeout_ms)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(doc, "models"), i, m) {
		json_t *eng = json_object_get(m, "engine");
		const char *state = json_string_value(json_object_get(eng, "state"));
		json_int_t port = json_integer_value(json_object_get(eng, "port"));
		double tps;

		if (!state || strcmp(state, "ready") || port <= 0 || port > 65535)
			continue;
		tps = engine_tokens_per_s((unsigned int)port, timeout_ms);
		json_object_set_new(eng, "tokens_per_s", tps >= 0 ? json_real(tps) : json_null());
	}
}

COH_API char *coh_fleet_node_state(const char *root,
				   const struct coh_fleet_node_state_opts *o,
				   struct pep_err *err)
{
	unsigned int timeout_ms = o && o->timeout_ms ? o->timeout_ms : 1000;
	uint64_t avail = 0, total = 0;
	char dir[4096], found[4096], now[PEP_RFC3339_SIZE];
	json_t *doc;
	char *text;

	if (coh_fleet_node_space(root, &avail, &total, err) < 0)
		return NULL;
	snprintf(dir, sizeof(dir), "%s/" INCOMING, root);
	pep_time_rfc3339(pep_time_real_ms(), now, sizeof(now));
	doc = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:b,s:o,s:o,s:o}",
			"schema", "cohete.engine-state/1", "timestamp", now, "root", root,
			"free_bytes", (json_int_t)avail,
			"total_bytes", (json_int_t)total,
			"rsync", pep_proc_find("rsync", found, sizeof(found)) == 0,
			"systemd", access("/run/systemd/system", F_OK) == 0,
			"artifacts", files_json(root, ".gguf", false),
			"partials", files_json(dir, ".part", true),
			"models", models_json(root));
	if (doc)
		add_speeds(doc, timeout_ms);
	if (doc && o && o->agent_port)
		add_agent(doc, o->agent_port, timeout_ms);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		pep_err_set(err, -ENOMEM, "out of memory");
	return text;
}

/* ==== activate ================================================================= */

static void result_set(struct coh_fleet_node_result *r, const char *what,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void result_set(struct coh_fleet_node_result *r, const char *what,
		       const char *fmt, ...)
{
	va_list ap;

	snprintf(r->result, sizeof(r->result), "%s", what);
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

/*
 * Wait until the supervisor runs version and it is ready: 0; -EIO when it
 * failed (why in r->reason); -ETIMEDOUT at the deadline; -ESRCH when no
 * supervisor took it up within PICKUP_S.
 */
static int wait_ready(const char *root, const char *model, const char *version,
		      int64_t deadline_ms, struct coh_fleet_node_result *r)
{
	int64_t start = now_ms();
	bool seen = false;

	for (;;) {
		struct coh_engine_state st;
		struct pep_err e;

		if (coh_engine_state_read(root, model, &st, &e) == 0 &&
		    !strcmp(st.version, version)) {
			seen = true;
			if (st.run == COH_ENGINE_READY)
				return 0;
			if (st.run == COH_ENGINE_FAILED) {
				snprintf(r->reason, sizeof(r->reason), "%s", st.reason);
				return -EIO;
			}
			snprintf(r->reason, sizeof(r->reason), "%s%s%s",
				 coh_engine_run_name(st.run), st.reason[0] ? ": " : "",
				 st.reason);
		}
		if (!seen && now_ms() - start > PICKUP_S * 1000)
			return -ESRCH;
		if (now_ms() >= deadline_ms)
			return -ETIMEDOUT;
		sleep_ms(POLL_MS);
	}
}

/* The candidate failed: drop it and wait for the active version again. */
static int fall_back(const char *root, const char *model, const char *version,
		     int rc, unsigned int timeout_s,
		     struct coh_fleet_node_result *r, struct pep_err *err)
{
	char active[256] = "", why[sizeof(r->reason)];
	struct coh_fleet_node_result back = { 0 };

	snprintf(why, sizeof(why), "%s", rc == -ESRCH ?
		 "no engine supervisor took the new version up: is `cohete agent --engines` running on the device?" :
		 rc == -ETIMEDOUT ? "not ready in time" : r->reason);
	if (rc == -ETIMEDOUT && r->reason[0])
		snprintf(why + strlen(why), sizeof(why) - strlen(why), " (%s)", r->reason);
	coh_engine_link(root, model, "candidate", NULL, err);
	if (coh_engine_read_link(root, model, "active", active, sizeof(active)) < 0) {
		result_set(r, "failed", "%s: %s; nothing ran before", version, why);
		return pep_err_set(err, -EIO, "%s", r->reason);
	}
	rc = wait_ready(root, model, active, now_ms() + (int64_t)timeout_s * 1000, &back);
	result_set(r, "rolled-back", "%s: %s; back on %s%s%s", version, why, active,
		   rc ? ", which is not ready either: " : "", rc ? back.reason : "");
	return pep_err_set(err, -EIO, "%s", r->reason);
}

static bool same_strv(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static bool same_str(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Everything but the deadline: what makes two specs the same version. */
static bool spec_same(const struct coh_engine_spec *a,
		      const struct coh_engine_spec *b)
{
	return same_str(a->model, b->model) && same_str(a->artifact, b->artifact) &&
	       same_str(a->sha256, b->sha256) && same_str(a->level, b->level) &&
	       same_str(a->host, b->host) && a->port == b->port &&
	       a->memory_max_bytes == b->memory_max_bytes &&
	       same_strv(a->argv, a->argc, b->argv, b->argc);
}

/* The model's active spec is s already: it only has to answer. */
static int activate_same(const char *root, const struct coh_engine_spec *s,
			 const char *active, int64_t deadline_ms,
			 struct coh_fleet_node_result *r, struct pep_err *err)
{
	int rc = wait_ready(root, s->model, active, deadline_ms, r);

	snprintf(r->version, sizeof(r->version), "%s", active);
	if (!rc) {
		result_set(r, "unchanged", "%s runs already", active);
		return 0;
	}
	result_set(r, "failed", "%s is active and not ready: %s", active,
		   rc == -ESRCH ? "no engine supervisor runs it" : r->reason);
	return pep_err_set(err, -EIO, "%s", r->reason);
}

static int artifact_readable(const char *root, const char *name,
			     struct pep_err *err)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (access(path, R_OK) < 0)
		return pep_err_errno(err, "%s", path);
	return 0;
}

/* Make s the candidate, wait for it, promote it or fall back. */
static int activate_new(const char *root, struct coh_engine_spec *s,
			unsigned int timeout_s, int64_t start,
			struct coh_fleet_node_result *r, struct pep_err *err)
{
	char version[256];
	int rc;

	s->deadline = (int64_t)time(NULL) + timeout_s;
	rc = coh_engine_store(root, s, version, sizeof(version), err);
	if (!rc)
		rc = coh_engine_link(root, s->model, "candidate", version, err);
	if (rc)
		return rc;
	snprintf(r->version, sizeof(r->version), "%s", version);
	rc = wait_ready(root, s->model, version, start + (int64_t)timeout_s * 1000, r);
	if (rc)
		return fall_back(root, s->model, version, rc, timeout_s, r, err);
	rc = coh_engine_promote(root, s->model, err);
	if (!rc)
		result_set(r, "activated", "%s ready in %.1f s", version,
			   (double)(now_ms() - start) / 1000.0);
	return rc;
}

COH_API int coh_fleet_node_activate(const char *root, const char *spec_text,
				    size_t len, unsigned int timeout_s,
				    struct coh_fleet_node_result *r,
				    struct pep_err *err)
{
	struct coh_engine_spec *s, *cur = NULL;
	char active[256] = "";
	int64_t start = now_ms();
	int rc;

	memset(r, 0, sizeof(*r));
	if (!timeout_s)
		timeout_s = COH_FLEET_READY_TIMEOUT_S;
	rc = coh_engine_spec_parse(spec_text, len, &s, err);
	if (rc)
		return rc;
	rc = artifact_readable(root, s->artifact, err);
	if (!rc && coh_engine_read_link(root, s->model, "active", active,
					sizeof(active)) == 0 &&
	    coh_engine_load(root, s->model, "active", &cur, NULL) == 0 &&
	    spec_same(s, cur))
		rc = activate_same(root, s, active, start + (int64_t)timeout_s * 1000,
				   r, err);
	else if (!rc)
		rc = activate_new(root, s, timeout_s, start, r, err);
	r->ready_ms = (uint64_t)(now_ms() - start);
	coh_engine_spec_free(cur);
	coh_engine_spec_free(s);
	return rc;
}

COH_API int coh_fleet_node_rollback(const char *root, const char *model,
				    unsigned int timeout_s,
				    struct coh_fleet_node_result *r,
				    struct pep_err *err)
{
	char active[256] = "";
	int64_t start = now_ms();
	int rc;

	memset(r, 0, sizeof(*r));
	if (!timeout_s)
		timeout_s = COH_FLEET_READY_TIMEOUT_S;
	rc = coh_engine_rollback(root, model, err);
	if (rc)
		return rc;
	coh_engine_read_link(root, model, "active", active, sizeof(active));
	snprintf(r->version, sizeof(r->version), "%s", active);
	rc = wait_ready(root, model, active, start + (int64_t)timeout_s * 1000, r);
	if (rc) {
		result_set(r, "failed", "%s: back on %s, which is not ready: %s", model,
			   active, rc == -ESRCH ? "no engine supervisor runs it" : r->reason);
		return pep_err_set(err, -EIO, "%s", r->reason);
	}
	result_set(r, "rolled-back", "%s: back on %s, ready in %.1f s", model,
		   active, (double)(now_ms() - start) / 1000.0);
	r->ready_ms = (uint64_t)(now_ms() - start);
	return 0;
}
