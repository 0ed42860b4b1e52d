/* Cluster core: sync rounds, quorum endorsement and command application.
 *
 * Everything here is driven by events in CPG's agreed order, so every member that sees the
 * same sequence of deliveries reaches the same state. The rules and the invariant they
 * protect are written down in docs/replication.md; the comments here point at them.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <glib.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "drv_cluster.h"
#include "drv_props.h"
#include "wire.h"

/* A sync round that has not heard from every member after this long is closed by the lowest
 * participant, so that a silent group member (a crashed or foreign CPG client) cannot stall
 * the cluster. */
#define DRV_SYNC_CLOSE_MS 3000

typedef struct summary {
    drv_member_t who;
    uint64_t epoch, seq;
} summary_t;

typedef struct pending {
    uint64_t req_id;
    uint8_t *body; /* the encoded CMD for round 0; re-encoded per round on send */
    size_t len;
    uint64_t deadline;
    uint64_t sent_round; /* 0 = not sent in the current round */
    bool applied;        /* applied here at apply_seq; waiting for a quorum to confirm */
    uint64_t apply_seq;
} pending_t;

struct drv_cluster {
    drv_member_t me;
    drv_cluster_ops_t ops;
    void *ud;
    drv_state_t *st;

    drv_phase_t phase;
    uint64_t round;
    GArray *members;      /* drv_member_t, sorted: the CPG group */
    GArray *summaries;    /* summary_t, in delivery order: the round's participants so far */
    GArray *participants; /* drv_member_t, sorted: fixed when the round completes */
    bool closed;          /* participants fixed; waiting for STATE */
    drv_member_t winner;
    bool state_sent, close_sent;
    uint64_t sync_started; /* tick time when first seen in SYNC, 0 = not yet */

    bool endorsed;    /* replicated: the current round is quorate */
    bool quorum_sent; /* leader: QUORUM sent for this round with quorum_sent_value */
    bool quorum_sent_value;

    bool have_ring, have_quorum, local_quorate;
    uint32_t min_members;
    drv_ring_t ring, quorum_ring;

    uint64_t next_req;
    GList *pending; /* pending_t*, in submission order */

    /* rule C4: what each participant confirmed it applied in this round (parallel to
     * participants), and our own APPLIED in flight */
    GArray *acked; /* uint64_t */
    bool applied_in_flight;
    uint64_t applied_sent;
    bool persist_failed;    /* rule C5: the last persist failed; confirm nothing until one works */
    uint64_t confirmed_seq; /* rule C7: the state up to this seq is held by a quorum */
};

static int member_cmp(const drv_member_t *a, const drv_member_t *b)
{
    if (a->nodeid != b->nodeid) {
        return a->nodeid < b->nodeid ? -1 : 1;
    }
    if (a->pid != b->pid) {
        return a->pid < b->pid ? -1 : 1;
    }
    return 0;
}

static gint member_cmp_g(gconstpointer a, gconstpointer b)
{
    return member_cmp(a, b);
}

static bool member_in(GArray *arr, drv_member_t m)
{
    for (guint i = 0; i < arr->len; i++) {
        if (member_cmp(&g_array_index(arr, drv_member_t, i), &m) == 0) {
            return true;
        }
    }
    return false;
}

static uint64_t round_of(GArray *members)
{
    return drv_wire_round_id((const drv_member_t *)members->data, members->len);
}

static void send_buf(drv_cluster_t *c, uint8_t *buf, size_t len, const char *what)
{
    int rc = c->ops.send(c->ud, buf, len);

    if (rc != 0) {
        qb_log(LOG_ERR, "cluster: sending %s failed: %s", what, drv_strerror(rc));
    }
    g_free(buf);
}

static void notify(drv_cluster_t *c)
{
    if (c->ops.view_changed) {
        c->ops.view_changed(c->ud);
    }
}

static void persist(drv_cluster_t *c)
{
    int rc = c->ops.persist ? c->ops.persist(c->ud, c->st) : 0;
    bool was = c->persist_failed;

    c->persist_failed = rc != 0;
    if (rc != 0) {
        qb_log(LOG_ERR,
               "cluster: persisting state (epoch %" PRIu64 " seq %" PRIu64 ") failed: %s;"
               " this node confirms no change until its state is durable again",
               c->st->epoch, c->st->seq, drv_strerror(rc));
    } else if (was) {
        qb_log(LOG_NOTICE, "cluster: state is durable again (epoch %" PRIu64 " seq %" PRIu64 ")",
               c->st->epoch, c->st->seq);
    }
    if (was != c->persist_failed) {
        notify(c);
    }
}

static void pending_free(pending_t *p)
{
    g_free(p->body);
    g_free(p);
}

static void pending_finish(drv_cluster_t *c, pending_t *p, int rc)
{
    c->pending = g_list_remove(c->pending, p);
    if (c->ops.request_done) {
        c->ops.request_done(c->ud, p->req_id, rc);
    }
    pending_free(p);
}

