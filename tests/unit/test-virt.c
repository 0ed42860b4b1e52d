/* The libvirt driver (virt/virt*): the XML parser, the driver core against the fake
 * hypervisor (threading path included: the fake's calls run in the driver's worker), and the
 * real backend against libvirt's in-process test:///default driver (skipped, with a message,
 * only when that cannot be opened). Waits iterate GLib's default context until a condition
 * holds or a deadline passes; no bare sleeps. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>
#include <glib.h>
#include <libvirt/libvirt.h>

#include "drover/results.h"
#include "virt.h"
#include "virt_fake.h"

#define WAIT_MS 5000
#define U1 "11111111-2222-3333-4444-555555555501"
#define U2 "11111111-2222-3333-4444-555555555502"
#define U3 "11111111-2222-3333-4444-555555555503"

/* ---- recording callbacks ---- */

typedef struct report {
    char uuid[DRV_UUID_STRLEN];
    drv_dom_state_t state;
    bool by_us;
    bool connected; /* drv_virt_connected() when it was reported */
    char *reason;
    drv_dom_job_t job; /* the job the table held when it was reported */
} report_t;

typedef struct done {
    uint64_t id;
    int rc;
    char *msg;
} done_t;

typedef struct rec {
    drv_virt_t *v;
    GArray *reports; /* report_t */
    GArray *dones;   /* done_t */
    unsigned conn_up;
    unsigned conn_down;
    unsigned reconciled;
} rec_t;

static rec_t rec;

static void cb_conn(void *ud, bool connected)
{
    rec_t *r = ud;

    if (connected) {
        r->conn_up++;
    } else {
        r->conn_down++;
    }
}

static void cb_dom(void *ud, const drv_dom_t *dom, bool by_us, const char *reason)
{
    rec_t *r = ud;
    report_t rep;

    memset(&rep, 0, sizeof(rep));
    g_strlcpy(rep.uuid, dom->uuid, sizeof(rep.uuid));
    rep.state = dom->state;
    rep.by_us = by_us;
    rep.connected = drv_virt_connected(r->v);
    rep.reason = g_strdup(reason);
    rep.job = dom->job;
    g_array_append_val(r->reports, rep);
}

static void cb_op(void *ud, uint64_t op_id, int rc, const char *errmsg)
{
    rec_t *r = ud;
    done_t d = {op_id, rc, g_strdup(errmsg)};

    g_array_append_val(r->dones, d);
}

static void cb_reconciled(void *ud)
{
    ((rec_t *)ud)->reconciled++;
}

static const drv_virt_cb_t cbs = {cb_conn, cb_dom, cb_op, cb_reconciled};

static void clear_report(gpointer p)
{
    g_free(((report_t *)p)->reason);
}

static void clear_done(gpointer p)
{
    g_free(((done_t *)p)->msg);
}

static void rec_reset(void)
{
    if (rec.reports != NULL) {
        g_array_unref(rec.reports);
        g_array_unref(rec.dones);
    }
    memset(&rec, 0, sizeof(rec));
    rec.reports = g_array_new(FALSE, TRUE, sizeof(report_t));
    g_array_set_clear_func(rec.reports, clear_report);
    rec.dones = g_array_new(FALSE, TRUE, sizeof(done_t));
    g_array_set_clear_func(rec.dones, clear_done);
}

static const done_t *find_done(uint64_t id)
{
    for (guint i = 0; i < rec.dones->len; i++) {
        const done_t *d = &g_array_index(rec.dones, done_t, i);

        if (d->id == id) {
            return d;
        }
    }
    return NULL;
}

/* Reports about UUID, in order. */
static guint reports_for(const char *uuid, const report_t **out, guint max)
{
    guint n = 0;

    for (guint i = 0; i < rec.reports->len; i++) {
        const report_t *r = &g_array_index(rec.reports, report_t, i);

        if (strcmp(r->uuid, uuid) == 0) {
            if (n < max) {
                out[n] = r;
            }
            n++;
        }
    }
    return n;
}

/* ---- waiting on the default context ---- */

static gboolean on_deadline(gpointer data)
{
    *(bool *)data = true;
    return G_SOURCE_REMOVE;
}

typedef bool (*pred_fn)(const void *arg);

static bool run_until(pred_fn pred, const void *arg, unsigned ms)
{
    bool expired = false;
    guint t = g_timeout_add(ms, on_deadline, &expired);

    while (!pred(arg) && !expired) {
        g_main_context_iteration(NULL, TRUE);
    }
    if (!expired) {
        g_source_remove(t);
    }
    return pred(arg);
}

static bool p_done(const void *arg)
{
    return find_done(*(const uint64_t *)arg) != NULL;
}

static bool wait_done(uint64_t id)
{
    return run_until(p_done, &id, WAIT_MS);
}

static bool p_valid(const void *arg)
{
    return drv_virt_table_valid(rec.v);
}

static bool p_down(const void *arg)
{
    return rec.conn_down > 0;
}

static bool p_reports(const void *arg)
{
    return rec.reports->len >= *(const guint *)arg;
}

static bool wait_reports(guint n)
{
    return run_until(p_reports, &n, WAIT_MS);
}

static bool p_reconciled(const void *arg)
{
    return rec.reconciled >= *(const unsigned *)arg;
}

static gboolean on_poll(gpointer data)
{
    return G_SOURCE_CONTINUE; /* only wakes the loop */
}

/* run_until for conditions nothing on the loop signals (the fake's state, another thread) */
static bool run_until_polled(pred_fn pred, const void *arg, unsigned ms)
{
    guint poll = g_timeout_add(5, on_poll, NULL);
    bool ok = run_until(pred, arg, ms);

    g_source_remove(poll);
    return ok;
}

