/* What droverd gives the cluster core: the ops table (multicast, persist, request
 * completion, view changes) and the monotonic clock the core's deadlines use. Request
 * completions and view changes go to the listeners other modules registered (the HA layer,
 * the IPC handlers): this file calls none of them by name. */
#include "config.h"

#include <inttypes.h>
#include <syslog.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "agent.h"

uint64_t drv_agent_now_ms(void)
{
    return (uint64_t)(g_get_monotonic_time() / 1000);
}

/* --- listeners ------------------------------------------------------------------------ */

typedef struct listener {
    void (*fn)(void); /* drv_agent_request_done_fn or drv_agent_changed_fn */
    void *ud;
} listener_t;

static void add_listener(GArray **arr, void (*fn)(void), void *ud)
{
    listener_t l = {fn, ud};

    if (*arr == NULL) {
        *arr = g_array_new(FALSE, FALSE, sizeof(listener_t));
    }
    g_array_append_val(*arr, l);
}

void drv_agent_on_request_done(drv_agent_t *a, drv_agent_request_done_fn fn, void *ud)
{
    add_listener(&a->request_done_listeners, (void (*)(void))fn, ud);
}

void drv_agent_on_changed(drv_agent_t *a, drv_agent_changed_fn fn, void *ud)
{
    add_listener(&a->changed_listeners, (void (*)(void))fn, ud);
}

static void remove_listeners(GArray *arr, void *ud)
{
    for (guint i = arr ? arr->len : 0; i > 0; i--) {
        if (g_array_index(arr, listener_t, i - 1).ud == ud) {
            g_array_remove_index(arr, i - 1);
        }
    }
}

void drv_agent_listeners_remove(drv_agent_t *a, void *ud)
{
    remove_listeners(a->request_done_listeners, ud);
    remove_listeners(a->changed_listeners, ud);
}

void drv_agent_listeners_free(drv_agent_t *a)
{
    if (a->request_done_listeners != NULL) {
        g_array_free(a->request_done_listeners, TRUE);
        a->request_done_listeners = NULL;
    }
    if (a->changed_listeners != NULL) {
        g_array_free(a->changed_listeners, TRUE);
        a->changed_listeners = NULL;
    }
}

/* --- the core's ops table ------------------------------------------------------------- */

static int ops_send(void *ud, const void *buf, size_t len)
{
    drv_agent_t *a = ud;

    return drv_cs_send(a->cs, buf, len);
}

static int ops_persist(void *ud, const drv_state_t *st)
{
    drv_agent_t *a = ud;
    int rc = drv_state_save(a->state_path, st);

    if (rc != 0) {
        qb_log(LOG_ERR, "Cannot save the cluster state to %s: %s", a->state_path, drv_strerror(rc));
    } else {
        qb_log(LOG_DEBUG, "State saved to %s (epoch %" PRIu64 ", seq %" PRIu64 ")", a->state_path,
               st->epoch, st->seq);
    }
    return rc;
}

static void ops_request_done(void *ud, uint64_t req_id, int rc)
{
    drv_agent_t *a = ud;
    GArray *arr = a->request_done_listeners;

    for (guint i = 0; arr != NULL && i < arr->len; i++) {
        const listener_t *l = &g_array_index(arr, listener_t, i);

        if (((drv_agent_request_done_fn)l->fn)(l->ud, req_id, rc)) {
            return;
        }
    }
    qb_log(LOG_DEBUG, "Request %" PRIu64 " done (%s), nobody waiting", req_id, drv_strerror(rc));
}

static const char *node_label(drv_agent_t *a, uint32_t id)
{
    const char *n = drv_cs_node_name(a->cs, id);

    return n ? n : "?";
}

static void ops_view_changed(void *ud)
{
    drv_agent_t *a = ud;
    drv_cluster_view_t v;
    drv_cluster_view_t *old = &a->last_view;

    if (a->cluster == NULL) {
        return;
    }
    drv_cluster_get_view(a->cluster, &v);
    if (v.phase != old->phase) {
        qb_log(LOG_NOTICE, "Cluster phase: %s -> %s (round %016" PRIx64 ")",
               drv_phase_str(old->phase), drv_phase_str(v.phase), v.round);
    }
    if (v.quorate != old->quorate) {
        qb_log(LOG_NOTICE, "Partition quorum endorsement: %s",
               v.quorate ? "quorate" : "NOT quorate");
    }
    if (v.coordinator != old->coordinator) {
        if (v.coordinator == 0) {
            qb_log(LOG_NOTICE, "No coordinator");
        } else {
            qb_log(LOG_NOTICE, "Coordinator is now %s (%" PRIu32 ")", node_label(a, v.coordinator),
                   v.coordinator);
        }
    }
    if (v.n_members != old->n_members) {
        qb_log(LOG_NOTICE, "Cluster members: %zu", v.n_members);
    }
    if (v.phase == DRV_PHASE_ACTIVE) {
        const drv_state_t *st = drv_cluster_state(a->cluster);
        if (st != NULL && st->seq != a->last_logged_seq) {
            qb_log(LOG_NOTICE, "Cluster state: epoch %" PRIu64 ", %" PRIu64 " command(s) applied",
                   st->epoch, st->seq);
            a->last_logged_seq = st->seq;
        }
    }
    *old = v;
    old->members = NULL;
    for (guint i = 0; a->changed_listeners != NULL && i < a->changed_listeners->len; i++) {
        const listener_t *l = &g_array_index(a->changed_listeners, listener_t, i);

        ((drv_agent_changed_fn)l->fn)(l->ud);
    }
}

const drv_cluster_ops_t drv_agent_cluster_ops = {
    .send = ops_send,
    .persist = ops_persist,
    .request_done = ops_request_done,
    .view_changed = ops_view_changed,
};
