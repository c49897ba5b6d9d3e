/* The h2o.conf the product ships: it loads, routes every module it names, its OpenAPI document
 * covers every path the file serves (read from the file itself), and the server stops cleanly
 * (exit 0, no leak report) after serving with it. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/yoml.h"
#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"

static long status_of(ts_server_t *s, const char *path)
{
    ts_resp_t r;
    ts_http_get(ts_server_url(s, 0, path), TS_H1, &r);
    long status = r.status;
    ts_resp_free(&r);
    return status;
}

/* Whether the document has a path equal to `prefix` or below it. */
static int documented_under(yajl_val paths, const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < paths->u.object.len; i++) {
        const char *p = paths->u.object.keys[i];
        if (strncmp(p, prefix, n) == 0 && (p[n] == '\0' || p[n] == '/' || prefix[n - 1] == '/'))
            return 1;
    }
    return 0;
}

/* Every path of every host in conf_path: an app module's mount has documented routes under it;
 * a path of H2O's own handlers is documented as a GET, with the type a file.file serves, and
 * answers it. */
static void check_openapi_covers(ts_server_t *s, const char *conf_path)
{
    char err[256];
    yoml_t *root = yoml_parse_file(conf_path, err, sizeof(err));
    REQUIRE(root != NULL);
    ts_resp_t r;
    ts_http_get(ts_server_url(s, 0, "/openapi.json"), TS_H1, &r);
    yajl_val doc = ts_json_parse(r.body, "openapi.json");
    ts_resp_free(&r);
    REQUIRE(doc != NULL && ts_json_is_object(doc, "paths"));
    yajl_val paths = ts_json_get(doc, "paths");
    yoml_t *hosts = yoml_get(root, "hosts");
    REQUIRE(hosts != NULL && hosts->type == YOML_TYPE_MAPPING);
    size_t app_paths = 0, plain_paths = 0;
    for (size_t h = 0; h < hosts->data.mapping.size; h++) {
        yoml_t *conf_paths = yoml_get(hosts->data.mapping.elements[h].value, "paths");
        REQUIRE(conf_paths != NULL && conf_paths->type == YOML_TYPE_MAPPING);
        for (size_t i = 0; i < conf_paths->data.mapping.size; i++) {
            const char *path = conf_paths->data.mapping.elements[i].key->data.scalar;
            yoml_t *conf = conf_paths->data.mapping.elements[i].value;
            if (yoml_get(conf, "app.handler") != NULL) {
                app_paths++;
                CHECK(documented_under(paths, path));
                if (!documented_under(paths, path))
                    fprintf(stderr, "  (%s is not in /openapi.json)\n", path);
                continue;
            }
            plain_paths++;
            yajl_val get = ts_json_get(paths, path, "get");
            CHECK(get != NULL);
            if (get == NULL) {
                fprintf(stderr, "  (%s has no GET in /openapi.json)\n", path);
                continue;
            }
            yajl_val content = ts_json_get(get, "responses", "200", "content");
            REQUIRE(YAJL_IS_OBJECT(content) && content->u.object.len == 1);
            const char *type = content->u.object.keys[0];
            ts_http_get(ts_server_url(s, 0, path), TS_H1, &r);
            CHECK_INT(r.status, 200);
            CHECK_STR(ts_resp_header(&r, "content-type"), type);
            ts_resp_free(&r);
        }
    }
    CHECK(app_paths >= 20);
    CHECK(plain_paths >= 3); /* the legal pages and /docs */
    CHECK_STR(ts_json_get_str(paths, "/api/v1/legal/terms", "get", "responses", "200", "content",
                              "text/markdown; charset=utf-8", "schema", "type"),
              "string");
    ts_json_free(doc);
    yoml_free(root, NULL);
}

int main(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/h2o.conf", ts_env_require("HS_SOURCE_DIR", "the repository root"));
    char *conf = ts_read_file(path, NULL);
    REQUIRE(conf != NULL);
    /* HTTPS_PORT=0 (the harness default without .tls) drops the TLS listener and its files */
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.raw_conf = conf});
    REQUIRE(s != NULL);

    CHECK_INT(status_of(s, "/health"), 200);
    CHECK_INT(status_of(s, "/ready"), 200);
    CHECK_INT(status_of(s, "/openapi.json"), 200);
    /* every module path the file names is routed and asks for a token */
    const char *authenticated[] = {"/api/v1/auth/me", "/api/v1/profile", "/api/v1/orgs", "/api/v1/sailwind/clients",
                                   "/api/v1/contacts", "/api/v1/memory-rules", "/api/v1/integrations",
                                   "/api/v1/tasks", "/api/v1/sailwind/my/practice-sessions", "/api/v1/goals", "/api/v1/sessions", "/api/v1/skills", "/api/v1/admin/feedback"};
    for (size_t i = 0; i < sizeof(authenticated) / sizeof(authenticated[0]); i++) {
        long st = status_of(s, authenticated[i]);
        CHECK_INT(st, 401);
        if (st != 401)
            fprintf(stderr, "  (%s)\n", authenticated[i]);
    }
    CHECK_INT(status_of(s, "/no/such/path"), 404);

    /* the conf names its files relative to the repository, where `make run` starts the server */
    char web[1024], link[1024];
    snprintf(web, sizeof(web), "%s/web", ts_env_require("HS_SOURCE_DIR", "the repository root"));
    snprintf(link, sizeof(link), "%s/web", ts_server_dir(s));
    REQUIRE(symlink(web, link) == 0);
    check_openapi_covers(s, path);

    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
    free(conf);
    return check_done("product_conf");
}
