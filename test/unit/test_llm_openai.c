/* The OpenAI-compatible provider against the mock: streamed text in order, lines split at every
 * byte, tool calls from fragments, usage, errors, deadlines, pause/resume, cancel, what is sent
 * (tool results in the second round, no Authorization without a key), and no key in any log. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/log.h"
#include "providers/llm.h"
#include "test/support/capture.h"
#include "test/support/check.h"
#include "test/support/json.h"
#include "test/support/llm_collect.h"
#include "test/support/loop.h"
#include "test/support/mock_llm.h"

#define KEY "sk-test-SECRET-4f3a9b"
#define WAIT_MS 10000

typedef struct env {
    uv_loop_t loop;
    httpc_t *http;
    ts_mock_t *mock;
    llm_chain_t *chain;
    const llm_provider_t *p;
} env_t;

static const llm_message_t hello[] = {
    {.role = LLM_SYSTEM, .content = "You are terse."},
    {.role = LLM_USER, .content = "Say hello"},
};
static const llm_request_t hello_req = {.messages = hello, .nmessages = 2};

/* The chain the environment describes now. */
static llm_chain_t *chain_from_env(void)
{
    llm_chain_t *c = llm_chain_from_env();
    REQUIRE(c != NULL && c->n >= 1);
    return c;
}

static void run(env_t *e, ts_llm_t *x, const char *script, const llm_request_t *req)
{
    ts_llm_run(x, &e->loop, e->mock, script, e->p, e->http, req, WAIT_MS);
}

/* A step whose stream is exactly raw. */
static const char *raw_step(const char *raw)
{
    static char buf[8192];
    json_out_t o = json_out_fixed(buf, sizeof(buf));
    json_out_arr_begin(&o);
    json_out_obj_begin(&o);
    json_out_key(&o, "raw");
    json_out_str(&o, raw);
    json_out_obj_end(&o);
    json_out_arr_end(&o);
    REQUIRE(json_out_cstr(&o) != NULL);
    return buf;
}

/* The last request the mock received, parsed. */
static void test_stream(env_t *e)
{
    ts_llm_t x;
    run(e, &x,
        "[{\"text\": \"Hello there, how are you?\", \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 7}}]",
        &hello_req);
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.text, "Hello there, how are you?");
    CHECK_INT(x.ndeltas, 5);
    CHECK_STR(x.finish_reason, "stop");
    CHECK_INT(x.tokens_in, 5);
    CHECK_INT(x.tokens_out, 7);
    CHECK_INT(x.started, 1);
    CHECK_INT(x.http_status, 200);
    CHECK(x.ttft_ms > 0 && x.ttft_ms <= x.done_at_ms);
    CHECK_INT(x.ncalls, 0);
    ts_llm_free(&x);

    yajl_val r = ts_mock_last_request(e->mock);
    CHECK_STR(ts_json_get_str(r, "path"), "/v1/chat/completions");
    CHECK_STR(ts_json_get_str(r, "headers", "authorization"), "Bearer " KEY);
    CHECK_STR(ts_json_get_str(r, "headers", "content-type"), "application/json");
    CHECK(YAJL_IS_TRUE(ts_json_get(r, "body", "stream")));
    CHECK(YAJL_IS_TRUE(ts_json_get(r, "body", "stream_options", "include_usage")));
    CHECK_STR(ts_json_get_str(r, "body", "model"), "test-model");
    CHECK(YAJL_IS_NUMBER(ts_json_get(r, "body", "temperature")) &&
          YAJL_GET_DOUBLE(ts_json_get(r, "body", "temperature")) == 0.7);
    CHECK_STR(ts_json_get_str(r, "body", "messages", "0", "role"), "system");
    CHECK_STR(ts_json_get_str(r, "body", "messages", "1", "content"), "Say hello");
    CHECK(ts_json_get(r, "body", "tools") == NULL);
    ts_json_free(r);

    /* nothing scripted: the mock's default reply */
    run(e, &x, NULL, &hello_req);
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.text, "Hello from the mock.");
    ts_llm_free(&x);
}

