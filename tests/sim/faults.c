/* The fault scheduler: one random event per step of a history, drawn from the seeded PRNG,
 * then some virtual time passes. faults_heal_all() ends the faults of a history. */
#include "config.h"

#include <string.h>

#include "drover/results.h"
#include "sim.h"

static simnode_t *pick(sim_t *s)
{
    return &s->node[g_rand_int_range(s->rng, 0, s->n)];
}

static simnode_t *pick_daemon(sim_t *s)
{
    for (int tries = 0; tries < 10; tries++) {
        simnode_t *nd = pick(s);

        if (nd->daemon_up) {
            return nd;
        }
    }
    return NULL;
}

static void set_links(sim_t *s, bool ok)
{
    for (int i = 0; i < s->n; i++) {
        for (int j = 0; j < s->n; j++) {
            s->link_ok[i][j] = ok || s->node[i].comp == s->node[j].comp;
        }
    }
}

static void partition(sim_t *s, bool cut_links, bool cpg_too)
{
    uint32_t side = (uint32_t)g_rand_int_range(s->rng, 1, (1 << s->n) - 1);

    sim_log(s, "FAULT: partition 0x%x%s%s", side, cpg_too ? "" : " (migration links only)",
            cut_links ? "" : " (migration links kept)");
    if (!cpg_too) {
        for (int i = 0; i < s->n; i++) {
            for (int j = 0; j < s->n; j++) {
                s->link_ok[i][j] = ((side >> i) & 1) == ((side >> j) & 1);
            }
        }
        return;
    }
    for (int i = 0; i < s->n; i++) {
        s->node[i].comp = (side >> i) & 1;
    }
    set_links(s, !cut_links);
    s->confchg_pending = true;
}

static bool ever_submitted(sim_t *s, const char *vm)
{
    for (guint i = 0; i < s->admin->len; i++) {
        admin_rec_t *a = g_ptr_array_index(s->admin, i);

        if (a->type == DRV_CMD_RES_ADD && strcmp(a->name, vm) == 0) {
            return true;
        }
    }
    return false;
}

/* Does any daemon's state have ND as fenced (down, not by the watchdog rule)? */
static bool power_fenced(sim_t *s, simnode_t *nd)
{
    for (int i = 0; i < s->n; i++) {
        const drv_state_t *st = node_state(&s->node[i]);
        const drv_node_fence_t *f = st ? drv_state_node_fence(st, nd->name) : NULL;

        if (f != NULL && f->down && !f->down_watchdog) {
            return true;
        }
    }
    return false;
}

static void admin_random(sim_t *s)
{
    simnode_t *nd = pick_daemon(s);
    int v = g_rand_int_range(s->rng, 0, SIM_NVM);
    const char *vm = sim_vm_name(v);
    simnode_t *other = pick(s);

    if (nd == NULL) {
        return;
    }
    switch (g_rand_int_range(s->rng, 0, 9)) {
    case 0:
    case 1:
        /* a domain already running outside Drover, never a resource so far (a human starting
         * a managed VM by hand elsewhere is not a fault Drover can prevent; nor is one started
         * by hand on a host the cluster fenced, which booted and stays outside the cluster:
         * a fenced node is taken to run nothing until it is back, as Pacemaker's offline
         * clean nodes) */
        if (g_rand_int_range(s->rng, 0, 4) == 0 && hv_copies(s, sim_vm_uuid(v), NULL) == 0 &&
            other->host_up && !ever_submitted(s, vm) && !power_fenced(s, other)) {
            sim_log(s, "FAULT: %s runs %s outside Drover before the add", other->name, vm);
            hv_put(&other->hv, sim_vm_uuid(v), DRV_HA_DOM_RUNNING);
        }
        admin_add(nd, v, (uint8_t)g_rand_int_range(s->rng, 0, 3),
                  g_rand_int_range(s->rng, 0, 4) != 0, (uint32_t)g_rand_int_range(s->rng, 1, 3),
                  NULL);
        break;
    case 2:
        admin_submit(nd, DRV_CMD_RES_REMOVE, vm, NULL, false);
        break;
    case 3:
        admin_submit(nd, DRV_CMD_RES_MOVE, vm, g_rand_boolean(s->rng) ? other->name : NULL, false);
        break;
    case 4:
        admin_submit(nd, DRV_CMD_RES_ROLE, vm, NULL, g_rand_boolean(s->rng));
        break;
    case 5:
    case 6:
        admin_submit(nd, DRV_CMD_NODE_STANDBY, other->name, NULL, true);
        break;
    default:
        admin_submit(nd, DRV_CMD_NODE_STANDBY, other->name, NULL, false);
        break;
    }
}

