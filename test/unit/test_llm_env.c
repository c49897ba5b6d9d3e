/* Choosing providers from the environment (defaults, fallbacks, missing keys, bad settings, what
 * is logged and never a key), and the offline stub's reply: streamed, paced, bounded. */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "providers/llm.h"
#include "test/support/capture.h"
#include "test/support/check.h"
#include "test/support/llm_collect.h"
#include "test/support/loop.h"

#define GROQ_KEY "gsk_SECRET_groq_1"
#define GOOGLE_KEY "AIza_SECRET_google_2"
#define OPENAI_KEY "sk-SECRET-openai-3"

static const char *const vars[] = {
    "LLM_PROVIDER",     "LLM_FALLBACK",        "TEXT_MODEL_NAME",     "MODEL_TEMPERATURE", "GROQ_API_KEY",
    "OPENAI_API_KEY",   "OPEN_ROUTER_API_KEY", "GOOGLE_API_KEY",      "GEMINI_API_KEY",    "GROQ_BASE_URL",
    "OPENAI_BASE_URL",  "OPENROUTER_BASE_URL", "GEMINI_BASE_URL",     "GROQ_MODEL",        "OPENAI_MODEL",
    "OPENROUTER_MODEL", "GEMINI_MODEL",        "EMBEDDINGS_PROVIDER", "EMBEDDING_MODEL",   NULL};

static void clear_env(void)
{
    for (size_t i = 0; vars[i] != NULL; i++)
        unsetenv(vars[i]);
}

/* The chain's "name(model)" list, or "NULL". */
static const char *chain_text(void)
{
    static char text[256];
    llm_chain_t *c = llm_chain_from_env();
    if (c == NULL)
        return "NULL";
    size_t n = 0;
    text[0] = '\0';
    for (size_t i = 0; i < c->n; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s(%s)", i ? "," : "", llm_provider_name(c->providers[i]),
                              llm_provider_model(c->providers[i]));
    llm_chain_free(c);
    return text;
}

static void test_chains(void)
{
    clear_env();
    CHECK_STR(chain_text(), "stub(stub)");

    setenv("GROQ_API_KEY", GROQ_KEY, 1);
    CHECK_STR(chain_text(), "groq(llama-3.3-70b-versatile)");
    setenv("TEXT_MODEL_NAME", "llama-3.1-8b-instant", 1);
    CHECK_STR(chain_text(), "groq(llama-3.1-8b-instant)");
    setenv("GROQ_MODEL", "groq-own", 1);
    CHECK_STR(chain_text(), "groq(groq-own)");

    /* groq named but keyless is skipped, as are openai and openrouter; TEXT_MODEL_NAME is not Gemini's */
    unsetenv("GROQ_API_KEY");
    setenv("GOOGLE_API_KEY", GOOGLE_KEY, 1);
    setenv("LLM_PROVIDER", "groq", 1);
    setenv("LLM_FALLBACK", " openai, gemini ,openrouter,stub,gemini", 1);
    CHECK_STR(chain_text(), "gemini(gemini-1.5-flash),stub(stub)");

    /* no LLM_PROVIDER and no Groq key: the fallbacks, not a stub in front of them */
    unsetenv("LLM_PROVIDER");
    setenv("LLM_FALLBACK", "gemini", 1);
    CHECK_STR(chain_text(), "gemini(gemini-1.5-flash)");

    /* every named provider keyless: the stub */
    clear_env();
    setenv("LLM_PROVIDER", "openai", 1);
    CHECK_STR(chain_text(), "stub(stub)");
    /* ... but openai at an explicit URL needs no key (a local server) */
    setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1", 1);
    setenv("OPENAI_MODEL", "llama3", 1);
    CHECK_STR(chain_text(), "openai(llama3)");

    setenv("OPEN_ROUTER_API_KEY", "or-key", 1);
    setenv("LLM_PROVIDER", "openrouter", 1);
    unsetenv("TEXT_MODEL_NAME");
    CHECK_STR(chain_text(), "openrouter(meta-llama/llama-3.3-70b-instruct)");

    /* refusals */
    setenv("LLM_PROVIDER", "claude", 1);
    CHECK_STR(chain_text(), "NULL");
    setenv("LLM_PROVIDER", "openrouter", 1);
    setenv("LLM_FALLBACK", "stub,nope", 1);
    CHECK_STR(chain_text(), "NULL");
    unsetenv("LLM_FALLBACK");
    const char *const temps_bad[] = {"3", "-0.1", "abc", "0.5x", "nan", NULL};
    for (size_t i = 0; temps_bad[i] != NULL; i++) {
        setenv("MODEL_TEMPERATURE", temps_bad[i], 1);
        CHECK_STR(chain_text(), "NULL");
    }
    setenv("MODEL_TEMPERATURE", "0", 1);
    CHECK_STR(chain_text(), "openrouter(meta-llama/llama-3.3-70b-instruct)");
    setenv("MODEL_TEMPERATURE", "2", 1);
    CHECK_STR(chain_text(), "openrouter(meta-llama/llama-3.3-70b-instruct)");
    setenv("OPENROUTER_BASE_URL", "ftp://example.com", 1);
    CHECK_STR(chain_text(), "NULL");
    unsetenv("OPENROUTER_BASE_URL");
    setenv("GOOGLE_API_KEY", GOOGLE_KEY, 1);
    setenv("LLM_PROVIDER", "gemini", 1);
    setenv("GEMINI_MODEL", "../files/x?key=1", 1); /* would change the URL's path */
    CHECK_STR(chain_text(), "NULL");
    setenv("GEMINI_MODEL", "gemini-2.0-flash", 1);
    CHECK_STR(chain_text(), "gemini(gemini-2.0-flash)");
    setenv("GOOGLE_API_KEY", "bad key\twith space", 1);
    CHECK_STR(chain_text(), "NULL");
    clear_env();
}

