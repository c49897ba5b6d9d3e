/* The sales playbook's declarative resources (client and product archetypes, clients, products,
 * strategies) through the real server: create/get/list/patch/delete of each with its defaults,
 * soft and hard deletes, every field rule and its 422, body and query errors, keyset pagination
 * over many rows, ?q= search with LIKE metacharacters, tenancy between two organizations, member
 * vs admin, no token, and HTTP/2. */
#include <libpq-fe.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"

#define SW "/api/v1/sailwind"
#define CA SW "/client-archetypes"
#define PA SW "/product-archetypes"
#define CL SW "/clients"
#define PR SW "/products"
#define ST SW "/strategies"

/* strategies get a small body limit of their own, for the 413 */
static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY
    "/api/v1/sailwind:\n  app.handler: sailwind\n  app.auth: required\n"
    "/api/v1/sailwind/strategies:\n  app.handler: sailwind\n  app.auth: required\n  app.body-limit: 2K\n";

static ts_server_t *srv;
static PGconn *db;

/* ---- helpers ------------------------------------------------------------------------------ */

/* A check reported at the test's line. */
static int check_at(int line, int ok, const char *fmt, ...)
{
    check_count++;
    if (!ok) {
        va_list ap;
        check_failures++;
        fprintf(stderr, "%s:%d: ", __FILE__, line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    return ok;
}

static int is_uuid(const char *s)
{
    if (s == NULL || strlen(s) != 36)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

static int str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* "<coll>/<id>" in a ring of static buffers (valid for 8 calls). */
static const char *item(const char *coll, const char *id)
{
    static char ring[8][256];
    static unsigned next;
    char *b = ring[next++ % 8];
    snprintf(b, sizeof(ring[0]), "%s/%s", coll, id);
    return b;
}

/* "<path><sep>query" in a ring of static buffers. */
static const char *with_query(const char *path, const char *query)
{
    static char ring[8][1024];
    static unsigned next;
    char *b = ring[next++ % 8];
    snprintf(b, sizeof(ring[0]), "%s%s%s", path, strchr(path, '?') ? "&" : "?", query);
    return b;
}

static void copy_id(char *out, yajl_val t)
{
    const char *id = ts_json_get_str(t, "id");
    snprintf(out, 40, "%s", id ? id : "");
}

/* POST coll as w, expecting 201, the object with an id, RFC 3339 timestamps, and Location
 * coll/id; returns the object. */
static yajl_val create_at(int line, const char *coll, const ts_who_t *w, const char *body, ts_version_t v)
{
    ts_resp_t r;
    ts_rest_call("POST", coll, w, body, NULL, v, &r);
    ts_expect_status(__FILE__, line, &r, 201);
    ts_expect_json(__FILE__, line, &r);
    ts_expect_app_headers(__FILE__, line, &r, 0);
    check_at(line, ts_resp_header(&r, "idempotent-replayed") == NULL, "a first create says Idempotent-Replayed");
    yajl_val t = ts_json_parse(r.body, coll);
    const char *id = ts_json_get_str(t, "id");
    check_at(line, is_uuid(id), "id \"%s\" is not a lower-case UUID", id ? id : "(absent)");
    char want[256];
    snprintf(want, sizeof(want), "%s/%s", coll, id ? id : "?");
    const char *loc = ts_resp_header(&r, "location");
    check_at(line, str_eq(loc, want), "Location is \"%s\", expected \"%s\"", loc ? loc : "(absent)", want);
    const char *created = ts_json_get_str(t, "created_at"), *updated = ts_json_get_str(t, "updated_at");
    check_at(line, ts_is_rfc3339_z(created), "created_at \"%s\" is not RFC 3339 with Z", created ? created : "(absent)");
    check_at(line, ts_is_rfc3339_z(updated), "updated_at \"%s\" is not RFC 3339 with Z", updated ? updated : "(absent)");
    check_at(line, str_eq(created, updated), "a new row's created_at %s and updated_at %s differ", created, updated);
    if (r.status != 201)
        fprintf(stderr, "%s:%d: (POST %s %s)\n", __FILE__, line, coll, body);
    ts_resp_free(&r);
    return t;
}
#define CREATE(coll, w, body) create_at(__LINE__, (coll), (w), (body), TS_H1)

#define GET_OK(path, w) TS_REST_JSON("GET", (path), (w), NULL, 200)
#define PATCH_OK(path, w, body) TS_REST_JSON("PATCH", (path), (w), (body), 200)

/* DELETE expecting 204 and no body. */
static void delete_204_at(int line, const char *path, const ts_who_t *w)
{
    ts_resp_t r;
    ts_rest_call("DELETE", path, w, NULL, NULL, TS_H1, &r);
    ts_expect_status(__FILE__, line, &r, 204);
    check_at(line, r.body_len == 0, "a 204 has a body: %s", r.body);
    ts_expect_app_headers(__FILE__, line, &r, 0);
    ts_resp_free(&r);
}
#define DELETE_204(path, w) delete_204_at(__LINE__, (path), (w))

/* The ids of one page (at most max), and whether the object has the expected members. */
static size_t page_ids(yajl_val page, char ids[][40], size_t max)
{
    yajl_val items = ts_json_get(page, "items");
    size_t n = 0;
    for (size_t i = 0; i < ts_json_len(items) && n < max; i++) {
        const char *id = ts_json_get_str(ts_json_index(items, i), "id");
        snprintf(ids[n++], 40, "%s", id ? id : "");
    }
    return n;
}

/* GET a list (one page), expecting exactly these ids in this order and next_cursor null. */
static void expect_list_at(int line, const char *path, const ts_who_t *w, const char *const *want)
{
    yajl_val t = GET_OK(path, w);
    char ids[64][40];
    size_t n = page_ids(t, ids, 64), nwant = 0;
    while (want[nwant] != NULL)
        nwant++;
    int ok = n == nwant;
    for (size_t i = 0; ok && i < n; i++)
        ok = strcmp(ids[i], want[i]) == 0;
    if (!check_at(line, ok, "GET %s: %zu items, expected %zu in order", path, n, nwant)) {
        for (size_t i = 0; i < n || i < nwant; i++)
            fprintf(stderr, "  [%zu] got %s want %s\n", i, i < n ? ids[i] : "-", i < nwant ? want[i] : "-");
    }
    check_at(line, YAJL_IS_NULL(ts_json_get(t, "next_cursor")), "GET %s: next_cursor is not null", path);
    ts_json_free(t);
}
#define EXPECT_LIST(path, w, ...) expect_list_at(__LINE__, (path), (w), (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_LIST_EMPTY(path, w) expect_list_at(__LINE__, (path), (w), (const char *const[]){NULL})

/* Whether the id is on the first page (limit 200) of the list. */
static int list_has(const char *path, const ts_who_t *w, const char *id)
{
    yajl_val t = GET_OK(with_query(path, "limit=200"), w);
    char ids[200][40];
    size_t n = page_ids(t, ids, 200);
    ts_json_free(t);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ids[i], id) == 0)
            return 1;
    return 0;
}

/* Members of an object by name, exactly (no more, no fewer). */
static void expect_keys_at(int line, yajl_val t, const char *const *keys)
{
    size_t n = 0;
    for (; keys[n] != NULL; n++)
        check_at(line, ts_json_get(t, keys[n]) != NULL, "the object has no \"%s\"", keys[n]);
    check_at(line, YAJL_IS_OBJECT(t) && ts_json_len(t) == n, "the object has %zu members, expected %zu",
             ts_json_len(t), n);
}
#define EXPECT_KEYS(t, ...) expect_keys_at(__LINE__, (t), (const char *const[]){__VA_ARGS__, NULL})

#define CHECK_NULL(t, ...) CHECK(YAJL_IS_NULL(ts_json_get((t), __VA_ARGS__)))

/* Two objects agree on the named members. */
static void expect_same_at(int line, yajl_val a, yajl_val b, const char *const *keys)
{
    for (; *keys != NULL; keys++)
        check_at(line, ts_json_equal(ts_json_get(a, *keys), ts_json_get(b, *keys)), "\"%s\" differs", *keys);
}
#define EXPECT_SAME(a, b, ...) expect_same_at(__LINE__, (a), (b), (const char *const[]){__VA_ARGS__, NULL})

static yajl_val parse(const char *text)
{
    yajl_val t = ts_json_parse(text, "expected JSON");
    REQUIRE(t != NULL);
    return t;
}

static ts_who_t fresh_admin(const char *label)
{
    ts_who_t w;
    ts_who_make(&w, NULL, ts_jwt_unique(label), "admin");
    return w;
}

/* updated_at in microseconds, read from the database. */
static long long updated_us(const char *table, const char *id)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT (extract(epoch FROM updated_at) * 1000000)::bigint FROM %s WHERE id = $1::uuid",
             table);
    return ts_db_count(db, sql, TS_DB_PARAMS(id));
}

/* ---- create, get, list, patch, delete ----------------------------------------------------- */

