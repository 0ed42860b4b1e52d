/* droverd's IPC, in two layers (not installed):
 *
 * - ipc_server.c, the transport: the libqb IPC service in the GLib loop, the access check,
 *   client accounting, the framing (qb headers + NUL-terminated JSON), the request limits
 *   (size, nesting depth, requests pending per client) and reply sending. It knows no op: it
 *   dispatches through the table it is given.
 * - ipc_handlers.c, the ops: one function per request "op" (documented in docs/cli.md). They
 *   answer through the transport's reply functions, now or later (a change replies when the
 *   cluster core reports its verdict, through the agent's request_done listeners).
 *   ipc_fence.c holds the fencing ops; it shares ipc_handlers.c's helpers below (argument
 *   checks, submitting a change and answering it once applied).
 *
 * Every request is answered exactly once: by drv_ipc_reply*() (which drops the reply when
 * the client went away). A handler that answers later holds the client with
 * drv_ipc_client_ref() until then.
 */
#ifndef DRV_IPC_H
#define DRV_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-glib/json-glib.h>

#include "agent.h"

/* Requests and replies travel in libqb buffers of this size (droverd enforces it; the CLI
 * asks for the same): room for a 256 KiB domain XML after JSON escaping. */
#define DRV_IPC_BUFFER (1024 * 1024)
/* Largest request and reply body (JSON text), leaving room for libqb's headers. */
#define DRV_IPC_MAX_BODY (DRV_IPC_BUFFER - 1024)
/* Deepest nesting of arrays and objects a request may have (json-glib parses recursively). */
#define DRV_IPC_MAX_DEPTH 32
/* Requests one client may have waiting for their answer. */
#define DRV_IPC_MAX_PENDING 16

typedef struct drv_ipc_client drv_ipc_client_t;

/* One request, valid during the handler's call. */
typedef struct drv_ipc_req {
    drv_agent_t *agent;
    void *ud; /* the handlers' context given to drv_ipc_new */
    drv_ipc_client_t *client;
    int32_t msg_id;
    const char *op;
    JsonObject *args; /* the request object */
} drv_ipc_req_t;

typedef struct drv_ipc_op {
    const char *name;
    void (*fn)(drv_ipc_req_t *r);
} drv_ipc_op_t;

/* --- ipc_server.c ---------------------------------------------------------------------- */

drv_ipc_t *drv_ipc_new(drv_agent_t *a, const drv_ipc_op_t *ops, size_t n_ops, void *ud);
int drv_ipc_start(drv_ipc_t *ipc);
/* Stop serving: no request is dispatched after this (answer your deferred ones first). */
void drv_ipc_stop(drv_ipc_t *ipc);
void drv_ipc_free(drv_ipc_t *ipc);
/* May UID/GID talk to droverd? Root, or a member (primary or supplementary) of GROUP; when
 * GROUP does not exist, root only. Returns 0 or -EACCES. */
int drv_ipc_check_access(uid_t uid, gid_t gid, const char *group);

/* Send BODY (a JSON object; ownership taken) as the answer to MSG_ID. A body over
 * DRV_IPC_MAX_BODY is replaced by an error reply saying so (never dropped silently). */
void drv_ipc_reply(drv_ipc_client_t *cl, int32_t msg_id, JsonNode *body);
/* {"rc": RC, "error": "<drv_strerror(RC)>: DETAIL"} (no "error" when RC is 0). */
JsonNode *drv_ipc_rc_body(int rc, const char *detail);
void drv_ipc_reply_rc(drv_ipc_client_t *cl, int32_t msg_id, int rc, const char *detail);
/* Add "rc": 0 to the object BODY and send it. */
void drv_ipc_reply_ok(drv_ipc_client_t *cl, int32_t msg_id, JsonNode *body);
void drv_ipc_client_ref(drv_ipc_client_t *cl);
void drv_ipc_client_unref(drv_ipc_client_t *cl);
bool drv_ipc_client_gone(const drv_ipc_client_t *cl);
pid_t drv_ipc_client_pid(const drv_ipc_client_t *cl);
uid_t drv_ipc_client_uid(const drv_ipc_client_t *cl); /* (uid_t)-1 when not known */

/* The reply text of BODY, or, when it is longer than LIMIT bytes, of an error reply
 * ("reply too large: N bytes, limit LIMIT"). *LEN: its length without the NUL. Pure. */
char *drv_ipc_encode_reply(JsonNode *body, size_t limit, size_t *len);

/* The request checks done before any JSON parser sees the text: at most MAX_LEN bytes and
 * arrays/objects nested at most MAX_DEPTH deep. Brackets inside strings (escapes included)
 * do not count. Pure. */