static void fail_all_pending(drv_cluster_t *c, int rc)
{
    while (c->pending) {
        pending_finish(c, c->pending->data, rc);
    }
}

/* Requests not multicast in this round: one already sent may still be applied (its outcome
 * comes with its delivery, see on_cmd), so it is not failed here. */
static void fail_unsent_pending(drv_cluster_t *c, int rc)
{
    GList *l = c->pending;

    while (l) {
        GList *next = l->next;
        pending_t *p = l->data;

        if (p->sent_round != c->round) {
            pending_finish(c, p, rc);
        }
        l = next;
    }
}

static const drv_member_t *leader(const drv_cluster_t *c)
{
    if (c->phase != DRV_PHASE_ACTIVE || c->participants->len == 0) {
        return NULL;
    }
    return &g_array_index(c->participants, drv_member_t, 0);
}

static bool i_am_leader(const drv_cluster_t *c)
{
    const drv_member_t *l = leader(c);

    return l && member_cmp(l, &c->me) == 0;
}

/* votequorum's word counts only once it speaks of the ring CPG is in now. */
static bool quorum_current(const drv_cluster_t *c)
{
    return c->have_ring && c->have_quorum && c->ring.nodeid == c->quorum_ring.nodeid &&
           c->ring.seq == c->quorum_ring.seq;
}

static void send_pending(drv_cluster_t *c)
{
    for (GList *l = c->pending; l; l = l->next) {
        pending_t *p = l->data;

        if (p->sent_round == c->round) {
            continue;
        }
        p->sent_round = c->round;
        send_buf(c, drv_wire_reround(p->body, p->len, c->round), p->len, "command");
    }
}

/* votequorum says quorate, and enough daemons take part in the round (rules Q1, Q3). */
static bool partition_quorate(const drv_cluster_t *c)
{
    return c->local_quorate && c->phase == DRV_PHASE_ACTIVE &&
           c->participants->len >= (c->min_members ? c->min_members : 1);
}

/* Re-evaluate what this node should do now; called after every event. */
static void evaluate(drv_cluster_t *c)
{
    bool want;

    if (c->phase != DRV_PHASE_ACTIVE) {
        return;
    }
    want = partition_quorate(c);
    /* The leader tells the group the verdict, once per value per round (rule Q1). */
    if (i_am_leader(c) && quorum_current(c) && want != c->endorsed &&
        !(c->quorum_sent && c->quorum_sent_value == want)) {
        size_t len = 0;
        uint8_t *buf = drv_wire_quorum(c->round, want, &len);

        c->quorum_sent = true;
        c->quorum_sent_value = want;
        send_buf(c, buf, len, "quorum");
    }
    if (c->endorsed) {
        send_pending(c);
    } else if (quorum_current(c) && !want) {
        fail_unsent_pending(c, DRV_ERR_NOT_QUORATE);
    }
}

drv_cluster_t *drv_cluster_new(uint32_t local_nodeid, uint32_t local_pid,
                               const drv_cluster_ops_t *ops, void *ud, drv_state_t *loaded)
{
    drv_cluster_t *c = g_new0(drv_cluster_t, 1);

    c->me.nodeid = local_nodeid;
    c->me.pid = local_pid;
    c->ops = *ops;
    c->ud = ud;
    c->st = loaded ? loaded : drv_state_new();
    c->members = g_array_new(FALSE, FALSE, sizeof(drv_member_t));
    c->participants = g_array_new(FALSE, FALSE, sizeof(drv_member_t));
    c->summaries = g_array_new(FALSE, FALSE, sizeof(summary_t));
    c->acked = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    c->next_req = 1;
    return c;
}

void drv_cluster_free(drv_cluster_t *c)
{
    if (c == NULL) {
        return;
    }
    g_list_free_full(c->pending, (GDestroyNotify)pending_free);
    g_array_free(c->members, TRUE);
    g_array_free(c->participants, TRUE);
    g_array_free(c->summaries, TRUE);
    g_array_free(c->acked, TRUE);
    drv_state_free(c->st);
    g_free(c);
}

static void reset_round(drv_cluster_t *c)
{
    GList *l = c->pending;

    /* Rule C4: a change applied here but not confirmed by a quorum before the membership
     * changed may or may not survive (it may have been delivered only on this side): its
     * outcome is unknown, and it is not sent again. */
    while (l) {
        GList *next = l->next;
        pending_t *p = l->data;

        if (p->applied) {
            pending_finish(c, p, DRV_ERR_SYNCING);
        }
        l = next;
    }
    g_array_set_size(c->acked, 0);
    c->applied_in_flight = false;
    g_array_set_size(c->summaries, 0);
    g_array_set_size(c->participants, 0);
    c->closed = false;
    c->state_sent = false;
    c->close_sent = false;
    c->sync_started = 0;
    c->endorsed = false;
    c->quorum_sent = false;
    for (l = c->pending; l; l = l->next) {
        ((pending_t *)l->data)->sent_round = 0; /* rule C3: resend in the next round */
    }
}

