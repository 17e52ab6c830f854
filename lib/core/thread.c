/* The library's helper threads start with all signals blocked (see
 * dice__thread_start in core_internal.h). */
#include "core/core_internal.h"

#include <pthread.h>
#include <signal.h>

int dice__thread_start(pthread_t *thread, void *(*fn)(void *), void *arg) {
    /* A new thread inherits its creator's mask: block everything around
     * the create, then give the creator its own mask back. */
    sigset_t all, old;
    sigfillset(&all);
    int rc = pthread_sigmask(SIG_SETMASK, &all, &old);
    if (rc != 0)
        return rc;
    rc = pthread_create(thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
