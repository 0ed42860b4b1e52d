/* The fake watchdog ops table (watchdog_fake.h). */
#include "config.h"

#include <errno.h>
#include <glib.h>

#include "drover/results.h"
#include "watchdog_fake.h"

static int fake_open(void *ctx, const char *path, unsigned timeout_s, void **handle, char **errmsg)
{
    drv_wd_fake_t *f = ctx;

    if (f->open_rc < 0) {
        f->open_refusals++;
        if (errmsg) {
            *errmsg = g_strdup_printf("watchdog %s: %s (fake)", path, drv_strerror(f->open_rc));
        }
        return f->open_rc;
    }
    f->opens++;
    f->open = true;
    f->counting = true;
    f->disarmed = false;
    g_free(f->path);
    f->path = g_strdup(path);
    f->timeout_s = timeout_s;
    f->last_kick_ms = f->now_ms;
    *handle = f;
    return f->open_rc;
}

static int fake_keepalive(void *ctx, void *handle)
{
    drv_wd_fake_t *f = ctx;

    if (handle != f || !f->open) {
        return -EBADF;
    }
    if (f->keepalive_rc < 0) {
        f->failed_feeds++;
        return f->keepalive_rc;
    }
    f->feeds = g_renew(uint64_t, f->feeds, f->n_feeds + 1);
    f->feeds[f->n_feeds++] = f->now_ms;
    f->last_kick_ms = f->now_ms;
    return 0;
}

static void fake_close(void *ctx, void *handle, bool disarm)
{
    drv_wd_fake_t *f = ctx;

    if (handle != f || !f->open) {
        return;
    }
    f->closes++;
    f->open = false;
    f->disarmed = disarm;
    f->counting = !disarm;
}

const drv_wd_ops_t drv_wd_fake_ops = {
    .name = "fake",
    .open = fake_open,
    .keepalive = fake_keepalive,
    .close = fake_close,
};

drv_wd_fake_t *drv_wd_fake_new(void)
{
    return g_new0(drv_wd_fake_t, 1);
}

void drv_wd_fake_free(drv_wd_fake_t *f)
{
    if (!f) {
        return;
    }
    g_free(f->path);
    g_free(f->feeds);
    g_free(f);
}

bool drv_wd_fake_would_fire(const drv_wd_fake_t *f, uint64_t now_ms)
{
    return f->counting && now_ms > f->last_kick_ms + (uint64_t)f->timeout_s * 1000;
}
