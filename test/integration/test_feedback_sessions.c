/* Feedback (members write, admins read their organization's), skills (global definitions and the
 * caller's levels), sessions (personal: another user's session is a 404) with their interactions,
 * and the legal pages served from files, through the real server. */
#define _GNU_SOURCE 1 /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"

static const char MODULE_PATHS[] = "/api/v1/feedback:\n"
                                   "  app.handler: feedback\n"
                                   "  app.auth: required\n"
                                   "/api/v1/admin/feedback:\n"
                                   "  app.handler: admin_feedback\n"
                                   "  app.auth: admin\n"
                                   "/api/v1/skills:\n"
                                   "  app.handler: skills\n"
                                   "  app.auth: required\n"
                                   "/api/v1/my/skills:\n"
                                   "  app.handler: my_skills\n"
                                   "  app.auth: required\n"
                                   "/api/v1/sessions:\n"
                                   "  app.handler: sessions\n"
                                   "  app.auth: required\n";

/* The string `key` of every element of the page's items, joined with commas, into out. */
static const char *items_joined(yajl_val page, const char *key, char *out, size_t cap)
{
    yajl_val items = ts_json_get(page, "items");
    out[0] = '\0';
    for (size_t i = 0; i < ts_json_len(items); i++) {
        const char *s = ts_json_get_str(ts_json_index(items, i), key);
        size_t len = strlen(out);
        snprintf(out + len, cap - len, "%s%s", i ? "," : "", s ? s : "?");
    }
    return out;
}

static char *create_session(ts_who_t *w)
{
    yajl_val t = TS_REST_JSON("POST", "/api/v1/sessions", w, "{\"kind\":\"chat\"}", 201);
    const char *s = ts_json_get_str(t, "id");
    REQUIRE(t != NULL && s != NULL);
    char *id = strdup(s);
    ts_json_free(t);
    return id;
}

