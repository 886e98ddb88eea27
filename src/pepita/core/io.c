/*
 * io.c - whole writes, and writes to pipes that cannot kill the caller
 * (core_priv.h).
 */
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <pepita/core.h>

#include "core_priv.h"

/*
 * The kernel raises SIGPIPE whenever a write meets a pipe without
 * readers, also when some bytes went in and the call returns a partial
 * count, so a short write consumes one as well as a failed one.
 */
ssize_t pep__writev_nosigpipe(int fd, const struct iovec *iov, int n)
{
	static const struct timespec zero;
	sigset_t pipe_set, old, pending;
	int had_pending, e;
	size_t want = 0;
	ssize_t r;

	for (int i = 0; i < n; i++)
		want += iov[i].iov_len;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	had_pending = sigismember(&pending, SIGPIPE);
	r = writev(fd, iov, n);
	e = errno;
	if (!had_pending && ((r < 0 && e == EPIPE) || (r >= 0 && (size_t)r < want)))
		sigtimedwait(&pipe_set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return r;
}

PEP_API int pep_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
