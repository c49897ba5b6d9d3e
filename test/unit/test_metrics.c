/* The metrics' exposition from counters of two threads: routes by pattern (one series for a
 * pattern two modules share, "unmatched" for none), statuses outside the table by class, cumulative
 * histogram buckets with an exact _sum, runs and provider calls with their "other" rows only when
 * counted, the SSE gauge summed across threads, and label values escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/metrics.h"
#include "providers/llm.h"
#include "test/support/check.h"

static void noop(req_t *r)
{
    (void)r;
}

static const app_route_t routes_a[] = {
    {"GET", "/things", noop, 0, APP_AUTH_NONE},
    {"POST", "/things", noop, 0, APP_AUTH_NONE},
    {"GET", "/odd\"pattern\\", noop, 0, APP_AUTH_NONE},
};
static const app_route_t routes_b[] = {
    {"DELETE", "/things", noop, 0, APP_AUTH_NONE},
};
static const app_module_t module_a = {"a", routes_a, 3}, module_b = {"b", routes_b, 1};
/* Both mounted at "/", so their routes' labels are their patterns. */
static char label_things[] = "/things", label_things2[] = "/things", label_odd[] = "/odd\"pattern\\";
static char label_b[] = "/things", root[] = "";
static char *labels_a[] = {label_things, label_things2, label_odd}, *labels_b[] = {label_b};
static app_mount_t mount_a = {.path = root, .base = root, .module = &module_a, .nroutes = 3, .labels = labels_a},
                   mount_b = {.path = root, .base = root, .module = &module_b, .nroutes = 1, .labels = labels_b};

#define MS 1000000ull

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p != NULL; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return 1;
    return 0;
}

#define CHECK_LINE(text, line)                                                                                         \
    do {                                                                                                               \
        int found_ = has_line((text), (line));                                                                         \
        CHECK(found_);                                                                                                 \
        if (!found_)                                                                                                   \
            fprintf(stderr, "  missing: %s\n", (line));                                                                \
    } while (0)

