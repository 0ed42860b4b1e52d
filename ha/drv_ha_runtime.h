/* The HA node runtime: what a node does around the two pure decisions (drv_ha.h). It keeps
 * the operations in flight and the UUIDs they make busy, deduplicates the commands it submits,
 * remembers failed live migrations, publishes this node's capacity, and runs one evaluation
 * pass on demand: the coordinator pass when this node coordinates, leftover destruction, the
 * local pass. It turns operation results and hypervisor events into reports.
 *
 * Every side effect goes through drv_ha_rt_ops_t, so the same code runs in droverd
 * (agent/ha.c: corosync, libvirt, GLib timers) and in the whole-cluster simulator (tests/sim:
 * fake CPG, fake hypervisors, virtual time). No I/O, no main loop, no globals here.
 *
 * Ownership: the caller owns the ops table and UD (both must outlive the runtime). Strings and
 * pointers passed to the ops are valid only during the call. The runtime never calls back
 * into itself from an op: results come later through drv_ha_rt_request_done(),
 * drv_ha_rt_op_done() and drv_ha_rt_dom_changed().
 */
#ifndef DRV_HA_RUNTIME_H
#define DRV_HA_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "drv_cluster.h"
#include "drv_state.h"

/* A domain's state as the node's hypervisor table knows it (same values as virt.h's
 * drv_dom_state_t, which the glue converts at the boundary). */
typedef enum drv_ha_dom_state {
    DRV_HA_DOM_STOPPED = 0,
    DRV_HA_DOM_RUNNING,
    DRV_HA_DOM_PAUSED, /* still a copy of the VM: never start another one elsewhere */
    DRV_HA_DOM_OTHER,  /* crashed-and-preserved, or anything else: destroyed as a leftover */
} drv_ha_dom_state_t;

/* What the runtime needs to know about the membership, this node included. */
typedef struct drv_ha_rt_view {
    bool active;            /* the round is activated (DRV_PHASE_ACTIVE) */
    bool quorate;           /* ... and endorsed as quorate */
    bool coordinator;       /* this node is the coordinator */
    const char *me;         /* this node's name, NULL while unknown */
    uint64_t confirmed_seq; /* the core's rule C7 (drv_cluster_view_t) */
    bool lost_quorum;       /* this node had quorum and lost it: votequorum says no, or
                               corosync is gone (the no-quorum policy applies) */
} drv_ha_rt_view_t;

/* One configured node (corosync's nodelist), in nodelist order. */
typedef struct drv_ha_rt_node {
    const char *name;
    const char *addr; /* NULL: unknown, so no live migration to it */
    bool member;      /* its droverd takes part in the current round */
} drv_ha_rt_node_t;

typedef struct drv_ha_rt_ops {
    /* ---- cluster ---- */
    /* Submit CMD through the cluster core: DRV_OK and *REQ_ID (the result later comes through
     * drv_ha_rt_request_done), or an error code (nothing will come). */
    int (*submit)(void *ud, const drv_cmd_t *cmd, uint64_t timeout_ms, uint64_t *req_id);
    /* The replicated state, or NULL when there is none yet. */
    const drv_state_t *(*state)(void *ud);
    void (*view)(void *ud, drv_ha_rt_view_t *v);
    /* Append the configured nodes (drv_ha_rt_node_t, strings borrowed until the caller returns
     * to its loop) to OUT. */
    void (*nodes)(void *ud, GArray *out);

    /* ---- hypervisor of this node ---- */
    /* The table is current (connected and listed): only then is anything decided locally. */
    bool (*table_valid)(void *ud);
    /* Is UUID in the table? Its state in *STATE when it is. */
    bool (*lookup)(void *ud, const char *uuid, drv_ha_dom_state_t *state);
    void (*foreach)(void *ud, void (*fn)(void *fud, const char *uuid, drv_ha_dom_state_t state),
                    void *fud);
    /* Async operations: 0 and exactly one drv_ha_rt_op_done(OP_ID) later, or an error now and
     * none. STOP with GRACE_MS 0 destroys. MIGRATE live-migrates to node TARGET (the glue
     * turns the name into libvirt URIs). */
    int (*start)(void *ud, uint64_t op_id, const char *xml);
    int (*stop)(void *ud, uint64_t op_id, const char *uuid, unsigned grace_ms);
    int (*migrate)(void *ud, uint64_t op_id, const char *uuid, const char *target);
    /* Ask for a fresh list pass soon (the table may be wrong after a failed start). */
    void (*reconcile_now)(void *ud);
    /* Does the hypervisor run a migration job on UUID (in or out, ours or a previous
     * daemon's)? Such a domain is busy: never started, stopped or destroyed. May be NULL. */
    bool (*migrating)(void *ud, const char *uuid);

    /* ---- fencing ---- */
    /* Fence TARGET (ACTION "off" or "reboot") through the levels the state has for it: 0 and
     * exactly one drv_ha_rt_fence_done(FENCE_ID) later, or an error now (retried later). May
     * be NULL: this node cannot run fence agents (its fencings fail). */
    int (*fence)(void *ud, uint64_t fence_id, const char *target, const char *action);
    /* Forget FENCE_ID: no drv_ha_rt_fence_done for it; its agent is killed. */
    void (*fence_cancel)(void *ud, uint64_t fence_id);

    /* ---- clock ---- */
    /* monotonic: report timestamps and failure windows (the wall clock is never used) */
    uint64_t (*now_ms)(void *ud);
    /* the wall clock, only to stamp the fence history for people; may be NULL */
    uint64_t (*wall_ms)(void *ud);

    /* ---- loop ---- */
    /* Something changed that deserves an evaluation soon (coalesced by the caller). */
    void (*kick)(void *ud);
} drv_ha_rt_ops_t;

