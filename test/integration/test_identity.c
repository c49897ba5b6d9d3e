/* Identity, profile and organizations through the real server: tenant isolation between two
 * organizations, member vs admin, keyset pagination and its 422s, the profile's defaults, partial
 * updates and every validation rule, /auth/verify, and HTTP/2. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"
#include "test/support/ts_jwt.h"

#define SECRET "integration-test-secret-0123456789abcdef"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY;

static ts_server_t *srv;

/* One caller: the token's identity and the server's ids for it (from /auth/me). */
typedef struct who {
    char sub[128], org[128];
    const char *role;
    char *token;
    char user_id[40], org_id[40];
} who_t;

static void call(const char *method, const char *path, const who_t *w, const char *body, ts_version_t v, ts_resp_t *r)
{
    const char *headers[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (w != NULL)
        headers[n++] = ts_jwt_bearer(w->token);
    if (body != NULL)
        headers[n++] = "Content-Type: application/json";
    ts_http_request(&(ts_req_t){.method = method, .url = ts_server_url(srv, 0, path), .headers = headers,
                                .body = body, .body_len = body ? strlen(body) : 0, .version = v},
                    r);
}

static yajl_val get_json(const char *path, const who_t *w, long want, int line)
{
    ts_resp_t r;
    call("GET", path, w, NULL, TS_H1, &r);
    if (r.status != want)
        fprintf(stderr, "line %d: GET %s answered %ld, expected %ld: %s\n", line, path, r.status, want,
                r.body ? r.body : "");
    CHECK_INT(r.status, want);
    TS_EXPECT_JSON(&r);
    TS_EXPECT_APP_HEADERS(&r, 0);
    yajl_val t = ts_json_parse(r.body, path);
    ts_resp_free(&r);
    return t;
}
#define GET_JSON(path, w, want) get_json((path), (w), (want), __LINE__)

static void expect_error_at(const char *method, const char *path, const who_t *w, const char *body, long status,
                            const char *code, int line)
{
    ts_resp_t r;
    call(method, path, w, body, TS_H1, &r);
    ts_expect_error(__FILE__, line, &r, status, code);
    ts_resp_free(&r);
}
#define expect_error(method, path, w, body, status, code)                                                              \
    expect_error_at((method), (path), (w), (body), (status), (code), __LINE__)

static void make_who(who_t *w, const char *org, const char *role)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->sub, sizeof(w->sub), "%s", ts_jwt_unique("user_id"));
    snprintf(w->org, sizeof(w->org), "%s", org);
    w->role = role;
    ts_claims_t c = {.sub = w->sub, .org_id = w->org, .role = role, .email = "person@example.com", .name = w->sub,
                     .exp = (int64_t)time(NULL) + 3600};
    w->token = ts_jwt_hs256(SECRET, &c);
    yajl_val t = GET_JSON("/api/v1/auth/me", w, 200);
    const char *uid = ts_json_get_str(t, "user", "id"), *oid = ts_json_get_str(t, "organization", "id");
    REQUIRE(uid != NULL && oid != NULL);
    snprintf(w->user_id, sizeof(w->user_id), "%s", uid);
    snprintf(w->org_id, sizeof(w->org_id), "%s", oid);
    CHECK_STR(ts_json_get_str(t, "role"), role);
    CHECK_STR(ts_json_get_str(t, "user", "external_id"), w->sub);
    CHECK_STR(ts_json_get_str(t, "user", "email"), "person@example.com");
    CHECK_STR(ts_json_get_str(t, "organization", "external_id"), org);
    ts_json_free(t);
}

static int str_is(const char *got, const char *want)
{
    return got != NULL && strcmp(got, want) == 0;
}

/* A 422 whose first item is at loc ["body" or "query", a, b?] with this type. */
static void expect_422(const ts_resp_t *r, const char *where, const char *a, const char *b, const char *type, int line)
{
    int ok = r->status == 422;
    yajl_val t = ok ? ts_json_parse(r->body, "422 body") : NULL;
    ok = ok && t != NULL;
    ok = ok && str_is(ts_json_get_str(t, "code"), "validation_error");
    ok = ok && ts_json_is_str(t, "request_id");
    ok = ok && ts_json_is_str(t, "detail", "0", "msg");
    ok = ok && str_is(ts_json_get_str(t, "detail", "0", "type"), type);
    yajl_val loc = ts_json_get(t, "detail", "0", "loc");
    ok = ok && loc != NULL && ts_json_len(loc) == (size_t)(1 + (a != NULL) + (b != NULL));
    ok = ok && str_is(ts_json_get_str(loc, "0"), where);
    ok = ok && (a == NULL || str_is(ts_json_get_str(loc, "1"), a));
    ok = ok && (b == NULL || str_is(ts_json_get_str(loc, "2"), b));
    check_count++;
    if (!ok) {
        check_failures++;
        fprintf(stderr, "line %d: expected 422 %s at [%s, %s, %s]; got %ld: %s\n", line, type, where, a ? a : "-",
                b ? b : "-", r->status, r->body ? r->body : "");
    }
    ts_json_free(t);
}

