/* The cluster core against a fake CPG: N nodes in one process, messages delivered in one total
 * order per component, extended virtual synchrony at every membership change (everything sent
 * in the old configuration is delivered there first), votequorum notifications racing the CPG
 * ring change in both orders, and a virtual clock. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <glib.h>

#include "drover/results.h"
#include "drv_cluster.h"
#include "wire.h"

#define MAXN 7

typedef struct sim sim_t;

typedef struct node {
    sim_t *sim;
    int idx; /* 0-based; nodeid = idx + 1 */
    uint32_t pid;
    bool up;
    int comp; /* component id */
    drv_cluster_t *c;
    drv_state_t *disk; /* what persist wrote */
    int persists;
    bool persist_fails; /* the disk refuses writes */
    GHashTable *done;   /* req_id -> rc */
} node_t;

typedef struct qmsg {
    int from;
    uint32_t pid;
    uint8_t *buf;
    size_t len;
} qmsg_t;

struct sim {
    int n;
    node_t node[MAXN];
    GQueue q; /* qmsg_t*, all components share one order (fine: components never interleave
                 deliveries to the same node) */
    uint64_t now;
    uint64_t ring_seq;
    bool quorum_first;  /* deliver votequorum before the CPG ring change */
    bool foreign;       /* a silent foreign CPG member on node 1 */
    bool cs_everywhere; /* corosync runs on every node even where droverd is stopped, so
                           votequorum counts a component's nodes, not its daemons */
    int foreign_comp;
};

static int op_send(void *ud, const void *buf, size_t len)
{
    node_t *nd = ud;
    qmsg_t *m = g_new0(qmsg_t, 1);

    m->from = nd->idx;
    m->pid = nd->pid;
    m->buf = g_memdup2(buf, len);
    m->len = len;
    g_queue_push_tail(&nd->sim->q, m);
    return 0;
}

static int op_persist(void *ud, const drv_state_t *st)
{
    node_t *nd = ud;

    if (nd->persist_fails) {
        return -EIO;
    }
    drv_state_free(nd->disk);
    nd->disk = drv_state_copy(st);
    nd->persists++;
    return 0;
}

static void op_done(void *ud, uint64_t req_id, int rc)
{
    node_t *nd = ud;

    g_hash_table_insert(nd->done, GSIZE_TO_POINTER(req_id), GINT_TO_POINTER(rc));
}

static const drv_cluster_ops_t ops = {op_send, op_persist, op_done, NULL};

/* Deliver the first LIMIT queued messages (all when negative), each to the up nodes of the
 * sender's component. */
static void run_n(sim_t *s, int limit)
{
    qmsg_t *m;

    while (limit-- != 0 && (m = g_queue_pop_head(&s->q)) != NULL) {
        node_t *from = &s->node[m->from];

        if (from->up && from->pid == m->pid) {
            for (int i = 0; i < s->n; i++) {
                node_t *to = &s->node[i];

                if (to->up && to->comp == from->comp) {
                    drv_cluster_deliver(to->c, m->from + 1, m->pid, m->buf, m->len);
                }
            }
        }
        g_free(m->buf);
        g_free(m);
    }
}

static void run(sim_t *s)
{
    run_n(s, -1);
}

static int comp_size(sim_t *s, int comp)
{
    int k = 0;

    for (int i = 0; i < s->n; i++) {
        k += s->node[i].up && s->node[i].comp == comp;
    }
    return k;
}

/* A membership change: every component gets a new ring and a confchg. */
static void confchg(sim_t *s)
{
    /* EVS: what was sent in the old configuration is delivered there (to the part of it that
     * ends up with the sender, when it partitions); what is sent while doing so goes out in
     * the new configuration */
    run_n(s, (int)g_queue_get_length(&s->q));
    for (int comp = 0; comp < MAXN; comp++) {
        drv_member_t mem[MAXN + 1];
        size_t k = 0;
        int size = comp_size(s, comp);
        drv_ring_t ring;

        if (size == 0) {
            continue;
        }
        ring.nodeid = 0;
        ring.seq = ++s->ring_seq;
        for (int i = 0; i < s->n; i++) {
            if (s->node[i].up && s->node[i].comp == comp) {
                mem[k].nodeid = (uint32_t)i + 1;
                mem[k].pid = s->node[i].pid;
                if (ring.nodeid == 0) {
                    ring.nodeid = (uint32_t)i + 1;
                }
                k++;
            }
        }
        if (s->foreign && s->foreign_comp == comp) {
            mem[k].nodeid = 1;
            mem[k].pid = 99999;
            k++;
        }
        for (int i = 0; i < s->n; i++) {
            node_t *nd = &s->node[i];
            int votes = size;
            bool quorate;

            if (s->cs_everywhere) {
                votes = 0;
                for (int j = 0; j < s->n; j++) {
                    votes += s->node[j].comp == comp;
                }
            }
            quorate = votes * 2 > s->n;

            if (!nd->up || nd->comp != comp) {
                continue;
            }
            if (s->quorum_first) {
                drv_cluster_quorum(nd->c, quorate, (uint32_t)s->n / 2 + 1, ring);
            }
            drv_cluster_members(nd->c, mem, k);
            drv_cluster_totem_ring(nd->c, ring);
            if (!s->quorum_first) {
                drv_cluster_quorum(nd->c, quorate, (uint32_t)s->n / 2 + 1, ring);
            }
        }
    }
    run(s);
}

static void tick(sim_t *s, uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 250) {
        s->now += 250;
        for (int i = 0; i < s->n; i++) {
            if (s->node[i].up) {
                drv_cluster_tick(s->node[i].c, s->now);
            }
        }
        run(s);
    }
}

static void node_start(sim_t *s, int i, drv_state_t *loaded)
{
    node_t *nd = &s->node[i];

    nd->sim = s;
    nd->idx = i;
    nd->pid = (uint32_t)(1000 + i) + nd->pid * 7 + 1;
    nd->up = true;
    if (nd->done == NULL) {
        nd->done = g_hash_table_new(NULL, NULL);
    }
    nd->c = drv_cluster_new((uint32_t)i + 1, nd->pid, &ops, nd, loaded);
}

static void node_stop(sim_t *s, int i)
{
    node_t *nd = &s->node[i];

    drv_cluster_free(nd->c);
    nd->c = NULL;
    nd->up = false;
}

static sim_t *sim_new(int n, bool quorum_first)
{
    sim_t *s = g_new0(sim_t, 1);

    s->n = n;
    s->quorum_first = quorum_first;
    g_queue_init(&s->q);
    for (int i = 0; i < n; i++) {
        node_start(s, i, NULL);
    }
    confchg(s);
    return s;
}

static void sim_free(sim_t *s)
{
    run(s);
    for (int i = 0; i < s->n; i++) {
        if (s->node[i].up) {
            node_stop(s, i);
        }
        drv_state_free(s->node[i].disk);
        if (s->node[i].done) {
            g_hash_table_destroy(s->node[i].done);
        }
    }
    g_free(s);
}

static void view(sim_t *s, int i, drv_cluster_view_t *v)
{
    drv_cluster_get_view(s->node[i].c, v);
}

static int submit(sim_t *s, int i, drv_cmd_type_t type, const char *name, const char *value,
                  bool flag, uint64_t *req)
{
    drv_cmd_t cmd = {type, name, value, flag};
    uint64_t dummy;

    return drv_cluster_submit(s->node[i].c, &cmd, s->now, 5000, req ? req : &dummy);
}

