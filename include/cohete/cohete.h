/* cohete/cohete.h - every cohete module in one include. */
#ifndef COHETE_COHETE_H
#define COHETE_COHETE_H

#include <cohete/sysroot.h>
#include <cohete/device.h>
#include <cohete/memory.h>
#include <cohete/thermal.h>
#include <cohete/power.h>
#include <cohete/status.h>
#include <cohete/agent.h>
#include <cohete/quant.h>

#endif /* COHETE_COHETE_H */
