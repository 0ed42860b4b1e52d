/* Fencing in the replicated state: fence devices, topology levels, each node's fence record
 * and the bounded fence history; and how the fencing commands change them (applied by the
 * cluster core in CPG order, the same verdict on every node). docs/fencing.md. */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "drv_cluster.h"
#include "drv_fence.h"
#include "drv_state.h"

/* ---- lifecycle ---- */

drv_fence_dev_t *drv_fence_dev_new(const char *name, const char *agent)
{
    drv_fence_dev_t *d = g_new0(drv_fence_dev_t, 1);

    d->name = g_strdup(name);
    d->agent = g_strdup(agent);
    d->keys = g_ptr_array_new_with_free_func(g_free);
    d->vals = g_ptr_array_new_with_free_func(g_free);
    d->nodes = g_ptr_array_new_with_free_func(g_free);
    return d;
}

void drv_fence_dev_free(drv_fence_dev_t *d)
{
    if (d == NULL) {
        return;
    }
    g_free(d->name);
    g_free(d->agent);
    g_ptr_array_unref(d->keys);
    for (guint i = 0; i < d->vals->len; i++) {
        char *v = g_ptr_array_index(d->vals, i);

        memset(v, 0, strlen(v)); /* may be a password */
    }
    g_ptr_array_unref(d->vals);
    g_ptr_array_unref(d->nodes);
    g_free(d);
}

static void strv_copy(GPtrArray *to, const GPtrArray *from)
{
    for (guint i = 0; i < from->len; i++) {
        g_ptr_array_add(to, g_strdup(g_ptr_array_index(from, i)));
    }
}

static bool strv_equal(const GPtrArray *a, const GPtrArray *b)
{
    if (a->len != b->len) {
        return false;
    }
    for (guint i = 0; i < a->len; i++) {
        if (strcmp(g_ptr_array_index(a, i), g_ptr_array_index(b, i)) != 0) {
            return false;
        }
    }
    return true;
}

drv_fence_dev_t *drv_fence_dev_copy(const drv_fence_dev_t *d)
{
    drv_fence_dev_t *c = drv_fence_dev_new(d->name, d->agent);

    strv_copy(c->keys, d->keys);
    strv_copy(c->vals, d->vals);
    strv_copy(c->nodes, d->nodes);
    return c;
}

bool drv_fence_dev_equal(const drv_fence_dev_t *a, const drv_fence_dev_t *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->agent, b->agent) == 0 &&
           strv_equal(a->keys, b->keys) && strv_equal(a->vals, b->vals) &&
           strv_equal(a->nodes, b->nodes);
}

bool drv_fence_dev_targets(const drv_fence_dev_t *d, const char *node)
{
    for (guint i = 0; node && i < d->nodes->len; i++) {
        if (strcmp(g_ptr_array_index(d->nodes, i), node) == 0) {
            return true;
        }
    }
    return false;
}

static int invalid(const char **why, const char *text)
{
    if (why) {
        *why = text;
    }
    return DRV_ERR_BAD_ARGS;
}

