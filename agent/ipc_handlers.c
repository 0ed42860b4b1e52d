/* What each IPC request does: one function per "op" (the transport is ipc_server.c).
 *
 * Requests: {"op": "status"} | {"op": "node-list"} |
 *           {"op": "node-set", "node": NAME (default: local), "attr": "standby"|"maintenance",
 *            "value": bool, "timeout_ms": N (optional)} |
 *           {"op": "resource-add", "name", "xml", "priority", "prefer": [{"node", "weight"}],
 *            "anti_affinity": [...], "allow_migrate", "cpu", "memory_mib", "stopped",
 *            "timeout_ms"} |
 *           {"op": "resource-remove"|"resource-start"|"resource-stop"|"resource-clear", "name"} |
 *           {"op": "resource-move", "name", "node"} | {"op": "resource-list"} |
 *           {"op": "resource-show", "name", "xml": bool} |
 *           {"op": "property-list"} | {"op": "property-set", "key", "value"} |
 *           {"op": "property-unset", "key"} (property-set no-quorum-policy freeze is refused
 *            while no fence device exists) |
 *           the fencing ops, in ipc_fence.c: fence-device-add|remove|list|show,
 *           fence-level-add|remove|list, fence-history, fence-status, node-fence,
 *           node-confirm-down                                   (docs/cli.md has the details)
 * Replies:  {"rc": 0, ...} or {"rc": <negative DRV_ERR_*>, "error": "text"}.
 * Changes reply when the core reports the command applied (the agent's request_done
 * listeners); the client is kept referenced meanwhile, and the reply dropped if it went away.
 * resource-add first has the XML checked by libvirt off the main loop (drv_ha_validate_xml)
 * and submits only when that succeeds: nothing changes on any failure. */
#include "config.h"

#include <inttypes.h>
#include <string.h>
#include <syslog.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "agent.h"
#include "drv_place.h"
#include "drv_props.h"
#include "ha.h"
#include "ipc.h"
#include "virt.h"

/* A resource-add waiting for libvirt's verdict on its XML. */
typedef struct ipc_validate {
    drv_ipc_handlers_t *h; /* NULL once the server stopped (the reply was sent then) */
    drv_ipc_pending_t *pd; /* NULL once answered */
    drv_resource_t *res;
    uint64_t deadline_ms; /* drv_agent_now_ms() + the request's timeout */
} ipc_validate_t;

struct drv_ipc_handlers {
    drv_agent_t *agent;
    GHashTable *pending;    /* uint64_t *req_id -> drv_ipc_pending_t * */
    GHashTable *early_done; /* uint64_t *req_id -> rc, done before we recorded it */
    GPtrArray *validating;  /* ipc_validate_t * (not owned: freed when DONE runs) */
    bool in_submit;
};

/* --- ops ------------------------------------------------------------------------------ */

static void op_status(drv_ipc_req_t *r)
{
    drv_ipc_reply_ok(r->client, r->msg_id, drv_status_json(r->agent));
}

static void op_node_list(drv_ipc_req_t *r)
{
    drv_ipc_reply_ok(r->client, r->msg_id, drv_node_list_json(r->agent));
}

static void pending_free(gpointer p)
{
    drv_ipc_pending_t *pd = p;

    if (pd == NULL) {
        return;
    }
    drv_ipc_client_unref(pd->client);
    g_free(pd->what);
    g_free(pd->name);
    g_free(pd->arg);
    json_object_unref(pd->extra);
    g_free(pd);
}

drv_ipc_pending_t *drv_ipc_pending_new(drv_ipc_req_t *r, const char *op)
{
    drv_ipc_pending_t *pd = g_new0(drv_ipc_pending_t, 1);

    pd->client = r->client;
    pd->agent = r->agent;
    pd->msg_id = r->msg_id;
    pd->op = op;
    pd->extra = json_object_new();
    drv_ipc_client_ref(r->client);
    return pd;
}

/* What the replicated apply's verdicts mean for this request. */
static const char *apply_detail(const drv_ipc_pending_t *pd, int rc)
{
    if (pd->name == NULL) {
        return NULL;
    }
    switch (rc) {
    case DRV_ERR_EXISTS:
        return "the name, UUID or domain is already managed by another resource";
    case DRV_ERR_UNKNOWN_RESOURCE:
        return pd->name;
    default:
        return NULL;
    }
}

