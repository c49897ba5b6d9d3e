/* The error contract through the guard and policy stages (with the test module `echo`): 404, 405,
 * 413, 415, 400 bad_json, 429 rate_limited, and malformed HTTP that never reaches a handler. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"

/* Each body limit needs its own server. /health/database is a rate-limited path entry of its own:
 * it refines the /health mount of the same module, whose database route it still serves. */
static const char PATHS[] = TS_PATHS_DEFAULT "/echo:\n"
                                             "  app.handler: echo\n"
                                             "  app.auth: none\n"
                                             "  app.body-limit: 1K\n"
                                             "/health/database:\n"
                                             "  app.handler: health\n"
                                             "  app.auth: none\n"
                                             "  app.rate-limit: 2/s\n";
static const char PATHS_DEFAULT_LIMIT[] = TS_PATHS_DEFAULT "/echo:\n"
                                                           "  app.handler: echo\n"
                                                           "  app.auth: none\n";

static const char *const JSON_CT[] = {"Content-Type: application/json", NULL};
static const ts_version_t VERSIONS[] = {TS_H1, TS_H2C_PRIOR};

static ts_server_t *srv;

static void post(const char *path, const char *body, size_t len, const char *const *headers, ts_version_t v,
                 ts_resp_t *r)
{
    ts_http_request(&(ts_req_t){.url = ts_server_url(srv, 0, path), .body = body, .body_len = len,
                                .headers = headers ? headers : JSON_CT, .version = v},
                    r);
}

/* A JSON object of exactly `size` bytes: {"pad":"xxx..."}. */
static char *json_of_size(size_t size)
{
    char *s = malloc(size + 1);
    size_t overhead = strlen("{\"pad\":\"\"}");
    memcpy(s, "{\"pad\":\"", 8);
    memset(s + 8, 'x', size - overhead);
    memcpy(s + 8 + (size - overhead), "\"}", 3);
    return s;
}

/* `depth` nested arrays: [[[...]]]. */
static char *nested(size_t depth)
{
    char *s = malloc(2 * depth + 1);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    return s;
}

static void test_echo_roundtrip(void)
{
    static const char body[] = "{\"s\":\"h\\u00e9llo \\u2603 \\\"q\\\" \\\\ \\n\",\"utf8\":\"\xc3\xa9\xe2\x98\x83\","
                               "\"n\":[1,-2.5,3e2,0,true,false,null],\"o\":{\"k\":{},\"a\":[]}}";
    for (size_t i = 0; i < sizeof(VERSIONS) / sizeof(VERSIONS[0]); i++) {
        ts_resp_t r;
        post("/echo", body, strlen(body), NULL, VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 200);
        TS_EXPECT_JSON(&r);
        TS_EXPECT_APP_HEADERS(&r, 0);
        yajl_val sent = ts_json_parse(body, "request body"), got = ts_json_parse(r.body, "echo response");
        CHECK(ts_json_len(got) == 1);
        CHECK(ts_json_equal(ts_json_get(got, "json"), sent));
        ts_json_free(sent);
        ts_json_free(got);
        ts_resp_free(&r);
    }
}

static void test_not_found(void)
{
    for (size_t i = 0; i < sizeof(VERSIONS) / sizeof(VERSIONS[0]); i++) {
        static const char *const paths[] = {"/nope", "/api/v1/nothing-here", "/health-check", "/echo2/x"};
        for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
            ts_resp_t r;
            ts_http_get(ts_server_url(srv, 0, paths[p]), VERSIONS[i], &r);
            TS_EXPECT_ERROR(&r, 404, "not_found");
            TS_EXPECT_APP_HEADERS(&r, 0);
            ts_resp_free(&r);
        }
    }
}

