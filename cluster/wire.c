#include "config.h"

#include <string.h>

#include <glib.h>

#include "drover/results.h"
#include "wire.h"

/* ---- CRC-32 (IEEE 802.3, reflected), table built on first use ---- */

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;

        for (int k = 0; k < 8; k++) {
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        crc_table[i] = c;
    }
}

static uint32_t crc_update(uint32_t c, const uint8_t *p, size_t len)
{
    static gsize once = 0;

    if (g_once_init_enter(&once)) {
        crc_init();
        g_once_init_leave(&once, 1);
    }
    for (size_t i = 0; i < len; i++) {
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    }
    return c;
}

uint32_t drv_crc32(const void *buf, size_t len)
{
    return crc_update(0xFFFFFFFFu, buf, len) ^ 0xFFFFFFFFu;
}

/* ---- writer ---- */

static void put_u8(GByteArray *b, uint8_t v)
{
    g_byte_array_append(b, &v, 1);
}

static void put_u16(GByteArray *b, uint16_t v)
{
    uint8_t x[2] = {v & 0xFF, v >> 8};

    g_byte_array_append(b, x, 2);
}

static void put_u32(GByteArray *b, uint32_t v)
{
    uint8_t x[4];

    for (int i = 0; i < 4; i++) {
        x[i] = (v >> (8 * i)) & 0xFF;
    }
    g_byte_array_append(b, x, 4);
}

static void put_u64(GByteArray *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(GByteArray *b, const char *s)
{
    size_t n = strlen(s);

    g_assert(n <= DRV_WIRE_MAX_STR);
    put_u16(b, (uint16_t)n);
    g_byte_array_append(b, (const uint8_t *)s, (guint)n);
}

static void put_opt(GByteArray *b, const char *s)
{
    put_str(b, s ? s : "");
}

static void put_blob(GByteArray *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;

    g_assert(n <= DRV_WIRE_MAX_XML);
    put_u32(b, (uint32_t)n);
    g_byte_array_append(b, (const uint8_t *)(s ? s : ""), (guint)n);
}

static gint cmp_str(gconstpointer a, gconstpointer b);
static GPtrArray *sorted_keys(GHashTable *h);

static void put_resource(GByteArray *b, const drv_resource_t *r)
{
    GPtrArray *keys;

    put_str(b, r->name);
    put_opt(b, r->uuid);
    put_opt(b, r->domain);
    put_blob(b, r->xml);
    put_u32(b, r->cpu);
    put_u64(b, r->memory_mib);
    put_u8(b, r->priority);
    put_u8(b, r->allow_migrate ? 1 : 0);
    put_u32(b, r->prefer->len);
    for (guint i = 0; i < r->prefer->len; i++) {
        const drv_pref_t *p = g_ptr_array_index(r->prefer, i);

        put_str(b, p->node);
        put_u32(b, p->weight);
    }
    put_u32(b, r->anti_affinity->len);
    for (guint i = 0; i < r->anti_affinity->len; i++) {
        put_str(b, g_ptr_array_index(r->anti_affinity, i));
    }
    put_u8(b, (uint8_t)r->role);
    put_opt(b, r->move_to);
    put_opt(b, r->assigned);
    put_opt(b, r->moving_from);
    put_u64(b, r->gen);
    put_opt(b, r->failed);
    put_opt(b, r->waiting);
    put_u64(b, r->ver);
    put_u64(b, r->changed_seq);
    put_opt(b, r->mig_from);
    put_opt(b, r->mig_to);
    put_u64(b, r->mig_gen);
    put_opt(b, r->last_failure);
    keys = sorted_keys(r->nodes);
    put_u32(b, keys->len);
    for (guint i = 0; i < keys->len; i++) {
        const drv_res_node_t *n = g_hash_table_lookup(r->nodes, keys->pdata[i]);

        put_str(b, keys->pdata[i]);
        put_u8(b, (uint8_t)n->obs);
        put_u64(b, n->gen);
        put_u32(b, n->failures);
        put_u64(b, n->window_start);
        put_opt(b, n->last_error);
    }
    g_ptr_array_free(keys, TRUE);
}

static void put_strv(GByteArray *b, const GPtrArray *v)
{
    put_u32(b, v->len);
    for (guint i = 0; i < v->len; i++) {
        put_str(b, g_ptr_array_index(v, i));
    }
}

static void put_fdev(GByteArray *b, const drv_fence_dev_t *d)
{
    put_str(b, d->name);
    put_str(b, d->agent);
    put_strv(b, d->keys);
    put_u32(b, d->vals->len);
    for (guint i = 0; i < d->vals->len; i++) {
        put_str(b, g_ptr_array_index(d->vals, i)); /* may be "" */
    }
    put_strv(b, d->nodes);
}

static void set_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = (v >> (8 * i)) & 0xFF;
    }
}

static GByteArray *begin(drv_msg_type_t type, uint64_t round)
{
    GByteArray *b = g_byte_array_sized_new(64);

    put_u32(b, DRV_WIRE_MAGIC);
    put_u16(b, DRV_WIRE_VERSION);
    put_u16(b, (uint16_t)type);
    put_u32(b, 0); /* length, set in finish() */
    put_u32(b, 0); /* crc, set in finish() */
    put_u64(b, round);
    put_u64(b, 0);
    return b;
}

