/* cpg-inject: join droverd's CPG group as a foreign member and multicast hostile messages.
 *
 * Used by the integration tests to check that droverd drops malformed, truncated, oversized,
 * wrong-version and forged messages without crashing or changing its state. It stays a silent
 * member (it never sends a summary), so droverd must close the sync round without it (rule S4
 * in docs/replication.md); once droverd's STATE for the round is seen, it sends well-formed
 * forgeries for that round (a command, a STATE with a huge epoch, a QUORUM withdrawal) that
 * only a participant may send, and waits for them to loop back.
 *
 * usage: cpg-inject [--group NAME]
 * Exit: 0 all sent and looped back, 1 corosync error, 2 usage, 3 timeout.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <corosync/cpg.h>
#include <glib.h>

#include "drv_state.h"
#include "wire.h"

static bool joined;
static bool activated;
static uint64_t cur_round;
static unsigned delivered_own;
static uint32_t my_nodeid;

static void on_deliver(cpg_handle_t h, const struct cpg_name *g, uint32_t nodeid, uint32_t pid,
                       void *msg, size_t len)
{
    drv_msg_t m;

    if (nodeid == my_nodeid && pid == (uint32_t)getpid()) {
        delivered_own++;
    } else if (drv_wire_decode(msg, len, &m, NULL) == 0) {
        if (m.type == DRV_MSG_STATE && m.round == cur_round) {
            activated = true;
        }
        drv_msg_clear(&m);
    }
}

static int member_cmp(gconstpointer a, gconstpointer b)
{
    const drv_member_t *x = a, *y = b;

    if (x->nodeid != y->nodeid) {
        return x->nodeid < y->nodeid ? -1 : 1;
    }
    return x->pid < y->pid ? -1 : (x->pid > y->pid);
}

static void on_confchg(cpg_handle_t h, const struct cpg_name *g,
                       const struct cpg_address *members, size_t n_members,
                       const struct cpg_address *left, size_t n_left,
                       const struct cpg_address *joined_list, size_t n_joined)
{
    GArray *sorted = g_array_new(FALSE, FALSE, sizeof(drv_member_t));

    for (size_t i = 0; i < n_members; i++) {
        drv_member_t m = {members[i].nodeid, members[i].pid};

        g_array_append_val(sorted, m);
        if (members[i].nodeid == my_nodeid && members[i].pid == (uint32_t)getpid()) {
            joined = true;
        }
    }
    g_array_sort(sorted, member_cmp);
    cur_round = drv_wire_round_id((const drv_member_t *)sorted->data, sorted->len);
    activated = false;
    g_array_free(sorted, TRUE);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Dispatch until COND() or DEADLINE; 0 or -ETIMEDOUT / -EIO. */
static int dispatch_until(cpg_handle_t h, bool (*cond)(void), uint64_t deadline)
{
    int fd;

    cpg_fd_get(h, &fd);
    while (!cond()) {
        struct pollfd p = {fd, POLLIN, 0};
        int64_t left = (int64_t)deadline - (int64_t)now_ms();

        if (left <= 0) {
            return -ETIMEDOUT;
        }
        if (poll(&p, 1, (int)left) > 0 && cpg_dispatch(h, CS_DISPATCH_ALL) != CS_OK) {
            return -EIO;
        }
    }
    return 0;
}

static bool is_joined(void)
{
    return joined;
}

static bool is_activated(void)
{
    return activated;
}

static unsigned want_own;

static bool all_looped(void)
{
    return delivered_own >= want_own;
}

static void reseal(uint8_t *b, size_t len)
{
    uint32_t crc;

    memset(b + 12, 0, 4);
    crc = drv_crc32(b, len);
    for (int i = 0; i < 4; i++) {
        b[12 + i] = (crc >> (8 * i)) & 0xFF;
    }
}