/* Allow lists the methods the route has; `want` must be one of them. */
static int allow_has(const ts_resp_t *r, const char *want)
{
    const char *allow = ts_resp_header(r, "allow");
    if (allow == NULL)
        return 0;
    char *copy = strdup(allow), *save = NULL;
    int found = 0;
    for (char *tok = strtok_r(copy, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save))
        found |= strcasecmp(tok, want) == 0;
    free(copy);
    return found;
}

static void test_method_not_allowed(void)
{
    for (size_t i = 0; i < sizeof(VERSIONS) / sizeof(VERSIONS[0]); i++) {
        ts_resp_t r;
        post("/health", "{}", 2, NULL, VERSIONS[i], &r);
        TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
        TS_EXPECT_APP_HEADERS(&r, 0);
        CHECK(allow_has(&r, "GET"));
        CHECK(!allow_has(&r, "POST"));
        ts_resp_free(&r);

        ts_http_request(&(ts_req_t){.method = "DELETE", .url = ts_server_url(srv, 0, "/health"), .version = VERSIONS[i]},
                        &r);
        TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
        CHECK(allow_has(&r, "GET"));
        ts_resp_free(&r);

        ts_http_get(ts_server_url(srv, 0, "/echo"), VERSIONS[i], &r);
        TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
        CHECK(allow_has(&r, "POST"));
        ts_resp_free(&r);
    }
}

static void test_body_limits(void)
{
    ts_resp_t r;
    char *at = json_of_size(1024), *over = json_of_size(1025), *big = json_of_size(2048);

    /* app.body-limit: 1K is 1024 bytes: the limit itself passes, one byte more does not */
    for (size_t i = 0; i < sizeof(VERSIONS) / sizeof(VERSIONS[0]); i++) {
        post("/echo", at, 1024, NULL, VERSIONS[i], &r);
        TS_EXPECT_STATUS(&r, 200);
        ts_resp_free(&r);
        post("/echo", over, 1025, NULL, VERSIONS[i], &r);
        TS_EXPECT_ERROR(&r, 413, "payload_too_large");
        TS_EXPECT_APP_HEADERS(&r, 0);
        ts_resp_free(&r);
    }

    /* without a Content-Length the limit holds all the same */
    ts_http_request(&(ts_req_t){.url = ts_server_url(srv, 0, "/echo"), .body = big, .body_len = 2048,
                                .headers = JSON_CT, .chunked = 1},
                    &r);
    TS_EXPECT_ERROR(&r, 413, "payload_too_large");
    ts_resp_free(&r);

    /* the size is judged before the body is parsed: oversized garbage is a 413, not a 400 */
    char *garbage = malloc(2048);
    memset(garbage, '{', 2048);
    post("/echo", garbage, 2048, NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 413, "payload_too_large");
    ts_resp_free(&r);
    free(garbage);

    /* a path without app.body-limit gets the default, 1 MiB */
    ts_server_t *dflt = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS_DEFAULT_LIMIT});
    CHECK(dflt != NULL);
    char *mib = json_of_size(1 << 20), *mib_over = json_of_size((1 << 20) + 1);
    if (dflt != NULL) {
        ts_http_request(&(ts_req_t){.url = ts_server_url(dflt, 0, "/echo"), .body = mib, .body_len = 1 << 20,
                                    .headers = JSON_CT, .timeout_ms = 20000},
                        &r);
        TS_EXPECT_STATUS(&r, 200);
        ts_resp_free(&r);
        ts_http_request(&(ts_req_t){.url = ts_server_url(dflt, 0, "/echo"), .body = mib_over,
                                    .body_len = (1 << 20) + 1, .headers = JSON_CT, .timeout_ms = 20000},
                        &r);
        TS_EXPECT_ERROR(&r, 413, "payload_too_large");
        ts_resp_free(&r);
        CHECK_INT(ts_server_stop(dflt), 0);
        ts_server_free(dflt);
    }

    free(mib);
    free(mib_over);
    free(at);
    free(over);
    free(big);
}

