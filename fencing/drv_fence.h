/* Fence agents: running one, validating what is handed to it, retrying it.
 *
 * The protocol is the fence-agents one (Debian's fence-agents package, Pacemaker's fencer):
 * the agent is an executable run as a child process without a shell, in a session (and so a
 * process group) of its own, with `key=value` lines on its stdin: `action=`, then `nodename=`,
 * `plug=` and `port=` when a target is given, then the device's parameters in the order they
 * were set. Exit 0 = success; for `status`, 0 = on, 2 = off, anything else = error. docs/fencing.md
 * describes the protocol as implemented and its limits.
 *
 * Threading: everything here is called on, and every callback runs on, the thread that iterates
 * GLib's default main context (droverd's one main loop). Nothing blocks it: the agent's output is
 * read by fd sources, its exit by a child watch, its deadline by a timer.
 *
 * Errors: int 0 on success, negative otherwise (include/drover/results.h). The synchronous errors
 * are DRV_ERR_BAD_ARGS (a bad agent path, parameter, target or timeout: *ERRMSG says which; nothing
 * was run) and -errno for a pipe that could not be made. What happens to the agent once it is
 * started (failure, timeout, a spawn failure) is not an error code but the outcome in the result
 * handed to the callback.
 *
 * Built on this: fencing a node through topology levels (drv_fence_topology.h). The watchdog
 * supervisor (drv_watchdog.h) lives in the same library but does not use it.
 */
#ifndef DRV_FENCE_H
#define DRV_FENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- actions and outcomes ---- */

typedef enum {
    DRV_FENCE_ACT_OFF = 0,
    DRV_FENCE_ACT_ON,
    DRV_FENCE_ACT_REBOOT,
    DRV_FENCE_ACT_STATUS,
    DRV_FENCE_ACT_MONITOR,
    DRV_FENCE_ACT_LIST,
    DRV_FENCE_ACT_METADATA,
    DRV_FENCE_ACT_N,
} drv_fence_action_t;

/* The protocol's word ("off", "status"...); "?" for a value out of range. */
const char *drv_fence_action_str(drv_fence_action_t a);
/* 0 and *A, or DRV_ERR_BAD_ARGS for a word that is not one of the seven. */
int drv_fence_action_parse(const char *s, drv_fence_action_t *a);

typedef enum {
    DRV_FENCE_RES_OK = 0,      /* exit 0 (for status: the target is on) */
    DRV_FENCE_RES_OFF,         /* status only: exit 2, the target is off */
    DRV_FENCE_RES_FAILED,      /* any other exit status, or ended by a signal we did not send */
    DRV_FENCE_RES_TIMEOUT,     /* the deadline passed: its process group was killed */
    DRV_FENCE_RES_SPAWN_ERROR, /* the agent could not be started (fork/exec failed) */
} drv_fence_outcome_t;

const char *drv_fence_outcome_str(drv_fence_outcome_t o);

/* What a call came to. Owned by the caller of the callback, valid only during the call. */
typedef struct drv_fence_result {
    uint64_t call_id;
    drv_fence_action_t action;
    drv_fence_outcome_t outcome;
    int exit_status; /* the agent's exit status; -1 when it did not exit by itself */
    int term_signal; /* the signal that ended it, 0 when none */
    uint64_t elapsed_ms;
    /* Captured stdout and stderr: never NULL, valid UTF-8 (NUL bytes and invalid sequences
     * replaced), at most the runner's output bound plus a "[drover: N bytes dropped]" line. */
    const char *out;
    const char *err;
    size_t out_dropped; /* bytes dropped beyond the bound */
    size_t err_dropped;
    /* NULL when the outcome is OK or OFF; else one line for logs and the history, e.g.
     * "exit status 1: Failed: Unable to obtain correct plug status" (the last line of stderr). */
    const char *errmsg;
} drv_fence_result_t;

/* OK, or OFF (a status that found the target off is an answer, not a failure). */
bool drv_fence_result_succeeded(const drv_fence_result_t *r);

/* ---- parameters ---- */

/* A device's parameters: ordered key=value pairs, each checked when set. */
typedef struct drv_fence_params drv_fence_params_t;

drv_fence_params_t *drv_fence_params_new(void);
void drv_fence_params_free(drv_fence_params_t *p); /* NULL is fine */
drv_fence_params_t *drv_fence_params_copy(const drv_fence_params_t *p);
/* Sets KEY to VALUE (replacing its value in place when KEY is already set). DRV_ERR_BAD_ARGS
 * with *ERRMSG (g_malloc'd; ERRMSG may be NULL) when the key is not [A-Za-z0-9_-]+, is one the
 * runner sets itself (action, option, nodename), or the value holds a line break (\n or \r: it
 * would inject a line into the agent's stdin). The message never contains the value. */
int drv_fence_params_set(drv_fence_params_t *p, const char *key, const char *value, char **errmsg);
/* "KEY=VALUE" (the CLI's --param), split at the first '='; same checks as _set. */
int drv_fence_params_parse(drv_fence_params_t *p, const char *kv, char **errmsg);
/* NULL when not set. */
const char *drv_fence_params_get(const drv_fence_params_t *p, const char *key);
size_t drv_fence_params_count(const drv_fence_params_t *p);
/* The I-th pair in order (I < count). */
const char *drv_fence_params_key(const drv_fence_params_t *p, size_t i);
const char *drv_fence_params_value(const drv_fence_params_t *p, size_t i);
/* "k1=v1 k2=****** ..." with every secret value (drv_fence_param_is_secret) replaced by
 * DRV_FENCE_REDACTED: the only form in which parameters are ever printed or logged. g_malloc'd;
 * "" when there are none. */
