/* Property tests of the placement engine over thousands of seeded random layouts (1 to 64
 * nodes). Every property is checked by code here that looks only at the input and the plan,
 * never at the planner's bookkeeping:
 *   actions    the actions, applied in order to the input, are legal and give `placement`
 *   capacity   no node over capacity, after the plan and during every wave; wave limits hold
 *   hard       hard anti-affinity and pins hold; nothing lands on non-online/red/maintenance
 *   fence      a failed node's VMs start only after its fence, and never without fencing
 *   bound      a VM is unplaced only if no node could take it even after stopping every
 *              lower-priority, unpinned VM there (the documented greedy bound)
 *   determ     same input (also a deep copy) gives byte-identical JSON
 *   idem       apply the plan, plan again: no actions
 *   explain    the explanation's result is the plan's placement
 * DRV_PROPS_SEEDS overrides the number of layouts (default 5000). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <CUnit/Basic.h>
#include "drv_policy.h"

enum { P_ACTIONS, P_CAPACITY, P_HARD, P_FENCE, P_BOUND, P_DETERM, P_IDEM, P_EXPLAIN, P__N };
static const char *const prop_names[P__N] = {"actions", "capacity", "hard", "fence",
                                             "bound",   "determ",   "idem", "explain"};

typedef struct {
    int fails[P__N];
    int first_seed[P__N];
    char *first_msg[P__N];
    int layouts, total_vms, total_actions, total_unplaced;
} results_t;

static results_t R;

static void flag(int prop, int seed, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
static void flag(int prop, int seed, const char *fmt, ...)
{
    if (R.fails[prop]++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        R.first_msg[prop] = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        R.first_seed[prop] = seed;
    }
}

/* splitmix64: a seeded, platform-independent generator */
static uint64_t rnd_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static int rnd(uint64_t *s, int n)
{
    return (int)(rnd_next(s) % (uint64_t)n);
}
static bool chance(uint64_t *s, int pct)
{
    return rnd(s, 100) < pct;
}