/* Answer PD: rc (and error) plus its extra members; then free it. */
static void pending_finish(drv_ipc_pending_t *pd, int rc, const char *detail)
{
    const char *hook_detail = pd->done ? pd->done(pd, rc) : NULL;
    JsonNode *n = drv_ipc_rc_body(rc, detail     ? detail
                                      : pd->done ? hook_detail
                                                 : apply_detail(pd, rc));
    JsonObject *o = json_node_get_object(n);
    GList *members = json_object_get_members(pd->extra);

    for (GList *l = members; l != NULL; l = l->next) {
        json_object_set_member(o, l->data, json_object_dup_member(pd->extra, l->data));
    }
    g_list_free(members);
    if (drv_ipc_client_gone(pd->client)) {
        qb_log(LOG_DEBUG, "Client of %s went away; reply dropped", pd->what);
    }
    drv_ipc_reply(pd->client, pd->msg_id, n);
    pending_free(pd);
}

/* Submit CMD; PD (ownership taken) is answered when the core reports the verdict, or now. */
void drv_ipc_submit(drv_ipc_handlers_t *h, const drv_cmd_t *cmd, guint64 timeout,
                    drv_ipc_pending_t *pd)
{
    drv_agent_t *a = h->agent;
    uint64_t req_id = 0;
    uint64_t key;
    gpointer early;
    int rc;

    if (a->cluster == NULL) {
        pending_finish(pd, DRV_ERR_NOT_CONNECTED, NULL);
        return;
    }
    pd->seq = drv_cluster_state(a->cluster)->seq;
    h->in_submit = true;
    rc = drv_cluster_submit(a->cluster, cmd, drv_agent_now_ms(), timeout, &req_id);
    h->in_submit = false;
    if (rc != 0) {
        qb_log(LOG_INFO, "Refused %s from pid %d: %s", pd->what,
               (int)drv_ipc_client_pid(pd->client), drv_strerror(rc));
        pending_finish(pd, rc, NULL);
        return;
    }
    key = req_id;
    if (g_hash_table_lookup_extended(h->early_done, &key, NULL, &early)) {
        g_hash_table_remove(h->early_done, &key);
        pending_finish(pd, GPOINTER_TO_INT(early), NULL);
        return;
    }
    g_hash_table_insert(h->pending, g_memdup2(&key, sizeof(key)), pd);
    qb_log(LOG_INFO, "Request %" PRIu64 " (%s) submitted for pid %d", req_id, pd->what,
           (int)drv_ipc_client_pid(pd->client));
}

static void op_node_set(drv_ipc_req_t *r)
{
    drv_agent_t *a = r->agent;
    const drv_cs_info_t *info = drv_cs_info(a->cs);
    const char *node = NULL;
    const char *attr = NULL;
    JsonNode *vn;
    drv_cmd_t cmd;
    guint64 timeout = a->cfg.request_timeout_ms;

    if (json_object_has_member(r->args, "node")) {
        JsonNode *nn = json_object_get_member(r->args, "node");
        if (!JSON_NODE_HOLDS_VALUE(nn) || json_node_get_value_type(nn) != G_TYPE_STRING) {
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, "\"node\" must be a string");
            return;
        }
        node = json_node_get_string(nn);
    } else {
        node = drv_cs_node_name(a->cs, info->local_nodeid);
        if (node == NULL) {
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_NOT_CONNECTED,
                             "the local node's name is not known yet");
            return;
        }
    }
    if (json_object_has_member(r->args, "attr")) {
        JsonNode *an = json_object_get_member(r->args, "attr");
        if (JSON_NODE_HOLDS_VALUE(an) && json_node_get_value_type(an) == G_TYPE_STRING) {
            attr = json_node_get_string(an);
        }
    }
    vn = json_object_get_member(r->args, "value");
    if (attr == NULL || (strcmp(attr, "standby") != 0 && strcmp(attr, "maintenance") != 0) ||
        vn == NULL || !JSON_NODE_HOLDS_VALUE(vn) ||
        json_node_get_value_type(vn) != G_TYPE_BOOLEAN) {
        drv_ipc_reply_rc(
            r->client, r->msg_id, DRV_ERR_BAD_ARGS,
            "node-set needs \"attr\": \"standby\"|\"maintenance\" and a boolean \"value\"");
        return;
    }
    if (json_object_has_member(r->args, "timeout_ms")) {
        JsonNode *tn = json_object_get_member(r->args, "timeout_ms");
        if (!JSON_NODE_HOLDS_VALUE(tn) || json_node_get_value_type(tn) != G_TYPE_INT64 ||
            json_node_get_int(tn) <= 0) {
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                             "\"timeout_ms\" must be a positive integer");
            return;
        }
        timeout = (guint64)json_node_get_int(tn);
    }
    if (drv_cs_node_by_name(a->cs, node) == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_NODE, node);
        return;
    }
    if (a->cluster == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_NOT_CONNECTED, NULL);
        return;
    }

    memset(&cmd, 0, sizeof(cmd));
    cmd.type = strcmp(attr, "standby") == 0 ? DRV_CMD_NODE_STANDBY : DRV_CMD_NODE_MAINTENANCE;
    cmd.name = node;
    cmd.flag = json_node_get_boolean(vn);

    drv_ipc_pending_t *pd = drv_ipc_pending_new(r, "node-set");
    pd->what = g_strdup_printf("%s %s=%s", node, attr, cmd.flag ? "on" : "off");
    json_object_set_string_member(pd->extra, "node", node);
    json_object_set_string_member(pd->extra, "attr", attr);
    json_object_set_boolean_member(pd->extra, "value", cmd.flag);
    drv_ipc_submit(r->ud, &cmd, timeout, pd);
}

