/*
 * libFuzzer target for transport frames. The input is fed to the pure
 * decoder (frame after frame, as a stream would), and the same bytes,
 * written into a socketpair, to a connection's streaming receiver. Every
 * frame the decoder accepts must re-encode to exactly the bytes it came
 * from, errors must be the documented codes, and the receiver must return
 * the same frames in the same order as the decoder. Built by
 * scripts/fuzz.sh, replayed over its corpus by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pepita/task.h>
#include <pepita/transport.h>

#define MAX_FRAME 2048		/* small, so the corpus reaches the limit */
#define MAX_FRAMES 64

struct seen {
	uint8_t type;
	uint32_t len;
	uint32_t crc;
};

static int known_error(ssize_t r)
{
	return r == -EAGAIN || r == -EPROTO || r == -EPROTONOSUPPORT ||
	       r == -EMSGSIZE || r == -EBADMSG;
}

static size_t decode_all(const uint8_t *data, size_t size, struct seen *out)
{
	static uint8_t again[MAX_FRAME];
	struct pep_frame_limits lim = { .max_frame_bytes = MAX_FRAME };
	struct pep_frame f;
	size_t off = 0, n = 0, need;
	ssize_t r;

	while (n < MAX_FRAMES) {
		r = pep_frame_decode(data + off, size - off, &lim, &f, &need, NULL);
		if (r <= 0) {
			if (!known_error(r) || (r == -EAGAIN && !need))
				abort();
			break;
		}
		if ((size_t)r > MAX_FRAME || f.len + 16 != (size_t)r)
			abort();
		if (pep_frame_encode(again, sizeof(again), f.version, f.type,
				     f.payload, f.len, NULL) != r ||
		    memcmp(again, data + off, (size_t)r))
			abort();	/* accepted bytes that do not round-trip */
		out[n++] = (struct seen){ f.type, f.len,
					  pep_crc32c(0, f.payload, f.len) };
		off += (size_t)r;
	}
	return n;
}

static void stream(const uint8_t *data, size_t size, const struct seen *want,
		   size_t n)
{
	struct pep_conn_opts o = { .limits.max_frame_bytes = MAX_FRAME };
	struct pep_conn *c;
	struct pep_frame f;
	size_t i = 0;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	/* -max_len keeps inputs far below the socket buffer */
	if (write(sv[1], data, size) != (ssize_t)size ||
	    pep_conn_from_fds(&c, sv[0], sv[0], &o, NULL) < 0) {
		close(sv[0]);
		close(sv[1]);
		return;
	}
	close(sv[1]);
	while (i < MAX_FRAMES && (r = pep_conn_recv(c, &f, 0, NULL)) == 0) {
		if (i >= n || f.type != want[i].type || f.len != want[i].len ||
		    pep_crc32c(0, f.payload, f.len) != want[i].crc)
			abort();	/* the stream saw what the decoder did not */
		i++;
	}
	if (i < n && i < MAX_FRAMES)
		abort();
	pep_conn_close(c, NULL);
}

/*
 * The task and result payloads `pepita worker` and the remote executor
 * exchange: the raw input as either (the frame layer's checks are not
 * what stands between them and a hostile peer: these must hold alone).
 */
static void wire(const uint8_t *data, size_t size)
{
	struct pep_task_result res;
	struct pep_wire_task w;
	struct pep_task t;

	if (pep_task_decode(data, size, &w, NULL) == 0) {
		uint8_t *buf;
		size_t len;

		pep_wire_task_to_task(&w, &t);
		/* what decodes must encode back to the same bytes */
		if (pep_task_encode(&t, &buf, &len, NULL) == 0) {
			if (len != size || memcmp(buf, data, len))
				abort();
			free(buf);
		}
		pep_wire_task_free(&w);
	}
	if (pep_result_decode(data, size, &res, NULL) == 0)
		pep_task_result_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen frames[MAX_FRAMES];
	size_t n;

	if (size > 65536)
		return 0;
	n = decode_all(data, size, frames);
	stream(data, size, frames, n);
	wire(data, size);
	return 0;
}
