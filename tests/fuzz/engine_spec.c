/*
 * libFuzzer target for engine specs (coh_engine_spec_parse), which reach
 * the device over ssh and name the program the agent runs. A refused spec
 * must be -EINVAL with a reason and nothing handed back; an accepted one
 * must hold only safe names (model, artifact), a port in 1..65535, an
 * argv of argc words ending in NULL whose first word is a program name or
 * an absolute path, and must print to JSON that parses back and prints
 * the same (print -> parse -> print is a fixed point), with a version
 * that is a safe name. Built by scripts/fuzz.sh, replayed over its corpus
 * by tests/fuzz/replay.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/engine.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_accepted(const struct coh_engine_spec *s)
{
	char version[COH_ENGINE_VERSION_MAX];

	if (!coh_engine_name_ok(s->model, COH_ENGINE_NAME_MAX) || s->model[0] == '.' ||
	    !coh_engine_name_ok(s->artifact, COH_ENGINE_ARTIFACT_MAX) ||
	    s->port < 1 || s->port > 65535 || s->argc < 1 ||
	    s->argc > COH_ENGINE_ARGV_MAX || s->argv[s->argc] || !s->argv[0][0] ||
	    (s->argv[0][0] != '/' && strchr(s->argv[0], '/')) || strlen(s->sha256) != 64)
		abort();
	for (size_t i = 0; i < s->argc; i++)
		if (!s->argv[i])
			abort();
	if (coh_engine_spec_version(s, version, sizeof(version)) < 0 ||
	    !coh_engine_name_ok(version, sizeof(version)))
		abort();
}

static void round_trip(const struct coh_engine_spec *s)
{
	struct coh_engine_spec *back = NULL;
	char *text = coh_engine_spec_json(s), *again;
	struct pep_err err;

	if (!text)
		return;			/* out of memory */
	if (coh_engine_spec_parse(text, strlen(text), &back, &err) < 0)
		abort();
	again = coh_engine_spec_json(back);
	if (again && strcmp(text, again))
		abort();
	free(again);
	free(text);
	coh_engine_spec_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct coh_engine_spec *s = (struct coh_engine_spec *)1;
	struct pep_err err = { 0 };
	int ret = coh_engine_spec_parse((const char *)data, size, &s, &err);

	if (ret < 0) {
		if ((ret != -EINVAL && ret != -ENOMEM) || s || !err.msg[0])
			abort();
		return 0;
	}
	check_accepted(s);
	round_trip(s);
	coh_engine_spec_free(s);
	return 0;
}
