/* Key-path lookups and deep comparison over yajl_tree values, for the tests' assertions. */
#include "test/support/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

yajl_val ts_json_parse(const char *text, const char *what)
{
    char err[512] = "";
    yajl_val tree = text != NULL ? yajl_tree_parse(text, err, sizeof(err)) : NULL;
    if (tree == NULL)
        fprintf(stderr, "%s is not JSON (%s): %.300s\n", what, err[0] ? err : "no text", text ? text : "(null)");
    return tree;
}

void ts_json_free(yajl_val tree)
{
    yajl_tree_free(tree);
}

yajl_val ts_json_at(yajl_val v, const char *const *path)
{
    for (; v != NULL && *path != NULL; path++) {
        yajl_val next = NULL;
        if (YAJL_IS_OBJECT(v)) {
            for (size_t i = 0; i < v->u.object.len; i++)
                if (strcmp(v->u.object.keys[i], *path) == 0)
                    next = v->u.object.values[i];
        } else if (YAJL_IS_ARRAY(v)) {
            char *end;
            unsigned long idx = strtoul(*path, &end, 10);
            if (*end == '\0' && end != *path && idx < v->u.array.len)
                next = v->u.array.values[idx];
        }
        v = next;
    }
    return v;
}

long long ts_json_int_or(yajl_val v, long long fallback)
{
    return YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : fallback;
}

size_t ts_json_len(yajl_val v)
{
    return YAJL_IS_OBJECT(v) ? v->u.object.len : YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
}

int ts_json_equal(yajl_val a, yajl_val b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (YAJL_IS_NUMBER(a) && YAJL_IS_NUMBER(b)) {
        /* 1.5e0 and 1.5 are the same number; integers compare exactly. */
        if (YAJL_IS_INTEGER(a) && YAJL_IS_INTEGER(b))
            return YAJL_GET_INTEGER(a) == YAJL_GET_INTEGER(b);
        return YAJL_IS_DOUBLE(a) && YAJL_IS_DOUBLE(b) ? YAJL_GET_DOUBLE(a) == YAJL_GET_DOUBLE(b)
                                                      : strtod(a->u.number.r, NULL) == strtod(b->u.number.r, NULL);
    }
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case yajl_t_string:
        return strcmp(a->u.string, b->u.string) == 0;
    case yajl_t_true:
    case yajl_t_false:
    case yajl_t_null:
        return 1;
    case yajl_t_array:
        if (a->u.array.len != b->u.array.len)
            return 0;
        for (size_t i = 0; i < a->u.array.len; i++)
            if (!ts_json_equal(a->u.array.values[i], b->u.array.values[i]))
                return 0;
        return 1;
    case yajl_t_object:
        if (a->u.object.len != b->u.object.len)
            return 0;
        for (size_t i = 0; i < a->u.object.len; i++) {
            yajl_val bv = ts_json_at(b, (const char *const[]){a->u.object.keys[i], NULL});
            if (!ts_json_equal(a->u.object.values[i], bv))
                return 0;
        }
        return 1;
    default:
        return 0;
    }
}
