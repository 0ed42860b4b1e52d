/* The fencing ops of droverd's IPC (docs/cli.md, docs/fencing.md): fence devices, topology
 * levels, the fence history, an operator's fencing and confirm-down. The transport is
 * ipc_server.c; the helpers (argument checks, submit and answer once applied) are
 * ipc_handlers.c's, declared in ipc.h.
 *
 * Requests (every change also takes "timeout_ms"):
 *   {"op": "fence-device-add", "name": DEV, "agent": PATH, "params": [{"key": K, "value": V}],
 *    "nodes": [NODE...]}                        -> {"op", "name", "agent"}
 *   {"op": "fence-device-remove", "name": DEV}  -> {"op", "name"}
 *   {"op": "fence-device-list"}                 -> {"devices": [DEVICE...]}
 *   {"op": "fence-device-show", "name": DEV}    -> {"device": DEVICE}
 *   {"op": "fence-level-add", "node": NODE, "index": 1-9, "devices": [DEV...]}
 *                                               -> {"op", "node", "index", "devices", "replaced"}
 *   {"op": "fence-level-remove", "node": NODE, "index": 1-9}     -> {"op", "node", "index"}
 *   {"op": "fence-level-list", "node": NODE (optional)}          -> {"nodes": [...]}
 *   {"op": "fence-history", "node": NODE (optional)}             -> {"history": [EVENT...]}
 *   {"op": "fence-status", "node": NODE, "operation": N}         -> the state of operation N
 *   {"op": "node-fence", "node": NODE, "action": "off"|"reboot"} -> {"op", "node", "action",
 *                                                                    "executor", "operation"}
 *   {"op": "node-confirm-down", "node": NODE}                    -> {"op", "node"}
 * A DEVICE shows every secret parameter value as DRV_FENCE_REDACTED; nothing here logs a
 * parameter value other than through drv_fence_params_redacted(). */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <syslog.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "agent.h"
#include "drv_fence.h"
#include "drv_props.h"
#include "ipc.h"

#define LEVEL_MAX_DEVICES 16 /* the apply's limit of devices in one level */

static gint cmp_pstr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *local_node(drv_agent_t *a)
{
    const drv_cs_info_t *info = drv_cs_info(a->cs);

    return info->local_nodeid ? drv_cs_node_name(a->cs, info->local_nodeid) : NULL;
}

static uint64_t wall_ms(void)
{
    return (uint64_t)(g_get_real_time() / 1000);
}

static void add_str_or_null(JsonBuilder *b, const char *member, const char *value)
{
    json_builder_set_member_name(b, member);
    if (value != NULL) {
        json_builder_add_string_value(b, value);
    } else {
        json_builder_add_null_value(b);
    }
}

static void add_int(JsonBuilder *b, const char *member, gint64 v)
{
    json_builder_set_member_name(b, member);
    json_builder_add_int_value(b, v);
}

static bool has_topology(const drv_state_t *st, const char *node)
{
    GPtrArray *levels = g_hash_table_lookup(st->fence_levels, node);

    return levels != NULL && levels->len > 0;
}

static bool level_uses(const drv_fence_level_t *l, const char *dev)
{
    for (guint i = 0; i < l->devices->len; i++) {
        if (strcmp(g_ptr_array_index(l->devices, i), dev) == 0) {
            return true;
        }
    }
    return false;
}

/* The first topology level that uses DEV (implicit levels not counted): its node and index. */
static bool topology_use(const drv_state_t *st, const char *dev, const char **node, uint32_t *index)
{
    g_autoptr(GList) nodes = g_hash_table_get_keys(st->fence_levels);

    nodes = g_list_sort(nodes, (GCompareFunc)strcmp);
    for (GList *l = nodes; l != NULL; l = l->next) {
        GPtrArray *levels = g_hash_table_lookup(st->fence_levels, l->data);

        for (guint i = 0; i < levels->len; i++) {
            const drv_fence_level_t *lv = g_ptr_array_index(levels, i);

            if (level_uses(lv, dev)) {
                *node = l->data;
                *index = lv->index;
                return true;
            }
        }
    }
    return false;
}

/* ---- JSON bodies ---- */

