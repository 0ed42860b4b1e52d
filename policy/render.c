/* Text and JSON renderings of a plan (the JSON contract is documented in docs/policy.md). */
#include <string.h>
#include "policy_internal.h"

static void json_str(GString *s, const char *str)
{
    g_string_append_c(s, '"');
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(s, "\\\"");
            break;
        case '\\':
            g_string_append(s, "\\\\");
            break;
        case '\n':
            g_string_append(s, "\\n");
            break;
        case '\t':
            g_string_append(s, "\\t");
            break;
        default:
            if (*p < 0x20)
                g_string_append_printf(s, "\\u%04x", *p);
            else
                g_string_append_c(s, (char)*p);
        }
    }
    g_string_append_c(s, '"');
}

static const char *nname(const drv_policy_input_t *in, int n)
{
    return n >= 0 ? in->nodes[n].name : "(none)";
}

static void node_usage(const drv_policy_input_t *in, const drv_policy_plan_t *plan, int64_t *uc,
                       int64_t *um, int *cnt)
{
    for (size_t v = 0; v < plan->n_vms; v++) {
        int n = plan->placement[v];
        if (n < 0)
            continue;
        uc[n] += in->vms[v].cpu;
        um[n] += in->vms[v].memory_mib;
        cnt[n]++;
    }
}

static void text_action(GString *s, const drv_policy_input_t *in, const drv_policy_action_t *a)
{
    switch (a->op) {
    case DRV_ACT_FENCE:
        g_string_append_printf(s, "  fence %s\n", nname(in, a->node));
        break;
    case DRV_ACT_STOP:
        g_string_append_printf(s, "  stop %s on %s\n", in->vms[a->vm].name, nname(in, a->node));
        break;
    case DRV_ACT_START:
        g_string_append_printf(s, "  start %s on %s%s\n", in->vms[a->vm].name, nname(in, a->node),
                               a->after_fence ? " (after fence)" : "");
        break;
    case DRV_ACT_MIGRATE:
        g_string_append_printf(s, "  migrate %s %s -> %s\n", in->vms[a->vm].name,
                               nname(in, a->from), nname(in, a->to));
        break;
    case DRV_ACT_MOVE:
        g_string_append_printf(s, "  move %s %s -> %s (cold: stop + start)\n", in->vms[a->vm].name,
                               nname(in, a->from), nname(in, a->to));
        break;
    }
}

