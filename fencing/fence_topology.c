/* Fencing a node through topology levels (drv_fence_topology.h). Each device's call, with its
 * retries, is one drv_fence_retry; this file only decides which device runs next and what the
 * run came to. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "drover/results.h"
#include "drv_fence_topology.h"

#define DEV_ERRMSG_MAX 120 /* of one device's failure inside the run's message */

typedef struct topo_dev {
    char *name;
    char *agent;
    drv_fence_params_t *params;
} topo_dev_t;

typedef struct topo_level {
    unsigned index;
    topo_dev_t *devs;
    size_t n_devs;
    char *names; /* "dev1,dev2" */
} topo_level_t;

struct drv_fence_topo {
    const drv_fence_ops_t *ops;
    void *ctx;
    char *target;
    drv_fence_action_t action;
    unsigned timeout_ms;
    drv_fence_retry_policy_t pol;
    topo_level_t *levels; /* sorted by index */
    size_t n_levels;
    drv_fence_topo_step_fn step_cb;
    drv_fence_topo_done_fn done_cb;
    void *ud;

    size_t lv; /* the level running (n_levels once all failed) */
    size_t dv; /* the device of that level running or next */
    drv_fence_retry_t *retry;
    guint timer;       /* the initial delay */
    unsigned attempts; /* calls of the device running */
    unsigned n_calls;  /* calls of the whole run */
    GString *failures; /* "level 1: dev: msg; level 2: ..." */
    bool in_step_cb;   /* a cancel from there is deferred to its return */
    bool in_done_cb;   /* a cancel from there is ignored */
    bool cancelled;
};

/* ---- validation and copies ---- */

