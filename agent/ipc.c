/* The IPC server the drover CLI talks to: libqb IPC (via libcrmcommon's
 * mainloop_add_ipc_server, so it runs in the GLib loop), JSON requests and replies after
 * libqb's headers. Only root and members of the haclient group may connect.
 *
 * Requests: {"op": "status"} | {"op": "node-list"} |
 *           {"op": "node-set", "node": NAME (default: local), "attr": "standby"|"maintenance",
 *            "value": bool, "timeout_ms": N (optional)} |
 *           {"op": "resource-add", "name", "xml", "priority", "prefer": [{"node", "weight"}],
 *            "anti_affinity": [...], "allow_migrate", "cpu", "memory_mib", "stopped",
 *            "timeout_ms"} |
 *           {"op": "resource-remove"|"resource-start"|"resource-stop"|"resource-clear", "name"} |
 *           {"op": "resource-move", "name", "node"} | {"op": "resource-list"} |
 *           {"op": "resource-show", "name", "xml": bool}        (docs/cli.md has the details)
 * Replies:  {"rc": 0, ...} or {"rc": <negative DRV_ERR_*>, "error": "text"}.
 * Changes reply when the core reports the command applied (ops->request_done); the
 * connection is kept referenced meanwhile, and the reply dropped if the client went away.
 * resource-add first has the XML checked by libvirt off the main loop (drv_ha_validate_xml)
 * and submits only when that succeeds: nothing changes on any failure. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/stat.h>
#include <qb/qbipcc.h>
#include <qb/qbipcs.h>
#include <qb/qblog.h>
#include <crm/common/mainloop.h>

#include "drover/results.h"
#include "agent.h"
#include "ha.h"
#include "virt.h"
#include "wire.h"

#define ACCESS_GROUP "haclient"
/* Room for a 256 KiB domain XML after JSON escaping; also the libqb buffer size we enforce
 * (libcrmcommon's default of 128 KiB is too small). The CLI asks for the same. */
#define IPC_BUFFER (1024 * 1024)
#define MAX_REQUEST (IPC_BUFFER - 1024)

/* status.c (not declared in agent.h, which is not this module's to extend) */
JsonNode *drv_status__resource_list_json(drv_agent_t *a);
JsonNode *drv_status__resource_json(drv_agent_t *a, const char *name, bool with_xml);

typedef struct ipc_client {
    drv_ipc_t *ipc;
    qb_ipcs_connection_t *conn;
    bool closed;
    uid_t uid;
    pid_t pid;
} ipc_client_t;

/* A change waiting for its verdict: who to answer and what to say. */
typedef struct ipc_pending {
    ipc_client_t *client; /* holds a reference on client->conn */
    int32_t msg_id;
    char *what; /* for the log */
    /* node-set (op == NULL) */
    char *node;
    const char *attr; /* static string */
    bool value;
    /* resource-* (op = the request's op, static string) */
    const char *op;
    char *name;
    char *uuid;   /* resource-add */
    char *domain; /* resource-add */
} ipc_pending_t;

/* A resource-add waiting for libvirt's verdict on its XML. */
typedef struct ipc_validate {
    drv_ipc_t *ipc;    /* NULL once the server stopped (the reply was sent then) */
    ipc_pending_t *pd; /* NULL once answered */
    drv_resource_t *res;
    uint64_t deadline_ms; /* drv_agent_now_ms() + the request's timeout */
} ipc_validate_t;

struct drv_ipc {
    drv_agent_t *agent;
    qb_ipcs_service_t *srv;
    GHashTable *pending;    /* uint64_t *req_id -> ipc_pending_t * */
    GHashTable *early_done; /* uint64_t *req_id -> rc, done before we recorded it */
    GPtrArray *validating;  /* ipc_validate_t * (not owned: freed when DONE runs) */
    bool in_submit;
};

/* --- access control ------------------------------------------------------------------- */

int drv_ipc_check_access(uid_t uid, gid_t gid, const char *group)
{
    struct group *gr;
    struct passwd *pw;
    int ngroups = 64;
    g_autofree gid_t *groups = NULL;
    gid_t want;

    if (uid == 0) {
        return 0;
    }
    gr = getgrnam(group);
    if (gr == NULL) {
        return -EACCES;
    }
    want = gr->gr_gid;
    if (gid == want) {
        return 0;
    }
    pw = getpwuid(uid);
    if (pw == NULL) {
        return -EACCES;
    }
    groups = g_new(gid_t, ngroups);
    if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0) {
        groups = g_renew(gid_t, groups, ngroups);
        if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0) {
            return -EACCES;
        }
    }
    for (int i = 0; i < ngroups; i++) {
        if (groups[i] == want) {
            return 0;
        }
    }
    return -EACCES;
}

