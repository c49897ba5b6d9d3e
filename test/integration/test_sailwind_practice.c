/* Rep assignments (admins assign, each rep lists their own with names) and practice sessions (a
 * rep starts one from an assignment or from a client and product, and lists their own) through
 * the real server: shapes, every validation rule, references of another organization, 403/404,
 * duplicates, keyset pages and Idempotency-Key replays. */
#include <stdio.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/ts_jwt.h"
#include "test/support/ts_rest.h"

#define SECRET "integration-test-secret-0123456789abcdef"
#define RA "/api/v1/sailwind/rep-assignments"
#define MY_RA "/api/v1/sailwind/my/rep-assignments"
#define PS "/api/v1/sailwind/practice-sessions"
#define MY_PS "/api/v1/sailwind/my/practice-sessions"

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY "/api/v1/sailwind:\n"
                                                               "  app.handler: sailwind\n"
                                                               "  app.auth: required\n"
                                                               "/api/v1/sessions:\n"
                                                               "  app.handler: sessions\n"
                                                               "  app.auth: required\n";

static PGconn *db;

/* The playbook rows of one organization the tests point at. */
typedef struct playbook {
    char client[40], product[40], strategy[40];
} playbook_t;

/* POSTs body to path as w expecting 201 and copies the new id into out (40 bytes). */
static void create_id(const char *path, const ts_who_t *w, const char *body, char *out)
{
    yajl_val t = TS_REST_JSON("POST", path, w, body, 201);
    const char *id = ts_json_get_str(t, "id");
    REQUIRE(id != NULL);
    snprintf(out, 40, "%s", id);
    ts_json_free(t);
}

static void make_playbook(const ts_who_t *admin, const char *tag, playbook_t *pb)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"name\":\"%s client\"}", tag);
    create_id("/api/v1/sailwind/clients", admin, body, pb->client);
    snprintf(body, sizeof(body), "{\"name\":\"%s product\"}", tag);
    create_id("/api/v1/sailwind/products", admin, body, pb->product);
    snprintf(body, sizeof(body), "{\"name\":\"%s strategy\",\"client_id\":\"%s\"}", tag, pb->client);
    create_id("/api/v1/sailwind/strategies", admin, body, pb->strategy);
}

