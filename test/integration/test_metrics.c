/* GET /metrics through the real server (two threads): the exposition parses line by line; known
 * requests grow their route's counters and histogram by exactly their number (unmatched paths
 * under "unmatched"); a coaching run against the mock provider grows the run, provider-call and
 * token counters and leaves no stream open; its record is then readable by the admin endpoint. */
#define _GNU_SOURCE 1 /* strndup */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/mock_llm.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"
#define MAX_SAMPLES 4096

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/metrics:\n"
                                                               "  app.handler: metrics\n"
                                                               "  app.auth: none\n"
                                                               "/api/v1/sessions:\n"
                                                               "  app.handler: sessions\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/admin/pipeline-runs:\n"
                                                               "  app.handler: pipeline_admin\n"
                                                               "  app.auth: admin\n";

static ts_server_t *srv;

/* One scrape: each sample's `name{labels}` and value. */
typedef struct scrape {
    size_t n;
    char *key[MAX_SAMPLES];
    double value[MAX_SAMPLES];
} scrape_t;

/* `name` or `name{label="value",...}` at p (a metric name, then label pairs with escaped values);
 * returns the length, 0 when it is not. */
static size_t sample_key_len(const char *p)
{
    size_t i = 0;
    if (!(isalpha((unsigned char)p[0]) || p[0] == '_' || p[0] == ':'))
        return 0;
    while (isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == ':')
        i++;
    if (p[i] != '{')
        return i;
    i++;
    for (;;) {
        size_t start = i;
        while (isalnum((unsigned char)p[i]) || p[i] == '_')
            i++;
        if (i == start || p[i] != '=' || p[i + 1] != '"')
            return 0;
        for (i += 2; p[i] != '"'; i++) {
            if (p[i] == '\0' || p[i] == '\n')
                return 0;
            if (p[i] == '\\' && (p[++i] == '\0' || !strchr("\\\"n", p[i])))
                return 0;
        }
        i++;
        if (p[i] == '}')
            return i + 1;
        if (p[i++] != ',')
            return 0;
    }
}

/* Every line is a # HELP / # TYPE comment or `key value` with a number; reports the first that is not. */
static void scrape(scrape_t *s)
{
    memset(s, 0, sizeof(*s));
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/metrics", ts_server_http_port(srv));
    ts_resp_t r;
    ts_http_get(url, TS_H1, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(ts_resp_header(&r, "content-type"), "text/plain; version=0.0.4; charset=utf-8");
    REQUIRE(r.body != NULL && r.body_len > 0 && r.body[r.body_len - 1] == '\n');
    for (const char *p = r.body; *p != '\0';) {
        const char *end = strchr(p, '\n');
        if (p[0] == '#') {
            CHECK(strncmp(p, "# HELP hellosales_", 18) == 0 || strncmp(p, "# TYPE hellosales_", 18) == 0);
        } else {
            size_t k = sample_key_len(p);
            char *num_end = NULL;
            double v = k > 0 && p[k] == ' ' ? strtod(p + k + 1, &num_end) : 0;
            int ok = k > 0 && strncmp(p, "hellosales_", 11) == 0 && num_end == end && s->n < MAX_SAMPLES;
            CHECK(ok);
            if (!ok) {
                fprintf(stderr, "bad line: %.*s\n", (int)(end - p), p);
            } else {
                s->key[s->n] = strndup(p, k);
                s->value[s->n++] = v;
            }
        }
        p = end + 1;
    }
    ts_resp_free(&r);
}

static void scrape_free(scrape_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->key[i]);
}

/* A sample's value; 0 when absent (a counter not yet counted is not shown). Each key appears once. */
static double value(const scrape_t *s, const char *key)
{
    double v = 0;
    int seen = 0;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->key[i], key) == 0) {
            v = s->value[i];
            seen++;
        }
    CHECK(seen <= 1);
    return v;
}

static void get(const char *path, int times, long want)
{
    for (int i = 0; i < times; i++) {
        ts_resp_t r;
        ts_rest_call("GET", path, NULL, NULL, NULL, i % 2 ? TS_H2C_PRIOR : TS_H1, &r);
        CHECK_INT(r.status, want);
        ts_resp_free(&r);
    }
}

