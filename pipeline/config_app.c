/* The app.* directives of h2o.conf. Values set at global or host level are inherited by paths;
 * a path with app.handler gets the named module's request handler when its block ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/yoml.h"
#include "pipeline/config.h"
#include "pipeline/cors.h"
#include "pipeline/early_error.h"
#include "pipeline/framing.h"
#include <h2o/configurator.h> /* after h2o.h, which it needs */

#define APP_DEFAULT_BODY_LIMIT (1u << 20)
#define APP_DEFAULT_TIMEOUT_MS 30000

struct app_configurator {
    h2o_configurator_t super;
    config_t *conf;
    app_t *app;
    app_path_conf_t *vars; /* the innermost level's settings */
    app_path_conf_t stack[H2O_CONFIGURATOR_NUM_LEVELS + 1];
};

static struct app_configurator *self_of(h2o_configurator_command_t *cmd)
{
    return (struct app_configurator *)cmd->configurator;
}

static int on_level_enter(h2o_configurator_t *_self, h2o_configurator_context_t *ctx, yoml_t *node)
{
    struct app_configurator *self = (void *)_self;
    self->vars[1] = self->vars[0];
    self->vars++;
    self->vars->module = NULL; /* a handler belongs to its own path only */
    return 0;
}

/* Remembers a path without app.handler for the OpenAPI document. */
static void add_plain_path(config_t *conf, h2o_pathconf_t *pathconf, yoml_t *node)
{
    config_plain_path_t *p;
    conf->plain_paths = realloc(conf->plain_paths, sizeof(*p) * (conf->nplain_paths + 1));
    if (conf->plain_paths == NULL)
        abort(); /* start-up: out of memory */
    p = &conf->plain_paths[conf->nplain_paths++];
    *p = (config_plain_path_t){strndup(pathconf->path.base, pathconf->path.len), NULL, yoml_get(node, "file.dir") != NULL};
    yoml_t *file = yoml_get(node, "file.file");
    const char *dot = file != NULL && file->type == YOML_TYPE_SCALAR ? strrchr(file->data.scalar, '.') : NULL;
    if (dot == NULL)
        return;
    h2o_mimemap_type_t *type = h2o_mimemap_get_type_by_extension(pathconf->mimemap, h2o_iovec_init(dot + 1, strlen(dot + 1)));
    if (type != NULL && type->type == H2O_MIMEMAP_TYPE_MIMETYPE)
        p->content_type = strndup(type->data.mimetype.base, type->data.mimetype.len);
}

/* Every path, the host's fallback included, closes HTTP/1.1 connections after an ambiguously
 * framed body (pipeline/framing.c says why); the fallback, where the library sends what it
 * refuses before routing, answers in the API's error shape. */
static int on_level_exit(h2o_configurator_t *_self, h2o_configurator_context_t *ctx, yoml_t *node)
{
    struct app_configurator *self = (void *)_self;
    config_t *conf = self->conf;
    app_path_conf_t *v = self->vars--;
    if (ctx->hostconf == NULL)
        conf->global_app_body_limit = v->body_limit;
    if (ctx->pathconf == NULL || ctx->dry_run)
        return 0;
    framing_install(ctx->pathconf, v->module == NULL, conf->http1_close_after_body);
    if (ctx->pathconf == &ctx->hostconf->fallback_path)
        early_error_install(ctx->pathconf);
    if (v->module == NULL && node != NULL)
        add_plain_path(conf, ctx->pathconf, node);
    if (v->module != NULL) {
        app_handler_install(self->app, ctx->hostconf, ctx->pathconf, v);
        if (conf->max_app_body_limit < v->body_limit) {
            conf->max_app_body_limit = v->body_limit;
            conf->max_app_body_path = ctx->pathconf->path.base;
        }
    }
    return 0;
}

static int on_handler(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    struct app_configurator *self = self_of(cmd);
    const app_module_t *m = app_find_module(self->app, node->data.scalar);
    if (m == NULL) {
        h2o_configurator_errprintf(cmd, node, "unknown handler module `%s`", node->data.scalar);
        return -1;
    }
    self->vars->module = m;
    return 0;
}

static int on_auth(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    ssize_t v = h2o_configurator_get_one_of(cmd, node, "none,optional,required,admin");
    if (v < 0)
        return -1;
    self_of(cmd)->vars->auth = (app_auth_t)v;
    return 0;
}

static int on_body_limit(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    size_t v;
    if (config_parse_size(node->data.scalar, &v) != 0 || v == 0 || v > (1u << 30)) {
        h2o_configurator_errprintf(cmd, node, "must be a size from 1 byte to 1G, such as 64K or 8M");
        return -1;
    }
    self_of(cmd)->vars->body_limit = v;
    return 0;
}

static int on_timeout(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    uint64_t v;
    if (config_parse_duration(node->data.scalar, &v) != 0 || v == 0 || v > 3600000) {
        h2o_configurator_errprintf(cmd, node, "must be a duration up to 1h, such as 30s or 500ms");
        return -1;
    }
    self_of(cmd)->vars->timeout_ms = v;
    return 0;
}

static int on_rate_limit(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    if (config_parse_rate(node->data.scalar, &self_of(cmd)->vars->rate) != 0) {
        h2o_configurator_errprintf(cmd, node, "must be `off` or a rate such as 10/s, 600/min or 5000/h");
        return -1;
    }
    return 0;
}

