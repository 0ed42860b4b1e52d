#include "config.h"

#include <string.h>

#include "drover/results.h"
#include "drv_state.h"

static void node_fence_free(gpointer p)
{
    drv_node_fence_t *f = p;

    g_free(f->down_how);
    g_free(f->op_executor);
    g_free(f->op_action);
    g_free(f);
}

static drv_node_fence_t *node_fence_copy(const drv_node_fence_t *f)
{
    drv_node_fence_t *c = g_memdup2(f, sizeof(*f));

    c->down_how = g_strdup(f->down_how);
    c->op_executor = g_strdup(f->op_executor);
    c->op_action = g_strdup(f->op_action);
    return c;
}

static GPtrArray *levels_copy(const GPtrArray *levels)
{
    GPtrArray *c = g_ptr_array_new_with_free_func((GDestroyNotify)drv_fence_level_free);

    for (guint i = 0; i < levels->len; i++) {
        const drv_fence_level_t *l = g_ptr_array_index(levels, i);
        drv_fence_level_t *n = g_new0(drv_fence_level_t, 1);

        n->index = l->index;
        n->devices = g_ptr_array_new_with_free_func(g_free);
        for (guint j = 0; j < l->devices->len; j++) {
            g_ptr_array_add(n->devices, g_strdup(g_ptr_array_index(l->devices, j)));
        }
        g_ptr_array_add(c, n);
    }
    return c;
}

static drv_fence_event_t *event_copy(const drv_fence_event_t *e)
{
    drv_fence_event_t *c = g_memdup2(e, sizeof(*e));

    c->target = g_strdup(e->target);
    c->action = g_strdup(e->action);
    c->executor = g_strdup(e->executor);
    c->device = g_strdup(e->device);
    c->result = g_strdup(e->result);
    c->text = g_strdup(e->text);
    return c;
}

drv_state_t *drv_state_new(void)
{
    drv_state_t *st = g_new0(drv_state_t, 1);

    st->node_admin = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    st->settings = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    st->resources =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)drv_resource_free);
    st->fence_devices =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)drv_fence_dev_free);
    st->fence_levels =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    st->node_fence = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, node_fence_free);
    st->fence_history = g_ptr_array_new_with_free_func((GDestroyNotify)drv_fence_event_free);
    return st;
}

void drv_state_free(drv_state_t *st)
{
    if (st == NULL) {
        return;
    }
    g_hash_table_destroy(st->node_admin);
    g_hash_table_destroy(st->settings);
    g_hash_table_destroy(st->resources);
    g_hash_table_destroy(st->fence_devices);
    g_hash_table_destroy(st->fence_levels);
    g_hash_table_destroy(st->node_fence);
    g_ptr_array_unref(st->fence_history);
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
    g_hash_table_iter_init(&it, st->resources);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_hash_table_insert(cp->resources, g_strdup(k), drv_resource_copy(v));
    }
    g_hash_table_iter_init(&it, st->fence_devices);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_hash_table_insert(cp->fence_devices, g_strdup(k), drv_fence_dev_copy(v));
    }
    g_hash_table_iter_init(&it, st->fence_levels);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_hash_table_insert(cp->fence_levels, g_strdup(k), levels_copy(v));
    }
    g_hash_table_iter_init(&it, st->node_fence);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_hash_table_insert(cp->node_fence, g_strdup(k), node_fence_copy(v));
    }
    for (guint i = 0; i < st->fence_history->len; i++) {
        g_ptr_array_add(cp->fence_history, event_copy(g_ptr_array_index(st->fence_history, i)));
    }
    return cp;
}

/* Same keys, and EQ holds for the values of each key. */
static bool table_equal(GHashTable *a, GHashTable *b, bool (*eq)(gconstpointer, gconstpointer))
{
    GHashTableIter it;
    gpointer k, v, w;

    if (g_hash_table_size(a) != g_hash_table_size(b)) {
        return false;
    }
    g_hash_table_iter_init(&it, a);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (!g_hash_table_lookup_extended(b, k, NULL, &w) || !eq(v, w)) {
            return false;
        }
    }
    return true;
}

