/* HA resource management glue: feeds the pure decisions (ha/decide.c) from the replicated
 * state, the membership and this host's libvirt driver, submits what they decide as
 * replicated commands, and runs local starts and stops through the driver (which keeps every
 * blocking libvirt call off the main loop).
 *
 * Evaluation is coalesced: any change (state applied, membership, hypervisor event, an
 * operation finishing) schedules one idle pass; a 2 s timer is the safety net. Nothing acts
 * unless this node is in an active, quorate round, and nothing local is decided from a
 * hypervisor table that is not current (drv_virt_table_valid). */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "agent.h"
#include "drv_props.h"
#include "ha.h"
#include "virt.h"

#define HA_SAFETY_MS 2000

typedef enum { OP_START = 1, OP_STOP, OP_VALIDATE, OP_MIGRATE } op_kind_t;

typedef struct ha_op {
    op_kind_t kind;
    char *uuid;
    char *name;
    char *fail_key; /* OP_MIGRATE: "uuid@generation", remembered when it fails */
    void (*done)(void *ud, int rc, const char *errmsg); /* OP_VALIDATE */
    void *ud;
} ha_op_t;

typedef struct ha_req {
    char *key;
    char *uuid; /* a report about this domain: it counts as busy until applied */
} ha_req_t;

struct drv_ha {
    drv_agent_t *a;
    drv_virt_t *virt;
    guint idle_id;
    guint safety_id;
    drv_ha_params_t params;
    uint64_t next_op;
    GHashTable *ops;      /* op id -> ha_op_t */
    GHashTable *busy;     /* uuid -> count of ops and reports in flight */
    GHashTable *cmd_keys; /* key -> 1: commands submitted and not yet done */
    GHashTable *reqs;     /* req id -> ha_req_t */
    GHashTable *migrate_failed; /* "uuid@generation": fall back to stop + start */
};

static void op_free(gpointer p)
{
    ha_op_t *op = p;

    g_free(op->uuid);
    g_free(op->name);
    g_free(op->fail_key);
    g_free(op);
}

static void req_free(gpointer p)
{
    ha_req_t *r = p;

    g_free(r->key);
    g_free(r->uuid);
    g_free(r);
}

static void busy_add(drv_ha_t *ha, const char *uuid, int delta)
{
    int n = GPOINTER_TO_INT(g_hash_table_lookup(ha->busy, uuid)) + delta;

    if (n <= 0) {
        g_hash_table_remove(ha->busy, uuid);
    } else {
        g_hash_table_insert(ha->busy, g_strdup(uuid), GINT_TO_POINTER(n));
    }
}

static bool busy_fn(void *ud, const char *uuid)
{
    drv_ha_t *ha = ud;

    return g_hash_table_contains(ha->busy, uuid);
}

static bool running_fn(void *ud, const char *uuid)
{
    drv_ha_t *ha = ud;
    const drv_dom_t *d = drv_virt_lookup(ha->virt, uuid);

    /* a paused domain is still a copy of the VM: never start another one elsewhere */
    return d != NULL && (d->state == DRV_DOM_RUNNING || d->state == DRV_DOM_PAUSED);
}

static const char *local_name(drv_ha_t *ha)
{
    const drv_cs_info_t *info = drv_cs_info(ha->a->cs);

    return info->local_nodeid ? drv_cs_node_name(ha->a->cs, info->local_nodeid) : NULL;
}

static const drv_resource_t *res_by_uuid(drv_ha_t *ha, const char *uuid)
{
    const drv_state_t *st = ha->a->cluster ? drv_cluster_state(ha->a->cluster) : NULL;
    GHashTableIter it;
    gpointer v;

    if (st == NULL) {
        return NULL;
    }
    g_hash_table_iter_init(&it, st->resources);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const drv_resource_t *r = v;

        if (g_ascii_strcasecmp(r->uuid, uuid) == 0) {
            return r;
        }
    }
    return NULL;
}

