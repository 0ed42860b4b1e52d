/* The operator's side of fencing, without a cluster:
 * - fence device parameters are shown only redacted: droverd's JSON (fence-device-list/show)
 *   and the CLI's text never hold a secret value, whatever the reply the CLI is given;
 * - each node's fencing state in `drover status` (drv_status_fence_state). */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>

#include "drover/results.h"
#include "drover/walltime.h"
#include "agent.h"
#include "cli.h"
#include "drv_fence.h"
#include "drv_ha.h"
#include "ipc.h"

static drv_state_t *state_with_device(void)
{
    drv_state_t *st = drv_state_new();
    drv_fence_dev_t *d = drv_fence_dev_new("sb-n3", "/usr/sbin/fence_ipmilan");
    static const char *const kv[][2] = {
        {"ipaddr", "10.0.0.3"},     {"login", "admin"},         {"password", "hunter2"},
        {"snmp_priv_passwd", "s3"}, {"community", "c0mmunity"}, {"API_Token", "t0ken"},
    };

    for (size_t i = 0; i < G_N_ELEMENTS(kv); i++) {
        g_ptr_array_add(d->keys, g_strdup(kv[i][0]));
        g_ptr_array_add(d->vals, g_strdup(kv[i][1]));
    }
    g_ptr_array_add(d->nodes, g_strdup("n3"));
    g_ptr_array_add(d->nodes, g_strdup("n4"));
    CU_ASSERT_EQUAL(drv_fence_dev_validate(d, NULL), 0);
    g_hash_table_insert(st->fence_devices, g_strdup(d->name), d);
    return st;
}

static void assert_no_secret(const char *text)
{
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(strstr(text, "hunter2"));
    CU_ASSERT_PTR_NULL(strstr(text, "s3\""));
    CU_ASSERT_PTR_NULL(strstr(text, "=s3"));
    CU_ASSERT_PTR_NULL(strstr(text, "c0mmunity"));
    CU_ASSERT_PTR_NULL(strstr(text, "t0ken"));
}

static char *to_text(JsonNode *n)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();

    json_generator_set_root(gen, n);
    return json_generator_to_data(gen, NULL);
}

static void test_droverd_json(void)
{
    g_autoptr(drv_state_t) st = state_with_device();
    const drv_fence_dev_t *d = g_hash_table_lookup(st->fence_devices, "sb-n3");
    JsonNode *n = drv_ipc_fence_device_json(st, d);
    g_autofree char *text = to_text(n);
    g_autofree char *cli = NULL;

    assert_no_secret(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"10.0.0.3\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"admin\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"" DRV_FENCE_REDACTED "\""));
    /* no topology: an implicit level for each of its nodes */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"node\":\"n3\",\"index\":1,\"implicit\":true"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"node\":\"n4\",\"index\":1,\"implicit\":true"));
    /* and what the CLI makes of it */
    cli = drv_cli_fence_device_text(json_node_get_object(n));
    assert_no_secret(cli);
    CU_ASSERT_PTR_NOT_NULL(strstr(cli, "ipaddr=10.0.0.3 login=admin password=******"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cli, "n3 level 1 (implicit)"));
    json_node_unref(n);
}

static void test_topology_levels(void)
{
    g_autoptr(drv_state_t) st = state_with_device();
    const drv_fence_dev_t *d = g_hash_table_lookup(st->fence_devices, "sb-n3");
    drv_cmd_t cmd = {.type = DRV_CMD_FENCE_LEVEL, .name = "n3", .gen = 2, .value = "sb-n3"};
    JsonNode *n;
    g_autofree char *text = NULL;

    CU_ASSERT_EQUAL_FATAL(drv_state_apply_fence(st, &cmd), 0);
    n = drv_ipc_fence_device_json(st, d);
    text = to_text(n);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"node\":\"n3\",\"index\":2,\"implicit\":false"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"node\":\"n4\",\"index\":1,\"implicit\":true"));
    assert_no_secret(text);
    json_node_unref(n);
}

/* The CLI redacts by key itself: a reply that holds a secret in clear is not printed so. */
static void test_cli_text(void)
{
    const char *reply =
        "{\"rc\":0,\"devices\":[{\"name\":\"sb-n3\",\"agent\":\"/usr/sbin/fence_ipmilan\","
        "\"nodes\":[\"n3\"],\"params\":[{\"key\":\"ipaddr\",\"value\":\"10.0.0.3\"},"
        "{\"key\":\"password\",\"value\":\"hunter2\"},"
        "{\"key\":\"Passwd_Script\",\"value\":\"hunter2\"},"
        "{\"key\":\"plain\",\"value\":\"hunter2\",\"secret\":true}],\"levels\":[]}]}";
    g_autoptr(JsonParser) p = json_parser_new();
    g_autofree char *list = NULL;
    g_autofree char *show = NULL;
    JsonObject *o;

    CU_ASSERT_FATAL(json_parser_load_from_data(p, reply, -1, NULL));
    o = json_node_get_object(json_parser_get_root(p));
    list = drv_cli_fence_devices_text(o);
    assert_no_secret(list);
    CU_ASSERT_PTR_NOT_NULL(strstr(list, "ipaddr=10.0.0.3 password=****** Passwd_Script=****** "
                                        "plain=******"));
    show = drv_cli_fence_device_text(
        json_array_get_object_element(json_object_get_array_member(o, "devices"), 0));
    assert_no_secret(show);
    CU_ASSERT_PTR_NOT_NULL(strstr(show, "Agent:        /usr/sbin/fence_ipmilan"));
}

/* ---- fencing states ---- */

static const char *fence_state(const drv_state_t *st, const drv_ha_node_t *nodes, size_t i,
                               char **text, char **why)
{
    g_free(*text);
    g_free(*why);
    return drv_status_fence_state(st, nodes, 3, i, text, why);
}

