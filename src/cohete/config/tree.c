/*
 * cohete.yaml files read into a tree of nodes that remember their file,
 * line and column, with ${VAR} expanded in every scalar and include:
 * merged. The tree is what the schema table types (schema.c).
 *
 * libyaml's event parser, not libcyaml: libcyaml stops at the first error,
 * cannot merge includes before typing, and keeps no node positions for the
 * checks that span fields, while every problem of a file must be reported
 * at once with its line and column.
 *
 * The tree is built without recursion (an explicit stack, nesting limited),
 * so hostile input cannot exhaust the C stack. Aliases share their anchor's
 * node, and nodes are never changed after they are built (merging copies),
 * so a shared node cannot be changed behind another's back.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "config_priv.h"

#define NEST_MAX	64	/* maps and lists inside each other */
#define ANCHORS_MAX	1024

/* ---- arena ---- */

struct cfg_arena_block {
	struct cfg_arena_block *next;
	max_align_t data[];
};

void *cfg_alloc(struct cfg_arena *a, size_t size)
{
	struct cfg_arena_block *b;

	if (size > SIZE_MAX - sizeof(*b))
		return NULL;
	b = calloc(1, sizeof(*b) + size);
	if (!b)
		return NULL;
	b->next = a->head;
	a->head = b;
	return b->data;
}

char *cfg_strndup(struct cfg_arena *a, const char *s, size_t n)
{
	char *p = cfg_alloc(a, n + 1);

	if (p)
		memcpy(p, s, n);
	return p;
}

char *cfg_strdup(struct cfg_arena *a, const char *s)
{
	return s ? cfg_strndup(a, s, strlen(s)) : NULL;
}

char *cfg_printf(struct cfg_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL, *p;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	p = cfg_strndup(a, s, (size_t)n);
	free(s);
	return p;
}

void cfg_arena_free(struct cfg_arena *a)
{
	struct cfg_arena_block *b = a->head, *next;

	for (; b; b = next) {
		next = b->next;
		free(b);
	}
	a->head = NULL;
}

/* ---- lookups ---- */

struct cfg_node *cfg_map_key(const struct cfg_node *map, const char *key)
{
	if (!map || map->kind != CFG_MAP)
		return NULL;
	for (size_t i = 0; i < map->count; i++)
		if (strcmp(map->pairs[i].key->str, key) == 0)
			return map->pairs[i].key;
	return NULL;
}

struct cfg_node *cfg_map_get(const struct cfg_node *map, const char *key)
{
	if (!map || map->kind != CFG_MAP)
		return NULL;
	for (size_t i = 0; i < map->count; i++)
		if (strcmp(map->pairs[i].key->str, key) == 0)
			return map->pairs[i].val;
	return NULL;
}

/* ---- the builder ---- */

struct frame {
	struct cfg_node *node;		/* the map or list being built */
	void *v;			/* pairs or items, malloc'd while open */
	size_t cap;
	struct cfg_node *key;		/* a map's key waiting for its value */
};

struct anchor {
	char *name;
	struct cfg_node *node;
};

struct builder {
	struct cfg_load *L;
	const char *file;
	struct frame stack[NEST_MAX];
	unsigned int depth;
	struct anchor anchors[ANCHORS_MAX];
	unsigned int anchor_count;
	struct cfg_node *root;
	unsigned int docs;
	bool failed;			/* a structural error: stop building */
};

/* The field path of the node about to be added ("fleet.devices[0].id"). */
static void builder_path(const struct builder *b, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < b->depth && n < size; i++) {
		const struct frame *f = &b->stack[i];

		if (f->node->kind == CFG_SEQ)
			n += (size_t)snprintf(buf + n, size - n, "[%zu]",
					      f->node->count);
		else if (f->key)
			n += (size_t)snprintf(buf + n, size - n, "%s%s",
					      n ? "." : "", f->key->str);
	}
}

