/* Reading the server's JSON in tests: parse with yajl_tree, then look values up by key path,
 * e.g. ts_json_get_str(tree, "checks", "database"). */
#ifndef test_support_json_h
#define test_support_json_h

#include <stddef.h>
#include <yajl/yajl_tree.h>

/* Parses text; NULL (and a message on stderr naming `what`) when it is not JSON. */
yajl_val ts_json_parse(const char *text, const char *what);
void ts_json_free(yajl_val tree);

/* The value at a NULL-terminated key path (array elements by decimal index), or NULL. */
yajl_val ts_json_at(yajl_val tree, const char *const *path);

#define TS_JSON_PATH(...) ((const char *const[]){__VA_ARGS__, NULL})
#define ts_json_get(tree, ...) ts_json_at((tree), TS_JSON_PATH(__VA_ARGS__))
/* The string at the path, or NULL when it is missing or not a string. */
#define ts_json_get_str(tree, ...) YAJL_GET_STRING(ts_json_get((tree), __VA_ARGS__))
#define ts_json_is_str(tree, ...) YAJL_IS_STRING(ts_json_get((tree), __VA_ARGS__))
#define ts_json_is_int(tree, ...) YAJL_IS_INTEGER(ts_json_get((tree), __VA_ARGS__))
#define ts_json_is_number(tree, ...) YAJL_IS_NUMBER(ts_json_get((tree), __VA_ARGS__))
#define ts_json_is_object(tree, ...) YAJL_IS_OBJECT(ts_json_get((tree), __VA_ARGS__))
#define ts_json_is_array(tree, ...) YAJL_IS_ARRAY(ts_json_get((tree), __VA_ARGS__))
/* The integer at the path, or -1 when it is missing or not an integer (check ts_json_is_int). */
#define ts_json_get_int(tree, ...) ts_json_int_or(ts_json_get((tree), __VA_ARGS__), -1)

long long ts_json_int_or(yajl_val v, long long fallback);

/* The number of members of an object or elements of an array; 0 for anything else. */
size_t ts_json_len(yajl_val v);

/* Deep equality: objects compare member-wise in any order, numbers by value. */
int ts_json_equal(yajl_val a, yajl_val b);

#endif
