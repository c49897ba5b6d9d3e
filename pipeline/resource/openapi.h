/* The OpenAPI 3 document of every registered route and of the paths h2o.conf serves with H2O's
 * own handlers, generated once at start-up. */
#ifndef pipeline_resource_openapi_h
#define pipeline_resource_openapi_h

#include <stddef.h>

#include "pipeline/app.h"

/* The document as JSON text (malloc'd, NUL-terminated; *len its length), or NULL. Call after
 * every module has registered and, for the plain paths, once app->config is loaded. */
char *openapi_generate(const app_t *app, size_t *len);

#endif
