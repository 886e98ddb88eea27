/*
 * The process runner: fork, exec by argv, capture with limits, time out.
 *
 * An exec failure travels back to the parent through a close-on-exec pipe
 * (the child writes its errno, a successful exec closes the pipe), so
 * "nvpmodel: not found" is an error return, not a mystery exit code 127.
 * Output beyond the limit is read and discarded: a child blocked on a full
 * pipe would otherwise run into the timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pepita/exec.h>

#include "core/core_priv.h"

#define DEFAULT_MAX_OUTPUT (1u << 20)
#define KILL_GRACE_MS 200

struct capture {
	int fd;
	char *buf;
	size_t len, max;
	int truncated;
	int stream;			/* 1 stdout, 2 stderr */
	const struct pep_proc_opts *o;	/* on_output set: hand pieces over */
	int failed;			/* on_output refused a piece */
};

extern char **environ;

static void child_exec(const char *const *argv, const struct pep_proc_opts *o,
		       int in_fd, int out_fd, int err_fd, int status_fd,
		       pid_t parent)
{
	int e;

	setpgid(0, 0);
	/* parent != 0: die with it (checked after, as it may be gone already) */
	if (parent && (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent))
		_exit(127);
	if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
		goto fail;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	if (o->envp)
		environ = (char **)o->envp;
	execvp(argv[0], (char *const *)argv);
fail:
	e = errno;
	if (write(status_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Hand keep bytes to the caller's on_output; they count against max. */
static int capture_hand(struct capture *c, const char *chunk, size_t keep)
{
	c->len += keep;
	if (keep && c->o->on_output(c->o->output_arg, c->stream, chunk, keep) < 0) {
		c->failed = 1;
		return -1;
	}
	return 1;
}

static int capture_read(struct capture *c)
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

static int remaining_ms(uint64_t deadline_ns)
{
	uint64_t now = pep_time_ns();

	if (!deadline_ns)
		return -1;
	return now >= deadline_ns ? 0 : (int)((deadline_ns - now) / 1000000 + 1);
}

/*
 * Feed stdin and drain both outputs until they close, time runs out (1) or
 * cancel_fd becomes readable (2).
 */
static int pump(struct capture *cap, int in_fd, const char *in, size_t in_len,
		uint64_t deadline_ns, int cancel_fd)
{
	size_t in_off = 0;

	while (cap[0].fd >= 0 || cap[1].fd >= 0) {
		struct pollfd p[4] = { { cap[0].fd, POLLIN, 0 },
				       { cap[1].fd, POLLIN, 0 },
				       { in_fd, POLLOUT, 0 },
				       { cancel_fd > 0 ? cancel_fd : -1, POLLIN, 0 } };
		int timeout = remaining_ms(deadline_ns), n;

		if (timeout == 0) {
			if (in_fd >= 0)
				close(in_fd);
			return 1;
		}
		n = poll(p, 4, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0 && p[3].revents) {
			if (in_fd >= 0)
				close(in_fd);
			return 2;
		}
		for (int i = 0; i < 2 && n > 0; i++)
			if (p[i].revents && capture_read(&cap[i]) <= 0) {
				close(cap[i].fd);
				cap[i].fd = -1;
			}
		/* where the output goes is gone: stop as a cancel does */
		if (cap[0].failed || cap[1].failed) {
			if (in_fd >= 0)
				close(in_fd);
			return 2;
		}
		if (in_fd >= 0 && p[2].revents) {
			ssize_t w = write_no_sigpipe(in_fd, in + in_off,
						     in_len - in_off);

			if (w > 0)
				in_off += (size_t)w;
			if (w < 0 || in_off == in_len) {
				close(in_fd);
				in_fd = -1;
			}
		}
	}
	if (in_fd >= 0)
		close(in_fd);
	return 0;
}

/*
 * SIGTERM to the group, SIGKILL after a grace period to whatever is left
 * (a child's children too). Returns 1 when it reaped the child (status
 * filled), 0 when the caller still has to wait for it.
 */
static int kill_group(pid_t pid, int *status)
{
	int reaped = 0;

	kill(-pid, SIGTERM);
	for (int ms = 0; ms < KILL_GRACE_MS && !reaped; ms += 10) {
		reaped = waitpid(pid, status, WNOHANG) == pid;
		if (!reaped)
			usleep(10 * 1000);
	}
	kill(-pid, SIGKILL);
	return reaped;
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static int make_pipes(int p[4][2])
{
	for (int i = 0; i < 4; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0)
			return -errno;
	return 0;
}

/* Wait for the child's exec: its errno arrives on the status pipe. */
static int exec_errno(int fd)
{
	int e = 0;
	ssize_t n;

	do
		n = read(fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(fd);
	return n == sizeof(e) ? e : 0;
}

static void fill_status(int status, struct pep_proc_result *res)
{
	res->exited = WIFEXITED(status);
	res->exit_code = res->exited ? WEXITSTATUS(status) : -1;
	res->signaled = WIFSIGNALED(status);
	res->signal_no = res->signaled ? WTERMSIG(status) : 0;
}

/* 0 when path is a file this process may execute, else -errno. */
static int executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EACCES;
	return access(path, X_OK) < 0 ? -errno : 0;
}

/*
 * Find the program as execvp would (a name with a slash as it is, else
 * along PATH, /bin:/usr/bin without one) so that a missing or
 * non-executable one is -ENOENT or -EACCES here, whatever posix_spawn can
 * tell: under qemu-user its vfork is a fork, and a failed exec in the
 * child would only show as exit status 127.
 */
static int resolve(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;
	int ret, seen_eacces = 0;

	if (strchr(name, '/')) {
		snprintf(out, size, "%s", name);
		return executable(name);
	}
	if (!path || !*path)
		path = "/bin:/usr/bin";
	for (p = path; ; p = end + 1) {
		size_t len;

		end = strchr(p, ':');
		len = end ? (size_t)(end - p) : strlen(p);
		if ((int)snprintf(out, size, "%.*s%s%s", (int)len, p,
				  len ? "/" : "", name) < (int)size) {
			ret = executable(out);
			if (ret == 0)
				return 0;
			seen_eacces |= ret == -EACCES;
		}
		if (!end)
			break;
	}
	return seen_eacces ? -EACCES : -ENOENT;
}

/*
 * Start argv with posix_spawn: its own process group, signals back to their
 * defaults and unblocked (a caller's ignored SIGPIPE must not leak into
 * the program), stdin/stdout/stderr from the pipes, cwd. glibc's
 * posix_spawn is vfork-fast and returns the exec's errno itself.
 */
static int spawn_child(const char *const *argv, const struct pep_proc_opts *o,
		       int in_fd, int out_fd, int err_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int ret;

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
				 POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	ret = posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
	if (!ret)
		ret = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	if (!ret)
		ret = posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	if (!ret && o->cwd)
		ret = posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
	if (!ret) {
		char path[4096];
		int r = resolve(argv[0], path, sizeof(path));

		ret = r ? -r : posix_spawn(pid, path, &fa, &attr, (char *const *)argv,
					   o->envp ? (char *const *)o->envp : environ);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -ret;
}

/*
 * The same with fork, for a child that must die with this thread
 * (PR_SET_PDEATHSIG, which posix_spawn cannot set): the exec's errno comes
 * back through a close-on-exec pipe.
 */
static int fork_child(const char *const *argv, const struct pep_proc_opts *o,
		      int in_fd, int out_fd, int err_fd, pid_t *pid)
{
	pid_t parent = getpid();
	int st[2], e;

	if (pipe2(st, O_CLOEXEC) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		e = errno;
		close_all((int[]){ st[0], st[1] }, 2);
		return -e;
	}
	if (*pid == 0)
		child_exec(argv, o, in_fd, out_fd, err_fd, st[1], parent);
	setpgid(*pid, *pid);	/* also here: no race with an early kill */
	close(st[1]);
	e = exec_errno(st[0]);
	if (e)
		waitpid(*pid, NULL, 0);
	return -e;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000 + (uint64_t)tv.tv_usec * 1000;
}

/* Reap pid (unless already reaped) and fill the status and CPU times. */
static void reap(pid_t pid, int reaped, int status, struct pep_proc_result *res)
{
	struct rusage ru;

	memset(&ru, 0, sizeof(ru));
	if (!reaped)
		while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
			;
	fill_status(status, res);
	res->user_ns = tv_ns(ru.ru_utime);
	res->sys_ns = tv_ns(ru.ru_stime);
}

static void take_output(struct capture *cap, struct pep_proc_result *res)
{
	/* handed to on_output: counted, not kept */
	res->out = cap[0].buf;
	res->out_len = cap[0].buf ? cap[0].len : 0;
	res->out_truncated = cap[0].truncated;
	res->err = cap[1].buf;
	res->err_len = cap[1].buf ? cap[1].len : 0;
	res->err_truncated = cap[1].truncated;
}

int pep_proc_run(const char *const *argv, const struct pep_proc_opts *opts,
		 struct pep_proc_result *res, struct pep_err *err)
{
	static const struct pep_proc_opts none;
	const struct pep_proc_opts *o = opts ? opts : &none;
	size_t max = o->max_output ? o->max_output : DEFAULT_MAX_OUTPUT;
	int p[3][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 } };
	struct capture cap[2];
	uint64_t start = pep_time_ns(), deadline = 0;
	int status = 0, ret, reaped = 0, in_fd;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (!argv || !argv[0])
		return pep_err_set(err, -EINVAL, "exec: empty argv");
	for (int i = 0; i < 3; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0) {
			ret = pep_err_errno(err, "exec %s: pipe", argv[0]);
			close_all(&p[0][0], 6);
			return ret;
		}
	in_fd = o->stdin_data ? p[0][0] : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in_fd < 0)
		ret = -errno;
	else if (o->die_with_parent)
		ret = fork_child(argv, o, in_fd, p[1][1], p[2][1], &pid);
	else
		ret = spawn_child(argv, o, in_fd, p[1][1], p[2][1], &pid);
	if (!o->stdin_data && in_fd >= 0)
		close(in_fd);
	close_all((int[]){ p[0][0], p[1][1], p[2][1] }, 3);
	if (!o->stdin_data) {
		close(p[0][1]);
		p[0][1] = -1;
	}
	if (ret) {
		close_all((int[]){ p[0][1], p[1][0], p[2][0] }, 3);
		return pep_err_set(err, ret, "exec %s: %s", argv[0], strerror(-ret));
	}
	cap[0] = (struct capture){ .fd = p[1][0], .max = max, .stream = 1, .o = o };
	cap[1] = (struct capture){ .fd = p[2][0], .max = max, .stream = 2, .o = o };
	if (o->timeout_ms)
		deadline = start + (uint64_t)o->timeout_ms * 1000000;
	ret = pump(cap, p[0][1], o->stdin_data, o->stdin_len, deadline, o->cancel_fd);
	if (ret == 1 || ret == 2) {
		res->timed_out = ret == 1;
		res->canceled = ret == 2;
		reaped = kill_group(pid, &status);
		close_all((int[]){ cap[0].fd, cap[1].fd }, 2);
		ret = 0;
	}
	reap(pid, reaped, status, res);
	take_output(cap, res);
	res->elapsed_ns = pep_time_ns() - start;
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

/* --- long-running children ------------------------------------------- */

struct pep_proc {
	pid_t pid;
	int out_fd;			/* stdout: the caller reads it */
	struct capture err;		/* stderr: kept up to max_output */
	uint64_t start_ns, deadline_ns;
	int timed_out;
};

int pep_proc_spawn(const char *const *argv, const struct pep_proc_opts *opts,
		   struct pep_proc **out, struct pep_err *err)
{
	static const struct pep_proc_opts none;
	const struct pep_proc_opts *o = opts ? opts : &none;
	int p[4][2] = { { -1, -1 }, { -1, -1 }, { -1, -1 }, { -1, -1 } };
	struct pep_proc *proc;
	pid_t parent;
	int ret, e;

	*out = NULL;
	if (!argv || !argv[0])
		return pep_err_set(err, -EINVAL, "exec: empty argv");
	if (o->stdin_data)
		return pep_err_set(err, -EINVAL, "exec %s: stdin_data is not "
				   "supported for a spawned program", argv[0]);
	proc = calloc(1, sizeof(*proc));
	if (!proc)
		return pep_err_set(err, -ENOMEM, "exec %s: out of memory", argv[0]);
	ret = make_pipes(p);	/* 0 unused, 1 stdout, 2 stderr, 3 exec status */
	if (ret < 0) {
		close_all(&p[0][0], 8);
		free(proc);
		return pep_err_set(err, ret, "exec %s: pipe: %s", argv[0], strerror(-ret));
	}
	close(p[0][0]);
	close(p[0][1]);
	proc->start_ns = pep_time_ns();
	parent = getpid();
	proc->pid = fork();
	if (proc->pid < 0) {
		ret = pep_err_errno(err, "exec %s: fork", argv[0]);
		close_all(&p[1][0], 6);
		free(proc);
		return ret;
	}
	if (proc->pid == 0)
		child_exec(argv, o, open("/dev/null", O_RDONLY), p[1][1], p[2][1],
			   p[3][1], parent);
	setpgid(proc->pid, proc->pid);
	close(p[1][1]);
	close(p[2][1]);
	close(p[3][1]);
	e = exec_errno(p[3][0]);
	if (e) {
		close_all((int[]){ p[1][0], p[2][0] }, 2);
		waitpid(proc->pid, NULL, 0);
		free(proc);
		return pep_err_set(err, -e, "exec %s: %s", argv[0], strerror(e));
	}
	proc->out_fd = p[1][0];
	proc->err = (struct capture){ .fd = p[2][0],
		.max = o->max_output ? o->max_output : DEFAULT_MAX_OUTPUT };
	if (o->timeout_ms)
		proc->deadline_ns = proc->start_ns + (uint64_t)o->timeout_ms * 1000000;
	*out = proc;
	return 0;
}

/* The shorter of the caller's wait and the time left before the deadline. */
static int read_wait(const struct pep_proc *p, int wait_ms)
{
	int left = remaining_ms(p->deadline_ns);

	if (left < 0)
		return wait_ms;
	return wait_ms < 0 || left < wait_ms ? left : wait_ms;
}

ssize_t pep_proc_read(struct pep_proc *p, void *buf, size_t size, int wait_ms,
		      struct pep_err *err)
{
	for (;;) {
		struct pollfd fds[2] = { { p->out_fd, POLLIN, 0 },
					 { p->err.fd, POLLIN, 0 } };
		int wait = read_wait(p, wait_ms), n;
		ssize_t got;

		if (p->deadline_ns && remaining_ms(p->deadline_ns) == 0) {
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
		if (fds[1].revents && capture_read(&p->err) <= 0) {
			close(p->err.fd);
			p->err.fd = -1;	/* poll ignores a negative fd */
		}
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

int pep_proc_finish(struct pep_proc *p, int stop, struct pep_proc_result *res,
		    struct pep_err *err)
{
	struct pep_proc_result local;
	int status = 0, reaped = 0, ret = 0;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	close(p->out_fd);	/* a writer now gets EPIPE instead of blocking */
	if (stop || p->timed_out)
		reaped = kill_group(p->pid, &status);
	while (p->err.fd >= 0 && capture_read(&p->err) > 0)
		;
	if (p->err.fd >= 0)
		close(p->err.fd);
	while (!reaped && waitpid(p->pid, &status, 0) < 0) {
		if (errno != EINTR) {
			ret = pep_err_errno(err, "exec: waitpid %d", (int)p->pid);
			break;
		}
	}
	fill_status(status, res);
	res->timed_out = p->timed_out;
	res->err = p->err.buf;
	res->err_len = p->err.len;
	res->err_truncated = p->err.truncated;
	res->elapsed_ns = pep_time_ns() - p->start_ns;
	if (res == &local)
		pep_proc_result_free(res);
	free(p);
	return ret;
}
