/*
 * Look-ups in the module and L4T tables compiled from data/.
 */
#include <string.h>

#include <cohete/device.h>

#include "device/tables.h"

const struct coh_module_spec *coh_module_table(unsigned int *count)
{
	*count = coh__module_count;
	return coh__module_rows;
}

const struct coh_l4t_spec *coh_l4t_table(unsigned int *count)
{
	*count = coh__l4t_count;
	return coh__l4t_rows;
}

static int mem_fits(const struct coh_module_spec *m, uint64_t mem_total_kb)
{
	uint64_t mb = mem_total_kb / 1024;

	if (!m->mem_min_mb && !m->mem_max_mb)
		return 1;
	if (!mem_total_kb)
		return 0;	/* ambiguous P-number and no MemTotal: unknown */
	if (m->mem_min_mb && mb < m->mem_min_mb)
		return 0;
	if (m->mem_max_mb && mb >= m->mem_max_mb)
		return 0;
	return 1;
}

const struct coh_module_spec *
coh_module_lookup(const char *pnum, const char *variant, const char *soc,
		  uint64_t mem_total_kb)
{
	if (!variant)
		variant = "";
	for (unsigned int i = 0; i < coh__module_count; i++) {
		const struct coh_module_spec *m = &coh__module_rows[i];

		if (strcmp(m->pnum, pnum) || strcmp(m->variant, variant))
			continue;
		/* p3509-0000 is a TX2 NX module but a Xavier NX carrier. */
		if (soc && *soc && strcmp(m->soc, soc))
			continue;
		if (mem_fits(m, mem_total_kb))
			return m;
	}
	return NULL;
}

/* "36.4.3" matches row "36.4.3" exactly, or row "36.4" / "28" as a prefix. */
static int l4t_matches(const char *row, const char *l4t, int exact)
{
	size_t len = strlen(row);

	if (exact)
		return strcmp(row, l4t) == 0;
	return strncmp(row, l4t, len) == 0 && l4t[len] == '.';
}

const struct coh_l4t_spec *coh_l4t_lookup(const char *l4t)
{
	const struct coh_l4t_spec *best = NULL;
	size_t best_len = 0;

	for (unsigned int i = 0; i < coh__l4t_count; i++)
		if (l4t_matches(coh__l4t_rows[i].l4t, l4t, 1))
			return &coh__l4t_rows[i];
	for (unsigned int i = 0; i < coh__l4t_count; i++) {
		size_t len = strlen(coh__l4t_rows[i].l4t);

		if (l4t_matches(coh__l4t_rows[i].l4t, l4t, 0) && len > best_len) {
			best = &coh__l4t_rows[i];
			best_len = len;
		}
	}
	return best;
}
