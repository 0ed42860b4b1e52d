/* The planner: classify, keep, place by priority (with preemption), evacuate, optimise,
 * then turn the final placement into ordered actions. See docs/policy.md for the rules. */
#include <errno.h>
#include <string.h>
#include "policy_internal.h"

static bool running_on(const drv_policy_input_t *in, int v)
{
    int i = in->vms[v].node;
    if (i < 0)
        return false;
    drv_node_state_t st = in->nodes[i].state;
    return st == DRV_NODE_ONLINE || st == DRV_NODE_STANDBY || st == DRV_NODE_MAINTENANCE;
}

static bool preemptible(const drv_ctx_t *c, int v)
{
    return c->vs[v] == DRV_VS_PLACED && c->in->vms[v].pin_node < 0;
}

void drv__assign(drv_ctx_t *c, int v, int n)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    g_assert(c->place[v] < 0);
    c->place[v] = n;
    c->n_changes++;
    c->ucpu[n] += vm->cpu;
    c->umem[n] += vm->memory_mib;
    c->pos[v] = (int)c->on[n]->len;
    g_array_append_val(c->on[n], v);
    if (c->vs[v] == DRV_VS_PENDING)
        c->vs[v] = DRV_VS_PLACED;
    if (preemptible(c, v)) {
        c->pre_cpu[n * 3 + vm->priority] += vm->cpu;
        c->pre_mem[n * 3 + vm->priority] += vm->memory_mib;
    }
}

void drv__unassign(drv_ctx_t *c, int v)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int n = c->place[v];
    g_assert(n >= 0);
    if (preemptible(c, v)) {
        c->pre_cpu[n * 3 + vm->priority] -= vm->cpu;
        c->pre_mem[n * 3 + vm->priority] -= vm->memory_mib;
    }
    c->ucpu[n] -= vm->cpu;
    c->umem[n] -= vm->memory_mib;
    GArray *a = c->on[n];
    int last = g_array_index(a, int, a->len - 1);
    g_array_index(a, int, c->pos[v]) = last;
    c->pos[last] = c->pos[v];
    g_array_set_size(a, a->len - 1);
    c->place[v] = -1;
    if (c->vs[v] == DRV_VS_PLACED)
        c->vs[v] = DRV_VS_PENDING;
}

/* The group ids of one kind: 0 hard anti-affinity, 1 soft anti-affinity, 2 affinity. */
static const int *vm_groups(const drv_policy_vm_t *vm, size_t kind, size_t *n)
{
    *n = kind == 0 ? vm->n_anti_affinity : kind == 1 ? vm->n_anti_affinity_soft : vm->n_affinity;
    return kind == 0 ? vm->anti_affinity : kind == 1 ? vm->anti_affinity_soft : vm->affinity;
}

static void groups_build(drv_groups_t *gr, const drv_policy_input_t *in, size_t kind)
{
    size_t ng = in->n_groups;
    gr->off = g_new0(int, ng + 1);
    for (size_t v = 0; v < in->n_vms; v++) {
        const drv_policy_vm_t *vm = &in->vms[v];
        size_t n;
        const int *gs = vm_groups(vm, kind, &n);
        for (size_t i = 0; i < n; i++)
            gr->off[gs[i] + 1]++;
    }
    for (size_t g = 0; g < ng; g++)
        gr->off[g + 1] += gr->off[g];
    gr->mem = g_new(int, gr->off[ng] + 1);
    int *fill = g_memdup2(gr->off, sizeof(int) * (ng + 1));
    for (size_t v = 0; v < in->n_vms; v++) {
        const drv_policy_vm_t *vm = &in->vms[v];
        size_t n;
        const int *gs = vm_groups(vm, kind, &n);
        for (size_t i = 0; i < n; i++)
            gr->mem[fill[gs[i]]++] = (int)v;
    }
    g_free(fill);
}

static void groups_free(drv_groups_t *gr)
{
    g_free(gr->off);
    g_free(gr->mem);
}

