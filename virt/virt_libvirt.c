/* The real backend: libvirt. Runs in the driver's worker thread, except the two libvirt
 * callbacks (lifecycle events and connection close), which libvirt calls from its event loop
 * (GLib's default context, see drv_virt_global_init) or, for the close callback, from whichever
 * thread noticed the dead socket; both only post through the sink, which they hold a reference
 * to for as long as libvirt may call them.
 *
 * libvirt reports failures as -1 + a thread-local virError: converted here, at the boundary,
 * into a negative errno (virt.h) and the message text. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "virt.h"

#define LIBVIRT_DOMAIN_RNG "/usr/share/libvirt/schemas/domain.rng"

typedef struct lv_conn {
    virConnectPtr conn;
    int event_id;
    /* the close callback's reference to the sink: released by us after unregistering, since
     * drivers without close callbacks (test://) accept the registration and drop the freecb */
    drv_virt_sink_t *close_sink;
} lv_conn_t;

/* ---- errors ---- */

static void lv_error_func(void *ud, virErrorPtr err)
{
    /* libvirt would print to stderr; the caller reports what matters through op_done */
    qb_log(LOG_DEBUG, "libvirt: %s", err && err->message ? err->message : "(no message)");
}

static int lv_rc(int code, int domain)
{
    switch (code) {
    case VIR_ERR_NO_DOMAIN:
        return -ENOENT;
    case VIR_ERR_DOM_EXIST:
        return -EEXIST;
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_XML_DETAIL:
    case VIR_ERR_XML_INVALID_SCHEMA:
    case VIR_ERR_CONFIG_UNSUPPORTED:
    case VIR_ERR_INVALID_ARG:
    case VIR_ERR_NO_SUPPORT:
        return -EINVAL;
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_INVALID_CONN:
    case VIR_ERR_RPC:
        return -ENOTCONN;
    case VIR_ERR_SYSTEM_ERROR:
        return domain == VIR_FROM_RPC || domain == VIR_FROM_REMOTE ? -ENOTCONN : -EIO;
    default:
        return -EIO;
    }
}

/* After a libvirt call returned failure: the errno-style code, *ERRMSG = "WHAT: message". */
static int lv_fail(virConnectPtr conn, const char *what, char **errmsg)
{
    virErrorPtr e = virGetLastError();
    int rc = e ? lv_rc(e->code, e->domain) : -EIO;

    *errmsg = g_strdup_printf("%s: %s", what, e && e->message ? e->message : "unknown error");
    virResetLastError();
    if (rc == -EIO && conn != NULL && virConnectIsAlive(conn) == 0) {
        rc = -ENOTCONN;
    }
    virResetLastError();
    return rc;
}

/* ---- events ---- */