void drv_cluster_members(drv_cluster_t *c, const drv_member_t *members, size_t n)
{
    size_t len = 0;

    g_array_set_size(c->members, 0);
    g_array_append_vals(c->members, members, (guint)n);
    g_array_sort(c->members, member_cmp_g);
    if (!member_in(c->members, c->me)) {
        drv_cluster_left(c);
        return;
    }
    c->round = round_of(c->members);
    c->phase = DRV_PHASE_SYNC;
    reset_round(c);
    qb_log(LOG_NOTICE, "cluster: membership changed (%u members), sync round %016" PRIx64,
           c->members->len, c->round);
    /* Rule S1: every member announces what it holds. */
    {
        uint8_t *buf = drv_wire_summary(c->round, c->st->epoch, c->st->seq, &len);

        send_buf(c, buf, len, "summary");
    }
    notify(c);
}

void drv_cluster_totem_ring(drv_cluster_t *c, drv_ring_t ring)
{
    c->have_ring = true;
    c->ring = ring;
    evaluate(c);
}

void drv_cluster_quorum(drv_cluster_t *c, bool quorate, uint32_t min_members, drv_ring_t ring)
{
    bool changed = !c->have_quorum || c->local_quorate != quorate;

    c->have_quorum = true;
    c->local_quorate = quorate;
    c->min_members = min_members;
    c->quorum_ring = ring;
    evaluate(c);
    if (changed) {
        notify(c);
    }
}

void drv_cluster_left(drv_cluster_t *c)
{
    c->phase = DRV_PHASE_DOWN;
    c->round = 0;
    g_array_set_size(c->members, 0);
    reset_round(c);
    c->have_ring = false;
    c->have_quorum = false;
    fail_all_pending(c, DRV_ERR_NOT_CONNECTED);
    notify(c);
}

/* Rule S2: the winner is the participant with the highest (epoch, seq); ties go to the
 * lowest (nodeid, pid). */
static void close_round(drv_cluster_t *c)
{
    const summary_t *best = NULL;

    c->closed = true;
    for (guint i = 0; i < c->summaries->len; i++) {
        const summary_t *s = &g_array_index(c->summaries, summary_t, i);

        g_array_append_val(c->participants, s->who);
        if (best == NULL || s->epoch > best->epoch ||
            (s->epoch == best->epoch && s->seq > best->seq) ||
            (s->epoch == best->epoch && s->seq == best->seq &&
             member_cmp(&s->who, &best->who) < 0)) {
            best = s;
        }
    }
    g_array_sort(c->participants, member_cmp_g);
    g_array_set_size(c->acked, c->participants->len);
    c->winner = best->who;
    if (c->participants->len < c->members->len) {
        qb_log(LOG_WARNING,
               "cluster: sync round %016" PRIx64 " closed with %u of %u members "
               "(the others never sent a summary)",
               c->round, c->participants->len, c->members->len);
    }
    if (member_cmp(&c->winner, &c->me) == 0 && !c->state_sent) {
        size_t len = 0;

        c->state_sent = true;
        qb_log(LOG_INFO,
               "cluster: sending state epoch %" PRIu64 " seq %" PRIu64 " for round %016" PRIx64,
               c->st->epoch, c->st->seq, c->round);
        {
            uint8_t *buf = drv_wire_state(c->round, c->st, &len);

            send_buf(c, buf, len, "state");
        }
    }
}

static void on_summary(drv_cluster_t *c, drv_member_t from, const drv_msg_t *m)
{
    summary_t s = {from, m->epoch, m->seq};

    if (c->phase != DRV_PHASE_SYNC || c->closed) {
        return;
    }
    for (guint i = 0; i < c->summaries->len; i++) {
        if (member_cmp(&g_array_index(c->summaries, summary_t, i).who, &from) == 0) {
            return; /* one summary per member per round */
        }
    }
    g_array_append_val(c->summaries, s);
    if (c->summaries->len == c->members->len) {
        close_round(c);
    }
}

static void on_close(drv_cluster_t *c, drv_member_t from)
{
    bool sender_participates = false;

    if (c->phase != DRV_PHASE_SYNC || c->closed) {
        return;
    }
    for (guint i = 0; i < c->summaries->len; i++) {
        if (member_cmp(&g_array_index(c->summaries, summary_t, i).who, &from) == 0) {
            sender_participates = true;
        }
    }
    if (sender_participates) {
        close_round(c);
    }
}

static void on_state(drv_cluster_t *c, drv_member_t from, drv_msg_t *m)
{
    if (c->phase != DRV_PHASE_SYNC || !c->closed || member_cmp(&from, &c->winner) != 0) {
        return;
    }
    /* Rule S3: everyone activates the winner's state, in the same place in the order. */
    drv_state_free(c->st);
    c->st = m->state;
    m->state = NULL;
    c->phase = DRV_PHASE_ACTIVE;
    c->endorsed = false;
    c->confirmed_seq = c->st->seq; /* every participant activates this same state */
    persist(c);
    qb_log(LOG_NOTICE,
           "cluster: sync round %016" PRIx64 " active with %u members, state epoch %" PRIu64
           " seq %" PRIu64 " from node %u",
           c->round, c->participants->len, c->st->epoch, c->st->seq, from.nodeid);
    notify(c);
}

