/*
 * Long-running children: a program whose stdout the caller reads as it
 * comes (tegrastats), or whose stdin and stdout the caller takes as a
 * stream of its own (the transport's `ssh host worker`). Its stderr is
 * kept up to a limit while the caller reads, or goes where the caller
 * said. Such a child always dies with the thread that started it, so a
 * crashed caller leaves nothing running.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc/proc_priv.h"

struct pep_proc {
	pid_t pid;
	int own_group;
	int in_fd;			/* stdin's write end, until taken */
	int out_fd;			/* stdout: pep_proc_read(), until taken */
	struct pep__capture err;	/* stderr: kept up to max_output */
	uint64_t start_ns, deadline_ns;
	int timed_out;
};

int pep_proc_spawn(const char *const *argv, const struct pep_proc_opts *opts,
		   struct pep_proc **out, struct pep_err *err)
{
	struct pep_proc_opts o = opts ? *opts : (struct pep_proc_opts){ 0 };
	struct pep__stdio s;
	struct pep_proc *p;
	int ret;

	*out = NULL;
	if (!argv || !argv[0])
		return pep_err_set(err, -EINVAL, "exec: empty argv");
	if (o.stdin_data)
		return pep_err_set(err, -EINVAL, "exec %s: stdin_data is not "
				   "supported for a spawned program", argv[0]);
	p = calloc(1, sizeof(*p));
	if (!p)
		return pep_err_set(err, -ENOMEM, "exec %s: out of memory", argv[0]);
	o.die_with_parent = 1;
	ret = pep__stdio_open(&s, &o, o.flags & PEP_PROC_STDIN_PIPE);
	if (ret < 0) {
		free(p);
		return pep_err_set(err, ret, "exec %s: pipe: %s", argv[0], strerror(-ret));
	}
	p->start_ns = pep_time_ns();
	ret = pep__proc_start(argv, &o, &s, &p->pid);
	pep__stdio_close_child(&s);
	if (ret < 0) {
		pep__stdio_close_ours(&s);
		free(p);
		return pep_err_set(err, ret, "exec %s: %s", argv[0], strerror(-ret));
	}
	p->own_group = !(o.flags & PEP_PROC_SAME_PGROUP);
	p->in_fd = s.ours[0];
	p->out_fd = s.ours[1];
	p->err = (struct pep__capture){ .fd = s.ours[2], .stream = 2,
		.max = o.max_output ? o.max_output : PEP_PROC_MAX_OUTPUT_DEFAULT };
	if (o.timeout_ms)
		p->deadline_ns = p->start_ns + (uint64_t)o.timeout_ms * 1000000;
	*out = p;
	return 0;
}

/* The shorter of the caller's wait and the time left before the deadline. */
static int read_wait(const struct pep_proc *p, int wait_ms)
{
	int left = pep__proc_remaining_ms(p->deadline_ns);

	if (left < 0)
		return wait_ms;
	return wait_ms < 0 || left < wait_ms ? left : wait_ms;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

ssize_t pep_proc_read(struct pep_proc *p, void *buf, size_t size, int wait_ms,
		      struct pep_err *err)
{
	if (p->out_fd < 0)
		return pep_err_set(err, -EBADF, "exec: pid %d: stdout was taken",
				   (int)p->pid);
	for (;;) {
		struct pollfd fds[2] = { { p->out_fd, POLLIN, 0 },
					 { p->err.fd, POLLIN, 0 } };
		int wait = read_wait(p, wait_ms), n;
		ssize_t got;

		if (p->deadline_ns && pep__proc_remaining_ms(p->deadline_ns) == 0) {
			p->timed_out = 1;
			return pep_err_set(err, -ETIMEDOUT, "exec: pid %d ran out of "
					   "time", (int)p->pid);
		}
		n = poll(fds, 2, wait);
		if (n < 0)
			return errno == EINTR ? -EINTR :
				pep_err_errno(err, "exec: poll");
		if (n == 0) {
			if (wait == wait_ms)
				return -EAGAIN;
			continue;	/* the deadline: reported above */
		}
		if (fds[1].revents && pep__capture_read(&p->err) <= 0)
			close_fd(&p->err.fd);	/* poll ignores a negative fd */
		if (!fds[0].revents)
			continue;
		got = read(p->out_fd, buf, size);
		if (got >= 0)
			return got;
		if (errno != EINTR && errno != EAGAIN)
			return pep_err_errno(err, "exec: read");
	}
}

pid_t pep_proc_pid(const struct pep_proc *p)
{
	return p->pid;
}

int pep_proc_take_stdin(struct pep_proc *p)
{
	int fd = p->in_fd;

	p->in_fd = -1;
	return fd;
}

int pep_proc_take_stdout(struct pep_proc *p)
{
	int fd = p->out_fd;

	p->out_fd = -1;
	return fd;
}

/* Keep the child's stderr until it closes or deadline_ns (0: none) passes. */
static void drain_err(struct pep_proc *p, uint64_t deadline_ns)
{
	while (p->err.fd >= 0) {
		struct pollfd fd = { p->err.fd, POLLIN, 0 };
		int left = pep__proc_remaining_ms(deadline_ns), n;

		if (left == 0)
			return;
		n = poll(&fd, 1, left);
		if (n == 0 || (n < 0 && errno != EINTR))
			return;
		if (n > 0 && pep__capture_read(&p->err) <= 0)
			close_fd(&p->err.fd);
	}
}

/* Let the child exit by itself within wait_ms: 1 reaped, 0 not, -errno. */
static int let_exit(struct pep_proc *p, int wait_ms, int *status,
		    struct rusage *ru)
{
	uint64_t deadline = 0;

	if (wait_ms == 0)
		return 0;
	if (wait_ms > 0)
		deadline = pep_time_ns() + (uint64_t)wait_ms * 1000000;
	drain_err(p, deadline);
	return pep__proc_reap(p->pid, wait_ms < 0 ? -1 :
			      pep__proc_remaining_ms(deadline), status, ru);
}

static void fill(struct pep_proc *p, int status, const struct rusage *ru,
		 struct pep_proc_result *res)
{
	pep__proc_fill_status(status, ru, res);
	res->timed_out = p->timed_out;
	res->err = p->err.buf;
	res->err_len = p->err.len;
	res->err_truncated = p->err.truncated;
	res->elapsed_ns = pep_time_ns() - p->start_ns;
}

int pep_proc_wait(struct pep_proc *p, int wait_ms, struct pep_proc_result *res,
		  struct pep_err *err)
{
	struct pep_proc_result local;
	struct rusage ru = { 0 };
	int status = 0, reaped, ret = 0;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	/* a writer now gets EPIPE instead of blocking; a reader sees its end */
	close_fd(&p->in_fd);
	close_fd(&p->out_fd);
	reaped = let_exit(p, wait_ms, &status, &ru);
	if (reaped == 0)
		reaped = pep__proc_stop(p->pid, p->own_group, &status, &ru);
	drain_err(p, 0);
	if (reaped < 0)
		ret = reaped;
	else if (!reaped)
		ret = pep__proc_reap(p->pid, -1, &status, &ru);
	if (ret < 0)
		pep_err_set(err, ret, "exec: waitpid %d: %s", (int)p->pid,
			    strerror(-ret));
	fill(p, status, &ru, res);
	if (res == &local)
		pep_proc_result_free(res);
	free(p);
	return ret < 0 ? ret : 0;
}

int pep_proc_finish(struct pep_proc *p, int stop, struct pep_proc_result *res,
		    struct pep_err *err)
{
	return pep_proc_wait(p, stop || p->timed_out ? 0 : -1, res, err);
}
