/* The fence-agent runner: one child process per call, in a session of its own, fed its
 * parameters on stdin, its output read by fd sources, its exit seen by a child watch, its
 * deadline kept by timers, all on GLib's default main context.
 *
 * A call's life: spawned -> (deadline: SIGTERM to the group -> grace: SIGKILL -> grace: give up)
 * -> exited -> leftovers of its group killed, pipes drained -> delivered. The call's memory lives
 * until both the result was delivered (or the call abandoned) and the child was reaped, so a
 * child that outlives its delivery (a process stuck in the kernel after SIGKILL, a runner freed
 * with calls running) is still reaped by the main loop. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib.h>
#include <glib-unix.h>
#include <qb/qblog.h>

#include "drover/results.h"
#include "drv_fence.h"

#define READ_CHUNK 16384
#define ERRMSG_LINE_MAX 200

struct drv_fence_runner {
    GHashTable *calls; /* &call->id -> call_t *, the calls not yet delivered (not owned) */
    uint64_t next_id;
    size_t output_max;
    unsigned kill_grace_ms;
};

typedef struct call call_t;

typedef struct stream {
    call_t *call;
    int fd; /* our read end; -1 once closed */
    guint src;
    GString *buf;
    size_t dropped;
} stream_t;

typedef enum {
    KILL_NONE = 0,
    KILL_TERM_SENT, /* deadline passed, SIGTERM sent, waiting the grace */
    KILL_KILL_SENT, /* SIGKILL sent, waiting the grace before giving up */
} kill_phase_t;

struct call {
    drv_fence_runner_t *r; /* NULL once delivered or abandoned */
    uint64_t id;
    drv_fence_action_t action;
    char *agent;
    char *target;
    unsigned timeout_ms;
    unsigned kill_grace_ms;
    size_t output_max;
    drv_fence_done_fn done;
    void *ud;

    GPid pid; /* 0: never started */
    bool exited;
    int wait_status;
    guint child_src;
    guint deadline_src; /* the deadline, then the kill grace timers */
    guint idle_src;     /* delivery of a spawn error */
    kill_phase_t phase;
    bool timed_out;
    bool abandoned_alive; /* gave up waiting after SIGKILL */
    char *spawn_error;
    gint64 started_us;
    stream_t out;
    stream_t err;
};

/* ---- helpers ---- */

static bool is_power_action(drv_fence_action_t a)
{
    return a == DRV_FENCE_ACT_OFF || a == DRV_FENCE_ACT_ON || a == DRV_FENCE_ACT_REBOOT;
}

static void remove_source(guint *id)
{
    if (*id) {
        g_source_remove(*id);
        *id = 0;
    }
}

