/* Embeddings: OpenAI /embeddings and Gemini :batchEmbedContents against the mock (what is sent,
 * vectors in order, errors), the stub's hashed unit vectors, the bounds and the choice from env. */
#include <curl/curl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "providers/llm.h"
#include "test/support/check.h"
#include "test/support/json.h"
#include "test/support/loop.h"
#include "test/support/mock_llm.h"

#define WAIT_MS 10000
#define MAXV 4

typedef struct got {
    int done, error;
    size_t n, dim;
    float v[MAXV][64];
} got_t;

static void on_embed(void *arg, const llm_embed_result_t *r)
{
    got_t *g = arg;
    g->done++;
    g->error = r->error;
    g->n = r->n;
    g->dim = r->dim;
    for (size_t i = 0; r->error == LLM_OK && i < r->n && i < MAXV; i++)
        memcpy(g->v[i], r->vectors[i], sizeof(float) * (r->dim < 64 ? r->dim : 64));
}

static int is_done(void *arg)
{
    return ((got_t *)arg)->done > 0;
}

static void embed(uv_loop_t *loop, httpc_t *http, const llm_provider_t *p, const char *const *texts, size_t n, got_t *g)
{
    memset(g, 0, sizeof(*g));
    REQUIRE(llm_embed(p, loop, http, texts, n, on_embed, g) == 0);
    CHECK_INT(g->done, 0); /* never from inside llm_embed */
    CHECK(ts_run_until(loop, is_done, g, WAIT_MS));
    CHECK_INT(g->done, 1);
}

static const char *const texts[] = {"the cat sat on the mat", "The cat sat on the mat!", "quarterly revenue forecast"};

static double dot(const float *a, const float *b, size_t dim)
{
    double s = 0;
    for (size_t i = 0; i < dim; i++)
        s += (double)a[i] * b[i];
    return s;
}

static void test_stub(uv_loop_t *loop)
{
    const llm_provider_t *p = llm_embedder_from_env();
    REQUIRE(p != NULL);
    CHECK_STR(llm_provider_name(p), "stub");
    got_t g;
    embed(loop, NULL, p, texts, 3, &g);
    CHECK_INT(g.error, LLM_OK);
    CHECK_INT(g.n, 3);
    CHECK_INT(g.dim, 64);
    CHECK(fabs(dot(g.v[0], g.v[0], 64) - 1) < 1e-5);
    CHECK(fabs(dot(g.v[2], g.v[2], 64) - 1) < 1e-5);
    CHECK(fabs(dot(g.v[0], g.v[1], 64) - 1) < 1e-5); /* case and punctuation do not matter */
    CHECK(dot(g.v[0], g.v[2], 64) < 0.5);
    const char *empty[] = {""};
    embed(loop, NULL, p, empty, 1, &g);
    CHECK(fabs(dot(g.v[0], g.v[0], 64) - 1) < 1e-5);

    /* bounds: refused, and done never runs */
    CHECK_INT(llm_embed(p, loop, NULL, texts, 0, on_embed, &g), -1);
    const char *many[LLM_MAX_EMBED_INPUTS + 1];
    for (size_t i = 0; i <= LLM_MAX_EMBED_INPUTS; i++)
        many[i] = "x";
    CHECK_INT(llm_embed(p, loop, NULL, many, LLM_MAX_EMBED_INPUTS + 1, on_embed, &g), -1);
    char *big = malloc(LLM_MAX_EMBED_TEXT + 2);
    memset(big, 'a', LLM_MAX_EMBED_TEXT + 1);
    big[LLM_MAX_EMBED_TEXT + 1] = '\0';
    const char *bigs[] = {big};
    CHECK_INT(llm_embed(p, loop, NULL, bigs, 1, on_embed, &g), -1);
    free(big);
    llm_embedder_free(p);
}

