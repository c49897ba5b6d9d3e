/* GET /metrics (the module h2o.conf names `metrics`): the Prometheus text exposition of every
 * thread's counters and the pools' gauges, summed now, by pipeline/metrics.c. No token (h2o.conf
 * maps it with app.auth: none); operators restrict the path. */
#include <stdlib.h>

#include "handlers/handlers.h"
#include "pipeline/metrics.h"
#include "pipeline/req.h"
#include "pipeline/server.h"

static void scrape(req_t *r)
{
    const app_t *app = r->thread->app;
    const metrics_thread_t **threads = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*threads) * (app->nthreads + 1));
    for (unsigned i = 0; i < app->nthreads; i++)
        threads[i] = app->threads[i].metrics;
    db_pool_stats_t db;
    server_db_stats(app, &db);
    size_t len = 0;
    char *text = metrics_render(app->metrics, threads, app->nthreads, &db, &len);
    if (text == NULL) {
        req_respond_error(r, 500, "internal", "Internal server error");
        return;
    }
    h2o_iovec_t body = h2o_strdup(&r->h2o->pool, text, len);
    free(text);
    req_respond_body(r, 200, "text/plain; version=0.0.4; charset=utf-8", body);
}

static const app_route_t prometheus_routes[] = {
    {"GET", "", scrape, ROUTE_TEXT, APP_AUTH_NONE},
};

static const app_module_t prometheus_module = {"metrics", prometheus_routes, sizeof(prometheus_routes) / sizeof(prometheus_routes[0])};

void prometheus_register(app_t *app)
{
    app_add_module(app, &prometheus_module);
}
