/* h2o.conf: loaded with H2O's own configurator, plus the directives H2O's standalone server
 * normally adds (listen, num-threads, shutdown-timeout) and the app.* directives. */
#ifndef pipeline_config_h
#define pipeline_config_h

#include <stdint.h>
#include <openssl/ssl.h>

#define H2O_USE_LIBUV 1
#include <h2o.h>

#include "pipeline/app.h"

#define CONFIG_MAX_LISTENERS 16

typedef struct config_listener {
    char *host; /* numeric address to bind; "0.0.0.0" by default */
    uint16_t port;
    char *cert_file, *key_file; /* both set: TLS */
    SSL_CTX *ssl_ctx;
} config_listener_t;

/* A path h2o.conf serves with H2O's own handlers (file.file, file.dir, proxy.reverse.url, ...)
 * rather than an app module: the OpenAPI document lists it too. */
typedef struct config_plain_path {
    char *path;
    char *content_type; /* what file.file serves, by its extension; NULL when unknown */
    int dir;            /* file.dir: the path serves the files below it */
} config_plain_path_t;

/* The database pools of each thread (db.* directives). */
typedef struct config_db {
    unsigned connections;        /* db.connections: the fast, pipelined pool (2) */
    unsigned slow_connections;   /* db.slow-connections: the pool of app.pool: slow paths (1) */
    unsigned max_inflight;       /* db.max-inflight: queries pipelined on one connection (64) */
    unsigned max_queue;          /* db.max-queue: queries waiting for a connection, then 503 (1024) */
    uint64_t connect_timeout_ms; /* db.connect-timeout (5s) */
} config_db_t;

struct config {
    h2o_globalconf_t globalconf;
    config_db_t db;
    config_listener_t listeners[CONFIG_MAX_LISTENERS];
    size_t num_listeners;
    unsigned num_threads;
    uint64_t shutdown_timeout_ms;
    size_t max_app_body_limit;       /* the largest app.body-limit: H2O's bound on every body */
    const char *max_app_body_path;   /* the path that set it (NULL: the global value) */
    size_t global_app_body_limit;    /* app.body-limit at global level */
    int http1_close_after_body;      /* app.http1-close-after-body: on (off by default) */
    struct cors *cors;               /* every CORS policy the configuration made */
    config_plain_path_t *plain_paths;
    size_t nplain_paths;
};

/* Loads path into conf (which the caller zeroes), applying HTTP_PORT, HTTPS_PORT, TLS_CERT_FILE and
 * TLS_KEY_FILE overrides. Errors are printed to stderr as "[file:line] ..." by H2O's configurator
 * convention; returns -1 on any. */
int config_load(config_t *conf, app_t *app, const char *path);
void config_dispose(config_t *conf);

/* Defines the app.* directives (config_app.c); used by config_load. Returns -1 after printing
 * why when an environment default they read (CORS_ORIGINS) is malformed. */
int config_app_register(config_t *conf, app_t *app);

/* A number one module's directive sets (config_define_numbers): a duration ("250ms", "30s")
 * stored in milliseconds in a uint64_t, or a count stored in an unsigned; checked against
 * [min, max] as the file is read. */
typedef struct config_number {
    const char *name; /* the directive, prefixed with the module's name: "run.deadline" */
    size_t offset;    /* of the value in the module's settings */
    int is_duration;
    uint64_t def, min, max;
} config_number_t;

/* Defines one module's numeric directives (global level) in a configurator of its own, writing
 * into settings, and sets every default now. done (may be NULL) runs once the global level is
 * read, to derive values from the others. Returns the configurator, for the module's other
 * directives. */
h2o_configurator_t *config_define_numbers(h2o_globalconf_t *g, const config_number_t *defs, size_t n, void *settings,
                                          void (*done)(void *settings));

/* Parsers shared by the directives, exposed for unit tests. Return -1 on malformed input. */
int config_parse_size(const char *s, size_t *out);        /* "512", "64K", "8M" */
int config_parse_duration(const char *s, uint64_t *ms);   /* "250ms", "30s", "2m" */
int config_parse_rate(const char *s, app_rate_t *out);    /* "10/s", "600/min", "off" */

#endif
