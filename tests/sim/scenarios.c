/* Named regression scenarios: hand-scripted histories, one per sequence found in review.
 * Each boots its own cluster (capacities first), drives it with the same primitives as the
 * random histories, and returns false (with sim_fail) when its expectation is not met; S1 is
 * checked after every tick as always. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "drover/results.h"
#include "sim.h"

#define N1 (&s->node[0])
#define N2 (&s->node[1])
#define N3 (&s->node[2])

static const drv_resource_t *res(sim_t *s, int v)
{
    for (int i = 0; i < s->n; i++) {
        const drv_state_t *st = node_active(&s->node[i]) ? node_state(&s->node[i]) : NULL;

        if (st) {
            return g_hash_table_lookup(st->resources, sim_vm_name(v));
        }
    }
    return NULL;
}

static int node_idx(sim_t *s, const char *name)
{
    for (int i = 0; name && i < s->n; i++) {
        if (strcmp(s->node[i].name, name) == 0) {
            return i;
        }
    }
    return -1;
}

static bool runs_on(sim_t *s, int v, int i)
{
    hv_dom_t *d =
        s->node[i].host_up ? g_hash_table_lookup(s->node[i].hv.doms, sim_vm_uuid(v)) : NULL;

    return d && d->state == DRV_HA_DOM_RUNNING && !d->incoming;
}

typedef struct vn {
    int v, i;
} vn_t;

/* V runs on node I and the state says so */
static bool p_running_reported(sim_t *s, void *ud)
{
    vn_t *x = ud;
    const drv_resource_t *r = res(s, x->v);
    const drv_res_node_t *n = r ? g_hash_table_lookup(r->nodes, s->node[x->i].name) : NULL;

    return runs_on(s, x->v, x->i) && n && n->obs == DRV_OBS_RUNNING;
}

static bool wait_running(sim_t *s, int v, int i, uint64_t ms)
{
    vn_t x = {v, i};

    if (!sim_run_until(s, ms, p_running_reported, &x)) {
        sim_fail(s, "%s did not come up on %s", sim_vm_name(v), s->node[i].name);
        return false;
    }
    return true;
}

static bool expect_once(sim_t *s, int v, int on, uint64_t ms)
{
    int where[SIM_MAXN];
    int n;

    sim_run(s, ms);
    n = hv_copies(s, sim_vm_uuid(v), where);
    if (s->failure) {
        return false;
    }
    if (n != 1 || (on >= 0 && where[0] != on)) {
        sim_fail(s, "%s runs on %d host(s)%s%s, expected once%s%s", sim_vm_name(v), n,
                 n ? ", first " : "", n ? s->node[where[0]].name : "", on >= 0 ? " on " : "",
                 on >= 0 ? s->node[on].name : "");
        return false;
    }
    return true;
}

static bool expect_no_downtime(sim_t *s, int v)
{
    if (s->zero_copy_ms[v] > 0) {
        sim_fail(s, "%s ran nowhere for %llu ms (stopped)", sim_vm_name(v),
                 (unsigned long long)s->zero_copy_ms[v]);
        return false;
    }
    return true;
}

static void cpg_cut(sim_t *s, simnode_t *nd, bool links_too)
{
    sim_log(s, "SCRIPT: corosync cut of %s%s", nd->name, links_too ? " and its links" : "");
    nd->comp = 1;
    if (links_too) {
        for (int j = 0; j < s->n; j++) {
            if (j != nd->idx) {
                s->link_ok[nd->idx][j] = s->link_ok[j][nd->idx] = false;
            }
        }
    }
    s->confchg_pending = true;
}

static void heal(sim_t *s)
{
    sim_log(s, "SCRIPT: heal");
    for (int i = 0; i < s->n; i++) {
        s->node[i].comp = 0;
        for (int j = 0; j < s->n; j++) {
            s->link_ok[i][j] = true;
        }
    }
    s->confchg_pending = true;
}

/* ---- 1 ---- */

typedef struct migwait {
    int v;
    int target;
} migwait_t;

/* the target holds the incoming paused copy and the cluster knows of it: its "running" report
 * is applied, or a migration record is open (then the target reports nothing while libvirt's
 * job runs) */
