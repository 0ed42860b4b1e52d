/* Corosync glue: CPG (membership + totally ordered messages), votequorum (quorum + ring id)
 * and cmap (nodelist, cluster name), all dispatched from the one GLib main loop.
 *
 * Corosync may be absent at start or restart under us. Nothing here blocks or spins: a failed
 * connection is retried from a back-off timer (0.5 s doubling to 5 s); a dispatch error or a
 * hang-up on a corosync fd tears every handle down (from a 0 ms timer, never from inside the
 * dispatch that noticed it), tells the core we left, and reconnects. Messages that CPG refuses
 * with CS_ERR_TRY_AGAIN wait in an ordered, bounded queue flushed from a short timer. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <corosync/cmap.h>
#include <corosync/corotypes.h>
#include <corosync/cpg.h>
#include <corosync/votequorum.h>
#include <qb/qblog.h>
#include <crm/common/mainloop.h>

#include "drover/results.h"
#include "agent.h"

#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 5000
#define FLUSH_MIN_MS 10
#define FLUSH_MAX_MS 200
#define SENDQ_MAX_MSGS 4096
#define SENDQ_MAX_BYTES (64u * 1024 * 1024)

struct drv_cs {
    drv_agent_t *agent;
    drv_cs_info_t info;

    cpg_handle_t cpg;
    votequorum_handle_t vq;
    cmap_handle_t cmap;
    bool have_cpg, have_vq, have_cmap;
    mainloop_io_t *cpg_io;
    mainloop_io_t *vq_io;
    bool tearing_down; /* our own mainloop_del_fd(): the destroy callback is expected */

    votequorum_ring_id_t vq_ring; /* ring of the latest votequorum nodelist notification */
    bool have_vq_ring;
    bool quorum_deferred; /* a quorum verdict arrived before any ring id */

    mainloop_timer_t *retry_timer;
    guint retry_ms;
    mainloop_timer_t *reset_timer;
    bool logged_down; /* "corosync not available" said once per outage */

    GQueue sendq; /* GBytes *, oldest first */
    size_t sendq_bytes;
    mainloop_timer_t *flush_timer;
    guint flush_ms;
};

static void cs_teardown(drv_cs_t *cs, bool leave);
static bool cs_connect(drv_cs_t *cs);
static void sendq_clear(drv_cs_t *cs, const char *why);

/* --- small helpers -------------------------------------------------------------------- */

static int cs_to_drv(cs_error_t e)
{
    switch (e) {
    case CS_OK:
        return 0;
    case CS_ERR_TRY_AGAIN:
        return -EAGAIN;
    case CS_ERR_NO_MEMORY:
        return -ENOMEM;
    case CS_ERR_TOO_BIG:
        return -EMSGSIZE;
    case CS_ERR_ACCESS:
        return -EACCES;
    default:
        return DRV_ERR_NOT_CONNECTED;
    }
}

static void nodeinfo_free(gpointer p)
{
    drv_nodeinfo_t *n = p;

    if (n != NULL) {
        g_free(n->name);
        g_free(n->addr);
        g_free(n);
    }
}

static gint nodeinfo_cmp(gconstpointer a, gconstpointer b)
{
    const drv_nodeinfo_t *x = *(drv_nodeinfo_t *const *)a;
    const drv_nodeinfo_t *y = *(drv_nodeinfo_t *const *)b;

    return (x->id > y->id) - (x->id < y->id);
}

const drv_cs_info_t *drv_cs_info(const drv_cs_t *cs)
{
    return &cs->info;
}

const drv_nodeinfo_t *drv_cs_node_by_name(const drv_cs_t *cs, const char *name)
{
    for (guint i = 0; name != NULL && i < cs->info.nodes->len; i++) {
        const drv_nodeinfo_t *n = g_ptr_array_index(cs->info.nodes, i);
        if (g_strcmp0(n->name, name) == 0) {
            return n;
        }
    }
    return NULL;
}

const char *drv_cs_node_name(const drv_cs_t *cs, uint32_t nodeid)
{
    for (guint i = 0; i < cs->info.nodes->len; i++) {
        const drv_nodeinfo_t *n = g_ptr_array_index(cs->info.nodes, i);
        if (n->id == nodeid) {
            return n->name;
        }
    }
    return NULL;
}

