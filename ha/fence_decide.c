/* The coordinator's fencing decisions (drv_ha.h): which nodes outside the round must be
 * fenced, who runs the fence agents, and when the watchdog rule says a node is down. Pure: the
 * state and the membership in, commands out; time only as the deciding node's measure of how
 * long a node has been away. docs/fencing.md. */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "drv_ha.h"

static const drv_ha_node_t *find(const drv_ha_node_t *nodes, size_t n, const char *name)
{
    for (size_t i = 0; name && i < n; i++) {
        if (strcmp(nodes[i].name, name) == 0) {
            return &nodes[i];
        }
    }
    return NULL;
}

static bool in_round(const drv_ha_node_t *nodes, size_t n, const char *name)
{
    const drv_ha_node_t *x = find(nodes, n, name);

    return x != NULL && x->member;
}

/* Does NODE still hold R as far as the state knows? */
static bool may_run(const drv_resource_t *r, const char *node)
{
    const drv_res_node_t *rn = g_hash_table_lookup(r->nodes, node);

    if (g_strcmp0(r->mig_from, node) == 0 || g_strcmp0(r->mig_to, node) == 0 ||
        g_strcmp0(r->assigned, node) == 0 || (rn != NULL && rn->obs == DRV_OBS_RUNNING)) {
        return true;
    }
    /* moved off it and not released there yet */
    return g_strcmp0(r->moving_from, node) == 0 &&
           (rn == NULL || rn->gen < r->gen || rn->obs == DRV_OBS_RUNNING);
}

/* R is to run, no member reports it running, and NODE never said whether it runs it. */
static bool waits_for_probe(const drv_resource_t *r, const drv_ha_node_t *nodes, size_t n,
                            const drv_ha_node_t *node)
{
    GHashTableIter it;
    gpointer k, v;

    if (r->role != DRV_ROLE_STARTED || node->cpu <= 0 ||
        g_hash_table_contains(r->nodes, node->name)) {
        return false;
    }
    g_hash_table_iter_init(&it, r->nodes);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (((const drv_res_node_t *)v)->obs == DRV_OBS_RUNNING && in_round(nodes, n, k)) {
            return false;
        }
    }
    return true;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *drv_ha_fence_needed(const drv_state_t *st, const drv_ha_node_t *nodes, size_t n_nodes,
                          const char *node)
{
    const drv_ha_node_t *x = find(nodes, n_nodes, node);
    g_autoptr(GPtrArray) names = NULL;
    GHashTableIter it;
    gpointer k;

    if (x == NULL || x->member || drv_state_node_down(st, node)) {
        return NULL;
    }
    names = g_ptr_array_new();
    g_hash_table_iter_init(&it, st->resources);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        g_ptr_array_add(names, k);
    }
    g_ptr_array_sort(names, cmp_str);
    for (guint i = 0; i < names->len; i++) {
        const drv_resource_t *r = g_hash_table_lookup(st->resources, names->pdata[i]);

        if (may_run(r, node)) {
            return g_strdup_printf("it may run %s", r->name);
        }
    }
    for (guint i = 0; i < names->len; i++) {
        const drv_resource_t *r = g_hash_table_lookup(st->resources, names->pdata[i]);

        if (waits_for_probe(r, nodes, n_nodes, x)) {
            return g_strdup_printf("it never said whether it runs %s", r->name);
        }
    }
    return NULL;
}

static void push(GPtrArray *out, drv_cmd_type_t type, const char *name, const char *value,
                 const char *value2, uint64_t gen)
{
    drv_ha_cmd_t *c = g_new0(drv_ha_cmd_t, 1);

    c->type = type;
    c->name = g_strdup(name);
    c->value = g_strdup(value);
    c->value2 = g_strdup(value2);
    c->gen = gen;
    g_ptr_array_add(out, c);
}

void drv_ha_fence_coordinate(const drv_state_t *st, const drv_ha_node_t *nodes, size_t n_nodes,
                             const char *me, bool fencing_enabled, GPtrArray *out)
{
    for (size_t i = 0; i < n_nodes; i++) {
        const drv_ha_node_t *x = &nodes[i];
        const drv_node_fence_t *f = drv_state_node_fence(st, x->name);
        g_autofree char *why = NULL;
        g_autoptr(GPtrArray) levels = NULL;
        uint64_t ver = f ? f->ver : 0;
        bool in_flight, can_fence;

        if (x->member || strcmp(x->name, me) == 0 ||
            (why = drv_ha_fence_needed(st, nodes, n_nodes, x->name)) == NULL) {
            continue;
        }
        levels = drv_state_fence_levels_for(st, x->name);
        can_fence = fencing_enabled && levels->len > 0;
        in_flight = f != NULL && f->op != 0 && in_round(nodes, n_nodes, f->op_executor);
        if (can_fence && !in_flight) {
            push(out, DRV_CMD_FENCE_BEGIN, x->name, me, "off", ver);
            continue;
        }
        if (x->watchdog_ms > 0 && x->absent_ms >= 2 * x->watchdog_ms &&
            (!can_fence || (f != NULL && f->op_failures > 0))) {
            g_autofree char *how = g_strdup_printf("watchdog: out of the cluster for %" PRIu64
                                                   " ms (2 x its watchdog timeout %" PRIu64
                                                   " ms): it has reset itself or stopped its VMs",
                                                   x->absent_ms, x->watchdog_ms);

            push(out, DRV_CMD_NODE_DOWN, x->name, how, NULL, ver);
        }
    }
}