static bool admin_eq(gconstpointer a, gconstpointer b)
{
    const drv_node_admin_t *x = a, *y = b;

    return x->standby == y->standby && x->maintenance == y->maintenance;
}

static bool str_eq(gconstpointer a, gconstpointer b)
{
    return strcmp(a, b) == 0;
}

static bool resource_eq(gconstpointer a, gconstpointer b)
{
    return drv_resource_equal(a, b);
}

static bool res_node_eq(gconstpointer a, gconstpointer b)
{
    const drv_res_node_t *x = a, *y = b;

    return x->obs == y->obs && x->gen == y->gen && x->failures == y->failures &&
           x->window_start == y->window_start && g_strcmp0(x->last_error, y->last_error) == 0;
}

static bool dev_eq(gconstpointer a, gconstpointer b)
{
    return drv_fence_dev_equal(a, b);
}

static bool levels_eq(gconstpointer a, gconstpointer b)
{
    const GPtrArray *x = a, *y = b;

    if (x->len != y->len) {
        return false;
    }
    for (guint i = 0; i < x->len; i++) {
        const drv_fence_level_t *l = g_ptr_array_index(x, i), *m = g_ptr_array_index(y, i);

        if (l->index != m->index || l->devices->len != m->devices->len) {
            return false;
        }
        for (guint j = 0; j < l->devices->len; j++) {
            if (strcmp(g_ptr_array_index(l->devices, j), g_ptr_array_index(m->devices, j)) != 0) {
                return false;
            }
        }
    }
    return true;
}

static bool node_fence_eq(gconstpointer a, gconstpointer b)
{
    const drv_node_fence_t *x = a, *y = b;

    return x->ver == y->ver && x->down == y->down && x->down_watchdog == y->down_watchdog &&
           g_strcmp0(x->down_how, y->down_how) == 0 &&
           x->down_at == y->down_at && x->op == y->op &&
           g_strcmp0(x->op_executor, y->op_executor) == 0 &&
           g_strcmp0(x->op_action, y->op_action) == 0 && x->op_operator == y->op_operator &&
           x->op_at == y->op_at && x->op_failures == y->op_failures;
}

static bool event_eq(const drv_fence_event_t *x, const drv_fence_event_t *y)
{
    return x->seq == y->seq && x->at == y->at && x->level == y->level &&
           g_strcmp0(x->target, y->target) == 0 && g_strcmp0(x->action, y->action) == 0 &&
           g_strcmp0(x->executor, y->executor) == 0 && g_strcmp0(x->device, y->device) == 0 &&
           g_strcmp0(x->result, y->result) == 0 && g_strcmp0(x->text, y->text) == 0;
}

bool drv_state_equal(const drv_state_t *a, const drv_state_t *b)
{
    if (a->fence_history->len != b->fence_history->len) {
        return false;
    }
    for (guint i = 0; i < a->fence_history->len; i++) {
        if (!event_eq(g_ptr_array_index(a->fence_history, i),
                      g_ptr_array_index(b->fence_history, i))) {
            return false;
        }
    }
    return a->epoch == b->epoch && a->seq == b->seq &&
           table_equal(a->node_admin, b->node_admin, admin_eq) &&
           table_equal(a->settings, b->settings, str_eq) &&
           table_equal(a->resources, b->resources, resource_eq) &&
           table_equal(a->fence_devices, b->fence_devices, dev_eq) &&
           table_equal(a->fence_levels, b->fence_levels, levels_eq) &&
           table_equal(a->node_fence, b->node_fence, node_fence_eq);
}

/* ---- resources ---- */

static void pref_free(gpointer p)
{
    drv_pref_t *x = p;

    g_free(x->node);
    g_free(x);
}

static void res_node_free(gpointer p)
{
    drv_res_node_t *n = p;

    g_free(n->last_error);
    g_free(n);
}

