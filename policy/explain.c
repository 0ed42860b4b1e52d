/* Explanations (score of every node by term for one VM) and N+1 analysis. */
#include <errno.h>
#include <string.h>
#include "policy_internal.h"

/* Explanation on the final state, for VMs whose outcome no scoring decision produced. */
static void explain_final(drv_ctx_t *c, int v)
{
    const drv_policy_vm_t *vm = &c->in->vms[v];
    int f = c->place[v];
    const char *decision;
    char *why;

    switch ((drv_vstate_t)c->vs[v]) {
    case DRV_VS_UNMANAGED:
        decision = "left alone: its node is in maintenance";
        why = g_strdup_printf("maintenance node %s is not managed", c->in->nodes[f].name);
        break;
    case DRV_VS_NONE:
        decision = "desired state is stopped";
        why = g_strdup("a stopped VM is placed nowhere");
        break;
    case DRV_VS_STUCK:
    case DRV_VS_PENDING:
        decision = "unplaced";
        why = drv__unplaced_reason(c, v);
        break;
    case DRV_VS_PLACED:
    default:
        if (f == vm->node && c->in->nodes[f].health == DRV_HEALTH_RED) {
            decision = "stays on a red-health node";
            why = g_strdup_printf("no other node can take it (or the evacuation budget is "
                                  "spent); it stays on %s",
                                  c->in->nodes[f].name);
        } else if (f == vm->node) {
            decision = "stays where it runs";
            why = g_strdup_printf(
                "%s is valid for it; running VMs move only for hard constraints, drain, red "
                "health, balancing above the threshold, or soft wishes that beat stickiness "
                "(%" G_GINT64_FORMAT ")",
                c->in->nodes[f].name, c->in->knobs.stickiness);
        } else {
            decision = "placed";
            why = g_strdup_printf("placed on %s", c->in->nodes[f].name);
        }
        break;
    }
    drv__capture(c, v, f, decision, why);
}

int drv_policy_explain(const drv_policy_input_t *in, int vm, drv_policy_explain_t **out)
{
    drv_ctx_t c;
    int rc;

    if (!in || !out || vm < 0 || (size_t)vm >= in->n_vms)
        return -EINVAL;
    rc = drv_policy_input_validate(in, NULL);
    if (rc < 0)
        return rc;
    drv__ctx_run(&c, in, vm);
    if (!c.ex_scores || c.ex_winner != c.place[vm])
        explain_final(&c, vm);
    if (c.place[vm] < 0 && c.vs[vm] == DRV_VS_PENDING) {
        g_free(c.ex_why);
        c.ex_why = drv__unplaced_reason(&c, vm);
    }
    drv_policy_explain_t *ex = g_new0(drv_policy_explain_t, 1);
    ex->vm = vm;
    ex->winner = c.place[vm];
    ex->decision = g_steal_pointer(&c.ex_decision);
    ex->why = g_steal_pointer(&c.ex_why);
    ex->n_scores = (size_t)c.nn;
    ex->scores = g_steal_pointer(&c.ex_scores);
    drv__ctx_clear(&c);
    *out = ex;
    return 0;
}

void drv_policy_explain_free(drv_policy_explain_t *ex)
{
    if (!ex)
        return;
    for (size_t i = 0; i < ex->n_scores; i++)
        g_free(ex->scores[i].excluded);
    g_free(ex->scores);
    g_free(ex->decision);
    g_free(ex->why);
    g_free(ex);
}

int drv_policy_nplus1(const drv_policy_input_t *in, drv_policy_nplus1_t **out)
{
    drv_policy_plan_t *base = NULL;
    int rc;

    if (!in || !out)
        return -EINVAL;
    rc = drv_policy_plan(in, &base);
    if (rc < 0)
        return rc;
    drv_policy_input_t *w = drv_policy_input_copy(in);
    drv_policy_apply(w, base);
    drv_policy_plan_free(base);
    w->knobs.balance_level = DRV_BALANCE_OFF;
    w->knobs.evacuation_budget = 0;

    drv_policy_nplus1_t *r = g_new0(drv_policy_nplus1_t, 1);
    GArray *nodes = g_array_new(FALSE, TRUE, sizeof(drv_policy_nplus1_node_t));
    for (size_t n = 0; n < w->n_nodes; n++) {
        if (w->nodes[n].state != DRV_NODE_ONLINE)
            continue;
        drv_policy_nplus1_node_t e = {.node = (int)n};
        drv_policy_plan_t *p = NULL;
        w->nodes[n].state = DRV_NODE_FENCED;
        rc = drv_policy_plan(w, &p);
        w->nodes[n].state = DRV_NODE_ONLINE;
        if (rc < 0)
            break;
        GArray *rv = g_array_new(FALSE, FALSE, sizeof(int));
        GArray *rt = g_array_new(FALSE, FALSE, sizeof(int));
        GArray *un = g_array_new(FALSE, FALSE, sizeof(drv_policy_unplaced_t));
        for (size_t v = 0; v < w->n_vms; v++)
            if (w->vms[v].node == (int)n && w->vms[v].want_started)
                e.n_vms++;
        for (size_t i = 0; i < p->n_actions; i++) {
            const drv_policy_action_t *a = &p->actions[i];
            if (a->op == DRV_ACT_START && w->vms[a->vm].node == (int)n) {
                g_array_append_val(rv, a->vm);
                g_array_append_val(rt, a->node);
            } else if (a->op == DRV_ACT_STOP) {
                e.n_preempted++;
            }
        }
        for (size_t i = 0; i < p->n_unplaced; i++) {
            int uv = p->unplaced[i].vm, un_node = w->vms[uv].node;
            /* only VMs that ran before this failure: the lost node's and displaced ones */
            if (un_node < 0 || w->nodes[un_node].state != DRV_NODE_ONLINE)
                continue;
            drv_policy_unplaced_t u = {.vm = p->unplaced[i].vm,
                                       .reason = g_steal_pointer(&p->unplaced[i].reason)};
            g_array_append_val(un, u);
        }
        e.n_restart = rv->len;
        e.restart_vm = (int *)g_array_free(rv, FALSE);
        e.restart_to = (int *)g_array_free(rt, FALSE);
        e.n_unplaced = un->len;
        e.unplaced = (drv_policy_unplaced_t *)g_array_free(un, FALSE);
        g_array_append_val(nodes, e);
        drv_policy_plan_free(p);
    }
    drv_policy_input_free(w);
    r->n_nodes = nodes->len;
    r->nodes = (drv_policy_nplus1_node_t *)g_array_free(nodes, FALSE);
    if (rc < 0) {
        drv_policy_nplus1_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void drv_policy_nplus1_free(drv_policy_nplus1_t *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_nodes; i++) {
        drv_policy_nplus1_node_t *e = &r->nodes[i];
        g_free(e->restart_vm);
        g_free(e->restart_to);
        for (size_t k = 0; k < e->n_unplaced; k++)
            g_free(e->unplaced[k].reason);
        g_free(e->unplaced);
    }
    g_free(r->nodes);
    g_free(r);
}
