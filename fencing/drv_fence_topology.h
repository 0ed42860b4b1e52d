/* Fencing a node through topology levels (Pacemaker's fencing-topology), over any fence ops
 * table (drv_fence.h: the real runner or the fake).
 *
 * A run tries the levels in index order. Inside a level the devices run one after the other,
 * each through drv_fence_retry (its retries with back-off); a level succeeds when all of its
 * devices succeed, and the first level that succeeds ends the run. When a device fails (after
 * its retries), the rest of its level is skipped and the next level is tried. All levels
 * failed = the run failed. Before the first call the run waits DELAY_MS (the per-node fence
 * delay of a two-node cluster: the two nodes must not shoot each other at the same instant).
 *
 * Threading and errors as in drv_fence.h: every callback runs on GLib's default main context,
 * never from inside drv_fence_topo_start; a refused start is DRV_ERR_BAD_ARGS's meaning, NULL
 * and *ERRMSG, and nothing ran. docs/fencing.md describes the rules.
 */
#ifndef DRV_FENCE_TOPOLOGY_H
#define DRV_FENCE_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>

#include "drv_fence.h"

/* One device of a level. NAME is what steps, results and messages call it: non-empty, without
 * ',' (it goes into the "dev1,dev2" list) or line breaks. AGENT an absolute path. PARAMS may be
 * NULL. */
typedef struct drv_fence_dev_spec {
    const char *name;
    const char *agent;
    const drv_fence_params_t *params;
} drv_fence_dev_spec_t;

/* One level: its INDEX (unique in a run; the levels may come in any order) and its devices. */
typedef struct drv_fence_level_spec {
    unsigned index;
    const drv_fence_dev_spec_t *devs;
    size_t n_devs;
} drv_fence_level_spec_t;

/* One agent call, for the fence history. Valid only during the callback. */
typedef struct drv_fence_topo_step {
    unsigned level;     /* the level's index */
    const char *device; /* the device's name */
    const char *agent;
    unsigned attempt; /* 0 = the device's first call in this level */
    bool will_retry;  /* the device runs again after NEXT_DELAY_MS */
    unsigned next_delay_ms;
    /* the call's result; a call refused by the ops table (the agent file vanished) is reported
     * as a SPAWN_ERROR result with call_id 0 */
    const drv_fence_result_t *result;
} drv_fence_topo_step_t;

#define DRV_FENCE_TOPO_ERRMSG_MAX 300 /* bytes of drv_fence_topo_result_t.errmsg, at most */

/* How the run ended. Valid only during the callback. */
typedef struct drv_fence_topo_result {
    bool success;
    unsigned level;      /* the index of the level that succeeded, else of the last one tried */
    const char *devices; /* that level's devices, "dev1,dev2" */
    /* NULL on success; else one line, at most DRV_FENCE_TOPO_ERRMSG_MAX bytes, each level's
     * failure in order: "level 1: sb-n3: exit status 1: Failed (3 attempts); level 2: ..." */
    const char *errmsg;
    unsigned n_calls; /* agent calls made (refused ones included) */
} drv_fence_topo_result_t;

typedef void (*drv_fence_topo_step_fn)(void *ud, const drv_fence_topo_step_t *step);
typedef void (*drv_fence_topo_done_fn)(void *ud, const drv_fence_topo_result_t *res);

typedef struct drv_fence_topo drv_fence_topo_t;

/* Starts fencing TARGET with ACTION (OFF, REBOOT or ON) through LEVELS (N_LEVELS >= 1, each with
 * at least one device; copied, with their parameters: they may be freed on return), each call
 * bounded by TIMEOUT_MS (> 0) and retried per PER_DEVICE_RETRY (NULL: no retry), the first one
 * DELAY_MS (0: none) after start. STEP_CB (may be NULL) sees every call; DONE_CB is called
 * exactly once, later, on the main loop, after which the handle is gone.
 *
 * NULL and *ERRMSG (g_malloc'd; ERRMSG may be NULL) when the arguments are refused: a bad
 * target, action or timeout, no level, an empty level, a duplicate level index, a bad device
 * name, or a device that drv_fence_validate refuses (agent not absolute, bad parameters, input
 * too long). The agent file's existence is left to the ops table: a later refusal counts as a
 * failed call of that device. Nothing runs inside this function. */
drv_fence_topo_t *drv_fence_topo_start(const drv_fence_ops_t *ops, void *ctx, const char *target,
                                       drv_fence_action_t action,
                                       const drv_fence_level_spec_t *levels, size_t n_levels,
                                       unsigned timeout_ms,
                                       const drv_fence_retry_policy_t *per_device_retry,
                                       unsigned delay_ms, drv_fence_topo_step_fn step_cb,
                                       drv_fence_topo_done_fn done_cb, void *ud, char **errmsg);

/* Stops the run: no callback afterwards, the running agent (if any) cancelled through the ops
 * table (its process group killed by the real runner), a pending delay or back-off dropped.
 * Allowed from inside STEP_CB; ignored from inside DONE_CB; not after DONE_CB returned. */
void drv_fence_topo_cancel(drv_fence_topo_t *t);

#endif
