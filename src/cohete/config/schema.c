/*
 * The schema of cohete.yaml as one table of field descriptors (name, type,
 * offset into the C struct, range or values, default, one-line doc). The
 * same table types a loaded tree into struct coh_config, writes the
 * effective configuration back as JSON (emit.c turns that into YAML) and
 * writes the JSON Schema, so the three cannot disagree.
 *
 * Defaults are written as the YAML text a person would write and typed by
 * the same code as the file's values.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cohete/quant.h>

#include "config_priv.h"

#define AT(base, off, type) ((type *)((char *)(base) + (off)))
#define INF HUGE_VAL

enum ftype {
	FT_STR,		/* const char *; NULL when not given and no default */
	FT_PATH,	/* the same, "~/" expanded */
	FT_U16,
	FT_U32,
	FT_U64,
	FT_I32,
	FT_F64,
	FT_BOOL,
	FT_ENUM,	/* an int: the index of the value */
	FT_STRV,	/* struct coh_config_strv */
	FT_MAP,		/* a table at off */
	FT_LIST,	/* items at off, size_t count at off2 */
	FT_DICT,	/* the same; each key is the item's name */
	FT_CUSTOM,
	FT_SKIP,	/* accepted, not typed (include: is read before) */
};

#define F_REQUIRED	0x1u
#define F_LATE		0x2u	/* typed after the others (reads them) */
#define F_NOEMIT	0x4u	/* an alias or an input-only key */
#define F_STRVAL	0x8u	/* FT_ENUM kept as its (const char *) value */

struct field;
struct table;

struct custom {
	void (*parse)(struct cfg_load *L, const struct field *f, void *base,
		      const struct cfg_node *v);
	json_t *(*emit)(const struct field *f, const void *base);
	json_t *(*schema)(const struct field *f);
	const char *def;	/* default, typed by parse */
};

struct field {
	const char *name;
	enum ftype type;
	size_t off, off2;
	unsigned int flags;
	double min, max;		/* numbers; strings: nothing */
	const char *def;		/* default as YAML text; NULL = zero/NULL */
	const char *const *defv;	/* FT_STRV default, NULL-terminated */
	const char *const *values;	/* FT_ENUM, NULL-terminated */
	const char *const *aliases;	/* FT_ENUM: pairs alias, value; NULL */
	const struct table *sub;	/* FT_MAP, FT_LIST, FT_DICT */
	const struct custom *custom;
	bool (*valid)(const char *s);	/* strings, list items, dict keys */
	const char *pattern;		/* valid() as a JSON Schema pattern */
	const char *expect;		/* what valid() accepts, for errors */
	size_t nodes_off;		/* FT_LIST/FT_DICT: cfg_load's node array */
	size_t emit_off, emit_off2;	/* FT_DICT: written from here instead */
	const char *doc;
};

struct table {
	const struct field *fields;
	size_t count;
	size_t item_size;		/* FT_LIST/FT_DICT items */
	size_t name_off;		/* FT_DICT: the item's name */
	void (*init)(struct cfg_load *L, void *item);	/* after defaults */
};

/* ---- paths ---- */

static size_t push_key(struct cfg_load *L, const char *key)
{
	size_t old = L->pathlen;
	int n = snprintf(L->path + old, sizeof(L->path) - old, "%s%s",
			 old ? "." : "", key);

	if (n > 0)
		L->pathlen = old + (size_t)n < sizeof(L->path) ?
			     old + (size_t)n : sizeof(L->path) - 1;
	return old;
}

static size_t push_index(struct cfg_load *L, size_t i)
{
	size_t old = L->pathlen;
	int n = snprintf(L->path + old, sizeof(L->path) - old, "[%zu]", i);

	if (n > 0)
		L->pathlen = old + (size_t)n < sizeof(L->path) ?
			     old + (size_t)n : sizeof(L->path) - 1;
	return old;
}

static void pop(struct cfg_load *L, size_t old)
{
	L->pathlen = old;
	L->path[old] = '\0';
}

/* ---- value checks shared with check.c's messages ---- */

static const char *kind_name(const struct cfg_node *v)
{
	switch (v->kind) {
	case CFG_MAP:
		return "a map";
	case CFG_SEQ:
		return "a list";
	case CFG_NULL:
		return "nothing";
	default:
		return "a value";
	}
}

/* "'x' is not EXPECT" for a scalar, "expected EXPECT, not a map" otherwise. */
static void bad_value(struct cfg_load *L, const struct cfg_node *v,
		      const char *expect, const char *hint)
{
	if (v->kind == CFG_SCALAR)
		cfg_error(L, v, "'%s' is not %s%s", v->str, expect, hint ? hint : "");
	else
		cfg_error(L, v, "expected %s, not %s", expect, kind_name(v));
}

static bool parse_ll(const char *s, long long *out)
{
	char *end;

	if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !*end && errno == 0;
}

static bool parse_double(const char *s, double *out)
{
	char *end;

	if (!*s || strchr(s, 'x') || strchr(s, 'X'))
		return false;
	*out = strtod(s, &end);
	return !*end && isfinite(*out);
}

static void range_text(const struct field *f, bool whole, char *buf,
		       size_t size)
{
	if (f->max == INF)
		snprintf(buf, size, "a %s of %.15g or more",
			 whole ? "whole number" : "number", f->min);
	else
		snprintf(buf, size, "a %s from %.15g to %.15g",
			 whole ? "whole number" : "number", f->min, f->max);
}

/* ---- string validators ---- */

static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == n;
}

static bool valid_policy_name(const char *s)
{
	return valid_id(s) && strlen(s) <= COH_CONFIG_POLICY_NAME_MAX;
}

static bool valid_label(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 63 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool valid_word(const char *s)
{
	size_t n = strlen(s);

	return n && n <= 255 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._+:@-") == n;
}

static bool valid_sha256(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdefABCDEF") == 64;
}

static bool valid_nonempty(const char *s)
{
	return *s != '\0';
}

/* ---- defaults ---- */

static void type_value(struct cfg_load *L, const struct field *f, void *base,
		       const struct cfg_node *v);

static void set_defaults(struct cfg_load *L, const struct table *t, void *base);

static void set_default(struct cfg_load *L, const struct field *f, void *base)
{
	struct cfg_node v = { .kind = CFG_SCALAR, .file = "<default>" };
	const char *def = f->custom ? f->custom->def : f->def;

	switch (f->type) {
	case FT_MAP:
		set_defaults(L, f->sub, AT(base, f->off, void));
		return;
	case FT_STRV: {
		struct coh_config_strv *sv = AT(base, f->off, struct coh_config_strv);
		size_t n = 0;

		while (f->defv && f->defv[n])
			n++;
		sv->v = f->defv;
		sv->count = n;
		return;
	}
	default:
		break;
	}
	if (!def)
		return;
	v.str = def;
	type_value(L, f, base, &v);
}

static void set_defaults(struct cfg_load *L, const struct table *t, void *base)
{
	for (size_t i = 0; i < t->count; i++)
		set_default(L, &t->fields[i], base);
}

/* ---- typing one value ---- */

static const char *home_of(struct cfg_load *L)
{
	return L->opts && L->opts->home ? L->opts->home : cfg_getenv(L, "HOME");
}

static void type_str(struct cfg_load *L, const struct field *f, void *base,
		     const struct cfg_node *v)
{
	const char *s, *home;

	if (v->kind != CFG_SCALAR) {
		bad_value(L, v, f->expect ? f->expect : "a string", NULL);
		return;
	}
	if (f->valid && !f->valid(v->str)) {
		bad_value(L, v, f->expect, NULL);
		return;
	}
	s = v->str;
	if (f->type == FT_PATH && !strncmp(s, "~/", 2) && (home = home_of(L)))
		s = cfg_printf(&L->arena, "%s/%s", home, s + 2);
	*AT(base, f->off, const char *) = s;
}

static void type_int(struct cfg_load *L, const struct field *f, void *base,
		     const struct cfg_node *v)
{
	char expect[96];
	long long n;

	if (v->kind != CFG_SCALAR || !parse_ll(v->str, &n) ||
	    (double)n < f->min || (double)n > f->max) {
		range_text(f, true, expect, sizeof(expect));
		bad_value(L, v, expect, NULL);
		return;
	}
	switch (f->type) {
	case FT_U16:
		*AT(base, f->off, uint16_t) = (uint16_t)n;
		break;
	case FT_U32:
		*AT(base, f->off, uint32_t) = (uint32_t)n;
		break;
	case FT_U64:
		*AT(base, f->off, uint64_t) = (uint64_t)n;
		break;
	default:
		*AT(base, f->off, int32_t) = (int32_t)n;
		break;
	}
}

static void type_f64(struct cfg_load *L, const struct field *f, void *base,
		     const struct cfg_node *v)
{
	char expect[96];
	double d;

	if (v->kind != CFG_SCALAR || !parse_double(v->str, &d) ||
	    d < f->min || d > f->max) {
		range_text(f, false, expect, sizeof(expect));
		bad_value(L, v, expect, NULL);
		return;
	}
	*AT(base, f->off, double) = d;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "on" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "off" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i]))
			return *out = true, true;
		if (!strcmp(s, no[i]))
			return *out = false, true;
	}
	return false;
}

