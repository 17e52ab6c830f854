/* TLS connections on OpenSSL (Redis's tls.c in spirit): the server's
 * context built from the tls-* settings, and a connection type whose
 * handshake, reads and writes are non-blocking steps driven by the loop.
 *
 * Events: the loop watches what the server asked for plus what OpenSSL
 * needs. A handshake step that wants the socket readable or writable
 * watches just that; SSL_read that needs to write (a renegotiation or key
 * update answer) adds WRITABLE and, when it comes, the server is handed a
 * READABLE event; SSL_write that needs to read adds READABLE and hands the
 * server WRITABLE. OpenSSL may hold decrypted bytes the socket no longer
 * shows (SSL_pending: a record longer than the room the server read
 * into): such connections are queued and a zero-delay timer hands them a
 * READABLE event in the next iteration, so the loop does not sleep on
 * them and does not spin either. */
#include "server/conn.h"
#include "server/server_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#ifndef DICE_HAVE_TLS

bool dice__tls_available(void) {
    return false;
}

int dice__tls_configure(dice_server_t *srv) {
    dice__logf(srv, DICE_LOG_WARNING,
               "TLS is not available: libdice was built without OpenSSL "
               "(configure with -DDICE_WITH_TLS=ON and libssl-dev)");
    return DICE_ESTATE;
}

bool dice__tls_configured(dice_server_t *srv) {
    (void)srv;
    return false;
}

void dice__tls_free(dice_server_t *srv) {
    (void)srv;
}

int dice__tls_conn_init(dice__conn *cn, int fd, dice_server_t *srv,
                        dice_io_cb handler, void *arg) {
    (void)cn;
    (void)fd;
    (void)srv;
    (void)handler;
    (void)arg;
    return DICE_ESTATE;
}

#else /* DICE_HAVE_TLS */

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

/* The server's TLS state: the context new connections are made with, and
 * the connections with decrypted input waiting inside OpenSSL. */
struct dice__tls {
    SSL_CTX *ctx;
    dice__conn **pending;
    size_t npending, pending_cap;
    uint64_t pending_timer;
    char err[256]; /* the last handshake failure, for the log */
};

bool dice__tls_available(void) {
    return true;
}

static struct dice__tls *tls_state(dice_server_t *srv) {
    if (!srv->tls)
        srv->tls = calloc(1, sizeof(struct dice__tls));
    return srv->tls;
}

/* OpenSSL's queued errors as one line (the first is the one that says
 * what failed), and the queue cleared. */
static void ssl_errors(char *buf, size_t size) {
    unsigned long e = ERR_get_error();
    if (!e)
        snprintf(buf, size, "%s", errno ? strerror(errno) : "unknown error");
    else
        ERR_error_string_n(e, buf, size);
    ERR_clear_error();
}

static bool str_set(const char *s) {
    return s && *s;
}

static int key_password(char *buf, int size, int rwflag, void *u) {
    (void)rwflag;
    const char *pass = u;
    if (!pass)
        return 0;
    size_t n = strlen(pass);
    if (n > (size_t)size)
        n = (size_t)size;
    memcpy(buf, pass, n);
    return (int)n;
}

/* tls-protocols: the protocols to allow, or -1 (logged) for a word that
 * is not one. Redis's default is TLSv1.2 and TLSv1.3. */
static int protocol_range(dice_server_t *srv, const char *text, int *lo,
                          int *hi) {
    static const struct {
        const char *name;
        int version;
    } names[] = {{"tlsv1", TLS1_VERSION},
                 {"tlsv1.1", TLS1_1_VERSION},
                 {"tlsv1.2", TLS1_2_VERSION},
                 {"tlsv1.3", TLS1_3_VERSION}};
    *lo = *hi = 0;
    if (!str_set(text)) {
        *lo = TLS1_2_VERSION;
        *hi = TLS1_3_VERSION;
        return 0;
    }
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        size_t i;
        for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strlen(names[i].name) == n &&
                strncasecmp(p, names[i].name, n) == 0)
                break;
        if (i == sizeof(names) / sizeof(names[0])) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Invalid tls-protocols specified. Use a combination "
                       "of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
            return -1;
        }
        if (!*lo || names[i].version < *lo)
            *lo = names[i].version;
        if (names[i].version > *hi)
            *hi = names[i].version;
        p += n;
    }
    if (!*lo) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Failed to enable any TLS protocol versions");
        return -1;
    }
    return 0;
}

