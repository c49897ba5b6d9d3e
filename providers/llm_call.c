/* One streamed chat call: the HTTP transfer (or the stub's script), SSE events → deltas and tool
 * calls, backpressure, deadlines, and the single on_done. Parsed text that the caller has not taken
 * yet (it paused) waits in `pend`; received bytes not parsed yet wait in `in`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "providers/llm_internal.h"

#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_FIRST_TOKEN_MS 15000
#define DEFAULT_TIMEOUT_MS 60000
#define STUB_STEP_MS 2
#define URL_MAX 2048

typedef struct tool_slot {
    buf_t id, name, args;
    int used;
} tool_slot_t;

struct llm_call {
    const llm_provider_t *p;
    const llm_ops_t *ops; /* NULL for the stub */
    uv_loop_t *loop;
    httpc_req_t *req;
    llm_callbacks_t cb;
    void *arg;
    uv_timer_t t_first, t_total, t_kick; /* kick: resume work and stub steps, always from the loop */
    int open_handles;
    uint64_t t0;
    llm_sse_t sse;
    h2o_mem_pool_t pool; /* one event's parse */
    buf_t in, pend, errbody;
    size_t in_off, pend_off, reply_len;
    tool_slot_t tools[LLM_MAX_TOOL_CALLS];
    llm_result_t res;
    char *stub_text; /* the stub's whole reply; stub_off: how much went into pend */
    size_t stub_len, stub_off;
    unsigned paused : 1, cancelled : 1, finished : 1, ended : 1, in_delta : 1, resumed_in_delta : 1, transfer_done : 1,
        releasing : 1;
};

/* ---- lifetime ---- */

static void on_handle_closed(uv_handle_t *h)
{
    llm_call_t *c = h->data;
    if (--c->open_handles > 0)
        return;
    llm_sse_free(&c->sse);
    h2o_mem_clear_pool(&c->pool);
    buf_free(&c->in);
    buf_free(&c->pend);
    buf_free(&c->errbody);
    for (size_t i = 0; i < LLM_MAX_TOOL_CALLS; i++) {
        buf_free(&c->tools[i].id);
        buf_free(&c->tools[i].name);
        buf_free(&c->tools[i].args);
    }
    free(c->stub_text);
    free(c);
}

/* The memory goes once the timers are closed, on a later loop turn: until then every frame still on
 * the stack (on_delta → llm_cancel, on_data → finish) may keep using c. */
static void release(llm_call_t *c)
{
    if (c->releasing)
        return;
    c->releasing = 1;
    if (c->req != NULL) {
        httpc_cancel(c->req);
        c->req = NULL;
    }
    uv_close((uv_handle_t *)&c->t_first, on_handle_closed);
    uv_close((uv_handle_t *)&c->t_total, on_handle_closed);
    uv_close((uv_handle_t *)&c->t_kick, on_handle_closed);
}

static void finish(llm_call_t *c, int error, const char *text)
{
    if (c->finished || c->cancelled)
        return;
    c->finished = 1;
    if (c->req != NULL) {
        httpc_cancel(c->req);
        c->req = NULL;
    }
    llm_result_t r = c->res;
    llm_tool_call_t calls[LLM_MAX_TOOL_CALLS];
    r.error = error;
    if (error != LLM_OK) {
        r.error_text = c->res.error_text != NULL ? c->res.error_text : text;
        r.finish_reason = NULL;
        r.ntool_calls = 0;
    } else {
        size_t n = 0;
        for (size_t i = 0; i < LLM_MAX_TOOL_CALLS; i++) {
            tool_slot_t *t = &c->tools[i];
            if (!t->used)
                continue;
            char made_up[32];
            if (t->id.len == 0) { /* Gemini has no ids; the tool message must still name its call */
                snprintf(made_up, sizeof(made_up), "call_%zu", n + 1);
                buf_add(&t->id, made_up, strlen(made_up));
            }
            if (t->args.len == 0)
                buf_add(&t->args, "{}", 2);
            calls[n++] = (llm_tool_call_t){t->id.data, t->name.data != NULL ? t->name.data : "", t->args.data};
        }
        r.tool_calls = calls;
        r.ntool_calls = n;
        if (n > 0)
            r.finish_reason = "tool_calls";
        else if (r.finish_reason == NULL)
            r.finish_reason = "stop";
        r.error_text = NULL;
    }
    c->cb.on_done(c->arg, &r);
    release(c);
}

