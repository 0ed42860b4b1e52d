/* drover: the command-line client of droverd (and the offline policy simulator). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "drover/results.h"
#include "cli.h"
#include "cli_simulate.h"

/* Print a failure: the message on stderr, and with --output-as json the error object on
 * stdout too, so that scripts always get JSON. Returns the exit code. */
static int report_error(const drv_cli_args_t *args, int rc, const char *msg, JsonNode *reply)
{
    fprintf(stderr, "drover: %s\n", msg ? msg : drv_strerror(rc));
    if (args->output == DRV_CLI_OUT_JSON) {
        if (reply != NULL) {
            drv_cli_print_json(reply);
        } else {
            g_autoptr(JsonBuilder) b = json_builder_new();
            JsonNode *n;
            json_builder_begin_object(b);
            json_builder_set_member_name(b, "rc");
            json_builder_add_int_value(b, rc);
            json_builder_set_member_name(b, "error");
            json_builder_add_string_value(b, msg ? msg : drv_strerror(rc));
            json_builder_end_object(b);
            n = json_builder_get_root(b);
            drv_cli_print_json(n);
            json_node_unref(n);
        }
    }
    return drv_exit_code(rc);
}

/* The domain XML of `resource add`: read here, sent as text. Returns 0 or DRV_ERR_BAD_ARGS
 * with *ERR. */
static int read_domain_xml(const char *path, char **xml, char **err)
{
    g_autoptr(GError) gerr = NULL;
    g_autofree char *text = NULL;
    gsize len = 0;

    *xml = NULL;
    if (!g_file_get_contents(path, &text, &len, &gerr)) {
        *err = g_strdup_printf("cannot read the domain XML: %s", gerr->message);
        return DRV_ERR_BAD_ARGS;
    }
    if (len == 0) {
        *err = g_strdup_printf("domain XML %s is empty", path);
        return DRV_ERR_BAD_ARGS;
    }
    if (len > DRV_CLI_MAX_XML) {
        *err = g_strdup_printf("domain XML %s is %zu bytes; at most %d are allowed", path,
                               (size_t)len, DRV_CLI_MAX_XML);
        return DRV_ERR_BAD_ARGS;
    }
    if (memchr(text, '\0', len) != NULL || !g_utf8_validate(text, (gssize)len, NULL)) {
        *err = g_strdup_printf("domain XML %s is not UTF-8 text", path);
        return DRV_ERR_BAD_ARGS;
    }
    *xml = g_steal_pointer(&text);
    return 0;
}

static unsigned int timeout_s(const drv_cli_args_t *args)
{
    if (args->timeout_s != 0) {
        return args->timeout_s;
    }
    return args->cmd == DRV_CLI_NODE_FENCE ? DRV_CLI_FENCE_TIMEOUT_S : DRV_CLI_DEFAULT_TIMEOUT_S;
}

/* Changes always carry the CLI's own timeout, so droverd never applies one after the CLI has
 * given up waiting for it (droverd's request_timeout_ms may be longer). */
static void add_timeout(JsonBuilder *b, const drv_cli_args_t *args)
{
    unsigned int s = timeout_s(args);

    json_builder_set_member_name(b, "timeout_ms");
    json_builder_add_int_value(b, (gint64)s * 1000);
}

static void add_str(JsonBuilder *b, const char *name, const char *value)
{
    json_builder_set_member_name(b, name);
    json_builder_add_string_value(b, value);
}

static void build_resource_add(JsonBuilder *b, const drv_cli_args_t *args, const char *xml)
{
    static const char *const prio[] = {"low", "medium", "high"};

    add_str(b, "op", "resource-add");
    add_str(b, "name", args->res_name);
    add_str(b, "xml", xml);
    if (args->priority >= 0) {
        add_str(b, "priority", prio[args->priority]);
    }
    json_builder_set_member_name(b, "prefer");
    json_builder_begin_array(b);
    for (guint i = 0; args->prefer != NULL && i < args->prefer->len; i++) {
        const drv_cli_pref_t *p = g_ptr_array_index(args->prefer, i);
        json_builder_begin_object(b);
        add_str(b, "node", p->node);
        json_builder_set_member_name(b, "weight");
        json_builder_add_int_value(b, p->weight);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "anti_affinity");
    json_builder_begin_array(b);
    for (guint i = 0; args->anti_affinity != NULL && i < args->anti_affinity->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(args->anti_affinity, i));
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "allow_migrate");
    json_builder_add_boolean_value(b, !args->no_migrate);
    if (args->cpu != 0) {
        json_builder_set_member_name(b, "cpu");
        json_builder_add_int_value(b, args->cpu);
    }
    if (args->memory_mib != 0) {
        json_builder_set_member_name(b, "memory_mib");
        json_builder_add_int_value(b, (gint64)args->memory_mib);
    }
    json_builder_set_member_name(b, "stopped");
    json_builder_add_boolean_value(b, args->stopped);
    add_timeout(b, args);
}

