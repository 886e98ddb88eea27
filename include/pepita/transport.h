/*
 * pepita/transport.h - framed messages over any byte stream: a socket, a
 * pipe pair, or the stdin/stdout of a child such as `ssh host worker`.
 *
 * Frame layout (all integers big-endian), 16-byte header then payload:
 *
 *	offset size field
 *	0      2    magic, "PT" (0x50 0x54)
 *	2      1    version, 1..255 (this library speaks 1)
 *	3      1    type, 1..255 (0 is invalid; PEP_FRAME_HELLO is reserved)
 *	4      1    flags, must be 0
 *	5      3    reserved, must be 0
 *	8      4    payload length in bytes
 *	12     4    CRC32C (Castagnoli) over bytes 0..11 of the header
 *		    followed by the payload: everything but the CRC itself
 *	16     len  payload
 *
 * A receiver checks each header field as soon as its bytes arrive and the
 * length against its limit before it allocates anything, so garbage or a
 * hostile peer costs at most one header.
 *
 * Threading: the codec functions are pure (any thread). A pep_conn may be
 * used by one sending thread and one receiving thread at the same time
 * (pep_conn_send() against pep_conn_recv()); two senders or two receivers
 * need the caller's lock. pep_conn_handshake() does both and must finish
 * before the two threads start; pep_conn_close() runs after both stopped.
 */
#ifndef PEPITA_TRANSPORT_H
#define PEPITA_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <pepita/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* --- CRC32C --------------------------------------------------------------- */

/*
 * CRC32C (Castagnoli, reflected, init and final xor 0xffffffff) of buf,
 * continuing from crc (0 to start; pass the previous result to continue):
 * pep_crc32c(0, "123456789", 9) == 0xe3069283. Uses the SSE4.2 crc32
 * instruction on x86-64 or the ARMv8 CRC32C instructions on aarch64 when
 * the CPU has them, a table otherwise. Any thread.
 */
PEP_API uint32_t pep_crc32c(uint32_t crc, const void *buf, size_t len);

/* The table version, whatever the CPU: for tests and benchmarks. */
PEP_API uint32_t pep_crc32c_sw(uint32_t crc, const void *buf, size_t len);

/* 1 when pep_crc32c() uses CPU instructions. */
PEP_API int pep_crc32c_hw(void);

/* --- frame codec ---------------------------------------------------------- */

#define PEP_FRAME_HEADER_SIZE 16
#define PEP_FRAME_VERSION 1		/* the newest version this library speaks */
#define PEP_FRAME_MAX_DEFAULT (16u << 20)	/* header + payload */

enum pep_frame_type {
	PEP_FRAME_HELLO = 1,		/* handshake; payload PEP_HELLO_SIZE bytes */
	PEP_FRAME_DATA = 2,		/* opaque application bytes */
	PEP_FRAME_USER = 16,		/* 16..255: the application's own types */
};

/*
 * HELLO payload: u8 version_min, u8 version_max, u16 reserved (0), u32
 * max_frame_bytes (what the sender accepts).
 */
#define PEP_HELLO_SIZE 8

struct pep_frame_limits {		/* all-zero means defaults */
	uint32_t max_frame_bytes;	/* 0 = PEP_FRAME_MAX_DEFAULT; >= 16 */
	uint8_t version_min;		/* 0 = 1 */
	uint8_t version_max;		/* 0 = PEP_FRAME_VERSION */
};

struct pep_frame {
	uint8_t version;
	uint8_t type;
	uint32_t len;			/* payload bytes */
	const void *payload;		/* points into the decoded buffer */
};

/*
 * Write the 16-byte header for a frame of version, type and payload into
 * hdr (the CRC covers the payload, which is not copied). Returns 0, or
 * -EINVAL for type or version 0.
 */
PEP_API int pep_frame_header(void *hdr, uint8_t version, uint8_t type,
			     const void *payload, uint32_t len);

/*
 * Header and payload into buf. Returns the frame size (16 + len),
 * -ENOBUFS when size is too small (err says how much is needed),
 * -EMSGSIZE when the frame would not fit a u32 length, -EINVAL as above.
 */
PEP_API ssize_t pep_frame_encode(void *buf, size_t size, uint8_t version,
				 uint8_t type, const void *payload,
				 size_t len, struct pep_err *err);

/*
 * Parse the frame at the start of buf (len bytes; more may follow). lim
 * may be NULL. Returns:
 *   > 0		a whole valid frame of that many bytes; f describes it
 *   -EAGAIN		a valid prefix: *need (may be NULL) is how many more
 *			bytes are needed at least (all of them once the
 *			header is complete)
 *   -EPROTO		wrong magic, nonzero flags or reserved bytes, type 0,
 *			a HELLO whose length is not PEP_HELLO_SIZE
 *   -EPROTONOSUPPORT	version outside lim's range
 *   -EMSGSIZE		header + payload above lim->max_frame_bytes
 *   -EBADMSG		CRC mismatch
 * Errors name the field in err. Nothing is allocated.
 */
PEP_API ssize_t pep_frame_decode(const void *buf, size_t len,
				 const struct pep_frame_limits *lim,
				 struct pep_frame *f, size_t *need,
				 struct pep_err *err);

/* --- connections -------------------------------------------------------- */

struct pep_conn;

struct pep_conn_opts {			/* all-zero means defaults */
	struct pep_frame_limits limits;	/* for received frames */
	int send_timeout_ms;		/* per pep_conn_send(); 0 = no limit */
	int connect_timeout_ms;		/* unix/tcp/vsock; 0 = the kernel's */
	int child_grace_ms;		/* close: wait before SIGKILL; 0 = 2000 */
};

