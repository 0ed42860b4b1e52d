/* Argument parsing for the drover CLI, kept free of I/O so that it can be unit-tested.
 *
 *   drover [--output-as text|json] [--timeout SEC] [--ipc-name NAME] COMMAND ...
 *   COMMAND: status | node list | node standby|online|maintenance|ready [NODE]
 *            | resource add NAME --domain-xml PATH [ADD OPTIONS] | resource list
 *            | resource remove|start|stop|clear|show NAME | resource move NAME NODE
 *            | property list | property set KEY VALUE | property unset KEY
 *            | simulate ... | help | version
 * Global options go before the command (and, except for simulate, may also follow it);
 * resource options only after the word `resource`. */
#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "drover/results.h"
#include "cli.h"
#include "drv_props.h"
#include "drv_state.h"

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
           "  resource list                one line per VM resource\n"
           "  resource show NAME [--xml]   everything about a resource (--xml: with its XML)\n"
           "  resource add NAME --domain-xml PATH [--priority high|medium|low]\n"
           "      [--prefer NODE[:WEIGHT]]... [--anti-affinity GROUP]... [--no-migrate]\n"
           "      [--cpu N] [--memory MIB] [--stopped]\n"
           "                               manage a VM (libvirt domain XML) as a resource\n"
           "  resource remove NAME         stop it everywhere and forget it\n"
           "  resource start|stop NAME     set its target role (start also clears failures)\n"
           "  resource move NAME NODE      run it on NODE until `resource clear`\n"
           "  resource clear NAME          drop the move constraint\n"
           "  property list                every cluster property, its value and default\n"
           "  property set KEY VALUE       set a cluster property (replicated)\n"
           "  property unset KEY           back to the property's default\n"
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
           "4 no quorum, 5 unknown node or resource, 6 timeout, 7 permission denied,\n"
           "8 the target node cannot take the VM.\n";
}

