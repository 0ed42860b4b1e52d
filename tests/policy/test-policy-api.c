/* Unit tests of the policy library's C API: building the model directly (as the daemon will),
 * model validation, the layout loader's optional fields and defaults, the JSON contract, apply,
 * N+1 and the NULL-safety of the free functions. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <CUnit/Basic.h>
#include "drv_policy.h"

static drv_policy_input_t *small_model(void)
{
    drv_policy_input_t *in = g_new0(drv_policy_input_t, 1);
    in->n_nodes = 2;
    in->nodes = g_new0(drv_policy_node_t, 2);
    in->nodes[0] = (drv_policy_node_t){g_strdup("a"), 8, 16384, DRV_NODE_STANDBY, DRV_HEALTH_GREEN};
    in->nodes[1] = (drv_policy_node_t){g_strdup("b"), 8, 16384, DRV_NODE_ONLINE, DRV_HEALTH_GREEN};
    in->n_vms = 3;
    in->vms = g_new0(drv_policy_vm_t, 3);
    for (int v = 0; v < 3; v++) {
        drv_policy_vm_t *vm = &in->vms[v];
        vm->name = g_strdup_printf("vm%d", v + 1);
        vm->cpu = 2;
        vm->memory_mib = 4096;
        vm->node = 0;
        vm->want_started = true;
        vm->allow_migrate = v != 1;
        vm->priority = DRV_PRIO_MEDIUM;
        vm->pin_node = -1;
    }
    in->vms[2].node = -1;
    in->knobs.strategy = DRV_STRATEGY_BALANCED;
    in->knobs.stickiness = 1;
    in->knobs.fencing = true;
    return in;
}

static void test_model_plan(void)
{
    drv_policy_input_t *in = small_model();
    drv_policy_plan_t *p = NULL;
    CU_ASSERT_EQUAL_FATAL(drv_policy_plan(in, &p), 0);
    CU_ASSERT_EQUAL(p->n_actions, 3);
    CU_ASSERT_EQUAL(p->actions[0].op, DRV_ACT_MOVE); /* vm2 may not migrate: cold move */
    CU_ASSERT_EQUAL(p->actions[0].vm, 1);
    CU_ASSERT_EQUAL(p->actions[1].op, DRV_ACT_MIGRATE);
    CU_ASSERT_EQUAL(p->actions[1].from, 0);
    CU_ASSERT_EQUAL(p->actions[1].to, 1);
    CU_ASSERT_EQUAL(p->actions[2].op, DRV_ACT_START);
    for (int v = 0; v < 3; v++)
        CU_ASSERT_EQUAL(p->placement[v], 1);
    CU_ASSERT_EQUAL(p->n_unplaced, 0);
    CU_ASSERT_EQUAL(p->n_moves, 2);
    CU_ASSERT_EQUAL(p->waves, 1);
    drv_policy_apply(in, p);
    drv_policy_plan_free(p);
    p = NULL;
    CU_ASSERT_EQUAL_FATAL(drv_policy_plan(in, &p), 0);
    CU_ASSERT_EQUAL(p->n_actions, 0);
    drv_policy_plan_free(p);
    drv_policy_input_free(in);
}

static void test_model_validation(void)
{
    drv_policy_input_t *in = small_model();
    drv_policy_plan_t *p = NULL;
    char *err = NULL;
    in->vms[0].node = 7;
    CU_ASSERT_EQUAL(drv_policy_input_validate(in, &err), DRV_POLICY_ERR_MODEL);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "vms[0]"));
    g_free(err);
    CU_ASSERT_EQUAL(drv_policy_plan(in, &p), DRV_POLICY_ERR_MODEL);
    CU_ASSERT_PTR_NULL(p);
    in->vms[0].node = 0;
    in->nodes[1].memory_mib = 0;
    CU_ASSERT_EQUAL(drv_policy_plan(in, &p), DRV_POLICY_ERR_MODEL);
    in->nodes[1].memory_mib = 1024;
    CU_ASSERT_EQUAL(drv_policy_plan(NULL, &p), -EINVAL);
    CU_ASSERT_EQUAL(drv_policy_explain(in, 3, NULL), -EINVAL);
    CU_ASSERT_STRING_EQUAL(drv_policy_strerror(DRV_POLICY_ERR_LAYOUT), "invalid layout");
    drv_policy_input_free(in);
}

