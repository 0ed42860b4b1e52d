/* droverd's configuration parser and IPC access rule. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <CUnit/Basic.h>

#include "drover/results.h"
#include "agent.h"
#include "ipc.h"

static char *tmpdir;

static char *write_conf(const char *text)
{
    char *path = g_build_filename(tmpdir, "drover.conf", NULL);

    g_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

static int load(drv_agent_config_t *cfg, const char *text, char **err)
{
    g_autofree char *path = write_conf(text);

    drv_config_clear(cfg);
    g_free(*err);
    *err = NULL;
    return drv_config_load(cfg, path, true, err);
}

static void test_defaults(void)
{
    drv_agent_config_t cfg;
    char *err = NULL;

    CU_ASSERT_EQUAL(drv_config_load(&cfg, "/nonexistent/drover.conf", false, &err), 0);
    CU_ASSERT_STRING_EQUAL(cfg.state_dir, "/var/lib/drover");
    CU_ASSERT_STRING_EQUAL(cfg.cpg_group, "drover");
    CU_ASSERT_STRING_EQUAL(cfg.ipc_name, "drover");
    CU_ASSERT_EQUAL(cfg.request_timeout_ms, 5000);
    CU_ASSERT_PTR_NULL(cfg.logfile);
    CU_ASSERT_TRUE(cfg.to_syslog);
    CU_ASSERT_TRUE(cfg.blackbox);
    CU_ASSERT_FALSE(cfg.to_stderr);
    CU_ASSERT_FALSE(cfg.debug);
    drv_config_clear(&cfg);

    CU_ASSERT_EQUAL(drv_config_load(&cfg, "/nonexistent/drover.conf", true, &err), DRV_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/drover.conf"));
    drv_config_clear(&cfg);
    g_free(err);
}

static void test_values(void)
{
    drv_agent_config_t cfg = {0};
    char *err = NULL;

    CU_ASSERT_EQUAL(load(&cfg,
                         "# comment\n[daemon]\nstate_dir = /tmp/x\ncpg_group=g1\n"
                         "ipc_name=i1\nrequest_timeout_ms=250\n"
                         "[logging]\nlogfile=/tmp/x/d.log\nto_stderr=true\nto_syslog=false\n"
                         "debug=true\nblackbox=false\n",
                         &err),
                    0);
    CU_ASSERT_STRING_EQUAL(cfg.state_dir, "/tmp/x");
    CU_ASSERT_STRING_EQUAL(cfg.cpg_group, "g1");
    CU_ASSERT_STRING_EQUAL(cfg.ipc_name, "i1");
    CU_ASSERT_EQUAL(cfg.request_timeout_ms, 250);
    CU_ASSERT_STRING_EQUAL(cfg.logfile, "/tmp/x/d.log");
    CU_ASSERT_TRUE(cfg.to_stderr);
    CU_ASSERT_FALSE(cfg.to_syslog);
    CU_ASSERT_TRUE(cfg.debug);
    CU_ASSERT_FALSE(cfg.blackbox);
    CU_ASSERT_PTR_NOT_NULL(cfg.path);
    drv_config_clear(&cfg);
    g_free(err);
}

/* Each bad file fails with DRV_ERR_CONFIG and a message naming file, group and key. */
static void test_errors(void)
{
    static const struct {
        const char *text;
        const char *must_name;
    } cases[] = {
        {"[daemon]\nstate_dirr=/x\n", "[daemon] state_dirr"},
        {"[daemon]\nstate_dir=relative\n", "[daemon] state_dir"},
        {"[daemon]\nrequest_timeout_ms=0\n", "[daemon] request_timeout_ms"},
        {"[daemon]\nrequest_timeout_ms=12abc\n", "[daemon] request_timeout_ms"},
        {"[daemon]\ncpg_group=\n", "[daemon] cpg_group"},
        {"[logging]\ndebug=maybe\n", "[logging] debug"},
        {"[logging]\nlogfile=log.txt\n", "[logging] logfile"},
        {"[other]\nx=1\n", "[other]"},
        {"[resources]\nmigration_uri=qemu+tcp://node/system\n", "[resources] migration_uri"},
        {"[resources]\nmigration_uri=qemu+tcp://%s/%s\n", "[resources] migration_uri"},
        {"[resources]\nmigration_transport=tcp://%d\n", "[resources] migration_transport"},
        {"[resources]\nmax_failures=3\n", "[resources] max_failures"},
        {"not a key file\n", "drover.conf"},
    };
    drv_agent_config_t cfg = {0};
    char *err = NULL;

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        CU_ASSERT_EQUAL(load(&cfg, cases[i].text, &err), DRV_ERR_CONFIG);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "drover.conf"));
        if (strstr(err, cases[i].must_name) == NULL) {
            fprintf(stderr, "case %zu: '%s' does not name '%s'\n", i, err, cases[i].must_name);
            CU_FAIL("error message does not name the key");
        }
    }
    drv_config_clear(&cfg);
    g_free(err);
}

static void test_access(void)
{
    struct group *gr = getgrgid(getgid());

    CU_ASSERT_EQUAL(drv_ipc_check_access(0, 0, "drover-no-such-group"), 0);
    CU_ASSERT_EQUAL(drv_ipc_check_access(65534, 65534, "drover-no-such-group"), -EACCES);
    if (gr != NULL && getuid() != 0) {
        /* our own primary group */
        CU_ASSERT_EQUAL(drv_ipc_check_access(getuid(), getgid(), gr->gr_name), 0);
    }
    gr = getgrnam("root");
    if (gr != NULL) {
        /* primary gid match */
        CU_ASSERT_EQUAL(drv_ipc_check_access(12345, gr->gr_gid, "root"), 0);
        /* an unknown uid whose primary group is not the access group */
        CU_ASSERT_EQUAL(drv_ipc_check_access(54321, 54321, "root"), -EACCES);
    }
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;
    g_autofree char *tmpl = g_build_filename(g_get_tmp_dir(), "drv-cfg-XXXXXX", NULL);

    tmpdir = g_mkdtemp(tmpl);
    if (tmpdir == NULL || CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("agent-config", NULL, NULL);
    CU_add_test(suite, "defaults", test_defaults);
    CU_add_test(suite, "every key", test_values);
    CU_add_test(suite, "errors name file, group and key", test_errors);
    CU_add_test(suite, "IPC access rule", test_access);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    {
        g_autofree char *p = g_build_filename(tmpdir, "drover.conf", NULL);
        unlink(p);
        rmdir(tmpdir);
    }
    return failed ? 1 : 0;
}