static void test_chain_log(void)
{
    ts_capture_t cap;
    ts_stderr_begin(&cap);
    clear_env();
    llm_chain_free(llm_chain_from_env()); /* nothing configured */
    setenv("GROQ_API_KEY", GROQ_KEY, 1);
    setenv("OPENAI_API_KEY", OPENAI_KEY, 1);
    setenv("LLM_FALLBACK", "openai,gemini", 1);
    llm_chain_free(llm_chain_from_env());
    setenv("LLM_PROVIDER", "mystery", 1);
    llm_chain_free(llm_chain_from_env());
    char *log = ts_stderr_end(&cap);
    CHECK_CONTAINS(log, "no LLM provider key: using the offline stub provider");
    CHECK_CONTAINS(log, "\"providers\":\"groq (llama-3.3-70b-versatile), openai (gpt-4o-mini)\"");
    CHECK_CONTAINS(log, "\"level\":\"warn\",\"msg\":\"LLM provider has no key: skipped\",\"provider\":\"gemini\"");
    CHECK_CONTAINS(log, "\"level\":\"error\",\"msg\":\"unknown LLM provider");
    CHECK(strstr(log, "SECRET") == NULL);
    free(log);
    clear_env();
}

/* ---- the stub ---- */

static void test_stub(void)
{
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    clear_env();
    llm_chain_t *c = llm_chain_from_env();
    REQUIRE(c != NULL && c->n == 1);
    const llm_provider_t *stub = c->providers[0];
    llm_message_t msgs[] = {{.role = LLM_SYSTEM, .content = "Be nice."},
                            {.role = LLM_USER, .content = "first question"},
                            {.role = LLM_ASSISTANT, .content = "an answer"},
                            {.role = LLM_USER, .content = "What does the premium plan cost?"}};
    llm_request_t req = {.messages = msgs, .nmessages = 4};

    ts_llm_t x;
    ts_llm_init(&x, &loop);
    REQUIRE(ts_llm_start(&x, stub, NULL, &req) != NULL); /* no HTTP client needed */
    CHECK_INT(x.ndeltas, 0); /* nothing inside llm_chat */
    CHECK(ts_llm_wait(&x, 5000));
    CHECK_INT(x.error, LLM_OK);
    CHECK_CONTAINS(x.text, "offline stub");
    CHECK_CONTAINS(x.text, "What does the premium plan cost?");
    CHECK(strstr(x.text, "first question") == NULL);
    CHECK(x.ndeltas >= 3);
    CHECK_STR(x.finish_reason, "stop");
    CHECK_INT(x.tokens_in, 2 + 2 + 2 + 6);
    CHECK(x.tokens_out > 5);
    CHECK(x.ttft_ms > 0);
    char *first = strdup(x.text);
    ts_llm_free(&x);

    /* deterministic, and pause/resume keeps it whole */
    ts_llm_init(&x, &loop);
    x.pause_each = 1;
    x.resume_ms = 3;
    REQUIRE(ts_llm_start(&x, stub, NULL, &req) != NULL);
    CHECK(ts_llm_wait(&x, 5000));
    CHECK_STR(x.text, first);
    CHECK_INT(x.while_paused, 0);
    ts_llm_free(&x);
    free(first);

    /* cancel from inside on_delta */
    ts_llm_init(&x, &loop);
    x.cancel_at = 1;
    REQUIRE(ts_llm_start(&x, stub, NULL, &req) != NULL);
    ts_run_until(&loop, NULL, NULL, 100);
    CHECK_INT(x.ndeltas, 1);
    CHECK_INT(x.done, 0);
    ts_llm_free(&x);

    /* a long message: only a bounded prefix is echoed, cut on a character boundary */
    char *longmsg = malloc(3001);
    for (int i = 0; i < 1000; i++)
        memcpy(longmsg + 3 * i, "\xe2\x82\xac", 3);
    longmsg[3000] = '\0';
    llm_message_t one = {.role = LLM_USER, .content = longmsg};
    llm_request_t req1 = {.messages = &one, .nmessages = 1};
    ts_llm_init(&x, &loop);
    REQUIRE(ts_llm_start(&x, stub, NULL, &req1) != NULL);
    CHECK(ts_llm_wait(&x, 5000));
    CHECK_INT(x.error, LLM_OK);
    CHECK(x.len < 400);
    int valid = 1;
    for (size_t i = 0; i < x.len;) {
        size_t k = json_utf8_len((const unsigned char *)x.text + i, x.len - i);
        valid = valid && k > 0;
        i += k > 0 ? k : 1;
    }
    CHECK(valid);
    ts_llm_free(&x);
    free(longmsg);

    llm_chain_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
}

int main(void)
{
    test_chains();
    test_chain_log();
    test_stub();
    return check_done("llm_env");
}
