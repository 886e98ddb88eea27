/*
 * Transport: CRC32C vectors and hardware against table, the codec's
 * errors, round trips over a socketpair, a pipe pair and `cat` as the
 * "ssh child", tiny-piece writes, the handshake, timeouts and a peer that
 * hangs up mid-frame, a frame sent in pieces, and the real `pepita worker
 * --stdio` (PEPITA_BIN) streaming 100 MiB of a program's output back.
 * Threads: one sender and one receiver per connection (suite threads runs
 * it under TSan).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/exec.h>
#include <pepita/task.h>
#include <pepita/transport.h>

#include "harness.h"

static const size_t sizes[] = { 0, 1, 15, 16, 4095, 4096, 65537, 1 << 20 };

static void pattern(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed + (i >> 8));
}

static int test_crc(void)
{
	static uint8_t buf[4096];
	unsigned int x = 1;

	CHECK(pep_crc32c(0, "123456789", 9) == 0xe3069283);
	CHECK(pep_crc32c_sw(0, "123456789", 9) == 0xe3069283);
	CHECK(pep_crc32c(0, "", 0) == 0);
	memset(buf, 0, 32);
	CHECK(pep_crc32c(0, buf, 32) == 0x8a9136aa);	/* RFC 3720 B.4 */
	memset(buf, 0xff, 32);
	CHECK(pep_crc32c(0, buf, 32) == 0x62a8ab43);
	for (int round = 0; round < 200; round++) {
		size_t len = (size_t)(x % sizeof(buf)), off = x % 7;

		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245 + 12345;
			buf[i] = (uint8_t)(x >> 16);
		}
		if (off > len)
			off = len;
		CHECK(pep_crc32c(0, buf + off, len - off) ==
		      pep_crc32c_sw(0, buf + off, len - off));
		/* chaining equals one pass */
		CHECK(pep_crc32c(pep_crc32c(0, buf, len / 2), buf + len / 2,
				 len - len / 2) == pep_crc32c_sw(0, buf, len));
	}
	fprintf(stderr, "crc32c: %s\n", pep_crc32c_hw() ? "hardware" : "table");
	return T_PASS;
}