/* --- replies -------------------------------------------------------------------------- */

static void send_reply(qb_ipcs_connection_t *conn, int32_t msg_id, JsonNode *body)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;
    gsize len = 0;
    struct qb_ipc_response_header hdr;
    struct iovec iov[2];
    ssize_t rc;

    json_generator_set_root(gen, body);
    text = json_generator_to_data(gen, &len);
    hdr.id = msg_id;
    hdr.size = (int32_t)(sizeof(hdr) + len + 1);
    hdr.error = 0;
    iov[0].iov_base = &hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = text;
    iov[1].iov_len = len + 1;
    rc = qb_ipcs_response_sendv(conn, iov, 2);
    if (rc < 0) {
        qb_log(LOG_WARNING, "IPC: could not send a reply: %s", strerror((int)-rc));
    }
}

static JsonNode *rc_reply(int rc, const char *detail)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "rc");
    json_builder_add_int_value(b, rc);
    if (rc != 0) {
        json_builder_set_member_name(b, "error");
        if (detail != NULL) {
            g_autofree char *msg = g_strdup_printf("%s: %s", drv_strerror(rc), detail);
            json_builder_add_string_value(b, msg);
        } else {
            json_builder_add_string_value(b, drv_strerror(rc));
        }
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void reply_rc(qb_ipcs_connection_t *conn, int32_t msg_id, int rc, const char *detail)
{
    JsonNode *n = rc_reply(rc, detail);

    send_reply(conn, msg_id, n);
    json_node_unref(n);
}

/* Add "rc": 0 to an object reply and send it. */
static void reply_ok(qb_ipcs_connection_t *conn, int32_t msg_id, JsonNode *body)
{
    json_object_set_int_member(json_node_get_object(body), "rc", 0);
    send_reply(conn, msg_id, body);
    json_node_unref(body);
}

/* The node-set reply: rc (and error), plus what was asked, so that scripts see it. */
static void reply_node_set(qb_ipcs_connection_t *conn, int32_t msg_id, int rc, const char *node,
                           const char *attr, bool value)
{
    JsonNode *n = rc_reply(rc, NULL);
    JsonObject *o = json_node_get_object(n);

    json_object_set_string_member(o, "node", node);
    json_object_set_string_member(o, "attr", attr);
    json_object_set_boolean_member(o, "value", value);
    send_reply(conn, msg_id, n);
    json_node_unref(n);
}

/* --- ops ------------------------------------------------------------------------------ */

typedef struct ipc_req {
    drv_ipc_t *ipc;
    ipc_client_t *client;
    int32_t msg_id;
    JsonObject *args;
} ipc_req_t;

static void op_status(ipc_req_t *r)
{
    reply_ok(r->client->conn, r->msg_id, drv_status_json(r->ipc->agent));
}

static void op_node_list(ipc_req_t *r)
{
    reply_ok(r->client->conn, r->msg_id, drv_node_list_json(r->ipc->agent));
}

static void pending_free(gpointer p)
{
    ipc_pending_t *pd = p;

    if (pd == NULL) {
        return;
    }
    qb_ipcs_connection_unref(pd->client->conn);
    g_free(pd->what);
    g_free(pd->node);
    g_free(pd->name);
    g_free(pd->uuid);
    g_free(pd->domain);
    g_free(pd);
}

static ipc_pending_t *pending_new(ipc_client_t *client, int32_t msg_id)
{
    ipc_pending_t *pd = g_new0(ipc_pending_t, 1);

    pd->client = client;
    pd->msg_id = msg_id;
    qb_ipcs_connection_ref(client->conn);
    return pd;
}

/* The reply of a resource change: rc (and error), op and name, plus uuid and domain for add. */
static void reply_resource(qb_ipcs_connection_t *conn, int32_t msg_id, int rc, const char *detail,
                           const ipc_pending_t *pd)
{
    JsonNode *n = rc_reply(rc, detail);
    JsonObject *o = json_node_get_object(n);

    json_object_set_string_member(o, "op", pd->op);
    json_object_set_string_member(o, "name", pd->name);
    if (pd->uuid != NULL) {
        json_object_set_string_member(o, "uuid", pd->uuid);
        json_object_set_string_member(o, "domain", pd->domain);
    }
    send_reply(conn, msg_id, n);
    json_node_unref(n);
}

/* What the replicated apply's verdicts mean for this request. */
static const char *apply_detail(const ipc_pending_t *pd, int rc)
{
    if (pd->op == NULL) {
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

/* Answer PD (unless its client went away) and free it. */
static void pending_finish(ipc_pending_t *pd, int rc, const char *detail)
{
    if (pd->client->closed) {
        qb_log(LOG_DEBUG, "Client of %s went away; reply dropped", pd->what);
    } else if (pd->op == NULL) {
        reply_node_set(pd->client->conn, pd->msg_id, rc, pd->node, pd->attr, pd->value);
    } else {
        reply_resource(pd->client->conn, pd->msg_id, rc, detail ? detail : apply_detail(pd, rc),
                       pd);
    }
    pending_free(pd);
}

/* Submit CMD; PD (ownership taken) is answered when the core reports the verdict, or now. */
static void submit_cmd(drv_ipc_t *ipc, const drv_cmd_t *cmd, guint64 timeout, ipc_pending_t *pd)
{
    drv_agent_t *a = ipc->agent;
    uint64_t req_id = 0;
    uint64_t key;
    gpointer early;
    int rc;

    if (a->cluster == NULL) {
        pending_finish(pd, DRV_ERR_NOT_CONNECTED, NULL);
        return;
    }
    ipc->in_submit = true;
    rc = drv_cluster_submit(a->cluster, cmd, drv_agent_now_ms(), timeout, &req_id);
    ipc->in_submit = false;
    if (rc != 0) {
        qb_log(LOG_INFO, "Refused %s from pid %d: %s", pd->what, (int)pd->client->pid,
               drv_strerror(rc));
        pending_finish(pd, rc, NULL);
        return;
    }
    key = req_id;
    if (g_hash_table_lookup_extended(ipc->early_done, &key, NULL, &early)) {
        g_hash_table_remove(ipc->early_done, &key);
        pending_finish(pd, GPOINTER_TO_INT(early), NULL);
        return;
    }
    g_hash_table_insert(ipc->pending, g_memdup2(&key, sizeof(key)), pd);
    qb_log(LOG_INFO, "Request %" PRIu64 " (%s) submitted for pid %d", req_id, pd->what,
           (int)pd->client->pid);
}

static void op_node_set(ipc_req_t *r)
{
    drv_agent_t *a = r->ipc->agent;
    const drv_cs_info_t *info = drv_cs_info(a->cs);
    const char *node = NULL;
    const char *attr = NULL;
    JsonNode *vn;
    drv_cmd_t cmd;
    guint64 timeout = a->cfg.request_timeout_ms;

    if (json_object_has_member(r->args, "node")) {
        JsonNode *nn = json_object_get_member(r->args, "node");
        if (!JSON_NODE_HOLDS_VALUE(nn) || json_node_get_value_type(nn) != G_TYPE_STRING) {
            reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS, "\"node\" must be a string");
            return;
        }
        node = json_node_get_string(nn);
    } else {
        node = drv_cs_node_name(a->cs, info->local_nodeid);
        if (node == NULL) {
            reply_rc(r->client->conn, r->msg_id, DRV_ERR_NOT_CONNECTED,
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
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
                 "node-set needs \"attr\": \"standby\"|\"maintenance\" and a boolean \"value\"");
        return;
    }
    if (json_object_has_member(r->args, "timeout_ms")) {
        JsonNode *tn = json_object_get_member(r->args, "timeout_ms");
        if (!JSON_NODE_HOLDS_VALUE(tn) || json_node_get_value_type(tn) != G_TYPE_INT64 ||
            json_node_get_int(tn) <= 0) {
            reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
                     "\"timeout_ms\" must be a positive integer");
            return;
        }
        timeout = (guint64)json_node_get_int(tn);
    }
    if (drv_cs_node_by_name(a->cs, node) == NULL) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_UNKNOWN_NODE, node);
        return;
    }
    if (a->cluster == NULL) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_NOT_CONNECTED, NULL);
        return;
    }

    memset(&cmd, 0, sizeof(cmd));
    cmd.type = strcmp(attr, "standby") == 0 ? DRV_CMD_NODE_STANDBY : DRV_CMD_NODE_MAINTENANCE;
    cmd.name = node;
    cmd.flag = json_node_get_boolean(vn);

    ipc_pending_t *pd = pending_new(r->client, r->msg_id);
    pd->what = g_strdup_printf("%s %s=%s", node, attr, cmd.flag ? "on" : "off");
    pd->node = g_strdup(node);
    pd->attr = strcmp(attr, "standby") == 0 ? "standby" : "maintenance";
    pd->value = cmd.flag;
    submit_cmd(r->ipc, &cmd, timeout, pd);
}

