/* Connections: what a client's bytes travel over. Modelled on Redis's
 * ConnectionType (connection.h): a small table of operations per kind of
 * connection (TCP, unix socket, TLS), so the server core reads, writes,
 * waits for events and closes without knowing which kind it has.
 *
 * The server core asks for the events it wants (READABLE while it takes
 * input, WRITABLE while output is queued) with dice__conn_set_mask; a
 * connection may watch more than that on its own behalf (TLS: a read that
 * needs the socket writable during a renegotiation, a write that needs it
 * readable) and hands the server the event it is waiting for when it
 * comes. Reads and writes keep read(2)/write(2)'s contract: bytes, 0 at
 * the end of the stream, or -1 with errno (EAGAIN: try again when the
 * event comes).
 *
 * Plain sockets take the direct path: a flag test, then read(2) or
 * write(2), with no indirect call (the request path of GET and SET is
 * measured in instructions; see docs/architecture.md). */
#ifndef DICE_SERVER_CONN_H
#define DICE_SERVER_CONN_H

#include "dice/loop.h"
#include "dice/server.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

typedef struct dice__conn dice__conn;

/* Where a connection is in its life (Redis's CONN_STATE_*). */
enum {
    DICE__CONN_ACCEPTING, /* a TLS handshake is under way */
    DICE__CONN_CONNECTED,
    DICE__CONN_ERROR /* failed; reads and writes return -1 */
};

/* Connection flags. */
enum {
    DICE__CONN_FD_IO = 1u << 0, /* plain socket: read(2)/write(2) directly */
    DICE__CONN_UNIX = 1u << 1,  /* a unix domain socket */
    /* TLS: SSL_read needs the socket writable, SSL_write readable. */
    DICE__CONN_READ_WANTS_WRITE = 1u << 2,
    DICE__CONN_WRITE_WANTS_READ = 1u << 3,
    DICE__CONN_PENDING = 1u << 4, /* queued: bytes wait inside the library */
    DICE__CONN_WATCHED = 1u << 5  /* started: the loop watches the fd */
};

typedef struct dice__conn_type {
    const char *name; /* "tcp", "unix", "tls" */
    unsigned flags;   /* DICE__CONN_FD_IO, DICE__CONN_UNIX */
    /* Start watching the fd for the server's handler (and start the
     * handshake, if the kind has one). 0 or DICE_E*. */
    int (*start)(dice__conn *cn, dice_loop_t *loop);
    ssize_t (*read)(dice__conn *cn, void *buf, size_t cap);
    ssize_t (*write)(dice__conn *cn, const void *buf, size_t len);
    /* The events the server wants (DICE_READABLE | DICE_WRITABLE). */
    void (*set_mask)(dice__conn *cn, int mask);
    /* Stop watching, say goodbye if the protocol has a way, close the fd
     * and free what the kind owns. */
    void (*close)(dice__conn *cn);
    /* What the last failure was, for the log (static or owned by cn). */
    const char *(*last_error)(dice__conn *cn);
} dice__conn_type;

struct dice__conn {
    const dice__conn_type *type;
    void *impl; /* the kind's own state (TLS: its SSL object) */
    dice_server_t *srv;
    /* The server's event handler and its argument (the client). */
    dice_io_cb handler;
    void *arg;
    int fd;
    unsigned char flags; /* DICE__CONN_*; the type's flags are copied in */
    unsigned char state;
    unsigned char mask; /* what the server asked for */
    unsigned char cur;  /* what the loop watches (TLS adds to mask) */
};

/* The loop the connection's server runs on. */
#define DICE__CONN_LOOP(cn) dice_server_loop((cn)->srv)

extern const dice__conn_type dice__conn_tcp, dice__conn_unix;

/* Set cn up for an accepted fd of the given type (TLS: dice__tls_conn_init
 * instead). Nothing is watched until dice__conn_start. */
void dice__conn_init(dice__conn *cn, const dice__conn_type *type, int fd,
                     dice_server_t *srv, dice_io_cb handler, void *arg);

static inline int dice__conn_start(dice__conn *cn, dice_loop_t *loop) {
    return cn->type->start(cn, loop);
}

static inline ssize_t dice__conn_read(dice__conn *cn, void *buf, size_t cap) {
    if (__builtin_expect(cn->flags & DICE__CONN_FD_IO, 1))
        return read(cn->fd, buf, cap);
    return cn->type->read(cn, buf, cap);
}

static inline ssize_t dice__conn_write(dice__conn *cn, const void *buf,
                                       size_t len) {
    if (__builtin_expect(cn->flags & DICE__CONN_FD_IO, 1))
        return write(cn->fd, buf, len);
    return cn->type->write(cn, buf, len);
}

static inline void dice__conn_set_mask(dice__conn *cn, int mask) {
    if (__builtin_expect(cn->flags & DICE__CONN_FD_IO, 1)) {
        cn->mask = cn->cur = (unsigned char)mask;
        dice_loop_set_mask(DICE__CONN_LOOP(cn), cn->fd, mask);
        return;
    }
    cn->type->set_mask(cn, mask);
}

/* Close the connection (the fd is -1 afterwards). Safe to call twice. */
static inline void dice__conn_close(dice__conn *cn) {
    if (cn->fd >= 0)
        cn->type->close(cn);
}

static inline const char *dice__conn_last_error(dice__conn *cn) {
    return cn->type->last_error(cn);
}

/* ---- TLS (lib/server/conn_tls.c) ----------------------------------------
 * Built with OpenSSL when DICE_HAVE_TLS is defined; without it, these say
 * so: configuring fails with a clear message, and no TLS listener can be
 * opened. */

/* Whether this build has TLS. */
bool dice__tls_available(void);
/* (Re)build the server's TLS context from the tls-* settings; on success
 * it replaces the old one (connections keep the context they were made
 * with). On failure the reason is logged and the old context stays.
 * 0 or DICE_E*. */
int dice__tls_configure(dice_server_t *srv);
/* Whether a context is configured. */
bool dice__tls_configured(dice_server_t *srv);
/* Free the context and anything else the server's TLS state holds. */
void dice__tls_free(dice_server_t *srv);
/* Set cn up as a TLS server connection over the accepted fd; the
 * handshake starts with dice__conn_start. 0 or DICE_E*. */
int dice__tls_conn_init(dice__conn *cn, int fd, dice_server_t *srv,
                        dice_io_cb handler, void *arg);

#endif