static bool p_incoming_reported(sim_t *s, void *ud)
{
    migwait_t *m = ud;
    const drv_resource_t *r = res(s, m->v);
    int t = r ? node_idx(s, r->assigned) : -1;
    hv_dom_t *d;
    const drv_res_node_t *n;

    if (t < 0 || t == 0) {
        return false;
    }
    d = g_hash_table_lookup(s->node[t].hv.doms, sim_vm_uuid(m->v));
    n = g_hash_table_lookup(r->nodes, s->node[t].name);
    m->target = t;
    return d && d->incoming && ((n && n->obs == DRV_OBS_RUNNING) || r->mig_to != NULL);
}

static bool sc_migration_target_dies(sim_t *s)
{
    migwait_t m = {0, -1};

    sim_boot(s);
    s->mig_switch_ms = 60000;
    admin_add(N1, 0, 1, true, 1, "n1");
    if (!wait_running(s, 0, 0, 30000)) {
        return false;
    }
    admin_submit(N2, DRV_CMD_NODE_STANDBY, "n1", NULL, true);
    if (!sim_run_until(s, 30000, p_incoming_reported, &m)) {
        sim_fail(s, "the migration target never reported the incoming copy running");
        return false;
    }
    node_host_crash(&s->node[m.target]);
    return expect_once(s, 0, 0, 30000);
}

/* ---- 2 ---- */

static bool p_target_busy(sim_t *s, void *ud)
{
    migwait_t *m = ud;
    const drv_resource_t *r = res(s, m->v);
    int t = r ? node_idx(s, r->assigned) : -1;
    hv_dom_t *d;
    hv_op_t *op;

    if (t <= 0) {
        return false;
    }
    m->target = t;
    d = g_hash_table_lookup(s->node[t].hv.doms, sim_vm_uuid(m->v));
    op = g_queue_peek_head(&s->node[t].hv.ops);
    return (d && d->incoming) || (op && op->kind == HVOP_START);
}

static bool target_leaves(sim_t *s, bool migrate)
{
    migwait_t m = {0, -1};
    simnode_t *t;

    sim_boot(s);
    s->mig_copy_ms = 3000;
    s->mig_switch_ms = 3000;
    s->start_ms = 3000;
    admin_add(N1, 0, 1, migrate, 1, "n1");
    if (!wait_running(s, 0, 0, 30000)) {
        return false;
    }
    admin_submit(N2, DRV_CMD_NODE_STANDBY, "n1", NULL, true);
    if (!sim_run_until(s, 30000, p_target_busy, &m)) {
        sim_fail(s, "no migration or start at the target");
        return false;
    }
    t = &s->node[m.target];
    /* its report must not land: its droverd leaves the round first (the migration link
     * still works) */
    t->hold_send = true;
    cpg_cut(s, t, false);
    sim_run(s, 30000);
    heal(s);
    cpg_release(t);
    return s->failure == NULL && expect_once(s, 0, -1, 30000);
}

static bool sc_migration_target_leaves(sim_t *s)
{
    return target_leaves(s, true);
}

static bool sc_move_target_leaves(sim_t *s)
{
    return target_leaves(s, false);
}

/* 8: droverd restarts on the source while libvirt is still migrating: the new daemon must not
 * stop or destroy the domain (libvirt's job makes it busy), and it ends the record by what
 * its hypervisor shows once the job is over. The VM never stops. */
static bool p_source_migrating(sim_t *s, void *ud)
{
    hv_op_t *op = hv_migration(&N1->hv);

    (void)ud;
    return op != NULL && strcmp(op->uuid, sim_vm_uuid(0)) == 0;
}

static bool sc_source_restart_mid_migration(sim_t *s)
{
    sim_boot(s);
    s->mig_copy_ms = 6000;
    s->mig_switch_ms = 2000;
    admin_add(N1, 0, 1, true, 1, "n1");
    if (!wait_running(s, 0, 0, 30000)) {
        return false;
    }
    admin_submit(N2, DRV_CMD_NODE_STANDBY, "n1", NULL, true);
    if (!sim_run_until(s, 30000, p_source_migrating, NULL)) {
        sim_fail(s, "the source never started migrating");
        return false;
    }
    sim_log(s, "SCRIPT: droverd on n1 restarts while libvirt migrates vm1");
    node_daemon_stop(N1);
    sim_run(s, 500);
    node_daemon_start(N1);
    sim_run(s, 30000);
    return s->failure == NULL && expect_no_downtime(s, 0) && expect_once(s, 0, -1, 30000);
}

