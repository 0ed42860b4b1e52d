/* The JSON bodies of the `status` and `node-list` replies (documented in docs/cli.md). */
#include "config.h"

#include <string.h>

#include "agent.h"

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

static bool is_member(const drv_cluster_view_t *v, uint32_t id)
{
    for (size_t i = 0; i < v->n_members; i++) {
        if (v->members[i].nodeid == id) {
            return true;
        }
    }
    return false;
}

static void add_nodes(JsonBuilder *b, drv_agent_t *a, const drv_cluster_view_t *v)
{
    const drv_cs_info_t *info = drv_cs_info(a->cs);
    const drv_state_t *st = current_state(a);

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
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
}

static void get_view(drv_agent_t *a, drv_cluster_view_t *v)
{
    memset(v, 0, sizeof(*v));
    if (a->cluster != NULL) {
        drv_cluster_get_view(a->cluster, v);
    }
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
    json_builder_end_object(b);
    return json_builder_get_root(b);
}
