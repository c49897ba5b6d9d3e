/* CORS (app.cors, CORS_ORIGINS) over HTTP/1.1 and HTTP/2: preflights answered before authentication
 * with the URL's real methods, allowed and disallowed origins on simple requests, errors and SSE
 * streams, the `*` policy of the public chat, inheritance and `app.cors: off`, paths without a
 * policy, and the confs and CORS_ORIGINS values the server refuses to start with. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "test/support/check.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"
#define APP_ORIGIN "https://app.example.com"
#define DEV_ORIGIN "http://localhost:5173"
#define EVIL_ORIGIN "https://evil.example"
#define WIDGET_ORIGIN "https://widget-host.example"
#define EXPOSED "X-Request-Id, Location, Retry-After, Idempotent-Replayed, ETag"
#define ALLOWED_HEADERS "Authorization, Content-Type, Idempotency-Key, X-Request-Id"
#define CLIENT_ITEM "/api/v1/sailwind/clients/3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/api/v1/workspaces:\n"
                                                               "  app.handler: workspaces\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/public:\n"
                                                               "  app.handler: public_chat\n"
                                                               "  app.auth: none\n"
                                                               "  app.cors:\n"
                                                               "    origins: \"*\"\n"
                                                               "/api/v1/sailwind:\n"
                                                               "  app.handler: sailwind\n"
                                                               "  app.auth: required\n"
                                                               "  app.cors:\n"
                                                               "    origins: [\"" APP_ORIGIN "\", \"" DEV_ORIGIN "\"]\n"
                                                               "    credentials: true\n"
                                                               "    max-age: 300\n";

/* Every server of this test also listens with TLS, so HTTP/2 negotiated by ALPN is covered too. */
static const ts_version_t VERSIONS[] = {TS_H1, TS_H2C_PRIOR, TS_H2_TLS};
#define NVERSIONS (sizeof(VERSIONS) / sizeof(VERSIONS[0]))

static ts_server_t *srv;

/* ---- requests and header checks ----------------------------------------------------------- */

/* One request to s with Origin (unless NULL), Authorization: Bearer (unless NULL) and a JSON body
 * (unless NULL). */
static void call(ts_server_t *s, const char *method, const char *path, const char *origin, const char *token,
                 const char *body, ts_version_t v, ts_resp_t *r)
{
    char origin_line[160];
    const char *headers[4];
    size_t n = 0;
    if (origin != NULL) {
        snprintf(origin_line, sizeof(origin_line), "Origin: %s", origin);
        headers[n++] = origin_line;
    }
    if (token != NULL)
        headers[n++] = ts_jwt_bearer(token);
    if (body != NULL)
        headers[n++] = "Content-Type: application/json";
    headers[n] = NULL;
    ts_http_request(&(ts_req_t){.method = method, .url = ts_server_url(s, v == TS_H2_TLS, path), .body = body,
                                .body_len = body != NULL ? strlen(body) : 0, .headers = headers, .version = v,
                                .timeout_ms = 10000},
                    r);
}

/* A browser's preflight of `method` on path from origin. */
static void preflight(ts_server_t *s, const char *path, const char *origin, const char *method, ts_version_t v,
                      ts_resp_t *r)
{
    char origin_line[160], acrm[64];
    snprintf(origin_line, sizeof(origin_line), "Origin: %s", origin);
    snprintf(acrm, sizeof(acrm), "Access-Control-Request-Method: %s", method);
    const char *headers[] = {origin_line, acrm, "Access-Control-Request-Headers: authorization, content-type", NULL};
    ts_http_request(
        &(ts_req_t){.method = "OPTIONS", .url = ts_server_url(s, v == TS_H2_TLS, path), .headers = headers, .version = v},
        r);
}

/* How many response headers are named Access-Control-*. */
static size_t acl_headers(const ts_resp_t *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nheaders; i++)
        n += strncasecmp(r->headers[i].name, "access-control-", 15) == 0;
    return n;
}