static void type_bool(struct cfg_load *L, const struct field *f, void *base,
		      const struct cfg_node *v)
{
	bool b;

	if (v->kind != CFG_SCALAR || !parse_bool(v->str, &b)) {
		bad_value(L, v, "true or false", NULL);
		return;
	}
	*AT(base, f->off, bool) = b;
}

static void values_text(const char *const *values, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; values[i] && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
				      values[i]);
}

static void set_enum(const struct field *f, void *base, size_t i)
{
	if (f->flags & F_STRVAL)
		*AT(base, f->off, const char *) = f->values[i];
	else
		*AT(base, f->off, int) = (int)i;
}

static void type_enum(struct cfg_load *L, const struct field *f, void *base,
		      const struct cfg_node *v)
{
	char expect[256], hint[96] = "";
	const char *close;
	size_t n = 0;

	if (v->kind == CFG_SCALAR) {
		for (size_t i = 0; f->values[i]; i++)
			if (!strcmp(v->str, f->values[i])) {
				set_enum(f, base, i);
				return;
			}
		for (size_t i = 0; f->aliases && f->aliases[i]; i += 2)
			if (!strcmp(v->str, f->aliases[i])) {
				for (size_t j = 0; f->values[j]; j++)
					if (!strcmp(f->aliases[i + 1], f->values[j]))
						set_enum(f, base, j);
				return;
			}
	}
	while (f->values[n])
		n++;
	snprintf(expect, sizeof(expect), "one of: ");
	values_text(f->values, expect + 8, sizeof(expect) - 8);
	if (v->kind == CFG_SCALAR && (close = pep_closest_word(v->str, f->values, n)))
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", close);
	bad_value(L, v, expect, hint);
}

static void type_strv(struct cfg_load *L, const struct field *f, void *base,
		      const struct cfg_node *v)
{
	struct coh_config_strv *sv = AT(base, f->off, struct coh_config_strv);
	const char **items;
	size_t k = 0, old;

	if (v->kind != CFG_SEQ) {
		bad_value(L, v, "a list", NULL);
		return;
	}
	items = cfg_alloc(&L->arena, (v->count + 1) * sizeof(*items));
	if (!items)
		return;
	for (size_t i = 0; i < v->count; i++) {
		const struct cfg_node *it = v->items[i];

		old = push_index(L, i);
		if (it->kind != CFG_SCALAR)
			bad_value(L, it, f->expect ? f->expect : "a string", NULL);
		else if (f->valid && !f->valid(it->str))
			bad_value(L, it, f->expect, NULL);
		else
			items[k++] = it->str;
		pop(L, old);
	}
	sv->v = items;
	sv->count = k;
}

static void type_map(struct cfg_load *L, const struct table *t, void *base,
		     const struct cfg_node *node);

/* A list (FT_LIST) or a map of named items (FT_DICT). */
static void type_items(struct cfg_load *L, const struct field *f, void *base,
		       const struct cfg_node *v)
{
	const struct table *t = f->sub;
	bool dict = f->type == FT_DICT;
	struct cfg_node **nodes;
	char *items;
	size_t n = 0, old;

	if (v->kind != (dict ? CFG_MAP : CFG_SEQ)) {
		bad_value(L, v, dict ? "a map of named entries" : "a list", NULL);
		return;
	}
	items = cfg_alloc(&L->arena, (v->count + 1) * t->item_size);
	nodes = cfg_alloc(&L->arena, (v->count + 1) * sizeof(*nodes));
	if (!items || !nodes)
		return;
	for (size_t i = 0; i < v->count; i++) {
		void *item = items + n * t->item_size;
		const struct cfg_node *in = dict ? v->pairs[i].val : v->items[i];

		old = dict ? push_key(L, v->pairs[i].key->str) : push_index(L, i);
		if (dict && f->valid && !f->valid(v->pairs[i].key->str)) {
			cfg_error(L, v->pairs[i].key, "'%s' is not %s",
				  v->pairs[i].key->str, f->expect);
			pop(L, old);
			continue;
		}
		set_defaults(L, t, item);
		if (t->init)
			t->init(L, item);
		if (dict)
			*AT(item, t->name_off, const char *) = v->pairs[i].key->str;
		type_map(L, t, item, in);
		nodes[n++] = (struct cfg_node *)in;
		pop(L, old);
	}
	*AT(base, f->off, void *) = items;
	*AT(base, f->off2, size_t) = n;
	if (f->nodes_off)
		*AT(L, f->nodes_off, struct cfg_node **) = nodes;
}

static void type_value(struct cfg_load *L, const struct field *f, void *base,
		       const struct cfg_node *v)
{
	if (v->failed)		/* ${VAR} failed: said once already */
		return;
	switch (f->type) {
	case FT_STR:
	case FT_PATH:
		type_str(L, f, base, v);
		break;
	case FT_U16:
	case FT_U32:
	case FT_U64:
	case FT_I32:
		type_int(L, f, base, v);
		break;
	case FT_F64:
		type_f64(L, f, base, v);
		break;
	case FT_BOOL:
		type_bool(L, f, base, v);
		break;
	case FT_ENUM:
		type_enum(L, f, base, v);
		break;
	case FT_STRV:
		type_strv(L, f, base, v);
		break;
	case FT_MAP:
		type_map(L, f->sub, AT(base, f->off, void), v);
		break;
	case FT_LIST:
	case FT_DICT:
		type_items(L, f, base, v);
		break;
	case FT_CUSTOM:
		f->custom->parse(L, f, base, v);
		break;
	case FT_SKIP:
		break;
	}
}

static const struct field *table_find(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->count; i++)
		if (!strcmp(t->fields[i].name, name))
			return &t->fields[i];
	return NULL;
}

static void unknown_key(struct cfg_load *L, const struct table *t,
			const struct cfg_node *key)
{
	const char *names[64], *close;
	size_t n = 0, old;

	for (size_t i = 0; i < t->count && n < 64; i++)
		names[n++] = t->fields[i].name;
	close = pep_closest_word(key->str, names, n);
	old = push_key(L, key->str);
	if (close)
		cfg_error(L, key, "unknown key; did you mean '%s'?", close);
	else
		cfg_error(L, key, "unknown key");
	pop(L, old);
}

static void type_field(struct cfg_load *L, const struct field *f, void *base,
		       const struct cfg_node *node)
{
	const struct cfg_node *v = cfg_map_get(node, f->name);
	size_t old;

	if (!v || v->kind == CFG_NULL) {
		if (f->flags & F_REQUIRED)
			cfg_error(L, v ? v : node, "missing required key '%s'",
				  f->name);
		return;
	}
	old = push_key(L, f->name);
	type_value(L, f, base, v);
	pop(L, old);
}

static void type_map(struct cfg_load *L, const struct table *t, void *base,
		     const struct cfg_node *node)
{
	const struct cfg_node *at = node;

	if (!node || node->kind == CFG_NULL)
		node = NULL;
	else if (node->kind != CFG_MAP) {
		bad_value(L, node, "a map", NULL);
		return;
	}
	for (int late = 0; late < 2; late++)
		for (size_t i = 0; i < t->count; i++) {
			const struct field *f = &t->fields[i];

			if (!!(f->flags & F_LATE) != late)
				continue;
			if (!node) {
				if (f->flags & F_REQUIRED)
					cfg_error(L, at, "missing required key '%s'",
						  f->name);
				continue;
			}
			type_field(L, f, base, node);
		}
	for (size_t i = 0; node && i < node->count; i++)
		if (!table_find(t, node->pairs[i].key->str))
			unknown_key(L, t, node->pairs[i].key);
}

/* ==== custom fields ==== */

static json_t *schema_of(const struct field *f);

/* version: "1" or "1.0", as a string or a number. */
static void parse_version(struct cfg_load *L, const struct field *f,
			  void *base, const struct cfg_node *v)
{
	if (v->kind == CFG_SCALAR &&
	    (!strcmp(v->str, "1") || !strcmp(v->str, "1.0"))) {
		*AT(base, f->off, const char *) = "1.0";
		return;
	}
	bad_value(L, v, "a version this cohete reads (\"1.0\")", NULL);
}

static json_t *emit_str(const struct field *f, const void *base)
{
	const char *s = *AT(base, f->off, const char *);

	return s ? json_string(s) : NULL;
}

