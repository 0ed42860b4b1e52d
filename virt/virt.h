/* The per-host libvirt driver of droverd: keeps a table of the domains this host's libvirt
 * knows, starts and stops transient domains from the XML Drover stores, and reports every
 * state change to its owner (the coordinator) through callbacks.
 *
 * Threading: everything here is called on, and every callback runs on, the thread that
 * iterates GLib's default main context (droverd's one main loop). Blocking libvirt calls run in
 * one private worker thread, in submission order, and their results are posted back to the
 * default context. A backend (the ops table below) is the only code that runs in the worker.
 * A live migration runs in that worker too and blocks it for its whole duration: every other
 * op on this host (and list passes) waits until it has finished.
 *
 * Errors: int 0 on success, negative otherwise (include/drover/results.h):
 *   DRV_ERR_BAD_ARGS       bad arguments or XML the driver or libvirt refuses (errmsg says why)
 *   DRV_ERR_NOT_CONNECTED  libvirt is not reachable right now (errmsg names libvirt; note that
 *                          drv_strerror() still says "corosync" for this code)
 *   DRV_ERR_EXISTS         start of a domain (same UUID) that is already running here
 *   DRV_ERR_BUSY           stop of a domain libvirt is migrating (in or out): refused, nothing
 *                          was done (see drv_virt_stop)
 *   -EIO and other -errno  any other libvirt failure; errmsg carries libvirt's own message
 * An async call (start, stop, migrate, validate) either returns < 0 and never calls op_done for
 * that op, or returns 0 and calls op_done exactly once later (never from inside the call itself).
 * drv_virt_free() abandons pending ops without calling op_done.
 */
#ifndef DRV_VIRT_H
#define DRV_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRV_VIRT_DEFAULT_URI "qemu:///system"
#define DRV_UUID_STRLEN 37 /* 36 characters + NUL, lower case, canonical 8-4-4-4-12 form */

typedef enum {
    DRV_DOM_STOPPED = 0, /* shut off (or gone: transient domains vanish when they stop) */
    DRV_DOM_RUNNING,     /* running, blocked, or in the middle of a guest shutdown */
    DRV_DOM_PAUSED,      /* paused or pm-suspended: present but not executing */
    DRV_DOM_OTHER,       /* crashed-and-preserved, no state, anything else */
} drv_dom_state_t;

const char *drv_dom_state_str(drv_dom_state_t s);

/* The libvirt job in progress on a domain (virDomainGetJobStats), as last seen by a list pass
 * or at the end of an op of this driver for it. A domain being migrated keeps running (OUT, on
 * the source) or sits paused waiting for the memory (IN, on the destination) for the whole
 * copy: neither copy may be stopped or destroyed then (drv_virt_stop refuses). */
typedef enum {
    DRV_DOM_JOB_NONE = 0,      /* no job, the domain is not running, or not known yet */
    DRV_DOM_JOB_MIGRATION_OUT, /* this host is the source of a live migration */
    DRV_DOM_JOB_MIGRATION_IN,  /* this host is the destination: the incoming copy */
    DRV_DOM_JOB_OTHER,         /* another job (save, dump, snapshot...) or one of unknown kind */
    /* Backends only (list, job): the query failed for this domain. Never in the table, which
     * keeps the value it had (NONE for a domain it did not know). */
    DRV_DOM_JOB_UNKNOWN,
} drv_dom_job_t;

const char *drv_dom_job_str(drv_dom_job_t j);

/* A domain as the table knows it. Owned by the driver; valid until the next return to the
 * main loop. A change of JOB alone is not reported through dom_changed: read it here (or ask
 * drv_virt_migrating) before acting on a domain. */
typedef struct drv_dom {
    char uuid[DRV_UUID_STRLEN];
    char *name;
    drv_dom_state_t state;
    drv_dom_job_t job; /* NONE whenever state is STOPPED */
} drv_dom_t;