/* --- cmap ----------------------------------------------------------------------------- */

/* Re-read nodelist.node.X.{nodeid,name,ring0_addr} and totem.cluster_name. On failure the
 * last known list stays. */
static int cs_load_nodelist(drv_cs_t *cs)
{
    cmap_iter_handle_t iter;
    char key[CMAP_KEYNAME_MAXLEN + 1];
    size_t vlen;
    cmap_value_types_t type;
    g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func(nodeinfo_free);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    char *cname = NULL;
    cs_error_t rc;

    if (!cs->have_cmap) {
        return DRV_ERR_NOT_CONNECTED;
    }
    rc = cmap_iter_init(cs->cmap, "nodelist.node.", &iter);
    if (rc != CS_OK) {
        qb_log(LOG_WARNING, "cmap: cannot read the nodelist (error %d)", rc);
        return cs_to_drv(rc);
    }
    while (cmap_iter_next(cs->cmap, iter, key, &vlen, &type) == CS_OK) {
        unsigned int idx;
        char leaf[CMAP_KEYNAME_MAXLEN + 1];
        char prefix[CMAP_KEYNAME_MAXLEN + 64];
        drv_nodeinfo_t *n;
        uint32_t id = 0;
        char *s = NULL;

        if (sscanf(key, "nodelist.node.%u.%255s", &idx, leaf) != 2 || strcmp(leaf, "nodeid") != 0) {
            continue;
        }
        if (cmap_get_uint32(cs->cmap, key, &id) != CS_OK || id == 0 ||
            g_hash_table_contains(seen, GUINT_TO_POINTER(id))) {
            continue;
        }
        g_hash_table_add(seen, GUINT_TO_POINTER(id));
        n = g_new0(drv_nodeinfo_t, 1);
        n->id = id;
        snprintf(prefix, sizeof(prefix), "nodelist.node.%u.ring0_addr", idx);
        if (cmap_get_string(cs->cmap, prefix, &s) == CS_OK) {
            n->addr = g_strdup(s);
            free(s);
            s = NULL;
        }
        snprintf(prefix, sizeof(prefix), "nodelist.node.%u.name", idx);
        if (cmap_get_string(cs->cmap, prefix, &s) == CS_OK) {
            n->name = g_strdup(s);
            free(s);
        } else {
            n->name = g_strdup(n->addr ? n->addr : "");
        }
        g_ptr_array_add(nodes, n);
    }
    cmap_iter_finalize(cs->cmap, iter);
    g_ptr_array_sort(nodes, nodeinfo_cmp);

    g_ptr_array_unref(cs->info.nodes);
    cs->info.nodes = g_steal_pointer(&nodes);

    if (cmap_get_string(cs->cmap, "totem.cluster_name", &cname) == CS_OK) {
        g_free(cs->info.cluster_name);
        cs->info.cluster_name = g_strdup(cname);
        free(cname);
    }
    return 0;
}

/* --- votequorum ----------------------------------------------------------------------- */

static void cs_refresh_votes(drv_cs_t *cs)
{
    struct votequorum_info vi;

    if (!cs->have_vq || cs->info.local_nodeid == 0) {
        return;
    }
    memset(&vi, 0, sizeof(vi));
    if (votequorum_getinfo(cs->vq, cs->info.local_nodeid, &vi) == CS_OK) {
        cs->info.expected_votes = vi.highest_expected;
        cs->info.total_votes = vi.total_votes;
        cs->info.quorum = vi.quorum;
    }
}

/* Tell the core votequorum's verdict, tagged with the ring it belongs to. */
static void report_quorum(drv_cs_t *cs)
{
    drv_ring_t ring = {.nodeid = cs->vq_ring.nodeid, .seq = cs->vq_ring.seq};

    cs->quorum_deferred = false;
    if (cs->agent->cluster != NULL) {
        /* one vote per node: a partition also needs that many droverd participants */
        drv_cluster_quorum(cs->agent->cluster, cs->info.vq_quorate, cs->info.quorum, ring);
    }
}

