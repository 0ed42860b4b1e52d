/* The fake hypervisor (see virt_fake.h). A connection is an epoch number; several may be open
 * at once (two drivers on one host: a droverd and its restarted successor), each with its own
 * sink, and every event goes to each live one. Going down kills every connection so far, so a
 * connection opened before an outage stays dead after it, as a libvirtd restart would leave
 * it. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <glib.h>

#include "drover/results.h"
#include "virt_fake.h"

typedef struct fdom {
    char uuid[DRV_UUID_STRLEN];
    char *name;
    drv_dom_state_t state;
    bool persistent;
    drv_dom_job_t job; /* UNKNOWN: job queries about it fail */
} fdom_t;

typedef struct fconn {
    guint epoch;
    drv_virt_sink_t *sink;
    bool dead;
} fconn_t;

struct drv_virt_fake {
    GMutex lock;
    GCond released; /* hold_migrations turned off */
    bool hold_migrations;
    unsigned migrations_held; /* migrate calls waiting for the release */
    GHashTable *doms;         /* uuid -> fdom_t */
    bool down;
    bool acpi;
    bool drop_next_open;
    bool crash_next_create;
    bool crash_started_event;
    bool restart_next_destroy;
    char *fail_migrate_msg; /* non-NULL: the next migrate rolls back with this message */
    bool quiet_next_migrate;
    GHashTable *remote; /* uuid -> fmig_t: migrated away */
    unsigned delay_ms;
    guint epoch;   /* of the newest connection */
    GArray *conns; /* fconn_t: open (not yet closed) connections */
    int fail_rc[DRV_FAKE_N_CALLS];
    char *fail_msg[DRV_FAKE_N_CALLS];
    unsigned calls[DRV_FAKE_N_CALLS];
    GPtrArray *log;
};

typedef struct fmig {
    char *dest_uri;
    char *migrate_uri;
} fmig_t;

static void fmig_free(gpointer data)
{
    fmig_t *m = data;

    g_free(m->dest_uri);
    g_free(m->migrate_uri);
    g_free(m);
}

static void fdom_free(gpointer data)
{
    fdom_t *d = data;

    g_free(d->name);
    g_free(d);
}

drv_virt_fake_t *drv_virt_fake_new(void)
{
    drv_virt_fake_t *f = g_new0(drv_virt_fake_t, 1);

    g_mutex_init(&f->lock);
    g_cond_init(&f->released);
    f->doms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, fdom_free);
    f->acpi = true;
    f->conns = g_array_new(FALSE, TRUE, sizeof(fconn_t));
    f->log = g_ptr_array_new_with_free_func(g_free);
    f->remote = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, fmig_free);
    return f;
}

void drv_virt_fake_free(drv_virt_fake_t *f)
{
    if (f == NULL) {
        return;
    }
    for (int i = 0; i < DRV_FAKE_N_CALLS; i++) {
        g_free(f->fail_msg[i]);
    }
    g_hash_table_destroy(f->doms);
    g_hash_table_destroy(f->remote);
    g_free(f->fail_migrate_msg);
    g_ptr_array_unref(f->log);
    g_array_unref(f->conns);
    g_cond_clear(&f->released);
    g_mutex_clear(&f->lock);
    g_free(f);
}

/* Locked. The open connection EPOCH, or NULL (closed, never opened). */
static fconn_t *conn_find(drv_virt_fake_t *f, guint epoch)
{
    for (guint i = 0; i < f->conns->len; i++) {
        fconn_t *c = &g_array_index(f->conns, fconn_t, i);

        if (c->epoch == epoch) {
            return c;
        }
    }
    return NULL;
}

/* Locked. Events go to every live open connection. */
static void emit(drv_virt_fake_t *f, const fdom_t *d, drv_dom_state_t st, const char *reason)
{
    if (f->down) {
        return;
    }
    for (guint i = 0; i < f->conns->len; i++) {
        const fconn_t *c = &g_array_index(f->conns, fconn_t, i);

        if (!c->dead) {
            drv_virt__sink_event(c->sink, d->uuid, d->name, st, reason);
        }
    }
}

/* Locked. Stop D: transient domains vanish. Invalidates D. */
static void stop_dom(drv_virt_fake_t *f, fdom_t *d, const char *reason)
{
    d->state = DRV_DOM_STOPPED;
    d->job = DRV_DOM_JOB_NONE;
    emit(f, d, DRV_DOM_STOPPED, reason);
    if (!d->persistent) {
        g_hash_table_remove(f->doms, d->uuid);
    }
}