/* Whether a response header `name` has `value` among its comma-separated values (any of them). */
static int header_has(const ts_resp_t *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, name) != 0)
            continue;
        char *copy = strdup(r->headers[i].value), *save = NULL;
        int found = 0;
        for (char *tok = strtok_r(copy, ", ", &save); tok != NULL && !found; tok = strtok_r(NULL, ", ", &save))
            found = strcasecmp(tok, value) == 0;
        free(copy);
        if (found)
            return 1;
    }
    return 0;
}

/* The headers of a response from an allowed origin: the origin (or `*`), credentials exactly when
 * wanted, Vary: Origin and the exposed headers. Reported at the caller's line. */
#define EXPECT_ALLOWED(r, acao, credentials) expect_allowed(__LINE__, (r), (acao), (credentials))
static void expect_allowed(int line, const ts_resp_t *r, const char *acao, int credentials)
{
    int failures = check_failures;
    CHECK_STR(ts_resp_header(r, "access-control-allow-origin"), acao);
    if (credentials)
        CHECK_STR(ts_resp_header(r, "access-control-allow-credentials"), "true");
    else
        CHECK(ts_resp_header(r, "access-control-allow-credentials") == NULL);
    CHECK(header_has(r, "vary", "Origin"));
    CHECK_STR(ts_resp_header(r, "access-control-expose-headers"), EXPOSED);
    if (check_failures != failures)
        fprintf(stderr, "  (the allowed-origin response checked at line %d, status %ld)\n", line, r->status);
}

/* A response from a disallowed origin (or with no Origin) on a path with a policy: Vary: Origin and
 * no Access-Control-* header at all. */
#define EXPECT_DENIED(r) expect_denied(__LINE__, (r))
static void expect_denied(int line, const ts_resp_t *r)
{
    int failures = check_failures;
    CHECK(header_has(r, "vary", "Origin"));
    CHECK_INT(acl_headers(r), 0);
    if (check_failures != failures)
        fprintf(stderr, "  (the denied-origin response checked at line %d, status %ld)\n", line, r->status);
}

/* A response on a path without any policy: no Access-Control-* header and no Vary: Origin. */
#define EXPECT_NO_CORS(r) expect_no_cors(__LINE__, (r))
static void expect_no_cors(int line, const ts_resp_t *r)
{
    int failures = check_failures;
    CHECK_INT(acl_headers(r), 0);
    CHECK(!header_has(r, "vary", "Origin"));
    if (check_failures != failures)
        fprintf(stderr, "  (the response without a policy checked at line %d, status %ld)\n", line, r->status);
}

/* ---- 1, 2: preflights on the listed-origins policy ---------------------------------------- */

