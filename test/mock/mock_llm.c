/* mock_llm: a scripted stand-in for the LLM providers, for tests. A plain HTTP/1.1 server (libuv)
 * on 127.0.0.1 that answers in each provider's real wire format.
 *
 *   mock_llm [--port N] [--port-file PATH] [--nodelay 1]
 *                                            port 0 (default) picks a free one; the port is printed
 *                                            on stdout as the first line (and written to PATH)
 *   --nodelay 1  TCP_NODELAY on every connection, as real providers' front ends do (bench/ai_stream.sh).
 *                Without it, on a kept-alive connection each write after the response head waits
 *                (Nagle) for the client's delayed ACK, ~40 ms. Off by default: the tests were
 *                written against the slower mock, and some read records that the server writes
 *                after a stream ends (test_public_chat's run status) too early without that delay.
 *
 * Provider APIs (matched by the end of the path, so any base URL prefix works):
 *   POST .../chat/completions                OpenAI-compatible chat, streamed (SSE, [DONE])
 *   POST .../embeddings                      OpenAI embeddings
 *   POST .../models/{m}:streamGenerateContent  Gemini chat, streamed (SSE, CRLF)
 *   POST .../models/{m}:batchEmbedContents   Gemini embeddings
 * Control:
 *   POST /_mock/script    a JSON array of steps (or one step), queued FIFO; each provider request
 *                         takes the next one; with none queued it gets "Hello from the mock."
 *   GET  /_mock/requests  every provider request so far: [{method, path, headers: {lowercased
 *                         name: value}, body: parsed JSON (or a string when not JSON)}]
 *   POST /_mock/reset     forgets the queued steps and the recorded requests
 *
 * A step (every member optional):
 *   text             the reply, streamed a word per delta (default "Hello from the mock.", or ""
 *                    when tool_calls is given)
 *   deltas           ["He", "llo"]: the exact deltas instead of text
 *   tool_calls       [{"id": "call_1", "name": "list_services", "arguments": "{}"}] (Gemini: args
 *                    parsed from arguments, one event with every call)
 *   split_args       true: each call's name first, then its arguments in three fragments
 *   usage            {"prompt_tokens": 5, "completion_tokens": 7} (default 11 and the delta count)
 *   finish_reason    default "stop", or "tool_calls" with tool_calls (OpenAI only)
 *   status           non-2xx: answer error_body (default an error JSON in the API's shape)
 *   error_body       the error answer's body, verbatim
 *   raw              the stream body verbatim instead of generated events (malformed streams)
 *   pings            this many ": ping" comments before the first event
 *   crlf             true: CRLF line ends (the default for Gemini), false: LF
 *   no_done          true: no "data: [DONE]" (OpenAI)
 *   chunk_bytes      0: one write per event; N: writes of N bytes (each its own HTTP chunk, so the
 *                    client reads lines split at every offset)
 *   delay_ms         wait before the response head
 *   stall_ms         wait after the head, before the first body byte
 *   trickle_ms       wait between writes
 *   stall_after_bytes, stall_after_ms   wait stall_after_ms (default 60000) once that many body
 *                    bytes were sent
 *   close_mid_stream true: drop the connection halfway through the body
 *   dim              embeddings: the dimension (default 8); vector i is [i, 0.01, 0.02, ...]
 */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "test/mock/mock_wire.h"

#define MAX_HEAD (64u << 10)
#define MAX_BODY (16u << 20)

typedef struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    int closing, handles;
    buf_t in;
    int busy; /* answering a provider request: later requests wait in `in` */
    int sent_continue;
    mock_resp_t resp;
    size_t off; /* body bytes sent */
    int stage; /* 0 head due, 1 body, 2 stalled once */
} conn_t;

typedef struct write_req {
    uv_write_t w;
    char data[];
} write_req_t;

static uv_loop_t *loop;
static int nodelay; /* --nodelay 1 */
static buf_t *steps; /* queued step texts */
static size_t nsteps, steps_head, steps_cap;
static buf_t recorded; /* the requests' JSON objects, comma-separated */

/* ---- connection plumbing ---- */