/* --- resource ops --------------------------------------------------------------------- */

const drv_state_t *drv_ipc_state(drv_agent_t *a)
{
    return a->cluster != NULL ? drv_cluster_state(a->cluster) : a->loaded;
}

/* Member NAME of the request as a string: true and *OUT (NULL when absent and !REQUIRED), or
 * false after replying DRV_ERR_BAD_ARGS. */
bool drv_ipc_arg_str(drv_ipc_req_t *r, const char *name, bool required, const char **out)
{
    JsonNode *n = json_object_get_member(r->args, name);

    *out = NULL;
    if (n == NULL && !required) {
        return true;
    }
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        g_autofree char *msg = g_strdup_printf("\"%s\" must be a string", name);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return false;
    }
    *out = json_node_get_string(n);
    return true;
}

bool drv_ipc_arg_bool(drv_ipc_req_t *r, const char *name, bool def, bool *out)
{
    JsonNode *n = json_object_get_member(r->args, name);

    *out = def;
    if (n == NULL) {
        return true;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN) {
        g_autofree char *msg = g_strdup_printf("\"%s\" must be true or false", name);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return false;
    }
    *out = json_node_get_boolean(n);
    return true;
}

/* Integer member in MIN..MAX; *OUT = 0 when absent. */
bool drv_ipc_arg_uint(drv_ipc_req_t *r, const char *name, gint64 min, gint64 max, guint64 *out)
{
    JsonNode *n = json_object_get_member(r->args, name);

    *out = 0;
    if (n == NULL) {
        return true;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64 ||
        json_node_get_int(n) < min || json_node_get_int(n) > max) {
        g_autofree char *msg = g_strdup_printf("\"%s\" must be an integer from %" G_GINT64_FORMAT
                                               " to %" G_GINT64_FORMAT,
                                               name, min, max);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return false;
    }
    *out = (guint64)json_node_get_int(n);
    return true;
}

bool drv_ipc_arg_timeout(drv_ipc_req_t *r, guint64 *timeout)
{
    guint64 t = 0;

    if (!drv_ipc_arg_uint(r, "timeout_ms", 1, G_MAXINT32, &t)) {
        return false;
    }
    *timeout = t ? t : r->agent->cfg.request_timeout_ms;
    return true;
}

/* The "name" of a resource request, checked against the naming rule. */
static bool arg_res_name(drv_ipc_req_t *r, const char **name)
{
    if (!drv_ipc_arg_str(r, "name", true, name)) {
        return false;
    }
    if (!drv_resource_name_valid(*name)) {
        drv_ipc_reply_rc(
            r->client, r->msg_id, DRV_ERR_BAD_ARGS,
            "resource names are 1-64 characters of A-Z a-z 0-9 _ . - (not starting with - "
            "or .)");
        return false;
    }
    return true;
}

static void validate_free(ipc_validate_t *v)
{
    if (v->pd != NULL) {
        pending_free(v->pd);
    }
    drv_resource_free(v->res);
    g_free(v);
}

