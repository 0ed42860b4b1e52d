/* The CLI side of droverd's IPC: connect (libqb), send one JSON request after a
 * qb_ipc_request_header, wait for the reply with a deadline, check its "rc". */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <qb/qbipcc.h>
#include <qb/qbipc_common.h>
#include <qb/qbutil.h>

#include "drover/results.h"
#include "cli.h"

/* droverd enforces the same size: room for a 256 KiB domain XML, JSON-escaped */
#define CLI_IPC_BUFFER (1024 * 1024)
#define CLI_MSG_ID 1

static int connect_error(int e, const char *name, char **err)
{
    switch (e) {
    case EACCES:
    case EPERM:
        *err = g_strdup_printf("not allowed to connect to droverd ('%s'): %s", name,
                               drv_strerror(DRV_ERR_PERMISSION));
        return DRV_ERR_PERMISSION;
    case ECONNREFUSED:
    case ENOENT:
    case ENOTCONN:
    case ESHUTDOWN:
        *err = g_strdup_printf("%s (IPC name '%s')", drv_strerror(DRV_ERR_NO_DAEMON), name);
        return DRV_ERR_NO_DAEMON;
    default:
        *err = g_strdup_printf("cannot connect to droverd ('%s'): %s", name, g_strerror(e));
        return DRV_ERR_NO_DAEMON;
    }
}

int drv_cli_request(const char *ipc_name, JsonNode *request, unsigned int timeout_ms,
                    JsonNode **reply, char **err)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) gerr = NULL;
    g_autofree char *text = NULL;
    g_autofree char *buf = NULL;
    gsize len = 0;
    struct qb_ipc_request_header hdr;
    struct iovec iov[2];
    qb_ipcc_connection_t *c;
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    const struct qb_ipc_response_header *rhdr;
    ssize_t n;
    JsonObject *obj;
    int rc = 0;

    *reply = NULL;
    *err = NULL;
    errno = 0;
    c = qb_ipcc_connect(ipc_name, CLI_IPC_BUFFER);
    if (c == NULL) {
        return connect_error(errno ? errno : ECONNREFUSED, ipc_name, err);
    }

    json_generator_set_root(gen, request);
    text = json_generator_to_data(gen, &len);
    hdr.id = CLI_MSG_ID;
    hdr.size = (int32_t)(sizeof(hdr) + len + 1);
    iov[0].iov_base = &hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = text;
    iov[1].iov_len = len + 1;

    for (;;) {
        n = qb_ipcc_sendv(c, iov, 2);
        if (n != -EAGAIN || g_get_monotonic_time() >= deadline) {
            break;
        }
        g_usleep(10000); /* a CLI, not a daemon: a short sleep is fine here */
    }
    if (n < 0) {
        rc = n == -EAGAIN ? DRV_ERR_TIMEOUT : DRV_ERR_NO_DAEMON;
        *err = g_strdup_printf("cannot send the request to droverd: %s", g_strerror((int)-n));
        goto out;
    }

    buf = g_malloc(CLI_IPC_BUFFER);
    for (;;) {
        gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
        if (left_ms <= 0) {
            n = -ETIMEDOUT;
            break;
        }
        n = qb_ipcc_recv(c, buf, CLI_IPC_BUFFER, (int32_t)MIN(left_ms, 1000));
        if (n != -EAGAIN && n != -ETIMEDOUT) {
            break;
        }
        if (!qb_ipcc_is_connected(c)) {
            n = -ENOTCONN;
            break;
        }
    }
    if (n == -ETIMEDOUT || n == -EAGAIN) {
        rc = DRV_ERR_TIMEOUT;
        *err = g_strdup_printf("droverd did not answer within %u ms", timeout_ms);
        goto out;
    }
    if (n < 0) {
        rc = DRV_ERR_NO_DAEMON;
        *err = g_strdup_printf("lost the connection to droverd: %s", g_strerror((int)-n));
        goto out;
    }
    if ((size_t)n < sizeof(*rhdr)) {
        rc = DRV_ERR_BAD_MESSAGE;
        *err = g_strdup("droverd sent a truncated reply");
        goto out;
    }
    rhdr = (const struct qb_ipc_response_header *)buf;
    {
        const char *body = buf + sizeof(*rhdr);
        size_t blen = (size_t)n - sizeof(*rhdr);
        while (blen > 0 && body[blen - 1] == '\0') {
            blen--;
        }
        if (!json_parser_load_from_data(parser, body, (gssize)blen, &gerr) ||
            json_parser_get_root(parser) == NULL ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(parser))) {
            rc = DRV_ERR_BAD_MESSAGE;
            *err = g_strdup_printf("droverd sent an invalid reply: %s",
                                   gerr ? gerr->message : "not a JSON object");
            goto out;
        }
    }
    obj = json_node_get_object(json_parser_get_root(parser));
    rc = (int)json_object_get_int_member_with_default(obj, "rc", DRV_ERR_BAD_MESSAGE);
    if (rc != 0) {
        const char *msg = json_object_get_string_member_with_default(obj, "error", NULL);
        *err = g_strdup(msg ? msg : drv_strerror(rc));
    }
    *reply = json_node_copy(json_parser_get_root(parser));

out:
    qb_ipcc_disconnect(c);
    return rc;
}