static void builder_error(struct builder *b, const struct cfg_node *at,
			  const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void builder_error(struct builder *b, const struct cfg_node *at,
			  const char *fmt, ...)
{
	char path[512];
	va_list ap;

	builder_path(b, path, sizeof(path));
	va_start(ap, fmt);
	cfg_vdiag(b->L, COH_CONFIG_ERROR, at, path, fmt, ap);
	va_end(ap);
}

static bool var_start(char c)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool var_char(char c)
{
	return var_start(c) || (c >= '0' && c <= '9');
}

/* Append n bytes to a malloc'd buffer. -ENOMEM. */
static int buf_add(char **buf, size_t *len, size_t *cap, const char *s,
		   size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = (*cap ? *cap * 2 : 64);
		char *p;

		while (c < *len + n + 1)
			c *= 2;
		p = realloc(*buf, c);
		if (!p)
			return -ENOMEM;
		*buf = p;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/*
 * One ${...} at s (after the "${"): its value appended. Returns the bytes
 * consumed after "${", or -1 after reporting the error.
 */
static long expand_var(struct builder *b, const struct cfg_node *at,
		       const char *s, char **out, size_t *len, size_t *cap)
{
	const char *end = strchr(s, '}'), *val, *def = NULL;
	size_t name_len = 0;
	char name[128];

	if (!end) {
		builder_error(b, at, "'${' without a closing '}' (write $$ for a literal $)");
		return -1;
	}
	while (var_char(s[name_len]) && s + name_len < end)
		name_len++;
	if (!var_start(s[0]) || name_len >= sizeof(name) ||
	    (s + name_len != end && strncmp(s + name_len, ":-", 2) != 0)) {
		builder_error(b, at, "'${%.*s}' is not ${NAME} or ${NAME:-default}",
			      (int)(end - s), s);
		return -1;
	}
	memcpy(name, s, name_len);
	name[name_len] = '\0';
	if (s + name_len != end)
		def = s + name_len + 2;
	val = cfg_getenv(b->L, name);
	if (def && (!val || !*val)) {
		if (buf_add(out, len, cap, def, (size_t)(end - def)) < 0)
			return -1;
		return end - s + 1;
	}
	if (!val) {
		builder_error(b, at, "environment variable %s is not set (${%s:-default} gives a default)",
			      name, name);
		return -1;
	}
	if (buf_add(out, len, cap, val, strlen(val)) < 0)
		return -1;
	return end - s + 1;
}

/* text with ${VAR}, ${VAR:-default} and $$ expanded; NULL on error. */
static const char *expand(struct builder *b, const struct cfg_node *at,
			  const char *text)
{
	char *out = NULL;
	size_t len = 0, cap = 0;
	const char *s = text, *res;
	long used;

	if (!strchr(text, '$'))
		return cfg_strdup(&b->L->arena, text);
	if (buf_add(&out, &len, &cap, "", 0) < 0)
		return NULL;
	while (*s) {
		const char *d = strchr(s, '$');

		if (!d) {
			if (buf_add(&out, &len, &cap, s, strlen(s)) < 0)
				goto fail;
			break;
		}
		if (buf_add(&out, &len, &cap, s, (size_t)(d - s)) < 0)
			goto fail;
		if (d[1] == '$') {
			if (buf_add(&out, &len, &cap, "$", 1) < 0)
				goto fail;
			s = d + 2;
		} else if (d[1] == '{') {
			used = expand_var(b, at, d + 2, &out, &len, &cap);
			if (used < 0)
				goto fail;
			s = d + 2 + used;
		} else {
			if (buf_add(&out, &len, &cap, "$", 1) < 0)
				goto fail;
			s = d + 1;
		}
	}
	res = cfg_strndup(&b->L->arena, out, len);
	free(out);
	return res;
fail:
	free(out);
	return NULL;
}

static struct cfg_node *new_node(struct builder *b, enum cfg_kind kind,
				 yaml_mark_t mark)
{
	struct cfg_node *n = cfg_alloc(&b->L->arena, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->file = b->file;
	n->line = (unsigned int)mark.line + 1;
	n->col = (unsigned int)mark.column + 1;
	return n;
}

static bool is_null_text(const char *s)
{
	return !*s || !strcmp(s, "~") || !strcmp(s, "null") ||
	       !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static int remember_anchor(struct builder *b, const yaml_char_t *name,
			   struct cfg_node *n)
{
	if (!name)
		return 0;
	if (b->anchor_count == ANCHORS_MAX) {
		builder_error(b, n, "more than %d anchors", ANCHORS_MAX);
		b->failed = true;
		return -1;
	}
	b->anchors[b->anchor_count].name = strdup((const char *)name);
	if (!b->anchors[b->anchor_count].name)
		return -ENOMEM;
	b->anchors[b->anchor_count++].node = n;
	return 0;
}

/* A key must be a scalar, unique in its map. */
static bool key_ok(struct builder *b, struct frame *f, struct cfg_node *key)
{
	struct cfg_pair *pairs = f->v;

	if (key->kind != CFG_SCALAR) {
		builder_error(b, key, "a key must be a plain word, not %s",
			      key->kind == CFG_NULL ? "empty" :
			      key->kind == CFG_MAP ? "a map" : "a list");
		return false;
	}
	for (size_t i = 0; i < f->node->count; i++)
		if (strcmp(pairs[i].key->str, key->str) == 0) {
			builder_error(b, key, "duplicate key '%s' (first at line %u)",
				      key->str, pairs[i].key->line);
			return false;
		}
	return true;
}

static int grow(struct frame *f, size_t elem)
{
	void *p;
	size_t cap = f->cap ? f->cap * 2 : 8;

	if (f->node->count < f->cap)
		return 0;
	p = realloc(f->v, cap * elem);
	if (!p)
		return -ENOMEM;
	f->v = p;
	f->cap = cap;
	return 0;
}

/* Add a finished node to the open map or list, or make it the root. */
static int add_node(struct builder *b, struct cfg_node *n)
{
	struct frame *f;

	if (b->depth == 0) {
		b->root = n;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	if (f->node->kind == CFG_SEQ) {
		if (grow(f, sizeof(struct cfg_node *)) < 0)
			return -ENOMEM;
		((struct cfg_node **)f->v)[f->node->count++] = n;
		return 0;
	}
	if (!f->key) {
		/* A key: held until its value comes; a bad one is kept out. */
		f->key = n;
		return 0;
	}
	if (f->key->kind == CFG_SCALAR && key_ok(b, f, f->key)) {
		if (grow(f, sizeof(struct cfg_pair)) < 0)
			return -ENOMEM;
		((struct cfg_pair *)f->v)[f->node->count++] =
			(struct cfg_pair){ f->key, n };
	} else if (f->key->kind != CFG_SCALAR) {
		key_ok(b, f, f->key);
	}
	f->key = NULL;
	return 0;
}

static int on_scalar(struct builder *b, yaml_event_t *ev)
{
	const char *text = (const char *)ev->data.scalar.value;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	struct cfg_node *n;

	n = new_node(b, plain && is_null_text(text) ? CFG_NULL : CFG_SCALAR,
		     ev->start_mark);
	if (!n)
		return -ENOMEM;
	n->quoted = !plain;
	if (n->kind == CFG_SCALAR) {
		n->str = expand(b, n, text);
		if (!n->str)	/* reported; an empty value stands in */
			n->str = "";
	} else {
		n->str = "";
	}
	if (remember_anchor(b, ev->data.scalar.anchor, n) < 0)
		return -ENOMEM;
	return add_node(b, n);
}

static int on_open(struct builder *b, yaml_event_t *ev, enum cfg_kind kind)
{
	struct cfg_node *n = new_node(b, kind, ev->start_mark);

	if (!n)
		return -ENOMEM;
	n->str = "";
	if (b->depth == NEST_MAX) {
		builder_error(b, n, "nested deeper than %d levels", NEST_MAX);
		b->failed = true;
		return 0;
	}
	b->stack[b->depth++] = (struct frame){ .node = n };
	return 0;
}

static int on_close(struct builder *b, const yaml_char_t *anchor)
{
	struct frame *f = &b->stack[--b->depth];
	struct cfg_node *n = f->node;
	size_t elem = n->kind == CFG_MAP ? sizeof(struct cfg_pair) :
					   sizeof(struct cfg_node *);

	if (n->count) {
		void *v = cfg_alloc(&b->L->arena, n->count * elem);

		if (!v) {
			free(f->v);
			return -ENOMEM;
		}
		memcpy(v, f->v, n->count * elem);
		if (n->kind == CFG_MAP)
			n->pairs = v;
		else
			n->items = v;
	}
	free(f->v);
	f->v = NULL;
	if (remember_anchor(b, anchor, n) < 0)
		return -ENOMEM;
	return add_node(b, n);
}

static int on_alias(struct builder *b, yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;

	for (unsigned int i = b->anchor_count; i-- > 0;)
		if (strcmp(b->anchors[i].name, name) == 0)
			return add_node(b, b->anchors[i].node);
	{
		struct cfg_node *n = new_node(b, CFG_NULL, ev->start_mark);

		if (!n)
			return -ENOMEM;
		n->str = "";
		builder_error(b, n, "alias '*%s' names no anchor before it", name);
		return add_node(b, n);
	}
}

/*
 * The anchors of open maps and lists: libyaml hands them at the start
 * event, the node is finished at the end. Kept in a side stack; an alias
 * of a node still open (a cycle) thus finds no anchor.
 */
struct open_anchor {
	yaml_char_t *name[NEST_MAX];
};

static int on_event(struct builder *b, yaml_event_t *ev, struct open_anchor *oa)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1) {
			struct cfg_node at = { .file = b->file,
				.line = (unsigned int)ev->start_mark.line + 1,
				.col = (unsigned int)ev->start_mark.column + 1 };

			builder_error(b, &at, "a second YAML document ('---'): one per file");
			b->failed = true;
		}
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT: {
		yaml_char_t *a = ev->type == YAML_MAPPING_START_EVENT ?
			ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
		unsigned int d = b->depth;
		int ret = on_open(b, ev, ev->type == YAML_MAPPING_START_EVENT ?
				  CFG_MAP : CFG_SEQ);

		if (ret == 0 && !b->failed && a) {
			oa->name[d] = (yaml_char_t *)strdup((const char *)a);
			if (!oa->name[d])
				return -ENOMEM;
		}
		return ret;
	}
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT: {
		yaml_char_t *a = oa->name[b->depth - 1];
		int ret;

		oa->name[b->depth - 1] = NULL;
		ret = on_close(b, a);
		free(a);
		return ret;
	}
	default:
		return 0;
	}
}

static void syntax_error(struct builder *b, const yaml_parser_t *p)
{
	struct cfg_node at = { .file = b->file,
		.line = (unsigned int)p->problem_mark.line + 1,
		.col = (unsigned int)p->problem_mark.column + 1 };

	if (p->error == YAML_MEMORY_ERROR) {
		cfg_diag(b->L, COH_CONFIG_ERROR, &at, "", "out of memory");
	} else if (p->context) {
		cfg_diag(b->L, COH_CONFIG_ERROR, &at, "", "YAML: %s %s",
			 p->problem ? p->problem : "syntax error", p->context);
	} else {
		cfg_diag(b->L, COH_CONFIG_ERROR, &at, "", "YAML: %s",
			 p->problem ? p->problem : "syntax error");
	}
}

static void builder_cleanup(struct builder *b, struct open_anchor *oa)
{
	while (b->depth) {
		b->depth--;
		free(b->stack[b->depth].v);
		free(oa->name[b->depth]);
	}
	for (unsigned int i = 0; i < b->anchor_count; i++)
		free(b->anchors[i].name);
}

/* Parse text into a tree; syntax errors become diagnostics. -ENOMEM. */
static int parse_text(struct cfg_load *L, const char *text, size_t len,
		      const char *file, struct cfg_node **out)
{
	struct builder *b = calloc(1, sizeof(*b));
	struct open_anchor oa = { { NULL } };
	yaml_parser_t parser;
	yaml_event_t ev;
	int ret = 0;
	bool done = false;

	if (!b)
		return -ENOMEM;
	b->L = L;
	b->file = file;
	if (!yaml_parser_initialize(&parser)) {
		free(b);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && !b->failed && ret == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(b, &parser);
			break;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		ret = on_event(b, &ev, &oa);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	builder_cleanup(b, &oa);
	/* After a syntax error the document is incomplete: nothing to type. */
	*out = done && !b->failed ? b->root : NULL;
	free(b);
	return ret;
}

/* ---- reading files ---- */

static int read_file(struct cfg_load *L, const char *path, char **text,
		     size_t *len, struct pep_err *err)
{
	size_t max = L->opts && L->opts->max_file_bytes ?
		L->opts->max_file_bytes : COH_CONFIG_FILE_MAX_BYTES;
	struct stat st;
	char *buf;
	ssize_t n;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return pep_err_errno(err, "%s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pep_err_set(err, -EINVAL, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return pep_err_set(err, -EFBIG, "%s: larger than %zu bytes",
				   path, max);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return pep_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*text = buf;
	*len = got;
	return 0;
}

static const char *intern_file(struct cfg_load *L, const char *path)
{
	const char **files;
	const char *name;

	for (size_t i = 0; i < L->file_count; i++)
		if (strcmp(L->files[i], path) == 0)
			return L->files[i];
	name = cfg_strdup(&L->arena, path);
	files = cfg_alloc(&L->arena, (L->file_count + 1) * sizeof(*files));
	if (!name || !files)
		return NULL;
	if (L->file_count)
		memcpy(files, L->files, L->file_count * sizeof(*files));
	files[L->file_count++] = name;
	L->files = files;
	return name;
}

/* ---- merging ---- */

enum merge_ctx { MERGE_ROOT, MERGE_FLEET, MERGE_OTHER };

static struct cfg_node *merge(struct cfg_load *L, struct cfg_node *base,
			      struct cfg_node *over, enum merge_ctx ctx);

static const char *item_key(const struct cfg_node *item, const char *key)
{
	const struct cfg_node *v = cfg_map_get(item, key);

	return v && v->kind == CFG_SCALAR ? v->str : NULL;
}

/* Lists of maps merged by a key (devices by id, models by name). */
static struct cfg_node *merge_by(struct cfg_load *L, struct cfg_node *base,
				 struct cfg_node *over, const char *key)
{
	struct cfg_node *n = cfg_alloc(&L->arena, sizeof(*n));
	struct cfg_node **items;
	bool *used;

	if (!n)
		return NULL;
	*n = *over;
	items = cfg_alloc(&L->arena, (base->count + over->count + 1) * sizeof(*items));
	used = calloc(over->count + 1, sizeof(*used));
	if (!items || !used) {
		free(used);
		return NULL;
	}
	n->count = 0;
	for (size_t i = 0; i < base->count; i++) {
		const char *id = item_key(base->items[i], key);
		struct cfg_node *it = base->items[i];

		for (size_t j = 0; id && j < over->count; j++) {
			const char *oid = item_key(over->items[j], key);

			if (!used[j] && oid && strcmp(id, oid) == 0) {
				it = merge(L, it, over->items[j], MERGE_OTHER);
				used[j] = true;
				break;
			}
		}
		items[n->count++] = it;
	}
	for (size_t j = 0; j < over->count; j++)
		if (!used[j])
			items[n->count++] = over->items[j];
	free(used);
	n->items = items;
	return n;
}

static struct cfg_node *merge_maps(struct cfg_load *L, struct cfg_node *base,
				   struct cfg_node *over, enum merge_ctx ctx)
{
	struct cfg_node *n = cfg_alloc(&L->arena, sizeof(*n));
	struct cfg_pair *pairs;

	if (!n)
		return NULL;
	*n = *over;
	pairs = cfg_alloc(&L->arena, (base->count + over->count + 1) * sizeof(*pairs));
	if (!pairs)
		return NULL;
	n->count = 0;
	for (size_t i = 0; i < base->count; i++) {
		struct cfg_pair p = base->pairs[i];
		struct cfg_node *o = cfg_map_get(over, p.key->str);
		enum merge_ctx sub = MERGE_OTHER;

		if (ctx == MERGE_ROOT && !strcmp(p.key->str, "fleet"))
			sub = MERGE_FLEET;
		if (o) {
			if (ctx == MERGE_ROOT && !strcmp(p.key->str, "models") &&
			    p.val->kind == CFG_SEQ && o->kind == CFG_SEQ)
				p.val = merge_by(L, p.val, o, "name");
			else if (ctx == MERGE_FLEET && !strcmp(p.key->str, "devices") &&
				 p.val->kind == CFG_SEQ && o->kind == CFG_SEQ)
				p.val = merge_by(L, p.val, o, "id");
			else
				p.val = merge(L, p.val, o, sub);
			p.key = cfg_map_key(over, p.key->str);
			if (!p.val)
				return NULL;
		}
		pairs[n->count++] = p;
	}
	for (size_t i = 0; i < over->count; i++)
		if (!cfg_map_get(base, over->pairs[i].key->str))
			pairs[n->count++] = over->pairs[i];
	n->pairs = pairs;
	return n;
}

/* over on top of base: maps key by key, the rest replaced by over. */
static struct cfg_node *merge(struct cfg_load *L, struct cfg_node *base,
			      struct cfg_node *over, enum merge_ctx ctx)
{
	if (!base)
		return over;
	if (!over)
		return base;
	if (base->kind == CFG_MAP && over->kind == CFG_MAP)
		return merge_maps(L, base, over, ctx);
	return over;
}

/* The map without its include: key (a copy). */
static struct cfg_node *without_include(struct cfg_load *L, struct cfg_node *map)
{
	struct cfg_node *n = cfg_alloc(&L->arena, sizeof(*n));
	size_t k = 0;

	if (!n)
		return NULL;
	*n = *map;
	n->pairs = cfg_alloc(&L->arena, (map->count + 1) * sizeof(*n->pairs));
	if (!n->pairs)
		return NULL;
	for (size_t i = 0; i < map->count; i++)
		if (strcmp(map->pairs[i].key->str, "include"))
			n->pairs[k++] = map->pairs[i];
	n->count = k;
	return n;
}

/* ---- includes ---- */

static char *home_expand(struct cfg_load *L, const char *p)
{
	const char *home;

	if (strncmp(p, "~/", 2) != 0)
		return cfg_strdup(&L->arena, p);
	home = L->opts && L->opts->home ? L->opts->home : cfg_getenv(L, "HOME");
	if (!home)
		return cfg_strdup(&L->arena, p);
	return cfg_printf(&L->arena, "%s/%s", home, p + 2);
}

/* An include's path, relative to the including file's directory. */
static char *include_path(struct cfg_load *L, const char *from_file,
			  const char *p)
{
	const char *slash = strrchr(from_file, '/');
	char *q = home_expand(L, p);

	if (!q || q[0] == '/' || !slash)
		return q;
	return cfg_printf(&L->arena, "%.*s/%s", (int)(slash - from_file),
			  from_file, q);
}

static void chain_text(struct cfg_load *L, const char *next, char *buf,
		       size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < L->include_depth && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s -> ", L->chain[i]);
	if (n < size)
		snprintf(buf + n, size - n, "%s", next);
}

static int process_includes(struct cfg_load *L, struct cfg_node **root);

/* One include: item. The included tree, or NULL after a diagnostic. */
static struct cfg_node *include_one(struct cfg_load *L, const char *file,
				    const struct cfg_node *item,
				    const char *path)
{
	char *target, chain[1024];
	struct cfg_node *tree = NULL;
	struct pep_err err;

	if (item->kind != CFG_SCALAR || !*item->str) {
		cfg_diag(L, COH_CONFIG_ERROR, item, path, "an include is a file name");
		return NULL;
	}
	target = include_path(L, file, item->str);
	if (!target)
		return NULL;
	for (unsigned int i = 0; i < L->include_depth; i++) {
		char a[PATH_MAX], b[PATH_MAX];

		if (realpath(L->chain[i], a) && realpath(target, b) &&
		    strcmp(a, b) == 0) {
			chain_text(L, target, chain, sizeof(chain));
			cfg_diag(L, COH_CONFIG_ERROR, item, path,
				 "include cycle: %s", chain);
			return NULL;
		}
	}
	if (L->include_depth > COH_CONFIG_INCLUDE_DEPTH_MAX) {
		chain_text(L, target, chain, sizeof(chain));
		cfg_diag(L, COH_CONFIG_ERROR, item, path,
			 "includes nested deeper than %d: %s",
			 COH_CONFIG_INCLUDE_DEPTH_MAX, chain);
		return NULL;
	}
	pep_err_clear(&err);
	if (cfg_tree_load_file(L, target, item, &tree, &err) < 0) {
		if (err.code != -ENOMEM && err.msg[0])
			cfg_diag(L, COH_CONFIG_ERROR, item, path,
				 "cannot include %s", err.msg);
		return NULL;
	}
	return tree;
}

/* Merge the root map's include: files under it, in order. */
static int process_includes(struct cfg_load *L, struct cfg_node **root)
{
	struct cfg_node *inc = cfg_map_get(*root, "include");
	struct cfg_node *merged = NULL, *one, *self;
	const char *file = (*root)->file;
	char path[64];

	if (!inc)
		return 0;
	if (L->opts && (L->opts->flags & COH_CONFIG_LOAD_NO_INCLUDES)) {
		cfg_diag(L, COH_CONFIG_ERROR, inc, "include",
			 "includes are not read here");
		return 0;
	}
	if (inc->kind == CFG_SCALAR) {
		merged = include_one(L, file, inc, "include");
	} else if (inc->kind == CFG_SEQ) {
		for (size_t i = 0; i < inc->count; i++) {
			snprintf(path, sizeof(path), "include[%zu]", i);
			one = include_one(L, file, inc->items[i], path);
			if (one)
				merged = merge(L, merged, one, MERGE_ROOT);
		}
	} else if (inc->kind != CFG_NULL) {
		cfg_diag(L, COH_CONFIG_ERROR, inc, "include",
			 "expected a file name or a list of file names");
	}
	self = without_include(L, *root);
	if (!self)
		return -ENOMEM;
	*root = merged ? merge(L, merged, self, MERGE_ROOT) : self;
	return *root ? 0 : -ENOMEM;
}

/* A parsed file's root: a map (an empty file is an empty map). */
static int finish_root(struct cfg_load *L, const char *file,
		       struct cfg_node **root)
{
	if (!*root || (*root)->kind == CFG_NULL) {
		struct cfg_node *n = cfg_alloc(&L->arena, sizeof(*n));

		if (!n)
			return -ENOMEM;
		n->kind = CFG_MAP;
		n->file = file;
		n->line = n->col = 1;
		n->str = "";
		*root = n;
		return 0;
	}
	if ((*root)->kind != CFG_MAP) {
		cfg_diag(L, COH_CONFIG_ERROR, *root, "",
			 "the file must be a map of sections (version, fleet, models, ...)");
		*root = NULL;
		return finish_root(L, file, root);
	}
	return process_includes(L, root);
}

int cfg_tree_load_text(struct cfg_load *L, const char *text, size_t len,
		       const char *name, struct cfg_node **out)
{
	const char *file = intern_file(L, name);
	int ret;

	if (!file)
		return -ENOMEM;
	L->chain[L->include_depth++] = file;
	ret = parse_text(L, text, len, file, out);
	if (ret == 0)
		ret = finish_root(L, file, out);
	L->include_depth--;
	return ret;
}

int cfg_tree_load_file(struct cfg_load *L, const char *path,
		       const struct cfg_node *from, struct cfg_node **out,
		       struct pep_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	(void)from;
	ret = read_file(L, path, &text, &len, err);
	if (ret < 0)
		return ret;
	ret = cfg_tree_load_text(L, text, len, path, out);
	free(text);
	if (ret < 0)
		return pep_err_set(err, ret, "%s: out of memory", path);
	return 0;
}