/* Every line split at every offset: one HTTP chunk per byte, UTF-8 split too, CRLF line ends. */
static void test_split_every_byte(env_t *e)
{
    ts_llm_t x;
    run(e, &x,
        "[{\"text\": \"Gr\xc3\xbc\xc3\x9f"
        "e \xe2\x80\x94 ok \xe2\x82\xac\", \"chunk_bytes\": 1, \"crlf\": true, \"pings\": 2,"
        " \"tool_calls\": [{\"id\": \"c1\", \"name\": \"f\", \"arguments\": \"{\\\"q\\\": "
        "\\\"\xc3\xa9t\xc3\xa9\\\"}\"}],"
        " \"split_args\": true}]",
        &hello_req);
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.text, "Gr\xc3\xbc\xc3\x9f"
                      "e \xe2\x80\x94 ok \xe2\x82\xac");
    CHECK_INT(x.ncalls, 1);
    if (x.ncalls == 1)
        CHECK_STR(x.call_args[0], "{\"q\": \"\xc3\xa9t\xc3\xa9\"}");
    ts_llm_free(&x);

    /* every event in one read */
    run(e, &x, "[{\"text\": \"one two three four\", \"chunk_bytes\": 65536}]", &hello_req);
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.text, "one two three four");
    ts_llm_free(&x);
}

static const llm_tool_def_t tools[] = {
    {"list_services", "Lists the workspace's services", "{\"type\":\"object\",\"properties\":{}}"},
    {"booking_link", "The booking link", "{\"type\":\"object\",\"properties\":{\"service\":{\"type\":\"string\"}}}"},
};

static void test_tool_calls(env_t *e)
{
    ts_llm_t x;
    llm_request_t req = hello_req;
    req.tools = tools;
    req.ntools = 2;
    run(e, &x,
        "[{\"text\": \"Let me check.\", \"split_args\": true, \"chunk_bytes\": 5, \"tool_calls\": ["
        "{\"id\": \"call_1\", \"name\": \"list_services\", \"arguments\": \"{}\"},"
        "{\"id\": \"call_2\", \"name\": \"booking_link\", \"arguments\": \"{\\\"service\\\": \\\"demo call\\\"}\"}]}]",
        &req);
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.text, "Let me check.");
    CHECK_STR(x.finish_reason, "tool_calls");
    REQUIRE(x.ncalls == 2);
    CHECK_STR(x.call_id[0], "call_1");
    CHECK_STR(x.call_name[0], "list_services");
    CHECK_STR(x.call_args[0], "{}");
    CHECK_STR(x.call_id[1], "call_2");
    CHECK_STR(x.call_name[1], "booking_link");
    CHECK_STR(x.call_args[1], "{\"service\": \"demo call\"}");

    yajl_val r = ts_mock_last_request(e->mock);
    CHECK_STR(ts_json_get_str(r, "body", "tools", "0", "type"), "function");
    CHECK_STR(ts_json_get_str(r, "body", "tools", "1", "function", "name"), "booking_link");
    CHECK_STR(ts_json_get_str(r, "body", "tools", "1", "function", "parameters", "properties", "service", "type"),
              "string");
    ts_json_free(r);

    /* the second round carries the calls and their results */
    llm_tool_call_t calls[2] = {{x.call_id[0], x.call_name[0], x.call_args[0]},
                                {x.call_id[1], x.call_name[1], x.call_args[1]}};
    llm_message_t msgs[] = {
        hello[0],
        hello[1],
        {.role = LLM_ASSISTANT, .content = NULL, .tool_calls = calls, .ntool_calls = 2},
        {.role = LLM_TOOL, .content = "[\"Demo call\"]", .tool_call_id = "call_1", .name = "list_services"},
        {.role = LLM_TOOL, .content = "{\"url\":\"https://cal.example/x\"}", .tool_call_id = "call_2"},
    };
    llm_request_t req2 = {.messages = msgs, .nmessages = 5, .tools = tools, .ntools = 2};
    ts_llm_t y;
    run(e, &y, "[{\"text\": \"Here you go.\"}]", &req2);
    CHECK_INT(y.error, LLM_OK);
    CHECK_STR(y.text, "Here you go.");
    ts_llm_free(&y);
    ts_llm_free(&x);

    r = ts_mock_last_request(e->mock);
    CHECK_STR(ts_json_get_str(r, "body", "messages", "2", "role"), "assistant");
    CHECK(YAJL_IS_NULL(ts_json_get(r, "body", "messages", "2", "content")));
    CHECK_STR(ts_json_get_str(r, "body", "messages", "2", "tool_calls", "1", "id"), "call_2");
    CHECK_STR(ts_json_get_str(r, "body", "messages", "2", "tool_calls", "1", "function", "arguments"),
              "{\"service\": \"demo call\"}");
    CHECK_STR(ts_json_get_str(r, "body", "messages", "3", "role"), "tool");
    CHECK_STR(ts_json_get_str(r, "body", "messages", "3", "tool_call_id"), "call_1");
    CHECK_STR(ts_json_get_str(r, "body", "messages", "3", "content"), "[\"Demo call\"]");
    CHECK_STR(ts_json_get_str(r, "body", "messages", "4", "content"), "{\"url\":\"https://cal.example/x\"}");
    ts_json_free(r);

    /* a server that repeats the id and the name in every fragment, and numbers no index */
    run(e, &x,
        raw_step("data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"c9\",\"function\":{\"name\":\"f\","
                 "\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
                 "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"id\":\"c9\",\"function\":{\"name\":\"f\","
                 "\"arguments\":\":1}\"}}]}}]}\n\n"
                 "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"),
        &req);
    CHECK_INT(x.error, LLM_OK);
    REQUIRE(x.ncalls == 1);
    CHECK_STR(x.call_id[0], "c9");
    CHECK_STR(x.call_name[0], "f");
    CHECK_STR(x.call_args[0], "{\"a\":1}");
    ts_llm_free(&x);

    /* more calls than LLM_MAX_TOOL_CALLS */
    char script[4096];
    size_t n = (size_t)snprintf(script, sizeof(script), "[{\"tool_calls\": [");
    for (int i = 0; i <= LLM_MAX_TOOL_CALLS; i++)
        n += (size_t)snprintf(script + n, sizeof(script) - n, "%s{\"id\": \"c%d\", \"name\": \"f\"}", i ? "," : "", i);
    snprintf(script + n, sizeof(script) - n, "]}]");
    run(e, &x, script, &req);
    CHECK_INT(x.error, LLM_ERR_TOO_LARGE);
    CHECK_INT(x.ncalls, 0);
    ts_llm_free(&x);
}

