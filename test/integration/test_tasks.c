/* Background tasks (any member enqueues with a 202; the organization's members read them; other
 * organizations see nothing) and a goal's tasks (personal, in plan order) through the real
 * server: shapes, every validation rule, keyset pages and Idempotency-Key replays. */
#include <stdio.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"
#define TASKS "/api/v1/tasks"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/api/v1/tasks:\n"
                                                               "  app.handler: tasks\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/goals:\n"
                                                               "  app.handler: goals\n"
                                                               "  app.auth: required\n";

static PGconn *db;

static void copy_id(char *out, yajl_val t)
{
    const char *id = ts_json_get_str(t, "id");
    REQUIRE(id != NULL);
    snprintf(out, 40, "%s", id);
}

static void test_enqueue(ts_who_t *member, ts_who_t *member2, ts_who_t *admin, ts_who_t *b)
{
    ts_resp_t r;
    ts_rest_call("POST", TASKS, member, "{\"type\":\"crm.sync_contacts\",\"payload\":{\"since\":\"2026-11-01\",\"n\":3}}",
                 NULL, TS_H1, &r);
    CHECK_INT(r.status, 202);
    yajl_val t = ts_json_parse(r.body, "task");
    REQUIRE(t != NULL);
    char id[40], path[128];
    copy_id(id, t);
    snprintf(path, sizeof(path), TASKS "/%s", id);
    CHECK_STR(ts_resp_header(&r, "location"), path);
    CHECK_STR(ts_json_get_str(t, "type"), "crm.sync_contacts");
    CHECK_STR(ts_json_get_str(t, "payload", "since"), "2026-11-01");
    CHECK_INT(ts_json_get_int(t, "payload", "n"), 3);
    CHECK_STR(ts_json_get_str(t, "status"), "pending");
    CHECK_INT(ts_json_get_int(t, "attempts"), 0);
    CHECK(ts_json_get(t, "last_error") != NULL && YAJL_IS_NULL(ts_json_get(t, "last_error")));
    CHECK(ts_json_get(t, "result") != NULL && YAJL_IS_NULL(ts_json_get(t, "result")));
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "run_after"))); /* now, by default */
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "created_at")));
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "updated_at")));
    CHECK_STR(ts_json_get_str(t, "user_id"), member->user_id);
    CHECK(ts_json_get(t, "locked_by") == NULL && ts_json_get(t, "locked_at") == NULL); /* the worker's business */
    CHECK_INT(ts_json_len(t), 11);
    ts_resp_free(&r);

    /* the organization reads it: the enqueuer, colleagues, admins; nobody outside */
    const ts_who_t *readers[] = {member, member2, admin};
    for (size_t i = 0; i < 3; i++) {
        yajl_val g = TS_REST_JSON("GET", path, readers[i], NULL, 200);
        CHECK(g != NULL && ts_json_equal(g, t));
        ts_json_free(g);
    }
    TS_REST_ERROR("GET", path, b, NULL, 404, "not_found");
    TS_REST_ERROR("GET", TASKS "/not-a-uuid", member, NULL, 404, "not_found");
    yajl_val l = TS_REST_JSON("GET", TASKS, b, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(l, "items")), 0);
    ts_json_free(l);
    ts_json_free(t);

    /* payload defaults to {}; run_after takes any offset and is written in UTC */
    t = TS_REST_JSON("POST", TASKS, admin, "{\"type\":\"report.weekly\",\"run_after\":\"2026-12-01T10:00:00.5+02:00\"}",
                     202);
    CHECK(ts_json_is_object(t, "payload"));
    CHECK_INT(ts_json_len(ts_json_get(t, "payload")), 0);
    CHECK_STR(ts_json_get_str(t, "run_after"), "2026-12-01T08:00:00Z");
    CHECK_STR(ts_json_get_str(t, "user_id"), admin->user_id);
    ts_json_free(t);

    /* a task of a memory rule has no enqueuer; members see it too */
    CHECK_INT(ts_db_count(db,
                          "WITH x AS (INSERT INTO tasks (organization_id, type) VALUES ($1::uuid, 'follow_up')"
                          " RETURNING 1) SELECT count(*) FROM x",
                          TS_DB_PARAMS(member->org_id)),
              1);
    l = TS_REST_JSON("GET", TASKS, member2, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(l, "items")), 3);
    CHECK_STR(ts_json_get_str(l, "items", "0", "type"), "follow_up"); /* newest first */
    CHECK(YAJL_IS_NULL(ts_json_get(l, "items", "0", "user_id")));
    CHECK_STR(ts_json_get_str(l, "items", "2", "id"), id);
    ts_json_free(l);

    /* each rule */
    TS_REST_422("POST", TASKS, member, "{}", "missing", "body", "type");
    TS_REST_422("POST", TASKS, member, "{\"type\":\"Sync Contacts\"}", "string_pattern_mismatch", "body", "type");
    TS_REST_422("POST", TASKS, member, "{\"type\":\"\"}", "string_too_short", "body", "type");
    TS_REST_422("POST", TASKS, member, "{\"type\":7}", "string_type", "body", "type");
    char body[256];
    char *longtype = ts_repeat('a', 65);
    snprintf(body, sizeof(body), "{\"type\":\"%s\"}", longtype);
    TS_REST_422("POST", TASKS, member, body, "string_too_long", "body", "type");
    snprintf(body, sizeof(body), "{\"type\":\"%.64s\"}", longtype); /* 64 is the most */
    t = TS_REST_JSON("POST", TASKS, member, body, 202);
    ts_json_free(t);
    free(longtype);
    TS_REST_422("POST", TASKS, member, "{\"type\":\"x\",\"payload\":[1]}", "dict_type", "body", "payload");
    TS_REST_422("POST", TASKS, member, "{\"type\":\"x\",\"payload\":null}", "dict_type", "body", "payload");
    TS_REST_422("POST", TASKS, member, "{\"type\":\"x\",\"run_after\":\"tomorrow\"}", "datetime_parsing", "body",
                "run_after");
    TS_REST_422("POST", TASKS, member, "{\"type\":\"x\",\"run_after\":\"2026-02-30T10:00:00Z\"}", "datetime_parsing",
                "body", "run_after");
    TS_REST_422("POST", TASKS, member, "{\"type\":\"x\",\"run_after\":\"2026-12-01T10:00:00\"}", "datetime_parsing",
                "body", "run_after"); /* no offset */
    TS_REST_422("POST", TASKS, member, "{\"type\":\"x\",\"run_after\":\"2026-12-01T24:00:00Z\"}", "datetime_parsing",
                "body", "run_after");
    TS_REST_422("POST", TASKS, member, "{\"type\":\"x\",\"status\":\"done\"}", "extra_forbidden", "body", "status");
    TS_REST_422("POST", TASKS, member, "{\"type\":\"x\",\"user_id\":null}", "extra_forbidden", "body", "user_id");

    /* not edited or deleted through the API */
    ts_rest_call("PATCH", path, admin, "{\"status\":\"done\"}", NULL, TS_H1, &r);
    CHECK_INT(r.status, 405);
    ts_resp_free(&r);
    ts_rest_call("DELETE", path, admin, NULL, NULL, TS_H1, &r);
    CHECK_INT(r.status, 405);
    ts_resp_free(&r);
}