static json_t *schema_version(const struct field *f)
{
	(void)f;
	/* 1 and 1.0 are one number to JSON Schema. */
	return json_pack("{s:[s,s], s:[s,s,i], s:s}", "type", "string", "number",
			 "enum", "1", "1.0", 1, "default", "1.0");
}

static const struct custom custom_version = {
	parse_version, emit_str, schema_version, "1.0",
};

/* mirrors: a map of source prefixes to URLs; hf:// is built in. */
static bool valid_mirror_target(const char *s)
{
	return !strncmp(s, "https://", 8) || !strncmp(s, "http://", 7) ||
	       s[0] == '/';
}

static void parse_mirrors(struct cfg_load *L, const struct field *f,
			  void *base, const struct cfg_node *v)
{
	struct coh_config_mirror *m;
	const struct coh_config_mirror *old = *AT(base, f->off, struct coh_config_mirror *);
	size_t n = 0, k, was = *AT(base, f->off2, size_t), p;

	if (v->kind != CFG_MAP) {
		bad_value(L, v, "a map of source prefixes to URLs", NULL);
		return;
	}
	m = cfg_alloc(&L->arena, (v->count + was + 1) * sizeof(*m));
	if (!m)
		return;
	for (k = 0; k < was; k++)
		m[n++] = old[k];
	for (size_t i = 0; i < v->count; i++) {
		const struct cfg_node *key = v->pairs[i].key, *val = v->pairs[i].val;

		p = push_key(L, key->str);
		if (!strstr(key->str, "://")) {
			cfg_error(L, key, "'%s' is not a source prefix (scheme://...)",
				  key->str);
		} else if (val->kind != CFG_SCALAR || !valid_mirror_target(val->str)) {
			bad_value(L, val, "an http(s):// URL or an absolute directory", NULL);
		} else {
			for (k = 0; k < n && strcmp(m[k].prefix, key->str); k++)
				;
			m[k] = (struct coh_config_mirror){ key->str, val->str };
			if (k == n)
				n++;
		}
		pop(L, p);
	}
	*AT(base, f->off, struct coh_config_mirror *) = m;
	*AT(base, f->off2, size_t) = n;
}

static json_t *emit_mirrors(const struct field *f, const void *base)
{
	const struct coh_config_mirror *m = *AT(base, f->off, const struct coh_config_mirror *);
	size_t n = *AT(base, f->off2, const size_t);
	json_t *o = json_object();

	for (size_t i = 0; o && i < n; i++)
		json_object_set_new(o, m[i].prefix, json_string(m[i].target));
	return o;
}

static json_t *schema_mirrors(const struct field *f)
{
	(void)f;
	return json_pack("{s:s, s:{s:s}, s:{s:s, s:s}}", "type", "object",
			 "propertyNames", "pattern", "://",
			 "additionalProperties", "type", "string",
			 "pattern", "^(https?://|/)");
}

static const struct custom custom_mirrors = {
	parse_mirrors, emit_mirrors, schema_mirrors, NULL,
};

/* discovery.methods: usb, mdns, ssh, or {static: [host, ...]} (upstream). */
static const char *const method_names[] = { "usb", "mdns", "ssh", NULL };

static void parse_methods(struct cfg_load *L, const struct field *f,
			  void *base, const struct cfg_node *v)
{
	unsigned int *methods = AT(base, f->off, unsigned int);
	const struct field strv = { .name = "static", .type = FT_STRV,
		.valid = valid_word, .expect = "a host name or address" };
	size_t old;

	if (v->kind != CFG_SEQ) {
		bad_value(L, v, "a list of usb, mdns, ssh", NULL);
		return;
	}
	*methods = 0;
	for (size_t i = 0; i < v->count; i++) {
		const struct cfg_node *it = v->items[i];
		const struct cfg_node *st = cfg_map_get(it, "static");
		int m = -1;

		old = push_index(L, i);
		for (int k = 0; it->kind == CFG_SCALAR && method_names[k]; k++)
			if (!strcmp(it->str, method_names[k]))
				m = k;
		if (m >= 0) {
			*methods |= 1u << m;
		} else if (it->kind == CFG_MAP && it->count == 1 && st) {
			size_t o2 = push_key(L, "static");

			type_strv(L, &strv, &L->static_hosts, st);
			L->static_node = (struct cfg_node *)st;
			*methods |= COH_CONFIG_DISCOVER_SSH;
			pop(L, o2);
		} else {
			const char *close = it->kind == CFG_SCALAR ?
				pep_closest_word(it->str, method_names, 3) : NULL;
			char hint[64] = "";

			if (close)
				snprintf(hint, sizeof(hint), "; did you mean '%s'?", close);
			bad_value(L, it, "one of: usb, mdns, ssh, {static: [hosts]}", hint);
		}
		pop(L, old);
	}
}

static json_t *emit_methods(const struct field *f, const void *base)
{
	unsigned int m = *AT(base, f->off, const unsigned int);
	json_t *a = json_array();

	for (int k = 0; a && method_names[k]; k++)
		if (m & (1u << k))
			json_array_append_new(a, json_string(method_names[k]));
	return a;
}

static json_t *schema_methods(const struct field *f)
{
	(void)f;
	return json_pack("{s:s, s:{s:[{s:s, s:[s,s,s]}, {s:s, s:{s:{s:s, s:{s:s}}}, s:[s], s:b}]}, s:[s,s]}",
			 "type", "array", "items", "anyOf",
			 "type", "string", "enum", "usb", "mdns", "ssh",
			 "type", "object", "properties", "static", "type", "array",
			 "items", "type", "string", "required", "static",
			 "additionalProperties", 0,
			 "default", "usb", "mdns");
}

static const struct custom custom_methods = {
	parse_methods, emit_methods, schema_methods, NULL,	/* cfg_type_root */
};

/* devices[].module: a P-number or a module name of data/jetson-modules.tsv. */

/* "Orin Nano 8GB" names "Jetson Orin Nano 8GB" and "... 8GB (Developer Kit)". */
static bool name_matches(const char *text, const char *name)
{
	const char *paren = strstr(name, " (");
	size_t n = paren ? (size_t)(paren - name) : strlen(name);

	if (!strncasecmp(text, "Jetson ", 7))
		text += 7;
	if (!strncmp(name, "Jetson ", 7)) {
		name += 7;
		n -= 7;
	}
	return !strcasecmp(text, name) ||
	       (strlen(text) == n && !strncasecmp(text, name, n));
}

static const struct coh_module_spec *module_find(const char *text)
{
	unsigned int count;
	const struct coh_module_spec *t = coh_module_table(&count), *m;

	m = coh_module_lookup(text, "", NULL, 0);
	if (m)
		return m;
	for (unsigned int i = 0; i < count; i++)
		if (!strcasecmp(text, t[i].pnum))
			return &t[i];
	for (unsigned int i = 0; i < count; i++)
		if (name_matches(text, t[i].name))
			return &t[i];
	return NULL;
}

static void parse_module(struct cfg_load *L, const struct field *f,
			 void *base, const struct cfg_node *v)
{
	struct coh_config_device *d = base;
	const struct coh_module_spec *m;
	unsigned int count;
	const struct coh_module_spec *t = coh_module_table(&count);
	const char *names[512], *close;
	char hint[128] = "";
	unsigned int n = 0;

	(void)f;
	if (v->kind != CFG_SCALAR) {
		bad_value(L, v, "a module P-number or name", NULL);
		return;
	}
	m = module_find(v->str);
	if (m) {
		d->module_name = v->str;
		d->module = m;
		return;
	}
	for (unsigned int i = 0; i < count && n < 510; i++) {
		names[n++] = t[i].pnum;
		names[n++] = t[i].name;
	}
	close = pep_closest_word(v->str, names, n);
	if (close)
		snprintf(hint, sizeof(hint), "; did you mean '%s'?", close);
	cfg_error(L, v, "'%s' is not a Jetson module of data/jetson-modules.tsv (a P-number such as p3767-0005, or a name such as \"Orin Nano 8GB\")%s",
		  v->str, hint);
}

static json_t *schema_string(const struct field *f)
{
	(void)f;
	return json_pack("{s:s}", "type", "string");
}

static const struct custom custom_module = {
	parse_module, emit_str, schema_string, NULL,
};

/* power_mode / power.mode: an nvpmodel id (a whole number) or a name. */
static bool valid_mode_name(const char *s)
{
	size_t n = strlen(s);

	return n && n < 48 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789_ .-") == n;
}

static void parse_mode(struct cfg_load *L, const struct field *f,
		       void *base, const struct cfg_node *v)
{
	long long id;

	if (v->kind == CFG_SCALAR && parse_ll(v->str, &id)) {
		if (id < 0 || id > 99) {
			bad_value(L, v, "a power mode id from 0 to 99 or a mode name", NULL);
			return;
		}
		*AT(base, f->off, const char *) = cfg_printf(&L->arena, "%lld", id);
		return;
	}
	if (v->kind != CFG_SCALAR || !valid_mode_name(v->str)) {
		bad_value(L, v, "a power mode id or name (\"MAXN\", \"15W\")", NULL);
		return;
	}
	*AT(base, f->off, const char *) = v->str;
}