static void vq_quorum_cb(votequorum_handle_t h, uint64_t context, uint32_t quorate, uint32_t n,
                         votequorum_node_t nodes[])
{
    drv_cs_t *cs = (drv_cs_t *)(uintptr_t)context;

    if (cs->info.vq_quorate != (quorate != 0)) {
        qb_log(LOG_NOTICE, "votequorum: this node is %s (%" PRIu32 " nodes known)",
               quorate ? "quorate" : "NOT quorate", n);
    }
    cs->info.vq_quorate = quorate != 0;
    cs_refresh_votes(cs);
    if (!cs->have_vq_ring) {
        /* votequorum sends the nodelist notification (with the ring id) first; should it
         * not, the verdict waits for the ring it belongs to. */
        qb_log(LOG_DEBUG, "votequorum: quorum notification before any ring id, deferred");
        cs->quorum_deferred = true;
        return;
    }
    report_quorum(cs);
}

static void vq_nodelist_cb(votequorum_handle_t h, uint64_t context, votequorum_ring_id_t ring,
                           uint32_t n, uint32_t nodes[])
{
    drv_cs_t *cs = (drv_cs_t *)(uintptr_t)context;

    qb_log(LOG_DEBUG, "votequorum: ring %" PRIx32 ".%" PRIu64 " with %" PRIu32 " nodes",
           ring.nodeid, ring.seq, n);
    cs->vq_ring = ring;
    cs->have_vq_ring = true;
    if (cs->quorum_deferred) {
        report_quorum(cs);
    }
}

static void vq_expected_cb(votequorum_handle_t h, uint64_t context, uint32_t expected)
{
    drv_cs_t *cs = (drv_cs_t *)(uintptr_t)context;

    qb_log(LOG_INFO, "votequorum: expected votes now %" PRIu32, expected);
    cs_refresh_votes(cs);
    if (cs->have_vq_ring) {
        report_quorum(cs); /* the quorum, and so the daemons a partition needs, may have moved */
    }
}

static votequorum_callbacks_t vq_callbacks = {
    .votequorum_quorum_notify_fn = vq_quorum_cb,
    .votequorum_expectedvotes_notify_fn = vq_expected_cb,
    .votequorum_nodelist_notify_fn = vq_nodelist_cb,
};

/* --- CPG ------------------------------------------------------------------------------ */

static drv_cs_t *cpg_cs(cpg_handle_t h)
{
    void *ctx = NULL;

    cpg_context_get(h, &ctx);
    return ctx;
}

static void cpg_deliver_cb(cpg_handle_t h, const struct cpg_name *group, uint32_t nodeid,
                           uint32_t pid, void *msg, size_t len)
{
    drv_cs_t *cs = cpg_cs(h);

    qb_log(LOG_TRACE, "CPG: %zu bytes from node %" PRIu32 " pid %" PRIu32, len, nodeid, pid);
    if (cs != NULL && cs->agent->cluster != NULL) {
        drv_cluster_deliver(cs->agent->cluster, nodeid, pid, msg, len);
    }
}

static void cpg_confchg_cb(cpg_handle_t h, const struct cpg_name *group,
                           const struct cpg_address *members, size_t n_members,
                           const struct cpg_address *left, size_t n_left,
                           const struct cpg_address *joined, size_t n_joined)
{
    drv_cs_t *cs = cpg_cs(h);
    g_autofree drv_member_t *m = g_new0(drv_member_t, n_members ? n_members : 1);
    GString *names = g_string_new(NULL);

    if (cs == NULL) {
        g_string_free(names, TRUE);
        return;
    }
    /* A node may have been added to corosync.conf and reloaded: keep names current. */
    cs_load_nodelist(cs);
    for (size_t i = 0; i < n_members; i++) {
        const char *name = drv_cs_node_name(cs, members[i].nodeid);
        m[i].nodeid = members[i].nodeid;
        m[i].pid = members[i].pid;
        g_string_append_printf(names, "%s%s(%" PRIu32 ")", i ? " " : "", name ? name : "?",
                               members[i].nodeid);
    }
    for (size_t i = 0; i < n_left; i++) {
        const char *name = drv_cs_node_name(cs, left[i].nodeid);
        qb_log(LOG_NOTICE, "CPG: node %s (%" PRIu32 ") left the group (reason %" PRIu32 ")",
               name ? name : "?", left[i].nodeid, left[i].reason);
    }
    for (size_t i = 0; i < n_joined; i++) {
        const char *name = drv_cs_node_name(cs, joined[i].nodeid);
        qb_log(LOG_NOTICE, "CPG: node %s (%" PRIu32 ") joined the group", name ? name : "?",
               joined[i].nodeid);
    }
    qb_log(LOG_NOTICE, "CPG membership: %zu member(s): %s", n_members, names->str);
    g_string_free(names, TRUE);
    /* Messages still queued (CPG said "try again") belong to the old round: a recurring
     * member list could make them look current. The core re-sends what still matters: its
     * summary (rule S1) and pending requests (rule C3). */
    sendq_clear(cs, "membership changed");
    if (cs->agent->cluster != NULL) {
        drv_cluster_members(cs->agent->cluster, m, n_members);
    }
}

