/* The h2o.conf the product ships: it loads, routes every module it names, and the server stops
 * cleanly (exit 0, no leak report) after serving with it. */
#include <stdlib.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/http.h"
#include "test/support/server.h"

static long status_of(ts_server_t *s, const char *path)
{
    ts_resp_t r;
    ts_http_get(ts_server_url(s, 0, path), TS_H1, &r);
    long status = r.status;
    ts_resp_free(&r);
    return status;
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

    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
    free(conf);
    return check_done("product_conf");
}