static int test_codec(void)
{
	uint8_t buf[64], payload[24] = "abcdefg";	/* the last encode takes 17 */
	struct pep_frame_limits lim = { .max_frame_bytes = 32 };
	struct pep_frame f;
	struct pep_err err;
	size_t need = 0;
	ssize_t n;

	n = pep_frame_encode(buf, sizeof(buf), 1, PEP_FRAME_DATA, payload, 7, &err);
	CHECK(n == 23);
	CHECK(!memcmp(buf, "PT\x01\x02\0\0\0\0\0\0\0\x07", 12));
	CHECK(pep_frame_decode(buf, (size_t)n, NULL, &f, &need, &err) == 23);
	CHECK(f.type == PEP_FRAME_DATA && f.version == 1 && f.len == 7);
	CHECK(!memcmp(f.payload, "abcdefg", 7));
	for (size_t i = 0; i < (size_t)n; i++) {
		CHECK(pep_frame_decode(buf, i, NULL, &f, &need, &err) == -EAGAIN);
		CHECK(need == (i < 12 ? 16 - i : 23 - i));
	}
	CHECK(pep_frame_encode(buf, 10, 1, 2, payload, 7, &err) == -ENOBUFS);
	CHECK(pep_frame_encode(buf, 64, 1, 0, payload, 7, &err) == -EINVAL);

	n = pep_frame_encode(buf, sizeof(buf), 1, 2, payload, 7, NULL);
	buf[0] = 'X';
	CHECK(pep_frame_decode(buf, 1, NULL, &f, &need, &err) == -EPROTO);
	CHECK(strstr(err.msg, "magic"));
	buf[0] = 'P';
	buf[2] = 2;
	CHECK(pep_frame_decode(buf, 3, NULL, &f, &need, &err) == -EPROTONOSUPPORT);
	CHECK(strstr(err.msg, "version 2"));
	buf[2] = 1;
	buf[4] = 1;
	CHECK(pep_frame_decode(buf, (size_t)n, NULL, &f, &need, &err) == -EPROTO);
	CHECK(strstr(err.msg, "flags"));
	buf[4] = 0;
	buf[6] = 9;
	CHECK(pep_frame_decode(buf, (size_t)n, NULL, &f, &need, &err) == -EPROTO);
	CHECK(strstr(err.msg, "reserved"));
	buf[6] = 0;
	buf[3] = 0;
	CHECK(pep_frame_decode(buf, (size_t)n, NULL, &f, &need, &err) == -EPROTO);
	CHECK(strstr(err.msg, "type 0"));
	buf[3] = PEP_FRAME_HELLO;
	CHECK(pep_frame_decode(buf, 12, NULL, &f, &need, &err) == -EPROTO);
	CHECK(strstr(err.msg, "HELLO"));
	buf[3] = 2;
	buf[20] ^= 1;
	CHECK(pep_frame_decode(buf, (size_t)n, NULL, &f, &need, &err) == -EBADMSG);
	CHECK(strstr(err.msg, "CRC32C"));
	buf[20] ^= 1;
	buf[8] = 0x7f;			/* 2 GiB: refused after 12 bytes */
	CHECK(pep_frame_decode(buf, 12, NULL, &f, &need, &err) == -EMSGSIZE);
	CHECK(strstr(err.msg, "payload length"));
	n = pep_frame_encode(buf, sizeof(buf), 1, 2, payload, 17, NULL);
	CHECK(pep_frame_decode(buf, (size_t)n, &lim, &f, &need, &err) == -EMSGSIZE);
	return T_PASS;
}

struct echo {
	struct pep_conn *c;
	int frames;
	int ret;
};

/* Send back every frame received, count times. */
static void *echo_main(void *arg)
{
	struct echo *e = arg;
	struct pep_frame f;
	uint8_t *copy;

	for (int i = 0; i < e->frames; i++) {
		e->ret = pep_conn_recv(e->c, &f, 10000, NULL);
		if (e->ret < 0)
			return NULL;
		copy = malloc(f.len + 1);
		memcpy(copy, f.payload, f.len);
		e->ret = pep_conn_send(e->c, f.type, copy, f.len, NULL);
		free(copy);
		if (e->ret < 0)
			return NULL;
	}
	return NULL;
}

static int round_trips(struct pep_conn *a, struct pep_conn *b)
{
	struct echo e = { .c = b, .frames = sizeof(sizes) / sizeof(sizes[0]) };
	uint8_t *buf = malloc(1 << 20);
	struct pep_frame f;
	struct pep_err err;
	pthread_t t;

	if (!buf || pthread_create(&t, NULL, echo_main, &e))
		return T_ERROR;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		pattern(buf, sizes[i], (unsigned int)i);
		CHECK(pep_conn_send(a, (uint8_t)(PEP_FRAME_USER + i), buf, sizes[i],
				    &err) == 0);
		CHECK(pep_conn_recv(a, &f, 10000, &err) == 0);
		CHECK(f.len == sizes[i] && f.type == PEP_FRAME_USER + i);
		CHECK(!memcmp(f.payload, buf, sizes[i]));
	}
	pthread_join(t, NULL);
	CHECK(e.ret == 0);
	free(buf);
	return T_PASS;
}

static int test_socketpair(void)
{
	struct pep_conn *a, *b;
	int r;

	CHECK(pep_conn_socketpair(&a, &b, NULL, NULL) == 0);
	r = round_trips(a, b);
	CHECK(pep_conn_close(a, NULL) == 0);
	CHECK(pep_conn_close(b, NULL) == 0);
	return r;
}