static uint8_t *finish(GByteArray *b, size_t *len)
{
    g_assert(b->len <= DRV_WIRE_MAX_MSG);
    set_u32(b->data + 8, b->len);
    set_u32(b->data + 12, drv_crc32(b->data, b->len));
    *len = b->len;
    return g_byte_array_free(b, FALSE);
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys in sorted order so that equal states encode to equal bytes. */
static GPtrArray *sorted_keys(GHashTable *h)
{
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, h);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
        g_ptr_array_add(keys, k);
    }
    g_ptr_array_sort(keys, cmp_str);
    return keys;
}

static void put_fence(GByteArray *b, const drv_state_t *st)
{
    GPtrArray *keys = sorted_keys(st->fence_devices);

    put_u32(b, keys->len);
    for (guint i = 0; i < keys->len; i++) {
        put_fdev(b, g_hash_table_lookup(st->fence_devices, keys->pdata[i]));
    }
    g_ptr_array_free(keys, TRUE);
    keys = sorted_keys(st->fence_levels);
    put_u32(b, keys->len);
    for (guint i = 0; i < keys->len; i++) {
        const GPtrArray *levels = g_hash_table_lookup(st->fence_levels, keys->pdata[i]);

        put_str(b, keys->pdata[i]);
        put_u32(b, levels->len);
        for (guint j = 0; j < levels->len; j++) {
            const drv_fence_level_t *l = g_ptr_array_index(levels, j);

            put_u32(b, l->index);
            put_strv(b, l->devices);
        }
    }
    g_ptr_array_free(keys, TRUE);
    keys = sorted_keys(st->node_fence);
    put_u32(b, keys->len);
    for (guint i = 0; i < keys->len; i++) {
        const drv_node_fence_t *f = g_hash_table_lookup(st->node_fence, keys->pdata[i]);

        put_str(b, keys->pdata[i]);
        put_u64(b, f->ver);
        put_u8(b, (f->down ? 1 : 0) | (f->op_operator ? 2 : 0) | (f->down_watchdog ? 4 : 0));
        put_opt(b, f->down_how);
        put_u64(b, f->down_at);
        put_u64(b, f->op);
        put_opt(b, f->op_executor);
        put_opt(b, f->op_action);
        put_u64(b, f->op_at);
        put_u32(b, f->op_failures);
    }
    g_ptr_array_free(keys, TRUE);
    put_u32(b, st->fence_history->len);
    for (guint i = 0; i < st->fence_history->len; i++) {
        const drv_fence_event_t *e = g_ptr_array_index(st->fence_history, i);

        put_u64(b, e->seq);
        put_u64(b, e->at);
        put_str(b, e->target);
        put_opt(b, e->action);
        put_opt(b, e->executor);
        put_opt(b, e->device);
        put_u32(b, e->level);
        put_opt(b, e->result);
        put_opt(b, e->text);
    }
}

static void put_state(GByteArray *b, const drv_state_t *st)
{
    GPtrArray *keys;

    put_u64(b, st->epoch);
    put_u64(b, st->seq);
    keys = sorted_keys(st->node_admin);
    put_u32(b, keys->len);
    for (guint i = 0; i < keys->len; i++) {
        const drv_node_admin_t *a = g_hash_table_lookup(st->node_admin, keys->pdata[i]);

        put_str(b, keys->pdata[i]);
        put_u8(b, (a->standby ? 1 : 0) | (a->maintenance ? 2 : 0));
    }
    g_ptr_array_free(keys, TRUE);
    keys = sorted_keys(st->settings);
    put_u32(b, keys->len);
    for (guint i = 0; i < keys->len; i++) {
        put_str(b, keys->pdata[i]);
        put_str(b, g_hash_table_lookup(st->settings, keys->pdata[i]));
    }
    g_ptr_array_free(keys, TRUE);
    keys = sorted_keys(st->resources);
    put_u32(b, keys->len);
    for (guint i = 0; i < keys->len; i++) {
        put_resource(b, g_hash_table_lookup(st->resources, keys->pdata[i]));
    }
    g_ptr_array_free(keys, TRUE);
    put_fence(b, st);
}

size_t drv_wire_state_size(const drv_state_t *st)
{
    GByteArray *b = g_byte_array_sized_new(4096);
    size_t n;

    put_state(b, st);
    n = b->len + DRV_WIRE_HDR_LEN;
    g_byte_array_free(b, TRUE);
    return n;
}

size_t drv_wire_resource_size(const drv_resource_t *r)
{
    GByteArray *b = g_byte_array_sized_new(1024);
    size_t n;

    put_resource(b, r);
    n = b->len;
    g_byte_array_free(b, TRUE);
    return n;
}

