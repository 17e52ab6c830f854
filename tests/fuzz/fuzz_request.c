/* libFuzzer target for the request parser. The input's first byte picks a
 * chunk size; the rest is parsed twice: all at once, and fed in chunks the
 * way a server does (moved buffer, consumed and skipped bytes dropped).
 * Both runs must see the same commands and the same error, and every
 * argument must lie inside the buffer. */
#include "dice/resp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct log {
    unsigned char *s;
    size_t n, cap;
    int toobig; /* ended with a "too big ..." error */
};

static void log_add(struct log *l, const void *p, size_t n) {
    if (l->n + n > l->cap) {
        size_t nc = (l->n + n) * 2 + 64;
        l->s = realloc(l->s, nc);
        if (!l->s)
            abort();
        l->cap = nc;
    }
    memcpy(l->s + l->n, p, n);
    l->n += n;
}

static void log_cmd(struct log *l, dice_req_parser_t *p, const char *buf,
                    size_t len) {
    int argc = dice_req_argc(p);
    const char *const *argv = dice_req_argv(p);
    const size_t *lens = dice_req_argvlen(p);
    if (argc <= 0)
        abort();
    log_add(l, &argc, sizeof(argc));
    for (int i = 0; i < argc; i++) {
        if (argv[i] < buf || argv[i] + lens[i] > buf + len)
            abort();
        log_add(l, &lens[i], sizeof(lens[i]));
        log_add(l, argv[i], lens[i]);
    }
}

static void log_err(struct log *l, long r, dice_req_parser_t *p) {
    if (r == DICE_EPROTO && strstr(dice_req_parser_error(p), "too big")) {
        /* Whether a line is "too big" depends on how much was buffered
         * when its end was still missing (as in Redis): not comparable. */
        l->toobig = 1;
        return;
    }
    log_add(l, "E", 1);
    log_add(l, &r, sizeof(r));
    if (r == DICE_EPROTO) {
        const char *e = dice_req_parser_error(p);
        if (!*e)
            abort();
        log_add(l, e, strlen(e));
    }
}

static void run_whole(const uint8_t *data, size_t len, struct log *l) {
    dice_req_parser_t *p;
    if (dice_req_parser_new(&p))
        abort();
    dice_req_parser_set_limit(p, DICE_REQ_LIMIT_INLINE, 300);
    char *buf = malloc(len + 1);
    memcpy(buf, data, len);
    size_t pos = 0;
    for (;;) {
        long r = dice_req_parse(p, buf + pos, len - pos);
        if (r == DICE_EAGAIN)
            break;
        if (r < 0) {
            log_err(l, r, p);
            break;
        }
        if ((size_t)r > len - pos)
            abort();
        log_cmd(l, p, buf + pos, len - pos);
        pos += (size_t)r;
    }
    free(buf);
    dice_req_parser_free(p);
}

static void run_chunks(const uint8_t *data, size_t len, size_t chunk,
                       struct log *l) {
    dice_req_parser_t *p;
    if (dice_req_parser_new(&p))
        abort();
    dice_req_parser_set_limit(p, DICE_REQ_LIMIT_INLINE, 300);
    char *q = NULL;
    size_t qlen = 0, given = 0;
    while (given < len) {
        size_t add = len - given < chunk ? len - given : chunk;
        char *nq = malloc(qlen + add + 1);
        if (qlen)
            memcpy(nq, q, qlen);
        memcpy(nq + qlen, data + given, add);
        free(q);
        q = nq;
        qlen += add;
        given += add;
        for (;;) {
            long r = dice_req_parse(p, q, qlen);
            if (r == DICE_EAGAIN) {
                size_t sk = dice_req_parser_skipped(p);
                size_t want = dice_req_parser_want(p);
                if (sk > qlen || (want && want <= qlen))
                    abort();
                memmove(q, q + sk, qlen - sk);
                qlen -= sk;
                break;
            }
            if (r < 0) {
                log_err(l, r, p);
                goto out;
            }
            log_cmd(l, p, q, qlen);
            memmove(q, q + r, qlen - (size_t)r);
            qlen -= (size_t)r;
        }
    }
out:
    free(q);
    dice_req_parser_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] % 17 + 1;
    data++;
    size--;
    struct log a = {0}, b = {0};
    run_whole(data, size, &a);
    run_chunks(data, size, chunk, &b);
    if (a.toobig || b.toobig) {
        /* Up to the first "too big" stop, both runs agree. */
        size_t m = a.n < b.n ? a.n : b.n;
        if ((a.toobig ? a.n : b.n) != m && !(a.toobig && b.toobig))
            abort();
        if (m && memcmp(a.s, b.s, m) != 0)
            abort();
    } else if (a.n != b.n || (a.n && memcmp(a.s, b.s, a.n) != 0)) {
        abort();
    }
    free(a.s);
    free(b.s);
    return 0;
}
