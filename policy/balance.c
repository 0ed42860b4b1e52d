/* Optimisation steps after placement: relocation towards soft wishes (preference, affinity,
 * soft anti-affinity) when they beat stickiness, and threshold balancing with hysteresis.
 * Both only ever improve a potential (soft score; load above the goal), and neither moves a
 * VM onto a node that would end above the balance goal, so re-planning finds nothing to do. */
#include "policy_internal.h"

static bool running_initially(const drv_ctx_t *c, int v)
{
    int i = c->in->vms[v].node;
    return i >= 0 &&
           (c->in->nodes[i].state == DRV_NODE_ONLINE || c->in->nodes[i].state == DRV_NODE_STANDBY);
}

/* May the optimiser move v at all? Never pinned VMs; running VMs only by live migration. */
static bool movable(const drv_ctx_t *c, int v)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    if (c->vs[v] != DRV_VS_PLACED || vm->pin_node >= 0)
        return false;
    return vm->allow_migrate || !running_initially(c, v) || c->place[v] != vm->node;
}

static bool target_ok(const drv_ctx_t *c, int v, int t)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int other;
    if (!drv__node_hostable(c, t) || c->in->nodes[t].health != DRV_HEALTH_GREEN)
        return false;
    if (drv__feasible(c, v, t, &other) != DRV_EXC_NONE)
        return false;
    /* soft wishes never fill a node beyond the balance goal, balancing on or off */
    if (drv__load_after(c, t, vm->cpu, vm->memory_mib) > c->soft_cap)
        return false;
    return true;
}

static void consider(const drv_ctx_t *c, int v, int t, int cur, int64_t *best_s, int *best)
{
    if (t == cur || !target_ok(c, v, t))
        return;
    int64_t s = drv__soft_score(c, v, t);
    if (s > *best_s || (s == *best_s && *best >= 0 && t < *best)) {
        *best_s = s;
        *best = t;
    }
}

static bool relocate_one(drv_ctx_t *c, int v)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int cur = c->place[v], best = -1;
    int64_t stick = vm->node == cur ? MAX(0, c->in->knobs.stickiness) : 0;
    int64_t here = drv__soft_score(c, v, cur);
    int64_t best_s = here + stick;

    for (size_t i = 0; i < vm->n_prefer; i++)
        consider(c, v, vm->prefer[i].node, cur, &best_s, &best);
    for (size_t i = 0; i < vm->n_affinity; i++) {
        int g = vm->affinity[i];
        for (int k = c->aff.off[g]; k < c->aff.off[g + 1]; k++) {
            int u = c->aff.mem[k];
            if (u != v && c->place[u] >= 0)
                consider(c, v, c->place[u], cur, &best_s, &best);
        }
    }
    if (vm->n_anti_affinity_soft > 0 && here < 0)
        for (int t = 0; t < c->nn; t++)
            consider(c, v, t, cur, &best_s, &best);
    if (best < 0)
        return false;
    if (v == c->explain_vm)
        drv__capture(
            c, v, best, "relocation: soft wishes outweigh stickiness",
            g_strdup_printf("preference+affinity %" G_GINT64_FORMAT " on %s beats %" G_GINT64_FORMAT
                            " + stickiness %" G_GINT64_FORMAT " on %s",
                            best_s, c->in->nodes[best].name, here, stick, c->in->nodes[cur].name));
    drv__unassign(c, v);
    drv__assign(c, v, best);
    return true;
}

bool drv__relocate(drv_ctx_t *c)
{
    bool any = false;
    for (int pass = 0; pass < 16; pass++) {
        bool changed = false;
        for (int v = 0; v < c->nv; v++) {
            const drv_policy_vm_t *vm = &c->in->vms[v];
            if (vm->n_prefer == 0 && vm->n_affinity == 0 && vm->n_anti_affinity_soft == 0)
                continue;
            if (!movable(c, v))
                continue;
            changed |= relocate_one(c, v);
        }
        any |= changed;
        if (!changed)
            break;
    }
    return any;
}

/* Best target for moving v off src for balance: under the goal afterwards, and no worse for
 * v's soft wishes than src. */
static int balance_target(const drv_ctx_t *c, int v, int src)
{
    int best = -1;
    int64_t best_total = 0;
    int64_t soft_src = drv__soft_score(c, v, src);
    drv_policy_score_t s;

    for (int t = 0; t < c->nn; t++) {
        if (t == src || !drv__node_hostable(c, t))
            continue;
        int other;
        if (drv__feasible(c, v, t, &other) != DRV_EXC_NONE)
            continue;
        const drv_policy_vm_t *vm = &c->in->vms[v];
        if (drv__load_after(c, t, vm->cpu, vm->memory_mib) > c->goal)
            continue;
        if (drv__soft_score(c, v, t) < soft_src)
            continue;
        drv__score(c, v, t, &s);
        if (best < 0 || s.total > best_total) {
            best = t;
            best_total = s.total;
        }
    }
    return best;
}

static int64_t size_on(const drv_ctx_t *c, int v, int n)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int64_t a = vm->cpu * 1000000 / c->in->nodes[n].cpu;
    int64_t b = vm->memory_mib * 1000000 / c->in->nodes[n].memory_mib;
    return MAX(a, b);
}

static gint cmp_size_asc(gconstpointer pa, gconstpointer pb, gpointer data)
{
    const drv_ctx_t *c = data;
    int a = *(const int *)pa, b = *(const int *)pb;
    int n = c->place[a];
    int64_t sa = size_on(c, a, n), sb = size_on(c, b, n);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    return a < b ? -1 : a > b;
}

bool drv__balance(drv_ctx_t *c)
{
    bool changed = false;
    GArray *cand = g_array_new(FALSE, FALSE, sizeof(int));

    for (int n = 0; n < c->nn; n++) {
        if (!drv__node_hostable(c, n) || drv__load_after(c, n, 0, 0) <= c->trigger)
            continue;
        while (drv__load_after(c, n, 0, 0) > c->goal) {
            g_array_set_size(cand, 0);
            GArray *on = c->on[n];
            for (guint i = 0; i < on->len; i++) {
                int v = g_array_index(on, int, i);
                if (movable(c, v))
                    g_array_append_val(cand, v);
            }
            g_array_sort_with_data(cand, cmp_size_asc, c);
            int pick = -1, target = -1;
            /* fewest moves: the smallest single VM that brings n to the goal ... */
            for (guint i = 0; i < cand->len && pick < 0; i++) {
                int v = g_array_index(cand, int, i);
                const drv_policy_vm_t *vm = &c->in->vms[v];
                if (drv__load_after(c, n, -vm->cpu, -vm->memory_mib) > c->goal)
                    continue;
                target = balance_target(c, v, n);
                if (target >= 0)
                    pick = v;
            }
            /* ... else the largest one that can go somewhere, and repeat */
            for (guint i = cand->len; i-- > 0 && pick < 0;) {
                int v = g_array_index(cand, int, i);
                target = balance_target(c, v, n);
                if (target >= 0)
                    pick = v;
            }
            if (pick < 0)
                break;
            if (pick == c->explain_vm)
                drv__capture(c, pick, target, "balancing: current node above the threshold",
                             g_strdup_printf("%s was at %d permille (trigger %d, goal %d); %s "
                                             "has the best total among nodes that stay "
                                             "under the goal",
                                             c->in->nodes[n].name, drv__load_after(c, n, 0, 0),
                                             c->trigger, c->goal, c->in->nodes[target].name));
            drv__unassign(c, pick);
            drv__assign(c, pick, target);
            changed = true;
        }
    }
    g_array_free(cand, TRUE);
    return changed;
}
