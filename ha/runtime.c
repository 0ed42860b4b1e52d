/* The HA node runtime (drv_ha_runtime.h): operations in flight, busy UUIDs, command
 * deduplication, failed-migration memory, capacity publishing, and the evaluation pass around
 * the pure decisions of decide.c. Every side effect goes through the ops table. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "drv_ha.h"
#include "drv_ha_runtime.h"
#include "drv_props.h"

typedef enum { OP_START = 1, OP_STOP, OP_MIGRATE } op_kind_t;

/* After a failed live migration to a node, moves there are stop + start for this long. */
#define MIGRATE_RETRY_MS (10 * 60 * 1000)

typedef struct rt_op {
    op_kind_t kind;
    char *uuid;
    char *name;
    char *fail_key; /* OP_MIGRATE: "uuid>target", remembered when it fails */
    char *mig_key;  /* OP_MIGRATE: "uuid@record generation", remembered when it is over */
} rt_op_t;

typedef struct rt_req {
    char *key;
    char *uuid; /* a report about this domain: it counts as busy until applied */
} rt_req_t;

struct drv_ha_rt {
    const drv_ha_rt_ops_t *ops;
    void *ud;
    drv_ha_rt_config_t cfg;
    drv_ha_params_t params;
    uint64_t next_op;
    GHashTable *inflight;       /* op id -> rt_op_t */
    GHashTable *busy;           /* uuid -> count of ops and reports in flight */
    GHashTable *cmd_keys;       /* key -> 1: commands submitted and not yet done */
    GHashTable *reqs;           /* req id -> rt_req_t */
    GHashTable *migrate_failed; /* "uuid>target" -> monotonic ms of the failure */
    GHashTable *mig_attempted;  /* "uuid@record generation": our libvirt migration of that
                                   record is over; the next pass ends the record */
    GHashTable *await_list;     /* uuid: a migration of it failed; busy until the next full
                                   list pass says where it really is */
    GHashTable *absent_since;   /* node -> monotonic ms since which its daemon is out of the
                                   round, as this node saw it while quorate */
    GHashTable *fences;         /* target -> rt_fence_t: fencings this node executes */
    uint64_t next_fence;
    bool no_quorum; /* the no-quorum policy is being applied */
};

/* A fencing this node executes for the operation OP (the state's node_fence[target].op). */
typedef struct rt_fence {
    char *target;
    uint64_t op;
    uint64_t fence_id; /* of the run in flight, 0: none */
    bool succeeded;    /* no new round: its result is submitted again until applied */
    char *device;      /* the successful result */
    unsigned level;
    char *text;
    uint32_t failures;
    uint64_t next_try_ms;
} rt_fence_t;

static void fence_free(gpointer p)
{
    rt_fence_t *f = p;

    g_free(f->target);
    g_free(f->device);
    g_free(f->text);
    g_free(f);
}

static void op_free(gpointer p)
{
    rt_op_t *op = p;

    g_free(op->uuid);
    g_free(op->name);
    g_free(op->fail_key);
    g_free(op->mig_key);
    g_free(op);
}

static void req_free(gpointer p)
{
    rt_req_t *r = p;

    g_free(r->key);
    g_free(r->uuid);
    g_free(r);
}

static const char *dom_state_str(drv_ha_dom_state_t s)
{
    switch (s) {
    case DRV_HA_DOM_STOPPED:
        return "stopped";
    case DRV_HA_DOM_RUNNING:
        return "running";
    case DRV_HA_DOM_PAUSED:
        return "paused";
    default:
        return "other";
    }
}

static void kick(drv_ha_rt_t *rt)
{
    if (rt->ops->kick) {
        rt->ops->kick(rt->ud);
    }
}

static void busy_add(drv_ha_rt_t *rt, const char *uuid, int delta)
{
    int n = GPOINTER_TO_INT(g_hash_table_lookup(rt->busy, uuid)) + delta;

    if (n <= 0) {
        g_hash_table_remove(rt->busy, uuid);
    } else {
        g_hash_table_insert(rt->busy, g_strdup(uuid), GINT_TO_POINTER(n));
    }
}

bool drv_ha_rt_busy(const drv_ha_rt_t *rt, const char *uuid)
{
    return g_hash_table_contains(rt->busy, uuid) || g_hash_table_contains(rt->await_list, uuid);
}

