/* Wave scheduling: order the plan's actions so that no node is ever over capacity while they
 * run and the migration concurrency limits hold. Within a wave actions may run at once; a
 * migrating VM holds capacity on both nodes until its wave ends. Fences and stops go first
 * (wave 1); recoveries after a fence start in wave 2 at the earliest. */
#include <string.h>
#include "policy_internal.h"

static int op_rank(drv_policy_op_t op)
{
    switch (op) {
    case DRV_ACT_FENCE:
        return 0;
    case DRV_ACT_STOP:
        return 1;
    case DRV_ACT_MOVE:
        return 2;
    case DRV_ACT_MIGRATE:
        return 3;
    case DRV_ACT_START:
        return 4;
    }
    return 5;
}

static gint cmp_action(gconstpointer pa, gconstpointer pb)
{
    const drv_policy_action_t *a = pa, *b = pb;
    if (a->wave != b->wave)
        return a->wave < b->wave ? -1 : 1;
    if (op_rank(a->op) != op_rank(b->op))
        return op_rank(a->op) < op_rank(b->op) ? -1 : 1;
    if (a->vm != b->vm)
        return a->vm < b->vm ? -1 : 1;
    return a->node < b->node ? -1 : a->node > b->node;
}

static int target_of(const drv_policy_action_t *a)
{
    return a->op == DRV_ACT_START ? a->node : a->to;
}

