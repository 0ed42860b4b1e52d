#include "config.h"

#include <string.h>

#include "drover/results.h"

const char *drv_strerror(int rc)
{
    switch (rc) {
    case DRV_OK:
        return "OK";
    case DRV_ERR_BAD_ARGS:
        return "invalid arguments";
    case DRV_ERR_NO_DAEMON:
        return "droverd is not running (cannot connect to its IPC socket)";
    case DRV_ERR_NOT_QUORATE:
        return "this partition has no quorum: change refused";
    case DRV_ERR_UNKNOWN_NODE:
        return "unknown node";
    case DRV_ERR_BAD_MESSAGE:
        return "malformed message";
    case DRV_ERR_CORRUPT:
        return "corrupt file";
    case DRV_ERR_SYNCING:
        return "the cluster membership changed before a quorum confirmed the change: it may or may "
               "not have been applied (check, and retry if needed)";
    case DRV_ERR_TIMEOUT:
        return "timed out";
    case DRV_ERR_PERMISSION:
        return "permission denied (must be root or in the haclient group)";
    case DRV_ERR_CONFIG:
        return "invalid configuration";
    case DRV_ERR_NOT_CONNECTED:
        return "not connected (corosync or libvirtd unreachable)";
    case DRV_ERR_UNKNOWN_RESOURCE:
        return "unknown resource";
    case DRV_ERR_EXISTS:
        return "already exists";
    case DRV_ERR_LIMIT:
        return "the cluster state would exceed its size limit (1 MiB, 16384 entries per table)";
    case DRV_ERR_STALE:
        return "the decision was made from a state that has changed since: refused";
    case DRV_ERR_CANNOT_PLACE:
        return "the target node cannot take the VM";
    case DRV_ERR_BUSY:
        return "an operation is in progress on it";
    case DRV_ERR_UNKNOWN_DEVICE:
        return "unknown fence device";
    default:
        break;
    }
    if (rc < 0 && rc > DRV_ERR_FIRST) {
        return strerror(-rc);
    }
    return "unknown error";
}

int drv_exit_code(int rc)
{
    switch (rc) {
    case DRV_OK:
        return DRV_EXIT_OK;
    case DRV_ERR_BAD_ARGS:
        return DRV_EXIT_USAGE;
    case DRV_ERR_NO_DAEMON:
        return DRV_EXIT_NO_DAEMON;
    case DRV_ERR_NOT_QUORATE:
        return DRV_EXIT_NOT_QUORATE;
    case DRV_ERR_UNKNOWN_NODE:
    case DRV_ERR_UNKNOWN_RESOURCE:
    case DRV_ERR_UNKNOWN_DEVICE:
        return DRV_EXIT_NOT_FOUND;
    case DRV_ERR_TIMEOUT:
    case DRV_ERR_SYNCING:
        return DRV_EXIT_TIMEOUT;
    case DRV_ERR_PERMISSION:
        return DRV_EXIT_PERMISSION;
    case DRV_ERR_CANNOT_PLACE:
        return DRV_EXIT_CANNOT_PLACE;
    default:
        return DRV_EXIT_ERROR;
    }
}