static void test_preflight_allowed(ts_version_t v)
{
    static const struct {
        const char *path, *method, *methods;
    } cases[] = {
        {"/api/v1/sailwind/clients", "POST", "GET, POST"},
        {CLIENT_ITEM, "PATCH", "GET, PATCH, DELETE"},
        {CLIENT_ITEM, "DELETE", "GET, PATCH, DELETE"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *origin = i % 2 == 0 ? APP_ORIGIN : DEV_ORIGIN;
        ts_resp_t r;
        /* no token: the path requires one, the preflight must not */
        preflight(srv, cases[i].path, origin, cases[i].method, v, &r);
        TS_EXPECT_STATUS(&r, 204);
        CHECK_INT(r.body_len, 0);
        CHECK_STR(ts_resp_header(&r, "access-control-allow-origin"), origin);
        CHECK_STR(ts_resp_header(&r, "access-control-allow-credentials"), "true");
        CHECK_STR(ts_resp_header(&r, "access-control-allow-methods"), cases[i].methods);
        CHECK_STR(ts_resp_header(&r, "access-control-allow-headers"), ALLOWED_HEADERS);
        CHECK_STR(ts_resp_header(&r, "access-control-max-age"), "300");
        CHECK(header_has(&r, "vary", "Origin"));
        CHECK(ts_resp_header(&r, "www-authenticate") == NULL);
        TS_EXPECT_APP_HEADERS(&r, v == TS_H2_TLS);
        ts_resp_free(&r);
    }

    /* a method the URL does not have: still answered with the ones it has (the browser refuses) */
    ts_resp_t r;
    preflight(srv, "/api/v1/sailwind/clients", APP_ORIGIN, "PUT", v, &r);
    TS_EXPECT_STATUS(&r, 204);
    CHECK_STR(ts_resp_header(&r, "access-control-allow-methods"), "GET, POST");
    ts_resp_free(&r);

    /* a URL no route has is a 404, preflight or not */
    preflight(srv, "/api/v1/sailwind/no-such-collection", APP_ORIGIN, "GET", v, &r);
    TS_EXPECT_ERROR(&r, 404, "not_found");
    CHECK(ts_resp_header(&r, "access-control-allow-methods") == NULL);
    ts_resp_free(&r);
}

static void test_preflight_denied(ts_version_t v)
{
    /* an unlisted origin, listed ones with another case, port or scheme or a trailing slash, and a
     * sandboxed page's "null" */
    static const char *const origins[] = {EVIL_ORIGIN, "https://APP.example.com", "https://app.example.com:8443",
                                          "http://app.example.com", APP_ORIGIN "/", "null"};
    for (size_t i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
        ts_resp_t r;
        preflight(srv, "/api/v1/sailwind/clients", origins[i], "POST", v, &r);
        TS_EXPECT_STATUS(&r, 204);
        EXPECT_DENIED(&r);
        CHECK(ts_resp_header(&r, "access-control-allow-origin") == NULL);
        CHECK(ts_resp_header(&r, "access-control-allow-methods") == NULL);
        if (acl_headers(&r) != 0)
            fprintf(stderr, "  preflight from %s got Access-Control-* headers\n", origins[i]);
        ts_resp_free(&r);
    }

    /* OPTIONS without Access-Control-Request-Method is no preflight: an ordinary 405, still under
     * the policy (readable from an allowed origin) */
    ts_resp_t r;
    call(srv, "OPTIONS", "/api/v1/sailwind/clients", APP_ORIGIN, NULL, NULL, v, &r);
    TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
    CHECK_STR(ts_resp_header(&r, "allow"), "GET, POST");
    EXPECT_ALLOWED(&r, APP_ORIGIN, 1);
    CHECK(ts_resp_header(&r, "access-control-allow-methods") == NULL);
    ts_resp_free(&r);
}

/* ---- 3: simple requests ------------------------------------------------------------------- */

static void test_simple_requests(ts_version_t v, const ts_who_t *admin)
{
    ts_resp_t r;
    /* an error stays the same error, readable from an allowed origin */
    call(srv, "GET", "/api/v1/sailwind/clients", APP_ORIGIN, NULL, NULL, v, &r);
    TS_EXPECT_ERROR(&r, 401, "unauthorized");
    TS_EXPECT_APP_HEADERS(&r, v == TS_H2_TLS);
    EXPECT_ALLOWED(&r, APP_ORIGIN, 1);
    CHECK(header_has(&r, "access-control-expose-headers", "X-Request-Id"));
    CHECK(header_has(&r, "access-control-expose-headers", "Location"));
    ts_resp_free(&r);

    /* and not from another: no CORS header, the response otherwise unchanged */
    call(srv, "GET", "/api/v1/sailwind/clients", EVIL_ORIGIN, NULL, NULL, v, &r);
    TS_EXPECT_ERROR(&r, 401, "unauthorized");
    TS_EXPECT_APP_HEADERS(&r, v == TS_H2_TLS);
    EXPECT_DENIED(&r);
    ts_resp_free(&r);

    /* without Origin (not a browser's cross-origin request): Vary only */
    call(srv, "GET", "/api/v1/sailwind/clients", NULL, NULL, NULL, v, &r);
    TS_EXPECT_ERROR(&r, 401, "unauthorized");
    EXPECT_DENIED(&r);
    ts_resp_free(&r);

    /* an authenticated request from the other listed origin */
    call(srv, "GET", "/api/v1/sailwind/clients", DEV_ORIGIN, admin->token, NULL, v, &r);
    TS_EXPECT_STATUS(&r, 200);
    TS_EXPECT_JSON(&r);
    EXPECT_ALLOWED(&r, DEV_ORIGIN, 1);
    ts_resp_free(&r);

    /* a 404 of the app under the policy */
    call(srv, "GET", "/api/v1/sailwind/no-such-collection", APP_ORIGIN, admin->token, NULL, v, &r);
    TS_EXPECT_ERROR(&r, 404, "not_found");
    EXPECT_ALLOWED(&r, APP_ORIGIN, 1);
    ts_resp_free(&r);
}

/* ---- 4, 5: the `*` policy of the public chat, its SSE stream ------------------------------ */

typedef struct conv {
    char id[40], token[80], path[128];
} conv_t;

static void open_conversation(const char *handle, const char *origin, ts_version_t v, conv_t *c)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"workspace_handle\":\"%s\"}", handle);
    ts_resp_t r;
    call(srv, "POST", "/api/v1/public/conversations", origin, NULL, body, v, &r);
    TS_EXPECT_STATUS(&r, 201);
    EXPECT_ALLOWED(&r, "*", 0);
    yajl_val t = ts_json_parse(r.body, "conversation");
    REQUIRE(t != NULL && ts_json_get_str(t, "id") && ts_json_get_str(t, "visitor_token"));
    snprintf(c->id, sizeof(c->id), "%s", ts_json_get_str(t, "id"));
    snprintf(c->token, sizeof(c->token), "%s", ts_json_get_str(t, "visitor_token"));
    snprintf(c->path, sizeof(c->path), "/api/v1/public/conversations/%s", c->id);
    CHECK_STR(ts_resp_header(&r, "location"), c->path);
    ts_json_free(t);
    ts_resp_free(&r);
}

