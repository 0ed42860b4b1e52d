/* Argument parsing for the drover CLI, kept free of I/O so that it can be unit-tested.
 *
 *   drover [--output-as text|json] [--timeout SEC] [--ipc-name NAME] COMMAND ...
 *   COMMAND: status | node list | node standby|online|maintenance|ready [NODE]
 *            | resource add NAME --domain-xml PATH [ADD OPTIONS] | resource list
 *            | resource remove|start|stop|clear|show NAME | resource move NAME NODE
 *            | property list | property set KEY VALUE | property unset KEY
 *            | fence device add NAME --agent PATH [--param K=V]... --nodes N1,N2,...
 *            | fence device remove|show NAME | fence device list
 *            | fence level add NODE INDEX DEVICE... | fence level remove NODE INDEX
 *            | fence level list [NODE] | fence history [NODE]
 *            | node fence NODE [--reboot] | node confirm-down NODE --yes
 *            | simulate ... | help | version
 * Global options go before the command (and, except for simulate, may also follow it);
 * resource options only after the word `resource`, fence device options after `fence`, and
 * --reboot / --yes after `node`. */
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
           "  fence device add NAME --agent PATH [--param KEY=VALUE]... --nodes N1[,N2...]\n"
           "                               a fence device: the agent (an absolute path, on\n"
           "                               every node) and the nodes it can fence\n"
           "  fence device remove NAME     forget a fence device (no level may use it)\n"
           "  fence device list            every fence device (secrets shown as ******)\n"
           "  fence device show NAME       one fence device and the levels that use it\n"
           "  fence level add NODE INDEX DEVICE...\n"
           "                               set fencing level INDEX (1-9) of NODE: all DEVICEs\n"
           "  fence level remove NODE INDEX\n"
           "  fence level list [NODE]      the fencing levels of each node (or NODE)\n"
           "  fence history [NODE]         the replicated fence history, oldest first\n"
           "  node fence NODE [--reboot]   power NODE off (or reboot it) now, from this node,\n"
           "                               and wait for it (--timeout, default 120 s)\n"
           "  node confirm-down NODE --yes tell the cluster NODE is off: its VMs are started\n"
           "                               elsewhere (only when it really is off)\n"
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
           "4 no quorum, 5 unknown node, resource or fence device, 6 timeout,\n"
           "7 permission denied, 8 the target node cannot take the VM,\n"
           "130 Ctrl-C stopped the wait of node fence (the fencing goes on).\n";
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
    g_free(a->dev_name);
    g_free(a->agent);
    drv_fence_params_free(a->params);
    if (a->fence_nodes != NULL) {
        g_ptr_array_free(a->fence_nodes, TRUE);
    }
    if (a->level_devices != NULL) {
        g_ptr_array_free(a->level_devices, TRUE);
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

/* --- fence and node options ------------------------------------------------------------ */

enum {
    FO_AGENT = 1 << 0,
    FO_PARAM = 1 << 1,
    FO_NODES = 1 << 2,
    NO_REBOOT = 1 << 3,
    NO_YES = 1 << 4,
};

static const res_opt_t fence_opts[] = {
    {"agent", FO_AGENT, true},
    {"param", FO_PARAM, true},
    {"nodes", FO_NODES, true},
};

static const res_opt_t node_opts[] = {
    {"reboot", NO_REBOOT, false},
    {"yes", NO_YES, false},
};

static int parse_fence_value(const res_opt_t *o, const char *val, drv_cli_args_t *out, char **err)
{
    switch (o->bit) {
    case FO_AGENT:
        if (val[0] != '/' || strpbrk(val, "\r\n") != NULL || strlen(val) > 1024) {
            return fail(err, "%s",
                        "--agent must be the absolute path of the fence agent (e.g. "
                        "/usr/sbin/fence_ipmilan)");
        }
        out->agent = g_strdup(val);
        return 1;
    case FO_PARAM: {
        size_t before;

        if (out->params == NULL) {
            out->params = drv_fence_params_new();
        }
        before = drv_fence_params_count(out->params);
        /* the message never holds the value: it may be a password */
        if (drv_fence_params_parse(out->params, val, err) != 0) {
            return DRV_ERR_BAD_ARGS;
        }
        if (drv_fence_params_count(out->params) == before) {
            g_autofree char *key = g_strndup(val, (gsize)(strchr(val, '=') - val));
            return fail(err, "--param %s is given twice", key);
        }
        return 1;
    }
    default: { /* FO_NODES */
        g_auto(GStrv) names = g_strsplit(val, ",", -1);

        out->fence_nodes = g_ptr_array_new_with_free_func(g_free);
        for (guint k = 0; names[k] != NULL; k++) {
            if (!valid_node_name(names[k]) || strpbrk(names[k], "\t") != NULL) {
                return fail(err, "--nodes %s: invalid node name '%s'", val, names[k]);
            }
            for (guint j = 0; j < k; j++) {
                if (strcmp(names[j], names[k]) == 0) {
                    return fail(err, "--nodes: node '%s' given twice", names[k]);
                }
            }
            g_ptr_array_add(out->fence_nodes, g_strdup(names[k]));
        }
        return 1;
    }
    }
}

/* Try ARGV[*I] as an option of TABLE (the options of `fence` or of `node`). Returns 1 if
 * consumed (its bit added to *SEEN), 0 if not one of them, or a negative code. */
static int parse_cmd_opt(const res_opt_t *table, size_t n, int argc, char **argv, int *i,
                         drv_cli_args_t *out, unsigned int *seen, char **err)
{
    const char *arg = argv[*i];
    const char *name = arg + 2;
    const char *val = strchr(name, '=');
    size_t nlen = val ? (size_t)(val - name) : strlen(name);
    const res_opt_t *o = NULL;

    if (strncmp(arg, "--", 2) != 0) {
        return 0;
    }
    for (size_t k = 0; k < n; k++) {
        if (strlen(table[k].name) == nlen && strncmp(table[k].name, name, nlen) == 0) {
            o = &table[k];
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
        if (o->bit == NO_REBOOT) {
            out->reboot = true;
        } else {
            out->yes = true;
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
    if ((*seen & o->bit) && o->bit != FO_PARAM) {
        return fail(err, "option '--%s' given twice", o->name);
    }
    *seen |= o->bit;
    return parse_fence_value(o, val, out, err);
}

/* The device of `fence device add`, checked by the rules droverd and the apply use. */
static int check_device(drv_cli_args_t *out, char **err)
{
    drv_fence_dev_t *d;
    const char *why = NULL;
    char *msg = NULL;
    int rc;

    if (out->agent == NULL) {
        return fail(err, "%s", "fence device add needs --agent PATH");
    }
    if (out->fence_nodes == NULL) {
        return fail(err, "%s", "fence device add needs --nodes N1[,N2...]: the nodes it can fence");
    }
    d = drv_fence_dev_new(out->dev_name, out->agent);
    for (size_t k = 0; out->params != NULL && k < drv_fence_params_count(out->params); k++) {
        g_ptr_array_add(d->keys, g_strdup(drv_fence_params_key(out->params, k)));
        g_ptr_array_add(d->vals, g_strdup(drv_fence_params_value(out->params, k)));
    }
    for (guint k = 0; k < out->fence_nodes->len; k++) {
        g_ptr_array_add(d->nodes, g_strdup(g_ptr_array_index(out->fence_nodes, k)));
    }
    rc = drv_fence_dev_validate(d, &why);
    drv_fence_dev_free(d);
    if (rc != 0) {
        return fail(err, "%s", why ? why : "invalid fence device");
    }
    /* what the agent would get on its stdin must fit (the file itself is droverd's check) */
    if (drv_fence_validate(out->agent, out->params, NULL, false, &msg) != 0) {
        *err = msg;
        return DRV_ERR_BAD_ARGS;
    }
    return 0;
}

static int parse_index(const char *s, unsigned int *out, char **err)
{
    guint64 v = 0;

    if (!g_ascii_string_to_unsigned(s, 10, 1, DRV_FENCE_MAX_LEVEL, &v, NULL)) {
        return fail(err, "the fencing level INDEX must be a number from 1 to 9, not '%s'", s);
    }
    *out = (unsigned int)v;
    return 0;
}

static int parse_fence_node(const char *node, drv_cli_args_t *out, char **err)
{
    if (!valid_node_name(node)) {
        return fail(err, "invalid node name '%s'", node);
    }
    out->node = g_strdup(node);
    return 0;
}

/* fence device ... | fence level ... | fence history [NODE] */
static int parse_fence(GPtrArray *words, unsigned int seen, drv_cli_args_t *out, char **err)
{
    const char *what = words->len > 1 ? g_ptr_array_index(words, 1) : NULL;
    const char *verb = words->len > 2 ? g_ptr_array_index(words, 2) : NULL;
    guint nargs = words->len > 3 ? words->len - 3 : 0;
    int rc;

    if (what == NULL) {
        return fail(err, "%s", "fence needs a subcommand: device, level or history");
    }
    if (strcmp(what, "history") == 0) {
        if (seen != 0) {
            return fail(err, "%s", "fence history takes no option");
        }
        if (words->len > 3) {
            return fail(err, "%s", "fence history takes at most one NODE");
        }
        if (verb != NULL && (rc = parse_fence_node(verb, out, err)) != 0) {
            return rc;
        }
        out->cmd = DRV_CLI_FENCE_HISTORY;
        return 0;
    }
    if (strcmp(what, "device") == 0) {
        if (verb == NULL) {
            return fail(err, "%s", "fence device needs a subcommand: add, remove, list or show");
        }
        if (strcmp(verb, "list") == 0) {
            out->cmd = DRV_CLI_FENCE_DEV_LIST;
            if (nargs != 0) {
                return fail(err, "%s", "fence device list takes no argument");
            }
        } else if (strcmp(verb, "add") == 0 || strcmp(verb, "remove") == 0 ||
                   strcmp(verb, "show") == 0) {
            const char *name = nargs == 1 ? g_ptr_array_index(words, 3) : NULL;

            if (name == NULL) {
                return fail(err, "fence device %s needs exactly one NAME", verb);
            }
            if (!drv_resource_name_valid(name)) {
                return fail(err,
                            "invalid fence device name '%s' (1-64 characters of A-Z a-z 0-9 _ . "
                            "-, not starting with - or .)",
                            name);
            }
            out->dev_name = g_strdup(name);
            out->cmd = verb[0] == 'a'   ? DRV_CLI_FENCE_DEV_ADD
                       : verb[0] == 'r' ? DRV_CLI_FENCE_DEV_REMOVE
                                        : DRV_CLI_FENCE_DEV_SHOW;
        } else {
            return fail(err, "unknown fence device subcommand '%s' (add, remove, list, show)",
                        verb);
        }
        if (out->cmd != DRV_CLI_FENCE_DEV_ADD) {
            if (seen != 0) {
                out->cmd = DRV_CLI_NONE;
                return fail(err, "%s",
                            "--agent, --param and --nodes are options of fence device add");
            }
            return 0;
        }
        rc = check_device(out, err);
        if (rc != 0) {
            out->cmd = DRV_CLI_NONE;
        }
        return rc;
    }
    if (strcmp(what, "level") != 0) {
        return fail(err, "unknown fence subcommand '%s' (device, level, history)", what);
    }
    if (verb == NULL) {
        return fail(err, "%s", "fence level needs a subcommand: add, remove or list");
    }
    if (seen != 0) {
        return fail(err, "%s", "--agent, --param and --nodes are options of fence device add");
    }
    if (strcmp(verb, "list") == 0) {
        if (nargs > 1) {
            return fail(err, "%s", "fence level list takes at most one NODE");
        }
        if (nargs == 1 && (rc = parse_fence_node(g_ptr_array_index(words, 3), out, err)) != 0) {
            return rc;
        }
        out->cmd = DRV_CLI_FENCE_LEVEL_LIST;
        return 0;
    }
    if (strcmp(verb, "remove") == 0) {
        if (nargs != 2) {
            return fail(err, "%s", "fence level remove needs NODE and INDEX");
        }
    } else if (strcmp(verb, "add") == 0) {
        if (nargs < 3) {
            return fail(err, "%s", "fence level add needs NODE, INDEX and at least one DEVICE");
        }
        if (nargs - 2 > 16) {
            return fail(err, "%s", "a fencing level has at most 16 devices");
        }
    } else {
        return fail(err, "unknown fence level subcommand '%s' (add, remove, list)", verb);
    }
    if ((rc = parse_fence_node(g_ptr_array_index(words, 3), out, err)) != 0 ||
        (rc = parse_index(g_ptr_array_index(words, 4), &out->level_index, err)) != 0) {
        return rc;
    }
    if (verb[0] == 'r') {
        out->cmd = DRV_CLI_FENCE_LEVEL_REMOVE;
        return 0;
    }
    out->level_devices = g_ptr_array_new_with_free_func(g_free);
    for (guint k = 5; k < words->len; k++) {
        const char *d = g_ptr_array_index(words, k);

        if (!drv_resource_name_valid(d)) {
            return fail(err, "invalid fence device name '%s'", d);
        }
        for (guint j = 0; j < out->level_devices->len; j++) {
            if (strcmp(g_ptr_array_index(out->level_devices, j), d) == 0) {
                return fail(err, "fence device '%s' given twice", d);
            }
        }
        g_ptr_array_add(out->level_devices, g_strdup(d));
    }
    out->cmd = DRV_CLI_FENCE_LEVEL_ADD;
    return 0;
}

#define CONFIRM_DOWN_DANGER                                                                        \
    "node confirm-down tells the cluster that %s is powered off: its VMs will then be started "    \
    "on other nodes. If %s is in fact still running them (hung, or only cut off from the "         \
    "network), each of those VMs will run twice and may destroy its disks. Make sure %s is off "   \
    "(or fence it: drover node fence %s), then repeat with --yes"

/* node fence NODE [--reboot] | node confirm-down NODE --yes */
static int parse_node_fencing(GPtrArray *words, unsigned int seen, drv_cli_args_t *out, char **err)
{
    const char *verb = g_ptr_array_index(words, 1);
    bool fence = strcmp(verb, "fence") == 0;
    const char *node;
    int rc;

    if (words->len != 3) {
        return fail(err, "node %s needs exactly one NODE", verb);
    }
    if (fence && (seen & NO_YES)) {
        return fail(err, "%s", "--yes is an option of node confirm-down");
    }
    if (!fence && (seen & NO_REBOOT)) {
        return fail(err, "%s", "--reboot is an option of node fence");
    }
    node = g_ptr_array_index(words, 2);
    if ((rc = parse_fence_node(node, out, err)) != 0) {
        return rc;
    }
    if (!fence && !out->yes) {
        return fail(err, CONFIRM_DOWN_DANGER, node, node, node, node);
    }
    out->cmd = fence ? DRV_CLI_NODE_FENCE : DRV_CLI_NODE_CONFIRM_DOWN;
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
    unsigned int cmd_seen = 0;
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
            if (words->len > 0 && (strcmp(g_ptr_array_index(words, 0), "fence") == 0 ||
                                   strcmp(g_ptr_array_index(words, 0), "node") == 0)) {
                bool is_fence = strcmp(g_ptr_array_index(words, 0), "fence") == 0;

                rc = parse_cmd_opt(is_fence ? fence_opts : node_opts,
                                   is_fence ? G_N_ELEMENTS(fence_opts) : G_N_ELEMENTS(node_opts),
                                   argc, argv, &i, out, &cmd_seen, err);
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
    if (strcmp(cmd, "fence") == 0) {
        return parse_fence(words, cmd_seen, out, err);
    }
    if (strcmp(cmd, "node") != 0) {
        return fail(err, "unknown command '%s' (try: drover --help)", cmd);
    }
    if (words->len < 2) {
        return fail(err, "%s",
                    "node needs a subcommand: list, standby, online, maintenance, ready, fence "
                    "or confirm-down");
    }
    const char *verb = g_ptr_array_index(words, 1);
    if (strcmp(verb, "fence") == 0 || strcmp(verb, "confirm-down") == 0) {
        return parse_node_fencing(words, cmd_seen, out, err);
    }
    if (cmd_seen != 0) {
        return fail(err, "%s", "--reboot and --yes are options of node fence and confirm-down");
    }
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
    return fail(err,
                "unknown node subcommand '%s' (list, standby, online, maintenance, ready, fence, "
                "confirm-down)",
                verb);
}