static void apply(drv_state_t *st, drv_cmd_t cmd)
{
    CU_ASSERT_EQUAL_FATAL(drv_state_apply_fence(st, &cmd), 0);
    st->seq++; /* as the core counts an applied command */
}

static void test_fence_states(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_ha_node_t nodes[3] = {
        {.name = "n1", .member = true, .cpu = 4, .memory_mib = 4096},
        {.name = "n2", .member = false, .cpu = 4, .memory_mib = 4096},
        {.name = "n3", .member = false},
    };
    drv_resource_t *r = drv_resource_new("vm1");
    drv_fence_dev_t *d = drv_fence_dev_new("sb-n2", "/bin/true");
    char *text = NULL, *why = NULL;
    char t[DRV_WALL_MS_LEN];
    g_autofree char *want = NULL;
    const drv_node_fence_t *f;

    CU_ASSERT_STRING_EQUAL(drv_status_fence_state(NULL, nodes, 3, 1, &text, &why), "offline");
    CU_ASSERT_STRING_EQUAL(text, "OFFLINE (clean)");
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 0, &text, &why), "online");
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "offline");
    CU_ASSERT_PTR_NULL(why);

    /* n2 may run vm1: unclean, and why it cannot be fenced yet */
    r->assigned = g_strdup("n2");
    r->role = DRV_ROLE_STARTED;
    g_hash_table_insert(st->resources, g_strdup(r->name), r);
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "unclean");
    CU_ASSERT_STRING_EQUAL(text, "UNCLEAN (no fence device): it may run vm1");
    CU_ASSERT_STRING_EQUAL(why, "it may run vm1");
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 2, &text, &why), "offline");
    g_ptr_array_add(d->nodes, g_strdup("n2"));
    g_hash_table_insert(st->fence_devices, g_strdup(d->name), d);
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "unclean");
    CU_ASSERT_STRING_EQUAL(text, "UNCLEAN (waiting for fencing): it may run vm1");
    g_hash_table_insert(st->settings, g_strdup("property/fencing-enabled"), g_strdup("false"));
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "unclean");
    CU_ASSERT_STRING_EQUAL(text, "UNCLEAN (fencing disabled): it may run vm1");
    g_hash_table_remove(st->settings, "property/fencing-enabled");

    /* an operator's fencing, one failed round */
    apply(st, (drv_cmd_t){.type = DRV_CMD_FENCE_BEGIN,
                          .name = "n2",
                          .value = "n1",
                          .value2 = "reboot",
                          .flag = true,
                          .ts = 1000});
    f = drv_state_node_fence(st, "n2");
    apply(st, (drv_cmd_t){.type = DRV_CMD_FENCE_RESULT,
                          .name = "n2",
                          .gen = f->op,
                          .value = "sb-n2",
                          .obs = 1,
                          .value2 = "exit status 1"});
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "fencing");
    CU_ASSERT_STRING_EQUAL(text, "UNCLEAN (fencing): reboot by n1 (asked by the operator), 1 "
                                 "failed round");
    /* even while its daemon is in the round: it is being fenced */
    nodes[1].member = true;
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "fencing");
    nodes[1].member = false;

    /* fenced */
    apply(st, (drv_cmd_t){.type = DRV_CMD_FENCE_RESULT,
                          .name = "n2",
                          .gen = f->op,
                          .flag = true,
                          .value = "sb-n2",
                          .obs = 1,
                          .ts = G_GUINT64_CONSTANT(1764873554602)});
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "down");
    drv_wall_ms_format(G_GUINT64_CONSTANT(1764873554602), t, sizeof(t));
    want = g_strdup_printf("fenced at %s by n1 via sb-n2 (level 1)", t);
    CU_ASSERT_STRING_EQUAL(text, want);
    CU_ASSERT_TRUE(g_str_has_suffix(t, ".602"));
    CU_ASSERT_PTR_NULL(why);
    /* back in the round (NODE_UP not applied yet): online */
    nodes[1].member = true;
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "online");
    nodes[1].member = false;
    apply(st, (drv_cmd_t){.type = DRV_CMD_NODE_UP, .name = "n2", .gen = f->ver});
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "unclean");

    /* confirmed down by the operator; the watchdog rule */
    apply(st, (drv_cmd_t){.type = DRV_CMD_NODE_DOWN,
                          .name = "n2",
                          .value = "confirmed down by the operator on n1",
                          .flag = true,
                          .gen = f->ver,
                          .ts = 5000});
    drv_wall_ms_format(5000, t, sizeof(t));
    g_free(want);
    want = g_strdup_printf("confirmed down at %s by the operator on n1", t);
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 1, &text, &why), "down");
    CU_ASSERT_STRING_EQUAL(text, want);
    apply(st, (drv_cmd_t){.type = DRV_CMD_NODE_DOWN,
                          .name = "n3",
                          .value = "watchdog: out of the cluster for 20000 ms",
                          .ts = 0});
    CU_ASSERT_STRING_EQUAL(fence_state(st, nodes, 2, &text, &why), "down");
    CU_ASSERT_STRING_EQUAL(text, "down at -: watchdog: out of the cluster for 20000 ms");
    g_free(text);
    g_free(why);
}

int main(void)
{
    CU_pSuite suite;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("fence-cli", NULL, NULL);
    CU_add_test(suite, "droverd's device JSON and the CLI text of it", test_droverd_json);
    CU_add_test(suite, "levels that use a device", test_topology_levels);
    CU_add_test(suite, "the CLI redacts by key whatever it is given", test_cli_text);
    CU_add_test(suite, "fencing states of status", test_fence_states);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