/* libvirt's verdict on the XML of a resource-add (main loop). */
static void add_validated(void *ud, int rc, const char *errmsg)
{
    ipc_validate_t *v = ud;
    drv_ipc_handlers_t *h = v->h;
    drv_cmd_t cmd;
    g_autofree char *conflict = NULL;
    drv_ipc_pending_t *pd = v->pd;

    if (h == NULL) {
        validate_free(v); /* the server stopped; that reply was sent */
        return;
    }
    g_ptr_array_remove_fast(h->validating, v);
    if (drv_ipc_client_gone(pd->client)) {
        qb_log(LOG_INFO, "Dropped %s: the client went away during XML validation", pd->what);
        validate_free(v);
        return;
    }
    if (rc != 0) {
        qb_log(LOG_INFO, "Refused %s from pid %d: libvirt: %s", pd->what,
               (int)drv_ipc_client_pid(pd->client), errmsg ? errmsg : drv_strerror(rc));
        v->pd = NULL;
        /* refused XML is bad input (exit 2); anything else (libvirt's schema unreadable,
         * droverd stopping) is not the user's fault */
        pending_finish(pd, rc, errmsg ? errmsg : "libvirt refused the domain XML");
        validate_free(v);
        return;
    }
    /* The state may have changed while libvirt looked (the apply checks again anyway). */
    v->pd = NULL;
    if (drv_ipc_state(h->agent) != NULL &&
        drv_state_resource_conflict(drv_ipc_state(h->agent), v->res, &conflict) != 0) {
        pending_finish(pd, DRV_ERR_EXISTS, conflict);
        validate_free(v);
        return;
    }
    /* The client gives up at its timeout: do not add behind its back after that (libvirt's
     * check can queue behind a slow stop in the driver's worker). */
    if (drv_agent_now_ms() >= v->deadline_ms) {
        pending_finish(pd, DRV_ERR_TIMEOUT, "libvirt did not check the domain XML in time");
        validate_free(v);
        return;
    }
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = DRV_CMD_RES_ADD;
    cmd.name = v->res->name;
    cmd.res = v->res;
    drv_ipc_submit(h, &cmd, v->deadline_ms - drv_agent_now_ms(), pd);
    validate_free(v);
}

/* Fill R's placement wishes from the request; false after replying. */
static bool add_wishes(drv_ipc_req_t *r, drv_resource_t *res)
{
    drv_agent_t *a = r->agent;
    JsonNode *pn = json_object_get_member(r->args, "prefer");
    JsonNode *an = json_object_get_member(r->args, "anti_affinity");

    if (pn != NULL && !JSON_NODE_HOLDS_ARRAY(pn)) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, "\"prefer\" must be an array");
        return false;
    }
    for (guint i = 0; pn != NULL && i < json_array_get_length(json_node_get_array(pn)); i++) {
        JsonNode *e = json_array_get_element(json_node_get_array(pn), i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
        JsonNode *nn = o ? json_object_get_member(o, "node") : NULL;
        JsonNode *wn = o ? json_object_get_member(o, "weight") : NULL;
        gint64 w = DRV_RES_DEFAULT_WEIGHT;
        drv_pref_t *p;

        if (nn == NULL || !JSON_NODE_HOLDS_VALUE(nn) ||
            json_node_get_value_type(nn) != G_TYPE_STRING ||
            (wn != NULL &&
             (!JSON_NODE_HOLDS_VALUE(wn) || json_node_get_value_type(wn) != G_TYPE_INT64))) {
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                             "\"prefer\" entries are {\"node\": NAME, \"weight\": 1..1000000}");
            return false;
        }
        if (wn != NULL) {
            w = json_node_get_int(wn);
        }
        if (w < 0 || !drv_resource_weight_valid((uint64_t)w)) {
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                             "a preference weight must be from 1 to 1000000");
            return false;
        }
        if (drv_cs_node_by_name(a->cs, json_node_get_string(nn)) == NULL) {
            g_autofree char *msg =
                g_strdup_printf("%s (preferred node of %s)", json_node_get_string(nn), res->name);
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_NODE, msg);
            return false;
        }
        p = g_new0(drv_pref_t, 1);
        p->node = g_strdup(json_node_get_string(nn));
        p->weight = (uint32_t)w;
        g_ptr_array_add(res->prefer, p);
    }
    if (an != NULL && !JSON_NODE_HOLDS_ARRAY(an)) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         "\"anti_affinity\" must be an array of group names");
        return false;
    }
    for (guint i = 0; an != NULL && i < json_array_get_length(json_node_get_array(an)); i++) {
        JsonNode *e = json_array_get_element(json_node_get_array(an), i);
        if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING) {
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                             "\"anti_affinity\" must be an array of group names");
            return false;
        }
        g_ptr_array_add(res->anti_affinity, g_strdup(json_node_get_string(e)));
    }
    return true;
}

