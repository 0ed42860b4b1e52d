/* Fence-device parameters, the checks made before an agent runs, the secret table, and the
 * text an agent reads on its stdin. Pure: no I/O except the stat/access of the agent path. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib.h>

#include "drover/results.h"
#include "drv_fence.h"

struct drv_fence_params {
    GPtrArray *keys;   /* char *, in the order first set */
    GPtrArray *values; /* char *, same index */
};

static const char *const action_names[DRV_FENCE_ACT_N] = {
    [DRV_FENCE_ACT_OFF] = "off",           [DRV_FENCE_ACT_ON] = "on",
    [DRV_FENCE_ACT_REBOOT] = "reboot",     [DRV_FENCE_ACT_STATUS] = "status",
    [DRV_FENCE_ACT_MONITOR] = "monitor",   [DRV_FENCE_ACT_LIST] = "list",
    [DRV_FENCE_ACT_METADATA] = "metadata",
};

/* Keys the runner writes itself. "option" is fence-agents' old name for "action": a device
 * parameter called so would override the action. */
static const char *const reserved_keys[] = {"action", "option", "nodename"};

/* The one table of secret parameter names (case-insensitive). Redacting a harmless parameter
 * costs a little readability; printing a password costs the cluster. */
static const char *const secret_substrings[] = {"passw", "secret", "key", "token", "credential"};
static const char *const secret_exact[] = {"community", "hexadecimal_kg"};

const char *drv_fence_action_str(drv_fence_action_t a)
{
    return (unsigned)a < DRV_FENCE_ACT_N ? action_names[a] : "?";
}

int drv_fence_action_parse(const char *s, drv_fence_action_t *a)
{
    for (unsigned i = 0; s && i < DRV_FENCE_ACT_N; i++) {
        if (strcmp(s, action_names[i]) == 0) {
            *a = (drv_fence_action_t)i;
            return 0;
        }
    }
    return DRV_ERR_BAD_ARGS;
}

const char *drv_fence_outcome_str(drv_fence_outcome_t o)
{
    switch (o) {
    case DRV_FENCE_RES_OK:
        return "ok";
    case DRV_FENCE_RES_OFF:
        return "off";
    case DRV_FENCE_RES_FAILED:
        return "failed";
    case DRV_FENCE_RES_TIMEOUT:
        return "timed out";
    case DRV_FENCE_RES_SPAWN_ERROR:
        return "could not be started";
    }
    return "?";
}

bool drv_fence_result_succeeded(const drv_fence_result_t *r)
{
    return r && (r->outcome == DRV_FENCE_RES_OK || r->outcome == DRV_FENCE_RES_OFF);
}

bool drv_fence_param_is_secret(const char *key)
{
    g_autofree char *low = NULL;

    if (!key) {
        return false;
    }
    low = g_ascii_strdown(key, -1);
    for (size_t i = 0; i < G_N_ELEMENTS(secret_exact); i++) {
        if (strcmp(low, secret_exact[i]) == 0) {
            return true;
        }
    }
    for (size_t i = 0; i < G_N_ELEMENTS(secret_substrings); i++) {
        if (strstr(low, secret_substrings[i])) {
            return true;
        }
    }
    return false;
}