drv_resource_t *drv_resource_new(const char *name)
{
    drv_resource_t *r = g_new0(drv_resource_t, 1);

    r->name = g_strdup(name);
    r->priority = 1;
    r->allow_migrate = true;
    r->prefer = g_ptr_array_new_with_free_func(pref_free);
    r->anti_affinity = g_ptr_array_new_with_free_func(g_free);
    r->nodes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, res_node_free);
    return r;
}

void drv_resource_free(drv_resource_t *r)
{
    if (r == NULL) {
        return;
    }
    g_free(r->name);
    g_free(r->uuid);
    g_free(r->domain);
    g_free(r->xml);
    g_ptr_array_unref(r->prefer);
    g_ptr_array_unref(r->anti_affinity);
    g_free(r->move_to);
    g_free(r->assigned);
    g_free(r->moving_from);
    g_free(r->failed);
    g_free(r->waiting);
    g_free(r->mig_from);
    g_free(r->mig_to);
    g_hash_table_destroy(r->nodes);
    g_free(r->last_failure);
    g_free(r);
}

drv_resource_t *drv_resource_copy(const drv_resource_t *r)
{
    drv_resource_t *c = drv_resource_new(r->name);
    GHashTableIter it;
    gpointer k, v;

    c->uuid = g_strdup(r->uuid);
    c->domain = g_strdup(r->domain);
    c->xml = g_strdup(r->xml);
    c->cpu = r->cpu;
    c->memory_mib = r->memory_mib;
    c->priority = r->priority;
    c->allow_migrate = r->allow_migrate;
    for (guint i = 0; i < r->prefer->len; i++) {
        const drv_pref_t *p = g_ptr_array_index(r->prefer, i);
        drv_pref_t *q = g_new0(drv_pref_t, 1);

        q->node = g_strdup(p->node);
        q->weight = p->weight;
        g_ptr_array_add(c->prefer, q);
    }
    for (guint i = 0; i < r->anti_affinity->len; i++) {
        g_ptr_array_add(c->anti_affinity, g_strdup(g_ptr_array_index(r->anti_affinity, i)));
    }
    c->role = r->role;
    c->move_to = g_strdup(r->move_to);
    c->assigned = g_strdup(r->assigned);
    c->moving_from = g_strdup(r->moving_from);
    c->gen = r->gen;
    c->failed = g_strdup(r->failed);
    c->waiting = g_strdup(r->waiting);
    c->ver = r->ver;
    c->changed_seq = r->changed_seq;
    c->mig_from = g_strdup(r->mig_from);
    c->mig_to = g_strdup(r->mig_to);
    c->mig_gen = r->mig_gen;
    c->last_failure = g_strdup(r->last_failure);
    g_hash_table_iter_init(&it, r->nodes);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const drv_res_node_t *n = v;
        drv_res_node_t *m = g_memdup2(n, sizeof(*n));

        m->last_error = g_strdup(n->last_error);
        g_hash_table_insert(c->nodes, g_strdup(k), m);
    }
    return c;
}

bool drv_resource_equal(const drv_resource_t *a, const drv_resource_t *b)
{
    if (g_strcmp0(a->name, b->name) || g_strcmp0(a->uuid, b->uuid) ||
        g_strcmp0(a->domain, b->domain) || g_strcmp0(a->xml, b->xml) || a->cpu != b->cpu ||
        a->memory_mib != b->memory_mib || a->priority != b->priority ||
        a->allow_migrate != b->allow_migrate || a->role != b->role ||
        g_strcmp0(a->move_to, b->move_to) || g_strcmp0(a->assigned, b->assigned) ||
        g_strcmp0(a->moving_from, b->moving_from) || a->gen != b->gen ||
        g_strcmp0(a->failed, b->failed) || g_strcmp0(a->waiting, b->waiting) || a->ver != b->ver ||
        a->changed_seq != b->changed_seq || g_strcmp0(a->mig_from, b->mig_from) ||
        g_strcmp0(a->mig_to, b->mig_to) || a->mig_gen != b->mig_gen ||
        g_strcmp0(a->last_failure, b->last_failure) || a->prefer->len != b->prefer->len ||
        a->anti_affinity->len != b->anti_affinity->len ||
        g_hash_table_size(a->nodes) != g_hash_table_size(b->nodes)) {
        return false;
    }
    for (guint i = 0; i < a->prefer->len; i++) {
        const drv_pref_t *p = g_ptr_array_index(a->prefer, i);
        const drv_pref_t *q = g_ptr_array_index(b->prefer, i);

        if (strcmp(p->node, q->node) != 0 || p->weight != q->weight) {
            return false;
        }
    }
    for (guint i = 0; i < a->anti_affinity->len; i++) {
        if (strcmp(g_ptr_array_index(a->anti_affinity, i),
                   g_ptr_array_index(b->anti_affinity, i))) {
            return false;
        }
    }
    return table_equal(a->nodes, b->nodes, res_node_eq);
}

