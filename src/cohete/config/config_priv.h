/*
 * What the config module's files share: the arena every loaded string and
 * array lives in, the node tree files are read into (tree.c), the
 * diagnostics (diag.c), the schema table (schema.c) that types the tree
 * into struct coh_config and writes the JSON Schema, the checks across
 * fields (check.c) and the writers (emit.c). Not installed.
 */
#ifndef COHETE_CONFIG_PRIV_H
#define COHETE_CONFIG_PRIV_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/config.h> instead"
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include <cohete/config.h>
#include <cohete/device.h>

/* ---- arena: everything of one load, freed at once ---- */

struct cfg_arena_block;

struct cfg_arena {
	struct cfg_arena_block *head;
};

void *cfg_alloc(struct cfg_arena *a, size_t size);	/* zeroed; NULL: ENOMEM */
char *cfg_strdup(struct cfg_arena *a, const char *s);
char *cfg_strndup(struct cfg_arena *a, const char *s, size_t n);
char *cfg_printf(struct cfg_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cfg_arena_free(struct cfg_arena *a);

/* ---- the node tree ---- */

enum cfg_kind {
	CFG_NULL,		/* ~, null, or nothing after the colon */
	CFG_SCALAR,
	CFG_MAP,
	CFG_SEQ,
};

struct cfg_node;

struct cfg_pair {
	struct cfg_node *key;	/* always a scalar */
	struct cfg_node *val;
};

/* Nodes are never changed once built (but for failed): aliases share
 * them, merges copy. */
struct cfg_node {
	enum cfg_kind kind;
	const char *file;
	unsigned int line, col;		/* 1-based */
	const char *str;		/* CFG_SCALAR: after ${VAR} expansion */
	bool quoted;			/* a quoted or block scalar */
	bool failed;			/* an error was reported here: the checks
					   across fields leave it alone */
	size_t count;			/* pairs or items */
	struct cfg_pair *pairs;		/* CFG_MAP */
	struct cfg_node **items;	/* CFG_SEQ */
};

/* The value of key in a map node; NULL when absent or node not a map. */
struct cfg_node *cfg_map_get(const struct cfg_node *map, const char *key);
/* The key node itself (for positions of unknown keys). */
struct cfg_node *cfg_map_key(const struct cfg_node *map, const char *key);

/* ---- the load ---- */

/* Everything one load uses; the config it fills is inside. */
struct cfg_load {
	struct coh_config cfg;		/* first: handed out, freed by container */
	struct cfg_arena arena;
	const struct coh_config_load_opts *opts;
	struct coh_config_diags *diags;	/* never NULL inside (a local one) */
	size_t diag_base;		/* first diagnostic of this load */
	const char **files;		/* files read, in order (diag sort) */
	size_t file_count;
	unsigned int include_depth;
	const char *chain[COH_CONFIG_INCLUDE_DEPTH_MAX + 2];	/* include stack */
	struct cfg_node *root;		/* merged */

	/* Filled while typing, read by the checks. */
	struct coh_config_device defaults;	/* fleet.defaults */
	struct cfg_node *defaults_node;
	struct cfg_node **device_nodes;		/* one per device */
	struct cfg_node **model_nodes;
	struct cfg_node **policy_nodes;		/* one per file policy */
	size_t file_policy_count;
	struct coh_config_policy *file_policies;
	struct coh_config_strv static_hosts;	/* discovery.methods {static: [...]} */
	struct cfg_node *static_node;
	char path[512];			/* the field path being typed */
	size_t pathlen;
};

static inline struct cfg_load *cfg_load_of(const struct coh_config *cfg)
{
	return (struct cfg_load *)cfg;
}

const char *cfg_getenv(struct cfg_load *L, const char *name);

/* Read a file (and its includes) into a merged tree. 0 or -errno. */
int cfg_tree_load_file(struct cfg_load *L, const char *path,
		       const struct cfg_node *from, struct cfg_node **out,
		       struct pep_err *err);
int cfg_tree_load_text(struct cfg_load *L, const char *text, size_t len,
		       const char *name, struct cfg_node **out);

/* ---- diagnostics ---- */

void cfg_diag(struct cfg_load *L, enum coh_config_severity sev,
	      const struct cfg_node *at, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void cfg_vdiag(struct cfg_load *L, enum coh_config_severity sev,
	       const struct cfg_node *at, const char *path, const char *fmt,
	       va_list ap);
/* An error at the field path being typed (L->path). */
void cfg_error(struct cfg_load *L, const struct cfg_node *at,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Sort this load's diagnostics into file order. */
void cfg_diag_sort(struct cfg_load *L);
size_t cfg_error_count(const struct cfg_load *L);

/* ---- typing (schema.c) ---- */

/* Type L->root into L->cfg, with every default; diagnostics as it goes. */
void cfg_type_root(struct cfg_load *L);

/* The configuration as a JSON value, in the file's shape. */
json_t *cfg_to_json(const struct coh_config *cfg);

/* Whether text is a quantization level; *canon the canonical name. */
bool cfg_quant_level(const char *text, const char **canon);

/* ---- checks across fields (check.c) ---- */

void cfg_check(struct cfg_load *L);

#endif /* COHETE_CONFIG_PRIV_H */