/* Options for the protocols of [lo, hi] that tls-protocols leaves out (a
 * list with a hole, "TLSv1.1 TLSv1.3", disables what is in the hole). */
static long protocol_options(const char *text) {
    long off = 0;
    if (!str_set(text))
        return SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
    bool has[4] = {false, false, false, false};
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == 5 && strncasecmp(p, "tlsv1", 5) == 0)
            has[0] = true;
        else if (n == 7 && strncasecmp(p, "tlsv1.1", 7) == 0)
            has[1] = true;
        else if (n == 7 && strncasecmp(p, "tlsv1.2", 7) == 0)
            has[2] = true;
        else if (n == 7 && strncasecmp(p, "tlsv1.3", 7) == 0)
            has[3] = true;
        p += n;
    }
    if (!has[0])
        off |= SSL_OP_NO_TLSv1;
    if (!has[1])
        off |= SSL_OP_NO_TLSv1_1;
    if (!has[2])
        off |= SSL_OP_NO_TLSv1_2;
    if (!has[3])
        off |= SSL_OP_NO_TLSv1_3;
    return off;
}

/* A new context from the settings, or NULL (the reason logged). */
static SSL_CTX *context_new(dice_server_t *srv) {
    const dice_settings_t *s = &srv->cfg;
    char err[256];
    if (!str_set(s->tls_cert_file)) {
        dice__logf(srv, DICE_LOG_WARNING, "No tls-cert-file configured!");
        return NULL;
    }
    if (!str_set(s->tls_key_file)) {
        dice__logf(srv, DICE_LOG_WARNING, "No tls-key-file configured!");
        return NULL;
    }
    if (s->tls_auth_clients != DICE__TLS_AUTH_NO &&
        !str_set(s->tls_ca_cert_file) && !str_set(s->tls_ca_cert_dir)) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Either tls-ca-cert-file or tls-ca-cert-dir must be "
                   "specified when tls-cluster, tls-replication or "
                   "tls-auth-clients are enabled!");
        return NULL;
    }
    int lo, hi;
    if (protocol_range(srv, s->tls_protocols, &lo, &hi) < 0)
        return NULL;
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_errors(err, sizeof(err));
        dice__logf(srv, DICE_LOG_WARNING, "Failed to create TLS context: %s",
                   err);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, lo);
    SSL_CTX_set_max_proto_version(ctx, hi);
    long opts = SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_COMPRESSION |
                SSL_OP_SINGLE_DH_USE | protocol_options(s->tls_protocols);
#ifdef SSL_OP_NO_CLIENT_RENEGOTIATION
    opts |= SSL_OP_NO_CLIENT_RENEGOTIATION;