static void patch_422(const who_t *w, const char *body, const char *field, const char *key, const char *type, int line)
{
    ts_resp_t r;
    call("PATCH", "/api/v1/profile", w, body, TS_H1, &r);
    expect_422(&r, "body", field, key, type, line);
    ts_resp_free(&r);
}
#define PATCH_422(w, body, field, type) patch_422((w), (body), (field), NULL, (type), __LINE__)
#define PATCH_422_AT(w, body, field, key, type) patch_422((w), (body), (field), (key), (type), __LINE__)

static void get_422(const char *path, const who_t *w, const char *field, const char *type, int line)
{
    ts_resp_t r;
    call("GET", path, w, NULL, TS_H1, &r);
    expect_422(&r, "query", field, NULL, type, line);
    ts_resp_free(&r);
}
#define GET_422(path, w, field, type) get_422((path), (w), (field), (type), __LINE__)

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- organizations ------------------------------------------------------------------------ */

static who_t a_admin, a_member, b_admin;
static char org_a[128], org_b[128];

static void test_orgs_isolation(void)
{
    char path[256];
    yajl_val t = GET_JSON("/api/v1/orgs", &a_admin, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    CHECK_STR(ts_json_get_str(t, "items", "0", "id"), a_admin.org_id);
    CHECK_STR(ts_json_get_str(t, "items", "0", "external_id"), org_a);
    CHECK_STR(ts_json_get_str(t, "items", "0", "role"), "admin");
    CHECK(ts_json_is_str(t, "items", "0", "name"));
    const char *created = ts_json_get_str(t, "items", "0", "created_at");
    CHECK(created != NULL && strlen(created) == 20 && created[10] == 'T' && created[19] == 'Z');
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);

    t = GET_JSON("/api/v1/orgs", &b_admin, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    CHECK_STR(ts_json_get_str(t, "items", "0", "id"), b_admin.org_id);
    ts_json_free(t);

    /* one of the caller's: 200; another org's, an unknown one, or no UUID at all: 404 */
    snprintf(path, sizeof(path), "/api/v1/orgs/%s", a_admin.org_id);
    t = GET_JSON(path, &a_member, 200);
    CHECK_STR(ts_json_get_str(t, "id"), a_admin.org_id);
    CHECK_STR(ts_json_get_str(t, "role"), "member");
    ts_json_free(t);
    char upper[64];
    snprintf(upper, sizeof(upper), "%s", a_admin.org_id);
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    snprintf(path, sizeof(path), "/api/v1/orgs/%s", upper);
    t = GET_JSON(path, &a_admin, 200);
    ts_json_free(t);
    snprintf(path, sizeof(path), "/api/v1/orgs/%s", b_admin.org_id);
    expect_error("GET", path, &a_admin, NULL, 404, "not_found");
    expect_error("GET", path, &a_member, NULL, 404, "not_found");
    expect_error("GET", "/api/v1/orgs/7b0e9b1e-0000-4000-8000-000000000000", &a_admin, NULL, 404, "not_found");
    expect_error("GET", "/api/v1/orgs/not-a-uuid", &a_admin, NULL, 404, "not_found");
    expect_error("GET", "/api/v1/orgs/00000000-0000-4000-8000-00000000000g", &a_admin, NULL, 404, "not_found");
    expect_error("GET", "/api/v1/orgs/1", &a_admin, NULL, 404, "not_found");

    /* members: the caller's own org only, admins only */
    snprintf(path, sizeof(path), "/api/v1/orgs/%s/members", a_admin.org_id);
    t = GET_JSON(path, &a_admin, 200);
    yajl_val items = ts_json_get(t, "items");
    CHECK_INT(ts_json_len(items), 2);
    int saw_admin = 0, saw_member = 0;
    for (size_t i = 0; i < ts_json_len(items); i++) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%zu", i);
        const char *uid = ts_json_get_str(items, idx, "user_id");
        const char *role = ts_json_get_str(items, idx, "role");
        CHECK(ts_json_is_str(items, idx, "external_id"));
        CHECK(ts_json_is_str(items, idx, "joined_at"));
        CHECK_STR(ts_json_get_str(items, idx, "email"), "person@example.com");
        saw_admin += uid && strcmp(uid, a_admin.user_id) == 0 && role && strcmp(role, "admin") == 0;
        saw_member += uid && strcmp(uid, a_member.user_id) == 0 && role && strcmp(role, "member") == 0;
        CHECK(uid == NULL || strcmp(uid, b_admin.user_id) != 0);
    }
    CHECK_INT(saw_admin, 1);
    CHECK_INT(saw_member, 1);
    ts_json_free(t);
    expect_error("GET", path, &a_member, NULL, 403, "forbidden");
    expect_error("GET", path, &b_admin, NULL, 404, "not_found");
    snprintf(path, sizeof(path), "/api/v1/orgs/%s/members", b_admin.org_id);
    expect_error("GET", path, &a_admin, NULL, 404, "not_found");
    expect_error("GET", path, &a_member, NULL, 404, "not_found"); /* another org: 404 for everyone */
    t = GET_JSON(path, &b_admin, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    CHECK_STR(ts_json_get_str(t, "items", "0", "user_id"), b_admin.user_id);
    ts_json_free(t);
    expect_error("GET", "/api/v1/orgs/not-a-uuid/members", &a_admin, NULL, 404, "not_found");

    /* no token at all */
    expect_error("GET", "/api/v1/orgs", NULL, NULL, 401, "unauthorized");
    expect_error("POST", "/api/v1/orgs", &a_admin, "{}", 405, "method_not_allowed");
}

/* Walks a collection with limit=2, checking every page; returns the number of items seen. */
static size_t walk(const char *base, const who_t *w, char ids[][40], size_t max)
{
    char path[512], cursor[256] = "";
    size_t seen = 0;
    for (int pages = 0; pages < 20; pages++) {
        snprintf(path, sizeof(path), "%s?limit=2%s%s", base, cursor[0] ? "&cursor=" : "", cursor);
        yajl_val t = GET_JSON(path, w, 200);
        yajl_val items = ts_json_get(t, "items");
        CHECK(ts_json_len(items) <= 2);
        for (size_t i = 0; i < ts_json_len(items) && seen < max; i++) {
            char idx[24];
            snprintf(idx, sizeof(idx), "%zu", i);
            const char *id = ts_json_get_str(items, idx, "user_id");
            if (id == NULL)
                id = ts_json_get_str(items, idx, "id");
            snprintf(ids[seen++], 40, "%s", id ? id : "");
        }
        const char *next = ts_json_get_str(t, "next_cursor");
        if (next == NULL) {
            CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
            ts_json_free(t);
            return seen;
        }
        CHECK_INT(ts_json_len(items), 2);
        snprintf(cursor, sizeof(cursor), "%s", next);
        ts_json_free(t);
    }
    CHECK(!"pagination did not end");
    return seen;
}

static void test_pagination(void)
{
    /* three more members in org A: five in all */
    who_t more[3];
    for (int i = 0; i < 3; i++)
        make_who(&more[i], org_a, "member");
    char base[256], ids[16][40];
    snprintf(base, sizeof(base), "/api/v1/orgs/%s/members", a_admin.org_id);
    size_t n = walk(base, &a_admin, ids, 16);
    CHECK_INT(n, 5);
    /* each member once, newest first: the last three joined last */
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++)
            CHECK(strcmp(ids[i], ids[k]) != 0);
    CHECK_STR(ids[0], more[2].user_id);
    CHECK_STR(ids[1], more[1].user_id);
    CHECK_STR(ids[2], more[0].user_id);

    /* the default page holds them all */
    yajl_val t = GET_JSON(base, &a_admin, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 5);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);
    char path[512];
    snprintf(path, sizeof(path), "%s?limit=200", base);
    t = GET_JSON(path, &a_admin, 200);
    ts_json_free(t);
    snprintf(path, sizeof(path), "%s?limit=5", base);
    t = GET_JSON(path, &a_admin, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 5);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor"))); /* exactly full: no empty next page */
    ts_json_free(t);

    /* limit outside 1..200, or not a number */
    static const char *const bad_limits[] = {"0", "201", "-1", "abc", "", "1.5", "99999999999"};
    for (size_t i = 0; i < sizeof(bad_limits) / sizeof(bad_limits[0]); i++) {
        snprintf(path, sizeof(path), "%s?limit=%s", base, bad_limits[i]);
        GET_422(path, &a_admin, "limit", "int_parsing");
        snprintf(path, sizeof(path), "/api/v1/orgs?limit=%s", bad_limits[i]);
        GET_422(path, &a_admin, "limit", "int_parsing");
    }

    /* cursors the server did not issue, or issued for another collection */
    snprintf(path, sizeof(path), "%s?limit=2", base);
    t = GET_JSON(path, &a_admin, 200);
    char cursor[256];
    snprintf(cursor, sizeof(cursor), "%s", ts_json_get_str(t, "next_cursor") ? ts_json_get_str(t, "next_cursor") : "");
    ts_json_free(t);
    REQUIRE(cursor[0] != '\0');
    char edited[256];
    snprintf(edited, sizeof(edited), "%s", cursor);
    edited[5] = edited[5] == 'A' ? 'B' : 'A';
    char *overlong = repeat('A', 120);
    const char *bad_cursors[] = {"abc", "null", edited, "%00", overlong};
    for (size_t i = 0; i < sizeof(bad_cursors) / sizeof(bad_cursors[0]); i++) {
        snprintf(path, sizeof(path), "%s?cursor=%s", base, bad_cursors[i]);
        GET_422(path, &a_admin, "cursor", "value_error");
    }
    free(overlong);
    snprintf(path, sizeof(path), "/api/v1/orgs?cursor=%s", cursor);
    GET_422(path, &a_admin, "cursor", "value_error");
    /* an empty cursor is the first page */
    snprintf(path, sizeof(path), "%s?cursor=&limit=2", base);
    t = GET_JSON(path, &a_admin, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 2);
    ts_json_free(t);

    /* a user in several organizations lists them all, paged too */
    who_t multi[3];
    make_who(&multi[0], ts_jwt_unique("org_multi"), "member");
    for (int i = 1; i < 3; i++) {
        char org[128];
        snprintf(org, sizeof(org), "%s", ts_jwt_unique("org_multi"));
        ts_claims_t c = {.sub = multi[0].sub, .org_id = org, .role = i == 1 ? "admin" : "member",
                         .exp = (int64_t)time(NULL) + 3600};
        memset(&multi[i], 0, sizeof(multi[i]));
        multi[i].token = ts_jwt_hs256(SECRET, &c);
        t = GET_JSON("/api/v1/auth/me", &multi[i], 200);
        snprintf(multi[i].org_id, sizeof(multi[i].org_id), "%s", ts_json_get_str(t, "organization", "id"));
        ts_json_free(t);
    }
    n = walk("/api/v1/orgs", &multi[0], ids, 16);
    CHECK_INT(n, 3);
    CHECK_STR(ids[0], multi[2].org_id);
    CHECK_STR(ids[1], multi[1].org_id);
    CHECK_STR(ids[2], multi[0].org_id);
    /* the admin of the second org sees its members, not the first org's */
    snprintf(path, sizeof(path), "/api/v1/orgs/%s/members", multi[1].org_id);
    t = GET_JSON(path, &multi[1], 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    ts_json_free(t);
    snprintf(path, sizeof(path), "/api/v1/orgs/%s/members", multi[0].org_id);
    expect_error("GET", path, &multi[1], NULL, 404, "not_found"); /* an org they are in, but not acting in */

    for (int i = 0; i < 3; i++) {
        free(more[i].token);
        free(multi[i].token);
    }
}