static json_t *emit_mode(const struct field *f, const void *base)
{
	const char *s = *AT(base, f->off, const char *);
	long long id;

	if (!s)
		return NULL;
	return parse_ll(s, &id) ? json_integer(id) : json_string(s);
}

static json_t *schema_mode(const struct field *f)
{
	(void)f;
	return json_pack("{s:[{s:s, s:i, s:i}, {s:s, s:s}]}", "oneOf",
			 "type", "integer", "minimum", 0, "maximum", 99,
			 "type", "string", "pattern", "^[A-Za-z0-9_ .-]{1,47}$");
}

static const struct custom custom_mode = {
	parse_mode, emit_mode, schema_mode, NULL,
};

/* models[].devices: all, an id, label:NAME, or a list of ids and labels. */
static void parse_selector(struct cfg_load *L, const struct field *f,
			   void *base, const struct cfg_node *v)
{
	const struct field strv = { .type = FT_STRV, .off = f->off,
		.valid = valid_nonempty, .expect = "a device id or label:NAME" };
	struct coh_config_strv *sv = AT(base, f->off, struct coh_config_strv);

	if (v->kind == CFG_SCALAR && *v->str) {
		const char **one = cfg_alloc(&L->arena, 2 * sizeof(*one));

		if (!one)
			return;
		one[0] = v->str;
		sv->v = one;
		sv->count = 1;
		return;
	}
	if (v->kind != CFG_SEQ || !v->count) {
		bad_value(L, v, "all, a device id, label:NAME or a list of them", NULL);
		return;
	}
	type_strv(L, &strv, base, v);
}