uint8_t *drv_wire_reround(const uint8_t *msg, size_t len, uint64_t round)
{
    uint8_t *b = g_memdup2(msg, len);

    g_assert(len >= DRV_WIRE_HDR_LEN);
    set_u32(b + 16, (uint32_t)round);
    set_u32(b + 20, (uint32_t)(round >> 32));
    set_u32(b + 12, 0);
    set_u32(b + 12, drv_crc32(b, len));
    return b;
}

uint8_t *drv_wire_summary(uint64_t round, uint64_t epoch, uint64_t seq, size_t *len)
{
    GByteArray *b = begin(DRV_MSG_SUMMARY, round);

    put_u64(b, epoch);
    put_u64(b, seq);
    return finish(b, len);
}

uint8_t *drv_wire_close(uint64_t round, size_t *len)
{
    return finish(begin(DRV_MSG_CLOSE, round), len);
}

uint8_t *drv_wire_state(uint64_t round, const drv_state_t *st, size_t *len)
{
    GByteArray *b = begin(DRV_MSG_STATE, round);

    put_state(b, st);
    return finish(b, len);
}

uint8_t *drv_wire_applied(uint64_t round, uint64_t seq, size_t *len)
{
    GByteArray *b = begin(DRV_MSG_APPLIED, round);

    put_u64(b, seq);
    return finish(b, len);
}

uint8_t *drv_wire_quorum(uint64_t round, bool quorate, size_t *len)
{
    GByteArray *b = begin(DRV_MSG_QUORUM, round);

    put_u8(b, quorate ? 1 : 0);
    return finish(b, len);
}

uint8_t *drv_wire_cmd(uint64_t round, uint64_t req_id, const drv_cmd_t *cmd, size_t *len)
{
    GByteArray *b = begin(DRV_MSG_CMD, round);

    g_assert(drv_cmd_valid(cmd, NULL));
    put_u64(b, req_id);
    put_u16(b, (uint16_t)cmd->type);
    put_u8(b, cmd->flag ? 1 : 0);
    put_str(b, cmd->name);
    put_opt(b, cmd->value);
    put_opt(b, cmd->value2);
    put_u8(b, cmd->obs);
    put_u64(b, cmd->ts);
    put_u64(b, cmd->gen);
    put_u8(b, cmd->res ? 1 : cmd->dev ? 2 : 0);
    if (cmd->res) {
        put_resource(b, cmd->res);
    } else if (cmd->dev) {
        put_fdev(b, cmd->dev);
    }
    return finish(b, len);
}

/* ---- validation ---- */

static bool name_valid(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;

    return n > 0 && n <= max && g_utf8_validate(s, (gssize)n, NULL);
}

static bool empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static bool opt_name_valid(const char *s)
{
    return empty(s) || name_valid(s, 255);
}

/* The rules live with the state (drv_resource_validate): one copy for the CLI, droverd and
 * the apply. */
bool drv_resource_def_valid(const drv_resource_t *r, const char **why)
{
    return drv_resource_validate(r, why) == 0;
}

