/* The JSON bodies of the `status`, `node-list`, `resource-list` and `resource-show` replies,
 * each node's fencing state among them (documented in docs/cli.md). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "drover/walltime.h"
#include "agent.h"
#include "drv_ha.h"
#include "drv_props.h"

const char *drv_phase_str(drv_phase_t p)
{
    switch (p) {
    case DRV_PHASE_DOWN:
        return "down";
    case DRV_PHASE_SYNC:
        return "sync";
    case DRV_PHASE_ACTIVE:
        return "active";
    }
    return "unknown";
}

static const drv_state_t *current_state(drv_agent_t *a)
{
    if (a->cluster != NULL) {
        return drv_cluster_state(a->cluster);
    }
    return a->loaded;
}

static void add_str_or_null(JsonBuilder *b, const char *member, const char *value);

static bool is_member(const drv_cluster_view_t *v, uint32_t id)
{
    for (size_t i = 0; i < v->n_members; i++) {
        if (v->members[i].nodeid == id) {
            return true;
        }
    }
    return false;
}

static void get_view(drv_agent_t *a, drv_cluster_view_t *v)
{
    memset(v, 0, sizeof(*v));
    if (a->cluster != NULL) {
        drv_cluster_get_view(a->cluster, v);
    }
}

bool drv_status_node_online(drv_agent_t *a, const char *name)
{
    const drv_cs_info_t *info = drv_cs_info(a->cs);
    const drv_nodeinfo_t *n = name ? drv_cs_node_by_name(a->cs, name) : NULL;
    drv_cluster_view_t v;

    get_view(a, &v);
    return n != NULL && info->connected && is_member(&v, n->id);
}

/* The nodelist as the HA decisions see it (membership, published capacity and watchdog, as
 * ha/runtime.c's coordinate() builds it; absence not measured here). Strings borrowed. */
static drv_ha_node_t *ha_nodes(drv_agent_t *a, const drv_state_t *st, const drv_cluster_view_t *v)
{
    const drv_cs_info_t *info = drv_cs_info(a->cs);
    drv_ha_node_t *nodes = g_new0(drv_ha_node_t, info->nodes->len + 1);

    for (guint i = 0; i < info->nodes->len; i++) {
        const drv_nodeinfo_t *n = g_ptr_array_index(info->nodes, i);
        g_autofree char *key = g_strdup_printf("capacity/%s", n->name);
        g_autofree char *wkey = g_strdup_printf("watchdog/%s", n->name);
        const char *cap = st ? g_hash_table_lookup(st->settings, key) : NULL;
        const char *wd = st ? g_hash_table_lookup(st->settings, wkey) : NULL;
        unsigned long long cpu = 0, mem = 0;

        nodes[i].name = n->name;
        nodes[i].member = info->connected && is_member(v, n->id);
        if (cap == NULL || sscanf(cap, "%llu %llu", &cpu, &mem) != 2) {
            cpu = mem = 0;
        }
        nodes[i].cpu = (int64_t)cpu;
        nodes[i].memory_mib = (int64_t)mem;
        nodes[i].watchdog_ms = wd ? g_ascii_strtoull(wd, NULL, 10) : 0;
    }
    return nodes;
}

/* "fenced by n1 via d (level 1)" -> "fenced at T by n1 via d (level 1)"; likewise
 * "confirmed down by ..."; anything else (the watchdog rule) -> "down at T: HOW". */
static char *down_text(const char *how, uint64_t at)
{
    static const char *const verbs[] = {"fenced", "confirmed down"};
    char t[DRV_WALL_MS_LEN];

    drv_wall_ms_format(at, t, sizeof(t));
    how = how ? how : "";
    for (size_t i = 0; i < G_N_ELEMENTS(verbs); i++) {
        size_t n = strlen(verbs[i]);

        if (strncmp(how, verbs[i], n) == 0 && strncmp(how + n, " by ", 4) == 0) {
            return g_strdup_printf("%s at %s%s", verbs[i], t, how + n);
        }
    }
    return g_strdup_printf("down at %s: %s", t, how);
}