/* app.cors: off, or {origins: "*" | [origin, ...], credentials: false, max-age: 600}. */
static int on_cors(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    struct app_configurator *self = self_of(cmd);
    if (node->type == YOML_TYPE_SCALAR) {
        if (strcmp(node->data.scalar, "off") != 0) {
            h2o_configurator_errprintf(cmd, node, "must be `off` or a mapping with `origins`");
            return -1;
        }
        self->vars->cors = NULL;
        return 0;
    }
    cors_t *c = cors_new(&self->conf->cors);
    for (size_t i = 0; i < node->data.mapping.size; i++) {
        yoml_t *key = node->data.mapping.elements[i].key, *val = node->data.mapping.elements[i].value;
        const char *k = key->type == YOML_TYPE_SCALAR ? key->data.scalar : "";
        const char *err = NULL;
        if (strcmp(k, "origins") == 0 && val->type == YOML_TYPE_SCALAR) {
            err = cors_add_origin(c, val->data.scalar, strlen(val->data.scalar));
        } else if (strcmp(k, "origins") == 0 && val->type == YOML_TYPE_SEQUENCE) {
            for (size_t j = 0; j < val->data.sequence.size && err == NULL; j++) {
                yoml_t *o = val->data.sequence.elements[j];
                err = o->type == YOML_TYPE_SCALAR ? cors_add_origin(c, o->data.scalar, strlen(o->data.scalar))
                                                  : "an origin must be a string";
            }
        } else if (strcmp(k, "credentials") == 0) {
            ssize_t b = h2o_configurator_get_one_of(cmd, val, "false,true,off,on");
            if (b < 0)
                return -1;
            c->credentials = (int)(b & 1);
        } else if (strcmp(k, "max-age") == 0) {
            unsigned age;
            if (h2o_configurator_scanf(cmd, val, "%u", &age) != 0)
                return -1;
            if (age > CORS_MAX_AGE_MAX)
                err = "max-age is at most 86400 (seconds)";
            c->max_age = age;
        } else {
            err = "keys are origins, credentials and max-age";
        }
        if (err != NULL) {
            h2o_configurator_errprintf(cmd, val, "%s", err);
            return -1;
        }
    }
    const char *err = cors_check(c);
    if (err != NULL) {
        h2o_configurator_errprintf(cmd, node, "%s", err);
        return -1;
    }
    self->vars->cors = c;
    return 0;
}

static int on_close_after_body(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    ssize_t v = h2o_configurator_get_one_of(cmd, node, "off,on");
    if (v < 0)
        return -1;
    self_of(cmd)->conf->http1_close_after_body = (int)v;
    return 0;
}

static int on_pool(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    ssize_t v = h2o_configurator_get_one_of(cmd, node, "fast,slow");
    if (v < 0)
        return -1;
    self_of(cmd)->vars->pool = (app_pool_t)v;
    return 0;
}

/* CORS_ORIGINS: the CORS policy of app paths without app.cors of their own. */
static int cors_from_env(config_t *conf, const cors_t **out)
{
    const char *text = getenv("CORS_ORIGINS");
    *out = NULL;
    if (text == NULL || *text == '\0')
        return 0;
    cors_t *c = cors_new(&conf->cors);
    const char *err = cors_add_origins_text(c, text);
    if (err == NULL)
        err = cors_check(c);
    if (err != NULL) {
        fprintf(stderr, "CORS_ORIGINS: %s\n", err);
        return -1;
    }
    *out = c;
    return 0;
}

int config_app_register(config_t *conf, app_t *app)
{
    struct app_configurator *c = (void *)h2o_configurator_create(&conf->globalconf, sizeof(*c));
    c->conf = conf;
    c->app = app;
    c->super.enter = on_level_enter;
    c->super.exit = on_level_exit;
    c->vars = c->stack;
    /* Secure by default: a path must opt out of authentication explicitly. */
    *c->vars = (app_path_conf_t){.auth = APP_AUTH_REQUIRED,
                                 .body_limit = APP_DEFAULT_BODY_LIMIT,
                                 .timeout_ms = APP_DEFAULT_TIMEOUT_MS,
                                 .pool = APP_POOL_FAST};
    if (cors_from_env(conf, &c->vars->cors) != 0)
        return -1;

    int scalar_anywhere = H2O_CONFIGURATOR_FLAG_GLOBAL | H2O_CONFIGURATOR_FLAG_HOST | H2O_CONFIGURATOR_FLAG_PATH |
                          H2O_CONFIGURATOR_FLAG_EXPECT_SCALAR;
    h2o_configurator_define_command(&c->super, "app.handler", H2O_CONFIGURATOR_FLAG_PATH | H2O_CONFIGURATOR_FLAG_EXPECT_SCALAR,
                                    on_handler);
    h2o_configurator_define_command(&c->super, "app.auth", scalar_anywhere, on_auth);
    h2o_configurator_define_command(&c->super, "app.body-limit", scalar_anywhere, on_body_limit);
    h2o_configurator_define_command(&c->super, "app.timeout", scalar_anywhere, on_timeout);
    h2o_configurator_define_command(&c->super, "app.rate-limit", scalar_anywhere, on_rate_limit);
    h2o_configurator_define_command(&c->super, "app.pool", scalar_anywhere, on_pool);
    h2o_configurator_define_command(&c->super, "app.cors",
                                    H2O_CONFIGURATOR_FLAG_GLOBAL | H2O_CONFIGURATOR_FLAG_HOST | H2O_CONFIGURATOR_FLAG_PATH |
                                        H2O_CONFIGURATOR_FLAG_EXPECT_SCALAR | H2O_CONFIGURATOR_FLAG_EXPECT_MAPPING,
                                    on_cors);
    h2o_configurator_define_command(&c->super, "app.http1-close-after-body",
                                    H2O_CONFIGURATOR_FLAG_GLOBAL | H2O_CONFIGURATOR_FLAG_EXPECT_SCALAR,
                                    on_close_after_body);
    return 0;
}
