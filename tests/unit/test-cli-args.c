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

static void test_resource(void)
{
    drv_cli_args_t a = {0};
    char *err = NULL;
    const drv_cli_pref_t *p;

    OK("resource list");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_RES_LIST);
    OK("--output-as json resource list");
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    OK("resource show vm1");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_RES_SHOW);
    CU_ASSERT_STRING_EQUAL(a.res_name, "vm1");
    CU_ASSERT_FALSE(a.show_xml);
    OK("resource show vm1 --xml --output-as json");
    CU_ASSERT_TRUE(a.show_xml);
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    OK("resource remove vm1");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_RES_REMOVE);
    OK("resource start vm1 --timeout 30");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_RES_START);
    CU_ASSERT_EQUAL(a.timeout_s, 30);
    OK("resource stop web-1.a_b");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_RES_STOP);
    CU_ASSERT_STRING_EQUAL(a.res_name, "web-1.a_b");
    OK("resource move vm1 node2");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_RES_MOVE);
    CU_ASSERT_STRING_EQUAL(a.res_name, "vm1");
    CU_ASSERT_STRING_EQUAL(a.node, "node2");
    OK("resource clear vm1");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_RES_CLEAR);

    /* add: defaults */
    OK("resource add vm1 --domain-xml /tmp/vm1.xml");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_RES_ADD);
    CU_ASSERT_STRING_EQUAL(a.res_name, "vm1");
    CU_ASSERT_STRING_EQUAL(a.xml_path, "/tmp/vm1.xml");
    CU_ASSERT_EQUAL(a.priority, -1);
    CU_ASSERT_PTR_NULL(a.prefer);
    CU_ASSERT_PTR_NULL(a.anti_affinity);
    CU_ASSERT_FALSE(a.no_migrate);
    CU_ASSERT_EQUAL(a.cpu, 0);
    CU_ASSERT_EQUAL(a.memory_mib, 0);
    CU_ASSERT_FALSE(a.stopped);
    /* add: everything, options before and after the name, --opt=value */
    OK("resource add --domain-xml=x.xml vm1 --priority high --prefer n1 --prefer n2:500 "
       "--prefer n3:1000000 --anti-affinity web --anti-affinity=db --no-migrate --cpu 4 "
       "--memory=2048 --stopped");
    CU_ASSERT_STRING_EQUAL(a.xml_path, "x.xml");
    CU_ASSERT_EQUAL(a.priority, 2);
    CU_ASSERT_EQUAL_FATAL(a.prefer->len, 3);
    p = g_ptr_array_index(a.prefer, 0);
    CU_ASSERT_STRING_EQUAL(p->node, "n1");
    CU_ASSERT_EQUAL(p->weight, 100);
    p = g_ptr_array_index(a.prefer, 1);
    CU_ASSERT_STRING_EQUAL(p->node, "n2");
    CU_ASSERT_EQUAL(p->weight, 500);
    p = g_ptr_array_index(a.prefer, 2);
    CU_ASSERT_EQUAL(p->weight, 1000000);
    CU_ASSERT_EQUAL_FATAL(a.anti_affinity->len, 2);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(a.anti_affinity, 0), "web");
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(a.anti_affinity, 1), "db");
    CU_ASSERT_TRUE(a.no_migrate);
    CU_ASSERT_EQUAL(a.cpu, 4);
    CU_ASSERT_EQUAL(a.memory_mib, 2048);
    CU_ASSERT_TRUE(a.stopped);
    OK("resource add vm1 --domain-xml x --priority low --memory 4294967296 --cpu 4096");
    CU_ASSERT_EQUAL(a.priority, 0);
    CU_ASSERT_EQUAL(a.memory_mib, G_GUINT64_CONSTANT(4294967296));
    OK("resource add vm1 --domain-xml x --priority medium --prefer fe80::1:7");
    CU_ASSERT_EQUAL(a.priority, 1);
    p = g_ptr_array_index(a.prefer, 0);
    CU_ASSERT_STRING_EQUAL(p->node, "fe80::1");
    CU_ASSERT_EQUAL(p->weight, 7);
    OK("resource add vm1 --domain-xml x --help");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_HELP);

    /* bad: subcommands and arity */
    BAD("resource");
    BAD("resource frob vm1");
    BAD("resource list extra");
    BAD("resource show");
    BAD("resource show a b");
    BAD("resource start");
    BAD("resource stop a b");
    BAD("resource remove");
    BAD("resource clear a b");
    BAD("resource move vm1");
    BAD("resource move vm1 n1 n2");
    BAD("resource add");
    BAD("resource add vm1");
    BAD("resource add vm1 vm2 --domain-xml x");
    /* bad: names */
    BAD("resource start -- -vm");
    BAD("resource start .vm");
    BAD("resource show bad/name");
    BAD("resource add bad:name --domain-xml x");
    BAD("resource start 01234567890123456789012345678901234567890123456789012345678901234");
    /* bad: option values */
    BAD("resource add vm1 --domain-xml");
    BAD("resource add vm1 --domain-xml=");
    BAD("resource add vm1 --domain-xml x --domain-xml y");
    BAD("resource add vm1 --domain-xml x --priority urgent");
    BAD("resource add vm1 --domain-xml x --priority");
    BAD("resource add vm1 --domain-xml x --priority high --priority low");
    BAD("resource add vm1 --domain-xml x --prefer");
    BAD("resource add vm1 --domain-xml x --prefer :5");
    BAD("resource add vm1 --domain-xml x --prefer n1:0");
    BAD("resource add vm1 --domain-xml x --prefer n1:1000001");
    BAD("resource add vm1 --domain-xml x --prefer n1:abc");
    BAD("resource add vm1 --domain-xml x --prefer n1:");
    BAD("resource add vm1 --domain-xml x --prefer n1:-5");
    BAD("resource add vm1 --domain-xml x --prefer n1 --prefer n1:5");
    BAD("resource add vm1 --domain-xml x --anti-affinity");
    BAD("resource add vm1 --domain-xml x --anti-affinity=");
    BAD("resource add vm1 --domain-xml x --anti-affinity g --anti-affinity g");
    BAD("resource add vm1 --domain-xml x --cpu 0");
    BAD("resource add vm1 --domain-xml x --cpu 4097");
    BAD("resource add vm1 --domain-xml x --cpu two");
    BAD("resource add vm1 --domain-xml x --cpu");
    BAD("resource add vm1 --domain-xml x --memory 0");
    BAD("resource add vm1 --domain-xml x --memory 4294967297");
    BAD("resource add vm1 --domain-xml x --memory 1G");
    BAD("resource add vm1 --domain-xml x --no-migrate=yes");
    BAD("resource add vm1 --domain-xml x --stopped=1");
    BAD("resource add vm1 --domain-xml x --xml");
    BAD("resource add vm1 --domain-xml x --bogus");
    /* bad: options of another subcommand */
    BAD("resource start vm1 --stopped");
    BAD("resource show vm1 --cpu 2");
    BAD("resource move vm1 n1 --prefer n1");
    BAD("resource list --no-migrate");
    BAD("resource list --xml");
    BAD("resource start vm1 --xml");
    BAD("resource show vm1 --xml=yes");
    /* resource options are not global ones */
    BAD("--cpu 2 resource add vm1 --domain-xml x");
    BAD("status --xml");
    BAD("node standby --stopped");
    CU_ASSERT_PTR_NOT_NULL(strstr(drv_cli_usage(), "resource add NAME --domain-xml PATH"));
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_UNKNOWN_RESOURCE), 5);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_EXISTS), 1);
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

