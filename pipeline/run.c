/* The run's agent loop and its record. A run owns copies of everything it was given, so its
 * owner's request may go away mid-stream: the reply is still finished and stored. Events worth
 * keeping (stages, tool calls, fallbacks, errors) and provider calls are collected as JSON and
 * written with the run's row in one statement when the run closes, never one insert per token. */
#include "pipeline/run.h"

#include <openssl/rand.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/guard.h"
#include "pipeline/json.h"
#include "pipeline/log.h"
#include "pipeline/metrics.h"
#include "pipeline/server.h"

#define RUN_RECORD_MAX (256u * 1024) /* bytes of events (or provider calls) kept per run */
#define RUN_REFUSAL "Sorry, I can't help with that request."

static const db_stmt_t stmt_insert = {
    "run_insert",
    "INSERT INTO pipeline_runs (id, organization_id, user_id, kind, subject_id)"
    " VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5::uuid)",
    5, 0};

/* $1 run, $2 status, $3 provider, $4 model, $5 latency, $6 ttft, $7/$8 tokens, $9 error,
 * $10 events and $11 provider calls as JSON arrays. */
static const db_stmt_t stmt_record = {
    "run_record",
    "WITH u AS (UPDATE pipeline_runs SET status = $2, provider = $3, model = $4, ended_at = now(),"
    "   latency_ms = $5::int, ttft_ms = $6::int, tokens_in = $7::int, tokens_out = $8::int, error = $9"
    "   WHERE id = $1::uuid RETURNING id),"
    " e AS (INSERT INTO pipeline_events (run_id, seq, type, data, at)"
    "   SELECT u.id, (x->>'seq')::int, x->>'type', coalesce(x->'data', '{}'), (x->>'at')::timestamptz"
    "   FROM u, jsonb_array_elements($10::jsonb) x),"
    " c AS (INSERT INTO provider_calls (run_id, seq, provider, model, status, http_status, started_at,"
    "     latency_ms, ttft_ms, tokens_in, tokens_out, error)"
    "   SELECT u.id, (x->>'seq')::int, x->>'provider', x->>'model', x->>'status', (x->>'http_status')::int,"
    "     (x->>'started_at')::timestamptz, (x->>'latency_ms')::int, (x->>'ttft_ms')::int,"
    "     (x->>'tokens_in')::int, (x->>'tokens_out')::int, x->>'error'"
    "   FROM u, jsonb_array_elements($11::jsonb) x)"
    " SELECT count(*) FROM u",
    11, 0};

typedef struct buf {
    char *p;
    size_t len, cap;
} buf_t;

/* A message of the model's conversation, with the strings it owns. */
typedef struct owned_msg {
    llm_message_t m;
    char *content, *tool_call_id, *name;
    llm_tool_call_t *calls;
    size_t ncalls;
} owned_msg_t;

