/* `drover simulate --layout FILE [--scenario S] [--explain VM] [--output-as text|json]`:
 * reads the layout, applies the scenario to the model, plans, prints. The planning itself is
 * drv_policy_plan(), the same function the daemon calls. */
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include "cli_simulate.h"
#include "drv_policy.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fprintf(f, "usage: drover simulate --layout FILE [--scenario steady|drain:NODE|fail:NODE|"
               "rebalance|n+1]\n"
               "                       [--explain VM] [--output-as text|json]\n");
}

/* Apply the scenario to the model; returns an exit code (0 ok). */
static int apply_scenario(drv_policy_input_t *in, const char *sc, bool *nplus1)
{
    *nplus1 = false;
    if (!sc || strcmp(sc, "steady") == 0)
        return EXIT_OK;
    if (strcmp(sc, "rebalance") == 0) {
        if (in->knobs.balance_level == DRV_BALANCE_OFF)
            in->knobs.balance_level = DRV_BALANCE_THRESHOLD;
        return EXIT_OK;
    }
    if (strcmp(sc, "n+1") == 0) {
        *nplus1 = true;
        return EXIT_OK;
    }
    bool drain = g_str_has_prefix(sc, "drain:"), fail = g_str_has_prefix(sc, "fail:");
    if (drain || fail) {
        const char *name = strchr(sc, ':') + 1;
        int n = drv_policy_node_index(in, name);
        if (n < 0) {
            fprintf(stderr, "drover simulate: --scenario %s: unknown node \"%s\"\n", sc, name);
            return EXIT_USAGE;
        }
        in->nodes[n].state = drain ? DRV_NODE_STANDBY : DRV_NODE_FAILED;
        return EXIT_OK;
    }
    fprintf(stderr, "drover simulate: --scenario: unknown scenario \"%s\"\n", sc);
    usage(stderr);
    return EXIT_USAGE;
}

int drv_cli_simulate(int argc, char **argv)
{
    const char *layout = NULL, *scenario = NULL, *explain = NULL, *output = "text";
    drv_policy_input_t *in = NULL;
    drv_policy_plan_t *plan = NULL;
    drv_policy_explain_t *ex = NULL;
    drv_policy_nplus1_t *n1 = NULL;
    char *data = NULL, *err = NULL, *text = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    bool nplus1 = false;
    int rc, ret = EXIT_FAIL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
        if (strcmp(a, "--layout") == 0)
            dst = &layout;
        else if (strcmp(a, "--scenario") == 0)
            dst = &scenario;
        else if (strcmp(a, "--explain") == 0)
            dst = &explain;
        else if (strcmp(a, "--output-as") == 0)
            dst = &output;
        if (!dst) {
            fprintf(stderr, "drover simulate: unknown argument \"%s\"\n", a);
            usage(stderr);
            return EXIT_USAGE;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "drover simulate: %s needs a value\n", a);
            return EXIT_USAGE;
        }
        *dst = argv[++i];
    }
    if (!layout) {
        fprintf(stderr, "drover simulate: --layout FILE is required\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(output, "text") != 0 && strcmp(output, "json") != 0) {
        fprintf(stderr, "drover simulate: --output-as must be text or json\n");
        return EXIT_USAGE;
    }
    if (!g_file_get_contents(layout, &data, &len, &gerr)) {
        fprintf(stderr, "drover simulate: %s\n", gerr->message);
        g_error_free(gerr);
        return EXIT_USAGE;
    }
    rc = drv_policy_layout_parse(data, len, &in, &err);
    if (rc < 0) {
        fprintf(stderr, "drover simulate: %s: %s\n", layout, err ? err : drv_policy_strerror(rc));
        ret = EXIT_USAGE;
        goto out;
    }
    ret = apply_scenario(in, scenario, &nplus1);
    if (ret != EXIT_OK)
        goto out;
    ret = EXIT_FAIL;
    int exvm = -1;
    if (explain && (exvm = drv_policy_vm_index(in, explain)) < 0) {
        fprintf(stderr, "drover simulate: --explain: unknown VM \"%s\"\n", explain);
        ret = EXIT_USAGE;
        goto out;
    }
    if ((rc = drv_policy_plan(in, &plan)) < 0 ||
        (exvm >= 0 && (rc = drv_policy_explain(in, exvm, &ex)) < 0) ||
        (nplus1 && (rc = drv_policy_nplus1(in, &n1)) < 0)) {
        fprintf(stderr, "drover simulate: planning failed: %s\n", drv_policy_strerror(rc));
        goto out;
    }
    text = strcmp(output, "json") == 0 ? drv_policy_render_json(in, plan, ex, n1)
                                       : drv_policy_render_text(in, plan, ex, n1);
    fputs(text, stdout);
    ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
out:
    g_free(text);
    g_free(err);
    g_free(data);
    drv_policy_nplus1_free(n1);
    drv_policy_explain_free(ex);
    drv_policy_plan_free(plan);
    drv_policy_input_free(in);
    return ret;
}
