/* An AI pipeline run: guardrails → agent (the configured providers in order, looping while the
 * model calls tools) → projector (events to a sink: an SSE stream, or nothing once the client has
 * gone). The owner (public chat, coaching) builds the context first (enrich and policy: one
 * statement of its own), stores the reply when the run is done, then closes the run, which writes
 * pipeline_runs, its events and its provider calls in one statement. */
#ifndef pipeline_run_run_h
#define pipeline_run_run_h

#include <stddef.h>
#include <stdint.h>

#include "pipeline/app.h"
#include "providers/llm.h"

typedef struct run run_t;
typedef struct server_thread server_thread_t;

/* The per-organization quota as SQL over pipeline_runs: true when org (a uuid parameter such as
 * "$1") has started `quota` (an int parameter) runs in the last hour. It counts at most `quota`
 * rows, so its cost does not grow with a busy organization's history. */
#define RUN_SQL_OVER_QUOTA(org, quota)                                                                                 \
    "((SELECT count(*) FROM (SELECT 1 FROM pipeline_runs q WHERE q.organization_id = " org "::uuid"                     \
    " AND q.started_at > now() - interval '1 hour' LIMIT " quota "::int) q) >= " quota "::int)"

/* What h2o.conf's run.* directives set, shared read-only by every thread (app->run_settings). */
typedef struct run_settings {
    uint64_t first_token_timeout_ms; /* run.first-token-timeout, default 15s */
    uint64_t call_timeout_ms;        /* run.call-timeout, default 60s: one provider call */
    uint64_t deadline_ms;            /* run.deadline, default 120s: the whole run */
    unsigned max_tool_rounds;        /* run.max-tool-rounds, default 4 */
    unsigned quota_per_hour;         /* run.quota-per-hour per organization, default 1000 */
    unsigned history_tokens;         /* run.history-tokens: earlier turns given to the model, default 4000 */
    char quota_text[16];             /* the quota, as a statement parameter */
} run_settings_t;

/* Defines the run.* directives and points app->run_settings at their values. */
void run_define_directives(h2o_globalconf_t *g, app_t *app);

/* A tool the model may call. `call` does its work (async is fine: a query through run_query)
 * and answers with run_tool_result exactly once. */
typedef struct run_tool {
    const char *name;
    const char *description;
    const char *parameters; /* JSON Schema of the arguments */
    void (*call)(run_t *run, const char *arguments);
} run_tool_t;

/* Where events go. event() gets a type and one line of JSON; backlogged() says the consumer is
 * behind (the run pauses the provider until run_sink_writable). Both may be NULL: no consumer. */
typedef struct run_sink {
    void (*event)(void *arg, const char *type, const char *json, size_t len);
    int (*backlogged)(void *arg);
    void *arg;
} run_sink_t;

typedef struct run_result {
    const char *error_code;   /* NULL on success; else e.g. "provider_error", "timeout", "cancelled" */
    const char *error_detail; /* for the client: never provider output or internals */
    const char *text;         /* the reply (output filter applied); valid until run_close */
    size_t text_len;
    unsigned tokens_in, tokens_out;
    int blocked; /* the guardrails answered instead of the model */
} run_result_t;

typedef struct run_spec {
    const char *kind; /* pipeline_runs.kind */
    const char *org_id;
    const char *user_id;    /* NULL for an anonymous visitor */
    const char *subject_id; /* the session or conversation */
    const char *system_prompt;
    const llm_message_t *history; /* earlier turns, oldest first; the newest that fit the budget are used */
    size_t nhistory;
    const char *input; /* the turn to answer (checked by the guardrails); NULL: the history's last */
    const run_tool_t *tools;
    size_t ntools;
    void *tool_ctx; /* for the tools: run_tool_ctx */
    /* Called once when the reply is complete, failed or cancelled; the owner stores what it
     * must, then calls run_close. */
    void (*on_done)(void *arg, run_t *run, const run_result_t *res);
    void *arg;
} run_spec_t;

/* Starts a run on the thread's loop (the spec is copied). Emits no event itself before the first
 * delta: the owner sends its own start event. */
run_t *run_start(server_thread_t *thread, const run_spec_t *spec, const run_sink_t *sink);

/* The run's id (a UUID made at start), for events and the reply's row. */
const char *run_id(const run_t *run);

/* Sends one event to the sink (if any) and records it when `record` (tool calls, errors, ...). */
void run_emit(run_t *run, const char *type, const char *json, size_t len, int record);

/* The consumer caught up: deliver again. */
void run_sink_writable(run_t *run);
/* The consumer is gone: the run goes on without pausing and without events. */
void run_sink_detach(run_t *run);

/* Stops the provider call; on_done follows with error_code "cancelled". */
void run_cancel(run_t *run);

#define RUN_ERROR_JSON_MAX 512

/* {"code", "detail"} as the error event carries it; returns its length. */
size_t run_error_json(char out[RUN_ERROR_JSON_MAX], const char *code, const char *detail);

/* Writes the run's record (status from the result given to on_done) and frees the run. */
void run_close(run_t *run);

/* For tools: their context, a query on the thread's pool, and the answer (a JSON text). */
void *run_tool_ctx(const run_t *run);
void run_query(run_t *run, const db_stmt_t *stmt, const char *const *values, int nvalues,
               void (*cb)(run_t *run, const db_result_t *res));
void run_tool_result(run_t *run, const char *json);

/* Registers the statements runs use, and the run.* and guardrails.* directives. */
void run_register(app_t *app);

#endif
