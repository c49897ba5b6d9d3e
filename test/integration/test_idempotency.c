/* Idempotency-Key on POST through the real server (API.md "Conventions"), on the sales playbook's
 * clients: a retry replays the first response byte for byte with Idempotent-Replayed and creates
 * nothing; another body or path under the key is a 409; keys are per principal; the key's length
 * rules; concurrent duplicates create exactly one row; a stored 4xx replays too; and the header
 * means nothing on other methods. Rows are counted in the database. */
#include <curl/curl.h>
#include <libpq-fe.h>
#include <stdint.h>
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

#define CL "/api/v1/sailwind/clients"
#define PR "/api/v1/sailwind/products"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY
    "/api/v1/sailwind:\n  app.handler: sailwind\n  app.auth: required\n";

static ts_server_t *srv;
static PGconn *db;

/* ---- helpers ------------------------------------------------------------------------------ */

static int str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* POST path as w with "Idempotency-Key: key" (key NULL: the header line as given in raw_header). */
static void post_key(const char *path, const ts_who_t *w, const char *key, const char *body, ts_version_t v,
                     ts_resp_t *r)
{
    char *line = NULL;
    if (key != NULL) {
        size_t n = strlen(key) + 32;
        line = malloc(n);
        snprintf(line, n, "Idempotency-Key: %s", key);
    }
    ts_rest_call("POST", path, w, body, (const char *[]){line, NULL}, v, r);
    free(line);
}

/* How many of the org's clients have this name, in the database. */
static long long clients_named(const ts_who_t *w, const char *name)
{
    return ts_db_count(db, "SELECT count(*) FROM clients WHERE organization_id = $1::uuid AND name = $2",
                       TS_DB_PARAMS(w->org_id, name));
}

static long long keys_stored(const ts_who_t *w, const char *key)
{
    return ts_db_count(db, "SELECT count(*) FROM idempotency_keys WHERE user_id = $1::uuid AND key = $2",
                       TS_DB_PARAMS(w->user_id, key));
}

/* b is a replay of a: same status, byte-identical body, same Location, and the replay header
 * (which a lacks). Reported at the caller's line. */
static void expect_replay_at(int line, const ts_resp_t *a, const ts_resp_t *b)
{
    check_count++;
    const char *la = ts_resp_header(a, "location"), *lb = ts_resp_header(b, "location");
    const char *ha = ts_resp_header(a, "idempotent-replayed"), *hb = ts_resp_header(b, "idempotent-replayed");
    int ok = a->status != 0 && b->status == a->status;
    ok = ok && b->body_len == a->body_len && memcmp(a->body, b->body, a->body_len) == 0;
    ok = ok && (la == NULL ? lb == NULL : str_eq(la, lb));
    ok = ok && ha == NULL && str_eq(hb, "true");
    if (!ok) {
        check_failures++;
        fprintf(stderr,
                "%s:%d: not a replay:\n  first:  %ld Location %s Idempotent-Replayed %s %s\n"
                "  second: %ld Location %s Idempotent-Replayed %s %s\n",
                __FILE__, line, a->status, la ? la : "-", ha ? ha : "-", a->body, b->status, lb ? lb : "-",
                hb ? hb : "-", b->status ? b->body : b->error);
    }
}
#define EXPECT_REPLAY(a, b) expect_replay_at(__LINE__, (a), (b))

#define EXPECT_NOT_REPLAYED(r) CHECK(ts_resp_header((r), "idempotent-replayed") == NULL)

/* Sends n identical POSTs with the key at once (curl multi, one connection each) and waits at
 * most 15 s for all of them; a transfer that did not end has status 0 and says so. */
