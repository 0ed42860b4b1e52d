/* A fake hypervisor per host, in virtual time. One worker runs the ops in order (as the real
 * driver does). A live migration is a process: after the copy the target holds a paused
 * incoming domain; at the switch-over the source's domain disappears and the target's runs.
 * If the target dies or the link breaks mid-way libvirt rolls back (the source keeps its
 * domain, the op fails); if the source dies the target's incoming domain goes away; a
 * migration can hang until aborted or its node dies. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "drover/results.h"
#include "sim.h"

static void op_free(hv_op_t *op)
{
    g_free(op->uuid);
    g_free(op);
}

void hv_init(hv_t *hv, simnode_t *nd)
{
    hv->node = nd;
    hv->doms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_queue_init(&hv->ops);
}

void hv_clear(hv_t *hv)
{
    hv_op_t *op;

    while ((op = g_queue_pop_head(&hv->ops)) != NULL) {
        op_free(op);
    }
    if (hv->doms) {
        g_hash_table_destroy(hv->doms);
        hv->doms = NULL;
    }
}

bool hv_valid(const hv_t *hv)
{
    return hv->node->host_up && hv->node->sim->now >= hv->valid_at;
}

static hv_t *hv_of(sim_t *s, int i)
{
    return &s->node[i].hv;
}

static void notify(hv_t *hv, const char *uuid, drv_ha_dom_state_t st, bool by_us,
                   const char *reason)
{
    sim_log(hv->node->sim, "%s: libvirt: %s %s (%s%s)", hv->node->name,
            sim_vm_name(sim_vm_index(uuid)),
            st == DRV_HA_DOM_RUNNING  ? "running"
            : st == DRV_HA_DOM_PAUSED ? "paused"
            : st == DRV_HA_DOM_OTHER  ? "crashed"
                                      : "gone",
            reason, by_us ? "" : ", not by Drover");
    if (hv_valid(hv)) {
        node_dom_changed(hv->node, uuid, st, by_us, reason);
    }
}

static void set_dom(hv_t *hv, const char *uuid, drv_ha_dom_state_t st, bool incoming)
{
    hv_dom_t *d = g_new0(hv_dom_t, 1);

    d->state = st;
    d->incoming = incoming;
    g_hash_table_insert(hv->doms, g_strdup(uuid), d);
}

static uint64_t jitter(sim_t *s, unsigned ms)
{
    return ms / 2 + (uint64_t)g_rand_int_range(s->rng, 0, (gint32)ms + 1);
}

static void enqueue(hv_t *hv, hv_op_t *op)
{
    g_queue_push_tail(&hv->ops, op);
}

static void schedule_head(hv_t *hv)
{
    sim_t *s = hv->node->sim;
    hv_op_t *op = g_queue_peek_head(&hv->ops);

    if (op == NULL || op->t_end != 0) {
        return;
    }
    switch (op->kind) {
    case HVOP_START:
        op->t_end = s->now + jitter(s, s->start_ms);
        break;
    case HVOP_STOP:
        op->t_end = s->now + jitter(s, op->grace_ms ? s->stop_ms : s->stop_ms / 4);
        break;
    case HVOP_MIGRATE:
        op->t_end = s->now + jitter(s, s->mig_copy_ms);
        op->hung = g_rand_int_range(s->rng, 0, 1000) < (gint32)s->p_mig_hang;
        op->fail = g_rand_int_range(s->rng, 0, 1000) < (gint32)s->p_mig_fail;
        break;
    }
}

static hv_op_t *new_op(hv_t *hv, hvop_kind_t kind, uint64_t op_id, const char *uuid)
{
    hv_op_t *op = g_new0(hv_op_t, 1);

    op->kind = kind;
    op->op_id = op_id;
    op->inc = hv->node->inc;
    op->uuid = g_strdup(uuid);
    return op;
}

/* "sim:<uuid>" is the XML of a simulated domain. */
int hv_start(hv_t *hv, uint64_t op_id, const char *xml)
{
    hv_op_t *op;

    if (!hv_valid(hv)) {
        return DRV_ERR_NOT_CONNECTED;
    }
    if (xml == NULL || strncmp(xml, "sim:", 4) != 0) {
        return DRV_ERR_BAD_ARGS;
    }
    op = new_op(hv, HVOP_START, op_id, xml + 4);
    op->fail = g_rand_int_range(hv->node->sim->rng, 0, 1000) < (gint32)hv->node->sim->p_start_fail;
    enqueue(hv, op);
    return 0;
}

