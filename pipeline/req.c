/* The request pipeline: each stage either lets the request continue or ends/suspends it; an async
 * stage resumes the pipeline from its callback. The req_t lives in H2O's request pool, so the
 * pool's dispose hook is where a vanished client's pending work is cancelled. */
#include "pipeline/req.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "base/log.h"
#include "pipeline/cors.h"
#include "pipeline/framing.h"
#include "pipeline/idempotency.h"
#include "pipeline/metrics.h"
#include "pipeline/ratelimit.h"
#include "pipeline/server.h"
#include "pipeline/validate.h"

#define REQ_ALLOW_MAX 64

enum { REQ_NEXT, REQ_WAIT };

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- project ----------------------------------------------------------------------------- */

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return status < 500 ? "Client Error" : "Internal Server Error";
    }
}

void req_add_header(req_t *r, const char *name, const char *value)
{
    h2o_req_t *req = r->h2o;
    h2o_add_header_by_str(&req->pool, &req->res.headers, name, strlen(name), 1, NULL, value, strlen(value));
}

void req_add_standard_headers(h2o_req_t *req, const char *request_id, const cors_t *cors)
{
    h2o_mem_pool_t *pool = &req->pool;
    h2o_headers_t *h = &req->res.headers;
    h2o_add_header_by_str(pool, h, H2O_STRLIT("x-request-id"), 0, NULL, request_id, strlen(request_id));
    h2o_add_header_by_str(pool, h, H2O_STRLIT("x-content-type-options"), 0, NULL, H2O_STRLIT("nosniff"));
    h2o_add_header_by_str(pool, h, H2O_STRLIT("x-frame-options"), 0, NULL, H2O_STRLIT("DENY"));
    h2o_add_header_by_str(pool, h, H2O_STRLIT("referrer-policy"), 0, NULL, H2O_STRLIT("no-referrer"));
    h2o_add_header_by_str(pool, h, H2O_STRLIT("content-security-policy"), 0, NULL,
                          H2O_STRLIT("default-src 'none'; frame-ancestors 'none'; base-uri 'none'"));
    if (req->scheme == &H2O_URL_SCHEME_HTTPS)
        h2o_add_header(pool, h, H2O_TOKEN_STRICT_TRANSPORT_SECURITY, NULL, H2O_STRLIT("max-age=63072000; includeSubDomains"));
    if (cors != NULL)
        cors_add_response_headers(cors, req);
}

static void add_common_headers(req_t *r)
{
    req_add_standard_headers(r->h2o, r->request_id, r->conf->cors);
}

static void access_log(req_t *r, int status)
{
    h2o_req_t *req = r->h2o;
    char method[16], path[1024], proto[16];
    snprintf(method, sizeof(method), "%.*s", (int)req->method.len, req->method.base);
    /* decoded, so that the logger's redaction also sees encoded emails and phone numbers */
    req_percent_decode(req->path.base, req->path.len, path, sizeof(path), 0);
    snprintf(proto, sizeof(proto), "HTTP/%d%s", req->version >> 8, req->version >= 0x200 ? "" : ".1");
    uint64_t ns = now_ns() - r->start_ns;
    double ms = (double)ns / 1e6;
    const char *label = app_route_label(r->conf, r->route);
    metrics_http(r->thread->metrics, label, status, ns); /* every response, JSON or stream, passes here */
    log_emit(status >= 500 ? LOG_ERROR : LOG_INFO, "request", 10,
             (log_field_t[]){LOG_S("request_id", r->request_id), LOG_S("method", method), LOG_S("path", path),
                             LOG_S("route", label), LOG_S("module", r->conf->module->name),
                             LOG_I("status", status), LOG_D("latency_ms", ms), LOG_S("protocol", proto),
                             LOG_S("user_id", r->principal ? r->principal->user_id : NULL),
                             LOG_S("org_id", r->principal ? r->principal->org_id : NULL)});
}

void req_respond_json(req_t *r, int status, h2o_iovec_t body)
{
    req_respond_body(r, status, "application/json; charset=utf-8", body);
}

