/* The watchdog supervisor: sbd's model. droverd opens a watchdog device and feeds it only while
 * this node is healthy; when it stops feeding (or stops running), the device resets the host
 * once its timeout passes. The other nodes can then count on this node being down, its VMs
 * included, a bounded time after it lost the cluster: self-fencing.
 *
 * Healthy (drv_wd_unhealthy): corosync answers, and either this partition is quorate or no VM
 * runs here. Feeding happens from droverd's main-loop tick (drv_wd_tick), so "droverd's main
 * loop is alive" is part of the rule: a loop that is stuck, or a droverd that died, does not
 * feed either.
 *
 * The device is behind an ops table: drv_wd_dev_ops (a Linux watchdog device, or a FIFO read by
 * a test emulator) and the fake of watchdog_fake.h. Nothing here logs: the caller logs what the
 * accessors report. Nothing blocks. Errors: 0 or a negative code (include/drover/results.h,
 * -errno for a system call). docs/fencing.md describes the supervisor.
 */
#ifndef DRV_WATCHDOG_H
#define DRV_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

/* ---- the device: the ops table ---- */

/* open's positive answer: opened, but the device does not count TIMEOUT_S (no settable timeout,
 * as with a FIFO or a driver with a fixed timeout, or it took another value): its own timeout
 * applies. The caller logs it. */
#define DRV_WD_TIMEOUT_NOT_APPLIED 1

/* CTX is the implementation's context (unused by drv_wd_dev_ops: NULL; a drv_wd_fake_t * for
 * the fake).
 *
 * open: opens the device at PATH and asks it for a timeout of TIMEOUT_S seconds; 0 or
 * DRV_WD_TIMEOUT_NOT_APPLIED and *HANDLE set, else < 0 and *ERRMSG (g_malloc'd; ERRMSG may be
 * NULL). From then on the device counts.
 * keepalive: feeds it (restarts its count); 0 or < 0 (not fed).
 * close: closes it; DISARM first tells the device to stop counting (Linux's "magic close": the
 * character 'V'), best effort: a driver built with nowayout, or one that did not get the 'V',
 * keeps counting and resets the host. Without DISARM the device keeps counting. */
typedef struct drv_wd_ops {
    const char *name;
    int (*open)(void *ctx, const char *path, unsigned timeout_s, void **handle, char **errmsg);
    int (*keepalive)(void *ctx, void *handle);
    void (*close)(void *ctx, void *handle, bool disarm);
} drv_wd_ops_t;

/* A Linux watchdog device (/dev/watchdogN), or a FIFO read by an emulator (tests, the sandbox).
 * open: O_WRONLY|O_NONBLOCK|O_CLOEXEC; a character device or a FIFO, nothing else; ENXIO (a FIFO
 * nobody reads, or a device without a driver) and EBUSY (another watchdog daemon has it) get
 * their own message; WDIOC_SETTIMEOUT best effort (DRV_WD_TIMEOUT_NOT_APPLIED when refused or
 * changed). keepalive: WDIOC_KEEPALIVE, or, where there is no such ioctl (ENOTTY: a FIFO), the
 * byte 'k' written; a full FIFO is -EAGAIN, a FIFO whose reader left -EPIPE (SIGPIPE must be
 * ignored, as droverd does). */
extern const drv_wd_ops_t drv_wd_dev_ops;

/* ---- the health rule (pure) ---- */

typedef struct drv_wd_health {
    bool corosync_ok;     /* corosync answers droverd */
    bool quorate;         /* this node's partition has quorum */
    unsigned vms_running; /* VMs running on this node */
} drv_wd_health_t;

/* NULL when the watchdog may be fed: corosync answers AND (quorate OR no VM runs here). Else
 * why not, a static string: "corosync does not answer", "no quorum and VMs still running". */
const char *drv_wd_unhealthy(const drv_wd_health_t *h);

/* ---- the supervisor ---- */

typedef struct drv_wd drv_wd_t;

/* Feeds at most every max(timeout / 3, DRV_WD_MIN_INTERVAL_MS). */
#define DRV_WD_MIN_INTERVAL_MS 100

/* A supervisor of the device at PATH (copied) through OPS/CTX, with a timeout of TIMEOUT_MS,
 * rounded down to whole seconds (the device counts seconds; at least 1000). Opens nothing. */
drv_wd_t *drv_wd_new(const drv_wd_ops_t *ops, void *ctx, const char *path, unsigned timeout_ms);
/* Opens the device: from now on the host is reset unless the supervisor feeds it. 0 (also when
 * already armed), DRV_ERR_BAD_ARGS for a timeout under 1 s or no path, or open's error with
 * *ERRMSG. */
int drv_wd_arm(drv_wd_t *wd, char **errmsg);
/* Called from the main loop's periodic tick (droverd: every 250 ms) with a monotonic NOW_MS and
 * the health seen now. Healthy: feeds when nothing was fed yet or INTERVAL passed since the last
 * feed; a feed that fails is retried on the next tick (drv_wd_feed_error). Unhealthy: does not
 * feed and remembers since when and why. Nothing when not armed. */
void drv_wd_tick(drv_wd_t *wd, uint64_t now_ms, const drv_wd_health_t *h);
/* Closes the device, telling it to stop counting when DISARM (a clean shutdown); without
 * DISARM it keeps counting and resets the host unless something else feeds it. */
void drv_wd_stop(drv_wd_t *wd, bool disarm);
/* Stops it without disarming if still armed (what a crash would do), frees. NULL is fine. */
void drv_wd_free(drv_wd_t *wd);

bool drv_wd_armed(const drv_wd_t *wd);
/* False when the device did not take the timeout (DRV_WD_TIMEOUT_NOT_APPLIED): log it. */
bool drv_wd_timeout_applied(const drv_wd_t *wd);
unsigned drv_wd_timeout_s(const drv_wd_t *wd);
unsigned drv_wd_interval_ms(const drv_wd_t *wd);
/* NOW_MS of the last successful feed; 0 before the first. */
uint64_t drv_wd_last_feed_ms(const drv_wd_t *wd);
/* Why the last tick did not feed (drv_wd_unhealthy's reason), NULL when it was healthy. */
const char *drv_wd_reason(const drv_wd_t *wd);
/* Since when it has been unhealthy without a break (meaningful while drv_wd_reason is set). */
uint64_t drv_wd_starving_since_ms(const drv_wd_t *wd);
/* The error of the last feed attempted (0: it worked), and how many feeds in a row failed. */
int drv_wd_feed_error(const drv_wd_t *wd);
unsigned drv_wd_feed_failures(const drv_wd_t *wd);

#endif
