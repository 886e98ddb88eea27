/*
 * cli/cohete/fleet_view.h - the fleet as its devices say it is, for
 * `cohete status --fleet`, `cohete deploy --check` and `cohete rollback`
 * (fleet_view.c). Each needs cli_config() loaded.
 */
#ifndef CLI_COHETE_FLEET_VIEW_H
#define CLI_COHETE_FLEET_VIEW_H

#include <stdbool.h>

struct coh_fleet_plan;
struct coh_fleet_remote;

/* A row per device and model it runs; exit 1 when a device is down. */
int cli_fleet_status(const struct coh_fleet_remote *remote, int json);

/* What differs between plan and the fleet; exit 0 when nothing does. */
int cli_fleet_check(const struct coh_fleet_plan *plan,
		    const struct coh_fleet_remote *remote, int json);

/* Each selected device's models (or model) back on their previous version. */
int cli_fleet_rollback(bool (*selected)(const char *id, void *arg), void *arg,
		       const struct coh_fleet_remote *remote, const char *model,
		       unsigned int timeout_s, int json);

#endif /* CLI_COHETE_FLEET_VIEW_H */
