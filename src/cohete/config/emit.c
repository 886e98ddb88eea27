/*
 * The effective configuration written out: as JSON (jansson) straight from
 * the schema table's JSON value, and as YAML by feeding that value to
 * libyaml's emitter. Strings that YAML would read as something else
 * (numbers, booleans, null, "") are double-quoted and '$' is written "$$",
 * so loading the YAML gives back the same configuration.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "config_priv.h"

/* Whether a plain scalar of this text would be read as a non-string. */
static bool looks_typed(const char *s)
{
	static const char *const words[] = {
		"", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n",
	};
	char *end;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(s, words[i]))
			return true;
	strtod(s, &end);
	if (end != s && !*end)
		return true;
	/* 0x10, 0o7, .inf and friends: YAML 1.1/1.2 numbers strtod may miss. */
	return s[0] == '.' || ((s[0] == '0' || s[0] == '+' || s[0] == '-') &&
			       strpbrk(s, "0123456789"));
}

static int scalar(yaml_emitter_t *em, const char *text, bool quote)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text,
					  (int)strlen(text), !quote, 1,
					  quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE :
						  YAML_ANY_SCALAR_STYLE))
		return -ENOMEM;
	return yaml_emitter_emit(em, &ev) ? 0 : -EIO;
}

static int string_scalar(yaml_emitter_t *em, const char *s)
{
	size_t n = 0;
	char *esc, *p;
	int ret;

	for (const char *q = s; *q; q++)
		n += *q == '$' ? 2 : 1;
	esc = malloc(n + 1);
	if (!esc)
		return -ENOMEM;
	for (p = esc; *s; s++) {
		if (*s == '$')
			*p++ = '$';
		*p++ = *s;
	}
	*p = '\0';
	ret = scalar(em, esc, looks_typed(esc));
	free(esc);
	return ret;
}

static int number_scalar(yaml_emitter_t *em, const json_t *v)
{
	char buf[64];

	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else {
		/* The shortest text that reads back as the same double. */
		snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
		if (strtod(buf, NULL) != json_real_value(v))
			snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
	}
	return scalar(em, buf, false);
}

static int emit_value(yaml_emitter_t *em, const json_t *v, unsigned int depth);

static int emit_object(yaml_emitter_t *em, const json_t *v, unsigned int depth)
{
	yaml_event_t ev;
	const char *key;
	json_t *val;
	int ret;

	if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						 YAML_BLOCK_MAPPING_STYLE) ||
	    !yaml_emitter_emit(em, &ev))
		return -EIO;
	json_object_foreach((json_t *)v, key, val) {
		ret = string_scalar(em, key);
		if (ret == 0)
			ret = emit_value(em, val, depth + 1);
		if (ret < 0)
			return ret;
	}
	if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
		return -EIO;
	return 0;
}

static int emit_array(yaml_emitter_t *em, const json_t *v, unsigned int depth)
{
	yaml_event_t ev;
	size_t i;
	json_t *val;
	int ret;

	/* Lists of words read best on one line: [usb, mdns]. */
	bool flow = true;

	json_array_foreach((json_t *)v, i, val)
		if (!json_is_string(val))
			flow = false;
	if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
			flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE) ||
	    !yaml_emitter_emit(em, &ev))
		return -EIO;
	json_array_foreach((json_t *)v, i, val) {
		ret = emit_value(em, val, depth + 1);
		if (ret < 0)
			return ret;
	}
	if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
		return -EIO;
	return 0;
}

static int emit_value(yaml_emitter_t *em, const json_t *v, unsigned int depth)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return emit_object(em, v, depth);
	case JSON_ARRAY:
		return emit_array(em, v, depth);
	case JSON_STRING:
		return string_scalar(em, json_string_value(v));
	case JSON_INTEGER:
	case JSON_REAL:
		return number_scalar(em, v);
	case JSON_TRUE:
		return scalar(em, "true", false);
	case JSON_FALSE:
		return scalar(em, "false", false);
	default:
		return scalar(em, "~", false);
	}
}

static int emit_doc(yaml_emitter_t *em, const json_t *root)
{
	yaml_event_t ev;
	int ret;

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(em, &ev))
		return -EIO;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(em, &ev))
		return -EIO;
	ret = emit_value(em, root, 0);
	if (ret < 0)
		return ret;
	if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(em, &ev))
		return -EIO;
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
		return -EIO;
	return yaml_emitter_flush(em) ? 0 : -EIO;
}

int coh_config_emit_yaml(const struct coh_config *cfg, FILE *f,
			 struct pep_err *err)
{
	json_t *root = cfg_to_json(cfg);
	yaml_emitter_t em;
	int ret;

	if (!root)
		return pep_err_set(err, -ENOMEM, "out of memory");
	if (!yaml_emitter_initialize(&em)) {
		json_decref(root);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	yaml_emitter_set_output_file(&em, f);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, 100);
	ret = emit_doc(&em, root);
	if (ret < 0)
		pep_err_set(err, ret, "writing YAML: %s",
			    em.problem ? em.problem : "write failed");
	yaml_emitter_delete(&em);
	json_decref(root);
	return ret;
}

int coh_config_emit_json(const struct coh_config *cfg, FILE *f,
			 struct pep_err *err)
{
	json_t *root = cfg_to_json(cfg);
	int ret = 0;

	if (!root)
		return pep_err_set(err, -ENOMEM, "out of memory");
	if (json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0 ||
	    fputc('\n', f) == EOF)
		ret = pep_err_set(err, -EIO, "writing JSON failed");
	json_decref(root);
	return ret;
}