static int inject(cpg_handle_t h, const void *buf, size_t len, const char *what)
{
    struct iovec iov = {(void *)buf, len};
    cs_error_t rc;
    uint64_t deadline = now_ms() + 5000;

    do {
        rc = cpg_mcast_joined(h, CPG_TYPE_AGREED, &iov, 1);
        if (rc == CS_ERR_TRY_AGAIN) {
            struct timespec ts = {0, 10 * 1000 * 1000};

            cpg_dispatch(h, CS_DISPATCH_ALL);
            nanosleep(&ts, NULL); /* a test tool; droverd itself never sleeps */
        }
    } while (rc == CS_ERR_TRY_AGAIN && now_ms() < deadline);
    printf("sent %-40s %8zu bytes: %s\n", what, len, rc == CS_OK ? "ok" : "refused by corosync");
    if (rc == CS_OK) {
        want_own++;
    }
    return rc == CS_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *group = "drover";
    cpg_callbacks_t cb = {on_deliver, on_confchg};
    cpg_handle_t h;
    struct cpg_name name;
    GRand *r = g_rand_new_with_seed(42);
    uint8_t junk[4096];
    size_t len = 0;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--group") == 0 && i + 1 < argc) {
            group = argv[++i];
        } else {
            fprintf(stderr, "usage: cpg-inject [--group NAME]\n");
            return 2;
        }
    }
    if (strlen(group) >= CPG_MAX_NAME_LENGTH) {
        fprintf(stderr, "cpg-inject: group name too long\n");
        return 2;
    }
    if (cpg_initialize(&h, &cb) != CS_OK || cpg_local_get(h, &my_nodeid) != CS_OK) {
        fprintf(stderr, "cpg-inject: cannot connect to corosync\n");
        return 1;
    }
    name.length = (uint32_t)strlen(group);
    memcpy(name.value, group, name.length);
    if (cpg_join(h, &name) != CS_OK) {
        fprintf(stderr, "cpg-inject: cannot join group %s\n", group);
        return 1;
    }
    if (dispatch_until(h, is_joined, now_ms() + 10000) != 0) {
        fprintf(stderr, "cpg-inject: no configuration change with us in it\n");
        return 3;
    }

    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)g_rand_int(r);
    }
    inject(h, junk, 7, "7 random bytes");
    inject(h, junk, sizeof(junk), "4 KiB random bytes");
    {
        g_autofree uint8_t *big = g_malloc0(DRV_WIRE_MAX_MSG + 4096);

        memcpy(big, "\x44\x52\x56\x31", 4);
        inject(h, big, DRV_WIRE_MAX_MSG + 4096, "oversized (1 MiB + 4 KiB)");
    }
    {
        g_autofree uint8_t *b = drv_wire_summary(cur_round, 1, 1, &len);

        b[4] = 9; /* version 9 */
        reseal(b, len);
        inject(h, b, len, "summary with version 9");
    }
    {
        drv_cmd_t cmd = {DRV_CMD_SETTING_SET, "injected", "truncated", false};
        g_autofree uint8_t *b = drv_wire_cmd(cur_round, 1, &cmd, &len);

        inject(h, b, len - 3, "command truncated by 3 bytes");
        b[len / 2] ^= 0x40;
        inject(h, b, len, "command with a flipped bit");
    }
    {
        drv_cmd_t cmd = {DRV_CMD_NODE_STANDBY, "n1", NULL, true};
        g_autofree uint8_t *b = drv_wire_cmd(cur_round, 1, &cmd, &len);

        b[8] = (uint8_t)(len + 10); /* length field lies */
        reseal(b, len);
        inject(h, b, len, "command with a lying length field");
    }
    rc = dispatch_until(h, all_looped, now_ms() + 10000);
    if (rc != 0) {
        fprintf(stderr, "cpg-inject: only %u of %u messages came back\n", delivered_own, want_own);
        return 3;
    }
    printf("round %016" PRIx64 ": waiting for droverd to close it without us\n", cur_round);
    if (dispatch_until(h, is_activated, now_ms() + 20000) != 0) {
        fprintf(stderr, "cpg-inject: droverd never activated round %016" PRIx64 "\n", cur_round);
        return 3;
    }
    {
        drv_cmd_t cmd = {DRV_CMD_NODE_STANDBY, "n1", NULL, true};
        g_autofree uint8_t *b = NULL;
        drv_state_t *st = drv_state_new();
        g_autofree uint8_t *s = NULL;
        g_autofree uint8_t *q = drv_wire_quorum(cur_round, false, &len);

        inject(h, q, len, "forged quorum withdrawal");
        b = drv_wire_cmd(cur_round, 1, &cmd, &len);
        inject(h, b, len, "forged command for the current round");
        st->epoch = 1u << 30;
        st->seq = 1u << 30;
        g_hash_table_insert(st->settings, g_strdup("hijacked"), g_strdup("yes"));
        s = drv_wire_state(cur_round, st, &len);
        inject(h, s, len, "forged state with a huge epoch");
        drv_state_free(st);
    }
    rc = dispatch_until(h, all_looped, now_ms() + 10000);
    if (rc != 0) {
        fprintf(stderr, "cpg-inject: only %u of %u messages came back\n", delivered_own, want_own);
        return 3;
    }
    printf("all %u messages delivered in the group\n", want_own);
    cpg_leave(h, &name);
    cpg_finalize(h);
    g_rand_free(r);
    return 0;
}
