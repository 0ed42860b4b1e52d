/* Feasibility and scoring of one VM on one node: the only place the score terms are defined. */
#include <string.h>
#include "policy_internal.h"

bool drv__node_hostable(const drv_ctx_t *c, int n)
{
    return c->hostable[n];
}

/* Would VM v be a hard anti-affinity conflict on node n? Returns the other VM or -1. */
int drv__aa_conflict(const drv_ctx_t *c, int v, int n)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    for (size_t i = 0; i < vm->n_anti_affinity; i++) {
        int g = vm->anti_affinity[i];
        for (int k = c->hard.off[g]; k < c->hard.off[g + 1]; k++) {
            int u = c->hard.mem[k];
            if (u != v && c->place[u] == n)
                return u;
        }
    }
    return -1;
}

static int count_members(const drv_groups_t *gr, const int *groups, size_t ng, const int *place,
                         int v, int n)
{
    int cnt = 0;
    for (size_t i = 0; i < ng; i++) {
        int g = groups[i];
        for (int k = gr->off[g]; k < gr->off[g + 1]; k++) {
            int u = gr->mem[k];
            if (u != v && place[u] == n)
                cnt++;
        }
    }
    return cnt;
}

/* Capacity is checked against the load without v (v may already be planned on n). */
drv_exc_t drv__feasible(const drv_ctx_t *c, int v, int n, int *other)
{
    const drv_policy_node_t *nd = &c->in->nodes[n];
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int64_t ucpu = c->ucpu[n], umem = c->umem[n];

    *other = -1;
    if (nd->state != DRV_NODE_ONLINE)
        return DRV_EXC_STATE;
    if (vm->pin_node >= 0 && vm->pin_node != n)
        return DRV_EXC_PIN;
    for (size_t i = 0; i < vm->n_banned && vm->node != n; i++)
        if (vm->banned[i] == n)
            return DRV_EXC_BAN;
    if (nd->health == DRV_HEALTH_RED && c->place[v] != n && vm->node != n)
        return DRV_EXC_RED;
    if (c->place[v] == n) {
        ucpu -= vm->cpu;
        umem -= vm->memory_mib;
    }
    if (ucpu + vm->cpu > nd->cpu)
        return DRV_EXC_CPU;
    if (umem + vm->memory_mib > nd->memory_mib)
        return DRV_EXC_MEM;
    *other = drv__aa_conflict(c, v, n);
    if (*other >= 0)
        return DRV_EXC_AA;
    return DRV_EXC_NONE;
}

/* Load of node n in permille of its tighter dimension, after adding dcpu/dmem. */
int drv__load_after(const drv_ctx_t *c, int n, int64_t dcpu, int64_t dmem)
{
    const drv_policy_node_t *nd = &c->in->nodes[n];
    int64_t lc = (c->ucpu[n] + dcpu) * 1000 / nd->cpu;
    int64_t lm = (c->umem[n] + dmem) * 1000 / nd->memory_mib;
    return (int)(lc > lm ? lc : lm);
}

/* Preference + affinity + soft anti-affinity: the "soft" wishes of v for node n. */
int64_t drv__soft_score(const drv_ctx_t *c, int v, int n)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int64_t s = 0;
    for (size_t i = 0; i < vm->n_prefer; i++)
        if (vm->prefer[i].node == n)
            s += vm->prefer[i].weight;
    s += (int64_t)DRV_W_AFFINITY *
         count_members(&c->aff, vm->affinity, vm->n_affinity, c->place, v, n);
    s -= (int64_t)DRV_W_SOFT_AA *
         count_members(&c->soft, vm->anti_affinity_soft, vm->n_anti_affinity_soft, c->place, v, n);
    return s;
}