/* ---- profile ------------------------------------------------------------------------------ */

static void expect_default_profile(yajl_val t, const char *user_id)
{
    CHECK_STR(ts_json_get_str(t, "user_id"), user_id);
    static const char *const nullable[] = {"display_name", "business_name", "tagline", "bio", "phone", "website"};
    for (size_t i = 0; i < sizeof(nullable) / sizeof(nullable[0]); i++) {
        yajl_val v = ts_json_get(t, nullable[i]);
        if (v == NULL || !YAJL_IS_NULL(v))
            fprintf(stderr, "profile field %s is not null\n", nullable[i]);
        CHECK(v != NULL && YAJL_IS_NULL(v));
    }
    CHECK(ts_json_is_object(t, "social_links"));
    CHECK_INT(ts_json_len(ts_json_get(t, "social_links")), 0);
    CHECK_STR(ts_json_get_str(t, "timezone"), "UTC");
    CHECK(YAJL_IS_FALSE(ts_json_get(t, "setup_completed")));
}

static yajl_val patch_ok(const who_t *w, const char *body, ts_version_t v, int line)
{
    ts_resp_t r;
    call("PATCH", "/api/v1/profile", w, body, v, &r);
    if (r.status != 200)
        fprintf(stderr, "line %d: PATCH %s answered %ld: %s\n", line, body, r.status, r.body ? r.body : "");
    CHECK_INT(r.status, 200);
    TS_EXPECT_JSON(&r);
    yajl_val t = ts_json_parse(r.body, "profile");
    ts_resp_free(&r);
    return t;
}
#define PATCH_OK(w, body) patch_ok((w), (body), TS_H1, __LINE__)

