/*
 * pepita info: the library version, the architecture it was built for, the
 * CPU features it detected there, the SIMD tier the kernels run on and the
 * number of online CPUs. Only features of the build architecture are
 * listed: the others cannot exist here.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <pepita/core.h>
#include <pepita/simd.h>

#include "cmd.h"

static void info_usage(FILE *out)
{
	fprintf(out, "usage: pepita info [--json]\n\n"
		"Show the pepita version, the CPU architecture, the CPU\n"
		"features pepita can use here, the SIMD tier its kernels run on\n"
		"(PEPITA_SIMD forces one) and the number of online CPUs.\n\n"
		"   --json     print one JSON document instead of text\n"
		"   -h, --help show this help\n");
}

static bool feature_native(enum pep_cpu_feature f)
{
	const char *arch = pep_cpu_feature_arch(f);

	return arch && !strcmp(arch, pep_cpu_arch());
}

/* "0.1.0" from pep_version()'s documented "pepita 0.1.0". */
static const char *version_number(void)
{
	const char *v = pep_version();
	const char *space = strchr(v, ' ');

	return space ? space + 1 : v;
}

/*
 * The tier the kernels run on and why: the best here, or the one
 * PEPITA_SIMD forces; a forced tier this CPU lacks is refused (the kernels
 * would abort), and the reason shown.
 */
static void print_simd_tier(void)
{
	const char *best = pep_simd_isa_name(pep_simd_best());
	const char *env = getenv("PEPITA_SIMD");
	struct pep_err err;

	pep_err_clear(&err);
	if (pep_simd_init(&err) < 0)
		printf("simd tier:    none: %s (the best here: %s)\n", err.msg, best);
	else if (env && *env)
		printf("simd tier:    %s (forced by PEPITA_SIMD; the best here: %s)\n",
		       pep_simd_isa_name(pep_simd_active()), best);
	else
		printf("simd tier:    %s (the best here)\n",
		       pep_simd_isa_name(pep_simd_active()));
}

static int print_text(long online_cpus)
{
	int f;

	printf("version:      %s\n", pep_version());
	printf("architecture: %s\n", pep_cpu_arch());
	printf("cpu features:\n");
	for (f = 0; f < PEP_CPU_FEATURE_COUNT; f++) {
		if (!feature_native(f))
			continue;
		printf("   %-12s %s\n", pep_cpu_feature_name(f),
		       pep_cpu_has(f) ? "yes" : "no");
	}
	print_simd_tier();
	if (online_cpus > 0)
		printf("online cpus:  %ld\n", online_cpus);
	else
		printf("online cpus:  unknown\n");
	return CMD_EXIT_OK;
}

static json_t *features_json(void)
{
	json_t *obj = json_object();
	int f;

	if (!obj)
		return NULL;
	for (f = 0; f < PEP_CPU_FEATURE_COUNT; f++) {
		if (!feature_native(f))
			continue;
		if (json_object_set_new(obj, pep_cpu_feature_name(f),
					json_boolean(pep_cpu_has(f)))) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

static int print_json(long online_cpus)
{
	json_t *doc;
	char *text;

	/* "o" steals the references, also when json_pack fails. */
	doc = json_pack("{s:s, s:s, s:o, s:o}",
			"version", version_number(),
			"arch", pep_cpu_arch(),
			"cpu_features", features_json(),
			"online_cpus", online_cpus > 0 ?
				json_integer(online_cpus) : json_null());
	if (!doc)
		goto err;
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		goto err;
	puts(text);
	free(text);
	return CMD_EXIT_OK;
err:
	cli_error("cannot build JSON: out of memory");
	return CMD_EXIT_FAIL;
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	long online_cpus;
	int c;

	optind = 1;
	while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
		if (c == 'h') {
			info_usage(stdout);
			return CMD_EXIT_OK;
		}
		if (c == '?')
			return CMD_EXIT_USAGE;
		json = true;
	}
	if (optind < argc) {
		cli_error("unknown argument '%s'", argv[optind]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	/* -1 when the kernel cannot say; shown as unknown / null. */
	online_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return json ? print_json(online_cpus) : print_text(online_cpus);
}
