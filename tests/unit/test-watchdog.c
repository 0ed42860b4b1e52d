/* The watchdog supervisor (fencing/watchdog.c): the health rule, the supervisor over the fake
 * on a virtual clock, and the real device ops against a FIFO this test creates in a temporary
 * directory and reads itself. No real watchdog device is ever opened. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "drover/results.h"
#include "drv_watchdog.h"
#include "watchdog_fake.h"

#define TICK_MS 250 /* droverd's tick */

static char *dir;

static const drv_wd_health_t healthy = {.corosync_ok = true, .quorate = true, .vms_running = 3};

/* Ticks every TICK_MS from *NOW up to END (included) with health H, checking before each tick
 * that the device would not have fired; *NOW ends at END. */
static void ticks(drv_wd_t *wd, drv_wd_fake_t *f, uint64_t *now, uint64_t end,
                  const drv_wd_health_t *h)
{
    for (; *now <= end; *now += TICK_MS) {
        f->now_ms = *now;
        CU_ASSERT_FALSE(drv_wd_fake_would_fire(f, *now));
        drv_wd_tick(wd, *now, h);
    }
    *now -= TICK_MS;
}

/* A supervisor over a new fake, armed at time 0. */
static drv_wd_t *armed_fake(drv_wd_fake_t **f, unsigned timeout_ms)
{
    drv_wd_t *wd;

    *f = drv_wd_fake_new();
    wd = drv_wd_new(&drv_wd_fake_ops, *f, "/dev/watchdog-fake", timeout_ms);
    CU_ASSERT_EQUAL_FATAL(drv_wd_arm(wd, NULL), 0);
    return wd;
}

/* ---- the health rule ---- */

