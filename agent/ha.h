/* HA resource management in droverd: the coordinator's placement decisions and each node's
 * local actions, as two pure functions (ha/decide.c, ha/drv_ha.h) plus the glue that feeds them and
 * carries out what they say (ha.c).
 *
 * The rules (docs/resources.md):
 * - The coordinator turns the replicated state into a policy snapshot, runs the placement
 *   engine, and writes the outcome back as RES_ASSIGN / RES_FAILED / RES_PURGE commands.
 * - Every node agent compares the replicated state with what its hypervisor runs and starts,
 *   stops or reports. A VM is started only where it is assigned, only while no node reports
 *   it running, and only once the node it is moved off (moving_from) has released it: a
 *   report at the current assignment generation saying it does not run there. A copy is
 *   stopped where it is not assigned only when the coordinator moves it off that node or the
 *   assigned copy is confirmed running. Nothing is decided from a hypervisor view that is not
 *   current (libvirtd unreachable is never "stopped").
 */
#ifndef DRV_HA_H
#define DRV_HA_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "drv_cluster.h"
#include "drv_state.h"
#include "drv_ha.h"

typedef struct drv_agent drv_agent_t;
typedef struct drv_ha drv_ha_t;

/* Creates the libvirt driver (call drv_virt_global_init() first) and starts evaluating. */
drv_ha_t *drv_ha_new(drv_agent_t *a);
void drv_ha_free(drv_ha_t *ha);
/* Something changed (state, membership, hypervisor): re-evaluate soon (coalesced). */
void drv_ha_kick(drv_ha_t *ha);
/* Requests the HA layer submitted itself; true if REQ_ID was one (and it is now handled). */
bool drv_ha_request_done(drv_ha_t *ha, uint64_t req_id, int rc);
/* A fencing the runtime asked for (agent/fence.c) ended. */
void drv_ha_fence_done(drv_ha_t *ha, uint64_t id, bool ok, const char *devices, unsigned level,
                       const char *text);
/* Managed VMs running (or paused) here; -1 when unknown (libvirt's table is not current, or
 * no HA layer). */
int drv_ha_running_vms(drv_ha_t *ha);
/* Ask libvirt (through this node's driver, off the main loop) whether XML is acceptable.
 * DONE runs later on the main loop with rc 0 or DRV_ERR_BAD_ARGS and libvirt's message;
 * a non-zero return means DONE will not run. */
int drv_ha_validate_xml(drv_ha_t *ha, const char *xml,
                        void (*done)(void *ud, int rc, const char *errmsg), void *ud);

#endif
