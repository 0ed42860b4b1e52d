/* droverd internals shared by the files of agent/ (not installed).
 *
 * One drv_agent_t per daemon, created in droverd.c and passed to every module: no mutable
 * globals. Each module owns its own part (drv_cs_t: corosync connections, drv_ipc_t: the IPC
 * server) and reaches the others only through the agent.
 */
#ifndef DRV_AGENT_H
#define DRV_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "drv_cluster.h"

#define DRV_DEFAULT_CONFIG "/etc/drover/drover.conf"

typedef struct drv_agent_config {
    char *path;      /* the file read, NULL when defaults were used */
    char *state_dir; /* [daemon] state_dir */
    char *cpg_group; /* [daemon] cpg_group */
    char *ipc_name;  /* [daemon] ipc_name */
    guint request_timeout_ms;
    char *logfile; /* [logging] logfile, NULL = none */
    bool to_stderr;
    bool to_syslog;
    bool debug;
    bool blackbox;
    char *libvirt_uri;         /* [resources] libvirt_uri */
    guint stop_grace_ms;       /* [resources] stop_grace_ms: ACPI shutdown, then destroy */
    char *migration_uri;       /* [resources] migration_uri: peer libvirtd, %s = node address */
    char *migration_transport; /* [resources] migration_transport: QEMU stream, %s = address */
    guint cpu;                 /* [resources] cpu: vCPUs this host offers (0 = 4 x online CPUs) */
    guint memory_mib;          /* [resources] memory_mib: MiB for VMs (0 = physical memory) */
    bool watchdog;             /* [fencing] watchdog: feed a watchdog device (sbd's model) */
    char *watchdog_device;     /* [fencing] watchdog_device */
    guint watchdog_timeout;    /* [fencing] watchdog_timeout: seconds */
} drv_agent_config_t;

/* config.c. Fills CFG with the defaults, then overrides them from PATH. A missing file is an
 * error only when MUST_EXIST. Returns 0 or DRV_ERR_CONFIG with *ERR naming file, group, key. */
void drv_config_defaults(drv_agent_config_t *cfg);
int drv_config_load(drv_agent_config_t *cfg, const char *path, bool must_exist, char **err);
void drv_config_clear(drv_agent_config_t *cfg);

/* log.c. qb_log targets from the configuration, the blackbox, GLib's log redirected. */
void drv_log_setup(const drv_agent_config_t *cfg, bool foreground);
/* Write the blackbox to STATE_DIR/droverd-blackbox-<pid>-<n>; returns the path or NULL. */
char *drv_log_blackbox_dump(const char *state_dir);
void drv_log_install_crash_handlers(const char *state_dir);
void drv_log_shutdown(void);

/* One node of corosync's nodelist (cmap nodelist.node.X.*). */
typedef struct drv_nodeinfo {
    uint32_t id;
    char *name; /* .name, else .ring0_addr */
    char *addr; /* .ring0_addr, may be NULL */
} drv_nodeinfo_t;

/* What the corosync glue knows, for status and name lookups. */
typedef struct drv_cs_info {
    bool connected;          /* cpg, votequorum and cmap handles are up and we joined */
    uint32_t local_nodeid;   /* 0 until the first connection */
    char *cluster_name;      /* cmap totem.cluster_name, NULL if unknown */
    bool vq_quorate;         /* votequorum's latest quorum notification */
    uint32_t expected_votes; /* votequorum_getinfo */
    uint32_t total_votes;
    uint32_t quorum;
    GPtrArray *nodes; /* drv_nodeinfo_t *, sorted by id; last known nodelist */
} drv_cs_info_t;

typedef struct drv_cs drv_cs_t;
typedef struct drv_ipc drv_ipc_t;
typedef struct drv_ipc_handlers drv_ipc_handlers_t;
typedef struct drv_agent drv_agent_t;
typedef struct drv_ha drv_ha_t;

/* Listeners of what the cluster core reports (core.c dispatches them): the core's ops table
 * knows neither the HA layer nor the IPC handlers, they register here. */
/* A request submitted on this node finished (rc 0: applied). Return true when REQ_ID was
 * yours: the listeners after you are not asked. */
