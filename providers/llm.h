/* Chat and embedding providers behind one interface: an OpenAI-compatible client (Groq, OpenAI,
 * OpenRouter, llama.cpp, Ollama, ...), Google Gemini, and an offline stub. Calls are asynchronous
 * on the calling thread's loop through its httpc client; replies stream as text deltas, tool calls
 * arrive whole (their argument fragments assembled) when the reply ends. */
#ifndef providers_llm_h
#define providers_llm_h

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/httpc.h"

/* Bounds on what one reply may hold; a reply over them fails with LLM_ERR_TOO_LARGE. */
#define LLM_MAX_REPLY (100u * 1024)    /* reply text, bytes */
#define LLM_MAX_TOOL_CALLS 16          /* per reply */
#define LLM_MAX_TOOL_ARGS (64u * 1024) /* one call's arguments, bytes */

typedef enum llm_role { LLM_SYSTEM, LLM_USER, LLM_ASSISTANT, LLM_TOOL } llm_role_t;

typedef struct llm_tool_call {
    const char *id;        /* the provider's, or made up for providers without ids (Gemini) */
    const char *name;
    const char *arguments; /* a JSON object's text */
} llm_tool_call_t;

typedef struct llm_message {
    llm_role_t role;
    const char *content; /* NULL allowed for an assistant turn that only called tools */
    const llm_tool_call_t *tool_calls; /* LLM_ASSISTANT: the calls it made */
    size_t ntool_calls;
    const char *tool_call_id; /* LLM_TOOL: the call this answers */
    const char *name;         /* LLM_TOOL: the tool's name */
} llm_message_t;

typedef struct llm_tool_def {
    const char *name;
    const char *description;
    const char *parameters; /* a JSON Schema object's text */
} llm_tool_def_t;

typedef struct llm_request {
    const llm_message_t *messages;
    size_t nmessages;
    const llm_tool_def_t *tools;
    size_t ntools;
    uint64_t connect_timeout_ms;     /* 0 = 5000 */
    uint64_t first_token_timeout_ms; /* no delta or tool call in time: LLM_ERR_FIRST_TOKEN; 0 = 15000 */
    uint64_t timeout_ms;             /* the whole call; 0 = 60000 */
} llm_request_t;

enum { /* llm_result_t.error */
    LLM_OK = 0,
    LLM_ERR_CONNECT,     /* could not reach the provider */
    LLM_ERR_HTTP,        /* a non-2xx answer (http_status says which) */
    LLM_ERR_FIRST_TOKEN, /* nothing before first_token_timeout_ms */
    LLM_ERR_TIMEOUT,     /* timeout_ms passed */
    LLM_ERR_PROTOCOL,    /* a stream or body that is not what the API sends */
    LLM_ERR_TOO_LARGE,   /* over an LLM_MAX_* bound */
};

typedef struct llm_result {
    int error;
    const char *error_text; /* short and static: never a key, a URL or provider output */
    long http_status;       /* 0 when no response */
    int started;            /* a delta or tool call was received: a fallback would repeat text */
    const char *finish_reason; /* "stop", "tool_calls", "length", ... (static), NULL on error */
    const llm_tool_call_t *tool_calls; /* valid during on_done only */
    size_t ntool_calls;
    unsigned tokens_in, tokens_out; /* from the provider's usage report, 0 when it sent none */
    uint64_t ttft_ms;               /* start to first delta or tool call; 0 when none */
} llm_result_t;

enum { LLM_CONTINUE = 0, LLM_PAUSE = 1 }; /* what on_delta returns */

typedef struct llm_callbacks {
    /* A piece of the reply text, in order (valid during the call). LLM_PAUSE: deliver nothing
     * more until llm_resume (the transfer is paused; timeouts still run). */
    int (*on_delta)(void *arg, const char *text, size_t len);
    /* Exactly once, always from the loop after llm_chat returned, unless cancelled. */
    void (*on_done)(void *arg, const llm_result_t *res);
} llm_callbacks_t;

typedef struct llm_provider llm_provider_t;
typedef struct llm_call llm_call_t;

/* The configured chat providers, in the order to try them: LLM_PROVIDER (default groq when
 * GROQ_API_KEY is set; else none, so that a stub does not hide the fallbacks) then LLM_FALLBACK
 * (comma-separated). Names: groq, openai,
 * openrouter, gemini, stub. A provider without its key is skipped with a warning; an empty chain
 * becomes [stub], announced in the log. NULL (after logging why) on an unknown name or a bad
 * setting, which main treats as a start-up error. */
typedef struct llm_chain {
    const llm_provider_t **providers;
    size_t n;
} llm_chain_t;

llm_chain_t *llm_chain_from_env(void);
void llm_chain_free(llm_chain_t *chain);

const char *llm_provider_name(const llm_provider_t *p);  /* "groq", ... */
const char *llm_provider_model(const llm_provider_t *p); /* TEXT_MODEL_NAME or the default */

/* Starts a streamed chat completion. NULL when the request is over the bounds or invalid (e.g. a
 * tool's parameters not a JSON object; on_done will not run). The request is copied: the caller's
 * messages need not outlive this call. http may be NULL for the stub. The call is gone once
 * on_done has returned: no llm_resume or llm_cancel after that. */
llm_call_t *llm_chat(const llm_provider_t *p, uv_loop_t *loop, httpc_t *http, const llm_request_t *req,
                     const llm_callbacks_t *cb, void *arg);
void llm_resume(llm_call_t *call);
/* on_delta and on_done will not run again; safe from inside on_delta. */
void llm_cancel(llm_call_t *call);

/* ---- embeddings ------------------------------------------------------------------------------- */

typedef struct llm_embed_result {
    int error; /* as llm_result_t */
    const char *error_text;
    size_t n, dim;
    const float *const *vectors; /* n vectors of dim floats, valid during the callback */
} llm_embed_result_t;

#define LLM_MAX_EMBED_INPUTS 128       /* texts per llm_embed call */
#define LLM_MAX_EMBED_TEXT (32u * 1024) /* bytes per text */

/* EMBEDDINGS_PROVIDER (openai, gemini, stub; unset: openai with OPENAI_API_KEY, else gemini with
 * GOOGLE_API_KEY, else stub), EMBEDDING_MODEL. NULL (after logging why) on a bad setting. */
const llm_provider_t *llm_embedder_from_env(void);
void llm_embedder_free(const llm_provider_t *p);
/* 0 when started: done then runs exactly once, from the loop. -1 when refused (over the bounds,
 * invalid): done will not run. */
int llm_embed(const llm_provider_t *p, uv_loop_t *loop, httpc_t *http, const char *const *texts, size_t n,
              void (*done)(void *arg, const llm_embed_result_t *res), void *arg);

#endif
