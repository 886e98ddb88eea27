/*
 * The process runner: start by argv, feed stdin, capture with limits, time
 * out, report.
 *
 * One thread does it all with poll(): stdin is written as the child reads
 * it while stdout and stderr are drained, so neither side can block the
 * other on a full pipe. Output beyond the limit is read and discarded: a
 * child blocked on a full pipe would otherwise run into the timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/core_priv.h"
#include "proc/proc_priv.h"

/* Hand keep bytes to the caller's on_output; they count against max. */
static int capture_hand(struct pep__capture *c, const char *chunk, size_t keep)
{
	c->len += keep;
	if (keep && c->o->on_output(c->o->output_arg, c->stream, chunk, keep) < 0) {
		c->failed = 1;
		return -1;
	}
	return 1;
}

int pep__capture_read(struct pep__capture *c)
{
	char chunk[65536];
	ssize_t n = read(c->fd, chunk, sizeof(chunk));
	size_t keep;

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	if (n == 0)
		return 0;
	keep = c->len < c->max ? c->max - c->len : 0;
	if ((size_t)n > keep)
		c->truncated = 1;
	keep = keep < (size_t)n ? keep : (size_t)n;
	if (c->o && c->o->on_output)
		return capture_hand(c, chunk, keep);
	if (keep) {
		char *nb = realloc(c->buf, c->len + keep + 1);

		if (!nb)
			return -1;
		c->buf = nb;
		memcpy(c->buf + c->len, chunk, keep);
		c->len += keep;
		c->buf[c->len] = '\0';
	}
	return 1;
}

/*
 * A child that exits without reading its stdin would raise SIGPIPE in us,
 * which would kill the caller.
 */
