/*
 * The whole of nvpmodel.conf: PARAM blocks (what each knob's args write
 * to), POWER_MODEL blocks (one mode's settings) and PM_CONFIG (the boot
 * default). The files differ between releases and SKUs ("<PARAM" without
 * the space, CRLF, JetPack 7's FILE_STR and ARG_DEFAULT lines), and
 * nvpmodel itself is forgiving, so what this parser does not know is
 * skipped and counted. Only what would leave a mode's meaning unclear is
 * an error. The text is copied once and cut into strings in place.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cohete/power.h>

#include "internal.h"

/* A header has a keyword and a few KEY=VALUE fields; settings have three. */
#define MAX_FIELDS 8

enum block { BLOCK_NONE, BLOCK_PARAM, BLOCK_MODE, BLOCK_OTHER };

struct parser {
	struct coh_nvpmodel_conf *c;
	const char *path;
	unsigned int line;
	enum block in;			/* the block the next line belongs to */
	size_t modes_cap, params_cap;
	size_t items_cap;		/* args or settings of the current block */
	unsigned int default_line;	/* of PM_CONFIG, 0 when none yet */
	struct pep_err *err;
};

static int fail(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	char reason[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	return pep_err_set(p->err, -EINVAL, "%s:%u: %s", p->path, p->line,
			   reason);
}

static int no_memory(struct parser *p)
{
	return pep_err_set(p->err, -ENOMEM, "%s:%u: out of memory", p->path,
			   p->line);
}

/* Room for one more element: the array (possibly moved), or NULL. */
static void *reserve(void *base, size_t count, size_t *cap, size_t elem)
{
	size_t ncap;
	void *nb;

	if (count < *cap)
		return base;
	ncap = *cap ? *cap * 2 : 8;
	nb = reallocarray(base, ncap, elem);
	if (nb)
		*cap = ncap;
	return nb;
}

/* Cut the next line out of *cursor, without its comment, CR or blanks. */
static char *next_line(char **cursor)
{
	char *s = *cursor, *end = strchr(s, '\n'), *hash;
	size_t len;

	if (end) {
		*end = '\0';
		*cursor = end + 1;
	} else {
		*cursor = s + strlen(s);
	}
	hash = strchr(s, '#');
	if (hash)
		*hash = '\0';
	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

/* Split s in place at blanks; more than max fields returns max + 1. */
static unsigned int split(char *s, char **field, unsigned int max)
{
	unsigned int n = 0;

	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			return n;
		if (n == max)
			return max + 1;
		field[n++] = s;
		while (*s && !isspace((unsigned char)*s))
			s++;
		if (*s)
			*s++ = '\0';
	}
}

/* The value of KEY=VALUE among the fields, or NULL when absent or empty. */
static const char *attr(char **field, unsigned int n, const char *key)
{
	size_t klen = strlen(key);

	for (unsigned int i = 0; i < n; i++)
		if (!strncmp(field[i], key, klen) && field[i][klen] == '=')
			return field[i][klen + 1] ? field[i] + klen + 1 : NULL;
	return NULL;
}

static int parse_id(const char *text, int64_t *id)
{
	if (!isdigit((unsigned char)*text) || coh__parse_s64(text, id) < 0 ||
	    *id > INT32_MAX)
		return -EINVAL;
	return 0;
}

static struct coh_nvpmodel_param *find_param(const struct coh_nvpmodel_conf *c,
					     const char *name)
{
	for (size_t i = 0; i < c->param_count; i++)
		if (!strcmp(c->params[i].name, name))
			return &c->params[i];
	return NULL;
}

static enum coh_nvpmodel_param_type param_type(const char *name)
{
	if (!strcmp(name, "FILE"))
		return COH_NVPMODEL_PARAM_FILE;
	if (!strcmp(name, "CLOCK"))
		return COH_NVPMODEL_PARAM_CLOCK;
	return COH_NVPMODEL_PARAM_OTHER;
}

static int begin_param(struct parser *p, char **field, unsigned int n)
{
	const char *type = attr(field, n, "TYPE"), *name = attr(field, n, "NAME");
	struct coh_nvpmodel_conf *c = p->c;
	struct coh_nvpmodel_param *params, *pa;

	if (!name)
		return fail(p, "PARAM without NAME=");
	if (!type)
		return fail(p, "PARAM %s without TYPE=", name);
	pa = find_param(c, name);
	if (pa)
		return fail(p, "duplicate PARAM NAME=%s (first at line %u)",
			    name, pa->line);
	params = reserve(c->params, c->param_count, &p->params_cap,
			 sizeof(*params));
	if (!params)
		return no_memory(p);
	c->params = params;
	pa = &params[c->param_count++];
	*pa = (struct coh_nvpmodel_param){ .name = name, .type_name = type,
		.type = param_type(type), .line = p->line };
	p->in = BLOCK_PARAM;
	p->items_cap = 0;
	return 0;
}

static int begin_mode(struct parser *p, char **field, unsigned int n)
{
	const char *ids = attr(field, n, "ID"), *name = attr(field, n, "NAME");
	struct coh_nvpmodel_conf *c = p->c;
	const struct coh_nvpmodel_mode *dup;
	struct coh_nvpmodel_mode *modes;
	int64_t id;

	if (!ids)
		return fail(p, "POWER_MODEL without ID=");
	if (parse_id(ids, &id) < 0)
		return fail(p, "POWER_MODEL ID=%s is not a mode id", ids);
	if (!name)
		return fail(p, "POWER_MODEL ID=%s without NAME=", ids);
	dup = coh_nvpmodel_conf_mode(c, id);
	if (dup)
		return fail(p, "duplicate POWER_MODEL ID=%lld (first at line %u)",
			    (long long)id, dup->line);
	modes = reserve(c->modes, c->mode_count, &p->modes_cap, sizeof(*modes));
	if (!modes)
		return no_memory(p);
	c->modes = modes;
	modes[c->mode_count++] = (struct coh_nvpmodel_mode){ .id = id,
		.name = name, .line = p->line };
	p->in = BLOCK_MODE;
	p->items_cap = 0;
	return 0;
}

static int set_default(struct parser *p, char **field, unsigned int n)
{
	const char *value = attr(field, n, "DEFAULT");

	if (p->default_line)
		return fail(p, "second PM_CONFIG (first at line %u)",
			    p->default_line);
	if (!value)
		return fail(p, "PM_CONFIG without DEFAULT=");
	if (parse_id(value, &p->c->default_id) < 0)
		return fail(p, "PM_CONFIG DEFAULT=%s is not a mode id", value);
	p->default_line = p->line;
	/* PM_CONFIG has no body: lines after it are not the last mode's. */
	p->in = BLOCK_OTHER;
	return 0;
}

/* "< KEYWORD KEY=VALUE ... >", also written "<KEYWORD ...>". */
static int parse_header(struct parser *p, char *line)
{
	char *field[MAX_FIELDS];
	size_t len = strlen(line);
	unsigned int n;

	if (line[len - 1] != '>')
		return fail(p, "block header without a closing '>'");
	line[len - 1] = '\0';
	n = split(line + 1, field, MAX_FIELDS);
	if (n == 0)
		return fail(p, "empty block header");
	if (strcmp(field[0], "PARAM") && strcmp(field[0], "POWER_MODEL") &&
	    strcmp(field[0], "PM_CONFIG")) {
		/* PM_STATUS (R28), fan and newer blocks: skip with their lines. */
		p->in = BLOCK_OTHER;
		p->c->ignored_lines++;
		return 0;
	}
	if (n > MAX_FIELDS)
		return fail(p, "too many fields in %s header", field[0]);
	if (!strcmp(field[0], "PARAM"))
		return begin_param(p, field + 1, n - 1);
	if (!strcmp(field[0], "POWER_MODEL"))
		return begin_mode(p, field + 1, n - 1);
	return set_default(p, field + 1, n - 1);
}

/* "ARG /sys/path" in a PARAM block. */
static int add_arg(struct parser *p, char **field, unsigned int n)
{
	struct coh_nvpmodel_param *pa = &p->c->params[p->c->param_count - 1];
	struct coh_nvpmodel_arg *args;

	/* JetPack 7's FILE_STR/ARG_DEFAULT describe args by pattern. */
	if (n != 2 || !strcmp(field[0], "FILE_STR") ||
	    !strcmp(field[0], "ARG_DEFAULT")) {
		p->c->ignored_lines++;
		return 0;
	}
	args = reserve(pa->args, pa->arg_count, &p->items_cap, sizeof(*args));
	if (!args)
		return no_memory(p);
	pa->args = args;
	args[pa->arg_count++] = (struct coh_nvpmodel_arg){ .name = field[0],
		.path = field[1] };
	return 0;
}

/* "PARAM ARG VALUE" in a POWER_MODEL block. */
static int add_setting(struct parser *p, char **field, unsigned int n)
{
	struct coh_nvpmodel_mode *m = &p->c->modes[p->c->mode_count - 1];
	struct coh_nvpmodel_setting *settings;

	if (n != 3)
		return fail(p, "'%s' in POWER_MODEL ID=%lld is not PARAM ARG VALUE",
			    field[0], (long long)m->id);
	settings = reserve(m->settings, m->setting_count, &p->items_cap,
			   sizeof(*settings));
	if (!settings)
		return no_memory(p);
	m->settings = settings;
	settings[m->setting_count++] = (struct coh_nvpmodel_setting){
		.param = field[0], .arg = field[1], .value = field[2] };
	return 0;
}

static int parse_line(struct parser *p, char *line)
{
	char *field[MAX_FIELDS];
	unsigned int n;

	if (!*line)
		return 0;
	if (*line == '<')
		return parse_header(p, line);
	n = split(line, field, MAX_FIELDS);
	switch (p->in) {
	case BLOCK_NONE:
		return fail(p, "'%s' is outside any < ... > block", field[0]);
	case BLOCK_PARAM:
		return add_arg(p, field, n);
	case BLOCK_MODE:
		return add_setting(p, field, n);
	case BLOCK_OTHER:
		break;
	}
	p->c->ignored_lines++;
	return 0;
}

static int check_whole(struct parser *p)
{
	if (p->c->mode_count == 0)
		return pep_err_set(p->err, -EINVAL, "%s: no POWER_MODEL block",
				   p->path);
	if (p->default_line && !coh_nvpmodel_conf_mode(p->c, p->c->default_id)) {
		p->line = p->default_line;
		return fail(p, "PM_CONFIG DEFAULT=%lld names no POWER_MODEL",
			    (long long)p->c->default_id);
	}
	return 0;
}

int coh_nvpmodel_conf_parse(const char *text, const char *path_for_errors,
			    struct coh_nvpmodel_conf **out, struct pep_err *err)
{
	struct parser p = { .err = err, .path = path_for_errors ?
			    path_for_errors : "/etc/nvpmodel.conf" };
	char *cursor;
	int ret = 0;

	*out = NULL;
	p.c = calloc(1, sizeof(*p.c));
	if (!p.c || !(p.c->storage = strdup(text))) {
		free(p.c);
		return no_memory(&p);
	}
	p.c->default_id = -1;
	for (cursor = p.c->storage; *cursor && ret == 0;) {
		char *line = next_line(&cursor);

		p.line++;
		ret = parse_line(&p, line);
	}
	if (ret == 0)
		ret = check_whole(&p);
	if (ret < 0) {
		coh_nvpmodel_conf_free(p.c);
		return ret;
	}
	*out = p.c;
	return 0;
}

int coh_nvpmodel_conf_load(const struct coh_sysroot *sr,
			   struct coh_nvpmodel_conf **out, struct pep_err *err)
{
	char *text;
	int ret = coh_sysroot_read_all(sr, COH_NVPMODEL_CONF_PATH, COH_NVPMODEL_CONF_MAX,
				       &text, NULL, err);

	*out = NULL;
	if (ret < 0)
		return ret;
	ret = coh_nvpmodel_conf_parse(text, COH_NVPMODEL_CONF_PATH, out, err);
	free(text);
	return ret;
}

void coh_nvpmodel_conf_free(struct coh_nvpmodel_conf *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->mode_count; i++)
		free(c->modes[i].settings);
	for (size_t i = 0; i < c->param_count; i++)
		free(c->params[i].args);
	free(c->modes);
	free(c->params);
	free(c->storage);
	free(c);
}

