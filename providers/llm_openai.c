/* The OpenAI chat-completions and embeddings wire format, which Groq, OpenRouter, llama.cpp and
 * Ollama also speak: the request bodies, the streamed chunks, the embeddings answer. */
#include <stdio.h>
#include <string.h>

#include "providers/llm_internal.h"

/* Parses each tool's JSON Schema; NULL when one is not a JSON object. */
const json_t **llm_tool_schemas(const llm_request_t *req, h2o_mem_pool_t *pool)
{
    const json_t **s = h2o_mem_alloc_pool(pool, sizeof(*s) * (req->ntools + 1));
    char err[64];
    for (size_t i = 0; i < req->ntools; i++) {
        const char *text = req->tools[i].parameters != NULL ? req->tools[i].parameters : "{\"type\":\"object\"}";
        if (req->tools[i].name == NULL || (s[i] = json_parse(pool, text, strlen(text), err, sizeof(err))) == NULL ||
            s[i]->type != JSON_OBJECT)
            return NULL;
    }
    return s;
}

static void put_str(json_out_t *o, const char *key, const char *s)
{
    json_out_key(o, key);
    if (s != NULL)
        json_out_str(o, s);
    else
        json_out_null(o);
}

static void put_message(json_out_t *o, const llm_message_t *m)
{
    static const char *const roles[] = {"system", "user", "assistant", "tool"};
    json_out_obj_begin(o);
    put_str(o, "role", roles[m->role]);
    if (m->role == LLM_TOOL) {
        put_str(o, "tool_call_id", m->tool_call_id != NULL ? m->tool_call_id : "");
        put_str(o, "content", m->content != NULL ? m->content : "");
    } else if (m->role == LLM_ASSISTANT && m->ntool_calls > 0) {
        put_str(o, "content", m->content); /* null when it only called tools */
        json_out_key(o, "tool_calls");
        json_out_arr_begin(o);
        for (size_t i = 0; i < m->ntool_calls; i++) {
            const llm_tool_call_t *t = &m->tool_calls[i];
            json_out_obj_begin(o);
            put_str(o, "id", t->id != NULL ? t->id : "");
            put_str(o, "type", "function");
            json_out_key(o, "function");
            json_out_obj_begin(o);
            put_str(o, "name", t->name != NULL ? t->name : "");
            put_str(o, "arguments", t->arguments != NULL ? t->arguments : "{}");
            json_out_obj_end(o);
            json_out_obj_end(o);
        }
        json_out_arr_end(o);
    } else {
        put_str(o, "content", m->content != NULL ? m->content : "");
    }
    json_out_obj_end(o);
}

static int chat_request(const llm_provider_t *p, const llm_request_t *req, h2o_mem_pool_t *pool, char *url,
                        size_t url_cap, json_out_t *o)
{
    const json_t **schemas = llm_tool_schemas(req, pool);
    int n = snprintf(url, url_cap, "%s/chat/completions", p->base_url);
    if (schemas == NULL || n < 0 || (size_t)n >= url_cap)
        return -1;
    json_out_obj_begin(o);
    put_str(o, "model", p->model);
    json_out_key(o, "stream");
    json_out_bool(o, 1);
    json_out_key(o, "stream_options");
    json_out_obj_begin(o);
    json_out_key(o, "include_usage");
    json_out_bool(o, 1);
    json_out_obj_end(o);
    json_out_key(o, "temperature");
    json_out_raw(o, p->temperature, strlen(p->temperature));
    json_out_key(o, "messages");
    json_out_arr_begin(o);
    for (size_t i = 0; i < req->nmessages; i++)
        put_message(o, &req->messages[i]);
    json_out_arr_end(o);
    if (req->ntools > 0) {
        json_out_key(o, "tools");
        json_out_arr_begin(o);
        for (size_t i = 0; i < req->ntools; i++) {
            json_out_obj_begin(o);
            put_str(o, "type", "function");
            json_out_key(o, "function");
            json_out_obj_begin(o);
            put_str(o, "name", req->tools[i].name);
            put_str(o, "description", req->tools[i].description != NULL ? req->tools[i].description : "");
            json_out_key(o, "parameters");
            json_out_value(o, schemas[i]);
            json_out_obj_end(o);
            json_out_obj_end(o);
        }
        json_out_arr_end(o);
    }
    json_out_obj_end(o);
    return 0;
}

static const char *str_or(const json_t *v, size_t *len)
{
    if (v == NULL || v->type != JSON_STRING) {
        *len = 0;
        return NULL;
    }
    *len = v->len;
    return v->str;
}