static json_t *emit_selector(const struct field *f, const void *base)
{
	const struct coh_config_strv *sv = AT(base, f->off, const struct coh_config_strv);
	json_t *a;

	if (sv->count == 1)
		return json_string(sv->v[0]);
	a = json_array();
	for (size_t i = 0; a && i < sv->count; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static json_t *schema_selector(const struct field *f)
{
	(void)f;
	return json_pack("{s:[{s:s, s:i}, {s:s, s:{s:s, s:i}, s:i}], s:s}", "oneOf",
			 "type", "string", "minLength", 1,
			 "type", "array", "items", "type", "string", "minLength", 1,
			 "minItems", 1, "default", "all");
}

static const struct custom custom_selector = {
	parse_selector, emit_selector, schema_selector, "all",
};

/* models[].quantization: a level of the quant module, any case, or auto. */
bool cfg_quant_level(const char *text, const char **canon)
{
	const char *name;

	if (!strcasecmp(text, "auto")) {
		*canon = "auto";
		return true;
	}
	for (int t = 0; t < 64; t++) {
		name = coh_ftype_name((enum coh_ftype)t);
		if (name && !strcasecmp(text, name)) {
			*canon = name;
			return true;
		}
	}
	return false;
}

static void parse_quant(struct cfg_load *L, const struct field *f,
			void *base, const struct cfg_node *v)
{
	const char *canon, *names[65], *close;
	char upper[64], hint[64] = "";
	size_t n = 0;

	if (v->kind == CFG_SCALAR && cfg_quant_level(v->str, &canon)) {
		*AT(base, f->off, const char *) = canon;
		return;
	}
	names[n++] = "auto";
	for (int t = 0; t < 64; t++)
		if ((names[n] = coh_ftype_name((enum coh_ftype)t)))
			n++;
	if (v->kind == CFG_SCALAR) {
		snprintf(upper, sizeof(upper), "%s", v->str);
		for (char *p = upper; *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		if ((close = pep_closest_word(upper, names, n)))
			snprintf(hint, sizeof(hint), "; did you mean '%s'?", close);
	}
	bad_value(L, v, "a quantization level (Q4_0, Q4_K_M, Q8_0, F16, ... or auto)",
		  hint);
}

static json_t *schema_quant(const struct field *f)
{
	json_t *e = json_array();
	const char *name;
	char lower[32];

	(void)f;
	json_array_append_new(e, json_string("auto"));
	for (int t = 0; t < 64; t++) {
		if (!(name = coh_ftype_name((enum coh_ftype)t)))
			continue;
		json_array_append_new(e, json_string(name));
		snprintf(lower, sizeof(lower), "%s", name);
		for (char *p = lower; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		json_array_append_new(e, json_string(lower));
	}
	return json_pack("{s:s, s:o, s:s}", "type", "string", "enum", e,
			 "default", "auto");
}

static const struct custom custom_quant = {
	parse_quant, emit_str, schema_quant, "auto",
};

/* models[].resolved: written by `config show`, worked out again on load. */
static void parse_resolved(struct cfg_load *L, const struct field *f,
			   void *base, const struct cfg_node *v)
{
	(void)f;
	(void)base;
	if (v->kind != CFG_SCALAR)
		bad_value(L, v, "a string", NULL);
}

static json_t *schema_resolved(const struct field *f)
{
	(void)f;
	return json_pack("{s:s, s:b}", "type", "string", "readOnly", 1);
}

static const struct custom custom_resolved = {
	parse_resolved, emit_str, schema_resolved, NULL,
};

/* power.fan: auto, a PWM value 0..255, or "NN%". */
static void parse_fan(struct cfg_load *L, const struct field *f, void *base,
		      const struct cfg_node *v)
{
	long long n;
	size_t len = v->kind == CFG_SCALAR ? strlen(v->str) : 0;
	char num[32];

	if (v->kind == CFG_SCALAR && !strcmp(v->str, "auto")) {
		*AT(base, f->off, int32_t) = -1;
		return;
	}
	if (v->kind == CFG_SCALAR && parse_ll(v->str, &n) && n >= 0 && n <= 255) {
		*AT(base, f->off, int32_t) = (int32_t)n;
		return;
	}
	if (len > 1 && len < sizeof(num) && v->str[len - 1] == '%') {
		memcpy(num, v->str, len - 1);
		num[len - 1] = '\0';
		if (parse_ll(num, &n) && n >= 0 && n <= 100) {
			*AT(base, f->off, int32_t) = (int32_t)((n * 255 + 50) / 100);
			return;
		}
	}
	bad_value(L, v, "auto, a PWM value from 0 to 255, or a percentage (\"60%\")", NULL);
}

static json_t *emit_fan(const struct field *f, const void *base)
{
	int32_t pwm = *AT(base, f->off, const int32_t);

	return pwm < 0 ? json_string("auto") : json_integer(pwm);
}

static json_t *schema_fan(const struct field *f)
{
	(void)f;
	return json_pack("{s:[{s:s, s:[s]}, {s:s, s:i, s:i}, {s:s, s:s}], s:s}", "oneOf",
			 "type", "string", "enum", "auto",
			 "type", "integer", "minimum", 0, "maximum", 255,
			 "type", "string", "pattern", "^(100|[1-9]?[0-9])%$",
			 "default", "auto");
}

static const struct custom custom_fan = {
	parse_fan, emit_fan, schema_fan, "auto",
};

/*
 * agent.listen: "ADDR:PORT" or "[ADDR6]:PORT", numeric, as `cohete agent
 * --listen` takes it. Parsed here: the agent module comes after config.
 */
static bool split_listen(const char *s, char *addr, size_t size,
			 uint16_t *port)
{
	const char *colon, *host = s;
	size_t hlen;
	long long p;
	unsigned char tmp[16];

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return false;
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', (size_t)(colon - s)))
			return false;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= size || !parse_ll(colon + 1, &p) || p < 0 ||
	    p > 65535 || colon[1] == '-')
		return false;
	memcpy(addr, host, hlen);
	addr[hlen] = '\0';
	if (inet_pton(s[0] == '[' ? AF_INET6 : AF_INET, addr, tmp) != 1)
		return false;
	*port = (uint16_t)p;
	return true;
}

static void parse_listen(struct cfg_load *L, const struct field *f,
			 void *base, const struct cfg_node *v)
{
	struct coh_config_agent *a = base;
	char addr[64];
	uint16_t port;

	(void)f;
	if (v->kind != CFG_SCALAR || !split_listen(v->str, addr, sizeof(addr), &port)) {
		bad_value(L, v, "a numeric ADDR:PORT (\"0.0.0.0:9102\", \"[::1]:9102\")", NULL);
		return;
	}
	a->listen = v->str;
	a->listen_addr = cfg_strdup(&L->arena, addr);
	a->listen_port = port;
}

static json_t *schema_listen(const struct field *f)
{
	(void)f;
	return json_pack("{s:s, s:s, s:s}", "type", "string",
			 "pattern", "^(\\[[0-9A-Fa-f:.]+\\]|[0-9.]+):[0-9]{1,5}$",
			 "default", "127.0.0.1:9102");
}

static const struct custom custom_listen = {
	parse_listen, emit_str, schema_listen, "127.0.0.1:9102",
};

/* ==== the tables ==== */

#define DEV(m) offsetof(struct coh_config_device, m)
#define INF_(m) offsetof(struct coh_config_inference, m)

static const char *const no_labels[] = { NULL };

static const struct field inference_fields[] = {
	{ .name = "port", .type = FT_U32, .off = INF_(port), .min = 1, .max = 65535,
	  .def = "8080", .doc = "TCP port of the inference engine's OpenAI-compatible API" },
	{ .name = "host", .type = FT_STR, .off = INF_(host), .def = "0.0.0.0",
	  .valid = valid_nonempty, .expect = "an address", .doc = "address the engine binds" },
	{ .name = "max_batch_size", .type = FT_U32, .off = INF_(max_batch_size),
	  .min = 1, .max = 1024, .def = "4", .doc = "largest batch the engine forms (llama-server -b)" },
	{ .name = "context_length", .type = FT_U32, .off = INF_(context_length),
	  .min = 16, .max = 1048576, .def = "2048", .doc = "context window in tokens (-c)" },
	{ .name = "api_compatibility", .type = FT_ENUM, .flags = F_STRVAL, .off = INF_(api_compatibility),
	  .values = (const char *const[]){ "openai", NULL }, .def = "openai",
	  .doc = "the HTTP API served: openai" },
	{ .name = "engine", .type = FT_ENUM, .flags = F_STRVAL, .off = INF_(engine),
	  .values = (const char *const[]){ "llama-server", NULL }, .def = "llama-server",
	  .doc = "the inference engine: llama-server (llama.cpp)" },
	{ .name = "engine_path", .type = FT_STR, .off = INF_(engine_path),
	  .def = "llama-server", .valid = valid_nonempty, .expect = "a program",
	  .doc = "the engine program on the device (PATH is searched)" },
	{ .name = "engine_args", .type = FT_STRV, .off = INF_(engine_args),
	  .defv = no_labels, .doc = "extra arguments for the engine" },
	{ .name = "threads", .type = FT_U32, .off = INF_(threads), .min = 0, .max = 1024,
	  .def = "0", .doc = "CPU threads; 0 = the engine's choice" },
	{ .name = "gpu_layers", .type = FT_U32, .off = INF_(gpu_layers), .min = 0,
	  .max = 999, .def = "999", .doc = "layers offloaded to the GPU (-ngl); 999 = all" },
	{ .name = "parallel", .type = FT_U32, .off = INF_(parallel), .min = 1, .max = 256,
	  .def = "1", .doc = "parallel slots (-np); also `cohete quantize --parallel`'s default" },
};

static const struct table inference_table = {
	inference_fields, sizeof(inference_fields) / sizeof(inference_fields[0]), 0, 0, NULL,
};

/* Copy what fleet.defaults sets into a new device, and the inference section. */
static void device_init(struct cfg_load *L, void *item);

#define DEVICE_COMMON_FIELDS \
	{ .name = "user", .type = FT_STR, .off = DEV(user), .def = "nvidia", \
	  .valid = valid_word, .expect = "a user name", .doc = "ssh user" }, \
	{ .name = "port", .type = FT_U32, .off = DEV(port), .min = 1, .max = 65535, \
	  .def = "22", .doc = "ssh port" }, \
	{ .name = "identity", .type = FT_PATH, .off = DEV(identity), \
	  .valid = valid_nonempty, .expect = "a key file", \
	  .doc = "ssh private key (\"~/\" is the home directory); default: ssh's own" }, \
	{ .name = "thermal_policy", .type = FT_STR, .off = DEV(thermal_policy), \
	  .def = "conservative", .valid = valid_policy_name, \
	  .pattern = "^[A-Za-z0-9._-]{1,31}$", .expect = "a policy name", \
	  .doc = "the thermal policy (a name under thermal:)" }, \
	{ .name = "memory_budget_mb", .type = FT_U64, .off = DEV(memory_budget_mb), \
	  .min = 1, .max = 1048576, .doc = "memory the device's models may use, MiB; at most its RAM" }, \
	{ .name = "power_mode", .type = FT_CUSTOM, .off = DEV(power_mode), \
	  .custom = &custom_mode, .doc = "nvpmodel mode, id or name; default power.mode" }, \
	{ .name = "labels", .type = FT_STRV, .off = DEV(labels), .defv = no_labels, \
	  .valid = valid_label, .pattern = "^[a-z0-9_-]{1,63}$", \
	  .expect = "a label ([a-z0-9_-])", .doc = "labels models select devices by (label:NAME)" }

static const struct field defaults_fields[] = {
	DEVICE_COMMON_FIELDS,
};

static const struct table defaults_table = {
	defaults_fields, sizeof(defaults_fields) / sizeof(defaults_fields[0]), 0, 0, NULL,
};

static const struct field device_fields[] = {
	{ .name = "id", .type = FT_STR, .off = DEV(id), .flags = F_REQUIRED,
	  .valid = valid_id, .pattern = "^[A-Za-z0-9._-]{1,63}$",
	  .expect = "a device id ([A-Za-z0-9._-], 1 to 63)", .doc = "unique name of the device" },
	{ .name = "connection", .type = FT_ENUM, .off = DEV(connection),
	  .values = (const char *const[]){ "ssh", "usb", "mdns", NULL },
	  .aliases = (const char *const[]){ "ethernet", "ssh", NULL }, .def = "ssh",
	  .doc = "how cohete reaches it: ssh, usb (the USB gadget network) or mdns" },
	{ .name = "host", .type = FT_STR, .off = DEV(host), .valid = valid_word,
	  .expect = "a host name or address",
	  .doc = "address; required for ssh; usb: 192.168.55.1; mdns: <id>.local" },
	{ .name = "ip", .type = FT_STR, .off = DEV(host), .flags = F_NOEMIT,
	  .valid = valid_word, .expect = "a host name or address",
	  .doc = "the upstream spelling of host" },
	DEVICE_COMMON_FIELDS,
	{ .name = "module", .type = FT_CUSTOM, .off = DEV(module_name),
	  .custom = &custom_module,
	  .doc = "Jetson module: P-number (p3767-0005) or name (Orin Nano 8GB); makes its RAM known" },
	{ .name = "serial", .type = FT_STR, .off = DEV(serial), .valid = valid_nonempty,
	  .expect = "a serial number", .doc = "serial number (written by discover --save)" },
	{ .name = "l4t", .type = FT_STR, .off = DEV(l4t), .valid = valid_word,
	  .expect = "an L4T release (36.4.3)", .doc = "L4T release, for information" },
	{ .name = "ram_mb", .type = FT_U64, .off = DEV(ram_mb), .min = 1, .max = 1048576,
	  .doc = "MemTotal in MiB (written by discover --save); wins over the module's" },
	{ .name = "inference", .type = FT_MAP, .off = DEV(inference), .sub = &inference_table,
	  .doc = "this device's overrides of the inference section" },
};

static const struct table device_table = {
	device_fields, sizeof(device_fields) / sizeof(device_fields[0]),
	sizeof(struct coh_config_device), 0, device_init,
};

static void device_init(struct cfg_load *L, void *item)
{
	struct coh_config_device *d = item;

	for (size_t i = 0; i < defaults_table.count; i++) {
		size_t off = defaults_fields[i].off, size;

		switch (defaults_fields[i].type) {
		case FT_U32:
			size = sizeof(uint32_t);
			break;
		case FT_U64:
			size = sizeof(uint64_t);
			break;
		case FT_STRV:
			size = sizeof(struct coh_config_strv);
			break;
		default:
			size = sizeof(const char *);
			break;
		}
		memcpy((char *)d + off, (char *)&L->defaults + off, size);
	}
	d->inference = L->cfg.inference;
}

#define MOD(m) offsetof(struct coh_config_model, m)

static void model_init(struct cfg_load *L, void *item)
{
	((struct coh_config_model *)item)->context_length =
		L->cfg.inference.context_length;
}

static const struct field model_fields[] = {
	{ .name = "name", .type = FT_STR, .off = MOD(name), .flags = F_REQUIRED,
	  .valid = valid_word, .pattern = "^[A-Za-z0-9._+:@-]{1,255}$",
	  .expect = "a model name ([A-Za-z0-9._+:@-])", .doc = "unique name of the model" },
	{ .name = "source", .type = FT_STR, .off = MOD(source), .flags = F_REQUIRED,
	  .valid = valid_nonempty, .expect = "a path or URL",
	  .doc = "local path (relative to this file), http(s):// URL, hf://ORG/REPO/FILE or pacha://HOST/PATH" },
	{ .name = "resolved", .type = FT_CUSTOM, .off = MOD(resolved_url),
	  .custom = &custom_resolved,
	  .doc = "where source resolves to (written by config show; worked out again on load)" },
	{ .name = "sha256", .type = FT_STR, .off = MOD(sha256), .valid = valid_sha256,
	  .pattern = "^[0-9a-fA-F]{64}$", .expect = "64 hex digits",
	  .doc = "SHA-256 of the model file" },
	{ .name = "quantization", .type = FT_CUSTOM, .off = MOD(quantization),
	  .custom = &custom_quant, .doc = "level to run it at (Q4_0, Q4_K_M, Q8_0, F16, ...) or auto" },
	{ .name = "devices", .type = FT_CUSTOM, .off = MOD(devices),
	  .custom = &custom_selector,
	  .doc = "where it runs: all, a device id, label:NAME, or a list of them" },
	{ .name = "context_length", .type = FT_U32, .off = MOD(context_length),
	  .min = 16, .max = 1048576, .doc = "context window; default inference.context_length" },
};

static const struct table model_table = {
	model_fields, sizeof(model_fields) / sizeof(model_fields[0]),
	sizeof(struct coh_config_model), 0, model_init,
};

#define POL(m) offsetof(struct coh_config_policy, m)

static void policy_init(struct cfg_load *L, void *item)
{
	(void)L;
	((struct coh_config_policy *)item)->warning_c = NAN;
}

static const struct field policy_fields[] = {
	{ .name = "threshold_c", .type = FT_F64, .off = POL(threshold_c), .flags = F_REQUIRED,
	  .min = 20, .max = 120, .doc = "trip: work stops at or above this temperature (°C)" },
	{ .name = "cooldown_c", .type = FT_F64, .off = POL(cooldown_c), .flags = F_REQUIRED,
	  .min = 0, .max = 120, .doc = "work resumes below this (°C); below threshold_c" },
	{ .name = "warning_c", .type = FT_F64, .off = POL(warning_c), .min = 0, .max = 120,
	  .doc = "warning level (°C); above cooldown_c, at most threshold_c; default threshold_c - 5" },
	{ .name = "check_interval_ms", .type = FT_U32, .off = POL(check_interval_ms),
	  .flags = F_REQUIRED, .min = 10, .max = 60000, .doc = "how often the temperature is read" },
	{ .name = "action", .type = FT_ENUM, .off = POL(action),
	  .values = (const char *const[]){ "pause", "stop", "throttle", NULL },
	  .def = "pause", .doc = "what a trip does to the work: pause, stop or throttle" },
};

static const struct table policy_table = {
	policy_fields, sizeof(policy_fields) / sizeof(policy_fields[0]),
	sizeof(struct coh_config_policy), POL(name), policy_init,
};

static const char *const default_methods[] = { NULL };

#define CFG(m) offsetof(struct cfg_load, cfg.m)

static const struct field discovery_fields[] = {
	{ .name = "methods", .type = FT_CUSTOM, .off = offsetof(struct coh_config_discovery, methods),
	  .custom = &custom_methods, .doc = "where to look: usb, mdns, ssh ({static: [hosts]} = ssh to those)" },
	{ .name = "ssh_hosts", .type = FT_STRV, .off = offsetof(struct coh_config_discovery, ssh_hosts),
	  .defv = default_methods, .valid = valid_word,
	  .expect = "a host, user@host or user@host:port", .doc = "hosts to try over ssh" },
	{ .name = "timeout_s", .type = FT_U32, .off = offsetof(struct coh_config_discovery, timeout_s),
	  .min = 1, .max = 120, .def = "5", .doc = "how long discovery waits" },
};

static const struct table discovery_table = {
	discovery_fields, sizeof(discovery_fields) / sizeof(discovery_fields[0]), 0, 0, NULL,
};

static const struct field fleet_fields[] = {
	{ .name = "name", .type = FT_STR, .off = CFG(fleet_name), .def = "",
	  .doc = "name of the fleet" },
	{ .name = "defaults", .type = FT_MAP, .off = offsetof(struct cfg_load, defaults),
	  .sub = &defaults_table, .doc = "what every device starts from (its own keys win)" },
	{ .name = "devices", .type = FT_LIST, .off = CFG(devices), .off2 = CFG(device_count),
	  .sub = &device_table, .nodes_off = offsetof(struct cfg_load, device_nodes),
	  .doc = "the devices; an included inventory's devices merge with these by id" },
};

static const struct table fleet_table = {
	fleet_fields, sizeof(fleet_fields) / sizeof(fleet_fields[0]), 0, 0, NULL,
};

#define PWR(m) offsetof(struct coh_config_power, m)

static const struct field power_fields[] = {
	{ .name = "mode", .type = FT_CUSTOM, .off = PWR(mode), .custom = &custom_mode,
	  .doc = "power mode of devices without power_mode (id or name)" },
	{ .name = "jetson_clocks", .type = FT_BOOL, .off = PWR(jetson_clocks), .def = "false",
	  .doc = "pin the clocks at setup and as `cohete clocks on`'s default" },
	{ .name = "fan", .type = FT_CUSTOM, .off = PWR(fan_pwm), .custom = &custom_fan,
	  .doc = "fan: auto, a PWM value 0..255 or \"NN%\"" },
	{ .name = "nvpmodel", .type = FT_STR, .off = PWR(nvpmodel), .def = "nvpmodel",
	  .valid = valid_nonempty, .expect = "a program", .doc = "the nvpmodel program" },
	{ .name = "jetson_clocks_path", .type = FT_STR, .off = PWR(jetson_clocks_path),
	  .def = "jetson_clocks", .valid = valid_nonempty, .expect = "a program",
	  .doc = "the jetson_clocks program" },
	{ .name = "max_temp_c", .type = FT_F64, .off = PWR(max_temp_c), .min = 20, .max = 120,
	  .def = "60", .doc = "`cohete clocks on` refuses at or above this (°C)" },
};

static const struct table power_table = {
	power_fields, sizeof(power_fields) / sizeof(power_fields[0]), 0, 0, NULL,
};

#define STO(m) offsetof(struct coh_config_storage, m)

static const struct field nvme_fields[] = {
	{ .name = "enabled", .type = FT_BOOL, .off = STO(nvme.enabled), .def = "false",
	  .doc = "put models and swap on an NVMe drive" },
	{ .name = "device", .type = FT_STR, .off = STO(nvme.device), .valid = valid_nonempty,
	  .expect = "a block device", .doc = "the drive (/dev/nvme0n1); default: detect" },
	{ .name = "mount_point", .type = FT_STR, .off = STO(nvme.mount_point),
	  .def = "/mnt/nvme", .valid = valid_nonempty, .expect = "a directory", .doc = "where it is mounted" },
	{ .name = "filesystem", .type = FT_ENUM, .flags = F_STRVAL, .off = STO(nvme.filesystem),
	  .values = (const char *const[]){ "ext4", "xfs", "btrfs", NULL }, .def = "ext4",
	  .doc = "its file system" },
};

static const struct table nvme_table = {
	nvme_fields, sizeof(nvme_fields) / sizeof(nvme_fields[0]), 0, 0, NULL,
};

static const char *const zram_algos[] = { "lz4", "lzo", "lzo-rle", "zstd", "lz4hc", "842", NULL };

static const struct field zram_fields[] = {
	{ .name = "enabled", .type = FT_BOOL, .off = STO(zram.enabled), .def = "true",
	  .doc = "compressed swap in RAM" },
	{ .name = "size_mb", .type = FT_U64, .off = STO(zram.size_mb), .min = 0,
	  .max = 1048576, .def = "0", .doc = "its size, MiB; 0 = half of RAM" },
	{ .name = "algorithm", .type = FT_ENUM, .flags = F_STRVAL, .off = STO(zram.algorithm),
	  .values = zram_algos, .def = "lz4", .doc = "compression algorithm" },
	{ .name = "priority", .type = FT_I32, .off = STO(zram.priority), .min = -1,
	  .max = 32767, .def = "100", .doc = "swap priority" },
};

static const struct table zram_table = {
	zram_fields, sizeof(zram_fields) / sizeof(zram_fields[0]), 0, 0, NULL,
};

static const struct field swapfile_fields[] = {
	{ .name = "enabled", .type = FT_BOOL, .off = STO(swapfile.enabled), .def = "false",
	  .doc = "a swap file" },
	{ .name = "path", .type = FT_STR, .off = STO(swapfile.path),
	  .def = "/mnt/nvme/swapfile", .valid = valid_nonempty, .expect = "a file", .doc = "where" },
	{ .name = "size_gb", .type = FT_U64, .off = STO(swapfile.size_gb), .min = 1,
	  .max = 4096, .def = "16", .doc = "its size, GiB" },
};

static const struct table swapfile_table = {
	swapfile_fields, sizeof(swapfile_fields) / sizeof(swapfile_fields[0]), 0, 0, NULL,
};

static const struct field swap_fields[] = {
	{ .name = "zram", .type = FT_MAP, .off = 0, .sub = &zram_table, .doc = "zram swap" },
	{ .name = "file", .type = FT_MAP, .off = 0, .sub = &swapfile_table, .doc = "swap file" },
};

static const struct table swap_table = {
	swap_fields, sizeof(swap_fields) / sizeof(swap_fields[0]), 0, 0, NULL,
};

static const struct field storage_fields[] = {
	{ .name = "models_dir", .type = FT_STR, .off = STO(models_dir),
	  .def = "/var/lib/cohete/models", .valid = valid_nonempty, .expect = "a directory",
	  .doc = "where models are put on the device" },
	{ .name = "nvme", .type = FT_MAP, .off = 0, .sub = &nvme_table, .doc = "NVMe drive" },
	{ .name = "swap", .type = FT_MAP, .off = 0, .sub = &swap_table, .doc = "swap" },
};

static const struct table storage_table = {
	storage_fields, sizeof(storage_fields) / sizeof(storage_fields[0]), 0, 0, NULL,
};

#define PRV(m) offsetof(struct coh_config_provision, m)

static const struct field pnvme_fields[] = {
	{ .name = "enabled", .type = FT_BOOL, .off = PRV(nvme.enabled), .def = "true",
	  .doc = "set up the NVMe drive" },
	{ .name = "mount_point", .type = FT_STR, .off = PRV(nvme.mount_point), .def = "/mnt/nvme",
	  .valid = valid_nonempty, .expect = "a directory", .doc = "where it is mounted" },
	{ .name = "swap_size_gb", .type = FT_U64, .off = PRV(nvme.swap_size_gb), .min = 0,
	  .max = 4096, .def = "16", .doc = "swap file on it, GiB; 0 = none" },
};

static const struct table pnvme_table = {
	pnvme_fields, sizeof(pnvme_fields) / sizeof(pnvme_fields[0]), 0, 0, NULL,
};

static const struct field pssh_fields[] = {
	{ .name = "copy_id", .type = FT_BOOL, .off = PRV(ssh.copy_id), .def = "true",
	  .doc = "install the ssh key on the device" },
	{ .name = "config_host", .type = FT_STR, .off = PRV(ssh.config_host), .def = "jetson",
	  .valid = valid_word, .expect = "a Host name", .doc = "Host entry written to ~/.ssh/config" },
	{ .name = "user", .type = FT_STR, .off = PRV(ssh.user), .def = "nvidia",
	  .valid = valid_word, .expect = "a user name", .doc = "user on the device" },
	{ .name = "key", .type = FT_PATH, .off = PRV(ssh.key), .valid = valid_nonempty,
	  .expect = "a key file", .doc = "private key (\"~/\" is the home directory)" },
};

static const struct table pssh_table = {
	pssh_fields, sizeof(pssh_fields) / sizeof(pssh_fields[0]), 0, 0, NULL,
};

static const struct field pzram_fields[] = {
	{ .name = "enabled", .type = FT_BOOL, .off = PRV(zram.enabled), .def = "true",
	  .doc = "set up zram swap" },
	{ .name = "priority", .type = FT_I32, .off = PRV(zram.priority), .min = -1,
	  .max = 32767, .def = "100", .doc = "swap priority" },
	{ .name = "compression_algorithm", .type = FT_ENUM, .flags = F_STRVAL, .off = PRV(zram.compression_algorithm),
	  .values = zram_algos, .def = "lz4", .doc = "compression algorithm" },
};

static const struct table pzram_table = {
	pzram_fields, sizeof(pzram_fields) / sizeof(pzram_fields[0]), 0, 0, NULL,
};

static const char *const default_packages[] = { "nvtop", "htop", "tmux", NULL };

static const struct field provision_fields[] = {
	{ .name = "nvme", .type = FT_MAP, .off = 0, .sub = &pnvme_table, .doc = "NVMe setup" },
	{ .name = "ssh", .type = FT_MAP, .off = 0, .sub = &pssh_table, .doc = "ssh access" },
	{ .name = "packages", .type = FT_STRV, .off = PRV(packages), .defv = default_packages,
	  .valid = valid_word, .expect = "a package name", .doc = "Debian packages to install" },
	{ .name = "zram", .type = FT_MAP, .off = 0, .sub = &pzram_table, .doc = "zram swap" },
};

static const struct table provision_table = {
	provision_fields, sizeof(provision_fields) / sizeof(provision_fields[0]), 0, 0, NULL,
};

#define AGT(m) offsetof(struct coh_config_agent, m)

static const struct field agent_fields[] = {
	{ .name = "listen", .type = FT_CUSTOM, .off = AGT(listen), .custom = &custom_listen,
	  .doc = "numeric ADDR:PORT of metrics and the control API" },
	{ .name = "interval_ms", .type = FT_U32, .off = AGT(interval_ms), .min = 100,
	  .max = 60000, .def = "1000", .doc = "time between full samples" },
	{ .name = "token_file", .type = FT_STR, .off = AGT(token_file), .valid = valid_nonempty,
	  .expect = "a file", .doc = "bearer token of the control API; none: control refused" },
	{ .name = "policy", .type = FT_STR, .off = AGT(policy), .def = "conservative",
	  .valid = valid_policy_name, .pattern = "^[A-Za-z0-9._-]{1,31}$",
	  .expect = "a policy name", .doc = "the thermal policy it enforces" },
	{ .name = "state_dir", .type = FT_STR, .off = AGT(state_dir), .valid = valid_nonempty,
	  .expect = "a directory", .doc = "where paused work is remembered" },
	{ .name = "workload_users", .type = FT_STRV, .off = AGT(workload_users),
	  .defv = no_labels, .valid = valid_word, .expect = "a user name or uid",
	  .doc = "users whose processes it may pause" },
	{ .name = "mdns", .type = FT_BOOL, .off = AGT(mdns), .def = "true",
	  .doc = "announce _cohete._tcp over mDNS" },
};

static const struct table agent_table = {
	agent_fields, sizeof(agent_fields) / sizeof(agent_fields[0]), 0, 0, NULL,
};

static json_t *schema_include(const struct field *f)
{
	(void)f;
	return json_pack("{s:[{s:s}, {s:s, s:{s:s}}]}", "oneOf", "type", "string",
			 "type", "array", "items", "type", "string");
}

static const struct custom custom_include = {
	NULL, NULL, schema_include, NULL,
};

static const struct field root_fields[] = {
	{ .name = "version", .type = FT_CUSTOM, .off = CFG(version), .custom = &custom_version,
	  .doc = "version of the file format: \"1.0\"" },
	{ .name = "include", .type = FT_SKIP, .flags = F_NOEMIT, .custom = &custom_include,
	  .doc = "files merged under this one (paths relative to it); devices merge by id, models by name" },
	{ .name = "mirrors", .type = FT_CUSTOM, .off = CFG(mirrors), .off2 = CFG(mirror_count),
	  .custom = &custom_mirrors, .doc = "source prefixes and the URLs they resolve to (longest prefix wins)" },
	{ .name = "discovery", .type = FT_MAP, .off = CFG(discovery), .sub = &discovery_table,
	  .doc = "how `cohete discover` looks for devices" },
	{ .name = "fleet", .type = FT_MAP, .off = 0, .flags = F_LATE, .sub = &fleet_table,
	  .doc = "the devices" },
	{ .name = "models", .type = FT_LIST, .off = CFG(models), .off2 = CFG(model_count),
	  .flags = F_LATE, .sub = &model_table, .nodes_off = offsetof(struct cfg_load, model_nodes),
	  .doc = "the models and where they run; an included file's merge by name" },
	{ .name = "thermal", .type = FT_DICT, .off = offsetof(struct cfg_load, file_policies),
	  .off2 = offsetof(struct cfg_load, file_policy_count), .sub = &policy_table,
	  .valid = valid_policy_name, .pattern = "^[A-Za-z0-9._-]{1,31}$",
	  .expect = "a policy name ([A-Za-z0-9._-], 1 to 31)",
	  .nodes_off = offsetof(struct cfg_load, policy_nodes),
	  .emit_off = CFG(policies), .emit_off2 = CFG(policy_count),
	  .doc = "thermal policies by name; conservative and aggressive exist unless redefined" },
	{ .name = "power", .type = FT_MAP, .off = CFG(power), .sub = &power_table,
	  .doc = "power modes, clocks, fan" },
	{ .name = "inference", .type = FT_MAP, .off = CFG(inference), .sub = &inference_table,
	  .doc = "the inference engine on every device (devices may override)" },
	{ .name = "storage", .type = FT_MAP, .off = CFG(storage), .sub = &storage_table,
	  .doc = "models directory, NVMe, swap" },
	{ .name = "provision", .type = FT_MAP, .off = CFG(provision), .sub = &provision_table,
	  .doc = "first-time setup of a device" },
	{ .name = "agent", .type = FT_MAP, .off = CFG(agent), .sub = &agent_table,
	  .doc = "the on-device agent (`cohete agent`)" },
};

static const struct table root_table = {
	root_fields, sizeof(root_fields) / sizeof(root_fields[0]), 0, 0, NULL,
};

/* ==== typing the root ==== */

static void builtin_mirrors(struct cfg_load *L)
{
	struct coh_config_mirror *m = cfg_alloc(&L->arena, sizeof(*m));

	if (!m)
		return;
	*m = (struct coh_config_mirror){ "hf://", "https://huggingface.co/" };
	L->cfg.mirrors = m;
	L->cfg.mirror_count = 1;
}

void cfg_type_root(struct cfg_load *L)
{
	L->path[0] = '\0';
	L->pathlen = 0;
	set_defaults(L, &root_table, L);
	L->cfg.discovery.methods = COH_CONFIG_DISCOVER_USB | COH_CONFIG_DISCOVER_MDNS;
	builtin_mirrors(L);
	type_map(L, &root_table, L, L->root);
}

/* ==== the configuration as JSON ==== */

static json_t *table_json(const struct table *t, const void *base);

static json_t *number_json(double d)
{
	return d == floor(d) && fabs(d) < 1e15 ? json_integer((json_int_t)d) :
						 json_real(d);
}

static json_t *strv_json(const struct coh_config_strv *sv)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < sv->count; i++)
		json_array_append_new(a, json_string(sv->v[i]));
	return a;
}

static json_t *items_json(const struct field *f, const void *base)
{
	size_t off = f->emit_off ? f->emit_off : f->off;
	size_t off2 = f->emit_off ? f->emit_off2 : f->off2;
	const char *items = *AT(base, off, const char *const);
	size_t n = *AT(base, off2, const size_t);
	json_t *out = f->type == FT_DICT ? json_object() : json_array();

	for (size_t i = 0; out && i < n; i++) {
		const void *item = items + i * f->sub->item_size;
		json_t *o = table_json(f->sub, item);

		if (f->type == FT_DICT)
			json_object_set_new(out, *AT(item, f->sub->name_off,
						     const char *const), o);
		else
			json_array_append_new(out, o);
	}
	return out;
}

static json_t *field_json(const struct field *f, const void *base)
{
	switch (f->type) {
	case FT_STR:
	case FT_PATH: {
		const char *s = *AT(base, f->off, const char *const);

		return s ? json_string(s) : NULL;
	}
	case FT_U16:
		return json_integer(*AT(base, f->off, const uint16_t));
	case FT_U32:
		return json_integer(*AT(base, f->off, const uint32_t));
	case FT_U64: {
		uint64_t v = *AT(base, f->off, const uint64_t);

		/* 0 in a field whose minimum is above it: not set. */
		return v == 0 && f->min > 0 ? NULL : json_integer((json_int_t)v);
	}
	case FT_I32:
		return json_integer(*AT(base, f->off, const int32_t));
	case FT_F64:
		return number_json(*AT(base, f->off, const double));
	case FT_BOOL:
		return json_boolean(*AT(base, f->off, const bool));
	case FT_ENUM:
		if (f->flags & F_STRVAL)
			return json_string(*AT(base, f->off, const char *const));
		return json_string(f->values[*AT(base, f->off, const int)]);
	case FT_STRV:
		return strv_json(AT(base, f->off, const struct coh_config_strv));
	case FT_MAP:
		return table_json(f->sub, AT(base, f->off, const void));
	case FT_LIST:
	case FT_DICT:
		return items_json(f, base);
	case FT_CUSTOM:
		return f->custom->emit ? f->custom->emit(f, base) : NULL;
	default:
		return NULL;
	}
}

static json_t *table_json(const struct table *t, const void *base)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < t->count; i++) {
		const struct field *f = &t->fields[i];
		json_t *v;

		if (f->flags & F_NOEMIT)
			continue;
		v = field_json(f, base);
		if (v)
			json_object_set_new(o, f->name, v);
	}
	return o;
}

