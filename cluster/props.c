/* The cluster property registry (drv_props.h). Pure: parses text and reads a state. */
#include "config.h"

#include <string.h>
#include <glib.h>

#include "drover/results.h"
#include "drv_props.h"

static const char *const no_quorum_choices[] = {"stop", "freeze", NULL};
static const char *const balance_choices[] = {"off", "low", "medium", "high", NULL};

static const drv_prop_t props[DRV_PROP_COUNT] = {
    {DRV_PROP_FAILURE_THRESHOLD, "failure-threshold", DRV_PROP_INT, 1, 1000, NULL, "3", NULL,
     "failures of a VM on one node within failure-window before it is relocated"},
    {DRV_PROP_FAILURE_WINDOW, "failure-window", DRV_PROP_DURATION, 1, 604800, NULL, "600", "s",
     "how long a failure counts towards failure-threshold"},
    {DRV_PROP_FENCING_ENABLED, "fencing-enabled", DRV_PROP_BOOL, 0, 0, NULL, "true", NULL,
     "fence a failed node before its VMs are started elsewhere"},
    {DRV_PROP_FENCE_TIMEOUT, "fence-timeout", DRV_PROP_DURATION, 1, 3600, NULL, "60", "s",
     "a fence agent call running longer is killed, and counts as failed"},
    {DRV_PROP_NO_QUORUM_POLICY, "no-quorum-policy", DRV_PROP_ENUM, 0, 0, no_quorum_choices, "stop",
     NULL,
     "what a node that lost quorum does with its VMs: stop them, or freeze (leave them "
     "running, unmanaged)"},
    {DRV_PROP_NO_QUORUM_GRACE, "no-quorum-grace", DRV_PROP_INT, 0, 600000, NULL, "2000", "ms",
     "a node that lost quorum asks its VMs to shut down, and destroys them after this long"},
    {DRV_PROP_MIGRATION_LIMIT_NODE_OUT, "migration-limit-node-out", DRV_PROP_INT, 1, 64, NULL, "2",
     NULL, "live migrations leaving one node at a time"},
    {DRV_PROP_MIGRATION_LIMIT_NODE_IN, "migration-limit-node-in", DRV_PROP_INT, 1, 64, NULL, "2",
     NULL, "live migrations arriving on one node at a time"},
    {DRV_PROP_MIGRATION_LIMIT_CLUSTER, "migration-limit-cluster", DRV_PROP_INT, 1, 1024, NULL, "8",
     NULL, "live migrations in the whole cluster at a time"},
    {DRV_PROP_MIGRATION_TIMEOUT, "migration-timeout", DRV_PROP_DURATION, 1, 86400, NULL, "600", "s",
     "a live migration running longer is cancelled"},
    {DRV_PROP_MIGRATION_MAX_DOWNTIME, "migration-max-downtime", DRV_PROP_INT, 1, 60000, NULL, "300",
     "ms", "longest pause a live migration may impose on the VM"},
    {DRV_PROP_BALANCE_LEVEL, "balance-level", DRV_PROP_ENUM, 0, 0, balance_choices, "off", NULL,
     "how eagerly running VMs are moved to even out the load"},
};

const drv_prop_t *drv_prop_all(size_t *n)
{
    *n = DRV_PROP_COUNT;
    return props;
}

const drv_prop_t *drv_prop_get(drv_prop_id_t id)
{
    return (unsigned)id < DRV_PROP_COUNT ? &props[id] : NULL;
}

const drv_prop_t *drv_prop_lookup(const char *key)
{
    for (size_t i = 0; key != NULL && i < DRV_PROP_COUNT; i++) {
        if (strcmp(props[i].key, key) == 0) {
            return &props[i];
        }
    }
    return NULL;
}

char *drv_prop_keys(void)
{
    GString *s = g_string_new(NULL);

    for (size_t i = 0; i < DRV_PROP_COUNT; i++) {
        g_string_append_printf(s, "%s%s", i ? ", " : "", props[i].key);
    }
    return g_string_free(s, FALSE);
}

const char *drv_prop_type_str(drv_prop_type_t t)
{
    switch (t) {
    case DRV_PROP_INT:
        return "integer";
    case DRV_PROP_DURATION:
        return "duration";
    case DRV_PROP_BOOL:
        return "boolean";
    case DRV_PROP_ENUM:
        return "enum";
    }
    return "?";
}

static bool parse_int(const char *s, int64_t *out)
{
    gint64 v = 0;

    /* decimal digits only, optional minus: no spaces, no 0x, no + */
    if (s[0] == '\0' || (s[0] != '-' && !g_ascii_isdigit(s[0]))) {
        return false;
    }
    if (!g_ascii_string_to_signed(s, 10, G_MININT64, G_MAXINT64, &v, NULL)) {
        return false;
    }
    *out = v;
    return true;
}

