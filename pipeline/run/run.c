/* The run's agent loop: guardrails, the model with its tools and fallbacks, the deadline, and the
 * events to the sink. A run owns copies of everything it was given, so its owner's request may go
 * away mid-stream: the reply is still finished and stored. Its record is in run_record.c. */
#include "pipeline/run/run_internal.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/metrics.h"
#include "pipeline/run/guardrails.h"

#define RUN_REFUSAL "Sorry, I can't help with that request."

/* A version 4 UUID: the run's id, known before any row is written (message_start carries it). */
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

/* ---- events ------------------------------------------------------------------------------- */

void run_emit(run_t *run, const char *type, const char *json, size_t len, int record)
{
    if (run->sink.event != NULL)
        run->sink.event(run->sink.arg, type, json, len);
    if (record)
        run_record_event(run, type, json, len);
}

static void emit_delta(run_t *run, const char *text, size_t len)
{
    char *mem;
    json_out_t o = run_json_out(len, &mem);
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
        run_record_event(run, "error", json, run_error_json(json, code, detail));
        run->error_code = run_strdup(code);
        run->error_text = run_strdup(detail);
    }
    run->status = code == NULL ? "succeeded" : strcmp(code, "cancelled") == 0 ? "cancelled" : "failed";
    metrics_run(run->thread->metrics, run->kind, run->status);
    run_record_stage(run, "stage.end", "agent");
    run->result = (run_result_t){.error_code = run->error_code, .error_detail = run->error_text,
                                 .text = run->text.data ? run->text.data : "", .text_len = run->text.len,
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
    m->content = run_strdup(content);
    return m;
}

static void start_call(run_t *run);

static int on_delta(void *arg, const char *text, size_t len)
{
    run_t *run = arg;
    if (run->ttft_ms == 0)
        run->ttft_ms = run_now_ms() - run->start_ms;
    char *clean = malloc(len + 16);
    if (clean == NULL)
        abort();
    size_t n = guardrails_filter_output(text, len, clean, len + 16);
    if (buf_add_max(&run->text, clean, n, LLM_MAX_REPLY + 1) == 0)
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
    json_out_t o = run_json_out(len + strlen(c->id) + strlen(c->name), &mem);
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
    m->tool_call_id = run_strdup(c->id);
    m->name = run_strdup(c->name);
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
    if (run->text.len > run->round_start && (m->content = strndup(run->text.data + run->round_start,
                                                                  run->text.len - run->round_start)) == NULL)
        abort();
    m->calls = calloc(res->ntool_calls, sizeof(*m->calls));
    if (m->calls == NULL)
        abort();
    m->ncalls = res->ntool_calls;
    for (size_t i = 0; i < res->ntool_calls; i++) {
        m->calls[i].id = run_strdup(res->tool_calls[i].id);
        m->calls[i].name = run_strdup(res->tool_calls[i].name);
        m->calls[i].arguments = run_strdup(res->tool_calls[i].arguments);
        char *mem;
        const llm_tool_call_t *c = &m->calls[i];
        json_out_t o = run_json_out(strlen(c->id) + strlen(c->name) + strlen(c->arguments), &mem);
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
        run_record_call(run, res, "failed");
        if (!res->started && run->provider + 1 < run->chain->n) {
            char data[160];
            int n = snprintf(data, sizeof(data), "{\"from\":\"%s\",\"to\":\"%s\",\"reason\":\"%s\"}",
                             llm_provider_name(run->chain->providers[run->provider]),
                             llm_provider_name(run->chain->providers[run->provider + 1]),
                             res->error == LLM_ERR_FIRST_TOKEN ? "first_token_timeout" : "error");
            run_record_event(run, "fallback", data, (size_t)n);
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
    run_record_call(run, res, "succeeded");
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
    run->call_start_ms = run_now_ms();
    run_clock(run->call_started_at, sizeof(run->call_started_at));
    run->call = llm_chat(run->chain->providers[run->provider], &run->thread->loop, run->thread->httpc, &req, &cbs, run);
    free(msgs);
    if (run->call == NULL) {
        run_record_call(run, &(llm_result_t){.error = LLM_ERR_TOO_LARGE, .error_text = "request refused"}, "failed");
        finish(run, "provider_error", "The conversation is too large for the assistant");
    }
}

/* The first step, from the loop: guardrails, then the model. */
static void on_kick(uv_timer_t *t)
{
    run_t *run = t->data;
    const char *input = run->spec.input;
    run_record_stage(run, "stage.start", "guardrails");
    const char *why = input != NULL ? guardrails_check_input(input, strlen(input)) : NULL;
    if (why != NULL) {
        char data[96];
        int n = snprintf(data, sizeof(data), "{\"reason\":\"%s\"}", why);
        run_record_event(run, "guardrail.blocked", data, (size_t)n);
        run->result.blocked = 1;
        buf_add_max(&run->text, RUN_REFUSAL, strlen(RUN_REFUSAL), SIZE_MAX);
        emit_delta(run, RUN_REFUSAL, strlen(RUN_REFUSAL));
        run_record_stage(run, "stage.start", "agent");
        finish(run, NULL, NULL);
        return;
    }
    run_record_stage(run, "stage.end", "guardrails");
    run_record_stage(run, "stage.start", "agent");
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

/* Shutdown's deadline passed with the run still going. */
static void cancel_work(server_work_t *w)
{
    run_cancel(H2O_STRUCT_FROM_MEMBER(run_t, work, w));
}

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
    run->kind = run_strdup(spec->kind);
    run->org_id = run_strdup(spec->org_id);
    run->user_id = run_strdup(spec->user_id);
    run->subject_id = run_strdup(spec->subject_id);
    run->spec.kind = run->kind;
    run->spec.system_prompt = NULL;
    run->spec.history = NULL;
    run->spec.input = NULL;
    if (sink != NULL)
        run->sink = *sink;
    run->start_ms = run_now_ms();
    run->work.cancel = cancel_work;
    server_work_add(thread, &run->work);

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
    run_record_start(run);
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
        run_record_call(run, NULL, "cancelled");
        llm_cancel(run->call);
        run->call = NULL;
    }
    if (run->query != NULL && run->inserted) {
        db_query_cancel(run->query);
        run->query = NULL;
    }
    finish(run, "cancelled", "The run was cancelled");
}


void run_close(run_t *run)
{
    run->closing = 1;
    run->sink = (run_sink_t){0};
    uv_close((uv_handle_t *)&run->deadline, run_handle_closed);
    uv_close((uv_handle_t *)&run->kick, run_handle_closed);
    if (run->inserted)
        run_record_write(run);
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