static void test_health_rule(void)
{
    static const struct {
        drv_wd_health_t h;
        const char *why;
    } cases[] = {
        {{true, true, 0}, NULL},
        {{true, true, 5}, NULL},
        {{true, false, 0}, NULL}, /* no quorum, but nothing here to protect */
        {{true, false, 2}, "no quorum and VMs still running"},
        {{false, true, 0}, "corosync does not answer"},
        {{false, false, 2}, "corosync does not answer"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        CU_ASSERT_STRING_EQUAL(drv_wd_unhealthy(&cases[i].h) ? drv_wd_unhealthy(&cases[i].h) : "-",
                               cases[i].why ? cases[i].why : "-");
    }
    CU_ASSERT_PTR_NOT_NULL(drv_wd_unhealthy(NULL));
}

/* ---- the supervisor over the fake ---- */

static void test_feeds_at_interval(void)
{
    drv_wd_fake_t *f;
    drv_wd_t *wd = armed_fake(&f, 3000);
    uint64_t now = 0;

    CU_ASSERT_TRUE(drv_wd_armed(wd));
    CU_ASSERT_EQUAL(f->opens, 1);
    CU_ASSERT_STRING_EQUAL(f->path, "/dev/watchdog-fake");
    CU_ASSERT_EQUAL(f->timeout_s, 3);
    CU_ASSERT_EQUAL(drv_wd_timeout_s(wd), 3);
    CU_ASSERT_EQUAL(drv_wd_interval_ms(wd), 1000);
    CU_ASSERT_TRUE(drv_wd_timeout_applied(wd));
    CU_ASSERT_EQUAL(drv_wd_arm(wd, NULL), 0); /* already armed: nothing more */
    CU_ASSERT_EQUAL(f->opens, 1);

    ticks(wd, f, &now, 10000, &healthy);
    CU_ASSERT_EQUAL_FATAL(f->n_feeds, 11); /* at 0, 1000, ..., 10000 */
    for (size_t i = 0; i < f->n_feeds; i++) {
        CU_ASSERT_EQUAL(f->feeds[i], i * 1000);
    }
    CU_ASSERT_EQUAL(drv_wd_last_feed_ms(wd), 10000);
    CU_ASSERT_PTR_NULL(drv_wd_reason(wd));
    CU_ASSERT_EQUAL(drv_wd_feed_error(wd), 0);
    drv_wd_free(wd);
    drv_wd_fake_free(f);

    /* timeouts in whole seconds (rounded down), the interval at least 100 ms: a 1.9 s timeout
     * is 1 s, fed every 333 ms, i.e. on every other 250 ms tick */
    wd = armed_fake(&f, 1900);
    now = 0;
    CU_ASSERT_EQUAL(f->timeout_s, 1);
    CU_ASSERT_EQUAL(drv_wd_interval_ms(wd), 333);
    ticks(wd, f, &now, 2000, &healthy);
    CU_ASSERT_EQUAL_FATAL(f->n_feeds, 5);
    CU_ASSERT_EQUAL(f->feeds[1], 500);
    drv_wd_free(wd);
    drv_wd_fake_free(f);
}

static void test_starves_without_corosync(void)
{
    drv_wd_fake_t *f;
    drv_wd_t *wd = armed_fake(&f, 3000);
    const drv_wd_health_t down = {.corosync_ok = false, .quorate = true, .vms_running = 0};
    uint64_t now = 0;
    size_t fed;

    ticks(wd, f, &now, 2000, &healthy);
    fed = f->n_feeds;
    now += TICK_MS;
    ticks(wd, f, &now, 4750, &down);
    CU_ASSERT_EQUAL(f->n_feeds, fed); /* not one more */
    CU_ASSERT_STRING_EQUAL(drv_wd_reason(wd), "corosync does not answer");
    CU_ASSERT_EQUAL(drv_wd_starving_since_ms(wd), 2250);
    CU_ASSERT_EQUAL(drv_wd_last_feed_ms(wd), 2000);
    /* the device resets the host one timeout after the last feed */
    CU_ASSERT_FALSE(drv_wd_fake_would_fire(f, 5000));
    CU_ASSERT_TRUE(drv_wd_fake_would_fire(f, 5001));

    /* back before that: fed at once, the reason cleared */
    now = 5000;
    f->now_ms = now;
    drv_wd_tick(wd, now, &healthy);
    CU_ASSERT_EQUAL(f->n_feeds, fed + 1);
    CU_ASSERT_PTR_NULL(drv_wd_reason(wd));
    CU_ASSERT_EQUAL(drv_wd_last_feed_ms(wd), 5000);
    drv_wd_free(wd);
    drv_wd_fake_free(f);
}

static void test_quorum_and_vms(void)
{
    drv_wd_fake_t *f;
    drv_wd_t *wd = armed_fake(&f, 3000);
    const drv_wd_health_t lost_with_vms = {.corosync_ok = true, .quorate = false, .vms_running = 2};
    const drv_wd_health_t lost_no_vms = {.corosync_ok = true, .quorate = false, .vms_running = 0};
    uint64_t now = 0;

    ticks(wd, f, &now, 1000, &healthy);
    CU_ASSERT_EQUAL(f->n_feeds, 2);

    /* no quorum, VMs still here: starve (until droverd stops them, or the host is reset) */
    now += TICK_MS;
    ticks(wd, f, &now, 3000, &lost_with_vms);
    CU_ASSERT_EQUAL(f->n_feeds, 2);
    CU_ASSERT_STRING_EQUAL(drv_wd_reason(wd), "no quorum and VMs still running");
    CU_ASSERT_EQUAL(drv_wd_starving_since_ms(wd), 1250);

    /* the VMs are stopped: nothing left to protect, fed again though still without quorum */
    now += TICK_MS;
    ticks(wd, f, &now, 6000, &lost_no_vms);
    CU_ASSERT_EQUAL(f->n_feeds, 5); /* 3250, 4250, 5250 */
    CU_ASSERT_EQUAL(f->feeds[2], 3250);
    CU_ASSERT_PTR_NULL(drv_wd_reason(wd));
    drv_wd_free(wd);
    drv_wd_fake_free(f);
}

static void test_stop_and_free(void)
{
    drv_wd_fake_t *f;
    drv_wd_t *wd = armed_fake(&f, 3000);
    uint64_t now = 0;

    ticks(wd, f, &now, 500, &healthy);
    drv_wd_stop(wd, true); /* a clean shutdown: the magic close */
    CU_ASSERT_FALSE(drv_wd_armed(wd));
    CU_ASSERT_EQUAL(f->closes, 1);
    CU_ASSERT_TRUE(f->disarmed);
    CU_ASSERT_FALSE(drv_wd_fake_would_fire(f, 100000));
    drv_wd_tick(wd, 1000, &healthy); /* not armed: nothing */
    CU_ASSERT_EQUAL(f->n_feeds, 1);
    drv_wd_stop(wd, true);
    CU_ASSERT_EQUAL(f->closes, 1);

    /* armed again, then stopped without disarming: the device keeps counting */
    CU_ASSERT_EQUAL(drv_wd_arm(wd, NULL), 0);
    CU_ASSERT_EQUAL(f->opens, 2);
    drv_wd_stop(wd, false);
    CU_ASSERT_FALSE(f->disarmed);
    CU_ASSERT_TRUE(drv_wd_fake_would_fire(f, 100000));

    /* freed while armed: closed without the magic, as a crash would */
    CU_ASSERT_EQUAL(drv_wd_arm(wd, NULL), 0);
    drv_wd_free(wd);
    CU_ASSERT_EQUAL(f->closes, 3);
    CU_ASSERT_FALSE(f->disarmed);
    CU_ASSERT_FALSE(f->open);
    drv_wd_fake_free(f);
    drv_wd_free(NULL);
}

static void test_errors(void)
{
    drv_wd_fake_t *f = drv_wd_fake_new();
    drv_wd_t *wd = drv_wd_new(&drv_wd_fake_ops, f, "/dev/watchdog-fake", 3000);
    char *err = NULL;

    /* open refused: not armed, ticks do nothing */
    f->open_rc = -ENXIO;
    CU_ASSERT_EQUAL(drv_wd_arm(wd, &err), -ENXIO);
    CU_ASSERT_PTR_NOT_NULL(err);
    g_free(err);
    err = NULL;
    CU_ASSERT_FALSE(drv_wd_armed(wd));
    drv_wd_tick(wd, 0, &healthy);
    CU_ASSERT_EQUAL(f->n_feeds + f->failed_feeds, 0);

    /* opened, but the device did not take the timeout: armed, flagged */
    f->open_rc = DRV_WD_TIMEOUT_NOT_APPLIED;
    CU_ASSERT_EQUAL(drv_wd_arm(wd, NULL), 0);
    CU_ASSERT_TRUE(drv_wd_armed(wd));
    CU_ASSERT_FALSE(drv_wd_timeout_applied(wd));

    /* feeds failing: reported, retried on every tick, not only at the interval */
    f->keepalive_rc = -EIO;
    drv_wd_tick(wd, 0, &healthy);
    drv_wd_tick(wd, 250, &healthy);
    CU_ASSERT_EQUAL(drv_wd_feed_error(wd), -EIO);
    CU_ASSERT_EQUAL(drv_wd_feed_failures(wd), 2);
    CU_ASSERT_EQUAL(f->failed_feeds, 2);
    CU_ASSERT_EQUAL(drv_wd_last_feed_ms(wd), 0);
    f->keepalive_rc = 0;
    f->now_ms = 500;
    drv_wd_tick(wd, 500, &healthy);
    CU_ASSERT_EQUAL(drv_wd_feed_error(wd), 0);
    CU_ASSERT_EQUAL(drv_wd_feed_failures(wd), 0);
    CU_ASSERT_EQUAL(drv_wd_last_feed_ms(wd), 500);
    drv_wd_free(wd);

    /* a timeout under a second is refused before anything is opened */
    wd = drv_wd_new(&drv_wd_fake_ops, f, "/dev/watchdog-fake", 999);
    CU_ASSERT_EQUAL(drv_wd_arm(wd, &err), DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "at least 1 s"));
    g_free(err);
    CU_ASSERT_EQUAL(f->opens, 1);
    drv_wd_free(wd);
    drv_wd_fake_free(f);
}

