/* drv_place_check (drv_place.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <glib.h>

#include "drover/results.h"
#include "drv_place.h"
#include "drv_props.h"

static int refuse(char **why, char *msg)
{
    if (why != NULL) {
        *why = msg;
    } else {
        g_free(msg);
    }
    return DRV_ERR_CANNOT_PLACE;
}

int drv_place_check(const drv_state_t *st, const drv_resource_t *r, const drv_place_node_t *node,
                    char **why)
{
    drv_node_admin_t adm = drv_state_node_admin(st, node->name);
    const drv_res_node_t *rn = g_hash_table_lookup(r->nodes, node->name);
    int64_t threshold = drv_prop_int(st, DRV_PROP_FAILURE_THRESHOLD);
    uint64_t window_ms = (uint64_t)drv_prop_int(st, DRV_PROP_FAILURE_WINDOW) * 1000;
    g_autofree char *cap_key = g_strdup_printf("capacity/%s", node->name);
    const char *cap = g_hash_table_lookup(st->settings, cap_key);
    unsigned long long cpu = 0, mem = 0;
    uint64_t used_cpu = 0, used_mem = 0;
    GHashTableIter it;
    gpointer v;

    if (why != NULL) {
        *why = NULL;
    }
    if (adm.standby || adm.maintenance) {
        return refuse(why, g_strdup_printf("%s is in %s", node->name, drv_node_admin_str(adm)));
    }
    if (!node->member) {
        return refuse(why, g_strdup_printf("droverd on %s is not running (not a member of the "
                                           "current round)",
                                           node->name));
    }
    /* the same rule as the HA decisions (drv_ha_recent_failures): the count as its node
     * reported it; that node itself says when its window has passed */
    if (rn != NULL && rn->failures > 0 && (int64_t)rn->failures >= threshold) {
        return refuse(why,
                      g_strdup_printf("%s is banned on %s: %u failures within "
                                      "failure-window (%" G_GUINT64_FORMAT
                                      " s, failure-threshold %" G_GINT64_FORMAT "); "
                                      "`drover resource start %s` clears them",
                                      r->name, node->name, rn->failures,
                                      (guint64)(window_ms / 1000), (gint64)threshold, r->name));
    }
    if (cap == NULL || sscanf(cap, "%llu %llu", &cpu, &mem) != 2) {
        return refuse(why, g_strdup_printf("%s has not published its capacity (libvirt "
                                           "unreachable there?)",
                                           node->name));
    }
    g_hash_table_iter_init(&it, st->resources);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        const drv_resource_t *o = v;

        if (o != r && strcmp(o->name, r->name) != 0 && g_strcmp0(o->assigned, node->name) == 0) {
            used_cpu += o->cpu;
            used_mem += o->memory_mib;
        }
    }
    if (used_cpu + r->cpu > cpu || used_mem + r->memory_mib > mem) {
        return refuse(
            why, g_strdup_printf("%s has no room for %s: it needs %u vCPUs and %" G_GUINT64_FORMAT
                                 " MiB, %s has %" G_GUINT64_FORMAT " vCPUs and %" G_GUINT64_FORMAT
                                 " MiB free",
                                 node->name, r->name, r->cpu, (guint64)r->memory_mib, node->name,
                                 (guint64)(cpu > used_cpu ? cpu - used_cpu : 0),
                                 (guint64)(mem > used_mem ? mem - used_mem : 0)));
    }
    return 0;
}
