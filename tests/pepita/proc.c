/*
 * The proc module on the running kernel: both ways a child starts
 * (posix_spawn, and fork for one that dies with its parent) must give the
 * same answers: exit status, the exec's errno (-ENOENT, -EACCES, -ENOEXEC:
 * never a shell's 127), cwd, signals at their defaults, stderr captured or
 * passed on. Then what only a runner does: stdin fed while output is
 * drained, output limits, a timeout that kills the whole process group
 * (also of a child that closed its outputs), and a long-running child
 * whose stdin and stdout the caller takes as a stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/proc.h>

#include "harness.h"

static char dir[] = "/tmp/pepita-proc-XXXXXX";
static char script[64], plain[64], garbage[64];

/* The two ways a child starts: posix_spawn, and fork (die_with_parent). */
static const int starts[] = { 0, 1 };

static int run(const char *const *argv, const struct pep_proc_opts *o,
	       struct pep_proc_result *r, struct pep_err *err)
{
	pep_proc_result_free(r);
	return pep_proc_run(argv, o, r, err);
}

static int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) && chmod(path, mode) == 0 ? 0 : -1;
}

static int set_up(void)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(script, sizeof(script), "%s/script", dir);
	snprintf(plain, sizeof(plain), "%s/plain", dir);
	snprintf(garbage, sizeof(garbage), "%s/garbage", dir);
	return write_file(script, "#!/bin/sh\necho \"$0 $1\"\n", 0755) ||
	       write_file(plain, "#!/bin/sh\nexit 0\n", 0644) ||
	       write_file(garbage, "echo no shell runs this\n", 0755);
}

static void tear_down(void)
{
	unlink(script);
	unlink(plain);
	unlink(garbage);
	rmdir(dir);
}

static int test_status_and_streams(void)
{
	const char *both[] = { "sh", "-c", "echo out; echo err >&2; exit 5", NULL };
	const char *args[] = { script, "arg", NULL };
	struct pep_proc_result r = { 0 };

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		struct pep_proc_opts o = { .die_with_parent = starts[i] };

		CHECK(run(both, &o, &r, NULL) == 0);
		CHECK(r.exited && r.exit_code == 5 && !r.signaled);
		CHECK(WIFEXITED(r.wait_status) && WEXITSTATUS(r.wait_status) == 5);
		CHECK(!strcmp(r.out, "out\n") && !strcmp(r.err, "err\n"));
		CHECK(run(args, &o, &r, NULL) == 0 && r.exit_code == 0);
		CHECK(r.out_len == strlen(script) + 5 && !strncmp(r.out, script,
								   strlen(script)));
	}
	pep_proc_result_free(&r);
	return T_PASS;
}

/* Every failure to start is the exec's errno, from either start. */
static int test_exec_errors(void)
{
	const char *missing[] = { "pepita-proc-no-such-program", NULL };
	const char *no_x[] = { plain, NULL }, *is_dir[] = { dir, NULL };
	const char *no_shebang[] = { garbage, NULL }, *pwd[] = { "pwd", NULL };
	struct { const char *const *argv; const char *cwd; int code; } cases[] = {
		{ missing, NULL, -ENOENT }, { no_x, NULL, -EACCES },
		{ is_dir, NULL, -EACCES }, { no_shebang, NULL, -ENOEXEC },
		{ pwd, "/nonexistent/pepita", -ENOENT },
	};
	struct pep_proc_result r = { 0 };
	struct pep_err err;

	for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct pep_proc_opts o = { .die_with_parent = starts[s],
						   .cwd = cases[i].cwd };

			CHECK(run(cases[i].argv, &o, &r, &err) == cases[i].code);
			CHECK(err.code == cases[i].code);
			CHECK(strstr(err.msg, cases[i].argv[0]) != NULL);
		}
	}
	return T_PASS;
}