static drv_policy_input_t *gen_layout(int seed)
{
    uint64_t s = (uint64_t)seed * 1000003ULL;
    drv_policy_input_t *in = g_new0(drv_policy_input_t, 1);
    int nn = seed % 5 == 0 ? 1 + rnd(&s, 64) : 1 + rnd(&s, 8);
    int per = chance(&s, 20) ? rnd(&s, 13) : rnd(&s, 6); /* some layouts overcommitted */
    int nv = nn * per + rnd(&s, 3);
    bool overload_ok = chance(&s, 25); /* initial placement may break capacity */
    static const int cpus[] = {8, 16, 24, 32}, vcpus[] = {1, 1, 2, 2, 4, 8};
    static const int mems[] = {16384, 32768, 65536}, vmems[] = {1024, 2048, 4096, 8192, 16384};

    in->n_nodes = (size_t)nn;
    in->nodes = g_new0(drv_policy_node_t, nn);
    for (int n = 0; n < nn; n++) {
        drv_policy_node_t *nd = &in->nodes[n];
        nd->name = g_strdup_printf("n%02d", n + 1);
        nd->cpu = cpus[rnd(&s, 4)];
        nd->memory_mib = mems[rnd(&s, 3)];
        int st = rnd(&s, 100);
        nd->state = st < 68   ? DRV_NODE_ONLINE
                    : st < 76 ? DRV_NODE_STANDBY
                    : st < 82 ? DRV_NODE_MAINTENANCE
                    : st < 87 ? DRV_NODE_OFFLINE
                    : st < 94 ? DRV_NODE_FAILED
                              : DRV_NODE_FENCED;
        int h = rnd(&s, 100);
        nd->health = h < 75 ? DRV_HEALTH_GREEN : h < 88 ? DRV_HEALTH_YELLOW : DRV_HEALTH_RED;
    }
    int ng = nv / 3 + 1;
    in->n_groups = (size_t)ng;
    in->groups = g_new0(char *, ng);
    for (int g = 0; g < ng; g++)
        in->groups[g] = g_strdup_printf("g%d", g);
    int64_t *uc = g_new0(int64_t, nn), *um = g_new0(int64_t, nn);
    in->n_vms = (size_t)nv;
    in->vms = g_new0(drv_policy_vm_t, nv + 1);
    for (int v = 0; v < nv; v++) {
        drv_policy_vm_t *vm = &in->vms[v];
        vm->name = g_strdup_printf("v%04d", v + 1);
        vm->cpu = vcpus[rnd(&s, 6)];
        vm->memory_mib = vmems[rnd(&s, 5)];
        vm->node = -1;
        if (chance(&s, 85)) {
            int n = rnd(&s, nn);
            if (overload_ok || (uc[n] + vm->cpu <= in->nodes[n].cpu &&
                                um[n] + vm->memory_mib <= in->nodes[n].memory_mib)) {
                vm->node = n;
                uc[n] += vm->cpu;
                um[n] += vm->memory_mib;
            }
        }
        vm->want_started = chance(&s, 92);
        vm->allow_migrate = chance(&s, 85);
        vm->priority = (drv_priority_t)rnd(&s, 3);
        vm->pin_node = -1;
        if (chance(&s, 5))
            vm->pin_node = vm->node >= 0 && chance(&s, 70) ? vm->node : rnd(&s, nn);
        if (chance(&s, 20)) {
            vm->n_prefer = (size_t)(1 + rnd(&s, 2));
            vm->prefer = g_new0(drv_policy_pref_t, vm->n_prefer);
            static const int w[] = {1, 10, 100, 1000};
            for (size_t i = 0; i < vm->n_prefer; i++) {
                vm->prefer[i].node = rnd(&s, nn);
                vm->prefer[i].weight = w[rnd(&s, 4)];
            }
        }
        if (chance(&s, 25)) {
            vm->n_anti_affinity = 1;
            vm->anti_affinity = g_new(int, 1);
            vm->anti_affinity[0] = rnd(&s, ng);
        }
        if (chance(&s, 10)) {
            vm->n_anti_affinity_soft = 1;
            vm->anti_affinity_soft = g_new(int, 1);
            vm->anti_affinity_soft[0] = rnd(&s, ng);
        }
        if (chance(&s, 10)) {
            vm->n_affinity = 1;
            vm->affinity = g_new(int, 1);
            vm->affinity[0] = rnd(&s, ng);
        }
    }
    g_free(uc);
    g_free(um);
    drv_policy_knobs_t *k = &in->knobs;
    k->strategy = (drv_strategy_t)rnd(&s, 4);
    static const int stick[] = {0, 1, 5, 100};
    k->stickiness = stick[rnd(&s, 4)];
    k->fencing = chance(&s, 80);
    int b = rnd(&s, 100);
    k->balance_level = b < 50   ? DRV_BALANCE_OFF
                       : b < 85 ? DRV_BALANCE_THRESHOLD
                                : DRV_BALANCE_SPREAD;
    k->balance_threshold = 600 + rnd(&s, 351);
    k->balance_hysteresis = rnd(&s, 101);
    k->max_migrations_per_node = chance(&s, 50) ? 0 : 1 + rnd(&s, 3);
    k->max_migrations_total = chance(&s, 50) ? 0 : 1 + rnd(&s, 5);
    return in;
}

static bool runs_initially(const drv_policy_input_t *in, int v)
{
    int i = in->vms[v].node;
    if (i < 0)
        return false;
    drv_node_state_t st = in->nodes[i].state;
    return st == DRV_NODE_ONLINE || st == DRV_NODE_STANDBY || st == DRV_NODE_MAINTENANCE;
}

static bool on_maint(const drv_policy_input_t *in, int v)
{
    int i = in->vms[v].node;
    return i >= 0 && in->nodes[i].state == DRV_NODE_MAINTENANCE;
}

