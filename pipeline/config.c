/* Loads h2o.conf through libh2o's configurator and defines the server-level directives that H2O's
 * standalone binary would otherwise provide: listen, num-threads, shutdown-timeout. */
#include "pipeline/config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <h2o/configurator.h>

#include "base/log.h"
#include "base/yoml.h"
#include "pipeline/cors.h"
#include "pipeline/sse.h"

struct server_configurator {
    h2o_configurator_t super;
    config_t *conf;
};

static config_t *conf_of(h2o_configurator_command_t *cmd)
{
    return ((struct server_configurator *)cmd->configurator)->conf;
}

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static int expect_scalar(h2o_configurator_command_t *cmd, yoml_t *node, const char *what)
{
    if (node->type == YOML_TYPE_SCALAR)
        return 0;
    h2o_configurator_errprintf(cmd, node, "%s must be a scalar", what);
    return -1;
}

static int on_listen_ssl(h2o_configurator_command_t *cmd, yoml_t *node, config_listener_t *l)
{
    if (node->type != YOML_TYPE_MAPPING) {
        h2o_configurator_errprintf(cmd, node, "`ssl` must be a mapping");
        return -1;
    }
    for (size_t i = 0; i < node->data.mapping.size; i++) {
        yoml_t *k = node->data.mapping.elements[i].key, *v = node->data.mapping.elements[i].value;
        if (expect_scalar(cmd, k, "an ssl key") != 0 || expect_scalar(cmd, v, k->data.scalar) != 0)
            return -1;
        if (strcmp(k->data.scalar, "certificate-file") == 0) {
            l->cert_file = strdup(v->data.scalar);
        } else if (strcmp(k->data.scalar, "key-file") == 0) {
            l->key_file = strdup(v->data.scalar);
        } else {
            h2o_configurator_errprintf(cmd, k, "unknown ssl attribute `%s` (certificate-file, key-file)", k->data.scalar);
            return -1;
        }
    }
    if (l->cert_file == NULL || l->key_file == NULL) {
        h2o_configurator_errprintf(cmd, node, "`ssl` needs both certificate-file and key-file");
        return -1;
    }
    return 0;
}

/* One listener: a port number, or {port, host?, ssl?}. */
static int on_listen_one(h2o_configurator_command_t *cmd, yoml_t *node)
{
    config_t *conf = conf_of(cmd);
    if (conf->num_listeners == CONFIG_MAX_LISTENERS) {
        h2o_configurator_errprintf(cmd, node, "too many listeners (at most %d)", CONFIG_MAX_LISTENERS);
        return -1;
    }
    config_listener_t *l = &conf->listeners[conf->num_listeners++];
    yoml_t *port = node;
    if (node->type == YOML_TYPE_MAPPING) {
        port = NULL;
        for (size_t i = 0; i < node->data.mapping.size; i++) {
            yoml_t *k = node->data.mapping.elements[i].key, *v = node->data.mapping.elements[i].value;
            if (expect_scalar(cmd, k, "a listen key") != 0)
                return -1;
            if (strcmp(k->data.scalar, "port") == 0) {
                port = v;
            } else if (strcmp(k->data.scalar, "host") == 0) {
                if (expect_scalar(cmd, v, "host") != 0)
                    return -1;
                l->host = strdup(v->data.scalar);
            } else if (strcmp(k->data.scalar, "ssl") == 0) {
                if (on_listen_ssl(cmd, v, l) != 0)
                    return -1;
            } else {
                h2o_configurator_errprintf(cmd, k, "unknown listen attribute `%s` (port, host, ssl)", k->data.scalar);
                return -1;
            }
        }
        if (port == NULL) {
            h2o_configurator_errprintf(cmd, node, "`port` is required");
            return -1;
        }
    }
    if (port->type != YOML_TYPE_SCALAR || parse_port(port->data.scalar, &l->port) != 0 || l->port == 0) {
        h2o_configurator_errprintf(cmd, port, "port must be a number from 1 to 65535");
        return -1;
    }
    return 0;
}

static int on_listen(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    if (node->type != YOML_TYPE_SEQUENCE)
        return on_listen_one(cmd, node);
    for (size_t i = 0; i < node->data.sequence.size; i++)
        if (on_listen_one(cmd, node->data.sequence.elements[i]) != 0)
            return -1;
    return 0;
}

