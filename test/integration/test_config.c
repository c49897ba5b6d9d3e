/* h2o.conf: bad confs refused naming file and line, HTTP_PORT/HTTPS_PORT overrides, app.*
 * inheritance, and H2O's file.dir and proxy.reverse.url on paths beside the app handlers. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"

/* ---- config errors ------------------------------------------------------------------------ */

/* Lines 1-10 of every bad conf; the path /x's body starts at line 11. */
static const char CONF_HEAD[] = TS_CONF_HEAD;

static const struct {
    const char *what;
    const char *x_body; /* lines 11.. (indented for /x) */
    int line;           /* the line a message must name */
} bad_confs[] = {
    {"unknown directive", "        app.handler: echo\n        app.handlr: echo\n", 12},
    {"YAML syntax error", "        app.handler: echo\n        app.auth: none: x\n", 12},
    {"unknown handler", "        app.auth: none\n        app.handler: nosuch\n", 12},
    {"bad app.body-limit", "        app.handler: echo\n        app.body-limit: 12Q\n", 12},
    {"negative app.body-limit", "        app.handler: echo\n        app.body-limit: -1\n", 12},
    {"app.body-limit not a scalar", "        app.handler: echo\n        app.body-limit: [1]\n", 12},
    {"bad app.auth", "        app.handler: echo\n        app.auth: sometimes\n", 12},
    {"bad app.timeout", "        app.handler: echo\n        app.timeout: soon\n", 12},
    {"bad app.rate-limit", "        app.handler: echo\n        app.rate-limit: 10/fortnight\n", 12},
    {"bad app.pool", "        app.handler: echo\n        app.pool: medium\n", 12},
};

/* "<file>:<line>" as most tools print it, or h2o's "[<file>:<line>]"; "line N" beside the
 * file name is accepted too. */
static int names_file_and_line(const char *out, const char *file, int line)
{
    char with_colon[2048], with_word[32];
    snprintf(with_colon, sizeof(with_colon), "%s:%d", file, line);
    snprintf(with_word, sizeof(with_word), "line %d", line);
    const char *hit = strstr(out, with_colon);
    if (hit != NULL && !(hit[strlen(with_colon)] >= '0' && hit[strlen(with_colon)] <= '9'))
        return 1;
    return strstr(out, file) != NULL && strstr(out, with_word) != NULL;
}

static void test_bad_confs(void)
{
    for (size_t i = 0; i < sizeof(bad_confs) / sizeof(bad_confs[0]); i++) {
        char *conf, *output, *path;
        int code;
        if (asprintf(&conf, "%s%s", CONF_HEAD, bad_confs[i].x_body) < 0)
            abort();
        int rc = ts_server_run_expect_fail(conf, &code, &output, &path);
        CHECK_INT(rc, 0);
        CHECK(code != 0);
        CHECK(names_file_and_line(output, path, bad_confs[i].line));
        if (rc != 0 || code == 0 || !names_file_and_line(output, path, bad_confs[i].line))
            fprintf(stderr, "  %s (expected non-zero exit and %s:%d named); exit %d, output:\n%s\n", bad_confs[i].what,
                    path, bad_confs[i].line, code, output);
        free(conf);
        free(output);
        free(path);
    }

    /* the same conf with the mistake fixed starts: the failures above were those mistakes */
    char *conf, *output;
    int code;
    if (asprintf(&conf, "%s%s", CONF_HEAD, "        app.handler: echo\n        app.auth: none\n") < 0)
        abort();
    CHECK_INT(ts_server_run_expect_fail(conf, &code, &output, NULL), -1);
    free(conf);
    free(output);
}

/* ---- modules' own directives ---------------------------------------------------------------- */

