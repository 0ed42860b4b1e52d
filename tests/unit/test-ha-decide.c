/* The coordinator's and the node agents' decisions (ha/decide.c), on hand-made states. */
#include "config.h"

#include <string.h>

#include <CUnit/Basic.h>
#include <glib.h>

#include "drover/results.h"
#include "drv_ha.h"

static drv_ha_node_t nodes3[] = {
    {"n1", true, 8, 4096},
    {"n2", true, 8, 4096},
    {"n3", true, 8, 4096},
};
static const drv_ha_params_t params = {3, 600000, 10000000};

static drv_resource_t *add_res(drv_state_t *st, const char *name, const char *uuid)
{
    drv_resource_t *r = drv_resource_new(name);

    r->uuid = g_strdup(uuid);
    r->domain = g_strdup(name);
    r->xml = g_strdup("<domain/>");
    r->cpu = 1;
    r->memory_mib = 64;
    r->ver = 1;
    g_hash_table_insert(st->resources, g_strdup(name), r);
    /* every node probed it (reported "stopped" after the add), unless a test says otherwise */
    for (int i = 0; i < 3; i++) {
        drv_resource_node(r, nodes3[i].name, true)->obs = DRV_OBS_STOPPED;
    }
    return r;
}

static void set(char **f, const char *v)
{
    g_free(*f);
    *f = g_strdup(v);
}

/* A report made now (at the resource's current assignment generation). */
static void report(drv_resource_t *r, const char *node, drv_obs_t obs, uint32_t failures)
{
    drv_res_node_t *n = drv_resource_node(r, node, true);

    n->obs = obs;
    n->gen = r->gen;
    n->failures = failures;
    n->window_start = failures ? params.now_ms - 1000 : 0;
    r->ver++;
}

/* What applying RES_ASSIGN does. */
static void assign(drv_resource_t *r, const char *node, const char *from)
{
    set(&r->assigned, node);
    set(&r->moving_from, from);
    r->gen++;
    r->ver++;
}

/* What applying RES_MIG_BEGIN / RES_MIG_END does. */
static void mig_begin(drv_resource_t *r, const char *from, const char *to)
{
    set(&r->mig_from, from);
    set(&r->mig_to, to);
    r->mig_gen = r->gen;
    r->ver++;
}

static void mig_end(drv_resource_t *r, bool done)
{
    if (done) {
        drv_res_node_t *n = drv_resource_node(r, r->mig_from, true);

        n->obs = DRV_OBS_STOPPED;
        n->gen = r->gen;
        set(&r->moving_from, NULL);
    } else {
        set(&r->assigned, r->mig_from);
        set(&r->moving_from, r->mig_to);
        r->gen++;
    }
    set(&r->mig_from, NULL);
    set(&r->mig_to, NULL);
    r->ver++;
}

/* Coordinator output as one line per command: "ASSIGN vm1 n2 n1", "FAILED vm1 reason". */
static char *coordinate(const drv_state_t *st, drv_ha_node_t *nodes, size_t n)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(drv_ha_cmd_free);
    GString *s = g_string_new("");

    drv_ha_coordinate(st, nodes, n, &params, out);
    for (guint i = 0; i < out->len; i++) {
        const drv_ha_cmd_t *c = out->pdata[i];
        const char *t = c->type == DRV_CMD_RES_ASSIGN   ? "ASSIGN"
                        : c->type == DRV_CMD_RES_FAILED ? "FAILED"
                        : c->type == DRV_CMD_RES_PURGE  ? "PURGE"
                                                        : "?";

        g_string_append_printf(s, "%s%s %s %s %s", i ? "; " : "", t, c->name,
                               c->value ? c->value : "-", c->value2 ? c->value2 : "-");
        /* every coordinator decision names the version it was made from */
        if (c->type != DRV_CMD_RES_PURGE) {
            const drv_resource_t *r = g_hash_table_lookup(st->resources, c->name);

            CU_ASSERT_EQUAL(c->gen, r->ver);
        }
    }
    return g_string_free(s, FALSE);
}

/* The local hypervisor view: a set of running UUIDs. */
static bool running_fn(void *ud, const char *uuid)
{
    return g_strv_contains((const char *const *)ud, uuid);
}

static bool not_busy(void *ud, const char *uuid)
{
    return false;
}

static bool migrate_ok, migration_tried;

static bool can_migrate_fn(void *ud, const drv_resource_t *r, const char *target)
{
    return migrate_ok;
}

