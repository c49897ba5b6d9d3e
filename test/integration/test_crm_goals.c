/* CRM and goal resources through the real server: goals (personal: another user's goal is a 404,
 * even in the same organization), contacts and memory rules (organization data: admins write,
 * members read; rules are parsed, syntax errors name the column) and integrations (admins only). */
#include <stdio.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/api/v1/contacts:\n"
                                                               "  app.handler: contacts\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/memory-rules:\n"
                                                               "  app.handler: memory_rules\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/integrations:\n"
                                                               "  app.handler: integrations\n"
                                                               "  app.auth: admin\n"
                                                               "/api/v1/goals:\n"
                                                               "  app.handler: goals\n"
                                                               "  app.auth: required\n";

static void test_goals(ts_who_t *a1, ts_who_t *a2, ts_who_t *b)
{
    yajl_val t = TS_REST_JSON("POST", "/api/v1/goals", a1, "{\"title\":\"Close 3 deals\",\"target_date\":\"2026-12-31\"}", 201);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "status"), "active"); /* the default */
    CHECK_STR(ts_json_get_str(t, "description"), "");
    CHECK_STR(ts_json_get_str(t, "target_date"), "2026-12-31");
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/goals/%s", ts_json_get_str(t, "id"));
    ts_json_free(t);

    /* the owner reads and changes it; nobody else sees it, in or out of the organization */
    t = TS_REST_JSON("PATCH", path, a1, "{\"status\":\"done\"}", 200);
    CHECK_STR(ts_json_get_str(t, "status"), "done");
    CHECK_STR(ts_json_get_str(t, "title"), "Close 3 deals");
    ts_json_free(t);
    TS_REST_ERROR("GET", path, a2, NULL, 404, "not_found");
    TS_REST_ERROR("PATCH", path, a2, "{\"status\":\"dropped\"}", 404, "not_found");
    TS_REST_ERROR("DELETE", path, a2, NULL, 404, "not_found");
    TS_REST_ERROR("GET", path, b, NULL, 404, "not_found");
    t = TS_REST_JSON("GET", "/api/v1/goals", a2, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);
    t = TS_REST_JSON("GET", "/api/v1/goals", a1, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    ts_json_free(t);

    TS_REST_422("POST", "/api/v1/goals", a1, "{\"title\":\"x\",\"target_date\":\"2026-02-30\"}", "date_parsing", "body",
                "target_date");
    TS_REST_422("POST", "/api/v1/goals", a1, "{\"title\":\"x\",\"status\":\"paused\"}", "enum", "body", "status");
    TS_REST_422("POST", "/api/v1/goals", a1, "{}", "missing", "body", "title");

    ts_resp_t r;
    ts_rest_call("DELETE", path, a1, NULL, NULL, TS_H1, &r);
    CHECK_INT(r.status, 204);
    ts_resp_free(&r);
    TS_REST_ERROR("GET", path, a1, NULL, 404, "not_found"); /* hard delete */
}

static void test_contacts(ts_who_t *admin, ts_who_t *member, ts_who_t *b)
{
    yajl_val t = TS_REST_JSON("POST", "/api/v1/contacts", admin, "{\"name\":\"Ana Diaz\",\"email\":\"ana@example.com\"}", 201);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "source"), "manual");
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/contacts/%s", ts_json_get_str(t, "id"));
    ts_json_free(t);

    /* members read organization data but do not write it */
    t = TS_REST_JSON("GET", path, member, NULL, 200);
    CHECK_STR(ts_json_get_str(t, "name"), "Ana Diaz");
    ts_json_free(t);
    TS_REST_ERROR("POST", "/api/v1/contacts", member, "{\"name\":\"Bo\"}", 403, "forbidden");
    TS_REST_ERROR("PATCH", path, member, "{\"name\":\"Bo\"}", 403, "forbidden");
    /* another organization: 404 for everyone */
    TS_REST_ERROR("GET", path, b, NULL, 404, "not_found");
    TS_REST_ERROR("DELETE", path, b, NULL, 404, "not_found");
    t = TS_REST_JSON("GET", "/api/v1/contacts?q=ana", b, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);
    t = TS_REST_JSON("GET", "/api/v1/contacts?q=ANA", member, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    ts_json_free(t);

    TS_REST_422("POST", "/api/v1/contacts", admin, "{\"name\":\"x\",\"source\":\"fax\"}", "enum", "body", "source");
    /* the same synced contact twice is a conflict (unique organization, source, external id) */
    const char *synced = "{\"name\":\"Cy\",\"source\":\"hubspot\",\"external_id\":\"hs-1\"}";
    yajl_val first = TS_REST_JSON("POST", "/api/v1/contacts", admin, synced, 201);
    ts_json_free(first);
    TS_REST_ERROR("POST", "/api/v1/contacts", admin, synced, 409, "conflict");
}

