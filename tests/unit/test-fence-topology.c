/* Fencing through topology levels (fencing/fence_topology.c) over the fake ops table, and once
 * over the real runner (a device whose agent file is missing). Waits iterate GLib's default
 * context until a condition holds or a deadline passes; the test itself never sleeps. */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <glib.h>

#include "drover/results.h"
#include "drv_fence_topology.h"
#include "fence_fake.h"

#define WAIT_MS 5000
#define T "n2" /* the target */

/* ---- helpers ---- */

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

static bool never(const void *arg)
{
    return false;
}

static void spin(unsigned ms)
{
    (void)wait_for(never, NULL, ms);
}

/* What the callbacks saw. */
typedef struct got {
    unsigned n_done;
    bool success;
    unsigned level;
    char *devices;
    char *errmsg;
    unsigned n_calls;
    GString *steps;                   /* "L dev #attempt retry|last outcome\n" per call */
    gint64 start_us;                  /* when the run was started */
    gint64 first_step_us;             /* when the first call's result came */
    drv_fence_topo_t *cancel_in_step; /* cancel this run from the step callback */
} got_t;

static got_t got;

static void got_reset(void)
{
    g_free(got.devices);
    g_free(got.errmsg);
    if (got.steps) {
        g_string_free(got.steps, TRUE);
    }
    memset(&got, 0, sizeof(got));
    got.steps = g_string_new(NULL);
    got.start_us = g_get_monotonic_time();
}

static void on_step(void *ud, const drv_fence_topo_step_t *s)
{
    got_t *g = ud;

    if (!g->first_step_us) {
        g->first_step_us = g_get_monotonic_time();
    }
    CU_ASSERT_PTR_NOT_NULL(s->result);
    CU_ASSERT_EQUAL(s->result->errmsg == NULL, drv_fence_result_succeeded(s->result));
    g_string_append_printf(g->steps, "%u %s #%u %s %s\n", s->level, s->device, s->attempt,
                           s->will_retry ? "retry" : "last",
                           drv_fence_outcome_str(s->result->outcome));
    if (g->cancel_in_step) {
        drv_fence_topo_cancel(g->cancel_in_step);
    }
}

static void on_done(void *ud, const drv_fence_topo_result_t *r)
{
    got_t *g = ud;

    g->n_done++;
    g->success = r->success;
    g->level = r->level;
    g->devices = g_strdup(r->devices);
    g->errmsg = g_strdup(r->errmsg);
    g->n_calls = r->n_calls;
    CU_ASSERT_EQUAL(r->errmsg == NULL, r->success);
}

static bool done(const void *arg)
{
    return ((const got_t *)arg)->n_done > 0;
}

static bool fake_pending(const void *arg)
{
    return drv_fence_fake_pending(arg) > 0;
}

/* Devices "a", "b" (only in a level with "a") and "c", with agents /x/fence_a... */
static const drv_fence_dev_spec_t dev_a = {"a", "/x/fence_a", NULL};
static const drv_fence_dev_spec_t dev_c = {"c", "/x/fence_c", NULL};
static const drv_fence_dev_spec_t dev_ab[] = {{"a", "/x/fence_a", NULL}, {"b", "/x/fence_b", NULL}};

/* Starts a run over F and waits for its end; asserts that done came exactly once, never from
 * inside start, and that nothing ran inside start. */