/* --- resource ops --------------------------------------------------------------------- */

static const drv_state_t *local_state(drv_agent_t *a)
{
    return a->cluster != NULL ? drv_cluster_state(a->cluster) : a->loaded;
}

/* Member NAME of the request as a string: true and *OUT (NULL when absent and !REQUIRED), or
 * false after replying DRV_ERR_BAD_ARGS. */
static bool arg_str(ipc_req_t *r, const char *name, bool required, const char **out)
{
    JsonNode *n = json_object_get_member(r->args, name);

    *out = NULL;
    if (n == NULL && !required) {
        return true;
    }
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        g_autofree char *msg = g_strdup_printf("\"%s\" must be a string", name);
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return false;
    }
    *out = json_node_get_string(n);
    return true;
}

static bool arg_bool(ipc_req_t *r, const char *name, bool def, bool *out)
{
    JsonNode *n = json_object_get_member(r->args, name);

    *out = def;
    if (n == NULL) {
        return true;
    }
    if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN) {
        g_autofree char *msg = g_strdup_printf("\"%s\" must be true or false", name);
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return false;
    }
    *out = json_node_get_boolean(n);
    return true;
}

/* Integer member in MIN..MAX; *OUT = 0 when absent. */
static bool arg_uint(ipc_req_t *r, const char *name, gint64 min, gint64 max, guint64 *out)
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
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS, msg);
        return false;
    }
    *out = (guint64)json_node_get_int(n);
    return true;
}

