/* Plain connections: TCP and unix sockets. Their reads and writes take
 * the direct path in conn.h (DICE__CONN_FD_IO); the table's entries are
 * what the direct path stands for, for code that goes through the table. */
#include "server/conn.h"
#include "server/server_internal.h"

#include <errno.h>
#include <string.h>

static int plain_start(dice__conn *cn, dice_loop_t *loop) {
    cn->mask = cn->cur = DICE_READABLE;
    int rc = dice_loop_watch(loop, cn->fd, DICE_READABLE, cn->handler, cn->arg);
    if (rc == 0)
        cn->flags |= DICE__CONN_WATCHED;
    return rc;
}

static ssize_t plain_read(dice__conn *cn, void *buf, size_t cap) {
    return read(cn->fd, buf, cap);
}

static ssize_t plain_write(dice__conn *cn, const void *buf, size_t len) {
    return write(cn->fd, buf, len);
}

static void plain_set_mask(dice__conn *cn, int mask) {
    cn->mask = cn->cur = (unsigned char)mask;
    dice_loop_set_mask(DICE__CONN_LOOP(cn), cn->fd, mask);
}

static void plain_close(dice__conn *cn) {
    if (cn->flags & DICE__CONN_WATCHED)
        dice_loop_unwatch(DICE__CONN_LOOP(cn), cn->fd);
    close(cn->fd);
    cn->fd = -1;
}

static const char *plain_last_error(dice__conn *cn) {
    (void)cn;
    return strerror(errno);
}

const dice__conn_type dice__conn_tcp = {
    .name = "tcp",
    .flags = DICE__CONN_FD_IO,
    .start = plain_start,
    .read = plain_read,
    .write = plain_write,
    .set_mask = plain_set_mask,
    .close = plain_close,
    .last_error = plain_last_error,
};

const dice__conn_type dice__conn_unix = {
    .name = "unix",
    .flags = DICE__CONN_FD_IO | DICE__CONN_UNIX,
    .start = plain_start,
    .read = plain_read,
    .write = plain_write,
    .set_mask = plain_set_mask,
    .close = plain_close,
    .last_error = plain_last_error,
};

void dice__conn_init(dice__conn *cn, const dice__conn_type *type, int fd,
                     dice_server_t *srv, dice_io_cb handler, void *arg) {
    memset(cn, 0, sizeof(*cn));
    cn->type = type;
    cn->fd = fd;
    cn->flags = type->flags;
    cn->state = DICE__CONN_CONNECTED;
    cn->srv = srv;
    cn->handler = handler;
    cn->arg = arg;
}
