/* HA resource management glue: the node runtime (ha/runtime.c) on top of the cluster core,
 * corosync's nodelist, this host's libvirt driver (which keeps every blocking libvirt call off
 * the main loop) and GLib timers. Everything that decides lives in ha/; this file only
 * translates.
 *
 * Evaluation is coalesced: any change (state applied, membership, hypervisor event, an
 * operation finishing) schedules one idle pass; a 2 s timer is the safety net. */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "agent.h"
#include "drv_ha_runtime.h"
#include "fence.h"
#include "ha.h"
#include "virt.h"

#define HA_SAFETY_MS 2000
/* XML validations share the driver's op ids with the runtime's operations: this bit tells
 * them apart. */
#define HA_VALIDATE_BIT (UINT64_C(1) << 63)

typedef struct ha_validate {
    void (*done)(void *ud, int rc, const char *errmsg);
    void *ud;
} ha_validate_t;

struct drv_ha {
    drv_agent_t *a;
    drv_virt_t *virt;
    drv_ha_rt_t *rt;
    guint idle_id;
    guint safety_id;
    uint64_t next_validate;
    GHashTable *validations; /* op id -> ha_validate_t */
    bool had_quorum;         /* votequorum said quorate at least once since droverd started */
};

/* ---- the runtime's ops on top of droverd ---- */

static int op_submit(void *ud, const drv_cmd_t *cmd, uint64_t timeout_ms, uint64_t *req_id)
{
    drv_ha_t *ha = ud;

    if (ha->a->cluster == NULL) {
        return DRV_ERR_NOT_CONNECTED;
    }
    return drv_cluster_submit(ha->a->cluster, cmd, drv_agent_now_ms(), timeout_ms, req_id);
}

static const drv_state_t *op_state(void *ud)
{
    drv_ha_t *ha = ud;

    return ha->a->cluster ? drv_cluster_state(ha->a->cluster) : NULL;
}

static const char *local_name(drv_ha_t *ha)
{
    const drv_cs_info_t *info = drv_cs_info(ha->a->cs);

    return info->local_nodeid ? drv_cs_node_name(ha->a->cs, info->local_nodeid) : NULL;
}

