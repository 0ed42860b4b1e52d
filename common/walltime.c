#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "drover/walltime.h"

char *drv_wall_ms_format(uint64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char sec[24];

    if (len == 0) {
        return buf;
    }
    if (ms == 0 || localtime_r(&t, &tm) == NULL ||
        strftime(sec, sizeof(sec), "%Y-%m-%d %H:%M:%S", &tm) == 0) {
        snprintf(buf, len, "-");
        return buf;
    }
    snprintf(buf, len, "%s.%03u", sec, (unsigned)(ms % 1000));
    return buf;
}
