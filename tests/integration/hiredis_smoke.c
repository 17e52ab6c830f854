/* A real C client against dice-server: hiredis (libhiredis-dev) runs the
 * string commands, one at a time and pipelined, and the four collection
 * types (lists, hashes, sets, sorted sets, a blocking pop), and checks
 * every reply's type and value. Usage: hiredis_smoke HOST PORT. Exits 0 on
 * success, 1 with a message on the first wrong reply, 2 if it cannot connect.
 */
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

static void expect_array(const char *what, redisReply *r, size_t n,
                         const char *const *want) {
    int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == n;
    for (size_t i = 0; ok && i < n; i++) {
        redisReply *e = r->element[i];
        ok = want[i]
                 ? e->type == REDIS_REPLY_STRING && strcmp(e->str, want[i]) == 0
                 : e->type == REDIS_REPLY_NIL;
    }
    if (!ok)
        fail(what, r);
    freeReplyObject(r);
}

/* Lists, hashes, sets and sorted sets (issue 10). */
static void collections(redisContext *c) {
    expect_int("rpush", redisCommand(c, "RPUSH l a b c"), 3);
    expect_int("lpush", redisCommand(c, "LPUSH l %s", "z"), 4);
    const char *lr[] = {"z", "a", "b", "c"};
    expect_array("lrange", redisCommand(c, "LRANGE l 0 -1"), 4, lr);
    const char *lp[] = {"z", "a"};
    expect_array("lpop count", redisCommand(c, "LPOP l 2"), 2, lp);
    const char *bl[] = {"l", "c"};
    expect_array("brpop served", redisCommand(c, "BRPOP l 0"), 2, bl);
    expect_nil("blpop timeout", redisCommand(c, "BLPOP nolist 0.05"));
    expect_error("wrongtype", redisCommand(c, "SADD l x"),
                 "WRONGTYPE Operation against a key holding the wrong kind "
                 "of value");

    expect_int("hset", redisCommand(c, "HSET h f1 v1 f2 v2"), 2);
    expect_str("hget", redisCommand(c, "HGET h f2"), "v2", 2);
    expect_nil("hget missing", redisCommand(c, "HGET h nof"));
    const char *hg[] = {"f1", "v1", "f2", "v2"};
    expect_array("hgetall", redisCommand(c, "HGETALL h"), 4, hg);
    expect_str("hincrbyfloat", redisCommand(c, "HINCRBYFLOAT h n 1.5"), "1.5",
               3);
    const char *hm[] = {"v1", NULL};
    expect_array("hmget", redisCommand(c, "HMGET h f1 nof"), 2, hm);

    expect_int("sadd", redisCommand(c, "SADD s 3 1 2 2"), 3);
    expect_int("sismember", redisCommand(c, "SISMEMBER s 2"), 1);
    expect_int("scard", redisCommand(c, "SCARD s"), 3);
    const char *sm[] = {"1", "2", "3"};
    expect_array("smembers intset", redisCommand(c, "SMEMBERS s"), 3, sm);

    expect_int("zadd", redisCommand(c, "ZADD z 1.5 a 2 b -inf c"), 3);
    expect_str("zscore", redisCommand(c, "ZSCORE z a"), "1.5", 3);
    expect_int("zrank", redisCommand(c, "ZRANK z b"), 2);
    const char *zr[] = {"c", "-inf", "a", "1.5"};
    expect_array("zrange withscores",
                 redisCommand(c, "ZRANGE z 0 1 WITHSCORES"), 4, zr);
    const char *zp[] = {"z", "b", "2"};
    expect_array("bzpopmax", redisCommand(c, "BZPOPMAX z 0"), 3, zp);
    expect_error("zadd nan", redisCommand(c, "ZADD z nan x"),
                 "ERR value is not a valid float");
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
    collections(c);

    redisFree(c);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("hiredis smoke: all replies as expected\n");
    return 0;
}