static void test_memory_rules(ts_who_t *admin, ts_who_t *member, ts_who_t *b)
{
    yajl_val t = TS_REST_JSON("POST", "/api/v1/memory-rules", admin,
                              "{\"rule\":\"when hubspot.contact.creation then create_task type=follow_up "
                              "note=\\\"call them\\\"\"}",
                              201);
    REQUIRE(t != NULL);
    CHECK(YAJL_IS_TRUE(ts_json_get(t, "active")));
    CHECK_STR(ts_json_get_str(t, "parsed", "event"), "hubspot.contact.creation");
    CHECK_STR(ts_json_get_str(t, "parsed", "action"), "create_task");
    CHECK_STR(ts_json_get_str(t, "parsed", "params", "type"), "follow_up");
    CHECK_STR(ts_json_get_str(t, "parsed", "params", "note"), "call them");
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/memory-rules/%s", ts_json_get_str(t, "id"));
    ts_json_free(t);

    /* changing only `active` keeps the parsed rule; a new rule text is parsed again */
    t = TS_REST_JSON("PATCH", path, admin, "{\"active\":false}", 200);
    CHECK(YAJL_IS_FALSE(ts_json_get(t, "active")));
    CHECK_STR(ts_json_get_str(t, "parsed", "action"), "create_task");
    ts_json_free(t);
    t = TS_REST_JSON("PATCH", path, admin, "{\"rule\":\"when gmail.message.received then log\"}", 200);
    CHECK_STR(ts_json_get_str(t, "parsed", "event"), "gmail.message.received");
    CHECK_STR(ts_json_get_str(t, "parsed", "action"), "log");
    ts_json_free(t);

    /* syntax errors: 422 at body.rule, the message naming the 1-based column */
    ts_resp_t r;
    ts_rest_call("POST", "/api/v1/memory-rules", admin, "{\"rule\":\"when hubspot.contact then notify\"}", NULL, TS_H1,
                 &r);
    TS_EXPECT_422(&r, "rule_syntax", "body", "rule");
    yajl_val e = ts_json_parse(r.body, "422");
    CHECK_CONTAINS(ts_json_get_str(e, "detail", "0", "msg"), "column 27");
    ts_json_free(e);
    ts_resp_free(&r);
    TS_REST_422("PATCH", path, admin, "{\"rule\":\"When x then log\"}", "rule_syntax", "body", "rule");
    TS_REST_422("POST", "/api/v1/memory-rules", admin, "{\"rule\":\"when x then log\",\"parsed\":{}}",
                "extra_forbidden", "body", "parsed"); /* the server's own field */

    t = TS_REST_JSON("GET", path, member, NULL, 200);
    ts_json_free(t);
    TS_REST_ERROR("POST", "/api/v1/memory-rules", member, "{\"rule\":\"when x then log\"}", 403, "forbidden");
    TS_REST_ERROR("GET", path, b, NULL, 404, "not_found");
}

static void test_integrations(ts_who_t *admin, ts_who_t *member, ts_who_t *b)
{
    char body[256], account[64];
    snprintf(account, sizeof(account), "%s", ts_jwt_unique("portal"));
    snprintf(body, sizeof(body), "{\"provider\":\"hubspot\",\"account_id\":\"%s\",\"user_id\":\"%s\"}", account,
             member->user_id);
    yajl_val t = TS_REST_JSON("POST", "/api/v1/integrations", admin, body, 201);
    REQUIRE(t != NULL);
    CHECK_STR(ts_json_get_str(t, "user_id"), member->user_id);
    ts_json_free(t);
    /* one account routes to one organization: another organization cannot claim it */
    snprintf(body, sizeof(body), "{\"provider\":\"hubspot\",\"account_id\":\"%s\"}", account);
    TS_REST_ERROR("POST", "/api/v1/integrations", b, body, 409, "conflict");
    /* the receiving user must be a member of the caller's organization */
    snprintf(body, sizeof(body), "{\"provider\":\"gmail\",\"account_id\":\"x@example.com\",\"user_id\":\"%s\"}",
             b->user_id);
    TS_REST_422("POST", "/api/v1/integrations", admin, body, "reference_not_found", "body", "user_id");
    TS_REST_422("POST", "/api/v1/integrations", admin, "{\"provider\":\"slack\",\"account_id\":\"1\"}", "enum", "body",
                "provider");
    /* admin only, reads included */
    TS_REST_ERROR("GET", "/api/v1/integrations", member, NULL, 403, "forbidden");
    t = TS_REST_JSON("GET", "/api/v1/integrations", b, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);
}

int main(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    ts_server_t *srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    ts_who_t a_admin, a_member, a_member2, b_admin;
    char org_a[64], org_b[64]; /* unique per run, so a repeated run starts from empty orgs */
    snprintf(org_a, sizeof(org_a), "%s", ts_jwt_unique("org_gc_a"));
    snprintf(org_b, sizeof(org_b), "%s", ts_jwt_unique("org_gc_b"));
    ts_who_make(&a_admin, NULL, org_a, "admin");
    ts_who_make(&a_member, NULL, a_admin.org, "member");
    ts_who_make(&a_member2, NULL, a_admin.org, "member");
    ts_who_make(&b_admin, NULL, org_b, "admin");

    test_goals(&a_member, &a_member2, &b_admin);
    test_contacts(&a_admin, &a_member, &b_admin);
    test_memory_rules(&a_admin, &a_member, &b_admin);
    test_integrations(&a_admin, &a_member, &b_admin);

    ts_who_free(&a_admin);
    ts_who_free(&a_member);
    ts_who_free(&a_member2);
    ts_who_free(&b_admin);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("crm_goals");
}