static ssize_t write_no_sigpipe(int fd, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return pep__writev_nosigpipe(fd, &iov, 1);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/*
 * Write what stdin takes now (our end does not block: a child that
 * writes as it reads must find its output drained); close it when all is
 * written or the child is gone.
 */
static void feed(int *in_fd, const char *in, size_t in_len, size_t *in_off)
{
	ssize_t w = write_no_sigpipe(*in_fd, in + *in_off, in_len - *in_off);

	if (w > 0)
		*in_off += (size_t)w;
	if ((w < 0 && errno != EAGAIN && errno != EINTR) || *in_off == in_len)
		close_fd(in_fd);
}

/*
 * Feed stdin and drain both outputs until they close, time runs out (1) or
 * cancel_fd becomes readable or on_output refuses (2). Closes in_fd.
 */
static int pump(struct pep__capture *cap, int in_fd, const char *in,
		size_t in_len, uint64_t deadline_ns, int cancel_fd)
{
	size_t in_off = 0;
	int ret = 0;

	while (!ret && (cap[0].fd >= 0 || cap[1].fd >= 0)) {
		struct pollfd p[4] = { { cap[0].fd, POLLIN, 0 },
				       { cap[1].fd, POLLIN, 0 },
				       { in_fd, POLLOUT, 0 },
				       { cancel_fd > 0 ? cancel_fd : -1, POLLIN, 0 } };
		int timeout = pep__proc_remaining_ms(deadline_ns), n;

		if (timeout == 0) {
			ret = 1;
			break;
		}
		n = poll(p, 4, timeout);
		if (n < 0 && errno != EINTR)
			ret = -errno;
		else if (n > 0 && p[3].revents)
			ret = 2;
		for (int i = 0; i < 2 && n > 0 && !ret; i++)
			if (p[i].revents && pep__capture_read(&cap[i]) <= 0)
				close_fd(&cap[i].fd);
		/* where the output goes is gone: stop as a cancel does */
		if (cap[0].failed || cap[1].failed)
			ret = 2;
		if (!ret && in_fd >= 0 && p[2].revents)
			feed(&in_fd, in, in_len, &in_off);
	}
	close_fd(&in_fd);
	return ret;
}

static void take_output(struct pep__capture *cap, struct pep_proc_result *res)
{
	/* handed to on_output: counted, not kept */
	res->out = cap[0].buf;
	res->out_len = cap[0].buf ? cap[0].len : 0;
	res->out_truncated = cap[0].truncated;
	res->err = cap[1].buf;
	res->err_len = cap[1].buf ? cap[1].len : 0;
	res->err_truncated = cap[1].truncated;
}

/*
 * After the pump: a child that closed its outputs but runs on still has
 * its deadline. 1 when reaped, 0 when its time ran out.
 */
static int reap_by(pid_t pid, uint64_t deadline_ns, int *status,
		   struct rusage *ru)
{
	return pep__proc_reap(pid, pep__proc_remaining_ms(deadline_ns), status,
			      ru) == 1;
}

static int start(const char *const *argv, const struct pep_proc_opts *o,
		 struct pep__stdio *s, pid_t *pid, struct pep_err *err)
{
	int ret = pep__stdio_open(s, o, o->stdin_data != NULL);

	if (ret < 0)
		return pep_err_set(err, ret, "exec %s: pipe: %s", argv[0],
				   strerror(-ret));
	ret = pep__proc_start(argv, o, s, pid);
	pep__stdio_close_child(s);
	if (ret < 0) {
		pep__stdio_close_ours(s);
		return pep_err_set(err, ret, "exec %s: %s", argv[0], strerror(-ret));
	}
	/* our end is a file description of its own: the child's stays blocking */
	if (s->ours[0] >= 0)
		fcntl(s->ours[0], F_SETFL, fcntl(s->ours[0], F_GETFL) | O_NONBLOCK);
	return 0;
}

int pep_proc_run(const char *const *argv, const struct pep_proc_opts *opts,
		 struct pep_proc_result *res, struct pep_err *err)
{
	static const struct pep_proc_opts none;
	const struct pep_proc_opts *o = opts ? opts : &none;
	size_t max = o->max_output ? o->max_output : PEP_PROC_MAX_OUTPUT_DEFAULT;
	int own_group = !(o->flags & PEP_PROC_SAME_PGROUP);
	uint64_t start_ns = pep_time_ns(), deadline = 0;
	struct rusage ru = { 0 };
	struct pep__capture cap[2];
	struct pep__stdio s;
	int status = 0, ret, reaped;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (!argv || !argv[0])
		return pep_err_set(err, -EINVAL, "exec: empty argv");
	ret = start(argv, o, &s, &pid, err);
	if (ret < 0)
		return ret;
	cap[0] = (struct pep__capture){ .fd = s.ours[1], .max = max, .stream = 1, .o = o };
	cap[1] = (struct pep__capture){ .fd = s.ours[2], .max = max, .stream = 2, .o = o };
	if (o->timeout_ms)
		deadline = start_ns + (uint64_t)o->timeout_ms * 1000000;
	ret = pump(cap, s.ours[0], o->stdin_data, o->stdin_len, deadline, o->cancel_fd);
	reaped = ret == 0 && reap_by(pid, deadline, &status, &ru);
	if (ret == 0 && !reaped)
		ret = 1;
	if (ret == 1 || ret == 2) {
		res->timed_out = ret == 1;
		res->canceled = ret == 2;
		reaped = pep__proc_stop(pid, own_group, &status, &ru);
		ret = 0;
	}
	close_fd(&cap[0].fd);
	close_fd(&cap[1].fd);
	if (!reaped)
		pep__proc_reap(pid, -1, &status, &ru);
	pep__proc_fill_status(status, &ru, res);
	take_output(cap, res);
	res->elapsed_ns = pep_time_ns() - start_ns;
	if (ret < 0)
		return pep_err_set(err, ret, "exec %s: poll: %s", argv[0], strerror(-ret));
	return 0;
}

void pep_proc_result_free(struct pep_proc_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}
