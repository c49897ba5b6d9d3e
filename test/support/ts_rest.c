/* The REST-calling helpers of ts_rest.h. */
#include "test/support/ts_rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/ts_jwt.h"

static ts_server_t *rest_srv;
static const char *rest_secret;

void ts_rest_init(ts_server_t *srv, const char *secret)
{
    rest_srv = srv;
    rest_secret = secret;
}

void ts_rest_call(const char *method, const char *path, const ts_who_t *w, const char *body,
                  const char *const *extra, ts_version_t v, ts_resp_t *r)
{
    const char *headers[16];
    size_t n = 0;
    if (w != NULL)
        headers[n++] = ts_jwt_bearer(w->token);
    if (body != NULL)
        headers[n++] = "Content-Type: application/json";
    for (; extra != NULL && *extra != NULL && n < 15; extra++)
        headers[n++] = *extra;
    headers[n] = NULL;
    REQUIRE(rest_srv != NULL);
    ts_http_request(&(ts_req_t){.method = method, .url = ts_server_url(rest_srv, 0, path), .headers = headers,
                                .body = body, .body_len = body ? strlen(body) : 0, .version = v},
                    r);
}

yajl_val ts_rest_json_at(const char *file, int line, const char *method, const char *path, const ts_who_t *w,
                         const char *body, long want)
{
    ts_resp_t r;
    ts_rest_call(method, path, w, body, NULL, TS_H1, &r);
    ts_expect_status(file, line, &r, want);
    ts_expect_json(file, line, &r);
    if (r.status != want)
        fprintf(stderr, "%s:%d: (%s %s)\n", file, line, method, path);
    yajl_val t = ts_json_parse(r.body, path);
    ts_resp_free(&r);
    return t;
}

void ts_rest_error_at(const char *file, int line, const char *method, const char *path, const ts_who_t *w,
                      const char *body, long status, const char *code)
{
    ts_resp_t r;
    ts_rest_call(method, path, w, body, NULL, TS_H1, &r);
    ts_expect_error(file, line, &r, status, code);
    if (r.status != status)
        fprintf(stderr, "%s:%d: (%s %s %s)\n", file, line, method, path, body ? body : "");
    ts_resp_free(&r);
}

void ts_who_make(ts_who_t *w, const char *sub, const char *org, const char *role)
{
    ts_who_make_email(w, sub, org, role, "rep@example.com");
}

void ts_who_make_email(ts_who_t *w, const char *sub, const char *org, const char *role, const char *email)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->sub, sizeof(w->sub), "%s", sub != NULL ? sub : ts_jwt_unique("user"));
    snprintf(w->org, sizeof(w->org), "%s", org);
    w->role = role;
    ts_claims_t c = {.sub = w->sub, .org_id = w->org, .role = role, .email = email, .name = w->sub,
                     .exp = (int64_t)time(NULL) + 3600};
    w->token = ts_jwt_hs256(rest_secret, &c);
    yajl_val t = TS_REST_JSON("GET", "/api/v1/auth/me", w, NULL, 200);
    const char *uid = ts_json_get_str(t, "user", "id"), *oid = ts_json_get_str(t, "organization", "id");
    REQUIRE(uid != NULL && oid != NULL);
    snprintf(w->user_id, sizeof(w->user_id), "%s", uid);
    snprintf(w->org_id, sizeof(w->org_id), "%s", oid);
    ts_json_free(t);
}

void ts_who_free(ts_who_t *w)
{
    free(w->token);
    w->token = NULL;
}

static int str_is(const char *got, const char *want)
{
    return got != NULL && strcmp(got, want) == 0;
}

void ts_expect_422_at(const char *file, int line, const ts_resp_t *r, const char *type, const char *const *loc)
{
    yajl_val t = r->status == 422 ? ts_json_parse(r->body, "422 body") : NULL;
    size_t nloc = 0;
    while (loc[nloc] != NULL)
        nloc++;
    int ok = t != NULL && str_is(ts_json_get_str(t, "code"), "validation_error");
    ok = ok && ts_json_is_array(t, "detail") && ts_json_is_str(t, "detail", "0", "msg");
    ok = ok && (type == NULL ? ts_json_is_str(t, "detail", "0", "type")
                             : str_is(ts_json_get_str(t, "detail", "0", "type"), type));
    const char *rid = ts_json_get_str(t, "request_id"), *hdr = ts_resp_header(r, "x-request-id");
    ok = ok && rid != NULL && hdr != NULL && strcmp(rid, hdr) == 0;
    yajl_val got = ts_json_get(t, "detail", "0", "loc");
    ok = ok && YAJL_IS_ARRAY(got) && ts_json_len(got) == nloc;
    for (size_t i = 0; ok && i < nloc; i++)
        ok = str_is(YAJL_GET_STRING(ts_json_index(got, i)), loc[i]);
    check_count++;
    if (!ok) {
        check_failures++;
        fprintf(stderr, "%s:%d: expected 422 %s at [", file, line, type ? type : "(any type)");
        for (size_t i = 0; i < nloc; i++)
            fprintf(stderr, "%s\"%s\"", i ? ", " : "", loc[i]);
        fprintf(stderr, "]; got %ld: %.400s\n", r->status, r->body ? r->body : r->error);
    }
    ts_json_free(t);
}

void ts_rest_422_at(const char *file, int line, const char *method, const char *path, const ts_who_t *w,
                    const char *body, const char *type, const char *const *loc)
{
    ts_resp_t r;
    ts_rest_call(method, path, w, body, NULL, TS_H1, &r);
    ts_expect_422_at(file, line, &r, type, loc);
    ts_resp_free(&r);
}