static void test_media_type(void)
{
    static const char body[] = "{\"a\":1}";
    static const char *const refused[] = {"Content-Type: text/plain", "Content-Type: application/x-www-form-urlencoded",
                                          "Content-Type: application/jsonx", "Content-Type: text/json",
                                          "Content-Type: multipart/form-data; boundary=x"};
    static const char *const accepted[] = {"Content-Type: application/json", "Content-Type: application/json; charset=utf-8",
                                           "Content-Type: application/json;charset=UTF-8",
                                           /* media types are case-insensitive (RFC 9110, 8.3.1) */
                                           "Content-Type: Application/JSON"};
    for (size_t i = 0; i < sizeof(VERSIONS) / sizeof(VERSIONS[0]); i++) {
        for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
            ts_resp_t r;
            post("/echo", body, strlen(body), (const char *[]){refused[k], NULL}, VERSIONS[i], &r);
            TS_EXPECT_ERROR(&r, 415, "unsupported_media_type");
            TS_EXPECT_APP_HEADERS(&r, 0);
            if (r.status != 415)
                fprintf(stderr, "  (with %s)\n", refused[k]);
            ts_resp_free(&r);
        }
        for (size_t k = 0; k < sizeof(accepted) / sizeof(accepted[0]); k++) {
            ts_resp_t r;
            post("/echo", body, strlen(body), (const char *[]){accepted[k], NULL}, VERSIONS[i], &r);
            TS_EXPECT_STATUS(&r, 200);
            if (r.status != 200)
                fprintf(stderr, "  (with %s)\n", accepted[k]);
            ts_resp_free(&r);
        }
    }
}

static void test_bad_json(void)
{
    static const struct {
        const char *why, *body;
    } bad[] = {
        {"truncated", "{\"a\":"},
        {"truncated string", "{\"a\":\"abc"},
        {"trailing comma", "{\"a\":1,}"},
        {"single quotes", "{'a':1}"},
        {"unquoted key", "{a:1}"},
        {"comment", "{\"a\":1 /* c */}"},
        {"NaN", "{\"a\":NaN}"},
        {"trailing garbage", "{\"a\":1} x"},
        {"two documents", "{\"a\":1}{\"b\":2}"},
        {"bad escape", "{\"a\":\"\\x41\"}"},
        {"control char in string", "{\"a\":\"x\001y\"}"},
        {"invalid UTF-8 byte", "{\"a\":\"\xff\"}"},
        {"truncated UTF-8 sequence", "{\"a\":\"\xc3\"}"},
        {"overlong UTF-8", "{\"a\":\"\xc0\xaf\"}"},
        {"UTF-8 encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}"},
        {"empty", " "},
    };
    for (size_t i = 0; i < sizeof(VERSIONS) / sizeof(VERSIONS[0]); i++) {
        for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
            ts_resp_t r;
            post("/echo", bad[k].body, strlen(bad[k].body), NULL, VERSIONS[i], &r);
            TS_EXPECT_ERROR(&r, 400, "bad_json");
            if (r.status != 400)
                fprintf(stderr, "  (body: %s)\n", bad[k].why);
            ts_resp_free(&r);
        }
    }

    /* nesting: 64 levels are fine, 65 are not, in arrays and in objects */
    ts_resp_t r;
    char *ok = nested(64), *deep = nested(65);
    post("/echo", ok, strlen(ok), NULL, TS_H1, &r);
    TS_EXPECT_STATUS(&r, 200);
    ts_resp_free(&r);
    post("/echo", deep, strlen(deep), NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 400, "bad_json");
    ts_resp_free(&r);
    free(ok);
    free(deep);

    char objs[65 * 6 + 65 + 8] = "", *p = objs;
    for (int d = 0; d < 64; d++)
        p += sprintf(p, "{\"a\":");
    p += sprintf(p, "[]"); /* the array is the 65th level */
    for (int d = 0; d < 64; d++)
        *p++ = '}';
    *p = '\0';
    post("/echo", objs, strlen(objs), NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 400, "bad_json");
    ts_resp_free(&r);
}

