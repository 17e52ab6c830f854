/* Client eviction: maxmemory-clients (Redis 7.0). The memory connected
 * clients hold (query and output buffers, MULTI queues, names...) is
 * kept as one total while the limit is on: each client's share is
 * recounted after its input is processed and after its output is
 * flushed (dice__client_mem_note), and leaves with it. When the total
 * reaches the limit (checked before the loop sleeps, after the
 * iteration's replies are written, as Redis's beforeSleep does), the client
 * holding the most that may be evicted is closed, then the next, until it is
 * under: an exact choice where Redis keeps clients in buckets of powers of two.
 * Finding the largest walks the clients, which costs O(clients) per eviction;
 * it runs only when the limit is reached, so a server under its limit pays one
 * flag test per read and per flush, and nothing in dispatch.
 *
 * Never evicted: CLIENT NO-EVICT ON clients, and clients with no
 * connection (in-process sessions, the scripting client). (There are no
 * master and replica links yet; they will be excluded the same way.) */
#include "server/server_internal.h"

#include <string.h>

size_t dice__client_memory(const dice_client_t *c, size_t argv_mem) {
    size_t n = sizeof(*c) + c->qcap + c->out.cap + argv_mem;
    if (c->name)
        n += strlen(c->name) + 1;
    if (c->lib_name)
        n += strlen(c->lib_name) + 1;
    if (c->lib_ver)
        n += strlen(c->lib_ver) + 1;
    n += dice__multi_mem(c);
    n += c->watched_cap * sizeof(*c->watched);
    return n;
}

static bool counted(const dice_client_t *c) {
    return !(c->flags & (CLIENT_SESSION | CLIENT_CLOSED)) && c->conn.fd >= 0;
}

static bool evictable(const dice_client_t *c) {
    return counted(c) && !(c->flags & CLIENT_NO_EVICT);
}

void dice__client_mem_update(dice_client_t *c) {
    dice_server_t *srv = c->srv;
    size_t now = counted(c) ? dice__client_memory(c, 0) : 0;
    srv->cmem_total += now;
    srv->cmem_total -= c->mem_counted;
    c->mem_counted = now;
}

void dice__client_mem_forget(dice_client_t *c) {
    c->srv->cmem_total -= c->mem_counted;
    c->mem_counted = 0;
}

bool dice__clients_evict(dice_server_t *srv) {
    bool any = false;
    while (srv->cmem_on && srv->cmem_total >= srv->cmem_limit) {
        dice_client_t *big = NULL;
        for (dice_client_t *cl = srv->clients; cl; cl = cl->next)
            if (evictable(cl) && (!big || cl->mem_counted > big->mem_counted))
                big = cl;
        if (!big) {
            dice__logf(srv, DICE_LOG_WARNING,
                       "Over client maxmemory after evicting all evictable "
                       "clients");
            break;
        }
        dice_buf_t b;
        dice__buf_init(&b);
        dice__client_info_line(&b, big, NULL, 0);
        dice__logf(srv, DICE_LOG_NOTICE, "Evicting client: %.*s", (int)b.len,
                   b.data ? b.data : "");
        dice__buf_release(&b);
        dice__client_mem_forget(big);
        srv->evicted_clients++;
        any = true;
        /* Closed now; freed now unless our own code is running on its
         * behalf (then when that returns, as for CLIENT KILL). */
        dice__client_free_now(big);
    }
    return any;
}

void dice__client_evict_apply(dice_server_t *srv) {
    long long v = srv->cfg.maxmemory_clients;
    unsigned long long limit = v < 0 ? (unsigned long long)srv->cfg.maxmemory /
                                           100u * (unsigned long long)-v
                                     : (unsigned long long)v;
    bool was = srv->cmem_on;
    srv->cmem_limit = limit;
    srv->cmem_on = limit != 0;
    if (!srv->cmem_on || !was) {
        /* Turned on: count everyone afresh; off: nobody is counted. */
        srv->cmem_total = 0;
        for (dice_client_t *cl = srv->clients; cl; cl = cl->next) {
            cl->mem_counted =
                srv->cmem_on && counted(cl) ? dice__client_memory(cl, 0) : 0;
            srv->cmem_total += cl->mem_counted;
        }
    }
    if (srv->cmem_on && srv->started)
        dice__clients_evict(srv);
}

/* ---- recent peaks (INFO client_recent_max_*) -----------------------------
 */

void dice__client_peak_cron(dice_server_t *srv) {
    uint64_t sec = dice_loop_now_ms(srv->loop) / 1000;
    if (sec == srv->peak_sec)
        return;
    uint64_t gap = sec - srv->peak_sec;
    if (gap > DICE__PEAK_SLOTS)
        gap = DICE__PEAK_SLOTS;
    for (uint64_t k = 1; k <= gap; k++) {
        unsigned i = (unsigned)((srv->peak_sec + k) % DICE__PEAK_SLOTS);
        srv->peak_in[i] = srv->peak_out[i] = 0;
    }
    srv->peak_sec = sec;
    srv->peak_slot = (unsigned)(sec % DICE__PEAK_SLOTS);
}

void dice__client_peaks(dice_server_t *srv, size_t *in, size_t *out) {
    dice__client_peak_cron(srv);
    size_t mi = 0, mo = 0;
    for (unsigned i = 0; i < DICE__PEAK_SLOTS; i++) {
        if (srv->peak_in[i] > mi)
            mi = srv->peak_in[i];
        if (srv->peak_out[i] > mo)
            mo = srv->peak_out[i];
    }
    *in = mi;
    *out = mo;
}