bool drv_cmd_valid(const drv_cmd_t *cmd, const char **why)
{
    const char *dummy;

    if (why == NULL) {
        why = &dummy;
    }
    if (cmd->type != DRV_CMD_SETTING_SET && cmd->type != DRV_CMD_FENCE_LEVEL &&
        cmd->value != NULL && strlen(cmd->value) > 255) {
        *why = "value too long";
        return false;
    }
    if ((cmd->value2 && strlen(cmd->value2) > DRV_WIRE_MAX_STR) ||
        (cmd->value2 && !g_utf8_validate(cmd->value2, -1, NULL))) {
        *why = "second value must be at most 1024 bytes of UTF-8";
        return false;
    }
    if (cmd->res != NULL && cmd->type != DRV_CMD_RES_ADD) {
        *why = "a resource definition given to a command that takes none";
        return false;
    }
    if (cmd->dev != NULL && cmd->type != DRV_CMD_FENCE_DEV_ADD) {
        *why = "a fence device given to a command that takes none";
        return false;
    }
    if (cmd->value != NULL && !g_utf8_validate(cmd->value, -1, NULL)) {
        *why = "value must be UTF-8";
        return false;
    }
    switch (cmd->type) {
    case DRV_CMD_NODE_STANDBY:
    case DRV_CMD_NODE_MAINTENANCE:
    case DRV_CMD_SETTING_DEL:
    case DRV_CMD_RES_ADD:
    case DRV_CMD_RES_REMOVE:
    case DRV_CMD_RES_ROLE:
    case DRV_CMD_RES_PURGE:
    case DRV_CMD_FENCE_DEV_ADD:
    case DRV_CMD_FENCE_DEV_REMOVE:
    case DRV_CMD_NODE_UP:
        if (!empty(cmd->value) || !empty(cmd->value2)) {
            *why = "a value given to a command that takes none";
            return false;
        }
        break;
    case DRV_CMD_SETTING_SET:
    case DRV_CMD_RES_MOVE:
    case DRV_CMD_FENCE_LEVEL:
    case DRV_CMD_NODE_DOWN:
        if (!empty(cmd->value2)) {
            *why = "a second value given to a command that takes none";
            return false;
        }
        break;
    default:
        break;
    }
    switch (cmd->type) {
    case DRV_CMD_NODE_STANDBY:
    case DRV_CMD_NODE_MAINTENANCE:
        if (!name_valid(cmd->name, 255)) {
            *why = "node name must be 1-255 bytes of UTF-8";
            return false;
        }
        return true;
    case DRV_CMD_SETTING_SET:
        if (cmd->value == NULL || strlen(cmd->value) > DRV_WIRE_MAX_STR ||
            !g_utf8_validate(cmd->value, -1, NULL)) {
            *why = "setting value must be at most 1024 bytes of UTF-8";
            return false;
        }
        /* fall through */
    case DRV_CMD_SETTING_DEL:
        if (!name_valid(cmd->name, 255)) {
            *why = "setting key must be 1-255 bytes of UTF-8";
            return false;
        }
        return true;
    case DRV_CMD_RES_ADD:
        if (cmd->res == NULL) {
            *why = "resource add without a definition";
            return false;
        }
        if (!drv_resource_def_valid(cmd->res, why)) {
            return false;
        }
        if (g_strcmp0(cmd->name, cmd->res->name) != 0) {
            *why = "resource add: name and definition disagree";
            return false;
        }
        return true;
    case DRV_CMD_RES_REMOVE:
    case DRV_CMD_RES_ROLE:
    case DRV_CMD_RES_MOVE:
    case DRV_CMD_RES_ASSIGN:
    case DRV_CMD_RES_FAILED:
    case DRV_CMD_RES_PURGE:
    case DRV_CMD_RES_REPORT:
    case DRV_CMD_RES_MIG_BEGIN:
    case DRV_CMD_RES_MIG_END:
        if (!drv_resource_name_valid(cmd->name)) {
            *why = "bad resource name";
            return false;
        }
        if ((cmd->type == DRV_CMD_RES_MOVE || cmd->type == DRV_CMD_RES_ASSIGN) &&
            (!opt_name_valid(cmd->value) || !opt_name_valid(cmd->value2))) {
            *why = "bad node name";
            return false;
        }
        if ((cmd->type == DRV_CMD_RES_MIG_BEGIN || cmd->type == DRV_CMD_RES_MIG_END) &&
            (!name_valid(cmd->value, 255) || !name_valid(cmd->value2, 255) ||
             strcmp(cmd->value, cmd->value2) == 0)) {
            *why = "a migration record needs two different node names";
            return false;
        }
        if (cmd->type == DRV_CMD_RES_REPORT &&
            (!name_valid(cmd->value, 255) || cmd->obs > DRV_OBS_FAILED)) {
            *why = "a report needs a node name and an observation";
            return false;
        }
        if (cmd->type == DRV_CMD_RES_FAILED && cmd->value &&
            !g_utf8_validate(cmd->value, -1, NULL)) {
            *why = "bad failure text";
            return false;
        }
        return true;
    case DRV_CMD_FENCE_DEV_ADD:
        if (cmd->dev == NULL) {
            *why = "fence device add without a definition";
            return false;
        }
        if (drv_fence_dev_validate(cmd->dev, why) != 0) {
            return false;
        }
        if (g_strcmp0(cmd->name, cmd->dev->name) != 0) {
            *why = "fence device add: name and definition disagree";
            return false;
        }
        return true;
    case DRV_CMD_FENCE_DEV_REMOVE:
        if (!drv_resource_name_valid(cmd->name)) {
            *why = "bad fence device name";
            return false;
        }
        return true;
    case DRV_CMD_FENCE_LEVEL:
    case DRV_CMD_FENCE_BEGIN:
    case DRV_CMD_FENCE_RESULT:
    case DRV_CMD_NODE_DOWN:
    case DRV_CMD_NODE_UP:
        if (!name_valid(cmd->name, 255)) {
            *why = "node name must be 1-255 bytes of UTF-8";
            return false;
        }
        if (cmd->type == DRV_CMD_FENCE_LEVEL &&
            (cmd->gen < 1 || cmd->gen > DRV_FENCE_MAX_LEVEL ||
             (cmd->value && strlen(cmd->value) > DRV_WIRE_MAX_STR))) {
            *why = "a fence level index is 1-9";
            return false;
        }
        if (cmd->type == DRV_CMD_FENCE_BEGIN &&
            (!name_valid(cmd->value, 255) || strcmp(cmd->value, cmd->name) == 0 ||
             (g_strcmp0(cmd->value2, "off") != 0 && g_strcmp0(cmd->value2, "reboot") != 0))) {
            *why = "fencing needs an executor other than the target and the action off or reboot";
            return false;
        }
        if (cmd->type == DRV_CMD_FENCE_RESULT &&
            (cmd->gen == 0 || cmd->obs > DRV_FENCE_MAX_LEVEL)) {
            *why = "a fencing result names its operation and level";
            return false;
        }
        if (cmd->type == DRV_CMD_NODE_DOWN && !name_valid(cmd->value, 255)) {
            *why = "confirming a node down needs a reason";
            return false;
        }
        return true;
    }
    *why = "unknown command type";
    return false;
}

/* ---- reader ---- */

