/* Logging: everything goes through libqb's qb_log (which libcrmcommon's crm_* macros also
 * use), to the targets the configuration asks for, plus the in-memory blackbox that is
 * written to STATE_DIR on SIGUSR1 or on a crash. GLib's own messages (and the cluster core's,
 * if it uses g_log) are forwarded to qb_log so that they land in the same places. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <qb/qblog.h>

#include "agent.h"

#define BLACKBOX_SIZE (1024 * 1024)

/* Only for the crash handler, which cannot be given a context. Set once before the loop runs,
 * never changed afterwards, and not shared with other files. */
static char crash_dir[4096];

static int glib_to_syslog(GLogLevelFlags level)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) {
        return LOG_ERR;
    }
    if (level & G_LOG_LEVEL_WARNING) {
        return LOG_WARNING;
    }
    if (level & G_LOG_LEVEL_MESSAGE) {
        return LOG_NOTICE;
    }
    if (level & G_LOG_LEVEL_INFO) {
        return LOG_INFO;
    }
    return LOG_DEBUG;
}

static void glib_log_handler(const gchar *domain, GLogLevelFlags level, const gchar *message,
                             gpointer ud)
{
    qb_log_from_external_source(__func__, __FILE__, "%s%s%s", glib_to_syslog(level), __LINE__, 0,
                                domain ? domain : "", domain ? ": " : "", message);
}

static void enable_target(int32_t t, int prio)
{
    qb_log_filter_ctl(t, QB_LOG_FILTER_CLEAR_ALL, QB_LOG_FILTER_FILE, "*", LOG_TRACE);
    qb_log_filter_ctl(t, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", prio);
    qb_log_format_set(t, t == QB_LOG_SYSLOG ? "%b" : "%t [%P] %p: %b");
    qb_log_ctl(t, QB_LOG_CONF_ENABLED, QB_TRUE);
}

void drv_log_setup(const drv_agent_config_t *cfg, bool foreground)
{
    int prio = cfg->debug ? LOG_DEBUG : LOG_INFO;

    qb_log_init("droverd", LOG_DAEMON, LOG_INFO);
    qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
    qb_log_ctl(QB_LOG_STDERR, QB_LOG_CONF_ENABLED, QB_FALSE);

    if (cfg->to_syslog) {
        enable_target(QB_LOG_SYSLOG, prio);
    }
    /* stderr only makes sense when someone reads it: in the foreground (systemd's journal). */
    if (cfg->to_stderr && foreground) {
        enable_target(QB_LOG_STDERR, prio);
    }
    if (cfg->logfile != NULL) {
        int32_t t = qb_log_file_open(cfg->logfile);
        if (t < 0) {
            qb_log(LOG_ERR, "Cannot open log file %s: %s", cfg->logfile, strerror(-t));
        } else {
            enable_target(t, prio);
        }
    }
    if (cfg->blackbox) {
        qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_SIZE, BLACKBOX_SIZE);
        qb_log_filter_ctl(QB_LOG_BLACKBOX, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_TRACE);
        qb_log_ctl(QB_LOG_BLACKBOX, QB_LOG_CONF_ENABLED, QB_TRUE);
    }
    g_log_set_default_handler(glib_log_handler, NULL);
}

char *drv_log_blackbox_dump(const char *state_dir)
{
    static unsigned int counter; /* file-local, loop thread only */
    char *path = g_strdup_printf("%s/droverd-blackbox-%d-%u", state_dir, (int)getpid(), ++counter);
    ssize_t rc = qb_log_blackbox_write_to_file(path);

    if (rc < 0) {
        qb_log(LOG_ERR, "Could not write the blackbox to %s: %s", path, strerror((int)-rc));
        g_free(path);
        return NULL;
    }
    qb_log(LOG_NOTICE, "Blackbox written to %s (%zd bytes); read it with qb-blackbox", path, rc);
    return path;
}

static void crash_handler(int sig)
{
    char path[4200];

    /* Not strictly async-signal-safe, like Pacemaker's crm_write_blackbox(): worth the risk,
     * we are dying anyway. The handler was installed with SA_RESETHAND, so re-raising
     * produces the core dump. */
    snprintf(path, sizeof(path), "%s/droverd-blackbox-%d-crash", crash_dir, (int)getpid());
    qb_log_blackbox_write_to_file(path);
    raise(sig);
}

void drv_log_install_crash_handlers(const char *state_dir)
{
    static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL};
    struct sigaction sa;

    g_strlcpy(crash_dir, state_dir, sizeof(crash_dir));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = crash_handler;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++) {
        sigaction(sigs[i], &sa, NULL);
    }
}

void drv_log_shutdown(void)
{
    qb_log_fini();
}