static int done_rc(sim_t *s, int i, uint64_t req)
{
    gpointer v;

    if (!g_hash_table_lookup_extended(s->node[i].done, GSIZE_TO_POINTER(req), NULL, &v)) {
        return 1; /* still pending */
    }
    return GPOINTER_TO_INT(v);
}

static const char *setting(sim_t *s, int i, const char *key)
{
    return g_hash_table_lookup(drv_cluster_state(s->node[i].c)->settings, key);
}

static void assert_converged(sim_t *s, int comp)
{
    const drv_state_t *ref = NULL;

    for (int i = 0; i < s->n; i++) {
        drv_cluster_view_t v;

        if (!s->node[i].up || s->node[i].comp != comp) {
            continue;
        }
        view(s, i, &v);
        CU_ASSERT_EQUAL(v.phase, DRV_PHASE_ACTIVE);
        if (ref == NULL) {
            ref = drv_cluster_state(s->node[i].c);
        } else {
            CU_ASSERT_TRUE(drv_state_equal(ref, drv_cluster_state(s->node[i].c)));
        }
    }
}

/* ---------------------------------------------------------------------------------------- */

static void test_bootstrap(void)
{
    for (int order = 0; order < 2; order++) {
        sim_t *s = sim_new(3, order);

        for (int i = 0; i < 3; i++) {
            drv_cluster_view_t v;

            view(s, i, &v);
            CU_ASSERT_EQUAL(v.phase, DRV_PHASE_ACTIVE);
            CU_ASSERT_TRUE(v.quorate);
            CU_ASSERT_EQUAL(v.coordinator, 1);
            CU_ASSERT_EQUAL(v.n_members, 3);
            CU_ASSERT_EQUAL(drv_cluster_state(s->node[i].c)->epoch, 1);
            CU_ASSERT_TRUE(s->node[i].persists >= 1);
        }
        assert_converged(s, 0);
        sim_free(s);
    }
}

static void test_command_applies_everywhere(void)
{
    sim_t *s = sim_new(3, false);
    uint64_t req;

    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_NODE_STANDBY, "n2", NULL, true, &req), DRV_OK);
    CU_ASSERT_EQUAL(done_rc(s, 0, req), 1);
    run(s);
    CU_ASSERT_EQUAL(done_rc(s, 0, req), DRV_OK);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_TRUE(drv_state_node_admin(drv_cluster_state(s->node[i].c), "n2").standby);
        CU_ASSERT_TRUE(drv_state_node_admin(s->node[i].disk, "n2").standby);
        CU_ASSERT_EQUAL(drv_cluster_state(s->node[i].c)->seq, 1);
    }
    CU_ASSERT_EQUAL(submit(s, 2, DRV_CMD_NODE_MAINTENANCE, "n2", NULL, true, &req), DRV_OK);
    CU_ASSERT_EQUAL(submit(s, 1, DRV_CMD_NODE_STANDBY, "n2", NULL, false, NULL), DRV_OK);
    run(s);
    for (int i = 0; i < 3; i++) {
        drv_node_admin_t a = drv_state_node_admin(drv_cluster_state(s->node[i].c), "n2");

        CU_ASSERT_FALSE(a.standby);
        CU_ASSERT_TRUE(a.maintenance);
    }
    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_SETTING_SET, "k", "v", false, NULL), DRV_OK);
    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_SETTING_SET, "", "v", false, NULL), DRV_ERR_BAD_ARGS);
    run(s);
    CU_ASSERT_STRING_EQUAL(setting(s, 2, "k"), "v");
    CU_ASSERT_EQUAL(submit(s, 1, DRV_CMD_SETTING_DEL, "k", NULL, false, NULL), DRV_OK);
    run(s);
    CU_ASSERT_PTR_NULL(setting(s, 0, "k"));
    assert_converged(s, 0);
    sim_free(s);
}

/* Partition a minority away; it refuses changes; the majority's changes win after the heal,
 * whichever side holds the lowest node id (both merge orders). */
static void partition_case(int lone, bool quorum_first)
{
    sim_t *s = sim_new(3, quorum_first);
    drv_cluster_view_t v;
    uint64_t req;
    int maj = lone == 0 ? 1 : 0;
    uint64_t epoch_before;

    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_SETTING_SET, "before", "1", false, NULL), DRV_OK);
    run(s);
    epoch_before = drv_cluster_state(s->node[lone].c)->epoch;
    s->node[lone].comp = 1;
    confchg(s);

    view(s, lone, &v);
    CU_ASSERT_EQUAL(v.phase, DRV_PHASE_ACTIVE);
    CU_ASSERT_FALSE(v.quorate);
    CU_ASSERT_EQUAL(v.coordinator, 0);
    CU_ASSERT_EQUAL(submit(s, lone, DRV_CMD_SETTING_SET, "minority", "x", false, NULL),
                    DRV_ERR_NOT_QUORATE);
    view(s, maj, &v);
    CU_ASSERT_TRUE(v.quorate);
    CU_ASSERT_EQUAL(v.coordinator, lone == 0 ? 2 : 1);
    CU_ASSERT_EQUAL(submit(s, maj, DRV_CMD_SETTING_SET, "during", "2", false, &req), DRV_OK);
    run(s);
    CU_ASSERT_EQUAL(done_rc(s, maj, req), DRV_OK);
    CU_ASSERT_PTR_NULL(setting(s, lone, "during"));
    CU_ASSERT_EQUAL(drv_cluster_state(s->node[lone].c)->epoch, epoch_before);
    CU_ASSERT_TRUE(drv_cluster_state(s->node[maj].c)->epoch > epoch_before);

    s->node[lone].comp = 0;
    confchg(s);
    assert_converged(s, 0);
    CU_ASSERT_STRING_EQUAL(setting(s, lone, "during"), "2");
    CU_ASSERT_STRING_EQUAL(setting(s, lone, "before"), "1");
    CU_ASSERT_PTR_NULL(setting(s, lone, "minority"));
    view(s, lone, &v);
    CU_ASSERT_TRUE(v.quorate);
    CU_ASSERT_EQUAL(v.coordinator, 1);
    sim_free(s);
}

static void test_partition_lone_high(void)
{
    partition_case(2, false);
    partition_case(2, true);
}

static void test_partition_lone_low(void)
{
    partition_case(0, false);
    partition_case(0, true);
}

/* Merge of two minorities of 5 (2 + 2, the fifth down): neither may change anything; when
 * the fifth returns the states are identical and the merged partition is quorate. */
static void test_no_quorum_no_change(void)
{
    sim_t *s = sim_new(5, false);
    uint64_t req;

    node_stop(s, 4);
    s->node[2].comp = 1;
    s->node[3].comp = 1;
    confchg(s);
    for (int i = 0; i < 4; i++) {
        drv_cluster_view_t v;

        view(s, i, &v);
        CU_ASSERT_FALSE(v.quorate);
        CU_ASSERT_EQUAL(submit(s, i, DRV_CMD_SETTING_SET, "x", "y", false, &req),
                        DRV_ERR_NOT_QUORATE);
    }
    for (int i = 0; i < 4; i++) {
        s->node[i].comp = 0;
    }
    node_start(s, 4, drv_state_copy(s->node[4].disk));
    confchg(s);
    assert_converged(s, 0);
    CU_ASSERT_PTR_NULL(setting(s, 0, "x"));
    sim_free(s);
}

