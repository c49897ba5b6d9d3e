/* JSON parsing limits and the writer's escaping and structure. */
#include "base/json.h"
#include "test/support/check.h"

static h2o_mem_pool_t pool;

static json_t *parse(const char *text, char *err)
{
    return json_parse(&pool, text, strlen(text), err, 160);
}

static const char *roundtrip(const char *text)
{
    static char err[160];
    json_t *v = parse(text, err);
    if (v == NULL)
        return err;
    json_out_t o = json_out_pool(&pool, 8);
    json_out_value(&o, v);
    char *s = h2o_mem_alloc_pool(&pool, o.len + 1);
    memcpy(s, o.buf, o.len);
    s[o.len] = '\0';
    return s;
}

static void test_parse_values(void)
{
    char err[160];
    json_t *v = parse("{\"a\": [1, 2.5, \"x\", true, false, null], \"b\": {\"c\": \"d\"}, \"a2\": -3e2}", err);
    REQUIRE(v != NULL);
    CHECK_INT(v->type, JSON_OBJECT);
    CHECK_INT(v->len, 3);
    json_t *a = json_get(v, "a");
    REQUIRE(a != NULL && a->type == JSON_ARRAY);
    CHECK_INT(a->len, 6);
    CHECK_STR(a->items[1]->str, "2.5");
    CHECK_INT(a->items[2]->type, JSON_STRING);
    CHECK_INT(a->items[3]->type, JSON_TRUE);
    CHECK_INT(a->items[5]->type, JSON_NULL);
    CHECK_STR(json_get(json_get(v, "b"), "c")->str, "d");
    CHECK(json_get(v, "zz") == NULL);
    CHECK(json_get(a, "a") == NULL);
}

static void test_duplicate_keys_last_wins(void)
{
    char err[160];
    json_t *v = parse("{\"k\": 1, \"k\": 2}", err);
    REQUIRE(v != NULL);
    CHECK_STR(json_get(v, "k")->str, "2");
}

static void test_malformed(void)
{
    char err[160];
    const char *bad[] = {"", "{", "{\"a\":}", "[1,]", "{\"a\":1} x", "// c\n{}", "\"\xff\"", "{'a':1}", "[1] [2]", "nul"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(parse(bad[i], err) == NULL);
        CHECK(err[0] != '\0');
    }
}

static void test_depth_limit(void)
{
    char err[160], deep[200];
    memset(deep, '[', 64);
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    CHECK(parse(deep, err) != NULL);
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    CHECK(parse(deep, err) == NULL);
    CHECK_CONTAINS(err, "nesting");
}

static void test_writer(void)
{
    json_out_t o = json_out_pool(&pool, 4); /* tiny, to force growth */
    json_out_obj_begin(&o);
    json_out_key(&o, "s");
    json_out_str(&o, "q\"b\\n\n\x01 é");
    json_out_key(&o, "a");
    json_out_arr_begin(&o);
    json_out_int(&o, -7);
    json_out_bool(&o, 1);
    json_out_null(&o);
    json_out_obj_begin(&o);
    json_out_obj_end(&o);
    json_out_double(&o, 0.0 / 0.0);
    json_out_arr_end(&o);
    json_out_key(&o, "bad");
    json_out_strn(&o, "a\xff\xc3", 3);
    json_out_obj_end(&o);
    char *s = h2o_mem_alloc_pool(&pool, o.len + 1);
    memcpy(s, o.buf, o.len);
    s[o.len] = '\0';
    CHECK_STR(s, "{\"s\":\"q\\\"b\\\\n\\n\\u0001 é\",\"a\":[-7,true,null,{},null],\"bad\":\"a\\ufffd\\ufffd\"}");
}

static void test_fixed_overflow(void)
{
    char buf[8];
    json_out_t o = json_out_fixed(buf, sizeof(buf));
    json_out_str(&o, "longer than eight");
    CHECK(json_out_overflowed(&o));
    CHECK(json_out_len(&o) <= sizeof(buf));
}

static void test_roundtrip(void)
{
    CHECK_STR(roundtrip("{\"a\" : [1, {\"b\": null}], \"c\": \"\\u00e9\\n\"}"), "{\"a\":[1,{\"b\":null}],\"c\":\"é\\n\"}");
    CHECK_STR(roundtrip("[]"), "[]");
    CHECK_STR(roundtrip("{\"k\\u0000\": 1}"), "{\"k\\u0000\":1}");
}

int main(void)
{
    h2o_mem_init_pool(&pool);
    test_parse_values();
    test_duplicate_keys_last_wins();
    test_malformed();
    test_depth_limit();
    test_writer();
    test_fixed_overflow();
    test_roundtrip();
    h2o_mem_clear_pool(&pool);
    return check_done("json");
}
