/* JSON text → json_t tree in a memory pool, driven by yajl's callback parser. Elements are
 * collected on linked lists while a container is open and packed into arrays when it closes. */
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "base/json.h"

struct json_link {
    struct json_link *next;
    json_member_t m; /* for arrays only m.value is used */
};

struct json_frame {
    json_t *node;
    struct json_link *head, *tail;
    const char *key; /* the object key waiting for its value */
    size_t key_len;
};

struct json_builder {
    h2o_mem_pool_t *pool;
    json_t *root;
    int depth; /* frames in use */
    int too_deep;
    int bad_utf8;
    struct json_frame stack[JSON_MAX_DEPTH];
};

static json_t *new_node(struct json_builder *b, json_type_t type)
{
    json_t *n = h2o_mem_alloc_pool(b->pool, sizeof(*n));
    *n = (json_t){.type = type};
    return n;
}

/* yajl lets overlong encodings and surrogates through; the API promises well-formed UTF-8. */
static int utf8_ok(struct json_builder *b, const unsigned char *s, size_t n)
{
    for (size_t i = 0, u; i < n; i += u) {
        if ((u = json_utf8_len(s + i, n - i)) == 0) {
            b->bad_utf8 = 1;
            return 0;
        }
    }
    return 1;
}

static const char *pool_strndup(h2o_mem_pool_t *pool, const unsigned char *s, size_t n)
{
    char *p = h2o_mem_alloc_pool(pool, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* Attaches a finished value to the open container, or makes it the root. */
static int add_value(struct json_builder *b, json_t *v)
{
    if (b->depth == 0) {
        b->root = v;
        return 1;
    }
    struct json_frame *f = &b->stack[b->depth - 1];
    struct json_link *l = h2o_mem_alloc_pool(b->pool, sizeof(*l));
    *l = (struct json_link){NULL, {f->key, f->key_len, v}};
    if (f->tail != NULL)
        f->tail->next = l;
    else
        f->head = l;
    f->tail = l;
    f->node->len++;
    f->key = NULL;
    return 1;
}

static int open_container(struct json_builder *b, json_type_t type)
{
    if (b->depth == JSON_MAX_DEPTH) {
        b->too_deep = 1;
        return 0;
    }
    json_t *n = new_node(b, type);
    if (!add_value(b, n))
        return 0;
    b->stack[b->depth++] = (struct json_frame){.node = n};
    return 1;
}

static int close_container(void *ctx)
{
    struct json_builder *b = ctx;
    struct json_frame *f = &b->stack[--b->depth];
    json_t *n = f->node;
    size_t i = 0;
    if (n->type == JSON_ARRAY) {
        n->items = h2o_mem_alloc_pool(b->pool, sizeof(json_t *) * (n->len ? n->len : 1));
        for (struct json_link *l = f->head; l != NULL; l = l->next)
            n->items[i++] = l->m.value;
    } else {
        n->members = h2o_mem_alloc_pool(b->pool, sizeof(json_member_t) * (n->len ? n->len : 1));
        for (struct json_link *l = f->head; l != NULL; l = l->next)
            n->members[i++] = l->m;
    }
    return 1;
}

static int on_null(void *ctx)
{
    return add_value(ctx, new_node(ctx, JSON_NULL));
}

static int on_boolean(void *ctx, int v)
{
    return add_value(ctx, new_node(ctx, v ? JSON_TRUE : JSON_FALSE));
}

static int on_number(void *ctx, const char *s, size_t n)
{
    struct json_builder *b = ctx;
    json_t *v = new_node(b, JSON_NUMBER);
    v->str = pool_strndup(b->pool, (const unsigned char *)s, n);
    v->len = n;
    return add_value(b, v);
}

static int on_string(void *ctx, const unsigned char *s, size_t n)
{
    struct json_builder *b = ctx;
    if (!utf8_ok(b, s, n))
        return 0;
    json_t *v = new_node(b, JSON_STRING);
    v->str = pool_strndup(b->pool, s, n);
    v->len = n;
    return add_value(b, v);
}

static int on_start_map(void *ctx)
{
    return open_container(ctx, JSON_OBJECT);
}

static int on_map_key(void *ctx, const unsigned char *s, size_t n)
{
    struct json_builder *b = ctx;
    struct json_frame *f = &b->stack[b->depth - 1];
    if (!utf8_ok(b, s, n))
        return 0;
    f->key = pool_strndup(b->pool, s, n);
    f->key_len = n;
    return 1;
}

static int on_start_array(void *ctx)
{
    return open_container(ctx, JSON_ARRAY);
}

static const yajl_callbacks json_callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_map_key,
    .yajl_end_map = close_container,
    .yajl_start_array = on_start_array,
    .yajl_end_array = close_container,
};

json_t *json_parse(h2o_mem_pool_t *pool, const char *text, size_t len, char *err, size_t errlen)
{
    struct json_builder b = {.pool = pool};
    yajl_handle h = yajl_alloc(&json_callbacks, NULL, &b);
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yajl_status st = yajl_parse(h, (const unsigned char *)text, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    json_t *root = NULL;
    if (st == yajl_status_ok && b.root != NULL) {
        root = b.root;
    } else if (b.too_deep) {
        snprintf(err, errlen, "nesting deeper than %d levels", JSON_MAX_DEPTH);
    } else if (b.bad_utf8) {
        snprintf(err, errlen, "a string is not well-formed UTF-8 (near byte %zu)", yajl_get_bytes_consumed(h));
    } else if (st == yajl_status_ok) {
        snprintf(err, errlen, "empty document");
    } else {
        unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
        size_t at = yajl_get_bytes_consumed(h);
        /* yajl's messages look like "lexical error: invalid char in json text.\n" */
        char *nl = strchr((char *)msg, '\n');
        if (nl != NULL)
            *nl = '\0';
        snprintf(err, errlen, "%s (near byte %zu)", (char *)msg, at);
        yajl_free_error(h, msg);
    }
    yajl_free(h);
    return root;
}

json_t *json_get(const json_t *obj, const char *key)
{
    if (obj == NULL || obj->type != JSON_OBJECT)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = obj->len; i-- > 0;) {
        const json_member_t *m = &obj->members[i];
        if (m->key_len == klen && memcmp(m->key, key, klen) == 0)
            return m->value;
    }
    return NULL;
}