static void burst(const char *path, const ts_who_t *w, const char *key, const char *body, int n, ts_resp_t *out)
{
    CURLM *m = curl_multi_init();
    REQUIRE(m != NULL);
    curl_multi_setopt(m, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    CURL **easy = calloc((size_t)n, sizeof(*easy));
    struct curl_slist **hdrs = calloc((size_t)n, sizeof(*hdrs));
    char auth[8400], idem[320], url[256];
    snprintf(auth, sizeof(auth), "%s", ts_jwt_bearer(w->token));
    snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
    snprintf(url, sizeof(url), "%s", ts_server_url(srv, 0, path));
    for (int i = 0; i < n; i++) {
        easy[i] = curl_easy_init();
        REQUIRE(easy[i] != NULL);
        ts_http_setup_easy(easy[i], TS_H1, 15000);
        ts_http_collect(easy[i], &out[i]);
        hdrs[i] = curl_slist_append(NULL, auth);
        hdrs[i] = curl_slist_append(hdrs[i], "Content-Type: application/json");
        hdrs[i] = curl_slist_append(hdrs[i], idem);
        hdrs[i] = curl_slist_append(hdrs[i], "Expect:");
        curl_easy_setopt(easy[i], CURLOPT_URL, url);
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdrs[i]);
        curl_easy_setopt(easy[i], CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
        curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(easy[i], CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(easy[i], CURLOPT_FORBID_REUSE, 1L);
        curl_easy_setopt(easy[i], CURLOPT_PRIVATE, (void *)(intptr_t)i);
        curl_multi_add_handle(m, easy[i]);
    }
    int running = n;
    int64_t deadline = ts_now_ms() + 15000;
    while (running > 0 && ts_now_ms() < deadline) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running > 0)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        void *priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        int i = (int)(intptr_t)priv;
        ts_http_collected(msg->easy_handle, (int)msg->data.result, &out[i]);
    }
    for (int i = 0; i < n; i++) {
        if (out[i].status == 0 && out[i].error[0] == '\0')
            snprintf(out[i].error, sizeof(out[i].error), "request %d did not end within 15 s", i);
        curl_multi_remove_handle(m, easy[i]);
        curl_easy_cleanup(easy[i]);
        curl_slist_free_all(hdrs[i]);
    }
    curl_multi_cleanup(m);
    free(easy);
    free(hdrs);
}

/* ---- the tests ---------------------------------------------------------------------------- */

static ts_who_t admin1, admin2, member1;

