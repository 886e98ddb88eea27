/*
 * launch.c - starting an engine and knowing it again: fork and exec into a
 * session of its own, the process's identity in /proc (so an agent that
 * restarts adopts its engine, and never a process that reused the pid),
 * the group's resident memory, and engine.log.
 *
 * Not pepita's proc module: an engine outlives the agent (no parent-death
 * signal, no pipes the agent must drain: a crashed agent must not take
 * the model down with it), writes straight into its log file, and is
 * placed in its memory cgroup before exec, so that not one page it
 * allocates is outside the limit. Between fork and exec the child makes
 * only async-signal-safe calls: the agent has threads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/proc.h>

#include <cohete/engine.h>

#include "internal.h"
#include "engine_priv.h"

extern char **environ;

#define CMDLINE_MAX	(256 * 1024)

/* What the child reports through its pipe when it cannot exec. */
struct child_error {
	int stage;
	int err;
};

enum { STAGE_CGROUP = 1, STAGE_SESSION, STAGE_FDS, STAGE_CWD, STAGE_USER, STAGE_EXEC };

static const char *stage_name(int stage)
{
	switch (stage) {
	case STAGE_CGROUP:	return "join its memory cgroup";
	case STAGE_SESSION:	return "start a session";
	case STAGE_FDS:		return "set up its output";
	case STAGE_CWD:		return "change to the models directory";
	case STAGE_USER:	return "take its user";
	default:		return "exec";
	}
}

static void close_from(int lowest, int keep, int max_fd)
{
#ifdef SYS_close_range
	if (keep > lowest && syscall(SYS_close_range, lowest, keep - 1, 0) == 0 &&
	    syscall(SYS_close_range, keep + 1, ~0U, 0) == 0)
		return;
#endif
	for (int fd = lowest; fd < max_fd; fd++)
		if (fd != keep)
			close(fd);
}

static _Noreturn void child_fail(int pipe_fd, int stage)
{
	struct child_error e = { stage, errno };

	if (write(pipe_fd, &e, sizeof(e)) < 0)
		_exit(127);
	_exit(127);
}

/* In the child: async-signal-safe calls only. */
static _Noreturn void child(const struct coh__launch *l, const char *path, int null_fd,
			    int root_fd, int pipe_fd, int max_fd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;

	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (setsid() < 0)
		child_fail(pipe_fd, STAGE_SESSION);
	if (l->cgroup_fd >= 0 && write(l->cgroup_fd, "0", 1) != 1)
		child_fail(pipe_fd, STAGE_CGROUP);
	if (dup2(null_fd, 0) < 0 || dup2(l->log_fd, 1) < 0 || dup2(l->log_fd, 2) < 0)
		child_fail(pipe_fd, STAGE_FDS);
	if (fchdir(root_fd) < 0)
		child_fail(pipe_fd, STAGE_CWD);
	if (l->uid != geteuid() &&
	    (setgroups((size_t)l->ngroups, l->groups) < 0 || setgid(l->gid) < 0 ||
	     setuid(l->uid) < 0))
		child_fail(pipe_fd, STAGE_USER);
	close_from(3, pipe_fd, max_fd);
	execve(path, l->spec->argv, environ);
	child_fail(pipe_fd, STAGE_EXEC);
}

/* 0 when the child exec'd, else -errno with the stage in err. */
static int child_result(int pipe_fd, pid_t pid, const char *prog, struct pep_err *err)
{
	struct child_error e;
	ssize_t n;

	do
		n = read(pipe_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(e))
		return 0;
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return pep_err_set(err, -e.err, "%s: cannot %s: %s", prog, stage_name(e.stage),
			   strerror(e.err));
}

int coh__engine_launch(const struct coh__launch *l, pid_t *pid, struct pep_err *err)
{
	const char *prog = l->spec->argv[0];
	char path[PATH_MAX];
	int null_fd, root_fd, pipe_fd[2], ret, max_fd = (int)sysconf(_SC_OPEN_MAX);

	ret = pep_proc_find(prog, path, sizeof(path));
	if (ret < 0)
		return pep_err_set(err, ret, "%s: %s", prog, ret == -ENOENT ?
				   (strchr(prog, '/') ? "no such file" : "not found in PATH") :
				   strerror(-ret));
	if (max_fd <= 0 || max_fd > 65536)
		max_fd = 65536;
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	root_fd = open(l->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (null_fd < 0 || root_fd < 0 || pipe2(pipe_fd, O_CLOEXEC) < 0) {
		ret = pep_err_errno(err, "start %s in %s", prog, l->root);
		goto out;
	}
	*pid = fork();
	if (*pid == 0)
		child(l, path, null_fd, root_fd, pipe_fd[1], max_fd);
	ret = *pid < 0 ? pep_err_errno(err, "fork") : 0;
	close(pipe_fd[1]);
	if (ret == 0)
		ret = child_result(pipe_fd[0], *pid, prog, err);
	close(pipe_fd[0]);
out:
	if (null_fd >= 0)
		close(null_fd);
	if (root_fd >= 0)
		close(root_fd);
	return ret;
}

/* /proc/PID/stat's text after the command name (which may hold ')'). */
static int read_stat(pid_t pid, char *buf, size_t size, const char **rest)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	*rest = strrchr(buf, ')');
	return *rest ? 0 : -ESRCH;
}