/* ---- the real ops against a FIFO ---- */

static char *make_fifo(const char *name)
{
    char *path = g_build_filename(dir, name, NULL);

    (void)g_unlink(path);
    CU_ASSERT_FATAL(mkfifo(path, 0600) == 0);
    return path;
}

/* Everything readable from FD now (non-blocking); "<EOF>" appended when the writer is gone. */
static char *drain(int fd)
{
    GString *s = g_string_new(NULL);
    char buf[256];
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        g_string_append_len(s, buf, n);
    }
    if (n == 0) {
        g_string_append(s, "<EOF>");
    }
    return g_string_free(s, FALSE);
}

static void test_dev_fifo(void)
{
    g_autofree char *path = make_fifo("wd.fifo");
    int rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    void *h = NULL;
    char *err = NULL;
    char *got;

    CU_ASSERT_FATAL(rd >= 0);
    /* a FIFO has no ioctl: opened, the timeout not applied */
    CU_ASSERT_EQUAL_FATAL(drv_wd_dev_ops.open(NULL, path, 10, &h, &err),
                          DRV_WD_TIMEOUT_NOT_APPLIED);
    CU_ASSERT_PTR_NULL(err);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(drv_wd_dev_ops.keepalive(NULL, h), 0);
    }
    drv_wd_dev_ops.close(NULL, h, true);
    got = drain(rd);
    CU_ASSERT_STRING_EQUAL(got, "kkkV<EOF>");
    g_free(got);

    /* closed without disarming: no magic character */
    CU_ASSERT_EQUAL_FATAL(drv_wd_dev_ops.open(NULL, path, 10, &h, NULL),
                          DRV_WD_TIMEOUT_NOT_APPLIED);
    CU_ASSERT_EQUAL(drv_wd_dev_ops.keepalive(NULL, h), 0);
    drv_wd_dev_ops.close(NULL, h, false);
    got = drain(rd);
    CU_ASSERT_STRING_EQUAL(got, "k<EOF>");
    g_free(got);

    /* the supervisor over the real ops: healthy ticks feed at the interval, stop disarms */
    {
        drv_wd_t *wd = drv_wd_new(&drv_wd_dev_ops, NULL, path, 3000);

        CU_ASSERT_EQUAL_FATAL(drv_wd_arm(wd, NULL), 0);
        CU_ASSERT_FALSE(drv_wd_timeout_applied(wd));
        for (uint64_t now = 0; now <= 2000; now += TICK_MS) {
            drv_wd_tick(wd, now, &healthy);
        }
        drv_wd_stop(wd, true);
        drv_wd_free(wd);
        got = drain(rd);
        CU_ASSERT_STRING_EQUAL(got, "kkkV<EOF>"); /* at 0, 1000, 2000 */
        g_free(got);
    }
    close(rd);
}