typedef struct reader {
    const uint8_t *p;
    size_t len, off;
    const char *err;
} reader_t;

static bool need(reader_t *r, size_t n, const char *what)
{
    if (r->err) {
        return false;
    }
    if (r->len - r->off < n) {
        r->err = what;
        return false;
    }
    return true;
}

static uint8_t get_u8(reader_t *r, const char *what)
{
    if (!need(r, 1, what)) {
        return 0;
    }
    return r->p[r->off++];
}

static uint16_t get_u16(reader_t *r, const char *what)
{
    uint16_t v;

    if (!need(r, 2, what)) {
        return 0;
    }
    v = (uint16_t)(r->p[r->off] | (r->p[r->off + 1] << 8));
    r->off += 2;
    return v;
}

static uint32_t get_u32(reader_t *r, const char *what)
{
    uint32_t v = 0;

    if (!need(r, 4, what)) {
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        v |= (uint32_t)r->p[r->off + i] << (8 * i);
    }
    r->off += 4;
    return v;
}

static uint64_t get_u64(reader_t *r, const char *what)
{
    uint64_t lo = get_u32(r, what);
    uint64_t hi = get_u32(r, what);

    return lo | (hi << 32);
}

/* N bytes of text (UTF-8, no NUL, at most MAX, empty only if EMPTY_OK), after a length
 * already read: a g_malloc'd string, or NULL with r->err set. */
static char *get_text(reader_t *r, size_t n, size_t max, bool empty_ok, const char *what)
{
    char *s;

    if (r->err) {
        return NULL;
    }
    if (n > max || (n == 0 && !empty_ok)) {
        r->err = what;
        return NULL;
    }
    if (!need(r, n, what)) {
        return NULL;
    }
    if (memchr(r->p + r->off, 0, n) != NULL ||
        !g_utf8_validate((const char *)r->p + r->off, (gssize)n, NULL)) {
        r->err = what;
        return NULL;
    }
    s = g_strndup((const char *)r->p + r->off, n);
    r->off += n;
    return s;
}

/* A string (u16 length). EMPTY_OK allows "". */
static char *get_str(reader_t *r, bool empty_ok, const char *what)
{
    uint16_t n = get_u16(r, what);

    return get_text(r, n, DRV_WIRE_MAX_STR, empty_ok, what);
}

/* Optional string: "" decodes to NULL. */
static char *get_opt(reader_t *r, const char *what)
{
    char *s = get_str(r, true, what);

    if (s && s[0] == '\0') {
        g_free(s);
        return NULL;
    }
    return s;
}

/* Domain XML (u32 length). */
static char *get_blob(reader_t *r, const char *what)
{
    uint32_t n = get_u32(r, what);

    return get_text(r, n, DRV_WIRE_MAX_XML, true, what);
}

static drv_resource_t *get_resource(reader_t *r)
{
    g_autofree char *name = get_str(r, false, "resource: bad name");
    drv_resource_t *res;
    uint32_t n;
    const char *why = NULL;

    if (r->err) {
        return NULL;
    }
    res = drv_resource_new(name);
    res->uuid = get_opt(r, "resource: bad uuid");
    res->domain = get_opt(r, "resource: bad domain name");
    res->xml = get_blob(r, "resource: bad domain XML");
    res->cpu = get_u32(r, "resource: truncated cpu");
    res->memory_mib = get_u64(r, "resource: truncated memory");
    res->priority = get_u8(r, "resource: truncated priority");
    res->allow_migrate = get_u8(r, "resource: truncated allow_migrate") != 0;
    n = get_u32(r, "resource: truncated preferences");
    if (!r->err && n > 1024) {
        r->err = "resource: too many preferences";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        drv_pref_t *p = g_new0(drv_pref_t, 1);

        p->node = get_str(r, false, "resource: bad preference node");
        p->weight = get_u32(r, "resource: truncated preference weight");
        g_ptr_array_add(res->prefer, p);
        if (p->node == NULL) {
            p->node = g_strdup("");
        }
    }
    n = get_u32(r, "resource: truncated anti-affinity");
    if (!r->err && n > 1024) {
        r->err = "resource: too many anti-affinity groups";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        char *g = get_str(r, false, "resource: bad anti-affinity group");

        if (g) {
            g_ptr_array_add(res->anti_affinity, g);
        }
    }
    res->role = (drv_role_t)get_u8(r, "resource: truncated role");
    res->move_to = get_opt(r, "resource: bad move_to");
    res->assigned = get_opt(r, "resource: bad assigned");
    res->moving_from = get_opt(r, "resource: bad moving_from");
    res->gen = get_u64(r, "resource: truncated generation");
    res->failed = get_opt(r, "resource: bad failed");
    res->waiting = get_opt(r, "resource: bad waiting");
    res->ver = get_u64(r, "resource: truncated version");
    res->changed_seq = get_u64(r, "resource: truncated change seq");
    res->mig_from = get_opt(r, "resource: bad migration source");
    res->mig_to = get_opt(r, "resource: bad migration target");
    res->mig_gen = get_u64(r, "resource: truncated migration generation");
    res->last_failure = get_opt(r, "resource: bad last_failure");
    n = get_u32(r, "resource: truncated node reports");
    if (!r->err && n > DRV_WIRE_MAX_ENTRIES) {
        r->err = "resource: too many node reports";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        char *node = get_str(r, false, "resource: bad report node");
        drv_res_node_t *rn = g_new0(drv_res_node_t, 1);

        rn->obs = (drv_obs_t)get_u8(r, "resource: truncated report");
        rn->gen = get_u64(r, "resource: truncated report");
        rn->failures = get_u32(r, "resource: truncated report");
        rn->window_start = get_u64(r, "resource: truncated report");
        rn->last_error = get_opt(r, "resource: bad report error");
        if (!r->err && rn->obs > DRV_OBS_FAILED) {
            r->err = "resource: report observation out of range";
        }
        if (!r->err && g_hash_table_contains(res->nodes, node)) {
            r->err = "resource: duplicate report node";
        }
        if (r->err) {
            g_free(node);
            g_free(rn->last_error);
            g_free(rn);
            break;
        }
        g_hash_table_insert(res->nodes, node, rn);
    }
    if (!r->err && !drv_resource_def_valid(res, &why)) {
        r->err = why;
    }
    if (r->err) {
        drv_resource_free(res);
        return NULL;
    }
    return res;
}

