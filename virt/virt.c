/* The libvirt driver core: connection life cycle, the table of known domains, per-UUID op
 * queues, lifecycle events and the reconcile pass. Backend-neutral: every blocking call goes
 * through the ops table (virt.h) in one worker thread.
 *
 * Main thread <-> worker: jobs go to the worker through an async queue; results (and the
 * backend's events, which may come from any thread) come back as items through a second async
 * queue, one idle source on GLib's default context per item. Items are popped in push order,
 * so results of jobs, events and connection losses are handled in the order they happened.
 * The link between the two sides is refcounted: a pending idle or a backend sink may outlive
 * the driver, and then finds link->v == NULL and just frees its item.
 *
 * Staleness: each connection attempt gets a generation number; events, losses and list results
 * of an older connection are dropped. Each table entry remembers the change counter of its
 * last change; a list taken before that change does not overwrite it (an event is newer).
 *
 * Jobs: each entry also holds libvirt's job on the domain (drv_dom_job_t), refreshed by list
 * passes and by a query the worker makes at the end of every op job (and right before each
 * shutdown/destroy, which it refuses during a migration). Only libvirt's answers set it; a
 * change of job alone is logged, not reported through dom_changed. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <glib.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "virt.h"

#define RECONCILE_MS 5000
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 5000

typedef struct virt_link {
    gint ref;
    drv_virt_t *v; /* NULL once the driver is freed; read and written on the main thread only */
    GAsyncQueue *items;
} virt_link_t;

struct drv_virt_sink {
    gint ref;
    virt_link_t *link;
    unsigned gen;
};

typedef enum {
    ITEM_JOB,   /* a job that ran in the worker, with its result */
    ITEM_EVENT, /* a lifecycle event from the backend */
    ITEM_LOST,  /* the backend saw its connection die */
    ITEM_FAIL,  /* an op refused before reaching the worker: op_done from the loop */
} item_kind_t;

typedef enum {
    JOB_OPEN,
    JOB_CLOSE,
    JOB_LIST,
    JOB_CREATE,
    JOB_SHUTDOWN,
    JOB_DESTROY,
    JOB_VALIDATE,
    JOB_MIGRATE,
    JOB_QUIT,
} job_kind_t;

typedef struct item {
    item_kind_t kind;
    job_kind_t job;
    unsigned gen;
    uint64_t op_id;
    char uuid[DRV_UUID_STRLEN];
    char *xml;
    char *dest_uri;        /* JOB_MIGRATE */
    char *migrate_uri;     /* JOB_MIGRATE, may be NULL */
    drv_virt_sink_t *sink; /* JOB_OPEN: handed to the backend on success */
    /* results / event data */
    int rc;
    char *errmsg;
    drv_dom_t *doms;
    size_t n_doms;
    gint seq_at_list;
    gint seq_at_submit; /* op jobs: the change counter when the job was submitted */
    char *name;
    drv_dom_state_t state;
    char *reason;
    drv_dom_job_t dom_job; /* op jobs: libvirt's job on the UUID after the call; UNKNOWN: not
                            * queried or the query failed */
} item_t;

typedef enum { OP_START, OP_STOP, OP_MIGRATE } op_kind_t;
typedef enum { PH_QUEUED, PH_RUNNING, PH_GRACE, PH_DESTROYING } op_phase_t;

typedef struct op {
    drv_virt_t *v;
    uint64_t id;
    op_kind_t kind;
    op_phase_t phase;
    char uuid[DRV_UUID_STRLEN];
    char *name; /* START: from the XML */
    char *xml;
    char *dest_uri;    /* MIGRATE */
    char *migrate_uri; /* MIGRATE, may be NULL */
    unsigned grace_ms;
    guint grace_timer;
} op_t;

/* Per-UUID: the op queue (head = the op being run) and what the last finished op aimed at. */
typedef struct uctx {
    GQueue ops;
    bool recent_valid;
    drv_dom_state_t recent_target;
    gint64 recent_until; /* monotonic us */
    /* change counter of the last stop seen for a UUID that had no table entry (a crash whose
     * STARTED event never arrived): newer than a start job submitted before it */
    gint stopped_seq;
    /* the last migrate op finished before mig_until (monotonic us): its libvirt events (pause,
     * rollback resume) may still be on their way; mig_ok: it succeeded (the domain is gone) */
    gint64 mig_until;
    bool mig_ok;
} uctx_t;

typedef struct entry {
    drv_dom_t dom;
    gint changed_seq;
} entry_t;

struct drv_virt {
    char *uri;
    const drv_virt_backend_t *be;
    void *be_data;
    const drv_virt_cb_t *cb;
    void *ud;
    virt_link_t *link;

    /* worker side */
    GThread *worker;
    GAsyncQueue *jobs;
    gint stopping;
    void *w_conn;            /* worker thread only */
    drv_virt_sink_t *w_sink; /* worker thread only */

    /* main side */
    unsigned gen;
    bool connected;
    bool opening;
    bool lost_early; /* the connection being opened died before its open result arrived */
    bool table_valid;
    bool list_in_flight;
    bool list_again;
    bool ever_connected;
    unsigned open_failures;
    gint seq; /* change counter, read by the worker before a list */
    unsigned reconcile_ms;
    unsigned backoff_min_ms;
    unsigned backoff_max_ms;
    unsigned backoff_ms;
    guint reconnect_timer;
    guint reconcile_timer;
    GHashTable *table; /* uuid -> entry_t */
    GHashTable *uctx;  /* uuid -> uctx_t */
};

const char *drv_dom_state_str(drv_dom_state_t s)
{
    switch (s) {
    case DRV_DOM_STOPPED:
        return "stopped";
    case DRV_DOM_RUNNING:
        return "running";
    case DRV_DOM_PAUSED:
        return "paused";
    case DRV_DOM_OTHER:
        break;
    }
    return "other";
}

const char *drv_dom_job_str(drv_dom_job_t j)
{
    switch (j) {
    case DRV_DOM_JOB_NONE:
        return "none";
    case DRV_DOM_JOB_MIGRATION_OUT:
        return "migration out";
    case DRV_DOM_JOB_MIGRATION_IN:
        return "migration in";
    case DRV_DOM_JOB_OTHER:
        return "other";
    case DRV_DOM_JOB_UNKNOWN:
        break;
    }
    return "unknown";
}