/* Locked. The common prologue of a call on connection CONN. */
static int enter(drv_virt_fake_t *f, void *conn, drv_virt_fake_call_t call, char **errmsg)
{
    const fconn_t *c = conn_find(f, GPOINTER_TO_UINT(conn));
    int rc;

    f->calls[call]++;
    if (f->down || c == NULL || c->dead) {
        *errmsg = g_strdup("fake hypervisor: connection lost");
        return -ENOTCONN;
    }
    if (f->fail_rc[call] != 0) {
        rc = f->fail_rc[call];
        f->fail_rc[call] = 0;
        *errmsg = g_steal_pointer(&f->fail_msg[call]);
        if (*errmsg == NULL) {
            *errmsg = g_strdup("fake hypervisor: injected failure");
        }
        return rc;
    }
    return 0;
}

static void nap(drv_virt_fake_t *f)
{
    unsigned ms;

    g_mutex_lock(&f->lock);
    ms = f->delay_ms;
    g_mutex_unlock(&f->lock);
    if (ms != 0) {
        g_usleep((gulong)ms * 1000); /* the worker thread, standing for a slow libvirtd */
    }
}

static int fk_open(void *bd, const char *uri, drv_virt_sink_t *sink, void **conn, char **errmsg)
{
    drv_virt_fake_t *f = bd;
    int rc = 0;

    g_mutex_lock(&f->lock);
    f->calls[DRV_FAKE_OPEN]++;
    if (f->down) {
        *errmsg = g_strdup_printf("fake hypervisor %s is down", uri);
        rc = -ECONNREFUSED;
    } else if (f->fail_rc[DRV_FAKE_OPEN] != 0) {
        rc = f->fail_rc[DRV_FAKE_OPEN];
        f->fail_rc[DRV_FAKE_OPEN] = 0;
        *errmsg = g_steal_pointer(&f->fail_msg[DRV_FAKE_OPEN]);
    } else {
        fconn_t c = {.epoch = ++f->epoch, .sink = sink};

        *conn = GUINT_TO_POINTER(c.epoch);
        if (f->drop_next_open) {
            f->drop_next_open = false;
            c.dead = true;
            drv_virt__sink_lost(sink, "fake hypervisor dropped the new connection");
        }
        g_array_append_val(f->conns, c);
    }
    g_mutex_unlock(&f->lock);
    return rc;
}

static void fk_close(void *bd, void *conn)
{
    drv_virt_fake_t *f = bd;

    g_mutex_lock(&f->lock);
    for (guint i = 0; i < f->conns->len; i++) {
        if (g_array_index(f->conns, fconn_t, i).epoch == GPOINTER_TO_UINT(conn)) {
            g_array_remove_index(f->conns, i); /* its sink is not used after this */
            break;
        }
    }
    g_mutex_unlock(&f->lock);
}

static int fk_list(void *bd, void *conn, drv_dom_t **doms, size_t *n, char **errmsg)
{
    drv_virt_fake_t *f = bd;
    GHashTableIter iter;
    gpointer val;
    size_t i = 0;
    int rc;

    nap(f);
    g_mutex_lock(&f->lock);
    rc = enter(f, conn, DRV_FAKE_LIST, errmsg);
    if (rc == 0) {
        *n = g_hash_table_size(f->doms);
        *doms = g_new0(drv_dom_t, *n + 1);
        g_hash_table_iter_init(&iter, f->doms);
        while (g_hash_table_iter_next(&iter, NULL, &val)) {
            const fdom_t *d = val;

            g_strlcpy((*doms)[i].uuid, d->uuid, DRV_UUID_STRLEN);
            (*doms)[i].name = g_strdup(d->name);
            (*doms)[i].state = d->state;
            (*doms)[i].job = d->state == DRV_DOM_RUNNING || d->state == DRV_DOM_PAUSED
                                 ? d->job
                                 : DRV_DOM_JOB_NONE;
            i++;
        }
    }
    g_mutex_unlock(&f->lock);
    return rc;
}