/* actions + fence: replay the plan on the input */
static void check_actions(int seed, const drv_policy_input_t *in, const drv_policy_plan_t *p)
{
    int nv = (int)in->n_vms, nn = (int)in->n_nodes;
    int *where = g_new(int, nv + 1); /* -1 nowhere, -2 maybe on its failed node */
    int *fenced_wave = g_new0(int, nn + 1);
    int *touched = g_new0(int, nv + 1);
    int lastwave = 0;

    for (int v = 0; v < nv; v++) {
        int i = in->vms[v].node;
        where[v] = runs_initially(in, v)                               ? i
                   : (i >= 0 && in->nodes[i].state == DRV_NODE_FAILED) ? -2
                                                                       : -1;
    }
    for (size_t k = 0; k < p->n_actions; k++) {
        const drv_policy_action_t *a = &p->actions[k];
        if (a->wave < lastwave || a->wave < 1)
            flag(P_ACTIONS, seed, "action %zu: waves out of order", k);
        lastwave = a->wave;
        if (a->op == DRV_ACT_FENCE) {
            if (in->nodes[a->node].state != DRV_NODE_FAILED || !in->knobs.fencing)
                flag(P_FENCE, seed, "fence of a node that is not failed or fencing off");
            fenced_wave[a->node] = a->wave;
            continue;
        }
        int v = a->vm;
        if (on_maint(in, v))
            flag(P_ACTIONS, seed, "action on %s, which is on a maintenance node", in->vms[v].name);
        if (++touched[v] > 2)
            flag(P_ACTIONS, seed, "%s touched more than twice", in->vms[v].name);
        switch (a->op) {
        case DRV_ACT_STOP:
            if (where[v] != a->node)
                flag(P_ACTIONS, seed, "stop %s on a node it is not on", in->vms[v].name);
            where[v] = -1;
            break;
        case DRV_ACT_START:
            if (where[v] == -2) {
                int f = in->vms[v].node;
                if (!fenced_wave[f] || fenced_wave[f] >= a->wave)
                    flag(P_FENCE, seed, "start of %s before the fence of %s", in->vms[v].name,
                         in->nodes[f].name);
            } else if (where[v] != -1) {
                flag(P_ACTIONS, seed, "start of %s, which runs", in->vms[v].name);
            }
            where[v] = a->node;
            break;
        case DRV_ACT_MIGRATE:
        case DRV_ACT_MOVE:
            if (where[v] != a->from || a->from == a->to)
                flag(P_ACTIONS, seed, "move of %s from a node it is not on", in->vms[v].name);
            if ((a->op == DRV_ACT_MIGRATE) != in->vms[v].allow_migrate)
                flag(P_ACTIONS, seed, "%s: cold move where live is allowed or vice versa",
                     in->vms[v].name);
            where[v] = a->to;
            break;
        case DRV_ACT_FENCE:
            break;
        }
    }
    if (lastwave != p->waves)
        flag(P_ACTIONS, seed, "waves %d but last action in wave %d", p->waves, lastwave);
    for (int v = 0; v < nv; v++) {
        int w = where[v] == -2 ? -1 : where[v];
        if (w != p->placement[v])
            flag(P_ACTIONS, seed, "%s: replay gives %d, placement says %d", in->vms[v].name, w,
                 p->placement[v]);
        if (!in->vms[v].want_started && w >= 0 && !on_maint(in, v))
            flag(P_ACTIONS, seed, "%s: desired stopped but placed", in->vms[v].name);
    }
    g_free(where);
    g_free(fenced_wave);
    g_free(touched);
}

