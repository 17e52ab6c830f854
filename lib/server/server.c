/* Server core: listeners, connections, the read -> parse -> dispatch ->
 * reply pipeline, output batching and backpressure.
 *
 * Memory per connection is kept small on purpose: a client owns an input
 * buffer only while it has a partial (or paused) command, and an output
 * buffer only between a reply and the flush that writes it; both come and
 * go as the traffic does. */
#include "loop/loop_internal.h"
#include "server/blocking.h"
#include "server/evict.h"
#include "server/server_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define READ_CHUNK (16 * 1024)
#define REPLY_BUF (16 * 1024) /* Redis's PROTO_REPLY_CHUNK_BYTES */
#define SHARED_RBUF (64 * 1024)
/* A partial command up to this size is copied in front of the shared
 * buffer for the next read (see client_read_pending) instead of growing a
 * buffer of its own. */
#define PENDING_SHARED (16 * 1024)
/* Bytes of input one client runs per loop iteration before the others get
 * their turn: one shared read, so the common path never reaches it; only
 * input piled up in a client's own buffer (behind a big argument, or while
 * it was blocked) is cut into batches. */
#define INPUT_BATCH SHARED_RBUF
#define POOL_MAX 64
/* Output buffers go back to a server-wide pool after each flush, so a
 * connection owns none while idle. Large ones are worth keeping while
 * traffic flows (re-growing a multi-MB buffer every batch costs a page
 * fault per 4 KB), within these bounds; the cron frees every buffer above
 * POOL_SMALL_CAP once a tick passes with no buffer taken. */
#define POOL_KEEP_CAP (4 * 1024 * 1024)
#define POOL_MAX_BYTES (32 * 1024 * 1024)
#define POOL_SMALL_CAP (64 * 1024)
#define ACCEPTS_PER_EVENT 1000
#define RESERVED_FDS 32

static void client_event(dice_loop_t *loop, int fd, int events, void *arg);
static void client_process_input(dice_client_t *c);
static int client_flush(dice_client_t *c);

/* Room for one more element of an array of elem-byte items holding *cap;
 * false when out of memory. */
static bool grow_array(void **p, size_t *cap, size_t elem) {
    size_t nc = *cap ? *cap * 2 : 8;
    void *np = realloc(*p, nc * elem);
    if (!np)
        return false;
    *p = np;
    *cap = nc;
    return true;
}

static void client_id_getkey(const void *entry, const char **key,
                             size_t *klen) {
    const dice_client_t *c = entry;
    *key = (const char *)&c->id;
    *klen = sizeof(c->id);
}

dice_client_t *dice__client_by_id(dice_server_t *srv, uint64_t id) {
    dice_client_t *c =
        dice__dict_find(&srv->clients_by_id, (const char *)&id, sizeof(id));
    return c && !(c->flags & CLIENT_CLOSED) ? c : NULL;
}

/* ---- Creation and teardown --------------------------------------------- */

static void flush_hook(dice_loop_t *loop, void *arg);
static dice_req_parser_t *parser_new(dice_server_t *srv);
static void server_cron(dice_loop_t *loop, uint64_t id, void *arg);

int dice_server_new(dice_server_t **out, dice_loop_t *loop) {
    if (!out || !loop)
        return DICE_EINVAL;
    dice_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return DICE_ENOMEM;
    srv->loop = loop;
    srv->spare_fd = -1;
    dice__dict_init(&srv->clients_by_id, client_id_getkey);
    int rc = dice__settings_init(&srv->cfg);
    if (rc == 0)
        rc = dice__acl_init(srv);
    dice__cmdtable_init(&srv->commands);
    srv->next_client_id = 1;
    srv->rbuf_cap = SHARED_RBUF;
    srv->rbuf = malloc(srv->rbuf_cap);
    srv->parser = parser_new(srv);
    if (rc < 0 || !srv->rbuf || !srv->parser) {
        dice_server_free(srv);
        return DICE_ENOMEM;
    }
    rc = dice_loop_hook_add(loop, flush_hook, srv, &srv->hook_id);
    if (rc < 0) {
        dice_server_free(srv);
        return rc;
    }
    dice__server_apply_output_limits(srv);
    dice__intro_init(srv);
    srv->start_ms = dice_loop_now_ms(loop);
    srv->start_unix_ms = dice_loop_unix_ms(loop);
    srv->rdb.cow_fd = -1;
    srv->rdb.last_bgsave_ok = true;
    srv->rdb.last_bgsave_secs = -1;
    srv->rdb.lastsave = srv->start_unix_ms / 1000;
    dice__rdb_apply_save(srv);
    dice__aof_init(srv);
    *out = srv;
    return 0;
}

dice_loop_t *dice_server_loop(dice_server_t *srv) {
    return srv->loop;
}

static void close_listeners(dice_server_t *srv) {
    for (size_t i = 0; i < srv->nlisteners; i++) {
        dice_loop_unwatch(srv->loop, srv->listeners[i].fd);
        close(srv->listeners[i].fd);
        if (srv->listeners[i].unix_) /* as Redis at shutdown */
            unlink(srv->listeners[i].addr);
    }
    free(srv->listeners);
    srv->listeners = NULL;
    srv->nlisteners = 0;
}

void dice_server_free(dice_server_t *srv) {
    if (!srv)
        return;
    close_listeners(srv);
    while (srv->clients || srv->sessions) {
        dice_client_t *c = srv->clients ? srv->clients : srv->sessions;
        /* Held clients are freed too: the server is going away, and so is
         * the loop the holder would have answered from. */
        c->holds = 0;
        c->flags &= ~CLIENT_HELD;
        c->busy = 0;
        c->flags &= ~CLIENT_PENDING_WRITE;
        dice__client_free_now(c);
    }
    dice__tls_free(srv);
    dice__blocking_free(srv);
    dice__tracking_free(srv);
    dice__dict_clear(&srv->clients_by_id, NULL, NULL);
    free(srv->postponed);
    free(srv->backlog);
    if (srv->backlog_timer)
        dice_loop_timer_cancel(srv->loop, srv->backlog_timer);
    if (srv->pause_timer)
        dice_loop_timer_cancel(srv->loop, srv->pause_timer);
    if (srv->pubsub_hooks.server_free)
        srv->pubsub_hooks.server_free(srv);
    if (srv->hook_id)
        dice_loop_hook_remove(srv->loop, srv->hook_id);
    if (srv->cron_id)
        dice_loop_timer_cancel(srv->loop, srv->cron_id);
    if (srv->spare_fd >= 0)
        close(srv->spare_fd);
    for (size_t i = 0; i < srv->npool; i++)
        dice__buf_release(&srv->pool[i]);
    free(srv->pool);
    free(srv->pending);
    free(srv->rbuf);
    dice_req_parser_free(srv->parser);
    /* Values already unlinked go first: the thread may still be freeing
     * some, with type methods the keyspace's registrations own. */
    dice__lazyfree_stop(srv);
    dice__evict_free(srv);
    if (srv->ks_cron_id)
        dice_loop_timer_cancel(srv->loop, srv->ks_cron_id);
    dice__rdb_kill_child(srv);
    dice__rdb_free(srv);
    dice__aof_free(srv);
    dice_keyspace_free(srv->keyspace);
    dice__intro_detach_hists(srv);
    dice__cmdtable_free(&srv->commands);
    dice__propagate_free(srv);
    dice__watch_free(srv);
    dice__intro_free(srv);
    if (srv->scripting_free)
        srv->scripting_free(srv);
    free(srv->config_file);
    dice__acl_free(srv);
    dice__settings_free(&srv->cfg);
    free(srv);
}

/* ---- Listening ---------------------------------------------------------- */

static void accept_ready(dice_loop_t *loop, int fd, int events, void *arg);

static int listen_one(dice_server_t *srv, const char *addr, int port,
                      bool tls) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    const char *host = addr;
    /* "*" is every IPv4 address, "::*" every IPv6 one, as in redis.conf. */
    if (strcmp(addr, "*") == 0) {
        host = "0.0.0.0";
    } else if (strcmp(addr, "::*") == 0) {
        host = "::";
    }
    const char *a = host[0] == '-' ? host + 1 : host; /* "-addr": optional */
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    int gai = getaddrinfo(a, portstr, &hints, &res);
    if (gai != 0) {
        dice__logf(srv, DICE_LOG_WARNING, "Invalid bind address '%s': %s", a,
                   gai_strerror(gai));
        errno = EINVAL;
        return DICE_ESYS;
    }
    int fd = socket(res->ai_family,
                    res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        return DICE_ESYS;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (res->ai_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        listen(fd, srv->cfg.tcp_backlog) < 0) {
        int e = errno;
        freeaddrinfo(res);
        close(fd);
        if (host[0] == '-' && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT)) {
            return 0; /* optional address not present on this host */
        }
        dice__logf(srv, DICE_LOG_WARNING,
                   "Could not create server TCP "
                   "listening socket %s:%d: %s",
                   a, port, strerror(e));
        errno = e;
        return DICE_ESYS;
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int bound = port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        bound = ntohs(ss.ss_family == AF_INET6
                          ? ((struct sockaddr_in6 *)&ss)->sin6_port
                          : ((struct sockaddr_in *)&ss)->sin_port);
    }
    dice_listener_t *nl =
        realloc(srv->listeners, (srv->nlisteners + 1) * sizeof(*nl));
    if (!nl) {
        close(fd);
        return DICE_ENOMEM;
    }
    srv->listeners = nl;
    int rc = dice_loop_watch(srv->loop, fd, DICE_READABLE, accept_ready, srv);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    dice_listener_t *l = &srv->listeners[srv->nlisteners++];
    l->fd = fd;
    l->port = bound;
    l->unix_ = false;
    l->tls = tls;
    snprintf(l->addr, sizeof(l->addr), "%s", a);
    return 0;
}

/* Listen on the unix socket cfg.unixsocket (Redis's anetUnixServer: a
 * stale socket file is removed first, unixsocketperm applied after
 * bind). */
static int listen_unix(dice_server_t *srv, const char *path, int perm) {
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    size_t plen = strlen(path);
    if (plen == 0 || plen >= sizeof(sa.sun_path)) {
        dice__logf(srv, DICE_LOG_WARNING,
                   "Failed opening Unix socket: path too long");
        errno = ENAMETOOLONG;
        return DICE_ESYS;
    }
    memcpy(sa.sun_path, path, plen);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return DICE_ESYS;
    unlink(path); /* a socket file left by an earlier run */
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        (perm && chmod(path, (mode_t)perm) < 0) ||
        listen(fd, srv->cfg.tcp_backlog) < 0) {
        int e = errno;
        close(fd);
        dice__logf(srv, DICE_LOG_WARNING, "Failed opening Unix socket: %s",
                   strerror(e));
        errno = e;
        return DICE_ESYS;
    }
    dice_listener_t *nl =
        realloc(srv->listeners, (srv->nlisteners + 1) * sizeof(*nl));
    if (!nl) {
        close(fd);
        unlink(path);
        return DICE_ENOMEM;
    }
    srv->listeners = nl;
    int rc = dice_loop_watch(srv->loop, fd, DICE_READABLE, accept_ready, srv);
    if (rc < 0) {
        close(fd);
        unlink(path);
        return rc;
    }
    dice_listener_t *l = &srv->listeners[srv->nlisteners++];
    l->fd = fd;
    l->port = 0;
    l->unix_ = true;
    l->tls = false;
    memcpy(l->addr, path, plen + 1);
    return 0;
}

/* Listen for TLS on port at every bind address (tls-port). The new
 * listeners are added after the others; on failure none is kept. */
