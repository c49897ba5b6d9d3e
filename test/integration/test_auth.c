/* Bearer authentication through the real server: HS256 and RS256 (JWKS file, and JWKS over HTTP
 * from a server this test runs, refreshed on an unknown kid but never more than once per window),
 * every way a token is refused (401 in the error shape), dev_token by environment, and
 * just-in-time provisioning of the user, organization and membership. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/pg.h"
#include "test/support/server.h"
#include "test/support/ts_jwt.h"

#define SECRET "integration-test-secret-0123456789abcdef"
#define HS_ISSUER "https://issuer.hellosales.test"
#define HS_AUDIENCE "hellosales-api"
#define WORKOS_ISS "https://api.workos.com/user_management/client_test"
#define WORKOS_AUD "client_test"
/* pipeline/principal.c: PRINCIPAL_JWKS_MIN_INTERVAL_MS, the least time between two fetches */
#define JWKS_WINDOW_MS 10000

static const char PATHS[] = TS_PATHS_DEFAULT TS_PATHS_IDENTITY;

static PGconn *db;
static char *key1_pem, *key2_pem, *key1_pub_pem;

/* ---- helpers ------------------------------------------------------------------------------ */

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

/* GET path with the given Authorization header line (NULL: none). */
static void get_with(ts_server_t *s, const char *path, const char *auth_header, ts_version_t v, ts_resp_t *r)
{
    const char *headers[] = {auth_header, NULL};
    ts_http_request(&(ts_req_t){.url = ts_server_url(s, 0, path), .headers = auth_header ? headers : NULL, .version = v},
                    r);
}

static void me(ts_server_t *s, const char *token, ts_resp_t *r)
{
    get_with(s, "/api/v1/auth/me", ts_jwt_bearer(token), TS_H1, r);
}

/* 401 unauthorized in the error shape, the app headers, and nothing of the token echoed. */
#define EXPECT_401(s, token)                                                                                           \
    do {                                                                                                               \
        ts_resp_t r401_;                                                                                               \
        me((s), (token), &r401_);                                                                                      \
        TS_EXPECT_ERROR(&r401_, 401, "unauthorized");                                                                  \
        TS_EXPECT_APP_HEADERS(&r401_, 0);                                                                              \
        CHECK(r401_.body == NULL || strlen(token) < 8 || strstr(r401_.body, (token) + strlen(token) - 8) == NULL);     \
        ts_resp_free(&r401_);                                                                                          \
    } while (0)

/* /api/v1/auth/me answers 200 for token and names these external ids and role. */
static void expect_me(ts_server_t *s, const char *token, const char *sub, const char *org, const char *role, int line)
{
    ts_resp_t r;
    me(s, token, &r);
    if (r.status != 200)
        fprintf(stderr, "line %d: /auth/me answered %ld: %s\n", line, r.status, r.body ? r.body : "");
    TS_EXPECT_STATUS(&r, 200);
    TS_EXPECT_JSON(&r);
    yajl_val t = ts_json_parse(r.body, "/auth/me");
    CHECK_STR(ts_json_get_str(t, "user", "external_id"), sub);
    CHECK_STR(ts_json_get_str(t, "organization", "external_id"), org);
    CHECK_STR(ts_json_get_str(t, "role"), role);
    CHECK(ts_json_is_str(t, "user", "id"));
    CHECK(ts_json_is_str(t, "organization", "id"));
    ts_json_free(t);
    ts_resp_free(&r);
}
#define EXPECT_ME(s, token, sub, org, role) expect_me((s), (token), (sub), (org), (role), __LINE__)

/* A count from the database, with text parameters. */
static long long db_count(const char *sql, const char *p1, const char *p2)
{
    const char *params[] = {p1, p2};
    PGresult *res = PQexecParams(db, sql, p2 ? 2 : 1, NULL, params, NULL, NULL, 0);
    long long n = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
        n = atoll(PQgetvalue(res, 0, 0));
    else
        fprintf(stderr, "query failed: %s\n", PQerrorMessage(db));
    PQclear(res);
    return n;
}

static ts_claims_t claims(const char *sub, const char *org)
{
    return (ts_claims_t){.sub = sub, .org_id = org, .exp = now_s() + 3600, .iat = now_s()};
}

/* ---- HS256 -------------------------------------------------------------------------------- */

