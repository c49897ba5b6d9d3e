/* The body validator: every field type's accepted and refused values, the 422 item it reports
 * (loc, type), unknown members, required vs partial, nullability, time zones and UUIDs. */
#include <stdio.h>
#include <string.h>

#include "pipeline/validate.h"
#include "test/support/check.h"

static h2o_mem_pool_t pool;

static const char *const tones[] = {"professional", "friendly", "casual", NULL};

static const vfield_t fields[] = {
    {"name", V_STRING, V_REQUIRED, .min_len = 1, .max_len = 5},
    {"note", V_STRING, V_NULLABLE, .max_len = 3},
    {"count", V_INT, 0, .min = 1, .max = 5},
    {"any_int", V_INT, 0},
    {"flag", V_BOOL, 0},
    {"links", V_OBJECT, V_STRING_VALUES, .max_len = 2, .item_max_len = 4},
    {"meta", V_OBJECT, V_NULLABLE},
    {"tags", V_STRINGS, 0, .min_len = 1, .max_len = 2, .item_max_len = 3},
    {"tone", V_ENUM, 0, .values = tones},
    {"tz", V_TIMEZONE, 0},
    {"site", V_URL, V_NULLABLE, .max_len = 40},
    {"phone", V_PHONE, 0},
    {"day", V_DATE, 0},
};
static const vschema_t schema = {fields, sizeof(fields) / sizeof(fields[0])};

/* Validates text; returns the error type ("" when valid) and leaves the error in *err. */
static const char *run(const char *text, vmode_t mode, verror_t *err)
{
    char perr[160];
    json_t *v = json_parse(&pool, text, strlen(text), perr, sizeof(perr));
    if (v == NULL) {
        fprintf(stderr, "test body does not parse: %s: %s\n", text, perr);
        return "(bad test json)";
    }
    memset(err, 0, sizeof(*err));
    return validate_json(&schema, v, mode, err) == 0 ? "" : err->type;
}

static void expect(const char *text, vmode_t mode, const char *type, const char *loc1, const char *loc2, int line)
{
    verror_t err;
    const char *got = run(text, mode, &err);
    int ok = strcmp(got, type) == 0;
    if (ok && type[0] != '\0') {
        ok = err.loc[0] != NULL && strcmp(err.loc[0], "body") == 0 && err.msg[0] != '\0';
        if (loc1 == NULL)
            ok = ok && err.loc[1] == NULL;
        else
            ok = ok && err.loc[1] != NULL && strcmp(err.loc[1], loc1) == 0 &&
                 (loc2 == NULL ? err.loc[2] == NULL : err.loc[2] != NULL && strcmp(err.loc[2], loc2) == 0);
    }
    check_count++;
    if (!ok) {
        check_failures++;
        fprintf(stderr, "line %d: %s -> type \"%s\" loc [%s, %s, %s] msg \"%s\"; expected \"%s\" at [body, %s, %s]\n",
                line, text, got, err.loc[0] ? err.loc[0] : "-", err.loc[1] ? err.loc[1] : "-",
                err.loc[1] && err.loc[2] ? err.loc[2] : "-", err.msg, type, loc1 ? loc1 : "-", loc2 ? loc2 : "-");
    }
}

#define OK(text) expect((text), V_PARTIAL, "", NULL, NULL, __LINE__)
#define BAD(text, type, field) expect((text), V_PARTIAL, (type), (field), NULL, __LINE__)
#define BAD_AT(text, type, field, key) expect((text), V_PARTIAL, (type), (field), (key), __LINE__)

static void test_shape(void)
{
    BAD("[]", "model_attributes_type", NULL);
    BAD("\"x\"", "model_attributes_type", NULL);
    BAD("null", "model_attributes_type", NULL);
    OK("{}");
    /* unknown members, whatever their value, before any other error */
    BAD("{\"nmae\": \"x\"}", "extra_forbidden", "nmae");
    BAD("{\"name\": 5, \"zzz\": 1}", "extra_forbidden", "zzz");
    BAD("{\"Name\": \"x\"}", "extra_forbidden", "Name");
    /* a key with a NUL inside is not "name" */
    BAD("{\"name\\u0000\": \"x\"}", "extra_forbidden", "name");
}

static void test_required(void)
{
    verror_t err;
    CHECK_STR(run("{}", V_FULL, &err), "missing");
    CHECK_STR(err.loc[1], "name");
    CHECK_STR(err.msg, "Field required");
    CHECK_STR(run("{\"name\": \"ann\"}", V_FULL, &err), "");
    /* a partial update needs nothing */
    CHECK_STR(run("{\"flag\": true}", V_PARTIAL, &err), "");
    /* required is not nullable */
    CHECK_STR(run("{\"name\": null}", V_FULL, &err), "string_type");
}