static void drain(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

static char *dom_xml(const char *type, const char *name, const char *uuid)
{
    return g_strdup_printf("<domain type='%s'><name>%s</name><uuid>%s</uuid>"
                           "<memory unit='KiB'>65536</memory><vcpu>1</vcpu>"
                           "<os><type>hvm</type></os></domain>",
                           type, name, uuid);
}

/* ---- parse_xml ---- */

static void test_parse_good(void)
{
    drv_dom_def_t d;
    char *err = NULL;
    const char *xml = "<domain type='qemu'>\n  <name> vm1 </name>\n"
                      "  <uuid>4DEA22B3-1D52-D8F3-2516-782E98AB3FA0</uuid>\n"
                      "  <memory unit='KiB'>65536</memory>\n  <vcpu placement='static'>2</vcpu>\n"
                      "</domain>";

    CU_ASSERT_EQUAL(drv_virt_parse_xml(xml, &d, &err), 0);
    CU_ASSERT_PTR_NULL(err);
    CU_ASSERT_STRING_EQUAL(d.name, "vm1");
    CU_ASSERT_STRING_EQUAL(d.uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
    CU_ASSERT_EQUAL(d.vcpus, 2);
    CU_ASSERT_EQUAL(d.memory_mib, 64);
    drv_dom_def_clear(&d);

    /* 32 hex digits without dashes, no vcpu (default 1), default unit KiB */
    CU_ASSERT_EQUAL(drv_virt_parse_xml("<domain><name>a</name>"
                                       "<uuid>4dea22b31d52d8f32516782e98ab3fa0</uuid>"
                                       "<memory>131072</memory></domain>",
                                       &d, &err),
                    0);
    CU_ASSERT_STRING_EQUAL(d.uuid, "4dea22b3-1d52-d8f3-2516-782e98ab3fa0");
    CU_ASSERT_EQUAL(d.vcpus, 1);
    CU_ASSERT_EQUAL(d.memory_mib, 128);
    drv_dom_def_clear(&d);
}

static uint64_t mem_of(const char *memory_elem)
{
    g_autofree char *xml =
        g_strdup_printf("<domain><name>a</name><uuid>%s</uuid>%s</domain>", U1, memory_elem);
    drv_dom_def_t d;
    uint64_t mib;

    if (drv_virt_parse_xml(xml, &d, NULL) != 0) {
        return 0;
    }
    mib = d.memory_mib;
    drv_dom_def_clear(&d);
    return mib;
}

static void test_parse_units(void)
{
    CU_ASSERT_EQUAL(mem_of("<memory unit='KiB'>65536</memory>"), 64);
    CU_ASSERT_EQUAL(mem_of("<memory>65536</memory>"), 64);
    CU_ASSERT_EQUAL(mem_of("<memory unit='k'>2048</memory>"), 2);
    CU_ASSERT_EQUAL(mem_of("<memory unit='MiB'>512</memory>"), 512);
    CU_ASSERT_EQUAL(mem_of("<memory unit='M'>512</memory>"), 512);
    CU_ASSERT_EQUAL(mem_of("<memory unit='GiB'>2</memory>"), 2048);
    CU_ASSERT_EQUAL(mem_of("<memory unit='G'>1</memory>"), 1024);
    CU_ASSERT_EQUAL(mem_of("<memory unit='b'>1048576</memory>"), 1);
    CU_ASSERT_EQUAL(mem_of("<memory unit='bytes'>1048577</memory>"), 2); /* rounded up */
    CU_ASSERT_EQUAL(mem_of("<memory unit='MB'>1000</memory>"), 954);     /* 10^9 B, rounded up */
    CU_ASSERT_EQUAL(mem_of("<memory unit='TiB'>1</memory>"), 1024 * 1024);
}

static void expect_refused(const char *xml, const char *needle)
{
    drv_dom_def_t d;
    char *err = NULL;

    CU_ASSERT_EQUAL(drv_virt_parse_xml(xml, &d, &err), DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    if (strstr(err, needle) == NULL) {
        fprintf(stderr, "\n  message '%s' does not mention '%s'\n", err, needle);
        CU_FAIL("error message");
    }
    CU_ASSERT_PTR_NULL(d.name);
    g_free(err);
}

static void test_parse_bad(void)
{
    expect_refused("<domain><name>a</name><memory>1024</memory></domain>", "no <uuid>");
    expect_refused("<domain><uuid>" U1 "</uuid><memory>1024</memory></domain>", "no <name>");
    expect_refused("<domain><name>a</name><uuid>" U1 "</uuid><memory>1024</memory>", "well-formed");
    expect_refused("", "empty");
    expect_refused("<network><name>a</name></network>", "<domain>");
    expect_refused("<domain><name>a</name><uuid>not-a-uuid</uuid><memory>1</memory></domain>",
                   "not a UUID");
    expect_refused("<domain><name>a</name><uuid>" U1 "</uuid></domain>", "no <memory>");
    expect_refused("<domain><name>a</name><uuid>" U1 "</uuid>"
                   "<memory unit='parsecs'>1</memory></domain>",
                   "unit");
    expect_refused("<domain><name>a</name><uuid>" U1 "</uuid><memory>-5</memory></domain>",
                   "<memory>");
    expect_refused("<domain><name>a</name><uuid>" U1 "</uuid><memory>1024</memory>"
                   "<vcpu>0</vcpu></domain>",
                   "<vcpu>");
    expect_refused("<domain><name>a</name><uuid>" U1 "</uuid><memory>1024</memory>"
                   "<vcpu>two</vcpu></domain>",
                   "<vcpu>");
}

/* ---- the core with the fake hypervisor ---- */

static drv_virt_fake_t *fake;

static void fake_setup(void)
{
    rec_reset();
    fake = drv_virt_fake_new();
    rec.v = drv_virt_new("fake:///", &drv_virt_fake_backend, fake, &cbs, &rec);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec.v);
    /* no periodic pass during the tests (they ask for one), quick reconnects */
    drv_virt_set_timing(rec.v, 600000, 20, 100);
    CU_ASSERT_TRUE(run_until(p_valid, NULL, WAIT_MS));
    CU_ASSERT_EQUAL(rec.conn_up, 1);
    CU_ASSERT_EQUAL(rec.reconciled, 1);
}

static void fake_teardown(void)
{
    drv_virt_free(rec.v);
    rec.v = NULL;
    drain();
    drv_virt_fake_free(fake);
    fake = NULL;
    rec_reset();
}

static void start_ok(uint64_t id, const char *name, const char *uuid)
{
    g_autofree char *xml = dom_xml("qemu", name, uuid);

    CU_ASSERT_EQUAL(drv_virt_start(rec.v, id, xml), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(id));
    CU_ASSERT_EQUAL(find_done(id)->rc, 0);
}

static void test_fake_start_stop(void)
{
    const report_t *r[4];
    drv_dom_state_t st;

    fake_setup();
    start_ok(1, "vm1", U1);
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 4), 1); /* event and result: one report */
    CU_ASSERT_EQUAL(r[0]->state, DRV_DOM_RUNNING);
    CU_ASSERT_TRUE(r[0]->by_us);
    CU_ASSERT_STRING_EQUAL(r[0]->reason, "started");
    CU_ASSERT_PTR_NULL(find_done(1)->msg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(drv_virt_lookup(rec.v, U1));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_RUNNING);
    CU_ASSERT_STRING_EQUAL(drv_virt_lookup(rec.v, U1)->name, "vm1");
    /* any spelling of the UUID */
    CU_ASSERT_PTR_NOT_NULL(drv_virt_lookup(rec.v, "11111111222233334444555555555501"));

    /* ACPI shutdown honoured within the grace period */
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 2, U1, 5000), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(2));
    CU_ASSERT_EQUAL(find_done(2)->rc, 0);
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 4), 2);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_TRUE(r[1]->by_us);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "shutdown by guest");
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U1, &st), -ENOENT);

    /* grace 0: destroyed at once, no shutdown request */
    start_ok(3, "vm2", U2);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 4, U2, 0), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(4));
    CU_ASSERT_EQUAL(find_done(4)->rc, 0);
    CU_ASSERT_EQUAL_FATAL(reports_for(U2, r, 4), 2);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_TRUE(r[1]->by_us);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "destroyed");
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_SHUTDOWN), 1);

    /* the guest ignores ACPI: destroyed when the grace period is over */
    drv_virt_fake_set_acpi(fake, false);
    start_ok(5, "vm3", U3);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 6, U3, 100), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(6));
    CU_ASSERT_EQUAL(find_done(6)->rc, 0);
    CU_ASSERT_EQUAL_FATAL(reports_for(U3, r, 4), 2);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "destroyed");
    CU_ASSERT_TRUE(r[1]->by_us);
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_SHUTDOWN), 2);
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_DESTROY), 2);

    /* stopping what libvirt does not know is a success */
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 7, "99999999-2222-3333-4444-555555555501", 1000), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(7));
    CU_ASSERT_EQUAL(find_done(7)->rc, 0);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 8, "nope", 0), DRV_ERR_BAD_ARGS);
    fake_teardown();
}

static void test_fake_behind_our_back(void)
{
    const report_t *r[4];
    guint n;

    fake_setup();
    start_ok(1, "vm1", U1);
    start_ok(2, "vm2", U2);
    n = rec.reports->len;
    drv_virt_fake_crash(fake, U1);
    CU_ASSERT_TRUE_FATAL(wait_reports(n + 1));
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 4), 2);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_FALSE(r[1]->by_us);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "crashed");

    drv_virt_fake_guest_shutdown(fake, U2);
    CU_ASSERT_TRUE_FATAL(wait_reports(n + 2));
    CU_ASSERT_EQUAL_FATAL(reports_for(U2, r, 4), 2);
    CU_ASSERT_FALSE(r[1]->by_us);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "shutdown by guest");

    /* appears and vanishes without events (someone's virsh, a lost event): the reconcile pass
     * reports it */
    drv_virt_fake_add(fake, U3, "stray", DRV_DOM_RUNNING, false);
    drv_virt_reconcile_now(rec.v);
    CU_ASSERT_TRUE_FATAL(wait_reports(n + 3));
    CU_ASSERT_EQUAL_FATAL(reports_for(U3, r, 4), 1);
    CU_ASSERT_EQUAL(r[0]->state, DRV_DOM_RUNNING);
    CU_ASSERT_FALSE(r[0]->by_us);
    CU_ASSERT_STRING_EQUAL(r[0]->reason, "found running");
    drv_virt_fake_remove_silently(fake, U3);
    drv_virt_reconcile_now(rec.v);
    CU_ASSERT_TRUE_FATAL(wait_reports(n + 4));
    CU_ASSERT_EQUAL_FATAL(reports_for(U3, r, 4), 2);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_FALSE(r[1]->by_us);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "vanished");
    CU_ASSERT_PTR_NULL(drv_virt_lookup(rec.v, U3));
    fake_teardown();
}

