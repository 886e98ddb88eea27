/*
 * cohete model inspect FILE.gguf [--json]: what a GGUF model is (metadata,
 * tensors, parameters) and what it needs at each quantization level.
 *
 * Everything printed from the file is untrusted: in text mode keys,
 * strings and tensor names go through coh_gguf_escape() (no escape
 * sequence reaches the terminal); in JSON they are real JSON values,
 * dumped ASCII-only. The JSON document is described key by key in
 * cohete(1), schema cohete.model-inspect/1.
 */
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <cohete/quant.h>

#include "cmd.h"

#define SCHEMA		"cohete.model-inspect/1"
#define SHOW_CHARS	60	/* of a string value, in text mode */
#define INLINE_MAX	64	/* longer arrays are summarised in JSON */
#define SUMMARY_HEAD	8	/* elements a summary shows */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: cohete model inspect FILE.gguf [--json] [--context N]\n\n"
		"Show a GGUF model's metadata (long arrays summarised), its tensors\n"
		"(name, type, shape, size), the parameter count, and the memory it\n"
		"needs at each quantization level (weights exactly as `cohete\n"
		"quantize` would write them, KV cache, compute, runtime).\n"
		"Control characters from the file are shown as \\xNN.\n\n"
		"  --json          one JSON document (schema " SCHEMA ")\n"
		"  --context N     tokens of context for the estimates (default 4096)\n"
		"  -h, --help      this help\n");
}

/* ---- text --------------------------------------------------------------- */

/* A scalar kv as text; strings escaped and shortened, arrays summarised. */
static void kv_text(const struct coh_gguf_kv *kv, char *buf, size_t len)
{
	char shown[SHOW_CHARS + 1];
	const char *s;
	uint64_t u;
	int64_t i;
	double f;
	size_t n;
	bool b;

	if (kv->type == COH_GGUF_ARRAY) {
		snprintf(buf, len, "[%" PRIu64 " x %s]", kv->count,
			 coh_gguf_type_name(kv->elem_type));
	} else if (coh_gguf_kv_str(kv, &s, &n) == 0) {
		n = coh_gguf_escape(shown, sizeof(shown), s, n);
		snprintf(buf, len, "\"%s%s\"", shown,
			 n > strlen(shown) ? "..." : "");
	} else if (coh_gguf_kv_bool(kv, &b) == 0) {
		snprintf(buf, len, "%s", b ? "true" : "false");
	} else if (coh_gguf_kv_uint(kv, &u) == 0) {
		snprintf(buf, len, "%" PRIu64, u);
	} else if (coh_gguf_kv_int(kv, &i) == 0) {
		snprintf(buf, len, "%" PRId64, i);
	} else if (coh_gguf_kv_float(kv, &f) == 0) {
		snprintf(buf, len, "%g", f);
	} else {
		snprintf(buf, len, "?");
	}
}

/* A name from the file, escaped (cut short if very long). */
static const char *name_text(const char *s, char *buf, size_t len)
{
	coh_gguf_escape(buf, len, s, strlen(s));
	return buf;
}

/* 950, 2.6 K, 2.6 M, 1.1 B, 1.2 T: the scale that leaves 1-3 digits. */
static void count_text(uint64_t n, char *buf, size_t len)
{
	static const char *const scale[] = { "", "K", "M", "B", "T" };
	double v = (double)n;
	unsigned int k = 0;

	/* 999.96 M would print as 1000.0 M: such a value is 1.0 B */
	while (v >= 999.95 && k < 4) {
		v /= 1000;
		k++;
	}
	if (k == 0)
		snprintf(buf, len, "%" PRIu64, n);
	else
		snprintf(buf, len, "%.1f %s", v, scale[k]);
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
	unsigned int context;
};

static void estimate_levels(struct info *in, unsigned int context)
{
	static const enum coh_ftype extra[] = { COH_FTYPE_F16, COH_FTYPE_Q4_0 };
	const enum coh_ftype *ladder = coh_quant_ladder(&in->levels);
	struct coh_quant_target t = { .context = context, .budget_bytes = 0 };

	in->context = context;
	for (size_t i = 0; i < in->levels + 2; i++) {
		enum coh_ftype f = i < 2 ? extra[i] : ladder[i - 2];

		in->est_ok[i] = coh_quant_estimate(&in->shape, f, &t, &in->est[i],
						   NULL) == 0;
		in->est[i].ftype = f;
	}
	in->levels += 2;
}