/* libvirt's lifecycle event (type, detail) -> our state and reason. detail -1: any other. */
static const struct {
    int event;
    int detail;
    drv_dom_state_t state;
    const char *reason; /* NULL: no state change (ignored) */
} lv_events[] = {
    {VIR_DOMAIN_EVENT_DEFINED, -1, DRV_DOM_OTHER, NULL},
    {VIR_DOMAIN_EVENT_UNDEFINED, -1, DRV_DOM_OTHER, NULL},
    {VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_BOOTED, DRV_DOM_RUNNING, "started"},
    {VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_MIGRATED, DRV_DOM_RUNNING, "migrated in"},
    {VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_RESTORED, DRV_DOM_RUNNING, "restored"},
    {VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_FROM_SNAPSHOT, DRV_DOM_RUNNING,
     "started from snapshot"},
    {VIR_DOMAIN_EVENT_STARTED, VIR_DOMAIN_EVENT_STARTED_WAKEUP, DRV_DOM_RUNNING, "woken up"},
    {VIR_DOMAIN_EVENT_STARTED, -1, DRV_DOM_RUNNING, "started"},
    {VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_MIGRATED, DRV_DOM_PAUSED,
     DRV_VIRT_REASON_PAUSED_MIGRATION},
    {VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_IOERROR, DRV_DOM_PAUSED,
     "paused on I/O error"},
    {VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_WATCHDOG, DRV_DOM_PAUSED,
     "paused by watchdog"},
    {VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_API_ERROR, DRV_DOM_PAUSED,
     "paused on API error"},
    {VIR_DOMAIN_EVENT_SUSPENDED, VIR_DOMAIN_EVENT_SUSPENDED_POSTCOPY_FAILED, DRV_DOM_PAUSED,
     "paused: post-copy migration failed"},
    {VIR_DOMAIN_EVENT_SUSPENDED, -1, DRV_DOM_PAUSED, "paused"},
    {VIR_DOMAIN_EVENT_RESUMED, VIR_DOMAIN_EVENT_RESUMED_MIGRATED, DRV_DOM_RUNNING,
     DRV_VIRT_REASON_RESUMED_MIGRATION},
    {VIR_DOMAIN_EVENT_RESUMED, -1, DRV_DOM_RUNNING, "resumed"},
    {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN, DRV_DOM_STOPPED,
     "shutdown by guest"},
    {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_DESTROYED, DRV_DOM_STOPPED, "destroyed"},
    {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_CRASHED, DRV_DOM_STOPPED, "crashed"},
    {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_MIGRATED, DRV_DOM_STOPPED,
     DRV_VIRT_REASON_MIGRATED},
    {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_SAVED, DRV_DOM_STOPPED, "saved"},
    {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FAILED, DRV_DOM_STOPPED,
     "failed (hypervisor error)"},
    {VIR_DOMAIN_EVENT_STOPPED, VIR_DOMAIN_EVENT_STOPPED_FROM_SNAPSHOT, DRV_DOM_STOPPED,
     "stopped from snapshot"},
    {VIR_DOMAIN_EVENT_STOPPED, -1, DRV_DOM_STOPPED, "stopped"},
    /* guest-initiated shutdown in progress: still running until STOPPED */
    {VIR_DOMAIN_EVENT_SHUTDOWN, -1, DRV_DOM_RUNNING, NULL},
    {VIR_DOMAIN_EVENT_PMSUSPENDED, -1, DRV_DOM_PAUSED, "pm-suspended"},
    /* on_crash=preserve/coredump: kept, not running */
    {VIR_DOMAIN_EVENT_CRASHED, -1, DRV_DOM_OTHER, "crashed"},
};

static bool lv_map_event(int event, int detail, drv_dom_state_t *state, const char **reason)
{
    for (size_t i = 0; i < G_N_ELEMENTS(lv_events); i++) {
        if (lv_events[i].event == event &&
            (lv_events[i].detail == detail || lv_events[i].detail == -1)) {
            *state = lv_events[i].state;
            *reason = lv_events[i].reason;
            return *reason != NULL;
        }
    }
    return false;
}

static int lv_lifecycle_cb(virConnectPtr conn, virDomainPtr dom, int event, int detail,
                           void *opaque)
{
    char uuid[VIR_UUID_STRING_BUFLEN];
    drv_dom_state_t state;
    const char *reason = NULL;
    const char *name = virDomainGetName(dom);

    if (virDomainGetUUIDString(dom, uuid) < 0) {
        virResetLastError();
        return 0;
    }
    qb_log(LOG_DEBUG, "libvirt lifecycle event %d/%d for %s (%s)", event, detail, name ? name : "?",
           uuid);
    if (lv_map_event(event, detail, &state, &reason)) {
        drv_virt__sink_event(opaque, uuid, name, state, reason);
    }
    return 0;
}

static void lv_close_cb(virConnectPtr conn, int reason, void *opaque)
{
    static const char *const why[] = {"I/O error", "end of file", "keepalive timeout",
                                      "closed by the client"};

    if (reason == VIR_CONNECT_CLOSE_REASON_CLIENT) {
        return; /* our own virConnectClose */
    }
    drv_virt__sink_lost(
        opaque, reason >= 0 && reason < (int)G_N_ELEMENTS(why) ? why[reason] : "connection closed");
}

/* ---- the ops ---- */

static void lv_close(void *bd, void *conn)
{
    lv_conn_t *c = conn;

    if (c == NULL) {
        return;
    }
    if (c->event_id >= 0 && virConnectDomainEventDeregisterAny(c->conn, c->event_id) < 0) {
        virResetLastError();
    }
    if (c->close_sink != NULL) {
        /* serialised with a running close callback: none after this returns */
        if (virConnectUnregisterCloseCallback(c->conn, lv_close_cb) < 0) {
            virResetLastError();
        }
        drv_virt__sink_unref(c->close_sink);
    }
    if (virConnectClose(c->conn) < 0) {
        virResetLastError();
    }
    g_free(c);
}