int drv_fence_dev_validate(const drv_fence_dev_t *d, const char **why)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);

    if (d->name == NULL || !drv_resource_name_valid(d->name)) {
        return invalid(why, "fence device names are 1-64 characters of [A-Za-z0-9_.-], not "
                            "starting with '-' or '.'");
    }
    if (d->agent == NULL || d->agent[0] != '/' || strlen(d->agent) > 1024 ||
        strpbrk(d->agent, "\r\n") != NULL || !g_utf8_validate(d->agent, -1, NULL)) {
        return invalid(why, "the fence agent must be an absolute path (at most 1024 bytes)");
    }
    if (d->keys->len != d->vals->len || d->keys->len > DRV_FENCE_MAX_PARAMS) {
        return invalid(why, "a fence device has at most 64 parameters");
    }
    for (guint i = 0; i < d->keys->len; i++) {
        drv_fence_params_t *p = drv_fence_params_new();
        const char *k = g_ptr_array_index(d->keys, i), *v = g_ptr_array_index(d->vals, i);
        int rc = drv_fence_params_set(p, k, v, NULL);

        drv_fence_params_free(p);
        if (rc != 0 || strlen(k) > 255 || strlen(v) > 1024 || !g_utf8_validate(v, -1, NULL)) {
            return invalid(why, "bad fence parameter (names: letters, digits, _ and -, not "
                                "action/option/nodename; values: at most 1024 bytes of UTF-8 "
                                "without line breaks)");
        }
        if (!g_hash_table_add(seen, (gpointer)k)) {
            return invalid(why, "a fence parameter is given twice");
        }
    }
    if (d->nodes->len == 0 || d->nodes->len > DRV_RES_MAX_LIST) {
        return invalid(why, "a fence device must list the nodes it can fence (--nodes)");
    }
    g_hash_table_remove_all(seen);
    for (guint i = 0; i < d->nodes->len; i++) {
        const char *n = g_ptr_array_index(d->nodes, i);

        if (!drv_resource_label_valid(n) || strpbrk(n, ", \t\r\n") != NULL) {
            return invalid(why, "bad node name in a fence device's node list");
        }
        if (!g_hash_table_add(seen, (gpointer)n)) {
            return invalid(why, "a node is listed twice in a fence device's node list");
        }
    }
    return 0;
}

void drv_fence_level_free(drv_fence_level_t *l)
{
    if (l) {
        g_ptr_array_unref(l->devices);
        g_free(l);
    }
}

void drv_fence_event_free(drv_fence_event_t *e)
{
    if (e == NULL) {
        return;
    }
    g_free(e->target);
    g_free(e->action);
    g_free(e->executor);
    g_free(e->device);
    g_free(e->result);
    g_free(e->text);
    g_free(e);
}

const drv_node_fence_t *drv_state_node_fence(const drv_state_t *st, const char *node)
{
    return node ? g_hash_table_lookup(st->node_fence, node) : NULL;
}

bool drv_state_node_down(const drv_state_t *st, const char *node)
{
    const drv_node_fence_t *f = drv_state_node_fence(st, node);

    return f != NULL && f->down;
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

GPtrArray *drv_state_fence_levels_for(const drv_state_t *st, const char *node)
{
    GPtrArray *out = g_ptr_array_new();
    GPtrArray *levels = g_hash_table_lookup(st->fence_levels, node);
    g_autoptr(GPtrArray) names = NULL;
    GHashTableIter it;
    gpointer k, v;

    if (levels != NULL && levels->len > 0) {
        for (guint i = 0; i < levels->len; i++) {
            g_ptr_array_add(out, g_ptr_array_index(levels, i));
        }
        return out;
    }
    /* no topology: every device that lists the node, each a level of its own */
    names = g_ptr_array_new();
    g_hash_table_iter_init(&it, st->fence_devices);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (drv_fence_dev_targets(v, node)) {
            g_ptr_array_add(names, k);
        }
    }
    g_ptr_array_sort(names, cmp_str);
    g_ptr_array_set_free_func(out, (GDestroyNotify)drv_fence_level_free);
    for (guint i = 0; i < names->len; i++) {
        drv_fence_level_t *l = g_new0(drv_fence_level_t, 1);

        l->index = i + 1;
        l->devices = g_ptr_array_new();
        g_ptr_array_add(l->devices, names->pdata[i]); /* points into the state */
        g_ptr_array_add(out, l);
    }
    return out;
}

/* ---- applying the fencing commands ---- */

static void set_str(char **dst, const char *v)
{
    g_free(*dst);
    *dst = (v && v[0]) ? g_strdup(v) : NULL;
}

static char *bounded(const char *s)
{
    const char *end;

    if (s == NULL || s[0] == '\0') {
        return NULL;
    }
    if (strlen(s) <= DRV_FENCE_TEXT_MAX) {
        return g_strdup(s);
    }
    end = g_utf8_find_prev_char(s, s + DRV_FENCE_TEXT_MAX);
    return g_strndup(s, end ? (gsize)(end - s) : 0);
}

