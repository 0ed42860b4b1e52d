/* The wire codec: round trips, and every truncation and single-byte corruption rejected. */
#include "config.h"

#include <string.h>

#include <CUnit/Basic.h>
#include <glib.h>

#include "drover/results.h"
#include "wire.h"

static drv_resource_t *sample_resource(const char *name)
{
    drv_resource_t *r = drv_resource_new(name);
    drv_pref_t *p = g_new0(drv_pref_t, 1);
    drv_res_node_t *n;

    r->uuid = g_strdup("6f1c2d9a-8e4b-4b8e-9a53-0c3c1f2b7d10");
    r->domain = g_strdup(name);
    r->xml = g_strdup_printf("<domain type='qemu'><name>%s</name></domain>", name);
    r->cpu = 2;
    r->memory_mib = 64;
    r->priority = 2;
    r->allow_migrate = false;
    p->node = g_strdup("n2");
    p->weight = 50;
    g_ptr_array_add(r->prefer, p);
    g_ptr_array_add(r->anti_affinity, g_strdup("web"));
    r->assigned = g_strdup("n2");
    r->moving_from = g_strdup("n1");
    r->waiting = g_strdup("move to n3 waits: it is in standby");
    r->ver = 42;
    r->mig_from = g_strdup("n1");
    r->mig_to = g_strdup("n2");
    r->mig_gen = 5;
    r->last_failure = g_strdup("n1: crashed");
    n = drv_resource_node(r, "n1", true);
    n->obs = DRV_OBS_FAILED;
    n->failures = 2;
    n->window_start = 1234567;
    n->last_error = g_strdup("crashed");
    drv_resource_node(r, "n2", true)->obs = DRV_OBS_RUNNING;
    return r;
}

static drv_fence_dev_t *sample_dev(const char *name)
{
    drv_fence_dev_t *d = drv_fence_dev_new(name, "/usr/sbin/fence_ipmilan");

    g_ptr_array_add(d->keys, g_strdup("ip"));
    g_ptr_array_add(d->vals, g_strdup("10.213.0.103"));
    g_ptr_array_add(d->keys, g_strdup("password"));
    g_ptr_array_add(d->vals, g_strdup(""));
    g_ptr_array_add(d->nodes, g_strdup("n3"));
    return d;
}

/* every fencing table, with each optional field set */
static void add_fencing(drv_state_t *st)
{
    GPtrArray *levels = g_ptr_array_new_with_free_func((GDestroyNotify)drv_fence_level_free);
    drv_fence_level_t *l = g_new0(drv_fence_level_t, 1);
    drv_node_fence_t *f = g_new0(drv_node_fence_t, 1);
    drv_fence_event_t *e = g_new0(drv_fence_event_t, 1);

    g_hash_table_insert(st->fence_devices, g_strdup("ipmi-n3"), sample_dev("ipmi-n3"));
    l->index = 2;
    l->devices = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(l->devices, g_strdup("ipmi-n3"));
    g_ptr_array_add(levels, l);
    g_hash_table_insert(st->fence_levels, g_strdup("n3"), levels);
    f->ver = 9;
    f->down = true;
    f->down_watchdog = true;
    f->down_how = g_strdup("watchdog");
    f->down_at = 1700000000123ull;
    f->op = 77;
    f->op_executor = g_strdup("n1");
    f->op_action = g_strdup("reboot");
    f->op_operator = true;
    f->op_at = 1700000000001ull;
    f->op_failures = 3;
    g_hash_table_insert(st->node_fence, g_strdup("n3"), f);
    e->seq = 77;
    e->at = 1700000000002ull;
    e->target = g_strdup("n3");
    e->action = g_strdup("off");
    e->executor = g_strdup("n1");
    e->device = g_strdup("ipmi-n3");
    e->level = 2;
    e->result = g_strdup("failed");
    e->text = g_strdup("exit status 1: Unable to connect");
    g_ptr_array_add(st->fence_history, e);
}