/* votequorum still says "quorate" for the old ring: the lone node must not endorse itself. */
static void test_stale_quorum_ignored(void)
{
    sim_t *s = sim_new(3, false);
    drv_member_t me = {3, s->node[2].pid};
    drv_ring_t old_ring = {1, s->ring_seq};
    drv_ring_t new_ring = {3, s->ring_seq + 100};
    drv_cluster_view_t v;

    run(s);
    s->node[2].comp = 1;
    /* hand-driven for node 3: confchg to itself alone, quorum notification of the old ring */
    drv_cluster_quorum(s->node[2].c, true, 2, old_ring);
    drv_cluster_members(s->node[2].c, &me, 1);
    drv_cluster_totem_ring(s->node[2].c, new_ring);
    run(s);
    view(s, 2, &v);
    CU_ASSERT_EQUAL(v.phase, DRV_PHASE_ACTIVE);
    CU_ASSERT_FALSE(v.quorate);
    /* now votequorum catches up */
    drv_cluster_quorum(s->node[2].c, false, 2, new_ring);
    run(s);
    view(s, 2, &v);
    CU_ASSERT_FALSE(v.quorate);
    CU_ASSERT_EQUAL(submit(s, 2, DRV_CMD_SETTING_SET, "x", "y", false, NULL), DRV_ERR_NOT_QUORATE);
    sim_free(s);
}

/* Corosync is quorate but only one daemon runs: that daemon must not be endorsed, or it
 * could change an older state than the one the stopped daemons persisted (rule Q3). */
static void test_lone_daemon_not_endorsed(void)
{
    sim_t *s = sim_new(3, false);
    drv_cluster_view_t v;
    uint64_t req;

    s->cs_everywhere = true;
    CU_ASSERT_EQUAL(submit(s, 1, DRV_CMD_SETTING_SET, "latest", "2", false, NULL), DRV_OK);
    run(s);
    node_stop(s, 1);
    node_stop(s, 2);
    confchg(s);
    view(s, 0, &v);
    CU_ASSERT_EQUAL(v.phase, DRV_PHASE_ACTIVE);
    CU_ASSERT_TRUE(v.local_quorate);
    CU_ASSERT_FALSE(v.quorate);
    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_SETTING_SET, "latest", "lone", false, &req),
                    DRV_ERR_NOT_QUORATE);
    node_start(s, 2, drv_state_copy(s->node[2].disk));
    confchg(s);
    view(s, 0, &v);
    CU_ASSERT_TRUE(v.quorate);
    CU_ASSERT_STRING_EQUAL(setting(s, 0, "latest"), "2");
    sim_free(s);
}

/* Quorum lost without a membership change (e.g. expected votes raised). */
static void test_quorum_lost_in_place(void)
{
    sim_t *s = sim_new(3, false);
    drv_ring_t ring = {1, s->ring_seq};
    drv_cluster_view_t v;

    for (int i = 0; i < 3; i++) {
        drv_cluster_quorum(s->node[i].c, false, 2, ring);
    }
    run(s);
    for (int i = 0; i < 3; i++) {
        view(s, i, &v);
        CU_ASSERT_FALSE(v.quorate);
        CU_ASSERT_EQUAL(submit(s, i, DRV_CMD_SETTING_SET, "x", "y", false, NULL),
                        DRV_ERR_NOT_QUORATE);
    }
    for (int i = 0; i < 3; i++) {
        drv_cluster_quorum(s->node[i].c, true, 2, ring);
    }
    run(s);
    view(s, 1, &v);
    CU_ASSERT_TRUE(v.quorate);
    CU_ASSERT_EQUAL(drv_cluster_state(s->node[1].c)->epoch, 2);
    sim_free(s);
}

/* A daemon restarts with what it persisted; a whole cluster restarts and keeps its state. */
static void test_restart_resync(void)
{
    sim_t *s = sim_new(3, false);
    uint64_t req;

    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_NODE_STANDBY, "n2", NULL, true, NULL), DRV_OK);
    run(s);
    node_stop(s, 1);
    confchg(s);
    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_SETTING_SET, "while-down", "1", false, &req), DRV_OK);
    run(s);
    CU_ASSERT_EQUAL(done_rc(s, 0, req), DRV_OK);
    node_start(s, 1, drv_state_copy(s->node[1].disk));
    CU_ASSERT_PTR_NULL(setting(s, 1, "while-down"));
    confchg(s);
    assert_converged(s, 0);
    CU_ASSERT_STRING_EQUAL(setting(s, 1, "while-down"), "1");

    /* whole cluster */
    for (int i = 0; i < 3; i++) {
        node_stop(s, i);
    }
    for (int i = 2; i >= 0; i--) {
        node_start(s, i, drv_state_copy(s->node[i].disk));
    }
    confchg(s);
    assert_converged(s, 0);
    CU_ASSERT_TRUE(drv_state_node_admin(drv_cluster_state(s->node[2].c), "n2").standby);
    CU_ASSERT_STRING_EQUAL(setting(s, 2, "while-down"), "1");
    sim_free(s);
}

/* A node that lost its state file (corrupt, set aside) never overrides the others, even with
 * the lowest node id. */
static void test_empty_state_loses(void)
{
    sim_t *s = sim_new(3, false);

    CU_ASSERT_EQUAL(submit(s, 1, DRV_CMD_SETTING_SET, "keep", "me", false, NULL), DRV_OK);
    run(s);
    node_stop(s, 0);
    confchg(s);
    node_start(s, 0, NULL);
    confchg(s);
    assert_converged(s, 0);
    CU_ASSERT_STRING_EQUAL(setting(s, 0, "keep"), "me");
    sim_free(s);
}

/* Garbage delivered into the group changes nothing. */
static void test_malformed_dropped(void)
{
    sim_t *s = sim_new(3, false);
    drv_state_t *before = drv_state_copy(drv_cluster_state(s->node[1].c));
    uint8_t junk[64];
    size_t len = 0;
    uint8_t *good;
    drv_cluster_view_t v;
    drv_cmd_t cmd = {DRV_CMD_SETTING_SET, "evil", "1", false};

    memset(junk, 0xA5, sizeof(junk));
    drv_cluster_deliver(s->node[1].c, 1, s->node[0].pid, junk, sizeof(junk));
    drv_cluster_deliver(s->node[1].c, 1, s->node[0].pid, NULL, 0);
    /* a valid command with one flipped byte */
    view(s, 1, &v);
    good = drv_wire_cmd(v.round, 77, &cmd, &len);
    good[len - 1] ^= 1;
    drv_cluster_deliver(s->node[1].c, 1, s->node[0].pid, good, len);
    /* a valid command truncated */
    good[len - 1] ^= 1;
    drv_cluster_deliver(s->node[1].c, 1, s->node[0].pid, good, len - 3);
    /* a valid command from a process that is not a member */
    drv_cluster_deliver(s->node[1].c, 1, 4242, good, len);
    g_free(good);
    CU_ASSERT_TRUE(drv_state_equal(before, drv_cluster_state(s->node[1].c)));
    view(s, 1, &v);
    CU_ASSERT_EQUAL(v.phase, DRV_PHASE_ACTIVE);
    CU_ASSERT_TRUE(v.quorate);
    drv_state_free(before);
    sim_free(s);
}