int main(void)
{
    setenv("LLM_PROVIDER", "stub", 1);
    unsetenv("LLM_FALLBACK");
    llm_chain_t *chain = llm_chain_from_env();
    REQUIRE(chain != NULL && chain->n == 1);
    app_mount_t *mounts[] = {&mount_a, &mount_b};
    app_t app = {.mounts = mounts, .nmounts = 2, .llm = chain};
    const char *providers[] = {llm_provider_name(chain->providers[0])};
    metrics_t *m = metrics_new(&app, providers, 1);
    metrics_thread_t *t1 = metrics_thread_new(m), *t2 = metrics_thread_new(m);
    CHECK(metrics_thread_new(NULL) == NULL);
    metrics_http(NULL, labels_a[0], 200, MS); /* no block: nothing, no crash */

    metrics_http(t1, labels_a[0], 200, 1 * MS);     /* le 0.001 */
    metrics_http(t2, labels_a[1], 201, 3 * MS);     /* same pattern, another module's route too */
    metrics_http(t2, labels_b[0], 200, 30 * MS);    /* le 0.05 */
    metrics_http(t1, labels_a[0], 418, 20000 * MS); /* +Inf; a status outside the table */
    metrics_http(t1, NULL, 404, 2 * MS);
    metrics_http(t2, labels_a[2], 200, 1);
    metrics_run(t1, "coach_chat", "succeeded");
    metrics_run(t2, "coach_chat", "succeeded");
    metrics_run(t2, "mystery", "failed");
    metrics_provider_call(t1, "stub", "succeeded", 12, 3);
    metrics_provider_call(t2, "stub", "failed", 5, 0);
    metrics_provider_call(t2, "elsewhere", "weird", 1, 2);
    metrics_sse(t1, 1);
    metrics_sse(t2, 1);
    metrics_sse(t2, -1);

    const metrics_thread_t *threads[] = {t1, NULL, t2};
    db_pool_stats_t db = {.size = 3, .idle = 2, .busy = 1, .waiting = 4, .errors = 5};
    size_t len = 0;
    char *text = metrics_render(m, threads, 3, &db, &len);
    REQUIRE(text != NULL);
    CHECK_INT(strlen(text), len);

    CHECK_LINE(text, "# TYPE hellosales_http_requests_total counter");
    CHECK_LINE(text, "hellosales_http_requests_total{route=\"/things\",status=\"200\"} 2");
    CHECK_LINE(text, "hellosales_http_requests_total{route=\"/things\",status=\"201\"} 1");
    CHECK_LINE(text, "hellosales_http_requests_total{route=\"/things\",status=\"4xx\"} 1");
    CHECK_LINE(text, "hellosales_http_requests_total{route=\"unmatched\",status=\"404\"} 1");
    CHECK_LINE(text, "hellosales_http_requests_total{route=\"/odd\\\"pattern\\\\\",status=\"200\"} 1");
    CHECK(strstr(text, "status=\"202\"") == NULL); /* nothing counted: no series */

    CHECK_LINE(text, "# TYPE hellosales_http_request_duration_seconds histogram");
    const char *b = "hellosales_http_request_duration_seconds_bucket{route=\"/things\",le=";
    char line[200];
    static const struct {
        const char *le;
        int n;
    } want[] = {{"0.001", 1}, {"0.005", 2}, {"0.01", 2}, {"0.025", 2}, {"0.05", 3}, {"10", 3}, {"+Inf", 4}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        snprintf(line, sizeof(line), "%s\"%s\"} %d", b, want[i].le, want[i].n);
        CHECK_LINE(text, line);
    }
    CHECK_LINE(text, "hellosales_http_request_duration_seconds_sum{route=\"/things\"} 20.034000000");
    CHECK_LINE(text, "hellosales_http_request_duration_seconds_count{route=\"/things\"} 4");
    CHECK_LINE(text, "hellosales_http_request_duration_seconds_sum{route=\"/odd\\\"pattern\\\\\"} 0.000000001");

    CHECK_LINE(text, "hellosales_pipeline_runs_total{kind=\"coach_chat\",status=\"succeeded\"} 2");
    CHECK_LINE(text, "hellosales_pipeline_runs_total{kind=\"voice\",status=\"cancelled\"} 0");
    CHECK_LINE(text, "hellosales_pipeline_runs_total{kind=\"other\",status=\"failed\"} 1");
    CHECK(strstr(text, "kind=\"other\",status=\"succeeded\"") == NULL);
    CHECK_LINE(text, "hellosales_provider_calls_total{provider=\"stub\",status=\"succeeded\"} 1");
    CHECK_LINE(text, "hellosales_provider_calls_total{provider=\"stub\",status=\"failed\"} 1");
    CHECK_LINE(text, "hellosales_provider_calls_total{provider=\"stub\",status=\"cancelled\"} 0");
    CHECK_LINE(text, "hellosales_provider_calls_total{provider=\"other\",status=\"other\"} 1");
    CHECK_LINE(text, "hellosales_provider_tokens_total{provider=\"stub\",direction=\"in\"} 17");
    CHECK_LINE(text, "hellosales_provider_tokens_total{provider=\"stub\",direction=\"out\"} 3");
    CHECK_LINE(text, "hellosales_provider_tokens_total{provider=\"other\",direction=\"out\"} 2");

    CHECK_LINE(text, "hellosales_sse_streams_open 1");
    CHECK_LINE(text, "hellosales_db_pool_connections{state=\"idle\"} 2");
    CHECK_LINE(text, "hellosales_db_pool_connections{state=\"busy\"} 1");
    CHECK_LINE(text, "hellosales_db_pool_waiting 4");
    CHECK_LINE(text, "hellosales_db_pool_errors_total 5");
    CHECK(len > 0 && text[len - 1] == '\n');

    free(text);
    metrics_thread_free(t1);
    metrics_thread_free(t2);
    metrics_free(m);
    llm_chain_free(chain);
    return check_done("metrics");
}
