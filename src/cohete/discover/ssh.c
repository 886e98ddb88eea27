/*
 * Probing candidates over ssh, all at once: every ssh is spawned through
 * pepita's proc runner before any is waited for, their stdouts are polled
 * together, and one deadline covers them all, so a host that never answers
 * costs the timeout once, not once per host. A session still running at
 * the deadline is killed (its process group) and reported timed out.
 *
 *   ssh -T -x -a -o BatchMode=yes -o ConnectTimeout=N [-p PORT] [-l USER]
 *       [-i KEY] [-o OPTION]... -- HOST "sh -c '<probe script>'"
 *
 * BatchMode: never a password or host-key prompt, so an unknown or changed
 * host key fails with a reason instead of hanging. Hosts were validated
 * (coh_discover_parse_host): none starts with '-' and "--" ends the
 * options anyway. Why a session failed comes from ssh's stderr.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/proc.h>

#include <cohete/discover.h>

#include "internal.h"
#include "discover/discover_priv.h"

/* One session in flight. */
struct session {
	struct coh__ssh_target *t;
	struct pep_proc *proc;
	int fd;				/* its stdout; -1 once at end of file */
	char *out;
	size_t len, cap;
	int overflow;			/* more than COH_PROBE_OUTPUT_MAX */
};

/* What ssh says, and the reason a person reads; first match wins. */
static const struct {
	const char *needle, *reason;
} reasons[] = {
	{ "Host key verification failed", "host key verification failed" },
	{ "REMOTE HOST IDENTIFICATION HAS CHANGED", "host key verification failed (the key changed)" },
	{ "Permission denied", "permission denied" },
	{ "Connection refused", "connection refused" },
	{ "Could not resolve hostname", "host name not found" },
	{ "No route to host", "no route to host" },
	{ "Network is unreachable", "network unreachable" },
	{ "Connection timed out", "connection timed out" },
	{ "banner exchange", "no answer from the ssh server (banner exchange timed out)" },
	{ "Connection reset", "connection reset" },
	{ "Connection closed", "connection closed by the host" },
};

/* The last non-empty stderr line, printable, for a failure not listed. */
static void last_line(const char *text, char *out, size_t size)
{
	const char *start = NULL, *end = NULL;
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (*p != '\n' && *p != '\r' && (!end || p > end)) {
			const char *e = p + strcspn(p, "\r\n");

			start = p;
			end = e;
			p = e - 1;
		}
	}
	for (const char *p = start; p && p < end && n + 1 < size; p++)
		out[n++] = (*p >= ' ' && *p < 0x7f) ? *p : '?';
	out[n] = '\0';
}

void coh__ssh_reason(int exit_code, const char *stderr_text, char *out,
		     size_t size)
{
	char line[128];

	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++) {
		if (strstr(stderr_text, reasons[i].needle)) {
			coh__strlcpy(out, reasons[i].reason, size);
			return;
		}
	}
	last_line(stderr_text, line, sizeof(line));
	if (exit_code == 255)
		snprintf(out, size, "ssh failed%s%s", line[0] ? ": " : "", line);
	else
		snprintf(out, size, "the probe failed on the host (exit %d)%s%s",
			 exit_code, line[0] ? ": " : "", line);
}