static void run(drv_fence_fake_t *f, const drv_fence_level_spec_t *levels, size_t n,
                const drv_fence_retry_policy_t *pol)
{
    size_t calls_before = drv_fence_fake_n_calls(f);
    g_autofree char *err = NULL;
    drv_fence_topo_t *t;

    got_reset();
    t = drv_fence_topo_start(&drv_fence_fake_ops, f, T, DRV_FENCE_ACT_OFF, levels, n, 1000, pol, 0,
                             on_step, on_done, &got, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_EQUAL(got.n_done, 0);
    CU_ASSERT_EQUAL(drv_fence_fake_n_calls(f), calls_before);
    CU_ASSERT_TRUE_FATAL(wait_for(done, &got, WAIT_MS));
    spin(30);
    CU_ASSERT_EQUAL(got.n_done, 1);
    CU_ASSERT_EQUAL(drv_fence_fake_pending(f), 0);
}

static const char *agent_of_call(drv_fence_fake_t *f, size_t i)
{
    const drv_fence_fake_call_t *c = drv_fence_fake_call(f, i);

    return c ? c->agent : "";
}

/* ---- tests ---- */

static void test_first_level_succeeds(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    /* given out of order: level 1 runs first */
    const drv_fence_level_spec_t levels[] = {{2, &dev_c, 1}, {1, dev_ab, 2}};

    run(f, levels, 2, NULL);
    CU_ASSERT_TRUE(got.success);
    CU_ASSERT_EQUAL(got.level, 1);
    CU_ASSERT_STRING_EQUAL(got.devices, "a,b");
    CU_ASSERT_EQUAL(got.n_calls, 2);
    CU_ASSERT_STRING_EQUAL(got.steps->str, "1 a #0 last ok\n1 b #0 last ok\n");
    CU_ASSERT_EQUAL_FATAL(drv_fence_fake_n_calls(f), 2);
    CU_ASSERT_STRING_EQUAL(agent_of_call(f, 0), "/x/fence_a");
    CU_ASSERT_STRING_EQUAL(agent_of_call(f, 1), "/x/fence_b");
    CU_ASSERT_EQUAL(drv_fence_fake_call(f, 0)->action, DRV_FENCE_ACT_OFF);
    CU_ASSERT_STRING_EQUAL(drv_fence_fake_call(f, 0)->target, T);
    CU_ASSERT_EQUAL(drv_fence_fake_call(f, 0)->timeout_ms, 1000);
    drv_fence_fake_free(f);
}

static void test_falls_to_next_level(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    const drv_fence_level_spec_t levels[] = {{1, &dev_a, 1}, {2, &dev_c, 1}};

    /* the fake scripts per target: the first call fails, the next ones succeed */
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_FAILED, 1, NULL,
                          "Failed: BMC unreachable\n", 0);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_OK, 0, NULL, NULL, 0);
    run(f, levels, 2, NULL);
    CU_ASSERT_TRUE(got.success);
    CU_ASSERT_EQUAL(got.level, 2);
    CU_ASSERT_STRING_EQUAL(got.devices, "c");
    CU_ASSERT_PTR_NULL(got.errmsg);
    CU_ASSERT_STRING_EQUAL(got.steps->str, "1 a #0 last failed\n2 c #0 last ok\n");
    CU_ASSERT_STRING_EQUAL(agent_of_call(f, 1), "/x/fence_c");
    drv_fence_fake_free(f);
}

static void test_second_device_fails_level(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    const drv_fence_level_spec_t levels[] = {{1, dev_ab, 2}, {2, &dev_c, 1}};

    /* a ok, b fails: level 1 fails; c: level 2 fails too */
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_OK, 0, NULL, NULL, 0);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_FAILED, 1, NULL,
                          "Failed: outlet stuck\n", 0);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_TIMEOUT, -1, NULL, NULL, 0);
    run(f, levels, 2, NULL);
    CU_ASSERT_FALSE(got.success);
    CU_ASSERT_EQUAL(got.level, 2); /* the last one tried */
    CU_ASSERT_STRING_EQUAL(got.devices, "c");
    CU_ASSERT_STRING_EQUAL(got.errmsg, "level 1: b: exit status 1: Failed: outlet stuck; "
                                       "level 2: c: timed out after 1000 ms (process group "
                                       "killed)");
    CU_ASSERT_STRING_EQUAL(got.steps->str,
                           "1 a #0 last ok\n1 b #0 last failed\n2 c #0 last timed out\n");
    CU_ASSERT_EQUAL(got.n_calls, 3);

    /* the first device of a level fails: the rest of the level is skipped */
    drv_fence_fake_clear_scripts(f);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_FAILED, 1, NULL, NULL, 0);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_OK, 0, NULL, NULL, 0);
    run(f, levels, 2, NULL);
    CU_ASSERT_TRUE(got.success);
    CU_ASSERT_STRING_EQUAL(got.steps->str, "1 a #0 last failed\n2 c #0 last ok\n");
    CU_ASSERT_EQUAL(drv_fence_fake_n_calls(f), 5);
    drv_fence_fake_free(f);
}