static bool arg_timeout(ipc_req_t *r, guint64 *timeout)
{
    guint64 t = 0;

    if (!arg_uint(r, "timeout_ms", 1, G_MAXINT32, &t)) {
        return false;
    }
    *timeout = t ? t : r->ipc->agent->cfg.request_timeout_ms;
    return true;
}

/* The "name" of a resource request, checked against the naming rule. */
static bool arg_res_name(ipc_req_t *r, const char **name)
{
    if (!arg_str(r, "name", true, name)) {
        return false;
    }
    if (!drv_resource_name_valid(*name)) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
                 "resource names are 1-64 characters of A-Z a-z 0-9 _ . - (not starting with - "
                 "or .)");
        return false;
    }
    return true;
}

/* Does a resource other than by that name already use UUID or DOMAIN (or NAME itself)? The
 * message says which. */
static char *find_conflict(const drv_state_t *st, const char *name, const char *uuid,
                           const char *domain)
{
    GHashTableIter it;
    gpointer v;

    if (st == NULL) {
        return NULL;
    }
    if (g_hash_table_lookup(st->resources, name) != NULL) {
        return g_strdup_printf("a resource named %s is already managed", name);
    }
    g_hash_table_iter_init(&it, st->resources);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const drv_resource_t *o = v;
        if (o->uuid != NULL && g_ascii_strcasecmp(o->uuid, uuid) == 0) {
            return g_strdup_printf("UUID %s is already managed as resource %s", uuid, o->name);
        }
        if (o->domain != NULL && strcmp(o->domain, domain) == 0) {
            return g_strdup_printf("domain %s is already managed as resource %s", domain, o->name);
        }
    }
    return NULL;
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
    drv_ipc_t *ipc = v->ipc;
    drv_cmd_t cmd;
    g_autofree char *conflict = NULL;
    ipc_pending_t *pd = v->pd;

    if (ipc == NULL) {
        validate_free(v); /* the server stopped; that reply was sent */
        return;
    }
    g_ptr_array_remove_fast(ipc->validating, v);
    if (pd->client->closed) {
        qb_log(LOG_INFO, "Dropped %s: the client went away during XML validation", pd->what);
        validate_free(v);
        return;
    }
    if (rc != 0) {
        qb_log(LOG_INFO, "Refused %s from pid %d: libvirt: %s", pd->what, (int)pd->client->pid,
               errmsg ? errmsg : drv_strerror(rc));
        v->pd = NULL;
        /* refused XML is bad input (exit 2); anything else (libvirt's schema unreadable,
         * droverd stopping) is not the user's fault */
        pending_finish(pd, rc, errmsg ? errmsg : "libvirt refused the domain XML");
        validate_free(v);
        return;
    }
    /* The state may have changed while libvirt looked (the apply checks again anyway). */
    conflict = find_conflict(local_state(ipc->agent), v->res->name, v->res->uuid, v->res->domain);
    v->pd = NULL;
    if (conflict != NULL) {
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
    submit_cmd(ipc, &cmd, v->deadline_ms - drv_agent_now_ms(), pd);
    validate_free(v);
}