char *drv_policy_render_text(const drv_policy_input_t *in, const drv_policy_plan_t *plan,
                             const drv_policy_explain_t *ex, const drv_policy_nplus1_t *n1)
{
    GString *s = g_string_new(NULL);
    size_t nn = in->n_nodes;

    g_string_append_printf(s, "Plan: %zu actions, %d waves, %zu moves, %zu unplaced\n",
                           plan->n_actions, plan->waves, plan->n_moves, plan->n_unplaced);
    int wave = 0;
    for (size_t i = 0; i < plan->n_actions; i++) {
        const drv_policy_action_t *a = &plan->actions[i];
        if (a->wave != wave) {
            wave = a->wave;
            g_string_append_printf(s, "Wave %d:\n", wave);
        }
        text_action(s, in, a);
    }
    if (plan->n_unplaced) {
        g_string_append(s, "Unplaced:\n");
        for (size_t i = 0; i < plan->n_unplaced; i++)
            g_string_append_printf(s, "  %s: %s\n", in->vms[plan->unplaced[i].vm].name,
                                   plan->unplaced[i].reason);
    }
    g_string_append(s, "Placement:\n");
    for (size_t v = 0; v < plan->n_vms; v++)
        g_string_append_printf(s, "  %s -> %s\n", in->vms[v].name, nname(in, plan->placement[v]));
    g_string_append(s, "Nodes after plan:\n");
    int64_t *uc = g_new0(int64_t, nn + 1), *um = g_new0(int64_t, nn + 1);
    int *cnt = g_new0(int, nn + 1);
    node_usage(in, plan, uc, um, cnt);
    for (size_t n = 0; n < nn; n++) {
        const drv_policy_node_t *nd = &in->nodes[n];
        int64_t lc = uc[n] * 1000 / nd->cpu, lm = um[n] * 1000 / nd->memory_mib;
        g_string_append_printf(
            s,
            "  %s %s %s cpu %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT " mem %" G_GINT64_FORMAT
            "/%" G_GINT64_FORMAT " load %" G_GINT64_FORMAT " vms %d\n",
            nd->name, drv_policy_node_state_str(nd->state), drv_policy_health_str(nd->health),
            uc[n], nd->cpu, um[n], nd->memory_mib, MAX(lc, lm), cnt[n]);
    }
    g_free(uc);
    g_free(um);
    g_free(cnt);
    if (ex) {
        const drv_policy_vm_t *vm = &in->vms[ex->vm];
        g_string_append_printf(s,
                               "Explain %s (cpu %" G_GINT64_FORMAT ", memory %" G_GINT64_FORMAT
                               " MiB, priority %s, now on %s, desired %s):\n",
                               vm->name, vm->cpu, vm->memory_mib,
                               drv_policy_priority_str(vm->priority), nname(in, vm->node),
                               vm->want_started ? "started" : "stopped");
        g_string_append_printf(s, "  decision: %s\n  result: %s\n  why: %s\n", ex->decision,
                               nname(in, ex->winner), ex->why);
        g_string_append_printf(s, "  %-10s %8s %8s %8s %10s %8s %10s %7s\n", "node", "total",
                               "capacity", "balance", "preference", "affinity", "stickiness",
                               "health");
        for (size_t i = 0; i < ex->n_scores; i++) {
            const drv_policy_score_t *sc = &ex->scores[i];
            if (!sc->feasible) {
                g_string_append_printf(s, "  %-10s excluded: %s\n", nname(in, sc->node),
                                       sc->excluded);
                continue;
            }
            g_string_append_printf(s,
                                   "  %-10s %8" G_GINT64_FORMAT " %8" G_GINT64_FORMAT
                                   " %8" G_GINT64_FORMAT " %10" G_GINT64_FORMAT
                                   " %8" G_GINT64_FORMAT " %10" G_GINT64_FORMAT
                                   " %7" G_GINT64_FORMAT "\n",
                                   nname(in, sc->node), sc->total, sc->capacity, sc->balance,
                                   sc->preference, sc->affinity, sc->stickiness, sc->health);
        }
    }
    if (n1) {
        g_string_append(s, "N+1 analysis (from the placement after the plan):\n");
        for (size_t i = 0; i < n1->n_nodes; i++) {
            const drv_policy_nplus1_node_t *e = &n1->nodes[i];
            g_string_append_printf(s,
                                   "  if %s fails: %zu VMs, %zu restart, %zu unplaced, %zu "
                                   "preempted\n",
                                   nname(in, e->node), e->n_vms, e->n_restart, e->n_unplaced,
                                   e->n_preempted);
            for (size_t k = 0; k < e->n_restart; k++)
                g_string_append_printf(s, "    %s -> %s\n", in->vms[e->restart_vm[k]].name,
                                       nname(in, e->restart_to[k]));
            for (size_t k = 0; k < e->n_unplaced; k++)
                g_string_append_printf(s, "    %s: unplaced: %s\n", in->vms[e->unplaced[k].vm].name,
                                       e->unplaced[k].reason);
        }
    }
    return g_string_free(s, FALSE);
}

static void json_action(GString *s, const drv_policy_input_t *in, const drv_policy_action_t *a)
{
    g_string_append_printf(s, "{\"op\":\"%s\"", drv_policy_op_str(a->op));
    if (a->vm >= 0) {
        g_string_append(s, ",\"vm\":");
        json_str(s, in->vms[a->vm].name);
    }
    if (a->op == DRV_ACT_MIGRATE || a->op == DRV_ACT_MOVE) {
        g_string_append(s, ",\"from\":");
        json_str(s, in->nodes[a->from].name);
        g_string_append(s, ",\"to\":");
        json_str(s, in->nodes[a->to].name);
    } else {
        g_string_append(s, ",\"node\":");
        json_str(s, in->nodes[a->node].name);
    }
    g_string_append_printf(s, ",\"wave\":%d}", a->wave);
}