static int listen_tls(dice_server_t *srv, int port) {
    char **addrs = NULL;
    int n = dice__split_args(srv->cfg.bind, strlen(srv->cfg.bind), &addrs);
    if (n <= 0) {
        dice__split_free(addrs, n);
        return DICE_EINVAL;
    }
    size_t before = srv->nlisteners;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = listen_one(srv, addrs[i], port, true);
    dice__split_free(addrs, n);
    if (rc < 0) {
        int e = errno;
        while (srv->nlisteners > before) {
            dice_listener_t *l = &srv->listeners[--srv->nlisteners];
            dice_loop_unwatch(srv->loop, l->fd);
            close(l->fd);
        }
        errno = e;
    }
    return rc;
}

/* Close the TLS listeners on a port other than keep (0: all of them). */
static void close_tls_listeners(dice_server_t *srv, int keep) {
    size_t j = 0;
    for (size_t i = 0; i < srv->nlisteners; i++) {
        dice_listener_t *l = &srv->listeners[i];
        if (l->tls && (keep == 0 || l->port != keep)) {
            dice_loop_unwatch(srv->loop, l->fd);
            close(l->fd);
            continue;
        }
        srv->listeners[j++] = *l;
    }
    srv->nlisteners = j;
}

static int tls_listen_port(const dice_server_t *srv) {
    for (size_t i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].tls)
            return srv->listeners[i].port;
    return 0;
}

void dice__server_tls_changed(dice_server_t *srv) {
    srv->tls_dirty = true;
}

/* Redis's applyTlsCfg and applyTLSPort, once for all the tls-* settings
 * one CONFIG SET changed: a new context from the new values (kept only if
 * it builds), then the TLS listener moved to the new tls-port. */
int dice__config_commit(dice_server_t *srv) {
    const char *name = srv->cfg_commit_name;
    srv->cfg_commit_name = NULL;
    if (!srv->tls_dirty)
        return 0;
    srv->tls_dirty = false;
    if (!srv->started)
        return 0; /* dice_server_start configures what is set by then */
    const dice_settings_t *s = &srv->cfg;
    const char *why = NULL;
    if ((s->tls_port || s->tls_replication || s->tls_cluster) &&
        dice__tls_configure(srv) < 0) {
        why = "Unable to update TLS configuration. Check server logs.";
    } else if (s->tls_port != tls_listen_port(srv)) {
        int old = tls_listen_port(srv);
        if (s->tls_port && listen_tls(srv, s->tls_port) < 0)
            why = "Unable to listen on this port. Check server logs.";
        else if (old)
            close_tls_listeners(srv, s->tls_port);
    }
    if (!why)
        return 0;
    dice__logf(srv, DICE_LOG_WARNING,
               "Failed applying new configuration. Possibly related to new "
               "%s setting. Restoring previous settings.",
               name ? name : "tls-*");
    snprintf(srv->cfg_err, sizeof(srv->cfg_err), "%s", why);
    srv->cfg_commit_name = name; /* for the caller's error text */
    return DICE_EINVAL;
}

/* Clients the open-file limit leaves room for once RESERVED_FDS are kept
 * for listeners, logs and the spare fd, as Redis reckons it; SIZE_MAX when
 * there is no limit, 0 when the limit leaves no room at all. *limit gets
 * the limit itself. */
static size_t fd_room(unsigned long long *limit) {
    struct rlimit rl;
    *limit = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur == RLIM_INFINITY)
            return SIZE_MAX;
        *limit = (unsigned long long)rl.rlim_cur;
    }
    return *limit > RESERVED_FDS ? (size_t)(*limit - RESERVED_FDS) : 0;
}

/* Left unset, maxclients is what the fd limit allows (10000, Redis's
 * default, with no limit); once the server is started it is always the
 * stored setting, which dice_server_start fitted to the limit. */
size_t dice__server_effective_maxclients(dice_server_t *srv) {
    if (srv->started)
        return srv->maxclients_effective;
    unsigned long long limit;
    size_t room = fd_room(&limit);
    if (room == SIZE_MAX)
        room = 10000;
    if (srv->cfg.maxclients > 0 && (size_t)srv->cfg.maxclients < room)
        return (size_t)srv->cfg.maxclients;
    return room;
}

int dice__server_check_maxclients(dice_server_t *srv, long long n) {
    if (!srv->started)
        return 0;
    unsigned long long limit;
    size_t room = fd_room(&limit);
    if (room == SIZE_MAX || (unsigned long long)n <= room)
        return 0;
    dice__logf(srv, DICE_LOG_WARNING,
               "You requested maxclients of %lld requiring at least %llu max "
               "file descriptors.",
               n, (unsigned long long)n + RESERVED_FDS);
    dice__logf(srv, DICE_LOG_WARNING,
               "Current maximum open files is %llu. maxclients can be at "
               "most %zu. If you need higher maxclients increase "
               "'ulimit -n'.",
               limit, room);
    snprintf(srv->cfg_err, sizeof(srv->cfg_err),
             "The operating system is not able to handle the specified "
             "number of clients, try with %zu",
             room);
    return DICE_ELIMIT;
}

/* Fit maxclients to the open-file limit before serving, as Redis's
 * adjustOpenFilesLimit: a value that does not fit is lowered (and said so
 * in the log), one left unset becomes what fits, and a limit with no room
 * for a single client refuses to start (DICE_ELIMIT, text in cfg_err). */
static int fit_maxclients(dice_server_t *srv) {
    unsigned long long limit;
    size_t room = fd_room(&limit);
    long long want = srv->cfg.maxclients;
    if (room == 0) {
        snprintf(srv->cfg_err, sizeof(srv->cfg_err),
                 "Your current 'ulimit -n' of %llu is not enough for the "
                 "server to start. Please increase your open file limit to "
                 "at least %llu. Exiting.",
                 limit,
                 (unsigned long long)(want > 0 ? want : 10000) + RESERVED_FDS);
        return DICE_ELIMIT;
    }
    if (want == 0) {
        srv->cfg.maxclients = room == SIZE_MAX ? 10000 : (long long)room;
        srv->maxclients_auto = srv->cfg.maxclients;
    } else if (room != SIZE_MAX && (unsigned long long)want > room) {
        srv->cfg.maxclients = (long long)room;
        dice__logf(srv, DICE_LOG_WARNING,
                   "You requested maxclients of %lld requiring at least %llu "
                   "max file descriptors.",
                   want, (unsigned long long)want + RESERVED_FDS);
        dice__logf(srv, DICE_LOG_WARNING,
                   "Current maximum open files is %llu. maxclients has been "
                   "reduced to %zu to compensate for low ulimit. If you need "
                   "higher maxclients increase 'ulimit -n'.",
                   limit, room);
    }
    srv->maxclients_effective = (size_t)srv->cfg.maxclients;
    return 0;
}

void dice__server_apply_maxclients(dice_server_t *srv) {
    if (srv->started)
        srv->maxclients_effective = (size_t)srv->cfg.maxclients;
}

void dice__server_apply_output_limits(dice_server_t *srv) {
    size_t pause = (size_t)srv->cfg.output_pause;
    srv->out_check = pause < REPLY_BUF ? pause : REPLY_BUF;
}

void dice__server_apply_request_limits(dice_server_t *srv) {
    if (srv->parser)
        dice__server_apply_limits(srv, srv->parser);
    for (dice_client_t *c = srv->clients; c; c = c->next)
        if (c->parser)
            dice__server_apply_limits(srv, c->parser);
}

bool dice__client_allowed(const dice_client_t *c, int policy) {
    return policy == DICE_ALLOW_YES || (policy == DICE_ALLOW_LOCAL && c->local);
}

int dice_server_start(dice_server_t *srv) {
    if (srv->started)
        return DICE_ESTATE;
    srv->mem_startup = dice__server_used_memory(srv);
    int frc = dice__acl_start(srv);
    if (frc < 0)
        return frc;
    frc = fit_maxclients(srv);
    if (frc < 0)
        return frc;
    char **addrs = NULL;
    int n = dice__split_args(srv->cfg.bind, strlen(srv->cfg.bind), &addrs);
    if (n <= 0) {
        dice__split_free(addrs, n);
        return DICE_EINVAL;
    }
    for (int i = 0; i < n; i++) {
        int rc = listen_one(srv, addrs[i], srv->cfg.port, false);
        if (rc < 0) {
            int e = errno;
            dice__split_free(addrs, n);
            close_listeners(srv);
            errno = e;
            return rc;
        }
        /* With "port 0" every address shares the first one's port. */
        if (srv->cfg.port == 0 && srv->nlisteners == 1)
            srv->cfg.port = srv->listeners[0].port;
    }
    dice__split_free(addrs, n);
    srv->tls_dirty = false; /* the settings as they are now are used */
    if (srv->cfg.tls_port || srv->cfg.tls_replication || srv->cfg.tls_cluster) {
        int rc = dice__tls_configure(srv);
        if (rc == 0 && srv->cfg.tls_port)
            rc = listen_tls(srv, srv->cfg.tls_port);
        if (rc < 0) {
            int e = errno;
            if (dice__tls_available())
                dice__logf(srv, DICE_LOG_WARNING,
                           "Failed to configure TLS. Check logs for more "
                           "info.");
            close_listeners(srv);
            errno = e;
            return rc;
        }
    }
    if (srv->cfg.unixsocket && srv->cfg.unixsocket[0]) {
        int rc = listen_unix(srv, srv->cfg.unixsocket, srv->cfg.unixsocketperm);
        if (rc < 0) {
            int e = errno;
            close_listeners(srv);
            errno = e;
            return rc;
        }
    }
    if (srv->nlisteners == 0)
        return DICE_EINVAL;
    /* Keep one fd in reserve: when accept() fails with EMFILE we close it,
     * accept and close the waiting connection, and take it back; otherwise
     * a level-triggered listener would spin. */
    srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* The dataset loads with the listeners open, as Redis's: clients that
     * connect meanwhile are served every few MB of the file and answered
     * -LOADING but for the commands flagged loading (INFO shows the
     * progress). The server counts as started once it is loaded. */
    int rc = srv->cfg.appendonly && srv->keyspace ? dice__aof_startup(srv)
                                                  : dice__rdb_load_startup(srv);
    if (rc == 0) {
        srv->started = true;
        rc = dice__server_arm_crons(srv);
    }
    if (rc < 0) {
        srv->started = false;
        close_listeners(srv);
        if (srv->spare_fd >= 0)
            close(srv->spare_fd);
        srv->spare_fd = -1;
        return rc;
    }
    return 0;
}

/* (Re)arm the periodic timers at the current hz: the server's own once
 * started, the keyspace's once it exists. */
int dice__server_arm_crons(dice_server_t *srv) {
    int hz = srv->cfg.hz > 0 ? srv->cfg.hz : 10;
    uint64_t period = 1000 / (uint64_t)hz;
    int rc = 0;
    if (srv->started) {
        if (srv->cron_id)
            dice_loop_timer_cancel(srv->loop, srv->cron_id);
        srv->cron_id = 0;
        rc = dice_loop_timer_add(srv->loop, period, period, server_cron, srv,
                                 &srv->cron_id);
    }
    if (rc == 0 && srv->keyspace)
        rc = dice__keyspace_arm_cron(srv, period);
    return rc;
}

int dice_server_port(dice_server_t *srv) {
    if (!srv->started || srv->nlisteners == 0)
        return DICE_ESTATE;
    return srv->listeners[0].port;
}

