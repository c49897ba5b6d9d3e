/* Building the mock's answers in each provider's real wire format. */
#include "test/mock/mock_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TEXT "Hello from the mock."
#define MAX_DELTAS 4096

typedef struct reply {
    const char *deltas[MAX_DELTAS];
    size_t lens[MAX_DELTAS], n;
    const json_t *calls; /* the step's tool_calls array, or NULL */
    unsigned prompt_tokens, completion_tokens;
    const char *finish_reason;
    int split_args, crlf, pings, no_done;
} reply_t;

static const char *str_of(const json_t *step, const char *key, const char *dflt)
{
    const json_t *v = step != NULL ? json_get(step, key) : NULL;
    return v != NULL && v->type == JSON_STRING ? v->str : dflt;
}

static long num_of(const json_t *step, const char *key, long dflt)
{
    const json_t *v = step != NULL ? json_get(step, key) : NULL;
    return v != NULL && v->type == JSON_NUMBER ? strtol(v->str, NULL, 10) : dflt;
}

static int flag_of(const json_t *step, const char *key, int dflt)
{
    const json_t *v = step != NULL ? json_get(step, key) : NULL;
    return v == NULL ? dflt : v->type == JSON_TRUE;
}

/* Text split into deltas: the step's "deltas" as given, else "text" a word (and its space) each. */
static void reply_init(reply_t *r, const json_t *step, int gemini)
{
    memset(r, 0, sizeof(*r));
    const json_t *d = step != NULL ? json_get(step, "deltas") : NULL;
    if (d != NULL && d->type == JSON_ARRAY) {
        for (size_t i = 0; i < d->len && r->n < MAX_DELTAS; i++)
            if (d->items[i]->type == JSON_STRING) {
                r->deltas[r->n] = d->items[i]->str;
                r->lens[r->n++] = d->items[i]->len;
            }
    } else {
        const json_t *calls = step != NULL ? json_get(step, "tool_calls") : NULL;
        const char *t = str_of(step, "text", calls != NULL ? "" : DEFAULT_TEXT);
        for (size_t i = 0, n = strlen(t); i < n && r->n < MAX_DELTAS;) {
            size_t k = i;
            while (k < n && t[k] != ' ')
                k++;
            while (k < n && t[k] == ' ')
                k++;
            r->deltas[r->n] = t + i;
            r->lens[r->n++] = k - i;
            i = k;
        }
    }
    r->calls = step != NULL ? json_get(step, "tool_calls") : NULL;
    if (r->calls != NULL && r->calls->type != JSON_ARRAY)
        r->calls = NULL;
    const json_t *u = step != NULL ? json_get(step, "usage") : NULL;
    r->prompt_tokens = (unsigned)num_of(u, "prompt_tokens", 11);
    r->completion_tokens = (unsigned)num_of(u, "completion_tokens", (long)r->n + (r->calls ? (long)r->calls->len : 0));
    r->finish_reason = str_of(step, "finish_reason", r->calls != NULL ? "tool_calls" : "stop");
    r->split_args = flag_of(step, "split_args", 0);
    r->crlf = flag_of(step, "crlf", gemini);
    r->pings = (int)num_of(step, "pings", 0);
    r->no_done = flag_of(step, "no_done", 0);
}

/* One SSE event ("data: <json>" or a comment) and its cut. */
static void event(mock_resp_t *m, const reply_t *r, const char *prefix, const char *json, size_t len)
{
    const char *nl = r->crlf ? "\r\n" : "\n";
    buf_add(&m->body, prefix, strlen(prefix));
    buf_add(&m->body, json, len);
    buf_add(&m->body, nl, strlen(nl));
    buf_add(&m->body, nl, strlen(nl));
    if (m->ncuts < sizeof(m->cuts) / sizeof(m->cuts[0]))
        m->cuts[m->ncuts++] = m->body.len;
}

static void pings(mock_resp_t *m, const reply_t *r)
{
    for (int i = 0; i < r->pings; i++)
        event(m, r, ": ping", "", 0);
}

/* A chunk up to its delta's value, which the caller appends. */
static const char chunk_head[] =
    "{\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"mock\",\"choices\":[{\"index\":0,\"delta\":";

static void openai_delta(mock_resp_t *m, const reply_t *r, const char *delta_json, const char *finish)
{
    buf_t b = {0};
    char tail[64];
    snprintf(tail, sizeof(tail), ",\"finish_reason\":%s%s%s}]}", finish ? "\"" : "", finish ? finish : "null",
             finish ? "\"" : "");
    buf_add(&b, chunk_head, sizeof(chunk_head) - 1);
    buf_add(&b, delta_json, strlen(delta_json));
    buf_add(&b, tail, strlen(tail));
    event(m, r, "data: ", b.data, b.len);
    buf_free(&b);
}

