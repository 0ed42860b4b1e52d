/* An in-memory hypervisor behind the drv_virt backend ops table, for the unit tests and (later)
 * the simulator. Its "blocking" calls run in the driver's worker like libvirt's would; the
 * control functions below are for the test's main thread. Thread-safe (one mutex).
 *
 * It behaves like libvirt with transient domains: create_xml starts a domain (STARTED event),
 * a domain that stops vanishes from the list (unless added as persistent), shutdown is an ACPI
 * request the guest honours or ignores (drv_virt_fake_set_acpi), destroy kills at once, migrate
 * moves a running domain to an in-memory "remote" (paused-for-migration and stopped-migrated
 * events, then it is gone here; drv_virt_fake_migrated says where it went).
 *
 * Several connections may be open at once (a driver and a second one standing for a restarted
 * droverd on the same host); every event goes to each. Jobs are modelled as qemu's driver has
 * them: a migrate gives the domain a MIGRATION_OUT job for the copy (visible to every
 * connection: list, job), a test can set any domain's job; while a domain has a migration job
 * a shutdown fails (libvirt's "cannot acquire state change lock" timeout, -EIO) and a destroy
 * kills it, aborting the migration: only the driver's own check keeps it alive. */
#ifndef DRV_VIRT_FAKE_H
#define DRV_VIRT_FAKE_H

#include <stdbool.h>
#include <glib.h>

#include "virt.h"

typedef enum {
    DRV_FAKE_OPEN = 0,
    DRV_FAKE_LIST,
    DRV_FAKE_CREATE,
    DRV_FAKE_SHUTDOWN,
    DRV_FAKE_DESTROY,
    DRV_FAKE_VALIDATE,
    DRV_FAKE_MIGRATE,
    DRV_FAKE_JOB,
    DRV_FAKE_N_CALLS,
} drv_virt_fake_call_t;

typedef struct drv_virt_fake drv_virt_fake_t;

extern const drv_virt_backend_t drv_virt_fake_backend; /* backend data: a drv_virt_fake_t * */

drv_virt_fake_t *drv_virt_fake_new(void);
void drv_virt_fake_free(drv_virt_fake_t *f); /* after drv_virt_free() of its driver */

/* A domain present from the start (no event). PERSISTENT: stays listed as stopped. */
void drv_virt_fake_add(drv_virt_fake_t *f, const char *uuid, const char *name,
                       drv_dom_state_t state, bool persistent);
/* -ENOENT when the fake has no such domain, else 0 and *STATE. */
int drv_virt_fake_state(drv_virt_fake_t *f, const char *uuid, drv_dom_state_t *state);
/* The next CALL fails with RC (negative errno, as a backend returns) and MSG. */
void drv_virt_fake_fail_next(drv_virt_fake_t *f, drv_virt_fake_call_t call, int rc,
                             const char *msg);
/* Guests honour ACPI shutdown requests (default true). */
void drv_virt_fake_set_acpi(drv_virt_fake_t *f, bool honoured);
/* Every create/shutdown/destroy/list sleeps MS in the worker first (a slow hypervisor). */
void drv_virt_fake_set_delay(drv_virt_fake_t *f, unsigned ms);
/* Behind the driver's back; each emits a STOPPED lifecycle event when reachable. */
void drv_virt_fake_crash(drv_virt_fake_t *f, const char *uuid);
void drv_virt_fake_guest_shutdown(drv_virt_fake_t *f, const char *uuid);
/* The next successful create crashes the new domain before create returns 0: the STARTED and
 * then a STOPPED "crashed" event reach the sink before the create's result (libvirt's event
 * thread can deliver a crash before virDomainCreateXML's caller sees its return value). With
 * STARTED false, only the crash event is emitted (a STARTED event that never arrived). */
void drv_virt_fake_crash_next_create(drv_virt_fake_t *f, bool started_event);
/* The next successful destroy is followed at once by a restart (someone's virsh start): the
 * STOPPED "destroyed" and then a STARTED event reach the sink before destroy returns 0. */
void drv_virt_fake_restart_next_destroy(drv_virt_fake_t *f);
/* The next migrate of a running domain fails the way libvirt rolls back: paused-for-migration
 * and resumed-after-migration events, the domain keeps running here, the call fails with -EIO
 * and MSG. (drv_virt_fake_fail_next(DRV_FAKE_MIGRATE) fails the call before anything moves.) */
void drv_virt_fake_fail_next_migrate(drv_virt_fake_t *f, const char *msg);
/* The next successful migrate emits no events (they are late: libvirt dispatches events from
 * the loop, so they can reach the driver after the migration's result); replay them with
 * drv_virt_fake_emit. */
void drv_virt_fake_quiet_next_migrate(drv_virt_fake_t *f);
/* A lifecycle event for UUID as the open connection would deliver it (nothing else changes). */
void drv_virt_fake_emit(drv_virt_fake_t *f, const char *uuid, const char *name,
                        drv_dom_state_t state, const char *reason);
/* Was UUID migrated away (the latest time)? 0 and the URIs it was given (g_strdup'd; either
 * pointer may be NULL; *MIGRATE_URI NULL when none was given), or -ENOENT. */
int drv_virt_fake_migrated(drv_virt_fake_t *f, const char *uuid, char **dest_uri,
                           char **migrate_uri);
/* Set UUID's job (as libvirt would report it while running or paused); UNKNOWN makes every
 * job query about it fail (-EIO) and list passes report it UNKNOWN. No event. */
void drv_virt_fake_set_job(drv_virt_fake_t *f, const char *uuid, drv_dom_job_t job);
/* -ENOENT when the fake has no such domain, else 0 and *JOB. */
int drv_virt_fake_job(drv_virt_fake_t *f, const char *uuid, drv_dom_job_t *job);
/* Hold: every migrate, once it has given its domain the MIGRATION_OUT job, waits (in the
 * calling driver's worker) until the hold is lifted, then goes on as usual (with the job
 * cleared; a domain stopped meanwhile fails it with -EIO). Lift it before freeing a driver
 * whose migration is held (drv_virt_free joins its worker). _held: how many are waiting. */
void drv_virt_fake_hold_migrations(drv_virt_fake_t *f, bool hold);
unsigned drv_virt_fake_migrations_held(drv_virt_fake_t *f);
/* Vanish without any event (e.g. stopped while the hypervisor was unreachable). */
void drv_virt_fake_remove_silently(drv_virt_fake_t *f, const char *uuid);
/* Down: the open connection dies (connection-lost notice), every call fails with -ENOTCONN,
 * opens are refused. Up: opens work again; old connections stay dead. */
void drv_virt_fake_set_down(drv_virt_fake_t *f, bool down);
/* The next successful open dies at once (connection-lost notice before the open's result). */
void drv_virt_fake_drop_next_open(drv_virt_fake_t *f);
/* Calls made so far, and the log of create/shutdown/destroy/migrate as "create <uuid>" lines. */
unsigned drv_virt_fake_calls(drv_virt_fake_t *f, drv_virt_fake_call_t call);
GPtrArray *drv_virt_fake_log(drv_virt_fake_t *f); /* a copy: g_ptr_array_unref */

#endif