static void test_sessions(PGconn *db, ts_who_t *a1, ts_who_t *a2, ts_who_t *b)
{
    yajl_val t = TS_REST_JSON("POST", "/api/v1/sessions", a1, "{\"kind\":\"chat\"}", 201);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "kind"), "chat");
    CHECK_STR(ts_json_get_str(t, "status"), "active");
    CHECK(ts_json_get(t, "score") != NULL && YAJL_IS_NULL(ts_json_get(t, "score")));
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "created_at")));
    /* the resource layer shows updated_at only for resources that PATCH; sessions do not here */
    char first[40], path[160];
    snprintf(first, sizeof(first), "%s", ts_json_get_str(t, "id"));
    ts_json_free(t);
    t = TS_REST_JSON("POST", "/api/v1/sessions", a1, "{}", 201); /* kind defaults to chat */
    CHECK_STR(ts_json_get_str(t, "kind"), "chat");
    char second[40];
    snprintf(second, sizeof(second), "%s", ts_json_get_str(t, "id"));
    ts_json_free(t);

    TS_REST_422("POST", "/api/v1/sessions", a1, "{\"kind\":\"practice\"}", "enum", "body", "kind");
    TS_REST_422("POST", "/api/v1/sessions", a1, "{\"kind\":\"chat\",\"client_id\":null}", "extra_forbidden", "body",
                "client_id");

    /* the caller's, newest first; nobody else's */
    t = TS_REST_JSON("GET", "/api/v1/sessions", a1, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 2);
    CHECK_STR(ts_json_get_str(t, "items", "0", "id"), second);
    CHECK_STR(ts_json_get_str(t, "items", "1", "id"), first);
    ts_json_free(t);
    t = TS_REST_JSON("GET", "/api/v1/sessions", a2, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);
    /* ?kind= filters; a session that has ended says when */
    CHECK_INT(ts_db_count(db,
                          "WITH u AS (UPDATE sessions SET status = 'completed', ended_at = '2026-11-22T10:00:00.5Z'"
                          " WHERE id = $1 RETURNING 1) SELECT count(*) FROM u",
                          TS_DB_PARAMS(first)),
              1);
    t = TS_REST_JSON("GET", "/api/v1/sessions?kind=chat", a1, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 2);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "items", "0", "ended_at")));
    CHECK_STR(ts_json_get_str(t, "items", "1", "ended_at"), "2026-11-22T10:00:00Z");
    ts_json_free(t);
    t = TS_REST_JSON("GET", "/api/v1/sessions?kind=practice", a1, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);
    TS_REST_422("GET", "/api/v1/sessions?kind=meeting", a1, NULL, "enum", "query", "kind");

    snprintf(path, sizeof(path), "/api/v1/sessions/%s", first);
    t = TS_REST_JSON("GET", path, a1, NULL, 200);
    CHECK_STR(ts_json_get_str(t, "id"), first);
    ts_json_free(t);
    TS_REST_ERROR("GET", path, a2, NULL, 404, "not_found");
    TS_REST_ERROR("GET", path, b, NULL, 404, "not_found");
    TS_REST_ERROR("GET", "/api/v1/sessions/not-a-uuid", a1, NULL, 404, "not_found");

    /* three turns a minute apart, on whole seconds so that a timestamp names one exactly */
    const char *ins = "INSERT INTO interactions (session_id, role, content, created_at)"
                      " VALUES ($1::uuid, $2, $3, date_trunc('second', now()) - ($4 || ' minutes')::interval)"
                      " RETURNING id::text";
    char *i1 = ts_db_text(db, ins, TS_DB_PARAMS(first, "user", "one", "3"));
    char *i2 = ts_db_text(db, ins, TS_DB_PARAMS(first, "assistant", "two", "2"));
    char *i3 = ts_db_text(db, ins, TS_DB_PARAMS(first, "user", "three", "1"));
    REQUIRE(i1 != NULL && i2 != NULL && i3 != NULL);
    /* a turn of the other session is not listed */
    free(ts_db_text(db, ins, TS_DB_PARAMS(second, "user", "elsewhere", "1")));

    char url[256], got[256];
    snprintf(url, sizeof(url), "%s/interactions", path);
    t = TS_REST_JSON("GET", url, a1, NULL, 200);
    CHECK_STR(items_joined(t, "content", got, sizeof(got)), "one,two,three");
    CHECK_STR(ts_json_get_str(t, "items", "0", "role"), "user");
    CHECK_STR(ts_json_get_str(t, "items", "0", "session_id"), first);
    CHECK_STR(ts_json_get_str(t, "items", "0", "id"), i1);
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "items", "1", "created_at")));
    CHECK(YAJL_IS_NULL(ts_json_get(t, "items", "1", "run_id")));
    CHECK(YAJL_IS_FALSE(ts_json_get(t, "has_more")));
    char ts2[40];
    snprintf(ts2, sizeof(ts2), "%s", ts_json_get_str(t, "items", "1", "created_at"));
    ts_json_free(t);

    /* since: strictly after an interaction, or after a timestamp */
    snprintf(url, sizeof(url), "%s/interactions?since=%s", path, i1);
    t = TS_REST_JSON("GET", url, a1, NULL, 200);
    CHECK_STR(items_joined(t, "content", got, sizeof(got)), "two,three");
    ts_json_free(t);
    snprintf(url, sizeof(url), "%s/interactions?since=%s", path, i3);
    t = TS_REST_JSON("GET", url, a1, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);
    snprintf(url, sizeof(url), "%s/interactions?since=%s", path, ts2);
    t = TS_REST_JSON("GET", url, a1, NULL, 200);
    CHECK_STR(items_joined(t, "content", got, sizeof(got)), "three");
    ts_json_free(t);
    snprintf(url, sizeof(url), "%s/interactions?limit=2", path);
    t = TS_REST_JSON("GET", url, a1, NULL, 200);
    CHECK_STR(items_joined(t, "content", got, sizeof(got)), "one,two");
    CHECK(YAJL_IS_TRUE(ts_json_get(t, "has_more")));
    const char *next = ts_json_get_str(t, "next_cursor");
    REQUIRE(next != NULL);
    snprintf(url, sizeof(url), "%s/interactions?limit=2&cursor=%s", path, next);
    ts_json_free(t);
    t = TS_REST_JSON("GET", url, a1, NULL, 200);
    CHECK_STR(items_joined(t, "content", got, sizeof(got)), "three");
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);

    snprintf(url, sizeof(url), "%s/interactions?limit=0", path);
    TS_REST_422("GET", url, a1, NULL, NULL, "query", "limit");
    snprintf(url, sizeof(url), "%s/interactions?since=yesterday", path);
    TS_REST_422("GET", url, a1, NULL, NULL, "query", "since");
    snprintf(url, sizeof(url), "%s/interactions?since=2026-13-01T00:00:00Z", path);
    TS_REST_422("GET", url, a1, NULL, NULL, "query", "since");
    /* an interaction of another session is no point in this one */
    char *other = ts_db_text(db, "SELECT id::text FROM interactions WHERE session_id = $1::uuid", TS_DB_PARAMS(second));
    REQUIRE(other != NULL);
    snprintf(url, sizeof(url), "%s/interactions?since=%s", path, other);
    TS_REST_422("GET", url, a1, NULL, NULL, "query", "since");
    free(other);

    /* another user's session: 404, in or out of the organization */
    snprintf(url, sizeof(url), "%s/interactions", path);
    TS_REST_ERROR("GET", url, a2, NULL, 404, "not_found");
    TS_REST_ERROR("GET", url, b, NULL, 404, "not_found");
    TS_REST_ERROR("GET", "/api/v1/sessions/not-a-uuid/interactions", a1, NULL, 404, "not_found");

    free(i1);
    free(i2);
    free(i3);
}