/* The capacity, balance and health terms: everything but the VM's own wishes. */
static inline int64_t base_terms(const drv_ctx_t *c, int n, int64_t dcpu, int64_t dmem,
                                 int64_t *capacity, int64_t *balance, int64_t *health)
{
    const drv_policy_node_t *nd = &c->in->nodes[n];
    int load = drv__load_after(c, n, dcpu, dmem);

    *capacity = 0;
    switch (c->in->knobs.strategy) {
    case DRV_STRATEGY_BALANCED:
        *capacity = 1000 - load;
        break;
    case DRV_STRATEGY_UTILIZATION: {
        int64_t fc = (nd->cpu - c->ucpu[n] - dcpu) * 1000 / c->max_cpu_cap;
        int64_t fm = (nd->memory_mib - c->umem[n] - dmem) * 1000 / c->max_mem_cap;
        *capacity = fc < fm ? fc : fm;
        break;
    }
    case DRV_STRATEGY_MINIMAL:
        *capacity = load;
        break;
    case DRV_STRATEGY_DEFAULT:
        break;
    }
    *balance = c->balancing && load > c->goal ? -(int64_t)DRV_W_OVER_BALANCE * (load - c->goal) : 0;
    *health = nd->health == DRV_HEALTH_YELLOW ? -DRV_W_YELLOW : 0;
    return *capacity + *balance + *health;
}

void drv__score(const drv_ctx_t *c, int v, int n, drv_policy_score_t *s)
{
    const drv_policy_node_t *nd = &c->in->nodes[n];
    const drv_policy_vm_t *vm = &c->in->vms[v];
    bool here = c->place[v] == n;
    int64_t dcpu = here ? 0 : vm->cpu, dmem = here ? 0 : vm->memory_mib;

    memset(s, 0, sizeof(*s));
    s->node = n;
    base_terms(c, n, dcpu, dmem, &s->capacity, &s->balance, &s->health);
    for (size_t i = 0; i < vm->n_prefer; i++)
        if (vm->prefer[i].node == n)
            s->preference += vm->prefer[i].weight;
    if (vm->n_affinity)
        s->affinity += (int64_t)DRV_W_AFFINITY *
                       count_members(&c->aff, vm->affinity, vm->n_affinity, c->place, v, n);
    if (vm->n_anti_affinity_soft)
        s->affinity -=
            (int64_t)DRV_W_SOFT_AA * count_members(&c->soft, vm->anti_affinity_soft,
                                                   vm->n_anti_affinity_soft, c->place, v, n);
    if (vm->node == n && c->in->knobs.stickiness > 0 && nd->state == DRV_NODE_ONLINE)
        s->stickiness = c->in->knobs.stickiness;
    s->total = s->capacity + s->balance + s->preference + s->affinity + s->stickiness + s->health;
}

char *drv__exc_str(const drv_ctx_t *c, int v, int n, drv_exc_t e, int other)
{
    const drv_policy_node_t *nd = &c->in->nodes[n];
    const drv_policy_vm_t *vm = &c->in->vms[v];
    switch (e) {
    case DRV_EXC_NONE:
        return NULL;
    case DRV_EXC_STATE:
        return g_strdup_printf("node is %s", drv_policy_node_state_str(nd->state));
    case DRV_EXC_RED:
        return g_strdup("health red");
    case DRV_EXC_PIN:
        return g_strdup_printf("pinned to %s", c->in->nodes[vm->pin_node].name);
    case DRV_EXC_CPU:
        return g_strdup_printf("cpu: needs %" G_GINT64_FORMAT ", free %" G_GINT64_FORMAT, vm->cpu,
                               nd->cpu - c->ucpu[n]);
    case DRV_EXC_MEM:
        return g_strdup_printf("memory: needs %" G_GINT64_FORMAT " MiB, free %" G_GINT64_FORMAT
                               " MiB",
                               vm->memory_mib, nd->memory_mib - c->umem[n]);
    case DRV_EXC_AA:
        return g_strdup_printf("hard anti-affinity with %s", c->in->vms[other].name);
    case DRV_EXC_BAN:
        return g_strdup("banned (failed there too often)");
    case DRV_EXC__COUNT:
        break;
    }
    return g_strdup("?");
}

