/* Cluster properties (crmsh's `crm configure property`): cluster-wide knobs kept in the
 * replicated settings table under the reserved key prefix "property/", so they travel with
 * the state and change by DRV_CMD_SETTING_SET / DRV_CMD_SETTING_DEL like any setting.
 *
 * This registry is the one definition of every property: the CLI validates with it before
 * sending, droverd before submitting, and the cluster core when applying (an unknown
 * property/ key or an invalid value is refused with DRV_ERR_BAD_ARGS, identically on every
 * node). Readers use the typed getters, which fall back to the default. Values are stored in
 * canonical form (drv_prop_parse's output). Documented in docs/cli.md.
 */
#ifndef DRV_PROPS_H
#define DRV_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drv_state.h"

#define DRV_PROP_PREFIX "property/"

typedef enum drv_prop_id {
    DRV_PROP_FAILURE_THRESHOLD = 0,
    DRV_PROP_FAILURE_WINDOW,
    DRV_PROP_FENCING_ENABLED,
    DRV_PROP_FENCE_TIMEOUT,
    DRV_PROP_NO_QUORUM_POLICY,
    DRV_PROP_NO_QUORUM_GRACE,
    DRV_PROP_MIGRATION_LIMIT_NODE_OUT,
    DRV_PROP_MIGRATION_LIMIT_NODE_IN,
    DRV_PROP_MIGRATION_LIMIT_CLUSTER,
    DRV_PROP_MIGRATION_TIMEOUT,
    DRV_PROP_MIGRATION_MAX_DOWNTIME,
    DRV_PROP_BALANCE_LEVEL,
    DRV_PROP_COUNT,
} drv_prop_id_t;

typedef enum drv_prop_type {
    DRV_PROP_INT,      /* integer in min..max (unit: see `unit`) */
    DRV_PROP_DURATION, /* seconds in min..max; also accepts an s, m, h or d suffix */
    DRV_PROP_BOOL,     /* true|false (also yes|no, on|off, 1|0) */
    DRV_PROP_ENUM,     /* one of `choices` */
} drv_prop_type_t;

typedef struct drv_prop {
    drv_prop_id_t id;
    const char *key; /* without DRV_PROP_PREFIX */
    drv_prop_type_t type;
    int64_t min, max;           /* INT, DURATION */
    const char *const *choices; /* ENUM: NULL-terminated */
    const char *def;            /* default, canonical text */
    const char *unit;           /* "s", "ms" or NULL, for people */
    const char *desc;           /* one line */
} drv_prop_t;

/* Every property, in id order (N = DRV_PROP_COUNT). */
const drv_prop_t *drv_prop_all(size_t *n);
const drv_prop_t *drv_prop_get(drv_prop_id_t id);
/* KEY without the prefix; NULL when unknown. */
const drv_prop_t *drv_prop_lookup(const char *key);
/* "failure-threshold, failure-window, ..." (g_free it). */
char *drv_prop_keys(void);

/* Check VALUE for property KEY: 0 and *CANON (g_free; may be NULL) the canonical text, or
 * DRV_ERR_BAD_ARGS and *ERR (g_free; may be NULL) saying why: an unknown key (listing the
 * valid ones) or a value of the wrong type or out of range. */
int drv_prop_parse(const char *key, const char *value, char **canon, char **err);
/* For the apply: a settings key outside "property/" is not ours (0); inside, the key must be
 * known and VALUE valid, else DRV_ERR_BAD_ARGS. */
int drv_prop_check_setting(const char *setting_key, const char *value);
/* "property/KEY" (g_free it). */
char *drv_prop_setting_key(const drv_prop_t *p);

/* The value in ST (NULL ST: the default); *IS_DEFAULT (may be NULL) when not set. */
const char *drv_prop_value(const drv_state_t *st, drv_prop_id_t id, bool *is_default);
/* Typed getters; a stored value that does not parse (never written by this version) reads
 * as the default. DURATION reads in seconds. */
int64_t drv_prop_int(const drv_state_t *st, drv_prop_id_t id);
bool drv_prop_bool(const drv_state_t *st, drv_prop_id_t id);
const char *drv_prop_str(const drv_state_t *st, drv_prop_id_t id);
const char *drv_prop_type_str(drv_prop_type_t t);

#endif