static int fk_create(void *bd, void *conn, const char *xml, char **errmsg)
{
    drv_virt_fake_t *f = bd;
    drv_dom_def_t def;
    fdom_t *d;
    int rc;

    nap(f);
    g_mutex_lock(&f->lock);
    rc = enter(f, conn, DRV_FAKE_CREATE, errmsg);
    if (rc != 0) {
        goto out;
    }
    if (drv_virt_parse_xml(xml, &def, errmsg) != 0) {
        rc = -EINVAL;
        goto out;
    }
    g_ptr_array_add(f->log, g_strdup_printf("create %s", def.uuid));
    d = g_hash_table_lookup(f->doms, def.uuid);
    if (d != NULL && d->state != DRV_DOM_STOPPED) {
        *errmsg = g_strdup_printf("fake hypervisor: domain '%s' is already active", d->name);
        drv_dom_def_clear(&def);
        rc = -EEXIST;
        goto out;
    }
    if (d == NULL) {
        d = g_new0(fdom_t, 1);
        g_strlcpy(d->uuid, def.uuid, sizeof(d->uuid));
        g_hash_table_insert(f->doms, d->uuid, d);
    }
    g_free(d->name);
    d->name = g_steal_pointer(&def.name);
    d->state = DRV_DOM_RUNNING;
    drv_dom_def_clear(&def);
    if (f->crash_next_create) {
        f->crash_next_create = false;
        if (f->crash_started_event) {
            emit(f, d, DRV_DOM_RUNNING, "started");
        }
        stop_dom(f, d, "crashed"); /* invalidates d; the create itself succeeded */
        goto out;
    }
    emit(f, d, DRV_DOM_RUNNING, "started");
out:
    g_mutex_unlock(&f->lock);
    return rc;
}

static int fk_shutdown(void *bd, void *conn, const char *uuid, char **errmsg)
{
    drv_virt_fake_t *f = bd;
    fdom_t *d;
    int rc;

    nap(f);
    g_mutex_lock(&f->lock);
    rc = enter(f, conn, DRV_FAKE_SHUTDOWN, errmsg);
    if (rc != 0) {
        goto out;
    }
    g_ptr_array_add(f->log, g_strdup_printf("shutdown %s", uuid));
    d = g_hash_table_lookup(f->doms, uuid);
    if (d == NULL || d->state == DRV_DOM_STOPPED) {
        *errmsg = g_strdup_printf("fake hypervisor: no running domain with uuid %s", uuid);
        rc = -ENOENT;
        goto out;
    }
    if (d->job == DRV_DOM_JOB_MIGRATION_OUT || d->job == DRV_DOM_JOB_MIGRATION_IN) {
        /* qemu's driver: a shutdown waits for the migration's job, then gives up */
        *errmsg =
            g_strdup("fake hypervisor: Timed out during operation: cannot acquire state "
                     "change lock (held by monitor=remoteDispatchDomainMigratePerform3Params)");
        rc = -EIO;
        goto out;
    }
    if (f->acpi) {
        stop_dom(f, d, "shutdown by guest");
    }
out:
    g_mutex_unlock(&f->lock);
    return rc;
}

static int fk_destroy(void *bd, void *conn, const char *uuid, char **errmsg)
{
    drv_virt_fake_t *f = bd;
    fdom_t *d;
    int rc;

    nap(f);
    g_mutex_lock(&f->lock);
    rc = enter(f, conn, DRV_FAKE_DESTROY, errmsg);
    if (rc != 0) {
        goto out;
    }
    g_ptr_array_add(f->log, g_strdup_printf("destroy %s", uuid));
    d = g_hash_table_lookup(f->doms, uuid);
    if (d == NULL || d->state == DRV_DOM_STOPPED) {
        *errmsg = g_strdup_printf("fake hypervisor: no running domain with uuid %s", uuid);
        rc = -ENOENT;
        goto out;
    }
    if (f->restart_next_destroy) {
        fdom_t *again = g_new0(fdom_t, 1);

        f->restart_next_destroy = false;
        g_strlcpy(again->uuid, d->uuid, sizeof(again->uuid));
        again->name = g_strdup(d->name);
        again->state = DRV_DOM_RUNNING;
        again->persistent = d->persistent;
        stop_dom(f, d, "destroyed");
        g_hash_table_replace(f->doms, again->uuid, again);
        emit(f, again, DRV_DOM_RUNNING, "started");
        goto out;
    }
    stop_dom(f, d, "destroyed");
out:
    g_mutex_unlock(&f->lock);
    return rc;
}

