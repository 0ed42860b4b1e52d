/* The fence-agent runner (fencing/): real child processes running small shell agents that this
 * program writes into a temporary directory (reading stdin, choosing an exit status, printing,
 * hanging past the deadline, leaving a grandchild behind), the parameter checks and redaction,
 * retry with back-off, and the fake ops table. Waits iterate GLib's default context until a
 * condition holds or a deadline passes; the test itself never sleeps. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "drv_fence.h"
#include "fence_fake.h"

#define WAIT_MS 5000

static char *dir;
static drv_fence_runner_t *runner;
static GString *logged; /* everything qb_log printed during the tests */

/* ---- helpers ---- */

static char *path_in(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

/* Writes an executable /bin/sh agent NAME with BODY, "@D@" standing for the temp dir. */
static char *write_agent(const char *name, const char *body)
{
    char *path = path_in(name);
    g_auto(GStrv) parts = g_strsplit(body, "@D@", -1);
    g_autofree char *b = g_strjoinv(dir, parts);
    g_autofree char *text = g_strconcat("#!/bin/sh\n", b, NULL);

    CU_ASSERT_FATAL(g_file_set_contents(path, text, -1, NULL));
    CU_ASSERT_FATAL(chmod(path, 0755) == 0);
    return path;
}

static char *read_file(const char *name)
{
    g_autofree char *p = path_in(name);
    char *text = NULL;

    if (!g_file_get_contents(p, &text, NULL, NULL)) {
        return NULL;
    }
    return text;
}

static bool file_exists(const char *name)
{
    g_autofree char *p = path_in(name);

    return g_file_test(p, G_FILE_TEST_EXISTS);
}

static void remove_file(const char *name)
{
    g_autofree char *p = path_in(name);

    (void)g_unlink(p);
}

static pid_t read_pid(const char *name)
{
    g_autofree char *t = read_file(name);

    return t ? (pid_t)atoi(t) : 0;
}

/* Alive = exists and is not a zombie (a killed orphan stays a zombie until its new parent
 * reaps it, and kill(pid, 0) succeeds on zombies). */
static bool pid_alive(pid_t pid)
{
    g_autofree char *stat_path = g_strdup_printf("/proc/%d/stat", (int)pid);
    g_autofree char *st = NULL;
    const char *rp;

    if (pid <= 0 || kill(pid, 0) != 0) {
        return false;
    }
    if (!g_file_get_contents(stat_path, &st, NULL, NULL)) {
        return false;
    }
    rp = strrchr(st, ')');
    return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

static gboolean wake(gpointer data)
{
    return G_SOURCE_CONTINUE;
}

/* Iterates the default context until COND(ARG) or MS pass. */
static bool wait_for(bool (*cond)(const void *), const void *arg, unsigned ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    guint t = g_timeout_add(10, wake, NULL);

    while (!cond(arg) && g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_source_remove(t);
    return cond(arg);
}

/* Iterates for MS whatever happens (to see that nothing does). */
static bool never(const void *arg)
{
    return false;
}

static void spin(unsigned ms)
{
    (void)wait_for(never, NULL, ms);
}

static bool pid_gone(const void *arg)
{
    return !pid_alive(*(const pid_t *)arg);
}

static bool file_there(const void *arg)
{
    return file_exists(arg);
}

/* ---- results ---- */

typedef struct got {
    unsigned n; /* callbacks */
    drv_fence_outcome_t outcome;
    int exit_status;
    int term_signal;
    uint64_t call_id;
    uint64_t elapsed_ms;
    char *out;
    char *err;
    char *errmsg;
    size_t out_dropped;
    size_t err_dropped;
    /* retry: one entry per attempt */
    GArray *attempts;      /* drv_fence_outcome_t */
    GArray *will_retry;    /* gboolean */
    GArray *delays;        /* unsigned */
    GArray *attempt_at_ms; /* gint64, since start */
    gint64 start_us;
} got_t;

static void got_reset(got_t *g)
{
    g_free(g->out);
    g_free(g->err);
    g_free(g->errmsg);
    if (g->attempts) {
        g_array_unref(g->attempts);
        g_array_unref(g->will_retry);
        g_array_unref(g->delays);
        g_array_unref(g->attempt_at_ms);
    }
    memset(g, 0, sizeof(*g));
    g->attempts = g_array_new(FALSE, FALSE, sizeof(drv_fence_outcome_t));
    g->will_retry = g_array_new(FALSE, FALSE, sizeof(gboolean));
    g->delays = g_array_new(FALSE, FALSE, sizeof(unsigned));
    g->attempt_at_ms = g_array_new(FALSE, FALSE, sizeof(gint64));
    g->start_us = g_get_monotonic_time();
}

static void on_done(void *ud, const drv_fence_result_t *res)
{
    got_t *g = ud;

    g->n++;
    g->outcome = res->outcome;
    g->exit_status = res->exit_status;
    g->term_signal = res->term_signal;
    g->call_id = res->call_id;
    g->elapsed_ms = res->elapsed_ms;
    g_free(g->out);
    g_free(g->err);
    g_free(g->errmsg);
    g->out = g_strdup(res->out);
    g->err = g_strdup(res->err);
    g->errmsg = g_strdup(res->errmsg);
    g->out_dropped = res->out_dropped;
    g->err_dropped = res->err_dropped;
    CU_ASSERT_EQUAL(res->errmsg == NULL, drv_fence_result_succeeded(res));
}

static void on_attempt(void *ud, const drv_fence_result_t *res, unsigned attempt, bool will_retry,
                       unsigned next_delay_ms)
{
    got_t *g = ud;
    gboolean wr = will_retry;
    gint64 at = (g_get_monotonic_time() - g->start_us) / 1000;

    CU_ASSERT_EQUAL(attempt, g->attempts->len);
    g_array_append_val(g->attempts, res->outcome);
    g_array_append_val(g->will_retry, wr);
    g_array_append_val(g->delays, next_delay_ms);
    g_array_append_val(g->attempt_at_ms, at);
}

static bool got_done(const void *arg)
{
    return ((const got_t *)arg)->n > 0;
}

static got_t got;

static drv_fence_params_t *params_of(const char *const *kv)
{
    drv_fence_params_t *p = drv_fence_params_new();

    for (; kv && *kv; kv++) {
        CU_ASSERT_EQUAL_FATAL(drv_fence_params_parse(p, *kv, NULL), 0);
    }
    return p;
}

/* Runs AGENT and waits for its result in GOT. */
static void run_and_wait(const char *agent, const drv_fence_params_t *p, drv_fence_action_t a,
                         const char *target, unsigned timeout_ms)
{
    g_autofree char *err = NULL;
    uint64_t id = 0;
    int rc;

    got_reset(&got);
    rc = drv_fence_agent_ops.run(runner, agent, p, a, target, timeout_ms, on_done, &got, &id, &err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(got.n, 0); /* never from inside run */
    CU_ASSERT_TRUE_FATAL(wait_for(got_done, &got, WAIT_MS));
    CU_ASSERT_EQUAL(got.call_id, id);
    spin(20);
    CU_ASSERT_EQUAL(got.n, 1); /* exactly once */
    CU_ASSERT_EQUAL(drv_fence_runner_in_flight(runner), 0);
}

/* An agent that records its stdin in @D@/NAME.in and exits with the value of its rc= line. */
#define RECORDING_AGENT(NAME)                                                                      \
    "cat > @D@/" NAME ".in\n"                                                                      \
    "rc=$(sed -n 's/^rc=//p' @D@/" NAME ".in)\n"                                                   \
    "echo \"agent says: action $(sed -n 's/^action=//p' @D@/" NAME ".in)\"\n"                      \
    "[ \"${rc:-0}\" = 0 ] || echo \"Failed: rc $rc\" >&2\n"                                        \
    "exit ${rc:-0}\n"

/* ---- tests: running agents ---- */

static void test_success_and_stdin(void)
{
    g_autofree char *agent = write_agent("fence_rec", RECORDING_AGENT("rec"));
    const char *kv[] = {"ipaddr=192.0.2.10", "login=admin", "password=s3cr=et", NULL};
    drv_fence_params_t *p = params_of(kv);
    g_autofree char *in = NULL;
    g_autofree char *expect = NULL;

    run_and_wait(agent, p, DRV_FENCE_ACT_OFF, "n2", 3000);
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    CU_ASSERT_EQUAL(got.exit_status, 0);
    CU_ASSERT_EQUAL(got.term_signal, 0);
    CU_ASSERT_PTR_NULL(got.errmsg);
    CU_ASSERT_STRING_EQUAL(got.out, "agent says: action off\n");
    CU_ASSERT_STRING_EQUAL(got.err, "");
    in = read_file("rec.in");
    CU_ASSERT_STRING_EQUAL(in, "action=off\nnodename=n2\nplug=n2\nport=n2\n"
                               "ipaddr=192.0.2.10\nlogin=admin\npassword=s3cr=et\n");
    expect = drv_fence__stdin_text(p, DRV_FENCE_ACT_OFF, "n2");
    CU_ASSERT_STRING_EQUAL(in, expect);
    g_free(in);

    /* device-wide action: no target lines */
    run_and_wait(agent, p, DRV_FENCE_ACT_MONITOR, NULL, 3000);
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    in = read_file("rec.in");
    CU_ASSERT_STRING_EQUAL(in, "action=monitor\nipaddr=192.0.2.10\nlogin=admin\n"
                               "password=s3cr=et\n");
    g_free(in);

    /* a device that names its plug keeps it; a value replaced keeps its place */
    CU_ASSERT_EQUAL(drv_fence_params_set(p, "plug", "7", NULL), 0);
    CU_ASSERT_EQUAL(drv_fence_params_set(p, "login", "root", NULL), 0);
    run_and_wait(agent, p, DRV_FENCE_ACT_REBOOT, "n3", 3000);
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    in = read_file("rec.in");
    CU_ASSERT_STRING_EQUAL(in, "action=reboot\nnodename=n3\nipaddr=192.0.2.10\nlogin=root\n"
                               "password=s3cr=et\nplug=7\n");
    drv_fence_params_free(p);
}

static void test_exit_mapping(void)
{
    g_autofree char *agent = write_agent("fence_rc", RECORDING_AGENT("rc"));
    static const struct {
        drv_fence_action_t action;
        const char *rc;
        drv_fence_outcome_t outcome;
    } cases[] = {
        {DRV_FENCE_ACT_STATUS, "rc=0", DRV_FENCE_RES_OK},
        {DRV_FENCE_ACT_STATUS, "rc=2", DRV_FENCE_RES_OFF},
        {DRV_FENCE_ACT_STATUS, "rc=1", DRV_FENCE_RES_FAILED},
        {DRV_FENCE_ACT_STATUS, "rc=3", DRV_FENCE_RES_FAILED},
        {DRV_FENCE_ACT_OFF, "rc=2", DRV_FENCE_RES_FAILED}, /* 2 = off only for status */
        {DRV_FENCE_ACT_ON, "rc=1", DRV_FENCE_RES_FAILED},
        {DRV_FENCE_ACT_LIST, "rc=0", DRV_FENCE_RES_OK},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *kv[] = {cases[i].rc, NULL};
        drv_fence_params_t *p = params_of(kv);

        run_and_wait(agent, p, cases[i].action, "n1", 3000);
        CU_ASSERT_EQUAL(got.outcome, cases[i].outcome);
        CU_ASSERT_EQUAL(got.exit_status, atoi(cases[i].rc + 3));
        if (cases[i].outcome == DRV_FENCE_RES_FAILED) {
            g_autofree char *want =
                g_strdup_printf("exit status %s: Failed: rc %s", cases[i].rc + 3, cases[i].rc + 3);

            CU_ASSERT_STRING_EQUAL(got.errmsg, want);
        }
        drv_fence_params_free(p);
    }

    /* ended by a signal it got from elsewhere */
    g_free(agent);
    agent = write_agent("fence_sig", "kill -USR1 $$\n");
    run_and_wait(agent, NULL, DRV_FENCE_ACT_OFF, "n1", 3000);
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_FAILED);
    CU_ASSERT_EQUAL(got.exit_status, -1);
    CU_ASSERT_EQUAL(got.term_signal, SIGUSR1);
    CU_ASSERT_PTR_NOT_NULL(strstr(got.errmsg, "signal"));

    /* passes the checks but cannot be executed (its interpreter is missing): a result, later */
    {
        g_autofree char *bad = path_in("fence_badinterp");

        CU_ASSERT_FATAL(g_file_set_contents(bad, "#!/nonexistent/interpreter\n", -1, NULL));
        CU_ASSERT_FATAL(chmod(bad, 0755) == 0);
        run_and_wait(bad, NULL, DRV_FENCE_ACT_OFF, "n1", 3000);
        CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_SPAWN_ERROR);
        CU_ASSERT_EQUAL(got.exit_status, -1);
        CU_ASSERT_PTR_NOT_NULL(got.errmsg && strstr(got.errmsg, "cannot start"));
    }
}

static void test_output_bounds(void)
{
    g_autofree char *big = write_agent("fence_big", "head -c 5000 /dev/zero | tr '\\000' a\n"
                                                    "printf 'E%.0s' 1 2 3 4 5 6 7 8 9 10 >&2\n");
    g_autofree char *huge = write_agent("fence_huge", "head -c 102400 /dev/zero | tr '\\000' b\n");
    g_autofree char *odd = write_agent("fence_odd", "printf 'a\\000b\\377c\\n'\n");
    g_autofree char *want = NULL;

    drv_fence_runner_set_limits(runner, 1000, 0);
    run_and_wait(big, NULL, DRV_FENCE_ACT_STATUS, "n1", 3000);
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    CU_ASSERT_EQUAL(got.out_dropped, 4000);
    CU_ASSERT_EQUAL(got.err_dropped, 0);
    CU_ASSERT_STRING_EQUAL(got.err, "EEEEEEEEEE");
    want = g_strnfill(1000, 'a');
    CU_ASSERT_TRUE(g_str_has_prefix(got.out, want));
    CU_ASSERT_STRING_EQUAL(got.out + 1000, "\n[drover: 4000 bytes dropped]\n");
    drv_fence_runner_set_limits(runner, DRV_FENCE_OUTPUT_MAX, 0);

    /* the default bound; the agent is not blocked by a full pipe: it finishes at once */
    run_and_wait(huge, NULL, DRV_FENCE_ACT_LIST, NULL, 3000);
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    CU_ASSERT_EQUAL(got.out_dropped, 102400 - DRV_FENCE_OUTPUT_MAX);
    CU_ASSERT_EQUAL(strlen(got.out),
                    DRV_FENCE_OUTPUT_MAX + strlen("\n[drover: 36864 bytes dropped]\n"));

    /* malformed output: a NUL byte and invalid UTF-8 do not cut or corrupt the text */
    run_and_wait(odd, NULL, DRV_FENCE_ACT_LIST, NULL, 3000);
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    CU_ASSERT_STRING_EQUAL(got.out, "a?b\xef\xbf\xbd"
                                    "c\n");
    CU_ASSERT_TRUE(g_utf8_validate(got.out, -1, NULL));
}

/* The agent writes its pid, starts a grandchild in its group that writes its own and lingers,
 * then hangs. With IGNORE_TERM, both ignore SIGTERM: only SIGKILL ends them. */
static void hung_agent(bool ignore_term)
{
    g_autofree char *agent = NULL;
    g_autofree char *body = g_strdup_printf(
        "%s"
        "echo $$ > @D@/hung.pid\n"
        "sh -c 'echo $$ > @D@/gc.pid.tmp; mv @D@/gc.pid.tmp @D@/gc.pid; exec sleep 1000' &\n"
        "while [ ! -s @D@/gc.pid ]; do sleep 0.01; done\n"
        "echo started\n"
        "sleep 1000\n",
        ignore_term ? "trap '' TERM\n" : "");
    pid_t main_pid;
    pid_t gc_pid;
    const unsigned timeout_ms = 1000; /* room for the agent to start its grandchild under load */
    const unsigned grace_ms = 300;

    remove_file("hung.pid");
    remove_file("gc.pid");
    agent = write_agent("fence_hung", body);
    drv_fence_runner_set_limits(runner, 0, grace_ms);
    run_and_wait(agent, NULL, DRV_FENCE_ACT_OFF, "n2", timeout_ms);
    drv_fence_runner_set_limits(runner, 0, DRV_FENCE_KILL_GRACE_MS);

    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_TIMEOUT);
    CU_ASSERT_PTR_NOT_NULL(got.errmsg);
    CU_ASSERT_PTR_NOT_NULL(strstr(got.errmsg, "timed out after 1000 ms"));
    CU_ASSERT_STRING_EQUAL(got.out, "started\n"); /* what it said before it hung is kept */
    CU_ASSERT_TRUE(got.elapsed_ms >= timeout_ms);
    if (ignore_term) {
        CU_ASSERT_TRUE(got.elapsed_ms >= timeout_ms + grace_ms);
        CU_ASSERT_EQUAL(got.term_signal, SIGKILL);
    } else {
        CU_ASSERT_TRUE(got.elapsed_ms < timeout_ms + grace_ms);
        CU_ASSERT_EQUAL(got.term_signal, SIGTERM);
    }
    main_pid = read_pid("hung.pid");
    gc_pid = read_pid("gc.pid");
    CU_ASSERT_TRUE_FATAL(main_pid > 0 && gc_pid > 0);
    CU_ASSERT_FALSE(pid_alive(main_pid));
    /* the grandchild was in the group: killed with it (reaping by its new parent may lag) */
    CU_ASSERT_TRUE(wait_for(pid_gone, &gc_pid, 2000));
}

static void test_deadline_kills_group(void)
{
    hung_agent(false);
}

static void test_deadline_sigkill_after_grace(void)
{
    hung_agent(true);
}

/* An agent that exits at once but leaves a grandchild holding its stdout: the result does not
 * wait for that grandchild, which is killed with the rest of the group. */
static void test_leftovers_killed(void)
{
    g_autofree char *agent = write_agent(
        "fence_leaves",
        "sh -c 'echo $$ > @D@/left.pid.tmp; mv @D@/left.pid.tmp @D@/left.pid; exec sleep 1000' &\n"
        "while [ ! -s @D@/left.pid ]; do sleep 0.01; done\n"
        "echo done\n"
        "exit 0\n");
    pid_t gc;

    remove_file("left.pid");
    run_and_wait(agent, NULL, DRV_FENCE_ACT_ON, "n2", 3000);
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    CU_ASSERT_STRING_EQUAL(got.out, "done\n");
    CU_ASSERT_TRUE(got.elapsed_ms < 2000);
    gc = read_pid("left.pid");
    CU_ASSERT_TRUE_FATAL(gc > 0);
    CU_ASSERT_TRUE(wait_for(pid_gone, &gc, 2000));
}

static void test_cancel_and_free(void)
{
    g_autofree char *agent = write_agent("fence_sleepy", "echo $$ > @D@/sleepy.pid.tmp\n"
                                                         "mv @D@/sleepy.pid.tmp @D@/sleepy.pid\n"
                                                         "sleep 1000\n");
    drv_fence_runner_t *r2;
    uint64_t id = 0;
    pid_t pid;

    remove_file("sleepy.pid");
    got_reset(&got);
    CU_ASSERT_EQUAL_FATAL(drv_fence_agent_ops.run(runner, agent, NULL, DRV_FENCE_ACT_OFF, "n1",
                                                  10000, on_done, &got, &id, NULL),
                          0);
    CU_ASSERT_TRUE_FATAL(wait_for(file_there, "sleepy.pid", WAIT_MS));
    pid = read_pid("sleepy.pid");
    drv_fence_agent_ops.cancel(runner, id);
    drv_fence_agent_ops.cancel(runner, id); /* twice: ignored */
    CU_ASSERT_EQUAL(drv_fence_runner_in_flight(runner), 0);
    CU_ASSERT_TRUE(wait_for(pid_gone, &pid, 2000));
    spin(50);
    CU_ASSERT_EQUAL(got.n, 0);

    /* a runner freed with a call running: killed, no callback, reaped by the loop */
    remove_file("sleepy.pid");
    r2 = drv_fence_runner_new();
    CU_ASSERT_EQUAL_FATAL(drv_fence_agent_ops.run(r2, agent, NULL, DRV_FENCE_ACT_OFF, "n1", 10000,
                                                  on_done, &got, NULL, NULL),
                          0);
    CU_ASSERT_TRUE_FATAL(wait_for(file_there, "sleepy.pid", WAIT_MS));
    pid = read_pid("sleepy.pid");
    CU_ASSERT_EQUAL(drv_fence_runner_in_flight(r2), 1);
    drv_fence_runner_free(r2);
    CU_ASSERT_TRUE(wait_for(pid_gone, &pid, 2000));
    spin(50);
    CU_ASSERT_EQUAL(got.n, 0);
}

/* ---- tests: checks before anything runs ---- */

static void test_refused_before_running(void)
{
    g_autofree char *agent = write_agent("fence_marker", "touch @D@/marker.ran\nexit 0\n");
    g_autofree char *plain = path_in("not-executable");
    g_autofree char *long_value = g_strnfill(DRV_FENCE_STDIN_MAX, 'x');
    drv_fence_params_t *p = drv_fence_params_new();
    char *err = NULL;
    int rc;
    static const char *const bad_keys[] = {"",         "ip addr", "a=b",    "k\nx",
                                           "pässword", "action",  "option", "NodeName"};

    CU_ASSERT_FATAL(g_file_set_contents(plain, "#!/bin/sh\n", -1, NULL));
    CU_ASSERT_FATAL(chmod(plain, 0644) == 0);
    remove_file("marker.ran");
    got_reset(&got);

    /* the agent path */
    {
        const char *paths[] = {"fence_marker", "./fence_marker", plain, dir,
                               "/nonexistent/fence_x"};

        for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
            rc = drv_fence_agent_ops.run(runner, paths[i], NULL, DRV_FENCE_ACT_OFF, "n1", 1000,
                                         on_done, &got, NULL, &err);
            CU_ASSERT_EQUAL(rc, DRV_ERR_BAD_ARGS);
            CU_ASSERT_PTR_NOT_NULL(err);
            CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "fence agent"));
            g_free(err);
            err = NULL;
        }
    }
    rc = drv_fence_validate(plain, NULL, NULL, true, &err);
    CU_ASSERT_EQUAL(rc, DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "not executable"));
    g_free(err);
    err = NULL;

    /* keys and values */
    for (size_t i = 0; i < G_N_ELEMENTS(bad_keys); i++) {
        CU_ASSERT_EQUAL(drv_fence_params_set(p, bad_keys[i], "v", &err), DRV_ERR_BAD_ARGS);
        CU_ASSERT_PTR_NOT_NULL(err);
        g_free(err);
        err = NULL;
    }
    CU_ASSERT_EQUAL(drv_fence_params_set(p, "password", "pw\naction=on", &err), DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NULL(strstr(err, "pw")); /* the value is never echoed */
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line break"));
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL(drv_fence_params_set(p, "passwd", "pw\rx", NULL), DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_fence_params_set(p, "ipaddr", NULL, NULL), DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_fence_params_parse(p, "no-equals-sign", NULL), DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_fence_params_parse(p, "=value", NULL), DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_fence_params_count(p), 0);
    CU_ASSERT_EQUAL(drv_fence_params_set(p, "Valid_key-2", "", NULL), 0); /* empty is a value */
    CU_ASSERT_EQUAL(drv_fence_params_parse(p, "ssl=a=b", NULL), 0);
    CU_ASSERT_STRING_EQUAL(drv_fence_params_get(p, "ssl"), "a=b");

    /* the target, the timeout, the size of the whole input */
    rc = drv_fence_agent_ops.run(runner, agent, p, DRV_FENCE_ACT_OFF, "n1\naction=on", 1000,
                                 on_done, &got, NULL, &err);
    CU_ASSERT_EQUAL(rc, DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "target"));
    g_free(err);
    err = NULL;
    CU_ASSERT_EQUAL(drv_fence_agent_ops.run(runner, agent, p, DRV_FENCE_ACT_OFF, "", 1000, on_done,
                                            &got, NULL, NULL),
                    DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_fence_agent_ops.run(runner, agent, p, DRV_FENCE_ACT_OFF, "n1", 0, on_done,
                                            &got, NULL, NULL),
                    DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_fence_params_set(p, "big", long_value, NULL), 0);
    rc = drv_fence_agent_ops.run(runner, agent, p, DRV_FENCE_ACT_OFF, "n1", 1000, on_done, &got,
                                 NULL, &err);
    CU_ASSERT_EQUAL(rc, DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "too large"));
    g_free(err);

    spin(100);
    CU_ASSERT_EQUAL(got.n, 0);
    CU_ASSERT_FALSE(file_exists("marker.ran")); /* nothing ran */
    CU_ASSERT_EQUAL(drv_fence_runner_in_flight(runner), 0);
    drv_fence_params_free(p);
}