static void test_errors(env_t *e)
{
    ts_llm_t x;
    /* the body quotes the key, as OpenAI's 401 does: it must not reach the log */
    run(e, &x,
        "[{\"status\": 401, \"error_body\": \"{\\\"error\\\": {\\\"message\\\": \\\"Incorrect API key provided: " KEY
        "\\\", \\\"type\\\": \\\"invalid_request_error\\\", \\\"code\\\": \\\"invalid_api_key\\\"}}\"}]",
        &hello_req);
    CHECK_INT(x.error, LLM_ERR_HTTP);
    CHECK_INT(x.http_status, 401);
    CHECK_INT(x.started, 0);
    CHECK_INT(x.ndeltas, 0);
    CHECK(x.finish_reason == NULL);
    ts_llm_free(&x);

    run(e, &x, "[{\"status\": 503, \"error_body\": \"upstream overloaded\"}]", &hello_req);
    CHECK_INT(x.error, LLM_ERR_HTTP);
    CHECK_INT(x.http_status, 503);
    ts_llm_free(&x);

    /* malformed JSON in a data line, after a good one */
    run(e, &x,
        "[{\"raw\": \"data: {\\\"choices\\\":[{\\\"delta\\\":{\\\"content\\\":\\\"ok\\\"}}]}\\n\\ndata: "
        "{broken\\n\\n\"}]",
        &hello_req);
    CHECK_INT(x.error, LLM_ERR_PROTOCOL);
    CHECK_STR(x.text, "ok");
    CHECK_INT(x.started, 1);
    ts_llm_free(&x);

    /* a stream that just stops: neither [DONE] nor a finish_reason */
    run(e, &x, "[{\"raw\": \"data: {\\\"choices\\\":[{\\\"delta\\\":{\\\"content\\\":\\\"half\\\"}}]}\\n\\n\"}]",
        &hello_req);
    CHECK_INT(x.error, LLM_ERR_PROTOCOL);
    ts_llm_free(&x);

    /* a finish_reason without [DONE] is a whole reply */
    run(e, &x, "[{\"text\": \"fine\", \"no_done\": true}]", &hello_req);
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.text, "fine");
    ts_llm_free(&x);

    /* the connection drops halfway */
    run(e, &x, "[{\"text\": \"a b c d e f g h i j\", \"close_mid_stream\": true}]", &hello_req);
    CHECK(x.error == LLM_ERR_PROTOCOL || x.error == LLM_ERR_CONNECT);
    CHECK(x.finish_reason == NULL);
    ts_llm_free(&x);

    /* OpenRouter-style error after the 200 */
    run(e, &x, "[{\"raw\": \"data: {\\\"error\\\": {\\\"message\\\": \\\"boom\\\"}}\\n\\n\"}]", &hello_req);
    CHECK_INT(x.error, LLM_ERR_PROTOCOL);
    ts_llm_free(&x);
}

