/*
 * The remote executor: program tasks run by `pepita worker --stdio` on
 * another machine, reached through the user's OpenSSH client (their
 * config, agent, ProxyJump and known_hosts apply). One connection per
 * task running at once, kept open for the next task; a connection that
 * breaks is closed and the task fails with -ECONNRESET, which the pool's
 * retry policy treats as transient. Canceling closes the connection; the
 * worker then kills the program. The program's output comes back in
 * OUTPUT frames as the worker reads it, gathered here up to the task's
 * max_output, so no frame limit caps it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/exec.h>
#include <pepita/proc.h>
#include <pepita/task.h>
#include <pepita/transport.h>

#define MAX_IDLE	64
#define HANDSHAKE_MS	30000
#define POLL_MS		200

struct remote {
	char *host;			/* NULL: run command here (tests) */
	const char *const *ssh_args;
	const char *const *command;
	int stderr_fd;
	pthread_mutex_t lock;
	struct pep_conn *idle[MAX_IDLE];
	unsigned int nidle;
};

static const char *const default_command[] = { "pepita", "worker", "--stdio", NULL };

static int connect_one(struct remote *r, struct pep_conn **c, struct pep_err *err)
{
	int ret;

	if (r->host)
		ret = pep_conn_ssh(c, r->host, r->ssh_args, r->command,
				   r->stderr_fd, NULL, err);
	else
		ret = pep_conn_spawn(c, r->command, r->stderr_fd, NULL, err);
	if (ret < 0)
		return ret;
	ret = pep_conn_handshake(*c, HANDSHAKE_MS, err);
	if (ret < 0) {
		pep_conn_close(*c, NULL);
		*c = NULL;
		return ret;
	}
	return 0;
}

static struct pep_conn *take_idle(struct remote *r)
{
	struct pep_conn *c = NULL;

	pthread_mutex_lock(&r->lock);
	if (r->nidle)
		c = r->idle[--r->nidle];
	pthread_mutex_unlock(&r->lock);
	return c;
}

