/*
 * fetch.c - models over http(s), through libcurl's easy interface.
 *
 * A download goes to DIR/.NAME.part, hashed as it arrives, and becomes
 * NAME only once whole, fsynced and (when a sha256 is expected) verified:
 * a file under its final name is always the whole file. A part left by a
 * cut transfer is continued with a Range request. Resuming is safe only
 * when the bytes kept and the bytes to come are of the same file: so
 * either a sha256 checks the result, or the server's validator (ETag, else
 * Last-Modified, kept on the part as an extended attribute) goes out as
 * If-Range and a changed file comes back whole. A server that ignores
 * Range answers 200: the part restarts from 0.
 *
 * The header fetch reads only the start of a remote GGUF, growing (1 MiB,
 * then 4x) until its key/values and tensor infos parse. The bytes land
 * in a sparse memfd the size of the whole file, so the GGUF reader (which
 * wants every tensor inside its buffer) parses the real header followed
 * by holes that read as zeros and cost nothing. A parse counts only when
 * the data section starts within the bytes that came from the server.
 *
 * Only http and https, also for redirects; connect and low-speed
 * timeouts; every error names the URL the caller gave.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <curl/curl.h>

#include <cohete/config.h>
#include <cohete/fleet.h>
#include <cohete/quant.h>
#include <pepita/core.h>

#include "fleet_priv.h"

#define MIB			((uint64_t)1 << 20)
#define DEFAULT_MAX_BYTES	(1ull << 40)
#define DEFAULT_CONNECT_MS	15000
#define DEFAULT_LOW_SPEED	1024
#define DEFAULT_LOW_SPEED_S	60
#define HEAD_FIRST		MIB
#define HEAD_MAX		(256 * MIB)
#define VALIDATOR_XATTR		"user.cohete.validator"
#define UNKNOWN			UINT64_MAX

/* ---- one transfer ---------------------------------------------------------- */

struct xfer;
typedef int (*xfer_begin_fn)(struct xfer *x);
typedef int (*xfer_sink_fn)(struct xfer *x, const uint8_t *p, size_t n);

struct xfer {
	CURL *curl;
	const char *url;		/* the caller's, for messages */
	const struct coh_fleet_fetch_opts *o;
	struct pep_err *err;
	char errbuf[CURL_ERROR_SIZE];
	/* The last response's head: a redirect's is replaced by the next. */
	long status;
	uint64_t range_start;		/* Content-Range: bytes A-B/T */
	uint64_t range_total;		/* T; UNKNOWN when absent or "*" */
	bool ranged;
	uint64_t length;		/* Content-Length; UNKNOWN when absent */
	char etag[128], last_modified[64], linked_etag[80], location[400];
	/* The body: begin once the final head is in, then the sink. */
	xfer_begin_fn begin;
	xfer_sink_fn sink;
	void *arg;
	bool begun;
	bool stopped;			/* the sink has all it wanted */
	int failed;			/* -errno from begin or sink, err set */
	uint64_t progress_base;		/* bytes before this response's */
	uint64_t progress_total;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* libcurl's global state, once for the process (never cleaned: other
 * threads may be using it until exit). */
static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static bool is_http_url(const char *url)
{
	return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
}

static uint64_t opt_or(uint64_t v, uint64_t dflt)
{
	return v ? v : dflt;
}

/* "Name: value" → value, when the line is that header. */
static const char *header_value(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

static bool parse_u64(const char *s, const char **end, uint64_t *v)
{
	char *e;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &e, 10);
	if (errno)
		return false;
	*end = e;
	return true;
}

/* Content-Range (RFC 9110 14.4): "bytes A-B/T", where T is a star when
 * the size is unknown, and a 416 has a star for A-B. */
static void parse_content_range(struct xfer *x, const char *v)
{
	uint64_t a, b, t = UNKNOWN;
	const char *p;

	if (strncasecmp(v, "bytes ", 6))
		return;
	v += 6;
	if (*v == '*') {
		if (v[1] == '/' && parse_u64(v + 2, &p, &t) && !*p)
			x->range_total = t;
		return;
	}
	if (!parse_u64(v, &p, &a) || *p != '-' || !parse_u64(p + 1, &p, &b) ||
	    *p != '/' || b < a)
		return;
	if (p[1] != '*' && (!parse_u64(p + 1, &p, &t) || *p || t <= b))
		return;
	x->ranged = true;
	x->range_start = a;
	x->range_total = t;
}

