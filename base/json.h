/* JSON in and out. Parsing builds a read-only tree in a request's memory pool (yajl underneath,
 * with a nesting limit); writing appends to a buffer that grows in a pool or is fixed-size. */
#ifndef base_json_h
#define base_json_h

#include <stddef.h>
#include <stdint.h>

#define H2O_USE_LIBUV 1
#include <h2o/memory.h>

#define JSON_MAX_DEPTH 64

typedef enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type_t;

typedef struct json json_t;
typedef struct json_member json_member_t;

struct json {
    json_type_t type;
    size_t len; /* bytes of a string or number's text; elements of an array or object */
    union {
        const char *str;         /* STRING (NUL-terminated; may also hold \0 inside) and NUMBER text */
        json_t **items;          /* ARRAY */
        json_member_t *members;  /* OBJECT, in document order */
    };
};

struct json_member {
    const char *key;
    size_t key_len;
    json_t *value;
};

/* Parses exactly one JSON value (no comments, UTF-8 validated, nesting <= JSON_MAX_DEPTH).
 * Returns NULL with a short reason in err on malformed input. */
json_t *json_parse(h2o_mem_pool_t *pool, const char *text, size_t len, char *err, size_t errlen);

/* The member named key of an object (the last one if repeated), or NULL. */
json_t *json_get(const json_t *obj, const char *key);

/* ---- output ------------------------------------------------------------------------------ */

typedef struct json_out {
    char *buf;
    size_t len, cap;
    h2o_mem_pool_t *pool; /* NULL: fixed buffer, excess is dropped and `overflow` set */
    unsigned first : 1, after_key : 1, overflow : 1;
} json_out_t;

json_out_t json_out_fixed(char *buf, size_t cap);
json_out_t json_out_pool(h2o_mem_pool_t *pool, size_t initial);

void json_out_obj_begin(json_out_t *o);
void json_out_obj_end(json_out_t *o);
void json_out_arr_begin(json_out_t *o);
void json_out_arr_end(json_out_t *o);
void json_out_key(json_out_t *o, const char *key);
void json_out_keyn(json_out_t *o, const char *key, size_t n); /* keys may hold \0 */
void json_out_str(json_out_t *o, const char *s);
void json_out_strn(json_out_t *o, const char *s, size_t n);
void json_out_int(json_out_t *o, long long v);
void json_out_double(json_out_t *o, double v);
void json_out_bool(json_out_t *o, int v);
void json_out_null(json_out_t *o);
/* Appends trusted JSON text (e.g. built by PostgreSQL) as one value. */
void json_out_raw(json_out_t *o, const char *json, size_t n);
/* Re-serialises a parsed tree. */
void json_out_value(json_out_t *o, const json_t *v);

size_t json_out_len(const json_out_t *o);
int json_out_overflowed(const json_out_t *o);
h2o_iovec_t json_out_iov(const json_out_t *o);
/* The text NUL-terminated (the terminator is not counted in the length); NULL if it cannot fit. */
const char *json_out_cstr(json_out_t *o);

/* Length of the well-formed UTF-8 sequence at s (1-4 bytes), or 0 for an ill-formed one:
 * overlong forms, surrogates and code points past U+10FFFF included. */
size_t json_utf8_len(const unsigned char *s, size_t n);

/* Escapes s as the inside of a JSON string literal. Invalid UTF-8 becomes U+FFFD, so the output is
 * always valid JSON whatever the bytes came from (paths, headers). */
void json_out_escaped(json_out_t *o, const char *s, size_t n);

#endif