static int on_num_threads(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    unsigned n;
    if (h2o_configurator_scanf(cmd, node, "%u", &n) != 0)
        return -1;
    if (n < 1 || n > 256) {
        h2o_configurator_errprintf(cmd, node, "must be between 1 and 256");
        return -1;
    }
    conf_of(cmd)->num_threads = n;
    return 0;
}

static int on_shutdown_timeout(h2o_configurator_command_t *cmd, h2o_configurator_context_t *ctx, yoml_t *node)
{
    if (config_parse_duration(node->data.scalar, &conf_of(cmd)->shutdown_timeout_ms) != 0) {
        h2o_configurator_errprintf(cmd, node, "must be a duration such as 10s or 500ms");
        return -1;
    }
    return 0;
}

static void register_server_directives(config_t *conf)
{
    struct server_configurator *c = (void *)h2o_configurator_create(&conf->globalconf, sizeof(*c));
    c->conf = conf;
    h2o_configurator_define_command(&c->super, "listen", H2O_CONFIGURATOR_FLAG_GLOBAL, on_listen);
    h2o_configurator_define_command(&c->super, "num-threads",
                                    H2O_CONFIGURATOR_FLAG_GLOBAL | H2O_CONFIGURATOR_FLAG_EXPECT_SCALAR, on_num_threads);
    h2o_configurator_define_command(&c->super, "shutdown-timeout",
                                    H2O_CONFIGURATOR_FLAG_GLOBAL | H2O_CONFIGURATOR_FLAG_EXPECT_SCALAR, on_shutdown_timeout);
}

/* HTTP_PORT / HTTPS_PORT let several instances (and test runs) share one h2o.conf. */
static int apply_env_overrides(config_t *conf, const char *path)
{
    const char *names[2] = {"HTTP_PORT", "HTTPS_PORT"};
    for (int tls = 0; tls < 2; tls++) {
        const char *v = getenv(names[tls]);
        uint16_t port;
        if (v == NULL || *v == '\0')
            continue;
        if (parse_port(v, &port) != 0 || (port == 0 && !tls)) {
            fprintf(stderr, "[%s] %s=%s is not a valid port\n", path, names[tls], v);
            return -1;
        }
        size_t kept = 0;
        for (size_t i = 0; i < conf->num_listeners; i++) {
            config_listener_t *l = &conf->listeners[i];
            if ((l->cert_file != NULL) == tls) {
                if (port == 0) { /* HTTPS_PORT=0 turns TLS off */
                    free(l->host);
                    free(l->cert_file);
                    free(l->key_file);
                    continue;
                }
                l->port = port;
            }
            conf->listeners[kept++] = *l;
        }
        conf->num_listeners = kept;
    }
    const char *cert = getenv("TLS_CERT_FILE"), *key = getenv("TLS_KEY_FILE");
    for (size_t i = 0; i < conf->num_listeners; i++) {
        config_listener_t *l = &conf->listeners[i];
        if (l->cert_file != NULL && cert != NULL && *cert != '\0') {
            free(l->cert_file);
            l->cert_file = strdup(cert);
        }
        if (l->key_file != NULL && key != NULL && *key != '\0') {
            free(l->key_file);
            l->key_file = strdup(key);
        }
    }
    return 0;
}

static int setup_tls(config_t *conf, const char *path)
{
    for (size_t i = 0; i < conf->num_listeners; i++) {
        config_listener_t *l = &conf->listeners[i];
        if (l->cert_file == NULL)
            continue;
        SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
        l->ssl_ctx = ctx;
        if (SSL_CTX_use_certificate_chain_file(ctx, l->cert_file) != 1) {
            fprintf(stderr, "[%s] listener on port %u: cannot load certificate-file %s\n", path, l->port, l->cert_file);
            return -1;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, l->key_file, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
            fprintf(stderr, "[%s] listener on port %u: cannot load key-file %s or it does not match the certificate\n",
                    path, l->port, l->key_file);
            return -1;
        }
        h2o_ssl_register_alpn_protocols(ctx, h2o_http2_alpn_protocols);
    }
    return 0;
}

static void register_h2o_directives(h2o_globalconf_t *g)
{
    h2o_configurator__init_core(g);
    h2o_access_log_register_configurator(g);
    h2o_compress_register_configurator(g);
    h2o_errordoc_register_configurator(g);
    h2o_expires_register_configurator(g);
    h2o_file_register_configurator(g);
    h2o_headers_register_configurator(g);
    h2o_proxy_register_configurator(g);
    h2o_redirect_register_configurator(g);
    h2o_reproxy_register_configurator(g);
    h2o_throttle_resp_register_configurator(g);
}