static void test_hs256(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, "JWT_ISSUER=" HS_ISSUER, "JWT_AUDIENCE=" HS_AUDIENCE, NULL};
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(s != NULL);
    char sub[128], org[128];
    snprintf(sub, sizeof(sub), "%s", ts_jwt_unique("user_hs"));
    snprintf(org, sizeof(org), "%s", ts_jwt_unique("org_hs"));

    ts_claims_t c = claims(sub, org);
    c.iss = HS_ISSUER;
    c.aud = HS_AUDIENCE;
    char *good = ts_jwt_hs256(SECRET, &c);
    EXPECT_ME(s, good, sub, org, "member");

    /* the same over cleartext HTTP/2 */
    ts_resp_t r;
    get_with(s, "/api/v1/auth/me", ts_jwt_bearer(good), TS_H2C_PRIOR, &r);
    TS_EXPECT_STATUS(&r, 200);
    CHECK_INT(r.http_major, 2);
    TS_EXPECT_APP_HEADERS(&r, 0);
    ts_resp_free(&r);

    /* a token that expired a moment ago is inside the leeway; an hour ago is not */
    ts_claims_t x = c;
    x.exp = now_s() - 5;
    char *t = ts_jwt_hs256(SECRET, &x);
    EXPECT_ME(s, t, sub, org, "member");
    free(t);
    x.exp = now_s() - 3600;
    t = ts_jwt_hs256(SECRET, &x);
    EXPECT_401(s, t);
    me(s, t, &r);
    CHECK_CONTAINS(ts_resp_header(&r, "www-authenticate"), "Bearer");
    ts_resp_free(&r);
    free(t);

    /* not yet valid */
    x = c;
    x.nbf = now_s() + 3600;
    t = ts_jwt_hs256(SECRET, &x);
    EXPECT_401(s, t);
    free(t);

    /* wrong or missing issuer, wrong or missing audience */
    const char *bad_iss[] = {"https://evil.example", NULL};
    for (int i = 0; i < 2; i++) {
        x = c;
        x.iss = bad_iss[i];
        t = ts_jwt_hs256(SECRET, &x);
        EXPECT_401(s, t);
        free(t);
        x = c;
        x.aud = i == 0 ? "another-api" : NULL;
        t = ts_jwt_hs256(SECRET, &x);
        EXPECT_401(s, t);
        free(t);
    }

    /* signed with another secret */
    t = ts_jwt_hs256("another-secret-another-secret-another-secret", &c);
    EXPECT_401(s, t);
    free(t);

    /* truncated: the signature cut short, and the token cut inside its payload */
    char *cut = strdup(good);
    cut[strlen(cut) - 5] = '\0';
    EXPECT_401(s, cut);
    cut[strchr(cut, '.') - cut + 10] = '\0';
    EXPECT_401(s, cut);
    free(cut);

    /* alg none */
    t = ts_jwt_none(&c);
    EXPECT_401(s, t);
    free(t);

    /* sub and org_id are required */
    x = c;
    x.org_id = NULL;
    t = ts_jwt_hs256(SECRET, &x);
    EXPECT_401(s, t);
    free(t);
    x = c;
    x.sub = NULL;
    t = ts_jwt_hs256(SECRET, &x);
    EXPECT_401(s, t);
    free(t);

    /* no credentials, other schemes, an empty bearer token */
    static const char *const refused[] = {NULL, "Authorization: Basic dXNlcjpwYXNz", "Authorization: Bearer",
                                          "Authorization: Bearer ", "Authorization: Token abc"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        for (int h2 = 0; h2 < 2; h2++) {
            get_with(s, "/api/v1/auth/me", refused[i], h2 ? TS_H2C_PRIOR : TS_H1, &r);
            TS_EXPECT_ERROR(&r, 401, "unauthorized");
            TS_EXPECT_APP_HEADERS(&r, 0);
            ts_resp_free(&r);
        }
    }
    /* a Basic header with a valid token inside is still not a bearer token */
    char basic[8400];
    snprintf(basic, sizeof(basic), "Authorization: Basic %s", good);
    get_with(s, "/api/v1/auth/me", basic, TS_H1, &r);
    TS_EXPECT_ERROR(&r, 401, "unauthorized");
    ts_resp_free(&r);

    /* dev_token outside development */
    EXPECT_401(s, "dev_token");

    free(good);
    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
}

