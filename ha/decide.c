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

static drv_ha_cmd_t *push_cmd(GPtrArray *out, drv_cmd_type_t type, const char *name,
                              const char *value, const char *value2, uint8_t obs, uint64_t gen)
{
    drv_ha_cmd_t *c = g_new0(drv_ha_cmd_t, 1);

    c->gen = gen;
    c->type = type;
    c->name = g_strdup(name);
    c->value = g_strdup(value);
    c->value2 = g_strdup(value2);
    c->obs = obs;
    g_ptr_array_add(out, c);
    return c;
}

uint32_t drv_ha_recent_failures(const drv_resource_t *r, const char *node, const drv_ha_params_t *p)
{
    const drv_res_node_t *n = node ? g_hash_table_lookup(r->nodes, node) : NULL;

    return n ? n->failures : 0;
}

/* My own failure window (my monotonic clock, as my reports stamped it) has passed: an
 * earlier now means the clock restarted with the host. */
static bool my_window_passed(const drv_res_node_t *n, const drv_ha_params_t *p)
{
    return n != NULL && n->failures > 0 &&
           (p->now_ms < n->window_start || p->now_ms - n->window_start > p->failure_window_ms);
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

/* A node the state has as down (fenced, confirmed down, watchdog deadline passed) runs
 * nothing, whatever its old reports say, and does nothing until it says it is back. */
static bool is_down(const drv_state_t *st, const char *node)
{
    return drv_state_node_down(st, node);
}

/* NODE has said, at the current assignment generation or later, that the VM does not run
 * there: a start it may have had in flight when the VM was moved off it is over. A node that
 * is down has released everything. */
static bool released(const drv_state_t *st, const drv_resource_t *r, const char *node)
{
    const drv_res_node_t *n = node ? g_hash_table_lookup(r->nodes, node) : NULL;

    return is_down(st, node) || (n != NULL && n->gen >= r->gen && n->obs != DRV_OBS_RUNNING);
}

/* Its daemon takes part in the round and it is not down (a node that was fenced is a
 * candidate again once it said it is back). */
static bool member(const drv_state_t *st, const drv_ha_node_t *nodes, size_t n, const char *name)
{
    int i = node_index(nodes, n, name);

    return i >= 0 && nodes[i].member && !is_down(st, name);
}

/* May NAME run VMs it has not told the cluster about: outside the round and not down. */
static bool unknown(const drv_state_t *st, const drv_ha_node_t *nodes, size_t n, const char *name)
{
    return !member(st, nodes, n, name) && !is_down(st, name);
}

/* ---- coordinator ---- */

static const char *unprobed(const drv_state_t *st, const drv_resource_t *r,
                            const drv_ha_node_t *nodes, size_t n);

/* A removed resource is forgotten only once it is assigned nowhere, no node reports it
 * running, no migration is in flight, the last node it was on has released it, and every node
 * that may run it has said whether it does (a node that was away since the add may run a copy
 * that is to be stopped too). */
static bool purgeable(const drv_state_t *st, const drv_resource_t *r, const drv_ha_node_t *nodes,
                      size_t n)
{
    return r->role == DRV_ROLE_REMOVING && drv_resource_running_elsewhere(r, NULL) == NULL &&
           r->assigned == NULL && r->mig_to == NULL &&
           (r->moving_from == NULL || released(st, r, r->moving_from)) &&
           unprobed(st, r, nodes, n) == NULL;
}

/* A node whose daemon is not in the round and that may run R: it is R's assigned node, or it
 * reports R running, or R was moved off it and it has not released it, or it is an end of
 * R's migration. NULL: none. */
static const char *gone_holder(const drv_state_t *st, const drv_resource_t *r,
                               const drv_ha_node_t *nodes, size_t n)
{
    GHashTableIter it;
    gpointer k, v;

    if (r->mig_to != NULL) {
        if (unknown(st, nodes, n, r->mig_from)) {
            return r->mig_from;
        }
        if (unknown(st, nodes, n, r->mig_to)) {
            return r->mig_to;
        }
    }
    if (r->assigned && unknown(st, nodes, n, r->assigned)) {
        return r->assigned;
    }
    if (r->moving_from && !released(st, r, r->moving_from) &&
        unknown(st, nodes, n, r->moving_from)) {
        return r->moving_from;
    }
    g_hash_table_iter_init(&it, r->nodes);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (((const drv_res_node_t *)v)->obs == DRV_OBS_RUNNING && unknown(st, nodes, n, k)) {
            return k;
        }
    }
    return NULL;
}

/* A node that may run R and has not said whether it does since R was added: every member,
 * and every gone node that ever took part (published its capacity). NULL: all probed. */