/* capacity after the plan and during each wave; concurrency limits */
static void check_capacity(int seed, const drv_policy_input_t *in, const drv_policy_plan_t *p)
{
    int nn = (int)in->n_nodes;
    int64_t *uc = g_new0(int64_t, nn + 1), *um = g_new0(int64_t, nn + 1);
    int64_t *ac = g_new0(int64_t, nn + 1), *am = g_new0(int64_t, nn + 1);
    int64_t *fc = g_new0(int64_t, nn + 1), *fm = g_new0(int64_t, nn + 1);
    int *mig = g_new0(int, nn + 1);

    for (size_t v = 0; v < in->n_vms; v++)
        if (runs_initially(in, (int)v)) {
            uc[in->vms[v].node] += in->vms[v].cpu;
            um[in->vms[v].node] += in->vms[v].memory_mib;
        }
    size_t k = 0;
    for (int w = 1; w <= p->waves; w++) {
        int total = 0;
        memset(ac, 0, sizeof(int64_t) * nn);
        memset(am, 0, sizeof(int64_t) * nn);
        memset(fc, 0, sizeof(int64_t) * nn);
        memset(fm, 0, sizeof(int64_t) * nn);
        memset(mig, 0, sizeof(int) * nn);
        for (; k < p->n_actions && p->actions[k].wave == w; k++) {
            const drv_policy_action_t *a = &p->actions[k];
            if (a->op == DRV_ACT_FENCE)
                continue;
            const drv_policy_vm_t *vm = &in->vms[a->vm];
            int t = a->op == DRV_ACT_START ? a->node : a->to;
            int src = a->op == DRV_ACT_STOP ? a->node : a->from;
            if (a->op != DRV_ACT_STOP) {
                ac[t] += vm->cpu;
                am[t] += vm->memory_mib;
            }
            if (src >= 0) {
                fc[src] += vm->cpu;
                fm[src] += vm->memory_mib;
            }
            if (a->op == DRV_ACT_MIGRATE || a->op == DRV_ACT_MOVE) {
                total++;
                mig[a->from]++;
                mig[t]++;
            }
        }
        if (in->knobs.max_migrations_total && total > in->knobs.max_migrations_total)
            flag(P_CAPACITY, seed, "wave %d: %d migrations > total limit", w, total);
        for (int n = 0; n < nn; n++) {
            const drv_policy_node_t *nd = &in->nodes[n];
            if (in->knobs.max_migrations_per_node && mig[n] > in->knobs.max_migrations_per_node)
                flag(P_CAPACITY, seed, "wave %d: %s in %d migrations", w, nd->name, mig[n]);
            if ((ac[n] || am[n]) && (uc[n] + ac[n] > nd->cpu || um[n] + am[n] > nd->memory_mib))
                flag(P_CAPACITY, seed, "wave %d: %s over capacity during the wave", w, nd->name);
            uc[n] += ac[n] - fc[n];
            um[n] += am[n] - fm[n];
        }
    }
    /* after the plan, from the placement alone */
    memset(uc, 0, sizeof(int64_t) * nn);
    memset(um, 0, sizeof(int64_t) * nn);
    for (size_t v = 0; v < in->n_vms; v++) {
        int n = p->placement[v];
        if (n >= 0 && !on_maint(in, (int)v)) {
            uc[n] += in->vms[v].cpu;
            um[n] += in->vms[v].memory_mib;
        }
    }
    for (int n = 0; n < nn; n++) {
        const drv_policy_node_t *nd = &in->nodes[n];
        if (nd->state != DRV_NODE_MAINTENANCE && (uc[n] > nd->cpu || um[n] > nd->memory_mib))
            flag(P_CAPACITY, seed, "%s over capacity after the plan", nd->name);
    }
    g_free(uc);
    g_free(um);
    g_free(ac);
    g_free(am);
    g_free(fc);
    g_free(fm);
    g_free(mig);
}

static bool share_hard_group(const drv_policy_vm_t *a, const drv_policy_vm_t *b)
{
    for (size_t i = 0; i < a->n_anti_affinity; i++)
        for (size_t j = 0; j < b->n_anti_affinity; j++)
            if (a->anti_affinity[i] == b->anti_affinity[j])
                return true;
    return false;
}

