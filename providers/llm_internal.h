/* Private to providers/llm_*.c: a provider's settings, the per-kind wire functions, the SSE line
 * splitter, and what a wire parser may do to the call it feeds. */
#ifndef providers_llm_internal_h
#define providers_llm_internal_h

#include <stddef.h>

#include "base/buf.h"
#include "base/json.h"
#include "providers/llm.h"

#define LLM_SSE_MAX_LINE (1u << 20) /* one SSE line, and one event's data */
#define LLM_ERROR_BODY_MAX (16u << 10) /* of a non-2xx body we look at: enough for the error code */

typedef enum llm_kind { LLM_KIND_OPENAI, LLM_KIND_GEMINI, LLM_KIND_STUB } llm_kind_t;

struct llm_provider {
    llm_kind_t kind;
    char *name;
    char *model;
    char *base_url; /* no trailing slash */
    char *key; /* NULL: send no credentials (a local OpenAI-compatible server) */
    char temperature[16]; /* validated 0..2, kept as text so the body says what was configured */
};


/* ---- SSE: bytes in any split → one event's data at a time ---- */

typedef struct llm_sse {
    buf_t line, data;
    unsigned has_data : 1, after_cr : 1, dispatched : 1, overflow : 1;
} llm_sse_t;

/* Consumes bytes up to the end of one event, or all of them. Returns how many it took; *ready = 1
 * when an event ended: its data (the data lines joined by "\n") is in s->data, NUL-terminated,
 * until the next call. s->overflow is set (and nothing more consumed) when a line or an event's
 * data passes LLM_SSE_MAX_LINE. */
size_t llm_sse_feed(llm_sse_t *s, const char *p, size_t n, int *ready);
void llm_sse_free(llm_sse_t *s);

/* ---- what a wire parser tells the call ---- */

int llm_call_text(llm_call_t *c, const char *s, size_t n); /* a delta: 0 or an LLM_ERR_* */
/* A fragment of the tool call at index: each part is appended (NULL/0 = none). 0 or LLM_ERR_*. */
int llm_call_tool(llm_call_t *c, size_t index, const char *id, size_t id_len, const char *name, size_t name_len,
                  const char *args, size_t args_len);
size_t llm_call_ntools(const llm_call_t *c);
void llm_call_usage(llm_call_t *c, unsigned in, unsigned out);
void llm_call_finish_reason(llm_call_t *c, const char *reason); /* a static string */
void llm_call_end(llm_call_t *c); /* the stream said it is complete */
json_t *llm_call_json(llm_call_t *c, const char *s, size_t n); /* parsed in the event's pool, or NULL */
int llm_call_error(llm_call_t *c, int error, const char *text); /* records text, returns error */

/* ---- the per-kind wire functions ---- */

typedef struct llm_ops {
    /* The chat request: URL into url (NUL-terminated), body into out. 0, or -1 when the request
     * cannot be expressed (invalid tool schema, URL too long). */
    int (*chat_request)(const llm_provider_t *p, const llm_request_t *req, h2o_mem_pool_t *pool, char *url,
                        size_t url_cap, json_out_t *out);
    /* One SSE event's data: 0 or an LLM_ERR_* (after llm_call_error for the text). */
    int (*chat_event)(llm_call_t *c, const char *data, size_t len);
    int (*embed_request)(const llm_provider_t *p, const char *const *texts, size_t n, char *url, size_t url_cap,
                         json_out_t *out);
    /* The embeddings answer → n vectors of one dimension, allocated in pool. 0 or -1. */
    int (*embed_parse)(const json_t *body, size_t n, h2o_mem_pool_t *pool, float ***vectors, size_t *dim);
    const char *auth_prefix; /* the credential header up to the key */
} llm_ops_t;

extern const llm_ops_t llm_openai_ops, llm_gemini_ops;

/* The provider's credential header line into buf, or "" when it has no key. */
void llm_auth_header(const llm_provider_t *p, char *buf, size_t cap);

/* Each tool's parameters parsed (in pool); NULL when one is not a JSON object. */
const json_t **llm_tool_schemas(const llm_request_t *req, h2o_mem_pool_t *pool);

/* The stub: the reply to req (malloc'd, NUL-terminated), and its usage. */
char *llm_stub_reply(const llm_request_t *req, unsigned *tokens_in, unsigned *tokens_out);
/* The length of the next delta of a stub reply starting at s. */
size_t llm_stub_piece(const char *s, size_t n);
void llm_stub_embed(const char *text, float *v, size_t dim);
#define LLM_STUB_DIM 64

/* ---- small shared helpers ---- */

const char *llm_finish_reason_static(const char *s, size_t n); /* the provider's word → ours */
int llm_json_uint(const json_t *v, unsigned *out); /* 0 when v is a number >= 0 */
/* Writes a tool's JSON Schema (already validated) dropping the keys in `drop` (NULL-terminated). */
void llm_json_out_filtered(json_out_t *o, const json_t *v, const char *const *drop);
/* The embedding vector in a JSON array of numbers: 0, or -1 when it is not one of dim (dim 0: any). */
int llm_json_floats(const json_t *arr, h2o_mem_pool_t *pool, float **out, size_t *dim);

#endif
