/*
 * Changing the power mode. nvpmodel does the work (it knows every knob of
 * every module); we decide whether the change is allowed, run it with a
 * timeout (nvpmodel can hang under load), and trust nothing until the
 * status file says the new mode.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pepita/proc.h>
#include <cohete/power.h>

#include "internal.h"

#define DEFAULT_TIMEOUT_MS 15000


/* The first "NVPM ERROR" line, or the exit status. */
static int run_failed(const struct pep_proc_result *r, struct pep_err *err)
{
	const char *e = r->out ? strstr(r->out, "NVPM ERROR") : NULL;

	if (!e && r->err)
		e = strstr(r->err, "NVPM ERROR");
	if (e)
		return pep_err_set(err, -EIO, "nvpmodel: %.*s",
				   (int)strcspn(e, "\n"), e);
	if (r->timed_out)
		return pep_err_set(err, -EIO, "nvpmodel: no answer within the timeout");
	if (!r->exited || r->exit_code != 0)
		return pep_err_set(err, -EIO, "nvpmodel: exit %d%s%.*s", r->exit_code,
				   r->err_len ? ": " : "",
				   (int)strcspn(r->err ? r->err : "", "\n"),
				   r->err ? r->err : "");
	return 0;
}

static int run_nvpmodel(const struct coh_sysroot *sr,
			const struct coh_power_set_opts *o, int64_t id,
			struct pep_err *err)
{
	char idbuf[24], var[4200];
	const char *argv[] = { o->nvpmodel ? o->nvpmodel : "nvpmodel", "-m",
			       idbuf, NULL };
	const char *answer = o->reboot_ok ? "YES\n" : "no\n";
	struct pep_proc_opts popts = {
		.stdin_data = answer, .stdin_len = strlen(answer),
		.timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS,
		.max_output = 64 * 1024,
	};
	struct pep_proc_result r;
	char **env = coh__child_env(sr, var, sizeof(var));
	int ret;

	if (!env)
		return pep_err_set(err, -ENOMEM, "nvpmodel: out of memory");
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	popts.envp = (const char *const *)env;
	ret = pep_proc_run(argv, &popts, &r, err);
	if (ret == 0)
		ret = run_failed(&r, err);
	pep_proc_result_free(&r);
	free(env);
	return ret;
}

static int check_allowed(const struct coh_nvpmodel_conf *c,
			 const struct coh_power_set_opts *o,
			 struct coh_power_change *out, struct pep_err *err)
{
	char why[200];
	int reboot;

	if (out->from_id == COH_NA)
		return 0;
	reboot = coh_nvpmodel_needs_reboot(c, out->from_id, out->to_id, why,
					   sizeof(why));
	if (reboot <= 0)
		return 0;
	out->reboot_required = 1;
	if (!o->reboot_ok)
		return pep_err_set(err, -ECANCELED,
				   "mode %lld -> %lld needs a reboot (%s); allow it with --reboot-ok",
				   (long long)out->from_id, (long long)out->to_id, why);
	return 0;
}

int coh_power_set_mode(const struct coh_sysroot *sr,
		       const struct coh_power_set_opts *opts, int64_t id,
		       struct coh_power_change *out, struct pep_err *err)
{
	static const struct coh_power_set_opts defaults;
	const struct coh_power_set_opts *o = opts ? opts : &defaults;
	const struct coh_nvpmodel_mode *mode;
	struct coh_nvpmodel_conf *c;
	struct coh_power_mode now;
	int ret;

	memset(out, 0, sizeof(*out));
	out->to_id = id;
	ret = coh_nvpmodel_conf_load(sr, &c, err);
	if (ret < 0)
		return ret;
	mode = coh_nvpmodel_conf_mode(c, id);
	if (!mode) {
		coh_nvpmodel_conf_free(c);
		return pep_err_set(err, -ENOENT, "power mode %lld: not in /etc/nvpmodel.conf",
				   (long long)id);
	}
	coh__strlcpy(out->to_name, mode->name, sizeof(out->to_name));
	coh_power_mode_read(sr, &now, NULL);
	out->from_id = now.id;
	if (now.id == id) {
		coh_nvpmodel_conf_free(c);
		return 0;
	}
	ret = check_allowed(c, o, out, err);
	coh_nvpmodel_conf_free(c);
	if (ret == 0)
		ret = run_nvpmodel(sr, o, id, err);
	if (ret < 0)
		return ret;
	coh_power_mode_read(sr, &now, NULL);
	if (now.id != id)
		return pep_err_set(err, -EIO,
				   "nvpmodel -m %lld succeeded but the status file says mode %lld",
				   (long long)id, (long long)now.id);
	out->changed = 1;
	return 0;
}