/* Submit a command unless the same one is still in flight. */
static void submit(drv_ha_t *ha, drv_cmd_type_t type, const char *name, const char *value,
                   const char *value2, uint8_t obs, uint64_t gen, const char *uuid)
{
    drv_cmd_t cmd = {.type = type, .name = name, .value = value, .value2 = value2, .obs = obs,
                     .gen = gen};
    g_autofree char *key = g_strdup_printf("%d|%s|%s|%s|%u|%" PRIu64, (int)type, name,
                                           value ? value : "", value2 ? value2 : "", obs, gen);
    uint64_t req = 0;
    ha_req_t *hr;
    int rc;

    if (g_hash_table_contains(ha->cmd_keys, key)) {
        return;
    }
    if (type == DRV_CMD_RES_REPORT) {
        cmd.ts = (uint64_t)(g_get_real_time() / 1000);
    }
    rc = drv_cluster_submit(ha->a->cluster, &cmd, drv_agent_now_ms(),
                            ha->a->cfg.request_timeout_ms, &req);
    if (rc != DRV_OK) {
        qb_log(LOG_INFO, "HA: cannot submit a change for %s now: %s", name, drv_strerror(rc));
        return;
    }
    hr = g_new0(ha_req_t, 1);
    hr->key = g_steal_pointer(&key);
    hr->uuid = g_strdup(uuid);
    g_hash_table_add(ha->cmd_keys, g_strdup(hr->key));
    if (uuid) {
        busy_add(ha, uuid, 1);
    }
    g_hash_table_insert(ha->reqs, g_memdup2(&req, sizeof(req)), hr);
}

bool drv_ha_request_done(drv_ha_t *ha, uint64_t req_id, int rc)
{
    ha_req_t *hr = ha ? g_hash_table_lookup(ha->reqs, &req_id) : NULL;

    if (hr == NULL) {
        return false;
    }
    if (rc != DRV_OK) {
        qb_log(LOG_INFO, "HA: change %s not applied: %s", hr->key, drv_strerror(rc));
    }
    g_hash_table_remove(ha->cmd_keys, hr->key);
    if (hr->uuid) {
        busy_add(ha, hr->uuid, -1);
    }
    g_hash_table_remove(ha->reqs, &req_id);
    drv_ha_kick(ha);
    return true;
}

static void report_failure(drv_ha_t *ha, const drv_resource_t *r, const char *why)
{
    const char *me = local_name(ha);

    if (me == NULL) {
        return;
    }
    qb_log(LOG_WARNING, "HA: resource %s failed here: %s", r->name, why);
    submit(ha, DRV_CMD_RES_REPORT, r->name, me, why, DRV_OBS_FAILED, r->gen, r->uuid);
}

static uint64_t start_op(drv_ha_t *ha, op_kind_t kind, const char *uuid, const char *name)
{
    ha_op_t *op = g_new0(ha_op_t, 1);
    uint64_t id = ++ha->next_op;

    op->kind = kind;
    op->uuid = g_strdup(uuid);
    op->name = g_strdup(name);
    g_hash_table_insert(ha->ops, g_memdup2(&id, sizeof(id)), op);
    if (uuid) {
        busy_add(ha, uuid, 1);
    }
    return id;
}

static void drop_op(drv_ha_t *ha, uint64_t id)
{
    ha_op_t *op = g_hash_table_lookup(ha->ops, &id);

    if (op && op->uuid) {
        busy_add(ha, op->uuid, -1);
    }
    g_hash_table_remove(ha->ops, &id);
}

/* The address of NODE from corosync's nodelist (ring0_addr), or NULL. */
static const char *node_addr(drv_ha_t *ha, const char *node)
{
    const drv_nodeinfo_t *n = drv_cs_node_by_name(ha->a->cs, node);

    return n ? n->addr : NULL;
}