/* ---- just-in-time provisioning ------------------------------------------------------------ */

static void test_provisioning(void)
{
    const char *env[] = {"JWT_HS256_SECRET=" SECRET, NULL};
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(s != NULL);
    char sub[128], org[128];
    snprintf(sub, sizeof(sub), "%s", ts_jwt_unique("user_jit"));
    snprintf(org, sizeof(org), "%s", ts_jwt_unique("org_jit"));

    CHECK_INT(db_count("SELECT count(*) FROM users WHERE external_id = $1", sub, NULL), 0);
    CHECK_INT(db_count("SELECT count(*) FROM organizations WHERE external_id = $1", org, NULL), 0);

    ts_claims_t c = claims(sub, org);
    c.email = "jit@example.com";
    c.name = "Jit Member";
    char *t = ts_jwt_hs256(SECRET, &c);
    EXPECT_ME(s, t, sub, org, "member");
    CHECK_INT(db_count("SELECT count(*) FROM users WHERE external_id = $1 AND email = 'jit@example.com'", sub, NULL), 1);
    CHECK_INT(db_count("SELECT count(*) FROM organizations WHERE external_id = $1", org, NULL), 1);
    CHECK_INT(db_count("SELECT count(*) FROM organization_memberships m JOIN users u ON u.id = m.user_id"
                       " JOIN organizations o ON o.id = m.organization_id"
                       " WHERE u.external_id = $1 AND o.external_id = $2 AND m.role = 'member'",
                       sub, org),
              1);
    /* a member is refused the admin route */
    ts_resp_t r;
    me(s, t, &r);
    yajl_val tree = ts_json_parse(r.body, "/auth/me");
    char members[128];
    snprintf(members, sizeof(members), "/api/v1/orgs/%s/members", ts_json_get_str(tree, "organization", "id"));
    ts_json_free(tree);
    ts_resp_free(&r);
    get_with(s, members, ts_jwt_bearer(t), TS_H1, &r);
    TS_EXPECT_ERROR(&r, 403, "forbidden");
    ts_resp_free(&r);
    free(t);

    /* the same identity, now an admin with a new email: updated, nothing duplicated */
    c.role = "admin";
    c.email = "jit2@example.com";
    t = ts_jwt_hs256(SECRET, &c);
    EXPECT_ME(s, t, sub, org, "admin");
    CHECK_INT(db_count("SELECT count(*) FROM users WHERE external_id = $1", sub, NULL), 1);
    CHECK_INT(db_count("SELECT count(*) FROM users WHERE external_id = $1 AND email = 'jit2@example.com'", sub, NULL), 1);
    CHECK_INT(db_count("SELECT count(*) FROM organizations WHERE external_id = $1", org, NULL), 1);
    CHECK_INT(db_count("SELECT count(*) FROM organization_memberships m JOIN users u ON u.id = m.user_id"
                       " WHERE u.external_id = $1 AND m.role = 'admin'",
                       sub, NULL),
              1);
    get_with(s, members, ts_jwt_bearer(t), TS_H1, &r);
    TS_EXPECT_STATUS(&r, 200);
    ts_resp_free(&r);
    free(t);

    /* back to member: the role follows the token */
    c.role = "member";
    t = ts_jwt_hs256(SECRET, &c);
    EXPECT_ME(s, t, sub, org, "member");
    CHECK_INT(db_count("SELECT count(*) FROM organization_memberships m JOIN users u ON u.id = m.user_id"
                       " WHERE u.external_id = $1 AND m.role = 'member'",
                       sub, NULL),
              1);
    free(t);

    /* a role slug the organization defined itself is a member, not a refusal */
    c.role = "sales_manager";
    c.name = "Jit Renamed";
    t = ts_jwt_hs256(SECRET, &c);
    EXPECT_ME(s, t, sub, org, "member");
    free(t);

    /* the same user in a second organization: a second membership, still one user */
    char org2[128];
    snprintf(org2, sizeof(org2), "%s", ts_jwt_unique("org_jit"));
    ts_claims_t c2 = claims(sub, org2);
    t = ts_jwt_hs256(SECRET, &c2);
    EXPECT_ME(s, t, sub, org2, "member");
    CHECK_INT(db_count("SELECT count(*) FROM users WHERE external_id = $1", sub, NULL), 1);
    CHECK_INT(db_count("SELECT count(*) FROM organization_memberships m JOIN users u ON u.id = m.user_id"
                       " WHERE u.external_id = $1",
                       sub, NULL),
              2);
    free(t);

    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
}