static bool attempted_fn(void *ud, const drv_resource_t *r)
{
    return migration_tried;
}

static char *local(const drv_state_t *st, const char *me, const char *const *running)
{
    g_autoptr(GPtrArray) cmds = g_ptr_array_new_with_free_func(drv_ha_cmd_free);
    g_autoptr(GPtrArray) acts = g_ptr_array_new_with_free_func(g_free);
    GString *s = g_string_new("");

    const drv_ha_local_env_t env = {running_fn, not_busy, can_migrate_fn, attempted_fn,
                                    (void *)running};

    drv_ha_local(st, me, &params, &env, cmds, acts);
    for (guint i = 0; i < cmds->len; i++) {
        const drv_ha_cmd_t *c = cmds->pdata[i];

        if (c->type == DRV_CMD_RES_REPORT) {
            g_string_append_printf(s, "%sREPORT %s %s%s", s->len ? "; " : "", c->name,
                                   drv_obs_str(c->obs), c->flag ? " expire" : "");
        } else if (c->type == DRV_CMD_RES_MIG_BEGIN) {
            const drv_resource_t *r = g_hash_table_lookup(st->resources, c->name);

            CU_ASSERT_EQUAL(c->gen, r->ver);
            g_string_append_printf(s, "%sMIG_BEGIN %s %s %s", s->len ? "; " : "", c->name, c->value,
                                   c->value2);
        } else if (c->type == DRV_CMD_NODE_UP) {
            g_string_append_printf(s, "%sNODE_UP %s", s->len ? "; " : "", c->name);
        } else {
            g_string_append_printf(s, "%sMIG_END %s %s %s %s", s->len ? "; " : "", c->name,
                                   c->value, c->value2, c->flag ? "done" : "rolled-back");
        }
    }
    for (guint i = 0; i < acts->len; i++) {
        const drv_ha_local_action_t *a = acts->pdata[i];

        g_string_append_printf(s, "%s%s %s", s->len ? "; " : "",
                               a->act == DRV_HA_START  ? "START"
                               : a->act == DRV_HA_STOP ? "STOP"
                                                       : "MIGRATE",
                               a->res->name);
        if (a->act == DRV_HA_MIGRATE) {
            g_string_append_printf(s, " %s", a->target);
        }
    }
    return g_string_free(s, FALSE);
}

#define EXPECT(got, want)                                                                          \
    do {                                                                                           \
        g_autofree char *g_ = (got);                                                               \
        if (strcmp(g_, (want)) != 0) {                                                             \
            fprintf(stderr, "\n  %s:%d: got [%s]\n  want [%s]\n", __FILE__, __LINE__, g_, (want)); \
        }                                                                                          \
        CU_ASSERT_STRING_EQUAL(g_, (want));                                                        \
    } while (0)

static const char *none[] = {NULL};
static const char *vm1_up[] = {"00000000-0000-4000-8000-000000000001", NULL};

static void test_start_and_steady(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);

    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n1 -");
    set(&r->assigned, "n1");
    EXPECT(coordinate(st, nodes3, 3), "");      /* stays while it starts */
    EXPECT(local(st, "n1", none), "START vm1"); /* only the assigned node starts it */
    EXPECT(local(st, "n2", none), "");
    EXPECT(local(st, "n1", vm1_up), "REPORT vm1 running");
    report(r, "n1", DRV_OBS_RUNNING, 0);
    EXPECT(local(st, "n1", vm1_up), "");
    EXPECT(coordinate(st, nodes3, 3), "");
}

static void test_move_is_stop_then_start(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);

    set(&r->assigned, "n1");
    report(r, "n1", DRV_OBS_RUNNING, 0);
    set(&r->move_to, "n3");
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n3 n1");
    set(&r->assigned, "n3");
    set(&r->moving_from, "n1");
    EXPECT(local(st, "n1", vm1_up), "STOP vm1");
    EXPECT(local(st, "n3", none), ""); /* never two copies: n1 still reports it running */
    report(r, "n1", DRV_OBS_STOPPED, 0);
    EXPECT(local(st, "n1", none), "");
    EXPECT(local(st, "n3", none), "START vm1");
    report(r, "n3", DRV_OBS_RUNNING, 0);
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n3 -");
    /* clear: it stays where it is */
    set(&r->moving_from, NULL);
    set(&r->move_to, NULL);
    EXPECT(coordinate(st, nodes3, 3), "");
}

