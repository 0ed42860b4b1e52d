/* drover-sim: N droverd nodes in one process, each with the real cluster core and the real HA
 * runtime + decisions, over a fake CPG (fakecpg.c), fake hypervisors (fakehv.c) and virtual
 * time. node.c is the one place that feeds a node's runtime (its ops table); faults.c draws
 * random histories, scenarios.c holds the hand-scripted ones, checks.c the invariants.
 * Deterministic: every choice comes from one seeded GRand, time is sim->now. */
#ifndef DRV_SIM_H
#define DRV_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "drv_cluster.h"
#include "drv_ha_runtime.h"
#include "drv_state.h"

#define SIM_MAXN 5
#define SIM_NVM 6
#define SIM_TICK_MS 20
#define SIM_WALL_BASE UINT64_C(1700000000000)

typedef struct sim sim_t;
typedef struct simnode simnode_t;

/* ---- fake hypervisor (fakehv.c) ---- */
typedef struct hv_dom {
    drv_ha_dom_state_t state;
    bool incoming; /* paused copy at the target of a migration in progress */
} hv_dom_t;

typedef enum { HVOP_START = 1, HVOP_STOP, HVOP_MIGRATE } hvop_kind_t;

typedef struct hv_op {
    hvop_kind_t kind;
    uint64_t op_id;
    uint32_t inc; /* the daemon incarnation that asked: results for another one are dropped */
    char *uuid;
    int target; /* HVOP_MIGRATE */
    unsigned grace_ms;
    uint64_t t_end;
    int phase; /* HVOP_MIGRATE: 0 copying, 1 incoming paused at the target */
    bool hung;
    bool fail; /* HVOP_START: fails; HVOP_MIGRATE: fails at the end of the copy */
} hv_op_t;

typedef struct hv {
    simnode_t *node;
    GHashTable *doms;  /* uuid -> hv_dom_t */
    uint64_t valid_at; /* libvirtd (re)connected and listed from then on */
    GQueue ops;        /* hv_op_t *, the head runs (one worker, in order) */
} hv_t;

/* ---- one host: corosync + libvirtd + droverd ---- */
struct simnode {
    sim_t *sim;
    int idx;
    char name[8];
    char addr[16];
    bool host_up;             /* the host (corosync, libvirtd, its domains) */
    bool daemon_up;           /* droverd */
    uint64_t daemon_start_at; /* droverd comes back at this time (0: no restart pending) */
    uint32_t pid;
    uint32_t inc; /* droverd incarnation */
    drv_cluster_t *c;
    drv_ha_rt_t *rt;
    drv_state_t *disk; /* the persisted state file (survives daemon and host restarts) */
    bool kicked;
    bool reconcile_req;     /* the runtime asked for a list pass */
    int64_t wall_offset_ms; /* stepped by faults: nothing in Drover may read it */
    uint64_t boot_at;       /* sim time of the host's boot: its monotonic clock starts there */
    uint32_t cpu;
    uint64_t memory_mib;
    /* fake CPG */
    int comp;
    drv_ring_t ring;
    uint32_t ring_mask;    /* hosts of the ring we last told this daemon about */
    uint64_t members_key;  /* member list last given to this daemon */
    bool hold_send;        /* multicasts wait in held (a send queue on CS_ERR_TRY_AGAIN) */
    bool hold_from_assign; /* hold_send from this node's next RES_ASSIGN on */
    bool release_on_confchg;
    GQueue held; /* cpgmsg_t * */
    hv_t hv;
    GHashTable *admin_reqs; /* req id -> admin record index + 1 */
    /* corosync's votequorum on this host (set at each new ring of its component) */
    bool vq_quorate;
    bool had_quorum; /* this droverd incarnation saw quorum (its lost_quorum rule) */
    /* the emulated watchdog device (sim->watchdog_ms > 0): armed when droverd starts, fed
     * while droverd runs and (quorate or no VM runs here); resets the host when starved */
    bool wd_armed;
    uint64_t wd_fed;
};

/* A fence-agent run in flight (the fake power switch: "off" crashes the target host). */
typedef struct sim_fence {
    int exec;     /* the node running it */
    uint32_t inc; /* its droverd incarnation: a result for another one is dropped */
    uint64_t id;
    int target;
    uint64_t t_end;
    bool fail;
} sim_fence_t;

typedef struct admin_rec {
    drv_cmd_type_t type;
    char *name;
    char *value;
    bool flag;
    int status; /* 0 pending / outcome unknown, 1 acknowledged, -1 refused */
    uint64_t submit_t, done_t;
} admin_rec_t;