JsonNode *drv_ipc_fence_device_json(const drv_state_t *st, const drv_fence_dev_t *d)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GPtrArray) nodes = g_ptr_array_new();

    json_builder_begin_object(b);
    add_str_or_null(b, "name", d->name);
    add_str_or_null(b, "agent", d->agent);
    json_builder_set_member_name(b, "nodes");
    json_builder_begin_array(b);
    for (guint i = 0; i < d->nodes->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(d->nodes, i));
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "params");
    json_builder_begin_array(b);
    for (guint i = 0; i < d->keys->len && i < d->vals->len; i++) {
        const char *k = g_ptr_array_index(d->keys, i);
        bool secret = drv_fence_param_is_secret(k);

        json_builder_begin_object(b);
        add_str_or_null(b, "key", k);
        add_str_or_null(b, "value", secret ? DRV_FENCE_REDACTED : g_ptr_array_index(d->vals, i));
        json_builder_set_member_name(b, "secret");
        json_builder_add_boolean_value(b, secret);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    /* the levels that use it: the topology's, and the implicit ones of the nodes it lists
     * that have no topology */
    json_builder_set_member_name(b, "levels");
    json_builder_begin_array(b);
    if (st != NULL) {
        GHashTableIter it;
        gpointer k;

        for (guint i = 0; i < d->nodes->len; i++) {
            g_ptr_array_add(nodes, g_ptr_array_index(d->nodes, i));
        }
        g_hash_table_iter_init(&it, st->fence_levels);
        while (g_hash_table_iter_next(&it, &k, NULL)) {
            if (!drv_fence_dev_targets(d, k)) {
                g_ptr_array_add(nodes, k);
            }
        }
        g_ptr_array_sort(nodes, cmp_pstr);
        for (guint i = 0; i < nodes->len; i++) {
            const char *node = g_ptr_array_index(nodes, i);
            g_autoptr(GPtrArray) levels = drv_state_fence_levels_for(st, node);
            bool implicit = !has_topology(st, node);

            for (guint j = 0; j < levels->len; j++) {
                const drv_fence_level_t *l = g_ptr_array_index(levels, j);

                if (!level_uses(l, d->name)) {
                    continue;
                }
                json_builder_begin_object(b);
                add_str_or_null(b, "node", node);
                add_int(b, "index", l->index);
                json_builder_set_member_name(b, "implicit");
                json_builder_add_boolean_value(b, implicit);
                json_builder_end_object(b);
            }
        }
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void add_event(JsonBuilder *b, const drv_fence_event_t *e)
{
    json_builder_begin_object(b);
    add_int(b, "seq", (gint64)e->seq);
    add_int(b, "at_ms", (gint64)e->at);
    add_str_or_null(b, "target", e->target);
    add_str_or_null(b, "action", e->action);
    add_str_or_null(b, "executor", e->executor);
    add_str_or_null(b, "device", e->device);
    add_int(b, "level", e->level);
    add_str_or_null(b, "result", e->result);
    add_str_or_null(b, "text", e->text);
    json_builder_end_object(b);
}

/* ---- argument helpers ---- */

/* "node": a node name (whether it is in the nodelist is known_node's business: the form of
 * every argument is checked first). */
static bool arg_node(drv_ipc_req_t *r, bool required, const char **node)
{
    if (!drv_ipc_arg_str(r, "node", required, node)) {
        return false;
    }
    if (*node != NULL && !drv_resource_label_valid(*node)) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         "node names are 1-255 bytes of UTF-8");
        return false;
    }
    return true;
}

/* NODE is in corosync's nodelist; else false after replying DRV_ERR_UNKNOWN_NODE. */
static bool known_node(drv_ipc_req_t *r, const char *node)
{
    if (drv_cs_node_by_name(r->agent->cs, node) == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_NODE, node);
        return false;
    }
    return true;
}

static bool arg_dev_name(drv_ipc_req_t *r, const char **name)
{
    if (!drv_ipc_arg_str(r, "name", true, name)) {
        return false;
    }
    if (!drv_resource_name_valid(*name)) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         "fence device names are 1-64 characters of A-Z a-z 0-9 _ . - (not "
                         "starting with - or .)");
        return false;
    }
    return true;
}

/* Member NAME as an array of strings (borrowed into OUT); false after replying. */
static bool arg_strv(drv_ipc_req_t *r, const char *name, GPtrArray *out)
{
    JsonNode *n = json_object_get_member(r->args, name);
    JsonArray *arr = n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;

    for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
        JsonNode *e = json_array_get_element(arr, i);

        if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING) {
            arr = NULL;
            break;
        }
        g_ptr_array_add(out, (gpointer)json_node_get_string(e));
    }
    if (arr == NULL) {
        g_autofree char *msg = g_strdup_printf("\"%s\" must be an array of strings", name);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return false;
    }
    return true;
}

static bool need_cluster(drv_ipc_req_t *r)
{
    if (r->agent->cluster == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_NOT_CONNECTED, NULL);
        return false;
    }
    return true;
}

/* ---- devices ---- */

