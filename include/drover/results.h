/* Drover's one return-code convention.
 *
 * Every function that can fail returns int: 0 (DRV_OK) on success, a negative errno value for
 * a system failure (-ENOMEM, -EIO, ...), or one of the DRV_ERR_* codes below, which live in a
 * reserved range below -1000 so they never collide with errno. Foreign codes (corosync's
 * cs_error_t where CS_OK is 1, libvirt's -1 + virGetLastError()) are converted where they are
 * received. drv_strerror() gives the message for any of them; drv_exit_code() maps them to the
 * CLI's exit status (documented in docs/cli.md).
 */
#ifndef DROVER_RESULTS_H
#define DROVER_RESULTS_H

enum drv_result {
    DRV_OK = 0,
    DRV_ERR_FIRST = -1000,
    DRV_ERR_BAD_ARGS = -1001,      /* bad command-line or request arguments */
    DRV_ERR_NO_DAEMON = -1002,     /* droverd not running / not reachable */
    DRV_ERR_NOT_QUORATE = -1003,   /* this partition has no quorum: change refused */
    DRV_ERR_UNKNOWN_NODE = -1004,  /* the node name is not in the cluster's nodelist */
    DRV_ERR_BAD_MESSAGE = -1005,   /* malformed, truncated, oversized or wrong-version message */
    DRV_ERR_CORRUPT = -1006,       /* a persisted file failed its integrity checks */
    DRV_ERR_SYNCING = -1007,       /* membership is re-synchronising; try again */
    DRV_ERR_TIMEOUT = -1008,       /* the operation did not complete in time */
    DRV_ERR_PERMISSION = -1009,    /* caller not root nor in the haclient group */
    DRV_ERR_CONFIG = -1010,        /* invalid configuration file */
    DRV_ERR_NOT_CONNECTED = -1011, /* corosync not reachable right now */
    DRV_ERR_UNKNOWN_RESOURCE = -1012,
    DRV_ERR_EXISTS = -1013,
    DRV_ERR_LIMIT = -1014,        /* the replicated state would outgrow what one message carries */
    DRV_ERR_STALE = -1015,        /* a conditional command was computed from a state that changed */
    DRV_ERR_CANNOT_PLACE = -1016, /* the target node cannot take the VM (full, standby,
                                     banned, droverd down) */
    DRV_ERR_BUSY = -1017,         /* an operation (e.g. a migration job) is in progress on it */
    DRV_ERR_UNKNOWN_DEVICE = -1018, /* no fence device of that name */
    DRV_ERR_LAST = -1019,
};

/* Exit codes of the drover CLI (stable; scripts rely on them). */
enum drv_exit {
    DRV_EXIT_OK = 0,
    DRV_EXIT_ERROR = 1,        /* any other failure */
    DRV_EXIT_USAGE = 2,        /* bad arguments */
    DRV_EXIT_NO_DAEMON = 3,    /* droverd not running */
    DRV_EXIT_NOT_QUORATE = 4,  /* change refused: no quorum */
    DRV_EXIT_NOT_FOUND = 5,    /* unknown node or resource */
    DRV_EXIT_TIMEOUT = 6,      /* no answer in time / membership kept changing */
    DRV_EXIT_PERMISSION = 7,   /* not allowed to talk to droverd */
    DRV_EXIT_CANNOT_PLACE = 8, /* the target node cannot take the VM now */
};

const char *drv_strerror(int rc);
int drv_exit_code(int rc);

#endif