static drv_node_fence_t *node_fence(drv_state_t *st, const char *node)
{
    drv_node_fence_t *f = g_hash_table_lookup(st->node_fence, node);

    if (f == NULL) {
        f = g_new0(drv_node_fence_t, 1);
        g_hash_table_insert(st->node_fence, g_strdup(node), f);
    }
    return f;
}

static void record(drv_state_t *st, const drv_cmd_t *cmd, const char *target, const char *action,
                   const char *executor, const char *device, uint32_t level, const char *result,
                   const char *text)
{
    drv_fence_event_t *e = g_new0(drv_fence_event_t, 1);

    e->seq = st->seq + 1; /* the core counts this command next */
    e->at = cmd->ts;
    e->target = g_strdup(target);
    e->action = g_strdup(action);
    e->executor = g_strdup(executor);
    e->device = g_strdup(device && device[0] ? device : NULL);
    e->level = level;
    e->result = g_strdup(result);
    e->text = bounded(text);
    g_ptr_array_add(st->fence_history, e);
    while (st->fence_history->len > DRV_FENCE_HISTORY_MAX) {
        g_ptr_array_remove_index(st->fence_history, 0);
    }
}

static void close_op(drv_node_fence_t *f)
{
    f->op = 0;
    set_str(&f->op_executor, NULL);
    set_str(&f->op_action, NULL);
    f->op_operator = false;
    f->op_at = 0;
    f->op_failures = 0;
}

/* NODE runs nothing any more: it said "stopped" for every VM, it releases whatever was moved
 * off it, and a migration it was the source of is over (the VM is wherever the target's
 * reports say). Every VM that mentions it is decided again (version and changed_seq move). */
static void node_is_down(drv_state_t *st, const char *node)
{
    GHashTableIter it;
    gpointer v;

    g_hash_table_iter_init(&it, st->resources);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        drv_resource_t *r = v;
        drv_res_node_t *n = drv_resource_node(r, node, false);
        bool touched = n != NULL || g_strcmp0(r->assigned, node) == 0 ||
                       g_strcmp0(r->moving_from, node) == 0 || g_strcmp0(r->mig_from, node) == 0 ||
                       g_strcmp0(r->mig_to, node) == 0;

        if (!touched) {
            continue;
        }
        if (n != NULL) {
            n->obs = DRV_OBS_STOPPED;
            n->gen = MAX(n->gen, r->gen);
        }
        if (g_strcmp0(r->mig_from, node) == 0) {
            set_str(&r->mig_from, NULL);
            set_str(&r->mig_to, NULL);
            r->mig_gen = 0;
        }
        r->ver++;
        r->changed_seq = st->seq + 1;
    }
}

static bool valid_action(const char *a)
{
    return g_strcmp0(a, "off") == 0 || g_strcmp0(a, "reboot") == 0;
}