static void test_archetypes(const char *coll)
{
    ts_who_t w = fresh_admin("org_arch");
    char a_id[40], b_id[40];

    yajl_val a = CREATE(coll, &w, "{\"name\": \"Enterprise buyer\"}");
    copy_id(a_id, a);
    EXPECT_KEYS(a, "id", "name", "description", "traits", "created_at", "updated_at");
    CHECK_STR(ts_json_get_str(a, "name"), "Enterprise buyer");
    CHECK_STR(ts_json_get_str(a, "description"), "");
    CHECK(ts_json_is_object(a, "traits"));
    CHECK_INT(ts_json_len(ts_json_get(a, "traits")), 0);

    yajl_val got = GET_OK(item(coll, a_id), &w);
    CHECK(ts_json_equal(got, a));
    ts_json_free(got);

    yajl_val b = CREATE(coll, &w,
                        "{\"name\": \"Startup founder\", \"description\": \"Moves fast\","
                        " \"traits\": {\"budget\": \"low\", \"seats\": 12, \"channels\": [\"email\", \"chat\"],"
                        " \"nested\": {\"ok\": true}}}");
    copy_id(b_id, b);
    yajl_val want_traits =
        parse("{\"budget\": \"low\", \"seats\": 12, \"channels\": [\"email\", \"chat\"], \"nested\": {\"ok\": true}}");
    CHECK(ts_json_equal(ts_json_get(b, "traits"), want_traits));
    CHECK_STR(ts_json_get_str(b, "description"), "Moves fast");
    ts_json_free(want_traits);

    /* newest first, and the end of the list */
    EXPECT_LIST(coll, &w, b_id, a_id);

    /* PATCH: only the given fields change */
    yajl_val p = PATCH_OK(item(coll, a_id), &w, "{\"description\": \"Buys big\"}");
    CHECK_STR(ts_json_get_str(p, "description"), "Buys big");
    EXPECT_SAME(p, a, "id", "name", "traits", "created_at");
    ts_json_free(p);
    p = PATCH_OK(item(coll, a_id), &w, "{\"traits\": {\"risk\": \"averse\"}, \"name\": \"Enterprise CFO\"}");
    CHECK_STR(ts_json_get_str(p, "traits", "risk"), "averse");
    CHECK_INT(ts_json_len(ts_json_get(p, "traits")), 1);
    CHECK_STR(ts_json_get_str(p, "name"), "Enterprise CFO");
    CHECK_STR(ts_json_get_str(p, "description"), "Buys big");
    ts_json_free(p);
    /* PATCH {} answers the object unchanged */
    yajl_val before = GET_OK(item(coll, a_id), &w);
    p = PATCH_OK(item(coll, a_id), &w, "{}");
    EXPECT_SAME(p, before, "id", "name", "description", "traits", "created_at");
    ts_json_free(p);
    ts_json_free(before);
    /* traits and description are not nullable */
    TS_REST_422("PATCH", item(coll, a_id), &w, "{\"traits\": null}", "dict_type", "body", "traits");
    TS_REST_422("PATCH", item(coll, a_id), &w, "{\"description\": null}", "string_type", "body", "description");

    /* DELETE is a hard delete: 404 afterwards for everything */
    DELETE_204(item(coll, a_id), &w);
    TS_REST_ERROR("GET", item(coll, a_id), &w, NULL, 404, "not_found");
    TS_REST_ERROR("PATCH", item(coll, a_id), &w, "{\"name\": \"x\"}", 404, "not_found");
    TS_REST_ERROR("DELETE", item(coll, a_id), &w, NULL, 404, "not_found");
    EXPECT_LIST(coll, &w, b_id);
    EXPECT_LIST(with_query(coll, "include_archived=true"), &w, b_id); /* not a soft-delete resource: ignored */
    CHECK_INT(ts_db_count(db, "SELECT count(*) FROM client_archetypes WHERE id = $1::uuid", TS_DB_PARAMS(a_id)) +
                  ts_db_count(db, "SELECT count(*) FROM product_archetypes WHERE id = $1::uuid", TS_DB_PARAMS(a_id)),
              0);

    ts_json_free(a);
    ts_json_free(b);
    ts_who_free(&w);
}

static void test_clients_crud(void)
{
    ts_who_t w = fresh_admin("org_clients");
    char ca[40], pa[40], c1[40], c2[40], body[512];
    yajl_val t = CREATE(CA, &w, "{\"name\": \"SMB\"}");
    copy_id(ca, t);
    ts_json_free(t);
    t = CREATE(PA, &w, "{\"name\": \"SaaS\"}");
    copy_id(pa, t);
    ts_json_free(t);

    yajl_val a = CREATE(CL, &w, "{\"name\": \"Acme\"}");
    copy_id(c1, a);
    EXPECT_KEYS(a, "id", "name", "industry", "size", "notes", "archetype_id", "created_at", "updated_at", "archived_at");
    CHECK_STR(ts_json_get_str(a, "name"), "Acme");
    CHECK_NULL(a, "industry");
    CHECK_NULL(a, "size");
    CHECK_NULL(a, "notes");
    CHECK_NULL(a, "archetype_id");
    CHECK_NULL(a, "archived_at");

    /* an archetype id in upper case is the same id, and comes back lower-cased */
    char upper[40];
    snprintf(upper, sizeof(upper), "%s", ca);
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    snprintf(body, sizeof(body),
             "{\"name\": \"Globex\", \"industry\": \"Energy\", \"size\": \"51-200\", \"notes\": \"Met at the expo\","
             " \"archetype_id\": \"%s\"}",
             upper);
    yajl_val b = CREATE(CL, &w, body);
    copy_id(c2, b);
    CHECK_STR(ts_json_get_str(b, "industry"), "Energy");
    CHECK_STR(ts_json_get_str(b, "size"), "51-200");
    CHECK_STR(ts_json_get_str(b, "notes"), "Met at the expo");
    CHECK_STR(ts_json_get_str(b, "archetype_id"), ca);
    t = GET_OK(item(CL, c2), &w);
    CHECK(ts_json_equal(t, b));
    ts_json_free(t);
    EXPECT_LIST(CL, &w, c2, c1);

    /* partial updates; null clears a nullable field */
    yajl_val p = PATCH_OK(item(CL, c2), &w, "{\"notes\": \"Call back in May\"}");
    CHECK_STR(ts_json_get_str(p, "notes"), "Call back in May");
    EXPECT_SAME(p, b, "id", "name", "industry", "size", "archetype_id", "created_at", "archived_at");
    ts_json_free(p);
    p = PATCH_OK(item(CL, c2), &w, "{\"industry\": null, \"archetype_id\": null}");
    CHECK_NULL(p, "industry");
    CHECK_NULL(p, "archetype_id");
    CHECK_STR(ts_json_get_str(p, "notes"), "Call back in May");
    CHECK_STR(ts_json_get_str(p, "size"), "51-200");
    CHECK_STR(ts_json_get_str(p, "name"), "Globex");
    ts_json_free(p);
    /* a product archetype is not a client archetype */
    snprintf(body, sizeof(body), "{\"archetype_id\": \"%s\"}", pa);
    TS_REST_422("PATCH", item(CL, c2), &w, body, "reference_not_found", "body", "archetype_id");
    snprintf(body, sizeof(body), "{\"archetype_id\": \"%s\"}", ca);
    p = PATCH_OK(item(CL, c2), &w, body);
    CHECK_STR(ts_json_get_str(p, "archetype_id"), ca);
    ts_json_free(p);
    /* the refused PATCH wrote nothing: the notes survived it, the last PATCH set only the archetype */
    t = GET_OK(item(CL, c2), &w);
    CHECK_STR(ts_json_get_str(t, "notes"), "Call back in May");
    CHECK_NULL(t, "industry");
    ts_json_free(t);

    /* PATCH {} answers the object and writes nothing (updated_at stays, to the microsecond) */
    long long us_before = updated_us("clients", c2);
    t = GET_OK(item(CL, c2), &w);
    p = PATCH_OK(item(CL, c2), &w, "{}");
    CHECK(ts_json_equal(p, t));
    ts_json_free(p);
    long long us_after = updated_us("clients", c2);
    if (us_before != us_after)
        fprintf(stderr, "PATCH {} moved clients.updated_at from %lld to %lld\n", us_before, us_after);
    CHECK(us_before == us_after);
    /* a PATCH that sets the values it already has writes nothing either */
    p = PATCH_OK(item(CL, c2), &w, "{\"name\": \"Globex\", \"notes\": \"Call back in May\"}");
    ts_json_free(p);
    us_after = updated_us("clients", c2);
    if (us_before != us_after)
        fprintf(stderr, "a no-op PATCH moved clients.updated_at from %lld to %lld\n", us_before, us_after);
    CHECK(us_before == us_after);
    ts_json_free(t);

    /* DELETE archives: hidden from the list, visible with include_archived, still readable */
    DELETE_204(item(CL, c1), &w);
    EXPECT_LIST(CL, &w, c2);
    EXPECT_LIST(with_query(CL, "include_archived=false"), &w, c2);
    yajl_val all = GET_OK(with_query(CL, "include_archived=true"), &w);
    char ids[4][40];
    CHECK_INT(page_ids(all, ids, 4), 2);
    CHECK_STR(ids[0], c2);
    CHECK_STR(ids[1], c1);
    CHECK(ts_is_rfc3339_z(ts_json_get_str(ts_json_index(ts_json_get(all, "items"), 1), "archived_at")));
    CHECK_NULL(ts_json_index(ts_json_get(all, "items"), 0), "archived_at");
    ts_json_free(all);
    t = GET_OK(item(CL, c1), &w);
    const char *archived = ts_json_get_str(t, "archived_at");
    CHECK(ts_is_rfc3339_z(archived));
    EXPECT_SAME(t, a, "id", "name", "created_at");
    char archived_at[32];
    snprintf(archived_at, sizeof(archived_at), "%s", archived ? archived : "");
    ts_json_free(t);
    /* archiving again keeps the first archived_at */
    long long arch_us = ts_db_count(db, "SELECT (extract(epoch FROM archived_at) * 1000000)::bigint FROM clients"
                                        " WHERE id = $1::uuid", TS_DB_PARAMS(c1));
    DELETE_204(item(CL, c1), &w);
    CHECK_INT(ts_db_count(db, "SELECT (extract(epoch FROM archived_at) * 1000000)::bigint FROM clients"
                              " WHERE id = $1::uuid", TS_DB_PARAMS(c1)),
              arch_us);
    t = GET_OK(item(CL, c1), &w);
    CHECK_STR(ts_json_get_str(t, "archived_at"), archived_at);
    ts_json_free(t);

    /* deleting a client archetype leaves its clients, without it */
    DELETE_204(item(CA, ca), &w);
    t = GET_OK(item(CL, c2), &w);
    CHECK_NULL(t, "archetype_id");
    CHECK_STR(ts_json_get_str(t, "notes"), "Call back in May");
    ts_json_free(t);
    snprintf(body, sizeof(body), "{\"name\": \"Initech\", \"archetype_id\": \"%s\"}", ca);
    TS_REST_422("POST", CL, &w, body, "reference_not_found", "body", "archetype_id");

    ts_json_free(a);
    ts_json_free(b);
    ts_who_free(&w);
}