void drv__ctx_clear(drv_ctx_t *c)
{
    if (c->on)
        for (int n = 0; n < c->nn; n++)
            g_array_free(c->on[n], TRUE);
    g_free(c->on);
    g_free(c->place);
    g_free(c->vs);
    g_free(c->preempted_by);
    g_free(c->ucpu);
    g_free(c->umem);
    g_free(c->hostable);
    g_free(c->pre_cpu);
    g_free(c->pre_mem);
    g_free(c->pos);
    groups_free(&c->hard);
    groups_free(&c->soft);
    groups_free(&c->aff);
    if (c->ex_scores)
        for (int n = 0; n < c->nn; n++)
            g_free(c->ex_scores[n].excluded);
    g_free(c->ex_scores);
    g_free(c->ex_decision);
    g_free(c->ex_why);
    memset(c, 0, sizeof(*c));
}

static void ctx_init(drv_ctx_t *c, const drv_policy_input_t *in, int explain_vm)
{
    memset(c, 0, sizeof(*c));
    c->in = in;
    c->nn = (int)in->n_nodes;
    c->nv = (int)in->n_vms;
    c->explain_vm = explain_vm;
    c->ex_winner = -1;
    c->place = g_new(int, c->nv + 1);
    c->preempted_by = g_new(int, c->nv + 1);
    for (int v = 0; v < c->nv; v++)
        c->place[v] = c->preempted_by[v] = -1;
    c->vs = g_new0(uint8_t, c->nv + 1);
    c->pos = g_new0(int, c->nv + 1);
    c->ucpu = g_new0(int64_t, c->nn + 1);
    c->umem = g_new0(int64_t, c->nn + 1);
    c->pre_cpu = g_new0(int64_t, 3 * c->nn + 1);
    c->pre_mem = g_new0(int64_t, 3 * c->nn + 1);
    c->on = g_new0(GArray *, c->nn + 1);
    for (int n = 0; n < c->nn; n++)
        c->on[n] = g_array_new(FALSE, FALSE, sizeof(int));
    groups_build(&c->hard, in, 0);
    groups_build(&c->soft, in, 1);
    groups_build(&c->aff, in, 2);
    c->hostable = g_new0(uint8_t, c->nn + 1);
    for (int n = 0; n < c->nn; n++)
        c->hostable[n] =
            in->nodes[n].state == DRV_NODE_ONLINE && in->nodes[n].health != DRV_HEALTH_RED;
    c->max_cpu_cap = c->max_mem_cap = 1;
    for (int n = 0; n < c->nn; n++) {
        const drv_policy_node_t *nd = &in->nodes[n];
        if (nd->state == DRV_NODE_ONLINE) {
            c->tot_cpu_cap += nd->cpu;
            c->tot_mem_cap += nd->memory_mib;
        }
        c->max_cpu_cap = MAX(c->max_cpu_cap, nd->cpu);
        c->max_mem_cap = MAX(c->max_mem_cap, nd->memory_mib);
    }
    if (c->tot_cpu_cap == 0)
        c->tot_cpu_cap = c->max_cpu_cap;
    if (c->tot_mem_cap == 0)
        c->tot_mem_cap = c->max_mem_cap;
}

/* Balancing trigger and goal; SPREAD uses the fleet mean, which moves cannot change. */
static void balance_init(drv_ctx_t *c)
{
    const drv_policy_knobs_t *k = &c->in->knobs;
    c->balancing = k->balance_level != DRV_BALANCE_OFF;
    c->trigger = k->balance_threshold;
    if (k->balance_level == DRV_BALANCE_SPREAD) {
        int64_t uc = 0, um = 0, cc = 0, cm = 0;
        for (int n = 0; n < c->nn; n++) {
            if (c->in->nodes[n].state != DRV_NODE_ONLINE)
                continue;
            uc += c->ucpu[n];
            um += c->umem[n];
            cc += c->in->nodes[n].cpu;
            cm += c->in->nodes[n].memory_mib;
        }
        int mean = 0;
        if (cc > 0 && cm > 0)
            mean = (int)MAX(uc * 1000 / cc, um * 1000 / cm);
        c->trigger = MIN(c->trigger, mean + 2 * k->balance_hysteresis);
    }
    c->goal = c->trigger - k->balance_hysteresis;
    c->soft_cap = k->balance_threshold > 0 ? c->goal : 1000;
}

static int64_t dom_size(const drv_ctx_t *c, int v)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int64_t a = vm->cpu * 1000000 / c->tot_cpu_cap;
    int64_t b = vm->memory_mib * 1000000 / c->tot_mem_cap;
    return a > b ? a : b;
}