static bool is_migration(drv_dom_job_t j)
{
    return j == DRV_DOM_JOB_MIGRATION_OUT || j == DRV_DOM_JOB_MIGRATION_IN;
}

/* ---- items and the link ---- */

static void sink_free(drv_virt_sink_t *s);
static void link_unref(gpointer data);

static item_t *item_new(item_kind_t kind, job_kind_t job)
{
    item_t *it = g_new0(item_t, 1);

    it->kind = kind;
    it->job = job;
    it->dom_job = DRV_DOM_JOB_UNKNOWN;
    return it;
}

static void item_free(item_t *it)
{
    if (it == NULL) {
        return;
    }
    g_free(it->xml);
    g_free(it->dest_uri);
    g_free(it->migrate_uri);
    g_free(it->errmsg);
    for (size_t i = 0; i < it->n_doms; i++) {
        g_free(it->doms[i].name);
    }
    g_free(it->doms);
    g_free(it->name);
    g_free(it->reason);
    sink_free(it->sink); /* an open that failed or never ran: the sink was not handed over */
    g_free(it);
}

static void link_unref(gpointer data)
{
    virt_link_t *l = data;

    if (g_atomic_int_dec_and_test(&l->ref)) {
        item_t *it;

        while ((it = g_async_queue_try_pop(l->items)) != NULL) {
            item_free(it);
        }
        g_async_queue_unref(l->items);
        g_free(l);
    }
}

static void handle_item(drv_virt_t *v, item_t *it);

static gboolean on_item(gpointer data)
{
    virt_link_t *l = data;
    item_t *it = g_async_queue_try_pop(l->items);

    if (it != NULL) {
        if (l->v != NULL) {
            handle_item(l->v, it);
        }
        item_free(it);
    }
    return G_SOURCE_REMOVE;
}

/* Any thread. */
static void post(virt_link_t *l, item_t *it)
{
    g_async_queue_push(l->items, it);
    g_atomic_int_inc(&l->ref);
    g_idle_add_full(G_PRIORITY_DEFAULT, on_item, l, link_unref);
}

void drv_virt__sink_event(drv_virt_sink_t *s, const char *uuid, const char *name,
                          drv_dom_state_t state, const char *reason)
{
    item_t *it = item_new(ITEM_EVENT, JOB_QUIT);

    it->gen = s->gen;
    if (drv_uuid_canon(uuid, it->uuid) != 0) {
        item_free(it);
        return;
    }
    it->name = g_strdup(name);
    it->state = state;
    it->reason = g_strdup(reason ? reason : drv_dom_state_str(state));
    post(s->link, it);
}

void drv_virt__sink_lost(drv_virt_sink_t *s, const char *why)
{
    item_t *it = item_new(ITEM_LOST, JOB_QUIT);

    it->gen = s->gen;
    it->reason = g_strdup(why ? why : "connection closed");
    post(s->link, it);
}

/* ---- the worker ---- */

/* Any thread. */
drv_virt_sink_t *drv_virt__sink_ref(drv_virt_sink_t *s)
{
    g_atomic_int_inc(&s->ref);
    return s;
}

void drv_virt__sink_unref(void *data)
{
    drv_virt_sink_t *s = data;

    if (s != NULL && g_atomic_int_dec_and_test(&s->ref)) {
        link_unref(s->link);
        g_free(s);
    }
}

static void sink_free(drv_virt_sink_t *s)
{
    drv_virt__sink_unref(s);
}

static void worker_close(drv_virt_t *v)
{
    if (v->w_conn != NULL) {
        v->be->close(v->be_data, v->w_conn);
        v->w_conn = NULL;
    }
    sink_free(v->w_sink);
    v->w_sink = NULL;
}

static int need_conn(drv_virt_t *v, item_t *it)
{
    if (v->w_conn == NULL) {
        it->errmsg = g_strdup("not connected to libvirt");
        return -ENOTCONN;
    }
    return 0;
}

/* Worker: libvirt's job on it->uuid into it->dom_job (left UNKNOWN when the backend cannot
 * tell, or the query failed: the table then keeps what it had). */
static void worker_query_job(drv_virt_t *v, item_t *it)
{
    g_autofree char *err = NULL;
    drv_dom_job_t job = DRV_DOM_JOB_NONE;
    int rc;

    if (v->be->job == NULL || v->w_conn == NULL) {
        return;
    }
    rc = v->be->job(v->be_data, v->w_conn, it->uuid, &job, &err);
    if (rc == 0) {
        it->dom_job = job;
    } else if (rc == -ENOENT) {
        it->dom_job = DRV_DOM_JOB_NONE; /* gone: no job */
    } else {
        qb_log(LOG_DEBUG, "Cannot query the job of %s: %s", it->uuid, err ? err : "?");
    }
}

/* Worker, right before a shutdown/destroy: is libvirt migrating the domain? The table's view,
 * checked when the stop was submitted, may be older than a migration started since (by
 * another droverd, or by this one before a restart). */
static bool worker_refuse_stop(drv_virt_t *v, item_t *it)
{
    worker_query_job(v, it);
    if (!is_migration(it->dom_job)) {
        return false;
    }
    it->rc = -EBUSY;
    it->errmsg = g_strdup_printf("domain %s has a %s job in progress: not stopped", it->uuid,
                                 drv_dom_job_str(it->dom_job));
    return true;
}

