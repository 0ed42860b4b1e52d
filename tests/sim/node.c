/* The node driver: how the simulator feeds one droverd. It builds the cluster core's ops
 * (multicast into the fake CPG, persist to the node's in-memory disk, request completion) and
 * the HA runtime's ops (the same table droverd fills from corosync and libvirt in
 * agent/ha.c), on top of the fake CPG, the fake hypervisor and virtual time. When the
 * runtime gains an op, this is the one file to extend. */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "drover/results.h"
#include "sim.h"

/* ---- the cluster core's ops ---- */

static int c_send(void *ud, const void *buf, size_t len)
{
    cpg_send(ud, buf, len);
    return 0;
}

static int c_persist(void *ud, const drv_state_t *st)
{
    simnode_t *nd = ud;

    drv_state_free(nd->disk);
    nd->disk = drv_state_copy(st);
    return 0;
}

static void c_request_done(void *ud, uint64_t req_id, int rc)
{
    simnode_t *nd = ud;
    gpointer v;

    if (drv_ha_rt_request_done(nd->rt, req_id, rc)) {
        return;
    }
    v = g_hash_table_lookup(nd->admin_reqs, &req_id);
    if (v != NULL) {
        admin_rec_t *a = g_ptr_array_index(nd->sim->admin, GPOINTER_TO_INT(v) - 1);

        /* applied-but-unconfirmed ends as "outcome unknown": not acknowledged */
        a->status = rc == DRV_OK ? 1 : (rc == DRV_ERR_TIMEOUT || rc == DRV_ERR_SYNCING) ? 0 : -1;
        a->done_t = nd->sim->now;
        sim_log(nd->sim, "%s: admin %d %s: %s", nd->name, (int)a->type, a->name,
                rc == DRV_OK ? "acknowledged" : drv_strerror(rc));
        g_hash_table_remove(nd->admin_reqs, &req_id);
    }
}

static void c_view_changed(void *ud)
{
    node_kick(ud);
}

static const drv_cluster_ops_t cluster_ops = {c_send, c_persist, c_request_done, c_view_changed};

/* ---- the HA runtime's ops ---- */

static int r_submit(void *ud, const drv_cmd_t *cmd, uint64_t timeout_ms, uint64_t *req_id)
{
    simnode_t *nd = ud;
    int rc = drv_cluster_submit(nd->c, cmd, nd->sim->now, timeout_ms, req_id);

    if (nd->sim->verbose && rc == DRV_OK) {
        sim_log(nd->sim, "%s: submit %d %s %s %s obs=%u gen=%" PRIu64, nd->name, (int)cmd->type,
                cmd->name, cmd->value ? cmd->value : "-", cmd->value2 ? cmd->value2 : "-", cmd->obs,
                cmd->gen);
    }
    return rc;
}

static const drv_state_t *r_state(void *ud)
{
    return drv_cluster_state(((simnode_t *)ud)->c);
}

static void r_view(void *ud, drv_ha_rt_view_t *out)
{
    simnode_t *nd = ud;
    drv_cluster_view_t v;

    drv_cluster_get_view(nd->c, &v);
    out->active = v.phase == DRV_PHASE_ACTIVE;
    out->quorate = v.quorate;
    out->coordinator = v.coordinator == (uint32_t)nd->idx + 1;
    out->me = nd->name;
    out->confirmed_seq = v.confirmed_seq;
    nd->had_quorum = nd->had_quorum || nd->vq_quorate;
    out->lost_quorum = nd->had_quorum && !nd->vq_quorate;
}

static void r_nodes(void *ud, GArray *out)
{
    simnode_t *nd = ud;
    drv_cluster_view_t v;

    drv_cluster_get_view(nd->c, &v);
    for (int i = 0; i < nd->sim->n; i++) {
        drv_ha_rt_node_t rn = {nd->sim->node[i].name, nd->sim->node[i].addr, false};

        for (size_t k = 0; k < v.n_members; k++) {
            rn.member = rn.member || v.members[k].nodeid == (uint32_t)i + 1;
        }
        g_array_append_val(out, rn);
    }
}

static bool r_table_valid(void *ud)
{
    return hv_valid(&((simnode_t *)ud)->hv);
}

static bool r_lookup(void *ud, const char *uuid, drv_ha_dom_state_t *state)
{
    hv_dom_t *d = g_hash_table_lookup(((simnode_t *)ud)->hv.doms, uuid);

    if (d == NULL) {
        return false;
    }
    *state = d->state;
    return true;
}

