/* A fake CPG + votequorum with corosync's extended virtual synchrony: one total order; a
 * message multicast in a ring is delivered, in order, to the members of that ring that end up
 * with the sender, before the next configuration change; a partition gets its own ring.
 * votequorum: a partition is quorate when it holds a strict majority of the configured hosts
 * whose corosync runs (a host whose droverd is down still votes); min_members = that majority.
 * A droverd joining or leaving is a CPG configuration change on the same totem ring. */
#include "config.h"

#include <string.h>

#include "sim.h"
#include "wire.h"

typedef struct cpgmsg {
    int from;
    uint32_t pid;
    uint64_t ring_seq;
    uint8_t *buf;
    size_t len;
} cpgmsg_t;

static void msg_free(gpointer p)
{
    cpgmsg_t *m = p;

    g_free(m->buf);
    g_free(m);
}

void cpg_send(simnode_t *nd, const void *buf, size_t len)
{
    cpgmsg_t *m = g_new0(cpgmsg_t, 1);

    m->from = nd->idx;
    m->pid = nd->pid;
    m->ring_seq = nd->ring.seq;
    m->buf = g_memdup2(buf, len);
    m->len = len;
    if (nd->hold_from_assign && !nd->hold_send) {
        /* the send queue stalls at this node's next assignment (and keeps its order) */
        drv_msg_t msg;

        if (drv_wire_decode(buf, len, &msg, NULL) == 0) {
            if (msg.type == DRV_MSG_CMD && msg.cmd_type == DRV_CMD_RES_ASSIGN) {
                nd->hold_send = true;
                nd->hold_from_assign = false;
            }
            drv_msg_clear(&msg);
        }
    }
    g_queue_push_tail(nd->hold_send ? &nd->held : &nd->sim->cpgq, m);
}

/* The daemon's send queue drains: its messages go out in the ring current now. */
void cpg_release(simnode_t *nd)
{
    cpgmsg_t *m;

    nd->hold_send = false;
    nd->hold_from_assign = false;
    nd->release_on_confchg = false;
    while ((m = g_queue_pop_head(&nd->held)) != NULL) {
        m->ring_seq = nd->ring.seq;
        g_queue_push_tail(&nd->sim->cpgq, m);
    }
}

static bool is_assign(const cpgmsg_t *m)
{
    drv_msg_t msg;
    bool yes = false;

    if (drv_wire_decode(m->buf, m->len, &msg, NULL) == 0) {
        yes = msg.type == DRV_MSG_CMD && msg.cmd_type == DRV_CMD_RES_ASSIGN;
        drv_msg_clear(&msg);
    }
    return yes;
}

/* The held messages up to and including the next assignment go out now, in order; the queue
 * stays stalled behind them. */
void cpg_release_one(simnode_t *nd)
{
    cpgmsg_t *m;

    while ((m = g_queue_pop_head(&nd->held)) != NULL) {
        bool last = is_assign(m);

        m->ring_seq = nd->ring.seq;
        g_queue_push_tail(&nd->sim->cpgq, m);
        if (last) {
            break;
        }
    }
}

void cpg_drop_node(simnode_t *nd)
{
    g_queue_clear_full(&nd->held, msg_free);
    nd->hold_send = false;
    nd->release_on_confchg = false;
}

void cpg_deliver(sim_t *s, int limit)
{
    cpgmsg_t *m;

    while (limit-- != 0 && (m = g_queue_pop_head(&s->cpgq)) != NULL) {
        simnode_t *from = &s->node[m->from];

        if (from->daemon_up && from->pid == m->pid && from->ring.seq == m->ring_seq) {
            for (int i = 0; i < s->n; i++) {
                simnode_t *to = &s->node[i];

                if (to->daemon_up && to->comp == from->comp && to->ring.seq == m->ring_seq) {
                    drv_cluster_deliver(to->c, (uint32_t)m->from + 1, m->pid, m->buf, m->len);
                }
            }
        }
        msg_free(m);
    }
}

void cpg_confchg(sim_t *s)
{
    uint32_t quorum = (uint32_t)s->n / 2 + 1;

    s->confchg_pending = false;
    /* EVS: the old rings' messages first, to the part of each ring that stays with the sender */
    cpg_deliver(s, (int)g_queue_get_length(&s->cpgq));
    if (s->eval_gap) {
        /* corosync: the old ring's messages reach the daemon before its new configuration
         * (CPG's confchg comes after the sync on the new ring): it may evaluate in between */
        for (int i = 0; i < s->n; i++) {
            if (s->node[i].daemon_up && s->node[i].kicked) {
                node_evaluate(&s->node[i]);
            }
        }
    }
    for (int comp = 0; comp < SIM_MAXN; comp++) {
        uint32_t mask = 0;
        int hosts = 0;
        drv_member_t mem[SIM_MAXN];
        size_t k = 0;
        uint64_t key = 0;
        bool new_ring = false;
        drv_ring_t ring = {0, 0};

        for (int i = 0; i < s->n; i++) {
            simnode_t *nd = &s->node[i];

            if (!nd->host_up || nd->comp != comp) {
                continue;
            }
            mask |= 1u << i;
            hosts++;
            if (nd->daemon_up) {
                mem[k].nodeid = (uint32_t)i + 1;
                mem[k].pid = nd->pid;
                key = key * 1000003u + (uint64_t)(i + 1) * 65537u + nd->pid;
                k++;
            }
        }
        if (hosts == 0) {
            continue;
        }
        for (int i = 0; i < s->n; i++) {
            simnode_t *nd = &s->node[i];

            if ((mask & (1u << i)) && nd->ring_mask != mask) {
                new_ring = true;
            }
        }
        if (new_ring) {
            ring.nodeid = (uint32_t)__builtin_ctz(mask) + 1;
            ring.seq = ++s->ring_seq;
            sim_log(s, "cpg: new ring %u.%llu hosts 0x%x, %zu daemon(s)%s", ring.nodeid,
                    (unsigned long long)ring.seq, mask, k, hosts * 2 > s->n ? " quorate" : "");
        }
        for (int i = 0; i < s->n; i++) {
            simnode_t *nd = &s->node[i];
            bool fresh;
            bool quorum_first;

            if (!(mask & (1u << i))) {
                continue;
            }
            if (new_ring) {
                nd->ring = ring;
                nd->ring_mask = mask;
                nd->vq_quorate = hosts * 2 > s->n;
            }
            if (!nd->daemon_up) {
                continue;
            }
            fresh = nd->members_key == 0;
            if (!new_ring && !fresh && nd->members_key == key) {
                continue;
            }
            nd->members_key = key;
            quorum_first = g_rand_boolean(s->rng);
            if (quorum_first && (new_ring || fresh)) {
                drv_cluster_quorum(nd->c, hosts * 2 > s->n, quorum, nd->ring);
            }
            drv_cluster_members(nd->c, mem, k);
            if (new_ring || fresh) {
                drv_cluster_totem_ring(nd->c, nd->ring);
                if (!quorum_first) {
                    drv_cluster_quorum(nd->c, hosts * 2 > s->n, quorum, nd->ring);
                }
            }
            if (nd->release_on_confchg) {
                cpg_release(nd);
            }
            node_kick(nd);
        }
    }
}

void cpg_free(sim_t *s)
{
    g_queue_clear_full(&s->cpgq, msg_free);
    for (int i = 0; i < s->n; i++) {
        cpg_drop_node(&s->node[i]);
    }
}