char *drv_policy_render_json(const drv_policy_input_t *in, const drv_policy_plan_t *plan,
                             const drv_policy_explain_t *ex, const drv_policy_nplus1_t *n1)
{
    GString *s = g_string_sized_new(64 + plan->n_vms * 32);

    g_string_append(s, "{\"actions\":[");
    for (size_t i = 0; i < plan->n_actions; i++) {
        g_string_append(s, i ? ",\n  " : "\n  ");
        json_action(s, in, &plan->actions[i]);
    }
    g_string_append(s, "],\n\"placement\":{");
    for (size_t v = 0; v < plan->n_vms; v++) {
        g_string_append(s, v ? ",\n  " : "\n  ");
        json_str(s, in->vms[v].name);
        g_string_append_c(s, ':');
        if (plan->placement[v] < 0)
            g_string_append(s, "null");
        else
            json_str(s, in->nodes[plan->placement[v]].name);
    }
    g_string_append(s, "},\n\"unplaced\":[");
    for (size_t i = 0; i < plan->n_unplaced; i++) {
        g_string_append(s, i ? ",\n  {\"vm\":" : "\n  {\"vm\":");
        json_str(s, in->vms[plan->unplaced[i].vm].name);
        g_string_append(s, ",\"reason\":");
        json_str(s, plan->unplaced[i].reason);
        g_string_append_c(s, '}');
    }
    g_string_append_printf(s, "],\n\"waves\":%d", plan->waves);
    if (ex) {
        g_string_append(s, ",\n\"explain\":{\"vm\":");
        json_str(s, in->vms[ex->vm].name);
        g_string_append(s, ",\"result\":");
        if (ex->winner < 0)
            g_string_append(s, "null");
        else
            json_str(s, in->nodes[ex->winner].name);
        g_string_append(s, ",\"decision\":");
        json_str(s, ex->decision);
        g_string_append(s, ",\"why\":");
        json_str(s, ex->why);
        g_string_append(s, ",\"scores\":[");
        for (size_t i = 0; i < ex->n_scores; i++) {
            const drv_policy_score_t *sc = &ex->scores[i];
            g_string_append(s, i ? ",\n  {\"node\":" : "\n  {\"node\":");
            json_str(s, in->nodes[sc->node].name);
            if (!sc->feasible) {
                g_string_append(s, ",\"excluded\":");
                json_str(s, sc->excluded);
            } else {
                g_string_append_printf(
                    s,
                    ",\"total\":%" G_GINT64_FORMAT ",\"capacity\":%" G_GINT64_FORMAT
                    ",\"balance\":%" G_GINT64_FORMAT ",\"preference\":%" G_GINT64_FORMAT
                    ",\"affinity\":%" G_GINT64_FORMAT ",\"stickiness\":%" G_GINT64_FORMAT
                    ",\"health\":%" G_GINT64_FORMAT,
                    sc->total, sc->capacity, sc->balance, sc->preference, sc->affinity,
                    sc->stickiness, sc->health);
            }
            g_string_append_c(s, '}');
        }
        g_string_append(s, "]}");
    }
    if (n1) {
        g_string_append(s, ",\n\"n_plus_1\":[");
        for (size_t i = 0; i < n1->n_nodes; i++) {
            const drv_policy_nplus1_node_t *e = &n1->nodes[i];
            g_string_append(s, i ? ",\n  {\"node\":" : "\n  {\"node\":");
            json_str(s, in->nodes[e->node].name);
            g_string_append(s, ",\"restarts\":[");
            for (size_t k = 0; k < e->n_restart; k++) {
                g_string_append(s, k ? ",{\"vm\":" : "{\"vm\":");
                json_str(s, in->vms[e->restart_vm[k]].name);
                g_string_append(s, ",\"node\":");
                json_str(s, in->nodes[e->restart_to[k]].name);
                g_string_append_c(s, '}');
            }
            g_string_append(s, "],\"unplaced\":[");
            for (size_t k = 0; k < e->n_unplaced; k++) {
                g_string_append(s, k ? ",{\"vm\":" : "{\"vm\":");
                json_str(s, in->vms[e->unplaced[k].vm].name);
                g_string_append(s, ",\"reason\":");
                json_str(s, e->unplaced[k].reason);
                g_string_append_c(s, '}');
            }
            g_string_append_printf(s, "],\"preempted\":%zu}", e->n_preempted);
        }
        g_string_append(s, "]");
    }
    g_string_append(s, "}\n");
    return g_string_free(s, FALSE);
}
