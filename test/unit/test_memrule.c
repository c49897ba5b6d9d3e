/* Memory rules: accepted forms, every refusal with its exact column (in characters) and message,
 * the JSON rendering read back with json_parse, and event matching. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "handlers/memrule.h"
#include "test/support/check.h"

/* Parses a heap copy of exactly len bytes (no NUL after it), so that ASan reports any read past
 * the end of the text. */
static int parse_n(const char *text, size_t len, memrule_t *out, memrule_error_t *err)
{
    char *copy = malloc(len > 0 ? len : 1);
    REQUIRE(copy != NULL);
    memcpy(copy, text, len);
    memset(err, 0, sizeof(*err));
    int rc = memrule_parse(copy, len, out, err);
    free(copy);
    return rc;
}

/* Parses text that must be accepted; says why on stderr when it is not. */
static int parse_ok(const char *text, memrule_t *out)
{
    memrule_error_t err;
    if (parse_n(text, strlen(text), out, &err) == 0)
        return 1;
    fprintf(stderr, "refused: [%s]: column %zu: %s\n", text, err.column, err.msg);
    return 0;
}

static memrule_error_t parse_bad(const char *text, size_t len, int *rc)
{
    memrule_t r;
    memrule_error_t err;
    *rc = parse_n(text, len, &r, &err);
    return err;
}

/* A macro so that a failure names the line of the case. */
#define CHECK_BAD_N(text, len, col, frag)                                                                              \
    do {                                                                                                               \
        int rc_;                                                                                                       \
        memrule_error_t e_ = parse_bad((text), (len), &rc_);                                                           \
        CHECK_INT(rc_, -1);                                                                                            \
        CHECK_INT(e_.column, (col));                                                                                   \
        CHECK_CONTAINS(e_.msg, (frag));                                                                                \
    } while (0)
#define CHECK_BAD(text, col, frag) CHECK_BAD_N((text), strlen(text), (col), (frag))

static void test_minimal(void)
{
    memrule_t r;
    REQUIRE(parse_ok("when hubspot.contact.creation then log", &r));
    CHECK_STR(r.event, "hubspot.contact.creation");
    CHECK_INT(r.action, MEMRULE_LOG);
    CHECK_INT(r.nparams, 0);
    CHECK(memrule_param(&r, "type") == NULL);

    REQUIRE(parse_ok("when a then create_task type=x", &r));
    CHECK_STR(r.event, "a");
    CHECK_INT(r.action, MEMRULE_CREATE_TASK);
    CHECK_INT(r.nparams, 1);
    CHECK_STR(r.params[0].key, "type");
    CHECK_STR(r.params[0].value, "x");
    CHECK_INT(r.params[0].value_len, 1);
    CHECK_STR(memrule_param(&r, "type"), "x");
    CHECK_STR(memrule_action_name(r.action), "create_task");
    CHECK_STR(memrule_action_name(MEMRULE_LOG), "log");

    /* digits, underscores and inner dots are event characters */
    REQUIRE(parse_ok("when calendar.event.not_exists2 then log", &r));
    CHECK_STR(r.event, "calendar.event.not_exists2");
}

static void test_whitespace(void)
{
    memrule_t r;
    REQUIRE(parse_ok("  \t when\t\thubspot.contact.creation   then \t create_task\t type=follow_up  note=hi \t", &r));
    CHECK_STR(r.event, "hubspot.contact.creation");
    CHECK_INT(r.action, MEMRULE_CREATE_TASK);
    CHECK_INT(r.nparams, 2);
    CHECK_STR(memrule_param(&r, "type"), "follow_up");
    CHECK_STR(memrule_param(&r, "note"), "hi"); /* trailing whitespace is not part of the value */
    CHECK_INT(r.params[1].value_len, 2);
}

