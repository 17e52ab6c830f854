/* In-process sessions (dice/session.h): a client with no socket whose
 * commands come from the host as argv and whose replies go back to it.
 *
 * A session is a dice_client with CLIENT_SESSION set and fd -1, embedded as
 * the first member of struct dice_session so that one allocation (and one
 * free, in dice__client_free_now) covers both. It runs commands through
 * dice__client_call(), the same dispatch as network input; server.c keeps
 * it off the flush list (reply_prepare) and out of the connection list.
 *
 * The reply bytes are the client's own output buffer: cleared before each
 * call, handed to the caller after it. For the object form they are fed to
 * a dice_reader the session keeps, rather than driving the constructor from
 * the dice_reply_*() functions: the reader is the one RESP parser, the
 * writers are the one formatter, and a host gets exactly the values a
 * network client would read. (The cost is one copy of the reply into the
 * reader and a parse of it; tests/bench/bench_inproc.c measures both
 * forms.) */
#include "dice/session.h"
#include "server/server_internal.h"

#include <limits.h>
#include <stdlib.h>

struct dice_session {
    dice_client_t c; /* first: a session is freed as its client */
    /* A deferred reply was started and not collected yet. */
    bool waiting;
    /* The reader of dice_session_value(), kept between calls, with the
     * constructor it was made for. */
    dice_reader_t *reader;
    dice_reader_create_fn create;
    dice_reader_free_fn free_obj;
    void *ctx;
};

int dice_session_new(dice_server_t *srv, int proto, dice_session_t **out) {
    if (!out)
        return DICE_EINVAL;
    *out = NULL;
    if (!srv || (proto != 2 && proto != 3))
        return DICE_EINVAL;
    dice_session_t *s = calloc(1, sizeof(*s));
    if (!s)
        return DICE_ENOMEM;
    dice_client_t *c = &s->c;
    c->srv = srv;
    /* No socket: fd -1 (the loop refuses any event mask for it). */
    dice__conn_init(&c->conn, &dice__conn_tcp, -1, srv, NULL, c);
    c->flags = CLIENT_SESSION;
    c->id = srv->next_client_id++;
    c->proto = proto;
    c->authenticated = true;
    c->user = srv->acl.def;
    dice__acl_client_refresh(c);
    c->created_ms = c->last_ms = dice_loop_now_ms(srv->loop);
    c->next = srv->sessions;
    if (srv->sessions)
        srv->sessions->prev = c;
    srv->sessions = c;
    *out = s;
    return 0;
}

void dice__session_release(dice_client_t *c) {
    dice_session_t *s = (dice_session_t *)c;
    dice_reader_free(s->reader);
    s->reader = NULL;
}

void dice_session_free(dice_session_t *s) {
    if (!s)
        return;
    /* Marks the client closed (a late reply is then discarded) and frees
     * it now, or at the release if a handler still holds it. */
    dice__client_free_now(&s->c);
}

dice_client_t *dice_session_client(dice_session_t *s) {
    return s ? &s->c : NULL;
}

/* The reply of the last call if it is complete. A command that asked to
 * close the connection (QUIT) closes the session once it has answered. */
static int session_reply(dice_session_t *s, const char **reply,
                         size_t *replylen) {
    dice_client_t *c = &s->c;
    if (s->waiting) {
        if (c->holds > 0)
            return DICE_EAGAIN;
        s->waiting = false;
    }
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY)
        c->flags |= CLIENT_CLOSED;
    if (reply)
        *reply = c->out.data ? c->out.data : "";
    if (replylen)
        *replylen = c->out.len;
    return 0;
}