/* What drv_virt_parse_xml() extracts. The caller owns it: drv_dom_def_clear(). */
typedef struct drv_dom_def {
    char uuid[DRV_UUID_STRLEN]; /* canonical form, whatever form the XML used */
    char *name;
    unsigned vcpus;      /* <vcpu>, 1 when absent (libvirt's default) */
    uint64_t memory_mib; /* <memory>, rounded up to whole MiB */
} drv_dom_def_t;

typedef struct drv_virt_cb {
    /* libvirt became reachable (true) or was lost (false). While lost, the table is frozen and
     * drv_virt_table_valid() is false: nothing is reported as stopped for that reason. */
    void (*conn_changed)(void *ud, bool connected);
    /* A domain's state changed (lifecycle event, operation result or reconcile pass). by_us:
     * the new state is what an operation of this driver for that UUID, in flight or finished
     * less than DRV_VIRT_BY_US_WINDOW_MS ago, was aiming at; false = behind our back (crash,
     * guest shutdown, someone's virsh). reason: short text, e.g. "started", "crashed",
     * "shutdown by guest", "destroyed", "vanished", "found running". DOM is only valid during
     * the call. */
    void (*dom_changed)(void *ud, const drv_dom_t *dom, bool by_us, const char *reason);
    /* The op started with OP_ID finished: RC 0 or negative; ERRMSG NULL on success, else a
     * message for the log/user (only valid during the call). */
    void (*op_done)(void *ud, uint64_t op_id, int rc, const char *errmsg);
    /* A full list pass completed and was applied: the table is authoritative from now on. */
    void (*reconciled)(void *ud);
} drv_virt_cb_t;

#define DRV_VIRT_BY_US_WINDOW_MS 5000

/* dom_changed reasons (and backend event reasons) of a live migration, on the source host:
 * paused at the end of the copy, stopped when the destination took over, resumed when libvirt
 * rolled a failed migration back. */
#define DRV_VIRT_REASON_MIGRATED "migrated"
#define DRV_VIRT_REASON_PAUSED_MIGRATION "paused for migration"
#define DRV_VIRT_REASON_RESUMED_MIGRATION "resumed after migration"

typedef struct drv_virt drv_virt_t;

/* Where a backend delivers what happens on its own (lifecycle events, connection loss). Given
 * to open(). The two functions may be called from any thread, and only post to the main loop;
 * after close() returns, calls are dropped (stale connection), but the pointer itself must not
 * be used unless the backend took a reference: a backend that hands the sink to a library that
 * may call back later (libvirt callbacks) takes one with _ref and releases it with _unref. */
typedef struct drv_virt_sink drv_virt_sink_t;
void drv_virt__sink_event(drv_virt_sink_t *s, const char *uuid, const char *name,
                          drv_dom_state_t state, const char *reason);
void drv_virt__sink_lost(drv_virt_sink_t *s, const char *why);
drv_virt_sink_t *drv_virt__sink_ref(drv_virt_sink_t *s);
void drv_virt__sink_unref(void *s); /* void *: usable as a libvirt/GLib free callback */

/* The hypervisor ops table. Every function except name runs in the driver's worker thread and
 * may block. BD is the backend data given to drv_virt_new(); CONN what open() returned. Return
 * 0 or a negative errno, with *ERRMSG (g_malloc'd, the caller frees) on failure:
 *   -ENOTCONN  the connection is gone (the driver then reconnects)
 *   -ENOENT    no such domain
 *   -EEXIST    a domain with that UUID/name is already present
 *   -EINVAL    the XML or an argument was refused
 *   -EIO       anything else */