void req_respond_body(req_t *r, int status, const char *content_type, h2o_iovec_t body)
{
    static h2o_generator_t generator = {NULL, NULL};
    if (r->responded)
        return;
    r->responded = 1;
    if (h2o_timeout_is_linked(&r->deadline))
        h2o_timeout_unlink(&r->deadline);

    h2o_req_t *req = r->h2o;
    idempotency_on_response(r, status, body);
    req->res.status = status;
    req->res.reason = reason_of(status);
    add_common_headers(r);
    access_log(r, status);
    if (status == 204) {
        req->res.content_length = 0;
        h2o_start_response(req, &generator);
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
        return;
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    req->res.content_length = body.len;
    h2o_start_response(req, &generator);
    h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

void req_start_stream(req_t *r, int status, const char *content_type, h2o_generator_t *generator)
{
    r->responded = 1;
    if (h2o_timeout_is_linked(&r->deadline))
        h2o_timeout_unlink(&r->deadline);
    idempotency_on_gone(r); /* a stream is not stored for replay: the key is given back */
    h2o_req_t *req = r->h2o;
    req->res.status = status;
    req->res.reason = reason_of(status);
    add_common_headers(r);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    access_log(r, status);
    h2o_start_response(req, generator);
}

static void end_error(json_out_t *o, const char *request_id, const char *code)
{
    json_out_key(o, "code");
    json_out_str(o, code);
    json_out_key(o, "request_id");
    json_out_str(o, request_id);
}

h2o_iovec_t req_error_body(h2o_mem_pool_t *pool, const char *request_id, const char *code, const char *detail,
                           void (*members)(json_out_t *o, void *arg), void *arg)
{
    json_out_t o = json_out_pool(pool, 256);
    json_out_obj_begin(&o);
    json_out_key(&o, "detail");
    json_out_str(&o, detail);
    end_error(&o, request_id, code);
    if (members != NULL)
        members(&o, arg);
    json_out_obj_end(&o);
    return json_out_iov(&o);
}

void req_respond_error_with(req_t *r, int status, const char *code, const char *detail,
                            void (*members)(json_out_t *o, void *arg), void *arg)
{
    req_respond_json(r, status, req_error_body(&r->h2o->pool, r->request_id, code, detail, members, arg));
}

void req_respond_error(req_t *r, int status, const char *code, const char *detail)
{
    req_respond_error_with(r, status, code, detail, NULL, NULL);
}

void req_respond_not_found(req_t *r)
{
    req_respond_error(r, 404, "not_found", "Not found");
}

void req_respond_validation(req_t *r, const char *const *loc, const char *msg, const char *type)
{
    json_out_t o = json_out_pool(&r->h2o->pool, 256);
    json_out_obj_begin(&o);
    json_out_key(&o, "detail");
    json_out_arr_begin(&o);
    json_out_obj_begin(&o);
    json_out_key(&o, "loc");
    json_out_arr_begin(&o);
    for (; *loc != NULL; loc++)
        json_out_str(&o, *loc);
    json_out_arr_end(&o);
    json_out_key(&o, "msg");
    json_out_str(&o, msg);
    json_out_key(&o, "type");
    json_out_str(&o, type);
    json_out_obj_end(&o);
    json_out_arr_end(&o);
    end_error(&o, r->request_id, "validation_error");
    json_out_obj_end(&o);
    req_respond_json(r, 422, json_out_iov(&o));
}

void req_respond_cell(req_t *r, int status, const PGresult *pg, int col)
{
    req_respond_json(r, status, h2o_strdup(&r->h2o->pool, PQgetvalue(pg, 0, col), (size_t)PQgetlength(pg, 0, col)));
}

void req_respond_db_error(req_t *r, const db_result_t *res)
{
    switch (res->status) {
    case DB_ERR_BUSY:
        req_add_header(r, "retry-after", "1");
        req_respond_error(r, 503, "unavailable", "The server is busy; retry shortly");
        break;
    case DB_ERR_UNAVAILABLE:
        req_add_header(r, "retry-after", "1");
        req_respond_error(r, 503, "unavailable", "The database is unavailable; retry shortly");
        break;
    case DB_ERR_TIMEOUT:
        req_respond_error(r, 504, "timeout", "The database did not answer in time");
        break;
    default:
        log_error("query failed", LOG_S("request_id", r->request_id), LOG_S("sqlstate", res->sqlstate),
                  LOG_S("error", res->pg ? PQresultErrorMessage(res->pg) : NULL));
        req_respond_error(r, 500, "internal", "Internal server error");
        break;
    }
}

/* ---- async work -------------------------------------------------------------------------- */

static void on_query_result(void *arg, const db_result_t *res)
{
    req_t *r = arg;
    r->query = NULL;
    if (!r->responded)
        r->on_result(r, res);
}

void req_query(req_t *r, const db_stmt_t *stmt, const char *const *values, int nvalues,
               void (*on_result)(req_t *r, const db_result_t *res))
{
    r->on_result = on_result;
    r->query = db_pool_query(r->thread->db[r->conf->pool], stmt, values, nvalues, r->conf->timeout_ms, on_query_result, r);
}

static void on_deadline(h2o_timeout_entry_t *entry)
{
    req_t *r = H2O_STRUCT_FROM_MEMBER(req_t, deadline, entry);
    if (r->query != NULL) {
        db_query_cancel(r->query);
        r->query = NULL;
    }
    req_respond_error(r, 504, "timeout", "The request took too long");
}

/* The request pool is being destroyed: the response is done, or the client is gone. */
static void on_dispose(void *p)
{
    req_t *r = p;
    r->gone = 1;
    if (r->query != NULL)
        db_query_cancel(r->query);
    if (r->on_gone != NULL)
        r->on_gone(r, r->on_gone_arg);
    idempotency_on_gone(r);
    if (h2o_timeout_is_linked(&r->deadline))
        h2o_timeout_unlink(&r->deadline);
    r->thread->inflight--;
}

/* ---- stages ------------------------------------------------------------------------------ */

static int is_json_content_type(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (i < 0)
        return 0;
    h2o_iovec_t v = req->headers.entries[i].value;
    static const char json[] = "application/json";
    size_t n = sizeof(json) - 1;
    return v.len >= n && strncasecmp(v.base, json, n) == 0 && (v.len == n || v.base[n] == ';' || v.base[n] == ' ');
}

/* The request's path below the module's mount base, which the module's routes are written
 * against: "/clients/1" for "/api/v1/sailwind/clients/1" under "/api/v1/sailwind" (H2O matched
 * the mount, which the base encloses, as a prefix of the normalized path). */
static h2o_iovec_t relative_path(const req_t *r)
{
    h2o_iovec_t p = r->h2o->path_normalized;
    size_t n = r->conf->mount != NULL ? r->conf->mount->base_len : 0;
    return n <= p.len ? h2o_iovec_init(p.base + n, p.len - n) : p;
}

/* A browser's preflight on a path with a CORS policy: answered before authentication (browsers
 * send no credentials with it) with the methods the path really has; 404 when it has none. */
static void preflight(req_t *r)
{
    h2o_req_t *req = r->h2o;
    char allow[REQ_ALLOW_MAX];
    const app_route_t *route;
    if (app_route_match(r->conf->module, req->method, relative_path(r), &route, r->params, REQ_MAX_PARAMS,
                        &r->nparams, allow, sizeof(allow)) == APP_MATCH_NO_PATH) {
        req_respond_not_found(r);
        return;
    }
    cors_add_preflight_headers(r->conf->cors, req, h2o_strdup(&req->pool, allow, SIZE_MAX).base);
    req_respond_body(r, 204, NULL, h2o_iovec_init(NULL, 0));
}

static int stage_guard(req_t *r)
{
    h2o_req_t *req = r->h2o;
    char allow[REQ_ALLOW_MAX];
    if (framing_close_if_ambiguous(req)) { /* refused before any action: see framing.c */
        req_respond_error(r, 400, "bad_request", "Only one Content-Length or Transfer-Encoding header is allowed");
        return REQ_WAIT;
    }
    if (r->conf->cors != NULL && cors_is_preflight(req)) {
        preflight(r);
        return REQ_WAIT;
    }
    switch (app_route_match(r->conf->module, req->method, relative_path(r), &r->route, r->params, REQ_MAX_PARAMS,
                            &r->nparams, allow, sizeof(allow))) {
    case APP_MATCH_FOUND:
        break;
    case APP_MATCH_NO_METHOD:
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, allow, strlen(allow));
        req_respond_error(r, 405, "method_not_allowed", "Method not allowed");
        return REQ_WAIT;
    case APP_MATCH_NO_PATH:
        req_respond_error(r, 404, "not_found", "Not found");
        return REQ_WAIT;
    }

    if (req->entity.len > r->conf->body_limit) {
        req_respond_error(r, 413, "payload_too_large", "Request body is larger than this route accepts");
        return REQ_WAIT;
    }
    int has_body = req->entity.base != NULL && req->entity.len > 0;
    if (!(r->route->flags & ROUTE_JSON_BODY))
        return REQ_NEXT;
    if (has_body && !is_json_content_type(req)) {
        req_respond_error(r, 415, "unsupported_media_type", "Content-Type must be application/json");
        return REQ_WAIT;
    }
    if (!has_body) {
        req_respond_validation(r, (const char *[]){"body", NULL}, "Field required", "missing");
        return REQ_WAIT;
    }
    char err[160], detail[200];
    if ((r->body = json_parse(&req->pool, req->entity.base, req->entity.len, err, sizeof(err))) == NULL) {
        snprintf(detail, sizeof(detail), "Request body is not valid JSON: %s", err);
        req_respond_error(r, 400, "bad_json", detail);
        return REQ_WAIT;
    }
    return REQ_NEXT;
}

h2o_iovec_t req_bearer_token(h2o_req_t *req)
{
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i < 0)
        return h2o_iovec_init(NULL, 0);
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len <= 7 || strncasecmp(v.base, "bearer ", 7) != 0)
        return h2o_iovec_init(NULL, 0);
    size_t off = 7;
    while (off < v.len && v.base[off] == ' ')
        off++;
    return off < v.len ? h2o_iovec_init(v.base + off, v.len - off) : h2o_iovec_init(NULL, 0);
}

