/* droverd's CPG send queue: CS_ERR_TRY_AGAIN never spins nor drops, order is kept, the
 * queue is bounded. cpg_mcast_joined is replaced with -Wl,--wrap (no corosync needed). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <CUnit/Basic.h>
#include <corosync/cpg.h>

#include "drover/results.h"
#include "agent.h"

cs_error_t __wrap_cpg_mcast_joined(cpg_handle_t h, cpg_guarantee_t g, const struct iovec *iov,
                                   unsigned int n);

static int try_again_left; /* calls that answer CS_ERR_TRY_AGAIN before CS_OK */
static unsigned int calls;
static GPtrArray *delivered; /* char * payloads accepted, in order */

cs_error_t __wrap_cpg_mcast_joined(cpg_handle_t h, cpg_guarantee_t g, const struct iovec *iov,
                                   unsigned int n)
{
    calls++;
    CU_ASSERT_EQUAL(g, CPG_TYPE_AGREED);
    if (try_again_left != 0) {
        if (try_again_left > 0) {
            try_again_left--;
        }
        return CS_ERR_TRY_AGAIN;
    }
    CU_ASSERT_EQUAL_FATAL(n, 1);
    g_ptr_array_add(delivered, g_strndup(iov[0].iov_base, iov[0].iov_len));
    return CS_OK;
}

static drv_agent_t agent;

static void setup(void)
{
    memset(&agent, 0, sizeof(agent));
    drv_config_defaults(&agent.cfg);
    agent.cs = drv_cs_new(&agent);
    drv_cs__set_connected(agent.cs, true);
    delivered = g_ptr_array_new_with_free_func(g_free);
    calls = 0;
}

static void teardown(void)
{
    drv_cs__set_connected(agent.cs, false);
    drv_cs_free(agent.cs);
    drv_config_clear(&agent.cfg);
    g_ptr_array_unref(delivered);
}

static void run_loop_until_empty(unsigned int max_ms)
{
    gint64 deadline = g_get_monotonic_time() + (gint64)max_ms * 1000;

    while (drv_cs__queued(agent.cs) > 0 && g_get_monotonic_time() < deadline) {
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

static void test_direct(void)
{
    setup();
    CU_ASSERT_EQUAL(drv_cs_send(agent.cs, "a", 1), 0);
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_EQUAL(delivered->len, 1);
    CU_ASSERT_EQUAL(drv_cs__queued(agent.cs), 0);
    teardown();
}

static void test_try_again_keeps_order(void)
{
    setup();
    try_again_left = 3;
    CU_ASSERT_EQUAL(drv_cs_send(agent.cs, "m1", 2), 0);
    CU_ASSERT_EQUAL(drv_cs_send(agent.cs, "m2", 2), 0);
    CU_ASSERT_EQUAL(drv_cs_send(agent.cs, "m3", 2), 0);
    /* Only the first message tried corosync; the others queued behind it. */
    CU_ASSERT_EQUAL(calls, 1);
    CU_ASSERT_EQUAL(drv_cs__queued(agent.cs), 3);
    CU_ASSERT_EQUAL(delivered->len, 0);
    run_loop_until_empty(5000);
    CU_ASSERT_EQUAL(drv_cs__queued(agent.cs), 0);
    CU_ASSERT_EQUAL_FATAL(delivered->len, 3);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(delivered, 0), "m1");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(delivered, 1), "m2");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(delivered, 2), "m3");
    /* Retried from a back-off timer: a handful of calls, not a spin. */
    CU_ASSERT(calls <= 3 + 3 + 1);
    teardown();
}

static void test_bounded(void)
{
    unsigned int n = 0;
    int rc = 0;

    setup();
    try_again_left = -1; /* corosync never accepts */
    while (n < 100000 && (rc = drv_cs_send(agent.cs, "x", 1)) == 0) {
        n++;
    }
    CU_ASSERT_EQUAL(rc, -ENOBUFS);
    CU_ASSERT(n > 100 && n < 100000);
    try_again_left = 0;
    teardown();
}

static void test_not_connected(void)
{
    setup();
    drv_cs__set_connected(agent.cs, false);
    CU_ASSERT_EQUAL(drv_cs_send(agent.cs, "a", 1), DRV_ERR_NOT_CONNECTED);
    CU_ASSERT_EQUAL(calls, 0);
    teardown();
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("agent-sendq", NULL, NULL);
    CU_add_test(suite, "sent at once when corosync accepts", test_direct);
    CU_add_test(suite, "TRY_AGAIN: queued, flushed in order by a timer",
                test_try_again_keeps_order);
    CU_add_test(suite, "the queue is bounded", test_bounded);
    CU_add_test(suite, "not connected", test_not_connected);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