static void test_restart_in_place_then_relocate(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);

    assign(r, "n2", NULL);
    report(r, "n2", DRV_OBS_FAILED, 1);
    EXPECT(local(st, "n2", none), "START vm1");
    EXPECT(coordinate(st, nodes3, 3), "");
    report(r, "n2", DRV_OBS_FAILED, 3);
    EXPECT(local(st, "n2", none), ""); /* out of restarts here */
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n1 n2");
    assign(r, "n1", "n2");
    EXPECT(local(st, "n1", none), "");                   /* n2 has not released it yet */
    EXPECT(local(st, "n2", none), "REPORT vm1 stopped"); /* the release */
    report(r, "n2", DRV_OBS_STOPPED, 3);
    EXPECT(local(st, "n2", none), "");
    EXPECT(local(st, "n1", none), "START vm1");
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n1 -");
    assign(r, "n1", NULL);
    /* failed everywhere: marked failed with the reason, assigned nowhere */
    report(r, "n1", DRV_OBS_FAILED, 3);
    report(r, "n3", DRV_OBS_FAILED, 3);
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 - n1");
    assign(r, NULL, "n1");
    {
        g_autofree char *got = coordinate(st, nodes3, 3);

        CU_ASSERT_TRUE(g_str_has_prefix(got, "FAILED vm1 "));
    }
    /* an old window does not count, but only the node whose window it is says so, by its own
     * (monotonic) clock: the coordinator never compares clocks */
    drv_resource_node(r, "n3", false)->window_start = params.now_ms - 700000;
    EXPECT(local(st, "n2", none), "");
    EXPECT(local(st, "n3", none), "REPORT vm1 stopped expire");
    drv_resource_node(r, "n3", false)->failures = 0;
    r->ver++;
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n3 n1");
}

static void test_stray_and_adoption(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);

    /* found running on n3 while assigned to n1, which does not run it: report, keep */
    set(&r->assigned, "n1");
    EXPECT(local(st, "n3", vm1_up), "REPORT vm1 running");
    report(r, "n3", DRV_OBS_RUNNING, 0);
    EXPECT(local(st, "n3", vm1_up), "");
    EXPECT(local(st, "n1", none), ""); /* n3 runs it: n1 must not start a second copy */
    /* the coordinator adopts the running copy instead of moving it */
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n3 -");
    /* two copies (after a partition, or a virsh create): the one not assigned stops once the
     * assigned one is seen running, even when the stray's node sorts first */
    set(&r->assigned, "n3");
    report(r, "n1", DRV_OBS_RUNNING, 0);
    EXPECT(coordinate(st, nodes3, 3), "");
    EXPECT(local(st, "n1", vm1_up), "STOP vm1");
    EXPECT(local(st, "n3", vm1_up), "");
    /* never assigned yet, already running (resource added for a running domain): keep it */
    set(&r->assigned, NULL);
    EXPECT(local(st, "n3", vm1_up), "");
}

static void test_stop_remove(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);

    assign(r, "n2", NULL);
    report(r, "n2", DRV_OBS_RUNNING, 0);
    r->role = DRV_ROLE_STOPPED;
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 - n2");
    assign(r, NULL, "n2");
    EXPECT(local(st, "n2", vm1_up), "STOP vm1");
    r->role = DRV_ROLE_REMOVING;
    EXPECT(local(st, "n2", vm1_up), "STOP vm1");
    EXPECT(coordinate(st, nodes3, 3), ""); /* still running on n2: not forgotten */
    EXPECT(local(st, "n2", none), "REPORT vm1 stopped");
    report(r, "n2", DRV_OBS_STOPPED, 0);
    EXPECT(coordinate(st, nodes3, 3), "PURGE vm1 - -");
}

/* Review finding: reassigned (here by a standby) while its start on n1 is in flight and n1 has
 * not reported anything yet. The new node must wait for n1's release. */
static void test_reassign_during_start(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);
    drv_node_admin_t sb = {true, false};
    g_autofree char *got = NULL;
    const char *to;

    assign(r, "n1", NULL); /* n1 starts it; no report yet */
    g_hash_table_insert(st->node_admin, g_strdup("n1"), g_memdup2(&sb, sizeof(sb)));
    got = coordinate(st, nodes3, 3);
    CU_ASSERT_TRUE(g_str_has_prefix(got, "ASSIGN vm1 n") && g_str_has_suffix(got, " n1"));
    to = strstr(got, "n2") ? "n2" : "n3";
    assign(r, to, "n1");
    EXPECT(local(st, to, none), ""); /* not before n1 said it does not run it */
    /* n1's start completes: it runs there, is moved off, so it stops, then releases */
    EXPECT(local(st, "n1", vm1_up), "REPORT vm1 running; STOP vm1");
    report(r, "n1", DRV_OBS_RUNNING, 0);
    EXPECT(local(st, to, none), "");
    EXPECT(local(st, "n1", none), "REPORT vm1 stopped");
    report(r, "n1", DRV_OBS_STOPPED, 0);
    EXPECT(local(st, to, none), "START vm1");
    /* an old report of n1 (before the reassignment) is no release */
    drv_resource_node(r, "n1", false)->gen = r->gen - 1;
    EXPECT(local(st, to, none), "");
}