/* A CPG member that never speaks our protocol: the round is closed after the timeout. */
static void test_silent_member(void)
{
    sim_t *s = sim_new(3, false);
    drv_cluster_view_t v;
    uint64_t req;

    s->foreign = true;
    s->foreign_comp = 0;
    confchg(s);
    view(s, 0, &v);
    CU_ASSERT_EQUAL(v.phase, DRV_PHASE_SYNC);
    /* a request made now waits for the round instead of failing */
    CU_ASSERT_EQUAL(submit(s, 2, DRV_CMD_SETTING_SET, "queued", "1", false, &req), DRV_OK);
    tick(s, 4000);
    view(s, 0, &v);
    CU_ASSERT_EQUAL(v.phase, DRV_PHASE_ACTIVE);
    CU_ASSERT_TRUE(v.quorate);
    CU_ASSERT_EQUAL(v.n_members, 3);
    CU_ASSERT_EQUAL(done_rc(s, 2, req), DRV_OK);
    assert_converged(s, 0);
    CU_ASSERT_STRING_EQUAL(setting(s, 0, "queued"), "1");
    s->foreign = false;
    confchg(s);
    assert_converged(s, 0);
    sim_free(s);
}

/* A command in flight when the membership changes is applied once, in the next round. */
static void test_inflight_resent_once(void)
{
    sim_t *s = sim_new(3, false);
    uint64_t req;

    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_NODE_MAINTENANCE, "n1", NULL, true, &req), DRV_OK);
    /* membership changes before the command is ordered: drop the queued copy, as a ring
     * change would for a message not yet ordered */
    {
        qmsg_t *m = g_queue_pop_tail(&s->q);

        g_free(m->buf);
        g_free(m);
    }
    node_stop(s, 2);
    confchg(s);
    CU_ASSERT_EQUAL(done_rc(s, 0, req), DRV_OK);
    CU_ASSERT_EQUAL(drv_cluster_state(s->node[1].c)->seq, 1);
    CU_ASSERT_TRUE(drv_state_node_admin(drv_cluster_state(s->node[1].c), "n1").maintenance);
    sim_free(s);
}

static void test_request_timeout(void)
{
    sim_t *s = sim_new(3, false);
    uint64_t req;

    s->foreign = true; /* keeps the round in SYNC until closed */
    confchg(s);
    /* make the close impossible: stop node 1 (the closer) from ticking by taking the clock
     * past the deadline in one step before any tick has started the round timer */
    CU_ASSERT_EQUAL(submit(s, 1, DRV_CMD_SETTING_SET, "late", "1", false, &req), DRV_OK);
    s->now += 6000;
    drv_cluster_tick(s->node[1].c, s->now);
    CU_ASSERT_EQUAL(done_rc(s, 1, req), DRV_ERR_TIMEOUT);
    s->foreign = false;
    confchg(s);
    CU_ASSERT_PTR_NULL(setting(s, 1, "late"));
    sim_free(s);
}

static drv_resource_t *mkres(const char *name, const char *uuid, const char *domain)
{
    drv_resource_t *r = drv_resource_new(name);

    r->uuid = g_strdup(uuid);
    r->domain = g_strdup(domain);
    r->xml = g_strdup("<domain/>");
    r->cpu = 1;
    r->memory_mib = 64;
    return r;
}

static int res_cmd(sim_t *s, int i, drv_cmd_t cmd)
{
    uint64_t req;
    int rc = drv_cluster_submit(s->node[i].c, &cmd, s->now, 5000, &req);

    if (rc != DRV_OK) {
        return rc;
    }
    run(s);
    return done_rc(s, i, req);
}

static const drv_resource_t *res_on(sim_t *s, int i, const char *name)
{
    return g_hash_table_lookup(drv_cluster_state(s->node[i].c)->resources, name);
}

