/* The scheduling assistant's owner side through the real server: the workspace made by the first
 * GET /workspaces/me (handle from the email, made unique), its PATCH rules, services, connectors
 * (one active per workspace, kept by the database) and conversations with their messages. All of
 * it personal: another user's, even in the same organization, is a 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/api/v1/workspaces:\n"
                                                               "  app.handler: workspaces\n"
                                                               "  app.auth: required\n"
                                                               "  app.body-limit: 8M\n"
                                                               "/api/v1/workspace-services:\n"
                                                               "  app.handler: workspace_services\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/connectors:\n"
                                                               "  app.handler: connectors\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/conversations:\n"
                                                               "  app.handler: conversations\n"
                                                               "  app.auth: required\n";

static char *dup_str(const char *s)
{
    REQUIRE(s != NULL);
    char *d = strdup(s);
    REQUIRE(d != NULL);
    return d;
}

/* GET /workspaces/me as w: its id (malloc'd); the handle into handle when not NULL. */
static char *workspace_of(const ts_who_t *w, char *handle, size_t cap)
{
    yajl_val t = TS_REST_JSON("GET", "/api/v1/workspaces/me", w, NULL, 200);
    REQUIRE(t != NULL);
    if (handle != NULL)
        snprintf(handle, cap, "%s", ts_json_get_str(t, "handle") ? ts_json_get_str(t, "handle") : "");
    char *id = dup_str(ts_json_get_str(t, "id"));
    ts_json_free(t);
    return id;
}

static void test_me(const char *org, char *local)
{
    /* the handle is the email's local part, lower case, other characters as single dashes */
    char email[160], want[128], got[128];
    snprintf(email, sizeof(email), "%s.Sales+x@example.com", local);
    ts_who_t a, b, c;
    ts_who_make_email(&a, NULL, org, "member", email);
    ts_who_make_email(&b, NULL, org, "member", email);
    ts_who_make_email(&c, NULL, org, "member", "ab@example.com");
    for (char *p = local; *p; p++)
        if (*p == '_')
            *p = '-';
    snprintf(want, sizeof(want), "%s-sales-x", local);

    yajl_val t = TS_REST_JSON("GET", "/api/v1/workspaces/me", &a, NULL, 200);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "handle"), want);
    CHECK_STR(ts_json_get_str(t, "type"), "individual");
    CHECK_STR(ts_json_get_str(t, "tone"), "professional");
    CHECK_STR(ts_json_get_str(t, "timezone"), "UTC");
    CHECK_STR(ts_json_get_str(t, "knowledge_base"), "");
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "created_at")));
    char *id = dup_str(ts_json_get_str(t, "id"));
    ts_json_free(t);

    /* the second call answers the same workspace; another user with the same local part gets a
     * suffix; a short local part is padded to the 3-character minimum */
    char *again = workspace_of(&a, got, sizeof(got));
    CHECK_STR(again, id);
    CHECK_STR(got, want);
    free(again);
    free(workspace_of(&b, got, sizeof(got)));
    snprintf(want + strlen(want), sizeof(want) - strlen(want), "-2");
    CHECK_STR(got, want);
    free(workspace_of(&c, got, sizeof(got)));
    CHECK(strncmp(got, "ab0", 3) == 0);

    /* GET by id: the owner only */
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/workspaces/%s", id);
    t = TS_REST_JSON("GET", path, &a, NULL, 200);
    CHECK_STR(ts_json_get_str(t, "id"), id);
    ts_json_free(t);
    TS_REST_ERROR("GET", path, &b, NULL, 404, "not_found");
    TS_REST_ERROR("PATCH", path, &b, "{\"tone\":\"casual\"}", 404, "not_found");
    TS_REST_ERROR("DELETE", path, &a, NULL, 405, "method_not_allowed");
    free(id);
    ts_who_free(&a);
    ts_who_free(&b);
    ts_who_free(&c);
}

