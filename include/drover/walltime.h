/* Wall-clock times for people (the fence history, the fencing state in `drover status`). The
 * cluster never decides anything from the wall clock: these times are stamps the submitter of
 * a command put on it, shown as they are. */
#ifndef DROVER_WALLTIME_H
#define DROVER_WALLTIME_H

#include <stddef.h>
#include <stdint.h>

/* "2026-12-04 18:39:14.123": MS (milliseconds since the epoch) in local time, into BUF (at
 * least DRV_WALL_MS_LEN bytes). "-" when MS is 0 (not known). Returns BUF. */
#define DRV_WALL_MS_LEN 32
char *drv_wall_ms_format(uint64_t ms, char *buf, size_t len);

#endif