int dice_session_call(dice_session_t *s, int argc, const char *const *argv,
                      const size_t *argvlen, const char **reply,
                      size_t *replylen) {
    if (!s || argc < 1 || !argv || !argvlen)
        return DICE_EINVAL;
    dice_client_t *c = &s->c;
    if (c->flags & CLIENT_CLOSED)
        return DICE_ECLOSED;
    if (s->waiting)
        return DICE_ESTATE;
    dice_loop_t *loop = c->srv->loop;
    /* Nothing else may have run the loop since the last call: read the
     * clock now, or a host that never runs it would never see a key
     * expire. */
    dice_loop_update_time(loop);
    c->out.len = 0;
    c->last_ms = dice_loop_now_ms(loop);
    dice__client_call(c, argc, argv, argvlen);
    if (c->holds > 0) {
        /* Deferred: run the loop until the holder releases the client.
         * waiting is set first, so a callback that calls this session
         * meanwhile gets DICE_ESTATE instead of clearing the output. */
        s->waiting = true;
        while (c->holds > 0) {
            int rc = dice_loop_run_once(loop, -1);
            if (rc == DICE_ESTATE)
                return DICE_EAGAIN; /* called from a loop callback */
            if (rc < 0)
                return rc;
        }
    }
    return session_reply(s, reply, replylen);
}

int dice_session_reply(dice_session_t *s, const char **reply,
                       size_t *replylen) {
    if (!s)
        return DICE_EINVAL;
    return session_reply(s, reply, replylen);
}

static void session_drop_reader(dice_session_t *s) {
    dice_reader_free(s->reader); /* frees a partial value through free_obj */
    s->reader = NULL;
}

static int session_reader(dice_session_t *s, dice_reader_create_fn create,
                          dice_reader_free_fn free_obj, void *ctx) {
    if (s->reader &&
        (s->create != create || s->free_obj != free_obj || s->ctx != ctx))
        session_drop_reader(s);
    if (s->reader)
        return 0;
    int rc = dice_reader_new(&s->reader, create, free_obj, ctx);
    if (rc < 0) {
        s->reader = NULL;
        return rc;
    }
    s->create = create;
    s->free_obj = free_obj;
    s->ctx = ctx;
    /* The bytes come from our own writers: no peer to defend against, and
     * a bulk may be as long as proto-max-bulk-len allows a value to be. */
    dice_reader_set_limit(s->reader, DICE_READER_LIMIT_BULK, LLONG_MAX);
    dice_reader_set_limit(s->reader, DICE_READER_LIMIT_AGGREGATE, LLONG_MAX);
    dice_reader_set_limit(s->reader, DICE_READER_LIMIT_LINE, LLONG_MAX);
    return 0;
}

int dice_session_value(dice_session_t *s, dice_reader_create_fn create,
                       dice_reader_free_fn free_obj, void *ctx,
                       void **value_out) {
    if (!s || !value_out)
        return DICE_EINVAL;
    *value_out = NULL;
    const char *bytes;
    size_t len;
    int rc = session_reply(s, &bytes, &len);
    if (rc < 0)
        return rc;
    if (len == 0)
        return DICE_ENOENT;
    if ((rc = session_reader(s, create, free_obj, ctx)) < 0)
        return rc;
    rc = dice_reader_feed(s->reader, bytes, len);
    if (rc == 0)
        rc = dice_reader_get(s->reader, value_out);
    if (rc != 1) {
        /* Malformed or incomplete bytes (only dice_reply_raw() or a
         * handler that wrote half an aggregate can make them), or the
         * constructor failed: start from a fresh reader next time. */
        session_drop_reader(s);
        *value_out = NULL;
        return rc == 0 ? DICE_EPROTO : rc;
    }
    /* One command, one value; anything a handler wrote beyond it is
     * built and freed so the reader is empty for the next call. */
    while (dice__reader_buffered(s->reader) > 0) {
        void *extra = NULL;
        if (dice_reader_get(s->reader, &extra) != 1) {
            session_drop_reader(s);
            break;
        }
        if (!create)
            dice_value_free(extra);
        else if (free_obj)
            free_obj(ctx, extra);
    }
    return 0;
}

int dice_session_call_value(dice_session_t *s, int argc,
                            const char *const *argv, const size_t *argvlen,
                            dice_reader_create_fn create,
                            dice_reader_free_fn free_obj, void *ctx,
                            void **value_out) {
    if (value_out)
        *value_out = NULL;
    if (!value_out)
        return DICE_EINVAL;
    int rc = dice_session_call(s, argc, argv, argvlen, NULL, NULL);
    if (rc < 0)
        return rc;
    return dice_session_value(s, create, free_obj, ctx, value_out);
}