/* ---- review 1: an ASSIGN delivered only on the coordinator's side of a partition (rule C7) ----
 */

static bool p_held(sim_t *s, void *ud)
{
    return g_queue_get_length(&((simnode_t *)ud)->held) > 0;
}

static bool sc_transitional_assign(sim_t *s)
{
    sim_boot(s);
    s->eval_gap = true;
    N1->hold_from_assign = true;
    admin_add(N2, 0, 1, true, 1, "n1");
    if (!sim_run_until(s, 20000, p_held, N1)) {
        sim_fail(s, "n1 never assigned");
        return false;
    }
    /* n1's ASSIGN(vm1 -> n1) is multicast in the current ring; n1 is cut off before anyone
     * else receives it (EVS: n1 delivers it in its transitional configuration) */
    cpg_release(N1);
    cpg_cut(s, N1, false);
    sim_run(s, 30000);
    return expect_once(s, 0, -1, 1000);
}

/* ---- review 3: a FAILED report that is also the release: the expiry must not re-count it ---- */

static bool p_n1_start_queued(sim_t *s, void *ud)
{
    hv_op_t *op = g_queue_peek_head(&s->node[0].hv.ops);

    (void)ud;
    return op && op->kind == HVOP_START;
}

static bool sc_expire_failed(sim_t *s)
{
    const drv_resource_t *r;
    const drv_res_node_t *n;
    uint64_t ver0;

    sim_boot(s);
    admin_submit(N1, DRV_CMD_SETTING_SET, "property/failure-window", "60", false);
    sim_run(s, 500);
    s->start_ms = 4000;
    s->p_start_fail = 1000;
    admin_add(N2, 0, 1, false, 1, "n1");
    if (!sim_run_until(s, 20000, p_n1_start_queued, NULL)) {
        sim_fail(s, "n1 never started vm1");
        return false;
    }
    s->p_start_fail = 0;
    admin_submit(N2, DRV_CMD_NODE_STANDBY, "n1", NULL, true);
    if (!wait_running(s, 0, 1, 30000)) {
        return false;
    }
    admin_submit(N2, DRV_CMD_NODE_STANDBY, "n1", NULL, false);
    sim_run(s, 5000);
    r = res(s, 0);
    ver0 = r->ver;
    n = g_hash_table_lookup(r->nodes, "n1");
    sim_log(s, "after move: n1 obs %d failures %u ver %llu", n ? (int)n->obs : -1,
            n ? n->failures : 0, (unsigned long long)ver0);
    for (int k = 0; k < 6; k++) {
        sim_run(s, 60000);
        r = res(s, 0);
        n = g_hash_table_lookup(r->nodes, "n1");
        sim_log(s, "t+%d min: n1 obs %d failures %u ver %llu", k + 1, n ? (int)n->obs : -1,
                n ? n->failures : 0, (unsigned long long)r->ver);
    }
    if (n && n->failures > 0) {
        sim_fail(s, "n1's failure count of vm1 never expires (obs %d, failures %u)", (int)n->obs,
                 n->failures);
        return false;
    }
    return true;
}

/* ---- review: a start in flight in libvirtd across a droverd restart ---- */

static bool sc_start_across_restart(sim_t *s)
{
    sim_boot(s);
    s->start_ms = 8000;
    admin_add(N2, 0, 1, false, 1, "n1");
    if (!sim_run_until(s, 20000, p_n1_start_queued, NULL)) {
        sim_fail(s, "n1 never started vm1");
        return false;
    }
    node_daemon_stop(N1);
    sim_run(s, 200);
    node_daemon_start(N1);
    sim_run(s, 300);
    admin_submit(N2, DRV_CMD_NODE_STANDBY, "n1", NULL, true);
    sim_run(s, 30000);
    return expect_once(s, 0, -1, 1000);
}

/* ---- review 2: the state never outgrows its cap (each growing command is checked) ---- */

#include "wire.h"