/* ---- what the wire parsers call ---- */

static void mark_started(llm_call_t *c)
{
    if (!c->res.started) {
        c->res.started = 1;
        c->res.ttft_ms = uv_now(c->loop) - c->t0;
        if (c->res.ttft_ms == 0)
            c->res.ttft_ms = 1; /* 0 means "none" */
    }
}

int llm_call_text(llm_call_t *c, const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (c->reply_len + n > LLM_MAX_REPLY)
        return llm_call_error(c, LLM_ERR_TOO_LARGE, "reply over LLM_MAX_REPLY");
    if (buf_add(&c->pend, s, n) != 0)
        return llm_call_error(c, LLM_ERR_TOO_LARGE, "out of memory");
    c->reply_len += n;
    mark_started(c);
    return 0;
}

int llm_call_tool(llm_call_t *c, size_t index, const char *id, size_t id_len, const char *name, size_t name_len,
                  const char *args, size_t args_len)
{
    if (index >= LLM_MAX_TOOL_CALLS)
        return llm_call_error(c, LLM_ERR_TOO_LARGE, "more than LLM_MAX_TOOL_CALLS tool calls");
    tool_slot_t *t = &c->tools[index];
    if (t->args.len + args_len > LLM_MAX_TOOL_ARGS || t->name.len + name_len > 256 || t->id.len + id_len > 256)
        return llm_call_error(c, LLM_ERR_TOO_LARGE, "tool call over its bounds");
    /* Ids come whole; some servers repeat the id or the name in every fragment. */
    if (t->id.len > 0)
        id_len = 0;
    if (t->name.len == name_len && name_len > 0 && memcmp(t->name.data, name, name_len) == 0)
        name_len = 0;
    if (buf_add(&t->id, id, id_len) != 0 || buf_add(&t->name, name, name_len) != 0 ||
        buf_add(&t->args, args, args_len) != 0)
        return llm_call_error(c, LLM_ERR_TOO_LARGE, "out of memory");
    t->used = 1;
    mark_started(c);
    return 0;
}

size_t llm_call_ntools(const llm_call_t *c)
{
    size_t n = 0;
    while (n < LLM_MAX_TOOL_CALLS && c->tools[n].used)
        n++;
    return n;
}

void llm_call_usage(llm_call_t *c, unsigned in, unsigned out)
{
    c->res.tokens_in = in;
    c->res.tokens_out = out;
}

void llm_call_finish_reason(llm_call_t *c, const char *reason)
{
    c->res.finish_reason = reason;
}

void llm_call_end(llm_call_t *c)
{
    c->ended = 1;
}

json_t *llm_call_json(llm_call_t *c, const char *s, size_t n)
{
    char err[64];
    return json_parse(&c->pool, s, n, err, sizeof(err));
}

int llm_call_error(llm_call_t *c, int error, const char *text)
{
    if (c->res.error_text == NULL)
        c->res.error_text = text;
    return error;
}

/* ---- delivery ---- */

/* Hands the parsed text to on_delta unless paused. 0: all taken; 1: paused; -1: the call is over. */
static int deliver(llm_call_t *c)
{
    while (c->pend_off < c->pend.len) {
        if (c->paused)
            return 1;
        const char *s = c->pend.data + c->pend_off;
        size_t n = c->pend.len - c->pend_off;
        c->pend_off = c->pend.len; /* taken before the call: exactly once, even if it cancels */
        c->in_delta = 1;
        c->resumed_in_delta = 0;
        int v = c->cb.on_delta(c->arg, s, n);
        c->in_delta = 0;
        if (c->cancelled || c->finished)
            return -1;
        if (v == LLM_PAUSE && !c->resumed_in_delta)
            c->paused = 1;
    }
    c->pend.len = c->pend_off = 0;
    return c->paused ? 1 : 0;
}