static gint cmp_size_desc(gconstpointer pa, gconstpointer pb, gpointer data)
{
    const drv_ctx_t *c = data;
    int a = *(const int *)pa, b = *(const int *)pb;
    int64_t sa = dom_size(c, a), sb = dom_size(c, b);
    if (sa != sb)
        return sa > sb ? -1 : 1;
    return a < b ? -1 : a > b;
}

/* Make room for v (priority p) by displacing strictly lower-priority, unpinned VMs on one node.
 * Returns the node v was placed on, or -1. Displaced VMs are appended to their bucket. */
static int preempt(drv_ctx_t *c, int v, GArray **bucket)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int p = vm->priority, best = -1;
    int64_t best_deficit = 0;

    if (p == DRV_PRIO_LOW)
        return -1;
    for (int n = 0; n < c->nn; n++) {
        const drv_policy_node_t *nd = &c->in->nodes[n];
        int other;
        if (!drv__node_hostable(c, n))
            continue;
        drv_exc_t e = drv__feasible(c, v, n, &other);
        if ((e != DRV_EXC_CPU && e != DRV_EXC_MEM) || drv__aa_conflict(c, v, n) >= 0)
            continue;
        int64_t fc = nd->cpu - c->ucpu[n], fm = nd->memory_mib - c->umem[n];
        int64_t pc = 0, pm = 0;
        for (int q = 0; q < p; q++) {
            pc += c->pre_cpu[n * 3 + q];
            pm += c->pre_mem[n * 3 + q];
        }
        if (fc + pc < vm->cpu || fm + pm < vm->memory_mib)
            continue;
        /* hard anti-affinity must already hold without the displaced VMs */
        int64_t dc = MAX(0, vm->cpu - fc) * 1000 / nd->cpu;
        int64_t dm = MAX(0, vm->memory_mib - fm) * 1000 / nd->memory_mib;
        int64_t deficit = MAX(dc, dm);
        if (best < 0 || deficit < best_deficit) {
            best = n;
            best_deficit = deficit;
        }
    }
    if (best < 0)
        return -1;

    /* victims: lowest priority first, then largest, then highest index */
    GArray *cand = g_array_new(FALSE, FALSE, sizeof(int));
    GArray *on = c->on[best];
    for (guint i = 0; i < on->len; i++) {
        int u = g_array_index(on, int, i);
        if (preemptible(c, u) && (int)c->in->vms[u].priority < p)
            g_array_append_val(cand, u);
    }
    for (guint i = 1; i < cand->len; i++) { /* insertion sort: small lists */
        int u = g_array_index(cand, int, i);
        guint j = i;
        while (j > 0) {
            int w = g_array_index(cand, int, j - 1);
            const drv_policy_vm_t *a = &c->in->vms[w], *b = &c->in->vms[u];
            int64_t sa = dom_size(c, w), sb = dom_size(c, u);
            bool after = a->priority > b->priority ||
                         (a->priority == b->priority && (sa < sb || (sa == sb && w < u)));
            if (!after)
                break;
            g_array_index(cand, int, j) = w;
            j--;
        }
        g_array_index(cand, int, j) = u;
    }
    const drv_policy_node_t *nd = &c->in->nodes[best];
    guint k = 0;
    GArray *evicted = g_array_new(FALSE, FALSE, sizeof(int));
    while (c->ucpu[best] + vm->cpu > nd->cpu || c->umem[best] + vm->memory_mib > nd->memory_mib) {
        g_assert(k < cand->len);
        int u = g_array_index(cand, int, k++);
        drv__unassign(c, u);
        g_array_append_val(evicted, u);
    }
    drv__assign(c, v, best);
    /* give back what is not needed after all, highest priority first */
    for (guint i = evicted->len; i-- > 0;) {
        int u = g_array_index(evicted, int, i), other;
        if (drv__feasible(c, u, best, &other) == DRV_EXC_NONE) {
            drv__assign(c, u, best);
            continue;
        }
        c->preempted_by[u] = v;
        g_array_append_val(bucket[c->in->vms[u].priority], u);
    }
    g_array_free(evicted, TRUE);
    g_array_free(cand, TRUE);
    return best;
}

