/* The Gemini generateContent wire format (streamGenerateContent?alt=sse, batchEmbedContents):
 * system text apart, roles user/model, function calls and responses as parts. */
#include <stdio.h>
#include <string.h>

#include "providers/llm_internal.h"

/* Gemini takes an OpenAPI subset and refuses these JSON Schema keys with a 400. */
static const char *const schema_drop[] = {"additionalProperties", "$schema", "$id", "strict", NULL};

static void text_part(json_out_t *o, const char *text)
{
    json_out_obj_begin(o);
    json_out_key(o, "text");
    json_out_str(o, text);
    json_out_obj_end(o);
}

/* Writes a JSON object parsed from text, or {key: text} when the text is not an object:
 * functionCall.args and functionResponse.response must be objects. */
static void object_or_wrapped(json_out_t *o, h2o_mem_pool_t *pool, const char *text, const char *key)
{
    char err[64];
    json_t *v = text != NULL ? json_parse(pool, text, strlen(text), err, sizeof(err)) : NULL;
    if (v != NULL && v->type == JSON_OBJECT) {
        json_out_value(o, v);
        return;
    }
    json_out_obj_begin(o);
    if (key != NULL && text != NULL) {
        json_out_key(o, key);
        json_out_str(o, text);
    }
    json_out_obj_end(o);
}

/* A tool message names its call; Gemini wants the function's name, so find it when not given. */
static const char *tool_name(const llm_request_t *req, size_t at)
{
    const llm_message_t *m = &req->messages[at];
    if (m->name != NULL)
        return m->name;
    for (size_t i = at; i-- > 0;)
        for (size_t k = 0; k < req->messages[i].ntool_calls; k++) {
            const llm_tool_call_t *t = &req->messages[i].tool_calls[k];
            if (t->id != NULL && m->tool_call_id != NULL && strcmp(t->id, m->tool_call_id) == 0)
                return t->name;
        }
    return "";
}

static void put_contents(json_out_t *o, const llm_request_t *req, h2o_mem_pool_t *pool)
{
    json_out_key(o, "contents");
    json_out_arr_begin(o);
    for (size_t i = 0; i < req->nmessages; i++) {
        const llm_message_t *m = &req->messages[i];
        if (m->role == LLM_SYSTEM)
            continue;
        json_out_obj_begin(o);
        json_out_key(o, "role");
        json_out_str(o, m->role == LLM_ASSISTANT ? "model" : "user");
        json_out_key(o, "parts");
        json_out_arr_begin(o);
        if (m->role == LLM_TOOL) { /* consecutive tool answers go together, as Gemini expects */
            for (;; m = &req->messages[++i]) {
                json_out_obj_begin(o);
                json_out_key(o, "functionResponse");
                json_out_obj_begin(o);
                json_out_key(o, "name");
                json_out_str(o, tool_name(req, i));
                json_out_key(o, "response");
                object_or_wrapped(o, pool, m->content != NULL ? m->content : "", "result");
                json_out_obj_end(o);
                json_out_obj_end(o);
                if (i + 1 >= req->nmessages || req->messages[i + 1].role != LLM_TOOL)
                    break;
            }
        } else {
            if (m->content != NULL && (m->content[0] != '\0' || m->ntool_calls == 0))
                text_part(o, m->content);
            else if (m->content == NULL && m->ntool_calls == 0)
                text_part(o, "");
            for (size_t k = 0; m->role == LLM_ASSISTANT && k < m->ntool_calls; k++) {
                json_out_obj_begin(o);
                json_out_key(o, "functionCall");
                json_out_obj_begin(o);
                json_out_key(o, "name");
                json_out_str(o, m->tool_calls[k].name != NULL ? m->tool_calls[k].name : "");
                json_out_key(o, "args");
                object_or_wrapped(o, pool, m->tool_calls[k].arguments, NULL);
                json_out_obj_end(o);
                json_out_obj_end(o);
            }
        }
        json_out_arr_end(o);
        json_out_obj_end(o);
    }
    json_out_arr_end(o);
}

static void put_system(json_out_t *o, const llm_request_t *req)
{
    int any = 0;
    for (size_t i = 0; i < req->nmessages; i++) {
        if (req->messages[i].role != LLM_SYSTEM || req->messages[i].content == NULL)
            continue;
        if (!any) {
            json_out_key(o, "systemInstruction");
            json_out_obj_begin(o);
            json_out_key(o, "parts");
            json_out_arr_begin(o);
            any = 1;
        }
        text_part(o, req->messages[i].content);
    }
    if (any) {
        json_out_arr_end(o);
        json_out_obj_end(o);
    }
}

static int chat_request(const llm_provider_t *p, const llm_request_t *req, h2o_mem_pool_t *pool, char *url,
                        size_t url_cap, json_out_t *o)
{
    const json_t **schemas = llm_tool_schemas(req, pool);
    int n = snprintf(url, url_cap, "%s/models/%s:streamGenerateContent?alt=sse", p->base_url, p->model);
    if (schemas == NULL || n < 0 || (size_t)n >= url_cap)
        return -1;
    json_out_obj_begin(o);
    put_system(o, req);
    put_contents(o, req, pool);
    if (req->ntools > 0) {
        json_out_key(o, "tools");
        json_out_arr_begin(o);
        json_out_obj_begin(o);
        json_out_key(o, "functionDeclarations");
        json_out_arr_begin(o);
        for (size_t i = 0; i < req->ntools; i++) {
            json_out_obj_begin(o);
            json_out_key(o, "name");
            json_out_str(o, req->tools[i].name);
            json_out_key(o, "description");
            json_out_str(o, req->tools[i].description != NULL ? req->tools[i].description : "");
            json_out_key(o, "parameters");
            llm_json_out_filtered(o, schemas[i], schema_drop);
            json_out_obj_end(o);
        }
        json_out_arr_end(o);
        json_out_obj_end(o);
        json_out_arr_end(o);
    }
    json_out_key(o, "generationConfig");
    json_out_obj_begin(o);
    json_out_key(o, "temperature");
    json_out_raw(o, p->temperature, strlen(p->temperature));
    json_out_obj_end(o);
    json_out_obj_end(o);
    return 0;
}