static void on_event(llm_call_t *c)
{
    int err = c->ended ? 0 : c->ops->chat_event(c, c->sse.data.data, c->sse.data.len);
    h2o_mem_clear_pool(&c->pool);
    if (err != 0)
        finish(c, err, "malformed provider stream");
}

/* Parses events out of p until it is used up, the caller paused, or the call ended; returns how
 * many bytes it consumed. */
static size_t parse(llm_call_t *c, const char *p, size_t n)
{
    size_t off = 0;
    while (off < n && !c->finished && !c->cancelled && !c->paused) {
        int ready;
        off += llm_sse_feed(&c->sse, p + off, n - off, &ready);
        if (c->sse.overflow) {
            finish(c, LLM_ERR_TOO_LARGE, "SSE line over 1 MiB");
            break;
        }
        if (!ready)
            continue;
        on_event(c);
        if (!c->finished)
            deliver(c);
    }
    return off;
}

/* The stream is over and everything was delivered: a reply, or a stream cut short. */
static void complete(llm_call_t *c)
{
    if (!c->ended && c->res.finish_reason == NULL)
        finish(c, LLM_ERR_PROTOCOL, "stream ended before the reply did");
    else
        finish(c, LLM_OK, NULL);
}

static void pump(llm_call_t *c);

static void on_kick(uv_timer_t *t)
{
    pump(t->data);
}

/* The stub streams its reply a piece per loop turn, as a provider would. */
static void stub_step(llm_call_t *c)
{
    size_t n = llm_stub_piece(c->stub_text + c->stub_off, c->stub_len - c->stub_off);
    llm_call_text(c, c->stub_text + c->stub_off, n);
    c->stub_off += n;
    if (deliver(c) != 0)
        return;
    if (c->stub_off < c->stub_len)
        uv_timer_start(&c->t_kick, on_kick, STUB_STEP_MS, 0);
    else
        complete(c);
}

/* Continues after a pause (or a stub step): pending text, then kept bytes, then more input. */
static void pump(llm_call_t *c)
{
    if (deliver(c) != 0)
        return;
    while (c->in_off < c->in.len) {
        c->in_off += parse(c, c->in.data + c->in_off, c->in.len - c->in_off);
        if (c->finished || c->cancelled || c->paused)
            return;
    }
    c->in.len = c->in_off = 0;
    if (c->ops == NULL) {
        if (c->stub_off < c->stub_len)
            stub_step(c);
        else
            complete(c);
    } else if (c->transfer_done) {
        complete(c);
    } else if (c->req != NULL) {
        httpc_resume(c->req); /* may deliver the next chunks (and even on_done) before it returns */
    }
}

/* ---- the HTTP transfer ---- */

static int on_data(void *arg, const char *data, size_t len)
{
    llm_call_t *c = arg;
    if (c->finished || c->cancelled)
        return HTTPC_ABORT;
    long status = httpc_status(c->req);
    if (status < 200 || status > 299) { /* an error body: kept (bounded) to name the error */
        size_t room = LLM_ERROR_BODY_MAX - c->errbody.len;
        buf_add(&c->errbody, data, len < room ? len : room);
        return HTTPC_CONTINUE;
    }
    size_t used = parse(c, data, len);
    if (c->finished || c->cancelled)
        return HTTPC_ABORT;
    if (!c->paused)
        return HTTPC_CONTINUE;
    /* httpc counts this chunk as consumed: what was not parsed yet waits here for llm_resume */
    if (buf_add(&c->in, data + used, len - used) != 0) {
        finish(c, LLM_ERR_TOO_LARGE, "out of memory");
        return HTTPC_ABORT;
    }
    return HTTPC_PAUSE;
}

