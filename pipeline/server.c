/* Runs the configured listeners on num-threads event loops. Sockets are created and bound in the
 * main thread (so a busy port fails start-up with a clear message), one SO_REUSEPORT socket per
 * thread and listener, which lets the kernel balance connections across threads. */
#include "pipeline/server.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/log.h"

#define SERVER_DRAIN_TICK_MS 20
#define SERVER_RUNS_GRACE_MS 2000 /* after cancelling work at the shutdown deadline */
#define SERVER_STATS_TICK_MS 200
#define SERVER_IDLE_GRACE_MS 1000 /* how long an HTTP/1.1 connection may sit idle during shutdown */

typedef struct server {
    app_t *app;
    server_thread_t *threads;
    unsigned nthreads;
    int *fds; /* [thread][listener] */
    uv_signal_t signals[3];
} server_t;

h2o_timeout_t *server_timeout_for(server_thread_t *t, uint64_t ms)
{
    for (size_t i = 0; i < t->ntimeouts; i++)
        if (t->timeouts[i].ms == ms)
            return &t->timeouts[i].timeout;
    if (t->ntimeouts == SERVER_MAX_TIMEOUTS)
        return NULL;
    t->timeouts[t->ntimeouts].ms = ms;
    h2o_timeout_init(t->ctx.loop, &t->timeouts[t->ntimeouts].timeout, ms);
    return &t->timeouts[t->ntimeouts++].timeout;
}

static void publish_db_stats(uv_timer_t *timer)
{
    server_thread_t *t = timer->data;
    for (int i = 0; i < 2; i++) {
        db_pool_stats_t st = {0};
        if (t->db[i] != NULL)
            db_pool_stats(t->db[i], &st);
        atomic_store_explicit(&t->db_stats[i].size, st.size, memory_order_relaxed);
        atomic_store_explicit(&t->db_stats[i].idle, st.idle, memory_order_relaxed);
        atomic_store_explicit(&t->db_stats[i].busy, st.busy, memory_order_relaxed);
        atomic_store_explicit(&t->db_stats[i].waiting, st.waiting, memory_order_relaxed);
        atomic_store_explicit(&t->db_stats[i].errors, st.errors, memory_order_relaxed);
    }
}

void server_db_stats(const app_t *app, db_pool_stats_t *out)
{
    *out = (db_pool_stats_t){0};
    for (unsigned i = 0; i < app->nthreads; i++) {
        for (int p = 0; p < 2; p++) {
            server_thread_t *t = &app->threads[i];
            out->size += atomic_load_explicit(&t->db_stats[p].size, memory_order_relaxed);
            out->idle += atomic_load_explicit(&t->db_stats[p].idle, memory_order_relaxed);
            out->busy += atomic_load_explicit(&t->db_stats[p].busy, memory_order_relaxed);
            out->waiting += atomic_load_explicit(&t->db_stats[p].waiting, memory_order_relaxed);
            out->errors += atomic_load_explicit(&t->db_stats[p].errors, memory_order_relaxed);
        }
    }
}

/* ---- listening sockets ------------------------------------------------------------------- */

static int open_listener(const config_listener_t *l)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai;
    char port[8];
    snprintf(port, sizeof(port), "%u", l->port);
    int err = getaddrinfo(l->host ? l->host : "0.0.0.0", port, &hints, &ai);
    if (err != 0) {
        log_error("listen: bad host", LOG_S("host", l->host), LOG_S("error", gai_strerror(err)));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd, 1024) != 0) {
        log_error("listen failed", LOG_S("host", l->host ? l->host : "0.0.0.0"), LOG_I("port", l->port),
                  LOG_S("error", strerror(errno)));
        if (fd >= 0)
            close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void on_conn_closed(uv_handle_t *h)
{
    ((server_thread_t *)h->loop->data)->connections--;
    free(h);
}

static void on_connection(uv_stream_t *listener, int status)
{
    server_thread_t *t = listener->loop->data;
    if (status != 0 || t->stopping)
        return;
    uv_tcp_t *conn = malloc(sizeof(*conn));
    if (conn == NULL)
        return;
    uv_tcp_init(listener->loop, conn);
    t->connections++;
    if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
        uv_close((uv_handle_t *)conn, on_conn_closed);
        return;
    }
    uv_tcp_nodelay(conn, 1);
    size_t idx = (size_t)((uv_tcp_t *)listener - t->listeners);
    h2o_socket_t *sock = h2o_uv_socket_create((uv_stream_t *)conn, on_conn_closed);
    h2o_accept(&t->accept_ctx[idx], sock);
}