static void test_deadlines(env_t *e)
{
    ts_llm_t x;
    llm_request_t req = hello_req;
    req.first_token_timeout_ms = 400;
    run(e, &x, "[{\"stall_ms\": 5000}]", &req);
    CHECK_INT(x.error, LLM_ERR_FIRST_TOKEN);
    CHECK(x.done_at_ms >= 390 && x.done_at_ms < 2000);
    ts_llm_free(&x);

    /* keep-alive comments arrive in time, but they are not a token */
    run(e, &x, "[{\"pings\": 40, \"trickle_ms\": 50, \"text\": \"late\"}]", &req);
    CHECK_INT(x.error, LLM_ERR_FIRST_TOKEN);
    CHECK(x.done_at_ms >= 390 && x.done_at_ms < 2000);
    CHECK_INT(x.ndeltas, 0);
    ts_llm_free(&x);

    /* the whole reply too slow, though it started */
    req.first_token_timeout_ms = 5000;
    req.timeout_ms = 600;
    run(e, &x, "[{\"text\": \"a b c d e f g h i j k l m n\", \"trickle_ms\": 150}]", &req);
    CHECK_INT(x.error, LLM_ERR_TIMEOUT);
    CHECK_INT(x.started, 1);
    CHECK(x.ndeltas >= 1);
    CHECK(x.done_at_ms >= 590 && x.done_at_ms < 2500);
    ts_llm_free(&x);

    /* a stall in the middle of the stream */
    run(e, &x, "[{\"text\": \"a b c\", \"stall_after_bytes\": 300, \"stall_after_ms\": 5000}]", &req);
    CHECK_INT(x.error, LLM_ERR_TIMEOUT);
    ts_llm_free(&x);

    /* nobody listens */
    setenv("OPENAI_BASE_URL", "http://127.0.0.1:1/v1", 1);
    llm_chain_t *dead = chain_from_env();
    ts_llm_init(&x, &e->loop);
    REQUIRE(ts_llm_start(&x, dead->providers[0], e->http, &hello_req) != NULL);
    CHECK(ts_llm_wait(&x, WAIT_MS));
    CHECK_INT(x.error, LLM_ERR_CONNECT);
    CHECK_INT(x.http_status, 0);
    ts_llm_free(&x);
    llm_chain_free(dead);
}

static void test_pause_resume(env_t *e)
{
    const char *words = "w00 w01 w02 w03 w04 w05 w06 w07 w08 w09 w10 w11 w12 w13 w14 w15 w16 w17 w18 w19 "
                        "w20 w21 w22 w23 w24 w25 w26 w27 w28 w29 w30 w31 w32 w33 w34 w35 w36 w37 w38 w39";
    char script[512];
    const int chunks[] = {0, 1, 7, 65536}; /* an event per read, a byte per read, splits, all in one read */
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        ts_llm_t x;
        snprintf(script, sizeof(script), "[{\"text\": \"%s\", \"chunk_bytes\": %d}]", words, chunks[i]);
        REQUIRE(ts_mock_script(e->mock, script) == 0);
        ts_llm_init(&x, &e->loop);
        x.pause_each = 1;
        x.resume_ms = i == 3 ? 20 : 1;
        REQUIRE(ts_llm_start(&x, e->p, e->http, &hello_req) != NULL);
        CHECK(ts_llm_wait(&x, WAIT_MS));
        CHECK_INT(x.error, LLM_OK);
        CHECK_STR(x.text, words);
        CHECK_INT(x.while_paused, 0);
        CHECK(x.ndeltas >= 2);
        ts_llm_free(&x);
    }
}