void drv_ha_rt_reconciled(drv_ha_rt_t *rt)
{
    if (rt != NULL && g_hash_table_size(rt->await_list) > 0) {
        g_hash_table_remove_all(rt->await_list);
        kick(rt);
    }
}

size_t drv_ha_rt_ops_in_flight(const drv_ha_rt_t *rt)
{
    return g_hash_table_size(rt->inflight);
}

/* An op or a report of ours is in flight, or the hypervisor runs a migration job on it (also
 * one a previous daemon started before it restarted): never start, stop or destroy it now. */
static bool busy_fn(void *ud, const char *uuid)
{
    drv_ha_rt_t *rt = ud;

    return drv_ha_rt_busy(rt, uuid) || (rt->ops->migrating && rt->ops->migrating(rt->ud, uuid));
}

static bool running_fn(void *ud, const char *uuid)
{
    drv_ha_rt_t *rt = ud;
    drv_ha_dom_state_t s;

    /* a paused domain is still a copy of the VM: never start another one elsewhere */
    return rt->ops->lookup(rt->ud, uuid, &s) && (s == DRV_HA_DOM_RUNNING || s == DRV_HA_DOM_PAUSED);
}

static const char *local_name(drv_ha_rt_t *rt)
{
    drv_ha_rt_view_t v = {0};

    rt->ops->view(rt->ud, &v);
    return v.me;
}

