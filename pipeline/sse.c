/* H2O lets a generator have one h2o_send in flight: events are appended to `pending` and handed
 * over from the proceed callback, swapping buffers, so a send's memory stays untouched until H2O
 * is done with it. The sse_t lives in the request's pool; its dispose hook is where a vanished
 * client is noticed. */
#include "pipeline/sse.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "pipeline/config.h"
#include "pipeline/metrics.h"
#include "pipeline/req.h"
#include "pipeline/server.h"

/* The sse.* directives' values (one configuration per process). */
typedef struct sse_settings {
    uint64_t keepalive_ms;
} sse_settings_t;
static sse_settings_t settings;

struct sse {
    h2o_generator_t gen; /* first: H2O hands the generator back to proceed and stop */
    req_t *r;
    sse_callbacks_t cb;
    void *arg;
    buf_t pending, inflight; /* appended to, and being written */
    unsigned sending : 1, ending : 1, done : 1, gone : 1, backlogged : 1;
    h2o_timeout_t *keepalive_list;
    h2o_timeout_entry_t keepalive;
    metrics_thread_t *metrics; /* counts the stream open until the request is disposed */
};

void sse_define_directives(h2o_globalconf_t *g)
{
    static const config_number_t numbers[] = {
        {"sse.keepalive", offsetof(sse_settings_t, keepalive_ms), 1, 15000, 10, 3600000},
    };
    config_define_numbers(g, numbers, sizeof(numbers) / sizeof(numbers[0]), &settings, NULL);
}

static void flush(sse_t *s)
{
    if (s->sending || s->done || s->gone || (s->pending.len == 0 && !s->ending))
        return;
    buf_t sent = s->pending;
    s->pending = s->inflight;
    s->pending.len = 0;
    s->inflight = sent;
    h2o_iovec_t iov = h2o_iovec_init(sent.data, sent.len);
    s->sending = 1;
    if (s->ending)
        s->done = 1;
    h2o_send(s->r->h2o, &iov, sent.len ? 1 : 0, s->ending ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void arm_keepalive(sse_t *s)
{
    if (s->keepalive_list == NULL)
        return;
    if (h2o_timeout_is_linked(&s->keepalive))
        h2o_timeout_unlink(&s->keepalive);
    if (!s->done && !s->gone)
        h2o_timeout_link(s->r->thread->ctx.loop, s->keepalive_list, &s->keepalive);
}

static void on_proceed(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)req;
    sse_t *s = (sse_t *)gen;
    s->sending = 0;
    flush(s);
    if (s->backlogged && !sse_backlogged(s) && !s->gone) {
        s->backlogged = 0;
        if (s->cb.on_writable != NULL)
            s->cb.on_writable(s->arg);
    }
}

static void on_stop(h2o_generator_t *gen, h2o_req_t *req)
{
    (void)gen;
    (void)req; /* the dispose hook follows and does the work */
}

static void on_dispose(void *p)
{
    sse_t *s = *(sse_t **)p;
    metrics_sse(s->metrics, -1);
    if (h2o_timeout_is_linked(&s->keepalive))
        h2o_timeout_unlink(&s->keepalive);
    buf_free(&s->pending);
    buf_free(&s->inflight);
    if (!s->done && !s->gone) {
        s->gone = 1;
        if (s->cb.on_gone != NULL)
            s->cb.on_gone(s->arg);
    }
}

static int append(sse_t *s, const char *data, size_t len)
{
    return buf_add_max(&s->pending, data, len, SSE_MAX_BUFFER);
}

static void on_keepalive(h2o_timeout_entry_t *entry)
{
    sse_t *s = H2O_STRUCT_FROM_MEMBER(sse_t, keepalive, entry);
    /* a comment line: EventSource ignores it, but proxies and the client's TCP see traffic, and
     * over HTTP/1.1 the write is what reveals a client that went away */
    if (s->pending.len == 0 && append(s, ": keep-alive\n\n", 14) == 0)
        flush(s);
    arm_keepalive(s);
}

sse_t *sse_start(req_t *r, const sse_callbacks_t *cb, void *arg)
{
    h2o_req_t *req = r->h2o;
    sse_t *s = h2o_mem_alloc_pool(&req->pool, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->gen = (h2o_generator_t){on_proceed, on_stop};
    s->r = r;
    s->cb = *cb;
    s->arg = arg;
    s->keepalive.cb = on_keepalive;
    s->keepalive_list = server_timeout_for(r->thread, settings.keepalive_ms);
    s->metrics = r->thread->metrics;
    metrics_sse(s->metrics, 1);
    sse_t **hook = h2o_mem_alloc_shared(&req->pool, sizeof(*hook), on_dispose);
    *hook = s;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-accel-buffering"), 0, NULL, H2O_STRLIT("no"));
    req_start_stream(r, 200, "text/event-stream; charset=utf-8", &s->gen);
    /* the headers go out at once, so the client knows the stream is open before the first event */
    s->sending = 1;
    h2o_send(req, NULL, 0, H2O_SEND_STATE_IN_PROGRESS);
    arm_keepalive(s);
    return s;
}

int sse_event(sse_t *s, const char *type, const char *json, size_t len)
{
    if (s->gone || s->ending)
        return -1;
    size_t tlen = strlen(type);
    if (append(s, "event: ", 7) != 0 || append(s, type, tlen) != 0 || append(s, "\ndata: ", 7) != 0 ||
        append(s, json, len) != 0 || append(s, "\n\n", 2) != 0) {
        /* the client reads too slowly to ever catch up: drop it rather than buffer without bound */
        s->gone = 1;
        if (s->cb.on_gone != NULL)
            s->cb.on_gone(s->arg);
        h2o_req_t *req = s->r->h2o;
        req->http1_is_persistent = 0;
        s->done = 1;
        if (!s->sending)
            h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return -1;
    }
    if (sse_backlogged(s))
        s->backlogged = 1;
    flush(s);
    arm_keepalive(s);
    return 0;
}

int sse_backlogged(const sse_t *s)
{
    return s->pending.len > SSE_HIGH_WATER;
}

void sse_end(sse_t *s)
{
    if (s->gone || s->ending)
        return;
    s->ending = 1;
    s->cb = (sse_callbacks_t){0}; /* the owner is done with it; a late disconnect tells nobody */
    if (h2o_timeout_is_linked(&s->keepalive))
        h2o_timeout_unlink(&s->keepalive);
    flush(s);
}