static void test_fake_failures(void)
{
    g_autofree char *xml = dom_xml("qemu", "vm1", U1);
    const done_t *d;

    fake_setup();
    drv_virt_fake_fail_next(fake, DRV_FAKE_CREATE, -EIO, "internal error: qemu died");
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 1, xml), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(1));
    d = find_done(1);
    CU_ASSERT_TRUE(d->rc < 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d->msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(d->msg, "qemu died"));
    CU_ASSERT_EQUAL(rec.reports->len, 0);
    CU_ASSERT_PTR_NULL(drv_virt_lookup(rec.v, U1));

    /* XML without a uuid: refused through op_done, never called synchronously */
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 2, "<domain><name>x</name><memory>1</memory></domain>"),
                    0);
    CU_ASSERT_PTR_NULL(find_done(2));
    CU_ASSERT_TRUE_FATAL(wait_done(2));
    CU_ASSERT_EQUAL(find_done(2)->rc, DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(strstr(find_done(2)->msg, "uuid"));
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_CREATE), 1);

    /* already running here */
    start_ok(3, "vm1", U1);
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 4, xml), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(4));
    CU_ASSERT_EQUAL(find_done(4)->rc, DRV_ERR_EXISTS);

    /* destroy refused */
    drv_virt_fake_fail_next(fake, DRV_FAKE_DESTROY, -EIO, "device busy");
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 5, U1, 0), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(5));
    CU_ASSERT_EQUAL(find_done(5)->rc, -EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(find_done(5)->msg, "device busy"));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_RUNNING);

    /* validate: our checks, then the backend's */
    CU_ASSERT_EQUAL(drv_virt_validate(rec.v, 6, xml), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(6));
    CU_ASSERT_EQUAL(find_done(6)->rc, 0);
    drv_virt_fake_fail_next(fake, DRV_FAKE_VALIDATE, -EINVAL, "unsupported configuration");
    CU_ASSERT_EQUAL(drv_virt_validate(rec.v, 7, xml), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(7));
    CU_ASSERT_EQUAL(find_done(7)->rc, DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(strstr(find_done(7)->msg, "unsupported"));
    CU_ASSERT_EQUAL(drv_virt_validate(rec.v, 8, "<domain>"), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(8));
    CU_ASSERT_EQUAL(find_done(8)->rc, DRV_ERR_BAD_ARGS);
    fake_teardown();
}

static bool p_open_retried(const void *arg)
{
    return drv_virt_fake_calls(fake, DRV_FAKE_OPEN) >= *(const unsigned *)arg;
}

static void test_fake_down_up(void)
{
    g_autofree char *xml = dom_xml("qemu", "vm9", "11111111-2222-3333-4444-555555555509");
    const report_t *r[4];
    unsigned opens;
    unsigned recs;
    guint n;

    fake_setup();
    start_ok(1, "vm1", U1);
    start_ok(2, "vm2", U2);
    start_ok(3, "vm3", U3);
    n = rec.reports->len;

    drv_virt_fake_set_down(fake, true);
    CU_ASSERT_TRUE_FATAL(run_until(p_down, NULL, WAIT_MS));
    CU_ASSERT_FALSE(drv_virt_connected(rec.v));
    CU_ASSERT_FALSE(drv_virt_table_valid(rec.v));
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 10, xml), DRV_ERR_NOT_CONNECTED);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 11, U1, 0), DRV_ERR_NOT_CONNECTED);
    /* while unreachable: U1 stops for real, U2 crashes; nobody can tell yet */
    drv_virt_fake_remove_silently(fake, U1);
    drv_virt_fake_crash(fake, U2);
    opens = drv_virt_fake_calls(fake, DRV_FAKE_OPEN);
    opens += 3; /* a few refused reconnection attempts on the back-off timer */
    CU_ASSERT_TRUE(run_until(p_open_retried, &opens, WAIT_MS));
    CU_ASSERT_EQUAL(rec.reports->len, n); /* nothing reported as stopped */
    CU_ASSERT_EQUAL(rec.conn_down, 1);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_RUNNING); /* frozen */

    recs = rec.reconciled + 1;
    drv_virt_fake_set_down(fake, false);
    CU_ASSERT_TRUE_FATAL(run_until(p_reconciled, &recs, WAIT_MS));
    CU_ASSERT_TRUE(drv_virt_table_valid(rec.v));
    CU_ASSERT_EQUAL(rec.conn_up, 2);
    CU_ASSERT_EQUAL(rec.reports->len, n + 2);
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 4), 2);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_FALSE(r[1]->by_us);
    CU_ASSERT_TRUE(r[1]->connected);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "vanished");
    CU_ASSERT_EQUAL_FATAL(reports_for(U2, r, 4), 2);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_TRUE(r[1]->connected);
    CU_ASSERT_EQUAL(reports_for(U3, r, 4), 1); /* still running: no news */
    CU_ASSERT_PTR_NULL(drv_virt_lookup(rec.v, U1));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U3)->state, DRV_DOM_RUNNING);

    /* and ops work on the new connection */
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 12, U3, 0), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(12));
    CU_ASSERT_EQUAL(find_done(12)->rc, 0);

    /* lost in the middle of an op: the op fails with NOT_CONNECTED, then reconnects */
    drv_virt_fake_set_delay(fake, 50);
    {
        g_autofree char *x1 = dom_xml("qemu", "vm1", U1);

        CU_ASSERT_EQUAL(drv_virt_start(rec.v, 13, x1), 0);
    }
    drv_virt_fake_set_down(fake, true);
    CU_ASSERT_TRUE_FATAL(wait_done(13));
    CU_ASSERT_EQUAL(find_done(13)->rc, DRV_ERR_NOT_CONNECTED);
    CU_ASSERT_FALSE(drv_virt_table_valid(rec.v));
    drv_virt_fake_set_delay(fake, 0);
    recs = rec.reconciled + 1;
    drv_virt_fake_set_down(fake, false);
    CU_ASSERT_TRUE(run_until(p_reconciled, &recs, WAIT_MS));
    CU_ASSERT_TRUE(drv_virt_table_valid(rec.v));
    fake_teardown();
}

/* The connection dies between the open and its result: not taken for a good one. */
static void test_fake_dropped_at_open(void)
{
    rec_reset();
    fake = drv_virt_fake_new();
    drv_virt_fake_drop_next_open(fake);
    rec.v = drv_virt_new("fake:///", &drv_virt_fake_backend, fake, &cbs, &rec);
    drv_virt_set_timing(rec.v, 600000, 20, 100);
    CU_ASSERT_TRUE(run_until(p_valid, NULL, WAIT_MS));
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_OPEN), 2);
    CU_ASSERT_EQUAL(rec.conn_up, 1);
    CU_ASSERT_EQUAL(rec.conn_down, 0);
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_LIST), 1);
    fake_teardown();
}

static bool p_all_done(const void *arg)
{
    return rec.dones->len >= *(const guint *)arg;
}

