/* The cluster property registry (cluster/props.c): every key's valid and invalid values,
 * defaults, typed getters over a state, and the apply's check of "property/" settings; and
 * the resource definition rules shared by the CLI, droverd and the apply (cluster/state.c). */
#include "config.h"

#include <string.h>
#include <CUnit/Basic.h>

#include "drover/results.h"
#include "drv_place.h"
#include "drv_props.h"
#include "drv_state.h"

typedef struct prop_case {
    const char *key;
    const char *def;
    const char *good[6]; /* value, canonical, value, canonical, ... */
    const char *bad[6];
} prop_case_t;

static const prop_case_t cases[] = {
    {"failure-threshold",
     "3",
     {"1", "1", "1000", "1000", "42", "42"},
     {"0", "1001", "x", "-1", "3s", ""}},
    {"failure-window",
     "600",
     {"1", "1", "10m", "600", "7d", "604800"},
     {"0", "604801", "8d", "1w", "-5", "s"}},
    {"fencing-enabled",
     "true",
     {"false", "false", "yes", "true", "OFF", "false"},
     {"2", "maybe", "", "tru", "y", "-"}},
    {"fence-timeout",
     "60",
     {"1", "1", "3600", "3600", "2m", "120"},
     {"0", "3601", "2h", "", "x", "-1"}},
    {"no-quorum-policy",
     "stop",
     {"stop", "stop", "freeze", "freeze", "stop", "stop"},
     {"Stop", "kill", "", "suicide", "stop ", "ignore"}},
    {"no-quorum-grace",
     "2000",
     {"0", "0", "600000", "600000", "500", "500"},
     {"-1", "600001", "2s", "", "x", "1.5"}},
    {"migration-limit-node-out",
     "2",
     {"1", "1", "64", "64", "8", "8"},
     {"0", "65", "1.5", "", "two", "0x2"}},
    {"migration-limit-node-in",
     "2",
     {"1", "1", "64", "64", "3", "3"},
     {"0", "65", "+3", "", " 3", "3 "}},
    {"migration-limit-cluster",
     "8",
     {"1", "1", "1024", "1024", "100", "100"},
     {"0", "1025", "", "many", "-8", "8k"}},
    {"migration-timeout",
     "600",
     {"1", "1", "1h", "3600", "90s", "90"},
     {"0", "", "2d", "forever", "-1", "1x"}},
    {"migration-max-downtime",
     "300",
     {"1", "1", "60000", "60000", "500", "500"},
     {"0", "60001", "", "1s", "fast", "-300"}},
    {"balance-level",
     "off",
     {"off", "off", "low", "low", "high", "high"},
     {"on", "Medium", "", "max", "0", "none"}},
};

static void test_registry(void)
{
    size_t n = 0;
    const drv_prop_t *all = drv_prop_all(&n);

    CU_ASSERT_EQUAL_FATAL(n, DRV_PROP_COUNT);
    CU_ASSERT_EQUAL_FATAL(n, G_N_ELEMENTS(cases));
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(all[i].id, (drv_prop_id_t)i);
        CU_ASSERT_PTR_EQUAL(drv_prop_get(all[i].id), &all[i]);
        CU_ASSERT_PTR_EQUAL(drv_prop_lookup(all[i].key), &all[i]);
        CU_ASSERT_PTR_NOT_NULL(all[i].desc);
        /* every default is itself a valid, canonical value */
        {
            char *canon = NULL;
            CU_ASSERT_EQUAL(drv_prop_parse(all[i].key, all[i].def, &canon, NULL), 0);
            CU_ASSERT_STRING_EQUAL(canon, all[i].def);
            g_free(canon);
        }
    }
    CU_ASSERT_PTR_NULL(drv_prop_lookup("start-probe-timeout"));
    CU_ASSERT_PTR_NULL(drv_prop_lookup(NULL));
    CU_ASSERT_PTR_NULL(drv_prop_get(DRV_PROP_COUNT));
}