static drv_state_t *sample_state(void)
{
    drv_state_t *st = drv_state_new();
    drv_node_admin_t a = {true, false}, b = {false, true};

    g_hash_table_insert(st->resources, g_strdup("vm1"), sample_resource("vm1"));
    st->epoch = 7;
    st->seq = 12345678901ull;
    g_hash_table_insert(st->node_admin, g_strdup("n1"), g_memdup2(&a, sizeof(a)));
    g_hash_table_insert(st->node_admin, g_strdup("nœud-2"), g_memdup2(&b, sizeof(b)));
    g_hash_table_insert(st->settings, g_strdup("stickiness"), g_strdup("100"));
    g_hash_table_insert(st->settings, g_strdup("empty"), g_strdup(""));
    add_fencing(st);
    return st;
}

typedef uint8_t *(*encode_fn)(size_t *len);

static void reseal(uint8_t *b, size_t len);

static uint8_t *enc_summary(size_t *len)
{
    return drv_wire_summary(42, 3, 99, len);
}

static uint8_t *enc_close(size_t *len)
{
    return drv_wire_close(42, len);
}

static uint8_t *enc_state(size_t *len)
{
    g_autoptr(drv_state_t) st = sample_state();

    return drv_wire_state(42, st, len);
}

static uint8_t *enc_quorum(size_t *len)
{
    return drv_wire_quorum(42, true, len);
}

static uint8_t *enc_cmd(size_t *len)
{
    drv_cmd_t cmd = {DRV_CMD_SETTING_SET, "key", "value", false};

    return drv_wire_cmd(42, 5, &cmd, len);
}

static uint8_t *enc_cmd_node(size_t *len)
{
    drv_cmd_t cmd = {DRV_CMD_NODE_STANDBY, "n2", NULL, true};

    return drv_wire_cmd(42, 6, &cmd, len);
}

static uint8_t *enc_cmd_res_add(size_t *len)
{
    drv_resource_t *r = sample_resource("vm2");
    drv_cmd_t cmd = {DRV_CMD_RES_ADD, "vm2", .res = r};
    uint8_t *b = drv_wire_cmd(42, 7, &cmd, len);

    drv_resource_free(r);
    return b;
}

static uint8_t *enc_cmd_report(size_t *len)
{
    drv_cmd_t cmd = {DRV_CMD_RES_REPORT, "vm2", "n3", false, "guest crashed",
                     DRV_OBS_FAILED,     99,    7,    NULL};

    return drv_wire_cmd(42, 8, &cmd, len);
}

static uint8_t *enc_cmd_fence_dev(size_t *len)
{
    drv_fence_dev_t *d = sample_dev("ipmi-n2");
    drv_cmd_t cmd = {DRV_CMD_FENCE_DEV_ADD, "ipmi-n2", .dev = d};
    uint8_t *b = drv_wire_cmd(42, 9, &cmd, len);

    drv_fence_dev_free(d);
    return b;
}

static uint8_t *enc_cmd_fence_result(size_t *len)
{
    drv_cmd_t cmd = {
        DRV_CMD_FENCE_RESULT, "n3", "ipmi-n3", true, "Success: Powered OFF", 2, 99, 77, NULL};

    return drv_wire_cmd(42, 10, &cmd, len);
}

static uint8_t *enc_applied(size_t *len)
{
    return drv_wire_applied(42, 1234, len);
}

static const encode_fn encoders[] = {enc_summary,          enc_close,      enc_state,
                                     enc_quorum,           enc_cmd,        enc_cmd_node,
                                     enc_cmd_res_add,      enc_cmd_report, enc_cmd_fence_dev,
                                     enc_cmd_fence_result, enc_applied};