/* Review finding: removed while its start is in flight, or while its node's daemon is gone
 * after saying "stopped": never forgotten while a copy may still run somewhere. */
static void test_remove_during_start(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);
    drv_ha_node_t n[3];

    assign(r, "n1", NULL);
    r->role = DRV_ROLE_REMOVING;
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 - n1");
    assign(r, NULL, "n1");
    EXPECT(coordinate(st, nodes3, 3), "");
    EXPECT(local(st, "n1", vm1_up), "REPORT vm1 running; STOP vm1");
    EXPECT(local(st, "n1", none), "REPORT vm1 stopped");
    report(r, "n1", DRV_OBS_STOPPED, 0);
    EXPECT(coordinate(st, nodes3, 3), "PURGE vm1 - -");

    /* case B: n1's daemon gone, its last word "stopped" from before the removal */
    r->gen = 5;
    set(&r->assigned, "n1");
    set(&r->moving_from, NULL);
    drv_resource_node(r, "n1", false)->gen = 4;
    memcpy(n, nodes3, sizeof(n));
    n[0].member = false;
    EXPECT(coordinate(st, n, 3), "FAILED vm1 - waiting for node n1 (its droverd is not in the "
                                 "cluster), which may run it");
}

/* A planned move of a VM that may migrate is a live migration, begun by a replicated record;
 * otherwise stop + start. */
static void test_live_migration(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);

    assign(r, "n1", NULL);
    report(r, "n1", DRV_OBS_RUNNING, 0);
    set(&r->move_to, "n2");
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n2 n1");
    assign(r, "n2", "n1");
    migrate_ok = true;
    EXPECT(local(st, "n1", vm1_up), "MIG_BEGIN vm1 n1 n2"); /* the record first */
    mig_begin(r, "n1", "n2");
    EXPECT(local(st, "n1", vm1_up), "MIGRATE vm1 n2"); /* then libvirt's migration */
    EXPECT(local(st, "n2", none), "");                 /* the target never starts it itself */
    EXPECT(coordinate(st, nodes3, 3), "");             /* nor does anyone re-target it */
    /* during the migration: n2 lists the incoming copy and reports it, and stops nothing */
    EXPECT(local(st, "n2", vm1_up), "REPORT vm1 running");
    report(r, "n2", DRV_OBS_RUNNING, 0);
    EXPECT(local(st, "n2", vm1_up), "");
    /* over: the source ends the record by what its hypervisor shows */
    migration_tried = true;
    EXPECT(local(st, "n1", none), "REPORT vm1 stopped; MIG_END vm1 n1 n2 done");
    mig_end(r, true);
    migration_tried = false;
    EXPECT(local(st, "n1", none), "");
    EXPECT(coordinate(st, nodes3, 3), "");
    /* not allowed to migrate, or the attempt failed: stop + start */
    assign(r, "n1", "n2");
    migrate_ok = false;
    EXPECT(local(st, "n2", vm1_up), "STOP vm1");
    migrate_ok = true;
    r->allow_migrate = false;
    EXPECT(local(st, "n2", vm1_up), "STOP vm1");
    /* a stray (the assigned copy runs): stopped, never migrated onto the running copy */
    r->allow_migrate = true;
    set(&r->moving_from, NULL);
    report(r, "n1", DRV_OBS_RUNNING, 0);
    EXPECT(local(st, "n2", vm1_up), "STOP vm1");
    migrate_ok = false;
}