static void test_feedback(ts_who_t *admin, ts_who_t *member, ts_who_t *b)
{
    char *own = create_session(member), *foreign = create_session(b), *colleague = create_session(admin);
    char body[512];

    yajl_val t = TS_REST_JSON("POST", "/api/v1/feedback", member,
                              "{\"category\":\"product\",\"message\":\"Helpful coach\",\"rating\":5}", 201);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "category"), "product");
    CHECK_INT(ts_json_get_int(t, "rating"), 5);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "session_id")));
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "created_at")));
    ts_json_free(t);
    snprintf(body, sizeof(body), "{\"category\":\"answer\",\"message\":\"Too long\",\"rating\":2,\"session_id\":\"%s\"}", own);
    t = TS_REST_JSON("POST", "/api/v1/feedback", member, body, 201);
    CHECK_STR(ts_json_get_str(t, "session_id"), own);
    ts_json_free(t);

    TS_REST_422("POST", "/api/v1/feedback", member, "{\"category\":\"x\",\"message\":\"m\",\"rating\":0}", NULL, "body",
                "rating");
    TS_REST_422("POST", "/api/v1/feedback", member, "{\"category\":\"x\",\"message\":\"m\",\"rating\":6}", NULL, "body",
                "rating");
    TS_REST_422("POST", "/api/v1/feedback", member, "{\"category\":\"x\",\"rating\":3}", "missing", "body", "message");
    TS_REST_422("POST", "/api/v1/feedback", member, "{\"category\":\"x\",\"message\":\"m\",\"rating\":3,\"mood\":1}",
                "extra_forbidden", "body", "mood");
    snprintf(body, sizeof(body), "{\"category\":\"x\",\"message\":\"m\",\"rating\":3,\"session_id\":\"%s\"}", foreign);
    TS_REST_422("POST", "/api/v1/feedback", member, body, "reference_not_found", "body", "session_id");
    /* sessions are personal: a colleague's session in the same organization is not the caller's */
    snprintf(body, sizeof(body), "{\"category\":\"x\",\"message\":\"m\",\"rating\":3,\"session_id\":\"%s\"}", colleague);
    TS_REST_422("POST", "/api/v1/feedback", member, body, "reference_not_found", "body", "session_id");
    TS_REST_422("POST", "/api/v1/feedback", member,
                "{\"category\":\"x\",\"message\":\"m\",\"rating\":3,"
                "\"interaction_id\":\"00000000-0000-4000-8000-000000000000\"}",
                "reference_not_found", "body", "interaction_id");

    /* members cannot read feedback back: no list */
    ts_resp_t r;
    ts_rest_call("GET", "/api/v1/feedback", member, NULL, NULL, TS_H1, &r);
    CHECK(r.status == 404 || r.status == 405);
    ts_resp_free(&r);

    /* the organization's admins read it; members and other organizations do not */
    t = TS_REST_JSON("GET", "/api/v1/admin/feedback", admin, NULL, 200);
    REQUIRE(t != NULL);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 2);
    CHECK_STR(ts_json_get_str(t, "items", "0", "category"), "answer"); /* newest first */
    CHECK_STR(ts_json_get_str(t, "items", "0", "user_id"), member->user_id);
    CHECK_STR(ts_json_get_str(t, "items", "1", "message"), "Helpful coach");
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);
    TS_REST_ERROR("GET", "/api/v1/admin/feedback", member, NULL, 403, "forbidden");
    t = TS_REST_JSON("GET", "/api/v1/admin/feedback", b, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);
    ts_rest_call("POST", "/api/v1/admin/feedback", admin, "{\"category\":\"x\",\"message\":\"m\",\"rating\":3}", NULL,
                 TS_H1, &r);
    CHECK(r.status == 404 || r.status == 405);
    ts_resp_free(&r);

    free(own);
    free(foreign);
    free(colleague);
}