#endif
    if (s->tls_prefer_server_ciphers)
        opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (!s->tls_session_caching)
        opts |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, opts);
    /* Writes may stop after any record, and resume from a buffer that
     * has moved (the output buffer can be compacted in between). */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (s->tls_session_caching) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_sess_set_cache_size(ctx, s->tls_session_cache_size);
        SSL_CTX_set_timeout(ctx, s->tls_session_cache_timeout);
        SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"dice", 4);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    SSL_CTX_set_default_passwd_cb(ctx, key_password);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, s->tls_key_file_pass);
    if (SSL_CTX_use_certificate_chain_file(ctx, s->tls_cert_file) <= 0) {
        ssl_errors(err, sizeof(err));
        dice__logf(srv, DICE_LOG_WARNING, "Failed to load certificate: %s: %s",
                   s->tls_cert_file, err);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, s->tls_key_file, SSL_FILETYPE_PEM) <=
        0) {
        ssl_errors(err, sizeof(err));
        dice__logf(srv, DICE_LOG_WARNING, "Failed to load private key: %s: %s",
                   s->tls_key_file, err);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_errors(err, sizeof(err));
        dice__logf(srv, DICE_LOG_WARNING,
                   "The private key does not match the certificate: %s", err);
        goto fail;
    }
    /* The key's password is only needed while loading it. */
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    if ((str_set(s->tls_ca_cert_file) || str_set(s->tls_ca_cert_dir)) &&
        SSL_CTX_load_verify_locations(
            ctx, str_set(s->tls_ca_cert_file) ? s->tls_ca_cert_file : NULL,
            str_set(s->tls_ca_cert_dir) ? s->tls_ca_cert_dir : NULL) <= 0) {
        ssl_errors(err, sizeof(err));
        dice__logf(srv, DICE_LOG_WARNING,
                   "Failed to configure CA certificate(s) file/directory: %s",
                   err);
        goto fail;
    }
    if (str_set(s->tls_dh_params_file)) {
        BIO *bio = BIO_new_file(s->tls_dh_params_file, "r");
        EVP_PKEY *dh = bio ? PEM_read_bio_Parameters(bio, NULL) : NULL;
        BIO_free(bio);
        if (!dh || SSL_CTX_set0_tmp_dh_pkey(ctx, dh) != 1) {
            EVP_PKEY_free(dh);
            ssl_errors(err, sizeof(err));
            dice__logf(srv, DICE_LOG_WARNING,
                       "Failed to load DH params file: %s: %s",
                       s->tls_dh_params_file, err);
            goto fail;
        }
    } else {
        SSL_CTX_set_dh_auto(ctx, 1);
    }
    if (str_set(s->tls_ciphers) &&
        !SSL_CTX_set_cipher_list(ctx, s->tls_ciphers)) {
        ssl_errors(err, sizeof(err));
        dice__logf(srv, DICE_LOG_WARNING, "Failed to configure ciphers: %s",
                   err);
        goto fail;
    }
    if (str_set(s->tls_ciphersuites) &&
        !SSL_CTX_set_ciphersuites(ctx, s->tls_ciphersuites)) {
        ssl_errors(err, sizeof(err));
        dice__logf(srv, DICE_LOG_WARNING,
                   "Failed to configure ciphersuites: %s", err);
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

int dice__tls_configure(dice_server_t *srv) {
    struct dice__tls *t = tls_state(srv);
    if (!t)
        return DICE_ENOMEM;
    SSL_CTX *ctx = context_new(srv);
    if (!ctx)
        return DICE_EINVAL;
    /* Connections hold their own reference to the context they were made
     * with; new ones get this one. */
    SSL_CTX_free(t->ctx);
    t->ctx = ctx;
    return 0;
}

bool dice__tls_configured(dice_server_t *srv) {
    return srv->tls && srv->tls->ctx;
}

void dice__tls_free(dice_server_t *srv) {
    struct dice__tls *t = srv->tls;
    if (!t)
        return;
    if (t->pending_timer)
        dice_loop_timer_cancel(srv->loop, t->pending_timer);
    SSL_CTX_free(t->ctx);
    free(t->pending);
    free(t);
    srv->tls = NULL;
}

/* ---- Events ------------------------------------------------------------- */

/* Watch what the server wants plus what OpenSSL waits for. */
static void update_watch(dice__conn *cn) {
    int want = cn->mask;
    if (cn->state == DICE__CONN_ACCEPTING)
        want = cn->cur; /* the handshake chose it */
    /* While OpenSSL waits for the other event, the one the server asked
     * for would fire at once and find nothing to do: swap it. */
    if (cn->flags & DICE__CONN_WRITE_WANTS_READ)
        want &= ~DICE_WRITABLE;
    if (cn->flags & DICE__CONN_READ_WANTS_WRITE)
        want &= ~DICE_READABLE;
    if (cn->flags & DICE__CONN_WRITE_WANTS_READ)
        want |= DICE_READABLE;
    if (cn->flags & DICE__CONN_READ_WANTS_WRITE)
        want |= DICE_WRITABLE;
    if (want != cn->cur || cn->state == DICE__CONN_ACCEPTING) {
        cn->cur = (unsigned char)want;
        dice_loop_set_mask(DICE__CONN_LOOP(cn), cn->fd, want);
    }
}

static void pending_run(dice_loop_t *loop, uint64_t id, void *arg);

/* Queue cn for a READABLE event in the next iteration: OpenSSL holds
 * input the socket will not announce again. */
static void pending_add(dice__conn *cn) {
    struct dice__tls *t = cn->srv->tls;
    if (cn->flags & DICE__CONN_PENDING)
        return;
    if (t->npending == t->pending_cap) {
        size_t nc = t->pending_cap ? t->pending_cap * 2 : 8;
        dice__conn **np = realloc(t->pending, nc * sizeof(*np));
        if (!np)
            return; /* the next socket event will get to it */
        t->pending = np;
        t->pending_cap = nc;
    }
    t->pending[t->npending++] = cn;
    cn->flags |= DICE__CONN_PENDING;
    if (!t->pending_timer)
        dice_loop_timer_add(DICE__CONN_LOOP(cn), 0, 0, pending_run, cn->srv,
                            &t->pending_timer);
}

static void pending_remove(dice__conn *cn) {
    struct dice__tls *t = cn->srv->tls;
    if (!(cn->flags & DICE__CONN_PENDING))
        return;
    cn->flags &= ~DICE__CONN_PENDING;
    for (size_t i = 0; i < t->npending; i++) {
        if (t->pending[i] == cn) {
            t->pending[i] = t->pending[--t->npending];
            return;
        }
    }
}

static void pending_run(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)id;
    dice_server_t *srv = arg;
    struct dice__tls *t = srv->tls;
    t->pending_timer = 0;
    /* Take the list: a handler may queue its connection again (it is then
     * served in the next iteration) or close another one (it leaves the
     * taken list through the flag, cleared on close). */
    while (t->npending) {
        dice__conn *cn = t->pending[--t->npending];
        cn->flags &= ~DICE__CONN_PENDING;
        if ((cn->mask & DICE_READABLE) && cn->state == DICE__CONN_CONNECTED)
            cn->handler(loop, cn->fd, DICE_READABLE, cn->arg);
        if (t->pending_timer)
            break; /* queued again: the rest go in the next round too */
    }
}

