/* The invariants, checked from the fake hypervisors (what really runs), not from the
 * replicated state:
 *   S1 (after every tick) no VM runs (running or paused) on two hosts; the paused incoming
 *      copy of a migration in progress is the same VM as its source's copy.
 *   L1 (end of a history) every resource whose role is started runs exactly once, and
 *      nothing else runs.
 *   L2 no acknowledged admin change is lost from the state.
 *   L3 all nodes hold identical state. */
#include "config.h"

#include <string.h>

#include "sim.h"

/* The source of the migration whose incoming copy of UUID is at host T still holds it. */
static bool source_holds(sim_t *s, int t, const char *uuid)
{
    for (int i = 0; i < s->n; i++) {
        hv_op_t *op = s->node[i].host_up ? hv_migration(&s->node[i].hv) : NULL;

        if (op && op->target == t && strcmp(op->uuid, uuid) == 0 &&
            g_hash_table_contains(s->node[i].hv.doms, uuid)) {
            return true;
        }
    }
    return false;
}

int hv_copies(sim_t *s, const char *uuid, int *where)
{
    int n = 0;

    for (int i = 0; i < s->n; i++) {
        hv_dom_t *d = s->node[i].host_up ? g_hash_table_lookup(s->node[i].hv.doms, uuid) : NULL;

        if (d == NULL || (d->state != DRV_HA_DOM_RUNNING && d->state != DRV_HA_DOM_PAUSED)) {
            continue;
        }
        if (d->incoming && source_holds(s, i, uuid)) {
            continue;
        }
        if (where && n < SIM_MAXN) {
            where[n] = i;
        }
        n++;
    }
    return n;
}

bool check_safety(sim_t *s)
{
    for (int v = 0; v < SIM_NVM; v++) {
        int where[SIM_MAXN];
        int n = hv_copies(s, sim_vm_uuid(v), where);

        if (n > 1) {
            sim_fail(s, "S1: %s runs on %s and %s", sim_vm_name(v), s->node[where[0]].name,
                     s->node[where[1]].name);
            return false;
        }
        if (n > 0) {
            s->ever_ran[v] = true;
        } else if (s->ever_ran[v]) {
            s->zero_copy_ms[v] += SIM_TICK_MS;
        }
    }
    return true;
}

/* An add of VM V was acknowledged at some point: Drover owns that domain since. */
static bool ever_added(sim_t *s, int v)
{
    for (guint i = 0; i < s->admin->len; i++) {
        admin_rec_t *a = g_ptr_array_index(s->admin, i);

        if (a->type == DRV_CMD_RES_ADD && a->status == 1 && strcmp(a->name, sim_vm_name(v)) == 0) {
            return true;
        }
    }
    return false;
}

static const drv_resource_t *res_of(const drv_state_t *st, int v)
{
    return g_hash_table_lookup(st->resources, sim_vm_name(v));
}

bool check_settled(sim_t *s, GString *why)
{
    const drv_state_t *ref = NULL;

    g_string_truncate(why, 0);
    for (int i = 0; i < s->n; i++) {
        simnode_t *nd = &s->node[i];

        if (!node_active(nd)) {
            g_string_printf(why, "%s is not active and quorate", nd->name);
            return false;
        }
        if (ref == NULL) {
            ref = node_state(nd);
        } else if (!drv_state_equal(ref, node_state(nd))) {
            g_string_printf(why, "L3: %s and %s hold different states", s->node[0].name, nd->name);
            return false;
        }
        if (drv_ha_rt_ops_in_flight(nd->rt) > 0) {
            g_string_printf(why, "%s has operations in flight", nd->name);
            return false;
        }
    }
    if (!g_queue_is_empty(&s->cpgq)) {
        g_string_printf(why, "messages in flight");
        return false;
    }
    for (int v = 0; v < SIM_NVM; v++) {
        const drv_resource_t *r = res_of(ref, v);
        int where[SIM_MAXN];
        int n = hv_copies(s, sim_vm_uuid(v), where);
        bool want = r != NULL && r->role == DRV_ROLE_STARTED;

        if (want && r->failed != NULL) {
            continue; /* the coordinator gave up on it, with a reason (all nodes banned) */
        }
        if (want && n != 1) {
            g_string_printf(why, "L1: %s is started but runs on %d host(s)", sim_vm_name(v), n);
            return false;
        }
        if (r == NULL && !ever_added(s, v)) {
            continue; /* started by hand and never given to Drover: not its business */
        }
        if (!want && n != 0) {
            g_string_printf(why, "L1: %s is %s but runs on %s", sim_vm_name(v),
                            r ? drv_role_str(r->role) : "not a resource", s->node[where[0]].name);
            return false;
        }
    }
    return true;
}