static void op_resource_add(drv_ipc_req_t *r)
{
    drv_agent_t *a = r->agent;
    const char *name = NULL;
    const char *xml = NULL;
    const char *prio = NULL;
    bool allow_migrate = true;
    bool stopped = false;
    guint64 cpu = 0;
    guint64 mem = 0;
    guint64 timeout = 0;
    drv_dom_def_t def;
    g_autofree char *perr = NULL;
    g_autofree char *conflict = NULL;
    drv_resource_t *res = NULL;
    const char *why = NULL;
    ipc_validate_t *v;
    int rc;

    memset(&def, 0, sizeof(def));
    if (!arg_res_name(r, &name) || !drv_ipc_arg_str(r, "xml", true, &xml) ||
        !drv_ipc_arg_str(r, "priority", false, &prio) ||
        !drv_ipc_arg_bool(r, "allow_migrate", true, &allow_migrate) ||
        !drv_ipc_arg_bool(r, "stopped", false, &stopped) ||
        !drv_ipc_arg_uint(r, "cpu", 1, DRV_RES_MAX_CPU, &cpu) ||
        !drv_ipc_arg_uint(r, "memory_mib", 1, (gint64)DRV_RES_MAX_MEMORY_MIB, &mem) ||
        !drv_ipc_arg_timeout(r, &timeout)) {
        return;
    }
    res = drv_resource_new(name);
    if (prio != NULL && drv_priority_parse(prio, &res->priority) != 0) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         "\"priority\" must be high, medium or low");
        goto out;
    }
    if (strlen(xml) > DRV_RES_MAX_XML) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         "the domain XML is larger than 256 KiB");
        goto out;
    }
    rc = drv_virt_parse_xml(xml, &def, &perr);
    if (rc != 0) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         perr ? perr : "the domain XML was refused");
        goto out;
    }
    if (!add_wishes(r, res)) {
        goto out;
    }
    res->uuid = g_strdup(def.uuid);
    res->domain = g_strdup(def.name);
    res->xml = g_strdup(xml);
    res->cpu = cpu ? (uint32_t)cpu : def.vcpus;
    res->memory_mib = mem ? mem : def.memory_mib;
    res->allow_migrate = allow_migrate;
    res->role = stopped ? DRV_ROLE_STOPPED : DRV_ROLE_STARTED;
    if (drv_resource_validate(res, &why) != 0) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, why);
        goto out;
    }
    if (drv_ipc_state(a) != NULL &&
        drv_state_resource_conflict(drv_ipc_state(a), res, &conflict) != 0) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_EXISTS, conflict);
        goto out;
    }
    if (a->cluster == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_NOT_CONNECTED, NULL);
        goto out;
    }

    v = g_new0(ipc_validate_t, 1);
    v->h = r->ud;
    v->res = g_steal_pointer(&res);
    v->deadline_ms = drv_agent_now_ms() + timeout;
    v->pd = drv_ipc_pending_new(r, "resource-add");
    v->pd->name = g_strdup(name);
    json_object_set_string_member(v->pd->extra, "op", "resource-add");
    json_object_set_string_member(v->pd->extra, "name", name);
    json_object_set_string_member(v->pd->extra, "uuid", v->res->uuid);
    json_object_set_string_member(v->pd->extra, "domain", v->res->domain);
    v->pd->what = g_strdup_printf("resource-add %s (domain %s)", name, v->res->domain);
    if (a->ha == NULL) {
        qb_log(LOG_INFO, "No libvirt driver: %s submitted without libvirt's XML check",
               v->pd->what);
        add_validated(v, 0, NULL);
        goto out;
    }
    g_ptr_array_add(v->h->validating, v);
    rc = drv_ha_validate_xml(a->ha, v->res->xml, add_validated, v);
    if (rc != 0) {
        drv_ipc_pending_t *pd = v->pd;
        g_ptr_array_remove_fast(v->h->validating, v);
        v->pd = NULL;
        pending_finish(pd, rc == DRV_ERR_BAD_ARGS ? rc : DRV_ERR_NOT_CONNECTED,
                       "cannot have libvirt check the domain XML");
        validate_free(v);
    }

out:
    drv_dom_def_clear(&def);
    drv_resource_free(res);
}

