/* Retry with exponential back-off over any fence ops table: the wait is a main-loop timer, never
 * a sleep. */
#include "config.h"

#include <inttypes.h>
#include <glib.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "drv_fence.h"

struct drv_fence_retry {
    const drv_fence_ops_t *ops;
    void *ctx;
    char *agent;
    drv_fence_params_t *params;
    drv_fence_action_t action;
    char *target;
    unsigned timeout_ms;
    drv_fence_retry_policy_t pol;
    drv_fence_attempt_fn attempt_cb;
    drv_fence_done_fn done;
    void *ud;

    unsigned attempt; /* of the call running or next to run, 0 = first */
    bool running;
    uint64_t call_id;
    guint timer;
    bool in_attempt_cb; /* a cancel from there is deferred to its return */
    bool cancelled;
};

static void retry_free(drv_fence_retry_t *r)
{
    if (r->timer) {
        g_source_remove(r->timer);
    }
    g_free(r->agent);
    g_free(r->target);
    drv_fence_params_free(r->params);
    g_free(r);
}

/* The wait after attempt A failed: delay_ms * 2^A, capped. */
static unsigned backoff_ms(const drv_fence_retry_policy_t *pol, unsigned a)
{
    uint64_t d = pol->delay_ms;

    for (unsigned i = 0; i < a && d < UINT32_MAX; i++) {
        d *= 2;
    }
    if (pol->max_delay_ms && d > pol->max_delay_ms) {
        d = pol->max_delay_ms;
    }
    return d > UINT32_MAX ? UINT32_MAX : (unsigned)d;
}

static void on_result(void *ud, const drv_fence_result_t *res);
static gboolean on_timer(gpointer data);

static int start_attempt(drv_fence_retry_t *r, char **errmsg)
{
    int rc = r->ops->run(r->ctx, r->agent, r->params, r->action, r->target, r->timeout_ms,
                         on_result, r, &r->call_id, errmsg);

    r->running = rc == 0;
    return rc;
}

/* Reports RES as attempt r->attempt and either schedules the next one or ends. */
static void settle(drv_fence_retry_t *r, const drv_fence_result_t *res)
{
    bool again = !drv_fence_result_succeeded(res) && r->attempt < r->pol.max_retries;
    unsigned delay = again ? backoff_ms(&r->pol, r->attempt) : 0;

    if (again) {
        qb_log(LOG_WARNING, "Fence agent %s %s%s%s: attempt %u of %u %s (%s); retrying in %u ms",
               r->agent, drv_fence_action_str(r->action), r->target ? " " : "",
               r->target ? r->target : "", r->attempt + 1, r->pol.max_retries + 1,
               drv_fence_outcome_str(res->outcome), res->errmsg ? res->errmsg : "no message",
               delay);
    }
    if (r->attempt_cb) {
        r->in_attempt_cb = true;
        r->attempt_cb(r->ud, res, r->attempt, again, delay);
        r->in_attempt_cb = false;
        if (r->cancelled) {
            retry_free(r);
            return;
        }
    }
    if (!again) {
        r->done(r->ud, res);
        retry_free(r);
        return;
    }
    r->attempt++;
    r->timer = g_timeout_add(delay, on_timer, r);
}

static void on_result(void *ud, const drv_fence_result_t *res)
{
    drv_fence_retry_t *r = ud;

    r->running = false;
    settle(r, res);
}

static gboolean on_timer(gpointer data)
{
    drv_fence_retry_t *r = data;
    g_autofree char *errmsg = NULL;
    drv_fence_result_t res = {0};
    int rc;

    r->timer = 0;
    rc = start_attempt(r, &errmsg);
    if (rc != 0) {
        /* refused now although the first run was accepted (the agent file went away): an
         * attempt that could not start, and the end of the retries */
        res.action = r->action;
        res.outcome = DRV_FENCE_RES_SPAWN_ERROR;
        res.exit_status = -1;
        res.out = "";
        res.err = "";
        res.errmsg = errmsg ? errmsg : drv_strerror(rc);
        r->pol.max_retries = r->attempt;
        settle(r, &res);
    }
    return G_SOURCE_REMOVE;
}

drv_fence_retry_t *drv_fence_retry_start(const drv_fence_ops_t *ops, void *ctx, const char *agent,
                                         const drv_fence_params_t *params,
                                         drv_fence_action_t action, const char *target,
                                         unsigned timeout_ms, const drv_fence_retry_policy_t *pol,
                                         drv_fence_attempt_fn attempt_cb, drv_fence_done_fn done,
                                         void *ud, char **errmsg)
{
    drv_fence_retry_t *r;
    static const drv_fence_retry_policy_t none = {0, 0, 0};

    if (!ops || !ops->run || !ops->cancel || !done) {
        if (errmsg) {
            *errmsg = g_strdup("invalid fence retry call");
        }
        return NULL;
    }
    r = g_new0(drv_fence_retry_t, 1);
    r->ops = ops;
    r->ctx = ctx;
    r->agent = g_strdup(agent);
    r->params = drv_fence_params_copy(params);
    r->action = action;
    r->target = g_strdup(target);
    r->timeout_ms = timeout_ms;
    r->pol = pol ? *pol : none;
    r->attempt_cb = attempt_cb;
    r->done = done;
    r->ud = ud;
    if (start_attempt(r, errmsg) != 0) {
        retry_free(r);
        return NULL;
    }
    return r;
}

void drv_fence_retry_cancel(drv_fence_retry_t *r)
{
    if (!r || r->cancelled) {
        return;
    }
    r->cancelled = true;
    if (r->running && r->ops->cancel) {
        r->ops->cancel(r->ctx, r->call_id);
        r->running = false;
    }
    if (!r->in_attempt_cb) {
        retry_free(r);
    }
}