static void test_retries_in_steps(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    const drv_fence_level_spec_t levels[] = {{1, &dev_a, 1}, {2, &dev_c, 1}};
    drv_fence_retry_policy_t pol = {.max_retries = 2, .delay_ms = 5, .max_delay_ms = 0};

    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_FAILED, 1, NULL, NULL, 0);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_FAILED, 1, NULL, NULL, 0);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_OK, 0, NULL, NULL, 0);
    run(f, levels, 2, &pol);
    CU_ASSERT_TRUE(got.success);
    CU_ASSERT_EQUAL(got.level, 1);
    CU_ASSERT_EQUAL(got.n_calls, 3);
    CU_ASSERT_STRING_EQUAL(got.steps->str,
                           "1 a #0 retry failed\n1 a #1 retry failed\n1 a #2 last ok\n");

    /* every level fails after its retries: each level's failure in the message, bounded */
    drv_fence_fake_clear_scripts(f);
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_FAILED, 1, NULL, "nope\n", 0);
    run(f, levels, 2, &pol);
    CU_ASSERT_FALSE(got.success);
    CU_ASSERT_EQUAL(got.n_calls, 6);
    CU_ASSERT_STRING_EQUAL(got.errmsg, "level 1: a: exit status 1: nope (3 attempts); "
                                       "level 2: c: exit status 1: nope (3 attempts)");
    drv_fence_fake_free(f);
}

static void test_message_bounded(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    drv_fence_level_spec_t levels[6];
    g_autofree char *long_err = g_strnfill(500, 'x');
    g_autofree char *stderr_text = g_strconcat("\xc3\xa9", long_err, "\n", NULL);

    for (unsigned i = 0; i < G_N_ELEMENTS(levels); i++) {
        levels[i] = (drv_fence_level_spec_t){i + 1, &dev_a, 1};
    }
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_FAILED, 1, NULL, stderr_text, 0);
    run(f, levels, G_N_ELEMENTS(levels), NULL);
    CU_ASSERT_FALSE(got.success);
    CU_ASSERT_EQUAL(got.level, 6);
    CU_ASSERT_TRUE(strlen(got.errmsg) <= DRV_FENCE_TOPO_ERRMSG_MAX);
    CU_ASSERT_TRUE(g_str_has_prefix(got.errmsg, "level 1: a: exit status 1: \xc3\xa9xxx"));
    CU_ASSERT_PTR_NOT_NULL(strstr(got.errmsg, "...; level 2: a: "));
    CU_ASSERT_TRUE(g_str_has_suffix(got.errmsg, "..."));
    CU_ASSERT_TRUE(g_utf8_validate(got.errmsg, -1, NULL));
    CU_ASSERT_PTR_NULL(strchr(got.errmsg, '\n'));
    drv_fence_fake_free(f);
}

