/* Text and JSON output of the drover CLI. Tools output, daemons log: everything here goes to
 * stdout; errors are printed by the caller on stderr. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "drover/walltime.h"
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

/* One line per node; the fencing state (docs/cli.md, "Fencing states") after the admin state
 * unless the node is simply online. */
static void print_node_lines(JsonArray *nodes)
{
    size_t width = 4;
    size_t awidth = 6;

    for (guint i = 0; nodes != NULL && i < json_array_get_length(nodes); i++) {
        JsonObject *n = json_array_get_object_element(nodes, i);
        width = MAX(width, strlen(str_member(n, "name", "?")));
        awidth = MAX(awidth, strlen(str_member(n, "admin", "online")));
    }
    for (guint i = 0; nodes != NULL && i < json_array_get_length(nodes); i++) {
        JsonObject *n = json_array_get_object_element(nodes, i);
        JsonObject *f = obj_member(n, "fence");
        const char *fstate = str_member(f, "state", "online");
        g_autoptr(GString) line = g_string_new(NULL);

        g_string_printf(line, "  %c %-*s  id %-5" G_GINT64_FORMAT "  %-8s  %-*s",
                        bool_member(n, "local") ? '*' : ' ', (int)width, str_member(n, "name", "?"),
                        int_member(n, "id"), bool_member(n, "online") ? "online" : "OFFLINE",
                        (int)awidth, str_member(n, "admin", "online"));
        if (f != NULL && strcmp(fstate, "online") != 0) {
            g_string_append_printf(line, "  %s", str_member(f, "text", fstate));
        }
        printf("%s\n", g_strchomp(line->str));
    }
}

/* "running on n1", "starting on n2", "failed: REASON", ... (docs/cli.md, resource states) */
static char *resource_state_text_base(JsonObject *r)
{
    const char *state = str_member(r, "state", "?");
    const char *assigned = str_member(r, "assigned", NULL);
    const char *moving_from = str_member(r, "moving_from", NULL);
    JsonArray *running = array_member(r, "running_on");
    g_autoptr(GString) on = g_string_new(NULL);

    for (guint i = 0; running != NULL && i < json_array_get_length(running); i++) {
        g_string_append_printf(on, "%s%s", i ? "," : "", json_array_get_string_element(running, i));
    }
    if (strcmp(state, "migrating") == 0) {
        JsonObject *m = json_object_has_member(r, "migration")
                            ? json_object_get_object_member(r, "migration")
                            : NULL;

        return g_strdup_printf("migrating %s -> %s", m ? str_member(m, "from", "?") : "?",
                               m ? str_member(m, "to", "?") : "?");
    }
    if (strcmp(state, "running") == 0 || strcmp(state, "starting") == 0) {
        if (moving_from != NULL) {
            return g_strdup_printf("%s on %s (moving from %s)", state, assigned ? assigned : "?",
                                   moving_from);
        }
        if (strcmp(state, "running") == 0 && on->len > 0 && assigned != NULL &&
            strcmp(on->str, assigned) != 0) {
            return g_strdup_printf("running on %s (also reported on %s)", assigned, on->str);
        }
        return g_strdup_printf("%s on %s", state, assigned ? assigned : "?");
    }
    if (strcmp(state, "failed") == 0) {
        return g_strdup_printf("failed: %s", str_member(r, "failed", "?"));
    }
    if ((strcmp(state, "stopping") == 0 || strcmp(state, "removing") == 0) && on->len > 0) {
        return g_strdup_printf("%s (running on %s)", state, on->str);
    }
    return g_strdup(state);
}

/* The state text, and why a wanted change waits when something does. */
static char *resource_state_text(JsonObject *r)
{
    g_autofree char *base = resource_state_text_base(r);
    const char *waiting = str_member(r, "waiting", NULL);

    return waiting ? g_strdup_printf("%s; %s", base, waiting) : g_steal_pointer(&base);
}

void drv_cli_print_resource_lines(JsonArray *resources)
{
    size_t width = 4;
    size_t swidth = 7;
    guint n = resources ? json_array_get_length(resources) : 0;

    for (guint i = 0; i < n; i++) {
        JsonObject *r = json_array_get_object_element(resources, i);
        g_autofree char *state = resource_state_text(r);
        width = MAX(width, strlen(str_member(r, "name", "?")));
        swidth = MAX(swidth, strlen(state));
    }
    for (guint i = 0; i < n; i++) {
        JsonObject *r = json_array_get_object_element(resources, i);
        g_autofree char *state = resource_state_text(r);
        const char *lf = str_member(r, "last_failure", NULL);
        const char *move_to = str_member(r, "move_to", NULL);
        g_autoptr(GString) line = g_string_new(NULL);

        g_string_printf(line, "  %-*s  %-*s  target %-8s", (int)width, str_member(r, "name", "?"),
                        (int)swidth, state, str_member(r, "role", "?"));
        if (move_to != NULL) {
            g_string_append_printf(line, "  move to %s", move_to);
        }
        if (lf != NULL) {
            g_string_append_printf(line, "  last failure: %s", lf);
        }
        printf("%s\n", g_strchomp(line->str));
    }
}

