/* GET /api/v1/admin/pipeline-runs through the real server: runs written with SQL (their times,
 * kinds and statuses chosen, so that order, pages and filters are exact), listed newest first by
 * started_at across pages, filtered by status, kind and since (and their 422s), one run with its
 * events and provider calls, another organization's run a 404, a member a 403. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"
#define RUNS "/api/v1/admin/pipeline-runs"
#define NRUNS 6

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/api/v1/admin/pipeline-runs:\n"
                                                               "  app.handler: pipeline_admin\n"
                                                               "  app.auth: admin\n";

static PGconn *db;

/* Inserts a run of org (by user; "": none) started `ago` (a PostgreSQL interval) before a fixed
 * instant; returns its id. A run that is not running has ended a second after it started. */
static char *insert_run(const char *org, const char *user, const char *kind, const char *status, const char *ago)
{
    char *id = ts_db_text(db,
                          "INSERT INTO pipeline_runs (organization_id, user_id, kind, status, provider, model,"
                          " started_at, ended_at, latency_ms, tokens_in, tokens_out, error)"
                          " SELECT $1::uuid, NULLIF($2, '')::uuid, $3, $4, 'openai', 'gpt-test', s,"
                          "  CASE WHEN $4 = 'running' THEN NULL ELSE s + interval '1 second' END,"
                          "  CASE WHEN $4 = 'running' THEN NULL ELSE 1000 END, 10, 5,"
                          "  CASE WHEN $4 = 'failed' THEN 'The assistant is unavailable right now' END"
                          " FROM (SELECT timestamptz '2026-11-20T10:00:00Z' - $5::interval AS s) x RETURNING id::text",
                          TS_DB_PARAMS(org, user, kind, status, ago));
    REQUIRE(id != NULL);
    return id;
}

static void test_list_and_pages(const ts_who_t *admin, char (*want)[40])
{
    yajl_val t = TS_REST_JSON("GET", RUNS, admin, NULL, 200);
    REQUIRE(t != NULL);
    yajl_val items = ts_json_get(t, "items");
    REQUIRE(ts_json_len(items) == NRUNS);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    for (size_t i = 0; i < NRUNS; i++)
        CHECK_STR(ts_json_get_str(ts_json_index(items, i), "id"), want[i]);
    yajl_val first = ts_json_index(items, 0);
    CHECK_STR(ts_json_get_str(first, "kind"), "public_chat");
    CHECK_STR(ts_json_get_str(first, "status"), "succeeded");
    CHECK_STR(ts_json_get_str(first, "provider"), "openai");
    CHECK_STR(ts_json_get_str(first, "model"), "gpt-test");
    CHECK_STR(ts_json_get_str(first, "started_at"), "2026-11-20T10:00:00Z");
    CHECK_STR(ts_json_get_str(first, "ended_at"), "2026-11-20T10:00:01Z");
    CHECK_INT(ts_json_get_int(first, "latency_ms"), 1000);
    CHECK(YAJL_IS_NULL(ts_json_get(first, "ttft_ms")));
    CHECK_INT(ts_json_get_int(first, "tokens_in"), 10);
    CHECK_INT(ts_json_get_int(first, "tokens_out"), 5);
    CHECK(YAJL_IS_NULL(ts_json_get(first, "error")));
    CHECK_STR(ts_json_get_str(first, "user_id"), admin->user_id);
    CHECK(ts_json_get(first, "events") == NULL); /* the detail's, not the list's */
    CHECK(ts_json_get(first, "created_at") == NULL);
    ts_json_free(t);

    /* pages of 2, 4 and 5: every run once, in order, the tie at 10:00 broken by id */
    for (int limit = 2; limit <= 5; limit += limit == 2 ? 2 : 1) {
        char got[NRUNS + 1][40];
        CHECK_INT(TS_REST_WALK(RUNS, admin, limit, got, NRUNS + 1), NRUNS);
        CHECK(ts_ids_in_order(got, want, NRUNS, 0));
    }
    TS_REST_422("GET", RUNS "?limit=0", admin, NULL, "int_parsing", "query", "limit");
    TS_REST_422("GET", RUNS "?cursor=bogus", admin, NULL, "value_error", "query", "cursor");
}

/* The ids of a filtered list, joined with commas. */
static void ids_of(const char *path, const ts_who_t *w, char *out, size_t cap)
{
    yajl_val t = TS_REST_JSON("GET", path, w, NULL, 200);
    yajl_val items = ts_json_get(t, "items");
    out[0] = '\0';
    for (size_t i = 0; i < ts_json_len(items); i++) {
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", i ? "," : "", ts_json_get_str(ts_json_index(items, i), "id"));
    }
    ts_json_free(t);
}