static int add_filler(sim_t *s, int k, size_t xml_len)
{
    drv_resource_t *r = drv_resource_new(NULL);
    drv_cmd_t cmd = {.type = DRV_CMD_RES_ADD};
    uint64_t req = 0;
    int rc;

    g_free(r->name);
    r->name = g_strdup_printf("filler%d", k);
    r->uuid = g_strdup_printf("00000000-0000-4000-8000-1000000000%02d", k);
    r->domain = g_strdup(r->name);
    r->xml = g_malloc(xml_len + 1);
    memset(r->xml, 'x', xml_len);
    r->xml[xml_len] = 0;
    r->cpu = 1;
    r->memory_mib = 512;
    r->role = DRV_ROLE_STOPPED;
    cmd.name = r->name;
    cmd.res = r;
    rc = drv_cluster_submit(N1->c, &cmd, s->now, 5000, &req);
    sim_run(s, 300);
    drv_resource_free(r);
    return rc;
}

static bool sc_state_cap(sim_t *s)
{
    sim_boot(s);
    /* fill the state in steps down to a few bytes of room; whatever is accepted, probes,
     * assignments and texts follow, and a daemon restart makes the winner encode STATE */
    size_t base;
    drv_resource_t *probe = drv_resource_new("filler0");

    probe->uuid = g_strdup("00000000-0000-4000-8000-100000000000");
    probe->domain = g_strdup("filler0");
    probe->xml = g_strdup("x");
    probe->cpu = 1;
    probe->memory_mib = 512;
    base = drv_wire_resource_size(probe) - 1;
    drv_resource_free(probe);
    for (int k = 0; k < 12; k++) {
        size_t sz = drv_wire_state_size(node_state(N1));
        size_t room = sz < DRV_WIRE_MAX_MSG ? DRV_WIRE_MAX_MSG - sz : 0;

        /* big ones, then one that leaves 40 bytes (refused when room is reserved) */
        add_filler(s, k, room > 250 * 1024 ? 250 * 1024 : room > base + 41 ? room - base - 40 : 1);
    }
    sim_run(s, 3000);
    node_daemon_stop(N3);
    sim_run(s, 500);
    node_daemon_start(N3);
    sim_run(s, 3000);
    for (int i = 0; i < s->n; i++) {
        if (node_state(&s->node[i]) != NULL &&
            drv_wire_state_size(node_state(&s->node[i])) > DRV_WIRE_MAX_MSG) {
            sim_fail(s, "%s's state outgrew its cap", s->node[i].name);
            return false;
        }
    }
    return s->failure == NULL;
}

/* 2, third form: a live migration n1 -> n2 is in flight and n2's report cannot land yet; the
 * VM is moved on to n3 meanwhile. Re-targeting it during the migration would let n3 start a
 * copy once n1 says the VM left, while n2 runs it. */
static bool sc_retarget_during_migration(sim_t *s)
{
    sim_boot(s);
    s->mig_copy_ms = 4000;
    admin_add(N1, 0, 1, true, 1, "n1");
    if (!wait_running(s, 0, 0, 30000)) {
        return false;
    }
    admin_submit(N2, DRV_CMD_RES_MOVE, sim_vm_name(0), "n2", false);
    if (!sim_run_until(s, 30000, p_source_migrating, NULL)) {
        sim_fail(s, "the source never started migrating");
        return false;
    }
    N2->hold_send = true;
    admin_submit(N3, DRV_CMD_RES_MOVE, sim_vm_name(0), "n3", false);
    sim_run(s, 15000);
    cpg_release(N2);
    return expect_once(s, 0, -1, 40000);
}

/* ---- 3 ---- */

static bool p_assigned(sim_t *s, void *ud)
{
    const drv_resource_t *r = res(s, GPOINTER_TO_INT(ud));

    return r && r->assigned;
}

static bool sc_add_running_domain(sim_t *s)
{
    sim_boot(s);
    hv_put(&N3->hv, sim_vm_uuid(0), DRV_HA_DOM_RUNNING);
    sim_run(s, 500);
    N3->hold_send = true; /* n3's report is ordered after the first placement */
    admin_add(N1, 0, 1, true, 1, NULL);
    /* a placement before n3's report would start a second copy (checked after every step);
     * with probes, nothing is placed until n3 has reported */
    sim_run_until(s, 20000, p_assigned, GINT_TO_POINTER(0));
    cpg_release(N3);
    return expect_once(s, 0, 2, 30000);
}

