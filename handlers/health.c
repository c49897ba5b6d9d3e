/* Liveness and readiness: /health answers without I/O, /ready asks PostgreSQL (and Redis when
 * configured) right now, /health/database reports the pools. */
#include <string.h>

#include "handlers/handlers.h"
#include "pipeline/req.h"
#include "pipeline/server.h"

#define HEALTH_REDIS_TIMEOUT_MS 2000

static const db_stmt_t stmt_ping = {"health_ping", "SELECT 1", 0, DB_STMT_READONLY};

static void health(req_t *r)
{
    json_out_t o = json_out_pool(&r->h2o->pool, 96);
    json_out_obj_begin(&o);
    json_out_key(&o, "status");
    json_out_str(&o, "ok");
    json_out_key(&o, "service");
    json_out_str(&o, "hellosales");
    json_out_key(&o, "version");
    json_out_str(&o, r->thread->app->version);
    json_out_obj_end(&o);
    req_respond_json(r, 200, json_out_iov(&o));
}

/* /ready waits for both checks; whichever finishes last answers. */
typedef struct ready {
    req_t *r;
    int pending;
    const char *database, *redis; /* "ok", "unavailable", "timeout"; redis NULL if not configured */
    redis_cmd_t *cmd;
} ready_t;

static void write_checks(json_out_t *o, void *arg)
{
    ready_t *s = arg;
    json_out_key(o, "checks");
    json_out_obj_begin(o);
    json_out_key(o, "database");
    json_out_str(o, s->database);
    if (s->redis != NULL) {
        json_out_key(o, "redis");
        json_out_str(o, s->redis);
    }
    json_out_obj_end(o);
}

static void ready_finish(ready_t *s)
{
    if (--s->pending > 0)
        return;
    req_t *r = s->r;
    int ok = strcmp(s->database, "ok") == 0 && (s->redis == NULL || strcmp(s->redis, "ok") == 0);
    if (!ok) {
        req_add_header(r, "retry-after", "1");
        req_respond_error_with(r, 503, "unavailable", "A dependency is not answering", write_checks, s);
        return;
    }
    json_out_t o = json_out_pool(&r->h2o->pool, 96);
    json_out_obj_begin(&o);
    json_out_key(&o, "status");
    json_out_str(&o, "ok");
    write_checks(&o, s);
    json_out_obj_end(&o);
    req_respond_json(r, 200, json_out_iov(&o));
}

static void on_ping(req_t *r, const db_result_t *res)
{
    ready_t *s = r->state;
    s->database = res->status == DB_OK ? "ok" : res->status == DB_ERR_TIMEOUT ? "timeout" : "unavailable";
    ready_finish(s);
}

static void on_redis_pong(void *arg, const redisReply *reply)
{
    ready_t *s = arg;
    s->cmd = NULL;
    s->redis = reply != NULL && reply->type == REDIS_REPLY_STATUS ? "ok" : "unavailable";
    ready_finish(s);
}

static void ready_gone(req_t *r, void *arg)
{
    ready_t *s = arg;
    if (s->cmd != NULL)
        redis_cmd_cancel(s->cmd);
}

static void ready(req_t *r)
{
    ready_t *s = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*s));
    *s = (ready_t){.r = r, .pending = 1, .database = "unavailable"};
    r->state = s;
    r->on_gone = ready_gone; /* the Redis command, if any, must not outlive the request */
    r->on_gone_arg = s;
    redis_client_t *redis = r->thread->redis;
    if (redis != NULL) {
        static const char *argv[] = {"PING"};
        s->pending++;
        s->redis = "unavailable";
        s->cmd = redis_client_command(redis, HEALTH_REDIS_TIMEOUT_MS, on_redis_pong, s, 1, argv, NULL);
    }
    req_query(r, &stmt_ping, NULL, 0, on_ping);
}

static void database(req_t *r)
{
    db_pool_stats_t st;
    server_db_stats(r->thread->app, &st);
    json_out_t o = json_out_pool(&r->h2o->pool, 160);
    json_out_obj_begin(&o);
    json_out_key(&o, "status");
    json_out_str(&o, st.idle + st.busy > 0 ? "ok" : "unavailable");
    json_out_key(&o, "pool");
    json_out_obj_begin(&o);
    json_out_key(&o, "size");
    json_out_int(&o, st.size);
    json_out_key(&o, "idle");
    json_out_int(&o, st.idle);
    json_out_key(&o, "busy");
    json_out_int(&o, st.busy);
    json_out_key(&o, "waiting");
    json_out_int(&o, st.waiting);
    json_out_key(&o, "errors");
    json_out_int(&o, (long long)st.errors);
    json_out_obj_end(&o);
    json_out_obj_end(&o);
    req_respond_json(r, 200, json_out_iov(&o));
}

static const app_route_t health_routes[] = {
    {"GET", "", health, 0, APP_AUTH_NONE},
    {"GET", "/database", database, 0, APP_AUTH_NONE},
};
static const app_route_t ready_routes[] = {
    {"GET", "", ready, 0, APP_AUTH_NONE},
};

static const app_module_t health_module = {"health", health_routes, sizeof(health_routes) / sizeof(health_routes[0])};
static const app_module_t ready_module = {"ready", ready_routes, 1};

/* Two modules: health (no I/O, and the pool's figures below it) and ready (the dependencies). */
void health_register(app_t *app)
{
    app_add_module(app, &health_module);
    app_add_module(app, &ready_module);
    app_add_stmt(app, &stmt_ping);
}
