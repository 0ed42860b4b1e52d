/* droverd's configuration file: a GKeyFile with [daemon], [logging] and [resources]. Every key is
 * optional; unknown groups or keys are errors so that a typo is not silently ignored. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "drover/results.h"
#include "agent.h"

typedef enum { KEY_STRING, KEY_PATH, KEY_BOOL, KEY_UINT } key_type_t;

typedef struct key_spec {
    const char *group;
    const char *key;
    key_type_t type;
    size_t offset;
} key_spec_t;

#define CFG_OFF(field) offsetof(drv_agent_config_t, field)

static const key_spec_t keys[] = {
    {"daemon", "state_dir", KEY_PATH, CFG_OFF(state_dir)},
    {"daemon", "cpg_group", KEY_STRING, CFG_OFF(cpg_group)},
    {"daemon", "ipc_name", KEY_STRING, CFG_OFF(ipc_name)},
    {"daemon", "request_timeout_ms", KEY_UINT, CFG_OFF(request_timeout_ms)},
    {"logging", "logfile", KEY_PATH, CFG_OFF(logfile)},
    {"logging", "to_stderr", KEY_BOOL, CFG_OFF(to_stderr)},
    {"logging", "to_syslog", KEY_BOOL, CFG_OFF(to_syslog)},
    {"logging", "debug", KEY_BOOL, CFG_OFF(debug)},
    {"logging", "blackbox", KEY_BOOL, CFG_OFF(blackbox)},
    {"resources", "libvirt_uri", KEY_STRING, CFG_OFF(libvirt_uri)},
    {"resources", "stop_grace_ms", KEY_UINT, CFG_OFF(stop_grace_ms)},
    {"resources", "migration_uri", KEY_STRING, CFG_OFF(migration_uri)},
    {"resources", "migration_transport", KEY_STRING, CFG_OFF(migration_transport)},
    {"resources", "cpu", KEY_UINT, CFG_OFF(cpu)},
    {"resources", "memory_mib", KEY_UINT, CFG_OFF(memory_mib)},
    {"fencing", "watchdog", KEY_BOOL, CFG_OFF(watchdog)},
    {"fencing", "watchdog_device", KEY_PATH, CFG_OFF(watchdog_device)},
    {"fencing", "watchdog_timeout", KEY_UINT, CFG_OFF(watchdog_timeout)},
};

void drv_config_defaults(drv_agent_config_t *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->state_dir = g_strdup("/var/lib/drover");
    cfg->cpg_group = g_strdup("drover");
    cfg->ipc_name = g_strdup("drover");
    cfg->request_timeout_ms = 5000;
    cfg->to_syslog = true;
    cfg->blackbox = true;
    cfg->libvirt_uri = g_strdup("qemu:///system");
    cfg->stop_grace_ms = 5000;
    cfg->migration_uri = g_strdup("qemu+tls://%s/system");
    cfg->watchdog_device = g_strdup("/dev/watchdog");
    cfg->watchdog_timeout = 10;
}

/* A URI template: exactly one %s (the node's address) and no other '%'. */
static bool uri_template_ok(const char *t)
{
    const char *p = t ? strchr(t, '%') : NULL;

    return t == NULL || (p != NULL && p[1] == 's' && strchr(p + 2, '%') == NULL);
}

void drv_config_clear(drv_agent_config_t *cfg)
{
    if (cfg == NULL) {
        return;
    }
    g_free(cfg->path);
    g_free(cfg->state_dir);
    g_free(cfg->cpg_group);
    g_free(cfg->ipc_name);
    g_free(cfg->logfile);
    g_free(cfg->libvirt_uri);
    g_free(cfg->migration_uri);
    g_free(cfg->migration_transport);
    g_free(cfg->watchdog_device);
    memset(cfg, 0, sizeof(*cfg));
}

static const key_spec_t *find_key(const char *group, const char *key)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (strcmp(keys[i].group, group) == 0 && strcmp(keys[i].key, key) == 0) {
            return &keys[i];
        }
    }
    return NULL;
}

static bool known_group(const char *group)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
        if (strcmp(keys[i].group, group) == 0) {
            return true;
        }
    }
    return false;
}

