/* The IPC transport's checks before a request is parsed (agent/ipc_server.c): the nesting
 * scanner, and replies too large for the buffer turned into an error reply. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "drover/results.h"
#include "agent.h"
#include "ipc.h"

static drv_json_scan_t scan(const char *s, unsigned max_depth, unsigned *depth)
{
    return drv_json_scan(s, strlen(s), 1 << 20, max_depth, depth);
}

static void test_depth(void)
{
    unsigned d = 99;

    CU_ASSERT_EQUAL(scan("{\"op\": \"status\"}", 32, &d), DRV_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(d, 1);
    CU_ASSERT_EQUAL(scan("", 32, &d), DRV_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(d, 0);
    CU_ASSERT_EQUAL(scan("{\"a\": [1, {\"b\": [[]]}]}", 32, &d), DRV_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(d, 5);
    CU_ASSERT_EQUAL(scan("[[[]]]", 3, &d), DRV_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(scan("[[[[]]]]", 3, &d), DRV_JSON_SCAN_TOO_DEEP);
    CU_ASSERT_EQUAL(d, 4);
    /* siblings do not add up */
    CU_ASSERT_EQUAL(scan("[[], [], [[]], {}]", 3, &d), DRV_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(d, 3);
}

static void test_deep_request_refused_early(void)
{
    /* the 200 KB request that crashed droverd: refused without reading it all */
    size_t n = 100000;
    GString *s = g_string_new("{\"op\": \"status\", \"x\": ");
    unsigned d = 0;

    for (size_t i = 0; i < n; i++) {
        g_string_append_c(s, '[');
    }
    for (size_t i = 0; i < n; i++) {
        g_string_append_c(s, ']');
    }
    g_string_append_c(s, '}');
    CU_ASSERT_EQUAL(drv_json_scan(s->str, s->len, 1 << 20, DRV_IPC_MAX_DEPTH, &d),
                    DRV_JSON_SCAN_TOO_DEEP);
    CU_ASSERT_EQUAL(d, DRV_IPC_MAX_DEPTH + 1);
    g_string_free(s, TRUE);
}

static void test_strings(void)
{
    unsigned d = 0;

    /* brackets inside strings do not count */
    CU_ASSERT_EQUAL(scan("{\"a\": \"[[[[{{{{\"}", 2, &d), DRV_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(d, 1);
    CU_ASSERT_EQUAL(scan("[\"]]]]\"]", 1, &d), DRV_JSON_SCAN_OK);
    /* escaped quotes do not end a string */
    CU_ASSERT_EQUAL(scan("{\"a\": \"x\\\"[[[[\\\"y\"}", 1, &d), DRV_JSON_SCAN_OK);
    /* an escaped backslash does end the escape: the quote after it closes the string */
    CU_ASSERT_EQUAL(scan("[\"x\\\\\", [[]]]", 3, &d), DRV_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(d, 3);
    CU_ASSERT_EQUAL(scan("[\"x\\\\\", [[]]]", 2, &d), DRV_JSON_SCAN_TOO_DEEP);
    /* \u escapes are plain characters */
    CU_ASSERT_EQUAL(scan("[\"\\u005b\\u005d\"]", 1, &d), DRV_JSON_SCAN_OK);
}

static void test_truncation(void)
{
    const char *full = "{\"a\": [1, \"b\\\"]\", {\"c\": []}]}";
    size_t n = strlen(full);
    unsigned d = 0;

    CU_ASSERT_EQUAL(drv_json_scan(full, n, 1024, 32, &d), DRV_JSON_SCAN_OK);
    /* every proper prefix that opened something is reported truncated */
    for (size_t k = 1; k < n; k++) {
        CU_ASSERT_EQUAL(drv_json_scan(full, k, 1024, 32, &d), DRV_JSON_SCAN_TRUNCATED);
    }
    /* a lone backslash at the very end of a string */
    CU_ASSERT_EQUAL(scan("[\"abc\\", 32, &d), DRV_JSON_SCAN_TRUNCATED);
    CU_ASSERT_EQUAL(scan("]", 32, &d), DRV_JSON_SCAN_UNBALANCED);
    CU_ASSERT_EQUAL(scan("[}", 32, &d), DRV_JSON_SCAN_UNBALANCED);
    CU_ASSERT_EQUAL(scan("{]", 32, &d), DRV_JSON_SCAN_UNBALANCED);
}

static void test_size(void)
{
    unsigned d = 0;

    CU_ASSERT_EQUAL(drv_json_scan("[1, 2]", 6, 6, 32, &d), DRV_JSON_SCAN_OK);
    CU_ASSERT_EQUAL(drv_json_scan("[1, 2]", 6, 5, 32, &d), DRV_JSON_SCAN_TOO_LARGE);
    CU_ASSERT_STRING_EQUAL(drv_json_scan_str(DRV_JSON_SCAN_TOO_DEEP), "request nested too deeply");
}

static void test_reply_too_large(void)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonNode) body = NULL;
    g_autoptr(JsonParser) p = json_parser_new();
    g_autofree char *big = g_strnfill(5000, 'x');
    g_autofree char *text = NULL;
    g_autofree char *expect = NULL;
    size_t len = 0;
    JsonObject *o;

    json_builder_begin_object(b);
    json_builder_set_member_name(b, "rc");
    json_builder_add_int_value(b, 0);
    json_builder_set_member_name(b, "data");
    json_builder_add_string_value(b, big);
    json_builder_end_object(b);
    body = json_builder_get_root(b);

    /* fits: the body itself */
    text = drv_ipc_encode_reply(body, 1 << 20, &len);
    CU_ASSERT(len > 5000);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, big));
    expect = g_strdup_printf("reply too large: %zu bytes, limit 4096", len);
    g_free(text);

    /* too large: an error reply the client can parse, with both sizes */
    text = drv_ipc_encode_reply(body, 4096, &len);
    CU_ASSERT(len <= 4096);
    CU_ASSERT_EQUAL_FATAL(strlen(text), len);
    CU_ASSERT_FATAL(json_parser_load_from_data(p, text, (gssize)len, NULL));
    o = json_node_get_object(json_parser_get_root(p));
    CU_ASSERT_EQUAL(json_object_get_int_member(o, "rc"), -EMSGSIZE);
    CU_ASSERT_STRING_EQUAL(json_object_get_string_member(o, "error"), expect);
    CU_ASSERT_NOT_EQUAL(drv_exit_code(-EMSGSIZE), 0);
}

int main(void)
{
    CU_pSuite s;
    unsigned int failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    s = CU_add_suite("ipc-scan", NULL, NULL);
    CU_add_test(s, "nesting depth", test_depth);
    CU_add_test(s, "a 200 KB nested request is refused", test_deep_request_refused_early);
    CU_add_test(s, "strings with brackets and escaped quotes", test_strings);
    CU_add_test(s, "truncation and unbalanced brackets", test_truncation);
    CU_add_test(s, "size limit", test_size);
    CU_add_test(s, "a reply too large becomes an error reply", test_reply_too_large);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