static void test_patch(const ts_who_t *a, const ts_who_t *b)
{
    char *id = workspace_of(a, NULL, 0), *other = workspace_of(b, NULL, 0);
    char path[128], handle[80], body[256];
    snprintf(path, sizeof(path), "/api/v1/workspaces/%s", id);
    snprintf(handle, sizeof(handle), "h-%s", ts_jwt_unique("x"));
    for (char *p = handle; *p; p++)
        if (*p == '_')
            *p = '-';

    snprintf(body, sizeof(body),
             "{\"name\":\"Ana's studio\",\"handle\":\"%s\",\"type\":\"business\",\"tone\":\"friendly\","
             "\"timezone\":\"Europe/Madrid\",\"knowledge_base\":\"We open at 9.\"}",
             handle);
    yajl_val t = TS_REST_JSON("PATCH", path, a, body, 200);
    CHECK_STR(ts_json_get_str(t, "handle"), handle);
    CHECK_STR(ts_json_get_str(t, "type"), "business");
    CHECK_STR(ts_json_get_str(t, "tone"), "friendly");
    CHECK_STR(ts_json_get_str(t, "timezone"), "Europe/Madrid");
    CHECK_STR(ts_json_get_str(t, "knowledge_base"), "We open at 9.");
    CHECK_STR(ts_json_get_str(t, "name"), "Ana's studio");
    ts_json_free(t);

    /* handles are globally unique: taking one is a 409 */
    char opath[128];
    snprintf(opath, sizeof(opath), "/api/v1/workspaces/%s", other);
    snprintf(body, sizeof(body), "{\"handle\":\"%s\"}", handle);
    TS_REST_ERROR("PATCH", opath, b, body, 409, "conflict");

    TS_REST_422("PATCH", path, a, "{\"handle\":\"ab\"}", "string_too_short", "body", "handle");
    TS_REST_422("PATCH", path, a, "{\"handle\":\"Upper\"}", "string_pattern_mismatch", "body", "handle");
    TS_REST_422("PATCH", path, a, "{\"handle\":\"a--b\"}", "string_pattern_mismatch", "body", "handle");
    TS_REST_422("PATCH", path, a, "{\"handle\":\"-abc\"}", "string_pattern_mismatch", "body", "handle");
    TS_REST_422("PATCH", path, a, "{\"handle\":\"abc-\"}", "string_pattern_mismatch", "body", "handle");
    char *long_handle = ts_repeat('a', 64);
    snprintf(body, sizeof(body), "{\"handle\":\"%s\"}", long_handle);
    TS_REST_422("PATCH", path, a, body, "string_too_long", "body", "handle");
    free(long_handle);
    TS_REST_422("PATCH", path, a, "{\"type\":\"team\"}", "enum", "body", "type");
    TS_REST_422("PATCH", path, a, "{\"tone\":\"rude\"}", "enum", "body", "tone");
    TS_REST_422("PATCH", path, a, "{\"timezone\":\"Mars/Base\"}", "value_error", "body", "timezone");
    TS_REST_422("PATCH", path, a, "{\"color\":\"red\"}", "extra_forbidden", "body", "color");

    /* a knowledge base of 2 MiB fits the path's 8M body limit */
    size_t kb = 2u << 20;
    char *big = malloc(kb + 64);
    REQUIRE(big != NULL);
    int n = snprintf(big, kb + 64, "{\"knowledge_base\":\"");
    memset(big + n, 'k', kb);
    snprintf(big + n + kb, 64, "\"}");
    ts_resp_t r;
    ts_rest_call("PATCH", path, a, big, NULL, TS_H1, &r);
    CHECK_INT(r.status, 200);
    CHECK(r.body_len > kb);
    ts_resp_free(&r);
    free(big);
    free(id);
    free(other);
}