static int tool_fragments(llm_call_t *c, const json_t *calls)
{
    if (calls->type != JSON_ARRAY)
        return llm_call_error(c, LLM_ERR_PROTOCOL, "tool_calls is not an array");
    for (size_t i = 0; i < calls->len; i++) {
        const json_t *t = calls->items[i], *f = json_get(t, "function");
        unsigned index = (unsigned)i;
        if (t->type != JSON_OBJECT ||
            (json_get(t, "index") != NULL && llm_json_uint(json_get(t, "index"), &index) != 0))
            return llm_call_error(c, LLM_ERR_PROTOCOL, "malformed tool call fragment");
        size_t id_len, name_len, args_len;
        const char *id = str_or(json_get(t, "id"), &id_len);
        const char *name = str_or(f != NULL ? json_get(f, "name") : NULL, &name_len);
        const char *args = str_or(f != NULL ? json_get(f, "arguments") : NULL, &args_len);
        int rc = llm_call_tool(c, index, id, id_len, name, name_len, args, args_len);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void usage(llm_call_t *c, const json_t *u)
{
    unsigned in = 0, out = 0;
    if (u != NULL && u->type == JSON_OBJECT && llm_json_uint(json_get(u, "prompt_tokens"), &in) == 0 &&
        llm_json_uint(json_get(u, "completion_tokens"), &out) == 0)
        llm_call_usage(c, in, out);
}

static int chat_event(llm_call_t *c, const char *data, size_t len)
{
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        llm_call_end(c);
        return 0;
    }
    json_t *v = llm_call_json(c, data, len);
    if (v == NULL || v->type != JSON_OBJECT)
        return llm_call_error(c, LLM_ERR_PROTOCOL, "a stream event is not a JSON object");
    if (json_get(v, "error") != NULL) /* OpenRouter reports failures after the 200 this way */
        return llm_call_error(c, LLM_ERR_PROTOCOL, "the provider reported an error mid-stream");
    usage(c, json_get(v, "usage"));
    const json_t *groq = json_get(v, "x_groq"); /* Groq's usage rides here */
    if (groq != NULL && groq->type == JSON_OBJECT)
        usage(c, json_get(groq, "usage"));
    const json_t *choices = json_get(v, "choices");
    if (choices == NULL || choices->type != JSON_ARRAY || choices->len == 0)
        return 0; /* e.g. the usage chunk */
    const json_t *ch = choices->items[0], *delta = json_get(ch, "delta");
    if (ch->type != JSON_OBJECT)
        return llm_call_error(c, LLM_ERR_PROTOCOL, "a choice is not an object");
    if (delta != NULL && delta->type == JSON_OBJECT) {
        const json_t *content = json_get(delta, "content"), *calls = json_get(delta, "tool_calls");
        int rc = 0;
        if (content != NULL && content->type == JSON_STRING)
            rc = llm_call_text(c, content->str, content->len);
        if (rc == 0 && calls != NULL && calls->type != JSON_NULL)
            rc = tool_fragments(c, calls);
        if (rc != 0)
            return rc;
    }
    const json_t *fr = json_get(ch, "finish_reason");
    if (fr != NULL && fr->type == JSON_STRING)
        llm_call_finish_reason(c, llm_finish_reason_static(fr->str, fr->len));
    return 0;
}

static int embed_request(const llm_provider_t *p, const char *const *texts, size_t n, char *url, size_t url_cap,
                         json_out_t *o)
{
    int k = snprintf(url, url_cap, "%s/embeddings", p->base_url);
    if (k < 0 || (size_t)k >= url_cap)
        return -1;
    json_out_obj_begin(o);
    put_str(o, "model", p->model);
    json_out_key(o, "input");
    json_out_arr_begin(o);
    for (size_t i = 0; i < n; i++)
        json_out_str(o, texts[i]);
    json_out_arr_end(o);
    json_out_obj_end(o);
    return 0;
}

static int embed_parse(const json_t *body, size_t n, h2o_mem_pool_t *pool, float ***vectors, size_t *dim)
{
    const json_t *data = json_get(body, "data");
    if (data == NULL || data->type != JSON_ARRAY || data->len != n)
        return -1;
    float **v = h2o_mem_alloc_pool(pool, sizeof(*v) * n);
    memset(v, 0, sizeof(*v) * n);
    *dim = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned index = (unsigned)i;
        const json_t *item = data->items[i];
        if (item->type != JSON_OBJECT ||
            (json_get(item, "index") != NULL && llm_json_uint(json_get(item, "index"), &index) != 0) || index >= n ||
            v[index] != NULL || llm_json_floats(json_get(item, "embedding"), pool, &v[index], dim) != 0)
            return -1;
    }
    *vectors = v;
    return 0;
}

const llm_ops_t llm_openai_ops = {chat_request, chat_event, embed_request, embed_parse, "Authorization: Bearer "};