static void check_hard(int seed, const drv_policy_input_t *in, const drv_policy_plan_t *p)
{
    int nv = (int)in->n_vms;
    for (int v = 0; v < nv; v++) {
        const drv_policy_vm_t *vm = &in->vms[v];
        int n = p->placement[v];
        if (n < 0 || on_maint(in, v))
            continue;
        const drv_policy_node_t *nd = &in->nodes[n];
        if (nd->state != DRV_NODE_ONLINE)
            flag(P_HARD, seed, "%s ends on %s node %s", vm->name,
                 drv_policy_node_state_str(nd->state), nd->name);
        if (nd->health == DRV_HEALTH_RED && vm->node != n)
            flag(P_HARD, seed, "%s newly placed on red node %s", vm->name, nd->name);
        if (vm->pin_node >= 0 && vm->pin_node != n)
            flag(P_HARD, seed, "%s not on its pinned node", vm->name);
        for (int u = 0; u < nv; u++)
            if (u != v && p->placement[u] == n && share_hard_group(vm, &in->vms[u]))
                flag(P_HARD, seed, "%s and %s share %s (hard anti-affinity)", vm->name,
                     in->vms[u].name, nd->name);
    }
}

/* The greedy bound: an unplaced VM fits on no hostable node even after stopping every
 * lower-priority unpinned VM there, or is blocked there by hard anti-affinity or its pin. */
static void check_bound(int seed, const drv_policy_input_t *in, const drv_policy_plan_t *p)
{
    int nn = (int)in->n_nodes, nv = (int)in->n_vms;
    for (size_t k = 0; k < p->n_unplaced; k++) {
        int v = p->unplaced[k].vm;
        const drv_policy_vm_t *vm = &in->vms[v];
        if (p->placement[v] >= 0 || !vm->want_started)
            flag(P_BOUND, seed, "%s listed unplaced but placed or not wanted", vm->name);
        if (vm->node >= 0 && in->nodes[vm->node].state == DRV_NODE_FAILED && !in->knobs.fencing)
            continue; /* may still run on its failed node: untouchable */
        for (int n = 0; n < nn; n++) {
            const drv_policy_node_t *nd = &in->nodes[n];
            if (nd->state != DRV_NODE_ONLINE || nd->health == DRV_HEALTH_RED)
                continue;
            if (vm->pin_node >= 0 && vm->pin_node != n)
                continue;
            int64_t fc = nd->cpu, fm = nd->memory_mib;
            bool blocked = false;
            for (int u = 0; u < nv; u++) {
                if (p->placement[u] != n)
                    continue;
                const drv_policy_vm_t *um = &in->vms[u];
                if (share_hard_group(vm, um))
                    blocked = true;
                bool displaceable =
                    um->priority < vm->priority && um->pin_node < 0 && !on_maint(in, u);
                if (!displaceable) {
                    fc -= um->cpu;
                    fm -= um->memory_mib;
                }
            }
            if (!blocked && fc >= vm->cpu && fm >= vm->memory_mib)
                flag(P_BOUND, seed, "%s unplaced but fits on %s (%s)", vm->name, nd->name,
                     p->unplaced[k].reason);
        }
    }
    for (int v = 0; v < nv; v++) {
        bool listed = false;
        for (size_t k = 0; k < p->n_unplaced; k++)
            listed |= p->unplaced[k].vm == v;
        if (in->vms[v].want_started && p->placement[v] < 0 && !listed)
            flag(P_BOUND, seed, "%s wanted, not placed, not listed unplaced", in->vms[v].name);
    }
}

/* DRV_PROPS_DUMP=SEED prints that layout as vmcluster-layout/1 (to turn a failure into a
 * golden scenario) and exits. */