static void test_gone_node_left_alone(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);
    drv_ha_node_t n[3];

    memcpy(n, nodes3, sizeof(n));
    n[0].member = false; /* n1's droverd is gone: its VM may still run there */
    set(&r->assigned, "n1");
    report(r, "n1", DRV_OBS_RUNNING, 0);
    EXPECT(coordinate(st, n, 3), "FAILED vm1 - waiting for node n1 (its droverd is not in the "
                                 "cluster), which may run it");
    set(&r->waiting, "waiting for node n1 (its droverd is not in the cluster), which may run it");
    EXPECT(coordinate(st, n, 3), "");
    EXPECT(local(st, "n2", none), "");
    /* even when its last word was "stopped", an assigned VM there is not recovered unfenced */
    report(r, "n1", DRV_OBS_STOPPED, 0);
    EXPECT(coordinate(st, n, 3), "");
}

static void mark_down(drv_state_t *st, const char *node, bool watchdog)
{
    drv_node_fence_t *f = g_new0(drv_node_fence_t, 1);

    f->down = true;
    f->down_watchdog = watchdog;
    f->ver = 3;
    g_hash_table_insert(st->node_fence, g_strdup(node), f);
}

static char *fence_cmds(const drv_state_t *st, drv_ha_node_t *nodes, size_t n, bool enabled)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(drv_ha_cmd_free);
    GString *s = g_string_new("");

    drv_ha_fence_coordinate(st, nodes, n, "n2", enabled, out);
    for (guint i = 0; i < out->len; i++) {
        const drv_ha_cmd_t *c = out->pdata[i];

        g_string_append_printf(s, "%s%s %s %s", i ? "; " : "",
                               c->type == DRV_CMD_FENCE_BEGIN ? "BEGIN"
                               : c->type == DRV_CMD_NODE_DOWN ? "DOWN"
                                                              : "?",
                               c->name, c->type == DRV_CMD_FENCE_BEGIN ? c->value : "-");
    }
    return g_string_free(s, FALSE);
}

/* Who needs fencing, who fences, when the watchdog rule applies, and that a node's VMs are
 * recovered only once it is down. */
static void test_fencing_decisions(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);
    drv_fence_dev_t *d = drv_fence_dev_new("sw-n1", "/usr/sbin/fence_sw");
    drv_ha_node_t n[3];
    g_autofree char *why = NULL;

    memcpy(n, nodes3, sizeof(n));
    n[0].member = false;
    set(&r->assigned, "n1");
    report(r, "n1", DRV_OBS_RUNNING, 0);
    why = drv_ha_fence_needed(st, n, 3, "n1");
    CU_ASSERT_STRING_EQUAL(why, "it may run vm1");
    CU_ASSERT_PTR_NULL(drv_ha_fence_needed(st, n, 3, "n2")); /* a member */
    /* no device, no watchdog: nothing to do but wait (confirm-down) */
    EXPECT(fence_cmds(st, n, 3, true), "");
    g_ptr_array_add(d->nodes, g_strdup("n1"));
    g_hash_table_insert(st->fence_devices, g_strdup("sw-n1"), d);
    EXPECT(fence_cmds(st, n, 3, true), "BEGIN n1 n2");
    EXPECT(fence_cmds(st, n, 3, false), ""); /* fencing-enabled false */
    {
        drv_node_fence_t *f = g_new0(drv_node_fence_t, 1);

        f->op = 10;
        f->op_executor = g_strdup("n3");
        f->op_action = g_strdup("off");
        f->ver = 1;
        g_hash_table_insert(st->node_fence, g_strdup("n1"), f);
        EXPECT(fence_cmds(st, n, 3, true), ""); /* under way by a member */
        n[2].member = false;
        EXPECT(fence_cmds(st, n, 3, true), "BEGIN n1 n2"); /* its executor left: again */
        n[2].member = true;
        /* the VM is not recovered while the fencing is under way */
        EXPECT(coordinate(st, n, 3), "FAILED vm1 - waiting for node n1 (its droverd is not in "
                                     "the cluster), which may run it");
        /* the watchdog rule: only 2 x the timeout after it left, and not before a fence
         * device failed when there is one */
        n[0].watchdog_ms = 5000;
        n[0].absent_ms = 9999;
        g_hash_table_remove(st->fence_devices, "sw-n1");
        f->op = 0;
        EXPECT(fence_cmds(st, n, 3, true), "");
        n[0].absent_ms = 10000;
        EXPECT(fence_cmds(st, n, 3, true), "DOWN n1 -");
        d = drv_fence_dev_new("sw-n1", "/usr/sbin/fence_sw");
        g_ptr_array_add(d->nodes, g_strdup("n1"));
        g_hash_table_insert(st->fence_devices, g_strdup("sw-n1"), d);
        EXPECT(fence_cmds(st, n, 3, true), "BEGIN n1 n2");
        f->op = 11;
        f->op_failures = 1;
        EXPECT(fence_cmds(st, n, 3, true), "DOWN n1 -");
    }
    /* down: it holds nothing, its VM is placed elsewhere and started there */
    g_hash_table_remove(st->node_fence, "n1");
    mark_down(st, "n1", false);
    report(r, "n1", DRV_OBS_STOPPED, 0);
    CU_ASSERT_PTR_NULL(drv_ha_fence_needed(st, n, 3, "n1"));
    EXPECT(coordinate(st, n, 3), "ASSIGN vm1 n2 n1");
    assign(r, "n2", "n1");
    EXPECT(local(st, "n2", none), "START vm1");
    /* a node down does nothing but say it is back */
    EXPECT(local(st, "n1", vm1_up), "NODE_UP n1");
}