static void test_strings(void)
{
    OK("{\"name\": \"abcde\"}");
    OK("{\"name\": \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}"); /* 5 characters, 10 bytes */
    BAD("{\"name\": \"abcdef\"}", "string_too_long", "name");
    BAD("{\"name\": \"\"}", "string_too_short", "name");
    BAD("{\"name\": 5}", "string_type", "name");
    BAD("{\"name\": [\"a\"]}", "string_type", "name");
    BAD("{\"name\": null}", "string_type", "name");
    BAD("{\"name\": \"a\\u0000b\"}", "string_type", "name");
    OK("{\"note\": null}");
    OK("{\"note\": \"abc\"}");
    BAD("{\"note\": \"abcd\"}", "string_too_long", "note");
    /* a repeated member is judged by its last value, like json_get and jsonb */
    OK("{\"name\": \"toolongvalue\", \"name\": \"ok\"}");
    BAD("{\"name\": \"ok\", \"name\": \"toolongvalue\"}", "string_too_long", "name");

    verror_t err;
    run("{\"note\": \"abcd\"}", V_PARTIAL, &err);
    CHECK_STR(err.msg, "String should have at most 3 characters");
}

static void test_ints_bools(void)
{
    OK("{\"count\": 1}");
    OK("{\"count\": 5}");
    BAD("{\"count\": 0}", "greater_than_equal", "count");
    BAD("{\"count\": 6}", "less_than_equal", "count");
    BAD("{\"count\": 2.5}", "int_from_float", "count");
    BAD("{\"count\": 1e1}", "int_from_float", "count");
    BAD("{\"count\": \"3\"}", "int_type", "count");
    BAD("{\"count\": true}", "int_type", "count");
    BAD("{\"count\": null}", "int_type", "count");
    OK("{\"any_int\": -9223372036854775808}");
    OK("{\"any_int\": 9223372036854775807}");
    BAD("{\"any_int\": 9223372036854775808}", "less_than_equal", "any_int");
    BAD("{\"any_int\": -99999999999999999999}", "greater_than_equal", "any_int");
    OK("{\"flag\": true}");
    OK("{\"flag\": false}");
    BAD("{\"flag\": 1}", "bool_type", "flag");
    BAD("{\"flag\": \"true\"}", "bool_type", "flag");
    BAD("{\"flag\": null}", "bool_type", "flag");
}

static void test_objects_arrays_enums(void)
{
    OK("{\"links\": {}}");
    OK("{\"links\": {\"x\": \"abcd\", \"y\": \"\"}}");
    BAD("{\"links\": {\"a\": \"1\", \"b\": \"2\", \"c\": \"3\"}}", "too_long", "links");
    BAD_AT("{\"links\": {\"x\": 5}}", "string_type", "links", "x");
    BAD_AT("{\"links\": {\"x\": \"abcde\"}}", "string_too_long", "links", "x");
    BAD_AT("{\"links\": {\"x\": null}}", "string_type", "links", "x");
    BAD("{\"links\": []}", "dict_type", "links");
    BAD("{\"links\": null}", "dict_type", "links");
    OK("{\"meta\": {\"deep\": [1, {\"x\": null}]}}");
    OK("{\"meta\": null}");
    BAD("{\"meta\": {\"deep\": [\"a\\u0000\"]}}", "value_error", "meta");
    BAD("{\"meta\": {\"k\\u0000\": 1}}", "value_error", "meta");
    BAD("{\"links\": {\"k\\u0000\": \"v\"}}", "value_error", "links");

    OK("{\"tags\": [\"a\", \"abc\"]}");
    BAD("{\"tags\": []}", "too_short", "tags");
    BAD("{\"tags\": [\"a\", \"b\", \"c\"]}", "too_long", "tags");
    BAD_AT("{\"tags\": [\"a\", 1]}", "string_type", "tags", "1");
    BAD_AT("{\"tags\": [\"abcd\"]}", "string_too_long", "tags", "0");
    BAD("{\"tags\": \"a\"}", "list_type", "tags");

    OK("{\"tone\": \"casual\"}");
    BAD("{\"tone\": \"Casual\"}", "enum", "tone");
    BAD("{\"tone\": \"\"}", "enum", "tone");
    BAD("{\"tone\": 1}", "enum", "tone");
    verror_t err;
    run("{\"tone\": \"rude\"}", V_PARTIAL, &err);
    CHECK_STR(err.msg, "Input should be 'professional', 'friendly' or 'casual'");
}

