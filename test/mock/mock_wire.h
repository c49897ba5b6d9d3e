/* The mock provider's answers: one scripted step (see mock_llm.c for the format) → the bytes an
 * OpenAI-compatible or Gemini server would send, and how to pace them. */
#ifndef test_mock_wire_h
#define test_mock_wire_h

#include <stddef.h>

#include "base/json.h"
#include "providers/llm_internal.h"

typedef struct mock_resp {
    int status;
    const char *content_type;
    int stream; /* sent with Transfer-Encoding: chunked, a chunk per write */
    buf_t body;
    size_t cuts[512]; /* where each SSE event ends: the write boundaries when chunk_bytes is 0 */
    size_t ncuts;
    size_t chunk_bytes;
    unsigned delay_ms, stall_ms, trickle_ms, stall_after_ms;
    long stall_after_bytes; /* -1: none */
    long close_at; /* -1: none; else drop the connection after this many body bytes */
} mock_resp_t;

/* The answer to a provider request at path with the parsed request body (may be NULL), following
 * step (NULL: the default short reply). 0, or -1 when the path is not a provider API. */
int mock_wire_build(mock_resp_t *r, const char *path, const json_t *req, const json_t *step);
void mock_resp_free(mock_resp_t *r);

#endif
