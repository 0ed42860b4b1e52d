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
    char *libvirt_uri;      /* [resources] libvirt_uri */
    guint stop_grace_ms;    /* [resources] stop_grace_ms: ACPI shutdown, then destroy */
    char *migration_uri;    /* [resources] migration_uri: peer libvirtd, %s = node address */
    char *migration_transport; /* [resources] migration_transport: QEMU stream, %s = address */
    guint cpu;              /* [resources] cpu: vCPUs this host offers (0 = 4 x online CPUs) */
    guint memory_mib;       /* [resources] memory_mib: MiB for VMs (0 = physical memory) */
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
typedef struct drv_agent drv_agent_t;
typedef struct drv_ha drv_ha_t;

struct drv_agent {
    drv_agent_config_t cfg;
    char *state_path; /* STATE_DIR/state.bin */
    GMainLoop *loop;
    drv_cluster_t *cluster; /* created at the first corosync connection (needs the nodeid) */
    drv_state_t *loaded;    /* state read at start, handed to the core when it is created */
    drv_cs_t *cs;
    drv_ipc_t *ipc;
    drv_ha_t *ha; /* VM resources: coordinator, node agent, libvirt driver (ha.c) */
    drv_cluster_view_t last_view; /* what was last logged (members pointer not kept) */
    uint64_t last_logged_seq;
    bool shutting_down;
};

/* The ops table the daemon gives the core (droverd.c). */
extern const drv_cluster_ops_t drv_agent_cluster_ops;
uint64_t drv_agent_now_ms(void);

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

/* ipc.c */
drv_ipc_t *drv_ipc_new(drv_agent_t *a);
int drv_ipc_start(drv_ipc_t *ipc);
void drv_ipc_stop(drv_ipc_t *ipc);
void drv_ipc_free(drv_ipc_t *ipc);
void drv_ipc_request_done(drv_ipc_t *ipc, uint64_t req_id, int rc);
/* May UID/GID talk to droverd? Root, or a member (primary or supplementary) of GROUP; when
 * GROUP does not exist, root only. Returns 0 or -EACCES. */
int drv_ipc_check_access(uid_t uid, gid_t gid, const char *group);

/* status.c: the JSON replies of `status` and `node-list`. */
JsonNode *drv_status_json(drv_agent_t *a);
JsonNode *drv_node_list_json(drv_agent_t *a);
const char *drv_phase_str(drv_phase_t p);

#endif