/* A fresh organization's N tasks, the first through an Idempotency-Key replay (a 202 again, one
 * row); the walk in pages of 3 sees each once, newest first. */
static void test_task_pages(ts_who_t *w)
{
    enum { N = 7 };
    char made[N][40], body[128];
    for (int i = 0; i < N; i++) {
        snprintf(body, sizeof(body), "{\"type\":\"page.t%d\"}", i);
        yajl_val t = i == 0 ? TS_REST_REPLAY(TASKS, w, body, 202) : TS_REST_JSON("POST", TASKS, w, body, 202);
        REQUIRE(t != NULL);
        copy_id(made[i], t);
        ts_json_free(t);
    }
    CHECK_INT(ts_db_count(db, "SELECT count(*) FROM tasks WHERE organization_id = $1::uuid", TS_DB_PARAMS(w->org_id)), N);
    char seen[N + 4][40];
    CHECK_INT(TS_REST_WALK(TASKS, w, 3, seen, N + 4), N);
    CHECK(ts_ids_in_order(seen, made, N, 1));
    TS_REST_422("GET", TASKS "?limit=0", w, NULL, NULL, "query", "limit");
    TS_REST_422("GET", TASKS "?cursor=bogus", w, NULL, NULL, "query", "cursor");
}

/* Inserts a task of the goal at this position, created `ago` seconds ago; its id into out. */
static void add_goal_task(const ts_who_t *w, const char *goal, const char *title, const char *position, const char *ago,
                          char *out)
{
    const char *params[] = {goal, w->user_id, title, position, ago, NULL};
    PGresult *res = PQexecParams(db,
                                 "INSERT INTO goal_tasks (goal_id, user_id, title, estimate_minutes, position, created_at)"
                                 " VALUES ($1::uuid, $2::uuid, $3, 30, $4::int, now() - ($5 || ' seconds')::interval)"
                                 " RETURNING id::text",
                                 5, NULL, params, NULL, NULL, 0);
    REQUIRE(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1);
    snprintf(out, 40, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

static void test_goal_tasks(ts_who_t *owner, ts_who_t *colleague, ts_who_t *b)
{
    yajl_val t = TS_REST_JSON("POST", "/api/v1/goals", owner, "{\"title\":\"Close Q4\"}", 201);
    REQUIRE(t != NULL);
    char goal[40], path[160];
    copy_id(goal, t);
    ts_json_free(t);
    snprintf(path, sizeof(path), "/api/v1/goals/%s/tasks", goal);

    /* no plan yet: an empty list */
    t = TS_REST_JSON("GET", path, owner, NULL, 200);
    CHECK(ts_json_is_array(t, "items"));
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);

    /* plan order: position, then creation; 7 tasks, two sharing a position */
    enum { N = 7 };
    static const char *const positions[N] = {"3", "0", "2", "1", "1", "5", "4"};
    static const char *const ago[N] = {"70", "60", "50", "40", "30", "20", "10"};
    static const int order[N] = {1, 3, 4, 2, 0, 6, 5}; /* indexes into made, in plan order */
    char made[N][40], want[N][40], title[32];
    for (int i = 0; i < N; i++) {
        snprintf(title, sizeof(title), "Step %d", i);
        add_goal_task(owner, goal, title, positions[i], ago[i], made[i]);
    }
    for (int i = 0; i < N; i++)
        snprintf(want[i], 40, "%s", made[order[i]]);
    t = TS_REST_JSON("GET", path, owner, NULL, 200);
    REQUIRE(t != NULL);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), N);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    yajl_val first = ts_json_get(t, "items", "0");
    CHECK_STR(ts_json_get_str(first, "id"), made[1]);
    CHECK_STR(ts_json_get_str(first, "goal_id"), goal);
    CHECK_STR(ts_json_get_str(first, "title"), "Step 1");
    CHECK_INT(ts_json_get_int(first, "estimate_minutes"), 30);
    CHECK(YAJL_IS_NULL(ts_json_get(first, "due_date")));
    CHECK_STR(ts_json_get_str(first, "status"), "pending");
    CHECK_INT(ts_json_get_int(first, "position"), 0);
    CHECK(ts_is_rfc3339_z(ts_json_get_str(first, "created_at")));
    CHECK(ts_is_rfc3339_z(ts_json_get_str(first, "updated_at")));
    CHECK_INT(ts_json_len(first), 9);
    ts_json_free(t);
    char seen[N + 4][40];
    for (int limit = 1; limit <= 3; limit++) {
        CHECK_INT(TS_REST_WALK(path, owner, limit, seen, N + 4), N);
        CHECK(ts_ids_in_order(seen, want, N, 0));
    }

    /* personal: another user's goal is a 404, in or out of the organization */
    TS_REST_ERROR("GET", path, colleague, NULL, 404, "not_found");
    TS_REST_ERROR("GET", path, b, NULL, 404, "not_found");
    TS_REST_ERROR("GET", "/api/v1/goals/not-a-uuid/tasks", owner, NULL, 404, "not_found");
    TS_REST_ERROR("GET", "/api/v1/goals/00000000-0000-4000-8000-00000000dead/tasks", owner, NULL, 404, "not_found");
    char q[256];
    snprintf(q, sizeof(q), "%s?limit=201", path);
    TS_REST_422("GET", q, owner, NULL, NULL, "query", "limit");
    snprintf(q, sizeof(q), "%s?cursor=bogus", path);
    TS_REST_422("GET", q, owner, NULL, NULL, "query", "cursor");
}

int main(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    ts_server_t *srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    db = ts_rest_db();
    ts_who_t admin, member, member2, b, c;
    char org_a[64], org_b[64], org_c[64]; /* unique per run, so a repeated run starts from empty orgs */
    snprintf(org_a, sizeof(org_a), "%s", ts_jwt_unique("org_tk_a"));
    snprintf(org_b, sizeof(org_b), "%s", ts_jwt_unique("org_tk_b"));
    snprintf(org_c, sizeof(org_c), "%s", ts_jwt_unique("org_tk_c"));
    ts_who_make(&admin, NULL, org_a, "admin");
    ts_who_make(&member, NULL, org_a, "member");
    ts_who_make(&member2, NULL, org_a, "member");
    ts_who_make(&b, NULL, org_b, "admin");
    ts_who_make(&c, NULL, org_c, "member");

    test_enqueue(&member, &member2, &admin, &b);
    test_task_pages(&c);
    test_goal_tasks(&member, &member2, &b);

    PQfinish(db);
    ts_who_free(&admin);
    ts_who_free(&member);
    ts_who_free(&member2);
    ts_who_free(&b);
    ts_who_free(&c);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("tasks");
}