void drv_cli_print_resource(JsonObject *r)
{
    g_autofree char *state = NULL;
    JsonArray *prefer = array_member(r, "prefer");
    JsonArray *anti = array_member(r, "anti_affinity");
    JsonObject *nodes = obj_member(r, "nodes");
    const char *xml = str_member(r, "xml", NULL);

    if (r == NULL) {
        printf("(no resource in the reply)\n");
        return;
    }
    state = resource_state_text(r);
    printf("Resource:       %s\n", str_member(r, "name", "?"));
    printf("Domain:         %s (uuid %s)\n", str_member(r, "domain", "?"),
           str_member(r, "uuid", "?"));
    printf("State:          %s\n", state);
    printf("Target role:    %s\n", str_member(r, "role", "?"));
    printf("Priority:       %s\n", str_member(r, "priority", "?"));
    printf("Size:           %" G_GINT64_FORMAT " vCPU, %" G_GINT64_FORMAT " MiB\n",
           int_member(r, "cpu"), int_member(r, "memory_mib"));
    printf("Live migration: %s\n", bool_member(r, "allow_migrate") ? "allowed" : "no");
    printf("Prefers:        ");
    if (prefer == NULL || json_array_get_length(prefer) == 0) {
        printf("(any node)");
    }
    for (guint i = 0; prefer != NULL && i < json_array_get_length(prefer); i++) {
        JsonObject *p = json_array_get_object_element(prefer, i);
        printf("%s%s:%" G_GINT64_FORMAT, i ? ", " : "", str_member(p, "node", "?"),
               int_member(p, "weight"));
    }
    printf("\nAnti-affinity:  ");
    if (anti == NULL || json_array_get_length(anti) == 0) {
        printf("(none)");
    }
    for (guint i = 0; anti != NULL && i < json_array_get_length(anti); i++) {
        printf("%s%s", i ? ", " : "", json_array_get_string_element(anti, i));
    }
    printf("\nAssigned to:    %s\n", str_member(r, "assigned", "(nowhere)"));
    if (str_member(r, "moving_from", NULL) != NULL) {
        printf("Moving from:    %s\n", str_member(r, "moving_from", NULL));
    }
    printf("Move to:        %s\n", str_member(r, "move_to", "(no constraint)"));
    if (str_member(r, "failed", NULL) != NULL) {
        printf("Failed:         %s\n", str_member(r, "failed", NULL));
    }
    if (str_member(r, "waiting", NULL) != NULL) {
        printf("Waiting:        %s\n", str_member(r, "waiting", NULL));
    }
    printf("Last failure:   %s\n", str_member(r, "last_failure", "(none)"));
    printf("Node reports:");
    if (nodes == NULL || json_object_get_size(nodes) == 0) {
        printf("   (none)\n");
    } else {
        g_autoptr(GList) names = json_object_get_members(nodes);
        printf("\n");
        names = g_list_sort(names, (GCompareFunc)strcmp);
        for (GList *l = names; l != NULL; l = l->next) {
            JsonObject *n = obj_member(nodes, l->data);
            const char *le = str_member(n, "last_error", NULL);
            printf("  %-16s %-8s  failures %" G_GINT64_FORMAT "%s%s\n", (const char *)l->data,
                   str_member(n, "obs", "?"), int_member(n, "failures"), le ? "  last error: " : "",
                   le ? le : "");
        }
    }
    if (xml != NULL) {
        printf("\nDomain XML:\n%s%s", xml, g_str_has_suffix(xml, "\n") ? "" : "\n");
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
    if (json_object_has_member(s, "state_durable") && !bool_member(s, "state_durable")) {
        printf("WARNING:      this node cannot write its state file: it confirms no change "
               "until it can (see droverd's log)\n");
    }
    printf("Members:      %u\n", members ? json_array_get_length(members) : 0);
    if (obj_member(s, "fencing") != NULL) {
        JsonObject *f = obj_member(s, "fencing");
        gint64 n = int_member(f, "devices");

        printf("Fencing:      %s, %" G_GINT64_FORMAT " fence device%s\n",
               bool_member(f, "enabled") ? "enabled" : "DISABLED", n, n == 1 ? "" : "s");
    }
    printf("\nNodes (* = this node):\n");
    print_node_lines(array_member(s, "nodes"));
    {
        JsonArray *res = array_member(s, "resources");
        printf("\nResources:\n");
        if (res == NULL || json_array_get_length(res) == 0) {
            printf("  (none)\n");
        } else {
            drv_cli_print_resource_lines(res);
        }
    }
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

void drv_cli_print_properties(JsonObject *reply)
{
    JsonNode *n = json_object_get_member(reply, "properties");
    JsonArray *arr = n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;

    printf("%-25s %-10s %-16s %s\n", "PROPERTY", "VALUE", "DEFAULT", "DESCRIPTION");
    for (guint i = 0; arr != NULL && i < json_array_get_length(arr); i++) {
        JsonObject *p = json_array_get_object_element(arr, i);
        const char *unit = json_object_get_string_member_with_default(p, "unit", NULL);
        g_autofree char *value =
            g_strdup_printf("%s%s%s", json_object_get_string_member_with_default(p, "value", "?"),
                            unit ? " " : "", unit ? unit : "");
        g_autofree char *def =
            json_object_get_boolean_member_with_default(p, "is_default", TRUE)
                ? g_strdup("(default)")
                : g_strdup_printf("%s%s%s",
                                  json_object_get_string_member_with_default(p, "default", "?"),
                                  unit ? " " : "", unit ? unit : "");

        printf("%-25s %-10s %-16s %s\n", json_object_get_string_member_with_default(p, "key", "?"),
               value, def, json_object_get_string_member_with_default(p, "description", ""));
    }
}

/* ---- fencing ---- */

/* "k1=v1 k2=******": a value is shown only when the key is not a secret by the table droverd
 * uses and the reply does not mark it secret. */
static void append_params(GString *out, JsonArray *params)
{
    for (guint i = 0; params != NULL && i < json_array_get_length(params); i++) {
        JsonObject *p = json_array_get_object_element(params, i);
        const char *k = str_member(p, "key", "?");
        bool secret = drv_fence_param_is_secret(k) || bool_member(p, "secret");

        g_string_append_printf(out, "%s%s=%s", i ? " " : "", k,
                               secret ? DRV_FENCE_REDACTED : str_member(p, "value", ""));
    }
}

static void append_strv(GString *out, JsonArray *a, const char *sep)
{
    for (guint i = 0; a != NULL && i < json_array_get_length(a); i++) {
        JsonNode *e = json_array_get_element(a, i);

        g_string_append_printf(out, "%s%s", i ? sep : "",
                               JSON_NODE_HOLDS_VALUE(e) &&
                                       json_node_get_value_type(e) == G_TYPE_STRING
                                   ? json_node_get_string(e)
                                   : "?");
    }
}

/* "n3 level 1, n4 level 1 (implicit)" */
static void append_levels(GString *out, JsonArray *levels)
{
    guint n = levels ? json_array_get_length(levels) : 0;

    if (n == 0) {
        g_string_append(out, "(none)");
    }
    for (guint i = 0; i < n; i++) {
        JsonObject *l = json_array_get_object_element(levels, i);

        g_string_append_printf(out, "%s%s level %" G_GINT64_FORMAT "%s", i ? ", " : "",
                               str_member(l, "node", "?"), int_member(l, "index"),
                               bool_member(l, "implicit") ? " (implicit)" : "");
    }
}

char *drv_cli_fence_device_text(JsonObject *d)
{
    GString *out = g_string_new(NULL);

    if (d == NULL) {
        g_string_append(out, "(no fence device in the reply)\n");
        return g_string_free(out, FALSE);
    }
    g_string_append_printf(out, "Fence device: %s\n", str_member(d, "name", "?"));
    g_string_append_printf(out, "Agent:        %s\n", str_member(d, "agent", "?"));
    g_string_append(out, "Nodes:        ");
    append_strv(out, array_member(d, "nodes"), ", ");
    g_string_append(out, "\nParameters:   ");
    if (array_member(d, "params") == NULL ||
        json_array_get_length(array_member(d, "params")) == 0) {
        g_string_append(out, "(none)");
    }
    append_params(out, array_member(d, "params"));
    g_string_append(out, "\nLevels:       ");
    append_levels(out, array_member(d, "levels"));
    g_string_append(out, "\n");
    return g_string_free(out, FALSE);
}

char *drv_cli_fence_devices_text(JsonObject *reply)
{
    JsonArray *devs = array_member(reply, "devices");
    guint n = devs ? json_array_get_length(devs) : 0;
    GString *out = g_string_new(NULL);
    size_t width = 4;

    if (n == 0) {
        g_string_append(out, "No fence devices\n");
        return g_string_free(out, FALSE);
    }
    for (guint i = 0; i < n; i++) {
        width = MAX(width, strlen(str_member(json_array_get_object_element(devs, i), "name", "?")));
    }
    for (guint i = 0; i < n; i++) {
        JsonObject *d = json_array_get_object_element(devs, i);
        JsonArray *params = array_member(d, "params");
        g_autoptr(GString) line = g_string_new(NULL);

        g_string_printf(line, "  %-*s  agent %s  nodes ", (int)width, str_member(d, "name", "?"),
                        str_member(d, "agent", "?"));
        append_strv(line, array_member(d, "nodes"), ",");
        if (params != NULL && json_array_get_length(params) > 0) {
            g_string_append(line, "  params ");
            append_params(line, params);
        }
        g_string_append(line, "  levels: ");
        append_levels(line, array_member(d, "levels"));
        g_string_append_printf(out, "%s\n", line->str);
    }
    return g_string_free(out, FALSE);
}

void drv_cli_print_fence_devices(JsonObject *reply)
{
    g_autofree char *text = drv_cli_fence_devices_text(reply);

    fputs(text, stdout);
}

void drv_cli_print_fence_device(JsonObject *dev)
{
    g_autofree char *text = drv_cli_fence_device_text(dev);

    fputs(text, stdout);
}

void drv_cli_print_fence_levels(JsonObject *reply)
{
    JsonArray *nodes = array_member(reply, "nodes");
    guint n = nodes ? json_array_get_length(nodes) : 0;
    size_t width = 4;

    for (guint i = 0; i < n; i++) {
        width =
            MAX(width, strlen(str_member(json_array_get_object_element(nodes, i), "node", "?")));
    }
    printf("%-*s  %-5s  %s\n", (int)width, "NODE", "LEVEL",
           "DEVICES (all of a level must succeed)");
    for (guint i = 0; i < n; i++) {
        JsonObject *nd = json_array_get_object_element(nodes, i);
        JsonArray *levels = array_member(nd, "levels");
        guint nl = levels ? json_array_get_length(levels) : 0;

        if (nl == 0) {
            printf("%-*s  %-5s  (no fence device: it cannot be fenced)\n", (int)width,
                   str_member(nd, "node", "?"), "-");
        }
        for (guint j = 0; j < nl; j++) {
            JsonObject *l = json_array_get_object_element(levels, j);
            g_autoptr(GString) devs = g_string_new(NULL);

            append_strv(devs, array_member(l, "devices"), ",");
            printf("%-*s  %-5" G_GINT64_FORMAT "  %s%s\n", (int)width, str_member(nd, "node", "?"),
                   int_member(l, "index"), devs->str,
                   bool_member(nd, "implicit") ? " (implicit: no topology)" : "");
        }
    }
}

char *drv_cli_fence_event_text(JsonObject *e)
{
    char t[DRV_WALL_MS_LEN];
    gint64 level = int_member(e, "level");
    g_autofree char *lv = level > 0 ? g_strdup_printf("%" G_GINT64_FORMAT, level) : g_strdup("-");

    drv_wall_ms_format((uint64_t)MAX(int_member(e, "at_ms"), 0), t, sizeof(t));
    return g_strdup_printf("%-23s  %-8s  %-12s  %-8s  %-12s  %-5s  %-9s  %s", t,
                           str_member(e, "target", "?"), str_member(e, "action", "?"),
                           str_member(e, "executor", "-"), str_member(e, "device", "-"), lv,
                           str_member(e, "result", "?"), str_member(e, "text", ""));
}

void drv_cli_print_fence_history(JsonObject *reply)
{
    JsonArray *h = array_member(reply, "history");
    guint n = h ? json_array_get_length(h) : 0;

    if (n == 0) {
        printf("No fencing in the history\n");
        return;
    }
    printf("%-23s  %-8s  %-12s  %-8s  %-12s  %-5s  %-9s  %s\n", "TIME", "TARGET", "ACTION",
           "EXECUTOR", "DEVICE", "LEVEL", "RESULT", "TEXT");
    for (guint i = 0; i < n; i++) {
        g_autofree char *line = drv_cli_fence_event_text(json_array_get_object_element(h, i));

        printf("%s\n", g_strchomp(line));
    }
}
