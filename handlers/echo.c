/* Echoes a JSON body back, re-serialised. It exists to exercise the guard stage (body limit,
 * content type, JSON parsing) end to end; h2o.conf enables it only where a test maps it. */
#include "handlers/handlers.h"
#include "pipeline/req.h"

static void echo(req_t *r)
{
    json_out_t o = json_out_pool(&r->h2o->pool, r->h2o->entity.len + 16);
    json_out_obj_begin(&o);
    json_out_key(&o, "json");
    json_out_value(&o, r->body);
    json_out_obj_end(&o);
    req_respond_json(r, 200, json_out_iov(&o));
}

static const app_route_t echo_routes[] = {
    {"POST", "", echo, ROUTE_JSON_BODY, APP_AUTH_NONE},
};

static const app_module_t echo_module = {"echo", echo_routes, sizeof(echo_routes) / sizeof(echo_routes[0])};

void echo_register(app_t *app)
{
    app_add_module(app, &echo_module);
}