static void test_round_trip(void)
{
    size_t len;
    drv_msg_t m;
    g_autofree uint8_t *b1 = enc_summary(&len);

    CU_ASSERT_EQUAL(drv_wire_decode(b1, len, &m, NULL), DRV_OK);
    CU_ASSERT_EQUAL(m.type, DRV_MSG_SUMMARY);
    CU_ASSERT_EQUAL(m.round, 42);
    CU_ASSERT_EQUAL(m.epoch, 3);
    CU_ASSERT_EQUAL(m.seq, 99);
    drv_msg_clear(&m);
    {
        g_autofree uint8_t *b = enc_state(&len);
        g_autoptr(drv_state_t) want = sample_state();

        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, NULL), DRV_OK);
        CU_ASSERT_EQUAL(m.type, DRV_MSG_STATE);
        CU_ASSERT_TRUE(drv_state_equal(m.state, want));
        drv_msg_clear(&m);
    }
    {
        g_autofree uint8_t *b = enc_cmd(&len);

        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, NULL), DRV_OK);
        CU_ASSERT_EQUAL(m.type, DRV_MSG_CMD);
        CU_ASSERT_EQUAL(m.req_id, 5);
        CU_ASSERT_EQUAL(m.cmd_type, DRV_CMD_SETTING_SET);
        CU_ASSERT_STRING_EQUAL(m.cmd_name, "key");
        CU_ASSERT_STRING_EQUAL(m.cmd_value, "value");
        drv_msg_clear(&m);
    }
    {
        g_autofree uint8_t *b = enc_cmd_node(&len);

        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, NULL), DRV_OK);
        CU_ASSERT_EQUAL(m.cmd_type, DRV_CMD_NODE_STANDBY);
        CU_ASSERT_TRUE(m.cmd_flag);
        CU_ASSERT_STRING_EQUAL(m.cmd_name, "n2");
        drv_msg_clear(&m);
    }
    {
        g_autofree uint8_t *b = enc_quorum(&len);

        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, NULL), DRV_OK);
        CU_ASSERT_TRUE(m.quorate);
        drv_msg_clear(&m);
    }
    {
        g_autofree uint8_t *b = enc_cmd_res_add(&len);
        drv_resource_t *want = sample_resource("vm2");

        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, NULL), DRV_OK);
        CU_ASSERT_EQUAL(m.cmd_type, DRV_CMD_RES_ADD);
        CU_ASSERT_TRUE(m.cmd_res && drv_resource_equal(m.cmd_res, want));
        drv_resource_free(want);
        drv_msg_clear(&m);
    }
    {
        g_autofree uint8_t *b = enc_cmd_report(&len);

        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, NULL), DRV_OK);
        CU_ASSERT_EQUAL(m.cmd_obs, DRV_OBS_FAILED);
        CU_ASSERT_EQUAL(m.cmd_ts, 99);
        CU_ASSERT_EQUAL(m.cmd_gen, 7);
        CU_ASSERT_STRING_EQUAL(m.cmd_value, "n3");
        CU_ASSERT_STRING_EQUAL(m.cmd_value2, "guest crashed");
        drv_msg_clear(&m);
    }
    {
        g_autofree uint8_t *b = enc_cmd_fence_dev(&len);
        drv_fence_dev_t *want = sample_dev("ipmi-n2");

        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, NULL), DRV_OK);
        CU_ASSERT_EQUAL(m.cmd_type, DRV_CMD_FENCE_DEV_ADD);
        CU_ASSERT_TRUE(m.cmd_dev && drv_fence_dev_equal(m.cmd_dev, want));
        CU_ASSERT_PTR_NULL(m.cmd_res);
        drv_fence_dev_free(want);
        drv_msg_clear(&m);
    }
    {
        g_autofree uint8_t *b = enc_cmd_fence_result(&len);

        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, NULL), DRV_OK);
        CU_ASSERT_EQUAL(m.cmd_type, DRV_CMD_FENCE_RESULT);
        CU_ASSERT_TRUE(m.cmd_flag);
        CU_ASSERT_EQUAL(m.cmd_obs, 2);
        CU_ASSERT_EQUAL(m.cmd_gen, 77);
        CU_ASSERT_STRING_EQUAL(m.cmd_value, "ipmi-n3");
        CU_ASSERT_STRING_EQUAL(m.cmd_value2, "Success: Powered OFF");
        drv_msg_clear(&m);
    }
}

/* Fence devices and fencing commands the decoder must refuse, and a state file written before
 * fencing existed (version 2) that must still load. */