static void test_openai(uv_loop_t *loop, httpc_t *http, ts_mock_t *m)
{
    char base[128];
    snprintf(base, sizeof(base), "%s/v1", m->base);
    setenv("OPENAI_API_KEY", "sk-embed", 1);
    setenv("OPENAI_BASE_URL", base, 1);
    const llm_provider_t *p = llm_embedder_from_env(); /* unset EMBEDDINGS_PROVIDER: openai, with its key */
    REQUIRE(p != NULL);
    CHECK_STR(llm_provider_name(p), "openai");
    CHECK_STR(llm_provider_model(p), "text-embedding-3-small");
    got_t g;
    REQUIRE(ts_mock_script(m, "[{\"dim\": 16}]") == 0);
    embed(loop, http, p, texts, 3, &g);
    CHECK_INT(g.error, LLM_OK);
    CHECK_INT(g.n, 3);
    CHECK_INT(g.dim, 16);
    CHECK(g.v[0][0] == 0 && g.v[1][0] == 1 && g.v[2][0] == 2); /* in input order */
    CHECK(fabsf(g.v[2][5] - 0.05f) < 1e-6f);
    yajl_val r = ts_mock_last_request(m);
    CHECK_STR(ts_json_get_str(r, "path"), "/v1/embeddings");
    CHECK_STR(ts_json_get_str(r, "headers", "authorization"), "Bearer sk-embed");
    CHECK_STR(ts_json_get_str(r, "body", "model"), "text-embedding-3-small");
    CHECK_STR(ts_json_get_str(r, "body", "input", "2"), texts[2]);
    ts_json_free(r);

    REQUIRE(ts_mock_script(m, "[{\"status\": 500}]") == 0);
    embed(loop, http, p, texts, 1, &g);
    CHECK_INT(g.error, LLM_ERR_HTTP);
    llm_embedder_free(p);
    unsetenv("OPENAI_API_KEY");
    unsetenv("OPENAI_BASE_URL");
}

static void test_gemini(uv_loop_t *loop, httpc_t *http, ts_mock_t *m)
{
    char base[128];
    snprintf(base, sizeof(base), "%s/v1beta", m->base);
    setenv("EMBEDDINGS_PROVIDER", "gemini", 1);
    setenv("GOOGLE_API_KEY", "AIza-embed", 1);
    setenv("GEMINI_BASE_URL", base, 1);
    setenv("EMBEDDING_MODEL", "text-embedding-005", 1);
    const llm_provider_t *p = llm_embedder_from_env();
    REQUIRE(p != NULL);
    CHECK_STR(llm_provider_name(p), "gemini");
    got_t g;
    embed(loop, http, p, texts, 2, &g);
    CHECK_INT(g.error, LLM_OK);
    CHECK_INT(g.n, 2);
    CHECK_INT(g.dim, 8);
    CHECK(g.v[1][0] == 1);
    yajl_val r = ts_mock_last_request(m);
    CHECK_STR(ts_json_get_str(r, "path"), "/v1beta/models/text-embedding-005:batchEmbedContents");
    CHECK_STR(ts_json_get_str(r, "headers", "x-goog-api-key"), "AIza-embed");
    CHECK_STR(ts_json_get_str(r, "body", "requests", "1", "model"), "models/text-embedding-005");
    CHECK_STR(ts_json_get_str(r, "body", "requests", "1", "content", "parts", "0", "text"), texts[1]);
    ts_json_free(r);

    /* an answer whose vectors are empty */
    REQUIRE(ts_mock_script(m, "[{\"status\": 200, \"dim\": 0}]") == 0);
    embed(loop, http, p, texts, 2, &g);
    CHECK_INT(g.error, LLM_ERR_PROTOCOL);
    llm_embedder_free(p);

    /* named but keyless: the stub, with a warning; unknown: NULL */
    unsetenv("GOOGLE_API_KEY");
    p = llm_embedder_from_env();
    REQUIRE(p != NULL);
    CHECK_STR(llm_provider_name(p), "stub");
    llm_embedder_free(p);
    setenv("EMBEDDINGS_PROVIDER", "groq", 1); /* no embeddings API */
    CHECK(llm_embedder_from_env() == NULL);
    unsetenv("EMBEDDINGS_PROVIDER");
    unsetenv("EMBEDDING_MODEL");
    unsetenv("GEMINI_BASE_URL");
}

int main(void)
{
    REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
    const char *const vars[] = {"EMBEDDINGS_PROVIDER",
                                "EMBEDDING_MODEL",
                                "OPENAI_API_KEY",
                                "OPENAI_BASE_URL",
                                "GOOGLE_API_KEY",
                                "GEMINI_API_KEY",
                                NULL};
    for (size_t i = 0; vars[i] != NULL; i++)
        unsetenv(vars[i]);
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    httpc_t *http = httpc_new(&loop);
    REQUIRE(http != NULL);
    ts_mock_t *m = ts_mock_start();

    test_stub(&loop);
    test_openai(&loop, http, m);
    test_gemini(&loop, http, m);

    httpc_close(http, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    ts_mock_stop(m);
    curl_global_cleanup();
    return check_done("llm_embed");
}
