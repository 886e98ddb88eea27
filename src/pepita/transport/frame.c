/*
 * Transport frames: the pure codec the fuzzer drives, and connections that
 * carry frames over sockets, pipes and a child's stdin/stdout.
 *
 * The codec validates every header field as soon as its byte is present,
 * so a receiver rejects a wrong magic after two bytes and an oversized
 * length after twelve, before it allocates. A connection keeps one
 * receive buffer that grows to the largest frame seen (never past
 * max_frame_bytes) and shrinks back after a big one; frames are returned
 * in place, without a copy. Sending and receiving touch disjoint fields,
 * which is what lets one sender and one receiver thread share a
 * connection without a lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#if defined(AF_VSOCK) && __has_include(<linux/vm_sockets.h>)
#include <linux/vm_sockets.h>
#define HAVE_VSOCK 1
#endif

#include <pepita/proc.h>
#include <pepita/transport.h>

#include "core/core_priv.h"

#define HDR PEP_FRAME_HEADER_SIZE
#define CRC_SPAN 12			/* header bytes the CRC covers */
#define RBUF_MIN (64u * 1024)
#define RBUF_SHRINK (1u << 20)		/* give back buffers above this */
#define DEFAULT_GRACE_MS 2000
#define MAX_PIECES 8			/* pep_conn_sendv() */

/* --- codec ------------------------------------------------------------- */

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static struct pep_frame_limits fill_limits(const struct pep_frame_limits *lim)
{
	struct pep_frame_limits l = lim ? *lim : (struct pep_frame_limits){ 0 };

	if (!l.max_frame_bytes)
		l.max_frame_bytes = PEP_FRAME_MAX_DEFAULT;
	if (l.max_frame_bytes < HDR)
		l.max_frame_bytes = HDR;
	if (!l.version_min)
		l.version_min = 1;
	if (!l.version_max)
		l.version_max = PEP_FRAME_VERSION;
	return l;
}

static int check_fixed(const uint8_t *p, size_t len,
		       const struct pep_frame_limits *l, struct pep_err *err)
{
	static const uint8_t magic[2] = { 'P', 'T' };

	for (size_t i = 0; i < 2 && i < len; i++)
		if (p[i] != magic[i])
			return pep_err_set(err, -EPROTO,
					   "frame: magic byte %zu is 0x%02x, not '%c'",
					   i, p[i], magic[i]);
	if (len > 2 && (p[2] < l->version_min || p[2] > l->version_max))
		return pep_err_set(err, -EPROTONOSUPPORT,
				   "frame: version %u unsupported (this end speaks %u..%u)",
				   p[2], l->version_min, l->version_max);
	if (len > 3 && p[3] == 0)
		return pep_err_set(err, -EPROTO, "frame: type 0 is invalid");
	if (len > 4 && p[4])
		return pep_err_set(err, -EPROTO, "frame: flags 0x%02x, must be 0",
				   p[4]);
	for (size_t i = 5; i < 8 && i < len; i++)
		if (p[i])
			return pep_err_set(err, -EPROTO,
					   "frame: reserved byte %zu is 0x%02x, must be 0",
					   i, p[i]);
	return 0;
}

static int check_length(const uint8_t *p, const struct pep_frame_limits *l,
			struct pep_err *err)
{
	uint32_t plen = get_be32(p + 8);

	if (plen > l->max_frame_bytes - HDR)
		return pep_err_set(err, -EMSGSIZE,
				   "frame: payload length %u above the limit of %u (max_frame_bytes %u)",
				   plen, l->max_frame_bytes - HDR, l->max_frame_bytes);
	if (p[3] == PEP_FRAME_HELLO && plen != PEP_HELLO_SIZE)
		return pep_err_set(err, -EPROTO,
				   "frame: HELLO payload length %u, must be %d",
				   plen, PEP_HELLO_SIZE);
	return 0;
}