struct run {
    h2o_linklist_t link; /* in thread->runs */
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

/* ---- small helpers ------------------------------------------------------------------------ */

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void wall_clock(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static char *xstrdup(const char *s)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

static int buf_add(buf_t *b, const char *s, size_t n, size_t max)
{
    if (b->len + n + 1 > max)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* A JSON writer into malloc'd memory sized for the worst case of `n` bytes of strings. */
static json_out_t out_for(size_t n, char **mem)
{
    size_t cap = n * 6 + 512;
    *mem = malloc(cap);
    if (*mem == NULL)
        abort();
    return json_out_fixed(*mem, cap);
}

static void make_uuid(char out[37])
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof(b)) != 1)
        abort();
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* ---- the record --------------------------------------------------------------------------- */

static void record_event(run_t *run, const char *type, const char *data, size_t len)
{
    char at[40], head[160];
    wall_clock(at, sizeof(at));
    int n = snprintf(head, sizeof(head), "%s{\"seq\":%u,\"type\":\"%s\",\"at\":\"%s\",\"data\":", run->nevents ? "," : "",
                     run->nevents, type, at);
    size_t mark = run->events.len;
    if (buf_add(&run->events, head, (size_t)n, RUN_RECORD_MAX) != 0 ||
        buf_add(&run->events, data, len, RUN_RECORD_MAX) != 0 || buf_add(&run->events, "}", 1, RUN_RECORD_MAX) != 0) {
        run->events.len = mark; /* full: later events are dropped, the earlier ones stay whole */
        if (run->events.p != NULL)
            run->events.p[mark] = '\0';
        return;
    }
    run->nevents++;
}

static void record_stage(run_t *run, const char *type, const char *stage)
{
    char data[96];
    int n = snprintf(data, sizeof(data), "{\"stage\":\"%s\"}", stage);
    record_event(run, type, data, (size_t)n);
}

static void record_call(run_t *run, const llm_result_t *res, const char *status)
{
    const llm_provider_t *p = run->chain->providers[run->provider];
    char *mem;
    json_out_t o = out_for(512, &mem);
    json_out_obj_begin(&o);
    json_out_key(&o, "seq");
    json_out_int(&o, run->npcalls);
    json_out_key(&o, "provider");
    json_out_str(&o, llm_provider_name(p));
    json_out_key(&o, "model");
    json_out_str(&o, llm_provider_model(p));
    json_out_key(&o, "status");
    json_out_str(&o, status);
    json_out_key(&o, "http_status");
    if (res != NULL && res->http_status)
        json_out_int(&o, res->http_status);
    else
        json_out_null(&o);
    json_out_key(&o, "started_at");
    json_out_str(&o, run->call_started_at);
    json_out_key(&o, "latency_ms");
    json_out_int(&o, (long long)(now_ms() - run->call_start_ms));
    json_out_key(&o, "ttft_ms");
    if (res != NULL && res->ttft_ms)
        json_out_int(&o, (long long)res->ttft_ms);
    else
        json_out_null(&o);
    json_out_key(&o, "tokens_in");
    json_out_int(&o, res ? res->tokens_in : 0);
    json_out_key(&o, "tokens_out");
    json_out_int(&o, res ? res->tokens_out : 0);
    json_out_key(&o, "error");
    if (res != NULL && res->error)
        json_out_str(&o, res->error_text ? res->error_text : "error");
    else
        json_out_null(&o);
    json_out_obj_end(&o);
    metrics_provider_call(run->thread->metrics, llm_provider_name(p), status, res ? res->tokens_in : 0,
                          res ? res->tokens_out : 0);
    if (!json_out_overflowed(&o) && (run->npcalls == 0 || buf_add(&run->pcalls, ",", 1, RUN_RECORD_MAX) == 0) &&
        buf_add(&run->pcalls, mem, json_out_len(&o), RUN_RECORD_MAX) == 0)
        run->npcalls++;
    free(mem);
}

static void free_run(run_t *run)
{
    h2o_linklist_unlink(&run->link);
    for (size_t i = 0; i < run->nmsgs; i++) {
        owned_msg_t *m = &run->msgs[i];
        free(m->content);
        free(m->tool_call_id);
        free(m->name);
        for (size_t k = 0; k < m->ncalls; k++) {
            free((char *)m->calls[k].id);
            free((char *)m->calls[k].name);
            free((char *)m->calls[k].arguments);
        }
        free(m->calls);
    }
    free(run->msgs);
    free(run->tool_defs);
    free(run->text.p);
    free(run->events.p);
    free(run->pcalls.p);
    free(run->kind);
    free(run->org_id);
    free(run->user_id);
    free(run->subject_id);
    free(run->error_code);
    free(run->error_text);
    free(run);
}

static void on_handle_closed(uv_handle_t *h)
{
    run_t *run = h->data;
    if (--run->handles_open == 0 && run->recorded)
        free_run(run);
}

static void release(run_t *run)
{
    run->recorded = 1;
    if (run->handles_open == 0)
        free_run(run);
}

static void on_recorded(void *arg, const db_result_t *res)
{
    run_t *run = arg;
    run->query = NULL;
    if (res->status != DB_OK)
        log_warn("pipeline run not recorded", LOG_S("run_id", run->id), LOG_I("db_status", res->status));
    release(run);
}

static void write_record(run_t *run)
{
    char latency[24], ttft[24], tin[16], tout[16];
    snprintf(latency, sizeof(latency), "%llu", (unsigned long long)(now_ms() - run->start_ms));
    snprintf(ttft, sizeof(ttft), "%llu", (unsigned long long)run->ttft_ms);
    snprintf(tin, sizeof(tin), "%u", run->tokens_in);
    snprintf(tout, sizeof(tout), "%u", run->tokens_out);
    buf_t ev = {0}, pc = {0};
    if (buf_add(&ev, "[", 1, SIZE_MAX) != 0 || buf_add(&ev, run->events.p ? run->events.p : "", run->events.len, SIZE_MAX) != 0 ||
        buf_add(&ev, "]", 1, SIZE_MAX) != 0 || buf_add(&pc, "[", 1, SIZE_MAX) != 0 ||
        buf_add(&pc, run->pcalls.p ? run->pcalls.p : "", run->pcalls.len, SIZE_MAX) != 0 || buf_add(&pc, "]", 1, SIZE_MAX) != 0)
        abort();
    const llm_provider_t *p = run->chain->n ? run->chain->providers[run->provider] : NULL;
    const char *values[] = {run->id, run->status, p ? llm_provider_name(p) : NULL, p ? llm_provider_model(p) : NULL,
                            latency, run->ttft_ms ? ttft : NULL, tin, tout, run->error_text, ev.p, pc.p};
    run->query = db_pool_query(run->thread->db[APP_POOL_FAST], &stmt_record, values, 11, 0, on_recorded, run);
    free(ev.p);
    free(pc.p);
}

static void on_inserted(void *arg, const db_result_t *res)
{
    run_t *run = arg;
    run->query = NULL;
    run->inserted = 1;
    if (res->status != DB_OK)
        log_warn("pipeline run row not written", LOG_S("run_id", run->id), LOG_I("db_status", res->status));
    if (run->closing) {
        if (res->status == DB_OK)
            write_record(run);
        else
            release(run);
    }
}

/* ---- events ------------------------------------------------------------------------------- */

void run_emit(run_t *run, const char *type, const char *json, size_t len, int record)
{
    if (run->sink.event != NULL)
        run->sink.event(run->sink.arg, type, json, len);
    if (record)
        record_event(run, type, json, len);
}

static void emit_delta(run_t *run, const char *text, size_t len)
{
    char *mem;
    json_out_t o = out_for(len, &mem);
    json_out_obj_begin(&o);
    json_out_key(&o, "text");
    json_out_strn(&o, text, len);
    json_out_obj_end(&o);
    run_emit(run, "delta", mem, json_out_len(&o), 0);
    free(mem);
}

static void finish(run_t *run, const char *code, const char *detail)
{
    if (run->done)
        return;
    run->done = 1;
    uv_timer_stop(&run->deadline);
    if (code != NULL) {
        char json[RUN_ERROR_JSON_MAX];
        record_event(run, "error", json, run_error_json(json, code, detail));
        run->error_code = xstrdup(code);
        run->error_text = xstrdup(detail);
    }
    run->status = code == NULL ? "succeeded" : strcmp(code, "cancelled") == 0 ? "cancelled" : "failed";
    metrics_run(run->thread->metrics, run->kind, run->status);
    record_stage(run, "stage.end", "agent");
    run->result = (run_result_t){.error_code = run->error_code, .error_detail = run->error_text,
                                 .text = run->text.p ? run->text.p : "", .text_len = run->text.len,
                                 .tokens_in = run->tokens_in, .tokens_out = run->tokens_out,
                                 .blocked = run->result.blocked};
    run->spec.on_done(run->spec.arg, run, &run->result);
}

/* ---- the agent ---------------------------------------------------------------------------- */

static owned_msg_t *add_msg(run_t *run, llm_role_t role, const char *content)
{
    if (run->nmsgs == run->capmsgs) {
        run->capmsgs = run->capmsgs ? run->capmsgs * 2 : 16;
        run->msgs = realloc(run->msgs, run->capmsgs * sizeof(*run->msgs));
        if (run->msgs == NULL)
            abort();
    }
    owned_msg_t *m = &run->msgs[run->nmsgs++];
    memset(m, 0, sizeof(*m));
    m->m.role = role;
    m->content = xstrdup(content);
    return m;
}

static void start_call(run_t *run);

static int on_delta(void *arg, const char *text, size_t len)
{
    run_t *run = arg;
    if (run->ttft_ms == 0)
        run->ttft_ms = now_ms() - run->start_ms;
    char *clean = malloc(len + 16);
    if (clean == NULL)
        abort();
    size_t n = guard_filter_output(text, len, clean, len + 16);
    if (buf_add(&run->text, clean, n, LLM_MAX_REPLY + 1) == 0)
        emit_delta(run, clean, n);
    free(clean);
    if (run->sink.backlogged != NULL && run->sink.backlogged(run->sink.arg)) {
        run->paused = 1;
        return LLM_PAUSE;
    }
    return LLM_CONTINUE;
}

static void next_tool(run_t *run);

void run_tool_result(run_t *run, const char *json)
{
    llm_tool_call_t *c = &run->calls[run->next_call];
    size_t len = strlen(json);
    char *mem;
    json_out_t o = out_for(len + strlen(c->id) + strlen(c->name), &mem);
    json_out_obj_begin(&o);
    json_out_key(&o, "id");
    json_out_str(&o, c->id);
    json_out_key(&o, "name");
    json_out_str(&o, c->name);
    json_out_key(&o, "result");
    json_out_raw(&o, json, len);
    json_out_obj_end(&o);
    run_emit(run, "tool_result", mem, json_out_len(&o), 1);
    free(mem);
    owned_msg_t *m = add_msg(run, LLM_TOOL, json);
    m->tool_call_id = xstrdup(c->id);
    m->name = xstrdup(c->name);
    run->next_call++;
    next_tool(run);
}

static const run_tool_t *tool_named(const run_t *run, const char *name)
{
    for (size_t i = 0; i < run->spec.ntools; i++)
        if (strcmp(run->spec.tools[i].name, name) == 0)
            return &run->spec.tools[i];
    return NULL;
}

static void next_tool(run_t *run)
{
    if (run->done)
        return;
    if (run->next_call == run->ncalls) {
        run->round++;
        start_call(run);
        return;
    }
    llm_tool_call_t *c = &run->calls[run->next_call];
    const run_tool_t *tool = tool_named(run, c->name);
    if (tool == NULL) {
        run_tool_result(run, "{\"error\":\"unknown tool\"}");
        return;
    }
    tool->call(run, c->arguments);
}

/* The model asked for tools: keep its turn, announce and answer each call, then ask again. */
static void run_tools(run_t *run, const llm_result_t *res)
{
    owned_msg_t *m = add_msg(run, LLM_ASSISTANT, NULL);
    if (run->text.len > run->round_start && (m->content = strndup(run->text.p + run->round_start,
                                                                  run->text.len - run->round_start)) == NULL)
        abort();
    m->calls = calloc(res->ntool_calls, sizeof(*m->calls));
    if (m->calls == NULL)
        abort();
    m->ncalls = res->ntool_calls;
    for (size_t i = 0; i < res->ntool_calls; i++) {
        m->calls[i].id = xstrdup(res->tool_calls[i].id);
        m->calls[i].name = xstrdup(res->tool_calls[i].name);
        m->calls[i].arguments = xstrdup(res->tool_calls[i].arguments);
        char *mem;
        const llm_tool_call_t *c = &m->calls[i];
        json_out_t o = out_for(strlen(c->id) + strlen(c->name) + strlen(c->arguments), &mem);
        json_out_obj_begin(&o);
        json_out_key(&o, "id");
        json_out_str(&o, c->id);
        json_out_key(&o, "name");
        json_out_str(&o, c->name);
        json_out_key(&o, "arguments");
        json_out_str(&o, c->arguments);
        json_out_obj_end(&o);
        run_emit(run, "tool_call", mem, json_out_len(&o), 1);
        free(mem);
    }
    run->calls = m->calls;
    run->ncalls = m->ncalls;
    run->next_call = 0;
    run->round_start = run->text.len;
    next_tool(run);
}

static void on_call_done(void *arg, const llm_result_t *res)
{
    run_t *run = arg;
    run->call = NULL;
    run->paused = 0;
    run->tokens_in += res->tokens_in;
    run->tokens_out += res->tokens_out;
    if (res->error) {
        record_call(run, res, "failed");
        if (!res->started && run->provider + 1 < run->chain->n) {
            char data[160];
            int n = snprintf(data, sizeof(data), "{\"from\":\"%s\",\"to\":\"%s\",\"reason\":\"%s\"}",
                             llm_provider_name(run->chain->providers[run->provider]),
                             llm_provider_name(run->chain->providers[run->provider + 1]),
                             res->error == LLM_ERR_FIRST_TOKEN ? "first_token_timeout" : "error");
            record_event(run, "fallback", data, (size_t)n);
            run->provider++;
            start_call(run);
            return;
        }
        if (res->error == LLM_ERR_FIRST_TOKEN || res->error == LLM_ERR_TIMEOUT)
            finish(run, "timeout", "The assistant did not answer in time");
        else
            finish(run, "provider_error", "The assistant is unavailable right now");
        return;
    }
    record_call(run, res, "succeeded");
    if (run->text.len > LLM_MAX_REPLY) {
        finish(run, "provider_error", "The reply was too long");
        return;
    }
    if (res->ntool_calls > 0 && run->round < run->settings->max_tool_rounds && run->spec.ntools > 0) {
        run_tools(run, res);
        return;
    }
    finish(run, NULL, NULL);
}

static void start_call(run_t *run)
{
    if (run->done)
        return;
    llm_message_t *msgs = calloc(run->nmsgs, sizeof(*msgs));
    if (msgs == NULL)
        abort();
    for (size_t i = 0; i < run->nmsgs; i++) {
        owned_msg_t *m = &run->msgs[i];
        msgs[i] = (llm_message_t){m->m.role, m->content, m->calls, m->ncalls, m->tool_call_id, m->name};
    }
    /* past the last round the model must answer in words */
    int tools = run->round < run->settings->max_tool_rounds;
    llm_request_t req = {
        .messages = msgs,
        .nmessages = run->nmsgs,
        .tools = tools ? run->tool_defs : NULL,
        .ntools = tools ? run->spec.ntools : 0,
        .first_token_timeout_ms = run->settings->first_token_timeout_ms,
        .timeout_ms = run->settings->call_timeout_ms,
    };
    static const llm_callbacks_t cbs = {on_delta, on_call_done};
    run->call_start_ms = now_ms();
    wall_clock(run->call_started_at, sizeof(run->call_started_at));
    run->call = llm_chat(run->chain->providers[run->provider], &run->thread->loop, run->thread->httpc, &req, &cbs, run);
    free(msgs);
    if (run->call == NULL) {
        record_call(run, &(llm_result_t){.error = LLM_ERR_TOO_LARGE, .error_text = "request refused"}, "failed");
        finish(run, "provider_error", "The conversation is too large for the assistant");
    }
}

/* The first step, from the loop: guardrails, then the model. */
static void on_kick(uv_timer_t *t)
{
    run_t *run = t->data;
    const char *input = run->spec.input;
    record_stage(run, "stage.start", "guardrails");
    const char *why = input != NULL ? guard_check_input(input, strlen(input)) : NULL;
    if (why != NULL) {
        char data[96];
        int n = snprintf(data, sizeof(data), "{\"reason\":\"%s\"}", why);
        record_event(run, "guardrail.blocked", data, (size_t)n);
        run->result.blocked = 1;
        buf_add(&run->text, RUN_REFUSAL, strlen(RUN_REFUSAL), SIZE_MAX);
        emit_delta(run, RUN_REFUSAL, strlen(RUN_REFUSAL));
        record_stage(run, "stage.start", "agent");
        finish(run, NULL, NULL);
        return;
    }
    record_stage(run, "stage.end", "guardrails");
    record_stage(run, "stage.start", "agent");
    start_call(run);
}

static void on_deadline(uv_timer_t *t)
{
    run_t *run = t->data;
    if (run->call != NULL) {
        llm_cancel(run->call);
        run->call = NULL;
    }
    if (run->query != NULL && !run->closing) {
        db_query_cancel(run->query);
        run->query = NULL;
    }
    finish(run, "timeout", "The assistant took too long");
}

/* ---- the public interface ----------------------------------------------------------------- */

run_t *run_start(server_thread_t *thread, const run_spec_t *spec, const run_sink_t *sink)
{
    run_t *run = calloc(1, sizeof(*run));
    if (run == NULL)
        abort();
    run->thread = thread;
    run->settings = thread->app->run_settings;
    run->chain = thread->app->llm;
    make_uuid(run->id);
    run->spec = *spec;
    run->kind = xstrdup(spec->kind);
    run->org_id = xstrdup(spec->org_id);
    run->user_id = xstrdup(spec->user_id);
    run->subject_id = xstrdup(spec->subject_id);
    run->spec.kind = run->kind;
    run->spec.system_prompt = NULL;
    run->spec.history = NULL;
    run->spec.input = NULL;
    if (sink != NULL)
        run->sink = *sink;
    run->start_ms = now_ms();
    h2o_linklist_insert(&thread->runs, &run->link);

    if (spec->system_prompt != NULL)
        add_msg(run, LLM_SYSTEM, spec->system_prompt);
    /* the newest turns that fit the budget (about four characters a token) */
    size_t first = spec->nhistory, chars = 0, budget = (size_t)run->settings->history_tokens * 4;
    while (first > 0 && chars + strlen(spec->history[first - 1].content) <= budget)
        chars += strlen(spec->history[--first].content);
    for (size_t i = first; i < spec->nhistory; i++)
        add_msg(run, spec->history[i].role, spec->history[i].content);
    if (spec->input != NULL)
        run->spec.input = add_msg(run, LLM_USER, spec->input)->content;
    run->tool_defs = calloc(spec->ntools ? spec->ntools : 1, sizeof(*run->tool_defs));
    if (run->tool_defs == NULL)
        abort();
    for (size_t i = 0; i < spec->ntools; i++)
        run->tool_defs[i] = (llm_tool_def_t){spec->tools[i].name, spec->tools[i].description, spec->tools[i].parameters};

    uv_timer_init(&thread->loop, &run->deadline);
    uv_timer_init(&thread->loop, &run->kick);
    run->deadline.data = run->kick.data = run;
    run->handles_open = 2;
    uv_timer_start(&run->deadline, on_deadline, run->settings->deadline_ms, 0);
    uv_timer_start(&run->kick, on_kick, 0, 0);
    const char *values[] = {run->id, run->org_id, run->user_id, run->kind, run->subject_id};
    run->query = db_pool_query(thread->db[APP_POOL_FAST], &stmt_insert, values, 5, 0, on_inserted, run);
    return run;
}

const char *run_id(const run_t *run)
{
    return run->id;
}

void run_sink_writable(run_t *run)
{
    if (run->paused && run->call != NULL) {
        run->paused = 0;
        llm_resume(run->call);
    }
}

void run_sink_detach(run_t *run)
{
    run->sink = (run_sink_t){0};
    run_sink_writable(run);
}

void run_cancel(run_t *run)
{
    if (run->done)
        return;
    if (run->call != NULL) {
        record_call(run, NULL, "cancelled");
        llm_cancel(run->call);
        run->call = NULL;
    }
    if (run->query != NULL && run->inserted) {
        db_query_cancel(run->query);
        run->query = NULL;
    }
    finish(run, "cancelled", "The run was cancelled");
}

size_t run_error_json(char out[RUN_ERROR_JSON_MAX], const char *code, const char *detail)
{
    json_out_t o = json_out_fixed(out, RUN_ERROR_JSON_MAX);
    json_out_obj_begin(&o);
    json_out_key(&o, "code");
    json_out_str(&o, code);
    json_out_key(&o, "detail");
    json_out_str(&o, detail);
    json_out_obj_end(&o);
    if (json_out_overflowed(&o))
        return (size_t)snprintf(out, RUN_ERROR_JSON_MAX, "{\"code\":\"internal\",\"detail\":\"error\"}");
    return json_out_len(&o);
}

void run_cancel_all(server_thread_t *thread)
{
    h2o_linklist_t *node = thread->runs.next;
    while (node != &thread->runs) {
        h2o_linklist_t *next = node->next; /* cancelling may free the run */
        run_cancel(H2O_STRUCT_FROM_MEMBER(run_t, link, node));
        node = next;
    }
}

void run_close(run_t *run)
{
    run->closing = 1;
    run->sink = (run_sink_t){0};
    uv_close((uv_handle_t *)&run->deadline, on_handle_closed);
    uv_close((uv_handle_t *)&run->kick, on_handle_closed);
    if (run->inserted)
        write_record(run);
    /* else on_inserted writes it */
}

void *run_tool_ctx(const run_t *run)
{
    return run->spec.tool_ctx;
}

static void on_tool_query(void *arg, const db_result_t *res)
{
    run_t *run = arg;
    run->query = NULL;
    run->query_cb(run, res);
}

void run_query(run_t *run, const db_stmt_t *stmt, const char *const *values, int nvalues,
               void (*cb)(run_t *run, const db_result_t *res))
{
    run->query_cb = cb;
    run->query = db_pool_query(run->thread->db[APP_POOL_FAST], stmt, values, nvalues, 0, on_tool_query, run);
}

int run_settings_from_env(run_settings_t *s)
{
    static const struct {
        const char *name;
        size_t offset;
        uint64_t def, min, max;
        int is_u64;
    } vars[] = {
        {"LLM_FIRST_TOKEN_TIMEOUT_MS", offsetof(run_settings_t, first_token_timeout_ms), 15000, 10, 600000, 1},
        {"LLM_TIMEOUT_MS", offsetof(run_settings_t, call_timeout_ms), 60000, 10, 3600000, 1},
        {"RUN_DEADLINE_MS", offsetof(run_settings_t, deadline_ms), 120000, 10, 3600000, 1},
        {"RUN_MAX_TOOL_ROUNDS", offsetof(run_settings_t, max_tool_rounds), 4, 0, 16, 0},
        {"RUN_QUOTA_PER_HOUR", offsetof(run_settings_t, quota_per_hour), 1000, 1, 100000000, 0},
        {"RUN_HISTORY_TOKENS", offsetof(run_settings_t, history_tokens), 4000, 0, 1000000, 0},
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i].name);
        uint64_t value = vars[i].def;
        if (v != NULL && *v != '\0') {
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            if (*end != '\0' || n < vars[i].min || n > vars[i].max) {
                log_error("bad setting: expected a whole number in range", LOG_S("name", vars[i].name),
                          LOG_I("min", vars[i].min), LOG_I("max", vars[i].max));
                return -1;
            }
            value = n;
        }
        if (vars[i].is_u64)
            *(uint64_t *)((char *)s + vars[i].offset) = value;
        else
            *(unsigned *)((char *)s + vars[i].offset) = (unsigned)value;
    }
    snprintf(s->quota_text, sizeof(s->quota_text), "%u", s->quota_per_hour);
    return 0;
}

void run_register(app_t *app)
{
    app_add_stmt(app, &stmt_insert);
    app_add_stmt(app, &stmt_record);
}