static void cpg_totem_cb(cpg_handle_t h, struct cpg_ring_id ring_id, uint32_t n,
                         const uint32_t *members)
{
    drv_cs_t *cs = cpg_cs(h);
    drv_ring_t ring = {.nodeid = ring_id.nodeid, .seq = ring_id.seq};

    qb_log(LOG_INFO, "Totem ring %" PRIx32 ".%" PRIu64 " with %" PRIu32 " node(s)", ring_id.nodeid,
           ring_id.seq, n);
    if (cs != NULL && cs->agent->cluster != NULL) {
        drv_cluster_totem_ring(cs->agent->cluster, ring);
    }
}

static cpg_model_v1_data_t cpg_model = {
    .model = CPG_MODEL_V1,
    .cpg_deliver_fn = cpg_deliver_cb,
    .cpg_confchg_fn = cpg_confchg_cb,
    .cpg_totem_confchg_fn = cpg_totem_cb,
    .flags = CPG_MODEL_V1_DELIVER_INITIAL_TOTEM_CONF,
};

/* --- send queue ----------------------------------------------------------------------- */

static void sendq_clear(drv_cs_t *cs, const char *why)
{
    guint n = g_queue_get_length(&cs->sendq);

    if (n > 0) {
        qb_log(LOG_ERR, "Dropping %u queued cluster message(s) (%zu bytes): %s", n, cs->sendq_bytes,
               why);
    }
    g_queue_clear_full(&cs->sendq, (GDestroyNotify)g_bytes_unref);
    cs->sendq_bytes = 0;
    cs->flush_ms = FLUSH_MIN_MS;
    mainloop_timer_stop(cs->flush_timer);
}

static cs_error_t mcast(drv_cs_t *cs, const void *buf, size_t len)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};

    return cpg_mcast_joined(cs->cpg, CPG_TYPE_AGREED, &iov, 1);
}

static gboolean flush_cb(gpointer ud)
{
    drv_cs_t *cs = ud;

    while (!g_queue_is_empty(&cs->sendq)) {
        GBytes *b = g_queue_peek_head(&cs->sendq);
        gsize len;
        const void *data = g_bytes_get_data(b, &len);
        cs_error_t rc = mcast(cs, data, len);

        if (rc == CS_ERR_TRY_AGAIN) {
            cs->flush_ms = MIN(cs->flush_ms * 2, FLUSH_MAX_MS);
            mainloop_timer_set_period(cs->flush_timer, cs->flush_ms);
            mainloop_timer_start(cs->flush_timer);
            return FALSE;
        }
        g_queue_pop_head(&cs->sendq);
        cs->sendq_bytes -= len;
        g_bytes_unref(b);
        if (rc != CS_OK) {
            qb_log(LOG_ERR, "CPG: multicast of a queued %zu-byte message failed (error %d)", len,
                   rc);
        }
    }
    cs->flush_ms = FLUSH_MIN_MS;
    qb_log(LOG_DEBUG, "CPG: send queue flushed");
    return FALSE;
}

