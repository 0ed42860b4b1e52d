/* drover: the command-line client of droverd (and the offline policy simulator). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static JsonNode *build_request(const drv_cli_args_t *args)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
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
        if (args->timeout_s != 0) {
            json_builder_set_member_name(b, "timeout_ms");
            json_builder_add_int_value(b, (gint64)args->timeout_s * 1000);
        }
        break;
    }
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static int run_ipc_command(const drv_cli_args_t *args)
{
    const char *name = args->ipc_name ? args->ipc_name : DRV_CLI_DEFAULT_IPC;
    unsigned int timeout_s = args->timeout_s ? args->timeout_s : DRV_CLI_DEFAULT_TIMEOUT_S;
    /* For node-set droverd gets TIMEOUT and answers by then; we wait one second longer so
     * that its verdict, not ours, reaches the user. */
    unsigned int wait_ms = timeout_s * 1000 + (args->cmd == DRV_CLI_NODE_SET ? 1000 : 0);
    g_autoptr(JsonNode) req = build_request(args);
    g_autoptr(JsonNode) reply = NULL;
    g_autofree char *err = NULL;
    JsonObject *obj;
    int rc;

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
        fprintf(stderr, "drover: %s\n", err);
        drv_cli_args_clear(&args);
        return drv_exit_code(rc);
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