static void test_replay(void)
{
    char name[128], body[256], other[256];
    snprintf(name, sizeof(name), "Idem %s", ts_jwt_unique("client"));
    snprintf(body, sizeof(body), "{\"name\": \"%s\", \"industry\": \"Retail\"}", name);

    ts_resp_t first, again;
    post_key(CL, &admin1, "k1", body, TS_H1, &first);
    TS_EXPECT_STATUS(&first, 201);
    TS_EXPECT_JSON(&first);
    EXPECT_NOT_REPLAYED(&first);
    yajl_val t = ts_json_parse(first.body, "created client");
    char id[40], location[128];
    snprintf(id, sizeof(id), "%s", ts_json_get_str(t, "id") ? ts_json_get_str(t, "id") : "");
    ts_json_free(t);
    snprintf(location, sizeof(location), CL "/%s", id);
    CHECK_STR(ts_resp_header(&first, "location"), location);

    /* the retry: the first response again, nothing new */
    post_key(CL, &admin1, "k1", body, TS_H1, &again);
    EXPECT_REPLAY(&first, &again);
    TS_EXPECT_JSON(&again);
    TS_EXPECT_APP_HEADERS(&again, 0);
    CHECK(!str_eq(ts_resp_header(&again, "x-request-id"), ts_resp_header(&first, "x-request-id")));
    ts_resp_free(&again);
    CHECK_INT(clients_named(&admin1, name), 1);
    yajl_val list = TS_REST_JSON("GET", CL "?q=Idem&limit=200", &admin1, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(list, "items")), 1);
    ts_json_free(list);

    /* the same key with another body, or on another path: 409, nothing written */
    snprintf(other, sizeof(other), "{\"name\": \"%s (changed)\", \"industry\": \"Retail\"}", name);
    post_key(CL, &admin1, "k1", other, TS_H1, &again);
    TS_EXPECT_ERROR(&again, 409, "conflict");
    EXPECT_NOT_REPLAYED(&again);
    ts_resp_free(&again);
    snprintf(other, sizeof(other), "%s (changed)", name);
    CHECK_INT(clients_named(&admin1, other), 0);
    snprintf(other, sizeof(other), "{\"name\": \"%s\"}", name);
    post_key(PR, &admin1, "k1", other, TS_H1, &again);
    TS_EXPECT_ERROR(&again, 409, "conflict");
    ts_resp_free(&again);
    post_key(PR, &admin1, "k1", body, TS_H1, &again); /* the same bytes to another collection */
    TS_EXPECT_ERROR(&again, 409, "conflict");
    ts_resp_free(&again);
    CHECK_INT(ts_db_count(db, "SELECT count(*) FROM products WHERE organization_id = $1::uuid",
                          TS_DB_PARAMS(admin1.org_id)),
              0);

    /* a replay is the stored response, not the row as it is now; and it works over HTTP/2 */
    yajl_val p = TS_REST_JSON("PATCH", location, &admin1, "{\"industry\": \"Energy\"}", 200);
    CHECK_STR(ts_json_get_str(p, "industry"), "Energy");
    ts_json_free(p);
    post_key(CL, &admin1, "k1", body, TS_H2C_PRIOR, &again);
    CHECK_INT(again.http_major, 2);
    EXPECT_REPLAY(&first, &again);
    ts_resp_free(&again);
    CHECK_INT(clients_named(&admin1, name), 1);

    /* the same key by another user (same org) is theirs alone: a new row, then their own replay */
    ts_resp_t second;
    post_key(CL, &admin2, "k1", body, TS_H1, &second);
    TS_EXPECT_STATUS(&second, 201);
    EXPECT_NOT_REPLAYED(&second);
    t = ts_json_parse(second.body, "second user's client");
    CHECK(ts_json_get_str(t, "id") != NULL && !str_eq(ts_json_get_str(t, "id"), id));
    ts_json_free(t);
    CHECK(!str_eq(ts_resp_header(&second, "location"), location));
    CHECK_INT(clients_named(&admin1, name), 2);
    post_key(CL, &admin2, "k1", body, TS_H1, &again);
    EXPECT_REPLAY(&second, &again);
    ts_resp_free(&again);
    post_key(CL, &admin1, "k1", body, TS_H1, &again); /* and the first user's is still theirs */
    EXPECT_REPLAY(&first, &again);
    ts_resp_free(&again);
    CHECK_INT(clients_named(&admin1, name), 2);
    CHECK_INT(keys_stored(&admin1, "k1"), 1);
    CHECK_INT(keys_stored(&admin2, "k1"), 1);
    ts_resp_free(&second);

    /* without a key, the same body creates again (the key is what makes a retry) */
    ts_rest_call("POST", CL, &admin1, body, NULL, TS_H1, &again);
    TS_EXPECT_STATUS(&again, 201);
    EXPECT_NOT_REPLAYED(&again);
    ts_resp_free(&again);
    CHECK_INT(clients_named(&admin1, name), 3);
    ts_resp_free(&first);
}