static uint32_t frame_crc(const uint8_t *hdr, const void *payload, uint32_t len)
{
	return pep_crc32c(pep_crc32c(0, hdr, CRC_SPAN), payload, len);
}

PEP_API int pep_frame_header(void *hdr, uint8_t version, uint8_t type,
			     const void *payload, uint32_t len)
{
	uint8_t *h = hdr;

	if (!version || !type)
		return -EINVAL;
	h[0] = 'P';
	h[1] = 'T';
	h[2] = version;
	h[3] = type;
	memset(h + 4, 0, 4);
	put_be32(h + 8, len);
	put_be32(h + 12, frame_crc(h, payload, len));
	return 0;
}

PEP_API ssize_t pep_frame_encode(void *buf, size_t size, uint8_t version,
				 uint8_t type, const void *payload,
				 size_t len, struct pep_err *err)
{
	uint8_t *b = buf;

	if (!version || !type)
		return pep_err_set(err, -EINVAL, "frame: %s 0 is invalid",
				   version ? "type" : "version");
	if (len > UINT32_MAX - HDR)
		return pep_err_set(err, -EMSGSIZE,
				   "frame: payload of %zu bytes does not fit a frame", len);
	if (size < HDR + len)
		return pep_err_set(err, -ENOBUFS,
				   "frame: needs %zu bytes, buffer has %zu",
				   HDR + len, size);
	if (len && b + HDR != payload)
		memmove(b + HDR, payload, len);	/* may overlap the buffer */
	pep_frame_header(b, version, type, b + HDR, (uint32_t)len);
	return (ssize_t)(HDR + len);
}

PEP_API ssize_t pep_frame_decode(const void *buf, size_t len,
				 const struct pep_frame_limits *lim,
				 struct pep_frame *f, size_t *need,
				 struct pep_err *err)
{
	struct pep_frame_limits l = fill_limits(lim);
	const uint8_t *p = buf;
	size_t total, missing;
	uint32_t plen, want, got;
	int ret;

	ret = check_fixed(p, len, &l, err);
	if (ret < 0)
		return ret;
	if (len < CRC_SPAN) {
		missing = HDR - len;
		goto truncated;
	}
	ret = check_length(p, &l, err);
	if (ret < 0)
		return ret;
	plen = get_be32(p + 8);
	total = HDR + (size_t)plen;
	if (len < total) {
		missing = total - len;
		goto truncated;
	}
	want = get_be32(p + 12);
	got = frame_crc(p, p + HDR, plen);
	if (want != got)
		return pep_err_set(err, -EBADMSG,
				   "frame: CRC32C 0x%08x, computed 0x%08x (type %u, %u payload bytes)",
				   want, got, p[3], plen);
	*f = (struct pep_frame){ .version = p[2], .type = p[3], .len = plen,
				 .payload = p + HDR };
	return (ssize_t)total;
truncated:
	if (need)
		*need = missing;
	return pep_err_set(err, -EAGAIN, "frame: truncated, %zu more bytes needed",
			   missing);
}

/* --- connections: descriptors ------------------------------------------ */

struct pep_conn {
	int rfd, wfd;
	int wsock;			/* wfd is a socket: sendmsg(MSG_NOSIGNAL) */
	struct pep_proc *proc;		/* spawned child, or NULL */
	int grace_ms;
	int send_timeout_ms;
	int version;			/* negotiated, 0 before */
	/* sender's fields */
	uint8_t send_version;
	uint32_t peer_max;		/* from the peer's HELLO, 0 unknown */
	int send_error;			/* sticky */
	/* receiver's fields */
	struct pep_frame_limits rlim;
	int recv_error;			/* sticky */
	uint8_t *rbuf;
	size_t rcap, rlen, roff;	/* unread bytes: rbuf[roff, rlen) */
	size_t last;			/* size of the frame handed out */
};

