/* hiredis as a subscriber of dice-server (RESP2: the system's hiredis 0.14
 * has no RESP3 reader; RESP3 pushes are checked byte for byte against
 * redis-server in test_pubsub.py). One context subscribes, another
 * publishes 1000 messages; the subscriber must read them in order, then
 * PING's subscriber-mode array, the subscriber-context error, and the
 * unsubscribe confirmations. Usage: hiredis_pubsub HOST PORT. Exits 0 on
 * success, 1 on the first wrong reply, 2 if it cannot connect. */
#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(int ok, const char *what, const redisReply *r) {
    if (ok)
        return 1;
    fprintf(stderr, "FAIL %s: reply type %d\n", what, r ? r->type : -1);
    exit(1);
}

/* An array of n elements whose first is the bulk s. */
static void expect_push(redisReply *r, size_t n, const char *s) {
    check(r && r->type == REDIS_REPLY_ARRAY && r->elements == n &&
              r->element[0]->type == REDIS_REPLY_STRING &&
              strcmp(r->element[0]->str, s) == 0,
          s, r);
}

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    struct timeval tv = {5, 0};
    redisContext *sub = redisConnectWithTimeout(argv[1], atoi(argv[2]), tv);
    redisContext *pub = redisConnectWithTimeout(argv[1], atoi(argv[2]), tv);
    if (!sub || sub->err || !pub || pub->err)
        return 2;
    redisReply *r = redisCommand(sub, "SUBSCRIBE news");
    expect_push(r, 3, "subscribe");
    check(r->element[2]->integer == 1, "subscribe count", r);
    freeReplyObject(r);
    for (int i = 0; i < 1000; i++) {
        r = redisCommand(pub, "PUBLISH news msg:%d", i);
        check(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1, "publish",
              r);
        freeReplyObject(r);
    }
    for (int i = 0; i < 1000; i++) {
        char want[32];
        snprintf(want, sizeof(want), "msg:%d", i);
        check(redisGetReply(sub, (void **)&r) == REDIS_OK, "read", NULL);
        expect_push(r, 3, "message");
        check(strcmp(r->element[1]->str, "news") == 0 &&
                  strcmp(r->element[2]->str, want) == 0,
              "message order", r);
        freeReplyObject(r);
    }
    r = redisCommand(sub, "PING");
    expect_push(r, 2, "pong");
    freeReplyObject(r);
    r = redisCommand(sub, "GET x");
    check(r && r->type == REDIS_REPLY_ERROR &&
              strstr(r->str, "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING") ==
                  r->str + strlen("ERR Can't execute 'get': "),
          "subscriber context error", r);
    freeReplyObject(r);
    r = redisCommand(sub, "UNSUBSCRIBE");
    expect_push(r, 3, "unsubscribe");
    check(r->element[2]->integer == 0, "unsubscribe count", r);
    freeReplyObject(r);
    r = redisCommand(sub, "GET x");
    check(r && r->type == REDIS_REPLY_NIL, "GET after unsubscribe", r);
    freeReplyObject(r);
    redisFree(sub);
    redisFree(pub);
    printf("pub/sub as expected\n");
    return 0;
}
