/* /openapi.json and /docs through the real server: an OpenAPI 3 document whose references all
 * resolve, with every operation answering something, and the resources' schemas in it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"

static int refs_checked;

/* Every "$ref" in node names a schema present under components/schemas, and no "required"
 * list is empty (OpenAPI 3.0 forbids it). */
static void check_refs(yajl_val doc, yajl_val node)
{
    if (YAJL_IS_OBJECT(node)) {
        for (size_t i = 0; i < node->u.object.len; i++) {
            yajl_val v = node->u.object.values[i];
            if (strcmp(node->u.object.keys[i], "$ref") == 0 && YAJL_IS_STRING(v)) {
                const char *prefix = "#/components/schemas/", *ref = YAJL_GET_STRING(v);
                CHECK(strncmp(ref, prefix, strlen(prefix)) == 0);
                CHECK(ts_json_get(doc, "components", "schemas", ref + strlen(prefix)) != NULL);
                refs_checked++;
            }
            if (strcmp(node->u.object.keys[i], "required") == 0 && YAJL_IS_ARRAY(v))
                CHECK(v->u.array.len > 0);
            check_refs(doc, v);
        }
    } else if (YAJL_IS_ARRAY(node)) {
        for (size_t i = 0; i < node->u.array.len; i++)
            check_refs(doc, node->u.array.values[i]);
    }
}