static void test_secrets_redacted(void)
{
    g_autofree char *agent = write_agent("fence_fail", "cat >/dev/null\necho 'Failed: no' >&2\n"
                                                       "exit 1\n");
    const char *kv[] = {"ipaddr=192.0.2.1",
                        "password=hunter2a",
                        "passwd=hunter2b",
                        "api_key=hunter2c",
                        "Auth_Token=hunter2d",
                        "community=hunter2e",
                        "hexadecimal_kg=hunter2f",
                        "client_secret=hunter2g",
                        "login=admin",
                        NULL};
    drv_fence_params_t *p = params_of(kv);
    g_autofree char *red = drv_fence_params_redacted(p);
    g_autofree char *perr = NULL;
    static const char *const secret[] = {
        "password", "PASSWD",        "snmp_priv_passwd", "api_key",        "ssh-key",
        "token",    "client_secret", "community",        "hexadecimal_kg", "credentials_file"};
    static const char *const plain[] = {"ipaddr", "login",  "port",    "plug",
                                        "ssl",    "method", "lanplus", "cipher"};

    CU_ASSERT_STRING_EQUAL(red, "ipaddr=192.0.2.1 password=****** passwd=****** api_key=****** "
                                "Auth_Token=****** community=****** hexadecimal_kg=****** "
                                "client_secret=****** login=admin");
    for (size_t i = 0; i < G_N_ELEMENTS(secret); i++) {
        CU_ASSERT_TRUE(drv_fence_param_is_secret(secret[i]));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(plain); i++) {
        CU_ASSERT_FALSE(drv_fence_param_is_secret(plain[i]));
    }
    /* a malformed --param that is a secret is not echoed either */
    CU_ASSERT_EQUAL(drv_fence_params_parse(p, "password:hunter2h", &perr), DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NULL(strstr(perr, "hunter2"));

    /* what the runner logs on a failing call, with every secret: none of them */
    g_string_truncate(logged, 0);
    run_and_wait(agent, p, DRV_FENCE_ACT_OFF, "n2", 3000);
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(logged->str, "Running fence agent"));
    CU_ASSERT_PTR_NOT_NULL(strstr(logged->str, "password=******"));
    CU_ASSERT_PTR_NULL(strstr(logged->str, "hunter2"));
    CU_ASSERT_PTR_NULL(strstr(got.errmsg, "hunter2"));
    drv_fence_params_free(p);
}