drv_res_node_t *drv_resource_node(drv_resource_t *r, const char *node, bool create)
{
    drv_res_node_t *n = g_hash_table_lookup(r->nodes, node);

    if (n == NULL && create) {
        n = g_new0(drv_res_node_t, 1);
        g_hash_table_insert(r->nodes, g_strdup(node), n);
    }
    return n;
}

const char *drv_resource_running_elsewhere(const drv_resource_t *r, const char *except)
{
    GHashTableIter it;
    gpointer k, v;
    const char *best = NULL;

    g_hash_table_iter_init(&it, r->nodes);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        const drv_res_node_t *n = v;

        if (n->obs == DRV_OBS_RUNNING && g_strcmp0(k, except) != 0 &&
            (best == NULL || strcmp(k, best) < 0)) {
            best = k; /* lowest name: deterministic */
        }
    }
    return best;
}

const char *drv_obs_str(drv_obs_t o)
{
    switch (o) {
    case DRV_OBS_STOPPED:
        return "stopped";
    case DRV_OBS_RUNNING:
        return "running";
    case DRV_OBS_FAILED:
        return "failed";
    }
    return "unknown";
}

const char *drv_priority_str(uint8_t p)
{
    return p == 0 ? "low" : p == 2 ? "high" : "medium";
}

int drv_priority_parse(const char *s, uint8_t *out)
{
    if (g_strcmp0(s, "low") == 0) {
        *out = 0;
    } else if (g_strcmp0(s, "medium") == 0) {
        *out = 1;
    } else if (g_strcmp0(s, "high") == 0) {
        *out = 2;
    } else {
        return -1;
    }
    return 0;
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

const char *drv_role_str(drv_role_t r)
{
    switch (r) {
    case DRV_ROLE_STARTED:
        return "started";
    case DRV_ROLE_STOPPED:
        return "stopped";
    case DRV_ROLE_REMOVING:
        return "removing";
    }
    return "unknown";
}

bool drv_resource_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > 64 || name[0] == '-' || name[0] == '.') {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isalnum(name[i]) && name[i] != '_' && name[i] != '-' && name[i] != '.') {
            return false;
        }
    }
    return true;
}

/* ---- the rules of a resource definition ---- */

bool drv_resource_cpu_valid(uint64_t cpu)
{
    return cpu >= 1 && cpu <= DRV_RES_MAX_CPU;
}

bool drv_resource_memory_valid(uint64_t mib)
{
    return mib >= 1 && mib <= DRV_RES_MAX_MEMORY_MIB;
}

bool drv_resource_weight_valid(uint64_t weight)
{
    return weight >= 1 && weight <= DRV_RES_MAX_WEIGHT;
}

bool drv_resource_label_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n <= DRV_RES_MAX_NAME && g_utf8_validate(s, (gssize)n, NULL);
}

static bool opt_label_valid(const char *s)
{
    return s == NULL || s[0] == '\0' || drv_resource_label_valid(s);
}

static int invalid(const char **why, const char *text)
{
    if (why != NULL) {
        *why = text;
    }
    return DRV_ERR_BAD_ARGS;
}

