/* Threads and listeners: one libuv loop, one h2o context and one set of connections (database,
 * Redis) per thread; SO_REUSEPORT sockets spread connections across threads; graceful stop. */
#ifndef pipeline_server_h
#define pipeline_server_h

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#define H2O_USE_LIBUV 1
#include <h2o.h>

#include "base/httpc.h"
#include "db/db.h"
#include "db/redis.h"
#include "pipeline/app.h"
#include "pipeline/config.h"
#include "pipeline/metrics.h"
#include "pipeline/principal.h"

#define SERVER_MAX_TIMEOUTS 16

struct server_thread {
    h2o_context_t ctx; /* first: H2O hands handlers &ctx, which converts back to the thread */
    uv_loop_t loop;
    app_t *app;
    unsigned index;
    pthread_t tid;
    uv_tcp_t listeners[CONFIG_MAX_LISTENERS];
    h2o_accept_ctx_t accept_ctx[CONFIG_MAX_LISTENERS];
    size_t nlisteners;
    uv_async_t stop_async;
    uv_timer_t drain_timer;
    uint64_t drain_deadline;
    int stopping;
    db_pool_t *db[2];        /* by app_pool_t: fast, slow */
    redis_client_t *redis;   /* NULL without REDIS_URL */
    httpc_t *httpc;          /* outgoing HTTP (JWKS, providers) */
    principal_thread_t *principals;
    unsigned pending_closes; /* pools and clients still closing at shutdown */
    uv_timer_t stats_timer;
    /* Pool statistics copied here periodically so that any thread may read them. */
    struct {
        atomic_uint size, idle, busy, waiting;
        atomic_ullong errors;
    } db_stats[2];
    metrics_thread_t *metrics; /* this thread's counters, summed by GET /metrics */
    uint64_t request_seq;
    uint64_t inflight;       /* app requests not yet disposed */
    h2o_linklist_t work;     /* server_work_t alive on this thread */
    int work_cancelled;      /* shutdown's deadline passed and the work was told to stop */
    uint64_t connections;    /* accepted and not yet closed */
    /* One H2O timeout list per distinct app.timeout value (H2O's lists have a fixed duration). */
    struct {
        uint64_t ms;
        h2o_timeout_t timeout;
    } timeouts[SERVER_MAX_TIMEOUTS];
    size_t ntimeouts;
};

/* Work that outlives the request that started it (an AI run whose client left, say): shutdown
 * waits for it like for a request, and at its deadline calls cancel, which must end the work
 * soon (it may still write its record) and call server_work_done. */
typedef struct server_work {
    h2o_linklist_t link;
    void (*cancel)(struct server_work *w);
} server_work_t;

static inline void server_work_add(server_thread_t *t, server_work_t *w)
{
    h2o_linklist_insert(&t->work, &w->link);
}

static inline void server_work_done(server_work_t *w)
{
    h2o_linklist_unlink(&w->link);
}

static inline server_thread_t *server_thread_of(h2o_req_t *req)
{
    return (server_thread_t *)req->conn->ctx;
}

/* The thread's timeout list for `ms`, created on first use (NULL when all slots are taken). */
h2o_timeout_t *server_timeout_for(server_thread_t *t, uint64_t ms);

/* Sums the published pool statistics of every thread. */
void server_db_stats(const app_t *app, db_pool_stats_t *out);

/* Binds the listeners, starts the threads and blocks until SIGTERM/SIGINT has drained them.
 * Takes ownership of app->config and disposes it (H2O's handlers must be disposed while the
 * threads' loops still exist). Returns the process exit status. */
int server_run(app_t *app);

#endif
