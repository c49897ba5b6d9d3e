/* Starting and stopping the real server for integration tests (see server.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, memmem */
#endif
#include "test/support/server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/http.h"

extern char **environ;

#define START_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 15000

struct ts_server {
    pid_t pid;
    int exited, status;
    char *dir, *conf_path, *log_path, *log_text;
    uint16_t http_port, https_port;
};

/* ---- conf --------------------------------------------------------------------------------- */

/* Appends text with every line indented, so tests can write their paths at column 0. */
static void append_indented(FILE *out, const char *text, int indent)
{
    for (const char *line = text; *line != '\0';) {
        const char *eol = strchr(line, '\n');
        size_t len = eol != NULL ? (size_t)(eol - line) : strlen(line);
        fprintf(out, "%*s%.*s\n", len > 0 ? indent : 0, "", (int)len, line);
        line += len + (eol != NULL);
    }
}

static char *build_conf(const ts_server_opts_t *o, uint16_t http_port, uint16_t https_port)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    fprintf(out, "num-threads: %d\n", o->num_threads > 0 ? o->num_threads : 2);
    if (o->extra_global_yaml != NULL)
        append_indented(out, o->extra_global_yaml, 0);
    fprintf(out, "listen:\n  - port: %u\n", http_port);
    if (https_port != 0)
        fprintf(out, "  - port: %u\n    ssl:\n      certificate-file: %s\n      key-file: %s\n", https_port,
                ts_fixture("tls/cert.pem"), ts_fixture("tls/key.pem"));
    fprintf(out, "hosts:\n  default:\n    paths:\n");
    append_indented(out, o->paths_yaml != NULL ? o->paths_yaml : TS_PATHS_DEFAULT, 6);
    fclose(out);
    return text;
}

/* ---- process ------------------------------------------------------------------------------ */

static int env_name_eq(const char *a, const char *b)
{
    size_t na = strcspn(a, "="), nb = strcspn(b, "=");
    return na == nb && memcmp(a, b, na) == 0;
}

/* The child's environment: ours, with the harness's settings and then the test's extras
 * replacing variables of the same name. DATABASE_URL and REDIS_URL pass through. */
static char **build_env(const char *const *settings, const char *const *extra)
{
    size_t n = 0, cap = 16;
    for (char **e = environ; *e != NULL; e++)
        cap++;
    for (const char *const *e = settings; e && *e; e++)
        cap++;
    for (const char *const *e = extra; e && *e; e++)
        cap++;
    char **env = calloc(cap, sizeof(char *));
    const char *const *lists[] = {settings, extra};
    for (char **e = environ; *e != NULL; e++) {
        int overridden = 0;
        for (size_t l = 0; l < 2; l++)
            for (const char *const *x = lists[l]; x && *x; x++)
                overridden |= env_name_eq(*e, *x);
        if (!overridden)
            env[n++] = *e;
    }
    for (const char *const *x = settings; x && *x; x++) {
        int replaced = 0;
        for (const char *const *y = extra; y && *y; y++)
            replaced |= env_name_eq(*x, *y);
        if (!replaced)
            env[n++] = (char *)*x;
    }
    for (const char *const *x = extra; x && *x; x++)
        env[n++] = (char *)*x;
    return env;
}

/* fork + exec `$HS_BIN serve -c conf` in dir with output to log_path; exits the test if it
 * cannot fork. The child dies with the test (PDEATHSIG), so a crashed test leaves no server. */
static pid_t spawn(const char *conf_path, const char *dir, const char *log_path, char **env)
{
    const char *bin = ts_bin();
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "fork: %s\n", strerror(errno));
        exit(1);
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0 || chdir(dir) != 0)
            _exit(127);
        execve(bin, (char *[]){(char *)bin, "serve", "-c", (char *)conf_path, NULL}, env);
        dprintf(2, "test harness: cannot exec %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    return pid;
}

static int decode_status(int wstatus)
{
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : -1;
}

static int reap(ts_server_t *s, int options)
{
    if (s->exited)
        return 1;
    int wstatus;
    pid_t r = waitpid(s->pid, &wstatus, options);
    if (r == s->pid) {
        s->exited = 1;
        s->status = decode_status(wstatus);
    }
    return s->exited;
}

