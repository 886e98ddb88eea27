/*
 * Starting, stopping and reaping a child: the one place pepita creates a
 * process.
 *
 * The program is found in PATH here, before anything starts, so a missing
 * or non-executable one is -ENOENT or -EACCES whatever the start can
 * tell: under qemu-user posix_spawn's vfork is a fork, and a failed exec
 * in the child would only show as exit status 127. posix_spawn is the
 * default (vfork speed, and glibc returns the exec's errno itself); fork
 * is used only for a child that must die with the calling thread, as
 * PR_SET_PDEATHSIG has no posix_spawn attribute. That child reports a
 * failed exec's errno through a close-on-exec pipe, which a successful
 * exec closes, and does only async-signal-safe calls before the exec: the
 * caller may be multithreaded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc/proc_priv.h"

#define REAP_TICK_MS 5

extern char **environ;

/* --- finding the program ----------------------------------------------- */

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

int pep_proc_find(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;
	int ret, seen_eacces = 0;

	if (strchr(name, '/')) {
		if ((size_t)snprintf(buf, size, "%s", name) >= size)
			return -ENAMETOOLONG;
		return executable(name);
	}
	if (!path || !*path)
		path = "/bin:/usr/bin";
	for (p = path; ; p = end + 1) {
		size_t len;

		end = strchr(p, ':');
		len = end ? (size_t)(end - p) : strlen(p);
		if ((size_t)snprintf(buf, size, "%.*s%s%s", (int)len, p,
				     len ? "/" : "", name) < size) {
			ret = executable(buf);
			if (ret == 0)
				return 0;
			seen_eacces |= ret == -EACCES;
		}
		if (!end)
			break;
	}
	return seen_eacces ? -EACCES : -ENOENT;
}

/* --- the child's descriptors ------------------------------------------- */

/*
 * A descriptor the child gets that sits on 0, 1 or 2 here (ours were
 * closed) would be overwritten by the dup2 of another: move it above.
 */
static int above_stdio(int fd, int owned)
{
	int high;

	if (fd < 0 || fd > 2)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (owned)
		close(fd);
	return high;
}

static int open_pipe(struct pep__stdio *s, int i)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	/* stdin: the child reads, we write; stdout, stderr: the other way */
	s->child[i] = above_stdio(i == 0 ? p[0] : p[1], 1);
	s->ours[i] = i == 0 ? p[1] : p[0];
	s->child_owned[i] = 1;
	return s->child[i] < 0 ? -errno : 0;
}

static int open_stdin(struct pep__stdio *s, int stdin_pipe)
{
	if (stdin_pipe)
		return open_pipe(s, 0);
	s->child[0] = above_stdio(open("/dev/null", O_RDONLY | O_CLOEXEC), 1);
	s->child_owned[0] = 1;
	return s->child[0] < 0 ? -errno : 0;
}

static int open_stderr(struct pep__stdio *s, int stderr_fd)
{
	if (stderr_fd <= 0)
		return open_pipe(s, 2);
	/* the caller's: only a copy of one that would be overwritten is ours */
	s->child[2] = stderr_fd == 2 ? 2 : above_stdio(stderr_fd, 0);
	s->child_owned[2] = s->child[2] != stderr_fd;
	return s->child[2] < 0 ? -errno : 0;
}

int pep__stdio_open(struct pep__stdio *s, const struct pep_proc_opts *o,
		    int stdin_pipe)
{
	int ret;

	for (int i = 0; i < 3; i++)
		s->child[i] = s->ours[i] = -1, s->child_owned[i] = 0;
	ret = open_stdin(s, stdin_pipe);
	if (!ret)
		ret = open_pipe(s, 1);
	if (!ret)
		ret = open_stderr(s, o->stderr_fd);
	if (ret < 0) {
		pep__stdio_close_child(s);
		pep__stdio_close_ours(s);
	}
	return ret;
}

void pep__stdio_close_child(struct pep__stdio *s)
{
	for (int i = 0; i < 3; i++) {
		if (s->child_owned[i] && s->child[i] >= 0)
			close(s->child[i]);
		s->child[i] = -1;
		s->child_owned[i] = 0;
	}
}

void pep__stdio_close_ours(struct pep__stdio *s)
{
	for (int i = 0; i < 3; i++) {
		if (s->ours[i] >= 0)
			close(s->ours[i]);
		s->ours[i] = -1;
	}
}

/* --- starting ----------------------------------------------------------- */

/*
 * With posix_spawn: its own process group, signals back to their defaults
 * and unblocked, stdin/stdout/stderr, cwd. Returns -errno.
 */
