/* The rows generated from data/ by scripts/gen-tables.py. */
#ifndef COHETE_DEVICE_TABLES_H
#define COHETE_DEVICE_TABLES_H

#ifndef COH_BUILDING_LIBRARY
#error "include the public <cohete/...> headers instead"
#endif

#include <cohete/device.h>

extern const struct coh_module_spec *coh__module_rows;
extern const unsigned int coh__module_count;
extern const struct coh_l4t_spec *coh__l4t_rows;
extern const unsigned int coh__l4t_count;

#endif /* COHETE_DEVICE_TABLES_H */