static void test_skills(PGconn *db, ts_who_t *a1, ts_who_t *a2)
{
    char key[64];
    snprintf(key, sizeof(key), "it_skill_%ld_%ld", (long)getpid(), (long)time(NULL));
    char *skill = ts_db_text(db, "INSERT INTO skills (key, name, description) VALUES ($1, 'Discovery', 'Asking questions')"
                              " RETURNING id::text",
                          TS_DB_PARAMS(key));
    REQUIRE(skill != NULL);

    yajl_val t = TS_REST_JSON("GET", "/api/v1/skills", a1, NULL, 200);
    REQUIRE(t != NULL);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    int found = 0;
    yajl_val items = ts_json_get(t, "items");
    for (size_t i = 0; i < ts_json_len(items); i++) {
        yajl_val s = ts_json_index(items, i);
        const char *k = ts_json_get_str(s, "key");
        if (k != NULL && strcmp(k, key) == 0) {
            found++;
            CHECK_STR(ts_json_get_str(s, "id"), skill);
            CHECK_STR(ts_json_get_str(s, "name"), "Discovery");
            CHECK_STR(ts_json_get_str(s, "description"), "Asking questions");
        }
    }
    CHECK_INT(found, 1);
    ts_json_free(t);

    /* a new user has no levels yet */
    t = TS_REST_JSON("GET", "/api/v1/my/skills", a2, NULL, 200);
    CHECK(ts_json_is_array(t, "items"));
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);

    /* a level and two assessments: the latest is shown */
    CHECK(ts_db_count(db, "WITH x AS (INSERT INTO user_skills (user_id, skill_id, level) VALUES ($1::uuid, $2::uuid, 40)"
                          " RETURNING 1) SELECT count(*) FROM x",
                      TS_DB_PARAMS(a1->user_id, skill)) == 1);
    CHECK(ts_db_count(db, "WITH x AS (INSERT INTO skill_assessments (user_id, skill_id, score, feedback, created_at)"
                          " VALUES ($1::uuid, $2::uuid, 30, 'first', now() - interval '1 day'),"
                          " ($1::uuid, $2::uuid, 45, 'better', now()) RETURNING 1) SELECT count(*) FROM x",
                      TS_DB_PARAMS(a1->user_id, skill)) == 2);
    t = TS_REST_JSON("GET", "/api/v1/my/skills", a1, NULL, 200);
    REQUIRE(t != NULL);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    CHECK_STR(ts_json_get_str(t, "items", "0", "skill_id"), skill);
    CHECK_STR(ts_json_get_str(t, "items", "0", "key"), key);
    CHECK_INT(ts_json_get_int(t, "items", "0", "level"), 40);
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "items", "0", "updated_at")));
    CHECK_INT(ts_json_get_int(t, "items", "0", "latest_assessment", "score"), 45);
    CHECK_STR(ts_json_get_str(t, "items", "0", "latest_assessment", "feedback"), "better");
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "items", "0", "latest_assessment", "created_at")));
    ts_json_free(t);

    /* the skill is removed again so that a repeated run sees no stray definitions (cascades) */
    ts_db_count(db, "WITH x AS (DELETE FROM skills WHERE id = $1::uuid RETURNING 1) SELECT count(*) FROM x",
                TS_DB_PARAMS(skill));
    free(skill);
}