typedef struct drv_virt_backend {
    const char *name;
    int (*open)(void *bd, const char *uri, drv_virt_sink_t *sink, void **conn, char **errmsg);
    void (*close)(void *bd, void *conn); /* also unregisters events; CONN may be dead */
    /* All domains libvirt knows, running or defined: *DOMS g_malloc'd, names g_strdup'd; job
     * filled for running and paused domains (a failed job query of one domain: UNKNOWN, and
     * the list still succeeds). */
    int (*list)(void *bd, void *conn, drv_dom_t **doms, size_t *n, char **errmsg);
    int (*create_xml)(void *bd, void *conn, const char *xml, char **errmsg);
    int (*shutdown)(void *bd, void *conn, const char *uuid, char **errmsg); /* ACPI, async */
    int (*destroy)(void *bd, void *conn, const char *uuid, char **errmsg);
    /* Would the hypervisor accept XML? CONN may be NULL (not connected). */
    int (*validate_xml)(void *bd, void *conn, const char *xml, char **errmsg);
    /* Live, peer-to-peer migration of the running domain UUID to the libvirtd at DEST_URI, the
     * migration stream to MIGRATE_URI (NULL: libvirt's default). Blocks until it is over: 0 =
     * the domain runs at the destination. -ENOTCONN only when CONN itself is gone (a failure
     * to reach the destination is -EIO: the driver must not drop its own connection for it). */
    int (*migrate)(void *bd, void *conn, const char *uuid, const char *dest_uri,
                   const char *migrate_uri, char **errmsg);
    /* The job in progress on domain UUID: *JOB NONE when it has none or is not running. -ENOENT
     * when there is no such domain. Optional (NULL: jobs are not tracked, stops are never
     * refused by the worker's check). */
    int (*job)(void *bd, void *conn, const char *uuid, drv_dom_job_t *job, char **errmsg);
} drv_virt_backend_t;

/* The real backend (virt_libvirt.c); its backend data is unused (NULL). */
extern const drv_virt_backend_t drv_virt_libvirt_backend;

/* Once per process, on the main thread, before the first drv_virt_new() with the libvirt
 * backend and before the main loop runs: registers libvirt's default event implementation
 * (which attaches to GLib's default main context), routes libvirt's error messages to qb_log at
 * debug level instead of stderr, and initialises libxml2. droverd's main() calls it. Safe to
 * call again. Returns 0 or -EIO. */
int drv_virt_global_init(void);

/* Creates the driver and starts connecting (in the worker). URI NULL = DRV_VIRT_DEFAULT_URI.
 * BE and CB must stay valid for the driver's life; BE_DATA and UD are passed back untouched. */
drv_virt_t *drv_virt_new(const char *uri, const drv_virt_backend_t *be, void *be_data,
                         const drv_virt_cb_t *cb, void *ud);
/* Closes the connection, joins the worker (so it waits for a libvirt call in progress); NULL is
 * fine. No callback runs during or after. Not from inside one of the driver's callbacks. */
void drv_virt_free(drv_virt_t *v);

/* Timings in ms (defaults: reconcile 5000, reconnect back-off 500 doubling to 5000). For tests
 * and the simulator; 0 keeps the current value. */
void drv_virt_set_timing(drv_virt_t *v, unsigned reconcile_ms, unsigned backoff_min_ms,
                         unsigned backoff_max_ms);

bool drv_virt_connected(const drv_virt_t *v);
/* Connected AND a reconcile pass completed since the (re)connection. */
bool drv_virt_table_valid(const drv_virt_t *v);
/* The table entry for UUID (any case/form), or NULL when libvirt was not known to have such a
 * domain at the last event/list. A STOPPED entry is a defined-but-shut-off domain, or one that
 * just stopped and will be dropped by the next reconcile. Do not keep the pointer. */
const drv_dom_t *drv_virt_lookup(const drv_virt_t *v, const char *uuid);
/* Number of table entries; drv_virt_foreach calls FN for each (no changes from FN). */
size_t drv_virt_count(const drv_virt_t *v);
void drv_virt_foreach(const drv_virt_t *v, void (*fn)(void *ud, const drv_dom_t *dom), void *ud);

/* Async operations. Ops for the same UUID run one after the other in submission order (a stop
 * with a grace period holds the next op for that UUID until it has finished); ops for different
 * UUIDs share the worker in submission order. Synchronous errors: DRV_ERR_BAD_ARGS (NULL
 * arguments), DRV_ERR_NOT_CONNECTED (start/stop only). Problems with the XML itself (malformed,
 * no uuid, refused by libvirt) come back through op_done with DRV_ERR_BAD_ARGS and a message. */
