/* Drover placement policy engine: a pure function from a cluster snapshot to a plan.
 *
 * No I/O, no clock, no logging: the same input always gives a byte-identical plan. The caller
 * owns every drv_policy_input_t it builds (free it with drv_policy_input_free() if it was made
 * by drv_policy_layout_parse()); every plan, explanation and N+1 report returned here is owned
 * by the caller and freed with the matching _free() function, all of which accept NULL.
 *
 * Errors: 0 on success, -ENOMEM/-EINVAL for misuse, DRV_POLICY_ERR_* for a bad layout or model
 * (a message naming the offending field is returned through `errmsg` where there is one).
 * The algorithm, scores and guarantees are described in docs/policy.md.
 */
#ifndef DRV_POLICY_H
#define DRV_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum drv_policy_result {
    DRV_POLICY_OK = 0,
    DRV_POLICY_ERR_LAYOUT = -1101, /* the layout is not valid JSON or breaks the format */
    DRV_POLICY_ERR_MODEL = -1102,  /* the C model is inconsistent (bad index, size <= 0) */
    DRV_POLICY_ERR_UNKNOWN = -1103 /* a name (node or VM) given by the caller is unknown */
};
const char *drv_policy_strerror(int rc);

typedef enum {
    DRV_NODE_ONLINE = 0,
    DRV_NODE_STANDBY,     /* must be emptied */
    DRV_NODE_MAINTENANCE, /* its VMs are left alone, nothing new is placed */
    DRV_NODE_OFFLINE,     /* cleanly down: hosts nothing */
    DRV_NODE_FAILED,      /* lost and not fenced: its VMs may still run there */
    DRV_NODE_FENCED       /* lost and fenced: its VMs are known dead */
} drv_node_state_t;

typedef enum { DRV_HEALTH_GREEN = 0, DRV_HEALTH_YELLOW, DRV_HEALTH_RED } drv_health_t;
typedef enum { DRV_PRIO_LOW = 0, DRV_PRIO_MEDIUM = 1, DRV_PRIO_HIGH = 2 } drv_priority_t;
typedef enum {
    DRV_STRATEGY_DEFAULT = 0,
    DRV_STRATEGY_UTILIZATION,
    DRV_STRATEGY_MINIMAL,
    DRV_STRATEGY_BALANCED
} drv_strategy_t;
typedef enum {
    DRV_BALANCE_OFF = 0,
    DRV_BALANCE_THRESHOLD, /* act on nodes loaded above the threshold */
    DRV_BALANCE_SPREAD     /* also act on nodes above the cluster mean + 2 x hysteresis */
} drv_balance_level_t;

typedef struct {
    char *name;
    int64_t cpu;        /* vCPUs offered, > 0 */
    int64_t memory_mib; /* > 0 */
    drv_node_state_t state;
    drv_health_t health;
} drv_policy_node_t;

typedef struct {
    int node;       /* index into drv_policy_input_t.nodes */
    int64_t weight; /* 1 .. 1,000,000 */
} drv_policy_pref_t;

typedef struct {
    char *name;
    int64_t cpu, memory_mib; /* > 0 */
    int node;                /* where it runs now (index), -1: runs nowhere */
    bool want_started;       /* desired state: started (true) or stopped */
    bool allow_migrate;      /* false: may only be moved by stop + start */
    drv_priority_t priority;
    int pin_node; /* -1, or the only node it may run on */
    drv_policy_pref_t *prefer;
    size_t n_prefer;
    int *anti_affinity; /* group ids: members never share a node (hard) */
    size_t n_anti_affinity;
    int *anti_affinity_soft; /* group ids: members prefer not to share a node */
    size_t n_anti_affinity_soft;
    int *affinity; /* group ids: members prefer to share a node */
    size_t n_affinity;
    int *banned; /* node indexes it may not be placed on anew (it may stay where it runs) */
    size_t n_banned;
} drv_policy_vm_t;

typedef struct {
    drv_strategy_t strategy;
    int64_t stickiness;
    bool fencing;
    drv_balance_level_t balance_level;
    int balance_threshold;       /* permille of capacity, 1..1000 */
    int balance_hysteresis;      /* permille, 0..500 */
    int max_migrations_per_node; /* 0: unlimited */
    int max_migrations_total;    /* 0: unlimited */
    int evacuation_budget;       /* red-health evacuations per plan, 0: unlimited */
} drv_policy_knobs_t;

typedef struct {
    drv_policy_node_t *nodes;
    size_t n_nodes;
    drv_policy_vm_t *vms;
    size_t n_vms;
    char **groups; /* group names, indexed by the ids in drv_policy_vm_t */
    size_t n_groups;
    drv_policy_knobs_t knobs;
} drv_policy_input_t;