static void run_job(drv_virt_t *v, item_t *it)
{
    void *bd = v->be_data;

    if (it->job != JOB_OPEN) {
        it->gen = v->w_sink ? v->w_sink->gen : 0; /* the connection this job really used */
    }
    switch (it->job) {
    case JOB_OPEN:
        worker_close(v);
        it->rc = v->be->open(bd, v->uri, it->sink, &v->w_conn, &it->errmsg);
        if (it->rc == 0) {
            v->w_sink = it->sink;
            it->sink = NULL;
        } else {
            v->w_conn = NULL;
        }
        break;
    case JOB_CLOSE:
        worker_close(v);
        break;
    case JOB_LIST:
        it->seq_at_list = g_atomic_int_get(&v->seq);
        it->rc = need_conn(v, it);
        if (it->rc == 0) {
            it->rc = v->be->list(bd, v->w_conn, &it->doms, &it->n_doms, &it->errmsg);
        }
        break;
    case JOB_CREATE:
        it->rc = need_conn(v, it);
        if (it->rc == 0) {
            it->rc = v->be->create_xml(bd, v->w_conn, it->xml, &it->errmsg);
        }
        break;
    case JOB_SHUTDOWN:
        it->rc = need_conn(v, it);
        if (it->rc == 0 && !worker_refuse_stop(v, it)) {
            it->rc = v->be->shutdown(bd, v->w_conn, it->uuid, &it->errmsg);
        }
        break;
    case JOB_DESTROY:
        it->rc = need_conn(v, it);
        if (it->rc == 0 && !worker_refuse_stop(v, it)) {
            it->rc = v->be->destroy(bd, v->w_conn, it->uuid, &it->errmsg);
        }
        break;
    case JOB_VALIDATE:
        it->rc = v->be->validate_xml(bd, v->w_conn, it->xml, &it->errmsg);
        break;
    case JOB_MIGRATE:
        it->rc = need_conn(v, it);
        if (it->rc == 0 && v->be->migrate == NULL) {
            it->errmsg = g_strdup_printf("the %s backend cannot migrate", v->be->name);
            it->rc = -EIO;
        }
        if (it->rc == 0) {
            /* blocks this worker (every later job) until the migration is over */
            it->rc =
                v->be->migrate(bd, v->w_conn, it->uuid, it->dest_uri, it->migrate_uri, &it->errmsg);
        }
        break;
    case JOB_QUIT:
        break;
    }
    /* the end of an op: what libvirt says about the domain's job now (a refused stop already
     * asked; a dead connection has nothing to say) */
    if ((it->job == JOB_CREATE || it->job == JOB_SHUTDOWN || it->job == JOB_DESTROY ||
         it->job == JOB_MIGRATE) &&
        it->rc != -EBUSY && it->rc != -ENOTCONN) {
        worker_query_job(v, it);
    }
    if (it->rc < 0 && it->errmsg == NULL) {
        it->errmsg =
            g_strdup_printf("%s backend call failed: %s", v->be->name, g_strerror(-it->rc));
    }
}

static gpointer worker_main(gpointer data)
{
    drv_virt_t *v = data;

    for (;;) {
        item_t *it = g_async_queue_pop(v->jobs);

        if (it->job == JOB_QUIT) {
            item_free(it);
            break;
        }
        if (g_atomic_int_get(&v->stopping) && it->job != JOB_CLOSE) {
            item_free(it);
            continue;
        }
        run_job(v, it);
        post(v->link, it);
    }
    worker_close(v);
    return NULL;
}

static void submit(drv_virt_t *v, item_t *it)
{
    g_async_queue_push(v->jobs, it);
}

/* ---- the table and by_us ---- */

static uctx_t *uctx_get(drv_virt_t *v, const char *uuid, bool create)
{
    uctx_t *u = g_hash_table_lookup(v->uctx, uuid);

    if (u == NULL && create) {
        u = g_new0(uctx_t, 1);
        g_queue_init(&u->ops);
        g_hash_table_insert(v->uctx, g_strdup(uuid), u);
    }
    return u;
}

static drv_dom_state_t op_target(const op_t *op)
{
    return op->kind == OP_START ? DRV_DOM_RUNNING : DRV_DOM_STOPPED;
}

static const char *op_kind_str(op_kind_t k)
{
    switch (k) {
    case OP_START:
        return "Start";
    case OP_STOP:
        return "Stop";
    case OP_MIGRATE:
        break;
    }
    return "Migration";
}

/* A change a live migration makes on the source: paused at the end of the copy, stopped when
 * the destination took over, resumed when libvirt rolled a failure back. */
static bool migration_change(drv_dom_state_t state, const char *reason)
{
    switch (state) {
    case DRV_DOM_STOPPED:
        return g_strcmp0(reason, DRV_VIRT_REASON_MIGRATED) == 0;
    case DRV_DOM_PAUSED:
        return g_strcmp0(reason, DRV_VIRT_REASON_PAUSED_MIGRATION) == 0;
    case DRV_DOM_RUNNING:
        return g_strcmp0(reason, DRV_VIRT_REASON_RESUMED_MIGRATION) == 0;
    case DRV_DOM_OTHER:
        break;
    }
    return false;
}

static bool expected(drv_virt_t *v, const char *uuid, drv_dom_state_t state, const char *reason)
{
    uctx_t *u = uctx_get(v, uuid, false);
    gint64 now = g_get_monotonic_time();
    op_t *head;

    if (u == NULL) {
        return false;
    }
    head = g_queue_peek_head(&u->ops);
    if (head != NULL && head->phase != PH_QUEUED) {
        if (head->kind == OP_MIGRATE) {
            /* a crash during a migration is not by us: only what the migration itself does */
            if (migration_change(state, reason)) {
                return true;
            }
        } else if (op_target(head) == state) {
            return true;
        }
    }
    if (now < u->mig_until && migration_change(state, reason)) {
        return true; /* a late event of the migration that just finished */
    }
    return u->recent_valid && u->recent_target == state && now < u->recent_until;
}

static void op_finish(drv_virt_t *v, const char *uuid, int rc, const char *errmsg);

/* Record libvirt's JOB for E (UNKNOWN: keep what the table has). Logged, not reported. */
static void set_job(entry_t *e, drv_dom_job_t job)
{
    if (e->dom.state == DRV_DOM_STOPPED) {
        job = DRV_DOM_JOB_NONE;
    }
    if (job == DRV_DOM_JOB_UNKNOWN || job == e->dom.job) {
        return;
    }
    qb_log(is_migration(job) || is_migration(e->dom.job) ? LOG_NOTICE : LOG_INFO,
           "Domain %s (%s): libvirt job %s (was %s)", e->dom.name ? e->dom.name : "?", e->dom.uuid,
           drv_dom_job_str(job), drv_dom_job_str(e->dom.job));
    e->dom.job = job;
}

/* Record STATE (and libvirt's JOB, UNKNOWN = keep) for UUID; report the state when it is a
 * change. The job is set first, so dom_changed sees it. */