static void print_tail(const char *text, int lines, const char *what)
{
    const char *p = text + strlen(text);
    while (p > text && lines > 0)
        if (*--p == '\n' && p[1] != '\0')
            lines--;
    fprintf(stderr, "---- last lines of %s ----\n%s%s---- end ----\n", what, p == text ? p : p + 1,
            *text && text[strlen(text) - 1] != '\n' ? "\n" : "");
}

/* ---- public ------------------------------------------------------------------------------- */

ts_server_t *ts_server_start(const ts_server_opts_t *opts)
{
    static const ts_server_opts_t defaults;
    const ts_server_opts_t *o = opts != NULL ? opts : &defaults;
    ts_server_t *s = calloc(1, sizeof(*s));
    s->dir = ts_tmpdir_new("hs-it");
    s->http_port = ts_free_port();
    s->https_port = o->tls ? ts_free_port() : 0;
    if (asprintf(&s->conf_path, "%s/h2o.conf", s->dir) < 0 || asprintf(&s->log_path, "%s/server.log", s->dir) < 0)
        abort();
    char *conf = o->raw_conf != NULL ? strdup(o->raw_conf) : build_conf(o, s->http_port, s->https_port);
    ts_write_file(s->conf_path, conf);
    free(conf);

    char http_env[32], https_env[32];
    snprintf(http_env, sizeof(http_env), "HTTP_PORT=%u", s->http_port);
    snprintf(https_env, sizeof(https_env), "HTTPS_PORT=%u", s->https_port);
    const char *settings[] = {"APP_ENV=test", "LOG_LEVEL=info", http_env, https_env, NULL};
    char **env = build_env(settings, o->env);
    s->pid = spawn(s->conf_path, s->dir, s->log_path, env);
    free(env);

    /* Ready means /health answers 200; an early exit or the deadline is a failed start. */
    int64_t deadline = ts_now_ms() + START_TIMEOUT_MS;
    long last_status = 0;
    char last_error[256] = "no attempt";
    while (ts_now_ms() < deadline && !reap(s, WNOHANG)) {
        ts_resp_t r;
        ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, "/health"), .timeout_ms = 1000}, &r);
        last_status = r.status;
        snprintf(last_error, sizeof(last_error), "%s", r.status ? "" : r.error);
        ts_resp_free(&r);
        if (last_status == 200)
            return s;
        ts_nap_ms(20);
    }
    if (s->exited)
        fprintf(stderr, "server exited with status %d before answering GET /health (conf %s)\n", s->status, s->conf_path);
    else
        fprintf(stderr, "server did not answer GET /health with 200 within %d ms (last: %ld %s; conf %s)\n",
                START_TIMEOUT_MS, last_status, last_error, s->conf_path);
    ts_server_print_log_tail(s, 40);
    if (!s->exited) {
        kill(s->pid, SIGKILL);
        reap(s, 0);
    }
    check_failures++; /* keeps the temp dir for a look at the conf and log */
    ts_server_free(s);
    return NULL;
}

int ts_server_wait(ts_server_t *s, int timeout_ms)
{
    int64_t deadline = ts_now_ms() + timeout_ms;
    while (!reap(s, WNOHANG) && ts_now_ms() < deadline)
        ts_nap_ms(10);
    if (s->exited)
        return s->status;
    fprintf(stderr, "server (pid %d) did not exit within %d ms: killing it\n", (int)s->pid, timeout_ms);
    ts_server_print_log_tail(s, 20);
    kill(s->pid, SIGKILL);
    reap(s, 0);
    s->status = -1;
    return -1;
}

int ts_server_stop(ts_server_t *s)
{
    if (!s->exited)
        kill(s->pid, SIGTERM);
    return ts_server_wait(s, STOP_TIMEOUT_MS);
}

int ts_server_running(ts_server_t *s)
{
    return !reap(s, WNOHANG);
}

void ts_server_free(ts_server_t *s)
{
    if (s == NULL)
        return;
    if (!s->exited)
        ts_server_stop(s);
    if (check_failures > 0)
        fprintf(stderr, "server files kept in %s\n", s->dir);
    else
        ts_rmrf(s->dir);
    free(s->dir);
    free(s->conf_path);
    free(s->log_path);
    free(s->log_text);
    free(s);
}