size_t ts_rest_walk_at(const char *file, int line, const char *path, const ts_who_t *w, int limit, char (*ids)[40],
                       size_t max)
{
    char cursor[256] = "", url[1024];
    size_t seen = 0;
    for (int pages = 0;; pages++) {
        check_count++;
        if (pages == 100) {
            check_failures++;
            fprintf(stderr, "%s:%d: GET %s: more than 100 pages\n", file, line, path);
            return seen;
        }
        snprintf(url, sizeof(url), "%s%climit=%d%s%s", path, strchr(path, '?') ? '&' : '?', limit,
                 cursor[0] ? "&cursor=" : "", cursor);
        yajl_val t = ts_rest_json_at(file, line, "GET", url, w, NULL, 200);
        yajl_val items = ts_json_get(t, "items");
        const char *next = ts_json_get_str(t, "next_cursor");
        size_t n = ts_json_len(items);
        for (size_t i = 0; i < n; i++, seen++) {
            const char *id = ts_json_get_str(ts_json_index(items, i), "id");
            if (seen < max)
                snprintf(ids[seen], 40, "%s", id != NULL ? id : "?");
        }
        int full = n == (size_t)limit, ok = t != NULL && YAJL_IS_ARRAY(items) && (next == NULL ? n <= (size_t)limit : full);
        if (ok && next != NULL)
            ok = strlen(next) < sizeof(cursor);
        if (!ok) {
            check_failures++;
            fprintf(stderr, "%s:%d: GET %s: a page of %zu items, next_cursor %s\n", file, line, url, n,
                    next ? next : "null");
        }
        if (ok && next != NULL)
            snprintf(cursor, sizeof(cursor), "%s", next);
        ts_json_free(t);
        if (!ok || next == NULL)
            return seen;
    }
}

int ts_ids_in_order(char (*got)[40], char (*want)[40], size_t n, int reversed)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(got[i], want[reversed ? n - 1 - i : i]) != 0)
            return 0;
        for (size_t k = i + 1; k < n; k++)
            if (strcmp(got[i], got[k]) == 0)
                return 0;
    }
    return 1;
}

static int same_header(const ts_resp_t *a, const ts_resp_t *b, const char *name)
{
    const char *x = ts_resp_header(a, name), *y = ts_resp_header(b, name);
    return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

yajl_val ts_rest_replay_at(const char *file, int line, const char *path, const ts_who_t *w, const char *body, long want)
{
    char key[96];
    snprintf(key, sizeof(key), "Idempotency-Key: %s", ts_jwt_unique("replay"));
    const char *extra[] = {key, NULL};
    ts_resp_t first, second;
    ts_rest_call("POST", path, w, body, extra, TS_H1, &first);
    ts_rest_call("POST", path, w, body, extra, TS_H1, &second);
    ts_expect_status(file, line, &first, want);
    ts_expect_status(file, line, &second, want);
    const char *replayed = ts_resp_header(&second, "idempotent-replayed");
    check_count++;
    if (replayed == NULL || strcmp(replayed, "true") != 0 || ts_resp_header(&first, "idempotent-replayed") != NULL ||
        first.body_len != second.body_len || memcmp(first.body, second.body, first.body_len) != 0 ||
        !same_header(&first, &second, "location")) {
        check_failures++;
        fprintf(stderr, "%s:%d: POST %s: not a replay:\n  first:  %s\n  second: %s (Idempotent-Replayed %s)\n", file,
                line, path, first.body, second.body, replayed ? replayed : "absent");
    }
    yajl_val t = ts_json_parse(first.body, path);
    ts_resp_free(&first);
    ts_resp_free(&second);
    return t;
}

int ts_is_rfc3339_z(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (s == NULL || strlen(s) != sizeof(shape) - 1)
        return 0;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    return 1;
}

yajl_val ts_json_index(yajl_val array, size_t i)
{
    return YAJL_IS_ARRAY(array) && i < array->u.array.len ? array->u.array.values[i] : NULL;
}

char *ts_repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    REQUIRE(s != NULL);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

PGconn *ts_rest_db(void)
{
    PGconn *db = PQconnectdb(ts_env_require("DATABASE_URL", "the test reads the rows the server wrote"));
    if (PQstatus(db) != CONNECTION_OK)
        fprintf(stderr, "cannot connect to DATABASE_URL: %s", PQerrorMessage(db));
    REQUIRE(PQstatus(db) == CONNECTION_OK);
    return db;
}

/* One query with text parameters (NULL-terminated): its result when it returned one non-NULL
 * value, else NULL after reporting the error. */
static PGresult *db_one(PGconn *db, const char *sql, const char *const *params)
{
    int n = 0;
    while (params != NULL && params[n] != NULL)
        n++;
    PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) >= 1 && !PQgetisnull(res, 0, 0))
        return res;
    fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
    return NULL;
}

long long ts_db_count(PGconn *db, const char *sql, const char *const *params)
{
    PGresult *res = db_one(db, sql, params);
    long long v = res != NULL ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;
    PQclear(res);
    return v;
}

char *ts_db_text(PGconn *db, const char *sql, const char *const *params)
{
    PGresult *res = db_one(db, sql, params);
    char *v = res != NULL ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    return v;
}

long long ts_db_count_becomes(PGconn *db, const char *sql, const char *const *params, long long want, int timeout_ms)
{
    long long v = ts_db_count(db, sql, params);
    for (int64_t end = ts_now_ms() + timeout_ms; v != want && ts_now_ms() < end; v = ts_db_count(db, sql, params))
        ts_nap_ms(20);
    return v;
}