static void test_values(void)
{
    memrule_t r;
    REQUIRE(parse_ok("when gmail.message.received then create_task type=email.reply "
                     "note=\"say \\\"hi\\\" to C:\\\\temp  now\" url=https://x.test/?a=b&c=d empty=\"\" "
                     "tabbed=\"a\tb\" path=C:\\dir",
                     &r));
    CHECK_INT(r.nparams, 6);
    CHECK_STR(memrule_param(&r, "type"), "email.reply");
    CHECK_STR(memrule_param(&r, "note"), "say \"hi\" to C:\\temp  now");
    CHECK_INT(r.params[1].value_len, strlen("say \"hi\" to C:\\temp  now"));
    CHECK_STR(memrule_param(&r, "url"), "https://x.test/?a=b&c=d"); /* '=' is fine in a bare value */
    CHECK_STR(memrule_param(&r, "empty"), "");                      /* an explicit empty value */
    CHECK_INT(r.params[3].value_len, 0);
    CHECK_STR(memrule_param(&r, "tabbed"), "a\tb");
    CHECK_STR(memrule_param(&r, "path"), "C:\\dir"); /* backslash is literal outside quotes */
    /* order is the rule's */
    CHECK_STR(r.params[0].key, "type");
    CHECK_STR(r.params[2].key, "url");
    CHECK_STR(r.params[5].key, "path");
    /* values live in the rule itself */
    for (size_t i = 0; i < r.nparams; i++) {
        const char *v = r.params[i].value;
        CHECK(v >= r.storage && v + r.params[i].value_len < r.storage + sizeof(r.storage));
    }
    /* a key may start with '_' and hold digits */
    REQUIRE(parse_ok("when a then log _k9=1", &r));
    CHECK_STR(memrule_param(&r, "_k9"), "1");
}

static void test_utf8(void)
{
    memrule_t r;
    REQUIRE(parse_ok("when a then log note=\"Café — 日本 🎉\" who=José", &r));
    CHECK_STR(memrule_param(&r, "note"), "Café — 日本 🎉");
    CHECK_INT(r.params[0].value_len, strlen("Café — 日本 🎉"));
    CHECK_STR(memrule_param(&r, "who"), "José");
}

static void test_log(void)
{
    memrule_t r;
    REQUIRE(parse_ok("when calendar.event.exists then log", &r));
    CHECK_INT(r.action, MEMRULE_LOG);
    CHECK_INT(r.nparams, 0);
    REQUIRE(parse_ok("when calendar.event.exists then log level=info msg=\"a b\"", &r));
    CHECK_INT(r.action, MEMRULE_LOG);
    CHECK_INT(r.nparams, 2);
    CHECK_STR(memrule_param(&r, "level"), "info");
    CHECK_STR(memrule_param(&r, "msg"), "a b");
    /* type means nothing special to log: it is not held to the task type syntax */
    REQUIRE(parse_ok("when a then log type=Anything!", &r));
    CHECK_STR(memrule_param(&r, "type"), "Anything!");
}

/* "when a then log k0=v0 ... k<n-1>=v<n-1>" */
static void many_params(char *buf, size_t cap, const char *head, int from, int n)
{
    size_t o = (size_t)snprintf(buf, cap, "%s", head);
    for (int i = from; i < from + n; i++)
        o += (size_t)snprintf(buf + o, cap - o, " k%d=v%d", i, i);
}

static void test_sixteen_params(void)
{
    char buf[512];
    memrule_t r;
    many_params(buf, sizeof(buf), "when a then log", 0, MEMRULE_MAX_PARAMS);
    REQUIRE(parse_ok(buf, &r));
    CHECK_INT(r.nparams, 16);
    CHECK_STR(r.params[0].key, "k0");
    CHECK_STR(r.params[15].key, "k15");
    CHECK_STR(memrule_param(&r, "k15"), "v15");
    CHECK_STR(memrule_param(&r, "k7"), "v7");

    many_params(buf, sizeof(buf), "when a then create_task type=t", 1, MEMRULE_MAX_PARAMS - 1);
    REQUIRE(parse_ok(buf, &r));
    CHECK_INT(r.nparams, 16);

    /* the 17th: reported at its key */
    many_params(buf, sizeof(buf), "when a then log", 0, MEMRULE_MAX_PARAMS + 1);
    CHECK_BAD(buf, (size_t)(strstr(buf, "k16=") - buf) + 1, "too many parameters (at most 16)");
}

