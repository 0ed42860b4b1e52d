/* Internal to libdrvpolicy: the planning context shared by the phases of one plan.
 * One context per drv_policy_plan() call; nothing here is global. */
#ifndef DRV_POLICY_INTERNAL_H
#define DRV_POLICY_INTERNAL_H

#include <glib.h>
#include "drv_policy.h"

/* Score weights (see docs/policy.md). */
#define DRV_W_AFFINITY 200   /* per member of a (soft) affinity group on the node */
#define DRV_W_SOFT_AA 500    /* penalty per member of a soft anti-affinity group */
#define DRV_W_YELLOW 300     /* penalty for a yellow-health node */
#define DRV_W_OVER_BALANCE 2 /* penalty per permille above the balance goal */
#define DRV_MAX_ROUNDS 8     /* optimisation rounds (each one only improves) */

typedef enum {
    DRV_EXC_NONE = 0,
    DRV_EXC_STATE, /* node is not online */
    DRV_EXC_RED,   /* red health: nothing new placed there */
    DRV_EXC_PIN,   /* VM pinned elsewhere */
    DRV_EXC_CPU,
    DRV_EXC_MEM,
    DRV_EXC_AA, /* hard anti-affinity with a VM already there */
    DRV_EXC_BAN, /* VM banned from the node (failed there too often) */
    DRV_EXC__COUNT
} drv_exc_t;

typedef enum {
    DRV_VS_NONE = 0, /* not wanted (desired stopped) */
    DRV_VS_PLACED,   /* has a planned node */
    DRV_VS_PENDING,  /* wanted, no node yet */
    DRV_VS_STUCK,    /* on a failed node without fencing: untouchable, not running */
    DRV_VS_UNMANAGED /* on a maintenance node: left alone */
} drv_vstate_t;

/* Compressed member lists of the groups of one kind. */
typedef struct {
    int *off; /* n_groups + 1 */
    int *mem;
} drv_groups_t;

typedef struct {
    const drv_policy_input_t *in;
    int nn, nv;
    int *place;                 /* per VM: planned node, -1 none */
    uint8_t *vs;                /* drv_vstate_t per VM */
    int *preempted_by;          /* per VM: VM that displaced it, -1 */
    int64_t *ucpu, *umem;       /* per node used by planned VMs */
    uint8_t *hostable;          /* per node: online and not red (may receive VMs) */
    int64_t *pre_cpu, *pre_mem; /* per node x priority: preemptible load */
    GArray **on;                /* per node: int VM ids planned there */
    int *pos;                   /* per VM: index in on[place] */
    drv_groups_t hard, soft, aff;
    int64_t tot_cpu_cap, tot_mem_cap, max_cpu_cap, max_mem_cap;
    bool balancing;
    int goal;     /* balance goal, permille: threshold - hysteresis */
    int trigger;  /* balance trigger, permille */
    int soft_cap; /* relocation for soft wishes stays at or under this load, permille */
    int evac_used;
    uint64_t n_changes; /* assignments made: change detection between rounds */
    /* explanation capture */
    int explain_vm;
    drv_policy_score_t *ex_scores; /* nn entries, or NULL */
    char *ex_decision;
    int ex_winner;
    char *ex_why;
} drv_ctx_t;

/* plan.c */
int drv__ctx_run(drv_ctx_t *c, const drv_policy_input_t *in, int explain_vm);
void drv__ctx_clear(drv_ctx_t *c);
void drv__assign(drv_ctx_t *c, int v, int n);
void drv__unassign(drv_ctx_t *c, int v);
char *drv__unplaced_reason(drv_ctx_t *c, int v);
int drv__plan_from_ctx(drv_ctx_t *c, drv_policy_plan_t **out);

/* score.c */
bool drv__node_hostable(const drv_ctx_t *c, int n);
int drv__aa_conflict(const drv_ctx_t *c, int v, int n);
drv_exc_t drv__feasible(const drv_ctx_t *c, int v, int n, int *other);
int drv__load_after(const drv_ctx_t *c, int n, int64_t dcpu, int64_t dmem);
int64_t drv__soft_score(const drv_ctx_t *c, int v, int n);
void drv__score(const drv_ctx_t *c, int v, int n, drv_policy_score_t *s);
int drv__choose(drv_ctx_t *c, int v, const char *phase);
char *drv__exc_str(const drv_ctx_t *c, int v, int n, drv_exc_t e, int other);
void drv__capture(drv_ctx_t *c, int v, int winner, const char *decision, char *why);

/* balance.c */
bool drv__relocate(drv_ctx_t *c);
bool drv__balance(drv_ctx_t *c);

/* waves.c */
int drv__schedule(const drv_policy_input_t *in, drv_policy_plan_t *p);

#endif
