/* The IPC server the drover CLI talks to: libqb IPC (via libcrmcommon's
 * mainloop_add_ipc_server, so it runs in the GLib loop), JSON requests and replies after
 * libqb's headers. Only root and members of the haclient group may connect.
 *
 * Requests: {"op": "status"} | {"op": "node-list"} |
 *           {"op": "node-set", "node": NAME (default: local), "attr": "standby"|"maintenance",
 *            "value": bool, "timeout_ms": N (optional)}
 * Replies:  {"rc": 0, ...} or {"rc": <negative DRV_ERR_*>, "error": "text"}.
 * node-set replies when the core reports the command applied (ops->request_done); the
 * connection is kept referenced meanwhile, and the reply dropped if the client went away. */
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

#define ACCESS_GROUP "haclient"
#define MAX_REQUEST 65536

typedef struct ipc_client {
    drv_ipc_t *ipc;
    qb_ipcs_connection_t *conn;
    bool closed;
    uid_t uid;
    pid_t pid;
} ipc_client_t;

typedef struct ipc_pending {
    ipc_client_t *client; /* holds a reference on client->conn */
    int32_t msg_id;
    char *what; /* for the log */
    char *node;
    const char *attr; /* static string */
    bool value;
} ipc_pending_t;

struct drv_ipc {
    drv_agent_t *agent;
    qb_ipcs_service_t *srv;
    GHashTable *pending;    /* uint64_t *req_id -> ipc_pending_t * */
    GHashTable *early_done; /* uint64_t *req_id -> rc, done before we recorded it */
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
    g_free(pd);
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
    uint64_t req_id = 0;
    uint64_t key;
    gpointer early;
    int rc;

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

    r->ipc->in_submit = true;
    rc = drv_cluster_submit(a->cluster, &cmd, drv_agent_now_ms(), timeout, &req_id);
    r->ipc->in_submit = false;
    if (rc != 0) {
        qb_log(LOG_INFO, "Refused %s %s=%s from pid %d: %s", node, attr, cmd.flag ? "on" : "off",
               (int)r->client->pid, drv_strerror(rc));
        reply_node_set(r->client->conn, r->msg_id, rc, node, attr, cmd.flag);
        return;
    }
    key = req_id;
    if (g_hash_table_lookup_extended(r->ipc->early_done, &key, NULL, &early)) {
        rc = GPOINTER_TO_INT(early);
        g_hash_table_remove(r->ipc->early_done, &key);
        reply_node_set(r->client->conn, r->msg_id, rc, node, attr, cmd.flag);
        return;
    }

    ipc_pending_t *pd = g_new0(ipc_pending_t, 1);
    pd->client = r->client;
    pd->msg_id = r->msg_id;
    pd->what = g_strdup_printf("%s %s=%s", node, attr, cmd.flag ? "on" : "off");
    pd->node = g_strdup(node);
    pd->attr = strcmp(attr, "standby") == 0 ? "standby" : "maintenance";
    pd->value = cmd.flag;
    qb_ipcs_connection_ref(r->client->conn);
    g_hash_table_insert(r->ipc->pending, g_memdup2(&key, sizeof(key)), pd);
    qb_log(LOG_INFO, "Request %" PRIu64 " (%s) submitted for pid %d", req_id, pd->what,
           (int)r->client->pid);
}

typedef struct ipc_op {
    const char *name;
    void (*fn)(ipc_req_t *r);
} ipc_op_t;

static const ipc_op_t ops[] = {
    {"status", op_status},
    {"node-list", op_node_list},
    {"node-set", op_node_set},
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
    if (pd->client->closed) {
        qb_log(LOG_DEBUG, "Client of request %" PRIu64 " went away; reply dropped", req_id);
    } else {
        reply_node_set(pd->client->conn, pd->msg_id, rc, pd->node, pd->attr, pd->value);
    }
    g_hash_table_remove(ipc->pending, &req_id);
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
    g_free(ipc);
}
