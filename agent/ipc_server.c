/* The IPC transport the drover CLI talks to: libqb IPC (via libcrmcommon's
 * mainloop_add_ipc_server, so it runs in the GLib loop), a JSON object after libqb's request
 * and response headers. Only root and members of the haclient group may connect.
 *
 * Before a request reaches json-glib it is checked here: its size (DRV_IPC_MAX_BODY) and its
 * nesting depth (DRV_IPC_MAX_DEPTH; json-glib recurses once per level, so a few hundred KiB
 * of "[[[[..." would overflow the stack), and its client may have at most
 * DRV_IPC_MAX_PENDING requests waiting for an answer. A refused request gets an error reply.
 * Replies too large for the client's buffer become an error reply that says so. */
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
#include "ipc.h"

#define ACCESS_GROUP "haclient"

struct drv_ipc_client {
    drv_ipc_t *ipc;
    qb_ipcs_connection_t *conn;
    bool closed;
    pid_t pid;
    uid_t uid;              /* from the accept check; (uid_t)-1 when not known */
    unsigned int in_flight; /* requests received and not answered yet */
};

struct drv_ipc {
    drv_agent_t *agent;
    qb_ipcs_service_t *srv;
    const drv_ipc_op_t *ops;
    size_t n_ops;
    void *ud;
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

/* --- request checks ------------------------------------------------------------------- */

drv_json_scan_t drv_json_scan(const char *text, size_t len, size_t max_len, unsigned max_depth,
                              unsigned *depth)
{
    /* the open brackets, to catch "[}" too; deeper than max_depth is refused before */
    char stack[256];
    unsigned d = 0;
    bool in_str = false;

    if (depth != NULL) {
        *depth = 0;
    }
    if (len > max_len) {
        return DRV_JSON_SCAN_TOO_LARGE;
    }
    if (max_depth > sizeof(stack)) {
        max_depth = sizeof(stack);
    }
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];

        if (in_str) {
            if (ch == '\\') {
                i++; /* the escaped character, whatever it is */
            } else if (ch == '"') {
                in_str = false;
            }
            continue;
        }
        switch (ch) {
        case '"':
            in_str = true;
            break;
        case '[':
        case '{':
            if (d >= max_depth) {
                if (depth != NULL) {
                    *depth = d + 1;
                }
                return DRV_JSON_SCAN_TOO_DEEP;
            }
            stack[d++] = ch;
            if (depth != NULL && d > *depth) {
                *depth = d;
            }
            break;
        case ']':
        case '}':
            if (d == 0 || stack[d - 1] != (ch == ']' ? '[' : '{')) {
                return DRV_JSON_SCAN_UNBALANCED;
            }
            d--;
            break;
        default:
            break;
        }
    }
    return (in_str || d > 0) ? DRV_JSON_SCAN_TRUNCATED : DRV_JSON_SCAN_OK;
}

const char *drv_json_scan_str(drv_json_scan_t s)
{
    switch (s) {
    case DRV_JSON_SCAN_OK:
        return "ok";
    case DRV_JSON_SCAN_TOO_LARGE:
        return "request too large";
    case DRV_JSON_SCAN_TOO_DEEP:
        return "request nested too deeply";
    case DRV_JSON_SCAN_TRUNCATED:
        return "request is truncated (an unclosed string, array or object)";
    case DRV_JSON_SCAN_UNBALANCED:
        return "request has unbalanced brackets";
    }
    return "?";
}

/* --- replies -------------------------------------------------------------------------- */

JsonNode *drv_ipc_rc_body(int rc, const char *detail)
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

static char *to_text(JsonNode *body, size_t *len)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    gsize n = 0;
    char *text;

    json_generator_set_root(gen, body);
    text = json_generator_to_data(gen, &n);
    *len = n;
    return text;
}

/* The error reply that replaces an answer of LEN bytes. */
static char *too_large_text(size_t len, size_t limit, size_t *out_len)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *msg = g_strdup_printf("reply too large: %zu bytes, limit %zu", len, limit);
    g_autoptr(JsonNode) n = NULL;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "rc");
    json_builder_add_int_value(b, -EMSGSIZE);
    json_builder_set_member_name(b, "error");
    json_builder_add_string_value(b, msg);
    json_builder_end_object(b);
    n = json_builder_get_root(b);
    return to_text(n, out_len);
}

char *drv_ipc_encode_reply(JsonNode *body, size_t limit, size_t *len)
{
    char *text = to_text(body, len);

    if (*len > limit) {
        size_t big = *len;

        g_free(text);
        text = too_large_text(big, limit, len);
    }
    return text;
}

