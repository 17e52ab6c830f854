/* A real C client against dice-server: hiredis (libhiredis-dev) runs the
 * string commands, one at a time and pipelined, and checks every reply's
 * type and value. Usage: hiredis_smoke HOST PORT. Exits 0 on success, 1
 * with a message on the first wrong reply, 2 if it cannot connect. */
#include <hiredis/hiredis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void fail(const char *what, const redisReply *r) {
    fprintf(stderr, "FAIL %s: reply type %d", what, r ? r->type : -1);
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
              r->type == REDIS_REPLY_ERROR))
        fprintf(stderr, " '%.*s'", (int)r->len, r->str);
    if (r && r->type == REDIS_REPLY_INTEGER)
        fprintf(stderr, " %lld", r->integer);
    fputc('\n', stderr);
    failures++;
}

static void expect_status(const char *what, redisReply *r, const char *s) {
    if (!r || r->type != REDIS_REPLY_STATUS || strcmp(r->str, s) != 0)
        fail(what, r);
    freeReplyObject(r);
}

static void expect_str(const char *what, redisReply *r, const char *s,
                       size_t len) {
    if (!r || r->type != REDIS_REPLY_STRING || r->len != len ||
        memcmp(r->str, s, len) != 0)
        fail(what, r);
    freeReplyObject(r);
}

static void expect_int(const char *what, redisReply *r, long long v) {
    if (!r || r->type != REDIS_REPLY_INTEGER || r->integer != v)
        fail(what, r);
    freeReplyObject(r);
}

static void expect_nil(const char *what, redisReply *r) {
    if (!r || r->type != REDIS_REPLY_NIL)
        fail(what, r);
    freeReplyObject(r);
}

static void expect_error(const char *what, redisReply *r, const char *s) {
    if (!r || r->type != REDIS_REPLY_ERROR || strcmp(r->str, s) != 0)
        fail(what, r);
    freeReplyObject(r);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    struct timeval tv = {10, 0};
    redisContext *c = redisConnectWithTimeout(argv[1], atoi(argv[2]), tv);
    if (!c || c->err) {
        fprintf(stderr, "connect: %s\n", c ? c->errstr : "no memory");
        return 2;
    }
    redisSetTimeout(c, tv);

    expect_status("flushall", redisCommand(c, "FLUSHALL"), "OK");
    expect_status("set", redisCommand(c, "SET %s %s", "greeting", "hello"),
                  "OK");
    expect_str("get", redisCommand(c, "GET greeting"), "hello", 5);
    expect_nil("get missing", redisCommand(c, "GET nosuchkey"));

    /* Binary-safe value through %b. */
    const char bin[] = {'a', '\0', '\r', '\n', 'z'};
    expect_status("set binary",
                  redisCommand(c, "SET %s %b", "bin", bin, sizeof(bin)), "OK");
    expect_str("get binary", redisCommand(c, "GET bin"), bin, sizeof(bin));

    expect_int("incr", redisCommand(c, "INCR counter"), 1);
    expect_int("incrby", redisCommand(c, "INCRBY counter %d", 41), 42);
    expect_int("decr", redisCommand(c, "DECR counter"), 41);
    expect_error("incr non-int", redisCommand(c, "INCR greeting"),
                 "ERR value is not an integer or out of range");
    expect_str("incrbyfloat", redisCommand(c, "INCRBYFLOAT counter 0.5"),
               "41.5", 4);

    redisReply *r = redisCommand(c, "MGET greeting nosuchkey counter");
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "hello") != 0 ||
        r->element[1]->type != REDIS_REPLY_NIL ||
        r->element[2]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[2]->str, "41.5") != 0)
        fail("mget", r);
    freeReplyObject(r);

    expect_int("append", redisCommand(c, "APPEND greeting %s", " world"), 11);
    expect_str("getrange", redisCommand(c, "GETRANGE greeting 0 4"), "hello",
               5);
    expect_str("getrange negative", redisCommand(c, "GETRANGE greeting -5 -1"),
               "world", 5);
    expect_int("strlen", redisCommand(c, "STRLEN greeting"), 11);
    expect_error("set syntax", redisCommand(c, "SET k v NX XX"),
                 "ERR syntax error");

    /* Pipeline: queue many commands, then read every reply in order. */
    enum { N = 1000 };
    for (int i = 0; i < N; i++) {
        redisAppendCommand(c, "SET key:%d val:%d", i, i);
        redisAppendCommand(c, "GET key:%d", i);
        redisAppendCommand(c, "INCR pipelined");
    }
    for (int i = 0; i < N && !failures; i++) {
        char want[32];
        int n = snprintf(want, sizeof(want), "val:%d", i);
        void *rv = NULL;
        if (redisGetReply(c, &rv) != REDIS_OK) {
            fprintf(stderr, "pipeline read: %s\n", c->errstr);
            return 1;
        }
        expect_status("pipelined set", rv, "OK");
        if (redisGetReply(c, &rv) != REDIS_OK) {
            fprintf(stderr, "pipeline read: %s\n", c->errstr);
            return 1;
        }
        expect_str("pipelined get", rv, want, (size_t)n);
        if (redisGetReply(c, &rv) != REDIS_OK) {
            fprintf(stderr, "pipeline read: %s\n", c->errstr);
            return 1;
        }
        expect_int("pipelined incr", rv, i + 1);
    }
    expect_str("after pipeline", redisCommand(c, "GET key:999"), "val:999", 7);

    redisFree(c);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("hiredis smoke: all replies as expected\n");
    return 0;
}