static void copy_value(char *dst, size_t size, const char *v)
{
	size_t n = strlen(v);

	if (n < size)
		memcpy(dst, v, n + 1);	/* a value too long is not ours */
}

static void head_reset(struct xfer *x, const char *status_line)
{
	const char *sp = strchr(status_line, ' ');

	x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
	x->ranged = false;
	x->range_start = 0;
	x->range_total = x->length = UNKNOWN;
	x->etag[0] = x->last_modified[0] = x->linked_etag[0] = '\0';
	x->location[0] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n, k = len;
	char line[512];
	const char *v;
	const char *end;

	while (k && (buf[k - 1] == '\n' || buf[k - 1] == '\r'))
		k--;
	if (k >= sizeof(line))
		return len;		/* none of ours is that long */
	memcpy(line, buf, k);
	line[k] = '\0';
	if (!strncmp(line, "HTTP/", 5))
		head_reset(x, line);
	else if ((v = header_value(line, "Content-Range")))
		parse_content_range(x, v);
	else if ((v = header_value(line, "Content-Length")) &&
		 (!parse_u64(v, &end, &x->length) || *end))
		x->length = UNKNOWN;
	else if ((v = header_value(line, "ETag")))
		copy_value(x->etag, sizeof(x->etag), v);
	else if ((v = header_value(line, "Last-Modified")))
		copy_value(x->last_modified, sizeof(x->last_modified), v);
	else if ((v = header_value(line, "X-Linked-ETag")))
		copy_value(x->linked_etag, sizeof(x->linked_etag), v);
	else if ((v = header_value(line, "Location")))
		copy_value(x->location, sizeof(x->location), v);
	return len;
}

/* The whole file's size as this response tells it; UNKNOWN if it does not. */
static uint64_t response_total(const struct xfer *x)
{
	if (x->status == 206)
		return x->range_total;
	return x->length;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	if (x->failed || x->stopped)
		return 0;
	if (!x->begun) {
		x->begun = true;
		if (x->status < 200 || x->status >= 300) {
			x->stopped = true;	/* an error page: the status says it */
			return 0;
		}
		x->failed = x->begin(x);
		if (x->failed || x->stopped)
			return 0;
	}
	x->failed = x->sink(x, (const uint8_t *)buf, len);
	return x->failed || x->stopped ? 0 : len;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = arg;

	if (x->begun && !x->failed && x->o->progress)
		x->o->progress(x->progress_base + (uint64_t)dlnow,
			       x->progress_total != UNKNOWN ? x->progress_total : 0,
			       x->o->arg);
	return 0;
}

static void set_protocols(CURL *c)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static int xfer_init(struct xfer *x, const char *url,
		     const struct coh_fleet_fetch_opts *o, struct pep_err *err)
{
	static const struct coh_fleet_fetch_opts none;

	memset(x, 0, sizeof(*x));
	x->url = url;
	x->o = o ? o : &none;
	x->err = err;
	if (!is_http_url(url))
		return pep_err_set(err, -EPROTONOSUPPORT,
				   "%s: not an http:// or https:// URL", url);
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_rc != CURLE_OK)
		return pep_err_set(err, -ENOMEM, "libcurl: %s",
				   curl_easy_strerror(curl_init_rc));
	x->curl = curl_easy_init();
	if (!x->curl)
		return pep_err_set(err, -ENOMEM, "%s: libcurl: out of memory", url);
	return 0;
}

/* Options of every request; the range and the callbacks' roles vary. */
static void xfer_setup(struct xfer *x, const char *range,
		       struct curl_slist *headers)
{
	CURL *c = x->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, x->url);
	set_protocols(c);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)opt_or(x->o->connect_timeout_ms, DEFAULT_CONNECT_MS));
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT,
			 (long)opt_or(x->o->low_speed_bytes, DEFAULT_LOW_SPEED));
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
			 (long)opt_or(x->o->low_speed_s, DEFAULT_LOW_SPEED_S));
	curl_easy_setopt(c, CURLOPT_USERAGENT, "cohete");
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	if (range)
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	if (headers)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	x->errbuf[0] = '\0';
	x->status = 0;
	x->begun = x->stopped = false;
	x->failed = 0;
}