static const char *dev_add_done(drv_ipc_pending_t *pd, int rc)
{
    switch (rc) {
    case DRV_ERR_EXISTS:
        g_free(pd->arg);
        pd->arg = g_strdup_printf("fence device %s already exists", pd->name);
        return pd->arg;
    default:
        return NULL;
    }
}

/* Fill D's parameters from "params" ([{"key", "value"}], in order) and P (the same, for the
 * runner's checks); false after replying. No message holds a value. */
static bool dev_params(drv_ipc_req_t *r, drv_fence_dev_t *d, drv_fence_params_t *p)
{
    JsonNode *n = json_object_get_member(r->args, "params");
    JsonArray *arr = NULL;

    if (n == NULL) {
        return true;
    }
    if (!JSON_NODE_HOLDS_ARRAY(n)) {
        goto bad;
    }
    arr = json_node_get_array(n);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonNode *e = json_array_get_element(arr, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
        JsonNode *kn = o ? json_object_get_member(o, "key") : NULL;
        JsonNode *vn = o ? json_object_get_member(o, "value") : NULL;
        g_autofree char *err = NULL;
        const char *k, *v;

        if (kn == NULL || vn == NULL || !JSON_NODE_HOLDS_VALUE(kn) || !JSON_NODE_HOLDS_VALUE(vn) ||
            json_node_get_value_type(kn) != G_TYPE_STRING ||
            json_node_get_value_type(vn) != G_TYPE_STRING) {
            goto bad;
        }
        k = json_node_get_string(kn);
        v = json_node_get_string(vn);
        if (drv_fence_params_get(p, k) != NULL) {
            g_autofree char *msg = g_strdup_printf("fence parameter '%s' is given twice", k);
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
            return false;
        }
        if (drv_fence_params_set(p, k, v, &err) != 0) {
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, err);
            return false;
        }
        g_ptr_array_add(d->keys, g_strdup(k));
        g_ptr_array_add(d->vals, g_strdup(v));
    }
    return true;
bad:
    drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                     "\"params\" must be an array of {\"key\": K, \"value\": V} (strings)");
    return false;
}

void drv_ipc_op_fence_device_add(drv_ipc_req_t *r)
{
    drv_agent_t *a = r->agent;
    const drv_state_t *st = drv_ipc_state(a);
    const char *name = NULL, *agent = NULL, *why = NULL;
    g_autoptr(GPtrArray) nodes = g_ptr_array_new();
    drv_fence_dev_t *d = NULL;
    drv_fence_params_t *p = drv_fence_params_new();
    g_autofree char *err = NULL;
    g_autofree char *redacted = NULL;
    g_autofree char *node_list = NULL;
    guint64 timeout = 0;
    drv_ipc_pending_t *pd;
    drv_cmd_t cmd;

    if (!arg_dev_name(r, &name) || !drv_ipc_arg_str(r, "agent", true, &agent) ||
        !drv_ipc_arg_timeout(r, &timeout) || !arg_strv(r, "nodes", nodes)) {
        goto out;
    }
    d = drv_fence_dev_new(name, agent);
    if (!dev_params(r, d, p)) {
        goto out;
    }
    for (guint i = 0; i < nodes->len; i++) {
        const char *n = g_ptr_array_index(nodes, i);

        if (drv_resource_label_valid(n) && drv_cs_node_by_name(a->cs, n) == NULL) {
            g_autofree char *msg = g_strdup_printf("%s (a node of fence device %s)", n, name);
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_NODE, msg);
            goto out;
        }
        g_ptr_array_add(d->nodes, g_strdup(n));
    }
    if (drv_fence_dev_validate(d, &why) != 0) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, why);
        goto out;
    }
    /* the agent must be there on the node the operator configures it from: the others are
     * not asked (a node without it fails the fencings it is given) */
    if (drv_fence_validate(agent, p, NULL, true, &err) != 0) {
        g_autofree char *msg =
            g_strdup_printf("%s (on %s; the agent must be installed on every node that may fence)",
                            err, local_node(a) ? local_node(a) : "this node");
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        goto out;
    }
    if (st != NULL && g_hash_table_contains(st->fence_devices, name)) {
        g_autofree char *msg = g_strdup_printf("fence device %s already exists", name);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_EXISTS, msg);
        goto out;
    }
    if (!need_cluster(r)) {
        goto out;
    }
    redacted = drv_fence_params_redacted(p);
    g_ptr_array_add(nodes, NULL);
    node_list = g_strjoinv(",", (char **)nodes->pdata);
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = DRV_CMD_FENCE_DEV_ADD;
    cmd.name = name;
    cmd.dev = d;
    cmd.ts = wall_ms();
    pd = drv_ipc_pending_new(r, "fence-device-add");
    pd->name = g_strdup(name);
    pd->done = dev_add_done;
    pd->what = g_strdup_printf("fence-device-add %s (agent %s, nodes %s%s%s)", name, agent,
                               node_list, redacted[0] ? ", " : "", redacted);
    json_object_set_string_member(pd->extra, "op", "fence-device-add");
    json_object_set_string_member(pd->extra, "name", name);
    json_object_set_string_member(pd->extra, "agent", agent);
    drv_ipc_submit(r->ud, &cmd, timeout, pd);