void drv_cli_args_clear(drv_cli_args_t *a)
{
    if (a == NULL) {
        return;
    }
    g_free(a->ipc_name);
    g_free(a->node);
    g_free(a->res_name);
    g_free(a->xml_path);
    g_free(a->prop_key);
    g_free(a->prop_value);
    if (a->prefer != NULL) {
        g_ptr_array_free(a->prefer, TRUE);
    }
    if (a->anti_affinity != NULL) {
        g_ptr_array_free(a->anti_affinity, TRUE);
    }
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

/* --- resource options ------------------------------------------------------------------ */

enum {
    RO_DOMAIN_XML = 1 << 0,
    RO_PRIORITY = 1 << 1,
    RO_PREFER = 1 << 2,
    RO_ANTI = 1 << 3,
    RO_NO_MIGRATE = 1 << 4,
    RO_CPU = 1 << 5,
    RO_MEMORY = 1 << 6,
    RO_STOPPED = 1 << 7,
    RO_XML = 1 << 8,
    RO_ADD_ONLY = RO_DOMAIN_XML | RO_PRIORITY | RO_PREFER | RO_ANTI | RO_NO_MIGRATE | RO_CPU |
                  RO_MEMORY | RO_STOPPED,
};

typedef struct res_opt {
    const char *name;
    unsigned int bit;
    bool has_value;
} res_opt_t;

static const res_opt_t res_opts[] = {
    {"domain-xml", RO_DOMAIN_XML, true},
    {"priority", RO_PRIORITY, true},
    {"prefer", RO_PREFER, true},
    {"anti-affinity", RO_ANTI, true},
    {"no-migrate", RO_NO_MIGRATE, false},
    {"cpu", RO_CPU, true},
    {"memory", RO_MEMORY, true},
    {"stopped", RO_STOPPED, false},
    {"xml", RO_XML, false},
};

static void pref_free(gpointer p)
{
    drv_cli_pref_t *pf = p;

    if (pf != NULL) {
        g_free(pf->node);
        g_free(pf);
    }
}

static int parse_prefer(const char *val, drv_cli_args_t *out, char **err)
{
    const char *colon = strrchr(val, ':');
    g_autofree char *node = colon ? g_strndup(val, (gsize)(colon - val)) : g_strdup(val);
    guint64 w = DRV_RES_DEFAULT_WEIGHT;

    if (colon != NULL && (!g_ascii_string_to_unsigned(colon + 1, 10, 0, G_MAXUINT64, &w, NULL) ||
                          !drv_resource_weight_valid(w))) {
        return fail(err, "--prefer %s: the weight must be a number from 1 to 1000000", val);
    }
    if (!valid_node_name(node)) {
        return fail(err, "--prefer %s: invalid node name", val);
    }
    if (out->prefer == NULL) {
        out->prefer = g_ptr_array_new_with_free_func(pref_free);
    }
    for (guint k = 0; k < out->prefer->len; k++) {
        const drv_cli_pref_t *p = g_ptr_array_index(out->prefer, k);
        if (strcmp(p->node, node) == 0) {
            return fail(err, "--prefer: node '%s' given twice", node);
        }
    }
    drv_cli_pref_t *p = g_new0(drv_cli_pref_t, 1);
    p->node = g_steal_pointer(&node);
    p->weight = (unsigned int)w;
    g_ptr_array_add(out->prefer, p);
    return 0;
}

/* Try ARGV[*I] as a resource option. Returns 1 if consumed (its bit added to *SEEN), 0 if not
 * a resource option, or a negative code. */
static int parse_resource_opt(int argc, char **argv, int *i, drv_cli_args_t *out,
                              unsigned int *seen, char **err)
{
    const char *arg = argv[*i];
    const char *name = arg + 2;
    const char *val = strchr(name, '=');
    size_t nlen = val ? (size_t)(val - name) : strlen(name);
    const res_opt_t *o = NULL;
    guint64 n = 0;

    if (strncmp(arg, "--", 2) != 0) {
        return 0;
    }
    for (size_t k = 0; k < G_N_ELEMENTS(res_opts); k++) {
        if (strlen(res_opts[k].name) == nlen && strncmp(res_opts[k].name, name, nlen) == 0) {
            o = &res_opts[k];
        }
    }
    if (o == NULL) {
        return 0;
    }
    if (!o->has_value) {
        if (val != NULL) {
            return fail(err, "option '--%s' takes no value", o->name);
        }
        *seen |= o->bit;
        if (o->bit == RO_NO_MIGRATE) {
            out->no_migrate = true;
        } else if (o->bit == RO_STOPPED) {
            out->stopped = true;
        } else {
            out->show_xml = true;
        }
        return 1;
    }
    if (val != NULL) {
        val++;
    } else {
        if (*i + 1 >= argc) {
            return fail(err, "option '--%s' needs a value", o->name);
        }
        val = argv[++*i];
    }
    if ((*seen & o->bit) && o->bit != RO_PREFER && o->bit != RO_ANTI) {
        return fail(err, "option '--%s' given twice", o->name);
    }
    *seen |= o->bit;
    switch (o->bit) {
    case RO_DOMAIN_XML:
        if (*val == '\0') {
            return fail(err, "%s", "--domain-xml needs a file name");
        }
        out->xml_path = g_strdup(val);
        break;
    case RO_PRIORITY: {
        uint8_t p = 0;
        if (drv_priority_parse(val, &p) != 0) {
            return fail(err, "--priority must be high, medium or low, not '%s'", val);
        }
        out->priority = p;
        break;
    }
    case RO_PREFER:
        return parse_prefer(val, out, err) == 0 ? 1 : DRV_ERR_BAD_ARGS;
    case RO_ANTI:
        if (!drv_resource_label_valid(val)) {
            return fail(err, "invalid --anti-affinity group '%s'", val);
        }
        if (out->anti_affinity == NULL) {
            out->anti_affinity = g_ptr_array_new_with_free_func(g_free);
        }
        for (guint k = 0; k < out->anti_affinity->len; k++) {
            if (strcmp(g_ptr_array_index(out->anti_affinity, k), val) == 0) {
                return fail(err, "--anti-affinity: group '%s' given twice", val);
            }
        }
        g_ptr_array_add(out->anti_affinity, g_strdup(val));
        break;
    case RO_CPU:
        if (!g_ascii_string_to_unsigned(val, 10, 0, G_MAXUINT64, &n, NULL) ||
            !drv_resource_cpu_valid(n)) {
            return fail(err, "--cpu must be a number of vCPUs from 1 to 4096, not '%s'", val);
        }
        out->cpu = (unsigned int)n;
        break;
    case RO_MEMORY:
        if (!g_ascii_string_to_unsigned(val, 10, 0, G_MAXUINT64, &n, NULL) ||
            !drv_resource_memory_valid(n)) {
            return fail(err, "--memory must be a number of MiB from 1 to 4294967296, not '%s'",
                        val);
        }
        out->memory_mib = n;
        break;
    default:
        break;
    }
    return 1;
}

typedef struct res_verb {
    const char *verb;
    drv_cli_cmd_t cmd;
    int nargs; /* words after the verb */
} res_verb_t;

static const res_verb_t res_verbs[] = {
    {"add", DRV_CLI_RES_ADD, 1},     {"remove", DRV_CLI_RES_REMOVE, 1},
    {"start", DRV_CLI_RES_START, 1}, {"stop", DRV_CLI_RES_STOP, 1},
    {"show", DRV_CLI_RES_SHOW, 1},   {"move", DRV_CLI_RES_MOVE, 2},
    {"clear", DRV_CLI_RES_CLEAR, 1}, {"list", DRV_CLI_RES_LIST, 0},
};

static int parse_resource(GPtrArray *words, unsigned int seen, drv_cli_args_t *out, char **err)
{
    const res_verb_t *v = NULL;
    const char *verb;

    if (words->len < 2) {
        return fail(err, "%s",
                    "resource needs a subcommand: list, show, add, remove, start, stop, move or "
                    "clear");
    }
    verb = g_ptr_array_index(words, 1);
    for (size_t k = 0; k < G_N_ELEMENTS(res_verbs); k++) {
        if (strcmp(res_verbs[k].verb, verb) == 0) {
            v = &res_verbs[k];
        }
    }
    if (v == NULL) {
        return fail(err,
                    "unknown resource subcommand '%s' (list, show, add, remove, start, stop, "
                    "move, clear)",
                    verb);
    }
    if ((int)words->len - 2 != v->nargs) {
        if (v->nargs == 0) {
            return fail(err, "resource %s takes no argument (got '%s')", verb,
                        (const char *)g_ptr_array_index(words, 2));
        }
        return fail(err, "resource %s needs %s", verb,
                    v->nargs == 2 ? "NAME and NODE" : "exactly one NAME");
    }
    if ((seen & RO_ADD_ONLY) && v->cmd != DRV_CLI_RES_ADD) {
        return fail(err, "resource %s takes none of the options of resource add", verb);
    }
    if ((seen & RO_XML) && v->cmd != DRV_CLI_RES_SHOW) {
        return fail(err, "%s", "--xml is an option of resource show only");
    }
    if (v->nargs > 0) {
        const char *name = g_ptr_array_index(words, 2);
        if (!drv_resource_name_valid(name)) {
            return fail(err,
                        "invalid resource name '%s' (1-64 characters of A-Z a-z 0-9 _ . -, not "
                        "starting with - or .)",
                        name);
        }
        out->res_name = g_strdup(name);
    }
    if (v->nargs == 2) {
        const char *node = g_ptr_array_index(words, 3);
        if (!valid_node_name(node)) {
            return fail(err, "invalid node name '%s'", node);
        }
        out->node = g_strdup(node);
    }
    if (v->cmd == DRV_CLI_RES_ADD && out->xml_path == NULL) {
        return fail(err, "%s", "resource add needs --domain-xml PATH");
    }
    out->cmd = v->cmd;
    return 0;
}

/* property list | property set KEY VALUE | property unset KEY, checked with the registry
 * droverd and the apply use too. */
static int parse_property(GPtrArray *words, drv_cli_args_t *out, char **err)
{
    const char *verb = words->len > 1 ? g_ptr_array_index(words, 1) : NULL;
    guint want;

    if (verb == NULL) {
        return fail(err, "%s", "property needs a subcommand: list, set or unset");
    }
    if (strcmp(verb, "list") == 0) {
        out->cmd = DRV_CLI_PROP_LIST;
        want = 2;
    } else if (strcmp(verb, "set") == 0) {
        out->cmd = DRV_CLI_PROP_SET;
        want = 4;
    } else if (strcmp(verb, "unset") == 0) {
        out->cmd = DRV_CLI_PROP_UNSET;
        want = 3;
    } else {
        return fail(err, "unknown property subcommand '%s' (list, set, unset)", verb);
    }
    if (words->len != want) {
        out->cmd = DRV_CLI_NONE;
        return fail(err, "property %s %s", verb,
                    want == 2   ? "takes no argument"
                    : want == 3 ? "needs exactly one KEY"
                                : "needs KEY and VALUE");
    }
    if (want >= 3) {
        const char *key = g_ptr_array_index(words, 2);
        const char *value = want == 4 ? g_ptr_array_index(words, 3) : NULL;
        char *canon = NULL;

        if (drv_prop_lookup(key) == NULL || value != NULL) {
            int rc = drv_prop_parse(key, value ? value : "", &canon, err);

            if (rc != 0) {
                out->cmd = DRV_CLI_NONE;
                return rc;
            }
        }
        out->prop_key = g_strdup(key);
        out->prop_value = canon;
    }
    return 0;
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
    unsigned int res_seen = 0;
    int rc;

    memset(out, 0, sizeof(*out));
    out->priority = -1;
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
            if (words->len > 0 && strcmp(g_ptr_array_index(words, 0), "resource") == 0) {
                rc = parse_resource_opt(argc, argv, &i, out, &res_seen, err);
                if (rc < 0) {
                    return rc;
                }
                if (rc > 0) {
                    continue;
                }
            }
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
    if (strcmp(cmd, "resource") == 0) {
        return parse_resource(words, res_seen, out, err);
    }
    if (strcmp(cmd, "property") == 0) {
        return parse_property(words, out, err);
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
