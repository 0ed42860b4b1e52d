/* Text and JSON output of the drover CLI. Tools output, daemons log: everything here goes to
 * stdout; errors are printed by the caller on stderr. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *str_member(JsonObject *o, const char *name, const char *def)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;

    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
        return def;
    }
    return json_node_get_string(n);
}

static gint64 int_member(JsonObject *o, const char *name)
{
    return o ? json_object_get_int_member_with_default(o, name, 0) : 0;
}

static gboolean bool_member(JsonObject *o, const char *name)
{
    return o ? json_object_get_boolean_member_with_default(o, name, FALSE) : FALSE;
}

static JsonObject *obj_member(JsonObject *o, const char *name)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;

    return (n != NULL && JSON_NODE_HOLDS_OBJECT(n)) ? json_node_get_object(n) : NULL;
}

static JsonArray *array_member(JsonObject *o, const char *name)
{
    JsonNode *n = o ? json_object_get_member(o, name) : NULL;

    return (n != NULL && JSON_NODE_HOLDS_ARRAY(n)) ? json_node_get_array(n) : NULL;
}

static void print_node_lines(JsonArray *nodes)
{
    size_t width = 4;

    for (guint i = 0; nodes != NULL && i < json_array_get_length(nodes); i++) {
        JsonObject *n = json_array_get_object_element(nodes, i);
        width = MAX(width, strlen(str_member(n, "name", "?")));
    }
    for (guint i = 0; nodes != NULL && i < json_array_get_length(nodes); i++) {
        JsonObject *n = json_array_get_object_element(nodes, i);
        printf("  %c %-*s  id %-5" G_GINT64_FORMAT "  %-8s  %s\n",
               bool_member(n, "local") ? '*' : ' ', (int)width, str_member(n, "name", "?"),
               int_member(n, "id"), bool_member(n, "online") ? "online" : "OFFLINE",
               str_member(n, "admin", "online"));
    }
}

void drv_cli_print_status(JsonObject *s)
{
    JsonObject *local = obj_member(s, "local_node");
    JsonObject *coord = obj_member(s, "coordinator");
    JsonArray *members = array_member(s, "members");

    printf("Cluster name: %s\n", str_member(s, "cluster_name", "(unknown)"));
    if (local != NULL) {
        printf("Local node:   %s (id %" G_GINT64_FORMAT ")\n", str_member(local, "name", "?"),
               int_member(local, "id"));
    } else {
        printf("Local node:   (unknown)\n");
    }
    printf("Corosync:     %s\n",
           bool_member(s, "corosync_connected") ? "connected" : "NOT CONNECTED");
    printf("Phase:        %s\n", str_member(s, "phase", "?"));
    printf("Quorum:       %s (votequorum: %s, %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
           " expected votes, quorum %" G_GINT64_FORMAT ")\n",
           bool_member(s, "quorate") ? "yes" : "NO", bool_member(s, "local_quorate") ? "yes" : "no",
           int_member(s, "total_votes"), int_member(s, "expected_votes"), int_member(s, "quorum"));
    if (coord != NULL) {
        printf("Coordinator:  %s (id %" G_GINT64_FORMAT ")\n", str_member(coord, "name", "?"),
               int_member(coord, "id"));
    } else {
        printf("Coordinator:  none\n");
    }
    printf("Epoch:        %" G_GINT64_FORMAT " (seq %" G_GINT64_FORMAT ")\n",
           int_member(s, "epoch"), int_member(s, "seq"));
    printf("Members:      %u\n", members ? json_array_get_length(members) : 0);
    printf("\nNodes (* = this node):\n");
    print_node_lines(array_member(s, "nodes"));
}

void drv_cli_print_nodes(JsonObject *reply)
{
    print_node_lines(array_member(reply, "nodes"));
}

void drv_cli_print_json(JsonNode *node)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autofree char *text = NULL;

    json_generator_set_pretty(gen, TRUE);
    json_generator_set_root(gen, node);
    text = json_generator_to_data(gen, NULL);
    printf("%s\n", text);
}
