/* The catch-all for paths no other module serves: a 404 in the API's error shape, with the
 * request id and security headers every app response carries. */
#include "handlers/handlers.h"
#include "pipeline/req.h"

static const app_module_t fallback_module = {"fallback", NULL, 0};

void fallback_register(app_t *app)
{
    app_add_module(app, &fallback_module);
}