static void test_fencing_checks(void)
{
    size_t len;
    drv_msg_t m;
    const char *why = NULL;
    drv_fence_dev_t *d = sample_dev("ipmi-n2");

    {
        /* a parameter value with a line break would inject a line into the agent's stdin */
        drv_cmd_t cmd = {DRV_CMD_FENCE_DEV_ADD, "ipmi-n2", .dev = d};
        g_autofree uint8_t *b = drv_wire_cmd(1, 1, &cmd, &len);
        uint8_t *v = memmem(b, len, "10.213.0.103", 12);

        v[2] = '\n';
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
    }
    {
        /* a relative agent path */
        drv_cmd_t cmd = {DRV_CMD_FENCE_DEV_ADD, "ipmi-n2", .dev = d};
        g_autofree uint8_t *b = drv_wire_cmd(1, 1, &cmd, &len);
        uint8_t *v = memmem(b, len, "/usr/sbin/fence_ipmilan", 23);

        v[0] = 'u';
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
    }
    /* the encoder's own checks (drv_cmd_valid) */
    CU_ASSERT_FALSE(
        drv_cmd_valid(&(drv_cmd_t){DRV_CMD_FENCE_BEGIN, "n3", "n3", .value2 = "off"}, &why));
    CU_ASSERT_FALSE(
        drv_cmd_valid(&(drv_cmd_t){DRV_CMD_FENCE_BEGIN, "n3", "n1", .value2 = "cycle"}, &why));
    CU_ASSERT_TRUE(
        drv_cmd_valid(&(drv_cmd_t){DRV_CMD_FENCE_BEGIN, "n3", "n1", .value2 = "off"}, &why));
    CU_ASSERT_FALSE(drv_cmd_valid(&(drv_cmd_t){DRV_CMD_FENCE_LEVEL, "n3", "d1", .gen = 0}, &why));
    CU_ASSERT_FALSE(drv_cmd_valid(&(drv_cmd_t){DRV_CMD_FENCE_LEVEL, "n3", "d1", .gen = 10}, &why));
    CU_ASSERT_FALSE(drv_cmd_valid(&(drv_cmd_t){DRV_CMD_FENCE_RESULT, "n3", .gen = 0}, &why));
    CU_ASSERT_FALSE(drv_cmd_valid(&(drv_cmd_t){DRV_CMD_NODE_DOWN, "n3", NULL, true}, &why));
    CU_ASSERT_FALSE(drv_cmd_valid(&(drv_cmd_t){DRV_CMD_NODE_UP, "n3", "x"}, &why));
    CU_ASSERT_FALSE(drv_cmd_valid(&(drv_cmd_t){DRV_CMD_SETTING_SET, "k", "v", .dev = d}, &why));
    drv_fence_dev_free(d);
    {
        /* version 2: the same layout without the fencing tables */
        g_autoptr(drv_state_t) st = drv_state_new();
        g_autofree uint8_t *b = NULL;
        drv_msg_t m2;

        st->epoch = 3;
        st->seq = 9;
        g_hash_table_insert(st->settings, g_strdup("k"), g_strdup("v"));
        b = drv_wire_state(0, st, &len);
        /* drop the four empty fencing tables (4 x u32 0) and say version 2 */
        len -= 16;
        b[4] = 2;
        b[8] = (uint8_t)len;
        b[9] = (uint8_t)(len >> 8);
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m2, &why), DRV_OK);
        CU_ASSERT_TRUE(m2.state && drv_state_equal(m2.state, st));
        drv_msg_clear(&m2);
        /* but not as a message between daemons */
        b[6] = DRV_MSG_SUMMARY;
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m2, &why), DRV_ERR_BAD_MESSAGE);
    }
}