static void test_property(void)
{
    drv_cli_args_t a;
    char *err = NULL;

    memset(&a, 0, sizeof(a));
    OK("property list");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_PROP_LIST);
    OK("--output-as json property list");
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    OK("property set failure-threshold 5");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_PROP_SET);
    CU_ASSERT_STRING_EQUAL(a.prop_key, "failure-threshold");
    CU_ASSERT_STRING_EQUAL(a.prop_value, "5");
    /* the value goes out in canonical form */
    OK("property set failure-window 10m");
    CU_ASSERT_STRING_EQUAL(a.prop_value, "600");
    OK("property set fencing-enabled no");
    CU_ASSERT_STRING_EQUAL(a.prop_value, "false");
    OK("property set no-quorum-policy freeze --timeout 5");
    CU_ASSERT_STRING_EQUAL(a.prop_value, "freeze");
    CU_ASSERT_EQUAL(a.timeout_s, 5);
    OK("property unset balance-level");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_PROP_UNSET);
    CU_ASSERT_STRING_EQUAL(a.prop_key, "balance-level");
    CU_ASSERT_PTR_NULL(a.prop_value);

    BAD("property");
    BAD("property frob");
    BAD("property list extra");
    BAD("property set failure-threshold");
    BAD("property set failure-threshold 3 4");
    BAD("property unset");
    BAD("property unset a b");
    BAD("property set no-such-key 1");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "valid: failure-threshold, failure-window"));
    BAD("property unset no-such-key");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown property 'no-such-key'"));
    BAD("property set failure-threshold 0");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "from 1 to 1000"));
    BAD("property set failure-threshold many");
    BAD("property set balance-level extreme");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "off | low | medium | high"));
    BAD("property set fencing-enabled maybe");
    drv_cli_args_clear(&a);
    g_free(err);
}

