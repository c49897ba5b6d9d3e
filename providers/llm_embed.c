/* Embeddings: one buffered request per batch (OpenAI /embeddings, Gemini :batchEmbedContents), or
 * the stub's hashed vectors, always answered from the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "providers/llm_internal.h"

#define EMBED_TIMEOUT_MS 30000
#define EMBED_MAX_RESPONSE (32u << 20)

typedef struct embed_call {
    const llm_provider_t *p;
    size_t n;
    void (*done)(void *arg, const llm_embed_result_t *res);
    void *arg;
    uv_timer_t timer; /* the stub's answer, on a later loop turn */
    char **texts; /* the stub's copies */
} embed_call_t;

static void embed_free(embed_call_t *e)
{
    for (size_t i = 0; e->texts != NULL && i < e->n; i++)
        free(e->texts[i]);
    free(e->texts);
    free(e);
}

static void on_http_done(void *arg, const httpc_result_t *r)
{
    embed_call_t *e = arg;
    llm_embed_result_t res = {.error = LLM_OK};
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    char err[64];
    float **vectors = NULL;
    json_t *body;
    if (r->error == HTTPC_ERR_CONNECT) {
        res = (llm_embed_result_t){LLM_ERR_CONNECT, r->error_text};
    } else if (r->error == HTTPC_ERR_TIMEOUT) {
        res = (llm_embed_result_t){LLM_ERR_TIMEOUT, r->error_text};
    } else if (r->error != 0) {
        res =
            (llm_embed_result_t){r->error == HTTPC_ERR_TOO_LARGE ? LLM_ERR_TOO_LARGE : LLM_ERR_PROTOCOL, r->error_text};
    } else if (r->status < 200 || r->status > 299) {
        log_warn("embeddings provider answered an error", LOG_S("provider", e->p->name), LOG_I("status", r->status));
        res = (llm_embed_result_t){LLM_ERR_HTTP, "the provider answered an error status"};
    } else if ((body = json_parse(&pool, r->body, r->body_len, err, sizeof(err))) == NULL ||
               body->type != JSON_OBJECT ||
               (e->p->kind == LLM_KIND_GEMINI ? &llm_gemini_ops : &llm_openai_ops)
                       ->embed_parse(body, e->n, &pool, &vectors, &res.dim) != 0) {
        res = (llm_embed_result_t){LLM_ERR_PROTOCOL, "the embeddings answer is not what the API sends"};
    } else {
        res.n = e->n;
        res.vectors = (const float *const *)vectors;
    }
    e->done(e->arg, &res);
    h2o_mem_clear_pool(&pool);
    embed_free(e);
}

static void on_stub_closed(uv_handle_t *h)
{
    embed_free(h->data);
}

static void on_stub_timer(uv_timer_t *t)
{
    embed_call_t *e = t->data;
    float *flat = malloc(sizeof(float) * LLM_STUB_DIM * e->n);
    const float **vectors = malloc(sizeof(*vectors) * e->n);
    llm_embed_result_t res = {LLM_ERR_TOO_LARGE, "out of memory"};
    if (flat != NULL && vectors != NULL) {
        for (size_t i = 0; i < e->n; i++) {
            llm_stub_embed(e->texts[i], flat + i * LLM_STUB_DIM, LLM_STUB_DIM);
            vectors[i] = flat + i * LLM_STUB_DIM;
        }
        res = (llm_embed_result_t){.n = e->n, .dim = LLM_STUB_DIM, .vectors = vectors};
    }
    e->done(e->arg, &res);
    free(flat);
    free(vectors);
    uv_close((uv_handle_t *)t, on_stub_closed);
}

static int start_stub(embed_call_t *e, uv_loop_t *loop, const char *const *texts)
{
    if ((e->texts = calloc(e->n, sizeof(char *))) == NULL)
        return -1;
    for (size_t i = 0; i < e->n; i++)
        if ((e->texts[i] = strdup(texts[i])) == NULL)
            return -1;
    uv_timer_init(loop, &e->timer);
    e->timer.data = e;
    uv_timer_start(&e->timer, on_stub_timer, 0, 0);
    return 0;
}

static int start_http(embed_call_t *e, httpc_t *http, const char *const *texts)
{
    const llm_ops_t *ops = e->p->kind == LLM_KIND_GEMINI ? &llm_gemini_ops : &llm_openai_ops;
    char url[2048], auth[1024];
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    json_out_t body = json_out_pool(&pool, 4096);
    int rc = -1;
    if (ops->embed_request(e->p, texts, e->n, url, sizeof(url), &body) == 0) {
        llm_auth_header(e->p, auth, sizeof(auth));
        const char *headers[] = {"Content-Type: application/json", auth[0] != '\0' ? auth : NULL, NULL};
        httpc_opts_t o = {.method = "POST",
                          .url = url,
                          .headers = headers,
                          .body = json_out_iov(&body).base,
                          .body_len = json_out_len(&body),
                          .timeout_ms = EMBED_TIMEOUT_MS,
                          .max_response = EMBED_MAX_RESPONSE};
        rc = httpc_request(http, &o, on_http_done, e) != NULL ? 0 : -1;
        memset(auth, 0, sizeof(auth));
    }
    h2o_mem_clear_pool(&pool);
    return rc;
}

int llm_embed(const llm_provider_t *p, uv_loop_t *loop, httpc_t *http, const char *const *texts, size_t n,
              void (*done)(void *arg, const llm_embed_result_t *res), void *arg)
{
    if (p == NULL || loop == NULL || texts == NULL || done == NULL || n == 0 || n > LLM_MAX_EMBED_INPUTS ||
        (p->kind != LLM_KIND_STUB && http == NULL))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (texts[i] == NULL || strlen(texts[i]) > LLM_MAX_EMBED_TEXT)
            return -1;
    embed_call_t *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -1;
    *e = (embed_call_t){.p = p, .n = n, .done = done, .arg = arg};
    int rc = p->kind == LLM_KIND_STUB ? start_stub(e, loop, texts) : start_http(e, http, texts);
    if (rc != 0)
        embed_free(e);
    return rc;
}