static void print_memory(const struct info *in)
{
	printf("\nmemory (MiB, %u tokens of context):\n"
	       "  %-8s %10s %9s %9s %9s %10s\n", in->context, "level",
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

static void print_text(const struct info *in, const char *path)
{
	char buf[160], shape[64], name[256], count[32];

	count_text(in->params, count, sizeof(count));
	printf("%s: GGUF v%u, %zu keys, %zu tensors, %s parameters\n",
	       name_text(path, name, sizeof(name)), coh_gguf_version(in->g),
	       coh_gguf_kv_count(in->g), coh_gguf_tensor_count(in->g), count);
	printf("\nmetadata:\n");
	for (size_t i = 0; i < coh_gguf_kv_count(in->g); i++) {
		const struct coh_gguf_kv *kv = coh_gguf_kv_at(in->g, i);

		kv_text(kv, buf, sizeof(buf));
		printf("  %-44s %s\n", name_text(kv->key, name, sizeof(name)), buf);
	}
	printf("\ntensors:\n");
	for (size_t i = 0; i < coh_gguf_tensor_count(in->g); i++) {
		const struct coh_gguf_tensor *t = coh_gguf_tensor_at(in->g, i);

		shape_text(t, shape, sizeof(shape));
		printf("  %-40s %-6s %-20s %10.2f MiB\n",
		       name_text(t->name, name, sizeof(name)),
		       coh_ggml_type_name(t->type), shape, cli_mib(t->nbytes));
	}
	print_memory(in);
}

/* ---- JSON --------------------------------------------------------------- */

/*
 * A string from the file: as it is when it is UTF-8 (jansson escapes the
 * control characters), else escaped as in text mode, since a JSON string
 * must be Unicode.
 */
static json_t *json_text(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	size_t n;
	char *buf;

	if (j)
		return j;
	n = coh_gguf_escape(NULL, 0, s, len);
	buf = malloc(n + 1);
	if (buf) {
		coh_gguf_escape(buf, n + 1, s, len);
		j = json_stringn(buf, n);
		free(buf);
	}
	return j ? j : json_null();
}

/* A number JSON can hold exactly: u64 past INT64_MAX as a decimal string. */
static json_t *json_u64(uint64_t v)
{
	char buf[24];

	if (v <= INT64_MAX)
		return json_integer((json_int_t)v);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	return json_string(buf);
}

/* NaN and infinities have no JSON form: null. */
static json_t *json_float(double f)
{
	return isfinite(f) ? json_real(f) : json_null();
}

static json_t *json_scalar(const struct coh_gguf_kv *kv)
{
	const char *s;
	uint64_t u;
	int64_t i;
	double f;
	size_t n;
	bool b;

	if (coh_gguf_kv_str(kv, &s, &n) == 0)
		return json_text(s, n);
	if (coh_gguf_kv_bool(kv, &b) == 0)
		return json_boolean(b);
	if (coh_gguf_kv_int(kv, &i) == 0)
		return json_integer((json_int_t)i);
	if (coh_gguf_kv_uint(kv, &u) == 0)
		return json_u64(u);
	if (coh_gguf_kv_float(kv, &f) == 0)
		return json_float(f);
	return json_null();
}

/* Element k of a numeric array (the parser checked it is in the buffer). */
static json_t *json_number_at(const struct coh_gguf_kv *kv, uint64_t k)
{
	uint64_t u;
	int64_t i;
	double f;

	if (coh_gguf_array_float(kv, k, &f) == 0)
		return json_float(f);
	if (coh_gguf_array_int(kv, k, &i) == 0)
		return kv->elem_type == COH_GGUF_BOOL ? json_boolean(i) :
		       json_integer((json_int_t)i);
	if (kv->elem_type != COH_GGUF_UINT64)
		return json_null();
	/* a u64 past INT64_MAX, which array_int refuses */
	memcpy(&u, (const uint8_t *)kv->data + k * 8, 8);
	return json_u64(le64toh(u));
}

/* The first n elements of an array kv. */
static json_t *json_elements(const struct coh_gguf_kv *kv, uint64_t n)
{
	json_t *a = json_array();
	struct coh_gguf_str_iter it;
	const char *s;
	size_t len;

	if (coh_gguf_str_iter_init(&it, kv) == 0) {
		for (uint64_t k = 0; k < n && coh_gguf_str_next(&it, &s, &len); k++)
			json_array_append_new(a, json_text(s, len));
		return a;
	}
	for (uint64_t k = 0; k < n; k++)
		json_array_append_new(a, json_number_at(kv, k));
	return a;
}

/*
 * An array: up to INLINE_MAX elements as a JSON array; a longer one (a
 * tokenizer's vocabulary) as {"type": "array", "element_type",
 * "element_count", "first": [its first SUMMARY_HEAD elements]}.
 */
static json_t *json_array_kv(const struct coh_gguf_kv *kv)
{
	json_t *o;

	if (kv->count <= INLINE_MAX)
		return json_elements(kv, kv->count);
	o = json_object();
	json_object_set_new(o, "type", json_string("array"));
	json_object_set_new(o, "element_type",
			    json_string(coh_gguf_type_name(kv->elem_type)));
	json_object_set_new(o, "element_count", json_u64(kv->count));
	json_object_set_new(o, "first", json_elements(kv, SUMMARY_HEAD));
	return o;
}

static json_t *json_metadata(const struct coh_gguf *g)
{
	json_t *kvs = json_object(), *key;

	for (size_t i = 0; i < coh_gguf_kv_count(g); i++) {
		const struct coh_gguf_kv *kv = coh_gguf_kv_at(g, i);

		key = json_text(kv->key, kv->key_len);
		json_object_set_new(kvs, json_is_string(key) ?
				    json_string_value(key) : "?",
				    kv->type == COH_GGUF_ARRAY ?
				    json_array_kv(kv) : json_scalar(kv));
		json_decref(key);
	}
	return kvs;
}

static json_t *json_tensors(const struct coh_gguf *g)
{
	json_t *ts = json_array();

	for (size_t i = 0; i < coh_gguf_tensor_count(g); i++) {
		const struct coh_gguf_tensor *t = coh_gguf_tensor_at(g, i);
		json_t *o = json_object(), *ne = json_array();

		for (uint32_t d = 0; d < t->n_dims; d++)
			json_array_append_new(ne, json_u64(t->ne[d]));
		json_object_set_new(o, "name", json_text(t->name, strlen(t->name)));
		json_object_set_new(o, "type", json_string(coh_ggml_type_name(t->type)));
		json_object_set_new(o, "shape", ne);
		json_object_set_new(o, "element_count", json_u64(elements(t)));
		json_object_set_new(o, "size_bytes", json_u64(t->nbytes));
		json_array_append_new(ts, o);
	}
	return ts;
}

static json_t *json_memory(const struct info *in)
{
	json_t *levels = json_array();

	for (size_t i = 0; i < in->levels; i++) {
		const struct coh_quant_estimate *e = &in->est[i];
		json_t *o = json_object();

		json_object_set_new(o, "level", json_string(coh_ftype_name(e->ftype)));
		if (in->est_ok[i]) {
			json_object_set_new(o, "weights_bytes", json_u64(e->weights));
			json_object_set_new(o, "kv_bytes", json_u64(e->kv));
			json_object_set_new(o, "compute_bytes", json_u64(e->compute));
			json_object_set_new(o, "runtime_bytes", json_u64(e->runtime));
			json_object_set_new(o, "total_bytes", json_u64(e->total));
		} else {
			json_object_set_new(o, "refused", json_true());
		}
		json_array_append_new(levels, o);
	}
	return levels;
}

static json_t *json_doc(const struct info *in, const char *path)
{
	json_t *doc = json_object();

	json_object_set_new(doc, "schema", json_string(SCHEMA));
	json_object_set_new(doc, "file", json_text(path, strlen(path)));
	json_object_set_new(doc, "version", json_integer(coh_gguf_version(in->g)));
	json_object_set_new(doc, "alignment_bytes",
			    json_integer(coh_gguf_alignment(in->g)));
	json_object_set_new(doc, "parameter_count", json_u64(in->params));
	json_object_set_new(doc, "context_tokens", json_integer(in->context));
	json_object_set_new(doc, "metadata", json_metadata(in->g));
	json_object_set_new(doc, "tensors", json_tensors(in->g));
	json_object_set_new(doc, "memory", json_memory(in));
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

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
			   JSON_ENSURE_ASCII);
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