static void test_products_crud(void)
{
    ts_who_t w = fresh_admin("org_products");
    char pa[40], ca[40], p1[40], p2[40], body[512];
    yajl_val t = CREATE(PA, &w, "{\"name\": \"Hardware\"}");
    copy_id(pa, t);
    ts_json_free(t);
    t = CREATE(CA, &w, "{\"name\": \"Retail\"}");
    copy_id(ca, t);
    ts_json_free(t);

    yajl_val a = CREATE(PR, &w, "{\"name\": \"Widget\"}");
    copy_id(p1, a);
    EXPECT_KEYS(a, "id", "name", "description", "price_cents", "currency", "archetype_id", "created_at", "updated_at",
                "archived_at");
    CHECK_STR(ts_json_get_str(a, "name"), "Widget");
    CHECK_STR(ts_json_get_str(a, "description"), "");
    CHECK_STR(ts_json_get_str(a, "currency"), "USD");
    CHECK_NULL(a, "price_cents");
    CHECK_NULL(a, "archetype_id");
    CHECK_NULL(a, "archived_at");

    snprintf(body, sizeof(body),
             "{\"name\": \"Gadget\", \"description\": \"Shiny\", \"price_cents\": 129900, \"currency\": \"EUR\","
             " \"archetype_id\": \"%s\"}",
             pa);
    yajl_val b = CREATE(PR, &w, body);
    copy_id(p2, b);
    CHECK_INT(ts_json_get_int(b, "price_cents"), 129900);
    CHECK_STR(ts_json_get_str(b, "currency"), "EUR");
    CHECK_STR(ts_json_get_str(b, "archetype_id"), pa);
    t = GET_OK(item(PR, p2), &w);
    CHECK(ts_json_equal(t, b));
    ts_json_free(t);
    EXPECT_LIST(PR, &w, p2, p1);

    yajl_val p = PATCH_OK(item(PR, p2), &w, "{\"price_cents\": null}");
    CHECK_NULL(p, "price_cents");
    EXPECT_SAME(p, b, "id", "name", "description", "currency", "archetype_id", "created_at", "archived_at");
    ts_json_free(p);
    p = PATCH_OK(item(PR, p2), &w, "{\"price_cents\": 0}");
    CHECK(ts_json_is_int(p, "price_cents") && ts_json_get_int(p, "price_cents") == 0);
    ts_json_free(p);
    p = PATCH_OK(item(PR, p2), &w, "{\"price_cents\": 1000000000000, \"currency\": \"GBP\"}");
    CHECK_INT(ts_json_get_int(p, "price_cents"), 1000000000000LL);
    CHECK_STR(ts_json_get_str(p, "currency"), "GBP");
    CHECK_STR(ts_json_get_str(p, "description"), "Shiny");
    ts_json_free(p);
    p = PATCH_OK(item(PR, p2), &w, "{\"archetype_id\": null, \"description\": \"\"}");
    CHECK_NULL(p, "archetype_id");
    CHECK_STR(ts_json_get_str(p, "description"), "");
    CHECK_STR(ts_json_get_str(p, "currency"), "GBP");
    ts_json_free(p);
    /* a client archetype is not a product archetype */
    snprintf(body, sizeof(body), "{\"archetype_id\": \"%s\"}", ca);
    TS_REST_422("PATCH", item(PR, p2), &w, body, "reference_not_found", "body", "archetype_id");
    snprintf(body, sizeof(body), "{\"name\": \"Doohickey\", \"archetype_id\": \"%s\"}", ca);
    TS_REST_422("POST", PR, &w, body, "reference_not_found", "body", "archetype_id");
    t = GET_OK(item(PR, p2), &w);
    CHECK_NULL(t, "archetype_id");
    p = PATCH_OK(item(PR, p2), &w, "{}");
    CHECK(ts_json_equal(p, t));
    ts_json_free(p);
    ts_json_free(t);

    DELETE_204(item(PR, p2), &w);
    EXPECT_LIST(PR, &w, p1);
    EXPECT_LIST(with_query(PR, "include_archived=true"), &w, p2, p1);
    t = GET_OK(item(PR, p2), &w);
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "archived_at")));
    CHECK_STR(ts_json_get_str(t, "currency"), "GBP");
    ts_json_free(t);

    ts_json_free(a);
    ts_json_free(b);
    ts_who_free(&w);
}

