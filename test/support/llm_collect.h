/* Driving one llm_chat call in a test: collects the deltas and the result, and can pause after
 * each delta (resuming from a timer), cancel from inside on_delta, or count misbehaviour. */
#ifndef test_support_llm_collect_h
#define test_support_llm_collect_h

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "providers/llm.h"
#include "test/support/mock_llm.h"

#define TS_LLM_MAX_CALLS 16

typedef struct ts_llm {
    uv_loop_t *loop;
    llm_call_t *call;
    /* what arrived */
    char *text; /* every delta, concatenated, NUL-terminated */
    size_t len;
    int ndeltas, done;
    int error, started;
    long http_status;
    const char *finish_reason;
    unsigned tokens_in, tokens_out;
    uint64_t ttft_ms, done_at_ms; /* done_at_ms: loop time from ts_llm_start */
    size_t ncalls;
    char *call_id[TS_LLM_MAX_CALLS], *call_name[TS_LLM_MAX_CALLS], *call_args[TS_LLM_MAX_CALLS];
    /* what to do */
    int pause_each; /* return LLM_PAUSE from every delta, resume resume_ms later */
    uint64_t resume_ms;
    int cancel_at; /* llm_cancel from inside the n-th delta (1-based); 0 = never */
    int while_paused; /* deltas that arrived while paused: must stay 0 */
    int paused;
    uv_timer_t resume_timer;
    uint64_t t0;
} ts_llm_t;

void ts_llm_init(ts_llm_t *x, uv_loop_t *loop);
/* llm_chat with x's callbacks; returns the call (NULL when refused). */
llm_call_t *ts_llm_start(ts_llm_t *x, const llm_provider_t *p, httpc_t *http, const llm_request_t *req);
/* Runs the loop until on_done ran or ms passed; returns x->done. */
int ts_llm_wait(ts_llm_t *x, uint64_t ms);
void ts_llm_free(ts_llm_t *x);

/* The usual test: queue script on the mock (unless NULL), init x, start the call (exits the test
 * when refused) and wait up to ms for on_done (a CHECK). */
void ts_llm_run(ts_llm_t *x, uv_loop_t *loop, ts_mock_t *m, const char *script, const llm_provider_t *p, httpc_t *http,
                const llm_request_t *req, uint64_t ms);

#endif