/* ---- 4 ---- */

static bool p_start_in_flight(sim_t *s, void *ud)
{
    (void)ud;
    for (int i = 1; i < s->n; i++) {
        hv_op_t *op = g_queue_peek_head(&s->node[i].hv.ops);

        if (op && op->kind == HVOP_START) {
            return true;
        }
    }
    return false;
}

static bool sc_stale_assign(sim_t *s)
{
    sim_boot(s);
    s->start_ms = 4000;
    /* the coordinator (n1) computes ASSIGN(vm1, n1); it waits in n1's send queue (which
     * stalls there, everything after it waits too) */
    N1->hold_from_assign = true;
    N1->release_on_confchg = true;
    admin_add(N2, 0, 1, true, 1, "n1");
    sim_run(s, 1000);
    /* n1 leaves; n2 coordinates and assigns vm1 elsewhere; while that start is in flight, n1
     * comes back and the resend rule sends its old ASSIGN */
    cpg_cut(s, N1, true);
    if (!sim_run_until(s, 20000, p_start_in_flight, NULL)) {
        sim_fail(s, "the new coordinator never started vm1");
        return false;
    }
    heal(s);
    return expect_once(s, 0, -1, 30000);
}

/* 4, second form: the coordinator computes ASSIGN(vm1 -> n1) from S; before it lands,
 * another command (n1 goes into standby) gives S', from which the same coordinator computes
 * ASSIGN(vm1 -> elsewhere), both from the same resource version. The first lands, n1 starts
 * vm1; then the second lands: applied, it would let a second node start vm1 while n1's
 * start is in flight. */
static bool sc_stale_assign_pair(sim_t *s)
{
    sim_boot(s);
    s->start_ms = 8000;
    N1->hold_from_assign = true;
    admin_add(N2, 0, 1, true, 1, "n1");
    if (!sim_run_until(s, 20000, p_held, N1)) {
        sim_fail(s, "n1 never assigned");
        return false;
    }
    admin_submit(N2, DRV_CMD_NODE_STANDBY, "n1", NULL, true);
    sim_run(s, 1000); /* n1 computes the second assignment behind the first */
    sim_log(s, "SCRIPT: n1's first assignment goes out alone");
    cpg_release_one(N1);
    sim_run(s, 2000); /* applied, confirmed by n2 and n3: n1 starts vm1 */
    sim_log(s, "SCRIPT: then the second, computed from the same version");
    cpg_release_one(N1);
    sim_run(s, 2000);
    sim_log(s, "SCRIPT: the rest of n1's queue goes out");
    cpg_release(N1);
    return expect_once(s, 0, -1, 40000);
}

/* ---- 5 ---- */

static bool sc_phantom_preempt(sim_t *s)
{
    for (int i = 0; i < s->n; i++) {
        s->node[i].cpu = 8;
    }
    sim_boot(s);
    admin_add(N1, 0, 2, true, 8, "n3"); /* vm1 high, fills n3 */
    admin_add(N1, 1, 0, true, 4, "n1"); /* vm2 low */
    admin_add(N1, 2, 1, true, 4, "n2"); /* vm3 medium */
    if (!wait_running(s, 0, 2, 30000) || !wait_running(s, 1, 0, 30000) ||
        !wait_running(s, 2, 1, 30000)) {
        return false;
    }
    node_daemon_stop(N3); /* its VM still runs */
    sim_run(s, 20000);
    if (!expect_no_downtime(s, 1)) {
        return false;
    }
    /* draining n1 meanwhile: vm2 fits on n2 and must migrate, not stop */
    admin_submit(N2, DRV_CMD_NODE_STANDBY, "n1", NULL, true);
    sim_run(s, 30000);
    if (!expect_no_downtime(s, 1)) {
        return false;
    }
    node_daemon_start(N3);
    return expect_once(s, 0, 2, 20000) && expect_once(s, 1, -1, 1000);
}

/* ---- 6 ---- */