json_t *cfg_to_json(const struct coh_config *cfg)
{
	return table_json(&root_table, cfg_load_of(cfg));
}

/* ==== the JSON Schema ==== */

static json_t *table_schema(const struct table *t);

/* A default written as YAML text, as the JSON the field would emit. */
static json_t *default_json(const struct field *f)
{
	struct cfg_load *L;
	char *base;
	json_t *v = NULL;

	if (!f->def || f->type == FT_MAP)
		return NULL;
	/* Typed into scratch space by the loader's own code. */
	L = calloc(1, sizeof(*L));
	base = calloc(1, 256);
	if (L && base) {
		struct coh_config_diags d = { 0 };
		struct field g = *f;

		L->diags = &d;
		g.off = 0;
		set_default(L, &g, base);
		v = field_json(&g, base);
		coh_config_diags_free(&d);
		cfg_arena_free(&L->arena);
	}
	free(base);
	free(L);
	return v;
}

static json_t *schema_of(const struct field *f)
{
	json_t *s = NULL, *d;

	switch (f->type) {
	case FT_STR:
	case FT_PATH:
		s = json_pack("{s:s}", "type", "string");
		if (f->pattern)
			json_object_set_new(s, "pattern", json_string(f->pattern));
		else if (f->valid)
			json_object_set_new(s, "minLength", json_integer(1));
		break;
	case FT_U16:
	case FT_U32:
	case FT_U64:
	case FT_I32:
	case FT_F64:
		s = json_pack("{s:s, s:o}", "type", f->type == FT_F64 ? "number" : "integer",
			      "minimum", number_json(f->min));
		if (f->max != INF)
			json_object_set_new(s, "maximum", number_json(f->max));
		break;
	case FT_BOOL:
		s = json_pack("{s:s}", "type", "boolean");
		break;
	case FT_ENUM: {
		json_t *e = json_array();

		for (size_t i = 0; f->values[i]; i++)
			json_array_append_new(e, json_string(f->values[i]));
		for (size_t i = 0; f->aliases && f->aliases[i]; i += 2)
			json_array_append_new(e, json_string(f->aliases[i]));
		s = json_pack("{s:s, s:o}", "type", "string", "enum", e);
		break;
	}
	case FT_STRV: {
		json_t *item = json_pack("{s:s}", "type", "string");

		if (f->pattern)
			json_object_set_new(item, "pattern", json_string(f->pattern));
		s = json_pack("{s:s, s:o}", "type", "array", "items", item);
		if (f->defv)
			json_object_set_new(s, "default", strv_json(&(struct coh_config_strv){
				f->defv, 0 }));
		break;
	}
	case FT_MAP:
		s = table_schema(f->sub);
		break;
	case FT_LIST:
		s = json_pack("{s:s, s:o}", "type", "array", "items", table_schema(f->sub));
		break;
	case FT_DICT:
		s = json_pack("{s:s, s:{s:s}, s:o}", "type", "object", "propertyNames",
			      "pattern", f->pattern, "additionalProperties",
			      table_schema(f->sub));
		break;
	case FT_CUSTOM:
	case FT_SKIP:
		s = f->custom->schema(f);
		break;
	}
	if (!s)
		return NULL;
	json_object_set_new(s, "description", json_string(f->doc));
	if (!json_object_get(s, "default") && (d = default_json(f)))
		json_object_set_new(s, "default", d);
	return s;
}