static void openai_tool_fragment(mock_resp_t *m, const reply_t *r, h2o_mem_pool_t *pool, size_t index,
                                 const json_t *call, const char *args, size_t args_len, int first)
{
    json_out_t d = json_out_pool(pool, 256);
    json_out_obj_begin(&d);
    json_out_key(&d, "tool_calls");
    json_out_arr_begin(&d);
    json_out_obj_begin(&d);
    json_out_key(&d, "index");
    json_out_int(&d, (long long)index);
    if (first) {
        json_out_key(&d, "id");
        json_out_str(&d, str_of(call, "id", "call_mock"));
        json_out_key(&d, "type");
        json_out_str(&d, "function");
    }
    json_out_key(&d, "function");
    json_out_obj_begin(&d);
    if (first) {
        json_out_key(&d, "name");
        json_out_str(&d, str_of(call, "name", "tool"));
    }
    json_out_key(&d, "arguments");
    json_out_strn(&d, args, args_len);
    json_out_obj_end(&d);
    json_out_obj_end(&d);
    json_out_arr_end(&d);
    json_out_obj_end(&d);
    openai_delta(m, r, json_out_cstr(&d), NULL);
}

static void openai_stream(mock_resp_t *m, const reply_t *r, h2o_mem_pool_t *pool)
{
    pings(m, r);
    openai_delta(m, r, "{\"role\":\"assistant\",\"content\":\"\"}", NULL);
    for (size_t i = 0; i < r->n; i++) {
        json_out_t d = json_out_pool(pool, 64);
        json_out_obj_begin(&d);
        json_out_key(&d, "content");
        json_out_strn(&d, r->deltas[i], r->lens[i]);
        json_out_obj_end(&d);
        openai_delta(m, r, json_out_cstr(&d), NULL);
    }
    for (size_t i = 0; r->calls != NULL && i < r->calls->len; i++) {
        const json_t *call = r->calls->items[i];
        const char *args = str_of(call, "arguments", "{}");
        size_t len = strlen(args);
        if (!r->split_args) {
            openai_tool_fragment(m, r, pool, i, call, args, len, 1);
            continue;
        }
        openai_tool_fragment(m, r, pool, i, call, "", 0, 1); /* as OpenAI does: the name first, arguments after */
        for (size_t off = 0, step = len / 3 + 1; off < len; off += step)
            openai_tool_fragment(m, r, pool, i, call, args + off, len - off < step ? len - off : step, 0);
    }
    openai_delta(m, r, "{}", r->finish_reason);
    char usage[160];
    snprintf(usage, sizeof(usage),
             "{\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":"
             "{\"prompt_tokens\":%u,\"completion_tokens\":%u,\"total_tokens\":%u}}",
             r->prompt_tokens, r->completion_tokens, r->prompt_tokens + r->completion_tokens);
    event(m, r, "data: ", usage, strlen(usage));
    if (!r->no_done)
        event(m, r, "data: [DONE]", "", 0);
}

static void gemini_event(mock_resp_t *m, const reply_t *r, h2o_mem_pool_t *pool, const reply_t *parts_of, size_t delta,
                         int calls, int last)
{
    json_out_t o = json_out_pool(pool, 256);
    char err[64];
    json_out_obj_begin(&o);
    json_out_key(&o, "candidates");
    json_out_arr_begin(&o);
    json_out_obj_begin(&o);
    json_out_key(&o, "content");
    json_out_obj_begin(&o);
    json_out_key(&o, "role");
    json_out_str(&o, "model");
    json_out_key(&o, "parts");
    json_out_arr_begin(&o);
    if (!calls) {
        json_out_obj_begin(&o);
        json_out_key(&o, "text");
        json_out_strn(&o, last ? "" : parts_of->deltas[delta], last ? 0 : parts_of->lens[delta]);
        json_out_obj_end(&o);
    }
    for (size_t i = 0; calls && i < r->calls->len; i++) {
        const char *args = str_of(r->calls->items[i], "arguments", "{}");
        json_t *a = json_parse(pool, args, strlen(args), err, sizeof(err));
        json_out_obj_begin(&o);
        json_out_key(&o, "functionCall");
        json_out_obj_begin(&o);
        json_out_key(&o, "name");
        json_out_str(&o, str_of(r->calls->items[i], "name", "tool"));
        json_out_key(&o, "args");
        if (a != NULL)
            json_out_value(&o, a);
        else
            json_out_raw(&o, "{}", 2);
        json_out_obj_end(&o);
        json_out_obj_end(&o);
    }
    json_out_arr_end(&o);
    json_out_obj_end(&o);
    if (last) {
        json_out_key(&o, "finishReason");
        json_out_str(&o, "STOP");
    }
    json_out_key(&o, "index");
    json_out_int(&o, 0);
    json_out_obj_end(&o);
    json_out_arr_end(&o);
    if (last) {
        json_out_key(&o, "usageMetadata");
        json_out_obj_begin(&o);
        json_out_key(&o, "promptTokenCount");
        json_out_int(&o, r->prompt_tokens);
        json_out_key(&o, "candidatesTokenCount");
        json_out_int(&o, r->completion_tokens);
        json_out_key(&o, "totalTokenCount");
        json_out_int(&o, r->prompt_tokens + r->completion_tokens);
        json_out_obj_end(&o);
    }
    json_out_obj_end(&o);
    event(m, r, "data: ", json_out_iov(&o).base, json_out_len(&o));
}