static void test_fence(void)
{
    drv_cli_args_t a = {0};
    char *err = NULL;

    /* fence device add */
    OK("fence device add sb-n3 --agent /usr/sbin/fence_ipmilan --param ipaddr=10.0.0.3 "
       "--param password=x --nodes n3");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_FENCE_DEV_ADD);
    CU_ASSERT_STRING_EQUAL(a.dev_name, "sb-n3");
    CU_ASSERT_STRING_EQUAL(a.agent, "/usr/sbin/fence_ipmilan");
    CU_ASSERT_EQUAL_FATAL(drv_fence_params_count(a.params), 2);
    CU_ASSERT_STRING_EQUAL(drv_fence_params_key(a.params, 0), "ipaddr");
    CU_ASSERT_STRING_EQUAL(drv_fence_params_key(a.params, 1), "password");
    CU_ASSERT_STRING_EQUAL(drv_fence_params_value(a.params, 1), "x");
    CU_ASSERT_EQUAL_FATAL(a.fence_nodes->len, 1);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(a.fence_nodes, 0), "n3");
    OK("--output-as json fence device add pdu --nodes=n1,n2,n3 --agent=/bin/fence_x "
       "--param=port==odd=");
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    CU_ASSERT_EQUAL_FATAL(a.fence_nodes->len, 3);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(a.fence_nodes, 2), "n3");
    CU_ASSERT_STRING_EQUAL(drv_fence_params_value(a.params, 0), "=odd=");
    OK("fence device add d --agent /a --nodes n1 --param empty=");
    CU_ASSERT_STRING_EQUAL(drv_fence_params_value(a.params, 0), "");
    OK("fence device add d --agent /a --nodes n1 --timeout 20");
    CU_ASSERT_PTR_NULL(a.params);
    CU_ASSERT_EQUAL(a.timeout_s, 20);
    BAD("fence device add d --agent fence_ipmilan --nodes n1");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "absolute path"));
    BAD("fence device add d --nodes n1");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--agent"));
    BAD("fence device add d --agent /a");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--nodes"));
    BAD("fence device add d --agent /a --nodes n1,n1");
    BAD("fence device add d --agent /a --nodes n1,,n2");
    BAD("fence device add d --agent /a --nodes ,");
    BAD("fence device add d --agent /a --agent /b --nodes n1");
    BAD("fence device add d --agent /a --nodes n1 --nodes n2");
    BAD("fence device add d --agent /a --nodes n1 --param noequals");
    BAD("fence device add d --agent /a --nodes n1 --param action=off");
    BAD("fence device add d --agent /a --nodes n1 --param nodename=n2");
    BAD("fence device add d --agent /a --nodes n1 --param 'bad key=1'");
    BAD("fence device add d --agent /a --nodes n1 --param =v");
    BAD("fence device add d --agent /a --nodes n1 --param password=a --param password=b");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "twice"));
    CU_ASSERT_PTR_NULL(strstr(err, "=a"));
    BAD("fence device add d --agent /a --nodes n1 --param");
    BAD("fence device add -- -d --agent /a --nodes n1");
    BAD("fence device add bad/name --agent /a --nodes n1");
    BAD("fence device add --agent /a --nodes n1");
    BAD("fence device add d e --agent /a --nodes n1");
    BAD("fence device add d --agent /a --nodes n1 --reboot");
    BAD("fence device add d --agent /a --nodes n1 --yes");
    BAD("--agent /a fence device add d --nodes n1");
    /* fence device remove|list|show */
    OK("fence device remove sb-n3");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_FENCE_DEV_REMOVE);
    CU_ASSERT_STRING_EQUAL(a.dev_name, "sb-n3");
    OK("fence device list");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_FENCE_DEV_LIST);
    OK("fence device show sb-n3 --output-as json");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_FENCE_DEV_SHOW);
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    BAD("fence");
    BAD("fence frob");
    BAD("fence device");
    BAD("fence device frob d");
    BAD("fence device remove");
    BAD("fence device remove a b");
    BAD("fence device list extra");
    BAD("fence device show");
    BAD("fence device show d --agent /a");
    BAD("fence device remove d --param a=b");
    BAD("fence device list --nodes n1");

    /* fence level */
    OK("fence level add n3 1 sb-n3");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_FENCE_LEVEL_ADD);
    CU_ASSERT_STRING_EQUAL(a.node, "n3");
    CU_ASSERT_EQUAL(a.level_index, 1);
    CU_ASSERT_EQUAL_FATAL(a.level_devices->len, 1);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(a.level_devices, 0), "sb-n3");
    OK("fence level add n3 9 pdu-a pdu-b --timeout 5");
    CU_ASSERT_EQUAL(a.level_index, 9);
    CU_ASSERT_EQUAL_FATAL(a.level_devices->len, 2);
    CU_ASSERT_STRING_EQUAL(g_ptr_array_index(a.level_devices, 1), "pdu-b");
    OK("fence level remove n3 2");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_FENCE_LEVEL_REMOVE);
    CU_ASSERT_EQUAL(a.level_index, 2);
    CU_ASSERT_PTR_NULL(a.level_devices);
    OK("fence level list");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_FENCE_LEVEL_LIST);
    CU_ASSERT_PTR_NULL(a.node);
    OK("fence level list n2");
    CU_ASSERT_STRING_EQUAL(a.node, "n2");
    BAD("fence level");
    BAD("fence level frob");
    BAD("fence level add n3 0 d");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "from 1 to 9"));
    BAD("fence level add n3 10 d");
    BAD("fence level add n3 x d");
    BAD("fence level add n3 -1 d");
    BAD("fence level add n3 1");
    BAD("fence level add n3");
    BAD("fence level add n3 1 d d");
    BAD("fence level add n3 1 bad/dev");
    BAD("fence level add n3 1 d1 d2 d3 d4 d5 d6 d7 d8 d9 d10 d11 d12 d13 d14 d15 d16 d17");
    BAD("fence level remove n3");
    BAD("fence level remove n3 0");
    BAD("fence level remove n3 10");
    BAD("fence level remove n3 1 extra");
    BAD("fence level list a b");
    BAD("fence level add n3 1 d --agent /a");

    /* fence history */
    OK("fence history");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_FENCE_HISTORY);
    CU_ASSERT_PTR_NULL(a.node);
    OK("fence history n3 --output-as json");
    CU_ASSERT_STRING_EQUAL(a.node, "n3");
    BAD("fence history a b");
    BAD("fence history --reboot");
    CU_ASSERT_PTR_NOT_NULL(strstr(drv_cli_usage(), "fence device add NAME --agent PATH"));
    drv_cli_args_clear(&a);
    g_free(err);
}