static ssize_t send_text(qb_ipcs_connection_t *conn, int32_t msg_id, char *text, size_t len)
{
    struct qb_ipc_response_header hdr;
    struct iovec iov[2];

    hdr.id = msg_id;
    hdr.size = (int32_t)(sizeof(hdr) + len + 1);
    hdr.error = 0;
    iov[0].iov_base = &hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = text;
    iov[1].iov_len = len + 1;
    return qb_ipcs_response_sendv(conn, iov, 2);
}

void drv_ipc_reply(drv_ipc_client_t *cl, int32_t msg_id, JsonNode *body)
{
    g_autofree char *text = NULL;
    size_t len = 0;
    ssize_t rc;

    if (cl->in_flight > 0) {
        cl->in_flight--;
    }
    if (cl->closed) {
        qb_log(LOG_DEBUG, "IPC: client pid %d went away; reply dropped", (int)cl->pid);
        json_node_unref(body);
        return;
    }
    text = drv_ipc_encode_reply(body, DRV_IPC_MAX_BODY, &len);
    json_node_unref(body);
    rc = send_text(cl->conn, msg_id, text, len);
    if (rc == -EMSGSIZE || rc == -ENOBUFS || rc == -EINVAL) {
        /* libqb's own bound is a little below the buffer size: say so rather than drop */
        size_t big = len;

        qb_log(LOG_WARNING, "IPC: reply of %zu bytes to pid %d refused by libqb: %s", big,
               (int)cl->pid, strerror((int)-rc));
        g_free(text);
        text = too_large_text(big, DRV_IPC_MAX_BODY, &len);
        rc = send_text(cl->conn, msg_id, text, len);
    }
    if (rc < 0) {
        qb_log(LOG_WARNING, "IPC: could not send a reply to pid %d: %s", (int)cl->pid,
               strerror((int)-rc));
    }
}

void drv_ipc_reply_rc(drv_ipc_client_t *cl, int32_t msg_id, int rc, const char *detail)
{
    drv_ipc_reply(cl, msg_id, drv_ipc_rc_body(rc, detail));
}

void drv_ipc_reply_ok(drv_ipc_client_t *cl, int32_t msg_id, JsonNode *body)
{
    json_object_set_int_member(json_node_get_object(body), "rc", 0);
    drv_ipc_reply(cl, msg_id, body);
}

void drv_ipc_client_ref(drv_ipc_client_t *cl)
{
    qb_ipcs_connection_ref(cl->conn);
}

void drv_ipc_client_unref(drv_ipc_client_t *cl)
{
    /* may free CL (ipc_destroyed) */
    qb_ipcs_connection_unref(cl->conn);
}

bool drv_ipc_client_gone(const drv_ipc_client_t *cl)
{
    return cl->closed;
}

pid_t drv_ipc_client_pid(const drv_ipc_client_t *cl)
{
    return cl->pid;
}

uid_t drv_ipc_client_uid(const drv_ipc_client_t *cl)
{
    return cl->uid;
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
    drv_ipc_client_t *cl;
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
    /* the client is made here, where its uid is known (libqb has no getter for it); it is
     * completed in ipc_created and freed in ipc_destroyed */
    cl = g_new0(drv_ipc_client_t, 1);
    cl->uid = uid;
    qb_ipcs_context_set(c, cl);
    return 0;
}

static void ipc_created(qb_ipcs_connection_t *c)
{
    drv_ipc_client_t *cl = qb_ipcs_context_get(c);
    struct qb_ipcs_connection_stats st;

    if (cl == NULL) {
        cl = g_new0(drv_ipc_client_t, 1);
        cl->uid = (uid_t)-1;
    }
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
    drv_ipc_client_t *cl = qb_ipcs_context_get(c);

    if (cl != NULL) {
        cl->closed = true;
    }
    return 0;
}

static void ipc_destroyed(qb_ipcs_connection_t *c)
{
    drv_ipc_client_t *cl = qb_ipcs_context_get(c);

    qb_ipcs_context_set(c, NULL);
    g_free(cl);
}