static int lv_open(void *bd, const char *uri, drv_virt_sink_t *sink, void **conn, char **errmsg)
{
    lv_conn_t *c = g_new0(lv_conn_t, 1);
    g_autofree char *what = g_strdup_printf("cannot connect to %s", uri);
    int rc;

    c->event_id = -1;
    c->conn = virConnectOpen(uri);
    if (c->conn == NULL) {
        rc = lv_fail(NULL, what, errmsg);
        g_free(c);
        return rc == -EINVAL ? rc : -ENOTCONN;
    }
    /* remote connections: notice a hung libvirtd (needs the event loop; local drivers say no) */
    if (virConnectSetKeepAlive(c->conn, 5, 3) < 0) {
        virResetLastError();
    }
    if (virConnectRegisterCloseCallback(c->conn, lv_close_cb, sink, NULL) < 0) {
        virResetLastError();
    } else {
        c->close_sink = drv_virt__sink_ref(sink);
    }
    c->event_id = virConnectDomainEventRegisterAny(c->conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                                   VIR_DOMAIN_EVENT_CALLBACK(lv_lifecycle_cb),
                                                   drv_virt__sink_ref(sink), drv_virt__sink_unref);
    if (c->event_id < 0) {
        rc = lv_fail(c->conn, "cannot register for lifecycle events", errmsg);
        drv_virt__sink_unref(sink);
        lv_close(bd, c);
        return rc;
    }
    *conn = c;
    return 0;
}

static drv_dom_state_t lv_state(int st)
{
    switch (st) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
    case VIR_DOMAIN_SHUTDOWN:
        return DRV_DOM_RUNNING;
    case VIR_DOMAIN_PAUSED:
    case VIR_DOMAIN_PMSUSPENDED:
        return DRV_DOM_PAUSED;
    case VIR_DOMAIN_SHUTOFF:
        return DRV_DOM_STOPPED;
    default:
        return DRV_DOM_OTHER;
    }
}

/* The job in progress on DOM (running or paused): virDomainGetJobStats' type, and when there
 * is one, its VIR_DOMAIN_JOB_OPERATION (libvirt >= 3.3) says whether it is a migration and
 * which way. Without that field (or without virDomainGetJobStats: virDomainGetJobInfo's type)
 * a job is OTHER; a driver with neither call has no jobs (NONE). 0, or -1 with libvirt's
 * error set. */
static int lv_dom_job(virDomainPtr dom, drv_dom_job_t *job)
{
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    int type = VIR_DOMAIN_JOB_NONE;
    int op = VIR_DOMAIN_JOB_OPERATION_UNKNOWN;
    virErrorPtr e;

    if (virDomainGetJobStats(dom, &type, &params, &nparams, 0) < 0) {
        virDomainJobInfo info;

        e = virGetLastError();
        if (e == NULL || e->code != VIR_ERR_NO_SUPPORT) {
            return -1;
        }
        virResetLastError();
        if (virDomainGetJobInfo(dom, &info) < 0) {
            e = virGetLastError();
            if (e == NULL || e->code != VIR_ERR_NO_SUPPORT) {
                return -1;
            }
            /* a hypervisor driver without jobs (test:///default): nothing can be in progress */
            virResetLastError();
            *job = DRV_DOM_JOB_NONE;
            return 0;
        }
        *job = info.type == VIR_DOMAIN_JOB_NONE ? DRV_DOM_JOB_NONE : DRV_DOM_JOB_OTHER;
        return 0;
    }
    if (type == VIR_DOMAIN_JOB_NONE) {
        *job = DRV_DOM_JOB_NONE;
    } else if (virTypedParamsGetInt(params, nparams, VIR_DOMAIN_JOB_OPERATION, &op) != 1) {
        *job = DRV_DOM_JOB_OTHER; /* a job, but libvirt does not say what it is */
    } else if (op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_OUT) {
        *job = DRV_DOM_JOB_MIGRATION_OUT;
    } else if (op == VIR_DOMAIN_JOB_OPERATION_MIGRATION_IN) {
        *job = DRV_DOM_JOB_MIGRATION_IN;
    } else {
        *job = DRV_DOM_JOB_OTHER;
    }
    virResetLastError(); /* a field of another type sets an error: not ours to report */
    virTypedParamsFree(params, nparams);
    return 0;
}