static const char *phase_of(const drv_ctx_t *c, int v)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    if (c->preempted_by[v] >= 0)
        return "re-placed after preemption";
    if (vm->node < 0)
        return "initial placement";
    switch (c->in->nodes[vm->node].state) {
    case DRV_NODE_STANDBY:
        return "drain: current node is standby";
    case DRV_NODE_FAILED:
        return "recovery after fence of its node";
    case DRV_NODE_FENCED:
        return "recovery: its node is fenced";
    case DRV_NODE_OFFLINE:
        return "start: its node is offline";
    case DRV_NODE_ONLINE:
        if (vm->pin_node >= 0 && vm->pin_node != vm->node)
            return "repair: VM is pinned to another node";
        return "repair: current node over capacity or hard anti-affinity conflict";
    case DRV_NODE_MAINTENANCE:
        break;
    }
    return "placement";
}

static void place_queue(drv_ctx_t *c, GArray **bucket, bool allow_preempt)
{
    for (int p = DRV_PRIO_HIGH; p >= DRV_PRIO_LOW; p--) {
        GArray *b = bucket[p];
        g_array_sort_with_data(b, cmp_size_desc, c);
        for (guint i = 0; i < b->len; i++) {
            int v = g_array_index(b, int, i);
            if (c->vs[v] != DRV_VS_PENDING)
                continue;
            int n = drv__choose(c, v, phase_of(c, v));
            if (n >= 0) {
                drv__assign(c, v, n);
                continue;
            }
            if (allow_preempt && (n = preempt(c, v, bucket)) >= 0 && v == c->explain_vm)
                drv__capture(c, v, n, "placed by preempting lower-priority VMs",
                             g_strdup_printf("no node had room; %s frees enough by "
                                             "displacing lower-priority VMs",
                                             c->in->nodes[n].name));
        }
    }
}

/* Red health: move running VMs away where another node has room (never stop them for it). */
static bool evacuate_red(drv_ctx_t *c)
{
    const drv_policy_knobs_t *k = &c->in->knobs;
    bool changed = false;
    for (int p = DRV_PRIO_HIGH; p >= DRV_PRIO_LOW; p--) {
        for (int v = 0; v < c->nv; v++) {
            const drv_policy_vm_t *vm = &c->in->vms[v];
            int n = c->place[v];
            if ((int)vm->priority != p || c->vs[v] != DRV_VS_PLACED || n < 0 ||
                c->in->nodes[n].health != DRV_HEALTH_RED || vm->pin_node >= 0)
                continue;
            if (k->evacuation_budget > 0 && c->evac_used >= k->evacuation_budget)
                return changed;
            int t = drv__choose(c, v, "health evacuation: current node is red");
            if (t < 0) {
                if (v == c->explain_vm)
                    drv__capture(c, v, n, "health evacuation: current node is red",
                                 g_strdup_printf("no other node can take it; it stays on %s",
                                                 c->in->nodes[n].name));
                continue;
            }
            drv__unassign(c, v);
            drv__assign(c, v, t);
            c->evac_used++;
            changed = true;
        }
    }
    return changed;
}