static uint64_t deadline_after(int timeout_ms)
{
	if (timeout_ms < 0)
		return 0;
	return pep_time_ns() + (uint64_t)timeout_ms * 1000000 + 1;
}

/* 0 when fd is ready for events, -ETIMEDOUT, or -errno. 0 = no deadline. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	uint64_t now;
	int ms, n;

	for (;;) {
		ms = -1;
		if (deadline) {
			now = pep_time_ns();
			ms = now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
		}
		n = poll(&pfd, 1, ms);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int conn_new(struct pep_conn **out, int rfd, int wfd,
		    const struct pep_conn_opts *opts, struct pep_err *err)
{
	struct pep_conn *c = calloc(1, sizeof(*c));
	struct stat st;

	if (c)
		c->rbuf = malloc(RBUF_MIN);
	if (!c || !c->rbuf) {
		free(c);
		return pep_err_set(err, -ENOMEM, "transport: out of memory");
	}
	c->rcap = RBUF_MIN;
	c->rfd = rfd;
	c->wfd = wfd;
	c->wsock = fstat(wfd, &st) == 0 && S_ISSOCK(st.st_mode);
	c->rlim = fill_limits(opts ? &opts->limits : NULL);
	c->send_version = c->rlim.version_max;
	c->send_timeout_ms = opts && opts->send_timeout_ms > 0 ? opts->send_timeout_ms : -1;
	c->grace_ms = opts && opts->child_grace_ms > 0 ? opts->child_grace_ms
						       : DEFAULT_GRACE_MS;
	*out = c;
	return 0;
}

PEP_API int pep_conn_from_fds(struct pep_conn **out, int rfd, int wfd,
			      const struct pep_conn_opts *opts,
			      struct pep_err *err)
{
	*out = NULL;
	if (rfd < 0 || wfd < 0)
		return pep_err_set(err, -EINVAL, "transport: fds %d and %d", rfd, wfd);
	return conn_new(out, rfd, wfd, opts, err);
}

PEP_API int pep_conn_socketpair(struct pep_conn **a, struct pep_conn **b,
				const struct pep_conn_opts *opts,
				struct pep_err *err)
{
	int sv[2], ret;

	*a = *b = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return pep_err_errno(err, "transport: socketpair");
	ret = conn_new(a, sv[0], sv[0], opts, err);
	if (ret < 0)
		goto err_close;
	ret = conn_new(b, sv[1], sv[1], opts, err);
	if (ret < 0)
		goto err_free;
	return 0;
err_free:
	free((*a)->rbuf);
	free(*a);
	*a = NULL;
err_close:
	close(sv[0]);
	close(sv[1]);
	return ret;
}

/* A connected stream socket, or -errno; the timeout covers the connect. */
static int connect_fd(int family, const struct sockaddr *sa, socklen_t salen,
		      int timeout_ms)
{
	int fd, ret = 0, soerr = 0;
	socklen_t len = sizeof(soerr);

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		ret = -errno;
		goto err_close;
	}
	ret = wait_fd(fd, POLLOUT, deadline_after(timeout_ms > 0 ? timeout_ms : -1));
	if (ret < 0)
		goto err_close;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		ret = -errno;
	else if (soerr)
		ret = -soerr;
	if (ret == 0)
		return fd;
err_close:
	close(fd);
	return ret;
}

PEP_API int pep_conn_unix(struct pep_conn **out, const char *path,
			  const struct pep_conn_opts *opts, struct pep_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ret;

	*out = NULL;
	if (strlen(path) >= sizeof(sun.sun_path))
		return pep_err_set(err, -ENAMETOOLONG,
				   "unix %s: path longer than %zu bytes", path,
				   sizeof(sun.sun_path) - 1);
	strcpy(sun.sun_path, path);
	fd = connect_fd(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun),
			opts ? opts->connect_timeout_ms : 0);
	if (fd < 0)
		return pep_err_set(err, fd, "unix %s: connect: %s", path, strerror(-fd));
	ret = conn_new(out, fd, fd, opts, err);
	if (ret < 0)
		close(fd);
	return ret;
}