static void test_assignments(ts_who_t *admin, ts_who_t *rep, ts_who_t *rep2, ts_who_t *b, const playbook_t *a,
                             const playbook_t *other, char *assignment)
{
    char body[512], path[160];
    snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"client_id\":\"%s\",\"product_id\":\"%s\",\"strategy_id\":\"%s\"}",
             rep->user_id, a->client, a->product, a->strategy);
    ts_resp_t r;
    ts_rest_call("POST", RA, admin, body, NULL, TS_H1, &r);
    CHECK_INT(r.status, 201);
    yajl_val t = ts_json_parse(r.body, "assignment");
    REQUIRE(t != NULL && ts_json_get_str(t, "id") != NULL);
    snprintf(assignment, 40, "%s", ts_json_get_str(t, "id"));
    snprintf(path, sizeof(path), RA "/%s", assignment);
    CHECK_STR(ts_resp_header(&r, "location"), path);
    CHECK_STR(ts_json_get_str(t, "user_id"), rep->user_id);
    CHECK_STR(ts_json_get_str(t, "client_id"), a->client);
    CHECK_STR(ts_json_get_str(t, "product_id"), a->product);
    CHECK_STR(ts_json_get_str(t, "strategy_id"), a->strategy);
    CHECK_STR(ts_json_get_str(t, "created_by"), admin->user_id); /* the caller, never the body */
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "created_at")));
    CHECK_INT(ts_json_len(t), 7); /* id, user_id, client_id, product_id, strategy_id, created_by, created_at */
    ts_json_free(t);
    ts_resp_free(&r);

    /* Location answers, for the organization only */
    t = TS_REST_JSON("GET", path, admin, NULL, 200);
    CHECK_STR(ts_json_get_str(t, "id"), assignment);
    ts_json_free(t);
    TS_REST_ERROR("GET", path, b, NULL, 404, "not_found");

    /* admins only; one assignment per rep, client and product */
    TS_REST_ERROR("POST", RA, rep, body, 403, "forbidden");
    TS_REST_ERROR("POST", RA, admin, body, 409, "conflict");

    /* each rule: required fields, UUIDs, no server fields, references in the caller's organization */
    char fmt[512];
    snprintf(fmt, sizeof(fmt), "{\"client_id\":\"%s\",\"product_id\":\"%s\"}", a->client, a->product);
    TS_REST_422("POST", RA, admin, fmt, "missing", "body", "user_id");
    snprintf(fmt, sizeof(fmt), "{\"user_id\":\"%s\",\"product_id\":\"%s\"}", rep2->user_id, a->product);
    TS_REST_422("POST", RA, admin, fmt, "missing", "body", "client_id");
    snprintf(fmt, sizeof(fmt), "{\"user_id\":\"%s\",\"client_id\":\"%s\"}", rep2->user_id, a->client);
    TS_REST_422("POST", RA, admin, fmt, "missing", "body", "product_id");
    snprintf(fmt, sizeof(fmt), "{\"user_id\":\"%s\",\"client_id\":\"nope\",\"product_id\":\"%s\"}", rep2->user_id,
             a->product);
    TS_REST_422("POST", RA, admin, fmt, "uuid_parsing", "body", "client_id");
    snprintf(fmt, sizeof(fmt), "{\"user_id\":\"%s\",\"client_id\":\"%s\",\"product_id\":\"%s\",\"created_by\":\"%s\"}",
             rep2->user_id, a->client, a->product, rep2->user_id);
    TS_REST_422("POST", RA, admin, fmt, "extra_forbidden", "body", "created_by");
    snprintf(fmt, sizeof(fmt), "{\"user_id\":\"%s\",\"client_id\":\"%s\",\"product_id\":\"%s\"}", b->user_id, a->client,
             a->product);
    TS_REST_422("POST", RA, admin, fmt, "reference_not_found", "body", "user_id"); /* not a member */
    snprintf(fmt, sizeof(fmt), "{\"user_id\":\"%s\",\"client_id\":\"%s\",\"product_id\":\"%s\"}", rep2->user_id,
             other->client, a->product);
    TS_REST_422("POST", RA, admin, fmt, "reference_not_found", "body", "client_id");
    snprintf(fmt, sizeof(fmt), "{\"user_id\":\"%s\",\"client_id\":\"%s\",\"product_id\":\"%s\"}", rep2->user_id,
             a->client, other->product);
    TS_REST_422("POST", RA, admin, fmt, "reference_not_found", "body", "product_id");
    snprintf(fmt, sizeof(fmt), "{\"user_id\":\"%s\",\"client_id\":\"%s\",\"product_id\":\"%s\",\"strategy_id\":\"%s\"}",
             rep2->user_id, a->client, a->product, other->strategy);
    TS_REST_422("POST", RA, admin, fmt, "reference_not_found", "body", "strategy_id");
    /* the other organization's admin cannot assign this organization's playbook either */
    snprintf(fmt, sizeof(fmt), "{\"user_id\":\"%s\",\"client_id\":\"%s\",\"product_id\":\"%s\"}", b->user_id, a->client,
             other->product);
    TS_REST_422("POST", RA, b, fmt, "reference_not_found", "body", "client_id");
    /* no list of everyone's assignments, no edits */
    ts_rest_call("GET", RA, admin, NULL, NULL, TS_H1, &r);
    CHECK_INT(r.status, 405);
    ts_resp_free(&r);
    ts_rest_call("DELETE", path, admin, NULL, NULL, TS_H1, &r);
    CHECK_INT(r.status, 405);
    ts_resp_free(&r);

    /* the rep's own list, with names; nobody else's */
    t = TS_REST_JSON("GET", MY_RA, rep, NULL, 200);
    REQUIRE(t != NULL);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 1);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    CHECK_STR(ts_json_get_str(t, "items", "0", "id"), assignment);
    CHECK_STR(ts_json_get_str(t, "items", "0", "client_name"), "A client");
    CHECK_STR(ts_json_get_str(t, "items", "0", "product_name"), "A product");
    CHECK_STR(ts_json_get_str(t, "items", "0", "strategy_name"), "A strategy");
    CHECK_STR(ts_json_get_str(t, "items", "0", "strategy_id"), a->strategy);
    CHECK_STR(ts_json_get_str(t, "items", "0", "created_by"), admin->user_id);
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "items", "0", "created_at")));
    ts_json_free(t);
    const ts_who_t *others[] = {admin, rep2, b};
    for (size_t i = 0; i < 3; i++) {
        t = TS_REST_JSON("GET", MY_RA, others[i], NULL, 200);
        CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
        ts_json_free(t);
    }
}

