/* A run projected onto an SSE response: the public stream's events (message_start, delta,
 * tool_call, tool_result, message_end, error), backpressure from the client to the provider, and
 * a client that leaves without stopping the run. Shared by public chat and coaching. */
#ifndef pipeline_run_run_sse_h
#define pipeline_run_run_sse_h

#include "pipeline/run/run.h"

typedef struct req req_t;
typedef struct run_sse run_sse_t;

/* Answers the request with an open event stream. The handle outlives the request: it is freed by
 * run_sse_close. */
run_sse_t *run_sse_open(req_t *r);

/* The sink to give run_start, then the run it feeds (closed by run_sse_close). */
run_sink_t run_sse_sink(run_sse_t *s);
void run_sse_attach(run_sse_t *s, run_t *run);

/* message_start {message_id}. */
void run_sse_start(run_sse_t *s, const char *message_id);
/* message_end {message_id, content, usage}, preceded by one delta with the whole text when
 * `whole` (a stored reply replayed). */
void run_sse_reply(run_sse_t *s, const char *message_id, const char *content, unsigned tokens_in,
                   unsigned tokens_out, int whole);
/* error {code, detail}. */
void run_sse_error(run_sse_t *s, const char *code, const char *detail);

/* Ends the stream (if the client is still there), closes the run (if any) and frees s. */
void run_sse_close(run_sse_t *s);

#endif