static void on_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    if (--c->handles > 0)
        return;
    buf_free(&c->in);
    mock_resp_free(&c->resp);
    free(c);
}

static void conn_close(conn_t *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    uv_close((uv_handle_t *)&c->timer, on_closed);
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static void on_written(uv_write_t *w, int status)
{
    free(w);
}

static void send_bytes(conn_t *c, const char *p, size_t n)
{
    if (c->closing || n == 0)
        return;
    write_req_t *w = malloc(sizeof(*w) + n);
    memcpy(w->data, p, n);
    uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
    if (uv_write(&w->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
        free(w);
        conn_close(c);
    }
}

static void send_simple(conn_t *c, int status, const char *type, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d Mock\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", status,
                     type, len);
    send_bytes(c, head, (size_t)n);
    send_bytes(c, body, len);
}

/* ---- scripted responses, paced by the connection's timer ---- */

static void process(conn_t *c);

static void respond_step(uv_timer_t *t);

static void later(conn_t *c, unsigned ms)
{
    uv_timer_start(&c->timer, respond_step, ms, 0);
}

static void send_piece(conn_t *c, size_t n)
{
    mock_resp_t *r = &c->resp;
    if (r->stream) {
        char size[32];
        int k = snprintf(size, sizeof(size), "%zx\r\n", n);
        buf_t b = {0};
        buf_add(&b, size, (size_t)k);
        buf_add(&b, r->body.data + c->off, n);
        buf_add(&b, "\r\n", 2);
        send_bytes(c, b.data, b.len);
        buf_free(&b);
    } else {
        send_bytes(c, r->body.data + c->off, n);
    }
    c->off += n;
}

/* The next piece of the body: up to the next event end (or chunk_bytes), never past a point where
 * the step asks for a stall or a drop. */
static size_t piece_len(const conn_t *c)
{
    const mock_resp_t *r = &c->resp;
    size_t end = r->body.len;
    if (r->chunk_bytes > 0) {
        end = c->off + r->chunk_bytes;
    } else if (r->stream) {
        for (size_t i = 0; i < r->ncuts; i++)
            if (r->cuts[i] > c->off) {
                end = r->cuts[i];
                break;
            }
    }
    if (r->stall_after_bytes >= 0 && c->stage < 2 && (size_t)r->stall_after_bytes > c->off &&
        (size_t)r->stall_after_bytes < end)
        end = (size_t)r->stall_after_bytes;
    if (r->close_at >= 0 && (size_t)r->close_at > c->off && (size_t)r->close_at < end)
        end = (size_t)r->close_at;
    return (end < r->body.len ? end : r->body.len) - c->off;
}

static void respond_step(uv_timer_t *t)
{
    conn_t *c = t->data;
    mock_resp_t *r = &c->resp;
    if (c->stage == 0) {
        char head[256];
        int n = r->stream ? snprintf(head, sizeof(head),
                                     "HTTP/1.1 %d Mock\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
                                     r->status, r->content_type)
                          : snprintf(head, sizeof(head),
                                     "HTTP/1.1 %d Mock\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n", r->status,
                                     r->content_type, r->body.len);
        send_bytes(c, head, (size_t)n);
        c->stage = 1;
        if (r->stall_ms > 0) {
            later(c, r->stall_ms);
            return;
        }
    }
    while (!c->closing) {
        if (r->close_at >= 0 && c->off >= (size_t)r->close_at) {
            conn_close(c);
            return;
        }
        if (r->stall_after_bytes >= 0 && c->stage == 1 && c->off >= (size_t)r->stall_after_bytes) {
            c->stage = 2;
            {
                later(c, r->stall_after_ms);
                return;
            }
        }
        if (c->off >= r->body.len) {
            if (r->stream)
                send_bytes(c, "0\r\n\r\n", 5);
            mock_resp_free(r);
            c->busy = 0;
            process(c); /* a request that arrived meanwhile */
            return;
        }
        send_piece(c, piece_len(c));
        if (r->trickle_ms > 0) {
            later(c, r->trickle_ms);
            return;
        }
    }
}

/* ---- the control API and the recording ---- */

static void queue_step(const json_t *step)
{
    if (nsteps == steps_cap) {
        steps_cap = steps_cap ? steps_cap * 2 : 16;
        steps = realloc(steps, sizeof(*steps) * steps_cap);
    }
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    json_out_t o = json_out_pool(&pool, 256);
    json_out_value(&o, step);
    steps[nsteps] = (buf_t){0};
    buf_add(&steps[nsteps++], json_out_iov(&o).base, json_out_len(&o));
    h2o_mem_clear_pool(&pool);
}

static void reset(void)
{
    for (size_t i = 0; i < nsteps; i++)
        buf_free(&steps[i]);
    nsteps = steps_head = 0;
    recorded.len = 0;
}

static void record(const char *method, const char *path, const char *head, size_t head_len, const json_t *body,
                   const char *raw, size_t raw_len, h2o_mem_pool_t *pool)
{
    json_out_t o = json_out_pool(pool, 1024);
    json_out_obj_begin(&o);
    json_out_key(&o, "method");
    json_out_str(&o, method);
    json_out_key(&o, "path");
    json_out_str(&o, path);
    json_out_key(&o, "headers");
    json_out_obj_begin(&o);
    for (const char *l = strstr(head, "\r\n"); l != NULL && l + 2 < head + head_len;) {
        l += 2;
        const char *eol = strstr(l, "\r\n"), *colon = memchr(l, ':', eol != NULL ? (size_t)(eol - l) : 0);
        if (eol == NULL || eol == l)
            break;
        if (colon != NULL) {
            char name[128];
            size_t n = (size_t)(colon - l) < sizeof(name) - 1 ? (size_t)(colon - l) : sizeof(name) - 1;
            for (size_t i = 0; i < n; i++)
                name[i] = (char)(l[i] >= 'A' && l[i] <= 'Z' ? l[i] + 32 : l[i]);
            const char *v = colon + 1;
            while (v < eol && *v == ' ')
                v++;
            json_out_keyn(&o, name, n);
            json_out_strn(&o, v, (size_t)(eol - v));
        }
        l = eol;
    }
    json_out_obj_end(&o);
    json_out_key(&o, "body");
    if (body != NULL)
        json_out_value(&o, body);
    else
        json_out_strn(&o, raw, raw_len);
    json_out_obj_end(&o);
    if (recorded.len > 0)
        buf_add(&recorded, ",", 1);
    buf_add(&recorded, json_out_iov(&o).base, json_out_len(&o));
}

static void control(conn_t *c, const char *method, const char *path, const json_t *body)
{
    if (strcmp(path, "/_mock/reset") == 0 && strcmp(method, "POST") == 0) {
        reset();
        send_simple(c, 200, "application/json", "{}", 2);
    } else if (strcmp(path, "/_mock/script") == 0 && strcmp(method, "POST") == 0 && body != NULL &&
               (body->type == JSON_ARRAY || body->type == JSON_OBJECT)) {
        size_t n = body->type == JSON_ARRAY ? body->len : 1;
        for (size_t i = 0; i < n; i++)
            queue_step(body->type == JSON_ARRAY ? body->items[i] : body);
        char b[64];
        send_simple(c, 200, "application/json", b,
                    (size_t)snprintf(b, sizeof(b), "{\"queued\":%zu}", nsteps - steps_head));
    } else if (strcmp(path, "/_mock/requests") == 0 && strcmp(method, "GET") == 0) {
        buf_t b = {0};
        buf_add(&b, "[", 1);
        buf_add(&b, recorded.data, recorded.len);
        buf_add(&b, "]", 1);
        send_simple(c, 200, "application/json", b.data, b.len);
        buf_free(&b);
    } else {
        send_simple(c, 400, "text/plain", "bad control request\n", 20);
    }
}

/* ---- requests ---- */

static size_t content_length(const char *head, int *expect_continue)
{
    size_t cl = 0;
    *expect_continue = 0;
    for (const char *h = strstr(head, "\r\n"); h != NULL && h[2] != '\r' && h[2] != '\0'; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            cl = strtoul(h + 17, NULL, 10);
        const char *eol = strstr(h + 2, "\r\n");
        if (strncasecmp(h + 2, "Expect:", 7) == 0 && eol != NULL &&
            memmem(h + 9, (size_t)(eol - h - 9), "100-continue", 12))
            *expect_continue = 1;
    }
    return cl;
}

static void handle(conn_t *c, const char *head, size_t head_len, const char *body, size_t body_len)
{
    char method[16], path[2048], err[64];
    if (sscanf(head, "%15s %2047s", method, path) != 2) {
        send_simple(c, 400, "text/plain", "bad request\n", 12);
        {
            conn_close(c);
            return;
        }
    }
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    const json_t *json = body_len > 0 ? json_parse(&pool, body, body_len, err, sizeof(err)) : NULL;
    if (strncmp(path, "/_mock/", 7) == 0) {
        control(c, method, path, json);
    } else {
        const json_t *step = NULL;
        if (steps_head < nsteps) {
            buf_t *s = &steps[steps_head++];
            step = json_parse(&pool, s->data, s->len, err, sizeof(err));
        }
        record(method, path, head, head_len, json, body, body_len, &pool);
        if (strcmp(method, "POST") != 0 || mock_wire_build(&c->resp, path, json, step) != 0) {
            send_simple(c, 404, "text/plain", "no such API\n", 12);
        } else {
            c->busy = 1;
            c->off = 0;
            c->stage = 0;
            later(c, c->resp.delay_ms);
        }
    }
    h2o_mem_clear_pool(&pool);
}

/* Answers every complete request in the buffer, one provider reply at a time. */
static void process(conn_t *c)
{
    while (!c->busy && !c->closing) {
        char *end = c->in.len > 0 ? memmem(c->in.data, c->in.len, "\r\n\r\n", 4) : NULL;
        if (end == NULL) {
            if (c->in.len > MAX_HEAD)
                conn_close(c);
            return;
        }
        size_t head_len = (size_t)(end - c->in.data) + 4;
        char saved = c->in.data[head_len];
        c->in.data[head_len] = '\0';
        int expect;
        size_t cl = content_length(c->in.data, &expect);
        c->in.data[head_len] = saved;
        if (cl > MAX_BODY) {
            send_simple(c, 413, "text/plain", "too large\n", 10);
            {
                conn_close(c);
                return;
            }
        }
        if (c->in.len < head_len + cl) {
            if (expect && !c->sent_continue) { /* curl waits for this before sending a big body */
                c->sent_continue = 1;
                send_bytes(c, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            }
            return;
        }
        char *head = strndup(c->in.data, head_len);
        handle(c, head, head_len, c->in.data + head_len, cl);
        free(head);
        c->sent_continue = 0;
        memmove(c->in.data, c->in.data + head_len + cl, c->in.len - head_len - cl);
        c->in.len -= head_len + cl;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536];
    *buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n > 0 && buf_add(&c->in, buf->base, (size_t)n) != 0) {
        conn_close(c);
        return;
    }
    process(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    if (status != 0)
        return;
    conn_t *c = calloc(1, sizeof(*c));
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
        conn_close(c);
        return;
    }
    if (nodelay)
        uv_tcp_nodelay(&c->tcp, 1);
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *port_file = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--port-file") == 0)
            port_file = argv[i + 1];
        else if (strcmp(argv[i], "--nodelay") == 0)
            nodelay = atoi(argv[i + 1]) != 0;
    }
    signal(SIGPIPE, SIG_IGN);
    loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    struct sockaddr_storage bound;
    int len = sizeof(bound);
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_init(loop, &server);
    if (uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
        uv_listen((uv_stream_t *)&server, 128, on_connection) != 0 ||
        uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len) != 0) {
        fprintf(stderr, "mock_llm: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
    printf("%d\n", port);
    fflush(stdout);
    if (port_file != NULL) {
        FILE *f = fopen(port_file, "w");
        if (f == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0) {
            fprintf(stderr, "mock_llm: cannot write %s\n", port_file);
            return 1;
        }
    }
    return uv_run(loop, UV_RUN_DEFAULT);
}