static void test_limits(void)
{
    char buf[2048];
    memrule_t r;

    /* event: 128 characters pass, 129 fail at the 129th */
    memset(buf, 0, sizeof(buf));
    memcpy(buf, "when ", 5);
    memset(buf + 5, 'e', 128);
    strcat(buf, " then log");
    REQUIRE(parse_ok(buf, &r));
    CHECK_INT(strlen(r.event), 128);
    memset(buf, 0, sizeof(buf));
    memcpy(buf, "when ", 5);
    memset(buf + 5, 'e', 129);
    strcat(buf, " then log");
    CHECK_BAD(buf, 134, "event type longer than 128 characters");

    /* key: 64 pass, 65 fail at the 65th */
    memset(buf, 0, sizeof(buf));
    strcpy(buf, "when a then log ");
    memset(buf + 16, 'k', 64);
    strcat(buf, "=1");
    REQUIRE(parse_ok(buf, &r));
    CHECK_INT(strlen(r.params[0].key), 64);
    memset(buf, 0, sizeof(buf));
    strcpy(buf, "when a then log ");
    memset(buf + 16, 'k', 65);
    strcat(buf, "=1");
    CHECK_BAD(buf, 81, "parameter key longer than 64 characters");

    /* task type: 64 pass, 65 fail (at the value) */
    memset(buf, 0, sizeof(buf));
    strcpy(buf, "when a then create_task type=");
    memset(buf + 29, 't', 64);
    REQUIRE(parse_ok(buf, &r));
    CHECK_INT(strlen(memrule_param(&r, "type")), 64);
    buf[29 + 64] = 't';
    CHECK_BAD(buf, 30, "task type must match [a-z0-9_.]{1,64}");

    /* the whole rule: 1000 bytes pass, 1001 fail at column 1001 */
    memset(buf, 0, sizeof(buf));
    strcpy(buf, "when a then log v=");
    memset(buf + 18, 'x', 1000 - 18);
    REQUIRE(parse_ok(buf, &r));
    CHECK_INT(r.params[0].value_len, 1000 - 18);
    buf[1000] = 'x';
    CHECK_BAD(buf, 1001, "rule longer than 1000 bytes");
    /* trailing whitespace counts towards the limit too */
    buf[1000] = ' ';
    CHECK_BAD(buf, 1001, "rule longer than 1000 bytes");
    /* with 2-byte characters the column is in characters: byte 1000 is the second half of the
     * 491st 'é', which starts at character 19 + 490 + 1 */
    memset(buf, 0, sizeof(buf));
    strcpy(buf, "when a then log n=\"");
    for (int i = 0; i < 491; i++)
        strcat(buf, "é");
    strcat(buf, "\"");
    CHECK_INT(strlen(buf), 1002);
    CHECK_BAD(buf, 510, "rule longer than 1000 bytes");
    /* a very long text is refused without being read to its end (ASan checks the bound) */
    char *big = malloc(1 << 20);
    REQUIRE(big != NULL);
    memset(big, 'x', 1 << 20);
    CHECK_BAD_N(big, 1 << 20, 1001, "rule longer than 1000 bytes");
    free(big);
}

static void test_keywords(void)
{
    CHECK_BAD("hubspot.contact.creation then log", 1, "expected \"when\"");
    CHECK_BAD("When a then log", 1, "expected \"when\"");
    CHECK_BAD("  WHEN a then log", 3, "expected \"when\"");
    CHECK_BAD("whenever a then log", 1, "expected \"when\"");
    CHECK_BAD("", 1, "expected \"when\"");
    CHECK_BAD(" \t ", 4, "expected \"when\"");
    CHECK_BAD("when a create_task type=x", 8, "expected \"then\"");
    CHECK_BAD("when a Then log", 8, "expected \"then\"");
    CHECK_BAD("when a", 7, "expected \"then\"");
    CHECK_BAD("when a   ", 10, "expected \"then\"");

    memrule_t r;
    memrule_error_t err;
    CHECK_INT(memrule_parse(NULL, 0, &r, &err), -1);
    CHECK_INT(err.column, 1);
    CHECK_INT(memrule_parse("When", 4, &r, NULL), -1); /* err is optional */
}