int main(void)
{
    /* the shipped h2o.conf: the document follows what it mounts */
    char path[1024];
    snprintf(path, sizeof(path), "%s/h2o.conf", ts_env_require("HS_SOURCE_DIR", "the repository root"));
    char *conf = ts_read_file(path, NULL);
    REQUIRE(conf != NULL);
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.raw_conf = conf});
    REQUIRE(s != NULL);
    ts_resp_t resp;
    ts_http_get(ts_server_url(s, 0, "/openapi.json"), TS_H1, &resp);
    CHECK_INT(resp.status, 200);
    yajl_val doc = ts_json_parse(resp.body, "openapi.json");
    REQUIRE(doc != NULL);

    CHECK_STR(ts_json_get_str(doc, "openapi"), "3.0.3");
    CHECK(ts_json_get_str(doc, "info", "title") != NULL);
    CHECK(ts_json_get_str(doc, "info", "version") != NULL);
    yajl_val paths = ts_json_get(doc, "paths");
    REQUIRE(YAJL_IS_OBJECT(paths));

    /* every operation has responses; path parameters are declared */
    size_t ops = 0;
    for (size_t i = 0; i < paths->u.object.len; i++) {
        const char *path = paths->u.object.keys[i];
        yajl_val item = paths->u.object.values[i];
        for (size_t k = 0; k < item->u.object.len; k++) {
            yajl_val op = item->u.object.values[k];
            ops++;
            CHECK(ts_json_len(ts_json_get(op, "responses")) >= 1);
            if (strchr(path, '{') != NULL)
                CHECK_STR(ts_json_get_str(op, "parameters", "0", "in"), "path");
        }
    }
    CHECK(ops >= 20);

    /* the routes of the product's modules, including the generated resource routes */
    CHECK(ts_json_get(doc, "paths", "/health", "get") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/auth/me", "get") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/clients", "post", "requestBody") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/clients/{id}", "patch") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/clients/{id}", "delete", "responses", "204") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/strategies/{id}", "delete") == NULL);
    CHECK(ts_json_get(doc, "paths", "/echo") == NULL); /* a test aid, not the API */
    /* tasks are enqueued with a 202; the hand-written Sailwind and goal routes are listed too */
    CHECK(ts_json_get(doc, "paths", "/api/v1/tasks", "post", "responses", "202") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/tasks", "post", "responses", "201") == NULL);
    CHECK_STR(ts_json_get_str(doc, "components", "schemas", "tasks", "properties", "run_after", "format"), "date-time");
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/rep-assignments", "post", "responses", "201") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/rep-assignments/{id}", "get") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/my/rep-assignments", "get") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/practice-sessions", "post", "requestBody") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/my/practice-sessions", "get") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/goals/{id}/tasks", "get", "parameters") != NULL);
    /* the admin's view of AI runs (read-only, listed by started_at, no created_at) and /metrics */
    CHECK(ts_json_get(doc, "paths", "/api/v1/admin/pipeline-runs", "get") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/admin/pipeline-runs", "post") == NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/admin/pipeline-runs/{id}", "get") != NULL);
    CHECK_STR(ts_json_get_str(doc, "paths", "/api/v1/admin/pipeline-runs", "get", "parameters", "4", "name"), "since");
    CHECK_STR(ts_json_get_str(doc, "paths", "/api/v1/admin/pipeline-runs", "get", "parameters", "4", "schema", "format"),
              "date-time");
    CHECK(ts_json_get(doc, "components", "schemas", "pipeline_runs", "properties", "started_at") != NULL);
    CHECK(ts_json_get(doc, "components", "schemas", "pipeline_runs", "properties", "created_at") == NULL);
    CHECK(ts_json_get(doc, "paths", "/metrics", "get", "responses", "200", "content", "text/plain") != NULL);
    /* the streams say what they stream */
    CHECK(ts_json_get(doc, "paths", "/api/v1/public/conversations/{id}/stream", "get", "responses", "200", "content",
                      "text/event-stream") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sessions/{id}/messages", "post", "responses", "200", "content",
                      "text/event-stream") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sessions/{id}/messages", "post", "requestBody") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/goals/{id}/plan", "post") != NULL);
    /* hand-written collections are pages too, and the turn lists say how to poll them */
    static const char *const pages[] = {"/api/v1/orgs", "/api/v1/goals/{id}/tasks", "/api/v1/sessions/{id}/interactions",
                                        "/api/v1/public/conversations/{id}/messages"};
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        yajl_val props = ts_json_get(doc, "paths", pages[i], "get", "responses", "200", "content", "application/json",
                                     "schema", "properties");
        CHECK_STR(ts_json_get_str(props, "items", "type"), "array");
        CHECK(YAJL_IS_TRUE(ts_json_get(props, "next_cursor", "nullable")));
        yajl_val params = ts_json_get(doc, "paths", pages[i], "get", "parameters");
        int cursor = 0, since = 0;
        for (size_t k = 0; k < ts_json_len(params); k++) {
            const char *name = ts_json_get_str(params->u.array.values[k], "name");
            cursor |= name != NULL && strcmp(name, "cursor") == 0;
            since |= name != NULL && strcmp(name, "since") == 0;
        }
        CHECK(cursor);
        CHECK(since == (strstr(pages[i], "interactions") != NULL || strstr(pages[i], "messages") != NULL));
    }
    CHECK(ts_json_get(doc, "paths", "/api/v1/workspaces/me", "get") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/connectors/workspaces/{workspace_id}", "post") != NULL);

    /* a resource's schemas follow its fields: required name, limits, formats, nullability */
    CHECK_STR(ts_json_get_str(doc, "components", "schemas", "clientsCreate", "required", "0"), "name");
    CHECK_INT(ts_json_get_int(doc, "components", "schemas", "clientsCreate", "properties", "name", "maxLength"), 200);
    CHECK_STR(ts_json_get_str(doc, "components", "schemas", "clients", "properties", "archetype_id", "format"), "uuid");
    CHECK(YAJL_IS_TRUE(ts_json_get(doc, "components", "schemas", "clients", "properties", "notes", "nullable")));
    CHECK(YAJL_IS_FALSE(ts_json_get(doc, "components", "schemas", "clientsUpdate", "additionalProperties")));

    /* the shipped conf's CORS policy on the public paths: their preflights are documented */
    CHECK(ts_json_get(doc, "paths", "/api/v1/public/conversations", "options", "responses", "204") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/public/conversations/{id}/stream", "options") != NULL);
    CHECK(ts_json_get(doc, "paths", "/api/v1/sailwind/clients", "options") == NULL);

    check_refs(doc, doc);
    CHECK(refs_checked > 10);
    ts_json_free(doc);
    ts_resp_free(&resp);

    ts_server_stop(s);
    ts_server_free(s);
    free(conf);
    return check_done("openapi");
}