out:
    drv_fence_dev_free(d);
    drv_fence_params_free(p);
}

static const char *dev_remove_done(drv_ipc_pending_t *pd, int rc)
{
    g_free(pd->arg);
    pd->arg = NULL;
    if (rc == DRV_ERR_BUSY) {
        pd->arg = g_strdup_printf("fence device %s is used by a fencing level: remove that "
                                  "level first (drover fence device show %s)",
                                  pd->name, pd->name);
    } else if (rc == DRV_ERR_UNKNOWN_DEVICE) {
        pd->arg = g_strdup(pd->name);
    }
    return pd->arg;
}

void drv_ipc_op_fence_device_remove(drv_ipc_req_t *r)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    const char *name = NULL, *node = NULL;
    uint32_t index = 0;
    guint64 timeout = 0;
    drv_ipc_pending_t *pd;
    drv_cmd_t cmd;

    if (!arg_dev_name(r, &name) || !drv_ipc_arg_timeout(r, &timeout)) {
        return;
    }
    if (st == NULL || !g_hash_table_contains(st->fence_devices, name)) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_DEVICE, name);
        return;
    }
    if (topology_use(st, name, &node, &index)) {
        g_autofree char *msg = g_strdup_printf(
            "fence device %s is used by fencing level %u of %s: remove that level first "
            "(drover fence level remove %s %u)",
            name, index, node, node, index);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BUSY, msg);
        return;
    }
    if (g_hash_table_size(st->fence_devices) == 1 &&
        strcmp(drv_prop_str(st, DRV_PROP_NO_QUORUM_POLICY), "freeze") == 0) {
        g_autofree char *msg = g_strdup_printf(
            "%s is the last fence device and no-quorum-policy is freeze, which needs power "
            "fencing: set no-quorum-policy to stop first",
            name);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BUSY, msg);
        return;
    }
    if (!need_cluster(r)) {
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = DRV_CMD_FENCE_DEV_REMOVE;
    cmd.name = name;
    cmd.ts = wall_ms();
    pd = drv_ipc_pending_new(r, "fence-device-remove");
    pd->name = g_strdup(name);
    pd->done = dev_remove_done;
    pd->what = g_strdup_printf("fence-device-remove %s", name);
    json_object_set_string_member(pd->extra, "op", "fence-device-remove");
    json_object_set_string_member(pd->extra, "name", name);
    drv_ipc_submit(r->ud, &cmd, timeout, pd);
}

void drv_ipc_op_fence_device_list(drv_ipc_req_t *r)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GList) names = st ? g_hash_table_get_keys(st->fence_devices) : NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "devices");
    json_builder_begin_array(b);
    names = g_list_sort(names, (GCompareFunc)strcmp);
    for (GList *l = names; l != NULL; l = l->next) {
        json_builder_add_value(
            b, drv_ipc_fence_device_json(st, g_hash_table_lookup(st->fence_devices, l->data)));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    drv_ipc_reply_ok(r->client, r->msg_id, json_builder_get_root(b));
}

void drv_ipc_op_fence_device_show(drv_ipc_req_t *r)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    const drv_fence_dev_t *d;
    const char *name = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();

    if (!arg_dev_name(r, &name)) {
        return;
    }
    d = st ? g_hash_table_lookup(st->fence_devices, name) : NULL;
    if (d == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_DEVICE, name);
        return;
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "device");
    json_builder_add_value(b, drv_ipc_fence_device_json(st, d));
    json_builder_end_object(b);
    drv_ipc_reply_ok(r->client, r->msg_id, json_builder_get_root(b));
}

/* ---- topology levels ---- */

static const drv_fence_level_t *find_level(const drv_state_t *st, const char *node, uint32_t index)
{
    GPtrArray *levels = st ? g_hash_table_lookup(st->fence_levels, node) : NULL;

    for (guint i = 0; levels != NULL && i < levels->len; i++) {
        const drv_fence_level_t *l = g_ptr_array_index(levels, i);

        if (l->index == index) {
            return l;
        }
    }
    return NULL;
}