static void give_back(struct remote *r, struct pep_conn *c)
{
	pthread_mutex_lock(&r->lock);
	if (r->nidle < MAX_IDLE) {
		r->idle[r->nidle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	if (c)
		pep_conn_close(c, NULL);
}

static int canceled(int cancel_fd)
{
	struct pollfd p = { cancel_fd, POLLIN, 0 };

	return cancel_fd > 0 && poll(&p, 1, 0) == 1;
}

/* One stream of a task's output, gathered from OUTPUT frames. */
struct gather {
	char *buf;			/* NUL-terminated, as res->out is */
	size_t len, cap, max;
	int truncated;
	int seen;			/* any OUTPUT frame for this stream */
};

/* Append up to max bytes in all; the rest only marks it truncated. */
static int gather_add(struct gather *g, const uint8_t *p, size_t n)
{
	size_t keep = g->len < g->max ? g->max - g->len : 0, cap;
	char *nb;

	g->seen = 1;
	if (n > keep)
		g->truncated = 1;
	n = n < keep ? n : keep;
	if (g->len + n + 1 > g->cap) {
		cap = g->cap ? g->cap : 65536;
		while (cap < g->len + n + 1)
			cap *= 2;
		/* len + n <= max: max + 1 still fits */
		if (g->max < SIZE_MAX && cap > g->max + 1)
			cap = g->max + 1;
		nb = realloc(g->buf, cap);
		if (!nb)
			return -ENOMEM;
		g->buf = nb;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, p, n);
	g->len += n;
	g->buf[g->len] = '\0';
	return 0;
}

static int take_output(struct gather out[2], const struct pep_frame *f,
		       struct pep_err *err)
{
	const uint8_t *p = f->payload;

	if (f->len < 1 || (p[0] != 1 && p[0] != 2))
		return pep_err_set(err, -EPROTO, "output frame of %u bytes "
				   "for stream %d", f->len, f->len ? p[0] : -1);
	if (gather_add(&out[p[0] - 1], p + 1, f->len - 1) < 0)
		return pep_err_set(err, -ENOMEM, "out of memory for %zu bytes "
				   "of output", out[p[0] - 1].len + f->len);
	return 0;
}

/* Streamed output replaces the result's (empty) out and err. */
static void give_output(struct gather out[2], struct pep_task_result *res)
{
	if (out[0].seen) {
		free(res->out);
		res->out = out[0].buf;
		res->out_len = out[0].len;
		res->out_truncated |= out[0].truncated;
		out[0].buf = NULL;
	}
	if (out[1].seen) {
		free(res->err);
		res->err = out[1].buf;
		res->err_len = out[1].len;
		res->err_truncated |= out[1].truncated;
		out[1].buf = NULL;
	}
}

/*
 * Wait for the result frame, gathering the output frames before it and
 * watching cancel_fd (also between output frames: a chatty program never
 * lets the receive time out).
 */
static int await_result(struct pep_conn *c, int cancel_fd, size_t max_output,
			struct pep_task_result *res, struct pep_err *err)
{
	struct gather out[2] = { { .max = max_output }, { .max = max_output } };
	struct pep_frame f;
	int ret;

	for (;;) {
		ret = pep_conn_recv(c, &f, cancel_fd > 0 ? POLL_MS : -1, err);
		if (ret == -ETIMEDOUT || (ret == 0 && f.type == PEP_FRAME_OUTPUT)) {
			if (ret == 0 && (ret = take_output(out, &f, err)) < 0)
				break;
			if (canceled(cancel_fd)) {
				ret = -ECANCELED;
				break;
			}
			continue;
		}
		if (ret < 0)
			break;
		if (f.type != PEP_FRAME_RESULT) {
			ret = pep_err_set(err, -EPROTO, "unexpected frame type %u",
					  f.type);
			break;
		}
		ret = pep_result_decode(f.payload, f.len, res, err);
		if (ret == 0)
			give_output(out, res);
		break;
	}
	free(out[0].buf);
	free(out[1].buf);
	return ret;
}

static int remote_run(struct pep_executor *ex, const struct pep_task *t,
		      struct pep_task_result *res, int cancel_fd)
{
	struct remote *r = ex->priv;
	const char *backend = res->backend;
	struct pep_conn *c = take_idle(r);
	struct pep_err err = { 0 };
	uint8_t *buf = NULL;
	size_t len;
	int ret;

	ret = pep_task_encode(t, &buf, &len, &err);
	if (!ret && !c)
		ret = connect_one(r, &c, &err);
	if (!ret)
		ret = pep_conn_send(c, PEP_FRAME_TASK, buf, len, &err);
	free(buf);
	if (!ret)
		ret = await_result(c, cancel_fd, t->proc.max_output ?
				   t->proc.max_output : PEP_PROC_MAX_OUTPUT_DEFAULT,
				   res, &err);
	res->backend = backend;
	res->attempts = 1;
	if (ret == 0) {
		give_back(r, c);
		return res->error;
	}
	if (c)
		pep_conn_close(c, NULL);
	if (ret != -ECANCELED && ret != -EINVAL && ret != -ENOENT &&
	    ret != -EMSGSIZE && ret != -ENOMEM)
		ret = -ECONNRESET;	/* the link, not the task: worth a retry */
	res->error = ret;
	snprintf(res->message, sizeof(res->message), "%s: %s",
		 r->host ? r->host : r->command[0],
		 ret == -ECANCELED ? "canceled" : err.msg[0] ? err.msg :
		 "connection lost");
	return ret;
}

static void remote_destroy(struct pep_executor *ex)
{
	struct remote *r = ex->priv;

	while (r->nidle)
		pep_conn_close(r->idle[--r->nidle], NULL);
	pthread_mutex_destroy(&r->lock);
	free(r->host);
	free(r);
	free(ex);
}

static const struct pep_executor_ops remote_ops = {
	.name = "remote", .kinds = 1u << PEP_TASK_PROC,
	.run = remote_run, .destroy = remote_destroy,
};

int pep_executor_remote(struct pep_executor **out,
			const struct pep_remote_opts *o, struct pep_err *err)
{
	struct pep_executor *ex;
	struct remote *r;

	if (!out || !o || (!o->host && !o->command))
		return pep_err_set(err, -EINVAL, "executor remote: a host or a "
				   "command is needed");
	*out = NULL;
	ex = calloc(1, sizeof(*ex));
	r = calloc(1, sizeof(*r));
	if (!ex || !r || (o->host && !(r->host = strdup(o->host)))) {
		free(ex);
		free(r);
		return pep_err_set(err, -ENOMEM, "executor remote: out of memory");
	}
	r->ssh_args = o->ssh_args;
	r->command = o->command ? o->command : default_command;
	r->stderr_fd = o->stderr_fd > 0 ? o->stderr_fd : -1;
	pthread_mutex_init(&r->lock, NULL);
	ex->ops = &remote_ops;
	ex->priv = r;
	*out = ex;
	return 0;
}
