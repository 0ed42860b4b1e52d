/* droverd: the Drover agent. Reads its configuration, loads the persisted state, connects to
 * corosync, serves the drover CLI over libqb IPC, and runs everything from one GLib main loop
 * on the default context (libcrmcommon's mainloop_* helpers). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <qb/qblog.h>
#include <crm/common/mainloop.h>

#include "drover/results.h"
#include "agent.h"
#include "fence.h"
#include "ha.h"
#include "ipc.h"
#include "virt.h"

#define TICK_MS 250

/* Signal handlers get no user data; this is the one pointer they need, set once in main()
 * before the handlers are installed and private to this file. */
static drv_agent_t *signal_agent;

/* --- loop plumbing -------------------------------------------------------------------- */

static gboolean tick_cb(gpointer ud)
{
    drv_agent_t *a = ud;

    const drv_cs_info_t *info = a->cs ? drv_cs_info(a->cs) : NULL;

    if (a->cluster != NULL) {
        drv_cluster_tick(a->cluster, drv_agent_now_ms());
    }
    /* the watchdog is fed from here: a stuck main loop does not feed it either */
    drv_afence_tick(a->fence, drv_agent_now_ms(), info && info->connected,
                    info && info->connected && info->vq_quorate, drv_ha_running_vms(a->ha));
    return TRUE;
}

static void fence_done(void *ud, uint64_t id, bool ok, const char *devices, unsigned level,
                       const char *text)
{
    drv_agent_t *a = ud;

    drv_ha_fence_done(a->ha, id, ok, devices, level, text);
}

static void on_term(int sig)
{
    drv_agent_t *a = signal_agent;

    if (a == NULL || a->shutting_down) {
        return;
    }
    a->shutting_down = true;
    qb_log(LOG_NOTICE, "Caught %s: shutting down", strsignal(sig));
    g_main_loop_quit(a->loop);
}

static void on_usr1(int sig)
{
    drv_agent_t *a = signal_agent;
    g_autofree char *path = NULL;

    if (a != NULL) {
        path = drv_log_blackbox_dump(a->cfg.state_dir);
    }
}

/* The HA layer hears of request verdicts and of changes through the agent's listeners. */
static bool ha_request_done(void *ud, uint64_t req_id, int rc)
{
    return drv_ha_request_done(ud, req_id, rc);
}

static void ha_changed(void *ud)
{
    drv_ha_kick(ud);
}