static int gai_errno(int gai)
{
	switch (gai) {
	case EAI_SYSTEM:
		return errno ? -errno : -EIO;
	case EAI_NONAME:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
		return -ENOENT;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	default:
		return -EINVAL;
	}
}

PEP_API int pep_conn_tcp(struct pep_conn **out, const char *host,
			 const char *port, const struct pep_conn_opts *opts,
			 struct pep_err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int fd = -ENOENT, gai, one = 1, ret;

	*out = NULL;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai)
		return pep_err_set(err, gai_errno(gai), "tcp %s:%s: %s", host, port,
				   gai_strerror(gai));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = connect_fd(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
				opts ? opts->connect_timeout_ms : 0);
		if (fd >= 0)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return pep_err_set(err, fd, "tcp %s:%s: connect: %s", host, port,
				   strerror(-fd));
	/* frames are whole messages: do not hold the tail of one back */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ret = conn_new(out, fd, fd, opts, err);
	if (ret < 0)
		close(fd);
	return ret;
}

PEP_API int pep_conn_vsock(struct pep_conn **out, uint32_t cid, uint32_t port,
			   const struct pep_conn_opts *opts,
			   struct pep_err *err)
{
#ifdef HAVE_VSOCK
	struct sockaddr_vm svm = { .svm_family = AF_VSOCK, .svm_cid = cid,
				   .svm_port = port };
	int fd, ret;

	*out = NULL;
	fd = connect_fd(AF_VSOCK, (struct sockaddr *)&svm, sizeof(svm),
			opts ? opts->connect_timeout_ms : 0);
	if (fd < 0)
		return pep_err_set(err, fd, "vsock %u:%u: connect: %s", cid, port,
				   strerror(-fd));
	ret = conn_new(out, fd, fd, opts, err);
	if (ret < 0)
		close(fd);
	return ret;
#else
	(void)opts;
	*out = NULL;
	return pep_err_set(err, -EOPNOTSUPP, "vsock %u:%u: not built with AF_VSOCK",
			   cid, port);
#endif
}

/* --- connections: child processes ------------------------------------- */

/*
 * The child stays in our process group (ssh may have to ask on the
 * terminal, and a Ctrl-C reaches it with us) and dies with this thread.
 */
PEP_API int pep_conn_spawn(struct pep_conn **out, const char *const *argv,
			   int stderr_fd, const struct pep_conn_opts *opts,
			   struct pep_err *err)
{
	struct pep_proc_opts po = { .flags = PEP_PROC_STDIN_PIPE |
					     PEP_PROC_SAME_PGROUP,
				    .stderr_fd = stderr_fd > 0 ? stderr_fd : 2 };
	struct pep_proc *p;
	int ret, in, rd;

	*out = NULL;
	ret = pep_proc_spawn(argv, &po, &p, err);
	if (ret < 0)
		return ret;
	in = pep_proc_take_stdin(p);
	rd = pep_proc_take_stdout(p);
	/* our ends are file descriptions of their own: the child's stay blocking */
	fcntl(in, F_SETFL, fcntl(in, F_GETFL) | O_NONBLOCK);
	fcntl(rd, F_SETFL, fcntl(rd, F_GETFL) | O_NONBLOCK);
	ret = conn_new(out, rd, in, opts, err);
	if (ret < 0) {
		close(in);
		close(rd);
		pep_proc_wait(p, 0, NULL, NULL);
		return ret;
	}
	(*out)->proc = p;
	return 0;
}

PEP_API int pep_conn_ssh(struct pep_conn **out, const char *host,
			 const char *const *ssh_args,
			 const char *const *command, int stderr_fd,
			 const struct pep_conn_opts *opts,
			 struct pep_err *err)
{
	size_t na = 0, nc = 0, i = 0;
	const char **argv;
	int ret;