int drv_resource_validate(const drv_resource_t *r, const char **why)
{
    if (!drv_resource_name_valid(r->name)) {
        return invalid(why, "resource name must be 1-64 characters of A-Z a-z 0-9 _ . - (not "
                            "starting with - or .)");
    }
    if (r->uuid == NULL || strlen(r->uuid) != 36 || !g_uuid_string_is_valid(r->uuid)) {
        return invalid(why, "resource uuid must be a UUID string");
    }
    if (!drv_resource_label_valid(r->domain)) {
        return invalid(why, "resource domain name must be 1-255 bytes of UTF-8");
    }
    if (r->xml == NULL || r->xml[0] == '\0' || strlen(r->xml) > DRV_RES_MAX_XML ||
        !g_utf8_validate(r->xml, -1, NULL)) {
        return invalid(why, "domain XML must be 1 byte to 256 KiB of UTF-8");
    }
    if (!drv_resource_cpu_valid(r->cpu) || !drv_resource_memory_valid(r->memory_mib)) {
        return invalid(why, "cpu must be 1-4096 and memory 1 MiB-4 PiB");
    }
    if (r->priority > 2 || r->role > DRV_ROLE_REMOVING) {
        return invalid(why, "priority or role out of range");
    }
    if (r->prefer->len > DRV_RES_MAX_LIST || r->anti_affinity->len > DRV_RES_MAX_LIST) {
        return invalid(why, "too many preferences or anti-affinity groups");
    }
    for (guint i = 0; i < r->prefer->len; i++) {
        const drv_pref_t *p = g_ptr_array_index(r->prefer, i);

        if (!drv_resource_label_valid(p->node) || !drv_resource_weight_valid(p->weight)) {
            return invalid(why, "a preference needs a node name and a weight from 1 to 1000000");
        }
        for (guint k = 0; k < i; k++) {
            if (strcmp(((const drv_pref_t *)g_ptr_array_index(r->prefer, k))->node, p->node) == 0) {
                return invalid(why, "a node is preferred twice");
            }
        }
    }
    for (guint i = 0; i < r->anti_affinity->len; i++) {
        const char *g = g_ptr_array_index(r->anti_affinity, i);

        if (!drv_resource_label_valid(g)) {
            return invalid(why, "anti-affinity group names must be 1-255 bytes of UTF-8");
        }
        for (guint k = 0; k < i; k++) {
            if (strcmp(g_ptr_array_index(r->anti_affinity, k), g) == 0) {
                return invalid(why, "an anti-affinity group is given twice");
            }
        }
    }
    if ((r->mig_from == NULL) != (r->mig_to == NULL)) {
        return invalid(why, "a migration record needs both ends");
    }
    if (!opt_label_valid(r->move_to) || !opt_label_valid(r->assigned) ||
        !opt_label_valid(r->moving_from) || !opt_label_valid(r->mig_from) ||
        !opt_label_valid(r->mig_to)) {
        return invalid(why, "bad node name in resource placement");
    }
    return 0;
}

int drv_state_resource_conflict(const drv_state_t *st, const drv_resource_t *r, char **which)
{
    GHashTableIter it;
    gpointer v;
    char *msg = NULL;

    if (g_hash_table_lookup(st->resources, r->name) != NULL) {
        msg = g_strdup_printf("a resource named %s is already managed", r->name);
    }
    g_hash_table_iter_init(&it, st->resources);
    while (msg == NULL && g_hash_table_iter_next(&it, NULL, &v)) {
        const drv_resource_t *o = v;

        if (o->uuid != NULL && r->uuid != NULL && g_ascii_strcasecmp(o->uuid, r->uuid) == 0) {
            msg = g_strdup_printf("UUID %s is already managed as resource %s", r->uuid, o->name);
        } else if (o->domain != NULL && r->domain != NULL && strcmp(o->domain, r->domain) == 0) {
            msg =
                g_strdup_printf("domain %s is already managed as resource %s", r->domain, o->name);
        }
    }
    if (msg == NULL) {
        return 0;
    }
    if (which != NULL) {
        *which = msg;
    } else {
        g_free(msg);
    }
    return DRV_ERR_EXISTS;
}