static void handshake_fail(dice__conn *cn, const char *why) {
    cn->state = DICE__CONN_ERROR;
    snprintf(cn->srv->tls->err, sizeof(cn->srv->tls->err), "%s", why);
    dice__logf(cn->srv, DICE_LOG_WARNING,
               "Error accepting a client connection: %s", why);
}

/* One handshake step. Returns true when the connection is established. */
static bool handshake_step(dice__conn *cn) {
    SSL *ssl = cn->impl;
    ERR_clear_error();
    errno = 0;
    int r = SSL_accept(ssl);
    if (r == 1) {
        cn->state = DICE__CONN_CONNECTED;
        cn->cur = 0xFF; /* force the watch to what the server asked for */
        update_watch(cn);
        return true;
    }
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        cn->cur = e == SSL_ERROR_WANT_READ ? DICE_READABLE : DICE_WRITABLE;
        update_watch(cn);
        return false;
    }
    char why[256];
    if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        snprintf(why, sizeof(why), "%s",
                 errno ? strerror(errno) : "Connection reset by peer");
    else
        ssl_errors(why, sizeof(why));
    ERR_clear_error();
    handshake_fail(cn, why);
    return false;
}

/* The loop's callback for a TLS connection: the handshake, then the
 * server's handler with the events translated. */