static void test_event_errors(void)
{
    int rc;
    memrule_error_t e = parse_bad("when Hubspot.contact then log", 29, &rc);
    CHECK_INT(rc, -1);
    CHECK_INT(e.column, 6);
    CHECK_STR(e.msg, "expected an event type ([a-z0-9_.]+)");
    CHECK_BAD("when", 5, "expected an event type ([a-z0-9_.]+)");
    CHECK_BAD("when hubspot.Contact then log", 14, "invalid character in event type ([a-z0-9_.]+)");
    CHECK_BAD("when hubspot-x then log", 13, "invalid character in event type");
    CHECK_BAD("when a\"b then log", 7, "invalid character in event type");
    CHECK_BAD("when hubspot..contact then log", 13, "event type must not contain \"..\"");
    CHECK_BAD("when .a then log", 6, "event type must not start with '.'");
    CHECK_BAD("when a. then log", 7, "event type must not end with '.'");
    CHECK_BAD("when . then log", 6, "must not start with '.'");
    /* no wildcards (see memrule.h) */
    CHECK_BAD("when hubspot.* then log", 14, "invalid character in event type");
}

static void test_action_errors(void)
{
    int rc;
    memrule_error_t e = parse_bad("when a then notify", 18, &rc);
    CHECK_INT(rc, -1);
    CHECK_INT(e.column, 13);
    CHECK_STR(e.msg, "unknown action \"notify\" (create_task, log)");
    char line[200];
    memrule_error_format(&e, line, sizeof(line));
    CHECK_STR(line, "column 13: unknown action \"notify\" (create_task, log)");

    CHECK_BAD("when a then Log", 13, "unknown action \"Log\"");
    CHECK_BAD("when a then log=1", 13, "unknown action \"log=1\"");
    CHECK_BAD("when a then", 12, "expected an action (create_task, log)");
    CHECK_BAD("when a then  ", 14, "expected an action (create_task, log)");

    /* a long unknown action is echoed cut short, on a character boundary: "x" and 25 'é' are 51
     * bytes, and byte 32 is the second half of the 16th 'é', so 15 are kept */
    const char *long_action = "when a then xééééééééééééééééééééééééé";
    e = parse_bad(long_action, strlen(long_action), &rc);
    CHECK_INT(rc, -1);
    CHECK_INT(e.column, 13);
    CHECK_STR(e.msg, "unknown action \"xééééééééééééééé...\" (create_task, log)");

    e = parse_bad("when a then create_task", 23, &rc);
    CHECK_INT(rc, -1);
    CHECK_INT(e.column, 13);
    CHECK_STR(e.msg, "create_task needs type=<task type>");
    CHECK_BAD("when a then create_task note=x", 13, "create_task needs type=<task type>");
    CHECK_BAD("when a then create_task type=Follow", 30, "task type must match [a-z0-9_.]{1,64}");
    CHECK_BAD("when a then create_task type=\"\"", 30, "task type must match");
    CHECK_BAD("when a then create_task type=\"a b\"", 30, "task type must match");
    CHECK_BAD("when a then create_task note=x type=a-b", 37, "task type must match");
}

static void test_param_errors(void)
{
    int rc;
    CHECK_BAD("when a then log Level=1", 17, "expected a parameter key ([a-z_][a-z0-9_]*)");
    CHECK_BAD("when a then log 9k=1", 17, "expected a parameter key");
    CHECK_BAD("when a then log leVel=1", 19, "invalid character in parameter key ([a-z_][a-z0-9_]*)");
    CHECK_BAD("when a then log level info", 22, "expected '=' after parameter \"level\"");
    CHECK_BAD("when a then log level", 22, "expected '=' after parameter \"level\"");
    CHECK_BAD("when a then log level= x", 23, "expected a value after '='");
    CHECK_BAD("when a then log level=", 23, "expected a value after '='");

    memrule_error_t e = parse_bad("when a then log note=\"abc", 25, &rc);
    CHECK_INT(rc, -1);
    CHECK_INT(e.column, 22);
    CHECK_STR(e.msg, "unterminated string");
    CHECK_BAD("when a then log note=\"abc\\\"", 22, "unterminated string"); /* the quote is escaped */
    CHECK_BAD("when a then log note=\"abc\\", 22, "unterminated string");
    CHECK_BAD("when a then log note=\"a\\nb\"", 24, "invalid escape (only \\\" and \\\\)");
    CHECK_BAD("when a then log note=\"a\\'b\"", 24, "invalid escape");
    CHECK_BAD("when a then log k=\"a\"b", 22, "expected a space after the closing quote");
    CHECK_BAD("when a then log k=a\"b\"", 20, "unexpected '\"' in a bare value");

    e = parse_bad("when a then create_task type=x type=y", 37, &rc);
    CHECK_INT(rc, -1);
    CHECK_INT(e.column, 32);
    CHECK_STR(e.msg, "duplicate parameter \"type\"");
    CHECK_BAD("when a then log a=1 b=2 a=3", 25, "duplicate parameter \"a\"");
    /* a key that is a prefix of another is not a duplicate */
    memrule_t r;
    CHECK(parse_ok("when a then log ab=1 a=2", &r));

    /* garbage after the action or a parameter */
    CHECK_BAD("when a then log =", 17, "expected a parameter key");
    CHECK_BAD("when a then create_task type=x =", 32, "expected a parameter key");
    CHECK_BAD("when a then log k=v \"x\"", 21, "expected a parameter key");
}

