/* The C model: validation, copy, free, name look-up and applying a plan. */
#include <errno.h>
#include <string.h>
#include "policy_internal.h"

const char *drv_policy_strerror(int rc)
{
    switch (rc) {
    case DRV_POLICY_OK:
        return "success";
    case DRV_POLICY_ERR_LAYOUT:
        return "invalid layout";
    case DRV_POLICY_ERR_MODEL:
        return "inconsistent policy model";
    case DRV_POLICY_ERR_UNKNOWN:
        return "unknown node or VM";
    case -ENOMEM:
        return "out of memory";
    case -EINVAL:
        return "invalid argument";
    }
    return "unknown error";
}

const char *drv_policy_node_state_str(drv_node_state_t s)
{
    static const char *const names[] = {"online",  "standby", "maintenance",
                                        "offline", "failed",  "fenced"};
    return (unsigned)s < G_N_ELEMENTS(names) ? names[s] : "?";
}

const char *drv_policy_health_str(drv_health_t h)
{
    static const char *const names[] = {"green", "yellow", "red"};
    return (unsigned)h < G_N_ELEMENTS(names) ? names[h] : "?";
}

const char *drv_policy_priority_str(drv_priority_t p)
{
    static const char *const names[] = {"low", "medium", "high"};
    return (unsigned)p < G_N_ELEMENTS(names) ? names[p] : "?";
}

const char *drv_policy_op_str(drv_policy_op_t op)
{
    static const char *const names[] = {"fence", "stop", "move", "migrate", "start"};
    return (unsigned)op < G_N_ELEMENTS(names) ? names[op] : "?";
}