int drv_virt_start(drv_virt_t *v, uint64_t op_id, const char *xml);
/* ACPI shutdown, then destroy when the domain is still up after GRACE_MS (0 = destroy at
 * once). A domain libvirt does not know counts as stopped: op_done(0).
 * Never during a migration: when the table says a migration job (in or out) is in progress on
 * UUID, returns DRV_ERR_BUSY at once (no op_done, libvirt untouched). The worker asks libvirt
 * again right before each shutdown/destroy call (the job may have started since): then
 * op_done(DRV_ERR_BUSY) and nothing was done. A stop queued behind this driver's own migrate
 * op for UUID is not refused: it runs after the migration (usually finding the domain gone). */
int drv_virt_stop(drv_virt_t *v, uint64_t op_id, const char *uuid, unsigned grace_ms);
/* Live-migrate the running domain UUID to the libvirtd at DEST_URI (peer to peer: this host's
 * libvirtd connects to the destination itself), with QEMU's migration stream going to
 * MIGRATE_URI (e.g. tcp://10.0.0.2; NULL = libvirt's default). op_done(0) once the domain runs
 * at the destination and is gone here; on failure the domain keeps running here (libvirt
 * rolls back) and op_done gets the error. The domain leaves the table as STOPPED with reason
 * "migrated" and by_us = true (the pause at the end of the copy, and a rollback's resume, are
 * by_us too). A UUID libvirt does not know here: op_done(DRV_ERR_UNKNOWN_RESOURCE) (unlike
 * stop, nothing was moved). Runs in the one worker and blocks it until it is over: later ops
 * for any UUID on this host wait (ops for this UUID queue behind it as usual). Synchronous
 * errors: DRV_ERR_BAD_ARGS (NULL v/uuid/dest_uri, bad UUID), DRV_ERR_NOT_CONNECTED. */
int drv_virt_migrate(drv_virt_t *v, uint64_t op_id, const char *uuid, const char *dest_uri,
                     const char *migrate_uri);
/* Would libvirt accept XML? Our own checks (drv_virt_parse_xml), then libvirt's domain schema
 * (the same RelaxNG check as VIR_DOMAIN_DEFINE_VALIDATE, without defining anything). Works
 * while disconnected. */
int drv_virt_validate(drv_virt_t *v, uint64_t op_id, const char *xml);
/* Is UUID (any form) being migrated, in or out? True while the table says a migration job is
 * in progress on it (libvirt's view at the last list pass or op result, e.g. a migration
 * another droverd or virsh started before this one came up), or while a drv_virt_migrate op of
 * this driver for it is queued or running. False for NULL or a malformed UUID. */
bool drv_virt_migrating(const drv_virt_t *v, const char *uuid);
/* Start a list pass now (otherwise every reconcile interval). No-op while disconnected. */
void drv_virt_reconcile_now(drv_virt_t *v);

/* Pure and thread-safe (virt_xml.c). Fills OUT from a domain XML; 0, or DRV_ERR_BAD_ARGS with
 * *ERRMSG (g_malloc'd; ERRMSG may be NULL) saying what is wrong: not well-formed, root not
 * <domain>, no <name>, no <uuid> (required: Drover identifies domains by UUID), bad <vcpu>,
 * missing or bad <memory> / unit. OUT is cleared on failure. */
int drv_virt_parse_xml(const char *xml, drv_dom_def_t *out, char **errmsg);
void drv_dom_def_clear(drv_dom_def_t *d);
/* Canonical lower-case 8-4-4-4-12 form of a UUID written as libvirt accepts it (32 hex digits,
 * dashes anywhere). 0 or DRV_ERR_BAD_ARGS. */
int drv_uuid_canon(const char *in, char out[DRV_UUID_STRLEN]);

#endif