static void test_fake_order(void)
{
    g_autofree char *x1 = dom_xml("qemu", "vm1", U1);
    g_autofree char *x2 = dom_xml("qemu", "vm2", U2);
    g_autoptr(GPtrArray) log = NULL;
    const char *want1[] = {"create", "destroy", "create", "shutdown", "destroy", "create"};
    const char *want2[] = {"create", "shutdown"};
    const uint64_t ids1[] = {1, 2, 4, 5, 7};
    guint total = 7;
    size_t k1 = 0;
    size_t k2 = 0;
    size_t j = 0;

    fake_setup();
    drv_virt_fake_set_delay(fake, 10);
    drv_virt_fake_set_acpi(fake, false);
    /* U1: start, kill, start, stop with grace (ignored ACPI -> destroy), start; U2 interleaved */
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 1, x1), 0);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 2, U1, 0), 0);
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 3, x2), 0);
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 4, x1), 0);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 5, U1, 150), 0);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 6, U2, 60000), 0);
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 7, x1), 0);
    /* U2 ignores ACPI too: let its guest go down on its own while U1 waits out its grace */
    CU_ASSERT_TRUE(run_until(p_all_done, &(guint){3}, WAIT_MS));
    drv_virt_fake_guest_shutdown(fake, U2);
    CU_ASSERT_TRUE_FATAL(run_until(p_all_done, &total, WAIT_MS));
    for (guint i = 0; i < rec.dones->len; i++) {
        const done_t *d = &g_array_index(rec.dones, done_t, i);

        CU_ASSERT_EQUAL(d->rc, 0);
        if (d->id != 3 && d->id != 6) {
            CU_ASSERT_EQUAL(d->id, ids1[j]);
            j++;
        }
    }
    log = drv_virt_fake_log(fake);
    for (guint i = 0; i < log->len; i++) {
        const char *line = g_ptr_array_index(log, i);
        g_auto(GStrv) w = g_strsplit(line, " ", 2);

        if (strcmp(w[1], U1) == 0) {
            CU_ASSERT_FATAL(k1 < G_N_ELEMENTS(want1));
            CU_ASSERT_STRING_EQUAL(w[0], want1[k1]);
            k1++;
        } else {
            CU_ASSERT_FATAL(k2 < G_N_ELEMENTS(want2));
            CU_ASSERT_STRING_EQUAL(w[0], want2[k2]);
            k2++;
        }
    }
    CU_ASSERT_EQUAL(k1, G_N_ELEMENTS(want1));
    CU_ASSERT_EQUAL(k2, G_N_ELEMENTS(want2));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_RUNNING);
    fake_teardown();
}

/* A crash that reaches the loop before the start's own result: the result must not mark the
 * dead domain running again (it would stay "running" until the next reconcile). */
static void test_fake_crash_before_start_result(void)
{
    const report_t *r[4];
    unsigned passes;

    fake_setup();
    /* STARTED and STOPPED "crashed" events, then create returns 0 */
    drv_virt_fake_crash_next_create(fake, true);
    start_ok(1, "vm1", U1);
    drain();
    CU_ASSERT_PTR_NOT_NULL_FATAL(drv_virt_lookup(rec.v, U1));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_STOPPED);
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 4), 2); /* nothing after the crash */
    CU_ASSERT_EQUAL(r[0]->state, DRV_DOM_RUNNING);
    CU_ASSERT_TRUE(r[0]->by_us);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_FALSE(r[1]->by_us);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "crashed");

    /* only the crash event arrives (its STARTED event never did): still not running */
    drv_virt_fake_crash_next_create(fake, false);
    start_ok(2, "vm2", U2);
    drain();
    CU_ASSERT_TRUE(drv_virt_lookup(rec.v, U2) == NULL ||
                   drv_virt_lookup(rec.v, U2)->state != DRV_DOM_RUNNING);
    CU_ASSERT_EQUAL(reports_for(U2, r, 4), 0);

    /* the next reconcile agrees and reports nothing new */
    passes = rec.reconciled + 1;
    drv_virt_reconcile_now(rec.v);
    CU_ASSERT_TRUE_FATAL(run_until(p_reconciled, &passes, WAIT_MS));
    CU_ASSERT_PTR_NULL(drv_virt_lookup(rec.v, U1));
    CU_ASSERT_PTR_NULL(drv_virt_lookup(rec.v, U2));
    CU_ASSERT_EQUAL(reports_for(U1, r, 4), 2);
    CU_ASSERT_EQUAL(reports_for(U2, r, 4), 0);

    /* a normal start afterwards is reported as usual */
    start_ok(3, "vm1", U1);
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 4), 3);
    CU_ASSERT_EQUAL(r[2]->state, DRV_DOM_RUNNING);
    CU_ASSERT_TRUE(r[2]->by_us);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_RUNNING);
    fake_teardown();
}

/* The same for a destroy: restarted by someone else before the destroy's result is handled,
 * the domain must not be marked stopped by that result (Drover would start a second copy). */
static void test_fake_restart_before_destroy_result(void)
{
    const report_t *r[4];
    drv_dom_state_t st;

    fake_setup();
    start_ok(1, "vm1", U1);
    drv_virt_fake_restart_next_destroy(fake);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 2, U1, 0), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(2));
    CU_ASSERT_EQUAL(find_done(2)->rc, 0);
    drain();
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U1, &st), 0);
    CU_ASSERT_EQUAL(st, DRV_DOM_RUNNING);
    CU_ASSERT_PTR_NOT_NULL_FATAL(drv_virt_lookup(rec.v, U1));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_RUNNING);
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 4), 3); /* started, destroyed, started */
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_TRUE(r[1]->by_us);
    CU_ASSERT_EQUAL(r[2]->state, DRV_DOM_RUNNING);
    fake_teardown();
}

/* ---- live migration with the fake ---- */

#define DEST "qemu+tcp://10.0.0.2/system"
#define STREAM "tcp://10.0.0.2"

static bool has_report(const char *uuid, drv_dom_state_t state)
{
    const report_t *r[16];
    guint n = reports_for(uuid, r, 16);

    for (guint i = 0; i < n && i < 16; i++) {
        if (r[i]->state == state) {
            return true;
        }
    }
    return false;
}