int drv__ctx_run(drv_ctx_t *c, const drv_policy_input_t *in, int explain_vm)
{
    const drv_policy_knobs_t *k = &in->knobs;
    GArray *bucket[3];

    ctx_init(c, in, explain_vm);
    for (int p = 0; p < 3; p++)
        bucket[p] = g_array_new(FALSE, FALSE, sizeof(int));

    /* classify; maintenance VMs are fixed first so they count everywhere */
    for (int v = 0; v < c->nv; v++) {
        const drv_policy_vm_t *vm = &in->vms[v];
        int i = vm->node;
        drv_node_state_t st = i >= 0 ? in->nodes[i].state : DRV_NODE_OFFLINE;
        if (i >= 0 && st == DRV_NODE_MAINTENANCE) {
            c->vs[v] = DRV_VS_UNMANAGED;
            drv__assign(c, v, i);
        } else if (!vm->want_started) {
            c->vs[v] = DRV_VS_NONE;
        } else if (i >= 0 && st == DRV_NODE_FAILED && !k->fencing) {
            c->vs[v] = DRV_VS_STUCK;
        } else {
            c->vs[v] = DRV_VS_PENDING;
        }
    }
    /* keep running VMs where they are, highest priority first, within capacity and hard
     * anti-affinity; the rest join the placement queue */
    for (int p = DRV_PRIO_HIGH; p >= DRV_PRIO_LOW; p--) {
        for (int v = 0; v < c->nv; v++) {
            const drv_policy_vm_t *vm = &in->vms[v];
            if ((int)vm->priority != p || c->vs[v] != DRV_VS_PENDING)
                continue;
            int i = vm->node, other;
            if (i >= 0 && in->nodes[i].state == DRV_NODE_ONLINE &&
                drv__feasible(c, v, i, &other) == DRV_EXC_NONE)
                drv__assign(c, v, i);
            else
                g_array_append_val(bucket[p], v);
        }
    }
    balance_init(c);
    place_queue(c, bucket, true);
    evacuate_red(c);

    /* optimisation rounds: each step only improves, so this reaches a fixpoint that a
     * re-plan of the result reproduces (no ping-pong) */
    for (int round = 0; round < DRV_MAX_ROUNDS; round++) {
        uint64_t before = c->n_changes;
        balance_init(c); /* SPREAD's mean follows the VMs placed so far */
        for (int p = 0; p < 3; p++)
            g_array_set_size(bucket[p], 0);
        for (int v = 0; v < c->nv; v++)
            if (c->vs[v] == DRV_VS_PENDING)
                g_array_append_val(bucket[in->vms[v].priority], v);
        place_queue(c, bucket, true);
        evacuate_red(c);
        drv__relocate(c);
        if (c->balancing)
            drv__balance(c);
        if (c->n_changes == before)
            break;
    }
    for (int p = 0; p < 3; p++)
        g_array_free(bucket[p], TRUE);
    return 0;
}

char *drv__unplaced_reason(drv_ctx_t *c, int v)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int cnt[DRV_EXC__COUNT] = {0}, aa_with = -1;

    if (c->vs[v] == DRV_VS_STUCK)
        return g_strdup_printf("node %s failed and fencing is disabled: the VM may still run "
                               "there",
                               c->in->nodes[vm->node].name);
    if (c->nn == 0)
        return g_strdup("the cluster has no nodes");
    if (vm->pin_node >= 0) {
        const drv_policy_node_t *pn = &c->in->nodes[vm->pin_node];
        if (pn->state != DRV_NODE_ONLINE)
            return g_strdup_printf("pinned to %s, which is %s", pn->name,
                                   drv_policy_node_state_str(pn->state));
        if (pn->health == DRV_HEALTH_RED && vm->node != vm->pin_node)
            return g_strdup_printf("pinned to %s, which has red health", pn->name);
    }
    for (int n = 0; n < c->nn; n++) {
        int other = -1;
        drv_exc_t e = drv__node_hostable(c, n) || c->in->nodes[n].state != DRV_NODE_ONLINE
                          ? drv__feasible(c, v, n, &other)
                          : DRV_EXC_RED;
        cnt[e]++;
        if (e == DRV_EXC_AA && aa_with < 0)
            aa_with = other;
    }
    GString *s = g_string_new(NULL);
    if (c->preempted_by[v] >= 0)
        g_string_append_printf(s, "preempted by higher-priority %s; ",
                               c->in->vms[c->preempted_by[v]].name);
    if (cnt[DRV_EXC_STATE] == c->nn) {
        g_string_append(s, "no online node");
        return g_string_free(s, FALSE);
    }
    g_string_append_printf(s, "no feasible node among %d:", c->nn);
    const char *sep = " ";
    if (cnt[DRV_EXC_STATE]) {
        g_string_append_printf(s, "%s%d not online", sep, cnt[DRV_EXC_STATE]);
        sep = ", ";
    }
    if (cnt[DRV_EXC_RED]) {
        g_string_append_printf(s, "%s%d red health", sep, cnt[DRV_EXC_RED]);
        sep = ", ";
    }
    if (cnt[DRV_EXC_PIN]) {
        g_string_append_printf(s, "%s%d excluded by pin", sep, cnt[DRV_EXC_PIN]);
        sep = ", ";
    }
    if (cnt[DRV_EXC_BAN]) {
        g_string_append_printf(s, "%s%d where it failed too often", sep, cnt[DRV_EXC_BAN]);
        sep = ", ";
    }
    if (cnt[DRV_EXC_CPU]) {
        g_string_append_printf(s, "%s%d short of cpu (needs %" G_GINT64_FORMAT ")", sep,
                               cnt[DRV_EXC_CPU], vm->cpu);
        sep = ", ";
    }
    if (cnt[DRV_EXC_MEM]) {
        g_string_append_printf(s, "%s%d short of memory (needs %" G_GINT64_FORMAT " MiB)", sep,
                               cnt[DRV_EXC_MEM], vm->memory_mib);
        sep = ", ";
    }
    if (cnt[DRV_EXC_AA])
        g_string_append_printf(s, "%s%d hard anti-affinity (e.g. with %s)", sep, cnt[DRV_EXC_AA],
                               c->in->vms[aa_with].name);
    if (cnt[DRV_EXC_NONE]) /* should not happen: a feasible node would have been used */
        g_string_append_printf(s, "%s%d feasible but not chosen", sep, cnt[DRV_EXC_NONE]);
    return g_string_free(s, FALSE);
}