/* argv for one target; strings live in t, opts and the caller's buffers. */
static size_t build_argv(const struct coh_discover_opts *opts,
			 const struct coh__ssh_target *t, const char **argv,
			 char *timeout_opt, char *port, char *command)
{
	size_t n = 0;

	argv[n++] = opts->ssh_program ? opts->ssh_program : "ssh";
	argv[n++] = "-T";
	argv[n++] = "-x";
	argv[n++] = "-a";
	argv[n++] = "-o";
	argv[n++] = "BatchMode=yes";
	argv[n++] = "-o";
	argv[n++] = timeout_opt;
	if (t->port) {
		snprintf(port, 8, "%u", t->port);
		argv[n++] = "-p";
		argv[n++] = port;
	}
	if (t->user[0] || (opts->user && opts->user[0])) {
		argv[n++] = "-l";
		argv[n++] = t->user[0] ? t->user : opts->user;
	}
	if (opts->identity) {
		argv[n++] = "-i";
		argv[n++] = opts->identity;
	}
	for (size_t i = 0; i < opts->ssh_option_count; i++) {
		argv[n++] = "-o";
		argv[n++] = opts->ssh_options[i];
	}
	argv[n++] = "--";
	argv[n++] = t->host;
	snprintf(command, 8192, "sh -c '%s'", coh_discover_probe_script());
	argv[n++] = command;
	argv[n] = NULL;
	return n;
}

static int spawn_one(const struct coh_discover_opts *opts, struct session *s,
		     const char *timeout_opt, char *command, struct pep_err *err)
{
	size_t max = 24 + 2 * opts->ssh_option_count;
	const char **argv = calloc(max, sizeof(*argv));
	char port[8];
	int ret;

	if (!argv)
		return pep_err_set(err, -ENOMEM, "ssh: out of memory");
	build_argv(opts, s->t, argv, (char *)timeout_opt, port, command);
	ret = pep_proc_spawn(argv, &(struct pep_proc_opts){
				.max_output = 64 * 1024 }, &s->proc, err);
	free(argv);
	if (ret < 0)
		return ret;
	s->fd = pep_proc_take_stdout(s->proc);
	return 0;
}

