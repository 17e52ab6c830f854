/* The library's helper threads start with every signal blocked
 * (dice__thread_start, lib/core/thread.c), and the creator keeps its own
 * mask. */
#include "core/core_internal.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void *read_mask(void *arg) {
    pthread_sigmask(SIG_BLOCK, NULL, (sigset_t *)arg);
    return NULL;
}

static void test_helper_thread_blocks_signals(void **state) {
    (void)state;
    /* The creator has nothing blocked but SIGUSR2, as a host might. */
    sigset_t mine, now, seen;
    sigemptyset(&mine);
    sigaddset(&mine, SIGUSR2);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &mine, NULL), 0);
    pthread_t t;
    assert_int_equal(dice__thread_start(&t, read_mask, &seen), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    int sigs[] = {SIGINT,  SIGTERM, SIGHUP,  SIGUSR1,
                  SIGUSR2, SIGPIPE, SIGCHLD, SIGALRM};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        assert_int_equal(sigismember(&seen, sigs[i]), 1);
    /* The creator's mask is as it was. */
    assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
    assert_int_equal(sigismember(&now, SIGUSR2), 1);
    assert_int_equal(sigismember(&now, SIGTERM), 0);
    assert_int_equal(sigismember(&now, SIGINT), 0);
    sigemptyset(&mine);
    pthread_sigmask(SIG_SETMASK, &mine, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_helper_thread_blocks_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