static void test_resources(void)
{
    sim_t *s = sim_new(3, false);
    drv_resource_t *a = mkres("vm1", "11111111-1111-4111-8111-111111111111", "dom1");
    drv_resource_t *b = mkres("vm2", "11111111-1111-4111-8111-111111111111", "dom2");
    drv_resource_t *c = mkres("vm3", "33333333-1111-4111-8111-111111111111", "dom1");
    uint64_t seq;

    a->assigned = g_strdup("n3"); /* runtime fields from a client are ignored */
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_ADD, "vm1", .res = a}), DRV_OK);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(res_on(s, i, "vm1"));
        CU_ASSERT_PTR_NULL(res_on(s, i, "vm1")->assigned);
        CU_ASSERT_EQUAL(res_on(s, i, "vm1")->role, DRV_ROLE_STARTED);
    }
    seq = drv_cluster_state(s->node[1].c)->seq;
    CU_ASSERT_EQUAL(res_cmd(s, 1, (drv_cmd_t){DRV_CMD_RES_ADD, "vm1", .res = a}), DRV_ERR_EXISTS);
    CU_ASSERT_EQUAL(res_cmd(s, 1, (drv_cmd_t){DRV_CMD_RES_ADD, "vm2", .res = b}), DRV_ERR_EXISTS);
    CU_ASSERT_EQUAL(res_cmd(s, 1, (drv_cmd_t){DRV_CMD_RES_ADD, "vm3", .res = c}), DRV_ERR_EXISTS);
    CU_ASSERT_EQUAL(drv_cluster_state(s->node[1].c)->seq, seq); /* refusals change nothing */
    CU_ASSERT_EQUAL(res_cmd(s, 2, (drv_cmd_t){DRV_CMD_RES_ROLE, "nope", .flag = true}),
                    DRV_ERR_UNKNOWN_RESOURCE);

    /* coordinator assignment and node reports */
    CU_ASSERT_EQUAL(
        res_cmd(s, 0,
                (drv_cmd_t){DRV_CMD_RES_ASSIGN, "vm1", "n2", .gen = res_on(s, 0, "vm1")->ver}),
        DRV_OK);
    CU_ASSERT_STRING_EQUAL(res_on(s, 2, "vm1")->assigned, "n2");
    CU_ASSERT_EQUAL(
        res_cmd(s, 1,
                (drv_cmd_t){DRV_CMD_RES_REPORT, "vm1", "n2", .obs = DRV_OBS_RUNNING, .ts = 1000}),
        DRV_OK);
    CU_ASSERT_STRING_EQUAL(drv_resource_running_elsewhere(res_on(s, 0, "vm1"), NULL), "n2");

    /* failures inside the window count up; one after it starts a new window */
    for (int k = 1; k <= 3; k++) {
        CU_ASSERT_EQUAL(res_cmd(s, 1,
                                (drv_cmd_t){DRV_CMD_RES_REPORT, "vm1", "n2", .obs = DRV_OBS_FAILED,
                                            .ts = 1000 + (uint64_t)k, .value2 = "crashed"}),
                        DRV_OK);
    }
    {
        drv_res_node_t *n = g_hash_table_lookup(res_on(s, 0, "vm1")->nodes, "n2");

        CU_ASSERT_EQUAL(n->failures, 3);
        CU_ASSERT_EQUAL(n->obs, DRV_OBS_FAILED);
        CU_ASSERT_STRING_EQUAL(res_on(s, 0, "vm1")->last_failure, "n2: crashed");
    }
    CU_ASSERT_EQUAL(res_cmd(s, 1,
                            (drv_cmd_t){DRV_CMD_RES_REPORT, "vm1", "n2", .obs = DRV_OBS_FAILED,
                                        .ts = 1000 + 11 * 60 * 1000, .value2 = "again"}),
                    DRV_OK);
    CU_ASSERT_EQUAL(
        ((drv_res_node_t *)g_hash_table_lookup(res_on(s, 2, "vm1")->nodes, "n2"))->failures, 1);
    /* a start is a clean-up */
    CU_ASSERT_EQUAL(
        res_cmd(s, 0,
                (drv_cmd_t){DRV_CMD_RES_FAILED, "vm1", "gave up", .gen = res_on(s, 0, "vm1")->ver}),
        DRV_OK);
    CU_ASSERT_STRING_EQUAL(res_on(s, 1, "vm1")->failed, "gave up");
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_ROLE, "vm1", .flag = true}), DRV_OK);
    CU_ASSERT_PTR_NULL(res_on(s, 1, "vm1")->failed);
    CU_ASSERT_EQUAL(
        ((drv_res_node_t *)g_hash_table_lookup(res_on(s, 2, "vm1")->nodes, "n2"))->failures, 0);

    /* move and clear */
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_MOVE, "vm1", "n3"}), DRV_OK);
    CU_ASSERT_STRING_EQUAL(res_on(s, 1, "vm1")->move_to, "n3");
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_MOVE, "vm1", NULL}), DRV_OK);
    CU_ASSERT_PTR_NULL(res_on(s, 1, "vm1")->move_to);

    /* remove: purged only once no node reports it running */
    CU_ASSERT_EQUAL(
        res_cmd(s, 2,
                (drv_cmd_t){DRV_CMD_RES_REPORT, "vm1", "n2", .obs = DRV_OBS_RUNNING, .ts = 5}),
        DRV_OK);
    CU_ASSERT_EQUAL(res_cmd(s, 2, (drv_cmd_t){DRV_CMD_RES_REMOVE, "vm1"}), DRV_OK);
    CU_ASSERT_EQUAL(res_on(s, 0, "vm1")->role, DRV_ROLE_REMOVING);
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_ROLE, "vm1", .flag = true}),
                    DRV_ERR_UNKNOWN_RESOURCE);
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_PURGE, "vm1"}), DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(
        res_cmd(s, 1,
                (drv_cmd_t){DRV_CMD_RES_REPORT, "vm1", "n2", .obs = DRV_OBS_STOPPED, .ts = 6}),
        DRV_OK);
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_PURGE, "vm1"}), DRV_OK);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_PTR_NULL(res_on(s, i, "vm1"));
    }
    /* the state must fit in one message: an add that would outgrow it is refused everywhere */
    {
        g_autofree char *big = g_strnfill(200 * 1024, 'x');
        int added = 0, rc = DRV_OK;
        uint64_t seq_before;

        for (int k = 0; k < 10 && rc == DRV_OK; k++) {
            char name[16], uuid[40];
            drv_resource_t *bigr;

            g_snprintf(name, sizeof(name), "big%d", k);
            g_snprintf(uuid, sizeof(uuid), "22222222-1111-4111-8111-1111111111%02d", k);
            bigr = mkres(name, uuid, name);
            g_free(bigr->xml);
            bigr->xml = g_strdup(big);
            seq_before = drv_cluster_state(s->node[0].c)->seq;
            rc = res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_ADD, name, .res = bigr});
            added += rc == DRV_OK;
            drv_resource_free(bigr);
        }
        CU_ASSERT_EQUAL(rc, DRV_ERR_LIMIT);
        CU_ASSERT_TRUE(added >= 4 && added < 10);
        CU_ASSERT_EQUAL(drv_cluster_state(s->node[1].c)->seq, seq_before);
        CU_ASSERT_TRUE(drv_wire_state_size(drv_cluster_state(s->node[2].c)) <= DRV_WIRE_MAX_MSG);
        /* long failure texts are cut, and dropped rather than outgrowing the state */
        {
            g_autofree char *longtext = g_strnfill(1000, 'e');

            CU_ASSERT_EQUAL(
                res_cmd(s, 1,
                        (drv_cmd_t){DRV_CMD_RES_REPORT, "big0", "n2", .obs = DRV_OBS_FAILED,
                                    .ts = 1, .value2 = longtext}),
                DRV_OK);
            CU_ASSERT_TRUE(strlen(res_on(s, 0, "big0")->last_failure) <= 256 + 4);
        }
        for (int k = 0; k < added; k++) {
            char name[16];

            g_snprintf(name, sizeof(name), "big%d", k);
            CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_REMOVE, name}), DRV_OK);
            CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_PURGE, name}), DRV_OK);
        }
    }
    /* the freed name and UUID can be used again */
    CU_ASSERT_EQUAL(res_cmd(s, 1, (drv_cmd_t){DRV_CMD_RES_ADD, "vm2", .res = b}), DRV_OK);
    assert_converged(s, 0);
    /* and it survives a restart from disk */
    node_stop(s, 2);
    confchg(s);
    node_start(s, 2, drv_state_copy(s->node[2].disk));
    confchg(s);
    CU_ASSERT_PTR_NOT_NULL(res_on(s, 2, "vm2"));
    drv_resource_free(a);
    drv_resource_free(b);
    drv_resource_free(c);
    sim_free(s);
}

/* Review finding 4: an assignment is applied only to the state it was computed from. Two
 * coordinators (an old one whose command is re-sent after a membership change, and a new
 * one) computing from the same version: the first applies, the second is refused, and a
 * decision computed before a report landed is refused too. */
static void test_conditional_assign(void)
{
    sim_t *s = sim_new(3, false);
    drv_resource_t *a = mkres("vm1", "11111111-1111-4111-8111-111111111111", "dom1");
    uint64_t ver, r1, r2;

    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_ADD, "vm1", .res = a}), DRV_OK);
    ver = res_on(s, 0, "vm1")->ver;
    CU_ASSERT_EQUAL(ver, 1);
    /* both computed from version 1, delivered in one order */
    CU_ASSERT_EQUAL(drv_cluster_submit(s->node[0].c,
                                       &(drv_cmd_t){DRV_CMD_RES_ASSIGN, "vm1", "n1", .gen = ver},
                                       s->now, 5000, &r1),
                    DRV_OK);
    CU_ASSERT_EQUAL(drv_cluster_submit(s->node[1].c,
                                       &(drv_cmd_t){DRV_CMD_RES_ASSIGN, "vm1", "n2", .gen = ver},
                                       s->now, 5000, &r2),
                    DRV_OK);
    run(s);
    CU_ASSERT_EQUAL(done_rc(s, 0, r1), DRV_OK);
    CU_ASSERT_EQUAL(done_rc(s, 1, r2), DRV_ERR_STALE);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_STRING_EQUAL(res_on(s, i, "vm1")->assigned, "n1");
    }
    /* a report moves the version on: a decision from before it is stale */
    ver = res_on(s, 0, "vm1")->ver;
    CU_ASSERT_EQUAL(
        res_cmd(s, 2,
                (drv_cmd_t){DRV_CMD_RES_REPORT, "vm1", "n3", .obs = DRV_OBS_RUNNING, .ts = 1}),
        DRV_OK);
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_ASSIGN, "vm1", "n2", .gen = ver}),
                    DRV_ERR_STALE);
    CU_ASSERT_STRING_EQUAL(res_on(s, 1, "vm1")->assigned, "n1");
    assert_converged(s, 0);
    drv_resource_free(a);
    sim_free(s);
}

/* Migrations are replicated records: begun only at the current version while assigned to the
 * target and moved off the source; no assignment while one is open; ended by the source as
 * done (the source released) or rolled back (the source assigned again, the target must
 * release). */