/* TEMPLATE with its one "%s" (checked when the config was read) replaced by ADDR. */
static char *fill_template(const char *template, const char *addr)
{
    const char *p = strstr(template, "%s");

    if (p == NULL) {
        return g_strdup(template);
    }
    return g_strdup_printf("%.*s%s%s", (int)(p - template), template, addr, p + 2);
}

static bool can_migrate_fn(void *ud, const drv_resource_t *r, const char *target)
{
    drv_ha_t *ha = ud;
    const drv_nodeinfo_t *n = drv_cs_node_by_name(ha->a->cs, target);
    g_autofree char *key = g_strdup_printf("%s@%" PRIu64, r->uuid, r->gen);
    drv_cluster_view_t v;
    bool member = false;

    if (n == NULL || n->addr == NULL || ha->a->cfg.migration_uri == NULL
        || g_hash_table_contains(ha->migrate_failed, key)) {
        return false;
    }
    drv_cluster_get_view(ha->a->cluster, &v);
    for (size_t i = 0; i < v.n_members; i++) {
        member = member || v.members[i].nodeid == n->id;
    }
    return member;
}

static void run_local_action(drv_ha_t *ha, const drv_ha_local_action_t *act)
{
    const drv_resource_t *r = act->res;
    uint64_t id;
    int rc;

    if (act->act == DRV_HA_MIGRATE) {
        const char *addr = node_addr(ha, act->target);
        g_autofree char *dest = fill_template(ha->a->cfg.migration_uri, addr);
        g_autofree char *stream = ha->a->cfg.migration_transport
                                      ? fill_template(ha->a->cfg.migration_transport, addr)
                                      : NULL;
        ha_op_t *op;

        qb_log(LOG_NOTICE, "HA: live-migrating %s (domain %s) to %s (%s)", r->name, r->domain,
               act->target, dest);
        id = start_op(ha, OP_MIGRATE, r->uuid, r->name);
        op = g_hash_table_lookup(ha->ops, &id);
        op->fail_key = g_strdup_printf("%s@%" PRIu64, r->uuid, r->gen);
        rc = drv_virt_migrate(ha->virt, id, r->uuid, dest, stream);
        if (rc != 0) {
            qb_log(LOG_WARNING, "HA: cannot migrate %s now: %s", r->name, drv_strerror(rc));
            g_hash_table_add(ha->migrate_failed, g_strdup(op->fail_key));
            drop_op(ha, id);
        }
        return;
    }
    if (act->act == DRV_HA_START) {
        qb_log(LOG_NOTICE, "HA: starting %s (domain %s) here", r->name, r->domain);
        id = start_op(ha, OP_START, r->uuid, r->name);
        rc = drv_virt_start(ha->virt, id, r->xml);
    } else {
        qb_log(LOG_NOTICE, "HA: stopping %s (domain %s) here", r->name, r->domain);
        id = start_op(ha, OP_STOP, r->uuid, r->name);
        rc = drv_virt_stop(ha->virt, id, r->uuid, ha->a->cfg.stop_grace_ms);
    }
    if (rc != 0) {
        qb_log(LOG_WARNING, "HA: cannot %s %s now: %s", act->act == DRV_HA_START ? "start" : "stop",
               r->name, drv_strerror(rc));
        drop_op(ha, id);
    }
}

static void publish_capacity(drv_ha_t *ha, const drv_state_t *st, const char *me)
{
    g_autofree char *key = g_strdup_printf("capacity/%s", me);
    g_autofree char *val = NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    guint cpu = ha->a->cfg.cpu ? ha->a->cfg.cpu : (guint)(4 * (ncpu > 0 ? ncpu : 1));
    uint64_t mem = ha->a->cfg.memory_mib ? ha->a->cfg.memory_mib
                                         : (uint64_t)pages * (uint64_t)psize / (1024 * 1024);

    val = g_strdup_printf("%u %" PRIu64, cpu, mem);
    if (g_strcmp0(g_hash_table_lookup(st->settings, key), val) != 0) {
        submit(ha, DRV_CMD_SETTING_SET, key, val, NULL, 0, 0, NULL);
    }
}

