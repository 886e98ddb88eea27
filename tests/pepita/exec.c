/*
 * The process runner against real programs: output, exit codes, signals,
 * stdin, a timeout that kills the whole group, output limits, a program
 * that does not exist, a child that ignores its stdin; and spawned
 * programs read as they write, stopped, timed out, or orphaned.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pepita/exec.h>

#include "harness.h"

static struct pep_proc_result res;

static int run(const char *const *argv, const struct pep_proc_opts *o)
{
	pep_proc_result_free(&res);
	return pep_proc_run(argv, o, &res, NULL);
}

static int test_output_and_status(void)
{
	const char *echo[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	const char *sig[] = { "sh", "-c", "kill -9 $$", NULL };

	CHECK(run(echo, NULL) == 0);
	CHECK(res.exited && res.exit_code == 3 && !res.signaled && !res.timed_out);
	CHECK(res.out_len == 4 && !strcmp(res.out, "out\n"));
	CHECK(res.err && !strcmp(res.err, "err\n"));
	CHECK(run(sig, NULL) == 0);
	CHECK(res.signaled && res.signal_no == SIGKILL && !res.exited);
	return T_PASS;
}

static int test_stdin(void)
{
	const char *cat[] = { "cat", NULL };
	const char *ignore[] = { "true", NULL };
	static char big[1 << 20];
	struct pep_proc_opts o = { .stdin_data = "hello\n", .stdin_len = 6 };

	CHECK(run(cat, &o) == 0 && res.exit_code == 0 && !strcmp(res.out, "hello\n"));
	/* Without stdin_data the child reads /dev/null: cat ends at once. */
	CHECK(run(cat, NULL) == 0 && res.out_len == 0);
	/* A child that never reads: EPIPE, not a SIGPIPE in this process. */
	memset(big, 'x', sizeof(big));
	o.stdin_data = big;
	o.stdin_len = sizeof(big);
	CHECK(run(ignore, &o) == 0 && res.exit_code == 0);
	return T_PASS;
}

static int test_timeout_kills_group(void)
{
	const char *sleepy[] = { "sh", "-c", "sleep 30 & sleep 30; echo late", NULL };
	struct pep_proc_opts o = { .timeout_ms = 300 };

	CHECK(run(sleepy, &o) == 0);
	CHECK(res.timed_out && res.signaled && res.out_len == 0);
	CHECK(res.elapsed_ns < 5ull * 1000000000);
	return T_PASS;
}

/* The grandchild a timed-out child left running is gone too. */
static int test_timeout_kills_grandchild(void)
{
	const char *tree[] = { "sh", "-c", "sleep 30 & echo $!; sleep 30", NULL };
	struct pep_proc_opts o = { .timeout_ms = 300 };
	char path[64], stat[256];
	pid_t grandchild;
	int i;

	CHECK(run(tree, &o) == 0 && res.timed_out);
	grandchild = (pid_t)atoi(res.out);
	CHECK(grandchild > 0);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)grandchild);
	/* Gone, or a zombie its new parent has yet to reap: not running. */
	for (i = 0; i < 100; i++) {
		char *text = t_read_file(path);
		char *state = text ? strrchr(text, ')') : NULL;
		int dead = !state || state[2] == 'Z';

		snprintf(stat, sizeof(stat), "%s", state ? state : "");
		free(text);
		if (dead)
			return T_PASS;
		usleep(10000);
	}
	fprintf(stderr, "grandchild %d still running: %s\n", (int)grandchild, stat);
	return T_FAIL;
}

/* 1 MiB on each of stdout and stderr at once: both drained, no deadlock. */
static int test_both_streams(void)
{
	const char *both[] = { "sh", "-c",
		"head -c 1048576 /dev/zero | tr '\\0' o & "
		"head -c 1048576 /dev/zero | tr '\\0' e >&2; wait", NULL };
	struct pep_proc_opts o = { .timeout_ms = 30000, .max_output = 2u << 20 };

	CHECK(run(both, &o) == 0);
	CHECK(!res.timed_out && res.exited && res.exit_code == 0);
	CHECK(res.out_len == 1u << 20 && res.err_len == 1u << 20);
	CHECK(!res.out_truncated && !res.err_truncated);
	CHECK(res.out[0] == 'o' && res.out[res.out_len - 1] == 'o');
	CHECK(res.err[0] == 'e' && res.err[res.err_len - 1] == 'e');
	return T_PASS;
}