static void r_foreach(void *ud, void (*fn)(void *fud, const char *uuid, drv_ha_dom_state_t st),
                      void *fud)
{
    GHashTableIter it;
    gpointer k, v;
    g_autoptr(GPtrArray) keys = g_ptr_array_new();

    g_hash_table_iter_init(&it, ((simnode_t *)ud)->hv.doms);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_ptr_array_add(keys, k);
    }
    for (guint i = 0; i < keys->len; i++) {
        hv_dom_t *d = g_hash_table_lookup(((simnode_t *)ud)->hv.doms, keys->pdata[i]);

        fn(fud, keys->pdata[i], d->state);
    }
}

static int r_start(void *ud, uint64_t op_id, const char *xml)
{
    simnode_t *nd = ud;

    sim_log(nd->sim, "%s: start %s", nd->name, xml);
    return hv_start(&nd->hv, op_id, xml);
}

static int r_stop(void *ud, uint64_t op_id, const char *uuid, unsigned grace_ms)
{
    simnode_t *nd = ud;

    sim_log(nd->sim, "%s: stop %s%s", nd->name, sim_vm_name(sim_vm_index(uuid)),
            grace_ms ? "" : " (destroy)");
    return hv_stop(&nd->hv, op_id, uuid, grace_ms);
}

static int r_migrate(void *ud, uint64_t op_id, const char *uuid, const char *target)
{
    simnode_t *nd = ud;

    sim_log(nd->sim, "%s: migrate %s to %s", nd->name, sim_vm_name(sim_vm_index(uuid)), target);
    for (int i = 0; i < nd->sim->n; i++) {
        if (strcmp(nd->sim->node[i].name, target) == 0) {
            return hv_migrate(&nd->hv, op_id, uuid, i);
        }
    }
    return DRV_ERR_BAD_ARGS;
}

static void r_reconcile_now(void *ud)
{
    simnode_t *nd = ud;

    nd->reconcile_req = true; /* the list pass completes before the next evaluation */
    node_kick(nd);
}

/* Each host's monotonic clock counts from its own boot (plus a per-host uptime before the
 * simulation starts, longest on n1, the first coordinator): clocks differ between hosts by
 * hours and restart with a host. */
static uint64_t r_now_ms(void *ud)
{
    simnode_t *nd = ud;

    return nd->sim->now - nd->boot_at + 1000 + (uint64_t)(SIM_MAXN - nd->idx) * 7 * 3600 * 1000;
}

/* libvirt's migration job, as the real driver sees it: out on the source while the worker's
 * head is that migration (whichever daemon incarnation asked for it), in on the target while
 * the paused incoming copy exists. */
static bool r_migrating(void *ud, const char *uuid)
{
    simnode_t *nd = ud;
    hv_op_t *op = hv_migration(&nd->hv);
    hv_dom_t *d = g_hash_table_lookup(nd->hv.doms, uuid);

    return (op != NULL && strcmp(op->uuid, uuid) == 0) || (d != NULL && d->incoming);
}

static void r_kick(void *ud)
{
    node_kick(ud);
}

/* ---- the fake power switch ---- */

static int r_fence(void *ud, uint64_t fence_id, const char *target, const char *action)
{
    simnode_t *nd = ud;
    sim_t *s = nd->sim;
    sim_fence_t *f = g_new0(sim_fence_t, 1);

    f->exec = nd->idx;
    f->inc = nd->inc;
    f->id = fence_id;
    f->target = -1;
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->node[i].name, target) == 0) {
            f->target = i;
        }
    }
    f->t_end = s->now + (uint64_t)g_rand_int_range(s->rng, (gint32)s->fence_min_ms,
                                                   (gint32)s->fence_max_ms + 1);
    f->fail = f->target < 0 || (unsigned)g_rand_int_range(s->rng, 0, 1000) < s->p_fence_fail;
    sim_log(s, "%s: fence %s (%s)%s", nd->name, target, action, f->fail ? " [will fail]" : "");
    g_ptr_array_add(s->fences, f);
    return 0;
}

static void r_fence_cancel(void *ud, uint64_t fence_id)
{
    simnode_t *nd = ud;

    for (guint i = 0; i < nd->sim->fences->len; i++) {
        sim_fence_t *f = g_ptr_array_index(nd->sim->fences, i);

        if (f->exec == nd->idx && f->inc == nd->inc && f->id == fence_id) {
            sim_log(nd->sim, "%s: fence of %s cancelled", nd->name,
                    f->target >= 0 ? nd->sim->node[f->target].name : "?");
            g_ptr_array_remove_index(nd->sim->fences, i);
            return;
        }
    }
}

static uint64_t r_wall_ms(void *ud)
{
    simnode_t *nd = ud;

    return SIM_WALL_BASE + nd->sim->now + (uint64_t)nd->wall_offset_ms;
}