/* ---- per-thread lifecycle ---------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
}

static void on_client_closed(void *arg)
{
    server_thread_t *t = arg;
    if (--t->pending_closes == 0) {
        uv_close((uv_handle_t *)&t->stop_async, on_handle_closed);
        uv_stop(&t->loop);
    }
}

static void finish_thread(server_thread_t *t)
{
    uv_timer_stop(&t->drain_timer);
    uv_close((uv_handle_t *)&t->drain_timer, on_handle_closed);
    uv_timer_stop(&t->stats_timer);
    uv_close((uv_handle_t *)&t->stats_timer, on_handle_closed);
    t->pending_closes = 1; /* held until every close below has been started */
    for (int i = 0; i < 2; i++) {
        if (t->db[i] != NULL) {
            t->pending_closes++;
            db_pool_close(t->db[i], on_client_closed, t);
            t->db[i] = NULL;
        }
    }
    if (t->redis != NULL) {
        t->pending_closes++;
        redis_client_close(t->redis, on_client_closed, t);
        t->redis = NULL;
    }
    principal_thread_free(t->principals); /* before the httpc it fetches keys with */
    t->principals = NULL;
    t->pending_closes++;
    httpc_close(t->httpc, on_client_closed, t);
    t->httpc = NULL;
    on_client_closed(t);
}

static void cancel_work(server_thread_t *t)
{
    h2o_linklist_t *node = t->work.next;
    while (node != &t->work) {
        h2o_linklist_t *next = node->next; /* cancelling may end the work */
        server_work_t *w = H2O_STRUCT_FROM_MEMBER(server_work_t, link, node);
        w->cancel(w);
        node = next;
    }
}

static void on_drain_tick(uv_timer_t *timer)
{
    server_thread_t *t = timer->data;
    h2o_timeout_run(&t->loop, &t->ctx.http1.req_timeout, uv_now(&t->loop));
    /* Connections rather than requests: H2O 2.2 hands an HTTP/1.1 request to a handler only once
     * its body has arrived, so an upload in progress is visible only as an open connection. */
    int drained = t->connections == 0 && t->inflight == 0 && h2o_linklist_is_empty(&t->work);
    if (!drained && uv_now(&t->loop) >= t->drain_deadline && !t->work_cancelled && !h2o_linklist_is_empty(&t->work)) {
        /* work whose client left (an AI run) still holds the database and the providers: stop it
         * and give it a moment to record itself before those close */
        cancel_work(t);
        t->work_cancelled = 1;
        t->drain_deadline = uv_now(&t->loop) + SERVER_RUNS_GRACE_MS;
        return;
    }
    if (drained || uv_now(&t->loop) >= t->drain_deadline) {
        if (!drained)
            log_warn("shutdown deadline reached with connections open", LOG_I("thread", t->index),
                     LOG_I("connections", t->connections), LOG_I("requests", t->inflight));
        finish_thread(t);
    }
}

/* Stop accepting, ask H2O to wind connections down (GOAWAY on HTTP/2), close idle HTTP/1.1
 * connections, then wait for the open ones to finish, up to shutdown-timeout. */