static void test_services(const ts_who_t *a, const ts_who_t *b)
{
    char *ws = workspace_of(a, NULL, 0), *other = workspace_of(b, NULL, 0);
    char body[512], path[160];
    snprintf(body, sizeof(body), "{\"workspace_id\":\"%s\",\"name\":\"Haircut\",\"duration_minutes\":45,\"price_cents\":2500}", ws);
    yajl_val t = TS_REST_JSON("POST", "/api/v1/workspace-services", a, body, 201);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "workspace_id"), ws);
    CHECK(ts_json_get(t, "active") != NULL && YAJL_IS_TRUE(ts_json_get(t, "active")));
    CHECK_STR(ts_json_get_str(t, "description"), "");
    snprintf(path, sizeof(path), "/api/v1/workspace-services/%s", ts_json_get_str(t, "id"));
    ts_json_free(t);

    /* another user's workspace is not one to add services to, nor to read them from */
    snprintf(body, sizeof(body), "{\"workspace_id\":\"%s\",\"name\":\"Steal\",\"duration_minutes\":5}", other);
    TS_REST_422("POST", "/api/v1/workspace-services", a, body, "reference_not_found", "body", "workspace_id");
    TS_REST_ERROR("GET", path, b, NULL, 404, "not_found");
    TS_REST_ERROR("PATCH", path, b, "{\"name\":\"x\"}", 404, "not_found");
    TS_REST_ERROR("DELETE", path, b, NULL, 404, "not_found");
    t = TS_REST_JSON("GET", "/api/v1/workspace-services", b, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);

    snprintf(body, sizeof(body), "{\"workspace_id\":\"%s\",\"name\":\"x\",\"duration_minutes\":0}", ws);
    TS_REST_422("POST", "/api/v1/workspace-services", a, body, "greater_than_equal", "body", "duration_minutes");
    snprintf(body, sizeof(body), "{\"workspace_id\":\"%s\",\"name\":\"x\"}", ws);
    TS_REST_422("POST", "/api/v1/workspace-services", a, body, "missing", "body", "duration_minutes");
    TS_REST_422("POST", "/api/v1/workspace-services", a, "{\"name\":\"x\",\"duration_minutes\":5}", "missing", "body",
                "workspace_id");
    TS_REST_422("PATCH", path, a, "{\"workspace_id\":\"00000000-0000-0000-0000-000000000000\"}", "extra_forbidden",
                "body", "workspace_id");

    t = TS_REST_JSON("PATCH", path, a, "{\"active\":false,\"price_cents\":null}", 200);
    CHECK(YAJL_IS_FALSE(ts_json_get(t, "active")));
    CHECK(YAJL_IS_NULL(ts_json_get(t, "price_cents")));
    CHECK_STR(ts_json_get_str(t, "name"), "Haircut");
    ts_json_free(t);

    /* pages of 2 over 5 services: every one exactly once; the filter by workspace */
    for (int i = 0; i < 4; i++) {
        snprintf(body, sizeof(body), "{\"workspace_id\":\"%s\",\"name\":\"S%d\",\"duration_minutes\":30}", ws, i);
        ts_json_free(TS_REST_JSON("POST", "/api/v1/workspace-services", a, body, 201));
    }
    char url[512], cursor[200] = "";
    int seen = 0, pages = 0;
    do {
        snprintf(url, sizeof(url), "/api/v1/workspace-services?limit=2&workspace_id=%s%s%s", ws, cursor[0] ? "&cursor=" : "",
                 cursor);
        t = TS_REST_JSON("GET", url, a, NULL, 200);
        REQUIRE(t != NULL);
        seen += (int)ts_json_len(ts_json_get(t, "items"));
        const char *next = ts_json_get_str(t, "next_cursor");
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        ts_json_free(t);
        pages++;
    } while (cursor[0] && pages < 10);
    CHECK_INT(seen, 5);
    CHECK_INT(pages, 3);
    snprintf(url, sizeof(url), "/api/v1/workspace-services?workspace_id=%s", other);
    t = TS_REST_JSON("GET", url, a, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);
    TS_REST_422("GET", "/api/v1/workspace-services?workspace_id=nope", a, NULL, "uuid_parsing", "query", "workspace_id");

    ts_resp_t r;
    ts_rest_call("DELETE", path, a, NULL, NULL, TS_H1, &r);
    CHECK_INT(r.status, 204);
    ts_resp_free(&r);
    TS_REST_ERROR("GET", path, a, NULL, 404, "not_found");
    free(ws);
    free(other);
}

/* Whether the connector at path is active, as its owner reads it. */
static int connector_active(const ts_who_t *w, const char *path)
{
    yajl_val t = TS_REST_JSON("GET", path, w, NULL, 200);
    int active = t != NULL && YAJL_IS_TRUE(ts_json_get(t, "active"));
    ts_json_free(t);
    return active;
}