static void test_fake_migrate(void)
{
    const report_t *r[8];
    drv_dom_state_t st;
    char *dest = NULL;
    char *stream = NULL;
    guint n;

    fake_setup();
    /* synchronous refusals: no op_done for them */
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 90, U1, NULL, STREAM), DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 91, "not-a-uuid", DEST, STREAM), DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_virt_migrate(NULL, 92, U1, DEST, STREAM), DRV_ERR_BAD_ARGS);

    /* success: gone here, at the "remote", STOPPED "migrated" by us */
    start_ok(1, "vm1", U1);
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 2, U1, DEST, STREAM), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(2));
    CU_ASSERT_EQUAL(find_done(2)->rc, 0);
    CU_ASSERT_PTR_NULL(find_done(2)->msg);
    drain();
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 8), 3);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_PAUSED);
    CU_ASSERT_TRUE(r[1]->by_us);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, DRV_VIRT_REASON_PAUSED_MIGRATION);
    CU_ASSERT_EQUAL(r[2]->state, DRV_DOM_STOPPED);
    CU_ASSERT_TRUE(r[2]->by_us);
    CU_ASSERT_STRING_EQUAL(r[2]->reason, "migrated");
    CU_ASSERT_TRUE(drv_virt_lookup(rec.v, U1) == NULL ||
                   drv_virt_lookup(rec.v, U1)->state == DRV_DOM_STOPPED);
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U1, &st), -ENOENT);
    CU_ASSERT_EQUAL_FATAL(drv_virt_fake_migrated(fake, U1, &dest, &stream), 0);
    CU_ASSERT_STRING_EQUAL(dest, DEST);
    CU_ASSERT_STRING_EQUAL(stream, STREAM);
    g_free(dest);
    g_free(stream);
    CU_ASSERT_PTR_NULL(find_done(90));
    CU_ASSERT_PTR_NULL(find_done(91));

    /* failure: libvirt rolls back, the domain keeps running here, never reported stopped */
    start_ok(3, "vm2", U2);
    drv_virt_fake_fail_next_migrate(fake, "operation failed: migration out job: unexpectedly "
                                          "failed (destination refused)");
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 4, U2, DEST, STREAM), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(4));
    CU_ASSERT_TRUE(find_done(4)->rc < 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(find_done(4)->msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(find_done(4)->msg, "destination refused"));
    /* the list pass a failure asks for agrees */
    n = rec.reconciled + 1;
    CU_ASSERT_TRUE(run_until(p_reconciled, &n, WAIT_MS));
    drain();
    CU_ASSERT_PTR_NOT_NULL_FATAL(drv_virt_lookup(rec.v, U2));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U2)->state, DRV_DOM_RUNNING);
    CU_ASSERT_FALSE(has_report(U2, DRV_DOM_STOPPED));
    CU_ASSERT_EQUAL_FATAL(reports_for(U2, r, 8), 3); /* started, paused, resumed: all by us */
    CU_ASSERT_TRUE(r[1]->by_us);
    CU_ASSERT_EQUAL(r[2]->state, DRV_DOM_RUNNING);
    CU_ASSERT_TRUE(r[2]->by_us);
    CU_ASSERT_STRING_EQUAL(r[2]->reason, DRV_VIRT_REASON_RESUMED_MIGRATION);
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U2, &st), 0);
    CU_ASSERT_EQUAL(st, DRV_DOM_RUNNING);
    CU_ASSERT_EQUAL(drv_virt_fake_migrated(fake, U2, NULL, NULL), -ENOENT);

    /* a failure before anything moved (the backend call itself refused) */
    drv_virt_fake_fail_next(fake, DRV_FAKE_MIGRATE, -EIO, "fake: cannot reach the destination");
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 5, U2, DEST, NULL), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(5));
    CU_ASSERT_EQUAL(find_done(5)->rc, -EIO);
    CU_ASSERT_STRING_EQUAL(find_done(5)->msg, "fake: cannot reach the destination");
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U2)->state, DRV_DOM_RUNNING);
    CU_ASSERT_TRUE(drv_virt_connected(rec.v));

    /* a UUID the hypervisor does not know: an error (nothing was moved), no report */
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 6, U3, DEST, STREAM), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(6));
    CU_ASSERT_EQUAL(find_done(6)->rc, DRV_ERR_UNKNOWN_RESOURCE);
    CU_ASSERT_PTR_NOT_NULL(find_done(6)->msg);
    CU_ASSERT_EQUAL(reports_for(U3, r, 8), 0);
    CU_ASSERT_PTR_NULL(drv_virt_lookup(rec.v, U3));

    /* events that reach the loop after the migration's result: the domain stays stopped */
    drv_virt_fake_quiet_next_migrate(fake);
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 7, U2, DEST, NULL), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(7));
    CU_ASSERT_EQUAL(find_done(7)->rc, 0);
    CU_ASSERT_EQUAL_FATAL(reports_for(U2, r, 8), 4);
    CU_ASSERT_EQUAL(r[3]->state, DRV_DOM_STOPPED);
    CU_ASSERT_TRUE(r[3]->by_us);
    CU_ASSERT_STRING_EQUAL(r[3]->reason, "migrated");
    CU_ASSERT_EQUAL_FATAL(drv_virt_fake_migrated(fake, U2, &dest, &stream), 0);
    CU_ASSERT_STRING_EQUAL(dest, DEST);
    CU_ASSERT_PTR_NULL(stream);
    g_free(dest);
    g_free(stream);
    drv_virt_fake_emit(fake, U2, "vm2", DRV_DOM_PAUSED, DRV_VIRT_REASON_PAUSED_MIGRATION);
    drv_virt_fake_emit(fake, U2, "vm2", DRV_DOM_STOPPED, DRV_VIRT_REASON_MIGRATED);
    n = rec.reconciled + 1;
    drv_virt_reconcile_now(rec.v);
    CU_ASSERT_TRUE(run_until(p_reconciled, &n, WAIT_MS));
    CU_ASSERT_EQUAL(reports_for(U2, r, 8), 4);
    CU_ASSERT_PTR_NULL(drv_virt_lookup(rec.v, U2));

    /* a crash during a migration is not by us */
    start_ok(8, "vm3", U3);
    drv_virt_fake_set_delay(fake, 50);
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 9, U3, DEST, STREAM), 0);
    drv_virt_fake_crash(fake, U3); /* before the (slow) migrate call looks at it */
    CU_ASSERT_TRUE_FATAL(wait_done(9));
    CU_ASSERT_EQUAL(find_done(9)->rc, DRV_ERR_UNKNOWN_RESOURCE);
    CU_ASSERT_EQUAL_FATAL(reports_for(U3, r, 8), 2);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_FALSE(r[1]->by_us);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "crashed");
    fake_teardown();
}

/* A stop queued behind a migration of the same UUID runs after it, and finds the domain gone
 * (stopped: op_done(0), no second report); another UUID's ops wait for the worker. */
static void test_fake_migrate_order(void)
{
    g_autofree char *x2 = dom_xml("qemu", "vm2", U2);
    g_autoptr(GPtrArray) log = NULL;
    const char *want[] = {"create " U1, "migrate " U1, "create " U2, "destroy " U1};
    const uint64_t ids1[] = {1, 2, 4};
    const report_t *r[8];
    guint total = 4;
    size_t j = 0;

    fake_setup();
    start_ok(1, "vm1", U1);
    drv_virt_fake_set_delay(fake, 10);
    /* the migration is submitted to the worker at once, U2's start behind it, U1's stop only
     * once the migration's result is in */
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 2, U1, DEST, STREAM), 0);
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 3, x2), 0);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 4, U1, 0), 0);
    CU_ASSERT_TRUE_FATAL(run_until(p_all_done, &total, WAIT_MS));
    for (guint i = 0; i < rec.dones->len; i++) {
        const done_t *d = &g_array_index(rec.dones, done_t, i);

        CU_ASSERT_EQUAL(d->rc, 0);
        if (d->id != 3) {
            CU_ASSERT_FATAL(j < G_N_ELEMENTS(ids1));
            CU_ASSERT_EQUAL(d->id, ids1[j]);
            j++;
        }
    }
    log = drv_virt_fake_log(fake);
    CU_ASSERT_EQUAL_FATAL(log->len, G_N_ELEMENTS(want));
    for (guint i = 0; i < log->len; i++) {
        CU_ASSERT_STRING_EQUAL(g_ptr_array_index(log, i), want[i]);
    }
    drain();
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 8), 3); /* started, paused, migrated */
    CU_ASSERT_STRING_EQUAL(r[2]->reason, "migrated");
    CU_ASSERT_TRUE(r[2]->by_us);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U2)->state, DRV_DOM_RUNNING);
    fake_teardown();
}

/* ---- libvirt jobs: migrations in progress ---- */

static bool p_held(const void *arg)
{
    return drv_virt_fake_migrations_held(fake) >= *(const unsigned *)arg;
}

static bool p_calls(const void *arg)
{
    const unsigned *want = arg; /* {call, count} */

    return drv_virt_fake_calls(fake, (drv_virt_fake_call_t)want[0]) >= want[1];
}

static void reconcile_wait(void)
{
    unsigned n = rec.reconciled + 1;

    drv_virt_reconcile_now(rec.v);
    CU_ASSERT_TRUE(run_until(p_reconciled, &n, WAIT_MS));
}

static bool fake_log_has(const char *line)
{
    g_autoptr(GPtrArray) log = drv_virt_fake_log(fake);

    for (guint i = 0; i < log->len; i++) {
        if (strcmp(g_ptr_array_index(log, i), line) == 0) {
            return true;
        }
    }
    return false;
}

/* List passes fill the job; a change of job alone is not reported; a failed job query keeps
 * the last value; stops of a domain being migrated (out on the source, in on the destination)
 * are refused at once without reaching libvirt; other jobs do not block them. */