static void add_strv(JsonBuilder *b, const char *name, GPtrArray *v)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_array(b);
    for (guint i = 0; v != NULL && i < v->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(v, i));
    }
    json_builder_end_array(b);
}

/* The fencing requests (docs/cli.md); false when ARGS is not one. */
static bool build_fence_request(JsonBuilder *b, const drv_cli_args_t *args)
{
    switch (args->cmd) {
    case DRV_CLI_FENCE_DEV_ADD:
        add_str(b, "op", "fence-device-add");
        add_str(b, "name", args->dev_name);
        add_str(b, "agent", args->agent);
        json_builder_set_member_name(b, "params");
        json_builder_begin_array(b);
        for (size_t i = 0; args->params != NULL && i < drv_fence_params_count(args->params); i++) {
            json_builder_begin_object(b);
            add_str(b, "key", drv_fence_params_key(args->params, i));
            add_str(b, "value", drv_fence_params_value(args->params, i));
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        add_strv(b, "nodes", args->fence_nodes);
        add_timeout(b, args);
        return true;
    case DRV_CLI_FENCE_DEV_REMOVE:
        add_str(b, "op", "fence-device-remove");
        add_str(b, "name", args->dev_name);
        add_timeout(b, args);
        return true;
    case DRV_CLI_FENCE_DEV_LIST:
        add_str(b, "op", "fence-device-list");
        return true;
    case DRV_CLI_FENCE_DEV_SHOW:
        add_str(b, "op", "fence-device-show");
        add_str(b, "name", args->dev_name);
        return true;
    case DRV_CLI_FENCE_LEVEL_ADD:
    case DRV_CLI_FENCE_LEVEL_REMOVE:
        add_str(b, "op",
                args->cmd == DRV_CLI_FENCE_LEVEL_ADD ? "fence-level-add" : "fence-level-remove");
        add_str(b, "node", args->node);
        json_builder_set_member_name(b, "index");
        json_builder_add_int_value(b, args->level_index);
        if (args->cmd == DRV_CLI_FENCE_LEVEL_ADD) {
            add_strv(b, "devices", args->level_devices);
        }
        add_timeout(b, args);
        return true;
    case DRV_CLI_FENCE_LEVEL_LIST:
    case DRV_CLI_FENCE_HISTORY:
        add_str(b, "op", args->cmd == DRV_CLI_FENCE_HISTORY ? "fence-history" : "fence-level-list");
        if (args->node != NULL) {
            add_str(b, "node", args->node);
        }
        return true;
    case DRV_CLI_NODE_FENCE:
        add_str(b, "op", "node-fence");
        add_str(b, "node", args->node);
        add_str(b, "action", args->reboot ? "reboot" : "off");
        add_timeout(b, args);
        return true;
    case DRV_CLI_NODE_CONFIRM_DOWN:
        add_str(b, "op", "node-confirm-down");
        add_str(b, "node", args->node);
        add_timeout(b, args);
        return true;
    default:
        return false;
    }
}

static JsonNode *build_request(const drv_cli_args_t *args, const char *xml)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    if (build_fence_request(b, args)) {
        goto done;
    }
    switch (args->cmd) {
    case DRV_CLI_RES_ADD:
        build_resource_add(b, args, xml);
        goto done;
    case DRV_CLI_RES_LIST:
        add_str(b, "op", "resource-list");
        goto done;
    case DRV_CLI_PROP_LIST:
        add_str(b, "op", "property-list");
        goto done;
    case DRV_CLI_PROP_SET:
    case DRV_CLI_PROP_UNSET:
        add_str(b, "op", args->cmd == DRV_CLI_PROP_SET ? "property-set" : "property-unset");
        add_str(b, "key", args->prop_key);
        if (args->cmd == DRV_CLI_PROP_SET) {
            add_str(b, "value", args->prop_value);
        }
        add_timeout(b, args);
        goto done;
    case DRV_CLI_RES_SHOW:
        add_str(b, "op", "resource-show");
        add_str(b, "name", args->res_name);
        json_builder_set_member_name(b, "xml");
        json_builder_add_boolean_value(b, args->show_xml);
        goto done;
    case DRV_CLI_RES_REMOVE:
    case DRV_CLI_RES_START:
    case DRV_CLI_RES_STOP:
    case DRV_CLI_RES_MOVE:
    case DRV_CLI_RES_CLEAR:
        add_str(b, "op",
                args->cmd == DRV_CLI_RES_REMOVE  ? "resource-remove"
                : args->cmd == DRV_CLI_RES_START ? "resource-start"
                : args->cmd == DRV_CLI_RES_STOP  ? "resource-stop"
                : args->cmd == DRV_CLI_RES_MOVE  ? "resource-move"
                                                 : "resource-clear");
        add_str(b, "name", args->res_name);
        if (args->cmd == DRV_CLI_RES_MOVE) {
            add_str(b, "node", args->node);
        }
        add_timeout(b, args);
        goto done;
    default:
        break;
    }
    json_builder_set_member_name(b, "op");
    switch (args->cmd) {
    case DRV_CLI_STATUS:
        json_builder_add_string_value(b, "status");
        break;
    case DRV_CLI_NODE_LIST:
        json_builder_add_string_value(b, "node-list");
        break;
    default:
        json_builder_add_string_value(b, "node-set");
        if (args->node != NULL) {
            json_builder_set_member_name(b, "node");
            json_builder_add_string_value(b, args->node);
        }
        json_builder_set_member_name(b, "attr");
        json_builder_add_string_value(b, args->attr);
        json_builder_set_member_name(b, "value");
        json_builder_add_boolean_value(b, args->value);
        add_timeout(b, args);
        break;
    }
done:
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static bool is_change(drv_cli_cmd_t cmd)
{
    switch (cmd) {
    case DRV_CLI_NODE_SET:
    case DRV_CLI_RES_ADD:
    case DRV_CLI_RES_REMOVE:
    case DRV_CLI_RES_START:
    case DRV_CLI_RES_STOP:
    case DRV_CLI_RES_MOVE:
    case DRV_CLI_RES_CLEAR:
    case DRV_CLI_PROP_SET:
    case DRV_CLI_PROP_UNSET:
    case DRV_CLI_FENCE_DEV_ADD:
    case DRV_CLI_FENCE_DEV_REMOVE:
    case DRV_CLI_FENCE_LEVEL_ADD:
    case DRV_CLI_FENCE_LEVEL_REMOVE:
    case DRV_CLI_NODE_FENCE:
    case DRV_CLI_NODE_CONFIRM_DOWN:
        return true;
    default:
        return false;
    }
}

/* Text for the fencing replies; false when ARGS is not a fencing command. */
static bool print_fence_reply(const drv_cli_args_t *args, JsonObject *obj)
{
    switch (args->cmd) {
    case DRV_CLI_FENCE_DEV_ADD:
        printf("fence device %s added (agent %s)\n", args->dev_name, args->agent);
        return true;
    case DRV_CLI_FENCE_DEV_REMOVE:
        printf("fence device %s removed\n", args->dev_name);
        return true;
    case DRV_CLI_FENCE_DEV_LIST:
        drv_cli_print_fence_devices(obj);
        return true;
    case DRV_CLI_FENCE_DEV_SHOW: {
        JsonNode *n = json_object_get_member(obj, "device");
        drv_cli_print_fence_device(n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL);
        return true;
    }
    case DRV_CLI_FENCE_LEVEL_ADD: {
        g_autoptr(GString) devs = g_string_new(NULL);

        for (guint i = 0; i < args->level_devices->len; i++) {
            g_string_append_printf(devs, "%s%s", i ? "," : "",
                                   (const char *)g_ptr_array_index(args->level_devices, i));
        }
        printf("fencing level %u of %s: %s%s\n", args->level_index, args->node, devs->str,
               json_object_get_boolean_member_with_default(obj, "replaced", FALSE) ? " (replaced)"
                                                                                   : "");
        return true;
    }
    case DRV_CLI_FENCE_LEVEL_REMOVE:
        printf("fencing level %u of %s removed\n", args->level_index, args->node);
        return true;
    case DRV_CLI_FENCE_LEVEL_LIST:
        drv_cli_print_fence_levels(obj);
        return true;
    case DRV_CLI_FENCE_HISTORY:
        drv_cli_print_fence_history(obj);
        return true;
    case DRV_CLI_NODE_CONFIRM_DOWN:
        printf("%s confirmed down: its VMs may now be started on other nodes\n", args->node);
        return true;
    default:
        return false;
    }
}

/* ---- node fence: begin, then wait for the result ---- */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static const char *obj_str(JsonObject *o, const char *name, const char *def)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;

    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        return def;
    }
    return json_node_get_string(n);
}

