/*
 * cohete model inspect FILE.gguf [--json]: what a GGUF model is (metadata,
 * tensors, parameters) and what it needs at each quantization level.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <cohete/quant.h>

#include "cmd.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete model inspect FILE.gguf [--json] [--context N]\n\n"
		"Show a GGUF model's metadata (long arrays summarised), its tensors\n"
		"(name, type, shape, size), the parameter count, and the memory it\n"
		"needs at each quantization level (weights exactly as `cohete\n"
		"quantize` would write them, KV cache, compute, runtime).\n\n"
		"  --json          one JSON document\n"
		"  --context N     tokens of context for the estimates (default 4096)\n"
		"  -h, --help      this help\n");
}

/* A scalar kv as text; arrays and strings shortened. */
static void kv_text(const struct coh_gguf_kv *kv, char *buf, size_t len)
{
	uint64_t u;
	int64_t i;
	double f;
	bool b;
	const char *s;
	size_t n;

	if (kv->type == COH_GGUF_ARRAY)
		snprintf(buf, len, "[%" PRIu64 " x %s]", kv->count,
			 coh_gguf_type_name(kv->elem_type));
	else if (coh_gguf_kv_str(kv, &s, &n) == 0)
		snprintf(buf, len, "\"%.*s%s\"", (int)(n > 60 ? 60 : n), s,
			 n > 60 ? "..." : "");
	else if (coh_gguf_kv_bool(kv, &b) == 0)
		snprintf(buf, len, "%s", b ? "true" : "false");
	else if (coh_gguf_kv_uint(kv, &u) == 0)
		snprintf(buf, len, "%" PRIu64, u);
	else if (coh_gguf_kv_int(kv, &i) == 0)
		snprintf(buf, len, "%" PRId64, i);
	else if (coh_gguf_kv_float(kv, &f) == 0)
		snprintf(buf, len, "%g", f);
	else
		snprintf(buf, len, "?");
}