static int test_pipes(void)
{
	int p1[2], p2[2], r;
	struct pep_conn *a, *b;

	if (pipe2(p1, O_CLOEXEC) || pipe2(p2, O_CLOEXEC))
		return T_ERROR;
	/* a: reads p2, writes p1 (blocking fds: from_fds leaves them alone) */
	CHECK(pep_conn_from_fds(&a, p2[0], p1[1], NULL, NULL) == 0);
	CHECK(pep_conn_from_fds(&b, p1[0], p2[1], NULL, NULL) == 0);
	r = round_trips(a, b);
	pep_conn_close(a, NULL);
	pep_conn_close(b, NULL);
	return r;
}

struct dribble {
	int fd;
	const uint8_t *buf;
	size_t len;
};

/* Write a byte stream 1 to 3 bytes at a time. */
static void *dribble_main(void *arg)
{
	struct dribble *d = arg;
	size_t off = 0, n;
	ssize_t w;

	while (off < d->len) {
		n = 1 + off % 3;
		if (n > d->len - off)
			n = d->len - off;
		w = write(d->fd, d->buf + off, n);
		if (w < 0 && errno == EAGAIN) {
			usleep(100);
			continue;
		}
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	return NULL;
}

static int test_tiny_pieces(void)
{
	static uint8_t stream[3 * (16 + 3000)], payload[3000];
	struct dribble d = { .buf = stream };
	struct pep_conn *c;
	struct pep_frame f;
	pthread_t t;
	int sv[2];

	pattern(payload, sizeof(payload), 5);
	for (int i = 0; i < 3; i++)
		d.len += (size_t)pep_frame_encode(stream + d.len, sizeof(stream) - d.len,
						  1, PEP_FRAME_DATA, payload,
						  1000u * (unsigned)i, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return T_ERROR;
	d.fd = sv[1];
	CHECK(pep_conn_from_fds(&c, sv[0], sv[0], NULL, NULL) == 0);
	if (pthread_create(&t, NULL, dribble_main, &d))
		return T_ERROR;
	for (unsigned int i = 0; i < 3; i++) {
		CHECK(pep_conn_recv(c, &f, 10000, NULL) == 0);
		CHECK(f.len == 1000 * i && !memcmp(f.payload, payload, f.len));
	}
	pthread_join(t, NULL);
	close(sv[1]);
	CHECK(pep_conn_recv(c, &f, 1000, NULL) == -EPIPE);
	pep_conn_close(c, NULL);
	return T_PASS;
}

static int test_peer_errors(void)
{
	uint8_t frame[16 + 100], payload[100] = { 0 };
	struct pep_conn *c;
	struct pep_frame f;
	struct pep_err err;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return T_ERROR;
	CHECK(pep_conn_from_fds(&c, sv[0], sv[0], NULL, NULL) == 0);
	CHECK(pep_conn_recv(c, &f, 50, &err) == -ETIMEDOUT);
	CHECK(pep_conn_recv(c, &f, 0, &err) == -ETIMEDOUT);
	pep_frame_encode(frame, sizeof(frame), 1, PEP_FRAME_DATA, payload, 100, NULL);
	CHECK(write(sv[1], frame, 50) == 50);
	CHECK(pep_conn_recv(c, &f, 50, &err) == -ETIMEDOUT);	/* partial kept */
	close(sv[1]);
	CHECK(pep_conn_recv(c, &f, 1000, &err) == -ECONNRESET);
	CHECK(strstr(err.msg, "50 bytes into a frame"));
	CHECK(pep_conn_recv(c, &f, 1000, &err) == -ECONNRESET);	/* sticky */
	CHECK(pep_conn_send(c, PEP_FRAME_DATA, "x", 1, &err) == -EPIPE);
	pep_conn_close(c, NULL);

	/* a corrupt frame on the stream: -EBADMSG, named */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return T_ERROR;
	CHECK(pep_conn_from_fds(&c, sv[0], sv[0], NULL, NULL) == 0);
	frame[40] ^= 0x10;
	CHECK(write(sv[1], frame, sizeof(frame)) == (ssize_t)sizeof(frame));
	CHECK(pep_conn_recv(c, &f, 1000, &err) == -EBADMSG);
	pep_conn_close(c, NULL);
	close(sv[1]);

	/* oversized: refused from the header, before any allocation */
	struct pep_conn_opts small = { .limits.max_frame_bytes = 64 };
	struct pep_conn *a, *b;

	CHECK(pep_conn_socketpair(&a, &b, &small, NULL) == 0);
	CHECK(pep_conn_send(a, PEP_FRAME_DATA, payload, 100, NULL) == 0);
	CHECK(pep_conn_recv(b, &f, 1000, &err) == -EMSGSIZE);
	CHECK(pep_conn_send(a, PEP_FRAME_HELLO, payload, 8, NULL) == -EINVAL);
	pep_conn_close(a, NULL);
	pep_conn_close(b, NULL);
	return T_PASS;
}

struct shake {
	struct pep_conn *c;
	int ret;
};

static void *shake_main(void *arg)
{
	struct shake *s = arg;

	s->ret = pep_conn_handshake(s->c, 5000, NULL);
	return NULL;
}

static int handshake(const struct pep_conn_opts *oa,
		     const struct pep_conn_opts *ob, int *ra, int *rb)
{
	struct pep_conn *a, *b;
	struct shake s;
	pthread_t t;

	int sv[2];

	/* the two ends need different options: build them from fds */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return T_ERROR;
	CHECK(pep_conn_from_fds(&a, sv[0], sv[0], oa, NULL) == 0);
	CHECK(pep_conn_from_fds(&b, sv[1], sv[1], ob, NULL) == 0);
	s.c = b;
	if (pthread_create(&t, NULL, shake_main, &s))
		return T_ERROR;
	*ra = pep_conn_handshake(a, 5000, NULL);
	pthread_join(t, NULL);
	*rb = s.ret;
	if (*ra > 0 && *rb > 0) {
		struct pep_frame f;

		CHECK(pep_conn_version(a) == *ra && pep_conn_version(b) == *rb);
		CHECK(pep_conn_send(a, PEP_FRAME_DATA, "hi", 2, NULL) == 0);
		CHECK(pep_conn_recv(b, &f, 1000, NULL) == 0);
		CHECK(f.version == *ra && f.len == 2);
	}
	pep_conn_close(a, NULL);
	pep_conn_close(b, NULL);
	return T_PASS;
}

static int test_handshake(void)
{
	struct pep_conn_opts v13 = { .limits = { .version_min = 1, .version_max = 3 } };
	struct pep_conn_opts v12 = { .limits = { .version_min = 1, .version_max = 2 } };
	struct pep_conn_opts v23 = { .limits = { .version_min = 2, .version_max = 3 } };
	int ra, rb;

	CHECK(handshake(NULL, NULL, &ra, &rb) == T_PASS);
	CHECK(ra == 1 && rb == 1);
	CHECK(handshake(&v13, &v12, &ra, &rb) == T_PASS);
	CHECK(ra == 2 && rb == 2);
	CHECK(handshake(&v23, NULL, &ra, &rb) == T_PASS);
	CHECK(ra == -EPROTONOSUPPORT && rb == -EPROTONOSUPPORT);
	return T_PASS;
}

struct sender {
	struct pep_conn *c;
	const uint8_t *buf;
	int ret;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) && !s->ret; i++)
		s->ret = pep_conn_send(s->c, PEP_FRAME_DATA, s->buf, sizes[i], NULL);
	return NULL;
}