static const char *level_done(drv_ipc_pending_t *pd, int rc)
{
    g_free(pd->arg);
    pd->arg = NULL;
    if (rc == DRV_ERR_UNKNOWN_DEVICE) {
        pd->arg = g_strdup("a device of the level was removed meanwhile");
    } else if (rc == DRV_ERR_BAD_ARGS && strcmp(pd->op, "fence-level-remove") == 0) {
        pd->arg = g_strdup_printf("%s has no such fencing level (any more)", pd->name);
    }
    return pd->arg;
}

static bool arg_index(drv_ipc_req_t *r, uint32_t *index)
{
    guint64 v = 0;

    if (!drv_ipc_arg_uint(r, "index", 1, DRV_FENCE_MAX_LEVEL, &v)) {
        return false;
    }
    if (v == 0) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         "\"index\" (the level, 1-9) is required");
        return false;
    }
    *index = (uint32_t)v;
    return true;
}

void drv_ipc_op_fence_level_add(drv_ipc_req_t *r)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    const char *node = NULL;
    uint32_t index = 0;
    guint64 timeout = 0;
    g_autoptr(GPtrArray) devs = g_ptr_array_new();
    g_autofree char *value = NULL;
    drv_ipc_pending_t *pd;
    JsonArray *arr;
    drv_cmd_t cmd;

    if (!arg_node(r, true, &node) || !arg_index(r, &index) || !drv_ipc_arg_timeout(r, &timeout) ||
        !arg_strv(r, "devices", devs)) {
        return;
    }
    if (devs->len == 0 || devs->len > LEVEL_MAX_DEVICES) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         "a fencing level has 1 to 16 devices");
        return;
    }
    if (!known_node(r, node)) {
        return;
    }
    for (guint i = 0; i < devs->len; i++) {
        const char *dn = g_ptr_array_index(devs, i);
        const drv_fence_dev_t *d = st ? g_hash_table_lookup(st->fence_devices, dn) : NULL;

        if (d == NULL) {
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_DEVICE, dn);
            return;
        }
        for (guint j = 0; j < i; j++) {
            if (strcmp(dn, g_ptr_array_index(devs, j)) == 0) {
                g_autofree char *msg = g_strdup_printf("fence device %s is given twice", dn);
                drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
                return;
            }
        }
        if (!drv_fence_dev_targets(d, node)) {
            g_autofree char *msg = g_strdup_printf(
                "fence device %s cannot fence %s: %s is not among its nodes", dn, node, node);
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
            return;
        }
    }
    if (!need_cluster(r)) {
        return;
    }
    g_ptr_array_add(devs, NULL);
    value = g_strjoinv(",", (char **)devs->pdata);
    g_ptr_array_remove_index(devs, devs->len - 1);
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = DRV_CMD_FENCE_LEVEL;
    cmd.name = node;
    cmd.gen = index;
    cmd.value = value;
    cmd.ts = wall_ms();
    pd = drv_ipc_pending_new(r, "fence-level-add");
    pd->name = g_strdup(node);
    pd->done = level_done;
    pd->what = g_strdup_printf("fence-level-add %s %u %s", node, index, value);
    json_object_set_string_member(pd->extra, "op", "fence-level-add");
    json_object_set_string_member(pd->extra, "node", node);
    json_object_set_int_member(pd->extra, "index", index);
    arr = json_array_new();
    for (guint i = 0; i < devs->len; i++) {
        json_array_add_string_element(arr, g_ptr_array_index(devs, i));
    }
    json_object_set_array_member(pd->extra, "devices", arr);
    json_object_set_boolean_member(pd->extra, "replaced", find_level(st, node, index) != NULL);
    drv_ipc_submit(r->ud, &cmd, timeout, pd);
}

void drv_ipc_op_fence_level_remove(drv_ipc_req_t *r)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    const char *node = NULL;
    uint32_t index = 0;
    guint64 timeout = 0;
    drv_ipc_pending_t *pd;
    drv_cmd_t cmd;

    /* any node name: a node gone from the nodelist may still have levels */
    if (!arg_node(r, true, &node) || !arg_index(r, &index) || !drv_ipc_arg_timeout(r, &timeout)) {
        return;
    }
    if (find_level(st, node, index) == NULL) {
        g_autofree char *msg = g_strdup_printf("%s has no fencing level %u", node, index);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return;
    }
    if (!need_cluster(r)) {
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = DRV_CMD_FENCE_LEVEL;
    cmd.name = node;
    cmd.gen = index;
    cmd.ts = wall_ms();
    pd = drv_ipc_pending_new(r, "fence-level-remove");
    pd->name = g_strdup(node);
    pd->done = level_done;
    pd->what = g_strdup_printf("fence-level-remove %s %u", node, index);
    json_object_set_string_member(pd->extra, "op", "fence-level-remove");
    json_object_set_string_member(pd->extra, "node", node);
    json_object_set_int_member(pd->extra, "index", index);
    drv_ipc_submit(r->ud, &cmd, timeout, pd);
}