static void apply_state(drv_virt_t *v, const char *uuid, const char *name, drv_dom_state_t state,
                        const char *reason, drv_dom_job_t job)
{
    entry_t *e = g_hash_table_lookup(v->table, uuid);
    uctx_t *u;
    op_t *head;
    bool by_us;

    if (e != NULL && e->dom.state == state) {
        set_job(e, job);
        if (e->dom.name == NULL && name != NULL) {
            e->dom.name = g_strdup(name);
        }
        goto check_op;
    }
    if (e == NULL && state == DRV_DOM_STOPPED) {
        u = uctx_get(v, uuid, false);
        if (u != NULL) {
            u->stopped_seq = g_atomic_int_add(&v->seq, 1) + 1;
        }
        goto check_op; /* never seen up: nothing to report */
    }
    if (e == NULL) {
        e = g_new0(entry_t, 1);
        g_strlcpy(e->dom.uuid, uuid, sizeof(e->dom.uuid));
        g_hash_table_insert(v->table, e->dom.uuid, e);
    }
    if (name != NULL && g_strcmp0(e->dom.name, name) != 0) {
        g_free(e->dom.name);
        e->dom.name = g_strdup(name);
    }
    e->dom.state = state;
    if (state == DRV_DOM_STOPPED) {
        e->dom.job = DRV_DOM_JOB_NONE; /* a job ends with its domain */
    }
    set_job(e, job);
    e->changed_seq = g_atomic_int_add(&v->seq, 1) + 1;
    by_us = expected(v, uuid, state, reason);
    qb_log(by_us || state == DRV_DOM_RUNNING ? LOG_NOTICE : LOG_WARNING,
           "Domain %s (%s) is now %s: %s%s", e->dom.name ? e->dom.name : "?", uuid,
           drv_dom_state_str(state), reason, by_us ? "" : " (not by Drover)");
    if (v->cb->dom_changed != NULL) {
        v->cb->dom_changed(v->ud, &e->dom, by_us, reason);
    }

check_op:
    /* a stop waiting out its grace period is done as soon as the domain is down */
    u = uctx_get(v, uuid, false);
    head = u ? g_queue_peek_head(&u->ops) : NULL;
    if (state == DRV_DOM_STOPPED && head != NULL && head->kind == OP_STOP &&
        head->phase == PH_GRACE) {
        op_finish(v, uuid, 0, NULL);
    }
}

/* ---- connection ---- */

static void submit_open(drv_virt_t *v);

static gboolean on_reconnect(gpointer data)
{
    drv_virt_t *v = data;

    v->reconnect_timer = 0;
    submit_open(v);
    return G_SOURCE_REMOVE;
}

static void schedule_reconnect(drv_virt_t *v)
{
    if (v->reconnect_timer != 0 || v->opening || v->connected) {
        return;
    }
    v->reconnect_timer = g_timeout_add(v->backoff_ms, on_reconnect, v);
    v->backoff_ms = MIN(v->backoff_ms * 2, v->backoff_max_ms);
}

static void submit_open(drv_virt_t *v)
{
    item_t *it = item_new(ITEM_JOB, JOB_OPEN);
    drv_virt_sink_t *s = g_new0(drv_virt_sink_t, 1);

    v->gen++;
    v->opening = true;
    v->lost_early = false;
    s->ref = 1;
    s->gen = v->gen;
    s->link = v->link;
    g_atomic_int_inc(&v->link->ref);
    it->sink = s;
    it->gen = v->gen;
    submit(v, it);
}

static void submit_list(drv_virt_t *v)
{
    item_t *it;

    if (!v->connected) {
        return;
    }
    if (v->list_in_flight) {
        v->list_again = true;
        return;
    }
    it = item_new(ITEM_JOB, JOB_LIST);
    it->gen = v->gen;
    v->list_in_flight = true;
    v->list_again = false;
    submit(v, it);
}

static void conn_lost(drv_virt_t *v, const char *why)
{
    if (!v->connected) {
        return;
    }
    qb_log(LOG_WARNING,
           "Lost the libvirt connection to %s (%s): domain table frozen until "
           "reconnected and reconciled",
           v->uri, why);
    v->connected = false;
    v->table_valid = false;
    v->gen++; /* drop whatever the dead connection still delivers */
    submit(v, item_new(ITEM_JOB, JOB_CLOSE));
    v->backoff_ms = v->backoff_min_ms;
    schedule_reconnect(v);
    if (v->cb->conn_changed != NULL) {
        v->cb->conn_changed(v->ud, false);
    }
}

static void open_done(drv_virt_t *v, item_t *it)
{
    bool lost_early = v->lost_early;

    v->opening = false;
    v->lost_early = false;
    if (it->gen != v->gen) {
        return;
    }
    if (it->rc == 0 && lost_early) {
        it->rc = -ENOTCONN;
        g_free(it->errmsg);
        it->errmsg = g_strdup("connection closed right after it was opened");
        submit(v, item_new(ITEM_JOB, JOB_CLOSE));
    }
    if (it->rc != 0) {
        qb_log(v->open_failures++ == 0 ? LOG_WARNING : LOG_DEBUG,
               "Cannot connect to libvirt at %s: %s (retrying in %u ms)", v->uri, it->errmsg,
               v->backoff_ms);
        schedule_reconnect(v);
        return;
    }
    qb_log(LOG_NOTICE, "Connected to libvirt at %s%s", v->uri, v->ever_connected ? " again" : "");
    v->connected = true;
    v->ever_connected = true;
    v->open_failures = 0;
    v->backoff_ms = v->backoff_min_ms;
    submit_list(v);
    if (v->cb->conn_changed != NULL) {
        v->cb->conn_changed(v->ud, true);
    }
}

/* ---- reconcile ---- */

static const char *found_reason(drv_dom_state_t s)
{
    switch (s) {
    case DRV_DOM_RUNNING:
        return "found running";
    case DRV_DOM_PAUSED:
        return "found paused";
    case DRV_DOM_STOPPED:
        return "found stopped";
    case DRV_DOM_OTHER:
        break;
    }
    return "found in another state";
}