static const drv_resource_t *res_by_uuid(drv_ha_rt_t *rt, const char *uuid)
{
    const drv_state_t *st = rt->ops->state(rt->ud);
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
static void submit(drv_ha_rt_t *rt, drv_cmd_type_t type, const char *name, const char *value,
                   const char *value2, uint8_t obs, bool flag, uint64_t gen, const char *uuid)
{
    drv_cmd_t cmd = {.type = type,
                     .name = name,
                     .value = value,
                     .value2 = value2,
                     .obs = obs,
                     .flag = flag,
                     .gen = gen};
    g_autofree char *key =
        g_strdup_printf("%d|%s|%s|%s|%u|%d|%" PRIu64, (int)type, name, value ? value : "",
                        value2 ? value2 : "", obs, flag, gen);
    uint64_t req = 0;
    rt_req_t *hr;
    int rc;

    if (g_hash_table_contains(rt->cmd_keys, key)) {
        return;
    }
    if (type == DRV_CMD_RES_REPORT) {
        cmd.ts = rt->ops->now_ms(rt->ud); /* monotonic: failure windows never compare clocks */
    } else if (type >= DRV_CMD_FENCE_DEV_ADD && rt->ops->wall_ms) {
        cmd.ts = rt->ops->wall_ms(rt->ud); /* the fence history's time, for people */
    }
    rc = rt->ops->submit(rt->ud, &cmd, rt->cfg.request_timeout_ms, &req);
    if (rc != DRV_OK) {
        qb_log(LOG_INFO, "HA: cannot submit a change for %s now: %s", name, drv_strerror(rc));
        return;
    }
    hr = g_new0(rt_req_t, 1);
    hr->key = g_steal_pointer(&key);
    hr->uuid = g_strdup(uuid);
    g_hash_table_add(rt->cmd_keys, g_strdup(hr->key));
    if (uuid) {
        busy_add(rt, uuid, 1);
    }
    g_hash_table_insert(rt->reqs, g_memdup2(&req, sizeof(req)), hr);
}

bool drv_ha_rt_request_done(drv_ha_rt_t *rt, uint64_t req_id, int rc)
{
    rt_req_t *hr = rt ? g_hash_table_lookup(rt->reqs, &req_id) : NULL;

    if (hr == NULL) {
        return false;
    }
    if (rc != DRV_OK) {
        qb_log(LOG_INFO, "HA: change %s not applied: %s", hr->key, drv_strerror(rc));
    }
    g_hash_table_remove(rt->cmd_keys, hr->key);
    if (hr->uuid) {
        busy_add(rt, hr->uuid, -1);
    }
    g_hash_table_remove(rt->reqs, &req_id);
    kick(rt);
    return true;
}

static void report_failure(drv_ha_rt_t *rt, const drv_resource_t *r, const char *why)
{
    const char *me = local_name(rt);

    if (me == NULL) {
        return;
    }
    qb_log(LOG_WARNING, "HA: resource %s failed here: %s", r->name, why);
    submit(rt, DRV_CMD_RES_REPORT, r->name, me, why, DRV_OBS_FAILED, false, r->gen, r->uuid);
}

static uint64_t start_op(drv_ha_rt_t *rt, op_kind_t kind, const char *uuid, const char *name)
{
    rt_op_t *op = g_new0(rt_op_t, 1);
    uint64_t id = ++rt->next_op;

    op->kind = kind;
    op->uuid = g_strdup(uuid);
    op->name = g_strdup(name);
    g_hash_table_insert(rt->inflight, g_memdup2(&id, sizeof(id)), op);
    busy_add(rt, uuid, 1);
    return id;
}

static void drop_op(drv_ha_rt_t *rt, uint64_t id)
{
    rt_op_t *op = g_hash_table_lookup(rt->inflight, &id);

    if (op) {
        busy_add(rt, op->uuid, -1);
    }
    g_hash_table_remove(rt->inflight, &id);
}

typedef struct ctx {
    drv_ha_rt_t *rt;
    GArray *nodes; /* drv_ha_rt_node_t */
} ctx_t;

static const drv_ha_rt_node_t *find_node(GArray *nodes, const char *name)
{
    for (guint i = 0; i < nodes->len; i++) {
        const drv_ha_rt_node_t *n = &g_array_index(nodes, drv_ha_rt_node_t, i);

        if (g_strcmp0(n->name, name) == 0) {
            return n;
        }
    }
    return NULL;
}

static bool can_migrate_fn(void *ud, const drv_resource_t *r, const char *target)
{
    ctx_t *cx = ud;
    const drv_ha_rt_node_t *n = find_node(cx->nodes, target);
    g_autofree char *key = g_strdup_printf("%s>%s", r->uuid, target);
    const uint64_t *failed_at = g_hash_table_lookup(cx->rt->migrate_failed, key);

    if (n == NULL || n->addr == NULL || !cx->rt->cfg.migration ||
        (failed_at && cx->rt->ops->now_ms(cx->rt->ud) - *failed_at < MIGRATE_RETRY_MS)) {
        return false;
    }
    return n->member;
}

static bool attempted_fn(void *ud, const drv_resource_t *r)
{
    ctx_t *cx = ud;
    g_autofree char *key = g_strdup_printf("%s@%" PRIu64, r->uuid, r->mig_gen);

    return g_hash_table_contains(cx->rt->mig_attempted, key);
}

/* Our libvirt migration of a record is over (ok or not): the next pass ends the record by
 * what the hypervisor shows. A failure makes the next moves to that node stop + start. */
static void migration_over(drv_ha_rt_t *rt, const rt_op_t *op, bool ok)
{
    uint64_t now = rt->ops->now_ms(rt->ud);

    g_hash_table_add(rt->mig_attempted, g_strdup(op->mig_key));
    if (ok) {
        g_hash_table_remove(rt->migrate_failed, op->fail_key);
    } else {
        g_hash_table_insert(rt->migrate_failed, g_strdup(op->fail_key),
                            g_memdup2(&now, sizeof(now)));
    }
}

static bool ctx_running_fn(void *ud, const char *uuid)
{
    return running_fn(((ctx_t *)ud)->rt, uuid);
}

static bool ctx_busy_fn(void *ud, const char *uuid)
{
    return busy_fn(((ctx_t *)ud)->rt, uuid);
}

static void run_local_action(drv_ha_rt_t *rt, const drv_ha_local_action_t *act)
{
    const drv_resource_t *r = act->res;
    uint64_t id;
    int rc;

    if (act->act == DRV_HA_MIGRATE) {
        rt_op_t *op;

        qb_log(LOG_NOTICE, "HA: live-migrating %s (domain %s) to %s", r->name, r->domain,
               act->target);
        id = start_op(rt, OP_MIGRATE, r->uuid, r->name);
        op = g_hash_table_lookup(rt->inflight, &id);
        op->fail_key = g_strdup_printf("%s>%s", r->uuid, act->target);
        op->mig_key = g_strdup_printf("%s@%" PRIu64, r->uuid, r->mig_gen);
        rc = rt->ops->migrate(rt->ud, id, r->uuid, act->target);
        if (rc != 0) {
            qb_log(LOG_WARNING, "HA: cannot migrate %s now: %s", r->name, drv_strerror(rc));
            migration_over(rt, op, false);
            drop_op(rt, id);
        }
        return;
    }
    if (act->act == DRV_HA_START) {
        qb_log(LOG_NOTICE, "HA: starting %s (domain %s) here", r->name, r->domain);
        id = start_op(rt, OP_START, r->uuid, r->name);
        rc = rt->ops->start(rt->ud, id, r->xml);
    } else {
        qb_log(LOG_NOTICE, "HA: stopping %s (domain %s) here", r->name, r->domain);
        id = start_op(rt, OP_STOP, r->uuid, r->name);
        rc = rt->ops->stop(rt->ud, id, r->uuid, rt->cfg.stop_grace_ms);
    }
    if (rc != 0) {
        qb_log(LOG_WARNING, "HA: cannot %s %s now: %s", act->act == DRV_HA_START ? "start" : "stop",
               r->name, drv_strerror(rc));
        drop_op(rt, id);
    }
}

static void publish_capacity(drv_ha_rt_t *rt, const drv_state_t *st, const char *me)
{
    g_autofree char *key = g_strdup_printf("capacity/%s", me);
    g_autofree char *val = g_strdup_printf("%" PRIu32 " %" PRIu64, rt->cfg.cpu, rt->cfg.memory_mib);
    g_autofree char *wkey = g_strdup_printf("watchdog/%s", me);
    g_autofree char *wval = g_strdup_printf("%" PRIu64, rt->cfg.watchdog_ms);

    if (g_strcmp0(g_hash_table_lookup(st->settings, key), val) != 0) {
        submit(rt, DRV_CMD_SETTING_SET, key, val, NULL, 0, false, 0, NULL);
    }
    /* the watchdog rule: others may take this node as down 2 x this long after it left */
    if (rt->cfg.watchdog_ms > 0 && g_strcmp0(g_hash_table_lookup(st->settings, wkey), wval) != 0) {
        submit(rt, DRV_CMD_SETTING_SET, wkey, wval, NULL, 0, false, 0, NULL);
    } else if (rt->cfg.watchdog_ms == 0 && g_hash_table_contains(st->settings, wkey)) {
        submit(rt, DRV_CMD_SETTING_DEL, wkey, NULL, NULL, 0, false, 0, NULL);
    }
}

/* How long each node's daemon has been out of the round, by this node's clock (0 for
 * members). Measured only while this node is in a quorate round: a gap restarts it. */
static void track_absence(drv_ha_rt_t *rt, GArray *rnodes, uint64_t now)
{
    for (guint i = 0; i < rnodes->len; i++) {
        const drv_ha_rt_node_t *n = &g_array_index(rnodes, drv_ha_rt_node_t, i);

        if (n->member) {
            g_hash_table_remove(rt->absent_since, n->name);
        } else if (!g_hash_table_contains(rt->absent_since, n->name)) {
            g_hash_table_insert(rt->absent_since, g_strdup(n->name), g_memdup2(&now, sizeof(now)));
        }
    }
}

static void coordinate(drv_ha_rt_t *rt, const drv_state_t *st, GArray *rnodes, const char *me)
{
    g_autofree drv_ha_node_t *nodes = g_new0(drv_ha_node_t, rnodes->len + 1);
    g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func(drv_ha_cmd_free);
    uint64_t now = rt->ops->now_ms(rt->ud);

    for (guint i = 0; i < rnodes->len; i++) {
        const drv_ha_rt_node_t *n = &g_array_index(rnodes, drv_ha_rt_node_t, i);
        g_autofree char *key = g_strdup_printf("capacity/%s", n->name);
        g_autofree char *wkey = g_strdup_printf("watchdog/%s", n->name);
        const char *cap = g_hash_table_lookup(st->settings, key);
        const char *wd = g_hash_table_lookup(st->settings, wkey);
        const uint64_t *since = g_hash_table_lookup(rt->absent_since, n->name);
        unsigned long long cpu = 0, mem = 0;

        nodes[i].name = n->name;
        nodes[i].member = n->member;
        if (cap == NULL || sscanf(cap, "%llu %llu", &cpu, &mem) != 2) {
            cpu = mem = 0; /* not published yet: nothing is placed there */
        }
        nodes[i].cpu = (int64_t)cpu;
        nodes[i].memory_mib = (int64_t)mem;
        nodes[i].watchdog_ms = wd ? g_ascii_strtoull(wd, NULL, 10) : 0;
        nodes[i].absent_ms = (!n->member && since && now >= *since) ? now - *since : 0;
    }
    drv_ha_fence_coordinate(st, nodes, rnodes->len, me, drv_prop_bool(st, DRV_PROP_FENCING_ENABLED),
                            cmds);
    drv_ha_coordinate(st, nodes, rnodes->len, &rt->params, cmds);
    for (guint i = 0; i < cmds->len; i++) {
        const drv_ha_cmd_t *c = cmds->pdata[i];

        submit(rt, c->type, c->name, c->value, c->value2, c->obs, c->flag, c->gen, NULL);
    }
}

/* A managed domain left behind in another state (crashed and preserved: its QEMU may still
 * hold the VM's memory and disks) is destroyed, so that the VM can run again, here or
 * elsewhere. */
static void collect_leftover(void *ud, const char *uuid, drv_ha_dom_state_t state)
{
    GPtrArray *out = ud;

    if (state == DRV_HA_DOM_OTHER) {
        g_ptr_array_add(out, g_strdup(uuid));
    }
}

static void destroy_leftovers(drv_ha_rt_t *rt)
{
    g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func(g_free);

    rt->ops->foreach (rt->ud, collect_leftover, uuids);
    for (guint i = 0; i < uuids->len; i++) {
        const char *uuid = uuids->pdata[i];
        const drv_resource_t *r = res_by_uuid(rt, uuid);
        uint64_t id;

        if (r == NULL || busy_fn(rt, uuid)) {
            continue;
        }
        qb_log(LOG_WARNING, "HA: %s (domain %s) is left in a crashed state here: destroying it",
               r->name, r->domain);
        id = start_op(rt, OP_STOP, uuid, r->name);
        if (rt->ops->stop(rt->ud, id, uuid, 0) != 0) {
            drop_op(rt, id);
        }
    }
}

/* Forget the attempts of migration records that have ended (or whose VM is gone). */
static void prune_attempted(drv_ha_rt_t *rt)
{
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, rt->mig_attempted);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        g_autofree char *uuid = g_strdup(k);
        char *at = strchr(uuid, '@');
        const drv_resource_t *r;

        if (at != NULL) {
            *at = '\0';
        }
        r = res_by_uuid(rt, uuid);
        if (r == NULL || r->mig_to == NULL || at == NULL ||
            g_ascii_strtoull(at + 1, NULL, 10) != r->mig_gen) {
            g_hash_table_iter_remove(&it);
        }
    }
}

