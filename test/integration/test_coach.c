/* Coaching through the real server against the mock provider: a chat turn streamed over HTTP/2
 * and stored as interactions, the coach's playbook tools, a practice turn (the model plays the
 * client, without tools), ending a practice session with a scored assessment (assessments,
 * levels, the session's score), a failed assessment leaving the session open, and the hourly
 * quota per organization. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/mock_llm.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/api/v1/sessions:\n"
                                                               "  app.handler: sessions\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/sailwind:\n"
                                                               "  app.handler: sailwind\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/goals:\n"
                                                               "  app.handler: goals\n"
                                                               "  app.auth: required\n";

static ts_mock_t *mock;
static PGconn *db;

/* POSTs a turn to a session as w over HTTP/2; returns the status and the stream's body. */
static long post_turn(const ts_who_t *w, const char *session, const char *content, char **body)
{
    char path[160], json[512];
    snprintf(path, sizeof(path), "/api/v1/sessions/%s/messages", session);
    snprintf(json, sizeof(json), "{\"content\":\"%s\"}", content);
    ts_resp_t r;
    ts_rest_call("POST", path, w, json, NULL, TS_H2C_PRIOR, &r);
    long status = r.status;
    if (status == 200)
        CHECK_CONTAINS(ts_resp_header(&r, "content-type"), "text/event-stream");
    *body = strdup(r.body ? r.body : "");
    ts_resp_free(&r);
    return status;
}

/* The JSON of the first `event: type` in an SSE body (parsed), or NULL. */
static yajl_val event_data(const char *body, const char *type)
{
    char needle[64];
    snprintf(needle, sizeof(needle), "event: %s\ndata: ", type);
    const char *p = strstr(body, needle);
    if (p == NULL)
        return NULL;
    p += strlen(needle);
    const char *end = strchr(p, '\n');
    char *json = strndup(p, end ? (size_t)(end - p) : strlen(p));
    yajl_val v = ts_json_parse(json, type);
    free(json);
    return v;
}

static char *new_session(const ts_who_t *w)
{
    yajl_val t = TS_REST_JSON("POST", "/api/v1/sessions", w, "{\"kind\":\"chat\"}", 201);
    const char *got = t != NULL ? ts_json_get_str(t, "id") : NULL;
    REQUIRE(got != NULL);
    char *id = strdup(got);
    ts_json_free(t);
    return id;
}

