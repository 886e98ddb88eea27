/*
 * io.c - writes to pipes that cannot kill the caller (core_priv.h).
 */
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>
#include <sys/uio.h>

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