/* Fill R's placement wishes from the request; false after replying. */
static bool add_wishes(ipc_req_t *r, drv_resource_t *res)
{
    drv_agent_t *a = r->ipc->agent;
    JsonNode *pn = json_object_get_member(r->args, "prefer");
    JsonNode *an = json_object_get_member(r->args, "anti_affinity");

    if (pn != NULL && !JSON_NODE_HOLDS_ARRAY(pn)) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS, "\"prefer\" must be an array");
        return false;
    }
    for (guint i = 0; pn != NULL && i < json_array_get_length(json_node_get_array(pn)); i++) {
        JsonNode *e = json_array_get_element(json_node_get_array(pn), i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(e) ? json_node_get_object(e) : NULL;
        JsonNode *nn = o ? json_object_get_member(o, "node") : NULL;
        JsonNode *wn = o ? json_object_get_member(o, "weight") : NULL;
        gint64 w = 100;
        drv_pref_t *p;

        if (nn == NULL || !JSON_NODE_HOLDS_VALUE(nn) ||
            json_node_get_value_type(nn) != G_TYPE_STRING ||
            (wn != NULL &&
             (!JSON_NODE_HOLDS_VALUE(wn) || json_node_get_value_type(wn) != G_TYPE_INT64))) {
            reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
                     "\"prefer\" entries are {\"node\": NAME, \"weight\": 1..1000000}");
            return false;
        }
        if (wn != NULL) {
            w = json_node_get_int(wn);
        }
        if (w < 1 || w > 1000000) {
            reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
                     "a preference weight must be from 1 to 1000000");
            return false;
        }
        if (drv_cs_node_by_name(a->cs, json_node_get_string(nn)) == NULL) {
            g_autofree char *msg =
                g_strdup_printf("%s (preferred node of %s)", json_node_get_string(nn), res->name);
            reply_rc(r->client->conn, r->msg_id, DRV_ERR_UNKNOWN_NODE, msg);
            return false;
        }
        p = g_new0(drv_pref_t, 1);
        p->node = g_strdup(json_node_get_string(nn));
        p->weight = (uint32_t)w;
        g_ptr_array_add(res->prefer, p);
    }
    if (an != NULL && !JSON_NODE_HOLDS_ARRAY(an)) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
                 "\"anti_affinity\" must be an array of group names");
        return false;
    }
    for (guint i = 0; an != NULL && i < json_array_get_length(json_node_get_array(an)); i++) {
        JsonNode *e = json_array_get_element(json_node_get_array(an), i);
        if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING) {
            reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
                     "\"anti_affinity\" must be an array of group names");
            return false;
        }
        g_ptr_array_add(res->anti_affinity, g_strdup(json_node_get_string(e)));
    }
    return true;
}