static void test_chat(const ts_who_t *admin, const ts_who_t *rep, const ts_who_t *other)
{
    ts_json_free(TS_REST_JSON("POST", "/api/v1/sailwind/clients", admin, "{\"name\":\"Acme Robotics\",\"industry\":\"Manufacturing\"}",
                              201));
    char *session = new_session(rep);
    ts_mock_reset(mock);
    CHECK_INT(ts_mock_script(mock, "[{\"tool_calls\":[{\"id\":\"c1\",\"name\":\"get_client\",\"arguments\":\"{\\\"name\\\":\\\"acme\\\"}\"}]},"
                                    "{\"text\":\"Acme builds robots: lead with uptime.\"}]"),
              0);
    char *body;
    CHECK_INT(post_turn(rep, session, "How should I pitch Acme?", &body), 200);
    yajl_val start = event_data(body, "message_start"), end = event_data(body, "message_end");
    yajl_val result = event_data(body, "tool_result");
    REQUIRE(start != NULL && end != NULL && result != NULL);
    const char *id = ts_json_get_str(start, "message_id");
    CHECK_STR(ts_json_get_str(end, "message_id"), id);
    CHECK_STR(ts_json_get_str(end, "content"), "Acme builds robots: lead with uptime.");
    CHECK_STR(ts_json_get_str(result, "result", "matches", "0", "name"), "Acme Robotics");
    CHECK_STR(ts_json_get_str(result, "result", "matches", "0", "industry"), "Manufacturing");

    /* both turns stored, the reply with its run */
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/sessions/%s/interactions", session);
    yajl_val t = TS_REST_JSON("GET", path, rep, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 2);
    CHECK_STR(ts_json_get_str(t, "items", "0", "role"), "user");
    CHECK_STR(ts_json_get_str(t, "items", "0", "content"), "How should I pitch Acme?");
    CHECK_STR(ts_json_get_str(t, "items", "1", "role"), "assistant");
    CHECK_STR(ts_json_get_str(t, "items", "1", "id"), id);
    CHECK_STR(ts_json_get_str(t, "items", "1", "run_id"), id);
    ts_json_free(t);
    CHECK_INT(ts_db_count_becomes(db, "SELECT count(*) FROM pipeline_runs WHERE id = $1 AND kind = 'coach_chat' AND status = 'succeeded'",
                          TS_DB_PARAMS(id), 1, 5000), 1);
    ts_json_free(start);
    ts_json_free(end);
    ts_json_free(result);
    free(body);

    /* the coach was told about its tools; the second round carried the tool's answer */
    char *reqs = ts_mock_requests(mock);
    yajl_val rq = ts_json_parse(reqs, "requests");
    CHECK_INT(ts_json_len(ts_json_get(rq, "0", "body", "tools")), 3);
    CHECK_CONTAINS(ts_json_get_str(rq, "1", "body", "messages", "3", "content"), "Acme Robotics");
    ts_json_free(rq);
    free(reqs);

    /* the next turn carries the history: the newest turns within run.history-tokens: 12 (about 48
     * characters), so the reply (37) but not the question before it (24 more) */
    ts_mock_reset(mock);
    CHECK_INT(post_turn(rep, session, "And the price?", &body), 200);
    free(body);
    reqs = ts_mock_requests(mock);
    rq = ts_json_parse(reqs, "requests");
    CHECK_INT(ts_json_len(ts_json_get(rq, "0", "body", "messages")), 3);
    CHECK_STR(ts_json_get_str(rq, "0", "body", "messages", "1", "content"), "Acme builds robots: lead with uptime.");
    CHECK_STR(ts_json_get_str(rq, "0", "body", "messages", "1", "role"), "assistant");
    CHECK_STR(ts_json_get_str(rq, "0", "body", "messages", "2", "content"), "And the price?");
    ts_json_free(rq);
    free(reqs);

    /* someone else's session, a bad body, no token */
    CHECK_INT(post_turn(other, session, "hi", &body), 404);
    free(body);
    snprintf(path, sizeof(path), "/api/v1/sessions/%s/messages", session);
    TS_REST_422("POST", path, rep, "{\"content\":\"\"}", "string_too_short", "body", "content");
    TS_REST_ERROR("POST", path, NULL, "{\"content\":\"x\"}", 401, "unauthorized");

    /* a chat session just ends; then it takes no more turns */
    snprintf(path, sizeof(path), "/api/v1/sessions/%s/end", session);
    t = TS_REST_JSON("POST", path, rep, NULL, 200);
    CHECK_STR(ts_json_get_str(t, "status"), "completed");
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "ended_at")));
    ts_json_free(t);
    TS_REST_ERROR("POST", path, rep, NULL, 409, "conflict");
    CHECK_INT(post_turn(rep, session, "hello again", &body), 409);
    free(body);
    free(session);
}

