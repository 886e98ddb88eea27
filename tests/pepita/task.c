/*
 * The task module: checking a task before it is queued, judging a result,
 * and program tasks and results on the wire (what `pepita worker` and the
 * remote executor exchange): every field survives a round trip, and a
 * truncated or padded buffer is refused with the field named, never read
 * past.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/task.h>

#include "harness.h"

static int call_nothing(void *arg, struct pep_task_result *res)
{
	(void)arg;
	(void)res;
	return 0;
}

static void kernel_nothing(size_t begin, size_t end, void *arg)
{
	(void)begin;
	(void)end;
	(void)arg;
}

static int test_check(void)
{
	static const char *const empty[] = { "", NULL };
	static const char *const ls[] = { "ls", NULL };
	struct pep_task t = { .kind = PEP_TASK_FN };
	struct pep_err err = { 0 };

	CHECK(pep_task_check(NULL, &err) == -EINVAL);
	CHECK(pep_task_check(&t, &err) == -EINVAL);
	CHECK(strstr(err.msg, "without fn"));
	t.fn = call_nothing;
	CHECK(pep_task_check(&t, &err) == 0);
	t.prio = (enum pep_prio)7;
	CHECK(pep_task_check(&t, &err) == -EINVAL);
	CHECK(strstr(err.msg, "priority 7"));

	t = (struct pep_task){ .kind = PEP_TASK_PROC, .argv = empty,
			       .name = "fetch" };
	CHECK(pep_task_check(&t, &err) == -EINVAL);
	CHECK(strstr(err.msg, "fetch: program task without argv[0]"));
	t.argv = ls;
	CHECK(pep_task_check(&t, &err) == 0);

	t = (struct pep_task){ .kind = PEP_TASK_RANGE, .n = 10 };
	CHECK(pep_task_check(&t, &err) == -EINVAL);
	CHECK(strstr(err.msg, "without kernel"));
	t.kernel = kernel_nothing;
	CHECK(pep_task_check(&t, &err) == 0);

	t.kind = (enum pep_task_kind)9;
	CHECK(pep_task_check(&t, &err) == -EINVAL);
	CHECK(strstr(err.msg, "unknown kind 9"));
	return T_PASS;
}

static int test_ok(void)
{
	struct pep_task_result r = { .exited = 1 };

	CHECK(pep_task_ok(PEP_TASK_PROC, &r));
	CHECK(pep_task_ok(PEP_TASK_FN, &r));
	CHECK(!pep_task_ok(PEP_TASK_PROC, NULL));
	r.exit_code = 3;
	CHECK(!pep_task_ok(PEP_TASK_PROC, &r));
	CHECK(pep_task_ok(PEP_TASK_FN, &r));	/* only programs exit */
	r = (struct pep_task_result){ .exited = 1, .timed_out = 1 };
	CHECK(!pep_task_ok(PEP_TASK_PROC, &r));
	r = (struct pep_task_result){ .signaled = 1, .signal_no = 9 };
	CHECK(!pep_task_ok(PEP_TASK_PROC, &r));
	r = (struct pep_task_result){ .error = -ECANCELED };
	CHECK(!pep_task_ok(PEP_TASK_FN, &r));
	return T_PASS;
}