/* `cat` stands in for `ssh host worker`: every frame comes back. */
static int test_child(void)
{
	static const char *const cat[] = { "cat", NULL };
	static const char *const nope[] = { "/nonexistent/pepita-worker", NULL };
	struct sender s = { 0 };
	uint8_t *buf = malloc(1 << 20);
	struct pep_conn *c;
	struct pep_frame f;
	struct pep_err err;
	pthread_t t;
	int status = -1;

	CHECK(pep_conn_spawn(&c, nope, -1, NULL, &err) == -ENOENT);
	CHECK(strstr(err.msg, "pepita-worker"));
	CHECK(pep_conn_spawn(&c, cat, -1, NULL, &err) == 0);
	CHECK(pep_conn_pid(c) > 0);
	CHECK(pep_conn_handshake(c, 5000, &err) == 1);	/* its own HELLO */
	pattern(buf, 1 << 20, 9);
	s = (struct sender){ .c = c, .buf = buf };
	if (pthread_create(&t, NULL, sender_main, &s))
		return T_ERROR;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CHECK(pep_conn_recv(c, &f, 10000, &err) == 0);
		CHECK(f.len == sizes[i] && !memcmp(f.payload, buf, f.len));
	}
	pthread_join(t, NULL);
	CHECK(s.ret == 0);
	CHECK(pep_conn_close(c, &status) == 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(buf);

	/* a child that ignores end of input is killed after the grace */
	static const char *const sleeper[] = { "sleep", "30", NULL };
	struct pep_conn_opts quick = { .child_grace_ms = 50 };

	CHECK(pep_conn_spawn(&c, sleeper, -1, &quick, NULL) == 0);
	CHECK(pep_conn_close(c, &status) == 0);
	CHECK(WIFSIGNALED(status));
	return T_PASS;
}

