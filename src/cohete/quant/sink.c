/*
 * sink.c - sequential output through two aligned buffers and a flusher
 * thread (sink.h says why).
 *
 * The buffer being filled is buf[cur]; a full one is handed to the
 * flusher, which owns it until it clears busy. There is one hand-over in
 * flight at most, so by the time the other buffer fills, the first is
 * free again (or the caller waits for it: back-pressure from the disk).
 * Every direct write starts at a multiple of BUF_BYTES and is a multiple
 * of ALIGN long; the last, partial buffer is padded with zeros and the
 * file truncated back to its length.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink.h"

#define BUF_BYTES	(8u << 20)
#define ALIGN		4096u	/* covers 512- and 4096-byte logical blocks */

struct coh__sink {
	int fd;
	bool direct;
	uint8_t *buf[2];
	int cur;
	size_t fill;			/* bytes in buf[cur] */
	uint64_t off;			/* where buf[cur] goes */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool started, stop, busy;
	int job;			/* the buffer handed over... */
	size_t job_len;
	uint64_t job_off;		/* ...and where it goes */
	int rc;				/* the flusher's first error */

	int failed;			/* the caller's view: first error */
};

/* The file system took O_DIRECT but not this write: go on without. */
static int drop_direct(struct coh__sink *s)
{
	int flags = fcntl(s->fd, F_GETFL);

	if (flags < 0 || fcntl(s->fd, F_SETFL, flags & ~O_DIRECT) < 0)
		return -errno;
	s->direct = false;
	return 0;
}

static int put_all(struct coh__sink *s, const uint8_t *p, size_t n,
		   uint64_t off)
{
	while (n) {
		ssize_t k = pwrite(s->fd, p, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EINVAL && s->direct) {
			if (drop_direct(s) < 0)
				return -EINVAL;
			continue;
		}
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

static void *flusher(void *arg)
{
	struct coh__sink *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->busy && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->busy)
			break;

		const uint8_t *p = s->buf[s->job];
		size_t len = s->job_len;
		uint64_t off = s->job_off;

		pthread_mutex_unlock(&s->lock);
		int rc = put_all(s, p, len, off);

		pthread_mutex_lock(&s->lock);
		if (rc && !s->rc)
			s->rc = rc;
		s->busy = false;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int coh__sink_open(struct coh__sink **out, int fd)
{
	struct coh__sink *s = calloc(1, sizeof(*s));
	int flags = fcntl(fd, F_GETFL);

	*out = NULL;
	if (!s)
		return -ENOMEM;
	for (int b = 0; b < 2; b++) {
		s->buf[b] = aligned_alloc(ALIGN, BUF_BYTES);
		if (!s->buf[b]) {
			free(s->buf[0]);
			free(s);
			return -ENOMEM;
		}
	}
	s->fd = fd;
	s->direct = flags >= 0 && fcntl(fd, F_SETFL, flags | O_DIRECT) == 0;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	*out = s;
	return 0;
}

/* Wait for the flusher to be idle; its first error, if any. */
static int wait_idle(struct coh__sink *s)
{
	int rc;

	pthread_mutex_lock(&s->lock);
	while (s->busy)
		pthread_cond_wait(&s->cond, &s->lock);
	rc = s->rc;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* buf[cur] is full: to the flusher (or out now, if it cannot start). */
static int hand_over(struct coh__sink *s)
{
	int rc;

	if (!s->started)
		s->started = pthread_create(&s->thread, NULL, flusher, s) == 0;
	if (!s->started) {
		rc = put_all(s, s->buf[s->cur], s->fill, s->off);
	} else if ((rc = wait_idle(s)) == 0) {
		pthread_mutex_lock(&s->lock);
		s->job = s->cur;
		s->job_len = s->fill;
		s->job_off = s->off;
		s->busy = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	if (rc)
		return s->failed = rc;
	s->off += s->fill;
	s->cur ^= 1;
	s->fill = 0;
	return 0;
}

int coh__sink_write(struct coh__sink *s, const void *p, size_t n)
{
	const uint8_t *src = p;

	if (s->failed)
		return s->failed;
	while (n) {
		size_t k = BUF_BYTES - s->fill < n ? BUF_BYTES - s->fill : n;
		int rc;

		memcpy(s->buf[s->cur] + s->fill, src, k);
		s->fill += k;
		src += k;
		n -= k;
		if (s->fill == BUF_BYTES && (rc = hand_over(s)) != 0)
			return rc;
	}
	return 0;
}

int coh__sink_flush(struct coh__sink *s)
{
	size_t len = s->fill;
	int rc = s->failed ? s->failed : wait_idle(s);

	if (rc)
		return s->failed = rc;
	if (s->direct && len % ALIGN) {
		size_t padded = (len + ALIGN - 1) / ALIGN * ALIGN;

		memset(s->buf[s->cur] + len, 0, padded - len);
		rc = put_all(s, s->buf[s->cur], padded, s->off);
		if (!rc && ftruncate(s->fd, (off_t)(s->off + len)) < 0)
			rc = -errno;
	} else if (len) {
		rc = put_all(s, s->buf[s->cur], len, s->off);
	}
	if (rc)
		return s->failed = rc;
	s->off += len;
	s->fill = 0;
	return 0;
}

void coh__sink_close(struct coh__sink *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
	}
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->buf[0]);
	free(s->buf[1]);
	free(s);
}