static void test_cancel(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    const drv_fence_level_spec_t levels[] = {{1, &dev_a, 1}, {2, &dev_c, 1}};
    drv_fence_retry_policy_t pol = {.max_retries = 3, .delay_ms = 100, .max_delay_ms = 0};
    drv_fence_topo_t *t;

    /* while a call is held by the fake: that call is cancelled, no callback ever */
    drv_fence_fake_hold(f, true);
    got_reset();
    t = drv_fence_topo_start(&drv_fence_fake_ops, f, T, DRV_FENCE_ACT_REBOOT, levels, 2, 1000, &pol,
                             0, on_step, on_done, &got, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_TRUE_FATAL(wait_for(fake_pending, f, WAIT_MS));
    CU_ASSERT_EQUAL(drv_fence_fake_call(f, 0)->action, DRV_FENCE_ACT_REBOOT);
    drv_fence_topo_cancel(t);
    CU_ASSERT_EQUAL(drv_fence_fake_pending(f), 0);
    CU_ASSERT_TRUE(drv_fence_fake_call(f, 0)->cancelled);
    CU_ASSERT_EQUAL(drv_fence_fake_release(f), 0);
    spin(50);
    CU_ASSERT_EQUAL(got.n_done, 0);
    CU_ASSERT_STRING_EQUAL(got.steps->str, "");
    drv_fence_fake_hold(f, false);

    /* during the initial delay: nothing runs */
    got_reset();
    t = drv_fence_topo_start(&drv_fence_fake_ops, f, T, DRV_FENCE_ACT_OFF, levels, 2, 1000, &pol,
                             50, on_step, on_done, &got, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    drv_fence_topo_cancel(t);
    spin(100);
    CU_ASSERT_EQUAL(drv_fence_fake_n_calls(f), 1);
    CU_ASSERT_EQUAL(got.n_done, 0);

    /* from the step callback, with a retry pending: no further call, no done */
    drv_fence_fake_script(f, DRV_FENCE_ACT_OFF, T, DRV_FENCE_RES_FAILED, 1, NULL, NULL, 0);
    got_reset();
    t = drv_fence_topo_start(&drv_fence_fake_ops, f, T, DRV_FENCE_ACT_OFF, levels, 2, 1000, &pol, 0,
                             on_step, on_done, &got, NULL);
    got.cancel_in_step = t;
    spin(300);
    CU_ASSERT_STRING_EQUAL(got.steps->str, "1 a #0 retry failed\n");
    CU_ASSERT_EQUAL(drv_fence_fake_n_calls(f), 2);
    CU_ASSERT_EQUAL(got.n_done, 0);
    drv_fence_fake_free(f);
}

static void test_delay(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    const drv_fence_level_spec_t levels[] = {{1, &dev_a, 1}};
    const unsigned delay_ms = 150;
    drv_fence_topo_t *t;

    got_reset();
    t = drv_fence_topo_start(&drv_fence_fake_ops, f, T, DRV_FENCE_ACT_OFF, levels, 1, 1000, NULL,
                             delay_ms, on_step, on_done, &got, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    spin(delay_ms / 2);
    CU_ASSERT_EQUAL(drv_fence_fake_n_calls(f), 0); /* still waiting */
    CU_ASSERT_TRUE_FATAL(wait_for(done, &got, WAIT_MS));
    CU_ASSERT_TRUE(got.success);
    CU_ASSERT_TRUE(got.first_step_us - got.start_us >= (gint64)delay_ms * 1000);
    spin(30);
    CU_ASSERT_EQUAL(got.n_done, 1);
    drv_fence_fake_free(f);
}

static void test_refused_at_start(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    const drv_fence_dev_spec_t relative = {"r", "fence_r", NULL};
    const drv_fence_dev_spec_t unnamed = {"", "/x/fence_u", NULL};
    const drv_fence_dev_spec_t comma = {"a,b", "/x/fence_u", NULL};
    const drv_fence_level_spec_t ok[] = {{1, &dev_a, 1}};
    const drv_fence_level_spec_t empty[] = {{1, &dev_a, 1}, {2, NULL, 0}};
    const drv_fence_level_spec_t dup[] = {{1, &dev_a, 1}, {1, &dev_c, 1}};
    const drv_fence_level_spec_t rel[] = {{1, &dev_a, 1}, {3, &relative, 1}};
    const drv_fence_level_spec_t noname[] = {{1, &unnamed, 1}};
    const drv_fence_level_spec_t commas[] = {{1, &comma, 1}};
    static const struct {
        const char *target;
        drv_fence_action_t action;
        size_t n;
        unsigned timeout_ms;
        const char *want; /* in the message */
    } cases[] = {
        {"", DRV_FENCE_ACT_OFF, 1, 1000, "target is empty"},
        {"n\n2", DRV_FENCE_ACT_OFF, 1, 1000, "line break"},
        {NULL, DRV_FENCE_ACT_OFF, 1, 1000, "target is empty"},
        {T, DRV_FENCE_ACT_STATUS, 1, 1000, "not off, reboot or on"},
        {T, DRV_FENCE_ACT_OFF, 1, 0, "timeout"},
        {T, DRV_FENCE_ACT_OFF, 0, 1000, "no fencing level"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        char *err = NULL;

        CU_ASSERT_PTR_NULL(drv_fence_topo_start(
            &drv_fence_fake_ops, f, cases[i].target, cases[i].action, ok, cases[i].n,
            cases[i].timeout_ms, NULL, 0, on_step, on_done, &got, &err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, cases[i].want));
        g_free(err);
    }
    {
        const struct {
            const drv_fence_level_spec_t *levels;
            size_t n;
            const char *want;
        } bad[] = {
            {empty, 2, "fencing level 2 has no device"},
            {dup, 2, "fencing level 1 appears twice"},
            {rel, 2, "fencing level 3: device r: fence agent 'fence_r' is not an absolute path"},
            {noname, 1, "fencing level 1: device 1 has no name"},
            {commas, 1, "a name with ','"},
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
            char *err = NULL;

            CU_ASSERT_PTR_NULL(drv_fence_topo_start(&drv_fence_fake_ops, f, T, DRV_FENCE_ACT_OFF,
                                                    bad[i].levels, bad[i].n, 1000, NULL, 0, on_step,
                                                    on_done, &got, &err));
            CU_ASSERT_PTR_NOT_NULL_FATAL(err);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].want));
            g_free(err);
        }
    }
    CU_ASSERT_PTR_NULL(drv_fence_topo_start(&drv_fence_fake_ops, f, T, DRV_FENCE_ACT_OFF, ok, 1,
                                            1000, NULL, 0, on_step, NULL, &got, NULL));
    spin(20);
    CU_ASSERT_EQUAL(drv_fence_fake_n_calls(f), 0);
    drv_fence_fake_free(f);
}

/* Specs and parameters are copied: freed right after start, the run still uses them. */
static void test_specs_copied(void)
{
    drv_fence_fake_t *f = drv_fence_fake_new();
    drv_fence_params_t *p = drv_fence_params_new();
    drv_fence_dev_spec_t *dev = g_new0(drv_fence_dev_spec_t, 1);
    drv_fence_level_spec_t *lv = g_new0(drv_fence_level_spec_t, 1);
    drv_fence_topo_t *t;

    CU_ASSERT_EQUAL(drv_fence_params_set(p, "password", "pw", NULL), 0);
    dev->name = g_strdup("ipmi-n2");
    dev->agent = g_strdup("/usr/sbin/fence_ipmilan");
    dev->params = p;
    lv->index = 1;
    lv->devs = dev;
    lv->n_devs = 1;
    got_reset();
    t = drv_fence_topo_start(&drv_fence_fake_ops, f, T, DRV_FENCE_ACT_OFF, lv, 1, 1000, NULL, 0,
                             on_step, on_done, &got, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    g_free((char *)dev->name);
    g_free((char *)dev->agent);
    drv_fence_params_free(p);
    g_free(dev);
    g_free(lv);
    CU_ASSERT_TRUE_FATAL(wait_for(done, &got, WAIT_MS));
    CU_ASSERT_TRUE(got.success);
    CU_ASSERT_STRING_EQUAL(got.devices, "ipmi-n2");
    CU_ASSERT_STRING_EQUAL(drv_fence_fake_call(f, 0)->agent, "/usr/sbin/fence_ipmilan");
    CU_ASSERT_STRING_EQUAL(drv_fence_fake_call(f, 0)->params, "password=******");
    drv_fence_fake_free(f);
}

/* Over the real runner: an agent file that is missing is refused when its turn comes (a failed
 * call of that device), and the next level, /bin/true, fences. */
static void test_real_runner_missing_agent(void)
{
    drv_fence_runner_t *r = drv_fence_runner_new();
    const char *ok_agent = access("/bin/true", X_OK) == 0 ? "/bin/true" : "/usr/bin/true";
    const drv_fence_dev_spec_t missing = {"gone", "/nonexistent/fence_gone", NULL};
    const drv_fence_dev_spec_t ok = {"true", ok_agent, NULL};
    const drv_fence_level_spec_t levels[] = {{1, &missing, 1}, {2, &ok, 1}};
    drv_fence_topo_t *t;

    if (access(ok_agent, X_OK) != 0) {
        drv_fence_runner_free(r);
        return;
    }
    got_reset();
    t = drv_fence_topo_start(&drv_fence_agent_ops, r, T, DRV_FENCE_ACT_OFF, levels, 2, 3000, NULL,
                             0, on_step, on_done, &got, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_TRUE_FATAL(wait_for(done, &got, WAIT_MS));
    CU_ASSERT_TRUE(got.success);
    CU_ASSERT_EQUAL(got.level, 2);
    CU_ASSERT_EQUAL(got.n_calls, 2);
    CU_ASSERT_STRING_EQUAL(got.steps->str, "1 gone #0 last could not be started\n"
                                           "2 true #0 last ok\n");
    drv_fence_runner_free(r);
}

int main(void)
{
    CU_pSuite suite;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("fence-topology", NULL, NULL);
    CU_add_test(suite, "level 1 succeeds (levels sorted by index); nothing runs in start",
                test_first_level_succeeds);
    CU_add_test(suite, "a device of level 1 fails: level 2 is used", test_falls_to_next_level);
    CU_add_test(suite, "second device of a level fails: the level fails; all levels failed",
                test_second_device_fails_level);
    CU_add_test(suite, "retries with back-off appear as steps; failure message per level",
                test_retries_in_steps);
    CU_add_test(suite, "failure message bounded, one line, valid UTF-8", test_message_bounded);
    CU_add_test(suite, "cancel: a held call, the delay, from the step callback", test_cancel);
    CU_add_test(suite, "the initial delay is waited before the first call", test_delay);
    CU_add_test(suite, "bad arguments refused at start, nothing run", test_refused_at_start);
    CU_add_test(suite, "specs and parameters copied at start", test_specs_copied);
    CU_add_test(suite, "real runner: a missing agent fails its level, the next one fences",
                test_real_runner_missing_agent);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    got_reset();
    g_string_free(got.steps, TRUE);
    return failed ? 1 : 0;
}