int hv_stop(hv_t *hv, uint64_t op_id, const char *uuid, unsigned grace_ms)
{
    hv_op_t *op;

    if (!hv_valid(hv)) {
        return DRV_ERR_NOT_CONNECTED;
    }
    op = new_op(hv, HVOP_STOP, op_id, uuid);
    op->grace_ms = grace_ms;
    enqueue(hv, op);
    return 0;
}

int hv_migrate(hv_t *hv, uint64_t op_id, const char *uuid, int target)
{
    hv_op_t *op;

    if (!hv_valid(hv)) {
        return DRV_ERR_NOT_CONNECTED;
    }
    op = new_op(hv, HVOP_MIGRATE, op_id, uuid);
    op->target = target;
    enqueue(hv, op);
    return 0;
}

hv_op_t *hv_migration(hv_t *hv)
{
    hv_op_t *op = g_queue_peek_head(&hv->ops);

    return op && op->kind == HVOP_MIGRATE && op->t_end != 0 ? op : NULL;
}

static void finish(hv_t *hv, int rc, const char *errmsg)
{
    hv_op_t *op = g_queue_pop_head(&hv->ops);

    node_op_done(hv->node, op->inc, op->op_id, rc, errmsg);
    op_free(op);
}

/* The migration at the head fails: the target's incoming copy goes, the source resumes. */
static void mig_rollback(hv_t *hv, const char *why)
{
    sim_t *s = hv->node->sim;
    hv_op_t *op = g_queue_peek_head(&hv->ops);
    hv_t *t = hv_of(s, op->target);
    hv_dom_t *td = t->doms ? g_hash_table_lookup(t->doms, op->uuid) : NULL;
    hv_dom_t *sd = g_hash_table_lookup(hv->doms, op->uuid);

    if (td && td->incoming) {
        g_hash_table_remove(t->doms, op->uuid);
        notify(t, op->uuid, DRV_HA_DOM_STOPPED, false, "incoming migration failed");
    }
    if (sd && sd->state == DRV_HA_DOM_PAUSED) {
        sd->state = DRV_HA_DOM_RUNNING;
        notify(hv, op->uuid, DRV_HA_DOM_RUNNING, true, "resumed after migration");
    }
    sim_log(s, "%s: migration of %s to %s fails: %s", hv->node->name,
            sim_vm_name(sim_vm_index(op->uuid)), s->node[op->target].name, why);
    finish(hv, -EIO, why);
}

void hv_migration_abort(hv_t *hv)
{
    if (hv_migration(hv)) {
        mig_rollback(hv, "aborted");
    }
}

static void step_op(hv_t *hv)
{
    sim_t *s = hv->node->sim;
    hv_op_t *op = g_queue_peek_head(&hv->ops);
    hv_dom_t *d = g_hash_table_lookup(hv->doms, op->uuid);

    switch (op->kind) {
    case HVOP_START:
        if (d != NULL && (d->state == DRV_HA_DOM_RUNNING || d->state == DRV_HA_DOM_PAUSED)) {
            finish(hv, DRV_ERR_EXISTS, "domain already exists");
        } else if (op->fail) {
            finish(hv, -EIO, "simulated start failure");
        } else {
            set_dom(hv, op->uuid, DRV_HA_DOM_RUNNING, false);
            notify(hv, op->uuid, DRV_HA_DOM_RUNNING, true, "started");
            finish(hv, 0, NULL);
        }
        return;
    case HVOP_STOP:
        if (d != NULL) {
            g_hash_table_remove(hv->doms, op->uuid);
            notify(hv, op->uuid, DRV_HA_DOM_STOPPED, true, "destroyed");
        }
        finish(hv, 0, NULL);
        return;
    case HVOP_MIGRATE: {
        hv_t *t = hv_of(s, op->target);
        simnode_t *tn = &s->node[op->target];

        if (d == NULL || d->incoming) {
            finish(hv, DRV_ERR_UNKNOWN_RESOURCE, "no such domain");
            return;
        }
        if (!tn->host_up || !s->link_ok[hv->node->idx][op->target] || !hv_valid(t)) {
            mig_rollback(hv, "cannot reach the destination");
            return;
        }
        if (op->phase == 0) {
            if (g_hash_table_contains(t->doms, op->uuid)) {
                mig_rollback(hv, "domain exists at the destination");
                return;
            }
            op->phase = 1;
            set_dom(t, op->uuid, DRV_HA_DOM_PAUSED, true);
            notify(t, op->uuid, DRV_HA_DOM_PAUSED, false, "incoming migration");
            op->t_end = op->hung ? UINT64_MAX : s->now + jitter(s, s->mig_switch_ms);
            return;
        }
        if (op->fail) {
            mig_rollback(hv, "simulated migration failure");
            return;
        }
        g_hash_table_remove(hv->doms, op->uuid);
        notify(hv, op->uuid, DRV_HA_DOM_STOPPED, true, "migrated");
        set_dom(t, op->uuid, DRV_HA_DOM_RUNNING, false);
        notify(t, op->uuid, DRV_HA_DOM_RUNNING, false, "migrated in");
        finish(hv, 0, NULL);
        return;
    }
    }
}

