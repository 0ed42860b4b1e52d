/* The replicated cluster state: what every node agrees on, applied in CPG total order.
 *
 * Owned by the cluster core (drv_cluster_t); readers get a const pointer valid until the next
 * call into the core. Later features (VM resources) add tables here; the wire codec and the
 * persisted file carry every table.
 */
#ifndef DRV_STATE_H
#define DRV_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* Per-node administrative flags, crmsh's grammar: standby/online toggle `standby`,
 * maintenance/ready toggle `maintenance`. A node absent from the table has both false. */
typedef struct drv_node_admin {
    bool standby;
    bool maintenance;
} drv_node_admin_t;

/* What one node last reported about a resource. */
typedef enum drv_obs {
    DRV_OBS_STOPPED = 0, /* not running there (the node checked) */
    DRV_OBS_RUNNING = 1,
    DRV_OBS_FAILED = 2, /* a start failed there, or it stopped behind Drover's back */
} drv_obs_t;

/* Restart-in-place accounting: a VM is restarted where it failed until it has failed there
 * failure-threshold times within failure-window (cluster properties, cluster/drv_props.h),
 * then relocated. The window is
 * measured on the reporting node's monotonic clock only: its reports carry that clock, and it
 * is that node which says, by a report with the expire flag, that its window has passed. No
 * two clocks are ever compared, and a wall-clock step changes nothing. */

typedef struct drv_res_node {
    drv_obs_t obs;
    uint64_t gen;          /* the resource's assignment generation the report was made at */
    uint32_t failures;     /* failures on this node inside the current window */
    uint64_t window_start; /* reporter's monotonic clock (ms) at the first of them */
    char *last_error;      /* text of the latest failure, or NULL */
} drv_res_node_t;

typedef struct drv_pref {
    char *node;
    uint32_t weight; /* 1 .. 1,000,000 */
} drv_pref_t;

typedef enum drv_role {
    DRV_ROLE_STARTED = 0,
    DRV_ROLE_STOPPED = 1,
    DRV_ROLE_REMOVING = 2, /* `resource remove`: stopped everywhere, then purged */
} drv_role_t;

/* A VM managed as an HA resource. The definition fields are set by `resource add`; `role`
 * and `move_to` by the user; `assigned`/`moving_from`/`failed` by the coordinator; `nodes`
 * by the node agents' reports. */
struct drv_resource {
    char *name;
    char *uuid;   /* from the domain XML, lower case */
    char *domain; /* libvirt domain name */
    char *xml;    /* the domain XML, started as a transient domain */
    uint32_t cpu; /* vCPUs */
    uint64_t memory_mib;
    uint8_t priority; /* 0 low, 1 medium, 2 high */
    bool allow_migrate;
    GPtrArray *prefer;        /* drv_pref_t * */
    GPtrArray *anti_affinity; /* char * group names */

    drv_role_t role;
    char *move_to; /* `resource move` target, NULL when cleared */

    char *assigned;    /* node it should run on, NULL: nowhere */
    char *moving_from; /* the coordinator moves it off this node: that node stops it, then
                          releases it by a report at the current generation */
    uint64_t gen;      /* assignment generation: +1 at every RES_ASSIGN applied */
    char *failed;      /* NULL, or why the coordinator gave up on it */
    char *waiting;     /* NULL, or why a wanted change waits (e.g. a move to a full node) */

    /* Version: +1 at every applied change of anything the placement is decided from
     * (definition, role, move, assignment, reports, migration record). Coordinator commands
     * carry the version they were computed from and are refused (DRV_ERR_STALE) when it is
     * no longer current: a decision is never applied to a state it was not made from. */
    uint64_t ver;
    uint64_t changed_seq; /* the state's seq when ver last moved: a node starts or migrates
                             the VM only once a quorum confirmed that far (rule C7) */

    /* Live migration in flight, a replicated record: set by the source (RES_MIG_BEGIN) before
     * it asks libvirt to migrate, cleared by the source (RES_MIG_END: done or rolled back)
     * once its hypervisor says where the VM is. While it is open nothing re-targets the VM,
     * and neither end starts or stops it. NULL mig_to: none. */
    char *mig_from;
    char *mig_to;
    uint64_t mig_gen; /* the assignment generation it was begun at */

