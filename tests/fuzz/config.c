/*
 * libFuzzer target for the cohete.yaml loader: coh_config_load_string()
 * over the input (includes refused, a fixed environment), and when it
 * loads, the YAML and JSON writers and a reload of the YAML, which must
 * load again and show the same (show -> load -> show is a fixed point). Diagnostics are formatted,
 * so ASan sees every string they hold.
 * Built by scripts/fuzz.sh with clang; replayed over corpus/config/ by
 * tests/fuzz/replay.c everywhere.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/config.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_env(const char *name, void *arg)
{
	(void)arg;
	if (!strcmp(name, "HOME"))
		return "/home/fuzz";
	return !strcmp(name, "HOST") ? "10.0.0.1" : NULL;
}

static void format_all(const struct coh_config_diags *d)
{
	char line[256];

	for (size_t i = 0; i < d->count; i++)
		coh_config_diag_format(&d->v[i], line, sizeof(line));
}

static char *emit(const struct coh_config *cfg, int json, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	if ((json ? coh_config_emit_json(cfg, f, NULL) :
		    coh_config_emit_yaml(cfg, f, NULL)) < 0) {
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct coh_config_load_opts opts = {
		.getenv = fuzz_env, .flags = COH_CONFIG_LOAD_NO_INCLUDES,
	};
	struct coh_config_diags d = { 0 };
	struct coh_config *cfg = NULL, *again = NULL;
	char *yaml, *json;
	size_t len, jlen;

	coh_config_load_string((const char *)data, size, "fuzz.yaml", &opts, &cfg,
			       &d, NULL);
	format_all(&d);
	coh_config_diags_free(&d);
	if (!cfg)
		return 0;
	yaml = emit(cfg, 0, &len);
	json = emit(cfg, 1, &jlen);
	if (yaml) {
		char *yaml2;
		size_t len2;

		if (coh_config_load_string(yaml, len, "fuzz.yaml", &opts, &again,
					   &d, NULL) < 0)
			abort();	/* what show wrote must load back */
		coh_config_diags_free(&d);
		/* ... to the same configuration: show -> load -> show. */
		yaml2 = emit(again, 0, &len2);
		if (yaml2 && (len2 != len || memcmp(yaml, yaml2, len)))
			abort();
		free(yaml2);
		coh_config_free(again);
	}
	free(yaml);
	free(json);
	coh_config_free(cfg);
	return 0;
}
