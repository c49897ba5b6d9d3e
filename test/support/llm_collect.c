/* One chat call's deltas and result, gathered for assertions. */
#include "test/support/llm_collect.h"

#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/loop.h"

static void on_resume(uv_timer_t *t)
{
    ts_llm_t *x = t->data;
    x->paused = 0;
    llm_resume(x->call);
}

static int on_delta(void *arg, const char *text, size_t len)
{
    ts_llm_t *x = arg;
    if (x->paused)
        x->while_paused++;
    char *t = realloc(x->text, x->len + len + 1);
    if (t == NULL)
        abort();
    memcpy(t + x->len, text, len);
    x->text = t;
    x->len += len;
    t[x->len] = '\0';
    x->ndeltas++;
    if (x->cancel_at > 0 && x->ndeltas == x->cancel_at) {
        llm_cancel(x->call);
        x->call = NULL;
        return LLM_CONTINUE;
    }
    if (x->pause_each) {
        x->paused = 1;
        uv_timer_start(&x->resume_timer, on_resume, x->resume_ms, 0);
        return LLM_PAUSE;
    }
    return LLM_CONTINUE;
}

static void on_done(void *arg, const llm_result_t *r)
{
    ts_llm_t *x = arg;
    x->done++;
    x->error = r->error;
    x->started = r->started;
    x->http_status = r->http_status;
    x->finish_reason = r->finish_reason;
    x->tokens_in = r->tokens_in;
    x->tokens_out = r->tokens_out;
    x->ttft_ms = r->ttft_ms;
    x->done_at_ms = uv_now(x->loop) - x->t0;
    for (size_t i = 0; i < r->ntool_calls && i < TS_LLM_MAX_CALLS; i++) {
        x->call_id[i] = strdup(r->tool_calls[i].id);
        x->call_name[i] = strdup(r->tool_calls[i].name);
        x->call_args[i] = strdup(r->tool_calls[i].arguments);
    }
    x->ncalls = r->ntool_calls;
    uv_timer_stop(&x->resume_timer);
    x->call = NULL; /* gone once this returns */
}

void ts_llm_init(ts_llm_t *x, uv_loop_t *loop)
{
    memset(x, 0, sizeof(*x));
    x->loop = loop;
    x->resume_ms = 1;
    uv_timer_init(loop, &x->resume_timer);
    x->resume_timer.data = x;
}

llm_call_t *ts_llm_start(ts_llm_t *x, const llm_provider_t *p, httpc_t *http, const llm_request_t *req)
{
    static const llm_callbacks_t cb = {on_delta, on_done};
    uv_update_time(x->loop);
    x->t0 = uv_now(x->loop);
    x->call = llm_chat(p, x->loop, http, req, &cb, x);
    return x->call;
}

static int is_done(void *arg)
{
    return ((ts_llm_t *)arg)->done > 0;
}

int ts_llm_wait(ts_llm_t *x, uint64_t ms)
{
    ts_run_until(x->loop, is_done, x, ms);
    return x->done;
}

void ts_llm_free(ts_llm_t *x)
{
    uv_close((uv_handle_t *)&x->resume_timer, NULL);
    uv_run(x->loop, UV_RUN_NOWAIT);
    free(x->text);
    for (size_t i = 0; i < x->ncalls && i < TS_LLM_MAX_CALLS; i++) {
        free(x->call_id[i]);
        free(x->call_name[i]);
        free(x->call_args[i]);
    }
}

void ts_llm_run(ts_llm_t *x, uv_loop_t *loop, ts_mock_t *m, const char *script, const llm_provider_t *p, httpc_t *http,
                const llm_request_t *req, uint64_t ms)
{
    if (script != NULL)
        REQUIRE(ts_mock_script(m, script) == 0);
    ts_llm_init(x, loop);
    REQUIRE(ts_llm_start(x, p, http, req) != NULL);
    CHECK(ts_llm_wait(x, ms));
}
