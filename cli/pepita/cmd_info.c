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
#include "json_doc.h"

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
 * would run on the best tier instead), and the reason kept. Shared by the
 * text and the JSON.
 */
struct simd_choice {
	const char *tier;	/* NULL when PEPITA_SIMD was refused */
	const char *best;
	const char *forced;	/* PEPITA_SIMD as set, NULL when unset or "" */
	struct pep_err err;	/* why it was refused */
};

static void simd_choose(struct simd_choice *sc)
{
	const char *env = getenv("PEPITA_SIMD");

	pep_err_clear(&sc->err);
	sc->best = pep_simd_isa_name(pep_simd_best());
	sc->forced = env && *env ? env : NULL;
	/* pep_simd_active() only after a successful init: else it names the
	   best tier, not the one asked for. */
	sc->tier = pep_simd_init(&sc->err) < 0 ? NULL :
		pep_simd_isa_name(pep_simd_active());
}

static void print_simd_tier(void)
{
	struct simd_choice sc;

	simd_choose(&sc);
	if (!sc.tier)
		printf("simd tier:    none: %s (the best here: %s)\n", sc.err.msg,
		       sc.best);
	else if (sc.forced)
		printf("simd tier:    %s (forced by PEPITA_SIMD; the best here: %s)\n",
		       sc.tier, sc.best);
	else
		printf("simd tier:    %s (the best here)\n", sc.tier);
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

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *simd_json(void)
{
	struct simd_choice sc;

	simd_choose(&sc);
	/* "o" steals the references, also when json_pack fails. */
	return json_pack("{s:o, s:s, s:o, s:o}",
			 "tier", str_or_null(sc.tier),
			 "best_tier", sc.best,
			 "forced", str_or_null(sc.forced),
			 "refused", str_or_null(sc.tier ? NULL : sc.err.msg));
}

/* Schema pepita.info/2 (docs/pepita.1, JSON OUTPUT). */
static int print_json(long online_cpus)
{
	json_t *body = json_pack("{s:s, s:s, s:o, s:o, s:o}",
				 "version", version_number(),
				 "arch", pep_cpu_arch(),
				 "cpu_features", features_json(),
				 "simd", simd_json(),
				 "online_cpu_count", online_cpus > 0 ?
					json_integer(online_cpus) : json_null());

	return cli_json_print(cli_json_merge(cli_json_doc("pepita.info/2",
							  pep_time_real_ms()), body));
}

int cmd_info(int argc, char **argv)
{
	long online_cpus;
	bool json;
	int c;

	c = cli_json_only_args(argc, argv, info_usage, &json);
	if (c >= 0)
		return c;
	/* -1 when the kernel cannot say; shown as unknown / null. */
	online_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return json ? print_json(online_cpus) : print_text(online_cpus);
}