static bool sc_move_to_full(sim_t *s)
{
    for (int i = 0; i < s->n; i++) {
        s->node[i].cpu = 4;
    }
    sim_boot(s);
    admin_add(N1, 0, 1, true, 4, "n1");
    admin_add(N1, 1, 1, true, 4, "n2");
    if (!wait_running(s, 0, 0, 30000) || !wait_running(s, 1, 1, 30000)) {
        return false;
    }
    admin_submit(N1, DRV_CMD_RES_MOVE, "vm1", "n2", false); /* n2 is full */
    sim_run(s, 20000);
    if (!expect_no_downtime(s, 0)) {
        return false;
    }
    admin_submit(N1, DRV_CMD_RES_MOVE, "vm1", NULL, false);
    sim_run(s, 5000);
    node_daemon_stop(N3);
    sim_run(s, 2000);
    admin_submit(N1, DRV_CMD_RES_MOVE, "vm1", "n3", false); /* its droverd is down */
    sim_run(s, 20000);
    return expect_no_downtime(s, 0) && expect_once(s, 0, -1, 1000);
}

/* ---- 7 ---- */

static bool sc_clock_step(sim_t *s)
{
    sim_boot(s);
    admin_add(N1, 0, 1, true, 1, "n2");
    if (!wait_running(s, 0, 1, 30000)) {
        return false;
    }
    N2->wall_offset_ms -= 3600 * 1000;
    sim_log(s, "SCRIPT: n2's wall clock steps back 1 h");
    for (int k = 0; k < 8; k++) {
        vn_t x = {0, 1};

        if (!sim_run_until(s, 20000, p_running_reported, &x)) {
            break; /* not restarted on n2 any more */
        }
        sim_log(s, "SCRIPT: vm1 crashes on n2 (%d)", k + 1);
        hv_vm_crash(&N2->hv, sim_vm_uuid(0), false);
        sim_run(s, 500);
    }
    sim_run(s, 30000);
    if (!runs_on(s, 0, 0) && !runs_on(s, 0, 2)) {
        sim_fail(s, "vm1 was not relocated after failing repeatedly on n2");
        return false;
    }
    return true;
}

/* ---- fencing ---- */

static const drv_node_fence_t *fence_rec(sim_t *s, const char *node)
{
    for (int i = 0; i < s->n; i++) {
        const drv_state_t *st = node_active(&s->node[i]) ? node_state(&s->node[i]) : NULL;

        if (st) {
            return drv_state_node_fence(st, node);
        }
    }
    return NULL;
}

/* three VMs that prefer n3, running there */
static bool three_on_n3(sim_t *s)
{
    sim_boot(s);
    for (int v = 0; v < 3; v++) {
        admin_add(N1, v, (uint8_t)v, true, 1, "n3");
    }
    for (int v = 0; v < 3; v++) {
        if (!wait_running(s, v, 2, 30000)) {
            return false;
        }
    }
    return true;
}

typedef struct recov {
    int from; /* the node they left */
    int n;
} recov_t;

/* the first N VMs run once each, none on FROM */
static bool p_recovered(sim_t *s, void *ud)
{
    recov_t *x = ud;

    for (int v = 0; v < x->n; v++) {
        int where[SIM_MAXN];

        if (hv_copies(s, sim_vm_uuid(v), where) != 1 || where[0] == x->from) {
            return false;
        }
    }
    return true;
}

static bool none_run(sim_t *s, int n)
{
    for (int v = 0; v < n; v++) {
        if (hv_copies(s, sim_vm_uuid(v), NULL) != 0) {
            sim_fail(s, "%s was recovered before its node was known down", sim_vm_name(v));
            return false;
        }
    }
    return true;
}

/* n3 is cut off and, with no-quorum-policy freeze, keeps its VMs running: the majority must
 * power it off before it starts them (S1 catches an early start); then they run once each. */
