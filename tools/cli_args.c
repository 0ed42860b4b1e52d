/* Argument parsing for the drover CLI, kept free of I/O so that it can be unit-tested.
 *
 *   drover [--output-as text|json] [--timeout SEC] [--ipc-name NAME] COMMAND ...
 *   COMMAND: status | node list | node standby|online|maintenance|ready [NODE]
 *            | simulate ... | help | version
 * Global options go before the command (and, for status/node, may also follow it). */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "drover/results.h"
#include "cli.h"

const char *drv_cli_usage(void)
{
    return "Usage: drover [OPTION]... COMMAND\n"
           "Manage a Drover cluster through the local droverd.\n"
           "\n"
           "Commands:\n"
           "  status                       cluster, quorum and node summary\n"
           "  node list                    every node of the corosync nodelist\n"
           "  node standby [NODE]          put NODE (default: this node) in standby\n"
           "  node online [NODE]           take NODE out of standby\n"
           "  node maintenance [NODE]      put NODE in maintenance mode\n"
           "  node ready [NODE]            take NODE out of maintenance mode\n"
           "  simulate ...                 offline policy simulation (drover simulate --help)\n"
           "\n"
           "Options:\n"
           "  --output-as text|json        output format (default text)\n"
           "  --timeout SEC                wait at most SEC seconds for droverd (default 10)\n"
           "  --ipc-name NAME              droverd's IPC name (default drover)\n"
           "  -h, --help                   show this help\n"
           "  -V, --version                show the version\n"
           "\n"
           "Exit status: 0 ok, 1 error, 2 bad arguments, 3 droverd not running,\n"
           "4 no quorum, 5 unknown node, 6 timeout, 7 permission denied.\n";
}

void drv_cli_args_clear(drv_cli_args_t *a)
{
    if (a == NULL) {
        return;
    }
    g_free(a->ipc_name);
    g_free(a->node);
    g_strfreev(a->sub_argv);
    memset(a, 0, sizeof(*a));
}

static int fail(char **err, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(char **err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    *err = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return DRV_ERR_BAD_ARGS;
}

/* Try ARGV[*I] as a global option. Returns 1 if consumed, 0 if not an option we know, or a
 * negative code. */
static int parse_global(int argc, char **argv, int *i, drv_cli_args_t *out, char **err)
{
    const char *arg = argv[*i];
    const char *val = NULL;
    const char *name = NULL;
    size_t nlen;

    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        out->cmd = DRV_CLI_HELP;
        return 1;
    }
    if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
        out->cmd = DRV_CLI_VERSION;
        return 1;
    }
    if (strncmp(arg, "--", 2) != 0) {
        return 0;
    }
    /* --name=value or --name value */
    name = arg + 2;
    val = strchr(name, '=');
    nlen = val ? (size_t)(val - name) : strlen(name);
    if (!(nlen == 9 && strncmp(name, "output-as", 9) == 0) &&
        !(nlen == 7 && strncmp(name, "timeout", 7) == 0) &&
        !(nlen == 8 && strncmp(name, "ipc-name", 8) == 0)) {
        return fail(err, "unknown option '%s'", arg);
    }
    if (val != NULL) {
        val++;
    } else {
        if (*i + 1 >= argc) {
            return fail(err, "option '%s' needs a value", arg);
        }
        val = argv[++*i];
    }
    if (strncmp(name, "output-as", 9) == 0) {
        if (strcmp(val, "text") == 0) {
            out->output = DRV_CLI_OUT_TEXT;
        } else if (strcmp(val, "json") == 0) {
            out->output = DRV_CLI_OUT_JSON;
        } else {
            return fail(err, "--output-as must be text or json, not '%s'", val);
        }
    } else if (strncmp(name, "timeout", 7) == 0) {
        guint64 t = 0;
        if (!g_ascii_string_to_unsigned(val, 10, 1, 3600, &t, NULL)) {
            return fail(err,
                        "--timeout must be a number of seconds between 1 and 3600, not "
                        "'%s'",
                        val);
        }
        out->timeout_s = (unsigned int)t;
    } else {
        if (*val == '\0' || strlen(val) > 100) {
            return fail(err, "invalid --ipc-name '%s'", val);
        }
        g_free(out->ipc_name);
        out->ipc_name = g_strdup(val);
    }
    return 1;
}

