/* pepita/pepita.h - every pepita module in one include. */
#ifndef PEPITA_PEPITA_H
#define PEPITA_PEPITA_H

#include <pepita/core.h>
#include <pepita/proc.h>
#include <pepita/exec.h>
#include <pepita/mem.h>
#include <pepita/uring.h>
#include <pepita/blkmq.h>
#include <pepita/ublk.h>
#include <pepita/zram.h>
#include <pepita/sched.h>
#include <pepita/task.h>
#include <pepita/pool.h>
#include <pepita/simd.h>
#include <pepita/fault.h>
#include <pepita/transport.h>
#include <pepita/template.h>

#endif /* PEPITA_PEPITA_H */
