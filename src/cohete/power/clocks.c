/*
 * jetson_clocks, run: --show, pin ("on") and unpin ("off") through the
 * real program, the way nvpmodel is driven in setmode.c: argv through
 * pep_proc_run() with a timeout, COHETE_SYSROOT for a captured tree, and
 * nothing trusted until read back. "on" refuses a device that is already
 * hot, stores the clocks first (clocks_store.c) and checks with --show
 * that they are pinned; "off" is a restore of that store. The --show
 * parser is clocks_show.c, the "pinned?" rule clocks_pinned.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pepita/proc.h>
#include <cohete/power.h>
#include <cohete/thermal.h>

#include "internal.h"
#include "clocks_priv.h"

#define DEFAULT_TIMEOUT_MS 20000
#define OUTPUT_MAX (256 * 1024)

static const char *program(const struct coh_clocks_opts *o)
{
	return o->program ? o->program : "jetson_clocks";
}

/* The first line of text that starts with "Error", or NULL. */
static const char *error_line(const char *text)
{
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, "Error", 5))
			return p;
	return NULL;
}

/* jetson_clocks reports most failures on stdout with exit status 0. */
static int run_failed(const struct coh_clocks_opts *o, const char *what,
		      const struct pep_proc_result *r, struct pep_err *err)
{
	const char *out = r->out ? r->out : "", *errs = r->err ? r->err : "";
	const char *e = error_line(out);

	if (strstr(out, "as a root user") || strstr(errs, "as a root user"))
		return pep_err_set(err, -EACCES, "%s%s: needs root (run it with sudo)",
				   program(o), what);
	if (r->timed_out)
		return pep_err_set(err, -EIO, "%s%s: no answer within %u ms",
				   program(o), what,
				   o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	if (!e)
		e = error_line(errs);
	if (e)
		return pep_err_set(err, -EIO, "%s%s: %.*s", program(o), what,
				   (int)strcspn(e, "\n"), e);
	if (!r->exited || r->exit_code != 0)
		return pep_err_set(err, -EIO, "%s%s: %s %d%s%.*s", program(o), what,
				   r->exited ? "exit" : "signal",
				   r->exited ? r->exit_code : r->signal_no,
				   *errs ? ": " : "", (int)strcspn(errs, "\n"), errs);
	return 0;
}

/*
 * Run the program with up to three arguments. On success r holds its
 * output (the caller frees it); on failure it is freed.
 */
int coh__clocks_run(const struct coh_sysroot *sr, const struct coh_clocks_opts *o,
		     const char *const *args, struct pep_proc_result *r,
		     struct pep_err *err)
{
	const char *argv[5] = { program(o) };
	struct pep_proc_opts popts = {
		.timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS,
		.max_output = OUTPUT_MAX,
	};
	char var[PATH_MAX + 32], what[32] = "";
	char **env = coh__child_env(sr, var, sizeof(var));
	int ret;

	if (!env)
		return pep_err_set(err, -ENOMEM, "%s: out of memory", program(o));
	for (size_t i = 0; i < 3 && args[i]; i++)
		argv[i + 1] = args[i];
	if (args[0])
		snprintf(what, sizeof(what), " %s", args[0]);
	popts.envp = (const char *const *)env;
	memset(r, 0, sizeof(*r));
	ret = pep_proc_run(argv, &popts, r, err);
	free(env);
	if (ret == -ENOENT)
		return pep_err_set(err, ret, "%s not found (not a Jetson, or L4T's "
				   "jetson_clocks is not installed)", program(o));
	if (ret == 0)
		ret = run_failed(o, what, r, err);
	if (ret < 0)
		pep_proc_result_free(r);
	return ret;
}

int coh_clocks_show(const struct coh_sysroot *sr,
		    const struct coh_clocks_opts *opts, struct coh_clocks *out,
		    struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	static const char *const args[] = { "--show", NULL };
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	struct pep_proc_result r;
	struct pep_err perr;
	int ret;

	coh__clocks_init(out);
	ret = coh__clocks_run(sr, o, args, &r, err);
	if (ret < 0)
		return ret;
	ret = coh_clocks_parse(r.out ? r.out : "", out, &perr);
	if (ret < 0)
		pep_err_set(err, ret, "%s --show: %s", program(o), perr.msg);
	pep_proc_result_free(&r);
	return ret;
}

/* The zone coh_thermal_guard_input() reads: tj, else the hottest measured one. */
static const struct coh_thermal_zone *input_zone(const struct coh_thermal *t)
{
	int64_t input = coh_thermal_guard_input(t);
	const struct coh_thermal_zone *found = NULL;

	for (unsigned int i = 0; i < t->count && input != COH_NA; i++) {
		const struct coh_thermal_zone *z = &t->zones[i];

		if (z->state != COH_ZONE_OK || z->temp_mc != input)
			continue;
		if (!strcmp(z->name, "tj"))
			return z;
		if (!found)
			found = z;
	}
	return found;
}

static int check_temp(const struct coh_sysroot *sr,
		      struct coh_clocks_on_result *out, struct pep_err *err)
{
	struct coh_thermal *t = malloc(sizeof(*t));
	const struct coh_thermal_zone *z;
	int ret = 0;

	if (!t)
		return pep_err_set(err, -ENOMEM, "jetson_clocks: out of memory");
	coh_thermal_read(sr, t, NULL);
	z = input_zone(t);
	if (!z) {
		ret = pep_err_set(err, -ECANCELED,
				  "no thermal zone gives a temperature, so whether the device "
				  "is already hot is unknown; not pinning the clocks "
				  "(force skips this)");
	} else {
		out->temp_mc = z->temp_mc;
		coh__strlcpy(out->zone, z->name, sizeof(out->zone));
		if (z->temp_mc >= out->limit_mc)
			ret = pep_err_set(err, -ECANCELED,
					  "%s is at %.1f °C, at or above the %.1f °C limit "
					  "for pinning the clocks: let it cool down first "
					  "(force skips this)",
					  z->name, z->temp_mc / 1000.0, out->limit_mc / 1000.0);
	}
	free(t);
	return ret;
}

static int verify_pinned(const struct coh_sysroot *sr,
			 const struct coh_clocks_opts *o, struct pep_err *err)
{
	struct coh_clocks *c = malloc(sizeof(*c));
	char why[200];
	int ret;

	if (!c)
		return pep_err_set(err, -ENOMEM, "jetson_clocks: out of memory");
	ret = coh_clocks_show(sr, o, c, err);
	if (ret == 0)
		ret = coh_clocks_pinned(c, why, sizeof(why));
	if (ret == -ENODATA)
		ret = pep_err_set(err, -EIO, "%s --show lists no CPU or GPU clock to verify",
				  program(o));
	else if (ret == 0)
		ret = pep_err_set(err, -EIO, "%s ran, but not pinned: %s", program(o), why);
	free(c);
	return ret < 0 ? ret : 0;
}

int coh_clocks_on(const struct coh_sysroot *sr,
		  const struct coh_clocks_opts *opts, const char *file,
		  struct coh_clocks_on_result *out, struct pep_err *err)
{
	static const struct coh_clocks_opts defaults;
	const struct coh_clocks_opts *o = opts ? opts : &defaults;
	const char *args[] = { o->fan ? "--fan" : NULL, NULL };
	struct coh_clocks_on_result local;
	struct coh_thermal_guard_policy policy;
	struct pep_proc_result r;
	int ret;

	if (!out)
		out = &local;
	memset(out, 0, sizeof(*out));
	out->temp_mc = COH_NA;
	out->limit_mc = o->max_temp_mc;
	if (!out->limit_mc) {
		ret = coh_thermal_guard_policy_named("conservative", &policy, err);
		if (ret < 0)
			return ret;
		out->limit_mc = policy.warning_mc;
	}
	ret = coh__clocks_own_store_file(o, file, out->store_file, sizeof(out->store_file), err);
	if (ret == 0 && !o->force)
		ret = check_temp(sr, out, err);
	if (ret == 0)
		ret = coh__clocks_state_dir_ready(o, 1, err);
	if (ret < 0)
		return ret;
	if (access(out->store_file, F_OK) != 0) {
		if (errno != ENOENT)
			return pep_err_errno(err, "store file %s", out->store_file);
		ret = coh_clocks_store(sr, o, NULL, err);
		if (ret < 0)
			return ret;
		out->stored = 1;
	}
	ret = coh__clocks_run(sr, o, args, &r, err);
	if (ret < 0)
		return ret;
	pep_proc_result_free(&r);
	return verify_pinned(sr, o, err);
}

int coh_clocks_off(const struct coh_sysroot *sr,
		   const struct coh_clocks_opts *opts, const char *file,
		   struct pep_err *err)
{
	return coh_clocks_restore(sr, opts, file, err);
}