static void set_err(char **errmsg, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void set_err(char **errmsg, const char *fmt, ...)
{
    va_list ap;

    if (!errmsg) {
        return;
    }
    va_start(ap, fmt);
    *errmsg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

static bool key_ok(const char *key)
{
    if (!key || !*key) {
        return false;
    }
    for (const char *c = key; *c; c++) {
        if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-') {
            return false;
        }
    }
    return true;
}

/* A C string cannot hold a NUL; a line break would end the line early and start another. */
static bool value_ok(const char *value)
{
    return value && !strpbrk(value, "\r\n");
}

static int check_pair(const char *key, const char *value, char **errmsg)
{
    if (!key_ok(key)) {
        set_err(errmsg, "invalid fence parameter name '%s' (allowed: letters, digits, _ and -)",
                key ? key : "");
        return DRV_ERR_BAD_ARGS;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(reserved_keys); i++) {
        if (g_ascii_strcasecmp(key, reserved_keys[i]) == 0) {
            set_err(errmsg, "fence parameter '%s' is set by drover itself, not by the device", key);
            return DRV_ERR_BAD_ARGS;
        }
    }
    if (!value_ok(value)) {
        /* never the value: it may be a password */
        set_err(errmsg, "the value of fence parameter '%s' %s", key,
                value ? "contains a line break" : "is missing");
        return DRV_ERR_BAD_ARGS;
    }
    return 0;
}

drv_fence_params_t *drv_fence_params_new(void)
{
    drv_fence_params_t *p = g_new0(drv_fence_params_t, 1);

    p->keys = g_ptr_array_new_with_free_func(g_free);
    p->values = g_ptr_array_new_with_free_func(g_free);
    return p;
}

void drv_fence_params_free(drv_fence_params_t *p)
{
    if (!p) {
        return;
    }
    g_ptr_array_unref(p->keys);
    /* values may be passwords: do not leave them in freed memory */
    for (guint i = 0; i < p->values->len; i++) {
        char *v = g_ptr_array_index(p->values, i);

        memset(v, 0, strlen(v));
    }
    g_ptr_array_unref(p->values);
    g_free(p);
}

drv_fence_params_t *drv_fence_params_copy(const drv_fence_params_t *p)
{
    drv_fence_params_t *c = drv_fence_params_new();

    for (guint i = 0; p && i < p->keys->len; i++) {
        g_ptr_array_add(c->keys, g_strdup(g_ptr_array_index(p->keys, i)));
        g_ptr_array_add(c->values, g_strdup(g_ptr_array_index(p->values, i)));
    }
    return c;
}

static int find_key(const drv_fence_params_t *p, const char *key)
{
    for (guint i = 0; p && key && i < p->keys->len; i++) {
        if (strcmp(g_ptr_array_index(p->keys, i), key) == 0) {
            return (int)i;
        }
    }
    return -1;
}

int drv_fence_params_set(drv_fence_params_t *p, const char *key, const char *value, char **errmsg)
{
    int rc;
    int i;

    if (!p) {
        set_err(errmsg, "no parameter set");
        return DRV_ERR_BAD_ARGS;
    }
    rc = check_pair(key, value, errmsg);
    if (rc != 0) {
        return rc;
    }
    i = find_key(p, key);
    if (i >= 0) {
        char *old = g_ptr_array_index(p->values, i);

        memset(old, 0, strlen(old));
        g_free(old);
        p->values->pdata[i] = g_strdup(value);
    } else {
        g_ptr_array_add(p->keys, g_strdup(key));
        g_ptr_array_add(p->values, g_strdup(value));
    }
    return 0;
}

int drv_fence_params_parse(drv_fence_params_t *p, const char *kv, char **errmsg)
{
    const char *eq = kv ? strchr(kv, '=') : NULL;
    g_autofree char *key = NULL;

    if (!eq) {
        set_err(errmsg, "fence parameter '%s' is not of the form KEY=VALUE",
                kv && !drv_fence_param_is_secret(kv) ? kv : "");
        return DRV_ERR_BAD_ARGS;
    }
    key = g_strndup(kv, (gsize)(eq - kv));
    return drv_fence_params_set(p, key, eq + 1, errmsg);
}

const char *drv_fence_params_get(const drv_fence_params_t *p, const char *key)
{
    int i = find_key(p, key);

    return i >= 0 ? g_ptr_array_index(p->values, i) : NULL;
}

size_t drv_fence_params_count(const drv_fence_params_t *p)
{
    return p ? p->keys->len : 0;
}

const char *drv_fence_params_key(const drv_fence_params_t *p, size_t i)
{
    return p && i < p->keys->len ? g_ptr_array_index(p->keys, i) : NULL;
}

const char *drv_fence_params_value(const drv_fence_params_t *p, size_t i)
{
    return p && i < p->values->len ? g_ptr_array_index(p->values, i) : NULL;
}

char *drv_fence_params_redacted(const drv_fence_params_t *p)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; p && i < p->keys->len; i++) {
        const char *k = g_ptr_array_index(p->keys, i);

        g_string_append_printf(s, "%s%s=%s", i ? " " : "", k,
                               drv_fence_param_is_secret(k) ? DRV_FENCE_REDACTED
                                                            : (const char *)p->values->pdata[i]);
    }
    return g_string_free(s, FALSE);
}