static void test_connectors(const ts_who_t *a, const ts_who_t *b, PGconn *db)
{
    char *ws = workspace_of(a, NULL, 0), *other = workspace_of(b, NULL, 0);
    char coll[160], p1[160], p2[160];
    snprintf(coll, sizeof(coll), "/api/v1/connectors/workspaces/%s", ws);

    ts_resp_t r;
    ts_rest_call("POST", coll, a, "{\"type\":\"calendly\",\"config\":{\"link\":\"https://calendly.com/ana\"},\"active\":true}",
                 NULL, TS_H1, &r);
    CHECK_INT(r.status, 201);
    yajl_val t = ts_json_parse(r.body, "connector");
    REQUIRE(t != NULL);
    snprintf(p1, sizeof(p1), "/api/v1/connectors/%s", ts_json_get_str(t, "id"));
    CHECK_STR(ts_resp_header(&r, "location"), p1);
    CHECK_STR(ts_json_get_str(t, "workspace_id"), ws);
    CHECK_STR(ts_json_get_str(t, "config", "link"), "https://calendly.com/ana");
    ts_json_free(t);
    ts_resp_free(&r);

    /* activating a second one deactivates the first, and back */
    t = TS_REST_JSON("POST", coll, a, "{\"type\":\"square\",\"active\":true}", 201);
    snprintf(p2, sizeof(p2), "/api/v1/connectors/%s", ts_json_get_str(t, "id"));
    ts_json_free(t);
    CHECK(!connector_active(a, p1));
    CHECK(connector_active(a, p2));
    ts_json_free(TS_REST_JSON("PATCH", p1, a, "{\"active\":true}", 200));
    CHECK(connector_active(a, p1));
    CHECK(!connector_active(a, p2));
    /* an inactive one does not disturb the active one */
    ts_json_free(TS_REST_JSON("POST", coll, a, "{\"type\":\"agendapro\"}", 201));
    CHECK(connector_active(a, p1));
    CHECK_INT(ts_db_count(db, "SELECT count(*) FROM connectors WHERE workspace_id = $1 AND active", TS_DB_PARAMS(ws)), 1);
    /* the database keeps the rule whoever writes: a plain UPDATE moves the active flag too */
    CHECK_INT(ts_db_count(db,
                          "WITH u AS (UPDATE connectors SET active = true WHERE workspace_id = $1 AND type = 'square'"
                          " RETURNING 1) SELECT count(*) FROM u",
                          TS_DB_PARAMS(ws)),
              1);
    CHECK(!connector_active(a, p1));
    CHECK(connector_active(a, p2));

    t = TS_REST_JSON("GET", coll, a, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 3);
    ts_json_free(t);

    /* another user's workspace and connectors: 404, whatever the method */
    char ocoll[160];
    snprintf(ocoll, sizeof(ocoll), "/api/v1/connectors/workspaces/%s", other);
    TS_REST_ERROR("GET", ocoll, a, NULL, 404, "not_found");
    TS_REST_ERROR("POST", ocoll, a, "{\"type\":\"calendly\"}", 404, "not_found");
    TS_REST_ERROR("GET", coll, b, NULL, 404, "not_found");
    TS_REST_ERROR("GET", p1, b, NULL, 404, "not_found");
    TS_REST_ERROR("PATCH", p1, b, "{\"active\":true}", 404, "not_found");
    TS_REST_ERROR("DELETE", p1, b, NULL, 404, "not_found");
    TS_REST_ERROR("GET", "/api/v1/connectors/workspaces/not-a-uuid", a, NULL, 404, "not_found");

    TS_REST_422("POST", coll, a, "{\"type\":\"zoom\"}", "enum", "body", "type");
    TS_REST_422("POST", coll, a, "{}", "missing", "body", "type");
    TS_REST_422("POST", coll, a, "{\"type\":\"calendly\",\"config\":[1]}", "dict_type", "body", "config");
    TS_REST_422("POST", coll, a, "{\"type\":\"calendly\",\"workspace_id\":\"x\"}", "extra_forbidden", "body",
                "workspace_id");

    ts_rest_call("DELETE", p2, a, NULL, NULL, TS_H1, &r);
    CHECK_INT(r.status, 204);
    ts_resp_free(&r);
    TS_REST_ERROR("GET", p2, a, NULL, 404, "not_found");
    free(ws);
    free(other);
}

/* A conversation of workspace ws made as public chat will make it (that module comes with the AI
 * pipeline), with n visitor messages; returns its id (malloc'd). */