const char *ts_server_log(ts_server_t *s)
{
    free(s->log_text);
    s->log_text = ts_read_file(s->log_path, NULL);
    if (s->log_text == NULL)
        s->log_text = strdup("");
    return s->log_text;
}

int ts_server_wait_log(ts_server_t *s, const char *needle, int timeout_ms)
{
    int64_t deadline = ts_now_ms() + timeout_ms;
    for (;;) {
        if (strstr(ts_server_log(s), needle) != NULL)
            return 1;
        if (ts_now_ms() >= deadline)
            return 0;
        ts_nap_ms(10);
    }
}

void ts_server_print_log_tail(ts_server_t *s, int lines)
{
    print_tail(ts_server_log(s), lines, s->log_path);
}

pid_t ts_server_pid(const ts_server_t *s)
{
    return s->pid;
}

uint16_t ts_server_http_port(const ts_server_t *s)
{
    return s->http_port;
}

uint16_t ts_server_https_port(const ts_server_t *s)
{
    return s->https_port;
}

const char *ts_server_dir(const ts_server_t *s)
{
    return s->dir;
}

const char *ts_server_url(const ts_server_t *s, int tls, const char *path)
{
    static char ring[16][2048];
    static unsigned next;
    char *buf = ring[next++ % 16];
    snprintf(buf, sizeof(ring[0]), "%s://127.0.0.1:%u%s", tls ? "https" : "http", tls ? s->https_port : s->http_port,
             path);
    return buf;
}

int ts_server_run_expect_fail(const char *conf_text, int *exit_code, char **output, char **conf_path)
{
    ts_server_t s = {.dir = ts_tmpdir_new("hs-it-conf"), .http_port = ts_free_port()};
    if (asprintf(&s.conf_path, "%s/h2o.conf", s.dir) < 0 || asprintf(&s.log_path, "%s/output.log", s.dir) < 0)
        abort();
    ts_write_file(s.conf_path, conf_text);
    char http_env[32];
    snprintf(http_env, sizeof(http_env), "HTTP_PORT=%u", s.http_port);
    const char *settings[] = {"APP_ENV=test", "LOG_LEVEL=info", http_env, "HTTPS_PORT=0", NULL};
    char **env = build_env(settings, NULL);
    s.pid = spawn(s.conf_path, s.dir, s.log_path, env);
    free(env);

    /* A conf the server accepts would leave it serving: notice that early instead of waiting. */
    int64_t deadline = ts_now_ms() + START_TIMEOUT_MS, next_probe = ts_now_ms() + 100;
    int started = 0;
    while (!reap(&s, WNOHANG) && ts_now_ms() < deadline && !started) {
        if (ts_now_ms() >= next_probe) {
            ts_resp_t r;
            started = ts_http_request(&(ts_req_t){.url = ts_server_url(&s, 0, "/health"), .timeout_ms = 500}, &r) == 0;
            ts_resp_free(&r);
            next_probe = ts_now_ms() + 100;
        }
        ts_nap_ms(10);
    }
    if (!s.exited)
        started = 1;
    if (started)
        ts_server_stop(&s);
    *exit_code = s.status;
    *output = ts_read_file(s.log_path, NULL);
    if (*output == NULL)
        *output = strdup("");
    if (conf_path != NULL)
        *conf_path = strdup(s.conf_path);
    ts_rmrf(s.dir);
    free(s.dir);
    free(s.conf_path);
    free(s.log_path);
    free(s.log_text);
    return started ? -1 : 0;
}

long ts_server_poll_status(ts_server_t *s, const char *path, long want, int timeout_ms)
{
    int64_t deadline = ts_now_ms() + timeout_ms;
    long status = 0;
    for (;;) {
        ts_resp_t r;
        ts_http_get(ts_server_url(s, 0, path), TS_H1, &r);
        status = r.status;
        ts_resp_free(&r);
        if (status == want || ts_now_ms() >= deadline)
            return status;
        ts_nap_ms(50);
    }
}