/* rep2 gets N assignments (one product each, no strategy), one of them through an
 * Idempotency-Key replay; the walk in pages of 3 sees each once, newest first. */
static void test_assignment_pages(ts_who_t *admin, ts_who_t *rep2, const playbook_t *a)
{
    enum { N = 7 };
    char made[N][40], body[512];
    for (int i = 0; i < N; i++) {
        char product[40];
        snprintf(body, sizeof(body), "{\"name\":\"Product %d\"}", i);
        create_id("/api/v1/sailwind/products", admin, body, product);
        snprintf(body, sizeof(body), "{\"user_id\":\"%s\",\"client_id\":\"%s\",\"product_id\":\"%s\"}", rep2->user_id,
                 a->client, product);
        yajl_val t = i == 0 ? TS_REST_REPLAY(RA, admin, body, 201) : TS_REST_JSON("POST", RA, admin, body, 201);
        REQUIRE(t != NULL && ts_json_get_str(t, "id") != NULL);
        snprintf(made[i], 40, "%s", ts_json_get_str(t, "id"));
        CHECK(YAJL_IS_NULL(ts_json_get(t, "strategy_id")));
        ts_json_free(t);
    }
    CHECK_INT(ts_db_count(db, "SELECT count(*) FROM rep_assignments WHERE user_id = $1::uuid", TS_DB_PARAMS(rep2->user_id)),
              N);
    char seen[N + 4][40];
    CHECK_INT(TS_REST_WALK(MY_RA, rep2, 3, seen, N + 4), N);
    CHECK(ts_ids_in_order(seen, made, N, 1));
    yajl_val t = TS_REST_JSON("GET", MY_RA "?limit=1", rep2, NULL, 200);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "items", "0", "strategy_name")));
    CHECK_STR(ts_json_get_str(t, "items", "0", "product_name"), "Product 6");
    ts_json_free(t);
    TS_REST_422("GET", MY_RA "?limit=0", rep2, NULL, NULL, "query", "limit");
    TS_REST_422("GET", MY_RA "?cursor=bogus", rep2, NULL, NULL, "query", "cursor");
}