/* A node taken down by the watchdog rule stopped the VMs it knew: one it never reported still
 * waits for it; a node fenced off does not hold up a new VM. */
static void test_watchdog_down_probes(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);
    drv_ha_node_t n[3];

    memcpy(n, nodes3, sizeof(n));
    n[0].member = false;
    g_hash_table_remove(r->nodes, "n1"); /* added after n1 left */
    mark_down(st, "n1", true);
    EXPECT(coordinate(st, n, 3), "FAILED vm1 - waiting for node n1 to report whether it runs the "
                                 "domain");
    g_hash_table_remove(st->node_fence, "n1");
    mark_down(st, "n1", false);
    EXPECT(coordinate(st, n, 3), "ASSIGN vm1 n2 -");
}

static void test_standby_drains(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);
    drv_node_admin_t sb = {true, false};

    set(&r->assigned, "n1");
    report(r, "n1", DRV_OBS_RUNNING, 0);
    g_hash_table_insert(st->node_admin, g_strdup("n1"), g_memdup2(&sb, sizeof(sb)));
    {
        g_autofree char *got = coordinate(st, nodes3, 3);

        CU_ASSERT_TRUE(g_str_has_prefix(got, "ASSIGN vm1 n") && g_str_has_suffix(got, " n1"));
    }
}

static void test_anti_affinity_spreads(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    const char *u[] = {"00000000-0000-4000-8000-00000000000a",
                       "00000000-0000-4000-8000-00000000000b",
                       "00000000-0000-4000-8000-00000000000c"};
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(drv_ha_cmd_free);
    g_autoptr(GHashTable) used = g_hash_table_new(g_str_hash, g_str_equal);

    for (int i = 0; i < 3; i++) {
        char name[8];
        drv_resource_t *r;

        g_snprintf(name, sizeof(name), "db%d", i);
        r = add_res(st, name, u[i]);
        g_ptr_array_add(r->anti_affinity, g_strdup("db"));
    }
    drv_ha_coordinate(st, nodes3, 3, &params, out);
    CU_ASSERT_EQUAL(out->len, 3);
    for (guint i = 0; i < out->len; i++) {
        const drv_ha_cmd_t *c = out->pdata[i];

        CU_ASSERT_PTR_NOT_NULL_FATAL(c->value);
        CU_ASSERT_FALSE(g_hash_table_contains(used, c->value));
        g_hash_table_add(used, c->value);
    }
}

/* ---- the sequences a review traced (issue: HA core correct by construction) ---- */

static const char *vm2_up[] = {"00000000-0000-4000-8000-000000000002", NULL};

/* 1: n1 live-migrates to n2, n2 reports the incoming copy, n2 crashes, libvirt rolls back. The
 * source must keep it (end the record as rolled back), not stop it; nobody recovers it. */
static void test_seq1_migration_target_dies(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);
    drv_ha_node_t n[3];

    assign(r, "n1", NULL);
    report(r, "n1", DRV_OBS_RUNNING, 0);
    assign(r, "n2", "n1");
    mig_begin(r, "n1", "n2");
    report(r, "n2", DRV_OBS_RUNNING, 0); /* the incoming, paused copy */
    memcpy(n, nodes3, sizeof(n));
    n[1].member = false;    /* n2 crashed */
    migration_tried = true; /* libvirt's migrate call returned (failed): it runs on n1 again */
    EXPECT(local(st, "n1", vm1_up), "MIG_END vm1 n1 n2 rolled-back");
    migration_tried = false;
    EXPECT(coordinate(st, n, 3), "FAILED vm1 - waiting for node n2 (its droverd is not in the "
                                 "cluster), which may run it");
    EXPECT(local(st, "n3", none), "");
    mig_end(r, false);                   /* n1 assigned again; n2 must release */
    EXPECT(local(st, "n1", vm1_up), ""); /* keeps running: no stop */
    EXPECT(coordinate(st, n, 3), "ASSIGN vm1 n1 -");
    /* n2 back with nothing: it releases */
    EXPECT(local(st, "n2", none), "REPORT vm1 stopped");
}