/* A value with a line break is refused where it is typed, and the message holds no value. */
static void test_fence_param_line_break(void)
{
    drv_cli_args_t a = {0};
    char *err = NULL;

    BAD("fence device add d --agent /a --nodes n1 --param password=hunter2\nrm");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line break"));
    CU_ASSERT_PTR_NULL(strstr(err, "hunter2"));
    BAD("fence device add d --agent /a --nodes n1 --param=a=b\rc");
    CU_ASSERT_PTR_NULL(strstr(err, "b\rc"));
    BAD("fence device add d --agent /a\n/b --nodes n1");
    drv_cli_args_clear(&a);
    g_free(err);
}

static void test_node_fencing(void)
{
    drv_cli_args_t a = {0};
    char *err = NULL;

    OK("node fence n3");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_NODE_FENCE);
    CU_ASSERT_STRING_EQUAL(a.node, "n3");
    CU_ASSERT_FALSE(a.reboot);
    CU_ASSERT_EQUAL(a.timeout_s, 0);
    OK("node fence n3 --reboot --timeout 300 --output-as json");
    CU_ASSERT_TRUE(a.reboot);
    CU_ASSERT_EQUAL(a.timeout_s, 300);
    CU_ASSERT_EQUAL(a.output, DRV_CLI_OUT_JSON);
    OK("node --reboot fence n3");
    CU_ASSERT_TRUE(a.reboot);
    OK("node confirm-down n3 --yes");
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_NODE_CONFIRM_DOWN);
    CU_ASSERT_STRING_EQUAL(a.node, "n3");
    CU_ASSERT_TRUE(a.yes);
    BAD("node confirm-down n3");
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--yes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "powered off"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "started on other nodes"));
    CU_ASSERT_EQUAL(a.cmd, DRV_CLI_NONE);
    BAD("node fence");
    BAD("node fence n2 n3");
    BAD("node confirm-down --yes");
    BAD("node confirm-down n2 n3 --yes");
    BAD("node fence n3 --yes");
    BAD("node confirm-down n3 --yes --reboot");
    BAD("node fence n3 --reboot=yes");
    BAD("node confirm-down n3 --yes=1");
    BAD("node standby n3 --reboot");
    BAD("node list --yes");
    BAD("node fence n3 --agent /a");
    BAD("--reboot node fence n3");
    BAD("--yes node confirm-down n3");
    BAD("node fence bad\tname");
    drv_cli_args_clear(&a);
    g_free(err);
}

static void test_exit_codes(void)
{
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_CANNOT_PLACE), 8);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_NO_DAEMON), 3);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_NOT_QUORATE), 4);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_UNKNOWN_NODE), 5);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_TIMEOUT), 6);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_PERMISSION), 7);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_BAD_ARGS), 2);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_UNKNOWN_DEVICE), 5);
    CU_ASSERT_EQUAL(drv_exit_code(DRV_ERR_BUSY), 1);
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
    CU_add_test(suite, "resource subcommands", test_resource);
    CU_add_test(suite, "help, version, simulate", test_help_version_simulate);
    CU_add_test(suite, "property subcommands", test_property);
    CU_add_test(suite, "fence subcommands", test_fence);
    CU_add_test(suite, "a fence parameter with a line break", test_fence_param_line_break);
    CU_add_test(suite, "node fence and confirm-down", test_node_fencing);
    CU_add_test(suite, "exit codes", test_exit_codes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