static void test_filters(const ts_who_t *admin, char (*want)[40])
{
    char got[512], expect[512];
    ids_of(RUNS "?status=failed", admin, got, sizeof(got));
    CHECK_STR(got, want[3]);
    ids_of(RUNS "?kind=coach_chat", admin, got, sizeof(got));
    snprintf(expect, sizeof(expect), "%s,%s", want[2], want[3]);
    CHECK_STR(got, expect);
    ids_of(RUNS "?kind=coach_chat&status=running", admin, got, sizeof(got));
    CHECK_STR(got, want[2]);
    ids_of(RUNS "?status=cancelled&kind=voice", admin, got, sizeof(got));
    CHECK_STR(got, "");
    /* since: at or after, in any offset; the run at exactly 09:00 is included */
    ids_of(RUNS "?since=2026-11-20T09:00:00Z", admin, got, sizeof(got));
    snprintf(expect, sizeof(expect), "%s,%s,%s,%s", want[0], want[1], want[2], want[3]);
    CHECK_STR(got, expect);
    ids_of(RUNS "?since=2026-11-20T11:00:00%2B02:00", admin, got, sizeof(got));
    CHECK_STR(got, expect);
    ids_of(RUNS "?since=2026-11-20T09:00:00.000001Z&status=succeeded", admin, got, sizeof(got));
    snprintf(expect, sizeof(expect), "%s,%s", want[0], want[1]);
    CHECK_STR(got, expect);
    ids_of(RUNS "?since=2030-01-01T00:00:00Z", admin, got, sizeof(got));
    CHECK_STR(got, "");
    ids_of(RUNS "?since=2026-11-21T00:59:00%2B15:59", admin, got, sizeof(got)); /* = 09:00Z the 20th */
    snprintf(expect, sizeof(expect), "%s,%s,%s,%s", want[0], want[1], want[2], want[3]);
    CHECK_STR(got, expect);

    TS_REST_422("GET", RUNS "?status=done", admin, NULL, "enum", "query", "status");
    TS_REST_422("GET", RUNS "?status=", admin, NULL, "enum", "query", "status");
    TS_REST_422("GET", RUNS "?kind=chat", admin, NULL, "enum", "query", "kind");
    TS_REST_422("GET", RUNS "?since=yesterday", admin, NULL, "datetime_parsing", "query", "since");
    TS_REST_422("GET", RUNS "?since=2026-11-20", admin, NULL, "datetime_parsing", "query", "since");
    TS_REST_422("GET", RUNS "?since=2026-02-30T00:00:00Z", admin, NULL, "datetime_parsing", "query", "since");
    TS_REST_422("GET", RUNS "?since=2026-11-20T10:00:00", admin, NULL, "datetime_parsing", "query", "since");
    /* RFC 3339 allows offsets PostgreSQL does not take */
    TS_REST_422("GET", RUNS "?since=2026-11-20T10:00:00%2B16:00", admin, NULL, "datetime_parsing", "query", "since");
}

static void test_detail(const ts_who_t *admin, const char *id)
{
    /* written out of order: the detail orders them by seq */
    CHECK_INT(ts_db_count(db,
                          "WITH i AS (INSERT INTO pipeline_events (run_id, seq, type, data, at) VALUES"
                          " ($1::uuid, 1, 'stage.end', '{\"stage\":\"guardrails\"}', timestamptz '2026-11-20T10:00:00Z'),"
                          " ($1::uuid, 0, 'stage.start', '{\"stage\":\"guardrails\"}', timestamptz '2026-11-20T10:00:00Z')"
                          " RETURNING 1) SELECT count(*) FROM i",
                          TS_DB_PARAMS(id)),
              2);
    const char *call = "WITH i AS (INSERT INTO provider_calls (run_id, seq, provider, model, status, http_status,"
                       " started_at, latency_ms, ttft_ms, tokens_in, tokens_out, error) VALUES ($1::uuid, $2::int, $3,"
                       " 'm', $4, $5::int, timestamptz '2026-11-20T10:00:00.250Z', 300, NULLIF($6, '')::int, $7::int, 2, NULLIF($8, ''))"
                       " RETURNING 1) SELECT count(*) FROM i";
    CHECK_INT(ts_db_count(db, call, TS_DB_PARAMS(id, "1", "groq", "succeeded", "200", "40", "8", "")), 1);
    CHECK_INT(ts_db_count(db, call, TS_DB_PARAMS(id, "0", "openai", "failed", "500", "", "0", "upstream 500")), 1);

    char path[160];
    snprintf(path, sizeof(path), RUNS "/%s", id);
    yajl_val t = TS_REST_JSON("GET", path, admin, NULL, 200);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "id"), id);
    CHECK_STR(ts_json_get_str(t, "status"), "succeeded");
    yajl_val events = ts_json_get(t, "events");
    CHECK_INT(ts_json_len(events), 2);
    CHECK_INT(ts_json_get_int(events, "0", "seq"), 0);
    CHECK_STR(ts_json_get_str(events, "0", "type"), "stage.start");
    CHECK_STR(ts_json_get_str(events, "0", "data", "stage"), "guardrails");
    CHECK_STR(ts_json_get_str(events, "0", "at"), "2026-11-20T10:00:00Z");
    CHECK_STR(ts_json_get_str(events, "1", "type"), "stage.end");
    yajl_val calls = ts_json_get(t, "provider_calls");
    CHECK_INT(ts_json_len(calls), 2);
    CHECK_INT(ts_json_get_int(calls, "0", "seq"), 0);
    CHECK_STR(ts_json_get_str(calls, "0", "provider"), "openai");
    CHECK_STR(ts_json_get_str(calls, "0", "status"), "failed");
    CHECK_INT(ts_json_get_int(calls, "0", "http_status"), 500);
    CHECK(YAJL_IS_NULL(ts_json_get(calls, "0", "ttft_ms")));
    CHECK_STR(ts_json_get_str(calls, "0", "error"), "upstream 500");
    CHECK_STR(ts_json_get_str(calls, "1", "provider"), "groq");
    CHECK_STR(ts_json_get_str(calls, "1", "model"), "m");
    CHECK_STR(ts_json_get_str(calls, "1", "status"), "succeeded");
    CHECK_STR(ts_json_get_str(calls, "1", "started_at"), "2026-11-20T10:00:00Z");
    CHECK_INT(ts_json_get_int(calls, "1", "latency_ms"), 300);
    CHECK_INT(ts_json_get_int(calls, "1", "ttft_ms"), 40);
    CHECK_INT(ts_json_get_int(calls, "1", "tokens_in"), 8);
    CHECK_INT(ts_json_get_int(calls, "1", "tokens_out"), 2);
    CHECK(YAJL_IS_NULL(ts_json_get(calls, "1", "error")));
    ts_json_free(t);
}