/* The job of a running or paused domain, for a list pass: a failed query leaves it UNKNOWN (the
 * core keeps the value it had) instead of failing the pass; a domain that stopped meanwhile has
 * no job. */
static drv_dom_job_t lv_list_job(virDomainPtr dom, const char *uuid)
{
    drv_dom_job_t job = DRV_DOM_JOB_UNKNOWN;
    virErrorPtr e;

    if (lv_dom_job(dom, &job) == 0) {
        return job;
    }
    e = virGetLastError();
    if (e != NULL && (e->code == VIR_ERR_NO_DOMAIN || e->code == VIR_ERR_OPERATION_INVALID)) {
        job = DRV_DOM_JOB_NONE; /* gone, or no longer running */
    } else {
        qb_log(LOG_WARNING, "Cannot query the job of domain %s: %s (keeping the last known one)",
               uuid, e && e->message ? e->message : "unknown error");
    }
    virResetLastError();
    return job;
}

static int lv_list(void *bd, void *conn, drv_dom_t **doms, size_t *n, char **errmsg)
{
    lv_conn_t *c = conn;
    virDomainPtr *list = NULL;
    int count = virConnectListAllDomains(c->conn, &list, 0);
    size_t k = 0;
    int rc = 0;

    if (count < 0) {
        return lv_fail(c->conn, "cannot list domains", errmsg);
    }
    *doms = g_new0(drv_dom_t, (size_t)count + 1);
    for (int i = 0; i < count; i++) {
        int st = 0;
        int reason = 0;
        const char *name = virDomainGetName(list[i]);
        virErrorPtr e;

        if (virDomainGetUUIDString(list[i], (*doms)[k].uuid) == 0 &&
            virDomainGetState(list[i], &st, &reason, 0) == 0) {
            (*doms)[k].name = g_strdup(name);
            (*doms)[k].state = lv_state(st);
            (*doms)[k].job =
                (*doms)[k].state == DRV_DOM_RUNNING || (*doms)[k].state == DRV_DOM_PAUSED
                    ? lv_list_job(list[i], (*doms)[k].uuid)
                    : DRV_DOM_JOB_NONE;
            k++;
            continue;
        }
        e = virGetLastError();
        if (e != NULL && e->code == VIR_ERR_NO_DOMAIN) {
            /* a transient domain vanished between the list and these calls: skip it */
            virResetLastError();
            continue;
        }
        /* anything else (RPC error, libvirtd busy): a domain left out of the list would be
         * reported as vanished (stopped) while it may still run. Fail the whole pass; the
         * core then leaves the table as it is. */
        rc = lv_fail(c->conn, "cannot query a listed domain", errmsg);
        for (size_t j = 0; j < k; j++) {
            g_free((*doms)[j].name);
        }
        g_free(*doms);
        *doms = NULL;
        break;
    }
    for (int i = 0; i < count; i++) {
        virDomainFree(list[i]);
    }
    free(list);
    *n = rc == 0 ? k : 0;
    return rc;
}

static int lv_create(void *bd, void *conn, const char *xml, char **errmsg)
{
    lv_conn_t *c = conn;
    virDomainPtr dom = virDomainCreateXML(c->conn, xml, VIR_DOMAIN_START_VALIDATE);

    if (dom == NULL) {
        return lv_fail(c->conn, "cannot start the domain", errmsg);
    }
    virDomainFree(dom);
    return 0;
}

/* FN(dom) on the domain with UUID: 0, or -ENOENT when there is none. */
static int lv_on_domain(lv_conn_t *c, const char *uuid, int (*fn)(virDomainPtr), const char *what,
                        char **errmsg)
{
    virDomainPtr dom = virDomainLookupByUUIDString(c->conn, uuid);
    g_autofree char *msg = g_strdup_printf("%s %s", what, uuid);
    int rc = 0;

    if (dom == NULL) {
        return lv_fail(c->conn, msg, errmsg);
    }
    if (fn(dom) < 0) {
        rc = lv_fail(c->conn, msg, errmsg);
        /* stopping a domain that is already shut off */
        if (rc == -EIO && virDomainIsActive(dom) == 0) {
            rc = -ENOENT;
        }
        virResetLastError();
    }
    virDomainFree(dom);
    return rc;
}