/* ---- RS256 from a JWKS file --------------------------------------------------------------- */

static ts_claims_t workos_claims(const char *sub, const char *org)
{
    ts_claims_t c = claims(sub, org);
    c.iss = WORKOS_ISS;
    c.aud = WORKOS_AUD;
    return c;
}

static void test_rs256_file(void)
{
    char file_env[1200];
    snprintf(file_env, sizeof(file_env), "WORKOS_JWKS_FILE=%s", ts_fixture("auth/jwks.json"));
    const char *env[] = {"WORKOS_CLIENT_ID=client_test", file_env, "WORKOS_ISSUER=" WORKOS_ISS,
                         "WORKOS_AUDIENCE=" WORKOS_AUD, NULL};
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env});
    REQUIRE(s != NULL);
    char sub[128], org[128];
    snprintf(sub, sizeof(sub), "%s", ts_jwt_unique("user_rs"));
    snprintf(org, sizeof(org), "%s", ts_jwt_unique("org_rs"));
    ts_claims_t c = workos_claims(sub, org);
    c.role = "admin";

    char *good = ts_jwt_rs256(key1_pem, "test-key-1", &c);
    EXPECT_ME(s, good, sub, org, "admin");

    /* alg confusion: HS256 with the public key's PEM as the HMAC secret */
    char *t = ts_jwt_hs256(key1_pub_pem, &c);
    EXPECT_401(s, t);
    free(t);
    /* the right kid, the wrong key: a bad signature */
    t = ts_jwt_rs256(key2_pem, "test-key-1", &c);
    EXPECT_401(s, t);
    free(t);
    /* a key the file does not have (a file is never refreshed) */
    t = ts_jwt_rs256(key2_pem, "test-key-2", &c);
    EXPECT_401(s, t);
    free(t);
    /* alg none, even with a kid the set knows */
    t = ts_jwt_none(&c);
    EXPECT_401(s, t);
    free(t);

    ts_claims_t x = c;
    x.iss = "https://api.workos.com/user_management/client_other";
    t = ts_jwt_rs256(key1_pem, "test-key-1", &x);
    EXPECT_401(s, t);
    free(t);
    x = c;
    x.aud = "client_other";
    t = ts_jwt_rs256(key1_pem, "test-key-1", &x);
    EXPECT_401(s, t);
    free(t);
    x = c;
    x.exp = now_s() - 3600;
    t = ts_jwt_rs256(key1_pem, "test-key-1", &x);
    EXPECT_401(s, t);
    free(t);
    x = c;
    x.nbf = now_s() + 3600;
    t = ts_jwt_rs256(key1_pem, "test-key-1", &x);
    EXPECT_401(s, t);
    free(t);
    /* a byte of the signature changed */
    char *bent = strdup(good);
    char *last = bent + strlen(bent) - 3;
    *last = *last == 'A' ? 'B' : 'A';
    EXPECT_401(s, bent);
    free(bent);

    free(good);
    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
}

/* ---- RS256 from a JWKS served over HTTP --------------------------------------------------- */

/* A tiny HTTP/1.1 server on its own thread: answers every request with the current JWKS (which
 * the test may switch) and counts the requests. One request per connection. */
typedef struct jwks_server {
    int fd;
    uint16_t port;
    pthread_t thread;
    pthread_mutex_t mu;
    char *body;
    atomic_int requests;
    atomic_int stop;
} jwks_server_t;