static void test_dev_errors(void)
{
    g_autofree char *path = make_fifo("wd2.fifo");
    g_autofree char *regular = g_build_filename(dir, "not-a-device", NULL);
    void *h = NULL;
    char *err = NULL;
    int rd;
    int n = 0;
    int rc;

    /* nobody reads the FIFO: ENXIO, said clearly */
    CU_ASSERT_EQUAL(drv_wd_dev_ops.open(NULL, path, 10, &h, &err), -ENXIO);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "nobody reads"));
    g_free(err);
    err = NULL;

    /* a regular file resets nothing: refused */
    CU_ASSERT_FATAL(g_file_set_contents(regular, "", 0, NULL));
    CU_ASSERT_EQUAL(drv_wd_dev_ops.open(NULL, regular, 10, &h, &err), DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "neither a character device nor a FIFO"));
    g_free(err);
    (void)g_unlink(regular);

    /* a full FIFO (its reader stopped reading) is not fed: -EAGAIN */
    rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    CU_ASSERT_FATAL(rd >= 0);
    (void)fcntl(rd, F_SETPIPE_SZ, 4096);
    CU_ASSERT_EQUAL_FATAL(drv_wd_dev_ops.open(NULL, path, 10, &h, NULL),
                          DRV_WD_TIMEOUT_NOT_APPLIED);
    while ((rc = drv_wd_dev_ops.keepalive(NULL, h)) == 0 && n < (1 << 20)) {
        n++;
    }
    CU_ASSERT_EQUAL(rc, -EAGAIN);
    CU_ASSERT_TRUE(n > 0 && n < (1 << 20));

    /* its reader gone: -EPIPE (SIGPIPE is ignored, as in droverd) */
    close(rd);
    CU_ASSERT_EQUAL(drv_wd_dev_ops.keepalive(NULL, h), -EPIPE);
    drv_wd_dev_ops.close(NULL, h, true);
}

int main(void)
{
    CU_pSuite suite;
    unsigned failed;
    GError *gerr = NULL;

    signal(SIGPIPE, SIG_IGN);
    dir = g_dir_make_tmp("drv-wd-XXXXXX", &gerr);
    if (!dir) {
        fprintf(stderr, "cannot create a temporary directory: %s\n", gerr->message);
        return 1;
    }
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("watchdog", NULL, NULL);
    CU_add_test(suite, "health rule: corosync AND (quorum OR no VM)", test_health_rule);
    CU_add_test(suite, "healthy: fed at timeout/3 on the tick", test_feeds_at_interval);
    CU_add_test(suite, "corosync silent: not fed, since when and why",
                test_starves_without_corosync);
    CU_add_test(suite, "no quorum: starve with VMs, fed with none", test_quorum_and_vms);
    CU_add_test(suite, "stop with/without disarm; free while armed", test_stop_and_free);
    CU_add_test(suite, "open refused, timeout not applied, feed errors retried", test_errors);
    CU_add_test(suite, "real ops on a FIFO: keepalive bytes then the magic 'V'", test_dev_fifo);
    CU_add_test(suite, "real ops: no reader (ENXIO), regular file, full FIFO, reader gone",
                test_dev_errors);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();

    {
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
            g_autofree char *p = g_build_filename(dir, name, NULL);

            (void)g_unlink(p);
        }
        if (d) {
            g_dir_close(d);
        }
        (void)g_rmdir(dir);
    }
    g_free(dir);
    return failed ? 1 : 0;
}
