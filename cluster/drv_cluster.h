/* Cluster core: membership, quorum endorsement and the replicated state machine over CPG.
 *
 * The core does no I/O of its own. The daemon feeds it CPG and votequorum events and
 * delivered messages; the core calls back through drv_cluster_ops_t to multicast, persist and
 * complete requests. The same object runs under the unit tests with a fake CPG that delivers
 * in one total order. The rules are in docs/replication.md.
 *
 * Lifecycle: drv_cluster_new() -> events ... -> drv_cluster_free(). Not thread-safe: call it
 * from the main loop only.
 */
#ifndef DRV_CLUSTER_H
#define DRV_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drv_state.h"

typedef struct drv_member {
    uint32_t nodeid;
    uint32_t pid;
} drv_member_t;

typedef struct drv_ring {
    uint32_t nodeid;
    uint64_t seq;
} drv_ring_t;

typedef enum drv_phase {
    DRV_PHASE_DOWN = 0, /* not (yet) in the CPG group */
    DRV_PHASE_SYNC,     /* membership changed; exchanging summaries / waiting for the state */
    DRV_PHASE_ACTIVE,   /* state activated for the current membership */
} drv_phase_t;

/* A change to the replicated state, as submitted by a client. */
typedef enum drv_cmd_type {
    DRV_CMD_NODE_STANDBY = 1,     /* node, flag */
    DRV_CMD_NODE_MAINTENANCE = 2, /* node, flag */
    DRV_CMD_SETTING_SET = 3,      /* key, value */
    DRV_CMD_SETTING_DEL = 4,      /* key */
    /* VM resources (name = resource name). Applying one can fail deterministically (every node
     * reaches the same verdict); the originator gets that rc in request_done. */
    DRV_CMD_RES_ADD = 10,    /* res: the definition. DRV_ERR_EXISTS: name, UUID or domain taken */
    DRV_CMD_RES_REMOVE = 11, /* stop it everywhere, then forget it (RES_PURGE) */
    DRV_CMD_RES_ROLE = 12,   /* flag: true = started, false = stopped; start clears failures */
    DRV_CMD_RES_MOVE = 13,   /* value: target node; NULL or "" = clear */
    DRV_CMD_RES_ASSIGN = 14, /* coordinator: value = node or NULL, value2 = moving_from or
                                NULL, gen = the resource version it was computed from
                                (DRV_ERR_STALE when no longer current) */
    DRV_CMD_RES_REPORT = 15, /* node agent: value = node, obs, ts = its monotonic clock (ms),
                                gen = assignment generation seen, value2 = error text for
                                DRV_OBS_FAILED; flag: its failure window passed (failures
                                there are forgotten) */
    DRV_CMD_RES_FAILED = 16, /* coordinator: value = reason, NULL or "" = clear; value2 = why a
                                wanted change waits, NULL or "" = clear; gen = version */
    DRV_CMD_RES_PURGE = 17,  /* coordinator: forget a removed resource no node runs */
    DRV_CMD_RES_MIG_BEGIN = 18, /* source: value = from (itself), value2 = to, gen = version;
                                   only while assigned = to and moving_from = from */
    DRV_CMD_RES_MIG_END = 19,   /* source (value = from, value2 = to): flag true = done (the VM
                                   left the source), false = rolled back (it runs on the source,
                                   which is assigned again; the target must release it) */
    /* Fencing (name = device name or node name; ts = the submitter's wall clock in ms, kept
     * for display in the history, never decided from). docs/fencing.md. */
    DRV_CMD_FENCE_DEV_ADD = 30,    /* dev: the definition. DRV_ERR_EXISTS: name taken */
    DRV_CMD_FENCE_DEV_REMOVE = 31, /* DRV_ERR_UNKNOWN_DEVICE; DRV_ERR_BUSY while a level uses it */
    DRV_CMD_FENCE_LEVEL = 32,      /* name = node, gen = index (1-9), value = "dev1,dev2" or
                                      NULL/"" = remove that level */
    DRV_CMD_FENCE_BEGIN = 33,      /* name = target, value = executor, value2 = "off"|"reboot",
                                      flag = asked by the operator, gen = the node's fence version */
    DRV_CMD_FENCE_RESULT = 34,     /* name = target, gen = the operation (its FENCE_BEGIN's seq),
                                      flag = succeeded, value = device(s), obs = level,
                                      value2 = output / reason. Failed: the operation stays open */
    DRV_CMD_NODE_DOWN = 35,        /* name = node, value = how it is known to be off, flag = by the
                                      operator (confirm-down) rather than the watchdog rule,
                                      gen = the node's fence version */
    DRV_CMD_NODE_UP = 36,          /* name = node (back in the round), gen = its fence version:
                                      clears `down`, cancels a fencing the operator did not ask for */
} drv_cmd_type_t;

typedef struct drv_resource drv_resource_t;