static void set_err(char **errmsg, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void set_err(char **errmsg, const char *fmt, ...)
{
    va_list ap;

    if (!errmsg) {
        return;
    }
    va_start(ap, fmt);
    *errmsg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static int validate(const drv_fence_ops_t *ops, const char *target, drv_fence_action_t action,
                    const drv_fence_level_spec_t *levels, size_t n_levels, unsigned timeout_ms,
                    drv_fence_topo_done_fn done_cb, char **errmsg)
{
    if (!ops || !ops->run || !ops->cancel || !done_cb || (n_levels && !levels)) {
        set_err(errmsg, "invalid fence topology call");
        return DRV_ERR_BAD_ARGS;
    }
    if (!target || !*target || strpbrk(target, "\r\n")) {
        set_err(errmsg, "fence target %s",
                target && *target ? "contains a line break" : "is empty");
        return DRV_ERR_BAD_ARGS;
    }
    if (action != DRV_FENCE_ACT_OFF && action != DRV_FENCE_ACT_REBOOT &&
        action != DRV_FENCE_ACT_ON) {
        set_err(errmsg, "fence action %s is not off, reboot or on", drv_fence_action_str(action));
        return DRV_ERR_BAD_ARGS;
    }
    if (timeout_ms == 0) {
        set_err(errmsg, "fence agent timeout must be > 0");
        return DRV_ERR_BAD_ARGS;
    }
    if (n_levels == 0) {
        set_err(errmsg, "no fencing level for %s", target);
        return DRV_ERR_BAD_ARGS;
    }
    for (size_t i = 0; i < n_levels; i++) {
        const drv_fence_level_spec_t *l = &levels[i];

        for (size_t j = 0; j < i; j++) {
            if (levels[j].index == l->index) {
                set_err(errmsg, "fencing level %u appears twice", l->index);
                return DRV_ERR_BAD_ARGS;
            }
        }
        if (l->n_devs == 0 || !l->devs) {
            set_err(errmsg, "fencing level %u has no device", l->index);
            return DRV_ERR_BAD_ARGS;
        }
        for (size_t k = 0; k < l->n_devs; k++) {
            const drv_fence_dev_spec_t *d = &l->devs[k];
            g_autofree char *e = NULL;

            if (!d->name || !*d->name || strpbrk(d->name, ",\r\n")) {
                set_err(errmsg, "fencing level %u: device %zu has %s", l->index, k + 1,
                        d->name && *d->name ? "a name with ',' or a line break" : "no name");
                return DRV_ERR_BAD_ARGS;
            }
            if (drv_fence_validate(d->agent, d->params, target, false, &e) != 0) {
                set_err(errmsg, "fencing level %u: device %s: %s", l->index, d->name, e);
                return DRV_ERR_BAD_ARGS;
            }
        }
    }
    return 0;
}

static int level_cmp(const void *a, const void *b)
{
    unsigned x = ((const topo_level_t *)a)->index;
    unsigned y = ((const topo_level_t *)b)->index;

    return x < y ? -1 : x > y;
}

static void copy_levels(drv_fence_topo_t *t, const drv_fence_level_spec_t *levels, size_t n)
{
    t->levels = g_new0(topo_level_t, n);
    t->n_levels = n;
    for (size_t i = 0; i < n; i++) {
        topo_level_t *l = &t->levels[i];
        GString *names = g_string_new(NULL);

        l->index = levels[i].index;
        l->n_devs = levels[i].n_devs;
        l->devs = g_new0(topo_dev_t, l->n_devs);
        for (size_t k = 0; k < l->n_devs; k++) {
            const drv_fence_dev_spec_t *d = &levels[i].devs[k];

            l->devs[k].name = g_strdup(d->name);
            l->devs[k].agent = g_strdup(d->agent);
            l->devs[k].params = drv_fence_params_copy(d->params);
            g_string_append_printf(names, "%s%s", k ? "," : "", d->name);
        }
        l->names = g_string_free(names, FALSE);
    }
    qsort(t->levels, n, sizeof(*t->levels), level_cmp);
}

static void topo_free(drv_fence_topo_t *t)
{
    if (t->timer) {
        g_source_remove(t->timer);
    }
    for (size_t i = 0; i < t->n_levels; i++) {
        topo_level_t *l = &t->levels[i];

        for (size_t k = 0; k < l->n_devs; k++) {
            g_free(l->devs[k].name);
            g_free(l->devs[k].agent);
            drv_fence_params_free(l->devs[k].params);
        }
        g_free(l->devs);
        g_free(l->names);
    }
    g_free(t->levels);
    g_free(t->target);
    g_string_free(t->failures, TRUE);
    g_free(t);
}

/* ---- the run ---- */

/* Cuts S to at most MAX bytes on a UTF-8 character boundary, marking the cut with "...". */
static void truncate_utf8(GString *s, size_t max)
{
    size_t cut;

    if (s->len <= max) {
        return;
    }
    cut = max - 3;
    while (cut > 0 && ((unsigned char)s->str[cut] & 0xC0) == 0x80) {
        cut--;
    }
    g_string_truncate(s, cut);
    g_string_append(s, "...");
}

static void finish(drv_fence_topo_t *t, bool success)
{
    const topo_level_t *l = &t->levels[MIN(t->lv, t->n_levels - 1)];
    drv_fence_topo_result_t res = {
        .success = success,
        .level = l->index,
        .devices = l->names,
        .n_calls = t->n_calls,
    };

    if (!success) {
        truncate_utf8(t->failures, DRV_FENCE_TOPO_ERRMSG_MAX);
        res.errmsg = t->failures->str;
    }
    t->in_done_cb = true;
    t->done_cb(t->ud, &res);
    topo_free(t);
}

/* Reports one call; false when the step callback cancelled the run (the caller frees it). */
static bool report(drv_fence_topo_t *t, const drv_fence_result_t *res, unsigned attempt,
                   bool will_retry, unsigned next_delay_ms)
{
    const topo_level_t *l = &t->levels[t->lv];
    drv_fence_topo_step_t step = {
        .level = l->index,
        .device = l->devs[t->dv].name,
        .agent = l->devs[t->dv].agent,
        .attempt = attempt,
        .will_retry = will_retry,
        .next_delay_ms = next_delay_ms,
        .result = res,
    };

    t->n_calls++;
    t->attempts = attempt + 1;
    if (t->step_cb) {
        t->in_step_cb = true;
        t->step_cb(t->ud, &step);
        t->in_step_cb = false;
    }
    return !t->cancelled;
}

/* The device running failed with MSG: its level is given up, the next one is tried. */
static void device_failed(drv_fence_topo_t *t, const char *msg)
{
    const topo_level_t *l = &t->levels[t->lv];
    g_autoptr(GString) m = g_string_new(msg);

    truncate_utf8(m, DEV_ERRMSG_MAX);
    g_string_append_printf(t->failures, "%slevel %u: %s: %s", t->failures->len ? "; " : "",
                           l->index, l->devs[t->dv].name, m->str);
    if (t->attempts > 1) {
        g_string_append_printf(t->failures, " (%u attempts)", t->attempts);
    }
    t->lv++;
    t->dv = 0;
}

static void on_attempt(void *ud, const drv_fence_result_t *res, unsigned attempt, bool will_retry,
                       unsigned next_delay_ms)
{
    drv_fence_topo_t *t = ud;

    if (!report(t, res, attempt, will_retry, next_delay_ms)) {
        topo_free(t); /* the retry was cancelled too and frees itself */
    }
}

static void run_next(drv_fence_topo_t *t);

static void on_device_done(void *ud, const drv_fence_result_t *res)
{
    drv_fence_topo_t *t = ud;

    t->retry = NULL; /* it frees itself on return */
    if (!drv_fence_result_succeeded(res)) {
        device_failed(t, res->errmsg ? res->errmsg : drv_fence_outcome_str(res->outcome));
    } else if (++t->dv == t->levels[t->lv].n_devs) {
        finish(t, true);
        return;
    }
    run_next(t);
}

/* Starts the device at (lv, dv), moving past devices whose call is refused; ends the run when
 * no level is left. */
static void run_next(drv_fence_topo_t *t)
{
    while (t->lv < t->n_levels) {
        const topo_dev_t *d = &t->levels[t->lv].devs[t->dv];
        g_autofree char *errmsg = NULL;
        drv_fence_result_t res = {0};

        t->attempts = 0;
        t->retry =
            drv_fence_retry_start(t->ops, t->ctx, d->agent, d->params, t->action, t->target,
                                  t->timeout_ms, &t->pol, on_attempt, on_device_done, t, &errmsg);
        if (t->retry) {
            return;
        }
        res.action = t->action;
        res.outcome = DRV_FENCE_RES_SPAWN_ERROR;
        res.exit_status = -1;
        res.out = "";
        res.err = "";
        res.errmsg = errmsg ? errmsg : "refused by the fence runner";
        if (!report(t, &res, 0, false, 0)) {
            topo_free(t);
            return;
        }
        device_failed(t, res.errmsg);
    }
    finish(t, false);
}

static gboolean on_delay(gpointer data)
{
    drv_fence_topo_t *t = data;

    t->timer = 0;
    run_next(t);
    return G_SOURCE_REMOVE;
}

drv_fence_topo_t *drv_fence_topo_start(const drv_fence_ops_t *ops, void *ctx, const char *target,
                                       drv_fence_action_t action,
                                       const drv_fence_level_spec_t *levels, size_t n_levels,
                                       unsigned timeout_ms,
                                       const drv_fence_retry_policy_t *per_device_retry,
                                       unsigned delay_ms, drv_fence_topo_step_fn step_cb,
                                       drv_fence_topo_done_fn done_cb, void *ud, char **errmsg)
{
    drv_fence_topo_t *t;

    if (validate(ops, target, action, levels, n_levels, timeout_ms, done_cb, errmsg) != 0) {
        return NULL;
    }
    t = g_new0(drv_fence_topo_t, 1);
    t->ops = ops;
    t->ctx = ctx;
    t->target = g_strdup(target);
    t->action = action;
    t->timeout_ms = timeout_ms;
    if (per_device_retry) {
        t->pol = *per_device_retry;
    }
    copy_levels(t, levels, n_levels);
    t->step_cb = step_cb;
    t->done_cb = done_cb;
    t->ud = ud;
    t->failures = g_string_new(NULL);
    /* even without a delay the first call starts from the main loop: a refused first call is
     * reported through the callbacks, and never from inside start */
    t->timer = delay_ms ? g_timeout_add(delay_ms, on_delay, t) : g_idle_add(on_delay, t);
    return t;
}

void drv_fence_topo_cancel(drv_fence_topo_t *t)
{
    if (!t || t->cancelled || t->in_done_cb) {
        return;
    }
    t->cancelled = true;
    if (t->retry) {
        drv_fence_retry_cancel(t->retry);
        t->retry = NULL;
    }
    if (t->timer) {
        g_source_remove(t->timer);
        t->timer = 0;
    }
    if (!t->in_step_cb) {
        topo_free(t);
    }
}
