/* The drover CLI's internals (not installed): argument parsing (a pure function, unit-tested),
 * the IPC client and the text output. */
#ifndef DRV_CLI_H
#define DRV_CLI_H

#include <stdbool.h>
#include <json-glib/json-glib.h>

#include "drv_fence.h"
#include "drv_state.h"

#define DRV_CLI_DEFAULT_IPC "drover"
#define DRV_CLI_DEFAULT_TIMEOUT_S 10
/* `node fence` waits this long for the fencing to succeed unless --timeout says otherwise */
#define DRV_CLI_FENCE_TIMEOUT_S 120
/* ... and asks droverd how it goes this often */
#define DRV_CLI_FENCE_POLL_MS 250
/* exit status when Ctrl-C stops the wait of `node fence` (the fencing goes on) */
#define DRV_CLI_EXIT_INTERRUPTED 130

typedef enum drv_cli_cmd {
    DRV_CLI_NONE = 0,
    DRV_CLI_HELP,
    DRV_CLI_VERSION,
    DRV_CLI_STATUS,
    DRV_CLI_NODE_LIST,
    DRV_CLI_NODE_SET,
    DRV_CLI_SIMULATE,
    DRV_CLI_RES_ADD,
    DRV_CLI_RES_REMOVE,
    DRV_CLI_RES_START,
    DRV_CLI_RES_STOP,
    DRV_CLI_RES_SHOW,
    DRV_CLI_RES_MOVE,
    DRV_CLI_RES_CLEAR,
    DRV_CLI_RES_LIST,
    DRV_CLI_PROP_LIST,
    DRV_CLI_PROP_SET,
    DRV_CLI_PROP_UNSET,
    DRV_CLI_FENCE_DEV_ADD,
    DRV_CLI_FENCE_DEV_REMOVE,
    DRV_CLI_FENCE_DEV_LIST,
    DRV_CLI_FENCE_DEV_SHOW,
    DRV_CLI_FENCE_LEVEL_ADD,
    DRV_CLI_FENCE_LEVEL_REMOVE,
    DRV_CLI_FENCE_LEVEL_LIST,
    DRV_CLI_FENCE_HISTORY,
    DRV_CLI_NODE_FENCE,
    DRV_CLI_NODE_CONFIRM_DOWN,
} drv_cli_cmd_t;

/* Largest domain XML file `resource add` sends (the replicated state's limit). */
#define DRV_CLI_MAX_XML DRV_RES_MAX_XML

/* resource add --prefer NODE[:WEIGHT] */
typedef struct drv_cli_pref {
    char *node;
    unsigned int weight; /* 1 .. 1,000,000, default 100 */
} drv_cli_pref_t;

typedef enum drv_cli_output { DRV_CLI_OUT_TEXT = 0, DRV_CLI_OUT_JSON } drv_cli_output_t;

typedef struct drv_cli_args {
    drv_cli_cmd_t cmd;
    drv_cli_output_t output;
    unsigned int timeout_s; /* --timeout; 0 = not given (the default applies) */
    char *ipc_name;         /* --ipc-name, NULL = DRV_CLI_DEFAULT_IPC */
    /* node standby|online|maintenance|ready [NODE] */
    const char *attr; /* "standby" or "maintenance" (static string) */
    bool value;
    char *node; /* NULL = the local node */
    /* resource ...: NAME, and NODE (move) in `node` above */
    char *res_name;
    /* resource add */
    char *xml_path;                /* --domain-xml PATH (read by drover.c, not the parser) */
    int priority;                  /* -1 = not given, else 0 low, 1 medium, 2 high */
    GPtrArray *prefer;             /* drv_cli_pref_t *, in order given (NULL when none) */
    GPtrArray *anti_affinity;      /* char *, (NULL when none) */
    bool no_migrate;               /* --no-migrate */
    unsigned int cpu;              /* --cpu, 0 = from the domain XML */
    unsigned long long memory_mib; /* --memory, 0 = from the domain XML */
    bool stopped;                  /* --stopped */
    bool show_xml;                 /* resource show --xml */
    /* property set KEY VALUE | property unset KEY */
    char *prop_key;
    char *prop_value; /* canonical form (drv_prop_parse) */
    /* fence device add NAME --agent PATH [--param K=V]... --nodes N1,N2 |
     * fence device remove|show NAME */
    char *dev_name;
    char *agent;
    drv_fence_params_t *params; /* checked as given (drv_fence_params_parse); NULL: none */
    GPtrArray *fence_nodes;     /* char *, --nodes in order (NULL when not given) */
    /* fence level add NODE INDEX DEVICE... | fence level remove NODE INDEX |
     * fence level list [NODE] | fence history [NODE]: NODE in `node` */
    unsigned int level_index; /* 1-9 */
    GPtrArray *level_devices; /* char * */
    /* node fence NODE [--reboot] | node confirm-down NODE --yes: NODE in `node` */
    bool reboot;
    bool yes;
    /* simulate: the remaining arguments, argv-style, sub[0] = "simulate" */
    int sub_argc;
    char **sub_argv; /* NULL-terminated, owned */
} drv_cli_args_t;

/* Parse ARGV into OUT. Pure: no I/O, no exit. Returns 0, or DRV_ERR_BAD_ARGS with *ERR set
 * (free with g_free). OUT is always safe to pass to drv_cli_args_clear. */
int drv_cli_parse(int argc, char **argv, drv_cli_args_t *out, char **err);
void drv_cli_args_clear(drv_cli_args_t *a);
const char *drv_cli_usage(void);

/* cli_client.c: one request/reply exchange with droverd. Returns 0 and *REPLY (the parsed
 * object, also set when droverd answered with an error), or a DRV_ERR_* code with *ERR. */
int drv_cli_request(const char *ipc_name, JsonNode *request, unsigned int timeout_ms,
                    JsonNode **reply, char **err);

/* cli_output.c */
void drv_cli_print_status(JsonObject *status);
void drv_cli_print_nodes(JsonObject *reply);
/* A `resources` array of the status / resource-list reply, one line per VM. */
void drv_cli_print_resource_lines(JsonArray *resources);
/* Everything about one resource (the resource-show reply's "resource" object). */
void drv_cli_print_resource(JsonObject *res);
void drv_cli_print_json(JsonNode *node);
/* The property-list reply: one line per property. */
void drv_cli_print_properties(JsonObject *reply);
/* Fencing. Parameter values of secret keys (drv_fence_param_is_secret, or marked "secret")
 * are printed as DRV_FENCE_REDACTED whatever the reply holds. The _text functions return
 * what the _print ones print (g_free it). */
char *drv_cli_fence_devices_text(JsonObject *reply);
char *drv_cli_fence_device_text(JsonObject *dev);
void drv_cli_print_fence_devices(JsonObject *reply); /* fence-device-list */
void drv_cli_print_fence_device(JsonObject *dev);    /* the "device" of fence-device-show */
void drv_cli_print_fence_levels(JsonObject *reply);  /* fence-level-list */
void drv_cli_print_fence_history(JsonObject *reply); /* fence-history */
/* One fence history line (an "events" / "history" element) for people. */
char *drv_cli_fence_event_text(JsonObject *e);

#endif