static int fail(char **errmsg, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(char **errmsg, const char *fmt, ...)
{
    if (errmsg) {
        va_list ap;
        va_start(ap, fmt);
        *errmsg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
    }
    return DRV_POLICY_ERR_MODEL;
}

static int check_groups(const int *g, size_t n, size_t ng, size_t v, const char *what,
                        char **errmsg)
{
    for (size_t i = 0; i < n; i++)
        if (g[i] < 0 || (size_t)g[i] >= ng)
            return fail(errmsg, "vms[%zu].%s[%zu]: bad group id %d", v, what, i, g[i]);
    return 0;
}

int drv_policy_input_validate(const drv_policy_input_t *in, char **errmsg)
{
    int nn = (int)in->n_nodes;
    if (in->n_nodes > G_MAXINT / 4 || in->n_vms > G_MAXINT / 4)
        return fail(errmsg, "model too large");
    for (size_t n = 0; n < in->n_nodes; n++) {
        const drv_policy_node_t *nd = &in->nodes[n];
        if (nd->cpu <= 0 || nd->memory_mib <= 0)
            return fail(errmsg, "nodes[%zu]: capacities must be > 0", n);
        if ((unsigned)nd->state > DRV_NODE_FENCED || (unsigned)nd->health > DRV_HEALTH_RED)
            return fail(errmsg, "nodes[%zu]: bad state or health", n);
    }
    /* bounds that keep every load computation (sums x 1000) far from int64 overflow */
    const int64_t max_size = (int64_t)1 << 40, max_total = (int64_t)1 << 50;
    int64_t tot_cpu = 0, tot_mem = 0;
    for (size_t n = 0; n < in->n_nodes; n++)
        if (in->nodes[n].cpu > max_size || in->nodes[n].memory_mib > max_size)
            return fail(errmsg, "nodes[%zu]: capacity too large", n);
    for (size_t v = 0; v < in->n_vms; v++) {
        const drv_policy_vm_t *vm = &in->vms[v];
        int rc;
        if (vm->cpu <= 0 || vm->memory_mib <= 0)
            return fail(errmsg, "vms[%zu]: sizes must be > 0", v);
        if (vm->cpu > max_size || vm->memory_mib > max_size)
            return fail(errmsg, "vms[%zu]: size too large", v);
        tot_cpu += vm->cpu;
        tot_mem += vm->memory_mib;
        if (tot_cpu > max_total || tot_mem > max_total)
            return fail(errmsg, "vms: total size too large");
        if (vm->node < -1 || vm->node >= nn || vm->pin_node < -1 || vm->pin_node >= nn)
            return fail(errmsg, "vms[%zu]: bad node index", v);
        if ((unsigned)vm->priority > DRV_PRIO_HIGH)
            return fail(errmsg, "vms[%zu]: bad priority", v);
        for (size_t i = 0; i < vm->n_prefer; i++)
            if (vm->prefer[i].node < 0 || vm->prefer[i].node >= nn)
                return fail(errmsg, "vms[%zu].prefer[%zu]: bad node index", v, i);
        for (size_t i = 0; i < vm->n_banned; i++)
            if (vm->banned[i] < 0 || vm->banned[i] >= nn)
                return fail(errmsg, "vms[%zu].banned[%zu]: bad node index", v, i);
        if ((rc = check_groups(vm->anti_affinity, vm->n_anti_affinity, in->n_groups, v,
                               "anti_affinity", errmsg)) < 0 ||
            (rc = check_groups(vm->anti_affinity_soft, vm->n_anti_affinity_soft, in->n_groups, v,
                               "anti_affinity_soft", errmsg)) < 0 ||
            (rc = check_groups(vm->affinity, vm->n_affinity, in->n_groups, v, "affinity", errmsg)) <
                0)
            return rc;
    }
    const drv_policy_knobs_t *k = &in->knobs;
    if (k->balance_threshold < 0 || k->balance_threshold > 1000 || k->balance_hysteresis < 0 ||
        k->balance_hysteresis > 500 || (unsigned)k->balance_level > DRV_BALANCE_SPREAD ||
        (unsigned)k->strategy > DRV_STRATEGY_BALANCED)
        return fail(errmsg, "policy: bad balancing or strategy knob");
    return 0;
}

drv_policy_input_t *drv_policy_input_copy(const drv_policy_input_t *in)
{
    drv_policy_input_t *o = g_new0(drv_policy_input_t, 1);
    *o = *in;
    o->nodes = g_new0(drv_policy_node_t, in->n_nodes + 1);
    for (size_t n = 0; n < in->n_nodes; n++) {
        o->nodes[n] = in->nodes[n];
        o->nodes[n].name = g_strdup(in->nodes[n].name);
    }
    o->vms = g_new0(drv_policy_vm_t, in->n_vms + 1);
    for (size_t v = 0; v < in->n_vms; v++) {
        const drv_policy_vm_t *a = &in->vms[v];
        drv_policy_vm_t *b = &o->vms[v];
        *b = *a;
        b->name = g_strdup(a->name);
        b->prefer = g_memdup2(a->prefer, sizeof(*a->prefer) * a->n_prefer);
        b->anti_affinity = g_memdup2(a->anti_affinity, sizeof(int) * a->n_anti_affinity);
        b->anti_affinity_soft =
            g_memdup2(a->anti_affinity_soft, sizeof(int) * a->n_anti_affinity_soft);
        b->affinity = g_memdup2(a->affinity, sizeof(int) * a->n_affinity);
        b->banned = g_memdup2(a->banned, sizeof(int) * a->n_banned);
    }
    o->groups = g_new0(char *, in->n_groups + 1);
    for (size_t g = 0; g < in->n_groups; g++)
        o->groups[g] = g_strdup(in->groups[g]);
    return o;
}

void drv_policy_input_free(drv_policy_input_t *in)
{
    if (!in)
        return;
    for (size_t n = 0; n < in->n_nodes; n++)
        g_free(in->nodes[n].name);
    for (size_t v = 0; v < in->n_vms; v++) {
        drv_policy_vm_t *vm = &in->vms[v];
        g_free(vm->name);
        g_free(vm->prefer);
        g_free(vm->anti_affinity);
        g_free(vm->anti_affinity_soft);
        g_free(vm->affinity);
        g_free(vm->banned);
    }
    for (size_t g = 0; g < in->n_groups; g++)
        g_free(in->groups[g]);
    g_free(in->groups);
    g_free(in->nodes);
    g_free(in->vms);
    g_free(in);
}

int drv_policy_node_index(const drv_policy_input_t *in, const char *name)
{
    for (size_t n = 0; n < in->n_nodes; n++)
        if (strcmp(in->nodes[n].name, name) == 0)
            return (int)n;
    return -1;
}

int drv_policy_vm_index(const drv_policy_input_t *in, const char *name)
{
    for (size_t v = 0; v < in->n_vms; v++)
        if (strcmp(in->vms[v].name, name) == 0)
            return (int)v;
    return -1;
}

void drv_policy_apply(drv_policy_input_t *in, const drv_policy_plan_t *plan)
{
    for (size_t i = 0; i < plan->n_actions; i++) {
        const drv_policy_action_t *a = &plan->actions[i];
        switch (a->op) {
        case DRV_ACT_FENCE:
            in->nodes[a->node].state = DRV_NODE_FENCED;
            break;
        case DRV_ACT_STOP:
            in->vms[a->vm].node = -1;
            break;
        case DRV_ACT_START:
            in->vms[a->vm].node = a->node;
            break;
        case DRV_ACT_MIGRATE:
        case DRV_ACT_MOVE:
            in->vms[a->vm].node = a->to;
            break;
        }
    }
}