	*out = NULL;
	if (!host || !command || !command[0])
		return pep_err_set(err, -EINVAL, "ssh: a host and a command are needed");
	while (ssh_args && ssh_args[na])
		na++;
	while (command[nc])
		nc++;
	argv = calloc(na + nc + 4, sizeof(*argv));
	if (!argv)
		return pep_err_set(err, -ENOMEM, "ssh: out of memory");
	argv[i++] = "ssh";
	for (size_t k = 0; k < na; k++)
		argv[i++] = ssh_args[k];
	argv[i++] = "--";		/* a host starting with '-' is no option */
	argv[i++] = host;
	for (size_t k = 0; k < nc; k++)
		argv[i++] = command[k];
	ret = pep_conn_spawn(out, argv, stderr_fd, opts, err);
	free(argv);
	return ret;
}

PEP_API pid_t pep_conn_pid(const struct pep_conn *c)
{
	return c->proc ? pep_proc_pid(c->proc) : 0;
}

PEP_API int pep_conn_version(const struct pep_conn *c)
{
	return c->version;
}

PEP_API int pep_conn_close(struct pep_conn *c, int *wait_status)
{
	int status = 0, ret = 0;

	if (!c)
		return 0;
	/* closing stdin first: a well-behaved child exits on end of input */
	if (c->wfd != c->rfd)
		close(c->wfd);
	close(c->rfd);
	if (c->proc) {
		struct pep_proc_result r;

		ret = pep_proc_wait(c->proc, c->grace_ms, &r, NULL);
		status = r.wait_status;
		pep_proc_result_free(&r);
	}
	if (wait_status)
		*wait_status = status;
	free(c->rbuf);
	free(c);
	return ret;
}

/* --- connections: sending ---------------------------------------------- */

static ssize_t write_some(struct pep_conn *c, struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };

	/* a reader gone raises SIGPIPE: sockets say no, pipes block it */
	if (c->wsock)
		return sendmsg(c->wfd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	return pep__writev_nosigpipe(c->wfd, iov, n);
}