int drv_cs_send(drv_cs_t *cs, const void *buf, size_t len)
{
    cs_error_t rc;

    qb_log(LOG_TRACE, "CPG: sending %zu bytes", len);
    if (!cs->info.connected) {
        return DRV_ERR_NOT_CONNECTED;
    }
    if (g_queue_is_empty(&cs->sendq)) {
        rc = mcast(cs, buf, len);
        if (rc != CS_ERR_TRY_AGAIN) {
            if (rc != CS_OK) {
                qb_log(LOG_ERR, "CPG: multicast of a %zu-byte message failed (error %d)", len, rc);
            }
            return cs_to_drv(rc);
        }
    }
    /* Flow control (or older messages still waiting): keep the order, retry from a timer. */
    if (g_queue_get_length(&cs->sendq) >= SENDQ_MAX_MSGS ||
        cs->sendq_bytes + len > SENDQ_MAX_BYTES) {
        qb_log(LOG_CRIT,
               "CPG send queue full (%u messages, %zu bytes): corosync is not accepting "
               "messages; this %zu-byte message is LOST",
               g_queue_get_length(&cs->sendq), cs->sendq_bytes, len);
        return -ENOBUFS;
    }
    g_queue_push_tail(&cs->sendq, g_bytes_new(buf, len));
    cs->sendq_bytes += len;
    if (!mainloop_timer_running(cs->flush_timer)) {
        mainloop_timer_set_period(cs->flush_timer, cs->flush_ms);
        mainloop_timer_start(cs->flush_timer);
    }
    return 0;
}

/* --- fds and connection lifecycle ----------------------------------------------------- */

static gboolean reset_cb(gpointer ud)
{
    drv_cs_t *cs = ud;

    qb_log(LOG_ERR, "Lost the connection to corosync: leaving the cluster, will reconnect");
    cs_teardown(cs, false);
    cs->retry_ms = RETRY_MIN_MS;
    mainloop_timer_set_period(cs->retry_timer, cs->retry_ms);
    mainloop_timer_start(cs->retry_timer);
    return FALSE;
}

static void schedule_reset(drv_cs_t *cs)
{
    if (!mainloop_timer_running(cs->reset_timer)) {
        mainloop_timer_start(cs->reset_timer);
    }
}

static int cpg_dispatch_cb(gpointer ud)
{
    drv_cs_t *cs = ud;
    cs_error_t rc = cpg_dispatch(cs->cpg, CS_DISPATCH_ALL);

    if (rc != CS_OK && rc != CS_ERR_TRY_AGAIN) {
        qb_log(LOG_ERR, "CPG dispatch failed (error %d)", rc);
        schedule_reset(cs);
        return -1;
    }
    return 0;
}

static int vq_dispatch_cb(gpointer ud)
{
    drv_cs_t *cs = ud;
    cs_error_t rc = votequorum_dispatch(cs->vq, CS_DISPATCH_ALL);

    if (rc != CS_OK && rc != CS_ERR_TRY_AGAIN) {
        qb_log(LOG_ERR, "votequorum dispatch failed (error %d)", rc);
        schedule_reset(cs);
        return -1;
    }
    return 0;
}

static void cpg_destroy_cb(gpointer ud)
{
    drv_cs_t *cs = ud;

    cs->cpg_io = NULL;
    if (!cs->tearing_down) {
        qb_log(LOG_ERR, "CPG connection closed by corosync");
        schedule_reset(cs);
    }
}

static void vq_destroy_cb(gpointer ud)
{
    drv_cs_t *cs = ud;

    cs->vq_io = NULL;
    if (!cs->tearing_down) {
        qb_log(LOG_ERR, "votequorum connection closed by corosync");
        schedule_reset(cs);
    }
}

static struct mainloop_fd_callbacks cpg_fd_cbs = {.dispatch = cpg_dispatch_cb,
                                                  .destroy = cpg_destroy_cb};
static struct mainloop_fd_callbacks vq_fd_cbs = {.dispatch = vq_dispatch_cb,
                                                 .destroy = vq_destroy_cb};