/*
 * The standard signals (1..31) a "SigBlk:" or "SigIgn:" line of
 * /proc/PID/status names. glibc's posix_spawn leaves its own two
 * real-time signals (32, 33) ignored; they are not ours to judge.
 */
static unsigned long long standard_signals(const char *status, const char *key)
{
	const char *line = strstr(status, key);

	return line ? strtoull(line + strlen(key), NULL, 16) & 0x7fffffffull : ~0ull;
}

static int test_cwd_and_signals(void)
{
	const char *pwd[] = { "pwd", NULL };
	const char *show[] = { "cat", "/proc/self/status", NULL };
	struct pep_proc_result r = { 0 };
	char want[80];
	sigset_t block, old;
	int ret = T_PASS;

	snprintf(want, sizeof(want), "%s\n", dir);
	/* what a caller ignores or blocks must not reach the program */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]) && !ret; i++) {
		struct pep_proc_opts o = { .die_with_parent = starts[i], .cwd = dir };

		ret = run(pwd, &o, &r, NULL) == 0 && !strcmp(r.out, want) &&
		      run(show, &o, &r, NULL) == 0 && r.exit_code == 0 &&
		      standard_signals(r.out, "\nSigBlk:") == 0 &&
		      standard_signals(r.out, "\nSigIgn:") == 0 ? T_PASS : T_FAIL;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	pep_proc_result_free(&r);
	CHECK(ret == T_PASS);
	return T_PASS;
}

/* stdin is fed while stdout is drained: neither blocks the other. */
static int test_stdin_and_limit(void)
{
	const char *cat[] = { "cat", NULL };
	const char *flood[] = { "head", "-c", "3000000", "/dev/zero", NULL };
	size_t len = 3u << 20;
	char *in = malloc(len);
	struct pep_proc_opts o = { .stdin_data = in, .stdin_len = len,
				   .max_output = len };
	struct pep_proc_result r = { 0 };

	CHECK(in);
	for (size_t i = 0; i < len; i++)
		in[i] = (char)('a' + i % 26);
	CHECK(run(cat, &o, &r, NULL) == 0 && r.exit_code == 0);
	CHECK(r.out_len == len && !memcmp(r.out, in, len) && !r.out_truncated);
	/* beyond the limit: drained and dropped, the program runs to its end */
	o = (struct pep_proc_opts){ .max_output = 1000, .timeout_ms = 10000 };
	CHECK(run(flood, &o, &r, NULL) == 0 && r.exited && r.exit_code == 0);
	CHECK(r.out_len == 1000 && r.out_truncated && !r.timed_out);
	free(in);
	pep_proc_result_free(&r);
	return T_PASS;
}

/* A pid that is gone, or a zombie waiting for init to reap it. */
static int gone(pid_t pid)
{
	char path[64], *stat;
	int dead;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	stat = t_read_file(path);
	if (!stat)
		return 1;
	dead = strstr(stat, ") Z ") != NULL;
	free(stat);
	return dead;
}

static int test_timeout_kills_group(void)
{
	/* the first prints its background child's pid, the second closes
	   its outputs too: the deadline must still hold */
	const char *talk[] = { "sh", "-c", "sleep 30 & echo $!; wait", NULL };
	const char *mute[] = { "sh", "-c", "exec >&- 2>&-; sleep 30", NULL };
	struct pep_proc_opts o = { .timeout_ms = 300 };
	struct pep_proc_result r = { 0 };
	pid_t grandchild;

	CHECK(run(talk, &o, &r, NULL) == 0 && r.timed_out && r.signaled);
	grandchild = (pid_t)atoi(r.out);
	CHECK(grandchild > 0);
	for (int i = 0; i < 200 && !gone(grandchild); i++)
		usleep(10 * 1000);
	CHECK(gone(grandchild));
	CHECK(run(mute, &o, &r, NULL) == 0 && r.timed_out && r.signaled);
	CHECK(r.elapsed_ns < 5000000000ull);
	pep_proc_result_free(&r);
	return T_PASS;
}

