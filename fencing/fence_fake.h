/* A fake fence ops table for the unit tests, the coordinator's tests and the whole-cluster
 * simulator: no process is started; each call gets a scripted result per action and target,
 * and every call is recorded. Same contract as drv_fence_agent_ops (validation before anything,
 * DONE exactly once on the main loop, never from inside run, nothing after cancel), except that
 * the agent path only has to be absolute, not to exist.
 *
 * Results are delivered by a main-loop timer after the scripted delay (0: an idle callback), or,
 * in hold mode, only when drv_fence_fake_release() is called (a simulator with a virtual clock
 * decides when). */
#ifndef DRV_FENCE_FAKE_H
#define DRV_FENCE_FAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drv_fence.h"

typedef struct drv_fence_fake drv_fence_fake_t;

extern const drv_fence_ops_t drv_fence_fake_ops; /* ctx: a drv_fence_fake_t * */

/* One recorded call. Owned by the fake. */
typedef struct drv_fence_fake_call {
    uint64_t id;
    char *agent;
    drv_fence_action_t action;
    char *target;     /* NULL when none */
    char *params;     /* drv_fence_params_redacted() of what it was given */
    char *stdin_text; /* exactly what the real runner would write (secrets included) */
    unsigned timeout_ms;
    bool delivered;
    bool cancelled;
} drv_fence_fake_call_t;

drv_fence_fake_t *drv_fence_fake_new(void);
/* Drops results not yet delivered without calling back. NULL is fine. */
void drv_fence_fake_free(drv_fence_fake_t *f);

/* Appends a result to the script of ACTION on TARGET (NULL: on any target without a script of
 * its own). A script's results are used in order, the last one for every call after it. A call
 * with no script succeeds (exit 0; for status: on). OUTCOME TIMEOUT is delivered after
 * DELAY_MS like any other (script the call's timeout as the delay to be faithful). OUT/ERR
 * may be NULL. EXIT_STATUS is reported as is (-1 for none). */
void drv_fence_fake_script(drv_fence_fake_t *f, drv_fence_action_t action, const char *target,
                           drv_fence_outcome_t outcome, int exit_status, const char *out,
                           const char *err, unsigned delay_ms);
/* Forgets every script. */
void drv_fence_fake_clear_scripts(drv_fence_fake_t *f);

/* Hold mode: results of calls made from now on wait for drv_fence_fake_release(). */
void drv_fence_fake_hold(drv_fence_fake_t *f, bool hold);
/* Delivers the held results, oldest first (callbacks run from inside this call); returns how
 * many. Not from inside run. */
size_t drv_fence_fake_release(drv_fence_fake_t *f);
/* Results scheduled or held, not yet delivered. */
size_t drv_fence_fake_pending(const drv_fence_fake_t *f);

size_t drv_fence_fake_n_calls(const drv_fence_fake_t *f);
/* The I-th call made (I < n_calls), or NULL. */
const drv_fence_fake_call_t *drv_fence_fake_call(const drv_fence_fake_t *f, size_t i);
/* Calls made for ACTION on TARGET (NULL: on any target, or none). */
size_t drv_fence_fake_count(const drv_fence_fake_t *f, drv_fence_action_t action,
                            const char *target);

#endif