static void cs_teardown(drv_cs_t *cs, bool leave)
{
    bool was_connected = cs->info.connected;

    cs->tearing_down = true;
    if (cs->cpg_io != NULL) {
        mainloop_del_fd(cs->cpg_io);
        cs->cpg_io = NULL;
    }
    if (cs->vq_io != NULL) {
        mainloop_del_fd(cs->vq_io);
        cs->vq_io = NULL;
    }
    cs->tearing_down = false;
    mainloop_timer_stop(cs->reset_timer);
    sendq_clear(cs, "left the CPG group");

    if (cs->have_cpg) {
        if (leave && was_connected) {
            struct cpg_name g;
            g.length = (uint32_t)strlen(cs->agent->cfg.cpg_group);
            memcpy(g.value, cs->agent->cfg.cpg_group, g.length);
            cpg_leave(cs->cpg, &g);
        }
        cpg_finalize(cs->cpg);
        cs->have_cpg = false;
    }
    if (cs->have_vq) {
        votequorum_trackstop(cs->vq);
        votequorum_finalize(cs->vq);
        cs->have_vq = false;
    }
    if (cs->have_cmap) {
        cmap_finalize(cs->cmap);
        cs->have_cmap = false;
    }
    cs->have_vq_ring = false;
    cs->quorum_deferred = false;
    cs->info.connected = false;
    cs->info.vq_quorate = false;
    cs->info.expected_votes = cs->info.total_votes = cs->info.quorum = 0;
    if (was_connected && cs->agent->cluster != NULL) {
        drv_cluster_left(cs->agent->cluster);
    }
}

static void log_unavailable(drv_cs_t *cs, const char *what, cs_error_t rc)
{
    int prio = cs->logged_down ? LOG_DEBUG : LOG_WARNING;

    qb_log(prio, "Corosync not available (%s failed, error %d); retrying every %.1f s at most",
           what, rc, RETRY_MAX_MS / 1000.0);
    cs->logged_down = true;
}

/* Ensure the core exists for NODEID (the core needs our nodeid at creation). */
static void ensure_cluster(drv_cs_t *cs, uint32_t nodeid)
{
    drv_agent_t *a = cs->agent;
    drv_state_t *st;

    if (a->cluster != NULL && cs->info.local_nodeid == nodeid) {
        return;
    }
    if (a->cluster != NULL) {
        qb_log(LOG_WARNING, "Local nodeid changed from %" PRIu32 " to %" PRIu32,
               cs->info.local_nodeid, nodeid);
        st = drv_state_copy(drv_cluster_state(a->cluster));
        drv_cluster_free(a->cluster);
    } else {
        st = g_steal_pointer(&a->loaded);
    }
    cs->info.local_nodeid = nodeid;
    a->cluster = drv_cluster_new(nodeid, (uint32_t)getpid(), &drv_agent_cluster_ops, a, st);
}