static bool sc_partition_fence(sim_t *s)
{
    recov_t x = {2, 3};
    uint64_t t0;

    s->fencing = true;
    s->fence_min_ms = s->fence_max_ms = 1500;
    if (!three_on_n3(s)) {
        return false;
    }
    admin_submit(N1, DRV_CMD_SETTING_SET, "property/no-quorum-policy", "freeze", false);
    sim_run(s, 500);
    cpg_cut(s, N3, true);
    t0 = s->now;
    if (!sim_run_until(s, 20000, p_recovered, &x)) {
        sim_fail(s, "the VMs of the fenced node were not recovered within 20 s");
        return false;
    }
    sim_log(s, "SCRIPT: recovered %llu ms after the cut", (unsigned long long)(s->now - t0));
    if (N3->host_up || fence_rec(s, "n3") == NULL || !fence_rec(s, "n3")->down) {
        sim_fail(s, "n3 was not fenced");
        return false;
    }
    return expect_once(s, 0, -1, 5000) && expect_once(s, 1, -1, 0) && expect_once(s, 2, -1, 0);
}

/* the fence agent always fails: nothing is recovered, the failures are counted; once the
 * operator confirms the node down, its VMs run elsewhere */
static bool sc_fence_fails_confirm(sim_t *s)
{
    recov_t x = {2, 3};
    const drv_node_fence_t *f;

    s->fencing = true;
    s->p_fence_fail = 1000;
    if (!three_on_n3(s)) {
        return false;
    }
    node_host_crash(N3);
    sim_run(s, 30000);
    f = fence_rec(s, "n3");
    if (!none_run(s, 3)) {
        return false;
    }
    if (f == NULL || f->down || f->op == 0 || f->op_failures < 3) {
        sim_fail(s, "expected n3 unclean with a fencing failing again and again (%u failures)",
                 f ? f->op_failures : 0);
        return false;
    }
    admin_submit(N1, DRV_CMD_NODE_DOWN, "n3", "confirmed down by the operator", true);
    /* (the sim's admin_submit carries no version: a second try with the current one) */
    sim_run(s, 200);
    f = fence_rec(s, "n3");
    if (f != NULL && !f->down) {
        drv_cmd_t cmd = {.type = DRV_CMD_NODE_DOWN,
                         .name = "n3",
                         .value = "confirmed down by the operator",
                         .flag = true,
                         .gen = f->ver};
        uint64_t req;

        drv_cluster_submit(N1->c, &cmd, s->now, 5000, &req);
    }
    if (!sim_run_until(s, 20000, p_recovered, &x)) {
        sim_fail(s, "not recovered after confirm-down");
        return false;
    }
    return true;
}

/* no fence device, a 5 s watchdog: n3 cut off stops its VMs (no-quorum-policy stop); the
 * majority takes it as down only 2 x 5 s after it left, then recovers them */
static bool sc_watchdog_only(sim_t *s)
{
    recov_t x = {2, 3};
    uint64_t t0;

    s->watchdog_ms = 5000;
    if (!three_on_n3(s)) {
        return false;
    }
    cpg_cut(s, N3, true);
    t0 = s->now;
    if (!sim_run_until(s, 30000, p_recovered, &x)) {
        sim_fail(s, "not recovered within 30 s by the watchdog rule");
        return false;
    }
    if (s->now - t0 < 2 * s->watchdog_ms) {
        sim_fail(s, "recovered %llu ms after the cut: earlier than 2 x the watchdog timeout",
                 (unsigned long long)(s->now - t0));
        return false;
    }
    if (!N3->host_up) {
        sim_fail(s, "n3 was reset by its watchdog instead of stopping its VMs");
        return false;
    }
    return true;
}

/* the watchdog resets a cut-off node that cannot stop its VMs (libvirtd is down) */
static bool sc_watchdog_resets(sim_t *s)
{
    recov_t x = {2, 3};

    s->watchdog_ms = 5000;
    if (!three_on_n3(s)) {
        return false;
    }
    hv_libvirtd_restart(&N3->hv, 60000);
    cpg_cut(s, N3, true);
    if (!sim_run_until(s, 30000, p_recovered, &x)) {
        sim_fail(s, "not recovered within 30 s");
        return false;
    }
    if (N3->host_up) {
        sim_fail(s, "n3 could not stop its VMs and was not reset by its watchdog");
        return false;
    }
    return true;
}

/* 5 nodes: the coordinator dies while it runs the fence agent against n3; the next
 * coordinator (3 of 5 are left: a quorum) fences again, then the VMs are recovered */
