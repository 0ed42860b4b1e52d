/* The fake fence ops table (fence_fake.h). */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "drover/results.h"
#include "fence_fake.h"

typedef struct script_entry {
    drv_fence_outcome_t outcome;
    int exit_status;
    char *out;
    char *err;
    unsigned delay_ms;
} script_entry_t;

typedef struct pending {
    drv_fence_fake_t *f;
    drv_fence_fake_call_t *call;
    script_entry_t res; /* a copy: scripts may change before delivery */
    drv_fence_done_fn done;
    void *ud;
    guint src; /* 0 while held */
} pending_t;

struct drv_fence_fake {
    GHashTable *scripts; /* "action\x1ftarget" or "action\x1f" (any) -> GQueue of entries */
    GPtrArray *calls;    /* drv_fence_fake_call_t * */
    GPtrArray *pending;  /* pending_t *, oldest first */
    bool hold;
    uint64_t next_id;
};

static char *script_key(drv_fence_action_t action, const char *target)
{
    return g_strdup_printf("%s\x1f%s", drv_fence_action_str(action), target ? target : "");
}

static void entry_clear(script_entry_t *e)
{
    g_free(e->out);
    g_free(e->err);
}

static void entry_free(gpointer p)
{
    entry_clear(p);
    g_free(p);
}

static void queue_free(gpointer q)
{
    g_queue_free_full(q, entry_free);
}

static void call_free(gpointer p)
{
    drv_fence_fake_call_t *c = p;

    g_free(c->agent);
    g_free(c->target);
    g_free(c->params);
    g_free(c->stdin_text);
    g_free(c);
}

static void pending_free(pending_t *p)
{
    if (p->src) {
        g_source_remove(p->src);
    }
    entry_clear(&p->res);
    g_free(p);
}

drv_fence_fake_t *drv_fence_fake_new(void)
{
    drv_fence_fake_t *f = g_new0(drv_fence_fake_t, 1);

    f->scripts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, queue_free);
    f->calls = g_ptr_array_new_with_free_func(call_free);
    f->pending = g_ptr_array_new();
    return f;
}

void drv_fence_fake_free(drv_fence_fake_t *f)
{
    if (!f) {
        return;
    }
    for (guint i = 0; i < f->pending->len; i++) {
        pending_free(g_ptr_array_index(f->pending, i));
    }
    g_ptr_array_free(f->pending, TRUE);
    g_ptr_array_unref(f->calls);
    g_hash_table_destroy(f->scripts);
    g_free(f);
}

void drv_fence_fake_script(drv_fence_fake_t *f, drv_fence_action_t action, const char *target,
                           drv_fence_outcome_t outcome, int exit_status, const char *out,
                           const char *err, unsigned delay_ms)
{
    char *key = script_key(action, target);
    GQueue *q = g_hash_table_lookup(f->scripts, key);
    script_entry_t *e = g_new0(script_entry_t, 1);

    if (!q) {
        q = g_queue_new();
        g_hash_table_insert(f->scripts, key, q);
    } else {
        g_free(key);
    }
    e->outcome = outcome;
    e->exit_status = exit_status;
    e->out = g_strdup(out ? out : "");
    e->err = g_strdup(err ? err : "");
    e->delay_ms = delay_ms;
    g_queue_push_tail(q, e);
}

void drv_fence_fake_clear_scripts(drv_fence_fake_t *f)
{
    g_hash_table_remove_all(f->scripts);
}

/* The next scripted result for ACTION on TARGET, copied into *RES. */
static void next_result(drv_fence_fake_t *f, drv_fence_action_t action, const char *target,
                        script_entry_t *res)
{
    g_autofree char *key = script_key(action, target);
    g_autofree char *any = script_key(action, NULL);
    GQueue *q = g_hash_table_lookup(f->scripts, key);
    script_entry_t *e;

    if (!q) {
        q = g_hash_table_lookup(f->scripts, any);
    }
    if (!q || g_queue_is_empty(q)) {
        memset(res, 0, sizeof(*res));
        res->out = g_strdup("");
        res->err = g_strdup("");
        return;
    }
    e = g_queue_get_length(q) > 1 ? g_queue_pop_head(q) : g_queue_peek_head(q);
    *res = *e;
    res->out = g_strdup(e->out);
    res->err = g_strdup(e->err);
    if (g_queue_peek_head(q) != e) {
        entry_free(e);
    }
}

