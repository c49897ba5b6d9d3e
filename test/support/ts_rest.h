/* Calling the server's REST API as a given caller in tests: HS256 principals provisioned through
 * /auth/me, requests with extra headers, and the checks of 422 bodies, RFC 3339 timestamps and
 * the database rows behind a response. */
#ifndef test_support_ts_rest_h
#define test_support_ts_rest_h

#include <libpq-fe.h>
#include <stddef.h>

#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"

/* One caller: the token's identity and the server's ids for it (from /auth/me). */
typedef struct ts_who {
    char sub[128], org[128];
    const char *role;
    char *token;
    char user_id[40], org_id[40];
} ts_who_t;

/* The server and HS256 secret every call below uses. */
void ts_rest_init(ts_server_t *srv, const char *secret);

/* Mints a token for (sub, org, role) and provisions the caller with GET /api/v1/auth/me; sub
 * NULL: a unique one. Stops the test when /auth/me does not answer 200. */
void ts_who_make(ts_who_t *w, const char *sub, const char *org, const char *role);
/* The same with the token's email claim (ts_who_make: rep@example.com). */
void ts_who_make_email(ts_who_t *w, const char *sub, const char *org, const char *role, const char *email);
void ts_who_free(ts_who_t *w);

/* One request as w (NULL: no Authorization), with Content-Type: application/json when there is a
 * body, plus `extra` header lines (NULL-terminated, may be NULL). */
void ts_rest_call(const char *method, const char *path, const ts_who_t *w, const char *body,
                  const char *const *extra, ts_version_t v, ts_resp_t *r);

/* ts_rest_call over HTTP/1.1 expecting `want`; returns the parsed body (NULL when it is not JSON)
 * and reports a mismatch at the caller's line with the body received. */
yajl_val ts_rest_json_at(const char *file, int line, const char *method, const char *path, const ts_who_t *w,
                         const char *body, long want);
#define TS_REST_JSON(method, path, w, body, want) ts_rest_json_at(__FILE__, __LINE__, (method), (path), (w), (body), (want))

/* The error shape (ts_expect_error) of one request. */
void ts_rest_error_at(const char *file, int line, const char *method, const char *path, const ts_who_t *w,
                      const char *body, long status, const char *code);
#define TS_REST_ERROR(method, path, w, body, status, code)                                                             \
    ts_rest_error_at(__FILE__, __LINE__, (method), (path), (w), (body), (status), (code))

/* A 422 validation_error whose first item has exactly this loc and this type (type NULL: any),
 * a msg, and the request_id of the X-Request-Id header. Counts one check. */
void ts_expect_422_at(const char *file, int line, const ts_resp_t *r, const char *type, const char *const *loc);
#define TS_EXPECT_422(resp, type, ...) ts_expect_422_at(__FILE__, __LINE__, (resp), (type), TS_JSON_PATH(__VA_ARGS__))

/* The same for one request. */
void ts_rest_422_at(const char *file, int line, const char *method, const char *path, const ts_who_t *w,
                    const char *body, const char *type, const char *const *loc);
#define TS_REST_422(method, path, w, body, type, ...)                                                                  \
    ts_rest_422_at(__FILE__, __LINE__, (method), (path), (w), (body), (type), TS_JSON_PATH(__VA_ARGS__))

/* Walks a collection as w with ?limit=limit (path may already hold a query), following
 * next_cursor until it is null. Reports at the caller's line a failed page, a page other than
 * the last that is not exactly limit items long, or more than 100 pages. The items' ids, in
 * order, go to ids (max of them, 40 bytes each); returns how many items the walk saw. */
size_t ts_rest_walk_at(const char *file, int line, const char *path, const ts_who_t *w, int limit, char (*ids)[40],
                       size_t max);
#define TS_REST_WALK(path, w, limit, ids, max) ts_rest_walk_at(__FILE__, __LINE__, (path), (w), (limit), (ids), (max))

/* 1 when got[0..n) are want[0..n) in that order (reversed: want[n-1] first), each once. */
int ts_ids_in_order(char (*got)[40], char (*want)[40], size_t n, int reversed);

/* POSTs body to path as w twice with one fresh Idempotency-Key: the first must answer `want`, the
 * second the same status, body and Location with Idempotent-Replayed: true (reported at the
 * caller's line). Returns the first body, parsed (NULL when it is not JSON). */
yajl_val ts_rest_replay_at(const char *file, int line, const char *path, const ts_who_t *w, const char *body, long want);
#define TS_REST_REPLAY(path, w, body, want) ts_rest_replay_at(__FILE__, __LINE__, (path), (w), (body), (want))

/* 1 when s is YYYY-MM-DDTHH:MM:SSZ with plausible digits. */
int ts_is_rfc3339_z(const char *s);

/* The element `i` of an array (or NULL): ts_json_get with a decimal index. */
yajl_val ts_json_index(yajl_val array, size_t i);

/* malloc'd string of n copies of c. */
char *ts_repeat(char c, size_t n);

/* A connection to $DATABASE_URL (stops the test without one). */
PGconn *ts_rest_db(void);

/* The integer result of a one-value query with text parameters (NULL-terminated); -1 on error
 * (reported). */
long long ts_db_count(PGconn *db, const char *sql, const char *const *params);
/* ts_db_count until it is `want` or timeout_ms passed (for rows written just after a response,
 * such as a run's record); returns the last count. */
long long ts_db_count_becomes(PGconn *db, const char *sql, const char *const *params, long long want, int timeout_ms);
/* The text of a one-value query (malloc'd), e.g. an INSERT's RETURNING id; NULL on error
 * (reported). */
char *ts_db_text(PGconn *db, const char *sql, const char *const *params);
#define TS_DB_PARAMS(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif
