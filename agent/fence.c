/* droverd's fencing glue (fence.h): runs the fencings the HA runtime asks for through the
 * fence-agent runner and the topology levels of fencing/, from the devices and levels in the
 * replicated state; and the watchdog supervisor, fed from droverd's tick. Everything decides
 * elsewhere (ha/fence_decide.c, ha/runtime.c, fencing/); this file only translates. */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <syslog.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "agent.h"
#include "drv_fence.h"
#include "drv_fence_topology.h"
#include "drv_props.h"
#include "drv_watchdog.h"
#include "fence.h"

typedef struct fence_run {
    drv_afence_t *owner;
    uint64_t id;
    char *target;
    drv_fence_topo_t *topo;
    GString *out; /* what the agents said, for the history */
} fence_run_t;

struct drv_afence {
    drv_agent_t *a;
    drv_fence_runner_t *runner;
    GHashTable *runs; /* id -> fence_run_t */
    drv_afence_done_fn done;
    void *ud;
    drv_wd_t *wd;
    const char *wd_reason; /* last reason logged */
    uint64_t lost_since;   /* monotonic ms since this node is without quorum, 0: quorate */
};

static void run_free(gpointer p)
{
    fence_run_t *r = p;

    if (r->topo != NULL) {
        drv_fence_topo_cancel(r->topo);
    }
    g_free(r->target);
    g_string_free(r->out, TRUE);
    g_free(r);
}

drv_afence_t *drv_afence_new(drv_agent_t *a, drv_afence_done_fn done, void *ud, char **err)
{
    drv_afence_t *f = g_new0(drv_afence_t, 1);

    f->a = a;
    f->done = done;
    f->ud = ud;
    f->runner = drv_fence_runner_new();
    f->runs = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, run_free);
    if (a->cfg.watchdog) {
        int rc;

        f->wd = drv_wd_new(&drv_wd_dev_ops, NULL, a->cfg.watchdog_device,
                           a->cfg.watchdog_timeout * 1000);
        rc = drv_wd_arm(f->wd, err);
        if (rc < 0) {
            drv_afence_free(f, 0);
            return NULL;
        }
        qb_log(LOG_NOTICE, "fencing: watchdog %s armed, timeout %u s%s", a->cfg.watchdog_device,
               a->cfg.watchdog_timeout,
               drv_wd_timeout_applied(f->wd) ? "" : " (the device keeps its own timeout)");
    }
    return f;
}

void drv_afence_free(drv_afence_t *f, int running_vms)
{
    if (f == NULL) {
        return;
    }
    g_hash_table_destroy(f->runs);
    drv_fence_runner_free(f->runner);
    if (f->wd != NULL && drv_wd_armed(f->wd)) {
        /* disarm only with nothing running here: else the others take this node as down
         * 2 x the timeout after it left, and the device must have reset it by then */
        if (running_vms == 0) {
            drv_wd_stop(f->wd, true);
            qb_log(LOG_NOTICE, "fencing: watchdog disarmed (no VM runs here)");
        } else {
            qb_log(LOG_WARNING,
                   "fencing: watchdog left armed: %d VM(s) still run here; the host "
                   "resets unless droverd is back within %u s",
                   running_vms, drv_wd_timeout_s(f->wd));
        }
    }
    drv_wd_free(f->wd);
    g_free(f);
}

static void on_step(void *ud, const drv_fence_topo_step_t *st)
{
    fence_run_t *r = ud;
    const drv_fence_result_t *res = st->result;
    const char *msg = res->errmsg ? res->errmsg : drv_fence_outcome_str(res->outcome);

    qb_log(drv_fence_result_succeeded(res) ? LOG_NOTICE : LOG_WARNING,
           "fencing %s: level %u device %s attempt %u: %s (%" PRIu64 " ms)%s", r->target, st->level,
           st->device, st->attempt + 1, msg, res->elapsed_ms, st->will_retry ? ", retrying" : "");
    if (r->out->len < 2 * DRV_FENCE_TEXT_MAX) {
        g_string_append_printf(r->out, "%s%s#%u: %s", r->out->len ? "; " : "", st->device,
                               st->attempt + 1, msg);
    }
}

static void on_done(void *ud, const drv_fence_topo_result_t *res)
{
    fence_run_t *r = ud;
    drv_afence_t *f = r->owner;
    uint64_t id = r->id;
    g_autofree char *devices = g_strdup(res->devices);
    g_autofree char *text = g_strdup(res->success ? r->out->str : res->errmsg);
    unsigned level = res->level;
    bool ok = res->success;

    r->topo = NULL; /* over: nothing to cancel */
    g_hash_table_remove(f->runs, &id);
    f->done(f->ud, id, ok, devices, level, text);
}

int drv_afence_start(drv_afence_t *f, const drv_state_t *st, uint64_t id, const char *target,
                     const char *action)
{
    g_autoptr(GPtrArray) levels = drv_state_fence_levels_for(st, target);
    g_autoptr(GPtrArray) params =
        g_ptr_array_new_with_free_func((GDestroyNotify)drv_fence_params_free);
    g_autofree drv_fence_level_spec_t *lv = NULL;
    g_autoptr(GPtrArray) devspecs = g_ptr_array_new_with_free_func(g_free);
    drv_fence_retry_policy_t retry = {1, 1000, 5000};
    drv_fence_action_t act =
        strcmp(action, "reboot") == 0 ? DRV_FENCE_ACT_REBOOT : DRV_FENCE_ACT_OFF;
    unsigned timeout_ms = (unsigned)drv_prop_int(st, DRV_PROP_FENCE_TIMEOUT) * 1000;
    g_autofree char *err = NULL;
    fence_run_t *r;

    if (levels->len == 0) {
        return DRV_ERR_UNKNOWN_DEVICE;
    }
    lv = g_new0(drv_fence_level_spec_t, levels->len);
    for (guint i = 0; i < levels->len; i++) {
        const drv_fence_level_t *l = g_ptr_array_index(levels, i);
        drv_fence_dev_spec_t *ds = g_new0(drv_fence_dev_spec_t, l->devices->len);

        g_ptr_array_add(devspecs, ds);
        lv[i].index = l->index;
        lv[i].devs = ds;
        lv[i].n_devs = l->devices->len;
        for (guint j = 0; j < l->devices->len; j++) {
            const drv_fence_dev_t *d =
                g_hash_table_lookup(st->fence_devices, g_ptr_array_index(l->devices, j));
            drv_fence_params_t *p = drv_fence_params_new();

            if (d == NULL) {
                drv_fence_params_free(p);
                return DRV_ERR_UNKNOWN_DEVICE;
            }
            for (guint k = 0; k < d->keys->len; k++) {
                drv_fence_params_set(p, g_ptr_array_index(d->keys, k),
                                     g_ptr_array_index(d->vals, k), NULL);
            }
            g_ptr_array_add(params, p);
            ds[j].name = d->name;
            ds[j].agent = d->agent;
            ds[j].params = p;
        }
    }
    r = g_new0(fence_run_t, 1);
    r->owner = f;
    r->id = id;
    r->target = g_strdup(target);
    r->out = g_string_new(NULL);
    r->topo = drv_fence_topo_start(&drv_fence_agent_ops, f->runner, target, act, lv, levels->len,
                                   timeout_ms, &retry, 0, on_step, on_done, r, &err);
    if (r->topo == NULL) {
        qb_log(LOG_ERR, "fencing %s: cannot start: %s", target, err ? err : "?");
        g_free(r->target);
        g_string_free(r->out, TRUE);
        g_free(r);
        return DRV_ERR_BAD_ARGS;
    }
    g_hash_table_insert(f->runs, g_memdup2(&id, sizeof(id)), r);
    qb_log(LOG_WARNING, "fencing %s (%s): %u level(s), %u s per call", target, action, levels->len,
           timeout_ms / 1000);
    return 0;
}

void drv_afence_cancel(drv_afence_t *f, uint64_t id)
{
    g_hash_table_remove(f->runs, &id); /* run_free cancels the topology run */
}

void drv_afence_tick(drv_afence_t *f, uint64_t now_ms, bool corosync_ok, bool quorate,
                     int running_vms)
{
    drv_wd_health_t h = {corosync_ok, quorate, running_vms < 0 ? 1u : (unsigned)running_vms};
    const char *why;

    if (f == NULL || f->wd == NULL) {
        return;
    }
    /* Quorum lost: the node has half the watchdog timeout to stop its VMs while still fed;
     * then, if any still runs, the device resets it within one more timeout. Either way it
     * runs nothing 1.5 x the timeout after it lost quorum, before the others take it as down
     * (2 x the timeout after they saw it leave: the same membership change). */
    if (quorate || !corosync_ok) {
        f->lost_since = 0;
    } else if (f->lost_since == 0) {
        f->lost_since = now_ms;
    }
    if (!quorate && corosync_ok &&
        now_ms - f->lost_since < (uint64_t)drv_wd_timeout_s(f->wd) * 1000 / 2) {
        h.quorate = true;
    }
    drv_wd_tick(f->wd, now_ms, &h);
    why = drv_wd_reason(f->wd);
    if (why != f->wd_reason) {
        if (why != NULL) {
            qb_log(LOG_CRIT,
                   "fencing: watchdog no longer fed (%s%s): the host resets in %u s "
                   "unless that changes",
                   why, running_vms < 0 ? "; the hypervisor's view is not current" : "",
                   drv_wd_timeout_s(f->wd));
        } else {
            qb_log(LOG_NOTICE, "fencing: watchdog fed again");
        }
        f->wd_reason = why;
    }
    if (drv_wd_feed_failures(f->wd) == 1) {
        qb_log(LOG_ERR, "fencing: feeding the watchdog failed: %s",
               g_strerror(-drv_wd_feed_error(f->wd)));
    }
}

uint64_t drv_afence_watchdog_ms(const drv_afence_t *f)
{
    return f && f->wd && drv_wd_armed(f->wd) ? (uint64_t)drv_wd_timeout_s(f->wd) * 1000 : 0;
}