/* Each module checks its directives as the file is read: line 2 holds the mistake. */
static void test_module_directives(void)
{
    static const char *const bad[] = {
        "run.deadline: forever\n",        "run.deadline: 5ms\n",          "run.max-tool-rounds: 17\n",
        "run.quota-per-hour: -1\n",       "sse.keepalive: 2h\n",          "guardrails.max-input: 0\n",
        "guardrails.blocked-terms: [a, \"b,c\"]\n", "public-chat.history-turns: 201\n",
        "public-chat.knowledge-base-chars: lots\n",  "run.deadline: [1]\n",
        "db.connections: 0\n",            "db.connect-timeout: 1h\n",     "coach.history-turns: 201\n",
    };
    static const char tail[] = "listen:\n  - port: 8080\nhosts:\n  default:\n    paths:\n      /health:\n"
                               "        app.handler: health\n        app.auth: none\n";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *conf, *output, *path, name[64];
        int code;
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(bad[i], ":"), bad[i]);
        if (asprintf(&conf, "num-threads: 1\n%s%s", bad[i], tail) < 0)
            abort();
        int rc = ts_server_run_expect_fail(conf, &code, &output, &path);
        CHECK_INT(rc, 0);
        CHECK(code != 0);
        CHECK(names_file_and_line(output, path, 2));
        CHECK_CONTAINS(output, name);
        free(conf);
        free(output);
        free(path);
    }
    /* the same directives with good values start */
    char *conf, *output;
    int code;
    if (asprintf(&conf,
                 "num-threads: 1\nrun.deadline: 90s\nrun.max-tool-rounds: 2\nrun.quota-per-hour: 50\n"
                 "sse.keepalive: 1s\nguardrails.max-input: 4000\nguardrails.blocked-terms: [casino, \"crypto giveaway\"]\n"
                 "public-chat.history-turns: 10\npublic-chat.knowledge-base-chars: 64000\ncoach.history-turns: 12\n"
                 "db.connections: 3\ndb.slow-connections: 2\ndb.max-inflight: 32\ndb.max-queue: 500\n"
                 "db.connect-timeout: 2s\n%s",
                 tail) < 0)
        abort();
    CHECK_INT(ts_server_run_expect_fail(conf, &code, &output, NULL), -1);
    free(conf);
    free(output);
}

/* ---- listeners from the environment ------------------------------------------------------- */

static void test_port_overrides(void)
{
    /* The conf names other ports than the ones the harness passes in HTTP_PORT/HTTPS_PORT: the
     * server must answer on the latter and leave the former alone. */
    uint16_t conf_http = ts_free_port(), conf_https = ts_free_port();
    char *conf;
    if (asprintf(&conf,
                 "num-threads: 1\n"
                 "listen:\n"
                 "  - port: %u\n"
                 "  - port: %u\n"
                 "    ssl:\n"
                 "      certificate-file: %s\n"
                 "      key-file: %s\n"
                 "hosts:\n"
                 "  default:\n"
                 "    paths:\n"
                 "      /health:\n"
                 "        app.handler: health\n"
                 "        app.auth: none\n",
                 conf_http, conf_https, ts_fixture("tls/cert.pem"), ts_fixture("tls/key.pem")) < 0)
        abort();

    /* HTTPS_PORT=0 removes the TLS listener */
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.raw_conf = conf, .tls = 0});
    CHECK(s != NULL);
    if (s != NULL) {
        CHECK(ts_port_refuses(conf_http));
        CHECK(ts_port_refuses(conf_https));
        CHECK_INT(ts_server_stop(s), 0);
        ts_server_free(s);
    }

    /* HTTPS_PORT=N moves it */
    s = ts_server_start(&(ts_server_opts_t){.raw_conf = conf, .tls = 1});
    CHECK(s != NULL);
    if (s != NULL) {
        ts_resp_t r;
        ts_http_get(ts_server_url(s, 1, "/health"), TS_H2_TLS, &r);
        TS_EXPECT_STATUS(&r, 200);
        CHECK_INT(r.http_major, 2);
        ts_resp_free(&r);
        CHECK(ts_port_refuses(conf_http));
        CHECK(ts_port_refuses(conf_https));
        CHECK_INT(ts_server_stop(s), 0);
        ts_server_free(s);
    }
    free(conf);
}

/* ---- inheritance -------------------------------------------------------------------------- */

/* POSTs `len` bytes of valid JSON ({} and spaces) to /echo and returns the status. */
static long post_echo(ts_server_t *s, size_t len)
{
    char body[600];
    memset(body, ' ', sizeof(body));
    body[0] = '{';
    body[1] = '}';
    ts_resp_t r;
    ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, "/echo"), .body = body, .body_len = len,
                                .headers = (const char *[]){"Content-Type: application/json", NULL}},
                    &r);
    long status = r.status;
    ts_resp_free(&r);
    return status;
}