static int function_call(llm_call_t *c, const json_t *fc, h2o_mem_pool_t *pool)
{
    const json_t *name = json_get(fc, "name"), *args = json_get(fc, "args"), *id = json_get(fc, "id");
    if (fc->type != JSON_OBJECT || name == NULL || name->type != JSON_STRING)
        return llm_call_error(c, LLM_ERR_PROTOCOL, "malformed functionCall");
    json_out_t a = json_out_pool(pool, 256);
    if (args != NULL && args->type == JSON_OBJECT)
        json_out_value(&a, args);
    else
        json_out_raw(&a, "{}", 2);
    int has_id = id != NULL && id->type == JSON_STRING;
    return llm_call_tool(c, llm_call_ntools(c), has_id ? id->str : NULL, has_id ? id->len : 0, name->str, name->len,
                         json_out_iov(&a).base, json_out_len(&a));
}

static int chat_event(llm_call_t *c, const char *data, size_t len)
{
    h2o_mem_pool_t pool;
    json_t *v = llm_call_json(c, data, len);
    if (v == NULL || v->type != JSON_OBJECT)
        return llm_call_error(c, LLM_ERR_PROTOCOL, "a stream event is not a JSON object");
    if (json_get(v, "error") != NULL)
        return llm_call_error(c, LLM_ERR_PROTOCOL, "the provider reported an error mid-stream");
    const json_t *u = json_get(v, "usageMetadata");
    unsigned in = 0, out = 0;
    if (u != NULL && u->type == JSON_OBJECT && llm_json_uint(json_get(u, "promptTokenCount"), &in) == 0) {
        llm_json_uint(json_get(u, "candidatesTokenCount"), &out); /* absent when nothing was generated */
        llm_call_usage(c, in, out);
    }
    const json_t *fb = json_get(v, "promptFeedback"), *cands = json_get(v, "candidates");
    if (fb != NULL && json_get(fb, "blockReason") != NULL)
        llm_call_finish_reason(c, "content_filter");
    if (cands == NULL || cands->type != JSON_ARRAY || cands->len == 0)
        return 0;
    const json_t *cand = cands->items[0], *content = json_get(cand, "content");
    const json_t *parts = content != NULL ? json_get(content, "parts") : NULL;
    int rc = 0;
    h2o_mem_init_pool(&pool);
    for (size_t i = 0; parts != NULL && parts->type == JSON_ARRAY && i < parts->len && rc == 0; i++) {
        const json_t *part = parts->items[i], *text = json_get(part, "text"), *fc = json_get(part, "functionCall");
        if (json_get(part, "thought") != NULL && json_get(part, "thought")->type == JSON_TRUE)
            continue; /* a thinking model's reasoning is not the reply */
        if (text != NULL && text->type == JSON_STRING)
            rc = llm_call_text(c, text->str, text->len);
        else if (fc != NULL)
            rc = function_call(c, fc, &pool);
    }
    h2o_mem_clear_pool(&pool);
    const json_t *fr = json_get(cand, "finishReason");
    if (rc == 0 && fr != NULL && fr->type == JSON_STRING)
        llm_call_finish_reason(c, llm_finish_reason_static(fr->str, fr->len));
    return rc;
}

static int embed_request(const llm_provider_t *p, const char *const *texts, size_t n, char *url, size_t url_cap,
                         json_out_t *o)
{
    char model[512];
    int k = snprintf(url, url_cap, "%s/models/%s:batchEmbedContents", p->base_url, p->model);
    if (k < 0 || (size_t)k >= url_cap || snprintf(model, sizeof(model), "models/%s", p->model) >= (int)sizeof(model))
        return -1;
    json_out_obj_begin(o);
    json_out_key(o, "requests");
    json_out_arr_begin(o);
    for (size_t i = 0; i < n; i++) {
        json_out_obj_begin(o);
        json_out_key(o, "model");
        json_out_str(o, model);
        json_out_key(o, "content");
        json_out_obj_begin(o);
        json_out_key(o, "parts");
        json_out_arr_begin(o);
        text_part(o, texts[i]);
        json_out_arr_end(o);
        json_out_obj_end(o);
        json_out_obj_end(o);
    }
    json_out_arr_end(o);
    json_out_obj_end(o);
    return 0;
}

static int embed_parse(const json_t *body, size_t n, h2o_mem_pool_t *pool, float ***vectors, size_t *dim)
{
    const json_t *e = json_get(body, "embeddings");
    if (e == NULL || e->type != JSON_ARRAY || e->len != n)
        return -1;
    float **v = h2o_mem_alloc_pool(pool, sizeof(*v) * n);
    *dim = 0;
    for (size_t i = 0; i < n; i++)
        if (e->items[i]->type != JSON_OBJECT || llm_json_floats(json_get(e->items[i], "values"), pool, &v[i], dim) != 0)
            return -1;
    *vectors = v;
    return 0;
}

/* The key goes in a header, never in the URL, so no URL (logged or not) can carry it. */
const llm_ops_t llm_gemini_ops = {chat_request, chat_event, embed_request, embed_parse, "x-goog-api-key: "};