static bool sc_executor_dies(sim_t *s)
{
    recov_t x = {2, 3};
    const drv_node_fence_t *f;

    s->fencing = true;
    s->fence_min_ms = s->fence_max_ms = 4000;
    if (!three_on_n3(s)) {
        return false;
    }
    admin_submit(N1, DRV_CMD_SETTING_SET, "property/no-quorum-policy", "freeze", false);
    sim_run(s, 500);
    cpg_cut(s, N3, true);
    sim_run(s, 1500);
    f = fence_rec(s, "n3");
    if (f == NULL || f->op == 0) {
        sim_fail(s, "no fencing of n3 under way");
        return false;
    }
    node_host_crash(&s->node[node_idx(s, f->op_executor)]);
    /* its agent dies with it: the sim's in-flight run is dropped */
    g_ptr_array_set_size(s->fences, 0);
    x.n = 3;
    if (!sim_run_until(s, 30000, p_recovered, &x)) {
        sim_fail(s, "not recovered after the executor died");
        return false;
    }
    return !N3->host_up || (sim_fail(s, "n3 was never fenced"), false);
}

static bool p_two_failures(sim_t *s, void *ud)
{
    const drv_node_fence_t *f = fence_rec(s, "n3");

    (void)ud;
    return f != NULL && f->op_failures >= 2;
}

/* n3 comes back while the fencing of it is still under way (its agent failed twice, the
 * next round is due just as n3 rejoins, and would now succeed): no new round is started
 * against a node that is back, n3 cancels the fencing and keeps its VMs */
static bool sc_rejoin_cancels(sim_t *s)
{
    const drv_node_fence_t *f;

    s->fencing = true;
    s->p_fence_fail = 1000;
    s->fence_min_ms = s->fence_max_ms = 1000;
    if (!three_on_n3(s)) {
        return false;
    }
    admin_submit(N1, DRV_CMD_SETTING_SET, "property/no-quorum-policy", "freeze", false);
    sim_run(s, 500);
    cpg_cut(s, N3, true);
    if (!sim_run_until(s, 20000, p_two_failures, NULL)) {
        sim_fail(s, "the fencing of n3 did not fail twice");
        return false;
    }
    sim_run(s, 3900); /* the third round is due 4 s after the second failure */
    s->p_fence_fail = 0;
    /* n3's libvirtd restarts: it says it is back (NODE_UP) only once that is over, so the
     * executor sees it in the round for a while before the fencing is cancelled */
    hv_libvirtd_restart(&N3->hv, 5000);
    heal(s);
    sim_run(s, 9000);
    f = fence_rec(s, "n3");
    if (!N3->host_up || f == NULL || f->op != 0 || f->down) {
        sim_fail(s, "n3 came back, yet %s",
                 N3->host_up ? "its fencing was not cancelled" : "it was powered off");
        return false;
    }
    return expect_once(s, 0, 2, 0) && expect_once(s, 1, 2, 0) && expect_once(s, 2, 2, 0);
}

const sim_scenario_t sim_scenarios[] = {
    {"partition-fence", sc_partition_fence},
    {"fence-fails-confirm-down", sc_fence_fails_confirm},
    {"watchdog-only", sc_watchdog_only},
    {"watchdog-resets", sc_watchdog_resets},
    {"fence-executor-dies", sc_executor_dies, 5},
    {"rejoin-cancels-fence", sc_rejoin_cancels},
    {"migration-target-dies", sc_migration_target_dies},
    {"migration-target-leaves", sc_migration_target_leaves},
    {"move-target-leaves", sc_move_target_leaves},
    {"add-running-domain", sc_add_running_domain},
    {"stale-assign", sc_stale_assign},
    {"stale-assign-pair", sc_stale_assign_pair},
    {"phantom-preempt", sc_phantom_preempt},
    {"move-to-full", sc_move_to_full},
    {"clock-step", sc_clock_step},
    {"source-restart-mid-migration", sc_source_restart_mid_migration},
    {"retarget-during-migration", sc_retarget_during_migration},
    {"transitional-assign", sc_transitional_assign},
    {"expire-failed", sc_expire_failed},
    {"start-across-restart", sc_start_across_restart},
    {"state-cap", sc_state_cap},
    {NULL, NULL},
};