/* A short word from an error body that says what went wrong ("invalid_api_key",
 * "RESOURCE_EXHAUSTED"): never the message, which may quote the request or the key. */
static void error_code(llm_call_t *c, char *out, size_t cap)
{
    snprintf(out, cap, "%s", "");
    json_t *v = c->errbody.len > 0 ? llm_call_json(c, c->errbody.data, c->errbody.len) : NULL;
    json_t *e = v != NULL && v->type == JSON_OBJECT ? json_get(v, "error") : NULL;
    const char *const keys[] = {"code", "status", "type"};
    for (size_t i = 0; e != NULL && e->type == JSON_OBJECT && i < 3 && out[0] == '\0'; i++) {
        json_t *w = json_get(e, keys[i]);
        if (w == NULL || w->type != JSON_STRING || w->len == 0 || w->len >= cap) /* Gemini's number says less */
            continue;
        size_t k = 0;
        while (k < w->len && (w->str[k] == '_' || w->str[k] == '-' || (w->str[k] >= '0' && w->str[k] <= '9') ||
                              ((w->str[k] | 0x20) >= 'a' && (w->str[k] | 0x20) <= 'z')))
            k++;
        if (k == w->len)
            snprintf(out, cap, "%s", w->str);
    }
    h2o_mem_clear_pool(&c->pool);
}

static int map_http_error(int e)
{
    switch (e) {
    case HTTPC_ERR_CONNECT:
        return LLM_ERR_CONNECT;
    case HTTPC_ERR_TIMEOUT:
        return LLM_ERR_TIMEOUT;
    case HTTPC_ERR_FIRST_BYTE:
        return LLM_ERR_FIRST_TOKEN;
    case HTTPC_ERR_TOO_LARGE:
        return LLM_ERR_TOO_LARGE;
    default:
        return LLM_ERR_PROTOCOL; /* reset or malformed mid-reply */
    }
}

static void on_http_done(void *arg, const httpc_result_t *r)
{
    llm_call_t *c = arg;
    c->req = NULL; /* freed when this returns */
    c->res.http_status = r->status;
    if (r->error != 0) {
        int e = map_http_error(r->error);
        finish(c, e, e == LLM_ERR_PROTOCOL ? "connection broken mid-reply" : r->error_text);
        return;
    }
    if (r->status < 200 || r->status > 299) {
        char code[64];
        error_code(c, code, sizeof(code));
        log_warn("LLM provider answered an error", LOG_S("provider", c->p->name), LOG_I("status", r->status),
                 LOG_S("code", code));
        finish(c, LLM_ERR_HTTP, "the provider answered an error status");
        return;
    }
    /* A last event without its blank line still counts; then, unless paused, the reply is done. */
    c->transfer_done = 1;
    if (buf_add(&c->in, "\n\n", 2) != 0) {
        finish(c, LLM_ERR_TOO_LARGE, "out of memory");
        return;
    }
    if (!c->paused)
        pump(c);
}

/* ---- deadlines ---- */

static void on_first_deadline(uv_timer_t *t)
{
    llm_call_t *c = t->data;
    if (!c->res.started)
        finish(c, LLM_ERR_FIRST_TOKEN, "no reply before the first-token deadline");
}

static void on_total_deadline(uv_timer_t *t)
{
    finish(t->data, LLM_ERR_TIMEOUT, "the reply took longer than its deadline");
}

/* ---- public ---- */

