/* Routes are relative to where h2o.conf mounts their module: the same module mounted at a second
 * path answers there too (over HTTP/1.1 and h2c), its creates say where they are in Location,
 * and the OpenAPI document and the metrics follow the mounts. */
#include <stdio.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/api/v1/sailwind:\n"
                                                               "  app.handler: sailwind\n"
                                                               "  app.auth: required\n"
                                                               "/playbook:\n"
                                                               "  app.handler: sailwind\n"
                                                               "  app.auth: required\n"
                                                               "/status:\n"
                                                               "  app.handler: health\n"
                                                               "  app.auth: none\n"
                                                               "/openapi.json:\n"
                                                               "  app.handler: docs\n"
                                                               "  app.auth: none\n"
                                                               "/metrics:\n"
                                                               "  app.handler: metrics\n"
                                                               "  app.auth: none\n";

int main(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    ts_server_t *srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    ts_who_t admin;
    ts_who_make(&admin, NULL, ts_jwt_unique("org_mounts"), "admin");

    /* a client created under the second mount: its Location is under that mount */
    ts_resp_t r;
    ts_rest_call("POST", "/playbook/clients", &admin, "{\"name\":\"Mounted Co\"}", NULL, TS_H1, &r);
    CHECK_INT(r.status, 201);
    yajl_val t = ts_json_parse(r.body, "client");
    REQUIRE(t != NULL && ts_json_is_str(t, "id"));
    char want[160], item[160], first[160];
    snprintf(want, sizeof(want), "/playbook/clients/%s", ts_json_get_str(t, "id"));
    snprintf(first, sizeof(first), "/api/v1/sailwind/clients/%s", ts_json_get_str(t, "id"));
    CHECK_STR(ts_resp_header(&r, "location"), want);
    snprintf(item, sizeof(item), "%s", want);
    ts_json_free(t);
    ts_resp_free(&r);

    /* both mounts serve the same module, in both protocols */
    static const ts_version_t versions[] = {TS_H1, TS_H2C_PRIOR};
    for (size_t v = 0; v < 2; v++) {
        const char *paths[] = {item, first, "/playbook/clients", "/api/v1/sailwind/my/rep-assignments",
                               "/playbook/my/rep-assignments"};
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
            ts_rest_call("GET", paths[i], &admin, NULL, NULL, versions[v], &r);
            CHECK_INT(r.status, 200);
            if (r.status != 200)
                fprintf(stderr, "  (%s)\n", paths[i]);
            ts_resp_free(&r);
        }
        ts_rest_call("GET", "/playbook/no-such-collection", &admin, NULL, NULL, versions[v], &r);
        TS_EXPECT_ERROR(&r, 404, "not_found");
        ts_resp_free(&r);
        ts_rest_call("GET", "/playbook/clients", NULL, NULL, NULL, versions[v], &r); /* the mount's app.auth */
        TS_EXPECT_ERROR(&r, 401, "unauthorized");
        ts_resp_free(&r);
    }

    /* a module at a path of another name answers at its root */
    ts_http_get(ts_server_url(srv, 0, "/status"), TS_H1, &r);
    CHECK_INT(r.status, 200);
    CHECK_CONTAINS(r.body, "\"status\":\"ok\"");
    ts_resp_free(&r);

    /* the document and the metrics name the routes where they are mounted */
    ts_http_get(ts_server_url(srv, 0, "/openapi.json"), TS_H1, &r);
    t = ts_json_parse(r.body, "openapi.json");
    REQUIRE(t != NULL);
    CHECK(ts_json_get(t, "paths", "/playbook/clients", "post") != NULL);
    CHECK(ts_json_get(t, "paths", "/playbook/clients/{id}", "get") != NULL);
    CHECK(ts_json_get(t, "paths", "/api/v1/sailwind/clients", "get") != NULL);
    CHECK(ts_json_get(t, "paths", "/status", "get") != NULL);
    CHECK(ts_json_get(t, "paths", "/api/v1/tasks") == NULL); /* not mounted here */
    ts_json_free(t);
    ts_resp_free(&r);
    ts_http_get(ts_server_url(srv, 0, "/metrics"), TS_H1, &r);
    CHECK_CONTAINS(r.body, "hellosales_http_requests_total{route=\"/playbook/clients\",status=\"201\"} 1");
    CHECK_CONTAINS(r.body, "hellosales_http_requests_total{route=\"/api/v1/sailwind/clients/{id}\",status=\"200\"} 2");
    ts_resp_free(&r);

    ts_who_free(&admin);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("mounts");
}