static void gemini_stream(mock_resp_t *m, const reply_t *r, h2o_mem_pool_t *pool)
{
    pings(m, r);
    for (size_t i = 0; i < r->n; i++)
        gemini_event(m, r, pool, r, i, 0, 0);
    if (r->calls != NULL && r->calls->len > 0)
        gemini_event(m, r, pool, r, 0, 1, 0);
    gemini_event(m, r, pool, r, 0, 0, 1);
}

/* How many texts the embeddings request asks for. */
static size_t embed_inputs(const char *path, const json_t *req)
{
    const json_t *v = req == NULL ? NULL : json_get(req, strstr(path, ":batchEmbedContents") ? "requests" : "input");
    if (v == NULL)
        return 0;
    return v->type == JSON_ARRAY ? v->len : v->type == JSON_STRING ? 1 : 0;
}

static void embeddings(mock_resp_t *m, const char *path, const json_t *req, const json_t *step, h2o_mem_pool_t *pool)
{
    int gemini = strstr(path, ":batchEmbedContents") != NULL;
    size_t n = embed_inputs(path, req), dim = (size_t)num_of(step, "dim", 8);
    json_out_t o = json_out_pool(pool, 1024);
    json_out_obj_begin(&o);
    json_out_key(&o, gemini ? "embeddings" : "data");
    json_out_arr_begin(&o);
    for (size_t i = 0; i < n; i++) {
        json_out_obj_begin(&o);
        if (!gemini) {
            json_out_key(&o, "object");
            json_out_str(&o, "embedding");
            json_out_key(&o, "index");
            json_out_int(&o, (long long)i);
        }
        json_out_key(&o, gemini ? "values" : "embedding");
        json_out_arr_begin(&o);
        for (size_t j = 0; j < dim; j++) /* recognisable: vector i starts with i, then j/100 */
            json_out_double(&o, j == 0 ? (double)i : (double)j / 100.0);
        json_out_arr_end(&o);
        json_out_obj_end(&o);
    }
    json_out_arr_end(&o);
    json_out_obj_end(&o);
    buf_add(&m->body, json_out_iov(&o).base, json_out_len(&o));
}

static int ends_with(const char *path, const char *suffix)
{
    size_t n = strcspn(path, "?"), k = strlen(suffix);
    return n >= k && memcmp(path + n - k, suffix, k) == 0;
}

int mock_wire_build(mock_resp_t *m, const char *path, const json_t *req, const json_t *step)
{
    h2o_mem_pool_t pool;
    int chat_openai = ends_with(path, "/chat/completions"), chat_gemini = ends_with(path, ":streamGenerateContent");
    int embed = ends_with(path, "/embeddings") || ends_with(path, ":batchEmbedContents");
    if (!chat_openai && !chat_gemini && !embed)
        return -1;
    memset(m, 0, sizeof(*m));
    m->status = (int)num_of(step, "status", 200);
    m->chunk_bytes = (size_t)num_of(step, "chunk_bytes", 0);
    m->delay_ms = (unsigned)num_of(step, "delay_ms", 0);
    m->stall_ms = (unsigned)num_of(step, "stall_ms", 0);
    m->trickle_ms = (unsigned)num_of(step, "trickle_ms", 0);
    m->stall_after_bytes = num_of(step, "stall_after_bytes", -1);
    m->stall_after_ms = (unsigned)num_of(step, "stall_after_ms", 60000);
    m->close_at = -1;
    m->content_type = "application/json";
    if (m->status < 200 || m->status > 299) {
        const char *b =
            str_of(step, "error_body",
                   chat_gemini ? "{\"error\":{\"code\":400,\"message\":\"mock error\",\"status\":\"INVALID_ARGUMENT\"}}"
                               : "{\"error\":{\"message\":\"mock error\",\"type\":\"invalid_request_error\","
                                 "\"code\":\"mock_error\"}}");
        buf_add(&m->body, b, strlen(b));
        return 0;
    }
    h2o_mem_init_pool(&pool);
    if (embed) {
        embeddings(m, path, req, step, &pool);
    } else {
        reply_t r;
        reply_init(&r, step, chat_gemini);
        m->stream = 1;
        m->content_type = "text/event-stream";
        const char *raw = str_of(step, "raw", NULL);
        if (raw != NULL)
            buf_add(&m->body, raw, strlen(raw));
        else if (chat_openai)
            openai_stream(m, &r, &pool);
        else
            gemini_stream(m, &r, &pool);
        if (flag_of(step, "close_mid_stream", 0))
            m->close_at = (long)m->body.len / 2;
    }
    h2o_mem_clear_pool(&pool);
    return 0;
}

void mock_resp_free(mock_resp_t *m)
{
    buf_free(&m->body);
}