void dice_server_on_shutdown(dice_server_t *srv, dice_server_cb cb, void *arg) {
    srv->shutdown_cb = cb;
    srv->shutdown_arg = arg;
}

void dice_server_shutdown(dice_server_t *srv) {
    srv->shutdown_asked = true;
    if (srv->shutdown_cb)
        srv->shutdown_cb(srv, srv->shutdown_arg);
    else
        dice_loop_stop(srv->loop);
}

/* ---- Accepting ---------------------------------------------------------- */

static void format_peer(const struct sockaddr_storage *ss, char *out,
                        size_t size) {
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
    }
    snprintf(out, size, "%s:%d", ip, port);
}

/* Redis's islocalClient: the peer is exactly 127.0.0.1 or ::1 (a unix
 * socket would count too). */
/* tcp-keepalive (as Redis's anetKeepAlive): probes after secs of
 * idleness, then every secs/3, and the peer is dead after 3 unanswered
 * ones, so it is noticed in about twice secs. Best effort. */
static void set_keepalive(int fd, int secs) {
    int one = 1, intvl = secs / 3 > 0 ? secs / 3 : 1, cnt = 3;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0)
        return;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof(secs));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

static bool is_loopback(const struct sockaddr_storage *ss) {
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr ==
               htonl(INADDR_LOOPBACK);
    if (ss->ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(
            &((const struct sockaddr_in6 *)ss)->sin6_addr);
    return ss->ss_family == AF_UNIX;
}

/* Redis 7.0's refusal in protected mode, word for word. */
#define PROTECTED_MODE_TEXT                                                    \
    "-DENIED Redis is running in protected mode because protected mode is "    \
    "enabled and no password is set for the default user. In this mode "       \
    "connections are only accepted from the loopback interface. If you want "  \
    "to connect from external computers to Redis you may adopt one of the "    \
    "following solutions: 1) Just disable protected mode sending the "         \
    "command 'CONFIG SET protected-mode no' from the loopback interface by "   \
    "connecting to Redis from the same host the server is running, however "   \
    "MAKE SURE Redis is not publicly accessible from internet if you do so. "  \
    "Use CONFIG REWRITE to make this change permanent. 2) Alternatively you "  \
    "can just disable the protected mode by editing the Redis configuration "  \
    "file, and setting the protected mode option to 'no', and then "           \
    "restarting the server. 3) If you started the server manually just for "   \
    "testing, restart it with the '--protected-mode no' option. 4) Setup a "   \
    "an authentication password for the default user. NOTE: You only need "    \
    "to do one of the above things in order for the server to start "          \
    "accepting connections from the outside.\r\n"

static void reject_client(dice_server_t *srv, int fd, const char *msg) {
    /* Best effort, as Redis: the socket is fresh, so the short error fits in
     * its send buffer; a failure here only loses the courtesy message. */
    if (*msg) {
        ssize_t w = write(fd, msg, strlen(msg));
        (void)w;
    }
    close(fd);
    srv->stats.rejected_connections++;
}

static void accept_ready(dice_loop_t *loop, int lfd, int events, void *arg) {
    (void)loop;
    (void)events;
    dice_server_t *srv = arg;
    for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if ((errno == EMFILE || errno == ENFILE) && srv->spare_fd >= 0) {
                close(srv->spare_fd);
                int tmp = accept(lfd, NULL, NULL);
                if (tmp >= 0)
                    reject_client(srv, tmp,
                                  "-ERR max number of clients reached\r\n");
                srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                dice__logf(srv, DICE_LOG_WARNING,
                           "Error accepting a client connection: %s",
                           strerror(EMFILE));
                /* accept() reports EMFILE even with nothing queued: one
                 * shed connection per event, not a thousand retries. */
                return;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                dice__logf(srv, DICE_LOG_VERBOSE,
                           "Accepting client "
                           "connection: %s",
                           strerror(errno));
            return;
        }
        const dice_listener_t *l = NULL;
        for (size_t j = 0; j < srv->nlisteners; j++)
            if (srv->listeners[j].fd == lfd)
                l = &srv->listeners[j];
        bool tls = l && l->tls;
        if (srv->nclients >= srv->maxclients_effective) {
            /* No plain-text courtesy on a socket that speaks TLS. */
            reject_client(srv, fd,
                          tls ? "" : "-ERR max number of clients reached\r\n");
            continue;
        }
        /* Protected mode, as Redis 7.0's clientAcceptHandler: while the
         * default user has no password, only loopback peers (and unix
         * sockets) may talk to us. */
        if (srv->cfg.protected_mode &&
            (srv->acl.def->flags & DICE__USER_NOPASS) &&
            (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) &&
            !is_loopback(&ss)) {
            reject_client(srv, fd, PROTECTED_MODE_TEXT);
            continue;
        }
        srv->stats.connections_received++;
        int one = 1;
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (srv->cfg.tcp_keepalive > 0)
                set_keepalive(fd, (int)srv->cfg.tcp_keepalive);
        }
        dice_client_t *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->srv = srv;
        if (tls) {
            if (dice__tls_conn_init(&c->conn, fd, srv, client_event, c) < 0) {
                close(fd);
                free(c);
                continue;
            }
        } else {
            dice__conn_init(&c->conn,
                            l && l->unix_ ? &dice__conn_unix : &dice__conn_tcp,
                            fd, srv, client_event, c);
        }
        c->id = srv->next_client_id++;
        c->proto = 2;
        /* As Redis's default user: no password means authenticated. */
        c->user = srv->acl.def;
        c->authenticated = !dice__acl_auth_required(srv);
        dice__acl_client_refresh(c);
        c->created_ms = c->last_ms = dice_loop_now_ms(srv->loop);
        if (l && l->unix_) {
            /* Redis names both ends of a unix connection by the socket's
             * path, port 0 (a path past 61 bytes is cut short here). */
            snprintf(c->addr, sizeof(c->addr), "%.61s:0", l->addr);
            snprintf(c->laddr, sizeof(c->laddr), "%.61s:0", l->addr);
            c->flags |= CLIENT_UNIX;
            c->local = true;
        } else {
            format_peer(&ss, c->addr, sizeof(c->addr));
            c->local = is_loopback(&ss);
            struct sockaddr_storage ls;
            socklen_t ll = sizeof(ls);
            if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0)
                format_peer(&ls, c->laddr, sizeof(c->laddr));
        }
        if (srv->pause_type != DICE__PAUSE_OFF)
            c->flags |= CLIENT_PAUSE_CHECK;
        if (dice__dict_insert(&srv->clients_by_id, c,
                              dice__dict_hash(&srv->clients_by_id,
                                              (const char *)&c->id,
                                              sizeof(c->id))) < 0) {
            dice__conn_close(&c->conn);
            free(c);
            continue;
        }
        if (dice__conn_start(&c->conn, srv->loop) < 0) {
            dice__dict_delete(
                &srv->clients_by_id, (const char *)&c->id, sizeof(c->id),
                dice__dict_hash(&srv->clients_by_id, (const char *)&c->id,
                                sizeof(c->id)));
            dice__conn_close(&c->conn);
            free(c);
            continue;
        }
        c->next = srv->clients;
        if (srv->clients)
            srv->clients->prev = c;
        srv->clients = c;
        srv->nclients++;
        dice__client_mem_note(c);
    }
}

/* ---- Client lifetime ---------------------------------------------------- */

static void pool_put(dice_server_t *srv, dice_buf_t *b) {
    if (!b->data)
        return;
    if (b->cap <= POOL_KEEP_CAP && srv->npool < POOL_MAX &&
        srv->pool_bytes + b->cap <= POOL_MAX_BYTES) {
        if (srv->npool == srv->pool_cap) {
            size_t nc = srv->pool_cap ? srv->pool_cap * 2 : 8;
            dice_buf_t *np = realloc(srv->pool, nc * sizeof(*np));
            if (!np) {
                dice__buf_release(b);
                return;
            }
            srv->pool = np;
            srv->pool_cap = nc;
        }
        b->len = 0;
        srv->pool_bytes += b->cap;
        srv->pool[srv->npool++] = *b;
    } else {
        dice__buf_release(b);
    }
    dice__buf_init(b);
}

/* Detach the socket; the object itself lives on while someone holds it. */
static void client_close_socket(dice_client_t *c) {
    if (c->flags & CLIENT_CLOSED)
        return;
    c->flags |= CLIENT_CLOSED;
    dice__client_mem_forget(c); /* 0 while maxmemory-clients is off */
    if (c->conn.fd < 0)
        return; /* an in-process session: no socket */
    dice__conn_close(&c->conn);
}

/* Close c's socket and free c, unless something still refers to it: a
 * holder (dice_client_hold), our own code running on its behalf (busy), or
 * the pending-write list. Those call this again when they let go, so every
 * "is it closed? then free it" site can simply call it. */
void dice__client_free_now(dice_client_t *c) {
    dice_server_t *srv = c->srv;
    if (c->flags & CLIENT_BLOCKED)
        dice__client_unblock(c, DICE__UNBLOCK_DROP);
    client_close_socket(c);
    if (c->holds > 0 || c->busy || (c->flags & CLIENT_PENDING_WRITE))
        return;
    dice_client_t **head =
        (c->flags & CLIENT_SESSION) ? &srv->sessions : &srv->clients;
    if (c->prev)
        c->prev->next = c->next;
    else
        *head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (!(c->flags & CLIENT_SESSION)) {
        srv->nclients--;
        dice__dict_delete(&srv->clients_by_id, (const char *)&c->id,
                          sizeof(c->id),
                          dice__dict_hash(&srv->clients_by_id,
                                          (const char *)&c->id, sizeof(c->id)));
    }
    if (c->pubsub)
        srv->pubsub_hooks.client_free(c);
    if (c->trk || (c->flags & CLIENT_TRACKING))
        dice__tracking_disable(c);
    if (c->flags & CLIENT_POSTPONED) {
        for (size_t i = 0; i < srv->npostponed; i++) {
            if (srv->postponed[i] == c) {
                memmove(&srv->postponed[i], &srv->postponed[i + 1],
                        (srv->npostponed - i - 1) * sizeof(*srv->postponed));
                srv->npostponed--;
                break;
            }
        }
    }
    free(c->postponed);
    if (c->backlog) {
        for (size_t i = 0; i < srv->nbacklog; i++) {
            if (srv->backlog[i] == c) {
                srv->backlog[i] = srv->backlog[--srv->nbacklog];
                break;
            }
        }
    }
    if (c->flags & CLIENT_MONITOR)
        dice__monitor_remove(c);
    pool_put(srv, &c->out);
    dice_req_parser_free(c->parser);
    free(c->qbuf);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    dice__multi_discard(c); /* queued commands and watched keys */
    free(c->watched);
    if (c->flags & CLIENT_SESSION)
        dice__session_release(c);
    free(c);
}

/* ---- Output ------------------------------------------------------------- */

/* One CLIENT LIST line (without the newline), in Redis 7.0.15's field
 * order. Fields for features we do not have (MULTI, the reply list)
 * carry the values Redis shows for a client not using them. self
 * is the client running the command: only its argv size is known. */
