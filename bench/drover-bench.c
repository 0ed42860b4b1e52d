/* drover-bench LAYOUT [REPEAT [threshold|spread]]: time parsing and planning of one layout
 * separately (median of REPEAT runs, default 5), and print peak RSS and the quality of the plan,
 * as one table row:
 *   layout nodes vms parse_ms plan_ms actions moves unplaced waves load_max load_min ratio rss_mib
 * The scenario is the one the layout was generated with (steady / drain / failover); the third
 * argument turns balancing on (threshold 0.8, hysteresis 0.05 unless the layout sets them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <glib.h>
#include "drv_policy.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    char *data = NULL, *err = NULL;
    gsize len = 0;
    GError *gerr = NULL;
    drv_policy_input_t *in = NULL;
    drv_policy_plan_t *plan = NULL;

    if (argc < 2) {
        fprintf(stderr, "usage: drover-bench LAYOUT [REPEAT]\n");
        return 2;
    }
    int rep = argc > 2 ? atoi(argv[2]) : 5;
    if (rep < 1)
        rep = 1;
    if (!g_file_get_contents(argv[1], &data, &len, &gerr)) {
        fprintf(stderr, "drover-bench: %s\n", gerr->message);
        return 1;
    }
    double *tp = g_new(double, rep), *tq = g_new(double, rep);
    for (int i = 0; i < rep; i++) {
        double t0 = now_ms();
        if (drv_policy_layout_parse(data, len, &in, &err) < 0) {
            fprintf(stderr, "drover-bench: %s: %s\n", argv[1], err);
            return 2;
        }
        tp[i] = now_ms() - t0;
        if (i + 1 < rep)
            drv_policy_input_free(in);
    }
    const char *mode = argc > 3 ? argv[3] : NULL;
    if (mode && strcmp(mode, "spread") == 0)
        in->knobs.balance_level = DRV_BALANCE_SPREAD;
    else if (mode && strcmp(mode, "threshold") == 0)
        in->knobs.balance_level = DRV_BALANCE_THRESHOLD;
    else if (mode) {
        fprintf(stderr, "drover-bench: balance mode must be threshold or spread\n");
        return 2;
    }
    for (int i = 0; i < rep; i++) {
        double t0 = now_ms();
        if (drv_policy_plan(in, &plan) < 0) {
            fprintf(stderr, "drover-bench: planning failed\n");
            return 1;
        }
        tq[i] = now_ms() - t0;
        if (i + 1 < rep)
            drv_policy_plan_free(plan);
    }
    /* quality: load of the nodes that may host VMs (online, not red) after the plan, in the
     * tighter of cpu / memory */
    size_t nn = in->n_nodes;
    int64_t *uc = g_new0(int64_t, nn + 1), *um = g_new0(int64_t, nn + 1);
    for (size_t v = 0; v < plan->n_vms; v++)
        if (plan->placement[v] >= 0) {
            uc[plan->placement[v]] += in->vms[v].cpu;
            um[plan->placement[v]] += in->vms[v].memory_mib;
        }
    double lmax = 0, lmin = 1e9;
    for (size_t n = 0; n < nn; n++) {
        if (in->nodes[n].state != DRV_NODE_ONLINE || in->nodes[n].health == DRV_HEALTH_RED)
            continue;
        double l = MAX((double)uc[n] / in->nodes[n].cpu, (double)um[n] / in->nodes[n].memory_mib);
        lmax = MAX(lmax, l);
        lmin = MIN(lmin, l);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char *name = g_path_get_basename(argv[1]);
    char *base = mode ? g_strdup_printf("%s+%s", name, mode) : g_strdup(name);
    g_free(name);
    printf("%-28s %5zu %6zu %9.1f %8.2f %7zu %6zu %6zu %5d %5.3f %5.3f %6.2f %7.1f\n", base, nn,
           in->n_vms, median(tp, rep), median(tq, rep), plan->n_actions, plan->n_moves,
           plan->n_unplaced, plan->waves, lmax, lmin, lmin > 0 ? lmax / lmin : 0.0,
           ru.ru_maxrss / 1024.0);
    g_free(base);
    g_free(uc);
    g_free(um);
    g_free(tp);
    g_free(tq);
    drv_policy_plan_free(plan);
    drv_policy_input_free(in);
    g_free(data);
    return 0;
}