static void test_practice(const ts_who_t *admin, const ts_who_t *rep)
{
    /* two skills of this run (skills are global) */
    char k1[64], k2[64];
    snprintf(k1, sizeof(k1), "%s", ts_jwt_unique("disc"));
    snprintf(k2, sizeof(k2), "%s", ts_jwt_unique("close"));
    for (char *p = k1; *p; p++)
        *p = *p == '-' ? '_' : *p;
    for (char *p = k2; *p; p++)
        *p = *p == '-' ? '_' : *p;
    CHECK_INT(ts_db_count(db,
                          "WITH i AS (INSERT INTO skills (key, name) VALUES ($1, 'Discovery'), ($2, 'Closing') RETURNING 1)"
                          " SELECT count(*) FROM i",
                          TS_DB_PARAMS(k1, k2)),
              2);

    yajl_val t = TS_REST_JSON("POST", "/api/v1/sailwind/clients", admin, "{\"name\":\"Globex Foods\"}", 201);
    char body[512];
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\",", ts_json_get_str(t, "id"));
    ts_json_free(t);
    t = TS_REST_JSON("POST", "/api/v1/sailwind/products", admin, "{\"name\":\"Cold Chain Sensor\"}", 201);
    snprintf(body + strlen(body), sizeof(body) - strlen(body), "\"product_id\":\"%s\"}", ts_json_get_str(t, "id"));
    ts_json_free(t);
    t = TS_REST_JSON("POST", "/api/v1/sailwind/practice-sessions", rep, body, 201);
    const char *got = t != NULL ? ts_json_get_str(t, "id") : NULL;
    REQUIRE(got != NULL);
    char *session = strdup(got);
    ts_json_free(t);

    ts_mock_reset(mock);
    CHECK_INT(ts_mock_script(mock, "{\"text\":\"We already have sensors. Why switch?\"}"), 0);
    char *out;
    CHECK_INT(post_turn(rep, session, "Hi, I'd like to show you our sensor.", &out), 200);
    CHECK_CONTAINS(out, "We already have sensors. Why switch?");
    free(out);
    char *reqs = ts_mock_requests(mock);
    yajl_val rq = ts_json_parse(reqs, "requests");
    const char *system = ts_json_get_str(rq, "0", "body", "messages", "0", "content");
    CHECK_CONTAINS(system, "role-play");
    CHECK_CONTAINS(system, "Globex Foods");
    CHECK_CONTAINS(system, "Cold Chain Sensor");
    CHECK(ts_json_get(rq, "0", "body", "tools") == NULL); /* in character: no lookups */
    ts_json_free(rq);
    free(reqs);

    /* an answer that is not the asked-for JSON: 503, the session stays open */
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/sessions/%s/end", session);
    CHECK_INT(ts_mock_script(mock, "{\"text\":\"You did fine!\"}"), 0);
    TS_REST_ERROR("POST", path, rep, NULL, 503, "unavailable");
    CHECK_INT(ts_db_count(db, "SELECT count(*) FROM sessions WHERE id = $1 AND status = 'active'", TS_DB_PARAMS(session)), 1);

    /* the assessment, wrapped in prose as models do; an unknown skill and an out-of-range score
     * are ignored */
    char script[1024];
    snprintf(script, sizeof(script),
             "{\"text\":\"Here you go: {\\\"scores\\\": {\\\"%s\\\": {\\\"score\\\": 80, \\\"feedback\\\": \\\"Good questions.\\\"},"
             " \\\"%s\\\": {\\\"score\\\": 60, \\\"feedback\\\": \\\"Ask for the deal.\\\"},"
             " \\\"no_such_skill\\\": {\\\"score\\\": 10}, \\\"%s_x\\\": {\\\"score\\\": 400}}}\"}",
             k1, k2, k1);
    CHECK_INT(ts_mock_script(mock, script), 0);
    t = TS_REST_JSON("POST", path, rep, NULL, 200);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "status"), "completed");
    CHECK_INT(ts_json_get_int(t, "score"), 70);
    CHECK_INT(ts_json_len(ts_json_get(t, "assessments")), 2);
    ts_json_free(t);
    CHECK_INT(ts_db_count(db, "SELECT count(*) FROM skill_assessments WHERE session_id = $1", TS_DB_PARAMS(session)), 2);
    CHECK_INT(ts_db_count(db, "SELECT level FROM user_skills u JOIN skills k ON k.id = u.skill_id WHERE k.key = $1"
                              " AND u.user_id = $2",
                          TS_DB_PARAMS(k1, rep->user_id)),
              80);
    TS_REST_ERROR("POST", path, rep, NULL, 409, "conflict");
    free(session);

    /* the coach knows the rep's levels now */
    session = new_session(rep);
    ts_mock_reset(mock);
    CHECK_INT(post_turn(rep, session, "What should I work on?", &out), 200);
    free(out);
    reqs = ts_mock_requests(mock);
    rq = ts_json_parse(reqs, "requests");
    CHECK_CONTAINS(ts_json_get_str(rq, "0", "body", "messages", "0", "content"), "Discovery 80/100");
    ts_json_free(rq);
    free(reqs);
    free(session);
}

/* The titles of a goal's tasks, in plan order, joined by '|'. */
static void goal_titles(const ts_who_t *w, const char *goal, char *out, size_t cap)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/goals/%s/tasks", goal);
    yajl_val t = TS_REST_JSON("GET", path, w, NULL, 200);
    out[0] = '\0';
    for (size_t i = 0; i < ts_json_len(ts_json_get(t, "items")); i++) {
        const char *title = ts_json_get_str(ts_json_index(ts_json_get(t, "items"), i), "title");
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "|" : "", title ? title : "?");
    }
    ts_json_free(t);
}