/* " via sb-n3 (level 1)" of a history line, "" when it names no device (static buffer). */
static const char *via(JsonObject *e)
{
    static char buf[512];
    gint64 level = json_object_get_int_member_with_default(e, "level", 0);
    const char *dev = obj_str(e, "device", NULL);

    if (dev == NULL) {
        buf[0] = '\0';
    } else if (level > 0) {
        g_snprintf(buf, sizeof(buf), " via %s (level %" G_GINT64_FORMAT ")", dev, level);
    } else {
        g_snprintf(buf, sizeof(buf), " via %s", dev);
    }
    return buf;
}

/* The final word of node fence: RC and MSG, with --output-as json the last fence-status
 * reply (or the begin reply) with rc/error and the op. Returns the exit code. */
static int fence_finish(const drv_cli_args_t *args, JsonNode *last, int rc, const char *msg,
                        int exit_code)
{
    if (args->output == DRV_CLI_OUT_JSON) {
        g_autoptr(JsonNode) out = json_node_copy(last);
        JsonObject *o = json_node_get_object(out);

        json_object_set_string_member(o, "op", "node-fence");
        json_object_set_int_member(o, "rc", rc);
        if (rc != 0) {
            json_object_set_string_member(o, "error", msg);
        } else if (json_object_has_member(o, "error")) {
            json_object_remove_member(o, "error");
        }
        drv_cli_print_json(out);
    } else if (msg != NULL) {
        if (rc != 0) {
            fprintf(stderr, "drover: %s\n", msg);
        } else {
            printf("%s\n", msg);
        }
    }
    return exit_code;
}

