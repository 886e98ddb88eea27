/*
 * remote.c - running `cohete engine ...` on a device over the user's
 * OpenSSH, the way discover does: BatchMode (never a prompt: a host key
 * ssh does not know fails with a reason), a connect timeout, the device's
 * user, port and key from the file, and the command as one line a POSIX
 * shell reads back to the same words.
 *
 *   ssh -T -x -a -o BatchMode=yes -o ConnectTimeout=N [-p PORT] [-l USER]
 *       [-i KEY] [-o OPTION]... -- HOST 'cohete' 'engine' ...
 *
 * A deploy makes several calls to each device (its state, the copy, the
 * activation): through OpenSSH's connection sharing (ControlMaster) they
 * share one connection, so a device costs one key exchange, not three
 * (each is half a second on a loaded 2-core machine). The control
 * sockets live in a private directory made for the deploy and are closed
 * with it.
 */
#include <errno.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include <cohete/fleet.h>
#include <pepita/proc.h>

#include "internal.h"
#include "fleet_priv.h"

void coh__remote_ssh_argv(const struct coh_fleet_remote *r,
			  const struct coh_config_device *d,
			  struct coh__ssh_argv *a, bool with_host)
{
	size_t n = 0;

	snprintf(a->timeout, sizeof(a->timeout), "ConnectTimeout=%u",
		 r->connect_timeout_s ? r->connect_timeout_s : 10);
	snprintf(a->port, sizeof(a->port), "%u", d->port ? d->port : 22);
	a->v[n++] = r->ssh_program ? r->ssh_program : "ssh";
	a->v[n++] = "-T";
	a->v[n++] = "-x";
	a->v[n++] = "-a";
	a->v[n++] = "-o";
	a->v[n++] = "BatchMode=yes";
	a->v[n++] = "-o";
	a->v[n++] = a->timeout;
	a->v[n++] = "-p";
	a->v[n++] = a->port;
	a->v[n++] = "-l";
	a->v[n++] = d->user ? d->user : "nvidia";
	if (r->identity || d->identity) {
		a->v[n++] = "-i";
		a->v[n++] = r->identity ? r->identity : d->identity;
	}
	for (size_t i = 0; i < r->ssh_option_count && n + 6 < SSH_ARGV_MAX; i++) {
		a->v[n++] = "-o";
		a->v[n++] = r->ssh_options[i];
	}
	if (with_host) {
		a->v[n++] = "--";
		a->v[n++] = d->host ? d->host : d->id;
	}
	a->v[n] = NULL;
	a->n = n;
}

/*
 * words (NULL-ended) as the remote command line; the program is the
 * remote cohete. malloc'd, NULL when out of memory.
 */
char *coh__remote_line(const struct coh_fleet_remote *r,
		       const char *const *words)
{
	const char *argv[SSH_ARGV_MAX];
	size_t n = 0, len;
	char *line;

	argv[n++] = r->cohete ? r->cohete : "cohete";
	for (size_t i = 0; words[i] && n + 1 < SSH_ARGV_MAX; i++)
		argv[n++] = words[i];
	argv[n] = NULL;
	len = coh_fleet_argv_format(argv, NULL, 0);
	line = malloc(len + 1);
	if (line)
		coh_fleet_argv_format(argv, line, len + 1);
	return line;
}

/* The last printable line of a program's stderr, for a person. */
void coh__remote_last_line(const char *text, char *out, size_t size)
{
	const char *start = NULL, *end = NULL;
	size_t n = 0;

	for (const char *p = text ? text : ""; *p; ) {
		const char *e = p + strcspn(p, "\r\n");

		if (e > p) {
			start = p;
			end = e;
		}
		p = *e ? e + 1 : e;
	}
	for (const char *p = start; p && p < end && n + 1 < size; p++)
		out[n++] = (*p >= ' ' && *p < 0x7f) ? *p : '?';
	out[n] = '\0';
}