void dice__client_info_line(dice_buf_t *b, dice_client_t *cl,
                            dice_client_t *self, size_t argv_mem) {
    dice_server_t *srv = cl->srv;
    uint64_t now = dice_loop_now_ms(srv->loop);
    char flags[16];
    int nf = 0;
    if (cl->flags & CLIENT_MONITOR)
        flags[nf++] = 'O';
    if (cl->flags & CLIENT_PUBSUB)
        flags[nf++] = 'P';
    if (cl->multi) /* queueing, or EXEC running the queue */
        flags[nf++] = 'x';
    if (cl->flags & (CLIENT_HELD | CLIENT_BLOCKED | CLIENT_POSTPONED))
        flags[nf++] = 'b';
    if (cl->flags & CLIENT_TRACKING)
        flags[nf++] = 't';
    if (cl->flags & CLIENT_TRACKING_BROKEN_REDIR)
        flags[nf++] = 'R';
    if (cl->flags & CLIENT_TRACKING_BCAST)
        flags[nf++] = 'B';
    if (cl->flags & CLIENT_DIRTY_CAS)
        flags[nf++] = 'd';
    if (cl->flags & CLIENT_CLOSE_AFTER_REPLY)
        flags[nf++] = 'c';
    if (cl->flags & CLIENT_UNIX)
        flags[nf++] = 'U';
    if (cl->flags & CLIENT_NO_EVICT)
        flags[nf++] = 'e';
    if (nf == 0)
        flags[nf++] = 'N';
    flags[nf] = '\0';
    char events[3];
    int ne = 0;
    if (!(cl->flags & (CLIENT_PAUSED | CLIENT_CLOSED)))
        events[ne++] = 'r';
    if (cl->flags & CLIENT_WANT_WRITE)
        events[ne++] = 'w';
    events[ne] = '\0';
    size_t subs[3] = {0, 0, 0}; /* channels, patterns, shard channels */
    if (cl->pubsub && srv->pubsub_hooks.client_counts)
        srv->pubsub_hooks.client_counts(cl, subs);
    size_t omem = cl->out.cap, amem = cl == self ? argv_mem : 0;
    size_t tot = dice__client_memory(cl, amem);
    /* One output buffer (no reply list): obl is what waits in it. */
    size_t obl = cl->out.len - cl->sent;
    dice__buf_printf(
        b,
        "id=%llu addr=%s laddr=%s fd=%d name=%s age=%llu idle=%llu "
        "flags=%s db=%d sub=%zu psub=%zu ssub=%zu multi=%lld qbuf=%zu "
        "qbuf-free=%zu argv-mem=%zu multi-mem=%zu rbs=%zu rbp=%zu obl=%zu "
        "oll=0 omem=%zu tot-mem=%zu events=%s cmd=%s user=%s "
        "redir=%lld resp=%d",
        (unsigned long long)cl->id, cl->addr, cl->laddr, cl->conn.fd,
        cl->name ? cl->name : "",
        (unsigned long long)((now - cl->created_ms) / 1000),
        (unsigned long long)((now - cl->last_ms) / 1000), flags, cl->db,
        subs[0], subs[1], subs[2],
        cl->multi ? (long long)dice__multi_count(cl) : -1LL, cl->qlen,
        cl->qcap - cl->qlen, amem, dice__multi_mem(cl), cl->qcap, cl->qcap, obl,
        omem, tot, events, cl->last_cmd ? cl->last_cmd : "NULL",
        cl->user ? cl->user->name : "default",
        (cl->flags & CLIENT_TRACKING) ? (long long)dice__tracking_redir(cl)
                                      : -1LL,
        cl->proto);
}

size_t dice__client_output_pending(const dice_client_t *c) {
    return c->out.len - c->sent;
}

/* Make c->out writable: take a buffer from the pool if it has none, and
 * queue the client for the before-sleep flush. Returns false if the reply
 * must be dropped (closed client, or no memory). */
static bool reply_prepare(dice_client_t *c) {
    /* Closed, or CLIENT REPLY OFF|SKIP (which let pushes through). */
    if (__builtin_expect((c->flags & CLIENT_NO_REPLY) != 0, 0) &&
        ((c->flags & CLIENT_CLOSED) || !(c->flags & CLIENT_PUSHING)))
        return false;
    dice_server_t *srv = c->srv;
    if (!c->out.data && srv->npool > 0) {
        c->out = srv->pool[--srv->npool];
        srv->pool_bytes -= c->out.cap;
        srv->pool_takes++;
    }
    /* A session's output is handed to its caller, never flushed. */
    if (!(c->flags & (CLIENT_PENDING_WRITE | CLIENT_SESSION))) {
        if (srv->npending == srv->pending_cap) {
            size_t nc = srv->pending_cap ? srv->pending_cap * 2 : 64;
            dice_client_t **np = realloc(srv->pending, nc * sizeof(*np));
            if (!np) {
                client_close_socket(c);
                return false;
            }
            srv->pending = np;
            srv->pending_cap = nc;
        }
        srv->pending[srv->npending++] = c;
        c->flags |= CLIENT_PENDING_WRITE;
    }
    return true;
}

static int reply_result(dice_client_t *c, int rc) {
    if (rc < 0) {
        /* Out of memory mid-reply: the stream is now inconsistent, so the
         * only safe thing is to drop the connection. */
        dice_client_close_after_reply(c);
        client_close_socket(c);
    }
    return rc;
}

#define REPLY(c, call)                                                         \
    do {                                                                       \
        if (!reply_prepare(c))                                                 \
            return (c->flags & CLIENT_NO_REPLY) ? 0 : DICE_ENOMEM;             \
        return reply_result(c, call);                                          \
    } while (0)

/* A constant reply of at most 8 bytes (s padded to 8): when c is queued
 * for the flush already and its buffer has room (every reply of a batch
 * but the first), one 8-byte store with no call; otherwise false, for the
 * general path. The padding lands past len, in room the buffer has. */
static inline __attribute__((always_inline)) bool
reply_fast(dice_client_t *c, const char s[8], size_t n) {
    if ((c->flags & (CLIENT_NO_REPLY | CLIENT_PENDING_WRITE)) !=
            CLIENT_PENDING_WRITE ||
        c->out.cap - c->out.len < 8)
        return false;
    memcpy(c->out.data + c->out.len, s, 8);
    c->out.len += n;
    return true;
}

int dice_reply_simple(dice_client_t *c, const char *s, size_t len) {
    REPLY(c, dice_resp_write_simple(&c->out, s, len));
}
int dice_reply_ok(dice_client_t *c) {
    static const char ok[8] = "+OK\r\n";
    if (reply_fast(c, ok, 5))
        return 0;
    REPLY(c, dice_buf_append(&c->out, "+OK\r\n", 5));
}
int dice_reply_error(dice_client_t *c, const char *msg, size_t len) {
    dice__intro_error(c->srv, msg, len);
    REPLY(c, dice_resp_write_error(&c->out, msg, len));
}
int dice_reply_int(dice_client_t *c, long long v) {
    if ((unsigned long long)v < 10) { /* :0 to :9, the usual counts */
        const char b[8] = {':', (char)('0' + v), '\r', '\n'};
        if (reply_fast(c, b, 4))
            return 0;
    }
    REPLY(c, dice_resp_write_int(&c->out, v));
}
int dice_reply_bulk(dice_client_t *c, const char *s, size_t len) {
    REPLY(c, dice_resp_write_bulk(&c->out, s, len));
}
int dice_reply_cstr(dice_client_t *c, const char *s) {
    return dice_reply_bulk(c, s, strlen(s));
}
int dice_reply_null(dice_client_t *c) {
    static const char null2[8] = "$-1\r\n", null3[8] = "_\r\n";
    if (reply_fast(c, c->proto == 3 ? null3 : null2, c->proto == 3 ? 3 : 5))
        return 0;
    REPLY(c, dice_resp_write_null(&c->out, c->proto));
}
int dice_reply_null_array(dice_client_t *c) {
    REPLY(c, dice_resp_write_null_array(&c->out, c->proto));
}
int dice_reply_array(dice_client_t *c, size_t n) {
    REPLY(c, dice_resp_write_array(&c->out, n));
}
int dice_reply_map(dice_client_t *c, size_t npairs) {
    REPLY(c, dice_resp_write_map(&c->out, c->proto, npairs));
}
int dice_reply_set(dice_client_t *c, size_t n) {
    REPLY(c, dice_resp_write_set(&c->out, c->proto, n));
}
int dice_reply_push(dice_client_t *c, size_t n) {
    REPLY(c, dice_resp_write_push(&c->out, c->proto, n));
}
int dice_reply_double(dice_client_t *c, double d) {
    REPLY(c, dice_resp_write_double(&c->out, c->proto, d));
}
int dice_reply_bool(dice_client_t *c, int v) {
    REPLY(c, dice_resp_write_bool(&c->out, c->proto, v));
}
int dice_reply_verbatim(dice_client_t *c, const char *fmt3, const char *s,
                        size_t len) {
    REPLY(c, dice_resp_write_verbatim(&c->out, c->proto, fmt3, s, len));
}
int dice_reply_bignum(dice_client_t *c, const char *digits, size_t len) {
    REPLY(c, dice_resp_write_bignum(&c->out, c->proto, digits, len));
}
int dice_reply_raw(dice_client_t *c, const char *resp, size_t len) {
    REPLY(c, dice_buf_append(&c->out, resp, len));
}

int dice__reply_push_raw(dice_client_t *c, const char *resp, size_t len) {
    unsigned was = c->flags & CLIENT_PUSHING;
    c->flags |= CLIENT_PUSHING;
    int rc = dice_reply_raw(c, resp, len);
    c->flags = (c->flags & ~CLIENT_PUSHING) | was;
    return rc;
}

int dice__reply_errorf(dice_client_t *c, const char *fmt, ...) {
    char buf[512] = "";
    size_t n;
    va_list ap;
    va_start(ap, fmt);
    /* Redis echoes arguments in errors whole: longer texts go on the
     * heap. */
    char *text = dice__vformat(buf, sizeof(buf), &n, fmt, ap);
    va_end(ap);
    if (!text) /* no memory for the whole text: send what fitted */
        return buf[0] ? dice_reply_error(c, buf, strnlen(buf, sizeof(buf) - 1))
                      : DICE_EINVAL;
    int rc = dice_reply_error(c, text, n);
    if (text != buf)
        free(text);
    return rc;
}

/* Redis's checkClientOutputBufferLimits + closeClientOnOutputBufferLimit
 * Reached(async): the class is pubsub while c is subscribed, else normal
 * (replicas do not exist yet). What counts is the output not yet written,
 * as Redis counts its reply list beyond the static buffer. */
bool dice__client_obuf_check(dice_client_t *c) {
    if (c->flags & CLIENT_CLOSED)
        return true;
    dice_server_t *srv = c->srv;
    const dice__obuf_limit *l =
        &srv->cfg.obuf[(c->flags & CLIENT_PUBSUB) ? DICE__OBUF_PUBSUB
                                                  : DICE__OBUF_NORMAL];
    /* Redis counts only its reply list, past the 16 KB buffer each client
     * has: small replies never count. */
    size_t pending = dice__client_output_pending(c);
    unsigned long long used = pending > REPLY_BUF ? pending - REPLY_BUF : 0;
    bool hard = l->hard && used >= (unsigned long long)l->hard;
    bool soft = l->soft && used >= (unsigned long long)l->soft;
    uint64_t now = dice_loop_now_ms(srv->loop);
    if (soft && !hard) {
        if (c->obuf_soft_since == 0) {
            c->obuf_soft_since = now; /* the soft limit's clock starts */
            soft = false;
        } else if ((now - c->obuf_soft_since) / 1000 <=
                   (uint64_t)l->soft_seconds) {
            soft = false; /* not for long enough yet */
        }
    } else if (!soft) {
        c->obuf_soft_since = 0;
    }
    if (!hard && !soft)
        return false;
    dice_buf_t b;
    dice__buf_init(&b);
    dice__client_info_line(&b, c, NULL, 0);
    dice__logf(srv, DICE_LOG_WARNING,
               "Client %.*s scheduled to be closed ASAP for overcoming of "
               "output buffer limits.",
               (int)b.len, b.data ? b.data : "");
    dice__buf_release(&b);
    /* What is queued is dropped, as Redis frees the client with it: a
     * subscriber that does not read gets nothing more. */
    client_close_socket(c);
    return true;
}

