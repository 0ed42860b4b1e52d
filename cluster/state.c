#include "config.h"

#include <string.h>

#include "drv_state.h"

drv_state_t *drv_state_new(void)
{
    drv_state_t *st = g_new0(drv_state_t, 1);

    st->node_admin = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    st->settings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return st;
}

void drv_state_free(drv_state_t *st)
{
    if (st == NULL) {
        return;
    }
    g_hash_table_destroy(st->node_admin);
    g_hash_table_destroy(st->settings);
    g_free(st);
}

drv_state_t *drv_state_copy(const drv_state_t *st)
{
    drv_state_t *cp = drv_state_new();
    GHashTableIter it;
    gpointer k, v;

    cp->epoch = st->epoch;
    cp->seq = st->seq;
    g_hash_table_iter_init(&it, st->node_admin);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_hash_table_insert(cp->node_admin, g_strdup(k), g_memdup2(v, sizeof(drv_node_admin_t)));
    }
    g_hash_table_iter_init(&it, st->settings);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_hash_table_insert(cp->settings, g_strdup(k), g_strdup(v));
    }
    return cp;
}

static bool node_admin_equal(GHashTable *a, GHashTable *b)
{
    GHashTableIter it;
    gpointer k, v;

    if (g_hash_table_size(a) != g_hash_table_size(b)) {
        return false;
    }
    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const drv_node_admin_t *x = v;
        const drv_node_admin_t *y = g_hash_table_lookup(b, k);

        if (y == NULL || x->standby != y->standby || x->maintenance != y->maintenance) {
            return false;
        }
    }
    return true;
}

static bool settings_equal(GHashTable *a, GHashTable *b)
{
    GHashTableIter it;
    gpointer k, v;

    if (g_hash_table_size(a) != g_hash_table_size(b)) {
        return false;
    }
    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const char *w = g_hash_table_lookup(b, k);

        if (w == NULL || strcmp(v, w) != 0) {
            return false;
        }
    }
    return true;
}

bool drv_state_equal(const drv_state_t *a, const drv_state_t *b)
{
    return a->epoch == b->epoch && a->seq == b->seq && node_admin_equal(a->node_admin, b->node_admin)
           && settings_equal(a->settings, b->settings);
}

drv_node_admin_t drv_state_node_admin(const drv_state_t *st, const char *node)
{
    const drv_node_admin_t *a = g_hash_table_lookup(st->node_admin, node);
    drv_node_admin_t none = {false, false};

    return a ? *a : none;
}

const char *drv_node_admin_str(drv_node_admin_t a)
{
    if (a.standby && a.maintenance) {
        return "standby+maintenance";
    }
    if (a.standby) {
        return "standby";
    }
    if (a.maintenance) {
        return "maintenance";
    }
    return "online";
}