void drv__capture(drv_ctx_t *c, int v, int winner, const char *decision, char *why)
{
    if (v != c->explain_vm) {
        g_free(why);
        return;
    }
    if (!c->ex_scores)
        c->ex_scores = g_new0(drv_policy_score_t, c->nn);
    for (int n = 0; n < c->nn; n++) {
        int other;
        drv_exc_t e = drv__feasible(c, v, n, &other);
        g_free(c->ex_scores[n].excluded);
        drv__score(c, v, n, &c->ex_scores[n]);
        c->ex_scores[n].feasible = e == DRV_EXC_NONE;
        c->ex_scores[n].excluded = drv__exc_str(c, v, n, e, other);
        if (e == DRV_EXC_NONE && !drv__node_hostable(c, n) && n != winner) {
            /* its own red node: feasible to stay, but it is being evacuated */
            c->ex_scores[n].feasible = false;
            c->ex_scores[n].excluded = drv__exc_str(c, v, n, DRV_EXC_RED, -1);
        }
    }
    g_free(c->ex_decision);
    g_free(c->ex_why);
    c->ex_decision = g_strdup(decision);
    c->ex_winner = winner;
    c->ex_why = why;
}

/* Best feasible node for v (highest total, ties to the lowest index), or -1. */
int drv__choose(drv_ctx_t *c, int v, const char *phase)
{
    int best = -1, second = -1;
    int64_t best_total = 0, second_total = 0;
    drv_policy_score_t s;

    const drv_policy_vm_t *vm = &c->in->vms[v];
    /* a VM with no pin and no soft wishes, not placed yet: the same terms, computed inline
     * (a cold start scores every VM on every node) */
    bool simple = vm->pin_node < 0 && vm->n_banned == 0 && vm->n_prefer == 0 && vm->n_affinity == 0 &&
                  vm->n_anti_affinity_soft == 0 && c->place[v] < 0;
    int64_t stick = MAX(0, c->in->knobs.stickiness);

    for (int n = 0; n < c->nn; n++) {
        int other;
        if (!drv__node_hostable(c, n))
            continue;
        if (simple) {
            const drv_policy_node_t *nd = &c->in->nodes[n];
            if (c->ucpu[n] + vm->cpu > nd->cpu || c->umem[n] + vm->memory_mib > nd->memory_mib)
                continue;
            if (vm->n_anti_affinity && drv__aa_conflict(c, v, n) >= 0)
                continue;
            int64_t cap, bal, hl;
            s.total = base_terms(c, n, vm->cpu, vm->memory_mib, &cap, &bal, &hl) +
                      (vm->node == n ? stick : 0);
        } else {
            if (drv__feasible(c, v, n, &other) != DRV_EXC_NONE)
                continue;
            drv__score(c, v, n, &s);
        }
        if (best < 0 || s.total > best_total) {
            second = best;
            second_total = best_total;
            best = n;
            best_total = s.total;
        } else if (second < 0 || s.total > second_total) {
            second = n;
            second_total = s.total;
        }
    }
    if (v == c->explain_vm && phase) {
        char *why;
        if (best < 0)
            why = g_strdup("no feasible node");
        else if (second < 0)
            why = g_strdup_printf("%s is the only feasible node", c->in->nodes[best].name);
        else if (best_total == second_total)
            why =
                g_strdup_printf("%s and %s tie at %" G_GINT64_FORMAT "; the lower node index wins",
                                c->in->nodes[best].name, c->in->nodes[second].name, best_total);
        else
            why = g_strdup_printf("%s has the highest total %" G_GINT64_FORMAT
                                  " (runner-up %s: %" G_GINT64_FORMAT ")",
                                  c->in->nodes[best].name, best_total, c->in->nodes[second].name,
                                  second_total);
        drv__capture(c, v, best, phase, why);
    }
    return best;
}