int coh__proc_identity(pid_t pid, pid_t *pgrp, unsigned long long *start_ticks)
{
	char buf[1024], state;
	const char *p;
	int g;

	if (pid <= 0 || read_stat(pid, buf, sizeof(buf), &p) < 0)
		return -ESRCH;
	/* Fields 3 (state), 5 (pgrp) and 22 (starttime), proc(5). */
	if (sscanf(p + 1, " %c %*s %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s "
		   "%*s %*s %*s %*s %llu", &state, &g, start_ticks) != 3)
		return -ESRCH;
	if (state == 'Z' || state == 'X')
		return -ESRCH;
	*pgrp = g;
	return 0;
}

/* words[0..n) equal argv[from..]. */
static int words_are(char **words, size_t n, const char *const *argv, size_t from)
{
	size_t i = 0;

	for (; i < n && argv[from + i]; i++)
		if (strcmp(words[i], argv[from + i]))
			return 0;
	return i == n && !argv[from + i];
}

static size_t split_words(char *buf, size_t len, char **words, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < len && n < max; i += strlen(buf + i) + 1)
		words[n++] = buf + i;
	return n;
}

int coh__proc_cmdline_is(pid_t pid, const char *const *argv, const char *path)
{
	char file[64], *buf = malloc(CMDLINE_MAX + 1), *words[COH_ENGINE_ARGV_MAX + 3];
	ssize_t len = -1;
	size_t n = 0;
	int fd, match = 0;

	snprintf(file, sizeof(file), "/proc/%d/cmdline", (int)pid);
	fd = buf ? open(file, O_RDONLY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		len = read(fd, buf, CMDLINE_MAX);
		close(fd);
	}
	if (len > 0) {
		buf[len] = '\0';
		n = split_words(buf, (size_t)len, words, COH_ENGINE_ARGV_MAX + 3);
	}
	if (n)
		match = words_are(words, n, argv, 0);
	/* A script: its interpreter (and one option) before the script's path. */
	for (size_t k = 1; !match && k <= 2 && k < n; k++)
		match = (!strcmp(words[k], argv[0]) || (path && !strcmp(words[k], path))) &&
			words_are(words + k + 1, n - k - 1, argv, 1);
	free(buf);
	return len <= 0 ? -ESRCH : match;
}

static int is_pid(const char *name)
{
	return name[0] >= '1' && name[0] <= '9' && strspn(name, "0123456789") == strlen(name);
}

/* Resident pages of /proc/PID/statm, as bytes; 0 when gone. */
static uint64_t proc_rss(const char *pid)
{
	char path[64], buf[128];
	unsigned long long size, resident;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/statm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void coh__proc_group_rss(const pid_t *groups, uint64_t *rss, size_t n)
{
	unsigned long long ticks;
	struct dirent *e;
	pid_t pgrp;
	DIR *d;

	memset(rss, 0, n * sizeof(*rss));
	if (!n || !(d = opendir("/proc")))
		return;
	while ((e = readdir(d))) {
		if (!is_pid(e->d_name) ||
		    coh__proc_identity((pid_t)atoi(e->d_name), &pgrp, &ticks) < 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (groups[i] > 0 && groups[i] == pgrp)
				rss[i] += proc_rss(e->d_name);
	}
	closedir(d);
}

/* The last line of text[0..len) that is not empty and not ours. */
static void last_line(char *text, size_t len, char *out, size_t size)
{
	char *end = text + len, *line;
	size_t n = 0;

	for (;;) {
		while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
			*--end = '\0';
		*end = '\0';
		line = end;
		while (line > text && line[-1] != '\n')
			line--;
		if (line == end)
			break;
		if (strncmp(line, "cohete: ", 8))
			break;
		end = line;
	}
	for (const char *p = line; *p && n + 1 < size; p++)
		out[n++] = (unsigned char)*p < ' ' || *p == 0x7f ? ' ' : *p;
	out[n] = '\0';
}

void coh__log_last_line(const char *path, char *out, size_t size)
{
	char buf[4096];
	off_t end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	out[0] = '\0';
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	n = end < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1,
				 end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n > 0)
		last_line(buf, (size_t)n, out, size);
}

static int copy_file(int in, int out)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(in, buf, sizeof(buf))) > 0)
		for (ssize_t done = 0, w; done < n; done += w)
			if ((w = write(out, buf + done, (size_t)(n - done))) < 0)
				return -errno;
	return n < 0 ? -errno : 0;
}

/*
 * The engine keeps its log open (O_APPEND), so the log cannot be renamed
 * away: it is copied to .1 and truncated in place, as logrotate's
 * copytruncate does. What the engine writes between the copy and the
 * truncate is lost; at 4 MiB a rotation, that is rare and little.
 */
int coh__log_rotate(const char *path, uint64_t max)
{
	char old[PATH_MAX], tmp[PATH_MAX];
	struct stat st;
	int in, out, ret;

	if (stat(path, &st) < 0 || (uint64_t)st.st_size <= max)
		return 0;
	snprintf(old, sizeof(old), "%s.1", path);
	snprintf(tmp, sizeof(tmp), "%s.1.tmp", path);
	in = open(path, O_RDONLY | O_CLOEXEC);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ret = in < 0 || out < 0 ? -errno : copy_file(in, out);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (ret == 0 && rename(tmp, old) < 0)
		ret = -errno;
	if (ret == 0 && truncate(path, 0) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}