/* 2: n2 leaves the round before its "running" report lands; the migration then completes.
 * Nothing is re-targeted while the record is open; after it ends (done) the VM stays pinned
 * to n2, never started on n3 or n1. */
static void test_seq2_migration_target_leaves(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);
    drv_ha_node_t n[3];

    assign(r, "n1", NULL);
    report(r, "n1", DRV_OBS_RUNNING, 0);
    assign(r, "n2", "n1");
    mig_begin(r, "n1", "n2");
    memcpy(n, nodes3, sizeof(n));
    n[1].member = false;
    {
        g_autofree char *got = coordinate(st, n, 3);

        CU_ASSERT_PTR_NULL(strstr(got, "ASSIGN"));
    }
    migration_tried = true;
    EXPECT(local(st, "n1", none), "REPORT vm1 stopped; MIG_END vm1 n1 n2 done");
    migration_tried = false;
    mig_end(r, true);
    {
        g_autofree char *got = coordinate(st, n, 3);

        CU_ASSERT_PTR_NULL(strstr(got, "ASSIGN"));
    }
    EXPECT(local(st, "n1", none), "");
    EXPECT(local(st, "n3", none), "");
    /* a migration never gets re-targeted by the coordinator, even with all nodes up */
    assign(r, "n1", "n2");
    mig_begin(r, "n2", "n1");
    set(&r->move_to, "n3");
    EXPECT(coordinate(st, nodes3, 3), "");
}

/* 3: a resource added for a domain that already runs on n3: no placement before every node
 * has reported (probed); then it is adopted where it runs. */
static void test_seq3_probe_before_placement(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);

    g_hash_table_remove(r->nodes, "n3"); /* n3 has not reported since the add */
    EXPECT(coordinate(st, nodes3, 3), "FAILED vm1 - waiting for node n3 to report whether it "
                                      "runs the domain");
    EXPECT(local(st, "n1", none), "");
    EXPECT(local(st, "n3", vm1_up), "REPORT vm1 running");
    report(r, "n3", DRV_OBS_RUNNING, 0);
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n3 -");
    /* a node that has not reported yet probes with "stopped" */
    g_hash_table_remove(r->nodes, "n2");
    EXPECT(local(st, "n2", none), "REPORT vm1 stopped");
    /* a gone node that took part before must have probed too; one that never did need not */
    {
        drv_ha_node_t n[3];

        memcpy(n, nodes3, sizeof(n));
        g_hash_table_remove(r->nodes, "n3");
        report(r, "n2", DRV_OBS_STOPPED, 0);
        n[2].member = false;
        EXPECT(coordinate(st, n, 3), "FAILED vm1 - waiting for node n3 to report whether it "
                                     "runs the domain");
        n[2].cpu = 0;
        EXPECT(coordinate(st, n, 3), "ASSIGN vm1 n1 -");
    }
}

/* 5: n3's droverd is gone (a restart); its VMs may still run there. They take no capacity
 * elsewhere and preempt nothing: a running low-priority VM on n1 stays. */
static void test_seq5_no_phantom_preemption(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *lo = add_res(st, "lo", vm1_up[0]);
    drv_resource_t *hi = add_res(st, "hi", vm2_up[0]);
    drv_ha_node_t n[3] = {{"n1", true, 4, 1024}, {"n2", true, 4, 1024}, {"n3", false, 4, 1024}};

    lo->priority = 0;
    lo->cpu = 3;
    assign(lo, "n1", NULL);
    report(lo, "n1", DRV_OBS_RUNNING, 0);
    hi->priority = 2;
    hi->cpu = 3;
    g_ptr_array_add(hi->anti_affinity, g_strdup("g"));
    g_ptr_array_add(lo->anti_affinity, g_strdup("x"));
    assign(hi, "n3", NULL);
    report(hi, "n3", DRV_OBS_RUNNING, 0);
    /* n2 full too */
    {
        drv_resource_t *f = add_res(st, "fill", "00000000-0000-4000-8000-000000000003");

        f->cpu = 3;
        assign(f, "n2", NULL);
        report(f, "n2", DRV_OBS_RUNNING, 0);
    }
    EXPECT(coordinate(st, n, 3), "FAILED hi - waiting for node n3 (its droverd is not in the "
                                 "cluster), which may run it");
    /* draining n1 meanwhile: no room, so it stays (the plan has no phantom to make room for) */
    EXPECT(local(st, "n1", vm1_up), "");
}