static void test_fake_job_table(void)
{
    const report_t *r[4];
    drv_dom_state_t st;
    unsigned calls[DRV_FAKE_N_CALLS];
    guint n;

    fake_setup();
    start_ok(1, "vm1", U1);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_NONE);
    CU_ASSERT_FALSE(drv_virt_migrating(rec.v, U1));

    /* someone (another droverd, virsh) migrates it away */
    n = rec.reports->len;
    drv_virt_fake_set_job(fake, U1, DRV_DOM_JOB_MIGRATION_OUT);
    reconcile_wait();
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_MIGRATION_OUT);
    CU_ASSERT_EQUAL(rec.reports->len, n);
    CU_ASSERT_TRUE(drv_virt_migrating(rec.v, U1));
    CU_ASSERT_TRUE(drv_virt_migrating(rec.v, "11111111222233334444555555555501"));
    CU_ASSERT_FALSE(drv_virt_migrating(rec.v, U2));
    CU_ASSERT_FALSE(drv_virt_migrating(rec.v, "not-a-uuid"));
    CU_ASSERT_FALSE(drv_virt_migrating(NULL, U1));
    for (int c = 0; c < DRV_FAKE_N_CALLS; c++) {
        calls[c] = drv_virt_fake_calls(fake, (drv_virt_fake_call_t)c);
    }
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 2, U1, 0), DRV_ERR_BUSY);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 3, U1, 1000), DRV_ERR_BUSY);
    drain();
    CU_ASSERT_PTR_NULL(find_done(2)); /* synchronous refusals: no op_done */
    CU_ASSERT_PTR_NULL(find_done(3));
    for (int c = 0; c < DRV_FAKE_N_CALLS; c++) {
        CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, (drv_virt_fake_call_t)c), calls[c]);
    }
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U1, &st), 0);
    CU_ASSERT_EQUAL(st, DRV_DOM_RUNNING);

    /* the job query fails for it: the pass still succeeds, the table keeps the job */
    drv_virt_fake_set_job(fake, U1, DRV_DOM_JOB_UNKNOWN);
    reconcile_wait();
    CU_ASSERT_TRUE(drv_virt_table_valid(rec.v));
    CU_ASSERT_PTR_NOT_NULL_FATAL(drv_virt_lookup(rec.v, U1));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_RUNNING);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_MIGRATION_OUT);
    CU_ASSERT_EQUAL(rec.reports->len, n);

    /* another kind of job does not hold stops back */
    drv_virt_fake_set_job(fake, U1, DRV_DOM_JOB_OTHER);
    reconcile_wait();
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_OTHER);
    CU_ASSERT_FALSE(drv_virt_migrating(rec.v, U1));

    /* over: the stop goes through */
    drv_virt_fake_set_job(fake, U1, DRV_DOM_JOB_NONE);
    reconcile_wait();
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_NONE);
    CU_ASSERT_EQUAL(rec.reports->len, n);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 4, U1, 0), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(4));
    CU_ASSERT_EQUAL(find_done(4)->rc, 0);
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U1, &st), -ENOENT);

    /* a destination's paused incoming copy: known with its job when first reported */
    drv_virt_fake_add(fake, U2, "vm2", DRV_DOM_PAUSED, false);
    drv_virt_fake_set_job(fake, U2, DRV_DOM_JOB_MIGRATION_IN);
    reconcile_wait();
    CU_ASSERT_EQUAL_FATAL(reports_for(U2, r, 4), 1);
    CU_ASSERT_EQUAL(r[0]->state, DRV_DOM_PAUSED);
    CU_ASSERT_STRING_EQUAL(r[0]->reason, "found paused");
    CU_ASSERT_EQUAL(r[0]->job, DRV_DOM_JOB_MIGRATION_IN);
    CU_ASSERT_TRUE(drv_virt_migrating(rec.v, U2));
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 5, U2, 0), DRV_ERR_BUSY);
    drain();
    CU_ASSERT_PTR_NULL(find_done(5));
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U2, &st), 0);
    CU_ASSERT_EQUAL(st, DRV_DOM_PAUSED);
    CU_ASSERT_FALSE(fake_log_has("destroy " U2));
    fake_teardown();
}

/* A migration that starts after the stop was accepted: the worker asks libvirt right before
 * the call and refuses (op_done(DRV_ERR_BUSY)); its answer, like the one at the end of any op,
 * lands in the table without a list pass; a stop that waited behind another op of its UUID is
 * refused when dispatched; a destroy after the grace period is checked too. */
static void test_fake_job_stop_rechecked(void)
{
    g_autofree char *x1 = dom_xml("qemu", "vm1", U1);
    const uint64_t ids[] = {10, 11, 12, 13};
    const report_t *r[4];
    drv_dom_state_t st;
    unsigned one = 1;
    unsigned lists;
    unsigned jobs;
    unsigned want[2];
    guint total;

    fake_setup();
    start_ok(1, "vm1", U1);
    start_ok(2, "vm2", U2);
    start_ok(3, "vm3", U3);
    /* a held migration of U2 keeps the worker busy while the rest is submitted */
    drv_virt_fake_hold_migrations(fake, true);
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 10, U2, DEST, STREAM), 0);
    CU_ASSERT_TRUE_FATAL(run_until_polled(p_held, &one, WAIT_MS));
    CU_ASSERT_TRUE(drv_virt_migrating(rec.v, U2)); /* our own op */
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U2)->job, DRV_DOM_JOB_NONE);
    CU_ASSERT_FALSE(drv_virt_migrating(rec.v, U3));
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 11, U3, 0), 0); /* the table says no job */
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 12, x1), 0);   /* already running: fails */
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 13, U1, 0), 0); /* waits behind the start */
    drv_virt_fake_set_job(fake, U3, DRV_DOM_JOB_MIGRATION_OUT);
    drv_virt_fake_set_job(fake, U1, DRV_DOM_JOB_MIGRATION_OUT);
    lists = drv_virt_fake_calls(fake, DRV_FAKE_LIST);
    jobs = drv_virt_fake_calls(fake, DRV_FAKE_JOB);
    drv_virt_fake_hold_migrations(fake, false);
    total = 3 + G_N_ELEMENTS(ids);
    CU_ASSERT_TRUE_FATAL(run_until(p_all_done, &total, WAIT_MS));
    CU_ASSERT_EQUAL(find_done(10)->rc, 0);
    CU_ASSERT_EQUAL(find_done(11)->rc, DRV_ERR_BUSY);
    CU_ASSERT_PTR_NOT_NULL_FATAL(find_done(11)->msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(find_done(11)->msg, "migration out"));
    CU_ASSERT_EQUAL(find_done(12)->rc, DRV_ERR_EXISTS);
    CU_ASSERT_EQUAL(find_done(13)->rc, DRV_ERR_BUSY);
    CU_ASSERT_FALSE(fake_log_has("destroy " U3));
    CU_ASSERT_FALSE(fake_log_has("destroy " U1));
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_DESTROY), 0);
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_SHUTDOWN), 0);
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U3, &st), 0);
    CU_ASSERT_EQUAL(st, DRV_DOM_RUNNING);
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U1, &st), 0);
    CU_ASSERT_EQUAL(st, DRV_DOM_RUNNING);
    /* the worker's answers: U3's from its check, U1's from the end of the failed start */
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_LIST), lists);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U3)->job, DRV_DOM_JOB_MIGRATION_OUT);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_MIGRATION_OUT);
    /* asked: at the end of the migration, before U3's destroy, at the end of the start; U1's
     * stop was refused from the table when dispatched, without asking */
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_JOB), jobs + 3);
    CU_ASSERT_EQUAL(reports_for(U1, r, 4), 1); /* a job alone is not reported */
    CU_ASSERT_EQUAL(reports_for(U3, r, 4), 1);

    /* a migration that starts during the grace period: no destroy at its end */
    drv_virt_fake_set_job(fake, U1, DRV_DOM_JOB_NONE);
    reconcile_wait();
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_NONE);
    drv_virt_fake_set_acpi(fake, false);
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 14, U1, 300), 0);
    want[0] = DRV_FAKE_SHUTDOWN;
    want[1] = 1;
    CU_ASSERT_TRUE_FATAL(run_until_polled(p_calls, want, WAIT_MS));
    drv_virt_fake_set_job(fake, U1, DRV_DOM_JOB_MIGRATION_OUT);
    CU_ASSERT_TRUE_FATAL(wait_done(14));
    CU_ASSERT_EQUAL(find_done(14)->rc, DRV_ERR_BUSY);
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_DESTROY), 0);
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U1, &st), 0);
    CU_ASSERT_EQUAL(st, DRV_DOM_RUNNING);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_MIGRATION_OUT);
    fake_teardown();
}