static bool get_strv(reader_t *r, GPtrArray *into, uint32_t max, bool empty_ok, const char *what)
{
    uint32_t n = get_u32(r, what);

    if (!r->err && n > max) {
        r->err = what;
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        char *s = get_str(r, empty_ok, what);

        if (s) {
            g_ptr_array_add(into, s);
        }
    }
    return r->err == NULL;
}

static drv_fence_dev_t *get_fdev(reader_t *r)
{
    g_autofree char *name = get_str(r, false, "fence device: bad name");
    g_autofree char *agent = get_str(r, false, "fence device: bad agent");
    drv_fence_dev_t *d;
    const char *why = NULL;

    if (r->err) {
        return NULL;
    }
    d = drv_fence_dev_new(name, agent);
    get_strv(r, d->keys, DRV_FENCE_MAX_PARAMS, false, "fence device: bad parameters");
    get_strv(r, d->vals, DRV_FENCE_MAX_PARAMS, true, "fence device: bad parameters");
    get_strv(r, d->nodes, DRV_RES_MAX_LIST, false, "fence device: bad node list");
    if (!r->err && drv_fence_dev_validate(d, &why) != 0) {
        r->err = why;
    }
    if (r->err) {
        drv_fence_dev_free(d);
        return NULL;
    }
    return d;
}

static void get_fence(reader_t *r, drv_state_t *st)
{
    uint32_t n = get_u32(r, "state: truncated fence devices");

    if (!r->err && n > DRV_FENCE_MAX_DEVICES) {
        r->err = "state: too many fence devices";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        drv_fence_dev_t *d = get_fdev(r);

        if (d && g_hash_table_contains(st->fence_devices, d->name)) {
            r->err = "state: duplicate fence device";
            drv_fence_dev_free(d);
        } else if (d) {
            g_hash_table_insert(st->fence_devices, g_strdup(d->name), d);
        }
    }
    n = get_u32(r, "state: truncated fence levels");
    if (!r->err && n > DRV_WIRE_MAX_ENTRIES) {
        r->err = "state: too many fence levels";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        char *node = get_str(r, false, "state: bad fence level node");
        uint32_t nl = get_u32(r, "state: truncated fence levels");
        GPtrArray *levels = g_ptr_array_new_with_free_func((GDestroyNotify)drv_fence_level_free);
        uint32_t last = 0;

        if (!r->err && (nl == 0 || nl > DRV_FENCE_MAX_LEVEL)) {
            r->err = "state: bad fence level count";
        }
        for (uint32_t j = 0; j < nl && !r->err; j++) {
            drv_fence_level_t *l = g_new0(drv_fence_level_t, 1);

            l->devices = g_ptr_array_new_with_free_func(g_free);
            g_ptr_array_add(levels, l);
            l->index = get_u32(r, "state: truncated fence level");
            get_strv(r, l->devices, 16, false, "state: bad fence level devices");
            if (!r->err &&
                (l->index <= last || l->index > DRV_FENCE_MAX_LEVEL || l->devices->len == 0)) {
                r->err = "state: bad fence level";
            }
            last = l->index;
        }
        if (!r->err && g_hash_table_contains(st->fence_levels, node)) {
            r->err = "state: duplicate fence level node";
        }
        if (r->err) {
            g_free(node);
            g_ptr_array_unref(levels);
            break;
        }
        g_hash_table_insert(st->fence_levels, node, levels);
    }
    n = get_u32(r, "state: truncated node fence records");
    if (!r->err && n > DRV_WIRE_MAX_ENTRIES) {
        r->err = "state: too many node fence records";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        char *node = get_str(r, false, "state: bad node fence record");
        drv_node_fence_t *f = g_new0(drv_node_fence_t, 1);
        uint8_t flags;

        f->ver = get_u64(r, "state: truncated node fence record");
        flags = get_u8(r, "state: truncated node fence record");
        f->down = flags & 1;
        f->op_operator = (flags & 2) != 0;
        f->down_watchdog = (flags & 4) != 0;
        f->down_how = get_opt(r, "state: bad node fence record");
        f->down_at = get_u64(r, "state: truncated node fence record");
        f->op = get_u64(r, "state: truncated node fence record");
        f->op_executor = get_opt(r, "state: bad node fence record");
        f->op_action = get_opt(r, "state: bad node fence record");
        f->op_at = get_u64(r, "state: truncated node fence record");
        f->op_failures = get_u32(r, "state: truncated node fence record");
        if (!r->err && (flags & ~7u)) {
            r->err = "state: unknown node fence flags";
        }
        if (!r->err && g_hash_table_contains(st->node_fence, node)) {
            r->err = "state: duplicate node fence record";
        }
        g_hash_table_insert(st->node_fence, node, f); /* freed with the state on error */
        if (r->err) {
            break;
        }
    }
    n = get_u32(r, "state: truncated fence history");
    if (!r->err && n > DRV_FENCE_HISTORY_MAX) {
        r->err = "state: fence history too long";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        drv_fence_event_t *e = g_new0(drv_fence_event_t, 1);

        e->seq = get_u64(r, "state: truncated fence event");
        e->at = get_u64(r, "state: truncated fence event");
        e->target = get_str(r, false, "state: bad fence event");
        e->action = get_opt(r, "state: bad fence event");
        e->executor = get_opt(r, "state: bad fence event");
        e->device = get_opt(r, "state: bad fence event");
        e->level = get_u32(r, "state: truncated fence event");
        e->result = get_opt(r, "state: bad fence event");
        e->text = get_opt(r, "state: bad fence event");
        g_ptr_array_add(st->fence_history, e);
    }
}