static bool is_member(const drv_cluster_view_t *v, uint32_t id)
{
    for (size_t i = 0; i < v->n_members; i++) {
        if (v->members[i].nodeid == id) {
            return true;
        }
    }
    return false;
}

static void coordinate(drv_ha_t *ha, const drv_state_t *st, const drv_cluster_view_t *v)
{
    const drv_cs_info_t *info = drv_cs_info(ha->a->cs);
    g_autofree drv_ha_node_t *nodes = g_new0(drv_ha_node_t, info->nodes->len + 1);
    g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func(drv_ha_cmd_free);

    for (guint i = 0; i < info->nodes->len; i++) {
        const drv_nodeinfo_t *n = g_ptr_array_index(info->nodes, i);
        g_autofree char *key = g_strdup_printf("capacity/%s", n->name);
        const char *cap = g_hash_table_lookup(st->settings, key);
        unsigned long long cpu = 0, mem = 0;

        nodes[i].name = n->name;
        nodes[i].member = is_member(v, n->id);
        if (cap == NULL || sscanf(cap, "%llu %llu", &cpu, &mem) != 2) {
            cpu = mem = 0; /* not published yet: nothing is placed there */
        }
        nodes[i].cpu = (int64_t)cpu;
        nodes[i].memory_mib = (int64_t)mem;
    }
    drv_ha_coordinate(st, nodes, info->nodes->len, &ha->params, cmds);
    for (guint i = 0; i < cmds->len; i++) {
        const drv_ha_cmd_t *c = cmds->pdata[i];

        submit(ha, c->type, c->name, c->value, c->value2, c->obs, c->gen, NULL);
    }
}

/* A managed domain left behind in another state (crashed and preserved: its QEMU may still
 * hold the VM's memory and disks) is destroyed, so that the VM can run again, here or
 * elsewhere. */
static void collect_leftover(void *ud, const drv_dom_t *dom)
{
    GPtrArray *out = ud;

    if (dom->state == DRV_DOM_OTHER) {
        g_ptr_array_add(out, g_strdup(dom->uuid));
    }
}

static void destroy_leftovers(drv_ha_t *ha)
{
    g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func(g_free);

    drv_virt_foreach(ha->virt, collect_leftover, uuids);
    for (guint i = 0; i < uuids->len; i++) {
        const char *uuid = uuids->pdata[i];
        const drv_resource_t *r = res_by_uuid(ha, uuid);
        uint64_t id;

        if (r == NULL || busy_fn(ha, uuid)) {
            continue;
        }
        qb_log(LOG_WARNING, "HA: %s (domain %s) is left in a crashed state here: destroying it",
               r->name, r->domain);
        id = start_op(ha, OP_STOP, uuid, r->name);
        if (drv_virt_stop(ha->virt, id, uuid, 0) != 0) {
            drop_op(ha, id);
        }
    }
}