static void tls_event(dice_loop_t *loop, int fd, int events, void *arg) {
    dice__conn *cn = arg;
    if (cn->state == DICE__CONN_ACCEPTING) {
        if (handshake_step(cn)) {
            /* The client's first command may have come with its last
             * handshake flight: look for it now. */
            if (cn->mask & DICE_READABLE)
                cn->handler(loop, fd, DICE_READABLE, cn->arg);
        } else if (cn->state == DICE__CONN_ERROR) {
            /* The server sees the failure as a read that fails. */
            cn->handler(loop, fd, DICE_READABLE | DICE_ERROR, cn->arg);
        }
        return;
    }
    int ev = events & DICE_ERROR;
    if (events & (DICE_READABLE | DICE_ERROR)) {
        if (cn->flags & DICE__CONN_WRITE_WANTS_READ)
            ev |= DICE_WRITABLE;
        if ((cn->mask & DICE_READABLE) &&
            !(cn->flags & DICE__CONN_READ_WANTS_WRITE))
            ev |= DICE_READABLE;
    }
    if (events & DICE_WRITABLE) {
        if (cn->flags & DICE__CONN_READ_WANTS_WRITE)
            ev |= DICE_READABLE;
        if ((cn->mask & DICE_WRITABLE) &&
            !(cn->flags & DICE__CONN_WRITE_WANTS_READ))
            ev |= DICE_WRITABLE;
    }
    if (ev)
        cn->handler(loop, fd, ev, cn->arg);
}

/* ---- The connection type ------------------------------------------------ */

static int tls_start(dice__conn *cn, dice_loop_t *loop) {
    cn->mask = DICE_READABLE;
    cn->cur = DICE_READABLE;
    int rc = dice_loop_watch(loop, cn->fd, DICE_READABLE, tls_event, cn);
    if (rc == 0)
        cn->flags |= DICE__CONN_WATCHED;
    return rc;
}

/* After an SSL_read or SSL_write that did not complete: errno and the
 * want-flags set for the caller's read(2)-like contract. */
static ssize_t io_error(dice__conn *cn, int r, unsigned wants_flag,
                        int want_other) {
    SSL *ssl = cn->impl;
    int e = SSL_get_error(ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        if ((e == SSL_ERROR_WANT_READ ? DICE_READABLE : DICE_WRITABLE) ==
            want_other) {
            if (!(cn->flags & wants_flag)) {
                cn->flags |= wants_flag;
                update_watch(cn);
            }
        }
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN: /* close_notify: the end of the stream */
        return 0;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0) {
            ERR_clear_error();
            if (errno == 0)
                return 0; /* EOF without close_notify */
            cn->state = DICE__CONN_ERROR;
            return -1;
        }
        /* fall through */
    default:
        ERR_clear_error();
        cn->state = DICE__CONN_ERROR;
        errno = EIO;
        return -1;
    }
}