/* Write as much pending output as the socket takes. Returns 0 when all is
 * written, 1 when some remains (WRITABLE interest is then set), negative
 * when the connection failed (the socket is closed). */
static int client_flush(dice_client_t *c) {
    dice_server_t *srv = c->srv;
    if (c->flags & CLIENT_CLOSED)
        return DICE_ECLOSED;
    /* appendfsync always: no reply leaves before the writes it answers
     * are fsync'd; the first flush of an iteration commits for all. */
    if (__builtin_expect(srv->aof.hold, 0))
        dice__aof_flush(srv, false);
    while (c->sent < c->out.len) {
        ssize_t n = dice__conn_write(&c->conn, c->out.data + c->sent,
                                     c->out.len - c->sent);
        srv->stats.writes_processed++;
        if (n > 0) {
            c->sent += (size_t)n;
            srv->stats.net_output_bytes += (uint64_t)n;
            /* A client still taking a long reply is not idle (timeout). */
            c->last_ms = dice_loop_now_ms(srv->loop);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!(c->flags & CLIENT_WANT_WRITE)) {
                int mask = DICE_WRITABLE |
                           ((c->flags & CLIENT_PAUSED) ? 0 : DICE_READABLE);
                dice__conn_set_mask(&c->conn, mask);
                c->flags |= CLIENT_WANT_WRITE;
            }
            /* Drop what was sent once it is a large share of the buffer,
             * so a slow reader's buffer does not only grow. */
            if (c->sent > 64 * 1024 && c->sent * 2 > c->out.len) {
                dice__buf_consume(&c->out, c->sent);
                c->sent = 0;
            }
            dice__client_mem_note(c);
            return 1;
        }
        client_close_socket(c);
        return DICE_ECLOSED;
    }
    c->sent = 0;
    c->obuf_soft_since = 0; /* all written: under every soft limit */
    pool_put(srv, &c->out);
    dice__client_mem_note(c);
    if (c->flags & CLIENT_WANT_WRITE) {
        c->flags &= ~CLIENT_WANT_WRITE;
        dice__conn_set_mask(&c->conn,
                            (c->flags & CLIENT_PAUSED) ? 0 : DICE_READABLE);
    }
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY)
        client_close_socket(c);
    return 0;
}

/* Resume reading a client paused by backpressure, once its output has
 * drained below the limit, and run the commands it had already sent. */
static void client_maybe_resume(dice_client_t *c) {
    if (!(c->flags & CLIENT_PAUSED) || (c->flags & CLIENT_CLOSED))
        return;
    if (dice__client_output_pending(c) > (size_t)c->srv->cfg.output_pause)
        return;
    c->flags &= ~CLIENT_PAUSED;
    dice__conn_set_mask(
        &c->conn,
        DICE_READABLE | ((c->flags & CLIENT_WANT_WRITE) ? DICE_WRITABLE : 0));
    if (c->qlen > 0)
        client_process_input(c);
}

/* ---- CLIENT PAUSE ------------------------------------------------------ */

static void pause_mark(dice_server_t *srv, bool on) {
    for (dice_client_t *c = srv->clients; c; c = c->next) {
        if (on)
            c->flags |= CLIENT_PAUSE_CHECK;
        else
            c->flags &= ~CLIENT_PAUSE_CHECK;
    }
}

static void pause_timeout(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop;
    (void)id;
    dice_server_t *srv = arg;
    srv->pause_timer = 0;
    dice__pause_end(srv);
}

int dice__pause_start(dice_server_t *srv, int type, uint64_t end_ms) {
    if (type > srv->pause_type)
        srv->pause_type = type;
    if (end_ms > srv->pause_end_ms || srv->pause_timer == 0) {
        if (end_ms > srv->pause_end_ms)
            srv->pause_end_ms = end_ms;
        if (srv->pause_timer)
            dice_loop_timer_cancel(srv->loop, srv->pause_timer);
        srv->pause_timer = 0;
        uint64_t now = dice_loop_now_ms(srv->loop);
        uint64_t delay = srv->pause_end_ms > now ? srv->pause_end_ms - now : 0;
        int rc = dice_loop_timer_add(srv->loop, delay, 0, pause_timeout, srv,
                                     &srv->pause_timer);
        if (rc < 0) {
            dice__pause_end(srv);
            return rc;
        }
    }
    pause_mark(srv, true);
    if (srv->keyspace)
        dice__keyspace_pause_expiry(srv->keyspace, 1);
    return 0;
}

void dice__pause_end(dice_server_t *srv) {
    if (srv->pause_timer)
        dice_loop_timer_cancel(srv->loop, srv->pause_timer);
    srv->pause_timer = 0;
    srv->pause_type = DICE__PAUSE_OFF;
    srv->pause_end_ms = 0;
    pause_mark(srv, false);
    if (srv->keyspace)
        dice__keyspace_pause_expiry(srv->keyspace, 0);
    if (srv->npostponed)
        srv->pause_release = true;
}

/* The pause is over: each held client runs its held command, then what it
 * sent meanwhile, in the order they were held (Redis's unblocked clients
 * of BLOCKED_POSTPONE). A command run here may start a new pause, which
 * holds the clients after it again. */
static void pause_release(dice_server_t *srv) {
    srv->pause_release = false;
    dice_client_t **list = srv->postponed;
    size_t n = srv->npostponed;
    srv->postponed = NULL;
    srv->npostponed = srv->postponed_cap = 0;
    for (size_t i = 0; i < n; i++)
        list[i]->busy++;
    for (size_t i = 0; i < n; i++) {
        dice_client_t *c = list[i];
        dice__argv *v = c->postponed;
        c->postponed = NULL;
        c->flags &= ~CLIENT_POSTPONED;
        if (v && !(c->flags & CLIENT_CLOSED))
            dice__client_call(c, v->argc, v->argv, v->argvlen);
        free(v);
        const unsigned waiting = CLIENT_HELD | CLIENT_BLOCKED | CLIENT_PAUSED |
                                 CLIENT_POSTPONED | CLIENT_CLOSED |
                                 CLIENT_CLOSE_AFTER_REPLY;
        if (!(c->flags & waiting) && c->qlen > 0)
            client_process_input(c);
    }
    for (size_t i = 0; i < n; i++) {
        dice_client_t *c = list[i];
        c->busy--;
        if (c->flags & CLIENT_CLOSED)
            dice__client_free_now(c);
    }
    free(list);
}

/* Before the loop sleeps: write every client's batched replies, one write
 * per client in the common case. */
void dice__server_process_events_nested(dice_server_t *srv) {
    /* The running command's client may be parsing from the shared read
     * buffer with the shared parser: others read into a buffer and parser
     * of their own meanwhile. */
    char *rbuf = srv->rbuf;
    dice_req_parser_t *parser = srv->parser;
    dice_client_t *parsing = srv->parsing;
    srv->rbuf = malloc(srv->rbuf_cap);
    srv->parser = parser_new(srv);
    srv->parsing = NULL;
    if (srv->rbuf && srv->parser)
        dice__loop_poll_nested(srv->loop);
    free(srv->rbuf);
    dice_req_parser_free(srv->parser);
    srv->rbuf = rbuf;
    srv->parser = parser;
    srv->parsing = parsing;
    for (size_t i = 0; i < srv->npending; i++) {
        dice_client_t *c = srv->pending[i];
        c->flags &= ~CLIENT_PENDING_WRITE;
        if (!(c->flags & CLIENT_CLOSED))
            client_flush(c);
        if (c->flags & CLIENT_CLOSED)
            dice__client_free_now(c); /* frees only if nothing holds it */
    }
    srv->npending = 0;
    if (srv->cmem_on && srv->cmem_total >= srv->cmem_limit)
        dice__clients_evict(srv);
}

static void flush_hook(dice_loop_t *loop, void *arg) {
    (void)loop;
    dice_server_t *srv = arg;
    /* Clients served or timed out in this iteration run the commands they
     * had pipelined behind the blocking one; keys written outside any
     * command (the host's own writes) serve their waiters now. */
    if (srv->blk)
        dice__blocking_serve(srv, true);
    if (srv->pause_release)
        pause_release(srv);
    if (srv->trk)
        dice__tracking_before_sleep(srv);
    /* The iteration's writes go to the append-only file before replies
     * do (Redis's beforeSleep -> flushAppendOnlyFile). */
    if (srv->aof.len)
        dice__aof_flush(srv, false);
    /* A flush can resume a paused client, which may queue new replies and
     * append to srv->pending: index, do not cache the count. */
    for (size_t i = 0; i < srv->npending; i++) {
        dice_client_t *c = srv->pending[i];
        c->flags &= ~CLIENT_PENDING_WRITE;
        if (!(c->flags & CLIENT_CLOSED)) {
            /* Resuming runs commands, which may close c (CLIENT KILL from
             * a client they release): keep it alive until we are done. */
            c->busy++;
            client_flush(c);
            client_maybe_resume(c);
            c->busy--;
        }
        if (c->flags & CLIENT_CLOSED)
            dice__client_free_now(c); /* frees only if nothing holds it */
    }
    srv->npending = 0;
    if (srv->cmem_on && srv->cmem_total >= srv->cmem_limit)
        dice__clients_evict(srv);
}

/* ---- Input -------------------------------------------------------------- */

static void client_protocol_error(dice_client_t *c, dice_req_parser_t *p) {
    const char *msg = dice_req_parser_error(p);
    dice__reply_errorf(c, "ERR %s", msg);
    dice__logf(c->srv, DICE_LOG_VERBOSE,
               "Protocol error (%s) from client: "
               "id=%llu addr=%s",
               msg, (unsigned long long)c->id, c->addr);
    dice_client_close_after_reply(c);
    /* The parser may be the shared one: leave no state for the next. */
    dice_req_parser_reset(p);
}

/* Redis's -MISCONF: while the last BGSAVE failed and save points are set
 * (stop-writes-on-bgsave-error), write commands and PING are refused (a
 * queued one aborts its transaction). */
static bool misconf_refuse(dice_client_t *c, const dice_command_t *cmd) {
    if (!cmd ||
        (!(cmd->flags & DICE_CMD_WRITE) && strcmp(cmd->fullname, "ping") != 0))
        return false;
    static const char msg[] =
        "MISCONF Redis is configured to save RDB snapshots, but it's "
        "currently unable to persist to disk. Commands that may modify the "
        "data set are disabled, because this instance is configured to "
        "report errors during writes if RDB snapshotting fails "
        "(stop-writes-on-bgsave-error option). Please check the Redis logs "
        "for details about the RDB error.";
    if (c->flags & CLIENT_MULTI)
        c->flags |= CLIENT_DIRTY_EXEC;
    if (dice__rdb_denies(c->srv))
        dice_reply_error(c, msg, sizeof(msg) - 1);
    else /* the append-only file's write failed (lib/server/aof.c) */
        dice__reply_errorf(c, "MISCONF Errors writing to the AOF file: %s",
                           strerror(c->srv->aof.last_write_errno));
    return true;
}

/* The refusals that depend on the server's state, in Redis's order
 * (processCommand); dispatch calls it only while one of them is in force
 * (srv->refuse). Returns true after replying. */