char *drv_fence__stdin_text(const drv_fence_params_t *params, drv_fence_action_t action,
                            const char *target)
{
    GString *s = g_string_new(NULL);
    bool device_plug = drv_fence_params_get(params, "plug") || drv_fence_params_get(params, "port");

    g_string_append_printf(s, "action=%s\n", drv_fence_action_str(action));
    if (target) {
        g_string_append_printf(s, "nodename=%s\n", target);
        /* a device whose parameters name the plug (a one-outlet device, or a caller that mapped
         * the node to its plug) keeps it; otherwise the plug is the node's name */
        if (!device_plug) {
            g_string_append_printf(s, "plug=%s\nport=%s\n", target, target);
        }
    }
    for (guint i = 0; params && i < params->keys->len; i++) {
        g_string_append_printf(s, "%s=%s\n", (const char *)params->keys->pdata[i],
                               (const char *)params->values->pdata[i]);
    }
    return g_string_free(s, FALSE);
}

int drv_fence_validate(const char *agent, const drv_fence_params_t *params, const char *target,
                       bool check_agent_file, char **errmsg)
{
    struct stat st;
    g_autofree char *text = NULL;
    size_t len;

    if (!agent || !g_path_is_absolute(agent)) {
        set_err(errmsg, "fence agent '%s' is not an absolute path", agent ? agent : "");
        return DRV_ERR_BAD_ARGS;
    }
    if (!value_ok(agent)) {
        set_err(errmsg, "fence agent path contains a line break");
        return DRV_ERR_BAD_ARGS;
    }
    if (check_agent_file) {
        if (stat(agent, &st) != 0) {
            set_err(errmsg, "fence agent %s: %s", agent, g_strerror(errno));
            return DRV_ERR_BAD_ARGS;
        }
        if (!S_ISREG(st.st_mode)) {
            set_err(errmsg, "fence agent %s is not a regular file", agent);
            return DRV_ERR_BAD_ARGS;
        }
        if (access(agent, X_OK) != 0) {
            set_err(errmsg, "fence agent %s is not executable: %s", agent, g_strerror(errno));
            return DRV_ERR_BAD_ARGS;
        }
    }
    if (target && (!*target || !value_ok(target))) {
        set_err(errmsg, "fence target %s", *target ? "contains a line break" : "is empty");
        return DRV_ERR_BAD_ARGS;
    }
    /* parameters are checked when set; check again in case of a hand-built set */
    for (guint i = 0; params && i < params->keys->len; i++) {
        int rc = check_pair(params->keys->pdata[i], params->values->pdata[i], errmsg);

        if (rc != 0) {
            return rc;
        }
    }
    text = drv_fence__stdin_text(params, DRV_FENCE_ACT_METADATA, target);
    len = strlen(text);
    memset(text, 0, len);
    if (len > DRV_FENCE_STDIN_MAX) {
        set_err(errmsg, "fence parameters too large (%zu bytes for the agent's stdin, at most %d)",
                len, DRV_FENCE_STDIN_MAX);
        return DRV_ERR_BAD_ARGS;
    }
    return 0;
}