static void load_state(drv_agent_t *a)
{
    g_autofree char *aside = NULL;
    drv_state_t *st = NULL;
    int rc = drv_state_load(a->state_path, &st, &aside);

    if (rc == 0) {
        qb_log(LOG_NOTICE, "Loaded the cluster state from %s (epoch %" PRIu64 ", seq %" PRIu64 ")",
               a->state_path, st->epoch, st->seq);
        a->loaded = st;
    } else if (rc == -ENOENT) {
        qb_log(LOG_INFO, "No saved state at %s: starting empty", a->state_path);
    } else if (rc == DRV_ERR_CORRUPT) {
        qb_log(LOG_ERR,
               "The state file %s is corrupt; it was set aside as %s. Starting with "
               "an empty state (the cluster will sync the current one)",
               a->state_path, aside ? aside : "(unknown)");
    } else {
        qb_log(LOG_ERR, "Cannot read the state file %s: %s; starting with an empty state",
               a->state_path, drv_strerror(rc));
    }
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: droverd [OPTION]...\n"
                 "Drover cluster agent.\n\n"
                 "  -f, --foreground     do not daemonize (systemd runs droverd this way)\n"
                 "  -c, --config PATH    configuration file (default " DRV_DEFAULT_CONFIG ")\n"
                 "  -h, --help           show this help and exit\n"
                 "  -V, --version        show the version and exit\n\n"
                 "Exit status: 0 clean shutdown, 1 runtime failure, 2 bad arguments or "
                 "configuration.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"foreground", no_argument, NULL, 'f'},
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    drv_agent_t agent;
    drv_agent_t *a = &agent;
    const char *config_path = DRV_DEFAULT_CONFIG;
    bool config_given = false;
    bool foreground = false;
    g_autofree char *err = NULL;
    g_autofree char *fence_err = NULL;
    mainloop_timer_t *tick = NULL;
    int running = 0;
    const drv_ipc_op_t *ops;
    size_t n_ops = 0;
    int opt;
    int rc = 0;

    memset(a, 0, sizeof(*a));
    while ((opt = getopt_long(argc, argv, "fc:hV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            foreground = true;
            break;
        case 'c':
            config_path = optarg;
            config_given = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("droverd %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "droverd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (drv_config_load(&a->cfg, config_path, config_given, &err) != 0) {
        fprintf(stderr, "droverd: invalid configuration: %s\n", err);
        drv_config_clear(&a->cfg);
        return 2;
    }
    if (g_mkdir_with_parents(a->cfg.state_dir, 0750) != 0) {
        fprintf(stderr, "droverd: cannot create state_dir %s: %s\n", a->cfg.state_dir,
                strerror(errno));
        drv_config_clear(&a->cfg);
        return 1;
    }
    if (!foreground && daemon(0, 0) != 0) {
        fprintf(stderr, "droverd: cannot daemonize: %s\n", strerror(errno));
        drv_config_clear(&a->cfg);
        return 1;
    }

    drv_log_setup(&a->cfg, foreground);
    /* Nothing of ours goes to stdout from here on; libqb prints ring buffer statistics there
     * when it writes the blackbox, which would only clutter the journal. */
    if (freopen("/dev/null", "w", stdout) == NULL) {
        qb_log(LOG_WARNING, "Cannot redirect stdout to /dev/null: %s", strerror(errno));
    }
    drv_log_install_crash_handlers(a->cfg.state_dir);
    qb_log(LOG_NOTICE, "droverd %s starting (config %s, state_dir %s, pid %d)", PACKAGE_VERSION,
           a->cfg.path ? a->cfg.path : "defaults", a->cfg.state_dir, (int)getpid());

    a->state_path = g_build_filename(a->cfg.state_dir, "state.bin", NULL);
    load_state(a);

    a->loop = g_main_loop_new(NULL, FALSE);
    signal_agent = a;
    mainloop_add_signal(SIGTERM, on_term);
    mainloop_add_signal(SIGINT, on_term);
    mainloop_add_signal(SIGUSR1, on_usr1);
    signal(SIGPIPE, SIG_IGN);

    if (drv_virt_global_init() != 0) {
        qb_log(LOG_CRIT, "Cannot initialise libvirt's event loop integration");
        rc = 1;
        goto out;
    }
    a->fence = drv_afence_new(a, fence_done, a, &fence_err);
    if (a->fence == NULL) {
        qb_log(LOG_CRIT, "Cannot arm the watchdog: %s", fence_err ? fence_err : "?");
        rc = 1;
        goto out;
    }
    a->cs = drv_cs_new(a);
    a->ha = drv_ha_new(a);
    drv_agent_on_request_done(a, ha_request_done, a->ha);
    drv_agent_on_changed(a, ha_changed, a->ha);
    a->ipc_hdl = drv_ipc_handlers_new(a);
    ops = drv_ipc_handlers_ops(&n_ops);
    a->ipc = drv_ipc_new(a, ops, n_ops, a->ipc_hdl);
    if (drv_ipc_start(a->ipc) != 0) {
        qb_log(LOG_CRIT, "Cannot start the IPC server '%s' (is another droverd running?)",
               a->cfg.ipc_name);
        rc = 1;
        goto out;
    }
    drv_cs_start(a->cs);
    tick = mainloop_timer_add("drover-tick", TICK_MS, TRUE, tick_cb, a);
    mainloop_timer_start(tick);

    g_main_loop_run(a->loop);
    qb_log(LOG_NOTICE, "droverd stopping");

out:
    mainloop_timer_del(tick);
    /* Leave first: the core then fails the pending requests, whose replies still go out. */
    drv_cs_stop(a->cs);
    drv_agent_listeners_remove(a, a->ha);
    running = drv_ha_running_vms(a->ha);
    drv_ha_free(a->ha);
    a->ha = NULL;
    drv_afence_free(a->fence, running);
    a->fence = NULL;
    drv_cluster_free(a->cluster);
    a->cluster = NULL;
    drv_ipc_handlers_stop(a->ipc_hdl);
    drv_ipc_stop(a->ipc);
    drv_ipc_free(a->ipc);
    drv_ipc_handlers_free(a->ipc_hdl);
    drv_agent_listeners_free(a);
    drv_cs_free(a->cs);
    mainloop_destroy_signal(SIGTERM);
    mainloop_destroy_signal(SIGINT);
    mainloop_destroy_signal(SIGUSR1);
    signal_agent = NULL;
    g_main_loop_unref(a->loop);
    drv_state_free(a->loaded);
    qb_log(LOG_NOTICE, "droverd exited (status %d)", rc);
    drv_log_shutdown();
    g_free(a->state_path);
    drv_config_clear(&a->cfg);
    return rc;
}