/* BEGUN: droverd's reply to node-fence (the operation applied); DEADLINE: monotonic, from
 * when the command started. */
static int run_node_fence(const drv_cli_args_t *args, const char *ipc_name, JsonNode *begun,
                          gint64 deadline)
{
    JsonObject *bo = json_node_get_object(begun);
    gint64 op = json_object_get_int_member_with_default(bo, "operation", 0);
    const char *node = args->node;
    g_autoptr(JsonNode) last = json_node_copy(begun);
    guint shown = 0;
    struct sigaction sa;

    if (op <= 0) {
        return fence_finish(args, last, DRV_ERR_BAD_MESSAGE,
                            "droverd did not say which fencing operation it began: follow it "
                            "with drover fence history",
                            DRV_EXIT_ERROR);
    }
    if (args->output == DRV_CLI_OUT_TEXT) {
        printf("fencing of %s (%s) begun: operation %" G_GINT64_FORMAT ", run by %s\n", node,
               args->reboot ? "reboot" : "off", op, obj_str(bo, "executor", "this node"));
        fflush(stdout);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint; /* no SA_RESTART: a wait in progress ends early */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    for (;;) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        g_autoptr(JsonNode) req = NULL;
        g_autoptr(JsonNode) reply = NULL;
        g_autofree char *err = NULL;
        gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
        JsonObject *o;
        JsonArray *events;
        const char *state;
        int rc;

        if (interrupted) {
            g_autofree char *msg = g_strdup_printf(
                "stopped waiting: the fencing of %s goes on (drover fence history %s)", node, node);
            return fence_finish(args, last, -EINTR, msg, DRV_CLI_EXIT_INTERRUPTED);
        }
        if (left_ms <= 0) {
            g_autofree char *msg = g_strdup_printf(
                "%s is not fenced after %u s (%" G_GINT64_FORMAT
                " failed round(s)); the executor keeps trying: drover fence history %s",
                node, timeout_s(args),
                json_object_get_int_member_with_default(json_node_get_object(last), "failures", 0),
                node);
            return fence_finish(args, last, DRV_ERR_TIMEOUT, msg, DRV_EXIT_TIMEOUT);
        }
        json_builder_begin_object(b);
        add_str(b, "op", "fence-status");
        add_str(b, "node", node);
        json_builder_set_member_name(b, "operation");
        json_builder_add_int_value(b, op);
        json_builder_end_object(b);
        req = json_builder_get_root(b);
        rc = drv_cli_request(ipc_name, req, (unsigned int)MIN(left_ms, 5000), &reply, &err);
        if (rc != 0 && interrupted) {
            continue;
        }
        if (rc == DRV_ERR_TIMEOUT) {
            continue; /* droverd busy: the deadline decides */
        }
        if (rc != 0) {
            return fence_finish(args, reply ? reply : last, rc, err, drv_exit_code(rc));
        }
        json_node_unref(last);
        last = json_node_ref(reply);
        o = json_node_get_object(reply);
        state = obj_str(o, "state", "unknown");
        events =
            json_object_has_member(o, "events") ? json_object_get_array_member(o, "events") : NULL;
        for (guint i = shown; events != NULL && i < json_array_get_length(events); i++) {
            JsonObject *e = json_array_get_object_element(events, i);

            shown = i + 1;
            if (args->output == DRV_CLI_OUT_TEXT &&
                g_strcmp0(obj_str(e, "result", ""), "failed") == 0) {
                printf("%s: a fencing round failed%s: %s (the executor retries)\n", node, via(e),
                       obj_str(e, "text", "no reason given"));
                fflush(stdout);
            }
            if (strcmp(state, "fenced") == 0 && g_strcmp0(obj_str(e, "result", ""), "ok") == 0) {
                g_autofree char *msg = g_strdup_printf("%s fenced%s", node, via(e));
                return fence_finish(args, last, 0, msg, DRV_EXIT_OK);
            }
        }
        if (strcmp(state, "fenced") == 0) {
            g_autofree char *msg = g_strdup_printf("%s fenced", node);
            return fence_finish(args, last, 0, msg, DRV_EXIT_OK);
        }
        if (strcmp(state, "running") != 0) {
            JsonObject *e =
                events && json_array_get_length(events) > 0
                    ? json_array_get_object_element(events, json_array_get_length(events) - 1)
                    : NULL;
            g_autofree char *msg =
                strcmp(state, "unknown") == 0
                    ? g_strdup_printf("fencing operation %" G_GINT64_FORMAT
                                      " of %s ended; its result is no longer in the history",
                                      op, node)
                    : g_strdup_printf("the fencing of %s was %s: %s", node, state,
                                      obj_str(e, "text", "no reason given"));
            return fence_finish(args, last, DRV_ERR_STALE, msg, DRV_EXIT_ERROR);
        }
        g_usleep(DRV_CLI_FENCE_POLL_MS * 1000);
    }
}

