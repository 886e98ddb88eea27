/*
 * The process runner against real programs: output, exit codes, signals,
 * stdin, a timeout that kills the whole group, output limits, a program
 * that does not exist, a child that ignores its stdin.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

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

int main(void)
{
	int rc = T_PASS;

	t_run("output_and_status", test_output_and_status, &rc);
	t_run("stdin", test_stdin, &rc);
	t_run("timeout_kills_group", test_timeout_kills_group, &rc);
	t_run("output_limit", test_output_limit, &rc);
	t_run("not_found", test_not_found, &rc);
	t_run("cwd_and_env", test_cwd_and_env, &rc);
	pep_proc_result_free(&res);
	return rc;
}