/* Definitions the decoder must refuse even when the framing is perfect. */
static void test_bad_resource_defs(void)
{
    drv_resource_t *r;
    size_t len;
    drv_msg_t m;
    const char *why = NULL;

    /* the encoder only takes valid definitions: spoil the encoded bytes, then reseal */
    r = sample_resource("vm3");
    {
        drv_cmd_t cmd = {DRV_CMD_RES_ADD, "vm3", .res = r};
        g_autofree uint8_t *b = drv_wire_cmd(1, 1, &cmd, &len);
        uint8_t *u = memmem(b, len, "6f1c2d9a", 8);

        u[0] = 'z'; /* not a UUID any more */
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
    }
    {
        drv_cmd_t cmd = {DRV_CMD_RES_ADD, "vm3", .res = r};
        g_autofree uint8_t *b = drv_wire_cmd(1, 1, &cmd, &len);
        uint8_t *x = memmem(b, len, "<domain", 7);

        x[-4] = 0xFF; /* XML length far past the end */
        x[-3] = 0xFF;
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
    }
    {
        drv_cmd_t cmd = {DRV_CMD_RES_ADD, "vm4", .res = r};

        /* name and definition disagree: refused before encoding */
        CU_ASSERT_FALSE(drv_cmd_valid(&cmd, &why));
    }
    r->cpu = 0;
    {
        drv_cmd_t cmd = {DRV_CMD_RES_ADD, "vm3", .res = r};

        CU_ASSERT_FALSE(drv_cmd_valid(&cmd, &why));
    }
    drv_resource_free(r);
}

/* Equal states encode to equal bytes whatever the hash order. */
static void test_deterministic(void)
{
    g_autoptr(drv_state_t) a = sample_state();
    g_autoptr(drv_state_t) b = drv_state_copy(a);
    size_t la, lb;
    g_autofree uint8_t *ea = NULL;
    g_autofree uint8_t *eb = NULL;

    for (int i = 0; i < 50; i++) {
        char k[16];

        g_snprintf(k, sizeof(k), "key%d", i);
        g_hash_table_insert(a->settings, g_strdup(k), g_strdup("v"));
        g_snprintf(k, sizeof(k), "key%d", 49 - i);
        g_hash_table_insert(b->settings, g_strdup(k), g_strdup("v"));
    }
    ea = drv_wire_state(1, a, &la);
    eb = drv_wire_state(1, b, &lb);
    CU_ASSERT_EQUAL(la, lb);
    CU_ASSERT_EQUAL(memcmp(ea, eb, la), 0);
}

static void test_every_truncation_rejected(void)
{
    for (size_t e = 0; e < G_N_ELEMENTS(encoders); e++) {
        size_t len;
        g_autofree uint8_t *b = encoders[e](&len);

        for (size_t cut = 0; cut < len; cut++) {
            drv_msg_t m;

            CU_ASSERT_EQUAL(drv_wire_decode(b, cut, &m, NULL), DRV_ERR_BAD_MESSAGE);
            CU_ASSERT_PTR_NULL(m.state);
            CU_ASSERT_PTR_NULL(m.cmd_name);
        }
    }
}

static void test_every_corruption_rejected(void)
{
    for (size_t e = 0; e < G_N_ELEMENTS(encoders); e++) {
        size_t len;
        g_autofree uint8_t *b = encoders[e](&len);

        for (size_t pos = 0; pos < len; pos++) {
            for (int bit = 0; bit < 8; bit++) {
                drv_msg_t m;
                const char *why = NULL;
                int rc;

                b[pos] ^= (uint8_t)(1u << bit);
                rc = drv_wire_decode(b, len, &m, &why);
                b[pos] ^= (uint8_t)(1u << bit);
                CU_ASSERT_EQUAL(rc, DRV_ERR_BAD_MESSAGE);
                CU_ASSERT_PTR_NOT_NULL(why);
                if (rc == DRV_OK) {
                    drv_msg_clear(&m);
                }
            }
        }
    }
}

/* Patch a field and fix up the checksum so that the body checks are what rejects it. */
static void reseal(uint8_t *b, size_t len)
{
    uint32_t crc;

    memset(b + 12, 0, 4);
    crc = drv_crc32(b, len);
    for (int i = 0; i < 4; i++) {
        b[12 + i] = (crc >> (8 * i)) & 0xFF;
    }
}