/* Text for a successful resource change. */
static void print_resource_change(const drv_cli_args_t *args, JsonObject *reply)
{
    const char *name = args->res_name;

    switch (args->cmd) {
    case DRV_CLI_RES_ADD: {
        const char *uuid = json_object_get_string_member_with_default(reply, "uuid", "?");
        const char *dom = json_object_get_string_member_with_default(reply, "domain", "?");
        printf("%s added (domain %s, uuid %s, target role %s)\n", name, dom, uuid,
               args->stopped ? "stopped" : "started");
        break;
    }
    case DRV_CLI_RES_REMOVE:
        printf("%s: being removed (stopped everywhere, then forgotten)\n", name);
        break;
    case DRV_CLI_RES_START:
        printf("%s: target role started\n", name);
        break;
    case DRV_CLI_RES_STOP:
        printf("%s: target role stopped\n", name);
        break;
    case DRV_CLI_RES_MOVE:
        printf("%s: moving to %s (until `drover resource clear %s`)\n", name, args->node, name);
        break;
    default:
        printf("%s: move constraint cleared\n", name);
        break;
    }
}

static int run_ipc_command(const drv_cli_args_t *args)
{
    const char *name = args->ipc_name ? args->ipc_name : DRV_CLI_DEFAULT_IPC;
    /* For node-set droverd gets TIMEOUT and answers by then; we wait one second longer so
     * that its verdict, not ours, reaches the user. */
    unsigned int wait_ms = timeout_s(args) * 1000 + (is_change(args->cmd) ? 1000 : 0);
    gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s(args) * G_USEC_PER_SEC;
    g_autoptr(JsonNode) req = NULL;
    g_autoptr(JsonNode) reply = NULL;
    g_autofree char *err = NULL;
    g_autofree char *xml = NULL;
    JsonObject *obj;
    int rc;

    if (args->cmd == DRV_CLI_RES_ADD) {
        rc = read_domain_xml(args->xml_path, &xml, &err);
        if (rc != 0) {
            return report_error(args, rc, err, NULL);
        }
    }
    req = build_request(args, xml);
    rc = drv_cli_request(name, req, wait_ms, &reply, &err);
    if (rc != 0) {
        return report_error(args, rc, err, reply);
    }
    if (args->cmd == DRV_CLI_NODE_FENCE) {
        return run_node_fence(args, name, reply, deadline);
    }
    if (args->output == DRV_CLI_OUT_JSON) {
        drv_cli_print_json(reply);
        return DRV_EXIT_OK;
    }
    obj = json_node_get_object(reply);
    if (print_fence_reply(args, obj)) {
        return DRV_EXIT_OK;
    }
    switch (args->cmd) {
    case DRV_CLI_STATUS:
        drv_cli_print_status(obj);
        break;
    case DRV_CLI_NODE_LIST:
        drv_cli_print_nodes(obj);
        break;
    case DRV_CLI_RES_LIST: {
        JsonNode *n = json_object_get_member(obj, "resources");
        JsonArray *arr = n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
        if (arr == NULL || json_array_get_length(arr) == 0) {
            printf("No resources\n");
        } else {
            drv_cli_print_resource_lines(arr);
        }
        break;
    }
    case DRV_CLI_RES_SHOW: {
        JsonNode *n = json_object_get_member(obj, "resource");
        drv_cli_print_resource(n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL);
        break;
    }
    case DRV_CLI_RES_ADD:
    case DRV_CLI_RES_REMOVE:
    case DRV_CLI_RES_START:
    case DRV_CLI_RES_STOP:
    case DRV_CLI_RES_MOVE:
    case DRV_CLI_RES_CLEAR:
        print_resource_change(args, obj);
        break;
    case DRV_CLI_PROP_LIST:
        drv_cli_print_properties(obj);
        break;
    case DRV_CLI_PROP_SET:
        printf("%s = %s\n", args->prop_key,
               json_object_get_string_member_with_default(obj, "value", args->prop_value));
        break;
    case DRV_CLI_PROP_UNSET:
        printf("%s unset (default %s)\n", args->prop_key,
               json_object_get_string_member_with_default(obj, "value", "?"));
        break;
    default: {
        const char *node = json_object_get_string_member_with_default(obj, "node", NULL);
        if (node == NULL) {
            node = args->node ? args->node : "local node";
        }
        printf("%s %s: %s\n", node, args->attr, args->value ? "on" : "off");
        break;
    }
    }
    return DRV_EXIT_OK;
}