static void list_done(drv_virt_t *v, item_t *it)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter iter;
    gpointer key;
    gpointer val;

    v->list_in_flight = false;
    if (it->gen != v->gen || !v->connected) {
        return;
    }
    if (it->rc == -ENOTCONN) {
        conn_lost(v, it->errmsg);
        return;
    }
    if (it->rc != 0) {
        qb_log(LOG_WARNING, "Cannot list the domains of %s: %s", v->uri, it->errmsg);
        goto again;
    }
    for (size_t i = 0; i < it->n_doms; i++) {
        drv_dom_t *d = &it->doms[i];
        entry_t *e;

        if (drv_uuid_canon(d->uuid, d->uuid) != 0) {
            continue;
        }
        g_hash_table_add(seen, d->uuid);
        e = g_hash_table_lookup(v->table, d->uuid);
        if (e != NULL && e->changed_seq > it->seq_at_list) {
            continue; /* an event after the list was taken is newer */
        }
        if (e == NULL && d->state == DRV_DOM_STOPPED) {
            /* defined but shut off, never seen running: known, nothing to report */
            e = g_new0(entry_t, 1);
            g_strlcpy(e->dom.uuid, d->uuid, sizeof(e->dom.uuid));
            e->dom.name = g_strdup(d->name);
            g_hash_table_insert(v->table, e->dom.uuid, e);
            continue;
        }
        apply_state(v, d->uuid, d->name, d->state, found_reason(d->state), d->job);
    }
    g_hash_table_iter_init(&iter, v->table);
    while (g_hash_table_iter_next(&iter, &key, &val)) {
        entry_t *e = val;

        if (!g_hash_table_contains(seen, key) && e->changed_seq <= it->seq_at_list) {
            g_ptr_array_add(gone, g_strdup(key));
        }
    }
    for (guint i = 0; i < gone->len; i++) {
        const char *uuid = g_ptr_array_index(gone, i);

        apply_state(v, uuid, NULL, DRV_DOM_STOPPED, "vanished", DRV_DOM_JOB_NONE);
        g_hash_table_remove(v->table, uuid);
    }
    v->table_valid = true;
    if (v->cb->reconciled != NULL) {
        v->cb->reconciled(v->ud);
    }
again:
    if (v->list_again) {
        submit_list(v);
    }
}

static gboolean on_reconcile_timer(gpointer data)
{
    drv_virt_t *v = data;
    GHashTableIter iter;
    gpointer val;
    gint64 now = g_get_monotonic_time();

    /* forget idle UUIDs whose by_us window has passed */
    g_hash_table_iter_init(&iter, v->uctx);
    while (g_hash_table_iter_next(&iter, NULL, &val)) {
        uctx_t *u = val;

        if (g_queue_is_empty(&u->ops) && (!u->recent_valid || now >= u->recent_until) &&
            now >= u->mig_until) {
            g_hash_table_iter_remove(&iter);
        }
    }
    submit_list(v);
    return G_SOURCE_CONTINUE;
}

void drv_virt_reconcile_now(drv_virt_t *v)
{
    if (v != NULL) {
        submit_list(v);
    }
}

/* ---- ops ---- */

static int map_rc(int rc)
{
    switch (rc) {
    case -ENOTCONN:
        return DRV_ERR_NOT_CONNECTED;
    case -EINVAL:
        return DRV_ERR_BAD_ARGS;
    case -EEXIST:
        return DRV_ERR_EXISTS;
    case -ENOENT:
        return DRV_ERR_UNKNOWN_RESOURCE;
    case -EBUSY:
        return DRV_ERR_BUSY;
    default:
        return rc;
    }
}

static void op_free(op_t *op)
{
    if (op == NULL) {
        return;
    }
    if (op->grace_timer != 0) {
        g_source_remove(op->grace_timer);
    }
    g_free(op->name);
    g_free(op->xml);
    g_free(op->dest_uri);
    g_free(op->migrate_uri);
    g_free(op);
}

static void op_dispatch(drv_virt_t *v, const char *uuid);

/* Finish the head op of UUID. */
static void op_finish(drv_virt_t *v, const char *uuid, int rc, const char *errmsg)
{
    uctx_t *u = uctx_get(v, uuid, false);
    op_t *op = u ? g_queue_pop_head(&u->ops) : NULL;
    uint64_t id;

    if (op == NULL) {
        return;
    }
    id = op->id;
    if (rc == 0) {
        u->recent_valid = true;
        u->recent_target = op_target(op);
        u->recent_until = g_get_monotonic_time() + (gint64)DRV_VIRT_BY_US_WINDOW_MS * 1000;
    }
    if (op->kind == OP_MIGRATE) {
        u->mig_ok = rc == 0;
        u->mig_until = g_get_monotonic_time() + (gint64)DRV_VIRT_BY_US_WINDOW_MS * 1000;
    }
    if (rc == 0) {
        qb_log(LOG_INFO, "%s of %s done (op %" PRIu64 ")", op_kind_str(op->kind), uuid, id);
    } else {
        qb_log(LOG_ERR, "%s of %s failed (op %" PRIu64 "): %s", op_kind_str(op->kind), uuid, id,
               errmsg ? errmsg : "");
    }
    op_free(op);
    if (v->cb->op_done != NULL) {
        v->cb->op_done(v->ud, id, rc, rc == 0 ? NULL : errmsg);
    }
    op_dispatch(v, uuid);
}

static void op_submit_job(drv_virt_t *v, op_t *op, job_kind_t job)
{
    item_t *it = item_new(ITEM_JOB, job);

    it->op_id = op->id;
    it->seq_at_submit = g_atomic_int_get(&v->seq);
    g_strlcpy(it->uuid, op->uuid, sizeof(it->uuid));
    if (job == JOB_CREATE) {
        it->xml = g_strdup(op->xml);
    }
    if (job == JOB_MIGRATE) {
        it->dest_uri = g_strdup(op->dest_uri);
        it->migrate_uri = g_strdup(op->migrate_uri);
    }
    submit(v, it);
}

/* NULL when a stop of UUID may go ahead as far as the table knows, else why not (g_malloc'd):
 * libvirt is migrating the domain. */
static char *stop_refusal(drv_virt_t *v, const char *uuid)
{
    const entry_t *e = g_hash_table_lookup(v->table, uuid);

    if (e == NULL || !is_migration(e->dom.job)) {
        return NULL;
    }
    qb_log(LOG_WARNING, "Stop of domain %s (%s) refused: libvirt has a %s job in progress",
           e->dom.name ? e->dom.name : "?", uuid, drv_dom_job_str(e->dom.job));
    return g_strdup_printf("domain %s has a %s job in progress: not stopped", uuid,
                           drv_dom_job_str(e->dom.job));
}