static void test_timezones(void)
{
    static const char *const good[] = {"UTC", "Europe/Paris", "America/New_York", "America/Argentina/Buenos_Aires",
                                       "Etc/GMT+5", "Asia/Kolkata", "America/Port-au-Prince"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int ok = validate_timezone(good[i], strlen(good[i]), NULL);
        if (!ok)
            fprintf(stderr, "time zone %s refused\n", good[i]);
        CHECK(ok);
    }
    static const char *const bad[] = {"", "Mars/Olympus", "Europe", "europe/paris", "/etc/passwd", "../../etc/passwd",
                                      "Europe/../Europe/Paris", "Europe//Paris", "Europe/Paris/", "zone.tab",
                                      "tzdata.zi", "leapseconds", "posixrules", "posix/Europe/Paris",
                                      "right/Europe/Paris", "Europe/Paris\n", "Europe/Paris ", "localtime",
                                      "+0100", "1Europe"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int ok = validate_timezone(bad[i], strlen(bad[i]), NULL);
        if (ok)
            fprintf(stderr, "time zone \"%s\" accepted\n", bad[i]);
        CHECK(!ok);
    }
    /* a NUL inside the name does not cut it short */
    CHECK(!validate_timezone("UTC\0/x", 6, NULL));
    char longname[200];
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK(!validate_timezone(longname, strlen(longname), NULL));

    OK("{\"tz\": \"Europe/Paris\"}");
    BAD("{\"tz\": \"Nowhere/Else\"}", "value_error", "tz");
    BAD("{\"tz\": null}", "string_type", "tz");
    BAD("{\"tz\": 1}", "string_type", "tz");
}

static void test_urls_phones_dates(void)
{
    OK("{\"site\": \"https://example.com\"}");
    OK("{\"site\": \"http://example.com:8080/a?b=c#d\"}");
    OK("{\"site\": \"HTTPS://user@[::1]:443/x\"}");
    OK("{\"site\": null}");
    BAD("{\"site\": \"ftp://example.com\"}", "url_scheme", "site");
    BAD("{\"site\": \"javascript://alert(1)\"}", "url_scheme", "site");
    BAD("{\"site\": \"example.com\"}", "url_parsing", "site");
    BAD("{\"site\": \"example.com/?next=https://x.y\"}", "url_parsing", "site");
    BAD("{\"site\": \"://example.com\"}", "url_parsing", "site");
    BAD("{\"site\": \"1http://example.com\"}", "url_parsing", "site");
    BAD("{\"site\": \"git+ssh://example.com\"}", "url_scheme", "site");
    BAD("{\"site\": \"https://\"}", "url_parsing", "site");
    BAD("{\"site\": \"https:///path\"}", "url_parsing", "site");
    BAD("{\"site\": \"https://exa mple.com\"}", "url_parsing", "site");
    BAD("{\"site\": \"https://example.com:99999\"}", "url_parsing", "site");
    BAD("{\"site\": \"https://example.com:\"}", "url_parsing", "site");
    BAD("{\"site\": \"https://example.com\\n\"}", "url_parsing", "site");
    BAD("{\"site\": \"https://example.com/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "url_too_long", "site");
    BAD("{\"site\": 5}", "string_type", "site");

    OK("{\"phone\": \"+1 (555) 123-4567\"}");
    OK("{\"phone\": \"5551234\"}");
    OK("{\"phone\": \"+12345678901234567890\"}");
    BAD("{\"phone\": \"555123\"}", "string_pattern_mismatch", "phone");
    BAD("{\"phone\": \"123456789012345678901\"}", "string_pattern_mismatch", "phone");
    BAD("{\"phone\": \"++15551234\"}", "string_pattern_mismatch", "phone");
    BAD("{\"phone\": \"555-CALL-NOW\"}", "string_pattern_mismatch", "phone");
    BAD("{\"phone\": \"5551234 ext. 5\"}", "string_pattern_mismatch", "phone");
    BAD("{\"phone\": 5551234}", "string_type", "phone");

    OK("{\"day\": \"2024-02-29\"}");
    OK("{\"day\": \"2026-12-31\"}");
    BAD("{\"day\": \"2026-02-29\"}", "date_parsing", "day");
    BAD("{\"day\": \"1900-02-29\"}", "date_parsing", "day");
    BAD("{\"day\": \"2026-13-01\"}", "date_parsing", "day");
    BAD("{\"day\": \"2026-1-01\"}", "date_parsing", "day");
    BAD("{\"day\": \"2026-01-01T00:00:00Z\"}", "date_parsing", "day");
    BAD("{\"day\": \"0000-01-01\"}", "date_parsing", "day");
    BAD("{\"day\": 20260101}", "date_type", "day");
}

static void test_uuid(void)
{
    char out[37];
    CHECK(validate_uuid("0F8E2A4C-1b3d-4e5f-8a9b-0c1d2e3f4a5b", 36, out));
    CHECK_STR(out, "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b");
    CHECK(!validate_uuid("0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5", 35, NULL));
    CHECK(!validate_uuid("0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5bb", 37, NULL));
    CHECK(!validate_uuid("0f8e2a4c11b3d-4e5f-8a9b-0c1d2e3f4a5b", 36, NULL));
    CHECK(!validate_uuid("0f8e2a4g-1b3d-4e5f-8a9b-0c1d2e3f4a5b", 36, NULL));
    CHECK(!validate_uuid("not-a-uuid", 10, NULL));
}

int main(void)
{
    h2o_mem_init_pool(&pool);
    test_shape();
    test_required();
    test_strings();
    test_ints_bools();
    test_objects_arrays_enums();
    test_timezones();
    test_urls_phones_dates();
    test_uuid();
    h2o_mem_clear_pool(&pool);
    return check_done("test_validate");
}