static void stream_close(stream_t *s)
{
    remove_source(&s->src);
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

/* Signals the agent's whole process group. Once the agent itself was reaped only the group
 * is signalled (its leftovers), never the bare pid, which may have been reused; before, a
 * group that does not exist yet (setsid not reached) falls back to the pid itself. */
static void kill_group(call_t *c, int sig)
{
    if (c->pid <= 0) {
        return;
    }
    if (kill(-c->pid, sig) == 0) {
        return;
    }
    if (errno == ESRCH && !c->exited) {
        (void)kill(c->pid, sig);
    }
}

static void call_free(call_t *c)
{
    stream_close(&c->out);
    stream_close(&c->err);
    remove_source(&c->deadline_src);
    remove_source(&c->idle_src);
    g_string_free(c->out.buf, TRUE);
    g_string_free(c->err.buf, TRUE);
    g_free(c->agent);
    g_free(c->target);
    g_free(c->spawn_error);
    g_free(c);
}

/* Frees C when nothing refers to it any more: delivered or abandoned, and reaped. */
static void call_maybe_free(call_t *c)
{
    if (!c->r && (c->pid <= 0 || c->exited)) {
        call_free(c);
    }
}

/* Stops everything that could call back into C except the child watch, and takes it out of
 * its runner. */
static void call_detach(call_t *c)
{
    stream_close(&c->out);
    stream_close(&c->err);
    remove_source(&c->deadline_src);
    remove_source(&c->idle_src);
    if (c->r) {
        g_hash_table_remove(c->r->calls, &c->id);
        c->r = NULL;
    }
}

/* ---- output ---- */

static void stream_add(stream_t *s, const char *data, size_t n)
{
    size_t room = s->buf->len < s->call->output_max ? s->call->output_max - s->buf->len : 0;
    size_t take = MIN(room, n);

    g_string_append_len(s->buf, data, (gssize)take);
    s->dropped += n - take;
}

/* One read; false once the stream is over (EOF or error). */
static bool stream_read_once(stream_t *s)
{
    char chunk[READ_CHUNK];
    ssize_t n;

    if (s->fd < 0) {
        return false;
    }
    n = read(s->fd, chunk, sizeof(chunk));
    if (n > 0) {
        stream_add(s, chunk, (size_t)n);
        return true;
    }
    return n < 0 && (errno == EAGAIN || errno == EINTR);
}

/* After the agent exited: whatever it wrote is in the pipe already; take it without waiting
 * for an EOF that a descendant outside its group could hold back. */
static void stream_drain(stream_t *s)
{
    char chunk[READ_CHUNK];
    ssize_t n;

    while (s->fd >= 0) {
        n = read(s->fd, chunk, sizeof(chunk));
        if (n > 0) {
            stream_add(s, chunk, (size_t)n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    stream_close(s);
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
    stream_t *s = data;

    if (stream_read_once(s)) {
        return G_SOURCE_CONTINUE;
    }
    s->src = 0; /* this source ends by returning REMOVE */
    stream_close(s);
    return G_SOURCE_REMOVE;
}

/* Captured bytes as text for logs, JSON and the history: NUL bytes and invalid UTF-8 replaced,
 * the drop marker appended. g_malloc'd. */
static char *stream_text(const stream_t *s)
{
    g_autofree char *raw = g_malloc(s->buf->len + 1);
    GString *t;
    char *valid;

    memcpy(raw, s->buf->str, s->buf->len + 1);
    for (gsize i = 0; i < s->buf->len; i++) {
        if (raw[i] == '\0') {
            raw[i] = '?';
        }
    }
    valid = g_utf8_make_valid(raw, (gssize)s->buf->len);
    if (!s->dropped) {
        return valid;
    }
    t = g_string_new(valid);
    g_free(valid);
    if (t->len && t->str[t->len - 1] != '\n') {
        g_string_append_c(t, '\n');
    }
    g_string_append_printf(t, "[drover: %zu bytes dropped]\n", s->dropped);
    return g_string_free(t, FALSE);
}

/* The last non-empty line of TEXT, at most ERRMSG_LINE_MAX bytes, or NULL. */
static char *last_line(const char *text)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    for (int i = (int)g_strv_length(lines) - 1; i >= 0; i--) {
        char *l = g_strstrip(lines[i]);

        if (*l && !g_str_has_prefix(l, "[drover: ")) {
            return g_utf8_substring(l, 0, MIN(g_utf8_strlen(l, -1), ERRMSG_LINE_MAX));
        }
    }
    return NULL;
}

/* ---- delivery ---- */

static void deliver(call_t *c)
{
    drv_fence_runner_t *r = c->r;
    drv_fence_result_t res = {0};
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *errmsg = NULL;
    g_autofree char *line = NULL;
    drv_fence_done_fn done = c->done;
    void *ud = c->ud;
    int level;

    if (!r) {
        return;
    }
    if (c->exited) {
        /* the agent is gone: whatever it left running in its group goes too, and nothing that
         * escaped the group can hold up the result */
        kill_group(c, SIGKILL);
        stream_drain(&c->out);
        stream_drain(&c->err);
    }
    call_detach(c);

    out = stream_text(&c->out);
    err = stream_text(&c->err);
    res.call_id = c->id;
    res.action = c->action;
    res.exit_status = -1;
    res.out = out;
    res.err = err;
    res.out_dropped = c->out.dropped;
    res.err_dropped = c->err.dropped;
    res.elapsed_ms = c->started_us ? (uint64_t)(g_get_monotonic_time() - c->started_us) / 1000 : 0;
    if (c->exited && WIFEXITED(c->wait_status)) {
        res.exit_status = WEXITSTATUS(c->wait_status);
    } else if (c->exited && WIFSIGNALED(c->wait_status)) {
        res.term_signal = WTERMSIG(c->wait_status);
    }
    line = last_line(*err ? err : out);

    if (c->spawn_error) {
        res.outcome = DRV_FENCE_RES_SPAWN_ERROR;
        errmsg = g_strdup_printf("cannot start %s: %s", c->agent, c->spawn_error);
    } else if (c->timed_out) {
        res.outcome = DRV_FENCE_RES_TIMEOUT;
        errmsg =
            c->abandoned_alive
                ? g_strdup_printf("timed out after %u ms; process %d did not die after "
                                  "SIGKILL (left behind)",
                                  c->timeout_ms, (int)c->pid)
                : g_strdup_printf("timed out after %u ms (process group killed)", c->timeout_ms);
    } else if (res.exit_status == 0) {
        res.outcome = DRV_FENCE_RES_OK;
    } else if (res.exit_status == 2 && c->action == DRV_FENCE_ACT_STATUS) {
        res.outcome = DRV_FENCE_RES_OFF;
    } else if (res.exit_status > 0) {
        res.outcome = DRV_FENCE_RES_FAILED;
        errmsg = line ? g_strdup_printf("exit status %d: %s", res.exit_status, line)
                      : g_strdup_printf("exit status %d", res.exit_status);
    } else {
        res.outcome = DRV_FENCE_RES_FAILED;
        errmsg = g_strdup_printf("killed by signal %d (%s)", res.term_signal,
                                 g_strsignal(res.term_signal));
    }
    res.errmsg = errmsg;

    if (drv_fence_result_succeeded(&res)) {
        level = is_power_action(c->action) ? LOG_NOTICE : LOG_INFO;
    } else {
        level = is_power_action(c->action) ? LOG_ERR : LOG_WARNING;
    }
    qb_log(level, "Fence agent %s %s%s%s: %s%s%s (call %" PRIu64 ", %" PRIu64 " ms)", c->agent,
           drv_fence_action_str(c->action), c->target ? " " : "", c->target ? c->target : "",
           drv_fence_outcome_str(res.outcome), errmsg ? ": " : "", errmsg ? errmsg : "", c->id,
           res.elapsed_ms);

    done(ud, &res);
    call_maybe_free(c);
}

/* ---- the child ---- */

static void on_child_exit(GPid pid, gint status, gpointer data)
{
    call_t *c = data;

    c->exited = true;
    c->wait_status = status;
    c->child_src = 0;
    g_spawn_close_pid(pid);
    if (c->r) {
        deliver(c);
    } else {
        /* delivered or abandoned earlier: only its leftovers remain to be killed */
        kill_group(c, SIGKILL);
        call_maybe_free(c);
    }
}

static gboolean on_deadline(gpointer data)
{
    call_t *c = data;

    switch (c->phase) {
    case KILL_NONE:
        c->timed_out = true;
        c->phase = KILL_TERM_SENT;
        qb_log(LOG_WARNING,
               "Fence agent %s %s: no result after %u ms, terminating its process group %d "
               "(call %" PRIu64 ")",
               c->agent, drv_fence_action_str(c->action), c->timeout_ms, (int)c->pid, c->id);
        kill_group(c, SIGTERM);
        break;
    case KILL_TERM_SENT:
        c->phase = KILL_KILL_SENT;
        qb_log(LOG_WARNING,
               "Fence agent %s: process group %d still there %u ms after SIGTERM, "
               "killing it (call %" PRIu64 ")",
               c->agent, (int)c->pid, c->kill_grace_ms, c->id);
        kill_group(c, SIGKILL);
        break;
    case KILL_KILL_SENT:
        /* stuck in the kernel (D state): report the timeout anyway; the child watch stays and
         * reaps it whenever it dies */
        c->deadline_src = 0;
        c->abandoned_alive = true;
        deliver(c);
        return G_SOURCE_REMOVE;
    }
    c->deadline_src = g_timeout_add(c->kill_grace_ms, on_deadline, c);
    return G_SOURCE_REMOVE;
}

static gboolean on_spawn_error(gpointer data)
{
    call_t *c = data;

    c->idle_src = 0;
    deliver(c);
    return G_SOURCE_REMOVE;
}

/* In the child, between fork and exec: a session and process group of its own (the deadline
 * kills the whole group), and default signal dispositions and mask (ignored signals and the
 * mask survive exec: an agent must die on SIGTERM and see SIGPIPE like any program).
 * Async-signal-safe calls only. */
static void child_setup(gpointer data)
{
    struct sigaction sa;
    sigset_t none;

    (void)setsid();
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int s = 1; s < NSIG; s++) {
        if (s != SIGKILL && s != SIGSTOP) {
            (void)sigaction(s, &sa, NULL);
        }
    }
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* A pipe holding TEXT, its write end already closed: the agent reads its input and then EOF.
 * Writing it before the agent exists means no write can ever meet a closed reader (SIGPIPE).
 * Returns the read end, or -errno. */
static int stdin_pipe(const char *text)
{
    int fds[2];
    size_t len = strlen(text);
    size_t off = 0;
    GError *gerr = NULL;

    if (!g_unix_open_pipe(fds, FD_CLOEXEC, &gerr)) {
        g_error_free(gerr);
        return -EMFILE;
    }
    if (!g_unix_set_fd_nonblocking(fds[1], TRUE, NULL)) {
        close(fds[0]);
        close(fds[1]);
        return -EIO;
    }
    while (off < len) {
        ssize_t n = write(fds[1], text + off, len - off);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;

            close(fds[0]);
            close(fds[1]);
            return e == EAGAIN ? -E2BIG : -e; /* more than the pipe holds */
        }
        off += (size_t)n;
    }
    close(fds[1]);
    return fds[0];
}

static int out_pipe(stream_t *s, call_t *c, int *child_end)
{
    int fds[2];

    if (!g_unix_open_pipe(fds, FD_CLOEXEC, NULL)) {
        return -EMFILE;
    }
    (void)g_unix_set_fd_nonblocking(fds[0], TRUE, NULL);
    s->call = c;
    s->fd = fds[0];
    *child_end = fds[1];
    return 0;
}

/* ---- the ops table ---- */

static int agent_run(void *ctx, const char *agent, const drv_fence_params_t *params,
                     drv_fence_action_t action, const char *target, unsigned timeout_ms,
                     drv_fence_done_fn done, void *ud, uint64_t *call_id, char **errmsg)
{
    drv_fence_runner_t *r = ctx;
    g_autofree char *redacted = NULL;
    char *text;
    call_t *c;
    int in_fd;
    int out_w = -1;
    int err_w = -1;
    int rc;
    GError *gerr = NULL;
    char *argv[2];

    if (!r || !done || (unsigned)action >= DRV_FENCE_ACT_N || timeout_ms == 0) {
        if (errmsg) {
            *errmsg = g_strdup(timeout_ms == 0 ? "fence agent timeout must be > 0"
                                               : "invalid fence call");
        }
        return DRV_ERR_BAD_ARGS;
    }
    rc = drv_fence_validate(agent, params, target, true, errmsg);
    if (rc != 0) {
        qb_log(LOG_ERR, "Fence agent %s %s refused: %s", agent ? agent : "(none)",
               drv_fence_action_str(action), errmsg && *errmsg ? *errmsg : "invalid");
        return rc;
    }

    text = drv_fence__stdin_text(params, action, target);
    in_fd = stdin_pipe(text);
    memset(text, 0, strlen(text)); /* it holds the device's passwords */
    g_free(text);
    if (in_fd < 0) {
        if (errmsg) {
            *errmsg = g_strdup_printf("cannot pass the parameters to the fence agent: %s",
                                      g_strerror(-in_fd));
        }
        return in_fd == -E2BIG ? DRV_ERR_BAD_ARGS : in_fd;
    }

    c = g_new0(call_t, 1);
    c->r = r;
    c->id = ++r->next_id;
    c->action = action;
    c->agent = g_strdup(agent);
    c->target = g_strdup(target);
    c->timeout_ms = timeout_ms;
    c->kill_grace_ms = r->kill_grace_ms;
    c->output_max = r->output_max;
    c->done = done;
    c->ud = ud;
    c->out.fd = c->err.fd = -1;
    c->out.buf = g_string_new(NULL);
    c->err.buf = g_string_new(NULL);
    rc = out_pipe(&c->out, c, &out_w);
    if (rc == 0) {
        rc = out_pipe(&c->err, c, &err_w);
    }
    if (rc != 0) {
        close(in_fd);
        if (out_w >= 0) {
            close(out_w);
        }
        call_free(c);
        if (errmsg) {
            *errmsg =
                g_strdup_printf("cannot create pipes for the fence agent: %s", g_strerror(-rc));
        }
        return rc;
    }
    g_hash_table_insert(r->calls, &c->id, c);

    redacted = drv_fence_params_redacted(params);
    qb_log(is_power_action(action) ? LOG_NOTICE : LOG_INFO,
           "Running fence agent %s %s%s%s (call %" PRIu64 ", timeout %u ms) with: %s", agent,
           drv_fence_action_str(action), target ? " " : "", target ? target : "", c->id, timeout_ms,
           *redacted ? redacted : "no parameters");

    argv[0] = c->agent;
    argv[1] = NULL;
    c->started_us = g_get_monotonic_time();
    if (g_spawn_async_with_fds("/", argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL,
                               &c->pid, in_fd, out_w, err_w, &gerr)) {
        c->child_src = g_child_watch_add(c->pid, on_child_exit, c);
        c->out.src = g_unix_fd_add(c->out.fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, &c->out);
        c->err.src = g_unix_fd_add(c->err.fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, &c->err);
        c->deadline_src = g_timeout_add(timeout_ms, on_deadline, c);
    } else {
        /* a result like any other (the retry wrapper may try again), delivered later */
        c->pid = 0;
        c->spawn_error = g_strdup(gerr->message);
        g_error_free(gerr);
        stream_close(&c->out);
        stream_close(&c->err);
        c->idle_src = g_idle_add(on_spawn_error, c);
    }
    close(in_fd);
    close(out_w);
    close(err_w);
    if (call_id) {
        *call_id = c->id;
    }
    return 0;
}

static void call_abandon(call_t *c)
{
    kill_group(c, SIGKILL);
    call_detach(c);
    call_maybe_free(c);
}

static void agent_cancel(void *ctx, uint64_t call_id)
{
    drv_fence_runner_t *r = ctx;
    call_t *c = r ? g_hash_table_lookup(r->calls, &call_id) : NULL;

    if (c) {
        qb_log(LOG_INFO, "Fence agent %s %s cancelled (call %" PRIu64 ")", c->agent,
               drv_fence_action_str(c->action), c->id);
        call_abandon(c);
    }
}

const drv_fence_ops_t drv_fence_agent_ops = {
    .name = "agent",
    .run = agent_run,
    .cancel = agent_cancel,
};

/* ---- the runner ---- */

drv_fence_runner_t *drv_fence_runner_new(void)
{
    drv_fence_runner_t *r = g_new0(drv_fence_runner_t, 1);

    r->calls = g_hash_table_new(g_int64_hash, g_int64_equal);
    r->output_max = DRV_FENCE_OUTPUT_MAX;
    r->kill_grace_ms = DRV_FENCE_KILL_GRACE_MS;
    return r;
}

void drv_fence_runner_free(drv_fence_runner_t *r)
{
    GHashTableIter it;
    gpointer v;
    GPtrArray *calls;

    if (!r) {
        return;
    }
    calls = g_ptr_array_new();
    g_hash_table_iter_init(&it, r->calls);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        g_ptr_array_add(calls, v);
    }
    for (guint i = 0; i < calls->len; i++) {
        call_abandon(g_ptr_array_index(calls, i));
    }
    g_ptr_array_free(calls, TRUE);
    g_hash_table_destroy(r->calls);
    g_free(r);
}

void drv_fence_runner_set_limits(drv_fence_runner_t *r, size_t output_max, unsigned kill_grace_ms)
{
    if (output_max) {
        r->output_max = output_max;
    }
    if (kill_grace_ms) {
        r->kill_grace_ms = kill_grace_ms;
    }
}

size_t drv_fence_runner_in_flight(const drv_fence_runner_t *r)
{
    return r ? g_hash_table_size(r->calls) : 0;
}
