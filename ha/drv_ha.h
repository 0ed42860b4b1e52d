/* The HA decisions: two pure functions, no I/O, no clock (time is a parameter), no libvirt,
 * corosync or main loop. droverd's glue (agent/ha.c) and the whole-cluster simulator
 * (tests/sim) feed them the replicated state and a hypervisor view and carry out what they
 * return. The rules are in docs/resources.md.
 */
#ifndef DRV_HA_DECIDE_H
#define DRV_HA_DECIDE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "drv_cluster.h"
#include "drv_state.h"

typedef struct drv_ha_node {
    const char *name;
    bool member; /* its droverd takes part in the current (endorsed) round */
    int64_t cpu; /* capacity published by the node, or the default */
    int64_t memory_mib;
    uint64_t watchdog_ms; /* the node's published watchdog timeout (0: it has none) */
    uint64_t absent_ms;   /* how long the deciding node has seen its daemon out of the round,
                             on its own monotonic clock (0: a member, or not known) */
} drv_ha_node_t;

typedef struct drv_ha_params {
    uint32_t max_failures; /* restarts in place within the window before relocating */
    uint64_t failure_window_ms;
    uint64_t now_ms;        /* the deciding node's MONOTONIC clock (never the wall clock) */
    uint64_t confirmed_seq; /* rule C7: the state up to this seq is held by a quorum; a VM is
                               started or migrated only when its last change is (0: none) */
} drv_ha_params_t;

/* A command the decision wants submitted (strings owned). */
typedef struct drv_ha_cmd {
    drv_cmd_type_t type;
    char *name;
    char *value;
    char *value2;
    uint8_t obs;
    bool flag;    /* RES_REPORT: failure window passed; RES_MIG_END: done */
    uint64_t gen; /* RES_REPORT: the assignment generation acted on; RES_ASSIGN, RES_FAILED,
                     RES_MIG_BEGIN: the resource version decided from */
} drv_ha_cmd_t;

typedef enum drv_ha_act {
    DRV_HA_START = 1,
    DRV_HA_STOP,
    DRV_HA_MIGRATE, /* live-migrate to target */
} drv_ha_act_t;

typedef struct drv_ha_local_action {
    drv_ha_act_t act;
    const drv_resource_t *res; /* points into the state passed in */
    const char *target;        /* DRV_HA_MIGRATE: the node (points into the state) */
} drv_ha_local_action_t;

void drv_ha_cmd_free(gpointer p);

/* Failures of R on NODE in its current window, as that node reported them (the node itself
 * says when its window passed: no other clock is used). */
uint32_t drv_ha_recent_failures(const drv_resource_t *r, const char *node,
                                const drv_ha_params_t *p);

/* Coordinator: the commands that bring the state's placement in line with the plan for it.
 * NODES is corosync's nodelist (all configured nodes). Appends drv_ha_cmd_t * to OUT.
 * Every RES_ASSIGN / RES_FAILED carries the resource version it was decided from.
 * - A VM that a node outside the round may run (assigned there, reported running there, not
 *   released by it, or an end of a migration in flight) is left where it is: no capacity
 *   elsewhere, no preemption, no recovery, until that node is back (or, later, fenced).
 * - A VM with a migration record open is never re-targeted: its source ends the record.
 * - A VM that runs nowhere is placed only once every node that may run it has reported
 *   whether it does (probes: members, and gone nodes that ever published capacity).
 * - A move (move_to) that cannot be carried out never stops a running VM: it stays where it
 *   runs and `waiting` says why. */
void drv_ha_coordinate(const drv_state_t *st, const drv_ha_node_t *nodes, size_t n_nodes,
                       const drv_ha_params_t *p, GPtrArray *out);

/* ---- fencing (ha/fence_decide.c) ---- */

/* Does NODE (not in the round, not known down) have to be fenced before the cluster can go
 * on? It may run a VM (assigned there, reported running there, not released by it, an end of
 * a migration), or it has not said whether it runs a VM that is to be started and runs
 * nowhere. NULL: no; else why (g_malloc'd), e.g. "it may run vm1". */
char *drv_ha_fence_needed(const drv_state_t *st, const drv_ha_node_t *nodes, size_t n_nodes,
                          const char *node);

/* Coordinator ME: the fencing commands for the nodes outside the round (drv_ha_cmd_t * into
 * OUT), each conditional on the node's fence version.
 * - A node that needs fencing (drv_ha_fence_needed) and has a way to be fenced (levels or
 *   devices, FENCING_ENABLED) gets a FENCE_BEGIN with ME as executor, unless an operation is
 *   in flight whose executor is in the round; one whose executor left is begun again.
 * - A node that published a watchdog and has been out of the round for 2 x its timeout (by
 *   the deciding node's clock) is confirmed down by the watchdog rule (NODE_DOWN) when it has
 *   no fence device, or fencing is disabled, or its fencing has failed at least once: by
 *   then it has reset itself or stopped every VM (sbd's model).
 * Nothing else ever marks a node down without the operator (confirm-down). */
void drv_ha_fence_coordinate(const drv_state_t *st, const drv_ha_node_t *nodes, size_t n_nodes,
                             const char *me, bool fencing_enabled, GPtrArray *out);

/* What the hypervisor on this node runs now (by UUID), as far as the driver knows. */
typedef bool (*drv_ha_running_fn)(void *ud, const char *uuid);
/* Is an operation on UUID already in flight on this node? */
typedef bool (*drv_ha_busy_fn)(void *ud, const char *uuid);
/* May R be live-migrated from here to TARGET now (target's daemon in the round, no failed
 * attempt to that target)? NULL: never (moves are stop + start). */
typedef bool (*drv_ha_migrate_fn)(void *ud, const drv_resource_t *r, const char *target);
/* Has this node's daemon already run the libvirt migration of R's open record (r->mig_from
 * is this node, generation r->mig_gen), and is that run over? */
typedef bool (*drv_ha_attempted_fn)(void *ud, const drv_resource_t *r);

typedef struct drv_ha_local_env {
    drv_ha_running_fn running;
    drv_ha_busy_fn busy;           /* also true while libvirt runs a migration job on it */
    drv_ha_migrate_fn can_migrate; /* may be NULL */
    drv_ha_attempted_fn attempted; /* may be NULL: never attempted */
    void *ud;
} drv_ha_local_env_t;

/* Node agent: reports and migration records to submit (OUT_CMDS, drv_ha_cmd_t *) and local
 * start/stop/migrate actions (OUT_ACTS, drv_ha_local_action_t *), for node ME. Call only with a
 * current hypervisor view.
 * - Reports: what runs here; a probe (stopped) for every resource this node has not reported
 *   yet; the release of a VM moved off this node; the end of this node's failure window.
 * - A live migration is begun by a RES_MIG_BEGIN record; only once it is applied is the
 *   libvirt migration run (DRV_HA_MIGRATE), and once that is over this node (the source) ends
 *   the record from what its own hypervisor shows: gone = done, still here = rolled back.
 * - Neither end of an open migration starts or stops the VM.
 * - A node the state has as down (fenced, confirmed down) does nothing but say it is back
 *   (NODE_UP); it also cancels that way a fencing of itself the operator did not ask for. */
void drv_ha_local(const drv_state_t *st, const char *me, const drv_ha_params_t *p,
                  const drv_ha_local_env_t *env, GPtrArray *out_cmds, GPtrArray *out_acts);

#endif