static char *seed_conversation(PGconn *db, const char *ws, const char *channel, const char *tags, int n)
{
    const char *params[] = {ws, channel, tags};
    PGresult *res = PQexecParams(db,
                                 "INSERT INTO conversations (workspace_id, channel, visitor_token_hash, tags)"
                                 " VALUES ($1, $2, sha256(convert_to(gen_random_uuid()::text, 'UTF8')), $3::text[]) RETURNING id",
                                 3, NULL, params, NULL, NULL, 0);
    REQUIRE(PQresultStatus(res) == PGRES_TUPLES_OK);
    char *id = dup_str(PQgetvalue(res, 0, 0));
    PQclear(res);
    for (int i = 0; i < n; i++) { /* a second apart, so that `since` by time is exact */
        char content[32], secs[16];
        snprintf(content, sizeof(content), "message %d", i);
        snprintf(secs, sizeof(secs), "%d", i);
        const char *mp[] = {id, content, secs};
        res = PQexecParams(db,
                           "INSERT INTO conversation_messages (conversation_id, role, content, created_at)"
                           " VALUES ($1, 'visitor', $2, now() + make_interval(secs => $3::int))",
                           3, NULL, mp, NULL, NULL, 0);
        CHECK(PQresultStatus(res) == PGRES_COMMAND_OK);
        PQclear(res);
    }
    return id;
}