static void test_migration_records(void)
{
    sim_t *s = sim_new(3, false);
    drv_resource_t *a = mkres("vm1", "11111111-1111-4111-8111-111111111111", "dom1");
    const drv_resource_t *r;

    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_ADD, "vm1", .res = a}), DRV_OK);
    CU_ASSERT_EQUAL(
        res_cmd(s, 0,
                (drv_cmd_t){DRV_CMD_RES_ASSIGN, "vm1", "n1", .gen = res_on(s, 0, "vm1")->ver}),
        DRV_OK);
    CU_ASSERT_EQUAL(
        res_cmd(s, 0,
                (drv_cmd_t){DRV_CMD_RES_REPORT, "vm1", "n1", .obs = DRV_OBS_RUNNING, .ts = 1}),
        DRV_OK);
    /* not moved off n1 yet: no record */
    CU_ASSERT_EQUAL(res_cmd(s, 0,
                            (drv_cmd_t){DRV_CMD_RES_MIG_BEGIN, "vm1", "n1", .value2 = "n2",
                                        .gen = res_on(s, 0, "vm1")->ver}),
                    DRV_ERR_STALE);
    CU_ASSERT_EQUAL(res_cmd(s, 1,
                            (drv_cmd_t){DRV_CMD_RES_ASSIGN, "vm1", "n2", .value2 = "n1",
                                        .gen = res_on(s, 0, "vm1")->ver}),
                    DRV_OK);
    CU_ASSERT_EQUAL(res_cmd(s, 0,
                            (drv_cmd_t){DRV_CMD_RES_MIG_BEGIN, "vm1", "n1", .value2 = "n2",
                                        .gen = res_on(s, 0, "vm1")->ver - 1}),
                    DRV_ERR_STALE);
    CU_ASSERT_EQUAL(res_cmd(s, 0,
                            (drv_cmd_t){DRV_CMD_RES_MIG_BEGIN, "vm1", "n1", .value2 = "n2",
                                        .gen = res_on(s, 0, "vm1")->ver}),
                    DRV_OK);
    r = res_on(s, 2, "vm1");
    CU_ASSERT_STRING_EQUAL(r->mig_from, "n1");
    CU_ASSERT_STRING_EQUAL(r->mig_to, "n2");
    CU_ASSERT_EQUAL(r->mig_gen, r->gen);
    /* open: nobody re-targets it, whatever version */
    CU_ASSERT_EQUAL(res_cmd(s, 1,
                            (drv_cmd_t){DRV_CMD_RES_ASSIGN, "vm1", "n3", .value2 = "n1",
                                        .gen = res_on(s, 0, "vm1")->ver}),
                    DRV_ERR_STALE);
    /* rolled back: n1 assigned again, n2 must release */
    CU_ASSERT_EQUAL(
        res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_MIG_END, "vm1", "n1", .value2 = "n2", .flag = false}),
        DRV_OK);
    r = res_on(s, 1, "vm1");
    CU_ASSERT_PTR_NULL(r->mig_to);
    CU_ASSERT_STRING_EQUAL(r->assigned, "n1");
    CU_ASSERT_STRING_EQUAL(r->moving_from, "n2");
    /* an end without a record changes nothing */
    CU_ASSERT_EQUAL(
        res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_MIG_END, "vm1", "n1", .value2 = "n2", .flag = true}),
        DRV_ERR_STALE);
    /* again, done this time: n2 runs it, n1 is released at the current generation */
    CU_ASSERT_EQUAL(res_cmd(s, 1,
                            (drv_cmd_t){DRV_CMD_RES_ASSIGN, "vm1", "n2", .value2 = "n1",
                                        .gen = res_on(s, 0, "vm1")->ver}),
                    DRV_OK);
    CU_ASSERT_EQUAL(res_cmd(s, 0,
                            (drv_cmd_t){DRV_CMD_RES_MIG_BEGIN, "vm1", "n1", .value2 = "n2",
                                        .gen = res_on(s, 0, "vm1")->ver}),
                    DRV_OK);
    CU_ASSERT_EQUAL(
        res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_MIG_END, "vm1", "n1", .value2 = "n2", .flag = true}),
        DRV_OK);
    r = res_on(s, 2, "vm1");
    CU_ASSERT_STRING_EQUAL(r->assigned, "n2");
    CU_ASSERT_PTR_NULL(r->moving_from);
    CU_ASSERT_EQUAL(((drv_res_node_t *)g_hash_table_lookup(r->nodes, "n1"))->obs, DRV_OBS_STOPPED);
    assert_converged(s, 0);
    drv_resource_free(a);
    sim_free(s);
}

/* Review finding 8: a node that cannot make the state durable confirms nothing (rule C5), so
 * a change is acknowledged only once a quorum has it on disk. */
static const drv_node_fence_t *nf_on(sim_t *s, int i, const char *node)
{
    return drv_state_node_fence(drv_cluster_state(s->node[i].c), node);
}

static const drv_fence_event_t *last_event(sim_t *s, int i)
{
    const GPtrArray *h = drv_cluster_state(s->node[i].c)->fence_history;

    return h->len ? g_ptr_array_index(h, h->len - 1) : NULL;
}

/* Fence devices and levels; a fencing operation begun (conditional on the node's version),
 * failing (it stays open), succeeding (the node is down: it runs nothing, releases every VM,
 * its migration record as a source ends); the node back; the watchdog rule and the operator's
 * confirmation; the bounded history. The same on every node. */