/* cancel_fd readable: the program is stopped and reported canceled. */
static int test_cancel(void)
{
	const char *sleepy[] = { "sleep", "30", NULL };
	struct pep_proc_opts o = { .timeout_ms = 20000 };
	int fds[2];

	CHECK(pipe(fds) == 0);
	o.cancel_fd = fds[0];
	CHECK(write(fds[1], "x", 1) == 1);
	CHECK(run(sleepy, &o) == 0);
	CHECK(res.canceled && !res.timed_out && res.signaled);
	CHECK(res.elapsed_ns < 5ull * 1000000000);
	close(fds[0]);
	close(fds[1]);
	return T_PASS;
}

/* The child's CPU time comes back (a busy loop of about 0.2 s). */
static int test_cpu_time(void)
{
	const char *busy[] = { "sh", "-c",
		"i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done", NULL };

	CHECK(run(busy, NULL) == 0 && res.exit_code == 0);
	CHECK(res.user_ns + res.sys_ns > 10 * 1000000ull);
	CHECK(res.user_ns + res.sys_ns <= res.elapsed_ns * 2 + 50000000ull);
	return T_PASS;
}

/* A file that is not executable: -EACCES, named. */
static int test_not_executable(void)
{
	char path[] = "/tmp/pepita-exec-XXXXXX";
	const char *argv[] = { path, NULL };
	struct pep_err err;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	close(fd);
	pep_proc_result_free(&res);
	CHECK(pep_proc_run(argv, NULL, &res, &err) == -EACCES);
	CHECK(strstr(err.msg, path));
	unlink(path);
	return T_PASS;
}

static int test_output_limit(void)
{
	const char *flood[] = { "sh", "-c", "head -c 3000000 /dev/zero; echo done >&2", NULL };
	struct pep_proc_opts o = { .max_output = 1000, .timeout_ms = 20000 };

	CHECK(run(flood, &o) == 0);
	CHECK(!res.timed_out && res.exit_code == 0);
	CHECK(res.out_len == 1000 && res.out_truncated);
	CHECK(!strcmp(res.err, "done\n") && !res.err_truncated);
	return T_PASS;
}

static int test_not_found(void)
{
	const char *missing[] = { "pepita-no-such-program", NULL };
	struct pep_err err;

	pep_proc_result_free(&res);
	CHECK(pep_proc_run(missing, NULL, &res, &err) == -ENOENT);
	CHECK(strstr(err.msg, "pepita-no-such-program"));
	CHECK(pep_proc_run(NULL, NULL, &res, &err) == -EINVAL);
	return T_PASS;
}

static int test_cwd_and_env(void)
{
	const char *pwd[] = { "sh", "-c", "pwd; echo $PEP_TEST", NULL };
	const char *env[] = { "PEP_TEST=42", "PATH=/usr/bin:/bin", NULL };
	struct pep_proc_opts o = { .cwd = "/", .envp = env };

	CHECK(run(pwd, &o) == 0 && !strcmp(res.out, "/\n42\n"));
	return T_PASS;
}

