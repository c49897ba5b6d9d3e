/* PostgreSQL restart survival: /ready turns 503 quickly while the database is down (HS_PG_STOP)
 * and 200 again once it is back (HS_PG_START), without restarting the server. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"

#define QUICK_MS 2000 /* how long any answer may take, outage or not */

static const char *pg_stop, *pg_start;
static int pg_down;

/* Whatever happens to this test, the cluster the other tests use is left running. */
static void restore_pg(void)
{
    if (pg_down && ts_run_command(pg_start, 60000) != 0)
        fprintf(stderr, "could not restart PostgreSQL with %s\n", pg_start);
}

static void get_quick(ts_server_t *s, const char *path, ts_resp_t *r)
{
    ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, path), .timeout_ms = QUICK_MS + 1000}, r);
    CHECK(r->status != 0 && r->elapsed_ms < QUICK_MS);
    if (r->status == 0 || r->elapsed_ms >= QUICK_MS)
        fprintf(stderr, "  GET %s: status %ld after %lld ms %s\n", path, r->status, (long long)r->elapsed_ms, r->error);
}

/* Polls GET /ready (bounded) until it answers `status`; returns 1 if it did. */
static int ready_becomes(ts_server_t *s, long status, int timeout_ms)
{
    for (int64_t deadline = ts_now_ms() + timeout_ms; ts_now_ms() < deadline;) {
        ts_resp_t r;
        get_quick(s, "/ready", &r);
        long got = r.status;
        ts_resp_free(&r);
        if (got == status)
            return 1;
        ts_nap_ms(100);
    }
    return 0;
}

/* ready_becomes, then READY_STEADY answers in a row on new connections (any thread). */
#define READY_STEADY 10
static int ready_becomes_steady(ts_server_t *s, long status, int timeout_ms)
{
    int64_t deadline = ts_now_ms() + timeout_ms;
    while (ready_becomes(s, status, (int)(deadline - ts_now_ms()))) {
        int same = 0;
        for (; same < READY_STEADY; same++) {
            ts_resp_t r;
            ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, "/ready"), .timeout_ms = QUICK_MS}, &r);
            long got = r.status;
            ts_resp_free(&r);
            if (got != status)
                break;
        }
        if (same == READY_STEADY)
            return 1;
        if (ts_now_ms() >= deadline)
            break;
    }
    return 0;
}

static void check_unavailable(ts_resp_t *r)
{
    TS_EXPECT_ERROR(r, 503, "unavailable");
    TS_EXPECT_APP_HEADERS(r, 0);
    yajl_val t = ts_json_parse(r->body, "/ready during the outage");
    CHECK_STR(ts_json_get_str(t, "checks", "database"), "unavailable");
    if (getenv("REDIS_URL") != NULL && *getenv("REDIS_URL") != '\0')
        CHECK_STR(ts_json_get_str(t, "checks", "redis"), "ok"); /* only the failing check is marked */
    ts_json_free(t);
}

int main(void)
{
    ts_env_require("DATABASE_URL", "this test needs the test PostgreSQL; run it through scripts/test.sh (make test)");
    pg_stop = ts_env_require("HS_PG_STOP", "scripts/test.sh must export the script that stops the test PostgreSQL");
    pg_start = ts_env_require("HS_PG_START", "scripts/test.sh must export the script that starts the test PostgreSQL");
    atexit(restore_pg);

    ts_server_t *s = ts_server_start(NULL);
    REQUIRE(s != NULL);
    REQUIRE(ready_becomes(s, 200, 10000));

    pg_down = 1;
    REQUIRE(ts_run_command(pg_stop, 60000) == 0);

    /* the outage is noticed quickly, and every answer stays quick */
    CHECK(ready_becomes(s, 503, 5000));
    for (int i = 0; i < 3; i++) {
        ts_resp_t r;
        get_quick(s, "/ready", &r);
        check_unavailable(&r);
        ts_resp_free(&r);

        get_quick(s, "/health", &r); /* no I/O: unaffected */
        TS_EXPECT_STATUS(&r, 200);
        ts_resp_free(&r);

        get_quick(s, "/health/database", &r);
        ts_resp_free(&r);
    }

    REQUIRE(ts_run_command(pg_start, 60000) == 0);
    pg_down = 0;

    /* the pools reconnect by themselves: each thread's own, so /ready (answered by whichever
     * thread the connection lands on) is 200 for good only once every thread is back */
    CHECK(ready_becomes_steady(s, 200, 30000));
    ts_resp_t r;
    get_quick(s, "/ready", &r);
    TS_EXPECT_STATUS(&r, 200);
    yajl_val t = ts_json_parse(r.body, "/ready after the restart");
    CHECK_STR(ts_json_get_str(t, "checks", "database"), "ok");
    ts_json_free(t);
    ts_resp_free(&r);

    /* the pool's numbers are a periodically refreshed snapshot: poll (bounded) until it is up */
    const char *status = NULL;
    char last[64] = "";
    for (int64_t deadline = ts_now_ms() + 5000; ts_now_ms() < deadline && strcmp(last, "ok") != 0; ts_nap_ms(50)) {
        get_quick(s, "/health/database", &r);
        TS_EXPECT_STATUS(&r, 200);
        t = ts_json_parse(r.body, "/health/database after the restart");
        status = ts_json_get_str(t, "status");
        snprintf(last, sizeof(last), "%s", status ? status : "(absent)");
        ts_json_free(t);
        ts_resp_free(&r);
    }
    CHECK_STR(last, "ok");

    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
    return check_done("integration/test_pg_restart");
}