static int fk_validate(void *bd, void *conn, const char *xml, char **errmsg)
{
    drv_virt_fake_t *f = bd;
    drv_dom_def_t def;
    int rc;

    g_mutex_lock(&f->lock);
    f->calls[DRV_FAKE_VALIDATE]++;
    rc = f->fail_rc[DRV_FAKE_VALIDATE];
    if (rc != 0) {
        f->fail_rc[DRV_FAKE_VALIDATE] = 0;
        *errmsg = g_steal_pointer(&f->fail_msg[DRV_FAKE_VALIDATE]);
    }
    g_mutex_unlock(&f->lock);
    if (rc == 0 && drv_virt_parse_xml(xml, &def, errmsg) != 0) {
        return -EINVAL;
    }
    if (rc == 0) {
        drv_dom_def_clear(&def);
    }
    return rc;
}

static int fk_migrate(void *bd, void *conn, const char *uuid, const char *dest_uri,
                      const char *migrate_uri, char **errmsg)
{
    drv_virt_fake_t *f = bd;
    fdom_t *d;
    fmig_t *m;
    int rc;

    nap(f);
    g_mutex_lock(&f->lock);
    rc = enter(f, conn, DRV_FAKE_MIGRATE, errmsg);
    if (rc != 0) {
        goto out;
    }
    g_ptr_array_add(f->log, g_strdup_printf("migrate %s", uuid));
    d = g_hash_table_lookup(f->doms, uuid);
    if (d == NULL || d->state == DRV_DOM_STOPPED) {
        *errmsg = g_strdup_printf("fake hypervisor: no running domain with uuid %s", uuid);
        rc = -ENOENT;
        goto out;
    }
    /* the copy: the domain runs on, with a migration job any connection can see */
    d->job = DRV_DOM_JOB_MIGRATION_OUT;
    f->migrations_held++;
    while (f->hold_migrations) {
        g_cond_wait(&f->released, &f->lock); /* lets other connections' calls in */
    }
    f->migrations_held--;
    d = g_hash_table_lookup(f->doms, uuid); /* may have been destroyed or crashed meanwhile */
    if (d == NULL || d->state == DRV_DOM_STOPPED) {
        *errmsg = g_strdup_printf("fake hypervisor: operation failed: domain %s is not running: "
                                  "migration aborted",
                                  uuid);
        rc = -EIO;
        goto out;
    }
    d->job = DRV_DOM_JOB_NONE; /* the job ends with the switch-over or the rollback */
    if (!f->quiet_next_migrate) {
        /* the copy converges, the source pauses for the switch-over */
        emit(f, d, DRV_DOM_PAUSED, DRV_VIRT_REASON_PAUSED_MIGRATION);
    }
    if (f->fail_migrate_msg != NULL) {
        /* libvirt's rollback: resumed here */
        emit(f, d, DRV_DOM_RUNNING, DRV_VIRT_REASON_RESUMED_MIGRATION);
        *errmsg = g_steal_pointer(&f->fail_migrate_msg);
        rc = -EIO;
        goto out;
    }
    m = g_new0(fmig_t, 1);
    m->dest_uri = g_strdup(dest_uri);
    m->migrate_uri = g_strdup(migrate_uri);
    g_hash_table_replace(f->remote, g_strdup(uuid), m);
    if (f->quiet_next_migrate) {
        f->quiet_next_migrate = false;
        g_hash_table_remove(f->doms, uuid); /* the events are the test's to replay */
    } else {
        stop_dom(f, d, DRV_VIRT_REASON_MIGRATED); /* invalidates d */
    }
out:
    g_mutex_unlock(&f->lock);
    return rc;
}

static int fk_job(void *bd, void *conn, const char *uuid, drv_dom_job_t *job, char **errmsg)
{
    drv_virt_fake_t *f = bd;
    const fdom_t *d;
    int rc;

    g_mutex_lock(&f->lock);
    rc = enter(f, conn, DRV_FAKE_JOB, errmsg);
    if (rc != 0) {
        goto out;
    }
    d = g_hash_table_lookup(f->doms, uuid);
    if (d == NULL) {
        *errmsg = g_strdup_printf("fake hypervisor: no domain with uuid %s", uuid);
        rc = -ENOENT;
    } else if (d->state != DRV_DOM_RUNNING && d->state != DRV_DOM_PAUSED) {
        *job = DRV_DOM_JOB_NONE;
    } else if (d->job == DRV_DOM_JOB_UNKNOWN) {
        *errmsg = g_strdup_printf("fake hypervisor: cannot query the job of %s", uuid);
        rc = -EIO;
    } else {
        *job = d->job;
    }
out:
    g_mutex_unlock(&f->lock);
    return rc;
}

