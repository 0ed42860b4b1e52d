/* drv_cli_parse: the drover CLI's argument grammar. */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>

#include "drover/results.h"
#include "cli.h"

static int parse(drv_cli_args_t *a, char **err, const char *line)
{
    g_auto(GStrv) words = g_strsplit(line, " ", -1);
    g_autoptr(GPtrArray) argv = g_ptr_array_new();
    int rc;

    g_ptr_array_add(argv, (gpointer) "drover");
    for (size_t i = 0; words[i] != NULL; i++) {
        if (*words[i] != '\0') {
            g_ptr_array_add(argv, words[i]);
        }
    }
    g_ptr_array_add(argv, NULL);
    rc = drv_cli_parse((int)argv->len - 1, (char **)argv->pdata, a, err);
    return rc;
}

#define OK(line)                                                                                   \
    do {                                                                                           \
        g_free(err);                                                                               \
        err = NULL;                                                                                \
        drv_cli_args_clear(&a);                                                                    \
        CU_ASSERT_EQUAL_FATAL(parse(&a, &err, line), 0);                                           \
        CU_ASSERT_PTR_NULL(err);                                                                   \
    } while (0)

#define BAD(line)                                                                                  \
    do {                                                                                           \
        g_free(err);                                                                               \
        err = NULL;                                                                                \
        drv_cli_args_clear(&a);                                                                    \
        CU_ASSERT_EQUAL(parse(&a, &err, line), DRV_ERR_BAD_ARGS);                                  \
        CU_ASSERT_PTR_NOT_NULL(err);                                                               \
        CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_BAD_ARGS), DRV_EXIT_USAGE);                          \
    } while (0)

static void test_status(void)
{
    drv_cli_args_t a = {0};
    char *err = NULL;

    OK("status");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_STATUS);
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_TEXT);
    CU_ASSERT_EQUAL(a.timeout_s, 0);
    OK("--output-as json status");
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    OK("status --output-as=json --timeout 3");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_STATUS);
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    CU_ASSERT_EQUAL(a.timeout_s, 3);
    OK("--ipc-name other status");
    CU_ASSERT_STRING_EQUAL(a.ipc_name, "other");
    BAD("status extra");
    BAD("--output-as xml status");
    BAD("--output-as");
    BAD("--timeout 0 status");
    BAD("--timeout abc status");
    BAD("--timeout 5x status");
    BAD("--bogus status");
    BAD("-x status");
    BAD("");
    BAD("frobnicate");
    drv_cli_args_clear(&a);
    g_free(err);
}

static void test_node(void)
{
    drv_cli_args_t a = {0};
    char *err = NULL;

    OK("node list");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_NODE_LIST);
    OK("node standby");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_NODE_SET);
    CU_ASSERT_STRING_EQUAL(a.attr, "standby");
    CU_ASSERT_TRUE(a.value);
    CU_ASSERT_PTR_NULL(a.node);
    OK("node online node2");
    CU_ASSERT_STRING_EQUAL(a.attr, "standby");
    CU_ASSERT_FALSE(a.value);
    CU_ASSERT_STRING_EQUAL(a.node, "node2");
    OK("node maintenance n3 --output-as json");
    CU_ASSERT_STRING_EQUAL(a.attr, "maintenance");
    CU_ASSERT_TRUE(a.value);
    CU_ASSERT_STRING_EQUAL(a.node, "n3");
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    OK("node ready");
    CU_ASSERT_STRING_EQUAL(a.attr, "maintenance");
    CU_ASSERT_FALSE(a.value);
    OK("node standby -- -odd");
    CU_ASSERT_STRING_EQUAL(a.node, "-odd");
    BAD("node");
    BAD("node list extra");
    BAD("node standby a b");
    BAD("node delete a");
    drv_cli_args_clear(&a);
    g_free(err);
}

static void test_help_version_simulate(void)
{
    drv_cli_args_t a = {0};
    char *err = NULL;

    OK("--help");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_HELP);
    OK("-h");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_HELP);
    OK("node --help");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_HELP);
    OK("help");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_HELP);
    OK("--version");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_VERSION);
    OK("-V");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_VERSION);
    OK("--output-as json simulate --scenario x.json --help");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_SIMULATE);
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    CU_ASSERT_EQUAL_FATAL(a.sub_argc, 4);
    CU_ASSERT_STRING_EQUAL(a.sub_argv[0], "simulate");
    CU_ASSERT_STRING_EQUAL(a.sub_argv[1], "--scenario");
    CU_ASSERT_STRING_EQUAL(a.sub_argv[3], "--help");
    CU_ASSERT_PTR_NULL(a.sub_argv[4]);
    OK("simulate");
    CU_ASSERT_EQUAL(a.sub_argc, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(drv_cli_usage(), "node standby"));
    drv_cli_args_clear(&a);
    g_free(err);
}

static void test_exit_codes(void)
{
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_NO_DAEMON), 3);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_NOT_QUORATE), 4);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_UNKNOWN_NODE), 5);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_TIMEOUT), 6);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_PERMISSION), 7);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_BAD_ARGS), 2);
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("cli-args", NULL, NULL);
    CU_add_test(suite, "status and global options", test_status);
    CU_add_test(suite, "node subcommands", test_node);
    CU_add_test(suite, "help, version, simulate", test_help_version_simulate);
    CU_add_test(suite, "exit codes", test_exit_codes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