static int64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_rate_limit(void)
{
    /* Three requests well inside one wall-clock second, whatever window the limiter uses: start
     * just after a second begins and retry when the machine was too slow to stay inside it. */
    int done = 0;
    for (int attempt = 0; attempt < 3 && !done; attempt++) {
        int64_t wait_deadline = ts_now_ms() + 1500;
        while (realtime_ms() % 1000 > 50 && ts_now_ms() < wait_deadline)
            ts_nap_ms(5);
        int64_t start = ts_now_ms();
        ts_resp_t r[3];
        for (int i = 0; i < 3; i++)
            ts_http_get(ts_server_url(srv, 0, "/health/database"), TS_H1, &r[i]);
        if (ts_now_ms() - start < 600) {
            done = 1;
            TS_EXPECT_STATUS(&r[0], 200);
            TS_EXPECT_STATUS(&r[1], 200);
            TS_EXPECT_ERROR(&r[2], 429, "rate_limited");
            TS_EXPECT_APP_HEADERS(&r[2], 0);
            const char *ra = ts_resp_header(&r[2], "retry-after");
            CHECK(ra != NULL && *ra != '\0' && strspn(ra, "0123456789") == strlen(ra) && atoi(ra) >= 1);
        }
        for (int i = 0; i < 3; i++)
            ts_resp_free(&r[i]);
    }
    CHECK(done);

    /* the limit lifts again: poll (bounded) until a request passes */
    CHECK_INT(ts_server_poll_status(srv, "/health/database", 200, 3000), 200);

    /* other paths are not limited by it */
    for (int i = 0; i < 5; i++) {
        ts_resp_t r;
        ts_http_get(ts_server_url(srv, 0, "/health"), TS_H1, &r);
        TS_EXPECT_STATUS(&r, 200);
        ts_resp_free(&r);
    }
}

static void test_malformed_http(void)
{
    static const char *const reqs[] = {
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n{}",
    };
    for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        ts_resp_t r;
        ts_raw_exchange(ts_server_http_port(srv), reqs[i], strlen(reqs[i]), 3000, &r);
        CHECK(r.status >= 400 && r.status < 500);
        if (r.status < 400 || r.status >= 500)
            fprintf(stderr, "  malformed request %zu answered %ld (%s)\n", i, r.status, r.error);
        ts_resp_free(&r);
    }
    /* what the library refuses once it has parsed the request is in the API's error shape */
    static const struct {
        const char *req;
        long status;
        const char *code;
    } parsed[] = {
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}", 400,
         "bad_request"},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n{}", 400,
         "bad_request"},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
         400, "bad_request"},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: gzip\r\nContent-Length: 2\r\n\r\n{}",
         417, "expectation_failed"},
    };
    for (size_t i = 0; i < sizeof(parsed) / sizeof(parsed[0]); i++) {
        ts_resp_t r;
        ts_raw_exchange(ts_server_http_port(srv), parsed[i].req, strlen(parsed[i].req), 3000, &r);
        TS_EXPECT_ERROR(&r, parsed[i].status, parsed[i].code);
        CHECK(ts_resp_header(&r, "x-request-id") != NULL);
        ts_resp_free(&r);
    }
    /* none of it hurt the server */
    ts_resp_t r;
    ts_http_get(ts_server_url(srv, 0, "/health"), TS_H1, &r);
    TS_EXPECT_STATUS(&r, 200);
    ts_resp_free(&r);
}

int main(void)
{
    srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS});
    REQUIRE(srv != NULL);
    test_echo_roundtrip();
    test_not_found();
    test_method_not_allowed();
    test_body_limits();
    test_media_type();
    test_bad_json();
    test_rate_limit();
    test_malformed_http();
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("integration/test_errors");
}