static void dump_layout(const drv_policy_input_t *in)
{
    static const char *const strat[] = {"default", "utilization", "minimal", "balanced"};
    static const char *const lvl[] = {"off", "threshold", "spread"};
    const drv_policy_knobs_t *k = &in->knobs;
    printf("{\"format\": \"vmcluster-layout/1\",\n \"policy\": {\"placement_strategy\": "
           "\"%s\", \"resource_stickiness\": %" G_GINT64_FORMAT ", \"fencing\": %s, "
           "\"balance_level\": \"%s\", \"balance_threshold\": %.3f, "
           "\"balance_hysteresis\": %.3f, \"max_migrations_per_node\": %d, "
           "\"max_migrations_total\": %d},\n \"nodes\": [\n",
           strat[k->strategy], k->stickiness, k->fencing ? "true" : "false", lvl[k->balance_level],
           k->balance_threshold / 1000.0, k->balance_hysteresis / 1000.0,
           k->max_migrations_per_node, k->max_migrations_total);
    for (size_t n = 0; n < in->n_nodes; n++) {
        const drv_policy_node_t *nd = &in->nodes[n];
        printf("  {\"name\": \"%s\", \"cpu\": %" G_GINT64_FORMAT
               ", \"memory_mib\": %" G_GINT64_FORMAT ", \"state\": \"%s\", \"health\": \"%s\"}%s\n",
               nd->name, nd->cpu, nd->memory_mib, drv_policy_node_state_str(nd->state),
               drv_policy_health_str(nd->health), n + 1 < in->n_nodes ? "," : "");
    }
    printf(" ],\n \"vms\": [\n");
    for (size_t v = 0; v < in->n_vms; v++) {
        const drv_policy_vm_t *vm = &in->vms[v];
        printf("  {\"name\": \"%s\", \"cpu\": %" G_GINT64_FORMAT
               ", \"memory_mib\": %" G_GINT64_FORMAT ", \"node\": ",
               vm->name, vm->cpu, vm->memory_mib);
        if (vm->node < 0)
            printf("null");
        else
            printf("\"%s\"", in->nodes[vm->node].name);
        printf(", \"allow_migrate\": %s, \"priority\": \"%s\"",
               vm->allow_migrate ? "true" : "false", drv_policy_priority_str(vm->priority));
        if (!vm->want_started)
            printf(", \"state\": \"stopped\"");
        if (vm->pin_node >= 0)
            printf(", \"pinned\": \"%s\"", in->nodes[vm->pin_node].name);
        if (vm->n_prefer) {
            printf(", \"prefer\": [");
            for (size_t i = 0; i < vm->n_prefer; i++)
                printf("%s{\"node\": \"%s\", \"weight\": %" G_GINT64_FORMAT "}", i ? ", " : "",
                       in->nodes[vm->prefer[i].node].name, vm->prefer[i].weight);
            printf("]");
        }
        const struct {
            const char *key;
            const int *g;
            size_t n;
        } lists[] = {{"anti_affinity", vm->anti_affinity, vm->n_anti_affinity},
                     {"anti_affinity_soft", vm->anti_affinity_soft, vm->n_anti_affinity_soft},
                     {"affinity", vm->affinity, vm->n_affinity}};
        for (size_t l = 0; l < 3; l++) {
            if (!lists[l].n)
                continue;
            printf(", \"%s\": [", lists[l].key);
            for (size_t i = 0; i < lists[l].n; i++)
                printf("%s\"%s\"", i ? ", " : "", in->groups[lists[l].g[i]]);
            printf("]");
        }
        printf("}%s\n", v + 1 < in->n_vms ? "," : "");
    }
    printf(" ]\n}\n");
}