static void test_values(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const prop_case_t *c = &cases[i];
        const drv_prop_t *p = drv_prop_lookup(c->key);

        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_STRING_EQUAL(p->def, c->def);
        for (size_t k = 0; k < 6; k += 2) {
            char *canon = NULL;
            char *err = NULL;

            CU_ASSERT_EQUAL(drv_prop_parse(c->key, c->good[k], &canon, &err), 0);
            CU_ASSERT_PTR_NULL(err);
            if (canon != NULL) {
                CU_ASSERT_STRING_EQUAL(canon, c->good[k + 1]);
            }
            g_free(canon);
        }
        for (size_t k = 0; k < 6; k++) {
            char *canon = NULL;
            char *err = NULL;
            g_autofree char *skey = drv_prop_setting_key(p);

            CU_ASSERT_EQUAL(drv_prop_parse(c->key, c->bad[k], &canon, &err), DRV_ERR_BAD_ARGS);
            CU_ASSERT_PTR_NULL(canon);
            CU_ASSERT_PTR_NOT_NULL(err);
            if (err != NULL) {
                CU_ASSERT_PTR_NOT_NULL(strstr(err, c->key));
            }
            g_free(err);
            /* the apply refuses it too */
            CU_ASSERT_EQUAL(drv_prop_check_setting(skey, c->bad[k]), DRV_ERR_BAD_ARGS);
        }
    }
}

static void test_unknown_and_settings(void)
{
    char *err = NULL;

    CU_ASSERT_EQUAL(drv_prop_parse("stonith-enabled", "true", NULL, &err), DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown property 'stonith-enabled'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "failure-threshold, failure-window, fencing-enabled, fence-timeout, "
                                       "no-quorum-policy, no-quorum-grace, migration-limit-node-out, "
                                       "migration-limit-node-in, migration-limit-cluster, "
                                       "migration-timeout, migration-max-downtime, "
                                       "balance-level"));
    g_free(err);
    /* the apply: other settings are not the registry's business; property/ ones are */
    CU_ASSERT_EQUAL(drv_prop_check_setting("capacity/n1", "4 4096"), 0);
    CU_ASSERT_EQUAL(drv_prop_check_setting("property/failure-threshold", "5"), 0);
    CU_ASSERT_EQUAL(drv_prop_check_setting("property/failure-window", "10m"), 0);
    CU_ASSERT_EQUAL(drv_prop_check_setting("property/bogus", "1"), DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_prop_check_setting("property/", "1"), DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(drv_prop_check_setting("property/failure-threshold", NULL), DRV_ERR_BAD_ARGS);
}

static void test_getters(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    bool def = false;

    /* no state, empty state: the defaults */
    CU_ASSERT_EQUAL(drv_prop_int(NULL, DRV_PROP_FAILURE_THRESHOLD), 3);
    CU_ASSERT_EQUAL(drv_prop_int(st, DRV_PROP_FAILURE_WINDOW), 600);
    CU_ASSERT_EQUAL(drv_prop_int(st, DRV_PROP_MIGRATION_LIMIT_CLUSTER), 8);
    CU_ASSERT_EQUAL(drv_prop_int(st, DRV_PROP_MIGRATION_MAX_DOWNTIME), 300);
    CU_ASSERT_TRUE(drv_prop_bool(st, DRV_PROP_FENCING_ENABLED));
    CU_ASSERT_STRING_EQUAL(drv_prop_str(st, DRV_PROP_NO_QUORUM_POLICY), "stop");
    CU_ASSERT_STRING_EQUAL(drv_prop_str(st, DRV_PROP_BALANCE_LEVEL), "off");
    CU_ASSERT_STRING_EQUAL(drv_prop_value(st, DRV_PROP_FAILURE_THRESHOLD, &def), "3");
    CU_ASSERT_TRUE(def);

    g_hash_table_insert(st->settings, g_strdup("property/failure-threshold"), g_strdup("7"));
    g_hash_table_insert(st->settings, g_strdup("property/failure-window"), g_strdup("1200"));
    g_hash_table_insert(st->settings, g_strdup("property/fencing-enabled"), g_strdup("false"));
    g_hash_table_insert(st->settings, g_strdup("property/balance-level"), g_strdup("high"));
    CU_ASSERT_EQUAL(drv_prop_int(st, DRV_PROP_FAILURE_THRESHOLD), 7);
    CU_ASSERT_EQUAL(drv_prop_int(st, DRV_PROP_FAILURE_WINDOW), 1200);
    CU_ASSERT_FALSE(drv_prop_bool(st, DRV_PROP_FENCING_ENABLED));
    CU_ASSERT_STRING_EQUAL(drv_prop_str(st, DRV_PROP_BALANCE_LEVEL), "high");
    CU_ASSERT_STRING_EQUAL(drv_prop_value(st, DRV_PROP_FAILURE_THRESHOLD, &def), "7");
    CU_ASSERT_FALSE(def);
    /* a stored value this version cannot read falls back to the default */
    g_hash_table_insert(st->settings, g_strdup("property/failure-threshold"), g_strdup("lots"));
    g_hash_table_insert(st->settings, g_strdup("property/no-quorum-policy"), g_strdup("panic"));
    CU_ASSERT_EQUAL(drv_prop_int(st, DRV_PROP_FAILURE_THRESHOLD), 3);
    CU_ASSERT_STRING_EQUAL(drv_prop_str(st, DRV_PROP_NO_QUORUM_POLICY), "stop");
}

