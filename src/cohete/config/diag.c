/*
 * Diagnostics of a load: "FILE:LINE:COL: error: PATH: MESSAGE", all of
 * them (up to COH_CONFIG_ERRORS_MAX errors, then a count), sorted into
 * file order at the end because typing and the checks find them in their
 * own order. And "did you mean", by edit distance against the names valid
 * at that place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_priv.h"

const char *coh_config_severity_name(enum coh_config_severity s)
{
	return s == COH_CONFIG_WARNING ? "warning" : "error";
}

static int diag_grow(struct coh_config_diags *d)
{
	struct coh_config_diag *v;
	size_t cap = d->cap ? d->cap * 2 : 16;

	if (d->count < d->cap)
		return 0;
	v = realloc(d->v, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	d->v = v;
	d->cap = cap;
	return 0;
}

void cfg_vdiag(struct cfg_load *L, enum coh_config_severity sev,
	       const struct cfg_node *at, const char *path, const char *fmt,
	       va_list ap)
{
	struct coh_config_diags *d = L->diags;
	struct coh_config_diag *g;
	char *msg = NULL;

	if (sev == COH_CONFIG_ERROR && at)
		((struct cfg_node *)at)->failed = true;
	if (sev == COH_CONFIG_ERROR && d->errors >= COH_CONFIG_ERRORS_MAX) {
		d->omitted++;
		return;
	}
	if (diag_grow(d) < 0 || vasprintf(&msg, fmt, ap) < 0)
		return;		/* out of memory: the count still fails the load */
	g = &d->v[d->count];
	*g = (struct coh_config_diag){
		.severity = sev,
		.file = strdup(at && at->file ? at->file : ""),
		.line = at ? at->line : 0,
		.col = at ? at->col : 0,
		.path = strdup(path ? path : ""),
		.message = msg,
	};
	if (!g->file || !g->path) {
		free((char *)g->file);
		free((char *)g->path);
		free(msg);
		return;
	}
	d->count++;
	if (sev == COH_CONFIG_ERROR)
		d->errors++;
	else
		d->warnings++;
}

void cfg_diag(struct cfg_load *L, enum coh_config_severity sev,
	      const struct cfg_node *at, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vdiag(L, sev, at, path, fmt, ap);
	va_end(ap);
}

void cfg_error(struct cfg_load *L, const struct cfg_node *at,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vdiag(L, COH_CONFIG_ERROR, at, L->path, fmt, ap);
	va_end(ap);
}

size_t cfg_error_count(const struct cfg_load *L)
{
	size_t n = L->diags->omitted;

	for (size_t i = L->diag_base; i < L->diags->count; i++)
		n += L->diags->v[i].severity == COH_CONFIG_ERROR;
	return n;
}

/* qsort has no context argument: the rank of a file is found by a scan. */
struct sort_item {
	size_t rank, seq;
	struct coh_config_diag d;
};

static int sort_cmp(const void *pa, const void *pb)
{
	const struct sort_item *a = pa, *b = pb;

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->d.line != b->d.line)
		return a->d.line < b->d.line ? -1 : 1;
	if (a->d.col != b->d.col)
		return a->d.col < b->d.col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void cfg_diag_sort(struct cfg_load *L)
{
	struct coh_config_diags *d = L->diags;
	size_t n = d->count - L->diag_base;
	struct sort_item *items;

	if (n < 2)
		return;
	items = calloc(n, sizeof(*items));
	if (!items)
		return;		/* left in the order found */
	for (size_t i = 0; i < n; i++) {
		items[i].d = d->v[L->diag_base + i];
		items[i].seq = i;
		items[i].rank = L->file_count;
		for (size_t f = 0; f < L->file_count; f++)
			if (strcmp(L->files[f], items[i].d.file) == 0) {
				items[i].rank = f;
				break;
			}
	}
	qsort(items, n, sizeof(*items), sort_cmp);
	for (size_t i = 0; i < n; i++)
		d->v[L->diag_base + i] = items[i].d;
	free(items);
}

void coh_config_diags_free(struct coh_config_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->count; i++) {
		free((char *)d->v[i].file);
		free((char *)d->v[i].path);
		free((char *)d->v[i].message);
	}
	free(d->v);
	*d = (struct coh_config_diags){ 0 };
}

int coh_config_diag_format(const struct coh_config_diag *d, char *buf,
			   size_t size)
{
	char where[64] = "";

	if (d->line)
		snprintf(where, sizeof(where), ":%u:%u", d->line, d->col);
	return snprintf(buf, size, "%s%s: %s: %s%s%s", d->file, where,
			coh_config_severity_name(d->severity), d->path,
			d->path[0] ? ": " : "", d->message);
}
