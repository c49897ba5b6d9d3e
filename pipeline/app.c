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

static app_mount_t *mount_new(app_t *app, const void *host, h2o_iovec_t path, const app_module_t *module)
{
    size_t n = path.len > 0 && path.base[path.len - 1] == '/' ? path.len - 1 : path.len;
    app_mount_t *m = calloc(1, sizeof(*m));
    app_mount_t **grown = realloc(app->mounts, sizeof(*grown) * (app->nmounts + 1));
    if (m == NULL || grown == NULL || (m->path = strndup(path.base, n)) == NULL)
        abort(); /* start-up: out of memory */
    app->mounts = grown;
    app->mounts[app->nmounts++] = m;
    m->base = m->path;
    m->module = module;
    m->host = host;
    return m;
}

void app_handler_install(app_t *app, const void *host, h2o_pathconf_t *pathconf, const app_path_conf_t *conf)
{
    app_handler_t *h = (void *)h2o_create_handler(pathconf, sizeof(*h));
    h->super.on_req = on_req;
    h->conf = *conf;
    app_mount_t *m = mount_new(app, host, pathconf->path, conf->module);
    m->cors = conf->cors;
    h->conf.mount = m;
}

/* Whether outer is a path segment prefix of inner: "/a" of "/a/b", "" of everything. */
static int encloses(const char *outer, const char *inner)
{
    size_t n = strlen(outer);
    return strlen(inner) > n && strncmp(outer, inner, n) == 0 && inner[n] == '/';
}

void app_mounts_resolve(app_t *app)
{
    for (size_t i = 0; i < app->nmounts; i++) {
        app_mount_t *m = app->mounts[i];
        if (m->labels != NULL) /* resolved by an earlier load (tests load several) */
            continue;
        for (size_t k = 0; k < app->nmounts; k++) {
            const app_mount_t *o = app->mounts[k];
            if (o->module == m->module && o->host == m->host && encloses(o->path, m->path) &&
                strlen(o->path) < strlen(m->base))
                m->base = o->path;
        }
        m->base_len = strlen(m->base);
        m->nroutes = m->module->nroutes;
        if ((m->labels = calloc(m->nroutes + 1, sizeof(*m->labels))) == NULL)
            abort();
        for (size_t r = 0; r < m->nroutes; r++) {
            const char *pattern = m->module->routes[r].pattern;
            size_t len = strlen(m->base) + strlen(pattern) + 2;
            if ((m->labels[r] = malloc(len)) == NULL)
                abort();
            snprintf(m->labels[r], len, "%s%s", m->base, pattern);
            if (m->labels[r][0] == '\0') /* the root mount's root */
                snprintf(m->labels[r], len, "/");
        }
    }
}

const char *app_route_label(const app_path_conf_t *conf, const app_route_t *route)
{
    if (route == NULL || conf->mount == NULL || conf->mount->labels == NULL)
        return NULL;
    return conf->mount->labels[route - conf->module->routes];
}

const app_mount_t *app_mount_of(const app_t *app, const char *module)
{
    for (size_t i = 0; i < app->nmounts; i++)
        if (strcmp(app->mounts[i]->module->name, module) == 0)
            return app->mounts[i];
    return NULL;
}

void app_free(app_t *app)
{
    for (size_t i = 0; i < app->nmounts; i++) {
        app_mount_t *m = app->mounts[i];
        for (size_t k = 0; m->labels != NULL && k < m->nroutes; k++)
            free(m->labels[k]);
        free(m->labels);
        free(m->path);
        free(m);
    }
    free(app->mounts);
    app->mounts = NULL;
    app->nmounts = 0;
    free(app->modules);
    app->modules = NULL;
    app->nmodules = 0;
}