static __attribute__((noinline)) bool refused(dice_client_t *c,
                                              dice_command_t *cmd) {
    dice_server_t *srv = c->srv;
    /* Clients served while the dataset loads at start: only what may run
     * meanwhile runs (Redis's processCommand, CMD_LOADING). */
    if ((srv->refuse & DICE__REFUSE_LOADING) &&
        !(cmd->flags & DICE_CMD_LOADING)) {
        static const char msg[] =
            "LOADING Redis is loading the dataset in memory";
        if (c->flags & CLIENT_MULTI)
            c->flags |= CLIENT_DIRTY_EXEC;
        dice_reply_error(c, msg, sizeof(msg) - 1);
        cmd->rejected_calls++;
        dice__intro_errors_seen(srv);
        return true;
    }
    /* A script has run past busy-reply-threshold: only what may run
     * meanwhile runs (Redis's processCommand, CMD_ALLOW_BUSY). */
    if ((srv->refuse & DICE__REFUSE_BUSY) && !(c->flags & CLIENT_SCRIPT) &&
        !(cmd->flags & DICE_CMD_ALLOW_BUSY)) {
        dice_reply_error(c, srv->busy_err, strlen(srv->busy_err));
        cmd->rejected_calls++;
        dice__intro_errors_seen(srv);
        return true;
    }
    /* stop-writes-on-bgsave-error after a failed BGSAVE. */
    return (srv->refuse & DICE__REFUSE_MISCONF) && misconf_refuse(c, cmd);
}

/* Run cmd's handler for c on the command clock; returns its ticks. */
static inline __attribute__((always_inline)) uint64_t
timed_call(dice_server_t *srv, dice_client_t *c, dice_command_t *cmd, int argc,
           const char *const *argv, const size_t *argvlen) {
    c->busy++;
    srv->call_depth++;
    uint64_t t0 = dice__ticks();
    cmd->fn(c, argc, argv, argvlen, cmd->arg);
    uint64_t dt = dice__ticks() - t0;
    srv->call_depth--;
    c->busy--;
    return dt;
}

/* The same, inside a propagation frame (some sink listens). */
static __attribute__((noinline)) uint64_t
propagating_call(dice_client_t *c, dice_command_t *cmd, int argc,
                 const char *const *argv, const size_t *argvlen) {
    dice__prop_frame frame;
    dice__propagate_begin(c, &frame);
    uint64_t dt = timed_call(c->srv, c, cmd, argc, argv, argvlen);
    dice__propagate_end(c, &frame, argc, argv, argvlen);
    return dt;
}

/* The handler's part of a call, once the command is resolved and may run:
 * the refusals that depend on the server's state (a busy script, a failed
 * BGSAVE), the keyspace's clock, propagation, the handler, the
 * introspection counters, then the blocked clients its writes made ready. */
static __attribute__((always_inline)) inline void
call_cmd(dice_client_t *c, dice_command_t *cmd, int argc,
         const char *const *argv, const size_t *argvlen) {
    dice_server_t *srv = c->srv;
    /* A busy script, a failed BGSAVE: one word (refused, above). */
    if (__builtin_expect(srv->refuse != 0, 0) && refused(c, cmd))
        return;
    /* maxmemory: evict, or refuse a denyoom command (lib/server/evict.c);
     * without a limit, one flag. */
    if (__builtin_expect(srv->oom_check, 0) && dice__evict_refuse(c, cmd)) {
        cmd->rejected_calls++;
        dice__intro_errors_seen(srv);
        return;
    }
    /* The keyspace judges expiry by the loop's cached clock, so every
     * command, built-in or the host's, sees one time per loop iteration. */
    if (srv->keyspace)
        dice_keyspace_set_now(srv->keyspace, dice_loop_unix_ms(srv->loop));
    /* Effects are tracked only while some sink listens: without one the
     * dispatcher's whole cost of propagation is this test (the frame lives
     * out of line, so nothing of it stays live across the handler). */
    uint64_t dt = __builtin_expect(srv->prop.nsinks != 0, 0)
                      ? propagating_call(c, cmd, argc, argv, argvlen)
                      : timed_call(srv, c, cmd, argc, argv, argvlen);
    /* INFO commandstats / latencystats, SLOWLOG, LATENCY, MONITOR: the
     * common path is two adds, a histogram bucket (resolution gave the
     * command one, or the sink: no test) and one compare; slow_ticks is 0
     * while a monitor listens or an error reply is not yet accounted, so
     * that compare covers every rare case (lib/server/stats.c). */
    cmd->calls++; /* total_commands_processed is their sum */
    cmd->ticks += dt;
    cmd->hist[dice__hist_index(dt)]++;
    if (__builtin_expect(dt >= srv->intro.slow_ticks, 0))
        dice__intro_after(c, cmd, dt, argc, argv, argvlen);
    /* Keys that blocked clients wait on were written: serve them now,
     * after the outermost command (a whole transaction or script), so the
     * next command sees what they took, as in Redis. (The propagation
     * frame is no guide: it is open only while a sink listens.) */
    if (srv->blk_ready && srv->call_depth == 0)
        dice__blocking_serve(srv, false);
}

/* Whether CLIENT PAUSE holds cmd back (Redis's processCommand: ALL holds
 * every command, WRITE those that write or may replicate, and an EXEC
 * whose queue holds one). Sessions cannot wait. */
static bool pause_holds(const dice_client_t *c, const dice_command_t *cmd) {
    int type = c->srv->pause_type;
    if (type == DICE__PAUSE_OFF ||
        (c->flags & (CLIENT_SESSION | CLIENT_IN_EXEC)))
        return false;
    if (type == DICE__PAUSE_ALL)
        return true;
    const unsigned w = DICE_CMD_WRITE | DICE_CMD_MAY_REPLICATE;
    if ((cmd->flags & w) ||
        ((cmd->flags & DICE__CMD_EXEC) && (dice__multi_flags(c) & w)))
        return true;
    /* PUBLISH and SPUBLISH are held too (they reach replicas), though
     * COMMAND INFO shows no may_replicate for them. */
    return (cmd->flags & DICE_CMD_PUBSUB) &&
           (strcmp(cmd->fullname, "publish") == 0 ||
            strcmp(cmd->fullname, "spublish") == 0);
}

/* Hold c's command until the pause ends (a copy of argv: the input it
 * points into is reused, and an inline command was parsed in place). */
static void postpone(dice_client_t *c, int argc, const char *const *argv,
                     const size_t *argvlen) {
    dice_server_t *srv = c->srv;
    dice__argv *v = dice__argv_new(c->db, argc, argv, argvlen);
    if (!v || (srv->npostponed == srv->postponed_cap &&
               !grow_array((void **)&srv->postponed, &srv->postponed_cap,
                           sizeof(*srv->postponed)))) {
        free(v);
        dice__reply_errorf(c, "ERR out of memory");
        return;
    }
    c->postponed = v;
    c->flags |= CLIENT_POSTPONED;
    srv->postponed[srv->npostponed++] = c;
}

/* Redis's resetClient for the per-command modes: CLIENT CACHING lasts
 * one command (or transaction; CLIENT sub-commands keep it), CLIENT REPLY
 * SKIP drops the replies of the next command only. */
static void reset_modes(dice_client_t *c, const dice_command_t *cmd) {
    if (!(c->flags & CLIENT_MULTI) &&
        !(cmd && cmd->parent && strcmp(cmd->parent->fullname, "client") == 0))
        c->flags &= ~CLIENT_TRACKING_CACHING;
    c->flags &= ~CLIENT_REPLY_SKIP;
    if (c->flags & CLIENT_REPLY_SKIP_NEXT)
        c->flags = (c->flags & ~CLIENT_REPLY_SKIP_NEXT) | CLIENT_REPLY_SKIP;
}

/* Between MULTI and EXEC: a refused command aborts the transaction
 * (Redis's flagTransaction), a no-multi one is refused, the others are
 * queued for EXEC and answered +QUEUED. Returns false for the commands
 * to run now: those of DICE__CMD_TXN_NOW (EXEC, DISCARD, MULTI, WATCH,
 * QUIT, RESET), and the ones EXEC runs (CLIENT_IN_EXEC). */
static bool multi_intercept(dice_client_t *c, dice_command_t *cmd, int argc,
                            const char *const *argv, const size_t *argvlen) {
    if (c->flags & CLIENT_IN_EXEC) {
        /* Run by EXEC: CLIENT LIST still shows cmd=exec, as Redis. */
        return cmd == NULL;
    }
    if (!cmd) {
        c->flags |= CLIENT_DIRTY_EXEC;
        return true;
    }
    c->last_cmd = cmd->fullname; /* queued commands too, as Redis */
    if (cmd->flags & DICE__CMD_TXN_NOW)
        return false;
    if (__builtin_expect(c->srv->rdb.write_denied, 0) &&
        misconf_refuse(c, cmd)) {
        cmd->rejected_calls++;
    } else if (__builtin_expect(c->srv->oom_check, 0) &&
               dice__evict_perform(c->srv) == DICE__EVICT_FAIL) {
        /* Queuing takes memory too: over the limit every queued command
         * is refused, and the transaction aborted (Redis's
         * processCommand). */
        c->flags |= CLIENT_DIRTY_EXEC;
        dice_reply_error(c, DICE__OOM_TEXT, sizeof(DICE__OOM_TEXT) - 1);
        cmd->rejected_calls++;
    } else if (cmd->flags & DICE_CMD_NO_MULTI) {
        c->flags |= CLIENT_DIRTY_EXEC;
        dice_reply_error(c, "ERR Command not allowed inside a transaction", 44);
        cmd->rejected_calls++;
    } else if (dice__multi_queue(c, cmd->flags, argc, argv, argvlen) == 0) {
        dice_reply_simple(c, "QUEUED", 6);
    } else {
        dice__reply_errorf(c, "ERR out of memory");
    }
    /* A refusal is not the next command's failure (INFO commandstats). */
    dice__intro_errors_seen(c->srv);
    return true;
}

/* The out-of-line path of dispatch, for a client in one of the modes of
 * CLIENT_SLOW_CALL: a pause, MULTI (or EXEC running its queue), tracking,
 * CLIENT REPLY SKIP. The common path pays the one flag test. */
static __attribute__((noinline)) void slow_call(dice_client_t *c, int argc,
                                                const char *const *argv,
                                                const size_t *argvlen) {
    dice_server_t *srv = c->srv;
    bool top = !(c->flags & CLIENT_IN_EXEC);
    /* CLIENT REPLY SKIP ran by the common path, which resets nothing: its
     * skip starts now, before a rejection could be replied. */
    if (top && (c->flags & CLIENT_REPLY_SKIP_NEXT))
        c->flags = (c->flags & ~CLIENT_REPLY_SKIP_NEXT) | CLIENT_REPLY_SKIP;
    dice_command_t *cmd = dice__command_resolve(c, argc, argv, argvlen);
    if (cmd && (c->flags & CLIENT_PAUSE_CHECK) && pause_holds(c, cmd)) {
        c->last_cmd = cmd->fullname;
        postpone(c, argc, argv, argvlen);
        return; /* not processed yet: the modes stay */
    }
    if (c->flags & (CLIENT_MULTI | CLIENT_IN_EXEC)) {
        if (multi_intercept(c, cmd, argc, argv, argvlen))
            goto done;
    } else {
        if (!cmd)
            goto done;
        c->last_cmd = cmd->fullname;
    }
    if (c->flags & CLIENT_TRACKING) {
        dice_client_t *prev = srv->current;
        srv->current = c;
        call_cmd(c, cmd, argc, argv, argvlen);
        srv->current = prev;
        if ((c->flags & (CLIENT_TRACKING | CLIENT_TRACKING_BCAST)) ==
                CLIENT_TRACKING &&
            (cmd->flags & DICE_CMD_READONLY))
            dice__tracking_remember(c, cmd, argc, argv, argvlen);
        if (srv->call_depth == 0) {
            dice__tracking_pending(srv);
            dice__tracking_limit(srv);
        }
    } else {
        call_cmd(c, cmd, argc, argv, argvlen);
    }
done:
    if (top)
        reset_modes(c, cmd);
}