const drv_virt_backend_t drv_virt_fake_backend = {
    .name = "fake",
    .open = fk_open,
    .close = fk_close,
    .list = fk_list,
    .create_xml = fk_create,
    .shutdown = fk_shutdown,
    .destroy = fk_destroy,
    .validate_xml = fk_validate,
    .migrate = fk_migrate,
    .job = fk_job,
};

/* ---- control ---- */

void drv_virt_fake_add(drv_virt_fake_t *f, const char *uuid, const char *name,
                       drv_dom_state_t state, bool persistent)
{
    fdom_t *d = g_new0(fdom_t, 1);

    if (drv_uuid_canon(uuid, d->uuid) != 0) {
        g_free(d);
        return;
    }
    d->name = g_strdup(name);
    d->state = state;
    d->persistent = persistent;
    g_mutex_lock(&f->lock);
    g_hash_table_replace(f->doms, d->uuid, d);
    g_mutex_unlock(&f->lock);
}

int drv_virt_fake_state(drv_virt_fake_t *f, const char *uuid, drv_dom_state_t *state)
{
    char canon[DRV_UUID_STRLEN];
    fdom_t *d;
    int rc = -ENOENT;

    if (drv_uuid_canon(uuid, canon) != 0) {
        return -EINVAL;
    }
    g_mutex_lock(&f->lock);
    d = g_hash_table_lookup(f->doms, canon);
    if (d != NULL) {
        *state = d->state;
        rc = 0;
    }
    g_mutex_unlock(&f->lock);
    return rc;
}

void drv_virt_fake_fail_next(drv_virt_fake_t *f, drv_virt_fake_call_t call, int rc, const char *msg)
{
    g_mutex_lock(&f->lock);
    f->fail_rc[call] = rc;
    g_free(f->fail_msg[call]);
    f->fail_msg[call] = g_strdup(msg);
    g_mutex_unlock(&f->lock);
}

void drv_virt_fake_set_acpi(drv_virt_fake_t *f, bool honoured)
{
    g_mutex_lock(&f->lock);
    f->acpi = honoured;
    g_mutex_unlock(&f->lock);
}

void drv_virt_fake_set_delay(drv_virt_fake_t *f, unsigned ms)
{
    g_mutex_lock(&f->lock);
    f->delay_ms = ms;
    g_mutex_unlock(&f->lock);
}

static void stop_behind_back(drv_virt_fake_t *f, const char *uuid, const char *reason, bool quiet)
{
    char canon[DRV_UUID_STRLEN];
    fdom_t *d;

    if (drv_uuid_canon(uuid, canon) != 0) {
        return;
    }
    g_mutex_lock(&f->lock);
    d = g_hash_table_lookup(f->doms, canon);
    if (d != NULL && d->state != DRV_DOM_STOPPED) {
        if (quiet) {
            g_hash_table_remove(f->doms, canon);
        } else {
            stop_dom(f, d, reason);
        }
    }
    g_mutex_unlock(&f->lock);
}

void drv_virt_fake_crash(drv_virt_fake_t *f, const char *uuid)
{
    stop_behind_back(f, uuid, "crashed", false);
}

void drv_virt_fake_guest_shutdown(drv_virt_fake_t *f, const char *uuid)
{
    stop_behind_back(f, uuid, "shutdown by guest", false);
}

void drv_virt_fake_crash_next_create(drv_virt_fake_t *f, bool started_event)
{
    g_mutex_lock(&f->lock);
    f->crash_next_create = true;
    f->crash_started_event = started_event;
    g_mutex_unlock(&f->lock);
}

void drv_virt_fake_restart_next_destroy(drv_virt_fake_t *f)
{
    g_mutex_lock(&f->lock);
    f->restart_next_destroy = true;
    g_mutex_unlock(&f->lock);
}

void drv_virt_fake_fail_next_migrate(drv_virt_fake_t *f, const char *msg)
{
    g_mutex_lock(&f->lock);
    g_free(f->fail_migrate_msg);
    f->fail_migrate_msg = g_strdup(msg ? msg : "fake hypervisor: migration failed");
    g_mutex_unlock(&f->lock);
}

void drv_virt_fake_quiet_next_migrate(drv_virt_fake_t *f)
{
    g_mutex_lock(&f->lock);
    f->quiet_next_migrate = true;
    g_mutex_unlock(&f->lock);
}