/* ---- tests: retry ---- */

static void test_retry_backoff(void)
{
    g_autofree char *agent =
        write_agent("fence_flaky", "cat >/dev/null\n"
                                   "n=$(cat @D@/count 2>/dev/null || echo 0)\n"
                                   "n=$((n + 1))\n"
                                   "echo $n > @D@/count\n"
                                   "[ $n -ge 3 ] && { echo 'Success: Powered OFF'; exit 0; }\n"
                                   "echo \"Failed: attempt $n\" >&2\n"
                                   "exit 1\n");
    drv_fence_retry_policy_t pol = {.max_retries = 5, .delay_ms = 100, .max_delay_ms = 150};
    drv_fence_retry_t *r;
    g_autofree char *count = NULL;
    char *err = NULL;

    remove_file("count");
    got_reset(&got);
    r = drv_fence_retry_start(&drv_fence_agent_ops, runner, agent, NULL, DRV_FENCE_ACT_OFF, "n2",
                              3000, &pol, on_attempt, on_done, &got, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_TRUE_FATAL(wait_for(got_done, &got, WAIT_MS));
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    CU_ASSERT_EQUAL_FATAL(got.attempts->len, 3);
    CU_ASSERT_EQUAL(g_array_index(got.attempts, drv_fence_outcome_t, 0), DRV_FENCE_RES_FAILED);
    CU_ASSERT_EQUAL(g_array_index(got.attempts, drv_fence_outcome_t, 1), DRV_FENCE_RES_FAILED);
    CU_ASSERT_EQUAL(g_array_index(got.attempts, drv_fence_outcome_t, 2), DRV_FENCE_RES_OK);
    CU_ASSERT_TRUE(g_array_index(got.will_retry, gboolean, 0));
    CU_ASSERT_TRUE(g_array_index(got.will_retry, gboolean, 1));
    CU_ASSERT_FALSE(g_array_index(got.will_retry, gboolean, 2));
    CU_ASSERT_EQUAL(g_array_index(got.delays, unsigned, 0), 100);
    CU_ASSERT_EQUAL(g_array_index(got.delays, unsigned, 1), 150); /* 200, capped */
    /* the waits really happened between attempts */
    CU_ASSERT_TRUE(g_array_index(got.attempt_at_ms, gint64, 1) -
                       g_array_index(got.attempt_at_ms, gint64, 0) >=
                   100);
    CU_ASSERT_TRUE(g_array_index(got.attempt_at_ms, gint64, 2) -
                       g_array_index(got.attempt_at_ms, gint64, 1) >=
                   150);
    count = read_file("count");
    CU_ASSERT_STRING_EQUAL(count, "3\n");
    spin(20);
    CU_ASSERT_EQUAL(got.n, 1);

    /* retries exhausted: the last failure is the result */
    remove_file("count");
    got_reset(&got);
    pol.max_retries = 1;
    pol.delay_ms = 10;
    r = drv_fence_retry_start(&drv_fence_agent_ops, runner, agent, NULL, DRV_FENCE_ACT_OFF, "n2",
                              3000, &pol, on_attempt, on_done, &got, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_TRUE_FATAL(wait_for(got_done, &got, WAIT_MS));
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_FAILED);
    CU_ASSERT_STRING_EQUAL(got.errmsg, "exit status 1: Failed: attempt 2");
    CU_ASSERT_EQUAL(got.attempts->len, 2);

    /* refused up front: no handle, no callback */
    r = drv_fence_retry_start(&drv_fence_agent_ops, runner, "relative", NULL, DRV_FENCE_ACT_OFF,
                              "n2", 3000, &pol, on_attempt, on_done, &got, &err);
    CU_ASSERT_PTR_NULL(r);
    CU_ASSERT_PTR_NOT_NULL(err);
    g_free(err);
}

static void test_retry_cancel_with_fake(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    drv_fence_retry_policy_t pol = {.max_retries = 3, .delay_ms = 50, .max_delay_ms = 0};
    drv_fence_retry_t *r;

    /* status answers "off" at once: an answer, not a failure, no retry */
    drv_fence_fake_script(f, DRV_FENCE_ACT_STATUS, "n2", DRV_FENCE_RES_OFF, 2, NULL, NULL, 0);
    got_reset(&got);
    r = drv_fence_retry_start(&drv_fence_fake_ops, f, "/usr/sbin/fence_x", NULL,
                              DRV_FENCE_ACT_STATUS, "n2", 1000, &pol, on_attempt, on_done, &got,
                              NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_TRUE_FATAL(wait_for(got_done, &got, WAIT_MS));
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OFF);
    CU_ASSERT_EQUAL(got.attempts->len, 1);

    /* failing twice then working, with the fake */
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, NULL, DRV_FENCE_RES_FAILED, 1, NULL, "bad\n", 0);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, NULL, DRV_FENCE_RES_TIMEOUT, -1, NULL, NULL, 20);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, NULL, DRV_FENCE_RES_OK, 0, NULL, NULL, 0);
    got_reset(&got);
    r = drv_fence_retry_start(&drv_fence_fake_ops, f, "/usr/sbin/fence_x", NULL, DRV_FENCE_ACT_OFF,
                              "n3", 1000, &pol, on_attempt, on_done, &got, NULL);
    CU_ASSERT_TRUE_FATAL(wait_for(got_done, &got, WAIT_MS));
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    CU_ASSERT_EQUAL(got.attempts->len, 3);
    CU_ASSERT_EQUAL(g_array_index(got.delays, unsigned, 0), 50);
    CU_ASSERT_EQUAL(g_array_index(got.delays, unsigned, 1), 100);
    CU_ASSERT_EQUAL(drv_fence_fake_count(f, DRV_FENCE_ACT_OFF, "n3"), 3);

    /* cancelled during the back-off: nothing more runs, no callback */
    drv_fence_fake_clear_scripts(f);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, NULL, DRV_FENCE_RES_FAILED, 1, NULL, NULL, 0);
    got_reset(&got);
    pol.delay_ms = 200;
    r = drv_fence_retry_start(&drv_fence_fake_ops, f, "/usr/sbin/fence_x", NULL, DRV_FENCE_ACT_OFF,
                              "n4", 1000, &pol, on_attempt, on_done, &got, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    spin(50);
    CU_ASSERT_EQUAL(got.attempts->len, 1);
    drv_fence_retry_cancel(r);
    spin(300);
    CU_ASSERT_EQUAL(got.attempts->len, 1);
    CU_ASSERT_EQUAL(got.n, 0);
    CU_ASSERT_EQUAL(drv_fence_fake_count(f, DRV_FENCE_ACT_OFF, "n4"), 1);

    /* cancelled while an attempt runs (held by the fake): the fake's call is cancelled */
    drv_fence_fake_hold(f, true);
    got_reset(&got);
    r = drv_fence_retry_start(&drv_fence_fake_ops, f, "/usr/sbin/fence_x", NULL, DRV_FENCE_ACT_OFF,
                              "n5", 1000, &pol, on_attempt, on_done, &got, NULL);
    CU_ASSERT_EQUAL(drv_fence_fake_pending(f), 1);
    drv_fence_retry_cancel(r);
    CU_ASSERT_EQUAL(drv_fence_fake_pending(f), 0);
    CU_ASSERT_TRUE(drv_fence_fake_call(f, drv_fence_fake_n_calls(f) - 1)->cancelled);
    CU_ASSERT_EQUAL(drv_fence_fake_release(f), 0);
    CU_ASSERT_EQUAL(got.attempts->len, 0);
    CU_ASSERT_EQUAL(got.n, 0);
    drv_fence_fake_free(f);
}