static const char *unprobed(const drv_state_t *st, const drv_resource_t *r,
                            const drv_ha_node_t *nodes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const drv_node_fence_t *f = drv_state_node_fence(st, nodes[i].name);

        /* a node taken down by the watchdog rule stopped what it knew of: one it never
         * reported may run there outside its knowledge */
        if ((nodes[i].member || nodes[i].cpu > 0) &&
            (!is_down(st, nodes[i].name) || f->down_watchdog) &&
            !g_hash_table_contains(r->nodes, nodes[i].name)) {
            return nodes[i].name;
        }
    }
    return NULL;
}

typedef enum {
    V_PLAN = 0,  /* placed by the policy */
    V_MIGRATING, /* a migration record is open: fixed at its target, left alone */
} vm_kind_t;

typedef struct vm_extra {
    const drv_resource_t *r;
    vm_kind_t kind;
    const char *running; /* where it runs (a member), NULL: nowhere */
    bool pin_dropped;    /* its move_to target cannot take it and it runs: stays */
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

static void fill_vm(drv_policy_vm_t *vm, const drv_resource_t *r, const drv_ha_node_t *nodes,
                    size_t n_nodes, const drv_ha_params_t *p, GHashTable *gids, GPtrArray *gnames)
{
    vm->name = r->name;
    vm->cpu = r->cpu;
    vm->memory_mib = (int64_t)r->memory_mib;
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
        if (drv_ha_recent_failures(r, nodes[k].name, p) >= p->max_failures &&
            (int)k != vm->pin_node) {
            vm->banned[vm->n_banned++] = (int)k;
        }
    }
}

/* Why node I cannot take a move there now, or NULL. */
static const char *pin_blocked(const drv_policy_input_t *in, int i)
{
    switch (in->nodes[i].state) {
    case DRV_NODE_FAILED:
        return "its droverd is not in the cluster";
    case DRV_NODE_STANDBY:
        return "it is in standby";
    case DRV_NODE_MAINTENANCE:
        return "it is in maintenance";
    default:
        return NULL;
    }
}

