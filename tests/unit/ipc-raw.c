/* Test helper for check-cli-daemon.sh: send stdin as one raw request to droverd's IPC
 * (qb header + the bytes + NUL, no checks) and print the reply body. Exit 0 when a reply came,
 * 3 when droverd is not reachable, 1 otherwise. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <glib.h>
#include <qb/qbipcc.h>
#include <qb/qbipc_common.h>

#define BUF (1024 * 1024)

int main(int argc, char **argv)
{
    g_autofree char *in = NULL;
    g_autofree char *buf = NULL;
    gsize len = 0;
    struct qb_ipc_request_header hdr;
    struct iovec iov[2];
    qb_ipcc_connection_t *c;
    ssize_t n;

    if (argc != 2) {
        fprintf(stderr, "usage: ipc-raw IPC_NAME < request\n");
        return 2;
    }
    if (!g_file_get_contents("/dev/stdin", &in, &len, NULL)) {
        fprintf(stderr, "ipc-raw: cannot read stdin\n");
        return 1;
    }
    c = qb_ipcc_connect(argv[1], BUF);
    if (c == NULL) {
        fprintf(stderr, "ipc-raw: cannot connect to %s: %s\n", argv[1], strerror(errno));
        return 3;
    }
    hdr.id = 1;
    hdr.size = (int32_t)(sizeof(hdr) + len + 1);
    iov[0].iov_base = &hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = in;
    iov[1].iov_len = len + 1;
    n = qb_ipcc_sendv(c, iov, 2);
    if (n < 0) {
        fprintf(stderr, "ipc-raw: send: %s\n", strerror((int)-n));
        qb_ipcc_disconnect(c);
        return 1;
    }
    buf = g_malloc0(BUF + 1);
    n = qb_ipcc_recv(c, buf, BUF, 10000);
    qb_ipcc_disconnect(c);
    if (n < (ssize_t)sizeof(struct qb_ipc_response_header)) {
        fprintf(stderr, "ipc-raw: no reply: %s\n", n < 0 ? strerror((int)-n) : "short");
        return 1;
    }
    printf("%s\n", buf + sizeof(struct qb_ipc_response_header));
    return 0;
}