static void op_dispatch(drv_virt_t *v, const char *uuid)
{
    uctx_t *u = uctx_get(v, uuid, false);
    op_t *op = u ? g_queue_peek_head(&u->ops) : NULL;
    g_autofree char *busy = NULL;

    if (op == NULL || op->phase != PH_QUEUED) {
        return;
    }
    if (op->kind == OP_STOP && (busy = stop_refusal(v, uuid)) != NULL) {
        /* a stop that waited behind another op: the migration started meanwhile (never the
         * case inside drv_virt_stop itself, which checked before queueing) */
        op_finish(v, uuid, DRV_ERR_BUSY, busy); /* dispatches the next op */
        return;
    }
    op->phase = PH_RUNNING;
    if (op->kind == OP_START) {
        qb_log(LOG_NOTICE, "Starting domain %s (%s), op %" PRIu64, op->name, op->uuid, op->id);
        op_submit_job(v, op, JOB_CREATE);
    } else if (op->kind == OP_MIGRATE) {
        qb_log(LOG_NOTICE, "Live-migrating domain %s to %s (stream %s), op %" PRIu64, op->uuid,
               op->dest_uri, op->migrate_uri ? op->migrate_uri : "libvirt's default", op->id);
        op_submit_job(v, op, JOB_MIGRATE);
    } else if (op->grace_ms == 0) {
        qb_log(LOG_NOTICE, "Destroying domain %s, op %" PRIu64, op->uuid, op->id);
        op->phase = PH_DESTROYING;
        op_submit_job(v, op, JOB_DESTROY);
    } else {
        qb_log(LOG_NOTICE, "Shutting down domain %s (grace %u ms), op %" PRIu64, op->uuid,
               op->grace_ms, op->id);
        op_submit_job(v, op, JOB_SHUTDOWN);
    }
}

static gboolean on_grace_expired(gpointer data)
{
    op_t *op = data;
    g_autofree char *busy = NULL;

    op->grace_timer = 0;
    busy = stop_refusal(op->v, op->uuid);
    if (busy != NULL) {
        op_finish(op->v, op->uuid, DRV_ERR_BUSY, busy); /* frees op */
        return G_SOURCE_REMOVE;
    }
    qb_log(LOG_NOTICE, "Domain %s still up %u ms after the shutdown request: destroying", op->uuid,
           op->grace_ms);
    op->phase = PH_DESTROYING;
    op_submit_job(op->v, op, JOB_DESTROY);
    return G_SOURCE_REMOVE;
}

/* Did an event (or a list) change what the table says about the job's UUID after the job was
 * submitted? Events and job results reach the loop in the order they were posted, and libvirt
 * may post a crash before the create call returns: then the job's own view is older. */
static bool changed_since_submit(drv_virt_t *v, const item_t *it, const uctx_t *u)
{
    const entry_t *e = g_hash_table_lookup(v->table, it->uuid);

    if (e != NULL && e->changed_seq > it->seq_at_submit) {
        return true;
    }
    return u != NULL && u->stopped_seq > it->seq_at_submit;
}

static void op_job_done(drv_virt_t *v, item_t *it)
{
    uctx_t *u = uctx_get(v, it->uuid, false);
    op_t *op = u ? g_queue_peek_head(&u->ops) : NULL;
    entry_t *e;
    int rc = it->rc;

    if (op == NULL || op->id != it->op_id) {
        qb_log(LOG_ERR, "Result of an unknown op %" PRIu64 " for %s dropped", it->op_id, it->uuid);
        return;
    }
    /* libvirt's job as the worker saw it at the end of the call (before op_done, which may
     * look); a start's new entry gets it below */
    e = g_hash_table_lookup(v->table, it->uuid);
    if (e != NULL && it->gen == v->gen) {
        set_job(e, it->dom_job);
    }
    if (rc == -ENOTCONN) {
        if (it->gen == v->gen) {
            conn_lost(v, it->errmsg);
        }
        op_finish(v, it->uuid, DRV_ERR_NOT_CONNECTED, it->errmsg);
        return;
    }
    switch (it->job) {
    case JOB_CREATE:
        if (rc == 0) {
            /* an event since the submit (its STARTED, or a crash right after) is newer */
            if (!changed_since_submit(v, it, u)) {
                apply_state(v, op->uuid, op->name, DRV_DOM_RUNNING, "started", it->dom_job);
            }
            op_finish(v, it->uuid, 0, NULL);
            return;
        }
        e = g_hash_table_lookup(v->table, it->uuid);
        if (rc == -EEXIST ||
            (e != NULL && (e->dom.state == DRV_DOM_RUNNING || e->dom.state == DRV_DOM_PAUSED))) {
            rc = DRV_ERR_EXISTS;
        }
        op_finish(v, it->uuid, map_rc(rc), it->errmsg);
        return;
    case JOB_SHUTDOWN:
        if (rc == -EBUSY) {
            /* migrating: no destroy either */
            op_finish(v, it->uuid, DRV_ERR_BUSY, it->errmsg);
            return;
        }
        if (rc == -ENOENT) {
            apply_state(v, op->uuid, NULL, DRV_DOM_STOPPED, "stopped", DRV_DOM_JOB_NONE);
            op_finish(v, it->uuid, 0, NULL);
            return;
        }
        if (rc != 0) {
            qb_log(LOG_WARNING, "Shutdown of %s refused (%s): destroying", op->uuid, it->errmsg);
            op->phase = PH_DESTROYING;
            op_submit_job(v, op, JOB_DESTROY);
            return;
        }
        e = g_hash_table_lookup(v->table, it->uuid);
        if (e != NULL && e->dom.state == DRV_DOM_STOPPED) {
            /* the stop event came before this result */
            op_finish(v, it->uuid, 0, NULL);
            return;
        }
        op->phase = PH_GRACE;
        op->grace_timer = g_timeout_add(op->grace_ms, on_grace_expired, op);
        return;
    case JOB_DESTROY:
        if (rc == 0 || rc == -ENOENT) {
            /* likewise: a newer event (its STOPPED, or a start by someone else) wins */
            if (!changed_since_submit(v, it, u)) {
                apply_state(v, op->uuid, NULL, DRV_DOM_STOPPED, rc == 0 ? "destroyed" : "stopped",
                            DRV_DOM_JOB_NONE);
            }
            op_finish(v, it->uuid, 0, NULL);
            return;
        }
        op_finish(v, it->uuid, map_rc(rc), it->errmsg);
        return;
    case JOB_MIGRATE:
        if (rc == 0) {
            /* the domain is gone from here, whatever events (its pause) came since the submit;
             * a STOPPED "migrated" event already applied makes this a no-op */
            apply_state(v, op->uuid, NULL, DRV_DOM_STOPPED, DRV_VIRT_REASON_MIGRATED,
                        DRV_DOM_JOB_NONE);
            op_finish(v, it->uuid, 0, NULL);
            return;
        }
        op_finish(v, it->uuid, map_rc(rc), it->errmsg);
        if (rc != -ENOENT) {
            /* libvirt rolled back; let a list pass confirm what the events said (a failure in
             * the last phase may leave the domain at the destination after all) */
            submit_list(v);
        }
        return;
    default:
        return;
    }
}

