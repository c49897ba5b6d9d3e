/* /health, /ready and /health/database over HTTP/1.1, h2c (prior knowledge and upgrade) and h2
 * over TLS, with the headers every response carries and the X-Request-Id rules. */
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"

static const struct {
    ts_version_t version;
    int tls;
    int want_major;
} protocols[] = {
    {TS_H1, 0, 1}, {TS_H1, 1, 1}, {TS_H2C_PRIOR, 0, 2}, {TS_H2C_UPGRADE, 0, 2}, {TS_H2_TLS, 1, 2},
};

static void get(ts_server_t *s, size_t p, const char *path, ts_resp_t *r)
{
    ts_http_get(ts_server_url(s, protocols[p].tls, path), protocols[p].version, r);
    if (r->status == 0)
        fprintf(stderr, "[%s%s] %s\n", ts_version_name(protocols[p].version), protocols[p].tls ? " TLS" : "", r->error);
    CHECK_INT(r->http_major, protocols[p].want_major);
}

static void test_health(ts_server_t *s, size_t p)
{
    ts_resp_t r;
    get(s, p, "/health", &r);
    TS_EXPECT_STATUS(&r, 200);
    TS_EXPECT_JSON(&r);
    TS_EXPECT_APP_HEADERS(&r, protocols[p].tls);
    yajl_val t = ts_json_parse(r.body, "/health");
    CHECK_STR(ts_json_get_str(t, "status"), "ok");
    CHECK_STR(ts_json_get_str(t, "service"), "hellosales");
    const char *version = ts_json_get_str(t, "version");
    CHECK(version != NULL && *version != '\0');
    ts_json_free(t);
    ts_resp_free(&r);
}

static void test_ready(ts_server_t *s, size_t p)
{
    ts_resp_t r;
    get(s, p, "/ready", &r);
    TS_EXPECT_STATUS(&r, 200);
    TS_EXPECT_JSON(&r);
    TS_EXPECT_APP_HEADERS(&r, protocols[p].tls);
    yajl_val t = ts_json_parse(r.body, "/ready");
    CHECK_STR(ts_json_get_str(t, "status"), "ok");
    CHECK_STR(ts_json_get_str(t, "checks", "database"), "ok");
    if (getenv("REDIS_URL") != NULL && *getenv("REDIS_URL") != '\0')
        CHECK_STR(ts_json_get_str(t, "checks", "redis"), "ok");
    ts_json_free(t);
    ts_resp_free(&r);
}

static void test_database(ts_server_t *s, size_t p)
{
    ts_resp_t r;
    get(s, p, "/health/database", &r);
    TS_EXPECT_STATUS(&r, 200);
    TS_EXPECT_JSON(&r);
    TS_EXPECT_APP_HEADERS(&r, protocols[p].tls);
    yajl_val t = ts_json_parse(r.body, "/health/database");
    CHECK_STR(ts_json_get_str(t, "status"), "ok");
    static const char *const fields[] = {"size", "idle", "busy", "waiting", "errors"};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        CHECK(ts_json_is_int(t, "pool", fields[i]));
        CHECK(ts_json_get_int(t, "pool", fields[i]) >= 0);
    }
    /* idle and busy are connections of the pool, so they cannot outnumber it */
    CHECK(ts_json_get_int(t, "pool", "idle") + ts_json_get_int(t, "pool", "busy") <= ts_json_get_int(t, "pool", "size"));
    ts_json_free(t);
    ts_resp_free(&r);
}