static void test_profile(void)
{
    const who_t *w = &a_member;
    yajl_val t = GET_JSON("/api/v1/profile", w, 200);
    expect_default_profile(t, w->user_id);
    ts_json_free(t);

    /* an empty patch changes nothing and answers the profile */
    t = PATCH_OK(w, "{}");
    expect_default_profile(t, w->user_id);
    ts_json_free(t);

    t = PATCH_OK(w, "{\"display_name\": \"Ann\", \"social_links\": {\"linkedin\": \"https://linkedin.com/in/ann\"}}");
    CHECK_STR(ts_json_get_str(t, "display_name"), "Ann");
    CHECK_STR(ts_json_get_str(t, "social_links", "linkedin"), "https://linkedin.com/in/ann");
    CHECK(YAJL_IS_NULL(ts_json_get(t, "bio")));
    CHECK_STR(ts_json_get_str(t, "timezone"), "UTC");
    const char *updated = ts_json_get_str(t, "updated_at");
    CHECK(updated != NULL && strlen(updated) == 20 && updated[19] == 'Z');
    ts_json_free(t);

    /* partial: only the given fields change */
    t = PATCH_OK(w, "{\"bio\": \"Sells things.\", \"timezone\": \"America/Argentina/Buenos_Aires\","
                    " \"setup_completed\": true, \"phone\": \"+1 (555) 123-4567\","
                    " \"website\": \"https://ann.example.com/about?x=1\", \"business_name\": \"Ann Co\","
                    " \"tagline\": \"Hi \\u2603\"}");
    CHECK_STR(ts_json_get_str(t, "display_name"), "Ann");
    CHECK_STR(ts_json_get_str(t, "bio"), "Sells things.");
    CHECK_STR(ts_json_get_str(t, "timezone"), "America/Argentina/Buenos_Aires");
    CHECK(YAJL_IS_TRUE(ts_json_get(t, "setup_completed")));
    CHECK_STR(ts_json_get_str(t, "phone"), "+1 (555) 123-4567");
    CHECK_STR(ts_json_get_str(t, "website"), "https://ann.example.com/about?x=1");
    CHECK_STR(ts_json_get_str(t, "business_name"), "Ann Co");
    CHECK_STR(ts_json_get_str(t, "tagline"), "Hi \xe2\x98\x83");
    CHECK_STR(ts_json_get_str(t, "social_links", "linkedin"), "https://linkedin.com/in/ann");
    ts_json_free(t);

    /* null clears a nullable field; social_links is replaced as a whole */
    t = PATCH_OK(w, "{\"display_name\": null, \"social_links\": {}}");
    CHECK(YAJL_IS_NULL(ts_json_get(t, "display_name")));
    CHECK_INT(ts_json_len(ts_json_get(t, "social_links")), 0);
    CHECK_STR(ts_json_get_str(t, "bio"), "Sells things.");
    ts_json_free(t);

    /* GET reads what PATCH wrote; the limits themselves are accepted */
    char *name100 = repeat('n', 100), *tag200 = repeat('t', 200), *bio2000 = repeat('b', 2000);
    char *body = malloc(4096);
    snprintf(body, 4096, "{\"display_name\": \"%s\", \"tagline\": \"%s\", \"bio\": \"%s\"}", name100, tag200, bio2000);
    t = PATCH_OK(w, body);
    ts_json_free(t);
    t = GET_JSON("/api/v1/profile", w, 200);
    CHECK_STR(ts_json_get_str(t, "display_name"), name100);
    CHECK_STR(ts_json_get_str(t, "tagline"), tag200);
    CHECK_STR(ts_json_get_str(t, "bio"), bio2000);
    CHECK_STR(ts_json_get_str(t, "timezone"), "America/Argentina/Buenos_Aires");
    ts_json_free(t);
    free(name100);
    free(tag200);
    free(bio2000);
    free(body);

    /* another user (same org) has their own, still default, profile */
    t = GET_JSON("/api/v1/profile", &a_admin, 200);
    expect_default_profile(t, a_admin.user_id);
    ts_json_free(t);

    /* over HTTP/2 */
    ts_resp_t r;
    call("PATCH", "/api/v1/profile", &a_admin, "{\"display_name\": \"Boss\"}", TS_H2C_PRIOR, &r);
    TS_EXPECT_STATUS(&r, 200);
    CHECK_INT(r.http_major, 2);
    TS_EXPECT_APP_HEADERS(&r, 0);
    ts_resp_free(&r);
    call("GET", "/api/v1/profile", &a_admin, NULL, TS_H2C_PRIOR, &r);
    TS_EXPECT_STATUS(&r, 200);
    CHECK_INT(r.http_major, 2);
    t = ts_json_parse(r.body, "profile over h2");
    CHECK_STR(ts_json_get_str(t, "display_name"), "Boss");
    ts_json_free(t);
    ts_resp_free(&r);
    call("GET", "/api/v1/orgs", &a_admin, NULL, TS_H2C_PRIOR, &r);
    TS_EXPECT_STATUS(&r, 200);
    ts_resp_free(&r);
}

