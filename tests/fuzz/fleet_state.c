/*
 * libFuzzer target for what a device says of itself: the state JSON
 * `cohete engine state` sends back over ssh, which `cohete deploy
 * --check` compares with the file (coh_fleet_drift). A device is not
 * trusted: any bytes must give a count and printable reports, never a
 * crash or a read out of bounds. The fleet is fixed (two devices, two
 * models, one with a power mode); the input is the first device's state.
 * Built by scripts/fuzz.sh, replayed over its corpus by tests/fuzz/replay.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/config.h>
#include <cohete/fleet.h>

#include "model-shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fleet_yaml[] =
	"version: \"1.0\"\n"
	"fleet:\n"
	"  devices:\n"
	"    - {id: orin, host: 10.0.0.2, module: p3767-0005, memory_budget_mb: 6000,\n"
	"       power_mode: MAXN_SUPER}\n"
	"    - {id: nano, host: 10.0.0.3, module: p3448-0000, memory_budget_mb: 3000}\n"
	"models:\n"
	"  - {name: small, source: /srv/small.gguf, quantization: auto, devices: all}\n"
	"  - {name: other, source: /srv/other.gguf, quantization: Q4_0, devices: [orin]}\n";

static struct coh_config *cfg;
static struct coh_fleet_plan *plan;
static struct model shape;

static int source(const struct coh_config *c, size_t model,
		  struct coh_model_shape *out, char digest[COH_FLEET_SHA256_HEX],
		  void *arg, struct pep_err *err)
{
	(void)arg;
	(void)err;
	*out = shape.shape;
	pep_sha256_hex(c->models[model].source, strlen(c->models[model].source), digest);
	return 0;
}

static void setup(void)
{
	struct coh_fleet_plan_opts po = { .source = source };

	llama(&shape, 16, 2048, 8192, 32000, 32, 8, true);
	if (coh_config_load_string(fleet_yaml, sizeof(fleet_yaml) - 1, "/fuzz/cohete.yaml",
				   NULL, &cfg, NULL, NULL) < 0 ||
	    coh_fleet_plan(cfg, &po, &plan, NULL) < 0)
		abort();
}

static void check_report(const char *device, const char *model, const char *what,
			 void *arg)
{
	(void)arg;
	if (!device || !what)
		abort();
	for (const char *p = what; *p; p++)
		if (*p < ' ' || *p == 0x7f)
			abort();
	for (const char *p = model; p && *p; p++)
		if (*p < ' ' || *p == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (!cfg)
		setup();
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	coh_fleet_drift(cfg, plan, 0, text, NULL, check_report, NULL);
	free(text);
	return 0;
}