static void test_strategies_crud(const ts_who_t *other_org_admin)
{
    ts_who_t w = fresh_admin("org_strategies");
    char cl[40], pr[40], s1[40], s2[40], foreign_client[40], body[1024];
    yajl_val t = CREATE(CL, &w, "{\"name\": \"Umbrella\"}");
    copy_id(cl, t);
    ts_json_free(t);
    t = CREATE(PR, &w, "{\"name\": \"Vaccine\"}");
    copy_id(pr, t);
    ts_json_free(t);
    t = CREATE(CL, other_org_admin, "{\"name\": \"Someone else's\"}");
    copy_id(foreign_client, t);
    ts_json_free(t);

    yajl_val a = CREATE(ST, &w, "{\"name\": \"Cold call\"}");
    copy_id(s1, a);
    EXPECT_KEYS(a, "id", "name", "client_id", "product_id", "playbook", "objections", "created_at", "updated_at");
    CHECK_NULL(a, "client_id");
    CHECK_NULL(a, "product_id");
    CHECK_STR(ts_json_get_str(a, "playbook"), "");
    CHECK(ts_json_is_array(a, "objections"));
    CHECK_INT(ts_json_len(ts_json_get(a, "objections")), 0);

    snprintf(body, sizeof(body),
             "{\"name\": \"Upsell\", \"client_id\": \"%s\", \"product_id\": \"%s\", \"playbook\": \"Open with ROI.\","
             " \"objections\": [\"Too expensive\", \"No budget this quarter\"]}",
             cl, pr);
    yajl_val b = CREATE(ST, &w, body);
    copy_id(s2, b);
    CHECK_STR(ts_json_get_str(b, "client_id"), cl);
    CHECK_STR(ts_json_get_str(b, "product_id"), pr);
    CHECK_STR(ts_json_get_str(b, "playbook"), "Open with ROI.");
    yajl_val want = parse("[\"Too expensive\", \"No budget this quarter\"]");
    CHECK(ts_json_equal(ts_json_get(b, "objections"), want));
    ts_json_free(want);
    t = GET_OK(item(ST, s2), &w);
    CHECK(ts_json_equal(t, b));
    ts_json_free(t);
    EXPECT_LIST(ST, &w, s2, s1);

    yajl_val p = PATCH_OK(item(ST, s2), &w, "{\"objections\": [\"Timing\"]}");
    CHECK_INT(ts_json_len(ts_json_get(p, "objections")), 1);
    CHECK_STR(ts_json_get_str(p, "objections", "0"), "Timing");
    EXPECT_SAME(p, b, "id", "name", "client_id", "product_id", "playbook", "created_at");
    ts_json_free(p);
    p = PATCH_OK(item(ST, s2), &w, "{\"client_id\": null}");
    CHECK_NULL(p, "client_id");
    CHECK_STR(ts_json_get_str(p, "product_id"), pr);
    CHECK_STR(ts_json_get_str(p, "objections", "0"), "Timing");
    ts_json_free(p);
    /* another organization's client, a product id in client_id, an unknown id */
    snprintf(body, sizeof(body), "{\"client_id\": \"%s\"}", foreign_client);
    TS_REST_422("PATCH", item(ST, s2), &w, body, "reference_not_found", "body", "client_id");
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"client_id\": \"%s\"}", foreign_client);
    TS_REST_422("POST", ST, &w, body, "reference_not_found", "body", "client_id");
    snprintf(body, sizeof(body), "{\"client_id\": \"%s\"}", pr);
    TS_REST_422("PATCH", item(ST, s2), &w, body, "reference_not_found", "body", "client_id");
    TS_REST_422("PATCH", item(ST, s2), &w, "{\"product_id\": \"0c8a3f2e-1111-4222-8333-444455556666\"}",
                "reference_not_found", "body", "product_id");
    t = GET_OK(item(ST, s2), &w);
    CHECK_NULL(t, "client_id");
    CHECK_STR(ts_json_get_str(t, "product_id"), pr);
    ts_json_free(t);
    /* a PATCH {} answers the object */
    t = GET_OK(item(ST, s1), &w);
    p = PATCH_OK(item(ST, s1), &w, "{}");
    CHECK(ts_json_equal(p, t));
    ts_json_free(p);
    ts_json_free(t);

    /* strategies are not deleted through the API */
    ts_resp_t r;
    ts_rest_call("DELETE", item(ST, s2), &w, NULL, NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
    const char *allow = ts_resp_header(&r, "allow");
    CHECK(allow != NULL && strstr(allow, "GET") != NULL && strstr(allow, "PATCH") != NULL &&
          strstr(allow, "DELETE") == NULL);
    if (allow == NULL || strstr(allow, "DELETE") != NULL)
        fprintf(stderr, "Allow of a strategy is \"%s\"\n", allow ? allow : "(absent)");
    ts_resp_free(&r);
    t = GET_OK(item(ST, s2), &w);
    ts_json_free(t);
    ts_rest_call("DELETE", ST, &w, NULL, NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
    allow = ts_resp_header(&r, "allow");
    CHECK(allow != NULL && strstr(allow, "GET") != NULL && strstr(allow, "POST") != NULL &&
          strstr(allow, "DELETE") == NULL);
    ts_resp_free(&r);
    /* and a method no resource route has */
    ts_rest_call("PUT", item(CL, cl), &w, "{\"name\": \"x\"}", NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 405, "method_not_allowed");
    allow = ts_resp_header(&r, "allow");
    CHECK(allow != NULL && strstr(allow, "GET") != NULL && strstr(allow, "PATCH") != NULL &&
          strstr(allow, "DELETE") != NULL);
    ts_resp_free(&r);

    /* an archived client stays referenced by its strategy */
    snprintf(body, sizeof(body), "{\"client_id\": \"%s\"}", cl);
    p = PATCH_OK(item(ST, s1), &w, body);
    CHECK_STR(ts_json_get_str(p, "client_id"), cl);
    ts_json_free(p);
    DELETE_204(item(CL, cl), &w);
    t = GET_OK(item(ST, s1), &w);
    CHECK_STR(ts_json_get_str(t, "client_id"), cl);
    ts_json_free(t);

    ts_json_free(a);
    ts_json_free(b);
    ts_who_free(&w);
}

/* ---- validation --------------------------------------------------------------------------- */

/* The name rules every resource shares, on create and on update. */
static void name_rules(const char *coll, const ts_who_t *w)
{
    char *s200 = ts_repeat('n', 200), *s201 = ts_repeat('n', 201);
    char body[512];
    TS_REST_422("POST", coll, w, "{}", "missing", "body", "name");
    TS_REST_422("POST", coll, w, "{\"name\": \"\"}", "string_too_short", "body", "name");
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", s201);
    TS_REST_422("POST", coll, w, body, "string_too_long", "body", "name");
    TS_REST_422("POST", coll, w, "{\"name\": 5}", "string_type", "body", "name");
    TS_REST_422("POST", coll, w, "{\"name\": null}", "string_type", "body", "name");
    TS_REST_422("POST", coll, w, "{\"name\": [\"a\"]}", "string_type", "body", "name");
    TS_REST_422("POST", coll, w, "{\"name\": \"a\\u0000b\"}", "string_type", "body", "name");
    TS_REST_422("POST", coll, w, "{\"name\": \"ok\", \"bogus\": 1}", "extra_forbidden", "body", "bogus");
    TS_REST_422("POST", coll, w, "{\"bogus\": 1}", "extra_forbidden", "body", "bogus"); /* unknown before missing */
    TS_REST_422("POST", coll, w, "{\"name\": \"ok\", \"id\": \"0c8a3f2e-1111-4222-8333-444455556666\"}",
                "extra_forbidden", "body", "id");
    TS_REST_422("POST", coll, w, "{\"name\": \"ok\", \"created_at\": \"2026-01-01T00:00:00Z\"}", "extra_forbidden",
                "body", "created_at");
    TS_REST_422("POST", coll, w, "{\"name\": \"ok\", \"organization_id\": \"x\"}", "extra_forbidden", "body",
                "organization_id");
    TS_REST_422("POST", coll, w, "[]", "model_attributes_type", "body");
    TS_REST_422("POST", coll, w, "\"name\"", "model_attributes_type", "body");

    /* 200 characters (of two bytes each, even) are fine */
    char *wide = malloc(2 * 200 + 1);
    wide[0] = '\0';
    for (int i = 0; i < 200; i++)
        strcat(wide, "\xc3\xa9");
    char *big = malloc(1024);
    snprintf(big, 1024, "{\"name\": \"%s\"}", wide);
    yajl_val t = CREATE(coll, w, big);
    CHECK_STR(ts_json_get_str(t, "name"), wide);
    char id[40];
    copy_id(id, t);
    ts_json_free(t);
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", s200);
    t = PATCH_OK(item(coll, id), w, body);
    CHECK_STR(ts_json_get_str(t, "name"), s200);
    ts_json_free(t);

    /* on update */
    const char *it = item(coll, id);
    TS_REST_422("PATCH", it, w, "{\"name\": \"\"}", "string_too_short", "body", "name");
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", s201);
    TS_REST_422("PATCH", it, w, body, "string_too_long", "body", "name");
    TS_REST_422("PATCH", it, w, "{\"name\": null}", "string_type", "body", "name");
    TS_REST_422("PATCH", it, w, "{\"name\": 5}", "string_type", "body", "name");
    TS_REST_422("PATCH", it, w, "{\"bogus\": 1}", "extra_forbidden", "body", "bogus");
    TS_REST_422("PATCH", it, w, "{\"id\": \"0c8a3f2e-1111-4222-8333-444455556666\"}", "extra_forbidden", "body", "id");
    TS_REST_422("PATCH", it, w, "{\"updated_at\": \"2026-01-01T00:00:00Z\"}", "extra_forbidden", "body", "updated_at");
    TS_REST_422("PATCH", it, w, "[]", "model_attributes_type", "body");
    t = GET_OK(it, w);
    CHECK_STR(ts_json_get_str(t, "name"), s200); /* none of them wrote */
    ts_json_free(t);

    free(wide);
    free(big);
    free(s200);
    free(s201);
}

static void test_validation(const ts_who_t *other_org_admin)
{
    ts_who_t w = fresh_admin("org_valid");
    char body[16384];
    const char *const colls[] = {CA, PA, CL, PR, ST};
    for (size_t i = 0; i < 5; i++) {
        if (strcmp(colls[i], CL) == 0 || strcmp(colls[i], ST) == 0) {
            /* clients and strategies have no description: it is an unknown field there */
            TS_REST_422("POST", colls[i], &w, "{\"name\": \"x\", \"description\": \"x\"}", "extra_forbidden", "body",
                        "description");
        }
        name_rules(colls[i], &w);
    }

    char ca[40], pa[40], cl[40], foreign_ca[40];
    yajl_val t = CREATE(CA, &w, "{\"name\": \"A\"}");
    copy_id(ca, t);
    ts_json_free(t);
    t = CREATE(PA, &w, "{\"name\": \"P\"}");
    copy_id(pa, t);
    ts_json_free(t);
    t = CREATE(CL, &w, "{\"name\": \"C\"}");
    copy_id(cl, t);
    ts_json_free(t);
    t = CREATE(CA, other_org_admin, "{\"name\": \"Theirs\"}");
    copy_id(foreign_ca, t);
    ts_json_free(t);
    long long clients_before = ts_db_count(db, "SELECT count(*) FROM clients c JOIN organizations o"
                                               " ON o.id = c.organization_id WHERE o.external_id = $1",
                                           TS_DB_PARAMS(w.org));

    /* archetypes: traits is an object of at most 50 members; description at most 5000 */
    TS_REST_422("POST", CA, &w, "{\"name\": \"x\", \"traits\": []}", "dict_type", "body", "traits");
    TS_REST_422("POST", PA, &w, "{\"name\": \"x\", \"traits\": \"x\"}", "dict_type", "body", "traits");
    TS_REST_422("POST", CA, &w, "{\"name\": \"x\", \"traits\": null}", "dict_type", "body", "traits");
    TS_REST_422("POST", CA, &w, "{\"name\": \"x\", \"traits\": {\"k\": \"a\\u0000\"}}", "value_error", "body", "traits");
    size_t n = (size_t)snprintf(body, sizeof(body), "{\"name\": \"x\", \"traits\": {");
    for (int i = 0; i < 51; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"k%d\": %d", i ? ", " : "", i, i);
    snprintf(body + n, sizeof(body) - n, "}}");
    TS_REST_422("POST", CA, &w, body, "too_long", "body", "traits");
    char *s5001 = ts_repeat('d', 5001);
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"description\": \"%s\"}", s5001);
    TS_REST_422("POST", PA, &w, body, "string_too_long", "body", "description");
    TS_REST_422("POST", PA, &w, "{\"name\": \"x\", \"description\": 1}", "string_type", "body", "description");

    /* clients: text limits, archetype_id a UUID of one of the org's client archetypes */
    char *s201 = ts_repeat('i', 201), *s51 = ts_repeat('s', 51), *s10001 = ts_repeat('n', 10001);
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"industry\": \"%s\"}", s201);
    TS_REST_422("POST", CL, &w, body, "string_too_long", "body", "industry");
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"size\": \"%s\"}", s51);
    TS_REST_422("POST", CL, &w, body, "string_too_long", "body", "size");
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"notes\": \"%s\"}", s10001);
    TS_REST_422("POST", CL, &w, body, "string_too_long", "body", "notes");
    TS_REST_422("POST", CL, &w, "{\"name\": \"x\", \"industry\": 5}", "string_type", "body", "industry");
    TS_REST_422("POST", CL, &w, "{\"name\": \"x\", \"archetype_id\": \"not-a-uuid\"}", "uuid_parsing", "body",
                "archetype_id");
    TS_REST_422("POST", CL, &w, "{\"name\": \"x\", \"archetype_id\": \"0c8a3f2e-1111-4222-8333-44445555666\"}",
                "uuid_parsing", "body", "archetype_id");
    TS_REST_422("POST", CL, &w, "{\"name\": \"x\", \"archetype_id\": 5}", "string_type", "body", "archetype_id");
    TS_REST_422("POST", CL, &w, "{\"name\": \"x\", \"archetype_id\": \"0c8a3f2e-1111-4222-8333-444455556666\"}",
                "reference_not_found", "body", "archetype_id");
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"archetype_id\": \"%s\"}", foreign_ca);
    TS_REST_422("POST", CL, &w, body, "reference_not_found", "body", "archetype_id");
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"archetype_id\": \"%s\"}", pa);
    TS_REST_422("POST", CL, &w, body, "reference_not_found", "body", "archetype_id");
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"archetype_id\": \"%s\"}", cl);
    TS_REST_422("POST", CL, &w, body, "reference_not_found", "body", "archetype_id");
    snprintf(body, sizeof(body), "{\"archetype_id\": \"%s\"}", foreign_ca);
    TS_REST_422("PATCH", item(CL, cl), &w, body, "reference_not_found", "body", "archetype_id");
    TS_REST_422("PATCH", item(CL, cl), &w, "{\"archetype_id\": \"nope\"}", "uuid_parsing", "body", "archetype_id");
    TS_REST_422("PATCH", item(CL, cl), &w, "{\"archived_at\": null}", "extra_forbidden", "body", "archived_at");

    /* products: price_cents an integer in 0..10^12, currency three letters */
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"price_cents\": \"x\"}", "int_type", "body", "price_cents");
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"price_cents\": \"100\"}", "int_type", "body", "price_cents");
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"price_cents\": -1}", "greater_than_equal", "body", "price_cents");
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"price_cents\": 1.5}", "int_from_float", "body", "price_cents");
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"price_cents\": 1000000000001}", "less_than_equal", "body",
                "price_cents");
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"price_cents\": 99999999999999999999999}", "less_than_equal",
                "body", "price_cents");
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"price_cents\": true}", "int_type", "body", "price_cents");
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"currency\": \"US\"}", "string_too_short", "body", "currency");
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"currency\": \"USDX\"}", "string_too_long", "body", "currency");
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"currency\": null}", "string_type", "body", "currency");
    /* the column holds ISO 4217 codes (^[A-Z]{3}$): anything else names the field too */
    TS_REST_422("POST", PR, &w, "{\"name\": \"x\", \"currency\": \"usd\"}", NULL, "body", "currency");
    TS_REST_422("PATCH", item(PR, "0c8a3f2e-1111-4222-8333-444455556666"), &w, "{\"price_cents\": -5}",
                "greater_than_equal", "body", "price_cents"); /* the body is judged before the row is looked up */

    /* strategies: objections an array of at most 50 strings */
    TS_REST_422("POST", ST, &w, "{\"name\": \"x\", \"objections\": [1]}", "string_type", "body", "objections", "0");
    TS_REST_422("POST", ST, &w, "{\"name\": \"x\", \"objections\": [\"ok\", null]}", "string_type", "body",
                "objections", "1");
    TS_REST_422("POST", ST, &w, "{\"name\": \"x\", \"objections\": \"Too expensive\"}", "list_type", "body",
                "objections");
    TS_REST_422("POST", ST, &w, "{\"name\": \"x\", \"objections\": {}}", "list_type", "body", "objections");
    TS_REST_422("POST", ST, &w, "{\"name\": \"x\", \"objections\": null}", "list_type", "body", "objections");
    n = (size_t)snprintf(body, sizeof(body), "{\"name\": \"x\", \"objections\": [");
    for (int i = 0; i < 51; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"o\"", i ? ", " : "");
    snprintf(body + n, sizeof(body) - n, "]}");
    TS_REST_422("POST", ST, &w, body, "too_long", "body", "objections");
    n = (size_t)snprintf(body, sizeof(body), "{\"name\": \"fifty\", \"objections\": [");
    for (int i = 0; i < 50; i++)
        n += (size_t)snprintf(body + n, sizeof(body) - n, "%s\"o%d\"", i ? ", " : "", i);
    snprintf(body + n, sizeof(body) - n, "]}");
    t = CREATE(ST, &w, body);
    CHECK_INT(ts_json_len(ts_json_get(t, "objections")), 50);
    ts_json_free(t);
    char *s501 = ts_repeat('o', 501);
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"objections\": [\"ok\", \"%s\"]}", s501);
    TS_REST_422("POST", ST, &w, body, "string_too_long", "body", "objections", "1");
    /* the longest objection the validator lets through is one the table accepts */
    char *s500 = ts_repeat('o', 500);
    snprintf(body, sizeof(body), "{\"name\": \"x\", \"objections\": [\"%s\", \"\"]}", s500);
    t = CREATE(ST, &w, body);
    CHECK_STR(ts_json_get_str(t, "objections", "0"), s500);
    ts_json_free(t);
    free(s500);
    TS_REST_422("POST", ST, &w, "{\"name\": \"x\", \"client_id\": \"nope\"}", "uuid_parsing", "body", "client_id");
    TS_REST_422("POST", ST, &w, "{\"name\": \"x\", \"product_id\": \"0c8a3f2e-1111-4222-8333-444455556666\"}",
                "reference_not_found", "body", "product_id");
    TS_REST_422("POST", ST, &w, "{\"name\": \"x\", \"playbook\": null}", "string_type", "body", "playbook");

    /* body-level errors: not JSON, not JSON at all, no body */
    ts_resp_t r;
    ts_rest_call("POST", CL, &w, "{\"name\": ", NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 400, "bad_json");
    ts_resp_free(&r);
    ts_rest_call("POST", CL, &w, "{\"name\": \"x\",}", NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 400, "bad_json");
    ts_resp_free(&r);
    ts_rest_call("PATCH", item(CL, cl), &w, "{'name': 'x'}", NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 400, "bad_json");
    ts_resp_free(&r);
    ts_http_request(&(ts_req_t){.method = "POST", .url = ts_server_url(srv, 0, CL),
                                .headers = (const char *[]){ts_jwt_bearer(w.token), NULL}},
                    &r);
    TS_EXPECT_422(&r, "missing", "body");
    ts_resp_free(&r);
    /* the wrong media type: 415, whatever the body */
    static const char *const bad_types[] = {"Content-Type: text/plain", "Content-Type: application/x-www-form-urlencoded",
                                            "Content-Type: application/jsonx", "Content-Type:"};
    for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
        ts_http_request(&(ts_req_t){.method = "POST", .url = ts_server_url(srv, 0, CL),
                                    .headers = (const char *[]){ts_jwt_bearer(w.token), bad_types[i], NULL},
                                    .body = "{\"name\": \"typed\"}", .body_len = 17},
                        &r);
        TS_EXPECT_ERROR(&r, 415, "unsupported_media_type");
        ts_resp_free(&r);
    }
    ts_http_request(&(ts_req_t){.method = "PATCH", .url = ts_server_url(srv, 0, item(CL, cl)),
                                .headers = (const char *[]){ts_jwt_bearer(w.token), "Content-Type: text/plain", NULL},
                                .body = "{\"name\": \"typed\"}", .body_len = 17},
                    &r);
    TS_EXPECT_ERROR(&r, 415, "unsupported_media_type");
    ts_resp_free(&r);
    /* ... while application/json with parameters is JSON */
    ts_http_request(&(ts_req_t){.method = "POST", .url = ts_server_url(srv, 0, CL),
                                .headers = (const char *[]){ts_jwt_bearer(w.token),
                                                            "Content-Type: Application/JSON; charset=utf-8", NULL},
                                .body = "{\"name\": \"charset\"}", .body_len = 19},
                    &r);
    TS_EXPECT_STATUS(&r, 201);
    ts_resp_free(&r);
    long long clients_after = ts_db_count(db, "SELECT count(*) FROM clients c JOIN organizations o"
                                              " ON o.id = c.organization_id WHERE o.external_id = $1",
                                          TS_DB_PARAMS(w.org));
    CHECK_INT(clients_after, clients_before + 1); /* only the last one created a client */

    /* over the route's body limit (2 KiB on strategies here): 413 before parsing, even of junk */
    char *pb = ts_repeat('p', 2100);
    snprintf(body, sizeof(body), "{\"name\": \"big\", \"playbook\": \"%s\"}", pb);
    ts_rest_call("POST", ST, &w, body, NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 413, "payload_too_large");
    ts_resp_free(&r);
    memset(body, '{', 3000);
    body[3000] = '\0';
    ts_rest_call("POST", ST, &w, body, NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 413, "payload_too_large");
    ts_resp_free(&r);
    snprintf(body, sizeof(body), "{\"playbook\": \"%s\"}", pb);
    ts_rest_call("PATCH", item(ST, "0c8a3f2e-1111-4222-8333-444455556666"), &w, body, NULL, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 413, "payload_too_large");
    ts_resp_free(&r);
    pb[1900] = '\0'; /* just under the limit: accepted */
    snprintf(body, sizeof(body), "{\"name\": \"fits\", \"playbook\": \"%s\"}", pb);
    t = CREATE(ST, &w, body);
    const char *playbook = ts_json_get_str(t, "playbook");
    CHECK(playbook != NULL && strlen(playbook) == 1900);
    ts_json_free(t);
    /* the same body is fine on a path with the default limit */
    snprintf(body, sizeof(body), "{\"name\": \"big\", \"description\": \"%.4000s\"}", s10001);
    t = CREATE(PR, &w, body);
    ts_json_free(t);

    free(pb);
    free(s501);
    free(s5001);
    free(s201);
    free(s51);
    free(s10001);
    ts_who_free(&w);
}

