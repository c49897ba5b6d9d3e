/* JSON writer: commas and escaping handled here so callers only say what to write. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/json.h"

json_out_t json_out_fixed(char *buf, size_t cap)
{
    return (json_out_t){.buf = buf, .cap = cap, .first = 1};
}

json_out_t json_out_pool(h2o_mem_pool_t *pool, size_t initial)
{
    if (initial < 64)
        initial = 64;
    return (json_out_t){.buf = h2o_mem_alloc_pool(pool, initial), .cap = initial, .pool = pool, .first = 1};
}

/* Makes room for n more bytes; returns how many may actually be written. */
static size_t reserve(json_out_t *o, size_t n)
{
    if (o->len + n <= o->cap)
        return n;
    if (o->pool == NULL) {
        o->overflow = 1;
        return o->cap - o->len;
    }
    size_t cap = o->cap * 2;
    while (cap < o->len + n)
        cap *= 2;
    char *buf = h2o_mem_alloc_pool(o->pool, cap); /* the old block is reclaimed with the pool */
    memcpy(buf, o->buf, o->len);
    o->buf = buf;
    o->cap = cap;
    return n;
}

static void put(json_out_t *o, const char *s, size_t n)
{
    n = reserve(o, n);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void put_char(json_out_t *o, char c)
{
    put(o, &c, 1);
}

/* Called before every value: a comma unless it is the first element or follows a key. */
static void before_value(json_out_t *o)
{
    if (!o->first && !o->after_key)
        put_char(o, ',');
    o->first = 0;
    o->after_key = 0;
}

void json_out_obj_begin(json_out_t *o)
{
    before_value(o);
    put_char(o, '{');
    o->first = 1;
}

void json_out_obj_end(json_out_t *o)
{
    put_char(o, '}');
    o->first = 0;
}

void json_out_arr_begin(json_out_t *o)
{
    before_value(o);
    put_char(o, '[');
    o->first = 1;
}

void json_out_arr_end(json_out_t *o)
{
    put_char(o, ']');
    o->first = 0;
}

size_t json_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void json_out_escaped(json_out_t *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        const unsigned char *run = p;
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        put(o, (const char *)run, (size_t)(p - run));
        if (p == end)
            break;
        size_t u;
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\', esc[1] = (char)*p;
            put(o, esc, 2);
            p++;
        } else if (*p < 0x20) {
            static const char short_esc[] = {['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
            if (*p < sizeof(short_esc) && short_esc[*p]) {
                esc[0] = '\\', esc[1] = short_esc[*p];
                put(o, esc, 2);
            } else {
                snprintf(esc, sizeof(esc), "\\u%04x", *p);
                put(o, esc, 6);
            }
            p++;
        } else if ((u = json_utf8_len(p, (size_t)(end - p))) != 0) {
            put(o, (const char *)p, u);
            p += u;
        } else {
            put(o, "\\ufffd", 6);
            p++;
        }
    }
}

void json_out_keyn(json_out_t *o, const char *key, size_t n)
{
    if (!o->first)
        put_char(o, ',');
    o->first = 0;
    put_char(o, '"');
    json_out_escaped(o, key, n);
    put(o, "\":", 2);
    o->after_key = 1;
}

void json_out_key(json_out_t *o, const char *key)
{
    json_out_keyn(o, key, strlen(key));
}

void json_out_strn(json_out_t *o, const char *s, size_t n)
{
    before_value(o);
    put_char(o, '"');
    json_out_escaped(o, s, n);
    put_char(o, '"');
}

void json_out_str(json_out_t *o, const char *s)
{
    json_out_strn(o, s, strlen(s));
}

void json_out_int(json_out_t *o, long long v)
{
    char buf[24];
    before_value(o);
    put(o, buf, (size_t)snprintf(buf, sizeof(buf), "%lld", v));
}

void json_out_double(json_out_t *o, double v)
{
    char buf[32];
    before_value(o);
    if (!isfinite(v)) /* JSON has no NaN or infinity */
        put(o, "null", 4);
    else
        put(o, buf, (size_t)snprintf(buf, sizeof(buf), "%.17g", v));
}

void json_out_bool(json_out_t *o, int v)
{
    before_value(o);
    put(o, v ? "true" : "false", v ? 4 : 5);
}

void json_out_null(json_out_t *o)
{
    before_value(o);
    put(o, "null", 4);
}

void json_out_raw(json_out_t *o, const char *json, size_t n)
{
    before_value(o);
    put(o, json, n);
}

void json_out_value(json_out_t *o, const json_t *v)
{
    switch (v->type) {
    case JSON_NULL:
        json_out_null(o);
        break;
    case JSON_FALSE:
    case JSON_TRUE:
        json_out_bool(o, v->type == JSON_TRUE);
        break;
    case JSON_NUMBER:
        json_out_raw(o, v->str, v->len);
        break;
    case JSON_STRING:
        json_out_strn(o, v->str, v->len);
        break;
    case JSON_ARRAY:
        json_out_arr_begin(o);
        for (size_t i = 0; i < v->len; i++)
            json_out_value(o, v->items[i]);
        json_out_arr_end(o);
        break;
    case JSON_OBJECT:
        json_out_obj_begin(o);
        for (size_t i = 0; i < v->len; i++) {
            json_out_keyn(o, v->members[i].key, v->members[i].key_len);
            json_out_value(o, v->members[i].value);
        }
        json_out_obj_end(o);
        break;
    }
}

size_t json_out_len(const json_out_t *o)
{
    return o->len;
}

int json_out_overflowed(const json_out_t *o)
{
    return o->overflow;
}

const char *json_out_cstr(json_out_t *o)
{
    if (reserve(o, 1) == 0)
        return NULL; /* a full fixed buffer */
    o->buf[o->len] = '\0';
    return o->buf;
}

h2o_iovec_t json_out_iov(const json_out_t *o)
{
    return h2o_iovec_init(o->buf, o->len);
}