void hv_advance(sim_t *s)
{
    for (int i = 0; i < s->n; i++) {
        hv_t *hv = hv_of(s, i);
        hv_op_t *op;
        int guard = 64;

        if (!hv->node->host_up) {
            continue;
        }
        /* a migration whose target died or whose link broke rolls back at once */
        op = hv_migration(hv);
        if (op && op->phase == 1 && (!s->node[op->target].host_up || !s->link_ok[i][op->target])) {
            mig_rollback(hv, "lost the destination");
        } else if (op && op->phase == 1 && !g_hash_table_contains(hv->doms, op->uuid)) {
            mig_rollback(hv, "the domain died during the migration");
        }
        while (guard-- > 0 && (op = g_queue_peek_head(&hv->ops)) != NULL) {
            schedule_head(hv);
            if (op->t_end > s->now || !hv_valid(hv)) {
                break;
            }
            step_op(hv);
        }
    }
}

void hv_host_crash(hv_t *hv)
{
    sim_t *s = hv->node->sim;
    hv_op_t *op;

    /* migrations from here: the target's incoming copy goes */
    for (int i = 0; i < s->n; i++) {
        op = hv_migration(hv_of(s, i));
        if (i == hv->node->idx && op && op->phase == 1) {
            hv_t *t = hv_of(s, op->target);
            hv_dom_t *td = g_hash_table_lookup(t->doms, op->uuid);

            if (td && td->incoming) {
                g_hash_table_remove(t->doms, op->uuid);
                notify(t, op->uuid, DRV_HA_DOM_STOPPED, false, "migration source died");
            }
        }
    }
    while ((op = g_queue_pop_head(&hv->ops)) != NULL) {
        op_free(op);
    }
    g_hash_table_remove_all(hv->doms);
    /* migrations to here roll back in hv_advance */
}

void hv_libvirtd_restart(hv_t *hv, unsigned down_ms)
{
    sim_t *s = hv->node->sim;
    hv_op_t *op = g_queue_peek_head(&hv->ops);

    sim_log(s, "%s: libvirtd restarts (%u ms)", hv->node->name, down_ms);
    hv->valid_at = s->now + down_ms;
    /* the op in progress: a start may or may not have happened; the caller hears "not
     * connected" (a migration in progress carries on in QEMU) */
    if (op && op->kind != HVOP_MIGRATE) {
        if (op->kind == HVOP_START && g_rand_boolean(s->rng) &&
            !g_hash_table_contains(hv->doms, op->uuid)) {
            set_dom(hv, op->uuid, DRV_HA_DOM_RUNNING, false);
        } else if (op->kind == HVOP_STOP && g_rand_boolean(s->rng)) {
            g_hash_table_remove(hv->doms, op->uuid);
        }
        g_queue_pop_head(&hv->ops);
        node_op_done(hv->node, op->inc, op->op_id, DRV_ERR_NOT_CONNECTED, "libvirt restarted");
        op_free(op);
    }
}

void hv_vm_crash(hv_t *hv, const char *uuid, bool leave_other)
{
    hv_dom_t *d = g_hash_table_lookup(hv->doms, uuid);

    if (d == NULL || d->incoming) {
        return;
    }
    if (leave_other) {
        d->state = DRV_HA_DOM_OTHER;
        notify(hv, uuid, DRV_HA_DOM_OTHER, false, "crashed");
    } else {
        g_hash_table_remove(hv->doms, uuid);
        notify(hv, uuid, DRV_HA_DOM_STOPPED, false, "crashed");
    }
}

void hv_put(hv_t *hv, const char *uuid, drv_ha_dom_state_t state)
{
    set_dom(hv, uuid, state, false);
    notify(hv, uuid, state, false, "started by hand");
}