static int http_fail(struct xfer *x)
{
	const char *where = NULL;
	int code = -EIO;

	if (x->status == 404 || x->status == 410)
		code = -ENOENT;
	else if (x->status == 401 || x->status == 403)
		code = -EACCES;
	curl_easy_getinfo(x->curl, CURLINFO_EFFECTIVE_URL, &where);
	if (where && strcmp(where, x->url))
		return pep_err_set(x->err, code, "%s: HTTP %ld (redirected to %s)",
				   x->url, x->status, where);
	return pep_err_set(x->err, code, "%s: HTTP %ld", x->url, x->status);
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EPROTONOSUPPORT;
	case CURLE_TOO_MANY_REDIRECTS:
		return -ELOOP;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_WEIRD_SERVER_REPLY:
		return -EPROTO;
	default:
		return -EIO;
	}
}

static int curl_fail(struct xfer *x, CURLcode rc)
{
	const char *why = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);

	/* The last head is the redirect's, which names where it pointed. */
	if (rc == CURLE_UNSUPPORTED_PROTOCOL && x->location[0])
		return pep_err_set(x->err, -EPROTONOSUPPORT,
				   "%s: redirected to %s, which is not http(s)",
				   x->url, x->location);
	return pep_err_set(x->err, curl_errno(rc), "%s: %s", x->url, why);
}

/*
 * Run the request set up; 0 when a 2xx body went to the sink whole (or
 * the sink stopped it on purpose). An empty body still begins.
 */
static int xfer_perform(struct xfer *x)
{
	CURLcode rc = curl_easy_perform(x->curl);

	if (x->failed)
		return x->failed;
	if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && x->stopped))
		return curl_fail(x, rc);
	if (x->status < 200 || x->status >= 300)
		return http_fail(x);
	if (!x->begun) {
		x->begun = true;
		x->failed = x->begin(x);
	}
	return x->failed;
}

static void xfer_free(struct xfer *x)
{
	if (x->curl)
		curl_easy_cleanup(x->curl);
	x->curl = NULL;
}

static int check_sha256(const char *hex, const char *url, struct pep_err *err)
{
	if (hex && (strlen(hex) != 64 ||
		    strspn(hex, "0123456789abcdefABCDEF") != 64))
		return pep_err_set(err, -EINVAL,
				   "%s: expected sha256 '%s' is not 64 hex digits",
				   url, hex);
	return 0;
}

/* ---- the download ------------------------------------------------------------- */

struct download {
	struct xfer x;
	const char *path;
	char part[4096];
	int fd;
	uint64_t offset;		/* bytes in the part, all hashed */
	uint64_t max_bytes;
	char validator[128];		/* the part's If-Range, "" if none */
	struct pep_sha256 sha;
	bool restarted;
	uint64_t resumed;
};