/* Why a remote call failed: ssh's own failure, or the device's message. */
void coh__remote_reason(const struct pep_proc_result *res, char *out,
			size_t size)
{
	char line[512];

	coh__remote_last_line(res->err, line, sizeof(line));
	if (res->timed_out)
		snprintf(out, size, "timed out%s%s", line[0] ? ": " : "", line);
	else if (res->exited && res->exit_code == 255)
		snprintf(out, size, "%s%s", strncmp(line, "ssh: ", 5) ? "ssh: " : "",
			 line[0] ? line : "failed");
	else if (res->exited && res->exit_code == 127)
		snprintf(out, size, "cohete is not installed on the device (%s)",
			 line[0] ? line : "command not found");
	else if (line[0])
		snprintf(out, size, "%s", line);
	else if (res->signaled)
		snprintf(out, size, "killed by signal %d", res->signal_no);
	else
		snprintf(out, size, "exit %d", res->exit_code);
}

int coh__remote_run(const struct coh_fleet_remote *r,
		    const struct coh_config_device *d,
		    const char *const *words, const void *in, size_t in_len,
		    uint32_t timeout_ms, struct pep_proc_result *res,
		    struct pep_err *err)
{
	struct coh__ssh_argv a;
	struct pep_proc_opts po = {
		.stdin_data = in, .stdin_len = in_len, .timeout_ms = timeout_ms,
		.max_output = 16u << 20,
	};
	char *line = coh__remote_line(r, words);
	int rc;

	if (!line)
		return pep_err_set(err, -ENOMEM, "out of memory");
	coh__remote_ssh_argv(r, d, &a, true);
	a.v[a.n] = line;
	a.v[a.n + 1] = NULL;
	rc = pep_proc_run(a.v, &po, res, err);
	free(line);
	return rc;
}

/* ==== one connection per device ================================================ */

int coh__mux_open(struct coh__mux *m, const struct coh_fleet_remote *in,
		  struct coh_fleet_remote *out)
{
	const char *base = getenv("XDG_RUNTIME_DIR");
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	*out = *in;
	if (!base || !*base || strlen(base) > 40)
		base = "/tmp";
	snprintf(m->dir, sizeof(m->dir), "%s/cohete-ssh-XXXXXX", base);
	if (!mkdtemp(m->dir)) {
		m->dir[0] = '\0';
		return -errno;		/* the deploy goes on without sharing */
	}
	snprintf(m->path_opt, sizeof(m->path_opt), "ControlPath=%s/%%C", m->dir);
	for (size_t i = 0; i < in->ssh_option_count && n < MUX_OPTIONS_MAX - 3; i++)
		m->opts[n++] = in->ssh_options[i];
	m->opts[n++] = "ControlMaster=auto";
	m->opts[n++] = m->path_opt;
	m->opts[n++] = "ControlPersist=60";
	out->ssh_options = m->opts;
	out->ssh_option_count = n;
	return 0;
}

void coh__mux_close(struct coh__mux *m, const struct coh_config *cfg,
		    const struct coh_fleet_remote *r)
{
	struct pep_proc_opts po = { .timeout_ms = 5000 };
	DIR *d;
	struct dirent *e;

	if (!m->dir[0])
		return;
	for (size_t i = 0; i < cfg->device_count; i++) {
		struct pep_proc_result res = { 0 };
		struct coh__ssh_argv a;

		coh__remote_ssh_argv(r, &cfg->devices[i], &a, false);
		a.v[a.n++] = "-O";
		a.v[a.n++] = "exit";
		a.v[a.n++] = "--";
		a.v[a.n++] = cfg->devices[i].host ? cfg->devices[i].host : cfg->devices[i].id;
		a.v[a.n] = NULL;
		if (pep_proc_run(a.v, &po, &res, NULL) == 0)
			pep_proc_result_free(&res);
	}
	/* A master that did not answer leaves its socket: not ours to keep. */
	d = opendir(m->dir);
	while (d && (e = readdir(d))) {
		char path[512];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", m->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(m->dir);
}