struct sim {
    GRand *rng;
    guint32 seed;
    int n;
    bool verbose;
    uint64_t now;
    uint64_t ring_seq;
    simnode_t node[SIM_MAXN];
    bool link_ok[SIM_MAXN][SIM_MAXN]; /* migration (libvirt-to-libvirt) links */
    GQueue cpgq;                      /* cpgmsg_t * in total order */
    bool confchg_pending;
    GQueue log;       /* char *, the last events */
    GPtrArray *admin; /* admin_rec_t * in submission order */
    /* timings (virtual ms) */
    unsigned start_ms, stop_ms, mig_copy_ms, mig_switch_ms;
    /* random faults in ops */
    unsigned p_start_fail, p_mig_fail, p_mig_hang; /* per mille */
    bool eval_gap;    /* daemons evaluate between an old ring's last deliveries and the confchg */
    bool deliver_all; /* deliver the whole CPG queue at every tick */
    /* fencing: a power switch per node (fence devices in the state) and/or watchdogs */
    bool fencing;
    unsigned p_fence_fail;               /* per mille: a fence run fails */
    unsigned fence_min_ms, fence_max_ms; /* how long a fence run takes */
    uint64_t watchdog_ms;                /* 0: no watchdog */
    GPtrArray *fences;                   /* sim_fence_t * in flight */
    char *failure;                       /* first violated check */
    uint64_t zero_copy_ms[SIM_NVM];      /* time a started VM spent running nowhere, after it ran */
    bool ever_ran[SIM_NVM];
};

/* main.c */
void sim_log(sim_t *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void sim_fail(sim_t *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
sim_t *sim_new(guint32 seed, int n, bool verbose);
void sim_free(sim_t *s);
void sim_boot(sim_t *s); /* boot every host, let the cluster form */
void sim_run(sim_t *s, uint64_t ms);
/* Run until PRED holds (true) or MS pass (false). */
bool sim_run_until(sim_t *s, uint64_t ms, bool (*pred)(sim_t *s, void *ud), void *ud);
const char *sim_vm_name(int v);
const char *sim_vm_uuid(int v);
int sim_vm_index(const char *uuid);

/* fakecpg.c */
void cpg_send(simnode_t *nd, const void *buf, size_t len);
void cpg_release(simnode_t *nd);
void cpg_release_one(simnode_t *nd); /* up to and including the next RES_ASSIGN */
void cpg_deliver(sim_t *s, int limit);
void cpg_confchg(sim_t *s);
void cpg_drop_node(simnode_t *nd);
void cpg_free(sim_t *s);

/* fakehv.c */
void hv_init(hv_t *hv, simnode_t *nd);
void hv_clear(hv_t *hv);
bool hv_valid(const hv_t *hv);
void hv_advance(sim_t *s);
int hv_start(hv_t *hv, uint64_t op_id, const char *xml);
int hv_stop(hv_t *hv, uint64_t op_id, const char *uuid, unsigned grace_ms);
int hv_migrate(hv_t *hv, uint64_t op_id, const char *uuid, int target);
void hv_host_crash(hv_t *hv);
void hv_libvirtd_restart(hv_t *hv, unsigned down_ms);
void hv_vm_crash(hv_t *hv, const char *uuid, bool leave_other);
void hv_put(hv_t *hv, const char *uuid, drv_ha_dom_state_t state); /* behind Drover's back */
hv_op_t *hv_migration(hv_t *hv); /* the migration at the head of the worker, or NULL */
void hv_migration_abort(hv_t *hv);

/* node.c: the node driver */
void node_daemon_start(simnode_t *nd);
void node_daemon_stop(simnode_t *nd);
void node_host_crash(simnode_t *nd);
void node_host_boot(simnode_t *nd);
void node_kick(simnode_t *nd);
void node_evaluate(simnode_t *nd);
void node_dom_changed(simnode_t *nd, const char *uuid, drv_ha_dom_state_t st, bool by_us,
                      const char *reason);
void node_op_done(simnode_t *nd, uint32_t inc, uint64_t op_id, int rc, const char *errmsg);
const drv_state_t *node_state(const simnode_t *nd);
bool node_active(const simnode_t *nd); /* active and quorate */
/* Admin commands as the CLI sends them through the node's droverd. */
int admin_submit(simnode_t *nd, drv_cmd_type_t type, const char *name, const char *value,
                 bool flag);
int admin_add(simnode_t *nd, int vm, uint8_t prio, bool allow_migrate, uint32_t cpu,
              const char *prefer);

void node_watchdog_tick(simnode_t *nd);
/* Fence devices for every node (the fake power switch), submitted through ND. */
void admin_fencing_setup(simnode_t *nd);
void fences_advance(sim_t *s);

/* faults.c */
void faults_random_step(sim_t *s);
void faults_heal_all(sim_t *s);

/* checks.c */
int hv_copies(sim_t *s, const char *uuid, int *where); /* running/paused copies, one per VM */
bool check_safety(sim_t *s);
bool check_settled(sim_t *s, GString *why);
bool check_history_end(sim_t *s, uint64_t bound_ms);

/* scenarios.c */
typedef struct sim_scenario {
    const char *name;
    bool (*run)(sim_t *s);
    int nodes; /* 0: 3 */
} sim_scenario_t;
extern const sim_scenario_t sim_scenarios[];

#endif