/* DIR/.NAME.part beside DIR/NAME. */
static int part_name(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	int n;

	if (!*name)
		return -EINVAL;
	n = snprintf(buf, size, "%.*s.%s.part", (int)(name - path), path, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/*
 * Open and lock the part. A lock won on a part another call renamed away
 * meanwhile is on the wrong file: open it again.
 */
static int part_open(struct download *d, struct pep_err *err)
{
	struct stat a, b;

	for (;;) {
		d->fd = open(d->part, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (d->fd < 0)
			return pep_err_errno(err, "open %s", d->part);
		if (flock(d->fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;

			close(d->fd);
			d->fd = -1;
			if (e == EWOULDBLOCK)
				return pep_err_set(err, -EBUSY,
						   "%s: another download to %s is running",
						   d->x.url, d->path);
			errno = e;
			return pep_err_errno(err, "lock %s", d->part);
		}
		if (fstat(d->fd, &a) == 0 && stat(d->part, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			break;
		close(d->fd);
	}
	if (fstat(d->fd, &a) < 0)
		return pep_err_errno(err, "stat %s", d->part);
	d->offset = (uint64_t)a.st_size;
	return 0;
}

static int part_truncate(struct download *d)
{
	if (ftruncate(d->fd, 0) < 0 || lseek(d->fd, 0, SEEK_SET) < 0)
		return pep_err_errno(d->x.err, "truncate %s", d->part);
	d->offset = 0;
	pep_sha256_init(&d->sha);
	return 0;
}

/* Hash the bytes an earlier call kept; the transfer continues after them. */
static int part_hash(struct download *d)
{
	static const size_t chunk = 1u << 20;
	uint8_t *buf = malloc(chunk);
	uint64_t done = 0;
	ssize_t n;

	pep_sha256_init(&d->sha);
	if (!buf)
		return pep_err_set(d->x.err, -ENOMEM, "out of memory");
	while (done < d->offset) {
		n = pread(d->fd, buf, chunk, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			return n < 0 ? pep_err_errno(d->x.err, "read %s", d->part) :
			       pep_err_set(d->x.err, -EIO, "%s: shorter than it was", d->part);
		}
		pep_sha256_update(&d->sha, buf, (size_t)n);
		done += (uint64_t)n;
	}
	free(buf);
	return lseek(d->fd, (off_t)d->offset, SEEK_SET) < 0 ?
	       pep_err_errno(d->x.err, "seek %s", d->part) : 0;
}

/* The server's validator of what it sends; a weak ETag cannot be one. */
static const char *response_validator(const struct xfer *x)
{
	if (x->etag[0] && strncmp(x->etag, "W/", 2))
		return x->etag;
	return x->last_modified[0] ? x->last_modified : NULL;
}

/* Kept on the part, so that a later call resumes only the same file. */
static void part_keep_validator(struct download *d)
{
	const char *v = response_validator(&d->x);

	if (v)
		(void)fsetxattr(d->fd, VALIDATOR_XATTR, v, strlen(v), 0);
	else
		(void)fremovexattr(d->fd, VALIDATOR_XATTR);
}

static void part_load_validator(struct download *d)
{
	ssize_t n = fgetxattr(d->fd, VALIDATOR_XATTR, d->validator,
			      sizeof(d->validator) - 1);

	d->validator[n > 0 ? n : 0] = '\0';
	/* A header value is printable ASCII; anything else is not ours. */
	for (ssize_t i = 0; i < n; i++)
		if (d->validator[i] < 0x20 || d->validator[i] > 0x7e)
			d->validator[0] = '\0';
}

static int too_big(struct download *d, uint64_t total)
{
	return pep_err_set(d->x.err, -EFBIG, "%s: %" PRIu64
			   " bytes, more than the limit of %" PRIu64,
			   d->x.url, total, d->max_bytes);
}

/* The final head is in: 206 continues the part, 200 restarts it. */
static int download_begin(struct xfer *x)
{
	struct download *d = x->arg;
	uint64_t total = response_total(x);
	int rc;

	if (x->status == 206 && x->ranged && x->range_start == d->offset) {
		d->resumed = d->offset;
	} else if (x->status == 206) {
		return pep_err_set(x->err, -EPROTO,
				   "%s: asked for bytes from %" PRIu64 ", got %s",
				   x->url, d->offset, x->ranged ? "others" :
				   "a 206 without Content-Range");
	} else if (d->offset) {
		d->restarted = true;
		rc = part_truncate(d);
		if (rc)
			return rc;
	}
	if (total != UNKNOWN && total > d->max_bytes)
		return too_big(d, total);
	part_keep_validator(d);
	x->progress_base = d->offset;
	x->progress_total = total;
	return 0;
}

static int download_sink(struct xfer *x, const uint8_t *p, size_t n)
{
	struct download *d = x->arg;
	int rc;

	if (d->offset + n > d->max_bytes)
		return too_big(d, d->offset + n);
	rc = pep_write_all(d->fd, p, n);
	if (rc) {
		errno = -rc;
		return pep_err_errno(x->err, "write %s", d->part);
	}
	pep_sha256_update(&d->sha, p, n);
	d->offset += n;
	return 0;
}

/*
 * One request from the part's end. -EAGAIN: the server refused the range
 * (416) and the part is not the whole file: it was truncated, ask again.
 */
static int download_once(struct download *d)
{
	struct curl_slist *headers = NULL, *h;
	char range[48], if_range[160];
	int rc;

	snprintf(range, sizeof(range), "%" PRIu64 "-", d->offset);
	if (d->offset && d->validator[0]) {
		snprintf(if_range, sizeof(if_range), "If-Range: %s", d->validator);
		h = curl_slist_append(headers, if_range);
		if (!h)
			return pep_err_set(d->x.err, -ENOMEM, "out of memory");
		headers = h;
	}
	xfer_setup(&d->x, d->offset ? range : NULL, headers);
	rc = xfer_perform(&d->x);
	curl_slist_free_all(headers);
	if (rc != -EIO || d->x.status != 416 || !d->offset)
		return rc;
	/* A 416 tells the size: the part is whole when it holds that many bytes
	 * (a call stopped between the last byte and the rename). */
	if (d->x.range_total == d->offset) {
		d->resumed = d->offset;
		return 0;
	}
	d->restarted = true;
	rc = part_truncate(d);
	return rc ? rc : -EAGAIN;
}

static int sha_mismatch(struct download *d, const char *want, const char *got)
{
	(void)unlink(d->part);
	return pep_err_set(d->x.err, -EILSEQ,
			   "%s: sha256 %s, expected %s (the download was deleted)",
			   d->x.url, got, want);
}

/* Whole: fsync, verify, rename into place. */
static int download_finish(struct download *d, struct coh_fleet_fetch_result *res)
{
	const char *want = d->x.o->sha256;
	char got[COH_FLEET_SHA256_HEX];

	pep_sha256_final(&d->sha, got);
	if (want && strcasecmp(want, got))
		return sha_mismatch(d, want, got);
	if (fsync(d->fd) < 0)
		return pep_err_errno(d->x.err, "fsync %s", d->part);
	(void)fremovexattr(d->fd, VALIDATOR_XATTR);
	if (rename(d->part, d->path) < 0)
		return pep_err_errno(d->x.err, "rename %s to %s", d->part, d->path);
	if (res) {
		res->size_bytes = d->offset;
		memcpy(res->sha256, got, sizeof(got));
		res->resumed_bytes = d->resumed;
		res->restarted = d->restarted;
	}
	return 0;
}

/*
 * Before asking for the rest: a part may be continued only when the result
 * is checked (a sha256) or the server can tell us it changed (If-Range).
 */
static int download_prepare(struct download *d)
{
	if (!d->offset)
		return part_truncate(d);
	part_load_validator(d);
	if (d->offset > d->max_bytes || (!d->x.o->sha256 && !d->validator[0])) {
		d->restarted = true;
		return part_truncate(d);
	}
	return part_hash(d);
}

COH_API int coh_fleet_fetch(const char *url, const char *path,
			    const struct coh_fleet_fetch_opts *opts,
			    struct coh_fleet_fetch_result *res,
			    struct pep_err *err)
{
	struct download d = { .fd = -1, .path = path };
	int rc;

	if (!url || !path)
		return pep_err_set(err, -EINVAL, "fetch: no URL or no path");
	if (res)
		memset(res, 0, sizeof(*res));
	rc = xfer_init(&d.x, url, opts, err);
	if (!rc)
		rc = check_sha256(d.x.o->sha256, url, err);
	if (!rc && part_name(path, d.part, sizeof(d.part)))
		rc = pep_err_set(err, -EINVAL, "%s: not a file name", path);
	if (rc)
		goto out;
	d.x.begin = download_begin;
	d.x.sink = download_sink;
	d.x.arg = &d;
	d.max_bytes = opt_or(d.x.o->max_bytes, DEFAULT_MAX_BYTES);
	rc = part_open(&d, err);
	if (!rc)
		rc = download_prepare(&d);
	for (int tries = 0; !rc || rc == -EAGAIN; tries++) {
		rc = tries < 2 ? download_once(&d) :
		     pep_err_set(err, -EIO, "%s: refuses every range", url);
		if (!rc)
			break;
	}
	if (!rc)
		rc = download_finish(&d, res);
	/* An empty part is no progress to keep. */
	if (rc && d.fd >= 0 && !d.offset)
		(void)unlink(d.part);
out:
	if (d.fd >= 0)
		close(d.fd);
	xfer_free(&d.x);
	return rc;
}

/* ---- the header of a remote GGUF --------------------------------------------- */

struct coh_fleet_head {
	uint8_t *map;			/* the file's size; holes past `have` */
	size_t map_len;
	uint64_t have;			/* bytes from the server */
	uint64_t want;			/* this request's end */
	uint64_t pos;			/* the file offset of the next byte sent */
	bool mapped;
	struct coh_gguf *g;
	char sha256[COH_FLEET_SHA256_HEX];	/* the server's; "" if none */
};

/* The sparse buffer, once the first answer says how large the file is. */
static int head_map(struct coh_fleet_head *h, struct xfer *x, uint64_t total)
{
	int fd;
	void *p;

	if (total == UNKNOWN)
		return pep_err_set(x->err, -EPROTO,
				   "%s: the server does not say the file's size",
				   x->url);
	if (total > opt_or(x->o->max_bytes, DEFAULT_MAX_BYTES) || total > SIZE_MAX)
		return pep_err_set(x->err, -EFBIG, "%s: %" PRIu64
				   " bytes, more than the limit", x->url, total);
	fd = memfd_create("cohete-gguf-header", MFD_CLOEXEC);
	if (fd < 0)
		return pep_err_errno(x->err, "memfd_create");
	if (total && ftruncate(fd, (off_t)total) < 0) {
		close(fd);
		return pep_err_errno(x->err, "memfd of %" PRIu64 " bytes", total);
	}
	p = total ? mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) :
		    NULL;
	close(fd);
	if (p == MAP_FAILED)
		return pep_err_errno(x->err, "mmap of %" PRIu64 " bytes", total);
	h->map = p;
	h->map_len = total;
	h->mapped = true;
	return 0;
}

/* The server's sha256 of the file: Hugging Face's X-Linked-ETag. */
static void head_server_sha256(struct coh_fleet_head *h, const struct xfer *x)
{
	const char *v = x->linked_etag;
	size_t n = strlen(v);

	if (n == 66 && v[0] == '"' && v[65] == '"') {
		v++;
		n = 64;
	}
	if (n != 64 || strspn(v, "0123456789abcdef") < 64)
		return;
	memcpy(h->sha256, v, 64);
	h->sha256[64] = '\0';
}

static int head_begin(struct xfer *x)
{
	struct coh_fleet_head *h = x->arg;
	uint64_t total = response_total(x);
	int rc = 0;

	if (!h->mapped && (rc = head_map(h, x, total)))
		return rc;
	if (total != UNKNOWN && total != h->map_len)
		return pep_err_set(x->err, -ESTALE,
				   "%s: the file changed while its header was read",
				   x->url);
	if (x->status == 206 && (!x->ranged || x->range_start > h->have))
		return pep_err_set(x->err, -EPROTO,
				   "%s: asked for bytes from %" PRIu64 ", got others",
				   x->url, h->have);
	if (!h->sha256[0])
		head_server_sha256(h, x);
	/* Where this body starts: a 200 sends the file from 0 again. */
	h->pos = x->status == 206 ? x->range_start : 0;
	x->progress_base = h->pos;
	x->progress_total = h->map_len;
	return 0;
}

/* Bytes at their place; those already had are skipped, those past want
 * stop the transfer. */
static int head_sink(struct xfer *x, const uint8_t *p, size_t n)
{
	struct coh_fleet_head *h = x->arg;
	uint64_t pos = h->pos, end = pos + n;
	uint64_t from = pos > h->have ? pos : h->have;
	uint64_t to = end < h->want ? end : h->want;

	h->pos = end;
	if (pos > h->have)
		return pep_err_set(x->err, -EPROTO, "%s: a gap in the bytes sent",
				   x->url);
	if (to > h->map_len)
		return pep_err_set(x->err, -EPROTO, "%s: more bytes than the file has",
				   x->url);
	if (to > from) {
		memcpy(h->map + from, p + (from - pos), to - from);
		h->have = to;
	}
	if (h->have >= h->want)
		x->stopped = true;
	return 0;
}

/* Fetch bytes [have, want). */
static int head_more(struct coh_fleet_head *h, struct xfer *x)
{
	char range[64];

	snprintf(range, sizeof(range), "%" PRIu64 "-%" PRIu64, h->have, h->want - 1);
	xfer_setup(x, range, NULL);
	return xfer_perform(x);
}

/*
 * Parse what we have: 1 when the header is whole, 0 when it needs more
 * bytes, -errno when it is not a GGUF file we read (err set).
 */
static int head_parse(struct coh_fleet_head *h, struct xfer *x)
{
	struct pep_err e;
	int rc;

	coh_gguf_close(h->g);
	h->g = NULL;
	pep_err_clear(&e);
	rc = coh_gguf_parse(h->map, h->map_len, &h->g, &e);
	if (!rc && coh_gguf_data_offset(h->g) <= h->have)
		return 1;
	if (!rc)
		rc = -EINVAL;
	/* Beyond more bytes' help: a wrong magic or version, the whole file. */
	if (h->have >= h->map_len || rc == -EOPNOTSUPP ||
	    (h->have >= 4 && memcmp(h->map, "GGUF", 4)) || h->have >= HEAD_MAX) {
		if (h->have >= HEAD_MAX && h->have < h->map_len)
			return pep_err_set(x->err, -EFBIG,
					   "%s: no GGUF header in its first %" PRIu64
					   " MiB (%s)", x->url, h->have / MIB, e.msg);
		return pep_err_set(x->err, rc, "%s: %s", x->url, e.msg);
	}
	return 0;
}

static int head_read(struct coh_fleet_head *h, struct xfer *x)
{
	int rc;

	x->begin = head_begin;
	x->sink = head_sink;
	x->arg = h;
	h->want = HEAD_FIRST;
	for (;;) {
		rc = head_more(h, x);
		if (rc)
			return rc;
		if (h->have < h->want && h->have < h->map_len)
			return pep_err_set(x->err, -EIO,
					   "%s: the server sent %" PRIu64
					   " bytes of the first %" PRIu64,
					   x->url, h->have, h->want);
		rc = head_parse(h, x);
		if (rc)
			return rc < 0 ? rc : 0;
		h->want = h->want * 4 < h->map_len ? h->want * 4 : h->map_len;
		if (h->want > HEAD_MAX)
			h->want = HEAD_MAX;
	}
}

COH_API int coh_fleet_head_fetch(const char *url,
				 const struct coh_fleet_fetch_opts *opts,
				 struct coh_fleet_head **out,
				 struct pep_err *err)
{
	struct coh_fleet_head *h;
	struct xfer x;
	int rc;

	if (!url || !out)
		return pep_err_set(err, -EINVAL, "fetch: no URL or no output");
	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return pep_err_set(err, -ENOMEM, "out of memory");
	rc = xfer_init(&x, url, opts, err);
	if (!rc)
		rc = head_read(h, &x);
	xfer_free(&x);
	if (rc) {
		coh_fleet_head_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

COH_API void coh_fleet_head_free(struct coh_fleet_head *h)
{
	if (!h)
		return;
	coh_gguf_close(h->g);
	if (h->map)
		munmap(h->map, h->map_len);
	free(h);
}

COH_API const struct coh_gguf *coh_fleet_head_gguf(const struct coh_fleet_head *h)
{
	return h->g;
}

COH_API uint64_t coh_fleet_head_size(const struct coh_fleet_head *h)
{
	return h->map_len;
}

COH_API uint64_t coh_fleet_head_fetched(const struct coh_fleet_head *h)
{
	return h->have;
}

COH_API const char *coh_fleet_head_sha256(const struct coh_fleet_head *h)
{
	return h->sha256[0] ? h->sha256 : NULL;
}

/* ---- an http(s) model as a plan's source ----------------------------------------- */

/*
 * The model's shape from its header, and its digest: the file's sha256
 * when the config gives it, else the server's, else "" (named at build).
 */
int coh__fleet_head_model(const struct coh_config_model *m,
			  const struct coh_fleet_fetch_opts *fetch,
			  struct coh_fleet_head **head,
			  struct coh_model_shape *shape,
			  struct coh_quant_tensor **tensors,
			  char digest[COH_FLEET_SHA256_HEX], struct pep_err *err)
{
	struct coh_fleet_fetch_opts o = fetch ? *fetch : (struct coh_fleet_fetch_opts){ 0 };
	struct pep_err e;
	int rc;

	o.sha256 = NULL;		/* the whole file's: not the header's */
	o.progress = NULL;
	digest[0] = '\0';
	rc = coh_fleet_head_fetch(m->resolved_url, &o, head, err);
	if (rc)
		return rc;
	pep_err_clear(&e);
	rc = coh_model_shape_from_gguf(coh_fleet_head_gguf(*head), shape, tensors, &e);
	if (rc)
		return pep_err_set(err, rc, "%s: %s", m->resolved_url, e.msg);
	/* The config keeps a sha256 as 64 lower-case hex digits. */
	if (m->sha256 && strlen(m->sha256) == 64)
		memcpy(digest, m->sha256, COH_FLEET_SHA256_HEX);
	else if (coh_fleet_head_sha256(*head))
		memcpy(digest, coh_fleet_head_sha256(*head), COH_FLEET_SHA256_HEX);
	return 0;
}

struct coh_fleet_http_source {
	struct coh_fleet_fetch_opts fetch;
	struct coh_fleet_head **heads;	/* kept until freed: shapes point in */
	struct coh_quant_tensor **tensors;
	size_t count;
};

COH_API int coh_fleet_http_source_create(const struct coh_fleet_fetch_opts *fetch,
					 struct coh_fleet_http_source **out,
					 struct pep_err *err)
{
	if (!out)
		return pep_err_set(err, -EINVAL, "no output");
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return pep_err_set(err, -ENOMEM, "out of memory");
	if (fetch)
		(*out)->fetch = *fetch;
	return 0;
}

COH_API void coh_fleet_http_source_free(struct coh_fleet_http_source *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++) {
		coh_fleet_head_free(s->heads[i]);
		free(s->tensors[i]);
	}
	free(s->heads);
	free(s->tensors);
	free(s);
}

static int http_source_keep(struct coh_fleet_http_source *s,
			    struct coh_fleet_head *h, struct coh_quant_tensor *t)
{
	struct coh_fleet_head **hv;
	struct coh_quant_tensor **tv;

	hv = realloc(s->heads, (s->count + 1) * sizeof(*hv));
	if (hv)
		s->heads = hv;
	tv = hv ? realloc(s->tensors, (s->count + 1) * sizeof(*tv)) : NULL;
	if (!tv)
		return -ENOMEM;
	s->tensors = tv;
	s->heads[s->count] = h;
	s->tensors[s->count++] = t;
	return 0;
}

COH_API int coh_fleet_source_http(const struct coh_config *cfg, size_t model,
				  struct coh_model_shape *shape,
				  char digest[COH_FLEET_SHA256_HEX], void *arg,
				  struct pep_err *err)
{
	struct coh_fleet_http_source *s = arg;
	const struct coh_config_model *m;
	struct coh_quant_tensor *tensors = NULL;
	struct coh_fleet_head *h = NULL;
	int rc;

	if (!cfg || !s || model >= cfg->model_count)
		return pep_err_set(err, -EINVAL, "no model %zu or no source state", model);
	m = &cfg->models[model];
	if (!m->resolved_url || !is_http_url(m->resolved_url))
		return pep_err_set(err, -EINVAL, "%s: not an http(s) source",
				   m->resolved_url ? m->resolved_url : m->source);
	rc = coh__fleet_head_model(m, &s->fetch, &h, shape, &tensors, digest, err);
	if (!rc && http_source_keep(s, h, tensors))
		rc = pep_err_set(err, -ENOMEM, "out of memory");
	if (rc) {
		free(tensors);
		coh_fleet_head_free(h);
	}
	return rc;
}