/* ---- fencing executed here ---- */

static void fence_cancel_run(drv_ha_rt_t *rt, rt_fence_t *f)
{
    if (f->fence_id != 0 && rt->ops->fence_cancel) {
        rt->ops->fence_cancel(rt->ud, f->fence_id);
    }
    f->fence_id = 0;
}

static void fences_cancel_all(drv_ha_rt_t *rt)
{
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, rt->fences);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        fence_cancel_run(rt, v);
        g_hash_table_iter_remove(&it);
    }
}

/* The fencings the state has this node execute: run each (again after a failure, with
 * back-off) until its operation closes; drop those that closed or went to another node. */
static void run_fences(drv_ha_rt_t *rt, const drv_state_t *st, const char *me, GArray *nodes)
{
    uint64_t now = rt->ops->now_ms(rt->ud);
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, rt->fences);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const drv_node_fence_t *nf = drv_state_node_fence(st, k);
        rt_fence_t *f = v;

        if (nf == NULL || nf->op != f->op || g_strcmp0(nf->op_executor, me) != 0) {
            qb_log(LOG_NOTICE, "HA: fencing of %s is no longer mine to run", f->target);
            fence_cancel_run(rt, f);
            g_hash_table_iter_remove(&it);
        }
    }
    g_hash_table_iter_init(&it, st->node_fence);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const drv_node_fence_t *nf = v;
        rt_fence_t *f = g_hash_table_lookup(rt->fences, k);
        int rc = DRV_ERR_NOT_CONNECTED;
        uint64_t id;

        if (nf->op == 0 || g_strcmp0(nf->op_executor, me) != 0) {
            continue;
        }
        if (f == NULL) {
            f = g_new0(rt_fence_t, 1);
            f->target = g_strdup(k);
            f->op = nf->op;
            g_hash_table_insert(rt->fences, g_strdup(k), f);
        }
        if (f->succeeded) {
            /* (a no-op while the same command is in flight; again if it was not applied) */
            submit(rt, DRV_CMD_FENCE_RESULT, f->target, f->device, f->text,
                   (uint8_t)MIN(f->level, 255u), true, f->op, NULL);
            continue;
        }
        if (f->fence_id != 0 || now < f->next_try_ms) {
            continue;
        }
        if (!nf->op_operator && find_node(nodes, k) != NULL && find_node(nodes, k)->member) {
            /* it is back in the round: it cancels this fencing itself (NODE_UP); no new
             * round against a node that rejoined (one in flight runs to its end) */
            continue;
        }
        id = ++rt->next_fence;
        qb_log(LOG_WARNING, "HA: fencing %s (%s), attempt %u", f->target, nf->op_action,
               f->failures + 1);
        if (rt->ops->fence) {
            rc = rt->ops->fence(rt->ud, id, f->target, nf->op_action);
        }
        if (rc == 0) {
            f->fence_id = id;
        } else {
            g_autofree char *why =
                g_strdup_printf("cannot run the fence agents here: %s", drv_strerror(rc));

            f->failures++;
            f->next_try_ms = now + MIN(1000ull << MIN(f->failures, 5u), 30000ull);
            submit(rt, DRV_CMD_FENCE_RESULT, f->target, NULL, why, 0, false, f->op, NULL);
        }
    }
}