static void test_public_any_origin(const char *handle, ts_version_t v)
{
    /* any origin, even a sandboxed page's "null", is answered with a literal `*` */
    static const char *const origins[] = {WIDGET_ORIGIN, "http://127.0.0.1:3000", "null"};
    conv_t c;
    for (size_t i = 0; i < sizeof(origins) / sizeof(origins[0]); i++)
        open_conversation(handle, origins[i], v, &c);

    /* the preflight of a visitor's message: no credentials, the default max-age */
    char path[320];
    snprintf(path, sizeof(path), "%s/messages", c.path);
    ts_resp_t r;
    preflight(srv, path, WIDGET_ORIGIN, "POST", v, &r);
    TS_EXPECT_STATUS(&r, 204);
    CHECK_STR(ts_resp_header(&r, "access-control-allow-origin"), "*");
    CHECK(ts_resp_header(&r, "access-control-allow-credentials") == NULL);
    CHECK(header_has(&r, "access-control-allow-methods", "POST"));
    CHECK(header_has(&r, "access-control-allow-methods", "GET"));
    CHECK(!header_has(&r, "access-control-allow-methods", "DELETE"));
    CHECK_STR(ts_resp_header(&r, "access-control-allow-headers"), ALLOWED_HEADERS);
    CHECK_STR(ts_resp_header(&r, "access-control-max-age"), "600");
    ts_resp_free(&r);

    /* the message itself, then its stream: 200 text/event-stream readable from the widget's page */
    call(srv, "POST", path, WIDGET_ORIGIN, c.token, "{\"content\":\"hi\"}", v, &r);
    TS_EXPECT_STATUS(&r, 201);
    EXPECT_ALLOWED(&r, "*", 0);
    ts_resp_free(&r);

    snprintf(path, sizeof(path), "%s/stream?token=%s", c.path, c.token);
    call(srv, "GET", path, WIDGET_ORIGIN, NULL, NULL, v, &r);
    TS_EXPECT_STATUS(&r, 200);
    CHECK_CONTAINS(ts_resp_header(&r, "content-type"), "text/event-stream");
    EXPECT_ALLOWED(&r, "*", 0);
    CHECK_CONTAINS(r.body, "event: message_end");
    ts_resp_free(&r);

    /* an error of the stream (no token) is readable too */
    snprintf(path, sizeof(path), "%s/stream", c.path);
    call(srv, "GET", path, WIDGET_ORIGIN, NULL, NULL, v, &r);
    TS_EXPECT_ERROR(&r, 401, "unauthorized");
    EXPECT_ALLOWED(&r, "*", 0);
    ts_resp_free(&r);
}