typedef bool (*drv_agent_request_done_fn)(void *ud, uint64_t req_id, int rc);
/* The view (phase, quorum, coordinator, members) or the replicated state changed. */
typedef void (*drv_agent_changed_fn)(void *ud);

struct drv_agent {
    drv_agent_config_t cfg;
    char *state_path; /* STATE_DIR/state.bin */
    GMainLoop *loop;
    drv_cluster_t *cluster; /* created at the first corosync connection (needs the nodeid) */
    drv_state_t *loaded;    /* state read at start, handed to the core when it is created */
    drv_cs_t *cs;
    drv_ipc_t *ipc;               /* the transport (ipc_server.c) */
    drv_ipc_handlers_t *ipc_hdl;  /* what each request does (ipc_handlers.c) */
    drv_ha_t *ha;                 /* VM resources: coordinator, node agent, libvirt driver (ha.c) */
    struct drv_afence *fence;     /* fence agents and the watchdog (fence.c) */
    drv_cluster_view_t last_view; /* what was last logged (members pointer not kept) */
    uint64_t last_logged_seq;
    bool shutting_down;
    GArray *request_done_listeners; /* in registration order; created on first use */
    GArray *changed_listeners;
};

/* The ops table the daemon gives the core (droverd.c). */
extern const drv_cluster_ops_t drv_agent_cluster_ops;
uint64_t drv_agent_now_ms(void);
void drv_agent_on_request_done(drv_agent_t *a, drv_agent_request_done_fn fn, void *ud);
void drv_agent_on_changed(drv_agent_t *a, drv_agent_changed_fn fn, void *ud);
/* Forget every listener registered with UD (call before freeing UD). */
void drv_agent_listeners_remove(drv_agent_t *a, void *ud);
void drv_agent_listeners_free(drv_agent_t *a);

/* corosync.c */
drv_cs_t *drv_cs_new(drv_agent_t *a);
void drv_cs_start(drv_cs_t *cs); /* first connection attempt; retries on a back-off timer */
void drv_cs_stop(drv_cs_t *cs);  /* leave the group, finalize, stop timers */
void drv_cs_free(drv_cs_t *cs);
int drv_cs_send(drv_cs_t *cs, const void *buf, size_t len);
const drv_cs_info_t *drv_cs_info(const drv_cs_t *cs);
const drv_nodeinfo_t *drv_cs_node_by_name(const drv_cs_t *cs, const char *name);
const char *drv_cs_node_name(const drv_cs_t *cs, uint32_t nodeid);
/* For the unit tests only (send queue without a corosync). */
void drv_cs__set_connected(drv_cs_t *cs, bool connected);
size_t drv_cs__queued(const drv_cs_t *cs);

/* The IPC server (ipc_server.c) and its request handlers (ipc_handlers.c): see ipc.h. */

/* status.c: the JSON bodies of `status`, `node-list`, `resource-list` and `resource-show`
 * (NULL: no such resource). */
JsonNode *drv_status_json(drv_agent_t *a);
JsonNode *drv_node_list_json(drv_agent_t *a);
JsonNode *drv_status_resource_list_json(drv_agent_t *a);
JsonNode *drv_status_resource_json(drv_agent_t *a, const char *name, bool with_xml);
const char *drv_phase_str(drv_phase_t p);
/* Is NAME's droverd in the current round (as `status` shows it online)? */
bool drv_status_node_online(drv_agent_t *a, const char *name);
/* The fencing state of NODES[I] in ST (may be NULL), first match: "fencing" (an operation is
 * open for it), "online" (a member), "down" (fenced / confirmed down), "unclean" (gone, may
 * run VMs: drv_ha_fence_needed, which sets *WHY), "offline" (gone, runs nothing of ours).
 * *TEXT: the status column (docs/cli.md, "Fencing states"). Both g_malloc'd (*WHY may be
 * NULL). Pure. */
struct drv_ha_node;
const char *drv_status_fence_state(const drv_state_t *st, const struct drv_ha_node *nodes,
                                   size_t n_nodes, size_t i, char **text, char **why);

#endif