/* At most MAX bytes of S, cut on a character boundary (the command's fields are bounded). */
static char *cut(const char *s, size_t max)
{
    const char *end;

    if (s == NULL || strlen(s) <= max) {
        return g_strdup(s);
    }
    end = g_utf8_find_prev_char(s, s + max);
    return g_strndup(s, end ? (gsize)(end - s) : 0);
}

bool drv_ha_rt_fence_done(drv_ha_rt_t *rt, uint64_t fence_id, bool ok, const char *device_in,
                          unsigned level, const char *text_in)
{
    g_autofree char *device = cut(device_in, 255);
    g_autofree char *text = cut(text_in, DRV_FENCE_TEXT_MAX);
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, rt->fences);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        rt_fence_t *f = v;

        if (f->fence_id != fence_id) {
            continue;
        }
        f->fence_id = 0;
        if (ok) {
            f->succeeded = true;
            f->device = g_strdup(device);
            f->level = level;
            f->text = g_strdup(text);
            qb_log(LOG_WARNING, "HA: %s fenced via %s (level %u)", f->target, device, level);
        } else {
            f->failures++;
            f->next_try_ms =
                rt->ops->now_ms(rt->ud) + MIN(1000ull << MIN(f->failures, 5u), 30000ull);
            qb_log(LOG_ERR, "HA: fencing %s failed (%u so far): %s", f->target, f->failures,
                   text ? text : "");
        }
        submit(rt, DRV_CMD_FENCE_RESULT, f->target, device, text, (uint8_t)MIN(level, 255u), ok,
               f->op, NULL);
        kick(rt);
        return true;
    }
    return false;
}