static json_t *table_schema(const struct table *t)
{
	json_t *props = json_object(), *req = json_array();
	json_t *s = json_pack("{s:s, s:b}", "type", "object", "additionalProperties", 0);

	for (size_t i = 0; i < t->count; i++) {
		const struct field *f = &t->fields[i];

		json_object_set_new(props, f->name, schema_of(f));
		if (f->flags & F_REQUIRED)
			json_array_append_new(req, json_string(f->name));
	}
	json_object_set_new(s, "properties", props);
	if (json_array_size(req))
		json_object_set_new(s, "required", req);
	else
		json_decref(req);
	return s;
}

char *coh_config_schema_json(void)
{
	json_t *s = json_object(), *t = table_schema(&root_table);
	char *text = NULL;

	if (s && t) {
		json_object_set_new(s, "$schema",
				    json_string("https://json-schema.org/draft/2020-12/schema"));
		json_object_set_new(s, "$id",
				    json_string("https://cohete.dev/schema/cohete.yaml/1.0"));
		json_object_set_new(s, "title", json_string("cohete.yaml"));
		json_object_set_new(s, "description", json_string(
			"cohete's declarative configuration: devices, models, thermal "
			"policies, power, inference, storage, provisioning and the agent. "
			"Reference: docs/cohete-yaml.md"));
		json_object_update(s, t);
		text = json_dumps(s, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	}
	json_decref(t);
	json_decref(s);
	return text;
}
