/*
 * pepita worker --stdio: run program tasks sent over a pepita transport
 * connection on stdin/stdout (what `pepita run --host` starts through
 * ssh). One task at a time per connection; the program's output goes
 * back in frames as it comes, the result as soon as the program ends. When the connection closes while a program runs,
 * the program (its process group) is killed: a lost client leaves nothing
 * running. Diagnostics go to stderr: stdout is the connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include <pepita/exec.h>
#include <pepita/task.h>
#include <pepita/transport.h>

#include "cmd.h"

/* A piece of the program's output, to the client as it comes. */
static int send_output(void *arg, int stream, const void *buf, size_t len)
{
	uint8_t tag = (uint8_t)stream;
	struct iovec pieces[2] = { { &tag, 1 }, { (void *)buf, len } };

	return pep_conn_sendv(arg, PEP_FRAME_OUTPUT, pieces, 2, NULL);
}

/*
 * Run one decoded task; the connection's read end doubles as cancel fd.
 * Output streams to the client in OUTPUT frames, so its size is bounded
 * by the task's max_output, not by what one frame holds.
 */
static void run_task(struct pep_conn *c, const struct pep_wire_task *w,
		     int cancel_fd, struct pep_task_result *res)
{
	struct pep_executor *ex = NULL;
	struct pep_task t;

	pep_wire_task_to_task(w, &t);
	t.proc.die_with_parent = 1;	/* a killed worker leaves nothing */
	t.proc.on_output = send_output;
	t.proc.output_arg = c;
	if (pep_executor_process(&ex, NULL) < 0) {
		memset(res, 0, sizeof(*res));
		res->error = -ENOMEM;
		snprintf(res->message, sizeof(res->message), "worker: out of memory");
		return;
	}
	pep_executor_run(ex, &t, res, cancel_fd);
	pep_executor_destroy(ex);
}

static int reply(struct pep_conn *c, const struct pep_task_result *res)
{
	struct pep_err err;
	uint8_t *buf;
	size_t len;
	int ret = pep_result_encode(res, &buf, &len, &err);

	if (ret == 0) {
		ret = pep_conn_send(c, PEP_FRAME_RESULT, buf, len, &err);
		free(buf);
	}
	if (ret < 0 && ret != -EPIPE)
		cli_error("%s", err.msg);
	return ret;
}

/* Serve until the client closes (0) or the stream breaks (-errno). */
static int serve(struct pep_conn *c, int cancel_fd)
{
	for (;;) {
		struct pep_task_result res;
		struct pep_wire_task w;
		struct pep_frame f;
		struct pep_err err;
		int ret = pep_conn_recv(c, &f, -1, &err);

		if (ret == -EPIPE)
			return 0;
		if (ret < 0) {
			cli_error("%s", err.msg);
			return ret;
		}
		if (f.type != PEP_FRAME_TASK) {
			cli_error("unexpected frame type %u", f.type);
			return -EPROTO;
		}
		ret = pep_task_decode(f.payload, f.len, &w, &err);
		if (ret < 0) {
			memset(&res, 0, sizeof(res));
			res.error = ret;
			snprintf(res.message, sizeof(res.message), "%s", err.msg);
		} else {
			run_task(c, &w, cancel_fd, &res);
			pep_wire_task_free(&w);
		}
		ret = reply(c, &res);
		pep_task_result_free(&res);
		if (ret < 0)
			return ret == -EPIPE ? 0 : ret;
	}
}

int cmd_worker(int argc, char **argv)
{
	struct pep_conn *c;
	struct pep_err err;
	int rfd, wfd, ret;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: pepita worker --stdio\n\n"
		       "Run program tasks sent by `pepita run --host` over stdin and\n"
		       "stdout (started through ssh).\n");
		return CMD_EXIT_OK;
	}
	if (argc != 2 || strcmp(argv[1], "--stdio")) {
		fprintf(stderr, "usage: pepita worker --stdio\n");
		return CMD_EXIT_USAGE;
	}
	/* Above 2: the programs get /dev/null and pipes on 0-2, and cancel
	   fds must be > 0. */
	rfd = fcntl(0, F_DUPFD_CLOEXEC, 3);
	wfd = fcntl(1, F_DUPFD_CLOEXEC, 3);
	if (rfd < 0 || wfd < 0 || pep_conn_from_fds(&c, rfd, wfd, NULL, &err) < 0) {
		cli_error("%s", rfd < 0 || wfd < 0 ? strerror(errno) : err.msg);
		return CMD_EXIT_FAIL;
	}
	/* stdout now belongs to the connection: nothing else may write there */
	if (dup2(2, 1) < 0) {
		pep_conn_close(c, NULL);
		return CMD_EXIT_FAIL;
	}
	ret = pep_conn_handshake(c, 30000, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		pep_conn_close(c, NULL);
		return CMD_EXIT_FAIL;
	}
	ret = serve(c, rfd);
	pep_conn_close(c, NULL);
	return ret < 0 ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}