typedef enum {
    DRV_ACT_FENCE = 0,
    DRV_ACT_STOP,
    DRV_ACT_MOVE, /* cold: stop on `from`, start on `to` */
    DRV_ACT_MIGRATE,
    DRV_ACT_START
} drv_policy_op_t;

typedef struct {
    drv_policy_op_t op;
    int vm;           /* -1 for fence */
    int node;         /* fence, stop, start */
    int from, to;     /* migrate, move */
    int wave;         /* 1-based; actions of one wave may run at once */
    bool after_fence; /* a start that recovers a VM of a fenced-in-this-plan node */
} drv_policy_action_t;

typedef struct {
    int vm;
    char *reason;
} drv_policy_unplaced_t;

typedef struct {
    drv_policy_action_t *actions;
    size_t n_actions;
    int *placement; /* per VM: node index after the plan, -1: nowhere */
    size_t n_vms;
    drv_policy_unplaced_t *unplaced;
    size_t n_unplaced;
    int waves;
    size_t n_moves; /* migrations + cold moves */
} drv_policy_plan_t;

/* Plan: the one decision function. *out is set on success only. */
int drv_policy_plan(const drv_policy_input_t *in, drv_policy_plan_t **out);
void drv_policy_plan_free(drv_policy_plan_t *plan);

/* Explanation of one VM's placement in the plan of `in`: the score of every candidate node by
 * term and why the winner won. Returned as text lines (NULL-terminated, g_strfreev()) so the
 * engine has no output format of its own beyond this; the JSON writer uses the structure. */
typedef struct {
    int node;
    bool feasible;
    char *excluded; /* why not feasible, NULL if feasible */
    int64_t capacity, balance, preference, affinity, stickiness, health, total;
} drv_policy_score_t;

typedef struct {
    int vm;
    int winner;                 /* -1 if unplaced */
    char *decision;             /* the rule that decided (phase), one line */
    char *why;                  /* why the winner won, one line */
    drv_policy_score_t *scores; /* one per node, in node order */
    size_t n_scores;
} drv_policy_explain_t;

int drv_policy_explain(const drv_policy_input_t *in, int vm, drv_policy_explain_t **out);
void drv_policy_explain_free(drv_policy_explain_t *ex);

/* N+1: for each online node, what would restart where if it failed now (starting from the
 * placement after the plan of `in`), and what could not restart. */
typedef struct {
    int node;
    size_t n_vms;    /* VMs that were on the node */
    int *restart_vm; /* VM indexes restarted ... */
    int *restart_to; /* ... on these nodes */
    size_t n_restart;
    drv_policy_unplaced_t *unplaced;
    size_t n_unplaced;
    size_t n_preempted; /* lower-priority VMs stopped elsewhere to make room */
} drv_policy_nplus1_node_t;

typedef struct {
    drv_policy_nplus1_node_t *nodes;
    size_t n_nodes;
} drv_policy_nplus1_t;

int drv_policy_nplus1(const drv_policy_input_t *in, drv_policy_nplus1_t **out);
void drv_policy_nplus1_free(drv_policy_nplus1_t *r);

/* Model helpers. */
int drv_policy_input_validate(const drv_policy_input_t *in, char **errmsg);
drv_policy_input_t *drv_policy_input_copy(const drv_policy_input_t *in);
void drv_policy_input_free(drv_policy_input_t *in);
int drv_policy_node_index(const drv_policy_input_t *in, const char *name);
int drv_policy_vm_index(const drv_policy_input_t *in, const char *name);
/* Apply a plan to the model: VMs move to their placement, fenced nodes become fenced. */
void drv_policy_apply(drv_policy_input_t *in, const drv_policy_plan_t *plan);

const char *drv_policy_node_state_str(drv_node_state_t s);
const char *drv_policy_health_str(drv_health_t h);
const char *drv_policy_priority_str(drv_priority_t p);
const char *drv_policy_op_str(drv_policy_op_t op);

/* Layout loader (vmcluster-layout/1, see ../shared/bench/README.md), from a buffer. */
int drv_policy_layout_parse(const char *data, size_t len, drv_policy_input_t **out, char **errmsg);

/* Renderers (return newly allocated strings, g_free()). ex and n1 may be NULL. */
char *drv_policy_render_text(const drv_policy_input_t *in, const drv_policy_plan_t *plan,
                             const drv_policy_explain_t *ex, const drv_policy_nplus1_t *n1);
char *drv_policy_render_json(const drv_policy_input_t *in, const drv_policy_plan_t *plan,
                             const drv_policy_explain_t *ex, const drv_policy_nplus1_t *n1);

#endif