/* ---- resource rules ---- */

static drv_resource_t *res(const char *name, const char *uuid, const char *domain)
{
    drv_resource_t *r = drv_resource_new(name);

    r->uuid = g_strdup(uuid);
    r->domain = g_strdup(domain);
    r->xml = g_strdup("<domain/>");
    r->cpu = 2;
    r->memory_mib = 512;
    return r;
}

static void test_resource_rules(void)
{
    drv_resource_t *r = res("vm1", "6f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11", "vm1");
    const char *why = NULL;
    drv_pref_t *p;

    CU_ASSERT_EQUAL(drv_resource_validate(r, &why), 0);
    r->cpu = 0;
    CU_ASSERT_EQUAL(drv_resource_validate(r, &why), DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "cpu"));
    r->cpu = DRV_RES_MAX_CPU + 1;
    CU_ASSERT_EQUAL(drv_resource_validate(r, NULL), DRV_ERR_BAD_ARGS);
    r->cpu = DRV_RES_MAX_CPU;
    r->memory_mib = DRV_RES_MAX_MEMORY_MIB + 1;
    CU_ASSERT_EQUAL(drv_resource_validate(r, NULL), DRV_ERR_BAD_ARGS);
    r->memory_mib = DRV_RES_MAX_MEMORY_MIB;
    CU_ASSERT_EQUAL(drv_resource_validate(r, NULL), 0);
    p = g_new0(drv_pref_t, 1);
    p->node = g_strdup("n1");
    p->weight = DRV_RES_MAX_WEIGHT + 1;
    g_ptr_array_add(r->prefer, p);
    CU_ASSERT_EQUAL(drv_resource_validate(r, &why), DRV_ERR_BAD_ARGS);
    p->weight = DRV_RES_MAX_WEIGHT;
    CU_ASSERT_EQUAL(drv_resource_validate(r, NULL), 0);
    g_ptr_array_add(r->anti_affinity, g_strdup("web"));
    g_ptr_array_add(r->anti_affinity, g_strdup("web"));
    CU_ASSERT_EQUAL(drv_resource_validate(r, &why), DRV_ERR_BAD_ARGS);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "twice"));
    g_ptr_array_set_size(r->anti_affinity, 1);
    g_free(r->uuid);
    r->uuid = g_strdup("not-a-uuid");
    CU_ASSERT_EQUAL(drv_resource_validate(r, NULL), DRV_ERR_BAD_ARGS);
    CU_ASSERT_TRUE(drv_resource_cpu_valid(1));
    CU_ASSERT_FALSE(drv_resource_memory_valid(0));
    CU_ASSERT_TRUE(drv_resource_weight_valid(1));
    CU_ASSERT_FALSE(drv_resource_label_valid(""));
    drv_resource_free(r);
}