typedef struct drv_ha_rt_config {
    uint32_t cpu;        /* vCPUs this host offers (published as capacity/NODE) */
    uint64_t memory_mib; /* MiB for VMs */
    unsigned stop_grace_ms;
    uint64_t request_timeout_ms;
    bool migration;       /* live migration is configured (a migration URI exists) */
    uint64_t watchdog_ms; /* this node's armed watchdog timeout (published), 0: none */
} drv_ha_rt_config_t;

typedef struct drv_ha_rt drv_ha_rt_t;

drv_ha_rt_t *drv_ha_rt_new(const drv_ha_rt_config_t *cfg, const drv_ha_rt_ops_t *ops, void *ud);
/* Abandons operations and requests in flight (nothing is called). NULL is fine. */
void drv_ha_rt_free(drv_ha_rt_t *rt);

/* One evaluation pass. Does nothing unless this node is in an active, quorate round. */
void drv_ha_rt_evaluate(drv_ha_rt_t *rt);
/* A request the runtime submitted finished; false when REQ_ID is not one of its own. */
bool drv_ha_rt_request_done(drv_ha_rt_t *rt, uint64_t req_id, int rc);
/* An operation the runtime started finished; false when OP_ID is not one of its own. */
bool drv_ha_rt_op_done(drv_ha_rt_t *rt, uint64_t op_id, int rc, const char *errmsg);
/* The hypervisor saw domain UUID change to STATE. BY_US: what one of our operations aimed at;
 * false: behind our back (crash, guest shutdown, someone's virsh). */
void drv_ha_rt_dom_changed(drv_ha_rt_t *rt, const char *uuid, const char *name,
                           drv_ha_dom_state_t state, bool by_us, const char *reason);
/* A full list pass of the hypervisor completed: the table is authoritative again (ends the
 * wait after a failed migration). */
void drv_ha_rt_reconciled(drv_ha_rt_t *rt);
/* A fencing started through ops->fence ended: OK, the device(s) and level that did it (or
 * the last tried), and the agents' output or the failure. False when FENCE_ID is unknown
 * (cancelled). */
bool drv_ha_rt_fence_done(drv_ha_rt_t *rt, uint64_t fence_id, bool ok, const char *device,
                          unsigned level, const char *text);
/* Managed VMs this node's hypervisor runs or holds paused (the watchdog rule: may it be fed
 * without quorum?); -1 while the hypervisor's table is not current (unknown is not none). */
int drv_ha_rt_running_vms(drv_ha_rt_t *rt);
/* Is an operation or a report about UUID in flight here? */
bool drv_ha_rt_busy(const drv_ha_rt_t *rt, const char *uuid);
/* Number of operations in flight (the simulator checks that they all end). */
size_t drv_ha_rt_ops_in_flight(const drv_ha_rt_t *rt);

#endif