static int spawn_child(const char *path, const char *const *argv,
		       const struct pep_proc_opts *o, const int fds[3],
		       int own_group, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	int ret = 0;

	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, (own_group ? POSIX_SPAWN_SETPGROUP : 0) |
				 POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setsigmask(&attr, &none);
	for (int i = 0; i < 3 && !ret; i++)
		if (fds[i] != i)
			ret = posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	if (!ret && o->cwd)
		ret = posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
	if (!ret)
		ret = posix_spawn(pid, path, &fa, &attr, (char *const *)argv,
				  o->envp ? (char *const *)o->envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return -ret;
}

/* What posix_spawn's SETSIGDEF and SETSIGMASK do, in a forked child. */
static void default_signals(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	/* dispositions first: a signal let in must not run the caller's handler */
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);	/* libc's own refuse: fine */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void child_exec(const char *path, const char *const *argv,
		       const struct pep_proc_opts *o, const int fds[3],
		       int own_group, int status_fd, pid_t parent)
{
	int e;

	default_signals();
	if (own_group)
		setpgid(0, 0);
	/* die with the calling thread, checked after: it may be gone already */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
	for (int i = 0; i < 3; i++)
		if (fds[i] != i && dup2(fds[i], i) < 0)
			goto fail;
	if (o->cwd && chdir(o->cwd) < 0)
		goto fail;
	execve(path, (char *const *)argv,
	       o->envp ? (char *const *)o->envp : environ);
fail:
	e = errno;
	if (write(status_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* Wait for the child's exec: its errno, or 0 when the pipe just closed. */
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

static int fork_child(const char *path, const char *const *argv,
		      const struct pep_proc_opts *o, const int fds[3],
		      int own_group, pid_t *pid)
{
	pid_t parent = getpid();
	int st[2], e;

	if (pipe2(st, O_CLOEXEC) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		e = errno;
		close(st[0]);
		close(st[1]);
		return -e;
	}
	if (*pid == 0)
		child_exec(path, argv, o, fds, own_group, st[1], parent);
	if (own_group)
		setpgid(*pid, *pid);	/* also here: no race with an early kill */
	close(st[1]);
	e = exec_errno(st[0]);
	if (e)
		pep__proc_reap(*pid, -1, &(int){ 0 }, NULL);
	return -e;
}

int pep__proc_start(const char *const *argv, const struct pep_proc_opts *o,
		    const struct pep__stdio *s, pid_t *pid)
{
	int own_group = !(o->flags & PEP_PROC_SAME_PGROUP);
	char path[PATH_MAX];
	int ret;

	ret = pep_proc_find(argv[0], path, sizeof(path));
	if (ret < 0)
		return ret;
	if (o->die_with_parent)
		return fork_child(path, argv, o, s->child, own_group, pid);
	return spawn_child(path, argv, o, s->child, own_group, pid);
}

/* --- stopping and reaping ------------------------------------------------ */

int pep__proc_remaining_ms(uint64_t deadline_ns)
{
	uint64_t now = pep_time_ns();

	if (!deadline_ns)
		return -1;
	return now >= deadline_ns ? 0 : (int)((deadline_ns - now) / 1000000 + 1);
}

int pep__proc_reap(pid_t pid, int wait_ms, int *status, struct rusage *ru)
{
	const struct timespec tick = { .tv_nsec = REAP_TICK_MS * 1000000 };
	uint64_t deadline = pep_time_ns() + (uint64_t)(wait_ms > 0 ? wait_ms : 0) *
			    1000000;
	pid_t r;

	for (;;) {
		r = wait4(pid, status, wait_ms < 0 ? 0 : WNOHANG, ru);
		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0 && pep_time_ns() >= deadline)
			return 0;
		if (r == 0)
			nanosleep(&tick, NULL);
	}
}

int pep__proc_stop(pid_t pid, int own_group, int *status, struct rusage *ru)
{
	int reaped;

	kill(own_group ? -pid : pid, SIGTERM);
	reaped = pep__proc_reap(pid, PEP__PROC_KILL_GRACE_MS, status, ru) == 1;
	/*
	 * Whatever is left of the group goes too (a child's children): its
	 * id stays taken while a member lives, so this hits no stranger. A
	 * reaped pid without a group of its own may be someone else's now.
	 */
	if (own_group)
		kill(-pid, SIGKILL);
	else if (!reaped)
		kill(pid, SIGKILL);
	return reaped;
}

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000 + (uint64_t)tv.tv_usec * 1000;
}

void pep__proc_fill_status(int status, const struct rusage *ru,
			   struct pep_proc_result *res)
{
	res->wait_status = status;
	res->exited = WIFEXITED(status);
	res->exit_code = res->exited ? WEXITSTATUS(status) : -1;
	res->signaled = WIFSIGNALED(status);
	res->signal_no = res->signaled ? WTERMSIG(status) : 0;
	if (ru) {
		res->user_ns = tv_ns(ru->ru_utime);
		res->sys_ns = tv_ns(ru->ru_stime);
	}
}