/* Parse one value into CFG; on failure set *ERR (without the file/group/key prefix). */
static bool parse_value(drv_agent_config_t *cfg, GKeyFile *kf, const key_spec_t *spec, char **err)
{
    g_autoptr(GError) gerr = NULL;
    char *field = (char *)cfg + spec->offset;

    switch (spec->type) {
    case KEY_STRING:
    case KEY_PATH: {
        g_autofree char *v = g_key_file_get_string(kf, spec->group, spec->key, &gerr);
        if (v == NULL) {
            *err = g_strdup(gerr->message);
            return false;
        }
        g_strstrip(v);
        if (*v == '\0') {
            *err = g_strdup("empty value");
            return false;
        }
        if (spec->type == KEY_PATH && !g_path_is_absolute(v)) {
            *err = g_strdup_printf("'%s' is not an absolute path", v);
            return false;
        }
        if (spec->type == KEY_STRING && strlen(v) > 100) {
            *err = g_strdup("value longer than 100 characters");
            return false;
        }
        g_free(*(char **)field);
        *(char **)field = g_steal_pointer(&v);
        return true;
    }
    case KEY_BOOL: {
        gboolean b = g_key_file_get_boolean(kf, spec->group, spec->key, &gerr);
        if (gerr != NULL) {
            g_autofree char *raw = g_key_file_get_value(kf, spec->group, spec->key, NULL);
            *err = g_strdup_printf("'%s' is not a boolean (use true or false)", raw ? raw : "");
            return false;
        }
        *(bool *)field = b;
        return true;
    }
    case KEY_UINT: {
        g_autofree char *raw = g_key_file_get_value(kf, spec->group, spec->key, NULL);
        guint64 v = 0;
        if (raw != NULL) {
            g_strstrip(raw);
        }
        if (raw == NULL || !g_ascii_string_to_unsigned(raw, 10, 1, 3600000, &v, NULL)) {
            *err = g_strdup_printf("'%s' is not an integer between 1 and 3600000", raw ? raw : "");
            return false;
        }
        *(guint *)field = (guint)v;
        return true;
    }
    }
    *err = g_strdup("internal error: unknown key type");
    return false;
}

int drv_config_load(drv_agent_config_t *cfg, const char *path, bool must_exist, char **err)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) gerr = NULL;
    g_auto(GStrv) groups = NULL;

    drv_config_defaults(cfg);
    if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &gerr)) {
        if (!must_exist && g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            return 0;
        }
        *err = g_strdup_printf("%s: %s", path, gerr->message);
        return DRV_ERR_CONFIG;
    }
    cfg->path = g_strdup(path);

    groups = g_key_file_get_groups(kf, NULL);
    for (size_t g = 0; groups[g] != NULL; g++) {
        g_auto(GStrv) names = NULL;

        if (!known_group(groups[g])) {
            *err = g_strdup_printf(
                "%s: unknown group [%s] (known: [daemon], [logging], [resources], [fencing])", path,
                groups[g]);
            return DRV_ERR_CONFIG;
        }
        names = g_key_file_get_keys(kf, groups[g], NULL, NULL);
        for (size_t k = 0; names != NULL && names[k] != NULL; k++) {
            const key_spec_t *spec = find_key(groups[g], names[k]);
            g_autofree char *why = NULL;

            if (spec == NULL) {
                *err = g_strdup_printf("%s: [%s] %s: unknown key", path, groups[g], names[k]);
                return DRV_ERR_CONFIG;
            }
            if (!parse_value(cfg, kf, spec, &why)) {
                *err = g_strdup_printf("%s: [%s] %s: %s", path, groups[g], names[k], why);
                return DRV_ERR_CONFIG;
            }
            if ((spec->offset == CFG_OFF(migration_uri) ||
                 spec->offset == CFG_OFF(migration_transport)) &&
                !uri_template_ok(*(char **)((char *)cfg + spec->offset))) {
                *err = g_strdup_printf("%s: [%s] %s: needs exactly one %%s (the node's address) "
                                       "and no other %%",
                                       path, groups[g], names[k]);
                return DRV_ERR_CONFIG;
            }
        }
    }
    if (cfg->watchdog_timeout < 2 || cfg->watchdog_timeout > 600) {
        *err = g_strdup_printf("%s: [fencing] watchdog_timeout: %u is out of range (2-600 s)", path,
                               cfg->watchdog_timeout);
        return DRV_ERR_CONFIG;
    }
    return 0;
}
