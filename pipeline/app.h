/* The application: handler modules and their routes, the per-path settings h2o.conf gives them
 * (app.* directives), and the object that owns everything configured at start-up. */
#ifndef pipeline_app_h
#define pipeline_app_h

#include <stddef.h>
#include <stdint.h>

#define H2O_USE_LIBUV 1
#include <h2o.h>

#include "db/db.h"

typedef enum app_auth { APP_AUTH_NONE, APP_AUTH_OPTIONAL, APP_AUTH_REQUIRED, APP_AUTH_ADMIN } app_auth_t;
typedef enum app_pool { APP_POOL_FAST, APP_POOL_SLOW } app_pool_t;
typedef enum app_env { APP_ENV_DEVELOPMENT, APP_ENV_TEST, APP_ENV_PRODUCTION } app_env_t;

typedef struct app_rate {
    uint32_t count; /* 0: no limit */
    uint32_t per_ms;
} app_rate_t;

typedef struct app_module app_module_t;
typedef struct app_mount app_mount_t;
struct cors;

/* What app.* directives say about one path (inherited from host and global level). */
typedef struct app_path_conf {
    const app_module_t *module;
    app_auth_t auth;
    size_t body_limit;
    uint64_t timeout_ms;
    app_rate_t rate;
    app_pool_t pool;
    const struct cors *cors; /* NULL: no CORS headers, preflights are plain OPTIONS requests */
    const app_mount_t *mount; /* where h2o.conf mounts the module (set when the handler is installed) */
} app_path_conf_t;

typedef struct req req_t;
struct req_param;

enum {
    ROUTE_JSON_BODY = 1, /* the body must be a JSON document; it is parsed before the action */
    ROUTE_SSE = 2,       /* answers text/event-stream (for the OpenAPI document) */
    ROUTE_TEXT = 4,      /* answers plain text (for the OpenAPI document) */
    ROUTE_PAGE = 8,      /* a collection: ?limit=, ?cursor=, {"items", "next_cursor"} (for the OpenAPI document) */
    ROUTE_SINCE = 16,    /* a turn list: ROUTE_PAGE plus ?since= and "has_more" (for the OpenAPI document) */
};

typedef struct app_route {
    const char *method;
    const char *pattern; /* relative to where the module is mounted: "/{id}" ("" is the mount itself);
                          * `{name}` matches one non-empty path segment */
    void (*action)(req_t *r);
    unsigned flags;      /* ROUTE_* */
    app_auth_t auth;     /* may only tighten the path's app.auth (APP_AUTH_NONE: as the path says) */
    const void *data;    /* what a generic action serves (e.g. the resource_t of a CRUD route) */
} app_route_t;

struct app_module {
    const char *name;
    const app_route_t *routes;
    size_t nroutes;
};

/* A module mounted at a path of h2o.conf. A module may be mounted at several paths; a mount below
 * another of the same module on the same host refines that one (a body limit, a rate limit or
 * an auth level for part of the module) rather than moving the module: its routes stay relative
 * to the outer mount, its base. */
struct app_mount {
    char *path; /* the path without a trailing '/' ("" for "/") */
    const char *base; /* what the routes are relative to: path, or the outer mount's */
    size_t base_len;
    const app_module_t *module;
    const void *host; /* the hostconf */
    const struct cors *cors; /* the path's CORS policy (its preflights are documented) */
    size_t nroutes;
    char **labels; /* per route: base + pattern, the route's name in metrics, logs and OpenAPI */
};

typedef struct config config_t;
typedef struct ratelimit ratelimit_t;
typedef struct server_thread server_thread_t;
typedef struct principal_config principal_config_t;
typedef struct resource_registry resource_registry_t;
typedef struct metrics metrics_t;
struct llm_chain;
struct run_settings;

/* A module's own h2o.conf directives: defines its configurator on the configuration being loaded
 * (config_load calls it before reading the file). */
struct app;
typedef void (*app_directives_t)(h2o_globalconf_t *conf, struct app *app);
#define APP_MAX_DIRECTIVES 16

typedef struct app {
    app_env_t env;
    const char *version;
    const char *database_url; /* from the environment; never logged */
    const char *redis_url;    /* NULL: in-process stand-ins */
    const app_module_t **modules;
    size_t nmodules;
    db_stmts_t *stmts;
    config_t *config;
    ratelimit_t *ratelimit;
    principal_config_t *principals; /* how bearer tokens are verified */
    resource_registry_t *resources;  /* what the resource layer generated */
    const struct llm_chain *llm;      /* the chat providers, in the order runs try them */
    const struct run_settings *run_settings;
    char *openapi;                    /* the OpenAPI document, built once the modules are registered */
    metrics_t *metrics;               /* the metrics' label sets, built before serving */
    size_t openapi_len;
    char instance_id[13]; /* random per process: prefixes generated request ids */
    server_thread_t *threads; /* set while serving */
    unsigned nthreads;
    app_directives_t directives[APP_MAX_DIRECTIVES];
    size_t ndirectives;
    app_mount_t **mounts; /* in h2o.conf's order (H2O sorts paths longest first) */
    size_t nmounts;
} app_t;

/* Called by handler modules' register functions at start-up. */
void app_add_module(app_t *app, const app_module_t *module);
const app_module_t *app_find_module(const app_t *app, const char *name);
/* Registers a module's directives (at most APP_MAX_DIRECTIVES modules have some). */
void app_add_directives(app_t *app, app_directives_t define);
/* Registers a statement every pool connection prepares; a duplicate name aborts start-up. */
void app_add_stmt(app_t *app, const db_stmt_t *stmt);

typedef enum app_match {
    APP_MATCH_FOUND,
    APP_MATCH_NO_PATH,   /* 404 */
    APP_MATCH_NO_METHOD, /* 405: the path exists for other methods, listed in `allow` */
} app_match_t;

/* Finds the module's route for method and path, filling params (at most max) for `{name}`
 * segments. On APP_MATCH_NO_METHOD, `allow` receives "GET, POST"-style text (NUL-terminated). */
app_match_t app_route_match(const app_module_t *m, h2o_iovec_t method, h2o_iovec_t path, const app_route_t **route,
                            struct req_param *params, size_t max, size_t *nparams, char *allow, size_t allowlen);

/* Installs the request handler for a path of host configured with app.handler, and records the
 * mount. */
void app_handler_install(app_t *app, const void *host, h2o_pathconf_t *pathconf, const app_path_conf_t *conf);
/* Once every path is read: each mount's base and route labels. */
void app_mounts_resolve(app_t *app);

/* The full pattern of route (one of conf's module's routes) where conf mounts it, or NULL. */
const char *app_route_label(const app_path_conf_t *conf, const app_route_t *route);
/* The first mount of the named module, or NULL when h2o.conf mounts it nowhere. */
const app_mount_t *app_mount_of(const app_t *app, const char *module);
/* Frees the module list and the mounts. */
void app_free(app_t *app);

#endif