const char *drv_status_fence_state(const drv_state_t *st, const struct drv_ha_node *nodes,
                                   size_t n_nodes, size_t i, char **text, char **why)
{
    const drv_ha_node_t *x = &nodes[i];
    const drv_node_fence_t *f = st ? drv_state_node_fence(st, x->name) : NULL;

    *why = NULL;
    if (f != NULL && f->op != 0) {
        *text = g_strdup_printf(
            "UNCLEAN (fencing): %s by %s%s, %u failed round%s", f->op_action ? f->op_action : "off",
            f->op_executor ? f->op_executor : "?", f->op_operator ? " (asked by the operator)" : "",
            f->op_failures, f->op_failures == 1 ? "" : "s");
        return "fencing";
    }
    if (x->member) {
        *text = g_strdup("online");
        return "online";
    }
    if (f != NULL && f->down) {
        *text = down_text(f->down_how, f->down_at);
        return "down";
    }
    if (st != NULL && (*why = drv_ha_fence_needed(st, nodes, n_nodes, x->name)) != NULL) {
        g_autoptr(GPtrArray) levels = drv_state_fence_levels_for(st, x->name);

        *text = g_strdup_printf("UNCLEAN (%s): %s",
                                !drv_prop_bool(st, DRV_PROP_FENCING_ENABLED) ? "fencing disabled"
                                : levels->len == 0                           ? "no fence device"
                                                   : "waiting for fencing",
                                *why);
        return "unclean";
    }
    *text = g_strdup("OFFLINE (clean)");
    return "offline";
}

/* "fence": what the cluster knows about fencing NODES[I] (docs/cli.md, "Fencing states"). */
static void add_fence_state(JsonBuilder *b, const drv_state_t *st, const drv_ha_node_t *nodes,
                            size_t n_nodes, size_t i)
{
    const drv_node_fence_t *f = st ? drv_state_node_fence(st, nodes[i].name) : NULL;
    g_autofree char *why = NULL;
    g_autofree char *text = NULL;
    const char *state = drv_status_fence_state(st, nodes, n_nodes, i, &text, &why);
    bool open = f != NULL && f->op != 0;

    json_builder_set_member_name(b, "fence");
    json_builder_begin_object(b);
    add_str_or_null(b, "state", state);
    add_str_or_null(b, "text", text);
    add_str_or_null(b, "reason", why);
    json_builder_set_member_name(b, "op");
    json_builder_add_int_value(b, open ? (gint64)f->op : 0);
    add_str_or_null(b, "action", open ? f->op_action : NULL);
    add_str_or_null(b, "executor", open ? f->op_executor : NULL);
    json_builder_set_member_name(b, "failures");
    json_builder_add_int_value(b, open ? f->op_failures : 0);
    json_builder_set_member_name(b, "down");
    json_builder_add_boolean_value(b, f != NULL && f->down);
    add_str_or_null(b, "down_how", f != NULL && f->down ? f->down_how : NULL);
    json_builder_set_member_name(b, "down_at_ms");
    json_builder_add_int_value(b, f != NULL && f->down ? (gint64)f->down_at : 0);
    json_builder_end_object(b);
}