/* ACPI power button only: with flags 0, qemu may try the guest agent first, which can block
 * the driver's one worker for a minute when the agent does not answer. A driver that does not
 * know the flag (test:///default, libvirt 9.0) says VIR_ERR_NO_SUPPORT or
 * VIR_ERR_INVALID_ARG ("unsupported flags"): then, and only then, plain virDomainShutdown. */
static int lv_shutdown_acpi(virDomainPtr dom)
{
    virErrorPtr e;

    if (virDomainShutdownFlags(dom, VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN) == 0) {
        return 0;
    }
    e = virGetLastError();
    if (e != NULL && (e->code == VIR_ERR_NO_SUPPORT || e->code == VIR_ERR_INVALID_ARG)) {
        qb_log(LOG_DEBUG, "ACPI-only shutdown refused (%s): plain shutdown",
               e->message ? e->message : "?");
        virResetLastError();
        return virDomainShutdown(dom);
    }
    return -1;
}

static int lv_shutdown(void *bd, void *conn, const char *uuid, char **errmsg)
{
    return lv_on_domain(conn, uuid, lv_shutdown_acpi, "cannot shut down", errmsg);
}

static int lv_destroy(void *bd, void *conn, const char *uuid, char **errmsg)
{
    return lv_on_domain(conn, uuid, virDomainDestroy, "cannot destroy", errmsg);
}

/* After a successful migration: the completed job's statistics, when libvirt still has them
 * here. A transient domain is gone from the source at once (the stats go with it): then
 * nothing is logged (the destination's libvirtd has them: domjobinfo --completed). */
static void lv_log_migration_stats(virDomainPtr dom, const char *uuid)
{
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    int type = 0;
    unsigned long long downtime = 0;
    unsigned long long bytes = 0;
    unsigned long long elapsed = 0;

    if (virDomainGetJobStats(dom, &type, &params, &nparams, VIR_DOMAIN_JOB_STATS_COMPLETED) < 0) {
        virResetLastError();
        return;
    }
    if (nparams > 0) {
        bool have_dt =
            virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DOWNTIME, &downtime) == 1;
        bool have_bytes =
            virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_DATA_PROCESSED, &bytes) == 1 ||
            virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_MEMORY_PROCESSED, &bytes) == 1;

        if (virTypedParamsGetULLong(params, nparams, VIR_DOMAIN_JOB_TIME_ELAPSED, &elapsed) != 1) {
            elapsed = 0;
        }
        if (have_dt || have_bytes) {
            qb_log(LOG_NOTICE,
                   "Migration of %s: %llu ms downtime, %llu bytes transferred, %llu ms elapsed",
                   uuid, downtime, bytes, elapsed);
        }
    }
    virResetLastError();
    virTypedParamsFree(params, nparams);
}

/* Live, peer to peer: this host's libvirtd opens DEST_URI itself (the same way virsh migrate
 * --live --p2p does); QEMU's stream goes to MIGRATE_URI. On failure libvirt resumes the domain
 * here. A connection error is -ENOTCONN only when OUR connection is dead: libvirtd failing to
 * reach the destination reports RPC/system errors too, and must not make the driver drop and
 * reopen its own, healthy connection. */
static int lv_migrate(void *bd, void *conn, const char *uuid, const char *dest_uri,
                      const char *migrate_uri, char **errmsg)
{
    lv_conn_t *c = conn;
    virTypedParameterPtr params = NULL;
    int nparams = 0;
    int maxparams = 0;
    g_autofree char *what = g_strdup_printf("cannot migrate %s to %s", uuid, dest_uri);
    virDomainPtr dom;
    int rc = 0;

    dom = virDomainLookupByUUIDString(c->conn, uuid);
    if (dom == NULL) {
        return lv_fail(c->conn, what, errmsg);
    }
    if (migrate_uri != NULL && virTypedParamsAddString(&params, &nparams, &maxparams,
                                                       VIR_MIGRATE_PARAM_URI, migrate_uri) < 0) {
        rc = lv_fail(c->conn, what, errmsg);
        goto out;
    }
    if (virDomainMigrateToURI3(dom, dest_uri, params, (unsigned)nparams,
                               VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER) < 0) {
        rc = lv_fail(c->conn, what, errmsg);
        if (rc == -ENOTCONN && virConnectIsAlive(c->conn) == 1) {
            rc = -EIO;
        }
        virResetLastError();
        goto out;
    }
    lv_log_migration_stats(dom, uuid);
out:
    virTypedParamsFree(params, nparams);
    virDomainFree(dom);
    return rc;
}