/* ---- 7: a path without a policy ----------------------------------------------------------- */

static void test_no_policy(ts_version_t v)
{
    ts_resp_t r;
    preflight(srv, "/health", APP_ORIGIN, "GET", v, &r);
    TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
    CHECK(header_has(&r, "allow", "GET"));
    EXPECT_NO_CORS(&r);
    ts_resp_free(&r);

    call(srv, "GET", "/health", APP_ORIGIN, NULL, NULL, v, &r);
    TS_EXPECT_STATUS(&r, 200);
    EXPECT_NO_CORS(&r);
    ts_resp_free(&r);

    /* the identity paths of the same server have no policy either */
    call(srv, "GET", "/api/v1/auth/me", APP_ORIGIN, NULL, NULL, v, &r);
    TS_EXPECT_ERROR(&r, 401, "unauthorized");
    EXPECT_NO_CORS(&r);
    ts_resp_free(&r);
}

/* ---- 6: inheritance, CORS_ORIGINS, app.cors: off ------------------------------------------ */

static const char ECHO_PATHS[] = "/health:\n"
                                 "  app.handler: health\n"
                                 "  app.auth: none\n"
                                 "  app.cors: off\n"
                                 "/echo:\n"
                                 "  app.handler: echo\n"
                                 "  app.auth: none\n";

static void test_global_policy(void)
{
    /* app.cors at the top level is every path's, until a path turns it off */
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){
        .extra_global_yaml = "app.cors:\n  origins: [\"https://g.example\"]\n", .paths_yaml = ECHO_PATHS, .tls = 1});
    CHECK(s != NULL);
    if (s == NULL)
        return;
    for (size_t i = 0; i < NVERSIONS; i++) {
        ts_resp_t r;
        call(s, "POST", "/echo", "https://g.example", NULL, "{}", VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 200);
        EXPECT_ALLOWED(&r, "https://g.example", 0);
        ts_resp_free(&r);
        preflight(s, "/echo", "https://g.example", "POST", VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 204);
        CHECK_STR(ts_resp_header(&r, "access-control-allow-methods"), "POST");
        CHECK_STR(ts_resp_header(&r, "access-control-max-age"), "600");
        CHECK(ts_resp_header(&r, "access-control-allow-credentials") == NULL);
        ts_resp_free(&r);
        call(s, "POST", "/echo", "https://a.example", NULL, "{}", VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 200);
        EXPECT_DENIED(&r);
        ts_resp_free(&r);

        call(s, "GET", "/health", "https://g.example", NULL, NULL, VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 200);
        EXPECT_NO_CORS(&r);
        ts_resp_free(&r);
        preflight(s, "/health", "https://g.example", "GET", VERSIONS[i], &r);
        TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
        EXPECT_NO_CORS(&r);
        ts_resp_free(&r);
    }
    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
}

static void test_env_policy(void)
{
    /* CORS_ORIGINS is the policy of app paths without app.cors; `off` removes it from one */
    const char *env[] = {"CORS_ORIGINS=https://a.example, http://b.example:8080", NULL};
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.paths_yaml = ECHO_PATHS, .env = env, .tls = 1});
    CHECK(s != NULL);
    if (s == NULL)
        return;
    for (size_t i = 0; i < NVERSIONS; i++) {
        ts_resp_t r;
        call(s, "POST", "/echo", "https://a.example", NULL, "{}", VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 200);
        EXPECT_ALLOWED(&r, "https://a.example", 0);
        ts_resp_free(&r);
        call(s, "POST", "/echo", "http://b.example:8080", NULL, "{}", VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 200);
        EXPECT_ALLOWED(&r, "http://b.example:8080", 0);
        ts_resp_free(&r);
        call(s, "POST", "/echo", "https://c.example", NULL, "{}", VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 200);
        EXPECT_DENIED(&r);
        ts_resp_free(&r);
        preflight(s, "/echo", "https://a.example", "POST", VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 204);
        CHECK_STR(ts_resp_header(&r, "access-control-allow-origin"), "https://a.example");
        CHECK_STR(ts_resp_header(&r, "access-control-max-age"), "600");
        CHECK(ts_resp_header(&r, "access-control-allow-credentials") == NULL);
        ts_resp_free(&r);

        call(s, "GET", "/health", "https://a.example", NULL, NULL, VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 200);
        EXPECT_NO_CORS(&r);
        ts_resp_free(&r);
        preflight(s, "/health", "https://a.example", "GET", VERSIONS[i], &r);
        TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
        EXPECT_NO_CORS(&r);
        ts_resp_free(&r);
    }
    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
}