static bool parse_duration(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    int64_t mult = 1;
    g_autofree char *num = NULL;
    int64_t v = 0;

    if (n > 1 && !g_ascii_isdigit(s[n - 1])) {
        switch (s[n - 1]) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        default:
            return false;
        }
        n--;
    }
    num = g_strndup(s, n);
    if (!parse_int(num, &v) || v < 0 || v > G_MAXINT64 / mult) {
        return false;
    }
    *out = v * mult;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};

    for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (g_ascii_strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* VALUE for P: canonical text, or NULL with *ERR. */
static char *canonical(const drv_prop_t *p, const char *value, char **err)
{
    int64_t v = 0;
    bool b = false;

    switch (p->type) {
    case DRV_PROP_INT:
    case DRV_PROP_DURATION:
        if (!(p->type == DRV_PROP_INT ? parse_int(value, &v) : parse_duration(value, &v)) ||
            v < p->min || v > p->max) {
            *err = g_strdup_printf(
                "%s must be %s from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT "%s%s, not '%s'",
                p->key, p->type == DRV_PROP_INT ? "an integer" : "a duration", (gint64)p->min,
                (gint64)p->max, p->unit ? " " : "", p->unit ? p->unit : "", value);
            return NULL;
        }
        return g_strdup_printf("%" G_GINT64_FORMAT, (gint64)v);
    case DRV_PROP_BOOL:
        if (!parse_bool(value, &b)) {
            *err = g_strdup_printf("%s must be true or false, not '%s'", p->key, value);
            return NULL;
        }
        return g_strdup(b ? "true" : "false");
    case DRV_PROP_ENUM:
        for (size_t i = 0; p->choices[i] != NULL; i++) {
            if (strcmp(p->choices[i], value) == 0) {
                return g_strdup(value);
            }
        }
        {
            g_autofree char *list = g_strjoinv(" | ", (char **)p->choices);

            *err = g_strdup_printf("%s must be one of %s, not '%s'", p->key, list, value);
        }
        return NULL;
    }
    *err = g_strdup("unknown property type");
    return NULL;
}

int drv_prop_parse(const char *key, const char *value, char **canon, char **err)
{
    const drv_prop_t *p = drv_prop_lookup(key);
    char *e = NULL;
    char *c = NULL;

    if (canon != NULL) {
        *canon = NULL;
    }
    if (err != NULL) {
        *err = NULL;
    }
    if (p == NULL) {
        g_autofree char *keys = drv_prop_keys();

        e = g_strdup_printf("unknown property '%s' (valid: %s)", key ? key : "", keys);
    } else if (value == NULL) {
        e = g_strdup_printf("%s needs a value", key);
    } else {
        c = canonical(p, value, &e);
    }
    if (c == NULL) {
        if (err != NULL) {
            *err = e;
        } else {
            g_free(e);
        }
        return DRV_ERR_BAD_ARGS;
    }
    if (canon != NULL) {
        *canon = c;
    } else {
        g_free(c);
    }
    return 0;
}

int drv_prop_check_setting(const char *setting_key, const char *value)
{
    size_t n = strlen(DRV_PROP_PREFIX);

    if (setting_key == NULL || strncmp(setting_key, DRV_PROP_PREFIX, n) != 0) {
        return 0;
    }
    return drv_prop_parse(setting_key + n, value, NULL, NULL);
}

char *drv_prop_setting_key(const drv_prop_t *p)
{
    return g_strconcat(DRV_PROP_PREFIX, p->key, NULL);
}

const char *drv_prop_value(const drv_state_t *st, drv_prop_id_t id, bool *is_default)
{
    const drv_prop_t *p = drv_prop_get(id);
    const char *v = NULL;

    g_return_val_if_fail(p != NULL, NULL);
    if (st != NULL) {
        g_autofree char *key = drv_prop_setting_key(p);

        v = g_hash_table_lookup(st->settings, key);
    }
    if (is_default != NULL) {
        *is_default = v == NULL;
    }
    return v != NULL ? v : p->def;
}

/* The value of ID as canonical text: the stored one when it parses, else the default. */
static const char *checked_value(const drv_state_t *st, drv_prop_id_t id)
{
    const drv_prop_t *p = drv_prop_get(id);
    const char *v = drv_prop_value(st, id, NULL);

    if (v != p->def && drv_prop_parse(p->key, v, NULL, NULL) != 0) {
        return p->def;
    }
    return v;
}

int64_t drv_prop_int(const drv_state_t *st, drv_prop_id_t id)
{
    const drv_prop_t *p = drv_prop_get(id);
    int64_t v = 0;

    g_return_val_if_fail(p != NULL && (p->type == DRV_PROP_INT || p->type == DRV_PROP_DURATION), 0);
    if (!parse_duration(checked_value(st, id), &v)) {
        parse_int(p->def, &v);
    }
    return v;
}

bool drv_prop_bool(const drv_state_t *st, drv_prop_id_t id)
{
    const drv_prop_t *p = drv_prop_get(id);
    bool b = false;

    g_return_val_if_fail(p != NULL && p->type == DRV_PROP_BOOL, false);
    if (!parse_bool(checked_value(st, id), &b)) {
        parse_bool(p->def, &b);
    }
    return b;
}

const char *drv_prop_str(const drv_state_t *st, drv_prop_id_t id)
{
    g_return_val_if_fail(drv_prop_get(id) != NULL, NULL);
    return checked_value(st, id);
}
