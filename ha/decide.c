/* The two pure decisions of HA resource management: the coordinator's (state -> placement
 * commands, through the policy engine) and each node agent's (state + local hypervisor view
 * -> reports, starts, stops). No I/O, no clock (time is a parameter), no libvirt. */
#include "config.h"

#include <string.h>

#include "drv_policy.h"
#include "drv_ha.h"

void drv_ha_cmd_free(gpointer p)
{
    drv_ha_cmd_t *c = p;

    if (c == NULL) {
        return;
    }
    g_free(c->name);
    g_free(c->value);
    g_free(c->value2);
    g_free(c);
}

static void push_cmd(GPtrArray *out, drv_cmd_type_t type, const char *name, const char *value,
                     const char *value2, uint8_t obs, uint64_t gen)
{
    drv_ha_cmd_t *c = g_new0(drv_ha_cmd_t, 1);

    c->gen = gen;
    c->type = type;
    c->name = g_strdup(name);
    c->value = g_strdup(value);
    c->value2 = g_strdup(value2);
    c->obs = obs;
    g_ptr_array_add(out, c);
}

uint32_t drv_ha_recent_failures(const drv_resource_t *r, const char *node,
                                const drv_ha_params_t *p)
{
    const drv_res_node_t *n = node ? g_hash_table_lookup(r->nodes, node) : NULL;

    if (n == NULL || n->failures == 0) {
        return 0;
    }
    if (p->now_wall_ms > n->window_start
        && p->now_wall_ms - n->window_start > p->failure_window_ms) {
        return 0;
    }
    return n->failures;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static GPtrArray *sorted_resources(const drv_state_t *st)
{
    GPtrArray *arr = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, st->resources);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        g_ptr_array_add(arr, k);
    }
    g_ptr_array_sort(arr, cmp_str);
    for (guint i = 0; i < arr->len; i++) {
        arr->pdata[i] = g_hash_table_lookup(st->resources, arr->pdata[i]);
    }
    return arr;
}