/* Write all of iov; *sent counts what went out. 0 or -errno. */
static int write_all(struct pep_conn *c, struct iovec *iov, int n,
		     size_t *sent)
{
	uint64_t deadline = deadline_after(c->send_timeout_ms);
	ssize_t r;
	int ret;

	while (n > 0) {
		r = write_some(c, iov, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			return -errno;
		if (r < 0) {
			ret = wait_fd(c->wfd, POLLOUT, deadline);
			if (ret < 0)
				return ret;
			continue;
		}
		*sent += (size_t)r;
		for (; n > 0 && (size_t)r >= iov->iov_len; iov++, n--)
			r -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

/* The payload's pieces into iov[1..], the header's CRC over all of them. */
static int frame_iov(struct iovec *iov, uint8_t *hdr, uint8_t version,
		     uint8_t type, const struct iovec *pieces, int n,
		     size_t len)
{
	uint32_t crc;
	int k = 1;

	pep_frame_header(hdr, version, type, "", 0);
	put_be32(hdr + 8, (uint32_t)len);
	crc = pep_crc32c(0, hdr, CRC_SPAN);
	iov[0] = (struct iovec){ .iov_base = hdr, .iov_len = HDR };
	for (int i = 0; i < n; i++) {
		if (!pieces[i].iov_len)
			continue;
		crc = pep_crc32c(crc, pieces[i].iov_base, pieces[i].iov_len);
		iov[k++] = pieces[i];
	}
	put_be32(hdr + 12, crc);
	return k;
}

static int send_frame(struct pep_conn *c, uint8_t type,
		      const struct iovec *pieces, int n, struct pep_err *err)
{
	uint8_t hdr[HDR];
	struct iovec iov[MAX_PIECES + 1];
	size_t sent = 0, len = 0;
	int ret;

	if (c->send_error)
		return pep_err_set(err, c->send_error,
				   "send: stream broken by an earlier error: %s",
				   strerror(-c->send_error));
	if (n < 0 || n > MAX_PIECES)
		return pep_err_set(err, -EINVAL, "send: %d pieces (at most %d)",
				   n, MAX_PIECES);
	for (int i = 0; i < n; i++)
		if (__builtin_add_overflow(len, pieces[i].iov_len, &len))
			len = SIZE_MAX;
	if (len > UINT32_MAX - HDR || (c->peer_max && len > c->peer_max - HDR))
		return pep_err_set(err, -EMSGSIZE,
				   "send: %zu-byte payload above the peer's limit of %u bytes",
				   len, c->peer_max ? c->peer_max - HDR : UINT32_MAX - HDR);
	ret = write_all(c, iov, frame_iov(iov, hdr, c->send_version, type,
					  pieces, n, len), &sent);
	if (ret == 0)
		return 0;
	/* part of a frame went out: the peer can no longer find the next one */
	if (sent || ret != -ETIMEDOUT)
		c->send_error = ret;
	return pep_err_set(err, ret, "send: %s%s", strerror(-ret),
			   ret == -EPIPE ? " (the peer closed the connection)" : "");
}

static int check_type(uint8_t type, struct pep_err *err)
{
	if (type == 0 || type == PEP_FRAME_HELLO)
		return pep_err_set(err, -EINVAL, "send: type %u is %s", type,
				   type ? "reserved for the handshake" : "invalid");
	return 0;
}

PEP_API int pep_conn_send(struct pep_conn *c, uint8_t type,
			  const void *payload, size_t len,
			  struct pep_err *err)
{
	struct iovec piece = { .iov_base = (void *)payload, .iov_len = len };
	int ret = check_type(type, err);

	return ret ? ret : send_frame(c, type, &piece, 1, err);
}

PEP_API int pep_conn_sendv(struct pep_conn *c, uint8_t type,
			   const struct iovec *pieces, int n,
			   struct pep_err *err)
{
	int ret = check_type(type, err);

	return ret ? ret : send_frame(c, type, pieces, n, err);
}

/* --- connections: receiving -------------------------------------------- */

/* Room for need more bytes after the unread ones, at the buffer's start. */
static int make_room(struct pep_conn *c, size_t need)
{
	size_t avail = c->rlen - c->roff, want = avail + need, cap;
	uint8_t *nb;

	if (c->roff) {
		memmove(c->rbuf, c->rbuf + c->roff, avail);
		c->rlen = avail;
		c->roff = 0;
	}
	cap = want > RBUF_MIN ? want : RBUF_MIN;
	/* grow to fit, or give back a big buffer once a small frame follows */
	if (want <= c->rcap && !(c->rcap > RBUF_SHRINK && cap < c->rcap / 4))
		return 0;
	nb = realloc(c->rbuf, cap);
	if (!nb)
		return -ENOMEM;
	c->rbuf = nb;
	c->rcap = cap;
	return 0;
}

static int fill(struct pep_conn *c, size_t need, uint64_t deadline,
		struct pep_err *err)
{
	size_t avail;
	ssize_t n;
	int ret;

	if (make_room(c, need) < 0)
		return pep_err_set(err, -ENOMEM, "recv: no memory for a %zu-byte frame",
				   c->rlen + need);
	avail = c->rlen;
	for (;;) {
		/* poll first: on a blocking fd a bare read would ignore the timeout */
		ret = wait_fd(c->rfd, POLLIN, deadline);
		if (ret < 0)
			return pep_err_set(err, ret, "recv: %s", ret == -ETIMEDOUT ?
					   "timed out" : strerror(-ret));
		n = read(c->rfd, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n > 0) {
			c->rlen += (size_t)n;
			return 0;
		}
		if (n == 0)
			break;
		if (errno != EINTR && errno != EAGAIN)
			return pep_err_errno(err, "recv");
	}
	if (!avail)
		return pep_err_set(err, -EPIPE, "recv: the peer closed the connection");
	return pep_err_set(err, -ECONNRESET,
			   "recv: the peer closed the connection %zu bytes into a frame",
			   avail);
}

PEP_API int pep_conn_recv(struct pep_conn *c, struct pep_frame *f,
			  int timeout_ms, struct pep_err *err)
{
	/* timeout 0: a deadline already past, so poll() only looks */
	uint64_t deadline = timeout_ms == 0 ? 1 : deadline_after(timeout_ms);
	size_t need = 0;
	ssize_t r;
	int ret;

	if (c->recv_error)
		return pep_err_set(err, c->recv_error,
				   "recv: stream broken by an earlier error: %s",
				   strerror(-c->recv_error));
	c->roff += c->last;		/* the caller is done with the last frame */
	c->last = 0;
	for (;;) {
		r = pep_frame_decode(c->rbuf + c->roff, c->rlen - c->roff,
				     &c->rlim, f, &need, err);
		if (r > 0) {
			c->last = (size_t)r;
			return 0;
		}
		if (r != -EAGAIN) {
			c->recv_error = (int)r;
			return (int)r;
		}
		ret = fill(c, need, deadline, err);
		if (ret < 0) {
			if (ret != -ETIMEDOUT)
				c->recv_error = ret;
			return ret;
		}
	}
}

/* --- handshake ---------------------------------------------------------- */

static int hello_check(struct pep_conn *c, const struct pep_frame *f,
		       struct pep_err *err)
{
	const uint8_t *p = f->payload;
	unsigned int lo, hi, pmin = p[0], pmax = p[1];
	uint32_t pframe = get_be32(p + 4);

	if (!pmin || pmin > pmax || pframe < HDR)
		return pep_err_set(err, -EPROTO,
				   "handshake: peer's HELLO says versions %u..%u, max frame %u",
				   pmin, pmax, pframe);
	lo = pmin > c->rlim.version_min ? pmin : c->rlim.version_min;
	hi = pmax < c->rlim.version_max ? pmax : c->rlim.version_max;
	if (lo > hi)
		return pep_err_set(err, -EPROTONOSUPPORT,
				   "handshake: no common version: ours %u..%u, peer's %u..%u",
				   c->rlim.version_min, c->rlim.version_max, pmin, pmax);
	c->peer_max = pframe;
	return (int)hi;
}

PEP_API int pep_conn_handshake(struct pep_conn *c, int timeout_ms,
			       struct pep_err *err)
{
	struct pep_frame_limits ours = c->rlim;
	uint8_t hello[PEP_HELLO_SIZE] = { ours.version_min, ours.version_max };
	struct pep_frame f;
	int ret;

	put_be32(hello + 4, ours.max_frame_bytes);
	/* HELLO goes out as our oldest version, so any peer can read it */
	c->send_version = ours.version_min;
	ret = send_frame(c, PEP_FRAME_HELLO,
			 &(struct iovec){ .iov_base = hello,
					  .iov_len = sizeof(hello) }, 1, err);
	c->send_version = ours.version_max;
	if (ret < 0)
		return ret;
	c->rlim.version_min = 1;	/* read the peer's HELLO, whatever it speaks */
	c->rlim.version_max = 255;
	ret = pep_conn_recv(c, &f, timeout_ms, err);
	c->rlim = ours;
	if (ret < 0)
		return ret;
	if (f.type != PEP_FRAME_HELLO)
		return pep_err_set(err, -EPROTO,
				   "handshake: the peer's first frame has type %u, not HELLO",
				   f.type);
	ret = hello_check(c, &f, err);
	if (ret < 0)
		return ret;
	c->version = ret;
	c->send_version = (uint8_t)ret;
	c->rlim.version_min = c->rlim.version_max = (uint8_t)ret;
	return ret;
}
