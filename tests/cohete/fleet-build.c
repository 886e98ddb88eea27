/*
 * fleet-build.c - models over http(s) and the build of a plan, against a
 * real web server: Debian's nginx, started here on a free loopback port
 * (skipped, 77, where nginx is not installed) and stopped on every way
 * out.
 *
 * Fetch: a download verified by its sha256; a part cut by the low-speed
 * timeout and resumed with Range (and If-Range: the same file continues,
 * a changed one comes whole); a truncated part resumed; a whole part
 * (416, then checked); a server that ignores Range (nginx max_ranges 0:
 * the part starts over); a redirect followed, one to ftp:// refused;
 * HTTP 404; a wrong sha256 (the part is deleted, both digests named);
 * the size limit; a refused connection.
 * Header: a model whose tokenizer makes its header larger than the first
 * request is counted from the start of the file only, also through a
 * server without Range, with the server's sha256 (X-Linked-ETag).
 * Build: a plan of http(s) and local sources (two levels from one
 * download, an artifact shared by two devices, a digest only known at
 * build, a source gone by build time, a wrong sha256 that only the
 * download shows) built into a cache: each artifact once, byte for byte
 * the quantizer's; the failures fail their own items; a second build
 * quantizes nothing and reads the sum files, not the artifacts; two
 * processes building one cache at once make each artifact once.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <cohete/config.h>
#include <cohete/fleet.h>
#include <cohete/quant.h>
#include <pepita/core.h>

#include "fleet-plan.h"
#include "harness.h"
#include "../../bench/quant/synth.h"

extern char **environ;

static char dir[64];			/* the test's files */
static char www[128];			/* what nginx serves */
static char model_path[160];		/* www/tiny.gguf */
static char model_sha[COH_FLEET_SHA256_HEX];
static long model_size;
static int port;
static volatile pid_t nginx_pid;
static bool have_xattr;

/* ---- nginx ------------------------------------------------------------------ */