static void test_fencing(void)
{
    sim_t *s = sim_new(3, false);
    drv_resource_t *a = mkres("vm1", "11111111-1111-4111-8111-111111111111", "dom1");
    drv_fence_dev_t *d = drv_fence_dev_new("sw-n3", "/usr/sbin/fence_sw");
    drv_fence_dev_t *bad = drv_fence_dev_new("sw-x", "fence_sw");
    const drv_resource_t *r;
    const drv_node_fence_t *f;
    uint64_t op, ver;

    g_ptr_array_add(d->keys, g_strdup("password"));
    g_ptr_array_add(d->vals, g_strdup("s3cret"));
    g_ptr_array_add(d->nodes, g_strdup("n3"));
    g_ptr_array_add(bad->nodes, g_strdup("n3"));
    /* devices and levels */
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_FENCE_DEV_ADD, "sw-n3", .dev = d}), DRV_OK);
    CU_ASSERT_EQUAL(res_cmd(s, 1, (drv_cmd_t){DRV_CMD_FENCE_DEV_ADD, "sw-n3", .dev = d}),
                    DRV_ERR_EXISTS);
    CU_ASSERT_EQUAL(res_cmd(s, 1, (drv_cmd_t){DRV_CMD_FENCE_DEV_ADD, "sw-x", .dev = bad}),
                    DRV_ERR_BAD_ARGS);
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_FENCE_LEVEL, "n3", "sw-n3,nope", .gen = 1}),
                    DRV_ERR_UNKNOWN_DEVICE);
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_FENCE_LEVEL, "n3", "sw-n3", .gen = 2}),
                    DRV_OK);
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_FENCE_DEV_REMOVE, "sw-n3"}), DRV_ERR_BUSY);
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_FENCE_DEV_REMOVE, "nope"}),
                    DRV_ERR_UNKNOWN_DEVICE);
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_FENCE_LEVEL, "n3", NULL, .gen = 1}),
                    DRV_ERR_BAD_ARGS); /* no level 1 */
    {
        g_autoptr(GPtrArray) lv = drv_state_fence_levels_for(drv_cluster_state(s->node[2].c), "n3");

        CU_ASSERT_EQUAL(lv->len, 1);
        CU_ASSERT_EQUAL(((drv_fence_level_t *)lv->pdata[0])->index, 2);
    }
    /* a VM n3 runs, and is the source of a migration to n2 */
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_ADD, "vm1", .res = a}), DRV_OK);
    ver = res_on(s, 0, "vm1")->ver;
    CU_ASSERT_EQUAL(
        res_cmd(s, 0, (drv_cmd_t){DRV_CMD_RES_ASSIGN, "vm1", "n2", .value2 = "n3", .gen = ver}),
        DRV_OK);
    CU_ASSERT_EQUAL(
        res_cmd(s, 2,
                (drv_cmd_t){DRV_CMD_RES_REPORT, "vm1", "n3", .obs = DRV_OBS_RUNNING, .ts = 1}),
        DRV_OK);
    ver = res_on(s, 0, "vm1")->ver;
    CU_ASSERT_EQUAL(
        res_cmd(s, 2, (drv_cmd_t){DRV_CMD_RES_MIG_BEGIN, "vm1", "n3", .value2 = "n2", .gen = ver}),
        DRV_OK);
    /* fencing: conditional on the node's version, never by the target itself */
    CU_ASSERT_EQUAL(
        res_cmd(s, 0, (drv_cmd_t){DRV_CMD_FENCE_BEGIN, "n3", "n1", .value2 = "off", .gen = 5}),
        DRV_ERR_STALE);
    CU_ASSERT_EQUAL(res_cmd(s, 0,
                            (drv_cmd_t){DRV_CMD_FENCE_BEGIN, "n3", "n1", .value2 = "off",
                                        .ts = 1700000000000ull, .gen = 0}),
                    DRV_OK);
    f = nf_on(s, 1, "n3");
    CU_ASSERT_FATAL(f != NULL);
    op = f->op;
    CU_ASSERT_EQUAL(op, drv_cluster_state(s->node[1].c)->seq);
    CU_ASSERT_STRING_EQUAL(f->op_executor, "n1");
    CU_ASSERT_FALSE(f->down);
    CU_ASSERT_STRING_EQUAL(last_event(s, 2)->result, "begun");
    /* a failed round: recorded, the operation stays open */
    CU_ASSERT_EQUAL(res_cmd(s, 0,
                            (drv_cmd_t){DRV_CMD_FENCE_RESULT, "n3", "sw-n3", false,
                                        "exit status 1: timeout", 2, .gen = op}),
                    DRV_OK);
    f = nf_on(s, 2, "n3");
    CU_ASSERT_EQUAL(f->op, op);
    CU_ASSERT_EQUAL(f->op_failures, 1);
    CU_ASSERT_FALSE(f->down);
    CU_ASSERT_STRING_EQUAL(last_event(s, 1)->result, "failed");
    CU_ASSERT_STRING_EQUAL(last_event(s, 1)->text, "exit status 1: timeout");
    r = res_on(s, 1, "vm1");
    CU_ASSERT_STRING_EQUAL(r->mig_from, "n3"); /* nothing released before the fence */
    /* a result for another operation is stale */
    CU_ASSERT_EQUAL(
        res_cmd(s, 0, (drv_cmd_t){DRV_CMD_FENCE_RESULT, "n3", "sw-n3", true, "", 2, .gen = op + 1}),
        DRV_ERR_STALE);
    /* success: n3 is down */
    ver = res_on(s, 0, "vm1")->ver;
    CU_ASSERT_EQUAL(res_cmd(s, 0,
                            (drv_cmd_t){DRV_CMD_FENCE_RESULT, "n3", "sw-n3", true,
                                        "Success: Powered OFF", 2, .gen = op}),
                    DRV_OK);
    for (int i = 0; i < 3; i++) {
        f = nf_on(s, i, "n3");
        CU_ASSERT_TRUE(f->down);
        CU_ASSERT_FALSE(f->down_watchdog);
        CU_ASSERT_EQUAL(f->op, 0);
        CU_ASSERT_STRING_EQUAL(f->down_how, "fenced by n1 via sw-n3 (level 2)");
        r = res_on(s, i, "vm1");
        CU_ASSERT_PTR_NULL(r->mig_to); /* its migration as a source is over */
        CU_ASSERT_EQUAL(((drv_res_node_t *)g_hash_table_lookup(r->nodes, "n3"))->obs,
                        DRV_OBS_STOPPED);
        CU_ASSERT_TRUE(r->ver > ver); /* decided again */
    }
    CU_ASSERT_STRING_EQUAL(last_event(s, 0)->result, "ok");
    /* a second confirmation is stale; the node back clears it */
    ver = nf_on(s, 0, "n3")->ver;
    CU_ASSERT_EQUAL(res_cmd(s, 0, (drv_cmd_t){DRV_CMD_NODE_DOWN, "n3", "x", true, .gen = ver}),
                    DRV_ERR_STALE);
    CU_ASSERT_EQUAL(res_cmd(s, 2, (drv_cmd_t){DRV_CMD_NODE_UP, "n3", .gen = ver}), DRV_OK);
    CU_ASSERT_FALSE(nf_on(s, 1, "n3")->down);
    CU_ASSERT_EQUAL(res_cmd(s, 2, (drv_cmd_t){DRV_CMD_NODE_UP, "n3", .gen = ver + 1}),
                    DRV_ERR_STALE); /* nothing to clear */
    /* the watchdog rule, then the operator's confirmation on top of it */
    ver = nf_on(s, 0, "n3")->ver;
    CU_ASSERT_EQUAL(
        res_cmd(s, 0, (drv_cmd_t){DRV_CMD_NODE_DOWN, "n3", "watchdog", false, .gen = ver}), DRV_OK);
    CU_ASSERT_TRUE(nf_on(s, 2, "n3")->down_watchdog);
    CU_ASSERT_EQUAL(
        res_cmd(s, 0, (drv_cmd_t){DRV_CMD_NODE_DOWN, "n3", "confirmed", true, .gen = ver + 1}),
        DRV_OK);
    CU_ASSERT_FALSE(nf_on(s, 2, "n3")->down_watchdog);
    CU_ASSERT_STRING_EQUAL(last_event(s, 2)->action, "confirm-down");
    /* a fencing begun again replaces (and records) an open one; the history stays bounded */
    for (int k = 0; k < 40; k++) {
        ver = nf_on(s, 0, "n2") ? nf_on(s, 0, "n2")->ver : 0; /* no record before the first */
        CU_ASSERT_EQUAL(
            res_cmd(s, 0,
                    (drv_cmd_t){DRV_CMD_FENCE_BEGIN, "n2", "n1", .value2 = "off", .gen = ver}),
            DRV_OK);
    }
    CU_ASSERT_STRING_EQUAL(
        ((drv_fence_event_t *)g_ptr_array_index(drv_cluster_state(s->node[0].c)->fence_history,
                                                DRV_FENCE_HISTORY_MAX - 2))
            ->result,
        "abandoned");
    CU_ASSERT_EQUAL(drv_cluster_state(s->node[1].c)->fence_history->len, DRV_FENCE_HISTORY_MAX);
    CU_ASSERT_STRING_EQUAL(last_event(s, 1)->result, "begun");
    assert_converged(s, 0);
    drv_fence_dev_free(d);
    drv_fence_dev_free(bad);
    drv_resource_free(a);
    sim_free(s);
}

static void test_no_ack_without_durability(void)
{
    sim_t *s = sim_new(3, false);
    drv_cluster_view_t v;
    uint64_t req;

    s->node[1].persist_fails = true;
    s->node[2].persist_fails = true;
    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_SETTING_SET, "k", "v", false, &req), DRV_OK);
    run(s);
    CU_ASSERT_EQUAL(done_rc(s, 0, req), 1); /* applied everywhere, durable on one: pending */
    view(s, 1, &v);
    CU_ASSERT_TRUE(v.persist_failed);
    s->node[2].persist_fails = false;
    CU_ASSERT_EQUAL(submit(s, 0, DRV_CMD_SETTING_SET, "k2", "v", false, NULL), DRV_OK);
    run(s);
    CU_ASSERT_EQUAL(done_rc(s, 0, req), DRV_OK); /* n3 durable again: both confirmed */
    view(s, 2, &v);
    CU_ASSERT_FALSE(v.persist_failed);
    sim_free(s);
}