void faults_random_step(sim_t *s)
{
    simnode_t *nd = pick(s);
    unsigned w = (unsigned)g_rand_int_range(s->rng, 0, 100);

    if (w < 30) {
        admin_random(s);
    } else if (w < 36) {
        if (nd->host_up) {
            node_host_crash(nd);
        } else {
            node_host_boot(nd);
        }
    } else if (w < 44) {
        for (int i = 0; i < s->n; i++) {
            if (!s->node[i].host_up && g_rand_boolean(s->rng)) {
                node_host_boot(&s->node[i]);
            }
        }
    } else if (w < 50) {
        if (nd->daemon_up) {
            node_daemon_stop(nd);
            nd->daemon_start_at = s->now + (uint64_t)g_rand_int_range(s->rng, 100, 8000);
            sim_log(s, "FAULT: %s droverd restart", nd->name);
        }
    } else if (w < 55) {
        partition(s, true, true);
    } else if (w < 58) {
        partition(s, false, true);
    } else if (w < 60) {
        partition(s, true, false);
    } else if (w < 67) {
        sim_log(s, "FAULT: heal");
        for (int i = 0; i < s->n; i++) {
            s->node[i].comp = 0;
        }
        set_links(s, true);
        s->confchg_pending = true;
    } else if (w < 71) {
        if (nd->daemon_up) {
            sim_log(s, "FAULT: %s's multicasts wait until the ring changes", nd->name);
            nd->hold_send = true;
            nd->release_on_confchg = true;
        }
    } else if (w < 79) {
        int v = g_rand_int_range(s->rng, 0, SIM_NVM);
        int where[SIM_MAXN];

        if (hv_copies(s, sim_vm_uuid(v), where) > 0) {
            sim_log(s, "FAULT: %s crashes on %s", sim_vm_name(v), s->node[where[0]].name);
            hv_vm_crash(&s->node[where[0]].hv, sim_vm_uuid(v), g_rand_int_range(s->rng, 0, 4) == 0);
        }
    } else if (w < 85) {
        for (int i = 0; i < s->n; i++) {
            hv_op_t *op = s->node[i].host_up ? hv_migration(&s->node[i].hv) : NULL;

            if (op == NULL) {
                continue;
            }
            switch (g_rand_int_range(s->rng, 0, 4)) {
            case 0:
                sim_log(s, "FAULT: migration target %s dies", s->node[op->target].name);
                node_host_crash(&s->node[op->target]);
                break;
            case 1:
                sim_log(s, "FAULT: migration link %s-%s breaks", s->node[i].name,
                        s->node[op->target].name);
                s->link_ok[i][op->target] = s->link_ok[op->target][i] = false;
                break;
            case 2:
                sim_log(s, "FAULT: migration on %s aborted", s->node[i].name);
                hv_migration_abort(&s->node[i].hv);
                break;
            default:
                sim_log(s, "FAULT: migration source %s dies", s->node[i].name);
                node_host_crash(&s->node[i]);
                break;
            }
            break;
        }
    } else if (w < 90) {
        if (nd->host_up) {
            hv_libvirtd_restart(&nd->hv, (unsigned)g_rand_int_range(s->rng, 200, 5000));
        }
    } else if (w < 93) {
        int64_t step = (int64_t)g_rand_int_range(s->rng, -3, 4) * 3600 * 1000;

        nd->wall_offset_ms += step;
        sim_log(s, "FAULT: %s's wall clock steps %+lld h", nd->name, (long long)(step / 3600000));
    } else {
        /* quiet */
    }
    sim_run(s, (uint64_t)g_rand_int_range(s->rng, 50, 3000));
}

void faults_heal_all(sim_t *s)
{
    sim_log(s, "END OF FAULTS: heal, boot, restart, release");
    s->p_mig_hang = 0; /* the admin aborts hung migrations below; no new ones hang */
    /* a fence agent a crashed daemon left running finishes first (it would power off a
     * host booted below) */
    for (int t = 0; t < 200 && s->fences->len > 0; t++) {
        sim_run(s, SIM_TICK_MS);
    }
    for (int i = 0; i < s->n; i++) {
        simnode_t *nd = &s->node[i];

        nd->comp = 0;
        node_host_boot(nd);
        node_daemon_start(nd);
        if (nd->hold_send) {
            nd->release_on_confchg = true;
        }
        if (s->now < nd->hv.valid_at && nd->hv.valid_at > s->now + 5000) {
            nd->hv.valid_at = s->now + 5000;
        }
    }
    set_links(s, true);
    s->confchg_pending = true;
    sim_run(s, 100);
    /* a fence round that was under way may still power a host off as it boots: the admin
     * boots it again once the fence agents are done */
    for (int round = 0; round < 5; round++) {
        bool all_up = true;

        for (int t = 0; t < 200 && s->fences->len > 0; t++) {
            sim_run(s, SIM_TICK_MS);
        }
        for (int i = 0; i < s->n; i++) {
            all_up = all_up && s->node[i].host_up;
            node_host_boot(&s->node[i]);
        }
        if (all_up) {
            break;
        }
        sim_run(s, 100);
    }
    for (int i = 0; i < s->n; i++) {
        hv_op_t *op = hv_migration(&s->node[i].hv);

        cpg_release(&s->node[i]);
        if (op && op->hung) {
            sim_log(s, "hung migration on %s aborted", s->node[i].name);
            hv_migration_abort(&s->node[i].hv);
        }
    }
    sim_run(s, 3000);
    /* the admin's cleanup after an incident: every node online, failure counts cleared */
    for (int i = 0; i < s->n; i++) {
        const drv_state_t *st = node_state(&s->node[0]);

        if (st && drv_state_node_admin(st, s->node[i].name).standby) {
            admin_submit(&s->node[0], DRV_CMD_NODE_STANDBY, s->node[i].name, NULL, false);
        }
    }
    for (int v = 0; v < SIM_NVM; v++) {
        const drv_state_t *st = node_state(&s->node[0]);
        const drv_resource_t *r = st ? g_hash_table_lookup(st->resources, sim_vm_name(v)) : NULL;

        if (r && r->role == DRV_ROLE_STARTED && (r->failed || r->last_failure)) {
            admin_submit(&s->node[0], DRV_CMD_RES_ROLE, r->name, NULL, true);
        }
    }
}