static gboolean evaluate(gpointer ud)
{
    drv_ha_t *ha = ud;
    drv_agent_t *a = ha->a;
    drv_cluster_view_t v;
    const drv_state_t *st;
    const char *me;

    ha->idle_id = 0;
    if (a->cluster == NULL || a->shutting_down) {
        return G_SOURCE_REMOVE;
    }
    drv_cluster_get_view(a->cluster, &v);
    me = local_name(ha);
    if (v.phase != DRV_PHASE_ACTIVE || !v.quorate || me == NULL) {
        return G_SOURCE_REMOVE;
    }
    st = drv_cluster_state(a->cluster);
    ha->params.now_wall_ms = (uint64_t)(g_get_real_time() / 1000);
    ha->params.max_failures = (uint32_t)drv_prop_int(st, DRV_PROP_FAILURE_THRESHOLD);
    ha->params.failure_window_ms = (uint64_t)drv_prop_int(st, DRV_PROP_FAILURE_WINDOW) * 1000;
    publish_capacity(ha, st, me);
    if (v.coordinator == drv_cs_info(a->cs)->local_nodeid) {
        coordinate(ha, st, &v);
    }
    if (drv_virt_table_valid(ha->virt)) {
        g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func(drv_ha_cmd_free);
        g_autoptr(GPtrArray) acts = g_ptr_array_new_with_free_func(g_free);

        destroy_leftovers(ha);
        drv_ha_local(st, me, &ha->params, running_fn, busy_fn, can_migrate_fn, ha, cmds, acts);
        for (guint i = 0; i < cmds->len; i++) {
            const drv_ha_cmd_t *c = cmds->pdata[i];
            const drv_resource_t *r = g_hash_table_lookup(st->resources, c->name);

            submit(ha, c->type, c->name, c->value, c->value2, c->obs, c->gen, r ? r->uuid : NULL);
        }
        for (guint i = 0; i < acts->len; i++) {
            run_local_action(ha, acts->pdata[i]);
        }
    }
    return G_SOURCE_REMOVE;
}

void drv_ha_kick(drv_ha_t *ha)
{
    if (ha != NULL && ha->idle_id == 0) {
        ha->idle_id = g_idle_add(evaluate, ha);
    }
}

static gboolean safety_cb(gpointer ud)
{
    drv_ha_kick(ud);
    return G_SOURCE_CONTINUE;
}

/* ---- driver callbacks ---- */

static void cb_conn_changed(void *ud, bool connected)
{
    drv_ha_t *ha = ud;

    if (connected) {
        qb_log(LOG_NOTICE, "HA: libvirt connected (%s)", ha->a->cfg.libvirt_uri);
    } else {
        qb_log(LOG_WARNING, "HA: libvirt unreachable (%s): local VMs are left as they are and "
                            "not reported until it is back", ha->a->cfg.libvirt_uri);
    }
    drv_ha_kick(ha);
}

static void cb_dom_changed(void *ud, const drv_dom_t *dom, bool by_us, const char *reason)
{
    drv_ha_t *ha = ud;
    const drv_resource_t *r = res_by_uuid(ha, dom->uuid);
    const char *me = local_name(ha);

    qb_log(by_us ? LOG_INFO : LOG_NOTICE, "HA: domain %s (%s) is %s: %s%s", dom->name, dom->uuid,
           drv_dom_state_str(dom->state), reason, by_us ? "" : " (not by Drover)");
    if (r != NULL && me != NULL && !by_us && dom->state != DRV_DOM_RUNNING
        && dom->state != DRV_DOM_PAUSED) {
        const drv_res_node_t *n = g_hash_table_lookup(r->nodes, me);

        if (n && n->obs == DRV_OBS_RUNNING) {
            g_autofree char *why = g_strdup_printf("stopped behind Drover's back: %s", reason);

            report_failure(ha, r, why);
        }
    }
    drv_ha_kick(ha);
}