/* L2: on each key, the acknowledged change applied last is in the state. Keys with a change
 * of unknown outcome (timed out, membership changed: it may still land later) or with
 * acknowledged changes that overlapped in time (their order is not known) are skipped. */
static bool check_acked(sim_t *s)
{
    const drv_state_t *st = node_state(&s->node[0]);
    g_autoptr(GHashTable) last = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) skip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GHashTableIter it;
    gpointer k, v;

    for (guint i = 0; i < s->admin->len; i++) {
        admin_rec_t *a = g_ptr_array_index(s->admin, i);
        char *key =
            g_strdup_printf("%s%s", a->type == DRV_CMD_NODE_STANDBY ? "node/" : "", a->name);
        admin_rec_t *b = g_hash_table_lookup(last, key);

        if (a->status == 0) {
            g_hash_table_add(skip, key);
            continue;
        }
        if (a->status == 1 && b != NULL && (b->done_t > a->submit_t && a->done_t > b->submit_t)) {
            g_hash_table_add(skip, g_strdup(key));
        }
        if (a->status == 1 && (b == NULL || a->done_t >= b->done_t)) {
            g_hash_table_insert(last, key, a);
        } else {
            g_free(key);
        }
    }
    g_hash_table_iter_init(&it, last);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        admin_rec_t *a = v;
        const drv_resource_t *r = g_hash_table_lookup(st->resources, a->name);
        bool ok = true;

        if (g_hash_table_contains(skip, k)) {
            continue;
        }
        switch (a->type) {
        case DRV_CMD_NODE_STANDBY:
            ok = drv_state_node_admin(st, a->name).standby == a->flag;
            break;
        case DRV_CMD_RES_ADD:
            ok = r != NULL && r->role == DRV_ROLE_STARTED;
            break;
        case DRV_CMD_RES_REMOVE:
            ok = r == NULL || r->role == DRV_ROLE_REMOVING;
            break;
        case DRV_CMD_RES_ROLE:
            ok = r != NULL && r->role == (a->flag ? DRV_ROLE_STARTED : DRV_ROLE_STOPPED);
            break;
        case DRV_CMD_RES_MOVE:
            ok = r != NULL && g_strcmp0(r->move_to, a->value && a->value[0] ? a->value : NULL) == 0;
            break;
        default:
            break;
        }
        if (!ok) {
            sim_fail(s, "L2: acknowledged change %d on %s is lost", (int)a->type, (char *)k);
            return false;
        }
    }
    return true;
}

bool check_history_end(sim_t *s, uint64_t bound_ms)
{
    g_autoptr(GString) why = g_string_new(NULL);
    int good = 0;

    for (uint64_t t = 0; t < bound_ms && s->failure == NULL; t += 1000) {
        sim_run(s, 1000);
        if (check_settled(s, why)) {
            if (++good >= 3) {
                return check_acked(s);
            }
        } else {
            good = 0;
        }
    }
    if (s->failure == NULL) {
        sim_fail(s, "not settled within %llu s: %s", (unsigned long long)bound_ms / 1000, why->str);
    }
    return false;
}