static void jwks_serve_one(jwks_server_t *js, int c)
{
    char req[4096];
    size_t got = 0;
    int64_t deadline = ts_now_ms() + 2000;
    while (got < sizeof(req) - 1 && ts_now_ms() < deadline) {
        struct pollfd p = {.fd = c, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(c, req + got, sizeof(req) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    req[got] = '\0';
    if (strstr(req, "\r\n\r\n") == NULL)
        return;
    atomic_fetch_add(&js->requests, 1);
    pthread_mutex_lock(&js->mu);
    char *resp = NULL;
    int len = asprintf(&resp,
                       "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n%s",
                       strlen(js->body), js->body);
    pthread_mutex_unlock(&js->mu);
    if (len > 0) {
        size_t off = 0;
        while (off < (size_t)len) {
            ssize_t n = write(c, resp + off, (size_t)len - off);
            if (n <= 0)
                break;
            off += (size_t)n;
        }
    }
    free(resp);
}

static void *jwks_main(void *arg)
{
    jwks_server_t *js = arg;
    while (!atomic_load(&js->stop)) {
        struct pollfd p = {.fd = js->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(js->fd, NULL, NULL);
        if (c < 0)
            continue;
        jwks_serve_one(js, c);
        close(c);
    }
    return NULL;
}

static void jwks_set(jwks_server_t *js, const char *body)
{
    pthread_mutex_lock(&js->mu);
    free(js->body);
    js->body = strdup(body);
    pthread_mutex_unlock(&js->mu);
}

static void jwks_start(jwks_server_t *js, const char *body)
{
    memset(js, 0, sizeof(*js));
    pthread_mutex_init(&js->mu, NULL);
    jwks_set(js, body);
    js->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(js->fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    REQUIRE(bind(js->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    REQUIRE(listen(js->fd, 64) == 0);
    socklen_t alen = sizeof(a);
    REQUIRE(getsockname(js->fd, (struct sockaddr *)&a, &alen) == 0);
    js->port = ntohs(a.sin_port);
    REQUIRE(pthread_create(&js->thread, NULL, jwks_main, js) == 0);
}

static void jwks_stop(jwks_server_t *js)
{
    atomic_store(&js->stop, 1);
    pthread_join(js->thread, NULL);
    close(js->fd);
    free(js->body);
    pthread_mutex_destroy(&js->mu);
}

static int status_of_me(ts_server_t *s, const char *token)
{
    ts_resp_t r;
    me(s, token, &r);
    int st = (int)r.status;
    ts_resp_free(&r);
    return st;
}

static void test_rs256_url(void)
{
    char *jwks_one = ts_fixture_text("auth/jwks.json"), *jwks_mixed = ts_fixture_text("auth/jwks-mixed.json");
    jwks_server_t js;
    jwks_start(&js, jwks_one);
    char url_env[128];
    snprintf(url_env, sizeof(url_env), "WORKOS_JWKS_URL=http://127.0.0.1:%u/sso/jwks/client_test", js.port);
    const char *env[] = {"WORKOS_CLIENT_ID=client_test", url_env, "WORKOS_ISSUER=" WORKOS_ISS, NULL};
    /* one thread: each thread keeps (and fetches) its own key set, so fetches are countable */
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = env, .num_threads = 1});
    REQUIRE(s != NULL);
    int64_t started = ts_now_ms();

    /* the thread warms its keys at start-up */
    int64_t deadline = ts_now_ms() + 10000;
    while (atomic_load(&js.requests) < 1 && ts_now_ms() < deadline)
        ts_nap_ms(20);
    CHECK_INT(atomic_load(&js.requests), 1);

    char sub[128], org[128];
    snprintf(sub, sizeof(sub), "%s", ts_jwt_unique("user_url"));
    snprintf(org, sizeof(org), "%s", ts_jwt_unique("org_url"));
    ts_claims_t c = claims(sub, org);
    c.iss = WORKOS_ISS;
    char *k1 = ts_jwt_rs256(key1_pem, "test-key-1", &c);
    EXPECT_ME(s, k1, sub, org, "member");

    /* a flood of random kids: all refused, and at most one fetch per window */
    int flood_401 = 0;
    for (int i = 0; i < 40; i++) {
        char kid[64];
        snprintf(kid, sizeof(kid), "random-%d-%ld", i, (long)random());
        char *t = ts_jwt_rs256(key1_pem, kid, &c);
        flood_401 += status_of_me(s, t) == 401;
        free(t);
    }
    CHECK_INT(flood_401, 40);
    int64_t elapsed = ts_now_ms() - started;
    int fetched = atomic_load(&js.requests);
    if (fetched > 1 + 1 + (int)(elapsed / JWKS_WINDOW_MS))
        fprintf(stderr, "%d JWKS fetches in %lld ms\n", fetched, (long long)elapsed);
    CHECK(fetched <= 1 + 1 + (int)(elapsed / JWKS_WINDOW_MS));

    /* key2 appears in the JWKS: a token signed by it is accepted once the server has fetched the
     * set again, which it does on the unknown kid as soon as the window allows */
    jwks_set(&js, jwks_mixed);
    int before = atomic_load(&js.requests);
    char *k2 = ts_jwt_rs256(key2_pem, "test-key-2", &c);
    int st = 0, attempts = 0;
    deadline = ts_now_ms() + JWKS_WINDOW_MS * 3;
    while ((st = status_of_me(s, k2)) != 200 && ts_now_ms() < deadline) {
        CHECK_INT(st, 401);
        attempts++;
        ts_nap_ms(250);
    }
    CHECK_INT(st, 200);
    int after = atomic_load(&js.requests);
    CHECK(after > before);
    elapsed = ts_now_ms() - started;
    /* the warm-up, then at most one per window however many unknown kids arrived */
    if (after > 1 + 1 + (int)(elapsed / JWKS_WINDOW_MS))
        fprintf(stderr, "%d JWKS fetches in %lld ms (%d retries)\n", after, (long long)elapsed, attempts);
    CHECK(after <= 1 + 1 + (int)(elapsed / JWKS_WINDOW_MS));
    EXPECT_ME(s, k2, sub, org, "member");
    EXPECT_ME(s, k1, sub, org, "member"); /* key1 is still in the set */
    /* a known kid never causes a fetch */
    int now_count = atomic_load(&js.requests);
    for (int i = 0; i < 10; i++)
        CHECK_INT(status_of_me(s, k2), 200);
    CHECK_INT(atomic_load(&js.requests), now_count);

    free(k1);
    free(k2);
    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);
    jwks_stop(&js);
    free(jwks_one);
    free(jwks_mixed);
}

/* ---- dev_token ---------------------------------------------------------------------------- */

/* dev_token is the seed's demo admin: make sure the seed is there (it is idempotent). */
static void run_seed(void)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/schema/seed.sql", ts_env_require("HS_SOURCE_DIR", "the repository"));
    char *sql = ts_read_file(path, NULL);
    REQUIRE(sql != NULL);
    ts_pg_exec_ok(db, sql);
    free(sql);
}

static void test_dev_token(void)
{
    run_seed();
    const char *dev_env[] = {"APP_ENV=development", NULL};
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = dev_env});
    REQUIRE(s != NULL);
    EXPECT_ME(s, "dev_token", "user_demo", "org_demo", "admin");
    ts_resp_t r;
    me(s, "dev_token", &r);
    yajl_val t = ts_json_parse(r.body, "/auth/me");
    CHECK_STR(ts_json_get_str(t, "organization", "id"), "00000000-0000-4000-8000-000000000001");
    CHECK_STR(ts_json_get_str(t, "organization", "name"), "Demo Sales Co");
    CHECK_STR(ts_json_get_str(t, "user", "email"), "demo@hellosales.dev");
    ts_json_free(t);
    ts_resp_free(&r);
    /* only that exact token: another string is still a (malformed) token */
    EXPECT_401(s, "dev_token2");
    EXPECT_401(s, "DEV_TOKEN");
    CHECK_INT(ts_server_stop(s), 0);
    ts_server_free(s);

    /* production refuses it, with or without a configured verifier */
    const char *prod_hs[] = {"APP_ENV=production", "JWT_HS256_SECRET=" SECRET, NULL};
    const char *prod_none[] = {"APP_ENV=production", NULL};
    const char *const *prods[] = {prod_hs, prod_none};
    for (int i = 0; i < 2; i++) {
        s = ts_server_start(&(ts_server_opts_t){.paths_yaml = PATHS, .env = prods[i]});
        REQUIRE(s != NULL);
        EXPECT_401(s, "dev_token");
        CHECK_INT(ts_server_stop(s), 0);
        ts_server_free(s);
    }
}

int main(void)
{
    db = PQconnectdb(ts_env_require("DATABASE_URL", "the test database"));
    REQUIRE(PQstatus(db) == CONNECTION_OK);
    srandom((unsigned)time(NULL) ^ (unsigned)getpid());
    key1_pem = ts_fixture_text("auth/key1.pem");
    key2_pem = ts_fixture_text("auth/key2.pem");
    key1_pub_pem = ts_fixture_text("auth/key1.pub.pem");

    test_hs256();
    test_provisioning();
    test_rs256_file();
    test_dev_token();
    test_rs256_url();

    free(key1_pem);
    free(key2_pem);
    free(key1_pub_pem);
    PQfinish(db);
    return check_done("test_auth");
}
