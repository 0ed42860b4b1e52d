/* The state file: one STATE message (round 0) in the wire format, so that the same checked
 * decoder guards both the network and the disk. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "drover/results.h"
#include "drv_cluster.h"
#include "wire.h"

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        return -errno;
    }
    if (fsync(fd) < 0) {
        rc = -errno;
    }
    close(fd);
    return rc;
}

int drv_state_save(const char *path, const drv_state_t *st)
{
    g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
    g_autofree uint8_t *buf = NULL;
    size_t len = 0;
    int fd, rc;

    buf = drv_wire_state(0, st, &len);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -errno;
    }
    rc = write_all(fd, buf, len);
    if (rc == 0 && fsync(fd) < 0) {
        rc = -errno;
    }
    if (close(fd) < 0 && rc == 0) {
        rc = -errno;
    }
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -errno;
    }
    if (rc != 0) {
        unlink(tmp);
        return rc;
    }
    return fsync_dir_of(path);
}

int drv_state_load(const char *path, drv_state_t **out, char **set_aside)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) err = NULL;
    gsize len = 0;
    drv_msg_t msg;
    const char *why = NULL;
    int rc;

    *out = NULL;
    if (set_aside) {
        *set_aside = NULL;
    }
    if (!g_file_get_contents(path, &data, &len, &err)) {
        if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
            return -ENOENT;
        }
        return -EIO;
    }
    rc = drv_wire_decode(data, len, &msg, &why);
    if (rc == DRV_OK && (msg.type != DRV_MSG_STATE || msg.round != 0)) {
        drv_msg_clear(&msg);
        rc = DRV_ERR_BAD_MESSAGE;
    }
    if (rc != DRV_OK) {
        g_autofree char *aside =
            g_strdup_printf("%s.corrupt-%lld", path, (long long)time(NULL));

        if (rename(path, aside) < 0) {
            return -errno;
        }
        if (set_aside) {
            *set_aside = g_steal_pointer(&aside);
        }
        return DRV_ERR_CORRUPT;
    }
    *out = msg.state;
    msg.state = NULL;
    drv_msg_clear(&msg);
    return DRV_OK;
}