static int lv_job(void *bd, void *conn, const char *uuid, drv_dom_job_t *job, char **errmsg)
{
    lv_conn_t *c = conn;
    g_autofree char *what = g_strdup_printf("cannot query the job of %s", uuid);
    virDomainPtr dom = virDomainLookupByUUIDString(c->conn, uuid);
    int rc = 0;

    if (dom == NULL) {
        return lv_fail(c->conn, what, errmsg);
    }
    if (virDomainIsActive(dom) == 0) {
        *job = DRV_DOM_JOB_NONE; /* shut off: no job to ask about */
    } else if (lv_dom_job(dom, job) < 0) {
        virErrorPtr e = virGetLastError();

        if (e != NULL && e->code == VIR_ERR_OPERATION_INVALID) {
            *job = DRV_DOM_JOB_NONE; /* stopped between the two calls */
            virResetLastError();
        } else {
            rc = lv_fail(c->conn, what, errmsg);
        }
    }
    virResetLastError();
    virDomainFree(dom);
    return rc;
}

static void rng_error(void *ud, xmlErrorPtr e)
{
    GString *s = ud;

    if (s->len == 0 && e != NULL && e->message != NULL) {
        g_string_append_printf(s, "line %d: %s", e->line, e->message);
        g_strchomp(s->str);
        s->len = strlen(s->str);
    }
}

/* libvirt's own schema check (what VIR_DOMAIN_DEFINE_VALIDATE does), without defining. */
static int lv_validate(void *bd, void *conn, const char *xml, char **errmsg)
{
    g_autoptr(GString) err = g_string_new(NULL);
    xmlRelaxNGParserCtxtPtr pctxt = NULL;
    xmlRelaxNGPtr schema = NULL;
    xmlRelaxNGValidCtxtPtr vctxt = NULL;
    xmlDocPtr doc = NULL;
    int rc = 0;

    if (!g_file_test(LIBVIRT_DOMAIN_RNG, G_FILE_TEST_EXISTS)) {
        qb_log(LOG_INFO, "%s not found: domain XML checked by Drover's parser only",
               LIBVIRT_DOMAIN_RNG);
        return 0;
    }
    pctxt = xmlRelaxNGNewParserCtxt(LIBVIRT_DOMAIN_RNG);
    xmlRelaxNGSetParserStructuredErrors(pctxt, rng_error, err);
    schema = pctxt ? xmlRelaxNGParse(pctxt) : NULL;
    if (schema == NULL) {
        *errmsg =
            g_strdup_printf("cannot load libvirt's schema %s: %s", LIBVIRT_DOMAIN_RNG, err->str);
        rc = -EIO;
        goto out;
    }
    doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        *errmsg = g_strdup("domain XML is not well-formed");
        rc = -EINVAL;
        goto out;
    }
    vctxt = xmlRelaxNGNewValidCtxt(schema);
    xmlRelaxNGSetValidStructuredErrors(vctxt, rng_error, err);
    if (xmlRelaxNGValidateDoc(vctxt, doc) != 0) {
        *errmsg = g_strdup_printf("libvirt's domain schema refuses the XML: %s",
                                  err->len ? err->str : "invalid");
        rc = -EINVAL;
    }
out:
    xmlFreeDoc(doc);
    xmlRelaxNGFreeValidCtxt(vctxt);
    xmlRelaxNGFree(schema);
    xmlRelaxNGFreeParserCtxt(pctxt);
    return rc;
}

const drv_virt_backend_t drv_virt_libvirt_backend = {
    .name = "libvirt",
    .open = lv_open,
    .close = lv_close,
    .list = lv_list,
    .create_xml = lv_create,
    .shutdown = lv_shutdown,
    .destroy = lv_destroy,
    .validate_xml = lv_validate,
    .migrate = lv_migrate,
    .job = lv_job,
};

int drv_virt_global_init(void)
{
    static gsize done = 0;
    static int rc = 0;

    if (g_once_init_enter(&done)) {
        xmlInitParser();
        if (virInitialize() < 0 || virEventRegisterDefaultImpl() < 0) {
            rc = -EIO;
        }
        virSetErrorFunc(NULL, lv_error_func);
        g_once_init_leave(&done, 1);
    }
    return rc;
}