/* Deliver op_done for OP_ID from the loop, not from inside the caller. */
static void fail_later(drv_virt_t *v, uint64_t op_id, int rc, char *errmsg)
{
    item_t *it = item_new(ITEM_FAIL, JOB_QUIT);

    it->op_id = op_id;
    it->rc = rc;
    it->errmsg = errmsg;
    post(v->link, it);
}

static void op_enqueue(drv_virt_t *v, op_t *op)
{
    uctx_t *u = uctx_get(v, op->uuid, true);

    op->v = v;
    g_queue_push_tail(&u->ops, op);
    op_dispatch(v, op->uuid);
}

int drv_virt_start(drv_virt_t *v, uint64_t op_id, const char *xml)
{
    drv_dom_def_t def;
    char *err = NULL;
    op_t *op;

    if (v == NULL || xml == NULL) {
        return DRV_ERR_BAD_ARGS;
    }
    if (!v->connected) {
        return DRV_ERR_NOT_CONNECTED;
    }
    if (drv_virt_parse_xml(xml, &def, &err) != 0) {
        fail_later(v, op_id, DRV_ERR_BAD_ARGS, err);
        return 0;
    }
    op = g_new0(op_t, 1);
    op->id = op_id;
    op->kind = OP_START;
    g_strlcpy(op->uuid, def.uuid, sizeof(op->uuid));
    op->name = g_steal_pointer(&def.name);
    op->xml = g_strdup(xml);
    drv_dom_def_clear(&def);
    op_enqueue(v, op);
    return 0;
}

int drv_virt_stop(drv_virt_t *v, uint64_t op_id, const char *uuid, unsigned grace_ms)
{
    char canon[DRV_UUID_STRLEN];
    g_autofree char *busy = NULL;
    op_t *op;

    if (v == NULL || uuid == NULL || drv_uuid_canon(uuid, canon) != 0) {
        return DRV_ERR_BAD_ARGS;
    }
    if (!v->connected) {
        return DRV_ERR_NOT_CONNECTED;
    }
    busy = stop_refusal(v, canon);
    if (busy != NULL) {
        return DRV_ERR_BUSY;
    }
    op = g_new0(op_t, 1);
    op->id = op_id;
    op->kind = OP_STOP;
    op->grace_ms = grace_ms;
    g_strlcpy(op->uuid, canon, sizeof(op->uuid));
    op_enqueue(v, op);
    return 0;
}

int drv_virt_migrate(drv_virt_t *v, uint64_t op_id, const char *uuid, const char *dest_uri,
                     const char *migrate_uri)
{
    char canon[DRV_UUID_STRLEN];
    op_t *op;

    if (v == NULL || uuid == NULL || dest_uri == NULL || *dest_uri == '\0' ||
        drv_uuid_canon(uuid, canon) != 0) {
        return DRV_ERR_BAD_ARGS;
    }
    if (!v->connected) {
        return DRV_ERR_NOT_CONNECTED;
    }
    op = g_new0(op_t, 1);
    op->id = op_id;
    op->kind = OP_MIGRATE;
    g_strlcpy(op->uuid, canon, sizeof(op->uuid));
    op->dest_uri = g_strdup(dest_uri);
    op->migrate_uri = migrate_uri && *migrate_uri ? g_strdup(migrate_uri) : NULL;
    op_enqueue(v, op);
    return 0;
}

int drv_virt_validate(drv_virt_t *v, uint64_t op_id, const char *xml)
{
    drv_dom_def_t def;
    char *err = NULL;
    item_t *it;

    if (v == NULL || xml == NULL) {
        return DRV_ERR_BAD_ARGS;
    }
    if (drv_virt_parse_xml(xml, &def, &err) != 0) {
        fail_later(v, op_id, DRV_ERR_BAD_ARGS, err);
        return 0;
    }
    it = item_new(ITEM_JOB, JOB_VALIDATE);
    it->op_id = op_id;
    g_strlcpy(it->uuid, def.uuid, sizeof(it->uuid));
    it->xml = g_strdup(xml);
    drv_dom_def_clear(&def);
    submit(v, it);
    return 0;
}

/* ---- dispatch of items on the main loop ---- */

/* libvirt dispatches events from the loop, so the pause of a migration can reach us after the
 * migration's own result: the domain is gone by then, and must not come back as "paused". */
static bool stale_migration_event(drv_virt_t *v, const item_t *it)
{
    const uctx_t *u = uctx_get(v, it->uuid, false);
    const entry_t *e = g_hash_table_lookup(v->table, it->uuid);

    return u != NULL && u->mig_ok && g_get_monotonic_time() < u->mig_until &&
           it->state != DRV_DOM_STOPPED && migration_change(it->state, it->reason) &&
           (e == NULL || e->dom.state == DRV_DOM_STOPPED);
}