int main(int argc, char **argv)
{
    drv_cli_args_t args;
    g_autofree char *err = NULL;
    int rc;

    rc = drv_cli_parse(argc, argv, &args, &err);
    if (rc != 0) {
        /* JSON on failure too, when asked for anywhere on the line (the parse may have
         * stopped before that option) */
        drv_cli_args_t asked = {.output = DRV_CLI_OUT_TEXT};

        for (int i = 1; i < argc; i++) {
            if (g_strcmp0(argv[i], "--output-as=json") == 0 ||
                (g_strcmp0(argv[i], "--output-as") == 0 && i + 1 < argc &&
                 g_strcmp0(argv[i + 1], "json") == 0)) {
                asked.output = DRV_CLI_OUT_JSON;
            }
        }
        rc = report_error(&asked, rc, err, NULL);
        drv_cli_args_clear(&args);
        return rc;
    }
    switch (args.cmd) {
    case DRV_CLI_HELP:
        fputs(drv_cli_usage(), stdout);
        rc = DRV_EXIT_OK;
        break;
    case DRV_CLI_VERSION:
        printf("drover %s\n", PACKAGE_VERSION);
        rc = DRV_EXIT_OK;
        break;
    case DRV_CLI_SIMULATE:
        rc = drv_cli_simulate(args.sub_argc, args.sub_argv);
        break;
    default:
        rc = run_ipc_command(&args);
        break;
    }
    drv_cli_args_clear(&args);
    return rc;
}