static void test_key_rules(void)
{
    char name[128], body[256];
    snprintf(name, sizeof(name), "Keyrules %s", ts_jwt_unique("client"));
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", name);
    char *k256 = ts_repeat('k', 256), *k255 = ts_repeat('k', 255);

    ts_resp_t r, again;
    post_key(CL, &admin1, k256, body, TS_H1, &r);
    TS_EXPECT_422(&r, "value_error", "header", "Idempotency-Key");
    ts_resp_free(&r);
    CHECK_INT(clients_named(&admin1, name), 0);

    /* an empty value: curl sends "Name;" as the header with nothing after the colon */
    ts_rest_call("POST", CL, &admin1, body, (const char *[]){"Idempotency-Key;", NULL}, TS_H1, &r);
    TS_EXPECT_422(&r, "value_error", "header", "Idempotency-Key");
    ts_resp_free(&r);
    CHECK_INT(clients_named(&admin1, name), 0);

    /* 255 characters are fine, and replay */
    post_key(CL, &admin1, k255, body, TS_H1, &r);
    TS_EXPECT_STATUS(&r, 201);
    EXPECT_NOT_REPLAYED(&r);
    post_key(CL, &admin1, k255, body, TS_H1, &again);
    EXPECT_REPLAY(&r, &again);
    ts_resp_free(&again);
    ts_resp_free(&r);
    CHECK_INT(clients_named(&admin1, name), 1);

    /* a one-character key too */
    snprintf(body, sizeof(body), "{\"name\": \"%s\", \"size\": \"1\"}", name);
    post_key(CL, &admin1, "x", body, TS_H1, &r);
    TS_EXPECT_STATUS(&r, 201);
    post_key(CL, &admin1, "x", body, TS_H1, &again);
    EXPECT_REPLAY(&r, &again);
    ts_resp_free(&again);
    ts_resp_free(&r);
    CHECK_INT(clients_named(&admin1, name), 2);
    free(k256);
    free(k255);
}

static void test_concurrent(void)
{
    enum { N = 8, ROUNDS = 3 };
    for (int round = 0; round < ROUNDS; round++) {
        char name[128], body[256], key[64];
        snprintf(name, sizeof(name), "Burst %s", ts_jwt_unique("client"));
        snprintf(body, sizeof(body), "{\"name\": \"%s\"}", name);
        snprintf(key, sizeof(key), "burst-%d", round);
        ts_resp_t out[N];
        burst(CL, &admin1, key, body, N, out);

        int created = 0, replayed = 0, busy = 0, other = 0, original = -1;
        for (int i = 0; i < N; i++)
            if (out[i].status == 201 && ts_resp_header(&out[i], "idempotent-replayed") == NULL) {
                created++;
                original = i;
            }
        for (int i = 0; i < N; i++) {
            const ts_resp_t *r = &out[i];
            if (i == original)
                continue;
            if (r->status == 201 && str_eq(ts_resp_header(r, "idempotent-replayed"), "true")) {
                replayed++;
                if (original >= 0)
                    EXPECT_REPLAY(&out[original], r);
            } else if (r->status == 409) {
                busy++;
                TS_EXPECT_ERROR(r, 409, "conflict");
                yajl_val t = ts_json_parse(r->body, "409");
                CHECK_CONTAINS(ts_json_get_str(t, "detail"), "still being processed");
                ts_json_free(t);
                CHECK(ts_resp_header(r, "retry-after") != NULL);
            } else {
                other++;
                fprintf(stderr, "burst %d, request %d: %ld %s\n", round, i, r->status, r->status ? r->body : r->error);
            }
        }
        printf("burst %d: %d created, %d replayed, %d still being processed\n", round, created, replayed, busy);
        CHECK_INT(created, 1);
        CHECK_INT(other, 0);
        CHECK_INT(busy, 0); /* duplicates wait for the first request's answer (up to 2 s) */
        CHECK_INT(clients_named(&admin1, name), 1);

        /* once the first has answered, a retry gets its response (bounded: the store may lag) */
        if (original >= 0) {
            ts_resp_t r = {0};
            int64_t deadline = ts_now_ms() + 5000;
            for (;;) {
                post_key(CL, &admin1, key, body, TS_H1, &r);
                if (r.status != 409 || ts_now_ms() >= deadline)
                    break;
                ts_resp_free(&r);
                ts_nap_ms(20);
            }
            EXPECT_REPLAY(&out[original], &r);
            ts_resp_free(&r);
        }
        CHECK_INT(clients_named(&admin1, name), 1);
        for (int i = 0; i < N; i++)
            ts_resp_free(&out[i]);
    }
}