int drv__schedule(const drv_policy_input_t *in, drv_policy_plan_t *p)
{
    int nn = (int)in->n_nodes;
    int lim_node = in->knobs.max_migrations_per_node, lim_tot = in->knobs.max_migrations_total;
    int64_t *ucpu = g_new0(int64_t, nn + 1), *umem = g_new0(int64_t, nn + 1);
    int64_t *rcpu = g_new0(int64_t, nn + 1), *rmem = g_new0(int64_t, nn + 1);
    int *mig = g_new0(int, nn + 1);
    GArray *acts = g_array_new(FALSE, FALSE, sizeof(drv_policy_action_t));
    GArray *pend = g_array_new(FALSE, FALSE, sizeof(int)); /* indexes into acts */
    GArray *next = g_array_new(FALSE, FALSE, sizeof(int));
    bool wave1_frees = false;

    for (size_t v = 0; v < in->n_vms; v++) {
        int i = in->vms[v].node;
        if (i < 0)
            continue;
        drv_node_state_t st = in->nodes[i].state;
        if (st == DRV_NODE_ONLINE || st == DRV_NODE_STANDBY || st == DRV_NODE_MAINTENANCE) {
            ucpu[i] += in->vms[v].cpu;
            umem[i] += in->vms[v].memory_mib;
        }
    }
    g_array_append_vals(acts, p->actions, p->n_actions);
    for (guint i = 0; i < acts->len; i++) {
        drv_policy_action_t *a = &g_array_index(acts, drv_policy_action_t, i);
        if (a->op == DRV_ACT_FENCE || a->op == DRV_ACT_STOP) {
            a->wave = 1;
            wave1_frees = true;
        } else {
            int ii = (int)i;
            g_array_append_val(pend, ii);
        }
    }
    /* stops free their capacity at the end of wave 1 */
    int maxwave = wave1_frees ? 1 : 0, stop_wave = wave1_frees ? 1 : 0; /* frees at its end */
    for (int w = 1; pend->len > 0; w++) {
        int total = 0;
        bool progress = false;
        memset(rcpu, 0, sizeof(int64_t) * nn);
        memset(rmem, 0, sizeof(int64_t) * nn);
        memset(mig, 0, sizeof(int) * nn);
        g_array_set_size(next, 0);
        for (guint k = 0; k < pend->len; k++) {
            int ai = g_array_index(pend, int, k);
            drv_policy_action_t *a = &g_array_index(acts, drv_policy_action_t, ai);
            const drv_policy_vm_t *vm = &in->vms[a->vm];
            int t = target_of(a);
            bool is_mig = a->op != DRV_ACT_START;
            bool ok = !(a->after_fence && w < 2);
            if (ok && is_mig) {
                ok = (lim_tot <= 0 || total < lim_tot) &&
                     (lim_node <= 0 || (mig[a->from] < lim_node && mig[t] < lim_node));
            }
            if (ok)
                ok = ucpu[t] + rcpu[t] + vm->cpu <= in->nodes[t].cpu &&
                     umem[t] + rmem[t] + vm->memory_mib <= in->nodes[t].memory_mib;
            if (!ok) {
                g_array_append_val(next, ai);
                continue;
            }
            a->wave = w;
            progress = true;
            rcpu[t] += vm->cpu;
            rmem[t] += vm->memory_mib;
            if (is_mig) {
                total++;
                mig[a->from]++;
                mig[t]++;
            }
        }
        if (!progress && w != stop_wave && next->len > 0) {
            /* deadlock: a cycle of moves each waiting for the other's capacity. Break it:
             * the first waiting move becomes a stop in this wave and a start later. */
            guint k;
            for (k = 0; k < next->len; k++) {
                const drv_policy_action_t *b =
                    &g_array_index(acts, drv_policy_action_t, g_array_index(next, int, k));
                if (b->op != DRV_ACT_START)
                    break;
            }
            if (k == next->len) { /* cannot happen with a within-capacity final placement */
                g_warn_if_reached();
                for (k = 0; k < next->len; k++)
                    g_array_index(acts, drv_policy_action_t, g_array_index(next, int, k)).wave =
                        w + 1;
                maxwave = w + 1;
                break;
            }
            int ai = g_array_index(next, int, k);
            drv_policy_action_t *a = &g_array_index(acts, drv_policy_action_t, ai);
            drv_policy_action_t start = {
                .op = DRV_ACT_START, .vm = a->vm, .node = a->to, .from = -1, .to = -1};
            a->op = DRV_ACT_STOP;
            a->node = a->from;
            a->from = a->to = -1;
            a->wave = w;
            progress = true;
            g_array_remove_index(next, k);
            g_array_append_val(acts, start);
            int si = (int)acts->len - 1;
            g_array_append_val(next, si);
        }
        /* end of wave: arrivals land, departures and stops free */
        for (guint i = 0; i < acts->len; i++) {
            drv_policy_action_t *a = &g_array_index(acts, drv_policy_action_t, i);
            const drv_policy_vm_t *vm = a->vm >= 0 ? &in->vms[a->vm] : NULL;
            if (a->wave != w || !vm)
                continue;
            if (a->op == DRV_ACT_STOP) {
                ucpu[a->node] -= vm->cpu;
                umem[a->node] -= vm->memory_mib;
            } else if (a->op == DRV_ACT_MIGRATE || a->op == DRV_ACT_MOVE) {
                ucpu[a->from] -= vm->cpu;
                umem[a->from] -= vm->memory_mib;
            }
        }
        for (int n = 0; n < nn; n++) {
            ucpu[n] += rcpu[n];
            umem[n] += rmem[n];
        }
        if (progress)
            maxwave = w;
        GArray *tmp = pend;
        pend = next;
        next = tmp;
    }
    g_array_sort(acts, cmp_action);
    g_free(p->actions);
    p->n_actions = acts->len;
    p->actions = (drv_policy_action_t *)g_array_free(acts, FALSE);
    p->waves = maxwave;
    p->n_moves = 0;
    for (size_t i = 0; i < p->n_actions; i++)
        if (p->actions[i].op == DRV_ACT_MIGRATE || p->actions[i].op == DRV_ACT_MOVE)
            p->n_moves++;
    g_array_free(pend, TRUE);
    g_array_free(next, TRUE);
    g_free(ucpu);
    g_free(umem);
    g_free(rcpu);
    g_free(rmem);
    g_free(mig);
    return 0;
}
