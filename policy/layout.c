/* Loader for the vmcluster-layout/1 JSON format (../shared/bench/README.md) into the C model.
 * Parses from a buffer; reading files is the caller's business. Every error names the field. */
#include <errno.h>
#include <string.h>
#include <json-glib/json-glib.h>
#include "policy_internal.h"

#define LAYOUT_FORMAT "vmcluster-layout/1"

typedef struct {
    drv_policy_input_t *in;
    GHashTable *node_ix;  /* name -> index + 1 */
    GHashTable *group_ix; /* name -> id + 1 */
    GPtrArray *groups;
    char *err;
} loader_t;

static int lfail(loader_t *l, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int lfail(loader_t *l, const char *fmt, ...)
{
    va_list ap;
    if (l->err)
        return DRV_POLICY_ERR_LAYOUT;
    va_start(ap, fmt);
    char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    l->err = g_strdup_printf("layout: %s", m);
    g_free(m);
    return DRV_POLICY_ERR_LAYOUT;
}

static bool is_type(JsonNode *n, GType t)
{
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == t;
}

static int get_int(loader_t *l, JsonObject *o, const char *key, const char *where, bool required,
                   int64_t min, int64_t max, int64_t *out)
{
    JsonNode *n = json_object_get_member(o, key);
    if (!n) {
        if (required)
            return lfail(l, "%s.%s: missing (integer required)", where, key);
        return 0;
    }
    if (!is_type(n, G_TYPE_INT64))
        return lfail(l, "%s.%s: must be an integer", where, key);
    int64_t v = json_node_get_int(n);
    if (v < min || v > max) {
        if (min == 1 && max == G_MAXINT64)
            return lfail(l, "%s.%s: must be > 0 (got %" G_GINT64_FORMAT ")", where, key, v);
        return lfail(l,
                     "%s.%s: must be between %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
                     " (got %" G_GINT64_FORMAT ")",
                     where, key, min, max, v);
    }
    *out = v;
    return 0;
}

static int get_bool(loader_t *l, JsonObject *o, const char *key, const char *where, bool required,
                    bool *out)
{
    JsonNode *n = json_object_get_member(o, key);
    if (!n) {
        if (required)
            return lfail(l, "%s.%s: missing (true or false required)", where, key);
        return 0;
    }
    if (!is_type(n, G_TYPE_BOOLEAN))
        return lfail(l, "%s.%s: must be true or false", where, key);
    *out = json_node_get_boolean(n);
    return 0;
}

/* String enum member: returns the index in names[], or the default if absent and optional. */
static int get_enum(loader_t *l, JsonObject *o, const char *key, const char *where, bool required,
                    const char *const *names, int dflt, int *out)
{
    JsonNode *n = json_object_get_member(o, key);
    if (!n) {
        if (required)
            return lfail(l, "%s.%s: missing", where, key);
        *out = dflt;
        return 0;
    }
    if (is_type(n, G_TYPE_STRING)) {
        const char *s = json_node_get_string(n);
        for (int i = 0; names[i]; i++)
            if (strcmp(s, names[i]) == 0) {
                *out = i;
                return 0;
            }
    }
    GString *opts = g_string_new(NULL);
    for (int i = 0; names[i]; i++)
        g_string_append_printf(opts, "%s%s", i ? " | " : "", names[i]);
    lfail(l, "%s.%s: must be one of %s", where, key, opts->str);
    g_string_free(opts, TRUE);
    return DRV_POLICY_ERR_LAYOUT;
}

static int node_ref(loader_t *l, JsonNode *n, const char *where, int *out)
{
    if (!is_type(n, G_TYPE_STRING))
        return lfail(l, "%s: must be a node name", where);
    gpointer p = g_hash_table_lookup(l->node_ix, json_node_get_string(n));
    if (!p)
        return lfail(l, "%s: unknown node \"%s\"", where, json_node_get_string(n));
    *out = GPOINTER_TO_INT(p) - 1;
    return 0;
}

static int group_list(loader_t *l, JsonObject *o, const char *key, const char *where, int **out,
                      size_t *nout)
{
    JsonNode *n = json_object_get_member(o, key);
    if (!n)
        return 0;
    if (!JSON_NODE_HOLDS_ARRAY(n))
        return lfail(l, "%s.%s: must be a list of group names", where, key);
    JsonArray *a = json_node_get_array(n);
    guint len = json_array_get_length(a);
    *out = g_new(int, len + 1);
    *nout = 0;
    for (guint i = 0; i < len; i++) {
        JsonNode *e = json_array_get_element(a, i);
        if (!is_type(e, G_TYPE_STRING) || !*json_node_get_string(e))
            return lfail(l, "%s.%s[%u]: must be a non-empty group name", where, key, i);
        const char *name = json_node_get_string(e);
        gpointer p = g_hash_table_lookup(l->group_ix, name);
        int id;
        if (p) {
            id = GPOINTER_TO_INT(p) - 1;
        } else {
            id = (int)l->groups->len;
            char *dup = g_strdup(name);
            g_ptr_array_add(l->groups, dup);
            g_hash_table_insert(l->group_ix, dup, GINT_TO_POINTER(id + 1));
        }
        bool seen = false; /* a group listed twice counts once */
        for (size_t k = 0; k < *nout; k++)
            seen |= (*out)[k] == id;
        if (!seen)
            (*out)[(*nout)++] = id;
    }
    return 0;
}

static const char *const state_names[] = {"online", "standby", "maintenance", "offline",
                                          "failed", "fenced",  NULL};
static const char *const health_names[] = {"green", "yellow", "red", NULL};
static const char *const prio_names[] = {"low", "medium", "high", NULL};
static const char *const strategy_names[] = {"default", "utilization", "minimal", "balanced", NULL};
static const char *const level_names[] = {"off", "threshold", "spread", NULL};
static const char *const vmstate_names[] = {"started", "stopped", NULL};

static int get_ratio(loader_t *l, JsonObject *o, const char *key, double max, int *permille,
                     bool *present)
{
    JsonNode *n = json_object_get_member(o, key);
    *present = n != NULL;
    if (!n)
        return 0;
    double d;
    if (is_type(n, G_TYPE_DOUBLE))
        d = json_node_get_double(n);
    else if (is_type(n, G_TYPE_INT64))
        d = (double)json_node_get_int(n);
    else
        return lfail(l, "policy.%s: must be a number", key);
    if (!(d >= 0 && d <= max))
        return lfail(l, "policy.%s: must be between 0 and %g", key, max);
    *permille = (int)(d * 1000 + 0.5);
    return 0;
}

static int load_policy(loader_t *l, JsonObject *root)
{
    drv_policy_knobs_t *k = &l->in->knobs;
    JsonNode *pn = json_object_get_member(root, "policy");
    int e, rc;
    int64_t i;
    bool has_thr, has_hyst;

    if (!pn || !JSON_NODE_HOLDS_OBJECT(pn))
        return lfail(l, "policy: missing or not an object");
    JsonObject *p = json_node_get_object(pn);
    if ((rc = get_enum(l, p, "placement_strategy", "policy", true, strategy_names, 0, &e)) < 0)
        return rc;
    k->strategy = (drv_strategy_t)e;
    if ((rc = get_int(l, p, "resource_stickiness", "policy", true, -1000000, 1000000, &i)) < 0)
        return rc;
    k->stickiness = i;
    if ((rc = get_bool(l, p, "fencing", "policy", true, &k->fencing)) < 0)
        return rc;
    i = 0;
    if ((rc = get_int(l, p, "max_migrations_per_node", "policy", false, 0, G_MAXINT, &i)) < 0)
        return rc;
    k->max_migrations_per_node = (int)i;
    i = 0;
    if ((rc = get_int(l, p, "max_migrations_total", "policy", false, 0, G_MAXINT, &i)) < 0)
        return rc;
    k->max_migrations_total = (int)i;
    i = 0;
    if ((rc = get_int(l, p, "evacuation_budget", "policy", false, 0, G_MAXINT, &i)) < 0)
        return rc;
    k->evacuation_budget = (int)i;
    k->balance_threshold = 800;
    k->balance_hysteresis = 50;
    if ((rc = get_ratio(l, p, "balance_threshold", 1.0, &k->balance_threshold, &has_thr)) < 0 ||
        (rc = get_ratio(l, p, "balance_hysteresis", 0.5, &k->balance_hysteresis, &has_hyst)) < 0)
        return rc;
    if ((rc = get_enum(l, p, "balance_level", "policy", false, level_names,
                       has_thr ? DRV_BALANCE_THRESHOLD : DRV_BALANCE_OFF, &e)) < 0)
        return rc;
    k->balance_level = (drv_balance_level_t)e;
    return 0;
}

static int load_nodes(loader_t *l, JsonObject *root)
{
    JsonNode *nn = json_object_get_member(root, "nodes");
    if (!nn || !JSON_NODE_HOLDS_ARRAY(nn))
        return lfail(l, "nodes: missing or not a list");
    JsonArray *a = json_node_get_array(nn);
    guint len = json_array_get_length(a);
    l->in->nodes = g_new0(drv_policy_node_t, len + 1);
    for (guint i = 0; i < len; i++) {
        char where[64];
        int rc, e;
        JsonNode *en = json_array_get_element(a, i);
        drv_policy_node_t *nd = &l->in->nodes[i];
        g_snprintf(where, sizeof(where), "nodes[%u]", i);
        if (!JSON_NODE_HOLDS_OBJECT(en))
            return lfail(l, "%s: must be an object", where);
        JsonObject *o = json_node_get_object(en);
        JsonNode *name = json_object_get_member(o, "name");
        if (!is_type(name, G_TYPE_STRING) || !*json_node_get_string(name))
            return lfail(l, "%s.name: missing or not a non-empty string", where);
        nd->name = g_strdup(json_node_get_string(name));
        l->in->n_nodes = i + 1;
        g_snprintf(where, sizeof(where), "nodes[%u] (%s)", i, nd->name);
        if (g_hash_table_contains(l->node_ix, nd->name))
            return lfail(l, "%s.name: duplicate node name \"%s\"", where, nd->name);
        g_hash_table_insert(l->node_ix, nd->name, GINT_TO_POINTER(i + 1));
        if ((rc = get_int(l, o, "cpu", where, true, 1, G_MAXINT64, &nd->cpu)) < 0 ||
            (rc = get_int(l, o, "memory_mib", where, true, 1, G_MAXINT64, &nd->memory_mib)) < 0)
            return rc;
        if (nd->cpu > ((int64_t)1 << 40) || nd->memory_mib > ((int64_t)1 << 40))
            return lfail(l, "%s: capacity too large", where);
        if ((rc = get_enum(l, o, "state", where, true, state_names, 0, &e)) < 0)
            return rc;
        nd->state = (drv_node_state_t)e;
        if ((rc = get_enum(l, o, "health", where, false, health_names, 0, &e)) < 0)
            return rc;
        nd->health = (drv_health_t)e;
    }
    return 0;
}

static int load_vm(loader_t *l, JsonObject *o, guint i, drv_policy_vm_t *vm, GHashTable *vm_names)
{
    char where[96];
    int rc, e;
    bool b;
    g_snprintf(where, sizeof(where), "vms[%u]", i);
    JsonNode *name = json_object_get_member(o, "name");
    if (!is_type(name, G_TYPE_STRING) || !*json_node_get_string(name))
        return lfail(l, "%s.name: missing or not a non-empty string", where);
    vm->name = g_strdup(json_node_get_string(name));
    g_snprintf(where, sizeof(where), "vms[%u] (%s)", i, vm->name);
    if (g_hash_table_contains(vm_names, vm->name))
        return lfail(l, "%s.name: duplicate VM name \"%s\"", where, vm->name);
    g_hash_table_add(vm_names, vm->name);
    if ((rc = get_int(l, o, "cpu", where, true, 1, G_MAXINT64, &vm->cpu)) < 0 ||
        (rc = get_int(l, o, "memory_mib", where, true, 1, G_MAXINT64, &vm->memory_mib)) < 0)
        return rc;
    if (vm->cpu > ((int64_t)1 << 40) || vm->memory_mib > ((int64_t)1 << 40))
        return lfail(l, "%s: size too large", where);
    JsonNode *nn = json_object_get_member(o, "node");
    char w2[128];
    g_snprintf(w2, sizeof(w2), "%s.node", where);
    if (!nn)
        return lfail(l, "%s: missing (node name or null required)", w2);
    if (JSON_NODE_HOLDS_NULL(nn))
        vm->node = -1;
    else if ((rc = node_ref(l, nn, w2, &vm->node)) < 0)
        return rc;
    if ((rc = get_bool(l, o, "allow_migrate", where, true, &vm->allow_migrate)) < 0)
        return rc;
    if ((rc = get_enum(l, o, "priority", where, false, prio_names, DRV_PRIO_MEDIUM, &e)) < 0)
        return rc;
    vm->priority = (drv_priority_t)e;
    if ((rc = get_enum(l, o, "state", where, false, vmstate_names, 0, &e)) < 0)
        return rc;
    vm->want_started = e == 0;
    vm->pin_node = -1;
    JsonNode *pin = json_object_get_member(o, "pinned");
    g_snprintf(w2, sizeof(w2), "%s.pinned", where);
    if (pin && is_type(pin, G_TYPE_BOOLEAN)) {
        b = json_node_get_boolean(pin);
        if (b && vm->node < 0)
            return lfail(l, "%s: true needs a current node (or give a node name)", w2);
        if (b)
            vm->pin_node = vm->node;
    } else if (pin && !JSON_NODE_HOLDS_NULL(pin) &&
               (rc = node_ref(l, pin, w2, &vm->pin_node)) < 0) {
        return rc;
    }
    JsonNode *pr = json_object_get_member(o, "prefer");
    if (pr) {
        if (!JSON_NODE_HOLDS_ARRAY(pr))
            return lfail(l, "%s.prefer: must be a list of {\"node\", \"weight\"}", where);
        JsonArray *a = json_node_get_array(pr);
        guint len = json_array_get_length(a);
        vm->prefer = g_new0(drv_policy_pref_t, len + 1);
        for (guint k = 0; k < len; k++) {
            JsonNode *en = json_array_get_element(a, k);
            g_snprintf(w2, sizeof(w2), "%s.prefer[%u]", where, k);
            if (!JSON_NODE_HOLDS_OBJECT(en))
                return lfail(l, "%s: must be an object {\"node\", \"weight\"}", w2);
            JsonObject *po = json_node_get_object(en);
            char w3[160];
            g_snprintf(w3, sizeof(w3), "%s.node", w2);
            JsonNode *pnode = json_object_get_member(po, "node");
            if (!pnode)
                return lfail(l, "%s: missing", w3);
            if ((rc = node_ref(l, pnode, w3, &vm->prefer[k].node)) < 0 ||
                (rc = get_int(l, po, "weight", w2, true, 1, 1000000, &vm->prefer[k].weight)) < 0)
                return rc;
            vm->n_prefer = k + 1;
        }
    }
    if ((rc = group_list(l, o, "anti_affinity", where, &vm->anti_affinity, &vm->n_anti_affinity)) <
            0 ||
        (rc = group_list(l, o, "anti_affinity_soft", where, &vm->anti_affinity_soft,
                         &vm->n_anti_affinity_soft)) < 0 ||
        (rc = group_list(l, o, "affinity", where, &vm->affinity, &vm->n_affinity)) < 0)
        return rc;
    return 0;
}

static int load_vms(loader_t *l, JsonObject *root)
{
    JsonNode *vn = json_object_get_member(root, "vms");
    if (!vn || !JSON_NODE_HOLDS_ARRAY(vn))
        return lfail(l, "vms: missing or not a list");
    JsonArray *a = json_node_get_array(vn);
    guint len = json_array_get_length(a);
    GHashTable *names = g_hash_table_new(g_str_hash, g_str_equal);
    int rc = 0;
    l->in->vms = g_new0(drv_policy_vm_t, len + 1);
    for (guint i = 0; i < len && rc == 0; i++) {
        JsonNode *en = json_array_get_element(a, i);
        l->in->n_vms = i + 1;
        if (!JSON_NODE_HOLDS_OBJECT(en))
            rc = lfail(l, "vms[%u]: must be an object", i);
        else
            rc = load_vm(l, json_node_get_object(en), i, &l->in->vms[i], names);
    }
    g_hash_table_destroy(names);
    return rc;
}

int drv_policy_layout_parse(const char *data, size_t len, drv_policy_input_t **out, char **errmsg)
{
    loader_t l = {0};
    GError *gerr = NULL;
    JsonParser *parser = json_parser_new_immutable();
    int rc = 0;

    if (!data || !out)
        return -EINVAL;
    l.in = g_new0(drv_policy_input_t, 1);
    l.node_ix = g_hash_table_new(g_str_hash, g_str_equal);
    l.group_ix = g_hash_table_new(g_str_hash, g_str_equal);
    l.groups = g_ptr_array_new();
    if (!json_parser_load_from_data(parser, data, (gssize)len, &gerr)) {
        rc = lfail(&l, "not valid JSON: %s", gerr->message);
        g_error_free(gerr);
        goto out;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        rc = lfail(&l, "top level must be an object");
        goto out;
    }
    JsonObject *ro = json_node_get_object(root);
    JsonNode *fmt = json_object_get_member(ro, "format");
    if (!is_type(fmt, G_TYPE_STRING) || strcmp(json_node_get_string(fmt), LAYOUT_FORMAT) != 0) {
        rc = lfail(&l, "format: must be \"%s\"", LAYOUT_FORMAT);
        goto out;
    }
    if ((rc = load_policy(&l, ro)) < 0 || (rc = load_nodes(&l, ro)) < 0 ||
        (rc = load_vms(&l, ro)) < 0)
        goto out;
    l.in->n_groups = l.groups->len;
    char *merr = NULL;
    if (drv_policy_input_validate(l.in, &merr) < 0) {
        rc = lfail(&l, "%s", merr);
        g_free(merr);
    }
out:
    l.in->n_groups = l.groups->len;
    g_ptr_array_add(l.groups, NULL);
    l.in->groups = (char **)g_ptr_array_free(l.groups, FALSE);
    g_hash_table_destroy(l.node_ix);
    g_hash_table_destroy(l.group_ix);
    g_object_unref(parser);
    if (rc < 0) {
        drv_policy_input_free(l.in);
        if (errmsg)
            *errmsg = l.err;
        else
            g_free(l.err);
        return rc;
    }
    *out = l.in;
    return 0;
}
