/* Logs: JSON lines with time, level, msg, request_id, route/path, status and latency for every
 * request; bearer tokens, emails and phone numbers never written; LOG_LEVEL filters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"

static const char PATHS[] = TS_PATHS_DEFAULT "/echo:\n  app.handler: echo\n  app.auth: none\n";

/* A JWT-shaped token (header {"alg":"HS256","typ":"JWT"}); its parts must not reach the log. */
#define TOKEN_HEAD "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
#define TOKEN_BODY "eyJzdWIiOiJ1c2VyLTQyIiwib3JnX2lkIjoib3JnLTcifQ"
#define TOKEN_SIG "Zm9yZ2VkLXNpZ25hdHVyZS1mb3ItbG9nLXRlc3Q"
#define AUTH "Authorization: Bearer " TOKEN_HEAD "." TOKEN_BODY "." TOKEN_SIG

static const char *const secrets[] = {
    TOKEN_HEAD, TOKEN_BODY, TOKEN_SIG,
    "alice@example.com", "alice%40example.com", "bob@example.org", "carol@example.net", "carol%40example.net",
    "dave@example.com", "erin@example.com",
    "14155550123", "14155550199", "14155550177", "14155550188",
};

static void send_requests(ts_server_t *s)
{
    static const char *const echo_hdrs[] = {"Content-Type: application/json", AUTH, "X-Request-Id: it-log-echo", NULL};
    static const char *const bad_hdrs[] = {"Content-Type: application/json", AUTH, "X-Request-Id: it-log-bad", NULL};
    ts_resp_t r;

    ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, "/health?email=alice@example.com&phone=+14155550123"),
                                .headers = (const char *[]){AUTH, "X-Request-Id: it-log-health", NULL}},
                    &r);
    TS_EXPECT_STATUS(&r, 200);
    ts_resp_free(&r);

    ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, "/users/bob@example.org/calls?"
                                                           "email=carol%40example.net&phone=%2B14155550199"),
                                .headers = (const char *[]){AUTH, "X-Request-Id: it-log-404", NULL},
                                .version = TS_H2C_PRIOR},
                    &r);
    TS_EXPECT_STATUS(&r, 404);
    ts_resp_free(&r);

    static const char body[] = "{\"email\":\"dave@example.com\",\"phone\":\"+14155550177\"}";
    ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, "/echo?email=alice%40example.com"), .body = body,
                                .body_len = strlen(body), .headers = echo_hdrs},
                    &r);
    TS_EXPECT_STATUS(&r, 200);
    ts_resp_free(&r);

    /* an error about the body must not quote the personal data in it */
    static const char bad[] = "{\"email\":\"erin@example.com\",\"phone\":\"+14155550188\",";
    ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, "/echo"), .body = bad, .body_len = strlen(bad),
                                .headers = bad_hdrs},
                    &r);
    TS_EXPECT_STATUS(&r, 400);
    ts_resp_free(&r);
}

/* The key of the first member whose name starts with prefix, e.g. "latency" or "latency_ms". */
static yajl_val member_with_prefix(yajl_val obj, const char *prefix)
{
    for (size_t i = 0; YAJL_IS_OBJECT(obj) && i < obj->u.object.len; i++)
        if (strncmp(obj->u.object.keys[i], prefix, strlen(prefix)) == 0)
            return obj->u.object.values[i];
    return NULL;
}

/* Checks the request's log line: the fields every request line has, with the given status. */
static void check_request_line(yajl_val *lines, size_t n, const char *request_id, long status, const char *path_prefix)
{
    yajl_val line = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *rid = ts_json_get_str(lines[i], "request_id");
        if (rid != NULL && strcmp(rid, request_id) == 0 && ts_json_is_int(lines[i], "status"))
            line = lines[i];
    }
    CHECK(line != NULL);
    if (line == NULL) {
        fprintf(stderr, "  no log line with request_id %s and a status\n", request_id);
        return;
    }
    CHECK(ts_json_is_str(line, "time") || ts_json_is_number(line, "time"));
    const char *level = ts_json_get_str(line, "level");
    if (status < 400)
        CHECK_STR(level, "info");
    else /* a client's mistake may be worth a warning, no more */
        CHECK(level != NULL && (strcmp(level, "info") == 0 || strcmp(level, "warn") == 0));
    CHECK(ts_json_is_str(line, "msg") || ts_json_is_str(line, "message"));
    const char *where = ts_json_get_str(line, "path") ? ts_json_get_str(line, "path") : ts_json_get_str(line, "route");
    CHECK(where != NULL && strncmp(where, path_prefix, strlen(path_prefix)) == 0);
    if (where == NULL || strncmp(where, path_prefix, strlen(path_prefix)) != 0)
        fprintf(stderr, "  request %s logged path/route \"%s\", expected it to start with %s\n", request_id,
                where ? where : "(absent)", path_prefix);
    CHECK_INT(ts_json_get_int(line, "status"), status);
    yajl_val latency = member_with_prefix(line, "latency");
    CHECK(YAJL_IS_NUMBER(latency) && YAJL_GET_DOUBLE(latency) >= 0);
}

