/* The Gemini provider against the mock: streamed text and usage, function calls and the
 * functionResponse round, the key in x-goog-api-key and never in the URL, errors, pause/resume. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "providers/llm.h"
#include "test/support/check.h"
#include "test/support/json.h"
#include "test/support/llm_collect.h"
#include "test/support/mock_llm.h"

#define KEY "AIza-test-SECRET-77"
#define WAIT_MS 10000

typedef struct env {
    uv_loop_t loop;
    httpc_t *http;
    ts_mock_t *mock;
    const llm_provider_t *p;
} env_t;

static const llm_message_t hello[] = {
    {.role = LLM_SYSTEM, .content = "You are terse."},
    {.role = LLM_USER, .content = "Say hello"},
};
static const llm_request_t hello_req = {.messages = hello, .nmessages = 2};

static void run(env_t *e, ts_llm_t *x, const char *script, const llm_request_t *req)
{
    ts_llm_run(x, &e->loop, e->mock, script, e->p, e->http, req, WAIT_MS);
}

static void test_stream(env_t *e)
{
    ts_llm_t x;
    run(e, &x,
        "[{\"text\": \"Hi from Gemini \xe2\x82\xac\", \"chunk_bytes\": 3, \"usage\": {\"prompt_tokens\": 9, "
        "\"completion_tokens\": 4}}]",
        &hello_req);
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.text, "Hi from Gemini \xe2\x82\xac");
    CHECK_STR(x.finish_reason, "stop");
    CHECK_INT(x.tokens_in, 9);
    CHECK_INT(x.tokens_out, 4);
    CHECK(x.ttft_ms > 0);
    ts_llm_free(&x);

    yajl_val r = ts_mock_last_request(e->mock);
    CHECK_STR(ts_json_get_str(r, "path"), "/v1beta/models/gemini-test:streamGenerateContent?alt=sse");
    const char *path = ts_json_get_str(r, "path");
    CHECK(path != NULL && strstr(path, KEY) == NULL);
    CHECK_STR(ts_json_get_str(r, "headers", "x-goog-api-key"), KEY);
    CHECK(ts_json_get(r, "headers", "authorization") == NULL);
    CHECK_STR(ts_json_get_str(r, "body", "systemInstruction", "parts", "0", "text"), "You are terse.");
    CHECK_STR(ts_json_get_str(r, "body", "contents", "0", "role"), "user");
    CHECK_STR(ts_json_get_str(r, "body", "contents", "0", "parts", "0", "text"), "Say hello");
    CHECK_INT(ts_json_len(ts_json_get(r, "body", "contents")), 1);
    CHECK(YAJL_IS_NUMBER(ts_json_get(r, "body", "generationConfig", "temperature")));
    ts_json_free(r);

    /* byte by byte, with pauses after every delta */
    REQUIRE(ts_mock_script(e->mock, "[{\"text\": \"a b c d e f g h\", \"chunk_bytes\": 1}]") == 0);
    ts_llm_init(&x, &e->loop);
    x.pause_each = 1;
    REQUIRE(ts_llm_start(&x, e->p, e->http, &hello_req) != NULL);
    CHECK(ts_llm_wait(&x, WAIT_MS));
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.text, "a b c d e f g h");
    CHECK_INT(x.while_paused, 0);
    ts_llm_free(&x);
}

static const llm_tool_def_t tools[] = {
    {"list_services", "Lists the services", "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}"},
    {"booking_link", "The booking link", "{\"type\":\"object\",\"properties\":{\"service\":{\"type\":\"string\"}}}"},
};

