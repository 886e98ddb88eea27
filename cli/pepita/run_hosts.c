/*
 * pepita run --host: one pool lane per host, whose jobs run in `pepita
 * worker --stdio` there, reached through ssh (or --ssh CMD). The host is
 * never an option to ssh: -- goes before it, and a host that starts with
 * - is refused (-oProxyCommand=... would run a command here).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/pool.h>

#include "cli.h"
#include "run.h"

/* "[N/]host": slots and the host's name, which is never an ssh option. */
static int parse_host(const char *spec, unsigned int dflt, unsigned int *slots,
		      const char **host)
{
	const char *slash = strchr(spec, '/');
	unsigned long v;
	char *end;

	*slots = dflt;
	*host = spec;
	if (slash && slash > spec) {
		errno = 0;
		v = strtoul(spec, &end, 10);
		if (end == slash) {
			if (errno || v < 1 || v > RUN_MAX_SLOTS || spec[0] == '-' ||
			    spec[0] == '+')
				return run_bad_value("--host", spec, "N/HOST: N is a "
						 "number from 1 to 4096");
			*slots = (unsigned int)v;
			*host = slash + 1;
		}
	}
	if (!**host)
		return run_bad_value("--host", spec, "[N/]HOST");
	if (**host == '-')
		return run_bad_value("--host", spec, "a host name cannot start "
				 "with '-'");
	return 0;
}

/* --ssh 'ssh -F cfg': the words of a command, as GNU parallel takes it. */
static int split_words(const char *cmd, struct run_remotes *rm)
{
	char *save, *w;

	rm->ssh_copy = strdup(cmd);
	for (w = rm->ssh_copy ? strtok_r(rm->ssh_copy, " \t", &save) : NULL; w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (rm->nwords == 16) {
			cli_error("--ssh: at most 16 words");
			return -1;
		}
		rm->words[rm->nwords++] = w;
	}
	if (!rm->nwords) {
		cli_error("--ssh '%s': no program", cmd);
		return -1;
	}
	return 0;
}

/* PROG [ARGS] -- HOST PEPITA worker --stdio: spawned as it is. */
static const char *const *ssh_argv(struct run_remotes *rm, const char *host)
{
	char **a = rm->argv[rm->n];
	int k;

	for (k = 0; k < rm->nwords; k++)
		a[k] = rm->words[k];
	a[k++] = (char *)"--";	/* whatever the host, it is no option */
	a[k++] = (char *)host;
	for (int c = 0; c < 3; c++)
		a[k++] = (char *)rm->command[c];
	a[k] = NULL;
	return (const char *const *)a;
}

int run_hosts_add(const struct run_opts *o, struct pep_pool *pool,
		     struct run_remotes *rm)
{
	const char *pepita = o->remote_pepita ? o->remote_pepita : "pepita";
	struct pep_err err;

	rm->command[0] = pepita;
	rm->command[1] = "worker";
	rm->command[2] = "--stdio";
	if (o->ssh && split_words(o->ssh, rm) < 0)
		return -1;
	for (int i = 0; i < o->nhosts; i++) {
		struct pep_remote_opts ro = { .command = rm->command };
		unsigned int slots;
		const char *host;

		if (!strcmp(o->hosts[i], ":"))
			continue;
		if (parse_host(o->hosts[i], o->jobs, &slots, &host) < 0)
			return -1;
		if (o->ssh)
			ro.command = ssh_argv(rm, host);
		else
			ro.host = host;
		if (pep_executor_remote(&rm->ex[rm->n], &ro, &err) < 0 ||
		    pep_pool_add_lane(pool, host, rm->ex[rm->n++], slots, &err) < 0) {
			cli_error("--host %s: %s", host, err.msg);
			return -1;
		}
	}
	return 0;
}

/* Check the --host list before anything starts (also for --dry-run). */
int run_hosts_check(const struct run_opts *o, unsigned int *slots)
{
	int local = o->nhosts == 0;

	*slots = 0;
	for (int i = 0; i < o->nhosts; i++) {
		unsigned int n;
		const char *host;

		if (!strcmp(o->hosts[i], ":")) {
			local = 1;
			continue;
		}
		if (parse_host(o->hosts[i], o->jobs, &n, &host) < 0)
			return -1;
		*slots += n;
	}
	*slots += local ? o->jobs : 0;
	return 0;
}

void run_hosts_free(struct run_remotes *rm)
{
	for (int i = 0; i < rm->n; i++)
		pep_executor_destroy(rm->ex[i]);
	free(rm->ssh_copy);
}