static void test_conversations(const ts_who_t *a, const ts_who_t *b, PGconn *db)
{
    char *ws = workspace_of(a, NULL, 0);
    char *c1 = seed_conversation(db, ws, "web", "{vip,new}", 5);
    char *c2 = seed_conversation(db, ws, "whatsapp", "{new}", 0);
    char path[160], url[320];

    yajl_val t = TS_REST_JSON("GET", "/api/v1/conversations", a, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 2);
    CHECK_STR(ts_json_get_str(ts_json_index(ts_json_get(t, "items"), 0), "id"), c2); /* newest first */
    ts_json_free(t);
    struct {
        const char *query, *only;
        size_t n;
    } filters[] = {
        {"channel=whatsapp", c2, 1}, {"tag=vip", c1, 1}, {"tag=new", NULL, 2}, {"status=closed", NULL, 0},
        {"channel=web&tag=new", c1, 1},
    };
    for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
        snprintf(url, sizeof(url), "/api/v1/conversations?%s", filters[i].query);
        t = TS_REST_JSON("GET", url, a, NULL, 200);
        CHECK_INT(ts_json_len(ts_json_get(t, "items")), filters[i].n);
        if (filters[i].only != NULL)
            CHECK_STR(ts_json_get_str(ts_json_index(ts_json_get(t, "items"), 0), "id"), filters[i].only);
        ts_json_free(t);
    }
    TS_REST_422("GET", "/api/v1/conversations?channel=fax", a, NULL, "enum", "query", "channel");
    TS_REST_422("GET", "/api/v1/conversations?status=gone", a, NULL, "enum", "query", "status");
    t = TS_REST_JSON("GET", "/api/v1/conversations", b, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);

    snprintf(path, sizeof(path), "/api/v1/conversations/%s", c1);
    t = TS_REST_JSON("PATCH", path, a, "{\"tags\":[\"won\"],\"status\":\"closed\",\"time_saved_seconds\":300}", 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "tags")), 1);
    CHECK_STR(YAJL_GET_STRING(ts_json_index(ts_json_get(t, "tags"), 0)), "won");
    CHECK_STR(ts_json_get_str(t, "status"), "closed");
    CHECK_STR(ts_json_get_str(t, "channel"), "web");
    ts_json_free(t);
    t = TS_REST_JSON("GET", "/api/v1/conversations?status=closed&tag=won", a, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    ts_json_free(t);
    TS_REST_422("PATCH", path, a, "{\"status\":\"archived\"}", "enum", "body", "status");
    TS_REST_422("PATCH", path, a, "{\"tags\":\"won\"}", "list_type", "body", "tags");
    TS_REST_422("PATCH", path, a, "{\"time_saved_seconds\":-1}", "greater_than_equal", "body", "time_saved_seconds");
    TS_REST_422("PATCH", path, a, "{\"channel\":\"sms\"}", "extra_forbidden", "body", "channel");
    TS_REST_ERROR("GET", path, b, NULL, 404, "not_found");
    TS_REST_ERROR("PATCH", path, b, "{\"status\":\"open\"}", 404, "not_found");
    TS_REST_ERROR("POST", "/api/v1/conversations", a, "{}", 405, "method_not_allowed");

    /* messages: oldest first, pages by limit, `since` an id (exact) or a time (strictly after) */
    snprintf(url, sizeof(url), "/api/v1/conversations/%s/messages?limit=2", c1);
    t = TS_REST_JSON("GET", url, a, NULL, 200);
    yajl_val items = ts_json_get(t, "items");
    CHECK_INT(ts_json_len(items), 2);
    CHECK_STR(ts_json_get_str(ts_json_index(items, 0), "content"), "message 0");
    CHECK_STR(ts_json_get_str(ts_json_index(items, 1), "role"), "visitor");
    CHECK(YAJL_IS_TRUE(ts_json_get(t, "has_more")));
    char *second = dup_str(ts_json_get_str(ts_json_index(items, 1), "id"));
    char *second_at = dup_str(ts_json_get_str(ts_json_index(items, 1), "created_at"));
    ts_json_free(t);
    /* the owner's view pages with next_cursor like every collection */
    t = TS_REST_JSON("GET", url, a, NULL, 200);
    char *cursor = dup_str(ts_json_get_str(t, "next_cursor"));
    ts_json_free(t);
    for (int page = 1; page <= 2; page++) {
        snprintf(url, sizeof(url), "/api/v1/conversations/%s/messages?limit=2&cursor=%s", c1, cursor);
        t = TS_REST_JSON("GET", url, a, NULL, 200);
        items = ts_json_get(t, "items");
        CHECK_INT(ts_json_len(items), page == 1 ? 2 : 1);
        CHECK_STR(ts_json_get_str(ts_json_index(items, 0), "content"), page == 1 ? "message 2" : "message 4");
        free(cursor);
        cursor = ts_json_is_str(t, "next_cursor") ? dup_str(ts_json_get_str(t, "next_cursor")) : NULL;
        CHECK((cursor != NULL) == (page == 1));
        ts_json_free(t);
        if (cursor == NULL)
            break;
    }
    free(cursor);
    snprintf(url, sizeof(url), "/api/v1/conversations/%s/messages?since=%s", c1, second);
    t = TS_REST_JSON("GET", url, a, NULL, 200);
    items = ts_json_get(t, "items");
    CHECK_INT(ts_json_len(items), 3);
    CHECK_STR(ts_json_get_str(ts_json_index(items, 0), "content"), "message 2");
    CHECK(YAJL_IS_FALSE(ts_json_get(t, "has_more")));
    ts_json_free(t);
    snprintf(url, sizeof(url), "/api/v1/conversations/%s/messages?since=%s", c1, second_at);
    t = TS_REST_JSON("GET", url, a, NULL, 200);
    CHECK_STR(ts_json_get_str(ts_json_index(ts_json_get(t, "items"), 0), "content"), "message 2");
    ts_json_free(t);
    snprintf(url, sizeof(url), "/api/v1/conversations/%s/messages?since=yesterday", c1);
    TS_REST_422("GET", url, a, NULL, "value_error", "query", "since");
    snprintf(url, sizeof(url), "/api/v1/conversations/%s/messages?since=2026-13-01T00:00:00Z", c1);
    TS_REST_422("GET", url, a, NULL, "value_error", "query", "since");
    snprintf(url, sizeof(url), "/api/v1/conversations/%s/messages?since=%s", c2, second); /* not one of c2's */
    TS_REST_422("GET", url, a, NULL, "value_error", "query", "since");
    snprintf(url, sizeof(url), "/api/v1/conversations/%s/messages?limit=0", c1);
    TS_REST_422("GET", url, a, NULL, "int_parsing", "query", "limit");
    snprintf(url, sizeof(url), "/api/v1/conversations/%s/messages", c1);
    TS_REST_ERROR("GET", url, b, NULL, 404, "not_found");
    free(second);
    free(second_at);
    free(c1);
    free(c2);
    free(ws);
}

int main(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    ts_server_t *srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    PGconn *db = ts_rest_db();
    char org[64], org_b[64], local[64];
    snprintf(org, sizeof(org), "%s", ts_jwt_unique("org_ws"));
    snprintf(org_b, sizeof(org_b), "%s", ts_jwt_unique("org_ws_b"));
    snprintf(local, sizeof(local), "%s", ts_jwt_unique("ana"));

    test_me(org, local);
    ts_who_t a, a2, b;
    ts_who_make(&a, NULL, org, "member");
    ts_who_make(&a2, NULL, org, "admin"); /* same organization, even an admin: not theirs */
    ts_who_make(&b, NULL, org_b, "admin");
    test_patch(&a, &a2);
    test_services(&a, &a2);
    test_connectors(&a, &a2, db);
    test_conversations(&a, &b, db);

    PQfinish(db);
    ts_who_free(&a);
    ts_who_free(&a2);
    ts_who_free(&b);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("workspaces");
}