static drv_state_t *get_state(reader_t *r, uint16_t version)
{
    drv_state_t *st = drv_state_new();
    uint32_t n;

    st->epoch = get_u64(r, "state: truncated epoch");
    st->seq = get_u64(r, "state: truncated seq");
    n = get_u32(r, "state: truncated node count");
    if (!r->err && n > DRV_WIRE_MAX_ENTRIES) {
        r->err = "state: too many nodes";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        char *name = get_str(r, false, "state: bad node name");
        uint8_t flags = get_u8(r, "state: truncated node flags");
        drv_node_admin_t *a;

        if (r->err) {
            g_free(name);
            break;
        }
        if (flags & ~3u) {
            r->err = "state: unknown node flags";
        } else if (g_hash_table_contains(st->node_admin, name)) {
            r->err = "state: duplicate node";
        }
        if (r->err) {
            g_free(name);
            break;
        }
        a = g_new0(drv_node_admin_t, 1);
        a->standby = flags & 1;
        a->maintenance = (flags & 2) != 0;
        g_hash_table_insert(st->node_admin, name, a);
    }
    n = get_u32(r, "state: truncated settings count");
    if (!r->err && n > DRV_WIRE_MAX_ENTRIES) {
        r->err = "state: too many settings";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        char *k = get_str(r, false, "state: bad setting key");
        char *v = get_str(r, true, "state: bad setting value");

        if (!r->err && g_hash_table_contains(st->settings, k)) {
            r->err = "state: duplicate setting";
        }
        if (r->err) {
            g_free(k);
            g_free(v);
            break;
        }
        g_hash_table_insert(st->settings, k, v);
    }
    n = get_u32(r, "state: truncated resource count");
    if (!r->err && n > DRV_WIRE_MAX_ENTRIES) {
        r->err = "state: too many resources";
    }
    for (uint32_t i = 0; i < n && !r->err; i++) {
        drv_resource_t *res = get_resource(r);

        if (res == NULL) {
            break;
        }
        if (g_hash_table_contains(st->resources, res->name)) {
            r->err = "state: duplicate resource";
            drv_resource_free(res);
            break;
        }
        g_hash_table_insert(st->resources, g_strdup(res->name), res);
    }
    if (version >= 3) {
        get_fence(r, st);
    }
    if (r->err) {
        drv_state_free(st);
        return NULL;
    }
    return st;
}

void drv_msg_clear(drv_msg_t *msg)
{
    g_free(msg->cmd_name);
    g_free(msg->cmd_value);
    g_free(msg->cmd_value2);
    drv_resource_free(msg->cmd_res);
    drv_fence_dev_free(msg->cmd_dev);
    drv_state_free(msg->state);
    memset(msg, 0, sizeof(*msg));
}