static uint64_t elements(const struct coh_gguf_tensor *t)
{
	return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

static void shape_text(const struct coh_gguf_tensor *t, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%" PRIu64, t->ne[0]);

	for (uint32_t d = 1; d < t->n_dims && n > 0 && (size_t)n < len; d++)
		n += snprintf(buf + n, len - (size_t)n, " x %" PRIu64, t->ne[d]);
}

struct info {
	struct coh_gguf *g;
	struct coh_model_shape shape;
	struct coh_quant_tensor *tensors;
	struct coh_quant_estimate est[16];
	int est_ok[16];
	size_t levels;
	uint64_t params;
};

static void estimate_levels(struct info *in, unsigned int context)
{
	static const enum coh_ftype extra[] = { COH_FTYPE_F16, COH_FTYPE_Q4_0 };
	const enum coh_ftype *ladder = coh_quant_ladder(&in->levels);
	struct coh_quant_target t = { .context = context, .budget_bytes = 0 };

	for (size_t i = 0; i < in->levels + 2; i++) {
		enum coh_ftype f = i < 2 ? extra[i] : ladder[i - 2];

		in->est_ok[i] = coh_quant_estimate(&in->shape, f, &t, &in->est[i],
						   NULL) == 0;
		in->est[i].ftype = f;
	}
	in->levels += 2;
}

static void print_text(const struct info *in, const char *path)
{
	char buf[160], shape[64];

	printf("%s: GGUF v%u, %zu keys, %zu tensors, %.2f B parameters\n", path,
	       coh_gguf_version(in->g), coh_gguf_kv_count(in->g),
	       coh_gguf_tensor_count(in->g), (double)in->params / 1e9);
	printf("\nmetadata:\n");
	for (size_t i = 0; i < coh_gguf_kv_count(in->g); i++) {
		const struct coh_gguf_kv *kv = coh_gguf_kv_at(in->g, i);

		kv_text(kv, buf, sizeof(buf));
		printf("  %-44s %s\n", kv->key, buf);
	}
	printf("\ntensors:\n");
	for (size_t i = 0; i < coh_gguf_tensor_count(in->g); i++) {
		const struct coh_gguf_tensor *t = coh_gguf_tensor_at(in->g, i);

		shape_text(t, shape, sizeof(shape));
		printf("  %-40s %-6s %-20s %10.2f MiB\n", t->name,
		       coh_ggml_type_name(t->type), shape, cli_mib(t->nbytes));
	}
	printf("\nmemory (MiB):\n  %-8s %10s %9s %9s %9s %10s\n", "level",
	       "weights", "KV", "compute", "runtime", "total");
	for (size_t i = 0; i < in->levels; i++) {
		const struct coh_quant_estimate *e = &in->est[i];

		if (!in->est_ok[i]) {
			printf("  %-8s (llama-quantize refuses this model)\n",
			       coh_ftype_name(e->ftype));
			continue;
		}
		printf("  %-8s %10.0f %9.0f %9.0f %9.0f %10.0f\n",
		       coh_ftype_name(e->ftype), cli_mib(e->weights), cli_mib(e->kv),
		       cli_mib(e->compute), cli_mib(e->runtime), cli_mib(e->total));
	}
}

static json_t *json_doc(const struct info *in, const char *path)
{
	json_t *doc = json_object(), *kvs = json_object(), *ts = json_array();
	json_t *levels = json_array();
	char buf[160];

	json_object_set_new(doc, "file", json_string(path));
	json_object_set_new(doc, "version", json_integer(coh_gguf_version(in->g)));
	json_object_set_new(doc, "parameters", json_integer((json_int_t)in->params));
	for (size_t i = 0; i < coh_gguf_kv_count(in->g); i++) {
		const struct coh_gguf_kv *kv = coh_gguf_kv_at(in->g, i);

		kv_text(kv, buf, sizeof(buf));
		json_object_set_new(kvs, kv->key, json_string(buf));
	}
	json_object_set_new(doc, "metadata", kvs);
	for (size_t i = 0; i < coh_gguf_tensor_count(in->g); i++) {
		const struct coh_gguf_tensor *t = coh_gguf_tensor_at(in->g, i);
		json_t *o = json_object(), *ne = json_array();

		for (uint32_t d = 0; d < t->n_dims; d++)
			json_array_append_new(ne, json_integer((json_int_t)t->ne[d]));
		json_object_set_new(o, "name", json_string(t->name));
		json_object_set_new(o, "type", json_string(coh_ggml_type_name(t->type)));
		json_object_set_new(o, "shape", ne);
		json_object_set_new(o, "bytes", json_integer((json_int_t)t->nbytes));
		json_array_append_new(ts, o);
	}
	json_object_set_new(doc, "tensors", ts);
	for (size_t i = 0; i < in->levels; i++) {
		const struct coh_quant_estimate *e = &in->est[i];
		json_t *o = json_object();

		json_object_set_new(o, "level", json_string(coh_ftype_name(e->ftype)));
		if (in->est_ok[i]) {
			json_object_set_new(o, "weights", json_integer((json_int_t)e->weights));
			json_object_set_new(o, "kv", json_integer((json_int_t)e->kv));
			json_object_set_new(o, "compute", json_integer((json_int_t)e->compute));
			json_object_set_new(o, "runtime", json_integer((json_int_t)e->runtime));
			json_object_set_new(o, "total", json_integer((json_int_t)e->total));
		} else {
			json_object_set_new(o, "refused", json_true());
		}
		json_array_append_new(levels, o);
	}
	json_object_set_new(doc, "memory", levels);
	return doc;
}

static int inspect(const char *path, int json, unsigned int context)
{
	struct info in = { 0 };
	struct pep_err err;
	int rc;

	pep_err_clear(&err);
	rc = coh_gguf_open(path, &in.g, &err);
	if (!rc)
		rc = coh_model_shape_from_gguf(in.g, &in.shape, &in.tensors, &err);
	if (rc) {
		cli_error("%s: %s", path, err.msg);
		coh_gguf_close(in.g);
		return CMD_EXIT_FAIL;
	}
	for (size_t i = 0; i < coh_gguf_tensor_count(in.g); i++)
		in.params += elements(coh_gguf_tensor_at(in.g, i));
	estimate_levels(&in, context);
	if (json) {
		json_t *doc = json_doc(&in, path);

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(doc);
	} else {
		print_text(&in, path);
	}
	free(in.tensors);
	coh_gguf_close(in.g);
	return CMD_EXIT_OK;
}

static const struct cmd verbs[] = {
	{ "inspect", NULL, "metadata, tensors and memory per level" },
};

static const struct cli_level verb_level = {
	.kind = "verb", .cmds = verbs, .count = CLI_ARRAY_SIZE(verbs),
};

int cmd_model(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "context", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long context = 4096;
	int c, json = 0;
	char *end;

	optind = 1;
	while ((c = cli_getopt(argc, argv, "h", longopts)) != -1) {
		if (c == 'j') {
			json = 1;
		} else if (c == 'c') {
			context = strtoul(optarg, &end, 10);
			if (end == optarg || *end || context == 0 ||
			    context > (1u << 24)) {
				cli_error("--context: '%s' is not a "
					  "number 1..16777216", optarg);
				return CMD_EXIT_USAGE;
			}
		} else if (c == 'h') {
			usage(stdout);
			return CMD_EXIT_OK;
		} else {
			return CMD_EXIT_USAGE;
		}
	}
	if (optind < argc && !cli_find(&verb_level, argv[optind]))
		return CMD_EXIT_USAGE;
	if (argc - optind != 2) {
		cli_error("usage: cohete model inspect FILE.gguf [--json]");
		return CMD_EXIT_USAGE;
	}
	return inspect(argv[optind + 1], json, (unsigned int)context);
}
