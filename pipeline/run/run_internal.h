/* What the run's files share: the run itself and the helpers of its record. Private to
 * pipeline/run*.c. */
#ifndef pipeline_run_run_internal_h
#define pipeline_run_run_internal_h

#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "pipeline/run/run.h"
#include "pipeline/server.h"

#define RUN_RECORD_MAX (256u * 1024) /* bytes of events (or provider calls) kept per run */


/* A message of the model's conversation, with the strings it owns. */
typedef struct owned_msg {
    llm_message_t m;
    char *content, *tool_call_id, *name;
    llm_tool_call_t *calls;
    size_t ncalls;
} owned_msg_t;

struct run {
    server_work_t work; /* shutdown waits for the run, and cancels it at its deadline */
    server_thread_t *thread;
    const run_settings_t *settings;
    const llm_chain_t *chain;
    char id[37];
    char *kind, *org_id, *user_id, *subject_id;
    run_spec_t spec;
    run_sink_t sink;
    owned_msg_t *msgs;
    size_t nmsgs, capmsgs;
    llm_tool_def_t *tool_defs;
    llm_call_t *call;
    size_t provider;   /* index in the chain */
    unsigned round;    /* model calls that asked for tools so far */
    buf_t text;        /* the reply, all rounds */
    size_t round_start; /* where this round's text begins */
    llm_tool_call_t *calls; /* the tool calls being answered */
    size_t ncalls, next_call;
    buf_t events, pcalls;
    unsigned nevents, npcalls;
    uint64_t start_ms, call_start_ms, ttft_ms;
    char call_started_at[40];
    unsigned tokens_in, tokens_out;
    db_query_t *query;
    void (*query_cb)(run_t *run, const db_result_t *res);
    uv_timer_t deadline, kick;
    unsigned handles_open;
    unsigned paused : 1, inserted : 1, closing : 1, done : 1, recorded : 1;
    const char *status; /* for the record: succeeded, failed, cancelled */
    char *error_code, *error_text;
    run_result_t result;
};

uint64_t run_now_ms(void);
/* The wall clock as RFC 3339 with milliseconds, for recorded times. */
void run_clock(char *out, size_t cap);
/* strdup that aborts without memory (NULL stays NULL). */
char *run_strdup(const char *s);
/* A JSON writer on malloc'd memory (*mem) sized for strings of n bytes in all. */
json_out_t run_json_out(size_t n, char **mem);

void run_record_event(run_t *run, const char *type, const char *data, size_t len);
void run_record_stage(run_t *run, const char *type, const char *stage);
/* One provider call of the run (res NULL: cancelled before it answered). */
void run_record_call(run_t *run, const llm_result_t *res, const char *status);
/* The run's row is inserted as it starts; run_record_write completes it (after that insert) and
 * frees the run once its timers have closed. */
void run_record_start(run_t *run);
void run_record_write(run_t *run);
/* uv close callback of the run's timers. */
void run_handle_closed(uv_handle_t *h);

#endif