static void test_semantic_checks(void)
{
    size_t len;
    drv_msg_t m;
    const char *why;

    /* wrong version */
    {
        g_autofree uint8_t *b = enc_summary(&len);

        b[4] = DRV_WIRE_VERSION + 1;
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
        CU_ASSERT_STRING_EQUAL(why, "unsupported version");
    }
    /* unknown type */
    {
        g_autofree uint8_t *b = enc_close(&len);

        b[6] = 99;
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
        CU_ASSERT_STRING_EQUAL(why, "unknown message type");
    }
    /* trailing bytes, length field honest */
    {
        g_autofree uint8_t *b0 = enc_quorum(&len);
        g_autofree uint8_t *b = g_malloc0(len + 4);

        memcpy(b, b0, len);
        b[8] = (uint8_t)(len + 4);
        reseal(b, len + 4);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len + 4, &m, &why), DRV_ERR_BAD_MESSAGE);
        CU_ASSERT_STRING_EQUAL(why, "trailing bytes after the body");
    }
    /* quorum flag out of range */
    {
        g_autofree uint8_t *b = enc_quorum(&len);

        b[len - 1] = 7;
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
    }
    /* a NUL inside a string */
    {
        g_autofree uint8_t *b = enc_cmd(&len);

        ((uint8_t *)memmem(b, len, "value", 5))[2] = 0;
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
    }
    /* invalid UTF-8 inside a string */
    {
        g_autofree uint8_t *b = enc_cmd(&len);

        ((uint8_t *)memmem(b, len, "value", 5))[2] = 0xFF;
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
    }
    /* oversized */
    {
        g_autofree uint8_t *b = g_malloc0(DRV_WIRE_MAX_MSG + 1);

        CU_ASSERT_EQUAL(drv_wire_decode(b, DRV_WIRE_MAX_MSG + 1, &m, &why), DRV_ERR_BAD_MESSAGE);
        CU_ASSERT_STRING_EQUAL(why, "oversized");
    }
    /* a node command carrying a value */
    {
        drv_cmd_t cmd = {DRV_CMD_SETTING_SET, "n2", "x", true};
        g_autofree uint8_t *b = drv_wire_cmd(1, 1, &cmd, &len);

        b[40] = DRV_CMD_NODE_STANDBY; /* u16 type right after header + req id */
        reseal(b, len);
        CU_ASSERT_EQUAL(drv_wire_decode(b, len, &m, &why), DRV_ERR_BAD_MESSAGE);
    }
}

static void test_random_garbage(void)
{
    GRand *r = g_rand_new_with_seed(7);

    for (int i = 0; i < 20000; i++) {
        uint8_t buf[256];
        size_t len = (size_t)g_rand_int_range(r, 0, sizeof(buf));
        drv_msg_t m;

        for (size_t k = 0; k < len; k++) {
            buf[k] = (uint8_t)g_rand_int(r);
        }
        if (len >= 4 && g_rand_boolean(r)) {
            buf[0] = 0x44; /* right magic, so the later checks are exercised */
            buf[1] = 0x52;
            buf[2] = 0x56;
            buf[3] = 0x31;
        }
        CU_ASSERT_EQUAL(drv_wire_decode(buf, len, &m, NULL), DRV_ERR_BAD_MESSAGE);
    }
    g_rand_free(r);
}

int main(void)
{
    CU_pSuite suite;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("wire codec", NULL, NULL);
    CU_add_test(suite, "round trip of every message type", test_round_trip);
    CU_add_test(suite, "equal states encode identically", test_deterministic);
    CU_add_test(suite, "every truncation rejected", test_every_truncation_rejected);
    CU_add_test(suite, "every single-bit corruption rejected", test_every_corruption_rejected);
    CU_add_test(suite, "version, type, trailing bytes, strings", test_semantic_checks);
    CU_add_test(suite, "random garbage rejected", test_random_garbage);
    CU_add_test(suite, "invalid resource definitions rejected", test_bad_resource_defs);
    CU_add_test(suite, "fencing: bad devices and commands, version-2 state files",
                test_fencing_checks);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