/* Sessions call it from session.c; the network path, just below, gets it
 * inlined, as it was when it was static: a call per pipelined command is
 * measurable (callgrind, docs/benchmarks.md). */
__attribute__((always_inline)) inline void
dice__client_call(dice_client_t *c, int argc, const char *const *argv,
                  const size_t *argvlen) {
    if (__builtin_expect((c->flags & CLIENT_SLOW_CALL) != 0, 0)) {
        slow_call(c, argc, argv, argvlen);
        return;
    }
    dice_command_t *cmd = dice__command_resolve(c, argc, argv, argvlen);
    if (!cmd)
        return;
    c->last_cmd = cmd->fullname;
    call_cmd(c, cmd, argc, argv, argvlen);
}

/* Whether c's class of client-output-buffer-limit has a limit at all
 * (normal clients have none by default). */
static inline bool obuf_has_limit(const dice_client_t *c) {
    const dice__obuf_limit *l =
        &c->srv->cfg.obuf[(c->flags & CLIENT_PUBSUB) ? DICE__OBUF_PUBSUB
                                                     : DICE__OBUF_NORMAL];
    return (l->hard | l->soft) != 0;
}

static void backlog_run(dice_loop_t *loop, uint64_t id, void *arg);

/* Queue c to run the rest of its input in the next iteration. Out of
 * memory, it simply runs on (a batch is fairness, not correctness). */
static void backlog_add(dice_client_t *c) {
    dice_server_t *srv = c->srv;
    if (c->backlog)
        return;
    if (srv->nbacklog == srv->backlog_cap &&
        !grow_array((void **)&srv->backlog, &srv->backlog_cap,
                    sizeof(*srv->backlog)))
        return;
    if (!srv->backlog_timer &&
        dice_loop_timer_add(srv->loop, 0, 0, backlog_run, srv,
                            &srv->backlog_timer) < 0)
        return;
    srv->backlog[srv->nbacklog++] = c;
    c->backlog = true;
}

/* Run the next batch of each backlogged client. A client that is waiting
 * for something else now (blocked, paused, held) leaves the backlog: what
 * ends its wait runs its input. One whose input is all run takes input
 * from its connection again; a TLS connection is asked again for what
 * OpenSSL may hold, which its socket will not announce. */
static void backlog_run(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)loop;
    (void)id;
    dice_server_t *srv = arg;
    srv->backlog_timer = 0;
    dice_client_t **list = srv->backlog;
    size_t n = srv->nbacklog;
    srv->backlog = NULL;
    srv->nbacklog = srv->backlog_cap = 0;
    for (size_t i = 0; i < n; i++) {
        list[i]->backlog = false;
        list[i]->busy++;
    }
    const unsigned waiting = CLIENT_HELD | CLIENT_BLOCKED | CLIENT_PAUSED |
                             CLIENT_POSTPONED | CLIENT_CLOSED |
                             CLIENT_CLOSE_AFTER_REPLY;
    for (size_t i = 0; i < n; i++) {
        dice_client_t *c = list[i];
        if (!(c->flags & waiting) && c->qlen > 0)
            client_process_input(c);
        if (!c->backlog && !(c->flags & waiting) &&
            !(c->conn.flags & DICE__CONN_FD_IO) && c->conn.fd >= 0)
            dice__conn_set_mask(&c->conn, c->conn.mask);
    }
    for (size_t i = 0; i < n; i++) {
        dice_client_t *c = list[i];
        c->busy--;
        if (c->flags & CLIENT_CLOSED)
            dice__client_free_now(c);
    }
    free(list);
}

/* Run the commands in buf[0..len); returns how many bytes were consumed.
 * Stops early when the client is paused, held, closing or closed, or has
 * run its batch for this iteration (the rest is then backlogged). */
static size_t client_run(dice_client_t *c, dice_req_parser_t *p, char *buf,
                         size_t len) {
    size_t pos = 0;
    const unsigned stop = CLIENT_PAUSED | CLIENT_HELD | CLIENT_BLOCKED |
                          CLIENT_POSTPONED | CLIENT_CLOSE_AFTER_REPLY |
                          CLIENT_CLOSED;
    uint64_t t0 = dice__ticks();
    size_t check_at = DICE__INPUT_SLICE_EVERY;
    while (pos < len && !(c->flags & stop)) {
        long r = dice_req_parse(p, buf + pos, len - pos);
        if (r == DICE_EAGAIN) {
            pos += dice_req_parser_skipped(p);
            break;
        }
        if (r == DICE_ENOMEM) {
            dice_req_parser_reset(p);
            client_close_socket(c);
            return len;
        }
        if (r < 0) {
            client_protocol_error(c, p);
            return len;
        }
        pos += (size_t)r;
        dice__client_call(c, dice_req_argc(p), dice_req_argv(p),
                          dice_req_argvlen(p));
        /* One compare in the common case: output below both the pause
         * limit and the 16 KB that client-output-buffer-limit ignores (see
         * dice__client_obuf_check). */
        size_t pending = dice__client_output_pending(c);
        if (__builtin_expect(pending > c->srv->out_check, 0)) {
            if (pending > REPLY_BUF && obuf_has_limit(c) &&
                dice__client_obuf_check(c))
                break;
            if (pending > (size_t)c->srv->cfg.output_pause &&
                !(c->flags & CLIENT_CLOSED)) {
                /* A client that sends faster than it reads: stop taking
                 * its input until the socket drains our output. */
                c->flags |= CLIENT_PAUSED;
                dice__conn_set_mask(&c->conn, (c->flags & CLIENT_WANT_WRITE)
                                                  ? DICE_WRITABLE
                                                  : 0);
            }
        }
        /* Its batch (64 KB, or its time slice) is used up: the rest waits
         * for the next iteration, so that one client's pipeline does not
         * keep the others waiting. */
        if (__builtin_expect(pos >= check_at, 0) && pos < len &&
            !(c->flags & stop)) {
            if (pos >= INPUT_BATCH ||
                dice__ticks() - t0 > c->srv->intro.slice_ticks) {
                backlog_add(c);
                break;
            }
            check_at = pos + DICE__INPUT_SLICE_EVERY;
        }
    }
    return pos;
}

/* Bytes of c's private input that count against client-query-buffer-limit:
 * as in Redis, what has not been parsed yet (arguments of a partial command
 * already parsed are Redis's argv, not its query buffer). */
static size_t qbuf_unparsed(const dice_client_t *c) {
    return c->qlen - (c->parser ? dice__req_parser_parsed(c->parser) : 0);
}

/* Make sure the private input buffer can hold need bytes, of which the
 * first `parsed` are already parsed. Room for more than one byte past the
 * query buffer limit is never reserved: the read that passes the limit
 * closes the client, so a length a client announces is not taken on
 * trust, and a client is refused for bytes it sent, not ones it promised.
 * Returns false when out of memory. */
static bool qbuf_reserve(dice_client_t *c, size_t need, size_t parsed) {
    unsigned long long most =
        parsed + (unsigned long long)c->srv->cfg.query_buf_limit + 1;
    if (need > most)
        need = (size_t)most;
    if (need <= c->qlen) /* the limit was lowered: let a read find out */
        need = c->qlen + 1;
    if (need <= c->qcap)
        return true;
    /* Double for steady growth, but take a big announced size exactly:
     * a 512 MB bulk should not reserve 1 GB. */
    size_t nc = c->qcap ? c->qcap * 2 : 1024;
    if (nc < need)
        nc = need;
    char *nb = realloc(c->qbuf, nc);
    if (!nb)
        return false;
    c->qbuf = nb;
    c->qcap = nc;
    dice__client_peak_note(c);
    return true;
}

/* Keep buf[0..n) (n > 0: input not run yet, in the shared buffer or in
 * c's own) as c's private input, in a buffer of exactly that size: a
 * client trickling a command holds what it sent, not a read's worth of
 * room. Out of memory, returns false with c's input unchanged. */
static bool qbuf_keep(dice_client_t *c, const char *buf, size_t n) {
    if (c->qbuf && buf >= c->qbuf && buf < c->qbuf + c->qcap) {
        /* The tail of its own buffer: to the front, then shrink. */
        memmove(c->qbuf, buf, n);
        c->qlen = n;
        char *nb = realloc(c->qbuf, n);
        if (nb) {
            c->qbuf = nb;
            c->qcap = n;
        }
        return true;
    }
    if (n != c->qcap) {
        char *nb = realloc(c->qbuf, n);
        if (!nb)
            return false;
        c->qbuf = nb;
        c->qcap = n;
    }
    memcpy(c->qbuf, buf, n);
    c->qlen = n;
    dice__client_peak_note(c);
    return true;
}

/* Back to owning no input state: nothing is pending any more. */
static void qbuf_drop(dice_client_t *c) {
    free(c->qbuf);
    c->qbuf = NULL;
    c->qlen = c->qcap = 0;
    dice_req_parser_free(c->parser);
    c->parser = NULL;
}

/* A read took c's unparsed input past client-query-buffer-limit. As Redis
 * (which frees the client after that loop iteration's writes), close with
 * no reply of our own, but let replies to commands that already ran go
 * out first, as far as the socket takes them now. */
static void client_close_query_limit(dice_client_t *c, size_t unparsed) {
    dice__logf(c->srv, DICE_LOG_WARNING,
               "Closing client that reached max query buffer length: "
               "id=%llu addr=%s qbuf=%zu",
               (unsigned long long)c->id, c->addr, unparsed);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY; /* run nothing more */
    client_flush(c);
    dice__client_free_now(c);
}

/* Process what is queued in the private buffer (after a resume or
 * release), keeping what could not be run yet. */
static void client_process_input(dice_client_t *c) {
    c->busy++; /* keep c alive across handlers */
    size_t used = client_run(c, c->parser, c->qbuf, c->qlen);
    c->busy--;
    if (c->flags & CLIENT_CLOSED) {
        dice__client_free_now(c); /* frees only if nothing holds it */
        return;
    }
    if (used >= c->qlen) {
        qbuf_drop(c);
    } else if (used > 0) {
        size_t rest = c->qlen - used;
        if (rest <= PENDING_SHARED && c->qcap > 2 * rest + READ_CHUNK) {
            /* What stays is small (the tail after a big argument, say):
             * give the rest of the buffer back instead of keeping it for
             * a client that may now pause for a long time. */
            qbuf_keep(c, c->qbuf + used, rest);
        } else {
            memmove(c->qbuf, c->qbuf + used, rest);
            c->qlen = rest;
        }
    }
}

/* A parser configured with the server's current request limits. */
static dice_req_parser_t *parser_new(dice_server_t *srv) {
    dice_req_parser_t *p;
    if (dice_req_parser_new(&p) < 0)
        return NULL;
    dice__server_apply_limits(srv, p);
    return p;
}

void dice__server_apply_limits(dice_server_t *srv, dice_req_parser_t *p) {
    dice_req_parser_set_limit(p, DICE_REQ_LIMIT_BULK,
                              srv->cfg.proto_max_bulk_len);
    dice_req_parser_set_limit(p, DICE_REQ_LIMIT_INLINE, srv->cfg.inline_max);
    /* The multibulk count keeps the parser's default, Redis's INT_MAX. */
}