static void add_node_levels(JsonBuilder *b, const drv_state_t *st, const char *node)
{
    g_autoptr(GPtrArray) levels = st ? drv_state_fence_levels_for(st, node) : g_ptr_array_new();

    json_builder_begin_object(b);
    add_str_or_null(b, "node", node);
    json_builder_set_member_name(b, "implicit");
    json_builder_add_boolean_value(b, st == NULL || !has_topology(st, node));
    json_builder_set_member_name(b, "levels");
    json_builder_begin_array(b);
    for (guint i = 0; i < levels->len; i++) {
        const drv_fence_level_t *l = g_ptr_array_index(levels, i);

        json_builder_begin_object(b);
        add_int(b, "index", l->index);
        json_builder_set_member_name(b, "devices");
        json_builder_begin_array(b);
        for (guint j = 0; j < l->devices->len; j++) {
            json_builder_add_string_value(b, g_ptr_array_index(l->devices, j));
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

void drv_ipc_op_fence_level_list(drv_ipc_req_t *r)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    const drv_cs_info_t *info = drv_cs_info(r->agent->cs);
    const char *node = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GPtrArray) extra = g_ptr_array_new();

    if (!arg_node(r, false, &node)) {
        return;
    }
    if (node != NULL && drv_cs_node_by_name(r->agent->cs, node) == NULL &&
        (st == NULL || !has_topology(st, node))) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_NODE, node);
        return;
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "nodes");
    json_builder_begin_array(b);
    if (node != NULL) {
        add_node_levels(b, st, node);
    } else {
        /* the nodelist in its order, then nodes with a topology that are not in it */
        for (guint i = 0; i < info->nodes->len; i++) {
            add_node_levels(b, st,
                            ((const drv_nodeinfo_t *)g_ptr_array_index(info->nodes, i))->name);
        }
        if (st != NULL) {
            GHashTableIter it;
            gpointer k;

            g_hash_table_iter_init(&it, st->fence_levels);
            while (g_hash_table_iter_next(&it, &k, NULL)) {
                if (drv_cs_node_by_name(r->agent->cs, k) == NULL) {
                    g_ptr_array_add(extra, k);
                }
            }
            g_ptr_array_sort(extra, cmp_pstr);
        }
        for (guint i = 0; i < extra->len; i++) {
            add_node_levels(b, st, g_ptr_array_index(extra, i));
        }
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    drv_ipc_reply_ok(r->client, r->msg_id, json_builder_get_root(b));
}

/* ---- history and the state of one operation ---- */

void drv_ipc_op_fence_history(drv_ipc_req_t *r)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    const char *node = NULL;
    g_autoptr(JsonBuilder) b = json_builder_new();

    if (!arg_node(r, false, &node)) {
        return;
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "history");
    json_builder_begin_array(b);
    for (guint i = 0; st != NULL && i < st->fence_history->len; i++) {
        const drv_fence_event_t *e = g_ptr_array_index(st->fence_history, i);

        if (node == NULL || g_strcmp0(e->target, node) == 0) {
            add_event(b, e);
        }
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    drv_ipc_reply_ok(r->client, r->msg_id, json_builder_get_root(b));
}

/* How an operation ended, from the history line that closed it. */
static const char *closing_state(const drv_fence_event_t *e)
{
    if (g_strcmp0(e->result, "ok") == 0 &&
        (g_strcmp0(e->action, "off") == 0 || g_strcmp0(e->action, "reboot") == 0)) {
        return "fenced";
    }
    if (g_strcmp0(e->result, "abandoned") == 0) {
        return "abandoned";
    }
    if (g_strcmp0(e->result, "cancelled") == 0) {
        return "cancelled";
    }
    return NULL;
}

/* {"node", "operation", "state": "running"|"fenced"|"abandoned"|"cancelled"|"unknown",
 *  "action", "executor", "failures", "down", "events": [the history lines of the operation]}.
 * The lines of operation OP are those about NODE from its FENCE_BEGIN (seq OP) to the first
 * that closes it: a success, a replacement (abandoned), a cancellation. */