void drv_virt_fake_emit(drv_virt_fake_t *f, const char *uuid, const char *name,
                        drv_dom_state_t state, const char *reason)
{
    fdom_t d = {.name = (char *)name, .state = state};

    if (drv_uuid_canon(uuid, d.uuid) != 0) {
        return;
    }
    g_mutex_lock(&f->lock);
    emit(f, &d, state, reason);
    g_mutex_unlock(&f->lock);
}

int drv_virt_fake_migrated(drv_virt_fake_t *f, const char *uuid, char **dest_uri,
                           char **migrate_uri)
{
    char canon[DRV_UUID_STRLEN];
    const fmig_t *m;
    int rc = -ENOENT;

    if (drv_uuid_canon(uuid, canon) != 0) {
        return -EINVAL;
    }
    g_mutex_lock(&f->lock);
    m = g_hash_table_lookup(f->remote, canon);
    if (m != NULL) {
        if (dest_uri != NULL) {
            *dest_uri = g_strdup(m->dest_uri);
        }
        if (migrate_uri != NULL) {
            *migrate_uri = g_strdup(m->migrate_uri);
        }
        rc = 0;
    }
    g_mutex_unlock(&f->lock);
    return rc;
}

void drv_virt_fake_set_job(drv_virt_fake_t *f, const char *uuid, drv_dom_job_t job)
{
    char canon[DRV_UUID_STRLEN];
    fdom_t *d;

    if (drv_uuid_canon(uuid, canon) != 0) {
        return;
    }
    g_mutex_lock(&f->lock);
    d = g_hash_table_lookup(f->doms, canon);
    if (d != NULL) {
        d->job = job;
    }
    g_mutex_unlock(&f->lock);
}

int drv_virt_fake_job(drv_virt_fake_t *f, const char *uuid, drv_dom_job_t *job)
{
    char canon[DRV_UUID_STRLEN];
    const fdom_t *d;
    int rc = -ENOENT;

    if (drv_uuid_canon(uuid, canon) != 0) {
        return -EINVAL;
    }
    g_mutex_lock(&f->lock);
    d = g_hash_table_lookup(f->doms, canon);
    if (d != NULL) {
        *job = d->job;
        rc = 0;
    }
    g_mutex_unlock(&f->lock);
    return rc;
}

void drv_virt_fake_hold_migrations(drv_virt_fake_t *f, bool hold)
{
    g_mutex_lock(&f->lock);
    f->hold_migrations = hold;
    if (!hold) {
        g_cond_broadcast(&f->released);
    }
    g_mutex_unlock(&f->lock);
}

unsigned drv_virt_fake_migrations_held(drv_virt_fake_t *f)
{
    unsigned n;

    g_mutex_lock(&f->lock);
    n = f->migrations_held;
    g_mutex_unlock(&f->lock);
    return n;
}

void drv_virt_fake_remove_silently(drv_virt_fake_t *f, const char *uuid)
{
    stop_behind_back(f, uuid, NULL, true);
}

void drv_virt_fake_set_down(drv_virt_fake_t *f, bool down)
{
    g_mutex_lock(&f->lock);
    if (down && !f->down) {
        for (guint i = 0; i < f->conns->len; i++) {
            fconn_t *c = &g_array_index(f->conns, fconn_t, i);

            if (!c->dead) {
                c->dead = true;
                drv_virt__sink_lost(c->sink, "fake hypervisor went down");
            }
        }
    }
    f->down = down;
    g_mutex_unlock(&f->lock);
}

void drv_virt_fake_drop_next_open(drv_virt_fake_t *f)
{
    g_mutex_lock(&f->lock);
    f->drop_next_open = true;
    g_mutex_unlock(&f->lock);
}

unsigned drv_virt_fake_calls(drv_virt_fake_t *f, drv_virt_fake_call_t call)
{
    unsigned n;

    g_mutex_lock(&f->lock);
    n = f->calls[call];
    g_mutex_unlock(&f->lock);
    return n;
}

GPtrArray *drv_virt_fake_log(drv_virt_fake_t *f)
{
    GPtrArray *copy = g_ptr_array_new_with_free_func(g_free);

    g_mutex_lock(&f->lock);
    for (guint i = 0; i < f->log->len; i++) {
        g_ptr_array_add(copy, g_strdup(g_ptr_array_index(f->log, i)));
    }
    g_mutex_unlock(&f->lock);
    return copy;
}