/* Redis holds unauthenticated clients to smaller request limits. Applied
 * to whichever parser is reading this client's input right now. */
void dice__client_sync_auth(dice_client_t *c) {
    int unauth = !c->authenticated && dice__acl_auth_required(c->srv);
    if (c->parser)
        dice_req_parser_set_unauthenticated(c->parser, unauth);
    if (c->srv->parsing == c)
        dice_req_parser_set_unauthenticated(c->srv->parser, unauth);
}

/* read() for c, counted; at end of stream or on an error other than
 * "try again" the client is freed. Returns the bytes read, or <= 0 when
 * there is nothing to process. */
static ssize_t read_input(dice_client_t *c, char *buf, size_t cap) {
    ssize_t n = dice__conn_read(&c->conn, buf, cap);
    c->srv->stats.reads_processed++;
    if (n <= 0) {
        if (!(n < 0 &&
              (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)))
            dice__client_free_now(c);
        return n < 0 ? 0 : n;
    }
    c->srv->stats.net_input_bytes += (uint64_t)n;
    c->last_ms = dice_loop_now_ms(c->srv->loop);
    return n;
}

/* Whether c's next read may go to the shared buffer behind a copy of its
 * pending input (Redis 7's shared query buffer): only when that input is
 * one partial command (the client runs its input whenever it is not
 * stopped, so what waits is the unfinished tail) that is small, and the
 * command's next bulk fits in the shared buffer. A big bulk on its way
 * is read straight into room reserved for it; input that waits for a
 * held or blocked client piles up in its own buffer. */
static bool pending_in_shared(const dice_client_t *c) {
    const unsigned stop = CLIENT_HELD | CLIENT_BLOCKED | CLIENT_POSTPONED |
                          CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSED;
    return !(c->flags & stop) && c->qlen <= PENDING_SHARED && c->parser &&
           dice_req_parser_want(c->parser) <= c->srv->rbuf_cap;
}

/* A read for a client with a small partial command: its bytes are put at
 * the start of the shared buffer, the read lands after them, and its own
 * parser goes on where it stopped (its progress is offsets, and the bytes
 * keep theirs). What is left over is kept at its exact size. The copy is
 * of at most PENDING_SHARED bytes, and the shared buffer's limit on one
 * read (far below client-query-buffer-limit's 1 MB minimum) bounds what a
 * read adds, so no query-buffer check is needed here. */
static void client_read_pending(dice_client_t *c) {
    dice_server_t *srv = c->srv;
    size_t pre = c->qlen;
    memcpy(srv->rbuf, c->qbuf, pre);
    ssize_t n = read_input(c, srv->rbuf + pre, srv->rbuf_cap - pre);
    if (n <= 0)
        return;
    size_t len = pre + (size_t)n;
    c->busy++;
    size_t used = client_run(c, c->parser, srv->rbuf, len);
    c->busy--;
    if (c->flags & CLIENT_CLOSED) {
        dice__client_free_now(c); /* frees only if nothing holds it */
        return;
    }
    if (used >= len)
        qbuf_drop(c);
    else if (!qbuf_keep(c, srv->rbuf + used, len - used))
        dice__client_free_now(c);
}

static void client_read(dice_client_t *c) {
    dice_server_t *srv = c->srv;
    if (c->qbuf && pending_in_shared(c)) {
        client_read_pending(c);
        return;
    }
    if (c->qbuf) {
        /* Input waits (a held or blocked client), or a big argument is on
         * its way: read after it, into room sized by what the parser says
         * the command needs (a big bulk gets its whole size at once
         * instead of doubling its way there). */
        if (!c->parser && !(c->parser = parser_new(srv))) {
            dice__client_free_now(c);
            return;
        }
        dice__client_sync_auth(c);
        size_t want = dice_req_parser_want(c->parser);
        size_t need = c->qlen + READ_CHUNK;
        if (want > need)
            need = want;
        if (!qbuf_reserve(c, need, dice__req_parser_parsed(c->parser))) {
            dice__client_free_now(c);
            return;
        }
        ssize_t n = read_input(c, c->qbuf + c->qlen, c->qcap - c->qlen);
        if (n <= 0)
            return;
        c->qlen += (size_t)n;
        size_t unparsed = qbuf_unparsed(c);
        if ((unsigned long long)unparsed >
            (unsigned long long)srv->cfg.query_buf_limit) {
            client_close_query_limit(c, unparsed);
            return;
        }
        client_process_input(c);
        return;
    }

    /* The common case: whole commands arrive, are parsed from the shared
     * buffer by the shared parser, and the client keeps no input state. */
    ssize_t n = read_input(c, srv->rbuf, srv->rbuf_cap);
    if (n <= 0)
        return;
    srv->parsing = c;
    dice__client_sync_auth(c);
    c->busy++;
    size_t used = client_run(c, srv->parser, srv->rbuf, (size_t)n);
    c->busy--;
    srv->parsing = NULL;
    if (c->flags & CLIENT_CLOSED) {
        dice_req_parser_reset(srv->parser);
        dice__client_free_now(c); /* frees only if nothing holds it */
        return;
    }
    if (used < (size_t)n) {
        /* Keep the rest (a partial command, or commands held back by a
         * pause or a hold) in the client's own buffer, with its own parser:
         * the shared buffer is overwritten by the next read from anyone.
         * A partial command is parsed again by the new parser right away
         * (a re-scan of at most one read's worth of headers), so that it
         * knows how much of its input the query buffer limit counts and
         * goes on from there at the next read. */
        size_t rest = (size_t)n - used;
        size_t parsed = dice__req_parser_parsed(srv->parser);
        dice_req_parser_reset(srv->parser);
        if (!(c->parser = parser_new(srv))) {
            dice__client_free_now(c);
            return;
        }
        dice__client_sync_auth(c);
        if (!qbuf_keep(c, srv->rbuf + used, rest)) {
            dice__client_free_now(c);
            return;
        }
        /* Same bytes and limits: it stops where the shared parser did.
         * (A multibulk header is not rewritten in place, unlike an
         * inline line, so parsing it twice is safe.) */
        if (parsed > 0 &&
            dice_req_parse(c->parser, c->qbuf, c->qlen) != DICE_EAGAIN)
            dice_req_parser_reset(c->parser);
    }
}

/* One callback per fd: drain output first (that may lift a pause), then
 * read. An error or hang-up shows up as a failed read or write. */
static void client_event(dice_loop_t *loop, int fd, int events, void *arg) {
    (void)loop;
    (void)fd;
    dice_client_t *c = arg;
    if (events & DICE_WRITABLE) {
        c->busy++;
        client_flush(c);
        client_maybe_resume(c);
        c->busy--;
        if (c->flags & CLIENT_CLOSED) {
            dice__client_free_now(c); /* frees only if nothing holds it */
            return;
        }
    }
    if ((c->flags & CLIENT_PAUSED) || c->backlog)
        return; /* not reading by choice; the output side sees errors */
    if (!(events & (DICE_READABLE | DICE_ERROR)))
        return;
    dice_server_t *srv = c->srv;
    if (__builtin_expect(!srv->cmem_on, 1)) {
        client_read(c);
        return;
    }
    /* maxmemory-clients: count what the read left c holding (its query
     * buffer, the replies it queued); the eviction runs before the loop
     * sleeps, after the replies went out (flush_hook). */
    c->busy++;
    client_read(c);
    c->busy--;
    if (c->flags & CLIENT_CLOSED)
        dice__client_free_now(c);
    else
        dice__client_mem_update(c);
}

/* ---- Client API --------------------------------------------------------- */

uint64_t dice_client_id(const dice_client_t *c) {
    return c->id;
}
dice_server_t *dice_client_server(dice_client_t *c) {
    return c->srv;
}
int dice_client_proto(const dice_client_t *c) {
    return c->proto;
}
int dice_client_db(const dice_client_t *c) {
    return c->db;
}
void dice_client_set_userdata(dice_client_t *c, void *data) {
    c->userdata = data;
}
void *dice_client_userdata(const dice_client_t *c) {
    return c->userdata;
}
int dice_client_is_closed(const dice_client_t *c) {
    return (c->flags & CLIENT_CLOSED) != 0;
}

void dice_client_close_after_reply(dice_client_t *c) {
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
    /* Make sure a flush happens even if nothing else is queued (and even
     * under CLIENT REPLY OFF). */
    if (!(c->flags & CLIENT_CLOSED)) {
        unsigned was = c->flags & CLIENT_PUSHING;
        c->flags |= CLIENT_PUSHING;
        reply_prepare(c);
        c->flags = (c->flags & ~CLIENT_PUSHING) | was;
    }
}

void dice_client_hold(dice_client_t *c) {
    c->holds++;
    c->flags |= CLIENT_HELD;
}

void dice_client_release(dice_client_t *c) {
    if (c->holds <= 0)
        return;
    if (--c->holds > 0)
        return;
    c->flags &= ~CLIENT_HELD;
    if (c->flags & CLIENT_CLOSED) {
        dice__client_free_now(c); /* frees only if nothing holds it */
        return;
    }
    /* Commands that arrived while held wait in qbuf; a release from inside
     * the handler that held (an immediate answer) needs no resume. */
    if (!c->busy && c->qlen > 0)
        client_process_input(c);
}

void dice__client_resume_input(dice_client_t *c) {
    const unsigned waiting = CLIENT_HELD | CLIENT_BLOCKED | CLIENT_PAUSED |
                             CLIENT_POSTPONED | CLIENT_CLOSED |
                             CLIENT_CLOSE_AFTER_REPLY;
    if (!c->busy && !(c->flags & waiting) && c->qlen > 0)
        client_process_input(c);
}

/* ---- Periodic work ------------------------------------------------------ */

/* Give large pooled output buffers back once the traffic that used them
 * has stopped for a tick. */
static void pool_trim(dice_server_t *srv) {
    if (srv->pool_takes == 0) {
        size_t keep = 0;
        for (size_t i = 0; i < srv->npool; i++) {
            if (srv->pool[i].cap > POOL_SMALL_CAP) {
                srv->pool_bytes -= srv->pool[i].cap;
                dice__buf_release(&srv->pool[i]);
            } else {
                srv->pool[keep++] = srv->pool[i];
            }
        }
        srv->npool = keep;
    }
    srv->pool_takes = 0;
}

static void server_cron(dice_loop_t *loop, uint64_t id, void *arg) {
    (void)id;
    dice_server_t *srv = arg;
    pool_trim(srv);
    dice__intro_cron(srv);
    dice__client_peak_cron(srv);
    /* As Redis's serverCron: the table may be over a lowered limit even
     * with nobody reading. */
    if (srv->trk)
        dice__tracking_limit(srv);
    if (srv->cfg.timeout > 0) {
        uint64_t now = dice_loop_now_ms(loop);
        uint64_t limit = (uint64_t)srv->cfg.timeout * 1000;
        dice_client_t *c = srv->clients;
        while (c) {
            dice_client_t *next = c->next;
            /* Held and blocked clients wait for us, not the reverse. */
            if (!(c->flags & (CLIENT_CLOSED | CLIENT_HELD | CLIENT_BLOCKED |
                              CLIENT_POSTPONED)) &&
                now - c->last_ms > limit) {
                dice__logf(srv, DICE_LOG_VERBOSE, "Closing idle client");
                dice__client_free_now(c);
            }
            c = next;
        }
    }
}
