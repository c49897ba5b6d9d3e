/* Keyset cursors: round trips, refusal of anything the server did not issue (edited, truncated,
 * another collection's, garbage), `limit` parsing, and query parameter decoding. */
#include <string.h>

#include "pipeline/cursor.h"
#include "pipeline/req.h"
#include "test/support/check.h"

#define TS "2026-11-22T10:00:00.123456Z"
#define ID "0f8e2a4c-1b3d-4e5f-8a9b-0c1d2e3f4a5b"

static void test_roundtrip(void)
{
    char tok[CURSOR_TOKEN_MAX];
    size_t n = cursor_encode("orgs", TS, ID, tok);
    CHECK(n > 0);
    CHECK_INT(strlen(tok), n);
    CHECK(n < CURSOR_TOKEN_MAX);
    /* base64url without padding: safe in a query string as it is */
    CHECK(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n);

    cursor_key_t k;
    CHECK_INT(cursor_decode("orgs", tok, n, &k), 0);
    CHECK_STR(k.ts, TS);
    CHECK_STR(k.id, ID);

    /* upper-case UUIDs come back lower-case; whole-second and offset timestamps survive */
    n = cursor_encode("orgs", "2026-01-01T00:00:00Z", "0F8E2A4C-1B3D-4E5F-8A9B-0C1D2E3F4A5B", tok);
    CHECK(n > 0);
    CHECK_INT(cursor_decode("orgs", tok, n, &k), 0);
    CHECK_STR(k.ts, "2026-01-01T00:00:00Z");
    CHECK_STR(k.id, ID);
    n = cursor_encode("orgs", "2026-01-01 00:00:00.5+02:00", ID, tok);
    CHECK_INT(n, 0); /* a space is not a timestamp character we issue */
    n = cursor_encode("orgs", "2026-01-01T00:00:00.5+02:00", ID, tok);
    CHECK(n > 0);

    /* the same key gives the same token (no randomness), another key another token */
    char a[CURSOR_TOKEN_MAX], b[CURSOR_TOKEN_MAX];
    cursor_encode("orgs", TS, ID, a);
    cursor_encode("orgs", TS, ID, b);
    CHECK_STR(a, b);
    cursor_encode("orgs", "2026-11-22T10:00:00.123457Z", ID, b);
    CHECK(strcmp(a, b) != 0);
}

static void test_refused_inputs_to_encode(void)
{
    char tok[CURSOR_TOKEN_MAX];
    CHECK_INT(cursor_encode("orgs", TS, "not-a-uuid", tok), 0);
    CHECK_INT(cursor_encode("orgs", TS, "0f8e2a4c1b3d4e5f8a9b0c1d2e3f4a5b", tok), 0);
    CHECK_INT(cursor_encode("orgs", "", ID, tok), 0);
    CHECK_INT(cursor_encode("orgs", "2026", ID, tok), 0);
    CHECK_INT(cursor_encode("orgs", "2026-11-22T10:00:00.123456789012345678901234Z", ID, tok), 0);
}

static void test_forgeries(void)
{
    char tok[CURSOR_TOKEN_MAX], t2[CURSOR_TOKEN_MAX];
    size_t n = cursor_encode("orgs", TS, ID, tok);
    cursor_key_t k;

    /* another collection's cursor */
    CHECK_INT(cursor_decode("org_members", tok, n, &k), -1);

    /* every single-character edit is caught */
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int accepted = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t a = 0; a < 64; a++) {
            if (alphabet[a] == tok[i])
                continue;
            memcpy(t2, tok, n + 1);
            t2[i] = alphabet[a];
            accepted += cursor_decode("orgs", t2, n, &k) == 0;
        }
    }
    CHECK_INT(accepted, 0);

    /* truncated, extended, empty, padded, other alphabets, garbage */
    for (size_t len = 0; len < n; len++)
        CHECK_INT(cursor_decode("orgs", tok, len, &k), -1);
    memcpy(t2, tok, n);
    memcpy(t2 + n, "AA", 3);
    CHECK_INT(cursor_decode("orgs", t2, n + 2, &k), -1);
    memcpy(t2, tok, n);
    memcpy(t2 + n, "==", 3);
    CHECK_INT(cursor_decode("orgs", t2, n + 2, &k), -1);
    static const char *const junk[] = {"abc", "null", "0", "eyJpZCI6MX0", "////////////////////////////////",
                                       "++++++++++++++++++++++++++++++++++++++++"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
        CHECK_INT(cursor_decode("orgs", junk[i], strlen(junk[i]), &k), -1);
    char huge[4096];
    memset(huge, 'A', sizeof(huge));
    CHECK_INT(cursor_decode("orgs", huge, sizeof(huge), &k), -1);
    /* an embedded NUL */
    memcpy(t2, tok, n + 1);
    t2[3] = '\0';
    CHECK_INT(cursor_decode("orgs", t2, n, &k), -1);
}

