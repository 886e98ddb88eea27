/*
 * spec.c - an engine spec: parse (strict, jansson), print, and the version
 * name derived from it.
 *
 * Specs arrive from the machine that deploys, over ssh, and the agent runs
 * their command lines, often as root: every field is checked for type and
 * range, names that become file names are safe ones, and the error names
 * the field. The version hashes the printed spec without its deadline, so
 * the same command line always has the same version, whoever printed it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <cohete/engine.h>

#include "internal.h"
#include "engine_priv.h"

#define LEVEL_MAX	32
#define HOST_MAX	254

int coh_engine_name_ok(const char *name, size_t size)
{
	size_t len;

	if (!name)
		return 0;
	len = strnlen(name, size);
	if (len == 0 || len >= size || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789._-") == len;
}

void coh_engine_spec_free(struct coh_engine_spec *s)
{
	if (!s)
		return;
	free(s->model);
	free(s->artifact);
	free(s->sha256);
	free(s->level);
	free(s->host);
	for (size_t i = 0; s->argv && i < s->argc; i++)
		free(s->argv[i]);
	free(s->argv);
	free(s);
}

/* A string without NUL bytes, or NULL. */
static const char *plain_string(json_t *v)
{
	const char *s = json_string_value(v);

	return s && strlen(s) == json_string_length(v) ? s : NULL;
}

static int bad(struct pep_err *err, const char *key, const char *why)
{
	return pep_err_set(err, -EINVAL, "spec: \"%s\": %s", key, why);
}

/* A required string field, checked by ok (NULL: any non-empty text). */
static int take_string(json_t *o, const char *key, int (*ok)(const char *),
		       const char *want, char **out, struct pep_err *err)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (!v)
		return pep_err_set(err, -EINVAL, "spec: no \"%s\"", key);
	s = plain_string(v);
	if (!s)
		return bad(err, key, "not a string (or holds a NUL)");
	if (!*s || (ok && !ok(s)))
		return pep_err_set(err, -EINVAL, "spec: \"%s\": \"%.80s\" is not %s", key, s,
				   want);
	*out = strdup(s);
	return *out ? 0 : pep_err_set(err, -ENOMEM, "spec: out of memory");
}

/* Not hidden either: the supervisor skips dot files under engines/. */
static int model_ok(const char *s)
{
	return s[0] != '.' && coh_engine_name_ok(s, COH_ENGINE_NAME_MAX);
}

/* The version ("<stem>-<8 hex>") must fit COH_ENGINE_VERSION_MAX too. */
static int artifact_ok(const char *s)
{
	const char *dot = strrchr(s, '.');
	size_t stem = dot && dot != s ? (size_t)(dot - s) : strlen(s);

	return coh_engine_name_ok(s, COH_ENGINE_ARTIFACT_MAX) &&
	       stem + 9 < COH_ENGINE_VERSION_MAX;
}