static void on_quorum(drv_cluster_t *c, drv_member_t from, const drv_msg_t *m)
{
    const drv_member_t *l = leader(c);

    if (l == NULL || member_cmp(l, &from) != 0 || m->quorate == c->endorsed) {
        return;
    }
    c->endorsed = m->quorate;
    if (m->quorate) {
        /* Rule Q2: only a quorate round advances the epoch. */
        c->st->epoch++;
        persist(c);
        qb_log(LOG_NOTICE, "cluster: partition is quorate; coordinator is node %u; epoch %" PRIu64,
               l->nodeid, c->st->epoch);
    } else {
        qb_log(LOG_WARNING, "cluster: partition lost quorum; state is read-only");
    }
    notify(c);
}

/* Room a resource needs beyond its definition while it is operated: a report entry per node,
 * assignment and migration names, failure and waiting texts. */
#define DRV_RES_HEADROOM (8 * 1024)

/* The whole state travels as one STATE message and one file: a command that would grow it
 * past DRV_WIRE_MAX_MSG is refused (the same verdict everywhere: equal states, equal sizes). */
static bool fits(const drv_cluster_t *c, size_t extra)
{
    return drv_wire_state_size(c->st) + extra <= DRV_WIRE_MAX_MSG;
}

/* Failure texts are kept short (at most 256 bytes, cut on a character boundary). */
static char *short_text(const char *s)
{
    const char *end;

    if (strlen(s) <= 256) {
        return g_strdup(s);
    }
    end = g_utf8_find_prev_char(s, s + 256);
    return g_strndup(s, end ? (gsize)(end - s) : 0);
}

static void set_str(char **dst, const char *v)
{
    g_free(*dst);
    *dst = (v && v[0]) ? g_strdup(v) : NULL;
}

/* Resource commands. Returns 0 when the state changed, or the reason it could not (the same
 * verdict on every node, since it depends only on the state and the message). */