/* Random partitions, heals, restarts and writes. Invariants after every step: each component
 * converges; at most one component is quorate; and at the end every acknowledged write's
 * latest value is what the cluster holds. */
static void test_random_histories(void)
{
    for (unsigned seed = 1; seed <= 400; seed++) {
        GRand *r = g_rand_new_with_seed(seed);
        int n = g_rand_int_range(r, 2, MAXN + 1);
        sim_t *s = sim_new(n, g_rand_boolean(r));
        GHashTable *acked = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        int serial = 0;
        /* one write left in flight across membership changes: under extended virtual
         * synchrony its sender may deliver (and acknowledge) it while the others never do */
        struct {
            int node;
            uint32_t pid;
            uint64_t req;
            char key[16], val[16];
        } fl = {-1};

        s->cs_everywhere = seed % 2 == 0;
        for (int step = 0; step < 60; step++) {
            int what = g_rand_int_range(r, 0, 12);
            int i = g_rand_int_range(r, 0, n);

            if (what >= 10 && fl.node < 0 && s->node[i].up) {
                ++serial; /* a key of its own: an acknowledged write must be there at the end */
                g_snprintf(fl.key, sizeof(fl.key), "k%d", serial);
                g_snprintf(fl.val, sizeof(fl.val), "v%d", serial);
                if (submit(s, i, DRV_CMD_SETTING_SET, fl.key, fl.val, false, &fl.req) == DRV_OK) {
                    fl.node = i;
                    fl.pid = s->node[i].pid;
                }
                what = 1; /* and a membership change right away */
            }
            if (what < 2) {
                s->node[i].comp = g_rand_int_range(r, 0, 3);
                confchg(s);
            } else if (what == 2) {
                for (int k = 0; k < n; k++) {
                    s->node[k].comp = 0;
                }
                confchg(s);
            } else if (what == 3 && s->node[i].up) {
                node_stop(s, i);
                confchg(s);
            } else if (what == 4 && !s->node[i].up) {
                /* a restart keeps its disk (losing it is test_empty_state_loses) */
                node_start(s, i, s->node[i].disk ? drv_state_copy(s->node[i].disk) : NULL);
                confchg(s);
            } else if (s->node[i].up) {
                char key[16], val[16];
                uint64_t req;
                int rc;

                ++serial;
                g_snprintf(key, sizeof(key), "k%d", serial);
                g_snprintf(val, sizeof(val), "v%d", serial);
                rc = submit(s, i, DRV_CMD_SETTING_SET, key, val, false, &req);
                run(s);
                /* the write in flight, if any, was ordered before this one */
                if (fl.node >= 0 && s->node[fl.node].up && s->node[fl.node].pid == fl.pid &&
                    done_rc(s, fl.node, fl.req) != 1) {
                    if (done_rc(s, fl.node, fl.req) == DRV_OK) {
                        g_hash_table_insert(acked, g_strdup(fl.key), g_strdup(fl.val));
                    }
                    fl.node = -1;
                }
                if (rc == DRV_OK && done_rc(s, i, req) == DRV_OK) {
                    g_hash_table_insert(acked, g_strdup(key), g_strdup(val));
                }
            }
            if (fl.node >= 0 && (!s->node[fl.node].up || s->node[fl.node].pid != fl.pid)) {
                fl.node = -1; /* its daemon died: never acknowledged */
            } else if (fl.node >= 0 && done_rc(s, fl.node, fl.req) != 1) {
                if (done_rc(s, fl.node, fl.req) == DRV_OK) {
                    g_hash_table_insert(acked, g_strdup(fl.key), g_strdup(fl.val));
                }
                fl.node = -1;
            }
            /* at most one quorate component, and each component converged */
            {
                int quorate_comps = 0;

                for (int comp = 0; comp < 3; comp++) {
                    bool q = false;

                    for (int k = 0; k < n; k++) {
                        drv_cluster_view_t v;

                        if (!s->node[k].up || s->node[k].comp != comp) {
                            continue;
                        }
                        view(s, k, &v);
                        q = q || v.quorate;
                    }
                    quorate_comps += q;
                    assert_converged(s, comp);
                }
                CU_ASSERT_TRUE(quorate_comps <= 1);
            }
        }
        /* heal everything, everyone up with what it persisted */
        for (int k = 0; k < n; k++) {
            s->node[k].comp = 0;
            if (!s->node[k].up) {
                node_start(s, k, s->node[k].disk ? drv_state_copy(s->node[k].disk) : NULL);
            }
        }
        confchg(s);
        assert_converged(s, 0);
        {
            GHashTableIter it;
            gpointer k, v;

            g_hash_table_iter_init(&it, acked);
            while (g_hash_table_iter_next(&it, &k, &v)) {
                const char *have = setting(s, 0, k);

                CU_ASSERT_PTR_NOT_NULL(have);
                if (have && strcmp(have, v) != 0) {
                    fprintf(stderr, "seed %u: key %s holds %s, last acked %s\n", seed, (char *)k,
                            have, (char *)v);
                    CU_FAIL("acknowledged write lost");
                }
            }
        }
        g_hash_table_destroy(acked);
        sim_free(s);
        g_rand_free(r);
    }
}

int main(void)
{
    CU_pSuite suite;

    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 1;
    }
    suite = CU_add_suite("cluster core", NULL, NULL);
    CU_add_test(suite, "bootstrap: one coordinator, quorate, epoch 1", test_bootstrap);
    CU_add_test(suite, "a command applies everywhere in order", test_command_applies_everywhere);
    CU_add_test(suite, "partition with the lone node highest", test_partition_lone_high);
    CU_add_test(suite, "partition with the lone node lowest", test_partition_lone_low);
    CU_add_test(suite, "no quorum, no change", test_no_quorum_no_change);
    CU_add_test(suite, "stale votequorum word ignored", test_stale_quorum_ignored);
    CU_add_test(suite, "quorum lost without membership change", test_quorum_lost_in_place);
    CU_add_test(suite, "a lone daemon is not endorsed by corosync's quorum",
                test_lone_daemon_not_endorsed);
    CU_add_test(suite, "restart and whole-cluster restart", test_restart_resync);
    CU_add_test(suite, "an empty state never wins", test_empty_state_loses);
    CU_add_test(suite, "malformed messages dropped", test_malformed_dropped);
    CU_add_test(suite, "silent member: round closed", test_silent_member);
    CU_add_test(suite, "in-flight command resent once", test_inflight_resent_once);
    CU_add_test(suite, "request timeout", test_request_timeout);
    CU_add_test(suite, "resources: add, refuse, report, fail, move, remove", test_resources);
    CU_add_test(suite, "random histories keep acked writes", test_random_histories);
    CU_add_test(suite, "assignments are conditional on the version", test_conditional_assign);
    CU_add_test(suite, "migration records", test_migration_records);
    CU_add_test(suite, "fencing: devices, levels, operations, down and back", test_fencing);
    CU_add_test(suite, "no acknowledgement without durability (C5)",
                test_no_ack_without_durability);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    {
        unsigned failed = CU_get_number_of_failures();

        CU_cleanup_registry();
        return failed ? 1 : 0;
    }
}
