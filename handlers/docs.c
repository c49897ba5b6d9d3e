/* GET /openapi.json: the API's OpenAPI document, generated once the configuration is loaded (the
 * /docs page that renders it is a static file served by h2o.conf's file.file). */
#include "handlers/handlers.h"
#include "pipeline/req.h"
#include "pipeline/resource/openapi.h"
#include "pipeline/server.h"

static void openapi(req_t *r)
{
    const app_t *app = r->thread->app;
    req_respond_json(r, 200, h2o_iovec_init(app->openapi, app->openapi_len));
}

static const app_route_t docs_routes[] = {
    {"GET", "", openapi, 0, APP_AUTH_NONE},
};

static const app_module_t docs_module = {"docs", docs_routes, sizeof(docs_routes) / sizeof(docs_routes[0])};

void docs_register(app_t *app)
{
    app_add_module(app, &docs_module);
}