typedef enum drv_json_scan {
    DRV_JSON_SCAN_OK = 0,
    DRV_JSON_SCAN_TOO_LARGE,
    DRV_JSON_SCAN_TOO_DEEP,
    DRV_JSON_SCAN_TRUNCATED,  /* a string or an array/object is not closed */
    DRV_JSON_SCAN_UNBALANCED, /* a closing bracket without its opening one, or a mismatch */
} drv_json_scan_t;
drv_json_scan_t drv_json_scan(const char *text, size_t len, size_t max_len, unsigned max_depth,
                              unsigned *depth);
const char *drv_json_scan_str(drv_json_scan_t s);

/* --- ipc_handlers.c -------------------------------------------------------------------- */

/* The ops table, and their context (registers its request_done listener with A). */
drv_ipc_handlers_t *drv_ipc_handlers_new(drv_agent_t *a);
const drv_ipc_op_t *drv_ipc_handlers_ops(size_t *n);
/* Answer every request still waiting (droverd is stopping). */
void drv_ipc_handlers_stop(drv_ipc_handlers_t *h);
void drv_ipc_handlers_free(drv_ipc_handlers_t *h);

/* What the op files share. */

typedef struct drv_ipc_pending drv_ipc_pending_t;

/* A change waiting for its verdict: who to answer and what to say. */
struct drv_ipc_pending {
    drv_ipc_client_t *client; /* referenced until answered */
    drv_agent_t *agent;
    int32_t msg_id;
    char *what;        /* for the log (never a secret: fence parameters only redacted) */
    const char *op;    /* the request's op (static string) */
    char *name;        /* resource-*: the resource, for the apply's verdicts; the fence ops:
                          the device or node */
    JsonObject *extra; /* members the reply carries besides rc and error */
    uint64_t seq;      /* the state's seq when the command was submitted */
    /* Optional: called with the verdict just before the reply is built. It may add members to
     * EXTRA (with the state as applied) and returns the detail of a failure (NULL: none). */
    const char *(*done)(drv_ipc_pending_t *pd, int rc);
    char *arg; /* the hook's own text (g_free'd with PD) */
};

/* A pending answer to R (the client is referenced until it is answered). */
drv_ipc_pending_t *drv_ipc_pending_new(drv_ipc_req_t *r, const char *op);
/* Submit CMD; PD (ownership taken) is answered when the core reports the verdict, or now
 * (refused, or not connected). H is the request's ud. */
void drv_ipc_submit(drv_ipc_handlers_t *h, const drv_cmd_t *cmd, guint64 timeout,
                    drv_ipc_pending_t *pd);
/* The replicated state as this node has it (the state loaded at start while the cluster core
 * does not exist yet; NULL when there is none). */
const drv_state_t *drv_ipc_state(drv_agent_t *a);
/* Member NAME of the request: true and *OUT (the default, or NULL, when absent and not
 * REQUIRED), or false after replying DRV_ERR_BAD_ARGS. */
bool drv_ipc_arg_str(drv_ipc_req_t *r, const char *name, bool required, const char **out);
bool drv_ipc_arg_bool(drv_ipc_req_t *r, const char *name, bool def, bool *out);
/* An integer in MIN..MAX; *OUT 0 when absent. */
bool drv_ipc_arg_uint(drv_ipc_req_t *r, const char *name, gint64 min, gint64 max, guint64 *out);
/* "timeout_ms", or droverd's request_timeout_ms when absent. */
bool drv_ipc_arg_timeout(drv_ipc_req_t *r, guint64 *timeout);

/* --- ipc_fence.c: the fencing ops (docs/cli.md) ---------------------------------------- */

void drv_ipc_op_fence_device_add(drv_ipc_req_t *r);
void drv_ipc_op_fence_device_remove(drv_ipc_req_t *r);
void drv_ipc_op_fence_device_list(drv_ipc_req_t *r);
void drv_ipc_op_fence_device_show(drv_ipc_req_t *r);
void drv_ipc_op_fence_level_add(drv_ipc_req_t *r);
void drv_ipc_op_fence_level_remove(drv_ipc_req_t *r);
void drv_ipc_op_fence_level_list(drv_ipc_req_t *r);
void drv_ipc_op_fence_history(drv_ipc_req_t *r);
void drv_ipc_op_fence_status(drv_ipc_req_t *r);
void drv_ipc_op_node_fence(drv_ipc_req_t *r);
void drv_ipc_op_node_confirm_down(drv_ipc_req_t *r);

/* A fence device as the fence ops show it: name, agent, nodes, parameters with every secret
 * value replaced by DRV_FENCE_REDACTED, and the levels of ST that use it (ST may be NULL). */
JsonNode *drv_ipc_fence_device_json(const drv_state_t *st, const drv_fence_dev_t *d);

#endif