static void op_resource_add(ipc_req_t *r)
{
    drv_agent_t *a = r->ipc->agent;
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
    if (!arg_res_name(r, &name) || !arg_str(r, "xml", true, &xml) ||
        !arg_str(r, "priority", false, &prio) ||
        !arg_bool(r, "allow_migrate", true, &allow_migrate) ||
        !arg_bool(r, "stopped", false, &stopped) || !arg_uint(r, "cpu", 1, 4096, &cpu) ||
        !arg_uint(r, "memory_mib", 1, G_GINT64_CONSTANT(1) << 32, &mem) ||
        !arg_timeout(r, &timeout)) {
        return;
    }
    res = drv_resource_new(name);
    if (prio != NULL && drv_priority_parse(prio, &res->priority) != 0) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
                 "\"priority\" must be high, medium or low");
        goto out;
    }
    if (strlen(xml) > 256 * 1024) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
                 "the domain XML is larger than 256 KiB");
        goto out;
    }
    rc = drv_virt_parse_xml(xml, &def, &perr);
    if (rc != 0) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS,
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
    if (!drv_resource_def_valid(res, &why)) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_BAD_ARGS, why);
        goto out;
    }
    conflict = find_conflict(local_state(a), name, res->uuid, res->domain);
    if (conflict != NULL) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_EXISTS, conflict);
        goto out;
    }
    if (a->cluster == NULL) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_NOT_CONNECTED, NULL);
        goto out;
    }

    v = g_new0(ipc_validate_t, 1);
    v->ipc = r->ipc;
    v->res = g_steal_pointer(&res);
    v->deadline_ms = drv_agent_now_ms() + timeout;
    v->pd = pending_new(r->client, r->msg_id);
    v->pd->op = "resource-add";
    v->pd->name = g_strdup(name);
    v->pd->uuid = g_strdup(v->res->uuid);
    v->pd->domain = g_strdup(v->res->domain);
    v->pd->what = g_strdup_printf("resource-add %s (domain %s)", name, v->res->domain);
    if (a->ha == NULL) {
        qb_log(LOG_INFO, "No libvirt driver: %s submitted without libvirt's XML check",
               v->pd->what);
        add_validated(v, 0, NULL);
        goto out;
    }
    g_ptr_array_add(r->ipc->validating, v);
    rc = drv_ha_validate_xml(a->ha, v->res->xml, add_validated, v);
    if (rc != 0) {
        ipc_pending_t *pd = v->pd;
        g_ptr_array_remove_fast(r->ipc->validating, v);
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
static const drv_resource_t *known_resource(ipc_req_t *r, const char *name, bool removing_ok)
{
    const drv_state_t *st = local_state(r->ipc->agent);
    const drv_resource_t *res = st ? g_hash_table_lookup(st->resources, name) : NULL;

    if (res == NULL) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_UNKNOWN_RESOURCE, name);
        return NULL;
    }
    if (res->role == DRV_ROLE_REMOVING && !removing_ok) {
        g_autofree char *msg = g_strdup_printf("%s (it is being removed)", name);
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_UNKNOWN_RESOURCE, msg);
        return NULL;
    }
    return res;
}

/* resource-remove|start|stop|move|clear */
static void op_resource_change(ipc_req_t *r)
{
    drv_agent_t *a = r->ipc->agent;
    const char *op = json_object_get_string_member(r->args, "op");
    const char *name = NULL;
    const char *node = NULL;
    guint64 timeout = 0;
    drv_cmd_t cmd;
    ipc_pending_t *pd;

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
        !arg_str(r, "node", cmd.type == DRV_CMD_RES_MOVE && strcmp(op, "resource-move") == 0,
                 &node) ||
        !arg_timeout(r, &timeout)) {
        return;
    }
    if (known_resource(r, name, cmd.type == DRV_CMD_RES_REMOVE) == NULL) {
        return;
    }
    if (strcmp(op, "resource-move") == 0) {
        if (drv_cs_node_by_name(a->cs, node) == NULL) {
            reply_rc(r->client->conn, r->msg_id, DRV_ERR_UNKNOWN_NODE, node);
            return;
        }
        cmd.value = node;
    }
    cmd.name = name;
    pd = pending_new(r->client, r->msg_id);
    pd->op = op;
    pd->name = g_strdup(name);
    pd->what =
        node ? g_strdup_printf("%s %s to %s", op, name, node) : g_strdup_printf("%s %s", op, name);
    submit_cmd(r->ipc, &cmd, timeout, pd);
}

static void op_resource_list(ipc_req_t *r)
{
    reply_ok(r->client->conn, r->msg_id, drv_status__resource_list_json(r->ipc->agent));
}

static void op_resource_show(ipc_req_t *r)
{
    const char *name = NULL;
    bool with_xml = false;
    JsonNode *n;

    if (!arg_res_name(r, &name) || !arg_bool(r, "xml", false, &with_xml)) {
        return;
    }
    n = drv_status__resource_json(r->ipc->agent, name, with_xml);
    if (n == NULL) {
        reply_rc(r->client->conn, r->msg_id, DRV_ERR_UNKNOWN_RESOURCE, name);
        return;
    }
    reply_ok(r->client->conn, r->msg_id, n);
}

typedef struct ipc_op {
    const char *name;
    void (*fn)(ipc_req_t *r);
} ipc_op_t;

