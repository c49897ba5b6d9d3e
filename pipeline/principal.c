/* Token → principal. Fast path: the verified-token cache and the principal cache, no I/O.
 * Slow paths: an RS256 key we do not know (one rate-limited JWKS refresh that waiting requests
 * share) and a principal we have not seen recently (one provisioning statement that creates or
 * updates the user, organization and membership). */
#include "pipeline/principal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>

#include "base/httpc.h"
#include "base/log.h"
#include "pipeline/req.h"
#include "pipeline/server.h"

#define PRINCIPAL_TOKEN_CACHE 4096
#define PRINCIPAL_CACHE_SETS 512
#define PRINCIPAL_CACHE_WAYS 4
#define PRINCIPAL_CACHE_TTL_MS 300000 /* membership changes made elsewhere are seen within this */
#define PRINCIPAL_JWKS_MIN_INTERVAL_MS 10000
#define PRINCIPAL_JWKS_TIMEOUT_MS 5000
#define PRINCIPAL_JWKS_MAX (256u << 10)
#define PRINCIPAL_MAX_WAITERS 1024

/* The fixed identity of dev_token, created by schema/seed.sql. */
static const principal_t dev_principal = {
    .user_id = "00000000-0000-4000-8000-000000000002",
    .org_id = "00000000-0000-4000-8000-000000000001",
    .external_user_id = "user_demo",
    .external_org_id = "org_demo",
    .role = PRINCIPAL_ADMIN,
    .email = "demo@hellosales.dev",
    .name = "Demo Admin",
};

static const db_stmt_t stmt_provision = {
    "principal_provision",
    "WITH o AS ("
    "  INSERT INTO organizations (external_id, name) VALUES ($2, $2)"
    "  ON CONFLICT (external_id) DO UPDATE SET external_id = EXCLUDED.external_id"
    "  RETURNING id),"
    " u AS ("
    "  INSERT INTO users (external_id, email, name) VALUES ($1, NULLIF($4, ''), NULLIF($5, ''))"
    "  ON CONFLICT (external_id) DO UPDATE"
    "  SET email = COALESCE(EXCLUDED.email, users.email), name = COALESCE(EXCLUDED.name, users.name),"
    "      updated_at = CASE WHEN (users.email, users.name) IS DISTINCT FROM"
    "        (COALESCE(EXCLUDED.email, users.email), COALESCE(EXCLUDED.name, users.name))"
    "        THEN now() ELSE users.updated_at END"
    "  RETURNING id)"
    " INSERT INTO organization_memberships (organization_id, user_id, role)"
    " SELECT o.id, u.id, $3 FROM o, u"
    " ON CONFLICT (organization_id, user_id) DO UPDATE SET role = EXCLUDED.role"
    " RETURNING user_id::text, organization_id::text",
    5, 0};

struct principal_cached {
    uint64_t hash; /* 0: empty */
    uint64_t cached_at_ms;
    principal_t p;
};

typedef struct principal_wait principal_wait_t;
struct principal_wait {
    principal_wait_t *next, **pprev;
    req_t *r;
    const char *token;
    size_t len;
    principal_done_cb done;
};

struct principal_thread {
    uv_loop_t *loop;
    const principal_config_t *pc;
    httpc_t *httpc;
    auth_cache_t *tokens;
    auth_keys_t *fetched_keys; /* from jwks_url; NULL until the first fetch succeeds */
    httpc_req_t *fetch;
    uint64_t next_fetch_ms;
    principal_wait_t *waiters;
    size_t nwaiters;
    struct principal_cached cache[PRINCIPAL_CACHE_SETS][PRINCIPAL_CACHE_WAYS];
};

/* Per-request state of a resolution; lives in the request's pool. */
typedef struct principal_job {
    req_t *r;
    principal_done_cb done;
    auth_claims_t claims;
    principal_wait_t wait;
} principal_job_t;

static uint64_t now_ms(uv_loop_t *loop)
{
    return uv_now(loop);
}

static const char *role_name(principal_role_t role)
{
    return role == PRINCIPAL_ADMIN ? "admin" : "member";
}

/* ---- principal cache --------------------------------------------------------------------- */

static uint64_t principal_key(const auth_claims_t *c)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *s = c->sub; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    h = (h ^ 0xff) * 0x100000001b3ull; /* separator: ("ab","c") and ("a","bc") differ */
    for (const char *s = c->org_id; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h | 1;
}

/* A cached principal answers only while the token still says the same role, email and name:
 * anything else must reach the database so that it is updated there. */
static const principal_t *cache_get(principal_thread_t *pt, const auth_claims_t *c)
{
    uint64_t h = principal_key(c), now = now_ms(pt->loop);
    struct principal_cached *set = pt->cache[(h >> 8) % PRINCIPAL_CACHE_SETS];
    for (int i = 0; i < PRINCIPAL_CACHE_WAYS; i++) {
        struct principal_cached *e = &set[i];
        if (e->hash == h && now - e->cached_at_ms < PRINCIPAL_CACHE_TTL_MS && strcmp(e->p.external_user_id, c->sub) == 0 &&
            strcmp(e->p.external_org_id, c->org_id) == 0 && strcmp(role_name(e->p.role), c->role) == 0 &&
            strcmp(e->p.email, c->email) == 0 && strcmp(e->p.name, c->name) == 0)
            return &e->p;
    }
    return NULL;
}