char *drv_fence_params_redacted(const drv_fence_params_t *p);

#define DRV_FENCE_REDACTED "******"

/* Does KEY name a secret? Case-insensitive, by one table in fence_params.c: keys containing
 * "passw" (password, passwd, snmp_priv_passwd...), "secret", "key", "token" or "credential",
 * and the exact names "community" (SNMP) and "hexadecimal_kg" (IPMI's BMC key). */
bool drv_fence_param_is_secret(const char *key);

/* The whole input an agent would get on stdin is at most this many bytes (it must fit in one
 * pipe buffer, which is written before the agent starts). */
#define DRV_FENCE_STDIN_MAX 4096

/* The checks a run makes before anything is started: AGENT an absolute path to an executable
 * regular file (when CHECK_AGENT_FILE; otherwise only absolute), TARGET NULL or a non-empty
 * value without line breaks, the whole stdin within DRV_FENCE_STDIN_MAX. 0 or DRV_ERR_BAD_ARGS
 * with *ERRMSG. PARAMS may be NULL (no device parameters). */
int drv_fence_validate(const char *agent, const drv_fence_params_t *params, const char *target,
                       bool check_agent_file, char **errmsg);

/* The exact text written to the agent's stdin, for tests and debugging (it may hold secrets:
 * never log it). g_malloc'd. */
char *drv_fence__stdin_text(const drv_fence_params_t *params, drv_fence_action_t action,
                            const char *target);

/* ---- the ops table: the seam between fencing logic and the world ---- */

typedef void (*drv_fence_done_fn)(void *ud, const drv_fence_result_t *res);

/* CTX is the implementation's context (a drv_fence_runner_t * for drv_fence_agent_ops, a
 * drv_fence_fake_t * for the fake).
 *
 * run: starts ACTION of AGENT with PARAMS (copied; may be NULL) against TARGET (the node to act
 * on; NULL for device-wide actions such as monitor, list and metadata), to be over within
 * TIMEOUT_MS (> 0). Returns < 0 (validation, see drv_fence_validate; nothing ran, DONE is never
 * called) or 0, *CALL_ID set (may be NULL), and DONE called exactly once later on the main loop,
 * never from inside run itself.
 *
 * cancel: forgets call CALL_ID: DONE will not be called for it; a running agent has its
 * process group killed. Unknown or finished ids are ignored. */
typedef struct drv_fence_ops {
    const char *name;
    int (*run)(void *ctx, const char *agent, const drv_fence_params_t *params,
               drv_fence_action_t action, const char *target, unsigned timeout_ms,
               drv_fence_done_fn done, void *ud, uint64_t *call_id, char **errmsg);
    void (*cancel)(void *ctx, uint64_t call_id);
} drv_fence_ops_t;

/* ---- the real runner ---- */

typedef struct drv_fence_runner drv_fence_runner_t;

extern const drv_fence_ops_t drv_fence_agent_ops; /* ctx: a drv_fence_runner_t * */

#define DRV_FENCE_OUTPUT_MAX (64 * 1024) /* default bound of stdout, and of stderr */
#define DRV_FENCE_KILL_GRACE_MS 2000     /* default: SIGTERM, then SIGKILL after this */

drv_fence_runner_t *drv_fence_runner_new(void);
/* Kills the process group of every call still running (SIGKILL) and calls no callback; the
 * children are reaped later by the main loop. NULL is fine. Not from inside a callback of one
 * of its calls. */
void drv_fence_runner_free(drv_fence_runner_t *r);
/* Bounds for the calls started from now on; 0 keeps the current value. */
void drv_fence_runner_set_limits(drv_fence_runner_t *r, size_t output_max, unsigned kill_grace_ms);
/* Calls started and not yet delivered. */
size_t drv_fence_runner_in_flight(const drv_fence_runner_t *r);

/* ---- retry with back-off, over any ops table ---- */

typedef struct drv_fence_retry_policy {
    unsigned max_retries;  /* a failed call is run again up to this many times */
    unsigned delay_ms;     /* wait before the first retry; doubles after each */
    unsigned max_delay_ms; /* cap of the wait (0: no cap) */
} drv_fence_retry_policy_t;

/* ATTEMPT (0 = the first run), and whether another run follows, after NEXT_DELAY_MS. */
typedef void (*drv_fence_attempt_fn)(void *ud, const drv_fence_result_t *res, unsigned attempt,
                                     bool will_retry, unsigned next_delay_ms);

typedef struct drv_fence_retry drv_fence_retry_t;

/* Runs the call through OPS/CTX; a result that did not succeed (drv_fence_result_succeeded) is
 * retried per POL, the wait on a main-loop timer. ATTEMPT_CB (may be NULL) sees every attempt;
 * DONE gets the last result, once, after which the handle is gone. NULL and *ERRMSG when the
 * first run is refused (validation): no callback then. A later attempt refused by OPS (cannot
 * happen with the same arguments and the real runner, unless the agent file was removed) ends
 * the retry with a SPAWN_ERROR result. */
drv_fence_retry_t *drv_fence_retry_start(const drv_fence_ops_t *ops, void *ctx, const char *agent,
                                         const drv_fence_params_t *params,
                                         drv_fence_action_t action, const char *target,
                                         unsigned timeout_ms, const drv_fence_retry_policy_t *pol,
                                         drv_fence_attempt_fn attempt_cb, drv_fence_done_fn done,
                                         void *ud, char **errmsg);
/* Stops it: no further callback, the running attempt (if any) is cancelled through OPS. Only
 * before DONE was called. */
void drv_fence_retry_cancel(drv_fence_retry_t *r);

#endif