static int test_connect_errors(void)
{
	struct pep_conn *c;
	struct pep_err err;

	CHECK(pep_conn_unix(&c, "/nonexistent/pepita.sock", NULL, &err) == -ENOENT);
	CHECK(strstr(err.msg, "pepita.sock"));
	CHECK(pep_conn_tcp(&c, "127.0.0.1", "1", NULL, &err) == -ECONNREFUSED);
	CHECK(pep_conn_from_fds(&c, -1, 1, NULL, &err) == -EINVAL);
	return T_PASS;
}

/* ---- the worker: `pepita worker --stdio` over a pipe pair -------------- */

#define BIG_OUTPUT (100u << 20)		/* 100 MiB: six 16 MiB frames' worth */
static const char line16[] = "0123456789abcde\n";

/*
 * A remote executor running the real worker here (no ssh), or NULL with
 * *skip set when PEPITA_BIN is not given. COHETE_RUN (qemu-user in a
 * cross build) runs it.
 */
static struct pep_executor *worker_executor(const char **argv, int *skip)
{
	const char *bin = getenv("PEPITA_BIN"), *run = getenv("COHETE_RUN");
	struct pep_remote_opts o = { .command = argv };
	struct pep_executor *ex = NULL;
	int n = 0;

	*skip = !bin || !*bin;
	if (*skip)
		return NULL;
	if (run && *run)
		argv[n++] = run;
	argv[n++] = bin;
	argv[n++] = "worker";
	argv[n++] = "--stdio";
	argv[n] = NULL;
	if (pep_executor_remote(&ex, &o, NULL) < 0)
		return NULL;
	return ex;
}

static int run_sh(struct pep_executor *ex, const char *script, size_t max,
		  struct pep_task_result *res)
{
	const char *argv[] = { "sh", "-c", script, NULL };
	struct pep_task t = { .kind = PEP_TASK_PROC, .argv = argv,
			      .proc = { .timeout_ms = 60000, .max_output = max } };

	return pep_executor_run(ex, &t, res, 0);
}

/* Every byte of 100 MiB of "0123456789abcde\n" lines where it belongs. */
static int big_output_ok(const struct pep_task_result *r)
{
	if (r->out_len != BIG_OUTPUT || r->out_truncated) {
		fprintf(stderr, "stdout: %zu bytes (truncated %d), want %u\n",
			r->out_len, r->out_truncated, BIG_OUTPUT);
		return 0;
	}
	for (size_t i = 0; i < r->out_len; i += 16)
		if (memcmp(r->out + i, line16, 16) != 0) {
			fprintf(stderr, "stdout differs at byte %zu\n", i);
			return 0;
		}
	return 1;
}