static void cache_put(principal_thread_t *pt, const auth_claims_t *c, const principal_t *p)
{
    uint64_t h = principal_key(c);
    struct principal_cached *set = pt->cache[(h >> 8) % PRINCIPAL_CACHE_SETS], *victim = &set[0];
    for (int i = 0; i < PRINCIPAL_CACHE_WAYS; i++) {
        if (set[i].hash == h) {
            victim = &set[i];
            break;
        }
        if (set[i].cached_at_ms < victim->cached_at_ms)
            victim = &set[i];
    }
    victim->hash = h;
    victim->cached_at_ms = now_ms(pt->loop);
    victim->p = *p;
}

/* ---- completion -------------------------------------------------------------------------- */

static void finish(principal_job_t *job, const principal_t *p, auth_status_t st, int db_status)
{
    req_t *r = job->r;
    r->on_gone = NULL;
    r->state = NULL;
    const principal_t *copy = NULL;
    if (p != NULL) {
        principal_t *mine = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*mine));
        *mine = *p;
        mine->expires_at = job->claims.exp;
        copy = mine;
    }
    job->done(r, copy, st, db_status);
}

static void on_provisioned(req_t *r, const db_result_t *res)
{
    principal_job_t *job = r->state;
    if (res->status != DB_OK || PQntuples(res->pg) != 1) {
        if (res->status == DB_ERR_QUERY)
            log_error("provisioning failed", LOG_S("request_id", r->request_id), LOG_S("sqlstate", res->sqlstate));
        finish(job, NULL, AUTH_OK, res->status == DB_OK ? DB_ERR_QUERY : res->status);
        return;
    }
    principal_t p = {.role = strcmp(job->claims.role, "admin") == 0 ? PRINCIPAL_ADMIN : PRINCIPAL_MEMBER};
    snprintf(p.user_id, sizeof(p.user_id), "%s", PQgetvalue(res->pg, 0, 0));
    snprintf(p.org_id, sizeof(p.org_id), "%s", PQgetvalue(res->pg, 0, 1));
    snprintf(p.external_user_id, sizeof(p.external_user_id), "%s", job->claims.sub);
    snprintf(p.external_org_id, sizeof(p.external_org_id), "%s", job->claims.org_id);
    snprintf(p.email, sizeof(p.email), "%s", job->claims.email);
    snprintf(p.name, sizeof(p.name), "%s", job->claims.name);
    cache_put(r->thread->principals, &job->claims, &p);
    finish(job, &p, AUTH_OK, DB_OK);
}

/* Verified claims → principal: from the cache, or provisioned just in time. */
static void with_claims(principal_job_t *job)
{
    req_t *r = job->r;
    const principal_t *cached = cache_get(r->thread->principals, &job->claims);
    if (cached != NULL) {
        finish(job, cached, AUTH_OK, DB_OK);
        return;
    }
    const char *values[5] = {job->claims.sub, job->claims.org_id, job->claims.role, job->claims.email, job->claims.name};
    req_query(r, &stmt_provision, values, 5, on_provisioned);
}

static auth_status_t verify(principal_thread_t *pt, const char *token, size_t len, auth_claims_t *out)
{
    const auth_keys_t *keys = pt->pc->jwks_file_keys != NULL ? pt->pc->jwks_file_keys : pt->fetched_keys;
    auth_status_t st = auth_jwt_verify(&pt->pc->auth, keys, token, len, (int64_t)time(NULL), out);
    if (st == AUTH_OK)
        auth_cache_put(pt->tokens, token, len, out);
    return st;
}

/* ---- JWKS refresh ------------------------------------------------------------------------ */

static void unlink_wait(principal_thread_t *pt, principal_wait_t *w)
{
    if (w->pprev == NULL)
        return;
    *w->pprev = w->next;
    if (w->next != NULL)
        w->next->pprev = w->pprev;
    w->pprev = NULL;
    pt->nwaiters--;
}

static void on_waiter_gone(req_t *r, void *arg)
{
    principal_job_t *job = arg;
    unlink_wait(r->thread->principals, &job->wait);
}

/* Re-verifies every waiting token against the keys as they are now (refreshed or not). */
static void wake_waiters(principal_thread_t *pt)
{
    principal_wait_t *list = pt->waiters;
    pt->waiters = NULL;
    pt->nwaiters = 0;
    for (principal_wait_t *w = list; w != NULL; w = list) {
        list = w->next;
        w->pprev = NULL;
        principal_job_t *job = H2O_STRUCT_FROM_MEMBER(principal_job_t, wait, w);
        auth_status_t st = verify(pt, w->token, w->len, &job->claims);
        if (st == AUTH_OK)
            with_claims(job);
        else
            finish(job, NULL, st, DB_OK);
    }
}