/* ---- quorum lost ---- */

static void count_running(void *ud, const char *uuid, drv_ha_dom_state_t state)
{
    void **a = ud;
    drv_ha_rt_t *rt = a[0];

    if ((state == DRV_HA_DOM_RUNNING || state == DRV_HA_DOM_PAUSED) && res_by_uuid(rt, uuid)) {
        (*(unsigned *)a[1])++;
    }
}

int drv_ha_rt_running_vms(drv_ha_rt_t *rt)
{
    unsigned n = 0;
    void *a[2] = {rt, &n};

    if (!rt->ops->table_valid(rt->ud)) {
        return -1;
    }
    rt->ops->foreach (rt->ud, count_running, a);
    return (int)n;
}

static void collect_running(void *ud, const char *uuid, drv_ha_dom_state_t state)
{
    GPtrArray *out = ud;

    if (state == DRV_HA_DOM_RUNNING || state == DRV_HA_DOM_PAUSED) {
        g_ptr_array_add(out, g_strdup(uuid));
    }
}

/* Quorum lost (no-quorum-policy, docs/fencing.md): "stop" stops every managed VM here (ACPI
 * shutdown, destroyed after the grace), so that the majority may recover them once it has
 * fenced this node or its watchdog deadline passed; "freeze" leaves them running, unmanaged.
 * Either way this node decides nothing else until it is back in a quorate round. */