/* The resource NAME as the local copy of the state has it, or NULL after replying
 * DRV_ERR_UNKNOWN_RESOURCE. */
static const drv_resource_t *known_resource(drv_ipc_req_t *r, const char *name, bool removing_ok)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    const drv_resource_t *res = st ? g_hash_table_lookup(st->resources, name) : NULL;

    if (res == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_RESOURCE, name);
        return NULL;
    }
    if (res->role == DRV_ROLE_REMOVING && !removing_ok) {
        g_autofree char *msg = g_strdup_printf("%s (it is being removed)", name);
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_RESOURCE, msg);
        return NULL;
    }
    return res;
}

/* resource-remove|start|stop|move|clear */
static void op_resource_change(drv_ipc_req_t *r)
{
    drv_agent_t *a = r->agent;
    const char *op = json_object_get_string_member(r->args, "op");
    const char *name = NULL;
    const char *node = NULL;
    guint64 timeout = 0;
    drv_cmd_t cmd;
    drv_ipc_pending_t *pd;
    const drv_resource_t *res;

    memset(&cmd, 0, sizeof(cmd));
    if (strcmp(op, "resource-remove") == 0) {
        cmd.type = DRV_CMD_RES_REMOVE;
        op = "resource-remove";
    } else if (strcmp(op, "resource-start") == 0 || strcmp(op, "resource-stop") == 0) {
        cmd.type = DRV_CMD_RES_ROLE;
        cmd.flag = strcmp(op, "resource-start") == 0;
        op = cmd.flag ? "resource-start" : "resource-stop";
    } else if (strcmp(op, "resource-move") == 0) {
        cmd.type = DRV_CMD_RES_MOVE;
        op = "resource-move";
    } else {
        cmd.type = DRV_CMD_RES_MOVE;
        op = "resource-clear";
    }
    if (!arg_res_name(r, &name) ||
        !drv_ipc_arg_str(r, "node",
                         cmd.type == DRV_CMD_RES_MOVE && strcmp(op, "resource-move") == 0, &node) ||
        !drv_ipc_arg_timeout(r, &timeout)) {
        return;
    }
    res = known_resource(r, name, cmd.type == DRV_CMD_RES_REMOVE);
    if (res == NULL) {
        return;
    }
    if (strcmp(op, "resource-move") == 0) {
        const drv_nodeinfo_t *ni = drv_cs_node_by_name(a->cs, node);
        g_autofree char *why = NULL;
        drv_place_node_t pn = {node, false};
        drv_cluster_view_t v;

        if (ni == NULL) {
            drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_NODE, node);
            return;
        }
        if (a->cluster != NULL) {
            drv_cluster_get_view(a->cluster, &v);
            for (size_t i = 0; i < v.n_members; i++) {
                pn.member = pn.member || v.members[i].nodeid == ni->id;
            }
            if (drv_place_check(drv_ipc_state(a), res, &pn, &why) != 0) {
                qb_log(LOG_INFO, "Refused resource-move %s to %s: %s", name, node, why);
                drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_CANNOT_PLACE, why);
                return;
            }
        }
        cmd.value = node;
    }
    cmd.name = name;
    pd = drv_ipc_pending_new(r, op);
    pd->name = g_strdup(name);
    json_object_set_string_member(pd->extra, "op", op);
    json_object_set_string_member(pd->extra, "name", name);
    pd->what =
        node ? g_strdup_printf("%s %s to %s", op, name, node) : g_strdup_printf("%s %s", op, name);
    drv_ipc_submit(r->ud, &cmd, timeout, pd);
}

static void op_resource_list(drv_ipc_req_t *r)
{
    drv_ipc_reply_ok(r->client, r->msg_id, drv_status_resource_list_json(r->agent));
}

static void op_resource_show(drv_ipc_req_t *r)
{
    const char *name = NULL;
    bool with_xml = false;
    JsonNode *n;

    if (!arg_res_name(r, &name) || !drv_ipc_arg_bool(r, "xml", false, &with_xml)) {
        return;
    }
    n = drv_status_resource_json(r->agent, name, with_xml);
    if (n == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_UNKNOWN_RESOURCE, name);
        return;
    }
    drv_ipc_reply_ok(r->client, r->msg_id, n);
}

/* --- cluster properties --------------------------------------------------------------- */