static void test_access(const ts_who_t *admin, const ts_who_t *member, const ts_who_t *other, const char *id,
                        const char *other_id)
{
    char path[160];
    snprintf(path, sizeof(path), RUNS "/%s", id);
    /* a run without events or calls has empty lists */
    yajl_val t = TS_REST_JSON("GET", path, admin, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "events")), 0);
    CHECK(ts_json_get(t, "provider_calls") != NULL && ts_json_len(ts_json_get(t, "provider_calls")) == 0);
    ts_json_free(t);

    TS_REST_ERROR("GET", path, other, NULL, 404, "not_found"); /* another organization's run */
    TS_REST_ERROR("GET", path, member, NULL, 403, "forbidden");
    TS_REST_ERROR("GET", RUNS, member, NULL, 403, "forbidden");
    TS_REST_ERROR("GET", RUNS, NULL, NULL, 401, "unauthorized");
    TS_REST_ERROR("GET", RUNS "/not-a-uuid", admin, NULL, 404, "not_found");
    TS_REST_ERROR("GET", RUNS "/00000000-0000-4000-8000-000000000000", admin, NULL, 404, "not_found");
    TS_REST_ERROR("DELETE", path, admin, NULL, 405, "method_not_allowed"); /* a record, not editable */

    /* the other organization sees its own run only */
    yajl_val l = TS_REST_JSON("GET", RUNS, other, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(l, "items")), 1);
    CHECK_STR(ts_json_get_str(l, "items", "0", "id"), other_id);
    ts_json_free(l);
    snprintf(path, sizeof(path), RUNS "/%s", other_id);
    TS_REST_ERROR("GET", path, admin, NULL, 404, "not_found");
}

int main(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    ts_server_t *srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    db = ts_rest_db();

    const char *org = ts_jwt_unique("org_runs");
    ts_who_t admin, member, other;
    ts_who_make(&admin, NULL, org, "admin");
    ts_who_make(&member, NULL, org, "member");
    ts_who_make(&other, NULL, ts_jwt_unique("org_runs_other"), "admin");

    /* newest first: [0] at 10:00, [1] tied at 10:00 with a smaller id, then 09:30, 09:00, ... */
    char want[NRUNS][40];
    char *ids[NRUNS] = {
        insert_run(admin.org_id, admin.user_id, "public_chat", "succeeded", "0"),
        insert_run(admin.org_id, admin.user_id, "public_chat", "succeeded", "0"),
        insert_run(admin.org_id, member.user_id, "coach_chat", "running", "30 minutes"),
        insert_run(admin.org_id, member.user_id, "coach_chat", "failed", "1 hour"),
        insert_run(admin.org_id, "", "assessment", "cancelled", "1 hour 1 second"),
        insert_run(admin.org_id, "", "practice", "succeeded", "2 days"),
    };
    if (strcmp(ids[0], ids[1]) < 0) { /* the tie is ordered by id, descending */
        char *swap = ids[0];
        ids[0] = ids[1];
        ids[1] = swap;
    }
    for (size_t i = 0; i < NRUNS; i++)
        snprintf(want[i], sizeof(want[i]), "%s", ids[i]);
    char *other_id = insert_run(other.org_id, other.user_id, "voice", "succeeded", "0");

    test_list_and_pages(&admin, want);
    test_filters(&admin, want);
    test_detail(&admin, want[1]);
    test_access(&admin, &member, &other, want[0], other_id);

    for (size_t i = 0; i < NRUNS; i++)
        free(ids[i]);
    free(other_id);
    ts_who_free(&admin);
    ts_who_free(&member);
    ts_who_free(&other);
    PQfinish(db);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("admin_runs");
}