static void cb_op_done(void *ud, uint64_t op_id, int rc, const char *errmsg)
{
    drv_ha_t *ha = ud;
    ha_op_t *op = g_hash_table_lookup(ha->ops, &op_id);
    g_autofree char *uuid = NULL;
    g_autofree char *name = NULL;
    op_kind_t kind;

    if (op == NULL) {
        return;
    }
    kind = op->kind;
    uuid = g_strdup(op->uuid);
    name = g_strdup(op->name);
    if (kind == OP_VALIDATE) {
        op->done(op->ud, rc, errmsg);
        drop_op(ha, op_id);
        return;
    }
    if (kind == OP_MIGRATE) {
        if (rc != 0) {
            /* libvirt rolled back: it still runs here; the next pass moves it cold */
            qb_log(LOG_ERR, "HA: live migration of %s failed: %s; falling back to stop + start",
                   name, errmsg ? errmsg : drv_strerror(rc));
            g_hash_table_add(ha->migrate_failed, g_strdup(op->fail_key));
        } else {
            qb_log(LOG_NOTICE, "HA: %s live-migrated away from here", name);
        }
        drop_op(ha, op_id);
        drv_ha_kick(ha);
        return;
    }
    drop_op(ha, op_id);
    if (rc != 0) {
        const drv_state_t *st = ha->a->cluster ? drv_cluster_state(ha->a->cluster) : NULL;
        const drv_resource_t *r = st ? g_hash_table_lookup(st->resources, name) : NULL;

        qb_log(LOG_ERR, "HA: %s of %s failed: %s", kind == OP_START ? "start" : "stop", name,
               errmsg ? errmsg : drv_strerror(rc));
        if (r != NULL && kind == OP_START && (rc == DRV_ERR_NOT_CONNECTED || rc == DRV_ERR_EXISTS)) {
            /* libvirtd went away mid-start, or the domain already runs here: not the VM's
             * failure; the reconcile after (re)connecting says what really runs */
            drv_virt_reconcile_now(ha->virt);
        } else if (r != NULL && kind == OP_START) {
            g_autofree char *why = g_strdup_printf("start failed: %s", errmsg ? errmsg : "error");

            report_failure(ha, r, why);
        }
    } else {
        qb_log(LOG_NOTICE, "HA: %s %s here", name, kind == OP_START ? "started" : "stopped");
    }
    drv_ha_kick(ha);
}

static void cb_reconciled(void *ud)
{
    drv_ha_kick(ud);
}

static const drv_virt_cb_t virt_cb = {cb_conn_changed, cb_dom_changed, cb_op_done,
                                      cb_reconciled};

int drv_ha_validate_xml(drv_ha_t *ha, const char *xml,
                        void (*done)(void *ud, int rc, const char *errmsg), void *ud)
{
    uint64_t id = start_op(ha, OP_VALIDATE, NULL, NULL);
    ha_op_t *op = g_hash_table_lookup(ha->ops, &id);
    int rc;

    op->done = done;
    op->ud = ud;
    rc = drv_virt_validate(ha->virt, id, xml);
    if (rc != 0) {
        drop_op(ha, id);
    }
    return rc;
}

drv_ha_t *drv_ha_new(drv_agent_t *a)
{
    drv_ha_t *ha = g_new0(drv_ha_t, 1);

    ha->a = a;
    ha->params.max_failures = DRV_MAX_FAILURES;
    ha->params.failure_window_ms = DRV_FAILURE_WINDOW_MS;
    ha->ops = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, op_free);
    ha->busy = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ha->cmd_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ha->reqs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, req_free);
    ha->migrate_failed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    ha->virt = drv_virt_new(a->cfg.libvirt_uri, &drv_virt_libvirt_backend, NULL, &virt_cb, ha);
    ha->safety_id = g_timeout_add(HA_SAFETY_MS, safety_cb, ha);
    return ha;
}

void drv_ha_free(drv_ha_t *ha)
{
    if (ha == NULL) {
        return;
    }
    if (ha->idle_id) {
        g_source_remove(ha->idle_id);
    }
    if (ha->safety_id) {
        g_source_remove(ha->safety_id);
    }
    drv_virt_free(ha->virt);
    /* validations still waiting: their owners free what they hold when told */
    {
        GHashTableIter it;
        gpointer v;

        g_hash_table_iter_init(&it, ha->ops);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
            ha_op_t *op = v;

            if (op->kind == OP_VALIDATE && op->done) {
                op->done(op->ud, DRV_ERR_NOT_CONNECTED, "droverd is stopping");
            }
        }
    }
    g_hash_table_destroy(ha->ops);
    g_hash_table_destroy(ha->busy);
    g_hash_table_destroy(ha->cmd_keys);
    g_hash_table_destroy(ha->reqs);
    g_hash_table_destroy(ha->migrate_failed);
    g_free(ha);
}