static bool valid_node_name(const char *s)
{
    if (*s == '\0' || strlen(s) > 255) {
        return false;
    }
    for (; *s; s++) {
        if (g_ascii_iscntrl(*s) || *s == ' ') {
            return false;
        }
    }
    return true;
}

typedef struct node_verb {
    const char *verb;
    const char *attr;
    bool value;
} node_verb_t;

static const node_verb_t node_verbs[] = {
    {"standby", "standby", true},
    {"online", "standby", false},
    {"maintenance", "maintenance", true},
    {"ready", "maintenance", false},
};

int drv_cli_parse(int argc, char **argv, drv_cli_args_t *out, char **err)
{
    g_autoptr(GPtrArray) words = g_ptr_array_new();
    int rc;

    memset(out, 0, sizeof(*out));
    *err = NULL;

    for (int i = 1; i < argc; i++) {
        if (words->len > 0 && strcmp(g_ptr_array_index(words, 0), "simulate") == 0) {
            /* Everything after "simulate" belongs to the simulator. */
            g_ptr_array_add(words, argv[i]);
            continue;
        }
        if (strcmp(argv[i], "--") == 0) {
            for (i++; i < argc; i++) {
                g_ptr_array_add(words, argv[i]);
            }
            break;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            rc = parse_global(argc, argv, &i, out, err);
            if (rc < 0) {
                return rc;
            }
            if (rc == 0) {
                return fail(err, "unknown option '%s'", argv[i]);
            }
            if (out->cmd == DRV_CLI_HELP || out->cmd == DRV_CLI_VERSION) {
                if (words->len == 0 || strcmp(g_ptr_array_index(words, 0), "simulate") != 0) {
                    return 0;
                }
            }
            continue;
        }
        g_ptr_array_add(words, argv[i]);
    }

    if (words->len == 0) {
        return fail(err, "%s", "no command given (try: drover --help)");
    }
    const char *cmd = g_ptr_array_index(words, 0);

    if (strcmp(cmd, "help") == 0) {
        out->cmd = DRV_CLI_HELP;
        return 0;
    }
    if (strcmp(cmd, "version") == 0) {
        out->cmd = DRV_CLI_VERSION;
        return 0;
    }
    if (strcmp(cmd, "status") == 0) {
        if (words->len > 1) {
            return fail(err, "status takes no argument (got '%s')",
                        (const char *)g_ptr_array_index(words, 1));
        }
        out->cmd = DRV_CLI_STATUS;
        return 0;
    }
    if (strcmp(cmd, "simulate") == 0) {
        out->cmd = DRV_CLI_SIMULATE;
        out->sub_argc = (int)words->len;
        out->sub_argv = g_new0(char *, words->len + 1);
        for (guint k = 0; k < words->len; k++) {
            out->sub_argv[k] = g_strdup(g_ptr_array_index(words, k));
        }
        return 0;
    }
    if (strcmp(cmd, "node") != 0) {
        return fail(err, "unknown command '%s' (try: drover --help)", cmd);
    }
    if (words->len < 2) {
        return fail(err, "%s",
                    "node needs a subcommand: list, standby, online, maintenance or ready");
    }
    const char *verb = g_ptr_array_index(words, 1);
    if (strcmp(verb, "list") == 0) {
        if (words->len > 2) {
            return fail(err, "node list takes no argument (got '%s')",
                        (const char *)g_ptr_array_index(words, 2));
        }
        out->cmd = DRV_CLI_NODE_LIST;
        return 0;
    }
    for (size_t k = 0; k < G_N_ELEMENTS(node_verbs); k++) {
        if (strcmp(verb, node_verbs[k].verb) != 0) {
            continue;
        }
        if (words->len > 3) {
            return fail(err, "too many arguments: node %s takes at most one NODE", verb);
        }
        if (words->len == 3) {
            const char *node = g_ptr_array_index(words, 2);
            if (!valid_node_name(node)) {
                return fail(err, "invalid node name '%s'", node);
            }
            out->node = g_strdup(node);
        }
        out->cmd = DRV_CLI_NODE_SET;
        out->attr = node_verbs[k].attr;
        out->value = node_verbs[k].value;
        return 0;
    }
    return fail(err, "unknown node subcommand '%s' (list, standby, online, maintenance, ready)",
                verb);
}
