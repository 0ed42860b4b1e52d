/* A fake watchdog ops table for the unit tests and the whole-cluster simulator: no device, a
 * record of what was done to it, on a virtual clock the caller sets (NOW_MS), and failures on
 * demand. Its fields are public: set the first three, read the rest.
 *
 * It also plays the device's count: drv_wd_fake_would_fire() says whether a real device would
 * have reset the host by a given time. */
#ifndef DRV_WATCHDOG_FAKE_H
#define DRV_WATCHDOG_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drv_watchdog.h"

extern const drv_wd_ops_t drv_wd_fake_ops; /* ctx: a drv_wd_fake_t * */

typedef struct drv_wd_fake {
    /* set by the caller */
    uint64_t now_ms;  /* the virtual time, recorded with opens and feeds */
    int open_rc;      /* what open answers: 0, DRV_WD_TIMEOUT_NOT_APPLIED, or < 0 (fails) */
    int keepalive_rc; /* what keepalive answers: 0, or < 0 (not fed) */

    /* recorded */
    unsigned opens; /* successful ones */
    unsigned open_refusals;
    unsigned closes;
    bool open;          /* opened and not closed */
    bool counting;      /* the device counts: open, or closed without the magic */
    bool disarmed;      /* the last close had DISARM */
    char *path;         /* of the last open */
    unsigned timeout_s; /* of the last open */
    uint64_t *feeds;    /* NOW_MS of each successful keepalive, n_feeds of them */
    size_t n_feeds;
    unsigned failed_feeds;
    uint64_t last_kick_ms; /* the last open or successful keepalive */
} drv_wd_fake_t;

drv_wd_fake_t *drv_wd_fake_new(void);
void drv_wd_fake_free(drv_wd_fake_t *f); /* NULL is fine */
/* Would a real device with the last open's timeout have reset the host by NOW_MS (counting and
 * not kicked for more than its timeout)? */
bool drv_wd_fake_would_fire(const drv_wd_fake_t *f, uint64_t now_ms);

#endif