static void add_nodes(JsonBuilder *b, drv_agent_t *a, const drv_cluster_view_t *v)
{
    const drv_cs_info_t *info = drv_cs_info(a->cs);
    const drv_state_t *st = current_state(a);
    g_autofree drv_ha_node_t *hn = ha_nodes(a, st, v);

    json_builder_set_member_name(b, "nodes");
    json_builder_begin_array(b);
    for (guint i = 0; i < info->nodes->len; i++) {
        const drv_nodeinfo_t *n = g_ptr_array_index(info->nodes, i);
        drv_node_admin_t adm = {false, false};

        if (st != NULL) {
            adm = drv_state_node_admin(st, n->name);
        }
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_int_value(b, n->id);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, n->name);
        json_builder_set_member_name(b, "addr");
        if (n->addr != NULL) {
            json_builder_add_string_value(b, n->addr);
        } else {
            json_builder_add_null_value(b);
        }
        json_builder_set_member_name(b, "local");
        json_builder_add_boolean_value(b, n->id == info->local_nodeid);
        json_builder_set_member_name(b, "online");
        json_builder_add_boolean_value(b, info->connected && is_member(v, n->id));
        json_builder_set_member_name(b, "standby");
        json_builder_add_boolean_value(b, adm.standby);
        json_builder_set_member_name(b, "maintenance");
        json_builder_add_boolean_value(b, adm.maintenance);
        json_builder_set_member_name(b, "admin");
        json_builder_add_string_value(b, drv_node_admin_str(adm));
        add_fence_state(b, st, hn, info->nodes->len, i);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

JsonNode *drv_node_list_json(drv_agent_t *a)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    drv_cluster_view_t v;

    get_view(a, &v);
    json_builder_begin_object(b);
    add_nodes(b, a, &v);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

static void add_node_ref(JsonBuilder *b, drv_agent_t *a, const char *member, uint32_t id)
{
    const char *name = id ? drv_cs_node_name(a->cs, id) : NULL;

    json_builder_set_member_name(b, member);
    if (id == 0) {
        json_builder_add_null_value(b);
        return;
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, id);
    json_builder_set_member_name(b, "name");
    if (name != NULL) {
        json_builder_add_string_value(b, name);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_end_object(b);
}

static void add_str_or_null(JsonBuilder *b, const char *member, const char *value)
{
    json_builder_set_member_name(b, member);
    if (value != NULL) {
        json_builder_add_string_value(b, value);
    } else {
        json_builder_add_null_value(b);
    }
}

/* Nodes reporting R running, sorted. */
static GPtrArray *running_on(const drv_resource_t *r)
{
    GPtrArray *on = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init(&it, r->nodes);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (((const drv_res_node_t *)v)->obs == DRV_OBS_RUNNING) {
            g_ptr_array_add(on, k);
        }
    }
    return on;
}

static gint cmp_pstr(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool reported_running(const drv_resource_t *r, const char *node)
{
    const drv_res_node_t *n = node ? g_hash_table_lookup(r->nodes, node) : NULL;

    return n != NULL && n->obs == DRV_OBS_RUNNING;
}

/* The one-word summary of docs/cli.md ("Resource states"), first match wins:
 * removing  target role is removing (stopped everywhere, then forgotten)
 * failed    the coordinator gave up on it (`failed` set)
 * migrating a live migration record is open (mig_from -> mig_to)
 * running   target started, assigned to a node that reports it running
 * starting  target started, assigned to a node that does not report it running (yet)
 * stopping  some node reports it running but it should run nowhere (target stopped or not
 *           assigned)
 * stopped   otherwise */
static const char *resource_state(const drv_resource_t *r, guint n_running)
{
    if (r->role == DRV_ROLE_REMOVING) {
        return "removing";
    }
    if (r->failed != NULL) {
        return "failed";
    }
    if (r->mig_to != NULL) {
        return "migrating";
    }
    if (r->role == DRV_ROLE_STARTED && r->assigned != NULL) {
        return reported_running(r, r->assigned) ? "running" : "starting";
    }
    return n_running > 0 ? "stopping" : "stopped";
}

static void add_resource(JsonBuilder *b, const drv_resource_t *r, bool with_xml)
{
    g_autoptr(GPtrArray) on = running_on(r);
    g_autoptr(GList) names = g_hash_table_get_keys(r->nodes);

    g_ptr_array_sort(on, cmp_pstr);
    json_builder_begin_object(b);
    add_str_or_null(b, "name", r->name);
    add_str_or_null(b, "domain", r->domain);
    add_str_or_null(b, "uuid", r->uuid);
    add_str_or_null(b, "state", resource_state(r, on->len));
    add_str_or_null(b, "role", drv_role_str(r->role));
    add_str_or_null(b, "assigned", r->assigned);
    add_str_or_null(b, "moving_from", r->moving_from);
    add_str_or_null(b, "move_to", r->move_to);
    add_str_or_null(b, "failed", r->failed);
    add_str_or_null(b, "waiting", r->waiting);
    json_builder_set_member_name(b, "migration");
    if (r->mig_to != NULL) {
        json_builder_begin_object(b);
        add_str_or_null(b, "from", r->mig_from);
        add_str_or_null(b, "to", r->mig_to);
        json_builder_end_object(b);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, (gint64)r->ver);
    add_str_or_null(b, "last_failure", r->last_failure);
    json_builder_set_member_name(b, "running_on");
    json_builder_begin_array(b);
    for (guint i = 0; i < on->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(on, i));
    }
    json_builder_end_array(b);
    add_str_or_null(b, "priority", drv_priority_str(r->priority));
    json_builder_set_member_name(b, "cpu");
    json_builder_add_int_value(b, r->cpu);
    json_builder_set_member_name(b, "memory_mib");
    json_builder_add_int_value(b, (gint64)r->memory_mib);
    json_builder_set_member_name(b, "allow_migrate");
    json_builder_add_boolean_value(b, r->allow_migrate);
    json_builder_set_member_name(b, "prefer");
    json_builder_begin_array(b);
    for (guint i = 0; r->prefer != NULL && i < r->prefer->len; i++) {
        const drv_pref_t *p = g_ptr_array_index(r->prefer, i);
        json_builder_begin_object(b);
        add_str_or_null(b, "node", p->node);
        json_builder_set_member_name(b, "weight");
        json_builder_add_int_value(b, p->weight);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "anti_affinity");
    json_builder_begin_array(b);
    for (guint i = 0; r->anti_affinity != NULL && i < r->anti_affinity->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(r->anti_affinity, i));
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "nodes");
    json_builder_begin_object(b);
    names = g_list_sort(names, (GCompareFunc)strcmp);
    for (GList *l = names; l != NULL; l = l->next) {
        const drv_res_node_t *n = g_hash_table_lookup(r->nodes, l->data);
        json_builder_set_member_name(b, l->data);
        json_builder_begin_object(b);
        add_str_or_null(b, "obs", drv_obs_str(n->obs));
        json_builder_set_member_name(b, "failures");
        json_builder_add_int_value(b, n->failures);
        add_str_or_null(b, "last_error", n->last_error);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    if (with_xml) {
        add_str_or_null(b, "xml", r->xml);
    }
    json_builder_end_object(b);
}

/* "resources": every resource, sorted by name, without the XML. */
static void add_resources(JsonBuilder *b, const drv_state_t *st)
{
    g_autoptr(GList) names = st ? g_hash_table_get_keys(st->resources) : NULL;

    json_builder_set_member_name(b, "resources");
    json_builder_begin_array(b);
    names = g_list_sort(names, (GCompareFunc)strcmp);
    for (GList *l = names; l != NULL; l = l->next) {
        add_resource(b, g_hash_table_lookup(st->resources, l->data), false);
    }
    json_builder_end_array(b);
}

JsonNode *drv_status_resource_list_json(drv_agent_t *a)
{
    g_autoptr(JsonBuilder) b = json_builder_new();

    json_builder_begin_object(b);
    add_resources(b, current_state(a));
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

/* {"resource": {...}}, or NULL when there is no resource NAME. */
JsonNode *drv_status_resource_json(drv_agent_t *a, const char *name, bool with_xml)
{
    g_autoptr(JsonBuilder) b = NULL;
    const drv_state_t *st = current_state(a);
    const drv_resource_t *r = st ? g_hash_table_lookup(st->resources, name) : NULL;

    if (r == NULL) {
        return NULL;
    }
    b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "resource");
    add_resource(b, r, with_xml);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}

JsonNode *drv_status_json(drv_agent_t *a)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    const drv_cs_info_t *info = drv_cs_info(a->cs);
    const drv_state_t *st = current_state(a);
    drv_cluster_view_t v;

    get_view(a, &v);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "cluster_name");
    if (info->cluster_name != NULL) {
        json_builder_add_string_value(b, info->cluster_name);
    } else {
        json_builder_add_null_value(b);
    }
    add_node_ref(b, a, "local_node", info->local_nodeid);
    json_builder_set_member_name(b, "corosync_connected");
    json_builder_add_boolean_value(b, info->connected);
    json_builder_set_member_name(b, "phase");
    json_builder_add_string_value(b, drv_phase_str(v.phase));
    json_builder_set_member_name(b, "quorate");
    json_builder_add_boolean_value(b, v.quorate);
    json_builder_set_member_name(b, "local_quorate");
    json_builder_add_boolean_value(b, info->connected && info->vq_quorate);
    json_builder_set_member_name(b, "state_durable");
    json_builder_add_boolean_value(b, !v.persist_failed);
    json_builder_set_member_name(b, "expected_votes");
    json_builder_add_int_value(b, info->expected_votes);
    json_builder_set_member_name(b, "total_votes");
    json_builder_add_int_value(b, info->total_votes);
    json_builder_set_member_name(b, "quorum");
    json_builder_add_int_value(b, info->quorum);
    add_node_ref(b, a, "coordinator", v.coordinator);
    json_builder_set_member_name(b, "round");
    {
        /* a 64-bit identifier: as hex text, JSON numbers would lose or negate it */
        char round[17];
        g_snprintf(round, sizeof(round), "%016" G_GINT64_MODIFIER "x", v.round);
        json_builder_add_string_value(b, round);
    }
    json_builder_set_member_name(b, "epoch");
    json_builder_add_int_value(b, st ? (gint64)st->epoch : 0);
    json_builder_set_member_name(b, "seq");
    json_builder_add_int_value(b, st ? (gint64)st->seq : 0);

    json_builder_set_member_name(b, "members");
    json_builder_begin_array(b);
    for (size_t i = 0; i < v.n_members; i++) {
        const char *name = drv_cs_node_name(a->cs, v.members[i].nodeid);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "id");
        json_builder_add_int_value(b, v.members[i].nodeid);
        json_builder_set_member_name(b, "pid");
        json_builder_add_int_value(b, v.members[i].pid);
        json_builder_set_member_name(b, "name");
        if (name != NULL) {
            json_builder_add_string_value(b, name);
        } else {
            json_builder_add_null_value(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    add_nodes(b, a, &v);
    json_builder_set_member_name(b, "fencing");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "enabled");
    json_builder_add_boolean_value(b, drv_prop_bool(st, DRV_PROP_FENCING_ENABLED));
    json_builder_set_member_name(b, "devices");
    json_builder_add_int_value(b, st ? g_hash_table_size(st->fence_devices) : 0);
    json_builder_end_object(b);
    add_resources(b, st);
    json_builder_end_object(b);
    return json_builder_get_root(b);
}