static void test_plan(const ts_who_t *w, const ts_who_t *other)
{
    yajl_val t = TS_REST_JSON("POST", "/api/v1/goals", w, "{\"title\":\"Run a 10k\",\"target_date\":\"2026-12-31\"}", 201);
    const char *got = t != NULL ? ts_json_get_str(t, "id") : NULL;
    REQUIRE(got != NULL);
    char goal[40], path[160], titles[256];
    snprintf(goal, sizeof(goal), "%s", got);
    ts_json_free(t);
    snprintf(path, sizeof(path), "/api/v1/goals/%s/plan", goal);

    /* three calls in one round, the second refused by the tool (estimate 0), then a sentence */
    ts_mock_reset(mock);
    CHECK_INT(ts_mock_script(mock,
                             "[{\"tool_calls\":["
                             "{\"id\":\"a\",\"name\":\"create_task\",\"arguments\":\"{\\\"title\\\":\\\"Buy shoes\\\",\\\"estimate_minutes\\\":60}\"},"
                             "{\"id\":\"b\",\"name\":\"create_task\",\"arguments\":\"{\\\"title\\\":\\\"Nap\\\",\\\"estimate_minutes\\\":0}\"},"
                             "{\"id\":\"c\",\"name\":\"create_task\",\"arguments\":\"{\\\"title\\\":\\\"First run\\\",\\\"estimate_minutes\\\":45,"
                             "\\\"due_date\\\":\\\"2026-12-01\\\"}\"}]},"
                             "{\"text\":\"Planned.\"}]"),
              0);
    t = TS_REST_JSON("POST", path, w, NULL, 201);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "goal_id"), goal);
    CHECK_INT(ts_json_len(ts_json_get(t, "tasks")), 2);
    CHECK_STR(ts_json_get_str(t, "tasks", "0", "title"), "Buy shoes");
    CHECK_INT(ts_json_get_int(t, "tasks", "0", "estimate_minutes"), 60);
    CHECK_STR(ts_json_get_str(t, "tasks", "1", "due_date"), "2026-12-01");
    CHECK_STR(ts_json_get_str(t, "tasks", "1", "status"), "pending");
    ts_json_free(t);
    goal_titles(w, goal, titles, sizeof(titles));
    CHECK_STR(titles, "Buy shoes|First run");
    /* the refused call was answered with why, for the model to fix */
    char *reqs = ts_mock_requests(mock);
    CHECK_CONTAINS(reqs, "greater than or equal to 1");
    free(reqs);

    /* planning again replaces the pending plan; a failed planner changes nothing */
    CHECK_INT(ts_mock_script(mock, "[{\"tool_calls\":[{\"id\":\"d\",\"name\":\"create_task\","
                                    "\"arguments\":\"{\\\"title\\\":\\\"Sign up\\\",\\\"estimate_minutes\\\":10}\"}]},{\"text\":\"ok\"}]"),
              0);
    ts_json_free(TS_REST_JSON("POST", path, w, NULL, 201));
    goal_titles(w, goal, titles, sizeof(titles));
    CHECK_STR(titles, "Sign up");
    CHECK_INT(ts_mock_script(mock, "{\"status\":500}"), 0);
    TS_REST_ERROR("POST", path, w, NULL, 503, "unavailable");
    goal_titles(w, goal, titles, sizeof(titles));
    CHECK_STR(titles, "Sign up");
    TS_REST_ERROR("POST", path, other, NULL, 404, "not_found");
}

static void test_quota(void)
{
    /* run.quota-per-hour: 4: an organization with four runs in the last hour is refused */
    ts_who_t w;
    ts_who_make(&w, NULL, ts_jwt_unique("org_quota"), "member");
    char *session = new_session(&w);
    CHECK_INT(ts_db_count(db,
                          "WITH i AS (INSERT INTO pipeline_runs (organization_id, kind, status, ended_at)"
                          " SELECT $1, 'coach_chat', 'succeeded', now() FROM generate_series(1, 4) RETURNING 1)"
                          " SELECT count(*) FROM i",
                          TS_DB_PARAMS(w.org_id)),
              4);
    char *body;
    CHECK_INT(post_turn(&w, session, "hello", &body), 429);
    free(body);
    CHECK_INT(ts_db_count(db, "SELECT count(*) FROM interactions WHERE session_id = $1", TS_DB_PARAMS(session)), 0);
    free(session);
    ts_who_free(&w);
}

int main(void)
{
    mock = ts_mock_start();
    char base[160];
    snprintf(base, sizeof(base), "OPENAI_BASE_URL=%s/v1", mock->base);
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, "LLM_PROVIDER=openai", "OPENAI_API_KEY=sk-coach-test-key-000000000000",
                         base, NULL};
    ts_server_t *srv = ts_server_start(&(ts_server_opts_t){
        .paths_yaml = PATHS, .extra_global_yaml = "run.quota-per-hour: 4\nrun.history-tokens: 12\n", .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    db = ts_rest_db();
    /* each organization below runs at most four times, the quota */
    ts_who_t admin, rep, other, admin2, rep2;
    ts_who_make(&admin, NULL, ts_jwt_unique("org_coach"), "admin");
    ts_who_make(&rep, NULL, admin.org, "member");
    ts_who_make(&other, NULL, admin.org, "member");
    ts_who_make(&admin2, NULL, ts_jwt_unique("org_coach2"), "admin");
    ts_who_make(&rep2, NULL, admin2.org, "member");

    test_chat(&admin, &rep, &other);
    test_practice(&admin2, &rep2);
    test_quota();
    ts_who_t planner, planner2;
    ts_who_make(&planner, NULL, ts_jwt_unique("org_plan"), "member");
    ts_who_make(&planner2, NULL, planner.org, "member");
    test_plan(&planner, &planner2);
    ts_who_free(&planner);
    ts_who_free(&planner2);

    PQfinish(db);
    ts_who_free(&admin);
    ts_who_free(&rep);
    ts_who_free(&other);
    ts_who_free(&admin2);
    ts_who_free(&rep2);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    ts_mock_stop(mock);
    return check_done("coach");
}