void fences_advance(sim_t *s)
{
    for (guint i = 0; i < s->fences->len;) {
        sim_fence_t *f = g_ptr_array_index(s->fences, i);
        simnode_t *ex = &s->node[f->exec];

        if (f->t_end > s->now) {
            i++;
            continue;
        }
        g_ptr_array_steal_index(s->fences, i); /* f is ours until freed below */
        if (!f->fail && f->target >= 0) {
            sim_log(s, "%s: fence agent powers %s off", ex->name, s->node[f->target].name);
            node_host_crash(&s->node[f->target]);
        }
        if (ex->daemon_up && ex->inc == f->inc) {
            drv_ha_rt_fence_done(ex->rt, f->id, !f->fail, f->fail ? NULL : "sim-switch", 1,
                                 f->fail ? "exit status 1: no answer from the switch" : "ok");
        }
        g_free(f);
    }
}

/* sbd's rule, emulated: fed while droverd's loop runs and (quorate or no VM runs here). */
void node_watchdog_tick(simnode_t *nd)
{
    sim_t *s = nd->sim;
    int running;

    if (s->watchdog_ms == 0 || !nd->host_up || !nd->wd_armed) {
        return;
    }
    running = nd->daemon_up ? drv_ha_rt_running_vms(nd->rt) : -1;
    if (nd->daemon_up && (nd->vq_quorate || running == 0)) {
        nd->wd_fed = s->now;
    } else if (s->now - nd->wd_fed > s->watchdog_ms) {
        sim_log(s, "%s: WATCHDOG expired: the host resets", nd->name);
        node_host_crash(nd);
    }
}

static const drv_ha_rt_ops_t rt_ops = {
    .submit = r_submit,
    .state = r_state,
    .view = r_view,
    .nodes = r_nodes,
    .table_valid = r_table_valid,
    .lookup = r_lookup,
    .foreach = r_foreach,
    .start = r_start,
    .stop = r_stop,
    .migrate = r_migrate,
    .reconcile_now = r_reconcile_now,
    .migrating = r_migrating,
    .now_ms = r_now_ms,
    .kick = r_kick,
    .fence = r_fence,
    .fence_cancel = r_fence_cancel,
    .wall_ms = r_wall_ms,
};

/* ---- events into the node ---- */

void node_kick(simnode_t *nd)
{
    nd->kicked = true;
}

void node_evaluate(simnode_t *nd)
{
    nd->kicked = false;
    if (nd->daemon_up) {
        if (nd->reconcile_req && hv_valid(&nd->hv)) {
            nd->reconcile_req = false;
            drv_ha_rt_reconciled(nd->rt);
        }
        drv_ha_rt_evaluate(nd->rt);
    }
}

void node_dom_changed(simnode_t *nd, const char *uuid, drv_ha_dom_state_t st, bool by_us,
                      const char *reason)
{
    if (nd->daemon_up) {
        drv_ha_rt_dom_changed(nd->rt, uuid, sim_vm_name(sim_vm_index(uuid)), st, by_us, reason);
    }
}

void node_op_done(simnode_t *nd, uint32_t inc, uint64_t op_id, int rc, const char *errmsg)
{
    if (nd->daemon_up && nd->inc == inc) {
        drv_ha_rt_op_done(nd->rt, op_id, rc, errmsg);
    }
}

const drv_state_t *node_state(const simnode_t *nd)
{
    return nd->daemon_up ? drv_cluster_state(nd->c) : NULL;
}

bool node_active(const simnode_t *nd)
{
    drv_cluster_view_t v;

    if (!nd->daemon_up) {
        return false;
    }
    drv_cluster_get_view(nd->c, &v);
    return v.phase == DRV_PHASE_ACTIVE && v.quorate;
}

void node_daemon_start(simnode_t *nd)
{
    drv_ha_rt_config_t cfg = {
        .cpu = nd->cpu,
        .memory_mib = nd->memory_mib,
        .stop_grace_ms = 2000,
        .request_timeout_ms = 5000,
        .migration = true,
        .watchdog_ms = nd->sim->watchdog_ms,
    };

    if (nd->daemon_up || !nd->host_up) {
        return;
    }
    if (nd->sim->watchdog_ms > 0 && !nd->wd_armed) {
        nd->wd_armed = true;
        nd->wd_fed = nd->sim->now;
    }
    nd->had_quorum = false;
    nd->daemon_up = true;
    nd->daemon_start_at = 0;
    nd->inc++;
    nd->pid = 1000u * nd->inc + (uint32_t)nd->idx + 1;
    nd->members_key = 0;
    nd->c = drv_cluster_new((uint32_t)nd->idx + 1, nd->pid, &cluster_ops, nd,
                            nd->disk ? drv_state_copy(nd->disk) : NULL);
    nd->rt = drv_ha_rt_new(&cfg, &rt_ops, nd);
    nd->admin_reqs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    nd->kicked = true;
    nd->sim->confchg_pending = true;
    sim_log(nd->sim, "%s: droverd starts (pid %u)", nd->name, nd->pid);
}