static const char layout_opts[] =
    "{\"format\": \"vmcluster-layout/1\", \"policy\": {\"placement_strategy\": \"minimal\", "
    "\"resource_stickiness\": 5, \"fencing\": false, \"balance_threshold\": 0.7},"
    " \"nodes\": [{\"name\": \"n1\", \"cpu\": 8, \"memory_mib\": 8192, \"state\": \"fenced\","
    " \"health\": \"yellow\"}, {\"name\": \"n2\", \"cpu\": 8, \"memory_mib\": 8192, \"state\": "
    "\"online\"}],"
    " \"vms\": [{\"name\": \"v1\", \"cpu\": 1, \"memory_mib\": 512, \"node\": \"n2\","
    " \"allow_migrate\": true, \"pinned\": true, \"priority\": \"high\", \"state\": \"stopped\","
    " \"anti_affinity\": [\"g\", \"g\"], \"affinity\": [\"h\"]},"
    " {\"name\": \"v2\", \"cpu\": 1, \"memory_mib\": 512, \"node\": null, \"allow_migrate\": "
    "false, \"pinned\": \"n1\", \"prefer\": [{\"node\": \"n2\", \"weight\": 7}],"
    " \"anti_affinity_soft\": [\"h\"], \"unknown_field\": 1}]}";

static void test_layout_optional_fields(void)
{
    drv_policy_input_t *in = NULL;
    char *err = NULL;
    CU_ASSERT_EQUAL_FATAL(drv_policy_layout_parse(layout_opts, strlen(layout_opts), &in, &err), 0);
    CU_ASSERT_EQUAL(in->knobs.strategy, DRV_STRATEGY_MINIMAL);
    CU_ASSERT_EQUAL(in->knobs.stickiness, 5);
    CU_ASSERT_FALSE(in->knobs.fencing);
    CU_ASSERT_EQUAL(in->knobs.balance_level, DRV_BALANCE_THRESHOLD);
    CU_ASSERT_EQUAL(in->knobs.balance_threshold, 700);
    CU_ASSERT_EQUAL(in->knobs.balance_hysteresis, 50);
    CU_ASSERT_EQUAL(in->nodes[0].state, DRV_NODE_FENCED);
    CU_ASSERT_EQUAL(in->nodes[0].health, DRV_HEALTH_YELLOW);
    CU_ASSERT_EQUAL(in->nodes[1].health, DRV_HEALTH_GREEN);
    const drv_policy_vm_t *v1 = &in->vms[0], *v2 = &in->vms[1];
    CU_ASSERT_EQUAL(v1->pin_node, 1);
    CU_ASSERT_EQUAL(v1->priority, DRV_PRIO_HIGH);
    CU_ASSERT_FALSE(v1->want_started);
    CU_ASSERT_EQUAL(v1->n_anti_affinity, 1); /* listed twice, counts once */
    CU_ASSERT_EQUAL(v2->node, -1);
    CU_ASSERT_EQUAL(v2->pin_node, 0);
    CU_ASSERT_EQUAL(v2->priority, DRV_PRIO_MEDIUM);
    CU_ASSERT_TRUE(v2->want_started);
    CU_ASSERT_EQUAL(v2->n_prefer, 1);
    CU_ASSERT_EQUAL(v2->prefer[0].node, 1);
    CU_ASSERT_EQUAL(v2->prefer[0].weight, 7);
    CU_ASSERT_EQUAL(in->n_groups, 2);
    CU_ASSERT_EQUAL(v1->affinity[0], v2->anti_affinity_soft[0]); /* one namespace */
    drv_policy_input_free(in);

    in = NULL;
    const char *bad = "{\"format\": \"vmcluster-layout/1\", \"policy\": {\"placement_strategy\":"
                      " \"fast\", \"resource_stickiness\": 1, \"fencing\": true}, \"nodes\": [],"
                      " \"vms\": []}";
    CU_ASSERT_EQUAL(drv_policy_layout_parse(bad, strlen(bad), &in, &err), DRV_POLICY_ERR_LAYOUT);
    CU_ASSERT_PTR_NULL(in);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "policy.placement_strategy"));
    g_free(err);
}

