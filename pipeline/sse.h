/* Server-sent events on a request: `event: <type>` + one `data:` line of JSON per event, sent as
 * H2O allows (one write in flight, the rest buffered), keep-alive comments during long pauses,
 * and a bounded buffer whose fill level tells the producer to pause. */
#ifndef pipeline_sse_h
#define pipeline_sse_h

#include <stddef.h>

#define H2O_USE_LIBUV 1
#include <h2o.h>

typedef struct req req_t;
typedef struct sse sse_t;

#define SSE_HIGH_WATER (64u * 1024) /* buffered bytes above which sse_backlogged says pause */
#define SSE_MAX_BUFFER (4u << 20)   /* beyond this the client is dropped: it is not reading */

typedef struct sse_callbacks {
    /* The buffer drained below SSE_HIGH_WATER after sse_backlogged said yes: produce again. */
    void (*on_writable)(void *arg);
    /* The client went away (or was dropped); the sse_t is gone: do not touch it again. */
    void (*on_gone)(void *arg);
} sse_callbacks_t;

/* Answers 200 text/event-stream and keeps the request open. Ends the request's app.timeout (a
 * stream lasts as long as its producer); the access log line is written now. */
sse_t *sse_start(req_t *r, const sse_callbacks_t *cb, void *arg);

/* Queues one event; json is one line of JSON. Returns -1 when the client has been dropped (its
 * buffer is over SSE_MAX_BUFFER): on_gone has then been called. */
int sse_event(sse_t *s, const char *type, const char *json, size_t len);

/* 1 when more than SSE_HIGH_WATER bytes wait: the producer should pause until on_writable. */
int sse_backlogged(const sse_t *s);

/* Flushes what is queued and ends the response; on_gone is not called afterwards. */
void sse_end(sse_t *s);

/* Defines sse.keepalive (the comment line an idle stream gets, default 15s). */
void sse_define_directives(h2o_globalconf_t *g);

#endif
