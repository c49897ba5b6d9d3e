/* The lifecycle every AI route shares (public chat, coaching, practice assessment, goal
 * planning; next the WebSocket and the CRM assistant): the owner's context statement checked, a
 * state that outlives the request, the run started on it and projected onto the response (an
 * event stream, or one JSON answer once the result is stored), the result stored by one
 * statement, and the end, whether the client stayed or not. */
#ifndef pipeline_run_run_route_h
#define pipeline_run_run_route_h

#include "pipeline/req.h"
#include "pipeline/run/run.h"
#include "pipeline/run/run_sse.h"

typedef enum run_route_mode {
    RUN_ROUTE_SSE,  /* the run's events stream to the client; the reply ends the stream */
    RUN_ROUTE_JSON, /* the client waits for one JSON answer, given once the result is stored */
} run_route_mode_t;

typedef struct run_route run_route_t;

/* A handler's state starts with this (the helper allocates the whole, zeroed). */
struct run_route {
    server_thread_t *thread;
    run_route_mode_t mode;
    req_t *r;       /* JSON: the request, until its client leaves (then NULL) */
    run_sse_t *out; /* SSE: the event stream */
    run_t *run;
    void (*done)(run_route_t *rr, const run_result_t *res);
    void (*stored)(run_route_t *rr, const db_result_t *res);
    void (*dispose)(run_route_t *rr); /* frees what the handler added to its state; may be NULL */
    const char *reply;                 /* run_route_store_reply: the run's text, until it closes */
    unsigned tokens_in, tokens_out;
};

/* For a route's context statement whose column 0 says whether the caller may see the subject and
 * column quota_col (-1: none) whether the organization is over its quota: answers the database
 * error, the 404 or the 429 and returns -1, else 0. */
int run_route_check(req_t *r, const db_result_t *res, int quota_col);

/* The earlier turns in column col of row 0, a JSON array of {role, content} oldest first (role
 * user_role is the user's, any other the assistant's), in r's pool; their number in *n. */
llm_message_t *run_route_history(req_t *r, const PGresult *pg, int col, const char *user_role, size_t *n);

/* A zeroed state of `size` bytes, a run_route_t first, bound to r. An SSE route answers r with
 * an open event stream now. */
void *run_route_new(req_t *r, size_t size, run_route_mode_t mode);

/* Starts the run (spec's on_done and arg are the route's own: `done` gets the result). An SSE
 * route's stream then says message_start with the run's id, which is the reply's id. */
run_t *run_route_start(run_route_t *rr, run_spec_t *spec, void (*done)(run_route_t *rr, const run_result_t *res));

/* Stores the result with stmt on the fast pool. A database error ends the route
 * (run_route_fail_db); otherwise `stored` gets the result. */
void run_route_store(run_route_t *rr, const db_stmt_t *stmt, const char *const *values, int n,
                     void (*stored)(run_route_t *rr, const db_result_t *res));

/* SSE chat routes: stores the run's reply (res) with stmt, whose one row is the stored reply's
 * (id[, content]: without a content column the run's text is the reply), then ends with
 * message_end; no row ends with the "unavailable" error. */
void run_route_store_reply(run_route_t *rr, const run_result_t *res, const db_stmt_t *stmt, const char *const *values,
                           int n);

/* The ends: each answers as the mode says (if the client is still there), closes the run and the
 * stream, and frees the state. */
/* An error: the stream's error event {code, detail}, or the JSON error with `status`. */
void run_route_fail(run_route_t *rr, int status, const char *code, const char *detail);
/* A failed query: "unavailable" on the stream, or the JSON answer to that failure. */
void run_route_fail_db(run_route_t *rr, const db_result_t *res);
/* SSE: message_end with the stored reply (preceded by the whole text as one delta when `whole`,
 * a stored reply replayed). */
void run_route_reply(run_route_t *rr, const char *message_id, const char *content, unsigned tokens_in,
                     unsigned tokens_out, int whole);
/* JSON: `status` with the text of row 0, column col of pg. */
void run_route_answer(run_route_t *rr, int status, const PGresult *pg, int col);

#endif