static void test_bytes(void)
{
    CHECK_BAD("when a then log\n", 16, "newline not allowed");
    CHECK_BAD("when a\nthen log", 7, "newline not allowed");
    CHECK_BAD("when a then log\r\n", 16, "newline not allowed");
    /* a newline in a quoted value is reported as such, not as an unterminated string */
    CHECK_BAD("when a then log note=\"a\nb\"", 24, "newline not allowed");
    CHECK_BAD("when a then log note=\"a\n", 24, "newline not allowed");
    /* nor as a missing type or parameter when the newline cuts the rule short */
    CHECK_BAD("when a then create_task\n type=x", 24, "newline not allowed");
    CHECK_BAD("when a then log k\n=v", 18, "newline not allowed");
    /* an earlier syntax error still comes first */
    CHECK_BAD("When a then log\n", 1, "expected \"when\"");
    CHECK_BAD("when a then log k=a\x01" "b", 20, "control character not allowed");
    CHECK_BAD_N("when a then log k=a\0b", 21, 20, "control character not allowed");
    CHECK_BAD("when a then log k=\"\x7f\"", 20, "control character not allowed");
    CHECK_BAD("when a then log k=\"\xff\"", 20, "invalid UTF-8");
    CHECK_BAD("when a then log k=\"é\xc3\"", 21, "invalid UTF-8"); /* truncated sequence */
    CHECK_BAD("when a then log k=\"\xc0\xaf\"", 20, "invalid UTF-8");    /* overlong '/' */
    CHECK_BAD("When \xff", 1, "expected \"when\"");
}

/* Columns after multi-byte characters are counted in characters, not bytes. */
static void test_columns_in_characters(void)
{
    /* n17 o18 t19 e20 =21 "22 h23 é24 l25 l26 o27 ' '28 w29 ö30 r31 l32 d33 "34 ' '35 B36 (byte 38) */
    CHECK_BAD("when a then log note=\"héllo wörld\" Bad=1", 36, "expected a parameter key");
    /* two 4-byte emoji: w17 h18 o19 =20 🎉21 🎉22 ' '23 x24, then the end at 25 */
    CHECK_BAD("when a then log who=🎉🎉 x", 25, "expected '=' after parameter \"x\"");
    CHECK_BAD("when a then log note=\"日本\\t\"", 25, "invalid escape");
    CHECK_BAD("when a then log a=日本 a=2", 22, "duplicate parameter \"a\"");
    CHECK_BAD("when a then log a=\"日本\"x", 23, "expected a space after the closing quote");
}