    GHashTable *nodes;  /* node name -> drv_res_node_t * */
    char *last_failure; /* "node: text" of the latest failure anywhere, for status */
};
typedef struct drv_resource drv_resource_t;

/* ---- fencing (docs/fencing.md) ---- */

/* A fence device: an agent of the fence-agents protocol and its parameters, able to fence
 * the nodes listed. Parameters keep their order; secrets among them are never printed. */
typedef struct drv_fence_dev {
    char *name;
    char *agent;      /* absolute path of the agent executable */
    GPtrArray *keys;  /* char *: parameter names, in order */
    GPtrArray *vals;  /* char *: their values (same length) */
    GPtrArray *nodes; /* char *: the nodes it can fence */
} drv_fence_dev_t;

/* One topology level of a node (Pacemaker's fencing-topology): tried in index order; a level
 * succeeds when each of its devices does. */
typedef struct drv_fence_level {
    uint32_t index;     /* 1 .. DRV_FENCE_MAX_LEVEL */
    GPtrArray *devices; /* char *: device names */
} drv_fence_level_t;

/* What the cluster knows about a node's fencing. A node that is `down` is known to run
 * nothing (it was fenced, the operator confirmed it is off, or its watchdog deadline passed)
 * for as long as its daemon is not back in the round: its VMs may be recovered elsewhere. */
typedef struct drv_node_fence {
    uint64_t ver; /* +1 at every change: coordinator commands about the node carry it (C6) */
    bool down;
    /* down by the watchdog rule only: the node stopped (or reset with) the VMs it knew; a VM
     * it never reported may run there outside its knowledge, so that one still waits for it */
    bool down_watchdog;
    char *down_how;   /* "fenced by n1 via sb-n3 (level 1)", "confirmed down by ..." */
    uint64_t down_at; /* wall clock of the submitter (ms), for display only */
    /* A fence operation in flight: OP is the seq of the FENCE_BEGIN that opened it (0: none).
     * Its executor runs the topology until it succeeds; each failed round is recorded. */
    uint64_t op;
    char *op_executor;
    char *op_action;  /* "off" or "reboot" */
    bool op_operator; /* asked by `drover node fence` (not cancelled when the node rejoins) */
    uint64_t op_at;   /* wall ms */
    uint32_t op_failures;
} drv_node_fence_t;

/* One line of the fence history (the last DRV_FENCE_HISTORY_MAX are kept). */
typedef struct drv_fence_event {
    uint64_t seq; /* the state's seq when it was recorded */
    uint64_t at;  /* wall ms of the submitter, for display only */
    char *target;
    char *action;   /* "off", "reboot", "confirm-down", "watchdog" */
    char *executor; /* the node that ran it, or the operator's node */
    char *device;   /* "dev1,dev2" or NULL */
    uint32_t level; /* 0: none */
    char *result;   /* "begun", "ok", "failed", "abandoned", "cancelled" */
    char *text;     /* agent output or reason, at most DRV_FENCE_TEXT_MAX bytes */
} drv_fence_event_t;

#define DRV_FENCE_MAX_DEVICES 256
#define DRV_FENCE_MAX_LEVEL 9
#define DRV_FENCE_MAX_PARAMS 64
#define DRV_FENCE_HISTORY_MAX 64
#define DRV_FENCE_TEXT_MAX 512

typedef struct drv_state {
    uint64_t epoch; /* +1 each time a quorate partition is endorsed (see docs/replication.md) */
    uint64_t seq;   /* commands applied since the cluster was created */
    GHashTable *node_admin;    /* char *node name -> drv_node_admin_t * (owned) */
    GHashTable *settings;      /* char *key -> char *value (owned) */
    GHashTable *resources;     /* char *name -> drv_resource_t * (owned) */
    GHashTable *fence_devices; /* char *name -> drv_fence_dev_t * (owned) */
    GHashTable *fence_levels;  /* char *node -> GPtrArray of drv_fence_level_t *, by index */
    GHashTable *node_fence;    /* char *node -> drv_node_fence_t * (owned) */
    GPtrArray *fence_history;  /* drv_fence_event_t *, oldest first */
} drv_state_t;