/*
 * 100 MiB of output through the worker arrives whole (before, the result
 * was one frame, and anything past 16 MiB broke the connection and ended
 * the worker); stderr comes too; the same worker then runs the next task,
 * and max_output still cuts output short, marked truncated.
 */
static int test_worker_output(void)
{
	char script[128];
	const char *argv[6];
	struct pep_task_result r;
	struct pep_executor *ex;
	int skip;

	ex = worker_executor(argv, &skip);
	if (skip) {
		printf("SKIP: PEPITA_BIN not set (meson test sets it)\n");
		return T_SKIP;
	}
	CHECK(ex);
	snprintf(script, sizeof(script), "yes %.15s | head -c %u; echo done >&2",
		 line16, BIG_OUTPUT);
	CHECK(run_sh(ex, script, 128u << 20, &r) == 0);
	if (r.error || !r.exited || r.exit_code)
		fprintf(stderr, "big output: error %d (%s), exit %d\n", r.error,
			r.message, r.exit_code);
	CHECK(r.error == 0 && r.exited && r.exit_code == 0);
	CHECK(big_output_ok(&r));
	CHECK(r.err_len == 5 && !memcmp(r.err, "done\n", 5));
	pep_task_result_free(&r);
	CHECK(run_sh(ex, "echo again", 0, &r) == 0);
	CHECK(r.out_len == 6 && !strcmp(r.out, "again\n"));
	pep_task_result_free(&r);
	CHECK(run_sh(ex, "yes | head -c 100000; exit 3", 1000, &r) == 0);
	CHECK(r.exited && r.exit_code == 3);
	CHECK(r.out_len == 1000 && r.out_truncated && r.out[999] == '\n');
	pep_task_result_free(&r);
	pep_executor_destroy(ex);
	return T_PASS;
}

/* The pieces of a sendv arrive as one frame, the CRC over all of them. */
static int test_sendv(void)
{
	struct pep_conn *a, *b;
	struct pep_frame f;
	struct pep_err err;
	uint8_t tag = 2;
	struct iovec pieces[3] = { { &tag, 1 }, { (void *)"hello ", 6 },
				   { (void *)"world", 5 } };
	struct iovec many[9];

	CHECK(pep_conn_socketpair(&a, &b, NULL, &err) == 0);
	CHECK(pep_conn_sendv(a, PEP_FRAME_DATA, pieces, 3, &err) == 0);
	CHECK(pep_conn_recv(b, &f, 5000, &err) == 0);
	CHECK(f.type == PEP_FRAME_DATA && f.len == 12);
	CHECK(!memcmp(f.payload, "\002hello world", 12));
	for (int i = 0; i < 9; i++)
		many[i] = pieces[1];
	CHECK(pep_conn_sendv(a, PEP_FRAME_DATA, many, 9, &err) == -EINVAL);
	CHECK(pep_conn_sendv(a, PEP_FRAME_HELLO, pieces, 1, &err) == -EINVAL);
	pep_conn_close(a, NULL);
	pep_conn_close(b, NULL);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("crc32c", test_crc, &rc);
	t_run("codec", test_codec, &rc);
	t_run("socketpair", test_socketpair, &rc);
	t_run("pipes", test_pipes, &rc);
	t_run("tiny-pieces", test_tiny_pieces, &rc);
	t_run("peer-errors", test_peer_errors, &rc);
	t_run("handshake", test_handshake, &rc);
	t_run("child-cat", test_child, &rc);
	t_run("connect-errors", test_connect_errors, &rc);
	t_run("sendv", test_sendv, &rc);
	t_run("worker-output", test_worker_output, &rc);
	return rc;
}