static void test_json(void)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    memrule_t r;

    REQUIRE(parse_ok("when hubspot.contact.creation then create_task type=crm.follow_up "
                     "note=\"say \\\"hi\\\" \\\\ Café 🎉\" n=3",
                     &r));
    json_out_t o = json_out_pool(&pool, 16);
    memrule_to_json(&r, &o);
    char perr[160] = "";
    json_t *v = json_parse(&pool, o.buf, o.len, perr, sizeof(perr));
    REQUIRE(v != NULL);
    CHECK_INT(v->type, JSON_OBJECT);
    CHECK_INT(v->len, 3);
    json_t *ev = json_get(v, "event"), *ac = json_get(v, "action"), *ps = json_get(v, "params");
    REQUIRE(ev != NULL && ac != NULL && ps != NULL);
    CHECK_INT(ev->type, JSON_STRING);
    CHECK_STR(ev->str, "hubspot.contact.creation");
    CHECK_STR(ac->str, "create_task");
    REQUIRE(ps->type == JSON_OBJECT);
    CHECK_INT(ps->len, 3);
    /* in rule order, values decoded (the escapes are JSON's now, not the rule's) */
    CHECK_STR(ps->members[0].key, "type");
    CHECK_STR(ps->members[1].key, "note");
    CHECK_STR(ps->members[2].key, "n");
    CHECK_STR(json_get(ps, "type")->str, "crm.follow_up");
    CHECK_STR(json_get(ps, "note")->str, "say \"hi\" \\ Café 🎉");
    CHECK_INT(json_get(ps, "n")->type, JSON_STRING); /* values are always strings */
    CHECK_STR(json_get(ps, "n")->str, "3");

    /* log without parameters: params is an empty object; the exact text pins the shape */
    REQUIRE(parse_ok("when gmail.message.received then log", &r));
    char buf[128];
    json_out_t f = json_out_fixed(buf, sizeof(buf));
    memrule_to_json(&r, &f);
    CHECK(!json_out_overflowed(&f));
    CHECK_INT(f.len, strlen("{\"event\":\"gmail.message.received\",\"action\":\"log\",\"params\":{}}"));
    buf[f.len < sizeof(buf) ? f.len : sizeof(buf) - 1] = '\0';
    CHECK_STR(buf, "{\"event\":\"gmail.message.received\",\"action\":\"log\",\"params\":{}}");

    /* as an element of something larger: one value, commas handled by the writer */
    o = json_out_pool(&pool, 16);
    json_out_arr_begin(&o);
    memrule_to_json(&r, &o);
    memrule_to_json(&r, &o);
    json_out_arr_end(&o);
    v = json_parse(&pool, o.buf, o.len, perr, sizeof(perr));
    REQUIRE(v != NULL);
    CHECK_INT(v->type, JSON_ARRAY);
    CHECK_INT(v->len, 2);

    h2o_mem_clear_pool(&pool);
}

static void test_matches(void)
{
    memrule_t r;
    REQUIRE(parse_ok("when hubspot.contact.creation then log", &r));
    CHECK_INT(memrule_matches(&r, "hubspot.contact.creation"), 1);
    CHECK_INT(memrule_matches(&r, "hubspot.contact.creation2"), 0);
    CHECK_INT(memrule_matches(&r, "hubspot.contact.creatio"), 0);
    CHECK_INT(memrule_matches(&r, "hubspot.contact"), 0);
    CHECK_INT(memrule_matches(&r, "gmail.message.received"), 0);
    CHECK_INT(memrule_matches(&r, ""), 0);
    CHECK_INT(memrule_matches(&r, NULL), 0);
    /* webhook types are compared case-insensitively: HubSpot's are camelCase */
    CHECK_INT(memrule_matches(&r, "HubSpot.Contact.Creation"), 1);
    REQUIRE(parse_ok("when hubspot.contact.propertychange then log", &r));
    CHECK_INT(memrule_matches(&r, "hubspot.contact.propertyChange"), 1);
    /* a prefix rule is not a wildcard */
    REQUIRE(parse_ok("when hubspot then log", &r));
    CHECK_INT(memrule_matches(&r, "hubspot.contact.creation"), 0);
    CHECK_INT(memrule_matches(&r, "hubspot"), 1);
    REQUIRE(parse_ok("when calendar.event.exists then log", &r));
    CHECK_INT(memrule_matches(&r, "calendar.event.exists"), 1);
    CHECK_INT(memrule_matches(&r, "calendar.event.sync"), 0);
}

int main(void)
{
    test_minimal();
    test_whitespace();
    test_values();
    test_utf8();
    test_log();
    test_sixteen_params();
    test_limits();
    test_keywords();
    test_event_errors();
    test_action_errors();
    test_param_errors();
    test_bytes();
    test_columns_in_characters();
    test_json();
    test_matches();
    return check_done("memrule");
}