static void no_quorum(drv_ha_rt_t *rt, const drv_state_t *st)
{
    g_autoptr(GPtrArray) uuids = g_ptr_array_new_with_free_func(g_free);
    const char *policy = st ? drv_prop_str(st, DRV_PROP_NO_QUORUM_POLICY) : "stop";
    bool first = !rt->no_quorum;

    rt->no_quorum = true;
    if (g_strcmp0(policy, "freeze") == 0) {
        if (first) {
            qb_log(LOG_WARNING, "HA: quorum lost: no-quorum-policy freeze leaves this node's "
                                "VMs running, unmanaged");
        }
        return;
    }
    if (first) {
        qb_log(LOG_WARNING, "HA: quorum lost: stopping this node's VMs (no-quorum-policy stop)");
    }
    if (!rt->ops->table_valid(rt->ud)) {
        return;
    }
    rt->ops->foreach (rt->ud, collect_running, uuids);
    for (guint i = 0; i < uuids->len; i++) {
        const char *uuid = uuids->pdata[i];
        const drv_resource_t *r = res_by_uuid(rt, uuid);
        uint64_t id;

        if (r == NULL || busy_fn(rt, uuid)) {
            continue;
        }
        qb_log(LOG_WARNING, "HA: stopping %s (domain %s): this node has no quorum", r->name,
               r->domain);
        id = start_op(rt, OP_STOP, uuid, r->name);
        if (rt->ops->stop(rt->ud, id, uuid, (unsigned)drv_prop_int(st, DRV_PROP_NO_QUORUM_GRACE)) !=
            0) {
            drop_op(rt, id);
        }
    }
}

void drv_ha_rt_evaluate(drv_ha_rt_t *rt)
{
    drv_ha_rt_view_t v = {0};
    const drv_state_t *st;
    g_autoptr(GArray) nodes = g_array_new(FALSE, TRUE, sizeof(drv_ha_rt_node_t));
    ctx_t cx = {rt, nodes};

    rt->ops->view(rt->ud, &v);
    st = rt->ops->state(rt->ud);
    if (v.lost_quorum) {
        no_quorum(rt, st);
    } else if (rt->no_quorum) {
        qb_log(LOG_NOTICE, "HA: quorum is back");
        rt->no_quorum = false;
    }
    if (!v.active || !v.quorate || v.me == NULL || st == NULL) {
        /* out of a quorate round: its absence measures and its fencings stop */
        g_hash_table_remove_all(rt->absent_since);
        fences_cancel_all(rt);
        return;
    }
    rt->ops->nodes(rt->ud, nodes);
    rt->params.now_ms = rt->ops->now_ms(rt->ud);
    track_absence(rt, nodes, rt->params.now_ms);
    rt->params.confirmed_seq = v.confirmed_seq;
    /* the cluster properties (replicated): the same thresholds on every node */
    rt->params.max_failures = (uint32_t)drv_prop_int(st, DRV_PROP_FAILURE_THRESHOLD);
    rt->params.failure_window_ms = (uint64_t)drv_prop_int(st, DRV_PROP_FAILURE_WINDOW) * 1000;
    publish_capacity(rt, st, v.me);
    if (v.coordinator) {
        coordinate(rt, st, nodes, v.me);
    }
    run_fences(rt, st, v.me, nodes);
    if (rt->ops->table_valid(rt->ud)) {
        g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func(drv_ha_cmd_free);
        g_autoptr(GPtrArray) acts = g_ptr_array_new_with_free_func(g_free);

        destroy_leftovers(rt);
        const drv_ha_local_env_t env = {ctx_running_fn, ctx_busy_fn, can_migrate_fn, attempted_fn,
                                        &cx};

        drv_ha_local(st, v.me, &rt->params, &env, cmds, acts);
        for (guint i = 0; i < cmds->len; i++) {
            const drv_ha_cmd_t *c = cmds->pdata[i];
            const drv_resource_t *r = g_hash_table_lookup(st->resources, c->name);

            submit(rt, c->type, c->name, c->value, c->value2, c->obs, c->flag, c->gen,
                   r ? r->uuid : NULL);
        }
        for (guint i = 0; i < acts->len; i++) {
            run_local_action(rt, acts->pdata[i]);
        }
        prune_attempted(rt);
    }
}