/* 6: a move to a node in standby, or whose droverd is gone, never stops the running VM: it
 * stays and `waiting` says why. */
static void test_seq6_move_never_stops(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);
    drv_node_admin_t sb = {true, false};
    drv_ha_node_t n[3];

    assign(r, "n1", NULL);
    report(r, "n1", DRV_OBS_RUNNING, 0);
    set(&r->move_to, "n3");
    memcpy(n, nodes3, sizeof(n));
    n[2].member = false;
    EXPECT(coordinate(st, n, 3), "FAILED vm1 - move to n3 waits: its droverd is not in the "
                                 "cluster");
    g_hash_table_insert(st->node_admin, g_strdup("n3"), g_memdup2(&sb, sizeof(sb)));
    EXPECT(coordinate(st, nodes3, 3), "FAILED vm1 - move to n3 waits: it is in standby");
    /* full: n3 has no room */
    g_hash_table_remove(st->node_admin, "n3");
    n[2].member = true;
    n[2].cpu = 1;
    r->cpu = 2;
    {
        g_autofree char *got = coordinate(st, n, 3);

        CU_ASSERT_TRUE(g_str_has_prefix(got, "FAILED vm1 - move to n3 waits: "));
    }
    EXPECT(local(st, "n1", vm1_up), "");
}

/* 8: failure windows never compare two clocks: the coordinator takes the count as reported; a
 * reporter whose clock restarted (earlier than its window start) expires its own window. */
static void test_seq8_failure_window_clock(void)
{
    g_autoptr(drv_state_t) st = drv_state_new();
    drv_resource_t *r = add_res(st, "vm1", vm1_up[0]);

    assign(r, "n2", NULL);
    report(r, "n2", DRV_OBS_FAILED, 3);
    /* however far the coordinator's own clock is from the reporter's, 3 failures relocate */
    drv_resource_node(r, "n2", false)->window_start = 1; /* reporter clock far behind */
    EXPECT(coordinate(st, nodes3, 3), "ASSIGN vm1 n1 n2");
    /* the reporter's clock restarted: its window is over, by its own word */
    drv_resource_node(r, "n2", false)->window_start = params.now_ms + 5000;
    EXPECT(local(st, "n2", none), "REPORT vm1 stopped expire");
}

int main(void)
{
    CU_pSuite suite;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("HA decisions", NULL, NULL);
    CU_add_test(suite, "start where assigned, then steady", test_start_and_steady);
    CU_add_test(suite, "a move is stop, then start", test_move_is_stop_then_start);
    CU_add_test(suite, "restart in place, then relocate, then failed",
                test_restart_in_place_then_relocate);
    CU_add_test(suite, "strays and adoption", test_stray_and_adoption);
    CU_add_test(suite, "stop and remove", test_stop_remove);
    CU_add_test(suite, "a gone node's VMs are left alone", test_gone_node_left_alone);
    CU_add_test(suite, "live migration where allowed, else stop + start", test_live_migration);
    CU_add_test(suite, "reassigned during a start: wait for the release",
                test_reassign_during_start);
    CU_add_test(suite, "removed during a start: no purge before the release",
                test_remove_during_start);
    CU_add_test(suite, "standby drains", test_standby_drains);
    CU_add_test(suite, "fencing: who, when, and recovery only once down", test_fencing_decisions);
    CU_add_test(suite, "a watchdog-down node still probes what it never reported",
                test_watchdog_down_probes);
    CU_add_test(suite, "hard anti-affinity spreads", test_anti_affinity_spreads);
    CU_add_test(suite, "seq 1: migration target dies: rolled back, kept",
                test_seq1_migration_target_dies);
    CU_add_test(suite, "seq 2: migration target leaves: never re-targeted",
                test_seq2_migration_target_leaves);
    CU_add_test(suite, "seq 3: probe before first placement", test_seq3_probe_before_placement);
    CU_add_test(suite, "seq 5: no phantom preemption", test_seq5_no_phantom_preemption);
    CU_add_test(suite, "seq 6: a move never stops the VM", test_seq6_move_never_stops);
    CU_add_test(suite, "seq 8: failure windows by the reporter's clock",
                test_seq8_failure_window_clock);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