const struct coh_nvpmodel_mode *
coh_nvpmodel_conf_mode(const struct coh_nvpmodel_conf *c, int64_t id)
{
	for (size_t i = 0; i < c->mode_count; i++)
		if (c->modes[i].id == id)
			return &c->modes[i];
	return NULL;
}

static const char *mode_value(const struct coh_nvpmodel_mode *m,
			      const char *param, const char *arg)
{
	/* nvpmodel writes in file order, so the last line wins. */
	for (size_t i = m->setting_count; i-- > 0;)
		if (!strcmp(m->settings[i].param, param) &&
		    !strcmp(m->settings[i].arg, arg))
			return m->settings[i].value;
	return NULL;
}

const char *coh_nvpmodel_conf_value(const struct coh_nvpmodel_conf *c,
				    int64_t id, const char *param,
				    const char *arg)
{
	const struct coh_nvpmodel_mode *m = coh_nvpmodel_conf_mode(c, id);

	return m ? mode_value(m, param, arg) : NULL;
}

const char *coh_nvpmodel_conf_path(const struct coh_nvpmodel_conf *c,
				   const char *param, const char *arg)
{
	const struct coh_nvpmodel_param *pa = find_param(c, param);

	for (size_t i = 0; pa && i < pa->arg_count; i++)
		if (!strcmp(pa->args[i].name, arg))
			return pa->args[i].path;
	return NULL;
}