static void test_profile_validation(void)
{
    const who_t *w = &b_admin;
    yajl_val before = GET_JSON("/api/v1/profile", w, 200);

    char *s101 = repeat('x', 101), *s201 = repeat('x', 201), *s2001 = repeat('x', 2001), *s2049 = repeat('x', 2049);
    char *body = malloc(8192);
    static const char *const text_fields[] = {"display_name", "business_name"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(body, 8192, "{\"%s\": \"%s\"}", text_fields[i], s101);
        PATCH_422(w, body, text_fields[i], "string_too_long");
        snprintf(body, 8192, "{\"%s\": 5}", text_fields[i]);
        PATCH_422(w, body, text_fields[i], "string_type");
    }
    /* 100 characters of two bytes each are fine: the limits count characters */
    char *wide = malloc(512);
    wide[0] = '\0';
    for (int i = 0; i < 100; i++)
        strcat(wide, "\xc3\xa9");
    snprintf(body, 8192, "{\"display_name\": \"%s\"}", wide);
    yajl_val t = PATCH_OK(w, body);
    ts_json_free(t);
    free(wide);

    snprintf(body, 8192, "{\"tagline\": \"%s\"}", s201);
    PATCH_422(w, body, "tagline", "string_too_long");
    snprintf(body, 8192, "{\"bio\": \"%s\"}", s2001);
    PATCH_422(w, body, "bio", "string_too_long");
    PATCH_422(w, "{\"bio\": [\"x\"]}", "bio", "string_type");
    PATCH_422(w, "{\"bio\": \"a\\u0000b\"}", "bio", "string_type");

    PATCH_422(w, "{\"phone\": \"call me\"}", "phone", "string_pattern_mismatch");
    PATCH_422(w, "{\"phone\": \"123\"}", "phone", "string_pattern_mismatch");
    PATCH_422(w, "{\"phone\": \"+1234567890123456789012\"}", "phone", "string_pattern_mismatch");
    PATCH_422(w, "{\"phone\": 5551234567}", "phone", "string_type");

    PATCH_422(w, "{\"website\": \"ftp://example.com\"}", "website", "url_scheme");
    PATCH_422(w, "{\"website\": \"example.com\"}", "website", "url_parsing");
    PATCH_422(w, "{\"website\": \"https://\"}", "website", "url_parsing");
    PATCH_422(w, "{\"website\": \"https://exa mple.com\"}", "website", "url_parsing");
    snprintf(body, 8192, "{\"website\": \"https://e.com/%s\"}", s2049);
    PATCH_422(w, body, "website", "url_too_long");

    PATCH_422(w, "{\"social_links\": []}", "social_links", "dict_type");
    PATCH_422(w, "{\"social_links\": \"x\"}", "social_links", "dict_type");
    PATCH_422(w, "{\"social_links\": null}", "social_links", "dict_type");
    PATCH_422_AT(w, "{\"social_links\": {\"x\": 1}}", "social_links", "x", "string_type");
    PATCH_422_AT(w, "{\"social_links\": {\"x\": {\"y\": \"z\"}}}", "social_links", "x", "string_type");
    /* jsonb cannot hold \u0000: refused here rather than failing in the database */
    PATCH_422(w, "{\"social_links\": {\"a\\u0000\": \"x\"}}", "social_links", "value_error");
    snprintf(body, 8192, "{\"social_links\": {\"long\": \"%s\"}}", s2049);
    PATCH_422_AT(w, body, "social_links", "long", "string_too_long");
    size_t n = (size_t)snprintf(body, 8192, "{\"social_links\": {");
    for (int i = 0; i < 21; i++)
        n += (size_t)snprintf(body + n, 8192 - n, "%s\"k%d\": \"v\"", i ? ", " : "", i);
    snprintf(body + n, 8192 - n, "}}");
    PATCH_422(w, body, "social_links", "too_long");

    static const char *const bad_zones[] = {"Mars/Olympus_Mons", "../../../../etc/passwd", "/etc/localtime",
                                            "Europe/Paris/", "europe/paris", "posixrules", "zone.tab", "UTC\\u0000",
                                            "Europe", ""};
    for (size_t i = 0; i < sizeof(bad_zones) / sizeof(bad_zones[0]); i++) {
        snprintf(body, 8192, "{\"timezone\": \"%s\"}", bad_zones[i]);
        PATCH_422(w, body, "timezone", i == 7 ? "string_type" : "value_error");
    }
    PATCH_422(w, "{\"timezone\": null}", "timezone", "string_type");
    PATCH_422(w, "{\"timezone\": 3}", "timezone", "string_type");

    PATCH_422(w, "{\"setup_completed\": \"yes\"}", "setup_completed", "bool_type");
    PATCH_422(w, "{\"setup_completed\": 1}", "setup_completed", "bool_type");
    PATCH_422(w, "{\"setup_completed\": null}", "setup_completed", "bool_type");

    /* unknown fields, even beside valid ones; fields that are not the caller's to set */
    PATCH_422(w, "{\"nickname\": \"x\"}", "nickname", "extra_forbidden");
    PATCH_422(w, "{\"bio\": \"ok\", \"user_id\": \"00000000-0000-4000-8000-000000000002\"}", "user_id", "extra_forbidden");
    PATCH_422(w, "{\"updated_at\": \"2026-01-01T00:00:00Z\"}", "updated_at", "extra_forbidden");

    /* not an object, no body at all, not JSON */
    ts_resp_t r;
    call("PATCH", "/api/v1/profile", w, "[]", TS_H1, &r);
    expect_422(&r, "body", NULL, NULL, "model_attributes_type", __LINE__);
    ts_resp_free(&r);
    call("PATCH", "/api/v1/profile", w, "{\"bio\": ", TS_H1, &r);
    TS_EXPECT_ERROR(&r, 400, "bad_json");
    ts_resp_free(&r);
    ts_http_request(&(ts_req_t){.method = "PATCH", .url = ts_server_url(srv, 0, "/api/v1/profile"),
                                .headers = (const char *[]){ts_jwt_bearer(w->token), NULL}},
                    &r);
    expect_422(&r, "body", NULL, NULL, "missing", __LINE__);
    ts_resp_free(&r);

    /* none of the refused patches wrote anything (the accepted one set display_name) */
    yajl_val after = GET_JSON("/api/v1/profile", w, 200);
    CHECK(YAJL_IS_NULL(ts_json_get(before, "bio")));
    CHECK(YAJL_IS_NULL(ts_json_get(after, "bio")));
    CHECK_STR(ts_json_get_str(after, "timezone"), "UTC");
    CHECK_INT(ts_json_len(ts_json_get(after, "social_links")), 0);
    CHECK(YAJL_IS_FALSE(ts_json_get(after, "setup_completed")));
    ts_json_free(before);
    ts_json_free(after);

    free(s101);
    free(s201);
    free(s2001);
    free(s2049);
    free(body);
}