static void add_action(GArray *acts, drv_policy_op_t op, int vm, int node, int from, int to)
{
    drv_policy_action_t a = {.op = op, .vm = vm, .node = node, .from = from, .to = to};
    g_array_append_val(acts, a);
}

int drv__plan_from_ctx(drv_ctx_t *c, drv_policy_plan_t **out)
{
    const drv_policy_input_t *in = c->in;
    drv_policy_plan_t *p = g_new0(drv_policy_plan_t, 1);
    GArray *acts = g_array_new(FALSE, FALSE, sizeof(drv_policy_action_t));
    GArray *unpl = g_array_new(FALSE, FALSE, sizeof(drv_policy_unplaced_t));

    if (in->knobs.fencing)
        for (int n = 0; n < c->nn; n++)
            if (in->nodes[n].state == DRV_NODE_FAILED)
                add_action(acts, DRV_ACT_FENCE, -1, n, -1, -1);
    p->n_vms = (size_t)c->nv;
    p->placement = g_new(int, c->nv + 1);
    for (int v = 0; v < c->nv; v++) {
        const drv_policy_vm_t *vm = &in->vms[v];
        int f = c->place[v];
        p->placement[v] = f;
        if (c->vs[v] == DRV_VS_UNMANAGED)
            continue;
        if ((c->vs[v] == DRV_VS_PENDING || c->vs[v] == DRV_VS_STUCK) && f < 0) {
            drv_policy_unplaced_t u = {.vm = v, .reason = drv__unplaced_reason(c, v)};
            g_array_append_val(unpl, u);
        }
        if (c->vs[v] == DRV_VS_STUCK)
            continue;
        if (running_on(in, v)) {
            if (f < 0)
                add_action(acts, DRV_ACT_STOP, v, vm->node, -1, -1);
            else if (f != vm->node)
                add_action(acts, vm->allow_migrate ? DRV_ACT_MIGRATE : DRV_ACT_MOVE, v, -1,
                           vm->node, f);
        } else if (f >= 0) {
            add_action(acts, DRV_ACT_START, v, f, -1, -1);
            if (vm->node >= 0 && in->nodes[vm->node].state == DRV_NODE_FAILED)
                g_array_index(acts, drv_policy_action_t, acts->len - 1).after_fence = true;
        }
    }
    p->n_actions = acts->len;
    p->actions = (drv_policy_action_t *)g_array_free(acts, FALSE);
    p->n_unplaced = unpl->len;
    p->unplaced = (drv_policy_unplaced_t *)g_array_free(unpl, FALSE);
    int rc = drv__schedule(in, p);
    if (rc < 0) {
        drv_policy_plan_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

int drv_policy_plan(const drv_policy_input_t *in, drv_policy_plan_t **out)
{
    drv_ctx_t c;
    int rc;

    if (!in || !out)
        return -EINVAL;
    rc = drv_policy_input_validate(in, NULL);
    if (rc < 0)
        return rc;
    drv__ctx_run(&c, in, -1);
    rc = drv__plan_from_ctx(&c, out);
    drv__ctx_clear(&c);
    return rc;
}

void drv_policy_plan_free(drv_policy_plan_t *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n_unplaced; i++)
        g_free(plan->unplaced[i].reason);
    g_free(plan->unplaced);
    g_free(plan->actions);
    g_free(plan->placement);
    g_free(plan);
}