static void test_request_ids(ts_server_t *s, size_t p)
{
    const char *url = ts_server_url(s, protocols[p].tls, "/health");
    ts_resp_t r;

    /* a sane id is echoed as it is, up to 64 characters */
    const char *sane = "it-Health_1.2-abc";
    ts_http_request(&(ts_req_t){.url = url, .version = protocols[p].version,
                                .headers = (const char *[]){"X-Request-Id: it-Health_1.2-abc", NULL}},
                    &r);
    CHECK_STR(ts_resp_header(&r, "x-request-id"), sane);
    ts_resp_free(&r);

    char longest[64 + 1], hdr[128];
    memset(longest, 'a', 64);
    longest[64] = '\0';
    snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", longest);
    ts_http_request(&(ts_req_t){.url = url, .version = protocols[p].version, .headers = (const char *[]){hdr, NULL}}, &r);
    CHECK_STR(ts_resp_header(&r, "x-request-id"), longest);
    ts_resp_free(&r);

    /* anything else is replaced by a fresh, sane id */
    static const char *const bad[] = {
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 chars */
        "abc/def", "abc def", "a\"b", "<script>", "id;drop", "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(hdr, sizeof(hdr), "X-Request-Id: %s", bad[i]);
        ts_http_request(&(ts_req_t){.url = url, .version = protocols[p].version, .headers = (const char *[]){hdr, NULL}},
                        &r);
        const char *got = ts_resp_header(&r, "x-request-id");
        CHECK(ts_request_id_is_sane(got));
        CHECK(got != NULL && strcmp(got, bad[i]) != 0);
        ts_resp_free(&r);
    }

    /* without one, every response gets its own */
    ts_resp_t a, b;
    ts_http_get(url, protocols[p].version, &a);
    ts_http_get(url, protocols[p].version, &b);
    const char *ia = ts_resp_header(&a, "x-request-id"), *ib = ts_resp_header(&b, "x-request-id");
    CHECK(ts_request_id_is_sane(ia) && ts_request_id_is_sane(ib));
    CHECK(ia != NULL && ib != NULL && strcmp(ia, ib) != 0);
    ts_resp_free(&a);
    ts_resp_free(&b);

    /* an error body names the same id as the header, echoed or generated */
    ts_http_request(&(ts_req_t){.url = ts_server_url(s, protocols[p].tls, "/no/such/route"),
                                .version = protocols[p].version,
                                .headers = (const char *[]){"X-Request-Id: it-404-id", NULL}},
                    &r);
    TS_EXPECT_ERROR(&r, 404, "not_found");
    TS_EXPECT_APP_HEADERS(&r, protocols[p].tls);
    CHECK_STR(ts_resp_header(&r, "x-request-id"), "it-404-id");
    ts_resp_free(&r);
    ts_http_get(ts_server_url(s, protocols[p].tls, "/no/such/route"), protocols[p].version, &r);
    TS_EXPECT_ERROR(&r, 404, "not_found");
    ts_resp_free(&r);
}

/* Polls (bounded) until /health/database reports the pool up: its numbers are a snapshot the
 * server refreshes periodically, so the first one after start may predate the connections. */
static int database_becomes_ok(ts_server_t *s, int timeout_ms)
{
    for (int64_t deadline = ts_now_ms() + timeout_ms; ts_now_ms() < deadline; ts_nap_ms(50)) {
        ts_resp_t r;
        ts_http_get(ts_server_url(s, 0, "/health/database"), TS_H1, &r);
        yajl_val t = r.status == 200 ? ts_json_parse(r.body, "/health/database") : NULL;
        const char *status = ts_json_get_str(t, "status");
        int ok = status != NULL && strcmp(status, "ok") == 0;
        ts_json_free(t);
        ts_resp_free(&r);
        if (ok)
            return 1;
    }
    return 0;
}

/* db.connections and db.slow-connections size every thread's two pools: /health/database sums
 * them (2 threads x (3 + 2)) once the snapshot is taken. */
static void test_pool_directives(void)
{
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){
        .extra_global_yaml = "db.connections: 3\ndb.slow-connections: 2\n", .num_threads = 2});
    REQUIRE(s != NULL);
    long long size = -1;
    for (int64_t deadline = ts_now_ms() + 5000; size != 10 && ts_now_ms() < deadline; ts_nap_ms(50)) {
        ts_resp_t r;
        ts_http_get(ts_server_url(s, 0, "/health/database"), TS_H1, &r);
        yajl_val t = r.status == 200 ? ts_json_parse(r.body, "/health/database") : NULL;
        size = ts_json_get_int(t, "pool", "size");
        ts_json_free(t);
        ts_resp_free(&r);
    }
    CHECK_INT(size, 10);
    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
}

int main(void)
{
    ts_env_require("DATABASE_URL", "/ready needs the test PostgreSQL; run the tests through scripts/test.sh (make test)");
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.tls = 1});
    REQUIRE(s != NULL);
    CHECK(database_becomes_ok(s, 5000));
    for (size_t p = 0; p < sizeof(protocols) / sizeof(protocols[0]); p++) {
        fprintf(stderr, "-- %s%s\n", ts_version_name(protocols[p].version), protocols[p].tls ? " over TLS" : "");
        test_health(s, p);
        test_ready(s, p);
        test_database(s, p);
        test_request_ids(s, p);
    }
    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
    test_pool_directives();
    return check_done("integration/test_health");
}