static void deliver(pending_t *p)
{
    drv_fence_fake_t *f = p->f;
    drv_fence_result_t res = {0};
    g_autofree char *errmsg = NULL;
    g_auto(GStrv) lines = NULL;
    const char *last = NULL;

    g_ptr_array_remove(f->pending, p);
    p->call->delivered = true;
    res.call_id = p->call->id;
    res.action = p->call->action;
    res.outcome = p->res.outcome;
    res.exit_status = p->res.exit_status;
    res.out = p->res.out;
    res.err = p->res.err;
    lines = g_strsplit(p->res.err, "\n", -1);
    for (int i = (int)g_strv_length(lines) - 1; i >= 0 && !last; i--) {
        if (*g_strstrip(lines[i])) {
            last = lines[i];
        }
    }
    switch (res.outcome) {
    case DRV_FENCE_RES_OK:
    case DRV_FENCE_RES_OFF:
        break;
    case DRV_FENCE_RES_FAILED:
        errmsg = g_strdup_printf("exit status %d%s%s", res.exit_status, last ? ": " : "",
                                 last ? last : "");
        break;
    case DRV_FENCE_RES_TIMEOUT:
        errmsg =
            g_strdup_printf("timed out after %u ms (process group killed)", p->call->timeout_ms);
        break;
    case DRV_FENCE_RES_SPAWN_ERROR:
        errmsg = g_strdup_printf("cannot start %s: %s", p->call->agent, last ? last : "fake");
        break;
    }
    res.errmsg = errmsg;
    res.elapsed_ms = p->res.delay_ms;
    p->src = 0;
    p->done(p->ud, &res);
    pending_free(p);
}

static gboolean on_deliver(gpointer data)
{
    pending_t *p = data;

    p->src = 0;
    deliver(p);
    return G_SOURCE_REMOVE;
}

static void schedule(pending_t *p)
{
    p->src =
        p->res.delay_ms ? g_timeout_add(p->res.delay_ms, on_deliver, p) : g_idle_add(on_deliver, p);
}

static int fake_run(void *ctx, const char *agent, const drv_fence_params_t *params,
                    drv_fence_action_t action, const char *target, unsigned timeout_ms,
                    drv_fence_done_fn done, void *ud, uint64_t *call_id, char **errmsg)
{
    drv_fence_fake_t *f = ctx;
    drv_fence_fake_call_t *c;
    pending_t *p;
    int rc;

    if (!f || !done || (unsigned)action >= DRV_FENCE_ACT_N || timeout_ms == 0) {
        if (errmsg) {
            *errmsg = g_strdup(timeout_ms == 0 ? "fence agent timeout must be > 0"
                                               : "invalid fence call");
        }
        return DRV_ERR_BAD_ARGS;
    }
    rc = drv_fence_validate(agent, params, target, false, errmsg);
    if (rc != 0) {
        return rc;
    }
    c = g_new0(drv_fence_fake_call_t, 1);
    c->id = ++f->next_id;
    c->agent = g_strdup(agent);
    c->action = action;
    c->target = g_strdup(target);
    c->params = drv_fence_params_redacted(params);
    c->stdin_text = drv_fence__stdin_text(params, action, target);
    c->timeout_ms = timeout_ms;
    g_ptr_array_add(f->calls, c);

    p = g_new0(pending_t, 1);
    p->f = f;
    p->call = c;
    p->done = done;
    p->ud = ud;
    next_result(f, action, target, &p->res);
    g_ptr_array_add(f->pending, p);
    if (!f->hold) {
        schedule(p);
    }
    if (call_id) {
        *call_id = c->id;
    }
    return 0;
}

static void fake_cancel(void *ctx, uint64_t call_id)
{
    drv_fence_fake_t *f = ctx;

    for (guint i = 0; f && i < f->pending->len; i++) {
        pending_t *p = g_ptr_array_index(f->pending, i);

        if (p->call->id == call_id) {
            p->call->cancelled = true;
            g_ptr_array_remove_index(f->pending, i);
            pending_free(p);
            return;
        }
    }
}

const drv_fence_ops_t drv_fence_fake_ops = {
    .name = "fake",
    .run = fake_run,
    .cancel = fake_cancel,
};

void drv_fence_fake_hold(drv_fence_fake_t *f, bool hold)
{
    f->hold = hold;
}

size_t drv_fence_fake_release(drv_fence_fake_t *f)
{
    size_t n = 0;
    g_autoptr(GArray) held = g_array_new(FALSE, FALSE, sizeof(uint64_t));

    for (guint i = 0; i < f->pending->len; i++) {
        pending_t *p = g_ptr_array_index(f->pending, i);

        if (!p->src) {
            g_array_append_val(held, p->call->id);
        }
    }
    /* by id: a callback may cancel a later held call, or make new ones */
    for (guint i = 0; i < held->len; i++) {
        uint64_t id = g_array_index(held, uint64_t, i);

        for (guint j = 0; j < f->pending->len; j++) {
            pending_t *p = g_ptr_array_index(f->pending, j);

            if (p->call->id == id) {
                deliver(p);
                n++;
                break;
            }
        }
    }
    return n;
}

size_t drv_fence_fake_pending(const drv_fence_fake_t *f)
{
    return f->pending->len;
}

size_t drv_fence_fake_n_calls(const drv_fence_fake_t *f)
{
    return f->calls->len;
}

const drv_fence_fake_call_t *drv_fence_fake_call(const drv_fence_fake_t *f, size_t i)
{
    return i < f->calls->len ? g_ptr_array_index(f->calls, i) : NULL;
}

size_t drv_fence_fake_count(const drv_fence_fake_t *f, drv_fence_action_t action,
                            const char *target)
{
    size_t n = 0;

    for (guint i = 0; i < f->calls->len; i++) {
        const drv_fence_fake_call_t *c = g_ptr_array_index(f->calls, i);

        if (c->action == action && (!target || g_strcmp0(c->target, target) == 0)) {
            n++;
        }
    }
    return n;
}
