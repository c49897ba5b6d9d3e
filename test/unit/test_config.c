/* h2o.conf loading: server directives, app directives, env overrides and error reporting. */
#include <fcntl.h>
#include <unistd.h>
#include <sys/wait.h>

#include "pipeline/config.h"
#include "test/support/check.h"

static void noop(req_t *r)
{
}

static const app_route_t routes[] = {{"GET", "/x", noop, 0, APP_AUTH_NONE}};
static const app_module_t mod = {"mod", routes, 1};

/* Writes text to a temp file and loads it; stderr is captured into err. */
static int load(config_t *conf, const char *text, char *err, size_t errlen)
{
    static app_t app;
    static db_stmts_t *stmts;
    if (app.nmodules == 0) {
        stmts = db_stmts_new();
        app.stmts = stmts;
        app_add_module(&app, &mod);
    }
    char path[] = "/tmp/hs-conf-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);

    char errpath[] = "/tmp/hs-err-XXXXXX";
    int efd = mkstemp(errpath), saved = dup(STDERR_FILENO);
    dup2(efd, STDERR_FILENO);
    memset(conf, 0, sizeof(*conf));
    int ret = config_load(conf, &app, path);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    ssize_t n = pread(efd, err, errlen - 1, 0);
    err[n > 0 ? n : 0] = '\0';
    close(efd);
    unlink(errpath);
    unlink(path);
    return ret;
}

static const char *base_paths = "hosts:\n  default:\n    paths:\n      /x:\n        app.handler: mod\n";

static void test_good_config(void)
{
    config_t conf;
    char err[1024], text[1024];
    unsetenv("HTTP_PORT");
    unsetenv("HTTPS_PORT");
    snprintf(text, sizeof(text), "num-threads: 3\nshutdown-timeout: 250ms\nlisten:\n  - 18080\n  - port: 18081\n    host: 127.0.0.1\n"
                                 "app.body-limit: 64K\n%s        app.body-limit: 2M\n", base_paths);
    REQUIRE(load(&conf, text, err, sizeof(err)) == 0);
    CHECK_INT(conf.num_threads, 3);
    CHECK_INT(conf.shutdown_timeout_ms, 250);
    CHECK_INT(conf.num_listeners, 2);
    CHECK_INT(conf.listeners[0].port, 18080);
    CHECK_STR(conf.listeners[1].host, "127.0.0.1");
    CHECK_INT(conf.max_app_body_limit, 2u << 20);
    CHECK(conf.globalconf.max_request_entity_size >= (2u << 20));
    config_dispose(&conf);
}

static void test_env_overrides(void)
{
    config_t conf;
    char err[1024], text[1024];
    snprintf(text, sizeof(text), "listen:\n  - 18080\n  - port: 18443\n    ssl:\n      certificate-file: /nonexistent.pem\n"
                                 "      key-file: /nonexistent.key\n%s", base_paths);
    setenv("HTTP_PORT", "19090", 1);
    setenv("HTTPS_PORT", "0", 1);
    REQUIRE(load(&conf, text, err, sizeof(err)) == 0); /* the TLS listener is gone, so its files are not read */
    CHECK_INT(conf.num_listeners, 1);
    CHECK_INT(conf.listeners[0].port, 19090);
    config_dispose(&conf);

    setenv("HTTPS_PORT", "19443", 1);
    CHECK(load(&conf, text, err, sizeof(err)) != 0);
    CHECK_CONTAINS(err, "/nonexistent.pem");
    config_dispose(&conf);

    setenv("HTTP_PORT", "notaport", 1);
    CHECK(load(&conf, text, err, sizeof(err)) != 0);
    CHECK_CONTAINS(err, "HTTP_PORT");
    config_dispose(&conf);
    unsetenv("HTTP_PORT");
    unsetenv("HTTPS_PORT");
}

/* Loads a bad config in a child process: after a failed apply libh2o's configurators leave
 * allocations behind, which is harmless in the server (it exits) but would fail LeakSanitizer
 * here. The child reports its result through its exit status and err through a pipe. */
static int load_in_child(const char *text, char *err, size_t errlen)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        config_t conf;
        char child_err[1024];
        close(fds[0]);
        int ret = load(&conf, text, child_err, sizeof(child_err));
        ssize_t w = write(fds[1], child_err, strlen(child_err));
        (void)w;
        _exit(ret == 0 ? 0 : 1);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < errlen && (r = read(fds[0], err + n, errlen - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Each bad config names the line at fault. */
static void test_errors_name_the_line(void)
{
    struct {
        const char *text, *line, *what;
    } cases[] = {
        {"listen: 18080\nbogus: 1\nhosts: {}\n", ":2]", "unknown command"},
        {"listen: 18080\nhosts:\n  default:\n    paths:\n      /x:\n        app.handler: nosuch\n", ":6]", "nosuch"},
        {"listen: 18080\nhosts:\n  default:\n    paths:\n      /x:\n        app.handler: mod\n        app.body-limit: lots\n",
         ":7]", "app.body-limit"},
        {"listen: 18080\napp.rate-limit: 5/fortnight\nhosts:\n  default:\n    paths:\n      /x:\n        app.handler: mod\n",
         ":2]", "app.rate-limit"},
        {"listen: 18080\napp.auth: maybe\n", ":2]", "app.auth"},
        {"listen: 99999\n", ":1]", "port"},
        {"listen: {port: 1, colour: red}\n", ":1]", "colour"},
        {"num-threads: 0\n", ":1]", "num-threads"},
        {"listen: 18080\nhosts: [\n", ":3", ""},
        {"hosts:\n  default:\n    paths:\n      /x:\n        app.handler: mod\n", "", "listen"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[1024];
        CHECK(load_in_child(cases[i].text, err, sizeof(err)) != 0);
        CHECK_CONTAINS(err, "/tmp/hs-conf-");
        CHECK_CONTAINS(err, cases[i].line);
        CHECK_CONTAINS(err, cases[i].what);
    }
}

static void test_values(void)
{
    size_t sz;
    uint64_t ms;
    app_rate_t rate;
    CHECK(config_parse_size("512", &sz) == 0 && sz == 512);
    CHECK(config_parse_size("64K", &sz) == 0 && sz == 65536);
    CHECK(config_parse_size("8M", &sz) == 0 && sz == 8u << 20);
    CHECK(config_parse_size("1.5M", &sz) != 0);
    CHECK(config_parse_size("-1", &sz) != 0);
    CHECK(config_parse_size("99999999999999999999G", &sz) != 0);
    CHECK(config_parse_duration("250ms", &ms) == 0 && ms == 250);
    CHECK(config_parse_duration("30s", &ms) == 0 && ms == 30000);
    CHECK(config_parse_duration("2m", &ms) == 0 && ms == 120000);
    CHECK(config_parse_duration("soon", &ms) != 0);
    CHECK(config_parse_rate("10/s", &rate) == 0 && rate.count == 10 && rate.per_ms == 1000);
    CHECK(config_parse_rate("600/min", &rate) == 0 && rate.count == 600 && rate.per_ms == 60000);
    CHECK(config_parse_rate("off", &rate) == 0 && rate.count == 0);
    CHECK(config_parse_rate("0/s", &rate) != 0);
    CHECK(config_parse_rate("10", &rate) != 0);
}

int main(void)
{
    test_values();
    test_good_config();
    test_env_overrides();
    test_errors_name_the_line();
    return check_done("config");
}