static int node_index(const drv_ha_node_t *nodes, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++) {
        if (strcmp(nodes[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}


static drv_obs_t reported(const drv_resource_t *r, const char *node)
{
    const drv_res_node_t *n = node ? g_hash_table_lookup(r->nodes, node) : NULL;

    return n ? n->obs : DRV_OBS_STOPPED;
}

/* NODE has said, at the current assignment generation or later, that the VM does not run
 * there: a start it may have had in flight when the VM was moved off it is over. */
static bool released(const drv_resource_t *r, const char *node)
{
    const drv_res_node_t *n = node ? g_hash_table_lookup(r->nodes, node) : NULL;

    return n != NULL && n->gen >= r->gen && n->obs != DRV_OBS_RUNNING;
}

static bool member(const drv_ha_node_t *nodes, size_t n, const char *name)
{
    int i = node_index(nodes, n, name);

    return i >= 0 && nodes[i].member;
}

/* ---- coordinator ---- */

/* A removed resource is forgotten only once it is assigned nowhere, no node reports it
 * running, and the last node it was on has released it. */
static bool purgeable(const drv_resource_t *r)
{
    return r->role == DRV_ROLE_REMOVING && drv_resource_running_elsewhere(r, NULL) == NULL
           && r->assigned == NULL && (r->moving_from == NULL || released(r, r->moving_from));
}

typedef struct vm_extra {
    const drv_resource_t *r;
    const char *running; /* a node reporting it running, NULL: none */
} vm_extra_t;

static int group_id(GHashTable *ids, GPtrArray *names, const char *g)
{
    gpointer v;

    if (g_hash_table_lookup_extended(ids, g, NULL, &v)) {
        return GPOINTER_TO_INT(v);
    }
    g_ptr_array_add(names, (gpointer)g);
    g_hash_table_insert(ids, (gpointer)g, GINT_TO_POINTER((int)names->len - 1));
    return (int)names->len - 1;
}

void drv_ha_coordinate(const drv_state_t *st, const drv_ha_node_t *nodes, size_t n_nodes,
                       const drv_ha_params_t *p, GPtrArray *out)
{
    g_autoptr(GPtrArray) res = sorted_resources(st);
    g_autoptr(GHashTable) gids = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) gnames = g_ptr_array_new();
    drv_policy_input_t in = {0};
    drv_policy_plan_t *plan = NULL;
    vm_extra_t *ex;
    char **unplaced;
    size_t nv = 0;

    /* Removed resources that no node runs any more are forgotten. */
    for (guint i = 0; i < res->len; i++) {
        const drv_resource_t *r = res->pdata[i];

        if (purgeable(r)) {
            push_cmd(out, DRV_CMD_RES_PURGE, r->name, NULL, NULL, 0, 0);
        }
    }
    if (res->len == 0 || n_nodes == 0) {
        return;
    }

    in.n_nodes = n_nodes;
    in.nodes = g_new0(drv_policy_node_t, n_nodes);
    for (size_t i = 0; i < n_nodes; i++) {
        drv_node_admin_t adm = drv_state_node_admin(st, nodes[i].name);

        in.nodes[i].name = (char *)nodes[i].name;
        in.nodes[i].cpu = nodes[i].cpu > 0 ? nodes[i].cpu : 1;
        in.nodes[i].memory_mib = nodes[i].memory_mib > 0 ? nodes[i].memory_mib : 1;
        /* A node whose daemon is gone may still run its VMs: failed, not fenced. */
        in.nodes[i].state = !nodes[i].member ? DRV_NODE_FAILED
                            : adm.maintenance ? DRV_NODE_MAINTENANCE
                            : adm.standby     ? DRV_NODE_STANDBY
                                              : DRV_NODE_ONLINE;
        in.nodes[i].health = DRV_HEALTH_GREEN;
    }
    in.vms = g_new0(drv_policy_vm_t, res->len);
    ex = g_new0(vm_extra_t, res->len);
    for (guint i = 0; i < res->len; i++) {
        const drv_resource_t *r = res->pdata[i];
        drv_policy_vm_t *vm = &in.vms[nv];
        int cur = -1, ai = node_index(nodes, n_nodes, r->assigned);
        /* where it runs: the assigned copy when it is confirmed running (any other copy is a
         * stray its node stops), else the first node reporting one (adopted) */
        const char *running = (r->assigned && reported(r, r->assigned) == DRV_OBS_RUNNING)
                                  ? r->assigned
                                  : drv_resource_running_elsewhere(r, NULL);

        ex[nv].r = r;
        ex[nv].running = running;
        vm->name = r->name;
        vm->cpu = r->cpu;
        vm->memory_mib = (int64_t)r->memory_mib;
        if (running) {
            cur = node_index(nodes, n_nodes, running);
        } else if (ai >= 0 && (!nodes[ai].member
                               || drv_ha_recent_failures(r, r->assigned, p) < p->max_failures)) {
            /* not running yet where it is assigned (starting), or its node is gone and may
             * still run it: keep it there */
            cur = ai;
        }
        vm->node = cur;
        vm->want_started = r->role == DRV_ROLE_STARTED;
        vm->allow_migrate = r->allow_migrate;
        vm->priority = (drv_priority_t)r->priority;
        vm->pin_node = node_index(nodes, n_nodes, r->move_to);
        vm->prefer = g_new0(drv_policy_pref_t, r->prefer->len ? r->prefer->len : 1);
        for (guint k = 0; k < r->prefer->len; k++) {
            const drv_pref_t *pr = g_ptr_array_index(r->prefer, k);
            int ni = node_index(nodes, n_nodes, pr->node);

            if (ni >= 0) {
                vm->prefer[vm->n_prefer].node = ni;
                vm->prefer[vm->n_prefer].weight = pr->weight;
                vm->n_prefer++;
            }
        }
        vm->anti_affinity = g_new0(int, r->anti_affinity->len ? r->anti_affinity->len : 1);
        for (guint k = 0; k < r->anti_affinity->len; k++) {
            vm->anti_affinity[vm->n_anti_affinity++] =
                group_id(gids, gnames, g_ptr_array_index(r->anti_affinity, k));
        }
        vm->banned = g_new0(int, n_nodes);
        for (size_t k = 0; k < n_nodes && p->max_failures > 0; k++) {
            if (drv_ha_recent_failures(r, nodes[k].name, p) >= p->max_failures
                && (int)k != vm->pin_node) {
                vm->banned[vm->n_banned++] = (int)k;
            }
        }
        nv++;
    }
    in.n_vms = nv;
    in.groups = (char **)gnames->pdata;
    in.n_groups = gnames->len;
    in.knobs.strategy = DRV_STRATEGY_BALANCED;
    in.knobs.stickiness = 100;
    in.knobs.fencing = true;
    in.knobs.balance_level = DRV_BALANCE_OFF;
    in.knobs.balance_threshold = 800;
    in.knobs.balance_hysteresis = 50;

    if (drv_policy_plan(&in, &plan) != 0) {
        goto done;
    }
    unplaced = g_new0(char *, nv);
    for (size_t k = 0; k < plan->n_unplaced; k++) {
        unplaced[plan->unplaced[k].vm] = plan->unplaced[k].reason;
    }
    for (size_t v = 0; v < nv; v++) {
        const drv_resource_t *r = ex[v].r;
        int cur = in.vms[v].node;
        int target = plan->placement[v];
        const char *want_node, *want_from, *want_failed;

        if (purgeable(r)) {
            continue;
        }
        if (cur >= 0 && in.nodes[cur].state == DRV_NODE_FAILED) {
            /* Its node is gone and not fenced: it may still run there. Recovery elsewhere
             * waits for fencing; until then nothing about it changes. */
            continue;
        }
        want_node = target >= 0 ? in.nodes[target].name : NULL;
        if (ex[v].running) {
            /* moved off (or stopped on) the node running it */
            want_from = g_strcmp0(ex[v].running, want_node) != 0 ? ex[v].running : NULL;
        } else if (r->moving_from && !released(r, r->moving_from)) {
            want_from = r->moving_from; /* an earlier move off it is not released yet */
        } else if (r->assigned && g_strcmp0(r->assigned, want_node) != 0
                   && member(nodes, n_nodes, r->assigned)) {
            /* reassigned before it ran there: that node may have a start in flight, and only
             * its report after this assignment (a newer generation) releases it */
            want_from = r->assigned;
        } else {
            want_from = NULL;
        }
        want_failed = (in.vms[v].want_started && target < 0)
                          ? (unplaced[v] ? unplaced[v] : "cannot be placed")
                          : NULL;
        if (g_strcmp0(want_node, r->assigned) != 0 || g_strcmp0(want_from, r->moving_from) != 0) {
            push_cmd(out, DRV_CMD_RES_ASSIGN, r->name, want_node, want_from, 0, 0);
        }
        if (g_strcmp0(want_failed, r->failed) != 0) {
            push_cmd(out, DRV_CMD_RES_FAILED, r->name, want_failed, NULL, 0, 0);
        }
    }
    g_free(unplaced);
done:
    drv_policy_plan_free(plan);
    for (size_t v = 0; v < nv; v++) {
        g_free(in.vms[v].prefer);
        g_free(in.vms[v].anti_affinity);
        g_free(in.vms[v].banned);
    }
    g_free(in.vms);
    g_free(in.nodes);
    g_free(ex);
}

/* ---- node agent ---- */

void drv_ha_local(const drv_state_t *st, const char *me, const drv_ha_params_t *p,
                  drv_ha_running_fn running, drv_ha_busy_fn busy, drv_ha_migrate_fn can_migrate,
                  void *ud, GPtrArray *out_cmds, GPtrArray *out_acts)
{
    g_autoptr(GPtrArray) res = sorted_resources(st);

    for (guint i = 0; i < res->len; i++) {
        const drv_resource_t *r = res->pdata[i];
        bool here = running(ud, r->uuid);
        drv_obs_t rep = reported(r, me);
        bool assigned_here = g_strcmp0(r->assigned, me) == 0;
        drv_ha_local_action_t *a;

        if (busy(ud, r->uuid)) {
            continue; /* an operation or a report about it is in flight */
        }
        /* Tell the cluster what runs here (a FAILED report stands until it runs again), and
         * release a VM moved off this node once it does not run here. */
        if (here && rep != DRV_OBS_RUNNING) {
            push_cmd(out_cmds, DRV_CMD_RES_REPORT, r->name, me, NULL, DRV_OBS_RUNNING, r->gen);
        } else if (!here && (rep == DRV_OBS_RUNNING
                             || (g_strcmp0(r->moving_from, me) == 0 && !released(r, me)))) {
            push_cmd(out_cmds, DRV_CMD_RES_REPORT, r->name, me, NULL, DRV_OBS_STOPPED, r->gen);
        }
        if (!here) {
            if (r->role == DRV_ROLE_STARTED && assigned_here
                && drv_resource_running_elsewhere(r, me) == NULL
                && (r->moving_from == NULL || released(r, r->moving_from))
                && drv_ha_recent_failures(r, me, p) < p->max_failures) {
                a = g_new0(drv_ha_local_action_t, 1);
                a->act = DRV_HA_START;
                a->res = r;
                g_ptr_array_add(out_acts, a);
            }
            continue;
        }
        /* It runs here and the coordinator moves it to a node that does not run it: live
         * migration where allowed (the target does not start it: it waits for our release,
         * which follows the migration), else stop + start. */
        if (r->role == DRV_ROLE_STARTED && r->assigned && !assigned_here
            && g_strcmp0(r->moving_from, me) == 0
            && reported(r, r->assigned) != DRV_OBS_RUNNING && r->allow_migrate
            && can_migrate != NULL && can_migrate(ud, r, r->assigned)) {
            a = g_new0(drv_ha_local_action_t, 1);
            a->act = DRV_HA_MIGRATE;
            a->res = r;
            a->target = r->assigned;
            g_ptr_array_add(out_acts, a);
            continue;
        }
        /* Stop it when it should run nowhere, or when it is moved off this node, or when it is
         * a stray and the assigned copy is confirmed running. */
        if (r->role != DRV_ROLE_STARTED || (r->assigned == NULL && r->failed != NULL)
            || (r->assigned && !assigned_here
                && (g_strcmp0(r->moving_from, me) == 0
                    || reported(r, r->assigned) == DRV_OBS_RUNNING))) {
            a = g_new0(drv_ha_local_action_t, 1);
            a->act = DRV_HA_STOP;
            a->res = r;
            g_ptr_array_add(out_acts, a);
        }
    }
}