static void test_limit(void)
{
    int v = 0;
    CHECK_INT(cursor_parse_limit("1", 1, &v), 0);
    CHECK_INT(v, 1);
    CHECK_INT(cursor_parse_limit("200", 3, &v), 0);
    CHECK_INT(v, 200);
    CHECK_INT(cursor_parse_limit("050", 3, &v), 0);
    CHECK_INT(v, 50);
    static const char *const bad[] = {"",    "0",   "201", "-1",   "+5",   "1.5",
                                      "1e2", "abc", "10 ", " 10", "1000", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        CHECK_INT(cursor_parse_limit(bad[i], strlen(bad[i]), &v), -1);
        CHECK_INT(v, 7);
    }
}

/* req_query_param reads only the request's path and query offset. */
static long query(const char *path, const char *name, char *out, size_t cap)
{
    h2o_req_t h2o;
    memset(&h2o, 0, sizeof(h2o));
    h2o.path = h2o_iovec_init(path, strlen(path));
    const char *q = strchr(path, '?');
    h2o.query_at = q != NULL ? (size_t)(q - path) : SIZE_MAX;
    req_t r;
    memset(&r, 0, sizeof(r));
    r.h2o = &h2o;
    return req_query_param(&r, name, out, cap);
}

static void test_query_param(void)
{
    char v[32];
    CHECK_INT(query("/api/v1/orgs", "limit", v, sizeof(v)), -1);
    CHECK_INT(query("/api/v1/orgs?", "limit", v, sizeof(v)), -1);
    CHECK_INT(query("/api/v1/orgs?limit=10", "limit", v, sizeof(v)), 2);
    CHECK_STR(v, "10");
    CHECK_INT(query("/api/v1/orgs?cursor=abc&limit=5&limit=6", "limit", v, sizeof(v)), 1);
    CHECK_STR(v, "5");
    CHECK_INT(query("/api/v1/orgs?climit=1&limit=3", "limit", v, sizeof(v)), 1);
    CHECK_STR(v, "3");
    CHECK_INT(query("/api/v1/orgs?limit", "limit", v, sizeof(v)), 0);
    CHECK_STR(v, "");
    CHECK_INT(query("/api/v1/orgs?limit=", "limit", v, sizeof(v)), 0);
    CHECK_INT(query("/api/v1/orgs?l%69mit=%32%30+x", "limit", v, sizeof(v)), 4);
    CHECK_STR(v, "20 x");
    CHECK_INT(query("/api/v1/orgs?limit=%zz%4", "limit", v, sizeof(v)), 5);
    CHECK_STR(v, "%zz%4");
    CHECK_INT(query("/api/v1/orgs?limit=0123456789", "limit", v, 5), -2);
    CHECK_INT(query("/api/v1/orgs?&&limit=1&", "limit", v, sizeof(v)), 1);
}

int main(void)
{
    test_roundtrip();
    test_refused_inputs_to_encode();
    test_forgeries();
    test_limit();
    test_query_param();
    return check_done("test_cursor");
}