static void run_stages(req_t *r);

app_auth_t req_auth_level(const req_t *r)
{
    return r->route->auth > r->conf->auth ? r->route->auth : r->conf->auth;
}

static void on_principal(req_t *r, const principal_t *p, auth_status_t status, int db_status)
{
    if (p == NULL) {
        if (status == AUTH_OK) { /* verified, but the database could not provision the caller */
            req_respond_db_error(r, &(db_result_t){.status = (db_status_t)db_status});
            return;
        }
        if (status == AUTH_ERR_CONFIG)
            log_warn("bearer token refused: no verifier configured", LOG_S("request_id", r->request_id));
        req_add_header(r, "www-authenticate", "Bearer error=\"invalid_token\"");
        req_respond_error(r, 401, "unauthorized", auth_status_text(status));
        return;
    }
    r->principal = p;
    if (req_auth_level(r) == APP_AUTH_ADMIN && p->role != PRINCIPAL_ADMIN) {
        req_respond_error(r, 403, "forbidden", "This requires the admin role");
        return;
    }
    req_resume(r);
}

static int stage_policy(req_t *r)
{
    app_rate_t rate = r->conf->rate;
    if (rate.count != 0) {
        /* key: the path's settings (one bucket per configured path) + the client's address,
         * without its port, which differs per connection */
        struct {
            const void *conf;
            unsigned char addr[16];
        } key = {.conf = r->conf};
        struct sockaddr_storage ss;
        if (r->h2o->conn->callbacks->get_peername(r->h2o->conn, (struct sockaddr *)&ss) != 0) {
            if (ss.ss_family == AF_INET)
                memcpy(key.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
            else if (ss.ss_family == AF_INET6)
                memcpy(key.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
        }
        uint32_t wait = ratelimit_take(r->thread->app->ratelimit, &key, sizeof(key), rate, now_ns() / 1000);
        if (wait != 0) {
            char secs[16];
            snprintf(secs, sizeof(secs), "%u", wait);
            req_add_header(r, "retry-after", secs);
            req_respond_error(r, 429, "rate_limited", "Too many requests; slow down");
            return REQ_WAIT;
        }
    }
    app_auth_t auth = req_auth_level(r);
    if (auth == APP_AUTH_NONE)
        return REQ_NEXT;
    h2o_iovec_t token = req_bearer_token(r->h2o);
    if (token.base == NULL) {
        if (auth == APP_AUTH_OPTIONAL)
            return REQ_NEXT;
        req_add_header(r, "www-authenticate", "Bearer");
        req_respond_error(r, 401, "unauthorized", "Authentication required");
        return REQ_WAIT;
    }
    principal_resolve(r, token.base, token.len, on_principal);
    return REQ_WAIT;
}

static int stage_idempotency(req_t *r)
{
    return idempotency_stage(r) ? REQ_WAIT : REQ_NEXT;
}

static int stage_action(req_t *r)
{
    r->route->action(r);
    return REQ_WAIT;
}

static int (*const stages[])(req_t *) = {stage_guard, stage_policy, stage_idempotency, stage_action};

static void run_stages(req_t *r)
{
    while (!r->responded && r->stage < sizeof(stages) / sizeof(stages[0]))
        if (stages[r->stage++](r) == REQ_WAIT)
            return;
}

void req_resume(req_t *r)
{
    run_stages(r);
}

/* ---- entry ------------------------------------------------------------------------------- */

static int is_sane_request_id(h2o_iovec_t v)
{
    if (v.len == 0 || v.len > REQ_ID_MAX)
        return 0;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.base[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void req_take_id(h2o_req_t *h2o, server_thread_t *thread, char *out)
{
    ssize_t i = h2o_find_header_by_str(&h2o->headers, H2O_STRLIT("x-request-id"), -1);
    if (i >= 0 && is_sane_request_id(h2o->headers.entries[i].value)) {
        h2o_iovec_t v = h2o->headers.entries[i].value;
        memcpy(out, v.base, v.len);
        out[v.len] = '\0';
    } else {
        snprintf(out, REQ_ID_MAX + 1, "%s-%x-%llx", thread->app->instance_id, thread->index,
                 (unsigned long long)++thread->request_seq);
    }
}

void req_start(h2o_req_t *h2o, server_thread_t *thread, const app_path_conf_t *conf)
{
    req_t *r = h2o_mem_alloc_shared(&h2o->pool, sizeof(*r), on_dispose);
    memset(r, 0, sizeof(*r));
    r->h2o = h2o;
    r->thread = thread;
    r->conf = conf;
    r->start_ns = now_ns();
    thread->inflight++;

    req_take_id(h2o, thread, r->request_id);

    r->deadline.cb = on_deadline;
    h2o_timeout_t *t = server_timeout_for(thread, conf->timeout_ms);
    if (t != NULL)
        h2o_timeout_link(thread->ctx.loop, t, &r->deadline);
    run_stages(r);
}

long req_percent_decode(const char *in, size_t n, char *out, size_t cap, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 1 >= cap) {
            out[o] = '\0';
            return -2;
        }
        unsigned char c;
        if (in[i] == '%' && i + 2 < n && h2o_hex_decode(&c, in + i + 1, 2) == 0) {
            out[o++] = (char)c;
            i += 2;
        } else {
            out[o++] = plus_is_space && in[i] == '+' ? ' ' : in[i];
        }
    }
    out[o] = '\0';
    return (long)o;
}

long req_query_param(const req_t *r, const char *name, char *out, size_t cap)
{
    h2o_req_t *req = r->h2o;
    if (req->query_at == SIZE_MAX)
        return -1;
    const char *p = req->path.base + req->query_at + 1, *end = req->path.base + req->path.len;
    size_t nlen = strlen(name);
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pair_end = amp != NULL ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pair_end - p));
        const char *key_end = eq != NULL ? eq : pair_end;
        char key[64];
        long klen = req_percent_decode(p, (size_t)(key_end - p), key, sizeof(key), 1);
        if (klen == (long)nlen && memcmp(key, name, nlen) == 0) {
            const char *v = eq != NULL ? eq + 1 : pair_end;
            return req_percent_decode(v, (size_t)(pair_end - v), out, cap, 1);
        }
        p = pair_end + 1;
    }
    return -1;
}

h2o_iovec_t req_param(const req_t *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nparams; i++)
        if (r->params[i].name_len == n && memcmp(r->params[i].name, name, n) == 0)
            return r->params[i].value;
    return h2o_iovec_init(NULL, 0);
}

const char *req_param_uuid(req_t *r, const char *name)
{
    h2o_iovec_t v = req_param(r, name);
    char *out = h2o_mem_alloc_pool(&r->h2o->pool, 37);
    if (validate_uuid(v.base, v.len, out))
        return out;
    req_respond_not_found(r);
    return NULL;
}