static void op_property_list(drv_ipc_req_t *r)
{
    const drv_state_t *st = drv_ipc_state(r->agent);
    g_autoptr(JsonBuilder) b = json_builder_new();
    size_t n = 0;
    const drv_prop_t *all = drv_prop_all(&n);

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "properties");
    json_builder_begin_array(b);
    for (size_t i = 0; i < n; i++) {
        const drv_prop_t *p = &all[i];
        bool is_def = true;
        const char *v = drv_prop_value(st, p->id, &is_def);

        json_builder_begin_object(b);
        json_builder_set_member_name(b, "key");
        json_builder_add_string_value(b, p->key);
        json_builder_set_member_name(b, "value");
        json_builder_add_string_value(b, v);
        json_builder_set_member_name(b, "default");
        json_builder_add_string_value(b, p->def);
        json_builder_set_member_name(b, "is_default");
        json_builder_add_boolean_value(b, is_def);
        json_builder_set_member_name(b, "type");
        json_builder_add_string_value(b, drv_prop_type_str(p->type));
        if (p->type == DRV_PROP_INT || p->type == DRV_PROP_DURATION) {
            json_builder_set_member_name(b, "min");
            json_builder_add_int_value(b, p->min);
            json_builder_set_member_name(b, "max");
            json_builder_add_int_value(b, p->max);
        }
        if (p->unit != NULL) {
            json_builder_set_member_name(b, "unit");
            json_builder_add_string_value(b, p->unit);
        }
        if (p->choices != NULL) {
            json_builder_set_member_name(b, "choices");
            json_builder_begin_array(b);
            for (size_t k = 0; p->choices[k] != NULL; k++) {
                json_builder_add_string_value(b, p->choices[k]);
            }
            json_builder_end_array(b);
        }
        json_builder_set_member_name(b, "description");
        json_builder_add_string_value(b, p->desc);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    drv_ipc_reply_ok(r->client, r->msg_id, json_builder_get_root(b));
}

/* property-set KEY VALUE | property-unset KEY: one SETTING_SET / SETTING_DEL of
 * "property/KEY", checked here with the registry the apply uses too. */
static void op_property_change(drv_ipc_req_t *r)
{
    bool set = strcmp(r->op, "property-set") == 0;
    const char *op = set ? "property-set" : "property-unset";
    const char *key = NULL;
    const char *value = NULL;
    g_autofree char *canon = NULL;
    g_autofree char *err = NULL;
    g_autofree char *skey = NULL;
    guint64 timeout = 0;
    drv_cmd_t cmd;
    drv_ipc_pending_t *pd;

    if (!drv_ipc_arg_str(r, "key", true, &key) || !drv_ipc_arg_str(r, "value", set, &value) ||
        !drv_ipc_arg_timeout(r, &timeout)) {
        return;
    }
    /* an unknown key is refused for unset too, with the list of valid ones */
    if ((drv_prop_lookup(key) == NULL && drv_prop_parse(key, "", NULL, &err) != 0) ||
        (set && drv_prop_parse(key, value, &canon, &err) != 0)) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS, err);
        return;
    }
    /* freeze leaves VMs running without quorum: only safe when the other side can be
     * powered off, i.e. with a fence device (the apply does not check this: a device removed
     * later is refused by fence-device-remove while freeze is set) */
    if (set && drv_prop_lookup(key)->id == DRV_PROP_NO_QUORUM_POLICY &&
        strcmp(canon, "freeze") == 0 &&
        (drv_ipc_state(r->agent) == NULL ||
         g_hash_table_size(drv_ipc_state(r->agent)->fence_devices) == 0)) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_BAD_ARGS,
                         "no-quorum-policy freeze is only allowed with power fencing "
                         "configured: add a fence device first (drover fence device add)");
        return;
    }
    if (r->agent->cluster == NULL) {
        drv_ipc_reply_rc(r->client, r->msg_id, DRV_ERR_NOT_CONNECTED, NULL);
        return;
    }
    skey = drv_prop_setting_key(drv_prop_lookup(key));
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = set ? DRV_CMD_SETTING_SET : DRV_CMD_SETTING_DEL;
    cmd.name = skey;
    cmd.value = set ? canon : NULL;
    pd = drv_ipc_pending_new(r, op);
    pd->what =
        set ? g_strdup_printf("%s %s=%s", op, key, canon) : g_strdup_printf("%s %s", op, key);
    json_object_set_string_member(pd->extra, "op", op);
    json_object_set_string_member(pd->extra, "key", key);
    if (set) {
        json_object_set_string_member(pd->extra, "value", canon);
    } else {
        json_object_set_string_member(pd->extra, "value", drv_prop_lookup(key)->def);
    }
    drv_ipc_submit(r->ud, &cmd, timeout, pd);
}