/* A second driver on the same hypervisor stands for droverd restarted on the source while its
 * predecessor's migration is still running: it must see the migration and refuse to stop the
 * domain. */
static rec_t rec2;

static void rec2_init(void)
{
    memset(&rec2, 0, sizeof(rec2));
    rec2.reports = g_array_new(FALSE, TRUE, sizeof(report_t));
    g_array_set_clear_func(rec2.reports, clear_report);
    rec2.dones = g_array_new(FALSE, TRUE, sizeof(done_t));
    g_array_set_clear_func(rec2.dones, clear_done);
}

static void rec2_clear(void)
{
    g_array_unref(rec2.reports);
    g_array_unref(rec2.dones);
    memset(&rec2, 0, sizeof(rec2));
}

static bool p_rec2_reconciled(const void *arg)
{
    return rec2.reconciled >= *(const unsigned *)arg && drv_virt_table_valid(rec2.v);
}

static bool p_rec2_stopped(const void *arg)
{
    const drv_dom_t *d = drv_virt_lookup(rec2.v, arg);

    return d == NULL || d->state == DRV_DOM_STOPPED;
}

static void test_fake_migrate_restart(void)
{
    const report_t *r;
    const drv_dom_t *d;
    drv_dom_state_t st;
    drv_dom_job_t job;
    unsigned one = 1;

    fake_setup();
    start_ok(1, "vm1", U1);
    drv_virt_fake_hold_migrations(fake, true);
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 2, U1, DEST, STREAM), 0);
    CU_ASSERT_TRUE_FATAL(run_until_polled(p_held, &one, WAIT_MS));
    CU_ASSERT_TRUE(drv_virt_migrating(rec.v, U1));
    CU_ASSERT_EQUAL(drv_virt_fake_job(fake, U1, &job), 0);
    CU_ASSERT_EQUAL(job, DRV_DOM_JOB_MIGRATION_OUT);

    /* the restarted droverd: a new driver, no memory of the op */
    rec2_init();
    rec2.v = drv_virt_new("fake:///", &drv_virt_fake_backend, fake, &cbs, &rec2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rec2.v);
    drv_virt_set_timing(rec2.v, 600000, 20, 100);
    CU_ASSERT_TRUE_FATAL(run_until(p_rec2_reconciled, &one, WAIT_MS));
    d = drv_virt_lookup(rec2.v, U1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->state, DRV_DOM_RUNNING);
    CU_ASSERT_EQUAL(d->job, DRV_DOM_JOB_MIGRATION_OUT);
    CU_ASSERT_EQUAL_FATAL(rec2.reports->len, 1);
    r = &g_array_index(rec2.reports, report_t, 0);
    CU_ASSERT_STRING_EQUAL(r->reason, "found running");
    CU_ASSERT_EQUAL(r->job, DRV_DOM_JOB_MIGRATION_OUT);
    CU_ASSERT_TRUE(drv_virt_migrating(rec2.v, U1));
    CU_ASSERT_EQUAL(drv_virt_stop(rec2.v, 100, U1, 0), DRV_ERR_BUSY);
    CU_ASSERT_EQUAL(drv_virt_stop(rec2.v, 101, U1, 5000), DRV_ERR_BUSY);
    drain();
    CU_ASSERT_EQUAL(rec2.dones->len, 0);
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_DESTROY), 0);
    CU_ASSERT_EQUAL(drv_virt_fake_calls(fake, DRV_FAKE_SHUTDOWN), 0);
    CU_ASSERT_EQUAL(drv_virt_fake_state(fake, U1, &st), 0);
    CU_ASSERT_EQUAL(st, DRV_DOM_RUNNING);

    /* the migration completes: both drivers see the domain leave */
    drv_virt_fake_hold_migrations(fake, false);
    CU_ASSERT_TRUE_FATAL(wait_done(2));
    CU_ASSERT_EQUAL(find_done(2)->rc, 0);
    CU_ASSERT_TRUE(run_until(p_rec2_stopped, U1, WAIT_MS));
    CU_ASSERT_FALSE(drv_virt_migrating(rec2.v, U1));
    CU_ASSERT_EQUAL(drv_virt_fake_migrated(fake, U1, NULL, NULL), 0);
    drv_virt_free(rec2.v);
    drain();
    rec2_clear();
    fake_teardown();
}

/* ---- the real backend on libvirt's test:///default ---- */

#define TEST_DOM_UUID "6695eb01-f6a4-8304-79aa-97f2502e193f" /* test:///default's "test" */

static bool p_connected_or_failed(const void *arg)
{
    return drv_virt_table_valid(rec.v) || drv_virt_connected(rec.v) ||
           rec.conn_down > 0; /* never true before a first connection; see below */
}

