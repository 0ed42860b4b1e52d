/* drover-sim: random histories (--histories N from --seed S) and named scenarios
 * (--scenario NAME, or all of them with --scenario all). A failure prints the seed, the check
 * that failed and the last events; `drover-sim --seed N -v` replays that history. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/results.h"
#include "sim.h"

#define LOG_KEEP 40

static const char *vm_names[SIM_NVM] = {"vm1", "vm2", "vm3", "vm4", "vm5", "vm6"};
static const char *vm_uuids[SIM_NVM] = {
    "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004",
    "00000000-0000-4000-8000-000000000005", "00000000-0000-4000-8000-000000000006",
};

const char *sim_vm_name(int v)
{
    return v >= 0 && v < SIM_NVM ? vm_names[v] : "?";
}

const char *sim_vm_uuid(int v)
{
    return vm_uuids[v];
}

int sim_vm_index(const char *uuid)
{
    for (int v = 0; v < SIM_NVM; v++) {
        if (g_ascii_strcasecmp(uuid, vm_uuids[v]) == 0) {
            return v;
        }
    }
    return -1;
}

void sim_log(sim_t *s, const char *fmt, ...)
{
    va_list ap;
    char *body;
    char *line;

    va_start(ap, fmt);
    body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    line = g_strdup_printf("%8.2f %s", (double)s->now / 1000.0, body);
    g_free(body);
    if (s->verbose) {
        printf("%s\n", line);
    }
    g_queue_push_tail(&s->log, line);
    while (g_queue_get_length(&s->log) > LOG_KEEP) {
        g_free(g_queue_pop_head(&s->log));
    }
}

void sim_fail(sim_t *s, const char *fmt, ...)
{
    va_list ap;

    if (s->failure != NULL) {
        return;
    }
    va_start(ap, fmt);
    s->failure = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    sim_log(s, "CHECK FAILED: %s", s->failure);
}

sim_t *sim_new(guint32 seed, int n, bool verbose)
{
    sim_t *s = g_new0(sim_t, 1);

    s->rng = g_rand_new_with_seed(seed);
    s->seed = seed;
    s->n = n;
    s->verbose = verbose;
    s->admin = g_ptr_array_new();
    s->start_ms = 800;
    s->stop_ms = 600;
    s->mig_copy_ms = 1500;
    s->mig_switch_ms = 1000;
    s->p_start_fail = 30;
    s->p_mig_fail = 100;
    s->p_mig_hang = 50;
    s->fence_min_ms = 100;
    s->fence_max_ms = 2500;
    s->eval_gap = true; /* the real daemon may evaluate there too */
    s->fences = g_ptr_array_new_with_free_func(g_free);
    g_queue_init(&s->cpgq);
    g_queue_init(&s->log);
    for (int i = 0; i < n; i++) {
        simnode_t *nd = &s->node[i];

        nd->sim = s;
        nd->idx = i;
        g_snprintf(nd->name, sizeof(nd->name), "n%d", i + 1);
        g_snprintf(nd->addr, sizeof(nd->addr), "10.0.0.%d", i + 1);
        nd->cpu = 64;
        nd->memory_mib = 65536;
        g_queue_init(&nd->held);
        hv_init(&nd->hv, nd);
        for (int j = 0; j < n; j++) {
            s->link_ok[i][j] = true;
        }
    }
    return s;
}

/* Boot every host and let the cluster form. */
void sim_boot(sim_t *s)
{
    for (int i = 0; i < s->n; i++) {
        node_host_boot(&s->node[i]);
    }
    sim_run(s, 1000);
    if (s->fencing) {
        admin_fencing_setup(&s->node[0]);
        sim_run(s, 200);
    }
}

void sim_free(sim_t *s)
{
    if (s == NULL) {
        return;
    }
    for (int i = 0; i < s->n; i++) {
        node_daemon_stop(&s->node[i]);
        drv_state_free(s->node[i].disk);
        hv_clear(&s->node[i].hv);
    }
    cpg_free(s);
    g_ptr_array_unref(s->fences);
    for (guint i = 0; i < s->admin->len; i++) {
        admin_rec_t *a = g_ptr_array_index(s->admin, i);

        g_free(a->name);
        g_free(a->value);
        g_free(a);
    }
    g_ptr_array_free(s->admin, TRUE);
    g_queue_clear_full(&s->log, g_free);
    g_rand_free(s->rng);
    g_free(s->failure);
    g_free(s);
}

static void one_tick(sim_t *s)
{
    s->now += SIM_TICK_MS;
    for (int i = 0; i < s->n; i++) {
        simnode_t *nd = &s->node[i];

        if (nd->daemon_start_at != 0 && nd->daemon_start_at <= s->now) {
            node_daemon_start(nd);
        }
        if (nd->host_up && nd->hv.valid_at != 0 && nd->hv.valid_at <= s->now &&
            nd->hv.valid_at > s->now - SIM_TICK_MS) {
            node_kick(nd); /* libvirt listed again */
        }
    }
    hv_advance(s);
    fences_advance(s);
    for (int i = 0; i < s->n; i++) {
        node_watchdog_tick(&s->node[i]);
    }
    if (s->confchg_pending) {
        cpg_confchg(s);
    }
    for (int i = 0; i < s->n; i++) {
        if (s->node[i].daemon_up) {
            drv_cluster_tick(s->node[i].c, s->now);
        }
    }
    /* some of what is queued, so that deliveries interleave with everything else */
    cpg_deliver(s, s->deliver_all ? -1 : g_rand_int_range(s->rng, 0, 12));
    for (int i = 0; i < s->n; i++) {
        simnode_t *nd = &s->node[i];

        if (s->now % 2000 == 0) {
            nd->kicked = true; /* the safety timer */
        }
        if (nd->kicked) {
            node_evaluate(nd);
        }
    }
    check_safety(s);
}