static void test_http_counters(void)
{
    scrape_t a, b;
    scrape(&a);
    get("/health", 5, 200);
    get("/api/v1/no-such-thing", 3, 404);
    get("/api/v1/admin/pipeline-runs", 2, 401);
    scrape(&b);

    CHECK_INT(value(&b, "hellosales_http_requests_total{route=\"/health\",status=\"200\"}") -
                  value(&a, "hellosales_http_requests_total{route=\"/health\",status=\"200\"}"),
              5);
    CHECK_INT(value(&b, "hellosales_http_requests_total{route=\"unmatched\",status=\"404\"}") -
                  value(&a, "hellosales_http_requests_total{route=\"unmatched\",status=\"404\"}"),
              3);
    CHECK_INT(value(&b, "hellosales_http_requests_total{route=\"/api/v1/admin/pipeline-runs\",status=\"401\"}") -
                  value(&a, "hellosales_http_requests_total{route=\"/api/v1/admin/pipeline-runs\",status=\"401\"}"),
              2);
    /* the first scrape is counted once it has answered: the second sees it */
    CHECK(value(&b, "hellosales_http_requests_total{route=\"/metrics\",status=\"200\"}") >= 1);

    /* the histogram: _count grew by the requests, buckets are cumulative and end at _count */
    const char *count = "hellosales_http_request_duration_seconds_count{route=\"/health\"}";
    CHECK_INT(value(&b, count) - value(&a, count), 5);
    static const char *const les[] = {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                      "0.5",   "1",     "2.5",  "5",     "10",  "+Inf"};
    double prev = 0;
    for (size_t i = 0; i < sizeof(les) / sizeof(les[0]); i++) {
        char key[160];
        snprintf(key, sizeof(key), "hellosales_http_request_duration_seconds_bucket{route=\"/health\",le=\"%s\"}", les[i]);
        double v = value(&b, key);
        CHECK(v >= prev);
        prev = v;
    }
    CHECK(prev == value(&b, count));
    CHECK(value(&b, "hellosales_http_request_duration_seconds_bucket{route=\"/health\",le=\"10\"}") == prev);
    double sum = value(&b, "hellosales_http_request_duration_seconds_sum{route=\"/health\"}") -
                 value(&a, "hellosales_http_request_duration_seconds_sum{route=\"/health\"}");
    CHECK(sum > 0 && sum < 5 * 10.0);

    /* the pools' gauges are there, and show connections once the pools have connected (they are
     * sampled every 200 ms, so a server just started may not show them yet) */
    for (int64_t end = ts_now_ms() + 5000; ts_now_ms() < end;) {
        if (value(&b, "hellosales_db_pool_connections{state=\"idle\"}") +
                value(&b, "hellosales_db_pool_connections{state=\"busy\"}") >=
            1)
            break;
        ts_nap_ms(50);
        scrape_free(&b);
        scrape(&b);
    }
    CHECK(value(&b, "hellosales_db_pool_connections{state=\"idle\"}") +
              value(&b, "hellosales_db_pool_connections{state=\"busy\"}") >=
          1);
    int found = 0;
    for (size_t i = 0; i < b.n; i++)
        found += strcmp(b.key[i], "hellosales_db_pool_waiting") == 0 || strcmp(b.key[i], "hellosales_db_pool_errors_total") == 0;
    CHECK_INT(found, 2);
    scrape_free(&a);
    scrape_free(&b);
}

#define RUNS_OK "hellosales_pipeline_runs_total{kind=\"coach_chat\",status=\"succeeded\"}"
#define CALLS_OK "hellosales_provider_calls_total{provider=\"openai\",status=\"succeeded\"}"
#define CALLS_FAILED "hellosales_provider_calls_total{provider=\"openai\",status=\"failed\"}"
#define TOKENS_IN "hellosales_provider_tokens_total{provider=\"openai\",direction=\"in\"}"
#define TOKENS_OUT "hellosales_provider_tokens_total{provider=\"openai\",direction=\"out\"}"
#define STREAMS "hellosales_sse_streams_open"

