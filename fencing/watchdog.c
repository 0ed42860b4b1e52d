/* The watchdog supervisor, its health rule and the real device ops (drv_watchdog.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/watchdog.h>
#include <glib.h>

#include "drover/results.h"
#include "drv_watchdog.h"

static void set_err(char **errmsg, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void set_err(char **errmsg, const char *fmt, ...)
{
    va_list ap;

    if (!errmsg) {
        return;
    }
    va_start(ap, fmt);
    *errmsg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

/* ---- the real device ---- */

typedef struct wd_dev {
    int fd;
    bool write_keepalive; /* no WDIOC_KEEPALIVE here (a FIFO): write 'k' */
} wd_dev_t;

/* Writes the byte C; 0 or -errno. */
static int write_byte(int fd, char c)
{
    ssize_t n;

    do {
        n = write(fd, &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) {
        return 0;
    }
    return n < 0 ? -errno : -EIO;
}

static int dev_open(void *ctx, const char *path, unsigned timeout_s, void **handle, char **errmsg)
{
    struct stat st;
    wd_dev_t *d;
    int fd;
    int t = (int)timeout_s;
    int rc = 0;

    fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;

        if (e == ENXIO) {
            set_err(errmsg, "watchdog %s: no device behind it, or a FIFO nobody reads", path);
        } else if (e == EBUSY) {
            set_err(errmsg, "watchdog %s is in use (another watchdog daemon: sbd, wdmd, systemd?)",
                    path);
        } else {
            set_err(errmsg, "watchdog %s: %s", path, g_strerror(e));
        }
        return -e;
    }
    if (fstat(fd, &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode))) {
        close(fd);
        set_err(errmsg, "watchdog %s is neither a character device nor a FIFO", path);
        return DRV_ERR_BAD_ARGS;
    }
    /* best effort: a FIFO has no ioctl (ENOTTY), a driver may have a fixed timeout
     * (EOPNOTSUPP) or refuse this one (EINVAL), or round it */
    if (ioctl(fd, WDIOC_SETTIMEOUT, &t) != 0 || t != (int)timeout_s) {
        rc = DRV_WD_TIMEOUT_NOT_APPLIED;
    }
    d = g_new0(wd_dev_t, 1);
    d->fd = fd;
    *handle = d;
    return rc;
}

static int dev_keepalive(void *ctx, void *handle)
{
    wd_dev_t *d = handle;
    int unused = 0; /* the ioctl is declared _IOR(int): give it an int, though it is ignored */

    if (!d->write_keepalive) {
        if (ioctl(d->fd, WDIOC_KEEPALIVE, &unused) == 0) {
            return 0;
        }
        if (errno != ENOTTY) {
            return -errno;
        }
        d->write_keepalive = true;
    }
    return write_byte(d->fd, 'k');
}

static void dev_close(void *ctx, void *handle, bool disarm)
{
    wd_dev_t *d = handle;

    if (disarm) {
        (void)write_byte(d->fd, 'V');
    }
    close(d->fd);
    g_free(d);
}

const drv_wd_ops_t drv_wd_dev_ops = {
    .name = "device",
    .open = dev_open,
    .keepalive = dev_keepalive,
    .close = dev_close,
};

/* ---- the health rule ---- */

const char *drv_wd_unhealthy(const drv_wd_health_t *h)
{
    if (!h) {
        return "no health report";
    }
    if (!h->corosync_ok) {
        return "corosync does not answer";
    }
    if (!h->quorate && h->vms_running > 0) {
        return "no quorum and VMs still running";
    }
    return NULL;
}

/* ---- the supervisor ---- */

struct drv_wd {
    const drv_wd_ops_t *ops;
    void *ctx;
    char *path;
    unsigned timeout_s;
    unsigned interval_ms;

    bool armed;
    void *handle; /* the ops' handle while armed */
    bool timeout_applied;
    bool fed;           /* at least once since armed */
    uint64_t last_feed; /* valid when fed */
    const char *reason; /* of the last tick, NULL when healthy */
    uint64_t starving_since;
    int feed_error;
    unsigned feed_failures;
};

drv_wd_t *drv_wd_new(const drv_wd_ops_t *ops, void *ctx, const char *path, unsigned timeout_ms)
{
    drv_wd_t *wd = g_new0(drv_wd_t, 1);

    wd->ops = ops;
    wd->ctx = ctx;
    wd->path = g_strdup(path);
    wd->timeout_s = timeout_ms / 1000;
    wd->interval_ms = MAX(wd->timeout_s * 1000 / 3, DRV_WD_MIN_INTERVAL_MS);
    return wd;
}

int drv_wd_arm(drv_wd_t *wd, char **errmsg)
{
    int rc;

    if (wd->armed) {
        return 0;
    }
    if (!wd->path || !*wd->path || wd->timeout_s == 0) {
        set_err(errmsg, wd->timeout_s ? "no watchdog device given"
                                      : "the watchdog timeout must be at least 1 s");
        return DRV_ERR_BAD_ARGS;
    }
    rc = wd->ops->open(wd->ctx, wd->path, wd->timeout_s, &wd->handle, errmsg);
    if (rc < 0) {
        return rc;
    }
    wd->armed = true;
    wd->timeout_applied = rc != DRV_WD_TIMEOUT_NOT_APPLIED;
    wd->fed = false;
    wd->reason = NULL;
    wd->feed_error = 0;
    wd->feed_failures = 0;
    return 0;
}

void drv_wd_tick(drv_wd_t *wd, uint64_t now_ms, const drv_wd_health_t *h)
{
    const char *why;

    if (!wd->armed) {
        return;
    }
    why = drv_wd_unhealthy(h);
    if (why) {
        if (!wd->reason) {
            wd->starving_since = now_ms;
        }
        wd->reason = why;
        return;
    }
    wd->reason = NULL;
    if (wd->fed && now_ms >= wd->last_feed && now_ms - wd->last_feed < wd->interval_ms) {
        return;
    }
    wd->feed_error = wd->ops->keepalive(wd->ctx, wd->handle);
    if (wd->feed_error != 0) {
        wd->feed_failures++;
        return;
    }
    wd->feed_failures = 0;
    wd->fed = true;
    wd->last_feed = now_ms;
}

void drv_wd_stop(drv_wd_t *wd, bool disarm)
{
    if (!wd->armed) {
        return;
    }
    wd->ops->close(wd->ctx, wd->handle, disarm);
    wd->armed = false;
    wd->handle = NULL;
}

void drv_wd_free(drv_wd_t *wd)
{
    if (!wd) {
        return;
    }
    drv_wd_stop(wd, false);
    g_free(wd->path);
    g_free(wd);
}

bool drv_wd_armed(const drv_wd_t *wd)
{
    return wd->armed;
}

bool drv_wd_timeout_applied(const drv_wd_t *wd)
{
    return wd->timeout_applied;
}

unsigned drv_wd_timeout_s(const drv_wd_t *wd)
{
    return wd->timeout_s;
}

unsigned drv_wd_interval_ms(const drv_wd_t *wd)
{
    return wd->interval_ms;
}

uint64_t drv_wd_last_feed_ms(const drv_wd_t *wd)
{
    return wd->fed ? wd->last_feed : 0;
}

const char *drv_wd_reason(const drv_wd_t *wd)
{
    return wd->reason;
}

uint64_t drv_wd_starving_since_ms(const drv_wd_t *wd)
{
    return wd->starving_since;
}

int drv_wd_feed_error(const drv_wd_t *wd)
{
    return wd->feed_error;
}

unsigned drv_wd_feed_failures(const drv_wd_t *wd)
{
    return wd->feed_failures;
}