int drv_wire_decode(const void *buf, size_t len, drv_msg_t *msg, const char **why)
{
    reader_t r = {buf, len, 0, NULL};
    uint32_t magic, total, crc;
    uint16_t version, type;
    uint8_t tmp[DRV_WIRE_HDR_LEN];
    uint32_t check;
    const char *dummy;

    if (why == NULL) {
        why = &dummy;
    }
    memset(msg, 0, sizeof(*msg));
    if (buf == NULL || len < DRV_WIRE_HDR_LEN) {
        *why = "shorter than the header";
        return DRV_ERR_BAD_MESSAGE;
    }
    if (len > DRV_WIRE_MAX_MSG) {
        *why = "oversized";
        return DRV_ERR_BAD_MESSAGE;
    }
    magic = get_u32(&r, "");
    version = get_u16(&r, "");
    type = get_u16(&r, "");
    total = get_u32(&r, "");
    crc = get_u32(&r, "");
    msg->round = get_u64(&r, "");
    (void)get_u64(&r, "");
    if (magic != DRV_WIRE_MAGIC) {
        *why = "bad magic";
        return DRV_ERR_BAD_MESSAGE;
    }
    /* a state file of version 2 (before fencing) still loads */
    if (version != DRV_WIRE_VERSION && !(version == 2 && type == DRV_MSG_STATE)) {
        *why = "unsupported version";
        return DRV_ERR_BAD_MESSAGE;
    }
    if (total != len) {
        *why = "length field does not match the message size";
        return DRV_ERR_BAD_MESSAGE;
    }
    /* CRC over the message with the crc field zeroed: header copy + body. */
    memcpy(tmp, buf, DRV_WIRE_HDR_LEN);
    memset(tmp + 12, 0, 4);
    check = crc_update(0xFFFFFFFFu, tmp, DRV_WIRE_HDR_LEN);
    check = crc_update(check, (const uint8_t *)buf + DRV_WIRE_HDR_LEN, len - DRV_WIRE_HDR_LEN);
    check ^= 0xFFFFFFFFu;
    if (check != crc) {
        *why = "checksum mismatch";
        return DRV_ERR_BAD_MESSAGE;
    }

    msg->type = type;
    switch (type) {
    case DRV_MSG_SUMMARY:
        msg->epoch = get_u64(&r, "summary: truncated");
        msg->seq = get_u64(&r, "summary: truncated");
        break;
    case DRV_MSG_CLOSE:
        break;
    case DRV_MSG_APPLIED:
        msg->seq = get_u64(&r, "applied: truncated");
        break;
    case DRV_MSG_STATE:
        msg->state = get_state(&r, version);
        break;
    case DRV_MSG_QUORUM: {
        uint8_t q = get_u8(&r, "quorum: truncated");

        if (!r.err && q > 1) {
            r.err = "quorum: flag out of range";
        }
        msg->quorate = q == 1;
        break;
    }
    case DRV_MSG_CMD: {
        uint8_t flag, has_res;
        drv_cmd_t cmd;

        msg->req_id = get_u64(&r, "cmd: truncated request id");
        msg->cmd_type = get_u16(&r, "cmd: truncated type");
        flag = get_u8(&r, "cmd: truncated flag");
        msg->cmd_name = get_str(&r, false, "cmd: bad name");
        msg->cmd_value = get_str(&r, true, "cmd: bad value");
        msg->cmd_value2 = get_str(&r, true, "cmd: bad second value");
        msg->cmd_obs = get_u8(&r, "cmd: truncated observation");
        msg->cmd_ts = get_u64(&r, "cmd: truncated timestamp");
        msg->cmd_gen = get_u64(&r, "cmd: truncated generation");
        has_res = get_u8(&r, "cmd: truncated resource flag");
        if (!r.err && has_res > 2) {
            r.err = "cmd: payload flag out of range";
        }
        if (!r.err && has_res == 1) {
            msg->cmd_res = get_resource(&r);
        } else if (!r.err && has_res == 2) {
            msg->cmd_dev = get_fdev(&r);
        }
        if (r.err) {
            break;
        }
        if (flag > 1) {
            r.err = "cmd: flag out of range";
            break;
        }
        msg->cmd_flag = flag == 1;
        cmd = (drv_cmd_t){msg->cmd_type,   msg->cmd_name, msg->cmd_value, msg->cmd_flag,
                          msg->cmd_value2, msg->cmd_obs,  msg->cmd_ts,    msg->cmd_gen,
                          msg->cmd_res,    msg->cmd_dev};
        if (!drv_cmd_valid(&cmd, &r.err)) {
            break;
        }
        break;
    }
    default:
        r.err = "unknown message type";
        break;
    }
    if (!r.err && r.off != r.len) {
        r.err = "trailing bytes after the body";
    }
    if (r.err) {
        *why = r.err;
        drv_msg_clear(msg);
        return DRV_ERR_BAD_MESSAGE;
    }
    return DRV_OK;
}

/* FNV-1a over the sorted (nodeid, pid) list. Under extended virtual synchrony a message sent
 * for an earlier configuration is never delivered after a later one with the same list (a
 * restarted daemon has a new pid; a totem ring change flushes the old ring first). */
uint64_t drv_wire_round_id(const drv_member_t *sorted, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (size_t i = 0; i < n; i++) {
        uint32_t v[2] = {sorted[i].nodeid, sorted[i].pid};
        const uint8_t *p = (const uint8_t *)v;

        for (size_t k = 0; k < sizeof(v); k++) {
            h = (h ^ p[k]) * 0x100000001b3ull;
        }
    }
    return h ? h : 1; /* 0 means "no round" */
}