/* ---- tests: the fake ---- */

static void test_fake(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    const char *kv[] = {"ipaddr=192.0.2.1", "password=pw", NULL};
    drv_fence_params_t *p = params_of(kv);
    const drv_fence_fake_call_t *c;
    char *err = NULL;
    uint64_t id = 0;

    /* no script: success */
    got_reset(&got);
    CU_ASSERT_EQUAL(drv_fence_fake_ops.run(f, "/usr/sbin/fence_ipmilan", p, DRV_FENCE_ACT_STATUS,
                                           "n1", 1000, on_done, &got, &id, NULL),
                    0);
    CU_ASSERT_EQUAL(got.n, 0); /* never from inside run */
    CU_ASSERT_TRUE(wait_for(got_done, &got, WAIT_MS));
    CU_ASSERT_EQUAL(got.outcome, DRV_FENCE_RES_OK);
    CU_ASSERT_EQUAL(got.call_id, id);
    c = drv_fence_fake_call(f, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(c->agent, "/usr/sbin/fence_ipmilan");
    CU_ASSERT_EQUAL(c->action, DRV_FENCE_ACT_STATUS);
    CU_ASSERT_STRING_EQUAL(c->target, "n1");
    CU_ASSERT_STRING_EQUAL(c->params, "ipaddr=192.0.2.1 password=******");
    CU_ASSERT_STRING_EQUAL(c->stdin_text, "action=status\nnodename=n1\nplug=n1\nport=n1\n"
                                          "ipaddr=192.0.2.1\npassword=pw\n");
    CU_ASSERT_TRUE(c->delivered);

    /* per-target script first, then the any-target one; the last result repeats */
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, "n2", DRV_FENCE_RES_FAILED, 1, "o", "e1\n", 0);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, "n2", DRV_FENCE_RES_OK, 0, NULL, NULL, 0);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, NULL, DRV_FENCE_RES_TIMEOUT, -1, NULL, NULL, 30);
    {
        static const struct {
            const char *target;
            drv_fence_outcome_t outcome;
        } seq[] = {{"n2", DRV_FENCE_RES_FAILED},
                   {"n2", DRV_FENCE_RES_OK},
                   {"n2", DRV_FENCE_RES_OK},
                   {"n3", DRV_FENCE_RES_TIMEOUT},
                   {"n3", DRV_FENCE_RES_TIMEOUT}};

        for (size_t i = 0; i < G_N_ELEMENTS(seq); i++) {
            got_reset(&got);
            CU_ASSERT_EQUAL(drv_fence_fake_ops.run(f, "/x/fence", NULL, DRV_FENCE_ACT_OFF,
                                                   seq[i].target, 500, on_done, &got, NULL, NULL),
                            0);
            CU_ASSERT_TRUE(wait_for(got_done, &got, WAIT_MS));
            CU_ASSERT_EQUAL(got.outcome, seq[i].outcome);
        }
    }
    CU_ASSERT_EQUAL(drv_fence_fake_count(f, DRV_FENCE_ACT_OFF, "n2"), 3);
    CU_ASSERT_EQUAL(drv_fence_fake_count(f, DRV_FENCE_ACT_OFF, NULL), 5);
    CU_ASSERT_EQUAL(drv_fence_fake_count(f, DRV_FENCE_ACT_ON, NULL), 0);

    /* hold mode: nothing until released, in call order */
    drv_fence_fake_hold(f, true);
    got_reset(&got);
    CU_ASSERT_EQUAL(drv_fence_fake_ops.run(f, "/x/fence", NULL, DRV_FENCE_ACT_STATUS, "n9", 500,
                                           on_done, &got, &id, NULL),
                    0);
    spin(50);
    CU_ASSERT_EQUAL(got.n, 0);
    CU_ASSERT_EQUAL(drv_fence_fake_pending(f), 1);
    CU_ASSERT_EQUAL(drv_fence_fake_release(f), 1);
    CU_ASSERT_EQUAL(got.n, 1);
    CU_ASSERT_EQUAL(got.call_id, id);
    drv_fence_fake_hold(f, false);

    /* the same checks as the real runner, except that the agent need not exist */
    CU_ASSERT_EQUAL(drv_fence_fake_ops.run(f, "fence_x", NULL, DRV_FENCE_ACT_OFF, "n1", 500,
                                           on_done, &got, NULL, &err),
                    DRV_ERR_BAD_ARGS);
    g_free(err);
    CU_ASSERT_EQUAL(drv_fence_fake_ops.run(f, "/x/fence", NULL, DRV_FENCE_ACT_OFF, "n\n1", 500,
                                           on_done, &got, NULL, NULL),
                    DRV_ERR_BAD_ARGS);

    /* freed with a result pending: no callback */
    got_reset(&got);
    drv_fence_fake_script(f, DRV_FENCE_ACT_ON, NULL, DRV_FENCE_RES_OK, 0, NULL, NULL, 100);
    CU_ASSERT_EQUAL(drv_fence_fake_ops.run(f, "/x/fence", NULL, DRV_FENCE_ACT_ON, "n1", 500,
                                           on_done, &got, NULL, NULL),
                    0);
    drv_fence_fake_free(f);
    spin(150);
    CU_ASSERT_EQUAL(got.n, 0);
    drv_fence_params_free(p);
}