/* ---- /auth/verify ------------------------------------------------------------------------- */

static void verify(const char *body, ts_resp_t *r)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    ts_http_request(&(ts_req_t){.url = ts_server_url(srv, 0, "/api/v1/auth/verify"), .body = body, .body_len = strlen(body),
                                .headers = headers},
                    r);
}

static void test_verify(void)
{
    char body[8500];
    int64_t exp = (int64_t)time(NULL) + 1800;
    ts_claims_t c = {.sub = a_admin.sub, .org_id = org_a, .role = "admin", .exp = exp};
    char *t = ts_jwt_hs256(SECRET, &c);
    snprintf(body, sizeof(body), "{\"token\": \"%s\"}", t);
    ts_resp_t r;
    verify(body, &r);
    TS_EXPECT_STATUS(&r, 200);
    TS_EXPECT_JSON(&r);
    TS_EXPECT_APP_HEADERS(&r, 0);
    yajl_val v = ts_json_parse(r.body, "verify");
    CHECK(YAJL_IS_TRUE(ts_json_get(v, "valid")));
    CHECK_STR(ts_json_get_str(v, "user_id"), a_admin.user_id);
    CHECK_STR(ts_json_get_str(v, "org_id"), a_admin.org_id);
    CHECK_STR(ts_json_get_str(v, "role"), "admin");
    char want[32];
    time_t e = (time_t)exp;
    struct tm tm;
    strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&e, &tm));
    CHECK_STR(ts_json_get_str(v, "expires_at"), want);
    ts_json_free(v);
    ts_resp_free(&r);
    free(t);

    /* bad tokens: 401 in the error shape, saying why, never echoing the token */
    c.exp = (int64_t)time(NULL) - 3600;
    t = ts_jwt_hs256(SECRET, &c);
    snprintf(body, sizeof(body), "{\"token\": \"%s\"}", t);
    verify(body, &r);
    TS_EXPECT_ERROR(&r, 401, "unauthorized");
    v = ts_json_parse(r.body, "verify");
    CHECK_STR(ts_json_get_str(v, "detail"), "Token expired");
    ts_json_free(v);
    CHECK(strstr(r.body, t + strlen(t) - 12) == NULL);
    ts_resp_free(&r);
    free(t);
    c.exp = exp;
    t = ts_jwt_hs256("not-the-secret-not-the-secret-not-the-secret", &c);
    snprintf(body, sizeof(body), "{\"token\": \"%s\"}", t);
    verify(body, &r);
    TS_EXPECT_ERROR(&r, 401, "unauthorized");
    ts_resp_free(&r);
    free(t);
    t = ts_jwt_none(&c);
    snprintf(body, sizeof(body), "{\"token\": \"%s\"}", t);
    verify(body, &r);
    TS_EXPECT_ERROR(&r, 401, "unauthorized");
    ts_resp_free(&r);
    free(t);
    static const char *const junk[] = {"{\"token\": \"\"}", "{\"token\": \"abc.def.ghi\"}", "{\"token\": \"dev_token\"}"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        verify(junk[i], &r);
        TS_EXPECT_ERROR(&r, 401, "unauthorized");
        ts_resp_free(&r);
    }

    /* a body without a string token */
    verify("{}", &r);
    expect_422(&r, "body", "token", NULL, "missing", __LINE__);
    ts_resp_free(&r);
    verify("{\"token\": 5}", &r);
    expect_422(&r, "body", "token", NULL, "string_type", __LINE__);
    ts_resp_free(&r);
    verify("{\"token\": null}", &r);
    expect_422(&r, "body", "token", NULL, "string_type", __LINE__);
    ts_resp_free(&r);
    verify("{\"token\": \"x\", \"extra\": 1}", &r);
    expect_422(&r, "body", "extra", NULL, "extra_forbidden", __LINE__);
    ts_resp_free(&r);
    verify("[\"x\"]", &r);
    expect_422(&r, "body", NULL, NULL, "model_attributes_type", __LINE__);
    ts_resp_free(&r);

    /* GET is not a verify */
    ts_http_get(ts_server_url(srv, 0, "/api/v1/auth/verify"), TS_H1, &r);
    TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
    ts_resp_free(&r);
}

int main(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);

    snprintf(org_a, sizeof(org_a), "%s", ts_jwt_unique("org_a"));
    snprintf(org_b, sizeof(org_b), "%s", ts_jwt_unique("org_b"));
    make_who(&a_admin, org_a, "admin");
    make_who(&a_member, org_a, "member");
    make_who(&b_admin, org_b, "admin");

    test_orgs_isolation();
    test_profile();
    test_profile_validation();
    test_verify();
    test_pagination();

    free(a_admin.token);
    free(a_member.token);
    free(b_admin.token);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("test_identity");
}
