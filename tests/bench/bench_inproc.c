/* In-process commands per second: SET and GET through a dice_session on a
 * server that was never started (no socket, no port), on 100,000 keys
 * "key:000000".."key:099999" with 3-byte values, in three forms:
 *   bytes  dice_session_call(): the reply as RESP bytes;
 *   tree   dice_session_call_value() with the default dice_value_t tree
 *          (and dice_value_free() of each reply);
 *   ctor   dice_session_call_value() with a trivial host constructor, the
 *          cost an FFI binding pays beside its own object building.
 * Usage: bench_inproc [N]  (N commands per test, default 2,000,000).
 * Prints one line per test: "inproc <form> <CMD> <ops/s>". Not a test. */
#include <dice/dice.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NKEYS 100000

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *count_create(void *ctx, void *parent, size_t index, int type,
                          const char *str, size_t len, long long integer,
                          double dbl) {
    (void)parent, (void)index, (void)type, (void)str, (void)integer;
    (void)dbl;
    *(size_t *)ctx += len + 1;
    return ctx;
}

enum { FORM_BYTES, FORM_TREE, FORM_CTOR };
static const char *const FORMS[] = {"bytes", "tree", "ctor"};

static int run(dice_session_t *s, int form, int set, long n) {
    char key[16];
    const char *argv[3] = {set ? "SET" : "GET", key, "val"};
    size_t argvlen[3] = {3, 10, 3};
    int argc = set ? 3 : 2;
    size_t sink = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "key:%06ld", (i * 7919) % NKEYS);
        int rc;
        if (form == FORM_BYTES) {
            const char *reply;
            size_t len;
            rc = dice_session_call(s, argc, argv, argvlen, &reply, &len);
            sink += len;
        } else if (form == FORM_TREE) {
            void *v;
            rc = dice_session_call_value(s, argc, argv, argvlen, NULL, NULL,
                                         NULL, &v);
            sink += (size_t)dice_value_type(v);
            dice_value_free(v);
        } else {
            void *v;
            rc = dice_session_call_value(s, argc, argv, argvlen, count_create,
                                         NULL, &sink, &v);
        }
        if (rc < 0) {
            fprintf(stderr, "call failed: %s\n", dice_strerror(rc));
            return 1;
        }
    }
    double dt = now_s() - t0;
    printf("inproc %-5s %s %.0f\n", FORMS[form], set ? "SET" : "GET",
           (double)n / dt);
    return sink == 0; /* keep the work observable */
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    dice_loop_t *loop;
    dice_server_t *srv;
    dice_session_t *s;
    if (dice_loop_new(&loop) < 0 || dice_server_new(&srv, loop) < 0 ||
        dice_command_add_builtins(srv, DICE_BUILTIN_ALL) < 0 ||
        dice_session_new(srv, 2, &s) < 0) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    /* Every key exists before the timed part, so each SET overwrites and
     * each GET hits, whichever form runs first. */
    for (long i = 0; i < NKEYS; i++) {
        char key[16];
        snprintf(key, sizeof(key), "key:%06ld", i);
        const char *kv[3] = {"SET", key, "val"};
        size_t kvlen[3] = {3, 10, 3};
        const char *reply;
        size_t len;
        if (dice_session_call(s, 3, kv, kvlen, &reply, &len) < 0)
            return 1;
    }
    int bad = 0;
    for (int form = FORM_BYTES; form <= FORM_CTOR; form++) {
        bad |= run(s, form, 1, n);
        bad |= run(s, form, 0, n);
    }
    dice_session_free(s);
    dice_server_free(srv);
    dice_loop_free(loop);
    return bad;
}