drv_fence_dev_t *drv_fence_dev_new(const char *name, const char *agent);
void drv_fence_dev_free(drv_fence_dev_t *d);
drv_fence_dev_t *drv_fence_dev_copy(const drv_fence_dev_t *d);
bool drv_fence_dev_equal(const drv_fence_dev_t *a, const drv_fence_dev_t *b);
/* Does D list NODE? */
bool drv_fence_dev_targets(const drv_fence_dev_t *d, const char *node);
/* Every field within its limits (name a label of [A-Za-z0-9_.-], agent an absolute path,
 * parameters as fencing/'s drv_fence_params_set takes them, at least one node): 0, or
 * DRV_ERR_BAD_ARGS with *WHY (static; may be NULL). */
int drv_fence_dev_validate(const drv_fence_dev_t *d, const char **why);
void drv_fence_level_free(drv_fence_level_t *l);
void drv_fence_event_free(drv_fence_event_t *e);
/* The node's fence record, or NULL when it has none (not down, nothing in flight). */
const drv_node_fence_t *drv_state_node_fence(const drv_state_t *st, const char *node);
/* Is NODE known to run nothing (fenced, confirmed down) as of the state? The caller adds "and
 * its daemon is not in the round". */
bool drv_state_node_down(const drv_state_t *st, const char *node);
/* The levels that fence NODE, by index: its topology when it has one, else one level per
 * device that lists it (by name), so that any one of them is enough. Owned by the caller
 * (g_ptr_array_unref); the level structs point into the state. Empty: no way to fence it. */
GPtrArray *drv_state_fence_levels_for(const drv_state_t *st, const char *node);

drv_resource_t *drv_resource_new(const char *name);
void drv_resource_free(drv_resource_t *r);
drv_resource_t *drv_resource_copy(const drv_resource_t *r);
bool drv_resource_equal(const drv_resource_t *a, const drv_resource_t *b);
/* The node's report record for R, created on demand when CREATE. */
drv_res_node_t *drv_resource_node(drv_resource_t *r, const char *node, bool create);
/* Name of a node reporting R running other than EXCEPT (NULL: none). */
const char *drv_resource_running_elsewhere(const drv_resource_t *r, const char *except);
const char *drv_obs_str(drv_obs_t o);
const char *drv_role_str(drv_role_t r);
/* Resource names: 1-64 characters of [A-Za-z0-9_.-], not starting with '-' or '.'. */
bool drv_resource_name_valid(const char *name);
const char *drv_priority_str(uint8_t p);
int drv_priority_parse(const char *s, uint8_t *out);

/* The one copy of a resource definition's rules, used by the CLI (per field, before it has
 * the XML), droverd's resource-add, the wire decoder and the apply. */
#define DRV_RES_MAX_CPU 4096
#define DRV_RES_MAX_MEMORY_MIB (G_GUINT64_CONSTANT(1) << 32)
#define DRV_RES_MAX_WEIGHT 1000000
#define DRV_RES_DEFAULT_WEIGHT 100
#define DRV_RES_MAX_XML (256 * 1024)
#define DRV_RES_MAX_NAME 255  /* domain, node and group names: bytes of UTF-8 */
#define DRV_RES_MAX_LIST 1024 /* preferences, anti-affinity groups */
bool drv_resource_cpu_valid(uint64_t cpu);
bool drv_resource_memory_valid(uint64_t mib);
bool drv_resource_weight_valid(uint64_t weight);
/* Domain, node and anti-affinity group names: 1-255 bytes of UTF-8. */
bool drv_resource_label_valid(const char *s);
/* Every field of R within its limits: 0, or DRV_ERR_BAD_ARGS with *WHY (a static string;
 * WHY may be NULL). */
int drv_resource_validate(const drv_resource_t *r, const char **why);
/* Would adding R clash with a resource of ST (same name, same UUID ignoring case, same
 * domain)? 0, or DRV_ERR_EXISTS with *WHICH saying which (g_free it; WHICH may be NULL). */
int drv_state_resource_conflict(const drv_state_t *st, const drv_resource_t *r, char **which);

drv_state_t *drv_state_new(void);
void drv_state_free(drv_state_t *st);
drv_state_t *drv_state_copy(const drv_state_t *st);
bool drv_state_equal(const drv_state_t *a, const drv_state_t *b);

/* Admin flags of NODE (both false when the node has no entry). */
drv_node_admin_t drv_state_node_admin(const drv_state_t *st, const char *node);
/* "online", "standby", "maintenance" or "standby+maintenance". */
const char *drv_node_admin_str(drv_node_admin_t a);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(drv_state_t, drv_state_free)

#endif