static int apply_level(drv_state_t *st, const drv_cmd_t *cmd)
{
    GPtrArray *levels = g_hash_table_lookup(st->fence_levels, cmd->name);
    g_auto(GStrv) devs = NULL;
    drv_fence_level_t *l;
    guint at;

    if (cmd->gen < 1 || cmd->gen > DRV_FENCE_MAX_LEVEL) {
        return DRV_ERR_BAD_ARGS;
    }
    for (at = 0; levels && at < levels->len; at++) {
        l = g_ptr_array_index(levels, at);
        if (l->index >= cmd->gen) {
            break;
        }
    }
    if (cmd->value == NULL || cmd->value[0] == '\0') {
        if (levels == NULL || at == levels->len ||
            ((drv_fence_level_t *)g_ptr_array_index(levels, at))->index != cmd->gen) {
            return DRV_ERR_BAD_ARGS; /* no such level */
        }
        g_ptr_array_remove_index(levels, at);
        if (levels->len == 0) {
            g_hash_table_remove(st->fence_levels, cmd->name);
        }
        qb_log(LOG_NOTICE, "cluster: fencing level %" PRIu64 " of %s removed", cmd->gen, cmd->name);
        return DRV_OK;
    }
    devs = g_strsplit(cmd->value, ",", -1);
    if (g_strv_length(devs) > 16) {
        return DRV_ERR_BAD_ARGS;
    }
    for (guint i = 0; devs[i]; i++) {
        if (!g_hash_table_contains(st->fence_devices, devs[i])) {
            return DRV_ERR_UNKNOWN_DEVICE;
        }
        for (guint j = 0; j < i; j++) {
            if (strcmp(devs[i], devs[j]) == 0) {
                return DRV_ERR_BAD_ARGS;
            }
        }
    }
    if (levels == NULL) {
        levels = g_ptr_array_new_with_free_func((GDestroyNotify)drv_fence_level_free);
        g_hash_table_insert(st->fence_levels, g_strdup(cmd->name), levels);
    }
    l = g_new0(drv_fence_level_t, 1);
    l->index = (uint32_t)cmd->gen;
    l->devices = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; devs[i]; i++) {
        g_ptr_array_add(l->devices, g_strdup(devs[i]));
    }
    if (at < levels->len &&
        ((drv_fence_level_t *)g_ptr_array_index(levels, at))->index == l->index) {
        g_ptr_array_remove_index(levels, at);
    }
    g_ptr_array_insert(levels, (gint)at, l);
    qb_log(LOG_NOTICE, "cluster: fencing level %u of %s: %s", l->index, cmd->name, cmd->value);
    return DRV_OK;
}

