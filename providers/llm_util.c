/* Small helpers shared by the providers: a few JSON readings, finish reasons. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/llm_internal.h"

const char *llm_finish_reason_static(const char *s, size_t n)
{
    static const char *const known[][2] = {
        {"stop", "stop"},
        {"length", "length"},
        {"tool_calls", "tool_calls"},
        {"function_call", "tool_calls"},
        {"content_filter", "content_filter"}, /* OpenAI */
        {"STOP", "stop"},
        {"MAX_TOKENS", "length"},
        {"SAFETY", "content_filter"},
        {"RECITATION", "content_filter"},
        {"BLOCKLIST", "content_filter"}, /* Gemini */
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strlen(known[i][0]) == n && memcmp(known[i][0], s, n) == 0)
            return known[i][1];
    return "other";
}

int llm_json_uint(const json_t *v, unsigned *out)
{
    if (v == NULL || v->type != JSON_NUMBER || v->str[0] == '-')
        return -1;
    char *end;
    unsigned long x = strtoul(v->str, &end, 10);
    if (end == v->str || x > 0xffffffffUL)
        return -1;
    *out = (unsigned)x;
    return 0;
}

static int dropped(const json_member_t *m, const char *const *drop)
{
    for (; drop != NULL && *drop != NULL; drop++)
        if (strlen(*drop) == m->key_len && memcmp(*drop, m->key, m->key_len) == 0)
            return 1;
    return 0;
}

void llm_json_out_filtered(json_out_t *o, const json_t *v, const char *const *drop)
{
    switch (v->type) {
    case JSON_OBJECT:
        json_out_obj_begin(o);
        for (size_t i = 0; i < v->len; i++) {
            if (dropped(&v->members[i], drop))
                continue;
            json_out_keyn(o, v->members[i].key, v->members[i].key_len);
            llm_json_out_filtered(o, v->members[i].value, drop);
        }
        json_out_obj_end(o);
        break;
    case JSON_ARRAY:
        json_out_arr_begin(o);
        for (size_t i = 0; i < v->len; i++)
            llm_json_out_filtered(o, v->items[i], drop);
        json_out_arr_end(o);
        break;
    default:
        json_out_value(o, v);
    }
}

#define LLM_MAX_EMBED_DIM 8192

int llm_json_floats(const json_t *arr, h2o_mem_pool_t *pool, float **out, size_t *dim)
{
    if (arr == NULL || arr->type != JSON_ARRAY || arr->len == 0 || arr->len > LLM_MAX_EMBED_DIM ||
        (*dim != 0 && arr->len != *dim))
        return -1;
    float *v = h2o_mem_alloc_pool(pool, sizeof(float) * arr->len);
    for (size_t i = 0; i < arr->len; i++) {
        if (arr->items[i]->type != JSON_NUMBER)
            return -1;
        v[i] = strtof(arr->items[i]->str, NULL);
    }
    *out = v;
    *dim = arr->len;
    return 0;
}

void llm_auth_header(const llm_provider_t *p, char *buf, size_t cap)
{
    const llm_ops_t *ops = p->kind == LLM_KIND_GEMINI ? &llm_gemini_ops : &llm_openai_ops;
    if (p->kind == LLM_KIND_STUB || p->key == NULL || snprintf(buf, cap, "%s%s", ops->auth_prefix, p->key) >= (int)cap)
        buf[0] = '\0';
}
