/* The module registry and the H2O handler that feeds app paths into the request pipeline. */
#include "pipeline/app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/req.h"
#include "pipeline/server.h"

typedef struct app_handler {
    h2o_handler_t super;
    app_path_conf_t conf;
} app_handler_t;

void app_add_module(app_t *app, const app_module_t *module)
{
    const app_module_t **grown = realloc(app->modules, sizeof(*grown) * (app->nmodules + 1));
    if (grown == NULL)
        abort();
    app->modules = grown;
    app->modules[app->nmodules++] = module;
}

const app_module_t *app_find_module(const app_t *app, const char *name)
{
    for (size_t i = 0; i < app->nmodules; i++)
        if (strcmp(app->modules[i]->name, name) == 0)
            return app->modules[i];
    return NULL;
}

void app_add_directives(app_t *app, app_directives_t define)
{
    if (app->ndirectives == APP_MAX_DIRECTIVES) {
        fprintf(stderr, "too many modules with directives of their own\n");
        abort();
    }
    app->directives[app->ndirectives++] = define;
}

void app_add_stmt(app_t *app, const db_stmt_t *stmt)
{
    if (db_stmts_add(app->stmts, stmt) != 0) {
        fprintf(stderr, "statement %s is registered twice or is malformed\n", stmt->name);
        abort();
    }
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    req_start(req, server_thread_of(req), &((app_handler_t *)self)->conf);
    return 0;
}

void app_handler_install(app_t *app, h2o_pathconf_t *pathconf, const app_path_conf_t *conf)
{
    app_handler_t *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->conf = *conf;
}