static void handle_item(drv_virt_t *v, item_t *it)
{
    const entry_t *e;

    switch (it->kind) {
    case ITEM_EVENT:
        if (it->gen != v->gen || !v->connected) {
            qb_log(LOG_DEBUG, "Event for %s while not connected: ignored (%s)", it->uuid,
                   it->reason);
            return;
        }
        if (stale_migration_event(v, it)) {
            qb_log(LOG_DEBUG, "Late migration event for %s dropped: migrated away (%s)", it->uuid,
                   it->reason);
            return;
        }
        apply_state(v, it->uuid, it->name, it->state, it->reason, DRV_DOM_JOB_UNKNOWN);
        e = g_hash_table_lookup(v->table, it->uuid);
        if (e != NULL && is_migration(e->dom.job)) {
            /* events carry no job: ask libvirt whether the migration is over (a rollback's
             * resume, the destination's resume) rather than refuse stops until the next pass */
            submit_list(v);
        }
        return;
    case ITEM_LOST:
        if (it->gen == v->gen && v->opening) {
            v->lost_early = true;
        } else if (it->gen == v->gen) {
            conn_lost(v, it->reason);
        }
        return;
    case ITEM_FAIL:
        if (v->cb->op_done != NULL) {
            v->cb->op_done(v->ud, it->op_id, it->rc, it->errmsg);
        }
        return;
    case ITEM_JOB:
        break;
    }
    switch (it->job) {
    case JOB_OPEN:
        open_done(v, it);
        return;
    case JOB_LIST:
        list_done(v, it);
        return;
    case JOB_VALIDATE:
        if (v->cb->op_done != NULL) {
            v->cb->op_done(v->ud, it->op_id, map_rc(it->rc), it->rc == 0 ? NULL : it->errmsg);
        }
        return;
    case JOB_CREATE:
    case JOB_SHUTDOWN:
    case JOB_DESTROY:
    case JOB_MIGRATE:
        op_job_done(v, it);
        return;
    case JOB_CLOSE:
    case JOB_QUIT:
        return;
    }
}

/* ---- life cycle and queries ---- */

static void entry_free(gpointer data)
{
    entry_t *e = data;

    g_free(e->dom.name);
    g_free(e);
}

static void uctx_free(gpointer data)
{
    uctx_t *u = data;

    g_queue_clear_full(&u->ops, (GDestroyNotify)op_free);
    g_free(u);
}

drv_virt_t *drv_virt_new(const char *uri, const drv_virt_backend_t *be, void *be_data,
                         const drv_virt_cb_t *cb, void *ud)
{
    drv_virt_t *v;

    if (be == NULL || cb == NULL) {
        return NULL;
    }
    v = g_new0(drv_virt_t, 1);
    v->uri = g_strdup(uri ? uri : DRV_VIRT_DEFAULT_URI);
    v->be = be;
    v->be_data = be_data;
    v->cb = cb;
    v->ud = ud;
    v->link = g_new0(virt_link_t, 1);
    v->link->ref = 1;
    v->link->v = v;
    v->link->items = g_async_queue_new();
    v->jobs = g_async_queue_new();
    v->reconcile_ms = RECONCILE_MS;
    v->backoff_min_ms = BACKOFF_MIN_MS;
    v->backoff_max_ms = BACKOFF_MAX_MS;
    v->backoff_ms = BACKOFF_MIN_MS;
    v->table = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, entry_free);
    v->uctx = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, uctx_free);
    v->worker = g_thread_new("drv-virt", worker_main, v);
    v->reconcile_timer = g_timeout_add(v->reconcile_ms, on_reconcile_timer, v);
    submit_open(v);
    return v;
}

void drv_virt_set_timing(drv_virt_t *v, unsigned reconcile_ms, unsigned backoff_min_ms,
                         unsigned backoff_max_ms)
{
    if (v == NULL) {
        return;
    }
    if (reconcile_ms != 0 && reconcile_ms != v->reconcile_ms) {
        v->reconcile_ms = reconcile_ms;
        g_source_remove(v->reconcile_timer);
        v->reconcile_timer = g_timeout_add(v->reconcile_ms, on_reconcile_timer, v);
    }
    if (backoff_min_ms != 0) {
        v->backoff_min_ms = backoff_min_ms;
        v->backoff_ms = backoff_min_ms;
    }
    if (backoff_max_ms != 0) {
        v->backoff_max_ms = MAX(backoff_max_ms, v->backoff_min_ms);
    }
}

void drv_virt_free(drv_virt_t *v)
{
    item_t *it;

    if (v == NULL) {
        return;
    }
    g_atomic_int_set(&v->stopping, 1);
    submit(v, item_new(ITEM_JOB, JOB_CLOSE));
    submit(v, item_new(ITEM_JOB, JOB_QUIT));
    g_thread_join(v->worker);
    while ((it = g_async_queue_try_pop(v->jobs)) != NULL) {
        item_free(it);
    }
    g_async_queue_unref(v->jobs);
    if (v->reconnect_timer != 0) {
        g_source_remove(v->reconnect_timer);
    }
    g_source_remove(v->reconcile_timer);
    v->link->v = NULL;
    while ((it = g_async_queue_try_pop(v->link->items)) != NULL) {
        item_free(it);
    }
    link_unref(v->link);
    g_hash_table_destroy(v->uctx);
    g_hash_table_destroy(v->table);
    g_free(v->uri);
    g_free(v);
}

bool drv_virt_connected(const drv_virt_t *v)
{
    return v != NULL && v->connected;
}

bool drv_virt_table_valid(const drv_virt_t *v)
{
    return v != NULL && v->connected && v->table_valid;
}

const drv_dom_t *drv_virt_lookup(const drv_virt_t *v, const char *uuid)
{
    char canon[DRV_UUID_STRLEN];
    const entry_t *e;

    if (v == NULL || uuid == NULL || drv_uuid_canon(uuid, canon) != 0) {
        return NULL;
    }
    e = g_hash_table_lookup(v->table, canon);
    return e ? &e->dom : NULL;
}

bool drv_virt_migrating(const drv_virt_t *v, const char *uuid)
{
    char canon[DRV_UUID_STRLEN];
    const entry_t *e;
    const uctx_t *u;

    if (v == NULL || uuid == NULL || drv_uuid_canon(uuid, canon) != 0) {
        return false;
    }
    e = g_hash_table_lookup(v->table, canon);
    if (e != NULL && is_migration(e->dom.job)) {
        return true;
    }
    u = g_hash_table_lookup(v->uctx, canon);
    if (u != NULL) {
        for (const GList *l = u->ops.head; l != NULL; l = l->next) {
            if (((const op_t *)l->data)->kind == OP_MIGRATE) {
                return true;
            }
        }
    }
    return false;
}

size_t drv_virt_count(const drv_virt_t *v)
{
    return v ? g_hash_table_size(v->table) : 0;
}

void drv_virt_foreach(const drv_virt_t *v, void (*fn)(void *ud, const drv_dom_t *dom), void *ud)
{
    GHashTableIter iter;
    gpointer val;

    if (v == NULL || fn == NULL) {
        return;
    }
    g_hash_table_iter_init(&iter, v->table);
    while (g_hash_table_iter_next(&iter, NULL, &val)) {
        fn(ud, &((entry_t *)val)->dom);
    }
}