static void nginx_stop(void)
{
	pid_t pid = nginx_pid;

	if (pid <= 0)
		return;
	nginx_pid = 0;
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void on_signal(int sig)
{
	if (nginx_pid > 0)
		kill(nginx_pid, SIGKILL);
	_exit(128 + sig);
}

/* A port nothing listens on now, from the kernel. */
static int free_port(int *keep_fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (keep_fd)
		*keep_fd = fd;		/* bound, never listening: refuses */
	else
		close(fd);
	return ntohs(a.sin_port);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int nginx_conf(const char *conf)
{
	char text[4096];

	snprintf(text, sizeof(text),
		 "daemon off;\n"
		 "master_process off;\n"
		 "pid %1$s/nginx.pid;\n"
		 "error_log %1$s/error.log;\n"
		 "events { worker_connections 64; }\n"
		 "http {\n"
		 "  log_format t '$request_method $uri $status \"$http_range\" $body_bytes_sent';\n"
		 "  access_log %1$s/access.log t;\n"
		 "  client_body_temp_path %1$s/tmp/body;\n"
		 "  proxy_temp_path %1$s/tmp/proxy;\n"
		 "  fastcgi_temp_path %1$s/tmp/fastcgi;\n"
		 "  uwsgi_temp_path %1$s/tmp/uwsgi;\n"
		 "  scgi_temp_path %1$s/tmp/scgi;\n"
		 "  default_type application/octet-stream;\n"
		 "  server {\n"
		 "    listen 127.0.0.1:%2$d;\n"
		 "    root %3$s;\n"
		 "    location /norange/ { alias %3$s/; max_ranges 0; }\n"
		 "    location /slow/ { alias %3$s/; limit_rate_after 300k; limit_rate 16k; }\n"
		 "    location /hf/ { alias %3$s/; add_header X-Linked-ETag '\"%4$s\"' always; }\n"
		 "    location = /moved.gguf { return 302 /tiny.gguf; }\n"
		 "    location = /ftp.gguf { return 302 ftp://127.0.0.1/tiny.gguf; }\n"
		 "  }\n"
		 "}\n", dir, port, www, model_sha);
	return write_text(conf, text);
}

static bool port_open(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Started and answering; a port taken meanwhile is tried again. */
static int nginx_start(const char *nginx)
{
	char conf[128], errlog[128];
	char *argv[] = { (char *)nginx, "-p", dir, "-c", conf, "-e", errlog, NULL };
	pid_t pid;

	snprintf(conf, sizeof(conf), "%s/nginx.conf", dir);
	snprintf(errlog, sizeof(errlog), "%s/error.log", dir);
	for (int tries = 0; tries < 5; tries++) {
		port = free_port(NULL);
		if (port < 0 || nginx_conf(conf))
			return -1;
		if (posix_spawn(&pid, nginx, NULL, NULL, argv, environ))
			return -1;
		nginx_pid = pid;
		for (int i = 0; i < 500; i++) {		/* 10 s at most */
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				nginx_pid = 0;
				break;
			}
			if (port_open())
				return 0;
			usleep(20000);
		}
		nginx_stop();
	}
	return -1;
}

static const char *find_nginx(void)
{
	static const char *const where[] = { "/usr/sbin/nginx", "/usr/bin/nginx",
					     "/usr/local/sbin/nginx" };

	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/* ---- files ------------------------------------------------------------------- */

static const struct synth_layout tiny = { 2, 256, 768, 512, 64 };

/*
 * tiny's weights with 512 tokens of 4000 bytes: a 2 MiB header, more
 * than the header fetch's first request.
 */
static int write_model(const char *path)
{
	static struct synth_tensor t[3 + 9 * 2];
	size_t n = synth_tensors(&tiny, t);
	static char tok[512][4001];
	const char *tokens[512];
	struct coh_gguf_writer *w;
	struct pep_err err;
	int rc;

	for (int i = 0; i < 512; i++) {
		memset(tok[i], 'a' + i % 26, 4000);
		snprintf(tok[i], 12, "tok-%03d", i);
		tok[i][7] = '-';
		tokens[i] = tok[i];
	}
	if (coh_gguf_writer_create(&w, path, &err))
		return -1;
	rc = coh_gguf_writer_add_str(w, "general.architecture", "llama") ||
	     coh_gguf_writer_add_u32(w, "llama.block_count", tiny.layers) ||
	     coh_gguf_writer_add_u32(w, "llama.context_length", 2048) ||
	     coh_gguf_writer_add_u32(w, "llama.embedding_length", (uint32_t)tiny.embd) ||
	     coh_gguf_writer_add_u32(w, "llama.feed_forward_length", (uint32_t)tiny.ff) ||
	     coh_gguf_writer_add_u32(w, "llama.attention.head_count", 32) ||
	     coh_gguf_writer_add_u32(w, "llama.attention.head_count_kv", 8) ||
	     coh_gguf_writer_add_str_array(w, "tokenizer.ggml.tokens", tokens, 512);
	for (size_t i = 0; i < n && !rc; i++) {
		uint64_t ne[2] = { t[i].ne0, t[i].ne1 };

		rc = coh_gguf_writer_add_tensor(w, t[i].name, t[i].ne1 > 1 ? 2 : 1,
						ne, t[i].f16 ? COH_GGML_F16 :
							       COH_GGML_F32) < 0;
	}
	for (size_t i = 0; i < n && !rc; i++)
		rc = synth_write_data(w, i, &t[i]);
	if (rc) {
		coh_gguf_writer_abort(w);
		return -1;
	}
	return coh_gguf_writer_finish(w, &err) ? -1 : 0;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : (long)st.st_size;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* The first n bytes of the model, as a cut download would have left them. */
static int write_prefix(const char *path, long n)
{
	char *buf = malloc((size_t)n);
	FILE *in = fopen(model_path, "rb"), *out = fopen(path, "wb");
	int rc = buf && in && out && fread(buf, 1, (size_t)n, in) == (size_t)n &&
		 fwrite(buf, 1, (size_t)n, out) == (size_t)n ? 0 : -1;

	if (in)
		fclose(in);
	if (out && fclose(out))
		rc = -1;
	free(buf);
	return rc;
}

static bool sha_is(const char *path, const char *want)
{
	char hex[COH_FLEET_SHA256_HEX];

	return !pep_sha256_file(path, hex, NULL) && !strcmp(hex, want);
}

static void url(char *buf, size_t size, const char *path)
{
	snprintf(buf, size, "http://127.0.0.1:%d%s", port, path);
}

static void in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/*
 * The access log, once every answer given so far is in it. A request for
 * a marker first: nginx logs a request as it sends its last byte, one
 * event at a time, so once the marker is there, every earlier answer is.
 */
static char *log_text(void)
{
	static int marks;
	char u[128], mark[64], path[160], *text = NULL;
	struct coh_fleet_head *h;

	snprintf(mark, sizeof(mark), "/mark-%d ", ++marks);
	url(u, sizeof(u), mark);
	u[strlen(u) - 1] = '\0';
	coh_fleet_head_fetch(u, NULL, &h, NULL);	/* a 404 */
	in_dir(path, sizeof(path), "access.log");
	for (int i = 0; i < 1000; i++) {
		free(text);
		text = t_read_file(path);
		if (text && strstr(text, mark))
			break;
		usleep(10000);
	}
	return text;
}

/* Lines of the access log holding needle, since the last log_reset(). */
static int log_count(const char *needle)
{
	char *text = log_text();
	int n = 0;

	for (char *p = text; p && (p = strstr(p, needle)); p++)
		n++;
	free(text);
	return n;
}

/* nginx appends (O_APPEND): after a truncate, at the new end. */
static void log_reset(void)
{
	char path[160];

	free(log_text());
	in_dir(path, sizeof(path), "access.log");
	if (truncate(path, 0))
		fprintf(stderr, "truncate %s: %s\n", path, strerror(errno));
}

/* ---- fetch --------------------------------------------------------------------- */

static int test_download(void)
{
	struct coh_fleet_fetch_opts o = { .sha256 = model_sha };
	struct coh_fleet_fetch_result r;
	char u[128], out[160], part[160];
	struct pep_err err;

	url(u, sizeof(u), "/tiny.gguf");
	in_dir(out, sizeof(out), "dl/whole.gguf");
	in_dir(part, sizeof(part), "dl/.whole.gguf.part");
	CHECK(coh_fleet_fetch(u, out, &o, &r, &err) == 0);
	CHECK(r.size_bytes == (uint64_t)model_size && !strcmp(r.sha256, model_sha));
	CHECK(r.resumed_bytes == 0 && !r.restarted);
	CHECK(sha_is(out, model_sha) && !exists(part));
	/* A redirect is followed; the name is the caller's path. */
	url(u, sizeof(u), "/moved.gguf");
	in_dir(out, sizeof(out), "dl/moved.gguf");
	CHECK(coh_fleet_fetch(u, out, &o, &r, &err) == 0);
	CHECK(sha_is(out, model_sha));
	return T_PASS;
}

static int test_errors(void)
{
	struct coh_fleet_fetch_opts o = { .sha256 = model_sha };
	char u[128], out[160], part[160], want[256];
	struct pep_err err;
	int fd, refusing;

	/* 404: named with the URL and the status; nothing left behind. */
	url(u, sizeof(u), "/missing.gguf");
	in_dir(out, sizeof(out), "dl/missing.gguf");
	in_dir(part, sizeof(part), "dl/.missing.gguf.part");
	CHECK(coh_fleet_fetch(u, out, NULL, NULL, &err) == -ENOENT);
	snprintf(want, sizeof(want), "%s: HTTP 404", u);
	CHECK(!strcmp(err.msg, want));
	CHECK(!exists(out) && !exists(part));

	/* A redirect to ftp:// is not followed. */
	url(u, sizeof(u), "/ftp.gguf");
	in_dir(out, sizeof(out), "dl/ftp.gguf");
	CHECK(coh_fleet_fetch(u, out, NULL, NULL, &err) == -EPROTONOSUPPORT);
	CHECK(strstr(err.msg, "ftp://127.0.0.1/tiny.gguf") && !exists(out));
	CHECK(coh_fleet_fetch("ftp://127.0.0.1/x", out, NULL, NULL, &err) ==
	      -EPROTONOSUPPORT);

	/* The size limit, from Content-Length, before a byte is written. */
	url(u, sizeof(u), "/tiny.gguf");
	in_dir(out, sizeof(out), "dl/big.gguf");
	o.max_bytes = 1000;
	CHECK(coh_fleet_fetch(u, out, &o, NULL, &err) == -EFBIG);
	CHECK(strstr(err.msg, "more than the limit of 1000") && !exists(out));

	/* A port bound but not listening refuses at once. */
	refusing = free_port(&fd);
	CHECK(refusing > 0);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/tiny.gguf", refusing);
	CHECK(coh_fleet_fetch(u, out, NULL, NULL, &err) == -ECONNREFUSED);
	CHECK(!strncmp(err.msg, u, strlen(u)));
	close(fd);
	return T_PASS;
}

static int test_checksum_mismatch(void)
{
	static const char zeros[] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	struct coh_fleet_fetch_opts o = { .sha256 = zeros };
	char u[128], out[160], part[160];
	struct pep_err err;

	url(u, sizeof(u), "/tiny.gguf");
	in_dir(out, sizeof(out), "dl/wrong.gguf");
	in_dir(part, sizeof(part), "dl/.wrong.gguf.part");
	CHECK(coh_fleet_fetch(u, out, &o, NULL, &err) == -EILSEQ);
	CHECK(strstr(err.msg, model_sha) && strstr(err.msg, zeros));
	CHECK(!exists(out) && !exists(part));
	return T_PASS;
}

/* A part of the file's first bytes is continued; the result is the file. */
static int test_resume_truncated(void)
{
	struct coh_fleet_fetch_opts o = { .sha256 = model_sha };
	struct coh_fleet_fetch_result r;
	char u[128], out[160], part[160], range[64];
	struct pep_err err;
	long cut = 1048576 + 123;

	log_reset();
	url(u, sizeof(u), "/tiny.gguf");
	in_dir(out, sizeof(out), "dl/resumed.gguf");
	in_dir(part, sizeof(part), "dl/.resumed.gguf.part");
	CHECK(write_prefix(part, cut) == 0);
	CHECK(coh_fleet_fetch(u, out, &o, &r, &err) == 0);
	CHECK(r.resumed_bytes == (uint64_t)cut && !r.restarted);
	CHECK(r.size_bytes == (uint64_t)model_size && sha_is(out, model_sha));
	CHECK(!exists(part));
	snprintf(range, sizeof(range), "GET /tiny.gguf 206 \"bytes=%ld-\"", cut);
	CHECK(log_count(range) == 1);

	/* A whole part (cut before its rename): 416, and it is checked. */
	in_dir(out, sizeof(out), "dl/whole-part.gguf");
	in_dir(part, sizeof(part), "dl/.whole-part.gguf.part");
	CHECK(write_prefix(part, model_size) == 0);
	CHECK(coh_fleet_fetch(u, out, &o, &r, &err) == 0);
	CHECK(r.resumed_bytes == (uint64_t)model_size && !r.restarted);
	CHECK(sha_is(out, model_sha) && !exists(part));
	snprintf(range, sizeof(range), "GET /tiny.gguf 416 \"bytes=%ld-\"", model_size);
	CHECK(log_count(range) == 1);

	/* A server that ignores Range sends it all: the part starts over. */
	url(u, sizeof(u), "/norange/tiny.gguf");
	in_dir(out, sizeof(out), "dl/norange.gguf");
	in_dir(part, sizeof(part), "dl/.norange.gguf.part");
	CHECK(write_prefix(part, cut) == 0);
	CHECK(coh_fleet_fetch(u, out, &o, &r, &err) == 0);
	CHECK(r.restarted && r.resumed_bytes == 0 && sha_is(out, model_sha));
	CHECK(log_count("GET /norange/tiny.gguf 200") == 1);
	return T_PASS;
}

/* Cut by the low-speed timeout: the part stays, with the file's ETag. */
static int cut_download(const char *out, const char *part)
{
	struct coh_fleet_fetch_opts slow = {
		.low_speed_bytes = 1 << 20, .low_speed_s = 1,
	};
	char u[128];
	struct pep_err err;
	long n;

	url(u, sizeof(u), "/slow/tiny.gguf");
	CHECK(coh_fleet_fetch(u, out, &slow, NULL, &err) == -ETIMEDOUT);
	CHECK(strstr(err.msg, u));
	n = file_size(part);
	CHECK(n >= 300 * 1024 && n < model_size && !exists(out));
	return T_PASS;
}

/*
 * Without a sha256, a part is continued only with If-Range: the same file
 * continues, a changed one comes whole. Where the file system keeps no
 * extended attribute, the part always starts over.
 */
static int test_resume_after_cut(void)
{
	struct coh_fleet_fetch_result r;
	char u[128], out[160], part[160];
	struct timespec later[2] = { { .tv_nsec = UTIME_OMIT } };
	struct pep_err err;
	long kept;

	in_dir(out, sizeof(out), "dl/cut.gguf");
	in_dir(part, sizeof(part), "dl/.cut.gguf.part");
	CHECK(cut_download(out, part) == T_PASS);
	kept = file_size(part);
	url(u, sizeof(u), "/tiny.gguf");
	CHECK(coh_fleet_fetch(u, out, NULL, &r, &err) == 0);
	CHECK(r.size_bytes == (uint64_t)model_size && !strcmp(r.sha256, model_sha));
	CHECK(sha_is(out, model_sha) && !exists(part));
	if (have_xattr)
		CHECK(r.resumed_bytes == (uint64_t)kept && !r.restarted);
	else
		CHECK(r.restarted && r.resumed_bytes == 0);

	/* The file changes (its ETag does) between the cut and the rest. */
	in_dir(out, sizeof(out), "dl/changed.gguf");
	in_dir(part, sizeof(part), "dl/.changed.gguf.part");
	CHECK(cut_download(out, part) == T_PASS);
	clock_gettime(CLOCK_REALTIME, &later[1]);
	later[1].tv_sec += 100;
	CHECK(utimensat(AT_FDCWD, model_path, later, 0) == 0);
	CHECK(coh_fleet_fetch(u, out, NULL, &r, &err) == 0);
	CHECK(r.restarted && r.resumed_bytes == 0 && sha_is(out, model_sha));
	return T_PASS;
}

/* ---- the header of a remote model ------------------------------------------------ */

static int test_head(void)
{
	const char *paths[] = { "/tiny.gguf", "/norange/tiny.gguf", "/hf/tiny.gguf" };
	struct coh_fleet_head *h;
	char u[128], txt[160];
	struct pep_err err;

	log_reset();
	for (size_t i = 0; i < 3; i++) {
		url(u, sizeof(u), paths[i]);
		CHECK(coh_fleet_head_fetch(u, NULL, &h, &err) == 0);
		CHECK(coh_fleet_head_size(h) == (uint64_t)model_size);
		/* More than the first MiB, less than the file. */
		CHECK(coh_fleet_head_fetched(h) > (1u << 20));
		CHECK(coh_fleet_head_fetched(h) < (uint64_t)model_size);
		CHECK(coh_gguf_tensor_count(coh_fleet_head_gguf(h)) == 3 + 9 * 2);
		CHECK(coh_gguf_data_offset(coh_fleet_head_gguf(h)) <=
		      coh_fleet_head_fetched(h));
		if (i == 2)
			CHECK(coh_fleet_head_sha256(h) &&
			      !strcmp(coh_fleet_head_sha256(h), model_sha));
		else
			CHECK(!coh_fleet_head_sha256(h));
		coh_fleet_head_free(h);
	}
	/* Ranges were asked for, the rest of the file never. */
	CHECK(log_count("GET /tiny.gguf 206 \"bytes=0-1048575\"") == 1);
	CHECK(log_count("GET /tiny.gguf 206 \"bytes=1048576-4194303\"") == 1);

	in_dir(txt, sizeof(txt), "www/notes.txt");
	CHECK(write_text(txt, "not a model\n") == 0);
	url(u, sizeof(u), "/notes.txt");
	CHECK(coh_fleet_head_fetch(u, NULL, &h, &err) == -EINVAL);
	CHECK(!strncmp(err.msg, u, strlen(u)) && strstr(err.msg, "not a GGUF file"));
	url(u, sizeof(u), "/missing.gguf");
	CHECK(coh_fleet_head_fetch(u, NULL, &h, &err) == -ENOENT);
	return T_PASS;
}

/* ---- the build -------------------------------------------------------------------- */

static void log_line(const char *line, void *arg)
{
	if (getenv("FLEET_VERBOSE"))
		fprintf(stderr, "build: %s\n", line);
}

/* The http(s) source as a plan's callback; other sources are not its. */
static int test_source_http(void)
{
	struct coh_fleet_plan_opts po = { .source = coh_fleet_source_http };
	struct coh_fleet_http_source *hs;
	struct coh_fleet_plan *p;
	struct coh_config *cfg;
	char yaml[1024], base[128];
	struct pep_err err;

	url(base, sizeof(base), "");
	snprintf(yaml, sizeof(yaml),
		 "version: \"1.0\"\n"
		 "fleet:\n"
		 "  devices:\n"
		 "    - id: a\n"
		 "      host: 10.0.0.1\n"
		 "      memory_budget_mb: 6000\n"
		 "models:\n"
		 "  - name: remote\n"
		 "    source: %s/hf/tiny.gguf\n"
		 "    devices: [a]\n"
		 "  - name: local\n"
		 "    source: %s\n"
		 "    devices: [a]\n", base, model_path);
	CHECK(load(yaml, &cfg) == 0);
	CHECK(coh_fleet_http_source_create(NULL, &hs, &err) == 0);
	po.source_arg = hs;
	CHECK(coh_fleet_plan(cfg, &po, &p, &err) == 0);
	CHECK(p->count == 2 && p->errors == 1);
	CHECK(!p->items[0].error && !strcmp(p->items[0].digest, model_sha));
	CHECK(p->items[0].ftype == COH_FTYPE_Q8_0 && p->items[0].fits);
	CHECK(p->items[1].error == -EINVAL);
	CHECK(strstr(p->items[1].error_msg, "not an http(s) source"));
	coh_fleet_plan_free(p);
	coh_fleet_http_source_free(hs);
	coh_config_free(cfg);
	return T_PASS;
}

static int fleet_yaml(char *buf, size_t size, const char *doomed_sha)
{
	char base[128];

	url(base, sizeof(base), "");
	return snprintf(buf, size,
		"version: \"1.0\"\n"
		"fleet:\n"
		"  devices:\n"
		"    - id: a\n"
		"      host: 10.0.0.1\n"
		"      memory_budget_mb: 6000\n"
		"    - id: b\n"
		"      host: 10.0.0.2\n"
		"      memory_budget_mb: 6000\n"
		"models:\n"
		"  - name: tiny-q8\n"
		"    source: %1$s/tiny.gguf\n"
		"    sha256: \"%2$s\"\n"
		"    quantization: Q8_0\n"
		"    devices: [a, b]\n"
		"  - name: tiny-q4\n"
		"    source: %1$s/tiny.gguf\n"
		"    quantization: Q4_0\n"
		"    devices: [a]\n"
		"  - name: tiny-hf\n"
		"    source: %1$s/hf/tiny.gguf\n"
		"    quantization: Q4_K_M\n"
		"    devices: [b]\n"
		"  - name: tiny-local\n"
		"    source: %3$s\n"
		"    quantization: Q8_0\n"
		"    devices: [b]\n"
		"  - name: doomed\n"
		"    source: %1$s/doomed.gguf\n"
		"    sha256: \"%5$s\"\n"
		"    quantization: Q8_0\n"
		"    devices: [a]\n"
		"  - name: wrong\n"
		"    source: %1$s/tiny.gguf\n"
		"    sha256: \"%4$064d\"\n"
		"    quantization: Q8_0\n"
		"    devices: [b]\n",
		base, model_sha, model_path, 0, doomed_sha);
}

/* The plan counted every http(s) model from its header alone. */
static int check_plan(const struct coh_fleet_plan *p)
{
	const struct coh_fleet_plan_item *it;

	CHECK(p->count == 7 && p->errors == 0 && p->unfit == 0);
	it = find(p, "tiny-q8", "a");
	CHECK(it && !strcmp(it->digest, model_sha) && it->artifact && !it->digest_at_build);
	it = find(p, "tiny-q4", "a");
	CHECK(it && it->digest_at_build && !it->digest[0]);
	CHECK(!it->artifact && !it->path && !it->argv && it->port == 8081);
	it = find(p, "tiny-hf", "b");	/* the server's sha256 */
	CHECK(it && !it->digest_at_build && !strcmp(it->digest, model_sha));
	it = find(p, "wrong", "b");	/* the file's word, until downloaded */
	CHECK(it && !it->error && it->artifact);
	CHECK(log_count("GET /tiny.gguf 200") == 0);
	CHECK(log_count("GET /hf/tiny.gguf 200") == 0);
	return T_PASS;
}

static int check_built(const struct coh_fleet_plan *p, const char *cache)
{
	const struct coh_fleet_plan_item *a = find(p, "tiny-q8", "a");
	const struct coh_fleet_plan_item *b = find(p, "tiny-q8", "b");
	const struct coh_fleet_plan_item *q4 = find(p, "tiny-q4", "a");
	const struct coh_fleet_plan_item *local = find(p, "tiny-local", "b");
	const struct coh_fleet_plan_item *it;
	char name[256], want[512];

	/* One artifact for both devices, where its name says, whole. */
	CHECK(a->built_path && b->built_path && !strcmp(a->built_path, b->built_path));
	snprintf(want, sizeof(want), "%s/%s", cache, a->artifact);
	CHECK(!strcmp(a->built_path, want));
	CHECK(sha_is(a->built_path, a->built_sha256));
	CHECK(a->built_size == (uint64_t)file_size(a->built_path));
	/* Named once downloaded: by the file's sha256. */
	CHECK(q4->built_path && !strcmp(q4->digest, model_sha));
	CHECK(coh_fleet_artifact_name("tiny-q4", COH_FTYPE_Q4_0, model_sha, name,
				      sizeof(name)) > 0);
	CHECK(!strcmp(q4->artifact, name) && strstr(q4->path, name));
	CHECK(q4->argv && !strcmp(q4->argv[2], q4->path));
	/* The same bytes at the same level, from the download or the disk. */
	CHECK(local->built_path && !strcmp(local->built_sha256, a->built_sha256));
	CHECK(strcmp(local->built_path, a->built_path));
	it = find(p, "tiny-hf", "b");
	CHECK(it->built_path && !it->build_error);

	it = find(p, "doomed", "a");
	CHECK(it->build_error == -ENOENT && !it->built_path);
	CHECK(strstr(it->build_error_msg, "/doomed.gguf: HTTP 404"));
	it = find(p, "wrong", "b");
	CHECK(it->build_error == -EILSEQ && !it->built_path);
	CHECK(strstr(it->build_error_msg, model_sha));
	CHECK(p->build_errors == 2);
	return T_PASS;
}

/* tiny-q8's artifact is the quantizer's output for the model, byte for byte. */
static int check_bytes(const struct coh_fleet_plan *p)
{
	struct coh_quantize_opts qo = { .ftype = COH_FTYPE_Q8_0, .threads = 1 };
	const struct coh_fleet_plan_item *a = find(p, "tiny-q8", "a");
	char out[160];
	struct pep_err err;

	in_dir(out, sizeof(out), "direct-q8.gguf");
	CHECK(coh_quantize_file(model_path, out, &qo, &err) == 0);
	CHECK(sha_is(out, a->built_sha256));
	unlink(out);
	return T_PASS;
}

static int test_build(void)
{
	struct coh_fleet_build_opts bo = { .threads = 1, .log = log_line };
	const struct coh_fleet_plan_item *a;
	char yaml[4096], cache[160], doomed[160], sum[512], text[256];
	char doomed_sha[COH_FLEET_SHA256_HEX];
	struct coh_fleet_plan *p;
	struct coh_config *cfg;
	struct pep_err err;
	struct stat st1, st2;
	FILE *f;

	/* Another model (the weights' generator goes on): another sha256. */
	in_dir(doomed, sizeof(doomed), "www/doomed.gguf");
	CHECK(write_model(doomed) == 0 && chmod(doomed, 0644) == 0);
	CHECK(pep_sha256_file(doomed, doomed_sha, &err) == 0);
	CHECK(strcmp(doomed_sha, model_sha));
	fleet_yaml(yaml, sizeof(yaml), doomed_sha);
	log_reset();
	CHECK(load(yaml, &cfg) == 0);
	CHECK(coh_fleet_plan(cfg, NULL, &p, &err) == 0);
	CHECK(check_plan(p) == T_PASS);
	unlink(doomed);			/* gone between plan and build */

	in_dir(cache, sizeof(cache), "cache");
	bo.cache_dir = cache;
	/* Four artifacts: Q8_0 (for a and b), Q4_0, Q4_K_M, the local Q8_0. */
	CHECK(coh_fleet_build(cfg, p, &bo, &err) == 4);
	CHECK(check_built(p, cache) == T_PASS);
	CHECK(check_bytes(p) == T_PASS);
	/*
	 * One download for two levels; the wrong sha256's is its own; the
	 * server's sha256 of /hf/tiny.gguf is one downloaded already.
	 */
	CHECK(log_count("GET /tiny.gguf 200 \"-\"") == 2);
	CHECK(log_count("GET /hf/tiny.gguf 200") == 0);

	/* Again: nothing is made, nothing is read but the sum files. */
	a = find(p, "tiny-q8", "a");
	CHECK(stat(a->built_path, &st1) == 0);
	snprintf(sum, sizeof(sum), "%s.sum", a->built_path);
	f = fopen(sum, "r");
	CHECK(f && fgets(text, sizeof(text), f));
	fclose(f);
	memset(text, 'f', 64);		/* a sum that is not the file's */
	CHECK(write_text(sum, text) == 0);
	CHECK(coh_fleet_build(cfg, p, &bo, &err) == 0);
	CHECK(a->built_cached && find(p, "tiny-q8", "b")->built_cached);
	CHECK(find(p, "tiny-local", "b")->built_cached);
	CHECK(!strncmp(a->built_sha256, "ffffffff", 8));
	CHECK(stat(a->built_path, &st2) == 0);
	CHECK(st1.st_ino == st2.st_ino &&
	      st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
	      st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
	/* The artifact touched: the sum is stale and the file hashed again. */
	CHECK(utimensat(AT_FDCWD, a->built_path, NULL, 0) == 0);
	CHECK(coh_fleet_build(cfg, p, &bo, &err) == 0);
	CHECK(a->built_cached && sha_is(a->built_path, a->built_sha256));
	CHECK(strncmp(a->built_sha256, "ffffffff", 8));

	coh_fleet_plan_free(p);
	coh_config_free(cfg);
	return T_PASS;
}

/* ---- two builds at once ------------------------------------------------------------ */

static int build_child(const char *yaml, const char *cache, int go)
{
	struct coh_fleet_build_opts bo = { .threads = 1, .cache_dir = cache };
	struct coh_fleet_plan *p;
	struct coh_config *cfg;
	struct pep_err err;
	char c;
	int made;

	if (load(yaml, &cfg) || coh_fleet_plan(cfg, NULL, &p, &err))
		return 100;
	if (read(go, &c, 1) != 0)	/* the parent closes it: both start */
		return 101;
	made = coh_fleet_build(cfg, p, &bo, &err);
	if (made < 0 || p->build_errors) {
		fprintf(stderr, "child %d: %s\n", (int)getpid(), err.msg);
		return 102;
	}
	return made;
}

static int test_two_builds(void)
{
	char yaml[1024], cache[160];
	int go[2], status, total = 0;
	pid_t kids[2];

	snprintf(yaml, sizeof(yaml),
		 "version: \"1.0\"\n"
		 "fleet:\n"
		 "  devices:\n"
		 "    - id: a\n"
		 "      host: 10.0.0.1\n"
		 "      memory_budget_mb: 6000\n"
		 "models:\n"
		 "  - name: m5\n"
		 "    source: %1$s\n"
		 "    quantization: Q5_0\n"
		 "    devices: [a]\n"
		 "  - name: m6\n"
		 "    source: %1$s\n"
		 "    quantization: Q6_K\n"
		 "    devices: [a]\n", model_path);
	in_dir(cache, sizeof(cache), "cache2");
	CHECK(pipe(go) == 0);
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		CHECK(kids[i] >= 0);
		if (kids[i] == 0) {
			close(go[1]);
			_exit(build_child(yaml, cache, go[0]));
		}
	}
	close(go[0]);
	close(go[1]);
	for (int i = 0; i < 2; i++) {
		CHECK(waitpid(kids[i], &status, 0) == kids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) <= 2);
		total += WEXITSTATUS(status);
	}
	/* Each artifact once, whichever child made it. */
	CHECK(total == 2);
	return T_PASS;
}

/* ---- main ------------------------------------------------------------------------- */

static int test_cache_dir(void)
{
	char buf[256], *home = getenv("HOME"), *xdg = getenv("XDG_CACHE_HOME");
	char saved_home[256] = "", saved_xdg[256] = "";

	if (home)
		snprintf(saved_home, sizeof(saved_home), "%s", home);
	if (xdg)
		snprintf(saved_xdg, sizeof(saved_xdg), "%s", xdg);
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	CHECK(coh_fleet_cache_dir(buf, sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "/x/cache/cohete/artifacts"));
	setenv("XDG_CACHE_HOME", "relative", 1);	/* ignored, as XDG says */
	setenv("HOME", "/home/u", 1);
	CHECK(coh_fleet_cache_dir(buf, sizeof(buf)) > 0);
	CHECK(!strcmp(buf, "/home/u/.cache/cohete/artifacts"));
	if (xdg)
		setenv("XDG_CACHE_HOME", saved_xdg, 1);
	else
		unsetenv("XDG_CACHE_HOME");
	if (home)
		setenv("HOME", saved_home, 1);
	else
		unsetenv("HOME");
	return T_PASS;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(path) ? -1 : 0;
}

static int setup(void)
{
	char path[160];

	snprintf(dir, sizeof(dir), "/tmp/cohete-fleet-buildXXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(www, sizeof(www), "%s/www", dir);
	snprintf(model_path, sizeof(model_path), "%s/tiny.gguf", www);
	in_dir(path, sizeof(path), "dl");
	if (chmod(dir, 0755) || mkdir(www, 0755) || mkdir(path, 0755))
		return -1;
	in_dir(path, sizeof(path), "tmp");
	if (mkdir(path, 0755) || write_model(model_path) ||
	    pep_sha256_file(model_path, model_sha, NULL))
		return -1;
	model_size = file_size(model_path);
	in_dir(path, sizeof(path), "dl/xattr-probe");
	have_xattr = !write_text(path, "") &&
		     !setxattr(path, "user.cohete.probe", "1", 1, 0);
	unlink(path);
	return 0;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	const char *nginx = find_nginx();
	int rc = T_PASS;

	(void)synth_model;		/* synth.h's; this test writes its own */
	if (!nginx) {
		printf("SKIP: nginx is not installed (Debian: nginx-light)\n");
		return T_SKIP;
	}
	if (setup()) {
		fprintf(stderr, "setup in %s: %s\n", dir, strerror(errno));
		return T_ERROR;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	atexit(nginx_stop);
	if (nginx_start(nginx)) {
		fprintf(stderr, "%s did not start; see %s/error.log\n", nginx, dir);
		return T_ERROR;
	}
	if (!have_xattr)
		fprintf(stderr, "note: no extended attributes in %s: a part "
			"without a sha256 starts over\n", dir);
	t_run("cache_dir", test_cache_dir, &rc);
	t_run("download", test_download, &rc);
	t_run("errors", test_errors, &rc);
	t_run("checksum_mismatch", test_checksum_mismatch, &rc);
	t_run("resume_truncated", test_resume_truncated, &rc);
	t_run("head", test_head, &rc);
	t_run("source_http", test_source_http, &rc);
	t_run("build", test_build, &rc);
	t_run("two_builds", test_two_builds, &rc);
	t_run("resume_after_cut", test_resume_after_cut, &rc);
	nginx_stop();
	if (rc == T_PASS) {
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	} else {
		fprintf(stderr, "kept %s for a look\n", dir);
	}
	return rc;
}