/* A coaching turn answered by the mock: one run, one provider call with its tokens. */
static void test_run_counters(ts_mock_t *mock, const ts_who_t *admin)
{
    scrape_t a, b;
    scrape(&a);
    CHECK_INT(value(&a, STREAMS), 0);
    yajl_val t = TS_REST_JSON("POST", "/api/v1/sessions", admin, "{\"kind\":\"chat\"}", 201);
    REQUIRE(t != NULL && ts_json_get_str(t, "id") != NULL);
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/sessions/%s/messages", ts_json_get_str(t, "id"));
    ts_json_free(t);
    CHECK_INT(ts_mock_script(mock, "{\"text\":\"Ask about their budget first.\","
                                   "\"usage\":{\"prompt_tokens\":42,\"completion_tokens\":7}}"),
              0);
    ts_resp_t r;
    ts_rest_call("POST", path, admin, "{\"content\":\"How do I open the call?\"}", NULL, TS_H1, &r);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "message_end");
    ts_resp_free(&r);
    scrape(&b);

    CHECK_INT(value(&b, RUNS_OK) - value(&a, RUNS_OK), 1);
    CHECK_INT(value(&b, CALLS_OK) - value(&a, CALLS_OK), 1);
    CHECK_INT(value(&b, CALLS_FAILED) - value(&a, CALLS_FAILED), 0);
    CHECK_INT(value(&b, TOKENS_IN) - value(&a, TOKENS_IN), 42);
    CHECK_INT(value(&b, TOKENS_OUT) - value(&a, TOKENS_OUT), 7);
    CHECK_INT(value(&b, STREAMS), 0); /* the stream has ended */
    CHECK_INT(value(&b, "hellosales_http_requests_total{route=\"/api/v1/sessions/{id}/messages\",status=\"200\"}") -
                  value(&a, "hellosales_http_requests_total{route=\"/api/v1/sessions/{id}/messages\",status=\"200\"}"),
              1);
    /* every known kind and status is shown, counted or not */
    CHECK_INT(value(&b, "hellosales_pipeline_runs_total{kind=\"voice\",status=\"cancelled\"}"), 0);
    size_t zeros = 0;
    for (size_t i = 0; i < b.n; i++)
        zeros += strncmp(b.key[i], "hellosales_pipeline_runs_total{", 31) == 0;
    CHECK_INT(zeros, 21);
    scrape_free(&a);
    scrape_free(&b);

    /* the same run, as the admin endpoint shows it once its record is written (after the reply) */
    yajl_val runs = NULL;
    for (int i = 0; i < 50; i++) {
        runs = TS_REST_JSON("GET", "/api/v1/admin/pipeline-runs?kind=coach_chat&status=succeeded", admin, NULL, 200);
        if (ts_json_len(ts_json_get(runs, "items")) == 1)
            break;
        ts_json_free(runs);
        runs = NULL;
        ts_nap_ms(50);
    }
    REQUIRE(runs != NULL);
    CHECK_INT(ts_json_get_int(runs, "items", "0", "tokens_in"), 42);
    CHECK_STR(ts_json_get_str(runs, "items", "0", "provider"), "openai");
    snprintf(path, sizeof(path), "/api/v1/admin/pipeline-runs/%s", ts_json_get_str(runs, "items", "0", "id"));
    ts_json_free(runs);
    yajl_val run = TS_REST_JSON("GET", path, admin, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(run, "provider_calls")), 1);
    CHECK_STR(ts_json_get_str(run, "provider_calls", "0", "status"), "succeeded");
    CHECK_INT(ts_json_get_int(run, "provider_calls", "0", "tokens_out"), 7);
    CHECK_STR(ts_json_get_str(run, "events", "0", "type"), "stage.start");
    ts_json_free(run);
}

int main(void)
{
    ts_mock_t *mock = ts_mock_start();
    char openai_env[160];
    snprintf(openai_env, sizeof(openai_env), "OPENAI_BASE_URL=%s/v1", mock->base);
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, "LLM_PROVIDER=openai", "OPENAI_API_KEY=sk-test-metrics",
                         openai_env, NULL};
    srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    ts_who_t admin;
    ts_who_make(&admin, NULL, ts_jwt_unique("org_metrics"), "admin");

    test_http_counters();
    test_run_counters(mock, &admin);

    ts_who_free(&admin);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    ts_mock_stop(mock);
    return check_done("metrics");
}