static void test_query_errors(void)
{
    ts_who_t w = fresh_admin("org_query");
    const char *const colls[] = {CA, PA, CL, PR, ST};
    static const char *const bad_limits[] = {"0", "201", "x", "-1", "", "1.5", "99999999999"};
    for (size_t c = 0; c < 5; c++)
        for (size_t i = 0; i < sizeof(bad_limits) / sizeof(bad_limits[0]); i++) {
            char q[64];
            snprintf(q, sizeof(q), "limit=%s", bad_limits[i]);
            TS_REST_422("GET", with_query(colls[c], q), &w, NULL, "int_parsing", "query", "limit");
        }
    yajl_val t = GET_OK(with_query(CL, "limit=1"), &w);
    ts_json_free(t);
    t = GET_OK(with_query(CL, "limit=200"), &w);
    ts_json_free(t);
    char *long_cursor = ts_repeat('A', 200);
    char q[512];
    static const char *const bad_cursors[] = {"bogus", "null", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "%00", "0"};
    for (size_t c = 0; c < 5; c++)
        for (size_t i = 0; i < sizeof(bad_cursors) / sizeof(bad_cursors[0]); i++) {
            snprintf(q, sizeof(q), "cursor=%s", bad_cursors[i]);
            TS_REST_422("GET", with_query(colls[c], q), &w, NULL, "value_error", "query", "cursor");
        }
    snprintf(q, sizeof(q), "cursor=%s", long_cursor);
    TS_REST_422("GET", with_query(CL, q), &w, NULL, "value_error", "query", "cursor");
    free(long_cursor);
    t = GET_OK(with_query(CL, "cursor="), &w); /* an empty cursor is the first page */
    ts_json_free(t);

    static const char *const bad_bools[] = {"maybe", "", "yes2", "truee"};
    for (size_t i = 0; i < sizeof(bad_bools) / sizeof(bad_bools[0]); i++) {
        snprintf(q, sizeof(q), "include_archived=%s", bad_bools[i]);
        TS_REST_422("GET", with_query(CL, q), &w, NULL, "bool_parsing", "query", "include_archived");
        TS_REST_422("GET", with_query(PR, q), &w, NULL, "bool_parsing", "query", "include_archived");
    }
    char *q201 = ts_repeat('q', 201);
    snprintf(q, sizeof(q), "q=%s", q201);
    TS_REST_422("GET", with_query(CL, q), &w, NULL, "string_too_long", "query", "q");
    free(q201);
    char *q200 = ts_repeat('q', 200);
    snprintf(q, sizeof(q), "q=%s", q200);
    EXPECT_LIST_EMPTY(with_query(CL, q), &w);
    free(q200);
    ts_who_free(&w);
}

