/* Cross-origin resource sharing for browser clients on other origins: one policy per path
 * (app.cors in h2o.conf, CORS_ORIGINS as the default of every app path). */
#ifndef pipeline_cors_h
#define pipeline_cors_h

#include <stddef.h>

#define H2O_USE_LIBUV 1
#include <h2o.h>

#define CORS_MAX_ORIGINS 32
#define CORS_MAX_AGE_DEFAULT 600
#define CORS_MAX_AGE_MAX 86400

typedef struct cors {
    int any;         /* "*": every origin, answered with a literal `*` (never with credentials) */
    int credentials; /* Access-Control-Allow-Credentials: true */
    unsigned max_age;
    size_t norigins;
    char *origins[CORS_MAX_ORIGINS]; /* exact serialised origins: scheme://host[:port] */
    struct cors *next;               /* every policy of one configuration, to free them together */
} cors_t;

/* A new policy with no origin, linked at the head of *all. */
cors_t *cors_new(cors_t **all);
/* Frees every policy of the list. */
void cors_free_all(cors_t *all);

/* Adds one origin ("*" or scheme://host[:port], http or https, lower case, no path). Returns
 * NULL, or what is wrong with it. */
const char *cors_add_origin(cors_t *c, const char *origin, size_t len);
/* Adds CORS_ORIGINS-style text: origins separated by commas (spaces around them ignored). */
const char *cors_add_origins_text(cors_t *c, const char *text);
/* The policy as a whole: NULL, or what is wrong (no origin, `*` with credentials). */
const char *cors_check(const cors_t *c);

/* OPTIONS with Origin and Access-Control-Request-Method: a browser's preflight. */
int cors_is_preflight(h2o_req_t *req);

/* The headers of every response under the policy: Vary: Origin and, for an allowed Origin,
 * Access-Control-Allow-Origin, -Allow-Credentials and -Expose-Headers. */
void cors_add_response_headers(const cors_t *c, h2o_req_t *req);
/* What a preflight from an allowed Origin adds: the path's methods (`allow`, "GET, POST"), the
 * request headers clients send, and how long the browser may cache the answer. */
void cors_add_preflight_headers(const cors_t *c, h2o_req_t *req, const char *allow);

#endif