void drv_ipc_op_fence_status(drv_ipc_req_t *r)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    const drv_node_fence_t *f;
    const char *node = NULL;
    const char *state = "unknown";
    const char *action = NULL, *executor = NULL;
    guint64 op = 0;
    uint32_t failures = 0;
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(GPtrArray) events = g_ptr_array_new();

    if (!arg_node(r, true, &node) || !drv_ipc_arg_uint(r, "operation", 1, G_MAXINT64, &op)) {
        return;
    }
    if (op == 0) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, "\"operation\" is required");
        return;
    }
    f = st ? drv_state_node_fence(st, node) : NULL;
    for (guint i = 0; st != NULL && i < st->fence_history->len; i++) {
        const drv_fence_event_t *e = g_ptr_array_index(st->fence_history, i);
        const char *closed;

        if (e->seq < op || g_strcmp0(e->target, node) != 0) {
            continue;
        }
        if (e->seq == op && g_strcmp0(e->result, "begun") != 0) {
            continue; /* the line of an operation it replaced */
        }
        g_ptr_array_add(events, (gpointer)e);
        if (e->seq == op) {
            action = e->action;
            executor = e->executor;
        } else if (g_strcmp0(e->result, "failed") == 0) {
            failures++;
        }
        closed = e->seq > op ? closing_state(e) : NULL;
        if (closed != NULL) {
            state = closed;
            break;
        }
    }
    if (f != NULL && f->op == op) {
        state = "running";
        action = f->op_action;
        executor = f->op_executor;
        failures = MAX(failures, f->op_failures);
    }
    json_builder_begin_object(b);
    add_str_or_null(b, "node", node);
    add_int(b, "operation", (gint64)op);
    add_str_or_null(b, "state", state);
    add_str_or_null(b, "action", action);
    add_str_or_null(b, "executor", executor);
    add_int(b, "failures", failures);
    json_builder_set_member_name(b, "down");
    json_builder_add_boolean_value(b, f != NULL && f->down);
    json_builder_set_member_name(b, "events");
    json_builder_begin_array(b);
    for (guint i = 0; i < events->len; i++) {
        add_event(b, g_ptr_array_index(events, i));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    drv_ipc_reply_ok(r->client, r->msg_id, json_builder_get_root(b));
}

/* ---- the operator: fence a node, confirm a node is down ---- */

/* node-fence applied: the operation id is the seq of our FENCE_BEGIN, i.e. of the first
 * "begun" line about the node with this node as executor after the submission (any other
 * BEGIN about it applied before ours would have made ours stale). */
static const char *fence_done(drv_ipc_pending_t *pd, int rc)
{
    const drv_state_t *st = drv_ipc_state(pd->agent);
    const char *me = json_object_get_string_member_with_default(pd->extra, "executor", NULL);
    uint64_t op = 0;

    g_free(pd->arg);
    pd->arg = NULL;
    if (rc == DRV_ERR_STALE) {
        pd->arg = g_strdup_printf("the fencing record of %s changed meanwhile (a fencing began "
                                  "or ended): check drover status and retry",
                                  pd->name);
        return pd->arg;
    }
    if (rc != 0 || st == NULL) {
        return NULL;
    }
    for (guint i = 0; i < st->fence_history->len && op == 0; i++) {
        const drv_fence_event_t *e = g_ptr_array_index(st->fence_history, i);

        if (e->seq > pd->seq && g_strcmp0(e->target, pd->name) == 0 &&
            g_strcmp0(e->result, "begun") == 0 && g_strcmp0(e->executor, me) == 0) {
            op = e->seq;
        }
    }
    if (op == 0) {
        const drv_node_fence_t *f = drv_state_node_fence(st, pd->name);

        if (f != NULL && f->op > pd->seq && f->op_operator && g_strcmp0(f->op_executor, me) == 0) {
            op = f->op;
        }
    }
    json_object_set_int_member(pd->extra, "operation", (gint64)op);
    return NULL;
}