/* Read what is there; 0 at end of file or on overflow (stop reading). */
static int read_some(struct session *s)
{
	ssize_t n;

	if (s->len + 65536 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 128 * 1024;
		char *p = realloc(s->out, cap + 1);

		if (!p)
			return -ENOMEM;
		s->out = p;
		s->cap = cap;
	}
	n = read(s->fd, s->out + s->len, s->cap - s->len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	s->len += (size_t)n;
	if (s->len > COH_PROBE_OUTPUT_MAX) {
		s->overflow = 1;
		return 0;
	}
	return n > 0;
}

static unsigned int ms_since(uint64_t start_ns)
{
	return (unsigned int)((pep_time_ns() - start_ns) / 1000000);
}

/* The answer, or why there is none, into the target's row. */
static void settle(struct session *s, const struct pep_proc_result *res,
		   unsigned int timeout_ms)
{
	struct coh_found *f = s->t->row;
	struct coh_probe probe;
	struct pep_err perr;

	f->ssh = COH_SSH_FAILED;
	if (res->timed_out || (res->signaled && !s->overflow)) {
		if (timeout_ms % 1000)
			snprintf(f->ssh_reason, sizeof(f->ssh_reason),
				 "timed out after %u ms", timeout_ms);
		else
			snprintf(f->ssh_reason, sizeof(f->ssh_reason),
				 "timed out after %u s", timeout_ms / 1000);
		return;
	}
	if (s->overflow) {
		coh__strlcpy(f->ssh_reason, "the host sent more than a probe's "
			     "answer (4 MiB)", sizeof(f->ssh_reason));
		return;
	}
	if (!res->exited || res->exit_code != 0) {
		coh__ssh_reason(res->exited ? res->exit_code : 255,
				res->err ? res->err : "", f->ssh_reason,
				sizeof(f->ssh_reason));
		return;
	}
	if (coh_probe_parse(s->out ? s->out : "", s->len, &probe, &perr) < 0) {
		snprintf(f->ssh_reason, sizeof(f->ssh_reason), "%s", perr.msg);
		return;
	}
	if (coh_probe_identify(&probe, &f->device, &perr) < 0) {
		snprintf(f->ssh_reason, sizeof(f->ssh_reason), "%s", perr.msg);
	} else {
		f->ssh = COH_SSH_OK;
		f->identified = 1;
	}
	coh_probe_free(&probe);
}

/* Reap one session: wait (at most until the deadline) or kill it now. */
static void finish(struct session *s, uint64_t deadline_ns, int kill_now,
		   uint64_t start_ns, unsigned int timeout_ms)
{
	struct pep_proc_result res;
	int64_t left_ms = ((int64_t)deadline_ns - (int64_t)pep_time_ns()) / 1000000;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	/* stdout closed: ssh exits at once; a 2 s cap keeps one that does not
	   from holding up the others' reading */
	if (left_ms > 2000)
		left_ms = 2000;
	pep_proc_wait(s->proc, kill_now || left_ms <= 0 ? 0 : (int)left_ms + 1,
		      &res, NULL);
	s->proc = NULL;
	if (kill_now)
		res.timed_out = 1;
	s->t->row->ssh_ms = ms_since(start_ns);
	settle(s, &res, timeout_ms);
	pep_proc_result_free(&res);
	free(s->out);
	s->out = NULL;
}

/* poll every open stdout until all closed or the deadline; 0 or -ENOMEM */
static int pump(struct session *ss, size_t count, struct pollfd *fds,
		uint64_t start_ns, uint64_t deadline_ns, unsigned int timeout_ms)
{
	for (;;) {
		int64_t left = ((int64_t)deadline_ns - (int64_t)pep_time_ns()) / 1000000;
		size_t open = 0;

		for (size_t i = 0; i < count; i++) {
			fds[i] = (struct pollfd){ ss[i].fd, POLLIN, 0 };
			open += ss[i].fd >= 0;
		}
		if (!open || left <= 0)
			return 0;
		if (poll(fds, count, (int)left + 1) < 0 && errno != EINTR)
			return -errno;
		for (size_t i = 0; i < count; i++) {
			int r;

			if (ss[i].fd < 0 || !fds[i].revents)
				continue;
			r = read_some(&ss[i]);
			if (r < 0)
				return r;
			if (r == 0)
				finish(&ss[i], deadline_ns, ss[i].overflow,
				       start_ns, timeout_ms);
		}
	}
}

int coh__ssh_probe_all(const struct coh_discover_opts *opts,
		       struct coh__ssh_target *targets, size_t count,
		       struct pep_err *err)
{
	unsigned int timeout_ms = opts->timeout_ms ? opts->timeout_ms :
				  COH_DISCOVER_TIMEOUT_MS_DEFAULT;
	uint64_t start_ns = pep_time_ns();
	uint64_t deadline_ns = start_ns + (uint64_t)timeout_ms * 1000000;
	struct session *ss = calloc(count ? count : 1, sizeof(*ss));
	struct pollfd *fds = calloc(count ? count : 1, sizeof(*fds));
	char timeout_opt[32], *command = malloc(8192);
	int ret = 0;

	if (!ss || !fds || !command) {
		ret = pep_err_set(err, -ENOMEM, "ssh: out of memory");
		goto out;
	}
	snprintf(timeout_opt, sizeof(timeout_opt), "ConnectTimeout=%u",
		 (timeout_ms + 999) / 1000);
	for (size_t i = 0; i < count && ret == 0; i++) {
		ss[i] = (struct session){ .t = &targets[i], .fd = -1 };
		ret = spawn_one(opts, &ss[i], timeout_opt, command, err);
	}
	if (ret == 0)
		ret = pump(ss, count, fds, start_ns, deadline_ns, timeout_ms);
	if (ret < 0 && ret != -ENOENT && ret != -EACCES)
		pep_err_set(err, ret, "ssh: %s", strerror(-ret));
	/* stragglers: past the deadline, or left by an error above */
	for (size_t i = 0; i < count; i++)
		if (ss[i].proc)
			finish(&ss[i], deadline_ns, 1, start_ns, timeout_ms);
out:
	if (ss)
		for (size_t i = 0; i < count; i++)
			free(ss[i].out);
	free(ss);
	free(fds);
	free(command);
	return ret;
}