static void test_failures_stored(void)
{
    ts_resp_t r, again;
    /* a 422 is the answer to that request: replayed as such */
    post_key(CL, &admin1, "bad-1", "{\"name\": \"\"}", TS_H1, &r);
    TS_EXPECT_422(&r, "string_too_short", "body", "name");
    EXPECT_NOT_REPLAYED(&r);
    post_key(CL, &admin1, "bad-1", "{\"name\": \"\"}", TS_H1, &again);
    EXPECT_REPLAY(&r, &again);
    CHECK_INT(again.status, 422);
    TS_EXPECT_JSON(&again);
    ts_resp_free(&again);
    /* a corrected body under the same key is another request: 409 */
    post_key(CL, &admin1, "bad-1", "{\"name\": \"Fixed\"}", TS_H1, &again);
    TS_EXPECT_ERROR(&again, 409, "conflict");
    ts_resp_free(&again);
    CHECK_INT(clients_named(&admin1, "Fixed"), 0);
    ts_resp_free(&r);

    /* a reference to another org's row: 422 reference_not_found, stored too */
    char body[256];
    yajl_val t = TS_REST_JSON("POST", "/api/v1/sailwind/client-archetypes", &admin2, "{\"name\": \"Mine\"}", 201);
    ts_json_free(t);
    ts_who_t outsider;
    ts_who_make(&outsider, NULL, ts_jwt_unique("org_outsider"), "admin");
    t = TS_REST_JSON("POST", "/api/v1/sailwind/client-archetypes", &outsider, "{\"name\": \"Theirs\"}", 201);
    snprintf(body, sizeof(body), "{\"name\": \"Ref\", \"archetype_id\": \"%s\"}", ts_json_get_str(t, "id"));
    ts_json_free(t);
    post_key(CL, &admin1, "bad-2", body, TS_H1, &r);
    TS_EXPECT_422(&r, "reference_not_found", "body", "archetype_id");
    post_key(CL, &admin1, "bad-2", body, TS_H1, &again);
    EXPECT_REPLAY(&r, &again);
    ts_resp_free(&again);
    ts_resp_free(&r);
    ts_who_free(&outsider);

    /* a member's 403 as well */
    post_key(CL, &member1, "forbidden-1", "{\"name\": \"By a member\"}", TS_H1, &r);
    TS_EXPECT_ERROR(&r, 403, "forbidden");
    post_key(CL, &member1, "forbidden-1", "{\"name\": \"By a member\"}", TS_H1, &again);
    EXPECT_REPLAY(&r, &again);
    ts_resp_free(&again);
    ts_resp_free(&r);
    CHECK_INT(clients_named(&admin1, "By a member"), 0);
}