static void test_libvirt_test_driver(void)
{
    g_autofree char *xml = dom_xml("test", "drover-t1", U1);
    const report_t *r[8];
    virConnectPtr side;
    virDomainPtr dom;
    unsigned passes;
    guint n;

    rec_reset();
    rec.v = drv_virt_new("test:///default", &drv_virt_libvirt_backend, NULL, &cbs, &rec);
    run_until(p_connected_or_failed, NULL, WAIT_MS);
    if (!drv_virt_connected(rec.v)) {
        fprintf(stderr, "\n  SKIPPED: cannot open test:///default\n");
        drv_virt_free(rec.v);
        drain();
        return;
    }
    CU_ASSERT_TRUE_FATAL(run_until(p_valid, NULL, WAIT_MS));
    /* the predefined domain is listed (it is running: reported as found) */
    CU_ASSERT_PTR_NOT_NULL_FATAL(drv_virt_lookup(rec.v, TEST_DOM_UUID));
    CU_ASSERT_STRING_EQUAL(drv_virt_lookup(rec.v, TEST_DOM_UUID)->name, "test");
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, TEST_DOM_UUID)->state, DRV_DOM_RUNNING);
    /* its job came from virDomainGetJobStats: none */
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, TEST_DOM_UUID)->job, DRV_DOM_JOB_NONE);
    CU_ASSERT_FALSE(drv_virt_migrating(rec.v, TEST_DOM_UUID));

    /* a transient domain from XML */
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 1, xml), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(1));
    if (find_done(1)->rc != 0) {
        fprintf(stderr, "\n  start failed: %s\n", find_done(1)->msg);
    }
    CU_ASSERT_EQUAL_FATAL(find_done(1)->rc, 0);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_RUNNING);
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_NONE);
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 8), 1);
    CU_ASSERT_TRUE(r[0]->by_us);

    /* events on the default GLib context: someone else pauses and resumes "test" */
    side = virConnectOpen("test:///default");
    CU_ASSERT_PTR_NOT_NULL_FATAL(side);
    dom = virDomainLookupByUUIDString(side, TEST_DOM_UUID);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
    n = rec.reports->len;
    CU_ASSERT_EQUAL(virDomainSuspend(dom), 0);
    CU_ASSERT_TRUE(wait_reports(n + 1));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, TEST_DOM_UUID)->state, DRV_DOM_PAUSED);
    CU_ASSERT_EQUAL(virDomainResume(dom), 0);
    CU_ASSERT_TRUE(wait_reports(n + 2));
    CU_ASSERT_EQUAL_FATAL(reports_for(TEST_DOM_UUID, r, 8), 3);
    CU_ASSERT_STRING_EQUAL(r[0]->reason, "found running"); /* the first reconcile */
    CU_ASSERT_FALSE(r[0]->by_us);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_PAUSED);
    CU_ASSERT_FALSE(r[1]->by_us);
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "paused");
    CU_ASSERT_EQUAL(r[2]->state, DRV_DOM_RUNNING);
    CU_ASSERT_STRING_EQUAL(r[2]->reason, "resumed");
    virDomainFree(dom);

    /* stop (the test driver shuts down at once) */
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 2, U1, 3000), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(2));
    CU_ASSERT_EQUAL(find_done(2)->rc, 0);
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 8), 2);
    CU_ASSERT_EQUAL(r[1]->state, DRV_DOM_STOPPED);
    CU_ASSERT_TRUE(r[1]->by_us);
    /* a shutdown, not the destroy a refused shutdown falls back to (the test driver refuses
     * the ACPI-only flag: the backend then uses a plain shutdown) */
    CU_ASSERT_STRING_EQUAL(r[1]->reason, "shutdown by guest");
    dom = virDomainLookupByUUIDString(side, U1);
    CU_ASSERT_PTR_NULL(dom); /* transient: gone */
    if (dom != NULL) {
        virDomainFree(dom);
    }

    /* destroyed behind our back */
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 3, xml), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(3));
    CU_ASSERT_EQUAL_FATAL(find_done(3)->rc, 0);
    dom = virDomainLookupByUUIDString(side, U1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
    n = rec.reports->len;
    CU_ASSERT_EQUAL(virDomainDestroy(dom), 0);
    virDomainFree(dom);
    CU_ASSERT_TRUE(wait_reports(n + 1));
    CU_ASSERT_EQUAL_FATAL(reports_for(U1, r, 8), 4);
    CU_ASSERT_EQUAL(r[3]->state, DRV_DOM_STOPPED);
    CU_ASSERT_FALSE(r[3]->by_us);
    CU_ASSERT_STRING_EQUAL(r[3]->reason, "destroyed");

    /* a start libvirt refuses: its message comes back */
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 4,
                                   "<domain type='test'><name>test</name><uuid>" U2
                                   "</uuid><memory>65536</memory><os><type>hvm</type></os>"
                                   "</domain>"),
                    0);
    CU_ASSERT_TRUE_FATAL(wait_done(4));
    CU_ASSERT_TRUE(find_done(4)->rc < 0);
    CU_ASSERT_PTR_NOT_NULL(find_done(4)->msg);

    /* validation against libvirt's schema */
    CU_ASSERT_EQUAL(drv_virt_validate(rec.v, 5, xml), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(5));
    CU_ASSERT_EQUAL(find_done(5)->rc, 0);
    CU_ASSERT_EQUAL(drv_virt_validate(rec.v, 6,
                                      "<domain type='test'><name>x</name><uuid>" U2
                                      "</uuid><memory>65536</memory><bogus/></domain>"),
                    0);
    CU_ASSERT_TRUE_FATAL(wait_done(6));
    CU_ASSERT_EQUAL(find_done(6)->rc, DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(find_done(6)->msg);

    /* live migration: test:///default refuses peer-to-peer migration; the domain keeps running
     * and the message is libvirt's */
    CU_ASSERT_EQUAL(drv_virt_start(rec.v, 7, xml), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(7));
    CU_ASSERT_EQUAL_FATAL(find_done(7)->rc, 0);
    n = reports_for(U1, r, 8);
    CU_ASSERT_EQUAL(
        drv_virt_migrate(rec.v, 8, U1, "qemu+tcp://192.0.2.1/system", "tcp://192.0.2.1"), 0);
    CU_ASSERT_TRUE(drv_virt_migrating(rec.v, U1)); /* our own op, queued or running */
    CU_ASSERT_TRUE_FATAL(wait_done(8));
    CU_ASSERT_TRUE(find_done(8)->rc < 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(find_done(8)->msg);
    fprintf(stderr, "\n  migration refused: %s\n", find_done(8)->msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(find_done(8)->msg, "cannot migrate"));
    CU_ASSERT_PTR_NOT_NULL(strstr(find_done(8)->msg, "p2p migration"));
    CU_ASSERT_TRUE(drv_virt_connected(rec.v));
    passes = rec.reconciled + 1; /* the list pass a failed migration asks for */
    CU_ASSERT_TRUE(run_until(p_reconciled, &passes, WAIT_MS));
    CU_ASSERT_PTR_NOT_NULL_FATAL(drv_virt_lookup(rec.v, U1));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->state, DRV_DOM_RUNNING);
    CU_ASSERT_EQUAL(reports_for(U1, r, 8), n); /* nothing reported */
    dom = virDomainLookupByUUIDString(side, U1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
    CU_ASSERT_EQUAL(virDomainIsActive(dom), 1);
    virDomainFree(dom);
    CU_ASSERT_FALSE(drv_virt_migrating(rec.v, U1));
    CU_ASSERT_EQUAL(drv_virt_lookup(rec.v, U1)->job, DRV_DOM_JOB_NONE);
    /* an unknown UUID */
    CU_ASSERT_EQUAL(drv_virt_migrate(rec.v, 9, U3, "qemu+tcp://192.0.2.1/system", NULL), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(9));
    CU_ASSERT_EQUAL(find_done(9)->rc, DRV_ERR_UNKNOWN_RESOURCE);
    /* the worker's job check before a destroy does not get in the way of a normal stop */
    CU_ASSERT_EQUAL(drv_virt_stop(rec.v, 10, U1, 0), 0);
    CU_ASSERT_TRUE_FATAL(wait_done(10));
    CU_ASSERT_EQUAL(find_done(10)->rc, 0);

    virConnectClose(side);
    drv_virt_free(rec.v);
    rec.v = NULL;
    drain();
    rec_reset();
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    alarm(120); /* a hung wait must not hang make check */
    if (drv_virt_global_init() != 0) {
        fprintf(stderr, "drv_virt_global_init failed\n");
        return 1;
    }
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("virt-xml", NULL, NULL);
    CU_add_test(suite, "parse: good XML, uuid forms, defaults", test_parse_good);
    CU_add_test(suite, "parse: memory units", test_parse_units);
    CU_add_test(suite, "parse: refused XML says why", test_parse_bad);
    suite = CU_add_suite("virt-fake", NULL, NULL);
    CU_add_test(suite, "start/stop: running, op_done, by_us; grace; destroy", test_fake_start_stop);
    CU_add_test(suite, "crash, guest shutdown, reconcile finds strays", test_fake_behind_our_back);
    CU_add_test(suite, "failures come back with libvirt's message", test_fake_failures);
    CU_add_test(suite, "hypervisor down: frozen table, no stops until reconciled",
                test_fake_down_up);
    CU_add_test(suite, "ops for one UUID run in submission order", test_fake_order);
    CU_add_test(suite, "a connection dead before its open result is not used",
                test_fake_dropped_at_open);
    CU_add_test(suite, "a crash before the start's result is not undone by it",
                test_fake_crash_before_start_result);
    CU_add_test(suite, "a restart before the destroy's result is not undone by it",
                test_fake_restart_before_destroy_result);
    CU_add_test(suite, "migrate: gone and by us; rollback keeps it running; unknown UUID",
                test_fake_migrate);
    CU_add_test(suite, "migrate: a stop queued behind it runs after it", test_fake_migrate_order);
    CU_add_test(suite, "jobs: listed, kept on a failed query, not reported; stops refused",
                test_fake_job_table);
    CU_add_test(suite, "jobs: a migration started after the stop was accepted: worker refuses",
                test_fake_job_stop_rechecked);
    CU_add_test(suite, "jobs: a restarted driver sees a migration in flight, does not stop it",
                test_fake_migrate_restart);
    suite = CU_add_suite("virt-libvirt", NULL, NULL);
    CU_add_test(suite, "test:///default: list, events, start/stop, validate, migration refused",
                test_libvirt_test_driver);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    rec_reset();
    g_array_unref(rec.reports);
    g_array_unref(rec.dones);
    return failed ? 1 : 0;
}