/*
 * Wrap rfd (read) and wfd (write; the same fd for a socket). The
 * connection owns them and closes them in pep_conn_close(). Their flags
 * are left as they are: on a blocking wfd a send can wait past
 * send_timeout_ms. -EINVAL for a negative fd, -ENOMEM.
 */
PEP_API int pep_conn_from_fds(struct pep_conn **out, int rfd, int wfd,
			      const struct pep_conn_opts *opts,
			      struct pep_err *err);

/* Two connected ends (AF_UNIX SOCK_STREAM, non-blocking): for tests. */
PEP_API int pep_conn_socketpair(struct pep_conn **a, struct pep_conn **b,
				const struct pep_conn_opts *opts,
				struct pep_err *err);

/* Connect to a unix stream socket. -ENAMETOOLONG, -ECONNREFUSED, ... */
PEP_API int pep_conn_unix(struct pep_conn **out, const char *path,
			  const struct pep_conn_opts *opts, struct pep_err *err);

/*
 * Connect over TCP (every address of host in turn; TCP_NODELAY set).
 * port is a number or a service name. -ENOENT when host does not resolve.
 */
PEP_API int pep_conn_tcp(struct pep_conn **out, const char *host,
			 const char *port, const struct pep_conn_opts *opts,
			 struct pep_err *err);

/* Connect to a vsock port (AF_VSOCK). -EOPNOTSUPP where not built in. */
PEP_API int pep_conn_vsock(struct pep_conn **out, uint32_t cid, uint32_t port,
			   const struct pep_conn_opts *opts,
			   struct pep_err *err);

/*
 * Start argv[0] (looked up in PATH) with its stdin and stdout as the
 * transport. Its stderr goes to stderr_fd (-1: ours, passed through;
 * give a file or a pipe to capture it). The child gets SIGTERM when the
 * calling thread dies, and keeps no other descriptor of ours (everything
 * here is close-on-exec). -ENOENT or -EACCES when argv[0] cannot be
 * executed (err names it).
 */
PEP_API int pep_conn_spawn(struct pep_conn **out, const char *const *argv,
			   int stderr_fd, const struct pep_conn_opts *opts,
			   struct pep_err *err);

/*
 * pep_conn_spawn() of `ssh [ssh_args...] -- host command...`: ssh_args
 * and command are NULL-terminated (ssh_args may be NULL). Pass
 * "-oBatchMode=yes" in ssh_args where no one can answer a prompt.
 */
PEP_API int pep_conn_ssh(struct pep_conn **out, const char *host,
			 const char *const *ssh_args,
			 const char *const *command, int stderr_fd,
			 const struct pep_conn_opts *opts,
			 struct pep_err *err);

/*
 * Send one frame. Retries partial writes and EINTR, and polls on EAGAIN
 * until send_timeout_ms. Returns 0; -EMSGSIZE when the frame exceeds the
 * peer's announced maximum (after a handshake) or 4 GiB; -ETIMEDOUT;
 * -EPIPE when the peer is gone (never SIGPIPE); -EINVAL for type 0 or
 * PEP_FRAME_HELLO. After an error mid-frame the stream is broken and
 * every later send fails with the same code.
 */
PEP_API int pep_conn_send(struct pep_conn *c, uint8_t type,
			  const void *payload, size_t len,
			  struct pep_err *err);

/*
 * pep_conn_send() of a payload in n pieces (at most 8, -EINVAL beyond),
 * sent as one frame without copying them together: a tag byte and a
 * buffer, say. Same returns.
 */
struct iovec;
PEP_API int pep_conn_sendv(struct pep_conn *c, uint8_t type,
			   const struct iovec *pieces, int n,
			   struct pep_err *err);

/*
 * Receive one frame, waiting at most timeout_ms (-1: no limit, 0: only
 * what has arrived). f->payload stays valid until the next pep_conn_recv()
 * or pep_conn_close(). Returns 0, or:
 *   -ETIMEDOUT		nothing complete in time (a partial frame is kept
 *			and the next call continues it)
 *   -EPIPE		the peer closed the stream between frames
 *   -ECONNRESET	the peer closed it in the middle of a frame
 *   a pep_frame_decode() error for a malformed frame
 * Any error but -ETIMEDOUT is sticky: the stream cannot be resynchronised.
 */
PEP_API int pep_conn_recv(struct pep_conn *c, struct pep_frame *f,
			  int timeout_ms, struct pep_err *err);

/*
 * Exchange HELLO frames and settle on the highest version both sides
 * support; later frames carry it and must carry it. Returns that version
 * (> 0), -EPROTONOSUPPORT when the ranges do not overlap (err gives both),
 * -EPROTO when the first frame from the peer is not a HELLO, or a
 * send/recv error. Both sides must call it.
 */
PEP_API int pep_conn_handshake(struct pep_conn *c, int timeout_ms,
			       struct pep_err *err);

/* The negotiated version, 0 before a handshake. */
PEP_API int pep_conn_version(const struct pep_conn *c);

/* The spawned child's pid, 0 for other connections. */
PEP_API pid_t pep_conn_pid(const struct pep_conn *c);

/*
 * Close both descriptors and, for a spawned child, reap it: it normally
 * exits on end of input; after child_grace_ms it gets SIGTERM, and
 * SIGKILL 200 ms later. *wait_status (may be NULL) receives the waitpid()
 * status, 0 for other connections. Frees c (NULL does nothing). Returns
 * 0, or -errno from waitpid().
 */
PEP_API int pep_conn_close(struct pep_conn *c, int *wait_status);

#ifdef __cplusplus
}
#endif

#endif /* PEPITA_TRANSPORT_H */
