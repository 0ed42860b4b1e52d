/* drover: the command-line client of droverd (and the offline policy simulator). */
#include "config.h"

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

/* Changes always carry the CLI's own timeout, so droverd never applies one after the CLI has
 * given up waiting for it (droverd's request_timeout_ms may be longer). */
static void add_timeout(JsonBuilder *b, const drv_cli_args_t *args)
{
    unsigned int s = args->timeout_s ? args->timeout_s : DRV_CLI_DEFAULT_TIMEOUT_S;

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

static JsonNode *build_request(const drv_cli_args_t *args, const char *xml)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
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
        return true;
    default:
        return false;
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
    unsigned int timeout_s = args->timeout_s ? args->timeout_s : DRV_CLI_DEFAULT_TIMEOUT_S;
    /* For node-set droverd gets TIMEOUT and answers by then; we wait one second longer so
     * that its verdict, not ours, reaches the user. */
    unsigned int wait_ms = timeout_s * 1000 + (is_change(args->cmd) ? 1000 : 0);
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
    if (args->output == DRV_CLI_OUT_JSON) {
        drv_cli_print_json(reply);
        return DRV_EXIT_OK;
    }
    obj = json_node_get_object(reply);
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
            if (g_strcmp0(argv[i], "--output-as=json") == 0
                || (g_strcmp0(argv[i], "--output-as") == 0 && i + 1 < argc
                    && g_strcmp0(argv[i + 1], "json") == 0)) {
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