static const drv_ipc_op_t ops[] = {
    {"status", op_status},
    {"node-list", op_node_list},
    {"node-set", op_node_set},
    {"resource-add", op_resource_add},
    {"resource-remove", op_resource_change},
    {"resource-start", op_resource_change},
    {"resource-stop", op_resource_change},
    {"resource-move", op_resource_change},
    {"resource-clear", op_resource_change},
    {"resource-list", op_resource_list},
    {"resource-show", op_resource_show},
    {"property-list", op_property_list},
    {"property-set", op_property_change},
    {"property-unset", op_property_change},
    {"fence-device-add", drv_ipc_op_fence_device_add},
    {"fence-device-remove", drv_ipc_op_fence_device_remove},
    {"fence-device-list", drv_ipc_op_fence_device_list},
    {"fence-device-show", drv_ipc_op_fence_device_show},
    {"fence-level-add", drv_ipc_op_fence_level_add},
    {"fence-level-remove", drv_ipc_op_fence_level_remove},
    {"fence-level-list", drv_ipc_op_fence_level_list},
    {"fence-history", drv_ipc_op_fence_history},
    {"fence-status", drv_ipc_op_fence_status},
    {"node-fence", drv_ipc_op_node_fence},
    {"node-confirm-down", drv_ipc_op_node_confirm_down},
};

/* The agent's request_done listener: the verdict of a change a client waits for. */
static bool request_done(void *ud, uint64_t req_id, int rc)
{
    drv_ipc_handlers_t *h = ud;
    drv_ipc_pending_t *pd = g_hash_table_lookup(h->pending, &req_id);

    if (pd == NULL) {
        if (!h->in_submit) {
            return false;
        }
        /* decided inside drv_cluster_submit, before submit_cmd could record it */
        g_hash_table_insert(h->early_done, g_memdup2(&req_id, sizeof(req_id)), GINT_TO_POINTER(rc));
        return true;
    }
    if (rc == 0) {
        qb_log(LOG_NOTICE, "Applied %s (request %" PRIu64 ")", pd->what, req_id);
    } else {
        qb_log(LOG_WARNING, "Request %" PRIu64 " (%s) failed: %s", req_id, pd->what,
               drv_strerror(rc));
    }
    {
        gpointer key = NULL;
        g_hash_table_steal_extended(h->pending, &req_id, &key, NULL);
        g_free(key);
    }
    pending_finish(pd, rc, NULL);
    return true;
}

const drv_ipc_op_t *drv_ipc_handlers_ops(size_t *n)
{
    *n = G_N_ELEMENTS(ops);
    return ops;
}

drv_ipc_handlers_t *drv_ipc_handlers_new(drv_agent_t *a)
{
    drv_ipc_handlers_t *h = g_new0(drv_ipc_handlers_t, 1);

    h->agent = a;
    h->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, pending_free);
    h->early_done = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    h->validating = g_ptr_array_new();
    drv_agent_on_request_done(a, request_done, h);
    return h;
}

void drv_ipc_handlers_stop(drv_ipc_handlers_t *h)
{
    GHashTableIter it;
    gpointer k, v;

    if (h == NULL) {
        return;
    }
    /* Requests still waiting get an answer rather than silence. */
    g_hash_table_iter_init(&it, h->pending);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_hash_table_iter_steal(&it);
        g_free(k);
        pending_finish(v, DRV_ERR_NOT_CONNECTED, "droverd is stopping");
    }
    /* resource-adds waiting for libvirt: answered now; their DONE only frees them later */
    for (guint i = 0; i < h->validating->len; i++) {
        ipc_validate_t *val = g_ptr_array_index(h->validating, i);
        pending_finish(val->pd, DRV_ERR_NOT_CONNECTED, "droverd is stopping");
        val->pd = NULL;
        val->h = NULL;
    }
    g_ptr_array_set_size(h->validating, 0);
}

void drv_ipc_handlers_free(drv_ipc_handlers_t *h)
{
    if (h == NULL) {
        return;
    }
    drv_ipc_handlers_stop(h);
    drv_agent_listeners_remove(h->agent, h);
    g_hash_table_destroy(h->pending);
    g_hash_table_destroy(h->early_done);
    g_ptr_array_free(h->validating, TRUE);
    g_free(h);
}