static void test_cancel(env_t *e)
{
    ts_llm_t x;
    REQUIRE(ts_mock_script(e->mock, "[{\"text\": \"one two three four five six\", \"trickle_ms\": 20}]") == 0);
    ts_llm_init(&x, &e->loop);
    x.cancel_at = 2;
    REQUIRE(ts_llm_start(&x, e->p, e->http, &hello_req) != NULL);
    ts_run_until(&e->loop, NULL, NULL, 400); /* long enough for the rest of the reply to have come */
    CHECK_INT(x.ndeltas, 2);
    CHECK_INT(x.done, 0);
    ts_llm_free(&x);

    /* cancelled before anything arrived, and from inside the first delta of a one-read reply */
    REQUIRE(ts_mock_script(e->mock, "[{\"text\": \"x y z\", \"chunk_bytes\": 65536}]") == 0);
    ts_llm_init(&x, &e->loop);
    x.cancel_at = 1;
    REQUIRE(ts_llm_start(&x, e->p, e->http, &hello_req) != NULL);
    ts_llm_t y;
    ts_llm_init(&y, &e->loop);
    llm_call_t *c = ts_llm_start(&y, e->p, e->http, &hello_req);
    REQUIRE(c != NULL);
    llm_cancel(c);
    ts_run_until(&e->loop, NULL, NULL, 400);
    CHECK_INT(x.ndeltas, 1);
    CHECK_INT(x.done, 0);
    CHECK_INT(y.ndeltas, 0);
    CHECK_INT(y.done, 0);
    ts_llm_free(&x);
    ts_llm_free(&y);
}

static void test_refused(env_t *e)
{
    ts_llm_t x;
    ts_llm_init(&x, &e->loop);
    llm_tool_def_t bad[] = {{"t", "bad schema", "{not json"}};
    llm_request_t req = hello_req;
    req.tools = bad;
    req.ntools = 1;
    CHECK(ts_llm_start(&x, e->p, e->http, &req) == NULL);
    CHECK(ts_llm_start(&x, e->p, NULL, &hello_req) == NULL);
    ts_llm_free(&x);
}

/* An OpenAI-compatible server without a key (llama.cpp, Ollama): no Authorization at all. */
static void test_keyless(env_t *e)
{
    char base[128];
    snprintf(base, sizeof(base), "%s/local/v1/", e->mock->base); /* a trailing slash is tolerated */
    setenv("OPENAI_BASE_URL", base, 1);
    unsetenv("OPENAI_API_KEY");
    llm_chain_t *chain = chain_from_env();
    const llm_provider_t *p = chain->providers[0];
    CHECK_STR(llm_provider_name(p), "openai");
    ts_llm_t x;
    REQUIRE(ts_mock_script(e->mock, "[{\"text\": \"local\"}]") == 0);
    ts_llm_init(&x, &e->loop);
    REQUIRE(ts_llm_start(&x, p, e->http, &hello_req) != NULL);
    CHECK(ts_llm_wait(&x, WAIT_MS));
    CHECK_INT(x.error, LLM_OK);
    CHECK_STR(x.text, "local");
    ts_llm_free(&x);
    yajl_val r = ts_mock_last_request(e->mock);
    CHECK_STR(ts_json_get_str(r, "path"), "/local/v1/chat/completions");
    CHECK(ts_json_get(r, "headers", "authorization") == NULL);
    ts_json_free(r);
    llm_chain_free(chain);
}

int main(void)
{
    static env_t e;
    REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
    log_set_level_name("debug");
    ts_capture_t cap;
    ts_stderr_begin(&cap); /* every log line of the test, to look for the key in it */

    e.mock = ts_mock_start();
    REQUIRE(uv_loop_init(&e.loop) == 0);
    REQUIRE((e.http = httpc_new(&e.loop)) != NULL);
    char base[128];
    snprintf(base, sizeof(base), "%s/v1", e.mock->base);
    setenv("LLM_PROVIDER", "openai", 1);
    unsetenv("LLM_FALLBACK");
    setenv("OPENAI_API_KEY", KEY, 1);
    setenv("OPENAI_BASE_URL", base, 1);
    setenv("OPENAI_MODEL", "test-model", 1);
    unsetenv("MODEL_TEMPERATURE");
    e.chain = chain_from_env();
    e.p = e.chain->providers[0];

    test_stream(&e);
    test_split_every_byte(&e);
    test_tool_calls(&e);
    test_errors(&e);
    test_pause_resume(&e);
    test_cancel(&e);
    test_refused(&e);
    test_keyless(&e);
    test_deadlines(&e);

    httpc_close(e.http, NULL, NULL);
    llm_chain_free(e.chain);
    ts_run_until(&e.loop, NULL, NULL, 50);
    CHECK_INT(uv_loop_close(&e.loop), 0);
    ts_mock_stop(e.mock);

    char *log = ts_stderr_end(&cap);
    CHECK(strstr(log, "SECRET") == NULL);
    CHECK_CONTAINS(log, "\"code\":\"invalid_api_key\"");
    CHECK_CONTAINS(log, "LLM provider chain");
    if (check_failures > 0) /* the log is the first place to look */
        fputs(log, stderr);
    free(log);
    curl_global_cleanup();
    return check_done("llm_openai");
}