static void test_practice(ts_who_t *rep, ts_who_t *rep2, ts_who_t *b, const playbook_t *a, const playbook_t *other,
                          const char *assignment)
{
    char body[512], path[160];
    /* from an assignment: it supplies client, product and strategy */
    snprintf(body, sizeof(body), "{\"assignment_id\":\"%s\"}", assignment);
    ts_resp_t r;
    ts_rest_call("POST", PS, rep, body, NULL, TS_H1, &r);
    CHECK_INT(r.status, 201);
    yajl_val t = ts_json_parse(r.body, "practice");
    REQUIRE(t != NULL && ts_json_get_str(t, "id") != NULL);
    char first[40];
    snprintf(first, sizeof(first), "%s", ts_json_get_str(t, "id"));
    snprintf(path, sizeof(path), "/api/v1/sessions/%s", first);
    CHECK_STR(ts_resp_header(&r, "location"), path);
    CHECK_STR(ts_json_get_str(t, "kind"), "practice");
    CHECK_STR(ts_json_get_str(t, "status"), "active");
    CHECK_STR(ts_json_get_str(t, "client_id"), a->client);
    CHECK_STR(ts_json_get_str(t, "product_id"), a->product);
    CHECK_STR(ts_json_get_str(t, "strategy_id"), a->strategy);
    CHECK_STR(ts_json_get_str(t, "assignment_id"), assignment);
    CHECK(ts_json_get(t, "score") != NULL && YAJL_IS_NULL(ts_json_get(t, "score")));
    CHECK_STR(ts_json_get_str(t, "client_name"), "A client");
    CHECK(ts_is_rfc3339_z(ts_json_get_str(t, "created_at")));
    ts_resp_free(&r);
    /* the body holds every member of the session object GET /sessions/{id} answers, equal */
    yajl_val s = TS_REST_JSON("GET", path, rep, NULL, 200);
    REQUIRE(s != NULL && YAJL_IS_OBJECT(s));
    for (size_t i = 0; i < s->u.object.len; i++) {
        yajl_val mine = ts_json_get(t, s->u.object.keys[i]);
        CHECK(mine != NULL && ts_json_equal(mine, s->u.object.values[i]));
    }
    ts_json_free(s);
    ts_json_free(t);
    TS_REST_ERROR("GET", path, rep2, NULL, 404, "not_found"); /* personal */

    /* from a client and product, with or without a strategy */
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"product_id\":\"%s\"}", a->client, a->product);
    t = TS_REST_JSON("POST", PS, rep, body, 201);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "strategy_id")));
    CHECK(YAJL_IS_NULL(ts_json_get(t, "assignment_id")));
    CHECK(YAJL_IS_NULL(ts_json_get(t, "strategy_name")));
    CHECK_STR(ts_json_get_str(t, "product_name"), "A product");
    char second[40];
    snprintf(second, sizeof(second), "%s", ts_json_get_str(t, "id") ? ts_json_get_str(t, "id") : "");
    ts_json_free(t);
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"product_id\":\"%s\",\"strategy_id\":\"%s\"}", a->client,
             a->product, a->strategy);
    t = TS_REST_JSON("POST", PS, rep2, body, 201); /* any member, no assignment needed */
    CHECK_STR(ts_json_get_str(t, "strategy_name"), "A strategy");
    ts_json_free(t);

    /* the two forms are exclusive; one of them is required */
    snprintf(body, sizeof(body), "{\"assignment_id\":\"%s\",\"client_id\":\"%s\"}", assignment, a->client);
    TS_REST_422("POST", PS, rep, body, "value_error", "body");
    snprintf(body, sizeof(body), "{\"assignment_id\":\"%s\",\"strategy_id\":null}", assignment);
    TS_REST_422("POST", PS, rep, body, "value_error", "body");
    TS_REST_422("POST", PS, rep, "{}", "value_error", "body");
    snprintf(body, sizeof(body), "{\"strategy_id\":\"%s\"}", a->strategy);
    TS_REST_422("POST", PS, rep, body, "value_error", "body");
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\"}", a->client);
    TS_REST_422("POST", PS, rep, body, "missing", "body", "product_id");
    snprintf(body, sizeof(body), "{\"product_id\":\"%s\"}", a->product);
    TS_REST_422("POST", PS, rep, body, "missing", "body", "client_id");
    TS_REST_422("POST", PS, rep, "{\"assignment_id\":\"nope\"}", "uuid_parsing", "body", "assignment_id");
    TS_REST_422("POST", PS, rep, "{\"assignment_id\":null}", NULL, "body", "assignment_id");
    snprintf(body, sizeof(body), "{\"assignment_id\":\"%s\",\"kind\":\"chat\"}", assignment);
    TS_REST_422("POST", PS, rep, body, "extra_forbidden", "body", "kind");
    /* references: the caller's own assignment, the organization's playbook */
    snprintf(body, sizeof(body), "{\"assignment_id\":\"%s\"}", assignment);
    TS_REST_422("POST", PS, rep2, body, "reference_not_found", "body", "assignment_id");
    TS_REST_422("POST", PS, b, body, "reference_not_found", "body", "assignment_id");
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"product_id\":\"%s\"}", other->client, a->product);
    TS_REST_422("POST", PS, rep, body, "reference_not_found", "body", "client_id");
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"product_id\":\"%s\"}", a->client, other->product);
    TS_REST_422("POST", PS, rep, body, "reference_not_found", "body", "product_id");
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"product_id\":\"%s\",\"strategy_id\":\"%s\"}", a->client,
             a->product, other->strategy);
    TS_REST_422("POST", PS, rep, body, "reference_not_found", "body", "strategy_id");
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"product_id\":\"%s\"}", a->client, a->product);
    TS_REST_422("POST", PS, b, body, "reference_not_found", "body", "client_id");
    ts_rest_call("GET", PS, rep, NULL, NULL, TS_H1, &r);
    CHECK_INT(r.status, 405);
    ts_resp_free(&r);

    /* the caller's practice sessions only (not chats), newest first, with status and score */
    yajl_val chat = TS_REST_JSON("POST", "/api/v1/sessions", rep, "{\"kind\":\"chat\"}", 201);
    ts_json_free(chat);
    CHECK_INT(ts_db_count(db,
                          "WITH x AS (UPDATE sessions SET status = 'completed', ended_at = now(), score = 81"
                          " WHERE id = $1::uuid RETURNING 1) SELECT count(*) FROM x",
                          TS_DB_PARAMS(first)),
              1);
    t = TS_REST_JSON("GET", MY_PS, rep, NULL, 200);
    REQUIRE(t != NULL);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 2);
    CHECK(YAJL_IS_NULL(ts_json_get(t, "next_cursor")));
    CHECK_STR(ts_json_get_str(t, "items", "0", "id"), second);
    CHECK_STR(ts_json_get_str(t, "items", "0", "status"), "active");
    CHECK_STR(ts_json_get_str(t, "items", "1", "id"), first);
    CHECK_STR(ts_json_get_str(t, "items", "1", "status"), "completed");
    CHECK_INT(ts_json_get_int(t, "items", "1", "score"), 81);
    CHECK_STR(ts_json_get_str(t, "items", "1", "client_name"), "A client");
    CHECK_STR(ts_json_get_str(t, "items", "1", "strategy_name"), "A strategy");
    CHECK_STR(ts_json_get_str(t, "items", "1", "kind"), "practice");
    ts_json_free(t);
    t = TS_REST_JSON("GET", MY_PS, b, NULL, 200);
    CHECK_INT(ts_json_len(ts_json_get(t, "items")), 0);
    ts_json_free(t);
}

