/* Runs the real hellosales binary for a test: a generated h2o.conf in a temp dir, free loopback
 * ports, the log captured to a file, started when GET /health answers and stopped by SIGTERM. */
#ifndef test_support_server_h
#define test_support_server_h

#include <stdint.h>
#include <sys/types.h>

/* The product conf's paths, to combine with a test's own (h2o matches the longest prefix, so
 * the order of the entries does not matter). Entries start at column 0; the harness indents. */
#define TS_PATHS_DEFAULT                                                                                               \
    "/health:\n"                                                                                                       \
    "  app.handler: health\n"                                                                                          \
    "  app.auth: none\n"                                                                                               \
    "/ready:\n"                                                                                                        \
    "  app.handler: ready\n"                                                                                           \
    "  app.auth: none\n"                                                                                               \
    "/:\n"                                                                                                             \
    "  app.handler: fallback\n"                                                                                        \
    "  app.auth: none\n"

/* The identity modules' paths as the product conf maps them. */
#define TS_PATHS_IDENTITY                                                                                              \
    "/api/v1/auth:\n"                                                                                                  \
    "  app.handler: identity\n"                                                                                        \
    "  app.auth: none\n"                                                                                               \
    "/api/v1/profile:\n"                                                                                               \
    "  app.handler: profile\n"                                                                                         \
    "  app.auth: required\n"                                                                                           \
    "/api/v1/orgs:\n"                                                                                                  \
    "  app.handler: orgs\n"                                                                                            \
    "  app.auth: required\n"

/* Lines 1-10 of a whole conf for ts_server_run_expect_fail: one thread, a listener, /health and
 * a path /x whose body the test writes from line 11 on (indented by 8). */
#define TS_CONF_HEAD                                                                                                   \
    "num-threads: 1\n"                                                                                                 \
    "listen:\n"                                                                                                        \
    "  - port: 8080\n"                                                                                                 \
    "hosts:\n"                                                                                                         \
    "  default:\n"                                                                                                     \
    "    paths:\n"                                                                                                     \
    "      /health:\n"                                                                                                 \
    "        app.handler: health\n"                                                                                    \
    "        app.auth: none\n"                                                                                         \
    "      /x:\n"

typedef struct ts_server_opts {
    const char *paths_yaml;        /* the entries under hosts: default: paths: (default TS_PATHS_DEFAULT) */
    const char *extra_global_yaml; /* top-level directives, at column 0 */
    const char *raw_conf;          /* the whole conf verbatim instead (the env still sets the ports) */
    int tls;                       /* also listen with TLS (the fixture certificate); else HTTPS_PORT=0 */
    const char *const *env;        /* extra "NAME=value" entries, NULL-terminated; they win */
    int num_threads;               /* default 2, like the product conf */
} ts_server_opts_t;

typedef struct ts_server ts_server_t;

/* Starts the server and waits (at most 15 s) until GET /health answers 200. On failure prints
 * why with the tail of the log and returns NULL. opts may be NULL for the defaults. */
ts_server_t *ts_server_start(const ts_server_opts_t *opts);

/* Sends SIGTERM and waits for the exit (see ts_server_wait). */
int ts_server_stop(ts_server_t *s);

/* Waits at most timeout_ms for the server to exit, without signalling it. Returns its exit code,
 * 128+N when killed by signal N, or -1 when it had to be SIGKILLed after the wait (reported).
 * Calling it again after the exit returns the same status. */
int ts_server_wait(ts_server_t *s, int timeout_ms);

/* Whether the process is still running (not yet reaped). */
int ts_server_running(ts_server_t *s);

/* Stops the server if it still runs and deletes its temp dir (kept, and named, when a CHECK
 * failed, to look at the conf and log). */
void ts_server_free(ts_server_t *s);

/* Everything the server wrote to stdout and stderr so far; valid until the next call or free. */
const char *ts_server_log(ts_server_t *s);

/* Waits at most timeout_ms until the log contains needle; returns 1 if it does. For log lines
 * that are written just after the response went out. */
int ts_server_wait_log(ts_server_t *s, const char *needle, int timeout_ms);

/* GETs path over HTTP/1.1 every 50 ms until it answers `want` or timeout_ms passed; returns the
 * last status (0: no answer). For conditions the server reaches a little after start or after a
 * window passes (pools connected, a rate limit lifted). */
long ts_server_poll_status(ts_server_t *s, const char *path, long want, int timeout_ms);

/* Prints the last lines of the log to stderr, to explain a failure. */
void ts_server_print_log_tail(ts_server_t *s, int lines);

pid_t ts_server_pid(const ts_server_t *s);
uint16_t ts_server_http_port(const ts_server_t *s);
uint16_t ts_server_https_port(const ts_server_t *s); /* 0 without TLS */
const char *ts_server_dir(const ts_server_t *s);   /* the temp dir, for files the conf serves */

/* "http://127.0.0.1:PORT<path>" (or https:// on the TLS port when tls is set). Points into a
 * ring of static buffers: valid for the next 15 calls. */
const char *ts_server_url(const ts_server_t *s, int tls, const char *path);

/* Runs `hellosales serve -c <conf>` on conf_text, expecting it to refuse to start. Waits at most
 * 15 s. Returns 0 when it exited on its own: *exit_code is its status (128+N for a signal) and
 * *output (malloc'd) what it printed. Returns -1 when it started serving instead (it answered
 * GET /health, or still ran at the deadline); it is then stopped. conf_path (may be NULL)
 * receives the malloc'd path the conf was written to, for checking the messages name it. */
int ts_server_run_expect_fail(const char *conf_text, int *exit_code, char **output, char **conf_path);

#endif
