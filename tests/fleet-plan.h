/*
 * tests/fleet-plan.h - what the fleet tests (tests/cohete/fleet.c,
 * fleet-build.c) share: a cohete.yaml written in the test, loaded as if
 * it were /etc/cohete/t.yaml with its diagnostics printed, and a plan's
 * item by model and device.
 */
#ifndef TESTS_FLEET_PLAN_H
#define TESTS_FLEET_PLAN_H

#include <stdio.h>
#include <string.h>

#include <cohete/config.h>
#include <cohete/fleet.h>

static inline int load(const char *text, struct coh_config **cfg)
{
	struct coh_config_diags d = { 0 };
	struct pep_err err;
	int rc;

	rc = coh_config_load_string(text, strlen(text), "/etc/cohete/t.yaml",
				    NULL, cfg, &d, &err);
	for (size_t i = 0; i < d.count; i++) {
		char line[512];

		coh_config_diag_format(&d.v[i], line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	coh_config_diags_free(&d);
	return rc;
}

static inline const struct coh_fleet_plan_item *
find(const struct coh_fleet_plan *p, const char *model, const char *device)
{
	for (size_t i = 0; i < p->count; i++)
		if (!strcmp(p->items[i].model_name, model) &&
		    !strcmp(p->items[i].device_id, device))
			return &p->items[i];
	return NULL;
}

#endif /* TESTS_FLEET_PLAN_H */