static void test_resource_conflict(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *a = res("vm1", "6f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11", "dom1");
    drv_resource_t *b;
    char *which = NULL;

    g_hash_table_insert(st->resources, g_strdup("vm1"), a);
    b = res("vm1", "7f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11", "dom2");
    CU_ASSERT_EQUAL(drv_state_resource_conflict(st, b, &which), DRV_ERR_EXISTS);
    CU_ASSERT_STRING_EQUAL(which, "a resource named vm1 is already managed");
    g_free(which);
    drv_resource_free(b);
    b = res("vm2", "6F0E3A52-3C1E-4B8A-9D8E-2A5C1F0B7E11", "dom2");
    CU_ASSERT_EQUAL(drv_state_resource_conflict(st, b, &which), DRV_ERR_EXISTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(which, "is already managed as resource vm1"));
    g_free(which);
    drv_resource_free(b);
    b = res("vm2", "7f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11", "dom1");
    CU_ASSERT_EQUAL(drv_state_resource_conflict(st, b, NULL), DRV_ERR_EXISTS);
    drv_resource_free(b);
    b = res("vm2", "7f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11", "dom2");
    which = NULL;
    CU_ASSERT_EQUAL(drv_state_resource_conflict(st, b, &which), 0);
    CU_ASSERT_PTR_NULL(which);
    drv_resource_free(b);
}

static void test_place_check(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *vm = res("vm1", "6f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11", "vm1");
    drv_resource_t *other = res("vm2", "7f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11", "vm2");
    drv_place_node_t n2 = {"n2", true};
    drv_node_admin_t adm = {true, false};
    drv_res_node_t *rn;
    char *why = NULL;
    uint64_t now = 1000000000;

    g_hash_table_insert(st->resources, g_strdup("vm1"), vm);
    g_hash_table_insert(st->resources, g_strdup("vm2"), other);
    g_hash_table_insert(st->settings, g_strdup("capacity/n2"), g_strdup("4 2048"));
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, &why), 0);
    CU_ASSERT_PTR_NULL(why);

    /* standby, maintenance */
    g_hash_table_insert(st->node_admin, g_strdup("n2"), g_memdup2(&adm, sizeof(adm)));
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, &why), DRV_ERR_CANNOT_PLACE);
    CU_ASSERT_STRING_EQUAL(why, "n2 is in standby");
    g_free(why);
    adm.standby = false;
    adm.maintenance = true;
    g_hash_table_insert(st->node_admin, g_strdup("n2"), g_memdup2(&adm, sizeof(adm)));
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, NULL), DRV_ERR_CANNOT_PLACE);
    g_hash_table_remove(st->node_admin, "n2");

    /* not a member */
    n2.member = false;
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, &why), DRV_ERR_CANNOT_PLACE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "not running"));
    g_free(why);
    n2.member = true;

    /* banned by failures: the threshold reached, as the node counted them (it reports when
     * its own window passed; no clock is compared here) */
    rn = drv_resource_node(vm, "n2", true);
    rn->failures = 3;
    rn->window_start = now - 60 * 1000;
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, &why), DRV_ERR_CANNOT_PLACE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "vm1 is banned on n2: 3 failures"));
    g_free(why);
    /* the threshold is the property's */
    g_hash_table_insert(st->settings, g_strdup("property/failure-threshold"), g_strdup("4"));
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, NULL), 0);
    rn->failures = 0;

    /* room: capacity minus what is assigned there (not counting the VM itself) */
    other->cpu = 3;
    other->assigned = g_strdup("n2");
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, &why), DRV_ERR_CANNOT_PLACE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "n2 has no room for vm1: it needs 2 vCPUs and 512 MiB, "
                                       "n2 has 1 vCPUs and 1536 MiB free"));
    g_free(why);
    other->cpu = 2;
    vm->assigned = g_strdup("n2");
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, NULL), 0);
    other->memory_mib = 1600;
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, NULL), DRV_ERR_CANNOT_PLACE);
    /* no capacity published */
    g_hash_table_remove(st->settings, "capacity/n2");
    other->memory_mib = 1;
    CU_ASSERT_EQUAL(drv_place_check(st, vm, &n2, &why), DRV_ERR_CANNOT_PLACE);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "has not published its capacity"));
    g_free(why);
}

int main(void)
{
    CU_pSuite s;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("props", NULL, NULL);
    CU_add_test(s, "registry: keys, ids, defaults", test_registry);
    CU_add_test(s, "every key: valid and invalid values", test_values);
    CU_add_test(s, "unknown keys and the apply's check", test_unknown_and_settings);
    CU_add_test(s, "typed getters and defaults", test_getters);
    CU_add_test(s, "resource field rules", test_resource_rules);
    CU_add_test(s, "resource name/UUID/domain conflicts", test_resource_conflict);
    CU_add_test(s, "can a node take a VM (resource move)", test_place_check);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