static int sha256_ok(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static int level_ok(const char *s)
{
	return strlen(s) < LEVEL_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_") == strlen(s);
}

/* A host name or a numeric address, nothing a URL would read otherwise. */
static int host_ok(const char *s)
{
	return strlen(s) < HOST_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789.:-") == strlen(s);
}

/* An integer field in lo..hi; absent is dflt when optional. */
static int take_int(json_t *o, const char *key, int optional, json_int_t lo,
		    json_int_t hi, json_int_t *out, struct pep_err *err)
{
	json_t *v = json_object_get(o, key);
	json_int_t n;

	if (!v && optional) {
		*out = 0;
		return 0;
	}
	if (!v)
		return pep_err_set(err, -EINVAL, "spec: no \"%s\"", key);
	if (!json_is_integer(v))
		return bad(err, key, "not an integer");
	n = json_integer_value(v);
	if (n < lo || n > hi)
		return pep_err_set(err, -EINVAL, "spec: \"%s\": %lld is not %lld..%lld", key,
				   (long long)n, (long long)lo, (long long)hi);
	*out = n;
	return 0;
}

/* argv[0]: a program name looked up in PATH, or an absolute path. */
static int check_word(json_t *v, size_t i, struct pep_err *err)
{
	const char *s = plain_string(v);

	if (!s)
		return pep_err_set(err, -EINVAL, "spec: \"argv\"[%zu]: not a string (or holds "
				   "a NUL)", i);
	if (strlen(s) >= COH_ENGINE_ARG_MAX)
		return pep_err_set(err, -EINVAL, "spec: \"argv\"[%zu]: %zu bytes, at most %d",
				   i, strlen(s), COH_ENGINE_ARG_MAX - 1);
	if (i == 0 && (!*s || (s[0] != '/' && strchr(s, '/'))))
		return pep_err_set(err, -EINVAL, "spec: \"argv\"[0]: \"%.80s\" is not a program "
				   "name or an absolute path", s);
	return 0;
}

static int take_argv(json_t *o, struct coh_engine_spec *s, struct pep_err *err)
{
	json_t *a = json_object_get(o, "argv");
	size_t n;
	int ret;

	if (!a)
		return pep_err_set(err, -EINVAL, "spec: no \"argv\"");
	if (!json_is_array(a))
		return bad(err, "argv", "not an array of strings");
	n = json_array_size(a);
	if (n == 0 || n > COH_ENGINE_ARGV_MAX)
		return pep_err_set(err, -EINVAL, "spec: \"argv\": %zu words, want 1..%d", n,
				   COH_ENGINE_ARGV_MAX);
	s->argv = calloc(n + 1, sizeof(*s->argv));
	if (!s->argv)
		return pep_err_set(err, -ENOMEM, "spec: out of memory");
	for (size_t i = 0; i < n; i++) {
		ret = check_word(json_array_get(a, i), i, err);
		if (ret < 0)
			return ret;
		s->argv[i] = strdup(json_string_value(json_array_get(a, i)));
		if (!s->argv[i])
			return pep_err_set(err, -ENOMEM, "spec: out of memory");
		s->argc = i + 1;
	}
	return 0;
}

static int take_schema(json_t *o, struct pep_err *err)
{
	json_t *v = json_object_get(o, "schema");
	const char *s;

	if (!v)
		return pep_err_set(err, -EINVAL, "spec: no \"schema\" (want \"%s\")",
				   COH_ENGINE_SCHEMA);
	s = plain_string(v);
	if (!s || strcmp(s, COH_ENGINE_SCHEMA))
		return pep_err_set(err, -EINVAL, "spec: \"schema\": %s%.80s%s is not \"%s\"",
				   s ? "\"" : "", s ? s : "not a string", s ? "\"" : "",
				   COH_ENGINE_SCHEMA);
	return 0;
}

static int take_all(json_t *o, struct coh_engine_spec *s, struct pep_err *err)
{
	json_int_t port, mem, deadline;
	int ret;

	if ((ret = take_schema(o, err)) < 0 ||
	    (ret = take_string(o, "model", model_ok, "a safe name ([A-Za-z0-9._-], "
			       "not starting with '.', under 64 bytes)", &s->model, err)) < 0 ||
	    (ret = take_string(o, "artifact", artifact_ok, "a safe file name ([A-Za-z0-9._-], "
			       "a stem under 119 bytes)", &s->artifact, err)) < 0 ||
	    (ret = take_string(o, "sha256", sha256_ok, "64 lower-case hex digits",
			       &s->sha256, err)) < 0 ||
	    (ret = take_string(o, "level", level_ok, "a level name like Q4_K_M",
			       &s->level, err)) < 0 ||
	    (ret = take_string(o, "host", host_ok, "a host name or numeric address",
			       &s->host, err)) < 0 ||
	    (ret = take_int(o, "port", 0, 1, 65535, &port, err)) < 0 ||
	    (ret = take_argv(o, s, err)) < 0 ||
	    (ret = take_int(o, "memory_max_bytes", 1, 0, INT64_MAX, &mem, err)) < 0 ||
	    (ret = take_int(o, "deadline", 1, 0, INT64_MAX, &deadline, err)) < 0)
		return ret;
	s->port = (uint32_t)port;
	s->memory_max_bytes = (uint64_t)mem;
	s->deadline = (int64_t)deadline;
	return 0;
}

int coh_engine_spec_parse(const char *json, size_t len, struct coh_engine_spec **out,
			  struct pep_err *err)
{
	struct coh_engine_spec *s;
	json_error_t jerr;
	json_t *o;
	int ret;

	*out = NULL;
	if (len > COH_ENGINE_SPEC_MAX)
		return pep_err_set(err, -EINVAL, "spec: %zu bytes, at most %d", len,
				   COH_ENGINE_SPEC_MAX);
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return pep_err_set(err, -EINVAL, "spec: line %d column %d: %s", jerr.line,
				   jerr.column, jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return pep_err_set(err, -EINVAL, "spec: not a JSON object");
	}
	s = calloc(1, sizeof(*s));
	ret = s ? take_all(o, s, err) : pep_err_set(err, -ENOMEM, "spec: out of memory");
	json_decref(o);
	if (ret < 0) {
		coh_engine_spec_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

static json_t *argv_json(const struct coh_engine_spec *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->argc; i++)
		if (json_array_append_new(a, json_string(s->argv[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

char *coh_engine_spec_json(const struct coh_engine_spec *s)
{
	json_t *o, *argv = argv_json(s);
	char *text, *out;
	size_t len;

	if (!argv)
		return NULL;
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:I}",
		      "schema", COH_ENGINE_SCHEMA, "model", s->model, "artifact", s->artifact,
		      "sha256", s->sha256, "level", s->level, "host", s->host,
		      "port", (json_int_t)s->port, "argv", argv,
		      "memory_max_bytes", (json_int_t)s->memory_max_bytes);
	if (o && s->deadline &&
	    json_object_set_new(o, "deadline", json_integer((json_int_t)s->deadline)) < 0) {
		json_decref(o);
		return NULL;
	}
	text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!text)
		return NULL;
	len = strlen(text);
	out = realloc(text, len + 2);
	if (!out) {
		free(text);
		return NULL;
	}
	memcpy(out + len, "\n", 2);
	return out;
}

int coh_engine_spec_version(const struct coh_engine_spec *s, char *version, size_t size)
{
	struct coh_engine_spec bare = *s;
	char hex[PEP_SHA256_HEX], *text;
	const char *dot = strrchr(s->artifact, '.');
	int stem = dot && dot != s->artifact ? (int)(dot - s->artifact) :
		   (int)strlen(s->artifact);
	int n;

	bare.deadline = 0;
	text = coh_engine_spec_json(&bare);
	if (!text)
		return -ENOMEM;
	pep_sha256_hex(text, strlen(text), hex);
	free(text);
	n = snprintf(version, size, "%.*s-%.8s", stem, s->artifact, hex);
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}