void drv_ha_rt_dom_changed(drv_ha_rt_t *rt, const char *uuid, const char *name,
                           drv_ha_dom_state_t state, bool by_us, const char *reason)
{
    const drv_resource_t *r = res_by_uuid(rt, uuid);
    const char *me = local_name(rt);

    qb_log(by_us ? LOG_INFO : LOG_NOTICE, "HA: domain %s (%s) is %s: %s%s", name ? name : "?", uuid,
           dom_state_str(state), reason, by_us ? "" : " (not by Drover)");
    if (r != NULL && me != NULL && !by_us && state != DRV_HA_DOM_RUNNING &&
        state != DRV_HA_DOM_PAUSED) {
        const drv_res_node_t *n = g_hash_table_lookup(r->nodes, me);

        if (n && n->obs == DRV_OBS_RUNNING) {
            g_autofree char *why = g_strdup_printf("stopped behind Drover's back: %s", reason);

            report_failure(rt, r, why);
        }
    }
    kick(rt);
}

bool drv_ha_rt_op_done(drv_ha_rt_t *rt, uint64_t op_id, int rc, const char *errmsg)
{
    rt_op_t *op = rt ? g_hash_table_lookup(rt->inflight, &op_id) : NULL;
    g_autofree char *name = NULL;
    op_kind_t kind;

    if (op == NULL) {
        return false;
    }
    kind = op->kind;
    name = g_strdup(op->name);
    if (kind == OP_MIGRATE) {
        if (rc != 0) {
            /* libvirt rolled back: it still runs here; the next pass ends the record */
            qb_log(LOG_ERR,
                   "HA: live migration of %s failed: %s; the next move to that node is "
                   "stop + start",
                   name, errmsg ? errmsg : drv_strerror(rc));
        } else {
            qb_log(LOG_NOTICE, "HA: %s live-migrated away from here", name);
        }
        migration_over(rt, op, rc == 0);
        if (rc != 0) {
            /* a failure in the last phase may still leave the domain at the destination: the
             * record is ended only from a fresh list pass */
            g_hash_table_add(rt->await_list, g_strdup(op->uuid));
            rt->ops->reconcile_now(rt->ud);
        }
        drop_op(rt, op_id);
        kick(rt);
        return true;
    }
    drop_op(rt, op_id);
    if (rc == DRV_ERR_BUSY) {
        qb_log(LOG_NOTICE, "HA: %s of %s waits: a migration job runs on it",
               kind == OP_START ? "start" : "stop", name);
    } else if (rc != 0) {
        const drv_state_t *st = rt->ops->state(rt->ud);
        const drv_resource_t *r = st ? g_hash_table_lookup(st->resources, name) : NULL;

        qb_log(LOG_ERR, "HA: %s of %s failed: %s", kind == OP_START ? "start" : "stop", name,
               errmsg ? errmsg : drv_strerror(rc));
        if (r != NULL && kind == OP_START &&
            (rc == DRV_ERR_NOT_CONNECTED || rc == DRV_ERR_EXISTS)) {
            /* libvirtd went away mid-start, or the domain already runs here: not the VM's
             * failure; the reconcile after (re)connecting says what really runs */
            rt->ops->reconcile_now(rt->ud);
        } else if (r != NULL && kind == OP_START) {
            g_autofree char *why = g_strdup_printf("start failed: %s", errmsg ? errmsg : "error");

            report_failure(rt, r, why);
        }
    } else {
        qb_log(LOG_NOTICE, "HA: %s %s here", name, kind == OP_START ? "started" : "stopped");
    }
    kick(rt);
    return true;
}

drv_ha_rt_t *drv_ha_rt_new(const drv_ha_rt_config_t *cfg, const drv_ha_rt_ops_t *ops, void *ud)
{
    drv_ha_rt_t *rt = g_new0(drv_ha_rt_t, 1);

    rt->ops = ops;
    rt->ud = ud;
    rt->cfg = *cfg;
    rt->inflight = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, op_free);
    rt->busy = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    rt->cmd_keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    rt->reqs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, req_free);
    rt->migrate_failed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    rt->mig_attempted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    rt->await_list = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    rt->absent_since = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    rt->fences = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, fence_free);
    return rt;
}

void drv_ha_rt_free(drv_ha_rt_t *rt)
{
    if (rt == NULL) {
        return;
    }
    g_hash_table_destroy(rt->inflight);
    g_hash_table_destroy(rt->busy);
    g_hash_table_destroy(rt->cmd_keys);
    g_hash_table_destroy(rt->reqs);
    g_hash_table_destroy(rt->migrate_failed);
    g_hash_table_destroy(rt->mig_attempted);
    g_hash_table_destroy(rt->await_list);
    g_hash_table_destroy(rt->absent_since);
    g_hash_table_destroy(rt->fences);
    g_free(rt);
}
