/* The state file: atomic replace, round trip, corrupt files set aside and reported. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "drover/results.h"
#include "drv_cluster.h"

static char *dir;

static char *path_in(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

static drv_state_t *sample(uint64_t seq)
{
    drv_state_t *st = drv_state_new();
    drv_node_admin_t a = {true, true};

    st->epoch = 3;
    st->seq = seq;
    g_hash_table_insert(st->node_admin, g_strdup("n3"), g_memdup2(&a, sizeof(a)));
    g_hash_table_insert(st->settings, g_strdup("k"), g_strdup("v"));
    return st;
}

static void test_missing(void)
{
    g_autofree char *p = path_in("none.bin");
    drv_state_t *st = (drv_state_t *)1;

    CU_ASSERT_EQUAL(drv_state_load(p, &st, NULL), -ENOENT);
    CU_ASSERT_PTR_NULL(st);
}

static void test_round_trip_and_replace(void)
{
    g_autofree char *p = path_in("state.bin");
    g_autofree char *tmp = g_strdup_printf("%s.tmp", p);
    g_autoptr(drv_state_t) a = sample(1);
    g_autoptr(drv_state_t) b = sample(2);
    drv_state_t *got = NULL;

    CU_ASSERT_EQUAL(drv_state_save(p, a), 0);
    CU_ASSERT_EQUAL(drv_state_save(p, b), 0);
    CU_ASSERT_FALSE(g_file_test(tmp, G_FILE_TEST_EXISTS));
    CU_ASSERT_EQUAL(drv_state_load(p, &got, NULL), DRV_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_TRUE(drv_state_equal(got, b));
    drv_state_free(got);
}

/* A crash between write and rename leaves a stale temp file: the real file is intact. */
static void test_stale_tmp_ignored(void)
{
    g_autofree char *p = path_in("state2.bin");
    g_autofree char *tmp = g_strdup_printf("%s.tmp", p);
    g_autoptr(drv_state_t) a = sample(5);
    drv_state_t *got = NULL;

    CU_ASSERT_EQUAL(drv_state_save(p, a), 0);
    CU_ASSERT_TRUE(g_file_set_contents(tmp, "half-written", -1, NULL));
    CU_ASSERT_EQUAL(drv_state_load(p, &got, NULL), DRV_OK);
    CU_ASSERT_TRUE(got && drv_state_equal(got, a));
    drv_state_free(got);
    /* and the next save replaces the stale temp file */
    CU_ASSERT_EQUAL(drv_state_save(p, a), 0);
    CU_ASSERT_FALSE(g_file_test(tmp, G_FILE_TEST_EXISTS));
}

static void corrupt_case(const char *name, void (*damage)(const char *path))
{
    g_autofree char *p = path_in(name);
    g_autoptr(drv_state_t) a = sample(9);
    drv_state_t *got = (drv_state_t *)1;
    g_autofree char *aside = NULL;
    g_autofree char *before = NULL;
    g_autofree char *after = NULL;
    gsize lb = 0, la = 0;

    CU_ASSERT_EQUAL(drv_state_save(p, a), 0);
    damage(p);
    CU_ASSERT_TRUE(g_file_get_contents(p, &before, &lb, NULL));
    CU_ASSERT_EQUAL(drv_state_load(p, &got, &aside), DRV_ERR_CORRUPT);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT_PTR_NOT_NULL_FATAL(aside);
    CU_ASSERT_FALSE(g_file_test(p, G_FILE_TEST_EXISTS));
    /* set aside byte for byte, never discarded */
    CU_ASSERT_TRUE(g_file_get_contents(aside, &after, &la, NULL));
    CU_ASSERT_EQUAL(la, lb);
    CU_ASSERT_TRUE(la == lb && memcmp(before, after, la) == 0);
}

static void flip_byte(const char *p)
{
    g_autofree char *d = NULL;
    gsize len;

    g_file_get_contents(p, &d, &len, NULL);
    d[len / 2] ^= 0x10;
    g_file_set_contents(p, d, (gssize)len, NULL);
}

static void truncate_half(const char *p)
{
    g_autofree char *d = NULL;
    gsize len;

    g_file_get_contents(p, &d, &len, NULL);
    g_file_set_contents(p, d, (gssize)(len / 2), NULL);
}

static void make_empty(const char *p)
{
    g_file_set_contents(p, "", 0, NULL);
}

static void make_text(const char *p)
{
    g_file_set_contents(p, "{\"not\": \"our format\"}\n", -1, NULL);
}

static void test_corrupt(void)
{
    corrupt_case("flip.bin", flip_byte);
    corrupt_case("trunc.bin", truncate_half);
    corrupt_case("empty.bin", make_empty);
    corrupt_case("text.bin", make_text);
}

static void test_unwritable_dir(void)
{
    g_autoptr(drv_state_t) a = sample(1);

    CU_ASSERT_TRUE(drv_state_save("/nonexistent-drover-dir/state.bin", a) < 0);
}

int main(void)
{
    CU_pSuite suite;
    unsigned failed;

    dir = g_dir_make_tmp("drover-persist-XXXXXX", NULL);
    if (dir == NULL || CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("persistence", NULL, NULL);
    CU_add_test(suite, "missing file", test_missing);
    CU_add_test(suite, "round trip and atomic replace", test_round_trip_and_replace);
    CU_add_test(suite, "stale temp file", test_stale_tmp_ignored);
    CU_add_test(suite, "corrupt files set aside", test_corrupt);
    CU_add_test(suite, "unwritable directory reported", test_unwritable_dir);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    {
        g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);

        if (system(cmd) != 0) {
            fprintf(stderr, "could not remove %s\n", dir);
        }
    }
    g_free(dir);
    return failed ? 1 : 0;
}
