/* Route matching: literal and parameter segments, 404 versus 405 with Allow. */
#include "pipeline/req.h"
#include "test/support/check.h"

static void noop(req_t *r)
{
}

static const app_route_t routes[] = {
    {"GET", "/api/v1/orgs", noop, 0, APP_AUTH_NONE},
    {"GET", "/api/v1/orgs/{id}", noop, 0, APP_AUTH_NONE},
    {"PATCH", "/api/v1/orgs/{id}", noop, 0, APP_AUTH_NONE},
    {"DELETE", "/api/v1/orgs/{id}", noop, 0, APP_AUTH_NONE},
    {"GET", "/api/v1/orgs/{id}/members/{member}", noop, 0, APP_AUTH_NONE},
};
static const app_module_t mod = {"m", routes, sizeof(routes) / sizeof(routes[0])};

static app_match_t match(const char *method, const char *path, const app_route_t **route, req_param_t *params,
                         size_t *n, char *allow)
{
    return app_route_match(&mod, h2o_iovec_init(method, strlen(method)), h2o_iovec_init(path, strlen(path)), route, params,
                           REQ_MAX_PARAMS, n, allow, 64);
}

int main(void)
{
    const app_route_t *route = NULL;
    req_param_t params[REQ_MAX_PARAMS];
    size_t n = 0;
    char allow[64];

    CHECK_INT(match("GET", "/api/v1/orgs", &route, params, &n, allow), APP_MATCH_FOUND);
    CHECK(route == &routes[0]);
    CHECK_INT(n, 0);

    CHECK_INT(match("PATCH", "/api/v1/orgs/abc", &route, params, &n, allow), APP_MATCH_FOUND);
    CHECK(route == &routes[2]);
    REQUIRE(n == 1);
    CHECK(params[0].name_len == 2 && memcmp(params[0].name, "id", 2) == 0);
    CHECK(h2o_memis(params[0].value.base, params[0].value.len, H2O_STRLIT("abc")));

    CHECK_INT(match("GET", "/api/v1/orgs/o1/members/u2", &route, params, &n, allow), APP_MATCH_FOUND);
    CHECK_INT(n, 2);
    CHECK(h2o_memis(params[1].value.base, params[1].value.len, H2O_STRLIT("u2")));

    CHECK_INT(match("POST", "/api/v1/orgs/abc", &route, params, &n, allow), APP_MATCH_NO_METHOD);
    CHECK_STR(allow, "GET, PATCH, DELETE");

    CHECK_INT(match("GET", "/api/v1/orgs/", &route, params, &n, allow), APP_MATCH_NO_PATH); /* empty segment */
    CHECK_INT(match("GET", "/api/v1/orgs/a/b", &route, params, &n, allow), APP_MATCH_NO_PATH);
    CHECK_INT(match("GET", "/api/v1/orgsx", &route, params, &n, allow), APP_MATCH_NO_PATH);
    CHECK_INT(match("GET", "/api/v1", &route, params, &n, allow), APP_MATCH_NO_PATH);
    return check_done("route");
}