typedef struct drv_cmd {
    drv_cmd_type_t type;
    const char *name;  /* node name, setting key or resource name */
    const char *value; /* setting value (SETTING_SET); see the RES_* types */
    bool flag;         /* NODE_STANDBY / NODE_MAINTENANCE / RES_ROLE */
    const char *value2;
    uint8_t obs;  /* RES_REPORT: drv_obs_t */
    uint64_t ts;  /* RES_REPORT */
    uint64_t gen; /* RES_REPORT: the assignment generation the node acted on; RES_ASSIGN,
                     RES_FAILED, RES_MIG_BEGIN: the resource version decided from */
    const drv_resource_t *res;  /* RES_ADD */
    const drv_fence_dev_t *dev; /* FENCE_DEV_ADD */
} drv_cmd_t;

typedef struct drv_cluster_ops {
    /* Multicast BUF to the group in agreed order. Must keep order; may queue (flow control is
     * the caller's business). Returns 0 or a negative code; on failure the core treats the
     * message as lost (pending requests then time out). */
    int (*send)(void *ud, const void *buf, size_t len);
    /* Persist ST atomically. Called after each activation and each applied command. A
     * failure stops this node from confirming applied commands (rule C5) until a later
     * persist succeeds. */
    int (*persist)(void *ud, const drv_state_t *st);
    /* A request submitted on this node finished: rc 0 = applied cluster-wide order. */
    void (*request_done)(void *ud, uint64_t req_id, int rc);
    /* Phase, quorum endorsement, coordinator or membership changed (for logging/status). */
    void (*view_changed)(void *ud);
} drv_cluster_ops_t;

typedef struct drv_cluster drv_cluster_t;

typedef struct drv_cluster_view {
    drv_phase_t phase;
    bool quorate;           /* this partition is endorsed as quorate for the current round */
    bool local_quorate;     /* votequorum's latest word on this node */
    uint32_t coordinator;   /* nodeid of the coordinator, 0 when none (not quorate / syncing) */
    uint64_t round;         /* identifier of the current membership round */
    bool persist_failed;    /* the last attempt to make the state durable here failed */
    uint64_t confirmed_seq; /* rule C7: the state up to this seq is held by a quorum of this
                               round's participants (0 when not active) */
    size_t n_members;
    const drv_member_t *members; /* sorted by nodeid; valid until the next call into the core */
} drv_cluster_view_t;

/* LOADED: state read from disk (ownership taken), or NULL for an empty one. */
drv_cluster_t *drv_cluster_new(uint32_t local_nodeid, uint32_t local_pid,
                               const drv_cluster_ops_t *ops, void *ud, drv_state_t *loaded);
void drv_cluster_free(drv_cluster_t *c);

/* CPG configuration change: the full member list of the group (any order). */
void drv_cluster_members(drv_cluster_t *c, const drv_member_t *members, size_t n);
/* CPG totem configuration change: the current totem ring. */
void drv_cluster_totem_ring(drv_cluster_t *c, drv_ring_t ring);
/* votequorum: quorate flag as of RING (from the nodelist notification's ring id), and
 * MIN_MEMBERS, the number of droverd participants a partition needs as well (votequorum's
 * quorum, one vote per node): corosync alone being quorate is not enough, because the state
 * lives in the daemons (rule Q3 in docs/replication.md). */
void drv_cluster_quorum(drv_cluster_t *c, bool quorate, uint32_t min_members, drv_ring_t ring);
/* We left the group (corosync died / cpg_finalize): back to DRV_PHASE_DOWN, fail pending. */
void drv_cluster_left(drv_cluster_t *c);
/* A message delivered by CPG. Malformed input is logged and dropped without any change. */
void drv_cluster_deliver(drv_cluster_t *c, uint32_t nodeid, uint32_t pid, const void *msg,
                         size_t len);
/* Submit a change. Returns 0 and sets *REQ_ID (completion via ops->request_done), or fails at
 * once with DRV_ERR_NOT_QUORATE / DRV_ERR_BAD_ARGS / DRV_ERR_NOT_CONNECTED. While the
 * membership is re-syncing the request waits (up to timeout_ms, checked by drv_cluster_tick). */
int drv_cluster_submit(drv_cluster_t *c, const drv_cmd_t *cmd, uint64_t now_ms, uint64_t timeout_ms,
                       uint64_t *req_id);
/* Expire pending requests whose deadline passed (DRV_ERR_TIMEOUT). */
void drv_cluster_tick(drv_cluster_t *c, uint64_t now_ms);

void drv_cluster_get_view(const drv_cluster_t *c, drv_cluster_view_t *view);
const drv_state_t *drv_cluster_state(const drv_cluster_t *c);

/* Persistence (cluster/persist.c). Atomic: temp file, fsync, rename, fsync of the directory.
 * drv_state_load: -ENOENT when there is no file; DRV_ERR_CORRUPT when the file fails its
 * checks, after renaming it to PATH.corrupt-<unix time> (the new name in *SET_ASIDE, may be
 * NULL) so that nothing is silently discarded. */
int drv_state_save(const char *path, const drv_state_t *st);
int drv_state_load(const char *path, drv_state_t **out, char **set_aside);

/* The fencing commands' effect on ST (cluster/fence_state.c; called by the core's apply):
 * 0 when ST changed, else the verdict (ST unchanged). */
int drv_state_apply_fence(drv_state_t *st, const drv_cmd_t *cmd);

#endif