void node_daemon_stop(simnode_t *nd)
{
    if (!nd->daemon_up) {
        return;
    }
    sim_log(nd->sim, "%s: droverd stops", nd->name);
    nd->daemon_up = false;
    drv_ha_rt_free(nd->rt);
    nd->rt = NULL;
    drv_cluster_free(nd->c);
    nd->c = NULL;
    g_hash_table_destroy(nd->admin_reqs);
    nd->admin_reqs = NULL;
    cpg_drop_node(nd);
    nd->sim->confchg_pending = true;
}

void node_host_crash(simnode_t *nd)
{
    if (!nd->host_up) {
        return;
    }
    sim_log(nd->sim, "%s: HOST CRASH", nd->name);
    node_daemon_stop(nd);
    hv_host_crash(&nd->hv);
    nd->host_up = false;
    nd->wd_armed = false;
    nd->vq_quorate = false;
    nd->ring_mask = 0;
    nd->daemon_start_at = 0;
    nd->sim->confchg_pending = true;
}

void node_host_boot(simnode_t *nd)
{
    if (nd->host_up) {
        return;
    }
    sim_log(nd->sim, "%s: host boots", nd->name);
    nd->host_up = true;
    nd->boot_at = nd->sim->now;
    nd->hv.valid_at = nd->sim->now + 300;
    nd->sim->confchg_pending = true;
    node_daemon_start(nd);
}

/* ---- admin commands ---- */

static int admin_record(simnode_t *nd, const drv_cmd_t *cmd, bool flag)
{
    sim_t *s = nd->sim;
    uint64_t req = 0;
    int rc;
    admin_rec_t *a;

    if (!nd->daemon_up) {
        return DRV_ERR_NOT_CONNECTED;
    }
    rc = drv_cluster_submit(nd->c, cmd, s->now, 5000, &req);
    sim_log(s, "%s: ADMIN %d %s %s%s -> %s", nd->name, (int)cmd->type, cmd->name,
            cmd->value ? cmd->value : "", flag ? " on" : "",
            rc == DRV_OK ? "submitted" : drv_strerror(rc));
    if (rc != DRV_OK) {
        return rc;
    }
    a = g_new0(admin_rec_t, 1);
    a->type = cmd->type;
    a->name = g_strdup(cmd->name);
    a->value = g_strdup(cmd->value);
    a->flag = flag;
    a->submit_t = s->now;
    g_ptr_array_add(s->admin, a);
    g_hash_table_insert(nd->admin_reqs, g_memdup2(&req, sizeof(req)),
                        GINT_TO_POINTER((int)s->admin->len));
    return rc;
}

int admin_submit(simnode_t *nd, drv_cmd_type_t type, const char *name, const char *value, bool flag)
{
    drv_cmd_t cmd = {.type = type, .name = name, .value = value, .flag = flag};

    return admin_record(nd, &cmd, flag);
}

void admin_fencing_setup(simnode_t *nd)
{
    for (int i = 0; i < nd->sim->n; i++) {
        g_autofree char *name = g_strdup_printf("switch-%s", nd->sim->node[i].name);
        drv_fence_dev_t *d = drv_fence_dev_new(name, "/usr/sbin/fence_sim");
        drv_cmd_t cmd = {.type = DRV_CMD_FENCE_DEV_ADD, .name = name, .dev = d};

        g_ptr_array_add(d->keys, g_strdup("password"));
        g_ptr_array_add(d->vals, g_strdup("secret"));
        g_ptr_array_add(d->nodes, g_strdup(nd->sim->node[i].name));
        admin_record(nd, &cmd, false);
        drv_fence_dev_free(d);
    }
}

int admin_add(simnode_t *nd, int vm, uint8_t prio, bool allow_migrate, uint32_t cpu,
              const char *prefer)
{
    drv_resource_t *r = drv_resource_new(sim_vm_name(vm));
    drv_cmd_t cmd = {.type = DRV_CMD_RES_ADD, .name = r->name, .res = r};
    int rc;

    r->uuid = g_strdup(sim_vm_uuid(vm));
    r->domain = g_strdup(r->name);
    r->xml = g_strdup_printf("sim:%s", r->uuid);
    r->cpu = cpu;
    r->memory_mib = 512;
    r->priority = prio;
    r->allow_migrate = allow_migrate;
    if (prefer) {
        drv_pref_t *p = g_new0(drv_pref_t, 1);

        p->node = g_strdup(prefer);
        p->weight = 1000;
        g_ptr_array_add(r->prefer, p);
    }
    rc = admin_record(nd, &cmd, true);
    drv_resource_free(r);
    return rc;
}