static void test_names(void)
{
    drv_fence_action_t a;

    for (unsigned i = 0; i < DRV_FENCE_ACT_N; i++) {
        CU_ASSERT_EQUAL(drv_fence_action_parse(drv_fence_action_str(i), &a), 0);
        CU_ASSERT_EQUAL(a, i);
    }
    CU_ASSERT_EQUAL(drv_fence_action_parse("poweroff", &a), DRV_ERR_BAD_ARGS);
    CU_ASSERT_STRING_EQUAL(drv_fence_outcome_str(DRV_FENCE_RES_TIMEOUT), "timed out");
}

/* ---- main ---- */

static void log_to_string(int32_t t, struct qb_log_callsite *cs, struct timespec *ts,
                          const char *msg)
{
    g_string_append_printf(logged, "%s\n", msg);
}

int main(void)
{
    CU_pSuite suite;
    unsigned failed;
    int32_t t;
    GError *gerr = NULL;

    /* the runner must not depend on the process ignoring SIGPIPE (droverd does; we do not) */
    signal(SIGPIPE, SIG_DFL);
    if (access("/bin/sh", X_OK) != 0 || access("/proc/self/stat", R_OK) != 0) {
        fprintf(stderr, "skipped: the fake agents need /bin/sh, the kill checks /proc\n");
        return 77;
    }
    dir = g_dir_make_tmp("drv-fence-XXXXXX", &gerr);
    if (!dir) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", gerr->message);
        return 1;
    }
    logged = g_string_new(NULL);
    qb_log_init("test-fence-agent", LOG_DAEMON, LOG_DEBUG);
    qb_log_ctl(QB_LOG_SYSLOG, QB_LOG_CONF_ENABLED, QB_FALSE);
    t = qb_log_custom_open(log_to_string, NULL, NULL, NULL);
    qb_log_ctl(t, QB_LOG_CONF_ENABLED, QB_TRUE);
    qb_log_filter_ctl(t, QB_LOG_FILTER_ADD, QB_LOG_FILTER_FILE, "*", LOG_DEBUG);
    runner = drv_fence_runner_new();

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("fence-agent", NULL, NULL);
    CU_add_test(suite, "action and outcome names", test_names);
    CU_add_test(suite, "success; the agent's stdin is exactly the expected lines",
                test_success_and_stdin);
    CU_add_test(suite, "exit status mapping: status 0 on / 2 off / else error; signals",
                test_exit_mapping);
    CU_add_test(suite, "stdout/stderr captured and bounded; malformed output made text",
                test_output_bounds);
    CU_add_test(suite, "deadline: the whole process group is killed (SIGTERM)",
                test_deadline_kills_group);
    CU_add_test(suite, "deadline: SIGKILL after the grace when SIGTERM is ignored",
                test_deadline_sigkill_after_grace);
    CU_add_test(suite, "leftovers of an agent that exited are killed, result not held up",
                test_leftovers_killed);
    CU_add_test(suite, "cancel and runner free kill the agent, no callback", test_cancel_and_free);
    CU_add_test(suite, "bad agent path, parameters, target refused before running",
                test_refused_before_running);
    CU_add_test(suite, "secret parameters never printed nor logged", test_secrets_redacted);
    CU_add_test(suite, "retry with back-off: fails twice then succeeds; exhausted",
                test_retry_backoff);
    CU_add_test(suite, "retry over the fake: off is an answer; cancel in back-off and in flight",
                test_retry_cancel_with_fake);
    CU_add_test(suite, "fake: scripts per action/target, records, hold/release, checks", test_fake);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();

    drv_fence_runner_free(runner);
    {
        /* remove the temp dir: every file in it is ours */
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *p = path_in(name);

            (void)g_unlink(p);
        }
        if (d) {
            g_dir_close(d);
        }
        (void)g_rmdir(dir);
    }
    g_free(dir);
    g_string_free(logged, TRUE);
    qb_log_fini();
    return failed ? 1 : 0;
}