static llm_call_t *call_new(const llm_provider_t *p, uv_loop_t *loop, const llm_request_t *req,
                            const llm_callbacks_t *cb, void *arg)
{
    llm_call_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->p = p;
    c->ops = p->kind == LLM_KIND_OPENAI ? &llm_openai_ops : p->kind == LLM_KIND_GEMINI ? &llm_gemini_ops : NULL;
    c->loop = loop;
    c->cb = *cb;
    c->arg = arg;
    h2o_mem_init_pool(&c->pool);
    uv_timer_t *timers[] = {&c->t_first, &c->t_total, &c->t_kick};
    for (size_t i = 0; i < 3; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = c;
        c->open_handles++;
    }
    uv_update_time(loop);
    c->t0 = uv_now(loop);
    uv_timer_start(&c->t_first, on_first_deadline,
                   req->first_token_timeout_ms ? req->first_token_timeout_ms : DEFAULT_FIRST_TOKEN_MS, 0);
    uv_timer_start(&c->t_total, on_total_deadline, req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS, 0);
    return c;
}

static int start_http(llm_call_t *c, httpc_t *http, const llm_request_t *req)
{
    char url[URL_MAX], auth[1024];
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    json_out_t body = json_out_pool(&pool, 4096);
    int rc = -1;
    if (c->ops->chat_request(c->p, req, &pool, url, sizeof(url), &body) == 0) {
        llm_auth_header(c->p, auth, sizeof(auth));
        const char *headers[] = {"Content-Type: application/json", "Accept: text/event-stream",
                                 auth[0] != '\0' ? auth : NULL, NULL};
        uint64_t total = req->timeout_ms ? req->timeout_ms : DEFAULT_TIMEOUT_MS;
        httpc_opts_t o = {
            .method = "POST",
            .url = url,
            .headers = headers,
            .body = json_out_iov(&body).base,
            .body_len = json_out_len(&body),
            .connect_timeout_ms = req->connect_timeout_ms ? req->connect_timeout_ms : DEFAULT_CONNECT_MS,
            .timeout_ms = total + 1000, /* our own deadline answers first; this one is a backstop */
            .first_byte_timeout_ms = req->first_token_timeout_ms ? req->first_token_timeout_ms : DEFAULT_FIRST_TOKEN_MS,
            .on_data = on_data,
        };
        c->req = httpc_request(http, &o, on_http_done, c);
        rc = c->req != NULL ? 0 : -1;
        memset(auth, 0, sizeof(auth));
    }
    h2o_mem_clear_pool(&pool);
    return rc;
}

llm_call_t *llm_chat(const llm_provider_t *p, uv_loop_t *loop, httpc_t *http, const llm_request_t *req,
                     const llm_callbacks_t *cb, void *arg)
{
    if (p == NULL || loop == NULL || req == NULL || cb == NULL || cb->on_delta == NULL || cb->on_done == NULL ||
        (p->kind != LLM_KIND_STUB && http == NULL))
        return NULL;
    llm_call_t *c = call_new(p, loop, req, cb, arg);
    if (c == NULL)
        return NULL;
    int rc;
    if (c->ops == NULL) {
        unsigned in, out;
        c->stub_text = llm_stub_reply(req, &in, &out);
        rc = c->stub_text != NULL ? 0 : -1;
        if (rc == 0) {
            c->stub_len = strlen(c->stub_text);
            llm_call_usage(c, in, out);
            llm_call_finish_reason(c, "stop");
            c->ended = 1;
            uv_timer_start(&c->t_kick, on_kick, STUB_STEP_MS, 0);
        }
    } else {
        rc = start_http(c, http, req);
    }
    if (rc != 0) {
        c->cancelled = 1; /* on_done must not run */
        release(c);
        return NULL;
    }
    return c;
}

void llm_resume(llm_call_t *c)
{
    if (c == NULL || c->finished || c->cancelled)
        return;
    if (c->in_delta) { /* before its on_delta returned LLM_PAUSE: that pause is void */
        c->resumed_in_delta = 1;
        return;
    }
    if (!c->paused)
        return;
    c->paused = 0;
    uv_timer_start(&c->t_kick, on_kick, 0, 0); /* never re-enters the caller */
}

void llm_cancel(llm_call_t *c)
{
    if (c == NULL || c->finished || c->cancelled)
        return;
    c->cancelled = 1;
    release(c);
}