static void test_other_methods(void)
{
    char name[128], body[256];
    snprintf(name, sizeof(name), "Patchy %s", ts_jwt_unique("client"));
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", name);
    yajl_val t = TS_REST_JSON("POST", CL, &admin1, body, 201);
    char path[128];
    snprintf(path, sizeof(path), CL "/%s", ts_json_get_str(t, "id") ? ts_json_get_str(t, "id") : "?");
    ts_json_free(t);

    /* PATCH with a key: applied every time, never replayed, nothing stored */
    ts_resp_t r;
    const char *key[] = {"Idempotency-Key: p1", NULL};
    ts_rest_call("PATCH", path, &admin1, "{\"notes\": \"one\"}", key, TS_H1, &r);
    TS_EXPECT_STATUS(&r, 200);
    EXPECT_NOT_REPLAYED(&r);
    ts_resp_free(&r);
    ts_rest_call("PATCH", path, &admin1, "{\"notes\": \"one\"}", key, TS_H1, &r);
    TS_EXPECT_STATUS(&r, 200);
    EXPECT_NOT_REPLAYED(&r);
    ts_resp_free(&r);
    ts_rest_call("PATCH", path, &admin1, "{\"notes\": \"two\"}", key, TS_H1, &r);
    TS_EXPECT_STATUS(&r, 200);
    EXPECT_NOT_REPLAYED(&r);
    t = ts_json_parse(r.body, "patched");
    CHECK_STR(ts_json_get_str(t, "notes"), "two");
    ts_json_free(t);
    ts_resp_free(&r);
    /* the key's rules do not apply either */
    char *k256 = ts_repeat('k', 256), line[300];
    snprintf(line, sizeof(line), "Idempotency-Key: %s", k256);
    ts_rest_call("PATCH", path, &admin1, "{\"notes\": \"three\"}", (const char *[]){line, NULL}, TS_H1, &r);
    TS_EXPECT_STATUS(&r, 200);
    ts_resp_free(&r);
    ts_rest_call("GET", path, &admin1, NULL, key, TS_H1, &r);
    TS_EXPECT_STATUS(&r, 200);
    EXPECT_NOT_REPLAYED(&r);
    ts_resp_free(&r);
    ts_rest_call("DELETE", path, &admin1, NULL, key, TS_H1, &r);
    TS_EXPECT_STATUS(&r, 204);
    EXPECT_NOT_REPLAYED(&r);
    ts_resp_free(&r);
    CHECK_INT(keys_stored(&admin1, "p1"), 0);
    CHECK_INT(keys_stored(&admin1, k256), 0);
    free(k256);

    /* and the key p1 is still free for a POST */
    ts_resp_t a, b;
    post_key(CL, &admin1, "p1", body, TS_H1, &a);
    TS_EXPECT_STATUS(&a, 201);
    EXPECT_NOT_REPLAYED(&a);
    post_key(CL, &admin1, "p1", body, TS_H1, &b);
    EXPECT_REPLAY(&a, &b);
    ts_resp_free(&a);
    ts_resp_free(&b);
    CHECK_INT(clients_named(&admin1, name), 2);
}

/* A retry sent the moment the first response arrived is already a replay: the response is
 * stored before the client can see it. */
static void test_immediate_retry(void)
{
    enum { ROUNDS = 40 };
    int not_replayed = 0;
    for (int i = 0; i < ROUNDS; i++) {
        char name[128], body[256], key[64];
        snprintf(name, sizeof(name), "Quick %s", ts_jwt_unique("client"));
        snprintf(body, sizeof(body), "{\"name\": \"%s\"}", name);
        snprintf(key, sizeof(key), "quick-%d", i);
        ts_resp_t a, b;
        post_key(CL, &admin1, key, body, TS_H1, &a);
        post_key(CL, &admin1, key, body, TS_H1, &b);
        if (a.status != 201 || b.status != a.status || !str_eq(ts_resp_header(&b, "idempotent-replayed"), "true")) {
            if (not_replayed++ == 0)
                fprintf(stderr, "round %d: first %ld, immediate retry %ld %s %s\n", i, a.status, b.status,
                        ts_resp_header(&b, "idempotent-replayed") ? "(replayed)" : "(not replayed)", b.body);
        } else {
            EXPECT_REPLAY(&a, &b);
        }
        CHECK_INT(clients_named(&admin1, name), 1);
        ts_resp_free(&a);
        ts_resp_free(&b);
    }
    if (not_replayed > 0)
        fprintf(stderr, "%d of %d immediate retries were not replays\n", not_replayed, ROUNDS);
    CHECK_INT(not_replayed, 0);
}

/* Keys belong to the principal: the same user acting in another organization (a token with
 * another org_id) must not get the first organization's response, nor share its key. */