static int apply_res(drv_cluster_t *c, const drv_msg_t *m)
{
    drv_resource_t *r = g_hash_table_lookup(c->st->resources, m->cmd_name);

    if (m->cmd_type == DRV_CMD_RES_ADD) {
        drv_resource_t *add;

        if (drv_resource_validate(m->cmd_res, NULL) != 0) {
            return DRV_ERR_BAD_ARGS;
        }
        if (drv_state_resource_conflict(c->st, m->cmd_res, NULL) != 0) {
            return DRV_ERR_EXISTS;
        }
        if (g_hash_table_size(c->st->resources) >= DRV_WIRE_MAX_ENTRIES ||
            !fits(c, drv_wire_resource_size(m->cmd_res) + DRV_RES_HEADROOM)) {
            return DRV_ERR_LIMIT;
        }
        add = drv_resource_copy(m->cmd_res);
        add->gen = 0;
        add->ver = 1;
        add->changed_seq = c->st->seq + 1;
        add->mig_gen = 0;
        set_str(&add->mig_from, NULL);
        set_str(&add->mig_to, NULL);
        set_str(&add->waiting, NULL);
        /* only the definition and the role come from the client */
        set_str(&add->move_to, NULL);
        set_str(&add->assigned, NULL);
        set_str(&add->moving_from, NULL);
        set_str(&add->failed, NULL);
        set_str(&add->last_failure, NULL);
        g_hash_table_remove_all(add->nodes);
        if (add->role == DRV_ROLE_REMOVING) {
            add->role = DRV_ROLE_STOPPED;
        }
        g_hash_table_insert(c->st->resources, g_strdup(add->name), add);
        qb_log(LOG_NOTICE, "cluster: resource %s added (domain %s, %s)", add->name, add->domain,
               drv_role_str(add->role));
        return DRV_OK;
    }
    if (r == NULL) {
        return DRV_ERR_UNKNOWN_RESOURCE;
    }
    switch (m->cmd_type) {
    case DRV_CMD_RES_REMOVE:
        r->role = DRV_ROLE_REMOVING;
        qb_log(LOG_NOTICE, "cluster: resource %s is being removed", r->name);
        break;
    case DRV_CMD_RES_ROLE:
        if (r->role == DRV_ROLE_REMOVING) {
            return DRV_ERR_UNKNOWN_RESOURCE;
        }
        r->role = m->cmd_flag ? DRV_ROLE_STARTED : DRV_ROLE_STOPPED;
        if (m->cmd_flag) {
            /* an explicit start is also a clean-up, as Pacemaker's */
            GHashTableIter it;
            gpointer v;

            set_str(&r->failed, NULL);
            g_hash_table_iter_init(&it, r->nodes);
            while (g_hash_table_iter_next(&it, NULL, &v)) {
                ((drv_res_node_t *)v)->failures = 0;
            }
        }
        qb_log(LOG_NOTICE, "cluster: resource %s target role %s", r->name, drv_role_str(r->role));
        break;
    case DRV_CMD_RES_MOVE:
        if (r->role == DRV_ROLE_REMOVING) {
            return DRV_ERR_UNKNOWN_RESOURCE; /* as for the CLI: being removed is gone */
        }
        set_str(&r->move_to, m->cmd_value);
        if (r->move_to) {
            /* failures on the target do not block an explicit move there */
            drv_res_node_t *n = drv_resource_node(r, r->move_to, false);

            if (n) {
                n->failures = 0;
            }
            set_str(&r->failed, NULL);
        }
        set_str(&r->waiting, NULL);
        qb_log(LOG_NOTICE, "cluster: resource %s %s%s", r->name,
               r->move_to ? "constrained to " : "constraint cleared", r->move_to ? r->move_to : "");
        break;
    case DRV_CMD_RES_ASSIGN:
        /* Conditional: only on the version it was decided from, never across a migration
         * in flight (whose source alone ends it). */
        if (m->cmd_gen != r->ver || r->mig_to != NULL) {
            qb_log(LOG_INFO,
                   "cluster: stale assignment of %s refused (from version %" PRIu64 ", now %" PRIu64
                   "%s)",
                   r->name, m->cmd_gen, r->ver, r->mig_to ? ", migrating" : "");
            return DRV_ERR_STALE;
        }
        set_str(&r->assigned, m->cmd_value);
        set_str(&r->moving_from, m->cmd_value2);
        r->gen++;
        qb_log(LOG_INFO, "cluster: resource %s assigned to %s%s%s", r->name,
               r->assigned ? r->assigned : "(none)", r->moving_from ? ", moving from " : "",
               r->moving_from ? r->moving_from : "");
        break;
    case DRV_CMD_RES_REPORT: {
        drv_res_node_t *n = drv_resource_node(r, m->cmd_value, true);

        if (m->cmd_flag) {
            /* the reporter's failure window passed, by its own clock */
            n->failures = 0;
            n->window_start = 0;
        }
        if (m->cmd_obs == DRV_OBS_FAILED && !m->cmd_flag) {
            g_autofree char *text = short_text(m->cmd_value2[0] ? m->cmd_value2 : "failed");

            if (!fits(c, 2 * strlen(text) + strlen(m->cmd_value) + 64)) {
                g_free(text);
                text = g_strdup("failed (text dropped: state size limit)");
            }
            /* both times are the reporter's monotonic clock; an earlier time means that
             * clock restarted (a reboot): a new window */
            if (n->failures == 0 || m->cmd_ts < n->window_start ||
                m->cmd_ts - n->window_start >
                    (uint64_t)drv_prop_int(c->st, DRV_PROP_FAILURE_WINDOW) * 1000) {
                n->failures = 0;
                n->window_start = m->cmd_ts;
            }
            n->failures++;
            set_str(&n->last_error, text);
            g_free(r->last_failure);
            r->last_failure = g_strdup_printf("%s: %s", m->cmd_value, text);
            qb_log(LOG_WARNING, "cluster: resource %s failed on %s (%u in window): %s", r->name,
                   m->cmd_value, n->failures, m->cmd_value2);
        }
        n->obs = (drv_obs_t)m->cmd_obs;
        n->gen = MAX(n->gen, m->cmd_gen);
        break;
    }
    case DRV_CMD_RES_FAILED:
        if (m->cmd_gen != r->ver) {
            return DRV_ERR_STALE;
        }
        set_str(&r->failed, m->cmd_value);
        set_str(&r->waiting, m->cmd_value2);
        if (r->failed) {
            qb_log(LOG_ERR, "cluster: resource %s marked failed: %s", r->name, r->failed);
        }
        if (r->waiting) {
            qb_log(LOG_NOTICE, "cluster: resource %s: %s", r->name, r->waiting);
        }
        return DRV_OK; /* informational: the version stays */
    case DRV_CMD_RES_PURGE:
        if (r->role != DRV_ROLE_REMOVING || drv_resource_running_elsewhere(r, NULL) ||
            r->mig_to != NULL) {
            return DRV_ERR_BAD_ARGS;
        }
        qb_log(LOG_NOTICE, "cluster: resource %s removed", r->name);
        g_hash_table_remove(c->st->resources, m->cmd_name);
        return DRV_OK;
    case DRV_CMD_RES_MIG_BEGIN:
        if (m->cmd_gen != r->ver || r->mig_to != NULL || r->role != DRV_ROLE_STARTED ||
            g_strcmp0(r->assigned, m->cmd_value2) != 0 ||
            g_strcmp0(r->moving_from, m->cmd_value) != 0) {
            return DRV_ERR_STALE;
        }
        set_str(&r->mig_from, m->cmd_value);
        set_str(&r->mig_to, m->cmd_value2);
        r->mig_gen = r->gen;
        qb_log(LOG_NOTICE, "cluster: resource %s live migration %s -> %s begins", r->name,
               r->mig_from, r->mig_to);
        break;
    case DRV_CMD_RES_MIG_END:
        if (r->mig_to == NULL || strcmp(r->mig_from, m->cmd_value) != 0 ||
            strcmp(r->mig_to, m->cmd_value2) != 0) {
            return DRV_ERR_STALE;
        }
        if (m->cmd_flag) {
            /* done: the source's hypervisor no longer has it; the source is released */
            drv_res_node_t *n = drv_resource_node(r, r->mig_from, true);

            n->obs = DRV_OBS_STOPPED;
            n->gen = r->gen;
            if (g_strcmp0(r->moving_from, r->mig_from) == 0) {
                set_str(&r->moving_from, NULL);
            }
        } else {
            /* rolled back: it runs on the source, which is assigned again; the target
             * releases whatever libvirt left there */
            set_str(&r->assigned, r->mig_from);
            set_str(&r->moving_from, r->mig_to);
            r->gen++;
        }
        qb_log(LOG_NOTICE, "cluster: resource %s live migration %s -> %s %s", r->name, r->mig_from,
               r->mig_to, m->cmd_flag ? "done" : "rolled back");
        set_str(&r->mig_from, NULL);
        set_str(&r->mig_to, NULL);
        r->mig_gen = 0;
        break;
    default:
        return DRV_ERR_BAD_ARGS;
    }
    r->ver++;
    r->changed_seq = c->st->seq + 1; /* apply_cmd counts this command next */
    return DRV_OK;
}