static void on_stop(uv_async_t *async)
{
    server_thread_t *t = async->data;
    if (t->stopping)
        return;
    t->stopping = 1;
    for (size_t i = 0; i < t->nlisteners; i++)
        uv_close((uv_handle_t *)&t->listeners[i], on_handle_closed);
    h2o_context_request_shutdown(&t->ctx);
    /* HTTP/1.1 has no GOAWAY: shorten H2O's idle/read timeout so keep-alive connections waiting
     * for a next request close soon. An upload that keeps sending re-arms it on every read, and a
     * request being handled is not on this list at all. The drain tick runs the list. */
    if (t->ctx.http1.req_timeout.timeout > SERVER_IDLE_GRACE_MS)
        t->ctx.http1.req_timeout.timeout = SERVER_IDLE_GRACE_MS;
    t->drain_deadline = uv_now(&t->loop) + t->app->config->shutdown_timeout_ms;
    uv_timer_start(&t->drain_timer, on_drain_tick, 0, SERVER_DRAIN_TICK_MS);
}

static db_pool_t *new_pool(server_thread_t *t, const char *name, unsigned connections)
{
    const config_db_t *db = &t->app->config->db;
    db_pool_config_t pc = {.conninfo = t->app->database_url,
                           .connections = connections,
                           .max_inflight = db->max_inflight,
                           .max_queue = db->max_queue,
                           .query_timeout_ms = 30000,
                           .connect_timeout_ms = db->connect_timeout_ms,
                           .application_name = name};
    return db_pool_new(&t->loop, &pc, t->app->stmts);
}

static void *thread_main(void *arg)
{
    server_thread_t *t = arg;
    config_t *conf = t->app->config;

    h2o_context_init(&t->ctx, &t->loop, &conf->globalconf);
    for (size_t i = 0; i < t->nlisteners; i++) {
        t->accept_ctx[i] = (h2o_accept_ctx_t){.ctx = &t->ctx, .hosts = conf->globalconf.hosts,
                                              .ssl_ctx = conf->listeners[i].ssl_ctx};
        uv_listen((uv_stream_t *)&t->listeners[i], 1024, on_connection);
    }
    t->db[APP_POOL_FAST] = new_pool(t, "hellosales", conf->db.connections);
    t->db[APP_POOL_SLOW] = new_pool(t, "hellosales-slow", conf->db.slow_connections);
    if (t->app->redis_url != NULL)
        t->redis = redis_client_new(&t->loop, t->app->redis_url);
    t->httpc = httpc_new(&t->loop);
    t->principals = principal_thread_new(&t->loop, t->app->principals, t->httpc);
    h2o_linklist_init_anchor(&t->work);
    publish_db_stats(&t->stats_timer);
    uv_timer_start(&t->stats_timer, publish_db_stats, SERVER_STATS_TICK_MS, SERVER_STATS_TICK_MS);

    uv_run(&t->loop, UV_RUN_DEFAULT);

    /* Connections still open after the deadline keep their handles; the process exits anyway. */
    if (t->connections == 0) {
        for (size_t i = 0; i < t->ntimeouts; i++)
            h2o_timeout_dispose(&t->loop, &t->timeouts[i].timeout);
        /* request_shutdown armed this; with no HTTP/2 connection left it has nothing to do */
        if (h2o_timeout_is_linked(&t->ctx.http2._graceful_shutdown_timeout))
            h2o_timeout_unlink(&t->ctx.http2._graceful_shutdown_timeout);
        h2o_context_dispose(&t->ctx);
        /* One pass runs the close callbacks. Handler-owned timers (the proxy's connection pool)
         * stay active until the configuration is disposed, so the loop is not run to empty. */
        uv_run(&t->loop, UV_RUN_NOWAIT);
    }
    return NULL;
}

/* ---- process ----------------------------------------------------------------------------- */