void drv_ipc_op_node_fence(drv_ipc_req_t *r)
{
    drv_agent_t *a = r->agent;
    const drv_state_t *st = drv_ipc_state(a);
    const char *node = NULL, *action = NULL, *me = local_node(a);
    const drv_node_fence_t *f;
    guint64 timeout = 0;
    g_autoptr(GPtrArray) levels = NULL;
    drv_ipc_pending_t *pd;
    drv_cmd_t cmd;

    if (!arg_node(r, true, &node) || !drv_ipc_arg_str(r, "action", false, &action) ||
        !drv_ipc_arg_timeout(r, &timeout)) {
        return;
    }
    if (action == NULL) {
        action = "off";
    }
    if (strcmp(action, "off") != 0 && strcmp(action, "reboot") != 0) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         "\"action\" must be off or reboot");
        return;
    }
    if (!known_node(r, node)) {
        return;
    }
    if (me == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_NOT_CONNECTED,
                         "the local node's name is not known yet");
        return;
    }
    if (strcmp(node, me) == 0) {
        g_autofree char *msg = g_strdup_printf(
            "%s is this node: the node the command runs on fences, so run it on another node",
            node);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return;
    }
    levels = st ? drv_state_fence_levels_for(st, node) : g_ptr_array_new();
    if (levels->len == 0) {
        g_autofree char *msg = g_strdup_printf(
            "no fence device can fence %s (drover fence device add NAME --agent PATH --nodes %s)",
            node, node);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_DEVICE, msg);
        return;
    }
    f = drv_state_node_fence(st, node);
    if (f != NULL && f->op != 0 && drv_status_node_online(a, f->op_executor)) {
        g_autofree char *msg = g_strdup_printf(
            "a fencing of %s is already in progress (operation %" PRIu64 ", run by %s): see "
            "drover fence history %s",
            node, f->op, f->op_executor, node);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BUSY, msg);
        return;
    }
    if (!need_cluster(r)) {
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = DRV_CMD_FENCE_BEGIN;
    cmd.name = node;
    cmd.value = me;
    cmd.value2 = action;
    cmd.flag = true;
    cmd.gen = f ? f->ver : 0;
    cmd.ts = wall_ms();
    qb_log(LOG_WARNING, "Operator (pid %d, uid %d) asks to fence %s (%s), run by this node",
           (int)drv_ipc_client_pid(r->client), (int)drv_ipc_client_uid(r->client), node, action);
    pd = drv_ipc_pending_new(r, "node-fence");
    pd->name = g_strdup(node);
    pd->done = fence_done;
    pd->what = g_strdup_printf("node-fence %s (%s) run by %s", node, action, me);
    json_object_set_string_member(pd->extra, "op", "node-fence");
    json_object_set_string_member(pd->extra, "node", node);
    json_object_set_string_member(pd->extra, "action", action);
    json_object_set_string_member(pd->extra, "executor", me);
    drv_ipc_submit(r->ud, &cmd, timeout, pd);
}

static const char *confirm_done(drv_ipc_pending_t *pd, int rc)
{
    g_free(pd->arg);
    pd->arg = NULL;
    if (rc == DRV_ERR_STALE) {
        pd->arg = g_strdup_printf("the fencing record of %s changed meanwhile, or it is already "
                                  "down: check drover status",
                                  pd->name);
    }
    return pd->arg;
}

void drv_ipc_op_node_confirm_down(drv_ipc_req_t *r)
{
    drv_agent_t *a = r->agent;
    const drv_state_t *st = drv_ipc_state(a);
    const char *node = NULL, *me = local_node(a);
    const drv_node_fence_t *f;
    guint64 timeout = 0;
    g_autofree char *how = NULL;
    drv_ipc_pending_t *pd;
    drv_cmd_t cmd;

    if (!arg_node(r, true, &node) || !drv_ipc_arg_timeout(r, &timeout) || !known_node(r, node)) {
        return;
    }
    if (me == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_NOT_CONNECTED,
                         "the local node's name is not known yet");
        return;
    }
    if (strcmp(node, me) == 0) {
        g_autofree char *msg =
            g_strdup_printf("%s is this node, which is evidently not down", node);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return;
    }
    if (drv_status_node_online(a, node)) {
        g_autofree char *msg = g_strdup_printf(
            "the droverd of %s is in the cluster: it is not down (stop it, or fence the node)",
            node);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return;
    }
    f = st ? drv_state_node_fence(st, node) : NULL;
    if (f != NULL && f->down) {
        g_autofree char *msg =
            g_strdup_printf("%s is already down (%s)", node, f->down_how ? f->down_how : "");
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return;
    }
    if (!need_cluster(r)) {
        return;
    }
    how = g_strdup_printf("confirmed down by the operator on %s", me);
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = DRV_CMD_NODE_DOWN;
    cmd.name = node;
    cmd.value = how;
    cmd.flag = true;
    cmd.gen = f ? f->ver : 0;
    cmd.ts = wall_ms();
    qb_log(LOG_WARNING,
           "Operator (pid %d, uid %d) confirms that %s is down: its VMs may be started "
           "elsewhere",
           (int)drv_ipc_client_pid(r->client), (int)drv_ipc_client_uid(r->client), node);
    pd = drv_ipc_pending_new(r, "node-confirm-down");
    pd->name = g_strdup(node);
    pd->done = confirm_done;
    pd->what = g_strdup_printf("node-confirm-down %s", node);
    json_object_set_string_member(pd->extra, "op", "node-confirm-down");
    json_object_set_string_member(pd->extra, "node", node);
    drv_ipc_submit(r->ud, &cmd, timeout, pd);
}