/* Parse and dispatch one request of CL (already counted in its in_flight). */
static void handle(drv_ipc_client_t *cl, int32_t msg_id, const char *body, size_t body_len)
{
    drv_ipc_t *ipc = cl->ipc;
    g_autoptr(JsonParser) parser = NULL;
    g_autoptr(GError) gerr = NULL;
    drv_json_scan_t scan;
    unsigned depth = 0;
    JsonNode *root;
    drv_ipc_req_t req;

    scan = drv_json_scan(body, body_len, DRV_IPC_MAX_BODY, DRV_IPC_MAX_DEPTH, &depth);
    if (scan == DRV_JSON_SCAN_TOO_LARGE || scan == DRV_JSON_SCAN_TOO_DEEP) {
        g_autofree char *msg =
            scan == DRV_JSON_SCAN_TOO_LARGE
                ? g_strdup_printf("request too large: %zu bytes, limit %d", body_len,
                                  DRV_IPC_MAX_BODY)
                : g_strdup_printf("request nested too deeply: more than %d levels of arrays "
                                  "and objects",
                                  DRV_IPC_MAX_DEPTH);

        qb_log(LOG_WARNING, "IPC: refused a request from pid %d: %s", (int)cl->pid, msg);
        drv_ipc_reply_rc(cl, msg_id, DRV_ERR_BAD_ARGS, msg);
        return;
    }
    if (scan != DRV_JSON_SCAN_OK) {
        qb_log(LOG_INFO, "IPC: malformed request from pid %d: %s", (int)cl->pid,
               drv_json_scan_str(scan));
        drv_ipc_reply_rc(cl, msg_id, DRV_ERR_BAD_ARGS, "request is not valid JSON");
        return;
    }
    parser = json_parser_new();
    if (!json_parser_load_from_data(parser, body, (gssize)body_len, &gerr)) {
        qb_log(LOG_INFO, "IPC: malformed request from pid %d: %s", (int)cl->pid, gerr->message);
        drv_ipc_reply_rc(cl, msg_id, DRV_ERR_BAD_ARGS, "request is not valid JSON");
        return;
    }
    root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        drv_ipc_reply_rc(cl, msg_id, DRV_ERR_BAD_ARGS, "request must be a JSON object");
        return;
    }
    memset(&req, 0, sizeof(req));
    req.agent = ipc->agent;
    req.ud = ipc->ud;
    req.client = cl;
    req.msg_id = msg_id;
    req.args = json_node_get_object(root);
    if (json_object_has_member(req.args, "op")) {
        JsonNode *on = json_object_get_member(req.args, "op");
        if (JSON_NODE_HOLDS_VALUE(on) && json_node_get_value_type(on) == G_TYPE_STRING) {
            req.op = json_node_get_string(on);
        }
    }
    for (size_t i = 0; req.op != NULL && i < ipc->n_ops; i++) {
        if (strcmp(ipc->ops[i].name, req.op) == 0) {
            qb_log(LOG_DEBUG, "IPC: %s from pid %d", req.op, (int)cl->pid);
            ipc->ops[i].fn(&req);
            return;
        }
    }
    drv_ipc_reply_rc(cl, msg_id, DRV_ERR_BAD_ARGS, req.op ? "unknown op" : "missing \"op\"");
}

static int32_t ipc_msg(qb_ipcs_connection_t *c, void *data, size_t size)
{
    drv_ipc_client_t *cl = qb_ipcs_context_get(c);
    const struct qb_ipc_request_header *hdr = data;
    const char *body;
    size_t body_len;

    if (cl == NULL || size < sizeof(*hdr)) {
        return 0;
    }
    body = (const char *)data + sizeof(*hdr);
    body_len = size - sizeof(*hdr);
    while (body_len > 0 && body[body_len - 1] == '\0') {
        body_len--;
    }
    if (cl->in_flight >= DRV_IPC_MAX_PENDING) {
        g_autofree char *msg = g_strdup_printf(
            "too many requests pending on this connection (%u, limit %d): wait for answers",
            cl->in_flight, DRV_IPC_MAX_PENDING);

        qb_log(LOG_WARNING, "IPC: refused a request from pid %d: %s", (int)cl->pid, msg);
        cl->in_flight++;
        drv_ipc_reply_rc(cl, hdr->id, DRV_ERR_BUSY, msg);
        return 0;
    }
    cl->in_flight++;
    handle(cl, hdr->id, body, body_len);
    return 0;
}

static struct qb_ipcs_service_handlers handlers = {
    .connection_accept = ipc_accept,
    .connection_created = ipc_created,
    .msg_process = ipc_msg,
    .connection_closed = ipc_closed,
    .connection_destroyed = ipc_destroyed,
};

drv_ipc_t *drv_ipc_new(drv_agent_t *a, const drv_ipc_op_t *ops, size_t n_ops, void *ud)
{
    drv_ipc_t *ipc = g_new0(drv_ipc_t, 1);

    ipc->agent = a;
    ipc->ops = ops;
    ipc->n_ops = n_ops;
    ipc->ud = ud;
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
    /* Before any client connects: the buffer size of every connection (libcrmcommon's
     * default of 128 KiB is too small). */
    qb_ipcs_enforce_buffer_size(ipc->srv, DRV_IPC_BUFFER);
    qb_log(LOG_INFO, "IPC server '%s' listening", ipc->agent->cfg.ipc_name);
    return 0;
}

void drv_ipc_stop(drv_ipc_t *ipc)
{
    if (ipc == NULL || ipc->srv == NULL) {
        return;
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
    g_free(ipc);
}
