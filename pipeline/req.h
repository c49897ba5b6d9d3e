/* A request's journey through the shared pipeline, stage by stage (req.c): guard (framing, CORS
 * preflight, route, body limit, content type, JSON) → policy (rate limit, authentication and the
 * principal, role) → idempotency (a replayed POST answered from its record) → action (the route's
 * code, often async on the database), then the responses every stage may end with (JSON, errors,
 * SSE; headers and access log). */
#ifndef pipeline_req_h
#define pipeline_req_h

#include <stdint.h>

#define H2O_USE_LIBUV 1
#include <h2o.h>

#include "base/json.h"
#include "db/db.h"
#include "pipeline/app.h"
#include "pipeline/principal.h"

#define REQ_ID_MAX 64
#define REQ_MAX_PARAMS 4

typedef struct req_param {
    const char *name; /* points into the route pattern, not NUL-terminated at the name's end */
    size_t name_len;
    h2o_iovec_t value;
} req_param_t;

struct req {
    h2o_req_t *h2o;
    server_thread_t *thread;
    const app_path_conf_t *conf;
    const app_route_t *route;
    req_param_t params[REQ_MAX_PARAMS];
    size_t nparams;
    json_t *body; /* parsed when the route has ROUTE_JSON_BODY */
    const principal_t *principal; /* the authenticated caller; NULL when anonymous */
    void *state; /* the action's own state, for its callbacks (in the request pool) */
    const char *idem_key; /* an Idempotency-Key this request has claimed, until its response */
    char request_id[REQ_ID_MAX + 1];
    uint64_t start_ns;
    unsigned stage;
    unsigned responded : 1, gone : 1;
    db_query_t *query;               /* in flight; cancelled if the client goes away */
    void (*on_result)(req_t *r, const db_result_t *res);
    h2o_timeout_entry_t deadline;    /* app.timeout */
    /* Set by whoever has other pending work (a Redis command, a wait for keys) to cancel it when
     * the request is destroyed first. */
    void (*on_gone)(req_t *r, void *arg);
    void *on_gone_arg;
};

/* Entry point from the H2O handler of an app path. */
void req_start(h2o_req_t *h2o, server_thread_t *thread, const app_path_conf_t *conf);

/* Continues the pipeline after a stage that answered "later" (an async policy or claim). */
void req_resume(req_t *r);

/* The first query parameter called name, percent-decoded ('+' is a space) into out (cap bytes,
 * NUL-terminated). Returns its length, -1 when absent, -2 when longer than cap - 1. */
long req_query_param(const req_t *r, const char *name, char *out, size_t cap);

/* The credentials of "Authorization: Bearer <token>" (scheme case-insensitive, spaces after it
 * skipped); {NULL, 0} without that header, with another scheme or with nothing after it. */
h2o_iovec_t req_bearer_token(h2o_req_t *req);

/* What the matched route demands: its own app_auth_t or its path's app.auth, the stricter. */
app_auth_t req_auth_level(const req_t *r);

/* Percent-decodes in[0..n) into out (always NUL-terminated); '+' becomes a space when
 * plus_is_space. Malformed escapes are copied as they are. Returns the length, or -2 when out
 * was too small (it then holds what fitted). */
long req_percent_decode(const char *in, size_t n, char *out, size_t cap, int plus_is_space);

/* The path parameter `{name}` of the matched route, or an empty iovec. */
h2o_iovec_t req_param(const req_t *r, const char *name);

/* The path parameter `{name}` as a lower-case UUID in the request pool; NULL after answering 404
 * when it is not one (an id that cannot exist is not found, like an unknown one). */
const char *req_param_uuid(req_t *r, const char *name);

/* Runs a prepared statement for this request; `on_result` is called only if the request is still
 * waiting for it (not timed out, client still there). Errors other than DB_ERR_QUERY are usually
 * answered with req_respond_db_error. */
void req_query(req_t *r, const db_stmt_t *stmt, const char *const *values, int nvalues,
               void (*on_result)(req_t *r, const db_result_t *res));

/* ---- project: responses (each ends the request; a second response is ignored) ------------- */

void req_respond_json(req_t *r, int status, h2o_iovec_t body);
/* The same with another Content-Type (e.g. /metrics' text). */
void req_respond_body(req_t *r, int status, const char *content_type, h2o_iovec_t body);
/* {"detail": detail, "code": code, "request_id": ...} */
void req_respond_error(req_t *r, int status, const char *code, const char *detail);
/* That body alone, with more members written by `members` (may be NULL), in pool. */
h2o_iovec_t req_error_body(h2o_mem_pool_t *pool, const char *request_id, const char *code, const char *detail,
                           void (*members)(json_out_t *o, void *arg), void *arg);
/* X-Request-Id, the security headers every response carries and, with a policy, CORS's. */
void req_add_standard_headers(h2o_req_t *req, const char *request_id, const struct cors *cors);
/* The request's id into out (REQ_ID_MAX + 1 bytes): the client's X-Request-Id when it is sane
 * (at most 64 of [A-Za-z0-9._-]), else a new one unique to this process. */
void req_take_id(h2o_req_t *h2o, server_thread_t *thread, char *out);
/* The same, with more members written by `members` (e.g. /ready's "checks"). */
void req_respond_error_with(req_t *r, int status, const char *code, const char *detail,
                            void (*members)(json_out_t *o, void *arg), void *arg);
/* 404 {"detail": "Not found", "code": "not_found"}. */
void req_respond_not_found(req_t *r);
/* One 422 item: loc is a NULL-terminated list such as {"body", "name", NULL}. */
void req_respond_validation(req_t *r, const char *const *loc, const char *msg, const char *type);
/* Answers with the text of row 0, column col of a result (JSON built by PostgreSQL), copied
 * into the request pool because the result is freed when the query callback returns. */
void req_respond_cell(req_t *r, int status, const PGresult *pg, int col);
/* 503/504/500 for a failed query, in the error shape, never leaking the database's message. */
void req_respond_db_error(req_t *r, const db_result_t *res);

/* Starts a streamed response (SSE): status, the common headers and content_type; the request's
 * deadline ends and the access log line is written now. The generator then sends with h2o_send. */
void req_start_stream(req_t *r, int status, const char *content_type, h2o_generator_t *generator);

/* Adds a response header (before responding). */
void req_add_header(req_t *r, const char *name, const char *value);

#endif