static void test_json_contract(void)
{
    drv_policy_input_t *in = small_model();
    drv_policy_plan_t *p = NULL;
    drv_policy_explain_t *ex = NULL;
    in->nodes[1].cpu = 4; /* room for two VMs only: one is unplaced */
    CU_ASSERT_EQUAL_FATAL(drv_policy_plan(in, &p), 0);
    CU_ASSERT_EQUAL_FATAL(drv_policy_explain(in, 2, &ex), 0);
    char *js = drv_policy_render_json(in, p, ex, NULL);
    JsonParser *jp = json_parser_new();
    CU_ASSERT_TRUE_FATAL(json_parser_load_from_data(jp, js, -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(jp));
    JsonArray *acts = json_object_get_array_member(o, "actions");
    CU_ASSERT_EQUAL(json_array_get_length(acts), p->n_actions);
    for (guint i = 0; i < json_array_get_length(acts); i++) {
        JsonObject *a = json_array_get_object_element(acts, i);
        const char *op = json_object_get_string_member(a, "op");
        CU_ASSERT_TRUE(json_object_has_member(a, "vm"));
        bool two = !strcmp(op, "migrate") || !strcmp(op, "move");
        CU_ASSERT_TRUE(two ? json_object_has_member(a, "from") && json_object_has_member(a, "to")
                           : json_object_has_member(a, "node"));
    }
    JsonObject *pl = json_object_get_object_member(o, "placement");
    CU_ASSERT_EQUAL(json_object_get_size(pl), 3);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(pl, "vm1"), "b");
    CU_ASSERT_TRUE(json_object_get_null_member(pl, "vm3"));
    JsonArray *un = json_object_get_array_member(o, "unplaced");
    CU_ASSERT_EQUAL(json_array_get_length(un), 1);
    CU_ASSERT_STRING_EQUAL(
        json_object_get_string_member(json_array_get_object_element(un, 0), "vm"), "vm3");
    CU_ASSERT_EQUAL(json_object_get_int_member(o, "waves"), p->waves);
    JsonObject *e = json_object_get_object_member(o, "explain");
    CU_ASSERT_TRUE(json_object_get_null_member(e, "result"));
    CU_ASSERT_EQUAL(json_array_get_length(json_object_get_array_member(e, "scores")), 2);
    g_object_unref(jp);
    g_free(js);
    drv_policy_explain_free(ex);
    drv_policy_plan_free(p);
    drv_policy_input_free(in);
}

static void test_nplus1(void)
{
    drv_policy_input_t *in = small_model();
    drv_policy_nplus1_t *r = NULL;
    in->nodes[0].state = DRV_NODE_ONLINE;
    in->vms[2].node = 1;
    CU_ASSERT_EQUAL_FATAL(drv_policy_nplus1(in, &r), 0);
    CU_ASSERT_EQUAL_FATAL(r->n_nodes, 2);
    CU_ASSERT_EQUAL(r->nodes[0].node, 0);
    CU_ASSERT_EQUAL(r->nodes[0].n_vms, 2);
    CU_ASSERT_EQUAL(r->nodes[0].n_restart, 2);
    CU_ASSERT_EQUAL(r->nodes[0].restart_to[0], 1);
    CU_ASSERT_EQUAL(r->nodes[1].n_restart, 1);
    CU_ASSERT_EQUAL(r->nodes[1].n_unplaced, 0);
    drv_policy_nplus1_free(r);
    drv_policy_input_free(in);
}

static void test_free_null(void)
{
    drv_policy_plan_free(NULL);
    drv_policy_explain_free(NULL);
    drv_policy_nplus1_free(NULL);
    drv_policy_input_free(NULL);
    CU_PASS("free functions accept NULL");
}

int main(void)
{
    alarm(60); /* a hung planner fails the test instead of hanging make check */
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("policy-api", NULL, NULL);
    CU_add_test(s, "plan a model built in C, apply, re-plan", test_model_plan);
    CU_add_test(s, "model validation", test_model_validation);
    CU_add_test(s, "layout optional fields and defaults", test_layout_optional_fields);
    CU_add_test(s, "JSON contract", test_json_contract);
    CU_add_test(s, "N+1", test_nplus1);
    CU_add_test(s, "free(NULL)", test_free_null);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
