/* A run's record: its pipeline_runs row (inserted as it starts, completed when it closes), the
 * events worth keeping and the provider calls, collected as JSON and written in one statement,
 * never one insert per token; and the helpers that collecting needs. */
#include "pipeline/run/guardrails.h"
#include "pipeline/run/run_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "pipeline/metrics.h"

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

uint64_t run_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void run_clock(char *out, size_t cap)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

char *run_strdup(const char *s)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        abort();
    return d;
}

/* A JSON writer into malloc'd memory sized for the worst case of `n` bytes of strings. */
json_out_t run_json_out(size_t n, char **mem)
{
    size_t cap = n * 6 + 512;
    *mem = malloc(cap);
    if (*mem == NULL)
        abort();
    return json_out_fixed(*mem, cap);
}

void run_record_event(run_t *run, const char *type, const char *data, size_t len)
{
    char at[40], head[160];
    run_clock(at, sizeof(at));
    int n = snprintf(head, sizeof(head), "%s{\"seq\":%u,\"type\":\"%s\",\"at\":\"%s\",\"data\":", run->nevents ? "," : "",
                     run->nevents, type, at);
    size_t mark = run->events.len;
    if (buf_add_max(&run->events, head, (size_t)n, RUN_RECORD_MAX) != 0 ||
        buf_add_max(&run->events, data, len, RUN_RECORD_MAX) != 0 || buf_add_max(&run->events, "}", 1, RUN_RECORD_MAX) != 0) {
        run->events.len = mark; /* full: later events are dropped, the earlier ones stay whole */
        if (run->events.data != NULL)
            run->events.data[mark] = '\0';
        return;
    }
    run->nevents++;
}

void run_record_stage(run_t *run, const char *type, const char *stage)
{
    char data[96];
    int n = snprintf(data, sizeof(data), "{\"stage\":\"%s\"}", stage);
    run_record_event(run, type, data, (size_t)n);
}

void run_record_call(run_t *run, const llm_result_t *res, const char *status)
{
    const llm_provider_t *p = run->chain->providers[run->provider];
    char *mem;
    json_out_t o = run_json_out(512, &mem);
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
    json_out_int(&o, (long long)(run_now_ms() - run->call_start_ms));
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
    if (!json_out_overflowed(&o) && (run->npcalls == 0 || buf_add_max(&run->pcalls, ",", 1, RUN_RECORD_MAX) == 0) &&
        buf_add_max(&run->pcalls, mem, json_out_len(&o), RUN_RECORD_MAX) == 0)
        run->npcalls++;
    free(mem);
}

static void free_run(run_t *run)
{
    server_work_done(&run->work);
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
    free(run->text.data);
    free(run->events.data);
    free(run->pcalls.data);
    free(run->kind);
    free(run->org_id);
    free(run->user_id);
    free(run->subject_id);
    free(run->error_code);
    free(run->error_text);
    free(run);
}

void run_handle_closed(uv_handle_t *h)
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

void run_record_write(run_t *run)
{
    char latency[24], ttft[24], tin[16], tout[16];
    snprintf(latency, sizeof(latency), "%llu", (unsigned long long)(run_now_ms() - run->start_ms));
    snprintf(ttft, sizeof(ttft), "%llu", (unsigned long long)run->ttft_ms);
    snprintf(tin, sizeof(tin), "%u", run->tokens_in);
    snprintf(tout, sizeof(tout), "%u", run->tokens_out);
    buf_t ev = {0}, pc = {0};
    if (buf_add_max(&ev, "[", 1, SIZE_MAX) != 0 || buf_add_max(&ev, run->events.data ? run->events.data : "", run->events.len, SIZE_MAX) != 0 ||
        buf_add_max(&ev, "]", 1, SIZE_MAX) != 0 || buf_add_max(&pc, "[", 1, SIZE_MAX) != 0 ||
        buf_add_max(&pc, run->pcalls.data ? run->pcalls.data : "", run->pcalls.len, SIZE_MAX) != 0 || buf_add_max(&pc, "]", 1, SIZE_MAX) != 0)
        abort();
    const llm_provider_t *p = run->chain->n ? run->chain->providers[run->provider] : NULL;
    const char *values[] = {run->id, run->status, p ? llm_provider_name(p) : NULL, p ? llm_provider_model(p) : NULL,
                            latency, run->ttft_ms ? ttft : NULL, tin, tout, run->error_text, ev.data, pc.data};
    run->query = db_pool_query(run->thread->db[APP_POOL_FAST], &stmt_record, values, 11, 0, on_recorded, run);
    free(ev.data);
    free(pc.data);
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
            run_record_write(run);
        else
            release(run);
    }
}

void run_record_start(run_t *run)
{
    const char *values[] = {run->id, run->org_id, run->user_id, run->kind, run->subject_id};
    run->query = db_pool_query(run->thread->db[APP_POOL_FAST], &stmt_insert, values, 5, 0, on_inserted, run);
}

void run_register(app_t *app)
{
    app_add_stmt(app, &stmt_insert);
    app_add_stmt(app, &stmt_record);
    app_add_directives(app, run_define_directives);
    app_add_directives(app, guardrails_define_directives);
}