static void test_function_calls(env_t *e)
{
    ts_llm_t x;
    llm_request_t req = hello_req;
    req.tools = tools;
    req.ntools = 2;
    run(e, &x,
        "[{\"tool_calls\": [{\"name\": \"list_services\", \"arguments\": \"{}\"},"
        "{\"name\": \"booking_link\", \"arguments\": \"{\\\"service\\\": \\\"demo\\\"}\"}]}]",
        &req);
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.finish_reason, "tool_calls");
    REQUIRE(x.ncalls == 2);
    CHECK_STR(x.call_name[0], "list_services");
    CHECK_STR(x.call_args[0], "{}");
    CHECK_STR(x.call_name[1], "booking_link");
    CHECK_STR(x.call_args[1], "{\"service\":\"demo\"}");
    CHECK(x.call_id[0][0] != '\0' && strcmp(x.call_id[0], x.call_id[1]) != 0); /* made up, distinct */

    yajl_val r = ts_mock_last_request(e->mock);
    yajl_val decl = ts_json_get(r, "body", "tools", "0", "functionDeclarations", "0");
    CHECK_STR(ts_json_get_str(decl, "name"), "list_services");
    CHECK(ts_json_get(decl, "parameters", "type") != NULL);
    CHECK(ts_json_get(decl, "parameters", "additionalProperties") == NULL); /* Gemini refuses it */
    ts_json_free(r);

    llm_tool_call_t calls[2] = {{x.call_id[0], x.call_name[0], x.call_args[0]},
                                {x.call_id[1], x.call_name[1], x.call_args[1]}};
    llm_message_t msgs[] = {
        hello[0],
        hello[1],
        {.role = LLM_ASSISTANT, .content = NULL, .tool_calls = calls, .ntool_calls = 2},
        {.role = LLM_TOOL, .content = "[\"Demo\"]", .tool_call_id = x.call_id[0]}, /* name found from the id */
        {.role = LLM_TOOL,
         .content = "{\"url\":\"https://cal.example/x\"}",
         .tool_call_id = x.call_id[1],
         .name = "booking_link"},
    };
    llm_request_t req2 = {.messages = msgs, .nmessages = 5, .tools = tools, .ntools = 2};
    ts_llm_t y;
    run(e, &y, "[{\"text\": \"Booked.\"}]", &req2);
    CHECK_INT(y.error, LLM_OK);
    CHECK_STR(y.text, "Booked.");
    ts_llm_free(&y);
    ts_llm_free(&x);

    r = ts_mock_last_request(e->mock);
    CHECK_INT(ts_json_len(ts_json_get(r, "body", "contents")), 3); /* user, model, one user turn of answers */
    CHECK_STR(ts_json_get_str(r, "body", "contents", "1", "role"), "model");
    CHECK_STR(ts_json_get_str(r, "body", "contents", "1", "parts", "1", "functionCall", "name"), "booking_link");
    CHECK_STR(ts_json_get_str(r, "body", "contents", "1", "parts", "1", "functionCall", "args", "service"), "demo");
    CHECK_STR(ts_json_get_str(r, "body", "contents", "2", "role"), "user");
    CHECK_STR(ts_json_get_str(r, "body", "contents", "2", "parts", "0", "functionResponse", "name"), "list_services");
    CHECK_STR(ts_json_get_str(r, "body", "contents", "2", "parts", "0", "functionResponse", "response", "result"),
              "[\"Demo\"]");
    CHECK_STR(ts_json_get_str(r, "body", "contents", "2", "parts", "1", "functionResponse", "response", "url"),
              "https://cal.example/x");
    ts_json_free(r);
}

static void test_errors(env_t *e)
{
    ts_llm_t x;
    run(e, &x, "[{\"status\": 429}]", &hello_req);
    CHECK_INT(x.error, LLM_ERR_HTTP);
    CHECK_INT(x.http_status, 429);
    ts_llm_free(&x);

    run(e, &x, "[{\"raw\": \"data: {\\\"candidates\\\": [\\r\\n\\r\\n\"}]", &hello_req);
    CHECK_INT(x.error, LLM_ERR_PROTOCOL);
    ts_llm_free(&x);

    llm_request_t req = hello_req;
    req.first_token_timeout_ms = 300;
    run(e, &x, "[{\"stall_ms\": 3000}]", &req);
    CHECK_INT(x.error, LLM_ERR_FIRST_TOKEN);
    CHECK(x.done_at_ms >= 290 && x.done_at_ms < 2000);
    ts_llm_free(&x);
}

int main(void)
{
    static env_t e;
    REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
    e.mock = ts_mock_start();
    REQUIRE(uv_loop_init(&e.loop) == 0);
    REQUIRE((e.http = httpc_new(&e.loop)) != NULL);
    char base[128];
    snprintf(base, sizeof(base), "%s/v1beta/", e.mock->base);
    setenv("LLM_PROVIDER", "gemini", 1);
    unsetenv("LLM_FALLBACK");
    unsetenv("GOOGLE_API_KEY");
    setenv("GEMINI_API_KEY", KEY, 1); /* the alias works too */
    setenv("GEMINI_BASE_URL", base, 1);
    setenv("GEMINI_MODEL", "gemini-test", 1);
    setenv("TEXT_MODEL_NAME", "llama-3.3-70b-versatile", 1); /* a Groq name: Gemini must not use it */
    llm_chain_t *chain = llm_chain_from_env();
    REQUIRE(chain != NULL && chain->n == 1);
    e.p = chain->providers[0];
    CHECK_STR(llm_provider_name(e.p), "gemini");
    CHECK_STR(llm_provider_model(e.p), "gemini-test");

    test_stream(&e);
    test_function_calls(&e);
    test_errors(&e);

    httpc_close(e.http, NULL, NULL);
    llm_chain_free(chain);
    ts_llm_t drain;
    ts_llm_init(&drain, &e.loop);
    ts_llm_free(&drain); /* runs the loop once: the closes complete */
    uv_run(&e.loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&e.loop), 0);
    ts_mock_stop(e.mock);
    curl_global_cleanup();
    return check_done("llm_gemini");
}