static ssize_t tls_read(dice__conn *cn, void *buf, size_t cap) {
    if (cn->state != DICE__CONN_CONNECTED) {
        errno = cn->state == DICE__CONN_ACCEPTING ? EAGAIN : EIO;
        return -1;
    }
    SSL *ssl = cn->impl;
    if (cn->flags & DICE__CONN_READ_WANTS_WRITE) {
        cn->flags &= ~DICE__CONN_READ_WANTS_WRITE;
        update_watch(cn);
    }
    if (cap > INT_MAX)
        cap = INT_MAX;
    errno = 0;
    int r = SSL_read(ssl, buf, (int)cap);
    if (r <= 0)
        return io_error(cn, r, DICE__CONN_READ_WANTS_WRITE, DICE_WRITABLE);
    size_t got = (size_t)r;
    /* The rest of a record that did not fit is already in OpenSSL: take
     * it while there is room, else have it delivered next iteration. */
    while (got < cap && SSL_pending(ssl) > 0) {
        r = SSL_read(ssl, (char *)buf + got, (int)(cap - got));
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (SSL_pending(ssl) > 0)
        pending_add(cn);
    return (ssize_t)got;
}

static ssize_t tls_write(dice__conn *cn, const void *buf, size_t len) {
    if (cn->state != DICE__CONN_CONNECTED) {
        errno = cn->state == DICE__CONN_ACCEPTING ? EAGAIN : EIO;
        return -1;
    }
    SSL *ssl = cn->impl;
    if (cn->flags & DICE__CONN_WRITE_WANTS_READ) {
        cn->flags &= ~DICE__CONN_WRITE_WANTS_READ;
        update_watch(cn);
    }
    if (len > INT_MAX)
        len = INT_MAX;
    errno = 0;
    int r = SSL_write(ssl, buf, (int)len);
    if (r > 0)
        return r;
    ssize_t rc = io_error(cn, r, DICE__CONN_WRITE_WANTS_READ, DICE_READABLE);
    if (rc == 0) { /* a write cannot "end": the peer is gone */
        errno = EPIPE;
        rc = -1;
    }
    return rc;
}

static void tls_set_mask(dice__conn *cn, int mask) {
    cn->mask = (unsigned char)mask;
    if (cn->state != DICE__CONN_CONNECTED)
        return; /* the handshake watches what it needs; applied after */
    update_watch(cn);
    /* Reading again after a pause: what OpenSSL holds will not be
     * announced by the socket. */
    if ((mask & DICE_READABLE) && SSL_pending(cn->impl) > 0)
        pending_add(cn);
}

static void tls_close(dice__conn *cn) {
    SSL *ssl = cn->impl;
    pending_remove(cn);
    if (cn->flags & DICE__CONN_WATCHED)
        dice_loop_unwatch(DICE__CONN_LOOP(cn), cn->fd);
    if (ssl) {
        /* A close_notify, best effort and without waiting for the
         * peer's; not after a failure (OpenSSL refuses it then). */
        if (cn->state == DICE__CONN_CONNECTED) {
            ERR_clear_error();
            SSL_shutdown(ssl);
            ERR_clear_error();
        }
        SSL_free(ssl);
        cn->impl = NULL;
    }
    close(cn->fd);
    cn->fd = -1;
}

static const char *tls_last_error(dice__conn *cn) {
    return cn->srv->tls ? cn->srv->tls->err : "TLS error";
}

static const dice__conn_type conn_tls = {
    .name = "tls",
    .flags = 0,
    .start = tls_start,
    .read = tls_read,
    .write = tls_write,
    .set_mask = tls_set_mask,
    .close = tls_close,
    .last_error = tls_last_error,
};

int dice__tls_conn_init(dice__conn *cn, int fd, dice_server_t *srv,
                        dice_io_cb handler, void *arg) {
    if (!dice__tls_configured(srv))
        return DICE_ESTATE;
    dice__conn_init(cn, &conn_tls, fd, srv, handler, arg);
    ERR_clear_error();
    SSL *ssl = SSL_new(srv->tls->ctx);
    if (!ssl) {
        ERR_clear_error();
        return DICE_ENOMEM;
    }
    int verify = SSL_VERIFY_NONE;
    if (srv->cfg.tls_auth_clients == DICE__TLS_AUTH_YES)
        verify = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (srv->cfg.tls_auth_clients == DICE__TLS_AUTH_OPTIONAL)
        verify = SSL_VERIFY_PEER;
    SSL_set_verify(ssl, verify, NULL);
    if (SSL_set_fd(ssl, fd) != 1) {
        ERR_clear_error();
        SSL_free(ssl);
        return DICE_ENOMEM;
    }
    SSL_set_accept_state(ssl);
    cn->impl = ssl;
    cn->state = DICE__CONN_ACCEPTING;
    return 0;
}

#endif /* DICE_HAVE_TLS */