static int test_task_wire(void)
{
	static const char *const argv[] = { "gzip", "-c", "a b", "", NULL };
	static const char *const envp[] = { "A=1", "B=", NULL };
	struct pep_task t = {
		.kind = PEP_TASK_PROC, .argv = argv,
		.proc = { .envp = envp, .cwd = "/tmp", .stdin_data = "in\0put",
			  .stdin_len = 6, .timeout_ms = 1500,
			  .max_output = 1 << 20 },
	};
	struct pep_wire_task w;
	struct pep_task back;
	struct pep_err err = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0, i;

	CHECK(pep_task_encode(&t, &buf, &len, &err) == 0 && len > 0);
	CHECK(pep_task_decode(buf, len, &w, &err) == 0);
	for (i = 0; argv[i]; i++)
		CHECK(w.argv[i] && strcmp(w.argv[i], argv[i]) == 0);
	CHECK(w.argv[i] == NULL);
	CHECK(strcmp(w.envp[0], "A=1") == 0 && strcmp(w.envp[1], "B=") == 0 &&
	      w.envp[2] == NULL);
	CHECK(strcmp(w.cwd, "/tmp") == 0);
	CHECK(w.stdin_len == 6 && memcmp(w.stdin_data, "in\0put", 6) == 0);
	CHECK(w.timeout_ms == 1500 && w.max_output == 1 << 20);
	pep_wire_task_to_task(&w, &back);
	CHECK(back.kind == PEP_TASK_PROC && back.argv[2] == w.argv[2]);
	CHECK(back.proc.timeout_ms == 1500 && back.proc.stdin_len == 6);
	CHECK(pep_task_check(&back, NULL) == 0);
	pep_wire_task_free(&w);

	/* Every cut is refused, with a field named; so is a byte more. */
	for (i = 0; i < len; i++) {
		CHECK(pep_task_decode(buf, i, &w, &err) == -EBADMSG);
		CHECK(strstr(err.msg, "task:"));
	}
	buf = realloc(buf, len + 1);
	CHECK(buf);
	buf[len] = 0;
	CHECK(pep_task_decode(buf, len + 1, &w, &err) == -EBADMSG);
	CHECK(strstr(err.msg, "bytes after the last field"));
	free(buf);

	/* Only programs travel. */
	t = (struct pep_task){ .kind = PEP_TASK_FN, .fn = call_nothing };
	CHECK(pep_task_encode(&t, &buf, &len, &err) == -EINVAL);
	return T_PASS;
}

static int test_result_wire(void)
{
	struct pep_task_result r = {
		.error = 0, .exited = 1, .exit_code = 2, .timed_out = 0,
		.out = "out\n", .out_len = 4, .out_truncated = 1,
		.err = "e", .err_len = 1, .wall_ns = 123456789,
		.user_ns = 7, .sys_ns = 8,
	}, back;
	struct pep_err err = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0, i;

	strcpy(r.message, "exit 2");
	CHECK(pep_result_encode(&r, &buf, &len, &err) == 0);
	CHECK(pep_result_decode(buf, len, &back, &err) == 0);
	CHECK(back.exited == 1 && back.exit_code == 2 && !back.signaled);
	CHECK(back.out_len == 4 && memcmp(back.out, "out\n", 4) == 0);
	CHECK(back.out_truncated && !back.err_truncated);
	CHECK(back.err_len == 1 && back.err[0] == 'e');
	CHECK(back.wall_ns == 123456789 && back.user_ns == 7 &&
	      back.sys_ns == 8);
	CHECK(strcmp(back.message, "exit 2") == 0);
	pep_task_result_free(&back);
	CHECK(back.out == NULL && back.err == NULL);

	for (i = 0; i < len; i++) {
		CHECK(pep_result_decode(buf, i, &back, &err) == -EBADMSG);
		CHECK(strstr(err.msg, "result: bad or truncated field"));
		CHECK(back.out == NULL && back.err == NULL);
	}
	free(buf);

	/* An error code must be 0 or negative. */
	r.error = 5;
	CHECK(pep_result_encode(&r, &buf, &len, &err) == 0);
	CHECK(pep_result_decode(buf, len, &back, &err) == -EBADMSG);
	CHECK(strstr(err.msg, "error (positive)"));
	free(buf);
	return T_PASS;
}

int main(void)
{
	int rc = 0;

	t_run("check", test_check, &rc);
	t_run("ok", test_ok, &rc);
	t_run("task-wire", test_task_wire, &rc);
	t_run("result-wire", test_result_wire, &rc);
	return rc;
}
