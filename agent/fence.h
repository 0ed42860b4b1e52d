/* droverd's fencing glue (fence.c): the fence agents the HA runtime asks for, run through
 * fencing/'s topology levels from the devices in the replicated state, and the watchdog
 * supervisor fed from droverd's tick. docs/fencing.md. */
#ifndef DRV_AGENT_FENCE_H
#define DRV_AGENT_FENCE_H

#include <stdbool.h>
#include <stdint.h>

#include "drv_state.h"

typedef struct drv_agent drv_agent_t;
typedef struct drv_afence drv_afence_t;

/* A fencing ended: OK, the devices and level that did it (or the last tried), the agents'
 * output or the failure (one line). Runs on the main loop, never inside drv_afence_start. */
typedef void (*drv_afence_done_fn)(void *ud, uint64_t id, bool ok, const char *devices,
                                   unsigned level, const char *text);

/* Arms the watchdog when [fencing] watchdog is set: NULL and *ERR when it cannot be (droverd
 * must not run without the self-fencing it was configured with). */
drv_afence_t *drv_afence_new(drv_agent_t *a, drv_afence_done_fn done, void *ud, char **err);
/* Kills the agents still running. The watchdog is disarmed only when RUNNING_VMS is 0 (a
 * clean stop with VMs still here leaves it counting: the host resets). */
void drv_afence_free(drv_afence_t *f, int running_vms);
/* Fences TARGET ("off" or "reboot") through the levels ST has for it: 0 and DONE later, or an
 * error now (no device, a device a level names is gone, arguments refused). */
int drv_afence_start(drv_afence_t *f, const drv_state_t *st, uint64_t id, const char *target,
                     const char *action);
/* No DONE for ID; its agent's process group is killed. */
void drv_afence_cancel(drv_afence_t *f, uint64_t id);
/* From the 250 ms tick: feeds the watchdog when healthy (RUNNING_VMS < 0: unknown, counted as
 * running). Logs when it stops and starts feeding. */
void drv_afence_tick(drv_afence_t *f, uint64_t now_ms, bool corosync_ok, bool quorate,
                     int running_vms);
/* The armed watchdog's timeout (published to the cluster), 0: none. */
uint64_t drv_afence_watchdog_ms(const drv_afence_t *f);

#endif