/* N practice sessions of a fresh rep, the first through an Idempotency-Key replay (one row). */
static void test_practice_pages(ts_who_t *rep3, const playbook_t *a)
{
    enum { N = 7 };
    char made[N][40], body[256];
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\",\"product_id\":\"%s\"}", a->client, a->product);
    for (int i = 0; i < N; i++) {
        yajl_val t = i == 0 ? TS_REST_REPLAY(PS, rep3, body, 201) : TS_REST_JSON("POST", PS, rep3, body, 201);
        REQUIRE(t != NULL && ts_json_get_str(t, "id") != NULL);
        snprintf(made[i], 40, "%s", ts_json_get_str(t, "id"));
        ts_json_free(t);
    }
    CHECK_INT(ts_db_count(db, "SELECT count(*) FROM sessions WHERE user_id = $1::uuid", TS_DB_PARAMS(rep3->user_id)), N);
    char seen[N + 4][40];
    CHECK_INT(TS_REST_WALK(MY_PS, rep3, 3, seen, N + 4), N);
    CHECK(ts_ids_in_order(seen, made, N, 1));
    CHECK_INT(TS_REST_WALK(MY_PS, rep3, 7, seen, N + 4), N); /* an exactly full page ends the walk */
    TS_REST_422("GET", MY_PS "?limit=201", rep3, NULL, NULL, "query", "limit");
    TS_REST_422("GET", MY_PS "?cursor=bogus", rep3, NULL, NULL, "query", "cursor");
}

int main(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    ts_server_t *srv = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(srv != NULL);
    ts_rest_init(srv, SECRET);
    db = ts_rest_db();
    ts_who_t admin, rep, rep2, rep3, b;
    char org_a[64], org_b[64]; /* unique per run, so a repeated run starts from empty orgs */
    snprintf(org_a, sizeof(org_a), "%s", ts_jwt_unique("org_sp_a"));
    snprintf(org_b, sizeof(org_b), "%s", ts_jwt_unique("org_sp_b"));
    ts_who_make(&admin, NULL, org_a, "admin");
    ts_who_make(&rep, NULL, org_a, "member");
    ts_who_make(&rep2, NULL, org_a, "member");
    ts_who_make(&rep3, NULL, org_a, "member");
    ts_who_make(&b, NULL, org_b, "admin");
    playbook_t pa, pb;
    make_playbook(&admin, "A", &pa);
    make_playbook(&b, "B", &pb);

    char assignment[40];
    test_assignments(&admin, &rep, &rep2, &b, &pa, &pb, assignment);
    test_assignment_pages(&admin, &rep2, &pa);
    test_practice(&rep, &rep2, &b, &pa, &pb, assignment);
    test_practice_pages(&rep3, &pa);

    PQfinish(db);
    ts_who_free(&admin);
    ts_who_free(&rep);
    ts_who_free(&rep2);
    ts_who_free(&rep3);
    ts_who_free(&b);
    CHECK_INT(ts_server_stop(srv), 0);
    ts_server_free(srv);
    return check_done("sailwind_practice");
}