/* stderr_fd: the program's stderr goes to the caller's descriptor. */
static int test_stderr_elsewhere(void)
{
	const char *both[] = { "sh", "-c", "echo out; echo err >&2", NULL };
	struct pep_proc_result r = { 0 };
	char buf[16] = { 0 };
	int p[2];

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		struct pep_proc_opts o = { .die_with_parent = starts[i],
					   .stderr_fd = p[1] };

		CHECK(run(both, &o, &r, NULL) == 0 && r.exit_code == 0);
		CHECK(!strcmp(r.out, "out\n") && r.err_len == 0 && !r.err);
		CHECK(read(p[0], buf, sizeof(buf) - 1) == 4 && !strcmp(buf, "err\n"));
	}
	close(p[0]);
	close(p[1]);
	pep_proc_result_free(&r);
	return T_PASS;
}

/* A long-running child whose stdin and stdout the caller takes. */
static int test_taken_stream(void)
{
	const char *cat[] = { "cat", NULL }, *sleepy[] = { "sleep", "30", NULL };
	struct pep_proc_opts o = { .flags = PEP_PROC_STDIN_PIPE | PEP_PROC_SAME_PGROUP };
	struct pep_proc_result r;
	struct pep_proc *p;
	char buf[16] = { 0 };
	int in, out;

	CHECK(pep_proc_spawn(cat, &o, &p, NULL) == 0);
	CHECK(getpgid(pep_proc_pid(p)) == getpgrp());
	in = pep_proc_take_stdin(p);
	out = pep_proc_take_stdout(p);
	CHECK(in >= 0 && out >= 0 && pep_proc_take_stdout(p) == -1);
	CHECK(pep_proc_read(p, buf, sizeof(buf), 0, NULL) == -EBADF);
	CHECK(write(in, "ping", 4) == 4 && close(in) == 0);
	CHECK(read(out, buf, sizeof(buf) - 1) == 4 && !strcmp(buf, "ping"));
	close(out);
	CHECK(pep_proc_wait(p, 5000, &r, NULL) == 0 && r.exited && r.exit_code == 0);
	pep_proc_result_free(&r);
	/* one that ignores the end of its input is stopped after the wait */
	CHECK(pep_proc_spawn(sleepy, NULL, &p, NULL) == 0);
	CHECK(getpgid(pep_proc_pid(p)) == pep_proc_pid(p));
	CHECK(pep_proc_take_stdin(p) == -1);
	CHECK(pep_proc_wait(p, 50, &r, NULL) == 0);
	CHECK(r.signaled && r.signal_no == SIGTERM && !r.timed_out);
	pep_proc_result_free(&r);
	return T_PASS;
}

static int test_find(void)
{
	char path[256];

	CHECK(pep_proc_find("sh", path, sizeof(path)) == 0);
	CHECK(path[0] == '/' && access(path, X_OK) == 0);
	CHECK(pep_proc_find(script, path, sizeof(path)) == 0 && !strcmp(path, script));
	CHECK(pep_proc_find("pepita-proc-no-such-program", path, sizeof(path)) == -ENOENT);
	CHECK(pep_proc_find(plain, path, sizeof(path)) == -EACCES);
	CHECK(pep_proc_find(script, path, 4) == -ENAMETOOLONG);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	if (set_up() < 0) {
		fprintf(stderr, "cannot write test scripts under /tmp\n");
		return T_ERROR;
	}
	t_run("status_and_streams", test_status_and_streams, &rc);
	t_run("exec_errors", test_exec_errors, &rc);
	t_run("cwd_and_signals", test_cwd_and_signals, &rc);
	t_run("stdin_and_limit", test_stdin_and_limit, &rc);
	t_run("timeout_kills_group", test_timeout_kills_group, &rc);
	t_run("stderr_elsewhere", test_stderr_elsewhere, &rc);
	t_run("taken_stream", test_taken_stream, &rc);
	t_run("find", test_find, &rc);
	tear_down();
	return rc;
}