/* The informational texts wanted for R (failed, waiting), compared with the state's. */
static void push_texts(GPtrArray *out, const drv_resource_t *r, const char *failed,
                       const char *waiting)
{
    if (g_strcmp0(failed, r->failed) != 0 || g_strcmp0(waiting, r->waiting) != 0) {
        push_cmd(out, DRV_CMD_RES_FAILED, r->name, failed, waiting, 0, r->ver);
    }
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

        if (purgeable(st, r, nodes, n_nodes)) {
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
        /* a node whose daemon is gone is no candidate; its VMs are not in the plan */
        in.nodes[i].state = !member(st, nodes, n_nodes, nodes[i].name) ? DRV_NODE_FAILED
                            : adm.maintenance                          ? DRV_NODE_MAINTENANCE
                            : adm.standby                              ? DRV_NODE_STANDBY
                                                                       : DRV_NODE_ONLINE;
        in.nodes[i].health = DRV_HEALTH_GREEN;
    }
    in.vms = g_new0(drv_policy_vm_t, res->len);
    ex = g_new0(vm_extra_t, res->len); /* ex[v] describes in.vms[v] */
    for (guint i = 0; i < res->len; i++) {
        const drv_resource_t *r = res->pdata[i];
        bool assigned_runs = r->assigned && member(st, nodes, n_nodes, r->assigned) &&
                             reported(r, r->assigned) == DRV_OBS_RUNNING;
        const char *gone = gone_holder(st, r, nodes, n_nodes);
        vm_extra_t *e = &ex[nv];
        drv_policy_vm_t *vm = &in.vms[nv];
        int ai = node_index(nodes, n_nodes, r->assigned), cur = -1;

        if (purgeable(st, r, nodes, n_nodes)) {
            continue;
        }
        if (gone != NULL && !assigned_runs) {
            /* it may run on a node outside the round: nothing about it changes until that
             * node is back (or, later, fenced); it takes no room elsewhere */
            g_autofree char *wait = g_strdup_printf("waiting for node %s (its droverd is not "
                                                    "in the cluster), which may run it",
                                                    gone);

            push_texts(out, r, r->failed, wait);
            continue;
        }
        memset(e, 0, sizeof(*e));
        e->r = r;
        if (r->mig_to != NULL) {
            e->kind = V_MIGRATING;
            /* at its target; at its source when the target is down (the source ends it) */
            e->running = is_down(st, r->mig_to) ? r->mig_from : r->mig_to;
        } else if (assigned_runs) {
            /* the assigned copy is confirmed running: any other copy is a stray its node
             * stops */
            e->running = r->assigned;
        } else {
            /* else a member reporting one (adopted where it runs) */
            GHashTableIter it;
            gpointer k, v;

            g_hash_table_iter_init(&it, r->nodes);
            while (g_hash_table_iter_next(&it, &k, &v)) {
                if (((const drv_res_node_t *)v)->obs == DRV_OBS_RUNNING &&
                    member(st, nodes, n_nodes, k) &&
                    (e->running == NULL || strcmp(k, e->running) < 0)) {
                    e->running = k;
                }
            }
        }
        fill_vm(vm, r, nodes, n_nodes, p, gids, gnames);
        if (e->running) {
            cur = node_index(nodes, n_nodes, e->running);
        } else if (ai >= 0 && drv_ha_recent_failures(r, r->assigned, p) < p->max_failures) {
            cur = ai; /* not running yet where it is assigned (starting) */
        }
        vm->node = cur;
        if (e->kind == V_MIGRATING) {
            vm->pin_node = cur; /* takes room on its target; left alone */
            vm->n_banned = 0;
        } else if (vm->pin_node >= 0 && e->running && pin_blocked(&in, vm->pin_node)) {
            /* a move that cannot be carried out never stops the VM */
            e->pin_dropped = true;
            vm->pin_node = -1;
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

    if (nv == 0 || drv_policy_plan(&in, &plan) != 0) {
        goto done;
    }
    unplaced = g_new0(char *, nv);
    for (size_t k = 0; k < plan->n_unplaced; k++) {
        unplaced[plan->unplaced[k].vm] = plan->unplaced[k].reason;
    }
    for (size_t v = 0; v < nv; v++) {
        const drv_resource_t *r = ex[v].r;
        int target = plan->placement[v];
        const char *want_node, *want_from, *want_failed = NULL;
        g_autofree char *waiting = NULL;
        const char *who;

        if (ex[v].kind == V_MIGRATING) {
            continue; /* its source ends the record; then it is decided again */
        }
        if (r->move_to && r->role == DRV_ROLE_STARTED && ex[v].running &&
            (ex[v].pin_dropped || target < 0)) {
            /* the move cannot be carried out: it keeps running where it runs */
            int pi = node_index(nodes, n_nodes, r->move_to);
            const char *why = pi >= 0 ? pin_blocked(&in, pi) : "it is not in the nodelist";

            if (why == NULL) {
                why = (target < 0 && unplaced[v]) ? unplaced[v] : "it has no room";
            }
            waiting = g_strdup_printf("move to %s waits: %s", r->move_to, why);
            if (target < 0) {
                target = node_index(nodes, n_nodes, ex[v].running);
            }
        }
        want_node = target >= 0 ? in.nodes[target].name : NULL;
        if (want_node && ex[v].running == NULL && (who = unprobed(st, r, nodes, n_nodes)) != NULL &&
            g_strcmp0(want_node, r->assigned) != 0) {
            /* probe first: a node that may already run it has not said so yet */
            g_free(waiting);
            waiting = g_strdup_printf("waiting for node %s to report whether it runs the "
                                      "domain",
                                      who);
            push_texts(out, r, r->failed, waiting);
            continue;
        }
        if (ex[v].running) {
            /* moved off (or stopped on) the node running it */
            want_from = g_strcmp0(ex[v].running, want_node) != 0 ? ex[v].running : NULL;
        } else if (r->moving_from && !released(st, r, r->moving_from)) {
            want_from = r->moving_from; /* an earlier move off it is not released yet */
        } else if (r->assigned && g_strcmp0(r->assigned, want_node) != 0) {
            /* reassigned before it ran there: that node may have a start in flight, and only
             * its report after this assignment (a newer generation) releases it */
            want_from = r->assigned;
        } else {
            want_from = NULL;
        }
        if (in.vms[v].want_started && target < 0) {
            want_failed = unplaced[v] ? unplaced[v] : "cannot be placed";
        }
        if (g_strcmp0(want_node, r->assigned) != 0 || g_strcmp0(want_from, r->moving_from) != 0) {
            push_cmd(out, DRV_CMD_RES_ASSIGN, r->name, want_node, want_from, 0, r->ver);
            continue; /* texts follow from the next pass, at the new version */
        }
        push_texts(out, r, want_failed, waiting);
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

static void push_action(GPtrArray *out, drv_ha_act_t act, const drv_resource_t *r,
                        const char *target)
{
    drv_ha_local_action_t *a = g_new0(drv_ha_local_action_t, 1);

    a->act = act;
    a->res = r;
    a->target = target;
    g_ptr_array_add(out, a);
}

void drv_ha_local(const drv_state_t *st, const char *me, const drv_ha_params_t *p,
                  const drv_ha_local_env_t *env, GPtrArray *out_cmds, GPtrArray *out_acts)
{
    g_autoptr(GPtrArray) res = sorted_resources(st);
    const drv_node_fence_t *f = drv_state_node_fence(st, me);

    if (f != NULL && (f->down || (f->op != 0 && !f->op_operator))) {
        /* the cluster has me as down (fenced: I rebooted) or is fencing me: I am back */
        push_cmd(out_cmds, DRV_CMD_NODE_UP, me, NULL, NULL, 0, f->ver);
        if (f->down) {
            return; /* nothing until that is applied: my old reports were dropped */
        }
    }
    for (guint i = 0; i < res->len; i++) {
        const drv_resource_t *r = res->pdata[i];
        const drv_res_node_t *mine = g_hash_table_lookup(r->nodes, me);
        bool here = env->running(env->ud, r->uuid);
        drv_obs_t rep = mine ? mine->obs : DRV_OBS_STOPPED;
        bool assigned_here = g_strcmp0(r->assigned, me) == 0;
        bool mig_open = r->mig_to != NULL;
        drv_ha_cmd_t *c = NULL;

        if (env->busy(env->ud, r->uuid)) {
            continue; /* an operation, a migration job or a report about it is in flight */
        }
        /* Tell the cluster what runs here (a FAILED report stands until it runs again): a
         * probe for a resource not reported yet, and the release of a VM moved off here. */
        if (here && rep != DRV_OBS_RUNNING) {
            c = push_cmd(out_cmds, DRV_CMD_RES_REPORT, r->name, me, NULL, DRV_OBS_RUNNING, r->gen);
        } else if (!here && (mine == NULL || rep == DRV_OBS_RUNNING ||
                             (g_strcmp0(r->moving_from, me) == 0 && !released(st, r, me)))) {
            c = push_cmd(out_cmds, DRV_CMD_RES_REPORT, r->name, me, NULL, DRV_OBS_STOPPED, r->gen);
        }
        if (my_window_passed(mine, p)) {
            /* what the hypervisor shows now, never a repeated "failed" (that would count as
             * a new failure and open a new window) */
            if (c == NULL) {
                c = push_cmd(out_cmds, DRV_CMD_RES_REPORT, r->name, me, NULL,
                             here ? DRV_OBS_RUNNING : DRV_OBS_STOPPED, mine->gen);
            }
            c->flag = true;
        }
        if (mig_open && strcmp(r->mig_from, me) == 0) {
            /* I am the source of a migration in flight: run it once, then end the record by
             * what my hypervisor shows */
            bool tried = env->attempted && env->attempted(env->ud, r);

            /* a daemon that restarted mid-way (no memory of the attempt) migrates again only
             * where it may: else the record ends as rolled back and the VM stays here */
            if (here && !tried && env->can_migrate != NULL &&
                env->can_migrate(env->ud, r, r->mig_to)) {
                if (r->changed_seq <= p->confirmed_seq) {
                    push_action(out_acts, DRV_HA_MIGRATE, r, r->mig_to);
                }
            } else {
                c = push_cmd(out_cmds, DRV_CMD_RES_MIG_END, r->name, r->mig_from, r->mig_to, 0, 0);
                c->flag = !here;
            }
            continue;
        }
        if (mig_open && strcmp(r->mig_to, me) == 0) {
            continue; /* the incoming copy is the source's business until the record ends */
        }
        if (!here) {
            if (r->role == DRV_ROLE_STARTED && assigned_here && !mig_open &&
                drv_resource_running_elsewhere(r, me) == NULL &&
                (r->moving_from == NULL || released(st, r, r->moving_from)) &&
                drv_ha_recent_failures(r, me, p) < p->max_failures &&
                r->changed_seq <= p->confirmed_seq) {
                /* only on a state a quorum holds (C7): never on a change this node may have
                 * applied alone, in its transitional configuration */
                push_action(out_acts, DRV_HA_START, r, NULL);
            }
            continue;
        }
        /* It runs here and the coordinator moves it to a node that does not run it: live
         * migration where allowed — begun by a replicated record, run once it is applied —
         * else stop + start. */
        if (r->role == DRV_ROLE_STARTED && r->assigned && !assigned_here && !mig_open &&
            g_strcmp0(r->moving_from, me) == 0 && reported(r, r->assigned) != DRV_OBS_RUNNING &&
            r->allow_migrate && env->can_migrate != NULL &&
            env->can_migrate(env->ud, r, r->assigned)) {
            push_cmd(out_cmds, DRV_CMD_RES_MIG_BEGIN, r->name, me, r->assigned, 0, r->ver);
            continue;
        }
        /* Stop it when it should run nowhere, or when it is moved off this node, or when it is
         * a stray and the assigned copy is confirmed running. */
        if (r->role != DRV_ROLE_STARTED || (r->assigned == NULL && r->failed != NULL) ||
            (r->assigned && !assigned_here &&
             (g_strcmp0(r->moving_from, me) == 0 || reported(r, r->assigned) == DRV_OBS_RUNNING))) {
            push_action(out_acts, DRV_HA_STOP, r, NULL);
        }
    }
}