/* Equal as integers when both are ("240" and "0240"), else as text. */
static int same_value(const char *a, const char *b)
{
	int64_t x, y;

	if (!a || !b)
		return a == b;
	if (coh__parse_s64(a, &x) == 0 && coh__parse_s64(b, &y) == 0)
		return x == y;
	return !strcmp(a, b);
}

int coh_nvpmodel_needs_reboot(const struct coh_nvpmodel_conf *c,
			      int64_t from_id, int64_t to_id, char *why,
			      size_t why_size)
{
	/* The GPU's TPC and FBP gating is applied at boot; nvpmodel asks. */
	static const char *const masks[][2] = {
		{ "TPC_POWER_GATING", "TPC_PG_MASK" },
		{ "FBP_POWER_GATING", "FBP_PG_MASK" },
	};
	const struct coh_nvpmodel_mode *from = coh_nvpmodel_conf_mode(c, from_id);
	const struct coh_nvpmodel_mode *to = coh_nvpmodel_conf_mode(c, to_id);

	if (why_size)
		why[0] = '\0';
	if (!from || !to) {
		snprintf(why, why_size, "no POWER_MODEL ID=%lld",
			 (long long)(from ? to_id : from_id));
		return -ENOENT;
	}
	for (size_t i = 0; i < ARRAY_SIZE(masks); i++) {
		const char *a = mode_value(from, masks[i][0], masks[i][1]);
		const char *b = mode_value(to, masks[i][0], masks[i][1]);

		if (same_value(a, b))
			continue;
		snprintf(why, why_size, "%s changes from %s to %s: the GPU power "
			 "gating mask needs a reboot", masks[i][1],
			 a ? a : "(unset)", b ? b : "(unset)");
		return 1;
	}
	return 0;
}