/* The most a command other than RES_ADD can grow the state by: its strings and one new table
 * entry. A failure report's text is bounded separately (dropped rather than outgrow). */
static size_t growth_bound(const drv_msg_t *m)
{
    size_t n = 64 + strlen(m->cmd_name) + strlen(m->cmd_value);

    if (m->cmd_type != DRV_CMD_RES_REPORT) {
        n += strlen(m->cmd_value2);
    }
    return n;
}

static int apply_cmd(drv_cluster_t *c, const drv_msg_t *m)
{
    int rc = DRV_OK;

    /* Whatever grows the state is checked against its size limit first (the same verdict on
     * every node), so the state always encodes; RES_ADD reserves room for its operation. */
    if (m->cmd_type != DRV_CMD_RES_ADD && m->cmd_type != DRV_CMD_SETTING_DEL &&
        m->cmd_type != DRV_CMD_RES_PURGE && !fits(c, growth_bound(m))) {
        return DRV_ERR_LIMIT;
    }
    switch (m->cmd_type) {
    case DRV_CMD_NODE_STANDBY:
    case DRV_CMD_NODE_MAINTENANCE: {
        drv_node_admin_t a = drv_state_node_admin(c->st, m->cmd_name);

        if (m->cmd_type == DRV_CMD_NODE_STANDBY) {
            a.standby = m->cmd_flag;
        } else {
            a.maintenance = m->cmd_flag;
        }
        if (!a.standby && !a.maintenance) {
            g_hash_table_remove(c->st->node_admin, m->cmd_name);
        } else {
            g_hash_table_insert(c->st->node_admin, g_strdup(m->cmd_name), g_memdup2(&a, sizeof(a)));
        }
        qb_log(LOG_NOTICE, "cluster: node %s is now %s", m->cmd_name, drv_node_admin_str(a));
        break;
    }
    case DRV_CMD_SETTING_SET:
        if (drv_prop_check_setting(m->cmd_name, m->cmd_value) != 0) {
            rc = DRV_ERR_BAD_ARGS; /* property/ keys: only known ones, valid values */
            break;
        }
        if ((!g_hash_table_contains(c->st->settings, m->cmd_name) &&
             g_hash_table_size(c->st->settings) >= DRV_WIRE_MAX_ENTRIES) ||
            !fits(c, strlen(m->cmd_name) + strlen(m->cmd_value) + 4)) {
            rc = DRV_ERR_LIMIT;
            break;
        }
        g_hash_table_insert(c->st->settings, g_strdup(m->cmd_name), g_strdup(m->cmd_value));
        qb_log(LOG_NOTICE, "cluster: setting %s = %s", m->cmd_name, m->cmd_value);
        break;
    case DRV_CMD_SETTING_DEL:
        g_hash_table_remove(c->st->settings, m->cmd_name);
        qb_log(LOG_NOTICE, "cluster: setting %s removed", m->cmd_name);
        break;
    case DRV_CMD_FENCE_DEV_ADD:
    case DRV_CMD_FENCE_DEV_REMOVE:
    case DRV_CMD_FENCE_LEVEL:
    case DRV_CMD_FENCE_BEGIN:
    case DRV_CMD_FENCE_RESULT:
    case DRV_CMD_NODE_DOWN:
    case DRV_CMD_NODE_UP: {
        drv_cmd_t cmd = {m->cmd_type, m->cmd_name, m->cmd_value, m->cmd_flag, m->cmd_value2,
                         m->cmd_obs,  m->cmd_ts,   m->cmd_gen,   m->cmd_res,  m->cmd_dev};

        /* a history line is bounded and the oldest is dropped: room for one more of each */
        if (!fits(c, (m->cmd_dev ? 4096 + 2 * DRV_WIRE_MAX_STR * m->cmd_dev->keys->len : 0) +
                         2 * DRV_FENCE_TEXT_MAX + 1024)) {
            rc = DRV_ERR_LIMIT;
            break;
        }
        rc = drv_state_apply_fence(c->st, &cmd);
        break;
    }
    default:
        rc = apply_res(c, m);
        break;
    }
    if (rc == DRV_OK) {
        c->st->seq++;
    }
    return rc;
}