void sim_run(sim_t *s, uint64_t ms)
{
    for (uint64_t t = 0; t < ms && s->failure == NULL; t += SIM_TICK_MS) {
        one_tick(s);
    }
}

bool sim_run_until(sim_t *s, uint64_t ms, bool (*pred)(sim_t *s, void *ud), void *ud)
{
    for (uint64_t t = 0; t < ms && s->failure == NULL; t += SIM_TICK_MS) {
        if (pred(s, ud)) {
            return true;
        }
        one_tick(s);
    }
    return pred(s, ud);
}

static void print_failure(sim_t *s, const char *what)
{
    printf("FAIL %s (seed %u): %s\n  last events:\n", what, s->seed, s->failure);
    for (GList *l = s->log.head; l; l = l->next) {
        printf("    %s\n", (char *)l->data);
    }
}

/* One random history: faults for STEPS steps, then heal and check L1-L3. */
static bool run_history(guint32 seed, int n, int steps, bool verbose)
{
    sim_t *s = sim_new(seed, n, verbose);
    bool ok;

    /* a third of the histories each: power fencing (sometimes failing), a watchdog only, both */
    switch (seed % 4) {
    case 0:
        break; /* neither: gone nodes pin their VMs until they are back */
    case 1:
        s->fencing = true;
        s->p_fence_fail = 200;
        break;
    case 2:
        s->watchdog_ms = 5000;
        break;
    default:
        s->fencing = true;
        s->p_fence_fail = 500;
        s->watchdog_ms = 5000;
        break;
    }
    sim_boot(s);
    for (int i = 0; i < steps && s->failure == NULL; i++) {
        faults_random_step(s);
    }
    if (s->failure == NULL) {
        faults_heal_all(s);
    }
    ok = s->failure == NULL && check_history_end(s, 180000);
    if (!ok) {
        print_failure(s, "history");
    }
    sim_free(s);
    return ok;
}

static int run_scenarios(const char *name, bool verbose)
{
    int failed = 0, ran = 0;

    for (const sim_scenario_t *sc = sim_scenarios; sc->name; sc++) {
        sim_t *s;
        bool ok;

        if (strcmp(name, "all") != 0 && strcmp(name, sc->name) != 0) {
            continue;
        }
        ran++;
        s = sim_new(1, sc->nodes ? sc->nodes : 3, verbose);
        s->deliver_all = true;
        s->p_start_fail = s->p_mig_fail = s->p_mig_hang = 0;
        ok = sc->run(s) && s->failure == NULL;
        if (!ok) {
            if (s->failure == NULL) {
                sim_fail(s, "scenario expectation not met");
            }
            print_failure(s, sc->name);
            failed++;
        } else {
            printf("PASS %s\n", sc->name);
        }
        sim_free(s);
    }
    if (ran == 0) {
        fprintf(stderr, "drover-sim: no scenario named %s\n", name);
        return 2;
    }
    printf("scenarios: %d passed, %d failed\n", ran - failed, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    gint histories = 1, nodes = 0, steps = 40;
    gint64 seed = -1;
    gboolean verbose = FALSE, list = FALSE;
    gchar *scenario = NULL;
    GOptionEntry entries[] = {
        {"histories", 0, 0, G_OPTION_ARG_INT, &histories, "random histories to run", "N"},
        {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "seed of the first history", "N"},
        {"nodes", 0, 0, G_OPTION_ARG_INT, &nodes, "nodes (3..5; default: drawn per history)", "N"},
        {"steps", 0, 0, G_OPTION_ARG_INT, &steps, "fault steps per history", "N"},
        {"scenario", 0, 0, G_OPTION_ARG_STRING, &scenario, "run a named scenario (or all)", "NAME"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "print every event", NULL},
        {"list", 0, 0, G_OPTION_ARG_NONE, &list, "print the scenario names", NULL},
        {NULL, 0, 0, 0, NULL, NULL, NULL},
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("- Drover whole-cluster simulator");
    g_autoptr(GError) err = NULL;
    int passed = 0, failed = 0;
    struct timespec t0, t1;
    double secs;

    g_option_context_add_main_entries(ctx, entries, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
        fprintf(stderr, "drover-sim: %s\n", err->message);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (list) {
        for (const sim_scenario_t *sc = sim_scenarios; sc->name; sc++) {
            printf("%s\n", sc->name);
        }
        return 0;
    }
    if (scenario != NULL) {
        int rc = run_scenarios(scenario, verbose);

        g_free(scenario);
        return rc;
    }
    if (nodes != 0 && (nodes < 3 || nodes > SIM_MAXN)) {
        fprintf(stderr, "drover-sim: --nodes must be 3..%d\n", SIM_MAXN);
        return 2;
    }
    if (seed < 0) {
        seed = 1;
    }
    /* timing of the run itself, outside the simulation */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (gint h = 0; h < histories; h++) {
        guint32 sd = (guint32)(seed + h);
        int n = nodes ? nodes : 3 + (int)(sd % 3);

        if (run_history(sd, n, steps, verbose)) {
            passed++;
        } else {
            failed++;
            printf("  replay: drover-sim --seed %u --nodes %d --steps %d -v\n", sd, n, steps);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("time: %.1f s, %.0f histories/s\n", secs, histories / (secs > 0 ? secs : 1));
    printf("sim: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
