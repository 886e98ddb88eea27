/*
 * unit.c - an engine as a systemd unit, where the device runs systemd:
 * cohete-serve@MODEL.service, a transient unit made with systemd-run, so
 * `systemctl status cohete-serve@llama` shows it, journald and systemd's
 * accounting see it, and its memory budget is the unit's MemoryMax=
 * (systemd kills it past that, with the result "oom-kill"). The
 * supervisor keeps the rest: which version runs, readiness, restarts, the
 * breaker's pauses (the unit's main process leads its own session and
 * process group, as every service's does). The unit is not the
 * supervisor's child: its end is found by its /proc identity, and why it
 * ended is the unit's Result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/proc.h>

#include <cohete/engine.h>

#include "internal.h"
#include "engine_priv.h"

#define UNIT_ARGS_MAX	(COH_ENGINE_ARGV_MAX + 24)
#define SYSTEMCTL_MS	10000

int coh__unit_available(void)
{
	char path[4096];

	return access("/run/systemd/system", F_OK) == 0 &&
	       pep_proc_find("systemd-run", path, sizeof(path)) == 0 &&
	       pep_proc_find("systemctl", path, sizeof(path)) == 0;
}

void coh__unit_name(const char *model, char *out, size_t size)
{
	snprintf(out, size, "cohete-serve@%s.service", model);
}

/* systemctl VERB UNIT...; its stdout (malloc'd) when out, else NULL. */
static int systemctl(const char *const *argv, char **out, struct pep_err *err)
{
	struct pep_proc_opts po = { .timeout_ms = SYSTEMCTL_MS };
	struct pep_proc_result res = { 0 };
	int rc = pep_proc_run(argv, &po, &res, err);

	if (rc)
		return rc;
	if (!res.exited || res.exit_code) {
		char line[256];

		snprintf(line, sizeof(line), "%s", res.err ? res.err : "");
		line[strcspn(line, "\n")] = '\0';
		rc = pep_err_set(err, -EIO, "%s %s: %s", argv[0], argv[1],
				 line[0] ? line : "failed");
	} else if (out) {
		*out = res.out;
		res.out = NULL;
	}
	pep_proc_result_free(&res);
	return rc;
}

/* A unit left from an engine that ended: gone, so the name is free. */
static void forget(const char *unit)
{
	const char *stop[] = { "systemctl", "stop", unit, NULL };
	const char *reset[] = { "systemctl", "reset-failed", unit, NULL };

	systemctl(stop, NULL, NULL);
	systemctl(reset, NULL, NULL);
}

int coh__unit_start(const char *model, const struct coh__launch *l,
		    const char *log_path, pid_t *pid, struct pep_err *err)
{
	char unit[COH_ENGINE_NAME_MAX + 32], o_unit[COH_ENGINE_NAME_MAX + 48];
	char o_cwd[PATH_MAX + 32], o_out[PATH_MAX + 48], o_err[PATH_MAX + 48];
	char o_mem[64], o_uid[32], o_gid[32];
	const char *v[UNIT_ARGS_MAX];
	const char *show[] = { "systemctl", "show", "-p", "MainPID", "--value", unit, NULL };
	char *text = NULL;
	size_t n = 0;
	long main_pid;
	int rc;

	coh__unit_name(model, unit, sizeof(unit));
	forget(unit);
	snprintf(o_unit, sizeof(o_unit), "--unit=%s", unit);
	snprintf(o_cwd, sizeof(o_cwd), "--property=WorkingDirectory=%s", l->root);
	snprintf(o_out, sizeof(o_out), "--property=StandardOutput=append:%s", log_path);
	snprintf(o_err, sizeof(o_err), "--property=StandardError=append:%s", log_path);
	v[n++] = "systemd-run";
	v[n++] = o_unit;
	v[n++] = "--service-type=exec";
	v[n++] = "--quiet";
	/* The whole group goes with the main process, as our own engines'. */
	v[n++] = "--property=KillMode=control-group";
	v[n++] = o_cwd;
	v[n++] = o_out;
	v[n++] = o_err;
	if (l->spec->memory_max_bytes) {
		snprintf(o_mem, sizeof(o_mem), "--property=MemoryMax=%llu",
			 (unsigned long long)l->spec->memory_max_bytes);
		v[n++] = o_mem;
	}
	if (l->uid != geteuid()) {
		snprintf(o_uid, sizeof(o_uid), "--uid=%u", (unsigned int)l->uid);
		snprintf(o_gid, sizeof(o_gid), "--gid=%u", (unsigned int)l->gid);
		v[n++] = o_uid;
		v[n++] = o_gid;
	}
	v[n++] = "--";
	for (size_t i = 0; i < l->spec->argc && n + 1 < UNIT_ARGS_MAX; i++)
		v[n++] = l->spec->argv[i];
	v[n] = NULL;
	rc = systemctl(v, NULL, err);
	if (!rc)
		rc = systemctl(show, &text, err);
	if (rc) {
		free(text);
		return rc;
	}
	main_pid = strtol(text ? text : "0", NULL, 10);
	free(text);
	if (main_pid <= 0) {
		forget(unit);
		return pep_err_set(err, -ESRCH, "%s: no main process after systemd-run", unit);
	}
	*pid = (pid_t)main_pid;
	return 0;
}

void coh__unit_result(const char *model, char *out, size_t size)
{
	char unit[COH_ENGINE_NAME_MAX + 32];
	const char *show[] = { "systemctl", "show", "-p", "Result", "-p", "ExecMainStatus",
			       "-p", "MemoryMax", unit, NULL };
	char *text = NULL, result[64] = "", status[32] = "", max[32] = "";

	coh__unit_name(model, unit, sizeof(unit));
	out[0] = '\0';
	if (systemctl(show, &text, NULL) || !text) {
		free(text);
		return;
	}
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "Result=", 7))
			snprintf(result, sizeof(result), "%s", line + 7);
		else if (!strncmp(line, "ExecMainStatus=", 15))
			snprintf(status, sizeof(status), "%s", line + 15);
		else if (!strncmp(line, "MemoryMax=", 10))
			snprintf(max, sizeof(max), "%s", line + 10);
	}
	free(text);
	/* cgroup v2 tells an OOM kill apart ("oom-kill"); v1 only a SIGKILL. */
	if (!strcmp(result, "oom-kill"))
		snprintf(out, size, "over its memory budget: %s killed by systemd (MemoryMax=%s)",
			 unit, max);
	else if (!strcmp(result, "signal"))
		snprintf(out, size, "%s: killed by signal %s (MemoryMax=%s)", unit, status, max);
	else if (!strcmp(result, "exit-code"))
		snprintf(out, size, "%s: exited with status %s", unit, status);
	else if (result[0] && strcmp(result, "success"))
		snprintf(out, size, "%s: %s, status %s", unit, result, status);
}

void coh__unit_forget(const char *model)
{
	char unit[COH_ENGINE_NAME_MAX + 32];

	coh__unit_name(model, unit, sizeof(unit));
	forget(unit);
}