static const ipc_op_t ops[] = {
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
};

void drv_ipc_request_done(drv_ipc_t *ipc, uint64_t req_id, int rc)
{
    ipc_pending_t *pd;

    if (ipc == NULL) {
        return;
    }
    pd = g_hash_table_lookup(ipc->pending, &req_id);
    if (pd == NULL) {
        if (ipc->in_submit) {
            g_hash_table_insert(ipc->early_done, g_memdup2(&req_id, sizeof(req_id)),
                                GINT_TO_POINTER(rc));
        } else {
            qb_log(LOG_DEBUG, "Request %" PRIu64 " done (%d), no client waiting", req_id, rc);
        }
        return;
    }
    if (rc == 0) {
        qb_log(LOG_NOTICE, "Applied %s (request %" PRIu64 ")", pd->what, req_id);
    } else {
        qb_log(LOG_WARNING, "Request %" PRIu64 " (%s) failed: %s", req_id, pd->what,
               drv_strerror(rc));
    }
    {
        gpointer key = NULL;
        g_hash_table_steal_extended(ipc->pending, &req_id, &key, NULL);
        g_free(key);
    }
    pending_finish(pd, rc, NULL);
}

/* --- libqb service handlers ----------------------------------------------------------- */

/* libqb gives the service handlers no user data: the service's context is stored with
 * qb_ipcs_service_context_set and found from the connection. */
static drv_ipc_t *conn_ipc(qb_ipcs_connection_t *c)
{
    return qb_ipcs_connection_service_context_get(c);
}

static int32_t ipc_accept(qb_ipcs_connection_t *c, uid_t uid, gid_t gid)
{
    drv_ipc_t *ipc = conn_ipc(c);
    struct group *gr;

    if (ipc == NULL || ipc->agent->shutting_down) {
        return -ESHUTDOWN;
    }
    if (drv_ipc_check_access(uid, gid, ACCESS_GROUP) != 0) {
        qb_log(LOG_WARNING, "IPC: refused connection from uid %d gid %d (not root nor in %s)",
               (int)uid, (int)gid, ACCESS_GROUP);
        return -EACCES;
    }
    /* Let haclient members open the shared-memory ring buffers too. */
    gr = getgrnam(ACCESS_GROUP);
    if (gr != NULL) {
        qb_ipcs_connection_auth_set(c, -1, gr->gr_gid, S_IRUSR | S_IWUSR | S_IRGRP | S_IWGRP);
    }
    return 0;
}

static void ipc_created(qb_ipcs_connection_t *c)
{
    ipc_client_t *cl = g_new0(ipc_client_t, 1);
    struct qb_ipcs_connection_stats st;

    cl->ipc = conn_ipc(c);
    cl->conn = c;
    memset(&st, 0, sizeof(st));
    if (qb_ipcs_connection_stats_get(c, &st, QB_FALSE) == 0) {
        cl->pid = st.client_pid;
    }
    qb_ipcs_context_set(c, cl);
    qb_log(LOG_DEBUG, "IPC: client pid %d connected", (int)cl->pid);
}

static int32_t ipc_closed(qb_ipcs_connection_t *c)
{
    ipc_client_t *cl = qb_ipcs_context_get(c);

    if (cl != NULL) {
        cl->closed = true;
    }
    return 0;
}

static void ipc_destroyed(qb_ipcs_connection_t *c)
{
    ipc_client_t *cl = qb_ipcs_context_get(c);

    qb_ipcs_context_set(c, NULL);
    g_free(cl);
}