/* ---- pagination and search ---------------------------------------------------------------- */

static void test_pagination(void)
{
    ts_who_t w = fresh_admin("org_pages");
    enum { N = 23 };
    char made[N][40], body[128];
    for (int i = 0; i < N; i++) {
        snprintf(body, sizeof(body), "{\"name\": \"Client %02d\"}", i + 1);
        yajl_val t = CREATE(CL, &w, body);
        copy_id(made[i], t);
        ts_json_free(t);
    }

    /* limit=5: pages of 5, 5, 5, 5, 3, newest first, each id once */
    char seen[N + 8][40], prev_created[32] = "", cursor[256] = "", path[512];
    size_t nseen = 0;
    int pages = 0, ended = 0;
    while (pages < 10 && !ended) {
        snprintf(path, sizeof(path), CL "?limit=5%s%s", cursor[0] ? "&cursor=" : "", cursor);
        yajl_val t = GET_OK(path, &w);
        yajl_val items = ts_json_get(t, "items");
        size_t n = ts_json_len(items);
        pages++;
        for (size_t i = 0; i < n; i++) {
            yajl_val it = ts_json_index(items, i);
            const char *id = ts_json_get_str(it, "id"), *created = ts_json_get_str(it, "created_at");
            CHECK(ts_is_rfc3339_z(created));
            if (created != NULL && prev_created[0] != '\0')
                CHECK(strcmp(created, prev_created) <= 0); /* non-increasing */
            snprintf(prev_created, sizeof(prev_created), "%s", created ? created : "");
            if (nseen < N + 8)
                snprintf(seen[nseen++], 40, "%s", id ? id : "");
        }
        const char *next = ts_json_get_str(t, "next_cursor");
        if (next == NULL) {
            CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
            CHECK_INT(n, 3);
            ended = 1;
        } else {
            CHECK_INT(n, 5);
            CHECK(strlen(next) < sizeof(cursor));
            snprintf(cursor, sizeof(cursor), "%s", next);
        }
        ts_json_free(t);
    }
    CHECK(ended);
    CHECK_INT(pages, 5);
    CHECK_INT(nseen, N);
    for (size_t i = 0; i < nseen; i++)
        for (size_t k = i + 1; k < nseen; k++)
            CHECK(strcmp(seen[i], seen[k]) != 0);
    /* exactly the created ones, in reverse order of creation */
    int order_ok = nseen == N;
    for (size_t i = 0; order_ok && i < N; i++)
        order_ok = strcmp(seen[i], made[N - 1 - i]) == 0;
    CHECK(order_ok);

    /* the default page holds them all; an exactly full page has no next one */
    yajl_val t = GET_OK(CL, &w);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), N);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);
    t = GET_OK(with_query(CL, "limit=23"), &w);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), N);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);
    t = GET_OK(with_query(CL, "limit=22"), &w);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 22);
    const char *next = ts_json_get_str(t, "next_cursor");
    REQUIRE(next != NULL);
    snprintf(cursor, sizeof(cursor), "%s", next);
    ts_json_free(t);
    snprintf(path, sizeof(path), CL "?limit=22&cursor=%s", cursor);
    t = GET_OK(path, &w);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    CHECK_STR(ts_json_get_str(t, "items", "0", "id"), made[0]);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);

    /* archived rows leave the walk (and come back with include_archived) without gaps */
    DELETE_204(item(CL, made[11]), &w);
    size_t walked = 0, archived_seen = 0;
    cursor[0] = '\0';
    for (int p = 0; p < 10; p++) {
        snprintf(path, sizeof(path), CL "?limit=4&include_archived=true%s%s", cursor[0] ? "&cursor=" : "", cursor);
        t = GET_OK(path, &w);
        yajl_val items = ts_json_get(t, "items");
        for (size_t i = 0; i < ts_json_len(items); i++, walked++)
            archived_seen += str_eq(ts_json_get_str(ts_json_index(items, i), "id"), made[11]);
        next = ts_json_get_str(t, "next_cursor");
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        ts_json_free(t);
        if (next == NULL)
            break;
    }
    CHECK_INT(walked, N);
    CHECK_INT(archived_seen, 1);
    t = GET_OK(with_query(CL, "limit=200"), &w);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), N - 1);
    ts_json_free(t);

    /* cursors are bound to their collection */
    for (int i = 0; i < 2; i++) {
        t = CREATE(PR, &w, "{\"name\": \"P\"}");
        ts_json_free(t);
    }
    t = GET_OK(with_query(PR, "limit=1"), &w);
    next = ts_json_get_str(t, "next_cursor");
    REQUIRE(next != NULL);
    char pcursor[256];
    snprintf(pcursor, sizeof(pcursor), "%s", next);
    ts_json_free(t);
    snprintf(path, sizeof(path), CL "?cursor=%s", pcursor);
    TS_REST_422("GET", path, &w, NULL, "value_error", "query", "cursor");
    snprintf(path, sizeof(path), PR "?cursor=%s", pcursor);
    t = GET_OK(path, &w);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    ts_json_free(t);
    t = GET_OK(with_query(CL, "limit=1"), &w);
    next = ts_json_get_str(t, "next_cursor");
    REQUIRE(next != NULL);
    snprintf(path, sizeof(path), CA "?cursor=%s", next);
    ts_json_free(t);
    TS_REST_422("GET", path, &w, NULL, "value_error", "query", "cursor");
    ts_who_free(&w);
}