/* Read a spawned program's stdout to the end into buf. */
static ssize_t read_all(struct pep_proc *p, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while ((n = pep_proc_read(p, buf + len, size - 1 - len, 5000, NULL)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return n < 0 ? n : (ssize_t)len;
}

static int test_spawn_stream(void)
{
	const char *lines[] = { "sh", "-c", "for i in 1 2 3; do echo line$i; "
				"sleep 0.05; done; echo oops >&2; exit 3", NULL };
	struct pep_proc_result r;
	struct pep_proc *p;
	char buf[256];

	CHECK(pep_proc_spawn(lines, NULL, &p, NULL) == 0 && pep_proc_pid(p) > 0);
	CHECK(read_all(p, buf, sizeof(buf)) == 18);
	CHECK(!strcmp(buf, "line1\nline2\nline3\n"));
	CHECK(pep_proc_finish(p, 0, &r, NULL) == 0);
	CHECK(r.exited && r.exit_code == 3 && !r.timed_out);
	CHECK(r.err && !strcmp(r.err, "oops\n") && !r.out);
	pep_proc_result_free(&r);
	return T_PASS;
}

static int test_spawn_stop_and_wait(void)
{
	const char *sleepy[] = { "sh", "-c", "sleep 30 & echo started; wait", NULL };
	struct pep_proc_result r;
	struct pep_proc *p;
	char buf[64];
	pid_t pgid;

	CHECK(pep_proc_spawn(sleepy, NULL, &p, NULL) == 0);
	pgid = pep_proc_pid(p);
	CHECK(pep_proc_read(p, buf, sizeof(buf), 5000, NULL) == 8);
	/* nothing more comes: the wait runs out */
	CHECK(pep_proc_read(p, buf, sizeof(buf), 50, NULL) == -EAGAIN);
	CHECK(pep_proc_finish(p, 1, &r, NULL) == 0);
	CHECK(r.signaled && r.signal_no == SIGTERM);
	/* the whole group went, the background sleep too (once init reaps) */
	for (int i = 0; i < 200 && kill(-pgid, 0) == 0; i++)
		usleep(10 * 1000);
	CHECK(kill(-pgid, 0) < 0 && errno == ESRCH);
	pep_proc_result_free(&r);
	return T_PASS;
}

static int test_spawn_timeout_and_errors(void)
{
	const char *sleepy[] = { "sleep", "30", NULL };
	const char *missing[] = { "pepita-no-such-program", NULL };
	struct pep_proc_opts o = { .timeout_ms = 200 };
	struct pep_proc_result r;
	struct pep_proc *p;
	struct pep_err err;
	char buf[16];

	CHECK(pep_proc_spawn(sleepy, &o, &p, NULL) == 0);
	CHECK(pep_proc_read(p, buf, sizeof(buf), -1, NULL) == -ETIMEDOUT);
	CHECK(pep_proc_finish(p, 0, &r, NULL) == 0 && r.timed_out && r.signaled);
	pep_proc_result_free(&r);
	CHECK(pep_proc_spawn(missing, NULL, &p, &err) == -ENOENT && !p);
	CHECK(strstr(err.msg, "pepita-no-such-program") != NULL);
	o.stdin_data = "x";
	o.stdin_len = 1;
	CHECK(pep_proc_spawn(sleepy, &o, &p, NULL) == -EINVAL);
	return T_PASS;
}

/* A caller that dies without finishing takes its spawned program along. */
static int test_spawn_dies_with_parent(void)
{
	const char *sleepy[] = { "sleep", "30", NULL };
	int fds[2], status;
	pid_t middle, child = 0;

	CHECK(pipe(fds) == 0);
	middle = fork();
	if (middle == 0) {
		struct pep_proc *p;
		pid_t pid = pep_proc_spawn(sleepy, NULL, &p, NULL) == 0 ?
			    pep_proc_pid(p) : 0;

		if (write(fds[1], &pid, sizeof(pid)) < 0)
			_exit(2);
		_exit(0);		/* no finish: the sleep is orphaned */
	}
	close(fds[1]);
	CHECK(read(fds[0], &child, sizeof(child)) == sizeof(child) && child > 0);
	close(fds[0]);
	CHECK(waitpid(middle, &status, 0) == middle);
	for (int i = 0; i < 200 && kill(child, 0) == 0; i++)
		usleep(10 * 1000);
	CHECK(kill(child, 0) < 0 && errno == ESRCH);
	return T_PASS;
}

int main(void)
{
	int rc = T_PASS;

	t_run("output_and_status", test_output_and_status, &rc);
	t_run("stdin", test_stdin, &rc);
	t_run("timeout_kills_group", test_timeout_kills_group, &rc);
	t_run("timeout_kills_grandchild", test_timeout_kills_grandchild, &rc);
	t_run("both_streams", test_both_streams, &rc);
	t_run("cancel", test_cancel, &rc);
	t_run("cpu_time", test_cpu_time, &rc);
	t_run("not_executable", test_not_executable, &rc);
	t_run("output_limit", test_output_limit, &rc);
	t_run("not_found", test_not_found, &rc);
	t_run("cwd_and_env", test_cwd_and_env, &rc);
	t_run("spawn_stream", test_spawn_stream, &rc);
	t_run("spawn_stop_and_wait", test_spawn_stop_and_wait, &rc);
	t_run("spawn_timeout_and_errors", test_spawn_timeout_and_errors, &rc);
	t_run("spawn_dies_with_parent", test_spawn_dies_with_parent, &rc);
	pep_proc_result_free(&res);
	return rc;
}
