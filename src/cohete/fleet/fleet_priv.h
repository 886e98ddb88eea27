/*
 * fleet_priv.h - what the fleet module's files share. Not installed.
 */
#ifndef COHETE_FLEET_PRIV_H
#define COHETE_FLEET_PRIV_H

#ifndef COH_BUILDING_LIBRARY
#error "include <cohete/fleet.h> instead"
#endif

#include <stddef.h>
#include <stdint.h>

#include <cohete/fleet.h>

#endif /* COHETE_FLEET_PRIV_H */