/* libh2o 2.2.5 reads a request body whole before any handler runs, and refuses early (before
 * reading, or as soon as a chunked or HTTP/2 body grows past it) only what exceeds its one global
 * bound. That bound is the largest app.body-limit, so nothing larger is ever read, while each
 * route still answers its own smaller limit with a 413 in the API's shape. H2O's own
 * limit-request-body, when h2o.conf sets it (for a proxied upload, say), may only raise it. */
static void bound_request_bodies(config_t *conf)
{
    size_t bound = conf->max_app_body_limit != 0 ? conf->max_app_body_limit : conf->global_app_body_limit;
    if (conf->globalconf.max_request_entity_size != H2O_DEFAULT_MAX_REQUEST_ENTITY_SIZE &&
        conf->globalconf.max_request_entity_size > bound)
        bound = conf->globalconf.max_request_entity_size;
    conf->globalconf.max_request_entity_size = bound;
    if (conf->max_app_body_path != NULL && conf->max_app_body_limit > conf->global_app_body_limit)
        log_warn("one path's app.body-limit bounds every request body: a body up to it is read before a smaller "
                 "limit refuses it",
                 LOG_S("path", conf->max_app_body_path), LOG_I("body_limit", conf->max_app_body_limit),
                 LOG_I("global_body_limit", conf->global_app_body_limit));
}

int config_load(config_t *conf, app_t *app, const char *path)
{
    char err[512];

    h2o_config_init(&conf->globalconf);
    /* no library name or version in the Server header; `server-name` in h2o.conf may override */
    conf->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("hellosales"));
    conf->shutdown_timeout_ms = 10000;
    register_h2o_directives(&conf->globalconf);
    register_server_directives(conf);
    static const config_number_t db_numbers[] = {
        {"db.connections", offsetof(config_db_t, connections), 0, 2, 1, 64},
        {"db.slow-connections", offsetof(config_db_t, slow_connections), 0, 1, 1, 64},
        {"db.max-inflight", offsetof(config_db_t, max_inflight), 0, 64, 1, 1024},
        {"db.max-queue", offsetof(config_db_t, max_queue), 0, 1024, 1, 1000000},
        {"db.connect-timeout", offsetof(config_db_t, connect_timeout_ms), 1, 5000, 10, 600000},
    };
    config_define_numbers(&conf->globalconf, db_numbers, sizeof(db_numbers) / sizeof(db_numbers[0]), &conf->db, NULL);
    if (config_app_register(conf, app) != 0)
        return -1;
    sse_define_directives(&conf->globalconf);
    for (size_t i = 0; i < app->ndirectives; i++)
        app->directives[i](&conf->globalconf, app);

    yoml_t *root = yoml_parse_file(path, err, sizeof(err));
    if (root == NULL) {
        fprintf(stderr, "[%s] %s\n", path, err);
        return -1;
    }
    int ret = h2o_configurator_apply(&conf->globalconf, root, 0);
    yoml_free(root, NULL);
    if (ret != 0)
        return -1;

    if (conf->num_listeners == 0) {
        fprintf(stderr, "[%s] mandatory configuration directive `listen` is missing\n", path);
        return -1;
    }
    if (conf->num_threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        conf->num_threads = n > 0 ? (unsigned)n : 1;
    }
    if (apply_env_overrides(conf, path) != 0 || setup_tls(conf, path) != 0)
        return -1;
    if (conf->num_listeners == 0) {
        fprintf(stderr, "[%s] no listener left after HTTP_PORT/HTTPS_PORT overrides\n", path);
        return -1;
    }
    bound_request_bodies(conf);
    app_mounts_resolve(app);
    return 0;
}

void config_dispose(config_t *conf)
{
    for (size_t i = 0; i < conf->num_listeners; i++) {
        config_listener_t *l = &conf->listeners[i];
        if (l->ssl_ctx != NULL)
            SSL_CTX_free(l->ssl_ctx);
        free(l->host);
        free(l->cert_file);
        free(l->key_file);
    }
    conf->num_listeners = 0;
    h2o_config_dispose(&conf->globalconf);
    cors_free_all(conf->cors);
    conf->cors = NULL;
    for (size_t i = 0; i < conf->nplain_paths; i++) {
        free(conf->plain_paths[i].path);
        free(conf->plain_paths[i].content_type);
    }
    free(conf->plain_paths);
    conf->plain_paths = NULL;
    conf->nplain_paths = 0;
}