/* GET coll?<query> and compare the names found with want (any order). */
static void expect_names_at(int line, const ts_who_t *w, const char *query, const char *const *want)
{
    yajl_val t = GET_OK(with_query(CL, query), w);
    yajl_val items = ts_json_get(t, "items");
    size_t n = ts_json_len(items), nwant = 0;
    while (want[nwant] != NULL)
        nwant++;
    int ok = n == nwant;
    for (size_t i = 0; ok && i < nwant; i++) {
        int found = 0;
        for (size_t k = 0; k < n; k++)
            found += str_eq(ts_json_get_str(ts_json_index(items, k), "name"), want[i]);
        ok = found == 1;
    }
    if (!check_at(line, ok, "GET ?%s found %zu names, expected %zu:", query, n, nwant))
        for (size_t k = 0; k < n; k++)
            fprintf(stderr, "  got \"%s\"\n", ts_json_get_str(ts_json_index(items, k), "name"));
    ts_json_free(t);
}
#define EXPECT_NAMES(w, query, ...) expect_names_at(__LINE__, (w), (query), (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_NO_NAMES(w, query) expect_names_at(__LINE__, (w), (query), (const char *const[]){NULL})

static void test_search(const ts_who_t *other_org_admin)
{
    ts_who_t w = fresh_admin("org_search");
    static const char *const names[] = {"50% off", "100_percent", "Plain Acme", "ACME corp", "a%b_c",
                                        "back\\\\slash", "Zeta", "Old acme"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char body[128];
        snprintf(body, sizeof(body), "{\"name\": \"%s\"}", names[i]);
        yajl_val t = CREATE(CL, &w, body);
        if (i == 7)
            DELETE_204(item(CL, ts_json_get_str(t, "id")), &w);
        ts_json_free(t);
    }
    yajl_val t = CREATE(CL, other_org_admin, "{\"name\": \"Acme of another org\"}");
    ts_json_free(t);

    /* '%' and '_' are literal characters, not patterns */
    EXPECT_NAMES(&w, "q=%25", "50% off", "a%b_c");
    EXPECT_NAMES(&w, "q=_", "100_percent", "a%b_c");
    EXPECT_NAMES(&w, "q=0%25", "50% off");
    EXPECT_NAMES(&w, "q=%25b_", "a%b_c");
    EXPECT_NO_NAMES(&w, "q=5_");
    EXPECT_NO_NAMES(&w, "q=a%25c");
    EXPECT_NAMES(&w, "q=%5C", "back\\slash");
    EXPECT_NAMES(&w, "q=k%5Cs", "back\\slash");
    /* case-insensitive substring, archived ones only when asked, never another org's */
    EXPECT_NAMES(&w, "q=acme", "Plain Acme", "ACME corp");
    EXPECT_NAMES(&w, "q=ACME", "Plain Acme", "ACME corp");
    EXPECT_NAMES(&w, "q=cMe", "Plain Acme", "ACME corp");
    EXPECT_NAMES(&w, "q=acme&include_archived=true", "Plain Acme", "ACME corp", "Old acme");
    EXPECT_NAMES(&w, "q=Plain+Acme", "Plain Acme");
    EXPECT_NAMES(&w, "q=Plain%20Acme", "Plain Acme");
    EXPECT_NAMES(&w, "q=ze", "Zeta");
    EXPECT_NO_NAMES(&w, "q=zzz");
    EXPECT_NO_NAMES(&w, "q=another");
    EXPECT_NAMES(&w, "q=", "50% off", "100_percent", "Plain Acme", "ACME corp", "a%b_c", "back\\slash", "Zeta");
    /* a search pages like the list */
    t = GET_OK(with_query(CL, "q=%25&limit=1"), &w);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    CHECK_STR(ts_json_get_str(t, "items", "0", "name"), "a%b_c");
    const char *next = ts_json_get_str(t, "next_cursor");
    REQUIRE(next != NULL);
    char path[512];
    snprintf(path, sizeof(path), CL "?q=%%25&limit=1&cursor=%s", next);
    ts_json_free(t);
    t = GET_OK(path, &w);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    CHECK_STR(ts_json_get_str(t, "items", "0", "name"), "50% off");
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    ts_json_free(t);
    ts_who_free(&w);
}

/* ---- tenancy, roles, authentication ------------------------------------------------------- */

static ts_who_t a_admin, a_member, b_admin, b_member;

typedef struct owned {
    char ca[40], pa[40], cl[40], pr[40], st[40];
} owned_t;

static void make_owned(const ts_who_t *w, owned_t *o, const char *label)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"name\": \"%s archetype\"}", label);
    yajl_val t = CREATE(CA, w, body);
    copy_id(o->ca, t);
    ts_json_free(t);
    t = CREATE(PA, w, body);
    copy_id(o->pa, t);
    ts_json_free(t);
    snprintf(body, sizeof(body), "{\"name\": \"%s client\"}", label);
    t = CREATE(CL, w, body);
    copy_id(o->cl, t);
    ts_json_free(t);
    snprintf(body, sizeof(body), "{\"name\": \"%s product\"}", label);
    t = CREATE(PR, w, body);
    copy_id(o->pr, t);
    ts_json_free(t);
    snprintf(body, sizeof(body), "{\"name\": \"%s strategy\", \"client_id\": \"%s\"}", label, o->cl);
    t = CREATE(ST, w, body);
    copy_id(o->st, t);
    ts_json_free(t);
}

static const char *owned_id(const owned_t *o, size_t i)
{
    const char *ids[] = {o->ca, o->pa, o->cl, o->pr, o->st};
    return ids[i];
}

