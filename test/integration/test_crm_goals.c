/* Two more resources through the real server: goals (personal: another user's goal is a 404, even
 * in the same organization) and contacts (organization data: admins write, members read). */
#include <stdio.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/api/v1/contacts:\n"
                                                               "  app.handler: crm\n"
                                                               "  app.auth: required\n"
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

    ts_who_free(&a_admin);
    ts_who_free(&a_member);
    ts_who_free(&a_member2);
    ts_who_free(&b_admin);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("goals_contacts");
}