/* Splits the log into parsed lines; every non-empty line must be a JSON object (one CHECK,
 * naming the first offender and how many there are, so a sanitizer report stays readable). */
static size_t parse_lines(const char *log, yajl_val **out)
{
    size_t n = 0, cap = 16, bad = 0;
    yajl_val *lines = malloc(cap * sizeof(*lines));
    char *copy = strdup(log), *save = NULL, first_bad[200] = "";
    for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        char err[64];
        yajl_val v = yajl_tree_parse(line, err, sizeof(err));
        if (!YAJL_IS_OBJECT(v)) {
            if (bad++ == 0)
                snprintf(first_bad, sizeof(first_bad), "%s", line);
            ts_json_free(v);
            continue;
        }
        if (n == cap)
            lines = realloc(lines, (cap *= 2) * sizeof(*lines));
        lines[n++] = v;
    }
    CHECK_INT(bad, 0);
    if (bad > 0)
        fprintf(stderr, "  %zu log lines are not JSON objects; the first: %s\n", bad, first_bad);
    free(copy);
    *out = lines;
    return n;
}

static void free_lines(yajl_val *lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ts_json_free(lines[i]);
    free(lines);
}

static void test_info_level(void)
{
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS});
    REQUIRE(s != NULL);
    send_requests(s);
    CHECK_INT(ts_server_stop(s), 0); /* everything is flushed once it has exited */
    const char *log = ts_server_log(s);

    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
        CHECK(strstr(log, secrets[i]) == NULL);
        if (strstr(log, secrets[i]) != NULL)
            fprintf(stderr, "  the log contains \"%s\"\n", secrets[i]);
    }

    yajl_val *lines;
    size_t n = parse_lines(log, &lines);
    CHECK(n >= 4);
    /* the levels are the four LOG_LEVEL names */
    for (size_t i = 0; i < n; i++) {
        const char *level = ts_json_get_str(lines[i], "level");
        CHECK(level != NULL && (strcmp(level, "debug") == 0 || strcmp(level, "info") == 0 ||
                                strcmp(level, "warn") == 0 || strcmp(level, "error") == 0));
    }
    check_request_line(lines, n, "it-log-health", 200, "/health");
    check_request_line(lines, n, "it-log-404", 404, "/");
    check_request_line(lines, n, "it-log-echo", 200, "/echo");
    check_request_line(lines, n, "it-log-bad", 400, "/echo");
    free_lines(lines, n);
    ts_server_free(s);
}

static void test_warn_level(void)
{
    ts_server_t *s =
        ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = (const char *[]){"LOG_LEVEL=warn", NULL}});
    REQUIRE(s != NULL);
    ts_resp_t r;
    ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, "/health"),
                                .headers = (const char *[]){"X-Request-Id: it-log-quiet", NULL}},
                    &r);
    TS_EXPECT_STATUS(&r, 200);
    ts_resp_free(&r);
    CHECK_INT(ts_server_stop(s), 0);
    const char *log = ts_server_log(s);
    CHECK(strstr(log, "it-log-quiet") == NULL); /* a 200 is not worth a warning */
    yajl_val *lines;
    size_t n = parse_lines(log, &lines);
    for (size_t i = 0; i < n; i++) {
        const char *level = ts_json_get_str(lines[i], "level");
        CHECK(level != NULL && strcmp(level, "info") != 0 && strcmp(level, "debug") != 0);
    }
    free_lines(lines, n);
    ts_server_free(s);
}

int main(void)
{
    test_info_level();
    test_warn_level();
    return check_done("integration/test_logging");
}