static int participant_index(const drv_cluster_t *c, drv_member_t who)
{
    for (guint i = 0; i < c->participants->len; i++) {
        if (member_cmp(&g_array_index(c->participants, drv_member_t, i), &who) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Rule C4: tell the group how far we have applied; at most one such message in flight. */
static void send_applied(drv_cluster_t *c)
{
    size_t len = 0;
    uint8_t *buf;

    /* Rule C5: a change is confirmed only once it is durable here. */
    if (c->applied_in_flight || c->phase != DRV_PHASE_ACTIVE || c->persist_failed ||
        participant_index(c, c->me) < 0) {
        return;
    }
    c->applied_in_flight = true;
    c->applied_sent = c->st->seq;
    buf = drv_wire_applied(c->round, c->st->seq, &len);
    send_buf(c, buf, len, "applied");
}

/* Requests applied here are done once a quorum of participants applied them too. */
static void confirm_pending(drv_cluster_t *c)
{
    uint32_t need = c->min_members ? c->min_members : 1;
    GList *l = c->pending;

    while (l) {
        GList *next = l->next;
        pending_t *p = l->data;

        if (p->applied) {
            uint32_t have = 0;

            for (guint i = 0; i < c->acked->len; i++) {
                have += g_array_index(c->acked, uint64_t, i) >= p->apply_seq;
            }
            if (have >= need) {
                pending_finish(c, p, DRV_OK);
            }
        }
        l = next;
    }
}

static gint cmp_u64_desc(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x > y ? -1 : x < y ? 1 : 0;
}

/* Rule C7: the highest seq that a quorum of participants confirmed applying. A node acts on a
 * change (starts or migrates a VM) only once it is confirmed: a command delivered only in this
 * node's transitional configuration, which the other side of a partition never applies, is
 * never acted on. */
static void advance_confirmed(drv_cluster_t *c)
{
    uint32_t need = c->min_members ? c->min_members : 1;
    g_autoptr(GArray) v = g_array_copy(c->acked);
    uint64_t q;

    if (v->len < need) {
        return;
    }
    g_array_sort(v, cmp_u64_desc);
    q = g_array_index(v, uint64_t, need - 1);
    if (q > c->confirmed_seq) {
        c->confirmed_seq = q;
        notify(c);
    }
}

static void on_applied(drv_cluster_t *c, drv_member_t from, const drv_msg_t *m)
{
    int i = participant_index(c, from);

    if (c->phase != DRV_PHASE_ACTIVE || i < 0) {
        return;
    }
    if (m->seq > g_array_index(c->acked, uint64_t, i)) {
        g_array_index(c->acked, uint64_t, i) = m->seq;
    }
    if (member_cmp(&from, &c->me) == 0) {
        c->applied_in_flight = false;
        if (c->st->seq > c->applied_sent) {
            send_applied(c);
        }
    }
    confirm_pending(c);
    advance_confirmed(c);
}

static void on_cmd(drv_cluster_t *c, drv_member_t from, const drv_msg_t *m)
{
    bool mine = member_cmp(&from, &c->me) == 0;
    int rc;

    /* Rule C1: a command applies only in an active, endorsed round, from a participant. */
    if (c->phase != DRV_PHASE_ACTIVE || !c->endorsed || !member_in(c->participants, from)) {
        qb_log(LOG_INFO, "cluster: command from node %u dropped (round not active/quorate)",
               from.nodeid);
        /* ours: not applied anywhere; it is sent again once the round is endorsed, or
         * failed as "not quorate" (rule C3) */
        for (GList *l = mine ? c->pending : NULL; l; l = l->next) {
            pending_t *p = l->data;

            if (p->req_id == m->req_id) {
                p->sent_round = 0;
                break;
            }
        }
        return;
    }
    rc = apply_cmd(c, m);
    if (rc == DRV_OK) {
        persist(c);
        send_applied(c);
    }
    if (mine) {
        for (GList *l = c->pending; l; l = l->next) {
            pending_t *p = l->data;

            if (p->req_id != m->req_id) {
                continue;
            }
            if (rc != DRV_OK) {
                pending_finish(c, p, rc); /* refused everywhere alike: nothing to confirm */
            } else {
                p->applied = true;
                p->apply_seq = c->st->seq;
                confirm_pending(c);
            }
            break;
        }
    }
    notify(c);
}

void drv_cluster_deliver(drv_cluster_t *c, uint32_t nodeid, uint32_t pid, const void *buf,
                         size_t len)
{
    drv_member_t from = {nodeid, pid};
    drv_msg_t m;
    const char *why = NULL;

    if (drv_wire_decode(buf, len, &m, &why) != DRV_OK) {
        qb_log(LOG_WARNING,
               "cluster: dropped a malformed message (%zu bytes) from node %u pid %u: %s", len,
               nodeid, pid, why);
        return;
    }
    if (c->phase == DRV_PHASE_DOWN || m.round != c->round || !member_in(c->members, from)) {
        drv_msg_clear(&m);
        return; /* for another round: stale by construction */
    }
    switch (m.type) {
    case DRV_MSG_SUMMARY:
        on_summary(c, from, &m);
        break;
    case DRV_MSG_CLOSE:
        on_close(c, from);
        break;
    case DRV_MSG_STATE:
        on_state(c, from, &m);
        break;
    case DRV_MSG_QUORUM:
        on_quorum(c, from, &m);
        break;
    case DRV_MSG_CMD:
        on_cmd(c, from, &m);
        break;
    case DRV_MSG_APPLIED:
        on_applied(c, from, &m);
        break;
    }
    drv_msg_clear(&m);
    evaluate(c);
}

int drv_cluster_submit(drv_cluster_t *c, const drv_cmd_t *cmd, uint64_t now_ms, uint64_t timeout_ms,
                       uint64_t *req_id)
{
    pending_t *p;
    const char *why;

    if (!drv_cmd_valid(cmd, &why)) {
        qb_log(LOG_INFO, "cluster: request refused: %s", why);
        return DRV_ERR_BAD_ARGS;
    }
    if (c->phase == DRV_PHASE_DOWN) {
        return DRV_ERR_NOT_CONNECTED;
    }
    if (c->phase == DRV_PHASE_ACTIVE && !c->endorsed && quorum_current(c) &&
        !partition_quorate(c)) {
        return DRV_ERR_NOT_QUORATE;
    }
    p = g_new0(pending_t, 1);
    p->req_id = c->next_req++;
    p->body = drv_wire_cmd(0, p->req_id, cmd, &p->len);
    p->deadline = now_ms + timeout_ms;
    c->pending = g_list_append(c->pending, p);
    *req_id = p->req_id;
    evaluate(c);
    return DRV_OK;
}

void drv_cluster_tick(drv_cluster_t *c, uint64_t now_ms)
{
    GList *l = c->pending;

    while (l) {
        GList *next = l->next;
        pending_t *p = l->data;

        if (now_ms >= p->deadline) {
            pending_finish(c, p, DRV_ERR_TIMEOUT);
        }
        l = next;
    }
    if (c->phase != DRV_PHASE_SYNC || c->closed) {
        return;
    }
    if (c->sync_started == 0) {
        c->sync_started = now_ms ? now_ms : 1;
        return;
    }
    /* Rule S4: the lowest participant so far closes a round that some member never joined. */
    if (now_ms - c->sync_started >= DRV_SYNC_CLOSE_MS && !c->close_sent && c->summaries->len > 0) {
        drv_member_t lowest = g_array_index(c->summaries, summary_t, 0).who;

        for (guint i = 1; i < c->summaries->len; i++) {
            const drv_member_t *w = &g_array_index(c->summaries, summary_t, i).who;

            if (member_cmp(w, &lowest) < 0) {
                lowest = *w;
            }
        }
        if (member_cmp(&lowest, &c->me) == 0) {
            size_t len = 0;

            c->close_sent = true;
            {
                uint8_t *buf = drv_wire_close(c->round, &len);

                send_buf(c, buf, len, "close");
            }
        }
    }
}

void drv_cluster_get_view(const drv_cluster_t *c, drv_cluster_view_t *view)
{
    const drv_member_t *l = leader(c);
    GArray *shown = c->phase == DRV_PHASE_ACTIVE ? c->participants : c->members;

    memset(view, 0, sizeof(*view));
    view->phase = c->phase;
    view->quorate = c->phase == DRV_PHASE_ACTIVE && c->endorsed;
    view->local_quorate = c->have_quorum && c->local_quorate;
    view->coordinator = (view->quorate && l) ? l->nodeid : 0;
    view->round = c->round;
    view->persist_failed = c->persist_failed;
    view->confirmed_seq = c->phase == DRV_PHASE_ACTIVE ? c->confirmed_seq : 0;
    view->n_members = shown->len;
    view->members = (const drv_member_t *)shown->data;
}

const drv_state_t *drv_cluster_state(const drv_cluster_t *c)
{
    return c->st;
}