static void on_jwks(void *arg, const httpc_result_t *res)
{
    principal_thread_t *pt = arg;
    char err[256] = "";
    pt->fetch = NULL;
    pt->next_fetch_ms = now_ms(pt->loop) + PRINCIPAL_JWKS_MIN_INTERVAL_MS;
    auth_keys_t *keys = NULL;
    if (res->error == 0 && res->status == 200)
        keys = auth_keys_from_jwks(res->body, res->body_len, err, sizeof(err));
    if (keys != NULL) {
        auth_keys_free(pt->fetched_keys);
        pt->fetched_keys = keys;
    } else {
        log_warn("JWKS fetch failed", LOG_I("status", res->status),
                 LOG_S("error", res->error != 0 ? res->error_text : err[0] ? err : "unexpected status"));
    }
    wake_waiters(pt);
}

static void start_fetch(principal_thread_t *pt)
{
    httpc_opts_t o = {.url = pt->pc->jwks_url, .timeout_ms = PRINCIPAL_JWKS_TIMEOUT_MS, .max_response = PRINCIPAL_JWKS_MAX};
    pt->next_fetch_ms = now_ms(pt->loop) + PRINCIPAL_JWKS_MIN_INTERVAL_MS;
    pt->fetch = httpc_request(pt->httpc, &o, on_jwks, pt);
}

/* An unknown key id: wait for a refresh in flight, or start one unless one ran just now (a
 * stream of random kids must not turn into a stream of fetches). Returns 0 when waiting. */
static int wait_for_keys(principal_thread_t *pt, principal_job_t *job, const char *token, size_t len)
{
    if (pt->pc->jwks_url == NULL || pt->nwaiters >= PRINCIPAL_MAX_WAITERS)
        return -1;
    if (pt->fetch == NULL) {
        if (now_ms(pt->loop) < pt->next_fetch_ms)
            return -1;
        start_fetch(pt);
        if (pt->fetch == NULL)
            return -1;
    }
    principal_wait_t *w = &job->wait;
    char *copy = h2o_mem_alloc_pool(&job->r->h2o->pool, len);
    memcpy(copy, token, len);
    *w = (principal_wait_t){.next = pt->waiters, .pprev = &pt->waiters, .r = job->r, .token = copy, .len = len};
    if (pt->waiters != NULL)
        pt->waiters->pprev = &w->next;
    pt->waiters = w;
    pt->nwaiters++;
    job->r->on_gone = on_waiter_gone;
    job->r->on_gone_arg = job;
    return 0;
}

/* ---- entry points ------------------------------------------------------------------------ */

void principal_resolve(req_t *r, const char *token, size_t len, principal_done_cb done)
{
    principal_thread_t *pt = r->thread->principals;
    const principal_config_t *pc = pt->pc;
    principal_job_t *job = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*job));
    memset(job, 0, sizeof(*job));
    job->r = r;
    job->done = done;
    r->state = job; /* until finish: the pipeline's next stage or the caller owns it afterwards */

    if (pc->dev_token && len == 9 && CRYPTO_memcmp(token, "dev_token", 9) == 0) {
        job->claims.exp = (int64_t)time(NULL) + 3600;
        finish(job, &dev_principal, AUTH_OK, DB_OK);
        return;
    }
    if (!pc->configured) {
        finish(job, NULL, AUTH_ERR_CONFIG, DB_OK);
        return;
    }
    if (auth_cache_get(pt->tokens, token, len, (int64_t)time(NULL), &job->claims)) {
        with_claims(job);
        return;
    }
    auth_status_t st = verify(pt, token, len, &job->claims);
    if (st == AUTH_OK)
        with_claims(job);
    else if (st != AUTH_ERR_UNKNOWN_KID || wait_for_keys(pt, job, token, len) != 0)
        finish(job, NULL, st, DB_OK);
}

principal_thread_t *principal_thread_new(uv_loop_t *loop, const principal_config_t *pc, httpc_t *httpc)
{
    principal_thread_t *pt = calloc(1, sizeof(*pt));
    if (pt == NULL || (pt->tokens = auth_cache_new(PRINCIPAL_TOKEN_CACHE)) == NULL) {
        free(pt);
        return NULL;
    }
    pt->loop = loop;
    pt->pc = pc;
    pt->httpc = httpc;
    if (pc->jwks_url != NULL) /* warm the keys before the first request needs them */
        start_fetch(pt);
    return pt;
}

void principal_thread_free(principal_thread_t *pt)
{
    if (pt == NULL)
        return;
    if (pt->fetch != NULL)
        httpc_cancel(pt->fetch);
    pt->fetch = NULL;
    wake_waiters(pt); /* they fail against the keys we have */
    auth_keys_free(pt->fetched_keys);
    auth_cache_free(pt->tokens);
    free(pt);
}

void principal_register(app_t *app)
{
    app_add_stmt(app, &stmt_provision);
}