int drv_state_apply_fence(drv_state_t *st, const drv_cmd_t *cmd)
{
    drv_node_fence_t *f;

    switch (cmd->type) {
    case DRV_CMD_FENCE_DEV_ADD:
        if (cmd->dev == NULL || drv_fence_dev_validate(cmd->dev, NULL) != 0 ||
            strcmp(cmd->dev->name, cmd->name) != 0) {
            return DRV_ERR_BAD_ARGS;
        }
        if (g_hash_table_contains(st->fence_devices, cmd->name)) {
            return DRV_ERR_EXISTS;
        }
        if (g_hash_table_size(st->fence_devices) >= DRV_FENCE_MAX_DEVICES) {
            return DRV_ERR_LIMIT;
        }
        g_hash_table_insert(st->fence_devices, g_strdup(cmd->name), drv_fence_dev_copy(cmd->dev));
        qb_log(LOG_NOTICE, "cluster: fence device %s added (agent %s)", cmd->name, cmd->dev->agent);
        return DRV_OK;
    case DRV_CMD_FENCE_DEV_REMOVE: {
        GHashTableIter it;
        gpointer k, v;

        if (!g_hash_table_contains(st->fence_devices, cmd->name)) {
            return DRV_ERR_UNKNOWN_DEVICE;
        }
        g_hash_table_iter_init(&it, st->fence_levels);
        while (g_hash_table_iter_next(&it, &k, &v)) {
            GPtrArray *levels = v;

            for (guint i = 0; i < levels->len; i++) {
                const drv_fence_level_t *l = g_ptr_array_index(levels, i);

                for (guint j = 0; j < l->devices->len; j++) {
                    if (strcmp(g_ptr_array_index(l->devices, j), cmd->name) == 0) {
                        return DRV_ERR_BUSY; /* used by a level: remove the level first */
                    }
                }
            }
        }
        g_hash_table_remove(st->fence_devices, cmd->name);
        qb_log(LOG_NOTICE, "cluster: fence device %s removed", cmd->name);
        return DRV_OK;
    }
    case DRV_CMD_FENCE_LEVEL:
        return apply_level(st, cmd);
    case DRV_CMD_FENCE_BEGIN:
        f = node_fence(st, cmd->name);
        if (cmd->gen != f->ver) {
            return DRV_ERR_STALE;
        }
        if (!valid_action(cmd->value2) || strcmp(cmd->value, cmd->name) == 0) {
            return DRV_ERR_BAD_ARGS;
        }
        if (f->op != 0) {
            g_autofree char *why =
                g_strdup_printf("replaced: a new fencing of %s by %s", cmd->name, cmd->value);

            record(st, cmd, cmd->name, f->op_action, f->op_executor, NULL, 0, "abandoned", why);
        }
        close_op(f);
        f->op = st->seq + 1;
        set_str(&f->op_executor, cmd->value);
        set_str(&f->op_action, cmd->value2);
        f->op_operator = cmd->flag;
        f->op_at = cmd->ts;
        f->ver++;
        record(st, cmd, cmd->name, cmd->value2, cmd->value, NULL, 0, "begun",
               cmd->flag ? "asked by the operator" : "its daemon left the cluster uncleanly");
        qb_log(LOG_WARNING, "cluster: fencing of %s (%s) begun, run by %s", cmd->name, cmd->value2,
               cmd->value);
        return DRV_OK;
    case DRV_CMD_FENCE_RESULT:
        f = g_hash_table_lookup(st->node_fence, cmd->name);
        if (f == NULL || f->op == 0 || f->op != cmd->gen) {
            return DRV_ERR_STALE; /* the operation was closed or replaced meanwhile */
        }
        record(st, cmd, cmd->name, f->op_action, f->op_executor, cmd->value, cmd->obs,
               cmd->flag ? "ok" : "failed", cmd->value2);
        if (!cmd->flag) {
            f->op_failures++;
            f->ver++;
            qb_log(LOG_ERR, "cluster: fencing of %s failed (%u so far): %s", cmd->name,
                   f->op_failures, cmd->value2);
            return DRV_OK;
        }
        f->down = true;
        f->down_watchdog = false;
        g_free(f->down_how);
        f->down_how = cmd->obs > 0
                          ? g_strdup_printf("fenced by %s via %s (level %u)", f->op_executor,
                                            cmd->value, cmd->obs)
                          : g_strdup_printf("fenced by %s via %s", f->op_executor, cmd->value);
        f->down_at = cmd->ts;
        close_op(f);
        f->ver++;
        node_is_down(st, cmd->name);
        qb_log(LOG_WARNING, "cluster: node %s %s", cmd->name, f->down_how);
        return DRV_OK;
    case DRV_CMD_NODE_DOWN:
        f = node_fence(st, cmd->name);
        /* the operator may confirm a node the watchdog rule took as down */
        if (cmd->gen != f->ver || (f->down && !(cmd->flag && f->down_watchdog))) {
            return DRV_ERR_STALE;
        }
        if (f->op != 0) {
            record(st, cmd, cmd->name, f->op_action, f->op_executor, NULL, 0, "cancelled",
                   cmd->value);
            close_op(f);
        }
        f->down = true;
        f->down_watchdog = !cmd->flag;
        set_str(&f->down_how, cmd->value);
        f->down_at = cmd->ts;
        f->ver++;
        record(st, cmd, cmd->name, cmd->flag ? "confirm-down" : "watchdog", NULL, NULL, 0, "ok",
               cmd->value);
        node_is_down(st, cmd->name);
        qb_log(LOG_WARNING, "cluster: node %s is down: %s", cmd->name, cmd->value);
        return DRV_OK;
    case DRV_CMD_NODE_UP:
        f = g_hash_table_lookup(st->node_fence, cmd->name);
        if (f == NULL || cmd->gen != f->ver || (!f->down && (f->op == 0 || f->op_operator))) {
            return DRV_ERR_STALE;
        }
        if (f->op != 0 && !f->op_operator) {
            record(st, cmd, cmd->name, f->op_action, f->op_executor, NULL, 0, "cancelled",
                   "the node is back in the cluster");
            close_op(f);
        }
        f->down = false;
        f->down_watchdog = false;
        set_str(&f->down_how, NULL);
        f->down_at = 0;
        f->ver++;
        qb_log(LOG_NOTICE, "cluster: node %s is back", cmd->name);
        return DRV_OK;
    default:
        return DRV_ERR_BAD_ARGS;
    }
}