static void op_view(void *ud, drv_ha_rt_view_t *out)
{
    drv_ha_t *ha = ud;
    drv_cluster_view_t v;

    const drv_cs_info_t *info = drv_cs_info(ha->a->cs);
    bool quorate_now = info->connected && info->vq_quorate;

    memset(out, 0, sizeof(*out));
    /* quorum lost: votequorum says no, or corosync is gone; not before we ever had it (a
     * daemon starting in a minority leaves what runs alone: the majority fences this node) */
    ha->had_quorum = ha->had_quorum || quorate_now;
    out->lost_quorum = ha->had_quorum && !quorate_now;
    if (ha->a->cluster == NULL) {
        return;
    }
    drv_cluster_get_view(ha->a->cluster, &v);
    out->active = v.phase == DRV_PHASE_ACTIVE;
    out->quorate = v.quorate;
    out->coordinator = v.coordinator != 0 && v.coordinator == drv_cs_info(ha->a->cs)->local_nodeid;
    out->me = local_name(ha);
    out->confirmed_seq = v.confirmed_seq;
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

static void op_nodes(void *ud, GArray *out)
{
    drv_ha_t *ha = ud;
    const drv_cs_info_t *info = drv_cs_info(ha->a->cs);
    drv_cluster_view_t v = {0};

    if (ha->a->cluster != NULL) {
        drv_cluster_get_view(ha->a->cluster, &v);
    }
    for (guint i = 0; i < info->nodes->len; i++) {
        const drv_nodeinfo_t *n = g_ptr_array_index(info->nodes, i);
        drv_ha_rt_node_t rn = {n->name, n->addr, is_member(&v, n->id)};

        g_array_append_val(out, rn);
    }
}

static bool op_table_valid(void *ud)
{
    return drv_virt_table_valid(((drv_ha_t *)ud)->virt);
}

static bool op_lookup(void *ud, const char *uuid, drv_ha_dom_state_t *state)
{
    const drv_dom_t *d = drv_virt_lookup(((drv_ha_t *)ud)->virt, uuid);

    if (d == NULL) {
        return false;
    }
    *state = (drv_ha_dom_state_t)d->state;
    return true;
}

typedef struct foreach_ctx {
    void (*fn)(void *fud, const char *uuid, drv_ha_dom_state_t state);
    void *fud;
} foreach_ctx_t;

static void foreach_one(void *ud, const drv_dom_t *dom)
{
    foreach_ctx_t *fc = ud;

    fc->fn(fc->fud, dom->uuid, (drv_ha_dom_state_t)dom->state);
}

static void op_foreach(void *ud, void (*fn)(void *fud, const char *uuid, drv_ha_dom_state_t state),
                       void *fud)
{
    foreach_ctx_t fc = {fn, fud};

    drv_virt_foreach(((drv_ha_t *)ud)->virt, foreach_one, &fc);
}

static int op_start(void *ud, uint64_t op_id, const char *xml)
{
    return drv_virt_start(((drv_ha_t *)ud)->virt, op_id, xml);
}

static int op_stop(void *ud, uint64_t op_id, const char *uuid, unsigned grace_ms)
{
    return drv_virt_stop(((drv_ha_t *)ud)->virt, op_id, uuid, grace_ms);
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

static int op_migrate(void *ud, uint64_t op_id, const char *uuid, const char *target)
{
    drv_ha_t *ha = ud;
    const drv_nodeinfo_t *n = drv_cs_node_by_name(ha->a->cs, target);
    g_autofree char *dest = NULL;
    g_autofree char *stream = NULL;

    if (n == NULL || n->addr == NULL || ha->a->cfg.migration_uri == NULL) {
        return DRV_ERR_BAD_ARGS;
    }
    dest = fill_template(ha->a->cfg.migration_uri, n->addr);
    stream = ha->a->cfg.migration_transport ? fill_template(ha->a->cfg.migration_transport, n->addr)
                                            : NULL;
    qb_log(LOG_INFO, "HA: migration of %s to %s goes to %s", uuid, target, dest);
    return drv_virt_migrate(ha->virt, op_id, uuid, dest, stream);
}

static void op_reconcile_now(void *ud)
{
    drv_virt_reconcile_now(((drv_ha_t *)ud)->virt);
}

static uint64_t op_now_ms(void *ud)
{
    (void)ud;
    return drv_agent_now_ms();
}

static uint64_t op_wall_ms(void *ud)
{
    (void)ud;
    return (uint64_t)(g_get_real_time() / 1000);
}

static bool op_migrating(void *ud, const char *uuid)
{
    return drv_virt_migrating(((drv_ha_t *)ud)->virt, uuid);
}

static void op_kick(void *ud)
{
    drv_ha_kick(ud);
}

static int op_fence(void *ud, uint64_t fence_id, const char *target, const char *action)
{
    drv_ha_t *ha = ud;
    const drv_state_t *st = op_state(ha);

    if (st == NULL || ha->a->fence == NULL) {
        return DRV_ERR_NOT_CONNECTED;
    }
    return drv_afence_start(ha->a->fence, st, fence_id, target, action);
}

static void op_fence_cancel(void *ud, uint64_t fence_id)
{
    drv_ha_t *ha = ud;

    if (ha->a->fence != NULL) {
        drv_afence_cancel(ha->a->fence, fence_id);
    }
}

void drv_ha_fence_done(drv_ha_t *ha, uint64_t id, bool ok, const char *devices, unsigned level,
                       const char *text)
{
    if (ha != NULL) {
        drv_ha_rt_fence_done(ha->rt, id, ok, devices, level, text);
    }
}

int drv_ha_running_vms(drv_ha_t *ha)
{
    return ha != NULL ? drv_ha_rt_running_vms(ha->rt) : -1;
}

static const drv_ha_rt_ops_t rt_ops = {
    .submit = op_submit,
    .state = op_state,
    .view = op_view,
    .nodes = op_nodes,
    .table_valid = op_table_valid,
    .lookup = op_lookup,
    .foreach = op_foreach,
    .start = op_start,
    .stop = op_stop,
    .migrate = op_migrate,
    .reconcile_now = op_reconcile_now,
    .migrating = op_migrating,
    .now_ms = op_now_ms,
    .wall_ms = op_wall_ms,
    .kick = op_kick,
    .fence = op_fence,
    .fence_cancel = op_fence_cancel,
};

/* ---- evaluation scheduling ---- */

static gboolean evaluate(gpointer ud)
{
    drv_ha_t *ha = ud;

    ha->idle_id = 0;
    if (!ha->a->shutting_down) {
        drv_ha_rt_evaluate(ha->rt);
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

bool drv_ha_request_done(drv_ha_t *ha, uint64_t req_id, int rc)
{
    return ha != NULL && drv_ha_rt_request_done(ha->rt, req_id, rc);
}

/* ---- driver callbacks ---- */

static void cb_conn_changed(void *ud, bool connected)
{
    drv_ha_t *ha = ud;

    if (connected) {
        qb_log(LOG_NOTICE, "HA: libvirt connected (%s)", ha->a->cfg.libvirt_uri);
    } else {
        qb_log(LOG_WARNING,
               "HA: libvirt unreachable (%s): local VMs are left as they are and "
               "not reported until it is back",
               ha->a->cfg.libvirt_uri);
    }
    drv_ha_kick(ha);
}

static void cb_dom_changed(void *ud, const drv_dom_t *dom, bool by_us, const char *reason)
{
    drv_ha_t *ha = ud;

    drv_ha_rt_dom_changed(ha->rt, dom->uuid, dom->name, (drv_ha_dom_state_t)dom->state, by_us,
                          reason);
}

static void cb_op_done(void *ud, uint64_t op_id, int rc, const char *errmsg)
{
    drv_ha_t *ha = ud;
    ha_validate_t *val;

    if ((op_id & HA_VALIDATE_BIT) == 0) {
        drv_ha_rt_op_done(ha->rt, op_id, rc, errmsg);
        return;
    }
    val = g_hash_table_lookup(ha->validations, &op_id);
    if (val != NULL) {
        val->done(val->ud, rc, errmsg);
        g_hash_table_remove(ha->validations, &op_id);
    }
}

static void cb_reconciled(void *ud)
{
    drv_ha_t *ha = ud;

    drv_ha_rt_reconciled(ha->rt);
    drv_ha_kick(ha);
}

static const drv_virt_cb_t virt_cb = {cb_conn_changed, cb_dom_changed, cb_op_done, cb_reconciled};

int drv_ha_validate_xml(drv_ha_t *ha, const char *xml,
                        void (*done)(void *ud, int rc, const char *errmsg), void *ud)
{
    uint64_t id = ++ha->next_validate | HA_VALIDATE_BIT;
    ha_validate_t *val = g_new0(ha_validate_t, 1);
    int rc;

    val->done = done;
    val->ud = ud;
    g_hash_table_insert(ha->validations, g_memdup2(&id, sizeof(id)), val);
    rc = drv_virt_validate(ha->virt, id, xml);
    if (rc != 0) {
        g_hash_table_remove(ha->validations, &id);
    }
    return rc;
}

drv_ha_t *drv_ha_new(drv_agent_t *a)
{
    drv_ha_t *ha = g_new0(drv_ha_t, 1);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    drv_ha_rt_config_t cfg = {
        .cpu = a->cfg.cpu ? a->cfg.cpu : (uint32_t)(4 * (ncpu > 0 ? ncpu : 1)),
        .memory_mib = a->cfg.memory_mib ? a->cfg.memory_mib
                                        : (uint64_t)pages * (uint64_t)psize / (1024 * 1024),
        .stop_grace_ms = a->cfg.stop_grace_ms,
        .request_timeout_ms = a->cfg.request_timeout_ms,
        .migration = a->cfg.migration_uri != NULL,
        .watchdog_ms = drv_afence_watchdog_ms(a->fence),
    };

    ha->a = a;
    ha->validations = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    ha->rt = drv_ha_rt_new(&cfg, &rt_ops, ha);
    ha->virt = drv_virt_new(a->cfg.libvirt_uri, &drv_virt_libvirt_backend, NULL, &virt_cb, ha);
    ha->safety_id = g_timeout_add(HA_SAFETY_MS, safety_cb, ha);
    return ha;
}

void drv_ha_free(drv_ha_t *ha)
{
    GHashTableIter it;
    gpointer v;

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
    g_hash_table_iter_init(&it, ha->validations);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        ha_validate_t *val = v;

        val->done(val->ud, DRV_ERR_NOT_CONNECTED, "droverd is stopping");
    }
    g_hash_table_destroy(ha->validations);
    drv_ha_rt_free(ha->rt);
    g_free(ha);
}
