/*
 * state.c - ROOT/engines/<model>/state.json: what the supervisor knows of
 * a model's engine, for people, for `cohete deploy` over ssh, and for the
 * next agent (which adopts the engine a crashed one left running: the
 * file names its pid and the process's start time, so a reused pid is
 * never mistaken for it).
 *
 * Written by rename of a temporary file, without fsync: after a power cut
 * no engine runs, and the file is only a view.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include <cohete/engine.h>

#include "internal.h"
#include "engine_priv.h"

static const char *const run_names[] = {
	[COH_ENGINE_STOPPED] = "stopped",
	[COH_ENGINE_STARTING] = "starting",
	[COH_ENGINE_READY] = "ready",
	[COH_ENGINE_FAILED] = "failed",
	[COH_ENGINE_PAUSED] = "paused",
};

const char *coh_engine_run_name(enum coh_engine_run r)
{
	return (unsigned int)r < ARRAY_SIZE(run_names) ? run_names[r] : "unknown";
}

static int run_from_name(const char *name, enum coh_engine_run *r)
{
	for (size_t i = 0; i < ARRAY_SIZE(run_names); i++)
		if (!strcmp(name, run_names[i])) {
			*r = (enum coh_engine_run)i;
			return 0;
		}
	return -EINVAL;
}

/* "2026-07-25T09:08:28.042Z" -> unix seconds; -1 when it is not one. */
static int64_t parse_rfc3339(const char *s)
{
	struct tm tm = { 0 };
	int ms, n = 0;

	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &n) != 7 ||
	    s[n] || tm.tm_mon < 1 || tm.tm_mon > 12)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

int coh__engine_state_write(const char *root, const struct coh__engine_record *r,
			    struct pep_err *err)
{
	const struct coh_engine_state *st = &r->st;
	char dir[PATH_MAX], now[PEP_RFC3339_SIZE], since[PEP_RFC3339_SIZE], *text;
	json_t *o;
	int ret = coh__engine_path(dir, sizeof(dir), root, st->model, NULL, err);

	if (ret < 0)
		return ret;
	pep_time_rfc3339(pep_time_real_ms(), now, sizeof(now));
	pep_time_rfc3339(st->since * 1000, since, sizeof(since));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:I, s:s, s:I}",
		      "schema", COH_ENGINE_STATE_SCHEMA, "timestamp", now, "model", st->model,
		      "version", st->version, "which", st->which,
		      "state", coh_engine_run_name(st->run), "pid", st->pid,
		      "port", (json_int_t)st->port, "restart_count", (json_int_t)st->restarts,
		      "since", since, "rss_bytes", (json_int_t)st->rss_bytes,
		      "reason", st->reason, "start_ticks", (json_int_t)r->start_ticks);
	text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!text)
		return pep_err_set(err, -ENOMEM, "engine %s: out of memory", st->model);
	ret = coh__engine_write_atomic(dir, "state.json", text, strlen(text), 0, err);
	free(text);
	return ret;
}

/* A string field into a fixed buffer; the whole value must fit. */
static int copy_field(json_t *o, const char *key, char *buf, size_t size)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (!s || strlen(s) >= size)
		return -EINVAL;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

static int int_field(json_t *o, const char *key, json_int_t lo, json_int_t hi,
		     json_int_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return -EINVAL;
	*out = json_integer_value(v);
	return 0;
}

/* The state's strings and numbers; *bad names the first that is wrong. */
static int fill_strings(json_t *o, struct coh_engine_state *st, const char **bad)
{
	char text[PEP_RFC3339_SIZE];

	if (copy_field(o, "schema", text, sizeof(text)) < 0 ||
	    strcmp(text, COH_ENGINE_STATE_SCHEMA))
		*bad = "schema";
	else if (copy_field(o, "model", st->model, sizeof(st->model)) < 0)
		*bad = "model";
	else if (copy_field(o, "version", st->version, sizeof(st->version)) < 0)
		*bad = "version";
	else if (copy_field(o, "which", st->which, sizeof(st->which)) < 0)
		*bad = "which";
	else if (copy_field(o, "state", text, sizeof(text)) < 0 ||
		 run_from_name(text, &st->run) < 0)
		*bad = "state";
	else if (copy_field(o, "since", text, sizeof(text)) < 0 ||
		 (st->since = parse_rfc3339(text)) < 0)
		*bad = "since";
	else if (copy_field(o, "reason", st->reason, sizeof(st->reason)) < 0)
		*bad = "reason";
	return *bad ? -EINVAL : 0;
}

static int fill(json_t *o, struct coh__engine_record *r, const char **bad)
{
	struct coh_engine_state *st = &r->st;
	json_int_t pid, port, restarts, rss, ticks;

	if (fill_strings(o, st, bad) < 0)
		return -EINVAL;
	if (int_field(o, "pid", 0, INT32_MAX, &pid) < 0)
		*bad = "pid";
	else if (int_field(o, "port", 0, 65535, &port) < 0)
		*bad = "port";
	else if (int_field(o, "restart_count", 0, UINT32_MAX, &restarts) < 0)
		*bad = "restart_count";
	else if (int_field(o, "rss_bytes", 0, INT64_MAX, &rss) < 0)
		*bad = "rss_bytes";
	else if (int_field(o, "start_ticks", 0, INT64_MAX, &ticks) < 0)
		*bad = "start_ticks";
	if (*bad)
		return -EINVAL;
	st->pid = (int)pid;
	st->port = (uint32_t)port;
	st->restarts = (unsigned int)restarts;
	st->rss_bytes = (uint64_t)rss;
	r->start_ticks = (unsigned long long)ticks;
	return 0;
}

int coh__engine_state_load(const char *root, const char *model,
			   struct coh__engine_record *r, struct pep_err *err)
{
	char path[PATH_MAX];
	const char *bad = NULL;
	json_error_t jerr;
	struct stat sb;
	json_t *o;
	int ret;

	memset(r, 0, sizeof(*r));
	if (!root || !coh_engine_name_ok(model, COH_ENGINE_NAME_MAX))
		return pep_err_set(err, -EINVAL, "engines: \"%.80s\" is not a model name",
				   model ? model : "(null)");
	ret = coh__engine_path(path, sizeof(path), root, model, "state.json", err);
	if (ret < 0)
		return ret;
	if (stat(path, &sb) < 0)
		return pep_err_errno(err, "%s", path);
	if (!S_ISREG(sb.st_mode) || sb.st_size > COH_ENGINE_SPEC_MAX)
		return pep_err_set(err, -EINVAL, "%s: not a state file", path);
	o = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return pep_err_set(err, -EINVAL, "%s: line %d: %s", path, jerr.line, jerr.text);
	ret = json_is_object(o) ? fill(o, r, &bad) : -EINVAL;
	json_decref(o);
	if (ret < 0)
		return pep_err_set(err, ret, "%s: \"%s\" is missing or wrong", path,
				   bad ? bad : "(not an object)");
	if (strcmp(r->st.model, model))
		return pep_err_set(err, -EINVAL, "%s: model \"%s\" in the directory of \"%s\"",
				   path, r->st.model, model);
	return 0;
}

int coh_engine_state_read(const char *root, const char *model, struct coh_engine_state *st,
			  struct pep_err *err)
{
	struct coh__engine_record r;
	int ret = coh__engine_state_load(root, model, &r, err);

	if (ret == 0)
		*st = r.st;
	return ret;
}