static int32_t ipc_msg(qb_ipcs_connection_t *c, void *data, size_t size)
{
    ipc_client_t *cl = qb_ipcs_context_get(c);
    const struct qb_ipc_request_header *hdr = data;
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) gerr = NULL;
    const char *body;
    size_t body_len;
    JsonNode *root;
    const char *op = NULL;
    ipc_req_t req;

    if (cl == NULL || size < sizeof(*hdr)) {
        return 0;
    }
    body = (const char *)data + sizeof(*hdr);
    body_len = size - sizeof(*hdr);
    while (body_len > 0 && body[body_len - 1] == '\0') {
        body_len--;
    }
    if (body_len > MAX_REQUEST ||
        !json_parser_load_from_data(parser, body, (gssize)body_len, &gerr)) {
        qb_log(LOG_INFO, "IPC: malformed request from pid %d: %s", (int)cl->pid,
               gerr ? gerr->message : "too large");
        reply_rc(c, hdr->id, DRV_ERR_BAD_ARGS, "request is not valid JSON");
        return 0;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        reply_rc(c, hdr->id, DRV_ERR_BAD_ARGS, "request must be a JSON object");
        return 0;
    }
    req.ipc = cl->ipc;
    req.client = cl;
    req.msg_id = hdr->id;
    req.args = json_node_get_object(root);
    if (json_object_has_member(req.args, "op")) {
        JsonNode *on = json_object_get_member(req.args, "op");
        if (JSON_NODE_HOLDS_VALUE(on) && json_node_get_value_type(on) == G_TYPE_STRING) {
            op = json_node_get_string(on);
        }
    }
    for (size_t i = 0; op != NULL && i < G_N_ELEMENTS(ops); i++) {
        if (strcmp(ops[i].name, op) == 0) {
            qb_log(LOG_DEBUG, "IPC: %s from pid %d", op, (int)cl->pid);
            ops[i].fn(&req);
            return 0;
        }
    }
    reply_rc(c, hdr->id, DRV_ERR_BAD_ARGS, op ? "unknown op" : "missing \"op\"");
    return 0;
}

static struct qb_ipcs_service_handlers handlers = {
    .connection_accept = ipc_accept,
    .connection_created = ipc_created,
    .msg_process = ipc_msg,
    .connection_closed = ipc_closed,
    .connection_destroyed = ipc_destroyed,
};

drv_ipc_t *drv_ipc_new(drv_agent_t *a)
{
    drv_ipc_t *ipc = g_new0(drv_ipc_t, 1);

    ipc->agent = a;
    ipc->pending = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, pending_free);
    ipc->early_done = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    ipc->validating = g_ptr_array_new();
    return ipc;
}

int drv_ipc_start(drv_ipc_t *ipc)
{
    /* libcrmcommon 2.1's mainloop_add_ipc_server() aborts (double unref in libqb) when the
     * name is taken, so find out first whether something already answers on it. */
    qb_ipcc_connection_t *probe = qb_ipcc_connect(ipc->agent->cfg.ipc_name, 4096);

    if (probe != NULL) {
        qb_ipcc_disconnect(probe);
        qb_log(LOG_ERR, "IPC name '%s' is already served (another droverd?)",
               ipc->agent->cfg.ipc_name);
        return -EADDRINUSE;
    }
    ipc->srv = mainloop_add_ipc_server(ipc->agent->cfg.ipc_name, QB_IPC_NATIVE, &handlers);
    if (ipc->srv == NULL) {
        return -EADDRINUSE;
    }
    qb_ipcs_service_context_set(ipc->srv, ipc);
    /* Before any client connects: the buffer size of every connection. */
    qb_ipcs_enforce_buffer_size(ipc->srv, IPC_BUFFER);
    qb_log(LOG_INFO, "IPC server '%s' listening", ipc->agent->cfg.ipc_name);
    return 0;
}

void drv_ipc_stop(drv_ipc_t *ipc)
{
    if (ipc == NULL || ipc->srv == NULL) {
        return;
    }
    /* Requests still waiting get an answer rather than silence. */
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, ipc->pending);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        ipc_pending_t *pd = v;
        if (!pd->client->closed) {
            reply_rc(pd->client->conn, pd->msg_id, DRV_ERR_NOT_CONNECTED, "droverd is stopping");
        }
        g_hash_table_iter_remove(&it);
    }
    /* resource-adds waiting for libvirt: answered now; their DONE only frees them later */
    for (guint i = 0; i < ipc->validating->len; i++) {
        ipc_validate_t *val = g_ptr_array_index(ipc->validating, i);
        pending_finish(val->pd, DRV_ERR_NOT_CONNECTED, "droverd is stopping");
        val->pd = NULL;
        val->ipc = NULL;
    }
    g_ptr_array_set_size(ipc->validating, 0);
    mainloop_del_ipc_server(ipc->srv);
    ipc->srv = NULL;
}

void drv_ipc_free(drv_ipc_t *ipc)
{
    if (ipc == NULL) {
        return;
    }
    drv_ipc_stop(ipc);
    g_hash_table_destroy(ipc->pending);
    g_hash_table_destroy(ipc->early_done);
    g_ptr_array_free(ipc->validating, TRUE);
    g_free(ipc);
}