static void test_key_per_organization(void)
{
    ts_who_t in_a, in_b;
    ts_who_make(&in_a, NULL, ts_jwt_unique("org_multi_a"), "admin");
    ts_who_make(&in_b, in_a.sub, ts_jwt_unique("org_multi_b"), "admin");
    CHECK_STR(in_b.user_id, in_a.user_id); /* one user, two organizations */
    CHECK(!str_eq(in_b.org_id, in_a.org_id));

    char name[128], body[256];
    snprintf(name, sizeof(name), "Two orgs %s", ts_jwt_unique("client"));
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", name);
    ts_resp_t a, b;
    post_key(CL, &in_a, "shared", body, TS_H1, &a);
    TS_EXPECT_STATUS(&a, 201);
    post_key(CL, &in_b, "shared", body, TS_H1, &b);
    TS_EXPECT_STATUS(&b, 201);
    EXPECT_NOT_REPLAYED(&b);
    if (b.body_len == a.body_len && memcmp(a.body, b.body, a.body_len) == 0)
        fprintf(stderr, "org B was answered org A's client: %s\n", b.body);
    CHECK(!(b.body_len == a.body_len && memcmp(a.body, b.body, a.body_len) == 0));
    CHECK_INT(clients_named(&in_a, name), 1);
    CHECK_INT(clients_named(&in_b, name), 1);
    ts_resp_free(&a);
    ts_resp_free(&b);
    ts_who_free(&in_a);
    ts_who_free(&in_b);
}

/* After 24 hours a key is new again: the request is done anew (the row is aged in the database). */
static void test_expired_key(void)
{
    char name[128], body[256];
    snprintf(name, sizeof(name), "Expiring %s", ts_jwt_unique("client"));
    snprintf(body, sizeof(body), "{\"name\": \"%s\"}", name);
    ts_resp_t a, b;
    post_key(CL, &admin1, "old-key", body, TS_H1, &a);
    TS_EXPECT_STATUS(&a, 201);
    /* the store is asynchronous: wait (bounded) until the row has its status */
    int64_t deadline = ts_now_ms() + 5000;
    while (ts_db_count(db, "SELECT count(*) FROM idempotency_keys WHERE user_id = $1::uuid AND key = 'old-key'"
                           " AND status = 201",
                       TS_DB_PARAMS(admin1.user_id)) != 1 &&
           ts_now_ms() < deadline)
        ts_nap_ms(10);
    PGresult *res = PQexecParams(db,
                                 "UPDATE idempotency_keys SET created_at = now() - interval '25 hours',"
                                 " expires_at = now() - interval '1 hour' WHERE user_id = $1::uuid AND key = 'old-key'",
                                 1, NULL, (const char *const[]){admin1.user_id}, NULL, NULL, 0);
    CHECK(PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdTuples(res), "1") == 0);
    PQclear(res);
    post_key(CL, &admin1, "old-key", body, TS_H1, &b);
    TS_EXPECT_STATUS(&b, 201);
    EXPECT_NOT_REPLAYED(&b);
    CHECK(!str_eq(ts_resp_header(&b, "location"), ts_resp_header(&a, "location")));
    CHECK_INT(clients_named(&admin1, name), 2);
    ts_resp_t c;
    post_key(CL, &admin1, "old-key", body, TS_H1, &c); /* and the renewed key replays the new answer */
    EXPECT_REPLAY(&b, &c);
    ts_resp_free(&a);
    ts_resp_free(&b);
    ts_resp_free(&c);
    CHECK_INT(clients_named(&admin1, name), 2);
}

int main(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    db = ts_rest_db();

    char org[128];
    snprintf(org, sizeof(org), "%s", ts_jwt_unique("org_idem"));
    ts_who_make(&admin1, NULL, org, "admin");
    ts_who_make(&admin2, NULL, org, "admin");
    ts_who_make(&member1, NULL, org, "member");

    test_replay();
    test_key_rules();
    test_concurrent();
    test_failures_stored();
    test_other_methods();
    test_immediate_retry();
    test_key_per_organization();
    test_expired_key();

    ts_who_free(&admin1);
    ts_who_free(&admin2);
    ts_who_free(&member1);
    PQfinish(db);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("test_idempotency");
}