/* ---- 6: what the server refuses to start with --------------------------------------------- */

/* Lines 1-12 of every conf; /x's app.cors starts at line 13. */
static const char CONF_HEAD[] = TS_CONF_HEAD "        app.handler: echo\n"
                                             "        app.auth: none\n";

static const struct {
    const char *what;
    const char *cors;   /* lines 13.. */
    int line, line_max; /* the message names a line in [line, line_max] */
    const char *says;   /* and says this */
} bad_confs[] = {
    {"`*` with credentials", "        app.cors:\n          origins: \"*\"\n          credentials: true\n", 13, 15,
     "credentials"},
    {"an origin with a path", "        app.cors:\n          origins: [\"https://a.example/\"]\n", 14, 14, "origin"},
    {"an ftp origin", "        app.cors:\n          origins: [\"https://ok.example\", \"ftp://x\"]\n", 14, 14,
     "origin"},
    {"an upper-case origin", "        app.cors:\n          origins: \"HTTPS://A.EXAMPLE\"\n", 14, 14, "origin"},
    {"`*` beside an origin", "        app.cors:\n          origins: [\"*\", \"https://a.example\"]\n", 13, 14, "`*`"},
    {"an unknown key", "        app.cors:\n          origins: \"*\"\n          methods: [GET]\n", 15, 15, "origins"},
    {"no origins", "        app.cors:\n          credentials: false\n", 13, 14, "origin"},
    {"a max-age over a day", "        app.cors:\n          origins: \"*\"\n          max-age: 86401\n", 15, 15,
     "max-age"},
};

/* Whether out names file and a line in [line, line_max] as "<file>:<line>" (or h2o's
 * "[<file>:<line>]"), or the file and "line N". */
static int names_file_and_line(const char *out, const char *file, int line, int line_max)
{
    for (int l = line; l <= line_max; l++) {
        char with_colon[2048], with_word[32];
        snprintf(with_colon, sizeof(with_colon), "%s:%d", file, l);
        snprintf(with_word, sizeof(with_word), "line %d", l);
        const char *hit = strstr(out, with_colon);
        if (hit != NULL && !(hit[strlen(with_colon)] >= '0' && hit[strlen(with_colon)] <= '9'))
            return 1;
        if (strstr(out, file) != NULL && strstr(out, with_word) != NULL)
            return 1;
    }
    return 0;
}