static void run_one(int seed)
{
    drv_policy_input_t *in = gen_layout(seed);
    drv_policy_plan_t *p = NULL, *p2 = NULL, *p3 = NULL;
    char *err = NULL;

    if (drv_policy_input_validate(in, &err) < 0 || drv_policy_plan(in, &p) < 0) {
        flag(P_ACTIONS, seed, "plan failed: %s", err ? err : "?");
        g_free(err);
        drv_policy_input_free(in);
        return;
    }
    R.layouts++;
    R.total_vms += (int)in->n_vms;
    R.total_actions += (int)p->n_actions;
    R.total_unplaced += (int)p->n_unplaced;
    check_actions(seed, in, p);
    check_capacity(seed, in, p);
    check_hard(seed, in, p);
    check_bound(seed, in, p);

    drv_policy_input_t *cp = drv_policy_input_copy(in);
    if (drv_policy_plan(cp, &p2) == 0) {
        char *a = drv_policy_render_json(in, p, NULL, NULL);
        char *b = drv_policy_render_json(cp, p2, NULL, NULL);
        if (strcmp(a, b) != 0)
            flag(P_DETERM, seed, "two plans of the same input differ");
        g_free(a);
        g_free(b);
    } else {
        flag(P_DETERM, seed, "second plan failed");
    }
    drv_policy_apply(cp, p);
    if (drv_policy_plan(cp, &p3) == 0) {
        if (p3->n_actions != 0) {
            char *t = drv_policy_render_text(cp, p3, NULL, NULL);
            flag(P_IDEM, seed, "re-plan after applying has %zu actions:\n%s", p3->n_actions, t);
            g_free(t);
        }
    } else {
        flag(P_IDEM, seed, "re-plan failed");
    }
    if (in->n_vms > 0) {
        int v = seed % (int)in->n_vms;
        drv_policy_explain_t *ex = NULL;
        if (drv_policy_explain(in, v, &ex) < 0 || ex->winner != p->placement[v] ||
            ex->n_scores != in->n_nodes || !ex->decision || !ex->why)
            flag(P_EXPLAIN, seed, "explanation of %s disagrees with the plan", in->vms[v].name);
        drv_policy_explain_free(ex);
    }
    drv_policy_plan_free(p);
    drv_policy_plan_free(p2);
    drv_policy_plan_free(p3);
    drv_policy_input_free(cp);
    drv_policy_input_free(in);
}

static int suite_init(void)
{
    const char *env = g_getenv("DRV_PROPS_SEEDS");
    int seeds = env ? atoi(env) : 5000;
    for (int seed = 1; seed <= seeds; seed++)
        run_one(seed);
    fprintf(stderr, "props: %d layouts, %d VMs, %d actions, %d unplaced\n", R.layouts, R.total_vms,
            R.total_actions, R.total_unplaced);
    return 0;
}

static void check_prop(int prop)
{
    if (R.fails[prop])
        fprintf(stderr, "property %s: %d failures; first at seed %d: %s\n", prop_names[prop],
                R.fails[prop], R.first_seed[prop], R.first_msg[prop]);
    CU_ASSERT_EQUAL(R.fails[prop], 0);
}

static void test_actions(void)
{
    check_prop(P_ACTIONS);
}
static void test_capacity(void)
{
    check_prop(P_CAPACITY);
}
static void test_hard(void)
{
    check_prop(P_HARD);
}
static void test_fence(void)
{
    check_prop(P_FENCE);
}
static void test_bound(void)
{
    check_prop(P_BOUND);
}
static void test_determ(void)
{
    check_prop(P_DETERM);
}
static void test_idem(void)
{
    check_prop(P_IDEM);
}
static void test_explain(void)
{
    check_prop(P_EXPLAIN);
}
static void test_coverage(void)
{
    /* the generator must exercise the planner, or the properties prove nothing */
    CU_ASSERT(R.layouts >= 100 || g_getenv("DRV_PROPS_SEEDS"));
    CU_ASSERT(R.total_actions > R.layouts);
    CU_ASSERT(R.total_unplaced > 0);
}

int main(void)
{
    alarm(600); /* a hung planner fails the test instead of hanging make check */
    if (g_getenv("DRV_PROPS_DUMP")) {
        drv_policy_input_t *in = gen_layout(atoi(g_getenv("DRV_PROPS_DUMP")));
        dump_layout(in);
        drv_policy_input_free(in);
        return 0;
    }
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("policy-properties", suite_init, NULL);
    CU_add_test(s, "actions replay to the placement", test_actions);
    CU_add_test(s, "capacity after and during waves", test_capacity);
    CU_add_test(s, "hard constraints", test_hard);
    CU_add_test(s, "fence before recovery", test_fence);
    CU_add_test(s, "greedy feasibility bound", test_bound);
    CU_add_test(s, "deterministic", test_determ);
    CU_add_test(s, "idempotent", test_idem);
    CU_add_test(s, "explanation agrees", test_explain);
    CU_add_test(s, "generator coverage", test_coverage);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
