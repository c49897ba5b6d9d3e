/* An asynchronous HTTP client on one thread's uv loop (libcurl multi): small buffered requests such
 * as a JWKS fetch, and streamed responses (LLM SSE) relayed chunk by chunk with backpressure. */
#ifndef base_httpc_h
#define base_httpc_h

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct httpc httpc_t;
typedef struct httpc_req httpc_req_t;

/* Errors in httpc_result_t.error (0 = a response arrived; its status may still be 4xx/5xx). */
enum {
    HTTPC_ERR_CONNECT = -1, /* resolve, connect, TLS handshake, or connect timeout */
    HTTPC_ERR_TIMEOUT = -2, /* the whole request took longer than timeout_ms */
    HTTPC_ERR_FIRST_BYTE = -3, /* no response body byte within first_byte_timeout_ms */
    HTTPC_ERR_TOO_LARGE = -4, /* buffered body over max_response */
    HTTPC_ERR_ABORTED = -5, /* on_data returned HTTPC_ABORT */
    HTTPC_ERR_TRANSPORT = -6, /* anything else: reset, malformed response, ... */
};

/* What on_data returns. */
enum {
    HTTPC_CONTINUE = 0,
    HTTPC_PAUSE = 1, /* this chunk was consumed; deliver no more until httpc_resume */
    HTTPC_ABORT = 2, /* stop: on_done reports HTTPC_ERR_ABORTED */
};

/* Hard bounds on what a caller may ask for; a request over them is refused (NULL). */
#define HTTPC_MAX_HEADERS 64
#define HTTPC_MAX_HEADER_LEN 8192
#define HTTPC_MAX_BODY (64u << 20)
#define HTTPC_MAX_RESPONSE (64u << 20) /* max_response is clamped to this */
#define HTTPC_MAX_IDLE_CONNECTIONS 32   /* per client (thread), kept open for reuse */

typedef struct httpc_opts {
    const char *method; /* NULL = "GET"; any uppercase token ("POST", "PUT", ...), at most 15 chars */
    const char *url; /* http:// or https:// only; redirects are never followed */
    const char *const *headers; /* NULL-terminated "Name: value" lines, no CR/LF; copied */
    const char *body; /* request body, copied; sent only when body_len > 0 or method is POST */
    size_t body_len;
    uint64_t connect_timeout_ms; /* 0 = 5000 */
    uint64_t timeout_ms; /* whole request including a streamed body; 0 = 30000 */
    uint64_t first_byte_timeout_ms; /* 0 = none; else fail unless a body byte arrives in time */
    size_t max_response; /* buffered mode only; 0 = 1 MiB; larger bodies fail HTTPC_ERR_TOO_LARGE */
    /* Streaming mode when set: called with each chunk of the body, in order, from inside the event
     * loop. It may call any httpc function (the effect on the transfers is deferred until libcurl
     * returns), including httpc_cancel on its own request; it returns HTTPC_CONTINUE, HTTPC_PAUSE
     * or HTTPC_ABORT. */
    int (*on_data)(void *arg, const char *data, size_t len);
} httpc_opts_t;

typedef struct httpc_result {
    int error; /* 0 or an HTTPC_ERR_* */
    const char *error_text; /* short and static: never holds the URL, its query, or any header */
    long status; /* HTTP status when a response line arrived (also on most errors), else 0 */
    const char *body; /* buffered mode: the body, NUL-terminated, valid during on_done; else NULL */
    size_t body_len;
} httpc_result_t;

typedef void (*httpc_done_cb)(void *arg, const httpc_result_t *r);

/* One client per loop thread: one curl multi handle, so connections (and HTTP/2 streams) are
 * reused across requests. curl_global_init must have run before. NULL on allocation failure. */
httpc_t *httpc_new(uv_loop_t *loop);

/* Cancels every request (no on_done), closes every uv handle, frees the client, then calls
 * done(arg) (done may be NULL) from the loop. Safe from inside on_data and on_done. */
void httpc_close(httpc_t *c, void (*done)(void *arg), void *arg);

/* Starts a request. on_done runs exactly once, always later from the loop (never before this
 * returns), unless the request is cancelled or the client closed first. The request is freed when
 * on_done returns. NULL when the options are invalid or over the bounds above, or the client is
 * closing: on_done will not run. */
httpc_req_t *httpc_request(httpc_t *c, const httpc_opts_t *o, httpc_done_cb on_done, void *arg);

/* After on_data returned HTTPC_PAUSE: delivers the next chunks (maybe before this returns).
 * A paused request still times out, and may end (on_done) while paused. */
void httpc_resume(httpc_req_t *r);

/* on_done will not run and on_data will not be called again; the connection is dropped. Safe at
 * any time before on_done ran, including from inside this request's own on_data. */
void httpc_cancel(httpc_req_t *r);

/* The response status once it is known (e.g. in on_data, to tell an error body from a stream). */
long httpc_status(const httpc_req_t *r);

#endif