static void test_bad_confs(void)
{
    for (size_t i = 0; i < sizeof(bad_confs) / sizeof(bad_confs[0]); i++) {
        char *conf, *output, *path;
        int code;
        if (asprintf(&conf, "%s%s", CONF_HEAD, bad_confs[i].cors) < 0)
            abort();
        int rc = ts_server_run_expect_fail(conf, &code, &output, &path);
        int named = names_file_and_line(output, path, bad_confs[i].line, bad_confs[i].line_max);
        CHECK_INT(rc, 0);
        CHECK(code != 0);
        CHECK(named);
        CHECK_CONTAINS(output, bad_confs[i].says);
        if (rc != 0 || code == 0 || !named || strstr(output, bad_confs[i].says) == NULL)
            fprintf(stderr, "  %s (expected non-zero exit, %s:%d..%d named and \"%s\"); exit %d, output:\n%s\n",
                    bad_confs[i].what, path, bad_confs[i].line, bad_confs[i].line_max, bad_confs[i].says, code, output);
        free(conf);
        free(output);
        free(path);
    }

    /* the same conf with the mistakes fixed starts, and so does a well-formed CORS_ORIGINS: the
     * failures above and below were those mistakes */
    char *conf, *output;
    int code;
    if (asprintf(&conf, "%s%s", CONF_HEAD,
                 "        app.cors:\n          origins: [\"https://a.example\", \"http://localhost:5173\"]\n"
                 "          credentials: true\n          max-age: 86400\n") < 0)
        abort();
    setenv("CORS_ORIGINS", "*", 1); /* the server's environment is this process's */
    int rc = ts_server_run_expect_fail(conf, &code, &output, NULL);
    unsetenv("CORS_ORIGINS");
    CHECK_INT(rc, -1);
    if (rc != -1)
        fprintf(stderr, "  the good conf was refused (exit %d):\n%s\n", code, output);
    free(conf);
    free(output);
}

static void test_bad_env(void)
{
    static const struct {
        const char *value, *says;
    } bad[] = {
        {"*,https://x.example", "`*`"},
        {"https://x.example/", "origin"},
        {"https://x.example,,https://y.example", "origin"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *output;
        int code;
        /* ts_server_run_expect_fail takes no extra environment: the server inherits this one */
        setenv("CORS_ORIGINS", bad[i].value, 1);
        int rc = ts_server_run_expect_fail(CONF_HEAD, &code, &output, NULL);
        unsetenv("CORS_ORIGINS");
        CHECK_INT(rc, 0);
        CHECK(code != 0);
        CHECK_CONTAINS(output, "CORS_ORIGINS: ");
        CHECK_CONTAINS(output, bad[i].says);
        if (rc != 0 || code == 0 || strstr(output, "CORS_ORIGINS: ") == NULL)
            fprintf(stderr, "  CORS_ORIGINS=%s: exit %d, output:\n%s\n", bad[i].value, code, output);
        free(output);
    }
}

/* ---- main --------------------------------------------------------------------------------- */

/* A workspace with a public handle, through the API as its owner; the handle goes to handle. */
static void make_workspace(char *handle, size_t size)
{
    ts_who_t owner;
    ts_who_make(&owner, NULL, ts_jwt_unique("org_cors"), "member");
    yajl_val t = TS_REST_JSON("GET", "/api/v1/workspaces/me", &owner, NULL, 200);
    REQUIRE(t != NULL && ts_json_get_str(t, "id") != NULL);
    char path[128], body[256];
    snprintf(path, sizeof(path), "/api/v1/workspaces/%s", ts_json_get_str(t, "id"));
    ts_json_free(t);
    snprintf(handle, size, "cors-%s", ts_jwt_unique("h"));
    for (char *p = handle; *p; p++)
        if (*p == '_')
            *p = '-';
    snprintf(body, sizeof(body), "{\"handle\":\"%s\"}", handle);
    ts_json_free(TS_REST_JSON("PATCH", path, &owner, body, 200));
    ts_who_free(&owner);
}

int main(void)
{
    unsetenv("CORS_ORIGINS"); /* the servers below set it themselves where they want it */
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, "LLM_PROVIDER=stub", NULL};
    srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env, .tls = 1});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    char handle[96];
    make_workspace(handle, sizeof(handle));
    ts_who_t admin;
    ts_who_make(&admin, NULL, ts_jwt_unique("org_cors_admin"), "admin");

    for (size_t i = 0; i < NVERSIONS; i++) {
        test_preflight_allowed(VERSIONS[i]);
        test_preflight_denied(VERSIONS[i]);
        test_simple_requests(VERSIONS[i], &admin);
        test_public_any_origin(handle, VERSIONS[i]);
        test_no_policy(VERSIONS[i]);
    }
    ts_who_free(&admin);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);

    test_global_policy();
    test_env_policy();
    test_bad_confs();
    test_bad_env();
    return check_done("cors");
}