static void on_signal(uv_signal_t *sig, int signum)
{
    server_t *s = sig->data;
    if (signum == SIGHUP) {
        log_warn("SIGHUP ignored: configuration reload is not supported; start a new instance on the same ports "
                 "(SO_REUSEPORT) and send SIGTERM to this one");
        return;
    }
    log_info("shutting down", LOG_S("signal", strsignal(signum)));
    for (unsigned i = 0; i < s->nthreads; i++)
        uv_async_send(&s->threads[i].stop_async);
    for (int i = 0; i < 3; i++)
        uv_close((uv_handle_t *)&s->signals[i], NULL);
}

static int bind_all(server_t *s)
{
    config_t *conf = s->app->config;
    s->fds = malloc(sizeof(int) * s->nthreads * conf->num_listeners);
    for (unsigned t = 0; t < s->nthreads; t++) {
        for (size_t l = 0; l < conf->num_listeners; l++) {
            int fd = open_listener(&conf->listeners[l]);
            if (fd < 0) {
                for (size_t j = 0; j < t * conf->num_listeners + l; j++)
                    close(s->fds[j]);
                return -1;
            }
            s->fds[t * conf->num_listeners + l] = fd;
        }
    }
    return 0;
}

static void init_thread(server_t *s, unsigned idx)
{
    server_thread_t *t = &s->threads[idx];
    config_t *conf = s->app->config;
    t->app = s->app;
    t->index = idx;
    t->metrics = metrics_thread_new(s->app->metrics);
    uv_loop_init(&t->loop);
    t->loop.data = t;
    uv_async_init(&t->loop, &t->stop_async, on_stop);
    t->stop_async.data = t;
    uv_timer_init(&t->loop, &t->drain_timer);
    t->drain_timer.data = t;
    uv_timer_init(&t->loop, &t->stats_timer);
    t->stats_timer.data = t;
    t->nlisteners = conf->num_listeners;
    for (size_t l = 0; l < conf->num_listeners; l++) {
        uv_tcp_init(&t->loop, &t->listeners[l]);
        uv_tcp_open(&t->listeners[l], s->fds[idx * conf->num_listeners + l]);
    }
}

int server_run(app_t *app)
{
    server_t s = {.app = app, .nthreads = app->config->num_threads};
    signal(SIGPIPE, SIG_IGN);
    if (bind_all(&s) != 0) {
        config_dispose(app->config);
        return 1;
    }

    s.threads = calloc(s.nthreads, sizeof(*s.threads));
    for (unsigned i = 0; i < s.nthreads; i++)
        init_thread(&s, i);
    app->threads = s.threads;
    app->nthreads = s.nthreads;

    uv_loop_t *main_loop = uv_default_loop();
    int signums[3] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(main_loop, &s.signals[i]);
        s.signals[i].data = &s;
        uv_signal_start(&s.signals[i], on_signal, signums[i]);
    }
    for (unsigned i = 0; i < s.nthreads; i++)
        pthread_create(&s.threads[i].tid, NULL, thread_main, &s.threads[i]);

    for (size_t l = 0; l < app->config->num_listeners; l++) {
        const config_listener_t *li = &app->config->listeners[l];
        log_info("listening", LOG_S("host", li->host ? li->host : "0.0.0.0"), LOG_I("port", li->port),
                 LOG_S("protocols", li->ssl_ctx ? "h2,http/1.1 over TLS" : "http/1.1,h2c"));
    }
    log_info("serving", LOG_I("threads", s.nthreads), LOG_S("version", app->version));

    uv_run(main_loop, UV_RUN_DEFAULT);
    for (unsigned i = 0; i < s.nthreads; i++)
        pthread_join(s.threads[i].tid, NULL);
    uv_loop_close(main_loop);
    config_dispose(app->config);
    for (unsigned i = 0; i < s.nthreads; i++) {
        uv_run(&s.threads[i].loop, UV_RUN_NOWAIT); /* close callbacks of handler-owned handles */
        uv_loop_close(&s.threads[i].loop);
        metrics_thread_free(s.threads[i].metrics);
    }
    app->threads = NULL;
    app->nthreads = 0;
    free(s.threads);
    free(s.fds);
    log_info("stopped");
    return 0;
}