static bool cs_connect(drv_cs_t *cs)
{
    const char *group = cs->agent->cfg.cpg_group;
    struct cpg_name g;
    unsigned int nodeid = 0;
    int fd = -1;
    cs_error_t rc;

    rc = cpg_model_initialize(&cs->cpg, CPG_MODEL_V1, (cpg_model_data_t *)&cpg_model, NULL);
    if (rc != CS_OK) {
        log_unavailable(cs, "cpg_model_initialize", rc);
        return false;
    }
    cs->have_cpg = true;
    cpg_context_set(cs->cpg, cs);
    rc = cpg_local_get(cs->cpg, &nodeid);
    if (rc != CS_OK) {
        log_unavailable(cs, "cpg_local_get", rc);
        goto fail;
    }
    rc = cmap_initialize(&cs->cmap);
    if (rc != CS_OK) {
        log_unavailable(cs, "cmap_initialize", rc);
        goto fail;
    }
    cs->have_cmap = true;
    cs_load_nodelist(cs);

    rc = votequorum_initialize(&cs->vq, &vq_callbacks);
    if (rc != CS_OK) {
        log_unavailable(cs, "votequorum_initialize", rc);
        goto fail;
    }
    cs->have_vq = true;

    ensure_cluster(cs, nodeid);

    g.length = (uint32_t)strlen(group);
    memcpy(g.value, group, g.length);
    rc = cpg_join(cs->cpg, &g);
    if (rc != CS_OK) {
        log_unavailable(cs, "cpg_join", rc);
        goto fail;
    }
    cs->info.connected = true;

    rc = votequorum_trackstart(cs->vq, (uint64_t)(uintptr_t)cs, CS_TRACK_CHANGES);
    if (rc != CS_OK) {
        log_unavailable(cs, "votequorum_trackstart", rc);
        goto fail;
    }
    if (cpg_fd_get(cs->cpg, &fd) != CS_OK ||
        (cs->cpg_io = mainloop_add_fd("drover-cpg", G_PRIORITY_HIGH, fd, cs, &cpg_fd_cbs)) ==
            NULL) {
        qb_log(LOG_ERR, "Cannot watch the CPG fd");
        goto fail;
    }
    if (votequorum_fd_get(cs->vq, &fd) != CS_OK ||
        (cs->vq_io = mainloop_add_fd("drover-vq", G_PRIORITY_HIGH, fd, cs, &vq_fd_cbs)) == NULL) {
        qb_log(LOG_ERR, "Cannot watch the votequorum fd");
        goto fail;
    }
    cs_refresh_votes(cs);
    cs->logged_down = false;
    qb_log(LOG_NOTICE, "Connected to corosync: cluster %s, local node %s (%u), group %s",
           cs->info.cluster_name ? cs->info.cluster_name : "(unnamed)",
           drv_cs_node_name(cs, nodeid) ? drv_cs_node_name(cs, nodeid) : "?", nodeid, group);
    return true;

fail:
    cs_teardown(cs, true);
    return false;
}

static gboolean retry_cb(gpointer ud)
{
    drv_cs_t *cs = ud;

    if (cs_connect(cs)) {
        cs->retry_ms = RETRY_MIN_MS;
        return FALSE;
    }
    cs->retry_ms = MIN(cs->retry_ms * 2, RETRY_MAX_MS);
    mainloop_timer_set_period(cs->retry_timer, cs->retry_ms);
    mainloop_timer_start(cs->retry_timer);
    return FALSE;
}

void drv_cs__set_connected(drv_cs_t *cs, bool connected)
{
    cs->info.connected = connected;
}

size_t drv_cs__queued(const drv_cs_t *cs)
{
    return cs->sendq.length;
}

drv_cs_t *drv_cs_new(drv_agent_t *a)
{
    drv_cs_t *cs = g_new0(drv_cs_t, 1);

    cs->agent = a;
    cs->info.nodes = g_ptr_array_new_with_free_func(nodeinfo_free);
    g_queue_init(&cs->sendq);
    cs->retry_ms = RETRY_MIN_MS;
    cs->flush_ms = FLUSH_MIN_MS;
    cs->retry_timer = mainloop_timer_add("drover-cs-retry", RETRY_MIN_MS, FALSE, retry_cb, cs);
    cs->reset_timer = mainloop_timer_add("drover-cs-reset", 1, FALSE, reset_cb, cs);
    cs->flush_timer = mainloop_timer_add("drover-cs-flush", FLUSH_MIN_MS, FALSE, flush_cb, cs);
    return cs;
}

void drv_cs_start(drv_cs_t *cs)
{
    if (!cs_connect(cs)) {
        mainloop_timer_set_period(cs->retry_timer, cs->retry_ms);
        mainloop_timer_start(cs->retry_timer);
    }
}

void drv_cs_stop(drv_cs_t *cs)
{
    if (cs == NULL) {
        return;
    }
    mainloop_timer_stop(cs->retry_timer);
    mainloop_timer_stop(cs->reset_timer);
    if (cs->info.connected) {
        qb_log(LOG_NOTICE, "Leaving CPG group %s", cs->agent->cfg.cpg_group);
    }
    cs_teardown(cs, true);
}

void drv_cs_free(drv_cs_t *cs)
{
    if (cs == NULL) {
        return;
    }
    drv_cs_stop(cs);
    mainloop_timer_del(cs->retry_timer);
    mainloop_timer_del(cs->reset_timer);
    mainloop_timer_del(cs->flush_timer);
    g_ptr_array_unref(cs->info.nodes);
    g_free(cs->info.cluster_name);
    g_free(cs);
}