static void test_legal(void)
{
    const char *pages[] = {"/api/v1/legal/terms", "/api/v1/legal/privacy"};
    for (size_t i = 0; i < 2; i++) {
        ts_resp_t r;
        ts_rest_call("GET", pages[i], NULL, NULL, NULL, TS_H1, &r);
        CHECK_INT(r.status, 200);
        CHECK(r.body_len > 0);
        CHECK_CONTAINS(r.body, "placeholder");
        const char *ct = ts_resp_header(&r, "content-type");
        CHECK(ct != NULL && strncmp(ct, "text/markdown", 13) == 0);
        ts_resp_free(&r);
    }
}

int main(void)
{
    const char *src = ts_env_require("HS_SOURCE_DIR", "the repository (the legal files)");
    char *paths = NULL;
    if (asprintf(&paths,
                 TS_PATHS_DEFAULT TS_PATHS_IDENTITY "%s"
                 "/api/v1/legal/terms:\n"
                 "  file.file: %s/web/legal/terms.md\n"
                 "  file.mime.addtypes:\n"
                 "    \"text/markdown; charset=utf-8\": .md\n"
                 "/api/v1/legal/privacy:\n"
                 "  file.file: %s/web/legal/privacy.md\n"
                 "  file.mime.addtypes:\n"
                 "    \"text/markdown; charset=utf-8\": .md\n",
                 MODULE_PATHS, src, src) < 0)
        return 1;
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    ts_server_t *srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = paths, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    PGconn *db = ts_rest_db();
    ts_who_t a_admin, a_member, a_member2, b_admin;
    char org_a[64], org_b[64]; /* unique per run, so a repeated run starts from empty orgs */
    snprintf(org_a, sizeof(org_a), "%s", ts_jwt_unique("org_fs_a"));
    snprintf(org_b, sizeof(org_b), "%s", ts_jwt_unique("org_fs_b"));
    ts_who_make(&a_admin, NULL, org_a, "admin");
    ts_who_make(&a_member, NULL, a_admin.org, "member");
    ts_who_make(&a_member2, NULL, a_admin.org, "member");
    ts_who_make(&b_admin, NULL, org_b, "admin");

    test_sessions(db, &a_member, &a_member2, &b_admin);
    test_feedback(&a_admin, &a_member, &b_admin);
    test_skills(db, &a_member, &a_member2);
    test_legal();

    PQfinish(db);
    ts_who_free(&a_admin);
    ts_who_free(&a_member);
    ts_who_free(&a_member2);
    ts_who_free(&b_admin);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    free(paths);
    return check_done("feedback_sessions");
}