static void test_global_directives_inherit(void)
{
    /* a path without its own app.body-limit takes the global one */
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){
        .extra_global_yaml = "app.body-limit: 100\n",
        .paths_yaml = TS_PATHS_DEFAULT "/echo:\n  app.handler: echo\n  app.auth: none\n"});
    CHECK(s != NULL);
    if (s != NULL) {
        CHECK_INT(post_echo(s, 100), 200);
        CHECK_INT(post_echo(s, 101), 413);
        CHECK_INT(ts_server_stop(s), 0);
        ts_server_free(s);
    }

    /* and the path's own wins over it */
    s = ts_server_start(&(ts_server_opts_t){
        .extra_global_yaml = "app.body-limit: 100\n",
        .paths_yaml = TS_PATHS_DEFAULT "/echo:\n  app.handler: echo\n  app.auth: none\n  app.body-limit: 1K\n"});
    CHECK(s != NULL);
    if (s != NULL) {
        CHECK_INT(post_echo(s, 600), 200);
        CHECK_INT(ts_server_stop(s), 0);
        ts_server_free(s);
    }
}

/* ---- standard H2O directives beside app handlers ------------------------------------------ */

/* A one-connection-at-a-time HTTP upstream in a child process: answers every request with
 * "upstream saw <METHOD> <target>" and closes. Dies with the test or after a minute. */
static pid_t upstream_start(uint16_t *port)
{
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    REQUIRE(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(lfd, 16) == 0 &&
            getsockname(lfd, (struct sockaddr *)&a, &alen) == 0);
    *port = ntohs(a.sin_port);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid > 0) {
        close(lfd);
        return pid;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    alarm(60);
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0)
            continue;
        char *req = NULL, *resp = NULL;
        size_t len = 0;
        if (ts_tcp_read_until(c, "\r\n\r\n", 5000, &req, &len) == 0) {
            char method[16] = "", target[512] = "", body[600];
            sscanf(req, "%15s %511s", method, target);
            int n = snprintf(body, sizeof(body), "upstream saw %s %s", method, target);
            int rn = asprintf(&resp, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                                     "Connection: close\r\n\r\n%s", n, body);
            if (rn > 0)
                ts_tcp_send(c, resp, (size_t)rn);
        }
        free(req);
        free(resp);
        close(c);
    }
}

static void test_h2o_directives(void)
{
    uint16_t up_port;
    pid_t up = upstream_start(&up_port);
    char *dir = ts_tmpdir_new("hs-it-static"), *file, *paths;
    static const char content[] = "hello from file.dir\n";
    if (asprintf(&file, "%s/hello.txt", dir) < 0)
        abort();
    ts_write_file(file, content);
    if (asprintf(&paths,
                 TS_PATHS_DEFAULT "/static:\n  file.dir: %s\n"
                                  "/legacy:\n  proxy.reverse.url: http://127.0.0.1:%u/\n"
                                  "/echo:\n  app.handler: echo\n  app.auth: none\n",
                 dir, up_port) < 0)
        abort();
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.paths_yaml = paths});
    CHECK(s != NULL);
    for (int v = 0; s != NULL && v < 2; v++) {
        ts_version_t version = v == 0 ? TS_H1 : TS_H2C_PRIOR;
        ts_resp_t r;
        ts_http_get(ts_server_url(s, 0, "/static/hello.txt"), version, &r);
        TS_EXPECT_STATUS(&r, 200);
        CHECK_STR(r.body, content);
        ts_resp_free(&r);

        ts_http_get(ts_server_url(s, 0, "/static/missing.txt"), version, &r);
        TS_EXPECT_STATUS(&r, 404);
        ts_resp_free(&r);

        ts_http_get(ts_server_url(s, 0, "/legacy/ping?x=1"), version, &r);
        TS_EXPECT_STATUS(&r, 200);
        CHECK_STR(r.body, "upstream saw GET /ping?x=1");
        ts_resp_free(&r);

        /* and the app paths beside them still work */
        ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, "/echo"), .body = "{\"k\":[1]}", .body_len = 9,
                                    .headers = (const char *[]){"Content-Type: application/json", NULL},
                                    .version = version},
                        &r);
        TS_EXPECT_STATUS(&r, 200);
        yajl_val t = ts_json_parse(r.body, "echo");
        CHECK_INT(ts_json_get_int(t, "json", "k", "0"), 1);
        ts_json_free(t);
        ts_resp_free(&r);

        ts_http_get(ts_server_url(s, 0, "/nope"), version, &r);
        TS_EXPECT_ERROR(&r, 404, "not_found");
        ts_resp_free(&r);
    }
    if (s != NULL) {
        CHECK_INT(ts_server_stop(s), 0);
        ts_server_free(s);
    }
    kill(up, SIGKILL);
    waitpid(up, NULL, 0);
    ts_rmrf(dir);
    free(dir);
    free(file);
    free(paths);
}

int main(void)
{
    test_bad_confs();
    test_module_directives();
    test_port_overrides();
    test_global_directives_inherit();
    test_h2o_directives();
    return check_done("integration/test_config");
}