static void test_tenancy_and_roles(void)
{
    static const char *const colls[] = {CA, PA, CL, PR, ST};
    owned_t a, b;
    make_owned(&a_admin, &a, "A");
    make_owned(&b_admin, &b, "B");

    for (size_t i = 0; i < 5; i++) {
        const char *ai = item(colls[i], owned_id(&a, i)), *bi = item(colls[i], owned_id(&b, i));
        yajl_val before = GET_OK(ai, &a_admin);

        /* another org's admin: 404 for every verb, and nothing changes */
        TS_REST_ERROR("GET", ai, &b_admin, NULL, 404, "not_found");
        TS_REST_ERROR("PATCH", ai, &b_admin, "{\"name\": \"Hijacked\"}", 404, "not_found");
        TS_REST_ERROR("PATCH", ai, &b_admin, "{}", 404, "not_found");
        if (i != 4) /* strategies have no DELETE */
            TS_REST_ERROR("DELETE", ai, &b_admin, NULL, 404, "not_found");
        TS_REST_ERROR("GET", ai, &b_member, NULL, 404, "not_found");
        /* lists hold only the caller's org's rows */
        EXPECT_LIST(colls[i], &b_admin, owned_id(&b, i));
        CHECK(!list_has(with_query(colls[i], "include_archived=true"), &b_admin, owned_id(&a, i)));
        CHECK(list_has(colls[i], &a_admin, owned_id(&a, i)));
        CHECK(!list_has(colls[i], &a_admin, owned_id(&b, i)));

        /* a member of A reads A's rows... */
        yajl_val t = GET_OK(ai, &a_member);
        CHECK(ts_json_equal(t, before));
        ts_json_free(t);
        CHECK(list_has(colls[i], &a_member, owned_id(&a, i)));
        CHECK(!list_has(colls[i], &a_member, owned_id(&b, i)));
        /* ...but does not write them: 403 for A's rows, 404 for B's or unknown ones */
        TS_REST_ERROR("POST", colls[i], &a_member, "{\"name\": \"By a member\"}", 403, "forbidden");
        TS_REST_ERROR("POST", colls[i], &a_member, "{}", 403, "forbidden"); /* the role before the body */
        TS_REST_ERROR("PATCH", ai, &a_member, "{\"name\": \"By a member\"}", 403, "forbidden");
        TS_REST_ERROR("PATCH", bi, &a_member, "{\"name\": \"By a member\"}", 404, "not_found");
        TS_REST_ERROR("PATCH", item(colls[i], "0c8a3f2e-1111-4222-8333-444455556666"), &a_member,
                      "{\"name\": \"By a member\"}", 404, "not_found");
        TS_REST_ERROR("PATCH", item(colls[i], "not-a-uuid"), &a_member, "{\"name\": \"x\"}", 404, "not_found");
        TS_REST_ERROR("GET", bi, &a_member, NULL, 404, "not_found");
        if (i != 4) {
            TS_REST_ERROR("DELETE", ai, &a_member, NULL, 403, "forbidden");
            TS_REST_ERROR("DELETE", bi, &a_member, NULL, 404, "not_found");
            TS_REST_ERROR("DELETE", item(colls[i], "0c8a3f2e-1111-4222-8333-444455556666"), &a_member, NULL, 404,
                          "not_found");
        }
        t = GET_OK(ai, &a_admin);
        CHECK(ts_json_equal(t, before)); /* untouched by all of the above */
        ts_json_free(t);
        ts_json_free(before);
        t = GET_OK(bi, &b_admin);
        CHECK_STR(ts_json_get_str(t, "id"), owned_id(&b, i));
        if (ts_json_get(t, "archived_at") != NULL)
            CHECK_NULL(t, "archived_at");
        ts_json_free(t);

        /* ids that are not UUIDs, and UUIDs of nothing: 404 like any unknown one */
        static const char *const bad_ids[] = {"not-a-uuid", "1", "0c8a3f2e-1111-4222-8333-44445555666g",
                                              "0c8a3f2e-1111-4222-8333-4444555566661", "0c8a3f2e111142228333444455556666",
                                              "0c8a3f2e-1111-4222-8333-444455556666"};
        for (size_t k = 0; k < sizeof(bad_ids) / sizeof(bad_ids[0]); k++) {
            TS_REST_ERROR("GET", item(colls[i], bad_ids[k]), &a_admin, NULL, 404, "not_found");
            TS_REST_ERROR("PATCH", item(colls[i], bad_ids[k]), &a_admin, "{\"name\": \"x\"}", 404, "not_found");
            if (i != 4)
                TS_REST_ERROR("DELETE", item(colls[i], bad_ids[k]), &a_admin, NULL, 404, "not_found");
        }
        /* an id of another resource is unknown here */
        TS_REST_ERROR("GET", item(colls[i], owned_id(&a, (i + 1) % 5)), &a_admin, NULL, 404, "not_found");
        /* the same id in upper case is the same row */
        char upper[40];
        snprintf(upper, sizeof(upper), "%s", owned_id(&a, i));
        for (char *p = upper; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
        t = GET_OK(item(colls[i], upper), &a_admin);
        CHECK_STR(ts_json_get_str(t, "id"), owned_id(&a, i));
        ts_json_free(t);
    }
    /* B's admin cannot archive A's client; A's list still shows it */
    CHECK(list_has(CL, &a_admin, a.cl));
    CHECK(list_has(PR, &a_admin, a.pr));

    /* no token, or a bad one: 401 before anything else */
    const char *ai = item(CL, a.cl);
    static const char *const methods[] = {"GET", "POST", "GET", "PATCH", "DELETE"};
    const char *paths[] = {CL, CL, ai, ai, ai};
    for (size_t i = 0; i < 5; i++) {
        ts_resp_t r;
        const char *body = strcmp(methods[i], "POST") == 0 || strcmp(methods[i], "PATCH") == 0 ? "{\"name\": \"x\"}" : NULL;
        ts_rest_call(methods[i], paths[i], NULL, body, NULL, TS_H1, &r);
        TS_EXPECT_ERROR(&r, 401, "unauthorized");
        CHECK(ts_resp_header(&r, "www-authenticate") != NULL);
        ts_resp_free(&r);
        ts_rest_call(methods[i], paths[i], NULL, body, (const char *[]){"Authorization: Bearer not.a.token", NULL},
                     TS_H1, &r);
        TS_EXPECT_ERROR(&r, 401, "unauthorized");
        ts_resp_free(&r);
    }
    TS_REST_ERROR("GET", ST, NULL, NULL, 401, "unauthorized");
    TS_REST_ERROR("GET", CA, NULL, NULL, 401, "unauthorized");
    yajl_val t = GET_OK(ai, &a_admin);
    CHECK_STR(ts_json_get_str(t, "name"), "A client");
    CHECK_NULL(t, "archived_at");
    ts_json_free(t);
}

/* ---- protocols ---------------------------------------------------------------------------- */

static void test_http2(void)
{
    ts_who_t w = fresh_admin("org_h2");
    ts_resp_t r;
    yajl_val c = create_at(__LINE__, CL, &w, "{\"name\": \"Over h2\"}", TS_H2C_PRIOR);
    char id[40];
    copy_id(id, c);
    ts_json_free(c);

    ts_rest_call("GET", CL, &w, NULL, NULL, TS_H2C_PRIOR, &r);
    TS_EXPECT_STATUS(&r, 200);
    CHECK_INT(r.http_major, 2);
    TS_EXPECT_JSON(&r);
    TS_EXPECT_APP_HEADERS(&r, 0);
    yajl_val t = ts_json_parse(r.body, "list over h2");
    CHECK_STR(ts_json_get_str(t, "items", "0", "id"), id);
    ts_json_free(t);
    ts_resp_free(&r);

    ts_rest_call("PATCH", item(CL, id), &w, "{\"industry\": \"Telecom\"}", NULL, TS_H2C_PRIOR, &r);
    TS_EXPECT_STATUS(&r, 200);
    CHECK_INT(r.http_major, 2);
    t = ts_json_parse(r.body, "patch over h2");
    CHECK_STR(ts_json_get_str(t, "industry"), "Telecom");
    CHECK_STR(ts_json_get_str(t, "name"), "Over h2");
    ts_json_free(t);
    ts_resp_free(&r);

    ts_rest_call("POST", CL, &w, "{\"name\": \"\"}", NULL, TS_H2C_PRIOR, &r);
    TS_EXPECT_422(&r, "string_too_short", "body", "name");
    CHECK_INT(r.http_major, 2);
    ts_resp_free(&r);

    ts_rest_call("DELETE", item(CL, id), &w, NULL, NULL, TS_H2C_PRIOR, &r);
    TS_EXPECT_STATUS(&r, 204);
    CHECK_INT(r.http_major, 2);
    CHECK_INT(r.body_len, 0);
    ts_resp_free(&r);
    EXPECT_LIST_EMPTY(CL, &w);
    ts_who_free(&w);
}

int main(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    db = ts_rest_db();

    char org_a[128], org_b[128];
    snprintf(org_a, sizeof(org_a), "%s", ts_jwt_unique("org_a"));
    snprintf(org_b, sizeof(org_b), "%s", ts_jwt_unique("org_b"));
    ts_who_make(&a_admin, NULL, org_a, "admin");
    ts_who_make(&a_member, NULL, org_a, "member");
    ts_who_make(&b_admin, NULL, org_b, "admin");
    ts_who_make(&b_member, NULL, org_b, "member");
    /* the other organization whose rows the single-org tests must not reach (A and B stay empty
     * for the tenancy test, which compares whole lists) */
    ts_who_t x_admin;
    ts_who_make(&x_admin, NULL, ts_jwt_unique("org_x"), "admin");

    test_archetypes(CA);
    test_archetypes(PA);
    test_clients_crud();
    test_products_crud();
    test_strategies_crud(&x_admin);
    test_validation(&x_admin);
    test_query_errors();
    test_pagination();
    test_search(&x_admin);
    test_http2();
    test_tenancy_and_roles();

    ts_who_free(&a_admin);
    ts_who_free(&a_member);
    ts_who_free(&b_admin);
    ts_who_free(&b_member);
    ts_who_free(&x_admin);
    PQfinish(db);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("test_resources");
}
